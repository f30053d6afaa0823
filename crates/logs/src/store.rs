//! `LogStore`: the engine's state, its locks, and the write path (open with WAL replay,
//! append, sync, flush of the head into blocks, retention, close). Query execution is in
//! `scan.rs`; block encoding in `block.rs`.
//!
//! Locks: `ingest` serialises WAL append and head insert so that sequence order is WAL order;
//! `state` (a read-write lock held only for pointer copies and inserts) guards the head, the
//! frozen head and the block list; `flushing` serialises flushes and retention.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use lookout_core::limits::MAX_COMPONENT_NODES;
use lookout_core::selfmon::{Counter, Gauge, Registry};
use lookout_core::{Durability, LogAppender, LogRecord};
use lookout_disk::{DirLock, Wal, WalOptions};

use crate::batch::{decode_batch, encode_batch};
use crate::block::{write_block, Block};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::filenames::{
    block_file_name, parse_block_file_name, BLOCKS_DIR, CHECKPOINT_FILE, QUARANTINE_DIR, WAL_DIR,
};
use crate::head::{Frozen, Head};
use crate::rows::Rows;
use crate::tail::Subscribers;

/// Footer magic of the checkpoint file.
const CHECKPOINT_MAGIC: &[u8; 8] = b"LKLOGCKP";
const CHECKPOINT_VERSION: u32 = 1;
const NANOS_PER_SEC: i64 = 1_000_000_000;

/// The log engine. Open one per data directory; share it behind an `Arc`.
pub struct LogStore {
    dir: PathBuf,
    pub(crate) config: Config,
    _lock: DirLock,
    wal: Wal,
    ingest: Mutex<()>,
    pub(crate) state: RwLock<State>,
    flushing: Mutex<FlushState>,
    /// Set when the head reaches its budget; a background flusher waits on it.
    flush_wanted: (Mutex<bool>, Condvar),
    pub(crate) subscribers: Subscribers,
    pub(crate) metrics: Metrics,
    closed: AtomicBool,
    report: OpenReport,
    /// Block files in which reads found damaged sections: the ones reported already, and the
    /// messages the next `maintain` hands out.
    damage: Mutex<Damage>,
}

#[derive(Default)]
struct Damage {
    reported: std::collections::HashSet<PathBuf>,
    pending: Vec<String>,
}

/// Damage messages held for the next `maintain` at most: a disk gone bad must not grow memory.
const MAX_DAMAGE_MESSAGES: usize = 64;

pub(crate) struct State {
    pub(crate) head: Head,
    pub(crate) frozen: Option<Frozen>,
    /// Sorted by (partition start, flush lsn): oldest first, the order retention drops them.
    pub(crate) blocks: Arc<Vec<Arc<Block>>>,
    next_seq: u64,
}

struct FlushState {
    next_flush_id: u64,
    /// Partitions whose merge met a damaged section: not merged again by this process, so a
    /// bad disk area is not re-read every `maintain`.
    merge_skip: std::collections::HashSet<i64>,
    /// `now` at the first `maintain` that saw a non-empty head: the flush interval's start.
    head_since: Option<i64>,
}

pub(crate) struct Metrics {
    appended: Counter,
    pub(crate) sections_corrupt: Counter,
    blocks_corrupt: Counter,
    dropped_age: Counter,
    dropped_size: Counter,
    flushes: Counter,
    pub(crate) compactions: Counter,
    block_bytes: Gauge,
    /// Open block files: each holds a file descriptor and its index in memory.
    pub(crate) blocks: Gauge,
    /// Appends, syncs and flushes that failed on a full disk (retried once space frees)...
    write_errors_disk_full: Counter,
    /// ...and on any other I/O error.
    write_errors_io: Counter,
}

