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

impl From<Error> for lookout_core::Error {
    fn from(e: Error) -> Self {
        lookout_core::Error::backend(e)
    }
}

/// Result alias of the metrics engine.
pub type Result<T> = std::result::Result<T, Error>;
