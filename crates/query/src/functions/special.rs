//! The "Special" and "Graph" families and generators: `events` (counted by
//! `Evaluator::events` from the caller's event source), `constantLine` (Grafana's datasource
//! test), `threshold`, `consolidateBy`, `cumulative`, `setXFilesFactor`, `fallbackSeries`,
//! `applyByNode`, `useSeriesAbove`, `identity`/`time`/`sin`, and the graph-styling functions,
//! which change nothing but the name (or nothing at all) in data renders.

use super::aggfunc::safe_max;
use super::{def, SERIES_LIST};
use crate::args::{Args, Lit, Param, ParamType as T};
use crate::error::Result;
use crate::eval::Evaluator;
use crate::pyfmt;
use crate::pyregex;
use crate::registry::FunctionDef;
use crate::series::{Consolidation, Series};

const CONSOLIDATIONS: &[&str] = &[
    "sum", "average", "avg", "avg_zero", "min", "max", "first", "last",
];

pub(crate) const DEFS: &[FunctionDef] = &[
    def("seriesByTag", "Special", "Series whose tags match every expression: tag=value, tag!=value, tag=~regex, tag!=~regex (regexes anchored at the start; at least one expression must require a non-empty value).", &[Param::new("tagExpressions", T::Str).req().multi()], series_by_tag),
    def("events", "Special", "The number of events (Graphite's events API) in each second of the window, for drawAsInfinite: events(\"tag1\", \"tag2\") counts events with all the tags, events(\"*\") every event.", &[Param::new("tags", T::Str).req().multi()], events_fn),
    def("constantLine", "Special", "A horizontal line at the given value across the whole window.", &[Param::new("value", T::Float).req()], constant_line_fn),
    def("threshold", "Graph", "A horizontal line at the given value, optionally labelled.", &[Param::new("value", T::Float).req(), Param::new("label", T::Str), Param::new("color", T::Str)], threshold),
    def("consolidateBy", "Special", "Sets how points are merged when there are more than maxDataPoints: sum, average, min, max, first, last, avg_zero.", &[SERIES_LIST, Param::new("consolidationFunc", T::Str).req().opts(CONSOLIDATIONS)], consolidate_by),
    def("cumulative", "Special", "Consolidates by sum instead of average (consolidateBy 'sum').", &[SERIES_LIST], cumulative),
    def("setXFilesFactor", "Special", "Sets the fraction of known values a consolidated point needs to be non-null.", &[SERIES_LIST, Param::new("xFilesFactor", T::Float).req()], set_xff),
    def("xFilesFactor", "Special", "Short form of setXFilesFactor.", &[SERIES_LIST, Param::new("xFilesFactor", T::Float).req()], set_xff),
    def("fallbackSeries", "Special", "The fallback series when the first list is empty.", &[SERIES_LIST, Param::new("fallback", T::SeriesList).req()], fallback_series),
    def("identity", "Calculate", "A series whose value is its timestamp, every 60 seconds.", &[Param::new("name", T::Str).req()], identity),
    def("timeFunction", "Transform", "A series whose value is its timestamp, every `step` seconds.", &[Param::new("name", T::Str).req(), Param::new("step", T::Integer).def(Lit::Int(60))], time_function),
    def("time", "Transform", "Short form of timeFunction.", &[Param::new("name", T::Str).req(), Param::new("step", T::Integer).def(Lit::Int(60))], time_function),
    def("sinFunction", "Transform", "The sine of the timestamp times an amplitude, every `step` seconds.", &[Param::new("name", T::Str).req(), Param::new("amplitude", T::Integer).def(Lit::Int(1)), Param::new("step", T::Integer).def(Lit::Int(60))], sin_function),
    def("sin", "Transform", "Short form of sinFunction.", &[Param::new("name", T::Str).req(), Param::new("amplitude", T::Integer).def(Lit::Int(1)), Param::new("step", T::Integer).def(Lit::Int(60))], sin_function),
    def("randomWalkFunction", "Special", "A random walk starting at 0 every `step` seconds (deterministic per name and window).", &[Param::new("name", T::Str).req(), Param::new("step", T::Integer).def(Lit::Int(60))], random_walk),
    def("randomWalk", "Special", "Short form of randomWalkFunction.", &[Param::new("name", T::Str).req(), Param::new("step", T::Integer).def(Lit::Int(60))], random_walk),
    def("applyByNode", "Combine", "For each distinct prefix up to a node, evaluates a template target with % replaced by the prefix.", &[SERIES_LIST, Param::new("nodeNum", T::Node).req(), Param::new("templateFunction", T::Str).req(), Param::new("newName", T::Str)], apply_by_node),
    def("useSeriesAbove", "Filter Series", "For series whose maximum is above a value, fetches the series named by search and replace on their names.", &[SERIES_LIST, Param::new("value", T::Float).req(), Param::new("search", T::Str).req(), Param::new("replace", T::Str).req()], use_series_above),
    def("alpha", "Graph", "Sets graph transparency; no effect on data.", &[SERIES_LIST, Param::new("alpha", T::Float).req()], unchanged),
    def("color", "Graph", "Sets graph colour; no effect on data.", &[SERIES_LIST, Param::new("theColor", T::Str).req()], unchanged),
    def("lineWidth", "Graph", "Sets graph line width; no effect on data.", &[SERIES_LIST, Param::new("width", T::Float).req()], unchanged),
    def("dashed", "Graph", "Draws a dashed line; renames the series.", &[SERIES_LIST, Param::new("dashLength", T::Integer).def(Lit::Int(5))], dashed),
    def("drawAsInfinite", "Graph", "Draws non-zero values as vertical lines; renames the series.", &[SERIES_LIST], draw_as_infinite),
    def("secondYAxis", "Graph", "Draws on the second Y axis; renames the series.", &[SERIES_LIST], second_y_axis),
    def("stacked", "Graph", "Stacks series on top of each other: each value becomes the running total at its time.", &[SERIES_LIST, Param::new("stack", T::Str)], stacked),
    def("areaBetween", "Graph", "Marks exactly two series as the bounds of a filled area.", &[SERIES_LIST], area_between),
];

