//! Recursive-descent parser for render targets, following graphite-web's pyparsing grammar
//! (`grammar_unsafe.py`): which characters a path may hold, how numbers are told apart from
//! paths (a number must be followed by `,`, `)` or the end), caseless `true`/`false`/`None`/`inf`
//! keywords, quoted strings kept verbatim, keyword arguments after positional ones, and pipes.
//!
//! Two deliberate differences: trailing text after a complete target is an error here (pyparsing
//! silently ignores it, so `sumSeries(a.b))` "worked" with the extra parenthesis dropped), and
//! nesting is limited to [`MAX_DEPTH`] so hostile input cannot exhaust the stack. Nothing is
//! evaluated here.

use super::ast::{Call, Expr};
use crate::error::{QueryError, Result};

/// Deepest nesting of calls (and pipes) accepted. Real dashboards nest a handful of levels; 64
/// keeps recursion far from the stack limit of any thread the HTTP layer runs on.
pub const MAX_DEPTH: usize = 64;

/// Characters that end a path element; every other printable character belongs to paths
/// (graphite-web's `symbols`).
const SYMBOLS: &[u8] = b"(){},.'\"\\|";

/// Characters a backslash may escape inside a path.
const ESCAPABLE: &[u8] = b"(){},.'\"\\|=";

/// Parses one target. Leading and trailing whitespace is ignored.
pub(crate) fn parse(target: &str) -> Result<Expr> {
    let mut p = Parser::new(target);
    p.skip_ws();
    let expr = p.expression()?;
    p.skip_ws();
    if p.pos < p.src.len() {
        return Err(p.unexpected("end of target"));
    }
    Ok(expr)
}

/// Parses the longest prefix of `text` that is a target, ignoring the rest, as graphite-web's
/// `parseString` does; used to find the first path expression inside a series name.
pub(crate) fn parse_prefix(text: &str) -> Option<Expr> {
    let mut p = Parser::new(text);
    p.skip_ws();
    p.expression().ok()
}

struct Parser<'a> {
    src: &'a str,
    bytes: &'a [u8],
    pos: usize,
    depth: usize,
}

