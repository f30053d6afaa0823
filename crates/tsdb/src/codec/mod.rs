//! The chunk codec: one series' points within one block, as (slot, value) pairs with slots
//! strictly increasing. Public so the benches and format tools can call it; the engine is
//! its only other user.
//!
//! Timestamps are slot numbers on the archive's step grid (a fetch only ever returns that grid,
//! and the last write per slot has already been chosen), so a series reported every step costs
//! zero bits of time: the header says "dense" and nothing else. Gaps are stored as an integer
//! sequence of run lengths.
//!
//! Values take one of two paths:
//! - decimal: when the values are short decimals (what `%.2f` senders and integer counters
//!   produce), one number of places `k` is chosen for the chunk, each value becomes the
//!   integer `m = v·10^k` (`decimal`), and the mantissas go through `intseq` (differencing and
//!   patched bit packing). The few values that do not map at that `k` are stored raw as
//!   exceptions, so one odd value does not cost the chunk its compression.
//! - xor: otherwise, Gorilla's XOR stream (`xor`).
//!
//! Both paths keep every `f64` bit pattern, including NaN payloads, ±inf, -0.0 and
//! subnormals. The byte layout is specified in `docs/format/tsdb-block.md` ("Chunk").
//!
//! Layout:
//! - `bits`: bit writer and reader.
//! - `intseq`: integer sequences (differencing, patched frame-of-reference miniblocks).
//! - `decimal`: exact float ↔ (mantissa, places) mapping.
//! - `xor`: Gorilla XOR stream.

mod bits;
pub(crate) mod decimal;
mod intseq;
mod xor;

use crate::varint::{self, Reader};

/// Why a chunk could not be decoded. Always corruption (or a bug): the encoder never writes
/// these. Small and allocation-free; the block reader adds the file and offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// The bytes end before the chunk does.
    #[error("chunk truncated")]
    Truncated,
    /// A field holds a value the encoder never writes.
    #[error("invalid chunk field: {0}")]
    Invalid(&'static str),
}

impl From<bits::Overrun> for CodecError {
    fn from(_: bits::Overrun) -> Self {
        CodecError::Truncated
    }
}

/// Value encodings, the byte after the slot section.
const VALUES_DECIMAL: u8 = 0;
const VALUES_XOR: u8 = 1;

/// Exceptions above this share of the chunk make the decimal path lose to XOR: each costs
/// 8 raw bytes plus its index, about what a badly compressing XOR value costs.
const MAX_EXCEPTION_SHARE: usize = 8;

/// Raw bytes per decimal exception: an index varint and the 8-byte value.
const EXCEPTION_MIN_BYTES: usize = 9;

/// Appends the encoding of one chunk. `slots` must be strictly increasing and as long as
/// `values`, and non-empty.
pub fn encode_chunk(slots: &[u32], values: &[f64], out: &mut Vec<u8>) {
    debug_assert_eq!(slots.len(), values.len());
    debug_assert!(slots.windows(2).all(|w| w[0] < w[1]));
    let n = slots.len().min(values.len());
    varint::put_u64(out, n as u64);
    if n == 0 {
        return;
    }
    let (first, last) = (slots[0], slots[n - 1]);
    varint::put_u64(out, u64::from(first));
    varint::put_u64(out, u64::from(last - first));
    if (last - first) as usize != n - 1 {
        let gaps: Vec<i64> = slots[..n]
            .windows(2)
            .map(|w| i64::from(w[1] - w[0] - 1))
            .collect();
        intseq::encode(&gaps, out);
    }
    encode_values(&values[..n], out);
}

/// Reusable buffers for [`decode_chunk_with`], so a reader decoding many chunks allocates once.
#[derive(Debug, Default)]
pub struct ChunkScratch {
    slots: Vec<u32>,
    ints: Vec<i64>,
    floats: Vec<f64>,
    exceptions: Vec<(usize, u64)>,
}

/// Decodes one chunk into `slots` and `values` (cleared first). Returns the bytes used.
/// `slot_limit` is the number of slots of the chunk's partition: slots at or past it are
/// corruption, and it bounds what a corrupt point count can make this allocate.
pub fn decode_chunk(
    buf: &[u8],
    slot_limit: u32,
    slots: &mut Vec<u32>,
    values: &mut Vec<f64>,
) -> Result<usize, CodecError> {
    slots.clear();
    values.clear();
    let mut scratch = ChunkScratch::default();
    decode_chunk_with(buf, slot_limit, &mut scratch, |s, v| {
        slots.push(s);
        values.push(v);
    })
}

