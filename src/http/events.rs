//! Graphite's events API in graphite-web's shapes, so Grafana's Graphite annotations work
//! unchanged: `POST /events/` stores an event, `GET /events/get_data` lists them in a time
//! range, filtered by tags (all given tags must be on an event, or any with `set=union`), as
//! JSON or JSONP. Storage is `crate::events`.
//!
//! `get_data` also answers bursts of error logs as synthetic events (tags `logs`, `errors` and
//! the component), so error spikes show as annotations with no plugin. The rule, per log
//! component and counting only records stored under exactly that component: the range is cut
//! in buckets of `max((until - from) / 200, 60)` seconds; a bucket is a burst when its
//! emerg+alert+crit+err count is at least [`BURST_MIN_ERRORS`], at least [`BURST_FACTOR`]
//! times the component's usual level, and above that level by [`BURST_NOISE_SIGMAS`] standard
//! deviations of Poisson noise. The usual level is the median error count of the component's
//! *other* buckets that hold any log record (its error level while it is active; quiet buckets
//! do not lower it), and 0 while it has fewer than [`BURST_MIN_HISTORY`] such buckets, so a
//! first-ever burst is found and a steady rate, however noisy, is not a burst.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use lookout_core::{Glob, HistogramBucket, LogReader};
use serde_json::{json, Value};

use super::error::ApiError;
use super::params::Params;
use super::AppState;
use crate::events::{normalize_tags, tags_match, EventStore, NewEvent, TagMatch};

/// Largest event body: an annotation is a title, a few tags and a short text.
const MAX_EVENT_BODY: usize = 64 << 10;
/// Fewest errors in one bucket that can be a burst: below this a handful of errors in a quiet
/// component would flag every bucket.
pub const BURST_MIN_ERRORS: u64 = 10;
/// How far above its usual level a bucket must be to be a burst.
pub const BURST_FACTOR: u64 = 3;
/// Other active buckets a component needs before it has a usual error level; with fewer, the
/// bursts themselves would be that level (a component that logs nothing but two bursts).
const BURST_MIN_HISTORY: usize = 2;
/// How many standard deviations (Poisson: the square root of the usual count) above its usual
/// level a bucket must also be: a steady rate of 3 errors a bucket reaches 10 in about one
/// bucket of 1,000, so over 200 buckets the factor alone would flag one range in five.
const BURST_NOISE_SIGMAS: f64 = 5.0;
/// Buckets per range: as fine as a graph's pixels are wide, not finer.
const BURST_BUCKETS: i64 = 200;
/// Smallest bucket: log volume per minute is the usual resolution of an error rate.
const BURST_MIN_STEP: i64 = 60;
/// Most components examined per request, to bound its cost (one histogram each).
const BURST_MAX_COMPONENTS: usize = 1000;

/// `POST /events/`: `{"what", "tags" (list or space-separated string), "data", "when"}`.
pub async fn post(State(state): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    if body.len() > MAX_EVENT_BODY {
        return Ok((
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("an event body is at most {MAX_EVENT_BODY} bytes\n"),
        )
            .into_response());
    }
    let new = parse_event(&body, lookout_ingest::now_unix()).map_err(ApiError::BadRequest)?;
    let store = state.events.clone();
    let event = tokio::task::spawn_blocking(move || store.add(new))
        .await?
        .map_err(ApiError::Internal)?;
    Ok(axum::Json(json!({ "id": event.id })).into_response())
}

/// Reads an event body as graphite-web does; `when` defaults to `now`.
fn parse_event(body: &[u8], now: i64) -> Result<NewEvent, String> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| format!("an event must be JSON: {e}"))?;
    let Some(obj) = v.as_object() else {
        return Err("an event must be a JSON object".to_string());
    };
    let what = match obj.get("what") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => return Err("an event needs a \"what\" string".to_string()),
    };
    let tags = match obj.get("tags") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => normalize_tags([s.as_str()]),
        Some(Value::Array(items)) => {
            let mut strs = Vec::new();
            for t in items {
                match t {
                    Value::String(s) => strs.push(s.as_str()),
                    _ => return Err("\"tags\" must be an array or space-separated string".into()),
                }
            }
            normalize_tags(strs)
        }
        Some(_) => return Err("\"tags\" must be an array or space-separated string".into()),
    };
    let data = match obj.get("data") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    let when = match obj.get("when") {
        None | Some(Value::Null) => now,
        Some(w) => match w.as_f64() {
            Some(f) if f.is_finite() && f.abs() < 1e15 => f.floor() as i64,
            _ => return Err("\"when\" must be unix seconds".to_string()),
        },
    };
    Ok(NewEvent {
        when,
        what,
        tags,
        data,
    })
}

