//! The crate's error type: the failures that cost a whole frame rather than one record. A bad
//! line or pickle entry is not an `Error` but a [`crate::LineError`] next to the good records.

use crate::pickle::PickleErrorKind;
use crate::whisper::WhisperErrorKind;

/// A frame that cannot be used at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A pickle frame's length prefix is above the limit. The bytes after it cannot be trusted
    /// to start a frame, so the stream cannot be resynchronised and must be closed.
    #[error("pickle frame of {len} bytes exceeds the {max}-byte limit")]
    FrameTooLarge {
        /// The announced payload length.
        len: u64,
        /// The limit in force.
        max: usize,
    },
    /// A pickle payload was refused whole: it tried to call or build an object, is truncated
    /// or malformed, exceeds a bound, or is not a list. Nothing of it is stored.
    #[error("pickle refused at byte {offset}: {kind}")]
    Pickle {
        /// Offset in the payload of the opcode that was refused.
        offset: usize,
        /// What was wrong.
        kind: PickleErrorKind,
    },
    /// A whisper file cannot be decoded: truncated, or its header is garbage.
    #[error("whisper file refused at byte {offset}: {kind}")]
    Whisper {
        /// Offset in the file of the field that was refused (the file length if truncated).
        offset: u64,
        /// What was wrong.
        kind: WhisperErrorKind,
    },
}

impl Error {
    /// The `reason` label under which listeners count this error:
    /// `frame_too_large`, `pickle_forbidden` (an attempt to execute code), `pickle_malformed`
    /// or `whisper_malformed`.
    pub fn reason(&self) -> &'static str {
        match self {
            Error::FrameTooLarge { .. } => "frame_too_large",
            Error::Pickle {
                kind: PickleErrorKind::Forbidden(_),
                ..
            } => "pickle_forbidden",
            Error::Pickle { .. } => "pickle_malformed",
            Error::Whisper { .. } => "whisper_malformed",
        }
    }
}

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, Error>;
