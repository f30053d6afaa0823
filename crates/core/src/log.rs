//! The log vocabulary shared by parsers, the log store and the query layer: a log record, its
//! syslog severity, and the traits through which ingestion writes logs and queries read them.
//!
//! A record lives under a dotted *component* (`webapp.backend.git`) in the same namespace as
//! metric paths, so a graph of `webapp.backend.git.*` and the logs of `webapp.backend.git` are
//! one drag apart. Queries select a component subtree (Graphite glob syntax; a pattern matches
//! a component and all its descendants) and a time range, then filter.

use std::sync::Arc;

use crate::{Durability, Glob, Result};

/// Syslog severity (RFC 5424 §6.2.1), 0 most severe. Ordering follows the number, so "warning
/// and worse" is `severity <= Severity::Warning`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Severity {
    /// 0: system is unusable.
    Emergency = 0,
    /// 1: action must be taken immediately.
    Alert = 1,
    /// 2: critical conditions.
    Critical = 2,
    /// 3: error conditions.
    Error = 3,
    /// 4: warning conditions.
    Warning = 4,
    /// 5: normal but significant.
    Notice = 5,
    /// 6: informational.
    Info = 6,
    /// 7: debug-level messages.
    Debug = 7,
}

impl Severity {
    /// Every severity, most severe first.
    pub const ALL: [Severity; 8] = [
        Severity::Emergency,
        Severity::Alert,
        Severity::Critical,
        Severity::Error,
        Severity::Warning,
        Severity::Notice,
        Severity::Info,
        Severity::Debug,
    ];

    /// From the syslog number; `None` above 7.
    pub fn from_number(n: u8) -> Option<Severity> {
        Severity::ALL.get(n as usize).copied()
    }

    /// The syslog number.
    pub fn number(self) -> u8 {
        self as u8
    }

    /// The short name syslog tools print (`emerg`, `alert`, `crit`, `err`, `warning`,
    /// `notice`, `info`, `debug`); also the node used in log-derived metric names
    /// (`logs.<component>.err`).
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Emergency => "emerg",
            Severity::Alert => "alert",
            Severity::Critical => "crit",
            Severity::Error => "err",
            Severity::Warning => "warning",
            Severity::Notice => "notice",
            Severity::Info => "info",
            Severity::Debug => "debug",
        }
    }

    /// Parses a level as senders write it: the number 0-7, or a name in any case, with the
    /// usual synonyms (`emergency`/`panic`, `critical`/`fatal`, `error`, `warn`,
    /// `informational`, `trace` as debug).
    pub fn parse(text: &str) -> Option<Severity> {
        let t = text.trim();
        if let Ok(n) = t.parse::<u8>() {
            return Severity::from_number(n);
        }
        Some(match t.to_ascii_lowercase().as_str() {
            "emerg" | "emergency" | "panic" => Severity::Emergency,
            "alert" => Severity::Alert,
            "crit" | "critical" | "fatal" => Severity::Critical,
            "err" | "error" => Severity::Error,
            "warning" | "warn" => Severity::Warning,
            "notice" => Severity::Notice,
            "info" | "informational" => Severity::Info,
            "debug" | "trace" => Severity::Debug,
            _ => return None,
        })
    }
}

/// One log line as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct LogRecord {
    /// When it happened, unix nanoseconds (the sender's time when it gave one).
    pub ts_ns: i64,
    /// Dotted component, validated like a metric path (no empty nodes, no whitespace).
    pub component: String,
    /// Originating host as the sender named it; may be empty.
    pub host: String,
    /// Syslog severity.
    pub severity: Severity,
    /// Syslog facility (0-23) when the input had one.
    pub facility: Option<u8>,
    /// The message bytes as received: invalid UTF-8 is kept and shown lossily.
    pub message: Vec<u8>,
    /// Structured data (syslog SD params, GELF `_` fields, extra JSON keys), in input order.
    pub fields: Vec<(String, String)>,
}

impl LogRecord {
    /// The message as text, invalid UTF-8 replaced by U+FFFD.
    pub fn message_lossy(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.message)
    }
}

/// Which end of the range a query starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogOrder {
    /// Oldest first.
    #[default]
    Asc,
    /// Newest first.
    Desc,
}

/// A log query: a component subtree and a time range, then optional filters.
#[derive(Debug, Clone)]
pub struct LogQuery {
    /// Components matching this glob, and all their descendants.
    pub component: Glob,
    /// Start, unix nanoseconds, inclusive.
    pub from_ns: i64,
    /// End, unix nanoseconds, exclusive.
    pub until_ns: i64,
    /// Keep records at this severity or worse (`warning` keeps emerg..warning).
    pub max_severity: Option<Severity>,
    /// Keep records whose host matches this glob (whole host, dots as node separators).
    pub host: Option<Glob>,
    /// Keep records whose message contains this (byte substring, case-sensitive).
    pub contains: Option<String>,
    /// Keep records whose message matches this regex (linear time).
    pub regex: Option<regex::Regex>,
    /// Keep records having every one of these field values exactly.
    pub fields: Vec<(String, String)>,
    /// At most this many records in the page.
    pub limit: usize,
    /// Time order of the page.
    pub order: LogOrder,
    /// Resume after the position a previous page returned (opaque to callers).
    pub cursor: Option<String>,
}

