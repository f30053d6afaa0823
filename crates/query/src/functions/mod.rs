//! The render functions, one file per family as graphite-web groups them, plus the helpers
//! several families share (node keys, path-expression lists).
//!
//! Each family file declares a `DEFS` table of [`FunctionDef`]s; [`all`] chains them for the
//! registry. Parsing and argument binding happen before a function runs.

mod aggfunc;
mod calculate;
mod combine;
mod filter;
mod forecast;
mod group;
mod naming;
mod special;
mod time_fns;
mod transform;

pub(crate) use aggfunc::AGG_FUNC_NAMES;

use crate::args::{Param, ParamType, Value};
use crate::grammar::{self, ast::Expr};
use crate::registry::{Body, FunctionDef, Impl, ListsImpl};
use crate::series::Series;

/// Every function definition.
pub(crate) fn all() -> impl Iterator<Item = &'static FunctionDef> {
    combine::DEFS
        .iter()
        .chain(transform::DEFS)
        .chain(calculate::DEFS)
        .chain(filter::DEFS)
        .chain(forecast::DEFS)
        .chain(group::DEFS)
        .chain(naming::DEFS)
        .chain(special::DEFS)
        .chain(time_fns::DEFS)
}

/// The `seriesList` parameter almost every function starts with.
const SERIES_LIST: Param = Param::new("seriesList", ParamType::SeriesList).req();

/// Builds a table entry.
const fn def(
    name: &'static str,
    group: &'static str,
    description: &'static str,
    params: &'static [Param],
    imp: Impl,
) -> FunctionDef {
    FunctionDef {
        name,
        group,
        description,
        params,
        aggregator: false,
        body: Body::Series(imp),
    }
}

/// Builds a table entry for a function returning several series lists.
const fn def_lists(
    name: &'static str,
    group: &'static str,
    description: &'static str,
    params: &'static [Param],
    imp: ListsImpl,
) -> FunctionDef {
    FunctionDef {
        name,
        group,
        description,
        params,
        aggregator: false,
        body: Body::Lists(imp),
    }
}

/// Builds a table entry for a function that merges series (usable as a group callback).
const fn agg(
    name: &'static str,
    group: &'static str,
    description: &'static str,
    params: &'static [Param],
    imp: Impl,
) -> FunctionDef {
    FunctionDef {
        name,
        group,
        description,
        params,
        aggregator: true,
        body: Body::Series(imp),
    }
}

/// graphite's `formatPathExpressions`: the distinct path expressions, in order, comma-joined.
pub(crate) fn format_path_expressions<'s>(series: impl IntoIterator<Item = &'s Series>) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for s in series {
        if !seen.contains(&s.path_expression.as_str()) {
            seen.push(&s.path_expression);
        }
    }
    seen.join(",")
}

/// The first metric path inside a name such as `movingAverage(a.b.c,"5min")`.
pub(crate) fn first_path_expression(name: &str) -> Option<String> {
    let mut e = grammar::parse_prefix(name)?;
    loop {
        match e {
            Expr::Path { text, .. } => return Some(text),
            Expr::Call(mut c) if !c.args.is_empty() => e = c.args.swap_remove(0),
            _ => return None,
        }
    }
}

/// graphite's `aggKey`: the series' nodes (or tags, for string keys) joined by dots. Names that
/// look like function calls are keyed by their first path expression.
pub(crate) fn agg_key(series: &Series, nodes: &[Value]) -> String {
    let path = if series.name.ends_with(')') {
        first_path_expression(&series.name)
    } else {
        None
    };
    let base = path.as_deref().unwrap_or(&series.name);
    let base = base.split(';').next().unwrap_or(base);
    let parts: Vec<&str> = base.split('.').collect();
    let keys: Vec<String> = nodes
        .iter()
        .map(|n| {
            let by_index = match n {
                Value::Int(i) => py_index(parts.len(), *i).map(|i| parts[i].to_string()),
                Value::Float(f) if f.fract() == 0.0 => {
                    py_index(parts.len(), *f as i64).map(|i| parts[i].to_string())
                }
                _ => None,
            };
            by_index.unwrap_or_else(|| series.tags.get(&n.py_str()).cloned().unwrap_or_default())
        })
        .collect();
    keys.join(".")
}

/// A Python index (negative counts from the end) into a sequence of `len` items.
pub(crate) fn py_index(len: usize, i: i64) -> Option<usize> {
    let idx = if i < 0 { len as i64 + i } else { i };
    (0..len as i64).contains(&idx).then_some(idx as usize)
}

/// Python's `seq[start:stop]` bounds for a sequence of `len` items.
pub(crate) fn py_slice(
    len: usize,
    start: Option<i64>,
    stop: Option<i64>,
) -> std::ops::Range<usize> {
    let clamp = |i: i64| -> usize {
        let i = if i < 0 { len as i64 + i } else { i };
        i.clamp(0, len as i64) as usize
    };
    let s = start.map_or(0, clamp);
    let e = stop.map_or(len, clamp);
    s..e.max(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(name: &str) -> Series {
        Series::new(name.into(), 0, 10, 10, vec![None], 0.0)
    }

    #[test]
    fn keys_use_nodes_tags_and_first_path() {
        let s = named("dc1.host01.cpu.user");
        assert_eq!(agg_key(&s, &[Value::Int(0), Value::Int(1)]), "dc1.host01");
        assert_eq!(agg_key(&s, &[Value::Int(-1)]), "user");
        assert_eq!(agg_key(&s, &[Value::Int(9)]), "");
        assert_eq!(
            agg_key(&s, &[Value::Str("name".into())]),
            "dc1.host01.cpu.user"
        );
        let s = named("movingAverage(dc1.host01.cpu.user,\"5min\")");
        assert_eq!(agg_key(&s, &[Value::Int(1)]), "host01");
        let s = named("disk.used;dc=sf");
        assert_eq!(
            agg_key(&s, &[Value::Int(1), Value::Str("dc".into())]),
            "used.sf"
        );
    }

    #[test]
    fn python_slices() {
        assert_eq!(py_slice(5, Some(0), Some(2)), 0..2);
        assert_eq!(py_slice(5, Some(0), Some(-2)), 0..3);
        assert_eq!(py_slice(5, Some(-1), None), 4..5);
        assert_eq!(py_slice(5, Some(3), Some(1)), 3..3);
        assert_eq!(py_slice(5, Some(0), Some(99)), 0..5);
        assert_eq!(py_index(3, -1), Some(2));
        assert_eq!(py_index(3, 3), None);
    }

    #[test]
    fn every_function_has_a_unique_name_and_description() {
        let mut names: Vec<&str> = all().map(|d| d.name).collect();
        let n = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), n, "duplicate function names");
        assert!(all().all(|d| !d.description.is_empty() && !d.group.is_empty()));
    }
}
