//! Carbon's plaintext protocol: one `<path> <value> <timestamp>` line per point, as carbon's
//! `MetricLineReceiver` reads it (`line.strip().split()` must give exactly three fields, then
//! `float()` of value and timestamp). The timestamp may be a float (floored), `-1` or the
//! literal `N` (both "now"); a NaN value is dropped and reported as
//! [`LineErrorKind::NanValue`] so listeners can count it. Blank lines are skipped: they carry
//! nothing and common shell pipelines produce them.
//!
//! This module parses buffers of complete lines in place; it does not read sockets, keep a
//! partial line between reads, or count errors (that is `lookout-ingest`).

use std::io::Write as _;

use lookout_core::limits::MAX_GRAPHITE_LINE_BYTES;
use lookout_core::Point;

use crate::number::{parse_f64, parse_small_int};
use crate::record::{build_point, resolve_timestamp, LineError, LineErrorKind};

/// Parses a buffer of `\n`-terminated lines (a trailing `\r` is tolerated; a last line without
/// a newline is parsed too). Good lines go to `out`, refused ones to `errors`; a bad line never
/// costs the others. Lines longer than [`MAX_GRAPHITE_LINE_BYTES`] are refused.
pub fn parse(buf: &[u8], now: i64, out: &mut Vec<Point>, errors: &mut Vec<LineError>) {
    parse_with_max_line(buf, now, MAX_GRAPHITE_LINE_BYTES, out, errors);
}

/// [`parse`] with the listener's configured line limit instead of the default one.
pub fn parse_with_max_line(
    buf: &[u8],
    now: i64,
    max_line_bytes: usize,
    out: &mut Vec<Point>,
    errors: &mut Vec<LineError>,
) {
    let mut line = LineShape::new(0);
    let mut line_no = 0;
    let mut emit = |shape: &LineShape, end: usize| {
        line_no += 1;
        let text = buf.get(shape.start..end).unwrap_or_default();
        let result = if text.len() > max_line_bytes {
            Err(LineErrorKind::LineTooLong)
        } else {
            match shape.fields(buf, end) {
                Some((name, value, ts)) => parse_point(name, value, ts, now).map(Some),
                None => parse_fields(text, now),
            }
        };
        match result {
            Ok(Some(point)) => out.push(point),
            Ok(None) => {}
            Err(kind) => errors.push(LineError {
                line: line_no,
                kind,
            }),
        }
    };
    for pos in LowBytes::new(buf) {
        if line.note(buf, pos) {
            emit(&line, pos);
            line = LineShape::new(pos + 1);
        }
    }
    if line.start < buf.len() {
        emit(&line, buf.len());
    }
}

/// What the scan learned about the line being read: where it starts, where its first two
/// spaces are, whether it ends in `\r`, and whether it holds any other byte at or below space
/// (a tab, a third space, a control character).
struct LineShape {
    start: usize,
    spaces: [usize; 2],
    seen: usize,
    cr: bool,
    odd: bool,
}

impl LineShape {
    fn new(start: usize) -> LineShape {
        LineShape {
            start,
            spaces: [0; 2],
            seen: 0,
            cr: false,
            odd: false,
        }
    }

    /// Notes the byte at `pos`, which is at or below space; true if it ends the line.
    fn note(&mut self, buf: &[u8], pos: usize) -> bool {
        match buf.get(pos) {
            Some(b'\n') => return true,
            Some(b' ') => match self.spaces.get_mut(self.seen) {
                Some(slot) => {
                    *slot = pos;
                    self.seen += 1;
                }
                None => self.odd = true,
            },
            Some(b'\r') if matches!(buf.get(pos + 1), None | Some(b'\n')) => self.cr = true,
            _ => self.odd = true,
        }
        false
    }

    /// The three fields of the line ending at `end`, if it has the shape nearly every sender
    /// writes: `name value ts`, one space between non-empty fields, nothing else at or below
    /// space. `None` sends it to the general splitter, which gives the same fields for any
    /// line accepted here (a test checks this).
    fn fields<'a>(&self, buf: &'a [u8], end: usize) -> Option<Fields<'a>> {
        let end = end - usize::from(self.cr);
        let [a, b] = self.spaces;
        if self.odd || self.seen != 2 || a == self.start || b == a + 1 || end == b + 1 {
            return None;
        }
        Some((
            buf.get(self.start..a)?,
            buf.get(a + 1..b)?,
            buf.get(b + 1..end)?,
        ))
    }
}

