//! Syslog listeners and [`LogIngest`], the state every log listener shares: UDP with one
//! message per datagram (RFC 5426) and TCP with octet-counting or LF framing chosen per
//! connection (RFC 6587, `lookout_proto::syslog::Framer`). Messages are cut from the socket on
//! the reactor and handed, a batch at a time, to a blocking thread that parses them
//! (`lookout_proto::syslog::parse_message`) and appends them through
//! `lookout_core::LogAppender`, so the reactor never waits on storage. One batch per
//! connection (or per UDP socket) is in flight; while it is, messages accumulate up to a bound,
//! then reading stops and TCP pushes back on the sender.
//!
//! Parsing is `lookout-proto`'s job, the connection cap `accept`'s, and counting `counters`'.
//! Refused messages are counted under `lookout_ingest_records_invalid_total{proto,reason}` with
//! the parser's reason; received records under `lookout_ingest_records_received_total{proto}`,
//! the counter every listener's `ProtoCounters` keeps.

use std::collections::VecDeque;
use std::io::ErrorKind;
use std::net::IpAddr;
use std::ops::Range;
use std::sync::{mpsc, Arc};

use lookout_core::selfmon::Registry;
use lookout_core::{Durability, LogAppender, LogRecord};
use lookout_proto::excerpt;
use lookout_proto::syslog::{parse_message, Framer, FramingMode};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{debug, warn};

use crate::accept::{accept_loop_with, AcceptBounds};
use crate::clock::now_unix_ns;
use crate::counters::ProtoCounters;
use crate::datagram::{receive, Datagrams, Receiver};
use crate::error::Error;
use crate::ingest::Shared;
use crate::log_policy::{default_policy, LogInput, LogPolicy};
use crate::stream::{finished, idle_deadline};
use crate::warn_limiter::WarnLimiter;
use crate::Config;

/// `proto` and `listener` label of syslog over UDP.
const PROTO_UDP: &str = "syslog_udp";
/// `proto` and `listener` label of syslog over TCP.
const PROTO_TCP: &str = "syslog_tcp";

/// Most messages in one batch, hence in one `append` call: big enough that per-batch costs (a
/// blocking task, a store call) vanish, small enough that one call does not hold the store's
/// write path for long.
pub(crate) const MAX_BATCH_RECORDS: usize = 4096;

/// Most message bytes waiting in one batch. Past it a TCP connection stops reading until the
/// batch in flight is stored, and UDP drops (and counts) datagrams: the store is far behind.
pub(crate) const MAX_BATCH_BYTES: usize = 8 * 1024 * 1024;

/// Largest syslog datagram read whole. Bigger than any UDP payload, so nothing is cut by the
/// socket; `parse_message` cuts messages over the syslog limit itself and marks them.
const MAX_DATAGRAM_BYTES: usize = 65_536;

/// First read buffer of a TCP connection: holds one message of the largest size plus its
/// length prefix and some blank bytes, so the framer can always decide. Allocated only once
/// data arrives.
const READ_BUFFER: usize = 2 * (lookout_core::limits::MAX_SYSLOG_MESSAGE_BYTES + 64);

/// Reason counted when a line longer than the message limit was cut (its head is stored with
/// `truncated=true`, the rest skipped).
const REASON_TOO_LONG: &str = "message_too_long";

/// The log listeners of one process. Like [`crate::Ingest`], the binary binds the sockets and
/// hands them to the `serve_*` methods, each of which runs until the shutdown signal turns
/// `true` (or its sender is dropped) and what was read is stored.
pub struct LogIngest {
    shared: Arc<LogShared>,
}

/// State shared by every log listener task and blocking job.
pub(crate) struct LogShared {
    pub(crate) appender: Arc<dyn LogAppender>,
    pub(crate) registry: Arc<Registry>,
    pub(crate) config: Config,
    pub(crate) shutdown: watch::Receiver<bool>,
    pub(crate) store_warnings: WarnLimiter,
    /// Component rules and timestamp bounds, applied to every parsed record before storing.
    pub(crate) policy: Arc<LogPolicy>,
}

