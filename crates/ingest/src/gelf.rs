//! GELF listeners for [`crate::LogIngest`]: UDP, where a datagram is a whole payload (plain,
//! gzip or zlib JSON) or one chunk of a message reassembled here, and TCP, where uncompressed
//! JSON messages are each ended by a NUL byte (as Graylog's TCP input expects). Datagrams and
//! frames are cut on the reactor; decompression, parsing (`lookout_proto::gelf`) and
//! appending happen on a blocking thread, a batch at a time, as for syslog.
//!
//! The chunk reassembly itself is `lookout_proto::gelf::Reassembler`'s (pure, memory-bounded);
//! this module owns its clock, calls its expiry every second, and counts what it drops. The
//! connection cap is `accept`'s, counting `counters`'.

use std::io::ErrorKind;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use lookout_core::limits::MAX_GELF_DECOMPRESSED_BYTES;
use lookout_core::selfmon::Registry;
use lookout_core::Durability;
use lookout_proto::excerpt;
use lookout_proto::gelf::{parse_payload, Reassembler, CHUNK_MAGIC};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::{debug, warn};

use crate::accept::{accept_loop_with, AcceptBounds};
use crate::clock::now_unix_ns;
use crate::counters::{ProtoCounters, RECORDS_INVALID};
use crate::datagram::{receive, Datagrams, Receiver};
use crate::error::Error;
use crate::ingest::Shared;
use crate::log_policy::LogInput;
use crate::stream::{finished, idle_deadline, join};
use crate::syslog::{dispatch, store_job, Batch, LogShared};

/// `proto` and `listener` label of GELF over UDP.
const PROTO_UDP: &str = "gelf_udp";
/// `proto` and `listener` label of GELF over TCP.
const PROTO_TCP: &str = "gelf_tcp";

/// Largest datagram read whole: any UDP payload fits, so the socket never cuts one.
const MAX_DATAGRAM_BYTES: usize = 65_536;

/// How often incomplete chunked messages are checked for expiry. The reassembler drops a
/// message 5 s after its first chunk; checking every second keeps that within a second.
const EXPIRE_EVERY: Duration = Duration::from_secs(1);

/// A TCP connection's read buffer: one frame of the largest size and its NUL. Never grown, so a
/// connection holds at most this much however long a frame is.
const READ_BUFFER: usize = MAX_GELF_DECOMPRESSED_BYTES + 1;

/// Help of the refusal counter, for refusals counted without a peer (chunk timeouts and
/// evictions belong to no known sender).
const RECORDS_INVALID_HELP: &str = "Records (lines, pickle entries or frames) refused.";

/// Reason counted when a chunked message did not complete in time.
const REASON_CHUNK_TIMEOUT: &str = "chunk_timeout";
/// Reason counted when an incomplete chunked message was dropped to bound memory.
const REASON_CHUNK_EVICTED: &str = "chunk_evicted";
/// Reason counted when a TCP frame exceeds [`MAX_GELF_DECOMPRESSED_BYTES`].
const REASON_FRAME_TOO_LARGE: &str = "frame_too_large";
/// Reason counted when a TCP connection broke inside a frame.
const REASON_TRUNCATED: &str = "truncated";

/// Decompresses and parses every payload of a batch, counts the refused ones, stores the rest,
/// and returns the emptied buffers.
fn run(shared: &LogShared, counters: &ProtoCounters, mut batch: Batch) -> Batch {
    let now_ns = now_unix_ns();
    batch.records.clear();
    for message in &batch.messages {
        let bytes = batch.data.get(message.range.clone()).unwrap_or_default();
        match parse_payload(bytes, now_ns) {
            Ok(record) => batch.records.push(record),
            Err(e) => counters.refuse(
                message.peer,
                e.reason(),
                &format_args!("{e}: \"{}\"", excerpt(bytes)),
            ),
        }
    }
    shared
        .policy
        .apply(LogInput::Gelf, &mut batch.records, now_ns);
    let peer = batch.messages.first().map(|m| m.peer);
    if let Some(peer) = peer {
        counters.record(peer, batch.records.len(), &[], |_| None);
    }
    if !batch.records.is_empty() {
        if let Err(e) = shared.appender.append(&batch.records, Durability::Buffered) {
            counters.dropped_by_store(peer, batch.records.len());
            if let Some(suppressed) = shared.store_warnings.allow(1) {
                warn!(
                    proto = counters.proto(),
                    "storing {} log records: {e}; {suppressed} more batches refused since the last warning",
                    batch.records.len()
                );
            }
        }
    }
    batch.records.clear();
    batch.data.clear();
    batch.messages.clear();
    batch
}

