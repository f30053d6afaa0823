//! `Tsdb`: the engine's state and its request paths (append, fetch, find, delete, sync,
//! close). Opening is in `open`, background work in `flush`, `rollup`, `compaction` and
//! `retention`, each an `impl Tsdb` block over the state declared here.
//!
//! Locks, always taken in this order, never the reverse:
//! 1. `maint`: one background operation at a time (flush, rollup, compaction, retention).
//! 2. `catalog`: read for name lookups, write to create or delete series (the WAL record of a
//!    new series is appended under it, so no point of a series can precede its definition in
//!    the log).
//! 3. `ingest`: orders point records in the WAL with their insertion into the head, so
//!    replaying the WAL rebuilds the same last-write-wins outcome; also guards which head is
//!    active and the watermarks used for routing.
//! 4. `snapshot`: held only to clone or swap the `Arc`, never during I/O.
//!
//! A fetch takes the catalog read lock to resolve names, clones the snapshot, and then reads
//! without any engine lock (head shards are locked per series for a moment).

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use lookout_core::{
    Durability, FindNode, Glob, MetricAppender, MetricReader, Point, SeriesData, StoreStats,
    TimeRange,
};
use lookout_disk::{DirLock, Lsn, Wal};

use crate::block::BlockReader;
use crate::catalog::Catalog;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::head::{Head, Routed};
use crate::metrics::Metrics;
use crate::report::{MaintainReport, OpenReport};
use crate::schema::{self, Schema};
use crate::snapshot::{ReadCtx, Snapshot, Watermarks};
use crate::wal_record::{self, PointsEncoder, SeriesDef};

/// Marks a point whose series could not be resolved (invalid name).
const UNRESOLVED: u32 = u32::MAX;

/// Points per WAL record: a larger batch is split, so a record (~5 bytes a point, at most ~20)
/// stays far below the WAL's 64 MiB record limit.
const MAX_POINTS_PER_RECORD: usize = 500_000;

/// Most read-time corruption messages kept for the next `MaintainReport`.
const MAX_CORRUPTION_MESSAGES: usize = 100;

/// The embedded metrics engine. `Send + Sync`: share it behind an `Arc`.
///
/// Durability: every accepted point is in the WAL (the kernel's page cache) before `append`
/// returns, so it survives a crash of the process; [`Durability::Synced`] also waits for the
/// fsync (group commit), so it survives a crash of the machine. Buffered points are fsynced by
/// [`Tsdb::sync`], which the server calls every `wal.sync_interval` (default 1 s): that
/// interval is the window of loss on power failure. Dropping a `Tsdb` without [`Tsdb::close`]
/// is exactly a process crash: the next open replays the WAL.
pub struct Tsdb {
    pub(crate) dir: PathBuf,
    pub(crate) config: Config,
    pub(crate) wal: Wal,
    pub(crate) catalog: RwLock<Catalog>,
    pub(crate) ingest: Mutex<Ingest>,
    pub(crate) snapshot: RwLock<Arc<Snapshot>>,
    pub(crate) maint: Mutex<MaintState>,
    /// The latest `now` passed to `open`, `maintain` or `flush`: appends take no `now`, so
    /// retention on the append path is judged against this (at most a maintenance period old).
    pub(crate) clock: AtomicI64,
    /// Origin of every head's 32-bit time offsets (the clock at open).
    pub(crate) head_base: i64,
    pub(crate) metrics: Metrics,
    pub(crate) report: OpenReport,
    /// Blocks already reported damaged at read time, and messages for the next report.
    pub(crate) corrupt_seen: Mutex<(HashSet<u64>, Vec<String>)>,
    /// Bytes of live blocks and index files.
    pub(crate) file_bytes: AtomicU64,
    /// Held for the engine's lifetime; declared last so it is released last.
    pub(crate) _lock: DirLock,
}

/// State guarded by the ingest lock.
pub(crate) struct Ingest {
    /// The head receiving appends (also in the snapshot).
    pub head: Arc<Head>,
    /// Routing copy of the snapshot's watermarks, updated with it.
    pub watermarks: Watermarks,
}

/// State of background maintenance.
pub(crate) struct MaintState {
    pub next_block_id: u64,
    pub next_seq: u64,
    pub next_index_id: u64,
    /// Live index files: (id, size).
    pub index_files: Vec<(u64, u64)>,
    /// Clock at the last flush (or open).
    pub last_flush: i64,
    /// Checkpoint of the last index file: WAL records before it are all in files.
    pub wal_checkpoint: Lsn,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

pub(crate) fn read<T>(l: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|e| e.into_inner())
}

