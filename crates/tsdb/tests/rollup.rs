//! Rollups as whisper computes them: each coarser point is the aggregation of the known finer
//! points of its bucket if at least xFilesFactor of them are known (else null), chained archive
//! to archive; fetch reads the finest archive whose retention covers `now - from`. Checked on
//! hand-computed cases, both while rollups are derived from finer data and after they are
//! materialised, and with late points.

mod common;

use common::{config, fetch, open, pt};
use lookout_core::{Aggregation, Durability, MetricAppender};

/// Start of a day partition; points go into the half hour before its end, so that at
/// `LATER` (1 h after the day ends) the raw partition is past `10s:1h` and gets rolled up
/// while the data is still inside the 1-minute archive's day.
const DAY: i64 = 1_700_006_400 - 86_400;
const T: i64 = DAY + 86_400 - 1800;
const NOW: i64 = T + 600;
const LATER: i64 = DAY + 86_400 + 3600;

fn slots(base: i64, vals: &[Option<f64>]) -> Vec<lookout_core::Point> {
    vals.iter()
        .enumerate()
        .filter_map(|(i, v)| v.map(|v| (i, v)))
        .map(|(i, v)| (base + 10 * i as i64, v))
        .flat_map(|(ts, v)| {
            [
                "web.latency",
                "web.hits.count",
                "web.t.lower",
                "web.t.upper_90",
                "web.gauge.last",
            ]
            .map(|n| pt(n, ts, v))
        })
        .collect()
}

/// One-minute values of `name` over the minutes starting at T, T+60, T+120.
fn minutes(db: &lookout_tsdb::Tsdb, name: &str, now: i64) -> Vec<Option<f64>> {
    let d = fetch(db, name, T - 60, T + 120, now);
    assert_eq!(d.step, 60, "{name}: 1-minute archive");
    assert_eq!(d.start, T);
    d.values
}

fn write_cases(db: &lookout_tsdb::Tsdb) {
    // Minute T: 3 of 6 known (0.5 >= 0.5). Minute T+60: 2 of 6 (0.33). Minute T+120: 1 of 6.
    let mut pts = slots(T, &[Some(1.0), None, Some(2.0), None, Some(6.0), None]);
    pts.extend(slots(
        T + 60,
        &[None, Some(10.0), None, None, Some(20.0), None],
    ));
    pts.extend(slots(T + 120, &[None, None, None, Some(-4.0), None, None]));
    db.append(&pts, Durability::Synced).unwrap();
}

#[track_caller]
fn check_cases(db: &lookout_tsdb::Tsdb, now: i64) {
    // average, xff 0.5: 3/6 known propagates, 2/6 and 1/6 do not.
    assert_eq!(minutes(db, "web.latency", now), vec![Some(3.0), None, None]);
    // sum, xff 0: anything known propagates.
    assert_eq!(
        minutes(db, "web.hits.count", now),
        vec![Some(9.0), Some(30.0), Some(-4.0)]
    );
    // min and max, xff 0.1: one known of six (0.167) is enough.
    assert_eq!(
        minutes(db, "web.t.lower", now),
        vec![Some(1.0), Some(10.0), Some(-4.0)]
    );
    assert_eq!(
        minutes(db, "web.t.upper_90", now),
        vec![Some(6.0), Some(20.0), Some(-4.0)]
    );
    let d = fetch(db, "web.t.upper_90", T - 60, T + 120, now);
    assert_eq!((d.aggregation, d.x_files_factor), (Aggregation::Max, 0.1));
}

fn last_config() -> lookout_tsdb::Config {
    let mut cfg = config("10s:1h,1m:1d");
    cfg.aggregations.insert(
        0,
        lookout_tsdb::AggregationRule {
            name: "last".into(),
            pattern: regex::Regex::new(r"\.last$").unwrap(),
            method: Aggregation::Last,
            x_files_factor: 0.0,
        },
    );
    cfg
}

