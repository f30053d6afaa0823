//! Reading a block: `open` checks the footer (and, if asked, the CRC of the whole body by a
//! streaming pass) and loads the chunk index (series ids and offsets, 12 bytes per series); a
//! read then fetches one series' chunk with one positioned read and checks the chunk's own
//! CRC, so damage that appears after open is caught too. The file is never loaded whole.
//!
//! Errors say which file and offset is damaged; deciding to skip, count and report is the
//! caller's (`snapshot`, `engine`).

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::{BlockMeta, MAGIC, VERSION};
use crate::codec::{self, ChunkScratch};
use crate::error::{Error, Result};
use crate::varint::Reader;

/// An open block.
#[derive(Debug)]
pub struct BlockReader {
    /// Block id (from the file name).
    pub id: u64,
    /// Path, for messages and deletion.
    pub path: PathBuf,
    /// What the block holds.
    pub meta: BlockMeta,
    /// File size in bytes.
    pub size: u64,
    file: File,
    /// Series ids, ascending.
    ids: Vec<u32>,
    /// Chunk start offsets, one per id plus the end of the last chunk.
    offsets: Vec<u64>,
}

impl BlockReader {
    /// Opens and checks a block file.
    pub fn open(path: &Path, id: u64, verify_body: bool) -> Result<BlockReader> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let footer = lookout_disk::read_footer(&file, path, MAGIC, VERSION..=VERSION)?;
        if verify_body {
            lookout_disk::verify_body(&file, path, &footer)?;
        }
        let body = footer.body_len;
        let mut lens = [0u8; 8];
        if body < 8 {
            return Err(Error::corrupt(path, 0, "block body too short"));
        }
        file.read_exact_at(&mut lens, body - 8)
            .map_err(|e| Error::io(path, e))?;
        let index_len = u64::from(u32::from_le_bytes([lens[0], lens[1], lens[2], lens[3]]));
        let meta_len = u64::from(u32::from_le_bytes([lens[4], lens[5], lens[6], lens[7]]));
        let index_at = body.checked_sub(8 + meta_len + index_len).ok_or_else(|| {
            Error::corrupt(path, body - 8, "index and meta lengths exceed the body")
        })?;
        let mut tail = vec![0u8; (index_len + meta_len) as usize];
        file.read_exact_at(&mut tail, index_at)
            .map_err(|e| Error::io(path, e))?;
        let (index, meta_bytes) = tail.split_at(index_len as usize);
        let meta = BlockMeta::decode(meta_bytes)
            .ok_or_else(|| Error::corrupt(path, index_at + index_len, "invalid block meta"))?;
        let (ids, offsets) = parse_index(index, index_at)
            .ok_or_else(|| Error::corrupt(path, index_at, "invalid chunk index"))?;
        Ok(BlockReader {
            id,
            path: path.to_path_buf(),
            meta,
            size: body + lookout_disk::FOOTER_LEN as u64,
            file,
            ids,
            offsets,
        })
    }

    /// Series ids with a chunk in this block, ascending.
    pub fn series(&self) -> &[u32] {
        &self.ids
    }

    /// Heap bytes of the in-memory index.
    pub fn heap_bytes(&self) -> usize {
        self.ids.capacity() * 4 + self.offsets.capacity() * 8
    }

    /// Decodes the chunk of series `id` into `slots`/`values` (slots count steps from the
    /// partition start). Returns `Ok(false)` if the block has no chunk for it. `buf` is scratch.
    pub fn read_series(
        &self,
        id: u32,
        buf: &mut Vec<u8>,
        slots: &mut Vec<u32>,
        values: &mut Vec<f64>,
    ) -> Result<bool> {
        let Ok(i) = self.ids.binary_search(&id) else {
            slots.clear();
            values.clear();
            return Ok(false);
        };
        self.read_chunk_at(i, buf, slots, values)?;
        Ok(true)
    }

    /// Decodes the chunk of series `id`, calling `put(slot, value)` per point (see
    /// `codec::decode_chunk_with`). Returns `Ok(false)` if the block has no chunk for it.
    pub fn read_series_with(
        &self,
        id: u32,
        buf: &mut Vec<u8>,
        scratch: &mut ChunkScratch,
        put: impl FnMut(u32, f64),
    ) -> Result<bool> {
        let Ok(i) = self.ids.binary_search(&id) else {
            return Ok(false);
        };
        let (chunk, start) = self.read_raw(i, buf)?;
        let used = codec::decode_chunk_with(chunk, self.meta.slots(), scratch, put)
            .map_err(|e| Error::codec(&self.path, start, e))?;
        if used != chunk.len() {
            return Err(Error::corrupt(
                &self.path,
                start,
                "chunk has trailing bytes",
            ));
        }
        Ok(true)
    }

    /// Reads the `i`-th chunk's bytes into `buf` and checks its CRC; returns the chunk (without
    /// the CRC) and its file offset.
    fn read_raw<'b>(&self, i: usize, buf: &'b mut Vec<u8>) -> Result<(&'b [u8], u64)> {
        let (start, end) = (self.offsets[i], self.offsets[i + 1]);
        let len = (end - start) as usize;
        buf.clear();
        buf.resize(len, 0);
        self.file
            .read_exact_at(buf, start)
            .map_err(|e| Error::io(&self.path, e))?;
        let (chunk, crc) = buf.split_at(len - 4);
        let stored = u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]);
        if crc32fast::hash(chunk) != stored {
            return Err(Error::corrupt(&self.path, start, "chunk CRC mismatch"));
        }
        Ok((chunk, start))
    }

    /// Decodes the `i`-th chunk (in id order).
    pub fn read_chunk_at(
        &self,
        i: usize,
        buf: &mut Vec<u8>,
        slots: &mut Vec<u32>,
        values: &mut Vec<f64>,
    ) -> Result<()> {
        let (chunk, start) = self.read_raw(i, buf)?;
        let used = codec::decode_chunk(chunk, self.meta.slots(), slots, values)
            .map_err(|e| Error::codec(&self.path, start, e))?;
        if used != chunk.len() {
            return Err(Error::corrupt(
                &self.path,
                start,
                "chunk has trailing bytes",
            ));
        }
        Ok(())
    }
}

