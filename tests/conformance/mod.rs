//! Differential test of the Graphite web API against the real thing: Debian's carbon-cache
//! (whisper, `10s:1d`, average, xFilesFactor 0) and graphite-web 1.1.8, run on loopback ports
//! with their configuration and state in a temp dir (templates in `tests/conformance/`), and
//! lookout started with `--retention '.*=10s:1d'`. Both get the same deterministic data over
//! plaintext TCP: 6 hours at 10 s ending about an hour ago, with gaps, sparse series, a
//! counter reset, negative values, off-grid timestamps and tagged series (carbon runs with
//! tags on and registers every series in graphite-web's tag database). Every line of
//! `tests/data/conformance_targets.txt` is then asked of both, and names, timestamps and values
//! (1e-6 relative, nulls equal) are compared; `tags:` lines compare a tag endpoint's JSON. The
//! test prints PASS/FAIL with a diff per line, writes the same report under the cargo target
//! tmp dir, and fails listing the failures.

use std::fmt::Write as _;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::util::{http, now, wait_until, wait_until_ok, Lookout};

const PYTHON: &str = "/usr/bin/python3";
const CARBON_CACHE: &str = "/usr/bin/carbon-cache";
const STEP: i64 = 10;
/// Six hours of 10 s slots.
const SPAN: i64 = 6 * 3600;
const NPTS: i64 = SPAN / STEP;
/// Relative tolerance on values: both sides compute in f64, but not necessarily in the same
/// order (sums, averages).
const REL_TOL: f64 = 1e-6;
/// Starting carbon, Django's migration and graphite-web take a few seconds, more on a loaded
/// machine.
const REFERENCE_START_DEADLINE: Duration = Duration::from_secs(120);
/// ~70,000 points through carbon's cache into whisper, and through lookout.
const INGEST_DEADLINE: Duration = Duration::from_secs(180);

fn here() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests")
}

// ---- the data set ------------------------------------------------------------------------

/// SplitMix64: a fixed, dependency-free generator, so both servers always get the same data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Rounds to 3 decimals, so the text sent is short and parses to the same f64 on both sides.
fn r3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// One series: its name and its lines' `(timestamp text, value)`.
struct Series {
    name: String,
    points: Vec<(String, f64)>,
}

impl Series {
    fn new(name: impl Into<String>) -> Series {
        Series {
            name: name.into(),
            points: Vec::new(),
        }
    }

    fn push(&mut self, ts: i64, v: f64) {
        self.points.push((ts.to_string(), v));
    }

    /// Distinct 10 s slots written: what a render of the whole span shows as non-null.
    fn slots(&self) -> usize {
        let mut s: Vec<i64> = self
            .points
            .iter()
            .map(|(t, _)| {
                let t = t.parse::<f64>().expect("numeric timestamp") as i64;
                t - t.rem_euclid(STEP)
            })
            .collect();
        s.dedup();
        s.len()
    }
}

