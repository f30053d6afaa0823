//! What every Graphite parser shares once a record's fields are out: carbon's rules for
//! turning a name, a timestamp and a value into a stored point (`metricReceived`: NaN is
//! dropped, timestamp `-1` means "now", float timestamps are floored, names canonicalised),
//! and the small per-record error that a parser returns instead of failing the batch.
//!
//! Splitting lines (`graphite`) and decoding pickles (`pickle`) are not here; counting and
//! logging the errors is the listener's business.

use lookout_core::limits::MAX_METRIC_NAME_BYTES;
use lookout_core::{canonical_series_name, NameError, Point};

/// One refused record: a plaintext line or a pickle entry. Copy and allocation-free, because
/// a flood of bad input must not cost more than the good input it displaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineError {
    /// 1-based number of the line in the parsed buffer, or of the entry in a pickle's list.
    pub line: usize,
    /// Why it was refused.
    pub kind: LineErrorKind,
}

impl LineError {
    /// A NaN value: carbon drops it without complaint, so it is counted but not reported back
    /// to the sender as an error.
    pub fn is_silent_drop(&self) -> bool {
        self.kind == LineErrorKind::NanValue
    }
}

/// Why a record was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LineErrorKind {
    /// A plaintext line without exactly three whitespace-separated fields.
    #[error("want exactly 3 fields: <path> <value> <timestamp>")]
    FieldCount,
    /// The line is longer than the listener's line limit.
    #[error("line longer than the limit")]
    LineTooLong,
    /// The metric name is not valid UTF-8.
    #[error("metric name is not UTF-8")]
    NotUtf8,
    /// The metric name is refused (empty node, whitespace, bad tag, too long...).
    #[error("invalid metric name: {0}")]
    BadName(NameError),
    /// The value is not a number as Python's `float()` reads it.
    #[error("value is not a number")]
    BadValue,
    /// The timestamp is not a number, not finite, or out of range.
    #[error("timestamp is not a finite number of seconds")]
    BadTimestamp,
    /// The value is NaN; carbon drops these silently, lookout counts them.
    #[error("value is NaN (dropped)")]
    NanValue,
    /// A pickle list entry is not `(path, (timestamp, value))`.
    #[error("pickle entry is not (path, (timestamp, value))")]
    BadEntry,
    /// A StatsD line without `name:value|type`.
    #[error("want name:value|type[|@rate][|#tags]")]
    StatsdSyntax,
    /// A StatsD type other than `c`, `ms`, `h`, `d`, `g` or `s`.
    #[error("metric type is not c, ms, h, d, g or s")]
    BadMetricType,
    /// A StatsD sample rate that is not `@` and a positive number.
    #[error("sample rate is not @ and a positive number")]
    BadSampleRate,
}

impl LineErrorKind {
    /// The `reason` label under which listeners count this refusal, e.g. in
    /// `lookout_ingest_records_invalid_total{proto,reason}`.
    pub fn reason(&self) -> &'static str {
        match self {
            LineErrorKind::FieldCount => "fields",
            LineErrorKind::LineTooLong => "line_too_long",
            LineErrorKind::NotUtf8 | LineErrorKind::BadName(_) => "name",
            LineErrorKind::BadValue => "value",
            LineErrorKind::BadTimestamp => "timestamp",
            LineErrorKind::NanValue => "nan",
            LineErrorKind::BadEntry => "entry",
            LineErrorKind::StatsdSyntax => "syntax",
            LineErrorKind::BadMetricType => "type",
            LineErrorKind::BadSampleRate => "sample_rate",
        }
    }
}

/// Longest excerpt of offending input put in a log line, in characters.
const MAX_EXCERPT_CHARS: usize = 200;

/// The offending input as a log-safe string: printable ASCII kept, everything else escaped
/// (`\n`, `\x00`, `\xe9`), cut to at most 200 characters with a trailing `...` when cut, so a
/// hostile sender cannot forge log lines or flood the log.
pub fn excerpt(line: &[u8]) -> String {
    const ELLIPSIS: &str = "...";
    let full: usize = line
        .iter()
        .map(|b| std::ascii::escape_default(*b).len())
        .sum();
    let room = if full <= MAX_EXCERPT_CHARS {
        full
    } else {
        MAX_EXCERPT_CHARS - ELLIPSIS.len()
    };
    let mut out = String::with_capacity(MAX_EXCERPT_CHARS);
    for &b in line {
        let escaped = std::ascii::escape_default(b);
        if out.len() + escaped.len() > room {
            out.push_str(ELLIPSIS);
            break;
        }
        out.extend(escaped.map(char::from));
    }
    out
}

/// Resolves a timestamp given as a float, as carbon does: `int(ts) == -1` means "now" (carbon
/// issue 54), any other finite value is floored to whole seconds. `None` for NaN, infinities
/// and values outside `i64`.
pub(crate) fn resolve_timestamp(ts: f64, now: i64) -> Option<i64> {
    if ts.trunc() == -1.0 {
        return Some(now);
    }
    // 2^63 as f64; the range check excludes NaN too.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    let floor = ts.floor();
    if (-LIMIT..LIMIT).contains(&floor) {
        Some(floor as i64)
    } else {
        None
    }
}

