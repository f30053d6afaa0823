//! The write-ahead log: numbered segment files in one directory, checksummed records, group
//! commit, recovery of a log cut short by a crash, replay and checkpoint truncation.
//!
//! The log knows nothing of what a record means; engines encode their own payloads. It does not
//! lock its directory (the owning engine takes [`crate::lock_dir`] first) and it does not decide
//! when to sync or checkpoint: the engine's durability mode and flush policy do.
//!
//! Concurrency: appends serialise on one mutex (`Log`) for the time of one `writev` into the page
//! cache. A group commit takes that mutex only to snapshot what it must fsync, then fsyncs
//! without it, so appends proceed while a commit runs. Commits serialise on a second mutex
//! (`Commit`): while one runs, later `sync` callers wait, and the next commit covers all of them.
//! The mutexes are never held together except `Log` then `Commit` when a failed write poisons
//! the log.
//!
//! The file format is specified in `docs/format/wal.md`.

mod recovery;
pub(crate) mod segment;

use std::fs::{self, File};
use std::io::{IoSlice, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock};
use std::time::{Duration, Instant};

use crate::atomic::fsync_dir;
use crate::error::{Error, Result};
use crate::failpoint::{self, fail_point};
use crate::filenames::segment_file_name;
use segment::{Next, RecordReader, HEADER_LEN, RECORD_HEADER_LEN};

/// A position in the log. The LSN of a record is the LSN of its first byte: a segment's header
/// names the LSN of its first record, and the records of a segment follow each other byte for
/// byte, so a record of `n` payload bytes starting at LSN `l` ends at `l + 8 + n`, which is the
/// LSN of the next record. LSNs only grow, also across restarts and segments; a crash may leave
/// a gap (see `Wal::open`), never an overlap.
///
/// `append` returns a record's END LSN (to pass to `sync`), `replay` passes each record's START
/// LSN, so `replay(from)` with an END LSN returned by `append` (or a value from `rotate`) yields
/// exactly the records appended after it.
pub type Lsn = u64;

/// Sizes for a WAL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalOptions {
    /// A new segment is started when the next record would take the active one past this size
    /// (records are never split, so a single larger record makes a larger segment). Segments
    /// are the unit `truncate_before` deletes: smaller segments free disk sooner after a
    /// checkpoint, larger ones mean fewer files. Default 64 MiB.
    pub segment_bytes: u64,
    /// Largest payload `append` accepts; larger ones get `Error::RecordTooLarge`. At most
    /// `u32::MAX` (the record length field). Replay reads records of any length, so lowering
    /// this never makes an existing log unreadable. Default 64 MiB.
    pub max_record_bytes: usize,
}

impl Default for WalOptions {
    fn default() -> Self {
        WalOptions {
            segment_bytes: 64 << 20,
            max_record_bytes: 64 << 20,
        }
    }
}

/// What `Wal::open` found and repaired.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WalRecovery {
    /// Intact records in the log, all of which `replay(0, ..)` yields.
    pub records: u64,
    /// Segment files found in the directory.
    pub segments: u64,
    /// Bytes cut off segment ends because they held a partial or garbled last record (a write
    /// interrupted by a crash), plus segments removed because a crash interrupted their creation.
    pub torn_tail_bytes: u64,
    /// Damaged records followed by more data (or segments whose header is damaged): replay of
    /// that segment stops at the damage, the bytes are kept for inspection, and later segments
    /// are replayed as usual.
    pub corrupt_records: u64,
}

/// A write-ahead log in one directory. `Send + Sync`; every method takes `&self`.
pub struct Wal {
    dir: PathBuf,
    opts: WalOptions,
    log: Mutex<Log>,
    commit: Mutex<Commit>,
    /// Signalled when a group commit finishes, to wake the `sync` callers that waited for it.
    committed: Condvar,
    /// END LSN of the last appended record (`last_lsn`), readable without a lock.
    appended: AtomicU64,
    /// Copy of `Commit::durable`, for the lock-free fast path of `sync` and `durable_lsn`.
    durable: AtomicU64,
    /// Set once a write or fsync failed; checked by `append` without taking `Commit`.
    poisoned: AtomicBool,
    /// fsync calls on segment files and the directory since open, including open's own.
    fsyncs: AtomicU64,
    /// Bytes of all segment files.
    size: AtomicU64,
    /// Told the duration of each group commit's fsyncs.
    observer: RwLock<Option<FsyncObserver>>,
}

type FsyncObserver = Box<dyn Fn(Duration) + Send + Sync>;

/// The segments, and the one being written.
struct Log {
    active: Active,
    /// Segments before the active one, by increasing id.
    closed: Vec<Closed>,
    /// Handles of closed segments that may hold records no commit has fsynced yet, oldest
    /// first. Only a commit removes entries, and commits run one at a time, so a commit removes
    /// exactly the prefix it snapshotted.
    unsynced: Vec<(Arc<File>, PathBuf)>,
    /// Id for the next segment. Never reused, even when creating a segment failed halfway.
    next_id: u64,
    /// Segments created since open; the directory needs an fsync when this is ahead of
    /// `dir_synced`, so a committed record's segment cannot vanish from the directory in a crash.
    dir_created: u64,
    dir_synced: u64,
}

struct Active {
    id: u64,
    base: Lsn,
    path: PathBuf,
    /// Shared with running commits, which fsync it without holding the `Log` lock.
    file: Arc<File>,
    /// File offset where the next record goes; also the file's length.
    pos: u64,
}

impl Active {
    fn end_lsn(&self) -> Lsn {
        self.base + (self.pos - HEADER_LEN)
    }
}

struct Closed {
    id: u64,
    base: Lsn,
    path: PathBuf,
    /// Records are read up to this offset: the file's end, or the first damage.
    readable_end: u64,
    /// LSN just past the segment's last byte: the segment is deleted by `truncate_before(l)`
    /// once `l >= end_lsn`.
    end_lsn: Lsn,
    /// Length of the file, for `size_bytes`.
    file_len: u64,
}

/// Group-commit state.
struct Commit {
    /// Every record with END LSN <= this is durable.
    durable: Lsn,
    /// A commit is fsyncing right now; other `sync` callers wait for it.
    running: bool,
    /// The first write or fsync failure; once set, nothing more becomes durable.
    failure: Option<String>,
    /// `sync` callers blocked on `committed`, for tests that stage a commit queue.
    waiting: usize,
}

