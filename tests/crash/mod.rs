//! The durability contract seen from outside: every point acknowledged by `POST
//! /api/v1/metrics` survives `kill -9` in the middle of a write load; plaintext points survive
//! it once the WAL sync interval has passed; a clean SIGTERM stop exits 0 and restarts with
//! everything, also after blocks were flushed.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::util::{aligned_ago, http, wait_until, Lookout};

/// Series written by the load, one point each per batch.
const SERIES: usize = 100;
/// Upper bound on batches, so a server that never dies cannot make the writer run forever.
const MAX_BATCHES: usize = 2000;
/// Acknowledged batches to wait for before the kill: 100 × 100 = 10,000 acknowledged points.
const ACKED_BEFORE_KILL: usize = 100;

fn value(batch: usize, series: usize) -> f64 {
    (batch * 1000 + series) as f64 + 0.25
}

#[test]
fn acknowledged_http_points_survive_kill_9_mid_load() {
    let mut l = Lookout::start();
    // Batch i writes slot base + 10 i of every series; 2000 batches stay inside the 1 d retention.
    let base = aligned_ago(12 * 3600);
    let acked = Arc::new(Mutex::new(Vec::<usize>::new()));
    let sent = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (acked, sent, stop) = (acked.clone(), sent.clone(), stop.clone());
        let addr = l.addrs.http;
        std::thread::spawn(move || {
            for i in 0..MAX_BATCHES {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let body: String = (0..SERIES)
                    .map(|s| format!("crash.s{s:03} {} {}\n", value(i, s), base + i as i64 * 10))
                    .collect();
                sent.store(i + 1, Ordering::Relaxed);
                match http::request(
                    addr,
                    "POST",
                    "/api/v1/metrics",
                    &[("Content-Type", "text/plain")],
                    body.as_bytes(),
                ) {
                    Ok(r) if (200..300).contains(&r.status) => acked.lock().expect("lock").push(i),
                    // The server died mid-request: this batch is unacknowledged; stop.
                    _ => break,
                }
            }
        })
    };
    wait_until(
        Duration::from_secs(120),
        "enough acknowledged batches",
        || acked.lock().expect("lock").len() >= ACKED_BEFORE_KILL,
    );
    l.kill9();
    stop.store(true, Ordering::Relaxed);
    writer.join().expect("writer thread");
    let acked = acked.lock().expect("lock").clone();
    let sent = sent.load(Ordering::Relaxed);
    assert!(acked.len() >= ACKED_BEFORE_KILL);

    l.restart();
    let until = base + MAX_BATCHES as i64 * 10;
    let got = l.render_points("crash.*", base - 10, until);
    assert_eq!(got.len(), SERIES, "series after restart: {}", got.len());
    for (s, (name, points)) in got.iter().enumerate() {
        assert_eq!(name, &format!("crash.s{s:03}"));
        let by_slot: std::collections::HashMap<i64, f64> = points.iter().copied().collect();
        for &i in &acked {
            let ts = base + i as i64 * 10;
            assert_eq!(
                by_slot.get(&ts),
                Some(&value(i, s)),
                "{name}: acknowledged batch {i} (slot {ts}) lost or changed; {} of {sent} batches were acknowledged",
                acked.len()
            );
        }
        // Unacknowledged batches may or may not be there, but nothing else may be.
        for (ts, v) in points {
            let i = ((ts - base) / 10) as usize;
            assert!(i < sent, "{name}: point at {ts} from a batch never sent");
            assert_eq!(*v, value(i, s), "{name}: wrong value at {ts}");
        }
    }
}

#[test]
fn plaintext_points_survive_kill_9_after_the_sync_interval() {
    let mut l = Lookout::start_with(&["--retention", ".*=10s:1d", "--wal-sync-interval", "1s"]);
    let base = aligned_ago(3600);
    let text: String = (0..50)
        .map(|i| format!("buffered.a {} {}\n", i as f64 + 0.5, base + i * 10))
        .collect();
    let want: Vec<(i64, f64)> = (0..50).map(|i| (base + i * 10, i as f64 + 0.5)).collect();
    l.send_tcp(text.as_bytes());
    l.wait_for_points("buffered.a", base - 10, base + 1000, &want);
    // Plaintext has no acknowledgement: the contract is "on disk within the sync interval", a
    // promise about elapsed time, so this test has to let that time pass. Three intervals
    // leave room for a sync that was just missed.
    std::thread::sleep(Duration::from_secs(3));
    l.kill9();
    l.restart();
    let got = l.render_points("buffered.a", base - 10, base + 1000);
    assert_eq!(got, vec![("buffered.a".to_string(), want)]);
}

