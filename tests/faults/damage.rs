//! Damaged block files: data is written in two flushes, the server stops cleanly, and the
//! metric and log block files of the first flush get a flipped byte or are cut in half. The
//! server must still start, log an error naming each damaged file, count it in a self-metric,
//! serve everything in undamaged files (other series, other components, later data of the
//! same series), and answer queries that touch the damaged data with what is left (200 with
//! the lost points as nulls, the lost log lines missing) instead of failing the request.

use std::path::{Path, PathBuf};

use super::{log_messages, ndjson, try_post_logs};
use crate::util::{aligned_ago, now, wait_until, Lookout, DATA_DEADLINE};

/// The block files (`*.blk`) under `dir`, sorted.
fn blocks(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .map(|e| e.expect("dir entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "blk"))
            .collect(),
        Err(e) => panic!("listing {}: {e}", dir.display()),
    };
    out.sort();
    out
}

fn flip_middle_byte(path: &Path) {
    let mut bytes = std::fs::read(path).expect("reading a block");
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x5a;
    std::fs::write(path, bytes).expect("writing a block");
}

fn cut_in_half(path: &Path) {
    let len = std::fs::metadata(path).expect("block metadata").len();
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .expect("opening a block");
    f.set_len(len / 2).expect("truncating a block");
}

fn post_logs(l: &Lookout, component: &str, ts: i64, tag: &str) -> Vec<String> {
    let lines: Vec<String> = (0..20).map(|i| format!("{tag} line {i}")).collect();
    let r = try_post_logs(l, &ndjson(component, Some(ts * 1000), &lines)).expect("reachable");
    assert_eq!(r.status, 200, "{}", r.text());
    lines
}

fn points(name: &str, from: i64, n: i64, value0: f64) -> (String, Vec<(i64, f64)>) {
    let body = (0..n)
        .map(|i| format!("{name} {} {}\n", value0 + i as f64, from + i * 10))
        .collect();
    (
        body,
        (0..n).map(|i| (from + i * 10, value0 + i as f64)).collect(),
    )
}

/// Runs the scenario with `damage` applied to every block file of the first flush.
fn damaged_blocks_are_reported_and_the_rest_is_served(damage: fn(&Path)) {
    // Series `dmg.a.*` have their own schema, so their blocks hold nothing of `dmg.b.*`.
    let mut l = Lookout::start_with(&[
        "--retention",
        "^dmg\\.a\\.=10s:2d",
        "--retention",
        ".*=10s:1d",
    ]);
    let t1 = aligned_ago(3 * 3600);
    let t2 = aligned_ago(3600);
    // First flush: dmg.a.x at t1, logs of dmg.a three hours ago.
    let (body, a_early) = points("dmg.a.x", t1, 30, 1.0);
    assert_eq!(l.post_metrics(&body).status, 200);
    let logs_a_early = post_logs(&l, "dmg.a", t1, "a early");
    l.flush();
    let metric_blocks = l.data_dir().join("metrics/blocks");
    let log_blocks = l.data_dir().join("logs/blocks");
    let first_metric_blocks = blocks(&metric_blocks);
    let first_log_blocks = blocks(&log_blocks);
    assert!(!first_metric_blocks.is_empty() && !first_log_blocks.is_empty());
    // Second flush: more of dmg.a.x later on, dmg.b.y, and logs of both components an hour ago.
    let (body, a_late) = points("dmg.a.x", t2, 30, 100.0);
    assert_eq!(l.post_metrics(&body).status, 200);
    let (body, b_all) = points("dmg.b.y", t1, 30, 1000.0);
    assert_eq!(l.post_metrics(&body).status, 200);
    let logs_a_late = post_logs(&l, "dmg.a", t2, "a late");
    let logs_b = post_logs(&l, "dmg.b", t2, "b");
    l.flush();
    l.terminate();

    for b in first_metric_blocks.iter().chain(&first_log_blocks) {
        damage(b);
    }
    l.restart();
    // Everything outside the damaged files is served.
    l.wait_for_points("dmg.b.y", t1 - 10, t1 + 600, &b_all);
    let got = l.render_points("dmg.a.x", t1 - 10, t2 + 600);
    assert_eq!(got.len(), 1, "dmg.a.x is still listed: {got:?}");
    let got = &got[0].1;
    for p in &a_late {
        assert!(
            got.contains(p),
            "dmg.a.x {p:?} (undamaged block) missing: {got:?}"
        );
    }
    for p in got {
        assert!(
            a_early.contains(p) || a_late.contains(p),
            "invented point {p:?}"
        );
    }
    let b = log_messages(&l, "dmg.b", now() - 86_400, now() + 60);
    assert_eq!(b, logs_b.iter().cloned().collect(), "dmg.b logs");
    let a = log_messages(&l, "dmg.a", now() - 86_400, now() + 60);
    for m in &logs_a_late {
        assert!(a.contains(m), "dmg.a log {m:?} (undamaged block) missing");
    }
    for m in &a {
        assert!(
            logs_a_early.contains(m) || logs_a_late.contains(m),
            "invented log {m:?}"
        );
    }
    // Reported by name and counted.
    wait_until(DATA_DEADLINE, "damage reported by file name", || {
        let stderr = l.stderr();
        first_metric_blocks
            .iter()
            .chain(&first_log_blocks)
            .all(|b| stderr.contains(&*b.file_name().expect("name").to_string_lossy()))
    });
    assert!(l.metric_sum("lookout_tsdb_blocks_corrupt_total", &[]) >= 1.0);
    assert!(
        l.metric_sum("lookout_logs_blocks_corrupt_total", &[])
            + l.metric_sum("lookout_logs_sections_corrupt_total", &[])
            >= 1.0
    );
    assert!(!l.stderr().contains("panicked"), "{}", l.stderr());
    // And the server keeps working: new data goes in and comes back.
    let (body, fresh) = points("dmg.a.x", t2 + 600, 3, 7.0);
    assert_eq!(l.post_metrics(&body).status, 200);
    l.wait_for_points("dmg.a.x", t2 + 590, t2 + 700, &fresh);
}

#[test]
fn a_flipped_byte_in_block_files_is_reported_and_the_rest_is_served() {
    damaged_blocks_are_reported_and_the_rest_is_served(flip_middle_byte);
}

#[test]
fn truncated_block_files_are_reported_and_the_rest_is_served() {
    damaged_blocks_are_reported_and_the_rest_is_served(cut_in_half);
}