/// Locks a mutex, ignoring poisoning: every critical section here leaves its state consistent
/// at each step (counters and flags are assigned, never left half-computed), so a panic in
/// another thread does not make the state unusable.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Wal {
    /// Opens (creating if needed) the log in `dir`. Intact records are then available through
    /// `replay`.
    ///
    /// Every segment is scanned and its records' CRCs checked. A torn tail (a partial or
    /// garbled last record, or zeros, at the end of a segment: what a crash during a write
    /// leaves) is truncated away and reported in [`WalRecovery::torn_tail_bytes`]. A damaged
    /// record with more data after it stops replay of that segment at the damage and is
    /// reported in [`WalRecovery::corrupt_records`]; the records before it and all later
    /// segments stay readable, and the file is left as it is. A file named like a segment that
    /// is not one (wrong magic) or has a newer version is refused with `Error::Corrupt` or
    /// `Error::UnsupportedVersion`.
    ///
    /// New records go to the newest segment if it was intact, else to a new segment that starts
    /// past every byte of the old one, so LSNs handed out before the crash are not reused.
    /// Everything found is fsynced, so `durable_lsn() == last_lsn()` after open.
    pub fn open(dir: &Path, opts: WalOptions) -> Result<(Wal, WalRecovery)> {
        if opts.max_record_bytes > u32::MAX as usize {
            return Err(Error::InvalidOptions {
                reason: format!(
                    "max_record_bytes {} exceeds the record length field's limit of {}",
                    opts.max_record_bytes,
                    u32::MAX
                ),
            });
        }
        let created = !dir.exists();
        fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        if created {
            // The new directory's own entry must survive a crash as well as the files in it.
            if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
                fsync_dir(parent)?;
            }
        }
        let (log, recovery, fsyncs) = recovery::recover(dir)?;
        let end = log.active.end_lsn();
        let size = log.closed.iter().map(|c| c.file_len).sum::<u64>() + log.active.pos;
        let wal = Wal {
            dir: dir.to_path_buf(),
            opts,
            log: Mutex::new(log),
            commit: Mutex::new(Commit {
                durable: end,
                running: false,
                failure: None,
                waiting: 0,
            }),
            committed: Condvar::new(),
            appended: AtomicU64::new(end),
            durable: AtomicU64::new(end),
            poisoned: AtomicBool::new(false),
            fsyncs: AtomicU64::new(fsyncs),
            size: AtomicU64::new(size),
            observer: RwLock::new(None),
        };
        Ok((wal, recovery))
    }

    /// The log's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Calls `f(lsn, payload)` for every intact record with START lsn >= `from`, in order
    /// (streaming, segment by segment; it never holds more than one record in memory). Records
    /// before `from` in the same segment are skipped without reading their payload.
    ///
    /// Runs concurrently with `append`: it yields at least the records appended before the call
    /// and never a partly written one. A segment deleted by a concurrent `truncate_before` is
    /// skipped. Damage found at open is not reported again (replay stops at it); damage that
    /// appeared since is `Error::Corrupt`. An error from `f` stops the replay and is returned.
    pub fn replay(&self, from: Lsn, mut f: impl FnMut(Lsn, &[u8]) -> Result<()>) -> Result<()> {
        let mut next_id = 0;
        let mut buf = Vec::new();
        while let Some(seg) = self.open_segment_from(next_id)? {
            next_id = seg.id + 1;
            let (path, base, readable_end) = (seg.path, seg.base, seg.readable_end);
            let end_lsn = base + readable_end.saturating_sub(HEADER_LEN);
            if readable_end <= HEADER_LEN || end_lsn <= from {
                continue;
            }
            let mut reader = RecordReader::new(seg.file, &path, readable_end)?;
            loop {
                let lsn = base + (reader.offset() - HEADER_LEN);
                let wanted = lsn >= from;
                match reader.next(wanted.then_some(&mut buf))? {
                    Next::Record { .. } if wanted => f(lsn, &buf)?,
                    Next::Record { .. } => {}
                    Next::End => break,
                    Next::Damaged { offset, reason } => {
                        return Err(Error::corrupt(
                            &path,
                            offset,
                            format!("{reason} (damage appeared after the log was opened)"),
                        ))
                    }
                }
            }
        }
        Ok(())
    }

    /// Opens the first segment with id >= `id`, under the `Log` lock so that the segment cannot
    /// be deleted in between, and returns it with its base LSN and the offset up to which its
    /// records are complete.
    fn open_segment_from(&self, id: u64) -> Result<Option<OpenSegment>> {
        let log = lock(&self.log);
        let (seg_id, path, base, readable_end) = match log.closed.iter().find(|c| c.id >= id) {
            Some(c) => (c.id, c.path.clone(), c.base, c.readable_end),
            None if log.active.id >= id => (
                log.active.id,
                log.active.path.clone(),
                log.active.base,
                log.active.pos,
            ),
            None => return Ok(None),
        };
        let file = File::open(&path).map_err(|e| Error::io(&path, e))?;
        Ok(Some(OpenSegment {
            id: seg_id,
            file,
            path,
            base,
            readable_end,
        }))
    }

    /// Appends one record and returns its END lsn, to pass to `sync`.
    ///
    /// Durability: when this returns, the record is in the kernel's page cache (one `writev` of
    /// the 8-byte header and the caller's slice, no copy in between), so it survives a crash of
    /// this process but not of the machine; `sync` makes it survive both. Never fsyncs, and
    /// never waits for a running fsync. Thread-safe; records of concurrent callers are never
    /// interleaved. A record that would take the active segment past `segment_bytes` starts a
    /// new segment first.
    ///
    /// Errors: `RecordTooLarge` (nothing written); `Io` if the write failed, after which the
    /// partial record is cut off again and the log stays usable; `SyncFailed` once an earlier
    /// failure poisoned the log.
    pub fn append(&self, payload: &[u8]) -> Result<Lsn> {
        if payload.len() > self.opts.max_record_bytes {
            return Err(Error::RecordTooLarge {
                len: payload.len(),
                max: self.opts.max_record_bytes,
            });
        }
        // Computed before taking the lock: the CRC is the only pass over the payload in user
        // space, and concurrent appenders compute theirs in parallel.
        let header = segment::record_header(payload);
        let framed = RECORD_HEADER_LEN + payload.len() as u64;
        let mut log = lock(&self.log);
        self.check_poisoned()?;
        let used = log.active.pos - HEADER_LEN;
        if used > 0 && used + framed > self.opts.segment_bytes {
            self.start_segment(&mut log)?;
        }
        let active = &log.active;
        let written = write_all_vectored(&active.file, &header, payload)
            .and_then(|()| fail_point(failpoint::WAL_APPEND_WRITE));
        if let Err(e) = written {
            let err = Error::io(&active.path, e);
            let pos = active.pos;
            let rollback = active
                .file
                .set_len(pos)
                .and_then(|()| (&*active.file).seek(SeekFrom::Start(pos)).map(drop));
            if let Err(r) = rollback {
                self.poison(format!(
                    "{err}; cutting the partial record off failed too: {r}"
                ));
            }
            return Err(err);
        }
        log.active.pos += framed;
        let end = log.active.end_lsn();
        self.appended.store(end, Ordering::Release);
        self.size.fetch_add(framed, Ordering::Relaxed);
        Ok(end)
    }

    /// Group commit: returns once every record with end lsn <= `upto` is durable (written and
    /// fdatasync'd, its segment's directory entry fsynced). An `upto` beyond `last_lsn()` is
    /// taken as `last_lsn()`.
    ///
    /// Concurrent callers share fsyncs: while one commit runs, later callers wait, and the next
    /// commit (run by one of them) covers everything appended by the time it starts. Appends
    /// proceed during a commit.
    ///
    /// A failed fsync is returned to the caller whose commit it was; from then on the log is
    /// poisoned and every `sync` not already covered returns `SyncFailed`, because after a
    /// failed fsync the kernel may have dropped the pages and a later fsync could succeed
    /// without them. `durable_lsn()` never moves past records no successful fsync covered.
    pub fn sync(&self, upto: Lsn) -> Result<()> {
        let upto = upto.min(self.appended.load(Ordering::Acquire));
        if upto <= self.durable.load(Ordering::Acquire) {
            return Ok(());
        }
        let mut commit = lock(&self.commit);
        loop {
            if commit.durable >= upto {
                return Ok(());
            }
            if let Some(reason) = &commit.failure {
                return Err(self.sync_failed(reason));
            }
            if !commit.running {
                break;
            }
            commit.waiting += 1;
            commit = self
                .committed
                .wait(commit)
                .unwrap_or_else(|e| e.into_inner());
            commit.waiting -= 1;
        }
        commit.running = true;
        drop(commit);

        let mut running = RunningCommit {
            wal: self,
            done: false,
        };
        let result = self.run_commit();
        let mut commit = lock(&self.commit);
        commit.running = false;
        running.done = true;
        let outcome = match result {
            Ok(target) => {
                commit.durable = commit.durable.max(target);
                self.durable.store(commit.durable, Ordering::Release);
                Ok(())
            }
            Err(e) => {
                commit.failure.get_or_insert_with(|| e.to_string());
                self.poisoned.store(true, Ordering::Release);
                Err(e)
            }
        };
        self.committed.notify_all();
        outcome
    }

    /// One group commit: snapshots what is appended, fsyncs it without holding the `Log` lock,
    /// and returns the END LSN it made durable.
    fn run_commit(&self) -> Result<Lsn> {
        let (target, files, dir_created) = {
            let log = lock(&self.log);
            let mut files = log.unsynced.clone();
            files.push((log.active.file.clone(), log.active.path.clone()));
            (log.active.end_lsn(), files, log.dir_created)
        };
        let unsynced_taken = files.len() - 1;
        let started = Instant::now();
        fail_point(failpoint::WAL_SYNC_FSYNC)
            .map_err(|e| Error::io(&files[files.len() - 1].1, e))?;
        for (file, path) in &files {
            self.fsyncs.fetch_add(1, Ordering::Relaxed);
            file.sync_data().map_err(|e| Error::io(path, e))?;
        }
        let dir_synced = lock(&self.log).dir_synced;
        if dir_created > dir_synced {
            self.fsyncs.fetch_add(1, Ordering::Relaxed);
            fsync_dir(&self.dir)?;
        }
        let elapsed = started.elapsed();
        {
            let mut log = lock(&self.log);
            log.unsynced.drain(..unsynced_taken);
            log.dir_synced = log.dir_synced.max(dir_created);
        }
        let observer = self.observer.read().unwrap_or_else(|e| e.into_inner());
        if let Some(observe) = observer.as_ref() {
            observe(elapsed);
        }
        Ok(target)
    }

    /// Makes everything appended so far durable (for the periodic sync timer and shutdown).
    pub fn sync_all(&self) -> Result<()> {
        self.sync(self.last_lsn())
    }

    /// Closes the current segment (synced) and starts a new one; returns the lsn where the new
    /// segment starts. Everything appended before the call has lsn < the returned value and is
    /// durable when this returns, so the value is safe to record as a checkpoint. If the
    /// active segment holds no record yet, it is kept and its start is returned.
    pub fn rotate(&self) -> Result<Lsn> {
        let start = {
            let mut log = lock(&self.log);
            self.check_poisoned()?;
            if log.active.pos > HEADER_LEN {
                self.start_segment(&mut log)?;
            }
            log.active.base
        };
        self.sync(start)?;
        Ok(start)
    }

    /// Creates the next segment and makes it the active one. Called with the `Log` lock held.
    fn start_segment(&self, log: &mut Log) -> Result<()> {
        let id = log.next_id;
        log.next_id += 1;
        let base = log.active.end_lsn();
        let path = self.dir.join(segment_file_name(id));
        let file = segment::create_segment(&path, base)?;
        if let Err(e) = fail_point(failpoint::WAL_ROTATE_CREATE) {
            // A leftover would be an empty segment starting before the end of the one that
            // stays active; open recognises and removes that, so a failed removal is harmless.
            let _ = fs::remove_file(&path);
            return Err(Error::io(&path, e));
        }
        let old = std::mem::replace(
            &mut log.active,
            Active {
                id,
                base,
                path,
                file: Arc::new(file),
                pos: HEADER_LEN,
            },
        );
        log.unsynced.push((old.file, old.path.clone()));
        log.closed.push(Closed {
            id: old.id,
            base: old.base,
            path: old.path,
            readable_end: old.pos,
            end_lsn: base,
            file_len: old.pos,
        });
        log.dir_created += 1;
        self.size.fetch_add(HEADER_LEN, Ordering::Relaxed);
        Ok(())
    }

    /// Checkpoint: deletes every segment whose records all have lsn < `lsn` (never the active
    /// segment). Deletions are not fsynced: a segment that reappears after a crash only holds
    /// records before the checkpoint, which `replay(checkpoint)` skips and the next
    /// `truncate_before` deletes again.
    pub fn truncate_before(&self, lsn: Lsn) -> Result<()> {
        let doomed: Vec<Closed> = {
            let mut log = lock(&self.log);
            let (doomed, kept) = std::mem::take(&mut log.closed)
                .into_iter()
                .partition(|c| c.end_lsn <= lsn);
            log.closed = kept;
            doomed
        };
        for seg in doomed {
            match fs::remove_file(&seg.path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(&seg.path, e)),
            }
            self.size.fetch_sub(seg.file_len, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Bytes of all segment files.
    pub fn size_bytes(&self) -> u64 {
        self.size.load(Ordering::Relaxed)
    }

    /// END LSN of the last record appended (or where the log ended at open).
    pub fn last_lsn(&self) -> Lsn {
        self.appended.load(Ordering::Acquire)
    }

    /// Every record with END LSN <= this is durable.
    pub fn durable_lsn(&self) -> Lsn {
        self.durable.load(Ordering::Acquire)
    }

    /// fsync calls (segment files and directory) issued since open, including open's own; lets
    /// tests and self-metrics see how well group commit coalesces.
    pub fn fsync_count(&self) -> u64 {
        self.fsyncs.load(Ordering::Relaxed)
    }

    /// Sets the function told how long each group commit's fsyncs took (the engine feeds it into
    /// a latency histogram). It runs on the committing thread, so it should be quick.
    pub fn set_fsync_observer(&self, observer: Box<dyn Fn(Duration) + Send + Sync>) {
        *self.observer.write().unwrap_or_else(|e| e.into_inner()) = Some(observer);
    }

    /// Number of `sync` callers waiting for a running commit.
    #[cfg(test)]
    fn sync_waiters(&self) -> usize {
        lock(&self.commit).waiting
    }

    fn check_poisoned(&self) -> Result<()> {
        if !self.poisoned.load(Ordering::Acquire) {
            return Ok(());
        }
        let commit = lock(&self.commit);
        Err(self.sync_failed(commit.failure.as_deref().unwrap_or("unknown failure")))
    }

    fn sync_failed(&self, reason: &str) -> Error {
        Error::SyncFailed {
            path: self.dir.clone(),
            reason: reason.to_owned(),
        }
    }

    /// Marks the log unusable after a failure that may have lost appended data.
    fn poison(&self, reason: String) {
        let mut commit = lock(&self.commit);
        commit.failure.get_or_insert(reason);
        self.poisoned.store(true, Ordering::Release);
        self.committed.notify_all();
    }
}

impl std::fmt::Debug for Wal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wal")
            .field("dir", &self.dir)
            .field("last_lsn", &self.last_lsn())
            .field("durable_lsn", &self.durable_lsn())
            .field("size_bytes", &self.size_bytes())
            .finish_non_exhaustive()
    }
}

