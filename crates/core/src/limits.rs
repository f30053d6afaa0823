//! Named bounds on every network input. Each constant says where its value comes from; the
//! configurable ones are defaults that `Config` may override.

/// Longest metric name, tags included. Graphite has no hard limit, but whisper paths are
/// bounded by the file system's 255-byte file names and 4096-byte paths; 1 KiB leaves room for
/// long tagged names while bounding the name index's memory.
pub const MAX_METRIC_NAME_BYTES: usize = 1024;

/// Longest Graphite plaintext line. Twisted's `LineOnlyReceiver`, which carbon uses, stops at
/// 16 KiB; a longer line is counted, skipped up to its newline, and the connection is kept.
pub const MAX_GRAPHITE_LINE_BYTES: usize = 16 * 1024;

/// Largest pickle frame, carbon's `PICKLE_RECEIVER_MAX_LENGTH` (1 MiB). A larger length
/// prefix closes the connection: the stream cannot be resynchronised.
pub const MAX_PICKLE_FRAME_BYTES: usize = 1024 * 1024;

/// Largest UDP datagram read. 64 KiB is the IPv4 maximum, so nothing valid is ever cut.
pub const MAX_UDP_DATAGRAM_BYTES: usize = 65_536;

/// Default cap on open TCP connections per listener. Each connection costs a task and a read
/// buffer (~64 KiB); 1024 bounds that to ~64 MiB while exceeding what a fleet of collectors
/// needs (they keep one connection each).
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;

/// Default largest HTTP request body (32 MiB): a plaintext batch of ~500k points.
pub const DEFAULT_MAX_HTTP_BODY_BYTES: usize = 32 * 1024 * 1024;

/// Seconds a TCP connection may stay silent before it is closed, so idle or dead clients do
/// not hold connection slots forever. Collectors send at least every minute; 10 minutes is
/// well above that.
pub const DEFAULT_IDLE_TIMEOUT_SECS: u64 = 600;

/// Longest syslog message (a frame or a line). RFC 5424 requires receivers to take 480 bytes
/// and should take 2048; rsyslog's default is 8 KiB and its largest common setting 64 KiB.
/// A longer one is cut to this length, marked with a `truncated=true` field, and counted.
pub const MAX_SYSLOG_MESSAGE_BYTES: usize = 64 * 1024;

/// Largest GELF message after decompression (Graylog's default is 8 MiB; 1 MiB is far above a
/// real log line). A gzip bomb stops decompressing here and is counted, never buffered whole.
pub const MAX_GELF_DECOMPRESSED_BYTES: usize = 1024 * 1024;

/// GELF chunked UDP: at most 128 chunks per message (the GELF 1.1 spec).
pub const MAX_GELF_CHUNKS: usize = 128;

/// GELF chunked UDP: a message whose chunks have not all arrived within 5 s is dropped (the
/// GELF 1.1 spec).
pub const GELF_REASSEMBLY_TIMEOUT_SECS: u64 = 5;

/// GELF chunked UDP: bytes of incomplete messages held at once; past this the oldest are
/// dropped and counted, so a flood of first chunks cannot grow memory.
pub const MAX_GELF_PENDING_BYTES: usize = 64 * 1024 * 1024;

/// Longest NDJSON line in `POST /api/v1/logs`.
pub const MAX_NDJSON_LINE_BYTES: usize = 1024 * 1024;

/// Most nodes in a log component. Real components have a handful; a 500-node one is refused
/// (counted) rather than stored, so the component tree stays small.
pub const MAX_COMPONENT_NODES: usize = 32;

/// Most fields kept per log record; extra fields are dropped and the record marked.
pub const MAX_LOG_FIELDS: usize = 64;
