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

use crate::codec::{put_bytes, put_ivarint, put_uvarint, Reader};
use crate::error::{Error, Result};
use crate::rows::Rows;

/// Footer magic of block files.
pub(crate) const BLOCK_MAGIC: &[u8; 8] = b"LKLOGBLK";
/// Current block format version.
pub(crate) const BLOCK_VERSION: u32 = 1;
/// Columns per section, in file order.
const COLUMNS: usize = 6;
/// Bytes after the index: its length and its CRC32, both u32 LE.
const INDEX_TRAILER: usize = 8;

/// Most bytes one byte of a zstd frame can decompress to: an RLE block is a 3-byte header
/// and 1 byte standing for up to 128 KiB, 32768 times its size; nothing in the format
/// expands more.
const MAX_ZSTD_EXPANSION: usize = 32 * 1024;

/// Most records in one section. A component's records of a partition are cut into
/// consecutive sections of at most this many, each with its own time bounds, so that a query
/// for a few minutes of a busy component decompresses a few thousand records instead of the
/// component's whole hour. Smaller sections compress a little worse (each column is its own
/// zstd frame) and add an index entry each; at 2048 the loss on gen_logs-shaped rows is under
/// 5%.
pub(crate) const MAX_SECTION_ROWS: usize = 2048;

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
    /// The flush id in the file name (0 if the name is not a block name): a merged block
    /// takes the name, and so the id, of the newest block it replaces.
    pub(crate) flush_id: u64,
    /// Set on a merged block: it replaces every block of its partition whose flush id lies in
    /// `replaces_from..=flush_id`. Open deletes such blocks if a crash left them behind, so a
    /// record is never visible twice.
    pub(crate) replaces_from: Option<u64>,
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

/// Encodes and writes a block atomically, one section per entry of `sections`: a component
/// and its records sorted by (time, sequence), at most [`MAX_SECTION_ROWS`] of them (the
/// caller cuts). Returns the open block.
pub(crate) fn write_block(
    path: &Path,
    partition_start: i64,
    flush_lsn: u64,
    sections: &[(&str, Arc<Rows>)],
    level: i32,
) -> Result<Block> {
    write_block_with(path, partition_start, flush_lsn, level, None, |w| {
        for (component, rows) in sections {
            w.push(component, rows)?;
        }
        Ok(())
    })
}

/// Writes a block atomically whose sections `fill` hands to a [`SectionWriter`] one at a
/// time, in file order. Each section goes to the file as soon as it is encoded, so writing
/// a block holds one section's compressed bytes, not the block's: a merge streams a whole
/// partition through it. `replaces_from` (a merged block's oldest replaced flush id) is
/// written after the index's sections, so a crash that leaves a merge's sources behind is
/// repaired at open. An error from `fill` abandons the file (the target keeps its old
/// content) and is returned as it is.
pub(crate) fn write_block_with(
    path: &Path,
    partition_start: i64,
    flush_lsn: u64,
    level: i32,
    replaces_from: Option<u64>,
    fill: impl FnOnce(&mut SectionWriter<'_>) -> Result<()>,
) -> Result<Block> {
    // One compression context for the whole block: creating one per column cost as much as
    // compressing a small column.
    let mut zstd = zstd::bulk::Compressor::new(level).map_err(|e| Error::io(path, e))?;
    // `write_atomic` speaks io::Error; `fill`'s errors (a damaged merge source, a failed
    // write, each already with its path) wait here and are returned as they are.
    let mut fill_error = None;
    let mut written = None;
    let result = lookout_disk::write_atomic(path, |out| {
        let mut w = SectionWriter {
            path,
            out,
            zstd: &mut zstd,
            scratch: Vec::new(),
            body_len: 0,
            crc: crc32fast::Hasher::new(),
            metas: Vec::new(),
        };
        if let Err(e) = fill(&mut w) {
            fill_error = Some(e);
            return Err(std::io::Error::other("block writer stopped"));
        }
        let len = w.finish(flush_lsn, partition_start, replaces_from)?;
        written = Some((w.metas, len));
        Ok(())
    });
    if let Some(e) = fill_error {
        return Err(e);
    }
    result?;
    let (metas, file_len) =
        written.ok_or_else(|| Error::InvalidQuery("block not written".into()))?;
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    Ok(Block::new(
        path,
        file,
        flush_lsn,
        replaces_from,
        partition_start,
        file_len,
        metas,
    ))
}

/// Where [`write_block_with`]'s caller puts sections: each is encoded, written through and
/// forgotten but for its index entry.
pub(crate) struct SectionWriter<'a> {
    /// The block's path, for errors.
    path: &'a Path,
    out: &'a mut dyn std::io::Write,
    zstd: &'a mut zstd::bulk::Compressor<'static>,
    /// One section's encoding, reused.
    scratch: Vec<u8>,
    body_len: u64,
    /// CRC of the body so far, for the footer.
    crc: crc32fast::Hasher,
    metas: Vec<SectionMeta>,
}

