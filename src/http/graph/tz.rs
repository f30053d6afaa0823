//! The `tz` parameter of a rendered graph: which UTC offset the x axis labels use at each
//! instant. UTC, fixed offsets (`+02:00`, `-0530`) and IANA names read from the system's
//! compiled zone files (`/usr/share/zoneinfo`, TZif). Only label placement uses this; the
//! time range of a request is parsed elsewhere, in UTC as before.

use std::path::Path;

/// Where the system keeps compiled IANA zones (Debian's `tzdata`).
const ZONEINFO: &str = "/usr/share/zoneinfo";

/// Compiled zone files are a few KB; anything far larger is not one.
const MAX_ZONE_FILE: u64 = 1 << 20;

/// A time zone as far as labels need it.
#[derive(Debug, Clone, PartialEq)]
pub enum Tz {
    /// A constant offset from UTC, in seconds (UTC itself is 0).
    Fixed(i64),
    /// An IANA zone: offsets in force from each transition on, sorted by time, plus the offset
    /// before the first transition. After the last transition its offset stays (Debian's
    /// "fat" files list transitions to 2037).
    Zone {
        /// Offset before the first transition.
        initial: i64,
        /// (UTC instant, offset from then on).
        transitions: Vec<(i64, i64)>,
    },
}

impl Tz {
    /// Parses `tz`; an empty value is UTC. The error says what was wrong.
    pub fn parse(name: &str) -> Result<Tz, String> {
        let name = name.trim();
        match name {
            "" | "UTC" | "utc" | "GMT" | "Z" | "Etc/UTC" | "Etc/GMT" | "Universal" | "Zulu" => {
                return Ok(Tz::Fixed(0))
            }
            _ => {}
        }
        if let Some(offset) = parse_offset(name) {
            return Ok(Tz::Fixed(offset));
        }
        let safe = name.len() <= 64
            && !name.starts_with('/')
            && !name
                .split('/')
                .any(|p| p.is_empty() || p == "." || p == "..")
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '-' | '+'));
        let unknown = || {
            format!("tz {name:?} is not a known time zone (use an IANA name such as Europe/Berlin, UTC, or an offset such as +02:00)")
        };
        if !safe {
            return Err(unknown());
        }
        let path = Path::new(ZONEINFO).join(name);
        let meta = std::fs::metadata(&path).map_err(|_| unknown())?;
        if !meta.is_file() || meta.len() > MAX_ZONE_FILE {
            return Err(unknown());
        }
        let bytes = std::fs::read(&path).map_err(|_| unknown())?;
        parse_tzif(&bytes).ok_or_else(unknown)
    }

    /// Seconds to add to the UTC instant `t` to get local wall-clock time.
    pub fn offset_at(&self, t: i64) -> i64 {
        match self {
            Tz::Fixed(o) => *o,
            Tz::Zone {
                initial,
                transitions,
            } => {
                let i = transitions.partition_point(|(at, _)| *at <= t);
                if i == 0 {
                    *initial
                } else {
                    transitions[i - 1].1
                }
            }
        }
    }
}

/// `+HH`, `+HHMM` or `+HH:MM` (and `-`), up to 14 hours as real zones go.
fn parse_offset(s: &str) -> Option<i64> {
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if !digits.chars().all(|c| c.is_ascii_digit()) || rest.matches(':').count() > 1 {
        return None;
    }
    let (h, m) = match digits.len() {
        1 | 2 => (digits.parse::<i64>().ok()?, 0),
        4 => (
            digits[..2].parse::<i64>().ok()?,
            digits[2..].parse::<i64>().ok()?,
        ),
        _ => return None,
    };
    (h <= 14 && m < 60).then_some(sign * (h * 3600 + m * 60))
}

fn be_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Reads a TZif file (RFC 8536): the 64-bit block of version 2+ files, else the 32-bit one.
/// None if the bytes are not a well-formed zone file.
fn parse_tzif(b: &[u8]) -> Option<Tz> {
    let header = |at: usize| -> Option<[usize; 6]> {
        if b.get(at..at + 4)? != b"TZif" {
            return None;
        }
        let mut counts = [0usize; 6];
        for (i, c) in counts.iter_mut().enumerate() {
            *c = be_u32(b, at + 20 + 4 * i)? as usize;
        }
        Some(counts)
    };
    let v1 = header(0)?;
    let block_len = |c: [usize; 6], time_size: usize| {
        let [isut, isstd, leap, time, typ, chars] = c;
        time * time_size + time + typ * 6 + chars + leap * (time_size + 4) + isstd + isut
    };
    let version = *b.get(4)?;
    let (counts, data, time_size) = if version >= b'2' {
        let second = 44 + block_len(v1, 4);
        (header(second)?, second + 44, 8)
    } else {
        (v1, 44, 4)
    };
    let [_, _, _, timecnt, typecnt, _] = counts;
    if typecnt == 0 || data + block_len(counts, time_size) > b.len() {
        return None;
    }
    let idx_at = data + timecnt * time_size;
    let types_at = idx_at + timecnt;
    let offset_of = |t: usize| -> Option<i64> {
        (t < typecnt).then_some(())?;
        Some(i64::from(be_u32(b, types_at + 6 * t)? as i32))
    };
    let mut transitions = Vec::with_capacity(timecnt);
    for i in 0..timecnt {
        let at = data + i * time_size;
        let when = if time_size == 8 {
            i64::from_be_bytes(b.get(at..at + 8)?.try_into().ok()?)
        } else {
            i64::from(be_u32(b, at)? as i32)
        };
        transitions.push((when, offset_of(usize::from(*b.get(idx_at + i)?))?));
    }
    // RFC 8536: before the first transition, the first type applies.
    Some(Tz::Zone {
        initial: offset_of(0)?,
        transitions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(name: &str, want: Option<i64>) {
        assert_eq!(
            Tz::parse(name).ok().map(|t| t.offset_at(0)),
            want,
            "{name:?}"
        );
    }

    #[test]
    fn fixed_offsets_and_utc() {
        check("", Some(0));
        check("UTC", Some(0));
        check("+02:00", Some(7200));
        check("-0530", Some(-19800));
        check("+5", Some(18000));
        check("+15:00", None);
        check("+02:60", None);
        check("../../etc/passwd", None);
        check("/etc/passwd", None);
        check("Not/AZone", None);
    }

    #[test]
    fn iana_zones_follow_daylight_saving() {
        // Needs the system's tzdata, as the server does; without it the name is refused.
        let Ok(berlin) = Tz::parse("Europe/Berlin") else {
            assert!(!Path::new(ZONEINFO).join("Europe/Berlin").exists());
            return;
        };
        // 2024-01-15 and 2024-07-15, 12:00 UTC.
        assert_eq!(berlin.offset_at(1_705_320_000), 3600);
        assert_eq!(berlin.offset_at(1_721_044_800), 7200);
    }

    #[test]
    fn malformed_zone_files_are_refused() {
        assert_eq!(parse_tzif(b""), None);
        assert_eq!(parse_tzif(b"TZif2"), None);
        let mut truncated = b"TZif".to_vec();
        truncated.resize(44, 0);
        truncated[39] = 9; // claims nine types with no data behind them
        assert_eq!(parse_tzif(&truncated), None);
    }
}
