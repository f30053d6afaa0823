//! The integration-test harness: runs the real `lookout` binary (built by cargo for this test
//! target) on a fresh temporary data directory with every port set to 0, learns the bound
//! addresses from `<data>/ready.json`, and offers what tests need around it: kill -9, restart
//! on the same directory, clean SIGTERM stop, HTTP helpers, senders for every Graphite
//! protocol, and condition waits with deadlines. The server's stderr goes to a file that is
//! printed when a test fails. It knows nothing about what a test checks.

pub mod http;
pub mod pickle;

use std::fs::File;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub use http::Response;

/// How long a server may take to start (bind, replay its log) before the test fails. Generous:
/// two cores are shared by parallel tests and other builds.
pub const START_DEADLINE: Duration = Duration::from_secs(30);

/// How long tests wait for data to become visible. Generous for the same reason; a passing test
/// returns as soon as the condition holds.
pub const DATA_DEADLINE: Duration = Duration::from_secs(30);

/// Pause between two checks of a polled condition: short enough not to slow a test down, long
/// enough not to busy-loop on a loaded machine.
const POLL_INTERVAL: Duration = Duration::from_millis(25);

/// The storage rule every test server uses unless a test says otherwise: 10 s slots kept a day,
/// so expectations can be computed on a known grid.
pub const TEN_SECOND_RETENTION: [&str; 2] = ["--retention", ".*=10s:1d"];

/// Unix seconds now.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64
}

/// A timestamp `ago` seconds before now, rounded down to a whole minute, so it sits on the
/// slot grid of every retention the tests use (10 s, 1 min).
pub fn aligned_ago(ago: i64) -> i64 {
    let t = now() - ago;
    t - t.rem_euclid(60)
}

/// Whether two JSON values are equal with every number compared as f64 (`1` equals `1.0`),
/// objects compared as maps.
pub fn same_json(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value;
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_json(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        _ => a == b,
    }
}

/// Polls `cond` until it returns true; panics naming `what` if `deadline` passes first.
#[track_caller]
pub fn wait_until(deadline: Duration, what: &str, cond: impl FnMut() -> bool) {
    if !wait_until_ok(deadline, cond) {
        panic!("timed out after {deadline:?} waiting for {what}");
    }
}

