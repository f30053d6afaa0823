//! Calendar arithmetic for log timestamps: RFC 3339 text (RFC 5424's TIMESTAMP, NDJSON's
//! `ts`) and RFC 3164's year-less `Mmm dd hh:mm:ss`, both to unix nanoseconds. No clock and no
//! time zone database: the caller passes `now`, and 3164's local time is read as UTC.
//!
//! Choosing between formats is the parsers' business, not this file's.

const NS_PER_SEC: i64 = 1_000_000_000;
const SECS_PER_DAY: i64 = 86_400;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
/// `None` for a day that does not exist in that month.
pub(crate) fn days_from_civil(year: i64, month: u32, day: u32) -> Option<i64> {
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// The year a day count falls in (inverse of [`days_from_civil`], year only).
pub(crate) fn year_of_days(days: i64) -> i64 {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month_from_march = mp;
    let y = yoe + era * 400;
    if month_from_march >= 10 {
        y + 1
    } else {
        y
    }
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        _ => 31,
    }
}

/// Reads exactly `n` ASCII digits at `pos`.
fn digits(b: &[u8], pos: usize, n: usize) -> Option<u32> {
    let s = b.get(pos..pos + n)?;
    s.iter().try_fold(0u32, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
    })
}

fn to_ns(days: i64, secs_of_day: i64, frac_ns: i64, offset_secs: i64) -> Option<i64> {
    let secs = days
        .checked_mul(SECS_PER_DAY)?
        .checked_add(secs_of_day)?
        .checked_sub(offset_secs)?;
    secs.checked_mul(NS_PER_SEC)?.checked_add(frac_ns)
}

/// `YYYY-MM-DDThh:mm:ss[.frac](Z|±hh:mm)` to unix nanoseconds. Accepts `t`/`z` and a space
/// for `T` (RFC 3339 §5.6 allows both), and up to 9 fraction digits (RFC 5424 allows 6; more
/// only adds precision). `None` for anything else, including a missing offset.
pub(crate) fn parse_rfc3339(b: &[u8]) -> Option<i64> {
    let year = digits(b, 0, 4)?;
    let month = digits(b, 5, 2)?;
    let day = digits(b, 8, 2)?;
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    if !matches!(b.get(10), Some(b'T' | b't' | b' ')) {
        return None;
    }
    let secs_of_day = clock(b, 11)?;
    let mut pos = 19;
    let mut frac_ns = 0i64;
    if b.get(pos) == Some(&b'.') {
        pos += 1;
        let start = pos;
        while b.get(pos).is_some_and(u8::is_ascii_digit) {
            pos += 1;
        }
        let n = pos - start;
        if n == 0 || n > 9 {
            return None;
        }
        let value = digits(b, start, n)?;
        frac_ns = i64::from(value) * 10i64.pow(9 - n as u32);
    }
    let offset_secs = match b.get(pos..)? {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), rest @ ..] if rest.len() == 5 && rest[2] == b':' => {
            let h = i64::from(digits(rest, 0, 2)?);
            let m = i64::from(digits(rest, 3, 2)?);
            if h > 23 || m > 59 {
                return None;
            }
            let off = h * 3600 + m * 60;
            if *sign == b'-' {
                -off
            } else {
                off
            }
        }
        _ => return None,
    };
    let days = days_from_civil(i64::from(year), month, day)?;
    to_ns(days, secs_of_day, frac_ns, offset_secs)
}

/// `hh:mm:ss` at `pos` as seconds of the day; a leap second 60 is accepted as 59 would be
/// followed by it (RFC 3339 allows it; it is rare enough not to matter for ordering).
fn clock(b: &[u8], pos: usize) -> Option<i64> {
    let h = digits(b, pos, 2)?;
    let m = digits(b, pos + 3, 2)?;
    let s = digits(b, pos + 6, 2)?;
    if b.get(pos + 2) != Some(&b':') || b.get(pos + 5) != Some(&b':') {
        return None;
    }
    if h > 23 || m > 59 || s > 60 {
        return None;
    }
    Some(i64::from(h) * 3600 + i64::from(m) * 60 + i64::from(s.min(59)))
}

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// How far in the future a year-less timestamp may land: clocks of senders and receiver
/// disagree a little, and time zones shift local time by up to 14 h, so a day covers both
/// while a message from last December read in January still goes to last year.
const MAX_FUTURE_NS: i64 = SECS_PER_DAY * NS_PER_SEC;