pub(crate) fn write<T>(l: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|e| e.into_inner())
}

/// Approximate heap use of the engine, by part.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemoryStats {
    /// Live series.
    pub series: usize,
    /// Points held in the heads (active and frozen).
    pub head_points: usize,
    /// Heads: point buffers (by capacity), per-series slots, direct points.
    pub head_bytes: usize,
    /// Catalog: names, the name → id map, the id table, the metric tree.
    pub catalog_bytes: usize,
    /// In-memory chunk indexes of open blocks.
    pub block_index_bytes: usize,
}

impl MemoryStats {
    /// Total bytes.
    pub fn total(&self) -> usize {
        self.head_bytes + self.catalog_bytes + self.block_index_bytes
    }
}

impl Tsdb {
    /// Approximate heap use, for self-monitoring and the memory figures in the docs.
    pub fn memory(&self) -> MemoryStats {
        let (series, catalog_bytes) = {
            let cat = read(&self.catalog);
            (cat.live(), cat.heap_bytes())
        };
        let snap = self.snap();
        MemoryStats {
            series,
            head_points: snap.heads().map(|h| h.points()).sum(),
            head_bytes: snap.heads().map(|h| h.heap_bytes()).sum(),
            catalog_bytes,
            block_index_bytes: snap.all_blocks().map(|b| b.heap_bytes()).sum(),
        }
    }

    /// What `open` found and repaired (torn WAL tail, damaged files, replayed points).
    pub fn open_report(&self) -> &OpenReport {
        &self.report
    }

    /// fsyncs the WAL: every point appended so far survives a machine crash once this returns.
    /// The server calls it every `wal.sync_interval`.
    pub fn sync(&self) -> Result<()> {
        self.wal.sync_all().map_err(|e| self.write_failed(e.into()))
    }

    /// Counts a failed write in `lookout_tsdb_write_errors_total` and passes it on.
    pub(crate) fn write_failed(&self, e: Error) -> Error {
        self.metrics.count_write_error(&e);
        e
    }

    /// Flushes the head into blocks, syncs, and releases the directory. Clean shutdown.
    pub fn close(self, now: i64) -> Result<()> {
        self.flush(now)?;
        self.wal.sync_all()?;
        Ok(())
    }

    /// The current snapshot.
    pub(crate) fn snap(&self) -> Arc<Snapshot> {
        read(&self.snapshot).clone()
    }

    /// Replaces the snapshot with `f` applied to a copy of it.
    pub(crate) fn publish(&self, f: impl FnOnce(&mut Snapshot)) {
        let mut guard = write(&self.snapshot);
        let mut next = (**guard).clone();
        f(&mut next);
        *guard = Arc::new(next);
    }

    /// Moves the clock forward to `now` (never back) and returns it.
    pub(crate) fn advance_clock(&self, now: i64) -> i64 {
        self.clock.fetch_max(now, Ordering::Relaxed).max(now)
    }

    /// Records damage found while reading: counted once per block, reported at the next
    /// maintenance.
    pub(crate) fn note_corrupt(&self, b: &BlockReader, e: &Error) {
        let mut seen = lock(&self.corrupt_seen);
        if seen.0.insert(b.id) {
            self.metrics.blocks_corrupt.inc();
            if seen.1.len() < MAX_CORRUPTION_MESSAGES {
                seen.1.push(e.to_string());
            }
        }
    }

    /// Takes the read-time damage messages for a maintenance report.
    pub(crate) fn take_corruption(&self, report: &mut MaintainReport) {
        report.corrupt = std::mem::take(&mut lock(&self.corrupt_seen).1);
    }

    /// Refreshes the size gauges.
    pub(crate) fn update_gauges(&self) {
        let wal = self.wal.size_bytes();
        self.metrics.wal_bytes.set(wal as i64);
        let total = wal + self.file_bytes.load(Ordering::Relaxed);
        self.metrics.disk_bytes.set(total as i64);
        self.metrics.series.set(read(&self.catalog).live() as i64);
    }

