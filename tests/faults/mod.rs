//! Fault injection (issue #6 §2): the server under the faults a monitoring host meets, each an
//! automated, bounded test. `kill9` kills it at random moments of a mixed load, 20 times on one
//! data directory; `disk_full` runs it on a small tmpfs and fills it; `damage` flips and cuts
//! bytes of block files; `clock` moves its wall clock with libfaketime; `fd_limit` checks that it raises its
//! open-files limit, since every readable block file stays open. Refusing a foreign or
//! other-format data directory is covered by `crash::a_foreign_or_future_data_dir_is_refused_and_left_untouched`
//! and the unit tests of `src/datadir.rs`.
//!
//! This file holds what the four share: a seeded random source, NDJSON log batches, reading
//! back every log message of a component, and the checks a healthy restart must pass.

mod clock;
mod damage;
mod disk_full;
mod fd_limit;
mod kill9;

use std::collections::HashSet;

use crate::util::{http, Lookout};

/// A small deterministic random source (SplitMix64): tests print their seed so a failing run
/// can be repeated with `LOOKOUT_FAULTS_SEED`.
pub struct Rng(u64);

impl Rng {
    /// The seed from `LOOKOUT_FAULTS_SEED`, or one from the clock; printed either way.
    pub fn from_env(test: &str) -> Rng {
        let seed = match std::env::var("LOOKOUT_FAULTS_SEED") {
            Ok(s) => s
                .parse()
                .unwrap_or_else(|_| panic!("LOOKOUT_FAULTS_SEED={s:?} is not a u64")),
            Err(_) => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64),
        };
        eprintln!("{test}: seed {seed} (rerun with LOOKOUT_FAULTS_SEED={seed})");
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo + 1)
    }
}

/// An NDJSON body of one log line per message, all of `component`, dated `ts_ms` when given
/// (else the server stamps its receive time).
pub fn ndjson(component: &str, ts_ms: Option<i64>, messages: &[String]) -> String {
    messages
        .iter()
        .map(|m| {
            let mut v = serde_json::json!({"component": component, "message": m, "level": "info"});
            if let Some(ts) = ts_ms {
                v["ts"] = ts.into();
            }
            format!("{v}\n")
        })
        .collect()
}

/// `POST /api/v1/logs`; `None` when the server could not be reached or died mid-request.
pub fn try_post_logs(l: &Lookout, body: &str) -> Option<http::Response> {
    http::request(
        l.addrs.http,
        "POST",
        "/api/v1/logs",
        &[("Content-Type", "application/x-ndjson")],
        body.as_bytes(),
    )
    .ok()
}

/// `POST /api/v1/metrics`; `None` when the server could not be reached or died mid-request.
pub fn try_post_metrics(l: &Lookout, body: &str) -> Option<http::Response> {
    http::request(
        l.addrs.http,
        "POST",
        "/api/v1/metrics",
        &[("Content-Type", "text/plain")],
        body.as_bytes(),
    )
    .ok()
}

/// Every message stored under `component` (and below it) dated within `from..=until` (unix
/// seconds), read page by page through the cursor.
pub fn log_messages(l: &Lookout, component: &str, from: i64, until: i64) -> HashSet<String> {
    let (from, until) = (from.to_string(), until.to_string());
    let mut out = HashSet::new();
    let mut cursor = String::new();
    loop {
        let mut params = vec![
            ("component", component),
            ("from", from.as_str()),
            ("until", until.as_str()),
            ("limit", "10000"),
        ];
        if !cursor.is_empty() {
            params.push(("cursor", cursor.as_str()));
        }
        let page = l.logs(&params);
        let logs = page["logs"].as_array().cloned().unwrap_or_default();
        for r in &logs {
            let m = r["message"]
                .as_str()
                .unwrap_or_else(|| panic!("log without message: {r}"));
            out.insert(m.to_string());
        }
        match page["next_cursor"].as_str() {
            Some(c) if !logs.is_empty() => cursor = c.to_string(),
            _ => return out,
        }
    }
}

/// What every start after a fault must show: healthy, no panic in its log, and no damage
/// counted (a torn WAL tail after kill -9 is expected and is not damage).
#[track_caller]
pub fn assert_clean_start(l: &Lookout, when: &str) {
    assert!(l.healthy(), "{when}: /health is not ok");
    let stderr = l.stderr();
    assert!(
        !stderr.contains("panicked"),
        "{when}: the server panicked:\n{stderr}"
    );
    for m in [
        "lookout_tsdb_blocks_corrupt_total",
        "lookout_logs_blocks_corrupt_total",
        "lookout_logs_sections_corrupt_total",
    ] {
        assert_eq!(l.metric_sum(m, &[]), 0.0, "{when}: {m} went up");
    }
}
