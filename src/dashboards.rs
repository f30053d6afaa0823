//! Saved dashboards: one JSON document per dashboard under `<data>/dashboards/<id>.json`,
//! replaced atomically on every save, plus the built-in read-only `lookout` dashboard (the
//! server's own health) that a saved document of the same id overrides. It owns ids, the
//! document check and the files; the HTTP shapes are in `http/dashboards.rs` and the document
//! format is specified in `docs/format/dashboard.md`.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::Context;
use serde::Serialize;
use serde_json::{json, Value};

/// Subdirectory of the data directory holding the documents.
pub const DASHBOARDS_DIR: &str = "dashboards";
/// Id of the built-in dashboard.
pub const BUILTIN_ID: &str = "lookout";
/// Largest accepted document: a dashboard is hand-made, so a megabyte is hundreds of panels.
pub const MAX_DOCUMENT_BYTES: usize = 1 << 20;
/// Longest id; ids are file names and URL segments.
const MAX_ID_LEN: usize = 64;

/// One line of the dashboard list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub id: String,
    pub title: String,
    /// Unix seconds of the last save; 0 for the unsaved built-in.
    pub updated: i64,
}

/// Checks an id: `[a-z0-9_-]{1,64}`, so it can never name a path outside the directory.
pub fn check_id(id: &str) -> Result<(), String> {
    let ok = !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "dashboard id {id:?} must be 1 to {MAX_ID_LEN} characters of a-z, 0-9, _ and -"
        ))
    }
}

/// Checks a document: a JSON object with a string `title` and an array `panels`.
pub fn check_document(doc: &Value) -> Result<(), String> {
    let Some(obj) = doc.as_object() else {
        return Err("a dashboard must be a JSON object".to_string());
    };
    if !obj.get("title").is_some_and(Value::is_string) {
        return Err("a dashboard needs a \"title\" string".to_string());
    }
    if !obj.get("panels").is_some_and(Value::is_array) {
        return Err("a dashboard needs a \"panels\" array".to_string());
    }
    Ok(())
}

/// An id made from a title: lowercase, runs of other characters as one `-`.
fn slug(title: &str) -> String {
    let mut s = String::new();
    for c in title.chars() {
        if c.is_ascii_alphanumeric() {
            s.push(c.to_ascii_lowercase());
        } else if !s.ends_with('-') && !s.is_empty() {
            s.push('-');
        }
    }
    // Room for a `-NNNN` suffix within the id length.
    s.truncate(MAX_ID_LEN - 8);
    let s = s.trim_end_matches('-').to_string();
    if s.is_empty() {
        "dashboard".to_string()
    } else {
        s
    }
}

/// The documents on disk; saves and creations are serialised by a lock so two creations
/// never pick the same id.
pub struct DashboardStore {
    dir: PathBuf,
    lock: Mutex<()>,
}

impl DashboardStore {
    /// Opens (creating if needed) `<data_dir>/dashboards`.
    pub fn open(data_dir: &Path) -> anyhow::Result<DashboardStore> {
        let dir = data_dir.join(DASHBOARDS_DIR);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(DashboardStore {
            dir,
            lock: Mutex::new(()),
        })
    }

