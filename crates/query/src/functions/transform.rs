//! The "Transform" family: functions that rewrite each series' values on its own grid
//! (`scale`, `offset`, `derivative`, `perSecond`, `integral`, `keepLastValue`, `transformNull`,
//! `log`, ...), with graphite-web's names (`scale(x,2.5)` uses `%g`) and null handling.
//!
//! Functions that need data outside the window or change the grid are in `time_fns.rs` and
//! `calculate.rs`.

use super::aggfunc::{safe_max, safe_min, safe_pow};
use super::{def, SERIES_LIST};
use crate::args::{Args, Lit, Param, ParamType as T, Value};
use crate::error::Result;
use crate::eval::Evaluator;
use crate::pyfmt;
use crate::registry::FunctionDef;
use crate::series::Series;

const FACTOR: Param = Param::new("factor", T::Float).req();
const ONLY: &[Param] = &[SERIES_LIST];
const MAX_MIN: &[Param] = &[
    SERIES_LIST,
    Param::new("maxValue", T::Float),
    Param::new("minValue", T::Float),
];
const LIMIT: &[Param] = &[SERIES_LIST, Param::new("limit", T::IntOrInf).def(Lit::Inf)];

pub(crate) const DEFS: &[FunctionDef] = &[
    def("scale", "Transform", "Multiplies every value by a constant.", &[SERIES_LIST, FACTOR], scale),
    def("scaleToSeconds", "Transform", "Scales per-step values to per-N-seconds values, rounded to 6 decimals.", &[SERIES_LIST, Param::new("seconds", T::Float).req()], scale_to_seconds),
    def("offset", "Transform", "Adds a constant to every value.", &[SERIES_LIST, FACTOR], offset),
    def("add", "Transform", "Adds a constant to every value.", &[SERIES_LIST, Param::new("constant", T::Float).req()], add),
    def("absolute", "Transform", "Absolute value of every point.", ONLY, absolute),
    def("invert", "Transform", "1/x of every point; null where undefined.", ONLY, invert),
    def("squareRoot", "Transform", "Square root of every point; null for negative values.", ONLY, square_root),
    def("pow", "Transform", "Raises every value to a constant power.", &[SERIES_LIST, FACTOR], pow),
    def("exp", "Transform", "e raised to the power of every value.", ONLY, exp),
    def("sigmoid", "Transform", "Applies 1 / (1 + exp(-x)) to every value.", ONLY, sigmoid),
    def("logit", "Transform", "Applies log(x / (1 - x)) to every value.", ONLY, logit),
    def("log", "Transform", "Logarithm of every value in the given base (10 by default); null for values <= 0.", &[SERIES_LIST, Param::new("base", T::Integer).def(Lit::Int(10))], log),
    def("logarithm", "Transform", "Long form of log (graphite-web's Python name for it): logarithm of every value in the given base (10 by default); null for values <= 0.", &[SERIES_LIST, Param::new("base", T::Integer).def(Lit::Int(10))], log),
    def("round", "Transform", "Rounds every value to the given number of decimals.", &[SERIES_LIST, Param::new("precision", T::Integer).def(Lit::Int(0))], round),
    def("offsetToZero", "Transform", "Subtracts the series' minimum from every value.", ONLY, offset_to_zero),
    def("minMax", "Transform", "Min-max normalisation: (x - min) / (max - min).", ONLY, min_max),
    def("derivative", "Transform", "Difference between each value and the previous one.", ONLY, derivative),
    def("nonNegativeDerivative", "Transform", "Like derivative, but a decrease gives null, or a wrap-around delta when maxValue/minValue are given.", MAX_MIN, non_negative_derivative),
    def("perSecond", "Transform", "nonNegativeDerivative divided by the step: the per-second rate of a counter.", MAX_MIN, per_second),
    def("integral", "Transform", "Running sum of the values; nulls stay null and are skipped.", ONLY, integral),
    def("delay", "Transform", "Shifts values later by a number of steps, padding with nulls.", &[SERIES_LIST, Param::new("steps", T::Integer).req()], delay),
    def("keepLastValue", "Transform", "Fills gaps of at most `limit` nulls with the last known value.", LIMIT, keep_last_value),
    def("interpolate", "Transform", "Fills gaps of at most `limit` nulls by linear interpolation.", LIMIT, interpolate),
    def("transformNull", "Transform", "Replaces nulls with a default, optionally only where a reference series has data.", &[SERIES_LIST, Param::new("default", T::Float).def(Lit::Int(0)), Param::new("referenceSeries", T::SeriesList)], transform_null),
    def("isNonNull", "Transform", "1 where a value is known, 0 where it is null.", ONLY, is_non_null),
    def("changed", "Special", "1 where the value differs from the previous known value, else 0.", ONLY, changed),
];

