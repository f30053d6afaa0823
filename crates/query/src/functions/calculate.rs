//! The "Calculate" family: windowed statistics (`movingAverage` and the other moving windows,
//! `exponentialMovingAverage`, `stdev`), `nPercentile`, `aggregateLine`, `linearRegression`.
//!
//! Moving windows fetch extra data before `from` to fill their first window (graphite's
//! "preview"): an interval window re-evaluates the input that much earlier, an N-point window
//! N times the largest step earlier. A window covers the N points *before* each output point.

use super::aggfunc::{percentile, safe_avg, AggFunc};
use super::{def, SERIES_LIST};
use crate::args::{Args, Lit, Param, ParamType as T, Value};
use crate::error::Result;
use crate::eval::Evaluator;
use crate::pyfmt;
use crate::registry::FunctionDef;
use crate::series::Series;
use crate::time::parse_offset;

/// graphite's suggestions for window sizes.
const WINDOW_SUGGESTIONS: &[Lit] = &[
    Lit::Int(5),
    Lit::Int(7),
    Lit::Int(10),
    Lit::Str("1min"),
    Lit::Str("5min"),
    Lit::Str("10min"),
    Lit::Str("30min"),
    Lit::Str("1hour"),
];
const WINDOW: Param = Param::new("windowSize", T::IntOrInterval)
    .req()
    .sugg(WINDOW_SUGGESTIONS);
const XFF: Param = Param::new("xFilesFactor", T::Float);
const MOVING: &[Param] = &[SERIES_LIST, WINDOW, XFF];

/// Longest window (or bootstrap) fetched before `from`: ten years, beyond any retention lookout
/// keeps, so a typo such as `movingAverage(x, 100000000)` fails fast instead of asking the store
/// for centuries of slots.
pub(crate) const MAX_PREVIEW_SECONDS: i64 = 10 * 365 * 86_400;

pub(crate) const DEFS: &[FunctionDef] = &[
    def("movingWindow", "Calculate", "Applies an aggregation to a moving window of N points or an interval before each point.", &[SERIES_LIST, WINDOW, Param::new("func", T::AggFunc).def(Lit::Str("average")), XFF], moving_window),
    def("movingAverage", "Calculate", "Average of the N points (or the interval) before each point.", MOVING, moving_average),
    def("movingSum", "Calculate", "Sum of the N points (or the interval) before each point.", MOVING, moving_sum),
    def("movingMin", "Calculate", "Minimum of the N points (or the interval) before each point.", MOVING, moving_min),
    def("movingMax", "Calculate", "Maximum of the N points (or the interval) before each point.", MOVING, moving_max),
    def("movingMedian", "Calculate", "Median of the N points (or the interval) before each point.", MOVING, moving_median),
    def("exponentialMovingAverage", "Calculate", "Exponential moving average with constant 2 / (window + 1), seeded with the window's average.", &[SERIES_LIST, WINDOW], exponential_moving_average),
    def("stdev", "Calculate", "Standard deviation over a moving window of N points; skipped where more than windowTolerance of the window is null.", &[SERIES_LIST, Param::new("points", T::Integer).req(), Param::new("windowTolerance", T::Float).def(Lit::Float(0.1))], stdev),
    def("nPercentile", "Calculate", "A line at the n-th percentile of each series.", &[SERIES_LIST, Param::new("n", T::Float).req()], n_percentile),
    def("aggregateLine", "Calculate", "A horizontal line at the aggregate (average by default) of each series.", &[SERIES_LIST, Param::new("func", T::AggFunc).def(Lit::Str("average")), Param::new("keepStep", T::Boolean).def(Lit::Bool(false))], aggregate_line),
    def("linearRegression", "Calculate", "Least-squares line through each series, optionally fitted on another time range.", &[SERIES_LIST, Param::new("startSourceAt", T::Date), Param::new("endSourceAt", T::Date)], linear_regression),
];

/// The window argument: seconds to fetch before `from`, and how the name shows it.
enum Window {
    Interval(String),
    Points(Value),
}

fn preview(a: &mut Args<'_>, list: &[Series]) -> Result<(Window, i64)> {
    let (window, secs) = preview_unchecked(a, list)?;
    if secs > MAX_PREVIEW_SECONDS {
        return Err(a.error("window longer than ten years"));
    }
    Ok((window, secs))
}

fn preview_unchecked(a: &mut Args<'_>, list: &[Series]) -> Result<(Window, i64)> {
    match a.take(1) {
        Some(Value::Str(s)) => {
            let secs = parse_offset(&s)?.abs();
            Ok((Window::Interval(s), secs))
        }
        Some(v) => {
            let n = v.as_f64().unwrap_or(0.0) as i64;
            let step = list.iter().map(|s| s.step).max().unwrap_or(0);
            Ok((Window::Points(v), step.saturating_mul(n)))
        }
        None => Err(a.error("windowSize is required")),
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f
            .to_uppercase()
            .chain(c.flat_map(char::to_lowercase))
            .collect(),
        None => String::new(),
    }
}

