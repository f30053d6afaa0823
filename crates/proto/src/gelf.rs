//! GELF 1.1: one payload (a UDP datagram after reassembly, a TCP frame without its NUL, an
//! HTTP body) to a [`LogRecord`], with gzip and zlib detected by magic bytes and decompressed
//! under a hard bound; and the [`Reassembler`] for chunked UDP, pure and memory-bounded.
//! Sockets, NUL framing and the clock are the listener's.

use std::collections::{HashMap, VecDeque};

use lookout_core::limits::{
    GELF_REASSEMBLY_TIMEOUT_SECS, MAX_GELF_CHUNKS, MAX_GELF_DECOMPRESSED_BYTES,
    MAX_GELF_PENDING_BYTES,
};
use lookout_core::{LogRecord, Severity};
use serde_json::Value;

use crate::ndjson::{ordered, unix_to_ns};
use crate::syslog::record::{component_from, push_field, ComponentError, UNKNOWN_COMPONENT};

/// Why a GELF payload was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GelfError {
    /// A chunk (magic `1e 0f`) given where a whole payload was expected.
    #[error("chunked payload: reassemble it first")]
    Chunked,
    /// gzip or zlib data that does not decompress.
    #[error("corrupt gzip or zlib data")]
    BadCompression,
    /// Decompresses to more than [`MAX_GELF_DECOMPRESSED_BYTES`] (a gzip bomb stops there).
    #[error("decompressed payload exceeds the limit")]
    TooLarge,
    /// Not valid JSON.
    #[error("invalid JSON")]
    BadJson,
    /// Valid JSON, but not an object.
    #[error("payload is not a JSON object")]
    NotObject,
    /// Neither `short_message` nor `message` is a string.
    #[error("no short_message")]
    MissingMessage,
    /// `host` is present but not a string (Graylog rejects these too).
    #[error("host is not a string")]
    BadHost,
    /// `level` is not a number 0-7.
    #[error("level is not 0-7")]
    BadLevel,
    /// `timestamp` is not a finite number of seconds.
    #[error("timestamp is not a number of seconds")]
    BadTimestamp,
    /// The component (`_component` or `facility`) has more nodes than the limit.
    #[error("component has too many nodes")]
    ComponentTooDeep,
    /// The component has empty nodes or is too long.
    #[error("invalid component")]
    BadComponent,
}

impl GelfError {
    /// The `reason` label under which listeners count this refusal.
    pub fn reason(&self) -> &'static str {
        match self {
            GelfError::Chunked => "chunked",
            GelfError::BadCompression => "compression",
            GelfError::TooLarge => "too_large",
            GelfError::BadJson => "json",
            GelfError::NotObject => "not_object",
            GelfError::MissingMessage => "message",
            GelfError::BadHost => "host",
            GelfError::BadLevel => "level",
            GelfError::BadTimestamp => "timestamp",
            GelfError::ComponentTooDeep => "component_too_deep",
            GelfError::BadComponent => "component",
        }
    }
}

impl From<ComponentError> for GelfError {
    fn from(e: ComponentError) -> Self {
        match e {
            ComponentError::TooManyNodes => GelfError::ComponentTooDeep,
            ComponentError::Invalid => GelfError::BadComponent,
        }
    }
}

/// The two bytes that start every chunk of a chunked GELF message.
pub const CHUNK_MAGIC: [u8; 2] = [0x1e, 0x0f];

/// Level when a sender gives none: the GELF 1.1 spec says 1 (ALERT).
const DEFAULT_LEVEL: Severity = Severity::Alert;

