//! The ingest self-metrics and how refused input is counted and logged, the same way for every
//! protocol: points (or log records) received per `proto`, refusals per `proto` and `reason` and per sending
//! host, connection gauges and rejections per `listener`. Malformed input is also logged, at a
//! limited rate and with the offending text escaped.
//!
//! Parsing is `lookout-proto`'s business, and deciding what to refuse is the listeners'; this
//! module only counts and reports.

use std::net::IpAddr;
use std::sync::Arc;

use lookout_core::selfmon::{Counter, Registry};
use lookout_core::Point;
use lookout_proto::{excerpt, graphite, LineError};
use tracing::warn;

use crate::warn_limiter::WarnLimiter;

/// Points parsed and handed to the store, per protocol.
pub(crate) const POINTS_RECEIVED: &str = "lookout_ingest_points_received_total";
/// Log records parsed and handed to the log store, per protocol; the HTTP NDJSON endpoint
/// counts under the same name, so one graph shows every log input.
pub(crate) const RECORDS_RECEIVED: &str = "lookout_ingest_records_received_total";
/// Records refused, per protocol and reason.
pub(crate) const RECORDS_INVALID: &str = "lookout_ingest_records_invalid_total";
/// Records refused or dropped, per protocol and sending host.
pub(crate) const REJECTED_BY_PEER: &str = "lookout_ingest_rejected_by_peer_total";
/// Points parsed but refused by the store, per protocol.
pub(crate) const POINTS_DROPPED: &str = "lookout_ingest_points_dropped_total";
/// UDP datagrams that could not be received or had to be dropped.
pub(crate) const UDP_DROPPED: &str = "lookout_ingest_udp_dropped_total";
/// Open TCP connections, per listener.
pub(crate) const CONNECTIONS_OPEN: &str = "lookout_ingest_connections_open";
/// TCP connections closed at once because the listener was at its cap, per listener.
pub(crate) const CONNECTIONS_REJECTED: &str = "lookout_ingest_connections_rejected_total";
/// Failed `accept` calls, per listener.
pub(crate) const ACCEPT_ERRORS: &str = "lookout_ingest_accept_errors_total";

const POINTS_RECEIVED_HELP: &str = "Points parsed and handed to the metrics store.";
const RECORDS_RECEIVED_HELP: &str = "Log records received, by protocol.";
const RECORDS_INVALID_HELP: &str = "Records (lines, pickle entries or frames) refused.";
const REJECTED_BY_PEER_HELP: &str = "Records refused or dropped, by sending host.";

/// Counting and rate-limited logging for one protocol (`graphite_tcp`, `graphite_udp`,
/// `pickle`, `http`). Shared by all connections of a listener.
pub(crate) struct ProtoCounters {
    registry: Arc<Registry>,
    proto: &'static str,
    /// Points for a metrics listener, records for a log listener.
    received: Counter,
    warnings: WarnLimiter,
}

impl ProtoCounters {
    pub(crate) fn new(registry: Arc<Registry>, proto: &'static str) -> ProtoCounters {
        let points = registry.counter(POINTS_RECEIVED, POINTS_RECEIVED_HELP, &[("proto", proto)]);
        ProtoCounters::with_received(registry, proto, points)
    }

    /// The counters of a log listener (syslog, GELF): the same refusal counting, but what it
    /// receives are log records, not points.
    pub(crate) fn for_logs(registry: Arc<Registry>, proto: &'static str) -> ProtoCounters {
        let records =
            registry.counter(RECORDS_RECEIVED, RECORDS_RECEIVED_HELP, &[("proto", proto)]);
        ProtoCounters::with_received(registry, proto, records)
    }

    fn with_received(
        registry: Arc<Registry>,
        proto: &'static str,
        received: Counter,
    ) -> ProtoCounters {
        ProtoCounters {
            registry,
            proto,
            received,
            warnings: WarnLimiter::new(),
        }
    }

