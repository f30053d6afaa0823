//! Writing a block: chunks are streamed through a checksumming writer into a temp file that
//! `lookout_disk::write_atomic` fsyncs and renames into place, so a block either exists whole
//! with a valid footer or not at all. Only the chunk index (a few bytes per series) is kept in
//! memory while writing. Choosing what goes into a block is the caller's job (flush, compaction,
//! rollup).

use std::io::{self, Write};
use std::path::Path;

use lookout_disk::ChecksumWriter;

use super::{BlockMeta, MAGIC, VERSION};
use crate::error::Result;
use crate::varint;

/// Receives the chunks of a block being written, in increasing series id order.
pub struct ChunkSink<'a> {
    out: ChecksumWriter<&'a mut dyn Write>,
    ids: Vec<u32>,
    lens: Vec<u64>,
    points: u64,
}

impl ChunkSink<'_> {
    /// Appends the chunk of series `id` (ids strictly increasing) holding `points` points.
    pub fn push(&mut self, id: u32, chunk: &[u8], points: usize) -> io::Result<()> {
        if self.ids.last().is_some_and(|&last| last >= id) {
            return Err(io::Error::other(format!(
                "block chunks out of order: series {id} after {:?}",
                self.ids.last()
            )));
        }
        self.out.write_all(chunk)?;
        self.out.write_all(&crc32fast::hash(chunk).to_le_bytes())?;
        self.ids.push(id);
        self.lens.push(chunk.len() as u64 + 4);
        self.points += points as u64;
        Ok(())
    }

    /// Chunks pushed so far.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    fn finish(mut self, mut meta: BlockMeta) -> io::Result<()> {
        meta.points = self.points;
        let mut index = Vec::with_capacity(self.ids.len() * 3 + 8);
        varint::put_u64(&mut index, self.ids.len() as u64);
        let mut prev = 0u32;
        for (&id, &len) in self.ids.iter().zip(&self.lens) {
            varint::put_u64(&mut index, u64::from(id - prev));
            varint::put_u64(&mut index, len);
            prev = id;
        }
        let mut m = Vec::new();
        meta.encode(&mut m);
        self.out.write_all(&index)?;
        self.out.write_all(&m)?;
        self.out.write_all(&(index.len() as u32).to_le_bytes())?;
        self.out.write_all(&(m.len() as u32).to_le_bytes())?;
        self.out.finish(VERSION, MAGIC)?;
        Ok(())
    }
}

/// Writes a block at `path`: `fill` pushes the chunks, then the index, `meta` (with its point
/// count filled in) and the footer follow. Returns the number of chunks written. A failure of
/// `fill` leaves no file behind.
pub fn write_block(
    path: &Path,
    meta: BlockMeta,
    fill: impl FnOnce(&mut ChunkSink<'_>) -> io::Result<()>,
) -> Result<usize> {
    let mut chunks = 0;
    lookout_disk::write_atomic(path, |w| {
        let mut sink = ChunkSink {
            out: ChecksumWriter::new(w),
            ids: Vec::new(),
            lens: Vec::new(),
            points: 0,
        };
        fill(&mut sink)?;
        chunks = sink.len();
        sink.finish(meta)
    })?;
    Ok(chunks)
}
