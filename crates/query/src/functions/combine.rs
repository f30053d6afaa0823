//! The "Combine" family: functions that merge several series point by point after LCM step
//! normalisation (`sumSeries`, `averageSeries`, `aggregate`, `divideSeries`, `asPercent`,
//! `countSeries`, `*SeriesLists`, `percentileOfSeries`, ...). Grouping by key before merging
//! (`groupByNode`, `*WithWildcards`, `mapSeries`/`reduceSeries`) is `group.rs`'s.
//!
//! Rows are zipped by index after normalisation, nulls are skipped by the `safe*` helpers and a
//! row is null unless enough of it is known (xFilesFactor), all as graphite-web computes them.

use std::collections::BTreeMap;

use super::aggfunc::{percentile, safe_div, safe_pow, safe_sum, AggFunc};
use super::{agg, agg_key, def, format_path_expressions, SERIES_LIST};
use crate::args::{Args, Lit, Param, ParamType as T, Value};
use crate::error::{QueryError, Result};
use crate::eval::Evaluator;
use crate::pyfmt;
use crate::registry::FunctionDef;
use crate::series::{Normalized, Series};

const SERIES_LISTS: Param = Param::new("seriesLists", T::SeriesList).req().multi();
const NODES: Param = Param::new("nodes", T::NodeOrTag).multi();
const FIRST: Param = Param::new("seriesListFirstPos", T::SeriesList).req();
const SECOND: Param = Param::new("seriesListSecondPos", T::SeriesList).req();

pub(crate) const DEFS: &[FunctionDef] = &[
    def("aggregate", "Combine", "Aggregates series point by point with the named function (average, median, sum, min, max, diff, stddev, count, range, multiply, last, avg_zero).", &[SERIES_LIST, Param::new("func", T::AggFunc).req(), Param::new("xFilesFactor", T::Float)], aggregate_fn),
    agg("sumSeries", "Combine", "Adds series together point by point; nulls are skipped.", &[SERIES_LISTS], sum_series),
    agg("sum", "Combine", "Short form of sumSeries.", &[SERIES_LISTS], sum_series),
    agg("averageSeries", "Combine", "Average of the series at each point; nulls are skipped.", &[SERIES_LISTS], average_series),
    agg("avg", "Combine", "Short form of averageSeries.", &[SERIES_LISTS], average_series),
    agg("minSeries", "Combine", "Smallest value of the series at each point.", &[SERIES_LISTS], min_series),
    agg("maxSeries", "Combine", "Largest value of the series at each point.", &[SERIES_LISTS], max_series),
    agg("diffSeries", "Combine", "Subtracts the second and following series from the first, point by point.", &[SERIES_LISTS], diff_series),
    agg("stddevSeries", "Combine", "Standard deviation of the series at each point.", &[SERIES_LISTS], stddev_series),
    agg("rangeOfSeries", "Combine", "Difference between the largest and smallest value at each point.", &[SERIES_LISTS], range_series),
    agg("multiplySeries", "Combine", "Multiplies series point by point; a null factor gives null.", &[SERIES_LISTS], multiply_series),
    agg("countSeries", "Combine", "Number of series in the list, as a line.", &[Param::new("seriesLists", T::SeriesList).multi()], count_series),
    def("group", "Combine", "Joins several series lists into one.", &[Param::new("seriesLists", T::SeriesList).multi()], group),
    def("divideSeries", "Combine", "Divides each series by a single divisor series; division by zero or null gives null.", &[Param::new("dividendSeriesList", T::SeriesList).req(), Param::new("divisorSeries", T::SeriesList).req()], divide_series),
    def("divideSeriesLists", "Combine", "Divides the n-th series of the first list by the n-th of the second.", &[Param::new("dividendSeriesList", T::SeriesList).req(), Param::new("divisorSeriesList", T::SeriesList).req()], divide_series_lists),
    agg("asPercent", "Combine", "Each series as a percentage of a total: the sum of the list, a single series, a matching list, a number, or per group of nodes.", &[SERIES_LIST, Param::new("total", T::Any), NODES], as_percent),
    agg("pct", "Combine", "Short form of asPercent.", &[SERIES_LIST, Param::new("total", T::Any), NODES], as_percent),
    def("percentileOfSeries", "Combine", "The n-th percentile across the series at each point.", &[SERIES_LIST, Param::new("n", T::Float).req(), Param::new("interpolate", T::Boolean).def(Lit::Bool(false))], percentile_of_series),
    def("aggregateSeriesLists", "Combine", "Aggregates the n-th series of two lists pairwise with the named function.", &[FIRST, SECOND, Param::new("func", T::AggFunc).req(), Param::new("xFilesFactor", T::Float)], aggregate_series_lists),
    agg("sumSeriesLists", "Combine", "Adds the n-th series of two lists pairwise.", &[FIRST, SECOND], sum_series_lists),
    agg("diffSeriesLists", "Combine", "Subtracts the n-th series of the second list from the n-th of the first.", &[FIRST, SECOND], diff_series_lists),
    agg("multiplySeriesLists", "Combine", "Multiplies the n-th series of two lists pairwise.", &[FIRST, SECOND], multiply_series_lists),
    agg("powSeries", "Combine", "Raises the first series to the power of the following ones, point by point.", &[Param::new("seriesList", T::SeriesList).req().multi()], pow_series),
    def("weightedAverage", "Combine", "Weighted average of a list of averages by a list of weights matched on nodes.", &[Param::new("seriesListAvg", T::SeriesList).req(), Param::new("seriesListWeight", T::SeriesList).req(), NODES], weighted_average),
];

