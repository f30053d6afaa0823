//! Combining by key: `groupByNode(s)`, `groupByTags`, the `*WithWildcards` family and
//! `mapSeries`/`reduceSeries`. Series are grouped by node or tag values (graphite's `aggKey`),
//! in order of first appearance, and each group is merged by an aggregation name or by an
//! aggregating function such as `sumSeries`; the group's key becomes the result's name.

use std::collections::BTreeMap;

use super::combine::aggregate;
use super::{agg, agg_key, def, def_lists, SERIES_LIST};
use crate::args::{Args, Lit, Param, ParamType as T, Value};
use crate::error::Result;
use crate::eval::Evaluator;
use crate::registry::{self, Body, FunctionDef};
use crate::series::Series;

const NODES: Param = Param::new("nodes", T::NodeOrTag).multi();
const POSITION: Param = Param::new("position", T::Node).multi();

pub(crate) const DEFS: &[FunctionDef] = &[
    def("groupByNode", "Combine", "Groups series by one node (or tag) and merges each group with the callback.", &[SERIES_LIST, Param::new("nodeNum", T::NodeOrTag).req(), Param::new("callback", T::AggOrSeriesFunc).def(Lit::Str("average"))], group_by_node),
    def("groupByNodes", "Combine", "Groups series by several nodes (or tags) and merges each group with the callback.", &[SERIES_LIST, Param::new("callback", T::AggOrSeriesFunc).req(), NODES], group_by_nodes),
    def("groupByTags", "Combine", "Groups tagged series by tag values and merges each group with the callback.", &[SERIES_LIST, Param::new("callback", T::AggOrSeriesFunc).req(), Param::new("tags", T::Tag).req().multi()], group_by_tags),
    def("aggregateWithWildcards", "Combine", "Merges series whose names are equal once the given positions are ignored.", &[SERIES_LIST, Param::new("func", T::AggFunc).req(), POSITION], aggregate_with_wildcards),
    agg("sumSeriesWithWildcards", "Combine", "sumSeries over groups of series equal once the given positions are ignored.", &[SERIES_LIST, POSITION], sum_with_wildcards),
    agg("averageSeriesWithWildcards", "Combine", "averageSeries over groups of series equal once the given positions are ignored.", &[SERIES_LIST, POSITION], average_with_wildcards),
    agg("multiplySeriesWithWildcards", "Combine", "multiplySeries over groups of series equal once the given positions are ignored.", &[SERIES_LIST, POSITION], multiply_with_wildcards),
    def_lists("mapSeries", "Combine", "Splits a series list into lists of series sharing the given nodes (input for reduceSeries).", &[SERIES_LIST, Param::new("mapNodes", T::NodeOrTag).req().multi()], map_series),
    def_lists("map", "Combine", "Short form of mapSeries.", &[SERIES_LIST, Param::new("mapNodes", T::NodeOrTag).req().multi()], map_series),
    def("reduceSeries", "Combine", "Applies a function to the series of each mapped list matched by a node, naming results prefix.reduce.function.", &[Param::new("seriesLists", T::SeriesLists).req(), Param::new("reduceFunction", T::Str).req(), Param::new("reduceNode", T::Node).req(), Param::new("reduceMatchers", T::Str).req().multi()], reduce_series),
    def("reduce", "Combine", "Short form of reduceSeries.", &[Param::new("seriesLists", T::SeriesLists).req(), Param::new("reduceFunction", T::Str).req(), Param::new("reduceNode", T::Node).req(), Param::new("reduceMatchers", T::Str).req().multi()], reduce_series),
];

/// Merges one group with a callback: an aggregation name or an aggregating function's name.
pub(crate) fn apply_callback(
    ev: &mut Evaluator<'_>,
    group: Vec<Series>,
    callback: &str,
) -> Result<Option<Series>> {
    if let Some(d) = registry::lookup(callback).filter(|d| d.aggregator) {
        if let Body::Series(f) = d.body {
            let args = Args::bind(d.name, d.params, vec![Value::List(group)], vec![], &[], "")?;
            return Ok(f(ev, args)?.into_iter().next());
        }
    }
    Ok(aggregate(ev, &group, callback, None)?.into_iter().next())
}

