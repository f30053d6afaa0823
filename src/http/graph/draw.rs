//! Lays out and draws one graph on any plotters backend, in graphite-web's order (glyph.py
//! `LineGraph`): background, title, vertical title, legend below, room for x labels, y labels
//! (which set the left edge), grid, filled areas, then lines, with nulls breaking lines. It
//! owns pixel geometry only; parameter parsing is `options`, tick arithmetic `ticks`, zones
//! `tz`, and encoding to PNG or SVG the module root.

use std::collections::HashMap;

use lookout_query::Series;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::Color as _;

use super::options::{AreaMode, Color, GraphOptions, LineMode};
use super::ticks::{self, XFormat, YAxis};
use crate::http::render::civil_from_days;

/// The family the embedded font is registered under (see the module root).
pub const FONT_FAMILY: &str = "sans-serif";

/// Pixels around legend swatches (glyph.py's `padding`).
const LEGEND_PADDING: f64 = 5.0;

/// Below this many pixels of plot height or width nothing useful can be drawn, so the legend
/// and labels give way to the lines.
const MIN_PLOT_SIDE: f64 = 8.0;

/// Outline of legend swatches (glyph.py's `darkgrey`).
const SWATCH_OUTLINE: Color = Color {
    rgb: (111, 111, 111),
    alpha: 1.0,
};

/// The plot rectangle in pixels, shrunk step by step as decorations claim room.
#[derive(Debug, Clone, Copy)]
struct Area {
    xmin: f64,
    xmax: f64,
    ymin: f64,
    ymax: f64,
}

/// One series ready to draw: its points on the shared time axis, already transformed for the
/// area mode (stacked tops), plus the band bottom for stacked fills.
struct Plot<'a> {
    name: &'a str,
    color: Color,
    /// (timestamp, value); None breaks the line.
    points: Vec<(i64, Option<f64>)>,
    /// Stacked bottoms, one per point; None fills down to zero.
    base: Option<Vec<f64>>,
    filled: bool,
}

type DrawResult = Result<(), String>;

fn rgba(c: Color) -> RGBAColor {
    RGBAColor(c.rgb.0, c.rgb.1, c.rgb.2, c.alpha)
}

fn err<E: std::fmt::Debug>(e: E) -> String {
    format!("drawing failed: {e:?}")
}

/// Text safe for every backend: control characters (which XML cannot carry) become spaces.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() || c == '\u{fffe}' || c == '\u{ffff}' {
                ' '
            } else {
                c
            }
        })
        .collect()
}