/// A segment opened for `replay`, with what the log knew of it when it was opened.
struct OpenSegment {
    id: u64,
    file: File,
    path: PathBuf,
    base: Lsn,
    /// Records are complete up to this offset.
    readable_end: u64,
}

/// Clears `Commit::running` if the committing thread unwinds (a panicking fsync observer), so
/// waiting callers are not blocked forever.
struct RunningCommit<'a> {
    wal: &'a Wal,
    done: bool,
}

impl Drop for RunningCommit<'_> {
    fn drop(&mut self) {
        if !self.done {
            lock(&self.wal.commit).running = false;
            self.wal.committed.notify_all();
        }
    }
}

/// Writes the record header and payload with as few `writev` calls as the kernel allows.
fn write_all_vectored(mut file: &File, header: &[u8], payload: &[u8]) -> std::io::Result<()> {
    let mut slices = [IoSlice::new(header), IoSlice::new(payload)];
    let mut bufs = &mut slices[..];
    while !bufs.is_empty() {
        match file.write_vectored(bufs) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut bufs, n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filenames::parse_segment_file_name;
    use std::sync::mpsc;
    use std::sync::Barrier;

    fn opts(segment_bytes: u64) -> WalOptions {
        WalOptions {
            segment_bytes,
            ..WalOptions::default()
        }
    }

    fn open(dir: &Path) -> (Wal, WalRecovery) {
        Wal::open(dir, WalOptions::default()).unwrap()
    }

    fn replay_all(wal: &Wal, from: Lsn) -> Vec<(Lsn, Vec<u8>)> {
        let mut out = Vec::new();
        wal.replay(from, |lsn, p| {
            out.push((lsn, p.to_vec()));
            Ok(())
        })
        .unwrap();
        out
    }

    fn payloads(wal: &Wal) -> Vec<Vec<u8>> {
        replay_all(wal, 0).into_iter().map(|(_, p)| p).collect()
    }

    fn segment_files(dir: &Path) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                parse_segment_file_name(&p.file_name().unwrap().to_string_lossy()).is_some()
            })
            .collect();
        files.sort();
        files
    }

    fn record(i: usize, len: usize) -> Vec<u8> {
        (0..len).map(|j| (i * 31 + j * 7) as u8).collect()
    }

    /// Appends `records` (synced) to a fresh log in `dir`, returning each record's START lsn.
    fn write_log(dir: &Path, options: WalOptions, records: &[Vec<u8>]) -> Vec<Lsn> {
        let (wal, _) = Wal::open(dir, options).unwrap();
        let mut starts = Vec::new();
        for r in records {
            let start = wal.last_lsn();
            let end = wal.append(r).unwrap();
            assert_eq!(end, start + 8 + r.len() as u64);
            starts.push(start);
        }
        wal.sync_all().unwrap();
        starts
    }

    #[test]
    fn records_come_back_after_reopen_with_their_lsns() {
        let dir = tempfile::tempdir().unwrap();
        let records: Vec<Vec<u8>> = [0, 1, 100, 70_000, 3]
            .iter()
            .map(|&n| record(n, n))
            .collect();
        let starts = write_log(dir.path(), WalOptions::default(), &records);
        let (wal, rec) = open(dir.path());
        assert_eq!(
            rec,
            WalRecovery {
                records: 5,
                segments: 1,
                torn_tail_bytes: 0,
                corrupt_records: 0
            }
        );
        let got = replay_all(&wal, 0);
        assert_eq!(got.iter().map(|(l, _)| *l).collect::<Vec<_>>(), starts);
        assert_eq!(got.into_iter().map(|(_, p)| p).collect::<Vec<_>>(), records);
        assert_eq!(wal.durable_lsn(), wal.last_lsn());
        assert_eq!(wal.last_lsn(), starts[4] + 8 + 3);
    }

    #[test]
    fn replay_from_an_end_lsn_yields_exactly_the_later_records() {
        let dir = tempfile::tempdir().unwrap();
        let (wal, _) = Wal::open(dir.path(), opts(300)).unwrap();
        let ends: Vec<Lsn> = (0..10)
            .map(|i| wal.append(&record(i, 100)).unwrap())
            .collect();
        for (k, &end) in ends.iter().enumerate() {
            let got: Vec<Vec<u8>> = replay_all(&wal, end).into_iter().map(|(_, p)| p).collect();
            let want: Vec<Vec<u8>> = (k + 1..10).map(|i| record(i, 100)).collect();
            assert_eq!(got, want, "from end of record {k}");
        }
        assert_eq!(replay_all(&wal, 0).len(), 10);
        assert_eq!(
            replay_all(&wal, ends[0] - 1).len(),
            9,
            "a record starting before `from` is skipped"
        );
    }

    #[test]
    fn torn_tail_at_every_offset_of_the_last_record_keeps_earlier_records() {
        let src = tempfile::tempdir().unwrap();
        let records: Vec<Vec<u8>> = (0..5).map(|i| record(i, 20 + i)).collect();
        let starts = write_log(src.path(), WalOptions::default(), &records);
        let seg = segment_files(src.path()).remove(0);
        let bytes = fs::read(&seg).unwrap();
        let last_start = HEADER_LEN + (starts[4] - starts[0]);
        let full_end = bytes.len() as u64;
        for cut in last_start..full_end {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join(seg.file_name().unwrap());
            fs::write(&path, &bytes[..cut as usize]).unwrap();
            let (wal, rec) = open(dir.path());
            assert_eq!(rec.records, 4, "cut at {cut}");
            assert_eq!(rec.torn_tail_bytes, cut - last_start, "cut at {cut}");
            assert_eq!(rec.corrupt_records, 0, "cut at {cut}");
            assert_eq!(payloads(&wal), records[..4], "cut at {cut}");
            assert_eq!(
                fs::metadata(&path).unwrap().len(),
                last_start,
                "tail truncated"
            );
            // New records start past every byte the crashed process wrote: no LSN reuse.
            let old_end = starts[0] + (cut - HEADER_LEN);
            let end = wal.append(b"after").unwrap();
            assert!(end - 13 >= old_end, "cut at {cut}");
            wal.sync_all().unwrap();
            drop(wal);
            let (wal, rec) = open(dir.path());
            assert_eq!(
                (rec.records, rec.torn_tail_bytes, rec.corrupt_records),
                (5, 0, 0)
            );
            let mut want = records[..4].to_vec();
            want.push(b"after".to_vec());
            assert_eq!(payloads(&wal), want, "cut at {cut}");
        }
    }

    #[test]
    fn zero_filled_tail_is_torn_not_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let records: Vec<Vec<u8>> = (0..3).map(|i| record(i, 50)).collect();
        write_log(dir.path(), WalOptions::default(), &records);
        let seg = segment_files(dir.path()).remove(0);
        let mut bytes = fs::read(&seg).unwrap();
        bytes.extend_from_slice(&[0u8; 8192]);
        fs::write(&seg, &bytes).unwrap();
        let (wal, rec) = open(dir.path());
        assert_eq!(
            (rec.records, rec.torn_tail_bytes, rec.corrupt_records),
            (3, 8192, 0)
        );
        assert_eq!(payloads(&wal), records);
    }

    #[test]
    fn flipped_byte_in_a_middle_record_is_detected_and_earlier_records_intact() {
        let src = tempfile::tempdir().unwrap();
        let records: Vec<Vec<u8>> = (0..5).map(|i| record(i, 40)).collect();
        let starts = write_log(src.path(), WalOptions::default(), &records);
        let seg = segment_files(src.path()).remove(0);
        let bytes = fs::read(&seg).unwrap();
        let victim = (HEADER_LEN + starts[2] - starts[0]) as usize;
        for at in victim..victim + 8 + 40 {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join(seg.file_name().unwrap());
            let mut damaged = bytes.clone();
            damaged[at] ^= 0xff;
            fs::write(&path, &damaged).unwrap();
            let (wal, rec) = open(dir.path());
            let got = payloads(&wal);
            assert!(got.len() >= 2, "byte {at}");
            assert_eq!(got[..2], records[..2], "byte {at}: earlier records intact");
            assert!(
                records.starts_with(&got),
                "byte {at}: no damaged record is returned"
            );
            if at >= victim + 4 {
                // CRC or payload byte: the frame is intact, more records follow: corruption.
                assert_eq!(
                    (rec.records, rec.corrupt_records, rec.torn_tail_bytes),
                    (2, 1, 0),
                    "byte {at}"
                );
                assert_eq!(
                    fs::read(&path).unwrap(),
                    damaged,
                    "corrupt segment kept as it is"
                );
            } else {
                assert!(
                    rec.corrupt_records + rec.torn_tail_bytes > 0,
                    "byte {at}: detected"
                );
            }
            // The damaged segment stays; new records go to a new one and come back after it.
            wal.append(b"new").unwrap();
            wal.sync_all().unwrap();
            drop(wal);
            let (wal, rec2) = open(dir.path());
            assert_eq!(rec2.corrupt_records, rec.corrupt_records, "byte {at}");
            assert_eq!(payloads(&wal).last().unwrap(), b"new");
        }
    }

    #[test]
    fn corruption_in_an_older_segment_stops_only_that_segment() {
        let dir = tempfile::tempdir().unwrap();
        // 3 records of 108 framed bytes per 330-byte segment.
        let records: Vec<Vec<u8>> = (0..9).map(|i| record(i, 100)).collect();
        write_log(dir.path(), opts(330), &records);
        let segs = segment_files(dir.path());
        assert_eq!(segs.len(), 3);
        let mut bytes = fs::read(&segs[0]).unwrap();
        bytes[HEADER_LEN as usize + 108 + 50] ^= 1;
        fs::write(&segs[0], &bytes).unwrap();
        let (wal, rec) = Wal::open(dir.path(), opts(330)).unwrap();
        assert_eq!(
            (rec.records, rec.corrupt_records, rec.torn_tail_bytes),
            (7, 1, 0)
        );
        let mut want = vec![records[0].clone()];
        want.extend_from_slice(&records[3..]);
        assert_eq!(payloads(&wal), want);
    }

    #[test]
    fn torn_tail_of_an_older_segment_is_kept_and_counted_as_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let records: Vec<Vec<u8>> = (0..9).map(|i| record(i, 100)).collect();
        write_log(dir.path(), opts(330), &records);
        let segs = segment_files(dir.path());
        let bytes = fs::read(&segs[0]).unwrap();
        let cut = &bytes[..bytes.len() - 50];
        fs::write(&segs[0], cut).unwrap();
        let (wal, rec) = Wal::open(dir.path(), opts(330)).unwrap();
        assert_eq!(
            (rec.records, rec.corrupt_records, rec.torn_tail_bytes),
            (8, 1, 0)
        );
        assert_eq!(
            fs::read(&segs[0]).unwrap(),
            cut,
            "older segments are never cut"
        );
        let mut want = records[..2].to_vec();
        want.extend_from_slice(&records[3..]);
        assert_eq!(payloads(&wal), want);
    }

    #[test]
    fn torn_tail_before_an_interrupted_segment_creation_is_cut() {
        let dir = tempfile::tempdir().unwrap();
        let records: Vec<Vec<u8>> = (0..9).map(|i| record(i, 100)).collect();
        write_log(dir.path(), opts(330), &records);
        let segs = segment_files(dir.path());
        let bytes = fs::read(&segs[2]).unwrap();
        fs::write(&segs[2], &bytes[..bytes.len() - 50]).unwrap();
        fs::write(dir.path().join(segment_file_name(4)), [0u8; 7]).unwrap();
        let (wal, rec) = Wal::open(dir.path(), opts(330)).unwrap();
        assert_eq!(
            (rec.records, rec.corrupt_records, rec.torn_tail_bytes),
            (8, 0, 58 + 7)
        );
        assert_eq!(payloads(&wal), records[..8]);
    }

    #[test]
    fn damaged_header_of_an_older_segment_is_counted_and_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let records: Vec<Vec<u8>> = (0..9).map(|i| record(i, 100)).collect();
        write_log(dir.path(), opts(330), &records);
        let segs = segment_files(dir.path());
        let mut bytes = fs::read(&segs[1]).unwrap();
        bytes[13] ^= 1;
        fs::write(&segs[1], &bytes).unwrap();
        let (wal, rec) = Wal::open(dir.path(), opts(330)).unwrap();
        assert_eq!((rec.records, rec.corrupt_records), (6, 1));
        let mut want = records[..3].to_vec();
        want.extend_from_slice(&records[6..]);
        assert_eq!(payloads(&wal), want);
    }

    #[test]
    fn segment_torn_during_creation_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let records: Vec<Vec<u8>> = (0..3).map(|i| record(i, 10)).collect();
        write_log(dir.path(), WalOptions::default(), &records);
        fs::write(dir.path().join(segment_file_name(2)), [0u8; 10]).unwrap();
        let (wal, rec) = open(dir.path());
        assert_eq!((rec.records, rec.segments, rec.torn_tail_bytes), (3, 2, 10));
        assert_eq!(payloads(&wal), records);
        assert!(!dir.path().join(segment_file_name(2)).exists());
    }

    #[test]
    fn empty_segment_left_by_a_failed_rotation_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let records: Vec<Vec<u8>> = (0..3).map(|i| record(i, 10)).collect();
        let starts = write_log(dir.path(), WalOptions::default(), &records);
        // A rotation created segment 2 at the then-end of segment 1, failed, and segment 1
        // took more records.
        fs::write(
            dir.path().join(segment_file_name(2)),
            segment::encode_header(starts[1]),
        )
        .unwrap();
        let (wal, rec) = open(dir.path());
        assert_eq!(
            (rec.records, rec.corrupt_records, rec.torn_tail_bytes),
            (3, 0, 0)
        );
        assert_eq!(payloads(&wal), records);
        assert_eq!(segment_files(dir.path()).len(), 1);
    }

    #[test]
    fn overlapping_segments_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let records: Vec<Vec<u8>> = (0..3).map(|i| record(i, 10)).collect();
        let starts = write_log(dir.path(), WalOptions::default(), &records);
        let mut seg = segment::encode_header(starts[1]).to_vec();
        seg.extend_from_slice(&segment::record_header(b"x"));
        seg.push(b'x');
        fs::write(dir.path().join(segment_file_name(2)), seg).unwrap();
        let err = Wal::open(dir.path(), WalOptions::default()).unwrap_err();
        assert!(
            matches!(err, Error::Corrupt { .. })
                && err.to_string().contains("before the previous segment"),
            "{err}"
        );
    }

    #[test]
    fn foreign_file_is_refused_with_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(segment_file_name(1));
        fs::write(&path, b"this is a text file, not a write-ahead log").unwrap();
        let err = Wal::open(dir.path(), WalOptions::default()).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("not a lookout WAL segment"), "{text}");
        assert!(text.contains(&path.display().to_string()), "{text}");
        assert_eq!(
            fs::read(&path).unwrap(),
            b"this is a text file, not a write-ahead log"
        );
    }

    #[test]
    fn newer_segment_version_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut header = segment::encode_header(0);
        header[8] = 9;
        fs::write(dir.path().join(segment_file_name(1)), header).unwrap();
        match Wal::open(dir.path(), WalOptions::default()) {
            Err(Error::UnsupportedVersion { found: 9, .. }) => {}
            other => panic!("expected UnsupportedVersion, got {other:?}"),
        }
    }

    #[test]
    fn open_creates_a_missing_directory() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("data").join("wal");
        let (wal, rec) = open(&nested);
        assert_eq!(rec, WalRecovery::default());
        wal.append(b"x").unwrap();
        assert_eq!(segment_files(&nested).len(), 1);
    }

    #[test]
    fn other_files_in_the_directory_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("LOCK"), b"123").unwrap();
        fs::write(dir.path().join("1.wal"), b"junk").unwrap();
        let (wal, rec) = open(dir.path());
        assert_eq!(rec, WalRecovery::default());
        wal.append(b"a").unwrap();
    }

    #[test]
    fn rotate_and_truncate_before_delete_only_old_segments() {
        let dir = tempfile::tempdir().unwrap();
        let (wal, _) = open(dir.path());
        wal.append(b"a").unwrap();
        wal.append(b"b").unwrap();
        let r1 = wal.rotate().unwrap();
        assert_eq!(r1, wal.last_lsn());
        assert_eq!(wal.durable_lsn(), r1);
        assert_eq!(
            wal.rotate().unwrap(),
            r1,
            "rotating an empty segment keeps it"
        );
        wal.append(b"c").unwrap();
        let r2 = wal.rotate().unwrap();
        wal.append(b"d").unwrap();
        assert_eq!(segment_files(dir.path()).len(), 3);

        wal.truncate_before(r1 - 1).unwrap();
        assert_eq!(
            segment_files(dir.path()).len(),
            3,
            "segment 1 has a record at >= r1 - 1"
        );
        wal.truncate_before(r1).unwrap();
        assert_eq!(segment_files(dir.path()).len(), 2);
        assert_eq!(payloads(&wal), [b"c".to_vec(), b"d".to_vec()]);
        let (from_r2, _) = replay_all(&wal, r2)[0].clone();
        assert_eq!(from_r2, r2);

        wal.truncate_before(Lsn::MAX).unwrap();
        assert_eq!(
            segment_files(dir.path()).len(),
            1,
            "the active segment is never deleted"
        );
        assert_eq!(payloads(&wal), [b"d".to_vec()]);
        let on_disk: u64 = segment_files(dir.path())
            .iter()
            .map(|p| fs::metadata(p).unwrap().len())
            .sum();
        assert_eq!(wal.size_bytes(), on_disk);
        drop(wal);
        let (wal, rec) = open(dir.path());
        assert_eq!((rec.records, rec.segments), (1, 1));
        assert_eq!(payloads(&wal), [b"d".to_vec()]);
    }

    #[test]
    fn segments_rotate_at_segment_bytes_and_size_is_tracked() {
        let dir = tempfile::tempdir().unwrap();
        let (wal, _) = Wal::open(dir.path(), opts(1000)).unwrap();
        let records: Vec<Vec<u8>> = (0..10).map(|i| record(i, 300)).collect();
        for r in &records {
            wal.append(r).unwrap();
        }
        wal.append(&record(99, 2000)).unwrap();
        let segs = segment_files(dir.path());
        // Three 308-byte frames fit in 1000 bytes, a fourth would not.
        let lens: Vec<u64> = segs
            .iter()
            .map(|p| fs::metadata(p).unwrap().len())
            .collect();
        let h = HEADER_LEN;
        assert_eq!(
            lens,
            [h + 924, h + 924, h + 924, h + 308, h + 2008],
            "a larger record gets a segment of its own"
        );
        assert_eq!(wal.size_bytes(), lens.iter().sum::<u64>());
        let mut want = records;
        want.push(record(99, 2000));
        assert_eq!(payloads(&wal), want);
        wal.sync_all().unwrap();
        drop(wal);
        let (wal, rec) = Wal::open(dir.path(), opts(1000)).unwrap();
        assert_eq!((rec.records, rec.segments), (11, 5));
        assert_eq!(payloads(&wal), want);
    }

    #[test]
    fn lsns_keep_growing_across_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let mut last = 0;
        for round in 0..4 {
            let (wal, _) = open(dir.path());
            assert_eq!(wal.last_lsn(), last, "round {round}");
            for i in 0..3 {
                let end = wal.append(&record(i, 10 * round)).unwrap();
                assert!(end > last);
                last = end;
            }
            if round % 2 == 0 {
                wal.rotate().unwrap();
            }
        }
        let (wal, _) = open(dir.path());
        let lsns: Vec<Lsn> = replay_all(&wal, 0).iter().map(|(l, _)| *l).collect();
        assert_eq!(lsns.len(), 12);
        assert!(lsns.windows(2).all(|w| w[0] < w[1]), "{lsns:?}");
    }

    #[test]
    fn oversized_record_is_refused_and_nothing_written() {
        let dir = tempfile::tempdir().unwrap();
        let options = WalOptions {
            max_record_bytes: 100,
            ..WalOptions::default()
        };
        let (wal, _) = Wal::open(dir.path(), options).unwrap();
        wal.append(&[1; 100]).unwrap();
        let before = wal.last_lsn();
        match wal.append(&[1; 101]) {
            Err(Error::RecordTooLarge { len: 101, max: 100 }) => {}
            other => panic!("expected RecordTooLarge, got {other:?}"),
        }
        assert_eq!(wal.last_lsn(), before);
        assert_eq!(payloads(&wal).len(), 1);
    }

    #[test]
    fn max_record_bytes_beyond_the_length_field_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let options = WalOptions {
            max_record_bytes: usize::MAX,
            ..WalOptions::default()
        };
        assert!(matches!(
            Wal::open(dir.path(), options),
            Err(Error::InvalidOptions { .. })
        ));
    }

    #[test]
    fn callback_error_stops_replay() {
        let dir = tempfile::tempdir().unwrap();
        let (wal, _) = open(dir.path());
        for i in 0..5 {
            wal.append(&record(i, 5)).unwrap();
        }
        let mut seen = 0;
        let err = wal
            .replay(0, |_, _| {
                seen += 1;
                if seen == 2 {
                    return Err(Error::callback(std::io::Error::other("engine full")));
                }
                Ok(())
            })
            .unwrap_err();
        assert_eq!(seen, 2);
        assert!(matches!(err, Error::Callback(_)) && err.to_string().contains("engine full"));
    }

    #[test]
    fn concurrent_appends_are_never_interleaved() {
        let dir = tempfile::tempdir().unwrap();
        let (wal, _) = Wal::open(dir.path(), opts(64 * 1024)).unwrap();
        const THREADS: u8 = 4;
        const PER_THREAD: u32 = 200;
        std::thread::scope(|s| {
            for t in 0..THREADS {
                let wal = &wal;
                s.spawn(move || {
                    for i in 0..PER_THREAD {
                        let len = 5 + (i as usize * 37 + t as usize * 101) % 3000;
                        let mut p = vec![t; len];
                        p[1..5].copy_from_slice(&i.to_le_bytes());
                        wal.append(&p).unwrap();
                    }
                });
            }
        });
        let mut next = [0u32; THREADS as usize];
        let got = payloads(&wal);
        assert_eq!(got.len(), THREADS as usize * PER_THREAD as usize);
        for p in got {
            let t = p[0];
            let i = u32::from_le_bytes([p[1], p[2], p[3], p[4]]);
            assert!(
                p[5..].iter().all(|&b| b == t),
                "record of thread {t} is intact"
            );
            assert_eq!(i, next[t as usize], "thread {t}'s records keep their order");
            next[t as usize] += 1;
        }
    }

    #[test]
    fn concurrent_syncs_share_one_fsync() {
        let dir = tempfile::tempdir().unwrap();
        let (wal, _) = open(dir.path());
        const CALLERS: usize = 8;
        let appended = Barrier::new(CALLERS);
        let before = wal.fsync_count();
        std::thread::scope(|s| {
            for i in 0..CALLERS {
                let (wal, appended) = (&wal, &appended);
                s.spawn(move || {
                    let lsn = wal.append(&record(i, 1000)).unwrap();
                    appended.wait();
                    wal.sync(lsn).unwrap();
                    assert!(wal.durable_lsn() >= lsn);
                });
            }
        });
        let fsyncs = wal.fsync_count() - before;
        assert!(fsyncs >= 1);
        assert!(
            fsyncs < CALLERS as u64,
            "{fsyncs} fsyncs for {CALLERS} callers"
        );
        assert_eq!(wal.durable_lsn(), wal.last_lsn());
    }

    /// Waits, with a deadline, until `cond` holds; panics when it never does.
    #[track_caller]
    fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !cond() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::yield_now();
        }
    }

    #[test]
    fn appends_proceed_during_a_commit_and_waiters_share_the_next_fsync() {
        let dir = tempfile::tempdir().unwrap();
        let (wal, _) = open(dir.path());
        // The first commit blocks in the observer until released: a stand-in for a slow fsync.
        let (entered_tx, entered_rx) = mpsc::channel::<()>();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let gate = Mutex::new(Some((entered_tx, release_rx)));
        let observed = Arc::new(AtomicU64::new(0));
        let counter = observed.clone();
        wal.set_fsync_observer(Box::new(move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
            if let Some((entered, release)) = lock(&gate).take() {
                entered.send(()).unwrap();
                release.recv().unwrap();
            }
        }));
        const WAITERS: usize = 6;
        let before = wal.fsync_count();
        std::thread::scope(|s| {
            let first = wal.append(b"first").unwrap();
            let wal = &wal;
            s.spawn(move || wal.sync(first).unwrap());
            entered_rx.recv().unwrap();
            assert_eq!(wal.durable_lsn(), 0, "the first commit has not finished");
            // A commit is running: appends still go through.
            let lsns: Vec<Lsn> = (0..WAITERS)
                .map(|i| wal.append(&record(i, 100)).unwrap())
                .collect();
            for lsn in lsns {
                s.spawn(move || wal.sync(lsn).unwrap());
            }
            wait_until("all callers queued behind the running commit", || {
                wal.sync_waiters() == WAITERS
            });
            release_tx.send(()).unwrap();
        });
        assert_eq!(wal.durable_lsn(), wal.last_lsn());
        assert_eq!(
            observed.load(Ordering::SeqCst),
            2,
            "one commit, then one for all waiters"
        );
        assert_eq!(
            wal.fsync_count() - before,
            2,
            "{} callers, 2 fsyncs",
            WAITERS + 1
        );
    }

    #[test]
    fn sync_beyond_last_lsn_returns_and_durable_never_passes_appended() {
        let dir = tempfile::tempdir().unwrap();
        let (wal, _) = open(dir.path());
        wal.sync(1_000_000).unwrap();
        let lsn = wal.append(b"x").unwrap();
        assert_eq!(wal.durable_lsn(), 0);
        wal.sync(Lsn::MAX).unwrap();
        assert_eq!(wal.durable_lsn(), lsn);
        let count = wal.fsync_count();
        wal.sync(lsn).unwrap();
        assert_eq!(
            wal.fsync_count(),
            count,
            "an already durable lsn costs no fsync"
        );
    }

    mod prop {
        use super::*;
        use proptest::prelude::*;

        #[derive(Debug, Clone)]
        enum Op {
            Append(Vec<u8>),
            Sync,
            Rotate,
            Checkpoint,
            Reopen,
        }

        fn op() -> impl Strategy<Value = Op> {
            prop_oneof![
                6 => proptest::collection::vec(any::<u8>(), 0..700).prop_map(Op::Append),
                1 => Just(Op::Sync),
                1 => Just(Op::Rotate),
                1 => Just(Op::Checkpoint),
                1 => Just(Op::Reopen),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(32))]

            #[test]
            fn random_appends_rotations_and_reopens_round_trip(ops in proptest::collection::vec(op(), 1..60)) {
                let dir = tempfile::tempdir().unwrap();
                let options = opts(1024);
                let (mut wal, _) = Wal::open(dir.path(), options.clone()).unwrap();
                // What replay(from) must return: (start lsn, payload).
                let mut model: Vec<(Lsn, Vec<u8>)> = Vec::new();
                let mut from: Lsn = 0;
                for op in ops {
                    match op {
                        Op::Append(p) => {
                            let start = wal.last_lsn();
                            let end = wal.append(&p).unwrap();
                            prop_assert_eq!(end, start + 8 + p.len() as u64);
                            model.push((start, p));
                        }
                        Op::Sync => {
                            wal.sync_all().unwrap();
                            prop_assert_eq!(wal.durable_lsn(), wal.last_lsn());
                        }
                        Op::Rotate => {
                            let at = wal.rotate().unwrap();
                            prop_assert!(model.last().is_none_or(|(l, _)| *l < at));
                        }
                        Op::Checkpoint => {
                            from = wal.rotate().unwrap();
                            wal.truncate_before(from).unwrap();
                            model.retain(|(l, _)| *l >= from);
                        }
                        Op::Reopen => {
                            let last = wal.last_lsn();
                            drop(wal);
                            let (reopened, rec) = Wal::open(dir.path(), options.clone()).unwrap();
                            prop_assert_eq!((rec.torn_tail_bytes, rec.corrupt_records), (0, 0));
                            prop_assert!(reopened.last_lsn() >= last);
                            wal = reopened;
                        }
                    }
                    prop_assert_eq!(&replay_all(&wal, from), &model);
                }
                drop(wal);
                let (wal, _) = Wal::open(dir.path(), options).unwrap();
                prop_assert_eq!(&replay_all(&wal, from), &model);
            }
        }
    }
}
