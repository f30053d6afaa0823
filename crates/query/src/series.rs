//! The evaluated series (graphite-web's `TimeSeries`) and the two operations every multi-series
//! function relies on: LCM step normalisation and per-series consolidation (`__consolidatingGenerator`).
//!
//! A [`Series`] holds values on a fixed grid: value `i` is at `start + i * step`. Functions build
//! new series or rewrite these fields; the `maxDataPoints` step of the render API is
//! `consolidate.rs`'s business, not this file's.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use regex::Regex;

/// How a series is consolidated when several of its points must become one (`maxDataPoints`,
/// step normalisation): a fetched series starts with its stored rollup method, and
/// `consolidateBy()` sets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Consolidation {
    /// Mean of the non-null values (graphite's default).
    #[default]
    Average,
    /// Sum of the non-null values.
    Sum,
    /// Smallest non-null value.
    Min,
    /// Largest non-null value.
    Max,
    /// First non-null value.
    First,
    /// Last non-null value.
    Last,
    /// Mean with nulls counted as zero.
    AvgZero,
}

/// A stored series' rollup method as its default consolidation, so that a series typed by its
/// storage-aggregation rule (StatsD's `upper` by max, counts by sum, gauges by last) keeps its
/// spikes and totals under `maxDataPoints` too. graphite-web averages unless `consolidateBy()`
/// is called; for series rolled up by average the two agree.
impl From<lookout_core::Aggregation> for Consolidation {
    fn from(a: lookout_core::Aggregation) -> Consolidation {
        match a {
            lookout_core::Aggregation::Average => Consolidation::Average,
            lookout_core::Aggregation::Sum => Consolidation::Sum,
            lookout_core::Aggregation::Min => Consolidation::Min,
            lookout_core::Aggregation::Max => Consolidation::Max,
            lookout_core::Aggregation::Last => Consolidation::Last,
        }
    }
}

impl Consolidation {
    /// Parses graphite's names: `average`/`avg`, `sum`, `min`, `max`, `first`, `last`, `avg_zero`.
    pub fn parse(s: &str) -> Option<Consolidation> {
        Some(match s {
            "average" | "avg" => Consolidation::Average,
            "sum" => Consolidation::Sum,
            "min" => Consolidation::Min,
            "max" => Consolidation::Max,
            "first" => Consolidation::First,
            "last" => Consolidation::Last,
            "avg_zero" => Consolidation::AvgZero,
            _ => return None,
        })
    }

    /// graphite's canonical name.
    pub fn as_str(self) -> &'static str {
        match self {
            Consolidation::Average => "average",
            Consolidation::Sum => "sum",
            Consolidation::Min => "min",
            Consolidation::Max => "max",
            Consolidation::First => "first",
            Consolidation::Last => "last",
            Consolidation::AvgZero => "avg_zero",
        }
    }

    /// Combines one bucket's buffer (non-null values, plus zeros for nulls under `avg_zero`).
    fn apply(self, buf: &[f64]) -> f64 {
        match self {
            Consolidation::Sum => buf.iter().sum(),
            Consolidation::Average | Consolidation::AvgZero => {
                buf.iter().sum::<f64>() / buf.len() as f64
            }
            Consolidation::Max => buf.iter().copied().fold(f64::NEG_INFINITY, py_max),
            Consolidation::Min => buf.iter().copied().fold(f64::INFINITY, py_min),
            Consolidation::First => buf[0],
            Consolidation::Last => buf[buf.len() - 1],
        }
    }
}

/// Python's `max` on two floats: the first wins ties and NaN never replaces a number.
pub(crate) fn py_max(a: f64, b: f64) -> f64 {
    if b > a {
        b
    } else {
        a
    }
}

/// Python's `min` on two floats.
pub(crate) fn py_min(a: f64, b: f64) -> f64 {
    if b < a {
        b
    } else {
        a
    }
}

/// One evaluated series, graphite-web's `TimeSeries`.
///
/// Datapoint `i` is `(values[i], start + i * step)`; the series returned by
/// [`crate::evaluate`] and by [`crate::consolidate`] hold exactly the datapoints graphite-web
/// would render (no more values than timestamps in `start..=end`).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Display name (graphite's `target`), e.g. `sumSeries(a.*.b)`.
    pub name: String,
    /// Tags, `name` included, as graphite-web reports them in JSON renders.
    pub tags: BTreeMap<String, String>,
    /// The expression the series came from; combining functions build names from it.
    pub path_expression: String,
    /// Timestamp of the first value.
    pub start: i64,
    /// End of the series' time range (graphite's `end`; usually `start + len * step`).
    pub end: i64,
    /// Seconds between values.
    pub step: i64,
    /// One entry per step; `None` is null.
    pub values: Vec<Option<f64>>,
    /// How to consolidate this series when points must be merged.
    pub consolidation: Consolidation,
    /// Fraction of non-null values a consolidated bucket needs to be non-null.
    pub x_files_factor: f64,
}