    fn path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }

    /// Every dashboard, by id; the built-in is listed unless a saved copy overrides it.
    pub fn list(&self) -> anyhow::Result<Vec<Summary>> {
        let mut out = Vec::new();
        let entries = std::fs::read_dir(&self.dir)
            .with_context(|| format!("listing {}", self.dir.display()))?;
        for entry in entries {
            let entry = entry.with_context(|| format!("listing {}", self.dir.display()))?;
            let name = entry.file_name();
            let Some(id) = name.to_str().and_then(|n| n.strip_suffix(".json")) else {
                continue;
            };
            if check_id(id).is_err() {
                continue;
            }
            // A damaged file is still listed (by its id), so it can be replaced or deleted;
            // reading it alone answers the error.
            match self.read(id) {
                Ok(Some(doc)) => out.push(summary(id, &doc)),
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!("listing dashboards: {e:#}");
                    out.push(summary(id, &Value::Null));
                }
            }
        }
        if !out.iter().any(|s| s.id == BUILTIN_ID) {
            out.push(summary(BUILTIN_ID, &builtin()));
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    /// The document `id`: the saved one, else the built-in for its id, else `None`. The id
    /// must have passed [`check_id`].
    pub fn read(&self, id: &str) -> anyhow::Result<Option<Value>> {
        let path = self.path(id);
        match std::fs::read(&path) {
            Ok(bytes) => {
                let doc = serde_json::from_slice(&bytes)
                    .with_context(|| format!("reading {}", path.display()))?;
                Ok(Some(doc))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Ok((id == BUILTIN_ID).then(builtin))
            }
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }

    /// Saves `doc` (already checked) as `id` with `id` and `updated = now` set in it; returns
    /// once the file is replaced and the directory synced.
    pub fn write(&self, id: &str, doc: Value, now: i64) -> anyhow::Result<i64> {
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        self.write_locked(id, doc, now)
    }

    fn write_locked(&self, id: &str, mut doc: Value, now: i64) -> anyhow::Result<i64> {
        if let Some(obj) = doc.as_object_mut() {
            obj.insert("id".to_string(), json!(id));
            obj.insert("updated".to_string(), json!(now));
        }
        let body = serde_json::to_vec_pretty(&doc)?;
        let path = self.path(id);
        lookout_disk::write_atomic(&path, |w| w.write_all(&body))
            .with_context(|| format!("writing {}", path.display()))?;
        Ok(now)
    }

    /// Saves `doc` under a new id made from its title; returns the id.
    pub fn create(&self, doc: Value, now: i64) -> anyhow::Result<String> {
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let base = slug(doc.get("title").and_then(Value::as_str).unwrap_or(""));
        let mut id = base.clone();
        let mut n = 1u32;
        while id == BUILTIN_ID || self.path(&id).exists() {
            n += 1;
            id = format!("{base}-{n}");
        }
        self.write_locked(&id, doc, now)?;
        Ok(id)
    }

    /// Deletes the saved document `id`; `false` if there was none. Deleting a saved copy of
    /// the built-in brings the built-in back.
    pub fn delete(&self, id: &str) -> anyhow::Result<bool> {
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let path = self.path(id);
        match std::fs::remove_file(&path) {
            Ok(()) => {
                // The removal itself must survive a crash, like a save.
                std::fs::File::open(&self.dir)
                    .and_then(|d| d.sync_all())
                    .with_context(|| format!("syncing {}", self.dir.display()))?;
                Ok(true)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e).with_context(|| format!("deleting {}", path.display())),
        }
    }
}

fn summary(id: &str, doc: &Value) -> Summary {
    Summary {
        id: id.to_string(),
        title: doc
            .get("title")
            .and_then(Value::as_str)
            .unwrap_or(id)
            .to_string(),
        updated: doc.get("updated").and_then(Value::as_i64).unwrap_or(0),
    }
}

/// The built-in dashboard: lookout's own health from its `lookout.*` self-metric series
/// (named by `selfmon::Registry::samples`, written by `selfmetrics.rs`). There is no query
/// latency series and lookout does not log into its own log store, so neither has a panel.
pub fn builtin() -> Value {
    let graph = |x: u32, y: u32, title: &str, unit: &str, targets: &[&str]| {
        json!({
            "type": "graph",
            "title": title,
            "unit": unit,
            "targets": targets,
            "grid": {"x": x, "y": y, "w": 6, "h": 4},
        })
    };
    json!({
        "id": BUILTIN_ID,
        "title": "lookout",
        "builtin": true,
        "time": {"from": "-1h", "until": "now"},
        "refresh": "30s",
        "variables": [],
        "panels": [
            graph(0, 0, "Points received per second", "/s",
                &["aliasByNode(perSecond(lookout.ingest.points_received_total.*), 3)"]),
            graph(6, 0, "Log records received per second", "/s",
                &["aliasByNode(perSecond(lookout.ingest.records_received_total.*), 3)"]),
            graph(0, 4, "Invalid and dropped input per second", "/s", &[
                "aliasByNode(perSecond(lookout.ingest.records_invalid_total.*), 3)",
                "aliasByNode(perSecond(lookout.ingest.points_dropped_total.*), 3)",
            ]),
            graph(6, 4, "WAL fsyncs per second", "/s",
                &["alias(perSecond(lookout.disk.wal_fsync_seconds.count), 'fsyncs')"]),
            graph(0, 8, "WAL and disk bytes", "bytes", &[
                "alias(lookout.tsdb.wal_bytes, 'wal')",
                "alias(lookout.tsdb.disk_bytes, 'metrics disk')",
                "alias(lookout.logs.block_bytes, 'log blocks')",
            ]),
            graph(6, 8, "Log records stored per second", "/s",
                &["alias(perSecond(lookout.logs.records_appended_total), 'stored')"]),
            {
                "type": "stat",
                "title": "Resident memory",
                "target": "lookout.process.resident_bytes",
                "unit": "bytes",
                "thresholds": [{"value": 1073741824u64, "color": "orange"}, {"value": 4294967296u64, "color": "red"}],
                "grid": {"x": 0, "y": 12, "w": 3, "h": 2},
            },
            {
                "type": "stat",
                "title": "Series",
                "target": "lookout.tsdb.series",
                "thresholds": [],
                "grid": {"x": 3, "y": 12, "w": 3, "h": 2},
            },
            graph(6, 12, "Points stored per second", "/s",
                &["alias(perSecond(lookout.tsdb.points_appended_total), 'stored')"]),
            // Resident against in use tells a leak (both climb) from memory the allocator
            // only holds (the gap); the stat above shows the same resident series.
            graph(0, 14, "Memory", "bytes", &[
                "alias(lookout.process.resident_bytes, 'resident')",
                "alias(lookout.process.heap_in_use_bytes, 'heap in use')",
            ]),
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(id: &str, ok: bool) {
        assert_eq!(check_id(id).is_ok(), ok, "{id:?}");
    }

    #[test]
    fn ids_are_safe_file_names() {
        check("lookout", true);
        check("web-01_b", true);
        check(&"a".repeat(64), true);
        check(&"a".repeat(65), false);
        check("", false);
        check("..", false);
        check("../etc", false);
        check("a/b", false);
        check("Upper", false);
        check("a.json", false);
        check("a b", false);
        check("é", false);
    }

    #[track_caller]
    fn check_doc(doc: Value, ok: bool) {
        assert_eq!(check_document(&doc).is_ok(), ok, "{doc}");
    }

    #[test]
    fn documents_need_a_title_and_panels() {
        check_doc(json!({"title": "t", "panels": []}), true);
        check_doc(json!({"title": "t"}), false);
        check_doc(json!({"panels": []}), false);
        check_doc(json!({"title": 3, "panels": []}), false);
        check_doc(json!({"title": "t", "panels": {}}), false);
        check_doc(json!([]), false);
        check_doc(json!("x"), false);
    }

    #[test]
    fn slugs_are_valid_ids() {
        for (title, want) in [
            ("Web Front", "web-front"),
            ("  --  ", "dashboard"),
            ("Ünïcode!", "n-code"),
            ("API / latency (p99)", "api-latency-p99"),
        ] {
            assert_eq!(slug(title), want, "{title:?}");
            check_id(&slug(title)).unwrap();
        }
        check_id(&slug(&"x".repeat(500))).unwrap();
    }

    #[test]
    fn builtin_is_a_valid_document_overridden_by_a_save() {
        check_document(&builtin()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let store = DashboardStore::open(dir.path()).unwrap();
        assert_eq!(store.read(BUILTIN_ID).unwrap(), Some(builtin()));
        assert_eq!(store.list().unwrap()[0].updated, 0);
        store
            .write(BUILTIN_ID, json!({"title": "mine", "panels": []}), 50)
            .unwrap();
        assert_eq!(store.read(BUILTIN_ID).unwrap().unwrap()["title"], "mine");
        assert_eq!(
            store.list().unwrap(),
            [Summary {
                id: BUILTIN_ID.into(),
                title: "mine".into(),
                updated: 50
            }]
        );
        assert!(store.delete(BUILTIN_ID).unwrap());
        assert_eq!(store.read(BUILTIN_ID).unwrap(), Some(builtin()));
        assert!(!store.delete(BUILTIN_ID).unwrap());
    }

    #[test]
    fn creations_get_distinct_ids_and_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let store = DashboardStore::open(dir.path()).unwrap();
        let doc = json!({"title": "Web", "panels": [{"type": "graph"}]});
        let a = store.create(doc.clone(), 10).unwrap();
        let b = store.create(doc.clone(), 11).unwrap();
        let c = store
            .create(json!({"title": "lookout", "panels": []}), 12)
            .unwrap();
        assert_eq!(
            (a.as_str(), b.as_str(), c.as_str()),
            ("web", "web-2", "lookout-2")
        );
        drop(store);
        let store = DashboardStore::open(dir.path()).unwrap();
        let got = store.read("web-2").unwrap().unwrap();
        assert_eq!(got["panels"], doc["panels"]);
        assert_eq!(got["updated"], 11);
        let ids: Vec<String> = store.list().unwrap().into_iter().map(|s| s.id).collect();
        assert_eq!(ids, ["lookout", "lookout-2", "web", "web-2"]);
        assert_eq!(store.read("nope").unwrap(), None);
        std::fs::write(dir.path().join(DASHBOARDS_DIR).join("web.json"), b"{torn").unwrap();
        assert!(store.read("web").is_err());
        let listed = store.list().unwrap();
        assert_eq!(listed.len(), 4, "a damaged file is listed: {listed:?}");
        assert_eq!(listed[2].title, "web");
    }
}
