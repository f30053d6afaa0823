//! A pickle *data* machine: it runs the opcodes that build plain values (None, bools, ints,
//! floats, str/unicode/bytes, lists, tuples, the memo) and refuses every opcode that imports a
//! name, calls it or builds an object (`GLOBAL`, `STACK_GLOBAL`, `REDUCE`, `BUILD`, `INST`,
//! `OBJ`, `NEWOBJ*`, `EXT*`, `PERSID*`), so nothing in a pickle is ever executed. Dicts, sets
//! and protocol-5 buffers are refused too: carbon's format never uses them.
//!
//! Every resource is bounded: elements created, mark nesting, memo keys and string lengths, and
//! nothing recurses. Which value means what (the `(path, (timestamp, value))` shape) is
//! `pickle`'s business, not this module's.

/// Most values one pickle may create. A carbon entry creates five (name, timestamp, value and
/// two tuples) in ~30 bytes, so a maximal 1 MiB frame stays well below; 2^21 values of 16
/// bytes bound the machine to ~64 MiB even for a hostile payload.
pub(crate) const MAX_ELEMENTS: usize = 1 << 21;

/// Deepest `MARK` nesting. Carbon's shape needs 2; 64 leaves room for other senders' styles.
pub(crate) const MAX_MARK_DEPTH: usize = 64;

/// Highest memo key + 1. Picklers number memo keys from 0, one per memoised value, so this
/// matches [`MAX_ELEMENTS`] / 2 while bounding the memo table to 16 MiB.
pub(crate) const MAX_MEMO_KEYS: usize = 1 << 20;

/// Longest string, bytes or text line. Names are at most 1 KiB and numbers a few bytes; 64 KiB
/// refuses nothing a sender means to send.
pub(crate) const MAX_STRING_BYTES: usize = 64 * 1024;

/// Highest pickle protocol version (Python 3.8+ writes up to 5).
const MAX_PROTOCOL: u8 = 5;

/// Why a pickle was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PickleErrorKind {
    /// An opcode that would import, call or construct something. Never executed.
    #[error("opcode {0} would execute code and is refused")]
    Forbidden(&'static str),
    /// An opcode for a type carbon's format does not use (dict, set, buffers), or no opcode.
    #[error("unsupported opcode 0x{0:02x}")]
    Unsupported(u8),
    /// A protocol version above 5.
    #[error("unknown pickle protocol {0}")]
    BadProtocol(u8),
    /// The payload ends before `STOP` or inside an opcode's argument.
    #[error("truncated pickle")]
    Truncated,
    /// An opcode needs more values than the stack holds (above the current mark).
    #[error("stack underflow")]
    StackUnderflow,
    /// `APPEND(S)` to something that is not a list.
    #[error("append to a non-list")]
    WrongType,
    /// A mark-consuming opcode without a mark.
    #[error("no mark on the stack")]
    MarkMissing,
    /// An unparseable text argument (INT, LONG, FLOAT, STRING, UNICODE, memo key) or length.
    #[error("malformed literal")]
    BadLiteral,
    /// `GET` of a memo key that was never `PUT`.
    #[error("memo key not set")]
    MemoMissing,
    /// A memo key at or above the bound.
    #[error("memo key above the limit")]
    MemoTooLarge,
    /// Marks nested deeper than the bound.
    #[error("marks nested too deep")]
    TooDeep,
    /// More values than the bound.
    #[error("too many elements")]
    TooManyElements,
    /// A string or text line longer than the bound.
    #[error("string too long")]
    StringTooLong,
    /// The pickled value is not a list.
    #[error("pickled value is not a list")]
    NotAList,
}

/// A value on the machine's stack. Copy: containers are referenced by index, so the memo and
/// the stack share lists exactly as Python objects are shared.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Obj {
    None,
    Bool(bool),
    Int(i64),
    /// A float, or an integer too large for `i64` (converted as Python's `float()` would).
    Float(f64),
    /// str, unicode or bytes: `len` bytes at `start` in the payload, or in the decoded pool
    /// for text that needed unescaping.
    Text {
        decoded: bool,
        start: u32,
        len: u32,
    },
    /// Index into the machine's lists.
    List(u32),
    /// `len` items at `start` in the tuple item pool; tuples are immutable, so they are stored
    /// flat.
    Tuple {
        start: u32,
        len: u32,
    },
}

