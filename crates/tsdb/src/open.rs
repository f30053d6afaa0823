//! `Tsdb::open`: takes the directory lock, reads the series index files into the catalog and
//! opens every block (checking footers, and CRCs if configured), finishes what a crash
//! interrupted (files superseded by a compaction or rollup are deleted, leftover temp files
//! removed), moves damaged files to `quarantine/`, then replays the WAL after the last
//! checkpoint into the catalog and the head. Damage is counted and reported, never fatal: the
//! engine opens with whatever is intact.

use std::collections::HashSet;
use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicI64, AtomicU64};
use std::sync::{Arc, Mutex, RwLock};

use lookout_core::selfmon::Registry;
use lookout_disk::{Lsn, Wal, WalOptions};

use crate::block::{BlockReader, NO_WATERMARK};
use crate::catalog::{Catalog, Replayed};
use crate::config::Config;
use crate::engine::{Ingest, MaintState, Tsdb};
use crate::error::{Error, Result};
use crate::filenames::{
    parse_file_id, BLOCKS_DIR, BLOCK_EXTENSION, INDEX_DIR, INDEX_EXTENSION, QUARANTINE_DIR, WAL_DIR,
};
use crate::head::{Head, Routed};
use crate::metrics::Metrics;
use crate::report::OpenReport;
use crate::series_file::{read_index_file, IndexFile, IndexRecord};
use crate::snapshot::{Snapshot, Watermarks};
use crate::wal_record::{self, KIND_DELETE, KIND_POINTS, KIND_SCHEMA, KIND_SERIES};

impl Tsdb {
    /// Opens (creating if needed) the engine in `dir` at time `now`. See the module
    /// documentation of `open` for what is checked and repaired; [`Tsdb::open_report`] tells
    /// what was found. Fails if another process holds the directory, on I/O errors, or if the
    /// WAL itself is unreadable.
    pub fn open(dir: &Path, config: Config, registry: &Registry, now: i64) -> Result<Tsdb> {
        config.validate()?;
        fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let lock = lookout_disk::lock_dir(dir)?;
        for sub in [BLOCKS_DIR, INDEX_DIR] {
            let d = dir.join(sub);
            fs::create_dir_all(&d).map_err(|e| Error::io(&d, e))?;
            lookout_disk::remove_temp_files(&d)?;
        }
        let metrics = Metrics::new(registry);
        let mut report = OpenReport::default();

        let index = load_index(dir, &mut report)?;
        let mut catalog = index.catalog;
        let blocks = load_blocks(dir, config.verify_blocks_on_open, &mut report)?;

        let (wal, recovery) = Wal::open(
            &dir.join(WAL_DIR),
            WalOptions {
                segment_bytes: config.wal_segment_bytes,
                ..WalOptions::default()
            },
        )?;
        report.wal_torn_tail_bytes = recovery.torn_tail_bytes;
        report.wal_corrupt_records = recovery.corrupt_records;
        let hist = metrics.wal_fsync.clone();
        wal.set_fsync_observer(Box::new(move |d| hist.observe(d.as_secs_f64())));

        let mut watermarks = Watermarks::default();
        for &(schema, level, w) in &index.watermarks {
            watermarks.raise(schema, usize::from(level), w);
        }
        for b in &blocks.live {
            if b.meta.watermark != NO_WATERMARK {
                watermarks.raise(b.meta.schema, usize::from(b.meta.level), b.meta.watermark);
            }
        }
        watermarks.normalize();

        let head = Arc::new(Head::new(now));
        let head_base = now;
        replay(
            &wal,
            index.wal_checkpoint,
            &mut catalog,
            &head,
            &watermarks,
            &config,
            now,
            &mut report,
        )?;

        let mut snapshot = Snapshot {
            blocks: Default::default(),
            watermarks: watermarks.clone(),
            frozen: Vec::new(),
            active: head.clone(),
        };
        let mut file_bytes = index.files.iter().map(|f| f.1).sum::<u64>();
        for b in blocks.live {
            file_bytes += b.size;
            snapshot.add_block(b);
        }
        report.series = catalog.live() as u64;
        report.blocks = snapshot.all_blocks().count() as u64;
        report.index_files = index.files.len() as u64;
        metrics
            .blocks_corrupt
            .add(report.corrupt_files.len() as u64);

        let tsdb = Tsdb {
            dir: dir.to_path_buf(),
            config,
            wal,
            catalog: RwLock::new(catalog),
            ingest: Mutex::new(Ingest { head, watermarks }),
            snapshot: RwLock::new(Arc::new(snapshot)),
            maint: Mutex::new(MaintState {
                next_block_id: blocks.next_id,
                next_seq: blocks.next_seq,
                next_index_id: index.next_id,
                index_files: index.files,
                last_flush: now,
                wal_checkpoint: index.wal_checkpoint,
            }),
            clock: AtomicI64::new(now),
            head_base,
            metrics,
            report,
            corrupt_seen: Mutex::new((HashSet::new(), Vec::new())),
            file_bytes: AtomicU64::new(file_bytes),
            _lock: lock,
        };
        tsdb.update_gauges();
        Ok(tsdb)
    }
}

