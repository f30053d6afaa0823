//! The event store behind Graphite's events API (annotations such as deploys): an append-only
//! JSON-lines file `<data>/events.jsonl`, one event per line, fsynced before a POST is
//! acknowledged and loaded whole at start. It keeps the newest [`MAX_EVENTS`]; the file is
//! rewritten atomically (keeping only those) once it holds twice as many lines. It owns storage
//! and the tag filter; the HTTP shapes and the error-burst events from logs are in
//! `http/events.rs`.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::Context;
use serde::{Deserialize, Serialize};

/// The event file's name in the data directory.
pub const EVENTS_FILE: &str = "events.jsonl";
/// Events kept: annotations are for people to read on a graph, and 100k is years of deploys
/// while loading in well under a second.
pub const MAX_EVENTS: usize = 100_000;

/// One stored event, as graphite-web's `Event.as_dict()` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Increasing from 1, never reused.
    pub id: u64,
    /// Unix seconds.
    pub when: i64,
    pub what: String,
    /// Sorted and without duplicates, as django-tagging stores them.
    pub tags: Vec<String>,
    pub data: String,
}

/// What a POST asks to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub when: i64,
    pub what: String,
    pub tags: Vec<String>,
    pub data: String,
}

/// How a set of tags selects events: graphite-web's `set` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagMatch {
    /// Every given tag is on the event (graphite-web's default, `with_all`).
    All,
    /// At least one given tag is on the event (`set=union`).
    Any,
}

/// Whether `event_tags` satisfy the query `tags` under `how`; no query tags match everything.
pub fn tags_match(event_tags: &[String], tags: &[String], how: TagMatch) -> bool {
    if tags.is_empty() {
        return true;
    }
    match how {
        TagMatch::All => tags.iter().all(|t| event_tags.contains(t)),
        TagMatch::Any => tags.iter().any(|t| event_tags.contains(t)),
    }
}

/// Splits tags as graphite-web takes them (a list, or a space-separated string), then sorts and
/// dedupes.
pub fn normalize_tags<'a>(tags: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = tags
        .into_iter()
        .flat_map(str::split_whitespace)
        .map(str::to_string)
        .collect();
    out.sort();
    out.dedup();
    out
}

struct Inner {
    events: VecDeque<Event>,
    next_id: u64,
    file: File,
    /// Lines in the file, to know when it is worth compacting.
    lines: usize,
}

/// The store; shared by the HTTP handlers.
pub struct EventStore {
    path: PathBuf,
    /// Events kept: [`MAX_EVENTS`], smaller in tests.
    max: usize,
    inner: Mutex<Inner>,
}

impl EventStore {
    /// Loads `<dir>/events.jsonl` (creating it if absent). A line torn by a crash (the last one,
    /// without its newline) is cut off; other unreadable lines are skipped and counted in the
    /// log, never fatal.
    pub fn open(dir: &Path) -> anyhow::Result<EventStore> {
        EventStore::open_bounded(dir, MAX_EVENTS)
    }

    /// [`EventStore::open`] keeping at most `max` events.
    fn open_bounded(dir: &Path, max: usize) -> anyhow::Result<EventStore> {
        let path = dir.join(EVENTS_FILE);
        let mut raw = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        let whole = raw.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        let torn = raw.len() - whole;
        raw.truncate(whole);
        let mut events = VecDeque::new();
        let (mut lines, mut bad) = (0usize, 0usize);
        for line in raw.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            lines += 1;
            match serde_json::from_slice::<Event>(line) {
                Ok(e) => {
                    events.push_back(e);
                    if events.len() > max {
                        events.pop_front();
                    }
                }
                Err(_) => bad += 1,
            }
        }
        if torn > 0 || bad > 0 {
            tracing::warn!(
                "{}: cut {torn} bytes of a line torn by a crash, skipped {bad} unreadable lines",
                path.display()
            );
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        if torn > 0 {
            file.set_len(whole as u64)
                .with_context(|| format!("cutting the torn line of {}", path.display()))?;
        }
        let next_id = events.iter().map(|e| e.id).max().unwrap_or(0) + 1;
        Ok(EventStore {
            path,
            max,
            inner: Mutex::new(Inner {
                events,
                next_id,
                file,
                lines,
            }),
        })
    }

    /// Stores `new` and returns it with its id. Returns only once the line is fsynced, so an
    /// acknowledged event survives a crash.
    pub fn add(&self, new: NewEvent) -> anyhow::Result<Event> {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let event = Event {
            id: inner.next_id,
            when: new.when,
            what: new.what,
            tags: new.tags,
            data: new.data,
        };
        let mut line = serde_json::to_vec(&event)?;
        line.push(b'\n');
        inner
            .file
            .write_all(&line)
            .and_then(|()| inner.file.sync_data())
            .with_context(|| format!("appending to {}", self.path.display()))?;
        inner.next_id += 1;
        inner.lines += 1;
        inner.events.push_back(event.clone());
        if inner.events.len() > self.max {
            inner.events.pop_front();
        }
        if inner.lines >= 2 * self.max {
            self.compact(&mut inner)?;
        }
        Ok(event)
    }

    /// Rewrites the file with only the kept events, atomically, and appends from there.
    fn compact(&self, inner: &mut Inner) -> anyhow::Result<()> {
        let events = &inner.events;
        lookout_disk::write_atomic(&self.path, |w| {
            for e in events {
                let mut line = serde_json::to_vec(e)?;
                line.push(b'\n');
                w.write_all(&line)?;
            }
            Ok(())
        })
        .with_context(|| format!("compacting {}", self.path.display()))?;
        inner.file = OpenOptions::new()
            .append(true)
            .open(&self.path)
            .with_context(|| format!("reopening {}", self.path.display()))?;
        inner.lines = inner.events.len();
        Ok(())
    }

