//! The log store through its public API: the shared conformance suite (head only, and with a
//! flush after every append so every answer comes from blocks), crash and corruption recovery,
//! query filters, late records, pagination while appending, retention and tail lag.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use lookout_core::selfmon::Registry;
use lookout_core::testkit::{run_log_conformance, LOG_CONFORMANCE_T0_NS};
use lookout_core::{
    Durability, Glob, Lagged, LogAppender, LogOrder, LogQuery, LogReader, LogRecord,
    LogSubscription, Severity,
};
use lookout_logs::{filenames, Config, LogStore};

const SEC: i64 = 1_000_000_000;
/// 2023-11-14T22:13:20Z, unix seconds: the tests' "now".
const NOW: i64 = 1_700_000_000;
const T0: i64 = NOW * SEC;

fn open(dir: &Path, config: Config) -> LogStore {
    LogStore::open(dir, config, &Registry::new(), NOW).expect("open")
}

fn rec(component: &str, ts_ns: i64, severity: Severity, host: &str, msg: &str) -> LogRecord {
    LogRecord {
        ts_ns,
        component: component.into(),
        host: host.into(),
        severity,
        facility: Some(1),
        message: msg.as_bytes().to_vec(),
        fields: Vec::new(),
    }
}

fn query(pattern: &str, from_ns: i64, until_ns: i64) -> LogQuery {
    LogQuery {
        component: Glob::new(pattern).expect("valid pattern"),
        from_ns,
        until_ns,
        max_severity: None,
        host: None,
        contains: None,
        regex: None,
        fields: Vec::new(),
        limit: 10_000,
        order: LogOrder::Asc,
        cursor: None,
    }
}

fn messages(s: &LogStore, q: &LogQuery) -> Vec<String> {
    s.query(q)
        .expect("query")
        .records
        .iter()
        .map(|r| r.message_lossy().into_owned())
        .collect()
}

/// A store whose every append is flushed into blocks, so the suite checks the block path.
struct Flushing(LogStore);

impl LogAppender for Flushing {
    fn append(&self, records: &[LogRecord], d: Durability) -> lookout_core::Result<()> {
        self.0.append(records, d)?;
        self.0.flush(NOW).map_err(lookout_core::Error::from)
    }
}

impl LogReader for Flushing {
    fn query(&self, q: &LogQuery) -> lookout_core::Result<lookout_core::LogPage> {
        self.0.query(q)
    }
    fn components(&self, p: &Glob) -> lookout_core::Result<Vec<lookout_core::ComponentNode>> {
        self.0.components(p)
    }
    fn histogram(
        &self,
        c: &Glob,
        f: i64,
        u: i64,
        s: i64,
    ) -> lookout_core::Result<Vec<lookout_core::HistogramBucket>> {
        self.0.histogram(c, f, u, s)
    }
    fn subscribe(&self, capacity: usize) -> Box<dyn LogSubscription> {
        self.0.subscribe(capacity)
    }
}

fn conformance_now() -> i64 {
    LOG_CONFORMANCE_T0_NS / SEC
}

#[test]
fn conformance_suite_passes_on_the_head() {
    let root = tempfile::tempdir().expect("tempdir");
    let n = std::cell::Cell::new(0);
    run_log_conformance(|| {
        n.set(n.get() + 1);
        LogStore::open(
            &root.path().join(n.get().to_string()),
            Config::default(),
            &Registry::new(),
            conformance_now(),
        )
        .expect("open")
    });
}

#[test]
fn conformance_suite_passes_on_blocks() {
    let root = tempfile::tempdir().expect("tempdir");
    let n = std::cell::Cell::new(0);
    run_log_conformance(|| {
        n.set(n.get() + 1);
        Flushing(
            LogStore::open(
                &root.path().join(n.get().to_string()),
                Config::default(),
                &Registry::new(),
                conformance_now(),
            )
            .expect("open"),
        )
    });
}

fn batch(n: usize, start_ns: i64) -> Vec<LogRecord> {
    (0..n)
        .map(|i| {
            rec(
                ["web.git", "web.git.ssh", "db.pg", "kernel"][i % 4],
                start_ns + i as i64 * SEC / 10,
                Severity::from_number((i % 8) as u8).expect("0..8"),
                &format!("h{}", i % 3),
                &format!("line {i}"),
            )
        })
        .collect()
}

