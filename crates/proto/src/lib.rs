//! lookout's wire formats for metrics: Graphite's carbon plaintext and pickle protocols, parsed
//! from bytes into [`lookout_core::Point`]s plus per-record errors, and encoded back for tests
//! and forwarding.
//!
//! Everything here is pure: no I/O, no clock (callers pass `now`), no panics on any input.
//! Sockets, buffering across reads and counting errors belong to `lookout-ingest`.
//!
//! Layout:
//! - `error`: the crate's `Error` (a whole frame refused) and `Result`.
//! - `record`: carbon's rules from fields to a stored point, and the per-record [`LineError`].
//! - `number`: numbers as Python's `float()` reads them, with an exact fast path.
//! - [`graphite`]: the plaintext protocol, `parse` over buffers of lines and `encode`.
//! - [`pickle`]: the pickle protocol's framer, a data-only unpickler, and `encode`.
#![warn(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod error;
pub mod graphite;
mod number;
pub mod pickle;
mod record;

pub use error::{Error, Result};
pub use record::{excerpt, LineError, LineErrorKind};
