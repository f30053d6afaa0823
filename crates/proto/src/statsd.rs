//! The StatsD line protocol as Etsy's `statsd` daemon reads it, plus DogStatsD tags: a packet
//! is lines separated by `\n`, each `name:value|type[|@rate][|#k:v,k2:v2]`, and one line may
//! carry several values for one name (`name:1|c:250|ms`). This module turns a packet into
//! typed [`Sample`]s plus per-line [`LineError`]s; aggregating samples over a flush interval
//! and naming the flushed series are `lookout-ingest`'s job.
//!
//! Etsy's rules kept here: names are sanitized (whitespace runs become `_`, `/` becomes `-`,
//! anything outside `[A-Za-z0-9_.;=-]` is dropped); a gauge value starting with `+` or `-` is
//! a delta; a timer value must not be negative; a sample rate is `@` and a non-negative number.
//! Where lookout differs, on purpose: `h` and `d` (DogStatsD histograms and distributions) are
//! timers, not counters; an unknown type is refused rather than counted; a sample rate of 0 is
//! refused (Etsy would divide by it); numbers are decimal as Python reads them (no `0x`); a
//! tag without a value (`|#canary`) becomes `canary=true`, because a Graphite tag needs one.

use std::borrow::Cow;

use lookout_core::{canonical_series_name, validate_metric_path};

use crate::number::parse_f64;
use crate::record::{LineError, LineErrorKind};

/// One value for one series, as sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample<'a> {
    /// Canonical series name after Etsy's sanitizing, tags included (`api.hits;env=prod`).
    /// Borrowed from the packet when it needed no change.
    pub name: Cow<'a, str>,
    /// The typed value.
    pub value: SampleValue<'a>,
}

/// What a sample says, by StatsD type.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SampleValue<'a> {
    /// `c`: add `value / rate` to the counter.
    Counter {
        /// The increment as sent.
        value: f64,
        /// The sample rate (`@0.1`), 1 when absent.
        rate: f64,
    },
    /// `ms`, `h`, `d`: one measurement; it stands for `1 / rate` events in the timer's count.
    Timer {
        /// The measurement, never negative.
        value: f64,
        /// The sample rate, 1 when absent.
        rate: f64,
    },
    /// `g`: set the gauge, or move it by `value` when `delta` (the value had a sign).
    Gauge {
        /// The new value or the change.
        value: f64,
        /// The value started with `+` or `-`.
        delta: bool,
    },
    /// `s`: one member of the set of distinct values seen this interval.
    Set(&'a str),
}

/// Parses one packet (a UDP datagram, or complete lines read from a TCP stream). Good samples
/// are appended to `samples` and each refused value to `errors`, numbered by line (1-based), so
/// a bad line costs only itself. Lines longer than `max_line` bytes are refused whole. Empty
/// lines are skipped, as Etsy does.
pub fn parse<'a>(
    data: &'a [u8],
    max_line: usize,
    samples: &mut Vec<Sample<'a>>,
    errors: &mut Vec<LineError>,
) {
    for (i, line) in data.split(|b| *b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        let number = i + 1;
        if line.len() > max_line {
            errors.push(LineError {
                line: number,
                kind: LineErrorKind::LineTooLong,
            });
            continue;
        }
        if let Err(kind) = parse_line(line, number, samples, errors) {
            errors.push(LineError { line: number, kind });
        }
    }
}

/// Parses one line; an error for the whole line (its name) is returned, an error for one of
/// its values is pushed and the other values are kept.
fn parse_line<'a>(
    line: &'a [u8],
    number: usize,
    samples: &mut Vec<Sample<'a>>,
    errors: &mut Vec<LineError>,
) -> Result<(), LineErrorKind> {
    let line = std::str::from_utf8(line).map_err(|_| LineErrorKind::NotUtf8)?;
    // Etsy cuts the tags off first, so they apply to every value of the line.
    let (body, tags) = match line.split_once("|#") {
        Some((body, rest)) => (body, Some(rest.split('|').next().unwrap_or(""))),
        None => (line, None),
    };
    let mut values = body.split(':');
    let key = values.next().unwrap_or("");
    let name = series_name(key, tags)?;
    let mut any = false;
    for value in values {
        any = true;
        match parse_value(value) {
            Ok(value) => samples.push(Sample {
                name: name.clone(),
                value,
            }),
            Err(kind) => errors.push(LineError { line: number, kind }),
        }
    }
    if any {
        Ok(())
    } else {
        Err(LineErrorKind::StatsdSyntax)
    }
}

