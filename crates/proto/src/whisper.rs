//! Whisper files (Graphite's `.wsp`), decoded from their bytes for `lookout import whisper`:
//! the header (aggregation method, xFilesFactor, archives) and each archive's valid points.
//!
//! Layout (big-endian, `whisper.py`): a 16-byte header `aggregationType u32, maxRetention u32,
//! xFilesFactor f32, archiveCount u32`, then `archiveCount` 12-byte archive infos
//! `offset u32, secondsPerPoint u32, points u32`, then each archive's `points` slots of 12 bytes
//! `timestamp u32, value f64`. A slot holds the point whose timestamp maps to it
//! (`(ts - base) / step mod points`, `base` being slot 0's timestamp); slots not rewritten since
//! the archive wrapped keep a stale older point, which whisper's `fetch` ignores because its
//! timestamp is not the one expected in the window. Here the window is the archive's full
//! length ending at its newest point, so a slot is valid only if its timestamp is the one that
//! slot stands for within that window.
//!
//! Pure: the caller reads the file (a whisper file is at most a few MB) and decides what to do
//! with the points; nothing here knows about `now`, storage or retention rules. A truncated or
//! garbage file is an [`Error::Whisper`], never a panic. `encode` writes the same layout, for
//! tests.

use crate::error::{Error, Result};

/// Size of the fixed part of the header.
const METADATA_SIZE: usize = 16;
/// Size of one archive info.
const ARCHIVE_INFO_SIZE: usize = 12;
/// Size of one point slot (`!Ld`).
const POINT_SIZE: usize = 12;

/// Why a whisper file cannot be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WhisperErrorKind {
    /// The file ends before the header, an archive info or an archive's slots.
    #[error("file is truncated")]
    Truncated,
    /// The header announces no archive.
    #[error("no archive")]
    NoArchives,
    /// The aggregation type is not one of whisper's codes 1–8.
    #[error("unknown aggregation type {0}")]
    UnknownAggregation(u32),
    /// The xFilesFactor is not within 0..=1 (whisper refuses such headers too).
    #[error("xFilesFactor is not within 0..=1")]
    BadXFilesFactor,
    /// An archive has zero seconds per point or zero points.
    #[error("archive {0} has a zero step or no points")]
    EmptyArchive(u32),
}

/// Whisper's aggregation methods, by their codes (`aggregationTypeToMethod`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhisperAggregation {
    /// 1: mean of the known values.
    Average,
    /// 2: sum.
    Sum,
    /// 3: newest value.
    Last,
    /// 4: largest value.
    Max,
    /// 5: smallest value.
    Min,
    /// 6: sum divided by the number of finer slots, unknown ones counting as zero.
    AvgZero,
    /// 7: value with the largest magnitude.
    AbsMax,
    /// 8: value with the smallest magnitude.
    AbsMin,
}

impl WhisperAggregation {
    /// The method of a whisper code.
    pub fn from_code(code: u32) -> Option<WhisperAggregation> {
        use WhisperAggregation::*;
        Some(match code {
            1 => Average,
            2 => Sum,
            3 => Last,
            4 => Max,
            5 => Min,
            6 => AvgZero,
            7 => AbsMax,
            8 => AbsMin,
            _ => return None,
        })
    }

    /// The method's whisper code.
    pub fn code(self) -> u32 {
        use WhisperAggregation::*;
        match self {
            Average => 1,
            Sum => 2,
            Last => 3,
            Max => 4,
            Min => 5,
            AvgZero => 6,
            AbsMax => 7,
            AbsMin => 8,
        }
    }

    /// whisper's name of the method (`avg_zero`, `absmax`, …).
    pub fn as_str(self) -> &'static str {
        use WhisperAggregation::*;
        match self {
            Average => "average",
            Sum => "sum",
            Last => "last",
            Max => "max",
            Min => "min",
            AvgZero => "avg_zero",
            AbsMax => "absmax",
            AbsMin => "absmin",
        }
    }
}

/// One archive of a whisper file and its valid points.
#[derive(Debug, Clone, PartialEq)]
pub struct WhisperArchive {
    /// Seconds per point.
    pub step: u32,
    /// Number of slots.
    pub slots: u32,
    /// The valid points, oldest first: `(timestamp, value)`, NaN dropped.
    pub points: Vec<(i64, f64)>,
}

impl WhisperArchive {
    /// Seconds of history the archive holds (`secondsPerPoint * points`).
    pub fn retention(&self) -> i64 {
        i64::from(self.step) * i64::from(self.slots)
    }
}

