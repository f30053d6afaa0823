//! The crate's one error type and `Result` alias. Which file broke and how is carried in the
//! variant; mapping to `lookout_core::Error` for the trait methods lives here too, so the
//! store's code can use `?` everywhere.

use std::path::PathBuf;

/// What went wrong in the log store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An I/O call on `path` failed.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The WAL, atomic writes or the directory lock failed (`lookout-disk` names the file).
    #[error(transparent)]
    Disk(#[from] lookout_disk::Error),
    /// A stored file does not decode.
    #[error("corrupt log store file {path} at offset {offset}: {reason}")]
    Corrupt {
        /// The damaged file.
        path: PathBuf,
        /// Byte offset of the damage within it.
        offset: u64,
        /// What did not check out.
        reason: String,
    },
    /// A configuration value is out of range.
    #[error("invalid log store config: {0}")]
    InvalidConfig(String),
    /// A query carried a cursor this store did not hand out.
    #[error("invalid cursor {0:?}")]
    InvalidCursor(String),
    /// A query asks for something impossible (a non-positive histogram step).
    #[error("invalid query: {0}")]
    InvalidQuery(String),
    /// A record is refused (component too deep, oversized); nothing of its batch was stored.
    #[error("invalid log record: {0}")]
    InvalidRecord(String),
    /// The store was closed.
    #[error("log store is closed")]
    Closed,
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn corrupt(
        path: impl Into<PathBuf>,
        offset: u64,
        reason: impl Into<String>,
    ) -> Error {
        Error::Corrupt {
            path: path.into(),
            offset,
            reason: reason.into(),
        }
    }
}

impl Error {
    /// Whether the file system is out of space: the write was refused and nothing of it
    /// stored, so the caller may retry once space frees (see `lookout_disk::io_is_disk_full`).
    pub fn is_disk_full(&self) -> bool {
        match self {
            Error::Disk(e) => e.is_disk_full(),
            Error::Io { source, .. } => lookout_disk::io_is_disk_full(source),
            _ => false,
        }
    }
}

impl From<Error> for lookout_core::Error {
    /// Bad caller input keeps its meaning (`InvalidQuery`, a 400), a full disk and a closed
    /// store are `Unavailable` (503: retry later), everything else is a backend failure the
    /// HTTP layer maps to 500.
    fn from(e: Error) -> lookout_core::Error {
        if e.is_disk_full() {
            return lookout_core::Error::Unavailable(format!(
                "disk full, logs not stored: {e}; writes resume by themselves once space is freed"
            ));
        }
        match e {
            Error::InvalidCursor(c) => {
                lookout_core::Error::InvalidQuery(format!("not a cursor from this store: {c:.64?}"))
            }
            Error::InvalidQuery(m) => lookout_core::Error::InvalidQuery(m),
            Error::Closed => lookout_core::Error::Unavailable("log store is closed".into()),
            other => lookout_core::Error::backend(other),
        }
    }
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, Error>;