/// Lists `(id, path)` of the files in `dir` named with `extension`, by id.
fn list(dir: &Path, extension: &str) -> Result<Vec<(u64, std::path::PathBuf)>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        if let Some(id) = parse_file_id(&entry.file_name().to_string_lossy(), extension) {
            out.push((id, entry.path()));
        }
    }
    out.sort();
    Ok(out)
}

/// Moves a damaged file to `quarantine/`, or deletes it if that fails (it is never read again
/// either way).
fn quarantine(dir: &Path, path: &Path) {
    let q = dir.join(QUARANTINE_DIR);
    let moved = fs::create_dir_all(&q).is_ok()
        && path
            .file_name()
            .is_some_and(|n| fs::rename(path, q.join(n)).is_ok());
    if !moved {
        let _ = fs::remove_file(path);
    }
}

/// Whether an error opening a file means the file is damaged (or of a format version this build
/// cannot read), as opposed to an I/O failure that must stop the open.
fn is_damage(e: &Error) -> bool {
    matches!(
        e,
        Error::Corrupt { .. }
            | Error::Disk(lookout_disk::Error::Corrupt { .. })
            | Error::Disk(lookout_disk::Error::UnsupportedVersion { .. })
    )
}

fn remove(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(path, e)),
    }
}

struct LoadedIndex {
    catalog: Catalog,
    watermarks: Vec<(u32, u8, i64)>,
    wal_checkpoint: Lsn,
    files: Vec<(u64, u64)>,
    next_id: u64,
}

fn load_index(dir: &Path, report: &mut OpenReport) -> Result<LoadedIndex> {
    let listed = list(&dir.join(INDEX_DIR), INDEX_EXTENSION)?;
    let next_id = listed.last().map_or(1, |(id, _)| id + 1);
    let mut good: Vec<IndexFile> = Vec::new();
    let mut bad = Vec::new();
    for (id, path) in &listed {
        match read_index_file(path, *id) {
            Ok(f) => good.push(f),
            Err(e) if is_damage(&e) => bad.push((*id, path.clone(), e)),
            Err(e) => return Err(e),
        }
    }
    let superseded: HashSet<u64> = good.iter().flat_map(|f| f.replaces.clone()).collect();
    for (id, path) in &listed {
        if superseded.contains(id) {
            remove(path)?;
            report.superseded_files_removed += 1;
        }
    }
    for (id, path, e) in bad {
        if !superseded.contains(&id) {
            report.corrupt_files.push(e.to_string());
            quarantine(dir, &path);
        }
    }
    good.retain(|f| !superseded.contains(&f.id));
    let mut catalog = Catalog::default();
    let mut wal_checkpoint = 0;
    let mut watermarks = Vec::new();
    for f in &good {
        watermarks.extend_from_slice(&f.watermarks);
        wal_checkpoint = wal_checkpoint.max(f.wal_checkpoint);
        for rec in &f.records {
            match rec {
                IndexRecord::Schema(id, schema) => {
                    catalog.define_schema(*id, schema.clone());
                }
                IndexRecord::Series { id, schema, name } => {
                    catalog.define(*id, name, *schema);
                }
                IndexRecord::Delete(id) => catalog.apply_delete(*id),
            }
        }
        // After the file's own definitions, which `define` would otherwise take as deleted.
        catalog.reserve_ids(f.next_series);
    }
    Ok(LoadedIndex {
        catalog,
        watermarks,
        wal_checkpoint,
        files: good.iter().map(|f| (f.id, f.size)).collect(),
        next_id,
    })
}

struct LoadedBlocks {
    live: Vec<Arc<BlockReader>>,
    next_id: u64,
    next_seq: u64,
}

