//! The "Alias" family and `substr`: functions that only rename series (`alias`,
//! `aliasByNode`, `aliasByMetric`, `aliasSub`, `aliasByTags`, `aliasQuery`, `legendValue`).
//!
//! Renaming keeps the path expression, as graphite-web does, so `sumSeries(alias(a.b,"x"))` is
//! still named `sumSeries(a.b)`. Grafana wraps every target in `aliasSub(..., "(^.*$)", "\1 A")`.

use super::aggfunc::{safe_last, safe_max, safe_min, AggFunc};
use super::{agg_key, def, py_slice, SERIES_LIST};
use crate::args::{Args, Lit, Param, ParamType as T, Value};
use crate::error::Result;
use crate::eval::Evaluator;
use crate::pyfmt;
use crate::pyregex;
use crate::registry::FunctionDef;
use crate::series::Series;

const LEGEND_OPTIONS: &[&str] = &[
    "average",
    "avg_zero",
    "median",
    "sum",
    "min",
    "max",
    "diff",
    "stddev",
    "count",
    "range",
    "multiply",
    "last",
    "rangeOf",
    "avg",
    "total",
    "current",
    "averageSeries",
    "avg_zeroSeries",
    "medianSeries",
    "sumSeries",
    "minSeries",
    "maxSeries",
    "diffSeries",
    "stddevSeries",
    "countSeries",
    "rangeSeries",
    "multiplySeries",
    "lastSeries",
    "rangeOfSeries",
    "avgSeries",
    "totalSeries",
    "currentSeries",
    "si",
    "binary",
];

pub(crate) const DEFS: &[FunctionDef] = &[
    def("alias", "Alias", "Replaces the name of every series with the given text.", &[SERIES_LIST, Param::new("newName", T::Str).req()], alias),
    def("aliasByNode", "Alias", "Names each series by the given nodes (0-based, negative from the end) or tag names, joined by dots.", &[SERIES_LIST, Param::new("nodes", T::NodeOrTag).req().multi()], alias_by_node),
    def("aliasByTags", "Alias", "Names each series by the given tags or nodes, joined by dots.", &[SERIES_LIST, Param::new("tags", T::NodeOrTag).req().multi()], alias_by_node),
    def("aliasByMetric", "Alias", "Names each series by the last node of its metric path.", &[SERIES_LIST], alias_by_metric),
    def("aliasSub", "Alias", "Regular-expression search and replace on series names; \\1 refers to groups.", &[SERIES_LIST, Param::new("search", T::Str).req(), Param::new("replace", T::Str).req()], alias_sub),
    def("aliasQuery", "Alias", "Names each series with a printf-style template filled with the last value of a related series found by search and replace on its name.", &[SERIES_LIST, Param::new("search", T::Str).req(), Param::new("replace", T::Str).req(), Param::new("newName", T::Str).req()], alias_query),
    def("legendValue", "Alias", "Appends aggregate values (avg, max, last, ...) to each series name.", &[SERIES_LIST, Param::new("valuesTypes", T::Str).multi().hint_opts(LEGEND_OPTIONS)], legend_value),
    def("cactiStyle", "Special", "Appends Current, Max and Min columns to series names, optionally in si or binary units.", &[SERIES_LIST, Param::new("system", T::Str).opts(&["binary", "si"]), Param::new("units", T::Str)], cacti_style),
    def("substr", "Special", "Keeps nodes start..stop of each series' metric path as its name.", &[SERIES_LIST, Param::new("start", T::Node).def(Lit::Int(0)), Param::new("stop", T::Node).def(Lit::Int(0))], substr),
];

fn alias(_ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let mut list = a.list(0)?;
    let name = a.str(1)?;
    for s in &mut list {
        s.name = name.clone();
    }
    Ok(list)
}

fn alias_by_node(_ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let mut list = a.list(0)?;
    let nodes = a.take_all(1);
    for s in &mut list {
        s.name = agg_key(s, &nodes);
    }
    Ok(list)
}

