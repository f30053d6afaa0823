//! The head: records appended since the last flush, in memory, grouped by component in append
//! order. It answers queries directly (a scan of the matching components) and is what a flush
//! sorts and writes into blocks. It does no I/O; the WAL holds the same records on disk.

use std::collections::BTreeMap;
use std::sync::Arc;

use lookout_core::Glob;

use crate::block::Stored;

/// Records not yet in blocks.
#[derive(Default)]
pub(crate) struct Head {
    /// Per component, in append (sequence) order.
    pub(crate) components: BTreeMap<String, Vec<Stored>>,
    /// Memory held by the records (estimated by [`record_memory`]): the flush trigger that
    /// bounds head memory.
    pub(crate) bytes: usize,
    pub(crate) records: u64,
}

/// Heap allocations cost their size plus the allocator's bookkeeping and rounding (16 bytes
/// is glibc malloc's minimum overhead per chunk).
const ALLOCATION_OVERHEAD: usize = 16;

/// What one record costs in the head: the shared record itself (`Arc` counts and the
/// struct), every string it owns with its allocation overhead, the field list, and the
/// head's own entry. Counting only message bytes underestimated the real cost by more than 2x,
/// so the flush threshold did not bound memory.
pub(crate) fn record_memory(r: &lookout_core::LogRecord) -> usize {
    let strings = r.component.len() + r.host.len() + r.message.len() + 3 * ALLOCATION_OVERHEAD;
    let fields: usize = r
        .fields
        .iter()
        .map(|(k, v)| {
            2 * std::mem::size_of::<String>() + k.len() + v.len() + 2 * ALLOCATION_OVERHEAD
        })
        .sum();
    let field_list = if r.fields.is_empty() {
        0
    } else {
        ALLOCATION_OVERHEAD
    };
    std::mem::size_of::<lookout_core::LogRecord>()
        + 2 * std::mem::size_of::<usize>()
        + ALLOCATION_OVERHEAD
        + strings
        + fields
        + field_list
        + std::mem::size_of::<Stored>()
}

impl Head {
    pub(crate) fn insert(&mut self, s: Stored) {
        self.bytes += record_memory(&s.rec);
        self.records += 1;
        match self.components.get_mut(s.rec.component.as_str()) {
            Some(v) => v.push(s),
            None => {
                self.components.insert(s.rec.component.clone(), vec![s]);
            }
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.records == 0
    }

    /// Copies (cheaply: sequence and `Arc`) the records of components in `pattern`'s subtree
    /// with a timestamp in `[from, until)`.
    pub(crate) fn select(&self, pattern: &Glob, from: i64, until: i64, out: &mut Vec<Stored>) {
        for (c, recs) in &self.components {
            if pattern.matches_prefix_of(c) {
                out.extend(
                    recs.iter()
                        .filter(|s| s.rec.ts_ns >= from && s.rec.ts_ns < until)
                        .cloned(),
                );
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
