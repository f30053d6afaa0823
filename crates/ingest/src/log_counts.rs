//! [`LogCounts`], log-derived counters: a [`LogAppender`] wrapper that counts the records of
//! every successful append per (component, severity, time slot) and hands those counts out as
//! metric points (`logs.<component>.<severity>`), so "errors per minute of `webapp.backend`"
//! is an ordinary Graphite target with retentions, rollups and alerts like any other metric.
//!
//! It owns the counting, the emission of changed slots and the memory bound. It does not store
//! logs (the inner appender does), write the points (the caller of [`LogCounts::drain`] hands
//! them to a `MetricAppender`) or read the clock (`drain` takes `now`).
//!
//! Each emitted value is the slot's *cumulative* count so far, not a delta: the metrics store
//! keeps the last write per slot, so re-emitting a slot after late records simply overwrites it
//! with the right total. Slots are forgotten once they are an hour old (or an hour ahead), so a
//! record arriving more than an hour late restarts its slot's count from zero and its point is
//! overwritten with that smaller number.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use lookout_core::selfmon::{Counter, Registry};
use lookout_core::{Durability, LogAppender, LogRecord, Point, Result, Severity};

/// The finest metric step, and so the default slot width.
pub const DEFAULT_LOG_COUNT_STEP_SECS: i64 = 10;
/// Most (component, severity, slot) entries held; past it, records count under the overflow
/// component. About a thousand components at eight severities over an hour of 10 s slots is
/// already far more than a small team's services produce.
pub const MAX_LOG_COUNT_ENTRIES: usize = 100_000;
/// Slots are kept this long after their start (and at most this far ahead of now).
pub const LOG_COUNT_HORIZON_SECS: i64 = 3600;
/// Records past the entry cap are counted under `logs.<this>.<severity>`.
pub const OVERFLOW_COMPONENT: &str = "lookout_overflow";
/// Overflow entries are bounded too: one per severity for every slot of the horizon at the
/// finest step. Past this, records are only counted by the self-metric.
const MAX_OVERFLOW_ENTRIES: usize =
    8 * (LOG_COUNT_HORIZON_SECS / DEFAULT_LOG_COUNT_STEP_SECS) as usize;

/// Records that could not get their own entry because the entry cap was reached.
pub const LOG_COUNTS_OVERFLOW: &str = "lookout_ingest_log_counts_overflow_total";
const LOG_COUNTS_OVERFLOW_HELP: &str =
    "Log records counted under logs.lookout_overflow because the log-count entry cap was reached.";

const NANOS_PER_SEC: i64 = 1_000_000_000;

/// One slot's count, and whether it changed since the last drain.
#[derive(Debug, Clone, Copy)]
struct SlotCount {
    count: u64,
    dirty: bool,
}

/// Counts per component, then per (severity, slot). Nested so that a batch's borrowed
/// component names can be looked up without allocating.
#[derive(Default)]
struct Counts {
    by_component: HashMap<String, HashMap<(Severity, i64), SlotCount>>,
    /// Entries under every component but the overflow one.
    entries: usize,
    /// Entries under the overflow component.
    overflow_entries: usize,
}

impl Counts {
    /// Adds `n` records to an entry, creating it if the cap allows; returns the records that
    /// went to overflow instead.
    fn add(&mut self, component: &str, severity: Severity, slot: i64, n: u64) -> u64 {
        let key = (severity, slot);
        if let Some(slots) = self.by_component.get_mut(component) {
            if let Some(c) = slots.get_mut(&key) {
                c.count += n;
                c.dirty = true;
                return 0;
            }
        }
        if self.entries < MAX_LOG_COUNT_ENTRIES {
            self.entries += 1;
            self.insert(component, key, n);
            return 0;
        }
        let overflow_exists = self
            .by_component
            .get(OVERFLOW_COMPONENT)
            .is_some_and(|s| s.contains_key(&key));
        if overflow_exists || self.overflow_entries < MAX_OVERFLOW_ENTRIES {
            if !overflow_exists {
                self.overflow_entries += 1;
            }
            let c = self
                .by_component
                .entry(OVERFLOW_COMPONENT.to_string())
                .or_default()
                .entry(key)
                .or_insert(SlotCount {
                    count: 0,
                    dirty: true,
                });
            c.count += n;
            c.dirty = true;
        }
        n
    }

    fn insert(&mut self, component: &str, key: (Severity, i64), n: u64) {
        self.by_component
            .entry(component.to_string())
            .or_default()
            .insert(
                key,
                SlotCount {
                    count: n,
                    dirty: true,
                },
            );
    }
}

/// A [`LogAppender`] that passes every batch to the inner store and counts what it accepted.
/// Shared by all log listeners; the lock is held only to merge one batch's counts.
pub struct LogCounts {
    inner: Arc<dyn LogAppender>,
    step_secs: i64,
    counts: Mutex<Counts>,
    overflow: Counter,
}

