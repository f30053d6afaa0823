//! [`MemLogStore`], the in-memory reference log store: the simplest correct implementation of
//! [`LogAppender`] and [`LogReader`], against which the query layer and the HTTP routes are
//! tested and whose answers the real engine (`lookout-logs`) must reproduce.
//!
//! It owns the exact meaning of every [`LogQuery`] filter, of the cursor, of `components` and
//! of `histogram`, written as plainly as possible. It is not for production: every query scans
//! every record, nothing is persisted, durability levels are ignored, and memory grows with
//! every record appended.
//!
//! Records sit in one `Vec` sorted by (timestamp, arrival sequence). The sequence breaks ties
//! between equal timestamps and makes the cursor, the hex of the (timestamp, sequence) of the
//! last record returned, a position that later appends cannot move: a late record lands
//! either before the cursor (never shown to this reader) or after it (shown in a later page).

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock, Weak};
use std::time::{Duration, Instant};

use crate::{
    ComponentNode, Durability, Error, Glob, HistogramBucket, Lagged, LogAppender, LogOrder,
    LogPage, LogQuery, LogReader, LogRecord, LogSubscription, Result, ScanStats,
};

/// Nanoseconds per second, to turn `step_secs` into the records' time unit.
const NANOS_PER_SEC: i64 = 1_000_000_000;

/// One stored record with the arrival sequence that orders it among equal timestamps.
struct Entry {
    ts_ns: i64,
    seq: u64,
    record: Arc<LogRecord>,
}

impl Entry {
    fn key(&self) -> (i64, u64) {
        (self.ts_ns, self.seq)
    }
}

#[derive(Default)]
struct Records {
    /// Sorted by `(ts_ns, seq)`; seq only grows, so an insert goes after every equal timestamp.
    entries: Vec<Entry>,
    /// The sequence the next appended record receives.
    next_seq: u64,
}

/// In-memory log store: every record in one sorted `Vec`, every query a full scan.
#[derive(Default)]
pub struct MemLogStore {
    records: RwLock<Records>,
    /// Live tails. Weak so that a dropped subscription costs nothing and is pruned on the next
    /// append; the store never waits for one.
    subscribers: Mutex<Vec<Weak<Feed>>>,
}

impl MemLogStore {
    /// An empty store.
    pub fn new() -> MemLogStore {
        MemLogStore::default()
    }