/// `GET /events/get_data?from&until&tags&set&jsonp`.
pub async fn get_data(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let params = Params::from_request(query.as_deref(), &headers, &body);
    let now = lookout_ingest::now_unix();
    let time = |key: &str, default: i64| -> Result<i64, ApiError> {
        match params.get(key).filter(|v| !v.is_empty()) {
            Some(t) => Ok(lookout_query::parse_time(t, now)?),
            None => Ok(default),
        }
    };
    let (from, until) = (time("from", 0)?, time("until", now)?);
    let tags: Vec<String> = params
        .get("tags")
        .map(|t| normalize_tags([t]))
        .unwrap_or_default();
    let how = match params.get("set") {
        Some("union") => TagMatch::Any,
        _ => TagMatch::All,
    };
    let jsonp = match params.get("jsonp").filter(|j| !j.is_empty()) {
        Some(name) if is_callback_name(name) => Some(name.to_string()),
        Some(name) => {
            return Err(ApiError::BadRequest(format!(
                "jsonp {name:?} must be a JavaScript name ([A-Za-z0-9_$.])"
            )))
        }
        None => None,
    };
    let (events, logs) = (state.events.clone(), state.logs.clone());
    let list = tokio::task::spawn_blocking(move || {
        list_events(&events, logs.as_ref(), from, until, &tags, how)
            .map(|l| l.into_iter().map(|(_, v)| v).collect::<Vec<_>>())
    })
    .await??;
    let text = Value::Array(list).to_string();
    let (body, ctype) = match jsonp {
        Some(name) => (format!("{name}({text})"), "text/javascript"),
        None => (text, "application/json"),
    };
    let mut resp = body.into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    Ok(resp)
}

/// The stored events and the error bursts in `[from, until]` whose tags match, oldest first,
/// as `(when, event JSON)`: what `get_data` answers and what `events()` in `/render` counts.
/// Bursts are computed only when no tags, or `logs` or `errors`, are asked for.
fn list_events(
    events: &EventStore,
    logs: &dyn LogReader,
    from: i64,
    until: i64,
    tags: &[String],
    how: TagMatch,
) -> Result<Vec<(i64, Value)>, ApiError> {
    let mut out: Vec<(i64, Value)> = events
        .query(from, until, tags, how)
        .into_iter()
        .map(|e| (e.when, json!(e)))
        .collect();
    let wants_bursts = tags.is_empty() || tags.iter().any(|t| t == "logs" || t == "errors");
    if wants_bursts && until > from {
        for b in error_bursts(logs, from, until)? {
            if tags_match(&b.tags, tags, how) {
                out.push((b.when, b.json()));
            }
        }
    }
    out.sort_by_key(|(when, _)| *when);
    Ok(out)
}

/// The events `events(*tags)` in `/render` counts: the stored events and error bursts that
/// carry all the tags, exactly as `get_data?tags=…` lists them.
pub struct RenderEvents {
    /// The events store.
    pub events: Arc<EventStore>,
    /// The log store, for error bursts.
    pub logs: Arc<dyn LogReader + Send + Sync>,
}

impl lookout_query::EventSource for RenderEvents {
    fn event_times(&self, from: i64, until: i64, tags: &[String]) -> Result<Vec<i64>, String> {
        let tags = normalize_tags(tags.iter().map(String::as_str));
        list_events(
            &self.events,
            self.logs.as_ref(),
            from,
            until,
            &tags,
            TagMatch::All,
        )
        .map(|l| l.into_iter().map(|(when, _)| when).collect())
        .map_err(|e| match e {
            ApiError::BadRequest(m) | ApiError::Unavailable(m) => m,
            ApiError::Internal(e) => format!("{e:#}"),
            ApiError::Unauthorized => "unauthorized".to_string(),
        })
    }
}