/// The result of a run: the pickled root value and the pools it refers to.
pub(crate) struct Decoded<'a> {
    pub(crate) root: Obj,
    /// Offset of the `STOP` opcode, for errors about the root.
    pub(crate) stop_offset: usize,
    data: &'a [u8],
    lists: Vec<Vec<Obj>>,
    tuple_items: Vec<Obj>,
    decoded: Vec<u8>,
}

impl Decoded<'_> {
    /// The bytes of a text value.
    pub(crate) fn text(&self, obj: Obj) -> Option<&[u8]> {
        let Obj::Text {
            decoded,
            start,
            len,
        } = obj
        else {
            return None;
        };
        let pool = if decoded {
            &self.decoded[..]
        } else {
            self.data
        };
        pool.get(start as usize..start as usize + len as usize)
    }

    /// The items of a list or tuple.
    pub(crate) fn items(&self, obj: Obj) -> Option<&[Obj]> {
        match obj {
            Obj::List(id) => self.lists.get(id as usize).map(Vec::as_slice),
            Obj::Tuple { start, len } => self
                .tuple_items
                .get(start as usize..start as usize + len as usize),
            _ => None,
        }
    }
}

type Fail = (usize, PickleErrorKind);

/// Runs the pickle in `data` up to its `STOP`. Bytes after `STOP` are ignored, as Python's
/// `loads` does. Errors carry the offset of the refused opcode.
pub(crate) fn run(data: &[u8]) -> Result<Decoded<'_>, Fail> {
    if u32::try_from(data.len()).is_err() {
        return Err((0, PickleErrorKind::TooManyElements));
    }
    let mut m = Machine {
        data,
        pos: 0,
        stack: Vec::new(),
        marks: Vec::new(),
        memo: Vec::new(),
        memo_len: 0,
        lists: Vec::new(),
        tuple_items: Vec::new(),
        decoded: Vec::new(),
        elements: 0,
    };
    loop {
        let at = m.pos;
        match m.step() {
            Ok(Some(root)) => {
                return Ok(Decoded {
                    root,
                    stop_offset: at,
                    data,
                    lists: m.lists,
                    tuple_items: m.tuple_items,
                    decoded: m.decoded,
                })
            }
            Ok(None) => {}
            Err(kind) => return Err((at, kind)),
        }
    }
}

struct Machine<'a> {
    data: &'a [u8],
    pos: usize,
    stack: Vec<Obj>,
    /// Stack heights at each open `MARK`; values below the top mark are out of reach until a
    /// mark-consuming opcode closes it, as in Python 3's metastack.
    marks: Vec<usize>,
    memo: Vec<Option<Obj>>,
    /// Keys set in `memo`, which `MEMOIZE` uses as its next key.
    memo_len: usize,
    lists: Vec<Vec<Obj>>,
    tuple_items: Vec<Obj>,
    /// Text that needed unescaping (STRING, UNICODE), as UTF-8 or raw bytes.
    decoded: Vec<u8>,
    /// Values created so far, against [`MAX_ELEMENTS`].
    elements: usize,
}

type Step<T> = Result<T, PickleErrorKind>;

