//! Helpers shared by the fuzz targets in `fuzz_targets/` (one per parser or on-disk decoder;
//! `docs/fuzzing.md`): a fixed clock and the way one fuzz input is cut into several pieces
//! (datagrams, reads, records). Not part of lookout.

/// The "now" every target passes to parsers that want one: fixed, so a crash reproduces.
pub const NOW_SECS: i64 = 1_700_000_000;

/// [`NOW_SECS`] in nanoseconds, for the log parsers.
pub const NOW_NS: i64 = NOW_SECS * 1_000_000_000;

/// The byte that separates pieces in an input meant to be several (datagrams, reads, WAL
/// records): rare in text, so text seeds stay one piece unless the fuzzer adds one.
pub const SEPARATOR: &[u8] = b"\xff\x00\xff";

/// Cuts `data` at every [`SEPARATOR`].
pub fn pieces(data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    while let Some(i) = rest.windows(SEPARATOR.len()).position(|w| w == SEPARATOR) {
        out.push(&rest[..i]);
        rest = &rest[i + SEPARATOR.len()..];
    }
    out.push(rest);
    out
}

/// Splits off the first byte as a mode selector (0 when `data` is empty).
pub fn mode(data: &[u8]) -> (u8, &[u8]) {
    match data.split_first() {
        Some((&m, rest)) => (m, rest),
        None => (0, data),
    }
}
