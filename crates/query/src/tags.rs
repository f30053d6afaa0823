//! Graphite's tag database, answered from the store's list of canonical series names: tag
//! expressions (`tag=value`, `tag!=value`, `tag=~regex`, `tag!=~regex`) and the queries behind
//! `seriesByTag` and the `/tags` endpoints (list tags, a tag's values with counts, find series,
//! autocompletion of tags and values under expression filters), with graphite-web 1.1's rules.
//!
//! Every series has the tag `name` (its dotted path), untagged ones only that, as carbon
//! registers every series it creates in graphite-web's tag database. There is no separate index:
//! each query scans [`MetricReader::list_series`] once, so its work is one pass over the series
//! names plus one regex match per name and expression. HTTP shapes and parameters are the
//! binary's; this module returns plain lists.

use std::collections::{BTreeMap, BTreeSet};

use lookout_core::{split_tags, MetricReader};
use regex::Regex;

use crate::error::{QueryError, Result};
use crate::pyregex;

/// Default `limit` of the autocomplete queries: graphite-web's `TAGDB_AUTOCOMPLETE_LIMIT`.
pub const AUTOCOMPLETE_LIMIT: usize = 100;

/// The comparison of one tag expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagOperator {
    /// `tag=value`: the value is exactly this.
    Equal,
    /// `tag!=value`: the value is anything else (a missing tag is the empty value).
    NotEqual,
    /// `tag=~regex`: the value matches the regex, anchored at its start.
    Match,
    /// `tag!=~regex`: the value does not match the regex.
    NotMatch,
}

/// One parsed tag expression such as `host=~web.*`.
#[derive(Debug, Clone)]
pub struct TagExpression {
    /// The tag the expression tests (`name` is the series' path).
    pub tag: String,
    /// How the value is compared.
    pub operator: TagOperator,
    /// The value or regex text as written.
    pub spec: String,
    /// The compiled regex of `=~`/`!=~`.
    regex: Option<Regex>,
}

impl TagExpression {
    /// Parses `tag<op>spec` as graphite's `parse_tagspec` (`^([^;!=]+)(!?=~?)([^;]*)$`);
    /// regexes not starting with `^` are anchored as `^(spec)`, as graphite does.
    pub fn parse(text: &str) -> Result<TagExpression> {
        let bad = |why: &str| {
            QueryError::invalid(format!(
                "invalid tag expression {text:?}: {why} (want tag=value, tag!=value, tag=~regex or tag!=~regex)"
            ))
        };
        let op_at = text.find(['!', '=']).ok_or_else(|| bad("no operator"))?;
        let tag = &text[..op_at];
        if tag.is_empty() {
            return Err(bad("empty tag"));
        }
        if tag.contains(';') {
            return Err(bad("';' in tag"));
        }
        let rest = &text[op_at..];
        let (operator, spec) = if let Some(v) = rest.strip_prefix("!=~") {
            (TagOperator::NotMatch, v)
        } else if let Some(v) = rest.strip_prefix("!=") {
            (TagOperator::NotEqual, v)
        } else if let Some(v) = rest.strip_prefix("=~") {
            (TagOperator::Match, v)
        } else if let Some(v) = rest.strip_prefix('=') {
            (TagOperator::Equal, v)
        } else {
            return Err(bad("unknown operator"));
        };
        if spec.contains(';') {
            return Err(bad("';' in value"));
        }
        let regex = match operator {
            TagOperator::Match | TagOperator::NotMatch => Some(anchored_regex(spec)?),
            TagOperator::Equal | TagOperator::NotEqual => None,
        };
        Ok(TagExpression {
            tag: tag.to_string(),
            operator,
            spec: spec.to_string(),
            regex,
        })
    }

    /// Whether a series whose tag has `value` (empty when it lacks the tag) satisfies this.
    pub fn matches(&self, value: &str) -> bool {
        let regex_hit = || self.regex.as_ref().is_some_and(|re| re.is_match(value));
        match self.operator {
            TagOperator::Equal => value == self.spec,
            TagOperator::NotEqual => value != self.spec,
            TagOperator::Match => regex_hit(),
            TagOperator::NotMatch => !regex_hit(),
        }
    }
}

/// Compiles a graphite tag regex: anchored as `^(spec)` unless it already starts with `^`,
/// then searched, as graphite-web's SQL `REGEXP` does with Python's `re.search`.
fn anchored_regex(spec: &str) -> Result<Regex> {
    if spec.starts_with('^') {
        pyregex::compile(spec)
    } else {
        pyregex::compile(&format!("^(?:{spec})"))
    }
}

