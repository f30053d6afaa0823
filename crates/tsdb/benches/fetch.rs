//! Fetch of 100 series x 8640 points (24 h at 10 s) from blocks: the whole-system bench's
//! wildcard query `*.webapp.*.*.render_time_ms`, engine time only. Asserts every point came
//! back. Also a `find` over the same glob.

mod workload;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use lookout_core::selfmon::Registry;
use lookout_core::{Durability, Glob, MetricAppender, MetricReader, Point, TimeRange};
use lookout_tsdb::{Config, Tsdb};

const END: i64 = 1_763_800_000;
const POINTS: usize = 8640;

fn bench(c: &mut Criterion) {
    let series = workload::generate(1000, POINTS, 42);
    let first = END - (POINTS as i64 - 1) * workload::STEP;
    let dir = tempfile::tempdir().unwrap();
    let now = END + 60;
    let db = Tsdb::open(dir.path(), Config::default(), &Registry::new(), now).unwrap();
    for t in 0..POINTS {
        let batch: Vec<Point> = series
            .iter()
            .map(|s| Point {
                name: s.name.clone(),
                ts: first + t as i64 * workload::STEP,
                value: s.values[t],
            })
            .collect();
        db.append(&batch, Durability::Buffered).unwrap();
    }
    db.close(now).unwrap();
    let db = Tsdb::open(dir.path(), Config::default(), &Registry::new(), now).unwrap();
    let glob = Glob::new("*.webapp.*.*.render_time_ms").unwrap();
    let names: Vec<String> = db
        .find(&Glob::new("*.webapp.*.*.*").unwrap())
        .unwrap()
        .into_iter()
        .map(|n| n.path)
        .filter(|p| glob.matches(p))
        .collect();
    assert_eq!(names.len(), 100);
    let range = TimeRange {
        from: first - 1,
        until: END,
    };
    // Every point comes back; inside the loop only the shape and both ends are checked, so
    // the timing is the engine's, not the check's.
    let got = db.fetch(&names, range, now).unwrap();
    let n: usize = got.iter().map(|d| d.values.iter().flatten().count()).sum();
    assert_eq!(n, 100 * POINTS);
    let mut g = c.benchmark_group("fetch");
    g.throughput(Throughput::Elements((100 * POINTS) as u64));
    g.bench_function("100_series_x_8640_points", |b| {
        b.iter(|| {
            let got = db.fetch(&names, range, now).unwrap();
            assert_eq!(got.len(), 100);
            for d in &got {
                assert_eq!(d.values.len(), POINTS);
                assert!(d.values[0].is_some() && d.values[POINTS - 1].is_some());
            }
            got
        })
    });
    g.finish();
    let mut g = c.benchmark_group("find");
    g.bench_function("glob_over_1000_series", |b| {
        b.iter(|| {
            let n = db.find(&glob).unwrap().len();
            assert_eq!(n, 100);
            n
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
