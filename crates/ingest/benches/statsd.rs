//! StatsD throughput: parsing packets (`lookout_proto::statsd`) and parsing plus aggregating
//! them (`Statsd::ingest_packet`, the work a listener's blocking thread does per datagram),
//! over 1,000 datagrams of 20 lines each shaped like a web fleet's (counters with sample
//! rates, timers, gauges, sets, some tagged) generated from a fixed seed. Reported as lines/s
//! by criterion; packets/s are printed. Each iteration asserts the sample counts, and the
//! aggregation bench checks a flush, so a broken path fails instead of looking fast.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use lookout_core::selfmon::Registry;
use lookout_core::testkit::MemStore;
use lookout_ingest::{Config, Statsd, StatsdConfig};
use lookout_proto::statsd;

const PACKETS: usize = 1_000;
const LINES_PER_PACKET: usize = 20;

fn packets() -> Vec<Vec<u8>> {
    const NAMES: [&str; 5] = [
        "api.requests",
        "api.latency",
        "queue.depth",
        "users.active",
        "db.query_time",
    ];
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    (0..PACKETS)
        .map(|_| {
            let mut p = Vec::with_capacity(LINES_PER_PACKET * 48);
            for _ in 0..LINES_PER_PACKET {
                let r = next();
                let host = r % 50;
                let name = NAMES[(r >> 8) as usize % NAMES.len()];
                let v = (r >> 16) % 1000;
                let line = match (r >> 32) % 5 {
                    0 => format!("web{host:02}.{name}:1|c\n"),
                    1 => format!("web{host:02}.{name}:{v}|ms|@0.5\n"),
                    2 => format!("web{host:02}.{name}:{v}|g\n"),
                    3 => format!("web{host:02}.{name}:u{v}|s\n"),
                    _ => format!("{name}:{v}|ms|#host:web{host:02},env:prod\n"),
                };
                p.extend_from_slice(line.as_bytes());
            }
            p
        })
        .collect()
}

fn parse_all(packets: &[Vec<u8>]) -> usize {
    let mut n = 0;
    let mut samples = Vec::new();
    let mut errors = Vec::new();
    for p in packets {
        samples.clear();
        statsd::parse(p, 8192, &mut samples, &mut errors);
        n += samples.len();
    }
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(n, PACKETS * LINES_PER_PACKET, "parsed count");
    n
}

fn aggregate_all(server: &Statsd, packets: &[Vec<u8>]) -> usize {
    let peer = IpAddr::from([127, 0, 0, 1]);
    let n: usize = packets.iter().map(|p| server.ingest_packet(peer, p)).sum();
    assert_eq!(n, PACKETS * LINES_PER_PACKET, "aggregated count");
    n
}

fn report(what: &str, elapsed: Duration, iters: u64) {
    let secs = elapsed.as_secs_f64().max(f64::MIN_POSITIVE);
    let per_sec = (PACKETS as u64 * iters) as f64 / secs;
    println!("{what}: {per_sec:.0} packets/s ({LINES_PER_PACKET} lines each)");
}

fn bench(c: &mut Criterion) {
    let packets = packets();
    let mut g = c.benchmark_group("statsd");
    g.throughput(Throughput::Elements((PACKETS * LINES_PER_PACKET) as u64));
    g.bench_function("parse", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                parse_all(black_box(&packets));
            }
            start.elapsed()
        })
    });
    let server = Statsd::new(
        Arc::new(MemStore::new(10)),
        Arc::new(Registry::new()),
        Config::default(),
        StatsdConfig::default(),
        tokio::sync::watch::channel(false).1,
    );
    g.bench_function("parse_and_aggregate", |b| {
        b.iter_custom(|iters| {
            let mut t = Duration::ZERO;
            for _ in 0..iters {
                let start = Instant::now();
                aggregate_all(&server, black_box(&packets));
                t += start.elapsed();
                // The flush is part of the check, not of the timing.
                let points = server.take_points(1_700_000_000);
                assert!(
                    points
                        .iter()
                        .any(|p| p.name == "stats.timers.api.latency.upper_90;env=prod;host=web01"),
                    "a tagged timer percentile is flushed"
                );
            }
            t
        })
    });
    g.finish();
    // Criterion reports lines/s; one timed pass more gives packets/s for the report.
    let start = Instant::now();
    parse_all(&packets);
    report("statsd parse", start.elapsed(), 1);
    let start = Instant::now();
    aggregate_all(&server, &packets);
    report("statsd parse+aggregate", start.elapsed(), 1);
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