/// A decoded whisper file.
#[derive(Debug, Clone, PartialEq)]
pub struct WhisperFile {
    /// How finer points were rolled up into coarser archives.
    pub aggregation: WhisperAggregation,
    /// Fraction of known finer points a coarser point needed.
    pub x_files_factor: f32,
    /// The archives in file order (whisper writes them finest first).
    pub archives: Vec<WhisperArchive>,
}

/// Decodes a whole whisper file. Every archive must lie inside `bytes`; slots whose timestamp
/// is not the one expected in the archive's window (stale after a wrap, never written, or
/// garbage) and NaN values are dropped.
pub fn parse(bytes: &[u8]) -> Result<WhisperFile> {
    let err = |offset: usize, kind| Error::Whisper {
        offset: offset as u64,
        kind,
    };
    let meta = bytes
        .get(..METADATA_SIZE)
        .ok_or(err(bytes.len(), WhisperErrorKind::Truncated))?;
    let code = be_u32(meta, 0);
    let aggregation = WhisperAggregation::from_code(code)
        .ok_or(err(0, WhisperErrorKind::UnknownAggregation(code)))?;
    let x_files_factor = f32::from_bits(be_u32(meta, 8));
    if !(0.0..=1.0).contains(&x_files_factor) {
        return Err(err(8, WhisperErrorKind::BadXFilesFactor));
    }
    let count = be_u32(meta, 12);
    if count == 0 {
        return Err(err(12, WhisperErrorKind::NoArchives));
    }
    // Bounded by the file length before anything is allocated: a garbage count of 4 billion
    // fails here instead of reserving memory for it.
    let infos_end = (count as usize)
        .checked_mul(ARCHIVE_INFO_SIZE)
        .and_then(|n| n.checked_add(METADATA_SIZE))
        .filter(|&end| end <= bytes.len())
        .ok_or(err(bytes.len(), WhisperErrorKind::Truncated))?;
    let mut archives = Vec::with_capacity(count as usize);
    for (i, info) in bytes[METADATA_SIZE..infos_end]
        .chunks_exact(ARCHIVE_INFO_SIZE)
        .enumerate()
    {
        let at = METADATA_SIZE + i * ARCHIVE_INFO_SIZE;
        let (offset, step, slots) = (be_u32(info, 0), be_u32(info, 4), be_u32(info, 8));
        if step == 0 || slots == 0 {
            return Err(err(at, WhisperErrorKind::EmptyArchive(i as u32)));
        }
        let start = offset as usize;
        let data = (slots as usize)
            .checked_mul(POINT_SIZE)
            .and_then(|n| n.checked_add(start))
            .and_then(|end| bytes.get(start..end))
            .ok_or(err(at, WhisperErrorKind::Truncated))?;
        archives.push(WhisperArchive {
            step,
            slots,
            points: valid_points(data, step, slots),
        });
    }
    Ok(WhisperFile {
        aggregation,
        x_files_factor,
        archives,
    })
}

/// The valid points of one archive's slots (`data` is exactly `slots * 12` bytes), oldest first.
fn valid_points(data: &[u8], step: u32, slots: u32) -> Vec<(i64, f64)> {
    let (step, n) = (i64::from(step), i64::from(slots));
    let slot_ts = |k: usize| i64::from(be_u32(data, k * POINT_SIZE));
    let base = slot_ts(0);
    if base == 0 {
        // whisper's own test for an archive never written (`baseInterval == 0`).
        return Vec::new();
    }
    // A slot is consistent if its timestamp is on the archive's grid and maps to that slot.
    let consistent = |k: usize, ts: i64| {
        ts != 0
            && (ts - base).rem_euclid(step) == 0
            && ((ts - base) / step).rem_euclid(n) == k as i64
    };
    let newest = (0..slots as usize)
        .map(|k| (k, slot_ts(k)))
        .filter(|&(k, ts)| consistent(k, ts))
        .map(|(_, ts)| ts)
        .max()
        .unwrap_or(base);
    let oldest = newest - (n - 1) * step;
    let mut out: Vec<(i64, f64)> = (0..slots as usize)
        .filter_map(|k| {
            let ts = slot_ts(k);
            let value = f64::from_bits(be_u64(data, k * POINT_SIZE + 4));
            (ts >= oldest && consistent(k, ts) && !value.is_nan()).then_some((ts, value))
        })
        .collect();
    out.sort_by_key(|p| p.0);
    out
}

