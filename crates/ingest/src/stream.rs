//! One TCP connection of a stream protocol, from first byte to close: reads into a buffer
//! (allocated only once data arrives, so idle connections cost no buffer), lets the protocol's
//! [`Framing`] cut complete records off the front, and hands them to a blocking thread that
//! parses and stores them while the next read proceeds. Only one batch per connection is in
//! flight; while it is, reads accumulate (so a busy connection sends big batches), and a full
//! buffer stops reading, which pushes back on the sender through TCP.
//!
//! The connection ends at end of stream, on a read error, after `idle_timeout` without data,
//! when the framing says the stream is unusable, or at shutdown; in every case the batch in
//! flight and the complete records already read are stored first. Protocol details are in
//! `plaintext` and `pickle`.

use std::io::ErrorKind;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use lookout_core::Point;
use lookout_proto::LineError;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinError, JoinHandle};
use tokio::time::Instant;
use tracing::{debug, error};

use crate::accept::accept_loop;
use crate::counters::ProtoCounters;
use crate::error::Error;
use crate::ingest::Shared;
use crate::now_unix;

/// First read buffer of a connection. Most connections are collectors sending a few KB every
/// few seconds; 64 KiB holds that in one read without costing much per idle connection.
const MIN_READ_BUFFER: usize = 64 * 1024;

/// Largest read buffer, reached by doubling each time a read fills the buffer. A sender that
/// keeps it full gets 1 MiB reads: the per-batch costs (a blocking task, an append call) are
/// then negligible, and two such buffers per fast connection stay affordable.
const MAX_READ_BUFFER: usize = 1024 * 1024;

/// A protocol's view of the byte stream.
pub(crate) trait Framing: Send + 'static {
    /// Drops bytes that must be skipped (counting them) and says how many bytes at the front
    /// of `buf` are complete records to process now.
    fn cut(&mut self, conn: &Connection, buf: &mut Vec<u8>) -> Cut;

    /// Capacity the buffer needs so that the record being received can complete in it.
    fn needed(&self) -> usize;

    /// At end of stream: how many of the bytes left after the last cut still form records;
    /// the rest is counted as refused here.
    fn at_eof(&mut self, conn: &Connection, rest: &[u8]) -> usize;

    /// Parses complete records into `points`, counting what it refuses. Runs on a blocking
    /// thread.
    fn parse(
        conn: &Connection,
        data: &[u8],
        now: i64,
        points: &mut Vec<Point>,
        errors: &mut Vec<LineError>,
    );
}

/// What [`Framing::cut`] found.
pub(crate) struct Cut {
    /// Bytes at the front of the buffer that hold complete records.
    pub(crate) ready: usize,
    /// The stream cannot continue after those (e.g. an oversized pickle frame).
    pub(crate) close: bool,
}

/// Who is on the other end, and where their data goes.
pub(crate) struct Connection {
    pub(crate) shared: Arc<Shared>,
    pub(crate) counters: Arc<ProtoCounters>,
    pub(crate) peer: IpAddr,
}

impl Connection {
    /// A connection from 127.0.0.1 with fresh counters, for unit tests of the framings;
    /// returns the registry to read the counters from.
    #[cfg(test)]
    pub(crate) fn for_test(proto: &'static str) -> Connection {
        let shared = Arc::new(Shared::for_test(crate::Config::default()));
        let counters = Arc::new(ProtoCounters::new(shared.registry.clone(), proto));
        Connection {
            shared,
            counters,
            peer: IpAddr::from([127, 0, 0, 1]),
        }
    }

    /// The `records_invalid_total` count of `reason` on this connection's protocol.
    #[cfg(test)]
    pub(crate) fn invalid(&self, reason: &str) -> u64 {
        self.shared
            .registry
            .counter(
                crate::counters::RECORDS_INVALID,
                "",
                &[("proto", self.counters.proto()), ("reason", reason)],
            )
            .get()
    }
}

/// Buffers that travel to a blocking thread and come back to be reused.
#[derive(Default)]
struct Job {
    data: Vec<u8>,
    points: Vec<Point>,
    errors: Vec<LineError>,
}

/// Why the connection stopped reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Reading,
    /// The sender closed its side: the unterminated tail may still be a record.
    Eof,
    /// Idle timeout or read error: an unterminated tail is an incomplete record.
    Broken,
    /// Shutdown or unusable stream: store what is complete and close.
    Stopping,
}

/// Serves a stream protocol on `listener`: every accepted connection gets a fresh framing
/// from `new_framing` and is driven until it ends, all sharing the protocol's counters.
pub(crate) async fn serve_stream<F, N>(
    shared: Arc<Shared>,
    listener: TcpListener,
    proto: &'static str,
    new_framing: N,
) where
    F: Framing + Send + 'static,
    N: Fn() -> F,
{
    let counters = Arc::new(ProtoCounters::new(shared.registry.clone(), proto));
    let conn_shared = shared.clone();
    accept_loop(shared, listener, proto, move |stream, peer| {
        let conn = Arc::new(Connection {
            shared: conn_shared.clone(),
            counters: counters.clone(),
            peer,
        });
        drive(conn, stream, new_framing())
    })
    .await;
}