/// The data set, starting at `base` (a whole hour).
fn dataset(base: i64) -> Vec<Series> {
    let mut rng = Rng(20_240_601);
    let mut out = Vec::new();
    let tau = std::f64::consts::TAU;
    // Gauges dc{1,2}.host0{1..3}.cpu.{user,system}, one with a 10-minute gap, one missing
    // every 7th point.
    for dc in 1..=2 {
        for h in 1..=3 {
            let phase = rng.uniform(0.0, tau);
            for kind in ["user", "system"] {
                let mut s = Series::new(format!("dc{dc}.host{h:02}.cpu.{kind}"));
                for i in 0..NPTS {
                    let v = if kind == "user" {
                        30.0 + 20.0 * (tau * i as f64 / 360.0 + phase).sin()
                            + rng.uniform(-3.0, 3.0)
                            + h as f64
                    } else {
                        5.0 + 3.0 * (tau * i as f64 / 500.0 + phase).cos() + rng.uniform(-1.0, 1.0)
                    };
                    if dc == 1 && h == 3 && (600..660).contains(&i) {
                        continue;
                    }
                    if dc == 2 && h == 3 && kind == "system" && i % 7 == 0 {
                        continue;
                    }
                    s.push(base + i * STEP, r3(v));
                }
                out.push(s);
            }
        }
    }
    // Counters dc{1,2}.host0{1..3}.net.bytes_rx; dc2.host02 resets, dc1.host02 has a gap.
    for dc in 1..=2 {
        for h in 1..=3 {
            let mut c = rng.below(1_000_000);
            let mut s = Series::new(format!("dc{dc}.host{h:02}.net.bytes_rx"));
            for i in 0..NPTS {
                c += rng.below(5000);
                if dc == 2 && h == 2 && i == 1000 {
                    c = rng.below(100);
                }
                if dc == 1 && h == 2 && (1500..1530).contains(&i) {
                    continue;
                }
                s.push(base + i * STEP, c as f64);
            }
            out.push(s);
        }
    }
    // Request counters and latency gauges per app.
    for (app, scale) in [("api", 50), ("web", 20), ("admin", 2)] {
        let mut c = 0;
        let mut s = Series::new(format!("app.requests.{app}.count"));
        for i in 0..NPTS {
            c += rng.below(scale + 1);
            s.push(base + i * STEP, c as f64);
        }
        out.push(s);
    }
    for (app, level) in [("api", 40.0), ("web", 60.0), ("admin", 80.0)] {
        for (q, factor) in [("p50", 1.0), ("p99", 2.5)] {
            let mut s = Series::new(format!("app.latency.{app}.{q}"));
            let b = level * factor;
            for i in 0..NPTS {
                let v =
                    b * (1.0 + 0.3 * (tau * i as f64 / 720.0).sin()) + rng.uniform(0.0, b * 0.2);
                s.push(base + i * STEP, r3(v));
            }
            out.push(s);
        }
    }
    // An integer gauge with 5% missing and the last half hour missing.
    let mut s = Series::new("app.queue.depth");
    for i in 0..NPTS - 180 {
        let v = rng.below(21) as f64;
        if rng.uniform(0.0, 1.0) < 0.05 {
            continue;
        }
        s.push(base + i * STEP, v);
    }
    out.push(s);
    // Sparse series: mostly nulls.
    for (k, p) in [(1, 0.3), (2, 0.03)] {
        let mut s = Series::new(format!("sparse.metric{k}"));
        for i in 0..NPTS {
            let v = r3(rng.uniform(0.0, 100.0));
            if rng.uniform(0.0, 1.0) < p {
                s.push(base + i * STEP, v);
            }
        }
        out.push(s);
    }
    // Negative values and constants.
    let mut a = Series::new("neg.values.a");
    let mut b = Series::new("neg.values.b");
    let mut one = Series::new("const.one");
    let mut zero = Series::new("const.zero");
    for i in 0..NPTS {
        a.push(base + i * STEP, r3(50.0 * (i as f64 / 50.0).sin()));
        b.push(
            base + i * STEP,
            r3(-(30.0 * (i as f64 / 70.0).cos()).abs() - 1.0),
        );
        one.push(base + i * STEP, 1.0);
        zero.push(base + i * STEP, 0.0);
    }
    out.extend([a, b, one, zero]);
    // Off-grid timestamps: whole seconds, and fractional ones.
    let mut off = Series::new("offset.ts");
    let mut frac = Series::new("offset.frac");
    for i in 0..NPTS {
        off.push(base + i * STEP + 3, i as f64);
        frac.points
            .push((format!("{}.5", base + i * STEP + 7), i as f64 * 0.5));
    }
    out.extend([off, frac]);
    // Tagged series (canonical names: graphite-web renders a tagged path by its exact text),
    // for seriesByTag, groupByTags and aliasByTags. Their own generator leaves the series
    // above unchanged.
    let mut rng = Rng(20_261_122);
    for (name, level) in [
        ("disk.used;dc=sf;host=web01", 40.0),
        ("disk.used;dc=sf;host=web02", 55.0),
        ("disk.used;dc=ny;host=web03", 70.0),
        ("disk.used;dc=ny;host=db01;rack=a1", 85.0),
        ("cpu.load;dc=sf;host=web01", 2.0),
    ] {
        let mut s = Series::new(name);
        for i in 0..NPTS {
            if i % 11 == 5 {
                continue;
            }
            let v = level * (1.0 + 0.2 * (tau * i as f64 / 900.0).sin()) + rng.uniform(0.0, 1.0);
            s.push(base + i * STEP, r3(v));
        }
        out.push(s);
    }
    out
}

fn plaintext(data: &[Series]) -> String {
    let mut out = String::new();
    for s in data {
        for (t, v) in &s.points {
            let _ = writeln!(out, "{} {v} {t}", s.name);
        }
    }
    out
}

// ---- the reference: carbon-cache + graphite-web ------------------------------------------

/// A port free on 127.0.0.1 at the time of asking (bound, read, released).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("finding a free port")
}

struct Reference {
    dir: tempfile::TempDir,
    carbon: Option<Child>,
    web: Option<Child>,
    line: SocketAddr,
    http: SocketAddr,
}