/// Decodes one chunk, calling `put(slot, value)` for each point in slot order, without
/// building intermediate vectors of points (the read path writes straight into its grid).
/// Everything that can fail is checked before the first `put`, so a damaged chunk yields an
/// error and no points. Returns the bytes used.
pub fn decode_chunk_with(
    buf: &[u8],
    slot_limit: u32,
    s: &mut ChunkScratch,
    mut put: impl FnMut(u32, f64),
) -> Result<usize, CodecError> {
    let mut r = Reader::new(buf);
    let n = usize::try_from(r.u64().ok_or(CodecError::Truncated)?)
        .map_err(|_| CodecError::Invalid("point count"))?;
    if n == 0 {
        return Ok(r.pos());
    }
    let first = r.u32().ok_or(CodecError::Invalid("first slot"))?;
    let span = r.u32().ok_or(CodecError::Invalid("slot span"))?;
    // A chunk holds at most one point per slot, so n bounds the allocation by the span.
    if first
        .checked_add(span)
        .is_none_or(|last| last >= slot_limit)
    {
        return Err(CodecError::Invalid("slot past the partition"));
    }
    if span as usize + 1 < n {
        return Err(CodecError::Invalid("point count exceeds slot span"));
    }
    let dense = span as usize == n - 1;
    s.slots.clear();
    if !dense {
        s.ints.clear();
        intseq::decode(&mut r, n - 1, &mut s.ints)?;
        let last = u64::from(first) + u64::from(span);
        let mut at = u64::from(first);
        s.slots.reserve(n);
        s.slots.push(first);
        for &g in &s.ints {
            let g = u64::try_from(g).map_err(|_| CodecError::Invalid("negative gap"))?;
            at = at.saturating_add(g + 1);
            if at > last {
                return Err(CodecError::Invalid("gaps overrun the slot span"));
            }
            s.slots.push(at as u32);
        }
        if at != last {
            return Err(CodecError::Invalid("gaps do not end at the last slot"));
        }
    }
    s.floats.clear();
    match r.u8().ok_or(CodecError::Truncated)? {
        VALUES_DECIMAL => {
            let k = r.u8().ok_or(CodecError::Truncated)?;
            if k > decimal::MAX_PLACES {
                return Err(CodecError::Invalid("decimal places"));
            }
            read_exceptions(&mut r, n, &mut s.exceptions)?;
            s.ints.clear();
            intseq::decode(&mut r, n, &mut s.ints)?;
            s.floats.reserve(n);
            if k == 0 {
                s.floats.extend(s.ints.iter().map(|&m| m as f64));
            } else {
                let p = decimal::pow10(k);
                s.floats.extend(s.ints.iter().map(|&m| m as f64 / p));
            }
            for &(i, bits) in &s.exceptions {
                s.floats[i] = f64::from_bits(bits);
            }
        }
        VALUES_XOR => {
            let used = xor::decode(r.rest(), n, &mut s.floats)?;
            r.bytes(used).ok_or(CodecError::Truncated)?;
        }
        _ => return Err(CodecError::Invalid("value encoding")),
    }
    if dense {
        for (i, &v) in s.floats.iter().enumerate() {
            put(first + i as u32, v);
        }
    } else {
        for (&slot, &v) in s.slots.iter().zip(&s.floats) {
            put(slot, v);
        }
    }
    Ok(r.pos())
}

/// Reads the exception list of a decimal chunk: strictly increasing indexes below `n`.
fn read_exceptions(
    r: &mut Reader<'_>,
    n: usize,
    out: &mut Vec<(usize, u64)>,
) -> Result<(), CodecError> {
    out.clear();
    let count = r
        .len(EXCEPTION_MIN_BYTES)
        .ok_or(CodecError::Invalid("exception count"))?;
    if count > n {
        return Err(CodecError::Invalid("exception count"));
    }
    let mut at = 0usize;
    for j in 0..count {
        let d = usize::try_from(r.u64().ok_or(CodecError::Truncated)?)
            .map_err(|_| CodecError::Invalid("exception index"))?;
        if j > 0 && d == 0 {
            return Err(CodecError::Invalid("exception index"));
        }
        at = at
            .checked_add(d)
            .filter(|&i| i < n)
            .ok_or(CodecError::Invalid("exception index"))?;
        out.push((at, r.u64_le().ok_or(CodecError::Truncated)?));
    }
    Ok(())
}