    pub(crate) fn proto(&self) -> &'static str {
        self.proto
    }

    /// The count of UDP datagrams this listener could not receive or had to drop because
    /// parsing fell behind, per protocol, so a StatsD flood and a syslog flood can be told
    /// apart.
    pub(crate) fn udp_dropped(&self) -> Counter {
        self.registry.counter(
            UDP_DROPPED,
            "UDP datagrams that could not be received or were dropped for lack of capacity.",
            &[("proto", self.proto)],
        )
    }

    /// Counts one parsed batch from `peer`: its good points, and each refused record by
    /// reason. The first refusal that is not a silent drop (NaN) is logged, rate-limited, with
    /// the text `text` gives for it.
    pub(crate) fn record<'a>(
        &self,
        peer: IpAddr,
        points: usize,
        errors: &[LineError],
        text: impl Fn(&LineError) -> Option<&'a [u8]>,
    ) {
        self.received.add(points as u64);
        if errors.is_empty() {
            return;
        }
        let mut by_reason: Vec<(&'static str, u64)> = Vec::new();
        for e in errors {
            let reason = e.kind.reason();
            match by_reason.iter_mut().find(|(r, _)| *r == reason) {
                Some((_, n)) => *n += 1,
                None => by_reason.push((reason, 1)),
            }
        }
        for (reason, n) in by_reason {
            self.invalid(reason).add(n);
        }
        self.by_peer(peer).add(errors.len() as u64);
        let loud: Vec<&LineError> = errors.iter().filter(|e| !e.is_silent_drop()).collect();
        if let Some(first) = loud.first() {
            if let Some(suppressed) = self.warnings.allow(loud.len() as u64) {
                let more = suppressed + loud.len() as u64 - 1;
                match text(first).map(excerpt) {
                    Some(shown) => warn!(
                        proto = self.proto,
                        %peer,
                        "refused line {}: {}: \"{shown}\"; {more} more refused since the last warning",
                        first.line,
                        first.kind,
                    ),
                    None => warn!(
                        proto = self.proto,
                        %peer,
                        "refused entry {}: {}; {more} more refused since the last warning",
                        first.line,
                        first.kind,
                    ),
                }
            }
        }
    }

    /// Counts and logs (rate-limited) one refusal found by the listener itself rather than
    /// the parser: an over-long line, a refused pickle, a truncated frame or datagram.
    pub(crate) fn refuse(
        &self,
        peer: IpAddr,
        reason: &'static str,
        detail: &dyn std::fmt::Display,
    ) {
        self.invalid(reason).inc();
        self.by_peer(peer).inc();
        if let Some(suppressed) = self.warnings.allow(1) {
            warn!(
                proto = self.proto,
                %peer,
                reason,
                "refused input: {detail}; {suppressed} more refused since the last warning"
            );
        }
    }

    /// Counts records from `peer` dropped for lack of capacity (not for being invalid).
    pub(crate) fn count_peer(&self, peer: IpAddr, n: u64) {
        self.by_peer(peer).add(n);
    }

    /// Counts points the store refused.
    pub(crate) fn dropped_by_store(&self, peer: Option<IpAddr>, points: usize) {
        self.registry
            .counter(
                POINTS_DROPPED,
                "Points parsed but refused by the metrics store.",
                &[("proto", self.proto), ("reason", "store")],
            )
            .add(points as u64);
        if let Some(peer) = peer {
            self.by_peer(peer).add(points as u64);
        }
    }

    fn invalid(&self, reason: &'static str) -> Counter {
        self.registry.counter(
            RECORDS_INVALID,
            RECORDS_INVALID_HELP,
            &[("proto", self.proto), ("reason", reason)],
        )
    }

    fn by_peer(&self, peer: IpAddr) -> Counter {
        self.registry.counter(
            REJECTED_BY_PEER,
            REJECTED_BY_PEER_HELP,
            &[("proto", self.proto), ("peer", &peer.to_string())],
        )
    }
}

/// Counting for Graphite plaintext posted over HTTP (`POST /api/v1/metrics`), so the binary's
/// HTTP ingest reports exactly like the listeners: `proto="http"`, the same reasons, the same
/// per-peer counter and rate-limited warnings.
pub struct HttpIngestCounters(ProtoCounters);

impl HttpIngestCounters {
    /// Registers the `proto="http"` counters.
    pub fn new(registry: &Arc<Registry>) -> HttpIngestCounters {
        HttpIngestCounters(ProtoCounters::new(registry.clone(), "http"))
    }

    /// Counts one request parsed with `lookout_proto::graphite::parse`: its points, and its
    /// refused lines (looked up in `body` for the warning's excerpt).
    pub fn record(&self, points: &[Point], errors: &[LineError], body: &[u8], peer: IpAddr) {
        self.0.record(peer, points.len(), errors, |e| {
            graphite::line_text(body, e.line)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lookout_proto::LineErrorKind;

    fn value(registry: &Registry, name: &'static str, labels: &[(&str, &str)]) -> u64 {
        registry.counter(name, "", labels).get()
    }

    #[test]
    fn refusals_are_counted_by_reason_and_peer() {
        let registry = Arc::new(Registry::new());
        let counters = HttpIngestCounters::new(&registry);
        let peer: IpAddr = "10.1.2.3".parse().unwrap();
        let errors = [
            LineError {
                line: 2,
                kind: LineErrorKind::FieldCount,
            },
            LineError {
                line: 3,
                kind: LineErrorKind::NanValue,
            },
            LineError {
                line: 4,
                kind: LineErrorKind::FieldCount,
            },
        ];
        counters.record(&[], &errors, b"a 1 2\nbad\nb nan 1\nbad\n", peer);
        assert_eq!(
            value(
                &registry,
                RECORDS_INVALID,
                &[("proto", "http"), ("reason", "fields")]
            ),
            2
        );
        assert_eq!(
            value(
                &registry,
                RECORDS_INVALID,
                &[("proto", "http"), ("reason", "nan")]
            ),
            1
        );
        assert_eq!(
            value(
                &registry,
                REJECTED_BY_PEER,
                &[("proto", "http"), ("peer", "10.1.2.3")]
            ),
            3
        );
        assert_eq!(value(&registry, POINTS_RECEIVED, &[("proto", "http")]), 0);
    }

    #[test]
    fn points_are_counted_per_proto() {
        let registry = Arc::new(Registry::new());
        let counters = ProtoCounters::new(registry.clone(), "graphite_tcp");
        let peer: IpAddr = "::1".parse().unwrap();
        counters.record(peer, 5, &[], |_| None);
        counters.record(peer, 2, &[], |_| None);
        counters.refuse(peer, "line_too_long", &"a 10 MB line");
        assert_eq!(
            value(&registry, POINTS_RECEIVED, &[("proto", "graphite_tcp")]),
            7
        );
        assert_eq!(
            value(
                &registry,
                RECORDS_INVALID,
                &[("proto", "graphite_tcp"), ("reason", "line_too_long")]
            ),
            1
        );
        assert_eq!(
            value(
                &registry,
                REJECTED_BY_PEER,
                &[("proto", "graphite_tcp"), ("peer", "::1")]
            ),
            1
        );
    }
}
