//! The durability contract: what `append` acknowledged comes back after a crash (dropping the
//! engine without `close` is exactly a process crash: nothing in memory is flushed), and damage
//! to WAL, block and index files is survived, counted and reported with the rest intact.

mod common;

use common::{config, metric, open, open_with, pt, values, NOW};
use lookout_core::selfmon::Registry;
use lookout_core::{Durability, MetricAppender, MetricReader};
use std::path::{Path, PathBuf};

fn batch(series: usize, points: usize, start: i64) -> Vec<lookout_core::Point> {
    let mut out = Vec::new();
    for i in 0..points {
        for s in 0..series {
            let v = (s * 1000 + i) as f64 / 4.0;
            out.push(pt(&format!("app.s{s}.value"), start + 10 * i as i64, v));
        }
    }
    out
}

fn assert_batch(db: &lookout_tsdb::Tsdb, series: usize, points: usize, start: i64) {
    for s in 0..series {
        let got = values(
            db,
            &format!("app.s{s}.value"),
            start - 10,
            start + 10 * (points as i64 - 1),
            NOW,
        );
        let want: Vec<Option<f64>> = (0..points)
            .map(|i| Some((s * 1000 + i) as f64 / 4.0))
            .collect();
        assert_eq!(got, want, "series {s}");
    }
}

fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    v.sort();
    v
}

#[test]
fn synced_points_survive_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config("10s:1d");
    let start = NOW - 5000;
    let db = open(dir.path(), &cfg, NOW);
    for chunk in batch(20, 500, start).chunks(1000) {
        db.append(chunk, Durability::Synced).unwrap();
    }
    drop(db);
    let db = open(dir.path(), &cfg, NOW);
    assert_eq!(db.open_report().points_replayed, 10_000);
    assert_batch(&db, 20, 500, start);
    assert_eq!(db.list_series().unwrap().len(), 20);
}

#[test]
fn buffered_points_survive_once_synced_and_across_flushes() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config("10s:1d");
    let start = NOW - 8000;
    let db = open(dir.path(), &cfg, NOW);
    let all = batch(5, 600, start);
    let (first, second) = all.split_at(all.len() / 2);
    db.append(first, Durability::Buffered).unwrap();
    db.flush(NOW).unwrap();
    db.append(second, Durability::Buffered).unwrap();
    db.sync().unwrap();
    drop(db);
    let db = open(dir.path(), &cfg, NOW);
    assert_eq!(db.open_report().points_replayed, second.len() as u64);
    assert_batch(&db, 5, 600, start);
    // And once more after a clean close.
    db.close(NOW).unwrap();
    let db = open(dir.path(), &cfg, NOW);
    assert_eq!(db.open_report().points_replayed, 0);
    assert_batch(&db, 5, 600, start);
}

#[test]
fn a_torn_wal_tail_loses_only_the_torn_record() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config("10s:1d");
    let start = NOW - 5000;
    let db = open(dir.path(), &cfg, NOW);
    db.append(&batch(3, 100, start), Durability::Synced)
        .unwrap();
    db.append(&[pt("late.write", start, 1.0)], Durability::Synced)
        .unwrap();
    drop(db);
    let seg = files(&dir.path().join("wal"), "wal").pop().unwrap();
    let len = std::fs::metadata(&seg).unwrap().len();
    let f = std::fs::OpenOptions::new().write(true).open(&seg).unwrap();
    f.set_len(len - 3).unwrap();
    drop(f);
    let db = open(dir.path(), &cfg, NOW);
    assert!(
        db.open_report().wal_torn_tail_bytes > 0,
        "{:?}",
        db.open_report()
    );
    assert_batch(&db, 3, 100, start);
    // The torn record held the last point; its series definition came before it and survives.
    assert_eq!(
        values(&db, "late.write", start - 10, start, NOW),
        vec![None]
    );
}

/// Writes two series into two different day partitions and flushes: two block files.
fn two_blocks(dir: &Path, cfg: &lookout_tsdb::Config) {
    let db = open(dir, cfg, NOW);
    db.append(
        &[
            pt("a.x", NOW - 86_400 - 100, 1.5),
            pt("b.y", NOW - 100, 2.5),
        ],
        Durability::Synced,
    )
    .unwrap();
    db.close(NOW).unwrap();
}

