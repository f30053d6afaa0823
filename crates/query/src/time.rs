//! `from`/`until` times and interval strings, as graphite-web's `attime.py` reads them, in UTC.
//!
//! Accepted: `now`, unix seconds, relative offsets (`-1h`, `-2d`, `now-5min`, `-1h30min`, units by
//! prefix: `s`, `min`, `h`, `d`, `w`, `mon` = 30 days, `y` = 365 days; a bare `m` is an error as in
//! graphite), `HH:MM_YYYYMMDD`, `YYYYMMDD`, `MM/DD/YY[YY]`, at(1)-style words (`noon yesterday`,
//! `6pm today`, `midnight`, `teatime`, `monday`, `jan1`), and, as an addition graphite lacks,
//! RFC 3339 (`2026-11-22T10:00:00Z`, with or without a fixed offset). Time zones other than UTC
//! and fixed RFC 3339 offsets are not supported. Nothing here reads the clock: `now` is passed in.

use std::sync::OnceLock;

use regex::Regex;

use crate::error::{QueryError, Result};

const DAY: i64 = 86_400;

/// Earliest and latest instants accepted (years 1 and 9999, Python datetime's range).
const MIN_TS: i64 = -62_135_596_800;
const MAX_TS: i64 = 253_402_300_799;

/// Parses a `from`/`until` value relative to `now` (unix seconds) and returns unix seconds.
pub fn parse_time(text: &str, now: i64) -> Result<i64> {
    let err = |why: &str| QueryError::invalid(format!("invalid time {text:?}: {why}"));
    if let Some(t) = parse_rfc3339(text.trim()) {
        return t.ok_or_else(|| err("date out of range"));
    }
    let s: String = text
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| !matches!(c, '_' | ',' | ' '))
        .collect();
    if !s.is_ascii() {
        return Err(err("unexpected characters"));
    }
    if is_digits(&s) {
        let looks_like_date =
            s.len() == 8 && num(&s[..4]) > 1900 && num(&s[4..6]) < 13 && num(&s[6..]) < 32;
        if !looks_like_date {
            let t: i64 = s.parse().map_err(|_| err("number out of range"))?;
            return check_range(t).ok_or_else(|| err("out of range"));
        }
    }
    let (reference, offset) = match (s.find('+'), s.find('-')) {
        (Some(i), _) | (None, Some(i)) => (&s[..i], &s[i..]),
        (None, None) => (s.as_str(), ""),
    };
    let base = parse_reference(reference, now).map_err(|e| err(&e))?;
    let delta = parse_offset_raw(offset).map_err(|e| err(&e))?;
    base.checked_add(delta)
        .and_then(check_range)
        .ok_or_else(|| err("out of range"))
}

/// Parses an interval such as `5min`, `-1h` or `1d12h` into signed seconds, as graphite-web's
/// `parseTimeOffset`. No sign means positive.
pub(crate) fn parse_offset(text: &str) -> Result<i64> {
    parse_offset_raw(text)
        .map_err(|e| QueryError::invalid(format!("invalid interval {text:?}: {e}")))
}

fn check_range(t: i64) -> Option<i64> {
    (MIN_TS..=MAX_TS).contains(&t).then_some(t)
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Value of a short all-digit string (callers check `is_digits`).
fn num(s: &str) -> i64 {
    s.parse().unwrap_or(i64::MAX)
}

fn parse_offset_raw(offset: &str) -> std::result::Result<i64, String> {
    if offset.is_empty() {
        return Ok(0);
    }
    let (sign, mut rest) = match offset.as_bytes()[0] {
        b'+' => (1, &offset[1..]),
        b'-' => (-1, &offset[1..]),
        c if c.is_ascii_digit() => (1, offset),
        _ => return Err(format!("invalid offset {offset:?}")),
    };
    let mut total: i64 = 0;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(format!("expected a number in {offset:?}"));
        }
        let n: i64 = rest[..digits]
            .parse()
            .map_err(|_| "number out of range".to_string())?;
        rest = &rest[digits..];
        let letters = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit = &rest[..letters];
        rest = &rest[letters..];
        let seconds = unit_seconds(unit)?;
        total = n
            .checked_mul(seconds)
            .and_then(|v| total.checked_add(v))
            .filter(|v| v.abs() <= MAX_TS - MIN_TS)
            .ok_or_else(|| "offset out of range".to_string())?;
    }
    Ok(sign * total)
}

