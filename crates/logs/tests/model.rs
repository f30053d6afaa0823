//! The log store against a model (issue #6): random sequences of appends (out of order,
//! duplicates, several components and hosts), paged queries in both orders, flushes,
//! retention, merges of closed partitions' blocks, crashes and clean restarts, checked after
//! every step against a plain vector of records. The model is the contract: a query returns
//! exactly the model's matching records, in (time, append order) order, however they are
//! split between head and blocks, chunks, sections, merges and pages; nothing acknowledged is
//! lost across a crash; retention drops exactly the whole hours before its cutoff.

use std::path::Path;

use lookout_core::selfmon::Registry;
use lookout_core::{Durability, Glob, LogOrder, LogQuery, LogReader, LogRecord, Severity};
use lookout_logs::{Config, LogStore};
use proptest::prelude::*;

const SEC: i64 = 1_000_000_000;
const HOUR: i64 = 3600;
/// An hour boundary, so retention cutoffs can fall on partition edges.
const BASE: i64 = 1_800_000_000 - 1_800_000_000 % HOUR;
/// Records span this many hours after BASE, so they land in several partitions.
const HOURS: i64 = 6;
const RETENTION_HOURS: i64 = 24;
const COMPONENTS: [&str; 5] = ["a", "a.b", "a.b.c", "a.d", "e"];
const PATTERNS: [&str; 6] = ["a", "a.b", "a.*", "e", "*", "a.b.c"];
const WORDS: [&str; 4] = ["alpha", "beta", "gamma", "delta"];

#[derive(Debug, Clone)]
enum Op {
    /// Records as (component, seconds after BASE, nanos, severity, word, host).
    Append(Vec<(usize, i64, i64, u8, usize, u8)>),
    Query {
        pattern: usize,
        from_s: i64,
        len_s: i64,
        contains: Option<usize>,
        desc: bool,
        limit: usize,
    },
    Flush,
    /// Flush, then retention with the cutoff at BASE + this many hours.
    Retain(i64),
    /// `maintain` long after every partition closed, until it merges nothing more: each
    /// partition's blocks become one, with every record and its cursor key kept.
    Merge,
    /// Drop the store without closing it (a crash after the writes returned), then reopen.
    Crash,
    /// Close cleanly and reopen.
    Restart,
}

fn op() -> impl Strategy<Value = Op> {
    let record = (
        0..COMPONENTS.len(),
        0..HOURS * HOUR,
        0..3i64,
        0..8u8,
        0..WORDS.len(),
        0..3u8,
    );
    prop_oneof![
        6 => prop::collection::vec(record, 1..60).prop_map(Op::Append),
        6 => (
            0..PATTERNS.len(),
            -600..HOURS * HOUR,
            1..3 * HOUR,
            prop::option::of(0..WORDS.len()),
            any::<bool>(),
            1..9usize,
        )
            .prop_map(|(pattern, from_s, len_s, contains, desc, limit)| Op::Query {
                pattern,
                from_s,
                len_s,
                contains,
                desc,
                limit,
            }),
        2 => Just(Op::Flush),
        1 => (1..HOURS).prop_map(Op::Retain),
        2 => Just(Op::Merge),
        1 => Just(Op::Crash),
        1 => Just(Op::Restart),
    ]
}

/// The model: every record kept, with the order it was appended in.
struct Model {
    records: Vec<(u64, LogRecord)>,
    next: u64,
}

impl Model {
    fn expected(&self, q: &LogQuery) -> Vec<LogRecord> {
        let mut hits: Vec<&(u64, LogRecord)> = self
            .records
            .iter()
            .filter(|(_, r)| {
                q.component.matches_prefix_of(&r.component)
                    && r.ts_ns >= q.from_ns
                    && r.ts_ns < q.until_ns
                    && q.contains
                        .as_ref()
                        .is_none_or(|c| r.message.windows(c.len()).any(|w| w == c.as_bytes()))
            })
            .collect();
        hits.sort_by_key(|(seq, r)| (r.ts_ns, *seq));
        if q.order == LogOrder::Desc {
            hits.reverse();
        }
        hits.into_iter().map(|(_, r)| r.clone()).collect()
    }
}

fn config() -> Config {
    Config {
        retention_secs: RETENTION_HOURS * HOUR,
        // Small, so heads seal chunks and flush inside one case.
        flush_max_bytes: 64 << 10,
        ..Config::default()
    }
}

