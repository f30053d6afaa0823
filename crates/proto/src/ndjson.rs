//! NDJSON log lines, the body of `POST /api/v1/logs`: one JSON object per line with
//! `message`/`msg`, `ts`, `component`, `host`, `level`, and any other keys kept as fields in
//! the order sent. Each line stands alone: a bad one is reported by number and the good ones
//! are kept. HTTP, body limits and the reply are the binary's business.

use lookout_core::limits::MAX_NDJSON_LINE_BYTES;
use lookout_core::{LogRecord, Severity};
use serde_json::Value;

use crate::syslog::record::{component_from, push_field, ComponentError, UNKNOWN_COMPONENT};
use crate::syslog::timestamp::parse_rfc3339;

/// One refused line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NdjsonError {
    /// 1-based line number in the body, as the reply names it.
    pub line: usize,
    /// Why it was refused.
    pub kind: NdjsonErrorKind,
}

/// Why an NDJSON line was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NdjsonErrorKind {
    /// Longer than [`MAX_NDJSON_LINE_BYTES`].
    #[error("line longer than the limit")]
    LineTooLong,
    /// Not valid JSON.
    #[error("invalid JSON")]
    BadJson,
    /// Valid JSON, but not an object.
    #[error("line is not a JSON object")]
    NotObject,
    /// Neither `message` nor `msg`.
    #[error("no \"message\" or \"msg\" key")]
    MissingMessage,
    /// `ts` is not RFC 3339 nor a finite number of unix seconds or milliseconds.
    #[error("\"ts\" is not RFC 3339 or unix seconds/milliseconds")]
    BadTimestamp,
    /// `level` is not a severity name nor a number 0-7.
    #[error("\"level\" is not a severity name or 0-7")]
    BadLevel,
    /// `component` has more nodes than the limit.
    #[error("component has too many nodes")]
    ComponentTooDeep,
    /// `component` is not a string, has empty nodes or is too long.
    #[error("invalid component")]
    BadComponent,
}

impl NdjsonErrorKind {
    /// The `reason` label under which listeners count this refusal.
    pub fn reason(&self) -> &'static str {
        match self {
            NdjsonErrorKind::LineTooLong => "line_too_long",
            NdjsonErrorKind::BadJson => "json",
            NdjsonErrorKind::NotObject => "not_object",
            NdjsonErrorKind::MissingMessage => "message",
            NdjsonErrorKind::BadTimestamp => "timestamp",
            NdjsonErrorKind::BadLevel => "level",
            NdjsonErrorKind::ComponentTooDeep => "component_too_deep",
            NdjsonErrorKind::BadComponent => "component",
        }
    }
}

impl From<ComponentError> for NdjsonErrorKind {
    fn from(e: ComponentError) -> Self {
        match e {
            ComponentError::TooManyNodes => NdjsonErrorKind::ComponentTooDeep,
            ComponentError::Invalid => NdjsonErrorKind::BadComponent,
        }
    }
}

/// Parses a body of newline-separated JSON objects (LF or CR LF; blank lines skipped). A
/// record without `ts` gets `now_ns`, without `level` info, without `component` `unknown`.
pub fn parse(body: &[u8], now_ns: i64) -> (Vec<LogRecord>, Vec<NdjsonError>) {
    let mut records = Vec::new();
    let mut errors = Vec::new();
    for (i, line) in body.split(|&c| c == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match parse_line(line, now_ns) {
            Ok(r) => records.push(r),
            Err(kind) => errors.push(NdjsonError { line: i + 1, kind }),
        }
    }
    (records, errors)
}

