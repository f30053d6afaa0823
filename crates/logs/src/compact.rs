//! Compaction: merging the blocks of a closed time partition into one, so a quiet server does
//! not keep one open file (and one in-memory index) per partition per flush for the whole
//! retention. It owns which blocks a merge takes, the merged block's rows, and the swap of the
//! block list; block encoding is `block.rs`, and when it runs (`maintain`, under the flush
//! lock, one partition per call) is `store.rs`.
//!
//! Crash safety: the merged block takes the file name (and so the flush id) of the newest
//! block it replaces, written atomically over it, and records in its index the oldest flush id
//! it replaces. Open deletes every block of the same partition whose flush id lies in that
//! range, so after a crash at any point either the sources or the merged block are visible,
//! never both and never neither. Records keep their (time, sequence) keys, so query answers
//! and paging cursors are the same before and after a merge; a query that snapshotted the
//! sources keeps reading them through their open file handles.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashSet};
use std::fs;
use std::sync::Arc;

use crate::block::{write_block_with, Block, Need, SectionMeta, MAX_SECTION_ROWS};
use crate::error::{Error, Result};
use crate::filenames::{block_file_name, BLOCKS_DIR};
use crate::rows::{HostIds, Rows};
use crate::store::LogStore;

/// Most bytes of source blocks one merge reads. Memory does not depend on it (the merge
/// streams), but a merge holds the flush lock, and 16 MiB of sources decode and re-encode in
/// well under a second. The partitions this is for (a quiet server's ~6 small blocks an hour)
/// are far below it; blocks a busy server flushes at the head budget are few per hour anyway.
pub(crate) const MERGE_MAX_BYTES: u64 = 16 << 20;

/// Seconds after a partition's end plus one flush interval before it counts as closed: late
/// records (a relay's buffer, a GELF retry) still reach the head then, and each would make a
/// new block that the next merge has to take again.
pub(crate) const MERGE_GRACE_SECS: i64 = 300;

/// Chooses the blocks of one merge: consecutive (by flush id) blocks of the oldest closed
/// partition with at least two of them that fit [`MERGE_MAX_BYTES`]. `blocks` is the store's
/// list; `skip` holds partitions whose merge found damage.
pub(crate) fn pick_merge(
    blocks: &[Arc<Block>],
    partition_secs: i64,
    flush_interval_secs: i64,
    now: i64,
    skip: &HashSet<i64>,
) -> Option<Vec<Arc<Block>>> {
    let closed_before = now
        .saturating_sub(flush_interval_secs)
        .saturating_sub(MERGE_GRACE_SECS);
    let mut parts: BTreeMap<i64, Vec<&Arc<Block>>> = BTreeMap::new();
    for b in blocks {
        parts.entry(b.partition_start).or_default().push(b);
    }
    for (p, mut members) in parts {
        if members.len() < 2
            || p.saturating_add(partition_secs) > closed_before
            || skip.contains(&p)
        {
            continue;
        }
        members.sort_by_key(|b| b.flush_id);
        let mut i = 0;
        while i + 1 < members.len() {
            let (mut j, mut total) = (i, 0u64);
            while j < members.len() && total + members[j].file_len <= MERGE_MAX_BYTES {
                total += members[j].file_len;
                j += 1;
            }
            if j - i >= 2 {
                return Some(members[i..j].iter().map(|b| Arc::clone(b)).collect());
            }
            i += 1;
        }
    }
    None
}

impl LogStore {
    /// Merges the blocks [`pick_merge`] chooses, if any: writes the merged block, swaps it
    /// into the block list, deletes the sources. Returns how many blocks it replaced. A
    /// damaged section in a source stops the merge (its records stay served from the sources)
    /// and marks the partition in `skip` so it is not read again every call.
    pub(crate) fn compact_step(&self, now: i64, skip: &mut HashSet<i64>) -> Result<u64> {
        let blocks = self.read_state().blocks.clone();
        let Some(sources) = pick_merge(
            &blocks,
            self.config.partition_secs,
            self.config.flush_interval_secs,
            now,
            skip,
        ) else {
            return Ok(0);
        };
        let merged = match self.write_merged(&sources) {
            Ok(b) => b,
            Err(e @ Error::Corrupt { .. }) => {
                self.note_corrupt_section(&e);
                skip.insert(sources[0].partition_start);
                return Ok(0);
            }
            Err(e) => return Err(e),
        };
        self.install_merged(&sources, merged)?;
        Ok(sources.len() as u64)
    }

