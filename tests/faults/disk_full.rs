//! A full disk: the data directory is a small tmpfs mounted in a private mount namespace (util-
//! linux `unshare`, as root or through an unprivileged user namespace), held open by a helper
//! process so restarts find the same files; the server runs inside it through `nsenter`. With
//! the disk filled, HTTP ingestion must be refused with 503 naming the full disk, never 2xx
//! for data that is not durable; the server must stay up; stored data must stay readable;
//! once space frees, ingestion resumes by itself, and after a restart everything acknowledged
//! before, during and after is there, undamaged.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use super::{assert_clean_start, log_messages, ndjson, try_post_logs, try_post_metrics};
use crate::util::{aligned_ago, now, wait_until_ok, Launch, Lookout, DATA_DEADLINE};

/// Size of the tmpfs: room for the server's files with margin, small enough to fill quickly.
const TMPFS_MB: u64 = 16;
/// Requests sent against the full disk at most; the test needs only a few refusals of each.
const MAX_TRIES_WHILE_FULL: usize = 200;

/// A tmpfs mounted on a directory inside a mount namespace that a helper process (`cat`,
/// waiting on its stdin) keeps alive; dropping it ends the helper and with it the mount.
struct Tmpfs {
    holder: Child,
    dir: PathBuf,
    /// Whether the namespace is inside a new user namespace (needed when not root).
    userns: bool,
}

