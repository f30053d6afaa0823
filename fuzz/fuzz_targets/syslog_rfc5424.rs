//! Syslog RFC 5424 messages (`lookout_proto::syslog::parse_message`): the input follows a
//! `<PRI>1 ` header (PRI from the first byte), so every run exercises the 5424 path.
//! Invariants: facility and severity come from PRI, the message is within the size limit, the
//! component is a non-empty dotted name, a missing host is the peer's.
#![no_main]
use libfuzzer_sys::fuzz_target;
use lookout_fuzz::check_syslog_behind_pri;

fuzz_target!(|data: &[u8]| {
    check_syslog_behind_pri(data, "1 ");
});
