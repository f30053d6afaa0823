//! Axis arithmetic for rendered graphs, following graphite-web 1.1's `glyph.py` so a graph
//! reads like the one Graphite would draw: the y axis's "nice" step (1, 2 or 5 × 10ⁿ, or powers
//! of two for binary units) chosen for the least slop over 4–6 divisions, its labels with
//! unit prefixes (`k`, `M`, `Ki`, …), and the x axis's label/grid spacing picked from the
//! seconds each pixel covers. Pure functions of numbers; no drawing and no time zones here
//! (`tz` owns those).

/// Values fractionally outside the nominal limits are accepted so rounding errors do not move
/// a label (glyph.py's `EPSILON`).
const EPSILON: f64 = 0.0001;

/// How y labels are scaled: graphite's `yUnitSystem`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitSystem {
    /// Powers of 1000: k, M, G, T, P (the default).
    Si,
    /// Powers of 1024: Ki, Mi, Gi, Ti, Pi, and y steps that are powers of two.
    Binary,
    /// Plain numbers.
    None,
}

impl UnitSystem {
    /// graphite-web lower-cases the value and falls back to `si` for anything it does not know.
    pub fn parse(s: &str) -> UnitSystem {
        match s.to_ascii_lowercase().as_str() {
            "binary" => UnitSystem::Binary,
            "none" => UnitSystem::None,
            _ => UnitSystem::Si,
        }
    }

    fn prefixes(self) -> &'static [(&'static str, f64)] {
        match self {
            UnitSystem::Si => &lookout_query::pyfmt::SI_PREFIXES,
            UnitSystem::Binary => &lookout_query::pyfmt::BINARY_PREFIXES,
            UnitSystem::None => &[],
        }
    }
}

/// `v` scaled to the largest prefix that both `v` and `step` reach (glyph.py `format_units`),
/// so every label on one axis shares a prefix as long as the step does.
pub fn format_units(v: f64, step: f64, system: UnitSystem) -> (f64, &'static str) {
    let whole = |x: f64| {
        if x - x.floor() < 1e-11 && x > 1.0 {
            x.floor()
        } else {
            x
        }
    };
    for &(prefix, size) in system.prefixes() {
        if v.abs() >= size && step >= size {
            return (whole(v / size), prefix);
        }
    }
    (whole(v), "")
}

/// The label of tick `value` on an axis of `step` and `span` (glyph.py `makeLabel`): small
/// values in `%g`/two decimals, the rest with one decimal, and the unit prefix after a space.
pub fn make_label(value: f64, step: f64, span: f64, system: UnitSystem) -> String {
    let (v, prefix) = format_units(value, step, system);
    let (span_v, span_prefix) = format_units(span, step, system);
    // glyph.py compares the span's bare prefix with the label's prefix after appending a
    // space, so any prefixed label takes the one-decimal form; kept for identical labels.
    let spaced = if prefix.is_empty() {
        String::new()
    } else {
        format!("{prefix} ")
    };
    let text = if v < 0.1 {
        format!("{} {spaced}", py_g(v))
    } else if v < 1.0 {
        format!("{v:.2} {spaced}")
    } else if span_v > 3.0 || span_prefix != spaced {
        // glyph.py's separate `span > 10` branch prints the same `%.1f` (labels are floats).
        format!("{v:.1} {spaced}")
    } else if span_v > 0.1 {
        format!("{v:.2} {spaced}")
    } else {
        format!("{} {spaced}", py_g(v))
    };
    text.trim_end().to_string()
}

/// Python's `"%g" % v`: six significant digits, trailing zeros dropped, exponent form below
/// 1e-4 or from 1e6.
pub fn py_g(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    if !v.is_finite() {
        return if v.is_nan() {
            "nan".into()
        } else if v > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        };
    }
    // Round to six significant digits first: the exponent is the rounded value's.
    let sci = format!("{v:.5e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..6).contains(&exp) {
        let m = strip_zeros(mantissa);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{m}e{sign}{:02}", exp.abs())
    } else {
        let decimals = (5 - exp).max(0) as usize;
        strip_zeros(&format!("{v:.decimals$}")).to_string()
    }
}

fn strip_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// A laid-out y axis: the value range the plot spans and its labelled ticks.
#[derive(Debug, Clone, PartialEq)]
pub struct YAxis {
    /// Value at the bottom edge of the plot.
    pub bottom: f64,
    /// Value at the top edge of the plot.
    pub top: f64,
    /// Distance between two ticks.
    pub step: f64,
    /// Tick values bottom to top, each with its label.
    pub ticks: Vec<(f64, String)>,
}

