//! Functions that change a series' time grid or look at other time ranges: `summarize`,
//! `smartSummarize`, `hitcount`, `timeShift`, `timeStack`, `timeSlice`, `integralByInterval`.
//!
//! Bucket alignment follows graphite-web: `summarize` aligns buckets to multiples of the interval
//! unless `alignToFrom`, `hitcount` aligns them to the end of the series and spreads each value
//! (a rate per second) over the seconds it covers. Shifting functions re-evaluate their input over
//! the shifted window.

use super::aggfunc::AggFunc;
use super::{def, SERIES_LIST};
use crate::args::{Args, Lit, Param, ParamType as T};
use crate::error::{QueryError, Result};
use crate::eval::Evaluator;
use crate::registry::FunctionDef;
use crate::series::Series;
use crate::time::{civil_from_days, days_from_civil, parse_offset, parse_time};

const INTERVAL_SUGGESTIONS: &[Lit] = &[Lit::Str("10min"), Lit::Str("1h"), Lit::Str("1d")];
const SHIFT_SUGGESTIONS: &[Lit] = &[
    Lit::Str("1h"),
    Lit::Str("6h"),
    Lit::Str("12h"),
    Lit::Str("1d"),
    Lit::Str("2d"),
    Lit::Str("7d"),
    Lit::Str("14d"),
    Lit::Str("30d"),
];
const ALIGN_OPTIONS: &[&str] = &[
    "days", "hours", "minutes", "months", "seconds", "weeks", "years",
];

pub(crate) const DEFS: &[FunctionDef] = &[
    def("summarize", "Transform", "Aggregates values into buckets of the given interval (sum by default), aligned to the interval or to `from`.", &[SERIES_LIST, Param::new("intervalString", T::Interval).req().sugg(INTERVAL_SUGGESTIONS), Param::new("func", T::AggFunc).def(Lit::Str("sum")), Param::new("alignToFrom", T::Boolean).def(Lit::Bool(false))], summarize),
    def("smartSummarize", "Transform", "Like summarize, with buckets starting at `from` optionally aligned to a calendar unit.", &[SERIES_LIST, Param::new("intervalString", T::Interval).req().sugg(INTERVAL_SUGGESTIONS), Param::new("func", T::AggFunc).def(Lit::Str("sum")), Param::new("alignTo", T::Str).opts(ALIGN_OPTIONS)], smart_summarize),
    def("hitcount", "Transform", "Treats values as per-second rates and counts the hits in each interval bucket.", &[SERIES_LIST, Param::new("intervalString", T::Interval).req().sugg(INTERVAL_SUGGESTIONS), Param::new("alignToInterval", T::Boolean).def(Lit::Bool(false))], hitcount),
    def("timeShift", "Transform", "Draws the series shifted in time (back by default, forward with '+').", &[SERIES_LIST, Param::new("timeShift", T::Interval).req().sugg(SHIFT_SUGGESTIONS), Param::new("resetEnd", T::Boolean).def(Lit::Bool(true)), Param::new("alignDst", T::Boolean).def(Lit::Bool(false))], time_shift),
    def("timeStack", "Transform", "The series shifted by each multiple of a unit from start to end, stacked on one window.", &[SERIES_LIST, Param::new("timeShiftUnit", T::Interval).def(Lit::Str("1d")).sugg(SHIFT_SUGGESTIONS), Param::new("timeShiftStart", T::Integer).def(Lit::Int(0)), Param::new("timeShiftEnd", T::Integer).def(Lit::Int(7))], time_stack),
    def("timeSlice", "Transform", "Keeps only values between two times; null elsewhere.", &[SERIES_LIST, Param::new("startSliceAt", T::Date).req(), Param::new("endSliceAt", T::Date).def(Lit::Str("now"))], time_slice),
    def("integralByInterval", "Transform", "Running sum restarting at every interval boundary counted from `from`.", &[SERIES_LIST, Param::new("intervalUnit", T::Str).req()], integral_by_interval),
];

