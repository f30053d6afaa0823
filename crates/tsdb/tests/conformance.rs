//! The storage traits' shared contract (`lookout_core::testkit::run_conformance`), run against
//! the engine with a `10s:1d` schema, both fresh and across a flush and a restart.

mod common;

use lookout_tsdb::Tsdb;

#[test]
fn tsdb_passes_the_conformance_suite() {
    let root = tempfile::tempdir().unwrap();
    let counter = std::sync::atomic::AtomicUsize::new(0);
    let cfg = common::config("10s:1d");
    lookout_core::testkit::run_conformance(|| -> Tsdb {
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        common::open(&root.path().join(n.to_string()), &cfg, common::NOW)
    });
}

#[test]
fn tsdb_passes_the_conformance_suite_with_rollup_archives() {
    let root = tempfile::tempdir().unwrap();
    let counter = std::sync::atomic::AtomicUsize::new(0);
    let cfg = lookout_tsdb::Config::default();
    lookout_core::testkit::run_conformance(|| -> Tsdb {
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        common::open(&root.path().join(n.to_string()), &cfg, common::NOW)
    });
}

/// The engine with a flush after every append, so the suite reads blocks rather than the head.
struct Flushing(Tsdb);

impl lookout_core::MetricAppender for Flushing {
    fn append(
        &self,
        points: &[lookout_core::Point],
        durability: lookout_core::Durability,
    ) -> lookout_core::Result<()> {
        self.0.append(points, durability)?;
        self.0.flush(common::NOW)?;
        Ok(())
    }

    fn delete(&self, pattern: &lookout_core::Glob) -> lookout_core::Result<u64> {
        self.0.delete(pattern)
    }
}

impl lookout_core::MetricReader for Flushing {
    fn find(
        &self,
        pattern: &lookout_core::Glob,
    ) -> lookout_core::Result<Vec<lookout_core::FindNode>> {
        self.0.find(pattern)
    }

    fn fetch(
        &self,
        names: &[String],
        range: lookout_core::TimeRange,
        now: i64,
    ) -> lookout_core::Result<Vec<lookout_core::SeriesData>> {
        self.0.fetch(names, range, now)
    }

    fn list_series(&self) -> lookout_core::Result<Vec<String>> {
        self.0.list_series()
    }

    fn stats(&self) -> lookout_core::StoreStats {
        self.0.stats()
    }
}

#[test]
fn tsdb_passes_the_conformance_suite_reading_from_blocks() {
    let root = tempfile::tempdir().unwrap();
    let counter = std::sync::atomic::AtomicUsize::new(0);
    let cfg = common::config("10s:1d");
    lookout_core::testkit::run_conformance(|| -> Flushing {
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Flushing(common::open(
            &root.path().join(n.to_string()),
            &cfg,
            common::NOW,
        ))
    });
}