fn group_by(
    ev: &mut Evaluator<'_>,
    list: Vec<Series>,
    nodes: &[Value],
    callback: &str,
) -> Result<Vec<Series>> {
    let mut keys: Vec<String> = Vec::new();
    let mut groups: BTreeMap<String, Vec<Series>> = BTreeMap::new();
    for s in list {
        let k = agg_key(&s, nodes);
        if !groups.contains_key(&k) {
            keys.push(k.clone());
        }
        groups.entry(k).or_default().push(s);
    }
    let mut out = Vec::with_capacity(keys.len());
    for k in keys {
        let group = groups.remove(&k).unwrap_or_default();
        if let Some(mut s) = apply_callback(ev, group, callback)? {
            s.name = k;
            out.push(s);
        }
    }
    Ok(out)
}

fn group_by_node(ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let list = a.list(0)?;
    let node = a.take(1).unwrap_or(Value::Int(0));
    let callback = a.opt_str(2).unwrap_or_else(|| "average".into());
    group_by(ev, list, &[node], &callback)
}

fn group_by_nodes(ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let list = a.list(0)?;
    let callback = a.str(1)?;
    let nodes = a.take_all(2);
    group_by(ev, list, &nodes, &callback)
}

fn group_by_tags(ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let list = a.list(0)?;
    let callback = a.str(1)?;
    let tags: Vec<String> = a.take_all(2).iter().map(Value::py_str).collect();
    let by_name = tags.iter().any(|t| t == "name");
    let common_name = {
        let mut names: Vec<&str> = list
            .iter()
            .filter_map(|s| s.tags.get("name").map(String::as_str))
            .collect();
        names.sort_unstable();
        names.dedup();
        if names.len() == 1 {
            names[0].to_string()
        } else {
            callback.clone()
        }
    };
    let mut keys: Vec<String> = Vec::new();
    let mut groups: BTreeMap<String, Vec<Series>> = BTreeMap::new();
    for s in list {
        let mut parts: Vec<String> = tags
            .iter()
            .filter(|t| !by_name || t.as_str() != "name")
            .map(|t| format!("{t}={}", s.tags.get(t).map_or("", String::as_str)))
            .collect();
        parts.sort();
        let head = if by_name {
            s.tags.get("name").cloned().unwrap_or_default()
        } else {
            common_name.clone()
        };
        let k = std::iter::once(head)
            .chain(parts)
            .collect::<Vec<_>>()
            .join(";");
        if !groups.contains_key(&k) {
            keys.push(k.clone());
        }
        groups.entry(k).or_default().push(s);
    }
    let mut out = Vec::new();
    for k in keys {
        let group = groups.remove(&k).unwrap_or_default();
        if let Some(mut s) = apply_callback(ev, group, &callback)? {
            s.tags = crate::series::tags_from_name(&k);
            s.name = k.clone();
            s.path_expression = k;
            out.push(s);
        }
    }
    Ok(out)
}

fn with_wildcards(
    ev: &mut Evaluator<'_>,
    list: Vec<Series>,
    func: &str,
    positions: &[i64],
) -> Result<Vec<Series>> {
    let mut keys: Vec<String> = Vec::new();
    let mut groups: BTreeMap<String, Vec<Series>> = BTreeMap::new();
    for s in list {
        let k = s
            .name
            .split('.')
            .enumerate()
            .filter(|(i, _)| !positions.contains(&(*i as i64)))
            .map(|(_, n)| n)
            .collect::<Vec<_>>()
            .join(".");
        if !groups.contains_key(&k) {
            keys.push(k.clone());
        }
        groups.entry(k).or_default().push(s);
    }
    let mut out = Vec::new();
    for k in keys {
        let group = groups.remove(&k).unwrap_or_default();
        if let Some(mut s) = aggregate(ev, &group, func, None)?.into_iter().next() {
            s.name = k;
            out.push(s);
        }
    }
    Ok(out)
}

