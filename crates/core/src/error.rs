//! The error type shared by the storage traits: a store reports its own failures through
//! [`Error::Backend`], and bad arguments (an invalid glob, an invalid name) through the
//! specific variants so the HTTP layer can map them to 400 rather than 500.

/// Errors returned through the storage traits.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A glob pattern could not be compiled.
    #[error("invalid pattern {pattern:?}: {reason}")]
    InvalidPattern {
        /// The pattern as given.
        pattern: String,
        /// Why it was refused.
        reason: String,
    },
    /// A metric name was refused.
    #[error("invalid metric name {name:?}: {source}")]
    InvalidName {
        /// The name as given (possibly truncated).
        name: String,
        /// What is wrong with it.
        source: crate::NameError,
    },
    /// A query argument was refused: a cursor the store did not issue, a histogram step that
    /// is not positive. Like a bad pattern, the caller's fault (HTTP 400), not the store's.
    #[error("invalid query: {0}")]
    InvalidQuery(String),
    /// The store is full or refuses writes for now (disk full, shutting down); the caller may retry.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A failure inside a storage engine (I/O, corruption). The message names the file.
    #[error("{0}")]
    Backend(Box<dyn std::error::Error + Send + Sync>),
}

impl Error {
    /// Wraps an engine error.
    pub fn backend<E: std::error::Error + Send + Sync + 'static>(e: E) -> Self {
        Error::Backend(Box::new(e))
    }
}

/// Result alias for the storage traits.
pub type Result<T> = std::result::Result<T, Error>;