/// A conjunction of tag expressions, as `seriesByTag` and `/tags/findSeries` take them.
#[derive(Debug, Clone)]
pub struct TagQuery {
    exprs: Vec<TagExpression>,
}

impl TagQuery {
    /// Parses every expression. Refuses an empty list and a list in which every expression
    /// accepts the empty value (it would select every series), as graphite does.
    pub fn parse<S: AsRef<str>>(exprs: &[S]) -> Result<TagQuery> {
        let exprs = exprs
            .iter()
            .map(|e| TagExpression::parse(e.as_ref()))
            .collect::<Result<Vec<_>>>()?;
        if exprs.iter().all(|e| e.matches("")) {
            return Err(QueryError::invalid(
                "at least one tag expression must require a non-empty value",
            ));
        }
        Ok(TagQuery { exprs })
    }

    /// Whether the series named `name` (canonical) satisfies every expression.
    pub fn matches(&self, name: &str) -> bool {
        let tags = SeriesTags::of(name);
        self.exprs
            .iter()
            .all(|e| e.matches(tags.value(&e.tag).unwrap_or("")))
    }

    /// The tags the expressions test, which tag autocompletion leaves out.
    fn tags(&self) -> BTreeSet<&str> {
        self.exprs.iter().map(|e| e.tag.as_str()).collect()
    }
}

/// A series' tags as graphite-web's `TaggedSeries.parse` gives them: `name` is the path
/// (a `name=` tag in the text is overridden by it), then the `key=value` tags.
struct SeriesTags<'a> {
    path: &'a str,
    tags: Vec<(&'a str, &'a str)>,
}

impl<'a> SeriesTags<'a> {
    fn of(name: &'a str) -> SeriesTags<'a> {
        let (path, mut tags) = split_tags(name);
        tags.retain(|(k, _)| *k != "name");
        SeriesTags { path, tags }
    }

    fn value(&self, tag: &str) -> Option<&'a str> {
        if tag == "name" {
            return Some(self.path);
        }
        self.tags.iter().find(|(k, _)| *k == tag).map(|(_, v)| *v)
    }

    fn keys(&self) -> impl Iterator<Item = &'a str> + '_ {
        std::iter::once("name").chain(self.tags.iter().map(|(k, _)| *k))
    }
}

/// One value of a tag and how many series carry it (`/tags/<tag>`'s `values`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagValueCount {
    /// The tag value.
    pub value: String,
    /// Series with this value.
    pub count: usize,
}

/// Canonical names of the series matching every expression, sorted (`/tags/findSeries`).
pub fn find_series<S: AsRef<str>>(reader: &dyn MetricReader, exprs: &[S]) -> Result<Vec<String>> {
    let query = TagQuery::parse(exprs)?;
    Ok(reader
        .list_series()?
        .into_iter()
        .filter(|n| query.matches(n))
        .collect())
}

/// Compiles a `filter` parameter: a regex anchored as graphite anchors tag regexes.
fn filter_regex(filter: Option<&str>) -> Result<Option<Regex>> {
    filter
        .filter(|f| !f.is_empty())
        .map(anchored_regex)
        .transpose()
}

/// Every tag name in the store, `name` included, sorted; only those matching `filter` (a regex
/// anchored at the start), at most `limit` of them (`/tags`).
pub fn list_tags(
    reader: &dyn MetricReader,
    filter: Option<&str>,
    limit: Option<usize>,
) -> Result<Vec<String>> {
    let filter = filter_regex(filter)?;
    let names = reader.list_series()?;
    let mut tags: BTreeSet<&str> = BTreeSet::new();
    for name in &names {
        tags.extend(SeriesTags::of(name).keys());
    }
    Ok(tags
        .into_iter()
        .filter(|t| filter.as_ref().is_none_or(|re| re.is_match(t)))
        .take(limit.unwrap_or(usize::MAX))
        .map(str::to_string)
        .collect())
}

/// The values of `tag` with their series counts, sorted by value; only values matching
/// `filter`, at most `limit` (`/tags/<tag>`). `None` when no series has the tag, for which
/// graphite-web answers `null`.
pub fn tag_values(
    reader: &dyn MetricReader,
    tag: &str,
    filter: Option<&str>,
    limit: Option<usize>,
) -> Result<Option<Vec<TagValueCount>>> {
    let filter = filter_regex(filter)?;
    let names = reader.list_series()?;
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for name in &names {
        if let Some(v) = SeriesTags::of(name).value(tag) {
            *counts.entry(v).or_default() += 1;
        }
    }
    if counts.is_empty() {
        return Ok(None);
    }
    Ok(Some(
        counts
            .into_iter()
            .filter(|(v, _)| filter.as_ref().is_none_or(|re| re.is_match(v)))
            .take(limit.unwrap_or(usize::MAX))
            .map(|(value, count)| TagValueCount {
                value: value.to_string(),
                count,
            })
            .collect(),
    ))
}

