//! Appends from several threads, fetches and maintenance all at once: no deadlock, fetches never
//! see a wrong value (each writer writes value == slot index, so any mix-up shows), and every
//! point is there at the end, also after a restart. Bounded by counts, never by time.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::{config, open, pt, NOW};
use lookout_core::{Durability, MetricAppender, MetricReader, TimeRange};

const WRITERS: usize = 4;
const SERIES_PER_WRITER: usize = 25;
const STEPS: i64 = 300;
const START: i64 = NOW - 3 * 3600;

fn name(w: usize, s: usize) -> String {
    format!("w{w}.s{s}.value")
}

fn check(db: &lookout_tsdb::Tsdb, names: &[String], complete: bool) {
    let got = db
        .fetch(
            names,
            TimeRange {
                from: START - 10,
                until: START + 10 * (STEPS - 1),
            },
            NOW,
        )
        .unwrap();
    for d in &got {
        assert_eq!(d.start, START);
        for (i, v) in d.values.iter().enumerate() {
            match v {
                Some(v) => assert_eq!(*v, i as f64, "{} slot {i}", d.name),
                None => assert!(!complete, "{} slot {i} missing", d.name),
            }
        }
    }
    if complete {
        assert_eq!(got.len(), names.len());
    }
}

#[test]
fn concurrent_appends_fetches_and_maintenance_agree() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config("10s:1d,1m:7d");
    cfg.flush_max_points = 2000;
    let db = Arc::new(open(dir.path(), &cfg, NOW));
    let names: Vec<String> = (0..WRITERS)
        .flat_map(|w| (0..SERIES_PER_WRITER).map(move |s| name(w, s)))
        .collect();
    let done = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let db = db.clone();
            std::thread::spawn(move || {
                for t in 0..STEPS {
                    let batch: Vec<_> = (0..SERIES_PER_WRITER)
                        .map(|s| pt(&name(w, s), START + 10 * t, t as f64))
                        .collect();
                    let d = if t % 7 == 0 {
                        Durability::Synced
                    } else {
                        Durability::Buffered
                    };
                    db.append(&batch, d).unwrap();
                }
            })
        })
        .collect();
    let reader = {
        let (db, names, done) = (db.clone(), names.clone(), done.clone());
        std::thread::spawn(move || {
            let mut rounds = 0;
            while !done.load(Ordering::Relaxed) || rounds < 5 {
                check(&db, &names, false);
                rounds += 1;
            }
            rounds
        })
    };
    let maintainer = {
        let (db, done) = (db.clone(), done.clone());
        std::thread::spawn(move || {
            let mut rounds = 0;
            while !done.load(Ordering::Relaxed) || rounds < 5 {
                db.maintain(NOW).unwrap();
                rounds += 1;
            }
        })
    };
    for w in writers {
        w.join().unwrap();
    }
    done.store(true, Ordering::Relaxed);
    assert!(reader.join().unwrap() >= 5);
    maintainer.join().unwrap();
    check(&db, &names, true);
    assert_eq!(db.list_series().unwrap().len(), names.len());
    let db = Arc::into_inner(db).unwrap();
    db.close(NOW).unwrap();
    let db = open(dir.path(), &cfg, NOW);
    check(&db, &names, true);
}
