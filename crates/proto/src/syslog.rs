//! Syslog: one message (a UDP datagram or a TCP frame) to a [`LogRecord`], telling RFC 5424
//! from RFC 3164 per message, and the TCP [`Framer`] for RFC 6587 octet-counting and LF
//! framing. Pure: the caller passes the receive time and the peer's address.
//!
//! Sockets, read buffers and counting errors belong to `lookout-ingest`.

mod framer;
pub(crate) mod record;
mod rfc3164;
mod rfc5424;
pub(crate) mod timestamp;

use lookout_core::limits::MAX_SYSLOG_MESSAGE_BYTES;
use lookout_core::{LogRecord, Severity};

pub use framer::{Frame, FrameError, Framer, FramingMode};

use record::ComponentError;

/// Maps a sender's name for its source to a component the way every log parser here does
/// (characters a dotted path cannot hold become `_`, empty gives `unknown`); `None` when the
/// result has empty nodes or too many. Component rules in `lookout-ingest` use it so that a
/// rule's output obeys the same rules as a parser's.
pub fn component_from_name(name: &[u8]) -> Option<String> {
    record::component_from(name).ok()
}

/// Field set on a message cut to [`MAX_SYSLOG_MESSAGE_BYTES`].
pub const TRUNCATED_FIELD: &str = "truncated";

/// Why a syslog message was refused. Copy and allocation-free: a flood of garbage must not
/// cost more than the good messages it displaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SyslogError {
    /// Nothing but whitespace.
    #[error("empty message")]
    Empty,
    /// No `<PRI>` at the start, or one that is not 1-3 digits in 0..=191.
    #[error("missing or invalid <PRI>")]
    BadPri,
    /// An RFC 5424 header with a missing field or a field that breaks its grammar.
    #[error("malformed RFC 5424 header")]
    BadHeader,
    /// An RFC 5424 TIMESTAMP that is neither `-` nor RFC 3339 with an offset.
    #[error("malformed RFC 5424 timestamp")]
    BadTimestamp,
    /// RFC 5424 STRUCTURED-DATA that is not `-` nor well-formed `[id name="value"]` elements.
    #[error("malformed structured data")]
    BadStructuredData,
    /// The component (APP-NAME or TAG) has more nodes than the limit.
    #[error("component has too many nodes")]
    ComponentTooDeep,
    /// The component has empty nodes or is too long.
    #[error("invalid component")]
    BadComponent,
}

impl SyslogError {
    /// The `reason` label under which listeners count this refusal, e.g. in
    /// `lookout_ingest_records_invalid_total{proto="syslog",reason}`.
    pub fn reason(&self) -> &'static str {
        match self {
            SyslogError::Empty => "empty",
            SyslogError::BadPri => "pri",
            SyslogError::BadHeader => "header",
            SyslogError::BadTimestamp => "timestamp",
            SyslogError::BadStructuredData => "structured_data",
            SyslogError::ComponentTooDeep => "component_too_deep",
            SyslogError::BadComponent => "component",
        }
    }
}

impl From<ComponentError> for SyslogError {
    fn from(e: ComponentError) -> Self {
        match e {
            ComponentError::TooManyNodes => SyslogError::ComponentTooDeep,
            ComponentError::Invalid => SyslogError::BadComponent,
        }
    }
}

/// Parses one syslog message. RFC 5424 is recognised by a version number right after PRI
/// (`<34>1 `); anything else is read leniently as RFC 3164, which also covers rsyslog's
/// forward format (an RFC 3339 timestamp in a 3164 header) and senders that leave out the
/// timestamp or hostname. A missing hostname becomes `peer_host`; a missing or nil time
/// becomes `now_ns`. A message longer than [`MAX_SYSLOG_MESSAGE_BYTES`] is cut there and
/// gets the field `truncated=true`. Invalid UTF-8 in the message is kept as bytes.
pub fn parse_message(bytes: &[u8], now_ns: i64, peer_host: &str) -> Result<LogRecord, SyslogError> {
    let truncated = bytes.len() > MAX_SYSLOG_MESSAGE_BYTES;
    let bytes = &bytes[..bytes.len().min(MAX_SYSLOG_MESSAGE_BYTES)];
    let bytes = trim_trailer(trim_start(bytes));
    if bytes.is_empty() {
        return Err(SyslogError::Empty);
    }
    let (pri, rest) = parse_pri(bytes)?;
    let facility = pri / 8;
    let severity = Severity::from_number(pri % 8).ok_or(SyslogError::BadPri)?;
    let mut record = match rfc5424::version_len(rest) {
        Some(n) => rfc5424::parse(&rest[n..], now_ns)?,
        None => rfc3164::parse(rest, now_ns)?,
    };
    record.severity = severity;
    record.facility = Some(facility);
    if record.host.is_empty() {
        record.host = peer_host.to_string();
    }
    if truncated {
        record::push_field(
            &mut record.fields,
            TRUNCATED_FIELD.to_string(),
            "true".to_string(),
        );
    }
    Ok(record)
}

