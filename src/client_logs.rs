//! `lookout logs` and `lookout tail`: clients of the public log API. `logs` pages through
//! `GET /api/v1/logs`, following `next_cursor` until `--limit` lines are printed; `tail` reads
//! the Server-Sent Events of `GET /api/v1/logs/tail` until interrupted or told it lagged.
//!
//! It owns the output: one readable line per log (UTC time to the millisecond, level,
//! component, host, message), coloured by severity only on a terminal without `NO_COLOR`, or
//! the log objects as NDJSON with `--json`. Text from logs is printed with control characters
//! escaped, so a log line can never move the cursor or recolour the terminal. It does not
//! filter or interpret queries: the server does that.

use std::io::{BufRead, Write};
use std::time::Duration;

use anyhow::{bail, Context};
use serde::Deserialize;
use serde_json::Value;

use crate::cli::{LogsArgs, TailArgs};

/// The server sends a keepalive comment every 15 s; a silent minute means it is gone.
const TAIL_READ_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest SSE line accepted from the server: a log record is bounded far below this.
const MAX_SSE_LINE_BYTES: usize = 8 * 1024 * 1024;

const NANOS_PER_SEC: i64 = 1_000_000_000;

/// One page of `GET /api/v1/logs`. Log objects stay JSON values so `--json` prints every field
/// the server sent, including ones this client does not know.
#[derive(Deserialize, Debug, Default)]
struct Page {
    logs: Vec<Value>,
    #[serde(default)]
    next_cursor: Option<String>,
}

/// The fields of a log object the readable line shows.
#[derive(Deserialize, Debug)]
struct LogLine {
    ts_ns: i64,
    component: String,
    #[serde(default)]
    host: String,
    #[serde(default)]
    level: String,
    #[serde(default = "default_severity")]
    severity: u8,
    #[serde(default)]
    message: String,
}

/// Unknown severities print uncoloured, like notice and info.
fn default_severity() -> u8 {
    6
}

/// How logs are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    /// One readable line per log; `colour` adds ANSI colours by severity.
    Text { colour: bool },
    /// The log objects with every field the server sent, one per line (keys sorted).
    Json,
}

impl Style {
    fn for_stdout(json: bool) -> Style {
        if json {
            return Style::Json;
        }
        use std::io::IsTerminal;
        let colour = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        Style::Text { colour }
    }

    /// The line to print for one log object (without the newline).
    fn render(self, log: &Value) -> anyhow::Result<String> {
        match self {
            Style::Json => Ok(log.to_string()),
            Style::Text { colour } => {
                let line: LogLine = serde_json::from_value(log.clone())
                    .context("the server sent a log object without ts_ns or component")?;
                Ok(format_line(&line, colour))
            }
        }
    }
}

