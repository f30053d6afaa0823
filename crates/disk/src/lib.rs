//! Durability mechanics shared by lookout's storage engines (metrics now, logs later): the
//! write-ahead log with group commit, atomic file replacement, the checksummed footer every file
//! ends with, directory fsync, the data-directory lock, and fail points for crash tests.
//!
//! This crate knows nothing of metrics or logs: it moves opaque bytes to disk safely and says
//! which file is damaged when they do not come back. What a record or a file body holds, when to
//! sync and when to checkpoint is decided by the engines (`lookout-tsdb`, `lookout-logs`).
//! It is synchronous; async callers run it on blocking threads.
//!
//! Layout:
//! - `error`: the crate's `Error` and `Result`, and `io_is_disk_full` (ENOSPC, EDQUOT).
//! - `wal`: the write-ahead log (append, group commit, rotation, replay, truncation);
//!   `wal/segment.rs` holds one segment's header, record framing and damage classification,
//!   `wal/recovery.rs` the scan and repair done at open.
//! - `atomic`: `write_atomic` (temp file, fsync, rename, directory fsync) and `fsync_dir`.
//! - `footer`: the 24-byte footer (CRC, version, length, magic) and its checks.
//! - `lock`: `lock_dir`, one process per data directory.
//! - `limits`: raising the open-files limit, since every readable block stays open.
//! - `filenames`: every file name this crate creates.
//! - `fuzz` (hidden): a WAL segment of fuzzed bytes, opened and replayed, for `fuzz/`
//!   (`docs/fuzzing.md`).
//! - `failpoint`: named failure hooks, armed only with the `failpoints` feature.
//!
//! File formats are specified in `docs/format/wal.md` and `docs/format/footer.md`.
#![warn(missing_docs)]

mod atomic;
mod error;
pub mod failpoint;
pub mod filenames;
mod footer;
#[doc(hidden)]
pub mod fuzz;
mod limits;
mod lock;
mod wal;

pub use atomic::{fsync_dir, remove_temp_files, write_atomic};
pub use error::{io_is_disk_full, Error, Result};
/// Alias of [`failpoint`], so `failpoints::arm(..)` reads as in the crate's feature name.
pub use failpoint as failpoints;
pub use failpoint::fail_point;
pub use footer::{
    crc_of_range, decode_footer, encode_footer, read_footer, verify_body, ChecksumWriter, Footer,
    FOOTER_LEN,
};
pub use limits::{open_files_limit, raise_open_files_limit};
pub use lock::{lock_dir, DirLock};
pub use wal::{Lsn, Wal, WalOptions, WalRecovery};