/// Seconds in one unit, matched by prefix in graphite's order (`s` before `min` before `mon`).
fn unit_seconds(unit: &str) -> std::result::Result<i64, String> {
    Ok(if unit.starts_with('s') {
        1
    } else if unit.starts_with("min") {
        60
    } else if unit.starts_with('h') {
        3600
    } else if unit.starts_with('d') {
        DAY
    } else if unit.starts_with('w') {
        7 * DAY
    } else if unit.starts_with("mon") {
        30 * DAY
    } else if unit.starts_with('y') {
        365 * DAY
    } else {
        return Err(format!("invalid offset unit {unit:?}"));
    })
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const WEEKDAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/// graphite's `parseTimeReference`: an optional time of day followed by an optional day.
fn parse_reference(reference: &str, now: i64) -> std::result::Result<i64, String> {
    if reference.is_empty() || reference == "now" {
        return Ok(now);
    }
    let int = |s: &str| -> std::result::Result<i64, String> {
        if is_digits(s) {
            Ok(num(s))
        } else {
            Err(format!("invalid number {s:?} in {reference:?}"))
        }
    };
    let mut r = reference;
    let (mut hour, mut minute) = (0i64, 0i64);
    if let Some(i) = r.find(':').filter(|&i| 0 < i && i < 3) {
        hour = int(&r[..i])?;
        let end = (i + 3).min(r.len());
        minute = int(&r[i + 1..end])?;
        r = &r[end..];
        if let Some(rest) = r.strip_prefix("am") {
            r = rest;
        } else if let Some(rest) = r.strip_prefix("pm") {
            hour = (hour + 12) % 24;
            r = rest;
        }
    }
    if let Some(i) = r.find("am").filter(|&i| 0 < i && i < 3) {
        hour = int(&r[..i])?;
        r = &r[i + 2..];
    }
    if let Some(i) = r.find("pm").filter(|&i| 0 < i && i < 3) {
        hour = (int(&r[..i])? + 12) % 24;
        r = &r[i + 2..];
    }
    if let Some(rest) = r.strip_prefix("noon") {
        (hour, minute, r) = (12, 0, rest);
    } else if let Some(rest) = r.strip_prefix("midnight") {
        (hour, minute, r) = (0, 0, rest);
    } else if let Some(rest) = r.strip_prefix("teatime") {
        (hour, minute, r) = (16, 0, rest);
    }
    if !(0..24).contains(&hour) || !(0..60).contains(&minute) {
        return Err(format!("invalid time of day in {reference:?}"));
    }
    let time_of_day = hour * 3600 + minute * 60;
    let today = now.div_euclid(DAY);
    let at = |day: i64| day * DAY + time_of_day;
    let date = |y: i64, m: i64, d: i64| -> std::result::Result<i64, String> {
        days_from_civil(y, m, d)
            .map(at)
            .ok_or_else(|| format!("invalid date in {reference:?}"))
    };
    match r {
        "" | "today" => Ok(at(today)),
        "yesterday" => Ok(at(today - 1)),
        "tomorrow" => Ok(at(today + 1)),
        _ if r.matches('/').count() == 2 => {
            let parts: Vec<&str> = r.split('/').collect();
            let (m, d, mut y) = (int(parts[0])?, int(parts[1])?, int(parts[2])?);
            if y < 1900 {
                y += 1900;
            }
            if y < 1970 {
                y += 100;
            }
            date(y, m, d)
        }
        _ if r.len() == 8 && is_digits(r) => date(num(&r[..4]), num(&r[4..6]), num(&r[6..])),
        _ if r.len() >= 3 && r.is_char_boundary(3) && MONTHS.contains(&&r[..3]) => {
            let month = MONTHS.iter().position(|m| *m == &r[..3]).unwrap_or(0) as i64 + 1;
            let tail2 = r.len().checked_sub(2).and_then(|i| r.get(i..));
            let tail1 = r.len().checked_sub(1).and_then(|i| r.get(i..));
            let day = match (tail2, tail1) {
                (Some(t), _) if is_digits(t) => num(t),
                (_, Some(t)) if is_digits(t) => num(t),
                _ => {
                    return Err(format!(
                        "day of month required after month name in {reference:?}"
                    ))
                }
            };
            let (year, _, _) = civil_from_days(today);
            date(year, month, day)
        }
        _ if r.len() >= 3 && r.is_char_boundary(3) && WEEKDAYS.contains(&&r[..3]) => {
            let wanted = WEEKDAYS.iter().position(|w| *w == &r[..3]).unwrap_or(0) as i64;
            // 1970-01-01 was a Thursday (index 4 with Sunday = 0).
            let this = (today + 4).rem_euclid(7);
            let back = (this - wanted).rem_euclid(7);
            Ok(at(today - back))
        }
        _ => Err(format!("unknown day reference {reference:?}")),
    }
}

/// RFC 3339 / ISO 8601 date-times (`2026-11-22T10:00:00Z`, `2026-11-22 10:00+02:00`) and plain
/// dates (`2026-11-22`). `None` when the text is not in that form; `Some(None)` when it is but
/// names an impossible date.
fn parse_rfc3339(text: &str) -> Option<Option<i64>> {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    let re = RE
        .get_or_init(|| {
            Regex::new(
                r"^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?(?:([Zz])|([+-])(\d{2}):?(\d{2}))?$",
            )
            .ok()
        })
        .as_ref()?;
    let c = re.captures(text)?;
    let n = |i: usize| c.get(i).map_or(0, |m| num(m.as_str()));
    let (h, mi, s) = (n(4), n(5), n(6));
    if h > 23 || mi > 59 || s > 60 {
        return Some(None);
    }
    let offset = match c.get(8) {
        Some(sign) => {
            let v = n(9) * 3600 + n(10) * 60;
            if sign.as_str() == "-" {
                -v
            } else {
                v
            }
        }
        None => 0,
    };
    Some(
        days_from_civil(n(1), n(2), n(3))
            .map(|d| d * DAY + h * 3600 + mi * 60 + s - offset)
            .and_then(check_range),
    )
}

/// Days since 1970-01-01 of a proleptic Gregorian date; `None` for impossible dates.
pub(crate) fn days_from_civil(y: i64, m: i64, d: i64) -> Option<i64> {
    if !(1..=9999).contains(&y) || !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return None;
    }
    // Shift the year to start in March so the leap day is the last day of the year.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// The date (year, month, day) of a day number since 1970-01-01.
pub(crate) fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2011-07-28 06:53:28 UTC, a Thursday.
    const NOW: i64 = 1_311_836_008;

    #[track_caller]
    fn check(text: &str, expected: i64) {
        match parse_time(text, NOW) {
            Ok(t) => assert_eq!(t, expected, "{text:?}: got {t}, want {expected}"),
            Err(e) => panic!("{text:?}: {e}"),
        }
    }

    #[track_caller]
    fn check_err(text: &str) {
        assert!(parse_time(text, NOW).is_err(), "{text:?} should fail");
    }

    fn ymd(y: i64, m: i64, d: i64) -> i64 {
        days_from_civil(y, m, d).unwrap() * DAY
    }

    #[test]
    fn graphite_time_forms() {
        // anchors.md §1.5 vectors.
        check("now", NOW);
        check("1311836008", 1_311_836_008);
        check("-8d", NOW - 8 * DAY);
        check("-7d", NOW - 7 * DAY);
        check("04:00_20110501", ymd(2011, 5, 1) + 4 * 3600);
        check("20091201", ymd(2009, 12, 1));
        // Relative units by prefix.
        check("-1h", NOW - 3600);
        check("-2d", NOW - 2 * DAY);
        check("-5min", NOW - 300);
        check("-5minutes", NOW - 300);
        check("-30s", NOW - 30);
        check("-30sec", NOW - 30);
        check("-1w", NOW - 7 * DAY);
        check("-1mon", NOW - 30 * DAY);
        check("-1month", NOW - 30 * DAY);
        check("-1y", NOW - 365 * DAY);
        check("-1h30min", NOW - 5400);
        check("now-1h", NOW - 3600);
        check("+1h", NOW + 3600);
        check(" -1H ", NOW - 3600);
        check("", NOW);
        // Absolute forms.
        check("07/01/11", ymd(2011, 7, 1));
        check("07/01/2011", ymd(2011, 7, 1));
        check("01/02/69", ymd(2069, 1, 2));
        check("12:30_20110501", ymd(2011, 5, 1) + 12 * 3600 + 1800);
        check("20110501-1d", ymd(2011, 4, 30));
        check("12345678", 12_345_678);
        check("20111301", 20_111_301);
        // at(1) words.
        check("midnight", ymd(2011, 7, 28));
        check("today", ymd(2011, 7, 28));
        check("yesterday", ymd(2011, 7, 27));
        check("tomorrow", ymd(2011, 7, 29));
        check("noon yesterday", ymd(2011, 7, 27) + 12 * 3600);
        check("noon_yesterday", ymd(2011, 7, 27) + 12 * 3600);
        check("6pm today", ymd(2011, 7, 28) + 18 * 3600);
        check("8am", ymd(2011, 7, 28) + 8 * 3600);
        check("10:30pm", ymd(2011, 7, 28) + 22 * 3600 + 1800);
        check("teatime", ymd(2011, 7, 28) + 16 * 3600);
        check("monday", ymd(2011, 7, 25));
        check("thursday", ymd(2011, 7, 28));
        check("friday", ymd(2011, 7, 22));
        check("jan1", ymd(2011, 1, 1));
        check("march15", ymd(2011, 3, 15));
        check("midnight-1d", ymd(2011, 7, 27));
        // RFC 3339.
        check("2026-11-22T10:00:00Z", ymd(2026, 11, 22) + 10 * 3600);
        check("2026-11-22T10:00:00+02:00", ymd(2026, 11, 22) + 8 * 3600);
        check(
            "2026-11-22T10:00:00.123-01:30",
            ymd(2026, 11, 22) + 11 * 3600 + 1800,
        );
        check("2026-11-22 10:00Z", ymd(2026, 11, 22) + 10 * 3600);
        check("2026-11-22", ymd(2026, 11, 22));
    }

    #[test]
    fn bad_times_are_errors() {
        check_err("-1m");
        check_err("-5");
        check_err("-h");
        check_err("soon");
        check_err("25:00_20110501");
        check_err("20110231x");
        check_err("02/30/11");
        check_err("2026-02-30T00:00:00Z");
        check_err("99999999999999999999");
        check_err("-99999999999y");
        check_err("jan");
        check_err("*1h");
    }

    #[test]
    fn intervals() {
        assert_eq!(parse_offset("5min").unwrap(), 300);
        assert_eq!(parse_offset("-1h").unwrap(), -3600);
        assert_eq!(parse_offset("1d12h").unwrap(), 129_600);
        assert_eq!(parse_offset("1hour").unwrap(), 3600);
        assert!(parse_offset("1m").is_err());
        assert!(parse_offset("x").is_err());
    }

    #[test]
    fn civil_dates_round_trip() {
        for days in [-700_000, -1, 0, 1, 11_016, 15_183, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), Some(days), "{y}-{m}-{d}");
        }
        assert_eq!(days_from_civil(2000, 2, 29), Some(11_016));
        assert_eq!(days_from_civil(1900, 2, 29), None);
    }
}