#[test]
fn synced_appends_survive_a_crash() {
    let dir = tempfile::tempdir().expect("tempdir");
    let all = batch(1000, T0);
    {
        let s = open(dir.path(), Config::default());
        s.append(&all[..400], Durability::Synced).expect("append");
        s.flush(NOW).expect("flush");
        s.append(&all[400..], Durability::Synced).expect("append");
        // Dropped without close: the last 600 exist only in the WAL.
    }
    let s = open(dir.path(), Config::default());
    assert_eq!(s.open_report().replayed, 600);
    let got = s
        .query(&query("*", T0 - SEC, T0 + 1000 * SEC))
        .expect("query")
        .records;
    assert_eq!(got, all, "every record back, in time order");
    s.append(&batch(1, T0 + 500 * SEC), Durability::Synced)
        .expect("append after reopen");
    let got = s
        .query(&query("*", T0 - SEC, T0 + 1000 * SEC))
        .expect("query")
        .records;
    assert_eq!(got.len(), 1001);
}

fn wal_segments(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir.join(filenames::WAL_DIR))
        .expect("wal dir")
        .map(|e| e.expect("entry").path())
        .collect();
    v.sort();
    v
}

#[test]
fn torn_wal_tail_is_cut_and_earlier_batches_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let s = open(dir.path(), Config::default());
        s.append(&batch(10, T0), Durability::Synced)
            .expect("append");
        s.append(&batch(10, T0 + 100 * SEC), Durability::Synced)
            .expect("append");
    }
    let seg = wal_segments(dir.path()).pop().expect("a segment");
    let len = fs::metadata(&seg).expect("meta").len();
    let f = fs::OpenOptions::new()
        .write(true)
        .open(&seg)
        .expect("open seg");
    f.set_len(len - 5).expect("truncate");
    let s = open(dir.path(), Config::default());
    assert!(
        s.open_report().wal_torn_bytes > 0,
        "the torn tail is reported"
    );
    let got = messages(&s, &query("*", T0 - SEC, T0 + 1000 * SEC));
    assert_eq!(
        got.len(),
        10,
        "the first batch is intact, the torn one is gone"
    );
}

#[test]
fn flipped_byte_in_a_block_is_counted_and_the_rest_served() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let s = open(dir.path(), Config::default());
        s.append(&batch(400, T0), Durability::Synced)
            .expect("append");
        s.close(NOW).expect("close");
    }
    let blocks: Vec<PathBuf> = fs::read_dir(dir.path().join(filenames::BLOCKS_DIR))
        .expect("blocks")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(blocks.len(), 1);
    let mut bytes = fs::read(&blocks[0]).expect("read");
    // Byte 10 lies in the first section (sections come first; the index is at the end).
    bytes[10] ^= 0x55;
    fs::write(&blocks[0], &bytes).expect("write");
    let registry = Registry::new();
    let s = LogStore::open(dir.path(), Config::default(), &registry, NOW).expect("open");
    let got = s
        .query(&query("*", T0 - SEC, T0 + 1000 * SEC))
        .expect("query")
        .records;
    assert_eq!(got.len(), 300, "three of four components are served");
    assert!(
        got.iter().all(|r| r.component != "db.pg"),
        "the damaged section is skipped"
    );
    let corrupt = registry
        .samples()
        .into_iter()
        .find(|x| x.path.contains("sections_corrupt_total"))
        .expect("counter registered");
    assert_eq!(corrupt.value, 1.0);
}

#[test]
fn damaged_block_index_is_quarantined_at_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let s = open(dir.path(), Config::default());
        s.append(&batch(40, T0), Durability::Synced)
            .expect("append");
        s.close(NOW).expect("close");
    }
    let block = fs::read_dir(dir.path().join(filenames::BLOCKS_DIR))
        .expect("blocks")
        .next()
        .expect("one block")
        .expect("entry")
        .path();
    let mut bytes = fs::read(&block).expect("read");
    let at = bytes.len() - 40;
    bytes[at] ^= 0xff;
    fs::write(&block, &bytes).expect("write");
    let s = open(dir.path(), Config::default());
    assert_eq!(s.open_report().quarantined.len(), 1);
    assert!(messages(&s, &query("*", T0 - SEC, T0 + 1000 * SEC)).is_empty());
}