/// Runs one connection to its end.
pub(crate) async fn drive<F: Framing>(conn: Arc<Connection>, stream: TcpStream, mut framing: F) {
    let idle = conn.shared.config.idle_timeout;
    let mut shutdown = conn.shared.shutdown.clone();
    let mut buf: Vec<u8> = Vec::new();
    let mut spare: Option<Job> = None;
    let mut in_flight: Option<JoinHandle<Job>> = None;
    let mut target = MIN_READ_BUFFER;
    let mut phase = Phase::Reading;
    let idle_timer = tokio::time::sleep_until(idle_deadline(idle));
    tokio::pin!(idle_timer);
    loop {
        let want = target.max(framing.needed());
        if buf.capacity() > 0 && buf.capacity() < want {
            buf.reserve(want - buf.len());
        }
        let room = buf.capacity() == 0 || buf.len() < buf.capacity();
        tokio::select! {
            biased;
            () = Shared::stopped(&mut shutdown), if phase == Phase::Reading => {
                phase = Phase::Stopping;
            }
            joined = join(&mut in_flight), if in_flight.is_some() => {
                in_flight = None;
                spare = finished(joined, "TCP");
                idle_timer.as_mut().reset(idle_deadline(idle));
            }
            ready = stream.readable(), if phase == Phase::Reading && room => {
                if buf.capacity() == 0 {
                    buf.reserve(want);
                }
                let free = buf.capacity() - buf.len();
                match ready.and_then(|()| stream.try_read_buf(&mut buf)) {
                    Ok(0) => phase = Phase::Eof,
                    Ok(n) => {
                        if n == free {
                            target = (target * 2).min(MAX_READ_BUFFER);
                        }
                        idle_timer.as_mut().reset(idle_deadline(idle));
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                    Err(source) => {
                        let e = Error::Read {
                            listener: conn.counters.proto(),
                            peer: conn.peer,
                            source,
                        };
                        debug!("{e}");
                        phase = Phase::Broken;
                    }
                }
            }
            () = &mut idle_timer, if phase == Phase::Reading && in_flight.is_none() => {
                debug!(peer = %conn.peer, proto = conn.counters.proto(), "closing idle connection");
                phase = Phase::Broken;
            }
        }
        if in_flight.is_some() {
            continue;
        }
        let cut = framing.cut(&conn, &mut buf);
        if cut.close {
            phase = Phase::Stopping;
        }
        let mut ready = cut.ready;
        if phase != Phase::Reading {
            let rest = buf.get(ready..).unwrap_or_default();
            if !rest.is_empty() {
                match phase {
                    Phase::Eof => ready += framing.at_eof(&conn, rest),
                    Phase::Broken => conn.counters.refuse(
                        conn.peer,
                        "truncated",
                        &format_args!("connection ended inside a record of {} bytes", rest.len()),
                    ),
                    Phase::Reading | Phase::Stopping => {}
                }
            }
            buf.truncate(ready);
        }
        if ready > 0 {
            let mut job = spare.take().unwrap_or_default();
            job.data.clear();
            if phase == Phase::Reading {
                job.data.reserve(want);
                job.data
                    .extend_from_slice(buf.get(ready..).unwrap_or_default());
            }
            buf.truncate(ready);
            std::mem::swap(&mut buf, &mut job.data);
            let conn = conn.clone();
            in_flight = Some(tokio::task::spawn_blocking(move || run::<F>(&conn, job)));
        } else if phase != Phase::Reading {
            break;
        }
    }
}

/// Parses and stores one batch on a blocking thread, and returns the emptied buffers.
fn run<F: Framing>(conn: &Connection, mut job: Job) -> Job {
    job.points.clear();
    job.errors.clear();
    F::parse(
        conn,
        &job.data,
        now_unix(),
        &mut job.points,
        &mut job.errors,
    );
    conn.shared
        .store(&conn.counters, Some(conn.peer), &job.points);
    job.points.clear();
    job.data.clear();
    job
}

/// When a connection silent from now on is closed. A timeout too large to represent means
/// never, in practice: a century.
pub(crate) fn idle_deadline(idle: Duration) -> Instant {
    const CENTURY: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
    let now = Instant::now();
    now.checked_add(idle)
        .or_else(|| now.checked_add(CENTURY))
        .unwrap_or(now)
}

/// The batch in flight, once stored; never resolves when there is none, so a listener can
/// keep it in a `select!` beside its reads.
pub(crate) async fn join<T>(in_flight: &mut Option<JoinHandle<T>>) -> Result<T, JoinError> {
    match in_flight {
        Some(handle) => handle.await,
        None => std::future::pending().await,
    }
}

/// The buffers of a finished batch, to reuse. A batch that panicked lost what it held; that is
/// a bug in lookout, logged loudly (naming the `listener`), and the listener goes on.
pub(crate) fn finished<T>(joined: Result<T, JoinError>, listener: &str) -> Option<T> {
    match joined {
        Ok(batch) => Some(batch),
        Err(e) => {
            error!("a {listener} ingest batch failed: {e}");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_idle_timeouts_mean_never_rather_than_overflow() {
        let year = Duration::from_secs(365 * 24 * 3600);
        assert!(idle_deadline(Duration::MAX) > Instant::now() + 50 * year);
        assert!(idle_deadline(Duration::from_secs(5)) <= Instant::now() + Duration::from_secs(5));
    }
}
