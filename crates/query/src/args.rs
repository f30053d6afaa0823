//! Function parameters: their declared types (graphite-web's `ParamTypes`), the values
//! arguments evaluate to, and binding a call's positional and keyword arguments to parameters
//! with graphite's coercions (an integer given for a float parameter becomes a float, which is
//! why `constantLine(42)` is named `42.0`).
//!
//! Declarations also feed `/functions` (`registry.rs`). What each function does with its
//! arguments is the function's business.

use crate::error::{QueryError, Result};
use crate::grammar::ast::Expr;
use crate::pyfmt;
use crate::series::Series;

/// A parameter type, named as graphite-web names it in `/functions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ParamType {
    SeriesList,
    SeriesLists,
    Boolean,
    Date,
    Float,
    Integer,
    Interval,
    IntOrInterval,
    IntOrInf,
    Node,
    NodeOrTag,
    Str,
    Tag,
    Any,
    AggFunc,
    AggOrSeriesFunc,
}

impl ParamType {
    /// graphite's type name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            ParamType::SeriesList => "seriesList",
            ParamType::SeriesLists => "seriesLists",
            ParamType::Boolean => "boolean",
            ParamType::Date => "date",
            ParamType::Float => "float",
            ParamType::Integer => "integer",
            ParamType::Interval => "interval",
            ParamType::IntOrInterval => "intOrInterval",
            ParamType::IntOrInf => "intOrInf",
            ParamType::Node => "node",
            ParamType::NodeOrTag => "nodeOrTag",
            ParamType::Str => "string",
            ParamType::Tag => "tag",
            ParamType::Any => "any",
            ParamType::AggFunc => "aggFunc",
            ParamType::AggOrSeriesFunc => "aggOrSeriesFunc",
        }
    }
}

/// A literal used for declared defaults and suggestions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Lit {
    Int(i64),
    Float(f64),
    Str(&'static str),
    Bool(bool),
    Inf,
}

/// One declared parameter.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Param {
    pub name: &'static str,
    pub ty: ParamType,
    pub required: bool,
    pub multiple: bool,
    pub default: Option<Lit>,
    pub options: &'static [&'static str],
    /// Whether a value outside `options` is refused (graphite's functions mostly fail on one)
    /// or passed on for the function to handle (`legendValue` shows `(?)`).
    pub strict_options: bool,
    pub suggestions: &'static [Lit],
}

impl Param {
    pub(crate) const fn new(name: &'static str, ty: ParamType) -> Param {
        Param {
            name,
            ty,
            required: false,
            multiple: false,
            default: None,
            options: &[],
            strict_options: true,
            suggestions: &[],
        }
    }
    pub(crate) const fn req(mut self) -> Param {
        self.required = true;
        self
    }
    pub(crate) const fn multi(mut self) -> Param {
        self.multiple = true;
        self
    }
    pub(crate) const fn def(mut self, d: Lit) -> Param {
        self.default = Some(d);
        self
    }
    pub(crate) const fn opts(mut self, o: &'static [&'static str]) -> Param {
        self.options = o;
        self
    }
    /// Options listed for the function editor but not enforced.
    pub(crate) const fn hint_opts(mut self, o: &'static [&'static str]) -> Param {
        self.options = o;
        self.strict_options = false;
        self
    }
    pub(crate) const fn sugg(mut self, s: &'static [Lit]) -> Param {
        self.suggestions = s;
        self
    }
}

/// What an argument evaluated to.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    List(Vec<Series>),
    Lists(Vec<Vec<Series>>),
    Int(i64),
    Float(f64),
    Str(String),
    Bool(bool),
    None,
}

impl Value {
    fn kind(&self) -> &'static str {
        match self {
            Value::List(_) => "a series list",
            Value::Lists(_) => "a list of series lists",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Bool(_) => "a boolean",
            Value::None => "None",
        }
    }

    /// Python's `str(value)` for literals, as used in names and tags.
    pub(crate) fn py_str(&self) -> String {
        match self {
            Value::Int(i) => i.to_string(),
            Value::Float(f) => pyfmt::repr(*f),
            Value::Str(s) => s.clone(),
            Value::Bool(b) => if *b { "True" } else { "False" }.to_string(),
            Value::None => "None".to_string(),
            Value::List(_) | Value::Lists(_) => "[...]".to_string(),
        }
    }

    /// The number inside, if any.
    pub(crate) fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            Value::Bool(b) => Some(f64::from(u8::from(*b))),
            _ => None,
        }
    }
}

/// A call's arguments bound to its parameters, coerced to the declared types.
pub(crate) struct Args<'e> {
    func: &'static str,
    /// Bound values per parameter (a `multiple` parameter may hold several).
    slots: Vec<Vec<Value>>,
    /// The call's argument expressions; functions that fetch a different time range
    /// re-evaluate the first one.
    pub exprs: &'e [Expr],
    /// The call's source text (`seriesByTag` names its series' path expression after it).
    pub raw: &'e str,
}

