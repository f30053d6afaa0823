//! The StatsD server: [`Statsd`] serves the StatsD line protocol over UDP (one datagram at a
//! time, through the same receive loop as Graphite over UDP) and TCP (newline-framed, through
//! the same connection driver and line framing as Graphite over TCP), aggregates samples in
//! memory, and every `flush_interval` appends the interval's statistics to the store with
//! [`lookout_core::Durability::Buffered`]. [`StatsdConfig`] holds Etsy's settings.
//!
//! The socket readers never touch the aggregation state: datagrams are parsed and aggregated
//! on blocking threads in batches, and a datagram arriving while the backlog is full is
//! dropped and counted (`lookout_ingest_udp_dropped_total`). Parsing is
//! `lookout_proto::statsd`'s job, the arithmetic and names of a flush `statsd_flush`'s.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use lookout_core::selfmon::Registry;
use lookout_core::{MetricAppender, Point};
use lookout_proto::{graphite, statsd, LineError};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::watch;
use tracing::{error, warn};

use crate::counters::ProtoCounters;
use crate::ingest::Shared;
use crate::plaintext::LineFraming;
use crate::statsd_flush::Aggregator;
use crate::stream::{serve_stream, Connection, Cut, Framing};
use crate::{now_unix, Config};

/// Listener and `proto` label of StatsD over UDP.
const PROTO_UDP: &str = "statsd_udp";
/// Listener and `proto` label of StatsD over TCP.
const PROTO_TCP: &str = "statsd_tcp";
/// `proto` label under which flushed points the store refuses are counted.
const PROTO_FLUSH: &str = "statsd";

/// Longest StatsD line. Etsy's daemon has no limit, but a StatsD datagram is meant to fit one
/// network packet (clients default to 512 to 1432 bytes), so 8 KiB is far above any real line
/// and keeps a TCP sender that never sends a newline from growing the buffer.
pub const MAX_STATSD_LINE_BYTES: usize = 8 * 1024;

/// Default bound on the series the aggregator holds at once. Each costs a name and a few
/// numbers (~150 bytes; more for timers and sets in use): 200,000 bound that to tens of MB,
/// far above what a team's services emit, while a sender inventing names cannot exhaust memory.
pub const DEFAULT_STATSD_MAX_SERIES: usize = 200_000;

/// Etsy's settings (`config.js` of the npm package `statsd` and its graphite backend), with
/// Etsy's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct StatsdConfig {
    /// Etsy's `flushInterval`: how often aggregates are written, and the divisor of rates.
    pub flush_interval: Duration,
    /// Etsy's `percentThreshold`: timer percentiles (`90` gives `upper_90`...; a negative one
    /// gives `lower_topN`..., the top N %).
    pub percentiles: Vec<f64>,
    /// Etsy's `deleteCounters`: forget a counter after each flush instead of sending zeros.
    pub delete_counters: bool,
    /// Etsy's `deleteTimers`.
    pub delete_timers: bool,
    /// Etsy's `deleteSets`.
    pub delete_sets: bool,
    /// Etsy's `deleteGauges`: forget a gauge after a flush instead of repeating its value.
    pub delete_gauges: bool,
    /// Etsy's `graphite.legacyNamespace`: `stats.<name>` and `stats_counts.<name>` for
    /// counters; when false, `<global>.<counters>.<name>.rate` / `.count`.
    pub legacy_namespace: bool,
    /// Etsy's `graphite.globalPrefix` (not legacy only).
    pub global_prefix: String,
    /// Etsy's `graphite.prefixCounter` (not legacy only).
    pub prefix_counter: String,
    /// Etsy's `graphite.prefixTimer` (not legacy only).
    pub prefix_timer: String,
    /// Etsy's `graphite.prefixGauge` (not legacy only).
    pub prefix_gauge: String,
    /// Etsy's `graphite.prefixSet` (not legacy only).
    pub prefix_set: String,
    /// Series held at once; samples for new series past it are dropped and counted. Enforced
    /// per shard (a 32nd each), so a shard that hashes more names fills a little earlier.
    pub max_series: usize,
}