/// Builds the point for a record whose value and timestamp are already numbers: NaN is
/// refused as [`LineErrorKind::NanValue`], and the name must be UTF-8 and pass
/// [`canonical_series_name`].
pub(crate) fn build_point(name: &[u8], ts: i64, value: f64) -> Result<Point, LineErrorKind> {
    let name = std::str::from_utf8(name).map_err(|_| LineErrorKind::NotUtf8)?;
    let name = if is_plain_path(name.as_bytes()) {
        name.to_owned()
    } else {
        canonical_series_name(name)
            .map_err(LineErrorKind::BadName)?
            .into_owned()
    };
    if value.is_nan() {
        return Err(LineErrorKind::NanValue);
    }
    Ok(Point { name, ts, value })
}

/// True for the common name that needs no canonical form: printable ASCII without tags
/// (`;`), empty nodes or excess length. Such a name is one that [`canonical_series_name`]
/// returns unchanged, so the single pass here spares the hot path its several scans; any
/// other name takes the full check. A test keeps the two in agreement.
fn is_plain_path(name: &[u8]) -> bool {
    let (Some(&first), Some(&last)) = (name.first(), name.last()) else {
        return false;
    };
    if name.len() > MAX_METRIC_NAME_BYTES || first == b'.' || last == b'.' {
        return false;
    }
    // Branch-free folds, which the compiler vectorises: this runs once per ingested point.
    let odd_byte = name.iter().fold(false, |bad, &b| {
        bad | !(b'!'..=b'~').contains(&b) | (b == b';')
    });
    let empty_node = name
        .iter()
        .zip(name.iter().skip(1))
        .fold(false, |bad, (a, b)| bad | ((*a == b'.') & (*b == b'.')));
    !odd_byte && !empty_node
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check_excerpt(input: &[u8], expected: &str) {
        let got = excerpt(input);
        assert_eq!(got, expected);
        assert!(got.chars().count() <= MAX_EXCERPT_CHARS);
    }

    #[test]
    fn excerpts_are_escaped_and_bounded() {
        check_excerpt(b"a.b 1 2", "a.b 1 2");
        check_excerpt(b"a\tb\r\n", "a\\tb\\r\\n");
        check_excerpt(b"\x00\xe9\x7f", "\\x00\\xe9\\x7f");
        check_excerpt(&[b'x'; 200], &"x".repeat(200));
        check_excerpt(&[b'x'; 201], &format!("{}...", "x".repeat(197)));
        check_excerpt(&[0u8; 100], &format!("{}...", "\\x00".repeat(49)));
        check_excerpt(b"", "");
    }

    #[track_caller]
    fn check_ts(ts: f64, expected: Option<i64>) {
        assert_eq!(resolve_timestamp(ts, 1_000), expected, "{ts}");
    }

    #[test]
    fn timestamps_follow_carbon() {
        check_ts(1_700_000_000.0, Some(1_700_000_000));
        check_ts(1_700_000_000.9, Some(1_700_000_000));
        check_ts(-1.0, Some(1_000));
        check_ts(-1.5, Some(1_000));
        check_ts(-0.5, Some(-1));
        check_ts(-2.5, Some(-3));
        check_ts(f64::NAN, None);
        check_ts(f64::INFINITY, None);
        check_ts(f64::NEG_INFINITY, None);
        check_ts(1e19, None);
        check_ts(-9.3e18, None);
    }

    #[track_caller]
    fn check_point(name: &[u8], value: f64, expected: Result<&str, LineErrorKind>) {
        let got = build_point(name, 5, value);
        assert_eq!(
            got.as_ref().map(|p| p.name.as_str()),
            expected.as_ref().map(|s| *s)
        );
    }

    #[test]
    fn points_are_validated_and_canonical() {
        check_point(b"a.b", 1.0, Ok("a.b"));
        check_point(b"d;z=1;a=2", 1.0, Ok("d;a=2;z=1"));
        check_point(b"a.b", f64::NAN, Err(LineErrorKind::NanValue));
        check_point(b"a\xffb", 1.0, Err(LineErrorKind::NotUtf8));
        check_point(
            b"a..b",
            1.0,
            Err(LineErrorKind::BadName(NameError::EmptyNode)),
        );
        check_point(b"", 1.0, Err(LineErrorKind::BadName(NameError::Empty)));
    }

    #[test]
    fn plain_paths_are_exactly_the_unchanged_valid_names() {
        let alphabet = [
            b'a', b'.', b';', b'=', b' ', b'~', 0x7f, 0xc3, 0xa9, b'Z', b'0', 0x01,
        ];
        let mut x: u64 = 0x1234_5678_9abc_def1;
        for _ in 0..50_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = (x % 9) as usize;
            let name: Vec<u8> = (0..len)
                .map(|i| alphabet[((x >> (8 + 4 * i)) % alphabet.len() as u64) as usize])
                .collect();
            let core_unchanged = std::str::from_utf8(&name)
                .is_ok_and(|s| !s.contains(';') && canonical_series_name(s).is_ok_and(|c| c == s));
            let ascii = name.is_ascii();
            assert_eq!(is_plain_path(&name), core_unchanged && ascii, "{name:?}");
        }
        assert!(!is_plain_path(&[b'x'; MAX_METRIC_NAME_BYTES + 1]));
        assert!(is_plain_path(&[b'x'; MAX_METRIC_NAME_BYTES]));
    }

    #[test]
    fn nan_is_the_only_silent_drop() {
        let e = |kind| LineError { line: 1, kind };
        assert!(e(LineErrorKind::NanValue).is_silent_drop());
        assert!(!e(LineErrorKind::BadValue).is_silent_drop());
        assert_eq!(LineErrorKind::NanValue.reason(), "nan");
        assert_eq!(LineErrorKind::BadName(NameError::TooLong).reason(), "name");
    }
}
