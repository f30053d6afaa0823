//! The "Filter Series", "Filter Data" and "Sorting" families: choosing, ordering and masking
//! series (`highestAverage`, `limit`, `exclude`, `grep`, `currentAbove`, `mostDeviant`,
//! `removeAboveValue`, `sortByMaxima`, ...).
//!
//! Ranking uses Python's stable sort with a missing key ranking lowest (graphite's `keyFunc`), so
//! ties keep the input order exactly as graphite-web does.

use std::cmp::Ordering;

use super::aggfunc::{percentile, safe_avg, safe_len, safe_max, safe_min, AggFunc};
use super::{def, py_slice, SERIES_LIST};
use crate::args::{Args, Lit, Param, ParamType as T};
use crate::error::Result;
use crate::eval::Evaluator;
use crate::pyfmt;
use crate::pyregex;
use crate::registry::FunctionDef;
use crate::series::Series;

const N_INT: Param = Param::new("n", T::Integer).req();
const N_FLOAT: Param = Param::new("n", T::Float).req();
const BY_INT: &[Param] = &[SERIES_LIST, N_INT];
const BY_FLOAT: &[Param] = &[SERIES_LIST, N_FLOAT];
const OPERATORS: &[&str] = &["!=", "<", "<=", "=", ">", ">="];

