//! WAL segments (`lookout_disk::Wal` open and replay, through the hidden
//! `fuzz::wal_segment`). Mode byte even: the rest is a whole segment file as found on disk.
//! Odd: the pieces before the last are records written with correct framing and the last is
//! a raw tail (torn write or damage). Invariants: open and replay never panic, replay yields
//! what recovery counted, and correctly framed records come back first, in order, unchanged.
#![no_main]
use libfuzzer_sys::fuzz_target;
use lookout_fuzz::{mode, pieces};

fuzz_target!(|data: &[u8]| {
    let (m, rest) = mode(data);
    let dir = tempfile::tempdir().unwrap();
    let framed = m % 2 == 1;
    let mut parts = pieces(rest);
    let tail = parts.pop().unwrap_or_default();
    let records: Vec<&[u8]> = if framed { parts } else { Vec::new() };
    let tail: &[u8] = if framed { tail } else { rest };
    let Ok((recovery, replayed)) =
        lookout_disk::fuzz::wal_segment(dir.path(), framed, &records, tail)
    else {
        assert!(!framed || !tail.is_empty(), "a clean segment was refused");
        return;
    };
    assert_eq!(recovery.records, replayed.len() as u64);
    if framed {
        assert!(
            replayed.len() >= records.len(),
            "{} of {} records replayed",
            replayed.len(),
            records.len()
        );
        for (a, b) in records.iter().zip(&replayed) {
            assert_eq!(*a, b.as_slice());
        }
    }
});
