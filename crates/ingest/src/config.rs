//! The listeners' settings, with defaults from `lookout_core::limits`. The binary assembles it
//! from its own configuration; this crate only reads it.

use std::time::Duration;

use lookout_core::limits;

/// Bounds applied by every listener of one [`crate::Ingest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Open TCP connections per listener; more are accepted and closed at once, and counted.
    pub max_connections: usize,
    /// A TCP connection that sends nothing for this long is closed.
    pub idle_timeout: Duration,
    /// Longest plaintext line; a longer one is skipped up to its newline and counted.
    pub max_line_bytes: usize,
    /// Largest pickle frame; a larger length prefix closes the connection.
    pub max_pickle_frame_bytes: usize,
    /// Largest UDP datagram; a larger one is cut, its last line dropped and counted.
    pub max_udp_datagram_bytes: usize,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            max_connections: limits::DEFAULT_MAX_CONNECTIONS,
            idle_timeout: Duration::from_secs(limits::DEFAULT_IDLE_TIMEOUT_SECS),
            max_line_bytes: limits::MAX_GRAPHITE_LINE_BYTES,
            max_pickle_frame_bytes: limits::MAX_PICKLE_FRAME_BYTES,
            max_udp_datagram_bytes: limits::MAX_UDP_DATAGRAM_BYTES,
        }
    }
}
