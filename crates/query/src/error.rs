//! The crate's error type: what went wrong with a target, and where in its text.
//!
//! The render API's contract is a single error shape (`QueryError { position, message }`), so the
//! crate's one error type is a struct; the cause lives in [`ErrorKind`], which the HTTP layer
//! uses to answer 400 for a bad query and 500 for a failed store. Nothing here formats HTTP.

use std::fmt;

/// Why a target could not be evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The target text does not follow the grammar (position set).
    Syntax,
    /// A function name that is not implemented (position of the name set).
    UnknownFunction,
    /// A function got an argument it cannot use, or a time or interval is malformed.
    InvalidArgument,
    /// The target is too expensive to evaluate (too deep, too many evaluations).
    TooComplex,
    /// The metric store failed; not the caller's fault.
    Store,
}

/// An error from parsing or evaluating a target, or from parsing a time.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub struct QueryError {
    /// What kind of failure this is; decides between "bad request" and "server error".
    pub kind: ErrorKind,
    /// Byte offset in the target text where the problem was found, when it is known.
    pub position: Option<usize>,
    /// Human-readable description naming the problem (the function, the argument, the token).
    pub message: String,
}

impl QueryError {
    /// An error of `kind` with an optional position.
    pub(crate) fn new(
        kind: ErrorKind,
        position: Option<usize>,
        message: impl Into<String>,
    ) -> Self {
        QueryError {
            kind,
            position,
            message: message.into(),
        }
    }

    /// A syntax error at `position`.
    pub(crate) fn syntax(position: usize, message: impl Into<String>) -> Self {
        QueryError::new(ErrorKind::Syntax, Some(position), message)
    }

    /// A bad argument, with no position yet (the evaluator adds the call's position).
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        QueryError::new(ErrorKind::InvalidArgument, None, message)
    }

    /// Sets the position if none is known yet, so the innermost, most precise one wins.
    pub(crate) fn at(mut self, position: usize) -> Self {
        self.position.get_or_insert(position);
        self
    }

    /// Whether the store, not the query, is at fault (an HTTP 500 rather than a 400).
    pub fn is_store_failure(&self) -> bool {
        self.kind == ErrorKind::Store
    }
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some(p) => write!(f, "{} at position {}", self.message, p),
            None => f.write_str(&self.message),
        }
    }
}

impl From<lookout_core::Error> for QueryError {
    fn from(e: lookout_core::Error) -> Self {
        let kind = match e {
            lookout_core::Error::InvalidPattern { .. }
            | lookout_core::Error::InvalidName { .. }
            | lookout_core::Error::InvalidQuery(_) => ErrorKind::InvalidArgument,
            _ => ErrorKind::Store,
        };
        QueryError::new(kind, None, e.to_string())
    }
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, QueryError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_the_position() {
        let e = QueryError::syntax(12, "unexpected ')'");
        assert_eq!(e.to_string(), "unexpected ')' at position 12");
        let e = QueryError::invalid("bad");
        assert_eq!(e.to_string(), "bad");
        assert_eq!(QueryError::invalid("x").at(3).at(9).position, Some(3));
    }

    #[test]
    fn store_failures_are_told_apart() {
        let e: QueryError = lookout_core::Error::Unavailable("disk full".into()).into();
        assert!(e.is_store_failure());
        let e: QueryError = lookout_core::Glob::new("a.{b").unwrap_err().into();
        assert!(!e.is_store_failure());
    }
}