#[track_caller]
fn check(s: &LogStore, edit: impl FnOnce(&mut LogQuery), expected: &[&str]) {
    let mut q = query("web", T0 - 3600 * SEC, T0 + 3600 * SEC);
    edit(&mut q);
    assert_eq!(messages(s, &q), expected);
}

fn filter_fixture(s: &LogStore) {
    let mut with_field = rec(
        "web.git",
        T0 + 4 * SEC,
        Severity::Info,
        "web02",
        "GET /tree 200",
    );
    with_field.fields = vec![("user".into(), "alice".into())];
    s.append(
        &[
            rec(
                "web.git",
                T0 + SEC,
                Severity::Error,
                "web01",
                "push failed: broken pipe",
            ),
            rec(
                "web.git.ssh",
                T0 + 2 * SEC,
                Severity::Warning,
                "web02",
                "slow handshake 900ms",
            ),
            rec(
                "web.wiki",
                T0 + 3 * SEC,
                Severity::Debug,
                "web01",
                "render page Home",
            ),
            with_field,
            rec(
                "webapp",
                T0 + 5 * SEC,
                Severity::Error,
                "web01",
                "not a child of web",
            ),
            rec(
                "db.pg",
                T0 + 6 * SEC,
                Severity::Error,
                "db01",
                "deadlock detected",
            ),
        ],
        Durability::Synced,
    )
    .expect("append");
}

fn run_filter_table(s: &LogStore) {
    let all = [
        "push failed: broken pipe",
        "slow handshake 900ms",
        "render page Home",
        "GET /tree 200",
    ];
    check(s, |_| {}, &all);
    check(
        s,
        |q| q.component = Glob::new("web.git").expect("glob"),
        &[all[0], all[1], all[3]],
    );
    check(
        s,
        |q| q.component = Glob::new("*.wiki").expect("glob"),
        &all[2..3],
    );
    check(s, |q| q.max_severity = Some(Severity::Warning), &all[..2]);
    check(
        s,
        |q| q.host = Some(Glob::new("web02").expect("glob")),
        &[all[1], all[3]],
    );
    check(s, |q| q.contains = Some("pipe".into()), &all[..1]);
    check(
        s,
        |q| q.regex = Some(regex::Regex::new(r"\d+ms$").expect("re")),
        &all[1..2],
    );
    check(
        s,
        |q| q.fields = vec![("user".into(), "alice".into())],
        &all[3..],
    );
    check(s, |q| q.fields = vec![("user".into(), "bob".into())], &[]);
    check(
        s,
        |q| (q.from_ns, q.until_ns) = (T0 + 2 * SEC, T0 + 4 * SEC),
        &all[1..3],
    );
    check(
        s,
        |q| q.order = LogOrder::Desc,
        &[all[3], all[2], all[1], all[0]],
    );
    check(s, |q| q.limit = 1, &all[..1]);
    check(
        s,
        |q| {
            q.max_severity = Some(Severity::Error);
            q.host = Some(Glob::new("web*").expect("glob"));
            q.component = Glob::new("*").expect("glob");
        },
        &["push failed: broken pipe", "not a child of web"],
    );
}

#[test]
fn query_filters_in_head_and_blocks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = open(dir.path(), Config::default());
    filter_fixture(&s);
    run_filter_table(&s);
    s.flush(NOW).expect("flush");
    assert_eq!(s.stats().head_records, 0);
    run_filter_table(&s);
}

#[test]
fn narrow_query_reads_only_matching_sections() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = open(dir.path(), Config::default());
    s.append(&batch(4000, T0), Durability::Buffered)
        .expect("append");
    s.flush(NOW).expect("flush");
    let wide = s
        .query(&query("*", T0, T0 + 7200 * SEC))
        .expect("query")
        .stats;
    let narrow = s
        .query(&query("db.pg", T0, T0 + 7200 * SEC))
        .expect("query")
        .stats;
    assert!(
        narrow.bytes_scanned * 3 < wide.bytes_scanned,
        "{narrow:?} vs {wide:?}"
    );
    let none = s
        .query(&query("db.pg", T0 - 7200 * SEC, T0 - 3600 * SEC))
        .expect("query")
        .stats;
    assert_eq!(
        none.blocks_read, 0,
        "a range outside every block reads none"
    );
}

