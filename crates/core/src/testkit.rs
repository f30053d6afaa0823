//! An in-memory reference store and the conformance suite every metrics store runs.
//!
//! [`MemStore`] is the simplest correct implementation of the traits (one step, last write
//! wins per slot, no retention); the query layer tests against it, and property tests of the
//! engine compare against it. [`run_conformance`] exercises the traits' contracts; an engine
//! calls it with a factory for fresh stores whose finest archive is 10 s with at least 1 day
//! of retention.
//!
//! The log side lives in submodules: `mem_log` holds [`MemLogStore`], the reference
//! [`crate::LogAppender`] + [`crate::LogReader`], and `log_conformance` holds
//! [`run_log_conformance`], the suite every log store runs.

mod log_conformance;
mod mem_log;

pub use log_conformance::{run_log_conformance, LOG_CONFORMANCE_T0_NS};
pub use mem_log::MemLogStore;

use std::collections::BTreeMap;
use std::sync::RwLock;

use crate::{
    Aggregation, Durability, FindNode, Glob, MetricAppender, MetricReader, Point, Result,
    SeriesData, StoreStats, TimeRange,
};

/// In-memory store with a single fixed step.
pub struct MemStore {
    step: i64,
    series: RwLock<BTreeMap<String, BTreeMap<i64, f64>>>,
}

impl MemStore {
    /// A store that keeps every point at `step` resolution.
    pub fn new(step: i64) -> MemStore {
        MemStore {
            step,
            series: RwLock::new(BTreeMap::new()),
        }
    }

    /// Convenience for tests: stores `values` of `name` from `start` every `step`, skipping
    /// `None`.
    pub fn insert(&self, name: &str, start: i64, values: &[Option<f64>]) {
        let mut map = self.series.write().unwrap_or_else(|e| e.into_inner());
        let s = map.entry(name.to_string()).or_default();
        for (i, v) in values.iter().enumerate() {
            if let Some(v) = v {
                let ts = start + i as i64 * self.step;
                s.insert(ts - ts.rem_euclid(self.step), *v);
            }
        }
    }
}

impl MetricAppender for MemStore {
    fn append(&self, points: &[Point], _durability: Durability) -> Result<()> {
        let mut map = self.series.write().unwrap_or_else(|e| e.into_inner());
        for p in points {
            let slot = p.ts - p.ts.rem_euclid(self.step);
            map.entry(p.name.clone()).or_default().insert(slot, p.value);
        }
        Ok(())
    }

    fn delete(&self, pattern: &Glob) -> Result<u64> {
        let mut map = self.series.write().unwrap_or_else(|e| e.into_inner());
        let before = map.len();
        map.retain(|name, _| !pattern.matches(name.split(';').next().unwrap_or(name)));
        Ok((before - map.len()) as u64)
    }
}

impl MetricReader for MemStore {
    fn find(&self, pattern: &Glob) -> Result<Vec<FindNode>> {
        let map = self.series.read().unwrap_or_else(|e| e.into_inner());
        let depth = pattern.nodes().len();
        let mut out: BTreeMap<String, FindNode> = BTreeMap::new();
        for name in map.keys().filter(|n| !n.contains(';')) {
            let parts: Vec<&str> = name.split('.').collect();
            if parts.len() < depth {
                continue;
            }
            let prefix = parts[..depth].join(".");
            if !pattern.matches(&prefix) {
                continue;
            }
            let node = out.entry(prefix.clone()).or_insert(FindNode {
                path: prefix,
                is_leaf: false,
                has_children: false,
            });
            if parts.len() == depth {
                node.is_leaf = true;
            } else {
                node.has_children = true;
            }
        }
        Ok(out.into_values().collect())
    }

    fn fetch(&self, names: &[String], range: TimeRange, _now: i64) -> Result<Vec<SeriesData>> {
        let map = self.series.read().unwrap_or_else(|e| e.into_inner());
        let step = self.step;
        let start = range.from.div_euclid(step) * step + step;
        let end = range.until.div_euclid(step) * step + step;
        let mut out = Vec::new();
        for name in names {
            let Some(points) = map.get(name) else {
                continue;
            };
            let len = ((end - start) / step).max(0) as usize;
            let mut values = vec![None; len];
            for (ts, v) in points.range(start..end) {
                values[((ts - start) / step) as usize] = Some(*v);
            }
            out.push(SeriesData {
                name: name.clone(),
                start,
                step,
                values,
                aggregation: Aggregation::Average,
                x_files_factor: 0.5,
            });
        }
        Ok(out)
    }

    fn list_series(&self) -> Result<Vec<String>> {
        let map = self.series.read().unwrap_or_else(|e| e.into_inner());
        Ok(map.keys().cloned().collect())
    }

    fn stats(&self) -> StoreStats {
        let map = self.series.read().unwrap_or_else(|e| e.into_inner());
        StoreStats {
            series: map.len() as u64,
            disk_bytes: 0,
        }
    }
}

fn pt(name: &str, ts: i64, value: f64) -> Point {
    Point {
        name: name.to_string(),
        ts,
        value,
    }
}

