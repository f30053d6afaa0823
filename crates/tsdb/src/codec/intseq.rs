//! Integer sequences: the workhorse of the chunk codec, used for decimal mantissas and for
//! slot gaps. A sequence is differenced 0, 1 or 2 times (whichever packs smallest: level
//! gauges, counters and steady ramps respectively), and the residuals are bit-packed in
//! miniblocks of 128 with a per-miniblock base and width ("frame of reference"), optionally
//! patched: the few residuals wider than the chosen width keep their high bits in an exception
//! list, so one outlier does not widen 127 neighbours. Sequences whose residuals are all equal
//! (a constant gauge, an uptime counter) take one varint in total.
//!
//! This module does not know what the integers mean; `chunk` decides that. The byte layout is
//! specified in `docs/format/tsdb-block.md` ("Integer sequence").

use super::bits::{BitReader, BitWriter};
use super::CodecError;
use crate::varint::{self, Reader};

/// Residuals per miniblock. 128 keeps exception positions at 7 bits and amortises the
/// miniblock header (a base varint and a width byte, ~3 bytes) to well under a bit per value.
const MINIBLOCK: usize = 128;

/// Flag in the head byte: every residual is equal and stored once.
const UNIFORM: u8 = 0x80;
/// Flag in a miniblock's width byte: the miniblock has an exception list.
const PATCHED: u8 = 0x80;

/// Appends the encoding of `values` (any length, including 0).
pub fn encode(values: &[i64], out: &mut Vec<u8>) {
    let mut residuals = Vec::with_capacity(values.len());
    let mut best: Option<(usize, u64)> = None;
    for order in 0..=2usize {
        if order > 0 && values.len() <= order {
            break;
        }
        residuals_of(values, order, &mut residuals);
        let cost = estimate_bits(&residuals);
        if best.is_none_or(|(_, c)| cost < c) {
            best = Some((order, cost));
        }
    }
    let order = best.map_or(0, |(o, _)| o);
    residuals_of(values, order, &mut residuals);
    let heads = order.min(values.len());
    let uniform = is_uniform(&residuals);
    out.push(order as u8 | if uniform { UNIFORM } else { 0 });
    if heads >= 1 {
        varint::put_i64(out, values[0]);
    }
    if heads >= 2 {
        varint::put_i64(out, values[1].wrapping_sub(values[0]));
    }
    if residuals.is_empty() {
        return;
    }
    if uniform {
        varint::put_i64(out, residuals[0]);
        return;
    }
    for block in residuals.chunks(MINIBLOCK) {
        encode_miniblock(block, out);
    }
}

/// Decodes `n` values (the count is stored by the caller) and appends them to `out`.
pub fn decode(r: &mut Reader<'_>, n: usize, out: &mut Vec<i64>) -> Result<(), CodecError> {
    let head = r.u8().ok_or(CodecError::Truncated)?;
    let order = usize::from(head & 0x03);
    if head & !(UNIFORM | 0x03) != 0 || order > 2 {
        return Err(CodecError::Invalid("integer sequence head byte"));
    }
    let start = out.len();
    out.reserve(n);
    let heads = order.min(n);
    let v0 = if heads >= 1 {
        r.i64().ok_or(CodecError::Truncated)?
    } else {
        0
    };
    let d1 = if heads >= 2 {
        r.i64().ok_or(CodecError::Truncated)?
    } else {
        0
    };
    if heads >= 1 {
        out.push(v0);
    }
    if heads >= 2 {
        out.push(v0.wrapping_add(d1));
    }
    let count = n - heads;
    if count == 0 {
        return Ok(());
    }
    // Residuals land in `out` first, then are integrated in place.
    let res_start = out.len();
    if head & UNIFORM != 0 {
        let r0 = r.i64().ok_or(CodecError::Truncated)?;
        out.resize(res_start + count, r0);
    } else {
        let mut scratch = [0u64; MINIBLOCK];
        let mut left = count;
        while left > 0 {
            let len = left.min(MINIBLOCK);
            decode_miniblock(r, &mut scratch[..len], out)?;
            left -= len;
        }
    }
    let vals = &mut out[start..];
    match order {
        0 => {}
        1 => {
            let mut prev = v0;
            for v in &mut vals[1..] {
                prev = prev.wrapping_add(*v);
                *v = prev;
            }
        }
        _ => {
            let (mut prev, mut delta) = (vals[1], d1);
            for v in &mut vals[2..] {
                delta = delta.wrapping_add(*v);
                prev = prev.wrapping_add(delta);
                *v = prev;
            }
        }
    }
    Ok(())
}

