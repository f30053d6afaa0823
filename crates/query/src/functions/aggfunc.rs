//! graphite-web's aggregation functions (`aggfuncs.py`) and its null-skipping `safe*` helpers,
//! shared by every function that reduces a row or a window of values to one number.
//!
//! Summation order follows Python's left-to-right `sum()`, so results match to the last bit.

use crate::series::{py_max, py_min};

/// An aggregation by name: `average`, `median`, `sum`, `min`, `max`, `diff`, `stddev`, `count`,
/// `range`, `multiply`, `last`, `avg_zero`, and the aliases `avg`, `total`, `current`, `rangeOf`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AggFunc {
    Average,
    AvgZero,
    Median,
    Sum,
    Min,
    Max,
    Diff,
    Stddev,
    Count,
    Range,
    Multiply,
    Last,
}

/// Every accepted name, the options graphite lists for `aggFunc` parameters.
pub(crate) const AGG_FUNC_NAMES: &[&str] = &[
    "average", "avg_zero", "median", "sum", "min", "max", "diff", "stddev", "count", "range",
    "multiply", "last", "rangeOf", "avg", "total", "current",
];

impl AggFunc {
    /// Looks a name (or alias) up.
    pub(crate) fn parse(name: &str) -> Option<AggFunc> {
        Some(match name {
            "average" | "avg" => AggFunc::Average,
            "avg_zero" => AggFunc::AvgZero,
            "median" => AggFunc::Median,
            "sum" | "total" => AggFunc::Sum,
            "min" => AggFunc::Min,
            "max" => AggFunc::Max,
            "diff" => AggFunc::Diff,
            "stddev" => AggFunc::Stddev,
            "count" => AggFunc::Count,
            "range" | "rangeOf" => AggFunc::Range,
            "multiply" => AggFunc::Multiply,
            "last" | "current" => AggFunc::Last,
            _ => return None,
        })
    }

    /// Applies the function to values that may be null, as the matching `safe*` helper does.
    pub(crate) fn apply(self, values: &[Option<f64>]) -> Option<f64> {
        match self {
            AggFunc::Average => safe_avg(values),
            AggFunc::AvgZero => {
                if values.is_empty() {
                    None
                } else {
                    Some(values.iter().map(|v| v.unwrap_or(0.0)).sum::<f64>() / values.len() as f64)
                }
            }
            AggFunc::Median => {
                let mut v: Vec<f64> = values.iter().flatten().copied().collect();
                if v.is_empty() {
                    return None;
                }
                v.sort_by(f64::total_cmp);
                let mid = v.len() / 2;
                Some(if v.len() % 2 == 0 {
                    (v[mid - 1] + v[mid]) / 2.0
                } else {
                    v[mid]
                })
            }
            AggFunc::Sum => safe_sum(values),
            AggFunc::Min => safe_min(values),
            AggFunc::Max => safe_max(values),
            AggFunc::Diff => {
                let mut it = values.iter().flatten();
                let first = *it.next()?;
                Some(it.fold(first, |acc, v| acc + -v))
            }
            AggFunc::Stddev => {
                let n = safe_len(values);
                let avg = safe_div(safe_sum(values), Some(n as f64))?;
                let sq: f64 = values.iter().flatten().map(|v| (v - avg) * (v - avg)).sum();
                Some((sq / n as f64).sqrt())
            }
            AggFunc::Count => Some(safe_len(values) as f64),
            AggFunc::Range => Some(safe_max(values)? - safe_min(values)?),
            AggFunc::Multiply => {
                let mut it = values.iter();
                let first = (*it.next()?)?;
                it.try_fold(first, |acc, v| v.map(|v| acc * v))
            }
            AggFunc::Last => safe_last(values),
        }
    }
}

/// Sum of the non-null values; `None` when there are none.
pub(crate) fn safe_sum(values: &[Option<f64>]) -> Option<f64> {
    let mut it = values.iter().flatten();
    let first = *it.next()?;
    Some(it.fold(first, |a, b| a + b))
}

/// Number of non-null values.
pub(crate) fn safe_len(values: &[Option<f64>]) -> usize {
    values.iter().flatten().count()
}

/// Mean of the non-null values.
pub(crate) fn safe_avg(values: &[Option<f64>]) -> Option<f64> {
    safe_sum(values).map(|s| s / safe_len(values) as f64)
}