/// The chunk reassembly of one UDP listener, with the counting of what it refuses or drops.
struct Chunks {
    reassembler: Reassembler,
    counters: Arc<ProtoCounters>,
    registry: Arc<Registry>,
    /// `Reassembler::evicted` when last counted, to count only the new evictions.
    evicted: u64,
}

impl Chunks {
    fn new(counters: Arc<ProtoCounters>, registry: Arc<Registry>) -> Chunks {
        Chunks {
            reassembler: Reassembler::new(),
            counters,
            registry,
            evicted: 0,
        }
    }

    /// Adds one datagram: a whole payload goes to `pending` as is, a chunk to the reassembler,
    /// and the message it completes (if any) to `pending`. `now_ns` is the listener's
    /// monotonic clock.
    fn datagram(&mut self, peer: IpAddr, datagram: &[u8], now_ns: i64, pending: &mut Batch) {
        if !datagram.starts_with(&CHUNK_MAGIC) {
            pending.push(peer, datagram);
            return;
        }
        match self.reassembler.push(datagram, now_ns) {
            Ok(Some(payload)) => pending.push(peer, &payload),
            Ok(None) => {}
            Err(e) => self.counters.refuse(
                peer,
                e.reason(),
                &format_args!("{e}: \"{}\"", excerpt(datagram)),
            ),
        }
        let evicted = self.reassembler.evicted();
        if evicted > self.evicted {
            self.lost(REASON_CHUNK_EVICTED, evicted - self.evicted);
            self.evicted = evicted;
        }
    }

    /// Drops (and counts) the chunked messages that did not complete in time.
    fn expire(&mut self, now_ns: i64) {
        let expired = self.reassembler.expire(now_ns);
        if expired > 0 {
            self.lost(REASON_CHUNK_TIMEOUT, expired as u64);
        }
    }

    /// Counts `n` incomplete messages dropped. Their senders are not known (a message's chunks
    /// may come from anywhere), so no per-peer counter moves.
    fn lost(&self, reason: &'static str, n: u64) {
        let labels = [("proto", PROTO_UDP), ("reason", reason)];
        self.registry
            .counter(RECORDS_INVALID, RECORDS_INVALID_HELP, &labels)
            .add(n);
        debug!(
            proto = PROTO_UDP,
            reason, "dropped {n} incomplete chunked messages"
        );
    }
}

/// Nanoseconds since `start`, the reassembler's clock: monotonic, so a wall-clock jump
/// neither expires every message at once nor keeps one forever.
fn elapsed_ns(start: Instant) -> i64 {
    i64::try_from(start.elapsed().as_nanos()).unwrap_or(i64::MAX)
}

/// Receives datagrams until shutdown, reassembling chunked messages, then stores what was
/// received. Incomplete chunked messages are dropped at shutdown.
pub(crate) async fn serve_udp(shared: Arc<LogShared>, socket: UdpSocket) {
    let counters = Arc::new(ProtoCounters::for_logs(shared.registry.clone(), PROTO_UDP));
    let receiver = Receiver {
        socket,
        what: "GELF",
        shutdown: shared.shutdown.clone(),
        buffer: MAX_DATAGRAM_BYTES,
        housekeeping: Some(EXPIRE_EVERY),
        counters: counters.clone(),
    };
    let gelf = GelfDatagrams {
        chunks: Chunks::new(counters.clone(), shared.registry.clone()),
        start: Instant::now(),
        shared,
        counters,
    };
    receive(receiver, gelf).await;
}

