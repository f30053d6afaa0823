//! Series index files: the persisted catalog. Each flush writes one small file with the schemas,
//! series and deletions logged since the previous one, plus the WAL position up to which
//! everything is now in files (the checkpoint), so the WAL before it can be dropped. When they
//! pile up they are merged into one file holding the live catalog, which names the files it
//! replaces so a crash between writing it and deleting them is resolved at the next open.
//!
//! Names are front-coded against the previous name in the file (series created together share
//! long prefixes). The layout is specified in `docs/format/tsdb-index.md`. Replaying files into
//! a catalog is `engine`'s business; this module only reads and writes them.

use std::io::Write;
use std::path::Path;

use lookout_disk::{ChecksumWriter, Lsn};

use crate::error::{Error, Result};
use crate::schema::Schema;
use crate::varint::{self, Reader};
use crate::wal_record::{put_schema, read_schema};

/// Footer magic of series index files.
pub const MAGIC: &[u8; 8] = b"LKTSIDX\x01";

/// Format version written, and the range read.
pub const VERSION: u32 = 1;

const REC_SCHEMA: u8 = 1;
const REC_SERIES: u8 = 2;
const REC_DELETE: u8 = 3;

/// One record of an index file.
#[derive(Debug, Clone, PartialEq)]
pub enum IndexRecord {
    /// Schema `id` is `Schema`.
    Schema(u32, Schema),
    /// Series `id` named `name` with schema `schema`.
    Series {
        /// Series id.
        id: u32,
        /// Schema id.
        schema: u32,
        /// Canonical name.
        name: String,
    },
    /// Series `id` was deleted.
    Delete(u32),
}

/// A read index file.
#[derive(Debug, Clone)]
pub struct IndexFile {
    /// File id (from the name).
    pub id: u64,
    /// Size in bytes.
    pub size: u64,
    /// Every WAL record before this LSN is in files.
    pub wal_checkpoint: Lsn,
    /// One past the largest series id handed out when the file was written, so ids of series
    /// deleted since are never handed out again (their data may still be in blocks).
    pub next_series: u32,
    /// Rollup watermarks when the file was written: (schema, level, watermark).
    pub watermarks: Vec<(u32, u8, i64)>,
    /// Index files this one supersedes.
    pub replaces: Vec<u64>,
    /// Records, in the order they apply.
    pub records: Vec<IndexRecord>,
}

/// Writes an index file atomically; returns its size.
pub fn write_index_file(
    path: &Path,
    records: &[IndexRecord],
    wal_checkpoint: Lsn,
    next_series: u32,
    watermarks: &[(u32, u8, i64)],
    replaces: &[u64],
) -> Result<u64> {
    let mut body = Vec::new();
    let mut prev_name: &str = "";
    for rec in records {
        match rec {
            IndexRecord::Schema(id, schema) => {
                body.push(REC_SCHEMA);
                varint::put_u64(&mut body, u64::from(*id));
                put_schema(schema, &mut body);
            }
            IndexRecord::Series { id, schema, name } => {
                body.push(REC_SERIES);
                varint::put_u64(&mut body, u64::from(*id));
                varint::put_u64(&mut body, u64::from(*schema));
                let shared = common_prefix(prev_name, name);
                varint::put_u64(&mut body, shared as u64);
                varint::put_u64(&mut body, (name.len() - shared) as u64);
                body.extend_from_slice(&name.as_bytes()[shared..]);
                prev_name = name;
            }
            IndexRecord::Delete(id) => {
                body.push(REC_DELETE);
                varint::put_u64(&mut body, u64::from(*id));
            }
        }
    }
    let mut meta = Vec::new();
    varint::put_u64(&mut meta, wal_checkpoint);
    varint::put_u64(&mut meta, u64::from(next_series));
    varint::put_u64(&mut meta, watermarks.len() as u64);
    for &(schema, level, w) in watermarks {
        varint::put_u64(&mut meta, u64::from(schema));
        meta.push(level);
        varint::put_i64(&mut meta, w);
    }
    varint::put_u64(&mut meta, replaces.len() as u64);
    for r in replaces {
        varint::put_u64(&mut meta, *r);
    }
    let mut size = 0u64;
    lookout_disk::write_atomic(path, |w| {
        let mut out = ChecksumWriter::new(w);
        out.write_all(&body)?;
        out.write_all(&meta)?;
        out.write_all(&(meta.len() as u32).to_le_bytes())?;
        size = out.body_len() + lookout_disk::FOOTER_LEN as u64;
        out.finish(VERSION, MAGIC)?;
        Ok(())
    })?;
    Ok(size)
}

/// Byte length of the common prefix, backed off to a char boundary.
fn common_prefix(a: &str, b: &str) -> usize {
    let mut n = a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
    while !b.is_char_boundary(n) {
        n -= 1;
    }
    n
}