impl Default for StatsdConfig {
    fn default() -> StatsdConfig {
        StatsdConfig {
            flush_interval: Duration::from_secs(10),
            percentiles: vec![90.0],
            delete_counters: false,
            delete_timers: false,
            delete_sets: false,
            delete_gauges: false,
            legacy_namespace: true,
            global_prefix: "stats".into(),
            prefix_counter: "counters".into(),
            prefix_timer: "timers".into(),
            prefix_gauge: "gauges".into(),
            prefix_set: "sets".into(),
            max_series: DEFAULT_STATSD_MAX_SERIES,
        }
    }
}

/// A StatsD server: its listeners, its aggregation state and its flushes. The binary binds
/// the sockets, runs [`Statsd::serve_udp`], [`Statsd::serve_tcp`] and
/// [`Statsd::serve_flushes`] until shutdown, then calls [`Statsd::flush`] once the listeners
/// have stopped, so nothing received is lost.
pub struct Statsd {
    shared: Arc<Shared>,
    aggregator: Arc<Aggregator>,
    flush_interval: Duration,
    /// Counts flushed points the store refused, under `proto="statsd"`.
    flush_counters: Arc<ProtoCounters>,
    /// Counts what [`Statsd::ingest_packet`] is given, as the UDP listener would.
    packet_counters: ProtoCounters,
}

impl Statsd {
    /// A server appending to `appender` (with [`lookout_core::Durability::Buffered`]: StatsD acknowledges
    /// nothing, and the points are on disk within the store's sync interval after a flush),
    /// counting on `registry`, bounded by `config`, stopping when `shutdown` becomes `true`.
    pub fn new(
        appender: Arc<dyn MetricAppender>,
        registry: Arc<Registry>,
        config: Config,
        statsd: StatsdConfig,
        shutdown: watch::Receiver<bool>,
    ) -> Statsd {
        let flush_interval = statsd.flush_interval;
        let aggregator = Arc::new(Aggregator::new(statsd));
        let flush_counters = Arc::new(ProtoCounters::new(registry.clone(), PROTO_FLUSH));
        let packet_counters = ProtoCounters::new(registry.clone(), PROTO_UDP);
        let mut shared = Shared::new(appender, registry, config, shutdown);
        shared.statsd = Some(aggregator.clone());
        Statsd {
            shared: Arc::new(shared),
            aggregator,
            flush_interval,
            flush_counters,
            packet_counters,
        }
    }

    /// Serves StatsD over UDP. Returns after shutdown, once the datagrams already received
    /// are aggregated.
    pub async fn serve_udp(&self, socket: UdpSocket) {
        crate::udp::serve_datagrams(self.shared.clone(), socket, PROTO_UDP, parse_datagram).await;
    }

    /// Serves StatsD over TCP, newline-framed. Returns after shutdown, once every connection
    /// has aggregated the lines it had read.
    pub async fn serve_tcp(&self, listener: TcpListener) {
        let max_line = MAX_STATSD_LINE_BYTES.min(self.shared.config.max_line_bytes);
        serve_stream(self.shared.clone(), listener, PROTO_TCP, move || {
            StatsdFraming(LineFraming::new(max_line))
        })
        .await;
    }

    /// Flushes every `flush_interval` until shutdown. The last interval is the caller's to
    /// flush with [`Statsd::flush`] after the listeners stop.
    pub async fn serve_flushes(&self) {
        let mut shutdown = self.shared.shutdown.clone();
        let mut tick = tokio::time::interval(self.flush_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tokio::select! {
                biased;
                () = Shared::stopped(&mut shutdown) => return,
                _ = tick.tick() => {}
            }
            let (shared, aggregator) = (self.shared.clone(), self.aggregator.clone());
            let counters = self.flush_counters.clone();
            let job = tokio::task::spawn_blocking(move || {
                flush(&shared, &aggregator, &counters, now_unix())
            });
            if let Err(e) = job.await {
                error!("a StatsD flush failed: {e}");
            }
        }
    }

    /// Writes the current interval's aggregates stamped `now` and starts a new interval.
    /// Blocking: call it from a blocking thread. Returns how many points were written.
    pub fn flush(&self, now: i64) -> usize {
        flush(&self.shared, &self.aggregator, &self.flush_counters, now)
    }

    /// The points the current interval would flush at `now`, taken without storing them (the
    /// interval restarts as after a flush). For benchmarks and tests.
    pub fn take_points(&self, now: i64) -> Vec<Point> {
        self.aggregator.flush(now)
    }

