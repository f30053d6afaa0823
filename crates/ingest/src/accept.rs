//! The TCP accept loop shared by every TCP listener (plaintext, pickle, syslog, GELF, StatsD, and
//! the binary's HTTP listener through [`serve_capped`]): a semaphore caps open
//! connections (extra ones are accepted and closed at once, and counted), accept errors back
//! off, each connection runs in its own task, and on shutdown the loop stops accepting and
//! waits until every connection has stored what it read. What a connection does with its
//! bytes is `stream`'s business.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use lookout_core::selfmon::{Gauge, Registry};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tracing::warn;

use crate::backoff::Backoff;
use crate::counters::{ACCEPT_ERRORS, CONNECTIONS_OPEN, CONNECTIONS_REJECTED};
use crate::error::Error;
use crate::ingest::Shared;
use crate::warn_limiter::WarnLimiter;

/// A connection's hold on the listener: dropped when the connection task ends (even by a
/// panic), which frees its slot and updates the open-connections gauge.
struct Slot {
    _permit: OwnedSemaphorePermit,
    open: Gauge,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.open.add(-1);
    }
}

/// Accepts on `listener` until shutdown, running `handle(stream, peer)` for each connection
/// under the cap, then waits for all of them to finish.
pub(crate) async fn accept_loop<H, F>(
    shared: Arc<Shared>,
    listener: TcpListener,
    name: &'static str,
    handle: H,
) where
    H: Fn(TcpStream, IpAddr) -> F,
    F: Future<Output = ()> + Send + 'static,
{
    let bounds = AcceptBounds {
        registry: &shared.registry,
        max_connections: shared.config.max_connections,
        shutdown: shared.shutdown.clone(),
    };
    accept_loop_with(bounds, listener, name, |stream, peer: SocketAddr| {
        handle(stream, peer.ip())
    })
    .await;
}

/// Accepts on `listener` until `shutdown` turns true, running `handle(stream, peer)` for each
/// connection under a cap of `max_connections` (more are closed at once and counted under
/// `listener=name`, like every lookout listener), then waits for every connection to finish;
/// each must watch `shutdown` itself. The binary's HTTP listener runs on it.
pub async fn serve_capped<H, F>(
    registry: &Registry,
    listener: TcpListener,
    name: &'static str,
    max_connections: usize,
    shutdown: watch::Receiver<bool>,
    handle: H,
) where
    H: Fn(TcpStream, SocketAddr) -> F,
    F: Future<Output = ()> + Send + 'static,
{
    let bounds = AcceptBounds {
        registry,
        max_connections,
        shutdown,
    };
    accept_loop_with(bounds, listener, name, handle).await;
}

/// What the accept loop needs from its listener's state, so that listeners not built on the
/// metrics [`Shared`] (the log listeners) run the same loop.
pub(crate) struct AcceptBounds<'a> {
    /// Where the connection gauges and counters live.
    pub(crate) registry: &'a Registry,
    /// The connection cap.
    pub(crate) max_connections: usize,
    /// The shutdown signal.
    pub(crate) shutdown: watch::Receiver<bool>,
}

/// [`accept_loop`] over explicit bounds.
pub(crate) async fn accept_loop_with<H, F>(
    bounds: AcceptBounds<'_>,
    listener: TcpListener,
    name: &'static str,
    handle: H,
) where
    H: Fn(TcpStream, SocketAddr) -> F,
    F: Future<Output = ()> + Send + 'static,
{
    let registry = bounds.registry;
    let labels = [("listener", name)];
    let open = registry.gauge(CONNECTIONS_OPEN, "Open TCP connections.", &labels);
    let rejected = registry.counter(
        CONNECTIONS_REJECTED,
        "TCP connections closed at once because the listener was at its connection cap.",
        &labels,
    );
    let errors = registry.counter(ACCEPT_ERRORS, "Failed accept calls.", &labels);
    // `acquire_many` below takes a u32, and a semaphore holds at most MAX_PERMITS.
    let cap = bounds
        .max_connections
        .min(u32::MAX as usize)
        .min(Semaphore::MAX_PERMITS);
    let slots = Arc::new(Semaphore::new(cap));
    let warnings = WarnLimiter::new();
    let mut shutdown = bounds.shutdown;
    let mut backoff = Backoff::new();
    loop {
        let accepted = tokio::select! {
            biased;
            () = Shared::stopped(&mut shutdown) => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, addr)) => {
                backoff.reset();
                let Ok(permit) = slots.clone().try_acquire_owned() else {
                    rejected.inc();
                    if let Some(suppressed) = warnings.allow(1) {
                        warn!(
                            listener = name,
                            peer = %addr.ip(),
                            "connection refused: {cap} connections already open; \
                             {suppressed} more refused since the last warning"
                        );
                    }
                    drop(stream);
                    continue;
                };
                open.add(1);
                let slot = Slot {
                    _permit: permit,
                    open: open.clone(),
                };
                let connection = handle(stream, addr);
                tokio::spawn(async move {
                    let _slot = slot;
                    connection.await;
                });
            }
            Err(source) => {
                errors.inc();
                if let Some(suppressed) = warnings.allow(1) {
                    let e = Error::Receive {
                        listener: name,
                        source,
                    };
                    warn!("{e}; backing off; {suppressed} more errors since the last warning");
                }
                if !backoff.pause(&mut shutdown).await {
                    break;
                }
            }
        }
    }
    drop(listener);
    // Every connection holds a slot until it has stored its last batch, so getting all the
    // slots back means every connection is done.
    let _ = slots
        .acquire_many(u32::try_from(cap).unwrap_or(u32::MAX))
        .await;
}