impl Metrics {
    fn new(r: &Registry) -> Metrics {
        let dropped = "Blocks deleted by retention.";
        let write_errors = |reason| {
            r.counter(
                "lookout_logs_write_errors_total",
                "Failed appends, syncs and flushes of the log store, by reason (disk_full: \
                 retried once space frees; io: see the server log).",
                &[("reason", reason)],
            )
        };
        Metrics {
            appended: r.counter(
                "lookout_logs_records_appended_total",
                "Log records accepted by the store.",
                &[],
            ),
            sections_corrupt: r.counter(
                "lookout_logs_sections_corrupt_total",
                "Block sections skipped by a read because their CRC or encoding was wrong.",
                &[],
            ),
            blocks_corrupt: r.counter(
                "lookout_logs_blocks_corrupt_total",
                "Block files quarantined at open because their footer or index was damaged.",
                &[],
            ),
            dropped_age: r.counter(
                "lookout_logs_blocks_dropped_total",
                dropped,
                &[("reason", "age")],
            ),
            dropped_size: r.counter(
                "lookout_logs_blocks_dropped_total",
                dropped,
                &[("reason", "size")],
            ),
            flushes: r.counter(
                "lookout_logs_flushes_total",
                "Head flushes into blocks.",
                &[],
            ),
            compactions: r.counter(
                "lookout_logs_compactions_total",
                "Merges of a closed partition's blocks into one.",
                &[],
            ),
            block_bytes: r.gauge("lookout_logs_block_bytes", "Bytes of block files.", &[]),
            blocks: r.gauge(
                "lookout_logs_blocks",
                "Block files open (one file descriptor and one in-memory index each).",
                &[],
            ),
            write_errors_disk_full: write_errors("disk_full"),
            write_errors_io: write_errors("io"),
        }
    }

    fn set_block_gauges(&self, blocks: &[Arc<Block>]) {
        self.block_bytes
            .set(blocks.iter().map(|b| b.file_len as i64).sum());
        self.blocks.set(blocks.len() as i64);
    }

    /// Counts `e` in `lookout_logs_write_errors_total` if it is a failed write (not a refused
    /// record or query).
    fn count_write_error(&self, e: &Error) {
        if e.is_disk_full() {
            self.write_errors_disk_full.inc();
        } else if matches!(e, Error::Io { .. } | Error::Disk(_)) {
            self.write_errors_io.inc();
        }
    }
}

/// What `open` found and repaired.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenReport {
    /// Blocks loaded.
    pub blocks: u64,
    /// Block files moved to `quarantine/` because their footer or index did not check out.
    pub quarantined: Vec<PathBuf>,
    /// Blocks of a flush that a crash interrupted, deleted (their records were replayed).
    pub orphans_removed: u64,
    /// Blocks a merged block replaces, left behind by a crash during a merge and deleted.
    pub merged_sources_removed: u64,
    /// Records replayed from the WAL into the head.
    pub replayed: u64,
    /// Bytes of torn WAL tail cut off (a write a crash interrupted).
    pub wal_torn_bytes: u64,
}

/// What one `maintain` did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MaintainReport {
    /// Whether the head was flushed.
    pub flushed: bool,
    /// Damaged sections that reads skipped since the last `maintain`, one message per block
    /// file naming it (each file is reported once per process; every skip is counted in
    /// `lookout_logs_sections_corrupt_total`), for the caller to log.
    pub corrupt: Vec<String>,
    /// Blocks dropped for being older than the retention.
    pub dropped_by_age: u64,
    /// Blocks dropped to get under `max_bytes`.
    pub dropped_by_size: u64,
    /// Blocks merged into one by compaction (0: no merge this call).
    pub merged_blocks: u64,
}