/// Applies `f` to every known value, renames each series and records a tag.
fn map_known(
    mut list: Vec<Series>,
    name: impl Fn(&Series) -> String,
    tag: Option<(&str, String)>,
    f: impl Fn(f64) -> Option<f64>,
) -> Vec<Series> {
    for s in &mut list {
        if let Some((k, v)) = &tag {
            s.tag(k, v.clone());
        }
        let n = name(s);
        s.rename(n);
        for v in &mut s.values {
            *v = v.and_then(&f);
        }
    }
    list
}

/// A function of the series alone, applied to every known value: each series is renamed
/// `name(series)` and tagged `name=tag`, as graphite-web does.
fn unary(
    mut a: Args<'_>,
    name: &'static str,
    tag: &str,
    f: impl Fn(f64) -> Option<f64>,
) -> Result<Vec<Series>> {
    let list = a.list(0)?;
    Ok(map_known(
        list,
        |s| format!("{name}({})", s.name),
        Some((name, tag.into())),
        f,
    ))
}

fn scale(_ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let list = a.list(0)?;
    let k = a.f64(1)?;
    let g = pyfmt::g(k);
    Ok(map_known(
        list,
        |s| format!("scale({},{g})", s.name),
        Some(("scale", pyfmt::repr(k))),
        |v| Some(v * k),
    ))
}

fn scale_to_seconds(_ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let mut list = a.list(0)?;
    let seconds = a.f64(1)?;
    for s in &mut list {
        s.tag("scaleToSeconds", pyfmt::repr(seconds));
        s.rename(format!("scaleToSeconds({},{})", s.name, pyfmt::d(seconds)));
        let factor = seconds / s.step as f64;
        for v in s.values.iter_mut().flatten() {
            *v = pyfmt::round(*v * factor, 6);
        }
    }
    Ok(list)
}

fn offset(_ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let list = a.list(0)?;
    let k = a.f64(1)?;
    let g = pyfmt::g(k);
    Ok(map_known(
        list,
        |s| format!("offset({},{g})", s.name),
        Some(("offset", pyfmt::repr(k))),
        |v| Some(v + k),
    ))
}

fn add(_ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let list = a.list(0)?;
    let k = a.f64(1)?;
    let d = pyfmt::d(k);
    Ok(map_known(
        list,
        |s| format!("add({},{d})", s.name),
        Some(("add", pyfmt::repr(k))),
        |v| Some(v + k),
    ))
}

fn absolute(_ev: &mut Evaluator<'_>, a: Args<'_>) -> Result<Vec<Series>> {
    unary(a, "absolute", "1", |v| Some(v.abs()))
}

fn invert(_ev: &mut Evaluator<'_>, a: Args<'_>) -> Result<Vec<Series>> {
    unary(a, "invert", "1", |v| safe_pow(Some(v), -1.0))
}

fn square_root(_ev: &mut Evaluator<'_>, a: Args<'_>) -> Result<Vec<Series>> {
    unary(a, "squareRoot", "1", |v| safe_pow(Some(v), 0.5))
}

fn pow(_ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let list = a.list(0)?;
    let k = a.f64(1)?;
    let g = pyfmt::g(k);
    Ok(map_known(
        list,
        |s| format!("pow({},{g})", s.name),
        Some(("pow", pyfmt::repr(k))),
        |v| safe_pow(Some(v), k),
    ))
}

fn exp(_ev: &mut Evaluator<'_>, a: Args<'_>) -> Result<Vec<Series>> {
    unary(a, "exp", "e", |v| Some(v.exp()))
}

fn sigmoid(_ev: &mut Evaluator<'_>, a: Args<'_>) -> Result<Vec<Series>> {
    unary(a, "sigmoid", "sigmoid", |v| Some(1.0 / (1.0 + (-v).exp())))
}

fn logit(_ev: &mut Evaluator<'_>, a: Args<'_>) -> Result<Vec<Series>> {
    unary(a, "logit", "logit", |v| {
        let q = v / (1.0 - v);
        (v != 1.0 && q > 0.0).then(|| q.ln())
    })
}

fn log(_ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let mut list = a.list(0)?;
    let base = a.take(1).unwrap_or(Value::Int(10));
    let b = base.as_f64().unwrap_or(10.0);
    let text = base.py_str();
    for s in &mut list {
        s.tag("log", text.clone());
        let values = s
            .values
            .iter()
            .map(|v| v.and_then(|v| (v > 0.0).then(|| v.ln() / b.ln())))
            .collect();
        *s = s.copy_with(format!("log({}, {text})", s.name), values);
    }
    Ok(list)
}

