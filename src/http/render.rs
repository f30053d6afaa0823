//! `GET|POST /render`: evaluates targets through `lookout-query` and writes graphite-web's
//! data formats — json (with `maxDataPoints` consolidation, `noNullPoints`, `jsonp`), csv and
//! raw. Evaluation runs on a blocking thread; the engines are synchronous.

use std::fmt::Write as _;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use lookout_query::{RenderContext, Series};

use super::error::ApiError;
use super::params::Params;
use super::pyfmt::{float_repr, write_float_repr};
use super::AppState;

/// graphite-web's default range when `from` is absent.
const DEFAULT_FROM: &str = "-24h";

/// The time range of a request: `from`, `until` (and `now`), parsed in graphite-web's forms.
pub fn time_range(params: &Params, real_now: i64) -> Result<(i64, i64, i64), ApiError> {
    let now = match params.get("now") {
        Some(t) => lookout_query::parse_time(t, real_now)?,
        None => real_now,
    };
    let from = lookout_query::parse_time(params.get("from").unwrap_or(DEFAULT_FROM), now)?;
    let until = lookout_query::parse_time(params.get("until").unwrap_or("now"), now)?;
    if from >= until {
        return Err(ApiError::BadRequest(format!(
            "from ({from}) must be before until ({until})"
        )));
    }
    Ok((from, until, now))
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

    let store = state.store.clone();
    let series = tokio::task::spawn_blocking(move || -> Result<Vec<Series>, ApiError> {
        let ctx = RenderContext {
            reader: store.as_ref(),
            from,
            until,
            now,
        };
        let mut out = Vec::new();
        for t in &targets {
            match xff {
                Some(x) => out.extend(lookout_query::evaluate_with_xff(&ctx, t, x)?),
                None => out.extend(lookout_query::evaluate(&ctx, t)?),
            }
        }
        Ok(out)
    })
    .await??;

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
                    text_response("text/javascript", format!("{cb}({body})"))
                }
                Some(_) => {
                    return Err(ApiError::BadRequest(
                        "jsonp callback must be a JavaScript identifier".into(),
                    ))
                }
                None => text_response("application/json", body),
            })
        }
        "csv" => Ok(text_response("text/csv", csv_body(&series))),
        "raw" => Ok(text_response("text/plain", raw_body(&series))),
        other => Err(ApiError::BadRequest(format!(
            "format {other:?} is not supported: use json, csv or raw (images are left to Grafana)"
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

fn text_response(ctype: &'static str, body: String) -> Response {
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
fn json_value(out: &mut String, v: Option<f64>) {
    match v {
        None => out.push_str("null"),
        Some(x) if x.is_nan() => out.push_str("null"),
        Some(x) if x.is_infinite() => out.push_str(if x > 0.0 { "1e9999" } else { "-1e9999" }),
        Some(x) => write_float_repr(out, x),
    }
}

fn json_string(out: &mut String, s: &str) {
    // serde_json escapes exactly what JSON requires; writing into a String cannot fail.
    out.push_str(&serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into()));
}

pub fn json_body(series: &[Series], no_null: bool) -> String {
    let mut out =
        String::with_capacity(64 + series.iter().map(|s| s.values.len() * 20).sum::<usize>());
    out.push('[');
    let mut first_series = true;
    for s in series {
        if no_null && !s.values.iter().any(|v| matches!(v, Some(x) if !x.is_nan())) {
            continue;
        }
        if !first_series {
            out.push_str(", ");
        }
        first_series = false;
        out.push_str("{\"target\": ");
        json_string(&mut out, &s.name);
        out.push_str(", \"tags\": {");
        for (i, (k, v)) in s.tags.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            json_string(&mut out, k);
            out.push_str(": ");
            json_string(&mut out, v);
        }
        out.push_str("}, \"datapoints\": [");
        let mut first = true;
        for (v, ts) in points(s) {
            if no_null && !matches!(v, Some(x) if !x.is_nan()) {
                continue;
            }
            if !first {
                out.push_str(", ");
            }
            first = false;
            out.push('[');
            json_value(&mut out, v);
            let _ = write!(out, ", {ts}]");
        }
        out.push_str("]}");
    }
    out.push(']');
    out
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
                Some(x) => write_float_repr(&mut out, *x),
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
fn civil_from_days(z: i64) -> (i64, u32, u32) {
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
        let j = json_body(
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
        let j = json_body(
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
    fn utc_dates() {
        assert_eq!(format_utc(0), "1970-01-01 00:00:00");
        assert_eq!(format_utc(951782400), "2000-02-29 00:00:00");
        assert_eq!(format_utc(1311836008), "2011-07-28 06:53:28");
    }
}