/// Lays out the y axis for data spanning `data` (None when nothing is drawn), with the user's
/// `yMin`/`yMax` pinning an end (glyph.py `setupYAxis` with a linear scale).
pub fn y_axis(
    data: Option<(f64, f64)>,
    y_min: Option<f64>,
    y_max: Option<f64>,
    system: UnitSystem,
) -> Result<YAxis, String> {
    let (mut lo, mut hi) = data.unwrap_or((0.0, 1.0));
    let (min_fixed, max_fixed) = (y_min.is_some(), y_max.is_some());
    if let Some(m) = y_min {
        lo = m;
    }
    if let Some(m) = y_max {
        hi = m;
    }
    if !lo.is_finite() || !hi.is_finite() {
        return Err("the y axis needs finite limits".into());
    }
    // reconcileLimits: make lo < hi, moving only an end the user did not pin.
    if lo >= hi {
        let delta = |x: f64| if x.abs() < 1e-9 { 1.0 } else { 0.1 * x.abs() };
        match (min_fixed, max_fixed) {
            (true, true) => return Err(format!("yMin ({lo}) must be less than yMax ({hi})")),
            (true, false) => hi = lo + delta(lo),
            (false, true) => lo = hi - delta(hi),
            (false, false) => {
                let d = delta(lo.abs().max(hi.abs()));
                let mid = (lo + hi) / 2.0;
                (lo, hi) = (mid - d, mid + d);
            }
        }
    }
    let step = choose_step(lo, hi, system == UnitSystem::Binary);
    let bottom = if min_fixed {
        lo
    } else {
        step * (lo / step + EPSILON).floor()
    };
    let top = if max_fixed {
        hi
    } else {
        step * (hi / step - EPSILON).ceil()
    };
    let span = top - bottom;
    let mut ticks = Vec::new();
    let start = step * (bottom / step - EPSILON).ceil();
    // Bounded: the step covers the range in at most six divisions, plus the pinned ends.
    for i in 0..64 {
        let value = start + f64::from(i) * step;
        if value > top + EPSILON * step {
            break;
        }
        // Snap values within rounding error of zero so "-0" never appears.
        let value = if value.abs() < step * 1e-9 {
            0.0
        } else {
            value
        };
        ticks.push((value, make_label(value, step, span, system)));
    }
    Ok(YAxis {
        bottom,
        top,
        step,
        ticks,
    })
}

/// The tick step with the least slop over 4, 5 or 6 divisions (glyph.py `chooseStep`).
pub fn choose_step(lo: f64, hi: f64, binary: bool) -> f64 {
    const DIVISORS: [f64; 3] = [4.0, 5.0, 6.0];
    let variance = hi - lo;
    let min_step = variance / 6.0;
    let slop = |step: f64, divisor: f64| {
        let bottom = step * (lo / step + EPSILON).floor();
        let top = bottom + step * divisor;
        (top >= hi - EPSILON * step).then(|| (top - hi).max(lo - bottom))
    };
    let (base, mantissas): (f64, &[f64]) = if binary {
        (2.0, &[1.0])
    } else {
        (10.0, &[1.0, 2.0, 5.0])
    };
    let mut exponent = (min_step.log(base) - EPSILON).floor();
    let mut best: Option<(f64, f64)> = None;
    // Steps grow geometrically, so a few dozen candidates always cover the range.
    for _ in 0..64 {
        let multiplier = base.powf(exponent);
        for m in mantissas {
            let step = m * multiplier;
            if step < min_step * (1.0 - EPSILON) {
                continue;
            }
            if let Some((best_slop, _)) = best {
                if step * 4.0 >= 2.0 * best_slop + variance {
                    return best.map_or(step, |(_, s)| s);
                }
            }
            for d in DIVISORS {
                if let Some(s) = slop(step, d) {
                    if best.is_none_or(|(b, _)| s < b) {
                        best = Some((s, step));
                    }
                }
            }
        }
        exponent += 1.0;
    }
    best.map_or(variance.max(1.0), |(_, s)| s)
}

/// How the x axis is labelled and gridded for one density of seconds per pixel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XAxisConfig {
    /// Smallest seconds-per-pixel this configuration suits.
    seconds_per_pixel_x100: u32,
    /// Seconds between minor grid lines.
    pub minor: i64,
    /// Seconds between major grid lines.
    pub major: i64,
    /// Seconds between labels.
    pub label: i64,
    /// Which strftime-like format the labels use.
    pub format: XFormat,
    /// Longest time range this configuration suits (None: any).
    max_interval: Option<i64>,
}

