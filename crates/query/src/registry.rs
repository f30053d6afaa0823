//! The table of render functions: each one's name, group, description and parameters, and
//! the `/functions` JSON built from it in graphite-web's shape.
//!
//! Functions themselves live in `functions/`; each family file declares its entries and this
//! file only gathers and describes them.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::{json, Map, Value as Json};

use crate::args::{Args, Lit, Param};
use crate::error::Result;
use crate::eval::Evaluator;
use crate::functions;
use crate::series::Series;

/// The body of a render function.
pub(crate) type Impl = fn(&mut Evaluator<'_>, Args<'_>) -> Result<Vec<Series>>;

/// The body of a function returning several series lists (`mapSeries`).
pub(crate) type ListsImpl = fn(&mut Evaluator<'_>, Args<'_>) -> Result<Vec<Vec<Series>>>;

/// What a function computes: one series list (almost all) or a list of lists.
#[derive(Clone, Copy)]
pub(crate) enum Body {
    Series(Impl),
    Lists(ListsImpl),
}

/// One render function.
pub(crate) struct FunctionDef {
    /// Name as called in targets (aliases have their own entries).
    pub name: &'static str,
    /// graphite's group (`Combine`, `Transform`, ...), shown by Grafana's function editor.
    pub group: &'static str,
    /// One-paragraph description for the function editor.
    pub description: &'static str,
    /// Declared parameters, in order.
    pub params: &'static [Param],
    /// Whether it merges many series into one, which makes it usable as a `groupByNode`
    /// callback (graphite's `aggregator = True`).
    pub aggregator: bool,
    /// The implementation.
    pub body: Body,
}

fn table() -> &'static HashMap<&'static str, &'static FunctionDef> {
    static TABLE: OnceLock<HashMap<&'static str, &'static FunctionDef>> = OnceLock::new();
    TABLE.get_or_init(|| functions::all().map(|d| (d.name, d)).collect())
}

/// The function called `name`.
pub(crate) fn lookup(name: &str) -> Option<&'static FunctionDef> {
    table().get(name).copied()
}

/// Marker text for infinite defaults inside the JSON value; `serde_json` numbers cannot be
/// infinite, so [`functions_json_string`] swaps it for graphite's `1e9999`.
const INFINITY_MARKER: &str = "1e9999";

/// `GET /functions` as a JSON value: an object keyed by function name, each entry shaped as
/// graphite-web's `functionInfo` (`name`, `function`, `description`, `module`, `group`,
/// `params`). An infinite default is the string `"1e9999"` here because JSON values cannot hold
/// infinity; serve [`functions_json_string`] to emit it as the number `1e9999` as graphite does.
pub fn functions_json() -> Json {
    let mut out = Map::new();
    let mut defs: Vec<&FunctionDef> = table().values().copied().collect();
    defs.sort_by_key(|d| d.name);
    for d in defs {
        out.insert(d.name.to_string(), describe(d));
    }
    Json::Object(out)
}

/// [`functions_json`] serialised, with infinite defaults written as the bare number `1e9999`
/// (what Grafana expects after patching graphite-web 1.1.x's `Infinity`).
pub fn functions_json_string() -> String {
    render_infinity_markers(&functions_json().to_string())
}

/// Rewrites the string-marked infinite defaults of serialised [`functions_json`] output (or
/// any regrouping of it) as the bare number `1e9999`.
pub fn render_infinity_markers(text: &str) -> String {
    text.replace(
        &format!("\"default\":\"{INFINITY_MARKER}\""),
        &format!("\"default\":{INFINITY_MARKER}"),
    )
}

fn describe(d: &FunctionDef) -> Json {
    let params: Vec<Json> = d.params.iter().map(|p| param_json(d, p)).collect();
    json!({
        "name": d.name,
        "function": signature(d),
        "description": d.description,
        "module": "graphite.render.functions",
        "group": d.group,
        "params": params,
    })
}

