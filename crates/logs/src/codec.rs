//! Byte-level encoding shared by the WAL payload and block columns: LEB128 varints, zigzag,
//! length-prefixed byte strings, and a bounds-checked reader that turns any truncation into
//! `None` instead of a panic. It knows nothing of files or records.

/// Appends `v` as an unsigned LEB128 varint.
pub(crate) fn put_uvarint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Appends `v` zigzag-encoded, so small negative deltas stay short.
pub(crate) fn put_ivarint(out: &mut Vec<u8>, v: i64) {
    put_uvarint(out, ((v << 1) ^ (v >> 63)) as u64);
}

/// Appends a length-prefixed byte string.
pub(crate) fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_uvarint(out, b.len() as u64);
    out.extend_from_slice(b);
}

/// Reads what the `put_*` functions wrote; every method returns `None` past the end or on a
/// malformed value, so damaged input is detected, never trusted.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf, pos: 0 }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    /// Bytes not read yet.
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    pub(crate) fn uvarint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = *self.buf.get(self.pos)?;
            self.pos += 1;
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Some(v);
            }
        }
        None
    }

    pub(crate) fn ivarint(&mut self) -> Option<i64> {
        let u = self.uvarint()?;
        Some(((u >> 1) as i64) ^ -((u & 1) as i64))
    }

    pub(crate) fn byte(&mut self) -> Option<u8> {
        let b = *self.buf.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    pub(crate) fn bytes(&mut self) -> Option<&'a [u8]> {
        let len = usize::try_from(self.uvarint()?).ok()?;
        let end = self.pos.checked_add(len)?;
        let out = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(out)
    }

    pub(crate) fn string(&mut self) -> Option<String> {
        String::from_utf8(self.bytes()?.to_vec()).ok()
    }

    /// A fixed-size little-endian u32.
    pub(crate) fn u32_le(&mut self) -> Option<u32> {
        let end = self.pos.checked_add(4)?;
        let b = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(v: i64) {
        let mut out = Vec::new();
        put_ivarint(&mut out, v);
        put_uvarint(&mut out, v as u64);
        let mut r = Reader::new(&out);
        assert_eq!(r.ivarint(), Some(v));
        assert_eq!(r.uvarint(), Some(v as u64));
        assert!(r.is_empty());
    }

    #[test]
    fn varints_round_trip() {
        check(0);
        check(1);
        check(-1);
        check(127);
        check(128);
        check(i64::MAX);
        check(i64::MIN);
    }

    #[test]
    fn truncated_input_reads_as_none() {
        let mut out = Vec::new();
        put_bytes(&mut out, b"hello");
        assert_eq!(Reader::new(&out[..3]).bytes(), None);
        assert_eq!(Reader::new(&[0x80, 0x80]).uvarint(), None);
        assert_eq!(Reader::new(&[0xff; 11]).uvarint(), None);
    }
}
