//! `lookout query`: a client of the public render API. It asks a running server for a target
//! and prints a table (one row per timestamp, one column per series) or the JSON as received.

use anyhow::{bail, Context};
use serde::Deserialize;

use crate::cli::{QueryArgs, QueryFormat};

#[derive(Deserialize)]
struct RenderedSeries {
    target: String,
    datapoints: Vec<(Option<f64>, i64)>,
}

/// Runs `lookout query`.
pub fn query(args: &QueryArgs) -> anyhow::Result<()> {
    let url = format!("{}/render", args.server.trim_end_matches('/'));
    let mut req = ureq::post(&url);
    if let Some(t) = &args.token {
        req = req.set("Authorization", &format!("Bearer {t}"));
    }
    let resp = req.send_form(&[
        ("target", args.target.as_str()),
        ("from", args.from.as_str()),
        ("until", args.until.as_str()),
        ("format", "json"),
    ]);
    let body = match resp {
        Ok(r) => r.into_string().context("reading the server's answer")?,
        Err(ureq::Error::Status(code, r)) => {
            let text = r.into_string().unwrap_or_default();
            let msg = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string))
                .unwrap_or(text);
            bail!("the server refused the query ({code}): {msg}");
        }
        Err(e) => return Err(e).with_context(|| format!("asking {url}")),
    };
    match args.format {
        QueryFormat::Json => println!("{body}"),
        QueryFormat::Table => {
            // graphite-web writes +infinity as 1e9999, which parses as f64::INFINITY.
            let series: Vec<RenderedSeries> =
                serde_json::from_str(&body).context("the server's answer is not render JSON")?;
            print!("{}", table(&series));
        }
    }
    Ok(())
}

fn table(series: &[RenderedSeries]) -> String {
    if series.is_empty() {
        return "no series matched\n".to_string();
    }
    let mut times: Vec<i64> = series
        .iter()
        .flat_map(|s| s.datapoints.iter().map(|p| p.1))
        .collect();
    times.sort_unstable();
    times.dedup();
    let mut rows: Vec<Vec<String>> = Vec::with_capacity(times.len() + 1);
    let mut header = vec!["time (UTC)".to_string()];
    header.extend(series.iter().map(|s| s.target.clone()));
    rows.push(header);
    let lookups: Vec<std::collections::HashMap<i64, Option<f64>>> = series
        .iter()
        .map(|s| s.datapoints.iter().map(|(v, t)| (*t, *v)).collect())
        .collect();
    for t in &times {
        let mut row = vec![crate_time(*t)];
        for l in &lookups {
            row.push(match l.get(t).copied().flatten() {
                Some(v) => format_value(v),
                None => "-".to_string(),
            });
        }
        rows.push(row);
    }
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for (i, r) in rows.iter().enumerate() {
        let cells: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(c, cell)| {
                if c == 0 {
                    format!("{cell:<w$}", w = widths[c])
                } else {
                    format!("{cell:>w$}", w = widths[c])
                }
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
        if i == 0 {
            out.push_str(
                &widths
                    .iter()
                    .map(|w| "-".repeat(*w))
                    .collect::<Vec<_>>()
                    .join("  "),
            );
            out.push('\n');
        }
    }
    out
}

fn crate_time(ts: i64) -> String {
    crate::http::format_utc(ts)
}

/// Up to 6 significant digits, integers without a fraction.
fn format_value(v: f64) -> String {
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if v == v.trunc() && v.abs() < 1e15 {
        return format!("{}", v as i64);
    }
    let s = format!("{v:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_lines_up_series_by_time() {
        let s = vec![
            RenderedSeries {
                target: "a".into(),
                datapoints: vec![(Some(1.0), 0), (None, 10)],
            },
            RenderedSeries {
                target: "sumSeries(b.*)".into(),
                datapoints: vec![(Some(2.5), 10)],
            },
        ];
        let t = table(&s);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "time (UTC)           a  sumSeries(b.*)");
        assert_eq!(lines[1], "-------------------  -  --------------");
        assert_eq!(lines[2], "1970-01-01 00:00:00  1               -");
        assert_eq!(lines[3], "1970-01-01 00:00:10  -             2.5");
    }
}
