//! Evaluation of a parsed target: resolving path expressions and `seriesByTag` through
//! [`MetricReader`], evaluating arguments, binding them and dispatching to the render functions.
//!
//! Mirrors graphite-web's `evaluator.py` and `datalib.fetchData`: every argument is evaluated
//! before its function runs, fetched series are ordered by name and carry their path
//! expression, and functions that need another time range (moving windows, `timeShift`, ...)
//! re-evaluate their first argument through [`Evaluator::reevaluate`]. Work per target is bounded
//! by [`MAX_EVALUATIONS`]. The functions themselves live in `functions/`.

use std::collections::{HashMap, HashSet};

use lookout_core::{canonical_series_name, Glob, MetricReader, TimeRange};

use crate::args::{Args, Value};
use crate::error::{ErrorKind, QueryError, Result};
use crate::events::EventSource;
use crate::grammar::{self, ast::Call, ast::Expr};
use crate::registry::{self, Body};
use crate::series::{tags_from_name, Consolidation, Series};
use crate::tags::TagQuery;

/// Most function calls and fetches one target may cost. Re-evaluating functions nested inside
/// each other multiply work (each level evaluates its input twice); this turns a pathological
/// target into an error instead of minutes of CPU. Real dashboards use well under a hundred.
pub const MAX_EVALUATIONS: usize = 10_000;

/// Most data points one target may fetch, over all its paths and re-evaluations: 20 M points
/// is ~320 MB of values (and ~480 MB of JSON), far beyond any graph (a 4K screen shows 4,000
/// points per series), so a glob over thousands of series across a multi-year archive gets a
/// clear error instead of exhausting memory. Fetches run in chunks of [`FETCH_CHUNK`] names, so
/// at most one chunk is read past the budget.
pub const MAX_FETCHED_POINTS: usize = 20_000_000;

/// Names fetched per call to the store, so the point budget is checked as data arrives.
const FETCH_CHUNK: usize = 256;

/// What a render request evaluates against: the store and the time window.
pub struct RenderContext<'a> {
    /// Where series are found and fetched.
    pub reader: &'a dyn MetricReader,
    /// Start of the window (unix seconds, exclusive at slot granularity as whisper's `from`).
    pub from: i64,
    /// End of the window (unix seconds, inclusive at slot granularity).
    pub until: i64,
    /// The request's notion of now, passed to the store for retention decisions.
    pub now: i64,
}

/// Parses and evaluates one target, returning the series graphite-web would render for it.
/// An empty target gives no series. `from` and `until` may come in either order but must differ.
pub fn evaluate(ctx: &RenderContext<'_>, target: &str) -> Result<Vec<Series>> {
    evaluate_with_xff(ctx, target, 0.0)
}

/// [`evaluate`] with the render API's `xFilesFactor` parameter: the default fraction of known
/// values that aggregations and consolidation require (graphite's default is 0).
pub fn evaluate_with_xff(
    ctx: &RenderContext<'_>,
    target: &str,
    x_files_factor: f64,
) -> Result<Vec<Series>> {
    evaluate_with_budget(ctx, target, x_files_factor, MAX_FETCHED_POINTS, None)
}

/// [`evaluate_with_xff`] with a source of Graphite events for `events(*tags)`. Without one
/// (the other entry points), `events()` is an error rather than an empty series, so a
/// missing store is not mistaken for "no events".
pub fn evaluate_with_events(
    ctx: &RenderContext<'_>,
    target: &str,
    x_files_factor: f64,
    events: &dyn EventSource,
) -> Result<Vec<Series>> {
    evaluate_with_budget(
        ctx,
        target,
        x_files_factor,
        MAX_FETCHED_POINTS,
        Some(events),
    )
}

/// [`evaluate_with_xff`] with an explicit point budget (tests use a small one).
pub(crate) fn evaluate_with_budget(
    ctx: &RenderContext<'_>,
    target: &str,
    x_files_factor: f64,
    max_points: usize,
    events: Option<&dyn EventSource>,
) -> Result<Vec<Series>> {
    if target.trim().is_empty() {
        return Ok(Vec::new());
    }
    let expr = grammar::parse(target)?;
    let (from, until) = (ctx.from.min(ctx.until), ctx.from.max(ctx.until));
    if from == until {
        return Err(QueryError::invalid("invalid empty time range"));
    }
    let mut ev = Evaluator {
        reader: ctx.reader,
        events,
        from,
        until,
        now: ctx.now,
        xff: x_files_factor,
        evaluations: 0,
        points_fetched: 0,
        max_points,
        cache: HashMap::new(),
        fetched_once: HashSet::new(),
    };
    let mut out = ev.eval_series(&expr)?;
    for s in &mut out {
        let n = s.datapoint_count();
        s.values.truncate(n);
    }
    Ok(out)
}

