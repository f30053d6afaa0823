//! Metric names and tagged series keys.
//!
//! A plain metric name is a dotted path (`web01.cpu.user`). A tagged series is
//! `name;tag=value;tag2=value2` as Graphite 1.1 writes it; its canonical form sorts the tags by
//! name, so `disk.used;rack=a1;datacenter=dc1` and `disk.used;datacenter=dc1;rack=a1` are one
//! series. Every series is stored under its canonical name. This module validates and
//! canonicalises; it does not know about storage.

use std::borrow::Cow;

use crate::limits::MAX_METRIC_NAME_BYTES;

/// Why a metric name was refused. Small and allocation-free: it is produced on the hot path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameError {
    /// The name is empty.
    #[error("empty name")]
    Empty,
    /// Longer than [`MAX_METRIC_NAME_BYTES`].
    #[error("name longer than {MAX_METRIC_NAME_BYTES} bytes")]
    TooLong,
    /// A node between dots is empty (`a..b`, `.a`, `a.`).
    #[error("empty node in path")]
    EmptyNode,
    /// Whitespace or a control character in the name.
    #[error("whitespace or control character in name")]
    BadCharacter,
    /// A tag is not `key=value`, or its key or value is empty or uses a forbidden character.
    #[error("invalid tag (want key=value; key without ;!^= value without ; or leading ~)")]
    BadTag,
}

/// Checks a plain (untagged) dotted path: non-empty, bounded, no empty node, no whitespace or
/// control characters, no `;` (which would start tags).
pub fn validate_metric_path(path: &str) -> Result<(), NameError> {
    if path.is_empty() {
        return Err(NameError::Empty);
    }
    if path.len() > MAX_METRIC_NAME_BYTES {
        return Err(NameError::TooLong);
    }
    if path.bytes().any(|b| b <= b' ' || b == 0x7f || b == b';') {
        return Err(NameError::BadCharacter);
    }
    if path.starts_with('.') || path.ends_with('.') || path.contains("..") {
        return Err(NameError::EmptyNode);
    }
    Ok(())
}

/// Splits a canonical or raw series name into its path and its `key=value` tags, without
/// validating. `a.b;x=1;y=2` gives `("a.b", [("x","1"), ("y","2")])`.
pub fn split_tags(name: &str) -> (&str, Vec<(&str, &str)>) {
    let mut parts = name.split(';');
    let path = parts.next().unwrap_or("");
    let tags = parts.filter_map(|t| t.split_once('=')).collect::<Vec<_>>();
    (path, tags)
}

/// Validates a series name and returns its canonical form: the path unchanged if it has no
/// tags (borrowed, no allocation), otherwise `path;k=v;…` with tags sorted by key. A repeated
/// key keeps its last value, as carbon does.
pub fn canonical_series_name(raw: &str) -> Result<Cow<'_, str>, NameError> {
    let Some((path, tag_text)) = raw.split_once(';') else {
        validate_metric_path(raw)?;
        return Ok(Cow::Borrowed(raw));
    };
    validate_metric_path(path)?;
    if raw.len() > MAX_METRIC_NAME_BYTES {
        return Err(NameError::TooLong);
    }
    let mut tags: Vec<(&str, &str)> = Vec::new();
    for tag in tag_text.split(';') {
        let (k, v) = tag.split_once('=').ok_or(NameError::BadTag)?;
        let key_ok = !k.is_empty()
            && k.bytes()
                .all(|b| b > b' ' && b < 0x7f && !matches!(b, b';' | b'!' | b'^' | b'='));
        let value_ok = !v.is_empty()
            && !v.starts_with('~')
            && v.bytes().all(|b| b > b' ' && b != 0x7f && b != b';');
        if !key_ok || !value_ok {
            return Err(NameError::BadTag);
        }
        if let Some(slot) = tags.iter_mut().find(|(key, _)| *key == k) {
            slot.1 = v;
        } else {
            tags.push((k, v));
        }
    }
    tags.sort_by(|a, b| a.0.cmp(b.0));
    let mut out = String::with_capacity(raw.len());
    out.push_str(path);
    for (k, v) in tags {
        out.push(';');
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    Ok(Cow::Owned(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(raw: &str, expected: Result<&str, NameError>) {
        assert_eq!(
            canonical_series_name(raw).as_deref().map_err(|e| *e),
            expected,
            "{raw:?}"
        );
    }

    #[test]
    fn names_are_validated_and_canonicalised() {
        check("local.random.diceroll", Ok("local.random.diceroll"));
        check(
            "disk.used;rack=a1;datacenter=dc1;server=web01",
            Ok("disk.used;datacenter=dc1;rack=a1;server=web01"),
        );
        check("a;k=1;k=2", Ok("a;k=2"));
        check("", Err(NameError::Empty));
        check("a..b", Err(NameError::EmptyNode));
        check(".a", Err(NameError::EmptyNode));
        check("a.", Err(NameError::EmptyNode));
        check("a b", Err(NameError::BadCharacter));
        check("a\tb", Err(NameError::BadCharacter));
        check("a;k", Err(NameError::BadTag));
        check("a;=v", Err(NameError::BadTag));
        check("a;k=", Err(NameError::BadTag));
        check("a;k=~re", Err(NameError::BadTag));
        check("a;k!=v", Err(NameError::BadTag));
        check(
            &"x".repeat(MAX_METRIC_NAME_BYTES + 1),
            Err(NameError::TooLong),
        );
    }

    #[test]
    fn split_tags_separates_path_and_tags() {
        assert_eq!(
            split_tags("a.b;x=1;y=2"),
            ("a.b", vec![("x", "1"), ("y", "2")])
        );
        assert_eq!(split_tags("a.b"), ("a.b", vec![]));
    }
}
