//! Data over its life: last write wins per slot through flushes, compactions and restarts;
//! expired points are dropped and counted; retention deletes whole blocks; deletion persists.

mod common;

use common::{config, metric, open, open_with, pt, values, NOW};
use lookout_core::selfmon::Registry;
use lookout_core::{Durability, Glob, MetricAppender, MetricReader};

fn block_count(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir.join("blocks")).unwrap().count()
}

#[test]
fn last_write_wins_across_flushes_compactions_and_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config("10s:7d");
    let t = NOW - 3 * 86_400 + 1000;
    let v = |db: &lookout_tsdb::Tsdb| values(db, "x.y", t - 10, t + 30, NOW);
    let db = open(dir.path(), &cfg, NOW);
    // Out of order and duplicated inside one batch: the last occurrence per slot wins.
    db.append(
        &[
            pt("x.y", t + 20, 3.0),
            pt("x.y", t, 1.0),
            pt("x.y", t + 9, 1.5),
            pt("x.y", t + 30, 4.0),
        ],
        Durability::Buffered,
    )
    .unwrap();
    assert_eq!(v(&db), vec![Some(1.5), None, Some(3.0), Some(4.0)]);
    db.flush(NOW).unwrap();
    // A late rewrite of a flushed slot wins over the block.
    db.append(&[pt("x.y", t + 25, 30.0)], Durability::Synced)
        .unwrap();
    assert_eq!(v(&db), vec![Some(1.5), None, Some(30.0), Some(4.0)]);
    drop(db);
    let db = open(dir.path(), &cfg, NOW);
    assert_eq!(v(&db), vec![Some(1.5), None, Some(30.0), Some(4.0)]);
    // More flushes of the same cold partition, then compaction merges them.
    for (i, val) in [10.0, 11.0, 12.0].iter().enumerate() {
        db.append(
            &[
                pt("x.y", t + 10, *val),
                pt("x.y", t + 40 + i as i64 * 10, *val),
            ],
            Durability::Synced,
        )
        .unwrap();
        db.flush(NOW).unwrap();
    }
    assert!(block_count(dir.path()) >= 4);
    let report = db.maintain(NOW).unwrap();
    assert_eq!(report.compactions, 1, "{report:?}");
    assert_eq!(block_count(dir.path()), 1);
    let want = vec![
        Some(1.5),
        Some(12.0),
        Some(30.0),
        Some(4.0),
        Some(10.0),
        Some(11.0),
        Some(12.0),
    ];
    assert_eq!(values(&db, "x.y", t - 10, t + 60, NOW), want);
    db.close(NOW).unwrap();
    let db = open(dir.path(), &cfg, NOW);
    assert_eq!(values(&db, "x.y", t - 10, t + 60, NOW), want);
}

#[test]
fn a_hot_partition_is_compacted_in_tiers() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config("10s:7d");
    let db = open(dir.path(), &cfg, NOW);
    for i in 0..8 {
        db.append(
            &[pt("hot.x", NOW - 1000 + i * 10, i as f64)],
            Durability::Buffered,
        )
        .unwrap();
        db.flush(NOW).unwrap();
    }
    assert_eq!(block_count(dir.path()), 8);
    db.maintain(NOW).unwrap();
    // Runs of 4 similar blocks merge; the partition is hot, so it is not merged whole.
    assert!(block_count(dir.path()) < 8, "{}", block_count(dir.path()));
    let got = values(&db, "hot.x", NOW - 1010, NOW - 930, NOW);
    assert_eq!(got, (0..8).map(|i| Some(f64::from(i))).collect::<Vec<_>>());
}

#[test]
fn points_past_the_coarsest_retention_are_dropped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::new();
    let db = open_with(dir.path(), &config("10s:1d"), &registry, NOW);
    db.append(
        &[
            pt("old.one", NOW - 86_400 - 10, 1.0),
            pt("ok.one", NOW - 100, 2.0),
            pt("future.one", NOW + 30 * 86_400, 3.0),
            pt("bad..name", NOW - 100, 4.0),
        ],
        Durability::Synced,
    )
    .unwrap();
    assert_eq!(
        metric(
            &registry,
            "lookout_tsdb_points_dropped_total{reason=\"expired\"}"
        ),
        1.0
    );
    assert_eq!(
        metric(
            &registry,
            "lookout_tsdb_points_dropped_total{reason=\"future\"}"
        ),
        1.0
    );
    assert_eq!(
        metric(
            &registry,
            "lookout_tsdb_points_dropped_total{reason=\"invalid_name\"}"
        ),
        1.0
    );
    assert_eq!(metric(&registry, "lookout_tsdb_points_appended_total"), 1.0);
    assert_eq!(
        values(&db, "ok.one", NOW - 110, NOW - 100, NOW),
        vec![Some(2.0)]
    );
    // Judged against the clock of the last maintain: after a day passes, the point expires.
    db.maintain(NOW + 86_400).unwrap();
    db.append(&[pt("ok.one", NOW - 90, 5.0)], Durability::Synced)
        .unwrap();
    assert_eq!(
        metric(
            &registry,
            "lookout_tsdb_points_dropped_total{reason=\"expired\"}"
        ),
        2.0
    );
}

