//! Graphite plaintext over UDP: each datagram is a self-contained block of lines, parsed on its
//! own (a line never continues into the next datagram). Datagrams received while a batch is
//! being stored accumulate into the next batch; if that backlog grows past a bound, new
//! datagrams are dropped and counted rather than queued without limit. A datagram larger than
//! `max_udp_datagram_bytes` is cut there: its complete lines are kept, its cut line is counted.
//! The same loop serves StatsD over UDP with its own [`ParseDatagram`]. Parsing is `proto`'s
//! job.

use std::net::IpAddr;
use std::ops::Range;
use std::sync::Arc;

use lookout_core::Point;
use lookout_proto::{graphite, LineError};
use tokio::net::UdpSocket;
use tokio::task::JoinHandle;
use tracing::warn;

use crate::backoff::Backoff;
use crate::counters::{udp_dropped, ProtoCounters};
use crate::error::Error;
use crate::ingest::Shared;
use crate::now_unix;
use crate::stream::{finished, join};
use crate::warn_limiter::WarnLimiter;

/// Listener and `proto` label of this protocol.
const PROTO: &str = "graphite_udp";

/// Most bytes of datagrams waiting for the batch in flight to be stored: ~140k typical lines.
/// Past it the store is far behind, and dropping (counted) beats growing without bound.
const MAX_BACKLOG_BYTES: usize = 8 * 1024 * 1024;

/// Datagrams on their way to be parsed and stored, and the buffers reused for them.
#[derive(Default)]
struct Batch {
    data: Vec<u8>,
    datagrams: Vec<(IpAddr, Range<usize>)>,
    points: Vec<Point>,
    errors: Vec<LineError>,
}

/// Parses one datagram from `peer` into `points` (and `errors`), counting what it refuses.
/// Runs on a blocking thread.
pub(crate) type ParseDatagram = fn(
    shared: &Shared,
    counters: &ProtoCounters,
    peer: IpAddr,
    data: &[u8],
    now: i64,
    points: &mut Vec<Point>,
    errors: &mut Vec<LineError>,
);

pub(crate) async fn serve(shared: Arc<Shared>, socket: UdpSocket) {
    serve_datagrams(shared, socket, PROTO, parse_graphite).await;
}

/// Graphite plaintext: each datagram is lines of `path value timestamp`.
fn parse_graphite(
    shared: &Shared,
    counters: &ProtoCounters,
    peer: IpAddr,
    data: &[u8],
    now: i64,
    points: &mut Vec<Point>,
    errors: &mut Vec<LineError>,
) {
    let before = points.len();
    graphite::parse_with_max_line(data, now, shared.config.max_line_bytes, points, errors);
    counters.record(peer, points.len() - before, errors, |e| {
        graphite::line_text(data, e.line)
    });
}

/// Receives datagrams on `socket` until shutdown, counting under `proto`, and hands them in
/// batches to `parse` on a blocking thread, then stores the points it made.
pub(crate) async fn serve_datagrams(
    shared: Arc<Shared>,
    socket: UdpSocket,
    proto: &'static str,
    parse: ParseDatagram,
) {
    let counters = Arc::new(ProtoCounters::new(shared.registry.clone(), proto));
    let dropped = udp_dropped(&shared.registry, proto);
    let max = shared.config.max_udp_datagram_bytes;
    // One byte more than allowed, so an oversized datagram shows as a full buffer.
    let mut datagram = vec![0u8; max + 1];
    let mut pending = Batch::default();
    let mut spare: Option<Batch> = None;
    let mut in_flight: Option<JoinHandle<Batch>> = None;
    let mut shutdown = shared.shutdown.clone();
    let mut backoff = Backoff::new();
    let warnings = WarnLimiter::new();
    loop {
        tokio::select! {
            biased;
            () = Shared::stopped(&mut shutdown) => break,
            joined = join(&mut in_flight), if in_flight.is_some() => {
                in_flight = None;
                spare = finished(joined, "UDP");
            }
            received = socket.recv_from(&mut datagram) => match received {
                Ok((n, from)) => {
                    backoff.reset();
                    let peer = from.ip();
                    let mut data = datagram.get(..n).unwrap_or_default();
                    if n > max {
                        let cut = datagram.get(..max).unwrap_or_default();
                        data = cut.get(..memchr::memrchr(b'\n', cut).map_or(0, |i| i + 1)).unwrap_or_default();
                        counters.refuse(
                            peer,
                            "datagram_too_large",
                            &format_args!("datagram over {max} bytes cut there, its last line dropped"),
                        );
                    }
                    if pending.data.len() + data.len() > MAX_BACKLOG_BYTES {
                        dropped.inc();
                        counters.count_peer(peer, 1);
                        if let Some(suppressed) = warnings.allow(1) {
                            warn!(%peer, "UDP datagram dropped: the store is behind; {suppressed} more dropped since the last warning");
                        }
                    } else {
                        let start = pending.data.len();
                        pending.data.extend_from_slice(data);
                        pending.datagrams.push((peer, start..pending.data.len()));
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
        if in_flight.is_none() && !pending.datagrams.is_empty() {
            in_flight = Some(dispatch(
                &shared,
                &counters,
                parse,
                &mut pending,
                &mut spare,
            ));
        }
    }
    // Shutdown: store the batch in flight, then what was received meanwhile.
    if let Some(handle) = in_flight.take() {
        spare = finished(handle.await, "UDP");
    }
    if !pending.datagrams.is_empty() {
        let handle = dispatch(&shared, &counters, parse, &mut pending, &mut spare);
        finished(handle.await, "UDP");
    }
}

/// Sends the pending datagrams to a blocking thread, leaving an empty batch in their place.
fn dispatch(
    shared: &Arc<Shared>,
    counters: &Arc<ProtoCounters>,
    parse: ParseDatagram,
    pending: &mut Batch,
    spare: &mut Option<Batch>,
) -> JoinHandle<Batch> {
    let batch = std::mem::replace(pending, spare.take().unwrap_or_default());
    let (shared, counters) = (shared.clone(), counters.clone());
    tokio::task::spawn_blocking(move || run(&shared, &counters, parse, batch))
}

/// Parses each datagram on its own, stores all their points, and returns the emptied buffers.
fn run(shared: &Shared, counters: &ProtoCounters, parse: ParseDatagram, mut batch: Batch) -> Batch {
    let now = now_unix();
    batch.points.clear();
    for (peer, range) in &batch.datagrams {
        let data = batch.data.get(range.clone()).unwrap_or_default();
        batch.errors.clear();
        parse(
            shared,
            counters,
            *peer,
            data,
            now,
            &mut batch.points,
            &mut batch.errors,
        );
    }
    shared.store(counters, None, &batch.points);
    batch.points.clear();
    batch.data.clear();
    batch.datagrams.clear();
    batch
}
