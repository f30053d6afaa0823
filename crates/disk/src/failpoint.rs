//! Named fail points: places in the WAL and in atomic writes where a test can make the next
//! operation fail, to check that a failure at that step leaves the previous state readable.
//!
//! With the `failpoints` feature, `arm` makes the named point return an error for its next
//! `times` hits; the configuration is global to the process, so tests that arm points run in
//! their own test binary and one at a time. Without the feature, [`fail_point`] is an inline no-op
//! and `arm` does not exist, so a release build carries no test hooks. Engines call
//! [`fail_point`] with their own names for their own steps; this file only names the steps of
//! `disk`.

/// In `Wal::append`, after the record was handed to the kernel and before it counts as appended:
/// the append fails and the record is rolled back out of the segment.
pub const WAL_APPEND_WRITE: &str = "wal.append.write";
/// In `Wal::sync`, before the fsyncs of a group commit: the commit fails as if fsync had.
pub const WAL_SYNC_FSYNC: &str = "wal.sync.fsync";
/// In a segment rotation, after the new segment's header is written and before it becomes
/// active: the rotation fails and the new file is removed.
pub const WAL_ROTATE_CREATE: &str = "wal.rotate.create";
/// In `write_atomic`, after the content is written and before the temp file is fsynced.
pub const ATOMIC_BEFORE_FSYNC: &str = "atomic.before_fsync";
/// In `write_atomic`, after the temp file is fsynced and before it is renamed over the target.
pub const ATOMIC_BEFORE_RENAME: &str = "atomic.before_rename";

#[cfg(feature = "failpoints")]
mod armed {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Mutex;

    /// Armed points and their remaining failures. A short list: tests arm one or two points.
    static ARMED: Mutex<Vec<(String, u32)>> = Mutex::new(Vec::new());
    /// Lets `fail_point` skip the lock when nothing is armed, so un-armed hot paths (every WAL
    /// append) stay cheap even in a `failpoints` build.
    static ANY: AtomicBool = AtomicBool::new(false);

    fn points() -> std::sync::MutexGuard<'static, Vec<(String, u32)>> {
        // A panicking test cannot leave the list half-updated: every change is one push or
        // one assignment, so a poisoned lock still guards a consistent list.
        ARMED.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Makes the next `times` hits of fail point `name` return an error (0 disarms it).
    pub fn arm(name: &str, times: u32) {
        let mut armed = points();
        armed.retain(|(n, _)| n != name);
        if times > 0 {
            armed.push((name.to_owned(), times));
        }
        ANY.store(!armed.is_empty(), Ordering::SeqCst);
    }

    /// Disarms every fail point.
    pub fn disarm_all() {
        points().clear();
        ANY.store(false, Ordering::SeqCst);
    }

    /// Returns an error if `name` is armed, and counts the hit.
    pub fn fail_point(name: &str) -> std::io::Result<()> {
        if !ANY.load(Ordering::SeqCst) {
            return Ok(());
        }
        let mut armed = points();
        let Some(i) = armed.iter().position(|(n, _)| n == name) else {
            return Ok(());
        };
        armed[i].1 -= 1;
        if armed[i].1 == 0 {
            armed.remove(i);
        }
        ANY.store(!armed.is_empty(), Ordering::SeqCst);
        Err(std::io::Error::other(format!(
            "fail point {name} triggered"
        )))
    }
}

#[cfg(feature = "failpoints")]
pub use armed::{arm, disarm_all, fail_point};

/// Fail points are compiled out without the `failpoints` feature: this never fails.
#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub fn fail_point(_name: &str) -> std::io::Result<()> {
    Ok(())
}

#[cfg(all(test, feature = "failpoints"))]
mod tests {
    use super::*;

    #[test]
    fn armed_point_fails_exactly_times() {
        let name = "test.unit.only";
        arm(name, 2);
        assert!(fail_point(name).is_err());
        assert!(fail_point("test.unit.other").is_ok());
        assert!(fail_point(name).is_err());
        assert!(fail_point(name).is_ok());
    }
}