impl<'a> Machine<'a> {
    /// Runs one opcode; `Some(root)` at `STOP`.
    fn step(&mut self) -> Step<Option<Obj>> {
        let op = self.byte()?;
        match op {
            b'(' => {
                if self.marks.len() >= MAX_MARK_DEPTH {
                    return Err(PickleErrorKind::TooDeep);
                }
                self.marks.push(self.stack.len());
            }
            b'.' => return self.pop().map(Some),
            b'0' => {
                self.pop()?;
            }
            b'1' => {
                self.pop_mark()?;
            }
            b'2' => {
                let top = self.top()?;
                self.push(top)?;
            }
            0x80 => {
                let version = self.byte()?;
                if version > MAX_PROTOCOL {
                    return Err(PickleErrorKind::BadProtocol(version));
                }
            }
            // FRAME (protocol 4) only announces how many bytes follow; framing is ours.
            0x95 => {
                let len = self.u64_le()?;
                if len > (self.data.len() - self.pos) as u64 {
                    return Err(PickleErrorKind::Truncated);
                }
            }
            b']' => self.push_list(Vec::new())?,
            b'l' => {
                let items = self.pop_mark()?;
                self.push_list(items)?;
            }
            b'a' => {
                let value = self.pop()?;
                self.top_list()?.push(value);
            }
            b'e' => {
                let items = self.pop_mark()?;
                self.top_list()?.extend(items);
            }
            b't' => {
                let items = self.pop_mark()?;
                self.push_tuple(&items)?;
            }
            b')' => self.push_tuple(&[])?,
            0x85..=0x87 => {
                let n = usize::from(op - 0x84);
                let floor = self.floor();
                if self.stack.len() < floor + n {
                    return Err(PickleErrorKind::StackUnderflow);
                }
                let items = self.stack.split_off(self.stack.len() - n);
                self.push_tuple(&items)?;
            }
            b'J' => {
                let v = i32::from_le_bytes(self.array()?);
                self.push(Obj::Int(i64::from(v)))?;
            }
            b'K' => {
                let v = self.byte()?;
                self.push(Obj::Int(i64::from(v)))?;
            }
            b'M' => {
                let v = u16::from_le_bytes(self.array()?);
                self.push(Obj::Int(i64::from(v)))?;
            }
            b'I' => {
                let line = self.line()?;
                let v = match line {
                    b"00" => Obj::Bool(false),
                    b"01" => Obj::Bool(true),
                    _ => int_from_text(line)?,
                };
                self.push(v)?;
            }
            b'L' => {
                let line = self.line()?;
                let digits = line.strip_suffix(b"L").unwrap_or(line);
                let v = int_from_text(digits)?;
                self.push(v)?;
            }
            0x8a => {
                let n = usize::from(self.byte()?);
                let bytes = self.take(n)?;
                self.push(int_from_le_bytes(bytes))?;
            }
            0x8b => {
                let n = self.len_i32()?;
                let bytes = self.take(n)?;
                self.push(int_from_le_bytes(bytes))?;
            }
            b'G' => {
                let v = f64::from_be_bytes(self.array()?);
                self.push(Obj::Float(v))?;
            }
            b'F' => {
                let line = self.line()?;
                let v = crate::number::parse_f64(line.trim_ascii())
                    .ok_or(PickleErrorKind::BadLiteral)?;
                self.push(Obj::Float(v))?;
            }
            b'S' => {
                let line = self.line()?;
                let start = self.decoded.len();
                let inner = match line {
                    [q, inner @ .., q2] if q == q2 && (*q == b'\'' || *q == b'"') => inner,
                    _ => return Err(PickleErrorKind::BadLiteral),
                };
                escape_decode(inner, &mut self.decoded)?;
                self.push_decoded(start)?;
            }
            b'V' => {
                let line = self.line()?;
                let start = self.decoded.len();
                raw_unicode_escape_decode(line, &mut self.decoded)?;
                self.push_decoded(start)?;
            }
            b'T' => {
                let n = self.len_i32()?;
                self.push_slice(n)?;
            }
            b'U' | b'C' | 0x8c => {
                let n = usize::from(self.byte()?);
                self.push_slice(n)?;
            }
            b'X' | b'B' => {
                let n = u32::from_le_bytes(self.array()?);
                self.push_slice(usize::try_from(n).map_err(|_| PickleErrorKind::StringTooLong)?)?;
            }
            0x8d | 0x8e => {
                let n =
                    usize::try_from(self.u64_le()?).map_err(|_| PickleErrorKind::StringTooLong)?;
                self.push_slice(n)?;
            }
            b'N' => self.push(Obj::None)?,
            0x88 => self.push(Obj::Bool(true))?,
            0x89 => self.push(Obj::Bool(false))?,
            b'p' => {
                let key = key_from_text(self.line()?)?;
                self.memo_put(key)?;
            }
            b'q' => {
                let key = usize::from(self.byte()?);
                self.memo_put(key)?;
            }
            b'r' => {
                let key = u32::from_le_bytes(self.array()?) as usize;
                self.memo_put(key)?;
            }
            0x94 => self.memo_put(self.memo_len)?,
            b'g' => {
                let key = key_from_text(self.line()?)?;
                self.memo_get(key)?;
            }
            b'h' => {
                let key = usize::from(self.byte()?);
                self.memo_get(key)?;
            }
            b'j' => {
                let key = u32::from_le_bytes(self.array()?) as usize;
                self.memo_get(key)?;
            }
            other => return Err(refusal(other)),
        }
        Ok(None)
    }