fn parse_line(line: &[u8], now_ns: i64) -> Result<LogRecord, NdjsonErrorKind> {
    if line.len() > MAX_NDJSON_LINE_BYTES {
        return Err(NdjsonErrorKind::LineTooLong);
    }
    let object = ordered::parse_object(line).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => NdjsonErrorKind::NotObject,
        _ => NdjsonErrorKind::BadJson,
    })?;
    let mut record = LogRecord {
        ts_ns: now_ns,
        component: UNKNOWN_COMPONENT.to_string(),
        host: String::new(),
        severity: Severity::Info,
        facility: None,
        message: Vec::new(),
        fields: Vec::new(),
    };
    let mut has_message = false;
    for (key, value) in object {
        match key.as_str() {
            "message" | "msg" if !has_message => {
                record.message = text_of(value).into_bytes();
                has_message = true;
            }
            "ts" => record.ts_ns = timestamp(&value, now_ns)?,
            "level" => record.severity = level(&value)?,
            "component" => {
                let Value::String(c) = value else {
                    return Err(NdjsonErrorKind::BadComponent);
                };
                record.component = component_from(c.as_bytes())?;
            }
            "host" => record.host = text_of(value),
            _ => push_field(&mut record.fields, key, text_of(value)),
        }
    }
    if !has_message {
        return Err(NdjsonErrorKind::MissingMessage);
    }
    Ok(record)
}

