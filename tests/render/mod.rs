//! The Graphite web API's shapes against hand-computed expectations (graphite-web 1.1
//! behaviour, `shared/reference/anchors.md` §1.5–1.7): render in json/csv/raw, maxDataPoints
//! consolidation with graphite-web's nudge, noNullPoints, `/metrics/find` (treejson and
//! completer), `/metrics/expand`, `/metrics/index.json`, `/functions`, `/version`, the exact
//! requests Grafana sends, error answers, and `DELETE /metrics`. Function semantics beyond
//! these shapes are checked against graphite-web itself in `conformance`.

use serde_json::{json, Value};

use crate::util::{
    aligned_ago, datapoints, same_json, series_points, wait_until, Lookout, DATA_DEADLINE,
};

/// Stores `lines` through the acknowledged HTTP path and waits until each `(target, n)` shows
/// `n` non-null points from `from` to `until`, so the test reads a settled store.
fn store(l: &Lookout, lines: &[String], waits: &[(&str, usize)], from: i64, until: i64) {
    let r = l.post_metrics(&lines.join("\n"));
    assert_eq!(r.status, 200, "{}", r.text());
    for (target, n) in waits {
        wait_until(DATA_DEADLINE, &format!("{target} to be stored"), || {
            l.render_points(target, from, until)
                .iter()
                .map(|(_, p)| p.len())
                .sum::<usize>()
                == *n
        });
    }
}

/// `fmt.a` at b: 1.5, b+10: 2.25, (b+20 missing), b+30: 5.5, b+40: 6.0, and `fmt.b` at b: 10
/// and b+40: -1.
fn format_fixture() -> (Lookout, i64) {
    let l = Lookout::start();
    let b = aligned_ago(3600);
    let lines = vec![
        format!("fmt.a 1.5 {b}"),
        format!("fmt.a 2.25 {}", b + 10),
        format!("fmt.a 5.5 {}", b + 30),
        format!("fmt.a 6.0 {}", b + 40),
        format!("fmt.b 10 {b}"),
        format!("fmt.b -1 {}", b + 40),
    ];
    store(&l, &lines, &[("fmt.*", 6)], b - 10, b + 40);
    (l, b)
}

fn render(l: &Lookout, params: &[(&str, &str)]) -> crate::util::Response {
    let r = l.get_query("/render", params);
    assert_eq!(r.status, 200, "render {params:?}: {}", r.text());
    r
}

#[track_caller]
fn assert_json(got: &Value, want: &Value) {
    assert!(same_json(got, want), "\n want: {want}\n  got: {got}");
}

/// `YYYY-mm-dd HH:MM:SS` in UTC, as graphite-web's csv writes timestamps.
fn utc(ts: i64) -> String {
    let days = ts.div_euclid(86_400);
    let secs = ts.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

#[test]
fn utc_formats_like_strftime() {
    assert_eq!(utc(0), "1970-01-01 00:00:00");
    assert_eq!(utc(1_311_836_008), "2011-07-28 06:53:28");
    assert_eq!(utc(951_782_400), "2000-02-29 00:00:00");
}

#[test]
fn render_json_has_target_tags_and_value_timestamp_pairs() {
    let (l, b) = format_fixture();
    let (from, until) = ((b - 10).to_string(), (b + 40).to_string());
    let r = render(
        &l,
        &[
            ("target", "fmt.a"),
            ("target", "fmt.b"),
            ("from", &from),
            ("until", &until),
            ("format", "json"),
        ],
    );
    assert!(
        r.header("content-type")
            .is_some_and(|c| c.starts_with("application/json")),
        "{:?}",
        r.headers
    );
    assert_json(
        &r.json(),
        &json!([
            {"target": "fmt.a", "tags": {"name": "fmt.a"},
             "datapoints": [[1.5, b], [2.25, b + 10], [null, b + 20], [5.5, b + 30], [6.0, b + 40]]},
            {"target": "fmt.b", "tags": {"name": "fmt.b"},
             "datapoints": [[10.0, b], [null, b + 10], [null, b + 20], [null, b + 30], [-1.0, b + 40]]}
        ]),
    );
}

#[test]
fn render_raw_is_name_start_end_step_then_values() {
    let (l, b) = format_fixture();
    let (from, until) = ((b - 10).to_string(), (b + 40).to_string());
    let r = render(
        &l,
        &[
            ("target", "fmt.a"),
            ("target", "fmt.b"),
            ("from", &from),
            ("until", &until),
            ("format", "raw"),
        ],
    );
    let text = r.text();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines,
        vec![
            format!("fmt.a,{b},{},10|1.5,2.25,None,5.5,6.0", b + 50),
            format!("fmt.b,{b},{},10|10.0,None,None,None,-1.0", b + 50),
        ]
    );
}