/// graphite's `aggregate()` over one flat list.
pub(crate) fn aggregate(
    ev: &Evaluator<'_>,
    series: &[Series],
    func: &str,
    xff: Option<f64>,
) -> Result<Vec<Series>> {
    let short = func.strip_suffix("Series").unwrap_or(func);
    let f = AggFunc::parse(short)
        .ok_or_else(|| QueryError::invalid(format!("unsupported aggregation function: {func}")))?;
    let refs: Vec<&Series> = series.iter().collect();
    let Some(n) = Normalized::new(&refs) else {
        return Ok(Vec::new());
    };
    let xff = xff.unwrap_or(ev.xff);
    let name = format!("{short}Series({})", format_path_expressions(series));
    let mut values = Vec::with_capacity(n.len());
    let mut row = Vec::with_capacity(series.len());
    for i in 0..n.len() {
        n.row_into(i, &mut row);
        let known = row.iter().flatten().count();
        let enough = known > 0 && known as f64 / row.len() as f64 >= xff;
        values.push(if enough { f.apply(&row) } else { None });
    }
    let mut tags = series[0].tags.clone();
    for s in &series[1..] {
        tags.retain(|k, v| s.tags.get(k) == Some(v));
    }
    tags.entry("name".into()).or_insert_with(|| name.clone());
    tags.insert("aggregatedBy".into(), short.to_string());
    let mut out = Series::new(name, n.start, n.end, n.step, values, xff);
    out.tags = tags;
    Ok(vec![out])
}

fn aggregate_fn(ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let list = a.list(0)?;
    let func = a.str(1)?;
    let xff = a.opt_f64(2);
    aggregate(ev, &list, &func, xff)
}

fn aggregate_lists(ev: &mut Evaluator<'_>, mut a: Args<'_>, func: &str) -> Result<Vec<Series>> {
    let all: Vec<Series> = a.lists(0)?.into_iter().flatten().collect();
    aggregate(ev, &all, func, None)
}

