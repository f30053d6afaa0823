//! `lookout import whisper DIR`: migrates a Graphite installation by reading every `*.wsp`
//! file under DIR (series name = relative path, `/` → `.`, minus `.wsp`) into the metrics store
//! of the data directory, with each file's own retentions, aggregation method and
//! xFilesFactor. Decoding is `lookout_proto::whisper`; creating a series with a given schema
//! and learning where the engine stores each timestamp is `Tsdb::ensure_series` /
//! `series_layout`. This file owns the walk, the write plan, progress and resumption; it
//! does not decode bytes or know the engine's file formats.
//!
//! **Write plan.** The engine stores a series' finest archive and derives coarser ones from
//! it at read time; only timestamps older than a level's rollup watermark are stored at a
//! coarser level (see `crates/tsdb/src/rollup.rs`). So each whisper point is written where the
//! engine keeps its timestamp (`SeriesLayout::level_for`), archives coarsest first and finest
//! last so that finer data wins wherever both land on the same slot:
//! - at its own level: written as is;
//! - at a finer level (the engine still keeps finer slots there, typically up to one
//!   partition past the finer retention): the coarse value is spread over the finer slots of
//!   its bucket that no finer whisper archive covers, so that deriving the rollup gives it
//!   back exactly: every slot gets the value (average, max, min, last), or the last slot gets
//!   it and the others 0 (sum);
//! - at a coarser level: skipped (the coarser whisper archive has the real rollup), unless
//!   this is the file's coarsest archive.
//!
//! Whisper's methods avg_zero, absmax and absmin have no lookout equivalent: such series are
//! created with average, max and min, which changes only rollups computed from now on (the
//! imported values are exact), and the import says so.
//!
//! **Resuming.** Files finished and synced are listed (absolute path, size, mtime) in
//! `<data>/import-whisper.progress`, rewritten atomically at each checkpoint (every second and
//! at the end). A rerun skips them; a file interrupted half-way is imported again, which
//! rewrites the same slots with the same values (last write wins per slot), so every point is
//! stored once. `LOOKOUT_IMPORT_FAIL_AFTER=N` (a test hook) checkpoints after N files, writes
//! the next one without a checkpoint and exits with status 3, as a crash would.

use std::collections::HashSet;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use lookout_core::selfmon::Registry;
use lookout_core::{Aggregation, Durability, MetricAppender, Point};
use lookout_proto::whisper::{self, WhisperAggregation, WhisperFile};
use lookout_tsdb::{Ensured, Retention, SeriesLayout, SeriesSchema, Tsdb};

use crate::cli::{ServeArgs, WhisperImportArgs};
use crate::config::Config;
use crate::serve::METRICS_DIR;

/// The progress file in the data directory.
pub const PROGRESS_FILE: &str = "import-whisper.progress";
/// First line of the progress file.
const PROGRESS_HEADER: &str = "# lookout import whisper: finished files (size, mtime, path)";
/// How often progress is printed and a checkpoint (sync + progress file) is taken. One second
/// bounds the work a crash repeats, and one fsync a second costs nothing next to decoding.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);
/// Points per append: large enough to amortise the WAL record, small enough to stay far below
/// the engine's per-record split.
const BATCH_POINTS: usize = 100_000;
/// Largest whisper file read: 10s for 5 years is 190 MB; anything above 1 GiB is not a whisper
/// file written by carbon.
const MAX_FILE_BYTES: u64 = 1 << 30;
/// Test hook: see the module documentation.
const FAIL_AFTER_ENV: &str = "LOOKOUT_IMPORT_FAIL_AFTER";

/// A `.wsp` file found under DIR.
struct Source {
    path: PathBuf,
    /// Series name.
    name: String,
    /// Its line in the progress file: size, mtime and absolute path, tab-separated.
    key: String,
}

