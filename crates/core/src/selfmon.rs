//! lookout's own counters, gauges and histograms.
//!
//! Each component registers what it counts on a shared [`Registry`] (declared next to the code
//! that counts it, named `lookout_<crate>_<what>_<unit or total>`), and the binary exports the
//! registry two ways: Prometheus text at `GET /metrics`, and Graphite series under `lookout.*`
//! written into the metrics store, so lookout graphs and alerts on itself like on anything else.
//! Updates are single atomic operations; the registry lock is taken only to register and export.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Distinct label sets one metric may hold. Per-sender labels (`peer`) come from the network,
/// so they are capped: past this, new label sets are folded into one whose values are `other`.
pub const MAX_LABEL_SETS_PER_METRIC: usize = 1000;

/// Bucket upper bounds in seconds for latency histograms: 100 µs to 10 s, covering an fsync on
/// fast NVMe up to a stalled disk.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

type Labels = Vec<(String, String)>;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Counter,
    Gauge,
    Histogram,
}

enum Cell {
    Counter(Arc<AtomicU64>),
    Gauge(Arc<AtomicI64>),
    Histogram(Arc<HistogramCell>),
}

struct Family {
    help: &'static str,
    kind: Kind,
    series: BTreeMap<Labels, Cell>,
}

/// The set of self-metrics of one lookout process. Cheap to share behind an `Arc`.
#[derive(Default)]
pub struct Registry {
    families: Mutex<BTreeMap<&'static str, Family>>,
}

/// A monotonically increasing count.
#[derive(Clone, Debug)]
pub struct Counter(Arc<AtomicU64>);

impl Counter {
    /// Adds one.
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
    /// Adds `n`.
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }
    /// Current value.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A value that goes up and down.
#[derive(Clone, Debug)]
pub struct Gauge(Arc<AtomicI64>);

impl Gauge {
    /// Sets the value.
    pub fn set(&self, v: i64) {
        self.0.store(v, Ordering::Relaxed);
    }
    /// Adds `d` (may be negative).
    pub fn add(&self, d: i64) {
        self.0.fetch_add(d, Ordering::Relaxed);
    }
    /// Current value.
    pub fn get(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
}

#[derive(Debug)]
struct HistogramCell {
    buckets: Vec<AtomicU64>,
    count: AtomicU64,
    /// Sum in microseconds, so it stays an integer atomic.
    sum_micros: AtomicU64,
}

/// A distribution of durations over [`LATENCY_BUCKETS`].
#[derive(Clone, Debug)]
pub struct Histogram(Arc<HistogramCell>);

impl Histogram {
    /// Records one observation in seconds.
    pub fn observe(&self, seconds: f64) {
        let c = &self.0;
        if let Some(i) = LATENCY_BUCKETS.iter().position(|b| seconds <= *b) {
            c.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        c.count.fetch_add(1, Ordering::Relaxed);
        c.sum_micros
            .fetch_add((seconds.max(0.0) * 1e6) as u64, Ordering::Relaxed);
    }
    /// Observations so far.
    pub fn count(&self) -> u64 {
        self.0.count.load(Ordering::Relaxed)
    }
}

/// One exported value, for writing self-metrics as Graphite series.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Graphite path, e.g. `lookout.ingest.records_invalid_total.graphite`.
    pub path: String,
    /// Current value.
    pub value: f64,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Registry {
        Registry::default()
    }

    /// The counter `name{labels}`, registered on first use.
    pub fn counter(
        &self,
        name: &'static str,
        help: &'static str,
        labels: &[(&str, &str)],
    ) -> Counter {
        match self.cell(name, help, Kind::Counter, labels) {
            CellRef::Counter(c) => Counter(c),
            _ => unreachable_kind(name),
        }
    }

    /// The gauge `name{labels}`, registered on first use.
    pub fn gauge(&self, name: &'static str, help: &'static str, labels: &[(&str, &str)]) -> Gauge {
        match self.cell(name, help, Kind::Gauge, labels) {
            CellRef::Gauge(c) => Gauge(c),
            _ => unreachable_kind(name),
        }
    }

    /// The latency histogram `name{labels}` (seconds), registered on first use.
    pub fn histogram(
        &self,
        name: &'static str,
        help: &'static str,
        labels: &[(&str, &str)],
    ) -> Histogram {
        match self.cell(name, help, Kind::Histogram, labels) {
            CellRef::Histogram(c) => Histogram(c),
            _ => unreachable_kind(name),
        }
    }

