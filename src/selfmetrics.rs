//! Writes lookout's own counters into its metrics store as `lookout.*` series, so they graph
//! and alert like any other metric, and refreshes the process gauges (resident memory).

use std::sync::Arc;

use lookout_core::selfmon::{Gauge, Registry};
use lookout_core::{Durability, MetricAppender, Point};
use tracing::warn;

pub struct SelfMetrics {
    store: Arc<lookout_tsdb::Tsdb>,
    registry: Arc<Registry>,
    rss: Gauge,
}

impl SelfMetrics {
    pub fn new(store: Arc<lookout_tsdb::Tsdb>, registry: Arc<Registry>) -> SelfMetrics {
        let rss = registry.gauge(
            "lookout_process_resident_bytes",
            "Resident memory of the lookout process.",
            &[],
        );
        SelfMetrics {
            store,
            registry,
            rss,
        }
    }

    /// Samples every self-metric at `now` and appends them (buffered: they ride the next sync).
    pub fn write(&self, now: i64) {
        if let Some(bytes) = resident_bytes() {
            self.rss.set(bytes as i64);
        }
        let points: Vec<Point> = self
            .registry
            .samples()
            .into_iter()
            .map(|s| Point {
                name: s.path,
                ts: now,
                value: s.value,
            })
            .collect();
        if let Err(e) = self.store.append(&points, Durability::Buffered) {
            warn!("writing self-metrics failed: {e}");
        }
    }
}

/// Resident set size from /proc/self/statm (pages × page size); `None` off Linux.
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}