/// graphite's `substr`: nodes of the innermost parenthesised text, then anything from a comma on
/// dropped (so `substr(func(a.b,'c'),1)` gives `b`).
fn substring(name: &str, start: i64, stop: i64) -> String {
    let left = name.rfind('(').map_or(0, |i| i + 1);
    let right = name.find(')').unwrap_or(name.len());
    let clean = if right > left { &name[left..right] } else { "" };
    let nodes: Vec<&str> = clean.split('.').collect();
    let stop = if stop == 0 { None } else { Some(stop) };
    let r = py_slice(nodes.len(), Some(start), stop);
    let joined = nodes[r].join(".");
    match joined.find(',') {
        Some(i) => joined[..i].to_string(),
        None => joined,
    }
}

fn substr(_ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let mut list = a.list(0)?;
    let start = a.opt_i64(1).unwrap_or(0);
    let stop = a.opt_i64(2).unwrap_or(0);
    for s in &mut list {
        s.name = substring(&s.name, start, stop);
    }
    Ok(list)
}

fn alias_by_metric(_ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let mut list = a.list(0)?;
    for s in &mut list {
        s.name = substring(&s.name, -1, 0);
    }
    Ok(list)
}

fn alias_sub(_ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let mut list = a.list(0)?;
    let re = pyregex::compile(&a.str(1)?)?;
    let replace = a.str(2)?;
    for s in &mut list {
        s.name = pyregex::sub(&re, &replace, &s.name)?;
    }
    Ok(list)
}

fn alias_query(ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let mut list = a.list(0)?;
    let re = pyregex::compile(&a.str(1)?)?;
    let replace = a.str(2)?;
    let template = a.str(3)?;
    for s in &mut list {
        let query = pyregex::sub(&re, &replace, &s.name)?;
        let found = ev.eval_text(&query)?;
        let Some(first) = found.first() else {
            return Err(a.error(format!("no series found with query: {query}")));
        };
        let Some(last) = safe_last(&first.values) else {
            return Err(a.error(format!("cannot get last value of series: {}", first.name)));
        };
        s.name = printf(&template, last);
    }
    Ok(list)
}

/// Python's `template % value` for one number: `%d`, `%i`, `%s`, `%f`, `%.Nf`, `%g`, `%e`, `%%`.
fn printf(template: &str, v: f64) -> String {
    let mut out = String::new();
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut precision: Option<usize> = None;
        if chars.peek() == Some(&'.') {
            chars.next();
            let mut p = String::new();
            while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                p.push(*d);
                chars.next();
            }
            precision = p.parse::<usize>().ok().map(|p| p.min(100));
        }
        match chars.next() {
            Some('%') => out.push('%'),
            Some('d' | 'i') => out.push_str(&pyfmt::d(v)),
            Some('s') => out.push_str(&pyfmt::repr(v)),
            Some('f') => out.push_str(&format!("{v:.*}", precision.unwrap_or(6))),
            Some('g') => out.push_str(&pyfmt::g(v)),
            Some('e') => {
                let s = format!("{v:.*e}", precision.unwrap_or(6));
                let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
                let e: i32 = e.parse().unwrap_or(0);
                out.push_str(&format!(
                    "{m}e{}{:02}",
                    if e < 0 { '-' } else { '+' },
                    e.abs()
                ));
            }
            Some(other) => {
                out.push('%');
                out.push(other);
            }
            None => out.push('%'),
        }
    }
    out
}

/// graphite's `format_units`: the value scaled to the largest fitting prefix of `system`
/// (`si`: k M G T P by 1000, `binary`: Ki Mi Gi Ti Pi by 1024), and the prefix.
fn format_units(v: f64, system: &str, units: Option<&str>) -> (f64, String) {
    let table: &[(&str, f64)] = if system == "binary" {
        &crate::pyfmt::BINARY_PREFIXES
    } else {
        &crate::pyfmt::SI_PREFIXES
    };
    let whole = |x: f64, orig: f64| {
        if x - x.floor() < 1e-11 && orig > 1.0 {
            x.floor()
        } else {
            x
        }
    };
    for (prefix, size) in table {
        if v.abs() >= *size {
            let p = format!("{prefix}{}", units.unwrap_or(""));
            return (whole(v / size, v), p);
        }
    }
    (whole(v, v), units.unwrap_or("").to_string())
}

