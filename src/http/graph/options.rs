//! The parameters of `/render?format=png|svg`, read and checked once: graphite-web 1.1's names
//! and defaults (glyph.py and its default template: 330×250, black background, white text,
//! its twelve line colours), colours by graphite name or hex, and the size bound that keeps
//! one request from allocating an unbounded image. What the values mean on the picture is
//! `draw`'s business.

use super::ticks::UnitSystem;
use super::tz::Tz;
use crate::http::params::Params;

/// Largest width or height accepted: 4096² RGB is 48 MiB, the most one request may allocate
/// for its bitmap.
pub const MAX_SIDE: u32 = 4096;

/// Series beyond this many hide the legend unless `hideLegend=false` (graphite-web's
/// `LEGEND_MAX_ITEMS`).
const LEGEND_MAX_ITEMS: usize = 10;

/// Longest title or vertical title kept, in characters: more cannot fit on any allowed width.
const MAX_TITLE_CHARS: usize = 500;

/// An RGB colour with opacity (0 transparent … 1 opaque).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Color {
    /// Red, green, blue.
    pub rgb: (u8, u8, u8),
    /// Opacity from `rrggbbaa` colours and `areaAlpha`.
    pub alpha: f64,
}

impl Color {
    const fn rgb(r: u8, g: u8, b: u8) -> Color {
        Color {
            rgb: (r, g, b),
            alpha: 1.0,
        }
    }

    /// A graphite colour: one of glyph.py's names, or hex `rrggbb`/`rrggbbaa` with or without
    /// `#`.
    pub fn parse(s: &str) -> Result<Color, String> {
        let s = s.trim();
        let named = match s.to_ascii_lowercase().as_str() {
            "black" => Some((0, 0, 0)),
            "white" => Some((255, 255, 255)),
            "blue" => Some((100, 100, 255)),
            "green" => Some((0, 200, 0)),
            "red" => Some((200, 0, 50)),
            "yellow" => Some((255, 255, 0)),
            "orange" => Some((255, 165, 0)),
            "purple" => Some((200, 100, 255)),
            "brown" => Some((150, 100, 50)),
            "cyan" => Some((0, 255, 255)),
            "aqua" => Some((0, 150, 150)),
            "gray" | "grey" => Some((175, 175, 175)),
            "magenta" => Some((255, 0, 255)),
            "pink" => Some((255, 100, 100)),
            "gold" => Some((200, 200, 0)),
            "rose" => Some((200, 150, 200)),
            "darkblue" => Some((0, 0, 255)),
            "darkgreen" => Some((0, 255, 0)),
            "darkred" => Some((255, 0, 0)),
            "darkgray" | "darkgrey" => Some((111, 111, 111)),
            _ => None,
        };
        if let Some((r, g, b)) = named {
            return Ok(Color::rgb(r, g, b));
        }
        let hex = s.strip_prefix('#').unwrap_or(s);
        let byte = |i: usize| u8::from_str_radix(hex.get(i..i + 2).unwrap_or("x"), 16).ok();
        let bad = || format!("colour {s:?} is neither a graphite colour name nor hex rrggbb[aa]");
        if !matches!(hex.len(), 6 | 8) || !hex.is_ascii() {
            return Err(bad());
        }
        let (r, g, b) = (
            byte(0).ok_or_else(bad)?,
            byte(2).ok_or_else(bad)?,
            byte(4).ok_or_else(bad)?,
        );
        let alpha = if hex.len() == 8 {
            f64::from(byte(6).ok_or_else(bad)?) / 255.0
        } else {
            1.0
        };
        Ok(Color {
            rgb: (r, g, b),
            alpha,
        })
    }
}

/// How areas under lines are filled (`areaMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AreaMode {
    /// Lines only.
    None,
    /// Every series filled down to the axis.
    All,
    /// Only the first series filled.
    First,
    /// Series stacked on one another, each band filled.
    Stacked,
}