/// Writes a whisper file holding `file`'s archives and points, laid out as `whisper.create`
/// and `update` would (slot 0 anchored at each archive's oldest point). Points must be on
/// their archive's grid; points that do not fit in a `u32` timestamp are skipped.
pub fn encode(file: &WhisperFile) -> Vec<u8> {
    let header_len = METADATA_SIZE + ARCHIVE_INFO_SIZE * file.archives.len();
    let max_retention = file
        .archives
        .iter()
        .map(WhisperArchive::retention)
        .max()
        .unwrap_or(0);
    let mut out = Vec::with_capacity(
        header_len
            + file
                .archives
                .iter()
                .map(|a| a.slots as usize * POINT_SIZE)
                .sum::<usize>(),
    );
    out.extend_from_slice(&file.aggregation.code().to_be_bytes());
    out.extend_from_slice(&(max_retention.clamp(0, i64::from(u32::MAX)) as u32).to_be_bytes());
    out.extend_from_slice(&file.x_files_factor.to_bits().to_be_bytes());
    out.extend_from_slice(&(file.archives.len() as u32).to_be_bytes());
    let mut offset = header_len;
    for a in &file.archives {
        out.extend_from_slice(&(offset as u32).to_be_bytes());
        out.extend_from_slice(&a.step.to_be_bytes());
        out.extend_from_slice(&a.slots.to_be_bytes());
        offset += a.slots as usize * POINT_SIZE;
    }
    for a in &file.archives {
        let start = out.len();
        out.resize(start + a.slots as usize * POINT_SIZE, 0);
        let Some(base) = a.points.first().map(|p| p.0) else {
            continue;
        };
        let (step, n) = (i64::from(a.step.max(1)), i64::from(a.slots));
        for &(ts, value) in &a.points {
            let Ok(ts32) = u32::try_from(ts) else {
                continue;
            };
            let k = ((ts - base).div_euclid(step)).rem_euclid(n) as usize;
            let at = start + k * POINT_SIZE;
            out[at..at + 4].copy_from_slice(&ts32.to_be_bytes());
            out[at + 4..at + 12].copy_from_slice(&value.to_bits().to_be_bytes());
        }
    }
    out
}

/// Reads a big-endian u32 at `at`; callers have checked that `b` holds it.
fn be_u32(b: &[u8], at: usize) -> u32 {
    let mut buf = [0u8; 4];
    if let Some(s) = b.get(at..at + 4) {
        buf.copy_from_slice(s);
    }
    u32::from_be_bytes(buf)
}

