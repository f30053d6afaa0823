//! Reads: `LogReader` for `LogStore`. A query takes a snapshot (block list, frozen head, the
//! matching head records), then reads only the sections whose component lies in the pattern's
//! subtree and whose time bounds meet the range, in time order, stopping once the page is
//! full and no unread section can hold an earlier (or, descending, later) match. Filters run
//! on decoded columns before a record is built. Components and histograms come from the
//! block indexes where they suffice.

use std::collections::BTreeMap;
use std::sync::Arc;

use lookout_core::{
    ComponentNode, Glob, HistogramBucket, LogOrder, LogPage, LogQuery, LogReader, LogRecord,
    LogSubscription, ScanStats,
};

use crate::block::{Block, Need, SectionMeta};
use crate::error::{Error, Result};
use crate::rows::Rows;
use crate::store::LogStore;

const NANOS_PER_SEC: i64 = 1_000_000_000;

/// Head records of one component that a query reads: a shared sealed chunk, or a copy of the
/// open chunk's rows in range.
type HeadChunk = (String, Arc<Rows>);

/// 32 lowercase hex digits, the timestamp's bits then the sequence: the same cursor as
/// `MemLogStore`, so a client cannot tell the stores apart.
fn format_cursor((ts, seq): (i64, u64)) -> String {
    format!("{:016x}{:016x}", ts as u64, seq)
}

fn parse_cursor(text: &str) -> Result<(i64, u64)> {
    let bad = || Error::InvalidCursor(text.to_string());
    if text.len() != 32 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad());
    }
    let ts = u64::from_str_radix(&text[..16], 16).map_err(|_| bad())?;
    let seq = u64::from_str_radix(&text[16..], 16).map_err(|_| bad())?;
    Ok((ts as i64, seq))
}

/// The query's filters other than component and time, compiled once.
struct Filter<'a> {
    q: &'a LogQuery,
    finder: Option<memchr::memmem::Finder<'a>>,
    after: Option<(i64, u64)>,
}

impl Filter<'_> {
    fn key_ok(&self, key: (i64, u64)) -> bool {
        if key.0 < self.q.from_ns || key.0 >= self.q.until_ns {
            return false;
        }
        match (self.after, self.q.order) {
            (Some(c), LogOrder::Asc) => key > c,
            (Some(c), LogOrder::Desc) => key < c,
            (None, _) => true,
        }
    }

    /// Row `i` passes the filters other than component and time; the cheap ones first.
    fn rest_ok(&self, rows: &Rows, i: usize) -> bool {
        let q = self.q;
        q.max_severity
            .is_none_or(|m| rows.severity[i] <= m.number())
            && self
                .finder
                .as_ref()
                .is_none_or(|f| f.find(rows.message(i)).is_some())
            && q.host.as_ref().is_none_or(|h| h.matches(rows.host(i)))
            && q.regex
                .as_ref()
                .is_none_or(|re| re.is_match(&String::from_utf8_lossy(rows.message(i))))
            && q.fields.iter().all(|(k, v)| rows.has_field(i, k, v))
    }
}

/// Matching records, kept sorted in page order and cut to `limit + 1` (the extra one tells
/// whether there is a next page).
struct Page {
    hits: Vec<((i64, u64), LogRecord)>,
    keep: usize,
    desc: bool,
}

impl Page {
    fn push(&mut self, key: (i64, u64), rec: LogRecord) {
        self.hits.push((key, rec));
    }

    fn trim(&mut self) {
        if self.desc {
            self.hits.sort_by_key(|h| std::cmp::Reverse(h.0));
        } else {
            self.hits.sort_by_key(|h| h.0);
        }
        self.hits.truncate(self.keep);
    }

    /// The timestamp a record must beat to enter a full page; only meaningful right after
    /// `trim`, while `hits` is sorted.
    fn bound(&self) -> Option<i64> {
        (self.hits.len() >= self.keep).then(|| self.hits[self.keep - 1].0 .0)
    }
}