/// GELF datagrams: whole messages, or chunks reassembled into them.
struct GelfDatagrams {
    shared: Arc<LogShared>,
    counters: Arc<ProtoCounters>,
    chunks: Chunks,
    /// The reassembler's clock starts here.
    start: Instant,
}

impl Datagrams for GelfDatagrams {
    type Batch = Batch;

    fn is_full(batch: &Batch, _len: usize) -> bool {
        batch.is_full()
    }

    fn is_empty(batch: &Batch) -> bool {
        batch.is_empty()
    }

    fn push(&mut self, batch: &mut Batch, peer: IpAddr, datagram: &[u8]) {
        self.chunks
            .datagram(peer, datagram, elapsed_ns(self.start), batch);
    }

    fn housekeeping(&mut self) {
        self.chunks.expire(elapsed_ns(self.start));
    }

    fn store(&self, batch: Batch) -> JoinHandle<Batch> {
        store_job(&self.shared, &self.counters, batch, run)
    }
}

/// Serves GELF over TCP under the connection cap until shutdown.
pub(crate) async fn serve_tcp(shared: Arc<LogShared>, listener: TcpListener) {
    let counters = Arc::new(ProtoCounters::for_logs(shared.registry.clone(), PROTO_TCP));
    let bounds = AcceptBounds {
        registry: &shared.registry,
        max_connections: shared.config.max_connections,
        shutdown: shared.shutdown.clone(),
    };
    let handler = shared.clone();
    accept_loop_with(bounds, listener, PROTO_TCP, move |stream, peer| {
        drive(handler.clone(), counters.clone(), stream, peer.ip())
    })
    .await;
}

/// Why a TCP connection stopped reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Reading,
    /// The sender closed its side: an unterminated last frame is still a message.
    Eof,
    /// Idle timeout or read error: an unfinished frame is incomplete.
    Broken,
    /// Shutdown: store what is complete.
    Stopping,
}

/// Framing state of one TCP connection: the bytes of the unfinished frame, and whether an
/// oversized frame is being skipped up to its NUL.
#[derive(Default)]
struct Frames {
    buf: Vec<u8>,
    skipping: bool,
}

impl Frames {
    /// Moves every complete frame at the front of the buffer into `pending` (blank frames are
    /// dropped: senders often add a newline after the NUL), and starts skipping when the
    /// unfinished frame is already longer than any message may be, counting it once.
    fn cut(&mut self, pending: &mut Batch, counters: &ProtoCounters, peer: IpAddr) {
        let mut at = 0;
        if self.skipping {
            match memchr::memchr(0, &self.buf) {
                Some(nul) => {
                    self.skipping = false;
                    at = nul + 1;
                }
                None => {
                    self.buf.clear();
                    return;
                }
            }
        }
        let mut waiting = true;
        while !pending.is_full() {
            let rest = self.buf.get(at..).unwrap_or_default();
            let Some(nul) = memchr::memchr(0, rest) else {
                waiting = false;
                break;
            };
            let frame = rest.get(..nul).unwrap_or_default();
            if frame.len() > MAX_GELF_DECOMPRESSED_BYTES {
                refuse_too_large(counters, peer, frame);
            } else if !is_blank(frame) {
                pending.push(peer, frame);
            }
            at += nul + 1;
        }
        let rest = self.buf.get(at..).unwrap_or_default();
        if !waiting && rest.len() > MAX_GELF_DECOMPRESSED_BYTES {
            refuse_too_large(counters, peer, rest);
            self.skipping = true;
            self.buf.clear();
            return;
        }
        self.buf.drain(..at.min(self.buf.len()));
    }

