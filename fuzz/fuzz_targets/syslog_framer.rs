//! The RFC 6587 TCP framer (`lookout_proto::syslog::Framer`), octet-counting or LF, fed the
//! input as a stream arriving in several reads (cut at the separator), as a connection does;
//! every framed message goes through `parse_message`. Invariants: each step consumes at
//! least one byte, message ranges lie within what it consumes, and the framer never waits for
//! more than one maximum-size message plus its length prefix.
#![no_main]
use libfuzzer_sys::fuzz_target;
use lookout_core::limits::MAX_SYSLOG_MESSAGE_BYTES;
use lookout_fuzz::{pieces, NOW_NS};
use lookout_proto::syslog::{self, Framer};

fuzz_target!(|data: &[u8]| {
    let mut framer = Framer::new();
    let mut buf: Vec<u8> = Vec::new();
    'reads: for read in pieces(data) {
        buf.extend_from_slice(read);
        loop {
            match framer.next_frame(&buf) {
                Ok(Some(frame)) => {
                    assert!(frame.consumed > 0, "no progress");
                    assert!(frame.consumed <= buf.len());
                    if let Some(m) = frame.message {
                        assert!(
                            m.start <= m.end && m.end <= frame.consumed,
                            "{m:?} past {}",
                            frame.consumed
                        );
                        assert!(m.len() <= MAX_SYSLOG_MESSAGE_BYTES + 1);
                        let _ = syslog::parse_message(&buf[m], NOW_NS, "peer");
                    }
                    buf.drain(..frame.consumed);
                }
                Ok(None) => {
                    assert!(
                        buf.len() <= MAX_SYSLOG_MESSAGE_BYTES + 32,
                        "buffering {}",
                        buf.len()
                    );
                    break;
                }
                Err(_) => break 'reads,
            }
        }
    }
});
