//! Properties over arbitrary input for the log parsers: no syslog, NDJSON or GELF parser, nor
//! the syslog framer or the GELF reassembler, panics on any bytes, and the framer never asks
//! for more than one message of buffer.

use lookout_core::limits::MAX_SYSLOG_MESSAGE_BYTES;
use lookout_proto::{gelf, ndjson, syslog};
use proptest::prelude::*;

const NOW: i64 = 1_795_348_800_000_000_000;

/// Arbitrary bytes, and bytes that start like each protocol so parsing gets past the first
/// check.
fn input() -> impl Strategy<Value = Vec<u8>> {
    let tail = proptest::collection::vec(any::<u8>(), 0..300);
    prop_oneof![
        tail.clone(),
        tail.clone()
            .prop_map(|t| [b"<13>1 ".as_slice(), &t].concat()),
        tail.clone()
            .prop_map(|t| [b"<13>Nov 22 10:00:00 ".as_slice(), &t].concat()),
        tail.clone()
            .prop_map(|t| [b"{\"short_message\":".as_slice(), &t].concat()),
        tail.clone()
            .prop_map(|t| [[0x1f, 0x8b].as_slice(), &t].concat()),
        tail.prop_map(|t| [[0x1e, 0x0f].as_slice(), &t].concat()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn log_parsers_never_panic(bytes in input()) {
        let _ = syslog::parse_message(&bytes, NOW, "peer");
        let _ = ndjson::parse(&bytes, NOW);
        let _ = gelf::parse_payload(&bytes, NOW);
        let mut r = gelf::Reassembler::new();
        let _ = r.push(&bytes, NOW);
        let _ = r.expire(NOW + 10_000_000_000);
    }

    #[test]
    fn framer_never_panics_and_ranges_are_in_bounds(bytes in input(), step in 1usize..64) {
        let mut framer = syslog::Framer::new();
        let mut buf = Vec::new();
        'feed: for piece in bytes.chunks(step) {
            buf.extend_from_slice(piece);
            loop {
                match framer.next_frame(&buf) {
                    Ok(Some(frame)) => {
                        prop_assert!(frame.consumed > 0 && frame.consumed <= buf.len());
                        if let Some(range) = frame.message {
                            prop_assert!(range.end <= frame.consumed);
                            prop_assert!(range.len() <= MAX_SYSLOG_MESSAGE_BYTES + 1);
                            let _ = syslog::parse_message(&buf[range], NOW, "peer");
                        }
                        buf.drain(..frame.consumed);
                    }
                    Ok(None) => break,
                    Err(_) => break 'feed,
                }
            }
        }
    }
}
