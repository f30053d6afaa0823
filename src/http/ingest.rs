//! HTTP ingestion, acknowledged only once durable: `POST /api/v1/metrics` (Graphite
//! plaintext), `POST /api/v1/logs` (NDJSON) and `POST /gelf` (one GELF message).
//! The reply says what was kept and what was refused, line by line; good lines are stored even
//! when others are refused.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::Json;
use lookout_core::{Durability, MetricAppender};
use serde_json::{json, Value};

use super::error::ApiError;
use super::AppState;

/// Refused lines listed in a reply at most; the count of all of them is always given.
const MAX_REJECTS_LISTED: usize = 100;

pub async fn post_metrics(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let now = lookout_ingest::now_unix();
    let mut points = Vec::new();
    let mut errors = Vec::new();
    if body.last().is_some_and(|b| *b != b'\n') {
        let mut owned = body.to_vec();
        owned.push(b'\n');
        lookout_proto::graphite::parse(&owned, now, &mut points, &mut errors);
    } else {
        lookout_proto::graphite::parse(&body, now, &mut points, &mut errors);
    }
    state.http_ingest.record(&points, &errors, &body, peer.ip());

    let accepted = points.len();
    let store = state.store.clone();
    tokio::task::spawn_blocking(move || store.append(&points, Durability::Synced)).await??;

    let rejected: Vec<Value> = errors
        .iter()
        .filter(|e| !e.is_silent_drop())
        .take(MAX_REJECTS_LISTED)
        .map(|e| json!({"line": e.line, "error": e.kind.to_string()}))
        .collect();
    let rejected_total = errors.iter().filter(|e| !e.is_silent_drop()).count();
    Ok(Json(json!({
        "accepted": accepted,
        "rejected": rejected,
        "rejected_total": rejected_total,
    })))
}

/// Unix nanoseconds now, for NDJSON lines without a `ts`.
fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// `POST /api/v1/logs`: one JSON object per line (`message`/`msg`, `ts`, `component`, `host`,
/// `level`, other keys as fields). Good lines are stored even when others are refused; the
/// 200 reply comes only once they are durable.
pub async fn post_logs(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let now = now_ns();
    let (mut records, errors) = lookout_proto::ndjson::parse(&body, now);
    state
        .log_policy
        .apply(lookout_ingest::LogInput::Ndjson, &mut records, now);
    let registry = &state.registry;
    registry
        .counter(
            "lookout_ingest_records_received_total",
            "Log records received, by protocol.",
            &[("proto", "ndjson")],
        )
        .add(records.len() as u64);
    for e in &errors {
        registry
            .counter(
                "lookout_ingest_records_invalid_total",
                "Records refused as malformed, by protocol and reason.",
                &[("proto", "ndjson"), ("reason", e.kind.reason())],
            )
            .inc();
        registry
            .counter(
                "lookout_ingest_rejected_by_peer_total",
                "Records refused, by protocol and sending host.",
                &[("proto", "ndjson"), ("peer", &peer.ip().to_string())],
            )
            .inc();
    }
    let accepted = records.len();
    let appender = state.log_appender.clone();
    tokio::task::spawn_blocking(move || appender.append(&records, Durability::Synced)).await??;
    let rejected: Vec<Value> = errors
        .iter()
        .take(MAX_REJECTS_LISTED)
        .map(|e| json!({"line": e.line, "error": e.kind.to_string()}))
        .collect();
    Ok(Json(json!({
        "accepted": accepted,
        "rejected": rejected,
        "rejected_total": errors.len(),
    })))
}

/// `POST /gelf`: one GELF message per request (plain JSON, or gzip/zlib detected by magic
/// bytes), as Graylog's GELF HTTP input takes it. 202 once the message is durable, as Graylog
/// answers; 400 naming the problem otherwise.
pub async fn post_gelf(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: Bytes,
) -> Result<axum::http::StatusCode, ApiError> {
    let registry = &state.registry;
    let now = now_ns();
    let mut record = match lookout_proto::gelf::parse_payload(&body, now) {
        Ok(r) => r,
        Err(e) => {
            registry
                .counter(
                    "lookout_ingest_records_invalid_total",
                    "Records refused as malformed, by protocol and reason.",
                    &[("proto", "gelf_http"), ("reason", e.reason())],
                )
                .inc();
            registry
                .counter(
                    "lookout_ingest_rejected_by_peer_total",
                    "Records refused, by protocol and sending host.",
                    &[("proto", "gelf_http"), ("peer", &peer.ip().to_string())],
                )
                .inc();
            return Err(ApiError::BadRequest(format!("GELF message refused: {e}")));
        }
    };
    registry
        .counter(
            "lookout_ingest_records_received_total",
            "Log records received, by protocol.",
            &[("proto", "gelf_http")],
        )
        .inc();
    state.log_policy.apply(
        lookout_ingest::LogInput::Gelf,
        std::slice::from_mut(&mut record),
        now,
    );
    let appender = state.log_appender.clone();
    tokio::task::spawn_blocking(move || appender.append(&[record], Durability::Synced)).await??;
    Ok(axum::http::StatusCode::ACCEPTED)
}