    fn byte(&mut self) -> Step<u8> {
        let b = *self.data.get(self.pos).ok_or(PickleErrorKind::Truncated)?;
        self.pos += 1;
        Ok(b)
    }

    fn array<const N: usize>(&mut self) -> Step<[u8; N]> {
        let bytes = self
            .data
            .get(self.pos..self.pos + N)
            .ok_or(PickleErrorKind::Truncated)?;
        self.pos += N;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    fn u64_le(&mut self) -> Step<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    /// A 4-byte signed little-endian length, as BINSTRING and LONG4 use; negative is malformed.
    fn len_i32(&mut self) -> Step<usize> {
        let n = i32::from_le_bytes(self.array()?);
        usize::try_from(n).map_err(|_| PickleErrorKind::BadLiteral)
    }

    /// `n` argument bytes, within the string bound.
    fn take(&mut self, n: usize) -> Step<&'a [u8]> {
        if n > MAX_STRING_BYTES {
            return Err(PickleErrorKind::StringTooLong);
        }
        let end = self.pos.checked_add(n).ok_or(PickleErrorKind::Truncated)?;
        let data: &'a [u8] = self.data;
        let bytes = data.get(self.pos..end).ok_or(PickleErrorKind::Truncated)?;
        self.pos = end;
        Ok(bytes)
    }

    /// A text argument up to (not including) its `\n`.
    fn line(&mut self) -> Step<&'a [u8]> {
        let data: &'a [u8] = self.data;
        let rest = data.get(self.pos..).unwrap_or_default();
        let window = rest.get(..=MAX_STRING_BYTES).unwrap_or(rest);
        let Some(n) = memchr::memchr(b'\n', window) else {
            return Err(if window.len() > MAX_STRING_BYTES {
                PickleErrorKind::StringTooLong
            } else {
                PickleErrorKind::Truncated
            });
        };
        let line = rest.get(..n).unwrap_or_default();
        self.pos += n + 1;
        Ok(line)
    }

    fn push(&mut self, obj: Obj) -> Step<()> {
        self.elements += 1;
        if self.elements > MAX_ELEMENTS {
            return Err(PickleErrorKind::TooManyElements);
        }
        self.stack.push(obj);
        Ok(())
    }

    /// Pushes the next `n` payload bytes as a text value, without copying them.
    fn push_slice(&mut self, n: usize) -> Step<()> {
        let start = self.pos;
        self.take(n)?;
        self.push(Obj::Text {
            decoded: false,
            start: to_u32(start)?,
            len: to_u32(n)?,
        })
    }

    /// Pushes the decoded pool's bytes from `start` to its end as a text value.
    fn push_decoded(&mut self, start: usize) -> Step<()> {
        let len = self.decoded.len() - start;
        if len > MAX_STRING_BYTES {
            return Err(PickleErrorKind::StringTooLong);
        }
        self.push(Obj::Text {
            decoded: true,
            start: to_u32(start)?,
            len: to_u32(len)?,
        })
    }

    fn push_list(&mut self, items: Vec<Obj>) -> Step<()> {
        let id = to_u32(self.lists.len())?;
        self.lists.push(items);
        self.push(Obj::List(id))
    }

    fn push_tuple(&mut self, items: &[Obj]) -> Step<()> {
        let start = to_u32(self.tuple_items.len())?;
        self.tuple_items.extend_from_slice(items);
        self.push(Obj::Tuple {
            start,
            len: to_u32(items.len())?,
        })
    }

    /// Height below which the current mark hides the stack.
    fn floor(&self) -> usize {
        self.marks.last().copied().unwrap_or(0)
    }

    fn pop(&mut self) -> Step<Obj> {
        if self.stack.len() <= self.floor() {
            return Err(PickleErrorKind::StackUnderflow);
        }
        self.stack.pop().ok_or(PickleErrorKind::StackUnderflow)
    }

    fn top(&self) -> Step<Obj> {
        if self.stack.len() <= self.floor() {
            return Err(PickleErrorKind::StackUnderflow);
        }
        self.stack
            .last()
            .copied()
            .ok_or(PickleErrorKind::StackUnderflow)
    }

    /// Removes and returns the values above the top mark, and the mark.
    fn pop_mark(&mut self) -> Step<Vec<Obj>> {
        let mark = self.marks.pop().ok_or(PickleErrorKind::MarkMissing)?;
        Ok(self.stack.split_off(mark.min(self.stack.len())))
    }

    fn top_list(&mut self) -> Step<&mut Vec<Obj>> {
        let Obj::List(id) = self.top()? else {
            return Err(PickleErrorKind::WrongType);
        };
        self.lists
            .get_mut(id as usize)
            .ok_or(PickleErrorKind::WrongType)
    }

    fn memo_put(&mut self, key: usize) -> Step<()> {
        if key >= MAX_MEMO_KEYS {
            return Err(PickleErrorKind::MemoTooLarge);
        }
        let top = self.top()?;
        if key >= self.memo.len() {
            self.memo.resize(key + 1, None);
        }
        if let Some(slot) = self.memo.get_mut(key) {
            if slot.is_none() {
                self.memo_len += 1;
            }
            *slot = Some(top);
        }
        Ok(())
    }

    fn memo_get(&mut self, key: usize) -> Step<()> {
        let obj = self
            .memo
            .get(key)
            .copied()
            .flatten()
            .ok_or(PickleErrorKind::MemoMissing)?;
        self.push(obj)
    }
}

