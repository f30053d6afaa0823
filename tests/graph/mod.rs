//! Server-side graphs, `/render?format=png|svg`, checked from the outside: PNG signature and
//! size, series drawn in their colours where their values put them (constant series on a
//! pinned y axis, read back pixel by pixel), stacked areas, nulls breaking lines, the title
//! changing pixels, SVG as well-formed XML with hostile names escaped, unit-prefixed y labels,
//! `tz` moving x labels, and bad parameters answered with 400 naming the parameter.

use crate::util::{aligned_ago, Lookout, Response};

/// The value of slot `i` (0..60) of a test series; `None` leaves the slot empty.
type Values<'a> = &'a dyn Fn(i64) -> Option<f64>;

/// Points every 10 s for ten minutes from `b`, per series.
fn store(l: &Lookout, b: i64, series: &[(&str, Values)]) {
    let mut lines = Vec::new();
    let mut want = 0;
    for (name, value) in series {
        for i in 0..60 {
            if let Some(v) = value(i) {
                lines.push(format!("{name} {v} {}", b + i * 10));
                want += 1;
            }
        }
    }
    let r = l.post_metrics(&lines.join("\n"));
    assert_eq!(r.status, 200, "{}", r.text());
    let targets: Vec<&str> = series.iter().map(|(n, _)| *n).collect();
    crate::util::wait_until(crate::util::DATA_DEADLINE, "graph data stored", || {
        targets
            .iter()
            .map(|t| {
                l.render_points(t, b - 10, b + 600)
                    .iter()
                    .map(|(_, p)| p.len())
                    .sum::<usize>()
            })
            .sum::<usize>()
            == want
    });
}

fn graph(l: &Lookout, b: i64, params: &[(&str, &str)]) -> Response {
    let (from, until) = ((b - 10).to_string(), (b + 590).to_string());
    let mut all: Vec<(&str, &str)> = vec![("from", &from), ("until", &until)];
    all.extend_from_slice(params);
    l.get_query("/render", &all)
}

/// A decoded PNG: width, height and RGB(A) pixels.
struct Image {
    width: usize,
    height: usize,
    channels: usize,
    data: Vec<u8>,
}

impl Image {
    fn pixel(&self, x: usize, y: usize) -> (u8, u8, u8) {
        let i = (y * self.width + x) * self.channels;
        (self.data[i], self.data[i + 1], self.data[i + 2])
    }

    /// Columns of row `y` (or a row either side, for antialiasing) with a pixel matching.
    fn columns_with(&self, y: usize, is: impl Fn((u8, u8, u8)) -> bool) -> usize {
        (0..self.width)
            .filter(|&x| {
                (y.saturating_sub(1)..=(y + 1).min(self.height - 1)).any(|y| is(self.pixel(x, y)))
            })
            .count()
    }
}

#[track_caller]
fn png(r: &Response) -> Image {
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("content-type"), Some("image/png"));
    assert!(
        r.body.starts_with(b"\x89PNG\r\n\x1a\n"),
        "no PNG signature: {:?}",
        &r.body[..r.body.len().min(16)]
    );
    let decoder = png::Decoder::new(std::io::Cursor::new(&r.body));
    let mut reader = decoder.read_info().expect("PNG header");
    let mut data = vec![0; reader.output_buffer_size().expect("PNG size")];
    let info = reader.next_frame(&mut data).expect("PNG data");
    data.truncate(info.buffer_size());
    Image {
        width: info.width as usize,
        height: info.height as usize,
        channels: info.color_type.samples(),
        data,
    }
}

fn red(p: (u8, u8, u8)) -> bool {
    p.0 > 200 && p.1 < 60 && p.2 < 60
}

fn blue(p: (u8, u8, u8)) -> bool {
    p.2 > 200 && p.0 < 60 && p.1 < 60
}

fn black(p: (u8, u8, u8)) -> bool {
    p.0 < 30 && p.1 < 30 && p.2 < 30
}