fn round(_ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let mut list = a.list(0)?;
    let precision = a.opt_i64(1);
    for s in &mut list {
        s.tag("round", precision.unwrap_or(0).to_string());
        match precision {
            None => s.rename(format!("round({})", s.name)),
            Some(p) => s.rename(format!("round({},{p})", s.name)),
        }
        let p = precision.unwrap_or(0);
        for v in s.values.iter_mut().flatten() {
            *v = if p >= 0 {
                pyfmt::round(*v, p as usize)
            } else {
                let k = 10f64.powi(p.saturating_neg().min(308) as i32);
                (*v / k).round_ties_even() * k
            };
        }
    }
    Ok(list)
}

fn offset_to_zero(_ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let mut list = a.list(0)?;
    for s in &mut list {
        let min = safe_min(&s.values);
        s.tag("offsetToZero", min.map_or("None".into(), pyfmt::repr));
        s.rename(format!("offsetToZero({})", s.name));
        if let Some(m) = min {
            for v in s.values.iter_mut().flatten() {
                *v -= m;
            }
        }
    }
    Ok(list)
}

fn min_max(_ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let mut list = a.list(0)?;
    for s in &mut list {
        s.rename(format!("minMax({})", s.name));
        let lo = safe_min(&s.values).unwrap_or(0.0);
        let hi = safe_max(&s.values).unwrap_or(0.0);
        for v in s.values.iter_mut().flatten() {
            *v = if hi - lo == 0.0 {
                0.0
            } else {
                (*v - lo) / (hi - lo)
            };
        }
    }
    Ok(list)
}

fn derivative(_ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let list = a.list(0)?;
    Ok(list
        .into_iter()
        .map(|mut s| {
            let mut prev: Option<f64> = None;
            let values = s
                .values
                .iter()
                .map(|v| {
                    let out = match (prev, v) {
                        (Some(p), Some(v)) => Some(v - p),
                        _ => None,
                    };
                    prev = *v;
                    out
                })
                .collect();
            s.tag("derivative", "1");
            s.copy_with(format!("derivative({})", s.name), values)
        })
        .collect())
}

/// graphite's `_nonNegativeDelta`: the delta from the previous value, with counter wraps.
fn non_negative_delta(
    val: Option<f64>,
    prev: Option<f64>,
    max: Option<f64>,
    min: Option<f64>,
) -> (Option<f64>, Option<f64>) {
    if let (Some(m), Some(v)) = (max, val) {
        if v > m {
            return (None, None);
        }
    }
    if let (Some(m), Some(v)) = (min, val) {
        if v < m {
            return (None, None);
        }
    }
    let (Some(p), Some(v)) = (prev, val) else {
        return (None, val);
    };
    if v >= p {
        return (Some(v - p), val);
    }
    if let Some(m) = max {
        return (Some(m + 1.0 + v - p - min.unwrap_or(0.0)), val);
    }
    if let Some(m) = min {
        return (Some(v - m), val);
    }
    (None, val)
}

fn non_negative_derivative(_ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let list = a.list(0)?;
    let (max, min) = (a.opt_f64(1), a.opt_f64(2));
    Ok(list
        .into_iter()
        .map(|mut s| {
            let mut prev = None;
            let values = s
                .values
                .iter()
                .map(|v| {
                    let (d, p) = non_negative_delta(*v, prev, max, min);
                    prev = p;
                    d
                })
                .collect();
            s.tag("nonNegativeDerivative", "1");
            s.copy_with(format!("nonNegativeDerivative({})", s.name), values)
        })
        .collect())
}

fn per_second(_ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let list = a.list(0)?;
    let (max, min) = (a.opt_f64(1), a.opt_f64(2));
    Ok(list
        .into_iter()
        .map(|mut s| {
            let step = s.step as f64;
            let mut prev = None;
            let values = s
                .values
                .iter()
                .map(|v| {
                    let (d, p) = non_negative_delta(*v, prev, max, min);
                    prev = p;
                    d.map(|d| pyfmt::round(d / step, 6))
                })
                .collect();
            s.tag("perSecond", "1");
            s.copy_with(format!("perSecond({})", s.name), values)
        })
        .collect())
}

fn integral(_ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let list = a.list(0)?;
    Ok(list
        .into_iter()
        .map(|mut s| {
            let mut total = 0.0;
            let values = s
                .values
                .iter()
                .map(|v| {
                    v.map(|v| {
                        total += v;
                        total
                    })
                })
                .collect();
            s.tag("integral", "1");
            s.copy_with(format!("integral({})", s.name), values)
        })
        .collect())
}

