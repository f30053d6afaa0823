//! lookout's metrics listeners: Graphite plaintext over TCP and UDP, and carbon's pickle
//! protocol over TCP, on sockets the binary has bound. Bytes are cut into complete records and
//! handed in batches to a blocking thread that parses them (`lookout-proto`) and appends them
//! to the store through `lookout_core::MetricAppender`, so the async reactor never waits on
//! storage. Every input is bounded (connections, idle time, line and frame and datagram sizes)
//! and every refusal is counted on the self-metrics registry and logged at a limited rate.
//!
//! Logs take the same path: [`LogIngest`] serves syslog and GELF over UDP and TCP and
//! appends through `lookout_core::LogAppender`, with the same bounds, counters and shutdown.
//!
//! StatsD reuses the same receive loops: [`Statsd`] aggregates its samples in memory instead of
//! storing them, and appends Etsy-named statistics every flush interval.
//!
//! This crate does not parse (that is `lookout-proto`), store (the engines) or serve HTTP (the
//! binary, which uses [`HttpIngestCounters`] to count HTTP ingest the same way).
//!
//! Layout:
//! - `ingest`: [`Ingest`], the shared state, the `serve_*` entry points, and storing a batch.
//! - `config`: [`Config`], the listeners' bounds.
//! - `clock`: [`now_unix`], the only place the wall clock is read.
//! - `error`: the crate's `Error` and `Result`.
//! - `accept`: the TCP accept loop with the connection cap, back-off and drain at shutdown.
//! - `backoff`: exponential back-off after socket errors.
//! - `stream`: one TCP connection: buffering, batching to a blocking thread, idle and shutdown.
//! - `plaintext`: line framing for Graphite over TCP, including over-long line skipping.
//! - `pickle`: frame framing for carbon's pickle protocol.
//! - `udp`: Graphite over UDP, one datagram at a time.
//! - `datagram`: the receive loop every UDP listener shares (batching, drops, shutdown).
//! - `counters`: the self-metrics, counting of refusals, [`HttpIngestCounters`].
//! - `warn_limiter`: at most one warning per listener per interval.
//! - `log_counts`: [`LogCounts`], log-derived counters (`logs.<component>.<severity>`) counted
//!   in front of the log store.
//! - `log_policy`: [`LogPolicy`], component rules and timestamp bounds applied to every log
//!   record between its parser and the store.
//! - `syslog`: [`LogIngest`], the log listeners' shared state, and syslog over UDP and TCP
//!   (octet-counting or LF framing), batched to the log store.
//! - `gelf`: GELF over UDP (whole or chunked payloads, reassembled and expired) and over TCP
//!   (NUL-framed JSON), served by [`LogIngest`] and batched to the log store the same way.
//! - `statsd`: [`Statsd`], the StatsD server over UDP and TCP, its [`StatsdConfig`], and its
//!   periodic flush to the store.
//! - `statsd_flush`: the sharded aggregation state, Etsy's flush arithmetic and names, and
//!   [`statsd_aggregation_rules`] that type the series StatsD writes.
#![warn(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod accept;
mod backoff;
mod clock;
mod config;
mod counters;
mod datagram;
mod error;
mod gelf;
mod ingest;
mod log_counts;
mod log_policy;
mod pickle;
mod plaintext;
mod statsd;
mod statsd_flush;
mod stream;
mod syslog;
mod udp;
mod warn_limiter;

pub use accept::serve_capped;
pub use clock::now_unix;
pub use config::Config;
pub use counters::HttpIngestCounters;
pub use error::{Error, Result};
pub use ingest::Ingest;
pub use log_counts::{
    LogCounts, DEFAULT_LOG_COUNT_STEP_SECS, LOG_COUNTS_OVERFLOW, LOG_COUNT_HORIZON_SECS,
    MAX_LOG_COUNT_ENTRIES, OVERFLOW_COMPONENT,
};
pub use log_policy::{
    ComponentRule, LogInput, LogPolicy, RuleSource, DEFAULT_MAX_FUTURE_SECS, ORIGINAL_TS_FIELD,
};
pub use statsd::{Statsd, StatsdConfig, DEFAULT_STATSD_MAX_SERIES, MAX_STATSD_LINE_BYTES};
pub use statsd_flush::{statsd_aggregation_rules, StatsdAggregationRule};
pub use syslog::LogIngest;
