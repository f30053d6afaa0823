//! `GET /api/v1/logs/component_for?metric=<name>`: which log component a metric belongs to,
//! for the UI's "logs for this". The answer is the metric's `component` tag if it has one,
//! else the longest of its node prefixes that is a log component; `candidates` lists every
//! prefix that is one, longest first, so the UI can widen a node at a time. It reads the
//! component tree only; the log query itself is `logs.rs`.

use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use lookout_core::{Glob, LogReader};
use serde_json::json;

use super::error::ApiError;
use super::params::Params;
use super::AppState;

/// Splits `name;tag=value;...` into its dotted path and its `component` tag, if any.
fn split_metric(metric: &str) -> (&str, Option<&str>) {
    let mut parts = metric.split(';');
    let path = parts.next().unwrap_or("");
    let tag = parts
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, v)| *k == "component" && !v.is_empty())
        .map(|(_, v)| v);
    (path, tag)
}

/// The node prefixes of a dotted path, longest first: `a.b.c`, `a.b`, `a`.
fn prefixes(path: &str) -> Vec<&str> {
    let mut out = vec![path];
    let mut rest = path;
    while let Some((head, _)) = rest.rsplit_once('.') {
        out.push(head);
        rest = head;
    }
    out.retain(|p| !p.is_empty());
    out
}

/// The prefixes of `path` that are log components (a component or the parent of one).
fn component_prefixes(logs: &dyn LogReader, path: &str) -> Result<Vec<String>, ApiError> {
    let mut out = Vec::new();
    for p in prefixes(path) {
        // A node holding a glob character cannot be a literal lookup; it is skipped.
        if p.contains(['*', '?', '[', ']', '{', '}']) {
            continue;
        }
        let Ok(glob) = Glob::new(p) else { continue };
        if logs.components(&glob)?.iter().any(|n| n.path == p) {
            out.push(p.to_string());
        }
    }
    Ok(out)
}

pub async fn component_for(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::from_request(query.as_deref(), &Default::default(), b"");
    let metric = params
        .get("metric")
        .filter(|m| !m.is_empty())
        .ok_or_else(|| ApiError::BadRequest("metric is required".to_string()))?
        .to_string();
    let logs = state.logs.clone();
    let (component, candidates) = tokio::task::spawn_blocking(move || {
        let (path, tag) = split_metric(&metric);
        let candidates = component_prefixes(logs.as_ref(), path)?;
        let component = tag
            .map(str::to_string)
            .or_else(|| candidates.first().cloned());
        Ok::<_, ApiError>((component, candidates))
    })
    .await??;
    Ok(Json(json!({ "component": component, "candidates": candidates })).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(metric: &str, path: &str, tag: Option<&str>, pre: &[&str]) {
        assert_eq!(split_metric(metric), (path, tag), "{metric:?}");
        assert_eq!(prefixes(path), pre, "{metric:?}");
    }

    #[test]
    fn metrics_split_into_prefixes_and_component_tag() {
        check(
            "web.api.latency",
            "web.api.latency",
            None,
            &["web.api.latency", "web.api", "web"],
        );
        check(
            "cpu.load;host=a;component=db.main",
            "cpu.load",
            Some("db.main"),
            &["cpu.load", "cpu"],
        );
        check("x;component=", "x", None, &["x"]);
        check("", "", None, &[]);
        check("a..b", "a..b", None, &["a..b", "a.", "a"]);
    }
}