/// A string as itself, anything else as its JSON text.
fn text_of(value: Value) -> String {
    match value {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

/// Unix times below this are seconds, at or above it milliseconds: 1e11 s is the year 5138,
/// 1e11 ms is March 1973, so neither reading is plausible on the other side.
const MILLIS_THRESHOLD: f64 = 1e11;

fn timestamp(value: &Value, now_ns: i64) -> Result<i64, NdjsonErrorKind> {
    let number = match value {
        Value::Null => return Ok(now_ns),
        Value::Number(n) => n.as_f64(),
        Value::String(s) => match parse_rfc3339(s.as_bytes()) {
            Some(ns) => return Ok(ns),
            None => s.trim().parse::<f64>().ok(),
        },
        _ => None,
    };
    number
        .and_then(unix_to_ns)
        .ok_or(NdjsonErrorKind::BadTimestamp)
}

/// Unix seconds or milliseconds (told apart by magnitude) to nanoseconds. Whole and
/// fractional parts are scaled apart, and the fraction is rounded to microseconds: an f64
/// near today's unix seconds resolves about 0.24 us, so finer digits are float noise
/// (`1385053862.3072` would otherwise come out as `...307199955` ns).
pub(crate) fn unix_to_ns(v: f64) -> Option<i64> {
    let per_unit: i64 = if v.abs() >= MILLIS_THRESHOLD {
        1_000_000
    } else {
        1_000_000_000
    };
    // 2^63 as f64; the range check also excludes NaN and infinities.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    let whole = v.trunc();
    if !(-LIMIT..LIMIT).contains(&whole) {
        return None;
    }
    let micros_per_unit = per_unit / 1000;
    let frac = ((v - whole) * micros_per_unit as f64).round() as i64 * 1000;
    (whole as i64).checked_mul(per_unit)?.checked_add(frac)
}

fn level(value: &Value) -> Result<Severity, NdjsonErrorKind> {
    let found = match value {
        Value::String(s) => Severity::parse(s),
        Value::Number(n) => n
            .as_u64()
            .and_then(|n| u8::try_from(n).ok())
            .and_then(Severity::from_number),
        _ => None,
    };
    found.ok_or(NdjsonErrorKind::BadLevel)
}

/// A JSON object read into a list that keeps the sender's key order, which `serde_json`'s
/// default map (sorted) loses; enabling its `preserve_order` feature instead would change map
/// order for every crate in the workspace.
pub(crate) mod ordered {
    use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
    use serde_json::Value;

    struct Ordered(Vec<(String, Value)>);

    impl<'de> Deserialize<'de> for Ordered {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Ordered;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("a JSON object")
                }
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Ordered, A::Error> {
                    let mut out = Vec::new();
                    while let Some(entry) = map.next_entry::<String, Value>()? {
                        out.push(entry);
                    }
                    Ok(Ordered(out))
                }
            }
            d.deserialize_map(V)
        }
    }

    /// The object's entries in input order; a non-object is a `Data` category error.
    pub(crate) fn parse_object(bytes: &[u8]) -> serde_json::Result<Vec<(String, Value)>> {
        serde_json::from_slice::<Ordered>(bytes).map(|o| o.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_795_348_800_000_000_000;

    fn rec(
        ts_ns: i64,
        component: &str,
        host: &str,
        severity: Severity,
        message: &str,
        fields: &[(&str, &str)],
    ) -> LogRecord {
        LogRecord {
            ts_ns,
            component: component.into(),
            host: host.into(),
            severity,
            facility: None,
            message: message.into(),
            fields: fields
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[track_caller]
    fn check(line: &str, expected: Result<LogRecord, NdjsonErrorKind>) {
        let (records, errors) = parse(line.as_bytes(), NOW);
        let got = match (records.as_slice(), errors.as_slice()) {
            ([r], []) => Ok(r.clone()),
            ([], [e]) => Err(e.kind),
            other => panic!("{line:?}: {other:?}"),
        };
        assert_eq!(got, expected, "{line:?}");
    }

    #[test]
    fn lines_become_records() {
        use Severity::*;
        check(
            r#"{"message":"hi"}"#,
            Ok(rec(NOW, "unknown", "", Info, "hi", &[])),
        );
        check(
            r#"{"ts":"2026-11-22T10:00:00.5Z","component":"webapp.backend.git","host":"web1","level":"warn","msg":"slow","req":"abc","ms":1234,"ok":false,"tags":["a"]}"#,
            Ok(rec(
                NOW - 7_199_500_000_000,
                "webapp.backend.git",
                "web1",
                Warning,
                "slow",
                &[
                    ("req", "abc"),
                    ("ms", "1234"),
                    ("ok", "false"),
                    ("tags", "[\"a\"]"),
                ],
            )),
        );
        check(
            r#"{"msg":"s","ts":1795348800}"#,
            Ok(rec(NOW, "unknown", "", Info, "s", &[])),
        );
        check(
            r#"{"msg":"s","ts":1795348800.25}"#,
            Ok(rec(NOW + 250_000_000, "unknown", "", Info, "s", &[])),
        );
        check(
            r#"{"msg":"ms","ts":1795348800123,"level":3}"#,
            Ok(rec(NOW + 123_000_000, "unknown", "", Error, "ms", &[])),
        );
        check(
            r#"{"msg":"str","ts":"1795348800"}"#,
            Ok(rec(NOW, "unknown", "", Info, "str", &[])),
        );
        check(
            r#"{"msg":"old","ts":0}"#,
            Ok(rec(0, "unknown", "", Info, "old", &[])),
        );
        check(
            r#"{"message":"m","msg":"second","component":"my app"}"#,
            Ok(rec(NOW, "my_app", "", Info, "m", &[("msg", "second")])),
        );
    }

    #[test]
    fn bad_lines_are_refused() {
        use NdjsonErrorKind::*;
        check("{", Err(BadJson));
        check("not json", Err(BadJson));
        check("[1,2]", Err(NotObject));
        check("\"text\"", Err(NotObject));
        check(r#"{"level":"info"}"#, Err(MissingMessage));
        check(r#"{"msg":"x","ts":"yesterday"}"#, Err(BadTimestamp));
        check(r#"{"msg":"x","ts":1e300}"#, Err(BadTimestamp));
        check(r#"{"msg":"x","ts":true}"#, Err(BadTimestamp));
        check(r#"{"msg":"x","level":8}"#, Err(BadLevel));
        check(r#"{"msg":"x","level":"loud"}"#, Err(BadLevel));
        check(r#"{"msg":"x","component":"a..b"}"#, Err(BadComponent));
        check(r#"{"msg":"x","component":7}"#, Err(BadComponent));
        let deep = format!(r#"{{"msg":"x","component":"{}"}}"#, ["n"; 500].join("."));
        check(&deep, Err(ComponentTooDeep));
        let long = format!(r#"{{"msg":"{}"}}"#, "x".repeat(MAX_NDJSON_LINE_BYTES));
        check(&long, Err(LineTooLong));
    }

    #[test]
    fn good_lines_are_kept_around_bad_ones_with_line_numbers() {
        let body = b"{\"msg\":\"a\"}\r\n\nnope\n{\"msg\":\"b\"}\n{\"x\":1}\n";
        let (records, errors) = parse(body, NOW);
        let messages: Vec<_> = records
            .iter()
            .map(|r| r.message_lossy().into_owned())
            .collect();
        assert_eq!(messages, ["a", "b"]);
        assert_eq!(
            errors,
            [
                NdjsonError {
                    line: 3,
                    kind: NdjsonErrorKind::BadJson
                },
                NdjsonError {
                    line: 5,
                    kind: NdjsonErrorKind::MissingMessage
                },
            ]
        );
    }
}