/// `<PRIVAL>` with 1-3 digits and a value of at most 191 (facility 23, severity 7).
fn parse_pri(b: &[u8]) -> Result<(u8, &[u8]), SyslogError> {
    let rest = b.strip_prefix(b"<").ok_or(SyslogError::BadPri)?;
    let end = rest
        .iter()
        .position(|&c| c == b'>')
        .filter(|&n| (1..=3).contains(&n))
        .ok_or(SyslogError::BadPri)?;
    let mut value = 0u16;
    for &c in &rest[..end] {
        if !c.is_ascii_digit() {
            return Err(SyslogError::BadPri);
        }
        value = value * 10 + u16::from(c - b'0');
    }
    let pri = u8::try_from(value)
        .ok()
        .filter(|&p| p <= 191)
        .ok_or(SyslogError::BadPri)?;
    Ok((pri, &rest[end + 1..]))
}

fn trim_start(b: &[u8]) -> &[u8] {
    let n = b.iter().take_while(|c| c.is_ascii_whitespace()).count();
    &b[n..]
}

/// Drops the frame trailers senders leave on a message: LF, CR LF and NUL (RFC 6587 §3.4.2).
fn trim_trailer(mut b: &[u8]) -> &[u8] {
    while let [rest @ .., b'\n' | b'\r' | b'\0'] = b {
        b = rest;
    }
    b
}

/// Splits at the first space: the token and what follows the space (empty if none).
fn token(b: &[u8]) -> (&[u8], &[u8]) {
    match b.iter().position(|&c| c == b' ') {
        Some(i) => (&b[..i], &b[i + 1..]),
        None => (b, &[]),
    }
}

#[cfg(test)]
mod tests {
    use super::timestamp::parse_rfc3339;
    use super::*;

    /// 2026-11-22T12:00:00Z, the receive time of every case.
    const NOW: i64 = 1_795_348_800_000_000_000;
    const PEER: &str = "10.1.2.3";

    fn ts(text: &str) -> i64 {
        parse_rfc3339(text.as_bytes()).unwrap()
    }

