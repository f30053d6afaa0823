//! Every file and directory name the log store creates in its data directory, in one place so
//! the layout can be read off this file (see `docs/format/logs-block.md` and `logs-wal.md`).

/// Write-ahead log segments (`lookout-disk` format), one record per appended batch.
pub const WAL_DIR: &str = "wal";
/// Immutable block files.
pub const BLOCKS_DIR: &str = "blocks";
/// Blocks whose index did not check out at open, kept for inspection and never read again.
pub const QUARANTINE_DIR: &str = "quarantine";
/// The checkpoint file: the WAL position up to which every record is in a block.
pub const CHECKPOINT_FILE: &str = "checkpoint";
/// Extension of block files.
pub const BLOCK_EXT: &str = "blk";

/// `<partition start, unix s>-<flush id>.blk`, zero-padded so names sort by time.
pub fn block_file_name(partition_start: i64, flush_id: u64) -> String {
    format!("{partition_start:012}-{flush_id:010}.{BLOCK_EXT}")
}

/// Inverse of [`block_file_name`].
pub fn parse_block_file_name(name: &str) -> Option<(i64, u64)> {
    let stem = name.strip_suffix(BLOCK_EXT)?.strip_suffix('.')?;
    let (p, f) = stem.split_once('-')?;
    Some((p.parse().ok()?, f.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_names_round_trip_and_sort_by_time() {
        let a = block_file_name(3600, 7);
        let b = block_file_name(7200, 1);
        assert!(a < b);
        assert_eq!(parse_block_file_name(&a), Some((3600, 7)));
        assert_eq!(parse_block_file_name("x.blk"), None);
        assert_eq!(parse_block_file_name("000000003600-0000000007.tmp"), None);
    }
}