/// Draws `series` on `root` as `o` describes.
pub fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    series: &[Series],
    o: &GraphOptions,
) -> DrawResult {
    let (w, h) = (f64::from(o.width), f64::from(o.height));
    let margin = f64::from(o.margin);
    root.fill(&rgba(o.bg)).map_err(err)?;
    let mut area = if o.graph_only {
        // The last pixel row and column, not the image edge, so a value at a limit stays
        // visible.
        Area {
            xmin: 0.0,
            xmax: w - 1.0,
            ymin: 0.0,
            ymax: h - 1.0,
        }
    } else {
        // glyph.py leaves 10 more pixels on the left for times near the edge.
        Area {
            xmin: margin + 10.0,
            xmax: w - margin,
            ymin: margin,
            ymax: h - margin,
        }
    };
    let text = Text_ {
        root,
        size: o.font_size * 1.25,
        fg: o.fg,
    };
    let line_height = text.line_height();

    if !o.title.is_empty() {
        let title = Text_ {
            size: text.size * 1.2,
            ..text
        };
        let mut y = area.ymin;
        for line in o.title.lines() {
            title.draw(&clean(line), (w / 2.0, y), HPos::Center, VPos::Top, false)?;
            y += title.line_height();
        }
        area.ymin = y + margin;
    }
    if !o.vtitle.is_empty() {
        let mut x = area.xmin + line_height;
        for line in o.vtitle.lines() {
            text.draw(&clean(line), (x, h / 2.0), HPos::Center, VPos::Center, true)?;
            x += line_height;
        }
        area.xmin = x + margin + line_height;
    }

    let plots = prepare(series, o);
    if o.show_legend(plots.len()) && plots.iter().any(|p| !p.name.is_empty()) {
        draw_legend(&text, &plots, o, &mut area)?;
    }
    if !o.hide_axes {
        area.ymax -= line_height * 1.6;
    }

    let Some((start, end)) = time_span(series) else {
        return Ok(());
    };
    let axis = y_axis(&plots, o)?;
    if !o.hide_axes {
        let widest = axis
            .ticks
            .iter()
            .map(|(_, l)| text.width(l))
            .fold(0.0, f64::max);
        // Labels sit left of the plot; a vertical title has already claimed its own strip.
        let labels_from = if o.vtitle.is_empty() {
            margin
        } else {
            area.xmin
        };
        area.xmin = area.xmin.max(labels_from + widest * 1.02 + 4.0);
    }
    if area.xmax - area.xmin < MIN_PLOT_SIDE || area.ymax - area.ymin < MIN_PLOT_SIDE {
        return Ok(());
    }
    let geo = Geometry {
        area,
        start,
        end,
        bottom: axis.bottom,
        top: axis.top,
    };

    if !o.hide_axes {
        if !o.hide_grid {
            draw_grid(root, &geo, &axis, o)?;
        }
        draw_labels(&text, &geo, &axis, o)?;
    }
    for p in plots.iter().filter(|p| p.filled) {
        draw_fill(root, &geo, p, o)?;
    }
    let stroke = o.line_width.round().max(1.0) as u32;
    for p in &plots {
        draw_line(root, &geo, p, o, stroke)?;
    }
    Ok(())
}

/// Text drawing and measuring at one size and colour.
#[derive(Clone, Copy)]
struct Text_<'r, DB: DrawingBackend> {
    root: &'r DrawingArea<DB, Shift>,
    size: f64,
    fg: Color,
}

impl<DB: DrawingBackend> Text_<'_, DB> {
    fn style(&self, h: HPos, v: VPos, rotate: bool) -> TextStyle<'static> {
        let font = FontDesc::new(FontFamily::Name(FONT_FAMILY), self.size, FontStyle::Normal);
        let font = if rotate {
            font.transform(FontTransform::Rotate270)
        } else {
            font
        };
        TextStyle {
            font,
            color: rgba(self.fg).to_backend_color(),
            pos: Pos::new(h, v),
        }
    }

    fn width(&self, s: &str) -> f64 {
        let style = self.style(HPos::Left, VPos::Top, false);
        self.root
            .estimate_text_size(s, &style)
            .map_or(s.len() as f64 * self.size * 0.6, |(w, _)| f64::from(w))
    }

    fn line_height(&self) -> f64 {
        self.size
    }

    fn draw(&self, s: &str, at: (f64, f64), h: HPos, v: VPos, rotate: bool) -> DrawResult {
        if s.is_empty() {
            return Ok(());
        }
        let style = self.style(h, v, rotate);
        self.root
            .draw(&Text::new(s.to_string(), px(at), style))
            .map_err(err)
    }
}

fn px((x, y): (f64, f64)) -> (i32, i32) {
    // Clamped so far-off coordinates cannot overflow the backend's integer arithmetic.
    let c = |v: f64| v.round().clamp(-100_000.0, 100_000.0) as i32;
    (c(x), c(y))
}

/// First and last timestamp drawn: earliest start to the latest last point (glyph.py uses
/// `end - step` outside staircase mode).
fn time_span(series: &[Series]) -> Option<(i64, i64)> {
    let start = series.iter().map(|s| s.start).min()?;
    let end = series.iter().map(|s| s.end - s.step.max(1)).max()?;
    Some((start, end.max(start)))
}