/// Entry point of `lookout import whisper`.
pub fn run(args: WhisperImportArgs) -> anyhow::Result<()> {
    let config = Config::load(&ServeArgs {
        config: args.config.clone(),
        data_dir: args.data_dir.clone(),
        ..ServeArgs::default()
    })?;
    let root = std::fs::canonicalize(&args.dir)
        .with_context(|| format!("reading whisper directory {}", args.dir.display()))?;
    let mut files = Vec::new();
    walk(&root, &root, &mut files)?;
    files.sort_by(|a, b| a.name.cmp(&b.name));
    if files.is_empty() {
        bail!("no .wsp file under {}", root.display());
    }
    let now = lookout_ingest::now_unix();
    if args.dry_run {
        return dry_run(&files);
    }

    let data_dir = config.data_dir.clone();
    crate::datadir::check_or_init(&data_dir)?;
    let metrics_dir = data_dir.join(METRICS_DIR);
    let tsdb = match Tsdb::open(&metrics_dir, config.tsdb_config()?, &Registry::new(), now) {
        Ok(t) => t,
        Err(lookout_tsdb::Error::Disk(lookout_disk::Error::Locked { .. })) => bail!(
            "the data directory {} is in use by a running lookout server: stop it, then import",
            data_dir.display()
        ),
        Err(e) => {
            return Err(e)
                .with_context(|| format!("opening metrics store at {}", metrics_dir.display()))
        }
    };
    let progress_path = data_dir.join(PROGRESS_FILE);
    let mut done = read_progress(&progress_path)?;
    let fail_after: Option<usize> = std::env::var(FAIL_AFTER_ENV)
        .ok()
        .and_then(|v| v.parse().ok());

    let mut progress = Progress::new(files.len());
    let mut failed = 0usize;
    let mut imported_now = 0usize;
    for src in &files {
        if done.contains(&src.key) {
            progress.skipped += 1;
            progress.files_done += 1;
            continue;
        }
        match import_file(&tsdb, src) {
            Ok(outcome) => {
                progress.points += outcome.points;
                for note in outcome.notes {
                    progress.say(&format!("{}: {note}", src.path.display()));
                }
                done.insert(src.key.clone());
                imported_now += 1;
            }
            Err(e) => {
                failed += 1;
                progress.say(&format!("{}: skipped: {e:#}", src.path.display()));
            }
        }
        progress.files_done += 1;
        if fail_after.is_some_and(|n| imported_now > n) {
            // Simulated crash: this file's points are in the WAL but not in the progress file.
            std::process::exit(3);
        }
        let forced = fail_after == Some(imported_now);
        if forced || progress.due() {
            checkpoint(&tsdb, &progress_path, &done, now)?;
            progress.show();
        }
    }
    checkpoint(&tsdb, &progress_path, &done, now)?;
    tsdb.close(now)
        .with_context(|| format!("closing metrics store at {}", metrics_dir.display()))?;
    progress.finish(failed);
    if failed > 0 {
        bail!(
            "{failed} of {} whisper files could not be imported (see above)",
            files.len()
        );
    }
    Ok(())
}

/// Finds every `*.wsp` file under `dir`, without following symlinked directories (a link
/// back up the tree would loop).
fn walk(root: &Path, dir: &Path, out: &mut Vec<Source>) -> anyhow::Result<()> {
    let entries = std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("listing {}", dir.display()))?;
        let path = entry.path();
        let kind = entry
            .file_type()
            .with_context(|| format!("reading {}", path.display()))?;
        if kind.is_dir() {
            walk(root, &path, out)?;
        } else if path.extension().is_some_and(|e| e == "wsp") {
            let Some(name) = series_name(root, &path) else {
                continue;
            };
            // A file changed since it was imported (size or mtime) is imported again.
            let meta = entry
                .metadata()
                .with_context(|| format!("reading {}", path.display()))?;
            let mtime = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_secs());
            let key = format!("{}\t{mtime}\t{}", meta.len(), path.display());
            out.push(Source { path, name, key });
        }
    }
    Ok(())
}

/// `root/a/b/c.wsp` → `a.b.c`.
fn series_name(root: &Path, path: &Path) -> Option<String> {
    let rel = path.strip_prefix(root).ok()?.with_extension("");
    let parts: Vec<&str> = rel.iter().map(|p| p.to_str()).collect::<Option<_>>()?;
    Some(parts.join("."))
}

/// What importing one file did.
struct Outcome {
    points: u64,
    notes: Vec<String>,
}