/// Whether lines cross null points (`lineMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineMode {
    /// A null breaks the line (graphite's `slope`, the default).
    Slope,
    /// Lines join across nulls, up to `connectedLimit` of them in a row.
    Connected,
}

/// Everything that shapes the picture, validated.
#[derive(Debug, Clone)]
pub struct GraphOptions {
    /// Image size in pixels.
    pub width: u32,
    /// Image size in pixels.
    pub height: u32,
    /// Space left around the graph, in pixels.
    pub margin: u32,
    /// Text above the graph; may hold several lines.
    pub title: String,
    /// Text along the y axis.
    pub vtitle: String,
    /// Image background.
    pub bg: Color,
    /// Text, axes and legend labels.
    pub fg: Color,
    /// Grid lines at labelled ticks.
    pub major_grid: Color,
    /// Grid lines between labelled ticks.
    pub minor_grid: Color,
    /// Series colours, in order, cycling.
    pub colors: Vec<Color>,
    /// Pixel width of series lines.
    pub line_width: f64,
    /// Label text height in points.
    pub font_size: f64,
    /// How areas are filled.
    pub area_mode: AreaMode,
    /// Opacity of filled areas (None: the series colour's own).
    pub area_alpha: Option<f64>,
    /// How nulls are crossed.
    pub line_mode: LineMode,
    /// Longest run of nulls a connected line spans.
    pub connected_limit: usize,
    /// Nulls drawn as zeros.
    pub draw_null_as_zero: bool,
    /// Pinned bottom of the y axis.
    pub y_min: Option<f64>,
    /// Pinned top of the y axis.
    pub y_max: Option<f64>,
    /// y label prefixes.
    pub unit_system: UnitSystem,
    /// Legend suppressed (None: graphite's rule, hidden past ten series).
    pub hide_legend: Option<bool>,
    /// Axes, their labels and the grid suppressed.
    pub hide_axes: bool,
    /// Grid suppressed.
    pub hide_grid: bool,
    /// Only the lines: no margin, title, legend, axes or grid.
    pub graph_only: bool,
    /// Zone of the x labels.
    pub tz: Tz,
}

impl GraphOptions {
    /// Whether the legend is drawn for `n` series.
    pub fn show_legend(&self, n: usize) -> bool {
        !self.graph_only && !self.hide_legend.unwrap_or(n > LEGEND_MAX_ITEMS)
    }