impl LogIngest {
    /// Log listeners writing to `appender` (with [`Durability::Buffered`]: syslog does not
    /// acknowledge), counting on `registry`, bounded by `config` (connection cap, idle
    /// timeout), and stopping when `shutdown` becomes `true`.
    pub fn new(
        appender: Arc<dyn LogAppender>,
        registry: Arc<Registry>,
        config: Config,
        shutdown: watch::Receiver<bool>,
    ) -> LogIngest {
        LogIngest {
            shared: Arc::new(LogShared {
                appender,
                policy: default_policy(&registry),
                registry,
                config,
                shutdown,
                store_warnings: WarnLimiter::new(),
            }),
        }
    }

    /// The same listeners applying `policy` (component rules, timestamp bounds) instead of
    /// the defaults. Call it before serving.
    pub fn with_policy(self, policy: Arc<LogPolicy>) -> LogIngest {
        let s = &self.shared;
        LogIngest {
            shared: Arc::new(LogShared {
                appender: s.appender.clone(),
                registry: s.registry.clone(),
                config: s.config.clone(),
                shutdown: s.shutdown.clone(),
                store_warnings: WarnLimiter::new(),
                policy,
            }),
        }
    }

    /// Serves syslog over UDP, one message per datagram (RFC 5426). Returns after shutdown,
    /// once the datagrams already received are stored.
    pub async fn serve_syslog_udp(&self, socket: UdpSocket) {
        serve_udp(self.shared.clone(), socket).await;
    }

    /// Serves syslog over TCP (RFC 6587), octet-counting or LF framing as each connection's
    /// first byte says. Returns after shutdown, once every connection has stored what it read.
    pub async fn serve_syslog_tcp(&self, listener: TcpListener) {
        let shared = self.shared.clone();
        let counters = Arc::new(ProtoCounters::for_logs(shared.registry.clone(), PROTO_TCP));
        let bounds = AcceptBounds {
            registry: &self.shared.registry,
            max_connections: self.shared.config.max_connections,
            shutdown: self.shared.shutdown.clone(),
        };
        accept_loop_with(bounds, listener, PROTO_TCP, move |stream, peer| {
            drive(shared.clone(), counters.clone(), stream, peer.ip())
        })
        .await;
    }

    /// Serves GELF over UDP: whole payloads (plain, gzip or zlib JSON) and chunked messages,
    /// reassembled. Returns after shutdown, once the payloads already received are stored.
    pub async fn serve_gelf_udp(&self, socket: UdpSocket) {
        crate::gelf::serve_udp(self.shared.clone(), socket).await;
    }

    /// Serves GELF over TCP: uncompressed JSON messages, each ended by a NUL byte. Returns
    /// after shutdown, once every connection has stored what it read.
    pub async fn serve_gelf_tcp(&self, listener: TcpListener) {
        crate::gelf::serve_tcp(self.shared.clone(), listener).await;
    }
}

/// Messages on their way to be parsed and stored, and the buffers reused for them; the log
/// listeners (syslog here, GELF in `gelf`) share it.
#[derive(Default)]
pub(crate) struct Batch {
    pub(crate) data: Vec<u8>,
    pub(crate) messages: Vec<Message>,
    pub(crate) records: Vec<LogRecord>,
}

/// Where one message of a batch is, and who sent it.
pub(crate) struct Message {
    pub(crate) peer: IpAddr,
    pub(crate) range: Range<usize>,
}

