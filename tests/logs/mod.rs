//! Logs end to end: NDJSON over HTTP and syslog from the real `logger` over UDP and TCP, read
//! back through `/api/v1/logs` with every filter and the cursor; the component tree and the
//! histogram; log counts as `logs.<component>.<severity>` series; a live tail; and acknowledged
//! logs surviving kill -9.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::util::{now, wait_until_ok, Lookout};

fn post_logs(l: &Lookout, body: &str) -> serde_json::Value {
    let r = l.post("/api/v1/logs", "application/x-ndjson", body.as_bytes());
    assert_eq!(r.status, 200, "{}", r.text());
    serde_json::from_slice(&r.body).expect("reply JSON")
}

fn messages(logs: &[serde_json::Value]) -> Vec<String> {
    logs.iter()
        .map(|l| l["message"].as_str().unwrap_or("").to_string())
        .collect()
}

#[test]
fn ndjson_logs_are_kept_line_by_line_and_found_with_every_filter() {
    let l = Lookout::start();
    let t = now() - 120;
    let body = format!(
        concat!(
            "{{\"ts\":{t},\"message\":\"git tree render took 2300 ms\",\"component\":\"webapp.backend.git\",\"host\":\"web01\",\"level\":\"err\",\"repo\":\"linux\"}}\n",
            "{{\"ts\":{t1},\"msg\":\"ssh session opened\",\"component\":\"webapp.backend.git.ssh\",\"host\":\"web02\",\"level\":6}}\n",
            "not json at all\n",
            "{{\"ts\":{t2},\"message\":\"timeout talking to postgres\",\"component\":\"webapp.backendx\",\"host\":\"web01\",\"level\":\"warning\"}}\n",
            "{{\"ts\":{t3},\"message\":\"cache warm\",\"component\":\"webapp.backend.wiki\",\"host\":\"web03\",\"level\":\"debug\"}}\n",
        ),
        t = t,
        t1 = t + 1,
        t2 = t + 2,
        t3 = t + 3
    );
    let reply = post_logs(&l, &body);
    assert_eq!(reply["accepted"], 4, "{reply}");
    assert_eq!(reply["rejected"][0]["line"], 3, "{reply}");

    let from = (t - 10).to_string();
    let q = |extra: &[(&str, &str)]| -> Vec<String> {
        let mut p = vec![("from", from.as_str()), ("until", "now")];
        p.extend_from_slice(extra);
        messages(l.logs(&p)["logs"].as_array().expect("logs"))
    };
    // A component matches itself and its descendants, not a sibling with the same prefix.
    assert_eq!(
        q(&[("component", "webapp.backend")]),
        vec![
            "git tree render took 2300 ms",
            "ssh session opened",
            "cache warm"
        ]
    );
    assert_eq!(q(&[("component", "webapp.backend.git")]).len(), 2);
    assert_eq!(
        q(&[("component", "webapp.*")]).len(),
        4,
        "glob over the first level and below"
    );
    assert_eq!(
        q(&[("component", "webapp"), ("level", "warning")]).len(),
        2,
        "warning and worse"
    );
    assert_eq!(q(&[("component", "webapp"), ("host", "web01")]).len(), 2);
    assert_eq!(
        q(&[("component", "webapp"), ("contains", "timeout")]),
        vec!["timeout talking to postgres"]
    );
    assert_eq!(
        q(&[("component", "webapp"), ("regex", "took [0-9]+ ms")]).len(),
        1
    );
    assert_eq!(
        q(&[("component", "webapp"), ("field.repo", "linux")]).len(),
        1
    );
    assert_eq!(
        q(&[("component", "webapp"), ("order", "desc"), ("limit", "1")]),
        vec!["cache warm"],
        "newest first"
    );

    // Paging by cursor walks every record once, in order.
    let mut seen = Vec::new();
    let mut cursor = String::new();
    for _ in 0..10 {
        let mut p = vec![
            ("component", "webapp"),
            ("from", from.as_str()),
            ("limit", "1"),
        ];
        if !cursor.is_empty() {
            p.push(("cursor", cursor.as_str()));
        }
        let page = l.logs(&p);
        seen.extend(messages(page["logs"].as_array().expect("logs")));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = c.to_string(),
            None => break,
        }
    }
    assert_eq!(seen.len(), 4, "{seen:?}");

    // `from` and `until` both include their whole second, as /render's until does.
    let (t_s, t3_s) = (t.to_string(), (t + 3).to_string());
    let edges = q(&[
        ("component", "webapp"),
        ("from", t_s.as_str()),
        ("until", t3_s.as_str()),
    ]);
    assert_eq!(
        edges.len(),
        4,
        "records at exactly from and exactly until are inside: {edges:?}"
    );
    let (t1_s, t2_s) = ((t + 1).to_string(), (t + 2).to_string());
    let inner = messages(
        l.logs(&[
            ("component", "webapp"),
            ("from", t1_s.as_str()),
            ("until", t2_s.as_str()),
        ])["logs"]
            .as_array()
            .expect("logs"),
    );
    assert_eq!(
        inner,
        vec!["ssh session opened", "timeout talking to postgres"]
    );
    let one = &l.logs(&[
        ("component", "webapp.backend.git"),
        ("from", from.as_str()),
        ("limit", "1"),
    ])["logs"][0];
    assert_eq!(one["host"], "web01");
    assert_eq!(one["level"], "err");
    assert_eq!(one["severity"], 3);
    assert_eq!(one["fields"]["repo"], "linux");
    assert_eq!(one["ts_ns"].as_i64(), Some(t * 1_000_000_000));

    // Bad parameters are the caller's mistake.
    for bad in [("level", "loud"), ("cursor", "zz"), ("regex", "(")] {
        let r = l.get_query("/api/v1/logs", &[("component", "webapp"), bad]);
        assert_eq!(r.status, 400, "{bad:?}: {}", r.text());
    }
}