fn series_by_tag(ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let exprs: Vec<String> = a
        .take_all(0)
        .iter()
        .map(crate::args::Value::py_str)
        .collect();
    ev.series_by_tag(&exprs, a.raw)
}

fn events_fn(ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let tags: Vec<String> = a
        .take_all(0)
        .iter()
        .map(crate::args::Value::py_str)
        .collect();
    ev.events(&tags)
}

/// graphite's `constantLine`: three points spanning the window, named after the value.
pub(crate) fn constant_line(ev: &Evaluator<'_>, value: f64, label: String) -> Series {
    constant_line_opt(ev, Some(value), label)
}

/// [`constant_line`] for a value that may be null (`aggregateLine` of an empty series).
pub(crate) fn constant_line_opt(ev: &Evaluator<'_>, value: Option<f64>, label: String) -> Series {
    let (start, end) = (ev.from, ev.until);
    let step = ((end - start) as f64 / 2.0) as i64;
    let mut s = Series::new(label.clone(), start, end, step, vec![value; 3], ev.xff);
    s.path_expression = format!("constantLine({label})");
    s
}

fn constant_line_fn(ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let v = a.f64(0)?;
    Ok(vec![constant_line(ev, v, pyfmt::repr(v))])
}

fn threshold(ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let v = a.f64(0)?;
    let mut s = constant_line(ev, v, pyfmt::repr(v));
    if let Some(label) = a.opt_str(1).filter(|l| !l.is_empty()) {
        s.name = label;
    }
    Ok(vec![s])
}

fn set_consolidation(mut list: Vec<Series>, func: &str) -> Result<Vec<Series>> {
    let c = Consolidation::parse(func).ok_or_else(|| {
        crate::error::QueryError::invalid(format!("invalid consolidation function: {func:?}"))
    })?;
    for s in &mut list {
        s.consolidation = c;
        s.tag("consolidateBy", func);
        s.rename(format!("consolidateBy({},\"{func}\")", s.name));
    }
    Ok(list)
}

fn consolidate_by(_ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let list = a.list(0)?;
    let func = a.str(1)?;
    set_consolidation(list, &func)
}

fn cumulative(_ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    set_consolidation(a.list(0)?, "sum")
}

fn set_xff(ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let mut list = a.list(0)?;
    let xff = a.f64(1)?;
    ev.xff = xff;
    for s in &mut list {
        s.x_files_factor = xff;
        s.tag("xFilesFactor", pyfmt::repr(xff));
    }
    Ok(list)
}

fn fallback_series(_ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let list = a.list(0)?;
    if list.is_empty() {
        a.list(1)
    } else {
        Ok(list)
    }
}

/// A generated series of `f(timestamp)` every `step` seconds over the window.
fn generated(
    ev: &Evaluator<'_>,
    name: String,
    step: i64,
    f: impl Fn(i64) -> f64,
) -> Result<Series> {
    if step <= 0 {
        return Err(crate::error::QueryError::invalid("step must be positive"));
    }
    let values = (ev.from..ev.until)
        .step_by(step as usize)
        .map(|t| Some(f(t)))
        .collect();
    Ok(Series::new(name, ev.from, ev.until, step, values, ev.xff))
}