/// One page of query results.
#[derive(Debug, Clone, Default)]
pub struct LogPage {
    /// Matching records in the query's order.
    pub records: Vec<LogRecord>,
    /// Where the next page starts, if there may be more.
    pub next_cursor: Option<String>,
    /// What the scan cost.
    pub stats: ScanStats,
}

/// What a query read, reported with its results.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanStats {
    /// Blocks (or head segments) read.
    pub blocks_read: u64,
    /// Bytes of stored data scanned (compressed).
    pub bytes_scanned: u64,
}

/// A component tree node for browsing, like `/metrics/find`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentNode {
    /// Full dotted component.
    pub path: String,
    /// Records stored under exactly this component.
    pub count: u64,
    /// Records stored below it.
    pub descendants: u64,
    /// Components exist below it.
    pub has_children: bool,
}

impl ComponentNode {
    /// The nodes at `pattern`'s depth that it matches, from record counts per component
    /// (a component may come more than once), sorted by path: each node counts the records
    /// stored exactly under it and those below it. Every log store answers `components` so.
    pub fn tree<'a>(
        pattern: &Glob,
        counts: impl IntoIterator<Item = (&'a str, u64)>,
    ) -> Vec<ComponentNode> {
        let depth = pattern.nodes().len();
        let mut nodes: std::collections::BTreeMap<String, ComponentNode> =
            std::collections::BTreeMap::new();
        for (component, n) in counts {
            let parts: Vec<&str> = component.split('.').collect();
            if parts.len() < depth || n == 0 {
                continue;
            }
            let path = parts[..depth].join(".");
            if !pattern.matches(&path) {
                continue;
            }
            let node = nodes.entry(path.clone()).or_insert(ComponentNode {
                path,
                count: 0,
                descendants: 0,
                has_children: false,
            });
            if parts.len() == depth {
                node.count += n;
            } else {
                node.descendants += n;
                node.has_children = true;
            }
        }
        nodes.into_values().collect()
    }
}

/// Counts of one time bucket by severity, for volume charts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistogramBucket {
    /// Bucket start, unix seconds.
    pub start: i64,
    /// Count per severity, indexed by severity number.
    pub counts: [u64; 8],
}

/// Writes logs. Shared by listener tasks, so it takes `&self`.
pub trait LogAppender: Send + Sync {
    /// Stores a batch. Durability as for metrics: [`Durability::Synced`] returns only once the
    /// batch survives a crash; [`Durability::Buffered`] reaches disk within the store's sync
    /// interval. Late records (timestamps in the past) are stored and found like any other.
    fn append(&self, records: &[LogRecord], durability: Durability) -> Result<()>;
}

/// A live feed of new records for `tail`. The store never waits for a subscriber: when its
/// bounded queue is full the subscription is marked lagged and closed.
pub trait LogSubscription: Send {
    /// Waits up to `timeout` for the next record; `Ok(None)` on timeout.
    fn next(
        &mut self,
        timeout: std::time::Duration,
    ) -> std::result::Result<Option<Arc<LogRecord>>, Lagged>;
}

/// The subscriber fell behind and was dropped; the store kept ingesting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lagged {
    /// Records the subscriber missed before it was closed.
    pub missed: u64,
}

/// Reads logs. Queries see a consistent snapshot; background work never changes it.
pub trait LogReader: Send + Sync {
    /// One page of matching records.
    fn query(&self, q: &LogQuery) -> Result<LogPage>;
    /// Component nodes at the pattern's depth with record counts.
    fn components(&self, pattern: &Glob) -> Result<Vec<ComponentNode>>;
    /// Counts per `step_secs` bucket and severity for a component subtree.
    fn histogram(
        &self,
        component: &Glob,
        from_ns: i64,
        until_ns: i64,
        step_secs: i64,
    ) -> Result<Vec<HistogramBucket>>;
    /// A live feed of records appended from now on, queue bounded by `capacity`.
    fn subscribe(&self, capacity: usize) -> Box<dyn LogSubscription>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(text: &str, expected: Option<Severity>) {
        assert_eq!(Severity::parse(text), expected, "{text:?}");
    }

    #[test]
    fn severities_parse_as_senders_write_them() {
        check("3", Some(Severity::Error));
        check("err", Some(Severity::Error));
        check("ERROR", Some(Severity::Error));
        check("warn", Some(Severity::Warning));
        check("informational", Some(Severity::Info));
        check("fatal", Some(Severity::Critical));
        check("8", None);
        check("loud", None);
        assert!(
            Severity::Error < Severity::Warning,
            "more severe sorts first"
        );
        assert_eq!(Severity::from_number(7), Some(Severity::Debug));
        assert_eq!(Severity::Warning.as_str(), "warning");
    }
}
