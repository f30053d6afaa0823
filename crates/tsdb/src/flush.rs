//! Flush: the active head is frozen (swapped for an empty one, the WAL rotated at that point),
//! its points are resolved per slot (last write wins) and written as one block per (schema,
//! level, partition) touched, the catalog changes go into a new series index file carrying the
//! checkpoint, the new state is published, and only then is the WAL truncated before the
//! checkpoint. A crash anywhere in between leaves the WAL intact, so the next open replays it;
//! blocks written before such a crash hold the same points the replay puts back in the head,
//! which wins over them.
//!
//! While the flush runs, fetches see the frozen head and the old blocks; after it, the new
//! blocks. Appends continue into the new head. A flush that fails leaves its frozen head in
//! the snapshot (still served) and the next flush retries it.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::block::{write_block, BlockMeta, BlockReader, NO_WATERMARK};
use crate::codec;
use crate::engine::{lock, read, write, MaintState, Tsdb};
use crate::error::Result;
use crate::filenames::{block_file_name, index_file_name, BLOCKS_DIR, INDEX_DIR};
use crate::head::Head;
use crate::report::MaintainReport;
use crate::schema::Schema;
use crate::series_file::{write_index_file, IndexRecord};
use crate::snapshot::BlockKey;

/// Chunks of one block being built: (series id, chunk bytes, points), ids ascending.
type Chunks = Vec<(u32, Vec<u8>, usize)>;

/// Direct writes of one flush by (series id, level): the schema id and the points in order.
type DirectWrites = BTreeMap<(u32, u8), (u32, Vec<(i64, f64)>)>;

impl Tsdb {
    /// Forces a flush of the head into blocks and a WAL checkpoint (for tests and shutdown;
    /// `maintain` flushes on its own schedule). `now` advances the engine's clock.
    pub fn flush(&self, now: i64) -> Result<()> {
        let mut m = lock(&self.maint);
        self.advance_clock(now);
        let mut report = MaintainReport::default();
        self.flush_locked(&mut m, &mut report)
            .map_err(|e| self.write_failed(e))
    }

    /// Whether `maintain` should flush now: the head is big, or old enough and not empty.
    pub(crate) fn flush_due(&self, m: &MaintState) -> bool {
        let clock = self.clock.load(Ordering::Relaxed);
        let head = lock(&self.ingest).head.clone();
        let held = head.points();
        let pending = !read(&self.catalog).pending().is_empty();
        let aged = clock - m.last_flush >= self.config.flush_interval_secs;
        held >= self.config.flush_max_points
            || (aged && (held > 0 || pending))
            || !self.snap().frozen.is_empty()
    }

    pub(crate) fn flush_locked(
        &self,
        m: &mut MaintState,
        report: &mut MaintainReport,
    ) -> Result<()> {
        let clock = self.clock.load(Ordering::Relaxed);
        // Read before the ingest lock (lock order); a change arriving meanwhile is either in
        // this flush's index file or the next one's, and its WAL record is after the checkpoint.
        let pending = !read(&self.catalog).pending().is_empty();
        let (checkpoint, frozen) = {
            let mut ing = lock(&self.ingest);
            let busy = ing.head.points() > 0 || ing.head.has_direct();
            if !busy && !pending && self.snap().frozen.is_empty() {
                m.last_flush = clock;
                return Ok(());
            }
            // Everything before this LSN is in the head being frozen (or already in files).
            let checkpoint = self.wal.rotate()?;
            if busy {
                let fresh = Arc::new(Head::new(self.head_base));
                let old = std::mem::replace(&mut ing.head, fresh.clone());
                self.publish(|s| {
                    s.frozen.push(old);
                    s.active = fresh;
                });
            }
            (checkpoint, self.snap().frozen.clone())
        };

        let schemas = read(&self.catalog).schemas().to_vec();
        let groups = build_chunks(&frozen, &schemas);
        let mut written = Vec::new();
        for ((sid, level, partition), chunks) in groups {
            let Some(schema) = schemas.get(sid as usize) else {
                continue;
            };
            let l = usize::from(level);
            let meta = BlockMeta {
                schema: sid,
                level,
                partition,
                partition_secs: schema.partition_secs[l],
                step: schema.step(l),
                seq: m.next_seq,
                watermark: NO_WATERMARK,
                points: 0,
                replaces: Vec::new(),
            };
            let block = self.write_new_block(m, meta, |sink| {
                for (id, chunk, n) in &chunks {
                    sink.push(*id, chunk, *n)?;
                }
                Ok(())
            });
            let block = match block {
                Ok(b) => b,
                Err(e) => {
                    let _ = self.delete_block_files(&written);
                    return Err(e);
                }
            };
            report.flushed_points += block.meta.points;
            report.flushed_blocks += 1;
            self.file_bytes.fetch_add(block.size, Ordering::Relaxed);
            written.push(Arc::new(block));
        }

        let (pending, records, next_series) = {
            let cat = read(&self.catalog);
            let pending = cat.pending().clone();
            let mut records = Vec::new();
            for &id in &pending.schemas {
                if let Some(s) = cat.schema(id) {
                    records.push(IndexRecord::Schema(id, (**s).clone()));
                }
            }
            for &id in &pending.series {
                if let Some(info) = cat.series(id) {
                    records.push(IndexRecord::Series {
                        id,
                        schema: info.schema,
                        name: info.name.to_string(),
                    });
                }
            }
            records.extend(pending.deletes.iter().map(|&id| IndexRecord::Delete(id)));
            (pending, records, cat.next_id())
        };
        let index_id = m.next_index_id;
        m.next_index_id += 1;
        let path = self.dir.join(INDEX_DIR).join(index_file_name(index_id));
        // The watermarks too: one raised over a range with no finer data has no rollup block to
        // carry it, and direct writes below it (in this flush's blocks) depend on it.
        let watermarks = self.snap().watermarks.entries();
        let size =
            match write_index_file(&path, &records, checkpoint, next_series, &watermarks, &[]) {
                Ok(size) => size,
                Err(e) => {
                    // The WAL still holds these points; the blocks would only be duplicates.
                    let _ = self.delete_block_files(&written);
                    return Err(e);
                }
            };
        m.index_files.push((index_id, size));
        m.wal_checkpoint = checkpoint;
        self.file_bytes.fetch_add(size, Ordering::Relaxed);

        self.publish(|s| {
            for b in written {
                s.add_block(b);
            }
            s.frozen
                .retain(|h| !frozen.iter().any(|f| Arc::ptr_eq(f, h)));
        });
        write(&self.catalog).mark_persisted(&pending);
        m.last_flush = clock;
        self.wal.truncate_before(checkpoint)?;
        Ok(())
    }

