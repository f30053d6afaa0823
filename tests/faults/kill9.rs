//! kill -9 at random moments of a mixed load, 20 rounds on one data directory: acknowledged
//! metric batches (`POST /api/v1/metrics`) and log batches (`POST /api/v1/logs`) run beside
//! unacknowledged plaintext and syslog noise, renders, log queries and head flushes. After
//! each kill the server must restart cleanly with every acknowledged point (exact value) and
//! log line (exact message) of every round so far, and nothing that was never sent.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::net::{TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use super::{assert_clean_start, log_messages, ndjson, Rng};
use crate::util::{aligned_ago, http, now, wait_until, Lookout, DATA_DEADLINE};

/// Kills, each followed by a restart on the same directory.
const ROUNDS: usize = 20;
/// Series in every metric batch, one point each.
const SERIES: usize = 10;
/// Log lines in every log batch.
const LINES: usize = 10;
/// Batches a writer sends in one round at most: bounds a round if the kill never comes, and
/// gives every (round, batch) its own 10 s slot inside the 1 d retention.
const MAX_BATCHES: usize = 300;
/// The kill comes once both writers have this many batches acknowledged at least, drawn per
/// round from `1..=MAX_ACKED_BEFORE_KILL`: early kills hit a fresh start, late ones a busy one.
const MAX_ACKED_BEFORE_KILL: u64 = 25;

const COMPONENT: &str = "faults.kill";

fn slot(base: i64, round: usize, batch: usize) -> i64 {
    base + ((round * MAX_BATCHES + batch) as i64) * 10
}

fn value(round: usize, batch: usize, series: usize) -> f64 {
    ((round * MAX_BATCHES + batch) * 100 + series) as f64 + 0.5
}

fn message(round: usize, batch: usize, line: usize) -> String {
    format!("kill round {round} batch {batch} line {line}")
}

/// What the load threads of all rounds sent and had acknowledged.
#[derive(Default)]
struct Ledger {
    /// (round, batch) of metric batches answered 2xx.
    acked_batches: Vec<(usize, usize)>,
    /// Metric batches sent per round (acknowledged or not).
    sent_batches: HashMap<usize, usize>,
    acked_logs: HashSet<String>,
    sent_logs: HashSet<String>,
}

#[test]
fn acknowledged_points_and_logs_survive_20_kill_9_under_mixed_load() {
    let mut rng = Rng::from_env("kill9");
    let mut l = Lookout::start();
    let base = aligned_ago(20 * 3600);
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    for round in 0..ROUNDS {
        if round > 0 {
            l.restart();
            assert_clean_start(&l, &format!("restart before round {round}"));
            verify(&l, base, &ledger.lock().expect("lock"), round);
        }
        let want = rng.range(1, MAX_ACKED_BEFORE_KILL) as usize;
        let flush_every = rng.range(3, 12);
        let stop = Arc::new(AtomicBool::new(false));
        let threads = start_load(&l, base, round, flush_every, &ledger, &stop);
        wait_until(
            DATA_DEADLINE,
            "acknowledged batches before the kill",
            || {
                let g = ledger.lock().expect("lock");
                let metrics = g.acked_batches.iter().filter(|(r, _)| *r == round).count();
                let logs = g
                    .acked_logs
                    .iter()
                    .filter(|m| m.starts_with(&format!("kill round {round} ")))
                    .count()
                    / LINES;
                metrics >= want && logs >= want
            },
        );
        l.kill9();
        stop.store(true, Ordering::Relaxed);
        for t in threads {
            t.join().expect("load thread");
        }
        let g = ledger.lock().expect("lock");
        eprintln!(
            "kill9 round {round}: killed with {} metric batches and {} log lines acknowledged \
             in all ({want} batches wanted this round)",
            g.acked_batches.len(),
            g.acked_logs.len()
        );
    }
    l.restart();
    assert_clean_start(&l, "final restart");
    verify(&l, base, &ledger.lock().expect("lock"), ROUNDS);
}

/// Checks every acknowledged point and log line of rounds before `rounds`, and that nothing
/// stored was never sent.
fn verify(l: &Lookout, base: i64, ledger: &Ledger, rounds: usize) {
    let until = slot(base, ROUNDS, 0);
    let got = l.render_points("kill.*", base - 10, until);
    let by_name: HashMap<String, HashMap<i64, f64>> = got
        .into_iter()
        .map(|(n, p)| (n, p.into_iter().collect()))
        .collect();
    for &(round, batch) in &ledger.acked_batches {
        for s in 0..SERIES {
            let name = format!("kill.s{s:02}");
            let ts = slot(base, round, batch);
            assert_eq!(
                by_name.get(&name).and_then(|p| p.get(&ts)),
                Some(&value(round, batch, s)),
                "{name}: acknowledged batch {batch} of round {round} (slot {ts}) lost or changed \
                 after {rounds} kills"
            );
        }
    }
    for (name, points) in &by_name {
        let s: usize = name["kill.s".len()..].parse().expect("series number");
        for (&ts, &v) in points {
            let g = ((ts - base) / 10) as usize;
            let (round, batch) = (g / MAX_BATCHES, g % MAX_BATCHES);
            let sent = ledger.sent_batches.get(&round).copied().unwrap_or(0);
            assert!(
                batch < sent,
                "{name}: point at {ts} from a batch never sent"
            );
            assert_eq!(v, value(round, batch, s), "{name}: wrong value at {ts}");
        }
    }
    let stored = log_messages(l, COMPONENT, now() - 86_400, now() + 3600);
    let lost: Vec<&String> = ledger.acked_logs.difference(&stored).collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged log lines lost after {rounds} kills, e.g. {:?}",
        lost.len(),
        &lost[..lost.len().min(5)]
    );
    let invented: Vec<&String> = stored.difference(&ledger.sent_logs).collect();
    assert!(invented.is_empty(), "log lines never sent: {invented:?}");
}