#[test]
fn derived_rollups_follow_whispers_propagation() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path(), &last_config(), NOW);
    write_cases(&db);
    check_cases(&db, NOW + 3600);
    assert_eq!(
        minutes(&db, "web.gauge.last", NOW + 3600),
        vec![Some(6.0), Some(20.0), Some(-4.0)]
    );
    // The same after a flush (blocks instead of head).
    db.flush(NOW).unwrap();
    check_cases(&db, NOW + 3600);
}

#[test]
fn materialised_rollups_keep_the_values_after_the_raw_data_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = last_config();
    let db = open(dir.path(), &cfg, NOW);
    write_cases(&db);
    db.flush(NOW).unwrap();
    let blocks_before = std::fs::read_dir(dir.path().join("blocks"))
        .unwrap()
        .count();
    let report = db.maintain(LATER).unwrap();
    // Blocks are per schema: one raw partition per aggregation rule was rolled up.
    assert_eq!(report.rollups, 5, "{report:?}");
    check_cases(&db, LATER);
    // Each raw block was replaced by one 1-minute block.
    assert_eq!(
        std::fs::read_dir(dir.path().join("blocks"))
            .unwrap()
            .count(),
        blocks_before
    );
    // The raw archive no longer shows that data (past 1 h), and a restart keeps everything.
    drop(db);
    let db = open(dir.path(), &cfg, LATER);
    check_cases(&db, LATER);
    let raw = fetch(&db, "web.latency", LATER - 3600, LATER, LATER);
    assert_eq!(raw.step, 10);
    assert!(raw.values.iter().all(Option::is_none));
}

#[test]
fn chained_archives_aggregate_the_previous_archive_not_the_raw_points() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config("10s:1h,1m:1d,10m:30d");
    let start = T - T % 600;
    let now = start + 1200;
    let db = open(dir.path(), &cfg, now);
    // Minute 0: six points 1..6 (avg 3.5). Minute 1: 3 points 10,10,40 (avg 20). Minute 2: one
    // point (1/6 < 0.5, null). Minutes 3..9: 7 more full minutes of 1.0.
    let mut pts = Vec::new();
    for (i, v) in [1.0, 2.0, 3.0, 4.0, 5.0, 6.0].iter().enumerate() {
        pts.push(pt("m.avg", start + 10 * i as i64, *v));
    }
    for (i, v) in [(0, 10.0), (2, 10.0), (4, 40.0)] {
        pts.push(pt("m.avg", start + 60 + 10 * i, v));
    }
    pts.push(pt("m.avg", start + 120, 99.0));
    for minute in 3..10 {
        for i in 0..6 {
            pts.push(pt("m.avg", start + 60 * minute + 10 * i, 1.0));
        }
    }
    db.append(&pts, Durability::Synced).unwrap();
    // 10-minute value: 9 of 10 minutes known (>= 0.5): mean of (3.5, 20, 1 x 7) = 30.5 / 9.
    // (The mean of the 46 raw points would be 159 / 46 instead.)
    let d = fetch(&db, "m.avg", now - 2 * 86_400, start + 599, now);
    assert_eq!(d.step, 600);
    let last = *d.values.last().unwrap();
    assert_eq!(last, Some((3.5 + 20.0 + 7.0) / 9.0));
}

#[test]
fn fetch_picks_the_finest_archive_covering_now_minus_from() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path(), &config("10s:1h,1m:1d,10m:30d"), NOW);
    db.append(&[pt("a.b", NOW - 100, 1.0)], Durability::Synced)
        .unwrap();
    let step = |from: i64| fetch(&db, "a.b", from, NOW, NOW).step;
    assert_eq!(step(NOW - 1800), 10);
    assert_eq!(step(NOW - 3600), 10);
    assert_eq!(step(NOW - 3601), 60);
    assert_eq!(step(NOW - 86_400), 60);
    assert_eq!(step(NOW - 86_401), 600);
    // Beyond the coarsest retention: clamped to it, so the coarsest archive.
    assert_eq!(step(NOW - 400 * 86_400), 600);
    let d = fetch(&db, "a.b", NOW - 400 * 86_400, NOW, NOW);
    assert_eq!(d.start, NOW - 30 * 86_400 + 600 - (NOW - 30 * 86_400) % 600);
    // whisper's grid: from exclusive, until inclusive; an empty range gets one slot.
    let d = fetch(&db, "a.b", NOW - 100, NOW - 100, NOW);
    assert_eq!((d.start, d.values.len()), (NOW - 90, 1));
    assert!(fetch(&db, "a.b", NOW + 10, NOW + 20, NOW).values.is_empty());
}