fn import_file(tsdb: &Tsdb, src: &Source) -> anyhow::Result<Outcome> {
    let file = read_whisper(&src.path)?;
    let mut notes = Vec::new();
    let (schema, substitute) = series_schema(&file);
    if let Some(used) = substitute {
        notes.push(format!(
            "aggregation {} is not supported; rollups of new points will use {}",
            file.aggregation.as_str(),
            used.as_str()
        ));
    }
    match tsdb
        .ensure_series(&src.name, &schema)
        .with_context(|| format!("creating series {}", src.name))?
    {
        Ensured::Created | Ensured::Exists => {}
        Ensured::Differs(kept) => notes.push(format!(
            "series {} already exists with retentions {} and {}; it keeps them",
            src.name,
            describe(&kept.retentions),
            kept.aggregation.as_str()
        )),
    }
    let layout = tsdb
        .series_layout(&src.name)
        .with_context(|| format!("series {} vanished during the import", src.name))?;
    let planned = plan(&file, &layout);
    let points: Vec<Point> = planned
        .into_iter()
        .map(|(ts, value)| Point {
            name: src.name.clone(),
            ts,
            value,
        })
        .collect();
    for batch in points.chunks(BATCH_POINTS) {
        tsdb.append(batch, Durability::Buffered)
            .with_context(|| format!("storing points of {}", src.name))?;
    }
    Ok(Outcome {
        points: points.len() as u64,
        notes,
    })
}

fn read_whisper(path: &Path) -> anyhow::Result<WhisperFile> {
    let len = std::fs::metadata(path)
        .with_context(|| format!("reading {}", path.display()))?
        .len();
    if len > MAX_FILE_BYTES {
        bail!("{len} bytes is too large for a whisper file");
    }
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(whisper::parse(&bytes)?)
}

/// The schema a file's series is created with, and the method used instead of the file's if
/// lookout lacks it.
fn series_schema(file: &WhisperFile) -> (SeriesSchema, Option<Aggregation>) {
    let (aggregation, substitute) = match file.aggregation {
        WhisperAggregation::Average => (Aggregation::Average, false),
        WhisperAggregation::Sum => (Aggregation::Sum, false),
        WhisperAggregation::Last => (Aggregation::Last, false),
        WhisperAggregation::Max => (Aggregation::Max, false),
        WhisperAggregation::Min => (Aggregation::Min, false),
        WhisperAggregation::AvgZero => (Aggregation::Average, true),
        WhisperAggregation::AbsMax => (Aggregation::Max, true),
        WhisperAggregation::AbsMin => (Aggregation::Min, true),
    };
    let mut retentions: Vec<Retention> = file
        .archives
        .iter()
        .map(|a| Retention {
            step_secs: i64::from(a.step),
            points: i64::from(a.slots),
        })
        .collect();
    retentions.sort_by_key(|r| r.step_secs);
    let schema = SeriesSchema {
        retentions,
        aggregation,
        x_files_factor: f64::from(file.x_files_factor),
    };
    (schema, substitute.then_some(aggregation))
}

/// The points to append for `file`, in append order (see the module documentation).
fn plan(file: &WhisperFile, layout: &SeriesLayout) -> Vec<(i64, f64)> {
    let mut archives: Vec<&whisper::WhisperArchive> = file.archives.iter().collect();
    archives.sort_by_key(|a| a.step);
    let sum = layout.schema.aggregation == Aggregation::Sum;
    let mut out = Vec::new();
    for j in (0..archives.len()).rev() {
        let archive = archives[j];
        let step = i64::from(archive.step);
        let coarsest = j + 1 == archives.len();
        // Slots after this are covered by the next finer archive, whose points come later. An
        // archive covers the span of its length ending at its newest point, as whisper reads
        // it, not the span ending at the time of the import: measured from the import's
        // clock, a file last updated minutes earlier would get coarse values spread into
        // slots its finer archive holds, and a sum counted twice. An empty archive covers
        // nothing.
        let finer = j.checked_sub(1).map(|i| archives[i]);
        let finer_cutoff = finer
            .and_then(|f| {
                f.points
                    .last()
                    .map(|&(newest, _)| newest.saturating_sub(f.retention()))
            })
            .unwrap_or(i64::MAX);
        for &(ts, value) in &archive.points {
            let level = layout.level_for(ts);
            let Some(level_step) = layout.schema.retentions.get(level).map(|r| r.step_secs) else {
                continue;
            };
            if level_step > step {
                if coarsest {
                    out.push((ts, value));
                }
                continue;
            }
            if level_step == step || step % level_step != 0 {
                // Stored at this archive's own step: finer points for the same time are not
                // kept there (they are skipped above), so this value is the only one.
                out.push((ts, value));
                continue;
            }
            let slots: Vec<i64> = (0..step / level_step)
                .map(|i| ts + i * level_step)
                .filter(|&s| s <= finer_cutoff)
                .collect();
            let Some(&last) = slots.last() else {
                continue;
            };
            // A bucket the finer archive covers in part: for a sum, the uncovered slots hold
            // what the covered ones do not already add up to, so the derived rollup is the
            // coarse value exactly.
            let covered: f64 = match finer {
                Some(f) if sum && last + level_step < ts + step => f
                    .points
                    .iter()
                    .filter(|&&(t, _)| t > finer_cutoff && t >= ts && t < ts + step)
                    .map(|&(_, v)| v)
                    .sum(),
                _ => 0.0,
            };
            for s in slots {
                let v = match (sum, s == last) {
                    (true, true) => value - covered,
                    (true, false) => 0.0,
                    (false, _) => value,
                };
                out.push((s, v));
            }
        }
    }
    out
}