/// The round's load: two acknowledged writers, three kinds of noise. Every thread stops at
/// `stop` or at its first failed request (the server is gone).
fn start_load(
    l: &Lookout,
    base: i64,
    round: usize,
    flush_every: u64,
    ledger: &Arc<Mutex<Ledger>>,
    stop: &Arc<AtomicBool>,
) -> Vec<JoinHandle<()>> {
    let addrs = l.addrs;
    let mut threads = Vec::new();
    // Acknowledged metrics: batch b writes slot(round, b) of every series.
    let (g, st) = (ledger.clone(), stop.clone());
    threads.push(std::thread::spawn(move || {
        for batch in 0..MAX_BATCHES {
            if st.load(Ordering::Relaxed) {
                return;
            }
            let body: String = (0..SERIES)
                .map(|s| {
                    format!(
                        "kill.s{s:02} {} {}\n",
                        value(round, batch, s),
                        slot(base, round, batch)
                    )
                })
                .collect();
            g.lock()
                .expect("lock")
                .sent_batches
                .insert(round, batch + 1);
            let r = http::request(
                addrs.http,
                "POST",
                "/api/v1/metrics",
                &[("Content-Type", "text/plain")],
                body.as_bytes(),
            );
            match r {
                Ok(r) if (200..300).contains(&r.status) => {
                    g.lock().expect("lock").acked_batches.push((round, batch));
                }
                Ok(r) => panic!("metric batch refused while the server was up: {}", r.text()),
                Err(_) => return,
            }
        }
    }));
    // Acknowledged logs, dated now (the harness's clock is the server's).
    let (g, st) = (ledger.clone(), stop.clone());
    threads.push(std::thread::spawn(move || {
        for batch in 0..MAX_BATCHES {
            if st.load(Ordering::Relaxed) {
                return;
            }
            let messages: Vec<String> = (0..LINES).map(|i| message(round, batch, i)).collect();
            g.lock()
                .expect("lock")
                .sent_logs
                .extend(messages.iter().cloned());
            let body = ndjson(COMPONENT, Some(now() * 1000), &messages);
            let r = http::request(
                addrs.http,
                "POST",
                "/api/v1/logs",
                &[("Content-Type", "application/x-ndjson")],
                body.as_bytes(),
            );
            match r {
                Ok(r) if (200..300).contains(&r.status) => {
                    g.lock().expect("lock").acked_logs.extend(messages);
                }
                Ok(r) => panic!("log batch refused while the server was up: {}", r.text()),
                Err(_) => return,
            }
        }
    }));
    // Unacknowledged noise: plaintext TCP and syslog UDP under other names.
    let st = stop.clone();
    threads.push(std::thread::spawn(move || {
        let Ok(mut tcp) = TcpStream::connect(addrs.graphite_tcp) else {
            return;
        };
        let Ok(udp) = UdpSocket::bind("127.0.0.1:0") else {
            return;
        };
        let mut i = 0u64;
        while !st.load(Ordering::Relaxed) {
            let lines: String = (0..50)
                .map(|k| format!("noise.tcp.n{} {} -1\n", k % 7, i + k))
                .collect();
            if tcp.write_all(lines.as_bytes()).is_err() {
                return;
            }
            let msg = format!("<13>1 - host noise - - - syslog noise {i}");
            let _ = udp.send_to(msg.as_bytes(), addrs.syslog_udp);
            i += 1;
        }
    }));
    // Readers and flushes: renders, log queries, and every few of them a head flush, so kills
    // also land in the middle of block writes.
    let st = stop.clone();
    threads.push(std::thread::spawn(move || {
        let mut i = 0u64;
        while !st.load(Ordering::Relaxed) {
            let path = if i % flush_every == flush_every - 1 {
                "/api/v1/admin/flush"
            } else if i % 2 == 0 {
                "/render?target=kill.*&from=-1d&format=json"
            } else {
                "/api/v1/logs?component=faults.kill&from=-1h&limit=100"
            };
            let method = if path.starts_with("/api/v1/admin") {
                "POST"
            } else {
                "GET"
            };
            if http::request(addrs.http, method, path, &[], b"").is_err() {
                return;
            }
            i += 1;
        }
    }));
    threads
}
