//! `GET|POST /render`: evaluates targets through `lookout-query` and writes graphite-web's
//! data formats — json (with `maxDataPoints` consolidation, `noNullPoints`, `jsonp`), csv and
//! raw — and hands `png`/`svg` to `graph`. Evaluation runs on a blocking thread; the engines
//! are synchronous.

use std::fmt::Write as _;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use lookout_query::{RenderContext, Series};

use super::error::ApiError;
use super::params::Params;
use super::AppState;
use lookout_query::pyfmt::{put, repr as float_repr, write_i64, write_repr as write_float_repr};

/// graphite-web's default range when `from` is absent.
const DEFAULT_FROM: &str = "-24h";

/// The time range of a request: `from`, `until` (and `now`), parsed in graphite-web's forms.
pub fn time_range(params: &Params, real_now: i64) -> Result<(i64, i64, i64), ApiError> {
    let now = match params.get("now") {
        Some(t) => lookout_query::parse_time(t, real_now)?,
        None => real_now,
    };
    let (from, until) = time_range_with_default(params, now, DEFAULT_FROM)?;
    Ok((from, until, now))
}

/// `from` (default `default_from`) and `until` (default now), in any /render form; `from`
/// must come first.
pub fn time_range_with_default(
    params: &Params,
    now: i64,
    default_from: &str,
) -> Result<(i64, i64), ApiError> {
    let from = lookout_query::parse_time(
        params
            .get("from")
            .filter(|f| !f.is_empty())
            .unwrap_or(default_from),
        now,
    )?;
    let until = lookout_query::parse_time(
        params
            .get("until")
            .filter(|u| !u.is_empty())
            .unwrap_or("now"),
        now,
    )?;
    if from >= until {
        return Err(ApiError::BadRequest(format!(
            "from ({from}) must be before until ({until})"
        )));
    }
    Ok((from, until))
}

pub async fn render(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let params = Params::from_request(query.as_deref(), &headers, &body);
    let (from, until, now) = time_range(&params, lookout_ingest::now_unix())?;
    let targets: Vec<String> = params
        .all("target")
        .into_iter()
        .filter(|t| !t.trim().is_empty())
        .map(str::to_string)
        .collect();
    let format = params.get("format").unwrap_or("json").to_string();
    let max_points: Option<usize> = match params.get("maxDataPoints") {
        Some(v) if !v.is_empty() => Some(
            v.parse::<f64>()
                .ok()
                .filter(|n| *n >= 1.0)
                .map(|n| n as usize)
                .ok_or_else(|| {
                    ApiError::BadRequest(format!("maxDataPoints {v:?} is not a positive number"))
                })?,
        ),
        _ => None,
    };
    let no_null = params.flag("noNullPoints");
    let xff: Option<f64> = match params.get("xFilesFactor") {
        Some(v) if !v.is_empty() => Some(
            v.parse::<f64>()
                .ok()
                .filter(|x| (0.0..=1.0).contains(x))
                .ok_or_else(|| {
                    ApiError::BadRequest(format!(
                        "xFilesFactor {v:?} is not a number between 0 and 1"
                    ))
                })?,
        ),
        _ => None,
    };
    let jsonp = params.get("jsonp").map(str::to_string);
    // Graph parameters are checked before any data is read, so a bad one costs nothing.
    let image = match format.as_str() {
        "png" => Some(super::graph::ImageFormat::Png),
        "svg" => Some(super::graph::ImageFormat::Svg),
        _ => None,
    };
    let graph_options = match image {
        Some(_) => Some(super::graph::GraphOptions::parse(&params).map_err(ApiError::BadRequest)?),
        None => None,
    };

    let store = state.store.clone();
    // `events()` counts the events API's events, error bursts included.
    let events = super::events::RenderEvents {
        events: state.events.clone(),
        logs: state.logs.clone(),
    };
    let series = tokio::task::spawn_blocking(move || -> Result<Vec<Series>, ApiError> {
        let ctx = RenderContext {
            reader: store.as_ref(),
            from,
            until,
            now,
        };
        let mut out = Vec::new();
        for t in &targets {
            out.extend(lookout_query::evaluate_with_events(
                &ctx,
                t,
                xff.unwrap_or(0.0),
                &events,
            )?);
        }
        Ok(out)
    })
    .await??;

    if let (Some(image), Some(opts)) = (image, graph_options) {
        let body =
            tokio::task::spawn_blocking(move || super::graph::render_image(series, &opts, image))
                .await?
                .map_err(|e| ApiError::Internal(anyhow::anyhow!(e)))?;
        return Ok(text_response(image.content_type(), body));
    }

    match format.as_str() {
        "json" => {
            let mut series = series;
            // graphite-web consolidates only when some series has points (`if any(data)`), and
            // counts points over the whole response, not per series.
            if let Some(max) = max_points {
                if series.iter().any(|s| !s.values.is_empty()) {
                    lookout_query::consolidate_all(&mut series, max);
                }
            }
            let body = json_body(&series, no_null);
            Ok(match jsonp {
                Some(cb) if valid_callback(&cb) => {
                    let mut wrapped = Vec::with_capacity(body.len() + cb.len() + 2);
                    wrapped.extend_from_slice(cb.as_bytes());
                    wrapped.push(b'(');
                    wrapped.extend_from_slice(&body);
                    wrapped.push(b')');
                    text_response("text/javascript", wrapped)
                }
                Some(_) => {
                    return Err(ApiError::BadRequest(
                        "jsonp callback must be a JavaScript identifier".into(),
                    ))
                }
                None => text_response("application/json", body),
            })
        }
        "csv" => Ok(text_response("text/csv", csv_body(&series).into_bytes())),
        "raw" => Ok(text_response("text/plain", raw_body(&series).into_bytes())),
        other => Err(ApiError::BadRequest(format!(
            "format {other:?} is not supported: use json, csv, raw, png or svg"
        ))),
    }
}