    fn cell(
        &self,
        name: &'static str,
        help: &'static str,
        kind: Kind,
        labels: &[(&str, &str)],
    ) -> CellRef {
        let mut families = self.families.lock().unwrap_or_else(|e| e.into_inner());
        let fam = families.entry(name).or_insert_with(|| Family {
            help,
            kind,
            series: BTreeMap::new(),
        });
        // Registering one name with two kinds is a programming error in lookout itself, never
        // caused by input: the second registration gets a detached cell that is not exported.
        if fam.kind != kind {
            return CellRef::detached(kind);
        }
        let mut key: Labels = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        if !fam.series.contains_key(&key) && fam.series.len() >= MAX_LABEL_SETS_PER_METRIC {
            key = labels
                .iter()
                .map(|(k, _)| (k.to_string(), "other".to_string()))
                .collect();
        }
        let cell = fam.series.entry(key).or_insert_with(|| match kind {
            Kind::Counter => Cell::Counter(Arc::default()),
            Kind::Gauge => Cell::Gauge(Arc::default()),
            Kind::Histogram => Cell::Histogram(Arc::new(HistogramCell {
                buckets: LATENCY_BUCKETS.iter().map(|_| AtomicU64::new(0)).collect(),
                count: AtomicU64::new(0),
                sum_micros: AtomicU64::new(0),
            })),
        });
        match cell {
            Cell::Counter(c) => CellRef::Counter(c.clone()),
            Cell::Gauge(c) => CellRef::Gauge(c.clone()),
            Cell::Histogram(c) => CellRef::Histogram(c.clone()),
        }
    }

    /// The registry in Prometheus text exposition format 0.0.4.
    pub fn render_prometheus(&self) -> String {
        let families = self.families.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = String::new();
        for (name, fam) in families.iter() {
            let kind = match fam.kind {
                Kind::Counter => "counter",
                Kind::Gauge => "gauge",
                Kind::Histogram => "histogram",
            };
            let _ = writeln!(out, "# HELP {name} {}", fam.help);
            let _ = writeln!(out, "# TYPE {name} {kind}");
            for (labels, cell) in &fam.series {
                match cell {
                    Cell::Counter(c) => {
                        let _ = writeln!(
                            out,
                            "{name}{} {}",
                            prom_labels(labels, None),
                            c.load(Ordering::Relaxed)
                        );
                    }
                    Cell::Gauge(c) => {
                        let _ = writeln!(
                            out,
                            "{name}{} {}",
                            prom_labels(labels, None),
                            c.load(Ordering::Relaxed)
                        );
                    }
                    Cell::Histogram(h) => {
                        let mut cumulative = 0;
                        for (b, n) in LATENCY_BUCKETS.iter().zip(&h.buckets) {
                            cumulative += n.load(Ordering::Relaxed);
                            let le = format!("{b}");
                            let _ = writeln!(
                                out,
                                "{name}_bucket{} {cumulative}",
                                prom_labels(labels, Some(&le))
                            );
                        }
                        let count = h.count.load(Ordering::Relaxed);
                        let _ = writeln!(
                            out,
                            "{name}_bucket{} {count}",
                            prom_labels(labels, Some("+Inf"))
                        );
                        let sum = h.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
                        let _ = writeln!(out, "{name}_sum{} {sum}", prom_labels(labels, None));
                        let _ = writeln!(out, "{name}_count{} {count}", prom_labels(labels, None));
                    }
                }
            }
        }
        out
    }