/// Fills `out` with the residuals of `values` differenced `order` times (dropping the first
/// `order` values, which are stored as heads).
fn residuals_of(values: &[i64], order: usize, out: &mut Vec<i64>) {
    out.clear();
    match order {
        0 => out.extend_from_slice(values),
        1 => out.extend(values.windows(2).map(|w| w[1].wrapping_sub(w[0]))),
        _ => out.extend(values.windows(3).map(|w| {
            w[2].wrapping_sub(w[1])
                .wrapping_sub(w[1].wrapping_sub(w[0]))
        })),
    }
}

/// Approximate encoded size in bits, to choose the differencing order.
fn estimate_bits(residuals: &[i64]) -> u64 {
    if is_uniform(residuals) {
        return 8 * varint_len(varint::zigzag(residuals[0]));
    }
    residuals
        .chunks(MINIBLOCK)
        .map(|b| plan_miniblock(b).bits)
        .sum()
}

fn is_uniform(residuals: &[i64]) -> bool {
    !residuals.is_empty() && residuals.iter().all(|&r| r == residuals[0])
}

fn varint_len(v: u64) -> u64 {
    u64::from((64 - v.leading_zeros()).max(1).div_ceil(7))
}

/// How one miniblock will be packed.
#[derive(Debug, Clone, Copy)]
struct Plan {
    /// Frame of reference: the minimum (offsets are `r - base`), or with `zigzag` the median
    /// (offsets are `zigzag(r - base)`, so outliers on both sides become exceptions).
    base: i64,
    zigzag: bool,
    width: u32,
    /// Exceptions (offsets wider than `width`), 0 when unpatched.
    exceptions: usize,
    high_width: u32,
    bitmap: bool,
    /// Estimated total size in bits, headers included.
    bits: u64,
}

impl Plan {
    #[inline]
    fn offset(&self, r: i64) -> u64 {
        let d = r.wrapping_sub(self.base);
        if self.zigzag {
            varint::zigzag(d)
        } else {
            d as u64
        }
    }

    #[inline]
    fn is_exception(&self, r: i64) -> bool {
        self.width < 64 && self.offset(r) >> self.width != 0
    }
}

/// The cheapest packing of a miniblock: plain frame of reference from the minimum, or a patched
/// one from the minimum or (zigzagged) from the median. The median frame is what makes
/// one-sided outliers cheap: a gauge that mostly stays put and sometimes drops, or a sawtooth
/// whose rare resets would otherwise set the minimum far below everything else.
fn plan_miniblock(block: &[i64]) -> Plan {
    let min = block.iter().copied().min().unwrap_or(0);
    let mut best = plan_from(block, min, false);
    if block.len() > 2 {
        let mut sorted = block.to_vec();
        let mid = sorted.len() / 2;
        let (_, median, _) = sorted.select_nth_unstable(mid);
        let zz = plan_from(block, *median, true);
        if zz.bits < best.bits {
            best = zz;
        }
    }
    best
}