fn to_u32(n: usize) -> Step<u32> {
    u32::try_from(n).map_err(|_| PickleErrorKind::TooManyElements)
}

/// The error for an opcode the machine does not run: a named refusal for the ones that would
/// execute code, so logs say what the sender attempted.
fn refusal(op: u8) -> PickleErrorKind {
    let name = match op {
        b'c' => "GLOBAL",
        0x93 => "STACK_GLOBAL",
        b'R' => "REDUCE",
        b'b' => "BUILD",
        b'i' => "INST",
        b'o' => "OBJ",
        0x81 => "NEWOBJ",
        0x92 => "NEWOBJ_EX",
        0x82 => "EXT1",
        0x83 => "EXT2",
        0x84 => "EXT4",
        b'P' => "PERSID",
        b'Q' => "BINPERSID",
        _ => return PickleErrorKind::Unsupported(op),
    };
    PickleErrorKind::Forbidden(name)
}

/// The argument of INT or LONG: decimal with an optional sign; integers beyond `i64` become
/// floats, as carbon's `float()` would make them anyway.
fn int_from_text(text: &[u8]) -> Step<Obj> {
    let text = text.trim_ascii();
    let digits = text
        .strip_prefix(b"-")
        .or(text.strip_prefix(b"+"))
        .unwrap_or(text);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(PickleErrorKind::BadLiteral);
    }
    let s = std::str::from_utf8(text).map_err(|_| PickleErrorKind::BadLiteral)?;
    match s.parse::<i64>() {
        Ok(v) => Ok(Obj::Int(v)),
        Err(_) => s
            .parse::<f64>()
            .map(Obj::Float)
            .map_err(|_| PickleErrorKind::BadLiteral),
    }
}

/// A memo key written as decimal text (PUT, GET).
fn key_from_text(text: &[u8]) -> Step<usize> {
    let s = std::str::from_utf8(text.trim_ascii()).map_err(|_| PickleErrorKind::BadLiteral)?;
    let key: u64 = s.parse().map_err(|_| PickleErrorKind::BadLiteral)?;
    usize::try_from(key).map_err(|_| PickleErrorKind::MemoTooLarge)
}