pub(crate) const DEFS: &[FunctionDef] = &[
    def(
        "filterSeries",
        "Filter Series",
        "Keeps series whose aggregate compares to a threshold (e.g. max > 1000).",
        &[
            SERIES_LIST,
            Param::new("func", T::AggFunc).req(),
            Param::new("operator", T::Str).req().opts(OPERATORS),
            Param::new("threshold", T::Float).req(),
        ],
        filter_series,
    ),
    def(
        "maximumAbove",
        "Filter Series",
        "Keeps series whose maximum is above n.",
        BY_FLOAT,
        maximum_above,
    ),
    def(
        "maximumBelow",
        "Filter Series",
        "Keeps series whose maximum is at most n.",
        BY_FLOAT,
        maximum_below,
    ),
    def(
        "minimumAbove",
        "Filter Series",
        "Keeps series whose minimum is above n.",
        BY_FLOAT,
        minimum_above,
    ),
    def(
        "minimumBelow",
        "Filter Series",
        "Keeps series whose minimum is at most n.",
        BY_FLOAT,
        minimum_below,
    ),
    def(
        "currentAbove",
        "Filter Series",
        "Keeps series whose last value is above n.",
        BY_FLOAT,
        current_above,
    ),
    def(
        "currentBelow",
        "Filter Series",
        "Keeps series whose last value is at most n.",
        BY_FLOAT,
        current_below,
    ),
    def(
        "averageAbove",
        "Filter Series",
        "Keeps series whose average is above n.",
        BY_FLOAT,
        average_above,
    ),
    def(
        "averageBelow",
        "Filter Series",
        "Keeps series whose average is at most n.",
        BY_FLOAT,
        average_below,
    ),
    def(
        "highest",
        "Filter Series",
        "The n series with the highest aggregate (average by default).",
        &[
            SERIES_LIST,
            Param::new("n", T::Integer).req(),
            Param::new("func", T::AggFunc).def(Lit::Str("average")),
        ],
        highest,
    ),
    def(
        "lowest",
        "Filter Series",
        "The n series with the lowest aggregate (average by default).",
        &[
            SERIES_LIST,
            Param::new("n", T::Integer).req(),
            Param::new("func", T::AggFunc).def(Lit::Str("average")),
        ],
        lowest,
    ),
    def(
        "highestAverage",
        "Filter Series",
        "The n series with the highest average.",
        BY_INT,
        highest_average,
    ),
    def(
        "highestCurrent",
        "Filter Series",
        "The n series with the highest last value.",
        BY_INT,
        highest_current,
    ),
    def(
        "highestMax",
        "Filter Series",
        "The n series with the highest maximum.",
        BY_INT,
        highest_max,
    ),
    def(
        "lowestAverage",
        "Filter Series",
        "The n series with the lowest average.",
        BY_INT,
        lowest_average,
    ),
    def(
        "lowestCurrent",
        "Filter Series",
        "The n series with the lowest last value.",
        BY_INT,
        lowest_current,
    ),
    def(
        "limit",
        "Filter Series",
        "The first n series.",
        BY_INT,
        limit,
    ),
    def(
        "exclude",
        "Filter Series",
        "Drops series whose name matches a regular expression.",
        &[SERIES_LIST, Param::new("pattern", T::Str).req()],
        exclude,
    ),
    def(
        "grep",
        "Filter Series",
        "Keeps series whose name matches a regular expression.",
        &[SERIES_LIST, Param::new("pattern", T::Str).req()],
        grep,
    ),
    def(
        "mostDeviant",
        "Filter Series",
        "The n series with the largest standard deviation.",
        BY_INT,
        most_deviant,
    ),
    def(
        "removeEmptySeries",
        "Filter Series",
        "Drops series without (enough) non-null values.",
        &[SERIES_LIST, Param::new("xFilesFactor", T::Float)],
        remove_empty_series,
    ),
    def(
        "unique",
        "Filter Series",
        "Drops series whose name was already seen.",
        &[Param::new("seriesLists", T::SeriesList).req().multi()],
        unique,
    ),
    def(
        "averageOutsidePercentile",
        "Filter Series",
        "Keeps series whose average lies outside the n-th percentile band of all averages.",
        BY_FLOAT,
        average_outside_percentile,
    ),
    def(
        "removeBetweenPercentile",
        "Filter Series",
        "Keeps series with at least one value outside the n-th percentile band at its time.",
        BY_FLOAT,
        remove_between_percentile,
    ),
    def(
        "removeAboveValue",
        "Filter Data",
        "Sets values above n to null.",
        BY_FLOAT,
        remove_above_value,
    ),
    def(
        "removeBelowValue",
        "Filter Data",
        "Sets values below n to null.",
        BY_FLOAT,
        remove_below_value,
    ),
    def(
        "removeAbovePercentile",
        "Filter Data",
        "Sets values above the series' n-th percentile to null.",
        BY_FLOAT,
        remove_above_percentile,
    ),
    def(
        "removeBelowPercentile",
        "Filter Data",
        "Sets values below the series' n-th percentile to null.",
        BY_FLOAT,
        remove_below_percentile,
    ),
    def(
        "sortBy",
        "Sorting",
        "Sorts series by an aggregate, ascending unless reverse.",
        &[
            SERIES_LIST,
            Param::new("func", T::AggFunc).def(Lit::Str("average")),
            Param::new("reverse", T::Boolean).def(Lit::Bool(false)),
        ],
        sort_by,
    ),
    def(
        "sortByName",
        "Sorting",
        "Sorts series by name, optionally in natural order.",
        &[
            SERIES_LIST,
            Param::new("natural", T::Boolean).def(Lit::Bool(false)),
            Param::new("reverse", T::Boolean).def(Lit::Bool(false)),
        ],
        sort_by_name,
    ),
    def(
        "sortByTotal",
        "Sorting",
        "Sorts series by their sum, largest first.",
        &[SERIES_LIST],
        sort_by_total,
    ),
    def(
        "sortByMaxima",
        "Sorting",
        "Sorts series by their maximum, largest first.",
        &[SERIES_LIST],
        sort_by_maxima,
    ),
    def(
        "sortByMinima",
        "Sorting",
        "Sorts series with a positive maximum by their minimum, smallest first.",
        &[SERIES_LIST],
        sort_by_minima,
    ),
];

/// graphite's `keyFunc`: a missing key ranks as -infinity.
fn key(v: Option<f64>) -> f64 {
    v.unwrap_or(f64::NEG_INFINITY)
}

/// Stable sort by key, ascending or descending, like Python's `sort(key=..., reverse=...)`
/// (which keeps equal keys in input order even when reversed).
fn sorted_by_key(list: Vec<Series>, reverse: bool, k: impl FnMut(&Series) -> f64) -> Vec<Series> {
    let keys: Vec<f64> = list.iter().map(k).collect();
    let mut order: Vec<usize> = (0..list.len()).collect();
    order.sort_by(|&x, &y| {
        let o = keys[x].partial_cmp(&keys[y]).unwrap_or(Ordering::Equal);
        if reverse {
            o.reverse()
        } else {
            o
        }
    });
    let mut slots: Vec<Option<Series>> = list.into_iter().map(Some).collect();
    order.into_iter().filter_map(|i| slots[i].take()).collect()
}

