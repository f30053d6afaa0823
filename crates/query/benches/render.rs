//! Render-function throughput: `sumSeries` over 100 series of 8640 points (one day at 10 s)
//! and `movingAverage` over the same data, on the in-memory store. Each iteration checks the
//! result so a broken fast path fails instead of looking fast. Reports points read per second.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use lookout_core::testkit::MemStore;
use lookout_query::{evaluate, RenderContext};

const SERIES: usize = 100;
const POINTS: usize = 8640;
const STEP: i64 = 10;
const T0: i64 = 1_700_000_000 - 1_700_000_000 % 86_400;

fn store() -> MemStore {
    let store = MemStore::new(STEP);
    for s in 0..SERIES {
        // Deterministic values from a fixed linear congruential sequence; every 97th point null.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15 ^ s as u64;
        let values: Vec<Option<f64>> = (0..POINTS)
            .map(|i| {
                x = x
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                (i % 97 != 0).then_some((x >> 40) as f64 / 1024.0)
            })
            .collect();
        store.insert(&format!("bench.host{s:03}.cpu"), T0, &values);
    }
    store
}

fn bench(c: &mut Criterion) {
    let store = store();
    let ctx = RenderContext {
        reader: &store,
        from: T0 - STEP,
        until: T0 + (POINTS as i64 - 1) * STEP,
        now: T0 + POINTS as i64 * STEP,
    };
    let mut g = c.benchmark_group("render");
    g.throughput(Throughput::Elements((SERIES * POINTS) as u64));
    g.bench_function("sumSeries_100x8640", |b| {
        b.iter(|| {
            let out = evaluate(&ctx, "sumSeries(bench.*.cpu)").expect("render");
            assert_eq!(out.len(), 1);
            assert_eq!(out[0].values.len(), POINTS);
            assert!(out[0].values[1].is_some() && out[0].values[0].is_none());
            out
        })
    });
    g.bench_function("movingAverage_10_100x8640", |b| {
        b.iter(|| {
            let out = evaluate(&ctx, "movingAverage(bench.*.cpu,10)").expect("render");
            assert_eq!(out.len(), SERIES);
            assert_eq!(out[0].values.len(), POINTS);
            assert!(out[0].values[POINTS - 1].is_some());
            out
        })
    });
    g.bench_function("movingAverage_5min_100x8640", |b| {
        b.iter(|| {
            let out = evaluate(&ctx, "movingAverage(bench.*.cpu,'5min')").expect("render");
            assert_eq!(out.len(), SERIES);
            assert_eq!(out[0].values.len(), POINTS);
            out
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