/// Parses a GELF payload, decompressing it first if it starts with gzip's `1f 8b` or a zlib
/// header (`78 xx` with a valid check, as Graylog detects it). A missing or non-positive
/// `timestamp` becomes `now_ns`; `full_message` and every `_field` (underscore stripped,
/// `_id` dropped, nulls skipped) are kept as fields; component is `_component`, else
/// `facility`, else `unknown`.
pub fn parse_payload(bytes: &[u8], now_ns: i64) -> Result<LogRecord, GelfError> {
    let json = match bytes {
        [0x1e, 0x0f, ..] => return Err(GelfError::Chunked),
        [0x1f, 0x8b, ..] => {
            crate::inflate::gunzip(bytes, MAX_GELF_DECOMPRESSED_BYTES).map_err(GelfError::from)?
        }
        [0x78, b, ..] if (0x78u16 * 256 + u16::from(*b)) % 31 == 0 => {
            crate::inflate::unzlib(bytes, MAX_GELF_DECOMPRESSED_BYTES).map_err(GelfError::from)?
        }
        _ => bytes.to_vec(),
    };
    let object = ordered::parse_object(&json).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => GelfError::NotObject,
        _ => GelfError::BadJson,
    })?;
    record_from(object, now_ns)
}

impl From<crate::inflate::InflateError> for GelfError {
    fn from(e: crate::inflate::InflateError) -> GelfError {
        match e {
            crate::inflate::InflateError::Corrupt => GelfError::BadCompression,
            crate::inflate::InflateError::TooLarge => GelfError::TooLarge,
        }
    }
}

fn record_from(object: Vec<(String, Value)>, now_ns: i64) -> Result<LogRecord, GelfError> {
    let mut record = LogRecord {
        ts_ns: now_ns,
        component: UNKNOWN_COMPONENT.to_string(),
        host: String::new(),
        severity: DEFAULT_LEVEL,
        facility: None,
        message: Vec::new(),
        fields: Vec::new(),
    };
    let mut short = None;
    let mut message_key = None;
    let mut component = None;
    let mut facility = None;
    for (key, value) in object {
        match key.as_str() {
            "version" => {}
            "host" => match value {
                Value::String(h) => record.host = h,
                Value::Null => {}
                _ => return Err(GelfError::BadHost),
            },
            "short_message" => short = Some(value),
            "message" => message_key = Some(value),
            "timestamp" => record.ts_ns = timestamp(&value, now_ns)?,
            "level" => record.severity = level(&value)?,
            "facility" => match value {
                Value::String(f) => facility = Some(f),
                Value::Number(n) => {
                    record.facility = n
                        .as_u64()
                        .and_then(|n| u8::try_from(n).ok())
                        .filter(|&n| n <= 23);
                }
                _ => {}
            },
            "_id" => {}
            "_component" => component = Some(value),
            _ => {
                if value.is_null() {
                    continue;
                }
                let name = key.strip_prefix('_').unwrap_or(&key).to_string();
                push_field(&mut record.fields, name, text_of(value));
            }
        }
    }
    let message = match (short, message_key) {
        (Some(Value::String(m)), _) | (None, Some(Value::String(m))) => m,
        _ => return Err(GelfError::MissingMessage),
    };
    record.message = message.into_bytes();
    let name = match component {
        Some(Value::String(c)) => Some(c),
        Some(Value::Null) | None => facility,
        Some(other) => Some(other.to_string()),
    };
    if let Some(name) = name {
        record.component = component_from(name.as_bytes())?;
    }
    Ok(record)
}