/// The label formats of glyph.py's `xAxisConfigs` (`DATE_FORMAT` is `%m/%d`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XFormat {
    /// `%H:%M:%S`
    HourMinuteSecond,
    /// `%H:%M`
    HourMinute,
    /// `%a %H:%M`
    WeekdayHourMinute,
    /// `%m/%d %H:%M`
    DateHourMinute,
    /// `%m/%d`
    Date,
    /// `%m/%d %Y`
    DateYear,
}

const MIN: i64 = 60;
const HOUR: i64 = 3600;
const DAY: i64 = 86_400;

const fn xc(
    spp_x100: u32,
    minor: i64,
    major: i64,
    label: i64,
    format: XFormat,
    max_interval: Option<i64>,
) -> XAxisConfig {
    XAxisConfig {
        seconds_per_pixel_x100: spp_x100,
        minor,
        major,
        label,
        format,
        max_interval,
    }
}

/// glyph.py's table, in seconds. (Its 3.5-day minor step is kept as 84 hours.)
const X_AXIS_CONFIGS: [XAxisConfig; 23] = {
    use XFormat::*;
    [
        xc(0, 5, MIN, 5, HourMinuteSecond, Some(10 * MIN)),
        xc(7, 10, MIN, 10, HourMinuteSecond, Some(20 * MIN)),
        xc(14, 15, MIN, 15, HourMinuteSecond, Some(30 * MIN)),
        xc(27, 30, 2 * MIN, MIN, HourMinute, Some(2 * HOUR)),
        xc(50, MIN, 2 * MIN, MIN, HourMinute, Some(2 * HOUR)),
        xc(120, MIN, 4 * MIN, 2 * MIN, HourMinute, Some(3 * HOUR)),
        xc(200, MIN, 10 * MIN, 5 * MIN, HourMinute, Some(6 * HOUR)),
        xc(
            500,
            2 * MIN,
            10 * MIN,
            10 * MIN,
            HourMinute,
            Some(12 * HOUR),
        ),
        xc(1000, 5 * MIN, 20 * MIN, 20 * MIN, HourMinute, Some(DAY)),
        xc(3000, 10 * MIN, HOUR, HOUR, HourMinute, Some(2 * DAY)),
        xc(
            6000,
            30 * MIN,
            2 * HOUR,
            2 * HOUR,
            HourMinute,
            Some(2 * DAY),
        ),
        xc(
            10000,
            2 * HOUR,
            4 * HOUR,
            4 * HOUR,
            WeekdayHourMinute,
            Some(6 * DAY),
        ),
        xc(
            25500,
            6 * HOUR,
            12 * HOUR,
            12 * HOUR,
            DateHourMinute,
            Some(10 * DAY),
        ),
        xc(60000, 6 * HOUR, DAY, DAY, Date, Some(14 * DAY)),
        xc(100000, 12 * HOUR, DAY, DAY, Date, Some(365 * DAY)),
        xc(200000, DAY, 2 * DAY, 2 * DAY, Date, Some(365 * DAY)),
        xc(400000, 2 * DAY, 4 * DAY, 4 * DAY, Date, Some(365 * DAY)),
        xc(800000, 84 * HOUR, 7 * DAY, 7 * DAY, Date, Some(365 * DAY)),
        xc(1600000, 7 * DAY, 14 * DAY, 14 * DAY, Date, Some(365 * DAY)),
        xc(3200000, 15 * DAY, 30 * DAY, 30 * DAY, Date, Some(365 * DAY)),
        xc(6400000, 30 * DAY, 60 * DAY, 60 * DAY, DateYear, None),
        xc(10000000, 60 * DAY, 120 * DAY, 120 * DAY, DateYear, None),
        xc(12000000, 120 * DAY, 240 * DAY, 240 * DAY, DateYear, None),
    ]
};

/// The densest configuration whose seconds-per-pixel floor is reached and whose range limit
/// covers `time_range` (glyph.py `setupXAxis`); the coarsest when none fits.
pub fn x_axis_config(time_range: i64, graph_width: f64) -> XAxisConfig {
    let spp_x100 = time_range as f64 * 100.0 / graph_width.max(1.0);
    X_AXIS_CONFIGS
        .iter()
        .rev()
        .find(|c| {
            f64::from(c.seconds_per_pixel_x100) <= spp_x100
                && c.max_interval.is_none_or(|m| m >= time_range)
        })
        .copied()
        .unwrap_or(X_AXIS_CONFIGS[X_AXIS_CONFIGS.len() - 1])
}