#[test]
fn retention_deletes_whole_expired_blocks_and_masks_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config("10s:2d");
    let db = open(dir.path(), &cfg, NOW);
    // Three day partitions: NOW-2d, NOW-1d, NOW (NOW is a day boundary).
    for d in [2i64, 1, 0] {
        db.append(
            &[pt("r.x", NOW - d * 86_400 + 100, d as f64)],
            Durability::Synced,
        )
        .unwrap();
    }
    db.flush(NOW).unwrap();
    assert_eq!(block_count(dir.path()), 3);
    // One day later the oldest partition ends exactly at the retention limit: deleted whole.
    let later = NOW + 86_400;
    let report = db.maintain(later).unwrap();
    assert_eq!(report.expired_blocks, 1, "{report:?}");
    assert_eq!(block_count(dir.path()), 2);
    let d = common::fetch(&db, "r.x", later - 2 * 86_400, later, later);
    assert_eq!(
        d.values.iter().flatten().copied().collect::<Vec<f64>>(),
        vec![1.0, 0.0]
    );
    // Half a day further, the next partition is partly past retention: kept, but masked.
    let later = later + 43_200;
    db.maintain(later).unwrap();
    assert_eq!(block_count(dir.path()), 2);
    let d = common::fetch(&db, "r.x", later - 3 * 86_400, later, later);
    assert_eq!(
        d.values.iter().flatten().copied().collect::<Vec<f64>>(),
        vec![0.0]
    );
}

#[test]
fn deleted_series_stay_deleted_across_restarts_and_can_be_recreated() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config("10s:7d");
    let db = open(dir.path(), &cfg, NOW);
    db.append(
        &[
            pt("srv.a.cpu", NOW - 500, 1.0),
            pt("srv.b.cpu", NOW - 500, 2.0),
            pt("srv.a.mem;dc=sf", NOW - 500, 3.0),
        ],
        Durability::Synced,
    )
    .unwrap();
    db.flush(NOW).unwrap();
    assert_eq!(db.delete(&Glob::new("srv.a.*").unwrap()).unwrap(), 2);
    assert_eq!(db.list_series().unwrap(), vec!["srv.b.cpu".to_string()]);
    drop(db);
    let db = open(dir.path(), &cfg, NOW);
    assert_eq!(db.list_series().unwrap(), vec!["srv.b.cpu".to_string()]);
    assert!(db.find(&Glob::new("srv.a.*").unwrap()).unwrap().is_empty());
    // A new point re-creates the series, without its old data.
    db.append(&[pt("srv.a.cpu", NOW - 400, 9.0)], Durability::Synced)
        .unwrap();
    assert_eq!(
        values(&db, "srv.a.cpu", NOW - 510, NOW - 400, NOW)
            .iter()
            .flatten()
            .count(),
        1
    );
    db.close(NOW).unwrap();
    let db = open(dir.path(), &cfg, NOW);
    let got = values(&db, "srv.a.cpu", NOW - 510, NOW - 400, NOW);
    assert_eq!(
        got.iter().flatten().copied().collect::<Vec<f64>>(),
        vec![9.0]
    );
    assert_eq!(db.stats().series, 2);
    // Compaction drops the deleted series' chunks; the rest stays.
    for i in 0..3 {
        db.append(&[pt("srv.b.cpu", NOW - 300 + i, 5.0)], Durability::Synced)
            .unwrap();
        db.flush(NOW).unwrap();
    }
    db.maintain(NOW + 7200).unwrap();
    assert_eq!(
        values(&db, "srv.b.cpu", NOW - 510, NOW - 500, NOW + 7200),
        vec![Some(2.0)]
    );
}