/// Runs `lookout logs`.
pub fn logs(args: &LogsArgs) -> anyhow::Result<()> {
    let style = Style::for_stdout(args.json);
    let base = format!("{}/api/v1/logs", args.server.trim_end_matches('/'));
    let mut fetch = |cursor: Option<&str>, limit: usize| -> anyhow::Result<Page> {
        let mut req = ureq::get(&base)
            .query("component", &args.pattern)
            .query("from", &args.from)
            .query("until", &args.until)
            .query("limit", &limit.to_string())
            .query("order", "asc");
        for (key, value) in [
            ("level", &args.level),
            ("contains", &args.grep),
            ("regex", &args.regex),
            ("host", &args.host),
        ] {
            if let Some(v) = value {
                req = req.query(key, v);
            }
        }
        if let Some(c) = cursor {
            req = req.query("cursor", c);
        }
        let body = send(req, args.token.as_deref(), &base)?
            .into_string()
            .context("reading the server's answer")?;
        serde_json::from_str(&body).context("the server's answer is not a log page")
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let outcome = follow(&mut fetch, args.limit, |log| {
        let line = style.render(log)?;
        writeln!(out, "{line}")?;
        Ok(())
    });
    match outcome {
        Ok(Followed::Exhausted) => Ok(()),
        Ok(Followed::LimitReached) => {
            out.flush().ok();
            eprintln!(
                "lookout: stopped after --limit {} lines; more logs match (narrow the range or \
                 raise --limit)",
                args.limit
            );
            Ok(())
        }
        Err(e) if is_broken_pipe(&e) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Why cursor-following stopped.
#[derive(Debug, PartialEq, Eq)]
enum Followed {
    /// The server had no more pages.
    Exhausted,
    /// `limit` logs were emitted and the server said there may be more.
    LimitReached,
}

/// Asks `fetch(cursor, remaining)` for pages, emitting each log, until the server has no next
/// cursor or `limit` logs were emitted. A server that hands back the cursor it was given would
/// loop forever, so that also ends the walk.
fn follow(
    fetch: &mut dyn FnMut(Option<&str>, usize) -> anyhow::Result<Page>,
    limit: usize,
    mut emit: impl FnMut(&Value) -> anyhow::Result<()>,
) -> anyhow::Result<Followed> {
    let mut printed = 0usize;
    let mut cursor: Option<String> = None;
    while printed < limit {
        let page = fetch(cursor.as_deref(), limit - printed)?;
        for log in page.logs.iter().take(limit - printed) {
            emit(log)?;
            printed += 1;
        }
        match page.next_cursor {
            Some(next) if cursor.as_deref() != Some(next.as_str()) => cursor = Some(next),
            _ => return Ok(Followed::Exhausted),
        }
    }
    Ok(Followed::LimitReached)
}

/// Runs `lookout tail`.
pub fn tail(args: &TailArgs) -> anyhow::Result<()> {
    let style = Style::for_stdout(args.json);
    let url = format!("{}/api/v1/logs/tail", args.server.trim_end_matches('/'));
    let agent = ureq::AgentBuilder::new()
        .timeout_read(TAIL_READ_TIMEOUT)
        .build();
    let mut req = agent
        .get(&url)
        .set("Accept", "text/event-stream")
        .query("component", &args.pattern);
    for (key, value) in [("level", &args.level), ("contains", &args.grep)] {
        if let Some(v) = value {
            req = req.query(key, v);
        }
    }
    let resp = send(req, args.token.as_deref(), &url)?;
    let mut reader = std::io::BufReader::new(resp.into_reader());
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let outcome = read_tail(&mut reader, |log| {
        let line = style.render(log)?;
        writeln!(out, "{line}")?;
        out.flush()?;
        Ok(())
    });
    match outcome {
        Err(e) if is_broken_pipe(&e) => Ok(()),
        other => other,
    }
}

/// Prints every `log` event of an SSE stream until it ends (an error: a tail never ends on
/// its own) or the server says the client lagged (an error naming how much was missed).
fn read_tail(
    reader: &mut dyn BufRead,
    mut emit: impl FnMut(&Value) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut parser = SseParser::default();
    let mut line = Vec::new();
    loop {
        let more = read_bounded_line(reader, &mut line, MAX_SSE_LINE_BYTES)
            .context("reading the tail stream")?;
        if !more {
            bail!("the server closed the tail stream");
        }
        let Some(event) = parser.push_line(&String::from_utf8_lossy(&line)) else {
            continue;
        };
        match event.event.as_str() {
            "log" => {
                let log: Value = serde_json::from_str(&event.data)
                    .context("the server sent a log event that is not JSON")?;
                emit(&log)?;
            }
            "lagged" => {
                let missed = serde_json::from_str::<Value>(&event.data)
                    .ok()
                    .and_then(|v| v.get("missed").and_then(Value::as_u64));
                match missed {
                    Some(n) => bail!(
                        "tail fell behind: the server dropped this stream after {n} logs could \
                         not be delivered (narrow the pattern or add --level)"
                    ),
                    None => bail!("tail fell behind: the server dropped this stream"),
                }
            }
            _ => {}
        }
    }
}

/// Reads one line (without its `\n` or `\r\n`) into `line`; `Ok(false)` at end of stream.
/// A line longer than `max` is an error rather than unbounded memory.
fn read_bounded_line(
    reader: &mut dyn BufRead,
    line: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<bool> {
    line.clear();
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(!line.is_empty());
        }
        let (chunk, found) = match buf.iter().position(|b| *b == b'\n') {
            Some(i) => (&buf[..i], Some(i + 1)),
            None => (buf, None),
        };
        if line.len() + chunk.len() > max {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("an event line is longer than {max} bytes"),
            ));
        }
        line.extend_from_slice(chunk);
        let used = found.unwrap_or(buf.len());
        reader.consume(used);
        if found.is_some() {
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            return Ok(true);
        }
    }
}

/// One dispatched Server-Sent Event.
#[derive(Debug, PartialEq, Eq)]
struct SseEvent {
    /// The `event:` field; `message` when none was given.
    event: String,
    /// The `data:` lines joined by `\n`.
    data: String,
}

