//! Differential test against the real Etsy `statsd` daemon (npm package `statsd` 0.9.0, pinned
//! by `tests/etsy-statsd/package-lock.json`; `scripts/test` installs it under
//! `target/etsy-statsd`). Etsy runs under node with its graphite backend pointed at a TCP port
//! this test listens on; the same datagram goes to Etsy and to lookout, both with a 1 s flush,
//! `deleteIdleStats` and the same percentiles, and every series Etsy flushes under `cmp.` must
//! exist in lookout with the same value (floats compared to 1e-9 relative, as JavaScript and
//! Rust print them differently). Lookout must not write `cmp.` series that Etsy does not.
//!
//! Left out of the datagram, on purpose: `h` (Etsy counts it, lookout times it) and tags
//! (checked in `mod.rs`).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::{TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::util::{now, series_points, Lookout, DATA_DEADLINE};

/// The packet both daemons get: counters with sample rates and several values per line,
/// timers with enough values for the percentiles to differ, gauges with deltas, sets.
const PACKET: &str = "cmp.hits:1|c\ncmp.hits:3|c|@0.25\ncmp.multi:2|c:5|c\ncmp.neg:-4|c\n\
cmp.lat:12|ms\ncmp.lat:3|ms\ncmp.lat:7.5|ms\ncmp.lat:100|ms|@0.5\ncmp.lat:41|ms\ncmp.lat:0|ms\n\
cmp.lat:9|ms:11|ms:13|ms\ncmp.one:5|ms\n\
cmp.depth:10|g\ncmp.depth:+2.5|g\ncmp.depth:-1|g\ncmp.fresh:+3|g\n\
cmp.users:ann|s\ncmp.users:bob|s\ncmp.users:ann|s\ncmp.users:7|s\n\
cmp.bad:oops|c\ncmp.my metric/x:1|c\n";

/// Where `scripts/test` installed Etsy's daemon, if it did.
fn etsy_stats_js() -> Option<PathBuf> {
    let dir = std::env::var_os("LOOKOUT_ETSY_STATSD")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/etsy-statsd"));
    let js = dir.join("node_modules/statsd/stats.js");
    let node = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    (js.exists() && node).then_some(js)
}

/// The node child, killed on drop; its output shown if the test fails.
struct Etsy {
    child: Child,
    log: PathBuf,
}

impl Drop for Etsy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "---- Etsy statsd output ----\n{}\n---- end ----",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
        }
    }
}

/// Starts the daemon reporting to the fake carbon on `carbon_port`, and waits until a probe
/// counter comes back from it. `None` if it exited first (a port was taken meanwhile).
fn start_etsy(
    l: &Lookout,
    stats_js: &Path,
    carbon_port: u16,
    received: &Received,
    attempt: u32,
) -> Option<(Etsy, String)> {
    let udp_port = free_port();
    let config = l.scratch_dir().join(format!("etsy-config-{attempt}.js"));
    std::fs::write(
        &config,
        format!(
            r#"{{
  port: {udp_port}, address: "127.0.0.1",
  mgmt_port: {mgmt}, mgmt_address: "127.0.0.1",
  backends: ["./backends/graphite"],
  graphiteHost: "127.0.0.1", graphitePort: {carbon_port},
  flushInterval: 1000, percentThreshold: [90, 50, 99.9, -20], deleteIdleStats: true
}}"#,
            mgmt = free_port()
        ),
    )
    .unwrap();
    let log = l.scratch_dir().join(format!("etsy-{attempt}.log"));
    let log_file = std::fs::File::create(&log).unwrap();
    let child = Command::new("node")
        .arg(stats_js)
        .arg(&config)
        .current_dir(stats_js.parent().unwrap())
        .stdin(Stdio::null())
        .stdout(log_file.try_clone().unwrap())
        .stderr(log_file)
        .spawn()
        .expect("starting node");
    let mut etsy = Etsy { child, log };
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = format!("127.0.0.1:{udp_port}");
    let end = Instant::now() + DATA_DEADLINE;
    let probe = format!("probe{attempt}");
    let flushed = format!("stats_counts.{probe} ");
    while !received
        .lock()
        .unwrap()
        .iter()
        .any(|l| l.starts_with(&flushed))
    {
        if let Ok(Some(status)) = etsy.child.try_wait() {
            eprintln!(
                "Etsy statsd exited ({status}) on attempt {attempt}:\n{}",
                std::fs::read_to_string(&etsy.log).unwrap_or_default()
            );
            return None;
        }
        assert!(Instant::now() < end, "Etsy statsd never flushed a probe");
        sock.send_to(format!("{probe}:1|c").as_bytes(), &addr)
            .unwrap();
        std::thread::sleep(Duration::from_millis(200));
    }
    Some((etsy, addr))
}

