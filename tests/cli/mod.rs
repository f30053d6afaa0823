//! The `lookout query` command against a running server: JSON output equal to what `/render`
//! computes, a readable table, and a non-zero exit with a message for a bad target or an
//! unreachable server.

use std::process::{Command, Output};

use crate::util::{aligned_ago, datapoints, same_json, Lookout};

fn query(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lookout"))
        .arg("query")
        .args(args)
        .output()
        .expect("running lookout query")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// cli.a.x = 1, 2, 3 and cli.a.y = 10, (none), 30 at b, b+10, b+20.
fn fixture() -> (Lookout, i64) {
    let l = Lookout::start();
    let b = aligned_ago(3600);
    let body = format!(
        "cli.a.x 1 {b}\ncli.a.x 2 {}\ncli.a.x 3 {}\ncli.a.y 10 {b}\ncli.a.y 30 {}\n",
        b + 10,
        b + 20,
        b + 20
    );
    let r = l.post_metrics(&body);
    assert_eq!(r.status, 200, "{}", r.text());
    l.wait_for_points(
        "sumSeries(cli.a.*)",
        b - 10,
        b + 20,
        &[(b, 11.0), (b + 10, 2.0), (b + 20, 33.0)],
    );
    (l, b)
}

#[test]
fn query_prints_render_json() {
    let (l, b) = fixture();
    let (from, until) = ((b - 10).to_string(), (b + 20).to_string());
    let out = query(&[
        "sumSeries(cli.a.*)",
        "--server",
        &l.url(),
        "--from",
        &from,
        "--until",
        &until,
        "--format",
        "json",
    ]);
    assert!(
        out.status.success(),
        "{:?}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(&stdout(&out))
        .unwrap_or_else(|e| panic!("not JSON: {e}\n{}", stdout(&out)));
    assert_eq!(v[0]["target"], "sumSeries(cli.a.*)", "{v}");
    let want = serde_json::json!([[11.0, b], [2.0, b + 10], [33.0, b + 20]]);
    assert!(same_json(&v[0]["datapoints"], &want), "{v}");
    let rendered = l.render_json("sumSeries(cli.a.*)", b - 10, b + 20);
    assert_eq!(datapoints(&v[0]), datapoints(&rendered[0]));
}

#[test]
fn query_prints_a_readable_table_by_default() {
    let (l, b) = fixture();
    let (from, until) = ((b - 10).to_string(), (b + 20).to_string());
    let out = query(&[
        "cli.a.*",
        "--server",
        &l.url(),
        "--from",
        &from,
        "--until",
        &until,
    ]);
    assert!(
        out.status.success(),
        "{:?}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let text = stdout(&out);
    for needle in ["cli.a.x", "cli.a.y", "30"] {
        assert!(text.contains(needle), "table lacks {needle:?}:\n{text}");
    }
    let explicit = query(&[
        "cli.a.*",
        "--server",
        &l.url(),
        "--from",
        &from,
        "--until",
        &until,
        "--format",
        "table",
    ]);
    assert_eq!(stdout(&explicit), text);
}

#[test]
fn query_fails_clearly_on_bad_target_or_dead_server() {
    let l = Lookout::start();
    let out = query(&["sumSeries(a.b", "--server", &l.url()]);
    assert!(!out.status.success(), "bad target exited 0");
    assert!(!out.stderr.is_empty(), "no message for a bad target");
    // A port nothing listens on: bind one, learn it, close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let out = query(&["a.b", "--server", &format!("http://127.0.0.1:{port}")]);
    assert!(!out.status.success(), "unreachable server exited 0");
    assert!(
        !out.stderr.is_empty(),
        "no message for an unreachable server"
    );
}
