//! Compaction: merging the blocks of one partition into one, so reads touch fewer files, each
//! series has one chunk per partition (which compresses better than several short ones), and
//! chunks of deleted series are dropped.
//!
//! Policy, per (schema, level, partition):
//! - runs of `compaction_fanout` consecutive blocks (by `seq`) of similar size (within a factor
//!   of the fanout) are merged, so each point is rewritten about log_fanout(n) times rather than
//!   once per flush;
//! - a cold partition (its end is more than [`COLD_AFTER_SECS`] in the past, so it rarely gets
//!   new points) is merged into a single block once the blocks beside its largest one add up to
//!   at least 1/[`COLD_MERGE_RATIO`] of it (or there are more than twice the fanout), so a
//!   trickle of late points does not rewrite the whole partition on every flush.
//!
//! Merged runs are always consecutive in `seq` order and the output takes the highest input
//! `seq`: a block flushed while the merge ran (higher `seq`) still wins over it, and no block
//! outside the run can sit between two inputs. Per slot, the value of the latest input wins.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::block::{BlockMeta, BlockReader, NO_WATERMARK};
use crate::codec;
use crate::engine::{read, MaintState, Tsdb};
use crate::error::{Error, Result};
use crate::report::MaintainReport;

/// A partition whose end is this far in the past is considered cold: one hour covers the
/// usual late arrivals (collector buffering, clock skew).
pub const COLD_AFTER_SECS: i64 = 3600;

/// A cold partition is merged whole once its smaller blocks add up to 1/8 of its largest:
/// each full rewrite then adds at least 12% new data, bounding the rewrite cost of late points.
pub const COLD_MERGE_RATIO: u64 = 8;

impl Tsdb {
    /// Runs every compaction the policy calls for.
    pub(crate) fn compact_locked(
        &self,
        m: &mut MaintState,
        report: &mut MaintainReport,
    ) -> Result<()> {
        let clock = self.clock.load(Ordering::Relaxed);
        let fanout = self.config.compaction_fanout;
        let snap = self.snap();
        let mut runs: Vec<Vec<Arc<BlockReader>>> = Vec::new();
        for blocks in snap.blocks.values() {
            if blocks.len() < 2 {
                continue;
            }
            let cold = blocks[0]
                .meta
                .partition_end()
                .saturating_add(COLD_AFTER_SECS)
                <= clock;
            let largest = blocks.iter().map(|b| b.size).max().unwrap_or(0);
            let rest: u64 = blocks.iter().map(|b| b.size).sum::<u64>() - largest;
            let worth_it = rest.saturating_mul(COLD_MERGE_RATIO) >= largest;
            if cold && (worth_it || blocks.len() > 2 * fanout) {
                runs.push(blocks.clone());
            } else if let Some(run) = similar_run(blocks, fanout) {
                runs.push(run.to_vec());
            }
        }
        for run in runs {
            self.merge(m, &run)?;
            report.compactions += 1;
        }
        Ok(())
    }

