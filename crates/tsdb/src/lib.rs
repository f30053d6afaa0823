//! lookout's embedded metrics engine: Graphite series stored compressed and crash-safe, with
//! carbon's retentions and rollups, served through `lookout_core`'s `MetricAppender` and
//! `MetricReader` traits ([`Tsdb`]). It is not a general TSDB: no labels beyond Graphite tags
//! (kept in the name), no query language (that is `lookout-query`, over the traits), no
//! replication; one process owns one data directory.
//!
//! # Design
//!
//! **Write path.** `append` resolves each name to a series id (one hash lookup under a read
//! lock; a new series gets the first matching retention and aggregation rule and is logged to
//! the WAL once, before it becomes visible), encodes the batch as one compact WAL record (about
//! 5 bytes a point: delta-coded id and timestamp, values as varint integers or short decimals),
//! and, under one ingest lock so that WAL order equals head order, appends the record and
//! inserts the points into the head. [`lookout_core::Durability::Synced`] then waits for a
//! group-commit fsync; buffered points are fsynced by [`Tsdb::sync`], which the server calls
//! every `wal.sync_interval` (1 s by default): that interval is the loss window on power
//! failure. A process crash loses nothing `append` accepted: the WAL write precedes visibility.
//! Cost: ~75 ns a point for batches of 5000 points of existing series (`benches/append.rs`).
//!
//! **Head.** Points since the last flush, 12 bytes each, per series in arrival order, so reading
//! them in order *is* last-write-wins. `maintain` flushes it every `flush_interval_secs`
//! (10 min) or at `flush_max_points` (4 M): the head is frozen, written as immutable blocks, the
//! catalog changes go into a series index file carrying the WAL checkpoint, and the WAL before
//! the checkpoint is deleted.
//!
//! **Blocks.** One file per (schema, archive level, time partition, flush), one chunk per
//! series, written atomically with a CRC'd footer and read by positioned reads of single chunks
//! (each with its own CRC). Partitions hold about 8640 slots (one day at 10 s) and are the unit
//! of retention, rollup and compaction. Compaction merges a partition's blocks: in tiers of
//! similar size while it still receives points, into one block once it is cold. Per slot, the
//! newest block (highest `seq`) wins.
//!
//! **Compression.** A chunk stores slot numbers on the archive's grid (a regular series costs
//! no bits of time) and values either as exact decimal mantissas (`v = m / 10^k`, bit for bit)
//! run through differencing and patched frame-of-reference bit packing, or as Gorilla XOR
//! when values are not short decimals. Every `f64` bit pattern round-trips. On the bench
//! workload (`gen_graphite -s 1000 -t 8640`, exactly reproduced by `benches/workload`) chunks
//! take **0.89 bytes/point**, and the whole data directory after `close` **0.90 bytes/point**
//! allocated (blocks, series index and WAL), against VictoriaMetrics' 1.03. Decoding runs at
//! ~270 M points/s, encoding at ~18 M points/s (`benches/codec.rs`, `benches/append.rs`).
//!
//! **Rollups.** A coarser archive's value is whisper's propagation of the next finer archive
//! (the aggregation of the known finer values if at least xFilesFactor of them are known), so
//! it is derived at read time while the finer data exists, and only materialised (and the finer
//! partition deleted) when the finer partition leaves its retention; per (schema, level) a
//! watermark separates stored from derived. Nothing is stored twice, late points update
//! rollups at once, and a point older than the finest retention goes to the finest archive
//! still covering it, overwriting that slot, as in whisper.
//!
//! **Reads.** A fetch clones an `Arc<Snapshot>` (blocks, watermarks, frozen and active heads)
//! and reads it without engine locks; maintenance publishes new snapshots and never changes
//! what a running fetch sees (blocks it holds stay readable after they are unlinked). Whisper's
//! fetch rules apply: range clamped to the retention and to `now`, archive chosen by
//! `now - from`, that archive's step, the `(from, until]` grid. 100 series x 8640 points take
//! ~4 ms of engine time (`benches/fetch.rs`).
//!
//! **Names.** A trie keyed by dotted node answers `find` by looking literal nodes up and
//! scanning only the wildcard levels' children: 0.4 µs for a literal path and 3 ms for one
//! wildcard level over 10,000 children in a 1,000,000-series tree (`benches/find.rs`). Tagged
//! series (`name;k=v`) are kept out of it but fetchable by their canonical name.
//!
//! **Memory** per active series, measured by `tests/memory.rs` (10,000 series at a 10 s step,
//! default flush interval): 256 bytes at rest (name, hash map entry, tree node, id table, block
//! index), 790 bytes on average over a flush interval including buffered points, 1064 bytes at
//! the peak just before a flush. [`Tsdb::memory`] reports the live figures.
//!
//! **Damage.** Block and index files are checked at open (footer, CRC); damaged ones are moved
//! to `quarantine/`, counted in `lookout_tsdb_blocks_corrupt_total` and listed in the
//! [`OpenReport`], and the rest is served. A chunk damaged after open is skipped, counted and
//! listed in the next [`MaintainReport`]; an I/O error fails the read instead of serving a gap.
//! A torn WAL tail is cut off by `lookout-disk` and reported. The engine does not log: the
//! reports say what happened.
//!
//! **Full disk.** A WAL record the file system refuses for space (`Error::is_disk_full`) is
//! cut off again and none of its points stored; the append reaches callers of the traits as
//! `lookout_core::Error::Unavailable` (retry later: a retried point is harmless); a flush that fails keeps its frozen head for the next `maintain`, so writes resume
//! by themselves once space frees. Failed writes are counted in
//! `lookout_tsdb_write_errors_total{reason="disk_full"|"io"}`.
//!
//! The engine reads no clock (`now` is passed to `open`, `maintain`, `flush`, `close` and
//! `fetch`; appends are judged against the last one) and starts no thread. File formats:
//! `docs/format/tsdb-block.md`, `tsdb-index.md`, `tsdb-wal.md`.
//!
//! Layout:
//! - `engine`: `Tsdb`, its locks, and the request paths (append, fetch, find, delete, sync).
//! - `open`: opening: loading index files and blocks, repairing, replaying the WAL.
//! - `maintain`: the background schedule, and merging of index files.
//! - `flush`: head → blocks + index file + WAL checkpoint.
//! - `rollup`: materialising coarser archives, watermarks, re-routing.
//! - `retention`: dropping expired partitions.
//! - `compaction`: merging a partition's blocks.
//! - `snapshot`: the immutable read state and the read path (LWW merge, derived rollups,
//!   whisper's fetch rules).
//! - `head`: in-memory recent points.
//! - `catalog`: series ids, names, schemas, tagged list, pending changes.
//! - `ensure`: creating a series with a caller's schema, and where its appends go (importers).
//! - `name_index`: the trie behind `find`.
//! - `series_file`: series index files (`docs/format/tsdb-index.md`).
//! - `block`: block files (`docs/format/tsdb-block.md`): `writer`, `reader`.
//! - `codec`: the chunk codec (public for benches): `intseq`, `decimal`, `xor`, `bits`.
//! - `wal_record`: WAL payloads (`docs/format/tsdb-wal.md`).
//! - `schema`: retentions, rules, resolved schemas, partitioning.
//! - `config`: `Config` and its defaults.
//! - `metrics`: self-metrics.
//! - `report`: `OpenReport`, `MaintainReport`.
//! - `filenames`: every file and directory name.
//! - `varint`: LEB128 and zigzag.
//! - `error`: `Error`, `Result`.
//! - `fuzz` (hidden): slice entries to the private decoders for `fuzz/` (`docs/fuzzing.md`).
#![warn(missing_docs)]

mod block;
mod catalog;
pub mod codec;
mod compaction;
mod config;
mod engine;
mod ensure;
mod error;
mod filenames;
mod flush;
#[doc(hidden)]
pub mod fuzz;
mod head;
mod maintain;
mod metrics;
mod name_index;
mod open;
mod report;
mod retention;
mod rollup;
mod schema;
mod series_file;
mod snapshot;
mod varint;
mod wal_record;

pub use config::Config;
pub use engine::{MemoryStats, Tsdb};
pub use ensure::{Ensured, SeriesLayout, SeriesSchema};
pub use error::{Error, Result};
pub use report::{MaintainReport, OpenReport};
pub use schema::{
    default_aggregation_rules, default_schema_rules, AggregationRule, Retention, SchemaRule,
    DEFAULT_RETENTIONS,
};
