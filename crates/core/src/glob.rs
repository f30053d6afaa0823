//! Graphite glob patterns over dotted paths.
//!
//! A pattern is split on `.` into nodes, and each node matches one node of a path: `*` any run
//! of characters, `?` one character, `[a-z0-9]` / `[!x]` a class, `{a,b*}` alternatives (which
//! may themselves hold wildcards). Wildcards never cross a dot, as in graphite-web's finder.
//! Log components (later) use the same grammar. Matching is linear-time: wildcard nodes compile
//! to `regex` automata, literal nodes to a string comparison, so a name index can look literal
//! nodes up directly instead of scanning.

use regex::Regex;

use crate::{Error, Result};

/// A compiled glob: one matcher per dotted node.
#[derive(Debug, Clone)]
pub struct Glob {
    source: String,
    nodes: Vec<NodeMatcher>,
}

/// How one node of a pattern matches one node of a path.
#[derive(Debug, Clone)]
pub enum NodeMatcher {
    /// No wildcard: the node must be equal.
    Literal(String),
    /// `*` alone: every node.
    Any,
    /// Anything else, compiled to an anchored regex.
    Pattern(Regex),
}

impl NodeMatcher {
    /// Whether `node` (one path node, no dots) matches.
    pub fn matches(&self, node: &str) -> bool {
        match self {
            NodeMatcher::Literal(s) => s == node,
            NodeMatcher::Any => true,
            NodeMatcher::Pattern(re) => re.is_match(node),
        }
    }

    /// The literal text when the node has no wildcard, so an index can look it up directly.
    pub fn literal(&self) -> Option<&str> {
        match self {
            NodeMatcher::Literal(s) => Some(s),
            _ => None,
        }
    }
}

