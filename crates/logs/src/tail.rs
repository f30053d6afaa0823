//! Live tail: the subscriber list and each subscriber's bounded queue. `publish` runs on the
//! append path and never waits: a subscriber whose queue is full is marked lagged and removed,
//! and learns it (with how many records it missed) once it has read what was queued.
//! Filtering what a tail shows is the caller's business.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use lookout_core::{Lagged, LogRecord, LogSubscription};

/// One subscriber's queue, shared by the store (producer) and the subscription (consumer).
/// A capacity of 0 lags on the first record, as in `MemLogStore`.
struct Queue {
    state: Mutex<QueueState>,
    /// Signalled when a record is queued or the subscriber is dropped for lagging.
    ready: Condvar,
    capacity: usize,
}

struct QueueState {
    records: VecDeque<Arc<LogRecord>>,
    /// Set when the queue overflowed: the subscriber reads what is queued, then `Lagged`.
    lagged: Option<u64>,
}

fn lock(m: &Mutex<QueueState>) -> MutexGuard<'_, QueueState> {
    // A poisoned queue only means a consumer panicked mid-pop; the deque is still consistent.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The store's list of live subscribers.
#[derive(Default)]
pub(crate) struct Subscribers {
    queues: Mutex<Vec<Arc<Queue>>>,
}

impl Subscribers {
    pub(crate) fn subscribe(&self, capacity: usize) -> Box<dyn LogSubscription> {
        let queue = Arc::new(Queue {
            state: Mutex::new(QueueState {
                records: VecDeque::new(),
                lagged: None,
            }),
            ready: Condvar::new(),
            capacity,
        });
        self.list().push(queue.clone());
        Box::new(Subscription { queue })
    }

    fn list(&self) -> MutexGuard<'_, Vec<Arc<Queue>>> {
        self.queues.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Hands `records` to every subscriber; drops those that are full or gone.
    pub(crate) fn publish(&self, records: &[Arc<LogRecord>]) {
        let mut list = self.list();
        if list.is_empty() {
            return;
        }
        list.retain(|q| {
            // Only the store holds it: the subscription was dropped.
            if Arc::strong_count(q) == 1 {
                return false;
            }
            let mut st = lock(&q.state);
            for (i, r) in records.iter().enumerate() {
                if st.records.len() >= q.capacity {
                    st.lagged = Some((records.len() - i) as u64);
                    drop(st);
                    q.ready.notify_all();
                    return false;
                }
                st.records.push_back(r.clone());
            }
            drop(st);
            q.ready.notify_all();
            true
        });
    }

    /// Live subscribers, for self-metrics and tests.
    pub(crate) fn len(&self) -> usize {
        self.list().len()
    }
}

struct Subscription {
    queue: Arc<Queue>,
}

impl LogSubscription for Subscription {
    fn next(&mut self, timeout: Duration) -> Result<Option<Arc<LogRecord>>, Lagged> {
        let mut st = lock(&self.queue.state);
        if st.records.is_empty() && st.lagged.is_none() && !timeout.is_zero() {
            st = self
                .queue
                .ready
                .wait_timeout_while(st, timeout, |s| s.records.is_empty() && s.lagged.is_none())
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        if let Some(r) = st.records.pop_front() {
            return Ok(Some(r));
        }
        match st.lagged {
            Some(missed) => Err(Lagged { missed }),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lookout_core::Severity;

    fn rec(i: i64) -> Arc<LogRecord> {
        Arc::new(LogRecord {
            ts_ns: i,
            component: "a".into(),
            host: String::new(),
            severity: Severity::Info,
            facility: None,
            message: Vec::new(),
            fields: Vec::new(),
        })
    }

    #[test]
    fn full_queue_is_lagged_and_dropped_without_blocking() {
        let subs = Subscribers::default();
        let mut slow = subs.subscribe(2);
        let mut fast = subs.subscribe(10);
        subs.publish(&[rec(1), rec(2), rec(3)]);
        assert_eq!(subs.len(), 1, "the slow subscriber is dropped");
        assert_eq!(slow.next(Duration::ZERO).unwrap().unwrap().ts_ns, 1);
        assert_eq!(slow.next(Duration::ZERO).unwrap().unwrap().ts_ns, 2);
        assert_eq!(slow.next(Duration::ZERO), Err(Lagged { missed: 1 }));
        for want in 1..=3 {
            assert_eq!(fast.next(Duration::ZERO).unwrap().unwrap().ts_ns, want);
        }
        assert_eq!(fast.next(Duration::ZERO), Ok(None));
        drop(fast);
        subs.publish(&[rec(4)]);
        assert_eq!(subs.len(), 0, "a dropped subscription is forgotten");
    }
}
