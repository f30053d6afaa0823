//! `Tsdb::maintain`: the background work the server runs every few seconds on a blocking
//! thread, in order: flush the head when due, roll up partitions leaving their archive's
//! retention, expire what is past the coarsest retention, compact partitions, and merge series
//! index files once they pile up. Each step publishes its result as a new snapshot, so running
//! fetches are never affected. The steps themselves live in `flush`, `rollup`, `retention` and
//! `compaction`; this file only orders them and merges index files.

use std::sync::atomic::Ordering;

use crate::engine::{lock, read, MaintState, Tsdb};
use crate::error::{Error, Result};
use crate::filenames::{index_file_name, INDEX_DIR};
use crate::report::MaintainReport;
use crate::series_file::{write_index_file, IndexRecord};

/// Index files are merged into one once there are more than this many: each flush writes one,
/// and opening reads them all; 16 keeps open fast and merges rare (every ~2.5 h at the default
/// flush interval).
pub const MAX_INDEX_FILES: usize = 16;

impl Tsdb {
    /// Runs due background work at time `now` (which also advances the engine's clock, used
    /// to judge retention of appended points). Returns what was done, including damage found
    /// by reads since the last call, for the caller to log.
    pub fn maintain(&self, now: i64) -> Result<MaintainReport> {
        self.maintain_steps(now).map_err(|e| self.write_failed(e))
    }

    fn maintain_steps(&self, now: i64) -> Result<MaintainReport> {
        let mut m = lock(&self.maint);
        self.advance_clock(now);
        let mut report = MaintainReport::default();
        if self.flush_due(&m) {
            self.flush_locked(&mut m, &mut report)?;
        }
        self.rollup_locked(&mut m, &mut report)?;
        self.expire_locked(&mut m, &mut report)?;
        self.compact_locked(&mut m, &mut report)?;
        if m.index_files.len() > MAX_INDEX_FILES {
            self.merge_index_files(&mut m)?;
            report.index_files_merged += 1;
        }
        self.take_corruption(&mut report);
        self.update_gauges();
        Ok(report)
    }

    /// Replaces every index file with one holding the live catalog.
    fn merge_index_files(&self, m: &mut MaintState) -> Result<()> {
        let (records, next_series) = {
            let cat = read(&self.catalog);
            let mut records: Vec<IndexRecord> = cat
                .schemas()
                .iter()
                .enumerate()
                .map(|(i, s)| IndexRecord::Schema(i as u32, (**s).clone()))
                .collect();
            for id in 0..cat.next_id() {
                if let Some(info) = cat.series(id) {
                    records.push(IndexRecord::Series {
                        id,
                        schema: info.schema,
                        name: info.name.to_string(),
                    });
                }
            }
            (records, cat.next_id())
        };
        let replaced: Vec<u64> = m.index_files.iter().map(|f| f.0).collect();
        let id = m.next_index_id;
        m.next_index_id += 1;
        let dir = self.dir.join(INDEX_DIR);
        let size = write_index_file(
            &dir.join(index_file_name(id)),
            &records,
            m.wal_checkpoint,
            next_series,
            &self.snap().watermarks.entries(),
            &replaced,
        )?;
        let old: u64 = m.index_files.iter().map(|f| f.1).sum();
        m.index_files = vec![(id, size)];
        for r in replaced {
            let path = dir.join(index_file_name(r));
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(&path, e)),
            }
        }
        let _ = self
            .file_bytes
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| {
                Some(v.saturating_sub(old) + size)
            });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::BlockReader;
    use crate::snapshot::ReadCtx;
    use lookout_core::selfmon::Registry;
    use lookout_core::{Durability, MetricAppender, Point};

    #[test]
    fn maintenance_never_changes_what_a_taken_snapshot_reads() {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = crate::Config::default();
        cfg.schemas[0].retentions = crate::Retention::parse_list("10s:1h,1m:1d").unwrap();
        let now = 1_700_006_400;
        let db = Tsdb::open(dir.path(), cfg, &Registry::new(), now).unwrap();
        let t = now - 1800;
        for round in 0..3 {
            let pts: Vec<Point> = (0..30)
                .map(|i| Point {
                    name: "s.x".into(),
                    ts: t + 10 * i,
                    value: f64::from(round * 100) + i as f64,
                })
                .collect();
            db.append(&pts, Durability::Buffered).unwrap();
            db.flush(now).unwrap();
        }
        // Unflushed, so the snapshot holds it in its head.
        db.append(
            &[Point {
                name: "s.x".into(),
                ts: t,
                value: -1.0,
            }],
            Durability::Buffered,
        )
        .unwrap();
        let (id, sid) = read(&db.catalog).lookup("s.x").unwrap();
        let schema = read(&db.catalog).schema(sid).unwrap().clone();
        let snap = db.snap();
        let ignore = |_: &BlockReader, e: &Error| panic!("{e}");
        let values = |snap: &crate::snapshot::Snapshot, level: usize, step: i64| {
            let start = (t / step) * step;
            ReadCtx::new(snap, &ignore).values(id, &schema, sid, level, start, start + 600)
        };
        let raw = values(&snap, 0, 10);
        let minutes = values(&snap, 1, 60);
        assert_eq!(raw[..3], [Some(-1.0), Some(201.0), Some(202.0)]);
        // A flush, compaction (deleting its inputs) and a rollup (deleting the raw partition)
        // all happen after the snapshot was taken.
        db.flush(now).unwrap();
        let report = db.maintain(now + 2 * 86_400).unwrap();
        assert!(report.compactions + report.rollups > 0, "{report:?}");
        assert_eq!(values(&snap, 0, 10), raw);
        assert_eq!(values(&snap, 1, 60), minutes);
        // The live state did change (the data is past retention by now).
        assert_ne!(values(&db.snap(), 1, 60), minutes);
    }
}
