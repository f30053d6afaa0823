//! Blocks: immutable files holding the points of many series for one archive level of one
//! schema over one time partition, one compressed chunk per series. A block is written once
//! (atomically, with a checksummed footer), read with positioned reads of single chunks, and
//! deleted when compaction, rollup materialisation or retention replaces it.
//!
//! The file layout is specified in `docs/format/tsdb-block.md`:
//!
//! ```text
//! [chunk][crc32] [chunk][crc32] ... [index] [meta] [index_len u32][meta_len u32] [footer 24]
//! ```
//!
//! - `writer`: `write_block`, streaming chunks into a new file.
//! - `reader`: `BlockReader`, the open file with its chunk index in memory.
//!
//! What a block means for reads (which blocks win, which are live) is `snapshot`'s business.

mod reader;
mod writer;

pub use reader::BlockReader;
pub use writer::{write_block, ChunkSink};

use crate::varint::{self, Reader};

/// Footer magic of block files.
pub const MAGIC: &[u8; 8] = b"LKTSBLK\x01";

/// Format version written, and the range read.
pub const VERSION: u32 = 1;

/// Watermark of a block that is not the product of rolling up a finer partition.
pub const NO_WATERMARK: i64 = i64::MIN;

/// What a block holds, stored in its meta section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockMeta {
    /// Schema id of every series in the block.
    pub schema: u32,
    /// Archive level (0 = finest).
    pub level: u8,
    /// Start of the time partition (unix seconds, a multiple of `partition_secs`).
    pub partition: i64,
    /// Length of the partition in seconds.
    pub partition_secs: i64,
    /// Step of the level; chunk slots count steps from `partition`.
    pub step: i64,
    /// Order among blocks of the same partition: for a slot present in several, the block with
    /// the highest `seq` wins. A merged block takes the highest `seq` of its inputs, so blocks
    /// flushed while it was being written still win over it.
    pub seq: u64,
    /// For a block made by rolling up the finer partition ending here, that end: everything
    /// before it at this level is stored, not derived (see `rollup`). Otherwise
    /// [`NO_WATERMARK`].
    pub watermark: i64,
    /// Points in all chunks.
    pub points: u64,
    /// Ids of blocks this one supersedes (compaction inputs, or the finer blocks a rollup
    /// consumed). Found at open after a crash, they are deleted.
    pub replaces: Vec<u64>,
}

impl BlockMeta {
    /// Slots in the partition.
    pub fn slots(&self) -> u32 {
        u32::try_from(self.partition_secs / self.step.max(1)).unwrap_or(u32::MAX)
    }

    /// End of the partition.
    pub fn partition_end(&self) -> i64 {
        self.partition.saturating_add(self.partition_secs)
    }

    fn encode(&self, out: &mut Vec<u8>) {
        varint::put_u64(out, u64::from(self.schema));
        out.push(self.level);
        varint::put_i64(out, self.partition);
        varint::put_i64(out, self.partition_secs);
        varint::put_i64(out, self.step);
        varint::put_u64(out, self.seq);
        varint::put_i64(out, self.watermark);
        varint::put_u64(out, self.points);
        varint::put_u64(out, self.replaces.len() as u64);
        for id in &self.replaces {
            varint::put_u64(out, *id);
        }
    }

    fn decode(bytes: &[u8]) -> Option<BlockMeta> {
        let mut r = Reader::new(bytes);
        let meta = BlockMeta {
            schema: r.u32()?,
            level: r.u8()?,
            partition: r.i64()?,
            partition_secs: r.i64()?,
            step: r.i64()?,
            seq: r.u64()?,
            watermark: r.i64()?,
            points: r.u64()?,
            replaces: {
                let n = r.len(1)?;
                (0..n).map(|_| r.u64()).collect::<Option<Vec<u64>>>()?
            },
        };
        let sane = r.is_empty()
            && meta.step > 0
            && meta.partition_secs > 0
            && meta.partition_secs % meta.step == 0
            && meta.partition.rem_euclid(meta.partition_secs) == 0
            && meta.partition_secs / meta.step <= i64::from(u32::MAX);
        sane.then_some(meta)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_round_trips_and_rejects_nonsense() {
        let m = BlockMeta {
            schema: 3,
            level: 1,
            partition: -518_400,
            partition_secs: 518_400,
            step: 60,
            seq: 99,
            watermark: NO_WATERMARK,
            points: 12345,
            replaces: vec![1, 2, 70],
        };
        let mut buf = Vec::new();
        m.encode(&mut buf);
        assert_eq!(BlockMeta::decode(&buf), Some(m.clone()));
        assert_eq!(m.slots(), 8640);
        assert_eq!(BlockMeta::decode(&buf[..buf.len() - 1]), None);
        let bad = BlockMeta { partition: 5, ..m };
        let mut buf = Vec::new();
        bad.encode(&mut buf);
        assert_eq!(BlockMeta::decode(&buf), None);
    }
}