    struct Want<'a> {
        ts_ns: i64,
        component: &'a str,
        host: &'a str,
        severity: Severity,
        facility: u8,
        message: &'a [u8],
        fields: &'a [(&'a str, &'a str)],
    }

    #[track_caller]
    fn check(input: &[u8], want: Result<Want<'_>, SyslogError>) {
        let got = parse_message(input, NOW, PEER);
        let want = want.map(|w| LogRecord {
            ts_ns: w.ts_ns,
            component: w.component.to_string(),
            host: w.host.to_string(),
            severity: w.severity,
            facility: Some(w.facility),
            message: w.message.to_vec(),
            fields: w
                .fields
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        });
        assert_eq!(got, want, "{}", crate::excerpt(input));
    }

    #[test]
    fn rfc5424_examples_from_the_rfc() {
        check(
            b"<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - \xEF\xBB\xBF'su root' failed for lonvick on /dev/pts/8",
            Ok(Want {
                ts_ns: ts("2003-10-11T22:14:15.003Z"),
                component: "su",
                host: "mymachine.example.com",
                severity: Severity::Critical,
                facility: 4,
                message: b"'su root' failed for lonvick on /dev/pts/8",
                fields: &[("msgid", "ID47")],
            }),
        );
        check(
            b"<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nothing.",
            Ok(Want {
                ts_ns: ts("2003-08-24T12:14:15.000003Z"),
                component: "myproc",
                host: "192.0.2.1",
                severity: Severity::Notice,
                facility: 20,
                message: b"%% It's time to make the do-nothing.",
                fields: &[("procid", "8710")],
            }),
        );
        check(
            b"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"] \xEF\xBB\xBFAn application event log entry...",
            Ok(Want {
                ts_ns: ts("2003-10-11T22:14:15.003Z"),
                component: "evntslog",
                host: "mymachine.example.com",
                severity: Severity::Notice,
                facility: 20,
                message: b"An application event log entry...",
                fields: &[
                    ("msgid", "ID47"),
                    ("exampleSDID@32473.iut", "3"),
                    ("exampleSDID@32473.eventSource", "Application"),
                    ("exampleSDID@32473.eventID", "1011"),
                ],
            }),
        );
        check(
            b"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"][examplePriority@32473 class=\"high\"]",
            Ok(Want {
                ts_ns: ts("2003-10-11T22:14:15.003Z"),
                component: "evntslog",
                host: "mymachine.example.com",
                severity: Severity::Notice,
                facility: 20,
                message: b"",
                fields: &[
                    ("msgid", "ID47"),
                    ("exampleSDID@32473.iut", "3"),
                    ("exampleSDID@32473.eventSource", "Application"),
                    ("exampleSDID@32473.eventID", "1011"),
                    ("examplePriority@32473.class", "high"),
                ],
            }),
        );
    }

    #[test]
    fn rfc5424_nil_values_escapes_and_senders() {
        // logger --rfc5424 (util-linux): time-quality SD, nil-free header.
        check(
            b"<13>1 2026-11-22T10:00:00.123456+00:00 host alice - - [timeQuality tzKnown=\"1\" isSynced=\"1\" syncAccuracy=\"123000\"] msg",
            Ok(Want {
                ts_ns: ts("2026-11-22T10:00:00.123456Z"),
                component: "alice",
                host: "host",
                severity: Severity::Notice,
                facility: 1,
                message: b"msg",
                fields: &[
                    ("timeQuality.tzKnown", "1"),
                    ("timeQuality.isSynced", "1"),
                    ("timeQuality.syncAccuracy", "123000"),
                ],
            }),
        );
        // rsyslog RSYSLOG_SyslogProtocol23Format: "<%PRI%>1 %TIMESTAMP:::date-rfc3339% %HOSTNAME%
        // %APP-NAME% %PROCID% %MSGID% %STRUCTURED-DATA% %msg%".
        check(
            b"<30>1 2026-11-22T10:00:00.5+01:00 web1 nginx 812 - - GET / 200\n",
            Ok(Want {
                ts_ns: ts("2026-11-22T09:00:00.5Z"),
                component: "nginx",
                host: "web1",
                severity: Severity::Info,
                facility: 3,
                message: b"GET / 200",
                fields: &[("procid", "812")],
            }),
        );
        check(
            b"<14>1 - - - - - [a b=\"q\\\"x\\\\y\\]z\\n\"] hi",
            Ok(Want {
                ts_ns: NOW,
                component: "unknown",
                host: PEER,
                severity: Severity::Info,
                facility: 1,
                message: b"hi",
                fields: &[("a.b", "q\"x\\y]z\\n")],
            }),
        );
        check(
            b"<14>1 - h web/api:v2 - - - bad \xff utf8",
            Ok(Want {
                ts_ns: NOW,
                component: "web_api_v2",
                host: "h",
                severity: Severity::Info,
                facility: 1,
                message: b"bad \xff utf8",
                fields: &[],
            }),
        );
    }

    #[test]
    fn rfc3164_examples_and_what_senders_send() {
        check(
            b"<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
            Ok(Want {
                ts_ns: ts("2026-10-11T22:14:15Z"),
                component: "su",
                host: "mymachine",
                severity: Severity::Critical,
                facility: 4,
                message: b"'su root' failed for lonvick on /dev/pts/8",
                fields: &[],
            }),
        );
        check(
            b"<13>Feb  5 17:32:18 10.0.0.99 Use the BFG!",
            Ok(Want {
                ts_ns: ts("2026-02-05T17:32:18Z"),
                component: "unknown",
                host: "10.0.0.99",
                severity: Severity::Notice,
                facility: 1,
                message: b"Use the BFG!",
                fields: &[],
            }),
        );
        // logger's default over the network.
        check(
            b"<13>Nov 22 10:00:00 host user: msg",
            Ok(Want {
                ts_ns: ts("2026-11-22T10:00:00Z"),
                component: "user",
                host: "host",
                severity: Severity::Notice,
                facility: 1,
                message: b"msg",
                fields: &[],
            }),
        );
        // No hostname: the peer's is used.
        check(
            b"<86>Nov 22 10:00:00 sshd[4242]: Accepted publickey",
            Ok(Want {
                ts_ns: ts("2026-11-22T10:00:00Z"),
                component: "sshd",
                host: PEER,
                severity: Severity::Info,
                facility: 10,
                message: b"Accepted publickey",
                fields: &[("pid", "4242")],
            }),
        );
        // rsyslog RSYSLOG_ForwardFormat: RFC 3339 time in a 3164 header.
        check(
            b"<38>2026-11-22T11:59:58.123+00:00 web1 postfix/smtpd[77]: connect from x\r\n",
            Ok(Want {
                ts_ns: ts("2026-11-22T11:59:58.123Z"),
                component: "postfix_smtpd",
                host: "web1",
                severity: Severity::Info,
                facility: 4,
                message: b"connect from x",
                fields: &[("pid", "77")],
            }),
        );
        // No timestamp, no hostname.
        check(
            b"<13>app.worker: started",
            Ok(Want {
                ts_ns: NOW,
                component: "app.worker",
                host: PEER,
                severity: Severity::Notice,
                facility: 1,
                message: b"started",
                fields: &[],
            }),
        );
    }

    #[test]
    fn malformed_messages_are_refused() {
        check(b"", Err(SyslogError::Empty));
        check(b" \r\n", Err(SyslogError::Empty));
        check(b"hello", Err(SyslogError::BadPri));
        check(b"<>x", Err(SyslogError::BadPri));
        check(b"<192>x", Err(SyslogError::BadPri));
        check(b"<1234>x", Err(SyslogError::BadPri));
        check(b"<1a>x", Err(SyslogError::BadPri));
        check(b"<13", Err(SyslogError::BadPri));
        check(b"<13>1 - h app", Err(SyslogError::BadHeader));
        check(
            b"<13>1 yesterday h app - - - m",
            Err(SyslogError::BadTimestamp),
        );
        check(
            b"<13>1 - h app - - [x a=\"1\"",
            Err(SyslogError::BadStructuredData),
        );
        check(
            b"<13>1 - h app - - [x a=1] m",
            Err(SyslogError::BadStructuredData),
        );
        check(
            b"<13>1 - h app - - [x a=\"1\"] [y] m",
            Ok(Want {
                ts_ns: NOW,
                component: "app",
                host: "h",
                severity: Severity::Notice,
                facility: 1,
                message: b"[y] m",
                fields: &[("x.a", "1")],
            }),
        );
        check(
            b"<13>1 - h app - - x m",
            Err(SyslogError::BadStructuredData),
        );
        check(b"<13>1 - h a..b - - - m", Err(SyslogError::BadComponent));
        let deep = format!("<13>1 - h {} - - - m", ["n"; 500].join("."));
        check(deep.as_bytes(), Err(SyslogError::ComponentTooDeep));
        let deep = format!("<13>Nov 22 10:00:00 h {}: m", ["n"; 40].join("."));
        check(deep.as_bytes(), Err(SyslogError::ComponentTooDeep));
    }

    #[test]
    fn oversized_message_is_cut_and_marked() {
        let mut input = b"<13>1 - h app - - - ".to_vec();
        let header = input.len();
        input.resize(10 * 1024 * 1024, b'x');
        let record = parse_message(&input, NOW, PEER).unwrap();
        assert_eq!(record.message.len(), MAX_SYSLOG_MESSAGE_BYTES - header);
        assert_eq!(
            record.fields,
            vec![(TRUNCATED_FIELD.to_string(), "true".to_string())]
        );
    }

    #[test]
    fn error_reasons_are_distinct() {
        let all = [
            SyslogError::Empty,
            SyslogError::BadPri,
            SyslogError::BadHeader,
            SyslogError::BadTimestamp,
            SyslogError::BadStructuredData,
            SyslogError::ComponentTooDeep,
            SyslogError::BadComponent,
        ];
        let reasons: std::collections::HashSet<_> = all.iter().map(|e| e.reason()).collect();
        assert_eq!(reasons.len(), all.len());
    }
}
