//! Storage schemas with carbon's meaning: retention archives (`storage-schemas.conf`) and
//! rollup methods (`storage-aggregation.conf`), the rule lists that pick them by name, and the
//! resolved [`Schema`] a series is given when it is created and keeps for life (whisper fixes
//! both at file creation; changing the rules later affects new series only).
//!
//! This module also fixes how each archive level is cut into time partitions, because a
//! partition is the unit of retention, rollup materialisation and compaction (see `rollup`).
//! It does not store anything: the catalog persists resolved schemas.

use lookout_core::Aggregation;
use regex::Regex;

use crate::error::{Error, Result};

/// One archive: a point every `step_secs` seconds, `points` of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Retention {
    /// Seconds per point (whisper's `secondsPerPoint`).
    pub step_secs: i64,
    /// Number of points kept.
    pub points: i64,
}

impl Retention {
    /// Seconds of history the archive keeps.
    pub fn seconds(&self) -> i64 {
        self.step_secs.saturating_mul(self.points)
    }

    /// Parses carbon's `retentions` value: comma-separated `precision:history` pairs, each
    /// side a number with an optional unit (`s`, `m`/`min`, `h`, `d`, `w`, `y`, or any prefix
    /// of `seconds`…`years`, as whisper's `getUnitString`), or the legacy bare
    /// `seconds_per_point:points` form (`60:1440`). History with a unit is converted to points
    /// by whole steps. The archives are sorted by precision and validated as whisper's
    /// `validateArchiveList` does: distinct precisions, each dividing the next, retention
    /// growing, and enough points in each archive to fill one point of the next.
    pub fn parse_list(text: &str) -> Result<Vec<Retention>> {
        let err = |reason: String| Error::InvalidRetention {
            text: text.chars().take(200).collect(),
            reason,
        };
        let mut out = Vec::new();
        for def in text.split(',') {
            let def = def.trim();
            let (precision, history) = def
                .split_once(':')
                .ok_or_else(|| err(format!("{def:?} is not precision:history")))?;
            let step = parse_amount(precision.trim(), 1).map_err(&err)?;
            if step <= 0 {
                return Err(err(format!("precision {precision:?} must be positive")));
            }
            let history = history.trim();
            let points = if history.bytes().all(|b| b.is_ascii_digit()) && !history.is_empty() {
                history
                    .parse::<i64>()
                    .map_err(|_| err(format!("points {history:?} out of range")))?
            } else {
                parse_amount(history, 0).map_err(&err)? / step
            };
            if points <= 0 {
                return Err(err(format!("{def:?} keeps no point")));
            }
            out.push(Retention {
                step_secs: step,
                points,
            });
        }
        validate(&mut out).map_err(err)?;
        Ok(out)
    }
}

/// `<digits><unit>` in seconds. A bare number means `bare_unit` seconds each (1 for
/// precision), or is refused when `bare_unit` is 0 (history is parsed as points by the caller).
fn parse_amount(s: &str, bare_unit: i64) -> std::result::Result<i64, String> {
    let digits_end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(digits_end);
    let n: i64 = digits
        .parse()
        .map_err(|_| format!("{s:?} does not start with a number"))?;
    let mult = if unit.is_empty() {
        if bare_unit == 0 {
            return Err(format!("{s:?} has no unit"));
        }
        bare_unit
    } else {
        unit_seconds(unit).ok_or_else(|| format!("invalid unit {unit:?} in {s:?}"))?
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("{s:?} is out of range"))
}

/// Seconds in a unit named by any prefix of carbon's unit words, first match winning as in
/// whisper's `getUnitString` (so `m` is minutes; months are not a unit).
fn unit_seconds(unit: &str) -> Option<i64> {
    const UNITS: [(&str, i64); 6] = [
        ("seconds", 1),
        ("minutes", 60),
        ("hours", 3600),
        ("days", 86_400),
        ("weeks", 7 * 86_400),
        ("years", 365 * 86_400),
    ];
    UNITS
        .iter()
        .find(|(word, _)| word.starts_with(unit))
        .map(|(_, s)| *s)
}

fn validate(archives: &mut [Retention]) -> std::result::Result<(), String> {
    if archives.is_empty() {
        return Err("no archive".into());
    }
    archives.sort_by_key(|a| a.step_secs);
    for pair in archives.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        if a.step_secs == b.step_secs {
            return Err(format!("two archives with precision {}s", a.step_secs));
        }
        if b.step_secs % a.step_secs != 0 {
            return Err(format!(
                "precision {}s does not divide the next precision {}s",
                a.step_secs, b.step_secs
            ));
        }
        if b.seconds() <= a.seconds() {
            return Err(format!(
                "archive {}s:{} must keep more time than {}s:{}",
                b.step_secs, b.points, a.step_secs, a.points
            ));
        }
        if a.points < b.step_secs / a.step_secs {
            return Err(format!(
                "archive {}s:{} has too few points to fill one point of the next ({}s)",
                a.step_secs, a.points, b.step_secs
            ));
        }
    }
    Ok(())
}