    /// Writes the merged block of `sources` (blocks of one partition, consecutive by flush id)
    /// over the newest of them. Until [`LogStore::install_merged`] runs, the store still
    /// serves the sources; a crash now is repaired at open.
    pub(crate) fn write_merged(&self, sources: &[Arc<Block>]) -> Result<Block> {
        let newest = sources
            .iter()
            .max_by_key(|b| b.flush_id)
            .ok_or_else(|| Error::InvalidQuery("merge of no blocks".into()))?;
        let replaces_from = sources
            .iter()
            .map(|b| b.replaces_from.unwrap_or(b.flush_id))
            .min()
            .unwrap_or(newest.flush_id);
        let flush_lsn = sources.iter().map(|b| b.flush_lsn).max().unwrap_or(0);
        let mut by_component: BTreeMap<&str, Vec<(&Block, &SectionMeta)>> = BTreeMap::new();
        for b in sources {
            for s in &b.sections {
                by_component
                    .entry(s.component.as_str())
                    .or_default()
                    .push((b, s));
            }
        }
        let path = self
            .dir()
            .join(BLOCKS_DIR)
            .join(block_file_name(newest.partition_start, newest.flush_id));
        write_block_with(
            &path,
            newest.partition_start,
            flush_lsn,
            self.config.zstd_level,
            Some(replaces_from),
            |w| {
                for (component, runs) in by_component {
                    merge_component(runs, |rows| w.push(component, rows))?;
                }
                Ok(())
            },
        )
    }

    /// Puts `merged` in the block list in place of `sources`, then deletes the sources'
    /// files (all but the one `merged` was written over). Queries that took the old list
    /// keep reading the sources through their open handles.
    pub(crate) fn install_merged(&self, sources: &[Arc<Block>], merged: Block) -> Result<()> {
        let merged_path = merged.path.clone();
        self.replace_blocks(|blocks| {
            blocks.retain(|b| !sources.iter().any(|s| Arc::ptr_eq(s, b)));
            blocks.push(Arc::new(merged));
        });
        self.metrics.compactions.inc();
        for s in sources.iter().filter(|s| s.path != merged_path) {
            match fs::remove_file(&s.path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(&s.path, e)),
            }
        }
        lookout_disk::fsync_dir(&self.dir().join(BLOCKS_DIR))?;
        Ok(())
    }
}

