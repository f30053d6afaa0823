//! The server side of the web UI against the real binary: embedded static files with their
//! types, caching and security headers; Graphite's events API (round trip, tag filter, JSONP,
//! kill -9) and error-burst events from posted logs; the dashboards API (CRUD, bad ids, the
//! built-in, restart); `component_for`; and auth (token: the UI loads, the API refuses; Basic:
//! everything but /health is protected).

use std::time::Duration;

use serde_json::{json, Value};

use crate::util::{now, wait_until, Lookout};

const CSP: &str = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'";

fn post_json(l: &Lookout, path: &str, body: &Value) -> crate::util::http::Response {
    l.post(path, "application/json", body.to_string().as_bytes())
}

fn put_json(l: &Lookout, path: &str, body: &Value) -> crate::util::http::Response {
    l.request(
        "PUT",
        path,
        &[("Content-Type", "application/json")],
        body.to_string().as_bytes(),
    )
}

#[track_caller]
fn assert_secure(r: &crate::util::http::Response, what: &str) {
    assert_eq!(r.header("content-security-policy"), Some(CSP), "{what}");
    assert_eq!(
        r.header("x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
    assert_eq!(r.header("referrer-policy"), Some("no-referrer"), "{what}");
    assert_eq!(r.header("x-frame-options"), Some("DENY"), "{what}");
}

/// The `/ui/...` URLs that index.html loads.
fn ui_refs(index: &str) -> Vec<String> {
    let mut out = Vec::new();
    for attr in ["src=\"", "href=\""] {
        for (i, _) in index.match_indices(attr) {
            let rest = &index[i + attr.len()..];
            if let Some(end) = rest.find('"') {
                if rest[..end].starts_with("/ui/") {
                    out.push(rest[..end].to_string());
                }
            }
        }
    }
    out
}

#[test]
fn static_files_are_embedded_with_types_caching_and_security_headers() {
    let l = Lookout::start();
    let index = l.get("/");
    assert_eq!(
        index.status,
        200,
        "ui/dist/index.html must exist when lookout is built: {}",
        index.text()
    );
    assert_eq!(
        index.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(index.header("cache-control"), Some("no-cache"));
    assert_secure(&index, "/");
    let etag = index.header("etag").expect("an ETag").to_string();
    let again = l.request("GET", "/", &[("If-None-Match", &etag)], b"");
    assert_eq!(again.status, 304, "a matching ETag revalidates");

    for route in [
        "/explore",
        "/logs",
        "/dashboards",
        "/d/lookout",
        "/ui/index.html",
    ] {
        let r = l.get(route);
        assert_eq!(r.status, 200, "{route}");
        assert_eq!(r.body, index.body, "{route} is the single page");
        assert_secure(&r, route);
    }

    let refs = ui_refs(&index.text());
    assert!(
        refs.iter().any(|r| r.ends_with(".js")),
        "index.html loads a script: {refs:?}"
    );
    for path in &refs {
        let r = l.get(path);
        assert_eq!(r.status, 200, "{path}");
        let want = if path.ends_with(".js") {
            "text/javascript; charset=utf-8"
        } else if path.ends_with(".css") {
            "text/css; charset=utf-8"
        } else {
            continue;
        };
        assert_eq!(r.header("content-type"), Some(want), "{path}");
        assert_eq!(r.header("cache-control"), Some("max-age=86400"), "{path}");
        assert!(r.header("etag").is_some(), "{path}");
        assert_secure(&r, path);
    }

    for missing in [
        "/ui/no-such-file.js",
        "/ui/../Cargo.toml",
        "/ui/%2e%2e/Cargo.toml",
    ] {
        let r = l.get(missing);
        assert_eq!(r.status, 404, "{missing}");
    }
}

#[test]
fn events_round_trip_filter_by_tags_and_survive_kill9() {
    let mut l = Lookout::start();
    let t = now() - 600;
    for ev in [
        json!({"what": "deploy web", "tags": ["deploy", "web"], "data": "v1.2", "when": t}),
        json!({"what": "deploy db", "tags": "deploy db", "when": t + 60}),
        json!({"what": "outage", "tags": "web", "when": t - 60}),
    ] {
        let r = post_json(&l, "/events/", &ev);
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let r = post_json(&l, "/events/", &json!({"what": "now", "tags": []}));
    assert_eq!(r.status, 200, "when defaults to now: {}", r.text());

    let get = |l: &Lookout, params: &[(&str, &str)]| -> Vec<Value> {
        let r = l.get_query("/events/get_data", params);
        assert_eq!(r.status, 200, "{params:?}: {}", r.text());
        assert_eq!(r.header("content-type"), Some("application/json"));
        r.json().as_array().cloned().unwrap_or_default()
    };
    let whats = |events: &[Value]| -> Vec<String> {
        events
            .iter()
            .map(|e| e["what"].as_str().unwrap_or("").to_string())
            .collect()
    };
    let (from, until) = ((t - 120).to_string(), (t + 120).to_string());
    let range = [("from", from.as_str()), ("until", until.as_str())];
    let all = get(&l, &range);
    assert_eq!(whats(&all), ["outage", "deploy web", "deploy db"]);
    assert_eq!(all[1]["tags"], json!(["deploy", "web"]));
    assert_eq!(all[1]["data"], "v1.2");
    assert_eq!(all[1]["when"], t);
    assert!(all[1]["id"].is_u64(), "{}", all[1]);

    let tagged = |tags: &str, set: Option<&str>| {
        let mut p = vec![range[0], range[1], ("tags", tags)];
        if let Some(s) = set {
            p.push(("set", s));
        }
        whats(&get(&l, &p))
    };
    assert_eq!(tagged("deploy", None), ["deploy web", "deploy db"]);
    assert_eq!(tagged("deploy web", None), ["deploy web"]);
    assert_eq!(tagged("db web", None), Vec::<String>::new());
    assert_eq!(
        tagged("db web", Some("union")),
        ["outage", "deploy web", "deploy db"]
    );
    assert_eq!(
        whats(&get(&l, &[])).len(),
        4,
        "default range: all time to now"
    );

    let p = l.get_query(
        "/events/get_data",
        &[range[0], range[1], ("tags", "db"), ("jsonp", "cb_1")],
    );
    assert_eq!(p.header("content-type"), Some("text/javascript"));
    let text = p.text();
    assert!(text.starts_with("cb_1([") && text.ends_with("])"), "{text}");
    let bad = l.get_query("/events/get_data", &[("jsonp", "alert(1)")]);
    assert_eq!(bad.status, 400);

    for (body, status) in [
        (json!({"tags": ["x"]}).to_string(), 400),
        (json!({"what": "x", "tags": 3}).to_string(), 400),
        ("not json".to_string(), 400),
        (
            json!({"what": "x", "data": "y".repeat(70_000)}).to_string(),
            413,
        ),
    ] {
        let r = l.post("/events/", "application/json", body.as_bytes());
        assert_eq!(r.status, status, "{}", r.text());
    }

    l.kill9();
    l.restart();
    assert_eq!(get(&l, &range), all, "acknowledged events survive kill -9");
    let r = post_json(&l, "/events/", &json!({"what": "after", "when": t + 90}));
    assert_eq!(r.status, 200);
    let after = get(&l, &range);
    assert_eq!(after.len(), 4);
    let ids: Vec<u64> = after.iter().filter_map(|e| e["id"].as_u64()).collect();
    let mut unique = ids.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), 4, "ids are never reused: {ids:?}");
}

#[test]
fn error_bursts_in_posted_logs_come_back_as_events() {
    let l = Lookout::start();
    // Thirty minutes of logs an hour ago, minute-aligned so the buckets are the minutes.
    let base = (now() - 3600) / 60 * 60;
    let mut body = String::new();
    let mut line = |ts: i64, component: &str, level: &str| {
        body.push_str(
            &json!({"ts": ts, "component": component, "level": level, "message": "m"}).to_string(),
        );
        body.push('\n');
    };
    for m in 0..30 {
        let t = base + 60 * m;
        line(t + 1, "shop.cart", "info");
        line(t + 2, "shop.cart", "err");
        line(t + 3, "shop", "info");
        line(t + 4, "shop.search", "info");
    }
    // The burst: 15 more errors in minute 10 (16 with the usual one).
    for i in 0..15 {
        line(base + 600 + 10 + i, "shop.cart", "crit");
    }
    let r = l.post("/api/v1/logs", "application/x-ndjson", body.as_bytes());
    assert_eq!(r.status, 200, "{}", r.text());

    let (from, until) = (base.to_string(), (base + 1800).to_string());
    let query = |tags: Option<&str>| -> Vec<Value> {
        let mut p = vec![("from", from.as_str()), ("until", until.as_str())];
        if let Some(t) = tags {
            p.push(("tags", t));
        }
        let r = l.get_query("/events/get_data", &p);
        assert_eq!(r.status, 200, "{}", r.text());
        r.json().as_array().cloned().unwrap_or_default()
    };
    let mut got = Vec::new();
    wait_until(Duration::from_secs(20), "the burst event", || {
        got = query(None);
        !got.is_empty()
    });
    assert_eq!(
        got,
        [json!({
            "id": format!("burst:shop.cart:{}", base + 600),
            "when": base + 600,
            "what": "error burst: shop.cart",
            "tags": ["errors", "logs", "shop.cart"],
            "data": "16 errors in 60s",
        })],
        "one burst, in shop.cart only (not in its parent shop)"
    );
    assert_eq!(query(Some("errors")), got);
    assert_eq!(query(Some("logs shop.cart")), got);
    assert!(query(Some("logs shop.search")).is_empty());
    assert!(query(Some("deploy")).is_empty());
}

#[test]
fn dashboards_are_saved_listed_deleted_and_survive_restart() {
    let mut l = Lookout::start();
    let list = l.get("/api/v1/dashboards");
    assert_eq!(list.status, 200, "{}", list.text());
    assert_eq!(
        list.json(),
        json!([{"id": "lookout", "title": "lookout", "updated": 0}])
    );
    let builtin = l.get("/api/v1/dashboards/lookout").json();
    let panels = builtin["panels"].as_array().expect("panels").clone();
    assert!(panels.len() >= 5, "{builtin}");
    assert!(
        panels.iter().any(|p| p["targets"]
            .to_string()
            .contains("lookout.ingest.points_received_total")),
        "{builtin}"
    );

    let doc = json!({
        "title": "Web <front>",
        "time": {"from": "-6h", "until": "now"},
        "refresh": "1m",
        "variables": [{"name": "host", "query": "web.*"}],
        "panels": [{"type": "graph", "title": "p99", "targets": ["web.$host.p99"], "unit": "ms",
                    "grid": {"x": 0, "y": 0, "w": 6, "h": 4}}],
    });
    let put = put_json(&l, "/api/v1/dashboards/web", &doc);
    assert_eq!(put.status, 200, "{}", put.text());
    let put = put.json();
    assert_eq!(put["id"], "web");
    let updated = put["updated"].as_i64().expect("updated");
    let got = l.get("/api/v1/dashboards/web").json();
    assert_eq!(got["panels"], doc["panels"]);
    assert_eq!(got["variables"], doc["variables"]);
    assert_eq!(got["title"], "Web <front>");
    assert_eq!(got["updated"], updated);

    let created = post_json(&l, "/api/v1/dashboards", &doc);
    assert_eq!(created.status, 201, "{}", created.text());
    let new_id = created.json()["id"].as_str().expect("id").to_string();
    assert_eq!(new_id, "web-front");
    assert_eq!(l.get(&format!("/api/v1/dashboards/{new_id}")).status, 200);

    for bad in [
        "Web",
        "a.b",
        "..%2F..%2Fetc%2Fpasswd",
        "%2e%2e",
        &"a".repeat(65),
    ] {
        let path = format!("/api/v1/dashboards/{bad}");
        assert_eq!(l.get(&path).status, 400, "GET {bad}");
        assert_eq!(put_json(&l, &path, &doc).status, 400, "PUT {bad}");
        assert_eq!(
            l.request("DELETE", &path, &[], b"").status,
            400,
            "DELETE {bad}"
        );
    }
    for (body, status) in [
        (json!({"title": "x"}).to_string(), 400),
        (json!({"panels": []}).to_string(), 400),
        ("[]".to_string(), 400),
        ("{".to_string(), 400),
    ] {
        let r = l.request("PUT", "/api/v1/dashboards/x", &[], body.as_bytes());
        assert_eq!(r.status, status, "{body}: {}", r.text());
    }
    assert_eq!(l.get("/api/v1/dashboards/nope").status, 404);

    let mine = json!({"title": "my lookout", "panels": []});
    assert_eq!(
        put_json(&l, "/api/v1/dashboards/lookout", &mine).status,
        200
    );

    l.kill9();
    l.restart();
    let ids: Vec<String> = l
        .get("/api/v1/dashboards")
        .json()
        .as_array()
        .expect("list")
        .iter()
        .map(|d| d["id"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(ids, ["lookout", "web", "web-front"]);
    assert_eq!(
        l.get("/api/v1/dashboards/web").json()["panels"],
        doc["panels"]
    );
    assert_eq!(
        l.get("/api/v1/dashboards/lookout").json()["title"],
        "my lookout"
    );

    let del = l.request("DELETE", "/api/v1/dashboards/web", &[], b"");
    assert_eq!(del.status, 204);
    assert_eq!(l.get("/api/v1/dashboards/web").status, 404);
    assert_eq!(
        l.request("DELETE", "/api/v1/dashboards/web", &[], b"")
            .status,
        404
    );
    let del = l.request("DELETE", "/api/v1/dashboards/lookout", &[], b"");
    assert_eq!(del.status, 204);
    assert_eq!(
        l.get("/api/v1/dashboards/lookout").json()["title"],
        "lookout",
        "the built-in is back"
    );
}

#[test]
fn component_for_names_the_longest_log_component_of_a_metric() {
    let l = Lookout::start();
    let t = now() - 60;
    let body: String = ["web", "web.api", "db.main"]
        .iter()
        .map(|c| format!("{}\n", json!({"ts": t, "component": c, "message": "hi"})))
        .collect();
    let r = l.post("/api/v1/logs", "application/x-ndjson", body.as_bytes());
    assert_eq!(r.status, 200, "{}", r.text());
    let ask = |metric: &str| -> Value {
        let r = l.get_query("/api/v1/logs/component_for", &[("metric", metric)]);
        assert_eq!(r.status, 200, "{metric}: {}", r.text());
        r.json()
    };
    wait_until(Duration::from_secs(20), "the components", || {
        ask("web.api.latency.p99")["component"] == "web.api"
    });
    assert_eq!(
        ask("web.api.latency.p99"),
        json!({"component": "web.api", "candidates": ["web.api", "web"]})
    );
    assert_eq!(
        ask("web.static.hits"),
        json!({"component": "web", "candidates": ["web"]})
    );
    assert_eq!(
        ask("cache.hits"),
        json!({"component": null, "candidates": []})
    );
    assert_eq!(
        ask("cpu.load;host=a;component=db.main")["component"],
        "db.main"
    );
    assert_eq!(l.get("/api/v1/logs/component_for").status, 400);
}

#[test]
fn with_a_token_the_ui_loads_and_the_api_refuses() {
    let token = "ui-token-for-tests";
    let file = tempfile::NamedTempFile::new().expect("token file");
    std::fs::write(file.path(), token).expect("writing the token");
    let path = file.path().to_str().expect("utf-8 path");
    let l = Lookout::start_with(&["--auth-token-file", path]);
    for open in ["/", "/explore", "/d/lookout", "/ui/index.html", "/health"] {
        assert_eq!(l.get(open).status, 200, "{open} loads without the token");
    }
    let bearer = format!("Bearer {token}");
    for api in [
        "/api/v1/dashboards",
        "/api/v1/dashboards/lookout",
        "/events/get_data",
        "/api/v1/logs/component_for?metric=a",
    ] {
        let r = l.get(api);
        assert_eq!(r.status, 401, "{api}");
        assert_eq!(r.header("www-authenticate"), Some("Bearer"), "{api}");
        let ok = l.request("GET", api, &[("Authorization", &bearer)], b"");
        assert_eq!(ok.status, 200, "{api} with the token: {}", ok.text());
    }
    let r = post_json(&l, "/events/", &json!({"what": "x"}));
    assert_eq!(r.status, 401);
}

#[test]
fn basic_auth_protects_everything_but_health() {
    let dir = tempfile::tempdir().expect("temp dir");
    let users = dir.path().join("users");
    std::fs::write(&users, "# team\nalice:s3cret\n").expect("writing users");
    let config = dir.path().join("lookout.toml");
    std::fs::write(
        &config,
        format!(
            "[http]\nbasic_auth_file = {:?}\n",
            users.to_str().expect("utf-8")
        ),
    )
    .expect("writing config");
    let l = Lookout::start_with(&["--config", config.to_str().expect("utf-8")]);
    assert_eq!(l.get("/health").status, 200);
    let good = [("Authorization", "Basic YWxpY2U6czNjcmV0")];
    let wrong = [("Authorization", "Basic YWxpY2U6d3Jvbmc=")];
    for path in [
        "/",
        "/ui/index.html",
        "/api/v1/dashboards",
        "/events/get_data",
        "/metrics/find?query=*",
    ] {
        let r = l.get(path);
        assert_eq!(r.status, 401, "{path}");
        assert_eq!(
            r.header("www-authenticate"),
            Some("Basic realm=\"lookout\", charset=\"UTF-8\""),
            "{path}: the browser prompts"
        );
        assert_eq!(l.request("GET", path, &wrong, b"").status, 401, "{path}");
        let ok = l.request("GET", path, &good, b"");
        assert_eq!(ok.status, 200, "{path}: {}", ok.text());
    }
}
