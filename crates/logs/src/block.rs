//! Immutable block files: the records of one time partition from one flush, one section per
//! component, each section's columns (time, sequence, host, severity, message, fields)
//! compressed separately with zstd, and an index (per section: component, time and sequence
//! bounds, severity counts, offset, length, CRC) that lets a query pick the sections it needs
//! without reading the others. Format in `docs/format/logs-block.md`.
//!
//! This file owns encoding, decoding and checking one block; which blocks exist, and when
//! they are written or dropped, is the store's business.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use lookout_core::{LogRecord, Severity};

use crate::batch::NO_FACILITY;
use crate::codec::{put_bytes, put_ivarint, put_uvarint, Reader};
use crate::error::{Error, Result};

/// Footer magic of block files.
pub(crate) const BLOCK_MAGIC: &[u8; 8] = b"LKLOGBLK";
/// Current block format version.
pub(crate) const BLOCK_VERSION: u32 = 1;
/// Columns per section, in file order.
const COLUMNS: usize = 6;
/// Bytes after the index: its length and its CRC32, both u32 LE.
const INDEX_TRAILER: usize = 8;

/// A record with its store-wide sequence number: the append order, used to break ties between
/// equal timestamps and as the second half of a cursor.
#[derive(Debug, Clone)]
pub(crate) struct Stored {
    pub(crate) seq: u64,
    pub(crate) rec: Arc<LogRecord>,
}

/// What the index says about one component's section.
#[derive(Debug, Clone)]
pub(crate) struct SectionMeta {
    pub(crate) component: String,
    pub(crate) count: u64,
    pub(crate) min_ts: i64,
    pub(crate) max_ts: i64,
    pub(crate) severity_counts: [u64; 8],
    offset: u64,
    len: u64,
    crc: u32,
}

impl SectionMeta {
    /// Stored (compressed) bytes of the section.
    pub(crate) fn byte_len(&self) -> u64 {
        self.len
    }
}

/// An open block: its index in memory and its file kept open, so a query holding the block
/// can still read it after retention unlinks it.
#[derive(Debug)]
pub(crate) struct Block {
    pub(crate) path: PathBuf,
    file: File,
    /// The WAL position this block's flush checkpointed; blocks above the checkpoint file's
    /// value are leftovers of a flush a crash interrupted, and are deleted at open.
    pub(crate) flush_lsn: u64,
    pub(crate) partition_start: i64,
    pub(crate) min_ts: i64,
    pub(crate) max_ts: i64,
    pub(crate) file_len: u64,
    pub(crate) sections: Vec<SectionMeta>,
}

/// Which columns a reader needs; time and severity are always decoded.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Need {
    /// Time and severity only (histograms).
    Counts,
    /// Whole records.
    Records,
}

/// A decoded section, column by column.
pub(crate) struct Rows {
    pub(crate) ts: Vec<i64>,
    pub(crate) severity: Vec<u8>,
    seq: Vec<u64>,
    facility: Vec<u8>,
    hosts: Vec<String>,
    host_idx: Vec<u32>,
    messages: Vec<u8>,
    message_ends: Vec<usize>,
    fields: Vec<Vec<(String, String)>>,
}

impl Rows {
    pub(crate) fn len(&self) -> usize {
        self.ts.len()
    }
    pub(crate) fn seq(&self, i: usize) -> u64 {
        self.seq[i]
    }
    pub(crate) fn host(&self, i: usize) -> &str {
        &self.hosts[self.host_idx[i] as usize]
    }
    pub(crate) fn message(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.message_ends[i - 1] };
        &self.messages[start..self.message_ends[i]]
    }
    pub(crate) fn fields(&self, i: usize) -> &[(String, String)] {
        &self.fields[i]
    }
    pub(crate) fn record(&self, i: usize, component: &str) -> LogRecord {
        LogRecord {
            ts_ns: self.ts[i],
            component: component.to_string(),
            host: self.host(i).to_string(),
            // Decoding checked every severity byte is 0..=7.
            severity: Severity::from_number(self.severity[i]).unwrap_or(Severity::Debug),
            facility: (self.facility[i] != NO_FACILITY).then_some(self.facility[i]),
            message: self.message(i).to_vec(),
            fields: self.fields[i].clone(),
        }
    }
}