/// A JSONP callback is echoed into a script, so only names are allowed.
fn is_callback_name(name: &str) -> bool {
    name.len() <= 128
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'$' | b'.'))
}

/// One error burst, as an event.
#[derive(Debug, Clone, PartialEq)]
struct Burst {
    component: String,
    when: i64,
    errors: u64,
    step: i64,
    tags: Vec<String>,
}

impl Burst {
    fn json(&self) -> Value {
        json!({
            "id": format!("burst:{}:{}", self.component, self.when),
            "when": self.when,
            "what": format!("error burst: {}", self.component),
            "tags": self.tags,
            "data": format!("{} errors in {}s", self.errors, self.step),
        })
    }
}

/// The bucket size for a range.
fn burst_step(from: i64, until: i64) -> i64 {
    ((until - from) / BURST_BUCKETS).max(BURST_MIN_STEP)
}

/// Errors (emerg, alert, crit, err) in a bucket.
fn errors(counts: &[u64; 8]) -> u64 {
    counts[..4].iter().sum()
}

/// Bursts in one component's own buckets (see the module doc for the rule).
fn find_bursts(component: &str, buckets: &BTreeMap<i64, [u64; 8]>, step: i64) -> Vec<Burst> {
    let mut active: Vec<u64> = buckets
        .values()
        .filter(|c| c.iter().sum::<u64>() > 0)
        .map(errors)
        .collect();
    active.sort_unstable();
    let mut tags = normalize_tags(["logs errors", component]);
    tags.dedup();
    buckets
        .iter()
        .filter(|(_, c)| {
            let n = errors(c);
            if n < BURST_MIN_ERRORS {
                return false;
            }
            let usual = usual_errors(&active, n);
            n >= BURST_FACTOR.saturating_mul(usual)
                && n as f64 >= usual as f64 + BURST_NOISE_SIGMAS * (usual as f64).sqrt()
        })
        .map(|(start, c)| Burst {
            component: component.to_string(),
            when: *start,
            errors: errors(c),
            step,
            tags: tags.clone(),
        })
        .collect()
}

/// A component's usual error count per bucket, judged for a bucket of `n` errors: the median
/// of the errors in its *other* active buckets (`active` is sorted and holds `n`), so a burst
/// never raises the level it is measured against. With fewer than [`BURST_MIN_HISTORY`] other
/// active buckets there is no usual level yet, and it is 0: a component's first burst counts.
/// For an even count the median is the mean of the middle two, rounded up.
fn usual_errors(active: &[u64], n: u64) -> u64 {
    let Ok(skip) = active.binary_search(&n) else {
        return 0;
    };
    let others = active.len() - 1;
    if others < BURST_MIN_HISTORY {
        return 0;
    }
    // The i-th of the other buckets, in order.
    let at = |i: usize| if i < skip { active[i] } else { active[i + 1] };
    let mid = others / 2;
    if others % 2 == 1 {
        at(mid)
    } else {
        (at(mid - 1) + at(mid)).div_ceil(2)
    }
}