/// Positions of the bytes at or below space in a buffer, found eight at a time: each 8-byte
/// word is tested with a few integer operations (no per-byte branch), and only the (few)
/// matching positions cost a branch each. This keeps the parser fast on lines of varying
/// length, where byte-by-byte scanning mispredicts.
struct LowBytes<'a> {
    buf: &'a [u8],
    base: usize,
    /// High bit of byte `i` set when byte `base + i` is at or below space.
    flags: u64,
}

/// Bytes per scanned word.
const WORD: usize = 8;

/// `0x01` in every byte of a word.
const LANES: u64 = u64::from_le_bytes([1; WORD]);

impl<'a> LowBytes<'a> {
    fn new(buf: &'a [u8]) -> LowBytes<'a> {
        LowBytes {
            buf,
            base: 0,
            flags: word_flags(buf, 0),
        }
    }
}

impl Iterator for LowBytes<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        while self.flags == 0 {
            self.base += WORD;
            if self.base >= self.buf.len() {
                return None;
            }
            self.flags = word_flags(self.buf, self.base);
        }
        let bit = self.flags.trailing_zeros() as usize;
        self.flags &= self.flags - 1;
        Some(self.base + bit / WORD)
    }
}

/// The flags of the word at `at` (padded past the end with bytes that do not match). For a
/// byte `b` below 0x80, `(b & 0x7f) + 0x5f` reaches 0x80 exactly when `b > 0x20`, and never
/// carries into the next byte; bytes from 0x80 up are excluded by their own high bit.
fn word_flags(buf: &[u8], at: usize) -> u64 {
    let rest = buf.get(at..).unwrap_or_default();
    let word = match rest.first_chunk::<WORD>() {
        Some(bytes) => u64::from_le_bytes(*bytes),
        None => {
            let mut bytes = [0xff; WORD];
            for (slot, b) in bytes.iter_mut().zip(rest) {
                *slot = *b;
            }
            u64::from_le_bytes(bytes)
        }
    };
    let t = (word & (0x7f * LANES)) + (0x80 - 0x21) * LANES;
    !(t | word) & (0x80 * LANES)
}

/// Parses one line (without its `\n`; surrounding whitespace is ignored). A blank line is an
/// error here, since the caller asked about this line specifically.
pub fn parse_line(line: &[u8], now: i64) -> Result<Point, LineErrorKind> {
    parse_fields(line, now)?.ok_or(LineErrorKind::FieldCount)
}

/// The text of line `line` (1-based, as in [`LineError::line`]) of `buf`, without its line
/// ending, for logging a refused line next to its error.
pub fn line_text(buf: &[u8], line: usize) -> Option<&[u8]> {
    let text = buf.split(|b| *b == b'\n').nth(line.checked_sub(1)?)?;
    Some(text.strip_suffix(b"\r").unwrap_or(text))
}

/// Writes each point as one plaintext line. Values use Rust's shortest round-trip form (an
/// exponent for very large or small magnitudes), which Python's `float()` reads back exactly;
/// names are written as given, so they must be valid.
pub fn encode(points: &[Point], out: &mut Vec<u8>) {
    for p in points {
        let v = p.value;
        let mag = v.abs();
        // Writing into a Vec cannot fail.
        let _ = if v.is_finite() && mag != 0.0 && !(1e-5..1e16).contains(&mag) {
            writeln!(out, "{} {:e} {}", p.name, v, p.ts)
        } else {
            writeln!(out, "{} {} {}", p.name, v, p.ts)
        };
    }
}

/// Python's `bytes.split()` separators: space, `\t`, `\n`, `\v`, `\f`, `\r`.
fn is_space(b: u8) -> bool {
    b == b' ' || (b'\t'..=b'\r').contains(&b)
}

/// The next whitespace-separated field at or after `from`, and where it ends.
fn next_field(line: &[u8], from: usize) -> Option<(&[u8], usize)> {
    let rest = line.get(from..)?;
    let start = from + rest.iter().position(|b| !is_space(*b))?;
    let rest = line.get(start..)?;
    let end = start + rest.iter().position(|b| is_space(*b)).unwrap_or(rest.len());
    Some((line.get(start..end)?, end))
}

