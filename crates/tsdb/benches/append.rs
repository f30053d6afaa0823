//! Append throughput (points/s) for batches of 5000 points of existing series, the shape a
//! Graphite connection delivers (timestamp-major: every series once per timestamp), Buffered
//! as for plaintext TCP. Flushes happen outside the timed region when the head grows.
//!
//! Also, once: the whole bench workload (1000 series x 8640 points, `workload`) ingested in
//! such batches with `maintain` every 100 batches, then `close`; prints the end-to-end rate and
//! the allocated bytes on disk per point (blocks, series index and WAL, as `du` counts them),
//! and asserts the latter stays under VictoriaMetrics' 1.03.

mod workload;

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use lookout_core::selfmon::Registry;
use lookout_core::{Durability, MetricAppender, MetricReader, Point, TimeRange};
use lookout_tsdb::{Config, Tsdb};

const END: i64 = 1_763_800_000;
const POINTS: usize = 8640;
const BATCH: usize = 5000;

fn allocated_bytes(dir: &std::path::Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let mut total = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let meta = entry.metadata().unwrap();
        total += if meta.is_dir() {
            allocated_bytes(&entry.path())
        } else {
            meta.blocks() * 512
        };
    }
    total
}

fn timestamp_major(series: &[workload::Series]) -> Vec<Point> {
    let first = END - (POINTS as i64 - 1) * workload::STEP;
    let mut out = Vec::with_capacity(series.len() * POINTS);
    for t in 0..POINTS {
        for s in series {
            out.push(Point {
                name: s.name.clone(),
                ts: first + t as i64 * workload::STEP,
                value: s.values[t],
            });
        }
    }
    out
}

fn whole_workload_on_disk(points: &[Point]) {
    let dir = tempfile::tempdir().unwrap();
    let now = END + 60;
    let db = Tsdb::open(dir.path(), Config::default(), &Registry::new(), now).unwrap();
    let started = Instant::now();
    for (i, batch) in points.chunks(BATCH).enumerate() {
        db.append(batch, Durability::Buffered).unwrap();
        if i % 100 == 99 {
            db.maintain(now).unwrap();
        }
    }
    db.sync().unwrap();
    let took = started.elapsed();
    db.close(now).unwrap();
    let bytes = allocated_bytes(dir.path());
    let bpp = bytes as f64 / points.len() as f64;
    eprintln!(
        "whole workload: {} points in {:.2?} = {:.0} points/s (append + maintain); on disk after close: \
         {bytes} bytes allocated = {bpp:.3} bytes/point",
        points.len(),
        took,
        points.len() as f64 / took.as_secs_f64()
    );
    let db = Tsdb::open(dir.path(), Config::default(), &Registry::new(), now).unwrap();
    let got = db
        .fetch(
            &[points[points.len() - 1].name.clone()],
            TimeRange {
                from: END - 86_400,
                until: END,
            },
            now,
        )
        .unwrap();
    assert_eq!(got[0].values.iter().flatten().count(), POINTS);
    assert!(bpp <= 1.03, "bytes/point on disk regressed: {bpp}");
}

fn bench(c: &mut Criterion) {
    let series = workload::generate(1000, POINTS, 42);
    let points = timestamp_major(&series);
    whole_workload_on_disk(&points);

    let dir = tempfile::tempdir().unwrap();
    let now = END + 60;
    let db = Tsdb::open(dir.path(), Config::default(), &Registry::new(), now).unwrap();
    db.append(&points[..1000], Durability::Buffered).unwrap();
    let batches: Vec<&[Point]> = points.chunks(BATCH).collect();
    let mut next = 0usize;
    let mut appended = 0u64;
    let mut g = c.benchmark_group("append");
    g.throughput(Throughput::Elements(BATCH as u64));
    g.bench_function("existing_series_batch_5000", |b| {
        b.iter_custom(|iters| {
            let mut timed = Duration::ZERO;
            for _ in 0..iters {
                let batch = batches[next % batches.len()];
                next += 1;
                let t = Instant::now();
                db.append(batch, Durability::Buffered).unwrap();
                timed += t.elapsed();
                appended += batch.len() as u64;
                if db.memory().head_points > 4_000_000 {
                    db.flush(now).unwrap();
                }
            }
            timed
        })
    });
    g.finish();
    assert_eq!(db.stats().series, 1000);
    assert!(appended > 0);
}

criterion_group!(benches, bench);
criterion_main!(benches);
