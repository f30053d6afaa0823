//! Holt-Winters forecasting (`holtWintersForecast`, `holtWintersConfidenceBands`,
//! `holtWintersConfidenceArea`, `holtWintersAberration`), as graphite-web computes it: triple
//! exponential smoothing with alpha = gamma = 0.1 and beta = 0.0035, bootstrapped on data fetched
//! `bootstrapInterval` (7 days by default) before `from`.
//!
//! Quirks kept for fidelity: the smoothing restarts around nulls exactly as graphite's loop does,
//! and the derived series share their input's tags (graphite mutates one dictionary).

use super::{def, SERIES_LIST};
use crate::args::{Args, Lit, Param, ParamType as T};
use crate::error::Result;
use crate::eval::Evaluator;
use crate::registry::FunctionDef;
use crate::series::Series;
use crate::time::parse_offset;

const BOOTSTRAP: Param = Param::new("bootstrapInterval", T::Interval)
    .def(Lit::Str("7d"))
    .sugg(&[Lit::Str("7d"), Lit::Str("30d")]);
const SEASONALITY: Param = Param::new("seasonality", T::Interval)
    .def(Lit::Str("1d"))
    .sugg(&[Lit::Str("1d"), Lit::Str("7d")]);
const DELTA: Param = Param::new("delta", T::Integer).def(Lit::Int(3));

pub(crate) const DEFS: &[FunctionDef] = &[
    def(
        "holtWintersForecast",
        "Calculate",
        "Holt-Winters forecast of each series, bootstrapped on the preceding bootstrapInterval.",
        &[SERIES_LIST, BOOTSTRAP, SEASONALITY],
        forecast,
    ),
    def(
        "holtWintersConfidenceBands",
        "Calculate",
        "Upper and lower bands delta forecast deviations around the Holt-Winters forecast.",
        &[SERIES_LIST, DELTA, BOOTSTRAP, SEASONALITY],
        confidence_bands,
    ),
    def(
        "holtWintersConfidenceArea",
        "Calculate",
        "The area between the Holt-Winters confidence bands.",
        &[SERIES_LIST, DELTA, BOOTSTRAP, SEASONALITY],
        confidence_area,
    ),
    def(
        "holtWintersAberration",
        "Calculate",
        "How far each value lies outside the Holt-Winters confidence bands (0 inside).",
        &[SERIES_LIST, DELTA, BOOTSTRAP, SEASONALITY],
        aberration,
    ),
];

/// Predictions and deviations of graphite's `holtWintersAnalysis`, one per input value.
fn analyse(values: &[Option<f64>], season_length: usize) -> (Vec<Option<f64>>, Vec<f64>) {
    let (alpha, gamma, beta) = (0.1, 0.1, 0.0035);
    let n = values.len();
    let mut intercepts: Vec<Option<f64>> = Vec::with_capacity(n);
    let mut slopes: Vec<f64> = Vec::with_capacity(n);
    let mut seasonals: Vec<f64> = Vec::with_capacity(n);
    let mut predictions: Vec<Option<f64>> = Vec::with_capacity(n);
    let mut deviations: Vec<f64> = Vec::with_capacity(n);
    let back = |v: &Vec<f64>, i: usize| -> f64 {
        i.checked_sub(season_length)
            .and_then(|j| v.get(j).copied())
            .unwrap_or(0.0)
    };
    let mut next_pred: Option<f64> = None;
    for (i, actual) in values.iter().enumerate() {
        let Some(actual) = *actual else {
            intercepts.push(None);
            slopes.push(0.0);
            seasonals.push(0.0);
            predictions.push(next_pred);
            deviations.push(0.0);
            next_pred = None;
            continue;
        };
        let (last_intercept, last_slope, prediction) = if i == 0 {
            (actual, 0.0, Some(actual))
        } else {
            let li = intercepts.last().copied().flatten().unwrap_or(actual);
            (li, slopes.last().copied().unwrap_or(0.0), next_pred)
        };
        let last_seasonal = back(&seasonals, i);
        let next_last_seasonal = back(&seasonals, i + 1);
        let last_seasonal_dev = back(&deviations, i);
        let intercept =
            alpha * (actual - last_seasonal) + (1.0 - alpha) * (last_intercept + last_slope);
        let slope = beta * (intercept - last_intercept) + (1.0 - beta) * last_slope;
        let seasonal = gamma * (actual - intercept) + (1.0 - gamma) * last_seasonal;
        next_pred = Some(intercept + slope + next_last_seasonal);
        let deviation =
            gamma * (actual - prediction.unwrap_or(0.0)).abs() + (1.0 - gamma) * last_seasonal_dev;
        intercepts.push(Some(intercept));
        slopes.push(slope);
        seasonals.push(seasonal);
        predictions.push(prediction);
        deviations.push(deviation);
    }
    (predictions, deviations)
}

/// One analysed series: its forecast and deviation over the requested window.
struct Analysis {
    source: Series,
    forecast: Vec<Option<f64>>,
    deviation: Vec<Option<f64>>,
    start: i64,
}

