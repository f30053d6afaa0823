//! Tag query throughput: `/tags/findSeries`, `/tags/<tag>` and value autocompletion over
//! 100,000 tagged series on the in-memory store. Each query scans the store's series list once,
//! so this is the cost per request the tag endpoints pay; it reports series names scanned per
//! second. Each iteration checks its answer so a broken matcher fails instead of looking fast.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use lookout_core::testkit::MemStore;
use lookout_query::{auto_complete_values, find_series, tag_values};

/// 10 names x 100 hosts x 10 data centres x 10 disks.
const SERIES: usize = 100_000;

fn store() -> MemStore {
    let store = MemStore::new(10);
    for i in 0..SERIES {
        let name = format!(
            "disk.m{};dc=dc{};disk=d{};host=web{:03}",
            i % 10,
            (i / 10) % 10,
            (i / 100) % 10,
            i / 1000
        );
        store.insert(&name, 1_000, &[Some(1.0)]);
    }
    store
}

fn bench(c: &mut Criterion) {
    let store = store();
    let mut g = c.benchmark_group("tags");
    g.throughput(Throughput::Elements(SERIES as u64));
    g.bench_function("findSeries_3_exprs_100k", |b| {
        b.iter(|| {
            let out =
                find_series(&store, &["name=disk.m1", "host=~web00.*", "dc!=dc3"]).expect("find");
            // 10 hosts x 9 dcs x 10 disks.
            assert_eq!(out.len(), 900);
            out
        })
    });
    g.bench_function("tag_values_host_100k", |b| {
        b.iter(|| {
            let out = tag_values(&store, "host", None, None)
                .expect("values")
                .expect("tag exists");
            assert_eq!(out.len(), 100);
            assert_eq!(out[0].count, 1000);
            out
        })
    });
    g.bench_function("autoComplete_values_with_expr_100k", |b| {
        b.iter(|| {
            let out = auto_complete_values(&store, &["dc=dc1"], "host", Some("web0"), 100)
                .expect("values");
            assert_eq!(out.len(), 100);
            out
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