fn sum_series(ev: &mut Evaluator<'_>, a: Args<'_>) -> Result<Vec<Series>> {
    aggregate_lists(ev, a, "sum")
}
fn average_series(ev: &mut Evaluator<'_>, a: Args<'_>) -> Result<Vec<Series>> {
    aggregate_lists(ev, a, "average")
}
fn min_series(ev: &mut Evaluator<'_>, a: Args<'_>) -> Result<Vec<Series>> {
    aggregate_lists(ev, a, "min")
}
fn max_series(ev: &mut Evaluator<'_>, a: Args<'_>) -> Result<Vec<Series>> {
    aggregate_lists(ev, a, "max")
}
fn diff_series(ev: &mut Evaluator<'_>, a: Args<'_>) -> Result<Vec<Series>> {
    aggregate_lists(ev, a, "diff")
}
fn stddev_series(ev: &mut Evaluator<'_>, a: Args<'_>) -> Result<Vec<Series>> {
    aggregate_lists(ev, a, "stddev")
}
fn range_series(ev: &mut Evaluator<'_>, a: Args<'_>) -> Result<Vec<Series>> {
    aggregate_lists(ev, a, "rangeOf")
}

fn multiply_series(ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let mut lists = a.lists(0)?;
    // Legacy behaviour: one list holding one series comes back unchanged.
    if lists.len() == 1 && lists[0].len() == 1 {
        return Ok(lists.remove(0));
    }
    let all: Vec<Series> = lists.into_iter().flatten().collect();
    aggregate(ev, &all, "multiply", None)
}

fn count_series(ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let lists = a.lists(0)?;
    if lists.is_empty() {
        let mut s = super::special::constant_line(ev, 0.0, "0".into());
        s.path_expression = "countSeries()".into();
        return Ok(vec![s]);
    }
    let all: Vec<Series> = lists.into_iter().flatten().collect();
    let refs: Vec<&Series> = all.iter().collect();
    let Some(n) = Normalized::new(&refs) else {
        return Ok(Vec::new());
    };
    let name = format!("countSeries({})", format_path_expressions(&all));
    let values = vec![Some(all.len() as f64); n.len()];
    Ok(vec![Series::new(
        name, n.start, n.end, n.step, values, ev.xff,
    )])
}

fn group(_ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    Ok(a.lists(0)?.into_iter().flatten().collect())
}

/// Divides `dividend` by `divisor` on their common grid, as `divideSeries` does.
fn divide(ev: &Evaluator<'_>, dividend: &Series, divisor: &Series) -> Option<Series> {
    let n = Normalized::new(&[dividend, divisor])?;
    let name = format!("divideSeries({},{})", dividend.name, divisor.name);
    let values = (0..n.len())
        .map(|i| {
            let a = n.columns[0].get(i).copied().flatten();
            let b = n.columns[1].get(i).copied().flatten();
            safe_div(a, b)
        })
        .collect();
    Some(Series::new(name, n.start, n.end, n.step, values, ev.xff))
}

fn divide_series(ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let mut dividends = a.list(0)?;
    let divisors = a.list(1)?;
    if divisors.is_empty() {
        for s in &mut dividends {
            s.rename(format!("divideSeries({},MISSING)", s.name));
            s.values.iter_mut().for_each(|v| *v = None);
        }
        return Ok(dividends);
    }
    if divisors.len() > 1 {
        return Err(a.error(format!(
            "second argument must reference exactly 1 series (got {})",
            divisors.len()
        )));
    }
    Ok(dividends
        .iter()
        .filter_map(|d| divide(ev, d, &divisors[0]))
        .collect())
}

fn divide_series_lists(ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let dividends = a.list(0)?;
    let divisors = a.list(1)?;
    if dividends.len() != divisors.len() {
        return Err(a.error("dividendSeriesList and divisorSeriesList must have equal length"));
    }
    Ok(dividends
        .iter()
        .zip(&divisors)
        .filter_map(|(d, v)| divide(ev, d, v))
        .collect())
}

/// `safeMul(safeDiv(a, b), 100.0)`.
fn percent(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    safe_div(a, b).map(|q| q * 100.0)
}

/// Percentages of `series` against `total` on their common grid (graphite's matched case).
fn percent_pair(ev: &Evaluator<'_>, s: &Series, total: &Series) -> Option<Series> {
    let n = Normalized::new(&[s, total])?;
    let values = (0..n.len())
        .map(|i| {
            percent(
                n.columns[0].get(i).copied().flatten(),
                n.columns[1].get(i).copied().flatten(),
            )
        })
        .collect();
    let name = format!("asPercent({},{})", s.name, total.name);
    Some(Series::new(name, n.start, n.end, n.step, values, ev.xff))
}

