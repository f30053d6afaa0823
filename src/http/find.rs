//! The metric tree endpoints Grafana and scripts browse with: `/metrics/find` (treejson,
//! completer), `/metrics/expand` and `/metrics/index.json`, in graphite-web 1.1's shapes.

use std::collections::{BTreeMap, BTreeSet};

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use lookout_core::{FindNode, Glob, MetricReader};
use serde_json::{json, Value};

use super::error::ApiError;
use super::params::Params;
use super::AppState;

fn no_cache_json(v: Value) -> Response {
    let mut r = axum::Json(v).into_response();
    let h = r.headers_mut();
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

async fn find_nodes(state: &AppState, query: &str) -> Result<Vec<FindNode>, ApiError> {
    let glob = Glob::new(query)?;
    let store = state.store.clone();
    Ok(tokio::task::spawn_blocking(move || store.find(&glob)).await??)
}

fn node_name(path: &str) -> &str {
    path.rsplit('.').next().unwrap_or(path)
}

pub async fn find(
    State(state): State<AppState>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let params = Params::from_request(q.as_deref(), &headers, &body);
    let query = params
        .get("query")
        .filter(|q| !q.is_empty())
        .ok_or_else(|| ApiError::BadRequest("missing parameter: query".into()))?
        .to_string();
    let format = params.get("format").unwrap_or("treejson").to_string();
    let wildcards = params.flag("wildcards");
    let leaves_only = params.flag("leavesOnly");
    let mut nodes = find_nodes(&state, &query).await?;
    if leaves_only {
        nodes.retain(|n| n.is_leaf);
    }
    match format.as_str() {
        "treejson" => Ok(no_cache_json(tree_json(&nodes, &query, wildcards))),
        "completer" => {
            let mut metrics: Vec<Value> = nodes
                .iter()
                .map(|n| {
                    let path = if n.is_leaf { n.path.clone() } else { format!("{}.", n.path) };
                    json!({"path": path, "name": node_name(&n.path), "is_leaf": if n.is_leaf { "1" } else { "0" }})
                })
                .collect();
            if metrics.len() > 1 && wildcards {
                metrics.push(json!({"name": "*"}));
            }
            Ok(no_cache_json(json!({ "metrics": metrics })))
        }
        "nodelist" => {
            let nodes: BTreeSet<&str> = nodes.iter().map(|n| node_name(&n.path)).collect();
            Ok(no_cache_json(json!({ "nodes": nodes })))
        }
        other => Err(ApiError::BadRequest(format!(
            "format {other:?} is not supported here: use treejson, completer or nodelist"
        ))),
    }
}

/// graphite-web's `tree_json`: ids are the query's base path plus the node name, branches
/// before leaves, each group sorted by name; a node that is both a series and a branch is
/// listed as a leaf, as graphite-web's store merges it.
pub fn tree_json(nodes: &[FindNode], query: &str, wildcards: bool) -> Value {
    let base = match query.rsplit_once('.') {
        Some((b, _)) => format!("{b}."),
        None => String::new(),
    };
    let branch = |text: &str, id: String| json!({"text": text, "id": id, "allowChildren": 1, "expandable": 1, "leaf": 0});
    let leaf = |text: &str, id: String| json!({"text": text, "id": id, "allowChildren": 0, "expandable": 0, "leaf": 1});
    let mut out = Vec::new();
    if nodes.len() > 1 && wildcards {
        let id = format!("{base}*");
        out.push(if nodes.iter().any(|n| !n.is_leaf) {
            branch("*", id)
        } else {
            leaf("*", id)
        });
    }
    let mut by_name: BTreeMap<&str, bool> = BTreeMap::new();
    for n in nodes {
        *by_name.entry(node_name(&n.path)).or_insert(false) |= n.is_leaf;
    }
    for (name, _) in by_name.iter().filter(|(_, is_leaf)| !**is_leaf) {
        out.push(branch(name, format!("{base}{name}")));
    }
    for (name, _) in by_name.iter().filter(|(_, is_leaf)| **is_leaf) {
        out.push(leaf(name, format!("{base}{name}")));
    }
    Value::Array(out)
}

pub async fn expand(
    State(state): State<AppState>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let params = Params::from_request(q.as_deref(), &headers, &body);
    let queries: Vec<String> = params
        .all("query")
        .into_iter()
        .map(str::to_string)
        .collect();
    if queries.is_empty() {
        return Err(ApiError::BadRequest("missing parameter: query".into()));
    }
    let leaves_only = params.flag("leavesOnly");
    let mut grouped: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for query in &queries {
        let nodes = find_nodes(&state, query).await?;
        grouped.entry(query.clone()).or_default().extend(
            nodes
                .into_iter()
                .filter(|n| n.is_leaf || !leaves_only)
                .map(|n| n.path),
        );
    }
    let results = if params.flag("groupByExpr") {
        json!(grouped)
    } else {
        let all: BTreeSet<&String> = grouped.values().flatten().collect();
        json!(all)
    };
    Ok(no_cache_json(json!({ "results": results })))
}

pub async fn index_json(State(state): State<AppState>) -> Result<Response, ApiError> {
    let store = state.store.clone();
    let names = tokio::task::spawn_blocking(move || store.list_series()).await??;
    Ok(no_cache_json(json!(names)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(path: &str, is_leaf: bool, has_children: bool) -> FindNode {
        FindNode {
            path: path.into(),
            is_leaf,
            has_children,
        }
    }

    #[test]
    fn treejson_matches_graphite_web() {
        let nodes = vec![
            node("collectd.db01", false, true),
            node("collectd.foo", true, false),
        ];
        assert_eq!(
            tree_json(&nodes, "collectd.*", false),
            json!([
                {"text":"db01","id":"collectd.db01","allowChildren":1,"expandable":1,"leaf":0},
                {"text":"foo","id":"collectd.foo","allowChildren":0,"expandable":0,"leaf":1}
            ])
        );
        let with_wild = tree_json(&nodes, "collectd.*", true);
        assert_eq!(with_wild[0]["text"], "*");
        assert_eq!(with_wild[0]["id"], "collectd.*");
        assert_eq!(with_wild[0]["leaf"], 0);
        // Top level: no base path.
        assert_eq!(
            tree_json(&[node("a", false, true)], "*", false)[0]["id"],
            "a"
        );
    }

    #[test]
    fn branches_come_before_leaves() {
        let nodes = vec![node("x.a", true, false), node("x.b", false, true)];
        let t = tree_json(&nodes, "x.*", false);
        assert_eq!(t[0]["text"], "b");
        assert_eq!(t[1]["text"], "a");
    }
}