impl Reference {
    fn start() -> Reference {
        for (path, pkg) in [(CARBON_CACHE, "graphite-carbon"), (PYTHON, "python3")] {
            assert!(
                Path::new(path).exists(),
                "{path} not found ({pkg}): run scripts/test to install test dependencies"
            );
        }
        let has_web = Command::new(PYTHON)
            .args(["-c", "import graphite, carbon, whisper, django"])
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            has_web,
            "graphite-web or whisper is not importable by {PYTHON}: run scripts/test to install test dependencies"
        );
        let dir = tempfile::Builder::new()
            .prefix("lookout-conformance-")
            .tempdir()
            .expect("temp dir");
        let root = dir.path().to_path_buf();
        let root = root.as_path();
        for d in [
            "conf",
            "storage/whisper",
            "storage/lists",
            "log/webapp",
            "settings",
        ] {
            std::fs::create_dir_all(root.join(d)).expect("creating reference dirs");
        }
        let (line, pickle, query, web) = (free_port(), free_port(), free_port(), free_port());
        let fill = |template: &str| {
            let text = std::fs::read_to_string(here().join("conformance").join(template))
                .unwrap_or_else(|e| panic!("reading {template}: {e}"));
            text.replace("@ROOT@", &root.display().to_string())
                .replace("@LINE_PORT@", &line.to_string())
                .replace("@PICKLE_PORT@", &pickle.to_string())
                .replace("@QUERY_PORT@", &query.to_string())
                .replace("@WEB_PORT@", &web.to_string())
        };
        for (template, dest) in [
            ("carbon.conf", "conf/carbon.conf"),
            ("storage-schemas.conf", "conf/storage-schemas.conf"),
            ("storage-aggregation.conf", "conf/storage-aggregation.conf"),
            (
                "graphite_settings.py",
                "settings/lookout_conformance_settings.py",
            ),
        ] {
            std::fs::write(root.join(dest), fill(template)).expect("writing reference config");
        }
        let log = |name: &str| std::fs::File::create(root.join(name)).expect("creating a log");
        // Debian's Python with nothing inherited that could point it at another interpreter's
        // packages (pyenv, virtualenvs).
        let python = |args: &[&str], out: &str| {
            let f = log(out);
            let mut c = Command::new(PYTHON);
            c.args(args)
                .current_dir(root)
                .env_clear()
                .env("PATH", "/usr/bin:/bin")
                .env("HOME", root)
                .env("LANG", "C.UTF-8")
                .env("GRAPHITE_ROOT", root)
                .env("GRAPHITE_CONF_DIR", root.join("conf"))
                .env("GRAPHITE_STORAGE_DIR", root.join("storage"))
                .env("DJANGO_SETTINGS_MODULE", "graphite.settings")
                .env("GRAPHITE_SETTINGS_MODULE", "lookout_conformance_settings")
                .env("PYTHONPATH", root.join("settings"))
                .stdin(Stdio::null())
                .stdout(f.try_clone().expect("log handle"))
                .stderr(f);
            c.spawn()
                .unwrap_or_else(|e| panic!("starting {PYTHON} {args:?}: {e}"))
        };
        let conf = format!("--config={}", root.join("conf/carbon.conf").display());
        let pidfile = format!("--pidfile={}", root.join("carbon.pid").display());
        let logdir = format!("--logdir={}", root.join("log").display());
        let carbon = python(
            &[
                CARBON_CACHE,
                &conf,
                "--nodaemon",
                &pidfile,
                &logdir,
                "--instance=a",
                "start",
            ],
            "carbon.out",
        );
        let runner = here().join("conformance").join("graphite_web.py");
        let web_child = python(
            &[&runner.display().to_string(), &web.to_string()],
            "web.out",
        );
        let mut r = Reference {
            dir,
            carbon: Some(carbon),
            web: Some(web_child),
            line: ([127, 0, 0, 1], line).into(),
            http: ([127, 0, 0, 1], web).into(),
        };
        wait_until(
            REFERENCE_START_DEADLINE,
            "carbon-cache and graphite-web to start",
            || {
                for (name, c) in [
                    ("carbon-cache", &mut r.carbon),
                    ("graphite-web", &mut r.web),
                ] {
                    if let Some(status) = c.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                        panic!("{name} exited with {status}:\n{}", r_logs(root));
                    }
                }
                TcpStream::connect(r.line).is_ok()
                    && http::request(r.http, "GET", "/version/", &[], b"")
                        .is_ok_and(|x| x.status == 200)
            },
        );
        r
    }
}

/// What the comparison needs of a server: take plaintext, answer HTTP.
trait Graphite {
    fn send(&self, text: &str);
    fn get(&self, path: &str) -> std::io::Result<http::Response>;
    fn post_form(&self, path: &str, body: &str) -> std::io::Result<http::Response>;
}

impl Graphite for Reference {
    fn send(&self, text: &str) {
        send_plaintext(self.line, text);
    }

    fn get(&self, path: &str) -> std::io::Result<http::Response> {
        http::request(self.http, "GET", path, &[], b"")
    }

    fn post_form(&self, path: &str, body: &str) -> std::io::Result<http::Response> {
        form(self.http, path, body)
    }
}

impl Graphite for Lookout {
    fn send(&self, text: &str) {
        send_plaintext(self.addrs.graphite_tcp, text);
    }

    fn get(&self, path: &str) -> std::io::Result<http::Response> {
        http::request(self.addrs.http, "GET", path, &[], b"")
    }