fn analyse_all(
    ev: &mut Evaluator<'_>,
    a: &mut Args<'_>,
    bootstrap_index: usize,
) -> Result<Vec<Analysis>> {
    let bootstrap = parse_offset(&a.opt_str(bootstrap_index).unwrap_or_else(|| "7d".into()))?;
    let seasonality = parse_offset(
        &a.opt_str(bootstrap_index + 1)
            .unwrap_or_else(|| "1d".into()),
    )?;
    let expr = a
        .exprs
        .first()
        .ok_or_else(|| a.error("needs a series expression"))?;
    if bootstrap.abs() > super::calculate::MAX_PREVIEW_SECONDS {
        return Err(a.error("bootstrapInterval longer than ten years"));
    }
    let preview = ev.reevaluate(expr, ev.from - bootstrap, ev.until)?;
    Ok(preview
        .into_iter()
        .map(|mut s| {
            let step = s.step.max(1);
            let season = usize::try_from(seasonality / step).unwrap_or(0);
            let (predictions, deviations) = analyse(&s.values, season);
            let skip = usize::try_from(bootstrap / step)
                .unwrap_or(0)
                .min(predictions.len());
            s.tag("holtWintersForecast", "1");
            s.tag("holtWintersDeviation", "1");
            Analysis {
                forecast: predictions[skip..].to_vec(),
                deviation: deviations[skip..].iter().map(|d| Some(*d)).collect(),
                start: s.start + bootstrap,
                source: s,
            }
        })
        .collect())
}

fn derived(an: &Analysis, name: String, values: Vec<Option<f64>>) -> Series {
    let mut s = an.source.copy_with(name, values);
    s.start = an.start;
    s
}

fn forecast(ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    a.list(0)?;
    let all = analyse_all(ev, &mut a, 1)?;
    Ok(all
        .iter()
        .map(|an| {
            derived(
                an,
                format!("holtWintersForecast({})", an.source.name),
                an.forecast.clone(),
            )
        })
        .collect())
}

/// Lower and upper bands for every analysed series, in graphite's order (lower first).
fn bands(ev: &mut Evaluator<'_>, a: &mut Args<'_>) -> Result<Vec<Series>> {
    a.list(0)?;
    let delta = a.opt_i64(1).unwrap_or(3) as f64;
    let all = analyse_all(ev, a, 2)?;
    let mut out = Vec::with_capacity(all.len() * 2);
    for an in &all {
        let (lower, upper): (Vec<Option<f64>>, Vec<Option<f64>>) = an
            .forecast
            .iter()
            .zip(&an.deviation)
            .map(|(f, d)| match (f, d) {
                (Some(f), Some(d)) => (Some(f - delta * d), Some(f + delta * d)),
                _ => (None, None),
            })
            .unzip();
        let name = &an.source.name;
        for (kind, values) in [("Lower", lower), ("Upper", upper)] {
            let mut s = derived(an, format!("holtWintersConfidence{kind}({name})"), values);
            s.tags
                .insert("holtWintersConfidenceLower".into(), "1".into());
            s.tags
                .insert("holtWintersConfidenceUpper".into(), "1".into());
            s.path_expression = an.source.path_expression.clone();
            out.push(s);
        }
    }
    Ok(out)
}

fn confidence_bands(ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    bands(ev, &mut a)
}

fn confidence_area(ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let mut out = bands(ev, &mut a)?;
    if out.len() != 2 {
        return Err(a.error("needs exactly one input series"));
    }
    let name = format!("holtWintersConfidenceArea({})", out[1].path_expression);
    for s in &mut out {
        s.tags.remove("areaBetween");
        s.tag("holtWintersConfidenceArea", "1");
        s.rename(name.clone());
    }
    Ok(out)
}

fn aberration(ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let list = a.list(0)?;
    let bands = {
        // Re-bind the same arguments for the bands: graphite calls the bands function with them.
        let delta = a.opt_i64(1).unwrap_or(3);
        let bootstrap = a.opt_str(2).unwrap_or_else(|| "7d".into());
        let seasonality = a.opt_str(3).unwrap_or_else(|| "1d".into());
        let target_bands = Args::bind(
            "holtWintersConfidenceBands",
            DEFS[1].params,
            vec![
                crate::args::Value::List(Vec::new()),
                crate::args::Value::Int(delta),
                crate::args::Value::Str(bootstrap),
                crate::args::Value::Str(seasonality),
            ],
            Vec::new(),
            a.exprs,
            a.raw,
        )?;
        confidence_bands(ev, target_bands)?
    };
    let find = |kind: &str, name: &str| {
        let want = format!("holtWintersConfidence{kind}({name})");
        bands.iter().find(|b| b.name == want)
    };
    let mut out = Vec::with_capacity(list.len());
    for s in list {
        let (Some(lower), Some(upper)) = (find("Lower", &s.name), find("Upper", &s.name)) else {
            return Err(a.error(format!("no confidence bands for {}", s.name)));
        };
        let values = s
            .values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let Some(v) = *v else { return Some(0.0) };
                let up = upper.values.get(i).copied().flatten();
                let lo = lower.values.get(i).copied().flatten();
                Some(match (up, lo) {
                    (Some(u), _) if v > u => v - u,
                    (_, Some(l)) if v < l => v - l,
                    _ => 0.0,
                })
            })
            .collect();
        let mut n = Series::new(
            format!("holtWintersAberration({})", s.name),
            s.start,
            s.end,
            s.step,
            values,
            s.x_files_factor,
        );
        n.tags = s.tags.clone();
        n.tag("holtWintersAberration", "1");
        out.push(n);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn analysis_seeds_with_the_first_value() {
        let (p, d) = analyse(&[Some(10.0), Some(10.0), None, Some(10.0)], 2);
        assert_eq!(p[0], Some(10.0));
        assert_eq!(d[0], 0.0);
        assert_eq!(p[2], Some(10.0));
        assert_eq!(p.len(), 4);
    }
}