/// A `storage-schemas.conf` section: series whose name matches `pattern` get `retentions`.
#[derive(Debug, Clone)]
pub struct SchemaRule {
    /// Section name, for messages.
    pub name: String,
    /// Matched against the canonical series name (tags included), unanchored as in carbon.
    pub pattern: Regex,
    /// Archives, finest first (as returned by [`Retention::parse_list`]).
    pub retentions: Vec<Retention>,
}

/// A `storage-aggregation.conf` section.
#[derive(Debug, Clone)]
pub struct AggregationRule {
    /// Section name, for messages.
    pub name: String,
    /// Matched against the canonical series name, unanchored.
    pub pattern: Regex,
    /// How finer points are combined into a coarser archive.
    pub method: Aggregation,
    /// Fraction of known finer points a coarser point needs (whisper's `xFilesFactor`).
    pub x_files_factor: f64,
}

/// Retention used when no schema rule matches: carbon's built-in default, one minute for a
/// week (`storage.py` `defaultArchive = Archive(60, 60 * 24 * 7)`).
pub const FALLBACK_RETENTION: Retention = Retention {
    step_secs: 60,
    points: 60 * 24 * 7,
};

/// Whisper's default rollup, used when no aggregation rule matches.
pub const FALLBACK_XFF: f64 = 0.5;

/// Default retention of [`default_schema_rules`]: 10 s for a week, 1 min for a month,
/// 10 min for two years.
pub const DEFAULT_RETENTIONS: &str = "10s:7d,1m:30d,10m:2y";

/// The default schema rules: one catch-all with [`DEFAULT_RETENTIONS`].
pub fn default_schema_rules() -> Vec<SchemaRule> {
    vec![SchemaRule {
        name: "default".into(),
        pattern: catch_all(),
        // The constant parses: covered by `default_rules_parse_and_resolve`.
        retentions: Retention::parse_list(DEFAULT_RETENTIONS)
            .unwrap_or_else(|_| vec![FALLBACK_RETENTION]),
    }]
}

/// The default aggregation rules, statsd's recommendation (anchors.md §1.4) with whisper's
/// default xFilesFactor for the catch-all: counts and sums are summed, lower bounds keep the
/// minimum, upper bounds the maximum, everything else is averaged.
pub fn default_aggregation_rules() -> Vec<AggregationRule> {
    let rule = |name: &str, pattern: &str, method, xff| AggregationRule {
        name: name.into(),
        // The patterns are constants covered by `default_rules_parse_and_resolve`.
        pattern: Regex::new(pattern).unwrap_or_else(|_| catch_all()),
        method,
        x_files_factor: xff,
    };
    vec![
        rule("count", r"\.count$", Aggregation::Sum, 0.0),
        rule("stats_counts", r"^stats_counts\.", Aggregation::Sum, 0.0),
        rule("sum", r"\.sum$", Aggregation::Sum, 0.0),
        rule("lower", r"\.lower$", Aggregation::Min, 0.1),
        rule("upper", r"\.upper(_\d+)?$", Aggregation::Max, 0.1),
        rule("default_average", ".*", Aggregation::Average, FALLBACK_XFF),
    ]
}

fn catch_all() -> Regex {
    // A literal that always compiles; `Regex::new` cannot fail on it.
    Regex::new(".*").unwrap_or_else(|e| unreachable!("catch-all regex: {e}"))
}

/// Target slots per partition: one day at 10 s. Large enough that the per-chunk header is
/// negligible (~0.003 B/point), small enough that retention frees space in day-sized steps.
pub const PARTITION_SLOTS: i64 = 8640;

/// What a series is stored with, fixed when it is created.
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    /// Archives, finest first.
    pub retentions: Vec<Retention>,
    /// Rollup method.
    pub aggregation: Aggregation,
    /// Rollup xFilesFactor.
    pub xff: f64,
    /// Partition length in seconds per archive level. Each is a multiple of the previous one
    /// and of the coarsest step, and partitions start at multiples of their length, so a
    /// partition of one level lies inside one partition of the next and a rollup bucket never
    /// straddles two partitions.
    pub partition_secs: Vec<i64>,
}

impl Schema {
    /// A schema with the standard partitioning for `retentions` (validated, finest first).
    pub fn new(retentions: Vec<Retention>, aggregation: Aggregation, xff: f64) -> Schema {
        let partition_secs = partitioning(&retentions);
        Schema {
            retentions,
            aggregation,
            xff,
            partition_secs,
        }
    }

