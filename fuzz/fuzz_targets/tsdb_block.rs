//! tsdb block and series index files, opened through the engine's readers (hidden
//! `fuzz::block_file` / `fuzz::index_file`): the input (after a mode byte: even = block,
//! odd = index file) is the file body, written to a temp file with a correct footer so the
//! fuzzer works on what lies behind the checksum. Invariant: damage is an error, never a
//! panic or an allocation the file cannot justify.
#![no_main]
use libfuzzer_sys::fuzz_target;
use lookout_fuzz::mode;

thread_local! {
    static DIR: tempfile::TempDir = tempfile::tempdir().unwrap();
}

fuzz_target!(|data: &[u8]| {
    let (m, body) = mode(data);
    DIR.with(|dir| {
        if m % 2 == 0 {
            let _ = lookout_tsdb::fuzz::block_file(&dir.path().join("block"), body);
        } else {
            let _ = lookout_tsdb::fuzz::index_file(&dir.path().join("index"), body);
        }
    });
});