/// Every error burst in `[from, until)`, over all log components.
fn error_bursts(logs: &dyn LogReader, from: i64, until: i64) -> Result<Vec<Burst>, ApiError> {
    let step = burst_step(from, until);
    // The component tree, breadth first, with each node's children.
    let mut nodes: Vec<(String, Vec<String>)> = Vec::new();
    let mut pending = vec!["*".to_string()];
    while let Some(pattern) = pending.pop() {
        let Ok(glob) = Glob::new(&pattern) else {
            continue;
        };
        for n in logs.components(&glob)? {
            if nodes.len() >= BURST_MAX_COMPONENTS {
                break;
            }
            if n.has_children {
                pending.push(format!("{}.*", n.path));
            }
            nodes.push((n.path, Vec::new()));
        }
    }
    let paths: Vec<String> = nodes.iter().map(|(p, _)| p.clone()).collect();
    for (path, children) in &mut nodes {
        let depth = path.split('.').count() + 1;
        children.extend(
            paths
                .iter()
                .filter(|c| {
                    c.split('.').count() == depth
                        && c.strip_prefix(path.as_str())
                            .is_some_and(|r| r.starts_with('.'))
                })
                .cloned(),
        );
    }
    // Subtree counts per node; a node's own counts are its subtree's minus its children's.
    let mut subtree: BTreeMap<String, BTreeMap<i64, [u64; 8]>> = BTreeMap::new();
    let ns = 1_000_000_000;
    for (path, _) in &nodes {
        let Ok(glob) = Glob::new(path) else {
            continue;
        };
        let buckets = logs.histogram(
            &glob,
            from.saturating_mul(ns),
            until.saturating_mul(ns),
            step,
        )?;
        subtree.insert(path.clone(), to_map(buckets));
    }
    let mut out = Vec::new();
    for (path, children) in &nodes {
        let Some(mut own) = subtree.get(path).cloned() else {
            continue;
        };
        for child in children {
            for (start, counts) in subtree.get(child).into_iter().flatten() {
                if let Some(mine) = own.get_mut(start) {
                    for (m, c) in mine.iter_mut().zip(counts) {
                        *m = m.saturating_sub(*c);
                    }
                }
            }
        }
        out.extend(find_bursts(path, &own, step));
    }
    Ok(out)
}

