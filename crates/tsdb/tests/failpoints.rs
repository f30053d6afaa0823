//! Failures injected at each durability step of flush, compaction and rollup (lookout-disk's
//! fail points, `--features failpoints`): the failed step returns an error, everything written
//! before stays readable, a retry succeeds, and a crash right after loses nothing. Fail points
//! are process-global, so these tests take a lock and run one at a time.

mod common;

use std::sync::Mutex;

use common::{config, open, pt, values, NOW};
use lookout_core::{Durability, MetricAppender};
use lookout_disk::failpoints::{self, arm, disarm_all};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    let g = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    disarm_all();
    g
}

fn write_two(db: &lookout_tsdb::Tsdb) {
    db.append(
        &[pt("f.a", NOW - 100, 1.0), pt("f.b", NOW - 100, 2.0)],
        Durability::Synced,
    )
    .unwrap();
}

fn check_two(db: &lookout_tsdb::Tsdb) {
    assert_eq!(
        values(db, "f.a", NOW - 110, NOW - 100, NOW),
        vec![Some(1.0)]
    );
    assert_eq!(
        values(db, "f.b", NOW - 110, NOW - 100, NOW),
        vec![Some(2.0)]
    );
}

#[test]
fn a_failed_block_rename_during_flush_keeps_everything_readable() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config("10s:7d");
    let db = open(dir.path(), &cfg, NOW);
    write_two(&db);
    arm(failpoints::ATOMIC_BEFORE_RENAME, 1);
    assert!(db.flush(NOW).is_err());
    check_two(&db);
    // More points arrive; the retry flushes the frozen head and the new one.
    db.append(&[pt("f.a", NOW - 90, 3.0)], Durability::Synced)
        .unwrap();
    db.flush(NOW).unwrap();
    check_two(&db);
    assert_eq!(
        values(&db, "f.a", NOW - 100, NOW - 90, NOW),
        vec![Some(3.0)]
    );
    drop(db);
    let db = open(dir.path(), &cfg, NOW);
    check_two(&db);
    assert_eq!(db.open_report().points_replayed, 0);
}

#[test]
fn a_crash_after_a_failed_flush_replays_the_wal() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config("10s:7d");
    let db = open(dir.path(), &cfg, NOW);
    write_two(&db);
    arm(failpoints::ATOMIC_BEFORE_FSYNC, 1);
    assert!(db.flush(NOW).is_err());
    drop(db);
    let db = open(dir.path(), &cfg, NOW);
    check_two(&db);
    assert_eq!(db.open_report().points_replayed, 2);
}

#[test]
fn a_failed_wal_rotation_fails_the_flush_but_not_the_appends() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config("10s:7d");
    let db = open(dir.path(), &cfg, NOW);
    write_two(&db);
    arm(failpoints::WAL_ROTATE_CREATE, 1);
    assert!(db.flush(NOW).is_err());
    db.append(&[pt("f.c", NOW - 100, 3.0)], Durability::Synced)
        .unwrap();
    db.flush(NOW).unwrap();
    check_two(&db);
    drop(db);
    let db = open(dir.path(), &cfg, NOW);
    check_two(&db);
    assert_eq!(
        values(&db, "f.c", NOW - 110, NOW - 100, NOW),
        vec![Some(3.0)]
    );
}

#[test]
fn a_failed_compaction_keeps_its_inputs() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config("10s:7d");
    let db = open(dir.path(), &cfg, NOW);
    let day = NOW - 2 * 86_400;
    for i in 0..3 {
        db.append(&[pt("f.a", day + 10 * i, i as f64)], Durability::Buffered)
            .unwrap();
        db.flush(NOW).unwrap();
    }
    arm(failpoints::ATOMIC_BEFORE_RENAME, 1);
    assert!(db.maintain(NOW).is_err());
    let want = vec![Some(0.0), Some(1.0), Some(2.0)];
    assert_eq!(values(&db, "f.a", day - 10, day + 20, NOW), want);
    assert_eq!(db.maintain(NOW).unwrap().compactions, 1);
    assert_eq!(values(&db, "f.a", day - 10, day + 20, NOW), want);
    drop(db);
    let db = open(dir.path(), &cfg, NOW);
    assert_eq!(values(&db, "f.a", day - 10, day + 20, NOW), want);
}

#[test]
fn a_failed_rollup_keeps_the_finer_data_and_is_retried() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config("10s:1h,1m:1d");
    let t = NOW - 1800;
    let db = open(dir.path(), &cfg, NOW);
    let pts: Vec<_> = (0..6).map(|i| pt("f.a", t + 10 * i, i as f64)).collect();
    db.append(&pts, Durability::Synced).unwrap();
    db.flush(NOW).unwrap();
    // The raw partition ends at NOW: one hour later it is past `10s:1h` and rolled up.
    let later = NOW + 3600;
    let minute = |db: &lookout_tsdb::Tsdb| values(db, "f.a", t - 60, t, later);
    assert_eq!(minute(&db), vec![Some(2.5)]);
    arm(failpoints::ATOMIC_BEFORE_RENAME, 1);
    assert!(db.maintain(later).is_err());
    assert_eq!(minute(&db), vec![Some(2.5)]);
    assert_eq!(db.maintain(later).unwrap().rollups, 1);
    assert_eq!(minute(&db), vec![Some(2.5)]);
    drop(db);
    let db = open(dir.path(), &cfg, later);
    assert_eq!(minute(&db), vec![Some(2.5)]);
}

#[test]
fn a_failed_fsync_fails_a_synced_append() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config("10s:7d");
    let db = open(dir.path(), &cfg, NOW);
    write_two(&db);
    arm(failpoints::WAL_SYNC_FSYNC, 1);
    let err = db
        .append(&[pt("f.a", NOW - 90, 5.0)], Durability::Synced)
        .unwrap_err();
    assert!(err.to_string().contains("fail point"), "{err}");
    disarm_all();
    // The log refuses further writes until reopened (a failed fsync may have lost pages);
    // reopening recovers everything that reached the file.
    drop(db);
    let db = open(dir.path(), &cfg, NOW);
    check_two(&db);
}
