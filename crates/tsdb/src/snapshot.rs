//! What a read sees, and how it reads it. A [`Snapshot`] is an immutable value: the live blocks
//! by (schema, level, partition), the rollup watermarks, the frozen heads being flushed and the
//! active head. The engine swaps in a new `Arc<Snapshot>` when a flush, compaction, rollup or
//! retention step publishes its result, so a fetch that cloned the old one keeps reading exactly
//! the state it started with (blocks it holds stay readable even after they are unlinked).
//!
//! [`ReadCtx`] turns a snapshot into values on an archive's grid:
//! - level 0 (finest): blocks of each partition in `seq` order, then the frozen heads, then the
//!   active head, each overwriting the slots it has: last write wins.
//! - level L >= 1: before the level's watermark `W_L`, the stored values (rolled-up blocks and
//!   points written directly at that level); from `W_L` on, derived from level L-1 on the fly
//!   with the series' aggregation and xFilesFactor, exactly as whisper's propagation would have
//!   computed them (see `rollup` for why rollups are derived rather than stored while the finer
//!   data exists).
//!
//! Whisper's fetch rules (range clamping, archive choice by `now - from`, the grid) are applied
//! in [`ReadCtx::fetch`]. Corrupt chunks are skipped and handed to the caller's callback; an
//! I/O error is kept for the caller (`take_failure`), which must fail rather than serve a gap.

use std::collections::BTreeMap;
use std::sync::Arc;

use lookout_core::{SeriesData, TimeRange};

use crate::block::BlockReader;
use crate::codec::ChunkScratch;
use crate::error::Error;
use crate::head::Head;
use crate::schema::Schema;

/// Blocks are grouped by (schema id, level, partition start).
pub type BlockKey = (u32, u8, i64);

/// Rollup watermarks: `get(schema, level)` is `W_level`, the start of the range where that
/// level is derived from the finer one rather than stored. `i64::MIN` (everything derived)
/// until a partition of the finer level has been rolled up.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Watermarks(Vec<Vec<i64>>);

impl Watermarks {
    /// `W_level` of a schema (`i64::MIN` for level 0 and unknown schemas).
    #[inline]
    pub fn get(&self, schema: u32, level: usize) -> i64 {
        if level == 0 {
            return i64::MIN;
        }
        self.0
            .get(schema as usize)
            .and_then(|w| w.get(level))
            .copied()
            .unwrap_or(i64::MIN)
    }

    /// Raises `W_level` of a schema to at least `w`.
    pub fn raise(&mut self, schema: u32, level: usize, w: i64) {
        let s = schema as usize;
        if self.0.len() <= s {
            self.0.resize(s + 1, Vec::new());
        }
        if self.0[s].len() <= level {
            self.0[s].resize(level + 1, i64::MIN);
        }
        self.0[s][level] = self.0[s][level].max(w);
    }

    /// Every watermark that is set, as (schema, level, watermark), for persisting.
    pub fn entries(&self) -> Vec<(u32, u8, i64)> {
        let mut out = Vec::new();
        for (s, levels) in self.0.iter().enumerate() {
            for (l, &w) in levels.iter().enumerate() {
                if l > 0 && w != i64::MIN {
                    out.push((s as u32, l as u8, w));
                }
            }
        }
        out
    }

    /// Makes each level's watermark at least the next coarser one's: once a coarser level
    /// stores a range, the finer data it came from is gone, so the finer level must not derive
    /// there either.
    pub fn normalize(&mut self) {
        for w in &mut self.0 {
            for l in (1..w.len().saturating_sub(1)).rev() {
                w[l] = w[l].max(w[l + 1]);
            }
        }
    }

    /// The archive level a point at `ts` is written to: the finest one whose data is not yet
    /// rolled up at `ts` (whisper writes to the finest archive covering the point).
    #[inline]
    pub fn level_for(&self, schema: u32, levels: usize, ts: i64) -> u8 {
        let mut level = 0;
        while level + 1 < levels && ts < self.get(schema, level + 1) {
            level += 1;
        }
        level as u8
    }
}

