//! Log parse throughput, in records/s and bytes/s: RFC 5424 and RFC 3164 syslog messages, GELF
//! payloads (plain JSON and gzip) and an NDJSON body, shaped like a web fleet's logs and
//! generated from a fixed seed. Each iteration checks what was parsed (every record accepted,
//! its component set), so a broken fast path fails instead of looking fast.

use std::io::Write;

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use lookout_proto::{gelf, ndjson, syslog};

/// Records per input set.
const RECORDS: usize = 20_000;
/// Receive time given to the parsers (2023-11-14T22:13:20Z).
const NOW_NS: i64 = 1_700_000_000_000_000_000;

const APPS: [&str; 5] = ["webapp", "nginx", "postgres", "memcached", "worker"];
const WORDS: [&str; 8] = [
    "GET /api/orders",
    "user",
    "logged in",
    "slow query",
    "took",
    "ms",
    "cache miss",
    "retrying",
];

/// xorshift64: the same inputs on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<'a>(&mut self, of: &[&'a str]) -> &'a str {
        of[self.next() as usize % of.len()]
    }

    fn message(&mut self) -> String {
        let n = 3 + self.next() % 6;
        let mut m = String::new();
        for _ in 0..n {
            m.push_str(self.pick(&WORDS));
            m.push(' ');
        }
        m.push_str(&(self.next() % 10_000).to_string());
        m
    }
}

fn rfc5424(rng: &mut Rng) -> Vec<Vec<u8>> {
    (0..RECORDS)
        .map(|i| {
            let app = rng.pick(&APPS);
            let host = rng.next() % 50;
            format!(
                "<{}>1 2023-11-14T22:{:02}:{:02}.{:03}Z web{host:02} {app} {} - [req@1 id=\"{i}\"] {}",
                128 + rng.next() % 8,
                i / 3600 % 60,
                i / 60 % 60,
                i % 1000,
                1000 + rng.next() % 30_000,
                rng.message()
            )
            .into_bytes()
        })
        .collect()
}

fn rfc3164(rng: &mut Rng) -> Vec<Vec<u8>> {
    (0..RECORDS)
        .map(|i| {
            let app = rng.pick(&APPS);
            let host = rng.next() % 50;
            format!(
                "<{}>Nov 14 22:{:02}:{:02} web{host:02} {app}[{}]: {}",
                8 + rng.next() % 8,
                i / 60 % 60,
                i % 60,
                1000 + rng.next() % 30_000,
                rng.message()
            )
            .into_bytes()
        })
        .collect()
}

fn gelf_json(rng: &mut Rng) -> Vec<Vec<u8>> {
    (0..RECORDS)
        .map(|i| {
            let app = rng.pick(&APPS);
            format!(
                r#"{{"version":"1.1","host":"web{:02}","short_message":"{}","timestamp":{}.{:03},"level":{},"_component":"{app}.backend","_request_id":"{i}"}}"#,
                rng.next() % 50,
                rng.message(),
                1_700_000_000 + i,
                i % 1000,
                rng.next() % 8
            )
            .into_bytes()
        })
        .collect()
}

fn gzip(payloads: &[Vec<u8>]) -> Vec<Vec<u8>> {
    payloads
        .iter()
        .map(|p| {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(p).expect("writing to a Vec cannot fail");
            e.finish().expect("writing to a Vec cannot fail")
        })
        .collect()
}

fn ndjson_body(rng: &mut Rng) -> Vec<u8> {
    let mut body = Vec::new();
    for i in 0..RECORDS {
        let app = rng.pick(&APPS);
        writeln!(
            body,
            r#"{{"ts":"2023-11-14T22:13:{:02}.{:03}Z","component":"{app}.backend","level":"info","host":"web{:02}","message":"{}","request_id":"{i}"}}"#,
            i % 60,
            i % 1000,
            rng.next() % 50,
            rng.message()
        )
        .expect("writing to a Vec cannot fail");
    }
    body
}

fn total_bytes(messages: &[Vec<u8>]) -> u64 {
    messages.iter().map(|m| m.len() as u64).sum()
}

fn syslog_all(messages: &[Vec<u8>]) -> usize {
    let mut parsed = 0;
    for m in messages {
        let r = syslog::parse_message(black_box(m), NOW_NS, "127.0.0.1").expect("valid syslog");
        assert!(!r.component.is_empty());
        parsed += 1;
    }
    assert_eq!(parsed, RECORDS);
    parsed
}

fn gelf_all(payloads: &[Vec<u8>]) -> usize {
    let mut parsed = 0;
    for p in payloads {
        let r = gelf::parse_payload(black_box(p), NOW_NS).expect("valid GELF");
        assert!(r.component.ends_with(".backend"), "{}", r.component);
        parsed += 1;
    }
    assert_eq!(parsed, RECORDS);
    parsed
}

fn bench(c: &mut Criterion) {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let sets = [
        ("syslog_rfc5424", rfc5424(&mut rng)),
        ("syslog_rfc3164", rfc3164(&mut rng)),
    ];
    let gelf_plain = gelf_json(&mut rng);
    let gelf_gzip = gzip(&gelf_plain);
    let body = ndjson_body(&mut rng);

    let mut records = c.benchmark_group("log_parse_records");
    records.throughput(Throughput::Elements(RECORDS as u64));
    for (name, set) in &sets {
        records.bench_function(*name, |b| b.iter(|| syslog_all(set)));
    }
    records.bench_function("gelf_json", |b| b.iter(|| gelf_all(&gelf_plain)));
    records.bench_function("gelf_gzip", |b| b.iter(|| gelf_all(&gelf_gzip)));
    records.bench_function("ndjson", |b| {
        b.iter(|| {
            let (parsed, errors) = ndjson::parse(black_box(&body), NOW_NS);
            assert!(errors.is_empty(), "{errors:?}");
            assert_eq!(parsed.len(), RECORDS);
        })
    });
    records.finish();

    let mut bytes = c.benchmark_group("log_parse_bytes");
    for (name, set) in &sets {
        bytes.throughput(Throughput::Bytes(total_bytes(set)));
        bytes.bench_function(*name, |b| b.iter(|| syslog_all(set)));
    }
    bytes.throughput(Throughput::Bytes(total_bytes(&gelf_plain)));
    bytes.bench_function("gelf_json", |b| b.iter(|| gelf_all(&gelf_plain)));
    bytes.throughput(Throughput::Bytes(body.len() as u64));
    bytes.bench_function("ndjson", |b| {
        b.iter(|| ndjson::parse(black_box(&body), NOW_NS).0.len())
    });
    bytes.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