fn load_blocks(dir: &Path, verify: bool, report: &mut OpenReport) -> Result<LoadedBlocks> {
    let listed = list(&dir.join(BLOCKS_DIR), BLOCK_EXTENSION)?;
    let next_id = listed.last().map_or(1, |(id, _)| id + 1);
    let mut good = Vec::new();
    let mut bad = Vec::new();
    for (id, path) in &listed {
        match BlockReader::open(path, *id, verify) {
            Ok(b) => good.push(b),
            Err(e) if is_damage(&e) => bad.push((*id, path.clone(), e)),
            Err(e) => return Err(e),
        }
    }
    let superseded: HashSet<u64> = good.iter().flat_map(|b| b.meta.replaces.clone()).collect();
    for (id, path) in &listed {
        if superseded.contains(id) {
            remove(path)?;
            report.superseded_files_removed += 1;
        }
    }
    for (id, path, e) in bad {
        if !superseded.contains(&id) {
            report.corrupt_files.push(e.to_string());
            quarantine(dir, &path);
        }
    }
    good.retain(|b| !superseded.contains(&b.id));
    let next_seq = good.iter().map(|b| b.meta.seq + 1).max().unwrap_or(1);
    Ok(LoadedBlocks {
        live: good.into_iter().map(Arc::new).collect(),
        next_id,
        next_seq,
    })
}

/// Replays WAL records from `from` into the catalog and the head, routing points as `append`
/// would at `now`.
#[allow(clippy::too_many_arguments)]
fn replay(
    wal: &Wal,
    from: Lsn,
    catalog: &mut Catalog,
    head: &Head,
    watermarks: &Watermarks,
    config: &Config,
    now: i64,
    report: &mut OpenReport,
) -> Result<()> {
    let mut routed = Vec::new();
    wal.replay(from, |_lsn, payload| {
        report.wal_records_replayed += 1;
        let Some((&kind, body)) = payload.split_first() else {
            report.wal_undecodable_records += 1;
            return Ok(());
        };
        let ok = match kind {
            KIND_SCHEMA => {
                let mut r = crate::varint::Reader::new(body);
                match (r.u32(), wal_record::read_schema(&mut r)) {
                    (Some(id), Ok(schema)) => {
                        let known = catalog.schema(id).is_some();
                        let ok = catalog.define_schema(id, schema);
                        if ok && !known {
                            catalog.note_replayed(Replayed::Schema(id));
                        }
                        ok
                    }
                    _ => false,
                }
            }
            KIND_SERIES => match wal_record::decode_series_defs(body) {
                Ok(defs) => defs.iter().fold(true, |all_ok, d| {
                    let known = catalog.series(d.id).is_some();
                    let ok = catalog.define(d.id, d.name, d.schema);
                    if ok && !known && catalog.is_live(d.id) {
                        catalog.note_replayed(Replayed::Series(d.id));
                    }
                    all_ok && ok
                }),
                Err(_) => false,
            },
            KIND_DELETE => match wal_record::decode_delete(body) {
                Ok(ids) => {
                    for id in ids {
                        catalog.apply_delete(id);
                        catalog.note_replayed(Replayed::Delete(id));
                    }
                    true
                }
                Err(_) => false,
            },
            KIND_POINTS => {
                routed.clear();
                let mut dropped = 0u64;
                let res = wal_record::decode_points(body, |id, ts, value| {
                    let Some(info) = catalog.series(id) else {
                        dropped += 1;
                        return;
                    };
                    let Some(schema) = catalog.schema(info.schema) else {
                        dropped += 1;
                        return;
                    };
                    let fits = i32::try_from(ts.wrapping_sub(now)).is_ok();
                    if ts < now.saturating_sub(schema.max_retention())
                        || ts > now.saturating_add(config.max_future_secs)
                        || !fits
                    {
                        dropped += 1;
                        return;
                    }
                    let level = watermarks.level_for(info.schema, schema.levels(), ts);
                    routed.push(Routed {
                        id,
                        schema: info.schema,
                        level,
                        ts,
                        value,
                    });
                });
                head.insert(&routed);
                report.points_replayed += routed.len() as u64;
                report.points_replay_dropped += dropped;
                res.is_ok()
            }
            _ => false,
        };
        if !ok {
            report.wal_undecodable_records += 1;
        }
        Ok(())
    })?;
    Ok(())
}
