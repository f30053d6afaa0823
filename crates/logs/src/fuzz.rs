//! Entry points for the fuzz targets in `fuzz/` (issue #6 §3; `docs/fuzzing.md`): the bytes a
//! log block section, a block file's index or a WAL batch payload may hold after damage, run
//! through the same private decoders the store uses. Hidden from the docs and not an API: they
//! exist so the fuzzer reaches the decoders without copying them.

use std::path::Path;

use crate::batch;
use crate::block::{Block, Need, BLOCK_MAGIC, BLOCK_VERSION};

/// Decodes one section (its bytes after the CRC check) holding `count` records, as a
/// histogram (`records == false`) or a query (`true`) reads it, and materialises every record.
/// Returns the number of records, or `None` where the store reports "section does not decode".
pub fn block_section(buf: &[u8], count: u64, records: bool) -> Option<usize> {
    let need = if records { Need::Records } else { Need::Counts };
    let rows = crate::block::decode_section(buf, count, need)?;
    if records {
        for i in 0..rows.len() {
            rows.record(i, "fuzz");
        }
    }
    Some(rows.ts.len())
}

/// Writes a block file at `path` made of `sections` (the section area) and `index` (the
/// index), with a correct index trailer and footer, opens it as the store does and reads every
/// section the index lists. Returns the records read; sections whose CRC does not match are
/// skipped as the store skips them.
pub fn block_file(path: &Path, sections: &[u8], index: &[u8]) -> crate::Result<usize> {
    let mut body = Vec::with_capacity(sections.len() + index.len() + 8);
    body.extend_from_slice(sections);
    body.extend_from_slice(index);
    body.extend_from_slice(&(index.len() as u32).to_le_bytes());
    body.extend_from_slice(&crc32fast::hash(index).to_le_bytes());
    let footer = lookout_disk::encode_footer(
        crc32fast::hash(&body),
        body.len() as u64,
        BLOCK_VERSION,
        BLOCK_MAGIC,
    );
    body.extend_from_slice(&footer);
    std::fs::write(path, &body).map_err(|e| crate::Error::io(path, e))?;
    let block = Block::open(path)?;
    let mut n = 0;
    for s in &block.sections {
        if let Ok(rows) = block.read_section(s, Need::Records) {
            n += rows.len();
        }
    }
    Ok(n)
}

/// Decodes one WAL batch payload as replay does: the first sequence number and the records.
pub fn wal_batch(payload: &[u8]) -> Option<usize> {
    batch::decode_batch(payload).map(|(_, records)| records.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Inputs the fuzzer found, kept as regressions (docs/fuzzing.md).
    #[track_caller]
    fn check_section(buf: &[u8], count: u64, want: Option<usize>) {
        for records in [false, true] {
            assert_eq!(block_section(buf, count, records), want, "{buf:02x?}");
        }
    }

    #[test]
    fn damaged_sections_are_refused_without_allocating_their_claims() {
        // No records; one column claims 2^54 raw bytes, which the bulk decompressor used to
        // allocate up front (fuzz/artifacts crash-68b9d4ed).
        check_section(
            &[
                0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff,
                0xff, 0xff, 0x32, 0x00, 0x00, 0x00, 0x15, 0x8c, 0x01, 0x00,
            ],
            0,
            None,
        );
        // Packed sizes that sum past usize::MAX (crash-5b53708d).
        check_section(
            &[
                0x14, 0x68, 0x1e, 0x14, 0x11, 0x1f, 0x1c, 0x28, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                0xff, 0xff, 0xff, 0x63, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2f, 0xfd, 0x20,
                0x14, 0x07, 0x10, 0x01, 0x00, 0x06, 0x9c, 0x4b, 0x28, 0xb5, 0x2f, 0xfd, 0x60, 0x9d,
                0x00, 0x05, 0x04, 0x00, 0x22, 0x85, 0x10, 0x14, 0xa0, 0x17, 0xe4, 0x00, 0x00, 0x00,
                0x15, 0x00, 0xf8, 0x00, 0x00, 0x00, 0x00, 0x61, 0x04, 0x70, 0x74, 0x32, 0x98, 0x98,
                0xee, 0x01, 0x4d, 0x6c, 0xf7, 0x78, 0xf9, 0xc9, 0x0b, 0x9a, 0x01, 0x00, 0x00, 0x00,
                0x00, 0x00, 0x00, 0x00, 0x4e, 0x00, 0x00, 0x00, 0x05, 0x73, 0x00, 0x2a, 0x01,
            ],
            20,
            None,
        );
        check_section(&[], 0, None);
        check_section(&[0x02], 1, None);
    }
}