/// A free loopback port (released at once; the daemon binds it right after).
fn free_port() -> u16 {
    let s = UdpSocket::bind("127.0.0.1:0").expect("binding a UDP socket");
    s.local_addr().expect("local address").port()
}

/// Lines Etsy's graphite backend sent: `name value timestamp`.
type Received = Arc<Mutex<Vec<String>>>;

/// A fake carbon: accepts connections and records every line.
fn fake_carbon() -> (u16, Received) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding the fake carbon");
    let port = listener.local_addr().expect("local address").port();
    let lines: Received = Arc::default();
    let out = lines.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let out = out.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    out.lock().unwrap().push(line);
                }
            });
        }
    });
    (port, lines)
}

#[test]
fn etsy_statsd_and_lookout_flush_the_same_values() {
    // Like the graypy and collectd tests, missing peers fail the test rather than skip it: a
    // skipped comparison would pass without comparing anything.
    let Some(stats_js) = etsy_stats_js() else {
        panic!("node or Etsy statsd missing: run scripts/test, which installs them");
    };
    let conf_dir = tempfile::tempdir().unwrap();
    let conf = conf_dir.path().join("lookout.toml");
    std::fs::write(
        &conf,
        "[statsd]\ndelete_idle_stats = true\npercentiles = [90, 50, 99.9, -20]\n",
    )
    .unwrap();
    let conf = conf.display().to_string();
    let l = Lookout::start_with(&[
        "--statsd-flush",
        "1s",
        "--retention",
        ".*=1s:1h",
        "--config",
        &conf,
    ]);
    let (carbon_port, received) = fake_carbon();
    // The daemon's ports are picked free and released just before node binds them, so a
    // parallel test can take one first; a daemon that exits is restarted on fresh ports.
    let (_etsy, etsy_addr) = (1..=3)
        .find_map(|attempt| start_etsy(&l, &stats_js, carbon_port, &received, attempt))
        .expect("Etsy statsd did not start in 3 attempts (its output is above)");
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();

    sock.send_to(PACKET.as_bytes(), &etsy_addr).unwrap();
    l.send_statsd_udp(PACKET.as_bytes());

    // Etsy handles a datagram whole between flushes: wait for the flush that has it.
    let end = Instant::now() + DATA_DEADLINE;
    let etsy: BTreeMap<String, f64> = loop {
        let lines = received.lock().unwrap().clone();
        let cmp: BTreeMap<String, f64> = lines
            .iter()
            .filter_map(|line| {
                let mut f = line.split(' ');
                let (name, value) = (f.next()?, f.next()?);
                name.contains("cmp.")
                    .then(|| (name.to_string(), value.parse().unwrap()))
            })
            .collect();
        if cmp.contains_key("stats.sets.cmp.users.count") {
            break cmp;
        }
        assert!(Instant::now() < end, "Etsy statsd never flushed the packet");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(etsy.len() > 40, "Etsy flushed too little: {etsy:?}");

    for (name, want) in &etsy {
        let end = Instant::now() + DATA_DEADLINE;
        loop {
            let t = now();
            let got = series_points(&l.render_json(name, t - 300, t + 60));
            let values: Vec<f64> = got
                .iter()
                .flat_map(|(_, p)| p.iter().map(|(_, v)| *v))
                .collect();
            if !values.is_empty() {
                assert_eq!(values.len(), 1, "{name}: one flush expected, got {got:?}");
                let v = values[0];
                assert!(
                    (v - want).abs() <= 1e-9 * want.abs().max(1.0),
                    "{name}: lookout {v}, Etsy {want}"
                );
                break;
            }
            assert!(
                Instant::now() < end,
                "{name} (Etsy: {want}) missing in lookout"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    // Nothing beyond Etsy's series under cmp.
    let index = l.get("/metrics/index.json").json();
    let ours: Vec<String> = index
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .filter(|n| n.contains("cmp."))
        .map(str::to_string)
        .collect();
    let extra: Vec<&String> = ours.iter().filter(|n| !etsy.contains_key(*n)).collect();
    assert!(
        extra.is_empty(),
        "lookout wrote series Etsy did not: {extra:?}"
    );
}