fn identity(ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let name = a.str(0)?;
    let mut s = generated(ev, name.clone(), 60, |t| t as f64)?;
    s.path_expression = format!("identity(\"{name}\")");
    Ok(vec![s])
}

fn time_function(ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let name = a.str(0)?;
    let step = a.opt_i64(1).unwrap_or(60);
    Ok(vec![generated(ev, name, step, |t| t as f64)?])
}

fn sin_function(ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let name = a.str(0)?;
    let amplitude = a.opt_f64(1).unwrap_or(1.0);
    let step = a.opt_i64(2).unwrap_or(60);
    Ok(vec![generated(ev, name, step, |t| {
        (t as f64).sin() * amplitude
    })?])
}

fn random_walk(ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let name = a.str(0)?;
    let step = a.opt_i64(1).unwrap_or(60);
    // A fixed-seed generator instead of a clock-seeded one: renders are repeatable and nothing
    // here reads the clock. graphite's own walk is random, so no two renders agree anyway.
    let mut state = name
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325u64 ^ ev.from as u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
    let mut current = 0.0;
    let mut s = generated(ev, name, step, |_| 0.0)?;
    for v in &mut s.values {
        *v = Some(current);
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        current += (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
    }
    Ok(vec![s])
}

fn apply_by_node(ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let list = a.list(0)?;
    let node = a.i64(1)?;
    let template = a.str(2)?;
    let new_name = a.opt_str(3);
    let Some(last) = list.last() else {
        return Ok(Vec::new());
    };
    let (start, end) = (last.start, last.end);
    let mut prefixes: Vec<String> = list
        .iter()
        .map(|s| {
            let parts: Vec<&str> = s.name.split('.').collect();
            let r = super::py_slice(parts.len(), None, Some(node.saturating_add(1)));
            parts[r].join(".")
        })
        .collect();
    prefixes.sort();
    prefixes.dedup();
    let mut out = Vec::new();
    for prefix in prefixes {
        for mut s in ev.eval_text(&template.replace('%', &prefix))? {
            if let Some(n) = &new_name {
                s.name = n.replace('%', &prefix);
            }
            s.path_expression = prefix.clone();
            s.start = start;
            s.end = end;
            out.push(s);
        }
    }
    Ok(out)
}

fn use_series_above(ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let list = a.list(0)?;
    let value = a.f64(1)?;
    let re = pyregex::compile(&a.str(2)?)?;
    let replace = a.str(3)?;
    let mut names = Vec::new();
    for s in &list {
        let n = pyregex::sub(&re, &replace, &s.name)?;
        if safe_max(&s.values).is_some_and(|m| m > value) {
            names.push(n);
        }
    }
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let found = ev.eval_text(&format!("group({})", names.join(",")))?;
    Ok(found.into_iter().filter(|s| !s.values.is_empty()).collect())
}

fn unchanged(_ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    a.list(0)
}

fn dashed(_ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let mut list = a.list(0)?;
    let len = a.take(1).unwrap_or(crate::args::Value::Int(5));
    let g = pyfmt::g(len.as_f64().unwrap_or(5.0));
    for s in &mut list {
        s.tag("dashed", len.py_str());
        s.name = format!("dashed({}, {g})", s.name);
    }
    Ok(list)
}

fn draw_as_infinite(_ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let mut list = a.list(0)?;
    for s in &mut list {
        s.tag("drawAsInfinite", "1");
        s.name = format!("drawAsInfinite({})", s.name);
    }
    Ok(list)
}

fn second_y_axis(_ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let mut list = a.list(0)?;
    for s in &mut list {
        s.tag("secondYAxis", "1");
        s.name = format!("secondYAxis({})", s.name);
    }
    Ok(list)
}

fn stacked(_ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let list = a.list(0)?;
    let stack = a.opt_str(1);
    let mut totals: Vec<f64> = Vec::new();
    Ok(list
        .into_iter()
        .map(|mut s| {
            let values = s
                .values
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    if totals.len() <= i {
                        totals.push(0.0);
                    }
                    v.map(|v| {
                        totals[i] += v;
                        totals[i]
                    })
                })
                .collect();
            let name = match &stack {
                None => {
                    s.tag("stacked", "__DEFAULT__");
                    format!("stacked({})", s.name)
                }
                Some(_) => s.name.clone(),
            };
            s.copy_with(name, values)
        })
        .collect())
}

fn area_between(_ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let mut list = a.list(0)?;
    if list.len() != 2 {
        return Err(a.error("series argument must reference exactly 2 series"));
    }
    let name = format!("areaBetween({})", list[1].path_expression);
    list[1].tag("areaBetween", "1");
    let tags = list[1].tags.clone();
    for s in &mut list {
        s.name = name.clone();
        s.tags = tags.clone();
    }
    Ok(list)
}
