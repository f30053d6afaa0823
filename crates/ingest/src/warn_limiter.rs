//! Rate limiting for warnings about bad input: at most one warning per interval per listener,
//! carrying how many refusals were not logged since the previous one. A sender that floods
//! garbage must not flood the log too. What to log is the caller's business.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// At most one warning per listener this often: often enough to see a problem start, rarely
/// enough that a flood of bad lines costs a handful of log lines per minute.
const WARN_INTERVAL: Duration = Duration::from_secs(10);

pub(crate) struct WarnLimiter {
    state: Mutex<State>,
}

struct State {
    last: Option<Instant>,
    suppressed: u64,
}

impl WarnLimiter {
    pub(crate) fn new() -> WarnLimiter {
        WarnLimiter {
            state: Mutex::new(State {
                last: None,
                suppressed: 0,
            }),
        }
    }

    /// Notes `count` new refusals. If a warning may be logged now, returns how many earlier
    /// refusals were not logged (and resets that count); otherwise adds `count` to it.
    pub(crate) fn allow(&self, count: u64) -> Option<u64> {
        self.allow_at(count, Instant::now())
    }

    fn allow_at(&self, count: u64, now: Instant) -> Option<u64> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let due = state
            .last
            .is_none_or(|last| now.saturating_duration_since(last) >= WARN_INTERVAL);
        if due {
            state.last = Some(now);
            Some(std::mem::take(&mut state.suppressed))
        } else {
            state.suppressed += count;
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_warning_per_interval_with_the_suppressed_count() {
        let limiter = WarnLimiter::new();
        let t0 = Instant::now();
        assert_eq!(limiter.allow_at(1, t0), Some(0));
        assert_eq!(limiter.allow_at(3, t0 + Duration::from_secs(1)), None);
        assert_eq!(limiter.allow_at(2, t0 + Duration::from_secs(9)), None);
        assert_eq!(limiter.allow_at(1, t0 + WARN_INTERVAL), Some(5));
        assert_eq!(limiter.allow_at(1, t0 + WARN_INTERVAL), None);
        assert_eq!(limiter.allow_at(1, t0 + 2 * WARN_INTERVAL), Some(1));
    }
}
