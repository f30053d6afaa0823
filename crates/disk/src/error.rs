//! The crate's one error type and its `Result` alias. Every variant names the file or directory
//! it is about, so an engine can pass it up unchanged and the operator still learns which file
//! is damaged, missing or locked. Mapping these errors to HTTP statuses or exit codes is not done
//! here.

use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};

/// Errors from the durability layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An I/O operation on `path` failed.
    #[error("I/O error on {}: {source}", path.display())]
    Io {
        /// The file or directory the operation was about.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The bytes of `path` at `offset` are not what lookout wrote there.
    #[error("corrupt file {} at byte {offset}: {reason}", path.display())]
    Corrupt {
        /// The damaged file.
        path: PathBuf,
        /// Byte offset of the damage within the file.
        offset: u64,
        /// What check failed.
        reason: String,
    },
    /// The file was written by a format version this build cannot read.
    #[error(
        "{} has format version {found}, this build reads versions {}..={}",
        path.display(),
        supported.start(),
        supported.end()
    )]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// The version found in the file.
        found: u32,
        /// The versions this build reads.
        supported: RangeInclusive<u32>,
    },
    /// Another process (or another handle in this process) holds the lock on this directory.
    #[error("directory {} is locked by another lookout process", path.display())]
    Locked {
        /// The locked directory.
        path: PathBuf,
    },
    /// A WAL record is larger than `WalOptions::max_record_bytes`.
    #[error("WAL record of {len} bytes exceeds the limit of {max} bytes")]
    RecordTooLarge {
        /// Payload length of the refused record.
        len: usize,
        /// The configured limit.
        max: usize,
    },
    /// An earlier fsync (or the rollback of a failed write) of this log failed. The kernel may
    /// have dropped the unwritten pages and a later fsync would report success without them, so
    /// the log refuses every further append and sync; reopening it recovers what is on disk.
    #[error("WAL in {} is unusable after a failed write or fsync: {reason}", path.display())]
    SyncFailed {
        /// The WAL directory.
        path: PathBuf,
        /// The first failure, as text.
        reason: String,
    },
    /// A `WalOptions` value is out of range.
    #[error("invalid WAL options: {reason}")]
    InvalidOptions {
        /// Which value and why.
        reason: String,
    },
    /// A `Wal::replay` callback stopped the replay with its own error.
    #[error("WAL replay stopped by its consumer: {0}")]
    Callback(Box<dyn std::error::Error + Send + Sync>),
}

impl Error {
    /// Whether this is the file system running out of space (or quota): the one write failure
    /// that is expected to pass by itself once space frees, so engines report it as "try
    /// later" rather than as a broken store. A WAL poisoned by a failed fsync is not: its
    /// pages may be lost, so it stays failed until a restart replays the log.
    pub fn is_disk_full(&self) -> bool {
        match self {
            Error::Io { source, .. } => io_is_disk_full(source),
            _ => false,
        }
    }

    /// Wraps an engine's own error so a `Wal::replay` callback can return it.
    pub fn callback<E: std::error::Error + Send + Sync + 'static>(e: E) -> Self {
        Error::Callback(Box::new(e))
    }

    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub(crate) fn corrupt(path: &Path, offset: u64, reason: impl Into<String>) -> Self {
        Error::Corrupt {
            path: path.to_path_buf(),
            offset,
            reason: reason.into(),
        }
    }
}

/// Whether an I/O error means "no space left" (ENOSPC) or "quota exceeded" (EDQUOT); the
/// engines use it for their own I/O errors too.
pub fn io_is_disk_full(e: &std::io::Error) -> bool {
    /// Linux's EDQUOT: `ErrorKind::QuotaExceeded` is newer than the crate's minimum Rust.
    const EDQUOT: i32 = 122;
    e.kind() == std::io::ErrorKind::StorageFull || e.raw_os_error() == Some(EDQUOT)
}

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disk_full_is_told_from_other_io_errors() {
        let io = |code| Error::Io {
            path: PathBuf::from("/x"),
            source: std::io::Error::from_raw_os_error(code),
        };
        // ENOSPC and EDQUOT on Linux.
        assert!(io(28).is_disk_full());
        assert!(io(122).is_disk_full());
        assert!(
            !io(5).is_disk_full(),
            "EIO is a broken disk, not a full one"
        );
        let poisoned = Error::SyncFailed {
            path: PathBuf::from("/x"),
            reason: "No space left on device".into(),
        };
        assert!(!poisoned.is_disk_full(), "a poisoned WAL needs a restart");
    }
}