    /// At the end of a connection's input: after the sender closed, an unterminated last frame
    /// is still a message; after a broken connection it is incomplete, counted.
    fn end(&mut self, phase: Phase, pending: &mut Batch, counters: &ProtoCounters, peer: IpAddr) {
        if pending.is_full() && !self.skipping && memchr::memchr(0, &self.buf).is_some() {
            // Complete frames are still waiting for room in the next batch.
            return;
        }
        if !self.skipping && !is_blank(&self.buf) {
            match phase {
                Phase::Eof => pending.push(peer, &self.buf),
                Phase::Broken => counters.refuse(
                    peer,
                    REASON_TRUNCATED,
                    &format_args!(
                        "connection ended inside a frame of {} bytes",
                        self.buf.len()
                    ),
                ),
                Phase::Reading | Phase::Stopping => {}
            }
        }
        self.buf.clear();
        self.skipping = false;
    }
}

fn refuse_too_large(counters: &ProtoCounters, peer: IpAddr, frame: &[u8]) {
    counters.refuse(
        peer,
        REASON_FRAME_TOO_LARGE,
        &format_args!(
            "frame over {MAX_GELF_DECOMPRESSED_BYTES} bytes, skipped: \"{}\"",
            excerpt(frame)
        ),
    );
}

/// A frame of nothing but whitespace carries no message.
fn is_blank(frame: &[u8]) -> bool {
    frame.iter().all(u8::is_ascii_whitespace)
}