/// RFC 3164's `Mmm dd hh:mm:ss` (15 bytes; the day space-padded or zero-padded) to unix
/// nanoseconds, read as UTC. The year is the one that puts the time nearest to `now_ns`
/// without being more than a day ahead of it. `None` if the text is not such a timestamp.
pub(crate) fn parse_rfc3164(b: &[u8], now_ns: i64) -> Option<i64> {
    let mon = b.get(0..3)?;
    let month = MONTHS
        .iter()
        .position(|m| m.eq_ignore_ascii_case(mon))
        .map(|i| i as u32 + 1)?;
    if b.get(3) != Some(&b' ') || b.get(6) != Some(&b' ') {
        return None;
    }
    let day = match b.get(4..6)? {
        [b' ', d] if d.is_ascii_digit() => u32::from(d - b'0'),
        _ => digits(b, 4, 2)?,
    };
    let secs_of_day = clock(b, 7)?;
    let now_year = year_of_days(now_ns.div_euclid(NS_PER_SEC * SECS_PER_DAY));
    let mut best: Option<i64> = None;
    for year in [now_year - 1, now_year, now_year + 1] {
        let Some(days) = days_from_civil(year, month, day) else {
            continue;
        };
        let Some(ts) = to_ns(days, secs_of_day, 0, 0) else {
            continue;
        };
        if ts > now_ns.saturating_add(MAX_FUTURE_NS) {
            continue;
        }
        let nearer = best.is_none_or(|b| ts.abs_diff(now_ns) < b.abs_diff(now_ns));
        if nearer {
            best = Some(ts);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check3339(text: &str, expected: Option<i64>) {
        assert_eq!(parse_rfc3339(text.as_bytes()), expected, "{text:?}");
    }

    #[test]
    fn rfc3339_timestamps_with_fractions_and_offsets() {
        check3339("1970-01-01T00:00:00Z", Some(0));
        check3339("2003-10-11T22:14:15.003Z", Some(1_065_910_455_003_000_000));
        check3339(
            "2003-08-24T05:14:15.000003-07:00",
            Some(1_061_727_255_000_003_000),
        );
        check3339(
            "2003-08-24 12:14:15.000003z",
            Some(1_061_727_255_000_003_000),
        );
        check3339(
            "2026-11-22T10:00:00.123456789+01:00",
            Some(1_795_338_000_123_456_789),
        );
        check3339("1969-12-31T23:59:59Z", Some(-NS_PER_SEC));
        check3339("2024-02-29T00:00:00Z", Some(1_709_164_800 * NS_PER_SEC));
        check3339("2023-02-29T00:00:00Z", None);
        check3339("2003-10-11T22:14:15", None);
        check3339("2003-10-11T22:14:15.Z", None);
        check3339("2003-10-11T24:14:15Z", None);
        check3339("2003-13-11T22:14:15Z", None);
        check3339("2003-10-11T22:14:15+1:00", None);
        check3339("", None);
    }

    #[track_caller]
    fn check3164(text: &str, now: &str, expected: Option<&str>) {
        let now_ns = parse_rfc3339(now.as_bytes()).unwrap();
        let want = expected.map(|e| parse_rfc3339(e.as_bytes()).unwrap());
        assert_eq!(
            parse_rfc3164(text.as_bytes(), now_ns),
            want,
            "{text:?} at {now}"
        );
    }

    #[test]
    fn rfc3164_year_is_nearest_to_now_and_never_more_than_a_day_ahead() {
        let now = "2026-11-22T12:00:00Z";
        check3164("Nov 22 10:00:00", now, Some("2026-11-22T10:00:00Z"));
        check3164("Feb  5 17:32:18", now, Some("2026-02-05T17:32:18Z"));
        check3164("Feb 05 17:32:18", now, Some("2026-02-05T17:32:18Z"));
        check3164("Nov 23 11:00:00", now, Some("2026-11-23T11:00:00Z"));
        check3164("Nov 24 11:00:00", now, Some("2025-11-24T11:00:00Z"));
        check3164(
            "Dec 31 23:59:59",
            "2027-01-01T00:10:00Z",
            Some("2026-12-31T23:59:59Z"),
        );
        check3164(
            "Jan  1 00:01:00",
            "2026-12-31T23:59:00Z",
            Some("2027-01-01T00:01:00Z"),
        );
        check3164(
            "Feb 29 00:00:00",
            "2028-03-01T00:00:00Z",
            Some("2028-02-29T00:00:00Z"),
        );
        check3164("Feb 29 00:00:00", now, None);
        check3164("Foo 22 10:00:00", now, None);
        check3164("Nov 32 10:00:00", now, None);
        check3164("Nov 22 10:00", now, None);
        check3164("Nov 22 1a:00:00", now, None);
    }
}