    /// Reads and checks every graph parameter; the error names the parameter and the problem.
    pub fn parse(p: &Params) -> Result<GraphOptions, String> {
        let width = side(p, "width", 330)?;
        let height = side(p, "height", 250)?;
        let color = |key: &str, default: Color| -> Result<Color, String> {
            match p.get(key).filter(|v| !v.trim().is_empty()) {
                Some(v) => Color::parse(v).map_err(|e| format!("{key}: {e}")),
                None => Ok(default),
            }
        };
        let colors = match p.get("colorList").filter(|v| !v.trim().is_empty()) {
            Some(list) => list
                .split(',')
                .map(|c| Color::parse(c).map_err(|e| format!("colorList: {e}")))
                .collect::<Result<Vec<_>, _>>()?,
            None => "blue,green,red,purple,brown,yellow,aqua,grey,magenta,pink,gold,rose"
                .split(',')
                .map(|c| Color::parse(c).map_err(|e| format!("colorList: {e}")))
                .collect::<Result<Vec<_>, _>>()?,
        };
        let area_mode = match p.get("areaMode").unwrap_or("none") {
            "" | "none" => AreaMode::None,
            "all" => AreaMode::All,
            "first" => AreaMode::First,
            "stacked" => AreaMode::Stacked,
            other => {
                return Err(format!(
                    "areaMode {other:?} is not one of none, all, first, stacked"
                ))
            }
        };
        let line_mode = match p.get("lineMode").unwrap_or("slope") {
            "" | "slope" => LineMode::Slope,
            "connected" => LineMode::Connected,
            other => {
                return Err(format!(
                    "lineMode {other:?} is not supported: use slope or connected"
                ))
            }
        };
        let connected_limit = match p.get("connectedLimit").filter(|v| !v.is_empty()) {
            Some(v) => v
                .parse::<usize>()
                .map_err(|_| format!("connectedLimit {v:?} is not a non-negative whole number"))?,
            None => usize::MAX,
        };
        let line_width = number(p, "lineWidth")?
            .or(number(p, "thickness")?)
            .unwrap_or(1.2);
        if !(0.0..=100.0).contains(&line_width) {
            return Err(format!("lineWidth {line_width} is not between 0 and 100"));
        }
        let font_size = number(p, "fontSize")?.unwrap_or(10.0);
        if !(1.0..=100.0).contains(&font_size) {
            return Err(format!("fontSize {font_size} is not between 1 and 100"));
        }
        let area_alpha = number(p, "areaAlpha")?;
        if area_alpha.is_some_and(|a| !(0.0..=1.0).contains(&a)) {
            return Err("areaAlpha is not between 0 and 1".into());
        }
        let margin = match number(p, "margin")? {
            Some(m) if (0.0..=f64::from(MAX_SIDE)).contains(&m) => m as u32,
            Some(m) => return Err(format!("margin {m} is not between 0 and {MAX_SIDE}")),
            None => 10,
        };
        let graph_only = flag(p, "graphOnly");
        let y_min = number(p, "yMin")?.or(number(p, "min")?);
        let y_max = number(p, "yMax")?.or(number(p, "max")?);
        if let (Some(lo), Some(hi)) = (y_min, y_max) {
            if lo >= hi {
                return Err(format!("yMin ({lo}) must be less than yMax ({hi})"));
            }
        }
        let text = |key: &str| -> String {
            p.get(key)
                .unwrap_or("")
                .chars()
                .take(MAX_TITLE_CHARS)
                .collect()
        };
        Ok(GraphOptions {
            width,
            height,
            margin: if graph_only { 0 } else { margin },
            title: if graph_only {
                String::new()
            } else {
                text("title")
            },
            vtitle: if graph_only {
                String::new()
            } else {
                text("vtitle")
            },
            bg: color("bgcolor", Color::rgb(0, 0, 0))?,
            fg: color("fgcolor", Color::rgb(255, 255, 255))?,
            major_grid: color("majorGridLineColor", Color::rgb(255, 255, 255))?,
            minor_grid: color("minorGridLineColor", Color::rgb(175, 175, 175))?,
            colors,
            line_width,
            font_size,
            area_mode,
            area_alpha,
            line_mode,
            connected_limit,
            draw_null_as_zero: flag(p, "drawNullAsZero"),
            y_min,
            y_max,
            unit_system: UnitSystem::parse(p.get("yUnitSystem").unwrap_or("si")),
            hide_legend: p.get("hideLegend").map(|v| !is_false(v)),
            hide_axes: graph_only || flag(p, "hideAxes"),
            hide_grid: graph_only || flag(p, "hideGrid"),
            graph_only,
            tz: Tz::parse(p.get("tz").unwrap_or(""))?,
        })
    }
}

fn is_false(v: &str) -> bool {
    matches!(v, "0" | "false" | "False" | "")
}

fn flag(p: &Params, key: &str) -> bool {
    p.get(key).is_some_and(|v| !is_false(v))
}

/// A finite number parameter; empty is absent.
fn number(p: &Params, key: &str) -> Result<Option<f64>, String> {
    match p.get(key).map(str::trim).filter(|v| !v.is_empty()) {
        Some(v) => v
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .map(Some)
            .ok_or_else(|| format!("{key} {v:?} is not a number")),
        None => Ok(None),
    }
}

