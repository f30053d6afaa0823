//! What a directory must be before lookout writes into it. A data directory carries a marker
//! file naming its format; lookout refuses, with a message saying why and changing nothing,
//! a directory in a format it does not read (written by a newer or older lookout) and a
//! non-empty directory that is not a lookout data directory at all (`--data-dir /var/lib`
//! by mistake), so a typo can never scatter files among someone else's or make a future
//! version's data unreadable.
//!
//! A directory lookout created before the marker existed (it holds `metrics/`, `logs/`,
//! `ready.json` or `UNCLEAN`, and no marker) is adopted: the marker is written and the data
//! used as it is.

use std::path::Path;

use anyhow::{bail, Context};

/// The marker file, at the top of the data directory.
pub const MARKER_FILE: &str = "lookout-data.json";
/// The data directory format this build reads and writes. Raise it with any change that an
/// older build would misread; the engines' own files carry their own versions as well.
pub const FORMAT: u64 = 1;

/// Entries that show a directory without a marker was made by lookout.
const LOOKOUT_ENTRIES: [&str; 4] = ["metrics", "logs", "ready.json", "UNCLEAN"];

/// Creates `dir` if needed and checks (or writes) its marker. Errors say what was found and
/// what to do; nothing in the directory is changed on an error.
pub fn check_or_init(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating data directory {}", dir.display()))?;
    let marker = dir.join(MARKER_FILE);
    match std::fs::read(&marker) {
        Ok(bytes) => return check_marker(dir, &bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("reading {}", marker.display())),
    }
    let mut entries: Vec<String> = std::fs::read_dir(dir)
        .with_context(|| format!("listing data directory {}", dir.display()))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    entries.sort();
    let ours = entries
        .iter()
        .any(|e| LOOKOUT_ENTRIES.contains(&e.as_str()));
    if !entries.is_empty() && !ours {
        let shown: Vec<&str> = entries.iter().take(5).map(String::as_str).collect();
        bail!(
            "{} is not empty and is not a lookout data directory (it holds {}{}); lookout will \
             not write into it. Point --data-dir (or data_dir) at an empty or new directory.",
            dir.display(),
            shown.join(", "),
            if entries.len() > shown.len() {
                ", …"
            } else {
                ""
            }
        );
    }
    let body = format!(
        "{{\"format\": {FORMAT}, \"created_by\": \"lookout {}\"}}\n",
        env!("CARGO_PKG_VERSION")
    );
    lookout_disk::write_atomic(&marker, |w| w.write_all(body.as_bytes()))
        .with_context(|| format!("writing {}", marker.display()))?;
    Ok(())
}

fn check_marker(dir: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let value: serde_json::Value = serde_json::from_slice(bytes).with_context(|| {
        format!(
            "{} is damaged (not JSON); lookout will not guess what the directory holds",
            dir.join(MARKER_FILE).display()
        )
    })?;
    let format = value.get("format").and_then(serde_json::Value::as_u64);
    match format {
        Some(FORMAT) => Ok(()),
        Some(other) => bail!(
            "{} holds lookout data in format {other} ({}); this lookout {} reads format \
             {FORMAT} only. Nothing was changed: run the lookout that wrote it, or point \
             --data-dir at another directory.",
            dir.display(),
            value
                .get("created_by")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("written by an unknown version"),
            env!("CARGO_PKG_VERSION")
        ),
        None => bail!(
            "{} has no format number; lookout will not guess what the directory holds",
            dir.join(MARKER_FILE).display()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_and_empty_dirs_get_a_marker_and_pass_again() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let fresh = tmp.path().join("new");
        check_or_init(&fresh).expect("a new dir");
        assert!(fresh.join(MARKER_FILE).exists());
        check_or_init(&fresh).expect("the same dir again");
        check_or_init(tmp.path()).expect_err("holds `new`, which is not lookout's");
    }

    #[test]
    fn a_foreign_dir_is_refused_and_left_alone() {
        let tmp = tempfile::tempdir().expect("tempdir");
        std::fs::write(tmp.path().join("passwd"), "root:x:0:0").expect("write");
        let e = check_or_init(tmp.path()).expect_err("foreign").to_string();
        assert!(
            e.contains("not a lookout data directory") && e.contains("passwd"),
            "{e}"
        );
        let names: Vec<_> = std::fs::read_dir(tmp.path())
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, ["passwd"], "nothing written");
    }

    #[test]
    fn an_older_lookout_dir_is_adopted_and_another_format_refused() {
        let tmp = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(tmp.path().join("metrics")).expect("mkdir");
        check_or_init(tmp.path()).expect("adopted");
        assert!(tmp.path().join(MARKER_FILE).exists());
        let marker = tmp.path().join(MARKER_FILE);
        std::fs::write(
            &marker,
            "{\"format\": 2, \"created_by\": \"lookout 9.0.0\"}",
        )
        .expect("w");
        let e = check_or_init(tmp.path()).expect_err("format 2").to_string();
        assert!(e.contains("format 2") && e.contains("lookout 9.0.0"), "{e}");
        std::fs::write(&marker, "garbage").expect("w");
        let e = check_or_init(tmp.path()).expect_err("damaged").to_string();
        assert!(e.contains("damaged"), "{e}");
        assert_eq!(
            std::fs::read(&marker).expect("read"),
            b"garbage",
            "left as found"
        );
    }
}
