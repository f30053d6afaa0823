//! Syslog RFC 3164 (BSD) messages and everything else that is not 5424, read leniently
//! (`lookout_proto::syslog::parse_message`): the input follows a `<PRI>` (from the first byte).
//! Invariants as for 5424: PRI's facility and severity, bounded message, valid component.
#![no_main]
use libfuzzer_sys::fuzz_target;
use lookout_fuzz::check_syslog_behind_pri;
use lookout_fuzz::NOW_NS;
use lookout_proto::syslog;

fuzz_target!(|data: &[u8]| {
    check_syslog_behind_pri(data, "");
    let _ = syslog::parse_message(data, NOW_NS, "peer");
});