impl LogStore {
    fn run_query(&self, q: &LogQuery) -> Result<LogPage> {
        let after = q.cursor.as_deref().map(parse_cursor).transpose()?;
        let filter = Filter {
            q,
            finder: q
                .contains
                .as_deref()
                .map(|s| memchr::memmem::Finder::new(s.as_bytes())),
            after,
        };
        let mut page = Page {
            hits: Vec::new(),
            keep: q.limit.saturating_add(1),
            desc: q.order == LogOrder::Desc,
        };
        let mut stats = ScanStats::default();
        if q.limit == 0 || q.from_ns >= q.until_ns {
            return Ok(LogPage::default());
        }
        let (blocks, head) = self.snapshot(&q.component, q.from_ns, q.until_ns);
        if !head.is_empty() {
            stats.blocks_read += 1;
        }
        for (component, rows) in &head {
            collect(rows, component, &filter, &mut page);
            page.trim();
        }
        let mut candidates: Vec<(&Arc<Block>, &SectionMeta)> = blocks
            .iter()
            .filter(|b| b.max_ts >= q.from_ns && b.min_ts < q.until_ns)
            .flat_map(|b| b.sections.iter().map(move |s| (b, s)))
            .filter(|(_, s)| {
                s.max_ts >= q.from_ns
                    && s.min_ts < q.until_ns
                    && q.component.matches_prefix_of(&s.component)
            })
            .collect();
        if page.desc {
            candidates.sort_by_key(|(_, s)| std::cmp::Reverse(s.max_ts));
        } else {
            candidates.sort_by_key(|(_, s)| s.min_ts);
        }
        let mut last_block: Option<*const Block> = None;
        for (block, section) in candidates {
            if let Some(bound) = page.bound() {
                let beyond = if page.desc {
                    section.max_ts < bound
                } else {
                    section.min_ts > bound
                };
                if beyond {
                    break;
                }
            }
            let rows = match block.read_section(section, Need::Records) {
                Ok(rows) => rows,
                Err(e @ Error::Corrupt { .. }) => {
                    self.note_corrupt_section(&e);
                    continue;
                }
                Err(e) => return Err(e),
            };
            if last_block != Some(Arc::as_ptr(block)) {
                stats.blocks_read += 1;
                last_block = Some(Arc::as_ptr(block));
            }
            stats.bytes_scanned += section_len(section);
            collect(&rows, &section.component, &filter, &mut page);
            page.trim();
        }
        let more = page.hits.len() > q.limit;
        page.hits.truncate(q.limit);
        let next_cursor = if more {
            page.hits.last().map(|(k, _)| format_cursor(*k))
        } else {
            None
        };
        Ok(LogPage {
            records: page.hits.into_iter().map(|(_, r)| r).collect(),
            next_cursor,
            stats,
        })
    }

    /// The block list and the head records of `pattern`'s subtree in `[from, until)`, taken
    /// under the state lock so that a flush moving records from head to blocks is seen either
    /// wholly before or wholly after.
    fn snapshot(
        &self,
        pattern: &Glob,
        from: i64,
        until: i64,
    ) -> (Arc<Vec<Arc<Block>>>, Vec<HeadChunk>) {
        let st = self.read_state();
        let mut head = Vec::new();
        st.head.select(pattern, from, until, &mut head);
        if let Some(f) = &st.frozen {
            f.select(pattern, from, until, &mut head);
        }
        (st.blocks.clone(), head)
    }