    fn post_form(&self, path: &str, body: &str) -> std::io::Result<http::Response> {
        form(self.addrs.http, path, body)
    }
}

fn form(addr: SocketAddr, path: &str, body: &str) -> std::io::Result<http::Response> {
    http::request(
        addr,
        "POST",
        path,
        &[("Content-Type", "application/x-www-form-urlencoded")],
        body.as_bytes(),
    )
}

fn r_logs(root: &Path) -> String {
    let mut s = String::new();
    for f in ["carbon.out", "web.out", "log/console.log"] {
        let text = std::fs::read_to_string(root.join(f)).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(40).collect();
        let _ = writeln!(s, "---- {f} ----");
        for l in tail.into_iter().rev() {
            let _ = writeln!(s, "{l}");
        }
    }
    s
}

impl Drop for Reference {
    fn drop(&mut self) {
        for c in [self.web.take(), self.carbon.take()].into_iter().flatten() {
            let mut c = c;
            let _ = c.kill();
            let _ = c.wait();
        }
        if std::thread::panicking() {
            eprintln!("reference logs:\n{}", r_logs(self.dir.path()));
        }
    }
}

fn send_plaintext(addr: SocketAddr, text: &str) {
    use std::io::Write;
    // Several connections of at most 20,000 lines, as a relay flushing its buffer would.
    let lines: Vec<&str> = text.lines().collect();
    for chunk in lines.chunks(20_000) {
        let mut s =
            TcpStream::connect(addr).unwrap_or_else(|e| panic!("connecting to {addr}: {e}"));
        let mut buf = chunk.join("\n");
        buf.push('\n');
        s.write_all(buf.as_bytes())
            .unwrap_or_else(|e| panic!("sending to {addr}: {e}"));
        let _ = s.shutdown(std::net::Shutdown::Write);
    }
}

// ---- targets -----------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Json,
    Csv,
    Raw,
    Find,
    Expand,
    Tags,
}

#[derive(Debug)]
struct Case {
    line: usize,
    label: String,
    kind: Kind,
    path: String,
    params: Vec<(String, String)>,
    post: bool,
}

fn parse_targets(text: &str, base: i64) -> Vec<Case> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (spec, opts) = match line.split_once(" || ") {
            Some((s, o)) => (s.trim(), o.trim()),
            None => (line, ""),
        };
        let mut from = 0i64;
        let mut until = SPAN;
        let mut mdp = None;
        let mut post = false;
        for kv in opts.split_whitespace() {
            let (k, v) = kv
                .split_once('=')
                .unwrap_or_else(|| panic!("line {}: bad option {kv}", i + 1));
            let offset = || {
                v.trim_start_matches('+')
                    .parse::<i64>()
                    .unwrap_or_else(|_| panic!("line {}: {kv}", i + 1))
            };
            match k {
                "from" => from = offset(),
                "until" => until = offset(),
                "maxDataPoints" => mdp = Some(v.to_string()),
                "method" => post = v == "POST",
                _ => panic!("line {}: unknown option {k}", i + 1),
            }
        }
        let (kind, rest) = [
            ("find:", Kind::Find),
            ("expand:", Kind::Expand),
            ("csv:", Kind::Csv),
            ("raw:", Kind::Raw),
            ("tags:", Kind::Tags),
        ]
        .iter()
        .find_map(|(p, k)| spec.strip_prefix(p).map(|r| (*k, r.trim())))
        .unwrap_or((Kind::Json, spec));
        let mut params = Vec::new();
        let path = match kind {
            Kind::Tags => {
                let mut words = rest.split_whitespace();
                let path = words.next().unwrap_or("/tags").to_string();
                for kv in words {
                    let (k, v) = kv
                        .split_once('=')
                        .unwrap_or_else(|| panic!("line {}: bad parameter {kv}", i + 1));
                    params.push((k.to_string(), v.to_string()));
                }
                path
            }
            Kind::Find | Kind::Expand => {
                params.push(("query".to_string(), rest.to_string()));
                if kind == Kind::Find {
                    "/metrics/find".to_string()
                } else {
                    "/metrics/expand".to_string()
                }
            }
            Kind::Json | Kind::Csv | Kind::Raw => {
                for t in rest.split(" ;; ") {
                    params.push(("target".to_string(), t.trim().to_string()));
                }
                let format = match kind {
                    Kind::Csv => "csv",
                    Kind::Raw => "raw",
                    _ => "json",
                };
                params.push(("format".to_string(), format.to_string()));
                params.push(("from".to_string(), (base + from).to_string()));
                params.push(("until".to_string(), (base + until).to_string()));
                if let Some(m) = mdp.clone() {
                    params.push(("maxDataPoints".to_string(), m));
                }
                "/render".to_string()
            }
        };
        out.push(Case {
            line: i + 1,
            label: line.to_string(),
            kind,
            path,
            params,
            post,
        });
    }
    out
}