/// Series as drawn: colours assigned in order, nulls zeroed on request, stacked tops summed
/// per timestamp (a null adds nothing to the stack and breaks only its own line).
fn prepare<'a>(series: &'a [Series], o: &GraphOptions) -> Vec<Plot<'a>> {
    let mut stack: HashMap<i64, f64> = HashMap::new();
    series
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let step = s.step.max(1);
            // Options never hold an empty list; the foreground stands in all the same.
            let mut color = o
                .colors
                .get(i % o.colors.len().max(1))
                .copied()
                .unwrap_or(o.fg);
            let filled = match o.area_mode {
                AreaMode::None => false,
                AreaMode::First => i == 0,
                AreaMode::All | AreaMode::Stacked => true,
            };
            let mut points: Vec<(i64, Option<f64>)> = s
                .values
                .iter()
                .enumerate()
                .map(|(j, v)| {
                    let v = v.filter(|x| x.is_finite());
                    let v = if o.draw_null_as_zero {
                        Some(v.unwrap_or(0.0))
                    } else {
                        v
                    };
                    (s.start + j as i64 * step, v)
                })
                .collect();
            let base = if o.area_mode == AreaMode::Stacked {
                let mut base = Vec::with_capacity(points.len());
                for (t, v) in points.iter_mut() {
                    let below = stack.get(t).copied().unwrap_or(0.0);
                    base.push(below);
                    if let Some(x) = v {
                        *x += below;
                        stack.insert(*t, *x);
                    }
                }
                Some(base)
            } else {
                None
            };
            if filled {
                if let Some(a) = o.area_alpha {
                    color.alpha = a;
                }
            }
            Plot {
                name: &s.name,
                color,
                points,
                base,
                filled,
            }
        })
        .collect()
}

/// The y axis over every drawn value (zero included when areas are filled down to it).
fn y_axis(plots: &[Plot], o: &GraphOptions) -> Result<YAxis, String> {
    let mut range: Option<(f64, f64)> = None;
    let mut see = |v: f64| {
        range = Some(match range {
            None => (v, v),
            Some((lo, hi)) => (lo.min(v), hi.max(v)),
        });
    };
    for p in plots {
        for v in p.points.iter().filter_map(|(_, v)| *v) {
            see(v);
        }
        if p.filled {
            see(0.0);
        }
    }
    ticks::y_axis(range, o.y_min, o.y_max, o.unit_system)
}

/// Maps time and value to pixels.
struct Geometry {
    area: Area,
    start: i64,
    end: i64,
    bottom: f64,
    top: f64,
}

impl Geometry {
    fn x(&self, t: i64) -> f64 {
        let range = (self.end - self.start) as f64;
        if range <= 0.0 {
            return self.area.xmin;
        }
        self.area.xmin + (t - self.start) as f64 * (self.area.xmax - self.area.xmin) / range
    }

    fn y(&self, v: f64) -> f64 {
        let span = self.top - self.bottom;
        let rel = if span > 0.0 {
            (v - self.bottom) / span
        } else {
            0.0
        };
        self.area.ymax - rel * (self.area.ymax - self.area.ymin)
    }
}

fn draw_legend<DB: DrawingBackend>(
    text: &Text_<DB>,
    plots: &[Plot],
    o: &GraphOptions,
    area: &mut Area,
) -> DrawResult {
    let names: Vec<String> = plots.iter().map(|p| clean(p.name)).collect();
    let longest = names.iter().map(|n| text.width(n)).fold(0.0, f64::max);
    let box_size = text.line_height() - 1.0;
    let line_height = text.line_height() + 1.0;
    let label_width = longest + 2.0 * (box_size + LEGEND_PADDING);
    // glyph.py divides the whole width, which lets the last column run off the picture when a
    // vertical title pushed the legend right; only the room from the legend's left edge counts.
    let room = f64::from(o.width) - area.xmin;
    let columns = (room / label_width).floor().max(1.0) as usize;
    let lines = names.len().div_ceil(columns);
    let legend_height = lines as f64 * line_height + LEGEND_PADDING;
    if area.ymax - legend_height - area.ymin < MIN_PLOT_SIDE * 4.0 {
        return Ok(());
    }
    area.ymax -= legend_height;
    let mut x = area.xmin;
    let mut y = area.ymax + 2.0 * LEGEND_PADDING;
    for (i, (p, name)) in plots.iter().zip(&names).enumerate() {
        let corner = [px((x, y)), px((x + box_size, y + box_size))];
        let swatch = Color {
            alpha: 1.0,
            ..p.color
        };
        text.root
            .draw(&Rectangle::new(corner, rgba(swatch).filled()))
            .map_err(err)?;
        text.root
            .draw(&Rectangle::new(
                corner,
                rgba(SWATCH_OUTLINE).stroke_width(1),
            ))
            .map_err(err)?;
        text.draw(
            name,
            (x + box_size + LEGEND_PADDING, y + box_size / 2.0),
            HPos::Left,
            VPos::Center,
            false,
        )?;
        x += label_width;
        if (i + 1) % columns == 0 {
            x = area.xmin;
            y += line_height;
        }
    }
    Ok(())
}

