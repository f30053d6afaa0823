//! The crate's error type. Listeners never fail as a whole: each of these ends one connection,
//! one datagram or one batch, and is logged where it happens.

use std::net::IpAddr;

/// Why a connection, a datagram or a batch was given up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading from a connection failed (reset, timeout).
    #[error("reading from {peer} on {listener}: {source}")]
    Read {
        /// The listener, e.g. `graphite_tcp`.
        listener: &'static str,
        /// The sending host.
        peer: IpAddr,
        /// The socket error.
        source: std::io::Error,
    },
    /// Accepting a connection or receiving a datagram failed.
    #[error("receiving on {listener}: {source}")]
    Receive {
        /// The listener, e.g. `pickle`.
        listener: &'static str,
        /// The socket error.
        source: std::io::Error,
    },
    /// The store refused a batch; its points are lost.
    #[error("storing {points} {proto} points: {source}")]
    Store {
        /// The protocol the points came in by.
        proto: &'static str,
        /// How many points were refused.
        points: usize,
        /// The store's error.
        source: lookout_core::Error,
    },
}

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, Error>;