fn text_of(value: Value) -> String {
    match value {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

/// Seconds with a fraction; a numeric string is accepted as Graylog does; missing, null or
/// non-positive means "receive time".
fn timestamp(value: &Value, now_ns: i64) -> Result<i64, GelfError> {
    let secs = match value {
        Value::Null => return Ok(now_ns),
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
    .filter(|s| s.is_finite())
    .ok_or(GelfError::BadTimestamp)?;
    if secs <= 0.0 {
        return Ok(now_ns);
    }
    unix_to_ns(secs).ok_or(GelfError::BadTimestamp)
}

fn level(value: &Value) -> Result<Severity, GelfError> {
    let n = match value {
        Value::Null => return Ok(DEFAULT_LEVEL),
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse::<u64>().ok(),
        _ => None,
    };
    n.and_then(|n| u8::try_from(n).ok())
        .and_then(Severity::from_number)
        .ok_or(GelfError::BadLevel)
}

/// Length of a chunk header: magic (2), message id (8), sequence number (1), count (1).
const CHUNK_HEADER_BYTES: usize = 12;

/// Nanoseconds a message may wait for its remaining chunks.
const REASSEMBLY_TIMEOUT_NS: i64 = GELF_REASSEMBLY_TIMEOUT_SECS as i64 * 1_000_000_000;

/// Why a chunk was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GelfChunkError {
    /// Shorter than the 12-byte header, or without the `1e 0f` magic.
    #[error("not a GELF chunk")]
    NotAChunk,
    /// A sequence count of 0 or above [`MAX_GELF_CHUNKS`].
    #[error("sequence count outside 1..=128")]
    BadCount,
    /// A sequence number not below the count.
    #[error("sequence number not below the count")]
    BadSequence,
    /// The count differs from the one earlier chunks of the same message gave.
    #[error("sequence count differs between chunks of one message")]
    CountMismatch,
}

impl GelfChunkError {
    /// The `reason` label under which listeners count this refusal.
    pub fn reason(&self) -> &'static str {
        match self {
            GelfChunkError::NotAChunk => "not_a_chunk",
            GelfChunkError::BadCount => "chunk_count",
            GelfChunkError::BadSequence => "chunk_sequence",
            GelfChunkError::CountMismatch => "chunk_count_mismatch",
        }
    }
}

/// A message whose chunks are arriving.
#[derive(Debug)]
struct Pending {
    /// When its first chunk arrived; the 5 s timeout runs from here.
    first_ns: i64,
    /// Which entry of `Reassembler::order` is this message's, so a stale entry left by an
    /// earlier message with the same id is not mistaken for it.
    generation: u64,
    /// One slot per sequence number, filled as chunks arrive.
    chunks: Vec<Option<Vec<u8>>>,
    /// Slots still empty.
    missing: usize,
    /// Payload bytes held, counted against [`MAX_GELF_PENDING_BYTES`].
    bytes: usize,
}

/// Reassembles chunked GELF UDP messages. Pure: the caller passes the time, and calls
/// [`Reassembler::expire`] periodically. Memory is bounded by [`MAX_GELF_PENDING_BYTES`]:
/// past it the oldest incomplete messages are dropped and counted in
/// [`Reassembler::evicted`].
#[derive(Debug, Default)]
pub struct Reassembler {
    pending: HashMap<[u8; 8], Pending>,
    /// Message ids oldest first, with the generation they had when queued; entries whose
    /// message has completed or expired are skipped when met.
    order: VecDeque<([u8; 8], u64)>,
    next_generation: u64,
    pending_bytes: usize,
    evicted: u64,
}

impl Reassembler {
    /// An empty reassembler.
    pub fn new() -> Reassembler {
        Reassembler::default()
    }

    /// Adds one chunk (a whole datagram starting with [`CHUNK_MAGIC`]). Returns the whole
    /// payload (still compressed if it was) once every chunk of its message has arrived. A
    /// duplicate chunk is ignored.
    pub fn push(&mut self, chunk: &[u8], now_ns: i64) -> Result<Option<Vec<u8>>, GelfChunkError> {
        if chunk.len() < CHUNK_HEADER_BYTES || chunk[..2] != CHUNK_MAGIC {
            return Err(GelfChunkError::NotAChunk);
        }
        let mut id = [0u8; 8];
        id.copy_from_slice(&chunk[2..10]);
        let (seq, count) = (usize::from(chunk[10]), usize::from(chunk[11]));
        if count == 0 || count > MAX_GELF_CHUNKS {
            return Err(GelfChunkError::BadCount);
        }
        if seq >= count {
            return Err(GelfChunkError::BadSequence);
        }
        let data = &chunk[CHUNK_HEADER_BYTES..];
        if count == 1 {
            return Ok(Some(data.to_vec()));
        }
        let generation = self.next_generation;
        let entry = self.pending.entry(id).or_insert_with(|| Pending {
            first_ns: now_ns,
            generation,
            chunks: vec![None; count],
            missing: count,
            bytes: 0,
        });
        if entry.generation == generation {
            self.next_generation += 1;
            self.order.push_back((id, generation));
        }
        if entry.chunks.len() != count {
            return Err(GelfChunkError::CountMismatch);
        }
        let slot = &mut entry.chunks[seq];
        if slot.is_some() {
            return Ok(None);
        }
        *slot = Some(data.to_vec());
        entry.missing -= 1;
        entry.bytes += data.len();
        self.pending_bytes += data.len();
        if entry.missing == 0 {
            let done = self.remove(&id);
            return Ok(done.map(|p| p.chunks.into_iter().flatten().flatten().collect()));
        }
        while self.pending_bytes > MAX_GELF_PENDING_BYTES {
            let Some((old, generation)) = self.order.pop_front() else {
                break;
            };
            if self
                .pending
                .get(&old)
                .is_some_and(|p| p.generation == generation)
            {
                self.remove(&old);
                self.evicted += 1;
            }
        }
        Ok(None)
    }

    /// Drops messages whose first chunk arrived more than 5 s before `now_ns`; returns how
    /// many, for the listener to count.
    pub fn expire(&mut self, now_ns: i64) -> usize {
        let mut dropped = 0;
        while let Some(&(id, generation)) = self.order.front() {
            match self.pending.get(&id) {
                Some(p) if p.generation == generation => {
                    if now_ns.saturating_sub(p.first_ns) <= REASSEMBLY_TIMEOUT_NS {
                        break;
                    }
                    self.remove(&id);
                    dropped += 1;
                }
                _ => {}
            }
            self.order.pop_front();
        }
        dropped
    }

    /// Incomplete messages dropped so far to stay under [`MAX_GELF_PENDING_BYTES`].
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    /// Incomplete messages held.
    pub fn pending_messages(&self) -> usize {
        self.pending.len()
    }

    /// Payload bytes of incomplete messages held.
    pub fn pending_bytes(&self) -> usize {
        self.pending_bytes
    }

    fn remove(&mut self, id: &[u8; 8]) -> Option<Pending> {
        let p = self.pending.remove(id)?;
        self.pending_bytes -= p.bytes;
        Some(p)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    const NOW: i64 = 1_795_348_800_000_000_000;

    const SPEC_EXAMPLE: &str = r#"{"version":"1.1","host":"example.org","short_message":"A short message","full_message":"Backtrace here\n\nmore stuff","timestamp":1385053862.3072,"level":1,"_user_id":9001,"_some_info":"foo","_some_env_var":"bar"}"#;

    fn fields(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[track_caller]
    fn check(payload: &[u8], expected: Result<LogRecord, GelfError>) {
        assert_eq!(
            parse_payload(payload, NOW),
            expected,
            "{}",
            crate::excerpt(payload)
        );
    }

    fn rec(component: &str, host: &str, severity: Severity, message: &str) -> LogRecord {
        LogRecord {
            ts_ns: NOW,
            component: component.into(),
            host: host.into(),
            severity,
            facility: None,
            message: message.into(),
            fields: Vec::new(),
        }
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn payloads_become_records() {
        let spec = LogRecord {
            ts_ns: 1_385_053_862_307_200_000,
            component: "unknown".into(),
            host: "example.org".into(),
            severity: Severity::Alert,
            facility: None,
            message: b"A short message".to_vec(),
            fields: fields(&[
                ("full_message", "Backtrace here\n\nmore stuff"),
                ("user_id", "9001"),
                ("some_info", "foo"),
                ("some_env_var", "bar"),
            ]),
        };
        check(SPEC_EXAMPLE.as_bytes(), Ok(spec.clone()));
        check(&gzip(SPEC_EXAMPLE.as_bytes()), Ok(spec.clone()));
        check(&zlib(SPEC_EXAMPLE.as_bytes()), Ok(spec));
        let mut netcat = rec(
            "unknown",
            "example.org",
            Severity::Notice,
            "A short message",
        );
        netcat.fields = fields(&[("some_info", "foo")]);
        check(
            br#"{"version":"1.1","host":"example.org","short_message":"A short message","level":5,"_some_info":"foo"}"#,
            Ok(netcat),
        );
        check(
            br#"{"short_message":"m","_component":"web.api","facility":"ignored"}"#,
            Ok(rec("web.api", "", Severity::Alert, "m")),
        );
        check(
            br#"{"short_message":"m","facility":"my app","_id":"x","_n":null,"_o":{"a":1}}"#,
            Ok(LogRecord {
                fields: fields(&[("o", "{\"a\":1}")]),
                ..rec("my_app", "", Severity::Alert, "m")
            }),
        );
        check(
            br#"{"message":"fallback","timestamp":0,"level":"3","facility":4}"#,
            Ok(LogRecord {
                facility: Some(4),
                ..rec("unknown", "", Severity::Error, "fallback")
            }),
        );
        check(
            br#"{"short_message":"s","timestamp":"1795348801.5"}"#,
            Ok(LogRecord {
                ts_ns: NOW + 1_500_000_000,
                ..rec("unknown", "", Severity::Alert, "s")
            }),
        );
    }

    #[test]
    fn bad_payloads_are_refused() {
        use GelfError::*;
        check(b"", Err(BadJson));
        check(b"\x00\x01garbage", Err(BadJson));
        check(b"[1]", Err(NotObject));
        check(
            b"\x1e\x0f\x01\x02\x03\x04\x05\x06\x07\x08\x00\x02{",
            Err(Chunked),
        );
        check(b"\x1f\x8b\x08\x00garbage", Err(BadCompression));
        check(b"\x78\x9cgarbage", Err(BadCompression));
        check(br#"{"host":"h"}"#, Err(MissingMessage));
        check(br#"{"short_message":5}"#, Err(MissingMessage));
        check(br#"{"short_message":"m","host":5}"#, Err(BadHost));
        check(br#"{"short_message":"m","level":8}"#, Err(BadLevel));
        check(br#"{"short_message":"m","level":"warn"}"#, Err(BadLevel));
        check(
            br#"{"short_message":"m","timestamp":"soon"}"#,
            Err(BadTimestamp),
        );
        check(
            br#"{"short_message":"m","_component":"a..b"}"#,
            Err(BadComponent),
        );
        let deep = format!(
            r#"{{"short_message":"m","_component":"{}"}}"#,
            ["n"; 500].join(".")
        );
        check(deep.as_bytes(), Err(ComponentTooDeep));
    }

    #[test]
    fn gzip_bomb_stops_at_the_limit() {
        let bomb = gzip(&vec![b' '; MAX_GELF_DECOMPRESSED_BYTES * 4]);
        assert!(
            bomb.len() < 64 * 1024,
            "a real bomb is small: {}",
            bomb.len()
        );
        check(&bomb, Err(GelfError::TooLarge));
        check(
            &zlib(&vec![b' '; MAX_GELF_DECOMPRESSED_BYTES + 1]),
            Err(GelfError::TooLarge),
        );
    }

    fn chunk(id: u8, seq: u8, count: u8, data: &[u8]) -> Vec<u8> {
        let mut c = vec![0x1e, 0x0f, id, 0, 0, 0, 0, 0, 0, 0, seq, count];
        c.extend_from_slice(data);
        c
    }

    #[test]
    fn chunks_reassemble_in_any_order_and_duplicates_are_ignored() {
        let payload = gzip(SPEC_EXAMPLE.as_bytes());
        let parts: Vec<&[u8]> = payload.chunks(20).collect();
        let count = parts.len() as u8;
        let mut r = Reassembler::new();
        let mut order: Vec<u8> = (0..count).rev().collect();
        order.insert(1, count - 1);
        let mut done = None;
        for seq in order {
            let got = r
                .push(&chunk(7, seq, count, parts[seq as usize]), NOW)
                .unwrap();
            assert!(done.is_none() || got.is_none());
            done = done.or(got);
        }
        let whole = done.expect("complete");
        assert_eq!(whole, payload);
        assert_eq!(parse_payload(&whole, NOW).unwrap().host, "example.org");
        assert_eq!((r.pending_messages(), r.pending_bytes()), (0, 0));
        assert_eq!(
            r.push(&chunk(9, 0, 1, b"{}"), NOW),
            Ok(Some(b"{}".to_vec()))
        );
    }

    #[track_caller]
    fn check_chunk(input: &[u8], expected: Result<Option<Vec<u8>>, GelfChunkError>) {
        assert_eq!(
            Reassembler::new().push(input, NOW),
            expected,
            "{}",
            crate::excerpt(input)
        );
    }

    #[test]
    fn bad_chunks_are_refused() {
        use GelfChunkError::*;
        check_chunk(&chunk(1, 0, 129, b"x"), Err(BadCount));
        check_chunk(&chunk(1, 0, 0, b"x"), Err(BadCount));
        check_chunk(&chunk(1, 2, 2, b"x"), Err(BadSequence));
        check_chunk(b"\x1e\x0f\x01", Err(NotAChunk));
        check_chunk(b"{\"short_message\":\"m\"}", Err(NotAChunk));
        check_chunk(&chunk(1, 0, 128, b"x"), Ok(None));
        let mut r = Reassembler::new();
        r.push(&chunk(1, 0, 3, b"x"), NOW).unwrap();
        assert_eq!(r.push(&chunk(1, 1, 4, b"x"), NOW), Err(CountMismatch));
    }

    #[test]
    fn incomplete_messages_expire_after_five_seconds() {
        let mut r = Reassembler::new();
        r.push(&chunk(1, 0, 2, b"a"), NOW).unwrap();
        r.push(&chunk(2, 0, 2, b"b"), NOW + 2_000_000_000).unwrap();
        assert_eq!(r.expire(NOW + 5_000_000_000), 0);
        assert_eq!(r.expire(NOW + 5_000_000_001), 1);
        assert_eq!(r.pending_messages(), 1);
        assert_eq!(
            r.push(&chunk(2, 1, 2, b"c"), NOW + 6_000_000_000),
            Ok(Some(b"bc".to_vec()))
        );
        // A late chunk of the expired message starts a new one rather than completing it.
        assert_eq!(r.push(&chunk(1, 1, 2, b"z"), NOW + 6_000_000_000), Ok(None));
        assert_eq!(r.expire(NOW + 20_000_000_000), 1);
        assert_eq!((r.pending_messages(), r.pending_bytes()), (0, 0));
    }

    #[test]
    fn pending_bytes_are_bounded_by_dropping_the_oldest() {
        let mut r = Reassembler::new();
        let big = vec![b'x'; 60_000];
        let per_message = big.len();
        let fits = MAX_GELF_PENDING_BYTES / per_message;
        for i in 0..fits as u64 + 10 {
            let mut c = chunk(0, 0, 2, &big);
            c[2..10].copy_from_slice(&i.to_be_bytes());
            assert_eq!(r.push(&c, NOW), Ok(None));
            assert!(r.pending_bytes() <= MAX_GELF_PENDING_BYTES);
        }
        assert_eq!(r.evicted(), 10);
        assert_eq!(r.pending_messages(), fits);
        // The oldest (id 0) is gone; its second chunk starts a fresh message.
        let mut c = chunk(0, 1, 2, b"y");
        c[2..10].copy_from_slice(&0u64.to_be_bytes());
        assert_eq!(r.push(&c, NOW), Ok(None));
    }
}
