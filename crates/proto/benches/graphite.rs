//! Plaintext parse throughput, in bytes/s and lines/s, over lines shaped like a web fleet's
//! (`web01.webapp.backend.git.render_time_ms 123.45 1700000000`) generated from a fixed seed.
//! Each iteration asserts the parsed count, so a broken fast path fails instead of looking fast.

use std::time::{Duration, Instant};

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use lookout_core::Point;
use lookout_proto::graphite;

const LINES: usize = 100_000;

fn sample() -> Vec<u8> {
    const METRICS: [&str; 6] = [
        "webapp.backend.git.render_time_ms",
        "webapp.backend.db.query_time_ms",
        "cpu.user",
        "memory.resident_bytes",
        "nginx.requests.2xx",
        "disk.sda.write_bytes",
    ];
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut buf = Vec::with_capacity(LINES * 64);
    for i in 0..LINES {
        let r = next();
        let host = r % 100;
        let metric = METRICS[(r >> 8) as usize % METRICS.len()];
        let value = (r >> 16) % 100_000;
        let ts = 1_700_000_000 + i as u64 / 100;
        buf.extend_from_slice(
            format!(
                "web{host:02}.{metric} {}.{:02} {ts}\n",
                value / 100,
                value % 100
            )
            .as_bytes(),
        );
    }
    buf
}

fn parse_all(buf: &[u8], out: &mut Vec<Point>) -> usize {
    let mut errors = Vec::new();
    graphite::parse(buf, 1_800_000_000, out, &mut errors);
    assert_eq!(out.len(), LINES, "parsed count");
    assert!(errors.is_empty(), "{errors:?}");
    out.len()
}

/// Times parsing only: like a listener, the batch vector is reused, and emptying it (freeing
/// the points, which is the store's side of the pipeline) happens outside the timed part.
fn timed(buf: &[u8], out: &mut Vec<Point>, iters: u64) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        out.clear();
        let start = Instant::now();
        parse_all(black_box(buf), out);
        total += start.elapsed();
    }
    total
}

fn bench(c: &mut Criterion) {
    let buf = sample();
    let mut out = Vec::with_capacity(LINES);
    let mut bytes = c.benchmark_group("graphite_parse_bytes");
    bytes.throughput(Throughput::Bytes(buf.len() as u64));
    bytes.bench_function("plaintext", |b| {
        b.iter_custom(|iters| timed(&buf, &mut out, iters))
    });
    bytes.finish();
    let mut lines = c.benchmark_group("graphite_parse_lines");
    lines.throughput(Throughput::Elements(LINES as u64));
    lines.bench_function("plaintext", |b| {
        b.iter_custom(|iters| timed(&buf, &mut out, iters))
    });
    lines.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