/// One `value|type[|@rate]...` part of a line.
fn parse_value(part: &str) -> Result<SampleValue<'_>, LineErrorKind> {
    let mut fields = part.split('|');
    let text = fields.next().unwrap_or("");
    let kind = fields.next().ok_or(LineErrorKind::StatsdSyntax)?.trim();
    // DogStatsD adds fields (`|c:container`, `|T<ts>`) that Etsy ignores; only `@` matters.
    let rate = match fields.find(|f| f.starts_with('@')) {
        Some(f) => sample_rate(f)?,
        None => 1.0,
    };
    let number = || number(text).ok_or(LineErrorKind::BadValue);
    Ok(match kind {
        "c" => SampleValue::Counter {
            value: number()?,
            rate,
        },
        "ms" | "h" | "d" => {
            let value = number()?;
            if value < 0.0 {
                return Err(LineErrorKind::BadValue);
            }
            SampleValue::Timer { value, rate }
        }
        "g" => SampleValue::Gauge {
            value: number()?,
            delta: text.starts_with(['+', '-']),
        },
        "s" => SampleValue::Set(if text.is_empty() { "0" } else { text }),
        _ => return Err(LineErrorKind::BadMetricType),
    })
}

/// `@0.1`: a positive finite number. Etsy refuses a sign; lookout also refuses 0, which would
/// scale a counter to infinity.
fn sample_rate(field: &str) -> Result<f64, LineErrorKind> {
    let text = field.strip_prefix('@').unwrap_or(field);
    if text.starts_with(['-', '+']) {
        return Err(LineErrorKind::BadSampleRate);
    }
    match number(text) {
        Some(rate) if rate > 0.0 => Ok(rate),
        _ => Err(LineErrorKind::BadSampleRate),
    }
}

/// A finite number, surrounding whitespace allowed as JavaScript's `Number()` does.
fn number(text: &str) -> Option<f64> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    parse_f64(text.as_bytes()).filter(|v| v.is_finite())
}

/// True for the bytes Etsy's `sanitizeKeyName` keeps unchanged.
fn is_kept(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b';' | b'=')
}

/// Etsy's `sanitizeKeyName`: whitespace runs become `_`, `/` becomes `-`, other bytes outside
/// `[A-Za-z0-9_.;=-]` are dropped.
fn sanitize_into(text: &str, out: &mut String) {
    let mut in_space = false;
    for c in text.chars() {
        if c.is_whitespace() {
            if !in_space {
                out.push('_');
            }
            in_space = true;
            continue;
        }
        in_space = false;
        if c == '/' {
            out.push('-');
        } else if c.is_ascii() && is_kept(c as u8) {
            out.push(c);
        }
    }
}