fn fetch_one<S: MetricReader>(s: &S, name: &str, from: i64, until: i64, now: i64) -> SeriesData {
    let mut v = s
        .fetch(&[name.to_string()], TimeRange { from, until }, now)
        .expect("fetch");
    assert_eq!(v.len(), 1, "expected exactly one series for {name}");
    v.remove(0)
}

/// The contract of [`MetricAppender`] and [`MetricReader`], as assertions. `make` returns a
/// fresh, empty store whose finest archive is 10 s and keeps at least one day. Panics on the
/// first violation, naming it.
pub fn run_conformance<S, F>(make: F)
where
    S: MetricAppender + MetricReader,
    F: Fn() -> S,
{
    // Real wall-clock-like values so that engines applying retention relative to `now` keep them.
    let now = 1_700_000_000 - 1_700_000_000 % 3600;
    let t0 = now - 3600;

    // Points come back on the 10 s grid, whisper's range rule, nulls where nothing was written.
    let s = make();
    s.append(
        &[
            pt("a.b.c", t0 + 10, 1.0),
            pt("a.b.c", t0 + 20, 2.0),
            pt("a.b.c", t0 + 40, 4.0),
        ],
        Durability::Synced,
    )
    .expect("append");
    let d = fetch_one(&s, "a.b.c", t0, t0 + 40, now);
    assert_eq!(d.step, 10, "finest step");
    assert_eq!(d.start, t0 + 10, "grid starts one step after from");
    assert_eq!(
        d.values,
        vec![Some(1.0), Some(2.0), None, Some(4.0)],
        "values on the grid"
    );

    // Off-grid timestamps fall into their slot; the last write per slot wins, in any order.
    s.append(
        &[pt("a.b.c", t0 + 23, 20.0), pt("a.b.c", t0 + 11, 10.0)],
        Durability::Buffered,
    )
    .expect("append");
    s.append(&[pt("a.b.c", t0 + 19, 11.0)], Durability::Buffered)
        .expect("append");
    let d = fetch_one(&s, "a.b.c", t0, t0 + 40, now);
    assert_eq!(
        d.values,
        vec![Some(11.0), Some(20.0), None, Some(4.0)],
        "last write wins"
    );

    // Unknown names are left out; order follows the request.
    s.append(
        &[pt("a.b.d", t0 + 10, 7.0), pt("a.x", t0 + 10, 8.0)],
        Durability::Synced,
    )
    .expect("append");
    let names = vec!["a.x".to_string(), "nope".to_string(), "a.b.c".to_string()];
    let got = s
        .fetch(
            &names,
            TimeRange {
                from: t0,
                until: t0 + 10,
            },
            now,
        )
        .expect("fetch");
    let got_names: Vec<&str> = got.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(
        got_names,
        vec!["a.x", "a.b.c"],
        "fetch order and unknown names"
    );

    // The tree: branches and leaves at the pattern's depth, sorted.
    let nodes = s.find(&Glob::new("a.*").expect("glob")).expect("find");
    assert_eq!(
        nodes,
        vec![
            FindNode {
                path: "a.b".into(),
                is_leaf: false,
                has_children: true
            },
            FindNode {
                path: "a.x".into(),
                is_leaf: true,
                has_children: false
            },
        ],
        "find a.*"
    );
    let nodes = s
        .find(&Glob::new("a.b.{c,d}").expect("glob"))
        .expect("find");
    assert_eq!(
        nodes.iter().filter(|n| n.is_leaf).count(),
        2,
        "find with braces"
    );
    assert!(s
        .find(&Glob::new("zzz.*").expect("glob"))
        .expect("find")
        .is_empty());

    // Tagged series are stored under their canonical name, fetched by it, and kept out of the tree.
    s.append(
        &[pt("disk.used;dc=sf;host=web01", t0 + 10, 5.0)],
        Durability::Synced,
    )
    .expect("append");
    let d = fetch_one(&s, "disk.used;dc=sf;host=web01", t0, t0 + 10, now);
    assert_eq!(d.values, vec![Some(5.0)], "tagged series");
    assert!(s
        .find(&Glob::new("disk.*").expect("glob"))
        .expect("find")
        .is_empty());
    assert!(s
        .list_series()
        .expect("list")
        .contains(&"disk.used;dc=sf;host=web01".to_string()));

    // Infinite values are stored as such.
    s.append(&[pt("inf.x", t0 + 10, f64::INFINITY)], Durability::Synced)
        .expect("append");
    assert_eq!(
        fetch_one(&s, "inf.x", t0, t0 + 10, now).values,
        vec![Some(f64::INFINITY)]
    );

    // Delete removes matching series only.
    let n = s
        .delete(&Glob::new("a.b.*").expect("glob"))
        .expect("delete");
    assert_eq!(n, 2, "deleted a.b.c and a.b.d");
    let remaining = s.list_series().expect("list");
    assert!(
        !remaining.iter().any(|n| n.starts_with("a.b.")),
        "{remaining:?}"
    );
    assert!(remaining.contains(&"a.x".to_string()));
    assert_eq!(
        s.stats().series,
        remaining.len() as u64,
        "stats count series"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memstore_passes_conformance() {
        run_conformance(|| MemStore::new(10));
    }

    #[test]
    fn memlogstore_passes_log_conformance() {
        run_log_conformance(MemLogStore::new);
    }
}
