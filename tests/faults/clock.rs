//! The wall clock jumping (NTP stepping it, a VM resumed) while data flows: the server runs
//! under Debian's libfaketime with its offset read from a file on every clock call, and the
//! monotonic clock left alone, as in those events. The wall clock goes back an hour, forward a
//! day and back to the truth. Through it all: no panic, every acknowledged point and log line
//! stays queryable, receive-time stamping follows the clock, the WAL sync timer keeps running
//! (unacknowledged points get fsynced), flushes work, retention deletes nothing current, and
//! after a kill -9 everything acknowledged is back.

use std::path::{Path, PathBuf};

use super::{log_messages, ndjson, try_post_logs, try_post_metrics};
use crate::util::{aligned_ago, now, wait_until, Launch, Lookout, DATA_DEADLINE};

/// Where Debian's `faketime` package puts the preload library.
const LIBFAKETIME: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";

/// The offsets in turn, as libfaketime reads them, with the offset in seconds.
const PHASES: [(&str, i64); 4] = [("+0", 0), ("-1h", -3600), ("+1d", 86_400), ("+0", 0)];

/// How much of the server's time must pass a day ahead before the clock goes back: more than
/// the server's 5 s maintenance period, so retention has run at least once at the jumped time.
const AHEAD_SECS: i64 = 6;

/// Sets the offset the server's wall clock runs at; written atomically, so libfaketime (which
/// rereads the file on every call) never sees half a line.
fn set_offset(rc: &Path, offset: &str) {
    let tmp = rc.with_extension("tmp");
    std::fs::write(&tmp, format!("{offset}\n")).expect("writing the faketime file");
    std::fs::rename(&tmp, rc).expect("renaming the faketime file");
}