/// Smallest non-null value.
pub(crate) fn safe_min(values: &[Option<f64>]) -> Option<f64> {
    values.iter().flatten().copied().reduce(py_min)
}

/// Largest non-null value.
pub(crate) fn safe_max(values: &[Option<f64>]) -> Option<f64> {
    values.iter().flatten().copied().reduce(py_max)
}

/// Last non-null value.
pub(crate) fn safe_last(values: &[Option<f64>]) -> Option<f64> {
    values.iter().rev().flatten().copied().next()
}

/// `a / b`, null when either is null or `b` is zero.
pub(crate) fn safe_div(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b != 0.0 => Some(a / b),
        _ => None,
    }
}

/// Python's `math.pow` made safe: null for null input and for domain or overflow errors.
pub(crate) fn safe_pow(a: Option<f64>, b: f64) -> Option<f64> {
    let a = a?;
    let r = a.powf(b);
    if r.is_nan() && !a.is_nan() && !b.is_nan() {
        return None;
    }
    if r.is_infinite() && a.is_finite() && b.is_finite() {
        return None;
    }
    Some(r)
}

/// graphite's `_getPercentile` (NIST method): nearest rank, or interpolated.
pub(crate) fn percentile(points: &[Option<f64>], n: f64, interpolate: bool) -> Option<f64> {
    let mut sorted: Vec<f64> = points.iter().flatten().copied().collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(f64::total_cmp);
    let fractional_rank = (n / 100.0) * (sorted.len() as f64 + 1.0);
    let mut rank = fractional_rank.trunc() as i64;
    let rank_fraction = fractional_rank - rank as f64;
    if !interpolate {
        rank += rank_fraction.ceil() as i64;
    }
    let len = sorted.len() as i64;
    let mut p = if rank <= 0 {
        sorted[0]
    } else if rank >= len {
        sorted[(len - 1) as usize]
    } else {
        sorted[(rank - 1) as usize]
    };
    if interpolate && rank != len && rank >= 0 && rank < len {
        let next = sorted[rank as usize];
        p += rank_fraction * (next - p);
    }
    Some(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROW: &[Option<f64>] = &[Some(4.0), None, Some(1.0), Some(7.0)];

    #[track_caller]
    fn check(name: &str, values: &[Option<f64>], expected: Option<f64>) {
        let f = AggFunc::parse(name).unwrap();
        assert_eq!(f.apply(values), expected, "{name}({values:?})");
    }

    #[test]
    fn aggregations_skip_nulls_like_graphite() {
        check("sum", ROW, Some(12.0));
        check("total", ROW, Some(12.0));
        check("average", ROW, Some(4.0));
        check("avg_zero", ROW, Some(3.0));
        check("median", ROW, Some(4.0));
        check("median", &[Some(1.0), Some(2.0)], Some(1.5));
        check("min", ROW, Some(1.0));
        check("max", ROW, Some(7.0));
        check("diff", ROW, Some(-4.0));
        check("stddev", &[Some(2.0), Some(4.0)], Some(1.0));
        check("count", ROW, Some(3.0));
        check("range", ROW, Some(6.0));
        check("rangeOf", ROW, Some(6.0));
        check("multiply", ROW, None);
        check("multiply", &[Some(2.0), Some(3.0)], Some(6.0));
        check("last", ROW, Some(7.0));
        check("current", &[Some(1.0), None], Some(1.0));
        check("sum", &[None, None], None);
        check("count", &[None], Some(0.0));
        assert!(AggFunc::parse("sumSeries").is_none());
    }

    #[test]
    fn percentile_follows_nist() {
        let v: Vec<Option<f64>> = (1..=10).map(|i| Some(i as f64)).collect();
        assert_eq!(percentile(&v, 50.0, false), Some(6.0));
        assert_eq!(percentile(&v, 95.0, false), Some(10.0));
        assert_eq!(percentile(&v, 50.0, true), Some(5.5));
        assert_eq!(percentile(&v, 1.0, false), Some(1.0));
        assert_eq!(percentile(&[None], 50.0, false), None);
        assert_eq!(safe_pow(Some(-1.0), 0.5), None);
        assert_eq!(safe_pow(Some(0.0), -1.0), None);
        assert_eq!(safe_pow(Some(4.0), 0.5), Some(2.0));
    }
}