    /// Parses and aggregates one packet as if it came from `peer`, counting like a
    /// listener. Blocking. For benchmarks and tests; returns the samples kept.
    pub fn ingest_packet(&self, peer: IpAddr, data: &[u8]) -> usize {
        aggregate(
            &self.shared,
            &self.packet_counters,
            peer,
            data,
            &mut Vec::new(),
        )
    }
}

/// Appends the interval's aggregates; a refused batch is counted and logged by `store`.
fn flush(shared: &Shared, aggregator: &Aggregator, counters: &ProtoCounters, now: i64) -> usize {
    let points = aggregator.flush(now);
    shared.store(counters, None, &points);
    points.len()
}

/// [`crate::udp::ParseDatagram`] for StatsD: aggregates, so it leaves `points` empty.
fn parse_datagram(
    shared: &Shared,
    counters: &ProtoCounters,
    peer: IpAddr,
    data: &[u8],
    _now: i64,
    _points: &mut Vec<Point>,
    errors: &mut Vec<LineError>,
) {
    aggregate(shared, counters, peer, data, errors);
}

/// Parses `data` and adds its samples to the aggregator, counting good samples, refused lines
/// and dropped samples under the counters' protocol. Returns the samples kept.
fn aggregate(
    shared: &Shared,
    counters: &ProtoCounters,
    peer: IpAddr,
    data: &[u8],
    errors: &mut Vec<LineError>,
) -> usize {
    let Some(aggregator) = shared.statsd.as_deref() else {
        warn!("StatsD data reached a listener without an aggregator; dropped");
        return 0;
    };
    let max_line = MAX_STATSD_LINE_BYTES.min(shared.config.max_line_bytes);
    let mut samples = Vec::new();
    errors.clear();
    statsd::parse(data, max_line, &mut samples, errors);
    let mut kept = 0;
    for sample in &samples {
        match aggregator.add(sample) {
            Ok(()) => kept += 1,
            Err(refused) => counters.refuse(
                peer,
                refused.reason(),
                &format_args!("StatsD sample for {:?} dropped", sample.name),
            ),
        }
    }
    counters.record(peer, kept, errors, |e| graphite::line_text(data, e.line));
    kept
}

/// StatsD over TCP: Graphite's line framing (over-long lines skipped and counted), with lines
/// aggregated instead of stored.
struct StatsdFraming(LineFraming);

impl Framing for StatsdFraming {
    fn cut(&mut self, conn: &Connection, buf: &mut Vec<u8>) -> Cut {
        self.0.cut(conn, buf)
    }

    fn needed(&self) -> usize {
        self.0.needed()
    }

    fn at_eof(&mut self, conn: &Connection, rest: &[u8]) -> usize {
        self.0.at_eof(conn, rest)
    }

    fn parse(
        conn: &Connection,
        data: &[u8],
        _now: i64,
        _points: &mut Vec<Point>,
        errors: &mut Vec<LineError>,
    ) {
        aggregate(&conn.shared, &conn.counters, conn.peer, data, errors);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lookout_core::testkit::MemStore;
    use lookout_core::{MetricReader, TimeRange};

    #[test]
    fn packets_are_aggregated_counted_and_flushed_to_the_store() {
        let store = Arc::new(MemStore::new(10));
        let registry = Arc::new(Registry::new());
        let server = Statsd::new(
            store.clone(),
            registry.clone(),
            Config::default(),
            StatsdConfig::default(),
            watch::channel(false).1,
        );
        let peer = IpAddr::from([127, 0, 0, 1]);
        let kept = server.ingest_packet(peer, b"a:1|c\nbad line\nb:2|g\nc:1|x\n");
        assert_eq!(kept, 2);
        let invalid = |reason| {
            registry
                .counter(
                    crate::counters::RECORDS_INVALID,
                    "",
                    &[("proto", PROTO_UDP), ("reason", reason)],
                )
                .get()
        };
        assert_eq!(invalid("syntax"), 1);
        assert_eq!(invalid("type"), 1);
        assert_eq!(server.flush(1000), 3);
        let range = TimeRange {
            from: 900,
            until: 1000,
        };
        let names = store.list_series().unwrap();
        assert_eq!(names, ["stats.a", "stats.gauges.b", "stats_counts.a"]);
        let data = store.fetch(&names, range, 1000).unwrap();
        let last: Vec<Option<f64>> = data.iter().map(|s| *s.values.last().unwrap()).collect();
        assert_eq!(last, [Some(0.1), Some(2.0), Some(1.0)]);
    }
}