fn moving(
    ev: &mut Evaluator<'_>,
    mut a: Args<'_>,
    func: &str,
    xff_index: usize,
) -> Result<Vec<Series>> {
    let list = a.list(0)?;
    if list.is_empty() {
        return Ok(Vec::new());
    }
    let (window, secs) = preview(&mut a, &list)?;
    let f = AggFunc::parse(func)
        .ok_or_else(|| a.error(format!("unsupported aggregation function: {func}")))?;
    let xff = a.opt_f64(xff_index);
    let expr = a
        .exprs
        .first()
        .ok_or_else(|| a.error("needs a series expression"))?;
    let source = ev.reevaluate(expr, ev.from - secs, ev.until)?;
    let tag = format!("moving{}", capitalize(func));
    let mut out = Vec::with_capacity(source.len());
    for mut s in source {
        let (name, points, tag_value) = match &window {
            Window::Interval(w) => (
                format!("{tag}({},\"{w}\")", s.name),
                (secs / s.step.max(1)) as usize,
                w.clone(),
            ),
            Window::Points(v) => (
                format!("{tag}({},{})", s.name, v.py_str()),
                v.as_f64().unwrap_or(0.0).max(0.0) as usize,
                v.py_str(),
            ),
        };
        s.tag(&tag, tag_value);
        let xff = xff.unwrap_or(s.x_files_factor);
        let mut buf = Vec::with_capacity(points.min(s.values.len()));
        let values: Vec<Option<f64>> = (points..s.values.len().max(points))
            .map(|i| {
                buf.clear();
                buf.extend(s.values[i - points..i].iter().filter(|v| v.is_some()));
                let known = buf.len();
                let enough = known > 0 && points > 0 && known as f64 / points as f64 >= xff;
                if enough {
                    f.apply(&buf)
                } else {
                    None
                }
            })
            .collect();
        let mut n = s.copy_with(name, values);
        n.start = s.start + secs;
        out.push(n);
    }
    Ok(out)
}

fn moving_window(ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let func = a.opt_str(2).unwrap_or_else(|| "average".into());
    moving(ev, a, &func, 3)
}
fn moving_average(ev: &mut Evaluator<'_>, a: Args<'_>) -> Result<Vec<Series>> {
    moving(ev, a, "average", 2)
}
fn moving_sum(ev: &mut Evaluator<'_>, a: Args<'_>) -> Result<Vec<Series>> {
    moving(ev, a, "sum", 2)
}
fn moving_min(ev: &mut Evaluator<'_>, a: Args<'_>) -> Result<Vec<Series>> {
    moving(ev, a, "min", 2)
}
fn moving_max(ev: &mut Evaluator<'_>, a: Args<'_>) -> Result<Vec<Series>> {
    moving(ev, a, "max", 2)
}
fn moving_median(ev: &mut Evaluator<'_>, a: Args<'_>) -> Result<Vec<Series>> {
    moving(ev, a, "median", 2)
}

fn exponential_moving_average(ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let list = a.list(0)?;
    if list.is_empty() {
        return Ok(Vec::new());
    }
    let (window, secs) = preview(&mut a, &list)?;
    let constant = match &window {
        // graphite divides by the window in seconds here, not in points.
        Window::Interval(_) => 2.0 / (secs as f64 + 1.0),
        Window::Points(v) => 2.0 / (v.as_f64().unwrap_or(0.0).trunc() + 1.0),
    };
    let expr = a
        .exprs
        .first()
        .ok_or_else(|| a.error("needs a series expression"))?;
    let source = ev.reevaluate(expr, ev.from - secs, ev.until)?;
    let mut out = Vec::new();
    for mut s in source {
        let (name, points, tag) = match &window {
            Window::Interval(w) => (
                format!("exponentialMovingAverage({},\"{w}\")", s.name),
                (secs / s.step.max(1)) as usize,
                w.clone(),
            ),
            Window::Points(v) => (
                format!("exponentialMovingAverage({},{})", s.name, v.py_str()),
                v.as_f64().unwrap_or(0.0).max(0.0) as usize,
                v.py_str(),
            ),
        };
        s.tag("exponentialMovingAverage", tag);
        let seed = &s.values[..points.min(s.values.len())];
        let mut ema = safe_avg(seed).unwrap_or(0.0);
        let mut values = vec![Some(pyfmt::round(ema, 6))];
        for v in s.values.iter().skip(points) {
            values.push(v.map(|v| {
                ema = constant * v + (1.0 - constant) * ema;
                pyfmt::round(ema, 6)
            }));
        }
        let mut n = s.copy_with(name, values);
        n.start = s.start + secs;
        out.push(n);
    }
    Ok(out)
}

