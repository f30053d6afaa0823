//! Shared vocabulary of lookout: what a metric name, a glob, a sample, a time range and a
//! fetched series are, the traits through which ingestion writes and queries read, the named
//! input limits, and the self-monitoring counters.
//!
//! This crate holds no I/O and no storage: engines (`lookout-tsdb`) implement the traits here,
//! parsers (`lookout-proto`) produce the types here, and the query layer (`lookout-query`) reads
//! through the traits here, so each can be tested against [`testkit::MemStore`].
//!
//! Layout:
//! - `error`: the crate's `Error` and `Result`.
//! - `name`: metric names and tagged series keys (`disk.used;dc=sf`), validation and canonical form.
//! - `glob`: Graphite glob patterns (`*`, `?`, `[a-z]`, `{a,b}`) per dotted node.
//! - `series`: fetched series data on a fixed step grid, and the rollup aggregation methods.
//! - `store`: `MetricAppender`, `MetricReader`, durability levels, find results.
//! - `log`: log records, severities, `LogAppender`, `LogReader`, queries and pages.
//! - `limits`: named bounds on every network input.
//! - `selfmon`: counters, gauges and histograms exported as Prometheus text and as `lookout.*` series.
//! - `testkit` (feature `testkit`): in-memory metric and log stores and the conformance suites
//!   over the traits.
#![warn(missing_docs)]

mod error;
pub mod glob;
pub mod limits;
mod log;
mod name;
pub mod selfmon;
mod series;
mod store;
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;

pub use error::{Error, Result};
pub use glob::Glob;
pub use log::{
    ComponentNode, HistogramBucket, Lagged, LogAppender, LogOrder, LogPage, LogQuery, LogReader,
    LogRecord, LogSubscription, ScanStats, Severity,
};
pub use name::{canonical_series_name, split_tags, validate_metric_path, NameError};
pub use series::{Aggregation, SeriesData};
pub use store::{Durability, FindNode, MetricAppender, MetricReader, Point, StoreStats, TimeRange};