fn agg_func(a: &Args<'_>, name: &str) -> Result<AggFunc> {
    AggFunc::parse(name).ok_or_else(|| a.error(format!("unsupported aggregation function: {name}")))
}

/// graphite's `operatorFuncs`: `<` and `<=` let nulls through, the others do not.
fn compare(op: &str, v: Option<f64>, t: f64) -> bool {
    match (op, v) {
        ("=", Some(v)) => v == t,
        ("!=", Some(v)) => v != t,
        ("!=", None) => true,
        (">", Some(v)) => v > t,
        (">=", Some(v)) => v >= t,
        ("<", Some(v)) => v < t,
        ("<=", Some(v)) => v <= t,
        ("<" | "<=", None) => true,
        _ => false,
    }
}

fn filter(list: Vec<Series>, f: AggFunc, op: &str, threshold: f64) -> Vec<Series> {
    list.into_iter()
        .filter(|s| compare(op, f.apply(&s.values), threshold))
        .collect()
}

fn filter_series(_ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let list = a.list(0)?;
    let fname = a.str(1)?;
    let f = agg_func(&a, &fname)?;
    let op = a.str(2)?;
    let t = a.f64(3)?;
    Ok(filter(list, f, &op, t))
}

fn filter_by(mut a: Args<'_>, f: AggFunc, op: &str) -> Result<Vec<Series>> {
    let list = a.list(0)?;
    let t = a.f64(1)?;
    Ok(filter(list, f, op, t))
}

fn maximum_above(_ev: &mut Evaluator<'_>, a: Args<'_>) -> Result<Vec<Series>> {
    filter_by(a, AggFunc::Max, ">")
}
fn maximum_below(_ev: &mut Evaluator<'_>, a: Args<'_>) -> Result<Vec<Series>> {
    filter_by(a, AggFunc::Max, "<=")
}
fn minimum_above(_ev: &mut Evaluator<'_>, a: Args<'_>) -> Result<Vec<Series>> {
    filter_by(a, AggFunc::Min, ">")
}
fn minimum_below(_ev: &mut Evaluator<'_>, a: Args<'_>) -> Result<Vec<Series>> {
    filter_by(a, AggFunc::Min, "<=")
}
fn current_above(_ev: &mut Evaluator<'_>, a: Args<'_>) -> Result<Vec<Series>> {
    filter_by(a, AggFunc::Last, ">")
}
fn current_below(_ev: &mut Evaluator<'_>, a: Args<'_>) -> Result<Vec<Series>> {
    filter_by(a, AggFunc::Last, "<=")
}
fn average_above(_ev: &mut Evaluator<'_>, a: Args<'_>) -> Result<Vec<Series>> {
    filter_by(a, AggFunc::Average, ">")
}
fn average_below(_ev: &mut Evaluator<'_>, a: Args<'_>) -> Result<Vec<Series>> {
    filter_by(a, AggFunc::Average, "<=")
}

fn rank(list: Vec<Series>, n: i64, f: AggFunc, highest: bool) -> Vec<Series> {
    let mut list = sorted_by_key(list, highest, |s| key(f.apply(&s.values)));
    let r = py_slice(list.len(), None, Some(n));
    list.drain(r).collect()
}

fn highest(_ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let list = a.list(0)?;
    let n = a.opt_i64(1).unwrap_or(1);
    let fname = a.opt_str(2).unwrap_or_else(|| "average".into());
    let f = agg_func(&a, &fname)?;
    Ok(rank(list, n, f, true))
}

fn lowest(_ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let list = a.list(0)?;
    let n = a.opt_i64(1).unwrap_or(1);
    let fname = a.opt_str(2).unwrap_or_else(|| "average".into());
    let f = agg_func(&a, &fname)?;
    Ok(rank(list, n, f, false))
}

fn rank_by(mut a: Args<'_>, f: AggFunc, highest: bool) -> Result<Vec<Series>> {
    let list = a.list(0)?;
    let n = a.i64(1)?;
    Ok(rank(list, n, f, highest))
}