fn stdev(_ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let list = a.list(0)?;
    let points = a.i64(1)?;
    let tolerance = a.f64_or(2, 0.1);
    if points <= 0 {
        return Err(a.error("points must be positive"));
    }
    let points_u = points as usize;
    Ok(list
        .into_iter()
        .map(|mut s| {
            s.tag("stdev", points.to_string());
            let name = format!("stdev({},{points})", s.name);
            let (mut valid, mut sum, mut sum_sq) = (0i64, 0.0f64, 0.0f64);
            let mut values = Vec::with_capacity(s.values.len());
            for (i, new) in s.values.iter().enumerate() {
                let dropped = if i < points_u {
                    None
                } else {
                    s.values[i - points_u]
                };
                if dropped.is_some() {
                    valid -= 1;
                }
                if new.is_some() {
                    valid += 1;
                }
                if let Some(d) = dropped {
                    sum -= d;
                    sum_sq -= d * d;
                }
                if let Some(n) = new {
                    sum += n;
                    sum_sq += n * n;
                }
                if valid > 0 && valid as f64 / points as f64 >= tolerance {
                    let var = valid as f64 * sum_sq - sum * sum;
                    values.push((var >= 0.0).then(|| var.sqrt() / valid as f64));
                } else {
                    values.push(None);
                }
            }
            s.copy_with(name, values)
        })
        .collect())
}

fn n_percentile(_ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let list = a.list(0)?;
    let n = a.f64(1)?;
    if n == 0.0 {
        return Err(a.error("the requested percent is required to be greater than 0"));
    }
    let mut out = Vec::new();
    for mut s in list {
        let Some(p) = percentile(&s.values, n, false) else {
            continue;
        };
        s.tag("nPercentile", pyfmt::repr(n));
        let count = if s.step > 0 {
            ((s.end - s.start) / s.step).max(0) as usize
        } else {
            0
        };
        out.push(s.copy_with(
            format!("nPercentile({}, {})", s.name, pyfmt::g(n)),
            vec![Some(p); count],
        ));
    }
    Ok(out)
}

fn aggregate_line(ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let list = a.list(0)?;
    let func = a.opt_str(1).unwrap_or_else(|| "average".into());
    let keep_step = a.bool_or(2, false);
    let f = AggFunc::parse(&func)
        .ok_or_else(|| a.error(format!("unsupported aggregation function: {func}")))?;
    Ok(list
        .into_iter()
        .map(|s| {
            let value = f.apply(&s.values);
            let name = match value {
                Some(v) => format!("aggregateLine({}, {})", s.name, pyfmt::g(v)),
                None => format!("aggregateLine({}, None)", s.name),
            };
            if keep_step {
                s.copy_with(name, vec![value; s.values.len()])
            } else {
                let label = value.map_or("None".to_string(), pyfmt::repr);
                let mut line = super::special::constant_line_opt(ev, value, label);
                line.rename(name);
                line
            }
        })
        .collect())
}

/// Least-squares factor (per second) and offset of a series, graphite's
/// `_linearRegressionAnalysis`; `None` when the fit is undefined.
fn regression(s: &Series) -> Option<(f64, f64)> {
    let (mut n, mut si, mut sv, mut sii, mut siv) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for (i, v) in s.values.iter().enumerate() {
        if let Some(v) = v {
            let i = i as f64;
            n += 1.0;
            si += i;
            sv += v;
            sii += i * i;
            siv += i * v;
        }
    }
    let denominator = n * sii - si * si;
    if denominator == 0.0 {
        return None;
    }
    let factor = (n * siv - si * sv) / denominator / s.step as f64;
    let offset = (sii * sv - siv * si) / denominator - factor * s.start as f64;
    Some((factor, offset))
}

fn linear_regression(ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let list = a.list(0)?;
    let (mut from, mut until) = (ev.from, ev.until);
    if let Some(t) = a.opt_str(1) {
        from = crate::time::parse_time(&t, ev.now)?;
    }
    if let Some(t) = a.opt_str(2) {
        until = crate::time::parse_time(&t, ev.now)?;
    }
    let expr = a
        .exprs
        .first()
        .ok_or_else(|| a.error("needs a series expression"))?;
    let sources = ev.reevaluate(expr, from, until)?;
    let mut out = Vec::new();
    for (source, s) in sources.iter().zip(list) {
        let Some((factor, offset)) = regression(source) else {
            continue;
        };
        let values = (0..s.values.len())
            .map(|i| Some(offset + (s.start + i as i64 * s.step) as f64 * factor))
            .collect();
        let mut n = s.copy_with(
            format!("linearRegression({}, {from}, {until})", s.name),
            values,
        );
        n.tag("linearRegressions", format!("{from}, {until}"));
        out.push(n);
    }
    Ok(out)
}
