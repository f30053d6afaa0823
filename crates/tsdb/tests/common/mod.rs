//! Helpers shared by the integration tests: engines with a chosen retention in a temp dir,
//! points, and fetch shortcuts.
#![allow(dead_code)]

use std::path::Path;

use lookout_core::selfmon::Registry;
use lookout_core::{MetricReader, Point, SeriesData, TimeRange};
use lookout_tsdb::{default_aggregation_rules, Config, Retention, SchemaRule, Tsdb};
use regex::Regex;

/// A realistic "now", aligned to a day so partition boundaries are easy to reason about.
pub const NOW: i64 = 1_700_006_400;

/// A config storing every series with `retentions`, default aggregation rules.
pub fn config(retentions: &str) -> Config {
    Config {
        schemas: vec![SchemaRule {
            name: "all".into(),
            pattern: Regex::new(".*").unwrap(),
            retentions: Retention::parse_list(retentions).unwrap(),
        }],
        aggregations: default_aggregation_rules(),
        ..Config::default()
    }
}

pub fn open(dir: &Path, cfg: &Config, now: i64) -> Tsdb {
    Tsdb::open(dir, cfg.clone(), &Registry::new(), now).expect("open")
}

pub fn open_with(dir: &Path, cfg: &Config, registry: &Registry, now: i64) -> Tsdb {
    Tsdb::open(dir, cfg.clone(), registry, now).expect("open")
}

pub fn pt(name: &str, ts: i64, value: f64) -> Point {
    Point {
        name: name.to_string(),
        ts,
        value,
    }
}

pub fn fetch(db: &Tsdb, name: &str, from: i64, until: i64, now: i64) -> SeriesData {
    let mut v = db
        .fetch(&[name.to_string()], TimeRange { from, until }, now)
        .expect("fetch");
    assert_eq!(v.len(), 1, "series {name} not found");
    v.remove(0)
}

/// Values of `name` on its grid over `(from, until]`.
pub fn values(db: &Tsdb, name: &str, from: i64, until: i64, now: i64) -> Vec<Option<f64>> {
    fetch(db, name, from, until, now).values
}

/// Value of a counter or gauge in the Prometheus text of `registry`.
pub fn metric(registry: &Registry, line_prefix: &str) -> f64 {
    let text = registry.render_prometheus();
    text.lines()
        .find(|l| l.starts_with(line_prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{line_prefix} not in\n{text}"))
}