/// Merges one component's source sections (each in (time, sequence) order, as sections
/// are) into one (time, sequence) order and hands it to `emit` in sections of at most
/// [`MAX_SECTION_ROWS`]. Returns the most source sections it held decoded at once.
///
/// Streaming: a source section is decoded only when the merge reaches its first time, and
/// dropped when it is used up, so the merge holds the sections that overlap in time (about
/// one per source block, since a block's sections of a component follow each other) and one
/// output section, whatever the partition's size.
fn merge_component(
    mut runs: Vec<(&Block, &SectionMeta)>,
    mut emit: impl FnMut(&Rows) -> Result<()>,
) -> Result<usize> {
    // Waiting sections, latest first, so the next to open is popped off the end.
    runs.sort_by_key(|(_, m)| std::cmp::Reverse(m.min_ts));
    let mut open: Vec<(Rows, usize)> = Vec::new();
    // The next row of every open section: (time, sequence, index into `open`).
    let mut heap: BinaryHeap<Reverse<(i64, u64, usize)>> = BinaryHeap::new();
    let mut free: Vec<usize> = Vec::new();
    let mut out = Rows::default();
    let mut hosts = HostIds::default();
    let mut peak = 0;
    loop {
        // Open every waiting section that could hold the next row: all its rows are at or
        // after its min_ts, so one starting after the heap's least time can wait.
        while let Some(&(b, m)) = runs.last() {
            let next_ts = heap.peek().map(|Reverse((ts, _, _))| *ts);
            if next_ts.is_some_and(|ts| m.min_ts > ts) {
                break;
            }
            runs.pop();
            let rows = b.read_section(m, Need::Records)?;
            if rows.is_empty() {
                continue;
            }
            let key = (rows.ts[0], rows.seq[0]);
            let slot = match free.pop() {
                Some(slot) => {
                    open[slot] = (rows, 0);
                    slot
                }
                None => {
                    open.push((rows, 0));
                    open.len() - 1
                }
            };
            heap.push(Reverse((key.0, key.1, slot)));
            peak = peak.max(open.len() - free.len());
        }
        let Some(Reverse((_, _, slot))) = heap.pop() else {
            break;
        };
        let (rows, i) = &mut open[slot];
        out.push_row(rows, *i, &mut hosts);
        *i += 1;
        if *i < rows.len() {
            heap.push(Reverse((rows.ts[*i], rows.seq[*i], slot)));
        } else {
            *rows = Rows::default();
            free.push(slot);
        }
        if out.len() == MAX_SECTION_ROWS {
            emit(&out)?;
            out = Rows::default();
            hosts.clear();
        }
    }
    if !out.is_empty() {
        emit(&out)?;
    }
    Ok(peak)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use lookout_core::selfmon::Registry;
    use lookout_core::{Durability, Glob, LogOrder, LogQuery, LogReader, LogRecord, Severity};

    const SEC: i64 = 1_000_000_000;
    const HOUR: i64 = 3600;
    /// An hour boundary: records go into the two partitions from here.
    const BASE: i64 = 1_800_000_000 - 1_800_000_000 % HOUR;
    /// Long after both partitions closed, well inside the retention.
    const LATER: i64 = BASE + 4 * HOUR;

    fn open(dir: &std::path::Path) -> LogStore {
        LogStore::open(dir, Config::default(), &Registry::new(), BASE).expect("open")
    }

    /// Four flushes of records in two partitions and three components, out of order within
    /// each batch and across flushes, one component busy enough to span several sections.
    fn fill(s: &LogStore) {
        for flush in 0..4i64 {
            let mut batch = Vec::new();
            for i in 0..1500i64 {
                let secs = (i * 7919 + flush * 31) % (2 * HOUR);
                let component = ["web", "web.api", "db"][(i % 3) as usize];
                let component = if i % 2 == 0 { "web.api" } else { component };
                batch.push(LogRecord {
                    ts_ns: (BASE + secs) * SEC + i % 3,
                    component: component.into(),
                    host: format!("h{}", i % 4),
                    severity: Severity::from_number((i % 8) as u8).expect("0..8"),
                    facility: if i % 5 == 0 { None } else { Some(3) },
                    message: format!("flush {flush} line {i}").into_bytes(),
                    fields: vec![("i".into(), i.to_string())],
                });
            }
            s.append_records(&batch, Durability::Buffered)
                .expect("append");
            s.flush(BASE).expect("flush");
        }
    }

    fn query(pattern: &str, order: LogOrder, limit: usize) -> LogQuery {
        LogQuery {
            component: Glob::new(pattern).expect("glob"),
            from_ns: BASE * SEC,
            until_ns: (BASE + 2 * HOUR) * SEC,
            max_severity: None,
            host: None,
            contains: None,
            regex: None,
            fields: Vec::new(),
            limit,
            order,
            cursor: None,
        }
    }

    fn all_pages(s: &LogStore, mut q: LogQuery) -> Vec<LogRecord> {
        let mut out = Vec::new();
        loop {
            let page = s.query(&q).expect("query");
            out.extend(page.records);
            match page.next_cursor {
                Some(c) => q.cursor = Some(c),
                None => return out,
            }
        }
    }

    /// Everything a reader can see: every query shape, the component tree, histograms.
    fn answers(s: &LogStore) -> Vec<String> {
        let mut out = Vec::new();
        for pattern in ["*", "web", "web.api", "db"] {
            for order in [LogOrder::Asc, LogOrder::Desc] {
                out.push(format!("{:?}", all_pages(s, query(pattern, order, 700))));
            }
            let glob = Glob::new(pattern).expect("glob");
            let h = s.histogram(&glob, BASE * SEC, (BASE + 2 * HOUR) * SEC, 600);
            out.push(format!("{:?}", h.expect("histogram")));
        }
        let tree = s.components(&Glob::new("*").expect("glob"));
        out.push(format!("{:?}", tree.expect("tree")));
        out
    }

    fn block_files(s: &LogStore) -> usize {
        fs::read_dir(s.dir().join(BLOCKS_DIR))
            .expect("read_dir")
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".blk"))
            .count()
    }

    #[test]
    fn merging_a_partitions_blocks_keeps_every_answer() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = open(dir.path());
        fill(&s);
        assert_eq!(s.stats().blocks, 8);
        let before = answers(&s);
        let r1 = s.maintain(LATER).expect("maintain");
        assert_eq!(r1.merged_blocks, 4, "one partition per call");
        assert_eq!(s.stats().blocks, 5);
        assert_eq!(s.maintain(LATER).expect("maintain").merged_blocks, 4);
        assert_eq!(s.maintain(LATER).expect("maintain").merged_blocks, 0);
        assert_eq!((s.stats().blocks, block_files(&s)), (2, 2));
        assert_eq!(s.metrics.compactions.get(), 2);
        assert_eq!(s.metrics.blocks.get(), 2);
        assert_eq!(s.stats().block_records, 6000);
        for b in s.read_state().blocks.iter() {
            assert!(b
                .sections
                .iter()
                .all(|m| m.count as usize <= MAX_SECTION_ROWS));
            // The footer's body CRC, built section by section while writing, is the body's.
            let file = fs::File::open(&b.path).expect("open");
            let footer = lookout_disk::read_footer(
                &file,
                &b.path,
                crate::block::BLOCK_MAGIC,
                crate::block::BLOCK_VERSION..=crate::block::BLOCK_VERSION,
            )
            .expect("footer");
            lookout_disk::verify_body(&file, &b.path, &footer).expect("body CRC");
        }
        assert!(answers(&s) == before, "answers changed by the merge");
        drop(s);
        let s = open(dir.path());
        assert_eq!(s.open_report().merged_sources_removed, 0);
        assert!(answers(&s) == before, "answers changed by reopening");
    }

    #[test]
    fn a_late_block_is_merged_with_the_merged_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = open(dir.path());
        fill(&s);
        while s.maintain(LATER).expect("maintain").merged_blocks > 0 {}
        let late = LogRecord {
            ts_ns: (BASE + 10) * SEC,
            component: "web".into(),
            host: "late".into(),
            severity: Severity::Error,
            facility: None,
            message: b"late".to_vec(),
            fields: Vec::new(),
        };
        s.append_records(&[late], Durability::Buffered)
            .expect("append");
        s.flush(LATER).expect("flush");
        assert_eq!(s.stats().blocks, 3);
        let before = answers(&s);
        assert_eq!(s.maintain(LATER).expect("maintain").merged_blocks, 2);
        assert_eq!(s.stats().blocks, 2);
        assert!(answers(&s) == before);
        drop(s);
        let s = open(dir.path());
        assert!(
            answers(&s) == before,
            "the re-merged block replaces all four flushes"
        );
    }

    #[test]
    fn cursors_taken_before_a_merge_continue_after_it() {
        for order in [LogOrder::Asc, LogOrder::Desc] {
            let dir = tempfile::tempdir().expect("tempdir");
            let s = open(dir.path());
            fill(&s);
            let want = all_pages(&s, query("*", order, 100_000));
            let first = s.query(&query("*", order, 999)).expect("query");
            let mut got = first.records;
            assert_eq!(
                s.maintain(LATER).expect("maintain").merged_blocks
                    + s.maintain(LATER).expect("maintain").merged_blocks,
                8
            );
            let mut q = query("*", order, 999);
            q.cursor = first.next_cursor;
            got.extend(all_pages(&s, q));
            assert!(got == want, "pages across a merge differ ({order:?})");
        }
    }

    #[test]
    fn a_query_holding_the_sources_reads_them_after_the_merge() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = open(dir.path());
        fill(&s);
        let want = all_pages(&s, query("*", LogOrder::Asc, 100_000));
        let held = s.read_state().blocks.clone();
        while s.maintain(LATER).expect("maintain").merged_blocks > 0 {}
        let mut n = 0;
        for b in held.iter() {
            for m in &b.sections {
                n += b.read_section(m, Need::Records).expect("section").len();
            }
        }
        assert_eq!(n, want.len());
    }

    #[test]
    fn a_merge_holds_one_decoded_section_per_source_block() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = open(dir.path());
        let per_flush = 5 * MAX_SECTION_ROWS as i64;
        for flush in 0..4i64 {
            let batch: Vec<LogRecord> = (0..per_flush)
                .map(|i| LogRecord {
                    ts_ns: BASE * SEC + (i * 4 + flush) * (HOUR * SEC / per_flush / 4),
                    component: "web".into(),
                    host: format!("h{}", i % 3),
                    severity: Severity::Info,
                    facility: None,
                    message: format!("flush {flush} line {i}").into_bytes(),
                    fields: Vec::new(),
                })
                .collect();
            s.append_records(&batch, Durability::Buffered)
                .expect("append");
            s.flush(BASE).expect("flush");
        }
        let blocks = s.read_state().blocks.clone();
        let sources = pick_merge(&blocks, 3600, 600, LATER, &HashSet::new()).expect("a merge");
        let runs: Vec<(&Block, &SectionMeta)> = sources
            .iter()
            .flat_map(|b| b.sections.iter().map(move |m| (b.as_ref(), m)))
            .collect();
        assert_eq!(runs.len(), 20, "five sections in each of four blocks");
        let (mut sections, mut rows, mut last) = (0, 0, (i64::MIN, 0u64));
        let peak = merge_component(runs, |out| {
            sections += 1;
            rows += out.len();
            for i in 0..out.len() {
                let key = (out.ts[i], out.seq[i]);
                assert!(key > last, "merged rows out of order");
                last = key;
            }
            Ok(())
        })
        .expect("merge");
        assert_eq!((sections, rows), (20, 4 * per_flush as usize));
        assert!(
            peak <= 4,
            "held {peak} decoded sections, want one per source block"
        );
    }

    #[test]
    fn a_crash_between_writing_the_merge_and_deleting_its_sources_shows_each_record_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = open(dir.path());
        fill(&s);
        let before = answers(&s);
        let blocks = s.read_state().blocks.clone();
        let sources = pick_merge(&blocks, 3600, 600, LATER, &HashSet::new()).expect("a merge");
        assert_eq!(sources.len(), 4);
        s.write_merged(&sources).expect("write");
        assert_eq!(block_files(&s), 8, "written over the newest source");
        drop(s);
        let s = open(dir.path());
        assert_eq!(s.open_report().merged_sources_removed, 3);
        assert_eq!((s.stats().blocks, block_files(&s)), (5, 5));
        assert!(answers(&s) == before, "a record lost or doubled");
    }

    #[test]
    fn open_and_recent_partitions_are_not_merged() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = open(dir.path());
        fill(&s);
        let blocks = s.read_state().blocks.clone();
        let none = HashSet::new();
        // The second partition ends at BASE + 2h: closed once a flush interval and the grace
        // have passed after that.
        let closed = BASE + 2 * HOUR + 600 + MERGE_GRACE_SECS;
        let pick = |now| pick_merge(&blocks, 3600, 600, now, &none).map(|v| v[0].partition_start);
        assert_eq!(pick(BASE + HOUR), None);
        assert_eq!(pick(closed - 1), Some(BASE));
        assert_eq!(pick(closed), Some(BASE));
        let skip: HashSet<i64> = [BASE].into();
        let skipping =
            |now| pick_merge(&blocks, 3600, 600, now, &skip).map(|v| v[0].partition_start);
        assert_eq!(skipping(closed - 1), None);
        assert_eq!(skipping(closed), Some(BASE + HOUR));
    }

    #[test]
    fn merged_blocks_are_dropped_by_retention() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = open(dir.path());
        fill(&s);
        while s.maintain(LATER).expect("maintain").merged_blocks > 0 {}
        let cutoff = BASE + HOUR + Config::default().retention_secs;
        let r = s.maintain(cutoff).expect("maintain");
        assert_eq!((r.dropped_by_age, s.stats().blocks), (1, 1));
        assert_eq!(block_files(&s), 1);
    }
}
