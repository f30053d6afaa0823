//! The log API: `GET /api/v1/logs` (a component subtree and a time range, filtered, paged by an
//! opaque cursor), `/api/v1/logs/components` (the component tree with counts, like
//! `/metrics/find`), `/api/v1/logs/histogram` (counts per time bucket and severity), and
//! `/api/v1/logs/tail` (Server-Sent Events). Log text only ever leaves here JSON-escaped.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use lookout_core::{Glob, LogOrder, LogQuery, LogReader, LogRecord, Severity};
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use serde_json::{json, Value};

use super::error::ApiError;
use super::params::Params;
use super::render::time_range_with_default;
use super::AppState;

/// Default and largest page sizes: a page is meant for a screen or a script, and a cursor
/// fetches the next one. 100k records is ~30 MB of JSON.
const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 100_000;
/// Largest compiled size of a `regex` filter (the `regex` crate's own default is 10 MiB); a
/// regex is linear-time in the text, this bounds its automaton.
const MAX_REGEX_BYTES: usize = 1 << 20;
/// Most buckets a histogram returns; `step` is raised to stay under it.
const MAX_BUCKETS: i64 = 10_000;
/// Live tails open at once. Each holds a thread that waits on the store's feed; 64 war-room
/// screens is plenty for a small team.
pub const MAX_TAILS: usize = 64;
/// Records a tail may fall behind before it is dropped (the store never waits for it).
const TAIL_QUEUE: usize = 10_000;
/// Keep-alive comment interval on an idle tail, below common proxy idle timeouts (60 s).
const TAIL_KEEPALIVE: Duration = Duration::from_secs(15);

fn component_glob(params: &Params) -> Result<Glob, ApiError> {
    Ok(Glob::new(
        params
            .get("component")
            .filter(|c| !c.is_empty())
            .unwrap_or("*"),
    )?)
}

fn severity_param(params: &Params) -> Result<Option<Severity>, ApiError> {
    match params.get("level").filter(|l| !l.is_empty()) {
        None => Ok(None),
        Some(l) => Severity::parse(l).map(Some).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "level {l:?} is not a syslog severity (0-7 or emerg, alert, crit, err, warning, notice, info, debug)"
            ))
        }),
    }
}

fn regex_param(params: &Params) -> Result<Option<regex::Regex>, ApiError> {
    match params.get("regex").filter(|r| !r.is_empty()) {
        None => Ok(None),
        Some(r) => regex::RegexBuilder::new(r)
            .size_limit(MAX_REGEX_BYTES)
            .build()
            .map(Some)
            .map_err(|e| ApiError::BadRequest(format!("regex {r:?}: {e}"))),
    }
}

/// RFC 3339 in UTC with nanoseconds, e.g. `2026-11-22T10:00:00.123456789Z`.
pub fn rfc3339_ns(ts_ns: i64) -> String {
    let secs = ts_ns.div_euclid(1_000_000_000);
    let nanos = ts_ns.rem_euclid(1_000_000_000);
    let day = super::render::format_utc(secs).replacen(' ', "T", 1);
    format!("{day}.{nanos:09}Z")
}

/// One record as the API shows it, serialised straight from the record: a page of thousands
/// of records is written without building a JSON tree first, which cost more than the scan.
pub struct RecordJson<'a>(pub &'a LogRecord);

impl Serialize for RecordJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = self.0;
        let mut m = s.serialize_map(Some(9))?;
        m.serialize_entry("ts", &rfc3339_ns(r.ts_ns))?;
        m.serialize_entry("ts_ns", &r.ts_ns)?;
        m.serialize_entry("component", &r.component)?;
        m.serialize_entry("host", &r.host)?;
        m.serialize_entry("level", r.severity.as_str())?;
        m.serialize_entry("severity", &r.severity.number())?;
        m.serialize_entry("facility", &r.facility)?;
        m.serialize_entry("message", &r.message_lossy())?;
        m.serialize_entry("fields", &FieldsJson(&r.fields))?;
        m.end()
    }
}

/// A record's fields as one JSON object.
struct FieldsJson<'a>(&'a [(String, String)]);

impl Serialize for FieldsJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// The reply of `GET /api/v1/logs`.
#[derive(Serialize)]
struct PageJson<'a> {
    logs: Vec<RecordJson<'a>>,
    next_cursor: Option<String>,
    stats: Value,
}

