//! lookout's embedded log engine: log records stored compressed and crash-safe, organised by
//! time and by dotted component so that "every line of `webapp.backend.git` between 14:05 and
//! 14:07" reads only the data that can hold them, served through `lookout_core`'s
//! `LogAppender` and `LogReader` traits ([`LogStore`]). It is not a full-text index (no
//! inverted index: `contains` and `regex` filter the scanned sections), not a protocol parser
//! (`lookout-proto`), and not a query language (`lookout-query`).
//!
//! # Design
//!
//! **Write path.** `append` encodes the batch as one WAL record (`lookout-disk`, group
//! commit), and under one ingest lock (so sequence order is WAL order) writes it, inserts the
//! records into the head with consecutive sequence numbers, and hands them to live tails.
//! `Durability::Synced` then waits for the group-commit fsync; `Buffered` records are fsynced
//! by [`LogStore::sync`], which the server calls every second.
//!
//! **Head.** Records since the last flush, per component in columnar chunks of at most 2048
//! records (`rows::Rows`: a few shared buffers, no allocation per record), full chunks sealed
//! and shared with queries. `maintain(now)` flushes it every `flush_interval_secs`; an append
//! that fills it to `flush_max_bytes` wakes a background flusher ([`LogStore::wait_for_flush_work`],
//! [`LogStore::flush_if_full`], run by the server on its own thread), and one that finds it at
//! twice that flushes it itself, so memory stays bounded whatever the ingest rate. A flush
//! rotates the WAL, freezes the head (queries still read it), writes one block per time
//! partition atomically, then replaces the checkpoint file (WAL lsn, next sequence) atomically
//! and deletes the WAL before it. Blocks above the checkpoint at open are leftovers of an
//! interrupted flush and are deleted: their records are replayed from the WAL.
//!
//! **Blocks.** One file per (partition, flush) until compaction merges them: per component
//! sections of at most 2048 records (a sealed head chunk already in time order is written as
//! it is), whose six columns (time deltas, sequence deltas, host dictionary,
//! severity/facility, message, fields) are zstd-compressed separately; an index with each
//! section's component, time bounds, severity counts, offset and CRC. A query reads only the sections of matching components whose time
//! bounds meet its range. Late records land in the block of their own partition.
//!
//! **Reads.** A query snapshots the block list (`Arc`) and the matching head records, reads
//! candidate sections in time order and stops when the page is full and no remaining section
//! can hold a record that sorts earlier. Results are ordered by (time, sequence); the cursor is
//! that pair, so appends never shift a page. Same cursor format as `MemLogStore`.
//!
//! **Damage.** A block whose footer or index is damaged is moved to `quarantine/` at open and
//! counted; a section whose CRC fails is skipped at read, counted in
//! `lookout_logs_sections_corrupt_total` and named (once per file) in the next `maintain`
//! report, and the rest is served. A torn WAL tail is cut off. A full disk refuses appends
//! (`Error::is_disk_full`, `Unavailable` through the trait) and leaves the head in memory for
//! the next flush; failed writes are counted in `lookout_logs_write_errors_total{reason}`.
//!
//! **Compaction.** A flush writes one block per partition it touches, so a quiet server
//! would keep ~6 blocks an hour (each an open file and an in-memory index) for the whole
//! retention. `maintain` therefore merges the blocks of one *closed* partition per call (its
//! end a flush interval and a grace in the past; at most 16 MiB of sources) into one block
//! of the same format, written atomically over the newest source and recording in its index
//! the oldest flush id it replaces; open deletes the blocks a merged block replaces, so a
//! crash at any point shows either the sources or the merge. Records keep their (time,
//! sequence) keys, so answers and cursors are unchanged, and queries holding the sources read
//! them through their open files. A late record's new block is merged again next time.
//! Counted in `lookout_logs_compactions_total`; `lookout_logs_blocks` gauges open blocks.
//!
//! **Retention.** `maintain` drops whole blocks older than `retention_secs`, then the oldest
//! blocks until the total is under `max_bytes`. A query holding a dropped block keeps reading
//! it through its open file handle.
//!
//! The engine reads no clock (`now`, unix seconds, is passed in) and starts no thread. File
//! formats: `docs/format/logs-block.md`, `docs/format/logs-wal.md`.
//!
//! Layout:
//! - `store`: `LogStore`, its locks, open and WAL replay, append, flush, retention, close.
//! - `compact`: merging a closed partition's blocks into one, crash-safe.
//! - `scan`: `LogReader`: query planning over sections, filters, cursor, components, histogram.
//! - `head`: the in-memory head, columnar chunks per component.
//! - `rows`: `Rows`, records column by column: the head's chunks and decoded sections.
//! - `block`: block file encoding, decoding and checks.
//! - `batch`: the WAL payload of one appended batch.
//! - `codec`: varints and the bounds-checked byte reader.
//! - `tail`: live-tail subscribers and their bounded queues.
//! - `config`: `Config` and its defaults.
//! - `filenames`: every file and directory name.
//! - `error`: `Error` and `Result`.
//! - `fuzz` (hidden): entries to the private decoders for `fuzz/` (`docs/fuzzing.md`).
#![warn(missing_docs)]

mod batch;
mod block;
mod codec;
mod compact;
mod config;
mod error;
pub mod filenames;
#[doc(hidden)]
pub mod fuzz;
mod head;
mod rows;
mod scan;
mod store;
mod tail;

pub use config::Config;
pub use error::{Error, Result};
pub use store::{LogStore, LogStoreStats, MaintainReport, OpenReport};
