//! The receive loop every UDP listener shares (Graphite plaintext, StatsD, syslog, GELF):
//! datagrams received while a batch is being stored accumulate into the next batch, one batch
//! is in flight at a time, a datagram that finds the next batch full is dropped and counted
//! (the store is behind, and dropping beats queueing without bound), receive errors are
//! counted and back off, and at shutdown the batch in flight and then what arrived meanwhile
//! are stored.
//!
//! What a datagram means (lines, one syslog message, a GELF chunk), how a batch is bounded and
//! how it is stored is each listener's [`Datagrams`] implementation; this module owns only the
//! loop.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::{Interval, MissedTickBehavior};
use tracing::warn;

use crate::backoff::Backoff;
use crate::counters::ProtoCounters;
use crate::error::Error;
use crate::ingest::Shared;
use crate::stream::{finished, join};
use crate::warn_limiter::WarnLimiter;

/// One UDP protocol's part of the receive loop.
pub(crate) trait Datagrams {
    /// Datagrams waiting to be stored, with buffers that are reused from batch to batch.
    type Batch: Default + Send + 'static;

    /// Whether `batch` can take no datagram of `len` more bytes: it is dropped and counted.
    fn is_full(batch: &Self::Batch, len: usize) -> bool;

    /// Whether `batch` holds nothing to store.
    fn is_empty(batch: &Self::Batch) -> bool;

    /// Adds one received datagram from `peer` to `batch`. `datagram` may be one byte longer
    /// than the listener allows (its buffer is), which is how an oversized one shows.
    fn push(&mut self, batch: &mut Self::Batch, peer: IpAddr, datagram: &[u8]);

    /// Runs every [`Receiver::housekeeping`] (GELF expires unfinished chunked messages).
    fn housekeeping(&mut self) {}

    /// Stores `batch` on a blocking thread; the handle returns its emptied buffers.
    fn store(&self, batch: Self::Batch) -> JoinHandle<Self::Batch>;
}

/// The socket and the bookkeeping of one UDP listener.
pub(crate) struct Receiver {
    pub(crate) socket: UdpSocket,
    /// How log messages name this input ("syslog", "GELF", "UDP").
    pub(crate) what: &'static str,
    /// The protocol's counters; their `proto` label also names the listener in receive
    /// errors and in `lookout_ingest_udp_dropped_total{proto}`.
    pub(crate) counters: Arc<ProtoCounters>,
    pub(crate) shutdown: watch::Receiver<bool>,
    /// Size of the receive buffer: the largest datagram kept whole, plus one where the
    /// listener wants to see that a datagram was larger.
    pub(crate) buffer: usize,
    /// How often [`Datagrams::housekeeping`] runs, if the protocol needs it.
    pub(crate) housekeeping: Option<Duration>,
}

/// Receives datagrams until shutdown and stores them in batches through `datagrams`.
pub(crate) async fn receive<D: Datagrams>(receiver: Receiver, mut datagrams: D) {
    let Receiver {
        socket,
        what,
        counters,
        mut shutdown,
        buffer,
        housekeeping,
    } = receiver;
    let proto = counters.proto();
    let dropped = counters.udp_dropped();
    let mut datagram = vec![0u8; buffer];
    let mut pending = D::Batch::default();
    let mut spare: Option<D::Batch> = None;
    let mut in_flight: Option<JoinHandle<D::Batch>> = None;
    let mut backoff = Backoff::new();
    let warnings = WarnLimiter::new();
    let mut ticks = housekeeping.map(|every| {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        ticks
    });
    loop {
        tokio::select! {
            biased;
            () = Shared::stopped(&mut shutdown) => break,
            joined = join(&mut in_flight), if in_flight.is_some() => {
                in_flight = None;
                spare = finished(joined, what);
            }
            () = tick(&mut ticks), if ticks.is_some() => datagrams.housekeeping(),
            received = socket.recv_from(&mut datagram) => match received {
                Ok((n, from)) => {
                    backoff.reset();
                    let peer = from.ip();
                    if D::is_full(&pending, n) {
                        dropped.inc();
                        counters.count_peer(peer, 1);
                        if let Some(suppressed) = warnings.allow(1) {
                            warn!(%peer, proto, "{what} datagram dropped: the store is behind; {suppressed} more dropped since the last warning");
                        }
                    } else {
                        let bytes = datagram.get(..n).unwrap_or_default();
                        datagrams.push(&mut pending, peer, bytes);
                    }
                }
                Err(source) => {
                    dropped.inc();
                    if let Some(suppressed) = warnings.allow(1) {
                        let e = Error::Receive { listener: proto, source };
                        warn!("{e}; {suppressed} more errors since the last warning");
                    }
                    if !backoff.pause(&mut shutdown).await {
                        break;
                    }
                }
            }
        }
        if in_flight.is_none() && !D::is_empty(&pending) {
            let batch = std::mem::replace(&mut pending, spare.take().unwrap_or_default());
            in_flight = Some(datagrams.store(batch));
        }
    }
    // Shutdown: store the batch in flight, then what was received meanwhile.
    if let Some(handle) = in_flight.take() {
        finished(handle.await, what);
    }
    if !D::is_empty(&pending) {
        finished(datagrams.store(pending).await, what);
    }
}

/// The next housekeeping tick; never resolves when there is no housekeeping.
async fn tick(ticks: &mut Option<Interval>) {
    match ticks {
        Some(ticks) => {
            ticks.tick().await;
        }
        None => std::future::pending().await,
    }
}
