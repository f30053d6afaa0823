//! Entry points for the fuzz targets in `fuzz/` (issue #6 §3; `docs/fuzzing.md`): each takes
//! the untrusted bytes one of the engine's decoders reads (a WAL record payload, a block file
//! body, a series index file body) and runs that decoder exactly as `open` and the read path
//! do. Hidden from the docs and not an API: the decoders themselves stay private, and these
//! functions only exist so the fuzzer reaches them without copying their code.
//!
//! File decoders get a correct footer (CRC, length, magic) written after the fuzzed body, so the
//! fuzzer spends its time in the parsing behind the checksum rather than on the checksum.

use std::path::Path;

use crate::block::{BlockReader, MAGIC as BLOCK_MAGIC, VERSION as BLOCK_VERSION};
use crate::series_file;
use crate::varint::Reader;
use crate::wal_record::{self, KIND_DELETE, KIND_POINTS, KIND_SCHEMA, KIND_SERIES};

/// Decodes one WAL record payload (kind byte and body) as replay does. `Ok(n)` is the number
/// of items it held (schemas, series, points or ids); `Err` is the decoder's reason.
pub fn wal_record(payload: &[u8]) -> Result<usize, &'static str> {
    let Some((&kind, body)) = payload.split_first() else {
        return Err("empty record");
    };
    match kind {
        KIND_SCHEMA => {
            let mut r = Reader::new(body);
            r.u32().ok_or("schema id")?;
            wal_record::read_schema(&mut r).map(|_| 1)
        }
        KIND_SERIES => wal_record::decode_series_defs(body).map(|d| d.len()),
        KIND_DELETE => wal_record::decode_delete(body).map(|d| d.len()),
        KIND_POINTS => {
            let mut n = 0;
            wal_record::decode_points(body, |_, _, _| n += 1)?;
            Ok(n)
        }
        _ => Err("unknown kind"),
    }
}

/// Writes `body` plus a valid footer as a block file at `path`, opens it as the engine does
/// (footer, chunk index, meta) and decodes every chunk. Returns the points read; `Err` is the
/// corruption the reader reported.
pub fn block_file(path: &Path, body: &[u8]) -> crate::Result<u64> {
    write_with_footer(path, body, BLOCK_VERSION, BLOCK_MAGIC)?;
    let reader = BlockReader::open(path, 1, true)?;
    let (mut buf, mut slots, mut values) = (Vec::new(), Vec::new(), Vec::new());
    let mut points = 0u64;
    for &id in reader.series().to_vec().iter() {
        reader.read_series(id, &mut buf, &mut slots, &mut values)?;
        points += slots.len() as u64;
    }
    Ok(points)
}

/// Writes `body` plus a valid footer as a series index file at `path` and reads it as `open`
/// does. Returns the number of series records it held.
pub fn index_file(path: &Path, body: &[u8]) -> crate::Result<usize> {
    write_with_footer(path, body, series_file::VERSION, series_file::MAGIC)?;
    series_file::read_index_file(path, 1).map(|f| f.records.len())
}

fn write_with_footer(path: &Path, body: &[u8], version: u32, magic: &[u8; 8]) -> crate::Result<()> {
    let footer =
        lookout_disk::encode_footer(crc32fast::hash(body), body.len() as u64, version, magic);
    let mut bytes = Vec::with_capacity(body.len() + footer.len());
    bytes.extend_from_slice(body);
    bytes.extend_from_slice(&footer);
    std::fs::write(path, bytes).map_err(|e| crate::Error::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Inputs the fuzzer found, kept as regressions (docs/fuzzing.md).
    #[track_caller]
    fn check_record(payload: &[u8], want: Result<usize, &'static str>) {
        assert_eq!(wal_record(payload), want, "{payload:02x?}");
    }

    #[test]
    fn damaged_wal_records_are_refused() {
        // Schema record (kind 1, id 1), average, xff 0.5, three levels; the second level's
        // step is 0, which `Schema::check` used to divide by.
        check_record(
            &[
                0x01, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xe0, 0x3f, 0x03, 0x14, 0x80,
                0xb1, 0x07, 0x80, 0xc6, 0x0a, 0x78, 0x80, 0x00, 0x00, 0x00, 0x20, 0x3f, 0xb0, 0x09,
                0x80, 0xe8, 0xf8, 0x04,
            ],
            Err("invalid schema"),
        );
        // The same with a negative step and with no points.
        check_record(
            &[
                0x01, 0x01, 0x01, 0, 0, 0, 0, 0, 0, 0xe0, 0x3f, 0x01, 0x13, 0x14, 0x14,
            ],
            Err("invalid schema"),
        );
        check_record(
            &[
                0x01, 0x01, 0x01, 0, 0, 0, 0, 0, 0, 0xe0, 0x3f, 0x01, 0x14, 0x00, 0x14,
            ],
            Err("invalid schema"),
        );
        // A valid one-level schema (10 s x 10 points, 100 s partitions) still reads.
        check_record(
            &[
                0x01, 0x01, 0x01, 0, 0, 0, 0, 0, 0, 0xe0, 0x3f, 0x01, 0x14, 0x14, 0xc8, 0x01,
            ],
            Ok(1),
        );
        check_record(&[], Err("empty record"));
        check_record(&[9], Err("unknown kind"));
    }
}
