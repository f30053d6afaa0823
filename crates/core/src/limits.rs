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