    /// Merges `inputs` (consecutive blocks of one partition, in `seq` order) into one block.
    fn merge(&self, m: &mut MaintState, inputs: &[Arc<BlockReader>]) -> Result<()> {
        let first = &inputs[0].meta;
        let seq = inputs.iter().map(|b| b.meta.seq).max().unwrap_or(first.seq);
        let watermark = inputs
            .iter()
            .map(|b| b.meta.watermark)
            .max()
            .unwrap_or(NO_WATERMARK);
        let meta = BlockMeta {
            seq,
            watermark,
            points: 0,
            replaces: inputs.iter().map(|b| b.id).collect(),
            ..first.clone()
        };
        let mut ids: Vec<u32> = inputs.iter().flat_map(|b| b.series().to_vec()).collect();
        ids.sort_unstable();
        ids.dedup();
        {
            let cat = read(&self.catalog);
            ids.retain(|&id| cat.is_live(id));
        }
        // `write_new_block` advances `next_seq` past `seq`, harmless: seqs only need to grow.
        let mut failure: Option<Error> = None;
        let block = self.write_new_block(m, meta, |sink| {
            let (mut buf, mut slots, mut vals) = (Vec::new(), Vec::new(), Vec::new());
            let mut acc: Vec<(u32, f64)> = Vec::new();
            let mut merged: Vec<(u32, f64)> = Vec::new();
            let mut chunk = Vec::new();
            for &id in &ids {
                acc.clear();
                for b in inputs {
                    match b.read_series(id, &mut buf, &mut slots, &mut vals) {
                        Ok(true) => {
                            merge_lww(&acc, &slots, &vals, &mut merged);
                            std::mem::swap(&mut acc, &mut merged);
                        }
                        Ok(false) => {}
                        // Damaged chunks are lost anyway; skipping them lets the rest merge.
                        Err(e @ Error::Corrupt { .. }) => self.note_corrupt(b, &e),
                        Err(e) => {
                            let msg = e.to_string();
                            failure = Some(e);
                            return Err(std::io::Error::other(msg));
                        }
                    }
                }
                if acc.is_empty() {
                    continue;
                }
                slots.clear();
                vals.clear();
                slots.extend(acc.iter().map(|p| p.0));
                vals.extend(acc.iter().map(|p| p.1));
                chunk.clear();
                codec::encode_chunk(&slots, &vals, &mut chunk);
                sink.push(id, &chunk, slots.len())?;
            }
            Ok(())
        });
        let block = match (block, failure) {
            (_, Some(e)) | (Err(e), None) => return Err(e),
            (Ok(b), None) => Arc::new(b),
        };
        let removed: Vec<u64> = inputs.iter().map(|b| b.id).collect();
        self.file_bytes.fetch_add(block.size, Ordering::Relaxed);
        self.publish(|s| {
            s.remove_blocks(&removed);
            s.add_block(block);
        });
        self.delete_block_files(inputs)
    }
}

/// The newest run of `fanout` consecutive blocks whose sizes are within a factor `fanout` of
/// each other, if any.
fn similar_run(blocks: &[Arc<BlockReader>], fanout: usize) -> Option<&[Arc<BlockReader>]> {
    let n = blocks.len();
    if n < fanout {
        return None;
    }
    for end in (fanout..=n).rev() {
        let run = &blocks[end - fanout..end];
        let min = run.iter().map(|b| b.size).min().unwrap_or(0).max(1);
        let max = run.iter().map(|b| b.size).max().unwrap_or(0);
        if max <= min.saturating_mul(fanout as u64) {
            return Some(run);
        }
    }
    None
}

/// Merges two slot-sorted point lists; on equal slots the newer (`slots`/`vals`) wins.
fn merge_lww(older: &[(u32, f64)], slots: &[u32], vals: &[f64], out: &mut Vec<(u32, f64)>) {
    out.clear();
    out.reserve(older.len() + slots.len());
    let (mut i, mut j) = (0, 0);
    while i < older.len() && j < slots.len() {
        match older[i].0.cmp(&slots[j]) {
            std::cmp::Ordering::Less => {
                out.push(older[i]);
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                out.push((slots[j], vals[j]));
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                out.push((slots[j], vals[j]));
                i += 1;
                j += 1;
            }
        }
    }
    out.extend_from_slice(&older[i..]);
    out.extend(slots[j..].iter().zip(&vals[j..]).map(|(&s, &v)| (s, v)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newer_values_win_on_equal_slots() {
        let mut out = Vec::new();
        merge_lww(
            &[(1, 1.0), (3, 3.0), (5, 5.0)],
            &[0, 3, 6],
            &[10.0, 30.0, 60.0],
            &mut out,
        );
        assert_eq!(
            out,
            vec![(0, 10.0), (1, 1.0), (3, 30.0), (5, 5.0), (6, 60.0)]
        );
        merge_lww(&[], &[2], &[2.0], &mut out);
        assert_eq!(out, vec![(2, 2.0)]);
    }
}
