//! The engine's self-metrics, registered on the registry passed to `Tsdb::open` and updated
//! where the counted thing happens. Names follow `lookout_<crate>_<what>_<unit|total>`.

use lookout_core::selfmon::{Counter, Gauge, Histogram, Registry};

/// Handles to every self-metric of the engine.
#[derive(Debug, Clone)]
pub struct Metrics {
    /// Points accepted by `append` (and stored).
    pub points_appended: Counter,
    /// Points older than their series' coarsest retention.
    pub dropped_expired: Counter,
    /// Points further ahead of the clock than `max_future_secs`.
    pub dropped_future: Counter,
    /// Points whose name cannot be a series name.
    pub dropped_invalid_name: Counter,
    /// Live series.
    pub series: Gauge,
    /// Bytes of blocks, index files and WAL.
    pub disk_bytes: Gauge,
    /// Blocks (or index files) found damaged, at open or when read.
    pub blocks_corrupt: Counter,
    /// Bytes of WAL segments.
    pub wal_bytes: Gauge,
    /// Duration of each WAL group commit's fsyncs.
    pub wal_fsync: Histogram,
    /// Appends and background writes (flush, rollup, compaction) that failed on a full disk.
    pub write_errors_disk_full: Counter,
    /// ...and on any other I/O error.
    pub write_errors_io: Counter,
}

impl Metrics {
    /// Counts `e` in `lookout_tsdb_write_errors_total` if it is a failed write.
    pub(crate) fn count_write_error(&self, e: &crate::Error) {
        match e.write_error_reason() {
            Some("disk_full") => self.write_errors_disk_full.inc(),
            Some(_) => self.write_errors_io.inc(),
            None => {}
        }
    }

    /// Registers the metrics on `r`.
    pub fn new(r: &Registry) -> Metrics {
        let dropped = |reason| {
            r.counter(
                "lookout_tsdb_points_dropped_total",
                "Points not stored, by reason.",
                &[("reason", reason)],
            )
        };
        let write_errors = |reason| {
            r.counter(
                "lookout_tsdb_write_errors_total",
                "Failed appends and background writes of the metrics engine, by reason \
                 (disk_full: retried once space frees; io: see the server log).",
                &[("reason", reason)],
            )
        };
        Metrics {
            write_errors_disk_full: write_errors("disk_full"),
            write_errors_io: write_errors("io"),
            points_appended: r.counter(
                "lookout_tsdb_points_appended_total",
                "Points stored by the metrics engine.",
                &[],
            ),
            dropped_expired: dropped("expired"),
            dropped_future: dropped("future"),
            dropped_invalid_name: dropped("invalid_name"),
            series: r.gauge(
                "lookout_tsdb_series",
                "Live series in the metrics engine.",
                &[],
            ),
            disk_bytes: r.gauge(
                "lookout_tsdb_disk_bytes",
                "Bytes on disk of blocks, series index and WAL.",
                &[],
            ),
            blocks_corrupt: r.counter(
                "lookout_tsdb_blocks_corrupt_total",
                "Damaged blocks or index files found (skipped; the rest is served).",
                &[],
            ),
            wal_bytes: r.gauge("lookout_tsdb_wal_bytes", "Bytes of WAL segments.", &[]),
            wal_fsync: r.histogram(
                "lookout_disk_wal_fsync_seconds",
                "Duration of WAL group-commit fsyncs.",
                &[],
            ),
        }
    }
}