/// Splits a line into its three fields and builds the point; `Ok(None)` for a blank line.
fn parse_fields(line: &[u8], now: i64) -> Result<Option<Point>, LineErrorKind> {
    match split_general(line)? {
        Some((name, value, ts)) => parse_point(name, value, ts, now).map(Some),
        None => Ok(None),
    }
}

/// Builds the point from a line's three fields.
fn parse_point(name: &[u8], value: &[u8], ts: &[u8], now: i64) -> Result<Point, LineErrorKind> {
    let value = parse_f64(value).ok_or(LineErrorKind::BadValue)?;
    let ts = parse_timestamp(ts, now).ok_or(LineErrorKind::BadTimestamp)?;
    build_point(name, ts, value)
}

type Fields<'a> = (&'a [u8], &'a [u8], &'a [u8]);

/// Python's `line.split()` into exactly three fields; `Ok(None)` for a blank line.
fn split_general(line: &[u8]) -> Result<Option<Fields<'_>>, LineErrorKind> {
    let Some((name, at)) = next_field(line, 0) else {
        return Ok(None);
    };
    let rest = next_field(line, at).and_then(|(value, at)| {
        let (ts, at) = next_field(line, at)?;
        Some((value, ts, next_field(line, at)))
    });
    match rest {
        Some((value, ts, None)) => Ok(Some((name, value, ts))),
        _ => Err(LineErrorKind::FieldCount),
    }
}

