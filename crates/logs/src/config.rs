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
    /// ...or once the head holds this many message bytes, which bounds head memory.
    pub flush_max_bytes: usize,
    /// Records older than this (by their timestamp) are dropped, whole blocks at a time.
    /// 0 keeps everything.
    pub retention_secs: i64,
    /// Total bytes of block files kept; the oldest blocks go first. 0 is unlimited.
    pub max_bytes: u64,
    /// zstd level for block columns. Flushes run off the ingest path, so a denser level than
    /// zstd's default 3 is affordable: at 9, gen_logs-shaped rows take 13.8 bytes per line and
    /// compress at ~390 k lines/s (`benches/store.rs`).
    pub zstd_level: i32,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            partition_secs: 3600,
            flush_interval_secs: 600,
            flush_max_bytes: 256 << 20,
            retention_secs: 30 * 86400,
            max_bytes: 0,
            zstd_level: 9,
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