fn to_map(buckets: Vec<HistogramBucket>) -> BTreeMap<i64, [u64; 8]> {
    buckets.into_iter().map(|b| (b.start, b.counts)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(body: &str, expected: Result<NewEvent, &str>) {
        let got = parse_event(body.as_bytes(), 1000);
        match expected {
            Ok(want) => assert_eq!(got, Ok(want), "{body}"),
            Err(part) => {
                let e = got.expect_err(body);
                assert!(e.contains(part), "{body}: {e}");
            }
        }
    }

    fn ev(when: i64, what: &str, tags: &[&str], data: &str) -> NewEvent {
        NewEvent {
            when,
            what: what.into(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            data: data.into(),
        }
    }

    #[test]
    fn event_bodies_parse_as_graphite_web_reads_them() {
        check(
            r#"{"what":"deploy","tags":["web","v2"],"data":"x","when":1700000000}"#,
            Ok(ev(1_700_000_000, "deploy", &["v2", "web"], "x")),
        );
        check(
            r#"{"what":"deploy","tags":"web  v2 web"}"#,
            Ok(ev(1000, "deploy", &["v2", "web"], "")),
        );
        check(
            r#"{"what":"d","when":12.9,"data":{"k":1}}"#,
            Ok(ev(12, "d", &[], r#"{"k":1}"#)),
        );
        check(r#"{"what":"d","tags":null}"#, Ok(ev(1000, "d", &[], "")));
        check(r#"{"tags":["a"]}"#, Err("what"));
        check(r#"{"what":""}"#, Err("what"));
        check(r#"{"what":"d","tags":5}"#, Err("tags"));
        check(r#"{"what":"d","tags":[1]}"#, Err("tags"));
        check(r#"{"what":"d","when":"yesterday"}"#, Err("when"));
        check(r#"{"what":"d","when":1e300}"#, Err("when"));
        check(r#"["what"]"#, Err("object"));
        check("what=deploy", Err("JSON"));
    }

    #[test]
    fn callbacks_are_plain_names() {
        assert!(is_callback_name("jQuery123_cb.x$"));
        assert!(!is_callback_name("alert(1)//"));
        assert!(!is_callback_name("a b"));
    }

    fn buckets(errs: &[(i64, u64, u64)]) -> BTreeMap<i64, [u64; 8]> {
        errs.iter()
            .map(|&(start, err, info)| {
                let mut c = [0u64; 8];
                c[3] = err;
                c[6] = info;
                (start, c)
            })
            .collect()
    }

    #[test]
    fn a_burst_is_ten_errors_and_three_times_the_usual_level() {
        // Usual level 1 error a minute; 12 in one minute is a burst, 9 is too few.
        let b = buckets(&[
            (0, 1, 5),
            (60, 1, 5),
            (120, 12, 5),
            (180, 1, 5),
            (240, 9, 0),
        ]);
        let got = find_bursts("web.api", &b, 60);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].when, 120);
        assert_eq!(
            got[0].json(),
            json!({
                "id": "burst:web.api:120",
                "when": 120,
                "what": "error burst: web.api",
                "tags": ["errors", "logs", "web.api"],
                "data": "12 errors in 60s",
            })
        );
        // A component that always errs at 10 a minute has no bursts.
        let steady = buckets(&[(0, 10, 0), (60, 10, 0), (120, 11, 0)]);
        assert!(find_bursts("db", &steady, 60).is_empty());
        // Quiet buckets (no logs at all) do not lower the usual level; info-only ones do.
        let quiet = buckets(&[(0, 0, 3), (60, 0, 3), (120, 30, 0)]);
        assert_eq!(find_bursts("q", &quiet, 60).len(), 1);
        assert!(find_bursts("none", &BTreeMap::new(), 60).is_empty());
    }

    #[test]
    fn a_first_ever_burst_is_found() {
        // Nothing else logged in the range: the burst is not its own usual level.
        let alone = buckets(&[(600, 40, 0)]);
        assert_eq!(find_bursts("new", &alone, 60).len(), 1);
        // One quiet error bucket before it is no usual level either.
        let after_one = buckets(&[(0, 1, 0), (60, 30, 0)]);
        let got = find_bursts("new", &after_one, 60);
        assert_eq!(got.iter().map(|b| b.when).collect::<Vec<_>>(), [60]);
        // Two bursts in a component that logs nothing else are both found.
        let two = buckets(&[(0, 30, 0), (3000, 40, 0)]);
        assert_eq!(find_bursts("twice", &two, 60).len(), 2);
    }

    #[test]
    fn a_steady_error_rate_is_not_a_burst() {
        // About 3 errors a bucket with Poisson-like swings up to 10: the old rule (10 errors and
        // 3 x the median of 3) flagged the 10; it is noise.
        let noisy: Vec<(i64, u64, u64)> = [3, 4, 3, 2, 3, 4, 3, 2, 3, 10, 3, 4, 1, 5]
            .iter()
            .enumerate()
            .map(|(i, &e)| (i as i64 * 60, e, 20))
            .collect();
        assert!(find_bursts("noisy", &buckets(&noisy), 60).is_empty());
        // A real burst on top of that rate still is one.
        let mut spiked = noisy.clone();
        spiked[6].1 = 25;
        let got = find_bursts("noisy", &buckets(&spiked), 60);
        assert_eq!(got.iter().map(|b| b.when).collect::<Vec<_>>(), [360]);
        // A job that errs steadily while it runs and is quiet otherwise has no bursts.
        let job = buckets(&[
            (0, 20, 0),
            (60, 21, 0),
            (120, 19, 0),
            (180, 20, 0),
            (3600, 22, 0),
        ]);
        assert!(find_bursts("job", &job, 60).is_empty());
    }

    #[test]
    fn the_usual_level_leaves_the_judged_bucket_out() {
        assert_eq!(usual_errors(&[], 10), 0);
        assert_eq!(usual_errors(&[30], 30), 0);
        assert_eq!(usual_errors(&[1, 30], 30), 0);
        assert_eq!(usual_errors(&[1, 2, 30], 30), 2);
        assert_eq!(usual_errors(&[1, 2, 30], 1), 16);
        assert_eq!(usual_errors(&[1, 2, 3, 30], 30), 2);
        assert_eq!(usual_errors(&[1, 2, 3, 30], 2), 3);
        assert_eq!(usual_errors(&[5, 5, 5, 5], 5), 5);
    }

    #[test]
    fn bucket_size_follows_the_range() {
        assert_eq!(burst_step(0, 3600), 60);
        assert_eq!(burst_step(0, 86_400), 432);
        assert_eq!(burst_step(100, 101), 60);
    }
}