/// The sum of a group as graphite's `asPercent` builds it (plain `safeSum`, no xFilesFactor).
fn group_total(ev: &Evaluator<'_>, group: &[Series]) -> Option<Series> {
    if group.len() == 1 {
        return Some(group[0].clone());
    }
    let refs: Vec<&Series> = group.iter().collect();
    let n = Normalized::new(&refs)?;
    let mut row = Vec::new();
    let values = (0..n.len())
        .map(|i| {
            n.row_into(i, &mut row);
            safe_sum(&row)
        })
        .collect();
    let name = format!("sumSeries({})", format_path_expressions(group));
    Some(Series::new(name, n.start, n.end, n.step, values, ev.xff))
}

fn as_percent(ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let list = a.list(0)?;
    let total = a.take(1);
    let nodes = a.take_all(2);
    let refs: Vec<&Series> = list.iter().collect();
    let Some(norm) = Normalized::new(&refs) else {
        return Ok(Vec::new());
    };
    if !nodes.is_empty() {
        return as_percent_by_nodes(ev, &a, list, total, &nodes);
    }
    match total {
        None => {
            let mut row = Vec::new();
            let totals: Vec<Option<f64>> = (0..norm.len())
                .map(|i| {
                    norm.row_into(i, &mut row);
                    safe_sum(&row)
                })
                .collect();
            let text = format!("sumSeries({})", format_path_expressions(&list));
            Ok(list
                .iter()
                .zip(&norm.columns)
                .map(|(s, col)| {
                    let len = col.len().max(totals.len());
                    let values = (0..len)
                        .map(|i| {
                            percent(
                                col.get(i).copied().flatten(),
                                totals.get(i).copied().flatten(),
                            )
                        })
                        .collect();
                    let name = format!("asPercent({},{})", s.name, text);
                    Series::new(name, s.start, s.end, s.step, values, ev.xff)
                })
                .collect())
        }
        Some(Value::List(total)) => {
            if total.len() == list.len() {
                let mut l: Vec<&Series> = list.iter().collect();
                let mut t: Vec<&Series> = total.iter().collect();
                l.sort_by(|a, b| a.name.cmp(&b.name));
                t.sort_by(|a, b| a.name.cmp(&b.name));
                return Ok(l
                    .into_iter()
                    .zip(t)
                    .filter_map(|(s, t)| percent_pair(ev, s, t))
                    .collect());
            }
            if total.len() != 1 {
                return Err(a.error("second argument must be missing, a single number, reference exactly 1 series or reference the same number of series as the first argument"));
            }
            let mut refs: Vec<&Series> = list.iter().collect();
            refs.push(&total[0]);
            let Some(n) = Normalized::new(&refs) else {
                return Ok(Vec::new());
            };
            let tcol = &n.columns[list.len()];
            Ok(list
                .iter()
                .zip(&n.columns)
                .map(|(s, col)| {
                    let len = col.len().max(tcol.len());
                    let values = (0..len)
                        .map(|i| {
                            percent(
                                col.get(i).copied().flatten(),
                                tcol.get(i).copied().flatten(),
                            )
                        })
                        .collect();
                    let name = format!("asPercent({},{})", s.name, total[0].name);
                    Series::new(name, s.start, s.end, s.step, values, ev.xff)
                })
                .collect())
        }
        Some(v) => {
            let Some(t) = v.as_f64() else {
                return Err(a.error("total must be a number or a series list"));
            };
            let text = v.py_str();
            let first_len = list[0].values.len();
            Ok(list
                .iter()
                .zip(&norm.columns)
                .map(|(s, col)| {
                    let len = col.len().max(first_len);
                    let values = (0..len)
                        .map(|i| {
                            let tv = (i < first_len).then_some(t);
                            percent(col.get(i).copied().flatten(), tv)
                        })
                        .collect();
                    let name = format!("asPercent({},{})", s.name, text);
                    Series::new(name, s.start, s.end, s.step, values, ev.xff)
                })
                .collect())
        }
    }
}

