//! The syntax tree of one render target, as graphite-web's `grammar.py` shapes it: path
//! expressions, calls with positional and keyword arguments, and literal arguments.
//!
//! Pipes (`a|f()`) do not appear here: the parser rewrites them into nested calls, which is
//! exactly how graphite-web's evaluator treats them. Evaluation lives in `eval.rs`.

/// One node of a target.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    /// A metric path expression with globs, escapes already removed (`a.*.b{c,d}`).
    Path {
        /// The expression as graphite-web keeps it (names of combined series are built from it).
        text: String,
        /// Byte offset in the target.
        pos: usize,
    },
    /// A function call.
    Call(Call),
    /// An integer literal (`10`, `-3`).
    Int(i64),
    /// A float literal (`2.5`, `1e3`).
    Float(f64),
    /// A quoted string, content kept verbatim between the quotes (graphite-web does not unescape).
    Str(String),
    /// `true` / `false`, any case.
    Bool(bool),
    /// `None`, any case.
    None,
    /// `inf`, any case.
    Inf,
}

/// A function call with its arguments.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Call {
    /// Function name as written.
    pub name: String,
    /// Positional arguments, in order (a piped input comes first).
    pub args: Vec<Expr>,
    /// Keyword arguments, in order.
    pub kwargs: Vec<(String, Expr)>,
    /// The call's source text, which `seriesByTag` uses as its series' path expression.
    pub raw: String,
    /// Byte offset of the function name in the target.
    pub pos: usize,
    /// For a call written after `|`: the chain's first element. graphite-web's evaluator
    /// consumes a pipe chain while evaluating it, so a function that later re-evaluates its
    /// input (moving windows, `timeShift`, ...) gets only this head back; kept to match it.
    pub pipe_head: Option<Box<Expr>>,
}