/// Polls `cond` until it returns true (then true) or `deadline` passes (then false), for
/// callers that report a timeout themselves.
pub fn wait_until_ok(deadline: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + deadline;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() > end {
            return false;
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}

/// Addresses the server bound, from `ready.json`.
#[derive(Debug, Clone, Copy)]
pub struct Addrs {
    /// The HTTP API.
    pub http: SocketAddr,
    /// Graphite plaintext over TCP.
    pub graphite_tcp: SocketAddr,
    /// Graphite plaintext over UDP.
    pub graphite_udp: SocketAddr,
    /// Carbon pickle over TCP.
    pub pickle: SocketAddr,
    /// Syslog over TCP.
    pub syslog_tcp: SocketAddr,
    /// Syslog over UDP.
    pub syslog_udp: SocketAddr,
    /// GELF over TCP (NUL-framed).
    pub gelf_tcp: SocketAddr,
    /// GELF over UDP (chunked).
    pub gelf_udp: SocketAddr,
    /// StatsD over TCP.
    pub statsd_tcp: SocketAddr,
    /// StatsD over UDP.
    pub statsd_udp: SocketAddr,
}

/// A running `lookout serve`. Killed (SIGKILL) on drop; its stderr is printed if the test is
/// failing at that point.
pub struct Lookout {
    /// Owns the data directory and the server's log; removed on drop.
    dir: tempfile::TempDir,
    /// Flags given after the harness's own (`--data-dir` and the port-0 addresses), kept for
    /// restarts.
    extra_args: Vec<String>,
    child: Option<Child>,
    /// Addresses of the current process; they change on every restart.
    pub addrs: Addrs,
    /// How many processes have been started on this directory, to name their logs.
    generation: u32,
    /// How the process is started (a wrapper command, environment), kept for restarts.
    launch: Launch,
}

/// How a test wants the server started when the plain `lookout serve` is not enough: inside a
/// wrapper (a mount namespace holding a small tmpfs) or with extra environment (libfaketime).
#[derive(Debug, Clone, Default)]
pub struct Launch {
    /// Program and arguments put before the `lookout` binary, e.g. `nsenter … --`.
    pub wrapper: Vec<String>,
    /// Environment variables set for the server process.
    pub env: Vec<(String, String)>,
    /// Where the test process sees the data directory when the server sees another file system
    /// there (a tmpfs mounted in a private mount namespace: `/proc/PID/root/...`).
    pub data_view: Option<PathBuf>,
}

impl Lookout {
    /// A server with the harness defaults plus 10 s / 1 day retention for every series.
    pub fn start() -> Lookout {
        Lookout::start_with(&TEN_SECOND_RETENTION)
    }

    /// A server with the harness defaults plus `extra_args`.
    pub fn start_with(extra_args: &[&str]) -> Lookout {
        Lookout::start_launched(extra_args, |_| Launch::default())
    }

    /// A server with the harness defaults plus `extra_args`, started as `launch` says; `launch`
    /// is called once with the (already created, empty) data directory before the first start.
    pub fn start_launched(extra_args: &[&str], launch: impl FnOnce(&Path) -> Launch) -> Lookout {
        let dir = tempfile::Builder::new()
            .prefix("lookout-itest-")
            .tempdir()
            .expect("creating a temp dir");
        std::fs::create_dir(dir.path().join("data")).expect("creating the data dir");
        let mut l = Lookout {
            dir,
            extra_args: extra_args.iter().map(|s| s.to_string()).collect(),
            child: None,
            addrs: Addrs {
                http: ([127, 0, 0, 1], 0).into(),
                graphite_tcp: ([127, 0, 0, 1], 0).into(),
                graphite_udp: ([127, 0, 0, 1], 0).into(),
                pickle: ([127, 0, 0, 1], 0).into(),
                syslog_tcp: ([127, 0, 0, 1], 0).into(),
                syslog_udp: ([127, 0, 0, 1], 0).into(),
                gelf_tcp: ([127, 0, 0, 1], 0).into(),
                gelf_udp: ([127, 0, 0, 1], 0).into(),
                statsd_tcp: ([127, 0, 0, 1], 0).into(),
                statsd_udp: ([127, 0, 0, 1], 0).into(),
            },
            generation: 0,
            launch: Launch::default(),
        };
        l.launch = launch(&l.data_dir());
        l.spawn();
        l
    }

    /// The data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The data directory as this test process sees it: [`Lookout::data_dir`] unless the server
    /// runs with its own view of it ([`Launch::data_view`]).
    pub fn data_view(&self) -> PathBuf {
        self.launch
            .data_view
            .clone()
            .unwrap_or_else(|| self.data_dir())
    }

    /// A scratch directory private to this test (outside the data directory), removed with it.
    pub fn scratch_dir(&self) -> &Path {
        self.dir.path()
    }

    /// `http://127.0.0.1:PORT` of the HTTP API.
    pub fn url(&self) -> String {
        format!("http://{}", self.addrs.http)
    }

    fn log_path(&self) -> PathBuf {
        self.dir
            .path()
            .join(format!("stderr.{}.log", self.generation))
    }

    fn spawn(&mut self) {
        assert!(self.child.is_none(), "a server is already running");
        let data = self.data_dir();
        // The server deletes a stale ready.json itself, but only once it runs; deleting it here
        // means the wait below can never read the previous process's addresses.
        let ready = self.data_view().join("ready.json");
        match std::fs::remove_file(&ready) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => panic!("removing {}: {e}", ready.display()),
        }
        self.generation += 1;
        let log = File::create(self.log_path()).expect("creating the server log");
        let mut cmd = match self.launch.wrapper.split_first() {
            Some((program, args)) => {
                let mut c = Command::new(program);
                c.args(args).arg(env!("CARGO_BIN_EXE_lookout"));
                c
            }
            None => Command::new(env!("CARGO_BIN_EXE_lookout")),
        };
        cmd.envs(self.launch.env.iter().map(|(k, v)| (k, v)))
            .arg("serve")
            .arg("--data-dir")
            .arg(&data)
            .args(["--http", "127.0.0.1:0"])
            .args(["--graphite", "127.0.0.1:0"])
            .args(["--pickle", "127.0.0.1:0"])
            .args(["--syslog", "127.0.0.1:0"])
            .args(["--gelf", "127.0.0.1:0"])
            .args(["--statsd", "127.0.0.1:0"])
            .args(&self.extra_args)
            // Run where no lookout.toml can be picked up by accident.
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("cloning the log handle"))
            .stderr(log)
            .env("RUST_BACKTRACE", "1");
        let child = cmd.spawn().expect("spawning lookout");
        self.child = Some(child);
        let start = Instant::now();
        loop {
            if let Some(addrs) = read_ready(&ready) {
                self.addrs = addrs;
                return;
            }
            if let Some(status) = self.child_mut().try_wait().expect("polling lookout") {
                panic!(
                    "lookout exited with {status} before it was ready; stderr:\n{}",
                    self.stderr()
                );
            }
            if start.elapsed() > START_DEADLINE {
                panic!(
                    "lookout wrote no ready.json within {START_DEADLINE:?}; stderr:\n{}",
                    self.stderr()
                );
            }
            std::thread::sleep(POLL_INTERVAL);
        }
    }

    fn child_mut(&mut self) -> &mut Child {
        self.child.as_mut().expect("lookout is running")
    }

    /// The process id of the running server.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("lookout is running").id()
    }

    /// What the current server process wrote to stderr so far.
    pub fn stderr(&self) -> String {
        let mut s = String::new();
        if let Ok(mut f) = File::open(self.log_path()) {
            let mut raw = Vec::new();
            let _ = f.read_to_end(&mut raw);
            s = String::from_utf8_lossy(&raw).into_owned();
        }
        s
    }

    /// SIGKILL, no chance to flush: what a power cut or the OOM killer does.
    pub fn kill9(&mut self) {
        let mut child = self.child.take().expect("lookout is running");
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Starts a new process on the same data directory with the same flags (new ports).
    pub fn restart(&mut self) {
        if self.child.is_some() {
            self.kill9();
        }
        self.spawn();
    }

    /// SIGTERM and wait for the process to exit; panics unless it exits with status 0.
    pub fn terminate(&mut self) {
        let status = self.signal_and_wait("TERM");
        assert!(
            status.success(),
            "lookout exited with {status} after SIGTERM; stderr:\n{}",
            self.stderr()
        );
    }

    /// Sends a signal by name (`TERM`, `INT`) and waits for the process to exit.
    pub fn signal_and_wait(&mut self, signal: &str) -> ExitStatus {
        let pid = self.pid();
        let ok = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(pid.to_string())
            .status()
            .expect("running kill");
        assert!(ok.success(), "kill -{signal} {pid} failed");
        let mut child = self.child.take().expect("lookout is running");
        let start = Instant::now();
        loop {
            if let Some(status) = child.try_wait().expect("polling lookout") {
                return status;
            }
            if start.elapsed() > START_DEADLINE {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "lookout did not exit within {START_DEADLINE:?} of SIG{signal}; stderr:\n{}",
                    self.stderr()
                );
            }
            std::thread::sleep(POLL_INTERVAL);
        }
    }

    // ---- HTTP ----------------------------------------------------------------------------

    /// Any request; panics on a transport error (not on an HTTP error status).
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Response {
        match http::request(self.addrs.http, method, path, headers, body) {
            Ok(r) => r,
            Err(e) => panic!(
                "{method} {path}: {e}; server stderr:\n{}",
                tail(&self.stderr())
            ),
        }
    }

    /// `GET path` (path includes any query string).
    pub fn get(&self, path: &str) -> Response {
        self.request("GET", path, &[], b"")
    }

    /// `GET path?params`.
    pub fn get_query(&self, path: &str, params: &[(&str, &str)]) -> Response {
        self.get(&format!("{path}?{}", http::query(params)))
    }

    /// `POST path` with a body of the given content type.
    pub fn post(&self, path: &str, content_type: &str, body: &[u8]) -> Response {
        self.request("POST", path, &[("Content-Type", content_type)], body)
    }

    /// `POST path` with form-encoded parameters, as Grafana sends them.
    pub fn post_form(&self, path: &str, params: &[(&str, &str)]) -> Response {
        self.post(
            path,
            "application/x-www-form-urlencoded",
            http::query(params).as_bytes(),
        )
    }

    /// `/render?format=json` of one target; panics unless HTTP 200.
    pub fn render_json(&self, target: &str, from: i64, until: i64) -> serde_json::Value {
        let r = self.get_query(
            "/render",
            &[
                ("target", target),
                ("from", &from.to_string()),
                ("until", &until.to_string()),
                ("format", "json"),
            ],
        );
        assert_eq!(r.status, 200, "render {target}: {}", r.text());
        r.json()
    }

    /// The non-null `(timestamp, value)` points of every series a target renders, by name.
    pub fn render_points(
        &self,
        target: &str,
        from: i64,
        until: i64,
    ) -> Vec<(String, Vec<(i64, f64)>)> {
        series_points(&self.render_json(target, from, until))
    }

    /// Waits until the one series `target` names renders exactly `want` (its non-null
    /// points), or panics showing the last answer.
    #[track_caller]
    pub fn wait_for_points(&self, target: &str, from: i64, until: i64, want: &[(i64, f64)]) {
        self.wait_for_series(target, from, until, &[(target, want.to_vec())]);
    }

    /// Waits until `target` renders exactly the series `want` (names and non-null points, in
    /// order), or panics showing the last answer.
    #[track_caller]
    pub fn wait_for_series(
        &self,
        target: &str,
        from: i64,
        until: i64,
        want: &[(&str, Vec<(i64, f64)>)],
    ) {
        let want: Vec<(String, Vec<(i64, f64)>)> = want
            .iter()
            .map(|(n, p)| (n.to_string(), p.clone()))
            .collect();
        let end = Instant::now() + DATA_DEADLINE;
        let last = loop {
            let got = self.render_points(target, from, until);
            if got == want {
                return;
            }
            if Instant::now() > end {
                break got;
            }
            std::thread::sleep(POLL_INTERVAL);
        };
        panic!(
            "{target} did not render the expected points within {DATA_DEADLINE:?}\n want: {want:?}\n  got: {last:?}"
        );
    }

    /// `POST /api/v1/metrics` with a plaintext body.
    pub fn post_metrics(&self, body: &str) -> Response {
        self.post("/api/v1/metrics", "text/plain", body.as_bytes())
    }

    /// Moves the head into blocks (`POST /api/v1/admin/flush`); panics unless 200.
    pub fn flush(&self) {
        let r = self.post("/api/v1/admin/flush", "text/plain", b"");
        assert_eq!(r.status, 200, "flush: {}", r.text());
    }

    /// `GET /health` answered `ok`.
    pub fn healthy(&self) -> bool {
        match http::request(self.addrs.http, "GET", "/health", &[], b"") {
            Ok(r) => r.status == 200 && r.text().trim() == "ok",
            Err(_) => false,
        }
    }

    /// The Prometheus self-metrics, parsed.
    pub fn metrics(&self) -> Vec<PromSample> {
        let r = self.get("/metrics");
        assert_eq!(r.status, 200, "/metrics: {}", r.text());
        parse_prometheus(&r.text()).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Sum of every sample of `name` whose labels include all of `labels`.
    pub fn metric_sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.metrics()
            .iter()
            .filter(|s| s.name == name && s.has_labels(labels))
            .map(|s| s.value)
            .sum()
    }

    // ---- Graphite senders ---------------------------------------------------------------

    /// Writes `data` on one plaintext TCP connection, then closes it.
    pub fn send_tcp(&self, data: &[u8]) {
        self.send_tcp_chunks(&[data]);
    }

    /// Writes each chunk separately (no Nagle delay) on one plaintext TCP connection, so lines
    /// are split across reads, then closes it.
    pub fn send_tcp_chunks(&self, chunks: &[&[u8]]) {
        send_chunks(self.addrs.graphite_tcp, chunks);
    }

    /// One UDP datagram to the plaintext listener.
    pub fn send_udp(&self, datagram: &[u8]) {
        let sock = UdpSocket::bind("127.0.0.1:0").expect("binding a UDP socket");
        sock.send_to(datagram, self.addrs.graphite_udp)
            .expect("sending a datagram");
    }

    /// Points as one pickle frame on the pickle listener.
    pub fn send_pickle(&self, points: &[(&str, f64, f64)]) {
        self.send_pickle_raw(&pickle::frame(&pickle::points_payload(points)));
    }

    /// Raw bytes on the pickle listener.
    pub fn send_pickle_raw(&self, data: &[u8]) {
        send_chunks(self.addrs.pickle, &[data]);
    }

    /// Raw bytes on one syslog TCP connection, then closes it.
    pub fn send_syslog_tcp(&self, data: &[u8]) {
        send_chunks(self.addrs.syslog_tcp, &[data]);
    }

    /// One syslog UDP datagram.
    pub fn send_syslog_udp(&self, datagram: &[u8]) {
        let sock = UdpSocket::bind("127.0.0.1:0").expect("binding a UDP socket");
        sock.send_to(datagram, self.addrs.syslog_udp)
            .expect("sending a datagram");
    }

    /// One StatsD UDP datagram.
    pub fn send_statsd_udp(&self, datagram: &[u8]) {
        let sock = UdpSocket::bind("127.0.0.1:0").expect("binding a UDP socket");
        sock.send_to(datagram, self.addrs.statsd_udp)
            .expect("sending a datagram");
    }

    /// Raw bytes on one StatsD TCP connection, then closes it.
    pub fn send_statsd_tcp(&self, data: &[u8]) {
        self.send_statsd_tcp_chunks(&[data]);
    }

    /// Each chunk written separately on one StatsD TCP connection, then closes it.
    pub fn send_statsd_tcp_chunks(&self, chunks: &[&[u8]]) {
        send_chunks(self.addrs.statsd_tcp, chunks);
    }

    /// `GET /api/v1/logs` with these parameters, as JSON; panics unless 200.
    pub fn logs(&self, params: &[(&str, &str)]) -> serde_json::Value {
        let r = self.get_query("/api/v1/logs", params);
        assert_eq!(r.status, 200, "GET /api/v1/logs {params:?}: {}", r.text());
        serde_json::from_slice(&r.body).expect("log query JSON")
    }

    /// Messages of every log matching `params`, waiting up to `deadline` until there are
    /// at least `want` of them.
    pub fn wait_for_logs(&self, params: &[(&str, &str)], want: usize) -> Vec<serde_json::Value> {
        let mut last = Vec::new();
        let ok = wait_until_ok(Duration::from_secs(20), || {
            last = self.logs(params)["logs"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            last.len() >= want
        });
        assert!(
            ok,
            "wanted {want} logs for {params:?}, got {}: {last:?}",
            last.len()
        );
        last
    }
}