#[test]
fn late_records_are_stored_and_found_in_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = open(dir.path(), Config::default());
    s.append(
        &[rec("a", T0, Severity::Info, "h", "now")],
        Durability::Synced,
    )
    .expect("append");
    s.flush(NOW).expect("flush");
    s.append(
        &[rec(
            "a",
            T0 - 3 * 3600 * SEC,
            Severity::Info,
            "h",
            "3h late",
        )],
        Durability::Synced,
    )
    .expect("append");
    assert_eq!(
        messages(&s, &query("a", T0 - 4 * 3600 * SEC, T0 + SEC)),
        ["3h late", "now"]
    );
    s.flush(NOW).expect("flush");
    assert_eq!(
        s.stats().blocks,
        2,
        "the late record went to its own partition"
    );
    assert_eq!(
        messages(&s, &query("a", T0 - 4 * 3600 * SEC, T0 + SEC)),
        ["3h late", "now"]
    );
}

#[test]
fn cursor_pages_are_stable_while_appending_and_flushing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = open(dir.path(), Config::default());
    let first = batch(100, T0);
    s.append(&first, Durability::Buffered).expect("append");
    s.flush(NOW).expect("flush");
    let mut q = query("*", T0 - SEC, T0 + 3600 * SEC);
    q.limit = 30;
    let mut seen = Vec::new();
    let mut round = 0;
    loop {
        let page = s.query(&q).expect("query");
        seen.extend(page.records);
        // New records after every page: later in time (must show up) and earlier (must not
        // shift the pages).
        s.append(
            &[rec(
                "kernel",
                T0 + 1000 * SEC + round,
                Severity::Info,
                "h",
                "new",
            )],
            Durability::Buffered,
        )
        .expect("append");
        s.append(
            &[rec("kernel", T0 - SEC / 2, Severity::Info, "h", "late")],
            Durability::Buffered,
        )
        .expect("append");
        if round % 2 == 1 {
            s.flush(NOW).expect("flush");
        }
        round += 1;
        match page.next_cursor {
            Some(c) => q.cursor = Some(c),
            None => break,
        }
    }
    let msgs: Vec<String> = seen
        .iter()
        .map(|r| r.message_lossy().into_owned())
        .collect();
    assert_eq!(
        &seen[..100],
        &first[..],
        "the first 100 in order, no gaps or repeats"
    );
    assert!(
        msgs[100..].iter().all(|m| m == "new"),
        "only later records follow"
    );
    assert!(!msgs.contains(&"late".to_string()));
}

#[test]
fn retention_by_age_drops_old_blocks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = Config {
        retention_secs: 86400,
        ..Config::default()
    };
    let s = open(dir.path(), config);
    s.append(
        &[rec("a", T0 - 3 * 86400 * SEC, Severity::Info, "h", "old")],
        Durability::Synced,
    )
    .expect("append");
    s.append(
        &[rec("a", T0, Severity::Info, "h", "fresh")],
        Durability::Synced,
    )
    .expect("append");
    s.flush(NOW).expect("flush");
    assert_eq!(s.stats().blocks, 2);
    let report = s.maintain(NOW).expect("maintain");
    assert_eq!((report.dropped_by_age, report.dropped_by_size), (1, 0));
    assert_eq!(messages(&s, &query("a", 0, T0 + SEC)), ["fresh"]);
    drop(s);
    let s = open(dir.path(), Config::default());
    assert_eq!(
        messages(&s, &query("a", 0, T0 + SEC)),
        ["fresh"],
        "the drop is durable"
    );
}

