//! [`Ingest`]: what every listener shares (the appender, the self-metrics registry, the bounds
//! and the shutdown signal), the entry points the binary calls with its bound sockets, and the
//! one way parsed points reach the store. The protocols' framing lives in `plaintext`,
//! `pickle` and `udp`; connection handling in `accept` and `stream`.

use std::net::IpAddr;
use std::sync::Arc;

use lookout_core::selfmon::Registry;
use lookout_core::{Durability, MetricAppender, Point};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::watch;
use tracing::warn;

use crate::counters::ProtoCounters;
use crate::error::{Error, Result};
use crate::warn_limiter::WarnLimiter;
use crate::Config;

/// Most points per `append` call. Bounds how long one call holds the store's write path (and
/// the size of one WAL record) while a read of small lines can hold ~100k points.
const MAX_POINTS_PER_APPEND: usize = 65_536;

/// The metrics listeners of one process. The binary binds the sockets (so it can print their
/// addresses and support port 0) and hands them to the `serve_*` methods, each of which runs
/// until the shutdown signal turns `true` (or its sender is dropped) and its connections have
/// stored what they had read.
pub struct Ingest {
    shared: Arc<Shared>,
}

/// State shared by every listener task and blocking job.
pub(crate) struct Shared {
    pub(crate) appender: Arc<dyn MetricAppender>,
    pub(crate) registry: Arc<Registry>,
    pub(crate) config: Config,
    pub(crate) shutdown: watch::Receiver<bool>,
    /// Where StatsD listeners aggregate their samples; `None` for the Graphite listeners,
    /// whose parsed points go straight to the store.
    pub(crate) statsd: Option<Arc<crate::statsd_flush::Aggregator>>,
    store_warnings: WarnLimiter,
}

impl Ingest {
    /// Listeners writing to `appender` (with [`Durability::Buffered`]: none of these protocols
    /// acknowledges), counting on `registry`, bounded by `config`, and stopping when
    /// `shutdown` becomes `true`.
    pub fn new(
        appender: Arc<dyn MetricAppender>,
        registry: Arc<Registry>,
        config: Config,
        shutdown: watch::Receiver<bool>,
    ) -> Ingest {
        Ingest {
            shared: Arc::new(Shared::new(appender, registry, config, shutdown)),
        }
    }

    /// Serves Graphite plaintext over TCP (carbon's port 2003). Returns after shutdown, once
    /// every connection has stored the batch it was on.
    pub async fn serve_graphite_tcp(&self, listener: TcpListener) {
        crate::plaintext::serve_tcp(self.shared.clone(), listener).await;
    }

    /// Serves Graphite plaintext over UDP, one datagram of lines at a time. Returns after
    /// shutdown, once the datagrams already received are stored.
    pub async fn serve_graphite_udp(&self, socket: UdpSocket) {
        crate::udp::serve(self.shared.clone(), socket).await;
    }

    /// Serves carbon's pickle protocol over TCP (port 2004). Returns after shutdown, once every
    /// connection has stored the frames it had read.
    pub async fn serve_pickle_tcp(&self, listener: TcpListener) {
        crate::pickle::serve_tcp(self.shared.clone(), listener).await;
    }
}

impl Shared {
    /// State for listeners writing to `appender`; see [`Ingest::new`].
    pub(crate) fn new(
        appender: Arc<dyn MetricAppender>,
        registry: Arc<Registry>,
        config: Config,
        shutdown: watch::Receiver<bool>,
    ) -> Shared {
        Shared {
            appender,
            registry,
            config,
            shutdown,
            statsd: None,
            store_warnings: WarnLimiter::new(),
        }
    }

    /// Shared state over an in-memory store, for unit tests of the framings.
    #[cfg(test)]
    pub(crate) fn for_test(config: Config) -> Shared {
        Shared {
            appender: Arc::new(lookout_core::testkit::MemStore::new(10)),
            registry: Arc::new(Registry::new()),
            config,
            shutdown: watch::channel(false).1,
            statsd: None,
            store_warnings: WarnLimiter::new(),
        }
    }

    /// Resolves when shutdown is requested, or when nobody can request it any more.
    pub(crate) async fn stopped(shutdown: &mut watch::Receiver<bool>) {
        // An error means the sender is gone: no signal can come, so stop now.
        let _ = shutdown.wait_for(|stop| *stop).await;
    }

    /// Stores a parsed batch. Blocking: runs on a blocking thread, never on the reactor. A
    /// refused batch is counted and logged (rate-limited); it does not stop the listener.
    pub(crate) fn store(&self, counters: &ProtoCounters, peer: Option<IpAddr>, points: &[Point]) {
        for chunk in points.chunks(MAX_POINTS_PER_APPEND) {
            if let Err(e) = self.append(counters.proto(), chunk) {
                counters.dropped_by_store(peer, chunk.len());
                if let Some(suppressed) = self.store_warnings.allow(1) {
                    warn!("{e}; {suppressed} more batches refused since the last warning");
                }
            }
        }
    }

    fn append(&self, proto: &'static str, points: &[Point]) -> Result<()> {
        self.appender
            .append(points, Durability::Buffered)
            .map_err(|source| Error::Store {
                proto,
                points: points.len(),
                source,
            })
    }
}
