//! Graphite plaintext over UDP: each datagram is a self-contained block of lines, parsed on its
//! own (a line never continues into the next datagram). Datagrams received while a batch is
//! being stored accumulate into the next batch; if that backlog grows past a bound, new
//! datagrams are dropped and counted rather than queued without limit. A datagram larger than
//! `max_udp_datagram_bytes` is cut there: its complete lines are kept, its cut line is counted.
//! The same listener serves StatsD over UDP with its own [`ParseDatagram`]. Parsing is
//! `proto`'s job, the receive loop `datagram`'s.

use std::net::IpAddr;
use std::ops::Range;
use std::sync::Arc;

use lookout_core::Point;
use lookout_proto::{graphite, LineError};
use tokio::net::UdpSocket;
use tokio::task::JoinHandle;

use crate::counters::ProtoCounters;
use crate::datagram::{receive, Datagrams, Receiver};
use crate::ingest::Shared;
use crate::now_unix;

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
    let max = shared.config.max_udp_datagram_bytes;
    let receiver = Receiver {
        socket,
        what: "UDP",
        shutdown: shared.shutdown.clone(),
        // One byte more than allowed, so an oversized datagram shows as a full buffer.
        buffer: max + 1,
        housekeeping: None,
        counters: counters.clone(),
    };
    let lines = Lines {
        shared,
        counters,
        parse,
        max,
    };
    receive(receiver, lines).await;
}

/// Datagrams of lines, each parsed on its own by `parse`.
struct Lines {
    shared: Arc<Shared>,
    counters: Arc<ProtoCounters>,
    parse: ParseDatagram,
    /// `max_udp_datagram_bytes`: the rest of a longer datagram is cut.
    max: usize,
}

impl Datagrams for Lines {
    type Batch = Batch;

    fn is_full(batch: &Batch, len: usize) -> bool {
        batch.data.len() + len > MAX_BACKLOG_BYTES
    }

    fn is_empty(batch: &Batch) -> bool {
        batch.datagrams.is_empty()
    }

    fn push(&mut self, batch: &mut Batch, peer: IpAddr, datagram: &[u8]) {
        let max = self.max;
        let mut data = datagram;
        if data.len() > max {
            let cut = data.get(..max).unwrap_or_default();
            data = cut
                .get(..memchr::memrchr(b'\n', cut).map_or(0, |i| i + 1))
                .unwrap_or_default();
            self.counters.refuse(
                peer,
                "datagram_too_large",
                &format_args!("datagram over {max} bytes cut there, its last line dropped"),
            );
        }
        let start = batch.data.len();
        batch.data.extend_from_slice(data);
        batch.datagrams.push((peer, start..batch.data.len()));
    }

    fn store(&self, batch: Batch) -> JoinHandle<Batch> {
        let (shared, counters, parse) = (self.shared.clone(), self.counters.clone(), self.parse);
        tokio::task::spawn_blocking(move || run(&shared, &counters, parse, batch))
    }
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