/// The canonical series name of `key` with DogStatsD `tags` (`k:v,k2`) as Graphite tags.
fn series_name<'a>(key: &'a str, tags: Option<&str>) -> Result<Cow<'a, str>, LineErrorKind> {
    let tags = tags.filter(|t| !t.is_empty());
    if tags.is_none() && key.bytes().all(|b| is_kept(b) && b != b';') {
        validate_metric_path(key).map_err(LineErrorKind::BadName)?;
        return Ok(Cow::Borrowed(key));
    }
    let mut raw = String::with_capacity(key.len() + tags.map_or(0, str::len) + 8);
    sanitize_into(key, &mut raw);
    for tag in tags.into_iter().flat_map(|t| t.split(',')) {
        if tag.is_empty() {
            continue;
        }
        let (k, v) = tag.split_once(':').unwrap_or((tag, "true"));
        raw.push(';');
        // `;` and `=` would break the tag syntax: Etsy turns the first `;` into `_`.
        sanitize_into(&k.replace([';', '='], "_"), &mut raw);
        raw.push('=');
        sanitize_into(&v.replace([';', '='], "_"), &mut raw);
    }
    let name = canonical_series_name(&raw).map_err(LineErrorKind::BadName)?;
    Ok(Cow::Owned(name.into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use lookout_core::NameError;

    use SampleValue::{Counter, Gauge, Set, Timer};

    /// What one line gives: `(name, value)` samples, or the error kinds (all on line 1).
    #[track_caller]
    fn check(input: &str, samples: &[(&str, SampleValue<'_>)], errors: &[LineErrorKind]) {
        let mut got = Vec::new();
        let mut errs = Vec::new();
        parse(input.as_bytes(), 256, &mut got, &mut errs);
        let got: Vec<(&str, SampleValue<'_>)> =
            got.iter().map(|s| (s.name.as_ref(), s.value)).collect();
        assert_eq!(got, samples, "{input:?}");
        let kinds: Vec<LineErrorKind> = errs.iter().map(|e| e.kind).collect();
        assert_eq!(kinds, errors, "{input:?}");
    }

    fn c(value: f64, rate: f64) -> SampleValue<'static> {
        Counter { value, rate }
    }

    fn t(value: f64, rate: f64) -> SampleValue<'static> {
        Timer { value, rate }
    }

    fn g(value: f64, delta: bool) -> SampleValue<'static> {
        Gauge { value, delta }
    }

    #[test]
    fn etsy_examples_parse() {
        check("gorets:1|c", &[("gorets", c(1.0, 1.0))], &[]);
        check("gorets:1|c|@0.1", &[("gorets", c(1.0, 0.1))], &[]);
        check("glork:320|ms", &[("glork", t(320.0, 1.0))], &[]);
        check("glork:320|ms|@0.1", &[("glork", t(320.0, 0.1))], &[]);
        check("gaugor:333|g", &[("gaugor", g(333.0, false))], &[]);
        check("gaugor:-10|g", &[("gaugor", g(-10.0, true))], &[]);
        check("gaugor:+4|g", &[("gaugor", g(4.0, true))], &[]);
        check("uniques:765|s", &[("uniques", Set("765"))], &[]);
        check("h:2.5|h", &[("h", t(2.5, 1.0))], &[]);
        check("d:7|d", &[("d", t(7.0, 1.0))], &[]);
        check("x:-3|c", &[("x", c(-3.0, 1.0))], &[]);
        check("x:1e3|c", &[("x", c(1000.0, 1.0))], &[]);
        check("x: 5 | c ", &[("x", c(5.0, 1.0))], &[]);
    }

    #[test]
    fn several_values_share_one_name_and_its_tags() {
        check(
            "a:1|c:250|ms:7|g|#env:prod",
            &[
                ("a;env=prod", c(1.0, 1.0)),
                ("a;env=prod", t(250.0, 1.0)),
                ("a;env=prod", g(7.0, false)),
            ],
            &[],
        );
        check(
            "a:1|c:oops|c:2|c",
            &[("a", c(1.0, 1.0)), ("a", c(2.0, 1.0))],
            &[LineErrorKind::BadValue],
        );
    }

    #[test]
    fn dogstatsd_tags_become_sorted_graphite_tags() {
        check(
            "api.hits:1|c|@0.5|#zone:b,env:prod",
            &[("api.hits;env=prod;zone=b", c(1.0, 0.5))],
            &[],
        );
        check("a:1|c|#canary", &[("a;canary=true", c(1.0, 1.0))], &[]);
        check(
            "a:1|c|#url:http://x/y",
            &[("a;url=http--x-y", c(1.0, 1.0))],
            &[],
        );
        check("a:1|c|#", &[("a", c(1.0, 1.0))], &[]);
        check("a:1|c|#k:v|c:container", &[("a;k=v", c(1.0, 1.0))], &[]);
        check("a:1|c|#k:v;x=y", &[("a;k=v_x_y", c(1.0, 1.0))], &[]);
    }

    #[test]
    fn names_are_sanitized_like_etsy() {
        check("my metric:1|c", &[("my_metric", c(1.0, 1.0))], &[]);
        check("a/b:1|c", &[("a-b", c(1.0, 1.0))], &[]);
        check("a$%b!:1|c", &[("ab", c(1.0, 1.0))], &[]);
        check("a\t \tb:1|c", &[("a_b", c(1.0, 1.0))], &[]);
        check("disk;dc=sf:1|g", &[("disk;dc=sf", g(1.0, false))], &[]);
        check("é:1|c", &[], &[LineErrorKind::BadName(NameError::Empty)]);
        check(":1|c", &[], &[LineErrorKind::BadName(NameError::Empty)]);
        check(
            "a..b:1|c",
            &[],
            &[LineErrorKind::BadName(NameError::EmptyNode)],
        );
    }

    #[test]
    fn malformed_values_are_refused_one_by_one() {
        check("gorets", &[], &[LineErrorKind::StatsdSyntax]);
        check("gorets:1", &[], &[LineErrorKind::StatsdSyntax]);
        check("gorets:1|x", &[], &[LineErrorKind::BadMetricType]);
        check("gorets:|c", &[], &[LineErrorKind::BadValue]);
        check("gorets:abc|c", &[], &[LineErrorKind::BadValue]);
        check("gorets:nan|c", &[], &[LineErrorKind::BadValue]);
        check("gorets:inf|g", &[], &[LineErrorKind::BadValue]);
        check("glork:-1|ms", &[], &[LineErrorKind::BadValue]);
        check("gorets:1|c|@", &[], &[LineErrorKind::BadSampleRate]);
        check("gorets:1|c|@-0.5", &[], &[LineErrorKind::BadSampleRate]);
        check("gorets:1|c|@0", &[], &[LineErrorKind::BadSampleRate]);
        check("gorets:1|c|@x", &[], &[LineErrorKind::BadSampleRate]);
        check("s:|s", &[("s", Set("0"))], &[]);
    }

    #[test]
    fn a_bad_line_costs_only_itself() {
        let data = b"a:1|c\ngarbage\n\n\xff\xfe:1|c\nb:2|g\r\n";
        let mut samples = Vec::new();
        let mut errors = Vec::new();
        parse(data, 256, &mut samples, &mut errors);
        let names: Vec<&str> = samples.iter().map(|s| s.name.as_ref()).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(
            errors,
            [
                LineError {
                    line: 2,
                    kind: LineErrorKind::StatsdSyntax
                },
                LineError {
                    line: 4,
                    kind: LineErrorKind::NotUtf8
                },
            ]
        );
    }

    #[test]
    fn over_long_lines_are_refused_whole() {
        let long = format!("{}:1|c\nok:1|c", "x".repeat(300));
        let mut samples = Vec::new();
        let mut errors = Vec::new();
        parse(long.as_bytes(), 256, &mut samples, &mut errors);
        assert_eq!(samples.len(), 1);
        assert_eq!(
            errors,
            [LineError {
                line: 1,
                kind: LineErrorKind::LineTooLong
            }]
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            let mut samples = Vec::new();
            let mut errors = Vec::new();
            parse(&data, 128, &mut samples, &mut errors);
            for s in &samples {
                proptest::prop_assert!(canonical_series_name(&s.name).is_ok());
            }
        }

        #[test]
        fn statsd_shaped_text_never_panics(data in "[a-z:|@#,.0-9+-]{0,64}(\n[a-z:|@#,.0-9+-]{0,64}){0,4}") {
            let mut samples = Vec::new();
            let mut errors = Vec::new();
            parse(data.as_bytes(), 128, &mut samples, &mut errors);
        }
    }
}
