//! The wall clock, read in one place: parsers and engines take `now` as an argument, and only
//! the listeners here and the binary ask the system for it.

use std::time::{SystemTime, UNIX_EPOCH};

/// Current unix time in whole seconds (negative if the system clock is before 1970).
pub fn now_unix() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_secs()).map_or(i64::MIN, |s| -s),
    }
}

/// Current unix time in nanoseconds, for log records that carry no time of their own (saturating
/// around the years 1677 and 2262, the range of an `i64` of nanoseconds).
pub(crate) fn now_unix_ns() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_nanos()).map_or(i64::MIN, |ns| -ns),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn now_is_after_this_code_was_written() {
        // 2023-11-14; a clock before that is broken, and points would be stamped wrongly.
        assert!(now_unix() > 1_700_000_000);
        assert!(now_unix_ns() > 1_700_000_000 * 1_000_000_000);
    }
}