fn encoded(params: &[(String, String)]) -> String {
    let p: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    http::query(&p)
}

// ---- comparison --------------------------------------------------------------------------

/// A rendered series: name and `(timestamp, value)` per slot.
type Rendered = Vec<(String, Vec<(i64, Option<f64>)>)>;

fn close(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => {
            if a.is_nan() || b.is_nan() {
                return a.is_nan() && b.is_nan();
            }
            if a.is_infinite() || b.is_infinite() {
                return a == b;
            }
            (a - b).abs() <= 1e-9_f64.max(REL_TOL * a.abs().max(b.abs()))
        }
        _ => false,
    }
}

fn parse_json_render(body: &[u8]) -> Result<Rendered, String> {
    let v: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
    let list = v.as_array().ok_or("not a list")?;
    list.iter()
        .map(|s| {
            let name = s["target"]
                .as_str()
                .ok_or("series without target")?
                .to_string();
            let points = s["datapoints"]
                .as_array()
                .ok_or("series without datapoints")?
                .iter()
                .map(|p| {
                    let ts = p[1].as_f64().ok_or("bad timestamp")? as i64;
                    let v = if p[0].is_null() {
                        None
                    } else {
                        Some(p[0].as_f64().ok_or("bad value")?)
                    };
                    Ok((ts, v))
                })
                .collect::<Result<Vec<_>, &str>>()?;
            Ok((name, points))
        })
        .collect::<Result<Rendered, &str>>()
        .map_err(String::from)
}

/// csv rows keep their text timestamp; the slot index stands in for it in comparisons, and
/// the text is compared separately.
fn parse_csv_render(body: &[u8]) -> Result<(Rendered, Vec<String>), String> {
    let text = std::str::from_utf8(body).map_err(|_| "not UTF-8")?;
    let mut out: Rendered = Vec::new();
    let mut stamps = Vec::new();
    for row in text.lines().filter(|l| !l.is_empty()) {
        let mut f = row.rsplitn(3, ',');
        let value = f.next().ok_or("short row")?;
        let stamp = f.next().ok_or("short row")?;
        let name = f.next().ok_or("short row")?;
        let v = if value.is_empty() {
            None
        } else {
            Some(
                value
                    .parse::<f64>()
                    .map_err(|_| format!("bad value {value:?}"))?,
            )
        };
        if out.last().is_none_or(|(n, _)| n != name) {
            out.push((name.to_string(), Vec::new()));
        }
        let series = &mut out.last_mut().expect("just pushed").1;
        series.push((series.len() as i64, v));
        stamps.push(stamp.to_string());
    }
    Ok((out, stamps))
}

fn parse_raw_render(body: &[u8]) -> Result<Rendered, String> {
    let text = std::str::from_utf8(body).map_err(|_| "not UTF-8")?;
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let (head, values) = line.split_once('|').ok_or("no |")?;
        let mut h = head.rsplitn(4, ',');
        let step: i64 = h.next().and_then(|s| s.parse().ok()).ok_or("bad step")?;
        let _end = h.next().ok_or("no end")?;
        let start: i64 = h.next().and_then(|s| s.parse().ok()).ok_or("bad start")?;
        let name = h.next().ok_or("no name")?;
        let points = values
            .split(',')
            .enumerate()
            .map(|(i, v)| {
                let v = if v == "None" {
                    None
                } else {
                    Some(v.parse::<f64>().map_err(|_| format!("bad value {v:?}"))?)
                };
                Ok((start + i as i64 * step, v))
            })
            .collect::<Result<Vec<_>, String>>()?;
        out.push((name.to_string(), points));
    }
    Ok(out)
}

fn compare_series(want: &Rendered, got: &Rendered) -> Result<String, String> {
    let wn: Vec<&str> = want.iter().map(|(n, _)| n.as_str()).collect();
    let gn: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
    if wn != gn {
        return Err(format!(
            "series differ:\n      graphite-web: {wn:?}\n      lookout:      {gn:?}"
        ));
    }
    for ((name, w), (_, g)) in want.iter().zip(got) {
        let wt: Vec<i64> = w.iter().map(|p| p.0).collect();
        let gt: Vec<i64> = g.iter().map(|p| p.0).collect();
        if wt != gt {
            let first = wt
                .iter()
                .zip(&gt)
                .position(|(a, b)| a != b)
                .unwrap_or(wt.len().min(gt.len()));
            return Err(format!(
                "{name}: timestamps differ: graphite-web {} points {:?}..{:?}, lookout {} points {:?}..{:?}, first difference at #{first}",
                wt.len(), wt.first(), wt.last(), gt.len(), gt.first(), gt.last()
            ));
        }
        let bad: Vec<(i64, Option<f64>, Option<f64>)> = w
            .iter()
            .zip(g)
            .filter(|(a, b)| !close(a.1, b.1))
            .map(|(a, b)| (a.0, a.1, b.1))
            .collect();
        if let Some((t, a, b)) = bad.first() {
            return Err(format!(
                "{name}: {} of {} values differ, first at {t}: graphite-web {a:?}, lookout {b:?}",
                bad.len(),
                w.len()
            ));
        }
    }
    let points: usize = want.iter().map(|(_, p)| p.len()).sum();
    let known: usize = want
        .iter()
        .map(|(_, p)| p.iter().filter(|x| x.1.is_some()).count())
        .sum();
    Ok(format!(
        "{} series, {points} points, {known} non-null",
        want.len()
    ))
}