/// Tag names for autocompletion, sorted, at most `limit`: with expressions, the tags of the
/// series they match minus the tags they test; without, every tag. Only tags starting with
/// `prefix` (`/tags/autoComplete/tags`).
pub fn auto_complete_tags<S: AsRef<str>>(
    reader: &dyn MetricReader,
    exprs: &[S],
    prefix: Option<&str>,
    limit: usize,
) -> Result<Vec<String>> {
    let prefix = prefix.unwrap_or("");
    let query = if exprs.is_empty() {
        None
    } else {
        Some(TagQuery::parse(exprs)?)
    };
    let searched = query.as_ref().map(TagQuery::tags).unwrap_or_default();
    let names = reader.list_series()?;
    let mut out: BTreeSet<&str> = BTreeSet::new();
    for name in &names {
        if query.as_ref().is_some_and(|q| !q.matches(name)) {
            continue;
        }
        out.extend(
            SeriesTags::of(name)
                .keys()
                .filter(|t| t.starts_with(prefix) && !searched.contains(t)),
        );
    }
    Ok(out.into_iter().take(limit).map(str::to_string).collect())
}

/// Values of `tag` for autocompletion, sorted, at most `limit`: with expressions, only from
/// the series they match (graphite adds `tag!=` to them, so they need not require a value
/// themselves); only values starting with `prefix` (`/tags/autoComplete/values`).
pub fn auto_complete_values<S: AsRef<str>>(
    reader: &dyn MetricReader,
    exprs: &[S],
    tag: &str,
    prefix: Option<&str>,
    limit: usize,
) -> Result<Vec<String>> {
    let prefix = prefix.unwrap_or("");
    let query = if exprs.is_empty() {
        None
    } else {
        let mut all: Vec<String> = exprs.iter().map(|e| e.as_ref().to_string()).collect();
        all.push(format!("{tag}!="));
        Some(TagQuery::parse(&all)?)
    };
    let names = reader.list_series()?;
    let mut out: BTreeSet<&str> = BTreeSet::new();
    for name in &names {
        if query.as_ref().is_some_and(|q| !q.matches(name)) {
            continue;
        }
        if let Some(v) = SeriesTags::of(name).value(tag) {
            if v.starts_with(prefix) {
                out.insert(v);
            }
        }
    }
    Ok(out.into_iter().take(limit).map(str::to_string).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use lookout_core::testkit::MemStore;

    fn store() -> MemStore {
        let s = MemStore::new(10);
        for name in [
            "disk.used;dc=sf;host=web01",
            "disk.used;dc=ny;host=web02",
            "disk.used;dc=ny;host=db01;rack=a1",
            "cpu.load;dc=sf;host=web01",
            "plain.metric",
        ] {
            s.insert(name, 1_000, &[Some(1.0)]);
        }
        s
    }

    #[track_caller]
    fn check(exprs: &[&str], expected: &[&str]) {
        let got = find_series(&store(), exprs).unwrap_or_else(|e| panic!("{exprs:?}: {e}"));
        assert_eq!(got, expected, "{exprs:?}");
    }

    #[track_caller]
    fn check_err(exprs: &[&str], fragment: &str) {
        let e = find_series(&store(), exprs).expect_err(&format!("{exprs:?}"));
        assert_eq!(e.kind, ErrorKind::InvalidArgument, "{exprs:?}: {e}");
        assert!(e.message.contains(fragment), "{exprs:?}: {e}");
    }

    #[test]
    fn every_operator_selects_as_graphite_does() {
        check(
            &["name=disk.used"],
            &[
                "disk.used;dc=ny;host=db01;rack=a1",
                "disk.used;dc=ny;host=web02",
                "disk.used;dc=sf;host=web01",
            ],
        );
        check(
            &["name=disk.used", "host=~web.*", "dc!=sf"],
            &["disk.used;dc=ny;host=web02"],
        );
        check(&["dc=sf", "name!=~disk"], &["cpu.load;dc=sf;host=web01"]);
        // A missing tag is the empty value: `rack!=a1` keeps series without a rack.
        check(
            &["name=disk.used", "rack!=a1"],
            &["disk.used;dc=ny;host=web02", "disk.used;dc=sf;host=web01"],
        );
        // `tag!=` requires the tag, `tag=` requires its absence.
        check(&["rack!="], &["disk.used;dc=ny;host=db01;rack=a1"]);
        check(
            &["name=~disk", "rack="],
            &["disk.used;dc=ny;host=web02", "disk.used;dc=sf;host=web01"],
        );
        // Regexes are anchored at the start only, unless they anchor themselves.
        check(&["host=~eb"], &[]);
        check(&["host=~.*02"], &["disk.used;dc=ny;host=web02"]);
        check(&["host=~^d"], &["disk.used;dc=ny;host=db01;rack=a1"]);
        // Untagged series carry only `name`.
        check(&["name=plain.metric"], &["plain.metric"]);
        check(&["name=~plain", "dc!=sf"], &["plain.metric"]);
        check(&["name=nothing"], &[]);
    }

    #[test]
    fn bad_expressions_are_refused_with_the_reason() {
        check_err(&["host~web"], "no operator");
        check_err(&["host!web"], "unknown operator");
        check_err(&["=web"], "empty tag");
        check_err(&["a;b=c"], "';' in tag");
        check_err(&["host=a;b"], "';' in value");
        check_err(&["host=~("], "invalid regular expression");
        check_err(&["host!=x"], "non-empty value");
        check_err(&["host=", "dc!=~x", "rack=~"], "non-empty value");
        check(&["dc!=~.*"], &[]);
        check_err(&[], "non-empty value");
    }

    #[test]
    fn tags_are_listed_with_filters_and_limits() {
        let s = store();
        assert_eq!(
            list_tags(&s, None, None).unwrap(),
            ["dc", "host", "name", "rack"]
        );
        assert_eq!(list_tags(&s, Some("h|r"), None).unwrap(), ["host", "rack"]);
        assert_eq!(
            list_tags(&s, Some("ost"), None).unwrap(),
            Vec::<String>::new()
        );
        assert_eq!(list_tags(&s, None, Some(2)).unwrap(), ["dc", "host"]);
        assert!(list_tags(&s, Some("("), None).is_err());
    }

    #[test]
    fn tag_values_are_counted() {
        let s = store();
        let vc = |value: &str, count| TagValueCount {
            value: value.into(),
            count,
        };
        assert_eq!(
            tag_values(&s, "dc", None, None).unwrap(),
            Some(vec![vc("ny", 2), vc("sf", 2)])
        );
        assert_eq!(
            tag_values(&s, "host", Some("web"), Some(1)).unwrap(),
            Some(vec![vc("web01", 2)])
        );
        assert_eq!(
            tag_values(&s, "name", None, None).unwrap(),
            Some(vec![
                vc("cpu.load", 1),
                vc("disk.used", 3),
                vc("plain.metric", 1)
            ])
        );
        assert_eq!(tag_values(&s, "nope", None, None).unwrap(), None);
        assert_eq!(tag_values(&s, "dc", Some("x"), None).unwrap(), Some(vec![]));
    }

    #[test]
    fn autocompletion_honours_expressions_and_prefixes() {
        let s = store();
        let none: &[&str] = &[];
        assert_eq!(
            auto_complete_tags(&s, none, None, AUTOCOMPLETE_LIMIT).unwrap(),
            ["dc", "host", "name", "rack"]
        );
        assert_eq!(
            auto_complete_tags(&s, none, Some("h"), 100).unwrap(),
            ["host"]
        );
        assert_eq!(
            auto_complete_tags(&s, &["name=cpu.load"], None, 100).unwrap(),
            ["dc", "host"]
        );
        assert_eq!(
            auto_complete_tags(&s, &["dc=ny"], None, 100).unwrap(),
            ["host", "name", "rack"]
        );
        assert_eq!(
            auto_complete_tags(&s, &["dc=ny"], None, 1).unwrap(),
            ["host"]
        );
        assert_eq!(
            auto_complete_values(&s, none, "host", None, 100).unwrap(),
            ["db01", "web01", "web02"]
        );
        assert_eq!(
            auto_complete_values(&s, none, "host", Some("we"), 1).unwrap(),
            ["web01"]
        );
        assert_eq!(
            auto_complete_values(&s, &["dc=ny"], "host", None, 100).unwrap(),
            ["db01", "web02"]
        );
        // The expressions alone may accept empty values: `tag!=` is added to them.
        assert_eq!(
            auto_complete_values(&s, &["rack="], "host", None, 100).unwrap(),
            ["web01", "web02"]
        );
        assert_eq!(
            auto_complete_values(&s, &["dc=sf"], "name", Some("c"), 100).unwrap(),
            ["cpu.load"]
        );
        assert!(auto_complete_values(&s, &["dc~x"], "host", None, 100).is_err());
        assert!(auto_complete_tags(&s, none, None, 0).unwrap().is_empty());
    }
}
