//! `find` over a large tree: 1,000,000 series named `dc<D>.host<HHHH>.system.metric<M>`
//! (10 data centres x 10,000 hosts x 10 metrics), asserting each pattern's match
//! count. Literal nodes are looked up, wildcard nodes scan one level's children.

use criterion::{criterion_group, criterion_main, Criterion};
use lookout_core::selfmon::Registry;
use lookout_core::{Durability, Glob, MetricAppender, MetricReader, Point};
use lookout_tsdb::{Config, Tsdb};

const NOW: i64 = 1_763_800_000;
const DCS: usize = 10;
const HOSTS: usize = 10_000;
const METRICS: usize = 10;

fn name(i: usize) -> String {
    let (dc, host, metric) = (i / (HOSTS * METRICS), (i / METRICS) % HOSTS, i % METRICS);
    format!("dc{dc}.host{host:04}.system.metric{metric}")
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let db = Tsdb::open(dir.path(), Config::default(), &Registry::new(), NOW).unwrap();
    let total = DCS * HOSTS * METRICS;
    for start in (0..total).step_by(10_000) {
        let batch: Vec<Point> = (start..start + 10_000)
            .map(|i| Point {
                name: name(i),
                ts: NOW - 10,
                value: 1.0,
            })
            .collect();
        db.append(&batch, Durability::Buffered).unwrap();
    }
    assert_eq!(db.stats().series as usize, total);
    let cases = [
        ("literal_leaf", "dc3.host0421.system.metric7", 1),
        ("children_of_one_host", "dc3.host0421.system.*", METRICS),
        ("one_level_wildcard", "dc3.*.system.metric7", HOSTS),
        (
            "brace_and_class",
            "dc{1,2}.host00[0-4]?.system.metric1",
            2 * 50,
        ),
        ("top_level", "*", DCS),
    ];
    let mut g = c.benchmark_group("find_1m_series");
    for (label, pattern, expected) in cases {
        let glob = Glob::new(pattern).unwrap();
        g.bench_function(label, |b| {
            b.iter(|| {
                let n = db.find(&glob).unwrap().len();
                assert_eq!(n, expected, "{pattern}");
                n
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