#[test]
fn many_index_files_are_merged_and_still_describe_everything() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config("10s:7d");
    let db = open(dir.path(), &cfg, NOW);
    for i in 0..20 {
        db.append(
            &[pt(&format!("s.n{i}"), NOW - 100, i as f64)],
            Durability::Buffered,
        )
        .unwrap();
        if i == 7 {
            db.delete(&Glob::new("s.n3").unwrap()).unwrap();
        }
        db.flush(NOW).unwrap();
    }
    let report = db.maintain(NOW).unwrap();
    assert_eq!(report.index_files_merged, 1);
    assert_eq!(
        std::fs::read_dir(dir.path().join("index")).unwrap().count(),
        1
    );
    drop(db);
    let db = open(dir.path(), &cfg, NOW);
    assert_eq!(db.list_series().unwrap().len(), 19);
    assert_eq!(
        values(&db, "s.n19", NOW - 110, NOW - 100, NOW),
        vec![Some(19.0)]
    );
    // The deleted id is not handed out again.
    db.append(&[pt("s.n3", NOW - 50, 1.0)], Durability::Synced)
        .unwrap();
    assert_eq!(
        values(&db, "s.n3", NOW - 110, NOW - 50, NOW)
            .iter()
            .flatten()
            .count(),
        1
    );
}

#[test]
fn a_batch_larger_than_one_wal_record_is_split_and_fully_stored() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config("10s:7d");
    let db = open(dir.path(), &cfg, NOW);
    let batch: Vec<_> = (0..600_000i64)
        .map(|i| {
            pt(
                &format!("big.s{}", i % 100),
                NOW - 86_400 + 10 * (i / 100),
                i as f64,
            )
        })
        .collect();
    db.append(&batch, Durability::Synced).unwrap();
    drop(db);
    let db = open(dir.path(), &cfg, NOW);
    assert!(db.open_report().wal_records_replayed >= 2);
    assert_eq!(db.open_report().points_replayed, 600_000);
    let got = values(&db, "big.s7", NOW - 86_400 - 10, NOW, NOW);
    assert_eq!(got.iter().flatten().count(), 6000);
    assert_eq!(got[5999], Some(599_907.0));
}

#[test]
fn self_metrics_are_registered_and_move() {
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::new();
    let db = open_with(dir.path(), &config("10s:7d"), &registry, NOW);
    db.append(
        &[pt("m.a", NOW - 100, 1.0), pt("m.b", NOW - 100, 2.0)],
        Durability::Synced,
    )
    .unwrap();
    db.flush(NOW).unwrap();
    db.maintain(NOW).unwrap();
    assert_eq!(metric(&registry, "lookout_tsdb_points_appended_total"), 2.0);
    assert_eq!(metric(&registry, "lookout_tsdb_series"), 2.0);
    assert!(metric(&registry, "lookout_tsdb_disk_bytes") > 0.0);
    assert!(metric(&registry, "lookout_tsdb_wal_bytes") > 0.0);
    assert!(metric(&registry, "lookout_disk_wal_fsync_seconds_count") >= 1.0);
    assert_eq!(metric(&registry, "lookout_tsdb_blocks_corrupt_total"), 0.0);
    assert_eq!(
        metric(
            &registry,
            "lookout_tsdb_points_dropped_total{reason=\"expired\"}"
        ),
        0.0
    );
    let stats = db.stats();
    assert_eq!(stats.series, 2);
    assert_eq!(
        stats.disk_bytes as f64,
        metric(&registry, "lookout_tsdb_disk_bytes")
    );
}

#[test]
fn a_late_point_into_a_large_cold_partition_does_not_rewrite_it() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config("10s:7d");
    let db = open(dir.path(), &cfg, NOW);
    let day = NOW - 2 * 86_400;
    let big: Vec<_> = (0..8640i64)
        .map(|i| pt("cold.x", day + 10 * i, ((i * 7919) % 10_007) as f64 / 8.0))
        .collect();
    db.append(&big, Durability::Buffered).unwrap();
    db.flush(NOW).unwrap();
    db.append(&[pt("cold.x", day + 5, -1.0)], Durability::Buffered)
        .unwrap();
    db.flush(NOW).unwrap();
    let report = db.maintain(NOW).unwrap();
    assert_eq!(report.compactions, 0, "{report:?}");
    assert_eq!(block_count(dir.path()), 2);
    assert_eq!(values(&db, "cold.x", day - 10, day, NOW), vec![Some(-1.0)]);
    // Enough late data piles up (more than twice the fanout of blocks): merged whole.
    for i in 0..8 {
        db.append(
            &[pt("cold.x", day + 100 + i, f64::from(i as i32))],
            Durability::Buffered,
        )
        .unwrap();
        db.flush(NOW).unwrap();
    }
    db.maintain(NOW).unwrap();
    assert!(block_count(dir.path()) <= 2, "{}", block_count(dir.path()));
    let got = values(&db, "cold.x", day - 10, day + 100, NOW);
    assert_eq!((got[0], got[10]), (Some(-1.0), Some(7.0)));
    assert_eq!(got.iter().flatten().count(), 11);
}