fn describe(retentions: &[Retention]) -> String {
    retentions
        .iter()
        .map(|r| format!("{}s:{}", r.step_secs, r.points))
        .collect::<Vec<_>>()
        .join(",")
}

/// Syncs the store, then records the finished files: a file is listed only once its points
/// are on disk.
fn checkpoint(tsdb: &Tsdb, path: &Path, done: &HashSet<String>, now: i64) -> anyhow::Result<()> {
    tsdb.sync().context("syncing the metrics store")?;
    // Flushes the head once it is large, so a big import runs in bounded memory.
    tsdb.maintain(now).context("metrics store maintenance")?;
    let mut keys: Vec<&String> = done.iter().collect();
    keys.sort();
    lookout_disk::write_atomic(path, |w| {
        writeln!(w, "{PROGRESS_HEADER}")?;
        for k in keys {
            writeln!(w, "{k}")?;
        }
        Ok(())
    })
    .with_context(|| format!("writing {}", path.display()))
}

fn read_progress(path: &Path) -> anyhow::Result<HashSet<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .map(str::to_string)
            .collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(HashSet::new()),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

fn dry_run(files: &[Source]) -> anyhow::Result<()> {
    let mut failed = 0;
    for src in files {
        match read_whisper(&src.path) {
            Ok(file) => {
                let (schema, _) = series_schema(&file);
                let n: usize = file.archives.iter().map(|a| a.points.len()).sum();
                println!(
                    "{}\t{}\t{}\t{n} points",
                    src.name,
                    describe(&schema.retentions),
                    file.aggregation.as_str()
                );
            }
            Err(e) => {
                failed += 1;
                eprintln!("lookout: import: {}: {e:#}", src.path.display());
            }
        }
    }
    if failed > 0 {
        bail!(
            "{failed} of {} whisper files could not be read",
            files.len()
        );
    }
    Ok(())
}

/// Progress on stderr: one line a second, overwritten in place on a terminal.
struct Progress {
    total: usize,
    files_done: usize,
    skipped: usize,
    points: u64,
    started: Instant,
    last: Instant,
    tty: bool,
}

impl Progress {
    fn new(total: usize) -> Progress {
        let now = Instant::now();
        Progress {
            total,
            files_done: 0,
            skipped: 0,
            points: 0,
            started: now,
            last: now,
            tty: std::io::stderr().is_terminal(),
        }
    }

    fn due(&self) -> bool {
        self.last.elapsed() >= CHECKPOINT_EVERY
    }

    fn line(&self) -> String {
        let secs = self.started.elapsed().as_secs_f64().max(1e-3);
        format!(
            "import: {}/{} files, {} points, {:.0} points/s",
            self.files_done,
            self.total,
            self.points,
            self.points as f64 / secs
        )
    }

    fn show(&mut self) {
        self.last = Instant::now();
        if self.tty {
            eprint!("\r{}", self.line());
        } else {
            eprintln!("{}", self.line());
        }
    }

    fn say(&self, msg: &str) {
        if self.tty {
            eprintln!("\r{msg}");
        } else {
            eprintln!("{msg}");
        }
    }