    /// Creates the series of the unresolved points whose names are valid, logging their
    /// definitions (and any new schema) to the WAL before they become visible.
    fn create_series(
        &self,
        points: &[Point],
        resolved: &mut [(u32, u32)],
        schemas: &mut Vec<Arc<Schema>>,
    ) -> Result<()> {
        let mut cat = write(&self.catalog);
        let mut next_id = cat.next_id();
        let mut planned: std::collections::HashMap<String, (u32, u32)> = Default::default();
        let mut new_schemas: Vec<Schema> = Vec::new();
        let mut defs: Vec<(u32, u32, String)> = Vec::new();
        for (p, r) in points.iter().zip(resolved.iter_mut()) {
            if r.0 != UNRESOLVED {
                continue;
            }
            if let Some(found) = cat
                .lookup(&p.name)
                .or_else(|| planned.get(&p.name).copied())
            {
                *r = found;
                continue;
            }
            let Ok(canon) = Catalog::canonical(&p.name) else {
                self.metrics.dropped_invalid_name.inc();
                continue;
            };
            if let Some(found) = cat.lookup(&canon).or_else(|| planned.get(&*canon).copied()) {
                *r = found;
                continue;
            }
            let schema = schema::resolve(&canon, &self.config.schemas, &self.config.aggregations);
            let sid = match cat.find_schema(&schema) {
                Some(s) => s,
                None => match new_schemas.iter().position(|s| *s == schema) {
                    Some(i) => (cat.schemas().len() + i) as u32,
                    None => {
                        new_schemas.push(schema);
                        (cat.schemas().len() + new_schemas.len() - 1) as u32
                    }
                },
            };
            if next_id == UNRESOLVED {
                return Err(Error::TooManySeries(u64::from(next_id)));
            }
            let id = next_id;
            next_id += 1;
            planned.insert(canon.to_string(), (id, sid));
            planned.insert(p.name.clone(), (id, sid));
            defs.push((id, sid, canon.into_owned()));
            *r = (id, sid);
        }
        let mut buf = Vec::new();
        for (i, s) in new_schemas.iter().enumerate() {
            buf.clear();
            wal_record::encode_schema_def((cat.schemas().len() + i) as u32, s, &mut buf);
            self.wal.append(&buf)?;
        }
        if !defs.is_empty() {
            buf.clear();
            wal_record::encode_series_defs(
                defs.iter().map(|(id, schema, name)| SeriesDef {
                    id: *id,
                    schema: *schema,
                    name,
                }),
                &mut buf,
            );
            self.wal.append(&buf)?;
        }
        for s in new_schemas {
            cat.add_schema(s);
        }
        for (_, sid, name) in &defs {
            cat.create(name, *sid);
        }
        *schemas = cat.schemas().to_vec();
        Ok(())
    }

    fn append_points(&self, points: &[Point], durability: Durability) -> Result<()> {
        let mut last = None;
        for chunk in points.chunks(MAX_POINTS_PER_RECORD) {
            last = self.append_chunk(chunk)?.or(last);
        }
        if let (Some(lsn), Durability::Synced) = (last, durability) {
            self.wal.sync(lsn)?;
        }
        Ok(())
    }

    /// Appends one WAL record's worth of points; returns its LSN if anything was stored.
    fn append_chunk(&self, points: &[Point]) -> Result<Option<Lsn>> {
        let clock = self.clock.load(Ordering::Relaxed);
        let mut resolved = Vec::with_capacity(points.len());
        let mut missing = false;
        let mut schemas = {
            let cat = read(&self.catalog);
            for p in points {
                match cat.lookup(&p.name) {
                    Some(r) => resolved.push(r),
                    None => {
                        missing = true;
                        resolved.push((UNRESOLVED, 0));
                    }
                }
            }
            cat.schemas().to_vec()
        };
        if missing {
            self.create_series(points, &mut resolved, &mut schemas)?;
        }
        let mut enc = PointsEncoder::with_capacity(points.len());
        let mut routed = Vec::with_capacity(points.len());
        let (mut expired, mut future) = (0u64, 0u64);
        let horizon = clock.saturating_add(self.config.max_future_secs);
        for (p, &(id, sid)) in points.iter().zip(&resolved) {
            if id == UNRESOLVED {
                continue;
            }
            let Some(schema) = schemas.get(sid as usize) else {
                continue;
            };
            if p.ts < clock.saturating_sub(schema.max_retention())
                || (!self.fits(p.ts) && p.ts < self.head_base)
            {
                expired += 1;
                continue;
            }
            if p.ts > horizon || !self.fits(p.ts) {
                future += 1;
                continue;
            }
            enc.push(id, p.ts, p.value);
            routed.push(Routed {
                id,
                schema: sid,
                level: 0,
                ts: p.ts,
                value: p.value,
            });
        }
        self.metrics.dropped_expired.add(expired);
        self.metrics.dropped_future.add(future);
        if routed.is_empty() {
            return Ok(None);
        }
        let lsn = {
            let ing = lock(&self.ingest);
            for r in &mut routed {
                let levels = schemas[r.schema as usize].levels();
                r.level = ing.watermarks.level_for(r.schema, levels, r.ts);
            }
            let lsn = self.wal.append(enc.bytes())?;
            ing.head.insert(&routed);
            lsn
        };
        self.metrics.points_appended.add(routed.len() as u64);
        Ok(Some(lsn))
    }