pub async fn query(
    State(state): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::from_request(q.as_deref(), &HeaderMap::new(), &[]);
    let (from, until) = time_range_with_default(&params, lookout_ingest::now_unix(), "-1h")?;
    // Larger limits are clamped, not refused: the page says where to go on (`next_cursor`).
    let limit = match params.get("limit").filter(|l| !l.is_empty()) {
        None => DEFAULT_LIMIT,
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|n| *n >= 1)
            .map(|n| n.min(MAX_LIMIT))
            .ok_or_else(|| ApiError::BadRequest(format!("limit {l:?}: want a positive number")))?,
    };
    let order = match params.get("order").unwrap_or("asc") {
        "asc" => LogOrder::Asc,
        "desc" => LogOrder::Desc,
        o => {
            return Err(ApiError::BadRequest(format!(
                "order {o:?}: want asc or desc"
            )))
        }
    };
    let host = match params.get("host").filter(|h| !h.is_empty()) {
        Some(h) => Some(Glob::new(h)?),
        None => None,
    };
    let fields: Vec<(String, String)> = params
        .pairs()
        .filter_map(|(k, v)| {
            k.strip_prefix("field.")
                .map(|k| (k.to_string(), v.to_string()))
        })
        .collect();
    let query = LogQuery {
        component: component_glob(&params)?,
        // As in /render, `until` is inclusive: its whole last second is part of the range.
        from_ns: from.saturating_mul(1_000_000_000),
        until_ns: until.saturating_add(1).saturating_mul(1_000_000_000),
        max_severity: severity_param(&params)?,
        host,
        contains: params
            .get("contains")
            .filter(|c| !c.is_empty())
            .map(str::to_string),
        regex: regex_param(&params)?,
        fields,
        limit,
        order,
        cursor: params
            .get("cursor")
            .filter(|c| !c.is_empty())
            .map(str::to_string),
    };
    let store = state.logs.clone();
    let started = Instant::now();
    let page = tokio::task::spawn_blocking(move || store.query(&query)).await??;
    let took_ms = started.elapsed().as_secs_f64() * 1000.0;
    Ok(axum::Json(PageJson {
        logs: page.records.iter().map(RecordJson).collect(),
        next_cursor: page.next_cursor.clone(),
        stats: json!({
            "blocks_read": page.stats.blocks_read,
            "bytes_scanned": page.stats.bytes_scanned,
            "took_ms": (took_ms * 1000.0).round() / 1000.0,
        }),
    })
    .into_response())
}

pub async fn components(
    State(state): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::from_request(q.as_deref(), &HeaderMap::new(), &[]);
    let glob = Glob::new(params.get("query").filter(|q| !q.is_empty()).unwrap_or("*"))?;
    let store = state.logs.clone();
    let nodes = tokio::task::spawn_blocking(move || store.components(&glob)).await??;
    let out: Vec<Value> = nodes
        .iter()
        .map(|n| {
            json!({
                "id": n.path,
                "text": n.path.rsplit('.').next().unwrap_or(&n.path),
                "count": n.count,
                "total": n.count + n.descendants,
                "expandable": u8::from(n.has_children),
                "leaf": u8::from(!n.has_children),
            })
        })
        .collect();
    Ok(axum::Json(Value::Array(out)).into_response())
}

pub async fn histogram(
    State(state): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::from_request(q.as_deref(), &HeaderMap::new(), &[]);
    let (from, until) = time_range_with_default(&params, lookout_ingest::now_unix(), "-1h")?;
    let span = until - from;
    let mut step = match params.get("step").filter(|s| !s.is_empty()) {
        Some(s) => crate::config::parse_duration(s)
            .map_err(ApiError::BadRequest)?
            .as_secs() as i64,
        // About 100 bars, in whole seconds.
        None => (span / 100).max(1),
    };
    if step < 1 {
        return Err(ApiError::BadRequest("step must be at least 1s".into()));
    }
    if span / step > MAX_BUCKETS {
        // Round up so the bucket count stays within the cap.
        step = (span + MAX_BUCKETS - 1) / MAX_BUCKETS;
    }
    let glob = component_glob(&params)?;
    let store = state.logs.clone();
    let buckets = tokio::task::spawn_blocking(move || {
        store.histogram(&glob, from * 1_000_000_000, until * 1_000_000_000, step)
    })
    .await??;
    let by_start: BTreeMap<i64, [u64; 8]> =
        buckets.into_iter().map(|b| (b.start, b.counts)).collect();
    // Every bucket of the range, zeros included, so a chart needs no gap filling.
    let mut out = Vec::new();
    let mut start = from;
    while start < until {
        let counts = by_start.get(&start).copied().unwrap_or([0; 8]);
        let named: serde_json::Map<String, Value> = Severity::ALL
            .iter()
            .map(|s| (s.as_str().to_string(), json!(counts[s.number() as usize])))
            .collect();
        out.push(json!({"ts": start, "total": counts.iter().sum::<u64>(), "counts": named}));
        start += step;
    }
    Ok(axum::Json(json!({ "step": step, "buckets": out })).into_response())
}

