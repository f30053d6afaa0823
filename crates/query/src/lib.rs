//! Graphite's render target language for lookout: parses targets such as
//! `aliasByNode(movingAverage(web.*.requests,"5min"),1)` and `from`/`until` times, and evaluates
//! targets through [`lookout_core::MetricReader`] exactly as graphite-web 1.1.8 does (names,
//! nulls, step normalisation, consolidation), so Grafana's Graphite data source works unchanged.
//!
//! It never touches a storage engine directly and runs nothing but its own functions; tests run
//! on `lookout_core::testkit::MemStore`. HTTP, output formats and log queries are elsewhere.
//!
//! Layout:
//! - `fuzz` (hidden): the target parser's entry for `fuzz/` (`docs/fuzzing.md`).
//! - `error`: [`QueryError`] (kind, byte position, message) and `Result`.
//! - `grammar`: the syntax tree and the parser of targets (pipes, kwargs, globs, depth limit).
//! - `time`: [`parse_time`] for `from`/`until`, and interval strings.
//! - `series`: [`Series`], [`Consolidation`], LCM step normalisation and consolidation of values.
//! - `consolidate`: the render API's `maxDataPoints` step ([`consolidate`], [`consolidate_all`]).
//! - `args`: parameter types and binding arguments to parameters.
//! - `eval`: [`RenderContext`], [`evaluate`], fetching series and dispatching calls.
//! - `events`: [`EventSource`], where `events()` reads Graphite events from.
//! - `registry`: the function table and [`functions_json`] for `GET /functions`.
//! - `functions`: the render functions by family (combine, group, transform, calculate,
//!   forecast, filter, naming, special, time_fns) and the aggregation helpers they share.
//! - `tags`: the tag database over canonical series names: tag expressions
//!   ([`TagQuery`]), `seriesByTag`'s selection and the `/tags` queries ([`find_series`],
//!   [`list_tags`], [`tag_values`], [`auto_complete_tags`], [`auto_complete_values`]).
//! - `pyfmt`, `pyregex`: Python's number formatting and regular expressions, as names need them.
#![warn(missing_docs)]

mod args;
mod consolidate;
mod error;
mod eval;
mod events;
mod functions;
#[doc(hidden)]
pub mod fuzz;
mod grammar;
pub mod pyfmt;
mod pyregex;
mod registry;
mod series;
mod tags;
mod time;

pub use consolidate::{consolidate, consolidate_all};
pub use error::{ErrorKind, QueryError, Result};
pub use eval::{
    evaluate, evaluate_with_events, evaluate_with_xff, RenderContext, MAX_EVALUATIONS,
    MAX_FETCHED_POINTS,
};
pub use events::EventSource;
pub use grammar::MAX_DEPTH;
pub use registry::{functions_json, functions_json_string, render_infinity_markers};
pub use series::{Consolidation, Series};
pub use tags::{
    auto_complete_tags, auto_complete_values, find_series, list_tags, tag_values, TagExpression,
    TagOperator, TagQuery, TagValueCount, AUTOCOMPLETE_LIMIT,
};
pub use time::parse_time;