fn interval(a: &Args<'_>, text: &str) -> Result<i64> {
    let i = parse_offset(text)?;
    if i <= 0 {
        return Err(a.error(format!("interval must be positive: {text:?}")));
    }
    Ok(i)
}

/// graphite's `_summarizeValues`: buckets from `new_start` while below `new_end`; returns the
/// values and the end of the last bucket.
fn summarize_values(
    s: &Series,
    f: AggFunc,
    interval: i64,
    new_start: i64,
    new_end: i64,
) -> (Vec<Option<f64>>, i64) {
    let step = s.step.max(1);
    let slots = ((s.end - s.start).max(0) + step - 1) / step;
    let n = (slots as usize).min(s.values.len());
    let ts = |i: usize| s.start + i as i64 * step;
    let interval_points = interval as f64 / step as f64;
    let mut out = Vec::new();
    let mut i = 0usize;
    let mut t = new_start;
    while t < new_end {
        let mut first = i;
        let mut known = 0usize;
        while i < n && ts(i) < t + interval {
            if ts(i) <= t {
                first = i;
            }
            if ts(i) >= t && s.values[i].is_some() {
                known += 1;
            }
            i += 1;
        }
        let enough = known > 0 && known as f64 / interval_points >= s.x_files_factor;
        out.push(if enough {
            f.apply(&s.values[first..i])
        } else {
            None
        });
        t += interval;
    }
    (out, t)
}

fn summarize(_ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let list = a.list(0)?;
    let text = a.str(1)?;
    let func = a.opt_str(2).unwrap_or_else(|| "sum".into());
    let align = a.bool_or(3, false);
    let iv = interval(&a, &text)?;
    let f = AggFunc::parse(&func)
        .ok_or_else(|| a.error(format!("unsupported aggregation function: {func}")))?;
    Ok(list
        .into_iter()
        .map(|mut s| {
            let (start, end) = if align {
                (s.start, s.end)
            } else {
                (
                    s.start - s.start.rem_euclid(iv),
                    s.end - s.end.rem_euclid(iv) + iv,
                )
            };
            let (values, aligned_end) = summarize_values(&s, f, iv, start, end);
            s.tag("summarize", text.clone());
            s.tag("summarizeFunction", func.clone());
            let name = format!(
                "summarize({}, \"{text}\", \"{func}\"{})",
                s.name,
                if align { ", true" } else { "" }
            );
            let mut n = s.copy_with(name, values);
            n.start = start;
            n.end = if align { aligned_end } else { end };
            n.step = iv;
            n
        })
        .collect())
}

/// Truncates `t` to the start of its calendar `unit` (graphite's `alignTo` names, UTC).
fn align_to_unit(t: i64, unit: &str) -> Result<i64> {
    let day = t.div_euclid(86_400);
    let (y, m, _) = civil_from_days(day);
    let midnight = |d: i64| d * 86_400;
    let bad = || QueryError::invalid(format!("invalid alignTo unit {unit:?}"));
    Ok(if unit.starts_with('s') {
        t
    } else if unit.starts_with("min") {
        t - t.rem_euclid(60)
    } else if unit.starts_with('h') {
        t - t.rem_euclid(3600)
    } else if unit.starts_with('d') {
        midnight(day)
    } else if unit.starts_with('w') {
        let target = unit
            .chars()
            .last()
            .and_then(|c| c.to_digit(10))
            .map_or(1, i64::from);
        // ISO weekday: Monday 1 .. Sunday 7; 1970-01-01 was a Thursday (4).
        let iso = (day + 3).rem_euclid(7) + 1;
        midnight(day - (iso - target).rem_euclid(7))
    } else if unit.starts_with("mon") {
        midnight(days_from_civil(y, m, 1).ok_or_else(bad)?)
    } else if unit.starts_with('y') {
        midnight(days_from_civil(y, 1, 1).ok_or_else(bad)?)
    } else {
        return Err(bad());
    })
}