/// Encodes and writes a block atomically. `sections` holds each component's records sorted
/// by (time, sequence). Returns the open block.
pub(crate) fn write_block(
    path: &Path,
    partition_start: i64,
    flush_lsn: u64,
    sections: &[(String, Vec<Stored>)],
    level: i32,
) -> Result<Block> {
    let mut body = Vec::new();
    let mut metas = Vec::with_capacity(sections.len());
    for (component, rows) in sections {
        let offset = body.len() as u64;
        encode_section(&mut body, rows, level).map_err(|e| Error::io(path, e))?;
        let len = body.len() as u64 - offset;
        let mut severity_counts = [0u64; 8];
        for s in rows {
            severity_counts[s.rec.severity.number() as usize] += 1;
        }
        metas.push(SectionMeta {
            component: component.clone(),
            count: rows.len() as u64,
            min_ts: rows.first().map_or(0, |s| s.rec.ts_ns),
            max_ts: rows.last().map_or(0, |s| s.rec.ts_ns),
            severity_counts,
            offset,
            len,
            crc: crc32fast::hash(&body[offset as usize..]),
        });
    }
    let min_ts = metas.iter().map(|m| m.min_ts).min().unwrap_or(0);
    let max_ts = metas.iter().map(|m| m.max_ts).max().unwrap_or(0);
    let index_start = body.len();
    put_uvarint(&mut body, flush_lsn);
    put_ivarint(&mut body, partition_start);
    put_uvarint(&mut body, metas.len() as u64);
    for m in &metas {
        put_bytes(&mut body, m.component.as_bytes());
        put_uvarint(&mut body, m.count);
        put_ivarint(&mut body, m.min_ts);
        put_ivarint(&mut body, m.max_ts);
        for c in m.severity_counts {
            put_uvarint(&mut body, c);
        }
        put_uvarint(&mut body, m.offset);
        put_uvarint(&mut body, m.len);
        body.extend_from_slice(&m.crc.to_le_bytes());
    }
    let index_len = (body.len() - index_start) as u32;
    let index_crc = crc32fast::hash(&body[index_start..]);
    body.extend_from_slice(&index_len.to_le_bytes());
    body.extend_from_slice(&index_crc.to_le_bytes());
    let footer = lookout_disk::encode_footer(
        crc32fast::hash(&body),
        body.len() as u64,
        BLOCK_VERSION,
        BLOCK_MAGIC,
    );
    lookout_disk::write_atomic(path, |w| {
        w.write_all(&body)?;
        w.write_all(&footer)
    })?;
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    Ok(Block {
        path: path.to_path_buf(),
        file,
        flush_lsn,
        partition_start,
        min_ts,
        max_ts,
        file_len: (body.len() + footer.len()) as u64,
        sections: metas,
    })
}

fn encode_section(out: &mut Vec<u8>, rows: &[Stored], level: i32) -> std::io::Result<()> {
    let mut cols: [Vec<u8>; COLUMNS] = Default::default();
    let (mut prev_ts, mut prev_seq) = (0i64, 0i64);
    let mut hosts: Vec<&str> = Vec::new();
    let mut host_ids = std::collections::HashMap::new();
    for s in rows {
        let r = &s.rec;
        put_ivarint(&mut cols[0], r.ts_ns.wrapping_sub(prev_ts));
        prev_ts = r.ts_ns;
        put_ivarint(&mut cols[1], (s.seq as i64).wrapping_sub(prev_seq));
        prev_seq = s.seq as i64;
        let id = *host_ids.entry(r.host.as_str()).or_insert_with(|| {
            hosts.push(r.host.as_str());
            hosts.len() - 1
        });
        put_uvarint(&mut cols[2], id as u64);
        cols[3].push(r.severity.number());
        cols[3].push(r.facility.unwrap_or(NO_FACILITY));
        put_bytes(&mut cols[4], &r.message);
        put_uvarint(&mut cols[5], r.fields.len() as u64);
        for (k, v) in &r.fields {
            put_bytes(&mut cols[5], k.as_bytes());
            put_bytes(&mut cols[5], v.as_bytes());
        }
    }
    // The host dictionary leads its column, so one section decodes on its own.
    let mut host_col = Vec::new();
    put_uvarint(&mut host_col, hosts.len() as u64);
    for h in &hosts {
        put_bytes(&mut host_col, h.as_bytes());
    }
    host_col.extend_from_slice(&cols[2]);
    cols[2] = host_col;
    put_uvarint(out, rows.len() as u64);
    let mut packed = Vec::with_capacity(COLUMNS);
    for c in &cols {
        let z = zstd::bulk::compress(c, level)?;
        put_uvarint(out, c.len() as u64);
        put_uvarint(out, z.len() as u64);
        packed.push(z);
    }
    for z in packed {
        out.extend_from_slice(&z);
    }
    Ok(())
}

