//! `events(*tags)` in `/render` against the real binary: events posted to `/events/` and the
//! error-burst events computed from posted logs, counted per second as graphite-web 1.1's
//! `events()` does, with tag filters, `"*"`, `drawAsInfinite`, `maxDataPoints` (sums) and the
//! function listed in `/functions`.

use std::time::Duration;

use serde_json::{json, Value};

use crate::util::{now, wait_until, Lookout};

fn post_event(l: &Lookout, ev: Value) {
    let r = l.post("/events/", "application/json", ev.to_string().as_bytes());
    assert_eq!(r.status, 200, "{}", r.text());
}

/// One rendered series: its name, its number of points and its non-null `(timestamp, value)`s.
type Rendered = (String, usize, Vec<(i64, f64)>);

/// Every series a render answers, as [`Rendered`].
fn render(
    l: &Lookout,
    target: &str,
    from: i64,
    until: i64,
    extra: &[(&str, &str)],
) -> Vec<Rendered> {
    let (f, u) = (from.to_string(), until.to_string());
    let mut p = vec![
        ("target", target),
        ("from", f.as_str()),
        ("until", u.as_str()),
        ("format", "json"),
    ];
    p.extend_from_slice(extra);
    let r = l.get_query("/render", &p);
    assert_eq!(r.status, 200, "render {target}: {}", r.text());
    r.json()
        .as_array()
        .expect("a list of series")
        .iter()
        .map(|s| {
            let points = s["datapoints"].as_array().expect("datapoints");
            let set = points
                .iter()
                .filter(|p| !p[0].is_null())
                .map(|p| (p[1].as_i64().expect("ts"), p[0].as_f64().expect("value")))
                .collect();
            (
                s["target"].as_str().expect("target").to_string(),
                points.len(),
                set,
            )
        })
        .collect()
}

#[test]
fn events_counts_posted_events_per_second_as_graphite_web_does() {
    let l = Lookout::start();
    let t = (now() - 3600) / 60 * 60;
    post_event(
        &l,
        json!({"what": "deploy v1", "tags": ["deploy", "web"], "when": t + 10}),
    );
    post_event(
        &l,
        json!({"what": "deploy v1 db", "tags": "deploy db", "when": t + 10}),
    );
    post_event(
        &l,
        json!({"what": "config", "tags": ["config"], "when": t + 20}),
    );
    post_event(
        &l,
        json!({"what": "deploy v2", "tags": ["deploy"], "when": t + 200}),
    );
    post_event(
        &l,
        json!({"what": "too late", "tags": ["deploy"], "when": t + 300}),
    );
    let name = |s: &str| s.to_string();

    assert_eq!(
        render(&l, r#"events("deploy")"#, t, t + 300, &[]),
        [(
            name(r#"events("deploy")"#),
            300,
            vec![(t + 10, 2.0), (t + 200, 1.0)]
        )],
        "a point a second in [from, until); the event at until has no slot"
    );
    assert_eq!(
        render(&l, "events('deploy', 'web')", t, t + 300, &[]),
        [(name(r#"events("deploy", "web")"#), 300, vec![(t + 10, 1.0)])],
        "every tag must be on the event"
    );
    assert_eq!(
        render(&l, r#"events("*")"#, t, t + 300, &[]),
        [(
            name(r#"events("*")"#),
            300,
            vec![(t + 10, 2.0), (t + 20, 1.0), (t + 200, 1.0)]
        )]
    );
    assert_eq!(
        render(&l, r#"drawAsInfinite(events("deploy"))"#, t, t + 300, &[]),
        [(
            name(r#"drawAsInfinite(events("deploy"))"#),
            300,
            vec![(t + 10, 2.0), (t + 200, 1.0)]
        )]
    );
    assert_eq!(
        render(
            &l,
            r#"events("deploy")"#,
            t,
            t + 300,
            &[("maxDataPoints", "30")]
        ),
        [(
            name(r#"events("deploy")"#),
            30,
            vec![(t + 10, 2.0), (t + 200, 1.0)]
        )],
        "consolidated by sum into 10 s points"
    );
    assert_eq!(
        render(&l, r#"events("nothing")"#, t, t + 300, &[]),
        [(name(r#"events("nothing")"#), 300, vec![])]
    );
    let r = l.get_query("/render", &[("target", "events()"), ("format", "json")]);
    assert_eq!(r.status, 400, "{}", r.text());

    // graphite's /functions writes infinite defaults as 1e9999, which serde refuses.
    let text = l.get("/functions").text().replace("1e9999", "1e308");
    let functions: Value = serde_json::from_str(&text).expect("/functions is JSON");
    assert_eq!(
        functions["events"]["group"], "Special",
        "{}",
        functions["events"]
    );
}

#[test]
fn events_counts_error_bursts_from_the_logs() {
    let l = Lookout::start();
    let base = (now() - 3600) / 60 * 60;
    // A component that logs nothing but one burst of 12 errors in minute 3: its first burst.
    let mut body = String::new();
    for i in 0..12 {
        let rec =
            json!({"ts": base + 180 + i, "component": "pay.api", "level": "err", "message": "x"});
        body.push_str(&rec.to_string());
        body.push('\n');
    }
    let r = l.post("/api/v1/logs", "application/x-ndjson", body.as_bytes());
    assert_eq!(r.status, 200, "{}", r.text());
    post_event(
        &l,
        json!({"what": "deploy", "tags": ["deploy"], "when": base + 170}),
    );

    let (from, until) = (base, base + 600);
    let mut listed = Vec::new();
    wait_until(Duration::from_secs(20), "the burst event", || {
        let (f, u) = (from.to_string(), until.to_string());
        let r = l.get_query(
            "/events/get_data",
            &[("from", &f), ("until", &u), ("tags", "errors")],
        );
        listed = r.json().as_array().cloned().unwrap_or_default();
        !listed.is_empty()
    });
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["what"], "error burst: pay.api");
    let when = listed[0]["when"].as_i64().expect("when");
    assert_eq!(when, base + 180);

    assert_eq!(
        render(&l, r#"events("errors")"#, from, until, &[]),
        [(r#"events("errors")"#.to_string(), 600, vec![(when, 1.0)])]
    );
    assert_eq!(
        render(&l, r#"events("logs", "pay.api")"#, from, until, &[])[0].2,
        [(when, 1.0)]
    );
    assert_eq!(
        render(&l, r#"events("*")"#, from, until, &[])[0].2,
        [(base + 170, 1.0), (when, 1.0)],
        "\"*\" counts stored events and bursts"
    );
    assert_eq!(
        render(&l, r#"events("deploy")"#, from, until, &[])[0].2,
        [(base + 170, 1.0)]
    );
}