/// Reads and checks an index file (footer, CRC, every record).
pub fn read_index_file(path: &Path, id: u64) -> Result<IndexFile> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let len = bytes.len() as u64;
    let mut footer = [0u8; lookout_disk::FOOTER_LEN];
    if bytes.len() >= lookout_disk::FOOTER_LEN {
        footer.copy_from_slice(&bytes[bytes.len() - lookout_disk::FOOTER_LEN..]);
    }
    let f = lookout_disk::decode_footer(path, len, &footer, MAGIC, VERSION..=VERSION)?;
    let body = &bytes[..f.body_len as usize];
    if crc32fast::hash(body) != f.body_crc {
        return Err(Error::corrupt(path, 0, "index file CRC mismatch"));
    }
    let corrupt = |at: usize, what: &str| Error::corrupt(path, at as u64, what.to_string());
    if body.len() < 4 {
        return Err(corrupt(0, "index file too short"));
    }
    let (rest, ml) = body.split_at(body.len() - 4);
    let meta_len = u32::from_le_bytes([ml[0], ml[1], ml[2], ml[3]]) as usize;
    let meta_at = rest
        .len()
        .checked_sub(meta_len)
        .ok_or_else(|| corrupt(rest.len(), "meta length exceeds the file"))?;
    let (recs, meta) = rest.split_at(meta_at);
    let mut m = Reader::new(meta);
    let wal_checkpoint = m.u64().ok_or_else(|| corrupt(meta_at, "checkpoint"))?;
    let next_series = m.u32().ok_or_else(|| corrupt(meta_at, "next series id"))?;
    let n = m
        .len(3)
        .ok_or_else(|| corrupt(meta_at, "watermark count"))?;
    let watermarks = (0..n)
        .map(|_| Some((m.u32()?, m.u8()?, m.i64()?)))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| corrupt(meta_at, "watermarks"))?;
    let n = m.len(1).ok_or_else(|| corrupt(meta_at, "replaces count"))?;
    let replaces = (0..n)
        .map(|_| m.u64())
        .collect::<Option<Vec<u64>>>()
        .ok_or_else(|| corrupt(meta_at, "replaces"))?;
    let mut r = Reader::new(recs);
    let mut records = Vec::new();
    let mut prev_name = String::new();
    while !r.is_empty() {
        let at = r.pos();
        let bad = |what: &str| corrupt(at, what);
        let rec = match r.u8() {
            Some(REC_SCHEMA) => {
                let id = r.u32().ok_or_else(|| bad("schema id"))?;
                IndexRecord::Schema(id, read_schema(&mut r).map_err(bad)?)
            }
            Some(REC_SERIES) => {
                let id = r.u32().ok_or_else(|| bad("series id"))?;
                let schema = r.u32().ok_or_else(|| bad("schema id"))?;
                let shared = r
                    .u64()
                    .and_then(|v| usize::try_from(v).ok())
                    .ok_or_else(|| bad("name prefix"))?;
                let suffix_len = r.len(1).ok_or_else(|| bad("name length"))?;
                let suffix = r.bytes(suffix_len).ok_or_else(|| bad("name"))?;
                let prefix = prev_name.get(..shared).ok_or_else(|| bad("name prefix"))?;
                let mut name = String::with_capacity(shared + suffix_len);
                name.push_str(prefix);
                name.push_str(std::str::from_utf8(suffix).map_err(|_| bad("name is not UTF-8"))?);
                prev_name.clone_from(&name);
                IndexRecord::Series { id, schema, name }
            }
            Some(REC_DELETE) => IndexRecord::Delete(r.u32().ok_or_else(|| bad("deleted id"))?),
            _ => return Err(bad("record kind")),
        };
        records.push(rec);
    }
    Ok(IndexFile {
        id,
        size: len,
        wal_checkpoint,
        next_series,
        watermarks,
        replaces,
        records,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Retention;
    use lookout_core::Aggregation;

    fn sample() -> Vec<IndexRecord> {
        vec![
            IndexRecord::Schema(
                0,
                Schema::new(
                    Retention::parse_list("10s:1d,1m:7d").unwrap(),
                    Aggregation::Sum,
                    0.0,
                ),
            ),
            IndexRecord::Series {
                id: 0,
                schema: 0,
                name: "web01.webapp.cpu".into(),
            },
            IndexRecord::Series {
                id: 1,
                schema: 0,
                name: "web01.webapp.mem".into(),
            },
            IndexRecord::Series {
                id: 2,
                schema: 0,
                name: "dïsk;dc=é".into(),
            },
            IndexRecord::Series {
                id: 3,
                schema: 0,
                name: "dïsk;dc=éa".into(),
            },
            IndexRecord::Delete(1),
            // A prefix shared with the previous name that is longer than the rest of the file.
            IndexRecord::Series {
                id: 4,
                schema: 0,
                name: "web01.webapp.backend.git.render_time_ms".into(),
            },
            IndexRecord::Series {
                id: 5,
                schema: 0,
                name: "web01.webapp.backend.git.render_time_ms2".into(),
            },
        ]
    }

    #[test]
    fn index_files_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("1.idx");
        let size = write_index_file(
            &path,
            &sample(),
            4242,
            12,
            &[(0, 1, -86_400), (3, 2, 7)],
            &[7, 9],
        )
        .unwrap();
        assert_eq!(size, std::fs::metadata(&path).unwrap().len());
        let f = read_index_file(&path, 1).unwrap();
        assert_eq!(f.records, sample());
        assert_eq!(
            (f.wal_checkpoint, f.next_series, f.replaces.clone()),
            (4242, 12, vec![7, 9])
        );
        assert_eq!(f.watermarks, vec![(0, 1, -86_400), (3, 2, 7)]);
    }

    #[test]
    fn damage_is_reported_with_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("1.idx");
        write_index_file(&path, &sample(), 1, 4, &[], &[]).unwrap();
        let clean = std::fs::read(&path).unwrap();
        for at in 0..clean.len() {
            let mut bad = clean.clone();
            bad[at] ^= 0x04;
            std::fs::write(&path, &bad).unwrap();
            let e = read_index_file(&path, 1).unwrap_err();
            assert!(e.to_string().contains("1.idx"), "{e}");
        }
        std::fs::write(&path, &clean[..10]).unwrap();
        assert!(read_index_file(&path, 1).is_err());
    }

    #[test]
    fn common_prefix_respects_char_boundaries() {
        assert_eq!(common_prefix("abc", "abd"), 2);
        assert_eq!(common_prefix("é", "è"), 0);
        assert_eq!(common_prefix("", "x"), 0);
    }
}