/// Only the plot, 200×100, black background, y from 0 to 100: a value v sits on row 100 - v.
const PLOT_ONLY: [(&str, &str); 6] = [
    ("graphOnly", "true"),
    ("width", "200"),
    ("height", "100"),
    ("yMin", "0"),
    ("yMax", "100"),
    ("bgcolor", "000000"),
];

#[test]
fn png_has_signature_and_requested_size() {
    let l = Lookout::start();
    let b = aligned_ago(3600);
    store(&l, b, &[("g.size", &|i| Some(i as f64))]);
    let img = png(&graph(
        &l,
        b,
        &[
            ("target", "g.size"),
            ("format", "png"),
            ("width", "400"),
            ("height", "180"),
        ],
    ));
    assert_eq!((img.width, img.height), (400, 180));
    // graphite-web's default size.
    let img = png(&graph(&l, b, &[("target", "g.size"), ("format", "png")]));
    assert_eq!((img.width, img.height), (330, 250));
    // A target matching nothing still gives a picture.
    let img = png(&graph(&l, b, &[("target", "g.none"), ("format", "png")]));
    assert_eq!((img.width, img.height), (330, 250));
}

#[test]
fn constant_series_is_drawn_at_its_value_in_its_colour() {
    let l = Lookout::start();
    let b = aligned_ago(3600);
    store(&l, b, &[("g.const", &|_| Some(50.0))]);
    let mut params = vec![
        ("target", "g.const"),
        ("format", "png"),
        ("colorList", "ff0000"),
    ];
    params.extend_from_slice(&PLOT_ONLY);
    let img = png(&graph(&l, b, &params));
    assert!(
        img.columns_with(50, red) >= 190,
        "row 50 should be red across: {} columns",
        img.columns_with(50, red)
    );
    for y in [10, 30, 70, 90] {
        assert_eq!(img.columns_with(y, red), 0, "row {y} has red");
        assert!(black(img.pixel(100, y)), "background at row {y}");
    }
    // yMax halved: the same value now sits on the top edge instead of the middle.
    params.retain(|(k, _)| *k != "yMax");
    params.push(("yMax", "50"));
    let img = png(&graph(&l, b, &params));
    assert_eq!(img.columns_with(50, red), 0);
    assert!(img.columns_with(0, red) >= 190);
}

#[test]
fn stacked_areas_sit_on_one_another() {
    let l = Lookout::start();
    let b = aligned_ago(3600);
    store(
        &l,
        b,
        &[("st.a", &|_| Some(20.0)), ("st.b", &|_| Some(30.0))],
    );
    let mut params = vec![
        ("target", "st.a"),
        ("target", "st.b"),
        ("format", "png"),
        ("colorList", "ff0000,0000ff"),
        ("areaMode", "stacked"),
    ];
    params.extend_from_slice(&PLOT_ONLY);
    let img = png(&graph(&l, b, &params));
    // a fills 0..20 (rows 80..100), b fills 20..50 (rows 50..80), nothing above.
    assert!(red(img.pixel(100, 90)), "{:?}", img.pixel(100, 90));
    assert!(blue(img.pixel(100, 65)), "{:?}", img.pixel(100, 65));
    assert!(black(img.pixel(100, 30)), "{:?}", img.pixel(100, 30));
    // Unstacked fills both start at zero: b (drawn last) covers a's band.
    let all: Vec<(&str, &str)> = params
        .iter()
        .map(|&(k, v)| if k == "areaMode" { (k, "all") } else { (k, v) })
        .collect();
    let img = png(&graph(&l, b, &all));
    assert!(blue(img.pixel(100, 90)), "{:?}", img.pixel(100, 90));
    assert!(black(img.pixel(100, 65)), "{:?}", img.pixel(100, 65));
}