fn legend_value(_ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let mut list = a.list(0)?;
    let mut types: Vec<String> = a.take_all(1).iter().map(Value::py_str).collect();
    let system = match types.last().map(String::as_str) {
        Some(s @ ("si" | "binary")) => {
            let s = s.to_string();
            types.pop();
            Some(s)
        }
        _ => None,
    };
    for t in &types {
        let f = AggFunc::parse(t);
        for s in &mut list {
            let value = f.map(|f| f.apply(&s.values));
            s.name = match &system {
                None => {
                    let text = match value {
                        Some(v) => v.map_or("None".to_string(), pyfmt::repr),
                        None => "(?)".to_string(),
                    };
                    format!("{} ({t}: {text})", s.name)
                }
                Some(sys) => {
                    let formatted = match value {
                        None => "(?)".to_string(),
                        Some(None) => "None".to_string(),
                        Some(Some(v)) => {
                            let (x, p) = format_units(v, sys, None);
                            format!("{x:.2}{p}")
                        }
                    };
                    format!("{:<20}{t:<5}{formatted:<10}", s.name)
                }
            };
        }
    }
    Ok(list)
}

fn cacti_style(_ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let mut list = a.list(0)?;
    let system = a.opt_str(1);
    let units = a.opt_str(2);
    if list.is_empty() {
        return Ok(list);
    }
    let fmt = |x: f64| -> String {
        match (&system, &units) {
            (Some(sys), u) => {
                let (v, p) = format_units(x, sys, u.as_deref());
                if u.is_some() {
                    format!("{v:.2} {p}")
                } else {
                    format!("{v:.2}{p}")
                }
            }
            (None, Some(u)) => format!("{x:.2} {u}"),
            (None, None) => format!("{x:.2}"),
        }
    };
    // graphite sizes the columns from the integer part of each statistic (3 when missing or 0).
    let width = |stat: fn(&[Option<f64>]) -> Option<f64>, list: &[Series]| {
        list.iter()
            .map(|s| {
                let v = stat(&s.values).filter(|v| *v != 0.0).unwrap_or(3.0).trunc();
                fmt(v).chars().count()
            })
            .max()
            .unwrap_or(0)
            + 3
    };
    let name_len = list
        .iter()
        .map(|s| s.name.chars().count())
        .max()
        .unwrap_or(0);
    let (last_len, max_len, min_len) = (
        width(safe_last, &list),
        width(safe_max, &list),
        width(safe_min, &list),
    );
    let text = |v: Option<f64>| v.map_or("nan".to_string(), fmt);
    for s in &mut list {
        let (last, max, min) = (
            text(safe_last(&s.values)),
            text(safe_max(&s.values)),
            text(safe_min(&s.values)),
        );
        s.name = format!(
            "{:<name_len$} Current:{last:<last_len$} Max:{max:<max_len$} Min:{min:<min_len$} ",
            s.name
        );
    }
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substr_follows_graphite() {
        assert_eq!(
            substring("carbon.agents.hostname.avgUpdateTime", 2, 4),
            "hostname.avgUpdateTime"
        );
        assert_eq!(substring("a.b.c", -1, 0), "c");
        assert_eq!(substring("movingAverage(a.b.c,\"5min\")", -1, 0), "c");
        assert_eq!(substring("func(a.b,'c')", 1, 0), "b");
        assert_eq!(substring("sumSeries(a.*.b)", 1, 2), "*");
    }

    #[test]
    fn printf_subset() {
        assert_eq!(printf("Channel %d MHz", 2412.7), "Channel 2412 MHz");
        assert_eq!(printf("%.2f%%", 1.0 / 3.0), "0.33%");
        assert_eq!(printf("v=%s", 2.5), "v=2.5");
        assert_eq!(printf("%g", 1e6), "1e+06");
    }
}
