//! Every file and directory name the metrics engine creates under its data directory, with the
//! functions that build and recognise them. WAL segment names and the lock file are
//! `lookout-disk`'s (`lookout_disk::filenames`).
//!
//! ```text
//! <dir>/LOCK                      directory lock (lookout-disk)
//! <dir>/wal/<20 digits>.wal       WAL segments (lookout-disk)
//! <dir>/blocks/<16 hex>.blk       blocks (docs/format/tsdb-block.md)
//! <dir>/index/<16 hex>.idx        series index files (docs/format/tsdb-index.md)
//! <dir>/quarantine/               damaged files moved aside at open, for inspection
//! ```

/// Directory of the WAL segments.
pub const WAL_DIR: &str = "wal";

/// Directory of the block files.
pub const BLOCKS_DIR: &str = "blocks";

/// Directory of the series index files.
pub const INDEX_DIR: &str = "index";

/// Directory where damaged block and index files are moved at open: they are no longer read,
/// but kept for an operator to inspect instead of being deleted.
pub const QUARANTINE_DIR: &str = "quarantine";

/// Extension of block files.
pub const BLOCK_EXTENSION: &str = "blk";

/// Extension of series index files.
pub const INDEX_EXTENSION: &str = "idx";

/// Hex digits of a file id: fixed width so that listing order is id order.
const ID_DIGITS: usize = 16;

/// File name of block `id`, e.g. `000000000000002a.blk`.
pub fn block_file_name(id: u64) -> String {
    format!("{id:0ID_DIGITS$x}.{BLOCK_EXTENSION}")
}

/// File name of index file `id`.
pub fn index_file_name(id: u64) -> String {
    format!("{id:0ID_DIGITS$x}.{INDEX_EXTENSION}")
}

/// The id of a file named like `block_file_name`/`index_file_name` with `extension`.
pub fn parse_file_id(name: &str, extension: &str) -> Option<u64> {
    let hex = name.strip_suffix(extension)?.strip_suffix('.')?;
    if hex.len() != ID_DIGITS || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(hex, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_others_are_not_ours() {
        assert_eq!(block_file_name(42), "000000000000002a.blk");
        assert_eq!(
            parse_file_id(&block_file_name(42), BLOCK_EXTENSION),
            Some(42)
        );
        assert_eq!(
            parse_file_id(&index_file_name(u64::MAX), INDEX_EXTENSION),
            Some(u64::MAX)
        );
        for other in [
            "2a.blk",
            "000000000000002a.idx",
            ".000000000000002a.blk.1.2.tmp",
            "000000000000002g.blk",
        ] {
            assert_eq!(parse_file_id(other, BLOCK_EXTENSION), None, "{other}");
        }
    }
}