#[test]
fn a_flipped_byte_in_a_block_is_quarantined_counted_and_the_rest_served() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config("10s:7d");
    two_blocks(dir.path(), &cfg);
    let blocks = files(&dir.path().join("blocks"), "blk");
    assert_eq!(blocks.len(), 2);
    // The older partition's block sorts first (ids are allocated in partition order).
    let mut bytes = std::fs::read(&blocks[0]).unwrap();
    bytes[2] ^= 0x40;
    std::fs::write(&blocks[0], &bytes).unwrap();
    let registry = Registry::new();
    let db = open_with(dir.path(), &cfg, &registry, NOW);
    let report = db.open_report().clone();
    assert_eq!(report.corrupt_files.len(), 1, "{report:?}");
    assert!(report.corrupt_files[0].contains(".blk"), "{report:?}");
    assert_eq!(metric(&registry, "lookout_tsdb_blocks_corrupt_total"), 1.0);
    assert_eq!(
        values(&db, "b.y", NOW - 110, NOW - 100, NOW),
        vec![Some(2.5)]
    );
    assert_eq!(
        values(&db, "a.x", NOW - 86_400 - 110, NOW - 86_400 - 100, NOW),
        vec![None]
    );
    assert!(dir
        .path()
        .join("quarantine")
        .join(blocks[0].file_name().unwrap())
        .exists());
    // Reopening again finds nothing new to complain about, and new writes work.
    db.append(&[pt("a.x", NOW - 50, 3.0)], Durability::Synced)
        .unwrap();
    drop(db);
    let db = open(dir.path(), &cfg, NOW);
    assert!(db.open_report().corrupt_files.is_empty());
    assert_eq!(values(&db, "a.x", NOW - 60, NOW - 50, NOW), vec![Some(3.0)]);
}

#[test]
fn damage_appearing_after_open_is_skipped_counted_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config("10s:7d");
    two_blocks(dir.path(), &cfg);
    let registry = Registry::new();
    let db = open_with(dir.path(), &cfg, &registry, NOW);
    let blocks = files(&dir.path().join("blocks"), "blk");
    let mut bytes = std::fs::read(&blocks[0]).unwrap();
    bytes[2] ^= 0x40;
    std::fs::write(&blocks[0], &bytes).unwrap();
    assert_eq!(
        values(&db, "a.x", NOW - 86_400 - 110, NOW - 86_400 - 100, NOW),
        vec![None]
    );
    assert_eq!(
        values(&db, "a.x", NOW - 86_400 - 110, NOW - 86_400 - 100, NOW),
        vec![None]
    );
    assert_eq!(
        values(&db, "b.y", NOW - 110, NOW - 100, NOW),
        vec![Some(2.5)]
    );
    assert_eq!(metric(&registry, "lookout_tsdb_blocks_corrupt_total"), 1.0);
    let report = db.maintain(NOW).unwrap();
    assert_eq!(report.corrupt.len(), 1, "{report:?}");
    assert!(report.corrupt[0].contains("CRC"), "{report:?}");
}

#[test]
fn a_damaged_index_file_is_quarantined_and_the_engine_opens() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config("10s:7d");
    let db = open(dir.path(), &cfg, NOW);
    db.append(&[pt("first.series", NOW - 100, 1.0)], Durability::Synced)
        .unwrap();
    db.flush(NOW).unwrap();
    db.append(&[pt("second.series", NOW - 100, 2.0)], Durability::Synced)
        .unwrap();
    db.close(NOW).unwrap();
    let idx = files(&dir.path().join("index"), "idx");
    assert_eq!(idx.len(), 2);
    let mut bytes = std::fs::read(&idx[1]).unwrap();
    bytes[0] ^= 0xff;
    std::fs::write(&idx[1], &bytes).unwrap();
    let registry = Registry::new();
    let db = open_with(dir.path(), &cfg, &registry, NOW);
    assert_eq!(db.open_report().corrupt_files.len(), 1);
    assert_eq!(metric(&registry, "lookout_tsdb_blocks_corrupt_total"), 1.0);
    assert_eq!(db.list_series().unwrap(), vec!["first.series".to_string()]);
    assert_eq!(
        values(&db, "first.series", NOW - 110, NOW - 100, NOW),
        vec![Some(1.0)]
    );
}

#[test]
fn a_second_open_of_the_same_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config("10s:1d");
    let _db = open(dir.path(), &cfg, NOW);
    let err = lookout_tsdb::Tsdb::open(dir.path(), cfg, &Registry::new(), NOW).unwrap_err();
    assert!(err.to_string().contains("locked"), "{err}");
}
