//! Model test: random sequences of appends (in and out of order, duplicates, special values),
//! flushes, maintenance, clean and crashing restarts and deletions give the same fetch answers
//! as `lookout_core::testkit::MemStore` (a single-archive schema, so the two are comparable).

mod common;

use common::{config, open, pt, NOW};
use lookout_core::testkit::MemStore;
use lookout_core::{Durability, Glob, MetricAppender, MetricReader, TimeRange};
use proptest::prelude::*;

/// The clock of the run: an hour and a half past the day boundary at `NOW`, so points land in
/// two day partitions and the older one is cold (and fully compacted by `maintain`).
const CLOCK: i64 = NOW + 5400;
const SERIES: [&str; 4] = ["m.a", "m.b", "m.c;tag=x", "n.a"];

#[derive(Debug, Clone)]
enum Op {
    Append(Vec<(usize, i64, f64)>, bool),
    Flush,
    Maintain,
    Reopen,
    Crash,
    Delete(usize),
    Fetch(i64, i64),
}

fn value() -> impl Strategy<Value = f64> {
    prop_oneof![
        (-500i64..500).prop_map(|m| m as f64 / 4.0),
        (-1000i64..1000).prop_map(|m| m as f64),
        Just(-0.0),
        Just(f64::INFINITY),
        any::<u64>()
            .prop_map(f64::from_bits)
            .prop_filter("not NaN", |v| !v.is_nan()),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let ts = NOW - 3500..NOW + 3000;
    prop_oneof![
        6 => (proptest::collection::vec((0..SERIES.len(), ts.clone(), value()), 1..40), any::<bool>())
            .prop_map(|(p, s)| Op::Append(p, s)),
        2 => Just(Op::Flush),
        1 => Just(Op::Maintain),
        1 => Just(Op::Reopen),
        1 => Just(Op::Crash),
        1 => (0..SERIES.len()).prop_map(Op::Delete),
        3 => (ts.clone(), 0i64..7000).prop_map(|(from, len)| Op::Fetch(from, (from + len).min(CLOCK))),
    ]
}

fn compare(db: &lookout_tsdb::Tsdb, model: &MemStore, from: i64, until: i64) {
    let names: Vec<String> = SERIES.iter().map(|s| s.to_string()).collect();
    let got = db.fetch(&names, TimeRange { from, until }, CLOCK).unwrap();
    // whisper gives an empty range one slot; MemStore does not.
    let (start, end) = (
        from.div_euclid(10) * 10 + 10,
        until.div_euclid(10) * 10 + 10,
    );
    let until_model = if start == end { until + 10 } else { until };
    let want = model
        .fetch(
            &names,
            TimeRange {
                from,
                until: until_model,
            },
            CLOCK,
        )
        .unwrap();
    let key = |d: &lookout_core::SeriesData| {
        (
            d.name.clone(),
            d.start,
            d.step,
            d.values
                .iter()
                .map(|v| v.map(f64::to_bits))
                .collect::<Vec<_>>(),
        )
    };
    let got: Vec<_> = got.iter().map(key).collect();
    let want: Vec<_> = want.iter().map(key).collect();
    assert_eq!(got, want, "fetch ({from}, {until}]");
    assert_eq!(db.list_series().unwrap(), model.list_series().unwrap());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]
    #[test]
    fn engine_matches_the_in_memory_model(ops in proptest::collection::vec(op(), 1..25)) {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config("10s:1d");
        let model = MemStore::new(10);
        let mut db = Some(open(dir.path(), &cfg, CLOCK));
        for op in ops {
            let engine = db.as_ref().unwrap();
            match op {
                Op::Append(points, synced) => {
                    let batch: Vec<_> = points.iter().map(|&(s, ts, v)| pt(SERIES[s], ts, v)).collect();
                    let d = if synced { Durability::Synced } else { Durability::Buffered };
                    engine.append(&batch, d).unwrap();
                    model.append(&batch, d).unwrap();
                }
                Op::Flush => engine.flush(CLOCK).unwrap(),
                Op::Maintain => { engine.maintain(CLOCK).unwrap(); }
                Op::Reopen => {
                    db.take().unwrap().close(CLOCK).unwrap();
                    db = Some(open(dir.path(), &cfg, CLOCK));
                }
                Op::Crash => {
                    drop(db.take());
                    db = Some(open(dir.path(), &cfg, CLOCK));
                }
                Op::Delete(s) => {
                    let path = SERIES[s].split(';').next().unwrap();
                    let g = Glob::new(path).unwrap();
                    prop_assert_eq!(engine.delete(&g).unwrap(), model.delete(&g).unwrap());
                }
                Op::Fetch(from, until) => compare(engine, &model, from, until),
            }
        }
        compare(db.as_ref().unwrap(), &model, NOW - 3600, CLOCK);
        let engine = db.take().unwrap();
        engine.close(CLOCK).unwrap();
        let engine = open(dir.path(), &cfg, CLOCK);
        compare(&engine, &model, NOW - 3600, CLOCK);
    }
}