/// `width` or `height`: a whole number of pixels from 1 to `MAX_SIDE`.
fn side(p: &Params, key: &str, default: u32) -> Result<u32, String> {
    match p.get(key).map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(default),
        Some(v) => match v.parse::<i64>() {
            Ok(n) if (1..=i64::from(MAX_SIDE)).contains(&n) => Ok(n as u32),
            Ok(n) => Err(format!(
                "{key} {n} is out of range: images are 1 to {MAX_SIDE} pixels on a side"
            )),
            Err(_) => Err(format!("{key} {v:?} is not a whole number of pixels")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check_color(s: &str, want: Option<((u8, u8, u8), f64)>) {
        let got = Color::parse(s).ok().map(|c| (c.rgb, c.alpha));
        assert_eq!(got, want, "{s:?}");
    }

    #[test]
    fn colours_by_name_and_hex() {
        check_color("blue", Some(((100, 100, 255), 1.0)));
        check_color("Grey", Some(((175, 175, 175), 1.0)));
        check_color("ff0000", Some(((255, 0, 0), 1.0)));
        check_color("#00FF7f", Some(((0, 255, 127), 1.0)));
        check_color("00000000", Some(((0, 0, 0), 0.0)));
        check_color("nocolour", None);
        check_color("#ff00", None);
        check_color("gg0000", None);
        check_color("ffé000", None);
        check_color("", None);
    }

    fn parse(q: &str) -> Result<GraphOptions, String> {
        let headers = axum::http::HeaderMap::new();
        GraphOptions::parse(&Params::from_request(Some(q), &headers, b""))
    }

    #[track_caller]
    fn check_rejected(q: &str, mentions: &str) {
        match parse(q) {
            Err(e) => assert!(e.contains(mentions), "{q}: {e}"),
            Ok(o) => panic!("{q} accepted: {o:?}"),
        }
    }

    #[test]
    fn defaults_are_graphite_webs() {
        let o = parse("").unwrap();
        assert_eq!((o.width, o.height, o.margin), (330, 250, 10));
        assert_eq!(o.bg.rgb, (0, 0, 0));
        assert_eq!(o.fg.rgb, (255, 255, 255));
        assert_eq!(o.colors.len(), 12);
        assert_eq!(o.colors[0].rgb, (100, 100, 255));
        assert!(o.show_legend(10) && !o.show_legend(11));
        assert_eq!(o.area_mode, AreaMode::None);
    }

    #[test]
    fn parameters_are_read() {
        let o = parse("width=800&height=600&colorList=red,%2300ff00&areaMode=stacked&yMin=0&yMax=10&hideLegend=false&yUnitSystem=binary&thickness=3&tz=%2B01:00").unwrap();
        assert_eq!((o.width, o.height), (800, 600));
        assert_eq!(o.colors[1].rgb, (0, 255, 0));
        assert_eq!(o.area_mode, AreaMode::Stacked);
        assert_eq!((o.y_min, o.y_max), (Some(0.0), Some(10.0)));
        assert!(o.show_legend(50));
        assert_eq!(o.unit_system, UnitSystem::Binary);
        assert_eq!(o.line_width, 3.0);
        assert_eq!(o.tz, Tz::Fixed(3600));
        let g = parse("graphOnly=true&title=x").unwrap();
        assert!(g.title.is_empty() && g.hide_axes && !g.show_legend(1) && g.margin == 0);
    }

    #[test]
    fn bad_parameters_are_named() {
        check_rejected("width=0", "width 0 is out of range");
        check_rejected("width=100000", "width 100000 is out of range");
        check_rejected("height=-5", "height -5 is out of range");
        check_rejected("height=1.5", "height \"1.5\" is not a whole number");
        check_rejected("bgcolor=nope", "bgcolor");
        check_rejected("colorList=red,zzz", "colorList");
        check_rejected("areaMode=sideways", "areaMode");
        check_rejected("yMin=abc", "yMin");
        check_rejected("yMax=inf", "yMax");
        check_rejected("lineWidth=1000", "lineWidth");
        check_rejected("connectedLimit=-1", "connectedLimit");
        check_rejected("lineMode=staircase", "lineMode");
        check_rejected("tz=Mars/Olympus", "tz");
        check_rejected("yMin=5&yMax=5", "yMin (5) must be less than yMax (5)");
    }
}