impl Drop for Lookout {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            eprintln!(
                "---- lookout stderr (data dir {}) ----\n{}\n---- end of lookout stderr ----",
                self.data_dir().display(),
                tail(&self.stderr())
            );
        }
    }
}

/// The last 200 lines of a log, enough to see what went wrong without flooding the output.
fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(200)..].join("\n")
}

fn send_chunks(addr: SocketAddr, chunks: &[&[u8]]) {
    let mut s = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connecting to {addr}: {e}"));
    s.set_nodelay(true).expect("setting TCP_NODELAY");
    s.set_write_timeout(Some(DATA_DEADLINE))
        .expect("setting a write timeout");
    for c in chunks {
        s.write_all(c)
            .unwrap_or_else(|e| panic!("writing to {addr}: {e}"));
        s.flush().expect("flushing");
    }
    let _ = s.shutdown(std::net::Shutdown::Write);
}

fn read_ready(path: &Path) -> Option<Addrs> {
    let text = std::fs::read_to_string(path).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    let addr = |k: &str| -> Option<SocketAddr> { v.get(k)?.as_str()?.parse().ok() };
    Some(Addrs {
        http: addr("http")?,
        graphite_tcp: addr("graphite_tcp")?,
        graphite_udp: addr("graphite_udp")?,
        pickle: addr("pickle")?,
        syslog_tcp: addr("syslog_tcp")?,
        syslog_udp: addr("syslog_udp")?,
        gelf_tcp: addr("gelf_tcp")?,
        gelf_udp: addr("gelf_udp")?,
        statsd_tcp: addr("statsd_tcp")?,
        statsd_udp: addr("statsd_udp")?,
    })
}