fn param_json(d: &FunctionDef, p: &Param) -> Json {
    let mut m = Map::new();
    m.insert("name".into(), json!(p.name));
    m.insert("type".into(), json!(p.ty.name()));
    if p.required {
        m.insert("required".into(), json!(true));
    }
    if let Some(def) = p.default {
        m.insert("default".into(), lit_json(def));
    }
    if p.multiple {
        m.insert("multiple".into(), json!(true));
    }
    let options = options_of(d, p);
    if !options.is_empty() {
        m.insert("options".into(), json!(options));
    }
    if !p.suggestions.is_empty() {
        let s: Vec<Json> = p.suggestions.iter().map(|l| lit_json(*l)).collect();
        m.insert("suggestions".into(), Json::Array(s));
    }
    Json::Object(m)
}

/// Declared options plus those implied by the type, sorted, as graphite's `Param.options`.
fn options_of(_d: &FunctionDef, p: &Param) -> Vec<String> {
    use crate::args::ParamType;
    let mut o: Vec<String> = p.options.iter().map(|s| s.to_string()).collect();
    match p.ty {
        ParamType::AggFunc => o.extend(functions::AGG_FUNC_NAMES.iter().map(|s| s.to_string())),
        ParamType::AggOrSeriesFunc => {
            o.extend(functions::AGG_FUNC_NAMES.iter().map(|s| s.to_string()));
            o.extend(
                table()
                    .values()
                    .filter(|f| f.aggregator)
                    .map(|f| f.name.to_string()),
            );
        }
        _ => {}
    }
    o.sort();
    o.dedup();
    o
}

fn lit_json(l: Lit) -> Json {
    match l {
        Lit::Int(i) => json!(i),
        Lit::Float(f) => json!(f),
        Lit::Str(s) => json!(s),
        Lit::Bool(b) => json!(b),
        Lit::Inf => json!(INFINITY_MARKER),
    }
}

/// A Python-style signature such as `movingAverage(seriesList, windowSize, xFilesFactor=None)`.
fn signature(d: &FunctionDef) -> String {
    let parts: Vec<String> = d
        .params
        .iter()
        .map(|p| {
            if p.multiple {
                format!("*{}", p.name)
            } else if p.required {
                p.name.to_string()
            } else {
                let def = match p.default {
                    None => "None".to_string(),
                    Some(Lit::Int(i)) => i.to_string(),
                    Some(Lit::Float(f)) => crate::pyfmt::repr(f),
                    Some(Lit::Str(s)) => format!("'{s}'"),
                    Some(Lit::Bool(b)) => if b { "True" } else { "False" }.to_string(),
                    Some(Lit::Inf) => "inf".to_string(),
                };
                format!("{}={def}", p.name)
            }
        })
        .collect();
    format!("{}({})", d.name, parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn functions_json_has_graphite_shape() {
        let j = functions_json();
        let ma = &j["movingAverage"];
        assert_eq!(ma["name"], "movingAverage");
        assert_eq!(ma["group"], "Calculate");
        assert_eq!(ma["module"], "graphite.render.functions");
        assert_eq!(
            ma["function"],
            "movingAverage(seriesList, windowSize, xFilesFactor=None)"
        );
        assert_eq!(ma["params"][0]["name"], "seriesList");
        assert_eq!(ma["params"][0]["required"], true);
        assert_eq!(ma["params"][1]["type"], "intOrInterval");
        assert_eq!(ma["params"][1]["suggestions"][3], "1min");
        assert_eq!(
            ma["params"][2],
            json!({"name": "xFilesFactor", "type": "float"})
        );
        assert_eq!(j["sumSeries"]["function"], "sumSeries(*seriesLists)");
        assert_eq!(j["sum"]["params"][0]["multiple"], true);
        let opts = j["consolidateBy"]["params"][1]["options"]
            .as_array()
            .unwrap();
        assert!(opts.contains(&json!("avg_zero")));
        let cb = j["groupByNode"]["params"][2]["options"].as_array().unwrap();
        assert!(cb.contains(&json!("sumSeries")) && cb.contains(&json!("median")));
        for name in [
            "constantLine",
            "aliasSub",
            "perSecond",
            "summarize",
            "hitcount",
        ] {
            assert!(j.get(name).is_some(), "{name} listed");
        }
    }

    #[test]
    fn infinity_defaults_become_1e9999() {
        let text = functions_json_string();
        assert!(text.contains("\"default\":1e9999"), "keepLastValue's limit");
        assert!(!text.contains("Infinity"));
        let back: Json = serde_json::from_str(&text.replace("1e9999", "1e308")).unwrap();
        assert!(back.is_object());
    }
}
