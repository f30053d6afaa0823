//! Carbon's pickle protocol: a frame is a 4-byte big-endian length followed by a pickle
//! (protocols 0 to 5, as Python 2 and 3 write them) of a list of `(path, (timestamp, value))`
//! entries. Lists may stand in for tuples; names may be str, unicode or bytes; timestamps and
//! values may be ints, longs, floats, bools or numeric strings (carbon applies `float()`).
//!
//! The pickle is decoded by a data-only machine (`pickle::vm`) that never executes anything: a
//! pickle that imports or calls (`GLOBAL`, `REDUCE`, ...) is refused whole. Entries are then
//! checked one by one with the same rules as plaintext (`record`), so good entries are kept
//! when others are bad. This module does not read sockets; the listener feeds it frames cut by
//! [`next_frame`].

mod vm;

use std::ops::Range;

use lookout_core::Point;

use crate::error::{Error, Result};
use crate::number::parse_f64;
use crate::record::{build_point, resolve_timestamp, LineError, LineErrorKind};
use vm::{Decoded, Obj};

pub use vm::PickleErrorKind;

/// Bytes of the length prefix.
const HEADER_BYTES: usize = 4;

/// Entries per `APPENDS` batch when encoding: what CPython's pickler uses.
const ENCODE_BATCH: usize = 1000;

/// Finds the first complete frame in `buf`. `Ok(None)` means more bytes are needed;
/// otherwise it gives the payload's range in `buf` and how many bytes the frame used. A length
/// prefix above `max_len` (the listener's limit, by default
/// [`lookout_core::limits::MAX_PICKLE_FRAME_BYTES`]) is an error: the connection must be
/// closed, since the stream cannot be resynchronised.
pub fn next_frame(buf: &[u8], max_len: usize) -> Result<Option<(Range<usize>, usize)>> {
    let Some(header) = buf.first_chunk::<HEADER_BYTES>() else {
        return Ok(None);
    };
    let len = u32::from_be_bytes(*header);
    let fits = usize::try_from(len).ok().filter(|l| *l <= max_len);
    let Some(len) = fits else {
        return Err(Error::FrameTooLarge {
            len: u64::from(len),
            max: max_len,
        });
    };
    let end = HEADER_BYTES + len;
    if buf.len() < end {
        return Ok(None);
    }
    Ok(Some((HEADER_BYTES..end, end)))
}

/// Decodes one frame's payload. Well-formed entries go to `out`; refused entries (bad shape,
/// name, number, NaN) go to `errors` numbered from 1 in list order. An `Err` refuses the whole
/// payload (code execution attempted, malformed, truncated, over a bound, not a list), and
/// then nothing is added to `out`.
pub fn parse_frame(
    payload: &[u8],
    now: i64,
    out: &mut Vec<Point>,
    errors: &mut Vec<LineError>,
) -> Result<()> {
    let doc = vm::run(payload).map_err(|(offset, kind)| Error::Pickle { offset, kind })?;
    let entries = match doc.root {
        Obj::List(_) => doc.items(doc.root),
        _ => None,
    };
    let Some(entries) = entries else {
        return Err(Error::Pickle {
            offset: doc.stop_offset,
            kind: PickleErrorKind::NotAList,
        });
    };
    for (i, entry) in entries.iter().enumerate() {
        match entry_point(&doc, *entry, now) {
            Ok(point) => out.push(point),
            Err(kind) => errors.push(LineError { line: i + 1, kind }),
        }
    }
    Ok(())
}

