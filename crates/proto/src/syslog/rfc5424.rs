//! RFC 5424 after the PRI: VERSION, TIMESTAMP, HOSTNAME, APP-NAME, PROCID, MSGID,
//! STRUCTURED-DATA and MSG. PROCID and MSGID become the fields `procid`/`msgid`, each SD
//! parameter a field `sdid.param`. PRI and the fallback to RFC 3164 are in `syslog.rs`.

use lookout_core::{LogRecord, Severity};

use super::record::{component_from, push_field};
use super::timestamp::parse_rfc3339;
use super::{token, SyslogError};

/// RFC 5424 marks the start of a UTF-8 MSG with a byte order mark; it is not part of the text.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The nil value of every RFC 5424 header field.
const NIL: &[u8] = b"-";

/// The length of `VERSION SP` if `b` starts with one (1-3 digits, the first non-zero), which is
/// what tells an RFC 5424 message from an RFC 3164 one.
pub(super) fn version_len(b: &[u8]) -> Option<usize> {
    let digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
    let ok = (1..=3).contains(&digits) && b[0] != b'0' && b.get(digits) == Some(&b' ');
    ok.then_some(digits + 1)
}

/// Parses the header after `VERSION SP`. Severity and facility are filled in by the caller.
pub(super) fn parse(b: &[u8], now_ns: i64) -> Result<LogRecord, SyslogError> {
    let (ts, rest) = token(b);
    let (host, rest) = token(rest);
    let (app, rest) = token(rest);
    let (procid, rest) = token(rest);
    let (msgid, rest) = token(rest);
    if [ts, host, app, procid, msgid].iter().any(|t| t.is_empty()) || rest.is_empty() {
        return Err(SyslogError::BadHeader);
    }
    let ts_ns = if ts == NIL {
        now_ns
    } else {
        parse_rfc3339(ts).ok_or(SyslogError::BadTimestamp)?
    };
    let component = component_from(nil_to_empty(app))?;
    let mut fields = Vec::new();
    for (key, value) in [("procid", procid), ("msgid", msgid)] {
        if value != NIL {
            push_field(
                &mut fields,
                key.to_string(),
                String::from_utf8_lossy(value).into_owned(),
            );
        }
    }
    let msg = parse_structured_data(rest, &mut fields)?;
    let msg = msg.strip_prefix(BOM).unwrap_or(msg);
    Ok(LogRecord {
        ts_ns,
        component,
        host: String::from_utf8_lossy(nil_to_empty(host)).into_owned(),
        severity: Severity::Notice,
        facility: None,
        message: msg.to_vec(),
        fields,
    })
}

fn nil_to_empty(b: &[u8]) -> &[u8] {
    if b == NIL {
        &[]
    } else {
        b
    }
}

/// Reads STRUCTURED-DATA into `sdid.param` fields and returns the MSG after it. Elements
/// follow each other without a space (RFC 5424 §6.3.5); in a value, `\"`, `\\` and `\]` are
/// unescaped and any other backslash is kept as sent (§6.3.3).
fn parse_structured_data<'a>(
    b: &'a [u8],
    fields: &mut Vec<(String, String)>,
) -> Result<&'a [u8], SyslogError> {
    let rest = if let Some(r) = b.strip_prefix(NIL) {
        r
    } else {
        if b.first() != Some(&b'[') {
            return Err(SyslogError::BadStructuredData);
        }
        let mut r = b;
        while let Some(after) = r.strip_prefix(b"[") {
            r = parse_element(after, fields)?;
        }
        r
    };
    match rest {
        [] => Ok(rest),
        [b' ', msg @ ..] => Ok(msg),
        _ => Err(SyslogError::BadStructuredData),
    }
}

/// One SD-ELEMENT after its `[`: returns what follows its `]`.
fn parse_element<'a>(
    b: &'a [u8],
    fields: &mut Vec<(String, String)>,
) -> Result<&'a [u8], SyslogError> {
    let id_len = sd_name_len(b);
    if id_len == 0 {
        return Err(SyslogError::BadStructuredData);
    }
    let id = String::from_utf8_lossy(&b[..id_len]);
    let mut r = &b[id_len..];
    loop {
        match r {
            [b']', after @ ..] => return Ok(after),
            [b' ', after @ ..] => {
                let name_len = sd_name_len(after);
                if name_len == 0 || after.get(name_len..name_len + 2) != Some(b"=\"") {
                    return Err(SyslogError::BadStructuredData);
                }
                let name = String::from_utf8_lossy(&after[..name_len]);
                let (value, next) = sd_value(&after[name_len + 2..])?;
                push_field(fields, format!("{id}.{name}"), value);
                r = next;
            }
            _ => return Err(SyslogError::BadStructuredData),
        }
    }
}

/// SD-NAME: 1-32 printable ASCII characters except `=`, space, `]` and `"`.
fn sd_name_len(b: &[u8]) -> usize {
    b.iter()
        .take(32)
        .take_while(|&&c| c.is_ascii_graphic() && !matches!(c, b'=' | b']' | b'"'))
        .count()
}

/// PARAM-VALUE up to its closing quote, unescaped; returns it and what follows the quote.
fn sd_value(b: &[u8]) -> Result<(String, &[u8]), SyslogError> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => return Ok((String::from_utf8_lossy(&out).into_owned(), &b[i + 1..])),
            b'\\' => match b.get(i + 1) {
                Some(&c @ (b'"' | b'\\' | b']')) => {
                    out.push(c);
                    i += 2;
                }
                _ => {
                    out.push(b'\\');
                    i += 1;
                }
            },
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Err(SyslogError::BadStructuredData)
}