/// Runs one TCP connection to its end, storing every complete message it read.
async fn drive(
    shared: Arc<LogShared>,
    counters: Arc<ProtoCounters>,
    stream: TcpStream,
    peer: IpAddr,
) {
    let idle = shared.config.idle_timeout;
    let mut shutdown = shared.shutdown.clone();
    let mut frames = Frames::default();
    let mut pending = Batch::default();
    let mut spare: Option<Batch> = None;
    let mut in_flight: Option<JoinHandle<Batch>> = None;
    let mut phase = Phase::Reading;
    let idle_timer = tokio::time::sleep_until(idle_deadline(idle));
    tokio::pin!(idle_timer);
    loop {
        // Allocated when the first data arrives and never grown: after `cut`, the buffer is
        // full only while complete frames wait for room in a full batch.
        let room = frames.buf.capacity() == 0 || frames.buf.len() < frames.buf.capacity();
        let reading = phase == Phase::Reading && !pending.is_full() && room;
        tokio::select! {
            biased;
            () = Shared::stopped(&mut shutdown), if phase == Phase::Reading => {
                phase = Phase::Stopping;
            }
            joined = join(&mut in_flight), if in_flight.is_some() => {
                in_flight = None;
                spare = finished(joined, "GELF");
                idle_timer.as_mut().reset(idle_deadline(idle));
            }
            ready = stream.readable(), if reading => {
                if frames.buf.capacity() == 0 {
                    frames.buf.reserve_exact(READ_BUFFER);
                }
                match ready.and_then(|()| stream.try_read_buf(&mut frames.buf)) {
                    Ok(0) => phase = Phase::Eof,
                    Ok(_) => idle_timer.as_mut().reset(idle_deadline(idle)),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                    Err(source) => {
                        debug!("{}", Error::Read { listener: PROTO_TCP, peer, source });
                        phase = Phase::Broken;
                    }
                }
            }
            () = &mut idle_timer, if phase == Phase::Reading && in_flight.is_none() => {
                debug!(%peer, proto = PROTO_TCP, "closing idle connection");
                phase = Phase::Broken;
            }
        }
        frames.cut(&mut pending, &counters, peer);
        if phase != Phase::Reading {
            frames.end(phase, &mut pending, &counters, peer);
        }
        if in_flight.is_none() {
            if !pending.is_empty() {
                in_flight = Some(dispatch(&shared, &counters, &mut pending, &mut spare, run));
            } else if phase != Phase::Reading {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syslog::MAX_BATCH_RECORDS;

    const PEER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
    const SECOND: i64 = 1_000_000_000;

    fn invalid(registry: &Registry, proto: &str, reason: &str) -> u64 {
        let labels = [("proto", proto), ("reason", reason)];
        registry.counter(RECORDS_INVALID, "", &labels).get()
    }

    fn texts(batch: &Batch) -> Vec<String> {
        batch
            .messages
            .iter()
            .map(|m| String::from_utf8_lossy(&batch.data[m.range.clone()]).into_owned())
            .collect()
    }

    /// A chunk of message `id`: sequence `seq` of `count`, carrying `data`.
    fn chunk(id: u8, seq: u8, count: u8, data: &[u8]) -> Vec<u8> {
        let mut c = CHUNK_MAGIC.to_vec();
        c.extend_from_slice(&[id; 8]);
        c.extend_from_slice(&[seq, count]);
        c.extend_from_slice(data);
        c
    }

    #[test]
    fn incomplete_chunked_messages_expire_after_five_seconds_and_are_counted() {
        let registry = Arc::new(Registry::new());
        let counters = Arc::new(ProtoCounters::for_logs(registry.clone(), PROTO_UDP));
        let mut chunks = Chunks::new(counters, registry.clone());
        let mut pending = Batch::default();
        chunks.datagram(PEER, &chunk(1, 0, 2, b"{\"a\""), 0, &mut pending);
        chunks.datagram(PEER, &chunk(2, 0, 2, b"{\"b\""), 3 * SECOND, &mut pending);
        chunks.expire(5 * SECOND);
        assert_eq!(invalid(&registry, PROTO_UDP, REASON_CHUNK_TIMEOUT), 0);
        chunks.expire(6 * SECOND);
        assert_eq!(invalid(&registry, PROTO_UDP, REASON_CHUNK_TIMEOUT), 1);
        // The first message is gone: its last chunk now starts a new, incomplete one.
        chunks.datagram(PEER, &chunk(1, 1, 2, b":1}"), 6 * SECOND, &mut pending);
        chunks.datagram(PEER, &chunk(2, 1, 2, b":2}"), 6 * SECOND, &mut pending);
        assert_eq!(texts(&pending), ["{\"b\":2}"]);
        chunks.expire(20 * SECOND);
        assert_eq!(invalid(&registry, PROTO_UDP, REASON_CHUNK_TIMEOUT), 2);
    }

    #[test]
    fn whole_payloads_pass_and_bad_chunks_are_counted_by_reason() {
        let registry = Arc::new(Registry::new());
        let counters = Arc::new(ProtoCounters::for_logs(registry.clone(), PROTO_UDP));
        let mut chunks = Chunks::new(counters, registry.clone());
        let mut pending = Batch::default();
        chunks.datagram(PEER, b"{\"x\":1}", 0, &mut pending);
        chunks.datagram(PEER, &chunk(3, 0, 129, b"{}"), 0, &mut pending);
        chunks.datagram(PEER, &chunk(3, 2, 2, b"{}"), 0, &mut pending);
        chunks.datagram(PEER, &CHUNK_MAGIC, 0, &mut pending);
        chunks.datagram(PEER, &chunk(4, 0, 1, b"{\"one\":1}"), 0, &mut pending);
        assert_eq!(texts(&pending), ["{\"x\":1}", "{\"one\":1}"]);
        assert_eq!(invalid(&registry, PROTO_UDP, "chunk_count"), 1);
        assert_eq!(invalid(&registry, PROTO_UDP, "chunk_sequence"), 1);
        assert_eq!(invalid(&registry, PROTO_UDP, "not_a_chunk"), 1);
    }

    /// Feeds `reads` to one connection's framing, ends the input with `phase` (if not
    /// `Reading`), and returns the messages cut, the registry, and the most bytes the buffer
    /// kept between reads.
    fn feed(reads: &[&[u8]], phase: Phase) -> (Vec<String>, Arc<Registry>, usize) {
        let registry = Arc::new(Registry::new());
        let counters = ProtoCounters::for_logs(registry.clone(), PROTO_TCP);
        let (mut frames, mut pending, mut peak) = (Frames::default(), Batch::default(), 0);
        for read in reads {
            frames.buf.extend_from_slice(read);
            frames.cut(&mut pending, &counters, PEER);
            peak = peak.max(frames.buf.len());
        }
        if phase != Phase::Reading {
            frames.end(phase, &mut pending, &counters, PEER);
        }
        (texts(&pending), registry, peak)
    }

    #[track_caller]
    fn check(reads: &[&[u8]], phase: Phase, want: &[&str], refused: &[(&str, u64)]) {
        let (got, registry, _) = feed(reads, phase);
        assert_eq!(got, want, "{reads:?}");
        for (reason, n) in refused {
            assert_eq!(
                invalid(&registry, PROTO_TCP, reason),
                *n,
                "{reason} in {reads:?}"
            );
        }
    }

    #[test]
    fn frames_are_cut_at_nul_bytes() {
        check(&[b"a\0b\0c"], Phase::Reading, &["a", "b"], &[]);
        check(&[b"a\0b\0c"], Phase::Eof, &["a", "b", "c"], &[]);
        check(&[b"a", b"b\0", b"\0\n\0"], Phase::Eof, &["ab"], &[]);
        check(&[b"a\0\n"], Phase::Eof, &["a"], &[(REASON_TRUNCATED, 0)]);
        check(
            &[b"a\0par"],
            Phase::Broken,
            &["a"],
            &[(REASON_TRUNCATED, 1)],
        );
        check(
            &[b"a\0par"],
            Phase::Stopping,
            &["a"],
            &[(REASON_TRUNCATED, 0)],
        );
    }

    #[test]
    fn an_oversized_frame_is_counted_once_and_skipped_without_buffering() {
        let long = vec![b'x'; 3 * MAX_GELF_DECOMPRESSED_BYTES];
        let reads: Vec<&[u8]> = std::iter::once(&b"first\0"[..])
            .chain(long.chunks(MAX_GELF_DECOMPRESSED_BYTES / 4))
            .chain([&b"tail\0next\0"[..]])
            .collect();
        let (got, registry, peak) = feed(&reads, Phase::Eof);
        assert_eq!(got, ["first", "next"]);
        assert_eq!(invalid(&registry, PROTO_TCP, REASON_FRAME_TOO_LARGE), 1);
        assert!(peak <= MAX_GELF_DECOMPRESSED_BYTES, "kept {peak} bytes");
        // A long frame complete within one read is refused too.
        let mut one = vec![b'y'; MAX_GELF_DECOMPRESSED_BYTES + 1];
        one.extend_from_slice(b"\0ok\0");
        check(&[&one], Phase::Eof, &["ok"], &[(REASON_FRAME_TOO_LARGE, 1)]);
        // An oversized frame the sender never ends is not stored at EOF.
        check(&[&long], Phase::Eof, &[], &[(REASON_FRAME_TOO_LARGE, 1)]);
    }

    #[test]
    fn a_full_batch_stops_cutting_until_it_is_sent() {
        let registry = Arc::new(Registry::new());
        let counters = ProtoCounters::for_logs(registry, PROTO_TCP);
        let mut frames = Frames {
            buf: b"m\0".repeat(MAX_BATCH_RECORDS + 10),
            skipping: false,
        };
        let mut pending = Batch::default();
        frames.cut(&mut pending, &counters, PEER);
        assert_eq!(pending.messages.len(), MAX_BATCH_RECORDS);
        assert_eq!(frames.buf.len(), 10 * 2, "the rest waits in the buffer");
        frames.end(Phase::Eof, &mut pending, &counters, PEER);
        assert_eq!(frames.buf.len(), 10 * 2, "still waiting after EOF");
    }
}