#[test]
fn wall_clock_jumps_back_and_forward_lose_nothing() {
    assert!(
        Path::new(LIBFAKETIME).exists(),
        "{LIBFAKETIME} is missing: install Debian's `faketime` package (scripts/test does)"
    );
    let mut rc = PathBuf::new();
    let mut l = Lookout::start_launched(
        &[
            "--retention",
            ".*=10s:30d",
            "--wal-sync-interval",
            "1s",
            "--config",
            "lookout.toml",
        ],
        |data| {
            let scratch = data.parent().expect("parent");
            // Self-metrics every second show the server's timers running at its clock.
            std::fs::write(
                scratch.join("lookout.toml"),
                "[selfmon]\ninterval = \"1s\"\n",
            )
            .expect("writing the config");
            rc = scratch.join("faketime.rc");
            set_offset(&rc, PHASES[0].0);
            Launch {
                wrapper: Vec::new(),
                env: vec![
                    ("LD_PRELOAD".into(), LIBFAKETIME.into()),
                    ("FAKETIME_TIMESTAMP_FILE".into(), rc.display().to_string()),
                    ("FAKETIME_NO_CACHE".into(), "1".into()),
                    ("FAKETIME_DONT_FAKE_MONOTONIC".into(), "1".into()),
                ],
                data_view: None,
            }
        },
    );
    let base = aligned_ago(2 * 3600);
    let mut acked_points: Vec<(i64, f64)> = Vec::new();
    let mut acked_logs = Vec::new();
    for (phase, &(offset, secs)) in PHASES.iter().enumerate() {
        set_offset(&rc, offset);
        // Receive-time stamping follows the server's clock: a log line without a date is
        // stamped with it, which also proves the jump took effect.
        let probe = format!("probe of phase {phase}");
        let r = try_post_logs(
            &l,
            &ndjson("faults.clock.probe", None, std::slice::from_ref(&probe)),
        )
        .expect("reachable");
        assert_eq!(r.status, 200, "{}", r.text());
        let found = l.logs(&[
            ("component", "faults.clock.probe"),
            ("contains", &probe),
            ("from", &(now() - 3 * 86_400).to_string()),
            ("until", &(now() + 3 * 86_400).to_string()),
        ]);
        let ts_ns = found["logs"][0]["ts_ns"]
            .as_i64()
            .unwrap_or_else(|| panic!("probe of phase {phase} not found: {found}"));
        let skew = ts_ns / 1_000_000_000 - (now() + secs);
        assert!(
            skew.abs() < 600,
            "phase {phase} ({offset}): the server's clock is {skew} s off the expected offset; \
             is libfaketime working?"
        );
        // The WAL sync timer still runs: an unacknowledged point gets fsynced. Acknowledged
        // writes fsync themselves, so none are sent until this is seen.
        let fsyncs = l.metric_sum("lookout_disk_wal_fsync_seconds_count", &[]);
        l.send_tcp(format!("clock.buffered {phase} {}\n", base + phase as i64 * 10).as_bytes());
        wait_until(DATA_DEADLINE, "a WAL sync after the jump", || {
            l.metric_sum("lookout_disk_wal_fsync_seconds_count", &[]) > fsyncs
        });
        // Acknowledged points (sender's own timestamps, the true time) and logs (true time,
        // and undated, stamped by the server).
        let body: String = (0..20)
            .map(|i| {
                let ts = base + 600 * phase as i64 + i * 10;
                let v = (phase * 100) as f64 + i as f64;
                acked_points.push((ts, v));
                format!("clock.acked {v} {ts}\n")
            })
            .collect();
        let r = try_post_metrics(&l, &body).expect("reachable");
        assert_eq!(r.status, 200, "{}", r.text());
        let dated: Vec<String> = (0..10)
            .map(|i| format!("phase {phase} dated {i}"))
            .collect();
        let undated: Vec<String> = (0..10)
            .map(|i| format!("phase {phase} undated {i}"))
            .collect();
        for (lines, ts) in [(&dated, Some(now() * 1000)), (&undated, None)] {
            let r = try_post_logs(&l, &ndjson("faults.clock", ts, lines)).expect("reachable");
            assert_eq!(r.status, 200, "{}", r.text());
            acked_logs.extend(lines.iter().cloned());
        }
        // A point stamped by the server (`-1`) lands at its clock, wherever that is.
        let stamped = format!("clock.stamped.p{phase}");
        l.send_tcp(format!("{stamped} {phase} -1\n").as_bytes());
        let around = now() + secs;
        wait_until(DATA_DEADLINE, "the server-stamped point", || {
            let got = l.render_points(&stamped, around - 600, around + 60);
            got.len() == 1 && got[0].1.len() == 1
        });
        l.flush();
        if secs > 0 {
            // Let the server's timers (self-metrics, maintenance with retention) run for a
            // while at the jumped time, seen through the self-metrics they store.
            let (from, until) = (now() + secs - 600, now() + secs + 60);
            wait_until(DATA_DEADLINE, "timers running a day ahead", || {
                let got = l.render_points("lookout.process.resident_bytes", from, until);
                let ts: Vec<i64> = got
                    .iter()
                    .flat_map(|(_, p)| p.iter().map(|p| p.0))
                    .collect();
                ts.iter()
                    .max()
                    .zip(ts.iter().min())
                    .is_some_and(|(a, b)| a - b >= AHEAD_SECS)
            });
        }
        check(
            &l,
            base,
            &acked_points,
            &acked_logs,
            &format!("phase {phase} ({offset})"),
        );
    }
    assert!(!l.stderr().contains("panicked"), "{}", l.stderr());
    l.kill9();
    l.restart();
    check(
        &l,
        base,
        &acked_points,
        &acked_logs,
        "restart after the jumps",
    );
}

#[track_caller]
fn check(l: &Lookout, base: i64, points: &[(i64, f64)], logs: &[String], when: &str) {
    let mut want = points.to_vec();
    want.sort_by_key(|p| p.0);
    let got = l.render_points("clock.acked", base - 10, base + 4 * 600);
    assert_eq!(
        got,
        vec![("clock.acked".to_string(), want)],
        "{when}: acknowledged points"
    );
    let stored = log_messages(l, "faults.clock", now() - 3 * 86_400, now() + 3 * 86_400);
    for m in logs {
        assert!(stored.contains(m), "{when}: acknowledged log {m:?} missing");
    }
}
