//! Syslog RFC 3164 (BSD) messages and everything else that is not 5424, read leniently
//! (`lookout_proto::syslog::parse_message`): the input follows a `<PRI>` (from the first byte).
//! Invariants as for 5424: PRI's facility and severity, bounded message, valid component.
#![no_main]
use libfuzzer_sys::fuzz_target;
use lookout_fuzz::{mode, NOW_NS};
use lookout_proto::syslog;

fuzz_target!(|data: &[u8]| {
    let (pri, rest) = mode(data);
    let pri = pri % 192;
    let mut msg = format!("<{pri}>").into_bytes();
    msg.extend_from_slice(rest);
    if let Ok(r) = syslog::parse_message(&msg, NOW_NS, "peer") {
        assert_eq!(r.facility, Some(pri / 8));
        assert_eq!(r.severity as u8, pri % 8);
        assert!(r.message.len() <= lookout_core::limits::MAX_SYSLOG_MESSAGE_BYTES);
        assert!(!r.component.is_empty() && !r.component.split('.').any(str::is_empty));
        assert!(!r.host.is_empty());
    }
    let _ = syslog::parse_message(data, NOW_NS, "peer");
});