fn plan_from(block: &[i64], base: i64, zigzag: bool) -> Plan {
    let mut plan = Plan {
        base,
        zigzag,
        width: 0,
        exceptions: 0,
        high_width: 0,
        bitmap: false,
        bits: u64::MAX,
    };
    let mut hist = [0usize; 65];
    for &r in block {
        hist[(64 - plan.offset(r).leading_zeros()) as usize] += 1;
    }
    let max_len = (0..=64).rev().find(|&l| hist[l] > 0).unwrap_or(0) as u32;
    let len = block.len() as u64;
    let header = 8 * (varint_len(varint::zigzag(base)) + 1);
    if !zigzag {
        plan.width = max_len;
        plan.bits = header + len * u64::from(max_len);
    }
    // Exceptions when packing at width w: everything longer than w.
    let mut above = 0usize;
    for w in (0..max_len).rev() {
        above += hist[w as usize + 1];
        let exc = above as u64;
        let high = u64::from(max_len - w);
        let list_bits = exc * 7;
        let pos_bits = list_bits.min(len);
        let bits = header + 16 + len * u64::from(w) + pos_bits + exc * high;
        if bits < plan.bits {
            plan.width = w;
            plan.exceptions = above;
            plan.high_width = max_len - w;
            plan.bitmap = len < list_bits;
            plan.bits = bits;
        }
    }
    if plan.bits == u64::MAX {
        // A zigzag frame that never needs exceptions is never better than the plain one.
        plan.width = max_len;
        plan.bits = u64::MAX - 1;
    }
    plan
}

fn encode_miniblock(block: &[i64], out: &mut Vec<u8>) {
    let plan = plan_miniblock(block);
    varint::put_i64(out, plan.base);
    let patched = plan.exceptions > 0;
    out.push(plan.width as u8 | if patched { PATCHED } else { 0 });
    if patched {
        let flags = u64::from(plan.bitmap) << 1 | u64::from(plan.zigzag);
        varint::put_u64(out, (plan.exceptions as u64) << 2 | flags);
        out.push(plan.high_width as u8);
    }
    let mut w = BitWriter::new(out);
    for &r in block {
        w.write(plan.offset(r), plan.width);
    }
    if patched {
        if plan.bitmap {
            for &r in block {
                w.bit(plan.is_exception(r));
            }
        } else {
            for (i, &r) in block.iter().enumerate() {
                if plan.is_exception(r) {
                    w.write(i as u64, 7);
                }
            }
        }
        for &r in block {
            if plan.is_exception(r) {
                w.write(plan.offset(r) >> plan.width, plan.high_width);
            }
        }
    }
    w.finish();
}

