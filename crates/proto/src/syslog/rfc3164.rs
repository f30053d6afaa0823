//! RFC 3164 ("BSD syslog") after the PRI, read leniently because it only describes what
//! senders did: `Mmm dd hh:mm:ss HOSTNAME TAG[PID]: MSG`, where the timestamp may instead be
//! RFC 3339 (rsyslog's forward format) or missing, the hostname may be missing, and the tag
//! may be missing. TAG is the component, PID the field `pid`. RFC 5424 is in `rfc5424.rs`.

use lookout_core::{LogRecord, Severity};

use super::record::{component_from, push_field, UNKNOWN_COMPONENT};
use super::timestamp::{parse_rfc3164, parse_rfc3339};
use super::token;
use super::SyslogError;

/// Length of `Mmm dd hh:mm:ss`.
const TIMESTAMP_LEN: usize = 15;

/// Longest tag looked for. RFC 3164 says 32 characters; real tags (`postfix/smtpd`, Java
/// class names) run longer, and past this a token is taken to be message text, not a tag.
const MAX_TAG_BYTES: usize = 128;

/// Parses the part after PRI. Severity and facility are filled in by the caller; an empty
/// host is replaced with the peer's by the caller.
pub(super) fn parse(b: &[u8], now_ns: i64) -> Result<LogRecord, SyslogError> {
    let (ts_ns, rest) = match timestamp(b, now_ns) {
        Some((ts, rest)) => (Some(ts), rest),
        None => (None, b),
    };
    // A hostname only follows a timestamp; without one a sender sends neither (`<13>su: x`).
    let (host, rest) = match ts_ns {
        Some(_) => hostname(rest),
        None => (&[][..], rest),
    };
    let mut fields = Vec::new();
    let (component, message) = match tag(rest) {
        Some(tag) => {
            if let Some(pid) = tag.pid {
                push_field(
                    &mut fields,
                    "pid".to_string(),
                    String::from_utf8_lossy(pid).into_owned(),
                );
            }
            (component_from(tag.name)?, tag.rest)
        }
        None => (UNKNOWN_COMPONENT.to_string(), rest),
    };
    Ok(LogRecord {
        ts_ns: ts_ns.unwrap_or(now_ns),
        component,
        host: String::from_utf8_lossy(host).into_owned(),
        severity: Severity::Notice,
        facility: None,
        message: message.to_vec(),
        fields,
    })
}

/// `Mmm dd hh:mm:ss` or an RFC 3339 token, then the spaces after it.
fn timestamp(b: &[u8], now_ns: i64) -> Option<(i64, &[u8])> {
    let (ts, rest) = match b
        .get(..TIMESTAMP_LEN)
        .and_then(|t| parse_rfc3164(t, now_ns))
    {
        Some(ts) => (ts, &b[TIMESTAMP_LEN..]),
        None => {
            let (tok, rest) = token(b);
            (parse_rfc3339(tok)?, rest)
        }
    };
    let spaces = rest.iter().take_while(|&&c| c == b' ').count();
    Some((ts, &rest[spaces..]))
}

/// The HOSTNAME token, unless the first token is already the tag (`su:` or `sshd[12]:`),
/// which is how senders that leave out the hostname look.
fn hostname(b: &[u8]) -> (&[u8], &[u8]) {
    let (tok, rest) = token(b);
    if tok.is_empty() || tok.ends_with(b":") || tok.contains(&b'[') {
        return (&[], b);
    }
    (tok, rest)
}

/// A parsed TAG and what follows it.
struct Tag<'a> {
    name: &'a [u8],
    pid: Option<&'a [u8]>,
    rest: &'a [u8],
}

/// `name:` or `name[pid]:` (the colon optional after `[pid]`), then one optional space. A first
/// word that is neither (`Use the BFG!`) means the sender sent no tag.
fn tag(b: &[u8]) -> Option<Tag<'_>> {
    let end = b
        .iter()
        .take(MAX_TAG_BYTES)
        .position(|&c| matches!(c, b':' | b'[' | b' '))?;
    let name = &b[..end];
    if name.is_empty() {
        return None;
    }
    let (pid, after) = match b[end] {
        b':' => (None, &b[end + 1..]),
        b'[' => {
            let close = b[end + 1..]
                .iter()
                .take(MAX_TAG_BYTES)
                .position(|&c| c == b']')?;
            let pid = &b[end + 1..end + 1 + close];
            let after = &b[end + 2 + close..];
            match after {
                [b':', r @ ..] => (Some(pid), r),
                [b' ', ..] | [] => (Some(pid), after),
                _ => return None,
            }
        }
        _ => return None,
    };
    let rest = after.strip_prefix(b" ").unwrap_or(after);
    Some(Tag { name, pid, rest })
}