#[test]
fn retention_by_size_drops_oldest_blocks_first() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = open(dir.path(), Config::default());
    for h in 0..4 {
        s.append(&batch(50, T0 - (4 - h) * 3600 * SEC), Durability::Buffered)
            .expect("append");
    }
    s.flush(NOW).expect("flush");
    let stats = s.stats();
    assert_eq!(stats.blocks, 4);
    drop(s);
    let config = Config {
        max_bytes: stats.block_bytes / 2,
        ..Config::default()
    };
    let s = open(dir.path(), config);
    let report = s.maintain(NOW).expect("maintain");
    assert!(report.dropped_by_size >= 2, "{report:?}");
    let left = s.stats();
    assert!(left.block_bytes <= stats.block_bytes / 2);
    let got = s.query(&query("*", 0, T0)).expect("query").records;
    let oldest_left = got.first().expect("something left").ts_ns;
    assert!(
        oldest_left >= T0 - 2 * 3600 * SEC,
        "the newest partitions are kept"
    );
}

#[test]
fn slow_tail_lags_and_append_never_waits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = open(dir.path(), Config::default());
    let mut slow = s.subscribe(5);
    let mut fast = s.subscribe(100);
    s.append(&batch(8, T0), Durability::Buffered)
        .expect("append");
    s.append(&batch(2, T0), Durability::Buffered)
        .expect("append");
    for _ in 0..5 {
        assert!(slow.next(Duration::ZERO).expect("queued").is_some());
    }
    assert_eq!(slow.next(Duration::ZERO), Err(Lagged { missed: 3 }));
    for _ in 0..10 {
        assert!(fast.next(Duration::ZERO).expect("queued").is_some());
    }
    assert_eq!(fast.next(Duration::ZERO), Ok(None));
    assert_eq!(s.stats().subscribers, 1);
}

#[test]
fn invalid_component_is_refused_and_nothing_stored() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = open(dir.path(), Config::default());
    let deep = vec!["n"; 500].join(".");
    let err = s.append(
        &[
            rec("ok", T0, Severity::Info, "h", "x"),
            rec(&deep, T0, Severity::Info, "h", "y"),
        ],
        Durability::Synced,
    );
    assert!(err.is_err());
    assert!(messages(&s, &query("*", 0, T0 + SEC)).is_empty());
}

#[test]
fn a_second_open_of_the_same_dir_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let _s = open(dir.path(), Config::default());
    assert!(LogStore::open(dir.path(), Config::default(), &Registry::new(), NOW).is_err());
}

#[test]
fn a_head_over_its_memory_budget_is_flushed_by_the_appender() {
    let dir = tempfile::tempdir().expect("tempdir");
    let budget = 256 * 1024;
    let s = open(
        dir.path(),
        Config {
            flush_max_bytes: budget,
            ..Config::default()
        },
    );
    // 20 batches of 1,000 records, far more than the budget, no maintain() in between and no
    // background flusher: the appender itself keeps the head under twice the budget.
    let mut woken = false;
    for i in 0..20 {
        s.append_records(
            &batch(1000, 1_000_000_000 * (i * 1000) as i64),
            Durability::Buffered,
        )
        .expect("append");
        let st = s.stats();
        assert!(
            st.head_bytes < 2 * budget as u64,
            "head bounded after batch {i}: {} bytes",
            st.head_bytes
        );
        woken |= s.wait_for_flush_work(std::time::Duration::ZERO);
    }
    assert!(woken, "a head at its budget asks for a background flush");
    s.flush_if_full().expect("flush");
    assert!(
        s.stats().head_bytes < budget as u64,
        "what a background flusher does leaves the head under budget"
    );
    assert!(
        !s.flush_if_full().expect("flush"),
        "and then has nothing to do"
    );
    let st = s.stats();
    assert!(st.blocks >= 2, "the appender flushed: {} blocks", st.blocks);
    assert_eq!(st.head_records + st.block_records, 20_000, "nothing lost");
}