/// LONG1/LONG4's argument: little-endian two's complement. Up to 16 bytes is exact; longer
/// integers are approximated as floats.
fn int_from_le_bytes(bytes: &[u8]) -> Obj {
    let negative = bytes.last().is_some_and(|b| b & 0x80 != 0);
    // A hostile sender may pad a small number with sign bytes; drop them so it stays exact.
    let sign_byte = if negative { 0xff } else { 0 };
    let mut bytes = bytes;
    while let [rest @ .., prev, last] = bytes {
        if *last != sign_byte || (*prev & 0x80 != 0) != negative {
            break;
        }
        bytes = bytes.get(..rest.len() + 1).unwrap_or_default();
    }
    if bytes.len() <= 16 {
        let mut buf = [if negative { 0xff } else { 0 }; 16];
        buf[..bytes.len()].copy_from_slice(bytes);
        let v = i128::from_le_bytes(buf);
        return match i64::try_from(v) {
            Ok(v) => Obj::Int(v),
            Err(_) => Obj::Float(v as f64),
        };
    }
    // Magnitude of a negative number is the complement plus one; the +1 is below f64's
    // precision at this size.
    let magnitude = bytes.iter().rev().fold(0.0f64, |acc, &b| {
        acc * 256.0 + f64::from(if negative { !b } else { b })
    });
    Obj::Float(if negative { -magnitude } else { magnitude })
}