#[test]
fn clean_sigterm_stop_exits_0_and_restarts_with_everything() {
    let mut l = Lookout::start();
    let base = aligned_ago(3600);
    let first: String = (0..30)
        .map(|i| format!("clean.a {} {}\n", i, base + i * 10))
        .collect();
    let r = l.post_metrics(&first);
    assert_eq!(r.status, 200, "{}", r.text());
    // Part of the data in blocks, part only in the head and WAL.
    l.flush();
    let second: String = (30..60)
        .map(|i| format!("clean.a {} {}\n", i, base + i * 10))
        .collect();
    l.send_tcp(second.as_bytes());
    let want: Vec<(i64, f64)> = (0..60).map(|i| (base + i * 10, i as f64)).collect();
    l.wait_for_points("clean.a", base - 10, base + 1000, &want);
    l.terminate();
    l.restart();
    assert_eq!(
        l.render_points("clean.a", base - 10, base + 1000),
        vec![("clean.a".to_string(), want.clone())]
    );
    // And once more through SIGINT, with a write in between.
    let r = l.post_metrics(&format!("clean.a 100 {}\n", base + 600));
    assert_eq!(r.status, 200, "{}", r.text());
    let status = l.signal_and_wait("INT");
    assert!(
        status.success(),
        "exit after SIGINT: {status}; stderr:\n{}",
        l.stderr()
    );
    l.restart();
    let mut want = want;
    want.push((base + 600, 100.0));
    l.wait_for_points("clean.a", base - 10, base + 1000, &want);
    assert!(l.healthy());
}

/// Runs `lookout serve` on `dir` and returns its exit status and stderr; it must stop by itself.
fn serve_once(dir: &std::path::Path) -> (std::process::ExitStatus, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lookout"))
        .args(["serve", "--data-dir"])
        .arg(dir)
        .args([
            "--http",
            "127.0.0.1:0",
            "--graphite",
            "off",
            "--pickle",
            "off",
        ])
        .args(["--syslog", "off", "--gelf", "off", "--statsd", "off"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("running lookout");
    (
        out.status,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn listing(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .expect("list")
        .map(|e| {
            let e = e.expect("entry");
            let bytes = std::fs::read(e.path()).unwrap_or_default();
            (e.file_name().to_string_lossy().into_owned(), bytes)
        })
        .collect();
    out.sort();
    out
}

#[test]
fn a_foreign_or_future_data_dir_is_refused_and_left_untouched() {
    let tmp = tempfile::tempdir().expect("tempdir");
    // Someone else's directory.
    let foreign = tmp.path().join("etc");
    std::fs::create_dir(&foreign).expect("mkdir");
    std::fs::write(foreign.join("hosts"), "127.0.0.1 localhost\n").expect("write");
    let before = listing(&foreign);
    let (status, stderr) = serve_once(&foreign);
    assert!(!status.success(), "started on a foreign dir: {stderr}");
    assert!(
        stderr.contains("not a lookout data directory"),
        "a clear refusal: {stderr}"
    );
    assert_eq!(listing(&foreign), before, "nothing written into it");
    // A lookout data dir in a format this build does not read.
    let mut l = Lookout::start();
    l.terminate();
    let data = l.data_dir();
    std::fs::write(
        data.join("lookout-data.json"),
        "{\"format\": 99, \"created_by\": \"lookout 99.0.0\"}\n",
    )
    .expect("write");
    let before = listing(&data);
    let (status, stderr) = serve_once(&data);
    assert!(!status.success(), "started on format 99: {stderr}");
    assert!(
        stderr.contains("format 99") && stderr.contains("Nothing was changed"),
        "a clear refusal: {stderr}"
    );
    assert_eq!(listing(&data), before, "nothing written into it");
}