    fn finish(&mut self, failed: usize) {
        self.show();
        if self.tty {
            eprintln!();
        }
        eprintln!(
            "import: done: {} files imported, {} already done, {} failed, {} points",
            self.files_done - self.skipped - failed,
            self.skipped,
            failed,
            self.points
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lookout_proto::whisper::WhisperArchive;

    fn file(aggregation: WhisperAggregation, archives: Vec<WhisperArchive>) -> WhisperFile {
        WhisperFile {
            aggregation,
            x_files_factor: 0.5,
            archives,
        }
    }

    fn layout(file: &WhisperFile, starts: Vec<i64>) -> SeriesLayout {
        SeriesLayout {
            schema: series_schema(file).0,
            level_starts: starts,
        }
    }

    #[track_caller]
    fn check(file: &WhisperFile, starts: Vec<i64>, want: &[(i64, f64)]) {
        assert_eq!(plan(file, &layout(file, starts)), want);
    }

    #[test]
    fn each_point_goes_where_the_engine_keeps_its_timestamp() {
        use WhisperAggregation::*;
        // 10 s for 40 s, 20 s for 200 s. The finer level is kept down to 999_900.
        let archives = |fine: &[(i64, f64)], coarse: &[(i64, f64)]| {
            vec![
                WhisperArchive {
                    step: 10,
                    slots: 4,
                    points: fine.to_vec(),
                },
                WhisperArchive {
                    step: 20,
                    slots: 10,
                    points: coarse.to_vec(),
                },
            ]
        };
        let starts = vec![i64::MIN, 999_900];
        // Coarse points below the watermark are written as they are; those above it, and not
        // covered by the fine archive (4 slots ending at its newest point, 999_980: it covers
        // after 999_940, gaps included), are spread over the fine slots; fine points come
        // last.
        let f = file(
            Average,
            archives(
                &[(999_970, 1.0), (999_980, 2.0)],
                &[(999_880, 5.0), (999_940, 6.0), (999_960, 7.0)],
            ),
        );
        check(
            &f,
            starts.clone(),
            &[
                (999_880, 5.0),
                (999_940, 6.0),
                (999_970, 1.0),
                (999_980, 2.0),
            ],
        );
        // Sum spreads so that the sum is the coarse value.
        let f = file(Sum, archives(&[], &[(999_940, 6.0)]));
        check(&f, starts.clone(), &[(999_940, 0.0), (999_950, 6.0)]);
        // A bucket the fine archive covers in part: the uncovered slot holds what the covered
        // ones lack, so the sum is still the coarse value (not the coarse value plus theirs).
        let f = file(
            Sum,
            archives(&[(999_950, 2.0), (999_980, 4.0)], &[(999_940, 5.0)]),
        );
        check(
            &f,
            starts.clone(),
            &[(999_940, 3.0), (999_950, 2.0), (999_980, 4.0)],
        );
        // A fine point older than the fine level's watermark is skipped: the coarse archive
        // holds the real rollup there.
        let f = file(Max, archives(&[(999_890, 9.0)], &[(999_880, 5.0)]));
        check(&f, starts, &[(999_880, 5.0)]);
        // The coarsest archive is written even where the engine keeps a coarser step.
        let single = file(
            Last,
            vec![WhisperArchive {
                step: 10,
                slots: 100,
                points: vec![(999_500, 3.0)],
            }],
        );
        let mut l = layout(&single, vec![i64::MIN, 999_900]);
        l.schema.retentions.push(Retention {
            step_secs: 60,
            points: 1000,
        });
        assert_eq!(plan(&single, &l), vec![(999_500, 3.0)]);
    }

    #[test]
    fn names_and_schemas_follow_the_file() {
        let root = Path::new("/w");
        let name = |p: &str| series_name(root, Path::new(p));
        assert_eq!(name("/w/a/b/c.wsp").as_deref(), Some("a.b.c"));
        assert_eq!(name("/w/top.wsp").as_deref(), Some("top"));
        assert_eq!(name("/elsewhere/x.wsp"), None);
        let f = file(
            WhisperAggregation::AbsMax,
            vec![
                WhisperArchive {
                    step: 300,
                    slots: 10,
                    points: vec![],
                },
                WhisperArchive {
                    step: 60,
                    slots: 100,
                    points: vec![],
                },
            ],
        );
        let (s, substitute) = series_schema(&f);
        assert_eq!(substitute, Some(Aggregation::Max));
        assert_eq!(
            s.retentions.iter().map(|r| r.step_secs).collect::<Vec<_>>(),
            vec![60, 300]
        );
        assert_eq!(s.x_files_factor, 0.5);
    }
}
