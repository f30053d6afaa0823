//! The storage traits: ingestion writes only through [`MetricAppender`], queries read only
//! through [`MetricReader`]. The embedded engine (`lookout-tsdb`), the in-memory
//! [`crate::testkit::MemStore`] and any future backend implement them, and all run the same
//! conformance suite in `testkit`.

use crate::{Glob, Result, SeriesData};

/// One point to store. `name` is the canonical series name (see
/// [`crate::canonical_series_name`]); the timestamp is in whole unix seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// Canonical series name.
    pub name: String,
    /// Unix seconds.
    pub ts: i64,
    /// The value; finite or infinite, never NaN (parsers drop NaN as carbon does).
    pub value: f64,
}

/// How durable a batch must be before [`MetricAppender::append`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Written to the log's buffer; on disk within the engine's sync interval. For protocols
    /// with no acknowledgement (plaintext TCP/UDP, pickle).
    Buffered,
    /// On disk (fsynced, possibly by a group commit shared with other writers) before return.
    /// For acknowledged writes: an HTTP 2xx follows only this.
    Synced,
}

/// A closed time range in unix seconds, as `from`/`until` in the render API.
///
/// Fetch follows whisper: with step `s`, the returned grid starts at `floor(from/s)*s + s` and
/// ends (exclusive) at `floor(until/s)*s + s`, so a point exactly at `from` is outside and a
/// point exactly at `until` is inside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    /// Start, exclusive at slot granularity.
    pub from: i64,
    /// End, inclusive at slot granularity.
    pub until: i64,
}

/// One node of the metric tree matched by a find pattern.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct FindNode {
    /// Full dotted path of the node.
    pub path: String,
    /// A series is stored under exactly this path.
    pub is_leaf: bool,
    /// Series are stored below this path.
    pub has_children: bool,
}

/// Figures a store reports about itself, for self-monitoring.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Series known to the store.
    pub series: u64,
    /// Bytes used on disk (log, blocks, index).
    pub disk_bytes: u64,
}

/// Writes points. Implementations are shared between listener tasks, so they take `&self`.
pub trait MetricAppender: Send + Sync {
    /// Stores a batch. Points may be late or out of order; per slot of the series' finest
    /// step the last write wins. Durability contract: with [`Durability::Synced`] every point
    /// of the batch survives a crash once this returns `Ok`; with [`Durability::Buffered`]
    /// they are on disk within the engine's documented sync interval. Points older than the
    /// series' retention are dropped and counted, not an error.
    fn append(&self, points: &[Point], durability: Durability) -> Result<()>;

    /// Deletes every untagged series whose path matches `pattern`, and every tagged series
    /// whose path part matches it. Returns how many series were deleted.
    fn delete(&self, pattern: &Glob) -> Result<u64>;
}

/// Reads series. Implementations must give each query a consistent snapshot: background work
/// (flush, compaction, rollups, retention) never changes what a running fetch sees.
pub trait MetricReader: Send + Sync {
    /// Tree nodes at the pattern's depth whose paths match it, sorted by path. Tagged series
    /// are not part of the tree.
    fn find(&self, pattern: &Glob) -> Result<Vec<FindNode>>;

    /// Data of the named series (canonical names, tagged or not) over `range`, in the order
    /// asked; unknown names are left out. Each series is read from its finest archive whose
    /// retention covers `range.from` as seen from `now` (whisper's rule), or the coarsest one
    /// if none does.
    fn fetch(&self, names: &[String], range: TimeRange, now: i64) -> Result<Vec<SeriesData>>;

    /// Every canonical series name, tagged ones included, sorted.
    fn list_series(&self) -> Result<Vec<String>>;

    /// Figures for self-monitoring.
    fn stats(&self) -> StoreStats;
}
