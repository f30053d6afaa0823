//! Server-side graphs for `/render?format=png|svg`: the evaluated series drawn as graphite-web
//! 1.1 would, close enough for e-mails, chat and status pages. This module owns the embedded
//! font and the encoding of the picture; it does not evaluate targets (`render` does, then
//! calls `render_image`).
//!
//! Layout:
//! - `options`: the graph parameters, their graphite defaults and bounds.
//! - `ticks`: nice y steps, unit-prefixed labels, x label density.
//! - `tz`: the `tz` parameter (UTC, fixed offsets, system IANA zones).
//! - `draw`: layout and drawing on any plotters backend.

mod draw;
mod options;
mod ticks;
mod tz;

use std::sync::Once;

use lookout_query::Series;
use plotters::prelude::*;

pub use options::GraphOptions;

/// Open Sans Regular, from Debian's `fonts-open-sans` (Apache-2.0, see
/// `assets/fonts/LICENSE-OpenSans`): embedded so text renders the same on every machine with
/// no system font lookup.
static FONT: &[u8] = include_bytes!("../../../assets/fonts/OpenSans-Regular.ttf");

/// The picture formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    /// 8-bit RGB PNG.
    Png,
    /// SVG 1.1 text.
    Svg,
}

impl ImageFormat {
    /// The `Content-Type` of a response in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            ImageFormat::Png => "image/png",
            ImageFormat::Svg => "image/svg+xml",
        }
    }
}

fn register_font() -> Result<(), String> {
    static REGISTER: Once = Once::new();
    let mut result = Ok(());
    REGISTER.call_once(|| {
        result = plotters::style::register_font(draw::FONT_FAMILY, FontStyle::Normal, FONT)
            .map_err(|_| "the embedded font is not a valid TrueType font".to_string());
    });
    result
}

/// Draws `series` (consolidated here to about one point per pixel, as graphite-web does) and
/// encodes the picture. Errors are drawing failures, not bad input: options are checked when
/// parsed.
pub fn render_image(
    mut series: Vec<Series>,
    opts: &GraphOptions,
    format: ImageFormat,
) -> Result<Vec<u8>, String> {
    register_font()?;
    if series.iter().any(|s| !s.values.is_empty()) {
        lookout_query::consolidate_all(&mut series, opts.width as usize);
    }
    let size = (opts.width, opts.height);
    match format {
        ImageFormat::Png => {
            let mut rgb = vec![0u8; opts.width as usize * opts.height as usize * 3];
            {
                let root = BitMapBackend::with_buffer(&mut rgb, size).into_drawing_area();
                draw::draw(&root, &series, opts)?;
                root.present()
                    .map_err(|e| format!("drawing failed: {e:?}"))?;
            }
            encode_png(&rgb, opts.width, opts.height)
        }
        ImageFormat::Svg => {
            let mut svg = String::new();
            {
                let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
                draw::draw(&root, &series, opts)?;
                root.present()
                    .map_err(|e| format!("drawing failed: {e:?}"))?;
            }
            Ok(svg.into_bytes())
        }
    }
}

fn encode_png(rgb: &[u8], width: u32, height: u32) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder
        .write_header()
        .map_err(|e| format!("png encoding failed: {e}"))?;
    writer
        .write_image_data(rgb)
        .map_err(|e| format!("png encoding failed: {e}"))?;
    writer
        .finish()
        .map_err(|e| format!("png encoding failed: {e}"))?;
    Ok(out)
}