#[test]
fn records_out_of_order_across_partitions_come_back_in_order_from_blocks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = open(dir.path(), Config::default());
    // 5,000 records of one component over three hours, appended in a scrambled order: head
    // chunks that are unsorted and span partitions, which a flush must sort and cut.
    let hour = 3_600_000_000_000i64;
    let mut records: Vec<LogRecord> = (0..5000i64)
        .map(|i| {
            let ts = 1_800_000_000_000_000_000 + (i * 7919 % 5000) * (3 * hour / 5000);
            rec("svc", ts, Severity::Info, "h", &format!("m{ts}"))
        })
        .collect();
    records.rotate_left(1234);
    for chunk in records.chunks(700) {
        s.append_records(chunk, Durability::Buffered)
            .expect("append");
    }
    let all = |s: &LogStore| {
        let mut q = query("svc", 0, i64::MAX);
        q.limit = 10_000;
        s.query(&q).expect("query").records
    };
    let before = all(&s);
    s.flush(0).expect("flush");
    let st = s.stats();
    assert_eq!((st.head_records, st.block_records), (0, 5000));
    assert!(
        st.blocks >= 3,
        "one block per partition at least: {}",
        st.blocks
    );
    let after = all(&s);
    assert_eq!(after.len(), 5000);
    assert!(
        after.windows(2).all(|w| w[0].ts_ns <= w[1].ts_ns),
        "time order"
    );
    assert_eq!(before, after, "head and blocks answer alike");
}

#[test]
fn head_memory_counts_every_record_it_holds() {
    // The budget only bounds memory if the head's count is not below what it holds: each
    // record keeps at least its time, sequence, severity, facility, host index, message and
    // the two end offsets, across many sealed chunks per component.
    let dir = tempfile::tempdir().expect("tempdir");
    let s = open(dir.path(), Config::default());
    let records = batch(50_000, 1_800_000_000 * SEC);
    for chunk in records.chunks(1000) {
        s.append_records(chunk, Durability::Buffered)
            .expect("append");
    }
    let st = s.stats();
    assert_eq!(st.head_records, 50_000);
    let floor: u64 = records
        .iter()
        .map(|r| (8 + 8 + 1 + 1 + 4 + 8 + 8 + r.message.len()) as u64)
        .sum();
    assert!(
        st.head_bytes >= floor,
        "head counts {} bytes for records that take at least {floor}",
        st.head_bytes
    );
}

#[test]
fn a_wall_clock_stepped_back_does_not_hold_the_head_until_it_catches_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = Config {
        flush_interval_secs: 60,
        ..Config::default()
    };
    let s = open(dir.path(), config);
    s.append(
        &[rec("a", T0, Severity::Info, "h", "x")],
        Durability::Buffered,
    )
    .expect("append");
    // The interval starts a day ahead (the clock had jumped forward), then the clock is
    // stepped back to the truth.
    assert!(!s.maintain(NOW + 86_400).expect("maintain").flushed);
    assert!(!s.maintain(NOW).expect("maintain").flushed);
    assert!(
        s.maintain(NOW + 60).expect("maintain").flushed,
        "one flush interval after the step back, the head is flushed"
    );
    assert_eq!(s.stats().blocks, 1);
}

#[test]
fn a_damaged_section_is_reported_once_by_file_name_at_the_next_maintain() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = open(dir.path(), Config::default());
    s.append(&batch(200, T0), Durability::Synced)
        .expect("append");
    s.flush(NOW).expect("flush");
    drop(s);
    let blocks_dir = dir.path().join(filenames::BLOCKS_DIR);
    let block = fs::read_dir(&blocks_dir)
        .expect("list")
        .map(|e| e.expect("entry").path())
        .find(|p| p.extension().is_some_and(|e| e == filenames::BLOCK_EXT))
        .expect("a block");
    // Sections come first in the file; a flipped byte in the first one fails its CRC but
    // leaves the footer and index intact.
    let mut bytes = fs::read(&block).expect("read");
    bytes[10] ^= 0xff;
    fs::write(&block, bytes).expect("write");
    let s = open(dir.path(), Config::default());
    let _ = s.query(&query("*", 0, T0 + 86_400 * SEC));
    let _ = s.query(&query("*", 0, T0 + 86_400 * SEC));
    let report = s.maintain(NOW).expect("maintain");
    let name = block
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    assert_eq!(report.corrupt.len(), 1, "{:?}", report.corrupt);
    assert!(report.corrupt[0].contains(&name), "{:?}", report.corrupt);
    assert!(
        s.maintain(NOW).expect("maintain").corrupt.is_empty(),
        "reported once"
    );
}