#[test]
fn render_csv_is_one_row_per_point_with_empty_nulls() {
    let (l, b) = format_fixture();
    let (from, until) = ((b - 10).to_string(), (b + 40).to_string());
    let r = render(
        &l,
        &[
            ("target", "fmt.a"),
            ("from", &from),
            ("until", &until),
            ("format", "csv"),
        ],
    );
    let text = r.text();
    let lines: Vec<&str> = text.lines().collect();
    let want: Vec<String> = [("1.5", 0), ("2.25", 10), ("", 20), ("5.5", 30), ("6.0", 40)]
        .iter()
        .map(|(v, dt)| format!("fmt.a,{},{v}", utc(b + dt)))
        .collect();
    assert_eq!(lines, want);
}

#[test]
fn render_post_form_equals_get() {
    let (l, b) = format_fixture();
    let (from, until) = ((b - 10).to_string(), (b + 40).to_string());
    let params = [
        ("target", "fmt.*"),
        ("from", from.as_str()),
        ("until", until.as_str()),
        ("format", "json"),
    ];
    let get = render(&l, &params).json();
    let post = l.post_form("/render", &params);
    assert_eq!(post.status, 200, "{}", post.text());
    assert_json(&post.json(), &get);
    assert_eq!(get.as_array().map(Vec::len), Some(2), "{get}");
}

#[test]
fn from_and_until_accept_graphite_time_formats() {
    let (l, b) = format_fixture();
    let by_epoch = render(
        &l,
        &[
            ("target", "fmt.a"),
            ("from", &(b - 60).to_string()),
            ("until", &(b + 60).to_string()),
            ("format", "json"),
        ],
    )
    .json();
    assert_eq!(datapoints(&by_epoch[0]).len(), 12, "{by_epoch}");
    // HH:MM_YYYYMMDD (UTC) names the same minutes.
    let hm = |t: i64| {
        let s = utc(t);
        format!("{}_{}", &s[11..16], s[..10].replace('-', ""))
    };
    let by_clock = render(
        &l,
        &[
            ("target", "fmt.a"),
            ("from", &hm(b - 60)),
            ("until", &hm(b + 60)),
            ("format", "json"),
        ],
    )
    .json();
    assert_json(&by_clock, &by_epoch);
    // Relative forms: the fixture lies between one and two hours ago.
    for (from, until) in [("-2h", "now"), ("-120min", "-50min"), ("-1d", "now")] {
        let v = render(
            &l,
            &[
                ("target", "fmt.a"),
                ("from", from),
                ("until", until),
                ("format", "json"),
            ],
        )
        .json();
        let known: Vec<(i64, f64)> = series_points(&v).into_iter().flat_map(|(_, p)| p).collect();
        assert_eq!(
            known,
            vec![(b, 1.5), (b + 10, 2.25), (b + 30, 5.5), (b + 40, 6.0)],
            "from={from} until={until}"
        );
    }
}

/// `mdp.a` holds 1..=12 at b, b+10, …, b+110 except 8 (slot b+70), `b` a whole minute.
fn max_data_points_fixture() -> (Lookout, i64) {
    let l = Lookout::start();
    let b = aligned_ago(3600);
    let lines: Vec<String> = (0..12i64)
        .filter(|i| *i != 7)
        .map(|i| format!("mdp.a {} {}", i + 1, b + i * 10))
        .collect();
    store(&l, &lines, &[("mdp.a", 11)], b - 10, b + 110);
    (l, b)
}

