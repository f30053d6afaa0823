//! The tag endpoints Grafana's tag editor uses, in graphite-web 1.1's shapes: `/tags` (tag
//! list), `/tags/<tag>` (values with series counts, `null` for an unknown tag),
//! `/tags/findSeries`, `/tags/autoComplete/tags` and `/tags/autoComplete/values`.
//!
//! This file owns parameters (`filter`, `tagPrefix`, `valuePrefix`, repeatable `expr` or
//! `expr[]`, `limit`, `pretty`) and reply shapes only; the tag logic is `lookout_query`'s and
//! reads the store through `MetricReader::list_series`, one scan per request. Tag writes
//! (`tagSeries`, `tagMultiSeries`, `delSeries`) are not served: series are tagged as they are
//! ingested.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::error::ApiError;
use super::params::Params;
use super::AppState;

/// Request parameters, merged from the query string and a form body.
fn params(q: Option<String>, headers: &HeaderMap, body: &[u8]) -> Params {
    Params::from_request(q.as_deref(), headers, body)
}

/// The `expr` values, or `expr[]` (the jQuery/PHP spelling) when there are none.
fn exprs(params: &Params) -> Vec<String> {
    let plain = params.all("expr");
    let list = if plain.is_empty() {
        params.all("expr[]")
    } else {
        plain
    };
    list.into_iter().map(str::to_string).collect()
}

/// `limit` as graphite-web reads it: absent or empty means the default, anything else must be
/// a non-negative integer (`0` gives an empty list, as graphite's `LIMIT 0`).
fn limit(params: &Params) -> Result<Option<usize>, ApiError> {
    match params.get("limit").filter(|l| !l.is_empty()) {
        None => Ok(None),
        Some(l) => l.trim().parse().map(Some).map_err(|_| {
            ApiError::BadRequest(format!("invalid limit {l:?}: want an integer >= 0"))
        }),
    }
}

/// Optional text parameter; empty counts as absent, as graphite's `if tagPrefix:`.
fn text(params: &Params, key: &str) -> Option<String> {
    params
        .get(key)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

/// A JSON reply; with `pretty`, indented by two with sorted keys as graphite-web's `json.dumps`.
fn reply(params: &Params, v: Value) -> Response {
    let body = if params.get("pretty").is_some_and(|p| !p.is_empty()) {
        serde_json::to_string_pretty(&v).unwrap_or_else(|_| v.to_string())
    } else {
        v.to_string()
    };
    let mut r = body.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// Runs tag work on a blocking thread: it scans every series name.
async fn blocking<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&lookout_tsdb::Tsdb) -> lookout_query::Result<T> + Send + 'static,
) -> Result<T, ApiError> {
    let store = state.store.clone();
    Ok(tokio::task::spawn_blocking(move || f(&store)).await??)
}

/// `GET /tags`: `[{"tag": "dc"}, …]`, sorted, `name` included.
pub async fn list(
    State(state): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let params = params(q, &HeaderMap::new(), &[]);
    let (filter, limit) = (text(&params, "filter"), limit(&params)?);
    let tags = blocking(&state, move |s| {
        lookout_query::list_tags(s, filter.as_deref(), limit)
    })
    .await?;
    let body: Vec<Value> = tags.into_iter().map(|t| json!({ "tag": t })).collect();
    Ok(reply(&params, Value::Array(body)))
}

/// `GET /tags/<tag>`: `{"tag": "dc", "values": [{"count": 2, "value": "sf"}, …]}`, or `null`
/// when no series has the tag.
pub async fn details(
    State(state): State<AppState>,
    Path(tag): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let params = params(q, &HeaderMap::new(), &[]);
    let (filter, limit) = (text(&params, "filter"), limit(&params)?);
    let name = tag.clone();
    let values = blocking(&state, move |s| {
        lookout_query::tag_values(s, &name, filter.as_deref(), limit)
    })
    .await?;
    let body = match values {
        None => Value::Null,
        Some(values) => json!({
            "tag": tag,
            "values": values
                .into_iter()
                .map(|v| json!({ "count": v.count, "value": v.value }))
                .collect::<Vec<_>>(),
        }),
    };
    Ok(reply(&params, body))
}

/// `GET|POST /tags/findSeries?expr=…`: the matching canonical series names, sorted.
pub async fn find_series(
    State(state): State<AppState>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let params = params(q, &headers, &body);
    let exprs = exprs(&params);
    if exprs.is_empty() {
        return Err(ApiError::BadRequest("no tag expressions specified".into()));
    }
    let names = blocking(&state, move |s| lookout_query::find_series(s, &exprs)).await?;
    Ok(reply(&params, json!(names)))
}

/// `GET|POST /tags/autoComplete/tags`: tag names, sorted, at most `limit` (100 by default).
pub async fn auto_complete_tags(
    State(state): State<AppState>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let params = params(q, &headers, &body);
    let exprs = exprs(&params);
    let prefix = text(&params, "tagPrefix");
    let limit = limit(&params)?.unwrap_or(lookout_query::AUTOCOMPLETE_LIMIT);
    let tags = blocking(&state, move |s| {
        lookout_query::auto_complete_tags(s, &exprs, prefix.as_deref(), limit)
    })
    .await?;
    Ok(reply(&params, json!(tags)))
}

/// `GET|POST /tags/autoComplete/values?tag=…`: values of one tag, sorted, at most `limit`.
pub async fn auto_complete_values(
    State(state): State<AppState>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let params = params(q, &headers, &body);
    let exprs = exprs(&params);
    let tag =
        text(&params, "tag").ok_or_else(|| ApiError::BadRequest("no tag specified".into()))?;
    let prefix = text(&params, "valuePrefix");
    let limit = limit(&params)?.unwrap_or(lookout_query::AUTOCOMPLETE_LIMIT);
    let values = blocking(&state, move |s| {
        lookout_query::auto_complete_values(s, &exprs, &tag, prefix.as_deref(), limit)
    })
    .await?;
    Ok(reply(&params, json!(values)))
}