fn highest_average(_ev: &mut Evaluator<'_>, a: Args<'_>) -> Result<Vec<Series>> {
    rank_by(a, AggFunc::Average, true)
}
fn highest_current(_ev: &mut Evaluator<'_>, a: Args<'_>) -> Result<Vec<Series>> {
    rank_by(a, AggFunc::Last, true)
}
fn highest_max(_ev: &mut Evaluator<'_>, a: Args<'_>) -> Result<Vec<Series>> {
    rank_by(a, AggFunc::Max, true)
}
fn lowest_average(_ev: &mut Evaluator<'_>, a: Args<'_>) -> Result<Vec<Series>> {
    rank_by(a, AggFunc::Average, false)
}
fn lowest_current(_ev: &mut Evaluator<'_>, a: Args<'_>) -> Result<Vec<Series>> {
    rank_by(a, AggFunc::Last, false)
}

fn limit(_ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let mut list = a.list(0)?;
    let n = a.i64(1)?;
    let r = py_slice(list.len(), Some(0), Some(n));
    Ok(list.drain(r).collect())
}

fn exclude(_ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let list = a.list(0)?;
    let re = pyregex::compile(&a.str(1)?)?;
    Ok(list.into_iter().filter(|s| !re.is_match(&s.name)).collect())
}

fn grep(_ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let list = a.list(0)?;
    let re = pyregex::compile(&a.str(1)?)?;
    Ok(list.into_iter().filter(|s| re.is_match(&s.name)).collect())
}

fn most_deviant(_ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let list = a.list(0)?;
    let n = a.i64(1)?;
    let mut deviants: Vec<Series> = Vec::new();
    let mut sigmas = Vec::new();
    for s in list {
        let Some(mean) = safe_avg(&s.values) else {
            continue;
        };
        let square_sum: f64 = s.values.iter().flatten().map(|v| (v - mean).powi(2)).sum();
        let len = safe_len(&s.values);
        if len == 0 {
            continue;
        }
        sigmas.push(square_sum / len as f64);
        deviants.push(s);
    }
    let mut i = 0;
    let mut sorted = sorted_by_key(deviants, true, |_| {
        i += 1;
        sigmas[i - 1]
    });
    let r = py_slice(sorted.len(), None, Some(n));
    Ok(sorted.drain(r).collect())
}

fn remove_empty_series(_ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let list = a.list(0)?;
    let xff = a.f64_or(1, 0.0);
    Ok(list
        .into_iter()
        .filter(|s| {
            let known = safe_len(&s.values);
            !s.values.is_empty() && known > 0 && known as f64 / s.values.len() as f64 >= xff
        })
        .collect())
}

fn unique(_ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let mut seen = std::collections::HashSet::new();
    Ok(a.lists(0)?
        .into_iter()
        .flatten()
        .filter(|s| seen.insert(s.name.clone()))
        .collect())
}

fn average_outside_percentile(_ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let list = a.list(0)?;
    let mut n = a.f64(1)?;
    if n < 50.0 {
        n = 100.0 - n;
    }
    let averages: Vec<Option<f64>> = list.iter().map(|s| safe_avg(&s.values)).collect();
    let low = percentile(&averages, 100.0 - n, false);
    let high = percentile(&averages, n, false);
    Ok(list
        .into_iter()
        .zip(averages)
        .filter(|(_, avg)| match (low, *avg, high) {
            (Some(l), Some(v), Some(h)) => !(l < v && v < h),
            _ => true,
        })
        .map(|(s, _)| s)
        .collect())
}

fn remove_between_percentile(_ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let list = a.list(0)?;
    let mut n = a.f64(1)?;
    if n < 50.0 {
        n = 100.0 - n;
    }
    let len = list.iter().map(|s| s.values.len()).min().unwrap_or(0);
    let mut bounds = Vec::with_capacity(len);
    for i in 0..len {
        let col: Vec<Option<f64>> = list.iter().map(|s| s.values[i]).collect();
        bounds.push((
            percentile(&col, 100.0 - n, false),
            percentile(&col, n, false),
        ));
    }
    Ok(list
        .into_iter()
        .filter(|s| {
            s.values
                .iter()
                .zip(&bounds)
                .any(|(v, (lo, hi))| match (lo, v, hi) {
                    (Some(l), Some(v), Some(h)) => !(l < v && v < h),
                    _ => true,
                })
        })
        .collect())
}

fn remove_value(mut a: Args<'_>, fname: &str, above: bool) -> Result<Vec<Series>> {
    let mut list = a.list(0)?;
    let n = a.f64(1)?;
    for s in &mut list {
        s.rename(format!("{fname}({}, {})", s.name, pyfmt::g(n)));
        for v in &mut s.values {
            let drop = match *v {
                Some(x) => {
                    if above {
                        x > n
                    } else {
                        x < n
                    }
                }
                None => true,
            };
            if drop {
                *v = None;
            }
        }
    }
    Ok(list)
}

