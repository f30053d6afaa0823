//! [`run_log_conformance`]: the contract of [`LogAppender`] and [`LogReader`] as assertions, run
//! by every log store (the in-memory [`super::MemLogStore`] here, `lookout-logs` in its tests).
//!
//! It owns the observable semantics that callers rely on: the component subtree rule, the
//! half-open time range, "this severity or worse", each filter, order and ties, a cursor that
//! later appends cannot shift, component counts, histogram buckets and tail lag. It does not
//! check anything an engine may do its own way: scan statistics, durability, retention, and
//! how many records a lagging tail still delivers before reporting the lag.
//!
//! Each check starts from a fresh store, so a failure names one behaviour. Every assertion
//! message says what it checks.

use std::time::Duration;

use crate::{
    ComponentNode, Durability, Glob, HistogramBucket, LogAppender, LogOrder, LogQuery, LogReader,
    LogRecord, Severity,
};

/// The time the suite's records are written around (2023-11-14T22:13:00Z, a whole minute), in
/// unix nanoseconds. Every record lies within an hour of it, so an engine that applies
/// retention relative to `now` should open its stores with `now` close to this.
pub const LOG_CONFORMANCE_T0_NS: i64 = 1_699_999_980 * SEC;

const SEC: i64 = 1_000_000_000;
const T0: i64 = LOG_CONFORMANCE_T0_NS;

/// The contract of [`LogAppender`] and [`LogReader`], as assertions. `make` returns a fresh,
/// empty store that keeps records timestamped around [`LOG_CONFORMANCE_T0_NS`]. Panics on the
/// first violation, naming it.
pub fn run_log_conformance<S, F>(make: F)
where
    S: LogAppender + LogReader,
    F: Fn() -> S,
{
    records_round_trip(&make());
    range_is_half_open(&make());
    component_selects_subtree_not_siblings(&make());
    max_severity_keeps_that_level_and_worse(&make());
    filters_combine(&make());
    empty_results(&make());
    late_record_is_found_in_time_order(&make());
    equal_timestamps_keep_arrival_order(&make());
    asc_pages_are_stable_across_appends(&make());
    desc_pages_are_stable_across_appends(&make());
    foreign_cursor_is_refused(&make());
    components_count_records_at_and_below(&make());
    histogram_buckets_by_step_from_start(&make());
    tail_delivers_new_records_in_order(&make());
    slow_tail_lags_without_blocking_append(&make());
}

fn rec(component: &str, ts_ns: i64, severity: Severity, message: &str) -> LogRecord {
    LogRecord {
        ts_ns,
        component: component.to_string(),
        host: "web01".to_string(),
        severity,
        facility: None,
        message: message.as_bytes().to_vec(),
        fields: Vec::new(),
    }
}

fn glob(pattern: &str) -> Glob {
    Glob::new(pattern).expect("the suite's patterns are valid")
}

/// A query for `pattern` over the hour either side of T0, no filters, ascending.
fn query(pattern: &str) -> LogQuery {
    LogQuery {
        component: glob(pattern),
        from_ns: T0 - 3600 * SEC,
        until_ns: T0 + 3600 * SEC,
        max_severity: None,
        host: None,
        contains: None,
        regex: None,
        fields: Vec::new(),
        limit: 1000,
        order: LogOrder::Asc,
        cursor: None,
    }
}

fn put<S: LogAppender>(s: &S, records: &[LogRecord]) {
    s.append(records, Durability::Synced)
        .expect("append to a fresh store");
}

/// The messages of one page, checking that a short page promises nothing more.
#[track_caller]
fn page<S: LogReader>(s: &S, q: &LogQuery, what: &str) -> (Vec<String>, Option<String>) {
    let p = s
        .query(q)
        .unwrap_or_else(|e| panic!("{what}: query failed: {e}"));
    assert!(
        p.records.len() <= q.limit,
        "{what}: page holds at most `limit` records"
    );
    if p.records.len() < q.limit {
        assert!(
            p.next_cursor.is_none(),
            "{what}: a short page has no next cursor"
        );
    }
    let msgs = p
        .records
        .iter()
        .map(|r| r.message_lossy().into_owned())
        .collect();
    (msgs, p.next_cursor)
}

