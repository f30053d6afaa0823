//! Python `re` patterns and `re.sub` replacement templates, as graphite-web uses them in
//! `aliasSub`, `exclude`, `grep` and `seriesByTag`, on top of the `regex` crate.
//!
//! Patterns are passed to `regex` after translating the few spellings that differ (`\Z`);
//! features `regex` lacks (look-around, backreferences) are refused with a clear error rather
//! than matched differently. Replacement templates follow Python: `\1`, `\g<1>`, `\g<name>`,
//! `\n`-style escapes, and unmatched groups expand to nothing. Grafana wraps every target as
//! `aliasSub(<target>, "(^.*$)", "\1 A")`, so this path must be exact.

use regex::{Captures, Regex};

use crate::error::{QueryError, Result};

/// Longest pattern accepted; user patterns are short, and this bounds compile time and memory.
const MAX_PATTERN_BYTES: usize = 4096;

/// Compiles a Python regular expression.
pub(crate) fn compile(pattern: &str) -> Result<Regex> {
    let bad =
        |why: String| QueryError::invalid(format!("invalid regular expression {pattern:?}: {why}"));
    if pattern.len() > MAX_PATTERN_BYTES {
        return Err(bad("too long".into()));
    }
    let mut out = String::with_capacity(pattern.len() + 4);
    let mut chars = pattern.chars().peekable();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let Some(n) = chars.next() else {
                    return Err(bad("trailing backslash".into()));
                };
                match n {
                    'Z' if !in_class => out.push_str(r"\z"),
                    '1'..='9' if !in_class => {
                        return Err(bad("backreferences are not supported".into()))
                    }
                    _ => {
                        out.push('\\');
                        out.push(n);
                    }
                }
            }
            '[' if !in_class => {
                in_class = true;
                out.push('[');
                // A leading `]` (or `^]`) is a literal in Python; `regex` wants it escaped.
                if chars.peek() == Some(&'^') {
                    chars.next();
                    out.push('^');
                }
                if chars.peek() == Some(&']') {
                    chars.next();
                    out.push_str(r"\]");
                }
            }
            '[' if in_class => out.push_str(r"\["),
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            '(' if !in_class && chars.peek() == Some(&'?') => {
                let rest: String = chars.clone().take(3).collect();
                if rest.starts_with("?=")
                    || rest.starts_with("?!")
                    || rest.starts_with("?<=")
                    || rest.starts_with("?<!")
                    || rest.starts_with("?P=")
                {
                    return Err(bad(
                        "look-around and backreferences are not supported".into()
                    ));
                }
                out.push('(');
            }
            _ => out.push(c),
        }
    }
    Regex::new(&out).map_err(|e| bad(e.to_string()))
}

/// One piece of a parsed replacement template.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Text(String),
    Group(usize),
    Named(String),
}

/// Python's `re.sub(pattern, repl, text)`: every non-overlapping match replaced.
pub(crate) fn sub(re: &Regex, repl: &str, text: &str) -> Result<String> {
    let pieces = parse_template(re, repl)?;
    let mut out = String::with_capacity(text.len() + repl.len());
    let mut last = 0;
    for caps in re.captures_iter(text) {
        let Some(m) = caps.get(0) else { continue };
        out.push_str(&text[last..m.start()]);
        expand(&pieces, &caps, &mut out);
        last = m.end();
    }
    out.push_str(&text[last..]);
    Ok(out)
}

fn expand(pieces: &[Piece], caps: &Captures<'_>, out: &mut String) {
    for p in pieces {
        match p {
            Piece::Text(t) => out.push_str(t),
            Piece::Group(i) => out.push_str(caps.get(*i).map_or("", |m| m.as_str())),
            Piece::Named(n) => out.push_str(caps.name(n).map_or("", |m| m.as_str())),
        }
    }
}