/// Parses the chunk index; chunk offsets start at 0 and must end exactly at `index_at`.
fn parse_index(index: &[u8], index_at: u64) -> Option<(Vec<u32>, Vec<u64>)> {
    let mut r = Reader::new(index);
    let n = r.len(2)?;
    let mut ids = Vec::with_capacity(n);
    let mut offsets = Vec::with_capacity(n + 1);
    let (mut id, mut at) = (0u32, 0u64);
    for k in 0..n {
        let delta = r.u32()?;
        if k > 0 && delta == 0 {
            return None;
        }
        id = id.checked_add(delta)?;
        let len = r.u64()?;
        if len < 5 {
            return None;
        }
        ids.push(id);
        offsets.push(at);
        at = at.checked_add(len)?;
    }
    offsets.push(at);
    (r.is_empty() && at == index_at).then_some((ids, offsets))
}

#[cfg(test)]
mod tests {
    use super::super::{write_block, NO_WATERMARK};
    use super::*;

    fn meta() -> BlockMeta {
        BlockMeta {
            schema: 0,
            level: 0,
            partition: 86_400,
            partition_secs: 86_400,
            step: 10,
            seq: 1,
            watermark: NO_WATERMARK,
            points: 0,
            replaces: vec![],
        }
    }

    fn write_sample(path: &Path) {
        write_block(path, meta(), |sink| {
            for id in [2u32, 5, 1000] {
                let slots: Vec<u32> = (0..100).map(|i| i * 2 + id % 3).collect();
                let values: Vec<f64> = (0..100)
                    .map(|i| f64::from(id) + f64::from(i) / 4.0)
                    .collect();
                let mut chunk = Vec::new();
                codec::encode_chunk(&slots, &values, &mut chunk);
                sink.push(id, &chunk, slots.len())?;
            }
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn written_block_reads_back_per_series() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("1.blk");
        write_sample(&path);
        let b = BlockReader::open(&path, 1, true).unwrap();
        assert_eq!(b.series(), &[2, 5, 1000]);
        assert_eq!(b.meta.points, 300);
        let (mut buf, mut s, mut v) = (Vec::new(), Vec::new(), Vec::new());
        assert!(b.read_series(5, &mut buf, &mut s, &mut v).unwrap());
        assert_eq!(s[..3], [2, 4, 6]);
        assert_eq!(v[..2], [5.0, 5.25]);
        assert!(!b.read_series(6, &mut buf, &mut s, &mut v).unwrap());
        assert_eq!(b.size, std::fs::metadata(&path).unwrap().len());
    }

    #[test]
    fn out_of_order_chunks_fail_the_write_and_leave_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("1.blk");
        let r = write_block(&path, meta(), |sink| {
            sink.push(5, &[1, 0, 0, 0, 0], 1)?;
            sink.push(5, &[1, 0, 0, 0, 0], 1)
        });
        assert!(r.is_err());
        assert!(!path.exists());
    }

    #[test]
    fn a_flipped_byte_is_caught_at_open_or_at_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("1.blk");
        write_sample(&path);
        let clean = std::fs::read(&path).unwrap();
        for at in [3usize, clean.len() / 2, clean.len() - 30, clean.len() - 3] {
            let mut bytes = clean.clone();
            bytes[at] ^= 0x10;
            std::fs::write(&path, &bytes).unwrap();
            assert!(
                matches!(
                    BlockReader::open(&path, 1, true),
                    Err(Error::Corrupt { .. } | Error::Disk(_))
                ),
                "flip at {at}"
            );
        }
        // Without the full check, a damaged chunk is still caught when read.
        let mut bytes = clean.clone();
        bytes[3] ^= 0x10;
        std::fs::write(&path, &bytes).unwrap();
        let b = BlockReader::open(&path, 1, false).unwrap();
        let (mut buf, mut s, mut v) = (Vec::new(), Vec::new(), Vec::new());
        assert!(b.read_series(2, &mut buf, &mut s, &mut v).is_err());
        assert!(b.read_series(5, &mut buf, &mut s, &mut v).unwrap());
        std::fs::write(&path, &clean[..clean.len() - 1]).unwrap();
        assert!(BlockReader::open(&path, 1, false).is_err());
    }
}