impl Batch {
    pub(crate) fn push(&mut self, peer: IpAddr, message: &[u8]) {
        let start = self.data.len();
        self.data.extend_from_slice(message);
        self.messages.push(Message {
            peer,
            range: start..self.data.len(),
        });
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    /// The batch holds as much as one batch should: send it before reading more.
    pub(crate) fn is_full(&self) -> bool {
        self.messages.len() >= MAX_BATCH_RECORDS || self.data.len() >= MAX_BATCH_BYTES
    }
}

/// Sends `pending` to a blocking thread that hands it to the protocol's `run` (parse, count,
/// store), leaving an empty batch (reusing `spare`) in its place.
pub(crate) fn dispatch(
    shared: &Arc<LogShared>,
    counters: &Arc<ProtoCounters>,
    pending: &mut Batch,
    spare: &mut Option<Batch>,
    run: fn(&LogShared, &ProtoCounters, Batch) -> Batch,
) -> JoinHandle<Batch> {
    let batch = std::mem::replace(pending, spare.take().unwrap_or_default());
    store_job(shared, counters, batch, run)
}

/// Runs the protocol's `run` (parse, count, store) over `batch` on a blocking thread.
pub(crate) fn store_job(
    shared: &Arc<LogShared>,
    counters: &Arc<ProtoCounters>,
    batch: Batch,
    run: fn(&LogShared, &ProtoCounters, Batch) -> Batch,
) -> JoinHandle<Batch> {
    let (shared, counters) = (shared.clone(), counters.clone());
    tokio::task::spawn_blocking(move || run(&shared, &counters, batch))
}

/// Batches of one syslog TCP connection in flight at once. Two let one batch parse while the
/// one before it is stored; each still stores in arrival order, so a sender's records keep
/// their order (and their sequence numbers) exactly as with one at a time.
const MAX_IN_FLIGHT: usize = 2;

/// Like [`dispatch`], but the batch is stored only after the batch dispatched before it on
/// the same connection (`turn` carries that order from one call to the next): parsing
/// overlaps, storing does not.
fn dispatch_in_turn(
    shared: &Arc<LogShared>,
    counters: &Arc<ProtoCounters>,
    pending: &mut Batch,
    spare: &mut Option<Batch>,
    turn: &mut Option<mpsc::Receiver<()>>,
) -> JoinHandle<Batch> {
    let batch = std::mem::replace(pending, spare.take().unwrap_or_default());
    let (shared, counters) = (shared.clone(), counters.clone());
    // The sender is dropped when this batch is stored (or its job ends any other way),
    // which is what the next batch waits for.
    let (stored, next) = mpsc::sync_channel::<()>(0);
    let previous = turn.replace(next);
    tokio::task::spawn_blocking(move || {
        let batch = parse_batch(&shared, &counters, batch);
        if let Some(previous) = previous {
            // Err once the previous job has ended: no value is ever sent.
            let _ = previous.recv();
        }
        let batch = store_batch(&shared, &counters, batch);
        drop(stored);
        batch
    })
}

/// Parses every message of a batch, counts the refused ones, stores the rest in appends of at
/// most [`MAX_BATCH_RECORDS`], and returns the emptied buffers.
fn run(shared: &LogShared, counters: &ProtoCounters, batch: Batch) -> Batch {
    let batch = parse_batch(shared, counters, batch);
    store_batch(shared, counters, batch)
}

/// Parses every message of a batch into `batch.records` and counts the refused ones.
fn parse_batch(shared: &LogShared, counters: &ProtoCounters, mut batch: Batch) -> Batch {
    let now_ns = now_unix_ns();
    batch.records.clear();
    // Senders of one batch are nearly always one peer: format its address once.
    let mut host: Option<(IpAddr, String)> = None;
    for message in &batch.messages {
        let bytes = batch.data.get(message.range.clone()).unwrap_or_default();
        if host.as_ref().map(|(ip, _)| *ip) != Some(message.peer) {
            host = Some((message.peer, message.peer.to_string()));
        }
        let peer_host = host.as_ref().map_or("", |(_, text)| text.as_str());
        match parse_message(bytes, now_ns, peer_host) {
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
        .apply(LogInput::Syslog, &mut batch.records, now_ns);
    if let Some(peer) = batch.messages.first().map(|m| m.peer) {
        counters.record(peer, batch.records.len(), &[], |_| None);
    }
    batch
}

/// Stores a parsed batch's records in appends of at most [`MAX_BATCH_RECORDS`] and returns
/// the emptied buffers.
fn store_batch(shared: &LogShared, counters: &ProtoCounters, mut batch: Batch) -> Batch {
    let peer = batch.messages.first().map(|m| m.peer);
    for chunk in batch.records.chunks(MAX_BATCH_RECORDS) {
        if let Err(e) = shared.appender.append(chunk, Durability::Buffered) {
            counters.dropped_by_store(peer, chunk.len());
            if let Some(suppressed) = shared.store_warnings.allow(1) {
                warn!(
                    proto = counters.proto(),
                    "storing {} log records: {e}; {suppressed} more batches refused since the last warning",
                    chunk.len()
                );
            }
        }
    }
    batch.records.clear();
    batch.data.clear();
    batch.messages.clear();
    batch
}

/// Waits for the oldest batch in flight; never resolves when there is none.
async fn join_oldest(
    in_flight: &mut VecDeque<JoinHandle<Batch>>,
) -> Result<Batch, tokio::task::JoinError> {
    match in_flight.front_mut() {
        Some(handle) => handle.await,
        None => std::future::pending().await,
    }
}

/// Receives datagrams until shutdown, one message each, then stores what was received.
async fn serve_udp(shared: Arc<LogShared>, socket: UdpSocket) {
    let counters = Arc::new(ProtoCounters::for_logs(shared.registry.clone(), PROTO_UDP));
    let receiver = Receiver {
        socket,
        what: "syslog",
        shutdown: shared.shutdown.clone(),
        buffer: MAX_DATAGRAM_BYTES,
        housekeeping: None,
        counters: counters.clone(),
    };
    receive(receiver, Messages { shared, counters }).await;
}

/// Syslog datagrams, one message each.
struct Messages {
    shared: Arc<LogShared>,
    counters: Arc<ProtoCounters>,
}

impl Datagrams for Messages {
    type Batch = Batch;

    fn is_full(batch: &Batch, _len: usize) -> bool {
        batch.is_full()
    }

    fn is_empty(batch: &Batch) -> bool {
        batch.is_empty()
    }

    fn push(&mut self, batch: &mut Batch, peer: IpAddr, datagram: &[u8]) {
        batch.push(peer, datagram);
    }

    fn store(&self, batch: Batch) -> JoinHandle<Batch> {
        store_job(&self.shared, &self.counters, batch, run)
    }
}

/// Why a TCP connection stopped reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Reading,
    /// The sender closed its side: an unterminated last line is still a message.
    Eof,
    /// Idle timeout or read error: an unfinished message is incomplete.
    Broken,
    /// Shutdown, or a stream that cannot be framed any more: store what is complete.
    Stopping,
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
    let mut framer = Framer::new();
    let mut buf: Vec<u8> = Vec::new();
    let mut pending = Batch::default();
    let mut spare: Option<Batch> = None;
    let mut in_flight: VecDeque<JoinHandle<Batch>> = VecDeque::new();
    let mut turn: Option<mpsc::Receiver<()>> = None;
    let mut phase = Phase::Reading;
    let idle_timer = tokio::time::sleep_until(idle_deadline(idle));
    tokio::pin!(idle_timer);
    loop {
        // The buffer is allocated when the first data arrives and never grown: once
        // `cut_messages` has run, it is full only if the batch is, since at most one unfinished
        // frame (less than `READ_BUFFER`, blanks before it dropped) is left when the framer
        // needs more bytes.
        let room = buf.capacity() == 0 || buf.len() < buf.capacity();
        let reading = phase == Phase::Reading && !pending.is_full() && room;
        tokio::select! {
            biased;
            () = Shared::stopped(&mut shutdown), if phase == Phase::Reading => {
                phase = Phase::Stopping;
            }
            joined = join_oldest(&mut in_flight), if !in_flight.is_empty() => {
                in_flight.pop_front();
                spare = finished(joined, "syslog");
                idle_timer.as_mut().reset(idle_deadline(idle));
            }
            ready = stream.readable(), if reading => {
                if buf.capacity() == 0 {
                    buf.reserve(READ_BUFFER);
                }
                match ready.and_then(|()| stream.try_read_buf(&mut buf)) {
                    Ok(0) => phase = Phase::Eof,
                    Ok(_) => idle_timer.as_mut().reset(idle_deadline(idle)),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                    Err(source) => {
                        debug!("{}", Error::Read { listener: PROTO_TCP, peer, source });
                        phase = Phase::Broken;
                    }
                }
            }
            () = &mut idle_timer, if phase == Phase::Reading && in_flight.is_empty() => {
                debug!(%peer, proto = PROTO_TCP, "closing idle connection");
                phase = Phase::Broken;
            }
        }
        if !cut_messages(&mut framer, &mut buf, &mut pending, &counters, peer) {
            phase = Phase::Stopping;
        }
        if phase != Phase::Reading {
            end_of_input(phase, &framer, &mut buf, &mut pending, &counters, peer);
        }
        // A batch goes as soon as nothing is in flight (whatever its size, so a quiet
        // sender's lines are stored at once), or beside the one in flight once it is full.
        let send = !pending.is_empty()
            && (in_flight.is_empty() || (pending.is_full() && in_flight.len() < MAX_IN_FLIGHT));
        if send {
            in_flight.push_back(dispatch_in_turn(
                &shared,
                &counters,
                &mut pending,
                &mut spare,
                &mut turn,
            ));
        } else if in_flight.is_empty() && pending.is_empty() && phase != Phase::Reading {
            break;
        }
    }
}

/// Moves every complete message at the front of `buf` into `pending`, counting cut lines, and
/// drops the consumed bytes and the blank bytes before an unfinished frame (the framer skips
/// them anyway; keeping them would let a sender grow the buffer with blanks). Returns `false` when the stream cannot be framed any more (a
/// bad or oversized octet count), which is counted; the connection must then close.
fn cut_messages(
    framer: &mut Framer,
    buf: &mut Vec<u8>,
    pending: &mut Batch,
    counters: &ProtoCounters,
    peer: IpAddr,
) -> bool {
    let mut at = 0;
    let mut usable = true;
    while at < buf.len() && !pending.is_full() {
        let rest = buf.get(at..).unwrap_or_default();
        match framer.next_frame(rest) {
            Ok(None) => {
                at += rest.iter().take_while(|c| is_blank(**c)).count();
                break;
            }
            Ok(Some(frame)) => {
                if let Some(range) = frame.message {
                    let message = rest.get(range).unwrap_or_default();
                    if frame.truncated {
                        counters.refuse(
                            peer,
                            REASON_TOO_LONG,
                            &format_args!(
                                "line over the message limit, cut: \"{}\"",
                                excerpt(message)
                            ),
                        );
                    }
                    pending.push(peer, message);
                }
                if frame.consumed == 0 {
                    break;
                }
                at += frame.consumed;
            }
            Err(e) => {
                counters.refuse(
                    peer,
                    e.reason(),
                    &format_args!("{e}; closing the connection: \"{}\"", excerpt(rest)),
                );
                buf.clear();
                usable = false;
                at = 0;
                break;
            }
        }
    }
    buf.drain(..at.min(buf.len()));
    usable
}

/// At the end of a connection's input: with LF framing an unterminated last line the sender
/// closed after is still a message; any other leftover is an incomplete message, counted.
fn end_of_input(
    phase: Phase,
    framer: &Framer,
    buf: &mut Vec<u8>,
    pending: &mut Batch,
    counters: &ProtoCounters,
    peer: IpAddr,
) {
    let blank = buf.iter().all(|c| is_blank(*c));
    if blank || pending.is_full() {
        if blank {
            buf.clear();
        }
        return;
    }
    match phase {
        Phase::Eof if framer.mode() == Some(FramingMode::LineFeed) => pending.push(peer, buf),
        Phase::Eof | Phase::Broken => counters.refuse(
            peer,
            "truncated",
            &format_args!("connection ended inside a message of {} bytes", buf.len()),
        ),
        Phase::Reading | Phase::Stopping => {}
    }
    buf.clear();
}

/// The bytes the framer skips between messages.
fn is_blank(c: u8) -> bool {
    matches!(c, b'\n' | b'\r' | b'\0' | b' ')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::counters::RECORDS_INVALID;
    use lookout_core::limits::MAX_SYSLOG_MESSAGE_BYTES;

    const PEER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    /// Feeds `chunks` to one connection's framing as successive reads, then ends the input
    /// like a sender closing (`eof`) or not, and returns the messages cut, whether the stream
    /// stayed usable, the registry with the refusals counted, and the most bytes the read
    /// buffer kept between reads.
    fn feed(chunks: &[&[u8]], eof: bool) -> (Vec<Vec<u8>>, bool, Arc<Registry>, usize) {
        let registry = Arc::new(Registry::new());
        let counters = ProtoCounters::for_logs(registry.clone(), PROTO_TCP);
        let (mut framer, mut buf, mut pending) = (Framer::new(), Vec::new(), Batch::default());
        let (mut usable, mut peak) = (true, 0);
        for chunk in chunks {
            buf.extend_from_slice(chunk);
            usable = cut_messages(&mut framer, &mut buf, &mut pending, &counters, PEER);
            peak = peak.max(buf.len());
            if !usable {
                break;
            }
        }
        if eof && usable {
            end_of_input(Phase::Eof, &framer, &mut buf, &mut pending, &counters, PEER);
        }
        let messages = pending
            .messages
            .iter()
            .map(|m| pending.data[m.range.clone()].to_vec())
            .collect();
        (messages, usable, registry, peak)
    }

    #[track_caller]
    fn check(chunks: &[&[u8]], eof: bool, want: &[&str], usable: bool, refused: &[(&str, u64)]) {
        let (messages, was_usable, registry, _) = feed(chunks, eof);
        let got: Vec<String> = messages
            .iter()
            .map(|m| String::from_utf8_lossy(m).into_owned())
            .collect();
        assert_eq!(got, want, "{chunks:?}");
        assert_eq!(was_usable, usable, "{chunks:?}");
        for (reason, n) in refused {
            let labels = [("proto", PROTO_TCP), ("reason", *reason)];
            let count = registry.counter(RECORDS_INVALID, "", &labels).get();
            assert_eq!(count, *n, "{reason} in {chunks:?}");
        }
    }

    #[test]
    fn messages_are_cut_from_reads_in_both_framings() {
        // LF framing: complete lines now, an unterminated tail only when the sender closed.
        check(&[b"<1>a\n<2>b\n<3>c"], false, &["<1>a", "<2>b"], true, &[]);
        check(
            &[b"<1>a\n<2>b\n<3>c"],
            true,
            &["<1>a", "<2>b", "<3>c"],
            true,
            &[],
        );
        check(
            &[b"<1>a", b"bc\r\n", b"\n\n"],
            true,
            &["<1>abc\r"],
            true,
            &[],
        );
        check(&[b"\n \0\r\n"], true, &[], true, &[("truncated", 0)]);
        // Octet counting: the length decides, newlines included; a cut frame is counted.
        check(&[b"5 <1>ab3 <2>"], false, &["<1>ab", "<2>"], true, &[]);
        check(&[b"6 <1>a", b"\nb"], false, &["<1>a\nb"], true, &[]);
        check(&[b"9 <1>a"], true, &[], true, &[("truncated", 1)]);
        // A stream that cannot be framed is counted and closed.
        check(
            &[b"3 <1>12x <2>"],
            false,
            &["<1>"],
            false,
            &[("frame_length", 1)],
        );
        check(
            &[b"99999999 <1>"],
            false,
            &[],
            false,
            &[("frame_too_large", 1)],
        );
    }

    #[test]
    fn an_over_long_line_is_cut_counted_and_skipped_without_buffering() {
        let mut long = vec![b'x'; 3 * MAX_SYSLOG_MESSAGE_BYTES];
        long.push(b'\n');
        let chunks: Vec<&[u8]> = std::iter::once(&b"<1>"[..])
            .chain(long.chunks(MAX_SYSLOG_MESSAGE_BYTES / 2))
            .chain(std::iter::once(&b"<2>after\n"[..]))
            .collect();
        let (messages, usable, registry, peak) = feed(&chunks, true);
        assert!(usable);
        assert!(
            peak <= MAX_SYSLOG_MESSAGE_BYTES,
            "kept {peak} bytes of a skipped line"
        );
        assert_eq!(messages.len(), 2);
        assert_eq!(messages[0].len(), MAX_SYSLOG_MESSAGE_BYTES + 1);
        assert_eq!(messages[1], b"<2>after");
        let labels = [("proto", PROTO_TCP), ("reason", REASON_TOO_LONG)];
        assert_eq!(registry.counter(RECORDS_INVALID, "", &labels).get(), 1);
    }

    #[test]
    fn blanks_before_an_unfinished_message_are_not_kept() {
        let mut read = vec![b'\n'; READ_BUFFER - 7];
        read.extend_from_slice(b"<1>part");
        let (messages, usable, _, peak) = feed(&[&read, b"ial\n"], false);
        assert!(usable);
        assert_eq!(messages, [b"<1>partial".to_vec()]);
        assert_eq!(peak, 7, "only the unfinished message waits in the buffer");
    }

    #[test]
    fn a_full_batch_stops_cutting_until_it_is_sent() {
        let line = b"<1>m\n".repeat(MAX_BATCH_RECORDS + 10);
        let registry = Arc::new(Registry::new());
        let counters = ProtoCounters::for_logs(registry, PROTO_TCP);
        let (mut framer, mut buf, mut pending) = (Framer::new(), line, Batch::default());
        assert!(cut_messages(
            &mut framer,
            &mut buf,
            &mut pending,
            &counters,
            PEER
        ));
        assert_eq!(pending.messages.len(), MAX_BATCH_RECORDS);
        assert_eq!(buf.len(), 10 * 5, "the rest waits in the read buffer");
    }
}