fn parse_template(re: &Regex, repl: &str) -> Result<Vec<Piece>> {
    let bad = |why: String| QueryError::invalid(format!("invalid replacement {repl:?}: {why}"));
    let groups = re.captures_len();
    let check = |i: usize| {
        if i < groups {
            Ok(Piece::Group(i))
        } else {
            Err(bad(format!("invalid group reference {i}")))
        }
    };
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut chars = repl.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            text.push(c);
            continue;
        }
        let Some(n) = chars.next() else {
            return Err(bad("trailing backslash".into()));
        };
        let group = match n {
            'g' => {
                if chars.next() != Some('<') {
                    return Err(bad("missing '<' after \\g".into()));
                }
                let name: String = chars.by_ref().take_while(|c| *c != '>').collect();
                if name.is_empty() {
                    return Err(bad("empty group name".into()));
                }
                Some(match name.parse::<usize>() {
                    Ok(i) => check(i)?,
                    Err(_) if re.capture_names().any(|n| n == Some(name.as_str())) => {
                        Piece::Named(name)
                    }
                    Err(_) => return Err(bad(format!("unknown group name {name:?}"))),
                })
            }
            '0' => {
                // `\0` and up to two more octal digits: a character code.
                let mut code = 0u32;
                for _ in 0..2 {
                    match chars.peek().and_then(|c| c.to_digit(8)) {
                        Some(d) => {
                            code = code * 8 + d;
                            chars.next();
                        }
                        None => break,
                    }
                }
                text.push(char::from_u32(code).unwrap_or('\0'));
                None
            }
            '1'..='9' => {
                let mut i = n.to_digit(10).unwrap_or(0) as usize;
                if let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
                    i = i * 10 + d as usize;
                    chars.next();
                }
                Some(check(i)?)
            }
            'n' => {
                text.push('\n');
                None
            }
            't' => {
                text.push('\t');
                None
            }
            'r' => {
                text.push('\r');
                None
            }
            'f' => {
                text.push('\x0c');
                None
            }
            'v' => {
                text.push('\x0b');
                None
            }
            'a' => {
                text.push('\x07');
                None
            }
            'b' => {
                text.push('\x08');
                None
            }
            '\\' => {
                text.push('\\');
                None
            }
            c if c.is_ascii_alphabetic() => return Err(bad(format!("bad escape \\{c}"))),
            c => {
                text.push('\\');
                text.push(c);
                None
            }
        };
        if let Some(g) = group {
            if !text.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut text)));
            }
            pieces.push(g);
        }
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Ok(pieces)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(pattern: &str, repl: &str, text: &str, expected: &str) {
        let re = compile(pattern).unwrap_or_else(|e| panic!("{pattern:?}: {e}"));
        assert_eq!(
            sub(&re, repl, text).unwrap(),
            expected,
            "sub({pattern:?}, {repl:?}, {text:?})"
        );
    }

    #[test]
    fn python_substitution() {
        // Grafana's wrapper.
        check(r"(^.*$)", r"\1 A", "sumSeries(a.b)", "sumSeries(a.b) A");
        check(r"^.*TCP(\d+)", r"\1", "ip.192.TCP80.x", "80.x");
        check(
            r"(?P<host>host\d+)",
            r"\g<host>!",
            "a.host01.b",
            "a.host01!.b",
        );
        check(r"(a)(b)?", r"[\2]", "ac", "[]c");
        check(r"o", r"0", "foo.boo", "f00.b00");
        check(r"\.", r"\\", "a.b", r"a\b");
        check(r"x", r"\t", "axb", "a\tb");
        check(r"b", r"\g<0>\g<0>", "abc", "abbc");
        check(r"b\Z", "B", "ab", "aB");
        check(r"[]a]", "-", "]a", "--");
        check(
            r"(\d)(\d)(\d)(\d)(\d)(\d)(\d)(\d)(\d)(\d)",
            r"\10",
            "0123456789",
            "9",
        );
    }

    #[test]
    fn unsupported_or_bad_input_is_an_error() {
        assert!(compile(r"a(?=b)").is_err());
        assert!(compile(r"(a)\1").is_err());
        assert!(compile(r"(").is_err());
        assert!(compile("\\").is_err());
        let re = compile("(a)").unwrap();
        assert!(sub(&re, r"\2", "a").is_err());
        assert!(sub(&re, r"\q", "a").is_err());
        assert!(sub(&re, r"\g<nope>", "a").is_err());
    }
}
