//! lookout's wire formats. For metrics: Graphite's carbon plaintext and pickle protocols, parsed
//! from bytes into [`lookout_core::Point`]s plus per-record errors, and encoded back for tests
//! and forwarding. For logs: syslog, GELF and NDJSON, parsed into [`lookout_core::LogRecord`]s.
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
//! - [`syslog`]: RFC 5424 and RFC 3164 messages to log records, and the RFC 6587 TCP framer;
//!   its `record` and `timestamp` submodules hold the component, field and time rules the
//!   other log protocols share.
//! - [`ndjson`]: newline-delimited JSON log lines (`POST /api/v1/logs`).
//! - [`gelf`]: GELF 1.1 payloads (plain, gzip, zlib) and chunked-UDP reassembly.
//! - `inflate`: gzip and zlib under an output bound, with one inflater per thread.
//! - [`whisper`]: Graphite's `.wsp` files (header, archives, valid points), for the importer.
//! - [`statsd`]: StatsD lines (Etsy's, plus DogStatsD tags) to typed samples; aggregating them
//!   is `lookout-ingest`'s.
#![warn(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod error;
pub mod gelf;
pub mod graphite;
mod inflate;
pub mod ndjson;
mod number;
pub mod pickle;
mod record;
pub mod statsd;
pub mod syslog;
pub mod whisper;

pub use error::{Error, Result};
pub use record::{excerpt, LineError, LineErrorKind};
