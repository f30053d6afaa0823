//! LEB128 varints and zigzag mapping, the integer framing shared by every tsdb format (WAL
//! records, chunk headers, block indexes, series index files). Decoding is bounds-checked and
//! returns `None` on truncated or overlong input instead of panicking; callers turn that into
//! their own corruption error with a file and offset. Bit-level packing lives in `codec::bits`.

/// Appends `v` as an unsigned LEB128 varint (7 bits per byte, low group first).
#[inline]
pub fn put_u64(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Appends `v` zigzag-mapped, so small negative numbers stay short.
#[inline]
pub fn put_i64(out: &mut Vec<u8>, v: i64) {
    put_u64(out, zigzag(v));
}

/// Maps signed to unsigned so that values near zero get small codes: 0, -1, 1, -2 → 0, 1, 2, 3.
#[inline]
pub fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

/// Inverse of [`zigzag`].
#[inline]
pub fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// A cursor over a byte slice that reads varints and fixed fields without panicking.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf, pos: 0 }
    }

    /// Bytes consumed so far.
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// Whether every byte has been consumed.
    pub fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    /// The bytes not consumed yet.
    pub fn rest(&self) -> &'a [u8] {
        &self.buf[self.pos.min(self.buf.len())..]
    }

    /// Reads an unsigned varint; `None` if truncated or longer than 10 bytes.
    #[inline]
    pub fn u64(&mut self) -> Option<u64> {
        let mut v = 0u64;
        let mut shift = 0u32;
        loop {
            let b = *self.buf.get(self.pos)?;
            self.pos += 1;
            if shift == 63 && b > 1 {
                return None;
            }
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Some(v);
            }
            shift += 7;
            if shift > 63 {
                return None;
            }
        }
    }

    /// Reads a zigzag varint.
    #[inline]
    pub fn i64(&mut self) -> Option<i64> {
        self.u64().map(unzigzag)
    }

    /// Reads an unsigned varint that must fit in `u32`.
    pub fn u32(&mut self) -> Option<u32> {
        self.u64().and_then(|v| u32::try_from(v).ok())
    }

    /// Reads an unsigned varint used as a count of items that take at least `min_item_bytes`
    /// each, refusing counts the remaining bytes cannot hold, so a corrupt count cannot trigger a
    /// huge allocation. Items that may take no bytes must be bounded by the caller instead.
    pub fn len(&mut self, min_item_bytes: usize) -> Option<usize> {
        let v = usize::try_from(self.u64()?).ok()?;
        let remaining = self.buf.len().saturating_sub(self.pos);
        (v.saturating_mul(min_item_bytes.max(1)) <= remaining).then_some(v)
    }

    /// Reads one byte.
    #[inline]
    pub fn u8(&mut self) -> Option<u8> {
        let b = *self.buf.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    /// Reads `n` raw bytes.
    pub fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }

    /// Reads a little-endian `u64`.
    pub fn u64_le(&mut self) -> Option<u64> {
        let b = self.bytes(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Some(u64::from_le_bytes(a))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(v: u64, bytes: &[u8]) {
        let mut out = Vec::new();
        put_u64(&mut out, v);
        assert_eq!(out, bytes, "encoding {v}");
        let mut r = Reader::new(bytes);
        assert_eq!(r.u64(), Some(v));
        assert!(r.is_empty());
    }

    #[test]
    fn varint_vectors() {
        check(0, &[0]);
        check(1, &[1]);
        check(127, &[0x7f]);
        check(128, &[0x80, 0x01]);
        check(300, &[0xac, 0x02]);
        check(
            u64::MAX,
            &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
        );
    }

    #[test]
    fn zigzag_orders_by_magnitude() {
        let cases = [
            (0i64, 0u64),
            (-1, 1),
            (1, 2),
            (-2, 3),
            (i64::MAX, u64::MAX - 1),
        ];
        for (v, z) in cases {
            assert_eq!(zigzag(v), z);
            assert_eq!(unzigzag(z), v);
        }
        assert_eq!(unzigzag(zigzag(i64::MIN)), i64::MIN);
    }

    #[test]
    fn truncated_and_overlong_varints_are_refused() {
        assert_eq!(Reader::new(&[0x80]).u64(), None);
        assert_eq!(Reader::new(&[]).u64(), None);
        assert_eq!(Reader::new(&[0xff; 11]).u64(), None);
        assert_eq!(
            Reader::new(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02]).u64(),
            None
        );
        assert_eq!(Reader::new(&[0x80, 0x80, 0x80, 0x80, 0x10]).u32(), None);
    }

    #[test]
    fn len_is_bounded_by_remaining_bytes() {
        let mut buf = Vec::new();
        put_u64(&mut buf, 3);
        buf.extend_from_slice(&[1, 2, 3]);
        assert_eq!(Reader::new(&buf).len(1), Some(3));
        assert_eq!(Reader::new(&buf).len(2), None);
        assert_eq!(Reader::new(&[0xff, 0xff, 0xff, 0x7f]).len(1), None);
    }
}