/// treejson nodes as comparable tuples. lookout's own `lookout.*` self-metric series are
/// dropped from its answer: they are a documented feature graphite-web has no counterpart for.
fn tree_nodes(body: &[u8], drop_self: bool) -> Result<Vec<String>, String> {
    let v: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
    let list = v.as_array().ok_or("not a list")?;
    Ok(list
        .iter()
        .filter(|n| !(drop_self && n["id"] == "lookout"))
        // carbon stores tagged series as files under `_tagged/`, which graphite-web's tree shows;
        // lookout keeps tagged series out of the tree (they are found by tag).
        .filter(|n| n["id"] != "_tagged")
        .map(|n| {
            format!(
                "{}|{}|leaf={}|expandable={}|allowChildren={}",
                n["id"], n["text"], n["leaf"], n["expandable"], n["allowChildren"]
            )
        })
        .collect())
}

/// A tag endpoint's JSON made comparable: graphite-web's database row `id`s are dropped (lookout
/// has no rows), and so are lookout's own `lookout.*` self-metric series.
fn tag_answer(body: &[u8], drop_self: bool) -> Result<serde_json::Value, String> {
    use serde_json::Value;
    fn is_self(v: &Value) -> bool {
        let text = v
            .as_str()
            .or_else(|| v.get("value").and_then(Value::as_str));
        text.is_some_and(|t| t.starts_with("lookout."))
    }
    fn clean(v: Value, drop_self: bool) -> Value {
        match v {
            Value::Array(a) => Value::Array(
                a.into_iter()
                    .filter(|x| !(drop_self && is_self(x)))
                    .map(|x| clean(x, drop_self))
                    .collect(),
            ),
            Value::Object(o) => Value::Object(
                o.into_iter()
                    .filter(|(k, _)| k != "id")
                    .map(|(k, x)| (k, clean(x, drop_self)))
                    .collect(),
            ),
            other => other,
        }
    }
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
    Ok(clean(v, drop_self))
}

fn expand_results(body: &[u8], drop_self: bool) -> Result<Vec<String>, String> {
    let v: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
    let list = v["results"].as_array().ok_or("no results list")?;
    let mut out: Vec<String> = list
        .iter()
        .filter_map(|x| x.as_str())
        .filter(|x| !(drop_self && (*x == "lookout" || x.starts_with("lookout."))))
        .map(String::from)
        .collect();
    out.sort();
    Ok(out)
}

fn compare(case: &Case, want: &[u8], got: &[u8]) -> Result<String, String> {
    match case.kind {
        Kind::Json => compare_series(
            &parse_json_render(want).map_err(|e| format!("graphite-web answer: {e}"))?,
            &parse_json_render(got).map_err(|e| format!("lookout answer: {e}"))?,
        ),
        Kind::Raw => compare_series(
            &parse_raw_render(want).map_err(|e| format!("graphite-web answer: {e}"))?,
            &parse_raw_render(got).map_err(|e| format!("lookout answer: {e}"))?,
        ),
        Kind::Csv => {
            let (w, ws) =
                parse_csv_render(want).map_err(|e| format!("graphite-web answer: {e}"))?;
            let (g, gs) = parse_csv_render(got).map_err(|e| format!("lookout answer: {e}"))?;
            let summary = compare_series(&w, &g)?;
            if ws != gs {
                let i = ws.iter().zip(&gs).position(|(a, b)| a != b).unwrap_or(0);
                return Err(format!(
                    "csv timestamps differ at row {i}: graphite-web {:?}, lookout {:?}",
                    ws.get(i),
                    gs.get(i)
                ));
            }
            Ok(summary)
        }
        Kind::Find => {
            let w = tree_nodes(want, false).map_err(|e| format!("graphite-web answer: {e}"))?;
            let g = tree_nodes(got, true).map_err(|e| format!("lookout answer: {e}"))?;
            if w != g {
                return Err(format!(
                    "nodes differ:\n      graphite-web: {w:?}\n      lookout:      {g:?}"
                ));
            }
            Ok(format!("{} nodes", w.len()))
        }
        Kind::Tags => {
            let w = tag_answer(want, false).map_err(|e| format!("graphite-web answer: {e}"))?;
            let g = tag_answer(got, true).map_err(|e| format!("lookout answer: {e}"))?;
            if w != g {
                return Err(format!(
                    "answers differ:\n      graphite-web: {w}\n      lookout:      {g}"
                ));
            }
            Ok(match &w {
                serde_json::Value::Array(a) => format!("{} entries", a.len()),
                serde_json::Value::Object(o) => {
                    format!("{} values", o["values"].as_array().map_or(0, Vec::len))
                }
                _ => "null".to_string(),
            })
        }
        Kind::Expand => {
            let w = expand_results(want, false).map_err(|e| format!("graphite-web answer: {e}"))?;
            let g = expand_results(got, true).map_err(|e| format!("lookout answer: {e}"))?;
            if w != g {
                return Err(format!(
                    "results differ:\n      graphite-web: {w:?}\n      lookout:      {g:?}"
                ));
            }
            Ok(format!("{} results", w.len()))
        }
    }
}