/// `GET /api/v1/logs/tail`: new records matching component / level / contains, as SSE. A
/// thread bridges the store's feed (which never waits) to the client's bounded channel; when
/// the client reads too slowly the store drops the feed, and the client gets a final
/// `lagged` event before the stream ends.
pub async fn tail(
    State(state): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::from_request(q.as_deref(), &HeaderMap::new(), &[]);
    let component = component_glob(&params)?;
    let max_severity = severity_param(&params)?;
    let contains = params
        .get("contains")
        .filter(|c| !c.is_empty())
        .map(|c| c.as_bytes().to_vec());
    let permit =
        state.tails.clone().try_acquire_owned().map_err(|_| {
            ApiError::Unavailable(format!("{MAX_TAILS} live tails are open already"))
        })?;
    let mut sub = state.logs.subscribe(TAIL_QUEUE);
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(256);
    std::thread::Builder::new()
        .name("lookout-tail".into())
        .spawn(move || {
            let _permit = permit;
            let mut last_sent = Instant::now();
            loop {
                if tx.is_closed() {
                    return;
                }
                match sub.next(Duration::from_secs(1)) {
                    Ok(Some(r)) => {
                        let wanted = component.matches_prefix_of(&r.component)
                            && max_severity.is_none_or(|m| r.severity <= m)
                            && contains
                                .as_ref()
                                .is_none_or(|c| memchr::memmem::find(&r.message, c).is_some());
                        if wanted {
                            let data = serde_json::to_string(&RecordJson(&r)).unwrap_or_default();
                            let event = format!("event: log\ndata: {data}\n\n");
                            if tx.blocking_send(Bytes::from(event)).is_err() {
                                return;
                            }
                            last_sent = Instant::now();
                        }
                    }
                    Ok(None) => {
                        if last_sent.elapsed() >= TAIL_KEEPALIVE {
                            if tx.blocking_send(Bytes::from_static(b": keepalive\n\n")).is_err() {
                                return;
                            }
                            last_sent = Instant::now();
                        }
                    }
                    Err(lagged) => {
                        let event = format!(
                            "event: lagged\ndata: {}\n\n",
                            json!({"missed": lagged.missed, "reason": "the client read too slowly; reconnect to resume"})
                        );
                        let _ = tx.blocking_send(Bytes::from(event));
                        return;
                    }
                }
            }
        })
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("starting a tail thread: {e}")))?;
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<Bytes, Infallible>(b), rx))
    });
    let mut r = (StatusCode::OK, Body::from_stream(stream)).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(r)
}

/// Shared between handlers: the count of open tails.
pub fn tail_slots() -> Arc<tokio::sync::Semaphore> {
    Arc::new(tokio::sync::Semaphore::new(MAX_TAILS))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339_utc_with_nanoseconds() {
        assert_eq!(rfc3339_ns(0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(
            rfc3339_ns(1_311_836_008_123_456_789),
            "2011-07-28T06:53:28.123456789Z"
        );
        assert_eq!(rfc3339_ns(-1), "1969-12-31T23:59:59.999999999Z");
    }

    #[test]
    fn records_show_escaped_lossy_text() {
        let r = LogRecord {
            ts_ns: 1_000_000_000,
            component: "webapp.backend.git".into(),
            host: "web01".into(),
            severity: Severity::Error,
            facility: Some(1),
            message: b"<script>\x1b[31m \xff".to_vec(),
            fields: vec![("pid".into(), "42".into())],
        };
        let text = serde_json::to_string(&RecordJson(&r)).expect("serialises");
        assert!(text.contains("\"level\":\"err\""), "{text}");
        assert!(
            text.contains("\\u001b[31m"),
            "control characters escaped: {text}"
        );
        assert!(
            text.contains('\u{fffd}'),
            "invalid UTF-8 shown lossily: {text}"
        );
        assert!(text.contains("\"pid\":\"42\""), "{text}");
    }
}