    fn run_histogram(
        &self,
        component: &Glob,
        from: i64,
        until: i64,
        step_secs: i64,
    ) -> Result<Vec<HistogramBucket>> {
        if step_secs <= 0 {
            return Err(Error::InvalidQuery(format!(
                "histogram step must be positive, got {step_secs}"
            )));
        }
        let step = step_secs.saturating_mul(NANOS_PER_SEC);
        let mut buckets = Buckets::new(from, until, step);
        let (blocks, head) = self.snapshot(component, from, until);
        for (_, rows) in &head {
            for i in 0..rows.len() {
                buckets.add(rows.ts[i], rows.severity[i], 1);
            }
        }
        for b in blocks
            .iter()
            .filter(|b| b.max_ts >= from && b.min_ts < until)
        {
            for s in b.sections.iter().filter(|s| {
                s.max_ts >= from && s.min_ts < until && component.matches_prefix_of(&s.component)
            }) {
                // A section inside one bucket is answered from its index counts alone.
                if buckets.one_bucket(s.min_ts, s.max_ts) {
                    for (sev, n) in s.severity_counts.iter().enumerate() {
                        if *n > 0 {
                            buckets.add(s.min_ts, sev as u8, *n);
                        }
                    }
                    continue;
                }
                match b.read_section(s, Need::Counts) {
                    Ok(rows) => buckets.add_sorted(&rows),
                    Err(e @ Error::Corrupt { .. }) => self.note_corrupt_section(&e),
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(buckets.into_histogram())
    }

    fn run_components(&self, pattern: &Glob) -> Vec<ComponentNode> {
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        {
            let st = self.read_state();
            for (c, n) in st.head.counts() {
                *counts.entry(c.to_string()).or_default() += n;
            }
            if let Some(f) = &st.frozen {
                for (c, n) in f.counts() {
                    *counts.entry(c.to_string()).or_default() += n;
                }
            }
            for s in st.blocks.iter().flat_map(|b| b.sections.iter()) {
                *counts.entry(s.component.clone()).or_default() += s.count;
            }
        }
        ComponentNode::tree(pattern, counts.iter().map(|(c, n)| (c.as_str(), *n)))
    }
}

/// A histogram's counts while it is being filled: bucket `k` covers
/// `[from + k·step, from + (k+1)·step)`. Dense (a slot per bucket) when the range has at most
/// [`DENSE_BUCKETS`] of them, which the HTTP API's cap guarantees; a map otherwise, so a
/// library caller's huge range with a tiny step cannot allocate a slot per step.
struct Buckets {
    from: i64,
    until: i64,
    step: i64,
    dense: Vec<[u64; 8]>,
    sparse: BTreeMap<i64, [u64; 8]>,
}

/// Most buckets kept in a vector (8 counters each: 8 MiB at most).
const DENSE_BUCKETS: i128 = 131_072;

impl Buckets {
    fn new(from: i64, until: i64, step: i64) -> Buckets {
        let n = (i128::from(until) - i128::from(from)).max(0) / i128::from(step) + 1;
        let dense = if n <= DENSE_BUCKETS {
            vec![[0; 8]; n as usize]
        } else {
            Vec::new()
        };
        Buckets {
            from,
            until,
            step,
            dense,
            sparse: BTreeMap::new(),
        }
    }

    /// The bucket of `ts`, which lies in `[from, until)`.
    fn index(&self, ts: i64) -> i128 {
        (i128::from(ts) - i128::from(self.from)) / i128::from(self.step)
    }

    /// Whether every time in `[min, max]` lies in the range and in one bucket.
    fn one_bucket(&self, min: i64, max: i64) -> bool {
        min >= self.from && max < self.until && self.index(min) == self.index(max)
    }

    fn add(&mut self, ts: i64, sev: u8, n: u64) {
        if ts < self.from || ts >= self.until {
            return;
        }
        let k = self.index(ts);
        let sev = usize::from(sev & 7);
        if self.dense.is_empty() {
            let start = (i128::from(self.from) + k * i128::from(self.step)) as i64;
            self.sparse.entry(start).or_insert([0; 8])[sev] += n;
        } else {
            self.dense[k as usize][sev] += n;
        }
    }

    /// Adds rows sorted by time (a block section): walks the bucket edges instead of
    /// dividing per row.
    fn add_sorted(&mut self, rows: &Rows) {
        let mut i = rows.ts.partition_point(|&ts| ts < self.from);
        if self.dense.is_empty() {
            while i < rows.len() && rows.ts[i] < self.until {
                self.add(rows.ts[i], rows.severity[i], 1);
                i += 1;
            }
            return;
        }
        while i < rows.len() && rows.ts[i] < self.until {
            let k = self.index(rows.ts[i]);
            // The bucket's end, clamped to the range (the last bucket may be partial).
            let end = (i128::from(self.from) + (k + 1) * i128::from(self.step))
                .min(i128::from(self.until)) as i64;
            let counts = &mut self.dense[k as usize];
            while i < rows.len() && rows.ts[i] < end {
                counts[usize::from(rows.severity[i] & 7)] += 1;
                i += 1;
            }
        }
    }

    /// The non-empty buckets in time order, starts in seconds.
    fn into_histogram(self) -> Vec<HistogramBucket> {
        let to_bucket = |(start, counts): (i64, [u64; 8])| HistogramBucket {
            start: start.div_euclid(NANOS_PER_SEC),
            counts,
        };
        if self.dense.is_empty() {
            return self.sparse.into_iter().map(to_bucket).collect();
        }
        let (from, step) = (self.from, self.step);
        self.dense
            .into_iter()
            .enumerate()
            .filter(|(_, c)| c.iter().any(|n| *n > 0))
            .map(|(k, c)| to_bucket((from + k as i64 * step, c)))
            .collect()
    }
}

fn section_len(s: &SectionMeta) -> u64 {
    s.byte_len()
}

/// Adds the section's matching rows to `page`. Rows past the page's bound as it stood before
/// this section (the page is sorted then) cannot make the page and are not built.
fn collect(rows: &Rows, component: &str, filter: &Filter<'_>, page: &mut Page) {
    let bound = page.bound();
    for i in 0..rows.len() {
        let key = (rows.ts[i], rows.seq(i));
        if !filter.key_ok(key) {
            continue;
        }
        if let Some(bound) = bound {
            if (page.desc && key.0 < bound) || (!page.desc && key.0 > bound) {
                continue;
            }
        }
        if filter.rest_ok(rows, i) {
            page.push(key, rows.record(i, component));
        }
    }
}

impl LogReader for LogStore {
    fn query(&self, q: &LogQuery) -> lookout_core::Result<LogPage> {
        Ok(self.run_query(q)?)
    }

    fn components(&self, pattern: &Glob) -> lookout_core::Result<Vec<ComponentNode>> {
        Ok(self.run_components(pattern))
    }

    fn histogram(
        &self,
        component: &Glob,
        from_ns: i64,
        until_ns: i64,
        step_secs: i64,
    ) -> lookout_core::Result<Vec<HistogramBucket>> {
        Ok(self.run_histogram(component, from_ns, until_ns, step_secs)?)
    }

    fn subscribe(&self, capacity: usize) -> Box<dyn LogSubscription> {
        self.subscribers.subscribe(capacity)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(text: &str, expected: Option<(i64, u64)>) {
        assert_eq!(parse_cursor(text).ok(), expected, "{text:?}");
    }

    /// The walk over sorted rows, the per-row path and the sparse map agree, edges included:
    /// rows before `from`, at bucket starts, in a partial last bucket and at `until`.
    #[test]
    fn bucket_walk_matches_per_row_counting() {
        let (from, until, step) = (1_000, 1_950, 100);
        let mut rows = Rows::default();
        let mut hosts = crate::rows::HostIds::default();
        let mut t = 900i64;
        let mut source = Rows::default();
        while t <= 2_000 {
            source.ts.push(t);
            source.seq.push(t as u64);
            source.severity.push((t % 8) as u8);
            source.facility.push(0);
            source.host_idx.push(0);
            source.message_ends.push(0);
            source.field_ends.push(0);
            t += if t % 3 == 0 { 50 } else { 7 };
        }
        source.hosts.push("h".into());
        for i in 0..source.len() {
            rows.push_row(&source, i, &mut hosts);
        }
        let mut walked = Buckets::new(from, until, step);
        walked.add_sorted(&rows);
        let mut per_row = Buckets::new(from, until, step);
        let mut sparse = Buckets::new(from, until, step);
        sparse.dense = Vec::new();
        for i in 0..rows.len() {
            per_row.add(rows.ts[i], rows.severity[i], 1);
            sparse.add(rows.ts[i], rows.severity[i], 1);
        }
        let want = format!("{:?}", sparse.into_histogram());
        assert_eq!(format!("{:?}", walked.into_histogram()), want);
        assert_eq!(format!("{:?}", per_row.into_histogram()), want);
        let inside = rows
            .ts
            .iter()
            .filter(|&&t| (from..until).contains(&t))
            .count();
        assert!(
            inside > 20 && inside < rows.len(),
            "{inside} of {}",
            rows.len()
        );
    }

    #[test]
    fn cursors_round_trip_and_foreign_text_is_refused() {
        for key in [(0, 0), (-1, 7), (i64::MIN, u64::MAX)] {
            check(&format_cursor(key), Some(key));
        }
        check("", None);
        check("zz", None);
        check(&"g".repeat(32), None);
    }
}