impl LogCounts {
    /// Counts into `step_secs`-wide slots (values below 1 mean 1) in front of `inner`. The
    /// overflow self-metric lives on a private registry until [`LogCounts::with_registry`].
    pub fn new(inner: Arc<dyn LogAppender>, step_secs: i64) -> LogCounts {
        LogCounts {
            inner,
            step_secs: step_secs.max(1),
            counts: Mutex::new(Counts::default()),
            overflow: Registry::new().counter(LOG_COUNTS_OVERFLOW, LOG_COUNTS_OVERFLOW_HELP, &[]),
        }
    }

    /// Reports overflow as `lookout_ingest_log_counts_overflow_total` on `registry`.
    pub fn with_registry(mut self, registry: &Registry) -> LogCounts {
        self.overflow = registry.counter(LOG_COUNTS_OVERFLOW, LOG_COUNTS_OVERFLOW_HELP, &[]);
        self
    }

    /// Records counted under the overflow component (or dropped) so far.
    pub fn overflowed(&self) -> u64 {
        self.overflow.get()
    }

    /// One point per (component, severity, slot) changed since the last drain, value the
    /// slot's cumulative count, then forgets slots that started more than an hour before
    /// `now_secs` or more than an hour after it.
    pub fn drain(&self, now_secs: i64) -> Vec<Point> {
        let oldest = now_secs.saturating_sub(LOG_COUNT_HORIZON_SECS);
        let newest = now_secs.saturating_add(LOG_COUNT_HORIZON_SECS);
        let mut points = Vec::new();
        let mut guard = lock(&self.counts);
        let counts = &mut *guard;
        let mut removed = 0usize;
        let mut removed_overflow = 0usize;
        counts.by_component.retain(|component, slots| {
            for ((severity, slot), c) in slots.iter_mut() {
                if c.dirty {
                    c.dirty = false;
                    points.push(Point {
                        name: format!("logs.{component}.{}", severity.as_str()),
                        ts: *slot,
                        value: c.count as f64,
                    });
                }
            }
            let before = slots.len();
            slots.retain(|(_, slot), _| *slot >= oldest && *slot <= newest);
            let gone = before - slots.len();
            if component == OVERFLOW_COMPONENT {
                removed_overflow += gone;
            } else {
                removed += gone;
            }
            !slots.is_empty()
        });
        counts.entries -= removed;
        counts.overflow_entries -= removed_overflow;
        drop(guard);
        points.sort_by(|a, b| a.name.cmp(&b.name).then(a.ts.cmp(&b.ts)));
        points
    }

    fn slot(&self, ts_ns: i64) -> i64 {
        let secs = ts_ns.div_euclid(NANOS_PER_SEC);
        secs - secs.rem_euclid(self.step_secs)
    }
}

impl LogAppender for LogCounts {
    fn append(&self, records: &[LogRecord], durability: Durability) -> Result<()> {
        self.inner.append(records, durability)?;
        let mut local: foldhash::HashMap<(&str, Severity, i64), u64> = Default::default();
        for r in records {
            *local
                .entry((r.component.as_str(), r.severity, self.slot(r.ts_ns)))
                .or_insert(0) += 1;
        }
        let mut overflowed = 0;
        {
            let mut counts = lock(&self.counts);
            for ((component, severity, slot), n) in local {
                overflowed += counts.add(component, severity, slot, n);
            }
        }
        if overflowed > 0 {
            self.overflow.add(overflowed);
        }
        Ok(())
    }
}

