//! The crate's one error type and its `Result` alias. Variants are named by cause and carry the
//! file they are about; conversion into the storage traits' `lookout_core::Error` (400-type
//! argument errors versus 500-type engine failures) happens here too, so the engine code can use
//! `?` everywhere. Corruption found while serving reads is not an error of the read: it is
//! counted and skipped (see `block::reader`).

use std::path::PathBuf;

use crate::codec::CodecError;

/// Errors of the metrics engine.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A failure of the durability layer (WAL, atomic write, footer, lock), naming its file.
    #[error(transparent)]
    Disk(#[from] lookout_disk::Error),
    /// An I/O operation on `path` failed.
    #[error("I/O error on {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The bytes of `path` at `offset` are not what the engine wrote there.
    #[error("corrupt file {} at byte {offset}: {reason}", path.display())]
    Corrupt {
        /// The damaged file.
        path: PathBuf,
        /// Byte offset of the damage (of the damaged record or chunk).
        offset: u64,
        /// What check failed.
        reason: String,
    },
    /// A retention list such as `10s:7d,1m:30d` could not be parsed or is not valid for whisper.
    #[error("invalid retention {text:?}: {reason}")]
    InvalidRetention {
        /// The text as given.
        text: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A configuration value is out of range.
    #[error("invalid tsdb configuration: {0}")]
    InvalidConfig(String),
    /// The engine has more distinct series than its 32-bit ids can number.
    #[error("series limit reached ({0} series)")]
    TooManySeries(u64),
}

impl Error {
    /// An I/O error on `path`.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// Corruption of `path` at `offset`.
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

    /// Corruption found by the chunk codec, placed at `offset` of `path`.
    pub(crate) fn codec(path: impl Into<PathBuf>, offset: u64, e: CodecError) -> Error {
        Error::corrupt(path, offset, e.to_string())
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

    /// The `reason` label of `lookout_tsdb_write_errors_total` for a failed write, or `None`
    /// when the error is not a failed write (bad configuration, the series limit).
    pub(crate) fn write_error_reason(&self) -> Option<&'static str> {
        match self {
            _ if self.is_disk_full() => Some("disk_full"),
            Error::Disk(_) | Error::Io { .. } => Some("io"),
            _ => None,
        }
    }
}

impl From<Error> for lookout_core::Error {
    /// A full disk is `Unavailable` (HTTP 503: retry later); every other failure is the
    /// backend's.
    fn from(e: Error) -> Self {
        if e.is_disk_full() {
            return lookout_core::Error::Unavailable(format!(
                "disk full, metrics not stored: {e}; writes resume by themselves once space is freed"
            ));
        }
        lookout_core::Error::backend(e)
    }
}

/// Result alias of the metrics engine.
pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_is_unavailable_and_other_io_errors_are_backend_failures() {
        let io = |code| Error::io("/d/wal", std::io::Error::from_raw_os_error(code));
        // ENOSPC, directly and through the WAL's own error.
        for full in [
            io(28),
            Error::Disk(lookout_disk::Error::Io {
                path: "/d/wal/1".into(),
                source: std::io::Error::from_raw_os_error(28),
            }),
        ] {
            assert_eq!(full.write_error_reason(), Some("disk_full"));
            match lookout_core::Error::from(full) {
                lookout_core::Error::Unavailable(m) => assert!(m.contains("disk full"), "{m}"),
                other => panic!("want Unavailable, got {other:?}"),
            }
        }
        let eio = io(5);
        assert_eq!(eio.write_error_reason(), Some("io"));
        assert!(matches!(
            lookout_core::Error::from(eio),
            lookout_core::Error::Backend(_)
        ));
        assert_eq!(Error::TooManySeries(1).write_error_reason(), None);
    }
}