impl Block {
    /// Opens a block file and checks its footer and index; sections are checked when read.
    pub(crate) fn open(path: &Path) -> Result<Block> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let footer =
            lookout_disk::read_footer(&file, path, BLOCK_MAGIC, BLOCK_VERSION..=BLOCK_VERSION)?;
        let body_len = footer.body_len;
        if body_len < INDEX_TRAILER as u64 {
            return Err(Error::corrupt(
                path,
                0,
                "body too short for the index trailer",
            ));
        }
        let mut trailer = [0u8; INDEX_TRAILER];
        read_at(&file, path, &mut trailer, body_len - INDEX_TRAILER as u64)?;
        let index_len = u64::from(u32::from_le_bytes([
            trailer[0], trailer[1], trailer[2], trailer[3],
        ]));
        let index_crc = u32::from_le_bytes([trailer[4], trailer[5], trailer[6], trailer[7]]);
        let index_start = (body_len - INDEX_TRAILER as u64)
            .checked_sub(index_len)
            .ok_or_else(|| Error::corrupt(path, body_len, "index longer than the body"))?;
        let mut index = vec![0u8; index_len as usize];
        read_at(&file, path, &mut index, index_start)?;
        if crc32fast::hash(&index) != index_crc {
            return Err(Error::corrupt(path, index_start, "index CRC mismatch"));
        }
        let bad = || Error::corrupt(path, index_start, "index does not decode");
        let mut r = Reader::new(&index);
        let flush_lsn = r.uvarint().ok_or_else(bad)?;
        let partition_start = r.ivarint().ok_or_else(bad)?;
        let n = r.uvarint().ok_or_else(bad)?;
        let mut sections = Vec::new();
        for _ in 0..n {
            let component = r.string().ok_or_else(bad)?;
            let count = r.uvarint().ok_or_else(bad)?;
            let min_ts = r.ivarint().ok_or_else(bad)?;
            let max_ts = r.ivarint().ok_or_else(bad)?;
            let mut severity_counts = [0u64; 8];
            for c in &mut severity_counts {
                *c = r.uvarint().ok_or_else(bad)?;
            }
            let offset = r.uvarint().ok_or_else(bad)?;
            let len = r.uvarint().ok_or_else(bad)?;
            let crc = r.u32_le().ok_or_else(bad)?;
            if offset.checked_add(len).is_none_or(|end| end > index_start) {
                return Err(bad());
            }
            sections.push(SectionMeta {
                component,
                count,
                min_ts,
                max_ts,
                severity_counts,
                offset,
                len,
                crc,
            });
        }
        let min_ts = sections.iter().map(|m| m.min_ts).min().unwrap_or(0);
        let max_ts = sections.iter().map(|m| m.max_ts).max().unwrap_or(0);
        Ok(Block {
            path: path.to_path_buf(),
            file,
            flush_lsn,
            partition_start,
            min_ts,
            max_ts,
            file_len: body_len + lookout_disk::FOOTER_LEN as u64,
            sections,
        })
    }

    /// Reads, checks and decodes one section. `Error::Corrupt` when its CRC or encoding is
    /// wrong: the caller counts it and serves the rest.
    pub(crate) fn read_section(&self, s: &SectionMeta, need: Need) -> Result<Rows> {
        let mut buf = vec![0u8; s.len as usize];
        read_at(&self.file, &self.path, &mut buf, s.offset)?;
        if crc32fast::hash(&buf) != s.crc {
            return Err(Error::corrupt(&self.path, s.offset, "section CRC mismatch"));
        }
        decode_section(&buf, s.count, need)
            .ok_or_else(|| Error::corrupt(&self.path, s.offset, "section does not decode"))
    }
}