    /// Events with `from <= when <= until` (both ends included, as graphite-web filters)
    /// whose tags match, oldest first.
    pub fn query(&self, from: i64, until: i64, tags: &[String], how: TagMatch) -> Vec<Event> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let mut out: Vec<Event> = inner
            .events
            .iter()
            .filter(|e| e.when >= from && e.when <= until && tags_match(&e.tags, tags, how))
            .cloned()
            .collect();
        out.sort_by_key(|e| (e.when, e.id));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(when: i64, what: &str, tags: &[&str]) -> NewEvent {
        NewEvent {
            when,
            what: what.to_string(),
            tags: normalize_tags(tags.iter().copied()),
            data: String::new(),
        }
    }

    fn tags(t: &[&str]) -> Vec<String> {
        t.iter().map(|s| s.to_string()).collect()
    }

    #[track_caller]
    fn check(event: &[&str], query: &[&str], how: TagMatch, want: bool) {
        assert_eq!(
            tags_match(&tags(event), &tags(query), how),
            want,
            "{event:?} {query:?} {how:?}"
        );
    }

    #[test]
    fn tag_filter_follows_graphite_web() {
        check(&["deploy", "web"], &[], TagMatch::All, true);
        check(&["deploy", "web"], &["deploy"], TagMatch::All, true);
        check(&["deploy", "web"], &["deploy", "web"], TagMatch::All, true);
        check(&["deploy"], &["deploy", "web"], TagMatch::All, false);
        check(&["deploy"], &["deploy", "web"], TagMatch::Any, true);
        check(&["db"], &["deploy", "web"], TagMatch::Any, false);
        check(&[], &["deploy"], TagMatch::All, false);
    }

    #[test]
    fn tags_split_on_spaces_sort_and_dedupe() {
        assert_eq!(normalize_tags(["b a", "a", " c  "]), tags(&["a", "b", "c"]));
        assert_eq!(normalize_tags([""]), Vec::<String>::new());
    }

    #[test]
    fn events_survive_reopen_in_time_order_with_fresh_ids() {
        let dir = tempfile::tempdir().unwrap();
        let store = EventStore::open(dir.path()).unwrap();
        assert_eq!(store.add(new(200, "second", &["deploy"])).unwrap().id, 1);
        assert_eq!(
            store.add(new(100, "first", &["deploy", "db"])).unwrap().id,
            2
        );
        drop(store);
        let store = EventStore::open(dir.path()).unwrap();
        let all = store.query(0, 1000, &[], TagMatch::All);
        let whats: Vec<&str> = all.iter().map(|e| e.what.as_str()).collect();
        assert_eq!(whats, ["first", "second"]);
        assert_eq!(store.add(new(300, "third", &[])).unwrap().id, 3);
        assert_eq!(
            store.query(100, 200, &tags(&["db"]), TagMatch::All).len(),
            1
        );
        assert_eq!(store.query(101, 199, &[], TagMatch::All).len(), 0);
    }

    #[test]
    fn a_torn_last_line_is_cut_and_appends_continue_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        let store = EventStore::open(dir.path()).unwrap();
        store.add(new(100, "kept", &[])).unwrap();
        drop(store);
        let path = dir.path().join(EVENTS_FILE);
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"id\":2,\"when\":1").unwrap();
        drop(f);
        std::fs::write(
            dir.path().join("unrelated"),
            b"not an event file, must be ignored",
        )
        .unwrap();
        let store = EventStore::open(dir.path()).unwrap();
        store.add(new(150, "after", &[])).unwrap();
        drop(store);
        let store = EventStore::open(dir.path()).unwrap();
        let whats: Vec<String> = store
            .query(0, 1000, &[], TagMatch::All)
            .into_iter()
            .map(|e| e.what)
            .collect();
        assert_eq!(whats, ["kept", "after"]);
    }

    #[test]
    fn only_the_newest_are_kept_and_the_file_is_compacted() {
        let dir = tempfile::tempdir().unwrap();
        let store = EventStore::open_bounded(dir.path(), 3).unwrap();
        for i in 0..7 {
            store.add(new(i, &format!("e{i}"), &[])).unwrap();
        }
        let whats = |s: &EventStore| -> Vec<String> {
            s.query(0, 100, &[], TagMatch::All)
                .into_iter()
                .map(|e| e.what)
                .collect()
        };
        assert_eq!(whats(&store), ["e4", "e5", "e6"]);
        drop(store);
        let text = std::fs::read_to_string(dir.path().join(EVENTS_FILE)).unwrap();
        assert!(text.lines().count() < 6, "compacted at 6 lines: {text}");
        let store = EventStore::open_bounded(dir.path(), 3).unwrap();
        assert_eq!(whats(&store), ["e4", "e5", "e6"]);
        assert_eq!(store.add(new(9, "e9", &[])).unwrap().id, 8);
    }

    #[test]
    fn garbage_lines_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(EVENTS_FILE),
            b"garbage\n{\"id\":5,\"when\":7,\"what\":\"ok\",\"tags\":[],\"data\":\"\"}\n",
        )
        .unwrap();
        let store = EventStore::open(dir.path()).unwrap();
        assert_eq!(store.query(0, 10, &[], TagMatch::All).len(), 1);
        assert_eq!(store.add(new(8, "next", &[])).unwrap().id, 6);
    }
}