/// Counts for tests and the status page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LogStoreStats {
    /// Records in the head (unflushed), the frozen head being flushed included.
    pub head_records: u64,
    /// Heap bytes of the head and the frozen head.
    pub head_bytes: u64,
    /// Block files.
    pub blocks: u64,
    /// Bytes of block files.
    pub block_bytes: u64,
    /// Records in blocks.
    pub block_records: u64,
    /// Bytes of WAL segments.
    pub wal_bytes: u64,
    /// Live tail subscribers.
    pub subscribers: u64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Poison means a panic elsewhere mid-update of plain counters; they stay usable.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl LogStore {
    /// Opens (creating if needed) the store in `dir`: locks the directory, loads blocks
    /// (quarantining damaged ones, deleting leftovers of an interrupted flush) and replays the
    /// WAL after the checkpoint into the head. A torn WAL tail is cut off and reported.
    pub fn open(dir: &Path, config: Config, registry: &Registry, now: i64) -> Result<LogStore> {
        config.validate()?;
        // Taken for symmetry with the metrics engine; retention waits for the first `maintain`
        // so that opening never deletes data.
        let _ = now;
        fs::create_dir_all(dir.join(BLOCKS_DIR)).map_err(|e| Error::io(dir, e))?;
        let dir_lock = lookout_disk::lock_dir(dir)?;
        let blocks_dir = dir.join(BLOCKS_DIR);
        lookout_disk::remove_temp_files(&blocks_dir)?;
        let metrics = Metrics::new(registry);
        let (checkpoint_lsn, mut next_seq, last_flush_id) = read_checkpoint(dir)?;
        let mut report = OpenReport::default();
        let mut blocks = Vec::new();
        let mut names: Vec<String> = fs::read_dir(&blocks_dir)
            .map_err(|e| Error::io(&blocks_dir, e))?
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| parse_block_file_name(n).is_some())
            .collect();
        names.sort();
        for name in names {
            let path = blocks_dir.join(&name);
            match Block::open(&path) {
                Ok(b) if b.flush_lsn > checkpoint_lsn => {
                    fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
                    report.orphans_removed += 1;
                }
                Ok(b) => blocks.push(Arc::new(b)),
                Err(Error::Disk(
                    lookout_disk::Error::Corrupt { .. }
                    | lookout_disk::Error::UnsupportedVersion { .. },
                ))
                | Err(Error::Corrupt { .. }) => {
                    let qdir = dir.join(QUARANTINE_DIR);
                    fs::create_dir_all(&qdir).map_err(|e| Error::io(&qdir, e))?;
                    let to = qdir.join(&name);
                    fs::rename(&path, &to).map_err(|e| Error::io(&path, e))?;
                    metrics.blocks_corrupt.inc();
                    report.quarantined.push(to);
                }
                Err(e) => return Err(e),
            }
        }
        report.merged_sources_removed = remove_merged_sources(&blocks_dir, &mut blocks)?;
        blocks.sort_by_key(|b| (b.partition_start, b.flush_lsn));
        report.blocks = blocks.len() as u64;
        let (wal, recovery) = Wal::open(&dir.join(WAL_DIR), WalOptions::default())?;
        report.wal_torn_bytes = recovery.torn_tail_bytes;
        let mut head = Head::default();
        let wal_dir = dir.join(WAL_DIR);
        wal.replay(checkpoint_lsn, |lsn, payload| {
            let (first, records) =
                decode_batch(payload).ok_or_else(|| lookout_disk::Error::Corrupt {
                    path: wal_dir.clone(),
                    offset: lsn,
                    reason: "log batch does not decode".into(),
                })?;
            for (i, rec) in records.iter().enumerate() {
                head.insert(first + i as u64, rec);
            }
            next_seq = next_seq.max(first + records.len() as u64);
            Ok(())
        })?;
        report.replayed = head.records;
        metrics.set_block_gauges(&blocks);
        Ok(LogStore {
            dir: dir.to_path_buf(),
            config,
            _lock: dir_lock,
            wal,
            ingest: Mutex::new(()),
            state: RwLock::new(State {
                head,
                frozen: None,
                blocks: Arc::new(blocks),
                next_seq,
            }),
            flushing: Mutex::new(FlushState {
                next_flush_id: last_flush_id + 1,
                merge_skip: Default::default(),
                head_since: None,
            }),
            flush_wanted: (Mutex::new(false), Condvar::new()),
            subscribers: Subscribers::default(),
            metrics,
            closed: AtomicBool::new(false),
            report,
            damage: Mutex::new(Damage::default()),
        })
    }

    /// What `open` found.
    pub fn open_report(&self) -> &OpenReport {
        &self.report
    }

    pub(crate) fn read_state(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write_state(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The store's directory.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Edits the block list: a copy is changed by `edit`, sorted, and swapped in under the
    /// state lock, so a query sees the list wholly before or wholly after.
    pub(crate) fn replace_blocks(&self, edit: impl FnOnce(&mut Vec<Arc<Block>>)) {
        let mut st = self.write_state();
        let mut blocks: Vec<Arc<Block>> = st.blocks.iter().cloned().collect();
        edit(&mut blocks);
        blocks.sort_by_key(|b| (b.partition_start, b.flush_lsn));
        self.metrics.set_block_gauges(&blocks);
        st.blocks = Arc::new(blocks);
    }

    /// Fsyncs buffered appends (group commit). The server calls it every second; that is
    /// the loss window of `Durability::Buffered` on power failure.
    pub fn sync(&self) -> Result<()> {
        self.counted(self.wal.sync_all().map_err(Error::from))
    }

    /// Counts a section a read skipped as damaged, and keeps the first message about each
    /// block file for the next `maintain` report.
    pub(crate) fn note_corrupt_section(&self, e: &Error) {
        self.metrics.sections_corrupt.inc();
        if let Error::Corrupt { path, .. } = e {
            let mut d = lock(&self.damage);
            if d.pending.len() < MAX_DAMAGE_MESSAGES && d.reported.insert(path.clone()) {
                d.pending.push(e.to_string());
            }
        }
    }

    /// Counts a failed write in `lookout_logs_write_errors_total` and passes the result on.
    fn counted<T>(&self, result: Result<T>) -> Result<T> {
        if let Err(e) = &result {
            self.metrics.count_write_error(e);
        }
        result
    }

    /// Appends a batch: WAL first (one record per batch), then the head, then live tails.
    /// Returns after the WAL write (`Buffered`) or after its group-commit fsync (`Synced`).
    pub fn append_records(&self, records: &[LogRecord], durability: Durability) -> Result<()> {
        self.counted(self.append_batch(records, durability))
    }

    fn append_batch(&self, records: &[LogRecord], durability: Durability) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        if records.is_empty() {
            return Ok(());
        }
        for r in records {
            let nodes = r.component.split('.').count();
            if r.component.is_empty() || nodes > MAX_COMPONENT_NODES {
                return Err(Error::InvalidRecord(format!(
                    "component {:.80?} must have 1..={MAX_COMPONENT_NODES} nodes",
                    r.component
                )));
            }
        }
        // Live tails get shared copies; without tails nothing is copied.
        let arcs: Vec<Arc<LogRecord>> = if self.subscribers.len() > 0 {
            records.iter().map(|r| Arc::new(r.clone())).collect()
        } else {
            Vec::new()
        };
        let lsn = {
            let _ingest = lock(&self.ingest);
            let first = self.read_state().next_seq;
            let payload = encode_batch(first, records);
            let lsn = self.wal.append(&payload)?;
            let mut st = self.write_state();
            for (i, rec) in records.iter().enumerate() {
                st.head.insert(first + i as u64, rec);
            }
            st.next_seq = first + records.len() as u64;
            drop(st);
            // Under the ingest lock so every tail sees batches in sequence order.
            if !arcs.is_empty() {
                self.subscribers.publish(&arcs);
            }
            lsn
        };
        self.metrics.appended.add(records.len() as u64);
        if durability == Durability::Synced {
            self.wal.sync(lsn)?;
        }
        // A head at its budget wakes the background flusher, so compression runs beside
        // ingestion. If it is still over twice the budget (no flusher, or one that cannot
        // keep up), the appender flushes it now: appenders arriving meanwhile wait on the
        // flush lock, which slows the senders (TCP, HTTP) instead of growing memory.
        let bytes = self.read_state().head.bytes;
        if bytes >= self.config.flush_max_bytes {
            let (wanted, cv) = &self.flush_wanted;
            *lock(wanted) = true;
            cv.notify_one();
        }
        if bytes >= self.config.flush_max_bytes.saturating_mul(2) {
            let mut fl = lock(&self.flushing);
            if self.read_state().head.bytes >= self.config.flush_max_bytes.saturating_mul(2) {
                self.flush_locked(&mut fl)?;
            }
        }
        Ok(())
    }

    /// Waits until an append has filled the head to its budget, or `timeout`; true when the
    /// head wants flushing. A background thread loops on this and [`LogStore::flush_if_full`],
    /// so flushes of a busy head run beside ingestion rather than in an appender.
    pub fn wait_for_flush_work(&self, timeout: Duration) -> bool {
        let (wanted, cv) = &self.flush_wanted;
        let guard = lock(wanted);
        let (mut guard, _) = cv
            .wait_timeout_while(guard, timeout, |w| !*w)
            .unwrap_or_else(|e| e.into_inner());
        std::mem::replace(&mut *guard, false)
    }

    /// Flushes the head if it holds at least its budget; true if it did.
    pub fn flush_if_full(&self) -> Result<bool> {
        let mut fl = lock(&self.flushing);
        if self.read_state().head.bytes < self.config.flush_max_bytes {
            return Ok(false);
        }
        self.counted(self.flush_locked(&mut fl))?;
        Ok(true)
    }

    /// Writes the head into blocks (one per time partition it touches), records the
    /// checkpoint, and deletes the WAL before it. Queries see the frozen head until its blocks
    /// are in, so no record is ever invisible.
    pub fn flush(&self, now: i64) -> Result<()> {
        // Flushing depends on the head alone; `now` keeps the engines' signatures alike.
        let _ = now;
        let mut fl = lock(&self.flushing);
        self.counted(self.flush_locked(&mut fl))
    }

    fn flush_locked(&self, fl: &mut FlushState) -> Result<()> {
        let (frozen, lsn, next_seq) = {
            let _ingest = lock(&self.ingest);
            let mut st = self.write_state();
            if st.head.is_empty() {
                return Ok(());
            }
            let lsn = self.wal.rotate()?;
            let frozen = Arc::new(std::mem::take(&mut st.head));
            st.frozen = Some(frozen.clone());
            (frozen, lsn, st.next_seq)
        };
        let result = self.write_frozen(&frozen, lsn, next_seq, fl.next_flush_id);
        let mut st = self.write_state();
        match result {
            Ok(new_blocks) => {
                let mut blocks: Vec<Arc<Block>> = st.blocks.iter().cloned().collect();
                blocks.extend(new_blocks.into_iter().map(Arc::new));
                blocks.sort_by_key(|b| (b.partition_start, b.flush_lsn));
                self.metrics.set_block_gauges(&blocks);
                st.blocks = Arc::new(blocks);
                st.frozen = None;
                drop(st);
                fl.next_flush_id += 1;
                fl.head_since = None;
                self.metrics.flushes.inc();
                self.wal.truncate_before(lsn)?;
                Ok(())
            }
            Err(e) => {
                // Put the records back in front of anything appended meanwhile; the WAL still
                // holds them all, so nothing is lost if the process dies before a retry.
                st.frozen = None;
                let newer = std::mem::take(&mut st.head);
                let mut head = Head::default();
                for (name, c) in frozen.components.iter().chain(newer.components.iter()) {
                    head.insert_chunks(name, c.chunks());
                }
                st.head = head;
                Err(e)
            }
        }
    }

    fn write_frozen(
        &self,
        head: &Head,
        lsn: u64,
        next_seq: u64,
        flush_id: u64,
    ) -> Result<Vec<Block>> {
        let parts = partition_sections(head, self.config.partition_secs);
        let blocks_dir = self.dir.join(BLOCKS_DIR);
        let mut out = Vec::new();
        for (p, sections) in parts {
            let path = blocks_dir.join(block_file_name(p, flush_id));
            let written = write_block(&path, p, lsn, &sections, self.config.zstd_level);
            match written {
                Ok(b) => out.push(b),
                Err(e) => {
                    for b in &out {
                        let _ = fs::remove_file(&b.path);
                    }
                    return Err(e);
                }
            }
        }
        write_checkpoint(&self.dir, lsn, next_seq, flush_id)?;
        Ok(out)
    }

    /// Periodic work: flushes the head when it is `flush_interval_secs` old (by successive
    /// `now`s) or over `flush_max_bytes`, applies retention by age and size, then merges the
    /// blocks of at most one closed partition (`compact.rs`).
    pub fn maintain(&self, now: i64) -> Result<MaintainReport> {
        self.counted(self.maintain_steps(now))
    }

    fn maintain_steps(&self, now: i64) -> Result<MaintainReport> {
        let mut fl = lock(&self.flushing);
        let mut report = MaintainReport {
            corrupt: std::mem::take(&mut lock(&self.damage).pending),
            ..MaintainReport::default()
        };
        let (empty, bytes) = {
            let st = self.read_state();
            (st.head.is_empty(), st.head.bytes)
        };
        if !empty {
            // A wall clock stepped back (NTP, a VM resumed) would otherwise hold the head
            // until the clock caught up again; restarting the interval bounds the delay.
            if fl.head_since.is_some_and(|since| since > now) {
                fl.head_since = Some(now);
            }
            let since = *fl.head_since.get_or_insert(now);
            if now - since >= self.config.flush_interval_secs
                || bytes >= self.config.flush_max_bytes
            {
                self.flush_locked(&mut fl)?;
                report.flushed = true;
            }
        }
        let (age, size) = self.apply_retention(now)?;
        report.dropped_by_age = age;
        report.dropped_by_size = size;
        // After retention, so a partition about to be dropped is not merged first.
        report.merged_blocks = self.compact_step(now, &mut fl.merge_skip)?;
        Ok(report)
    }

    fn apply_retention(&self, now: i64) -> Result<(u64, u64)> {
        let mut st = self.write_state();
        let mut keep: Vec<Arc<Block>> = st.blocks.iter().cloned().collect();
        let mut gone = Vec::new();
        let mut by_age = 0;
        if self.config.retention_secs > 0 {
            let cutoff = now
                .saturating_sub(self.config.retention_secs)
                .saturating_mul(NANOS_PER_SEC);
            keep.retain(|b| {
                let old = b.max_ts < cutoff;
                if old {
                    gone.push(b.clone());
                    by_age += 1;
                }
                !old
            });
        }
        let mut by_size = 0;
        if self.config.max_bytes > 0 {
            let mut total: u64 = keep.iter().map(|b| b.file_len).sum();
            // Oldest partitions first; `keep` is sorted that way.
            while total > self.config.max_bytes && !keep.is_empty() {
                let b = keep.remove(0);
                total -= b.file_len;
                gone.push(b);
                by_size += 1;
            }
        }
        if gone.is_empty() {
            return Ok((0, 0));
        }
        self.metrics.set_block_gauges(&keep);
        st.blocks = Arc::new(keep);
        drop(st);
        self.metrics.dropped_age.add(by_age);
        self.metrics.dropped_size.add(by_size);
        for b in gone {
            // Queries holding the block keep reading through its open file handle.
            match fs::remove_file(&b.path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(&b.path, e)),
            }
        }
        lookout_disk::fsync_dir(&self.dir.join(BLOCKS_DIR))?;
        Ok((by_age, by_size))
    }

    /// Flushes the head and syncs; later appends fail with `Closed`.
    pub fn close(self, now: i64) -> Result<()> {
        self.closed.store(true, Ordering::Release);
        self.flush(now)?;
        self.sync()
    }

    /// Current counts.
    pub fn stats(&self) -> LogStoreStats {
        let st = self.read_state();
        LogStoreStats {
            head_records: st.head.records + st.frozen.as_ref().map_or(0, |f| f.records),
            head_bytes: (st.head.bytes + st.frozen.as_ref().map_or(0, |f| f.bytes)) as u64,
            blocks: st.blocks.len() as u64,
            block_bytes: st.blocks.iter().map(|b| b.file_len).sum(),
            block_records: st
                .blocks
                .iter()
                .flat_map(|b| b.sections.iter())
                .map(|s| s.count)
                .sum(),
            wal_bytes: self.wal.size_bytes(),
            subscribers: self.subscribers.len() as u64,
        }
    }
}

