//! Graphite tags end to end: tagged plaintext lines over TCP, then every tag endpoint Grafana
//! uses (`/tags`, `/tags/<tag>`, `/tags/findSeries`, `/tags/autoComplete/{tags,values}`) in
//! graphite-web 1.1's shapes, `seriesByTag`/`groupByTags`/`aliasByTags` through `/render`, and
//! bad tag expressions answered with a 400 that names the problem.

use serde_json::{json, Value};

use crate::util::{aligned_ago, Lookout, DATA_DEADLINE};

/// The tagged series every test here sends, one point each at `base`.
const SERIES: [(&str, f64); 5] = [
    ("disk.used;host=web01;dc=sf", 1.0),
    ("disk.used;dc=sf;host=web02", 2.0),
    ("disk.used;dc=ny;host=web03", 4.0),
    ("disk.used;dc=ny;host=db01;rack=a1", 8.0),
    ("cpu.load;dc=sf;host=web01", 16.0),
];

/// A server holding [`SERIES`] (and one untagged series), once all are visible to tag queries.
fn tagged_server() -> (Lookout, i64) {
    let l = Lookout::start();
    let base = aligned_ago(600);
    let mut text: String = SERIES
        .iter()
        .map(|(name, v)| format!("{name} {v} {base}\n"))
        .collect();
    text.push_str(&format!("plain.metric 32 {base}\n"));
    l.send_tcp(text.as_bytes());
    crate::util::wait_until(DATA_DEADLINE, "all six series", || {
        l.get("/metrics/index.json").json().as_array().map(Vec::len) == Some(6)
    });
    (l, base)
}

/// `GET path?params` answered 200 with this JSON.
#[track_caller]
fn check(l: &Lookout, path: &str, params: &[(&str, &str)], expected: Value) {
    let r = l.get_query(path, params);
    assert_eq!(r.status, 200, "{path} {params:?}: {}", r.text());
    assert_eq!(r.header("content-type"), Some("application/json"), "{path}");
    assert_eq!(r.json(), expected, "{path} {params:?}");
}

/// `GET path?params` answered 400 with a JSON error containing `fragment`.
#[track_caller]
fn check_bad(l: &Lookout, path: &str, params: &[(&str, &str)], fragment: &str) {
    let r = l.get_query(path, params);
    assert_eq!(r.status, 400, "{path} {params:?}: {}", r.text());
    let error = r.json()["error"].as_str().unwrap_or_default().to_string();
    assert!(error.contains(fragment), "{path} {params:?}: {error}");
}

#[test]
fn tag_endpoints_answer_in_graphite_web_shapes() {
    let (l, _) = tagged_server();
    check(
        &l,
        "/tags",
        &[],
        json!([{"tag": "dc"}, {"tag": "host"}, {"tag": "name"}, {"tag": "rack"}]),
    );
    check(
        &l,
        "/tags",
        &[("filter", "h|r")],
        json!([{"tag": "host"}, {"tag": "rack"}]),
    );
    check(&l, "/tags", &[("limit", "1")], json!([{"tag": "dc"}]));
    check(
        &l,
        "/tags/dc",
        &[],
        json!({"tag": "dc", "values": [{"count": 2, "value": "ny"}, {"count": 3, "value": "sf"}]}),
    );
    check(
        &l,
        "/tags/host",
        &[("filter", "web0[12]")],
        json!({"tag": "host", "values": [{"count": 2, "value": "web01"}, {"count": 1, "value": "web02"}]}),
    );
    check(&l, "/tags/nosuch", &[], Value::Null);
    check(
        &l,
        "/tags/findSeries",
        &[
            ("expr", "name=disk.used"),
            ("expr", "host=~web.*"),
            ("expr", "dc!=sf"),
        ],
        json!(["disk.used;dc=ny;host=web03"]),
    );
    check(
        &l,
        "/tags/findSeries",
        &[("expr[]", "dc=sf")],
        json!([
            "cpu.load;dc=sf;host=web01",
            "disk.used;dc=sf;host=web01",
            "disk.used;dc=sf;host=web02"
        ]),
    );
    check(
        &l,
        "/tags/findSeries",
        &[("expr", "name=plain.metric")],
        json!(["plain.metric"]),
    );
    check(
        &l,
        "/tags/autoComplete/tags",
        &[],
        json!(["dc", "host", "name", "rack"]),
    );
    check(
        &l,
        "/tags/autoComplete/tags",
        &[("tagPrefix", "h")],
        json!(["host"]),
    );
    check(
        &l,
        "/tags/autoComplete/tags",
        &[("expr", "dc=ny")],
        json!(["host", "name", "rack"]),
    );
    check(
        &l,
        "/tags/autoComplete/values",
        &[("tag", "host")],
        json!(["db01", "web01", "web02", "web03"]),
    );
    check(
        &l,
        "/tags/autoComplete/values",
        &[("tag", "host"), ("expr", "dc=ny"), ("valuePrefix", "w")],
        json!(["web03"]),
    );
    check(
        &l,
        "/tags/autoComplete/values",
        &[("tag", "name"), ("limit", "1")],
        json!(["cpu.load"]),
    );
    // Grafana posts autocompletion forms.
    let r = l.post_form(
        "/tags/autoComplete/values",
        &[("tag", "dc"), ("expr", "name=cpu.load")],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), json!(["sf"]));
    // Grafana's function editor learns the tag functions and both names of log from /functions.
    // (Read as text: infinite defaults are the bare number 1e9999, as graphite-web writes them.)
    let functions = l.get("/functions").text();
    for name in [
        "seriesByTag",
        "groupByTags",
        "aliasByTags",
        "log",
        "logarithm",
    ] {
        assert!(
            functions.contains(&format!("\"{name}\":{{")),
            "{name} missing from /functions"
        );
    }
    // `pretty` indents by two, as graphite-web's json.dumps(indent=2).
    let r = l.get_query("/tags", &[("pretty", "1"), ("limit", "1")]);
    assert_eq!(r.text(), "[\n  {\n    \"tag\": \"dc\"\n  }\n]");
}