/// Reads a big-endian u64 at `at`; callers have checked that `b` holds it.
fn be_u64(b: &[u8], at: usize) -> u64 {
    let mut buf = [0u8; 8];
    if let Some(s) = b.get(at..at + 8) {
        buf.copy_from_slice(s);
    }
    u64::from_be_bytes(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn archive(step: u32, slots: u32, points: &[(i64, f64)]) -> WhisperArchive {
        WhisperArchive {
            step,
            slots,
            points: points.to_vec(),
        }
    }

    fn file(aggregation: WhisperAggregation, archives: Vec<WhisperArchive>) -> WhisperFile {
        WhisperFile {
            aggregation,
            x_files_factor: 0.5,
            archives,
        }
    }

    /// Sets slot `k` of archive `a` in an encoded file to `(ts, value)`.
    fn poke(bytes: &mut [u8], a: usize, k: usize, ts: u32, value: f64) {
        let info = METADATA_SIZE + a * ARCHIVE_INFO_SIZE;
        let at = be_u32(bytes, info) as usize + k * POINT_SIZE;
        bytes[at..at + 4].copy_from_slice(&ts.to_be_bytes());
        bytes[at + 4..at + 12].copy_from_slice(&value.to_bits().to_be_bytes());
    }

    #[track_caller]
    fn check(bytes: &[u8], expected: std::result::Result<WhisperFile, WhisperErrorKind>) {
        match (parse(bytes), expected) {
            (Ok(got), Ok(want)) => assert_eq!(got, want),
            (Err(Error::Whisper { kind, .. }), Err(want)) => assert_eq!(kind, want),
            (got, want) => panic!("got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn files_decode_with_their_valid_points() {
        use WhisperAggregation::*;
        // Two archives, points in both, round-tripped.
        let f = file(
            Sum,
            vec![
                archive(60, 5, &[(600, 1.0), (660, 2.5), (780, -3.0)]),
                archive(300, 4, &[(300, 10.0), (600, 6.5)]),
            ],
        );
        check(&encode(&f), Ok(f.clone()));
        // An empty archive has no points.
        let empty = file(Max, vec![archive(10, 3, &[])]);
        check(&encode(&empty), Ok(empty.clone()));

        // Wrap-around: 4 slots at 10 s, written 100..=150. Slots 0 and 1 were overwritten by
        // 140 and 150; the rest still hold 120 and 130. Everything older is gone.
        let mut bytes = encode(&file(Last, vec![archive(10, 4, &[])]));
        for (k, ts) in [(0, 140u32), (1, 150), (2, 120), (3, 130)] {
            poke(&mut bytes, 0, k, ts, f64::from(ts));
        }
        let want = file(
            Last,
            vec![archive(
                10,
                4,
                &[(120, 120.0), (130, 130.0), (140, 140.0), (150, 150.0)],
            )],
        );
        check(&bytes, Ok(want));

        // A stale slot: slot 2 was last written one lap earlier (80 instead of 120); whisper's
        // fetch would not return it, and neither do we.
        poke(&mut bytes, 0, 2, 80, 80.0);
        let want = file(
            Last,
            vec![archive(10, 4, &[(130, 130.0), (140, 140.0), (150, 150.0)])],
        );
        check(&bytes, Ok(want.clone()));
        // Garbage in a slot (off the grid, or not mapping to that slot) is ignored too.
        poke(&mut bytes, 0, 2, 125, 1.0);
        check(&bytes, Ok(want.clone()));
        poke(&mut bytes, 0, 2, 130, 1.0);
        check(&bytes, Ok(want.clone()));
        // NaN values are dropped, as carbon never stores them.
        poke(&mut bytes, 0, 3, 130, f64::NAN);
        let want = file(Last, vec![archive(10, 4, &[(140, 140.0), (150, 150.0)])]);
        check(&bytes, Ok(want));

        // xFilesFactor and every aggregation code survive.
        for code in 1..=8 {
            let agg = WhisperAggregation::from_code(code).unwrap();
            assert_eq!(agg.code(), code);
            let mut f = file(agg, vec![archive(1, 1, &[(7, 7.0)])]);
            f.x_files_factor = 0.25;
            check(&encode(&f), Ok(f.clone()));
        }
    }

    #[test]
    fn damaged_headers_are_clean_errors() {
        use WhisperErrorKind::*;
        let good = encode(&file(
            WhisperAggregation::Average,
            vec![archive(60, 10, &[(60, 1.0)]), archive(600, 10, &[])],
        ));
        check(&[], Err(Truncated));
        check(&good[..15], Err(Truncated));
        check(&good[..16 + 12], Err(Truncated));
        check(&good[..good.len() - 1], Err(Truncated));
        let with = |at: usize, v: u32| {
            let mut b = good.clone();
            b[at..at + 4].copy_from_slice(&v.to_be_bytes());
            b
        };
        check(&with(0, 0), Err(UnknownAggregation(0)));
        check(&with(0, 9), Err(UnknownAggregation(9)));
        check(&with(8, 1.5f32.to_bits()), Err(BadXFilesFactor));
        check(&with(8, f32::NAN.to_bits()), Err(BadXFilesFactor));
        check(&with(12, 0), Err(NoArchives));
        check(&with(12, u32::MAX), Err(Truncated));
        check(&with(16, u32::MAX), Err(Truncated));
        check(&with(20, 0), Err(EmptyArchive(0)));
        check(&with(36, 0), Err(EmptyArchive(1)));
        check(&with(36, u32::MAX), Err(Truncated));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = parse(&bytes);
        }

        #[test]
        fn damaged_files_never_panic(flips in proptest::collection::vec((0usize..400, any::<u8>()), 1..8), cut in 0usize..400) {
            let mut bytes = encode(&file(
                WhisperAggregation::Average,
                vec![archive(60, 10, &[(60, 1.0), (120, 2.0)]), archive(300, 8, &[(300, 3.0)])],
            ));
            for (at, b) in flips {
                let n = bytes.len();
                bytes[at % n] = b;
            }
            bytes.truncate(cut.max(1));
            let _ = parse(&bytes);
        }

        #[test]
        fn encoded_points_round_trip(
            start in 1i64..1_000_000,
            step in 1u32..100,
            slots in 1u32..50,
            values in proptest::collection::vec(-1e9f64..1e9, 0..50),
        ) {
            let n = values.len().min(slots as usize);
            let points: Vec<(i64, f64)> = values[..n]
                .iter()
                .enumerate()
                .map(|(i, &v)| (start * i64::from(step) + i as i64 * i64::from(step), v))
                .collect();
            let f = file(WhisperAggregation::Sum, vec![archive(step, slots, &points)]);
            prop_assert_eq!(parse(&encode(&f)).unwrap(), f);
        }
    }
}