fn remove_above_value(_ev: &mut Evaluator<'_>, a: Args<'_>) -> Result<Vec<Series>> {
    remove_value(a, "removeAboveValue", true)
}
fn remove_below_value(_ev: &mut Evaluator<'_>, a: Args<'_>) -> Result<Vec<Series>> {
    remove_value(a, "removeBelowValue", false)
}

fn remove_percentile(mut a: Args<'_>, fname: &str, above: bool) -> Result<Vec<Series>> {
    let mut list = a.list(0)?;
    let n = a.f64(1)?;
    if n == 0.0 {
        return Err(a.error("the requested percent is required to be greater than 0"));
    }
    for s in &mut list {
        s.rename(format!("{fname}({}, {})", s.name, pyfmt::g(n)));
        let Some(p) = percentile(&s.values, n, false) else {
            continue;
        };
        // graphite computes this through nPercentile, whose copy shares the tag dictionary.
        s.tag("nPercentile", pyfmt::repr(n));
        for v in &mut s.values {
            let drop = match *v {
                Some(x) => {
                    if above {
                        x > p
                    } else {
                        x < p
                    }
                }
                None => !above,
            };
            if drop {
                *v = None;
            }
        }
    }
    Ok(list)
}

fn remove_above_percentile(_ev: &mut Evaluator<'_>, a: Args<'_>) -> Result<Vec<Series>> {
    remove_percentile(a, "removeAbovePercentile", true)
}
fn remove_below_percentile(_ev: &mut Evaluator<'_>, a: Args<'_>) -> Result<Vec<Series>> {
    remove_percentile(a, "removeBelowPercentile", false)
}

fn sort_by(_ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let list = a.list(0)?;
    let fname = a.opt_str(1).unwrap_or_else(|| "average".into());
    let f = agg_func(&a, &fname)?;
    let reverse = a.bool_or(2, false);
    Ok(sorted_by_key(list, reverse, |s| key(f.apply(&s.values))))
}

/// graphite's natural sort key: every run of digits zero-padded to ten places.
fn natural_key(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 16);
    let mut digits = String::new();
    let flush = |digits: &mut String, out: &mut String| {
        if !digits.is_empty() {
            let trimmed = digits.trim_start_matches('0');
            let n = if trimmed.is_empty() { "0" } else { trimmed };
            out.push_str(&format!("{n:0>10}"));
            digits.clear();
        }
    };
    for c in name.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else {
            flush(&mut digits, &mut out);
            out.push(c);
        }
    }
    flush(&mut digits, &mut out);
    out
}

fn sort_by_name(_ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let mut list = a.list(0)?;
    let natural = a.bool_or(1, false);
    let reverse = a.bool_or(2, false);
    let k = |s: &Series| {
        if natural {
            natural_key(&s.name)
        } else {
            s.name.clone()
        }
    };
    list.sort_by(|x, y| {
        let o = k(x).cmp(&k(y));
        if reverse {
            o.reverse()
        } else {
            o
        }
    });
    Ok(list)
}

fn sort_by_total(_ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let list = a.list(0)?;
    Ok(sorted_by_key(list, true, |s| {
        key(AggFunc::Sum.apply(&s.values))
    }))
}

fn sort_by_maxima(_ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let list = a.list(0)?;
    Ok(sorted_by_key(list, true, |s| key(safe_max(&s.values))))
}

fn sort_by_minima(_ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let list = a.list(0)?;
    let kept: Vec<Series> = list
        .into_iter()
        .filter(|s| safe_max(&s.values).unwrap_or(0.0) > 0.0)
        .collect();
    Ok(sorted_by_key(kept, false, |s| key(safe_min(&s.values))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_sort_pads_numbers() {
        assert_eq!(natural_key("server2"), "server0000000002");
        assert!(natural_key("server2") < natural_key("server11"));
    }

    #[test]
    fn operators_follow_graphite_null_rules() {
        assert!(compare("<", None, 1.0));
        assert!(compare("<=", None, 1.0));
        assert!(compare("!=", None, 1.0));
        assert!(!compare(">", None, 1.0));
        assert!(!compare("=", None, 1.0));
        assert!(compare(">=", Some(1.0), 1.0));
    }
}
