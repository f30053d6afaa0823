//! lookout's integration tests: every module runs the real `lookout` binary (see `util`) and
//! checks it from the outside, over its network protocols, its HTTP API and its command line.
//! One test binary for all of them keeps link time low; each test starts its own server on
//! fresh ports and a fresh data directory, so they run in parallel.

/// The harness: start/kill/restart the binary, HTTP client, senders, waits, pickle bytes.
mod util;

/// Good input over every ingest path (plaintext TCP and UDP, pickle, HTTP POST) read back
/// exactly through `/render`: tags, `-1`/`N` timestamps, late points, last write wins.
mod ingest;

/// Bad and hostile input: malformed lines, huge lines, hostile or broken pickles, oversized
/// HTTP bodies, connection floods and silent clients. Good data is kept, the bad is counted,
/// the server stays up.
mod bad_input;

/// Server-side graphs, `/render?format=png|svg`: size, series pixels where their values put
/// them, stacked areas, null gaps, title, escaped SVG text, unit labels, `tz`, bad parameters.
mod graph;

/// The Graphite web API's shapes: render formats, maxDataPoints, noNullPoints, find, expand,
/// index.json, /functions, /version, Grafana's own requests, errors, DELETE /metrics.
mod render;

/// Durability: acknowledged points survive kill -9, buffered ones survive it after the sync
/// interval, and a clean SIGTERM stop restarts with everything.
mod crash;

/// Logs: NDJSON and syslog in (real `logger`), query filters and cursor, component tree,
/// histogram, log counts as metrics, live tail, and acknowledged logs surviving kill -9.
mod logs;

/// Optional bearer-token auth on the HTTP API.
mod auth;

/// Self-monitoring: `/metrics` Prometheus text and the `lookout.*` series.
mod selfmon;

/// The `lookout query` command against a running server.
mod cli;

/// `lookout import whisper`: files written by python3-whisper render like `whisper.fetch`;
/// locked data dir, corrupt files and resuming after an interruption.
mod import;

/// Interop with a real collectd (`write_graphite`) as the sender.
mod collectd;

/// Interop with a real rsyslog relaying `logger`'s UDP syslog to lookout over TCP, with LF and
/// octet-counted framing.
mod rsyslog;

/// Differential test against Debian's carbon-cache + graphite-web 1.1.8 on the same data.
mod conformance;

/// StatsD over UDP and TCP: counters with sample rates, timers, gauges, sets, tags, bad
/// input, and the same packets through the real Etsy `statsd` daemon (npm) compared value by
/// value.
mod statsd;

/// Graphite tags: the `/tags` endpoints in graphite-web's shapes, `seriesByTag`,
/// `groupByTags` and `aliasByTags` through `/render`, and bad tag expressions as 400s.
mod tags;

/// The web UI's server side: embedded static files and their headers, the events API with
/// error-burst events from logs, the dashboards API, `component_for`, token and Basic auth.
mod ui_api;

/// `events(*tags)` in `/render`: posted events and error bursts counted per second.
mod render_events;

/// Fault injection (issue #6 §2): kill -9 at random moments of a mixed load (20 rounds), a full
/// disk (tmpfs), damaged block files, and wall-clock jumps (libfaketime).
mod faults;