fn smart_summarize(ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let mut list = a.list(0)?;
    let text = a.str(1)?;
    let func = a.opt_str(2).unwrap_or_else(|| "sum".into());
    let iv = interval(&a, &text)?;
    let f = AggFunc::parse(&func)
        .ok_or_else(|| a.error(format!("unsupported aggregation function: {func}")))?;
    if let Some(unit) = a.opt_str(3).filter(|u| u != "True" && u != "False") {
        let from = align_to_unit(ev.from, &unit)?;
        let expr = a
            .exprs
            .first()
            .ok_or_else(|| a.error("needs a series expression"))?;
        list = ev.reevaluate(expr, from, ev.until)?;
    }
    Ok(list
        .into_iter()
        .map(|mut s| {
            let (values, end) = summarize_values(&s, f, iv, s.start, s.end);
            s.tag("smartSummarize", text.clone());
            s.tag("smartSummarizeFunction", func.clone());
            let mut n = s.copy_with(
                format!("smartSummarize({}, \"{text}\", \"{func}\")", s.name),
                values,
            );
            n.end = end;
            n.step = iv;
            n
        })
        .collect())
}

fn hitcount(ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let mut list = a.list(0)?;
    let text = a.str(1)?;
    let align = a.bool_or(2, false);
    let iv = interval(&a, &text)?;
    if align {
        let unit = if iv >= 86_400 {
            86_400
        } else if iv >= 3600 {
            3600
        } else if iv >= 60 {
            60
        } else {
            1
        };
        let from = ev.from - ev.from.rem_euclid(unit);
        let expr = a
            .exprs
            .first()
            .ok_or_else(|| a.error("needs a series expression"))?;
        list = ev.reevaluate(expr, from, ev.until)?;
        for s in &mut list {
            let count = (s.end - s.start).div_euclid(iv);
            s.end = s.start + count * iv + iv;
        }
    }
    Ok(list
        .into_iter()
        .map(|mut s| {
            let step = s.step;
            let buckets_n = ((s.end - s.start) as f64 / iv as f64).ceil().max(0.0) as i64;
            let mut buckets: Vec<Vec<f64>> = vec![Vec::new(); buckets_n as usize];
            let new_start = s.end - buckets_n * iv;
            for (i, v) in s.values.iter().enumerate() {
                let Some(v) = v else { continue };
                let start_time = s.start + i as i64 * step;
                let (start_bucket, start_mod) = (
                    (start_time - new_start).div_euclid(iv),
                    (start_time - new_start).rem_euclid(iv),
                );
                let end_time = start_time + step;
                let (mut end_bucket, mut end_mod) = (
                    (end_time - new_start).div_euclid(iv),
                    (end_time - new_start).rem_euclid(iv),
                );
                if end_bucket >= buckets_n {
                    end_bucket = buckets_n - 1;
                    end_mod = iv;
                }
                if start_bucket >= buckets_n {
                    continue;
                }
                if start_bucket == end_bucket {
                    if start_bucket >= 0 {
                        buckets[start_bucket as usize].push(v * (end_mod - start_mod) as f64);
                    }
                } else {
                    if start_bucket >= 0 {
                        buckets[start_bucket as usize].push(v * (iv - start_mod) as f64);
                    }
                    for j in (start_bucket + 1)..end_bucket {
                        if j >= 0 {
                            buckets[j as usize].push(v * iv as f64);
                        }
                    }
                    if end_mod > 0 && end_bucket >= 0 {
                        buckets[end_bucket as usize].push(v * end_mod as f64);
                    }
                }
            }
            let values = buckets
                .iter()
                .map(|b| (!b.is_empty()).then(|| b.iter().sum()))
                .collect();
            s.tag("hitcount", text.clone());
            let name = format!(
                "hitcount({}, \"{text}\"{})",
                s.name,
                if align { ", true" } else { "" }
            );
            let mut n = s.copy_with(name, values);
            n.start = new_start;
            n.step = iv;
            n
        })
        .collect())
}