impl<'e> Args<'e> {
    /// Binds evaluated positional and keyword arguments like graphite's `validateParams`.
    pub(crate) fn bind(
        func: &'static str,
        params: &[Param],
        positional: Vec<Value>,
        keyword: Vec<(String, Value)>,
        exprs: &'e [Expr],
        raw: &'e str,
    ) -> Result<Args<'e>> {
        let err = |m: String| QueryError::invalid(format!("{func}(): {m}"));
        let mut slots: Vec<Vec<Value>> = vec![Vec::new(); params.len()];
        let n_pos = positional.len();
        if n_pos + keyword.len() > params.len() && !params.last().is_some_and(|p| p.multiple) {
            return Err(err("too many arguments".into()));
        }
        for (i, v) in positional.into_iter().enumerate() {
            let slot = i.min(params.len().saturating_sub(1));
            if params.is_empty() {
                return Err(err("takes no arguments".into()));
            }
            if !matches!(v, Value::None) {
                slots[slot].push(v);
            }
        }
        for (k, v) in keyword {
            let Some(i) = params.iter().position(|p| p.name == k) else {
                return Err(err(format!("unexpected keyword argument {k:?}")));
            };
            if i < n_pos {
                return Err(err(format!("argument {k:?} given twice")));
            }
            if !matches!(v, Value::None) {
                slots[i].push(v);
            }
        }
        for (p, slot) in params.iter().zip(slots.iter_mut()) {
            if slot.is_empty() && p.required {
                return Err(err(format!("missing required argument {:?}", p.name)));
            }
            for v in slot.iter_mut() {
                coerce(p, v).map_err(|m| err(format!("argument {:?}: {m}", p.name)))?;
            }
        }
        Ok(Args {
            func,
            slots,
            exprs,
            raw,
        })
    }

    fn err(&self, m: String) -> QueryError {
        QueryError::invalid(format!("{}(): {m}", self.func))
    }

    /// Takes the value of parameter `i`, if given.
    pub(crate) fn take(&mut self, i: usize) -> Option<Value> {
        let slot = self.slots.get_mut(i)?;
        if slot.is_empty() {
            None
        } else {
            Some(slot.remove(0))
        }
    }

    /// Takes every value given for a `multiple` parameter `i`.
    pub(crate) fn take_all(&mut self, i: usize) -> Vec<Value> {
        self.slots
            .get_mut(i)
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// A series list parameter (empty when absent).
    pub(crate) fn list(&mut self, i: usize) -> Result<Vec<Series>> {
        match self.take(i) {
            Some(Value::List(l)) => Ok(l),
            None => Ok(Vec::new()),
            Some(v) => Err(self.err(format!("expected a series list, got {}", v.kind()))),
        }
    }

    /// Every series list given for a `multiple` parameter.
    pub(crate) fn lists(&mut self, i: usize) -> Result<Vec<Vec<Series>>> {
        self.take_all(i)
            .into_iter()
            .map(|v| match v {
                Value::List(l) => Ok(l),
                v => Err(self.err(format!("expected a series list, got {}", v.kind()))),
            })
            .collect()
    }

    /// A number parameter, if given.
    pub(crate) fn opt_f64(&mut self, i: usize) -> Option<f64> {
        self.take(i).and_then(|v| v.as_f64())
    }

    /// A number parameter with a default.
    pub(crate) fn f64_or(&mut self, i: usize, default: f64) -> f64 {
        self.opt_f64(i).unwrap_or(default)
    }

    /// A required number parameter (binding already checked presence).
    pub(crate) fn f64(&mut self, i: usize) -> Result<f64> {
        self.opt_f64(i)
            .ok_or_else(|| self.err(format!("argument {i} must be a number")))
    }

    /// An integer parameter, if given.
    pub(crate) fn opt_i64(&mut self, i: usize) -> Option<i64> {
        match self.take(i)? {
            Value::Int(v) => Some(v),
            Value::Float(f) => Some(f as i64),
            Value::Bool(b) => Some(i64::from(b)),
            _ => None,
        }
    }

    /// A required integer parameter.
    pub(crate) fn i64(&mut self, i: usize) -> Result<i64> {
        self.opt_i64(i)
            .ok_or_else(|| self.err(format!("argument {i} must be an integer")))
    }

    /// A string parameter, if given.
    pub(crate) fn opt_str(&mut self, i: usize) -> Option<String> {
        self.take(i).map(|v| match v {
            Value::Str(s) => s,
            v => v.py_str(),
        })
    }

    /// A required string parameter.
    pub(crate) fn str(&mut self, i: usize) -> Result<String> {
        self.opt_str(i)
            .ok_or_else(|| self.err(format!("argument {i} must be a string")))
    }

    /// A boolean parameter with a default.
    pub(crate) fn bool_or(&mut self, i: usize, default: bool) -> bool {
        match self.take(i) {
            Some(Value::Bool(b)) => b,
            _ => default,
        }
    }

    /// An error about this call.
    pub(crate) fn error(&self, m: impl Into<String>) -> QueryError {
        self.err(m.into())
    }
}