impl SectionWriter<'_> {
    /// Appends one section: `component`'s records in (time, sequence) order, at most
    /// [`MAX_SECTION_ROWS`] of them (the caller cuts).
    pub(crate) fn push(&mut self, component: &str, rows: &Rows) -> Result<()> {
        let mut section = std::mem::take(&mut self.scratch);
        section.clear();
        let written =
            encode_section(&mut section, rows, self.zstd).and_then(|()| self.write(&section));
        let len = section.len() as u64;
        self.scratch = section;
        let crc = written.map_err(|e| Error::io(self.path, e))?;
        let mut severity_counts = [0u64; 8];
        for s in &rows.severity {
            severity_counts[usize::from(*s & 7)] += 1;
        }
        let (min_ts, max_ts) = rows.time_bounds().unwrap_or((0, 0));
        self.metas.push(SectionMeta {
            component: component.to_string(),
            count: rows.len() as u64,
            min_ts,
            max_ts,
            severity_counts,
            offset: self.body_len - len,
            len,
            crc,
        });
        Ok(())
    }

    /// Writes bytes of the body and returns their CRC, which the body's CRC takes in by
    /// combining rather than hashing the bytes a second time.
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<u32> {
        self.out.write_all(bytes)?;
        let crc = crc32fast::hash(bytes);
        let len = bytes.len() as u64;
        self.crc
            .combine(&crc32fast::Hasher::new_with_initial_len(crc, len));
        self.body_len += len;
        Ok(crc)
    }

    /// Writes the index, its trailer and the footer; returns the file's length.
    fn finish(
        &mut self,
        flush_lsn: u64,
        partition_start: i64,
        replaces_from: Option<u64>,
    ) -> std::io::Result<u64> {
        let mut index = Vec::new();
        put_uvarint(&mut index, flush_lsn);
        put_ivarint(&mut index, partition_start);
        put_uvarint(&mut index, self.metas.len() as u64);
        for m in &self.metas {
            put_bytes(&mut index, m.component.as_bytes());
            put_uvarint(&mut index, m.count);
            put_ivarint(&mut index, m.min_ts);
            put_ivarint(&mut index, m.max_ts);
            for c in m.severity_counts {
                put_uvarint(&mut index, c);
            }
            put_uvarint(&mut index, m.offset);
            put_uvarint(&mut index, m.len);
            index.extend_from_slice(&m.crc.to_le_bytes());
        }
        if let Some(first) = replaces_from {
            put_uvarint(&mut index, first);
        }
        let index_crc = crc32fast::hash(&index);
        let index_len = u32::try_from(index.len())
            .map_err(|_| std::io::Error::other("block index over 4 GiB"))?;
        index.extend_from_slice(&index_len.to_le_bytes());
        index.extend_from_slice(&index_crc.to_le_bytes());
        self.write(&index)?;
        let crc = std::mem::replace(&mut self.crc, crc32fast::Hasher::new()).finalize();
        let footer = lookout_disk::encode_footer(crc, self.body_len, BLOCK_VERSION, BLOCK_MAGIC);
        self.out.write_all(&footer)?;
        Ok(self.body_len + footer.len() as u64)
    }
}

