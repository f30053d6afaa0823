//! The directory lock: one lookout process per data directory. Two processes appending to the
//! same WAL would interleave and destroy it, so an engine takes this lock before it reads or
//! writes anything in its directory. The lock is advisory (`flock(2)` on `<dir>/LOCK`): it stops
//! other lookout processes, not other programs. It is released by the kernel when the process
//! dies, so a crash never leaves a stale lock behind.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::filenames::LOCK_FILE;

/// An exclusive lock on a directory, held while this value lives.
#[derive(Debug)]
pub struct DirLock {
    /// The open lock file: the flock belongs to this open file description and is released
    /// when it is closed, i.e. when the `DirLock` is dropped.
    _file: File,
    dir: PathBuf,
}

impl DirLock {
    /// The locked directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// Takes an exclusive advisory lock (flock) on `<dir>/LOCK`, creating `dir` and the file if
/// needed. A second process, or a second `lock_dir` on the same directory in this process, gets
/// [`Error::Locked`] naming the directory instead of waiting.
pub fn lock_dir(dir: &Path) -> Result<DirLock> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let path = dir.join(LOCK_FILE);
    // Not truncated on open: the pid inside belongs to the current holder until we own the lock.
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| Error::io(&path, e))?;
    loop {
        // SAFETY: flock only reads the descriptor number, which `file` keeps open for the
        // duration of the call.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc == 0 {
            break;
        }
        let err = std::io::Error::last_os_error();
        match err.kind() {
            std::io::ErrorKind::Interrupted => continue,
            std::io::ErrorKind::WouldBlock => {
                return Err(Error::Locked {
                    path: dir.to_path_buf(),
                })
            }
            _ => return Err(Error::io(&path, err)),
        }
    }
    // The holder's pid, for an operator wondering which process holds the directory.
    file.set_len(0)
        .and_then(|()| writeln!(file, "{}", std::process::id()))
        .map_err(|e| Error::io(&path, e))?;
    Ok(DirLock {
        _file: file,
        dir: dir.to_path_buf(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_fails_naming_the_dir_until_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let first = lock_dir(dir.path()).unwrap();
        assert_eq!(first.dir(), dir.path());
        match lock_dir(dir.path()) {
            Err(e @ Error::Locked { .. }) => {
                assert!(e.to_string().contains(&dir.path().display().to_string()))
            }
            other => panic!("expected Locked, got {other:?}"),
        }
        drop(first);
        let again = lock_dir(dir.path()).unwrap();
        let pid = std::fs::read_to_string(dir.path().join(LOCK_FILE)).unwrap();
        assert_eq!(pid.trim(), std::process::id().to_string());
        drop(again);
    }

    #[test]
    fn lock_creates_missing_directory() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("a").join("b");
        let _lock = lock_dir(&sub).unwrap();
        assert!(sub.join(LOCK_FILE).exists());
    }
}