/// Every series of a render JSON answer as `(target, non-null (timestamp, value) points)`.
pub fn series_points(v: &serde_json::Value) -> Vec<(String, Vec<(i64, f64)>)> {
    let list = v
        .as_array()
        .unwrap_or_else(|| panic!("render JSON is not a list: {v}"));
    list.iter()
        .map(|s| {
            let name = s["target"]
                .as_str()
                .unwrap_or_else(|| panic!("series without a target: {s}"))
                .to_string();
            let points = datapoints(s)
                .into_iter()
                .filter_map(|(t, v)| v.map(|v| (t, v)))
                .collect();
            (name, points)
        })
        .collect()
}

/// The `datapoints` of one rendered series as `(timestamp, value or null)`.
pub fn datapoints(series: &serde_json::Value) -> Vec<(i64, Option<f64>)> {
    series["datapoints"]
        .as_array()
        .unwrap_or_else(|| panic!("series without datapoints: {series}"))
        .iter()
        .map(|p| {
            let ts = p[1]
                .as_i64()
                .or_else(|| p[1].as_f64().map(|f| f as i64))
                .unwrap_or_else(|| panic!("bad timestamp in {p}"));
            let value = if p[0].is_null() {
                None
            } else {
                Some(p[0].as_f64().unwrap_or_else(|| panic!("bad value in {p}")))
            };
            (ts, value)
        })
        .collect()
}

