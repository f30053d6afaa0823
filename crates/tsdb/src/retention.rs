//! Retention: expired data is dropped by whole blocks. A partition of the coarsest archive whose
//! end is older than that archive's retention is deleted with all its blocks; finer levels never
//! reach this point because `rollup` materialises and deletes their partitions when they leave
//! their own retention. Inside a partition that is only partly expired, nothing is rewritten:
//! the read path masks what is past the chosen archive's retention (`snapshot::ReadCtx::fetch`),
//! and appends of points older than the coarsest retention are dropped and counted
//! (`engine`).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::block::BlockReader;
use crate::engine::{read, MaintState, Tsdb};
use crate::error::Result;
use crate::report::MaintainReport;

impl Tsdb {
    /// Deletes the blocks of coarsest-level partitions that are wholly past retention.
    pub(crate) fn expire_locked(
        &self,
        _m: &mut MaintState,
        report: &mut MaintainReport,
    ) -> Result<()> {
        let clock = self.clock.load(Ordering::Relaxed);
        let schemas = read(&self.catalog).schemas().to_vec();
        let snap = self.snap();
        let mut doomed: Vec<Arc<BlockReader>> = Vec::new();
        for ((sid, level, partition), blocks) in &snap.blocks {
            let Some(schema) = schemas.get(*sid as usize) else {
                continue;
            };
            let l = usize::from(*level);
            if l + 1 != schema.levels() {
                continue;
            }
            let end = partition.saturating_add(schema.partition_secs[l]);
            if end <= clock.saturating_sub(schema.keep(l)) {
                doomed.extend(blocks.iter().cloned());
            }
        }
        if doomed.is_empty() {
            return Ok(());
        }
        let ids: Vec<u64> = doomed.iter().map(|b| b.id).collect();
        self.publish(|s| s.remove_blocks(&ids));
        report.expired_blocks += doomed.len() as u64;
        self.delete_block_files(&doomed)
    }
}