impl LogAppender for LogStore {
    /// See [`LogStore::append_records`]: `Synced` returns after the group-commit fsync,
    /// `Buffered` after the WAL write (on disk within the server's `sync` interval).
    fn append(&self, records: &[LogRecord], durability: Durability) -> lookout_core::Result<()> {
        Ok(self.append_records(records, durability)?)
    }
}

/// The head's records as block sections, per partition start: each chunk of the head that is
/// in (time, sequence) order and inside one partition is used as it is (no copy); any other is
/// sorted and cut at partition boundaries.
fn partition_sections(head: &Head, partition_secs: i64) -> BTreeMap<i64, Vec<(&str, Arc<Rows>)>> {
    let part_ns = partition_secs * NANOS_PER_SEC;
    let partition = |ts: i64| ts.div_euclid(part_ns) * partition_secs;
    let mut parts: BTreeMap<i64, Vec<(&str, Arc<Rows>)>> = BTreeMap::new();
    for (name, c) in &head.components {
        for chunk in c.chunks() {
            let rows = chunk.rows;
            let (first, last) = (partition(chunk.min_ts), partition(chunk.max_ts));
            if first == last && rows.is_sorted() {
                parts.entry(first).or_default().push((name.as_str(), rows));
                continue;
            }
            let sorted = rows.sorted();
            let mut start = 0;
            while start < sorted.len() {
                let p = partition(sorted.ts[start]);
                let end = start + sorted.ts[start..].partition_point(|ts| partition(*ts) == p);
                let piece = sorted.select(start..end);
                parts
                    .entry(p)
                    .or_default()
                    .push((name.as_str(), Arc::new(piece)));
                start = end;
            }
        }
    }
    parts
}