impl Tmpfs {
    /// Mounts a tmpfs of `mb` MiB on `dir`, trying an unprivileged user namespace first and a
    /// plain mount namespace (root) second; panics with both errors if neither works, so the
    /// test can never pass without having run.
    fn mount(dir: &Path, mb: u64) -> Tmpfs {
        let mut errors = Vec::new();
        for userns in [true, false] {
            let mut cmd = Command::new("unshare");
            if userns {
                cmd.args(["--user", "--map-root-user"]);
            }
            let spawned = cmd
                .args(["--mount", "sh", "-c"])
                .arg("mount -t tmpfs -o size=\"$1\" tmpfs \"$2\" && echo mounted && exec cat")
                .arg("sh")
                .arg(format!("{mb}m"))
                .arg(dir)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn();
            let mut holder = match spawned {
                Ok(c) => c,
                Err(e) => {
                    errors.push(format!("running unshare: {e}"));
                    continue;
                }
            };
            let mut line = String::new();
            let stdout = holder.stdout.take().expect("piped stdout");
            let _ = BufReader::new(stdout).read_line(&mut line);
            if line.trim() == "mounted" {
                return Tmpfs {
                    holder,
                    dir: dir.to_path_buf(),
                    userns,
                };
            }
            let _ = holder.kill();
            let out = holder.wait_with_output().expect("waiting for unshare");
            errors.push(format!(
                "unshare{} --mount: {}",
                if userns { " --user" } else { "" },
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        panic!(
            "the disk-full test needs a small tmpfs: util-linux `unshare` with either root or \
             unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1). Tried: {}",
            errors.join("; ")
        );
    }

    /// The directory as this process sees it: through the helper's root, in its namespace.
    fn view(&self) -> PathBuf {
        let mut p = PathBuf::from(format!("/proc/{}/root", self.holder.id()));
        p.push(self.dir.strip_prefix("/").expect("an absolute path"));
        p
    }

    /// How the server is started inside the namespace.
    fn launch(&self, workdir: &Path) -> Launch {
        let mut wrapper = vec![
            "nsenter".to_string(),
            format!("--target={}", self.holder.id()),
        ];
        if self.userns {
            wrapper.extend(["--user".to_string(), "--preserve-credentials".to_string()]);
        }
        wrapper.extend([
            "--mount".to_string(),
            format!("--wd={}", workdir.display()),
            "--".to_string(),
        ]);
        Launch {
            wrapper,
            env: Vec::new(),
            data_view: Some(self.view()),
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = self.holder.kill();
        let _ = self.holder.wait();
    }
}

/// Writes `path` until the file system refuses (in 1 MiB, then 4 KiB writes, so no whole page
/// is left); returns the bytes written.
fn fill(path: &Path) -> u64 {
    let mut f = std::fs::File::create(path).expect("creating the filler");
    let mut written = 0u64;
    for chunk in [1 << 20, 4096] {
        let buf = vec![0xa5u8; chunk];
        loop {
            match f.write(&buf) {
                Ok(0) => break,
                Ok(n) => written += n as u64,
                Err(e) if e.raw_os_error() == Some(28) || e.kind() == ErrorKind::StorageFull => {
                    break
                }
                Err(e) => panic!("writing the filler: {e}"),
            }
            assert!(
                written <= TMPFS_MB << 20,
                "the filler never filled the tmpfs"
            );
        }
    }
    written
}

fn metric_body(batch: usize, base: i64) -> String {
    (0..5)
        .map(|s| {
            format!(
                "full.s{s} {} {}\n",
                batch * 10 + s,
                base + batch as i64 * 10
            )
        })
        .collect()
}

fn log_lines(batch: usize) -> Vec<String> {
    (0..5)
        .map(|i| format!("full batch {batch} line {i}"))
        .collect()
}

/// Acknowledged data so far, checked after the restart.
#[derive(Default)]
struct Acked {
    batches: Vec<usize>,
    logs: HashSet<String>,
}

impl Acked {
    /// Sends metric batch `batch`; true if acknowledged. A refusal must be 503 naming the
    /// full disk.
    fn metrics(&mut self, l: &Lookout, batch: usize, base: i64) -> bool {
        let r = try_post_metrics(l, &metric_body(batch, base)).expect("server reachable");
        if r.status == 200 {
            self.batches.push(batch);
            return true;
        }
        assert_refused(r.status, &r.text(), "metrics");
        false
    }

    fn logs(&mut self, l: &Lookout, batch: usize) -> bool {
        let lines = log_lines(batch);
        let r = try_post_logs(l, &ndjson("faults.full", Some(now() * 1000), &lines))
            .expect("server reachable");
        if r.status == 200 {
            self.logs.extend(lines);
            return true;
        }
        assert_refused(r.status, &r.text(), "logs");
        false
    }
}

#[track_caller]
fn assert_refused(status: u16, body: &str, what: &str) {
    assert!(
        (status == 503 || status == 507) && body.contains("disk full"),
        "{what} on a full disk: want 503/507 naming the full disk, got {status}: {body}"
    );
}

#[test]
fn a_full_disk_refuses_ingestion_keeps_stored_data_and_resumes_when_space_frees() {
    let mut tmpfs = None;
    let mut l = Lookout::start_launched(&["--retention", ".*=10s:1d"], |data| {
        let t = Tmpfs::mount(data, TMPFS_MB);
        let launch = t.launch(data.parent().expect("the data dir has a parent"));
        tmpfs = Some(t);
        launch
    });
    let base = aligned_ago(6 * 3600);
    let mut acked = Acked::default();
    let mut batch = 0;
    // Before: some data in blocks, some only in the WAL and head.
    for _ in 0..10 {
        assert!(acked.metrics(&l, batch, base) && acked.logs(&l, batch));
        batch += 1;
        if batch == 5 {
            l.flush();
        }
    }

    let filler = l.data_view().join("filler");
    let filled = fill(&filler);
    let acked_before_full = acked.batches.len();
    let (mut metrics_refused, mut logs_refused) = (0, 0);
    for _ in 0..MAX_TRIES_WHILE_FULL {
        // Room left in a WAL segment's last page may take a few more records: those are
        // durable and acknowledged, which is right; the test only needs refusals to follow.
        if !acked.metrics(&l, batch, base) {
            metrics_refused += 1;
        }
        if !acked.logs(&l, batch) {
            logs_refused += 1;
        }
        batch += 1;
        if metrics_refused >= 3 && logs_refused >= 3 {
            break;
        }
    }
    eprintln!(
        "disk_full: filler of {filled} bytes; {} metric batches acknowledged while full, then \
         {metrics_refused} metric and {logs_refused} log batches refused",
        acked.batches.len() - acked_before_full
    );
    assert!(
        metrics_refused >= 3 && logs_refused >= 3,
        "a full disk never refused ingestion ({metrics_refused} metric and {logs_refused} log \
         refusals in {MAX_TRIES_WHILE_FULL} tries)"
    );
    // Unacknowledged input and a head flush meet the full disk too; neither may take the
    // server down, and the flush must not claim success.
    l.send_tcp(b"full.tcp 1 -1\n");
    let r = l.post("/api/v1/admin/flush", "text/plain", b"");
    assert_refused(r.status, &r.text(), "a head flush");
    assert!(l.healthy(), "the server is not healthy on a full disk");
    assert!(!l.stderr().contains("panicked"), "{}", l.stderr());
    assert!(
        l.metric_sum(
            "lookout_tsdb_write_errors_total",
            &[("reason", "disk_full")]
        ) >= 3.0,
        "metric write errors not counted"
    );
    assert!(
        l.metric_sum(
            "lookout_logs_write_errors_total",
            &[("reason", "disk_full")]
        ) >= 3.0,
        "log write errors not counted"
    );
    check_points(&l, base, &acked.batches);

    // Space frees: ingestion resumes without a restart.
    std::fs::remove_file(&filler).expect("removing the filler");
    let resumed = wait_until_ok(DATA_DEADLINE, || {
        let ok = acked.metrics(&l, batch, base) && acked.logs(&l, batch);
        batch += 1;
        ok
    });
    assert!(resumed, "ingestion did not resume after space was freed");
    for _ in 0..5 {
        assert!(acked.metrics(&l, batch, base) && acked.logs(&l, batch));
        batch += 1;
    }
    l.flush();
    l.terminate();
    l.restart();
    assert_clean_start(&l, "restart after the disk was full");
    check_points(&l, base, &acked.batches);
    let stored = log_messages(&l, "faults.full", now() - 3600, now() + 3600);
    let lost: Vec<&String> = acked.logs.difference(&stored).collect();
    assert!(lost.is_empty(), "acknowledged log lines lost: {lost:?}");
    drop(l);
    drop(tmpfs);
}

/// Every acknowledged batch renders exactly.
#[track_caller]
fn check_points(l: &Lookout, base: i64, batches: &[usize]) {
    for s in 0..5 {
        let name = format!("full.s{s}");
        let got = l.render_points(&name, base - 10, base + 3600);
        let points: std::collections::HashMap<i64, f64> = got
            .first()
            .map(|(_, p)| p.iter().copied().collect())
            .unwrap_or_default();
        for &b in batches {
            let ts = base + b as i64 * 10;
            assert_eq!(
                points.get(&ts),
                Some(&((b * 10 + s) as f64)),
                "{name}: acknowledged batch {b} lost"
            );
        }
    }
}