/// Every update leaves the counts consistent (plain integer adds and inserts), so a lock
/// poisoned by a panicking thread is still safe to use.
fn lock(m: &Mutex<Counts>) -> MutexGuard<'_, Counts> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use lookout_core::testkit::MemLogStore;

    const T0: i64 = 1_795_000_000; // a multiple of 10

    fn rec(component: &str, severity: Severity, ts_secs: i64) -> LogRecord {
        LogRecord {
            ts_ns: ts_secs * NANOS_PER_SEC + 123,
            component: component.to_string(),
            host: "web01".to_string(),
            severity,
            facility: None,
            message: b"hello".to_vec(),
            fields: Vec::new(),
        }
    }

    fn point(name: &str, ts: i64, value: f64) -> Point {
        Point {
            name: name.to_string(),
            ts,
            value,
        }
    }

    fn counts() -> (Arc<MemLogStore>, LogCounts) {
        let store = Arc::new(MemLogStore::new());
        let counts = LogCounts::new(store.clone(), DEFAULT_LOG_COUNT_STEP_SECS);
        (store, counts)
    }

    #[test]
    fn records_are_stored_and_counted_per_component_severity_and_slot() {
        let (store, counts) = counts();
        let batch = [
            rec("webapp.backend.git", Severity::Error, T0 + 1),
            rec("webapp.backend.git", Severity::Error, T0 + 9),
            rec("webapp.backend.git", Severity::Error, T0 + 10),
            rec("webapp.backend.git", Severity::Info, T0 + 2),
            rec("db", Severity::Warning, T0 - 1),
        ];
        counts.append(&batch, Durability::Buffered).unwrap();
        assert_eq!(store.len(), 5, "every record reaches the inner store");
        assert_eq!(
            counts.drain(T0 + 20),
            vec![
                point("logs.db.warning", T0 - 10, 1.0),
                point("logs.webapp.backend.git.err", T0, 2.0),
                point("logs.webapp.backend.git.err", T0 + 10, 1.0),
                point("logs.webapp.backend.git.info", T0, 1.0),
            ]
        );
        assert_eq!(counts.drain(T0 + 21), vec![], "nothing changed since");
    }

    #[test]
    fn late_record_re_emits_its_slot_with_the_cumulative_count() {
        let (_, counts) = counts();
        let batch = [
            rec("api", Severity::Error, T0),
            rec("api", Severity::Error, T0 + 10),
        ];
        counts.append(&batch, Durability::Buffered).unwrap();
        counts.drain(T0 + 20);
        counts
            .append(&[rec("api", Severity::Error, T0 + 3)], Durability::Synced)
            .unwrap();
        assert_eq!(
            counts.drain(T0 + 30),
            vec![point("logs.api.err", T0, 2.0)],
            "only the changed slot, with its total"
        );
    }

    #[test]
    fn slots_older_than_an_hour_are_emitted_then_pruned() {
        let (_, counts) = counts();
        counts
            .append(&[rec("api", Severity::Error, T0)], Durability::Buffered)
            .unwrap();
        let now = T0 + LOG_COUNT_HORIZON_SECS + 100;
        assert_eq!(
            counts.drain(now),
            vec![point("logs.api.err", T0, 1.0)],
            "emitted once before being forgotten"
        );
        counts
            .append(&[rec("api", Severity::Error, T0 + 1)], Durability::Buffered)
            .unwrap();
        assert_eq!(
            counts.drain(now),
            vec![point("logs.api.err", T0, 1.0)],
            "a record more than an hour late restarts its slot's count"
        );
        assert_eq!(lock(&counts.counts).entries, 0);
    }

    #[test]
    fn entries_past_the_cap_count_under_overflow() {
        let (_, counts) = counts();
        let batch: Vec<LogRecord> = (0..MAX_LOG_COUNT_ENTRIES + 3)
            .map(|i| rec(&format!("c{i}"), Severity::Notice, T0))
            .collect();
        counts.append(&batch, Durability::Buffered).unwrap();
        assert_eq!(counts.overflowed(), 3);
        // An existing entry still counts normally.
        counts
            .append(&[rec("c0", Severity::Notice, T0)], Durability::Buffered)
            .unwrap();
        let points = counts.drain(T0);
        assert_eq!(points.len(), MAX_LOG_COUNT_ENTRIES + 1);
        assert!(points.contains(&point("logs.lookout_overflow.notice", T0, 3.0)));
        assert!(points.iter().any(|p| p.value == 2.0));
        let registry = Registry::new();
        let counts = LogCounts::new(Arc::new(MemLogStore::new()), 10).with_registry(&registry);
        counts.append(&batch, Durability::Buffered).unwrap();
        assert_eq!(
            registry
                .counter(LOG_COUNTS_OVERFLOW, LOG_COUNTS_OVERFLOW_HELP, &[])
                .get(),
            3,
            "overflow is reported on the registry"
        );
    }

    struct Refusing;

    impl LogAppender for Refusing {
        fn append(&self, _records: &[LogRecord], _durability: Durability) -> Result<()> {
            Err(lookout_core::Error::backend(std::io::Error::other(
                "disk full",
            )))
        }
    }

    #[test]
    fn failed_inner_append_is_not_counted() {
        let counts = LogCounts::new(Arc::new(Refusing), 10);
        let result = counts.append(&[rec("api", Severity::Error, T0)], Durability::Synced);
        assert!(result.is_err(), "the inner error is passed on");
        assert_eq!(counts.drain(T0), vec![]);
    }

    #[test]
    fn odd_timestamps_and_steps_never_panic() {
        let counts = LogCounts::new(Arc::new(MemLogStore::new()), 0);
        let batch = [
            LogRecord {
                ts_ns: i64::MIN,
                ..rec("a", Severity::Debug, 0)
            },
            LogRecord {
                ts_ns: i64::MAX,
                ..rec("a", Severity::Debug, 0)
            },
            rec("a", Severity::Debug, -5),
        ];
        counts.append(&batch, Durability::Buffered).unwrap();
        assert_eq!(counts.drain(i64::MIN).len(), 3);
        assert_eq!(counts.drain(i64::MAX), vec![]);
    }
}