/// Checks and converts one value to its parameter's type, as graphite's validators do.
fn coerce(p: &Param, v: &mut Value) -> std::result::Result<(), String> {
    let bad = |v: &Value| Err(format!("expected {}, got {}", p.ty.name(), v.kind()));
    match p.ty {
        ParamType::SeriesList => {
            if !matches!(v, Value::List(_)) {
                return bad(v);
            }
        }
        ParamType::SeriesLists => {
            if !matches!(v, Value::Lists(_) | Value::List(_)) {
                return bad(v);
            }
        }
        ParamType::Float => match v {
            Value::Int(i) => *v = Value::Float(*i as f64),
            Value::Bool(b) => *v = Value::Float(f64::from(u8::from(*b))),
            Value::Float(_) => {}
            Value::Str(s) => match s.trim().parse::<f64>() {
                Ok(f) => *v = Value::Float(f),
                Err(_) => return bad(v),
            },
            _ => return bad(v),
        },
        ParamType::Integer | ParamType::Node => match v {
            Value::Int(_) => {}
            Value::Bool(b) => *v = Value::Int(i64::from(*b)),
            _ => return bad(v),
        },
        ParamType::IntOrInf => match v {
            Value::Int(_) => {}
            Value::Float(f) if f.is_infinite() && *f > 0.0 => {}
            _ => return bad(v),
        },
        ParamType::Boolean => match v {
            Value::Bool(_) => {}
            Value::Int(0) => *v = Value::Bool(false),
            Value::Int(1) => *v = Value::Bool(true),
            Value::Float(f) if *f == 0.0 || *f == 1.0 => *v = Value::Bool(*f == 1.0),
            Value::Str(s) if s.eq_ignore_ascii_case("true") => *v = Value::Bool(true),
            Value::Str(s) if s.eq_ignore_ascii_case("false") => *v = Value::Bool(false),
            _ => return bad(v),
        },
        ParamType::Interval => match v {
            Value::Str(s) => {
                crate::time::parse_offset(s).map_err(|e| e.message)?;
            }
            _ => return bad(v),
        },
        ParamType::IntOrInterval => match v {
            Value::Int(_) | Value::Float(_) => {}
            Value::Str(s) => {
                crate::time::parse_offset(s).map_err(|e| e.message)?;
            }
            _ => return bad(v),
        },
        ParamType::NodeOrTag => {
            if !matches!(v, Value::Int(_) | Value::Str(_)) {
                return bad(v);
            }
        }
        ParamType::Str | ParamType::Tag | ParamType::Date => {
            if matches!(v, Value::List(_) | Value::Lists(_)) {
                return bad(v);
            }
        }
        ParamType::AggFunc | ParamType::AggOrSeriesFunc => {
            if !matches!(v, Value::Str(_)) {
                return bad(v);
            }
        }
        ParamType::Any => {}
    }
    if p.strict_options && !p.options.is_empty() {
        if let Value::Str(s) = v {
            if !p.options.contains(&s.as_str()) {
                return Err(format!("{s:?} is not one of {:?}", p.options));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PARAMS: &[Param] = &[
        Param::new("seriesList", ParamType::SeriesList).req(),
        Param::new("factor", ParamType::Float).req(),
        Param::new("flag", ParamType::Boolean).def(Lit::Bool(false)),
    ];
    const MULTI: &[Param] = &[
        Param::new("seriesList", ParamType::SeriesList).req(),
        Param::new("nodes", ParamType::NodeOrTag).multi(),
    ];

    fn list() -> Value {
        Value::List(Vec::new())
    }

    #[test]
    fn binds_like_graphite() {
        let mut a = Args::bind("f", PARAMS, vec![list(), Value::Int(2)], vec![], &[], "").unwrap();
        assert_eq!(a.take(1), Some(Value::Float(2.0)));
        assert_eq!(a.take(2), None);
        let mut a = Args::bind(
            "f",
            PARAMS,
            vec![list(), Value::Float(1.5)],
            vec![("flag".into(), Value::Int(1))],
            &[],
            "",
        )
        .unwrap();
        assert!(a.bool_or(2, false));
        let mut a = Args::bind(
            "f",
            MULTI,
            vec![
                list(),
                Value::Int(0),
                Value::Str("dc".into()),
                Value::Int(-1),
            ],
            vec![],
            &[],
            "",
        )
        .unwrap();
        assert_eq!(a.take_all(1).len(), 3);
    }

    #[test]
    fn bad_bindings_are_errors() {
        let e = |pos: Vec<Value>, kw: Vec<(String, Value)>| {
            Args::bind("f", PARAMS, pos, kw, &[], "")
                .err()
                .map(|e| e.message)
        };
        assert!(e(vec![list()], vec![])
            .unwrap()
            .contains("missing required"));
        assert!(e(
            vec![list(), Value::Int(1), Value::Bool(true), Value::Int(1)],
            vec![]
        )
        .unwrap()
        .contains("too many"));
        assert!(e(
            vec![list(), Value::Int(1)],
            vec![("nope".into(), Value::Int(1))]
        )
        .unwrap()
        .contains("unexpected keyword"));
        assert!(e(vec![Value::Int(1), Value::Int(1)], vec![])
            .unwrap()
            .contains("expected seriesList"));
        assert!(e(vec![list(), Value::Str("x".into())], vec![]).is_some());
    }
}
