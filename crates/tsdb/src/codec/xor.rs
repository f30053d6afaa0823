//! The fallback value encoding for chunks whose values are not short decimals (rollup
//! averages, NaN payloads, ±inf, -0.0, arbitrary floats): Gorilla's XOR scheme (anchors.md §9).
//! Each value is XORed with the previous one; an identical value costs one bit, and otherwise
//! the meaningful bits are written inside the previous leading/trailing-zero window when they
//! fit, or with a fresh 5-bit leading count and 6-bit length. Bit patterns are preserved
//! exactly, NaN payloads included. The decimal path (`decimal`, `intseq`) is preferred by
//! `chunk` whenever it applies.

use super::bits::{BitReader, BitWriter};
use super::CodecError;

/// Writes `values` as one XOR bit stream (byte-padded at the end).
pub fn encode(values: &[f64], out: &mut Vec<u8>) {
    let mut w = BitWriter::new(out);
    let Some(first) = values.first() else {
        w.finish();
        return;
    };
    let mut prev = first.to_bits();
    w.write(prev, 64);
    // Window of the last explicitly written block: leading zeros and meaningful length.
    let (mut lead, mut len) = (u32::MAX, 0u32);
    for v in &values[1..] {
        let bits = v.to_bits();
        let x = bits ^ prev;
        prev = bits;
        if x == 0 {
            w.bit(false);
            continue;
        }
        w.bit(true);
        let l = x.leading_zeros().min(31);
        let t = x.trailing_zeros();
        if lead != u32::MAX && l >= lead && t >= 64 - lead - len {
            w.bit(false);
            w.write(x >> (64 - lead - len), len);
        } else {
            let n = 64 - l - t;
            w.bit(true);
            w.write(u64::from(l), 5);
            // A length of 64 does not fit in 6 bits; 0 stands for it (0 never occurs).
            w.write(u64::from(n & 63), 6);
            w.write(x >> t, n);
            lead = l;
            len = n;
        }
    }
    w.finish();
}

/// Decodes `n` values from the start of `buf`; returns the number of bytes used.
pub fn decode(buf: &[u8], n: usize, out: &mut Vec<f64>) -> Result<usize, CodecError> {
    let mut r = BitReader::new(buf);
    if n == 0 {
        return Ok(0);
    }
    out.reserve(n);
    let mut prev = r.read(64)?;
    out.push(f64::from_bits(prev));
    let (mut lead, mut len) = (u32::MAX, 0u32);
    for _ in 1..n {
        if r.bit()? {
            if r.bit()? {
                lead = r.read(5)? as u32;
                len = r.read(6)? as u32;
                if len == 0 {
                    len = 64;
                }
                if lead + len > 64 {
                    return Err(CodecError::Invalid("xor window"));
                }
            } else if lead == u32::MAX {
                return Err(CodecError::Invalid("xor window reused before set"));
            }
            let x = r.read(len)? << (64 - lead - len);
            prev ^= x;
        }
        out.push(f64::from_bits(prev));
    }
    Ok(r.bytes_used())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(values: &[f64]) -> usize {
        let mut buf = Vec::new();
        encode(values, &mut buf);
        let mut out = Vec::new();
        let used = decode(&buf, values.len(), &mut out).unwrap();
        assert_eq!(used, buf.len());
        let a: Vec<u64> = values.iter().map(|v| v.to_bits()).collect();
        let b: Vec<u64> = out.iter().map(|v| v.to_bits()).collect();
        assert_eq!(a, b);
        buf.len()
    }

    #[test]
    fn paper_vectors_cost_what_gorilla_says() {
        // 12 → 12 is one bit; 12 → 24 is '11' + 5 + 6 + 1 meaningful bit = 13 bits.
        let mut buf = Vec::new();
        encode(&[12.0, 12.0, 24.0], &mut buf);
        assert_eq!(buf.len(), (64 + 1 + 13usize).div_ceil(8));
        round_trip(&[24.0, 15.5, 0.1, 0.2, 0.3]);
    }

    #[test]
    fn special_values_keep_their_bits() {
        round_trip(&[
            f64::NAN,
            -0.0,
            0.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::from_bits(0x7ff8_dead_beef_0001),
            f64::from_bits(1),
            f64::MAX,
            f64::MIN_POSITIVE,
        ]);
        // A full 64-bit XOR (sign flip of a value with low bit set) uses the length-64 escape.
        round_trip(&[f64::from_bits(1), f64::from_bits(0x8000_0000_0000_0000)]);
        round_trip(&[f64::from_bits(0x8000_0000_0000_0001), f64::from_bits(0)]);
    }

    #[test]
    fn truncated_stream_is_an_error() {
        let mut buf = Vec::new();
        encode(&[1.5, 2.25, 3.125, 1e9], &mut buf);
        for cut in 0..buf.len() - 1 {
            let mut out = Vec::new();
            assert!(decode(&buf[..cut], 4, &mut out).is_err(), "cut {cut}");
        }
    }
}