/// One line of Prometheus text: `name{labels} value`.
#[derive(Debug, Clone, PartialEq)]
pub struct PromSample {
    /// Metric name.
    pub name: String,
    /// Label pairs in the order written.
    pub labels: Vec<(String, String)>,
    /// The value.
    pub value: f64,
}

impl PromSample {
    /// Whether every `(key, value)` given is among the labels.
    pub fn has_labels(&self, want: &[(&str, &str)]) -> bool {
        want.iter()
            .all(|(k, v)| self.labels.iter().any(|(lk, lv)| lk == k && lv == v))
    }
}

/// Parses Prometheus text exposition format 0.0.4: comment lines start with `#`, every other
/// non-empty line is `name{k="v",...} value` or `name value`. An error names the bad line.
pub fn parse_prometheus(text: &str) -> Result<Vec<PromSample>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = |why: &str| format!("/metrics line {}: {why}: {line:?}", i + 1);
        let name_end = line.find(['{', ' ']).ok_or_else(|| bad("no value"))?;
        let name = &line[..name_end];
        let name_ok = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
            && !name.starts_with(|c: char| c.is_ascii_digit());
        if !name_ok {
            return Err(bad("bad metric name"));
        }
        let mut rest = &line[name_end..];
        let mut labels = Vec::new();
        if let Some(after) = rest.strip_prefix('{') {
            let mut s = after;
            loop {
                if let Some(r) = s.strip_prefix('}') {
                    rest = r;
                    break;
                }
                let eq = s.find('=').ok_or_else(|| bad("label without ="))?;
                let key = s[..eq].trim_start_matches(',').to_string();
                if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    return Err(bad("bad label name"));
                }
                let mut chars = s[eq + 1..].char_indices();
                if chars.next().map(|(_, c)| c) != Some('"') {
                    return Err(bad("label value not quoted"));
                }
                let mut value = String::new();
                let mut end = None;
                let mut escaped = false;
                for (j, c) in chars {
                    if escaped {
                        value.push(match c {
                            'n' => '\n',
                            other => other,
                        });
                        escaped = false;
                    } else if c == '\\' {
                        escaped = true;
                    } else if c == '"' {
                        end = Some(eq + 1 + j + 1);
                        break;
                    } else {
                        value.push(c);
                    }
                }
                let end = end.ok_or_else(|| bad("unterminated label value"))?;
                labels.push((key, value));
                s = s[end..].strip_prefix(',').unwrap_or(&s[end..]);
            }
        }
        let mut fields = rest.split_whitespace();
        let value = fields.next().ok_or_else(|| bad("no value"))?;
        let value = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            "NaN" => f64::NAN,
            v => v.parse::<f64>().map_err(|_| bad("value is not a number"))?,
        };
        if let Some(ts) = fields.next() {
            ts.parse::<i64>()
                .map_err(|_| bad("timestamp is not an integer"))?;
        }
        if fields.next().is_some() {
            return Err(bad("trailing fields"));
        }
        out.push(PromSample {
            name: name.to_string(),
            labels,
            value,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// name, labels, value
    type Expected<'a> = Vec<(&'a str, Vec<(&'a str, &'a str)>, f64)>;

    #[track_caller]
    fn check(text: &str, expected: Result<Expected, ()>) {
        let got = parse_prometheus(text).map(|v| {
            v.into_iter()
                .map(|s| (s.name, s.labels, s.value))
                .collect::<Vec<_>>()
        });
        match expected {
            Ok(want) => {
                let want: Vec<_> = want
                    .into_iter()
                    .map(|(n, l, v)| {
                        (
                            n.to_string(),
                            l.into_iter()
                                .map(|(a, b)| (a.to_string(), b.to_string()))
                                .collect::<Vec<_>>(),
                            v,
                        )
                    })
                    .collect();
                assert_eq!(got, Ok(want));
            }
            Err(()) => assert!(got.is_err(), "{text:?} parsed as {got:?}"),
        }
    }

    #[test]
    fn prometheus_text_parser_accepts_the_format_and_rejects_garbage() {
        check(
            "# HELP x y\n# TYPE x counter\nx 1\n",
            Ok(vec![("x", vec![], 1.0)]),
        );
        check(
            "a_total{proto=\"graphite_tcp\",reason=\"bad \\\"q\\\"\"} 3\n",
            Ok(vec![(
                "a_total",
                vec![("proto", "graphite_tcp"), ("reason", "bad \"q\"")],
                3.0,
            )]),
        );
        check(
            "h_bucket{le=\"+Inf\"} 2 1700000000\n",
            Ok(vec![("h_bucket", vec![("le", "+Inf")], 2.0)]),
        );
        check("x{} 0.5\n", Ok(vec![("x", vec![], 0.5)]));
        check("x\n", Err(()));
        check("x one\n", Err(()));
        check("x{a=1} 2\n", Err(()));
        check("x{a=\"1} 2\n", Err(()));
        check("9x 2\n", Err(()));
        check("x 1 2 3\n", Err(()));
    }
}