fn delay(_ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let list = a.list(0)?;
    let steps = a.i64(1)?;
    Ok(list
        .into_iter()
        .map(|mut s| {
            let n = s.values.len();
            let k = (steps.unsigned_abs() as usize).min(n);
            let values: Vec<Option<f64>> = if steps < 0 {
                s.values[k..]
                    .iter()
                    .copied()
                    .chain(std::iter::repeat_n(None, k))
                    .collect()
            } else if steps == 0 {
                // Python's `series[:-0]` is empty, so a zero delay leaves nothing.
                Vec::new()
            } else {
                std::iter::repeat_n(None, k)
                    .chain(s.values[..n - k].iter().copied())
                    .collect()
            };
            s.tag("delay", steps.to_string());
            s.copy_with(format!("delay({},{steps})", s.name), values)
        })
        .collect())
}

fn limit_arg(a: &mut Args<'_>, i: usize) -> f64 {
    a.opt_f64(i).unwrap_or(f64::INFINITY)
}

fn keep_last_value(_ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let mut list = a.list(0)?;
    let limit = limit_arg(&mut a, 1);
    for s in &mut list {
        s.rename(format!("keepLastValue({})", s.name));
        let mut nones = 0usize;
        let mut last: Option<f64> = None;
        let n = s.values.len();
        for i in 0..n {
            match s.values[i] {
                None => nones += 1,
                Some(v) => {
                    if nones > 0 && nones as f64 <= limit {
                        if let Some(l) = last {
                            s.values[i - nones..i].iter_mut().for_each(|x| *x = Some(l));
                        }
                    }
                    nones = 0;
                    last = Some(v);
                }
            }
        }
        if nones > 0 && nones as f64 <= limit {
            if let Some(l) = last {
                s.values[n - nones..].iter_mut().for_each(|x| *x = Some(l));
            }
        }
    }
    Ok(list)
}

fn interpolate(_ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let mut list = a.list(0)?;
    let limit = limit_arg(&mut a, 1);
    for s in &mut list {
        s.rename(format!("interpolate({})", s.name));
        let mut nones = 0usize;
        for i in 1..s.values.len() {
            match s.values[i] {
                None => nones += 1,
                Some(_) if nones == 0 => {}
                Some(v) => {
                    let before = i - nones - 1;
                    match s.values[before] {
                        None => nones = 0,
                        Some(b) => {
                            if nones as f64 <= limit {
                                for idx in i - nones..i {
                                    let frac = (idx - before) as f64 * (v - b) / (nones + 1) as f64;
                                    s.values[idx] = Some(b + frac);
                                }
                            }
                            nones = 0;
                        }
                    }
                }
            }
        }
    }
    Ok(list)
}

fn transform_null(_ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let mut list = a.list(0)?;
    let default = a.f64_or(1, 0.0);
    let reference = match a.take(2) {
        Some(Value::List(l)) if !l.is_empty() => Some(l),
        _ => None,
    };
    let defaults: Option<Vec<Option<f64>>> = reference.as_ref().map(|r| {
        let len = r.iter().map(|s| s.values.len()).max().unwrap_or(0);
        (0..len)
            .map(|i| {
                r.iter()
                    .any(|s| s.values.get(i).copied().flatten().is_some())
                    .then_some(default)
            })
            .collect()
    });
    for s in &mut list {
        s.tag("transformNull", pyfmt::repr(default));
        if defaults.is_some() {
            s.tag("referenceSeries", "1");
            s.rename(format!(
                "transformNull({},{},referenceSeries)",
                s.name,
                pyfmt::g(default)
            ));
        } else {
            s.rename(format!("transformNull({},{})", s.name, pyfmt::g(default)));
        }
        match &defaults {
            Some(d) => {
                let len = s.values.len().max(d.len());
                s.values = (0..len)
                    .map(|i| {
                        s.values
                            .get(i)
                            .copied()
                            .flatten()
                            .or(d.get(i).copied().flatten())
                    })
                    .collect();
            }
            None => s
                .values
                .iter_mut()
                .for_each(|v| *v = Some(v.unwrap_or(default))),
        }
    }
    Ok(list)
}

fn is_non_null(_ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let mut list = a.list(0)?;
    for s in &mut list {
        s.tag("isNonNull", "1");
        s.rename(format!("isNonNull({})", s.name));
        s.values
            .iter_mut()
            .for_each(|v| *v = Some(if v.is_some() { 1.0 } else { 0.0 }));
    }
    Ok(list)
}

fn changed(_ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let mut list = a.list(0)?;
    for s in &mut list {
        s.rename(format!("changed({})", s.name));
        let mut prev: Option<f64> = None;
        for v in &mut s.values {
            let cur = *v;
            *v = Some(match (prev, cur) {
                (None, _) => {
                    prev = cur;
                    0.0
                }
                (Some(p), Some(c)) if p != c => {
                    prev = cur;
                    1.0
                }
                _ => 0.0,
            });
        }
    }
    Ok(list)
}
