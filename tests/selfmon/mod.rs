//! Self-monitoring from outside: `GET /metrics` is valid Prometheus text whose ingest counters
//! match what the test sent, and the same figures appear as `lookout.*` Graphite series.

use std::time::Duration;

use crate::util::{aligned_ago, now, parse_prometheus, wait_until, Lookout, DATA_DEADLINE};

/// The server writes its self-metrics as series every 10 s; allow a few rounds.
const SELF_SERIES_DEADLINE: Duration = Duration::from_secs(60);

#[test]
fn prometheus_text_parses_and_counts_what_was_sent() {
    let l = Lookout::start();
    let base = aligned_ago(3600);
    let good: String = (0..7)
        .map(|i| format!("sm.a {i} {}\n", base + i * 10))
        .collect();
    l.send_tcp(format!("{good}sm.bad\nsm.bad x {base}\n").as_bytes());
    l.wait_for_points(
        "sm.a",
        base - 10,
        base + 100,
        &(0..7)
            .map(|i| (base + i * 10, i as f64))
            .collect::<Vec<_>>(),
    );
    let received = || {
        l.metric_sum(
            "lookout_ingest_points_received_total",
            &[("proto", "graphite_tcp")],
        )
    };
    let invalid = || {
        l.metric_sum(
            "lookout_ingest_records_invalid_total",
            &[("proto", "graphite_tcp")],
        )
    };
    wait_until(DATA_DEADLINE, "the counters to catch up", || {
        received() >= 7.0 && invalid() >= 2.0
    });
    assert_eq!(received(), 7.0, "points received over graphite_tcp");
    assert_eq!(invalid(), 2.0, "invalid graphite_tcp records");

    let r = l.get("/metrics");
    assert!(
        r.header("content-type")
            .is_some_and(|c| c.starts_with("text/plain")),
        "{:?}",
        r.headers
    );
    let text = r.text();
    let samples = parse_prometheus(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    // Every family is declared with # TYPE, and the reason label explains each invalid record.
    for s in &samples {
        let family = s
            .name
            .trim_end_matches("_bucket")
            .trim_end_matches("_sum")
            .trim_end_matches("_count");
        assert!(
            text.contains(&format!("# TYPE {} ", s.name))
                || text.contains(&format!("# TYPE {family} ")),
            "{} has no # TYPE line",
            s.name
        );
        if s.name == "lookout_ingest_records_invalid_total" {
            assert!(s.labels.iter().any(|(k, _)| k == "reason"), "{s:?}");
        }
    }
    assert!(
        samples.iter().any(|s| s.name == "lookout_tsdb_series"),
        "no lookout_tsdb_series in\n{text}"
    );
    // The series count may be sampled periodically rather than on every scrape.
    wait_until(
        SELF_SERIES_DEADLINE,
        "lookout_tsdb_series to count sm.a",
        || l.metric_sum("lookout_tsdb_series", &[]) >= 1.0,
    );
}

#[test]
fn self_metrics_become_lookout_series() {
    let l = Lookout::start();
    let base = aligned_ago(3600);
    l.send_tcp(
        format!(
            "sm.b 1 {base}\nsm.b 2 {}\nsm.b 3 {}\n",
            base + 10,
            base + 20
        )
        .as_bytes(),
    );
    l.wait_for_points(
        "sm.b",
        base - 10,
        base + 100,
        &[(base, 1.0), (base + 10, 2.0), (base + 20, 3.0)],
    );
    wait_until(
        SELF_SERIES_DEADLINE,
        "lookout.ingest to appear in /metrics/find",
        || {
            let r = l.get_query("/metrics/find", &[("query", "lookout.*")]);
            r.status == 200
                && r.json().as_array().is_some_and(|a| {
                    a.iter()
                        .any(|n| n["id"] == "lookout.ingest" && n["leaf"] == 0)
                })
        },
    );
    let target = "lookout.ingest.points_received_total.graphite_tcp";
    wait_until(
        SELF_SERIES_DEADLINE,
        "the received count to be written as a series",
        || {
            l.render_points(target, now() - 600, now())
                .iter()
                .any(|(_, p)| p.last().is_some_and(|(_, v)| *v == 3.0))
        },
    );
}

/// Every plain series the built-in dashboard draws exists once self-metrics are written, the
/// memory graph's included: a renamed gauge would otherwise leave an empty panel nobody
/// notices. Per-protocol counters (`lookout.ingest.points_dropped_total.*`) only exist once
/// something is counted, so wildcard targets are left out.
#[test]
fn the_builtin_dashboard_draws_only_series_that_exist() {
    let l = Lookout::start();
    let doc = l.get("/api/v1/dashboards/lookout").json();
    let text = doc["panels"].to_string();
    let re = regex::Regex::new(r"lookout(\.[a-z0-9_]+)+").expect("regex");
    let mut paths: Vec<&str> = re
        .find_iter(&text)
        .filter(|m| !text[m.end()..].starts_with('.'))
        .map(|m| m.as_str())
        .collect();
    paths.sort_unstable();
    paths.dedup();
    assert!(
        paths.contains(&"lookout.process.heap_in_use_bytes"),
        "{paths:?}"
    );
    for path in paths {
        wait_until(SELF_SERIES_DEADLINE, &format!("{path} to exist"), || {
            let r = l.get_query("/metrics/find", &[("query", path)]);
            r.status == 200 && r.json().as_array().is_some_and(|a| !a.is_empty())
        });
    }
    let in_use = l.metric_sum("lookout_process_heap_in_use_bytes", &[]);
    // An idle server holds about a megabyte: its maps, buffers and thread state.
    assert!(in_use > 1e5, "heap in use {in_use}");
}
