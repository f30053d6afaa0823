//! Writes lookout's own counters into its metrics store as `lookout.*` series, so they graph
//! and alert like any other metric, and refreshes the process gauges (resident memory, and the
//! allocator's in-use and free bytes that tell a leak from memory only held).

use std::sync::Arc;

use lookout_core::selfmon::{Gauge, Registry};
use lookout_core::{Durability, MetricAppender, Point};
use tracing::warn;

pub struct SelfMetrics {
    store: Arc<lookout_tsdb::Tsdb>,
    registry: Arc<Registry>,
    rss: Gauge,
    heap_in_use: Gauge,
    heap_free: Gauge,
}

impl SelfMetrics {
    pub fn new(store: Arc<lookout_tsdb::Tsdb>, registry: Arc<Registry>) -> SelfMetrics {
        let rss = registry.gauge(
            "lookout_process_resident_bytes",
            "Resident memory of the lookout process.",
            &[],
        );
        let heap_in_use = registry.gauge(
            "lookout_process_heap_in_use_bytes",
            "Memory the allocator has handed out and lookout has not freed.",
            &[],
        );
        let heap_free = registry.gauge(
            "lookout_process_heap_free_bytes",
            "Memory lookout freed that the allocator keeps for reuse (resident until released).",
            &[],
        );
        SelfMetrics {
            store,
            registry,
            rss,
            heap_in_use,
            heap_free,
        }
    }

    /// Samples every self-metric at `now` and appends them (buffered: they ride the next sync).
    pub fn write(&self, now: i64) {
        if let Some(bytes) = crate::memory::resident_bytes() {
            self.rss.set(bytes as i64);
        }
        if let Some(heap) = crate::memory::heap_stats() {
            self.heap_in_use.set(heap.in_use as i64);
            self.heap_free.set(heap.free as i64);
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