fn encode_section(
    out: &mut Vec<u8>,
    rows: &Rows,
    zstd: &mut zstd::bulk::Compressor<'_>,
) -> std::io::Result<()> {
    let n = rows.len();
    let mut cols: [Vec<u8>; COLUMNS] = Default::default();
    let (mut prev_ts, mut prev_seq) = (0i64, 0i64);
    for i in 0..n {
        put_ivarint(&mut cols[0], rows.ts[i].wrapping_sub(prev_ts));
        prev_ts = rows.ts[i];
        put_ivarint(&mut cols[1], (rows.seq[i] as i64).wrapping_sub(prev_seq));
        prev_seq = rows.seq[i] as i64;
    }
    // The host dictionary leads its column, so one section decodes on its own.
    put_uvarint(&mut cols[2], rows.hosts.len() as u64);
    for h in &rows.hosts {
        put_bytes(&mut cols[2], h.as_bytes());
    }
    for id in &rows.host_idx {
        put_uvarint(&mut cols[2], u64::from(*id));
    }
    cols[3].reserve(2 * n);
    for i in 0..n {
        cols[3].push(rows.severity[i]);
        cols[3].push(rows.facility[i]);
    }
    cols[4].reserve(rows.messages.len() + 2 * n);
    for i in 0..n {
        put_bytes(&mut cols[4], rows.message(i));
    }
    // The head keeps fields in the column's own encoding.
    cols[5].extend_from_slice(&rows.fields);
    put_uvarint(out, n as u64);
    let mut packed = Vec::with_capacity(COLUMNS);
    for c in &cols {
        let z = zstd.compress(c)?;
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
        // Optional: only merged blocks carry it (docs/format/logs-block.md).
        let replaces_from = if r.is_empty() {
            None
        } else {
            Some(r.uvarint().ok_or_else(bad)?)
        };
        Ok(Block::new(
            path,
            file,
            flush_lsn,
            replaces_from,
            partition_start,
            body_len + lookout_disk::FOOTER_LEN as u64,
            sections,
        ))
    }

    /// A block over `file` holding `sections`; its flush id comes from the file name and its
    /// time bounds from the sections'.
    fn new(
        path: &Path,
        file: File,
        flush_lsn: u64,
        replaces_from: Option<u64>,
        partition_start: i64,
        file_len: u64,
        sections: Vec<SectionMeta>,
    ) -> Block {
        let min_ts = sections.iter().map(|m| m.min_ts).min().unwrap_or(0);
        let max_ts = sections.iter().map(|m| m.max_ts).max().unwrap_or(0);
        Block {
            path: path.to_path_buf(),
            file,
            flush_lsn,
            flush_id: flush_id_of(path),
            replaces_from,
            partition_start,
            min_ts,
            max_ts,
            file_len,
            sections,
        }
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

/// The flush id in a block's file name; 0 for a name that is not a block name (the fuzz
/// entry's files), which no merge ever covers.
fn flush_id_of(path: &Path) -> u64 {
    path.file_name()
        .and_then(|n| n.to_str())
        .and_then(crate::filenames::parse_block_file_name)
        .map_or(0, |(_, id)| id)
}

fn read_at(file: &File, path: &Path, buf: &mut [u8], offset: u64) -> Result<()> {
    file.read_exact_at(buf, offset)
        .map_err(|e| Error::io(path, e))
}

thread_local! {
    /// One zstd decompression context per thread, reused by every column it decodes:
    /// creating a context cost more than decompressing a column (a quarter of a wide count's
    /// time went to `ZSTD_createDCtx`).
    static DECOMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Decompressor<'static>>> =
        const { std::cell::RefCell::new(None) };
}

/// Decompresses one column frame of at most `raw` bytes with this thread's context.
fn decompress(packed: &[u8], raw: usize) -> Option<Vec<u8>> {
    DECOMPRESSOR.with(|cell| {
        let mut slot = cell.try_borrow_mut().ok()?;
        if slot.is_none() {
            *slot = Some(zstd::bulk::Decompressor::new().ok()?);
        }
        slot.as_mut()?.decompress(packed, raw).ok()
    })
}

pub(crate) fn decode_section(buf: &[u8], count: u64, need: Need) -> Option<Rows> {
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
    // Saturating: damaged sizes may sum past `usize::MAX` (found by fuzzing, docs/fuzzing.md).
    let packed_total = sizes.iter().fold(0usize, |t, s| t.saturating_add(s.1));
    let mut start = buf.len() - packed_total.min(buf.len());
    let mut cols: Vec<Vec<u8>> = Vec::with_capacity(COLUMNS);
    for (i, (raw, packed)) in sizes.iter().enumerate() {
        let end = start.checked_add(*packed)?;
        // The bulk decompressor allocates `raw` bytes up front, so a damaged size must not
        // reach it (found by fuzzing, docs/fuzzing.md): no zstd frame expands more than
        // MAX_ZSTD_EXPANSION times.
        if *raw > packed.saturating_mul(MAX_ZSTD_EXPANSION) {
            return None;
        }
        let wanted = matches!(need, Need::Records) || i == 0 || i == 3;
        cols.push(if wanted {
            decompress(buf.get(start..end)?, *raw)?
        } else {
            Vec::new()
        });
        start = end;
    }
    let mut rows = Rows::default();
    // Every record takes at least a byte of the time column: a bound on what to reserve.
    let cap = n.min(cols[0].len());
    rows.ts.reserve(cap);
    rows.severity.reserve(cap);
    rows.facility.reserve(cap);
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
    // Fields stay in their column encoding; each row's extent is found, and its text checked,
    // here, so that reading them later cannot fail.
    let fields = std::mem::take(&mut cols[5]);
    let mut f_col = Reader::new(&fields);
    let mut rest = fields.len();
    for _ in 0..n {
        let nf = f_col.uvarint()?;
        for _ in 0..nf {
            std::str::from_utf8(f_col.bytes()?).ok()?;
            std::str::from_utf8(f_col.bytes()?).ok()?;
        }
        rest = f_col.remaining();
        rows.field_ends.push(fields.len() - rest);
    }
    if rest != 0 {
        return None;
    }
    rows.fields = fields;
    Some(rows)
}