/// Evaluation state of one target.
pub(crate) struct Evaluator<'a> {
    reader: &'a dyn MetricReader,
    /// Where `events()` counts events from, when the caller has a store of them.
    events: Option<&'a dyn EventSource>,
    /// Start of the current window; re-evaluations move it.
    pub from: i64,
    /// End of the current window.
    pub until: i64,
    /// The request's now.
    pub now: i64,
    /// Default xFilesFactor of new series (the request's, changed by `setXFilesFactor`).
    pub xff: f64,
    evaluations: usize,
    /// Points fetched so far, held against `max_points`.
    points_fetched: usize,
    /// The point budget of this target ([`MAX_FETCHED_POINTS`] outside tests).
    max_points: usize,
    /// Fetched series by (path expression, from, until), so re-evaluations do not refetch.
    cache: HashMap<(String, i64, i64), Vec<Series>>,
    /// Paths fetched once so far. Data is cached only from a path's second fetch on: a
    /// target that names a path once (nearly all of them) then never copies its data, which for
    /// a wide render is megabytes.
    fetched_once: HashSet<(String, i64, i64)>,
}

impl Evaluator<'_> {
    /// Evaluates `expr` in the current window.
    pub(crate) fn eval(&mut self, expr: &Expr) -> Result<Value> {
        Ok(match expr {
            Expr::Path { text, pos } => Value::List(self.fetch(text).map_err(|e| e.at(*pos))?),
            Expr::Call(call) => self.call(call)?,
            Expr::Int(i) => Value::Int(*i),
            Expr::Float(f) => Value::Float(*f),
            Expr::Str(s) => Value::Str(s.clone()),
            Expr::Bool(b) => Value::Bool(*b),
            Expr::None => Value::None,
            Expr::Inf => Value::Float(f64::INFINITY),
        })
    }

    /// Evaluates an expression that must give series.
    pub(crate) fn eval_series(&mut self, expr: &Expr) -> Result<Vec<Series>> {
        match self.eval(expr)? {
            Value::List(l) => Ok(l),
            v => Err(QueryError::invalid(format!(
                "expected series, got {}",
                v.py_str()
            ))),
        }
    }

    /// Evaluates `expr` again over `[from, until]`, as graphite's functions do with a copied
    /// request context; the current window is restored afterwards. A piped input is
    /// re-evaluated as its chain's head only, as graphite-web does (see `Call::pipe_head`).
    pub(crate) fn reevaluate(&mut self, expr: &Expr, from: i64, until: i64) -> Result<Vec<Series>> {
        let expr = match expr {
            Expr::Call(Call {
                pipe_head: Some(head),
                ..
            }) => head.as_ref(),
            e => e,
        };
        let saved = (self.from, self.until);
        (self.from, self.until) = (from, until);
        let r = self.eval_series(expr);
        (self.from, self.until) = saved;
        r
    }

    /// Evaluates a target given as text (`applyByNode`, `useSeriesAbove` build targets).
    pub(crate) fn eval_text(&mut self, target: &str) -> Result<Vec<Series>> {
        let expr = grammar::parse(target)?;
        self.eval_series(&expr)
    }

    fn spend(&mut self) -> Result<()> {
        self.evaluations += 1;
        if self.evaluations > MAX_EVALUATIONS {
            return Err(QueryError::new(
                ErrorKind::TooComplex,
                None,
                format!("target needs more than {MAX_EVALUATIONS} evaluations"),
            ));
        }
        Ok(())
    }

    fn call(&mut self, call: &Call) -> Result<Value> {
        self.spend().map_err(|e| e.at(call.pos))?;
        let Some(def) = registry::lookup(&call.name) else {
            return Err(QueryError::new(
                ErrorKind::UnknownFunction,
                Some(call.pos),
                format!("unknown function {}", call.name),
            ));
        };
        let mut positional = Vec::with_capacity(call.args.len());
        for a in &call.args {
            positional.push(self.eval(a)?);
        }
        let mut keyword = Vec::with_capacity(call.kwargs.len());
        for (k, a) in &call.kwargs {
            keyword.push((k.clone(), self.eval(a)?));
        }
        let args = Args::bind(
            def.name, def.params, positional, keyword, &call.args, &call.raw,
        )
        .map_err(|e| e.at(call.pos))?;
        match def.body {
            Body::Series(f) => f(self, args).map(Value::List),
            Body::Lists(f) => f(self, args).map(Value::Lists),
        }
        .map_err(|e| e.at(call.pos))
    }

    /// Series matched by a path expression, ordered by name, as graphite's `fetchData`.
    pub(crate) fn fetch(&mut self, path: &str) -> Result<Vec<Series>> {
        self.spend()?;
        let key = (path.to_string(), self.from, self.until);
        if let Some(hit) = self.cache.get(&key) {
            return Ok(hit.clone());
        }
        let names: Vec<String> = if path.contains(';') {
            match canonical_series_name(path) {
                Ok(n) => vec![n.into_owned()],
                Err(_) => Vec::new(),
            }
        } else {
            let glob = Glob::new(path)?;
            if glob.is_literal() {
                vec![path.to_string()]
            } else {
                self.reader
                    .find(&glob)?
                    .into_iter()
                    .filter(|n| n.is_leaf)
                    .map(|n| n.path)
                    .collect()
            }
        };
        let out = self.fetch_names(&names, path)?;
        if !self.fetched_once.insert(key.clone()) {
            self.cache.insert(key, out.clone());
        }
        Ok(out)
    }

    fn fetch_names(&mut self, names: &[String], path_expression: &str) -> Result<Vec<Series>> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let range = TimeRange {
            from: self.from,
            until: self.until,
        };
        let mut fetched = Vec::with_capacity(names.len());
        for chunk in names.chunks(FETCH_CHUNK) {
            let data = self.reader.fetch(chunk, range, self.now)?;
            self.points_fetched += data.iter().map(|d| d.values.len()).sum::<usize>();
            if self.points_fetched > self.max_points {
                return Err(QueryError::new(
                    ErrorKind::TooComplex,
                    None,
                    format!(
                        "target reads more than {} points ({} series so far in {path_expression:?}): narrow the pattern or the time range",
                        self.max_points,
                        fetched.len() + data.len()
                    ),
                ));
            }
            fetched.extend(data);
        }
        let mut out: Vec<Series> = fetched
            .into_iter()
            .map(|d| {
                let end = d.end();
                Series {
                    tags: tags_from_name(&d.name),
                    path_expression: path_expression.to_string(),
                    name: d.name,
                    start: d.start,
                    end,
                    step: d.step,
                    values: d.values,
                    consolidation: d.aggregation.into(),
                    x_files_factor: self.xff,
                }
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out.dedup_by(|a, b| a.name == b.name);
        Ok(out)
    }

    /// graphite-web's `events(*tags)`: the number of events in each second of the window
    /// `[from, until)` (null where there are none), one series named `events("a", "b")` that
    /// consolidates by sum, for `drawAsInfinite`. `events("*")` counts every event, otherwise
    /// an event must carry all the tags. graphite-web asks for `[from, until]` and fails on an
    /// event at exactly `until` (its list has no slot there); that event is left out here.
    pub(crate) fn events(&mut self, tags: &[String]) -> Result<Vec<Series>> {
        let name = format!("events(\"{}\")", tags.join("\", \""));
        let Some(source) = self.events else {
            return Err(QueryError::invalid(format!(
                "{name}: this request has no events store"
            )));
        };
        self.spend()?;
        let (start, end) = (self.from, self.until);
        let points = usize::try_from(end - start).unwrap_or(0);
        self.points_fetched = self.points_fetched.saturating_add(points);
        if self.points_fetched > self.max_points {
            return Err(QueryError::new(
                ErrorKind::TooComplex,
                None,
                format!(
                    "{name} has a point a second, more than {} points over this range: narrow the time range",
                    self.max_points
                ),
            ));
        }
        let filter: &[String] = if tags.len() == 1 && tags[0] == "*" {
            &[]
        } else {
            tags
        };
        let times = source
            .event_times(start, end, filter)
            .map_err(|m| QueryError::new(ErrorKind::Store, None, format!("{name}: {m}")))?;
        let mut values: Vec<Option<f64>> = vec![None; points];
        for t in times {
            if t < start || t >= end {
                continue;
            }
            if let Some(v) = usize::try_from(t - start)
                .ok()
                .and_then(|i| values.get_mut(i))
            {
                *v = Some(v.unwrap_or(0.0) + 1.0);
            }
        }
        let mut s = Series::new(name, start, end, 1, values, self.xff);
        s.consolidation = Consolidation::Sum;
        Ok(vec![s])
    }

    /// `seriesByTag('tag=value', 'tag=~regex', ...)`: every stored series (untagged ones carry
    /// only `name`) whose tags satisfy all expressions (see [`TagQuery`]); `raw` (the call's
    /// text) becomes their path expression.
    pub(crate) fn series_by_tag(&mut self, exprs: &[String], raw: &str) -> Result<Vec<Series>> {
        let query = TagQuery::parse(exprs).map_err(|mut e| {
            e.message = format!("seriesByTag(): {}", e.message);
            e
        })?;
        self.spend()?;
        let names: Vec<String> = self
            .reader
            .list_series()?
            .into_iter()
            .filter(|name| query.matches(name))
            .collect();
        self.fetch_names(&names, raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lookout_core::testkit::MemStore;

    #[test]
    fn point_budget_refuses_huge_fetches_and_allows_the_rest() {
        let store = MemStore::new(10);
        let values: Vec<Option<f64>> = (0..100).map(|i| Some(i as f64)).collect();
        for i in 0..600 {
            store.insert(&format!("wide.s{i:03}"), 1_000, &values);
        }
        let ctx = RenderContext {
            reader: &store,
            from: 990,
            until: 1_990,
            now: 2_000,
        };
        // 600 series x 100 points = 60,000 points.
        let ok = evaluate_with_budget(&ctx, "sumSeries(wide.*)", 0.0, 60_000, None)
            .expect("within budget");
        assert_eq!(ok.len(), 1);
        let err = evaluate_with_budget(&ctx, "sumSeries(wide.*)", 0.0, 30_000, None)
            .expect_err("over budget");
        assert_eq!(err.kind, ErrorKind::TooComplex);
        assert!(err.to_string().contains("more than 30000 points"), "{err}");
    }

    /// A store whose series roll up by max, as StatsD's `upper` series do.
    struct MaxStore(MemStore);

    impl MetricReader for MaxStore {
        fn find(&self, pattern: &Glob) -> lookout_core::Result<Vec<lookout_core::FindNode>> {
            self.0.find(pattern)
        }
        fn fetch(
            &self,
            names: &[String],
            range: TimeRange,
            now: i64,
        ) -> lookout_core::Result<Vec<lookout_core::SeriesData>> {
            let mut data = self.0.fetch(names, range, now)?;
            for d in &mut data {
                d.aggregation = lookout_core::Aggregation::Max;
            }
            Ok(data)
        }
        fn list_series(&self) -> lookout_core::Result<Vec<String>> {
            self.0.list_series()
        }
        fn stats(&self) -> lookout_core::StoreStats {
            self.0.stats()
        }
    }

    #[test]
    fn max_data_points_consolidates_by_the_stored_rollup_method() {
        let spiky = || {
            let store = MemStore::new(10);
            let spike = [Some(1.0), Some(90.0), Some(1.0), Some(1.0)];
            store.insert("stats.timers.api.upper", 1_000, &spike);
            store
        };
        let consolidated = |reader: &dyn MetricReader, target: &str| {
            let ctx = RenderContext {
                reader,
                from: 990,
                until: 1_030,
                now: 2_000,
            };
            let mut series = evaluate(&ctx, target).unwrap();
            crate::consolidate_all(&mut series, 1);
            series[0].values.clone()
        };
        let plain = spiky();
        assert_eq!(
            consolidated(&plain, "stats.timers.api.upper"),
            [Some(23.25)]
        );
        let typed = MaxStore(spiky());
        assert_eq!(consolidated(&typed, "stats.timers.api.upper"), [Some(90.0)]);
        assert_eq!(
            consolidated(&typed, "consolidateBy(stats.timers.api.upper,'average')"),
            [Some(23.25)]
        );
    }

    /// Events at fixed times with tags; records what it was asked.
    struct FakeEvents {
        events: Vec<(i64, &'static [&'static str])>,
        asked: std::cell::RefCell<Vec<(i64, i64, Vec<String>)>>,
        fail: bool,
    }

    impl EventSource for FakeEvents {
        fn event_times(
            &self,
            from: i64,
            until: i64,
            tags: &[String],
        ) -> std::result::Result<Vec<i64>, String> {
            self.asked.borrow_mut().push((from, until, tags.to_vec()));
            if self.fail {
                return Err("events file unreadable".into());
            }
            Ok(self
                .events
                .iter()
                .filter(|(when, have)| {
                    (from..=until).contains(when) && tags.iter().all(|t| have.contains(&t.as_str()))
                })
                .map(|(when, _)| *when)
                .collect())
        }
    }

    fn fake(events: Vec<(i64, &'static [&'static str])>) -> FakeEvents {
        FakeEvents {
            events,
            asked: Default::default(),
            fail: false,
        }
    }

    fn events_ctx(store: &MemStore) -> RenderContext<'_> {
        RenderContext {
            reader: store,
            from: 1_000,
            until: 1_010,
            now: 2_000,
        }
    }

    #[test]
    fn events_counts_each_second_of_the_window_as_graphite_web_does() {
        let store = MemStore::new(10);
        let source = fake(vec![
            (999, &["deploy"]),
            (1_000, &["deploy", "web"]),
            (1_003, &["deploy"]),
            (1_003, &["deploy", "web"]),
            (1_004, &["config"]),
            (1_010, &["deploy"]),
        ]);
        let got =
            evaluate_with_events(&events_ctx(&store), "events('deploy')", 0.0, &source).unwrap();
        assert_eq!(got.len(), 1);
        let s = &got[0];
        assert_eq!(s.name, r#"events("deploy")"#);
        assert_eq!((s.start, s.end, s.step), (1_000, 1_010, 1));
        assert_eq!(s.consolidation, Consolidation::Sum);
        let mut want = vec![None; 10];
        want[0] = Some(1.0);
        want[3] = Some(2.0);
        // The event at `until` is asked for but has no slot, as in graphite-web.
        assert_eq!(s.values, want);
        assert_eq!(
            source.asked.borrow().as_slice(),
            [(1_000, 1_010, vec!["deploy".to_string()])]
        );

        let both = evaluate_with_events(
            &events_ctx(&store),
            r#"events("deploy","web")"#,
            0.0,
            &source,
        )
        .unwrap();
        assert_eq!(both[0].name, r#"events("deploy", "web")"#);
        assert_eq!(both[0].values.iter().flatten().sum::<f64>(), 2.0);

        let all = evaluate_with_events(&events_ctx(&store), "events('*')", 0.0, &source).unwrap();
        assert_eq!(all[0].name, r#"events("*")"#);
        assert_eq!(all[0].values.iter().flatten().sum::<f64>(), 4.0);
        assert_eq!(
            source.asked.borrow().last().unwrap().2,
            Vec::<String>::new()
        );
    }

    #[test]
    fn events_feed_draw_as_infinite_and_sum_when_consolidated() {
        let store = MemStore::new(10);
        // maxDataPoints moves the start as graphite-web does (to 1005, from the value at 1004),
        // then each point is the sum of five seconds.
        let source = fake(vec![
            (1_004, &["deploy"]),
            (1_006, &["deploy"]),
            (1_009, &["deploy"]),
        ]);
        let ctx = events_ctx(&store);
        let mut got =
            evaluate_with_events(&ctx, "drawAsInfinite(events('deploy'))", 0.0, &source).unwrap();
        assert_eq!(got[0].name, r#"drawAsInfinite(events("deploy"))"#);
        crate::consolidate_all(&mut got, 2);
        assert_eq!(got[0].values, [Some(2.0), Some(1.0)]);
    }

    #[test]
    fn events_without_a_source_or_with_a_failing_one_is_an_error() {
        let store = MemStore::new(10);
        let err = evaluate(&events_ctx(&store), "events('deploy')").unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidArgument);
        assert!(err.message.contains("no events store"), "{err}");
        let mut broken = fake(Vec::new());
        broken.fail = true;
        let err = evaluate_with_events(&events_ctx(&store), "events('deploy')", 0.0, &broken)
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Store);
        assert!(err.message.contains("events file unreadable"), "{err}");
        let err = evaluate_with_events(&events_ctx(&store), "events()", 0.0, &broken).unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidArgument, "{err}");
    }

    #[test]
    fn events_is_listed_in_functions() {
        let f = crate::functions_json();
        assert_eq!(f["events"]["group"], "Special");
        assert_eq!(f["events"]["params"][0]["name"], "tags");
        assert_eq!(f["events"]["params"][0]["multiple"], true);
    }
}