    /// Every value as a Graphite path: `lookout_ingest_points_total{proto="graphite"}` becomes
    /// `lookout.ingest.points_total.graphite` (label values in label order, dots and other
    /// characters outside `[A-Za-z0-9_-]` replaced by `_`). Histograms give `.count` and
    /// `.sum` (seconds).
    pub fn samples(&self) -> Vec<Sample> {
        let families = self.families.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = Vec::new();
        for (name, fam) in families.iter() {
            let base = graphite_base(name);
            for (labels, cell) in &fam.series {
                let mut path = base.clone();
                for (_, v) in labels {
                    path.push('.');
                    path.push_str(&sanitize_node(v));
                }
                match cell {
                    Cell::Counter(c) => out.push(Sample {
                        path,
                        value: c.load(Ordering::Relaxed) as f64,
                    }),
                    Cell::Gauge(c) => out.push(Sample {
                        path,
                        value: c.load(Ordering::Relaxed) as f64,
                    }),
                    Cell::Histogram(h) => {
                        out.push(Sample {
                            path: format!("{path}.count"),
                            value: h.count.load(Ordering::Relaxed) as f64,
                        });
                        out.push(Sample {
                            path: format!("{path}.sum"),
                            value: h.sum_micros.load(Ordering::Relaxed) as f64 / 1e6,
                        });
                    }
                }
            }
        }
        out
    }
}

enum CellRef {
    Counter(Arc<AtomicU64>),
    Gauge(Arc<AtomicI64>),
    Histogram(Arc<HistogramCell>),
}

impl CellRef {
    fn detached(kind: Kind) -> CellRef {
        match kind {
            Kind::Counter => CellRef::Counter(Arc::default()),
            Kind::Gauge => CellRef::Gauge(Arc::default()),
            Kind::Histogram => CellRef::Histogram(Arc::new(HistogramCell {
                buckets: LATENCY_BUCKETS.iter().map(|_| AtomicU64::new(0)).collect(),
                count: AtomicU64::new(0),
                sum_micros: AtomicU64::new(0),
            })),
        }
    }
}

fn unreachable_kind(name: &str) -> ! {
    // `cell` returns the kind it was asked for, by construction of the match above.
    unreachable!("self-metric {name} returned a cell of another kind")
}

fn prom_labels(labels: &Labels, le: Option<&str>) -> String {
    if labels.is_empty() && le.is_none() {
        return String::new();
    }
    let mut parts: Vec<String> = labels
        .iter()
        .map(|(k, v)| {
            format!(
                "{k}=\"{}\"",
                v.replace('\\', "\\\\")
                    .replace('"', "\\\"")
                    .replace('\n', "\\n")
            )
        })
        .collect();
    if let Some(le) = le {
        parts.push(format!("le=\"{le}\""));
    }
    format!("{{{}}}", parts.join(","))
}

fn graphite_base(name: &str) -> String {
    let rest = name.strip_prefix("lookout_").unwrap_or(name);
    match rest.split_once('_') {
        Some((krate, what)) => format!("lookout.{krate}.{what}"),
        None => format!("lookout.{rest}"),
    }
}

fn sanitize_node(v: &str) -> String {
    let s: String = v
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() {
        "_".to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_export_as_prometheus_and_graphite() {
        let r = Registry::new();
        let c = r.counter(
            "lookout_ingest_records_invalid_total",
            "Malformed records.",
            &[("proto", "graphite")],
        );
        c.inc();
        c.add(2);
        r.counter(
            "lookout_ingest_records_invalid_total",
            "Malformed records.",
            &[("proto", "graphite")],
        )
        .inc();
        let text = r.render_prometheus();
        assert!(
            text.contains("# TYPE lookout_ingest_records_invalid_total counter"),
            "{text}"
        );
        assert!(
            text.contains("lookout_ingest_records_invalid_total{proto=\"graphite\"} 4"),
            "{text}"
        );
        assert_eq!(
            r.samples(),
            vec![Sample {
                path: "lookout.ingest.records_invalid_total.graphite".into(),
                value: 4.0
            }]
        );
    }

    #[test]
    fn histogram_counts_buckets_cumulatively() {
        let r = Registry::new();
        let h = r.histogram("lookout_disk_wal_fsync_seconds", "fsync latency.", &[]);
        h.observe(0.0002);
        h.observe(0.003);
        let text = r.render_prometheus();
        assert!(
            text.contains("lookout_disk_wal_fsync_seconds_bucket{le=\"0.00025\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("lookout_disk_wal_fsync_seconds_bucket{le=\"0.005\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("lookout_disk_wal_fsync_seconds_count 2"),
            "{text}"
        );
    }

    #[test]
    fn label_sets_are_capped() {
        let r = Registry::new();
        for i in 0..MAX_LABEL_SETS_PER_METRIC + 10 {
            r.counter(
                "lookout_ingest_dropped_total",
                "x",
                &[("peer", &format!("10.0.0.{i}"))],
            )
            .inc();
        }
        let other = r.counter("lookout_ingest_dropped_total", "x", &[("peer", "other")]);
        assert_eq!(other.get(), 10);
        assert_eq!(
            r.samples()
                .iter()
                .filter(|s| s.path.starts_with("lookout.ingest.dropped_total"))
                .count(),
            MAX_LABEL_SETS_PER_METRIC + 1
        );
    }
}