fn valid_callback(cb: &str) -> bool {
    !cb.is_empty()
        && cb.len() < 128
        && cb
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '$')
}

fn text_response(ctype: &'static str, body: Vec<u8>) -> Response {
    let mut r = (StatusCode::OK, body).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    r
}

/// Points of a series as graphite-web pairs them: `zip(values, range(start, end + 1, step))`.
fn points(s: &Series) -> impl Iterator<Item = (Option<f64>, i64)> + '_ {
    let step = s.step.max(1);
    let n_ts = if s.end >= s.start {
        ((s.end - s.start) / step + 1) as usize
    } else {
        0
    };
    s.values
        .iter()
        .take(n_ts)
        .enumerate()
        .map(move |(i, v)| (*v, s.start + i as i64 * step))
}

/// A JSON number as graphite-web writes it: NaN as null, ±infinity as ±1e9999.
fn json_value(out: &mut Vec<u8>, v: Option<f64>) {
    match v {
        None => put(out, b"null"),
        Some(x) if x.is_nan() => put(out, b"null"),
        Some(x) if x.is_infinite() => put(out, if x > 0.0 { b"1e9999" } else { b"-1e9999" }),
        Some(x) => write_float_repr(out, x),
    }
}

fn json_string(out: &mut Vec<u8>, s: &str) {
    // serde_json escapes exactly what JSON requires; writing into a String cannot fail.
    out.extend_from_slice(
        serde_json::to_string(s)
            .unwrap_or_else(|_| "\"\"".into())
            .as_bytes(),
    );
}

/// Responses with more points than this are formatted on several threads: formatting is
/// most of a wide render's time (100 series over a day is 864k points, ~18 MB of JSON), and a
/// thread costs tens of microseconds.
const PARALLEL_FORMAT_POINTS: usize = 100_000;