/// See the module documentation.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Live blocks; each list is sorted by (`seq`, id).
    pub blocks: BTreeMap<BlockKey, Vec<Arc<BlockReader>>>,
    /// Rollup watermarks.
    pub watermarks: Watermarks,
    /// Heads being flushed, oldest first.
    pub frozen: Vec<Arc<Head>>,
    /// The head receiving appends.
    pub active: Arc<Head>,
}

impl Snapshot {
    /// Adds a block, keeping its partition's list in `seq` order.
    pub fn add_block(&mut self, b: Arc<BlockReader>) {
        let key = (b.meta.schema, b.meta.level, b.meta.partition);
        let list = self.blocks.entry(key).or_default();
        list.push(b);
        list.sort_by_key(|b| (b.meta.seq, b.id));
    }

    /// Removes blocks by id.
    pub fn remove_blocks(&mut self, ids: &[u64]) {
        self.blocks.retain(|_, list| {
            list.retain(|b| !ids.contains(&b.id));
            !list.is_empty()
        });
    }

    /// Every live block.
    pub fn all_blocks(&self) -> impl Iterator<Item = &Arc<BlockReader>> {
        self.blocks.values().flatten()
    }

    /// Heads, oldest first.
    pub fn heads(&self) -> impl Iterator<Item = &Arc<Head>> {
        self.frozen.iter().chain(std::iter::once(&self.active))
    }
}

/// A reader over one snapshot, with scratch buffers reused across series.
pub struct ReadCtx<'a> {
    snap: &'a Snapshot,
    on_corrupt: &'a dyn Fn(&BlockReader, &Error),
    buf: Vec<u8>,
    scratch: ChunkScratch,
    known: Vec<f64>,
    /// The first read failure that is not damage (an I/O error): the caller must not take the
    /// values as complete.
    failure: Option<Error>,
}