/// Appends one frame (length prefix and a protocol-2 pickle, as carbon's own senders write
/// it) holding `points`. Keep batches under the receiver's frame limit; a point whose
/// timestamp is `-1` would read back as "now".
pub fn encode(points: &[Point], out: &mut Vec<u8>) {
    let header_at = out.len();
    out.extend_from_slice(&[0; HEADER_BYTES]);
    out.extend_from_slice(&[0x80, 2, b']']);
    for batch in points.chunks(ENCODE_BATCH) {
        out.push(b'(');
        for p in batch {
            out.push(b'X');
            out.extend_from_slice(&len_u32(p.name.len()).to_le_bytes());
            out.extend_from_slice(p.name.as_bytes());
            match i32::try_from(p.ts) {
                Ok(ts) => {
                    out.push(b'J');
                    out.extend_from_slice(&ts.to_le_bytes());
                }
                Err(_) => {
                    out.extend_from_slice(&[0x8a, 8]);
                    out.extend_from_slice(&p.ts.to_le_bytes());
                }
            }
            out.push(b'G');
            out.extend_from_slice(&p.value.to_be_bytes());
            out.extend_from_slice(&[0x86, 0x86]);
        }
        out.push(b'e');
    }
    out.push(b'.');
    let len = len_u32(out.len() - header_at - HEADER_BYTES);
    if let Some(header) = out.get_mut(header_at..header_at + HEADER_BYTES) {
        header.copy_from_slice(&len.to_be_bytes());
    }
}

/// A length as the format's u32; saturating is harmless since such a frame is refused anyway.
fn len_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// One list entry, `(path, (timestamp, value))` with lists allowed for tuples.
fn entry_point(
    doc: &Decoded<'_>,
    entry: Obj,
    now: i64,
) -> std::result::Result<Point, LineErrorKind> {
    let [name, datapoint] = pair(doc, entry)?;
    let [ts, value] = pair(doc, datapoint)?;
    let name = doc.text(name).ok_or(LineErrorKind::BadEntry)?;
    let value = number(doc, value).ok_or(LineErrorKind::BadValue)?;
    let ts = number(doc, ts)
        .and_then(|ts| resolve_timestamp(ts, now))
        .ok_or(LineErrorKind::BadTimestamp)?;
    build_point(name, ts, value)
}

fn pair(doc: &Decoded<'_>, obj: Obj) -> std::result::Result<[Obj; 2], LineErrorKind> {
    match doc.items(obj) {
        Some(&[a, b]) => Ok([a, b]),
        _ => Err(LineErrorKind::BadEntry),
    }
}