impl Series {
    /// A series named `name` with tags derived from the name, as `TimeSeries(...)` does.
    pub(crate) fn new(
        name: String,
        start: i64,
        end: i64,
        step: i64,
        values: Vec<Option<f64>>,
        x_files_factor: f64,
    ) -> Series {
        Series {
            tags: tags_from_name(&name),
            path_expression: name.clone(),
            name,
            start,
            end,
            step,
            values,
            consolidation: Consolidation::Average,
            x_files_factor,
        }
    }

    /// graphite's `series.copy(name=..., values=...)`: same grid, tags and settings; the path
    /// expression becomes the new name.
    pub(crate) fn copy_with(&self, name: String, values: Vec<Option<f64>>) -> Series {
        Series {
            path_expression: name.clone(),
            name,
            tags: self.tags.clone(),
            start: self.start,
            end: self.end,
            step: self.step,
            values,
            consolidation: self.consolidation,
            x_files_factor: self.x_files_factor,
        }
    }

    /// Renames the series and makes the new name its path expression (most transforms do).
    pub(crate) fn rename(&mut self, name: String) {
        self.path_expression = name.clone();
        self.name = name;
    }

    /// Sets a tag the way graphite's `Tags.__setitem__` does (value already formatted).
    pub(crate) fn tag(&mut self, key: &str, value: impl Into<String>) {
        self.tags.insert(key.to_string(), value.into());
    }

    /// Values as seen through consolidation by `vpp` values per point, graphite's
    /// `__consolidatingGenerator` (a partial last bucket is judged against the full `vpp`).
    pub(crate) fn consolidated(&self, vpp: usize) -> Vec<Option<f64>> {
        if vpp <= 1 {
            return self.values.clone();
        }
        let mut out = Vec::with_capacity(self.values.len() / vpp + 1);
        let mut buf = Vec::with_capacity(vpp);
        let mut count = 0usize;
        let mut non_null = 0usize;
        let flush = |buf: &mut Vec<f64>, non_null: usize, out: &mut Vec<Option<f64>>| {
            let ok = non_null > 0 && non_null as f64 / vpp as f64 >= self.x_files_factor;
            out.push(ok.then(|| self.consolidation.apply(buf)));
            buf.clear();
        };
        for v in &self.values {
            count += 1;
            match v {
                Some(x) => {
                    buf.push(*x);
                    non_null += 1;
                }
                None if self.consolidation == Consolidation::AvgZero => buf.push(0.0),
                None => {}
            }
            if count == vpp {
                flush(&mut buf, non_null, &mut out);
                count = 0;
                non_null = 0;
            }
        }
        if count > 0 {
            flush(&mut buf, non_null, &mut out);
        }
        out
    }

    /// How many datapoints graphite-web renders: values paired with `range(start, end+1, step)`.
    pub(crate) fn datapoint_count(&self) -> usize {
        let slots = if self.step > 0 && self.end >= self.start {
            ((self.end - self.start) / self.step + 1) as usize
        } else {
            usize::MAX
        };
        self.values.len().min(slots)
    }
}

/// Tags of a series named `name`: `{name: name}` for function-like names, otherwise the name
/// parsed as a carbon tagged path (`a.b;k=v` gives `{name: a.b, k: v}`), falling back to
/// `{name: name}` when it does not parse. Mirrors `TimeSeries.__init__` with a tag database.
pub(crate) fn tags_from_name(name: &str) -> BTreeMap<String, String> {
    static FUNCTION_LIKE: OnceLock<Option<Regex>> = OnceLock::new();
    let plain = || BTreeMap::from([("name".to_string(), name.to_string())]);
    let looks_like_call = FUNCTION_LIKE
        .get_or_init(|| Regex::new(r"(?i)^[a-z]+[(].+[)]$").ok())
        .as_ref()
        .is_some_and(|re| re.is_match(name));
    if looks_like_call {
        return plain();
    }
    parse_carbon_tags(name).unwrap_or_else(plain)
}

fn parse_carbon_tags(name: &str) -> Option<BTreeMap<String, String>> {
    let mut parts = name.split(';');
    let metric = parts.next().filter(|m| !m.is_empty())?;
    let mut tags = BTreeMap::new();
    for segment in parts {
        let (k, v) = segment.split_once('=')?;
        if k.is_empty() || v.is_empty() || k.contains([';', '!', '^', '=']) || v.starts_with('~') {
            return None;
        }
        tags.insert(k.to_string(), v.to_string());
    }
    let sanitized = metric.trim_start_matches('~');
    if sanitized.is_empty() {
        return None;
    }
    tags.insert("name".to_string(), sanitized.to_string());
    Some(tags)
}