/// A shift as graphite reads it: no sign means back in time.
fn shift_text(text: &str) -> String {
    if text.starts_with(|c: char| c.is_ascii_digit()) {
        format!("-{text}")
    } else {
        text.to_string()
    }
}

fn time_shift(ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let list = a.list(0)?;
    let text = shift_text(&a.str(1)?);
    let reset_end = a.bool_or(2, true);
    let delta = parse_offset(&text)?;
    let Some(first) = list.first() else {
        return Ok(Vec::new());
    };
    let (start, end) = (first.start, first.end);
    let expr = a
        .exprs
        .first()
        .ok_or_else(|| a.error("needs a series expression"))?;
    let shifted = ev.reevaluate(expr, ev.from + delta, ev.until + delta)?;
    Ok(shifted
        .into_iter()
        .map(|mut s| {
            s.tag("timeShift", text.clone());
            s.name = format!("timeShift({}, \"{text}\")", s.name);
            s.end = if reset_end {
                end
            } else {
                s.end - s.start + start
            };
            s.start = start;
            s
        })
        .collect())
}

fn time_stack(ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let list = a.list(0)?;
    let unit = shift_text(&a.opt_str(1).unwrap_or_else(|| "1d".into()));
    let from_n = a.opt_i64(2).unwrap_or(0);
    let to_n = a.opt_i64(3).unwrap_or(7);
    let delta = parse_offset(&unit)?;
    let Some(first) = list.first() else {
        return Ok(Vec::new());
    };
    let (start, end) = (first.start, first.end);
    let expr = a
        .exprs
        .first()
        .ok_or_else(|| a.error("needs a series expression"))?;
    let mut out = Vec::new();
    for shift in from_n..to_n {
        let d = delta.saturating_mul(shift);
        for mut s in ev.reevaluate(expr, ev.from + d, ev.until + d)? {
            s.tag("timeShiftUnit", unit.clone());
            s.tag("timeShift", shift.to_string());
            s.rename(format!("timeShift({}, {unit}, {shift})", s.name));
            s.start = start;
            s.end = end;
            out.push(s);
        }
    }
    Ok(out)
}

fn time_slice(ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let mut list = a.list(0)?;
    let start = parse_time(&a.str(1)?, ev.now)?;
    let end = parse_time(&a.opt_str(2).unwrap_or_else(|| "now".into()), ev.now)?;
    for s in &mut list {
        s.tag("timeSliceStart", start.to_string());
        s.tag("timeSliceEnd", end.to_string());
        s.name = format!("timeSlice({}, {start}, {end})", s.name);
        let mut t = ev.from;
        for v in &mut s.values {
            if t < start || t > end {
                *v = None;
            }
            t += s.step;
        }
    }
    Ok(list)
}

fn integral_by_interval(ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let list = a.list(0)?;
    let text = a.str(1)?;
    let duration = parse_offset(&text)?.abs();
    if duration == 0 {
        return Err(a.error("interval must not be zero"));
    }
    let from = ev.from;
    Ok(list
        .into_iter()
        .map(|mut s| {
            let mut t = s.start;
            let mut current = 0.0;
            let values = s
                .values
                .iter()
                .map(|v| {
                    if (t - from).div_euclid(duration) != (t - from - s.step).div_euclid(duration) {
                        current = 0.0;
                    }
                    if let Some(v) = v {
                        current += v;
                    }
                    t += s.step;
                    Some(current)
                })
                .collect();
            s.tag("integralByInterval", text.clone());
            s.copy_with(format!("integralByInterval({},'{text}')", s.name), values)
        })
        .collect())
}