fn positions(a: &mut Args<'_>, i: usize) -> Vec<i64> {
    a.take_all(i)
        .iter()
        .filter_map(|v| v.as_f64())
        .map(|f| f as i64)
        .collect()
}

fn aggregate_with_wildcards(ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let list = a.list(0)?;
    let func = a.str(1)?;
    let pos = positions(&mut a, 2);
    with_wildcards(ev, list, &func, &pos)
}

fn sum_with_wildcards(ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let list = a.list(0)?;
    let pos = positions(&mut a, 1);
    with_wildcards(ev, list, "sum", &pos)
}

fn average_with_wildcards(ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let list = a.list(0)?;
    let pos = positions(&mut a, 1);
    with_wildcards(ev, list, "average", &pos)
}

fn multiply_with_wildcards(ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let list = a.list(0)?;
    let pos = positions(&mut a, 1);
    with_wildcards(ev, list, "multiply", &pos)
}

fn map_series(_ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Vec<Series>>> {
    let list = a.list(0)?;
    let nodes = a.take_all(1);
    let mut keys: Vec<String> = Vec::new();
    let mut groups: BTreeMap<String, Vec<Series>> = BTreeMap::new();
    for s in list {
        let k = agg_key(&s, &nodes);
        if !groups.contains_key(&k) {
            keys.push(k.clone());
        }
        groups.entry(k).or_default().push(s);
    }
    Ok(keys
        .iter()
        .map(|k| groups.remove(k).unwrap_or_default())
        .collect())
}

fn reduce_series(ev: &mut Evaluator<'_>, mut a: Args<'_>) -> Result<Vec<Series>> {
    let lists = match a.take(0) {
        Some(Value::Lists(l)) => l,
        Some(Value::List(l)) => vec![l],
        _ => return Err(a.error("seriesLists must come from mapSeries")),
    };
    let func = a.str(1)?;
    let node = a.i64(2)?;
    let matchers: Vec<String> = a.take_all(3).iter().map(Value::py_str).collect();
    let Some(def) = registry::lookup(&func) else {
        return Err(a.error(format!("unknown function {func}")));
    };
    let Body::Series(f) = def.body else {
        return Err(a.error(format!("{func} cannot reduce series")));
    };
    let mut keys: Vec<String> = Vec::new();
    let mut slots: BTreeMap<String, Vec<Option<Series>>> = BTreeMap::new();
    for s in lists.into_iter().flatten() {
        let nodes: Vec<&str> = s.name.split('.').collect();
        let Some(i) = super::py_index(nodes.len(), node) else {
            return Err(a.error(format!("node {node} out of range in {}", s.name)));
        };
        let prefix = nodes[super::py_slice(nodes.len(), Some(0), Some(node))].join(".");
        let name = format!("{prefix}.reduce.{func}");
        if let Some(m) = matchers.iter().position(|m| m == nodes[i]) {
            if !slots.contains_key(&name) {
                keys.push(name.clone());
            }
            slots
                .entry(name)
                .or_insert_with(|| vec![None; matchers.len()])[m] = Some(s);
        }
    }
    let mut out = Vec::new();
    for k in keys {
        let group = slots.remove(&k).unwrap_or_default();
        let args: Vec<Value> = group
            .into_iter()
            .map(|s| s.map_or(Value::None, |s| Value::List(vec![s])))
            .collect();
        let bound = Args::bind(def.name, def.params, args, Vec::new(), &[], "")?;
        if let Some(mut s) = f(ev, bound)?.into_iter().next() {
            s.name = k;
            out.push(s);
        }
    }
    Ok(out)
}
