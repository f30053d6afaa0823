//! What every log protocol does once it has a record's parts: turn the sender's name for the
//! source (syslog APP-NAME or TAG, GELF `_component`/`facility`, NDJSON `component`) into a
//! valid dotted component, and add fields without exceeding [`MAX_LOG_FIELDS`].
//!
//! It lives beside syslog because syslog's APP-NAME set the rules first; GELF and NDJSON reuse
//! it so one source gets the same component whatever protocol it speaks. Parsing is not here.

use lookout_core::limits::{MAX_COMPONENT_NODES, MAX_LOG_FIELDS};
use lookout_core::validate_metric_path;

/// The component of a record whose sender named none.
pub(crate) const UNKNOWN_COMPONENT: &str = "unknown";

/// Field set on a record that had more than [`MAX_LOG_FIELDS`] fields: the rest were dropped.
pub(crate) const FIELDS_DROPPED_FIELD: &str = "fields_dropped";

/// Why a sender's component name was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ComponentError {
    /// More than [`MAX_COMPONENT_NODES`] dot-separated nodes.
    TooManyNodes,
    /// Empty nodes (`a..b`, a leading or trailing dot) or too long as a path.
    Invalid,
}

/// Maps a sender's name to a component: every character but ASCII letters, digits, `-`, `_`
/// and `.` becomes `_` (senders put `/`, spaces and `:` in tags, which would break the dotted
/// namespace shared with metrics); empty gives `unknown`. Empty nodes are refused rather than
/// repaired, because guessing which nodes were meant would file logs under a wrong subtree.
pub(crate) fn component_from(name: &[u8]) -> Result<String, ComponentError> {
    let text = String::from_utf8_lossy(name);
    let text = text.trim();
    if text.is_empty() {
        return Ok(UNKNOWN_COMPONENT.to_string());
    }
    let mapped: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if mapped.split('.').count() > MAX_COMPONENT_NODES {
        return Err(ComponentError::TooManyNodes);
    }
    validate_metric_path(&mapped).map_err(|_| ComponentError::Invalid)?;
    Ok(mapped)
}

/// Appends a field unless the record already has [`MAX_LOG_FIELDS`]. Past the limit a
/// `fields_dropped=true` marker is added once (one slot over the limit), so a reader can tell
/// that fields are missing rather than never sent.
pub(crate) fn push_field(fields: &mut Vec<(String, String)>, key: String, value: String) {
    if fields.len() < MAX_LOG_FIELDS {
        fields.push((key, value));
    } else if !fields.iter().any(|(k, _)| k == FIELDS_DROPPED_FIELD) {
        fields.push((FIELDS_DROPPED_FIELD.to_string(), "true".to_string()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(name: &str, expected: Result<&str, ComponentError>) {
        assert_eq!(
            component_from(name.as_bytes()),
            expected.map(str::to_string),
            "{name:?}"
        );
    }

    #[test]
    fn sender_names_map_to_components() {
        check("su", Ok("su"));
        check("webapp.backend.git", Ok("webapp.backend.git"));
        check("my app/worker:1", Ok("my_app_worker_1"));
        check("", Ok("unknown"));
        check("  ", Ok("unknown"));
        check("caf\u{e9}", Ok("caf_"));
        check("a;b=c", Ok("a_b_c"));
        check("a..b", Err(ComponentError::Invalid));
        check(".a", Err(ComponentError::Invalid));
        check(&["n"; 32].join("."), Ok(&["n"; 32].join(".")));
        check(&["n"; 33].join("."), Err(ComponentError::TooManyNodes));
        check(&["n"; 500].join("."), Err(ComponentError::TooManyNodes));
        check(&"x".repeat(2000), Err(ComponentError::Invalid));
    }

    #[test]
    fn fields_beyond_the_limit_are_dropped_and_marked_once() {
        let mut fields = Vec::new();
        for i in 0..MAX_LOG_FIELDS + 5 {
            push_field(&mut fields, format!("k{i}"), "v".into());
        }
        assert_eq!(fields.len(), MAX_LOG_FIELDS + 1);
        assert_eq!(fields[MAX_LOG_FIELDS].0, FIELDS_DROPPED_FIELD);
    }
}