/// Local times (seconds since the epoch as if the zone were UTC) in `[start, end]` that are
/// whole multiples of `step`, counted from local midnight for steps under a day and from the
/// epoch's days for longer ones, so labels land on round clock times.
pub fn aligned_times(start_local: i64, end_local: i64, step: i64) -> Vec<i64> {
    if step <= 0 || end_local < start_local {
        return Vec::new();
    }
    let first = if step < DAY {
        let day = start_local.div_euclid(DAY) * DAY;
        day + (start_local - day + step - 1).div_euclid(step) * step
    } else {
        let day = (start_local + DAY - 1).div_euclid(DAY) * DAY;
        let step_days = step / DAY;
        let d = day / DAY;
        (d + (step_days - d.rem_euclid(step_days)) % step_days) * DAY
    };
    // A graph has at most a few hundred of these; the cap guards against a huge range
    // meeting a tiny step.
    (0..1000)
        .map(|i| first + i * step)
        .take_while(|t| *t <= end_local)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check_g(v: f64, want: &str) {
        assert_eq!(py_g(v), want, "%g of {v}");
    }

    #[test]
    fn py_g_matches_python() {
        check_g(0.0, "0");
        check_g(0.05, "0.05");
        check_g(-2.0, "-2");
        check_g(-0.5, "-0.5");
        check_g(1e-5, "1e-05");
        check_g(123456.0, "123456");
        check_g(1234567.0, "1.23457e+06");
        check_g(0.000123, "0.000123");
        check_g(2.5, "2.5");
    }

    #[track_caller]
    fn check_units(v: f64, step: f64, system: UnitSystem, want: (f64, &str)) {
        assert_eq!(format_units(v, step, system), want, "{v} step {step}");
    }

    #[test]
    fn unit_prefixes_follow_value_and_step() {
        check_units(1500.0, 500.0, UnitSystem::Si, (1500.0, ""));
        check_units(2000.0, 1000.0, UnitSystem::Si, (2.0, "k"));
        check_units(2_500_000.0, 500_000.0, UnitSystem::Si, (2500.0, "k"));
        check_units(3e9, 1e9, UnitSystem::Si, (3.0, "G"));
        check_units(2048.0, 1024.0, UnitSystem::Binary, (2.0, "Ki"));
        check_units(
            3.0 * 1_048_576.0,
            1_048_576.0,
            UnitSystem::Binary,
            (3.0, "Mi"),
        );
        check_units(5e6, 1e6, UnitSystem::None, (5e6, ""));
        check_units(-4000.0, 1000.0, UnitSystem::Si, (-4.0, "k"));
    }

    #[track_caller]
    fn check_label(value: f64, step: f64, span: f64, system: UnitSystem, want: &str) {
        assert_eq!(make_label(value, step, span, system), want);
    }

    #[test]
    fn labels_read_like_graphite() {
        check_label(0.0, 0.2, 1.0, UnitSystem::Si, "0");
        check_label(0.2, 0.2, 1.0, UnitSystem::Si, "0.20");
        check_label(1.0, 0.2, 1.0, UnitSystem::Si, "1.00");
        check_label(20.0, 5.0, 25.0, UnitSystem::Si, "20.0");
        check_label(2000.0, 1000.0, 5000.0, UnitSystem::Si, "2.0 k");
        check_label(4e6, 1e6, 5e6, UnitSystem::Si, "4.0 M");
        check_label(2048.0, 1024.0, 4096.0, UnitSystem::Binary, "2.0 Ki");
        check_label(4e6, 1e6, 5e6, UnitSystem::None, "4000000.0");
        check_label(-5.0, 5.0, 20.0, UnitSystem::Si, "-5");
        check_label(2.5, 0.5, 3.0, UnitSystem::Si, "2.50");
    }

    #[track_caller]
    fn check_axis(
        data: Option<(f64, f64)>,
        pins: (Option<f64>, Option<f64>),
        system: UnitSystem,
        want: (f64, f64, f64, &[&str]),
    ) {
        let axis = y_axis(data, pins.0, pins.1, system).unwrap();
        let labels: Vec<&str> = axis.ticks.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(
            (axis.bottom, axis.top, axis.step, labels.as_slice()),
            want,
            "{data:?} {pins:?}"
        );
    }

    #[test]
    fn y_axis_picks_nice_steps() {
        check_axis(
            Some((0.0, 100.0)),
            (None, None),
            UnitSystem::Si,
            (
                0.0,
                100.0,
                20.0,
                &["0", "20.0", "40.0", "60.0", "80.0", "100.0"],
            ),
        );
        check_axis(
            Some((3.0, 97.0)),
            (None, None),
            UnitSystem::Si,
            (
                0.0,
                100.0,
                20.0,
                &["0", "20.0", "40.0", "60.0", "80.0", "100.0"],
            ),
        );
        check_axis(
            Some((0.0, 1.0)),
            (None, None),
            UnitSystem::Si,
            (
                0.0,
                1.0,
                0.2,
                &["0", "0.20", "0.40", "0.60", "0.80", "1.00"],
            ),
        );
        check_axis(
            Some((0.0, 5000.0)),
            (None, None),
            UnitSystem::Si,
            (
                0.0,
                5000.0,
                1000.0,
                &["0", "1.0 k", "2.0 k", "3.0 k", "4.0 k", "5.0 k"],
            ),
        );
        check_axis(
            Some((0.0, 4096.0)),
            (None, None),
            UnitSystem::Binary,
            (
                0.0,
                4096.0,
                1024.0,
                &["0", "1.0 Ki", "2.0 Ki", "3.0 Ki", "4.0 Ki"],
            ),
        );
        check_axis(
            Some((-10.0, 10.0)),
            (None, None),
            UnitSystem::Si,
            (-10.0, 10.0, 5.0, &["-10", "-5", "0", "5.0", "10.0"]),
        );
        // Pinned ends stay where the user put them.
        check_axis(
            Some((3.0, 7.0)),
            (Some(0.0), Some(10.0)),
            UnitSystem::Si,
            (0.0, 10.0, 2.0, &["0", "2.0", "4.0", "6.0", "8.0", "10.0"]),
        );
        // No data: graphite's 0..1.
        check_axis(
            None,
            (None, None),
            UnitSystem::Si,
            (
                0.0,
                1.0,
                0.2,
                &["0", "0.20", "0.40", "0.60", "0.80", "1.00"],
            ),
        );
        // A flat series gets a range around it.
        check_axis(
            Some((50.0, 50.0)),
            (None, None),
            UnitSystem::Si,
            (
                44.0,
                56.0,
                2.0,
                &["44.0", "46.0", "48.0", "50.0", "52.0", "54.0", "56.0"],
            ),
        );
    }

    #[test]
    fn y_axis_rejects_inverted_pins() {
        assert!(
            y_axis(Some((0.0, 1.0)), Some(5.0), Some(1.0), UnitSystem::Si)
                .unwrap_err()
                .contains("yMin")
        );
        // One pin alone moves the other end instead.
        let a = y_axis(Some((0.0, 1.0)), Some(5.0), None, UnitSystem::Si).unwrap();
        assert!(a.bottom == 5.0 && a.top > 5.0, "{a:?}");
    }

    #[track_caller]
    fn check_x(range: i64, width: f64, want: (i64, XFormat)) {
        let c = x_axis_config(range, width);
        assert_eq!((c.label, c.format), want, "{range}s over {width}px");
    }

    #[test]
    fn x_axis_density_follows_seconds_per_pixel() {
        check_x(300, 300.0, (MIN, XFormat::HourMinute));
        check_x(300, 3000.0, (10, XFormat::HourMinuteSecond));
        check_x(3600, 300.0, (20 * MIN, XFormat::HourMinute));
        check_x(DAY, 300.0, (12 * HOUR, XFormat::DateHourMinute));
        check_x(DAY, 800.0, (4 * HOUR, XFormat::WeekdayHourMinute));
        check_x(DAY, 1200.0, (2 * HOUR, XFormat::HourMinute));
        check_x(7 * DAY, 300.0, (2 * DAY, XFormat::Date));
        check_x(3 * 365 * DAY, 300.0, (240 * DAY, XFormat::DateYear));
    }

    #[test]
    fn aligned_times_land_on_round_clock_times() {
        assert_eq!(aligned_times(65, 200, 60), vec![120, 180]);
        assert_eq!(aligned_times(0, 60, 30), vec![0, 30, 60]);
        assert_eq!(aligned_times(DAY + 5, 3 * DAY, DAY), vec![2 * DAY, 3 * DAY]);
        assert_eq!(aligned_times(10, 5, 1), Vec::<i64>::new());
        assert_eq!(aligned_times(0, 10, 0), Vec::<i64>::new());
    }
}
