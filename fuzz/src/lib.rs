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

/// Parses `data` as a syslog message behind a `<PRI>` built from its first byte and followed
/// by `after_pri` (`"1 "` for the 5424 path, `""` for the lenient 3164 one), and checks what
/// every accepted message must hold: PRI's facility and severity, a bounded message, a
/// non-empty dotted component, a host (the peer's when the message names none).
pub fn check_syslog_behind_pri(data: &[u8], after_pri: &str) {
    let (pri, rest) = mode(data);
    let pri = pri % 192;
    let mut msg = format!("<{pri}>{after_pri}").into_bytes();
    msg.extend_from_slice(rest);
    if let Ok(r) = lookout_proto::syslog::parse_message(&msg, NOW_NS, "peer") {
        assert_eq!(r.facility, Some(pri / 8));
        assert_eq!(r.severity as u8, pri % 8);
        assert!(r.message.len() <= lookout_core::limits::MAX_SYSLOG_MESSAGE_BYTES);
        assert!(!r.component.is_empty() && !r.component.split('.').any(str::is_empty));
        assert!(!r.host.is_empty());
    }
}
