//! `lookout import whisper`: whisper files written by Debian's python3-whisper (several
//! archives, average/sum/max/last, a wrapped archive with stale slots) are imported, and the
//! server then renders exactly what `whisper.fetch` returns for recent ranges (finest archive)
//! and old ones (coarse archive). Also: a running server's data directory is refused, a
//! truncated file is reported and skipped while the rest is imported (exit status 1), and an
//! import interrupted half-way resumes, skipping finished files, with every point once.

use std::path::Path;
use std::process::{Command, Output};

use crate::util::{datapoints, now, Lookout};

/// Writes the test files. Argument: t0 (the time the data ends). Archives: 1 min for 2 hours,
/// 5 min for a day. Phase 1 writes 26 h..3 h ago as seen 3 h ago; phase 2 writes the last 3 h
/// with every 7th minute missing, so the 1-minute archive wraps and keeps stale slots where
/// phase 2 left gaps.
const CREATE: &str = r#"
import os, sys, whisper
root, t0 = sys.argv[1], int(sys.argv[2])
t0 -= t0 % 300
files = {"web/a/avg.wsp": "average", "web/a/sum.wsp": "sum", "web/b/max.wsp": "max",
         "db/c/last.wsp": "last"}
for rel, method in files.items():
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    whisper.create(path, [(60, 120), (300, 288)], xFilesFactor=0.5 if method == "average" else 0.0,
                   aggregationMethod=method)
    value = lambda t: float((t // 60) % 23) * (1.5 if method == "max" else 1.0) - 4.0
    old = [(t, value(t)) for t in range(t0 - 26 * 3600, t0 - 3 * 3600 + 1, 60)]
    whisper.update_many(path, old, now=t0 - 3 * 3600)
    new = [(t, value(t) + 0.25) for t in range(t0 - 3 * 3600 + 60, t0 + 1, 60) if (t // 60) % 7]
    whisper.update_many(path, new, now=t0)
print(t0)
"#;

/// Prints `whisper.fetch` of every file for each `from:until` argument as JSON:
/// `{name: [[ts, value or null], ...] per range}`.
const FETCH: &str = r#"
import json, os, sys, whisper
root, ranges = sys.argv[1], [tuple(map(int, r.split(":"))) for r in sys.argv[2:]]
out = {}
for dirpath, _, names in os.walk(root):
    for n in names:
        if not n.endswith(".wsp") or n == "bad.wsp":
            continue
        path = os.path.join(dirpath, n)
        name = os.path.relpath(path, root)[:-4].replace("/", ".")
        out[name] = []
        for f, u in ranges:
            (start, end, step), values = whisper.fetch(path, f, u)
            out[name].append([[start + i * step, v] for i, v in enumerate(values)])
print(json.dumps(out))
"#;

fn python(script: &str, args: &[String]) -> String {
    let out = Command::new("/usr/bin/python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("running python3 (scripts/test installs python3-whisper)");
    assert!(
        out.status.success(),
        "python3 failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn import(dir: &Path, data: &Path, env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lookout"))
        .args(["import", "whisper"])
        .arg(dir)
        .arg("--data-dir")
        .arg(data)
        .envs(env.iter().copied())
        .current_dir(dir)
        .output()
        .expect("running lookout import")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Ranges `(from, until)` checked: two in the 1-minute archive, two in the 5-minute one
/// (one of them inside the finer archive's span, where lookout derives the rollup).
fn ranges(t0: i64) -> Vec<(i64, i64)> {
    vec![
        (t0 - 3600, t0 - 60),
        (t0 - 5400, t0 - 1800),
        (t0 - 20 * 3600, t0 - 4 * 3600),
        (t0 - 23 * 3600, t0 - 600),
    ]
}

/// Every range of every imported series renders as `whisper.fetch` returns it.
fn assert_same_as_whisper(l: &Lookout, wsp: &Path, t0: i64) {
    let ranges = ranges(t0);
    let args: Vec<String> = std::iter::once(wsp.display().to_string())
        .chain(ranges.iter().map(|(f, u)| format!("{f}:{u}")))
        .collect();
    let want: serde_json::Value = serde_json::from_str(&python(FETCH, &args)).unwrap();
    let want = want.as_object().unwrap();
    assert_eq!(want.len(), 4);
    for (name, per_range) in want {
        for ((from, until), expected) in ranges.iter().zip(per_range.as_array().unwrap()) {
            let got = l.render_json(name, *from, *until);
            let got = datapoints(&got[0]);
            let expected: Vec<(i64, Option<f64>)> = expected
                .as_array()
                .unwrap()
                .iter()
                .map(|p| (p[0].as_i64().unwrap(), p[1].as_f64()))
                .collect();
            assert!(
                expected.iter().filter(|p| p.1.is_some()).count() > 10,
                "{name} {from}..{until}: the fixture has too little data"
            );
            assert_eq!(got.len(), expected.len(), "{name} {from}..{until}");
            for (g, e) in got.iter().zip(&expected) {
                let same = g.0 == e.0
                    && match (g.1, e.1) {
                        (Some(a), Some(b)) => (a - b).abs() <= 1e-9 * b.abs().max(1.0),
                        (None, None) => true,
                        _ => false,
                    };
                assert!(same, "{name} {from}..{until}: got {g:?}, whisper {e:?}");
            }
        }
    }
}

#[test]
fn whisper_tree_is_imported_resumably_and_renders_like_whisper_fetch() {
    let mut l = Lookout::start();
    let wsp = l.scratch_dir().join("whisper");
    let t0: i64 = python(CREATE, &[wsp.display().to_string(), now().to_string()])
        .trim()
        .parse()
        .unwrap();
    // A truncated file among good ones.
    let good = std::fs::read(wsp.join("web/a/avg.wsp")).unwrap();
    std::fs::write(wsp.join("bad.wsp"), &good[..100]).unwrap();
    let data = l.data_dir();

    // The running server holds the data directory.
    let out = import(&wsp, &data, &[]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("in use by a running lookout server"),
        "{}",
        stderr(&out)
    );
    l.terminate();

    // Interrupted after two files (the third written but not recorded).
    let out = import(&wsp, &data, &[("LOOKOUT_IMPORT_FAIL_AFTER", "2")]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let progress = std::fs::read_to_string(data.join("import-whisper.progress")).unwrap();
    assert_eq!(
        progress.lines().filter(|l| l.contains(".wsp")).count(),
        2,
        "{progress}"
    );

    // The rerun skips them, reports the truncated file and imports the rest.
    let out = import(&wsp, &data, &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("bad.wsp: skipped") && err.contains("truncated"),
        "{err}"
    );
    assert!(err.contains("2 already done, 1 failed"), "{err}");
    // A third run has nothing left but the broken file.
    let out = import(&wsp, &data, &[]);
    assert!(
        stderr(&out).contains("0 files imported, 4 already done, 1 failed"),
        "{}",
        stderr(&out)
    );

    l.restart();
    assert_same_as_whisper(&l, &wsp, t0);
}