/// Python's `codecs.escape_decode`, which loads protocol-0 `STRING` arguments (Python 2 `str`
/// as `repr` wrote it).
fn escape_decode(src: &[u8], out: &mut Vec<u8>) -> Step<()> {
    let mut i = 0;
    while let Some(&b) = src.get(i) {
        i += 1;
        if b != b'\\' {
            out.push(b);
            continue;
        }
        let Some(&e) = src.get(i) else {
            return Err(PickleErrorKind::BadLiteral);
        };
        i += 1;
        match e {
            b'\n' => {}
            b'\\' | b'\'' | b'"' => out.push(e),
            b'a' => out.push(0x07),
            b'b' => out.push(0x08),
            b'f' => out.push(0x0c),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(0x0b),
            b'0'..=b'7' => {
                let mut v = u32::from(e - b'0');
                for _ in 0..2 {
                    match src.get(i) {
                        Some(&d @ b'0'..=b'7') => {
                            v = v * 8 + u32::from(d - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                // Python keeps the low byte of an escape above \377.
                out.push(v as u8);
            }
            b'x' => {
                let hex = src.get(i..i + 2).ok_or(PickleErrorKind::BadLiteral)?;
                let digit = |c: u8| {
                    char::from(c)
                        .to_digit(16)
                        .ok_or(PickleErrorKind::BadLiteral)
                };
                let (hi, lo) = (digit(hex[0])?, digit(hex[1])?);
                out.push((hi * 16 + lo) as u8);
                i += 2;
            }
            other => {
                out.push(b'\\');
                out.push(other);
            }
        }
    }
    Ok(())
}

/// Python's `raw-unicode-escape` decoding, which loads protocol-0 `UNICODE` arguments: bytes
/// are Latin-1 characters, and `\uXXXX` / `\UXXXXXXXX` after an odd run of backslashes are
/// code points. Written out as UTF-8; surrogates are refused (they have no UTF-8 form).
fn raw_unicode_escape_decode(src: &[u8], out: &mut Vec<u8>) -> Step<()> {
    let mut i = 0;
    while let Some(&b) = src.get(i) {
        if b != b'\\' {
            push_char(out, u32::from(b))?;
            i += 1;
            continue;
        }
        let run_start = i;
        while src.get(i) == Some(&b'\\') {
            i += 1;
        }
        let run = i - run_start;
        let digits = match src.get(i) {
            Some(b'u') if run % 2 == 1 => 4,
            Some(b'U') if run % 2 == 1 => 8,
            _ => {
                out.extend(std::iter::repeat_n(b'\\', run));
                continue;
            }
        };
        out.extend(std::iter::repeat_n(b'\\', run - 1));
        let hex = src
            .get(i + 1..i + 1 + digits)
            .ok_or(PickleErrorKind::BadLiteral)?;
        let s = std::str::from_utf8(hex).map_err(|_| PickleErrorKind::BadLiteral)?;
        if !s.bytes().all(|c| c.is_ascii_hexdigit()) {
            return Err(PickleErrorKind::BadLiteral);
        }
        let code = u32::from_str_radix(s, 16).map_err(|_| PickleErrorKind::BadLiteral)?;
        push_char(out, code)?;
        i += 1 + digits;
    }
    Ok(())
}

fn push_char(out: &mut Vec<u8>, code: u32) -> Step<()> {
    let c = char::from_u32(code).ok_or(PickleErrorKind::BadLiteral)?;
    let mut buf = [0u8; 4];
    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check_escape(src: &[u8], expected: Result<&[u8], PickleErrorKind>) {
        let mut out = Vec::new();
        let got = escape_decode(src, &mut out).map(|()| out.as_slice());
        assert_eq!(got, expected, "{src:?}");
    }

    #[test]
    fn string_escapes_decode_like_python() {
        check_escape(b"a.b", Ok(b"a.b"));
        check_escape(br"it\'s", Ok(b"it's"));
        check_escape(br"\\\n\t\r", Ok(b"\\\n\t\r"));
        check_escape(br"\x41\xe9", Ok(b"A\xe9"));
        check_escape(br"\101\0", Ok(b"A\0"));
        check_escape(br"\q", Ok(b"\\q"));
        check_escape(b"a\\\nb", Ok(b"ab"));
        check_escape(br"\x4", Err(PickleErrorKind::BadLiteral));
        check_escape(br"\xzz", Err(PickleErrorKind::BadLiteral));
        check_escape(br"\x+1", Err(PickleErrorKind::BadLiteral));
        check_escape(b"a\\", Err(PickleErrorKind::BadLiteral));
    }

    #[track_caller]
    fn check_raw(src: &[u8], expected: Result<&str, PickleErrorKind>) {
        let mut out = Vec::new();
        let got = raw_unicode_escape_decode(src, &mut out).map(|()| out.clone());
        assert_eq!(got, expected.map(|s| s.as_bytes().to_vec()), "{src:?}");
    }

    #[test]
    fn raw_unicode_escapes_decode_like_python() {
        check_raw(b"a.b", Ok("a.b"));
        check_raw(br"caf\u00e9", Ok("café"));
        check_raw(b"caf\xe9", Ok("café"));
        check_raw(br"\U0001f600", Ok("😀"));
        check_raw(br"a\u005cb", Ok("a\\b"));
        check_raw(br"\\u0041", Ok("\\\\u0041"));
        check_raw(br"\\\u0041", Ok("\\\\A"));
        check_raw(br"\x", Ok("\\x"));
        check_raw(br"\u12", Err(PickleErrorKind::BadLiteral));
        check_raw(br"\ud800", Err(PickleErrorKind::BadLiteral));
        check_raw(br"\U00110000", Err(PickleErrorKind::BadLiteral));
    }

    #[track_caller]
    fn check_int(bytes: &[u8], expected: Obj) {
        assert_eq!(int_from_le_bytes(bytes), expected, "{bytes:?}");
    }

    #[test]
    fn long_bytes_are_twos_complement() {
        check_int(&[], Obj::Int(0));
        check_int(&[0xff], Obj::Int(-1));
        check_int(&[0x00, 0xf1, 0x53, 0x65], Obj::Int(1_700_000_000));
        check_int(&[0x00, 0x80], Obj::Int(-32768));
        check_int(
            &[0, 0, 0, 0, 0, 0, 0, 0x80, 0],
            Obj::Float(9_223_372_036_854_775_808.0),
        );
        check_int(&[0; 20], Obj::Int(0));
        check_int(&[0xff; 20], Obj::Int(-1));
        check_int(&[0x80, 0xff, 0xff], Obj::Int(-128));
        let mut big = vec![0u8; 20];
        big[19] = 0x01;
        check_int(&big, Obj::Float(2f64.powi(152)));
        let mut neg = vec![0xffu8; 20];
        neg[19] = 0xfe;
        check_int(&neg, Obj::Float(-(2f64.powi(152))));
    }

    #[test]
    fn ints_from_text() {
        assert_eq!(int_from_text(b"42"), Ok(Obj::Int(42)));
        assert_eq!(int_from_text(b"-7 "), Ok(Obj::Int(-7)));
        assert_eq!(int_from_text(b"99999999999999999999"), Ok(Obj::Float(1e20)));
        assert_eq!(int_from_text(b"1.5"), Err(PickleErrorKind::BadLiteral));
        assert_eq!(int_from_text(b""), Err(PickleErrorKind::BadLiteral));
        assert_eq!(int_from_text(b"-"), Err(PickleErrorKind::BadLiteral));
    }
}
