//! Rollups, carbon's coarser archives, built lazily.
//!
//! Whisper writes every point into every archive at once, so a series stores its last week at
//! 10 s *and* at 1 min *and* at 10 min. Here a coarser archive's value is, by definition, what
//! whisper's propagation computes from the next finer archive (aggregation of the known finer
//! values if at least xFilesFactor of them are known), so while the finer data exists the
//! coarser values are derived from it at read time (`snapshot::ReadCtx::values`) and nothing
//! is stored twice. Only when a partition of a finer level is about to leave that level's
//! retention is it *materialised*: its coarser values are computed once, written as a block of
//! the coarser level, and the finer blocks are deleted. The level's watermark `W` (stored in
//! the new block) records where stored data ends and derivation begins.
//!
//! Consequences, all as whisper would have it:
//! - a late point within the finer retention updates the rollup immediately (it is derived);
//! - a point older than the finer retention goes to the finest archive still covering it
//!   (routing by watermark in `engine`), overwriting that archive's slot;
//! - a point appended into a partition while it is being materialised is re-routed as such a
//!   direct write when the new watermark is published (`Head::reroute`).
//!
//! Data past the coarsest retention is dropped by `retention`.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::block::{BlockMeta, BlockReader};
use crate::codec;
use crate::engine::{lock, read, MaintState, Tsdb};
use crate::error::{Error, Result};
use crate::head::Head;
use crate::report::MaintainReport;
use crate::schema::Schema;
use crate::snapshot::{ReadCtx, Snapshot};

impl Tsdb {
    /// Materialises every finer partition that has left its level's retention, level by level
    /// from the finest, and raises the watermarks accordingly.
    pub(crate) fn rollup_locked(
        &self,
        m: &mut MaintState,
        report: &mut MaintainReport,
    ) -> Result<()> {
        let clock = self.clock.load(Ordering::Relaxed);
        let schemas = read(&self.catalog).schemas().to_vec();
        for (sid, schema) in schemas.iter().enumerate() {
            let sid = sid as u32;
            for coarse in 1..schema.levels() {
                let fine = coarse - 1;
                let cutoff = clock.saturating_sub(schema.keep(fine));
                let snap = self.snap();
                let due: Vec<i64> = snap
                    .blocks
                    .range((sid, fine as u8, i64::MIN)..=(sid, fine as u8, i64::MAX))
                    .map(|(k, _)| k.2)
                    .filter(|p| p.saturating_add(schema.partition_secs[fine]) <= cutoff)
                    .collect();
                for p in due {
                    self.rollup_partition(m, sid, schema, fine, p, &schemas)?;
                    report.rollups += 1;
                }
                self.raise_watermark_to_clock(m, sid, coarse, &schemas);
            }
        }
        Ok(())
    }

    /// Raises the watermark of level `coarse` of schema `sid` to the start of the finer
    /// level's partition holding that level's retention cutoff at the engine's clock: before
    /// it the finer level no longer covers every slot, so appends go to the coarser level.
    /// Takes the maintenance state to prove the caller holds the `maint` lock.
    pub(crate) fn raise_watermark_to_clock(
        &self,
        _m: &mut MaintState,
        sid: u32,
        coarse: usize,
        schemas: &[Arc<Schema>],
    ) {
        let Some(schema) = schemas.get(sid as usize) else {
            return;
        };
        if coarse == 0 || coarse >= schema.levels() {
            return;
        }
        let fine = coarse - 1;
        let clock = self.clock.load(Ordering::Relaxed);
        let w = schema.partition_of(fine, clock.saturating_sub(schema.keep(fine)));
        if self.snap().watermarks.get(sid, coarse) < w {
            self.raise_watermark(sid, coarse, w, schemas, |_| {});
        }
    }