fn as_percent_by_nodes(
    ev: &Evaluator<'_>,
    a: &Args<'_>,
    list: Vec<Series>,
    total: Option<Value>,
    nodes: &[Value],
) -> Result<Vec<Series>> {
    let mut keys: Vec<String> = Vec::new();
    let mut groups: BTreeMap<String, Vec<Series>> = BTreeMap::new();
    for s in list {
        let k = agg_key(&s, nodes);
        if !groups.contains_key(&k) {
            keys.push(k.clone());
        }
        groups.entry(k).or_default().push(s);
    }
    let mut totals: BTreeMap<String, Series> = BTreeMap::new();
    match total {
        None => {
            for k in &keys {
                if let Some(t) = group_total(ev, &groups[k]) {
                    totals.insert(k.clone(), t);
                }
            }
        }
        Some(Value::List(total)) => {
            let mut tgroups: BTreeMap<String, Vec<Series>> = BTreeMap::new();
            for s in total {
                let k = agg_key(&s, nodes);
                if !keys.contains(&k) {
                    keys.push(k.clone());
                }
                tgroups.entry(k).or_default().push(s);
            }
            for (k, g) in tgroups {
                if let Some(t) = group_total(ev, &g) {
                    totals.insert(k, t);
                }
            }
        }
        Some(_) => return Err(a.error("total must be None or a seriesList when nodes are given")),
    }
    let mut out = Vec::new();
    for k in &keys {
        let Some(group) = groups.get(k) else {
            if let Some(t) = totals.get(k) {
                let name = format!("asPercent(MISSING,{})", t.name);
                out.push(Series::new(
                    name,
                    t.start,
                    t.end,
                    t.step,
                    vec![None; t.values.len()],
                    ev.xff,
                ));
            }
            continue;
        };
        for s in group {
            match totals.get(k) {
                None => {
                    let name = format!("asPercent({},MISSING)", s.name);
                    out.push(Series::new(
                        name,
                        s.start,
                        s.end,
                        s.step,
                        vec![None; s.values.len()],
                        ev.xff,
                    ));
                }
                Some(t) => out.extend(percent_pair(ev, s, t)),
            }
        }
    }
    Ok(out)
}

fn percentile_of_series(ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let list = a.list(0)?;
    let n = a.f64(1)?;
    let interpolate = a.bool_or(2, false);
    if n <= 0.0 {
        return Err(a.error("the requested percent is required to be greater than 0"));
    }
    let refs: Vec<&Series> = list.iter().collect();
    let Some(norm) = Normalized::new(&refs) else {
        return Ok(Vec::new());
    };
    let name = format!(
        "percentileOfSeries({},{})",
        list[0].path_expression,
        pyfmt::g(n)
    );
    let mut row = Vec::new();
    let values = (0..norm.len())
        .map(|i| {
            norm.row_into(i, &mut row);
            percentile(&row, n, interpolate)
        })
        .collect();
    Ok(vec![Series::new(
        name, norm.start, norm.end, norm.step, values, ev.xff,
    )])
}

fn series_lists(
    ev: &mut Evaluator<'_>,
    mut a: Args<'_>,
    func: &str,
    xff: Option<f64>,
) -> Result<Vec<Series>> {
    let first = a.list(0)?;
    let second = a.list(1)?;
    if first.len() != second.len() {
        return Err(a.error("seriesListFirstPos and seriesListSecondPos must have equal length"));
    }
    let mut out = Vec::new();
    for (x, y) in first.iter().zip(&second) {
        let pair = [x.clone(), y.clone()];
        if let Some(mut s) = aggregate(ev, &pair, func, xff)?.into_iter().next() {
            let cut = s.name.find("Series(").unwrap_or(0);
            s.name = format!("{}Series({},{})", &s.name[..cut], x.name, y.name);
            out.push(s);
        }
    }
    Ok(out)
}

