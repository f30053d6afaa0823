//! Log store blocks (hidden `lookout_logs::fuzz`). Mode byte: 0-127 decode one section
//! (its bytes after the CRC check) for a query, 128-255 for a histogram, with the record
//! count from the second byte; a mode byte with the low bit set instead writes a block file
//! whose section area and index are the two pieces of the input (index CRC and footer made
//! correct) and opens and reads it as the store does. Invariant: damage is `None`/an error,
//! and a decoded section has exactly the count its index promised.
#![no_main]
use libfuzzer_sys::fuzz_target;
use lookout_fuzz::{mode, pieces};

thread_local! {
    static DIR: tempfile::TempDir = tempfile::tempdir().unwrap();
}

fuzz_target!(|data: &[u8]| {
    let (m, rest) = mode(data);
    if m % 2 == 0 {
        let (count, buf) = mode(rest);
        if let Some(n) = lookout_logs::fuzz::block_section(buf, u64::from(count), m < 128) {
            assert_eq!(n, usize::from(count));
        }
    } else {
        let parts = pieces(rest);
        let (sections, index) = match parts.as_slice() {
            [s, i, ..] => (*s, *i),
            [i] => (&[][..], *i),
            [] => return,
        };
        DIR.with(|dir| {
            let _ = lookout_logs::fuzz::block_file(&dir.path().join("block"), sections, index);
        });
    }
});