/// Line-at-a-time SSE parsing (WHATWG HTML "Server-sent events", interpreting an event
/// stream): fields accumulate until a blank line dispatches them; `:` lines are comments.
#[derive(Debug, Default)]
struct SseParser {
    event: String,
    data: String,
    has_data: bool,
}

impl SseParser {
    /// Feeds one line (without its terminator); returns an event when the line dispatches one.
    fn push_line(&mut self, line: &str) -> Option<SseEvent> {
        if line.is_empty() {
            let event = std::mem::take(&mut self.event);
            let data = std::mem::take(&mut self.data);
            if !std::mem::take(&mut self.has_data) {
                return None;
            }
            let event = if event.is_empty() {
                "message".to_string()
            } else {
                event
            };
            return Some(SseEvent { event, data });
        }
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "event" => self.event = value.to_string(),
            "data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            _ => {}
        }
        None
    }
}

/// Adds the token and sends, turning a refusal into an error with the server's message.
fn send(mut req: ureq::Request, token: Option<&str>, url: &str) -> anyhow::Result<ureq::Response> {
    if let Some(t) = token {
        req = req.set("Authorization", &format!("Bearer {t}"));
    }
    match req.call() {
        Ok(r) => Ok(r),
        Err(ureq::Error::Status(code, r)) => {
            let text = r.into_string().unwrap_or_default();
            let msg = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string))
                .unwrap_or(text);
            bail!("the server refused the request ({code}): {}", escape(&msg));
        }
        Err(e) => Err(e).with_context(|| format!("asking {url}")),
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.downcast_ref::<std::io::Error>()
        .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
}

/// `2026-11-22 10:00:00.123 err   webapp.backend.git web01: message`, the whole line coloured
/// by severity when `colour`: red for emerg..err, yellow for warning, dim for debug.
fn format_line(log: &LogLine, colour: bool) -> String {
    let level = if log.level.is_empty() {
        severity_name(log.severity)
    } else {
        &log.level
    };
    let mut line = format!(
        "{} {:<5} {}",
        format_ts(log.ts_ns),
        escape(level),
        escape(&log.component)
    );
    if !log.host.is_empty() {
        line.push(' ');
        line.push_str(&escape(&log.host));
    }
    line.push_str(": ");
    line.push_str(&escape(&log.message));
    if !colour {
        return line;
    }
    let code = match log.severity {
        0..=3 => "31",
        4 => "33",
        7 => "2",
        _ => return line,
    };
    format!("\x1b[{code}m{line}\x1b[0m")
}

fn severity_name(n: u8) -> &'static str {
    lookout_core::Severity::from_number(n).map_or("?", |s| s.as_str())
}