#[test]
fn max_data_points_consolidates_like_graphite_web() {
    let (l, b) = max_data_points_fixture();
    let (from, until) = ((b - 10).to_string(), (b + 110).to_string());
    // 12 slots, maxDataPoints 4: 3 values per point, 30 s per point. graphite-web nudges the
    // start by 30 s, drops two slots, then averages groups of three: [3,4,5] [6,7,null] [9,10,11]
    // [12], stamped b+30, b+60, b+90, b+120.
    let v = render(
        &l,
        &[
            ("target", "mdp.a"),
            ("from", &from),
            ("until", &until),
            ("format", "json"),
            ("maxDataPoints", "4"),
        ],
    )
    .json();
    assert_json(
        &v[0]["datapoints"],
        &json!([
            [4.0, b + 30],
            [6.5, b + 60],
            [10.0, b + 90],
            [12.0, b + 120]
        ]),
    );
    // consolidateBy picks the function, and names the series as graphite-web does.
    let v = render(
        &l,
        &[
            ("target", "consolidateBy(mdp.a,'max')"),
            ("from", &from),
            ("until", &until),
            ("format", "json"),
            ("maxDataPoints", "4"),
        ],
    )
    .json();
    assert_eq!(v[0]["target"], "consolidateBy(mdp.a,\"max\")", "{v}");
    assert_json(
        &v[0]["datapoints"],
        &json!([
            [5.0, b + 30],
            [7.0, b + 60],
            [11.0, b + 90],
            [12.0, b + 120]
        ]),
    );
    // maxDataPoints=1: the whole series in one point at its start.
    let v = render(
        &l,
        &[
            ("target", "mdp.a"),
            ("from", &from),
            ("until", &until),
            ("format", "json"),
            ("maxDataPoints", "1"),
        ],
    )
    .json();
    assert_json(&v[0]["datapoints"], &json!([[70.0 / 11.0, b]]));
    // More points allowed than there are: unchanged.
    let v = render(
        &l,
        &[
            ("target", "mdp.a"),
            ("from", &from),
            ("until", &until),
            ("format", "json"),
            ("maxDataPoints", "300"),
        ],
    )
    .json();
    assert_eq!(datapoints(&v[0]).len(), 12, "{v}");
}

#[test]
fn no_null_points_drops_nulls_and_empty_series() {
    let (l, b) = format_fixture();
    let (from, until) = (b.to_string(), (b + 30).to_string());
    let v = render(
        &l,
        &[
            ("target", "fmt.*"),
            ("from", &from),
            ("until", &until),
            ("format", "json"),
            ("noNullPoints", "true"),
        ],
    )
    .json();
    assert_json(
        &v,
        &json!([{"target": "fmt.a", "tags": {"name": "fmt.a"}, "datapoints": [[2.25, b + 10], [5.5, b + 30]]}]),
    );
}

/// find.web01.cpu.{user,system}, find.web02.cpu.user and the leaf find.db01.
fn tree_fixture() -> Lookout {
    let l = Lookout::start();
    let b = aligned_ago(3600);
    let lines: Vec<String> = [
        "find.web01.cpu.user",
        "find.web01.cpu.system",
        "find.web02.cpu.user",
        "find.db01",
    ]
    .iter()
    .map(|n| format!("{n} 1 {b}"))
    .collect();
    store(
        &l,
        &lines,
        &[("find.web0*.cpu.*", 3), ("find.db01", 1)],
        b - 10,
        b + 10,
    );
    l
}

fn branch(text: &str, id: &str) -> Value {
    json!({"text": text, "id": id, "allowChildren": 1, "expandable": 1, "leaf": 0})
}

fn leaf(text: &str, id: &str) -> Value {
    json!({"text": text, "id": id, "allowChildren": 0, "expandable": 0, "leaf": 1})
}

/// Only the keys graphite-web's treejson defines (it may add others, such as `context`).
fn tree_keys(v: &Value) -> Value {
    let keys = ["text", "id", "allowChildren", "expandable", "leaf"];
    Value::Array(
        v.as_array()
            .unwrap_or_else(|| panic!("treejson is not a list: {v}"))
            .iter()
            .map(|n| {
                Value::Object(
                    keys.iter()
                        .filter_map(|k| n.get(*k).map(|x| (k.to_string(), x.clone())))
                        .collect(),
                )
            })
            .collect(),
    )
}