/// Local-time label/grid instants between the graph's ends, as UTC instants.
fn x_instants(geo: &Geometry, o: &GraphOptions, step: i64) -> Vec<i64> {
    let offset = o.tz.offset_at(geo.start);
    let end_offset = o.tz.offset_at(geo.end);
    ticks::aligned_times(
        geo.start + offset.min(end_offset),
        geo.end + offset.max(end_offset),
        step,
    )
    .into_iter()
    .map(|local| local - o.tz.offset_at(local - offset))
    .filter(|t| (geo.start..=geo.end).contains(t))
    .collect()
}

fn draw_grid<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    geo: &Geometry,
    axis: &YAxis,
    o: &GraphOptions,
) -> DrawResult {
    let a = geo.area;
    let hline = |y: f64, c: Color| {
        root.draw(&PathElement::new(
            vec![px((a.xmin, y)), px((a.xmax, y))],
            rgba(c).stroke_width(1),
        ))
        .map_err(err)
    };
    let vline = |x: f64, c: Color| {
        root.draw(&PathElement::new(
            vec![px((x, a.ymin)), px((x, a.ymax))],
            rgba(c).stroke_width(1),
        ))
        .map_err(err)
    };
    let conf = ticks::x_axis_config(geo.end - geo.start, a.xmax - a.xmin);
    for t in x_instants(geo, o, conf.minor) {
        vline(geo.x(t), o.minor_grid)?;
    }
    for pair in axis.ticks.windows(2) {
        hline(geo.y((pair[0].0 + pair[1].0) / 2.0), o.minor_grid)?;
    }
    for t in x_instants(geo, o, conf.major) {
        vline(geo.x(t), o.major_grid)?;
    }
    for (v, _) in &axis.ticks {
        hline(geo.y(*v), o.major_grid)?;
    }
    Ok(())
}

fn draw_labels<DB: DrawingBackend>(
    text: &Text_<DB>,
    geo: &Geometry,
    axis: &YAxis,
    o: &GraphOptions,
) -> DrawResult {
    let a = geo.area;
    for (v, label) in &axis.ticks {
        // The top label is centred on the plot's top edge; keep it inside the picture.
        let y = geo.y(*v).max(text.line_height() / 2.0);
        text.draw(label, (a.xmin - 4.0, y), HPos::Right, VPos::Center, false)?;
    }
    let conf = ticks::x_axis_config(geo.end - geo.start, a.xmax - a.xmin);
    for t in x_instants(geo, o, conf.label) {
        let label = format_time(t + o.tz.offset_at(t), conf.format);
        text.draw(
            &label,
            (geo.x(t), a.ymax + 3.0),
            HPos::Center,
            VPos::Top,
            false,
        )?;
    }
    Ok(())
}

/// A local wall-clock time in one of glyph.py's label formats.
fn format_time(local: i64, f: XFormat) -> String {
    let days = local.div_euclid(86_400);
    let secs = local.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let (hh, mm, ss) = (secs / 3600, secs / 60 % 60, secs % 60);
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    match f {
        XFormat::HourMinuteSecond => format!("{hh:02}:{mm:02}:{ss:02}"),
        XFormat::HourMinute => format!("{hh:02}:{mm:02}"),
        XFormat::WeekdayHourMinute => {
            format!("{} {hh:02}:{mm:02}", WEEKDAYS[days.rem_euclid(7) as usize])
        }
        XFormat::DateHourMinute => format!("{m:02}/{d:02} {hh:02}:{mm:02}"),
        XFormat::Date => format!("{m:02}/{d:02}"),
        XFormat::DateYear => format!("{m:02}/{d:02} {y}"),
    }
}