fn open(dir: &Path) -> LogStore {
    LogStore::open(dir, config(), &Registry::new(), BASE).expect("open")
}

/// Every page of `q`, following cursors, concatenated.
fn all_pages(s: &LogStore, mut q: LogQuery) -> Vec<LogRecord> {
    let mut out = Vec::new();
    for _ in 0..10_000 {
        let page = s.query(&q).expect("query");
        assert!(page.records.len() <= q.limit, "page over its limit");
        out.extend(page.records);
        match page.next_cursor {
            Some(c) => q.cursor = Some(c),
            None => return out,
        }
    }
    panic!("paging did not end");
}

fn run(ops: Vec<Op>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = Some(open(dir.path()));
    let mut model = Model {
        records: Vec::new(),
        next: 0,
    };
    for op in ops {
        let s = store.as_ref().expect("open store");
        match op {
            Op::Append(recs) => {
                let batch: Vec<LogRecord> = recs
                    .into_iter()
                    .map(|(c, secs, nanos, sev, word, host)| LogRecord {
                        ts_ns: (BASE + secs) * SEC + nanos,
                        component: COMPONENTS[c].to_string(),
                        host: format!("h{host}"),
                        severity: Severity::from_number(sev).expect("0..8"),
                        facility: None,
                        message: format!("{} {secs}", WORDS[word]).into_bytes(),
                        fields: vec![("n".to_string(), model.next.to_string())],
                    })
                    .collect();
                s.append_records(&batch, Durability::Buffered)
                    .expect("append");
                for r in batch {
                    model.records.push((model.next, r));
                    model.next += 1;
                }
            }
            Op::Query {
                pattern,
                from_s,
                len_s,
                contains,
                desc,
                limit,
            } => {
                let q = LogQuery {
                    component: Glob::new(PATTERNS[pattern]).expect("pattern"),
                    from_ns: (BASE + from_s) * SEC,
                    until_ns: (BASE + from_s + len_s) * SEC,
                    max_severity: None,
                    host: None,
                    contains: contains.map(|w| WORDS[w].to_string()),
                    regex: None,
                    fields: Vec::new(),
                    limit,
                    order: if desc { LogOrder::Desc } else { LogOrder::Asc },
                    cursor: None,
                };
                let want = model.expected(&q);
                let got = all_pages(s, q.clone());
                assert_eq!(
                    got.len(),
                    want.len(),
                    "{} {:?}..{:?} contains {:?} desc {desc} limit {limit}",
                    PATTERNS[pattern],
                    q.from_ns,
                    q.until_ns,
                    q.contains
                );
                assert!(got == want, "records differ from the model");
                // The component tree counts what the model holds.
                let nodes = s.components(&Glob::new("*").expect("glob")).expect("tree");
                for n in nodes {
                    let own = model
                        .records
                        .iter()
                        .filter(|(_, r)| r.component == n.path)
                        .count() as u64;
                    assert_eq!(n.count, own, "count of {}", n.path);
                }
            }
            Op::Flush => s.flush(BASE).expect("flush"),
            Op::Retain(hours) => {
                // With an empty head and a cutoff on an hour boundary, retention drops exactly
                // the records before the cutoff: every block of an earlier partition ends
                // before it, every block of a later one ends after it.
                s.flush(BASE).expect("flush");
                let cutoff = BASE + hours * HOUR;
                s.maintain(cutoff + RETENTION_HOURS * HOUR)
                    .expect("maintain");
                model.records.retain(|(_, r)| r.ts_ns >= cutoff * SEC);
            }
            Op::Merge => {
                // Every partition is closed and none is past the retention.
                let now = BASE + (HOURS + 2) * HOUR;
                let mut calls = 0;
                while s.maintain(now).expect("maintain").merged_blocks > 0 {
                    calls += 1;
                    assert!(calls <= HOURS + 1, "a merge per partition at most");
                }
                let stats = s.stats();
                assert!(
                    stats.blocks <= HOURS as u64,
                    "one block per partition after merging, got {}",
                    stats.blocks
                );
            }
            Op::Crash => {
                drop(store.take());
                store = Some(open(dir.path()));
            }
            Op::Restart => {
                store.take().expect("open").close(BASE).expect("close");
                store = Some(open(dir.path()));
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn the_log_store_behaves_like_its_model(ops in prop::collection::vec(op(), 1..40)) {
        run(ops);
    }
}