fn aggregate_series_lists(ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let func = a.str(2)?;
    let xff = a.opt_f64(3);
    series_lists(ev, a, &func, xff)
}
fn sum_series_lists(ev: &mut Evaluator<'_>, a: Args<'_>) -> Result<Vec<Series>> {
    series_lists(ev, a, "sum", None)
}
fn diff_series_lists(ev: &mut Evaluator<'_>, a: Args<'_>) -> Result<Vec<Series>> {
    series_lists(ev, a, "diff", None)
}
fn multiply_series_lists(ev: &mut Evaluator<'_>, a: Args<'_>) -> Result<Vec<Series>> {
    series_lists(ev, a, "multiply", None)
}

fn pow_series(ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let all: Vec<Series> = a.lists(0)?.into_iter().flatten().collect();
    let refs: Vec<&Series> = all.iter().collect();
    let Some(n) = Normalized::new(&refs) else {
        return Ok(Vec::new());
    };
    let name = format!(
        "powSeries({})",
        all.iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(",")
    );
    let mut row = Vec::new();
    let values = (0..n.len())
        .map(|i| {
            n.row_into(i, &mut row);
            let mut it = row.iter();
            let first = it.next().copied().flatten();
            it.fold(first, |acc, e| match e {
                Some(e) => safe_pow(acc, *e),
                None => None,
            })
        })
        .collect();
    Ok(vec![Series::new(
        name, n.start, n.end, n.step, values, ev.xff,
    )])
}

fn weighted_average(ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let avgs = a.list(0)?;
    let weights = a.list(1)?;
    let nodes = a.take_all(2);
    if avgs.len() != weights.len() {
        return Err(a.error(format!(
            "must receive the same number of series for seriesListAvg and seriesListWeight but received respectively {} and {}",
            avgs.len(),
            weights.len()
        )));
    }
    let mut keys: Vec<String> = Vec::new();
    let mut pairs: BTreeMap<String, (Option<&Series>, Option<&Series>)> = BTreeMap::new();
    for (s_avg, s_w) in avgs.iter().zip(&weights) {
        for (s, is_avg) in [(s_avg, true), (s_w, false)] {
            let k = agg_key(s, &nodes);
            if !pairs.contains_key(&k) {
                keys.push(k.clone());
            }
            let e = pairs.entry(k).or_default();
            if is_avg {
                e.0 = Some(s);
            } else {
                e.1 = Some(s);
            }
        }
    }
    let mut products = Vec::new();
    for k in &keys {
        let (Some(avg), Some(w)) = pairs[k] else {
            continue;
        };
        let len = avg.values.len().max(w.values.len());
        let values = (0..len)
            .map(|i| {
                let x = avg.values.get(i).copied().flatten();
                let y = w.values.get(i).copied().flatten();
                x.zip(y).map(|(x, y)| x * y)
            })
            .collect();
        let name = format!("product({},{})", w.name, avg.name);
        products.push(Series::new(
            name, avg.start, avg.end, avg.step, values, ev.xff,
        ));
    }
    if products.is_empty() {
        return Ok(Vec::new());
    }
    let (Some(sp), Some(sw)) = (
        aggregate(ev, &products, "sum", None)?.pop(),
        aggregate(ev, &weights, "sum", None)?.pop(),
    ) else {
        return Ok(Vec::new());
    };
    let len = sp.values.len().max(sw.values.len());
    let values = (0..len)
        .map(|i| {
            safe_div(
                sp.values.get(i).copied().flatten(),
                sw.values.get(i).copied().flatten(),
            )
        })
        .collect();
    let sorted_exprs = |l: &[Series]| {
        let mut v: Vec<&str> = l.iter().map(|s| s.path_expression.as_str()).collect();
        v.sort_unstable();
        v.dedup();
        v.join(",")
    };
    let name = format!(
        "weightedAverage({}, {}, {})",
        sorted_exprs(&avgs),
        sorted_exprs(&weights),
        nodes
            .iter()
            .map(Value::py_str)
            .collect::<Vec<_>>()
            .join(",")
    );
    Ok(vec![Series::new(
        name, sp.start, sp.end, sp.step, values, ev.xff,
    )])
}