/// Runs of drawable points: a null ends a run, unless lines are connected and the gap is
/// within `connectedLimit`.
fn runs(points: &[(i64, Option<f64>)], o: &GraphOptions) -> Vec<Vec<usize>> {
    let mut out: Vec<Vec<usize>> = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    let mut gap = 0usize;
    for (i, (_, v)) in points.iter().enumerate() {
        if v.is_none() {
            gap += 1;
            continue;
        }
        let breaks = gap > 0
            && match o.line_mode {
                LineMode::Slope => true,
                LineMode::Connected => gap > o.connected_limit,
            };
        if breaks && !current.is_empty() {
            out.push(std::mem::take(&mut current));
        }
        gap = 0;
        current.push(i);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Splits a polyline at the plot's top and bottom edges, keeping the parts inside (so values
/// beyond `yMin`/`yMax` leave the graph at the right slope instead of being flattened).
pub fn clip_polyline(points: &[(f64, f64)], ymin: f64, ymax: f64) -> Vec<Vec<(f64, f64)>> {
    let inside = |y: f64| (ymin..=ymax).contains(&y);
    let mut out: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut current: Vec<(f64, f64)> = Vec::new();
    if points.len() == 1 && inside(points[0].1) {
        return vec![points.to_vec()];
    }
    for seg in points.windows(2) {
        let ((x0, y0), (x1, y1)) = (seg[0], seg[1]);
        // Parametric clip of the segment against ymin <= y <= ymax.
        let (mut t0, mut t1) = (0.0f64, 1.0f64);
        let dy = y1 - y0;
        if dy == 0.0 {
            if !inside(y0) {
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
                continue;
            }
        } else {
            let ta = (ymin - y0) / dy;
            let tb = (ymax - y0) / dy;
            t0 = t0.max(ta.min(tb));
            t1 = t1.min(ta.max(tb));
            if t0 > t1 {
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
                continue;
            }
        }
        let at = |t: f64| (x0 + (x1 - x0) * t, y0 + dy * t);
        let (p0, p1) = (at(t0), at(t1));
        if current.is_empty() || t0 > 0.0 {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            current.push(p0);
        }
        current.push(p1);
        if t1 < 1.0 {
            out.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

fn draw_line<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    geo: &Geometry,
    p: &Plot,
    o: &GraphOptions,
    stroke: u32,
) -> DrawResult {
    let a = geo.area;
    let style = rgba(p.color).stroke_width(stroke);
    for run in runs(&p.points, o) {
        let pts: Vec<(f64, f64)> = run
            .iter()
            .filter_map(|&i| {
                let (t, v) = p.points[i];
                v.map(|v| (geo.x(t), geo.y(v)))
            })
            .collect();
        for piece in clip_polyline(&pts, a.ymin, a.ymax) {
            if piece.len() == 1 {
                // A lone point gets a dot the width of the line, so it is not invisible.
                let (x, y) = piece[0];
                let r = f64::from(stroke).max(2.0) / 2.0;
                root.draw(&Rectangle::new(
                    [px((x - r, y - r)), px((x + r, y + r))],
                    rgba(p.color).filled(),
                ))
                .map_err(err)?;
            } else {
                root.draw(&PathElement::new(
                    piece.into_iter().map(px).collect::<Vec<_>>(),
                    style,
                ))
                .map_err(err)?;
            }
        }
    }
    Ok(())
}

fn draw_fill<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    geo: &Geometry,
    p: &Plot,
    o: &GraphOptions,
) -> DrawResult {
    let a = geo.area;
    let clamp = |y: f64| y.clamp(a.ymin, a.ymax);
    let zero = clamp(geo.y(0.0));
    for run in runs(&p.points, o) {
        let mut poly: Vec<(f64, f64)> = Vec::with_capacity(run.len() * 2);
        for &i in &run {
            let (t, v) = p.points[i];
            if let Some(v) = v {
                poly.push((geo.x(t), clamp(geo.y(v))));
            }
        }
        for &i in run.iter().rev() {
            let x = geo.x(p.points[i].0);
            let bottom = match &p.base {
                Some(base) => clamp(geo.y(base[i])),
                None => zero,
            };
            poly.push((x, bottom));
        }
        if poly.len() >= 3 {
            root.draw(&Polygon::new(
                poly.into_iter().map(px).collect::<Vec<_>>(),
                rgba(p.color).filled(),
            ))
            .map_err(err)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check_clip(points: &[(f64, f64)], want: &[&[(f64, f64)]]) {
        let got = clip_polyline(points, 0.0, 10.0);
        let want: Vec<Vec<(f64, f64)>> = want.iter().map(|p| p.to_vec()).collect();
        assert_eq!(got, want, "{points:?}");
    }

    #[test]
    fn lines_are_clipped_at_the_plot_edges() {
        check_clip(&[(0.0, 5.0), (1.0, 6.0)], &[&[(0.0, 5.0), (1.0, 6.0)]]);
        check_clip(&[(0.0, 5.0)], &[&[(0.0, 5.0)]]);
        check_clip(&[(0.0, 50.0)], &[]);
        // Leaves through the bottom edge (y = 10) halfway.
        check_clip(&[(0.0, 5.0), (2.0, 15.0)], &[&[(0.0, 5.0), (1.0, 10.0)]]);
        // Out and back in: two pieces.
        check_clip(
            &[(0.0, 5.0), (2.0, 15.0), (4.0, 5.0)],
            &[&[(0.0, 5.0), (1.0, 10.0)], &[(3.0, 10.0), (4.0, 5.0)]],
        );
        // Entirely outside, flat.
        check_clip(&[(0.0, -1.0), (1.0, -1.0)], &[]);
        // Crosses the whole band.
        check_clip(
            &[(0.0, -10.0), (2.0, 20.0)],
            &[&[(2.0 / 3.0, 0.0), (4.0 / 3.0, 10.0)]],
        );
    }

    #[track_caller]
    fn check_time(local: i64, f: XFormat, want: &str) {
        assert_eq!(format_time(local, f), want);
    }

    #[test]
    fn x_labels_use_graphite_formats() {
        // 2011-07-28 06:53:28, a Thursday.
        let t = 1_311_836_008;
        check_time(t, XFormat::HourMinuteSecond, "06:53:28");
        check_time(t, XFormat::HourMinute, "06:53");
        check_time(t, XFormat::WeekdayHourMinute, "Thu 06:53");
        check_time(t + 86_400 * 3, XFormat::WeekdayHourMinute, "Sun 06:53");
        check_time(t, XFormat::DateHourMinute, "07/28 06:53");
        check_time(t, XFormat::Date, "07/28");
        check_time(t, XFormat::DateYear, "07/28 2011");
    }

    #[test]
    fn nulls_break_runs_unless_connected() {
        let headers = axum::http::HeaderMap::new();
        let opts = |q: &str| {
            GraphOptions::parse(&crate::http::params::Params::from_request(
                Some(q),
                &headers,
                b"",
            ))
            .unwrap()
        };
        let pts = [
            (0, Some(1.0)),
            (1, None),
            (2, Some(2.0)),
            (3, None),
            (4, None),
            (5, Some(3.0)),
        ];
        assert_eq!(runs(&pts, &opts("")), vec![vec![0], vec![2], vec![5]]);
        assert_eq!(runs(&pts, &opts("lineMode=connected")), vec![vec![0, 2, 5]]);
        assert_eq!(
            runs(&pts, &opts("lineMode=connected&connectedLimit=1")),
            vec![vec![0, 2], vec![5]]
        );
    }

    #[test]
    fn text_loses_control_characters() {
        assert_eq!(clean("a\u{1}b\tc"), "a b c");
    }
}