    /// Rolls partition `p` of level `fine` up into level `fine + 1`.
    fn rollup_partition(
        &self,
        m: &mut MaintState,
        sid: u32,
        schema: &Schema,
        fine: usize,
        p: i64,
        schemas: &[Arc<Schema>],
    ) -> Result<()> {
        let coarse = fine + 1;
        let end = p + schema.partition_secs[fine];
        let snap = self.snap();
        let inputs: Vec<Arc<BlockReader>> = snap
            .blocks
            .get(&(sid, fine as u8, p))
            .cloned()
            .unwrap_or_default();
        let mut ids: Vec<u32> = inputs.iter().flat_map(|b| b.series().to_vec()).collect();
        ids.sort_unstable();
        ids.dedup();
        {
            let cat = read(&self.catalog);
            ids.retain(|&id| cat.is_live(id));
        }
        // Read without the heads: points appended meanwhile are re-routed as direct writes.
        let quiet = Snapshot {
            frozen: Vec::new(),
            active: Arc::new(Head::new(self.head_base)),
            ..(*snap).clone()
        };
        let q = schema.partition_of(coarse, p);
        let step = schema.step(coarse);
        let meta = BlockMeta {
            schema: sid,
            level: coarse as u8,
            partition: q,
            partition_secs: schema.partition_secs[coarse],
            step,
            seq: m.next_seq,
            watermark: end,
            points: 0,
            replaces: inputs.iter().map(|b| b.id).collect(),
        };
        let expired = end <= self.clock.load(Ordering::Relaxed) - schema.max_retention();
        let block = if ids.is_empty() || expired {
            None
        } else {
            let on_corrupt = |b: &BlockReader, e: &Error| self.note_corrupt(b, e);
            let mut ctx = ReadCtx::new(&quiet, &on_corrupt);
            let mut failure = None;
            let first_slot = ((p - q) / step) as u32;
            let block = self.write_new_block(m, meta, |sink| {
                let (mut slots, mut values) = (Vec::new(), Vec::new());
                let mut chunk = Vec::new();
                for &id in &ids {
                    let vals = ctx.values(id, schema, sid, coarse, p, end);
                    if let Some(e) = ctx.take_failure() {
                        let msg = e.to_string();
                        failure = Some(e);
                        return Err(std::io::Error::other(msg));
                    }
                    slots.clear();
                    values.clear();
                    for (i, v) in vals.iter().enumerate() {
                        if let Some(v) = v {
                            slots.push(first_slot + i as u32);
                            values.push(*v);
                        }
                    }
                    if !slots.is_empty() {
                        chunk.clear();
                        codec::encode_chunk(&slots, &values, &mut chunk);
                        sink.push(id, &chunk, slots.len())?;
                    }
                }
                Ok(())
            });
            // An I/O error while reading the finer data must not lose it: keep the finer
            // blocks, and retry at the next maintenance.
            let block = match (block, failure) {
                (_, Some(e)) | (Err(e), None) => return Err(e),
                (Ok(b), None) => b,
            };
            Some(Arc::new(block))
        };
        let removed: Vec<u64> = inputs.iter().map(|b| b.id).collect();
        let added = block.as_ref().map_or(0, |b| b.size);
        self.file_bytes.fetch_add(added, Ordering::Relaxed);
        self.raise_watermark(sid, coarse, end, schemas, |s| {
            s.remove_blocks(&removed);
            if let Some(b) = block {
                s.add_block(b);
            }
        });
        self.delete_block_files(&inputs)
    }

    /// Publishes `W_level >= w` together with `change` (so no fetch sees one without the
    /// other), and moves head points that now belong to a coarser archive.
    fn raise_watermark(
        &self,
        sid: u32,
        level: usize,
        w: i64,
        schemas: &[Arc<Schema>],
        change: impl FnOnce(&mut Snapshot),
    ) {
        let clock = self.clock.load(Ordering::Relaxed);
        let mut ing = lock(&self.ingest);
        let mut wm = ing.watermarks.clone();
        wm.raise(sid, level, w);
        wm.normalize();
        self.publish(|s| {
            change(s);
            s.watermarks = wm.clone();
        });
        if ing.head.min_ts() < w || ing.head.has_direct() {
            ing.head.reroute(|schema, lvl, ts| {
                let s = schemas.get(schema as usize)?;
                if ts < clock.saturating_sub(s.max_retention()) {
                    return None;
                }
                Some(wm.level_for(schema, s.levels(), ts).max(lvl))
            });
        }
        ing.watermarks = wm;
    }

    /// Deletes the files of blocks no longer in the snapshot.
    pub(crate) fn delete_block_files(&self, blocks: &[Arc<BlockReader>]) -> Result<()> {
        for b in blocks {
            match std::fs::remove_file(&b.path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(&b.path, e)),
            }
            let _ = self
                .file_bytes
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| {
                    Some(v.saturating_sub(b.size))
                });
        }
        Ok(())
    }
}