#[test]
fn nulls_break_lines_unless_connected() {
    let l = Lookout::start();
    let b = aligned_ago(3600);
    // Ten minutes at 50 with the middle two minutes missing.
    store(
        &l,
        b,
        &[("g.gap", &|i| {
            if (24..36).contains(&i) {
                None
            } else {
                Some(50.0)
            }
        })],
    );
    let mut params = vec![
        ("target", "g.gap"),
        ("format", "png"),
        ("colorList", "ff0000"),
    ];
    params.extend_from_slice(&PLOT_ONLY);
    let img = png(&graph(&l, b, &params));
    let red_at = |img: &Image, x: usize| (49..=51).any(|y| red(img.pixel(x, y)));
    // Slots 24..35 of 0..59 are about columns 81..118 of 200.
    assert!(red_at(&img, 20) && red_at(&img, 180));
    assert!((88..112).all(|x| !red_at(&img, x)), "gap is drawn");
    params.push(("lineMode", "connected"));
    let img = png(&graph(&l, b, &params));
    assert!(
        (88..112).all(|x| red_at(&img, x)),
        "connected line has a gap"
    );
    params.push(("connectedLimit", "5"));
    let img = png(&graph(&l, b, &params));
    assert!(
        (88..112).all(|x| !red_at(&img, x)),
        "gap over the limit is drawn"
    );
    // drawNullAsZero drops the line to the bottom edge instead.
    params.truncate(params.len() - 2);
    params.push(("drawNullAsZero", "true"));
    let img = png(&graph(&l, b, &params));
    assert!((88..112).all(|x| (97..100).any(|y| red(img.pixel(x, y)))));
}

#[test]
fn title_changes_pixels_and_rendering_is_deterministic() {
    let l = Lookout::start();
    let b = aligned_ago(3600);
    store(&l, b, &[("g.t", &|i| Some((i % 7) as f64))]);
    let plain = graph(&l, b, &[("target", "g.t"), ("format", "png")]);
    let again = graph(&l, b, &[("target", "g.t"), ("format", "png")]);
    assert_eq!(plain.body, again.body, "same request, different picture");
    let titled = png(&graph(
        &l,
        b,
        &[
            ("target", "g.t"),
            ("format", "png"),
            ("title", "Disk usage"),
        ],
    ));
    let plain = png(&plain);
    let top_differs = (0..plain.width)
        .flat_map(|x| (0..20).map(move |y| (x, y)))
        .filter(|&(x, y)| plain.pixel(x, y) != titled.pixel(x, y))
        .count();
    assert!(top_differs > 50, "title changed {top_differs} pixels");
}

/// Every text node of an SVG document, trimmed.
fn svg_texts(r: &Response) -> Vec<String> {
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("content-type"), Some("image/svg+xml"));
    let text = r.text();
    let doc = match roxmltree::Document::parse(&text) {
        Ok(d) => d,
        Err(e) => panic!("SVG is not well-formed XML: {e}\n{text}"),
    };
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    doc.descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text())
        .map(|t| t.trim().to_string())
        .collect()
}

#[test]
fn svg_is_well_formed_with_hostile_names_escaped() {
    let l = Lookout::start();
    let b = aligned_ago(3600);
    store(&l, b, &[("g.svg", &|i| Some(i as f64))]);
    let r = graph(
        &l,
        b,
        &[
            ("target", "alias(g.svg,\"<script>alert(1)</script>\")"),
            ("format", "svg"),
            ("title", "Load & <b>latency</b> \u{1}"),
            ("vtitle", "ms \"quoted\""),
        ],
    );
    let raw = r.text();
    assert!(!raw.contains("<script>") && !raw.contains("<b>"), "{raw}");
    assert!(raw.contains("&lt;script&gt;"), "{raw}");
    let texts = svg_texts(&r);
    for want in [
        "Load & <b>latency</b>",
        "<script>alert(1)</script>",
        "ms \"quoted\"",
    ] {
        assert!(texts.iter().any(|t| t == want), "{want:?} not in {texts:?}");
    }
}