    /// Number of archive levels.
    pub fn levels(&self) -> usize {
        self.retentions.len()
    }

    /// Step of `level`.
    pub fn step(&self, level: usize) -> i64 {
        self.retentions[level].step_secs
    }

    /// Seconds of history `level` keeps.
    pub fn keep(&self, level: usize) -> i64 {
        self.retentions[level].seconds()
    }

    /// Seconds of history the coarsest archive keeps (whisper's `maxRetention`).
    pub fn max_retention(&self) -> i64 {
        self.retentions.last().map_or(0, Retention::seconds)
    }

    /// Start of the partition of `level` holding `ts`.
    pub fn partition_of(&self, level: usize, ts: i64) -> i64 {
        let len = self.partition_secs[level];
        ts.div_euclid(len) * len
    }

    /// Slots in one partition of `level`.
    pub fn partition_slots(&self, level: usize) -> u32 {
        u32::try_from(self.partition_secs[level] / self.step(level)).unwrap_or(u32::MAX)
    }

    /// Checks a schema read from disk; `None` if it could not have been written by `new`.
    pub fn check(&self) -> Option<()> {
        let n = self.retentions.len();
        if n == 0 || self.partition_secs.len() != n || !(0.0..=1.0).contains(&self.xff) {
            return None;
        }
        // `validate` divides by steps: a damaged record's zero or negative step must be refused
        // first (found by fuzzing, docs/fuzzing.md).
        if self
            .retentions
            .iter()
            .any(|r| r.step_secs <= 0 || r.points <= 0)
        {
            return None;
        }
        let mut r = self.retentions.clone();
        validate(&mut r).ok()?;
        (r == self.retentions).then_some(())?;
        let last = self.step(n - 1);
        for (l, &p) in self.partition_secs.iter().enumerate() {
            if p <= 0 || p % last != 0 || (l > 0 && p % self.partition_secs[l - 1] != 0) {
                return None;
            }
            if p / self.step(l) > i64::from(u32::MAX) {
                return None;
            }
        }
        Some(())
    }
}

/// Partition lengths: about [`PARTITION_SLOTS`] slots per level, rounded so that each length is
/// a multiple of the coarsest step and of the previous level's length.
fn partitioning(retentions: &[Retention]) -> Vec<i64> {
    let last = retentions.last().map_or(1, |r| r.step_secs).max(1);
    let mut out: Vec<i64> = Vec::with_capacity(retentions.len());
    for r in retentions {
        let target = r.step_secs.saturating_mul(PARTITION_SLOTS);
        let len = match out.last() {
            None => ((target + last - 1) / last).max(1).saturating_mul(last),
            Some(&prev) => prev.saturating_mul((target / prev).max(1)),
        };
        out.push(len);
    }
    out
}

/// Resolves the schema of a new series: the first matching rule of each list wins, as in
/// carbon; with no match, carbon's fallbacks ([`FALLBACK_RETENTION`], average with 0.5).
pub fn resolve(name: &str, schemas: &[SchemaRule], aggregations: &[AggregationRule]) -> Schema {
    let retentions = schemas
        .iter()
        .find(|r| r.pattern.is_match(name))
        .map_or_else(|| vec![FALLBACK_RETENTION], |r| r.retentions.clone());
    let (method, xff) = aggregations
        .iter()
        .find(|r| r.pattern.is_match(name))
        .map_or((Aggregation::Average, FALLBACK_XFF), |r| {
            (r.method, r.x_files_factor)
        });
    Schema::new(retentions, method, xff)
}

/// Whisper's numeric code of an aggregation method (`aggregationTypeToMethod`), used on disk.
pub fn aggregation_code(a: Aggregation) -> u8 {
    match a {
        Aggregation::Average => 1,
        Aggregation::Sum => 2,
        Aggregation::Last => 3,
        Aggregation::Max => 4,
        Aggregation::Min => 5,
    }
}

