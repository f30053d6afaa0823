//! tsdb WAL record payloads (`lookout_tsdb`'s private `wal_record`, through the hidden
//! `fuzz::wal_record`): schema and series definitions, points and deletes, as replay decodes
//! them. Invariant: nothing but a clean result or error; a points record of n bytes holds at
//! most n/3 points (id, time and value take a byte each at least).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(n) = lookout_tsdb::fuzz::wal_record(data) {
        if data.first() == Some(&3) {
            assert!(n <= data.len() / 3, "{n} points from {} bytes", data.len());
        }
    }
});
