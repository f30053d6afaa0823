//! Log store bench on rows shaped like `shared/bench/tools/gen_logs.c` (same components and
//! weights, host pools, level mix and message templates for the busiest kinds, fixed seed):
//! append throughput, bytes per line on disk after flush, and the latency of the two bench
//! queries, "component subtree in a 2-minute window" with and without `contains`. Each
//! measurement checks its result against a brute-force count over the generated rows.
//!
//! Run: `cargo bench -p lookout-logs --bench store`.

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use lookout_core::selfmon::Registry;
use lookout_core::{
    Durability, Glob, LogAppender, LogOrder, LogQuery, LogReader, LogRecord, Severity,
};
use lookout_logs::{Config, LogStore};

const ROWS: usize = 300_000;
/// gen_logs' density: 5 M rows over a day is ~58 rows/s; 300 k rows over 90 minutes matches it.
const SPAN_SECS: i64 = 5400;
const END: i64 = 1_700_000_000;
const SEC: i64 = 1_000_000_000;

struct Rng(u64);

impl Rng {
    /// splitmix64, as gen_logs.
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, a: &[&'a str]) -> &'a str {
        a[self.below(a.len() as u64) as usize]
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / 9_007_199_254_740_992.0
    }
}

const COMPS: [(&str, u64, &str, u64); 18] = [
    ("webapp.backend.git", 6, "web", 10),
    ("webapp.backend.git.ssh", 3, "web", 10),
    ("webapp.backend.git.http", 3, "web", 10),
    ("webapp.backend.wiki", 4, "web", 10),
    ("webapp.backend.auth", 5, "web", 10),
    ("webapp.backend.search", 4, "web", 10),
    ("webapp.backend.api", 8, "web", 10),
    ("webapp.frontend.nginx", 15, "web", 10),
    ("webapp.frontend.static", 3, "web", 10),
    ("db.postgres", 6, "db", 3),
    ("db.redis", 3, "db", 3),
    ("kernel", 3, "*", 0),
    ("sshd", 4, "*", 0),
    ("cron", 3, "*", 0),
    ("systemd", 5, "*", 0),
    ("dockerd", 4, "*", 0),
    ("haproxy", 8, "lb", 2),
    ("postfix", 2, "mx", 1),
];
const USERS: [&str; 16] = [
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory",
    "oscar", "peggy", "trent", "victor", "walter",
];
const ORGS: [&str; 8] = [
    "infra", "platform", "payments", "mobile", "data", "security", "web", "ops",
];
const REPOS: [&str; 11] = [
    "linux",
    "website",
    "api-server",
    "billing",
    "deploy-tools",
    "docs",
    "terraform",
    "mobile-app",
    "search-indexer",
    "auth-service",
    "chart",
];
const PATHS: [&str; 12] = [
    "index.html",
    "api/v4/projects",
    "api/v4/users/me",
    "assets/app.js",
    "assets/app.css",
    "favicon.ico",
    "login",
    "dashboard",
    "explore",
    "api/v4/merge_requests",
    "wiki/Home",
    "search?q=deploy",
];
const UAS: [&str; 5] = [
    "Mozilla/5.0 (X11; Linux x86_64)",
    "git/2.39.2",
    "curl/7.88.1",
    "Go-http-client/1.1",
    "python-requests/2.28.1",
];
const ERRS: [&str; 5] = [
    "connection reset by peer",
    "broken pipe",
    "no route to host",
    "context deadline exceeded",
    "EOF",
];
const UNITS: [&str; 7] = [
    "nginx.service",
    "postgresql.service",
    "docker.service",
    "cron.service",
    "ssh.service",
    "logrotate.service",
    "apt-daily.service",
];

fn level(r: &mut Rng) -> u8 {
    let x = r.unit();
    [
        (0.70, 6),
        (0.80, 7),
        (0.88, 5),
        (0.96, 4),
        (0.995, 3),
        (0.999, 2),
        (0.9998, 1),
    ]
    .iter()
    .find(|(p, _)| x < *p)
    .map_or(0, |(_, l)| *l)
}

fn ip(r: &mut Rng) -> String {
    format!("10.{}.{}.{}", r.below(8), r.below(256), 1 + r.below(254))
}

fn message(r: &mut Rng, kind: usize, err: bool) -> String {
    match kind {
        0 if err => format!("git-upload-pack {}/{}.git failed: {}", r.pick(&ORGS), r.pick(&REPOS), r.pick(&ERRS)),
        0 => format!(
            "git-upload-pack {}/{}.git: sent {} objects ({} KiB) in {} ms",
            r.pick(&ORGS), r.pick(&REPOS), r.below(50000), r.below(200000), r.below(5000)
        ),
        1 => format!(
            "ssh session from {} user={} key=SHA256:{:016x} closed after {} s",
            ip(r), r.pick(&USERS), r.next(), r.below(900)
        ),
        2 => format!(
            "GET /{}/{}.git/info/refs?service=git-upload-pack {} {} bytes in {} ms",
            r.pick(&ORGS), r.pick(&REPOS), if err { 500 } else { 200 }, r.below(100000), r.below(2000)
        ),
        3 => format!(
            "rendered page {}/{}/wiki/{} in {} ms (cache {})",
            r.pick(&ORGS), r.pick(&REPOS), r.pick(&PATHS), r.below(800), if r.below(2) == 1 { "hit" } else { "miss" }
        ),
        4 => format!("login ok user={} session={:016x} mfa={}", r.pick(&USERS), r.next(), if r.below(3) > 0 { "totp" } else { "webauthn" }),
        5 => format!("search q=\"{} {}\" hits={} took={} ms", r.pick(&REPOS), r.pick(&USERS), r.below(5000), r.below(400)),
        6 => format!(
            "request_id={:016x} {} /{} status={} duration_ms={} user={}",
            r.next(), if r.below(4) > 0 { "GET" } else { "POST" }, r.pick(&PATHS),
            if err { 500 + r.below(4) } else { 200 }, r.below(3000), r.pick(&USERS)
        ),
        7 => format!(
            "{} - - \"GET /{} HTTP/1.1\" {} {} \"-\" \"{}\" rt={:.3}",
            ip(r), r.pick(&PATHS), if err { 502 } else { 200 }, r.below(100000), r.pick(&UAS), r.unit() * 2.0
        ),
        8 => format!("served /{} {} bytes etag={:08x}", r.pick(&PATHS), r.below(500000), r.next() as u32),
        9 => format!(
            "LOG:  checkpoint complete: wrote {} buffers ({:.1}%); sync files={}",
            r.below(10000), r.unit() * 10.0, r.below(200)
        ),
        10 => format!("{} changes in {} seconds. Saving... DB saved on disk ({} keys)", r.below(10000), 60 + r.below(240), r.below(5_000_000)),
        11 => format!("TCP: request_sock_TCP: Possible SYN flooding on port {}. Sending cookies.", 80 + r.below(2) * 363),
        12 => format!(
            "Accepted publickey for {} from {} port {} ssh2: ED25519 SHA256:{:016x}",
            r.pick(&USERS), ip(r), 1024 + r.below(60000), r.next()
        ),
        13 => format!("({}) CMD (/usr/local/bin/backup.sh --target {} >/dev/null 2>&1)", r.pick(&USERS), r.pick(&REPOS)),
        14 => format!("Started {}.", r.pick(&UNITS)),
        15 => format!(
            "time=\"msg\" level={} msg=\"container {:08x}{:08x} health status {}\"",
            if err { "warning" } else { "info" }, r.next() as u32, r.next() as u32, if err { "unhealthy" } else { "healthy" }
        ),
        16 => format!(
            "{}:{} [be_web/web{:02}] 0/0/1/{}/{} {} {} - - ---- {}/{}/{}",
            ip(r), 1024 + r.below(60000), 1 + r.below(10), r.below(500), r.below(600),
            if err { 503 } else { 200 }, r.below(100000), r.below(500), r.below(500), r.below(50)
        ),
        _ => format!(
            "{:08X}: to=<{}@example.org>, relay=mx.example.org[{}.{}.{}.{}]:25, delay={:.1}, status={}",
            r.next() as u32, r.pick(&USERS), r.below(223) + 1, r.below(256), r.below(256), r.below(256),
            r.unit() * 5.0, if err { "deferred (connect timeout)" } else { "sent (250 2.0.0 OK)" }
        ),
    }
}

fn rows() -> Vec<LogRecord> {
    let mut r = Rng(7u64.wrapping_mul(0x2545_F491_4F6C_DD1D).wrapping_add(12345));
    let wsum: u64 = COMPS.iter().map(|c| c.1).sum();
    let start = (END - SPAN_SECS) * SEC;
    (0..ROWS)
        .map(|i| {
            let mut w = r.below(wsum);
            let kind = COMPS
                .iter()
                .position(|c| {
                    w < c.1 || {
                        w -= c.1;
                        false
                    }
                })
                .unwrap_or(0);
            let (component, _, pfx, n) = COMPS[kind];
            let host = match pfx {
                "*" => format!("{}{:02}", r.pick(&["web", "db", "lb"]), 1 + r.below(10)),
                p => format!("{p}{:02}", 1 + r.below(n)),
            };
            let lvl = level(&mut r);
            let msg = message(&mut r, kind, lvl <= 4);
            // Second resolution, as in the TSV the bench feeds everyone.
            let ts = start + (i as i64 * SPAN_SECS / ROWS as i64) * SEC;
            LogRecord {
                ts_ns: ts,
                component: component.into(),
                host,
                severity: Severity::from_number(lvl).unwrap_or(Severity::Info),
                facility: Some(1),
                message: msg.into_bytes(),
                fields: Vec::new(),
            }
        })
        .collect()
}

fn narrow(contains: Option<&str>) -> LogQuery {
    let from = (END - SPAN_SECS / 2) * SEC;
    LogQuery {
        component: Glob::new("webapp.backend.git").expect("valid"),
        from_ns: from,
        until_ns: from + 120 * SEC,
        max_severity: None,
        host: None,
        contains: contains.map(str::to_string),
        regex: None,
        fields: Vec::new(),
        limit: 100_000,
        order: LogOrder::Asc,
        cursor: None,
    }
}

fn expected(rows: &[LogRecord], q: &LogQuery) -> usize {
    rows.iter()
        .filter(|r| {
            q.component.matches_prefix_of(&r.component)
                && r.ts_ns >= q.from_ns
                && r.ts_ns < q.until_ns
                && q.contains
                    .as_ref()
                    .is_none_or(|c| r.message_lossy().contains(c.as_str()))
        })
        .count()
}

fn bench(c: &mut Criterion) {
    let data = rows();
    let raw: usize = data.iter().map(|r| r.message.len()).sum();
    // Density against compression speed at the levels worth considering.
    for zstd_level in [1, 3, 6, 9] {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = Config {
            zstd_level,
            ..Config::default()
        };
        let store = LogStore::open(dir.path(), config, &Registry::new(), END).expect("open");
        for chunk in data.chunks(1000) {
            store.append(chunk, Durability::Buffered).expect("append");
        }
        let t = Instant::now();
        store.flush(END).expect("flush");
        let secs = t.elapsed().as_secs_f64();
        eprintln!(
            "zstd level {zstd_level}: block bytes/line {:.2}, flush {:.0} lines/s",
            store.stats().block_bytes as f64 / ROWS as f64,
            ROWS as f64 / secs
        );
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let store = LogStore::open(dir.path(), Config::default(), &Registry::new(), END).expect("open");
    let t = Instant::now();
    for chunk in data.chunks(1000) {
        store.append(chunk, Durability::Buffered).expect("append");
    }
    store.sync().expect("sync");
    let append_secs = t.elapsed().as_secs_f64();
    let t = Instant::now();
    store.flush(END).expect("flush");
    let flush_secs = t.elapsed().as_secs_f64();
    let stats = store.stats();
    assert_eq!(stats.block_records, ROWS as u64);
    eprintln!(
        "rows {ROWS}, raw message bytes/line {:.1}, block bytes/line {:.2}, append {:.0} lines/s, flush (compress) {:.0} lines/s",
        raw as f64 / ROWS as f64,
        stats.block_bytes as f64 / ROWS as f64,
        ROWS as f64 / append_secs,
        ROWS as f64 / flush_secs,
    );

    let mut g = c.benchmark_group("logs");
    g.measurement_time(Duration::from_secs(5)).sample_size(20);
    for (name, q) in [
        ("narrow_2min", narrow(None)),
        ("narrow_2min_contains", narrow(Some("failed"))),
    ] {
        let want = expected(&data, &q);
        assert!(want > 0);
        g.bench_function(name, |b| {
            b.iter(|| {
                let page = store.query(&q).expect("query");
                assert_eq!(page.records.len(), want);
                page.stats
            })
        });
    }
    // The wide count: every component over the whole span in about 100 buckets, as the
    // histogram API's default step cuts it.
    let all = Glob::new("*").expect("valid");
    let (from, until) = ((END - SPAN_SECS) * SEC, (END + 1) * SEC);
    g.bench_function("histogram_whole_span", |b| {
        b.iter(|| {
            let buckets = store
                .histogram(&all, from, until, SPAN_SECS / 100)
                .expect("histogram");
            let total: u64 = buckets.iter().map(|b| b.counts.iter().sum::<u64>()).sum();
            assert_eq!(total, ROWS as u64);
            total
        })
    });
    g.throughput(Throughput::Elements(10_000));
    let batch: Vec<LogRecord> = data[..10_000].to_vec();
    let adir = tempfile::tempdir().expect("tempdir");
    let astore =
        LogStore::open(adir.path(), Config::default(), &Registry::new(), END).expect("open");
    g.bench_function("append_10k_buffered", |b| {
        b.iter(|| {
            for chunk in batch.chunks(1000) {
                astore.append(chunk, Durability::Buffered).expect("append");
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