/// A timestamp field: whole seconds (the common case, without float conversion), `N` for now,
/// or anything Python's `float()` reads, resolved as carbon does.
fn parse_timestamp(text: &[u8], now: i64) -> Option<i64> {
    if let Some(secs) = parse_small_int(text) {
        return Some(if secs == -1 { now } else { secs });
    }
    if text == b"N" {
        return Some(now);
    }
    resolve_timestamp(parse_f64(text)?, now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lookout_core::NameError;

    const NOW: i64 = 1_800_000_000;

    #[track_caller]
    fn check(line: &str, expected: Result<(&str, f64, i64), LineErrorKind>) {
        let got = parse_line(line.as_bytes(), NOW);
        let got = got
            .as_ref()
            .map(|p| (p.name.as_str(), p.value, p.ts))
            .map_err(|e| *e);
        match (got, expected) {
            (Ok((n, v, t)), Ok((en, ev, et))) => {
                assert_eq!((n, t), (en, et), "{line:?}");
                assert_eq!(v.to_bits(), ev.to_bits(), "{line:?}: value {v} vs {ev}");
            }
            (got, expected) => assert_eq!(got, expected, "{line:?}"),
        }
    }

    #[test]
    fn lines_parse_like_carbon() {
        // anchors.md §1.2 test vectors.
        check(
            "local.random.diceroll 4 1700000000",
            Ok(("local.random.diceroll", 4.0, 1_700_000_000)),
        );
        check(
            "foo.bar 1.5 1700000000.9",
            Ok(("foo.bar", 1.5, 1_700_000_000)),
        );
        check("foo.bar nan 1700000000", Err(LineErrorKind::NanValue));
        check("foo.bar 3 -1", Ok(("foo.bar", 3.0, NOW)));
        check("foo bar 1 2", Err(LineErrorKind::FieldCount));
        // Python float() forms.
        check("a 1e3 10", Ok(("a", 1000.0, 10)));
        check("a +1 10", Ok(("a", 1.0, 10)));
        check("a inf 10", Ok(("a", f64::INFINITY, 10)));
        check("a -inf 10", Ok(("a", f64::NEG_INFINITY, 10)));
        check("a -Infinity 10", Ok(("a", f64::NEG_INFINITY, 10)));
        check("a 1_000 1_0", Ok(("a", 1000.0, 10)));
        check("a .5 1e9", Ok(("a", 0.5, 1_000_000_000)));
        check("a -NaN 10", Err(LineErrorKind::NanValue));
        // Timestamps.
        check("a 1 N", Ok(("a", 1.0, NOW)));
        check("a 1 -1.0", Ok(("a", 1.0, NOW)));
        check("a 1 +10", Ok(("a", 1.0, 10)));
        check("a 1 0", Ok(("a", 1.0, 0)));
        check("a 1 1700000000.5e0", Ok(("a", 1.0, 1_700_000_000)));
        check("a 1 inf", Err(LineErrorKind::BadTimestamp));
        check("a 1 nan", Err(LineErrorKind::BadTimestamp));
        check("a 1 1e30", Err(LineErrorKind::BadTimestamp));
        check("a 1 n", Err(LineErrorKind::BadTimestamp));
        check("a 1 12:00", Err(LineErrorKind::BadTimestamp));
        // Whitespace: any run of spaces/tabs separates, surrounding whitespace is stripped.
        check("  a.b \t 2   3  ", Ok(("a.b", 2.0, 3)));
        check("a.b 2 3\r", Ok(("a.b", 2.0, 3)));
        check("a\x0b2\x0c3", Ok(("a", 2.0, 3)));
        // Field count.
        check("a.b 2", Err(LineErrorKind::FieldCount));
        check("a.b", Err(LineErrorKind::FieldCount));
        check("", Err(LineErrorKind::FieldCount));
        check("a 1 2 3", Err(LineErrorKind::FieldCount));
        // Values.
        check("a x 1", Err(LineErrorKind::BadValue));
        check("a 0x10 1", Err(LineErrorKind::BadValue));
        check("a 1,5 1", Err(LineErrorKind::BadValue));
        // Names.
        check(
            "disk.used;rack=a1;datacenter=dc1;server=web01 1 2",
            Ok(("disk.used;datacenter=dc1;rack=a1;server=web01", 1.0, 2)),
        );
        check(
            "a..b 1 2",
            Err(LineErrorKind::BadName(NameError::EmptyNode)),
        );
        check(".a 1 2", Err(LineErrorKind::BadName(NameError::EmptyNode)));
        check("a;k 1 2", Err(LineErrorKind::BadName(NameError::BadTag)));
        check(
            "a\x01b 1 2",
            Err(LineErrorKind::BadName(NameError::BadCharacter)),
        );
        check(
            &format!("{} 1 2", "x".repeat(2000)),
            Err(LineErrorKind::BadName(NameError::TooLong)),
        );
    }

    /// The fields the scan finds in one line (no `\n` inside), as `parse` would take them.
    fn fast_fields(line: &[u8]) -> Option<Fields<'_>> {
        let mut shape = LineShape::new(0);
        for pos in LowBytes::new(line) {
            assert!(!shape.note(line, pos));
        }
        shape.fields(line, line.len())
    }

    #[test]
    fn low_bytes_are_found_in_every_position() {
        for b in 0..=255u8 {
            let buf = [b'x', b, b'x'];
            let found: Vec<usize> = LowBytes::new(&buf).collect();
            assert_eq!(found, if b <= b' ' { vec![1] } else { vec![] }, "{b:#x}");
        }
        for len in [0, 1, 7, 8, 9, 63, 64, 65, 127, 128, 200] {
            let mut buf = vec![b'x'; len];
            let expected: Vec<usize> = (0..len).filter(|i| i % 7 == 3 || i % 64 == 63).collect();
            for &i in &expected {
                buf[i] = if i % 2 == 0 { b' ' } else { b'\n' };
            }
            assert_eq!(LowBytes::new(&buf).collect::<Vec<_>>(), expected, "{len}");
        }
    }

    #[test]
    fn common_splitter_agrees_with_the_general_one() {
        // Lines built as piece, separator, piece, separator, piece, tail, where every part is
        // usually the common shape and sometimes holds other whitespace.
        let pieces: [&[u8]; 8] = [b"a.b", b"1", b"", b"x\ty", b"2\x0b", b"-1.5", b"\r", b"c d"];
        let seps: [&[u8]; 6] = [b" ", b" ", b" ", b"  ", b"\t", b" \r"];
        let mut x: u64 = 0xdead_beef_cafe_f00d;
        let mut common = 0;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let pick = |shift: u32, n: usize| ((x >> shift) % n as u64) as usize;
            let line = [
                pieces[pick(0, 8)],
                seps[pick(3, 6)],
                pieces[pick(6, 8)],
                seps[pick(9, 6)],
                pieces[pick(12, 8)],
                pieces[pick(15, 8)],
            ]
            .concat();
            if let Some(fields) = fast_fields(&line) {
                common += 1;
                assert_eq!(split_general(&line), Ok(Some(fields)), "{line:?}");
            }
        }
        assert!(
            common > 100,
            "the common shape was generated {common} times"
        );
    }

    #[test]
    fn non_utf8_names_are_refused() {
        assert_eq!(parse_line(b"caf\xe9 1 2", NOW), Err(LineErrorKind::NotUtf8));
        assert_eq!(
            parse_line("café.latte 1 2".as_bytes(), NOW).map(|p| p.name),
            Ok("café.latte".to_string())
        );
    }

    #[track_caller]
    fn check_buf(buf: &[u8], max_line: usize, names: &[&str], errors: &[(usize, LineErrorKind)]) {
        let mut out = Vec::new();
        let mut errs = Vec::new();
        parse_with_max_line(buf, NOW, max_line, &mut out, &mut errs);
        let got: Vec<&str> = out.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(got, names);
        let got: Vec<(usize, LineErrorKind)> = errs.iter().map(|e| (e.line, e.kind)).collect();
        assert_eq!(got, errors);
    }

    #[test]
    fn buffers_keep_good_lines_and_number_bad_ones() {
        check_buf(b"a 1 2\nb 1 2\n", 100, &["a", "b"], &[]);
        check_buf(b"a 1 2\r\nb 1 2\r\n", 100, &["a", "b"], &[]);
        check_buf(b"a 1 2\nb 1 2", 100, &["a", "b"], &[]);
        check_buf(b"\n\na 1 2\n\n", 100, &["a"], &[]);
        check_buf(
            b"a 1 2\nbad\nc nan 3\nd 1 2\n",
            100,
            &["a", "d"],
            &[(2, LineErrorKind::FieldCount), (3, LineErrorKind::NanValue)],
        );
        check_buf(
            b"a 1 2\nlong.name.here 1 2\nb 1 2\n",
            10,
            &["a", "b"],
            &[(2, LineErrorKind::LineTooLong)],
        );
        check_buf(b"", 100, &[], &[]);
    }

    #[test]
    fn default_parse_applies_the_core_line_limit() {
        let mut buf = format!("a.{} 1 2\n", "x".repeat(MAX_GRAPHITE_LINE_BYTES)).into_bytes();
        buf.extend_from_slice(b"ok 1 2\n");
        let (mut out, mut errs) = (Vec::new(), Vec::new());
        parse(&buf, NOW, &mut out, &mut errs);
        assert_eq!(out.len(), 1);
        assert_eq!(
            errs,
            vec![LineError {
                line: 1,
                kind: LineErrorKind::LineTooLong
            }]
        );
    }

    #[test]
    fn line_text_finds_the_numbered_line() {
        let buf = b"a 1 2\r\nbad line\nc 1 2";
        assert_eq!(line_text(buf, 1), Some(&b"a 1 2"[..]));
        assert_eq!(line_text(buf, 2), Some(&b"bad line"[..]));
        assert_eq!(line_text(buf, 3), Some(&b"c 1 2"[..]));
        assert_eq!(line_text(buf, 4), None);
        assert_eq!(line_text(buf, 0), None);
    }

    #[test]
    fn encode_writes_lines_that_parse_back() {
        let points = vec![
            Point {
                name: "a.b".into(),
                ts: 10,
                value: 1.5,
            },
            Point {
                name: "a;k=v".into(),
                ts: -5,
                value: -0.0,
            },
            Point {
                name: "big".into(),
                ts: 1,
                value: 1.0e300,
            },
            Point {
                name: "tiny".into(),
                ts: 1,
                value: -2.5e-300,
            },
            Point {
                name: "inf".into(),
                ts: 1,
                value: f64::NEG_INFINITY,
            },
        ];
        let mut buf = Vec::new();
        encode(&points, &mut buf);
        assert!(buf.starts_with(b"a.b 1.5 10\na;k=v -0 -5\nbig 1e300 1\n"));
        let (mut out, mut errs) = (Vec::new(), Vec::new());
        parse(&buf, NOW, &mut out, &mut errs);
        assert!(errs.is_empty(), "{errs:?}");
        assert_eq!(out.len(), points.len());
        for (a, b) in out.iter().zip(&points) {
            assert_eq!(
                (&a.name, a.ts, a.value.to_bits()),
                (&b.name, b.ts, b.value.to_bits())
            );
        }
    }
}
