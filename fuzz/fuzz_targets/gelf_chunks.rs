//! Chunked GELF over UDP (`lookout_proto::gelf::Reassembler`): the input is cut into
//! datagrams at the separator, pushed one per 100 ms, and every reassembled payload goes
//! through `parse_payload`. Invariants: pending bytes stay under the cap, a payload is never
//! longer than the data pushed, and after the timeout nothing is pending.
#![no_main]
use libfuzzer_sys::fuzz_target;
use lookout_core::limits::MAX_GELF_PENDING_BYTES;
use lookout_fuzz::{pieces, NOW_NS};
use lookout_proto::gelf::{self, Reassembler};

fuzz_target!(|data: &[u8]| {
    let mut r = Reassembler::new();
    let mut now = NOW_NS;
    let mut pushed = 0usize;
    for datagram in pieces(data) {
        now += 100_000_000;
        pushed += datagram.len();
        if let Ok(Some(payload)) = r.push(datagram, now) {
            assert!(payload.len() <= pushed);
            let _ = gelf::parse_payload(&payload, now);
        }
        assert!(r.pending_bytes() <= MAX_GELF_PENDING_BYTES);
        r.expire(now);
    }
    r.expire(now + 6_000_000_000);
    assert_eq!((r.pending_messages(), r.pending_bytes()), (0, 0));
});