    /// Records stored so far.
    pub fn len(&self) -> usize {
        read(&self.records).entries.len()
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Poisoning only means another test thread panicked while holding the lock; the data is a
/// plain `Vec` that every write leaves consistent, so it is still safe to use.
fn read(lock: &RwLock<Records>) -> std::sync::RwLockReadGuard<'_, Records> {
    lock.read().unwrap_or_else(|e| e.into_inner())
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl LogAppender for MemLogStore {
    /// Durability is ignored: memory is all there is.
    fn append(&self, records: &[LogRecord], _durability: Durability) -> Result<()> {
        let mut store = self.records.write().unwrap_or_else(|e| e.into_inner());
        let mut fresh = Vec::with_capacity(records.len());
        for r in records {
            let seq = store.next_seq;
            store.next_seq += 1;
            let record = Arc::new(r.clone());
            let at = store.entries.partition_point(|e| e.ts_ns <= r.ts_ns);
            store.entries.insert(
                at,
                Entry {
                    ts_ns: r.ts_ns,
                    seq,
                    record: Arc::clone(&record),
                },
            );
            fresh.push(record);
        }
        // Fed while the records lock is still held, so every subscriber sees concurrent
        // batches in the same order as the store applied them.
        let mut subs = lock(&self.subscribers);
        subs.retain(|weak| match weak.upgrade() {
            Some(feed) => feed.push(&fresh),
            None => false,
        });
        Ok(())
    }
}

impl LogReader for MemLogStore {
    /// The whole store is one block, so `blocks_read` is 1; `bytes_scanned` counts the message
    /// bytes of the records in the time range, since nothing here is compressed. A cursor is
    /// given only when another matching record exists beyond the page; `limit` 0 gives an
    /// empty page.
    fn query(&self, q: &LogQuery) -> Result<LogPage> {
        let after = q.cursor.as_deref().map(parse_cursor).transpose()?;
        let store = read(&self.records);
        let in_range: Vec<&Entry> = store
            .entries
            .iter()
            .filter(|e| e.ts_ns >= q.from_ns && e.ts_ns < q.until_ns)
            .collect();
        let bytes_scanned = in_range.iter().map(|e| e.record.message.len() as u64).sum();
        let mut matching: Vec<&Entry> = in_range
            .into_iter()
            .filter(|e| matches(q, &e.record))
            .collect();
        if q.order == LogOrder::Desc {
            matching.reverse();
        }
        // Strictly beyond the cursor in the page's direction, so the last record of the
        // previous page is not repeated.
        let beyond = |e: &&Entry| match (after, q.order) {
            (None, _) => true,
            (Some(c), LogOrder::Asc) => e.key() > c,
            (Some(c), LogOrder::Desc) => e.key() < c,
        };
        let mut candidates = matching.into_iter().filter(beyond);
        let picked: Vec<&Entry> = candidates.by_ref().take(q.limit).collect();
        let more = candidates.next().is_some();
        let next_cursor = if more {
            picked.last().map(|e| format_cursor(e.key()))
        } else {
            None
        };
        Ok(LogPage {
            records: picked.iter().map(|e| (*e.record).clone()).collect(),
            next_cursor,
            stats: ScanStats {
                blocks_read: 1,
                bytes_scanned,
            },
        })
    }

    fn components(&self, pattern: &Glob) -> Result<Vec<ComponentNode>> {
        let store = read(&self.records);
        let counts = store
            .entries
            .iter()
            .map(|e| (e.record.component.as_str(), 1));
        Ok(ComponentNode::tree(pattern, counts))
    }

    /// Bucket `k` covers `[from_ns + k·step, from_ns + (k+1)·step)` and reports its start in
    /// whole seconds (rounded down). Only buckets holding a record are returned, oldest first,
    /// so the answer stays bounded by the data however small the step; a chart fills the gaps
    /// with zeros.
    fn histogram(
        &self,
        component: &Glob,
        from_ns: i64,
        until_ns: i64,
        step_secs: i64,
    ) -> Result<Vec<HistogramBucket>> {
        if step_secs <= 0 {
            return Err(Error::InvalidQuery(format!(
                "histogram step must be positive, got {step_secs}"
            )));
        }
        let step_ns = step_secs.saturating_mul(NANOS_PER_SEC);
        let store = read(&self.records);
        let mut buckets: BTreeMap<i64, [u64; 8]> = BTreeMap::new();
        for e in &store.entries {
            if e.ts_ns < from_ns || e.ts_ns >= until_ns {
                continue;
            }
            if !component.matches_prefix_of(&e.record.component) {
                continue;
            }
            // In range, so the offset is non-negative and the start lies in [from, until),
            // which fits an i64; i128 keeps the subtraction itself from overflowing.
            let offset = (i128::from(e.ts_ns) - i128::from(from_ns)) / i128::from(step_ns);
            let start_ns = (i128::from(from_ns) + offset * i128::from(step_ns)) as i64;
            buckets.entry(start_ns).or_insert([0; 8])[e.record.severity.number() as usize] += 1;
        }
        Ok(buckets
            .into_iter()
            .map(|(start_ns, counts)| HistogramBucket {
                start: start_ns.div_euclid(NANOS_PER_SEC),
                counts,
            })
            .collect())
    }

    /// `capacity` 0 lags on the first record appended.
    fn subscribe(&self, capacity: usize) -> Box<dyn LogSubscription> {
        let feed = Arc::new(Feed {
            capacity,
            state: Mutex::new(FeedState::default()),
            ready: Condvar::new(),
        });
        lock(&self.subscribers).push(Arc::downgrade(&feed));
        Box::new(Subscription { feed })
    }
}

/// Whether a record in the query's time range passes the component and every filter.
fn matches(q: &LogQuery, r: &LogRecord) -> bool {
    q.component.matches_prefix_of(&r.component)
        && q.max_severity.is_none_or(|max| r.severity <= max)
        && q.host.as_ref().is_none_or(|h| h.matches(&r.host))
        && q.contains
            .as_ref()
            .is_none_or(|needle| contains_bytes(&r.message, needle.as_bytes()))
        && q.regex
            .as_ref()
            .is_none_or(|re| re.is_match(&r.message_lossy()))
        && q.fields
            .iter()
            .all(|(k, v)| r.fields.iter().any(|(rk, rv)| rk == k && rv == v))
}

/// Byte substring search: the message may not be UTF-8, and `contains` must still find ASCII
/// around invalid bytes. Naive on purpose; this store is about being obviously right.
fn contains_bytes(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

/// 32 lowercase hex digits: the timestamp's bits, then the sequence.
fn format_cursor((ts_ns, seq): (i64, u64)) -> String {
    format!("{:016x}{:016x}", ts_ns as u64, seq)
}

fn parse_cursor(text: &str) -> Result<(i64, u64)> {
    let bad = || Error::InvalidQuery(format!("not a cursor from this store: {:.64?}", text));
    if text.len() != 32 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad());
    }
    let ts = u64::from_str_radix(&text[..16], 16).map_err(|_| bad())?;
    let seq = u64::from_str_radix(&text[16..], 16).map_err(|_| bad())?;
    Ok((ts as i64, seq))
}

/// The store's side of one tail: a bounded queue that the appender fills and never waits on.
struct Feed {
    capacity: usize,
    state: Mutex<FeedState>,
    /// Signalled when a record is queued or the feed lags, to wake a waiting `next`.
    ready: Condvar,
}

#[derive(Default)]
struct FeedState {
    queue: VecDeque<Arc<LogRecord>>,
    /// Set once the queue overflowed; the feed then takes no more records.
    lagged: bool,
    /// Records of the overflowing batch that did not fit.
    missed: u64,
}

impl Feed {
    /// Queues a batch; returns whether the feed still wants records (false once lagged).
    fn push(&self, batch: &[Arc<LogRecord>]) -> bool {
        let mut st = lock(&self.state);
        for r in batch {
            if st.lagged || st.queue.len() >= self.capacity {
                st.lagged = true;
                st.missed += 1;
            } else {
                st.queue.push_back(Arc::clone(r));
            }
        }
        self.ready.notify_all();
        !st.lagged
    }
}

/// The subscriber's side: drains the queue, then reports the lag if there was one.
struct Subscription {
    feed: Arc<Feed>,
}

impl LogSubscription for Subscription {
    /// Records queued before an overflow are still delivered; `Lagged` comes after them and
    /// then on every later call.
    fn next(&mut self, timeout: Duration) -> std::result::Result<Option<Arc<LogRecord>>, Lagged> {
        let deadline = Instant::now().checked_add(timeout);
        let mut st = lock(&self.feed.state);
        loop {
            if let Some(r) = st.queue.pop_front() {
                return Ok(Some(r));
            }
            if st.lagged {
                return Err(Lagged { missed: st.missed });
            }
            let left = match deadline {
                Some(d) => d.saturating_duration_since(Instant::now()),
                // A timeout too large to represent: wait in long slices.
                None => Duration::from_secs(3600),
            };
            if left.is_zero() {
                return Ok(None);
            }
            st = self
                .feed
                .ready
                .wait_timeout(st, left)
                .map(|(g, _)| g)
                .unwrap_or_else(|e| e.into_inner().0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(text: &str, expected: Option<(i64, u64)>) {
        assert_eq!(parse_cursor(text).ok(), expected, "{text:?}");
    }

    #[test]
    fn cursors_round_trip_and_foreign_text_is_refused() {
        for key in [
            (0, 0),
            (-1, 7),
            (i64::MIN, u64::MAX),
            (1_700_000_000_000_000_000, 42),
        ] {
            check(&format_cursor(key), Some(key));
        }
        check("", None);
        check("zz", None);
        check("0123456789abcdef0123456789abcde", None);
        check("0123456789abcdef0123456789abcdeg", None);
        check("+123456789abcdef0123456789abcdef", None);
    }

    #[test]
    fn byte_search_handles_invalid_utf8_and_empty_needle() {
        assert!(
            contains_bytes(b"a \xff b", b"\xff b"),
            "across an invalid byte"
        );
        assert!(contains_bytes(b"abc", b""), "empty needle matches");
        assert!(
            !contains_bytes(b"ab", b"abc"),
            "needle longer than haystack"
        );
        assert!(!contains_bytes(b"Abc", b"abc"), "case-sensitive");
    }

    #[test]
    fn dropped_subscription_is_pruned_on_next_append() {
        let store = MemLogStore::new();
        drop(store.subscribe(4));
        store
            .append(&[], Durability::Buffered)
            .expect("append to memory");
        assert!(lock(&store.subscribers).is_empty(), "weak feed pruned");
    }
}