// ---- the test ----------------------------------------------------------------------------

/// How many non-null points each server shows per series over the whole span.
fn visible(server: &dyn Graphite, data: &[Series], base: i64) -> Vec<usize> {
    data.iter()
        .map(|s| {
            let q = http::query(&[
                ("target", &s.name),
                ("from", &(base - 1).to_string()),
                ("until", &(base + SPAN).to_string()),
                ("format", "json"),
            ]);
            match server.get(&format!("/render?{q}")) {
                Ok(r) if r.status == 200 => parse_json_render(&r.body)
                    .map(|v| {
                        v.iter()
                            .map(|(_, p)| p.iter().filter(|x| x.1.is_some()).count())
                            .sum()
                    })
                    .unwrap_or(0),
                _ => 0,
            }
        })
        .collect()
}

#[test]
fn render_api_matches_graphite_web() {
    let base = now() / 3600 * 3600 - 7 * 3600;
    let reference = Reference::start();
    let lookout = Lookout::start();
    run(&reference, &lookout, "lookout", base);
}

/// The harness checked against itself: a second graphite-web as the candidate must pass every
/// line, which shows the targets file is valid and the comparison is sound. Run it after
/// changing either: `cargo test --test tests conformance -- --ignored`.
#[test]
#[ignore = "checks the test harness, not lookout"]
fn conformance_harness_passes_graphite_web_against_itself() {
    let base = now() / 3600 * 3600 - 7 * 3600;
    let reference = Reference::start();
    let second = Reference::start();
    run(&reference, &second, "graphite-web#2", base);
}

/// Sends the data set to both, waits for it, compares every target and fails listing the
/// differences.
fn run(reference: &dyn Graphite, candidate: &dyn Graphite, name: &str, base: i64) {
    let data = dataset(base);
    let text = plaintext(&data);
    reference.send(&text);
    candidate.send(&text);
    let want: Vec<usize> = data.iter().map(Series::slots).collect();
    wait_until(INGEST_DEADLINE, "graphite-web to show all the data", || {
        visible(reference, &data, base) == want
    });
    // carbon registers each new series in graphite-web's tag database after writing it, on a
    // thread of its own: seriesByTag answers only once every series is there.
    let all_tagged = format!("/tags/findSeries?{}", http::query(&[("expr", "name!=")]));
    wait_until(INGEST_DEADLINE, "graphite-web's tag database", || {
        reference
            .get(&all_tagged)
            .ok()
            .filter(|r| r.status == 200)
            .and_then(|r| serde_json::from_slice::<Vec<String>>(&r.body).ok())
            .is_some_and(|names| names.len() == data.len())
    });
    let mut seen = Vec::new();
    let ingested = wait_until_ok(INGEST_DEADLINE, || {
        seen = visible(candidate, &data, base);
        seen == want
    });
    let mut report = String::new();
    let mut failures = Vec::new();
    if ingested {
        let _ = writeln!(
            report,
            "PASS ingest: {} series, {} points",
            data.len(),
            want.iter().sum::<usize>()
        );
    } else {
        let missing: Vec<String> = data
            .iter()
            .zip(want.iter().zip(&seen))
            .filter(|(_, (w, g))| w != g)
            .map(|(s, (w, g))| format!("{}: {g} of {w}", s.name))
            .collect();
        let _ = writeln!(
            report,
            "FAIL ingest: {name} shows fewer points than sent: {missing:?}"
        );
        failures.push("ingest".to_string());
    }

    let targets = std::fs::read_to_string(here().join("data/conformance_targets.txt"))
        .expect("reading targets");
    let cases = parse_targets(&targets, base);
    for case in &cases {
        let query = encoded(&case.params);
        let (want, got) = if case.post {
            (
                reference.post_form(&case.path, &query),
                candidate.post_form(&case.path, &query),
            )
        } else {
            let path = format!("{}?{query}", case.path);
            (reference.get(&path), candidate.get(&path))
        };
        let outcome = match (want, got) {
            (Err(e), _) => Err(format!("graphite-web request failed: {e}")),
            (Ok(w), _) if w.status != 200 => Err(format!(
                "graphite-web answered HTTP {} (a bad line in the targets file?): {}",
                w.status,
                String::from_utf8_lossy(&w.body[..w.body.len().min(300)])
            )),
            (_, Err(e)) => Err(format!("{name} request failed: {e}")),
            (Ok(_), Ok(g)) if g.status != 200 => Err(format!(
                "{name} answered HTTP {}: {}",
                g.status,
                String::from_utf8_lossy(&g.body[..g.body.len().min(300)])
            )),
            (Ok(w), Ok(g)) => compare(case, &w.body, &g.body),
        };
        match outcome {
            Ok(summary) => {
                let _ = writeln!(report, "PASS {}  ({summary})", case.label);
            }
            Err(diff) => {
                let _ = writeln!(report, "FAIL {}  [line {}]: {diff}", case.label, case.line);
                failures.push(format!("line {}: {}", case.line, case.label));
            }
        }
    }
    let total = cases.len() + 1;
    let _ = writeln!(
        report,
        "conformance: {} passed, {} failed",
        total - failures.len(),
        failures.len()
    );
    let report_path = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("conformance-{}.txt", name.replace('#', "")));
    let _ = std::fs::write(&report_path, &report);
    println!("{report}(report written to {})", report_path.display());
    assert!(
        failures.is_empty(),
        "{} of {total} conformance checks failed against {name}:\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
}