fn encode_values(values: &[f64], out: &mut Vec<u8>) {
    match choose_places(values) {
        Some(k) => encode_decimal(values, k, out),
        None => {
            out.push(VALUES_XOR);
            xor::encode(values, out);
        }
    }
}

/// Picks the number of decimal places for the chunk, or `None` for the XOR path. More places
/// cost about 3.3 bits per value each; a value needing more places than chosen becomes an
/// exception (~80 bits). The cheapest `k` by that estimate wins.
fn choose_places(values: &[f64]) -> Option<u8> {
    let mut hist = [0usize; decimal::MAX_PLACES as usize + 1];
    let mut unmapped = 0usize;
    for &v in values {
        match decimal::min_places(v) {
            Some(k) => hist[usize::from(k)] += 1,
            None => unmapped += 1,
        }
    }
    let n = values.len();
    let mut best: Option<(u8, usize)> = None;
    let mut covered = 0usize;
    for k in 0..=decimal::MAX_PLACES {
        covered += hist[usize::from(k)];
        if covered == 0 {
            continue;
        }
        let exceptions = n - covered;
        // Cost in tenths of bits, to keep the 3.3 factor integral.
        let cost = n * 33 * usize::from(k) + exceptions * 800;
        if best.is_none_or(|(_, c)| cost < c) {
            best = Some((k, cost));
        }
        if covered == n - unmapped {
            break;
        }
    }
    let (k, _) = best?;
    let exceptions = values
        .iter()
        .filter(|v| decimal::to_mantissa(**v, k).is_none())
        .count();
    (exceptions * MAX_EXCEPTION_SHARE <= n).then_some(k)
}