fn read_at(file: &File, path: &Path, buf: &mut [u8], offset: u64) -> Result<()> {
    file.read_exact_at(buf, offset)
        .map_err(|e| Error::io(path, e))
}

fn decode_section(buf: &[u8], count: u64, need: Need) -> Option<Rows> {
    let mut r = Reader::new(buf);
    let n = r.uvarint()?;
    if n != count {
        return None;
    }
    let n = usize::try_from(n).ok()?;
    let mut sizes = [(0usize, 0usize); COLUMNS];
    for s in &mut sizes {
        *s = (
            usize::try_from(r.uvarint()?).ok()?,
            usize::try_from(r.uvarint()?).ok()?,
        );
    }
    let mut start = buf.len() - sizes.iter().map(|s| s.1).sum::<usize>().min(buf.len());
    let mut cols: Vec<Vec<u8>> = Vec::with_capacity(COLUMNS);
    for (i, (raw, packed)) in sizes.iter().enumerate() {
        let end = start.checked_add(*packed)?;
        let wanted = matches!(need, Need::Records) || i == 0 || i == 3;
        cols.push(if wanted {
            zstd::bulk::decompress(buf.get(start..end)?, *raw).ok()?
        } else {
            Vec::new()
        });
        start = end;
    }
    let mut rows = Rows {
        ts: Vec::with_capacity(n),
        severity: Vec::with_capacity(n),
        seq: Vec::new(),
        facility: Vec::new(),
        hosts: Vec::new(),
        host_idx: Vec::new(),
        messages: Vec::new(),
        message_ends: Vec::new(),
        fields: Vec::new(),
    };
    let mut ts_col = Reader::new(&cols[0]);
    let mut ts = 0i64;
    for _ in 0..n {
        ts = ts.wrapping_add(ts_col.ivarint()?);
        rows.ts.push(ts);
    }
    let sev = cols[3].get(..2 * n)?;
    for pair in sev.chunks_exact(2) {
        if pair[0] > 7 {
            return None;
        }
        rows.severity.push(pair[0]);
        rows.facility.push(pair[1]);
    }
    if let Need::Counts = need {
        return Some(rows);
    }
    let mut seq_col = Reader::new(&cols[1]);
    let mut seq = 0i64;
    for _ in 0..n {
        seq = seq.wrapping_add(seq_col.ivarint()?);
        rows.seq.push(seq as u64);
    }
    let mut host_col = Reader::new(&cols[2]);
    let nh = host_col.uvarint()?;
    for _ in 0..nh {
        rows.hosts.push(host_col.string()?);
    }
    for _ in 0..n {
        let id = host_col.uvarint()?;
        if id >= nh {
            return None;
        }
        rows.host_idx.push(id as u32);
    }
    let mut msg_col = Reader::new(&cols[4]);
    rows.messages.reserve(cols[4].len());
    for _ in 0..n {
        rows.messages.extend_from_slice(msg_col.bytes()?);
        rows.message_ends.push(rows.messages.len());
    }
    let mut f_col = Reader::new(&cols[5]);
    for _ in 0..n {
        let nf = f_col.uvarint()?;
        let mut fields = Vec::with_capacity(nf.min(64) as usize);
        for _ in 0..nf {
            fields.push((f_col.string()?, f_col.string()?));
        }
        rows.fields.push(fields);
    }
    Some(rows)
}
