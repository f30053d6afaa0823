//! `Tsdb::ensure_series` and `Tsdb::series_layout`, the importer's API: a series created with a
//! caller's schema keeps it across a crash and a clean restart, an existing series keeps its own,
//! and the layout tells where appends of each age are stored.

mod common;

use common::{config, fetch, open, pt, NOW};
use lookout_core::{Aggregation, Durability, MetricAppender};
use lookout_tsdb::{Ensured, Retention, SeriesSchema};

fn schema(retentions: &str, aggregation: Aggregation, xff: f64) -> SeriesSchema {
    SeriesSchema {
        retentions: Retention::parse_list(retentions).unwrap(),
        aggregation,
        x_files_factor: xff,
    }
}

#[test]
fn ensured_series_keep_their_schema_across_crash_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    // The config's rules would give 10s:7d and average: the import's schema must win.
    let cfg = config("10s:7d");
    let wanted = schema("60s:1d,300s:7d", Aggregation::Max, 0.0);
    let db = open(dir.path(), &cfg, NOW);
    assert_eq!(
        db.ensure_series("imp.a", &wanted).unwrap(),
        Ensured::Created
    );
    assert_eq!(db.ensure_series("imp.a", &wanted).unwrap(), Ensured::Exists);
    // A new schema gets the watermarks maintenance would give it: a point older than the
    // finest retention goes straight to the coarser level.
    let layout = db.series_layout("imp.a").unwrap();
    assert_eq!(layout.schema, wanted);
    assert_eq!(layout.level_for(NOW - 60), 0);
    assert_eq!(layout.level_for(NOW - 6 * 86_400), 1);
    assert!(layout.level_starts[1] <= NOW - 86_400);
    // NOW is a whole day, so this is on the 300 s grid.
    let old = NOW - 5 * 86_400;
    db.append(
        &[pt("imp.a", old, 7.0), pt("imp.a", NOW - 120, 1.0)],
        Durability::Buffered,
    )
    .unwrap();
    db.sync().unwrap();
    // Crash: only the WAL holds the definitions.
    drop(db);
    let db = open(dir.path(), &cfg, NOW);
    let layout = db.series_layout("imp.a").unwrap();
    assert_eq!(layout.schema, wanted);
    assert_eq!(db.ensure_series("imp.a", &wanted).unwrap(), Ensured::Exists);
    db.maintain(NOW).unwrap();
    let recent = fetch(&db, "imp.a", NOW - 300, NOW, NOW);
    assert_eq!((recent.step, recent.aggregation), (60, Aggregation::Max));
    assert_eq!(recent.values.iter().flatten().count(), 1);
    let coarse = fetch(&db, "imp.a", old - 300, old, NOW);
    assert_eq!((coarse.step, coarse.values.clone()), (300, vec![Some(7.0)]));
    // Clean restart: the definitions are in the index files now.
    db.close(NOW).unwrap();
    let db = open(dir.path(), &cfg, NOW);
    assert_eq!(db.series_layout("imp.a").unwrap().schema, wanted);
    let coarse = fetch(&db, "imp.a", old - 300, old, NOW);
    assert_eq!(coarse.values, vec![Some(7.0)]);
}

#[test]
fn existing_series_keep_their_own_schema() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config("10s:7d");
    let db = open(dir.path(), &cfg, NOW);
    db.append(&[pt("live.a", NOW - 10, 1.0)], Durability::Buffered)
        .unwrap();
    let wanted = schema("60s:1d,300s:7d", Aggregation::Sum, 0.0);
    let existing = schema("10s:7d", Aggregation::Average, 0.5);
    assert_eq!(
        db.ensure_series("live.a", &wanted).unwrap(),
        Ensured::Differs(existing.clone())
    );
    assert_eq!(db.series_layout("live.a").unwrap().schema, existing);
    assert_eq!(db.series_layout("nope"), None);
}

#[test]
fn invalid_schemas_and_names_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path(), &config("10s:7d"), NOW);
    let bad = SeriesSchema {
        retentions: vec![
            Retention {
                step_secs: 60,
                points: 10,
            },
            Retention {
                step_secs: 90,
                points: 100,
            },
        ],
        aggregation: Aggregation::Average,
        x_files_factor: 0.5,
    };
    assert!(db.ensure_series("a.b", &bad).is_err());
    let bad_xff = schema("60s:1d", Aggregation::Average, 2.0);
    assert!(db.ensure_series("a.b", &bad_xff).is_err());
    let good = schema("60s:1d", Aggregation::Average, 0.5);
    assert!(db.ensure_series("a..b", &good).is_err());
    assert_eq!(db.series_layout("a.b"), None);
}