fn encode_decimal(values: &[f64], k: u8, out: &mut Vec<u8>) {
    out.push(VALUES_DECIMAL);
    out.push(k);
    let mut mantissas = Vec::with_capacity(values.len());
    let mut exceptions = Vec::new();
    let mut prev = 0i64;
    for (i, &v) in values.iter().enumerate() {
        match decimal::to_mantissa(v, k) {
            Some(m) => {
                mantissas.push(m);
                prev = m;
            }
            None => {
                // Repeat the neighbour so the exception does not disturb the deltas.
                mantissas.push(prev);
                exceptions.push((i, v.to_bits()));
            }
        }
    }
    varint::put_u64(out, exceptions.len() as u64);
    let mut last = 0usize;
    for (i, bits) in exceptions {
        varint::put_u64(out, (i - last) as u64);
        out.extend_from_slice(&bits.to_le_bytes());
        last = i;
    }
    intseq::encode(&mantissas, out);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn round_trip(slots: &[u32], values: &[f64]) -> usize {
        let mut buf = Vec::new();
        encode_chunk(slots, values, &mut buf);
        let (mut s, mut v) = (Vec::new(), Vec::new());
        let used = decode_chunk(&buf, u32::MAX, &mut s, &mut v).unwrap();
        assert_eq!(used, buf.len());
        assert_eq!(s, slots);
        let a: Vec<u64> = values.iter().map(|x| x.to_bits()).collect();
        let b: Vec<u64> = v.iter().map(|x| x.to_bits()).collect();
        assert_eq!(a, b);
        buf.len()
    }

    #[track_caller]
    fn check(slots: &[u32], values: &[f64], max_bytes: usize) {
        let n = round_trip(slots, values);
        assert!(n <= max_bytes, "{n} bytes > {max_bytes}");
    }

    fn dense(n: u32) -> Vec<u32> {
        (0..n).collect()
    }

    #[test]
    fn chunk_shapes_cost_what_they_should() {
        check(&[], &[], 1);
        check(&[5], &[1.5], 8);
        // A constant gauge over a day of 10 s slots: a few bytes in all.
        check(&dense(8640), &vec![64.0; 8640], 12);
        // An uptime counter (+10 per step) likewise.
        let up: Vec<f64> = (0..8640).map(|i| 1e6 + 10.0 * f64::from(i)).collect();
        check(&dense(8640), &up, 16);
        // Two-decimal random walk: ~10 bits per point, far below XOR's ~50.
        let mut x = 100.0f64;
        let walk: Vec<f64> = (0..8640u32)
            .map(|i| {
                x += f64::from((i.wrapping_mul(2_654_435_761) >> 7) % 801) - 400.0;
                (x).round() / 100.0
            })
            .collect();
        check(&dense(8640), &walk, 8640 * 12 / 8);
        // Sparse slots with irregular gaps.
        check(
            &[3, 9, 10, 200, 201, 202, 5000],
            &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0],
            24,
        );
    }

    #[test]
    fn spec_test_vectors() {
        // docs/format/tsdb-block.md, "Test vectors".
        let hex = |s: &str| -> Vec<u8> {
            s.split(' ')
                .map(|b| u8::from_str_radix(b, 16).unwrap())
                .collect()
        };
        let cases: [(&[u32], &[f64], &str); 4] = [
            (
                &[0, 1, 2, 3],
                &[1.5, 2.5, 3.5, 4.5],
                "04 00 03 00 01 00 81 1e 14",
            ),
            (
                &[5, 7],
                &[12.0, 12.25],
                "02 05 02 80 02 00 02 00 81 e0 12 32",
            ),
            (
                &[0, 1],
                &[f64::INFINITY, f64::INFINITY],
                "02 00 01 01 00 00 00 00 00 00 f0 7f 00",
            ),
            (
                &[0, 1, 2, 3, 4],
                &[10.0, 12.0, 11.0, 15.0, 14.0],
                "05 00 04 00 00 00 01 14 01 03 43 01",
            ),
        ];
        for (slots, values, bytes) in cases {
            let mut out = Vec::new();
            encode_chunk(slots, values, &mut out);
            assert_eq!(out, hex(bytes), "{values:?}");
            round_trip(slots, values);
        }
    }

    #[test]
    fn odd_values_become_exceptions_without_losing_compression() {
        let mut vals: Vec<f64> = (0..1000).map(|i| f64::from(i % 7) + 0.25).collect();
        vals[17] = f64::NAN;
        vals[500] = -0.0;
        vals[999] = f64::INFINITY;
        let n = round_trip(&dense(1000), &vals);
        assert!(n < 600, "{n}");
    }

    #[test]
    fn non_decimal_values_take_the_xor_path() {
        let vals: Vec<f64> = (1..500).map(|i| 1.0 / f64::from(i)).collect();
        let slots = dense(499);
        let mut buf = Vec::new();
        encode_chunk(&slots, &vals, &mut buf);
        round_trip(&slots, &vals);
        assert!(buf.contains(&VALUES_XOR));
    }

    #[test]
    fn corrupt_chunks_error_instead_of_panicking() {
        let vals: Vec<f64> = (0..300).map(|i| f64::from(i * i % 101) / 4.0).collect();
        let slots: Vec<u32> = (0..300).map(|i| i * 6 + (i % 5)).collect();
        let mut buf = Vec::new();
        encode_chunk(&slots, &vals, &mut buf);
        let (mut s, mut v) = (Vec::new(), Vec::new());
        for cut in 0..buf.len() {
            assert!(
                decode_chunk(&buf[..cut], 1000, &mut s, &mut v).is_err(),
                "cut {cut}"
            );
        }
        for i in 0..buf.len() {
            for flip in [0x01u8, 0x80, 0xff] {
                let mut bad = buf.clone();
                bad[i] ^= flip;
                let _ = decode_chunk(&bad, 1000, &mut s, &mut v);
            }
        }
        // A huge count with no data behind it is refused before allocating.
        let mut huge = Vec::new();
        varint::put_u64(&mut huge, u64::MAX >> 1);
        assert!(decode_chunk(&huge, 1000, &mut s, &mut v).is_err());
    }

    fn any_f64() -> impl Strategy<Value = f64> {
        prop_oneof![
            any::<u64>().prop_map(f64::from_bits),
            (-100_000i64..100_000, 0u8..5).prop_map(|(m, k)| decimal::from_mantissa(m, k)),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            Just(-0.0),
            Just(f64::NAN),
            (0u64..1 << 52).prop_map(f64::from_bits),
        ]
    }

    fn slots_strategy() -> impl Strategy<Value = Vec<u32>> {
        proptest::collection::btree_set(0u32..20_000, 1..300).prop_map(|s| s.into_iter().collect())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        #[test]
        fn every_bit_pattern_round_trips(
            (slots, values) in slots_strategy().prop_flat_map(|s| {
                let n = s.len();
                (Just(s), proptest::collection::vec(any_f64(), n))
            })
        ) {
            round_trip(&slots, &values);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let (mut s, mut v) = (Vec::new(), Vec::new());
            let _ = decode_chunk(&bytes, 100_000, &mut s, &mut v);
        }
    }
}