/// Deletes the blocks that a merged block in `blocks` replaces (a crash between writing it
/// and deleting its sources leaves them behind) and drops them from `blocks`. Returns how
/// many. A source is a block of the merged block's partition whose flush id lies in its
/// `replaces_from..` range, below its own id (which it took over).
fn remove_merged_sources(blocks_dir: &Path, blocks: &mut Vec<Arc<Block>>) -> Result<u64> {
    let all = std::mem::take(blocks);
    let covered = |b: &Block| {
        all.iter().any(|m| {
            m.partition_start == b.partition_start
                && m.flush_id > b.flush_id
                && m.replaces_from.is_some_and(|first| first <= b.flush_id)
        })
    };
    let (gone, keep): (Vec<Arc<Block>>, Vec<Arc<Block>>) =
        all.iter().cloned().partition(|b| covered(b));
    *blocks = keep;
    for b in &gone {
        fs::remove_file(&b.path).map_err(|e| Error::io(&b.path, e))?;
    }
    if !gone.is_empty() {
        lookout_disk::fsync_dir(blocks_dir)?;
    }
    Ok(gone.len() as u64)
}

/// The checkpoint file: WAL lsn up to which records are in blocks, the next sequence number,
/// and the id of the flush that wrote it. Absent before the first flush.
fn read_checkpoint(dir: &Path) -> Result<(u64, u64, u64)> {
    let path = dir.join(CHECKPOINT_FILE);
    let bytes = match fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((0, 0, 0)),
        Err(e) => return Err(Error::io(&path, e)),
    };
    if bytes.len() < lookout_disk::FOOTER_LEN {
        return Err(Error::corrupt(
            &path,
            0,
            "checkpoint shorter than its footer",
        ));
    }
    let footer_at = bytes.len() - lookout_disk::FOOTER_LEN;
    let mut fb = [0u8; lookout_disk::FOOTER_LEN];
    fb.copy_from_slice(&bytes[footer_at..]);
    let footer = lookout_disk::decode_footer(
        &path,
        bytes.len() as u64,
        &fb,
        CHECKPOINT_MAGIC,
        CHECKPOINT_VERSION..=CHECKPOINT_VERSION,
    )?;
    let body = &bytes[..footer_at];
    if crc32fast::hash(body) != footer.body_crc || body.len() != 24 {
        return Err(Error::corrupt(&path, 0, "checkpoint CRC mismatch"));
    }
    let word = |i: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&body[i * 8..i * 8 + 8]);
        u64::from_le_bytes(w)
    };
    Ok((word(0), word(1), word(2)))
}

fn write_checkpoint(dir: &Path, lsn: u64, next_seq: u64, flush_id: u64) -> Result<()> {
    let mut body = Vec::with_capacity(24);
    for w in [lsn, next_seq, flush_id] {
        body.extend_from_slice(&w.to_le_bytes());
    }
    let footer = lookout_disk::encode_footer(
        crc32fast::hash(&body),
        body.len() as u64,
        CHECKPOINT_VERSION,
        CHECKPOINT_MAGIC,
    );
    lookout_disk::write_atomic(&dir.join(CHECKPOINT_FILE), |w| {
        w.write_all(&body)?;
        w.write_all(&footer)
    })?;
    Ok(())
}