#[test]
fn y_labels_carry_unit_prefixes() {
    let l = Lookout::start();
    let b = aligned_ago(3600);
    store(&l, b, &[("g.bytes", &|i| Some(i as f64 * 70.0))]);
    // Values 0..4130: SI steps of 1000, binary steps of 1024.
    let si = svg_texts(&graph(&l, b, &[("target", "g.bytes"), ("format", "svg")]));
    assert!(si.iter().any(|t| t == "4.0 k"), "{si:?}");
    let binary = svg_texts(&graph(
        &l,
        b,
        &[
            ("target", "g.bytes"),
            ("format", "svg"),
            ("yUnitSystem", "binary"),
        ],
    ));
    assert!(binary.iter().any(|t| t == "4.0 Ki"), "{binary:?}");
    let none = svg_texts(&graph(
        &l,
        b,
        &[
            ("target", "g.bytes"),
            ("format", "svg"),
            ("yUnitSystem", "none"),
        ],
    ));
    assert!(none.iter().any(|t| t == "4000.0"), "{none:?}");
}

/// The `HH:MM` x labels of an SVG graph, as minutes of the day.
fn clock_labels(texts: &[String]) -> Vec<i64> {
    texts
        .iter()
        .filter(|t| t.len() == 5 && t.as_bytes()[2] == b':')
        .filter_map(|t| Some(t[..2].parse::<i64>().ok()? * 60 + t[3..].parse::<i64>().ok()?))
        .collect()
}

#[test]
fn tz_moves_x_labels() {
    let l = Lookout::start();
    let b = aligned_ago(3600);
    store(&l, b, &[("g.tz", &|i| Some(i as f64))]);
    let at = |tz: &str| {
        clock_labels(&svg_texts(&graph(
            &l,
            b,
            &[("target", "g.tz"), ("format", "svg"), ("tz", tz)],
        )))
    };
    let utc = at("UTC");
    let plus2 = at("+02:00");
    assert!(utc.len() >= 2, "{utc:?}");
    let shifted: Vec<i64> = utc.iter().map(|m| (m + 120) % 1440).collect();
    assert_eq!(plus2, shifted);
    let r = graph(
        &l,
        b,
        &[("target", "g.tz"), ("format", "svg"), ("tz", "No/Where")],
    );
    assert_eq!(r.status, 400, "{}", r.text());
}

#[test]
fn bad_graph_parameters_are_400_naming_the_problem() {
    let l = Lookout::start();
    let b = aligned_ago(3600);
    for (key, value, mentions) in [
        ("width", "0", "width 0 is out of range"),
        ("width", "100000", "width 100000 is out of range"),
        ("height", "-5", "height -5 is out of range"),
        ("height", "tall", "not a whole number"),
        ("bgcolor", "nocolour", "bgcolor"),
        ("colorList", "red,#12345", "colorList"),
        ("areaMode", "sideways", "areaMode"),
        ("yMin", "low", "yMin"),
    ] {
        for format in ["png", "svg"] {
            let r = graph(
                &l,
                b,
                &[("target", "g.x"), ("format", format), (key, value)],
            );
            assert_eq!(r.status, 400, "{key}={value}: {}", r.text());
            let msg = r.json()["error"].as_str().unwrap_or_default().to_string();
            assert!(msg.contains(mentions), "{key}={value}: {msg}");
        }
    }
    // Pinned limits the wrong way round.
    let r = graph(
        &l,
        b,
        &[
            ("target", "g.x"),
            ("format", "png"),
            ("yMin", "10"),
            ("yMax", "1"),
        ],
    );
    assert_eq!(r.status, 400, "{}", r.text());
    // The largest allowed picture is served.
    let img = png(&graph(
        &l,
        b,
        &[
            ("target", "g.x"),
            ("format", "png"),
            ("width", "4096"),
            ("height", "16"),
        ],
    ));
    assert_eq!((img.width, img.height), (4096, 16));
}