fn decode_miniblock(
    r: &mut Reader<'_>,
    scratch: &mut [u64],
    out: &mut Vec<i64>,
) -> Result<(), CodecError> {
    let len = scratch.len();
    let base = r.i64().ok_or(CodecError::Truncated)?;
    let wf = r.u8().ok_or(CodecError::Truncated)?;
    let width = u32::from(wf & !PATCHED);
    if width > 64 {
        return Err(CodecError::Invalid("miniblock width"));
    }
    let (exceptions, high_width, bitmap, zigzag) = if wf & PATCHED != 0 {
        let e = r.u64().ok_or(CodecError::Truncated)?;
        let hw = u32::from(r.u8().ok_or(CodecError::Truncated)?);
        let (count, bitmap, zigzag) = (e >> 2, e & 2 != 0, e & 1 != 0);
        if count == 0 || count > len as u64 || hw == 0 || width + hw > 64 {
            return Err(CodecError::Invalid("miniblock exceptions"));
        }
        (count as usize, hw, bitmap, zigzag)
    } else {
        (0, 0, false, false)
    };
    let rest = r.rest();
    let mut bits = BitReader::new(rest);
    bits.read_many(width, scratch)?;
    if exceptions > 0 {
        let mut positions = [0u8; MINIBLOCK];
        let mut found = 0usize;
        if bitmap {
            for i in 0..len {
                if bits.bit()? {
                    if found == exceptions {
                        return Err(CodecError::Invalid("exception bitmap count"));
                    }
                    positions[found] = i as u8;
                    found += 1;
                }
            }
            if found != exceptions {
                return Err(CodecError::Invalid("exception bitmap count"));
            }
        } else {
            for p in positions.iter_mut().take(exceptions) {
                let i = bits.read(7)? as usize;
                if i >= len {
                    return Err(CodecError::Invalid("exception position"));
                }
                *p = i as u8;
            }
        }
        for &p in &positions[..exceptions] {
            scratch[usize::from(p)] |= bits.read(high_width)? << width;
        }
    }
    let used = bits.bytes_used();
    r.bytes(used).ok_or(CodecError::Truncated)?;
    if zigzag {
        out.extend(
            scratch
                .iter()
                .map(|&u| base.wrapping_add(varint::unzigzag(u))),
        );
    } else {
        out.extend(scratch.iter().map(|&u| base.wrapping_add(u as i64)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(values: &[i64]) -> usize {
        let mut buf = Vec::new();
        encode(values, &mut buf);
        buf.push(0xAB); // trailing data must be left alone
        let mut r = Reader::new(&buf);
        let mut out = Vec::new();
        decode(&mut r, values.len(), &mut out).unwrap();
        assert_eq!(out, values);
        assert_eq!(r.rest(), &[0xAB]);
        buf.len() - 1
    }

    #[track_caller]
    fn check(values: &[i64], max_bytes: usize) {
        let n = round_trip(values);
        assert!(n <= max_bytes, "{n} bytes > {max_bytes} for {values:?}");
    }

    #[test]
    fn shapes_pack_as_expected() {
        check(&[], 1);
        check(&[42], 2);
        check(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 20], 10);
        check(&[5, -7], 3);
        // Constant and counter-like ramps collapse to a couple of varints.
        check(&[7; 1000], 4);
        let ramp: Vec<i64> = (0..1000).map(|i| 1_000_000 + 10 * i).collect();
        check(&ramp, 6);
        // Mostly-zero deltas with rare steps (an error counter) cost about a bit per value.
        let steps: Vec<i64> = (0..1024).map(|i| i / 37).collect();
        check(&steps, 140);
        // One huge outlier does not widen its miniblock.
        let mut spiky = vec![3i64; 256];
        spiky[100] = 1 << 40;
        check(&spiky, 30);
    }

    #[test]
    fn extremes_round_trip_with_wrapping() {
        round_trip(&[i64::MIN, i64::MAX, 0, i64::MIN, -1, i64::MAX]);
        round_trip(&[i64::MAX; 3]);
        let alternating: Vec<i64> = (0..300)
            .map(|i| if i % 2 == 0 { i64::MIN } else { i64::MAX })
            .collect();
        round_trip(&alternating);
    }

    #[test]
    fn corrupt_input_is_an_error_not_a_panic() {
        let values: Vec<i64> = (0..500).map(|i| (i * i) % 977 - 400).collect();
        let mut buf = Vec::new();
        encode(&values, &mut buf);
        for cut in 0..buf.len() {
            let mut out = Vec::new();
            let _ = decode(&mut Reader::new(&buf[..cut]), values.len(), &mut out);
        }
        for i in 0..buf.len() {
            let mut bad = buf.clone();
            bad[i] ^= 0x5a;
            let mut out = Vec::new();
            let _ = decode(&mut Reader::new(&bad), values.len(), &mut out);
        }
        let mut out = Vec::new();
        assert!(decode(&mut Reader::new(&[0x07]), 3, &mut out).is_err());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]
        #[test]
        fn any_sequence_round_trips(values in proptest::collection::vec(proptest::num::i64::ANY, 0..400)) {
            round_trip(&values);
        }

        #[test]
        fn small_walks_round_trip(steps in proptest::collection::vec(-50i64..50, 0..700), start in -1_000_000i64..1_000_000) {
            let mut v = start;
            let values: Vec<i64> = steps.iter().map(|s| { v += s; v }).collect();
            round_trip(&values);
        }
    }
}
