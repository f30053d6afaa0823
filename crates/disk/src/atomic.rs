//! Atomic whole-file replacement and directory fsync: after a crash a file written with
//! [`write_atomic`] holds either its old content or its new content, never a mix or a prefix.
//! What goes into the file (and its footer) is the caller's business; this file only owns the
//! temp-file, fsync and rename sequence.

use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};
use crate::failpoint::{self, fail_point};
use crate::filenames::{is_temp_file_name, TEMP_SUFFIX};

/// Buffer between the caller's writes and the temp file: big enough that small encoder writes
/// turn into few syscalls, small enough not to matter per open file.
const WRITE_BUFFER_BYTES: usize = 64 * 1024;

/// Distinguishes temp files of concurrent `write_atomic` calls within one process.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Writes a file atomically: temp file in the same directory, write, fsync, rename over `path`,
/// fsync the directory.
///
/// When this returns `Ok`, the new content is durable under `path`. When it returns `Err` (the
/// closure failed, or any step did), `path` still holds its previous content (or still does not
/// exist) and the temp file has been removed. A crash at any point leaves the old or the new
/// content; a temp file left by a crash ends in [`TEMP_SUFFIX`] and is removed by
/// [`remove_temp_files`].
pub fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    let dir = parent_dir(path);
    let name = path
        .file_name()
        .ok_or_else(|| {
            Error::io(
                path,
                std::io::Error::new(std::io::ErrorKind::InvalidInput, "path has no file name"),
            )
        })?
        .to_string_lossy();
    let temp = dir.join(format!(
        ".{name}.{}.{}{TEMP_SUFFIX}",
        std::process::id(),
        TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = write_temp(&temp, write).and_then(|()| {
        fail_point(failpoint::ATOMIC_BEFORE_RENAME).map_err(|e| Error::io(&temp, e))?;
        fs::rename(&temp, path).map_err(|e| Error::io(path, e))
    });
    if let Err(e) = result {
        // The temp file is garbage now; failing to remove it only leaves a file that
        // `remove_temp_files` deletes later, so the original error is the one to report.
        let _ = fs::remove_file(&temp);
        return Err(e);
    }
    fsync_dir(&dir)
}

fn write_temp(
    temp: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(temp)
        .map_err(|e| Error::io(temp, e))?;
    let mut out = BufWriter::with_capacity(WRITE_BUFFER_BYTES, file);
    write(&mut out).map_err(|e| Error::io(temp, e))?;
    let file = out
        .into_inner()
        .map_err(|e| Error::io(temp, e.into_error()))?;
    fail_point(failpoint::ATOMIC_BEFORE_FSYNC).map_err(|e| Error::io(temp, e))?;
    file.sync_all().map_err(|e| Error::io(temp, e))
}

/// Fsyncs a directory, making the creation, rename or removal of its entries durable.
pub fn fsync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(dir, e))
}

/// Removes the temp files that `write_atomic` calls interrupted by a crash left in `dir`, and
/// returns how many it removed. Call it only while holding the directory's lock, so no live
/// `write_atomic` of another process is using them.
pub fn remove_temp_files(dir: &Path) -> Result<u64> {
    let mut removed = 0;
    for entry in fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        if is_temp_file_name(&entry.file_name().to_string_lossy()) {
            let path = entry.path();
            fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// The directory holding `path` (`.` for a bare file name), where its temp file goes so that
/// the rename stays within one file system.
fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn write_atomic_creates_and_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state");
        write_atomic(&path, |w| w.write_all(b"first")).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"first");
        write_atomic(&path, |w| w.write_all(b"second, longer")).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"second, longer");
        assert_eq!(names(dir.path()), ["state"]);
    }

    #[test]
    fn failed_write_closure_leaves_old_content_and_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state");
        write_atomic(&path, |w| w.write_all(b"old")).unwrap();
        let err = write_atomic(&path, |w| {
            w.write_all(&[7u8; 100_000])?;
            Err(std::io::Error::other("encoder failed"))
        })
        .unwrap_err();
        assert!(err.to_string().contains("encoder failed"), "{err}");
        assert_eq!(fs::read(&path).unwrap(), b"old");
        assert_eq!(names(dir.path()), ["state"]);
    }

    #[test]
    fn failed_closure_on_new_path_creates_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new");
        assert!(write_atomic(&path, |_| Err(std::io::Error::other("no"))).is_err());
        assert!(names(dir.path()).is_empty());
    }

    #[test]
    fn missing_directory_is_an_io_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing").join("state");
        match write_atomic(&path, |w| w.write_all(b"x")) {
            Err(Error::Io { path: p, .. }) => assert!(p.starts_with(dir.path().join("missing"))),
            other => panic!("expected Io error, got {other:?}"),
        }
    }

    #[test]
    fn remove_temp_files_removes_only_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(".state.1.0.tmp"), b"junk").unwrap();
        fs::write(dir.path().join("state"), b"keep").unwrap();
        fs::write(dir.path().join("notes.tmp"), b"keep").unwrap();
        assert_eq!(remove_temp_files(dir.path()).unwrap(), 1);
        assert_eq!(names(dir.path()), ["notes.tmp", "state"]);
    }

    #[test]
    fn fsync_dir_of_missing_dir_fails() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            fsync_dir(&dir.path().join("nope")),
            Err(Error::Io { .. })
        ));
        fsync_dir(dir.path()).unwrap();
    }
}