    /// Writes a block with the next id (and `meta.seq` as given; the next seq is advanced past
    /// it) and opens it.
    pub(crate) fn write_new_block(
        &self,
        m: &mut MaintState,
        meta: BlockMeta,
        fill: impl FnOnce(&mut crate::block::ChunkSink<'_>) -> std::io::Result<()>,
    ) -> Result<BlockReader> {
        let id = m.next_block_id;
        m.next_block_id += 1;
        m.next_seq = m.next_seq.max(meta.seq + 1);
        let path = self.dir.join(BLOCKS_DIR).join(block_file_name(id));
        write_block(&path, meta, fill)?;
        BlockReader::open(&path, id, false)
    }
}

/// Resolves the frozen heads (oldest first) into chunks per block key.
fn build_chunks(frozen: &[Arc<Head>], schemas: &[Arc<Schema>]) -> BTreeMap<BlockKey, Chunks> {
    let mut groups: BTreeMap<BlockKey, Chunks> = BTreeMap::new();
    let bound = frozen.iter().map(|h| h.id_bound()).max().unwrap_or(0);
    let mut points: Vec<(i64, f64)> = Vec::new();
    let mut tmp = Vec::new();
    for id in 0..bound {
        points.clear();
        let mut sid = None;
        for h in frozen {
            if let Some(s) = h.series_points(id, &mut tmp) {
                sid = Some(s);
                points.extend_from_slice(&tmp);
            }
        }
        let Some(sid) = sid else { continue };
        let Some(schema) = schemas.get(sid as usize) else {
            continue;
        };
        add_series(&mut groups, id, sid, schema, 0, &mut points);
    }
    // Direct writes to coarser archives, grouped by (series, level) in write order.
    let mut direct: DirectWrites = BTreeMap::new();
    for h in frozen {
        for p in h.direct_points() {
            direct
                .entry((p.id, p.level))
                .or_insert_with(|| (p.schema, Vec::new()))
                .1
                .push((p.ts, p.value));
        }
    }
    for ((id, level), (sid, mut pts)) in direct {
        if let Some(schema) = schemas.get(sid as usize) {
            if usize::from(level) < schema.levels() {
                add_series(&mut groups, id, sid, schema, level, &mut pts);
            }
        }
    }
    groups
}

/// Resolves one series' points at `level` (in write order) to the last value per slot and
/// appends one chunk per partition to `groups`. Ids must arrive in increasing order per key.
fn add_series(
    groups: &mut BTreeMap<BlockKey, Chunks>,
    id: u32,
    sid: u32,
    schema: &Schema,
    level: u8,
    points: &mut [(i64, f64)],
) {
    let l = usize::from(level);
    let step = schema.step(l);
    for p in points.iter_mut() {
        p.0 = p.0.div_euclid(step);
    }
    // Stable: equal slots keep write order, and the last one is kept.
    points.sort_by_key(|p| p.0);
    let mut resolved: Vec<(i64, f64)> = Vec::with_capacity(points.len());
    for &(slot, v) in points.iter() {
        match resolved.last_mut() {
            Some(last) if last.0 == slot => last.1 = v,
            _ => resolved.push((slot, v)),
        }
    }
    let mut i = 0;
    while i < resolved.len() {
        let partition = schema.partition_of(l, resolved[i].0 * step);
        let first_slot = partition / step;
        let end_slot = first_slot + i64::from(schema.partition_slots(l));
        let j = i + resolved[i..].partition_point(|p| p.0 < end_slot);
        let slots: Vec<u32> = resolved[i..j]
            .iter()
            .map(|p| (p.0 - first_slot) as u32)
            .collect();
        let values: Vec<f64> = resolved[i..j].iter().map(|p| p.1).collect();
        let mut chunk = Vec::new();
        codec::encode_chunk(&slots, &values, &mut chunk);
        groups
            .entry((sid, level, partition))
            .or_default()
            .push((id, chunk, slots.len()));
        i = j;
    }
}