/// The common grid of several series after graphite's `normalize`: each series consolidated
/// to the least common multiple of the steps, `start` the earliest start and `end` the latest
/// end trimmed to a whole number of steps. Rows are zipped by index, not by timestamp, exactly as
/// graphite-web's `izip_longest` does; shorter series are padded with nulls.
pub(crate) struct Normalized {
    /// Start of the common grid.
    pub start: i64,
    /// End of the common grid.
    pub end: i64,
    /// Common step.
    pub step: i64,
    /// Each input's values after consolidation, in input order.
    pub columns: Vec<Vec<Option<f64>>>,
}

impl Normalized {
    /// Normalises `series`; `None` when there are none (graphite's `NormalizeEmptyResultError`).
    pub(crate) fn new(series: &[&Series]) -> Option<Normalized> {
        let step = series.iter().map(|s| s.step.max(1)).reduce(lcm)?;
        let start = series.iter().map(|s| s.start).min()?;
        let mut end = series.iter().map(|s| s.end).max()?;
        end -= (end - start).rem_euclid(step);
        let columns = series
            .iter()
            .map(|s| s.consolidated((step / s.step.max(1)) as usize))
            .collect();
        Some(Normalized {
            start,
            end,
            step,
            columns,
        })
    }

    /// Number of rows (the longest column).
    pub(crate) fn len(&self) -> usize {
        self.columns.iter().map(Vec::len).max().unwrap_or(0)
    }

    /// Fills `row` with the values at index `i` of every column (null past a column's end).
    pub(crate) fn row_into(&self, i: usize, row: &mut Vec<Option<f64>>) {
        row.clear();
        row.extend(self.columns.iter().map(|c| c.get(i).copied().flatten()));
    }
}

/// graphite's `lcm` over positive steps.
pub(crate) fn lcm(a: i64, b: i64) -> i64 {
    if a == b {
        return a;
    }
    let (a, b) = if a < b { (b, a) } else { (a, b) };
    (a / gcd(a, b)).saturating_mul(b)
}

fn gcd(mut a: i64, mut b: i64) -> i64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(step: i64, values: &[Option<f64>]) -> Series {
        let n = values.len() as i64;
        Series::new("s".into(), 100, 100 + n * step, step, values.to_vec(), 0.0)
    }

    #[test]
    fn consolidation_follows_graphite_generator() {
        let mut s = series(10, &[Some(1.0), None, Some(3.0), Some(5.0), None]);
        assert_eq!(s.consolidated(2), vec![Some(1.0), Some(4.0), None]);
        s.consolidation = Consolidation::Sum;
        assert_eq!(s.consolidated(2), vec![Some(1.0), Some(8.0), None]);
        s.consolidation = Consolidation::AvgZero;
        assert_eq!(s.consolidated(2), vec![Some(0.5), Some(4.0), None]);
        s.consolidation = Consolidation::Last;
        assert_eq!(s.consolidated(3), vec![Some(3.0), Some(5.0)]);
        s.consolidation = Consolidation::First;
        assert_eq!(s.consolidated(5), vec![Some(1.0)]);
        s.consolidation = Consolidation::Max;
        s.x_files_factor = 0.6;
        // Partial last bucket is judged against the full bucket size: 1/3 < 0.6.
        assert_eq!(s.consolidated(3), vec![Some(3.0), None]);
    }

    #[test]
    fn normalize_uses_lcm_and_zips_by_index() {
        let a = series(10, &[Some(1.0), Some(2.0), Some(3.0), Some(4.0)]);
        let b = series(15, &[Some(10.0), Some(20.0)]);
        let n = Normalized::new(&[&a, &b]).unwrap();
        assert_eq!(n.step, 30);
        assert_eq!((n.start, n.end), (100, 130));
        assert_eq!(n.columns[0], vec![Some(2.0), Some(4.0)]);
        assert_eq!(n.columns[1], vec![Some(15.0)]);
        let mut row = Vec::new();
        n.row_into(1, &mut row);
        assert_eq!(row, vec![Some(4.0), None]);
        assert!(Normalized::new(&[]).is_none());
        assert_eq!(lcm(60, 10), 60);
        assert_eq!(lcm(4, 6), 12);
    }

    #[test]
    fn tags_follow_the_name() {
        assert_eq!(tags_from_name("a.b")["name"], "a.b");
        let t = tags_from_name("disk.used;dc=sf;host=web01");
        assert_eq!(t["name"], "disk.used");
        assert_eq!(t["dc"], "sf");
        assert_eq!(tags_from_name("sumSeries(a;x=1)").len(), 1);
        assert_eq!(tags_from_name("a;bad")["name"], "a;bad");
    }
}