    /// Whether a timestamp is representable in a head.
    pub(crate) fn fits(&self, ts: i64) -> bool {
        i32::try_from(ts.wrapping_sub(self.head_base)).is_ok()
    }

    fn delete_matching(&self, pattern: &Glob) -> Result<u64> {
        let mut cat = write(&self.catalog);
        let ids = cat.matching(pattern);
        if ids.is_empty() {
            return Ok(0);
        }
        let mut buf = Vec::new();
        wal_record::encode_delete(&ids, &mut buf);
        let lsn: Lsn = self.wal.append(&buf)?;
        let n = ids.iter().filter(|&&id| cat.delete(id)).count();
        drop(cat);
        self.wal.sync(lsn)?;
        self.update_gauges();
        Ok(n as u64)
    }

    fn fetch_series(
        &self,
        names: &[String],
        range: TimeRange,
        now: i64,
    ) -> Result<Vec<SeriesData>> {
        let targets: Vec<(u32, u32, Arc<Schema>, &String)> = {
            let cat = read(&self.catalog);
            names
                .iter()
                .filter_map(|n| {
                    let (id, sid) = cat.lookup(n)?;
                    Some((id, sid, cat.schema(sid)?.clone(), n))
                })
                .collect()
        };
        let snap = self.snap();
        let on_corrupt = |b: &BlockReader, e: &Error| self.note_corrupt(b, e);
        let mut ctx = ReadCtx::new(&snap, &on_corrupt);
        let out = targets
            .into_iter()
            .map(|(id, sid, schema, name)| ctx.fetch(id, name, &schema, sid, range, now))
            .collect();
        match ctx.take_failure() {
            Some(e) => Err(e),
            None => Ok(out),
        }
    }
}

impl MetricAppender for Tsdb {
    /// Stores a batch (see the trait and [`Tsdb`] for the durability contract). Points of
    /// invalid names, older than their series' coarsest retention (judged against the clock of
    /// the last `maintain`), or too far in the future are dropped and counted in
    /// `lookout_tsdb_points_dropped_total{reason}`; the rest of the batch is stored.
    fn append(&self, points: &[Point], durability: Durability) -> lookout_core::Result<()> {
        Ok(self
            .append_points(points, durability)
            .map_err(|e| self.write_failed(e))?)
    }

    /// Deletes matching series; the deletion is in the WAL and fsynced before this returns, so
    /// it survives a crash. A later point under the same name creates a new, empty series.
    fn delete(&self, pattern: &Glob) -> lookout_core::Result<u64> {
        Ok(self.delete_matching(pattern)?)
    }
}

impl MetricReader for Tsdb {
    fn find(&self, pattern: &Glob) -> lookout_core::Result<Vec<FindNode>> {
        Ok(read(&self.catalog).find(pattern))
    }

    fn fetch(
        &self,
        names: &[String],
        range: TimeRange,
        now: i64,
    ) -> lookout_core::Result<Vec<SeriesData>> {
        Ok(self.fetch_series(names, range, now)?)
    }

    fn list_series(&self) -> lookout_core::Result<Vec<String>> {
        Ok(read(&self.catalog).names())
    }

    fn stats(&self) -> StoreStats {
        StoreStats {
            series: read(&self.catalog).live() as u64,
            disk_bytes: self.wal.size_bytes() + self.file_bytes.load(Ordering::Relaxed),
        }
    }
}

impl std::fmt::Debug for Tsdb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tsdb")
            .field("dir", &self.dir)
            .field("series", &read(&self.catalog).live())
            .finish_non_exhaustive()
    }
}