impl<'a> Parser<'a> {
    fn new(src: &'a str) -> Self {
        Parser {
            src,
            bytes: src.as_bytes(),
            pos: 0,
            depth: 0,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn peek_at(&self, pos: usize) -> Option<u8> {
        self.bytes.get(pos).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    /// An error naming what was found at the current position and what was expected.
    fn unexpected(&self, expected: &str) -> QueryError {
        let found = match self.src[self.pos..].chars().next() {
            Some(c) => format!("{c:?}"),
            None => "end of target".to_string(),
        };
        QueryError::syntax(self.pos, format!("expected {expected}, found {found}"))
    }

    /// `expression := (call | path) ( '|' call )*`
    fn expression(&mut self) -> Result<Expr> {
        self.enter()?;
        let mut expr = self.primary()?;
        let head = expr.clone();
        loop {
            let save = self.pos;
            self.skip_ws();
            if self.peek() != Some(b'|') {
                self.pos = save;
                break;
            }
            self.pos += 1;
            self.skip_ws();
            let start = self.pos;
            let Some(name) = self.identifier() else {
                return Err(self.unexpected("a function call after '|'"));
            };
            self.skip_ws();
            if self.peek() != Some(b'(') {
                return Err(self.unexpected("'(' after a piped function name"));
            }
            let mut call = self.call_rest(name, start)?;
            call.args.insert(0, expr);
            call.pipe_head = Some(Box::new(head.clone()));
            expr = Expr::Call(call);
        }
        self.depth -= 1;
        Ok(expr)
    }

    fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(QueryError::new(
                crate::ErrorKind::TooComplex,
                Some(self.pos),
                format!("target nested deeper than {MAX_DEPTH} levels"),
            ));
        }
        Ok(())
    }

    fn primary(&mut self) -> Result<Expr> {
        let start = self.pos;
        if let Some(name) = self.identifier() {
            self.skip_ws();
            if self.peek() == Some(b'(') {
                return Ok(Expr::Call(self.call_rest(name, start)?));
            }
            self.pos = start;
        }
        self.path()
    }

    /// `[A-Za-z_][A-Za-z0-9_]*`, graphite-web's `funcname` and `argname`.
    fn identifier(&mut self) -> Option<String> {
        let start = self.pos;
        match self.peek() {
            Some(c) if c.is_ascii_alphabetic() || c == b'_' => self.pos += 1,
            _ => return None,
        }
        while matches!(self.peek(), Some(c) if c.is_ascii_alphanumeric() || c == b'_') {
            self.pos += 1;
        }
        Some(self.src[start..self.pos].to_string())
    }

    /// The rest of a call once its name is read and `(` is next.
    fn call_rest(&mut self, name: String, start: usize) -> Result<Call> {
        self.pos += 1; // '('
        let mut args = Vec::new();
        let mut kwargs: Vec<(String, Expr)> = Vec::new();
        self.skip_ws();
        if self.peek() != Some(b')') {
            loop {
                self.skip_ws();
                let arg_start = self.pos;
                if let Some(key) = self.kwarg_name() {
                    let value = self.argument()?;
                    kwargs.push((key, value));
                } else {
                    if !kwargs.is_empty() {
                        return Err(QueryError::syntax(
                            arg_start,
                            "positional argument after a keyword argument",
                        ));
                    }
                    args.push(self.argument()?);
                }
                self.skip_ws();
                match self.peek() {
                    Some(b',') => self.pos += 1,
                    Some(b')') => break,
                    _ => return Err(self.unexpected("',' or ')'")),
                }
            }
        }
        self.pos += 1; // ')'
        Ok(Call {
            name,
            args,
            kwargs,
            raw: self.src[start..self.pos].to_string(),
            pos: start,
            pipe_head: None,
        })
    }

    /// `name =` ahead (not `==`-like path text): consumes it and returns the name.
    fn kwarg_name(&mut self) -> Option<String> {
        let save = self.pos;
        if let Some(name) = self.identifier() {
            self.skip_ws();
            if self.peek() == Some(b'=') {
                self.pos += 1;
                self.skip_ws();
                return Some(name);
            }
        }
        self.pos = save;
        None
    }

    /// One argument: keyword literal, number, string or nested expression, in graphite's order.
    fn argument(&mut self) -> Result<Expr> {
        self.skip_ws();
        if let Some(e) = self.keyword_literal() {
            return Ok(e);
        }
        if let Some(e) = self.number() {
            return Ok(e);
        }
        match self.peek() {
            Some(q @ (b'"' | b'\'')) => self.string(q),
            _ => self.expression(),
        }
    }

    /// Whether the next non-blank character ends an argument, as graphite's `afterNumber`.
    fn at_arg_end(&self, pos: usize) -> bool {
        let mut p = pos;
        while matches!(self.peek_at(p), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            p += 1;
        }
        matches!(self.peek_at(p), None | Some(b',' | b')'))
    }

    /// `true`, `false`, `none`, `inf` in any case, when they stand alone as the argument.
    fn keyword_literal(&mut self) -> Option<Expr> {
        let start = self.pos;
        let mut end = start;
        while matches!(self.peek_at(end), Some(c) if c.is_ascii_alphanumeric() || c == b'_' || c == b'$')
        {
            end += 1;
        }
        if end == start || !self.at_arg_end(end) {
            return None;
        }
        let word = self.src[start..end].to_ascii_lowercase();
        let e = match word.as_str() {
            "true" => Expr::Bool(true),
            "false" => Expr::Bool(false),
            "none" => Expr::None,
            "inf" => Expr::Inf,
            _ => return None,
        };
        self.pos = end;
        Some(e)
    }

    /// Integer, float or scientific number followed by an argument end; otherwise nothing is
    /// consumed and the text is read as a path (`1.2.3` is a path).
    fn number(&mut self) -> Option<Expr> {
        let start = self.pos;
        let int_end = |p: usize| -> Option<usize> {
            let mut q = p;
            if self.peek_at(q) == Some(b'-') {
                q += 1;
            }
            let digits = q;
            while matches!(self.peek_at(q), Some(c) if c.is_ascii_digit()) {
                q += 1;
            }
            (q > digits).then_some(q)
        };
        let mantissa_end = int_end(start)?;
        let mut is_float = false;
        let mut end = mantissa_end;
        if self.peek_at(end) == Some(b'.') {
            let mut q = end + 1;
            while matches!(self.peek_at(q), Some(c) if c.is_ascii_digit()) {
                q += 1;
            }
            if q > end + 1 {
                end = q;
                is_float = true;
            }
        }
        let mut scientific = false;
        if matches!(self.peek_at(end), Some(b'e' | b'E')) {
            if let Some(q) = int_end(end + 1) {
                if self.at_arg_end(q) {
                    end = q;
                    scientific = true;
                }
            }
        }
        if !self.at_arg_end(end) {
            return None;
        }
        let text = &self.src[start..end];
        let e = if scientific || is_float {
            Expr::Float(text.parse::<f64>().ok()?)
        } else {
            match text.parse::<i64>() {
                Ok(i) => Expr::Int(i),
                // Python ints are unbounded; a float keeps huge literals usable.
                Err(_) => Expr::Float(text.parse::<f64>().ok()?),
            }
        };
        self.pos = end;
        Some(e)
    }

    /// A quoted string as pyparsing's `quotedString`: backslash escapes and doubled quotes are
    /// allowed, no line breaks; the content is returned without unescaping.
    fn string(&mut self, quote: u8) -> Result<Expr> {
        let start = self.pos;
        let mut p = start + 1;
        loop {
            match self.peek_at(p) {
                None | Some(b'\n' | b'\r') => {
                    return Err(QueryError::syntax(start, "unterminated string"));
                }
                Some(b'\\') => {
                    if self.peek_at(p + 1).is_none() {
                        return Err(QueryError::syntax(start, "unterminated string"));
                    }
                    p += 2;
                    // Keep whole UTF-8 characters together.
                    while p < self.bytes.len() && !self.src.is_char_boundary(p) {
                        p += 1;
                    }
                }
                Some(c) if c == quote => {
                    if self.peek_at(p + 1) == Some(quote) {
                        p += 2;
                    } else {
                        break;
                    }
                }
                Some(_) => p += 1,
            }
        }
        self.pos = p + 1;
        Ok(Expr::Str(self.src[start + 1..p].to_string()))
    }

    /// `path := element ('.' element)*`, elements made of path characters, escapes and `{a,b}`.
    fn path(&mut self) -> Result<Expr> {
        let start = self.pos;
        let mut text = String::new();
        loop {
            if !self.path_element(&mut text)? {
                return Err(self.unexpected("a metric path or function call"));
            }
            if self.peek() == Some(b'.') {
                self.pos += 1;
                text.push('.');
                continue;
            }
            break;
        }
        Ok(Expr::Path { text, pos: start })
    }

    /// Appends one dot-free element to `out`; false when nothing could be read.
    fn path_element(&mut self, out: &mut String) -> Result<bool> {
        let start = self.pos;
        loop {
            match self.peek() {
                Some(b'{') => {
                    let brace = self.pos;
                    self.pos += 1;
                    out.push('{');
                    loop {
                        if !self.partial(out) {
                            return Err(self.unexpected("a path element inside '{...}'"));
                        }
                        match self.peek() {
                            Some(b',') => {
                                self.pos += 1;
                                out.push(',');
                            }
                            Some(b'}') => {
                                self.pos += 1;
                                out.push('}');
                                break;
                            }
                            _ => return Err(QueryError::syntax(brace, "unterminated '{' in path")),
                        }
                    }
                }
                _ => {
                    if !self.partial(out) {
                        break;
                    }
                }
            }
        }
        Ok(self.pos > start)
    }

    /// Path characters and backslash escapes; false when nothing could be read.
    fn partial(&mut self, out: &mut String) -> bool {
        let start = self.pos;
        while let Some(c) = self.src[self.pos..].chars().next() {
            if c == '\\' {
                match self.peek_at(self.pos + 1) {
                    Some(e) if ESCAPABLE.contains(&e) => {
                        out.push(e as char);
                        self.pos += 2;
                        continue;
                    }
                    _ => break,
                }
            }
            let path_char = if c.is_ascii() {
                c.is_ascii_graphic() && !SYMBOLS.contains(&(c as u8))
            } else {
                !c.is_whitespace() && !c.is_control()
            };
            if !path_char {
                break;
            }
            out.push(c);
            self.pos += c.len_utf8();
        }
        self.pos > start
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(t: &str) -> Expr {
        Expr::Path {
            text: t.to_string(),
            pos: 0,
        }
    }

    /// Renders a tree compactly so table rows stay one line: calls as `f(a;b;k=v)`.
    fn show(e: &Expr) -> String {
        match e {
            Expr::Path { text, .. } => format!("P:{text}"),
            Expr::Call(c) => {
                let mut parts: Vec<String> = c.args.iter().map(show).collect();
                parts.extend(c.kwargs.iter().map(|(k, v)| format!("{k}={}", show(v))));
                format!("{}({})", c.name, parts.join(";"))
            }
            Expr::Int(i) => format!("I:{i}"),
            Expr::Float(f) => format!("F:{f}"),
            Expr::Str(s) => format!("S:{s}"),
            Expr::Bool(b) => format!("B:{b}"),
            Expr::None => "None".into(),
            Expr::Inf => "Inf".into(),
        }
    }

    #[track_caller]
    fn check(target: &str, expected: &str) {
        let got = parse(target).unwrap_or_else(|e| panic!("{target:?}: {e}"));
        assert_eq!(show(&got), expected, "{target:?}");
    }

    #[track_caller]
    fn check_err(target: &str, position: usize, fragment: &str) {
        let e = parse(target).expect_err(target);
        assert_eq!(e.position, Some(position), "{target:?}: {e}");
        assert!(e.message.contains(fragment), "{target:?}: {e}");
    }

    #[test]
    fn good_targets() {
        check("a.b.c", "P:a.b.c");
        check("  a.b.c  ", "P:a.b.c");
        check("a.*.b{c,d}", "P:a.*.b{c,d}");
        check(
            "dc1.host0[1-3].cpu.{user,system}",
            "P:dc1.host0[1-3].cpu.{user,system}",
        );
        check("a-b_c:d#e@f%g$h=i~j!k?l", "P:a-b_c:d#e@f%g$h=i~j!k?l");
        check("disk.used;dc=sf;host=web01", "P:disk.used;dc=sf;host=web01");
        check(r"a.b\(c\)", "P:a.b(c)");
        check("1.2.3", "P:1.2.3");
        check("42", "P:42");
        check("sumSeries(a.*.b)", "sumSeries(P:a.*.b)");
        check("sumSeries (a.b , c.d)", "sumSeries(P:a.b;P:c.d)");
        check("scale(a.b,2.5)", "scale(P:a.b;F:2.5)");
        check("scale(a.b, -3)", "scale(P:a.b;I:-3)");
        check("scale(a.b,1e3)", "scale(P:a.b;F:1000)");
        check("scale(a.b,-1.5E-2)", "scale(P:a.b;F:-0.015)");
        check("f(1.2.3)", "f(P:1.2.3)");
        check("f(true,False,None,INF)", "f(B:true;B:false;None;Inf)");
        check("f(trueish,inform)", "f(P:trueish;P:inform)");
        check("alias(a,'x y')", "alias(P:a;S:x y)");
        check(
            r#"aliasSub(a, "(^.*$)", "\1 A")"#,
            r"aliasSub(P:a;S:(^.*$);S:\1 A)",
        );
        check(r#"alias(a,"say \"hi\"")"#, r#"alias(P:a;S:say \"hi\")"#);
        check(r#"alias(a,'it''s')"#, "alias(P:a;S:it''s)");
        check(
            "movingAverage(a,'5min',xFilesFactor=0.5)",
            "movingAverage(P:a;S:5min;xFilesFactor=F:0.5)",
        );
        check("f(a, k = 1)", "f(P:a;k=I:1)");
        check("f()", "f()");
        check("a.b|scale(2)|alias(\"x\")", "alias(scale(P:a.b;I:2);S:x)");
        check("a.b | aliasByNode(1)", "aliasByNode(P:a.b;I:1)");
        check(
            "movingAverage(aliasByNode(a.*.b,1),\"5min\")",
            "movingAverage(aliasByNode(P:a.*.b;I:1);S:5min)",
        );
        check(
            "seriesByTag('name=disk.used','dc=~sf.*')",
            "seriesByTag(S:name=disk.used;S:dc=~sf.*)",
        );
        check("sumSeries(f(a)|g(),b)", "sumSeries(g(f(P:a));P:b)");
        check("a.b\u{e9}", "P:a.b\u{e9}");
    }

    #[test]
    fn raw_text_and_positions_are_kept() {
        let Expr::Call(c) = parse("sumSeries( seriesByTag('a=b') )").unwrap() else {
            panic!("not a call")
        };
        let Expr::Call(inner) = &c.args[0] else {
            panic!("not a call")
        };
        assert_eq!(inner.raw, "seriesByTag('a=b')");
        assert_eq!(inner.pos, 11);
        assert_eq!(c.pos, 0);
        assert_eq!(parse("a.b").unwrap(), path("a.b"));
    }

    #[test]
    fn bad_targets_name_the_position() {
        check_err("", 0, "expected a metric path");
        check_err("sumSeries(a.b", 13, "expected ',' or ')'");
        check_err("sumSeries(a.b))", 14, "end of target");
        check_err("sumSeries(a.b,)", 14, "expected a metric path");
        check_err("f(k=1, a.b)", 7, "positional argument after a keyword");
        check_err("alias(a,'x)", 8, "unterminated string");
        check_err("a.{b,c", 2, "unterminated '{'");
        check_err("a..b", 2, "expected a metric path");
        check_err("a.b|", 4, "function call after '|'");
        check_err("a.b|c", 5, "'(' after a piped function name");
        check_err("f(a b)", 4, "expected ',' or ')'");
        check_err("(a)", 0, "expected a metric path");
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let deep = "f(".repeat(10_000) + "a" + &")".repeat(10_000);
        let e = parse(&deep).expect_err("too deep");
        assert_eq!(e.kind, crate::ErrorKind::TooComplex);
        let parens = "(".repeat(100_000);
        assert!(parse(&parens).is_err());
        let ok = "f(".repeat(MAX_DEPTH - 1) + "a" + &")".repeat(MAX_DEPTH - 1);
        assert!(parse(&ok).is_ok());
        let too_deep = "f(".repeat(MAX_DEPTH) + "a" + &")".repeat(MAX_DEPTH);
        assert!(parse(&too_deep).is_err());
        assert!(parse(&ok).is_ok());
    }

    #[test]
    fn prefix_parse_ignores_trailing_text() {
        assert_eq!(show(&parse_prefix("a.b c)").unwrap()), "P:a.b");
        assert!(parse_prefix(")").is_none());
    }
}