#[cfg(test)]
mod comparator_tests {
    use super::*;

    fn series(name: &str, pts: &[(i64, Option<f64>)]) -> Rendered {
        vec![(name.to_string(), pts.to_vec())]
    }

    #[track_caller]
    fn check(want: &Rendered, got: &Rendered, same: bool) {
        assert_eq!(
            compare_series(want, got).is_ok(),
            same,
            "{want:?} vs {got:?}"
        );
    }

    #[test]
    fn comparison_tolerates_rounding_only() {
        let w = series("a", &[(10, Some(1.0)), (20, None), (30, Some(-3.0))]);
        check(&w, &w, true);
        check(
            &w,
            &series("a", &[(10, Some(1.0 + 1e-9)), (20, None), (30, Some(-3.0))]),
            true,
        );
        check(
            &w,
            &series("a", &[(10, Some(1.001)), (20, None), (30, Some(-3.0))]),
            false,
        );
        check(
            &w,
            &series("a", &[(10, Some(1.0)), (20, Some(0.0)), (30, Some(-3.0))]),
            false,
        );
        check(
            &w,
            &series("a", &[(10, Some(1.0)), (20, None), (40, Some(-3.0))]),
            false,
        );
        check(&w, &series("a", &[(10, Some(1.0)), (20, None)]), false);
        check(
            &w,
            &series("b", &[(10, Some(1.0)), (20, None), (30, Some(-3.0))]),
            false,
        );
        check(&w, &[w.clone(), w.clone()].concat(), false);
    }

    #[test]
    fn raw_and_csv_answers_parse() {
        assert_eq!(
            parse_raw_render(b"a.b,100,130,10|1.0,None,2.5\n").unwrap(),
            series("a.b", &[(100, Some(1.0)), (110, None), (120, Some(2.5))])
        );
        let (rows, stamps) =
            parse_csv_render(b"x,y,2011-07-28 01:53:28,1.0\r\nx,y,2011-07-28 01:53:38,\r\n")
                .unwrap();
        assert_eq!(rows, series("x,y", &[(0, Some(1.0)), (1, None)]));
        assert_eq!(stamps, vec!["2011-07-28 01:53:28", "2011-07-28 01:53:38"]);
        assert!(parse_json_render(b"{\"a\":1}").is_err());
    }

    #[test]
    fn targets_file_lines_become_requests() {
        let cases = parse_targets(
            "# c\nsumSeries(a.*) ;; b || from=+60 maxDataPoints=5 method=POST\nfind: a.*\ncsv: x\ntags: /tags/findSeries expr=a=~b.* expr=c!=d\n",
            1000,
        );
        assert_eq!(cases.len(), 4);
        assert!(cases[0].post);
        assert_eq!(cases[0].line, 2);
        assert_eq!(
            encoded(&cases[0].params),
            "target=sumSeries%28a.%2A%29&target=b&format=json&from=1060&until=22600&maxDataPoints=5"
        );
        assert_eq!(
            (cases[1].kind, cases[1].path.as_str()),
            (Kind::Find, "/metrics/find")
        );
        assert_eq!(cases[2].kind, Kind::Csv);
        assert_eq!(
            (cases[3].kind, cases[3].path.as_str()),
            (Kind::Tags, "/tags/findSeries")
        );
        assert_eq!(encoded(&cases[3].params), "expr=a%3D~b.%2A&expr=c%21%3Dd");
    }
}
