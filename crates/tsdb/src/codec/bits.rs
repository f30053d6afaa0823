//! Bit-level packing for the chunk codec: a writer that appends fields of 0–64 bits and a
//! bounds-checked reader. Bits are packed least-significant first into little-endian bytes, so
//! the reader can load eight bytes at once and shift. Varints and byte-aligned fields are not
//! here (see `varint`); what the fields mean is decided by `intseq`, `xor` and `chunk`.

/// Appends bit fields to a byte vector.
pub struct BitWriter<'a> {
    out: &'a mut Vec<u8>,
    /// Bits not yet flushed to `out`, lowest first.
    acc: u64,
    /// How many low bits of `acc` are in use (0..64).
    used: u32,
}

impl<'a> BitWriter<'a> {
    /// A writer appending to `out` from its current end.
    pub fn new(out: &'a mut Vec<u8>) -> BitWriter<'a> {
        BitWriter {
            out,
            acc: 0,
            used: 0,
        }
    }

    /// Appends the low `width` bits of `value` (`width` 0..=64; higher bits are ignored).
    #[inline]
    pub fn write(&mut self, value: u64, width: u32) {
        if width == 0 {
            return;
        }
        let v = if width >= 64 {
            value
        } else {
            value & ((1u64 << width) - 1)
        };
        self.acc |= v << self.used;
        let total = self.used + width;
        if total >= 64 {
            self.out.extend_from_slice(&self.acc.to_le_bytes());
            // Bits of `v` that did not fit; none when `used` was 0 (the shift would be 64).
            self.acc = if self.used == 0 {
                0
            } else {
                v >> (64 - self.used)
            };
            self.used = total - 64;
        } else {
            self.used = total;
        }
    }

    /// Appends one bit.
    #[inline]
    pub fn bit(&mut self, b: bool) {
        self.write(u64::from(b), 1);
    }

    /// Flushes the pending bits, padding the last byte with zeros.
    pub fn finish(self) {
        let bytes = self.used.div_ceil(8) as usize;
        self.out.extend_from_slice(&self.acc.to_le_bytes()[..bytes]);
    }
}

/// Why a bit read failed: the data ends before the field. Always means corruption, since the
/// writer sized everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overrun;

/// Reads bit fields written by [`BitWriter`].
#[derive(Debug, Clone)]
pub struct BitReader<'a> {
    buf: &'a [u8],
    /// Position in bits from the start of `buf`.
    pos: usize,
}

impl<'a> BitReader<'a> {
    /// A reader at the first bit of `buf`.
    pub fn new(buf: &'a [u8]) -> BitReader<'a> {
        BitReader { buf, pos: 0 }
    }

    /// Bytes touched so far (a partly read byte counts), i.e. where byte-aligned data after
    /// this bit field starts.
    pub fn bytes_used(&self) -> usize {
        self.pos.div_ceil(8)
    }

    /// Loads 8 bytes starting at byte `i`, zero-padded past the end.
    #[inline]
    fn load(&self, i: usize) -> u64 {
        if let Some(b) = self.buf.get(i..i + 8) {
            let mut a = [0u8; 8];
            a.copy_from_slice(b);
            u64::from_le_bytes(a)
        } else {
            let mut a = [0u8; 8];
            let tail = self.buf.get(i..).unwrap_or(&[]);
            a[..tail.len()].copy_from_slice(tail);
            u64::from_le_bytes(a)
        }
    }

    /// Reads a field of `width` bits (0..=64).
    #[inline]
    pub fn read(&mut self, width: u32) -> Result<u64, Overrun> {
        if width == 0 {
            return Ok(0);
        }
        if width > 56 {
            let lo = self.read(32)?;
            let hi = self.read(width - 32)?;
            return Ok(lo | (hi << 32));
        }
        let end = self.pos + width as usize;
        if end > self.buf.len() * 8 {
            return Err(Overrun);
        }
        let word = self.load(self.pos / 8) >> (self.pos % 8);
        self.pos = end;
        Ok(word & ((1u64 << width) - 1))
    }

    /// Reads one bit.
    #[inline]
    pub fn bit(&mut self) -> Result<bool, Overrun> {
        Ok(self.read(1)? == 1)
    }

    /// Reads `out.len()` fields of `width` bits each (`width` <= 56 takes the fast path).
    pub fn read_many(&mut self, width: u32, out: &mut [u64]) -> Result<(), Overrun> {
        if width == 0 {
            out.fill(0);
            return Ok(());
        }
        let end = self.pos + width as usize * out.len();
        if end > self.buf.len() * 8 {
            return Err(Overrun);
        }
        if width > 56 {
            for v in out.iter_mut() {
                *v = self.read(width)?;
            }
            return Ok(());
        }
        let mask = (1u64 << width) - 1;
        let mut pos = self.pos;
        for v in out.iter_mut() {
            *v = (self.load(pos / 8) >> (pos % 8)) & mask;
            pos += width as usize;
        }
        self.pos = pos;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip_at_every_width_and_offset() {
        let mut out = Vec::new();
        let mut w = BitWriter::new(&mut out);
        let mut expect = Vec::new();
        for width in 0..=64u32 {
            for k in 0..3u64 {
                let v = 0x9E37_79B9_7F4A_7C15u64.rotate_left(width + k as u32) ^ k;
                w.write(v, width);
                let masked = if width == 64 {
                    v
                } else {
                    v & ((1u64 << width) - 1)
                };
                expect.push((width, masked));
            }
        }
        w.finish();
        let mut r = BitReader::new(&out);
        for (width, v) in expect {
            assert_eq!(r.read(width), Ok(v), "width {width}");
        }
        assert_eq!(r.bytes_used(), out.len());
    }

    #[test]
    fn read_many_matches_single_reads() {
        let mut out = Vec::new();
        let mut w = BitWriter::new(&mut out);
        w.write(1, 3);
        for i in 0..100u64 {
            w.write(i * 7919, 17);
        }
        w.finish();
        let mut r = BitReader::new(&out);
        r.read(3).unwrap();
        let mut vals = vec![0u64; 100];
        r.read_many(17, &mut vals).unwrap();
        for (i, v) in vals.iter().enumerate() {
            assert_eq!(*v, (i as u64 * 7919) & ((1 << 17) - 1));
        }
    }

    #[test]
    fn reading_past_the_end_is_an_overrun_not_a_panic() {
        let buf = [0xffu8; 3];
        let mut r = BitReader::new(&buf);
        assert_eq!(r.read(20), Ok((1 << 20) - 1));
        assert_eq!(r.read(5), Err(Overrun));
        let mut many = [0u64; 4];
        assert_eq!(BitReader::new(&buf).read_many(7, &mut many), Err(Overrun));
        assert_eq!(BitReader::new(&[]).read(64), Err(Overrun));
    }
}