#[track_caller]
fn messages<S: LogReader>(s: &S, q: &LogQuery, what: &str) -> Vec<String> {
    page(s, q, what).0
}

/// Every page from `q.cursor` on, concatenated.
#[track_caller]
fn rest<S: LogReader>(s: &S, q: &LogQuery, what: &str) -> Vec<String> {
    let mut q = q.clone();
    let mut out = Vec::new();
    // More pages than records would mean a cursor that does not advance.
    for _ in 0..100 {
        let (msgs, next) = page(s, &q, what);
        out.extend(msgs);
        match next {
            Some(c) => q.cursor = Some(c),
            None => return out,
        }
    }
    panic!("{what}: cursor never reaches the end");
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn records_round_trip<S: LogAppender + LogReader>(s: &S) {
    let r = LogRecord {
        ts_ns: T0 + 123_456_789,
        component: "webapp.backend".into(),
        host: String::new(),
        severity: Severity::Notice,
        facility: Some(16),
        message: b"invalid \xff\xfe utf-8 kept".to_vec(),
        fields: vec![
            ("zeta".into(), "1".into()),
            ("alpha".into(), "".into()),
            ("zeta".into(), "2".into()),
        ],
    };
    put(s, std::slice::from_ref(&r));
    let got = s.query(&query("webapp")).expect("query");
    assert_eq!(
        got.records,
        vec![r],
        "a record comes back exactly: nanoseconds, empty host, facility, raw bytes, fields in order"
    );
}

fn range_is_half_open<S: LogAppender + LogReader>(s: &S) {
    let (from, until) = (T0, T0 + 60 * SEC);
    put(
        s,
        &[
            rec("app", from - 1, Severity::Info, "before"),
            rec("app", from, Severity::Info, "at-from"),
            rec("app", until - 1, Severity::Info, "last-ns"),
            rec("app", until, Severity::Info, "at-until"),
        ],
    );
    let mut q = query("app");
    (q.from_ns, q.until_ns) = (from, until);
    assert_eq!(
        messages(s, &q, "range"),
        strs(&["at-from", "last-ns"]),
        "range includes from, excludes until"
    );
}

fn component_selects_subtree_not_siblings<S: LogAppender + LogReader>(s: &S) {
    let comps = [
        "webapp",
        "webapp.backend",
        "webapp.backend.git",
        "webapp.backendx",
        "webapp.frontend.css",
        "db",
    ];
    let records: Vec<LogRecord> = comps
        .iter()
        .enumerate()
        .map(|(i, c)| rec(c, T0 + i as i64 * SEC, Severity::Info, c))
        .collect();
    put(s, &records);
    #[track_caller]
    fn check<S: LogReader>(s: &S, pattern: &str, expected: &[&str]) {
        assert_eq!(
            messages(s, &query(pattern), pattern),
            strs(expected),
            "component {pattern:?} selects the matches and their descendants only"
        );
    }
    check(
        s,
        "webapp.backend",
        &["webapp.backend", "webapp.backend.git"],
    );
    check(
        s,
        "webapp",
        &[
            "webapp",
            "webapp.backend",
            "webapp.backend.git",
            "webapp.backendx",
            "webapp.frontend.css",
        ],
    );
    check(s, "webapp.backend.git", &["webapp.backend.git"]);
    check(
        s,
        "webapp.*",
        &[
            "webapp.backend",
            "webapp.backend.git",
            "webapp.backendx",
            "webapp.frontend.css",
        ],
    );
    check(
        s,
        "webapp.backend*",
        &["webapp.backend", "webapp.backend.git", "webapp.backendx"],
    );
    check(s, "*.backend.git", &["webapp.backend.git"]);
    check(s, "{db,nope}", &["db"]);
    check(s, "webapp.backend.git.deeper", &[]);
    check(s, "web", &[]);
}

fn max_severity_keeps_that_level_and_worse<S: LogAppender + LogReader>(s: &S) {
    let records: Vec<LogRecord> = Severity::ALL
        .iter()
        .map(|&sev| rec("app", T0 + i64::from(sev.number()), sev, sev.as_str()))
        .collect();
    put(s, &records);
    #[track_caller]
    fn check<S: LogReader>(s: &S, max: Option<Severity>, expected: &[&str]) {
        let mut q = query("app");
        q.max_severity = max;
        assert_eq!(
            messages(s, &q, "level"),
            strs(expected),
            "max_severity {max:?} keeps that severity and worse"
        );
    }
    let all = [
        "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
    ];
    check(s, None, &all);
    check(s, Some(Severity::Debug), &all);
    check(s, Some(Severity::Warning), &all[..5]);
    check(s, Some(Severity::Error), &all[..4]);
    check(s, Some(Severity::Emergency), &["emerg"]);
}

fn filters_combine<S: LogAppender + LogReader>(s: &S) {
    let with =
        |ts: i64, host: &str, sev: Severity, msg: &[u8], fields: &[(&str, &str)]| LogRecord {
            ts_ns: T0 + ts * SEC,
            component: "app.web".into(),
            host: host.into(),
            severity: sev,
            facility: None,
            message: msg.to_vec(),
            fields: fields
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
    put(
        s,
        &[
            with(
                1,
                "web01",
                Severity::Info,
                b"GET /index 200",
                &[("status", "200"), ("method", "GET")],
            ),
            with(
                2,
                "web02",
                Severity::Error,
                b"GET /git timeout",
                &[("status", "504"), ("method", "GET")],
            ),
            with(
                3,
                "web01.sf",
                Severity::Warning,
                b"POST /login slow",
                &[("status", "200"), ("method", "POST")],
            ),
            with(4, "db01", Severity::Info, b"bad \xff byte", &[]),
        ],
    );
    let (index, git, login) = ("GET /index 200", "GET /git timeout", "POST /login slow");
    let bad = "bad \u{FFFD} byte";
    #[track_caller]
    fn check<S: LogReader>(s: &S, what: &str, edit: impl FnOnce(&mut LogQuery), expected: &[&str]) {
        let mut q = query("app");
        edit(&mut q);
        assert_eq!(messages(s, &q, what), strs(expected), "filter: {what}");
    }
    let host = |p: &str| Some(glob(p));
    let re = |p: &str| Some(regex::Regex::new(p).expect("the suite's regexes are valid"));
    let fields = |f: &[(&str, &str)]| -> Vec<(String, String)> {
        f.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    check(
        s,
        "host glob is per dotted node",
        |q| q.host = host("web*"),
        &[index, git],
    );
    check(
        s,
        "host glob matches a dotted host",
        |q| q.host = host("*.sf"),
        &[login],
    );
    check(
        s,
        "host glob with braces",
        |q| q.host = host("web0{1,2}"),
        &[index, git],
    );
    check(
        s,
        "contains is a substring",
        |q| q.contains = Some("GET".into()),
        &[index, git],
    );
    check(
        s,
        "contains is case-sensitive",
        |q| q.contains = Some("get".into()),
        &[],
    );
    check(
        s,
        "contains finds text next to invalid UTF-8",
        |q| q.contains = Some(" byte".into()),
        &[bad],
    );
    check(s, "regex", |q| q.regex = re(r"^GET /\w+ 200$"), &[index]);
    check(
        s,
        "regex runs on the lossy message",
        |q| q.regex = re("bad \u{FFFD} byte"),
        &[bad],
    );
    check(
        s,
        "one field",
        |q| q.fields = fields(&[("status", "200")]),
        &[index, login],
    );
    check(
        s,
        "every field must match",
        |q| q.fields = fields(&[("status", "200"), ("method", "POST")]),
        &[login],
    );
    check(
        s,
        "a field value that differs",
        |q| q.fields = fields(&[("status", "200"), ("method", "PUT")]),
        &[],
    );
    check(
        s,
        "a field no record has",
        |q| q.fields = fields(&[("nope", "")]),
        &[],
    );
    check(
        s,
        "filters combine with AND",
        |q| {
            q.contains = Some("GET".into());
            q.max_severity = Some(Severity::Error);
            q.host = host("web*");
        },
        &[git],
    );
    check(
        s,
        "limit keeps the first records in order",
        |q| {
            q.limit = 2;
            q.order = LogOrder::Desc;
        },
        &[bad, login],
    );
}

fn empty_results<S: LogAppender + LogReader>(s: &S) {
    let (msgs, next) = page(s, &query("app"), "empty store");
    assert!(
        msgs.is_empty() && next.is_none(),
        "an empty store answers an empty page without a cursor"
    );
    assert!(
        s.components(&glob("*")).expect("components").is_empty(),
        "an empty store has no components"
    );
    assert!(
        s.histogram(&glob("*"), T0, T0 + 60 * SEC, 10)
            .expect("histogram")
            .is_empty(),
        "an empty store has no histogram buckets"
    );
    put(s, &[rec("app", T0, Severity::Info, "one")]);
    let mut q = query("app");
    q.until_ns = q.from_ns;
    assert!(
        messages(s, &q, "from == until").is_empty(),
        "an empty range matches nothing"
    );
    assert!(
        messages(s, &query("other"), "unknown component").is_empty(),
        "an unknown component matches nothing"
    );
    let mut q = query("app");
    q.contains = Some("zzz".into());
    let (msgs, next) = page(s, &q, "no match");
    assert!(
        msgs.is_empty() && next.is_none(),
        "a filter matching nothing gives an empty page without a cursor"
    );
}

fn late_record_is_found_in_time_order<S: LogAppender + LogReader>(s: &S) {
    put(
        s,
        &[
            rec("app", T0 + 10 * SEC, Severity::Info, "m10"),
            rec("app", T0 + 20 * SEC, Severity::Info, "m20"),
        ],
    );
    // Appended last, timestamped first: a sender's buffered backlog arriving late.
    put(s, &[rec("app", T0 - 600 * SEC, Severity::Error, "late")]);
    assert_eq!(
        messages(s, &query("app"), "late"),
        strs(&["late", "m10", "m20"]),
        "a late record is stored and sorted by its timestamp, not its arrival"
    );
    let mut q = query("app");
    q.order = LogOrder::Desc;
    assert_eq!(
        messages(s, &q, "late desc"),
        strs(&["m20", "m10", "late"]),
        "descending order is reverse time order"
    );
    let h = s
        .histogram(&glob("app"), T0 - 3600 * SEC, T0 + 3600 * SEC, 3600)
        .expect("histogram");
    let errors: u64 = h.iter().map(|b| b.counts[3]).sum();
    assert_eq!(errors, 1, "a late record is counted by the histogram");
}

fn equal_timestamps_keep_arrival_order<S: LogAppender + LogReader>(s: &S) {
    let names = ["a0", "a1", "a2", "a3", "a4"];
    for n in names {
        put(s, &[rec("app", T0, Severity::Info, n)]);
    }
    let mut q = query("app");
    q.limit = 2;
    assert_eq!(
        rest(s, &q, "ties asc"),
        strs(&names),
        "equal timestamps come in arrival order, and paging through them loses or repeats none"
    );
    q.order = LogOrder::Desc;
    let mut reversed = strs(&names);
    reversed.reverse();
    assert_eq!(
        rest(s, &q, "ties desc"),
        reversed,
        "descending order reverses arrival order among equal timestamps"
    );
}

fn ten_records<S: LogAppender>(s: &S) {
    let records: Vec<LogRecord> = (0..10)
        .map(|i| rec("app", T0 + i * SEC, Severity::Info, &format!("m{i}")))
        .collect();
    put(s, &records);
}

fn asc_pages_are_stable_across_appends<S: LogAppender + LogReader>(s: &S) {
    ten_records(s);
    let mut q = query("app");
    q.limit = 4;
    let (first, next) = page(s, &q, "asc page 1");
    assert_eq!(
        first,
        strs(&["m0", "m1", "m2", "m3"]),
        "first ascending page"
    );
    q.cursor = Some(next.expect("a full page with more behind it has a cursor"));
    // Between two page requests: one record inside the range already read, one ahead of it.
    put(
        s,
        &[
            rec("app", T0 + SEC + SEC / 2, Severity::Info, "late"),
            rec("app", T0 + 20 * SEC, Severity::Info, "new"),
        ],
    );
    let (second, _) = page(s, &q, "asc page 2");
    assert_eq!(
        second,
        strs(&["m4", "m5", "m6", "m7"]),
        "a record appended behind the cursor does not shift the next page"
    );
    assert_eq!(
        rest(s, &q, "asc rest"),
        strs(&["m4", "m5", "m6", "m7", "m8", "m9", "new"]),
        "later pages hold records appended ahead of the cursor, not those behind it"
    );
}

fn desc_pages_are_stable_across_appends<S: LogAppender + LogReader>(s: &S) {
    ten_records(s);
    let mut q = query("app");
    q.limit = 4;
    q.order = LogOrder::Desc;
    let (first, next) = page(s, &q, "desc page 1");
    assert_eq!(
        first,
        strs(&["m9", "m8", "m7", "m6"]),
        "first descending page"
    );
    q.cursor = Some(next.expect("a full page with more behind it has a cursor"));
    put(
        s,
        &[
            rec("app", T0 + 8 * SEC + SEC / 2, Severity::Info, "late"),
            rec("app", T0 - 5 * SEC, Severity::Info, "old"),
        ],
    );
    assert_eq!(
        rest(s, &q, "desc rest"),
        strs(&["m5", "m4", "m3", "m2", "m1", "m0", "old"]),
        "descending pages skip records appended behind the cursor and include those ahead"
    );
}

fn foreign_cursor_is_refused<S: LogAppender + LogReader>(s: &S) {
    ten_records(s);
    let mut q = query("app");
    q.cursor = Some("not a cursor!".into());
    assert!(
        s.query(&q).is_err(),
        "a cursor the store did not issue is an error, not a silent restart"
    );
}

fn components_count_records_at_and_below<S: LogAppender + LogReader>(s: &S) {
    let comps = [
        "webapp",
        "webapp.backend",
        "webapp.backend",
        "webapp.backend.git",
        "webapp.backend.git",
        "webapp.backend.git.blame",
        "webapp.backendx",
        "webapp.frontend.css",
        "db",
    ];
    let records: Vec<LogRecord> = comps
        .iter()
        .enumerate()
        .map(|(i, c)| rec(c, T0 + i as i64 * SEC, Severity::Info, c))
        .collect();
    put(s, &records);
    let node = |path: &str, count: u64, descendants: u64| ComponentNode {
        path: path.into(),
        count,
        descendants,
        has_children: descendants > 0,
    };
    #[track_caller]
    fn check<S: LogReader>(s: &S, pattern: &str, expected: Vec<ComponentNode>) {
        assert_eq!(
            s.components(&glob(pattern)).expect("components"),
            expected,
            "components {pattern:?}: nodes at the pattern's depth, sorted, counted at and below"
        );
    }
    check(s, "*", vec![node("db", 1, 0), node("webapp", 1, 7)]);
    check(
        s,
        "webapp.*",
        vec![
            node("webapp.backend", 2, 3),
            node("webapp.backendx", 1, 0),
            node("webapp.frontend", 0, 1),
        ],
    );
    check(
        s,
        "webapp.backend.git",
        vec![node("webapp.backend.git", 2, 1)],
    );
    check(
        s,
        "webapp.{backendx,nope}",
        vec![node("webapp.backendx", 1, 0)],
    );
    check(s, "nope.*", vec![]);
}

fn histogram_buckets_by_step_from_start<S: LogAppender + LogReader>(s: &S) {
    put(
        s,
        &[
            rec("app", T0 + SEC, Severity::Error, "e"),
            rec("app.x", T0 + 2 * SEC, Severity::Info, "i"),
            rec(
                "app",
                T0 + 60 * SEC - 1,
                Severity::Info,
                "last ns of bucket 0",
            ),
            rec("app", T0 + 61 * SEC, Severity::Warning, "w"),
            rec("app", T0 + 95 * SEC, Severity::Debug, "d"),
            rec("app", T0 + 180 * SEC, Severity::Error, "at until"),
            rec("app", T0 - SEC, Severity::Error, "before from"),
            rec("other", T0 + 5 * SEC, Severity::Error, "other component"),
        ],
    );
    let counts = |pairs: &[(Severity, u64)]| {
        let mut c = [0u64; 8];
        for &(sev, n) in pairs {
            c[sev.number() as usize] = n;
        }
        c
    };
    let t0 = T0 / SEC;
    assert_eq!(
        s.histogram(&glob("app"), T0, T0 + 180 * SEC, 60)
            .expect("histogram"),
        vec![
            HistogramBucket {
                start: t0,
                counts: counts(&[(Severity::Error, 1), (Severity::Info, 2)]),
            },
            HistogramBucket {
                start: t0 + 60,
                counts: counts(&[(Severity::Warning, 1), (Severity::Debug, 1)]),
            },
        ],
        "histogram: subtree, [from, until), per severity, empty buckets left out"
    );
    let shifted = s
        .histogram(&glob("app"), T0 + 30 * SEC, T0 + 180 * SEC, 60)
        .expect("histogram");
    let starts: Vec<i64> = shifted.iter().map(|b| b.start).collect();
    assert_eq!(
        starts,
        vec![t0 + 30, t0 + 90],
        "bucket starts are `from` plus multiples of the step"
    );
    for step in [0, -60] {
        assert!(
            s.histogram(&glob("app"), T0, T0 + 180 * SEC, step).is_err(),
            "a histogram step of {step} is refused"
        );
    }
}

fn drain(sub: &mut dyn crate::LogSubscription) -> (Vec<String>, Option<u64>) {
    let mut got = Vec::new();
    // Bounded so a subscription that never ends fails instead of hanging.
    for _ in 0..1000 {
        match sub.next(Duration::ZERO) {
            Ok(Some(r)) => got.push(r.message_lossy().into_owned()),
            Ok(None) => return (got, None),
            Err(lag) => return (got, Some(lag.missed)),
        }
    }
    panic!("tail: a subscription yields more records than were appended");
}

fn tail_delivers_new_records_in_order<S: LogAppender + LogReader>(s: &S) {
    put(s, &[rec("app", T0, Severity::Info, "before")]);
    let mut sub = s.subscribe(16);
    assert_eq!(
        drain(sub.as_mut()),
        (vec![], None),
        "a new subscription sees nothing appended before it"
    );
    put(
        s,
        &[
            rec("app", T0 + 2 * SEC, Severity::Info, "t1"),
            rec("db", T0 - 60 * SEC, Severity::Error, "t2"),
        ],
    );
    put(s, &[rec("app.x", T0 + SEC, Severity::Debug, "t3")]);
    assert_eq!(
        drain(sub.as_mut()),
        (strs(&["t1", "t2", "t3"]), None),
        "tail delivers every component in append order, late ones included, then times out"
    );
}

fn slow_tail_lags_without_blocking_append<S: LogAppender + LogReader>(s: &S) {
    let mut slow = s.subscribe(2);
    let mut fast = s.subscribe(64);
    let batch: Vec<LogRecord> = (0..5)
        .map(|i| rec("app", T0 + i * SEC, Severity::Info, &format!("b{i}")))
        .collect();
    put(s, &batch);
    // Appends keep succeeding while the slow subscriber reads nothing.
    put(s, &[rec("app", T0 + 9 * SEC, Severity::Info, "after")]);
    let (got, lag) = drain(slow.as_mut());
    let missed = lag.expect("a subscriber whose queue overflowed is told it lagged");
    assert!(missed >= 1, "lag reports at least one missed record");
    assert!(
        got.len() <= 2 && got == strs(&["b0", "b1"])[..got.len()],
        "a lagging subscriber gets at most its capacity, oldest first: {got:?}"
    );
    assert!(
        got.len() as u64 + missed <= 6,
        "delivered plus missed never exceeds what was appended"
    );
    assert!(
        !matches!(slow.next(Duration::ZERO), Ok(Some(_))),
        "a lagged subscription delivers nothing more"
    );
    assert_eq!(
        drain(fast.as_mut()),
        (strs(&["b0", "b1", "b2", "b3", "b4", "after"]), None),
        "another subscriber is unaffected by a lagging one"
    );
}
