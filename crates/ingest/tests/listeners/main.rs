//! The listeners on real sockets (127.0.0.1, port 0) with a recording appender. Tests wait on
//! conditions with deadlines (points stored, a socket closed), never on sleeps.
//!
//! - `harness`: starting and stopping an `Ingest`, the recording appender, counters, waits.
//! - `log_harness`: the same for the syslog or GELF listeners over the in-memory log store.
//! - `graphite_tcp`: plaintext over TCP: batching, split lines, bad and over-long lines.
//! - `graphite_udp`: plaintext over UDP: datagrams parsed on their own, oversized ones.
//! - `pickle`: pickle frames, refused and truncated pickles, oversized frames.
//! - `syslog`: syslog over UDP and TCP into the in-memory log store: both RFCs, both TCP
//!   framings, over-long lines, garbage, refusal counters.
//! - `gelf`: GELF over UDP (plain, gzip, zlib, chunked) and NUL-framed TCP into the in-memory
//!   log store: reassembly, refused chunks, oversized frames.
//! - `bounds`: the connection cap, idle timeouts, and shutdown storing the batch in flight.

mod bounds;
mod gelf;
mod graphite_tcp;
mod graphite_udp;
mod harness;
mod log_harness;
mod pickle;
mod syslog;
