//! Log store WAL batch payloads (hidden `lookout_logs::fuzz::wal_batch`), as replay decodes
//! them. Invariant: a batch of n bytes holds at most n records (each takes bytes).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(n) = lookout_logs::fuzz::wal_batch(data) {
        assert!(n <= data.len());
    }
});
