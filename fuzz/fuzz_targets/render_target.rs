//! Render targets (`lookout_query`'s grammar, through its hidden `fuzz::parse_target`):
//! nested calls, pipes, keyword arguments, strings, globs, the depth limit. Invariant: a
//! target that parses parses to the same tree as a prefix.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        lookout_query::fuzz::parse_target(text).unwrap();
    }
});