/// A number as carbon's `float()` makes it: ints, floats, bools and numeric strings.
fn number(doc: &Decoded<'_>, obj: Obj) -> Option<f64> {
    match obj {
        Obj::Int(v) => Some(v as f64),
        Obj::Float(v) => Some(v),
        Obj::Bool(b) => Some(if b { 1.0 } else { 0.0 }),
        Obj::Text { .. } => parse_f64(doc.text(obj)?.trim_ascii()),
        Obj::None | Obj::List(_) | Obj::Tuple { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lookout_core::limits::MAX_PICKLE_FRAME_BYTES;

    const NOW: i64 = 1_800_000_000;

    #[track_caller]
    fn check_frame(buf: &[u8], expected: Result<Option<(Range<usize>, usize)>>) {
        assert_eq!(next_frame(buf, MAX_PICKLE_FRAME_BYTES), expected, "{buf:?}");
    }

    #[test]
    fn frames_are_cut_by_their_length_prefix() {
        check_frame(b"", Ok(None));
        check_frame(b"\0\0\0", Ok(None));
        check_frame(b"\0\0\0\x02a", Ok(None));
        check_frame(b"\0\0\0\x02ab", Ok(Some((4..6, 6))));
        check_frame(b"\0\0\0\x02abcd", Ok(Some((4..6, 6))));
        check_frame(b"\0\0\0\0", Ok(Some((4..4, 4))));
        check_frame(b"\0\x10\0\0", Ok(None));
        check_frame(
            b"\0\x10\0\x01",
            Err(Error::FrameTooLarge {
                len: 0x0010_0001,
                max: MAX_PICKLE_FRAME_BYTES,
            }),
        );
        check_frame(
            b"\xff\xff\xff\xff",
            Err(Error::FrameTooLarge {
                len: u64::from(u32::MAX),
                max: MAX_PICKLE_FRAME_BYTES,
            }),
        );
    }

    type Entry<'a> = (&'a str, i64, f64);
    type Outcome<'a> = Result<(Vec<Entry<'a>>, Vec<(usize, LineErrorKind)>)>;

    #[track_caller]
    fn check(payload: &[u8], expected: Outcome<'_>) {
        let (mut out, mut errs) = (Vec::new(), Vec::new());
        let got = parse_frame(payload, NOW, &mut out, &mut errs).map(|()| {
            (
                out.iter()
                    .map(|p| (p.name.as_str(), p.ts, p.value))
                    .collect::<Vec<_>>(),
                errs.iter().map(|e| (e.line, e.kind)).collect::<Vec<_>>(),
            )
        });
        assert_eq!(got, expected, "{payload:?}");
        if got.is_err() {
            assert!(out.is_empty());
        }
    }

    fn refused(offset: usize, kind: PickleErrorKind) -> Outcome<'static> {
        Err(Error::Pickle { offset, kind })
    }

    #[test]
    fn hand_written_pickles_decode() {
        // Protocol 0 as Python 2 writes it: STRING names, INT/LONG/FLOAT text, memo PUTs.
        check(
            b"(lp0\n(S'a.b'\np1\n(I1700000000\nF1.5\ntp2\ntp3\na(S'c'\n(L1700000001L\nI7\nttp4\na.",
            Ok((
                vec![("a.b", 1_700_000_000, 1.5), ("c", 1_700_000_001, 7.0)],
                vec![],
            )),
        );
        // Python 2 protocol 0 booleans are INT 00/01.
        check(
            b"(lp0\n(S'b'\n(I01\nI00\nttp1\na.",
            Ok((vec![("b", 1, 0.0)], vec![])),
        );
        // Lists instead of tuples, MEMOIZE and BINGET sharing one name.
        check(
            b"\x80\x04]\x94(]\x94(\x8c\x01a\x94]\x94(K\x01G?\xf8\x00\x00\x00\x00\x00\x00ee]\x94(h\x02]\x94(K\x02K\x03eee.",
            Ok((vec![("a", 1, 1.5), ("a", 2, 3.0)], vec![])),
        );
        // Numeric strings, bytes names, LONG1 timestamps, -1 meaning now.
        check(
            b"\x80\x03](C\x01bX\x03\x00\x00\x00-1.X\x03\x00\x00\x00 2 \x86\x86\x8c\x01c\x8a\x05\x00\xf1\x53\x65\x00K\x05\x86\x86e.",
            Ok((vec![("b", NOW, 2.0), ("c", 1_700_000_000, 5.0)], vec![])),
        );
        // An empty list is fine.
        check(b"\x80\x02].", Ok((vec![], vec![])));
        check(b"(l.", Ok((vec![], vec![])));
    }

    #[test]
    fn bad_entries_are_reported_and_good_ones_kept() {
        check(
            b"\x80\x02](\x8c\x01aK\x01K\x02\x86\x86\x8c\x01bK\x01\x86\x8c\x01cK\x01G\x7f\xf8\x00\x00\x00\x00\x00\x00\x86\x86K\x07\x8c\x02a.K\x01K\x02\x86\x86\x8c\x01dN\x8c\x01x\x86\x86\x8c\x01eK\x01N\x86\x86\x8c\x01fK\x02K\x03\x86\x86e.",
            Ok((
                vec![("a", 1, 2.0), ("f", 2, 3.0)],
                vec![
                    (2, LineErrorKind::BadEntry),
                    (3, LineErrorKind::NanValue),
                    (4, LineErrorKind::BadEntry),
                    (5, LineErrorKind::BadName(lookout_core::NameError::EmptyNode)),
                    (6, LineErrorKind::BadValue),
                    (7, LineErrorKind::BadValue),
                ],
            )),
        );
    }

    #[test]
    fn code_and_malformed_pickles_are_refused() {
        check(
            b"cos\nsystem\n(S'echo hi'\ntR.",
            refused(0, PickleErrorKind::Forbidden("GLOBAL")),
        );
        check(
            b"\x80\x04\x8c\x02os\x8c\x06system\x93.",
            refused(14, PickleErrorKind::Forbidden("STACK_GLOBAL")),
        );
        check(
            b"\x80\x02]N\x85R.",
            refused(5, PickleErrorKind::Forbidden("REDUCE")),
        );
        check(
            b"\x80\x02}.",
            refused(2, PickleErrorKind::Unsupported(b'}')),
        );
        check(b"\x80\x06].", refused(0, PickleErrorKind::BadProtocol(6)));
        check(b"", refused(0, PickleErrorKind::Truncated));
        check(b"\x80\x02](", refused(4, PickleErrorKind::Truncated));
        check(
            b"\x80\x02]X\xff\x00\x00\x00ab",
            refused(3, PickleErrorKind::Truncated),
        );
        check(b"\x80\x02K\x01.", refused(4, PickleErrorKind::NotAList));
        check(
            b"\x80\x02\x85.",
            refused(2, PickleErrorKind::StackUnderflow),
        );
        check(
            b"\x80\x02(N\x86.",
            refused(4, PickleErrorKind::StackUnderflow),
        );
        check(
            b"\x80\x02](K\x01\x85",
            refused(7, PickleErrorKind::Truncated),
        );
        check(
            b"\x80\x02K\x01K\x01a.",
            refused(6, PickleErrorKind::WrongType),
        );
        check(b"\x80\x02e.", refused(2, PickleErrorKind::MarkMissing));
        check(b"\x80\x02h\x05.", refused(2, PickleErrorKind::MemoMissing));
        check(
            b"\x80\x02]r\x00\x00\x10\x00.",
            refused(3, PickleErrorKind::MemoTooLarge),
        );
        check(b"(I1x\nl.", refused(1, PickleErrorKind::BadLiteral));
        check(b"(Sabc\nl.", refused(1, PickleErrorKind::BadLiteral));
        check(
            b"\x80\x02X\x01\x00\x01\x00",
            refused(2, PickleErrorKind::StringTooLong),
        );
        check(&[b'('; 65], refused(64, PickleErrorKind::TooDeep));
        check(
            b"\x80\x02].trailing bytes are ignored",
            Ok((vec![], vec![])),
        );
    }

    #[test]
    fn element_bound_is_enforced() {
        let mut p = b"\x80\x02]".to_vec();
        p.extend(std::iter::repeat_n(b'N', vm::MAX_ELEMENTS));
        p.push(b'.');
        let (mut out, mut errs) = (Vec::new(), Vec::new());
        let got = parse_frame(&p, NOW, &mut out, &mut errs);
        assert_eq!(
            got,
            Err(Error::Pickle {
                offset: 2 + vm::MAX_ELEMENTS,
                kind: PickleErrorKind::TooManyElements
            })
        );
    }

    #[test]
    fn encode_round_trips() {
        let points = vec![
            Point {
                name: "a.b".into(),
                ts: 1_700_000_000,
                value: 1.5,
            },
            Point {
                name: "café;k=v".into(),
                ts: 1 << 40,
                value: f64::INFINITY,
            },
            Point {
                name: "neg".into(),
                ts: -5,
                value: -0.25,
            },
        ];
        let mut buf = Vec::new();
        encode(&points, &mut buf);
        let (range, used) = next_frame(&buf, MAX_PICKLE_FRAME_BYTES).unwrap().unwrap();
        assert_eq!(used, buf.len());
        let (mut out, mut errs) = (Vec::new(), Vec::new());
        parse_frame(&buf[range], NOW, &mut out, &mut errs).unwrap();
        assert!(errs.is_empty());
        assert_eq!(out, points);
    }

    #[test]
    fn reasons_distinguish_attacks_from_garbage() {
        let forbidden = Error::Pickle {
            offset: 0,
            kind: PickleErrorKind::Forbidden("GLOBAL"),
        };
        let malformed = Error::Pickle {
            offset: 0,
            kind: PickleErrorKind::Truncated,
        };
        let large = Error::FrameTooLarge { len: 5, max: 4 };
        assert_eq!(forbidden.reason(), "pickle_forbidden");
        assert_eq!(malformed.reason(), "pickle_malformed");
        assert_eq!(large.reason(), "frame_too_large");
        assert_eq!(
            forbidden.to_string(),
            "pickle refused at byte 0: opcode GLOBAL would execute code and is refused"
        );
    }
}
