//! The head: records appended since the last flush, in memory, per component as columnar
//! chunks ([`Rows`]) of at most [`MAX_SECTION_ROWS`] records in append order. Full chunks are
//! sealed and shared (`Arc`), so a query takes them without copying and a flush compresses
//! each one as a block section when it is already in time order and inside one partition
//! (the common case); only the open chunk is copied, and only its rows in the query's range.
//! It does no I/O; the WAL holds the same records on disk.

use std::collections::BTreeMap;
use std::sync::Arc;

use lookout_core::{Glob, LogRecord};

use crate::block::MAX_SECTION_ROWS;
use crate::rows::{HostIds, Rows};

/// A full chunk, with its time bounds so a query can skip it.
#[derive(Clone)]
pub(crate) struct Sealed {
    pub(crate) rows: Arc<Rows>,
    pub(crate) min_ts: i64,
    pub(crate) max_ts: i64,
}

impl Sealed {
    fn new(mut rows: Rows) -> Sealed {
        rows.shrink();
        let (min_ts, max_ts) = rows.time_bounds().unwrap_or((0, 0));
        Sealed {
            rows: Arc::new(rows),
            min_ts,
            max_ts,
        }
    }
}

/// One component's records.
#[derive(Default)]
pub(crate) struct ComponentRows {
    pub(crate) sealed: Vec<Sealed>,
    open: Rows,
    open_hosts: HostIds,
}

impl ComponentRows {
    pub(crate) fn len(&self) -> usize {
        self.sealed.iter().map(|s| s.rows.len()).sum::<usize>() + self.open.len()
    }

    /// Every chunk, the open one sealed as it stands (copied).
    pub(crate) fn chunks(&self) -> Vec<Sealed> {
        let mut out = self.sealed.clone();
        if !self.open.is_empty() {
            out.push(Sealed::new(self.open.clone()));
        }
        out
    }
}

/// Records not yet in blocks.
#[derive(Default)]
pub(crate) struct Head {
    pub(crate) components: BTreeMap<String, ComponentRows>,
    /// Heap bytes of every chunk: the flush trigger that bounds head memory.
    pub(crate) bytes: usize,
    pub(crate) records: u64,
}

impl Head {
    pub(crate) fn insert(&mut self, seq: u64, r: &LogRecord) {
        let c = match self.components.get_mut(r.component.as_str()) {
            Some(c) => c,
            None => self.components.entry(r.component.clone()).or_default(),
        };
        let before = c.open.heap_bytes();
        c.open.push_record(seq, r, &mut c.open_hosts);
        self.records += 1;
        if c.open.len() >= MAX_SECTION_ROWS {
            // The next chunk of a busy component will look like this one: size it so. Its
            // buffers count from now on, or they would never be counted at all.
            let next = Rows::with_capacity(
                MAX_SECTION_ROWS,
                c.open.messages.len() + c.open.messages.len() / 8,
                c.open.fields.len() + c.open.fields.len() / 8,
            );
            let next_bytes = next.heap_bytes();
            let sealed = Sealed::new(std::mem::replace(&mut c.open, next));
            c.open_hosts.clear();
            self.bytes = self.bytes - before + sealed.rows.heap_bytes() + next_bytes;
            c.sealed.push(sealed);
        } else {
            self.bytes = self.bytes - before + c.open.heap_bytes();
        }
    }

    /// Adds whole chunks (a failed flush's records going back into the head).
    pub(crate) fn insert_chunks(&mut self, component: &str, chunks: Vec<Sealed>) {
        let c = self.components.entry(component.to_string()).or_default();
        for s in chunks {
            self.records += s.rows.len() as u64;
            self.bytes += s.rows.heap_bytes();
            c.sealed.push(s);
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.records == 0
    }

    /// The chunks of components in `pattern`'s subtree that can hold records in
    /// `[from, until)`: sealed ones shared, the open one copied down to its rows in range.
    pub(crate) fn select(
        &self,
        pattern: &Glob,
        from: i64,
        until: i64,
        out: &mut Vec<(String, Arc<Rows>)>,
    ) {
        for (name, c) in &self.components {
            if !pattern.matches_prefix_of(name) {
                continue;
            }
            for s in &c.sealed {
                if s.max_ts >= from && s.min_ts < until {
                    out.push((name.clone(), s.rows.clone()));
                }
            }
            let open = &c.open;
            let in_range = (0..open.len()).filter(|&i| open.ts[i] >= from && open.ts[i] < until);
            let copy = open.select(in_range);
            if !copy.is_empty() {
                out.push((name.clone(), Arc::new(copy)));
            }
        }
    }

    /// Per-component record counts.
    pub(crate) fn counts(&self) -> impl Iterator<Item = (&str, u64)> {
        self.components
            .iter()
            .map(|(c, v)| (c.as_str(), v.len() as u64))
    }
}

/// A frozen head being written to blocks: still read by queries until its blocks are in.
pub(crate) type Frozen = Arc<Head>;
