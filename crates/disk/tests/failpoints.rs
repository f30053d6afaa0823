//! Fail-point tests: make one step of an atomic write or of the WAL fail, and check that what
//! was on disk before is still intact and that the failure is reported, never hidden. Fail
//! points are global to the process, so these tests run in their own binary (feature
//! `failpoints`) and one at a time under `SERIAL`.

use std::fs;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use lookout_disk::failpoint::{self, arm, disarm_all};
use lookout_disk::{write_atomic, Error, Wal, WalOptions};

static SERIAL: Mutex<()> = Mutex::new(());

/// Takes the test lock and starts from no armed points.
fn serial() -> MutexGuard<'static, ()> {
    let guard = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    disarm_all();
    guard
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn payloads(wal: &Wal) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    wal.replay(0, |_, p| {
        out.push(p.to_vec());
        Ok(())
    })
    .unwrap();
    out
}

#[track_caller]
fn check_atomic_failure(point: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("index");
    write_atomic(&path, |w| w.write_all(b"old index")).unwrap();
    arm(point, 1);
    let err = write_atomic(&path, |w| w.write_all(b"new index")).unwrap_err();
    assert!(err.to_string().contains(point), "{err}");
    assert_eq!(fs::read(&path).unwrap(), b"old index", "{point}");
    assert_eq!(names(dir.path()), ["index"], "{point}: temp file removed");
    write_atomic(&path, |w| w.write_all(b"new index")).unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"new index");
}

#[test]
fn failed_rename_in_write_atomic_leaves_the_old_file_intact() {
    let _serial = serial();
    check_atomic_failure(failpoint::ATOMIC_BEFORE_RENAME);
}

#[test]
fn failed_fsync_in_write_atomic_leaves_the_old_file_intact() {
    let _serial = serial();
    check_atomic_failure(failpoint::ATOMIC_BEFORE_FSYNC);
}

#[test]
fn failed_fsync_is_reported_and_later_syncs_claim_nothing_more() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let (wal, _) = Wal::open(dir.path(), WalOptions::default()).unwrap();
    let a = wal.append(b"a").unwrap();
    wal.sync(a).unwrap();
    assert_eq!(wal.durable_lsn(), a);
    let b = wal.append(b"b").unwrap();

    arm(failpoint::WAL_SYNC_FSYNC, 1);
    match wal.sync(b) {
        Err(Error::Io { source, .. }) => assert!(source.to_string().contains("wal.sync.fsync")),
        other => panic!("expected the fsync error, got {other:?}"),
    }
    assert_eq!(wal.durable_lsn(), a, "b was not fsynced");

    // The fail point is spent, so a real fsync would now succeed; it must still not claim b.
    match wal.sync(b) {
        Err(e @ Error::SyncFailed { .. }) => assert!(e.to_string().contains("wal.sync.fsync")),
        other => panic!("expected SyncFailed, got {other:?}"),
    }
    assert!(matches!(wal.sync_all(), Err(Error::SyncFailed { .. })));
    assert_eq!(wal.durable_lsn(), a);
    wal.sync(a).unwrap();
    assert!(matches!(wal.append(b"c"), Err(Error::SyncFailed { .. })));
    assert!(matches!(wal.rotate(), Err(Error::SyncFailed { .. })));

    // Reopening recovers what reached the file and makes it durable.
    drop(wal);
    let (wal, rec) = Wal::open(dir.path(), WalOptions::default()).unwrap();
    assert_eq!(
        (rec.records, rec.torn_tail_bytes, rec.corrupt_records),
        (2, 0, 0)
    );
    assert_eq!(payloads(&wal), [b"a".to_vec(), b"b".to_vec()]);
    assert_eq!(wal.durable_lsn(), wal.last_lsn());
}

#[test]
fn callers_waiting_on_a_failed_commit_get_an_error() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let (wal, _) = Wal::open(dir.path(), WalOptions::default()).unwrap();
    let lsns: Vec<u64> = (0..8u8).map(|i| wal.append(&[i; 100]).unwrap()).collect();
    arm(failpoint::WAL_SYNC_FSYNC, 1);
    let results: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = lsns
            .iter()
            .map(|&lsn| {
                let wal = &wal;
                s.spawn(move || wal.sync(lsn))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(results.iter().all(|r| r.is_err()), "{results:?}");
    assert_eq!(wal.durable_lsn(), 0);
}

#[test]
fn failed_append_is_rolled_back_and_the_log_stays_usable() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let (wal, _) = Wal::open(dir.path(), WalOptions::default()).unwrap();
    let a = wal.append(b"a").unwrap();
    arm(failpoint::WAL_APPEND_WRITE, 1);
    assert!(matches!(wal.append(&[7u8; 5000]), Err(Error::Io { .. })));
    assert_eq!(wal.last_lsn(), a);
    let c = wal.append(b"c").unwrap();
    assert_eq!(c, a + 9, "c starts where the failed record started");
    wal.sync_all().unwrap();
    drop(wal);
    let (wal, rec) = Wal::open(dir.path(), WalOptions::default()).unwrap();
    assert_eq!(
        (rec.records, rec.torn_tail_bytes, rec.corrupt_records),
        (2, 0, 0)
    );
    assert_eq!(payloads(&wal), [b"a".to_vec(), b"c".to_vec()]);
}

#[test]
fn failed_rotation_keeps_the_active_segment() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let options = WalOptions {
        segment_bytes: 200,
        ..WalOptions::default()
    };
    let (wal, _) = Wal::open(dir.path(), options.clone()).unwrap();
    wal.append(&[1u8; 150]).unwrap();

    arm(failpoint::WAL_ROTATE_CREATE, 1);
    assert!(matches!(wal.rotate(), Err(Error::Io { .. })));
    arm(failpoint::WAL_ROTATE_CREATE, 1);
    assert!(
        matches!(wal.append(&[2u8; 150]), Err(Error::Io { .. })),
        "a full segment must rotate first"
    );
    assert_eq!(
        names(dir.path()).len(),
        1,
        "the half-created segments are removed"
    );

    wal.append(&[3u8; 150]).unwrap();
    wal.rotate().unwrap();
    wal.append(&[4u8; 10]).unwrap();
    wal.sync_all().unwrap();
    drop(wal);
    let (wal, rec) = Wal::open(dir.path(), options).unwrap();
    assert_eq!(
        (rec.records, rec.torn_tail_bytes, rec.corrupt_records),
        (3, 0, 0)
    );
    assert_eq!(
        payloads(&wal),
        [vec![1u8; 150], vec![3u8; 150], vec![4u8; 10]]
    );
}