#[test]
fn metrics_find_treejson_lists_branches_then_leaves() {
    let l = tree_fixture();
    let r = l.get_query("/metrics/find", &[("query", "find.*")]);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_json(
        &tree_keys(&r.json()),
        &json!([
            branch("web01", "find.web01"),
            branch("web02", "find.web02"),
            leaf("db01", "find.db01")
        ]),
    );
    // Grafana POSTs the query form-encoded. Ids are the query up to its last dot plus the
    // node's name, and nodes are de-duplicated by name, as graphite-web does.
    let r = l.post_form(
        "/metrics/find",
        &[
            ("query", "find.web0{1,2}.cpu.u*"),
            ("from", "-6h"),
            ("until", "now"),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_json(
        &tree_keys(&r.json()),
        &json!([leaf("user", "find.web0{1,2}.cpu.user")]),
    );
    let r = l.get_query("/metrics/find", &[("query", "nothing.here.*")]);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_json(&r.json(), &json!([]));
}

#[test]
fn metrics_find_completer_has_paths_names_and_string_leaf_flags() {
    let l = tree_fixture();
    let r = l.get_query(
        "/metrics/find",
        &[("query", "find.*"), ("format", "completer")],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_json(
        &r.json(),
        &json!({"metrics": [
            {"path": "find.db01", "name": "db01", "is_leaf": "1"},
            {"path": "find.web01.", "name": "web01", "is_leaf": "0"},
            {"path": "find.web02.", "name": "web02", "is_leaf": "0"}
        ]}),
    );
}

#[test]
fn metrics_expand_and_index_json_list_sorted_paths() {
    let l = tree_fixture();
    let r = l.get("/metrics/expand?query=find.web0*.cpu.*&query=find.db*");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_json(
        &r.json(),
        &json!({"results": ["find.db01", "find.web01.cpu.system", "find.web01.cpu.user", "find.web02.cpu.user"]}),
    );
    let r = l.get_query("/metrics/expand", &[("query", "find.*")]);
    assert_json(
        &r.json(),
        &json!({"results": ["find.db01", "find.web01", "find.web02"]}),
    );
    let index = l.get("/metrics/index.json").json();
    let ours: Vec<&Value> = index
        .as_array()
        .unwrap_or_else(|| panic!("index.json is not a list: {index}"))
        .iter()
        .filter(|n| n.as_str().is_some_and(|s| s.starts_with("find.")))
        .collect();
    assert_eq!(
        ours,
        vec![
            "find.db01",
            "find.web01.cpu.system",
            "find.web01.cpu.user",
            "find.web02.cpu.user"
        ]
    );
}

#[test]
fn functions_lists_sum_series_with_its_params() {
    let l = Lookout::start();
    let r = l.get("/functions");
    assert_eq!(r.status, 200, "{}", r.text());
    // Grafana reads /functions as text and must be able to parse it (graphite-web#2609).
    // Infinite defaults are written `1e9999`, which JavaScript's JSON.parse reads as Infinity
    // but serde_json refuses as out of range; read them as f64::MAX here.
    let text = r.text().replace("1e9999", "1.7976931348623157e308");
    let v: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("/functions is not JSON: {e}"));
    let f = &v["sumSeries"];
    assert_eq!(f["name"], "sumSeries", "{f}");
    let params = f["params"]
        .as_array()
        .unwrap_or_else(|| panic!("no params: {f}"));
    assert_eq!(params[0]["name"], "seriesLists", "{f}");
    assert!(params[0]["type"].is_string(), "{f}");
    for name in [
        "aliasSub",
        "constantLine",
        "movingAverage",
        "summarize",
        "groupByNode",
    ] {
        assert!(
            v[name]["params"].is_array(),
            "{name} missing from /functions"
        );
    }
}

#[test]
fn version_is_semver_at_least_1_1() {
    let l = Lookout::start();
    let r = l.get("/version");
    assert_eq!(r.status, 200, "{}", r.text());
    let text = r.text();
    let parts: Vec<u64> = text
        .trim()
        .split('.')
        .map(|p| p.parse().unwrap_or_else(|_| panic!("not semver: {text:?}")))
        .collect();
    assert_eq!(parts.len(), 3, "{text:?}");
    assert!(
        (parts[0], parts[1]) >= (1, 1),
        "{text:?} enables no tags or /functions in Grafana"
    );
}

#[test]
fn grafana_panel_query_with_alias_sub_refid() {
    let l = Lookout::start();
    let b = aligned_ago(1200);
    let lines: Vec<String> = (0..6).map(|i| format!("gf.a 7 {}", b + i * 10)).collect();
    store(&l, &lines, &[("gf.a", 6)], b - 10, b + 60);
    // Byte for byte what Grafana's datasource POSTs for a panel with query A.
    let body = r#"target=aliasSub(gf.a%2C%20%22(%5E.*%24)%22%2C%20%22%5C1%20A%22)&from=-1h&until=now&format=json&maxDataPoints=300"#;
    let r = l.post(
        "/render",
        "application/x-www-form-urlencoded",
        body.as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    let series = v.as_array().unwrap_or_else(|| panic!("not a list: {v}"));
    assert_eq!(series.len(), 1, "{v}");
    assert_eq!(series[0]["target"], "gf.a A", "{v}");
    let pts = datapoints(&series[0]);
    assert!(
        pts.len() <= 300,
        "{} points for maxDataPoints=300",
        pts.len()
    );
    let known: Vec<f64> = pts.iter().filter_map(|(_, v)| *v).collect();
    assert!(!known.is_empty(), "{v}");
    assert!(known.iter().all(|v| *v == 7.0), "{v}");
}

#[test]
fn grafana_test_button_renders_constant_line() {
    let l = Lookout::start();
    let r = l.post_form(
        "/render",
        &[
            ("target", "constantLine(100)"),
            ("from", "-1h"),
            ("until", "now"),
            ("format", "json"),
            ("maxDataPoints", "300"),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    let series = series_points(&v);
    assert_eq!(series.len(), 1, "{v}");
    // graphite-web names it by its value as Python prints a float, "100.0"; Grafana only
    // needs a series with points, so the exact name is left to the conformance test.
    assert!(series[0].0 == "100.0" || series[0].0 == "100", "{v}");
    assert!(series[0].1.len() >= 2, "{v}");
    assert!(series[0].1.iter().all(|(_, v)| *v == 100.0), "{v}");
}

#[test]
fn bad_target_is_a_400_naming_the_position() {
    let l = Lookout::start();
    // The second comma, at offset 14 (15 counting from 1), is the error.
    let r = l.get_query(
        "/render",
        &[("target", "sumSeries(a.b,,c)"), ("format", "json")],
    );
    assert_eq!(r.status, 400, "{}", r.text());
    let v = r.json();
    let msg = v["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error message: {v}"));
    let numbers: Vec<&str> = msg
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .collect();
    assert!(
        numbers.iter().any(|n| *n == "14" || *n == "15"),
        "error does not name the position: {msg:?}"
    );
    for target in ["sumSeries(a.b", "noSuchFunction(a.b)", "scale(a.b,'x')"] {
        let r = l.get_query("/render", &[("target", target), ("format", "json")]);
        assert_eq!(r.status, 400, "{target}: {}", r.text());
        assert!(r.json()["error"].is_string(), "{target}: {}", r.text());
    }
    let r = l.get_query(
        "/render",
        &[("target", "a.b"), ("from", "-3m"), ("format", "json")],
    );
    assert_eq!(
        r.status,
        400,
        "bare m is not a unit in graphite: {}",
        r.text()
    );
    assert!(r.json()["error"].is_string());
    assert!(l.healthy());
}

#[test]
fn delete_metrics_removes_matching_series() {
    let l = Lookout::start();
    let b = aligned_ago(3600);
    let lines = vec![
        format!("del.a 1 {b}"),
        format!("del.b 2 {b}"),
        format!("keep.c 3 {b}"),
    ];
    store(&l, &lines, &[("{del,keep}.*", 3)], b - 10, b + 10);
    let r = l.request("DELETE", "/metrics?query=del.*", &[], b"");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_json(&r.json(), &json!({"deleted": 2}));
    assert_json(&l.render_json("del.*", b - 10, b + 10), &json!([]));
    assert_eq!(
        l.render_points("keep.c", b - 10, b + 10),
        vec![("keep.c".to_string(), vec![(b, 3.0)])]
    );
    let r = l.get_query("/metrics/find", &[("query", "*")]);
    let ids: Vec<String> = r
        .json()
        .as_array()
        .expect("treejson list")
        .iter()
        .filter_map(|n| n["id"].as_str().map(String::from))
        .collect();
    assert!(!ids.contains(&"del".to_string()), "{ids:?}");
    assert!(ids.contains(&"keep".to_string()), "{ids:?}");
    // Still gone after a flush and a restart.
    l.flush();
    let mut l = l;
    l.restart();
    assert_json(&l.render_json("del.*", b - 10, b + 10), &json!([]));
}