/// Control characters (C0, DEL, C1) as visible escapes: `\n`, `\r`, `\t`, `\x1b`, `\u{85}`.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x80 && c.is_control() => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// `YYYY-MM-DD HH:MM:SS.mmm` in UTC, from unix nanoseconds.
fn format_ts(ts_ns: i64) -> String {
    let secs = ts_ns.div_euclid(NANOS_PER_SEC);
    let millis = ts_ns.rem_euclid(NANOS_PER_SEC) / 1_000_000;
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{millis:03}",
        sod / 3600,
        sod / 60 % 60,
        sod % 60
    )
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(severity: u8, level: &str, host: &str, message: &str) -> LogLine {
        LogLine {
            ts_ns: 1_795_860_000_123_456_789,
            component: "webapp.backend.git".to_string(),
            host: host.to_string(),
            level: level.to_string(),
            severity,
            message: message.to_string(),
        }
    }

    #[track_caller]
    fn check_line(line: LogLine, colour: bool, expected: &str) {
        assert_eq!(format_line(&line, colour), expected);
    }

    #[test]
    fn lines_show_time_level_component_host_and_message() {
        check_line(
            log(3, "err", "web01", "push failed"),
            false,
            "2026-11-28 10:00:00.123 err   webapp.backend.git web01: push failed",
        );
        check_line(
            log(4, "warning", "", "slow"),
            false,
            "2026-11-28 10:00:00.123 warning webapp.backend.git: slow",
        );
        check_line(
            log(6, "", "web01", "ok"),
            false,
            "2026-11-28 10:00:00.123 info  webapp.backend.git web01: ok",
        );
    }

    #[test]
    fn colour_follows_severity_only_when_asked() {
        let plain = "2026-11-28 10:00:00.123 LEVEL webapp.backend.git web01: m";
        for (severity, level, code) in [
            (0, "emerg", Some("31")),
            (3, "err", Some("31")),
            (4, "warning", Some("33")),
            (5, "notice", None),
            (6, "info", None),
            (7, "debug", Some("2")),
        ] {
            let text = plain.replace("LEVEL", &format!("{level:<5}"));
            let expected = match code {
                Some(c) => format!("\x1b[{c}m{text}\x1b[0m"),
                None => text.clone(),
            };
            check_line(log(severity, level, "web01", "m"), true, &expected);
            check_line(log(severity, level, "web01", "m"), false, &text);
        }
    }

    #[track_caller]
    fn check_escape(input: &str, expected: &str) {
        assert_eq!(escape(input), expected, "{input:?}");
    }

    #[test]
    fn control_characters_are_escaped() {
        check_escape("plain text ünïcode", "plain text ünïcode");
        check_escape("two\nlines\r\n", "two\\nlines\\r\\n");
        check_escape("tab\there", "tab\\there");
        check_escape("\x1b[2J\x1b]0;pwned\x07", "\\x1b[2J\\x1b]0;pwned\\x07");
        check_escape("nul\0del\x7f", "nul\\x00del\\x7f");
        check_escape("c1\u{85}\u{9b}", "c1\\u{85}\\u{9b}");
        check_escape("back\\slash", "back\\\\slash");
        let line = format_line(&log(6, "info", "web\x1b", "\x1b[31mred"), true);
        assert!(
            !line.contains("\x1b[31mred") && !line.contains("web\x1b"),
            "{line:?}"
        );
    }

    #[track_caller]
    fn check_ts(ts_ns: i64, expected: &str) {
        assert_eq!(format_ts(ts_ns), expected, "{ts_ns}");
    }

    #[test]
    fn timestamps_are_utc_to_the_millisecond() {
        check_ts(0, "1970-01-01 00:00:00.000");
        check_ts(-1_000_000_000, "1969-12-31 23:59:59.000");
        check_ts(-1, "1969-12-31 23:59:59.999");
        check_ts(951_782_400_000_000_000, "2000-02-29 00:00:00.000");
        check_ts(1_795_860_000_123_999_999, "2026-11-28 10:00:00.123");
        // Extremes must not panic.
        format_ts(i64::MIN);
        format_ts(i64::MAX);
    }

    fn events(stream: &str) -> Vec<SseEvent> {
        let mut parser = SseParser::default();
        let mut reader = stream.as_bytes();
        let mut line = Vec::new();
        let mut out = Vec::new();
        while read_bounded_line(&mut reader, &mut line, 1024).unwrap() {
            out.extend(parser.push_line(&String::from_utf8_lossy(&line)));
        }
        out
    }

    fn ev(event: &str, data: &str) -> SseEvent {
        SseEvent {
            event: event.to_string(),
            data: data.to_string(),
        }
    }

    #[test]
    fn sse_events_comments_and_multi_line_data_are_parsed() {
        let stream = ": keepalive\n\
                      event: log\n\
                      data: {\"a\":1}\n\
                      \n\
                      : keepalive\n\
                      \n\
                      event: log\r\n\
                      data:line one\r\n\
                      data: line two\r\n\
                      id: 7\r\n\
                      \r\n\
                      data: plain\n\
                      \n\
                      event: lagged\n\
                      \n\
                      data\n\
                      \n\
                      event: unfinished\n\
                      data: never dispatched\n";
        assert_eq!(
            events(stream),
            vec![
                ev("log", "{\"a\":1}"),
                ev("log", "line one\nline two"),
                ev("message", "plain"),
                ev("message", ""),
            ]
        );
    }

    #[test]
    fn over_long_sse_lines_are_refused() {
        let long = format!("data: {}\n\n", "x".repeat(2000));
        let mut reader = long.as_bytes();
        let mut line = Vec::new();
        assert!(read_bounded_line(&mut reader, &mut line, 1024).is_err());
    }

    #[test]
    fn tail_prints_log_events_and_fails_when_lagged() {
        let stream = ": keepalive\n\n\
                      event: log\ndata: {\"ts_ns\":0,\"component\":\"a\",\"severity\":3,\n\
                      data: \"level\":\"err\",\"message\":\"boom\"}\n\n\
                      event: lagged\ndata: {\"missed\":42}\n\n\
                      event: log\ndata: {\"ts_ns\":0,\"component\":\"never\"}\n\n";
        let mut printed = Vec::new();
        let style = Style::Text { colour: false };
        let err = read_tail(&mut stream.as_bytes(), |v| {
            printed.push(style.render(v)?);
            Ok(())
        })
        .unwrap_err();
        assert_eq!(printed, vec!["1970-01-01 00:00:00.000 err   a: boom"]);
        assert!(format!("{err}").contains("42"), "{err}");
        let err = read_tail(&mut "event: log\n".as_bytes(), |_| Ok(())).unwrap_err();
        assert!(format!("{err}").contains("closed"), "{err}");
    }

    fn page(ids: &[i64], next: Option<&str>) -> Page {
        Page {
            logs: ids
                .iter()
                .map(|i| serde_json::json!({"ts_ns": i, "component": "a"}))
                .collect(),
            next_cursor: next.map(str::to_string),
        }
    }

    /// The (cursor, limit) of each request `follow` made.
    type Requests = Vec<(Option<String>, usize)>;

    /// Runs `follow` over canned pages keyed by the cursor asked for; returns the emitted
    /// `ts_ns`, the (cursor, limit) requests made and the outcome.
    fn walk(pages: &[(Option<&str>, Page)], limit: usize) -> (Vec<i64>, Requests, Followed) {
        let mut asked = Vec::new();
        let mut fetch = |cursor: Option<&str>, limit: usize| -> anyhow::Result<Page> {
            asked.push((cursor.map(str::to_string), limit));
            let (_, p) = pages
                .iter()
                .find(|(c, _)| *c == cursor)
                .ok_or_else(|| anyhow::anyhow!("unexpected cursor {cursor:?}"))?;
            Ok(Page {
                logs: p.logs.clone(),
                next_cursor: p.next_cursor.clone(),
            })
        };
        let mut seen = Vec::new();
        let outcome = follow(&mut fetch, limit, |v| {
            seen.push(v["ts_ns"].as_i64().unwrap_or(-1));
            Ok(())
        })
        .unwrap();
        (seen, asked, outcome)
    }

    #[test]
    fn cursors_are_followed_until_the_last_page() {
        let pages = [
            (None, page(&[1, 2], Some("c1"))),
            (Some("c1"), page(&[], Some("c2"))),
            (Some("c2"), page(&[3], None)),
        ];
        let (seen, asked, outcome) = walk(&pages, 1000);
        assert_eq!(seen, vec![1, 2, 3]);
        assert_eq!(
            asked,
            vec![
                (None, 1000),
                (Some("c1".to_string()), 998),
                (Some("c2".to_string()), 998)
            ]
        );
        assert_eq!(outcome, Followed::Exhausted);
    }

    #[test]
    fn following_stops_at_the_limit_even_if_a_page_is_larger() {
        let pages = [
            (None, page(&[1, 2], Some("c1"))),
            (Some("c1"), page(&[3, 4, 5], Some("c2"))),
        ];
        let (seen, asked, outcome) = walk(&pages, 4);
        assert_eq!(seen, vec![1, 2, 3, 4]);
        assert_eq!(asked.len(), 2, "no request past the limit");
        assert_eq!(outcome, Followed::LimitReached);
    }

    #[test]
    fn a_cursor_that_does_not_move_ends_the_walk() {
        let pages = [
            (None, page(&[1], Some("c1"))),
            (Some("c1"), page(&[2], Some("c1"))),
        ];
        let (seen, _, outcome) = walk(&pages, 10);
        assert_eq!(seen, vec![1, 2]);
        assert_eq!(outcome, Followed::Exhausted);
    }

    #[test]
    fn fetch_errors_are_passed_on() {
        let mut fetch = |_: Option<&str>, _: usize| -> anyhow::Result<Page> {
            Err(anyhow::anyhow!("connection refused"))
        };
        let err = follow(&mut fetch, 10, |_| Ok(())).unwrap_err();
        assert!(format!("{err}").contains("refused"));
    }

    #[test]
    fn json_style_prints_the_object_as_received() {
        let v = serde_json::json!({"ts_ns": 5, "component": "a", "extra": {"k": "v"}});
        assert_eq!(Style::Json.render(&v).unwrap(), v.to_string());
        assert!(Style::Text { colour: false }
            .render(&serde_json::json!({"message": "x"}))
            .is_err());
    }
}