#[test]
fn late_points_update_derived_rollups_and_overwrite_materialised_ones() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config("10s:1h,1m:1d");
    let db = open(dir.path(), &cfg, NOW);
    let view = NOW + 3600;
    let full: Vec<Option<f64>> = (1..=6).map(|v| Some(f64::from(v))).collect();
    db.append(&slots(T, &full), Durability::Synced).unwrap();
    db.flush(NOW).unwrap();
    assert_eq!(minutes(&db, "web.latency", view)[0], Some(3.5));
    // A late point replacing slot T+50 (6 -> 12): the derived rollup follows at once.
    db.append(&[pt("web.latency", T + 55, 12.0)], Durability::Synced)
        .unwrap();
    assert_eq!(minutes(&db, "web.latency", view)[0], Some(4.5));
    // After the raw partition is rolled up the value is kept...
    db.maintain(LATER).unwrap();
    assert_eq!(minutes(&db, "web.latency", LATER)[0], Some(4.5));
    // ...and a point that old is written into the 1-minute archive directly, as whisper does,
    // replacing the bucket's value, including across a restart and a flush.
    db.append(&[pt("web.latency", T + 30, 100.0)], Durability::Synced)
        .unwrap();
    assert_eq!(minutes(&db, "web.latency", LATER)[0], Some(100.0));
    drop(db);
    let db = open(dir.path(), &cfg, LATER);
    assert_eq!(minutes(&db, "web.latency", LATER)[0], Some(100.0));
    db.flush(LATER).unwrap();
    db.maintain(LATER + 7200).unwrap();
    assert_eq!(minutes(&db, "web.latency", LATER + 3600)[0], Some(100.0));
}

#[test]
fn a_point_appended_while_its_partition_is_rolled_up_becomes_a_direct_write() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config("10s:1h,1m:1d");
    // Keep the late point in the head through `maintain`, as if it arrived mid-rollup.
    cfg.flush_interval_secs = 1_000_000;
    let db = open(dir.path(), &cfg, NOW);
    let full: Vec<Option<f64>> = (1..=6).map(|v| Some(f64::from(v))).collect();
    db.append(&slots(T, &full), Durability::Synced).unwrap();
    db.flush(NOW).unwrap();
    db.append(&[pt("web.latency", T + 70, 50.0)], Durability::Synced)
        .unwrap();
    let report = db.maintain(LATER).unwrap();
    assert_eq!(report.flushed_points, 0);
    let m = minutes(&db, "web.latency", LATER);
    assert_eq!(m[..2], [Some(3.5), Some(50.0)]);
    db.flush(LATER).unwrap();
    assert_eq!(
        minutes(&db, "web.latency", LATER)[..2],
        [Some(3.5), Some(50.0)]
    );
    drop(db);
    let db = open(dir.path(), &cfg, LATER);
    assert_eq!(
        minutes(&db, "web.latency", LATER)[..2],
        [Some(3.5), Some(50.0)]
    );
}

#[test]
fn a_direct_write_into_a_range_never_rolled_up_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config("10s:1h,1m:1d");
    // No data at all in the day before LATER: the watermark moves past it without any rollup
    // block to record it, and only the index file persists it.
    let db = open(dir.path(), &cfg, NOW);
    db.append(&[pt("other.series", LATER - 60, 1.0)], Durability::Synced)
        .unwrap();
    db.maintain(LATER).unwrap();
    db.append(&[pt("web.latency", T + 30, 7.0)], Durability::Synced)
        .unwrap();
    assert_eq!(minutes(&db, "web.latency", LATER)[0], Some(7.0));
    db.close(LATER).unwrap();
    let db = open(dir.path(), &cfg, LATER);
    assert_eq!(minutes(&db, "web.latency", LATER)[0], Some(7.0));
}