#[test]
fn component_tree_and_histogram_count_what_was_stored() {
    let l = Lookout::start();
    let t = now() - 300;
    let t = t - t.rem_euclid(60);
    let mut body = String::new();
    for i in 0..6 {
        let level = if i % 3 == 0 { "err" } else { "info" };
        body.push_str(&format!(
            "{{\"ts\":{},\"message\":\"m{i}\",\"component\":\"shop.api.{}\",\"level\":\"{level}\"}}\n",
            t + i * 20,
            if i % 2 == 0 { "orders" } else { "cart" }
        ));
    }
    post_logs(&l, &body);
    let tree: serde_json::Value =
        serde_json::from_slice(&l.get("/api/v1/logs/components?query=shop.api.*").body)
            .expect("tree JSON");
    let counts: Vec<(String, u64)> = tree
        .as_array()
        .expect("list")
        .iter()
        .map(|n| {
            (
                n["id"].as_str().unwrap_or("").to_string(),
                n["count"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(
        counts,
        vec![
            ("shop.api.cart".to_string(), 3),
            ("shop.api.orders".to_string(), 3)
        ]
    );

    let h: serde_json::Value = serde_json::from_slice(
        &l.get_query(
            "/api/v1/logs/histogram",
            &[
                ("component", "shop"),
                ("from", &t.to_string()),
                ("until", &(t + 120).to_string()),
                ("step", "60s"),
            ],
        )
        .body,
    )
    .expect("histogram JSON");
    let buckets = h["buckets"].as_array().expect("buckets");
    assert_eq!(buckets.len(), 2, "{h}");
    assert_eq!(buckets[0]["total"], 3, "{h}");
    assert_eq!(buckets[0]["counts"]["err"], 1, "{h}");
    assert_eq!(buckets[1]["total"], 3, "{h}");
}

#[test]
fn syslog_from_the_real_logger_over_udp_and_tcp() {
    let l = Lookout::start();
    let port = l.addrs.syslog_udp.port().to_string();
    let tcp_port = l.addrs.syslog_tcp.port().to_string();
    let run = |args: &[&str]| {
        let out = Command::new("logger").args(args).output().expect(
            "running logger (package bsdutils); run scripts/test to install test dependencies",
        );
        assert!(
            out.status.success(),
            "logger {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&[
        "-n",
        "127.0.0.1",
        "-P",
        &port,
        "-d",
        "-t",
        "webapp.backend.git",
        "-p",
        "user.err",
        "udp 3164 render slow",
    ]);
    run(&[
        "-n",
        "127.0.0.1",
        "-P",
        &port,
        "-d",
        "--rfc5424",
        "-t",
        "webapp.backend.git",
        "-p",
        "local0.warning",
        "udp 5424 retry",
    ]);
    run(&[
        "-n",
        "127.0.0.1",
        "-P",
        &tcp_port,
        "-T",
        "-t",
        "webapp.frontend",
        "-p",
        "user.info",
        "tcp 3164 hello",
    ]);
    run(&[
        "-n",
        "127.0.0.1",
        "-P",
        &tcp_port,
        "-T",
        "--rfc5424",
        "--octet-count",
        "-t",
        "webapp.frontend",
        "tcp 5424 octets",
    ]);

    let logs = l.wait_for_logs(&[("component", "webapp"), ("from", "-10min")], 4);
    let by_msg = |m: &str| {
        logs.iter()
            .find(|x| x["message"] == m)
            .unwrap_or_else(|| panic!("{m} missing: {logs:?}"))
            .clone()
    };
    let a = by_msg("udp 3164 render slow");
    assert_eq!(a["component"], "webapp.backend.git");
    assert_eq!(a["level"], "err");
    assert_eq!(a["facility"], 1, "user");
    let b = by_msg("udp 5424 retry");
    assert_eq!(b["level"], "warning");
    assert_eq!(b["facility"], 16, "local0");
    assert!(
        b["fields"].get("timeQuality.tzKnown").is_some(),
        "structured data kept: {b}"
    );
    assert_eq!(by_msg("tcp 3164 hello")["component"], "webapp.frontend");
    assert_eq!(
        by_msg("tcp 5424 octets")["level"],
        "notice",
        "logger's default priority"
    );
    let host = a["host"].as_str().unwrap_or("");
    assert!(!host.is_empty(), "the sender's hostname is kept");
    for x in &logs {
        let ts = x["ts_ns"].as_i64().unwrap_or(0) / 1_000_000_000;
        assert!((ts - now()).abs() < 600, "timestamps near now: {x}");
    }
}

#[test]
fn log_counts_become_metric_series() {
    let l = Lookout::start();
    let t = now() - 30;
    let mut body = String::new();
    for i in 0..5 {
        body.push_str(&format!("{{\"ts\":{t},\"message\":\"boom {i}\",\"component\":\"billing.worker\",\"level\":\"err\"}}\n"));
    }
    body.push_str(&format!(
        "{{\"ts\":{t},\"message\":\"fine\",\"component\":\"billing.worker\",\"level\":\"info\"}}\n"
    ));
    post_logs(&l, &body);
    let mut last = serde_json::Value::Null;
    let ok = wait_until_ok(Duration::from_secs(40), || {
        last = l.render_json("sumSeries(logs.billing.worker.err)", t - 60, now() + 10);
        let total: f64 = last[0]["datapoints"]
            .as_array()
            .map(|p| p.iter().filter_map(|x| x[0].as_f64()).sum())
            .unwrap_or(0.0);
        total == 5.0
    });
    assert!(ok, "logs.billing.worker.err should count 5 errors: {last}");
    let info = l.render_json("logs.billing.worker.info", t - 60, now() + 10);
    let total: f64 = info[0]["datapoints"]
        .as_array()
        .map(|p| p.iter().filter_map(|x| x[0].as_f64()).sum())
        .unwrap_or(0.0);
    assert_eq!(total, 1.0, "{info}");
}

#[test]
fn acknowledged_logs_survive_kill_9() {
    let mut l = Lookout::start();
    let t = now() - 60;
    let mut acked = 0;
    for batch in 0..20 {
        let mut body = String::new();
        for i in 0..50 {
            body.push_str(&format!(
                "{{\"ts\":{t},\"message\":\"batch {batch} line {i}\",\"component\":\"durable.app\"}}\n"
            ));
        }
        acked += post_logs(&l, &body)["accepted"].as_u64().unwrap_or(0);
    }
    assert_eq!(acked, 1000);
    l.kill9();
    l.restart();
    let mut count = 0;
    let mut cursor = String::new();
    loop {
        let mut p = vec![
            ("component", "durable"),
            ("from", "-10min"),
            ("limit", "10000"),
        ];
        if !cursor.is_empty() {
            p.push(("cursor", cursor.as_str()));
        }
        let page = l.logs(&p);
        count += page["logs"].as_array().map_or(0, Vec::len);
        match page["next_cursor"].as_str() {
            Some(c) => cursor = c.to_string(),
            None => break,
        }
    }
    assert_eq!(
        count, 1000,
        "every acknowledged log line is back after kill -9"
    );
}

#[test]
fn live_tail_streams_new_matching_logs() {
    let l = Lookout::start();
    let mut stream = TcpStream::connect(l.addrs.http).expect("connecting");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    write!(
        stream,
        "GET /api/v1/logs/tail?component=live.app&level=err HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n"
    )
    .expect("request");
    let mut reader = BufReader::new(stream);
    let mut status = String::new();
    reader.read_line(&mut status).expect("status line");
    assert!(status.contains("200"), "{status}");
    // The subscription exists once the response started; post after that.
    let t = now();
    post_logs(
        &l,
        &format!(
            "{{\"ts\":{t},\"message\":\"not for us\",\"component\":\"other.app\",\"level\":\"err\"}}\n\
             {{\"ts\":{t},\"message\":\"too mild\",\"component\":\"live.app\",\"level\":\"info\"}}\n\
             {{\"ts\":{t},\"message\":\"tailed <b>error</b>\",\"component\":\"live.app.web\",\"level\":\"err\"}}\n"
        ),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut line = String::new();
    let mut data = None;
    while Instant::now() < deadline {
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        if let Some(rest) = line.trim_end().strip_prefix("data: ") {
            data = Some(serde_json::from_str::<serde_json::Value>(rest).expect("event JSON"));
            break;
        }
    }
    let data = data.expect("a tailed event");
    assert_eq!(
        data["message"], "tailed <b>error</b>",
        "only the matching record, first: {data}"
    );
    assert_eq!(data["component"], "live.app.web");
}

#[test]
fn bad_syslog_input_is_counted_and_the_rest_kept() {
    let l = Lookout::start();
    // Binary garbage on both syslog ports.
    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    l.send_syslog_udp(&garbage);
    l.send_syslog_tcp(&garbage);
    // A 10 MB line without newline, then a good message, on one LF-framed connection.
    let mut big = b"<11>Nov 22 10:00:00 web01 huge: ".to_vec();
    big.extend(std::iter::repeat_n(b'x', 10 * 1024 * 1024));
    big.extend_from_slice(b"\n<11>Nov 22 10:00:01 web01 after.huge: still here\n");
    l.send_syslog_tcp(&big);
    // Invalid UTF-8 is kept and shown lossily.
    l.send_syslog_udp(b"<11>Nov 22 10:00:02 web01 bytes.app: caf\xe9 \xff\xfe end");
    // Components with 500 nodes or empty nodes are refused line by line, the rest kept.
    let deep = vec!["n"; 500].join(".");
    let reply = post_logs(
        &l,
        &format!(
            "{{\"message\":\"too deep\",\"component\":\"{deep}\"}}\n\
             {{\"message\":\"empty node\",\"component\":\"a..b\"}}\n\
             {{\"message\":\"fine\",\"component\":\"ok.app\"}}\n"
        ),
    );
    assert_eq!(reply["accepted"], 1, "{reply}");
    let refused: Vec<i64> = reply["rejected"]
        .as_array()
        .expect("rejected")
        .iter()
        .filter_map(|r| r["line"].as_i64())
        .collect();
    assert_eq!(refused, vec![1, 2], "{reply}");

    let after = l.wait_for_logs(
        &[
            ("component", "after.huge"),
            ("from", "-2d"),
            ("until", "+2d"),
        ],
        1,
    );
    assert_eq!(after[0]["message"], "still here");
    let huge = l.wait_for_logs(
        &[("component", "huge"), ("from", "-2d"), ("until", "+2d")],
        1,
    );
    assert_eq!(
        huge[0]["fields"]["truncated"], "true",
        "the 10 MB line is cut and marked"
    );
    assert!(huge[0]["message"].as_str().unwrap_or("").len() <= 64 * 1024);
    let bytes = l.wait_for_logs(
        &[
            ("component", "bytes.app"),
            ("from", "-2d"),
            ("until", "+2d"),
        ],
        1,
    );
    assert_eq!(bytes[0]["message"], "caf\u{fffd} \u{fffd}\u{fffd} end");
    let none = l.logs(&[("component", "n"), ("from", "-2d"), ("until", "+2d")]);
    assert_eq!(none["logs"].as_array().map(Vec::len), Some(0), "{none}");
    let ok = wait_until_ok(Duration::from_secs(20), || {
        let invalid =
            |proto| l.metric_sum("lookout_ingest_records_invalid_total", &[("proto", proto)]);
        invalid("syslog_udp") >= 1.0 && invalid("syslog_tcp") >= 1.0 && invalid("ndjson") >= 2.0
    });
    assert!(
        ok,
        "invalid syslog and NDJSON input is counted: {:?}",
        l.metrics()
    );
    assert!(l.healthy());
}

/// The Python interpreter of the test venv (`scripts/test` installs graypy there).
fn test_python() -> std::path::PathBuf {
    let venv = std::env::var_os("LOOKOUT_TEST_VENV")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-venv")
        });
    let python = venv.join("bin/python");
    assert!(
        python.exists(),
        "{} missing: run scripts/test to install test dependencies (graypy)",
        python.display()
    );
    python
}

/// Runs `graypy_send.py MODE HOST PORT TAG`.
fn graypy_send(mode: &str, addr: std::net::SocketAddr, tag: &str) {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/logs/graypy_send.py");
    let out = Command::new(test_python())
        .arg(script)
        .args([mode, &addr.ip().to_string(), &addr.port().to_string(), tag])
        .output()
        .expect("running graypy_send.py");
    assert!(
        out.status.success(),
        "graypy {mode}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Checks what graypy sent with `tag` arrived whole: the error with its extra field, and the
/// long warning (chunked over UDP) with every word.
fn check_graypy_logs(l: &Lookout, tag: &str) {
    let logs = l.wait_for_logs(
        &[
            ("component", "webapp.backend.git"),
            ("from", "-10min"),
            ("contains", tag),
        ],
        2,
    );
    let err = logs
        .iter()
        .find(|x| x["message"] == format!("{tag} render failed"))
        .expect("the error");
    assert_eq!(err["level"], "err", "{err}");
    assert_eq!(err["fields"]["repo"], "linux", "{err}");
    let long = logs
        .iter()
        .find(|x| x["level"] == "warning")
        .expect("the long warning");
    let text = long["message"].as_str().unwrap_or("");
    assert!(
        text.starts_with(&format!("{tag} long w0-0 ")),
        "{}",
        &text[..text.len().min(80)]
    );
    assert!(
        text.ends_with("w699-89473"),
        "the whole message arrived: …{}",
        &text[text.len().saturating_sub(40)..]
    );
}

#[test]
fn gelf_over_http_is_acknowledged_once_stored() {
    let l = Lookout::start();
    let t = now() - 5;
    let body = format!(
        "{{\"version\":\"1.1\",\"host\":\"web07\",\"short_message\":\"gelf http hello\",\"timestamp\":{t}.25,\"level\":3,\"_component\":\"webapp.backend.git\",\"_repo\":\"linux\"}}"
    );
    let r = l.post("/gelf", "application/json", body.as_bytes());
    assert_eq!(r.status, 202, "{}", r.text());
    // Acknowledged means stored: readable at once.
    let logs = l.logs(&[
        ("component", "webapp.backend.git"),
        ("from", "-10min"),
        ("contains", "gelf http hello"),
    ]);
    let one = &logs["logs"][0];
    assert_eq!(one["host"], "web07", "{logs}");
    assert_eq!(one["level"], "err");
    assert_eq!(one["fields"]["repo"], "linux");
    assert_eq!(one["ts_ns"].as_i64(), Some(t * 1_000_000_000 + 250_000_000));
    let bad = l.post("/gelf", "application/json", b"{\"version\":\"1.1\"");
    assert_eq!(bad.status, 400, "{}", bad.text());
}

#[test]
fn gelf_from_graypy_over_udp_chunked_and_compressed() {
    let l = Lookout::start();
    let tag = format!("gelfudp{}", std::process::id());
    graypy_send("udp", l.addrs.gelf_udp, &tag);
    check_graypy_logs(&l, &tag);
}

#[test]
fn gelf_from_graypy_over_tcp() {
    let l = Lookout::start();
    let tag = format!("gelftcp{}", std::process::id());
    graypy_send("tcp", l.addrs.gelf_tcp, &tag);
    check_graypy_logs(&l, &tag);
}

#[test]
fn gelf_from_graypy_over_http_even_though_it_hangs_up_first() {
    let l = Lookout::start();
    let tag = format!("gelfhttp{}", std::process::id());
    let http: std::net::SocketAddr = l.addrs.http;
    graypy_send("http", http, &tag);
    check_graypy_logs(&l, &tag);
}

#[test]
fn component_rules_and_timestamp_bounds_from_the_config_file() {
    let conf_dir = tempfile::tempdir().expect("temp dir");
    let conf = conf_dir.path().join("lookout.toml");
    std::fs::write(
        &conf,
        r#"
[logs]
max_future = "2h"
max_past = "2d"

[[logs.component]]
name = "php"
input = "syslog"
regex = '^php-fpm'
component = "webapp.php"

[[logs.component]]
name = "service-field"
input = "ndjson"
source = "field.service"
regex = '^(?P<svc>\w+)$'
component = "svc.${svc}"

[[logs.component]]
name = "routers"
source = "host"
regex = '^rtr(\d+)$'
component = "net.router$1"
"#,
    )
    .expect("writing the config");
    let l = Lookout::start_with(&["--config", conf.to_str().expect("utf-8 path")]);
    let t = now() - 60;
    let stamp = |ts: i64| {
        let out = Command::new("date")
            .args(["-u", "-d", &format!("@{ts}"), "+%Y-%m-%dT%H:%M:%SZ"])
            .output()
            .expect("running date");
        String::from_utf8(out.stdout)
            .expect("date output")
            .trim()
            .to_string()
    };
    // Syslog: the tag names a versioned binary; a router names nothing.
    let syslog = format!(
        "<11>1 {} web1 php-fpm-7.4 42 - - pool www: child exited\n<12>1 {} rtr7 - - - - link down\n",
        stamp(t),
        stamp(t)
    );
    l.send_syslog_tcp(syslog.as_bytes());
    // NDJSON: a field names the service; one record dated 1970, one a year ahead, and one
    // a day back, which is within max_past and keeps its time.
    let far = now() + 365 * 86400;
    let day_back = now() - 86400;
    let reply = post_logs(
        &l,
        &format!(
            concat!(
                "{{\"ts\":{t},\"message\":\"charged\",\"service\":\"billing\"}}\n",
                "{{\"ts\":0,\"message\":\"clockless device\",\"component\":\"iot\"}}\n",
                "{{\"ts\":{far},\"message\":\"from the future\",\"component\":\"iot\"}}\n",
                "{{\"ts\":{day_back},\"message\":\"late but kept\",\"component\":\"iot\"}}\n",
                // The service rule is for NDJSON; a syslog-looking component is not routed.
                "{{\"ts\":{t},\"message\":\"no service\",\"component\":\"php-fpm\"}}\n",
            ),
            t = t,
            far = far,
            day_back = day_back
        ),
    );
    assert_eq!(reply["accepted"], 5, "{reply}");
    let from = (now() - 3 * 86400).to_string();
    let until = (now() + 600).to_string();
    let php = l.wait_for_logs(&[("component", "webapp.php"), ("from", &from)], 1);
    assert_eq!(messages(&php), ["pool www: child exited"]);
    assert_eq!(php[0]["host"], "web1");
    let router = l.wait_for_logs(&[("component", "net"), ("from", &from)], 1);
    assert_eq!(router[0]["component"], "net.router7");
    assert_eq!(messages(&router), ["link down"]);
    let billing = l.wait_for_logs(&[("component", "svc.billing"), ("from", &from)], 1);
    assert_eq!(messages(&billing), ["charged"]);
    let kept = l.wait_for_logs(&[("component", "php-fpm"), ("from", &from)], 1);
    assert_eq!(messages(&kept), ["no service"]);
    // Out-of-bounds times became the receive time, with the sender's time kept as a field.
    let iot = l.wait_for_logs(
        &[("component", "iot"), ("from", &from), ("until", &until)],
        3,
    );
    let by_message = |m: &str| {
        iot.iter()
            .find(|x| x["message"] == m)
            .unwrap_or_else(|| panic!("{m:?} not in {iot:?}"))
            .clone()
    };
    for (m, original) in [
        ("clockless device", "0.000000000".to_string()),
        ("from the future", format!("{far}.000000000")),
    ] {
        let x = by_message(m);
        assert_eq!(x["fields"]["original_ts"], original.as_str(), "{x}");
        let ts = x["ts_ns"].as_i64().unwrap_or(0) / 1_000_000_000;
        assert!((ts - now()).abs() < 600, "stored at the receive time: {x}");
    }
    let late = by_message("late but kept");
    assert_eq!(late["ts_ns"].as_i64(), Some(day_back * 1_000_000_000));
    assert!(late["fields"].get("original_ts").is_none(), "{late}");
    let replaced = |reason: &str| {
        l.metric_sum(
            "lookout_ingest_log_timestamps_replaced_total",
            &[("reason", reason)],
        )
    };
    assert_eq!((replaced("past"), replaced("future")), (1.0, 1.0));
    let matched = |rule: &str| {
        l.metric_sum(
            "lookout_ingest_log_component_rule_matches_total",
            &[("rule", rule)],
        )
    };
    assert_eq!(
        (matched("php"), matched("service-field"), matched("routers")),
        (1.0, 1.0, 1.0)
    );
}

#[test]
fn log_counts_as_metrics_can_be_switched_off() {
    for on in [true, false] {
        let flag = on.to_string();
        let mut l = Lookout::start_with(&["--logs-metrics", &flag]);
        let t = now() - 30;
        post_logs(
            &l,
            &format!(
                "{{\"ts\":{t},\"message\":\"boom\",\"component\":\"switch\",\"level\":\"err\"}}\n"
            ),
        );
        // A clean stop writes the last interval's counts, so what is stored after it is
        // final whichever way the switch is set.
        l.terminate();
        l.restart();
        let found = l.get("/metrics/find?query=logs.*");
        assert_eq!(found.status, 200);
        let nodes: serde_json::Value = serde_json::from_slice(&found.body).expect("find JSON");
        let names: Vec<&str> = nodes
            .as_array()
            .map(|a| a.iter().filter_map(|n| n["text"].as_str()).collect())
            .unwrap_or_default();
        if on {
            assert_eq!(names, ["switch"], "logs.metrics on");
        } else {
            assert!(names.is_empty(), "logs.metrics off, yet {names:?}");
        }
    }
}