#[test]
fn bad_tag_queries_are_400_with_the_reason() {
    let (l, _) = tagged_server();
    check_bad(&l, "/tags/findSeries", &[], "no tag expressions");
    check_bad(
        &l,
        "/tags/findSeries",
        &[("expr", "host~web")],
        "no operator",
    );
    check_bad(
        &l,
        "/tags/findSeries",
        &[("expr", "host!web")],
        "unknown operator",
    );
    check_bad(
        &l,
        "/tags/findSeries",
        &[("expr", "host=~(")],
        "invalid regular expression",
    );
    check_bad(
        &l,
        "/tags/findSeries",
        &[("expr", "host!=web01")],
        "non-empty value",
    );
    check_bad(
        &l,
        "/tags",
        &[("filter", "(")],
        "invalid regular expression",
    );
    check_bad(&l, "/tags", &[("limit", "many")], "invalid limit");
    check_bad(&l, "/tags/autoComplete/values", &[], "no tag specified");
    check_bad(
        &l,
        "/tags/autoComplete/tags",
        &[("expr", "dc~x")],
        "no operator",
    );
    for (target, fragment) in [
        ("seriesByTag('host~web')", "no operator"),
        ("seriesByTag('host=~(')", "invalid regular expression"),
        ("seriesByTag('dc!=sf')", "non-empty value"),
        (
            "grep(seriesByTag('dc=sf'),'[')",
            "invalid regular expression",
        ),
    ] {
        check_bad(
            &l,
            "/render",
            &[("target", target), ("format", "json")],
            fragment,
        );
    }
    // Nothing was lost to the bad requests.
    check(
        &l,
        "/tags/findSeries",
        &[("expr", "dc=ny")],
        json!([
            "disk.used;dc=ny;host=db01;rack=a1",
            "disk.used;dc=ny;host=web03"
        ]),
    );
}

/// Names and the value at `base` of every series a target renders.
fn rendered(l: &Lookout, target: &str, base: i64) -> Vec<(String, Option<f64>)> {
    let v = l.render_json(target, base - 60, base + 60);
    v.as_array()
        .expect("render gives a list")
        .iter()
        .map(|s| {
            let value = s["datapoints"]
                .as_array()
                .and_then(|pts| pts.iter().find(|p| p[1].as_i64() == Some(base)))
                .and_then(|p| p[0].as_f64());
            (s["target"].as_str().unwrap_or_default().to_string(), value)
        })
        .collect()
}

#[track_caller]
fn check_render(l: &Lookout, base: i64, target: &str, expected: &[(&str, f64)]) {
    let want: Vec<(String, Option<f64>)> = expected
        .iter()
        .map(|(n, v)| (n.to_string(), Some(*v)))
        .collect();
    assert_eq!(rendered(l, target, base), want, "{target}");
}

#[test]
fn tag_functions_render_through_the_api() {
    let (l, base) = tagged_server();
    check_render(
        &l,
        base,
        "seriesByTag('name=disk.used','host=~web.*','dc!=sf')",
        &[("disk.used;dc=ny;host=web03", 4.0)],
    );
    check_render(
        &l,
        base,
        "seriesByTag('name=disk.used')|groupByTags('sum','dc')",
        &[("disk.used;dc=ny", 12.0), ("disk.used;dc=sf", 3.0)],
    );
    check_render(
        &l,
        base,
        "groupByTags(seriesByTag('dc=sf'),'max','host')",
        &[("max;host=web01", 16.0), ("max;host=web02", 2.0)],
    );
    check_render(
        &l,
        base,
        "seriesByTag('host=web01')|aliasByTags('host','name')",
        &[("web01.cpu.load", 16.0), ("web01.disk.used", 1.0)],
    );
    check_render(
        &l,
        base,
        "logarithm(seriesByTag('rack=a1'),2)",
        &[("log(disk.used;dc=ny;host=db01;rack=a1, 2)", 3.0)],
    );
}