/// Inverse of [`aggregation_code`].
pub fn aggregation_from_code(c: u8) -> Option<Aggregation> {
    Some(match c {
        1 => Aggregation::Average,
        2 => Aggregation::Sum,
        3 => Aggregation::Last,
        4 => Aggregation::Max,
        5 => Aggregation::Min,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(step_secs: i64, points: i64) -> Retention {
        Retention { step_secs, points }
    }

    #[track_caller]
    fn check(text: &str, expected: std::result::Result<Vec<Retention>, &str>) {
        match (Retention::parse_list(text), expected) {
            (Ok(got), Ok(want)) => assert_eq!(got, want, "{text}"),
            (Err(e), Err(want)) => {
                let msg = e.to_string();
                assert!(msg.contains(want), "{text}: {msg:?} lacks {want:?}");
            }
            (got, want) => panic!("{text}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn retention_lists_parse_like_carbon() {
        check(
            "10s:7d,1m:30d,10m:5y",
            Ok(vec![r(10, 60_480), r(60, 43_200), r(600, 262_800)]),
        );
        check("60:1440", Ok(vec![r(60, 1440)]));
        check("1min:1w", Ok(vec![r(60, 10_080)]));
        check(
            "10s:6h,1m:6d,10m:1800d",
            Ok(vec![r(10, 2160), r(60, 8640), r(600, 259_200)]),
        );
        check(" 1h:1y , 15m:30d ", Ok(vec![r(900, 2880), r(3600, 8760)]));
        check("1sec:1hours", Ok(vec![r(1, 3600)]));
        check("10s:25s", Ok(vec![r(10, 2)]));
        check("", Err("not precision:history"));
        check("10s", Err("not precision:history"));
        check("10x:1d", Err("invalid unit"));
        check("10s:1mon", Err("invalid unit"));
        check("s:1d", Err("does not start with a number"));
        check("0:10", Err("must be positive"));
        check("10s:5s", Err("keeps no point"));
        check("10s:1d,10s:2d", Err("two archives"));
        check("7s:1d,10s:2d", Err("does not divide"));
        check("10s:7d,1m:1d", Err("must keep more time"));
        check("10s:30s,1m:1d", Err("too few points"));
        check(
            "99999999999999999999s:1d",
            Err("does not start with a number"),
        );
    }

    #[test]
    fn default_rules_parse_and_resolve() {
        let schemas = default_schema_rules();
        assert_eq!(
            schemas[0].retentions,
            Retention::parse_list(DEFAULT_RETENTIONS).unwrap()
        );
        let aggs = default_aggregation_rules();
        let cases = [
            ("stats.web.requests.count", Aggregation::Sum, 0.0),
            ("stats_counts.web.hits", Aggregation::Sum, 0.0),
            ("a.b.sum", Aggregation::Sum, 0.0),
            ("timers.db.lower", Aggregation::Min, 0.1),
            ("timers.db.upper_90", Aggregation::Max, 0.1),
            ("timers.db.upper", Aggregation::Max, 0.1),
            ("timers.db.upper_x", Aggregation::Average, 0.5),
            ("web01.cpu", Aggregation::Average, 0.5),
        ];
        for (name, method, xff) in cases {
            let s = resolve(name, &schemas, &aggs);
            assert_eq!((s.aggregation, s.xff), (method, xff), "{name}");
            assert_eq!(s.retentions.len(), 3);
        }
        let s = resolve("x", &[], &[]);
        assert_eq!(s.retentions, vec![FALLBACK_RETENTION]);
        assert_eq!((s.aggregation, s.xff), (Aggregation::Average, 0.5));
    }

    #[test]
    fn first_matching_rule_wins() {
        let schemas = vec![
            SchemaRule {
                name: "fast".into(),
                pattern: Regex::new("^fast\\.").unwrap(),
                retentions: Retention::parse_list("1s:1h").unwrap(),
            },
            SchemaRule {
                name: "all".into(),
                pattern: Regex::new(".*").unwrap(),
                retentions: Retention::parse_list("1m:1d").unwrap(),
            },
        ];
        assert_eq!(resolve("fast.x", &schemas, &[]).retentions[0].step_secs, 1);
        assert_eq!(
            resolve("slow.fast.x", &schemas, &[]).retentions[0].step_secs,
            60
        );
    }

    #[test]
    fn partitions_nest_and_align_to_the_coarsest_step() {
        let s = Schema::new(
            Retention::parse_list(DEFAULT_RETENTIONS).unwrap(),
            Aggregation::Average,
            0.5,
        );
        assert_eq!(s.partition_secs, vec![86_400, 6 * 86_400, 60 * 86_400]);
        assert_eq!(s.partition_slots(0), 8640);
        assert!(s.check().is_some());
        let s = Schema::new(
            Retention::parse_list("1s:1d,1h:1y").unwrap(),
            Aggregation::Sum,
            0.0,
        );
        assert_eq!(
            s.partition_secs,
            vec![10_800, 3_600 * 8640 / 10_800 * 10_800]
        );
        assert!(s.check().is_some());
        assert_eq!(s.partition_of(0, 10_799), 0);
        assert_eq!(s.partition_of(0, -1), -10_800);
        for c in 1..=5 {
            assert_eq!(aggregation_code(aggregation_from_code(c).unwrap()), c);
        }
        assert_eq!(aggregation_from_code(0), None);
    }
}