/// The json body, built as bytes: every piece written is ASCII or JSON-escaped UTF-8. Wide
/// responses are cut into runs of whole series, formatted in parallel and joined in order.
pub fn json_body(series: &[Series], no_null: bool) -> Vec<u8> {
    let total: usize = series.iter().map(|s| s.values.len()).sum();
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(4);
    if total < PARALLEL_FORMAT_POINTS || threads < 2 || series.len() < 2 {
        let mut out = Vec::with_capacity(estimated_json_len(series));
        out.push(b'[');
        json_series(&mut out, series, no_null);
        out.push(b']');
        return out;
    }
    // Cut into runs of roughly equal point counts.
    let per_part = total.div_ceil(threads);
    let mut parts: Vec<&[Series]> = Vec::new();
    let (mut begin, mut acc) = (0, 0);
    for (i, s) in series.iter().enumerate() {
        acc += s.values.len();
        if acc >= per_part {
            parts.push(&series[begin..=i]);
            begin = i + 1;
            acc = 0;
        }
    }
    if begin < series.len() {
        parts.push(&series[begin..]);
    }
    let bodies: Vec<Vec<u8>> = std::thread::scope(|scope| {
        let handles: Vec<_> = parts
            .iter()
            .map(|part| {
                scope.spawn(move || {
                    let mut out = Vec::with_capacity(estimated_json_len(part));
                    json_series(&mut out, part, no_null);
                    out
                })
            })
            .collect();
        handles
            .into_iter()
            // A formatting thread only pushes bytes; it cannot panic short of running out of
            // memory, which aborts the process anyway.
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let mut out = Vec::with_capacity(bodies.iter().map(|b| b.len() + 2).sum::<usize>() + 2);
    out.push(b'[');
    for body in bodies.iter().filter(|b| !b.is_empty()) {
        if out.len() > 1 {
            put(&mut out, b", ");
        }
        out.extend_from_slice(body);
    }
    out.push(b']');
    out
}

/// The series objects of a json body, comma-separated, without the enclosing brackets.
/// About 24 bytes a point (`[123.45, 1795336020], `); reserving it avoids regrowing a
/// multi-megabyte buffer.
fn estimated_json_len(series: &[Series]) -> usize {
    64 + series
        .iter()
        .map(|s| s.values.len() * 24 + s.name.len() * 2 + 64)
        .sum::<usize>()
}

/// Appends the series objects of a json body, comma-separated, without the enclosing brackets.
fn json_series(out: &mut Vec<u8>, series: &[Series], no_null: bool) {
    let mut first_series = true;
    for s in series {
        if no_null && !s.values.iter().any(|v| matches!(v, Some(x) if !x.is_nan())) {
            continue;
        }
        if !first_series {
            put(out, b", ");
        }
        first_series = false;
        put(out, b"{\"target\": ");
        json_string(out, &s.name);
        put(out, b", \"tags\": {");
        for (i, (k, v)) in s.tags.iter().enumerate() {
            if i > 0 {
                put(out, b", ");
            }
            json_string(out, k);
            put(out, b": ");
            json_string(out, v);
        }
        put(out, b"}, \"datapoints\": [");
        let mut first = true;
        for (v, ts) in points(s) {
            if no_null && !matches!(v, Some(x) if !x.is_nan()) {
                continue;
            }
            if !first {
                put(out, b", ");
            }
            first = false;
            out.push(b'[');
            json_value(out, v);
            put(out, b", ");
            write_i64(out, ts);
            out.push(b']');
        }
        put(out, b"]}");
    }
}

/// `name,YYYY-mm-dd HH:MM:SS,value` per point (UTC), empty value for null.
pub fn csv_body(series: &[Series]) -> String {
    let mut out = String::new();
    for s in series {
        let name = csv_field(&s.name);
        for (v, ts) in points(s) {
            let value = match v {
                Some(x) => float_repr(x),
                None => String::new(),
            };
            let _ = writeln!(out, "{name},{},{value}", format_utc(ts));
        }
    }
    out
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// `name,start,end,step|v1,v2,None,…` per series.
pub fn raw_body(series: &[Series]) -> String {
    let mut out = String::new();
    for s in series {
        let _ = write!(out, "{},{},{},{}|", s.name, s.start, s.end, s.step);
        for (i, v) in s.values.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            match v {
                Some(x) => out.push_str(&float_repr(*x)),
                None => out.push_str("None"),
            }
        }
        out.push('\n');
    }
    out
}

/// `YYYY-mm-dd HH:MM:SS` in UTC, from the proleptic Gregorian calendar.
pub fn format_utc(ts: i64) -> String {
    let days = ts.div_euclid(86400);
    let secs = ts.rem_euclid(86400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        secs / 3600,
        (secs % 3600) / 60,
        secs % 60
    )
}

/// Days since 1970-01-01 to (year, month, day) (Howard Hinnant's civil_from_days algorithm).
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn series(name: &str, start: i64, step: i64, values: Vec<Option<f64>>) -> Series {
        let end = start + step * values.len() as i64;
        Series {
            name: name.into(),
            tags: BTreeMap::from([("name".to_string(), name.to_string())]),
            path_expression: name.into(),
            start,
            end,
            step,
            values,
            consolidation: Default::default(),
            x_files_factor: 0.0,
        }
    }

    fn json_text(series: &[Series], no_null: bool) -> String {
        String::from_utf8(json_body(series, no_null)).unwrap()
    }

    #[test]
    fn formats_match_graphite_web_docs() {
        // anchors.md §1.5 test vectors.
        let s = series(
            "entries",
            1311836008,
            1,
            vec![Some(1.0), Some(2.0), Some(3.0), Some(5.0), Some(6.0)],
        );
        let mut raw_s = s.clone();
        raw_s.end = 1311836013;
        assert_eq!(
            raw_body(&[raw_s]),
            "entries,1311836008,1311836013,1|1.0,2.0,3.0,5.0,6.0\n"
        );
        assert!(csv_body(std::slice::from_ref(&s)).starts_with("entries,2011-07-28 06:53:28,1.0\n"));
        let j = json_text(
            &[series(
                "e",
                10,
                10,
                vec![Some(1.0), None, Some(f64::INFINITY), Some(f64::NAN)],
            )],
            false,
        );
        assert_eq!(
            j,
            "[{\"target\": \"e\", \"tags\": {\"name\": \"e\"}, \"datapoints\": [[1.0, 10], [null, 20], [1e9999, 30], [null, 40]]}]"
        );
        let v: serde_json::Value = serde_json::from_str(&j.replace("1e9999", "1e300")).unwrap();
        assert_eq!(v[0]["datapoints"][1][1], 20);
    }

    #[test]
    fn no_null_points_drops_nulls_and_empty_series() {
        let j = json_text(
            &[
                series("a", 10, 10, vec![None, Some(2.0)]),
                series("b", 10, 10, vec![None, None]),
            ],
            true,
        );
        assert_eq!(
            j,
            "[{\"target\": \"a\", \"tags\": {\"name\": \"a\"}, \"datapoints\": [[2.0, 20]]}]"
        );
    }

    #[test]
    fn parallel_formatting_gives_the_same_body() {
        let many: Vec<Series> = (0..7)
            .map(|i| {
                let values = (0..30_000)
                    .map(|j| {
                        if (i + j) % 5 == 0 {
                            None
                        } else {
                            Some(j as f64 / 4.0)
                        }
                    })
                    .collect();
                series(&format!("s{i}"), 10, 10, values)
            })
            .collect();
        let body = json_text(&many, false);
        let mut sequential = String::from("[");
        for (i, s) in many.iter().enumerate() {
            if i > 0 {
                sequential.push_str(", ");
            }
            let one = json_text(std::slice::from_ref(s), false);
            sequential.push_str(&one[1..one.len() - 1]);
        }
        sequential.push(']');
        assert!(many.iter().map(|s| s.values.len()).sum::<usize>() > PARALLEL_FORMAT_POINTS);
        assert_eq!(body, sequential);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v.as_array().unwrap().len(), 7);
        let no_null = json_text(&many, true);
        assert!(!no_null.contains("null"));
    }

    #[test]
    fn utc_dates() {
        assert_eq!(format_utc(0), "1970-01-01 00:00:00");
        assert_eq!(format_utc(951782400), "2000-02-29 00:00:00");
        assert_eq!(format_utc(1311836008), "2011-07-28 06:53:28");
    }
}