impl Glob {
    /// Compiles a pattern. Errors name the problem (unbalanced braces or brackets, empty node).
    pub fn new(pattern: &str) -> Result<Glob> {
        let err = |reason: &str| Error::InvalidPattern {
            pattern: pattern.chars().take(200).collect(),
            reason: reason.to_string(),
        };
        if pattern.is_empty() {
            return Err(err("empty pattern"));
        }
        if pattern.len() > crate::limits::MAX_METRIC_NAME_BYTES * 4 {
            return Err(err("pattern too long"));
        }
        let mut nodes = Vec::new();
        for node in split_nodes(pattern).map_err(&err)? {
            if node.is_empty() {
                return Err(err("empty node"));
            }
            nodes.push(compile_node(node).map_err(|r| err(&r))?);
        }
        Ok(Glob {
            source: pattern.to_string(),
            nodes,
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The per-node matchers.
    pub fn nodes(&self) -> &[NodeMatcher] {
        &self.nodes
    }

    /// Whether the pattern holds no wildcard at all.
    pub fn is_literal(&self) -> bool {
        self.nodes.iter().all(|n| n.literal().is_some())
    }

    /// Whether `path` has exactly as many nodes as the pattern and each matches.
    pub fn matches(&self, path: &str) -> bool {
        let mut count = 0;
        for (i, node) in path.split('.').enumerate() {
            match self.nodes.get(i) {
                Some(m) if m.matches(node) => count += 1,
                _ => return false,
            }
        }
        count == self.nodes.len()
    }

    /// Whether `path` matches the pattern or lies below a match (`web.*` matches `web.a.b`).
    /// Log component queries use this subtree sense.
    pub fn matches_prefix_of(&self, path: &str) -> bool {
        let mut parts = path.split('.');
        for m in &self.nodes {
            match parts.next() {
                Some(node) if m.matches(node) => {}
                _ => return false,
            }
        }
        true
    }
}

/// Splits on dots that are outside `{…}` and `[…]`, so `{a.b,c}` stays one node.
fn split_nodes(pattern: &str) -> std::result::Result<Vec<&str>, &'static str> {
    let mut out = Vec::new();
    let (mut depth, mut in_class, mut start) = (0usize, false, 0usize);
    for (i, c) in pattern.char_indices() {
        match c {
            '[' if !in_class => in_class = true,
            ']' if in_class => in_class = false,
            '{' if !in_class => depth += 1,
            '}' if !in_class => depth = depth.checked_sub(1).ok_or("unbalanced '}'")?,
            '.' if !in_class && depth == 0 => {
                out.push(&pattern[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err("unbalanced '{'");
    }
    if in_class {
        return Err("unterminated '['");
    }
    out.push(&pattern[start..]);
    Ok(out)
}

fn compile_node(node: &str) -> std::result::Result<NodeMatcher, String> {
    if node == "*" {
        return Ok(NodeMatcher::Any);
    }
    if !node.contains(['*', '?', '[', '{']) {
        return Ok(NodeMatcher::Literal(node.to_string()));
    }
    let mut re = String::with_capacity(node.len() * 2 + 4);
    re.push_str("^(?:");
    let mut depth = 0usize;
    let mut chars = node.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' => re.push_str("[^.]*"),
            '?' => re.push_str("[^.]"),
            '{' => {
                depth += 1;
                re.push_str("(?:");
            }
            '}' => {
                depth = depth.checked_sub(1).ok_or("unbalanced '}'")?;
                re.push(')');
            }
            ',' if depth > 0 => re.push('|'),
            '[' => {
                re.push('[');
                if matches!(chars.peek(), Some('!') | Some('^')) {
                    chars.next();
                    re.push('^');
                }
                let mut closed = false;
                let mut first = true;
                for c in chars.by_ref() {
                    if c == ']' && !first {
                        closed = true;
                        break;
                    }
                    first = false;
                    if matches!(c, '\\' | '[' | '&' | '~' | '^') {
                        re.push('\\');
                    }
                    re.push(c);
                }
                if !closed {
                    return Err("unterminated '['".into());
                }
                re.push(']');
            }
            c => re.push_str(&regex::escape(c.encode_utf8(&mut [0u8; 4]))),
        }
    }
    re.push_str(")$");
    Regex::new(&re)
        .map(NodeMatcher::Pattern)
        .map_err(|e| format!("node {node:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(pattern: &str, path: &str, expected: bool) {
        let g = Glob::new(pattern).unwrap();
        assert_eq!(g.matches(path), expected, "{pattern} ~ {path}");
    }

    #[test]
    fn graphite_glob_semantics() {
        check("a.b.c", "a.b.c", true);
        check("a.b.c", "a.b", false);
        check("a.b", "a.b.c", false);
        check("a.*.c", "a.xyz.c", true);
        check("a.*", "a.b.c", false);
        check("dc1.host0?.cpu", "dc1.host01.cpu", true);
        check("dc1.host0?.cpu", "dc1.host1.cpu", false);
        check("dc1.host0[1-3].cpu", "dc1.host02.cpu", true);
        check("dc1.host0[1-3].cpu", "dc1.host04.cpu", false);
        check("x.[!a]b", "x.cb", true);
        check("x.[!a]b", "x.ab", false);
        check("app.latency.{api,web}.p99", "app.latency.web.p99", true);
        check("app.latency.{api,web}.p99", "app.latency.db.p99", false);
        check("a.{b*,c}.d", "a.bee.d", true);
        check("a.{b{1,2},c}", "a.b2", true);
        check("a.pre*", "a.prefix", true);
        check("a.pre*", "a.pr", false);
        check("a.x+y", "a.x+y", true);
        check("a.(x)*", "a.(x)z", true);
        check("a.{b.c,d}", "a.b.c", false);
    }

    #[test]
    fn bad_patterns_are_refused() {
        for p in ["", "a..b", "a.{b", "a.b}", "a.[bc", "."] {
            assert!(Glob::new(p).is_err(), "{p:?} should be refused");
        }
    }

    #[test]
    fn prefix_matching_includes_descendants() {
        let g = Glob::new("webapp.backend").unwrap();
        assert!(g.matches_prefix_of("webapp.backend"));
        assert!(g.matches_prefix_of("webapp.backend.git"));
        assert!(!g.matches_prefix_of("webapp.backendx"));
        assert!(!g.matches_prefix_of("webapp"));
    }
}
