//! The render target language: its syntax tree and its parser. Evaluation is `eval.rs`'s.

pub(crate) mod ast;
mod parser;

pub use parser::MAX_DEPTH;
pub(crate) use parser::{parse, parse_prefix};
