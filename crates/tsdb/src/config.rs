//! The engine's validated settings with their documented defaults. The binary builds one from
//! the user's TOML (its own `RawConfig`) and passes it to `Tsdb::open`; nothing here reads
//! files or flags.

use crate::error::{Error, Result};
use crate::schema::{default_aggregation_rules, default_schema_rules, AggregationRule, SchemaRule};

/// Settings of one metrics engine.
#[derive(Debug, Clone)]
pub struct Config {
    /// Retention rules, first match wins (`storage-schemas.conf`). Default: one catch-all with
    /// `10s:7d,1m:30d,10m:2y`.
    pub schemas: Vec<SchemaRule>,
    /// Rollup rules, first match wins (`storage-aggregation.conf`). Default: statsd's
    /// recommendation (see [`crate::schema::default_aggregation_rules`]).
    pub aggregations: Vec<AggregationRule>,
    /// The head is flushed to blocks once it is this old (seconds since the last flush), which
    /// bounds its memory per active series: at a 10 s step, 10 minutes is at most 60 points
    /// (720 bytes) per series. Default 600.
    pub flush_interval_secs: i64,
    /// The head is flushed early once it holds this many points, which bounds its memory when
    /// a backfill arrives faster than the interval (12 bytes per point: 48 MB by default).
    pub flush_max_points: usize,
    /// Points more than this far ahead of the engine's clock are dropped and counted
    /// (`reason="future"`): whisper would store them, but they would never expire. Default 7 days.
    pub max_future_secs: i64,
    /// Read every block fully at open to check its CRC, so a damaged block is reported and
    /// skipped before it is served. Costs one sequential read of the data. Default true.
    pub verify_blocks_on_open: bool,
    /// A partition still receiving data is compacted once it has this many blocks of similar
    /// size, so flushes do not pile up and each point is rewritten about log_fanout(n) times.
    /// Default 4.
    pub compaction_fanout: usize,
    /// Size of one WAL segment, the unit in which the log is truncated after a flush.
    /// Default 64 MiB.
    pub wal_segment_bytes: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            schemas: default_schema_rules(),
            aggregations: default_aggregation_rules(),
            flush_interval_secs: 600,
            flush_max_points: 4_000_000,
            max_future_secs: 7 * 86_400,
            verify_blocks_on_open: true,
            compaction_fanout: 4,
            wal_segment_bytes: 64 << 20,
        }
    }
}

impl Config {
    /// Checks the ranges `Tsdb::open` relies on.
    pub fn validate(&self) -> Result<()> {
        let bad = |what: &str| Err(Error::InvalidConfig(what.to_string()));
        if self.flush_interval_secs <= 0 {
            return bad("flush_interval_secs must be positive");
        }
        if self.flush_max_points == 0 {
            return bad("flush_max_points must be positive");
        }
        if self.max_future_secs < 0 {
            return bad("max_future_secs must not be negative");
        }
        if self.compaction_fanout < 2 {
            return bad("compaction_fanout must be at least 2");
        }
        if self.wal_segment_bytes < 4096 {
            return bad("wal_segment_bytes must be at least 4096");
        }
        for r in &self.aggregations {
            if !(0.0..=1.0).contains(&r.x_files_factor) {
                return Err(Error::InvalidConfig(format!(
                    "aggregation rule {:?}: xFilesFactor {} is not within 0..=1",
                    r.name, r.x_files_factor
                )));
            }
        }
        for r in &self.schemas {
            if r.retentions.is_empty() {
                return Err(Error::InvalidConfig(format!(
                    "schema rule {:?} has no retention",
                    r.name
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_bad_values_are_named() {
        Config::default().validate().unwrap();
        let mut c = Config::default();
        c.aggregations[0].x_files_factor = 1.5;
        assert!(c.validate().unwrap_err().to_string().contains("count"));
        let c = Config {
            compaction_fanout: 1,
            ..Config::default()
        };
        assert!(c.validate().unwrap_err().to_string().contains("fanout"));
        let c = Config {
            flush_interval_secs: 0,
            ..Config::default()
        };
        assert!(c.validate().is_err());
    }
}
