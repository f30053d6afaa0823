//! The log store's validated settings and their defaults. Parsing them from TOML and flags is
//! the binary's job.

use crate::error::{Error, Result};

/// How the store partitions, flushes and retains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Width of a time partition: a block holds records of one partition only, so retention
    /// drops whole partitions and a time-range query skips whole blocks. One hour keeps a
    /// 2-minute query to one or two blocks at any ingest rate.
    pub partition_secs: i64,
    /// `maintain` flushes the head into blocks once its oldest unflushed append is this old.
    pub flush_interval_secs: i64,
    /// ...or once the head holds this many bytes: [`crate::LogStore::wait_for_flush_work`]
    /// wakes a background flusher then, and at twice this an appender flushes the head itself
    /// (backpressure), so the head and the frozen head being written hold at most four times
    /// this.
    pub flush_max_bytes: usize,
    /// Records older than this (by their timestamp) are dropped, whole blocks at a time.
    /// 0 keeps everything.
    pub retention_secs: i64,
    /// Total bytes of block files kept; the oldest blocks go first. 0 is unlimited.
    pub max_bytes: u64,
    /// zstd level for block columns. 1: on gen_logs-shaped rows in sections of 2048 it is both
    /// the densest of the fast levels and the fastest (16.1 bytes per line at 1.77M lines/s,
    /// against 16.7 at 1.58M for level 3 and 14.4 at 0.38M for level 9), and flush speed is
    /// what keeps a background flush from taking CPU from an ingest of a million lines a second
    /// on two cores (`benches/store.rs` prints levels 1, 3, 6 and 9).
    pub zstd_level: i32,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            partition_secs: 3600,
            flush_interval_secs: 600,
            // ~600k records shaped like gen_logs: a flush of it takes well under a second,
            // during which the next head fills at most half its budget at 1M records/s.
            flush_max_bytes: 64 << 20,
            retention_secs: 30 * 86400,
            max_bytes: 0,
            zstd_level: 1,
        }
    }
}

impl Config {
    pub(crate) fn validate(&self) -> Result<()> {
        if self.partition_secs <= 0 || 86400 % self.partition_secs != 0 {
            return Err(Error::InvalidConfig(format!(
                "partition_secs {} must be positive and divide a day",
                self.partition_secs
            )));
        }
        if self.retention_secs < 0 || self.flush_interval_secs < 0 {
            return Err(Error::InvalidConfig(
                "retention_secs and flush_interval_secs must not be negative".into(),
            ));
        }
        if !(1..=22).contains(&self.zstd_level) {
            return Err(Error::InvalidConfig(format!(
                "zstd_level {} outside 1..=22",
                self.zstd_level
            )));
        }
        Ok(())
    }
}
