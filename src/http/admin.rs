//! Small endpoints: `/version` (what Grafana probes to enable Graphite 1.1 features),
//! `/functions`, `/health`, lookout's self-metrics in Prometheus text at `GET /metrics`,
//! `DELETE /metrics?query=PATTERN`, and `POST /api/v1/admin/flush`.

use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use lookout_core::{Glob, MetricAppender};
use serde_json::{json, Value};

use super::error::ApiError;
use super::params::Params;
use super::AppState;

/// The graphite-web version lookout's render API follows. Grafana parses it as semver and
/// enables tags, `/functions` and other 1.1 features from 1.1 on.
pub const GRAPHITE_API_VERSION: &str = "1.1.10";

pub async fn version() -> &'static str {
    GRAPHITE_API_VERSION
}

pub async fn health() -> &'static str {
    "ok"
}

/// `GET /functions[?grouped=1]`. Infinite defaults are written as the bare number `1e9999`,
/// which Grafana expects (graphite-web#2609); `serde_json::Value` cannot hold infinity, so the
/// query crate marks them and renders the final text.
pub async fn functions(RawQuery(q): RawQuery) -> Response {
    let params = Params::from_request(q.as_deref(), &HeaderMap::new(), &[]);
    let body = if params.flag("grouped") {
        let mut grouped = serde_json::Map::new();
        if let Value::Object(map) = lookout_query::functions_json() {
            for (name, info) in map {
                let group = info
                    .get("group")
                    .and_then(Value::as_str)
                    .unwrap_or("Other")
                    .to_string();
                if let Value::Object(g) = grouped.entry(group).or_insert_with(|| json!({})) {
                    g.insert(name, info);
                }
            }
        }
        lookout_query::render_infinity_markers(&Value::Object(grouped).to_string())
    } else {
        lookout_query::functions_json_string()
    };
    let mut r = body.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

pub async fn prometheus(State(state): State<AppState>) -> Response {
    let mut r = state.registry.render_prometheus().into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    r
}

pub async fn delete_series(
    State(state): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let params = Params::from_request(q.as_deref(), &HeaderMap::new(), &[]);
    let query = params
        .get("query")
        .filter(|q| !q.is_empty())
        .ok_or_else(|| ApiError::BadRequest("missing parameter: query".into()))?;
    let glob = Glob::new(query)?;
    let store = state.store.clone();
    let deleted = tokio::task::spawn_blocking(move || store.delete(&glob)).await??;
    Ok(Json(json!({ "deleted": deleted })))
}

/// `POST /api/v1/admin/flush`: writes the metrics and the log heads into blocks now. A full
/// disk is 503 (retry later), like a refused write.
pub async fn flush(State(state): State<AppState>) -> Result<StatusCode, ApiError> {
    let (store, logs) = (state.store.clone(), state.logs.clone());
    let now = lookout_ingest::now_unix();
    tokio::task::spawn_blocking(move || {
        store.flush(now).map_err(|e| {
            if e.is_disk_full() {
                ApiError::from(lookout_core::Error::from(e))
            } else {
                ApiError::Internal(anyhow::Error::new(e).context("flushing the metrics store"))
            }
        })?;
        logs.flush(now).map_err(|e| {
            if e.is_disk_full() {
                ApiError::from(lookout_core::Error::from(e))
            } else {
                ApiError::Internal(anyhow::Error::new(e).context("flushing the log store"))
            }
        })
    })
    .await??;
    Ok(StatusCode::OK)
}