impl<'a> ReadCtx<'a> {
    /// A reader of `snap`; `on_corrupt` is told about each chunk that cannot be read.
    pub fn new(snap: &'a Snapshot, on_corrupt: &'a dyn Fn(&BlockReader, &Error)) -> ReadCtx<'a> {
        ReadCtx {
            snap,
            on_corrupt,
            buf: Vec::new(),
            scratch: ChunkScratch::default(),
            known: Vec::new(),
            failure: None,
        }
    }

    /// The first I/O failure met so far, if any (damage is reported through `on_corrupt`
    /// instead and does not count).
    pub fn take_failure(&mut self) -> Option<Error> {
        self.failure.take()
    }

    /// Whisper's fetch of one series (see `TimeRange` and `MetricReader::fetch`).
    pub fn fetch(
        &mut self,
        id: u32,
        name: &str,
        schema: &Schema,
        sid: u32,
        range: TimeRange,
        now: i64,
    ) -> SeriesData {
        let oldest = now.saturating_sub(schema.max_retention());
        let empty = |step: i64| SeriesData {
            name: name.to_string(),
            start: range.from.div_euclid(step) * step + step,
            step,
            values: Vec::new(),
            aggregation: schema.aggregation,
            x_files_factor: schema.xff,
        };
        if range.from > range.until || range.from > now || range.until < oldest {
            return empty(schema.step(0));
        }
        let from = range.from.max(oldest);
        let until = range.until.min(now);
        let diff = now - from;
        let level = (0..schema.levels())
            .find(|&l| schema.keep(l) >= diff)
            .unwrap_or(schema.levels() - 1);
        let step = schema.step(level);
        let start = from.div_euclid(step) * step + step;
        let mut end = until.div_euclid(step) * step + step;
        if start == end {
            end += step;
        }
        let mut values = self.values(id, schema, sid, level, start, end);
        let visible_from = now.saturating_sub(schema.keep(level));
        for (i, v) in values.iter_mut().enumerate() {
            if start + i as i64 * step < visible_from {
                *v = None;
            } else {
                break;
            }
        }
        SeriesData {
            name: name.to_string(),
            start,
            step,
            values,
            aggregation: schema.aggregation,
            x_files_factor: schema.xff,
        }
    }

    /// Values of series `id` at `level` on the grid `[start, end)` (both multiples of the
    /// level's step), with no retention masking.
    pub fn values(
        &mut self,
        id: u32,
        schema: &Schema,
        sid: u32,
        level: usize,
        start: i64,
        end: i64,
    ) -> Vec<Option<f64>> {
        let step = schema.step(level);
        let n = usize::try_from((end - start) / step).unwrap_or(0);
        let mut out = vec![None; n];
        if n == 0 {
            return out;
        }
        if level == 0 {
            self.stored(id, schema, sid, 0, start, end, &mut out);
            return out;
        }
        let w = self.snap.watermarks.get(sid, level);
        if start < w {
            let stop = end.min(w);
            let k = ((stop - start) / step) as usize;
            self.stored(id, schema, sid, level, start, stop, &mut out[..k]);
        }
        if end > w {
            let d0 = start.max(w);
            let sub = self.values(id, schema, sid, level - 1, d0, end);
            let ratio = (step / schema.step(level - 1)) as usize;
            let offset = ((d0 - start) / step) as usize;
            for (j, bucket) in sub.chunks(ratio).enumerate() {
                out[offset + j] = self.aggregate(schema, bucket, ratio);
            }
        }
        out
    }

    /// Whisper's propagation of one bucket: the aggregate of the known values if at least
    /// `xff` of the `total` slots are known, else nothing.
    fn aggregate(&mut self, schema: &Schema, bucket: &[Option<f64>], total: usize) -> Option<f64> {
        self.known.clear();
        self.known.extend(bucket.iter().flatten());
        if self.known.is_empty() || (self.known.len() as f64 / total as f64) < schema.xff {
            return None;
        }
        schema.aggregation.apply(&self.known)
    }

    /// Stored values of `level` in `[start, end)` written over `out` in write order: blocks by
    /// `seq`, then heads oldest first.
    #[allow(clippy::too_many_arguments)]
    fn stored(
        &mut self,
        id: u32,
        schema: &Schema,
        sid: u32,
        level: usize,
        start: i64,
        end: i64,
        out: &mut [Option<f64>],
    ) {
        let step = schema.step(level);
        let lo = (sid, level as u8, schema.partition_of(level, start));
        let hi = (sid, level as u8, schema.partition_of(level, end - 1));
        for blocks in self.snap.blocks.range(lo..=hi).map(|(_, b)| b) {
            for b in blocks {
                // Block slots and the output grid share the step: one division per chunk, not
                // per point.
                let off = (b.meta.partition - start) / step;
                let put = |s: u32, v: f64| {
                    let i = off + i64::from(s);
                    if let Some(slot) = usize::try_from(i).ok().and_then(|i| out.get_mut(i)) {
                        *slot = Some(v);
                    }
                };
                match b.read_series_with(id, &mut self.buf, &mut self.scratch, put) {
                    Ok(_) => {}
                    Err(e @ Error::Corrupt { .. }) => (self.on_corrupt)(b, &e),
                    Err(e) => {
                        self.failure.get_or_insert(e);
                    }
                }
            }
        }
        let mut put = |ts: i64, v: f64| {
            if ts >= start && ts < end {
                out[((ts - start) / step) as usize] = Some(v);
            }
        };
        for head in self.snap.heads() {
            if level == 0 {
                head.for_each(id, |ts, v| put(ts.div_euclid(step) * step, v));
            } else {
                head.for_each_direct(id, level as u8, |ts, v| put(ts.div_euclid(step) * step, v));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watermarks_route_and_normalize() {
        let mut w = Watermarks::default();
        assert_eq!(w.get(3, 1), i64::MIN);
        assert_eq!(w.level_for(3, 3, 0), 0);
        w.raise(3, 1, 1000);
        w.raise(3, 2, 500);
        w.raise(3, 1, 900);
        assert_eq!(w.get(3, 1), 1000);
        assert_eq!(w.level_for(3, 3, 1000), 0);
        assert_eq!(w.level_for(3, 3, 999), 1);
        assert_eq!(w.level_for(3, 3, 499), 2);
        assert_eq!(w.level_for(3, 2, 499), 1);
        w.raise(4, 2, 700);
        w.raise(4, 1, 100);
        w.normalize();
        assert_eq!(w.get(4, 1), 700);
        assert_eq!(w.get(3, 1), 1000);
    }
}
