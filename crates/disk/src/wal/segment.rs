//! One WAL segment file on its own: the segment header, the record framing, reading records
//! back in order, and telling a torn tail from corruption when a record does not check out.
//! Which segments exist, which one is written, and what an LSN means across segments belong to
//! `wal.rs`. The byte layout is specified in `docs/format/wal.md`.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// First bytes of every segment: tells a WAL segment from any other file.
pub(crate) const SEGMENT_MAGIC: [u8; 8] = *b"LKOUTWAL";
/// Segment format version this build writes and reads.
pub(crate) const SEGMENT_VERSION: u32 = 1;
/// Segment header: magic (8) | version u32 LE | base LSN u64 LE | CRC32 of the previous 20 bytes.
pub(crate) const HEADER_LEN: u64 = 24;
/// Record header: payload length u32 LE | CRC32 of the length bytes and the payload.
pub(crate) const RECORD_HEADER_LEN: u64 = 8;

/// Read buffer for scanning and replay: large enough that records of a few KB cost no syscall
/// each; larger records bypass it.
const READ_BUFFER_BYTES: usize = 1 << 20;

/// The segment header's bytes for a segment whose first record has LSN `base`.
pub(crate) fn encode_header(base: u64) -> [u8; HEADER_LEN as usize] {
    let mut h = [0u8; HEADER_LEN as usize];
    h[0..8].copy_from_slice(&SEGMENT_MAGIC);
    h[8..12].copy_from_slice(&SEGMENT_VERSION.to_le_bytes());
    h[12..20].copy_from_slice(&base.to_le_bytes());
    let crc = crc32fast::hash(&h[0..20]);
    h[20..24].copy_from_slice(&crc.to_le_bytes());
    h
}

/// What the first bytes of a segment file say.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Header {
    /// A valid header: the segment's base LSN.
    Valid(u64),
    /// No usable header (file too short, all zeros, or bad header CRC): what a crash while
    /// creating the segment leaves, or damage. The file holds no readable record.
    Unreadable(&'static str),
}

/// Parses a segment header. A foreign file (wrong magic) or a newer format version is an error:
/// the log refuses to open rather than guess what the file is.
pub(crate) fn decode_header(path: &Path, bytes: &[u8]) -> Result<Header> {
    if bytes.len() < HEADER_LEN as usize {
        return Ok(Header::Unreadable("file shorter than the segment header"));
    }
    let h = &bytes[..HEADER_LEN as usize];
    if h.iter().all(|&b| b == 0) {
        return Ok(Header::Unreadable("segment header is all zeros"));
    }
    if h[0..8] != SEGMENT_MAGIC {
        return Err(Error::corrupt(
            path,
            0,
            format!(
                "not a lookout WAL segment: magic is {:?}, expected {:?}",
                String::from_utf8_lossy(&h[0..8]),
                String::from_utf8_lossy(&SEGMENT_MAGIC)
            ),
        ));
    }
    let version = u32::from_le_bytes([h[8], h[9], h[10], h[11]]);
    if version != SEGMENT_VERSION {
        return Err(Error::UnsupportedVersion {
            path: path.to_path_buf(),
            found: version,
            supported: SEGMENT_VERSION..=SEGMENT_VERSION,
        });
    }
    let crc = u32::from_le_bytes([h[20], h[21], h[22], h[23]]);
    if crc != crc32fast::hash(&h[0..20]) {
        return Ok(Header::Unreadable("segment header CRC mismatch"));
    }
    let mut base = [0u8; 8];
    base.copy_from_slice(&h[12..20]);
    Ok(Header::Valid(u64::from_le_bytes(base)))
}

/// The 8-byte record header for `payload`, whose length the caller has checked fits a `u32`.
pub(crate) fn record_header(payload: &[u8]) -> [u8; RECORD_HEADER_LEN as usize] {
    let len = (payload.len() as u32).to_le_bytes();
    let mut crc = crc32fast::Hasher::new();
    crc.update(&len);
    crc.update(payload);
    let mut h = [0u8; RECORD_HEADER_LEN as usize];
    h[0..4].copy_from_slice(&len);
    h[4..8].copy_from_slice(&crc.finalize().to_le_bytes());
    h
}

/// Creates segment `path` holding only its header, for records from LSN `base` on. The returned
/// handle's cursor is at the end of the header. Nothing is fsynced: the first group commit that
/// covers a record in this segment syncs the file and the directory. On failure the file is
/// removed again.
pub(crate) fn create_segment(path: &Path, base: u64) -> Result<File> {
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    if let Err(e) = file.write_all(&encode_header(base)) {
        // The file is unusable either way; a leftover would be recognised at the next open as
        // a segment without a header and removed.
        let _ = std::fs::remove_file(path);
        return Err(Error::io(path, e));
    }
    Ok(file)
}

/// What reading the next record found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Next {
    /// An intact record with its payload length, starting at file offset `offset`.
    Record { offset: u64, len: u64 },
    /// The read bound was reached exactly at a record boundary.
    End,
    /// The record at `offset` does not check out.
    Damaged { offset: u64, reason: &'static str },
}

/// Reads the records of one segment in order, from the end of the header up to a byte bound.
pub(crate) struct RecordReader {
    file: BufReader<File>,
    path: PathBuf,
    /// File offset of the next record.
    offset: u64,
    /// Bytes past this offset are not read: the file's length at open, or the part of the
    /// active segment that was complete when a replay started.
    end: u64,
}

impl RecordReader {
    /// A reader over `file` (opened from `path`) from the first record up to offset `end`.
    pub(crate) fn new(file: File, path: &Path, end: u64) -> Result<Self> {
        let mut file = BufReader::with_capacity(READ_BUFFER_BYTES, file);
        std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(HEADER_LEN))
            .map_err(|e| Error::io(path, e))?;
        Ok(RecordReader {
            file,
            path: path.to_path_buf(),
            offset: HEADER_LEN,
            end,
        })
    }

    /// File offset of the next record.
    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }

    /// Reads the next record. With `payload = Some(buf)` the payload lands in `buf` and its CRC
    /// is checked; with `None` it is skipped unread (the caller only wants later records, and
    /// the open-time scan already checked it).
    pub(crate) fn next(&mut self, payload: Option<&mut Vec<u8>>) -> Result<Next> {
        let offset = self.offset;
        if offset == self.end {
            return Ok(Next::End);
        }
        if self.end - offset < RECORD_HEADER_LEN {
            return Ok(Next::Damaged {
                offset,
                reason: "partial record header",
            });
        }
        let mut header = [0u8; RECORD_HEADER_LEN as usize];
        self.file
            .read_exact(&mut header)
            .map_err(|e| Error::io(&self.path, e))?;
        let len = u64::from(u32::from_le_bytes([
            header[0], header[1], header[2], header[3],
        ]));
        if len > self.end - offset - RECORD_HEADER_LEN {
            return Ok(Next::Damaged {
                offset,
                reason: "record length runs past the end of the segment",
            });
        }
        match payload {
            Some(buf) => {
                buf.clear();
                // `len` is at most the segment's remaining bytes, so this is bounded by the
                // file's size, not by whatever a damaged length field says.
                buf.resize(len as usize, 0);
                self.file
                    .read_exact(buf)
                    .map_err(|e| Error::io(&self.path, e))?;
                let mut crc = crc32fast::Hasher::new();
                crc.update(&header[0..4]);
                crc.update(buf);
                if crc.finalize()
                    != u32::from_le_bytes([header[4], header[5], header[6], header[7]])
                {
                    return Ok(Next::Damaged {
                        offset,
                        reason: "record CRC mismatch",
                    });
                }
            }
            None => self
                .file
                .seek_relative(len as i64)
                .map_err(|e| Error::io(&self.path, e))?,
        }
        self.offset = offset + RECORD_HEADER_LEN + len;
        Ok(Next::Record { offset, len })
    }
}

/// Whether damage found at `offset` of a segment `file_len` bytes long is a torn tail (what an
/// interrupted write leaves: the end of the file is a partial or garbled last record, or zeros)
/// rather than corruption with more records after it. A torn tail only ever holds records that
/// were never fsynced, so it is safe to cut; anything else is kept for inspection.
pub(crate) fn is_torn_tail(file: &File, path: &Path, offset: u64, file_len: u64) -> Result<bool> {
    if file_len - offset < RECORD_HEADER_LEN {
        return Ok(true);
    }
    let mut len = [0u8; 4];
    file.read_exact_at(&mut len, offset)
        .map_err(|e| Error::io(path, e))?;
    let record_end = offset + RECORD_HEADER_LEN + u64::from(u32::from_le_bytes(len));
    if record_end >= file_len {
        return Ok(true);
    }
    let mut rest = BufReader::with_capacity(READ_BUFFER_BYTES, file);
    std::io::Seek::seek(&mut rest, std::io::SeekFrom::Start(offset))
        .map_err(|e| Error::io(path, e))?;
    loop {
        let chunk = rest.fill_buf().map_err(|e| Error::io(path, e))?;
        if chunk.is_empty() {
            return Ok(true);
        }
        if chunk.iter().any(|&b| b != 0) {
            return Ok(false);
        }
        let n = chunk.len();
        rest.consume(n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(bytes: &[u8], expected: std::result::Result<Header, &str>) {
        match (decode_header(Path::new("/wal/x.wal"), bytes), expected) {
            (Ok(h), Ok(want)) => assert_eq!(h, want),
            (Err(e), Err(want)) => {
                assert!(e.to_string().contains(want), "{e} lacks {want:?}")
            }
            (got, want) => panic!("got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn header_cases() {
        let good = encode_header(12345);
        check(&good, Ok(Header::Valid(12345)));
        check(
            &good[..23],
            Ok(Header::Unreadable("file shorter than the segment header")),
        );
        check(
            &[],
            Ok(Header::Unreadable("file shorter than the segment header")),
        );
        check(
            &[0u8; 24],
            Ok(Header::Unreadable("segment header is all zeros")),
        );
        let mut flipped = good;
        flipped[14] ^= 1;
        check(
            &flipped,
            Ok(Header::Unreadable("segment header CRC mismatch")),
        );
        check(
            b"SQLite format 3\0 and more bytes",
            Err("not a lookout WAL segment"),
        );
        let mut v2 = good;
        v2[8] = 2;
        check(&v2, Err("format version 2"));
    }

    /// The test vectors of `docs/format/wal.md`.
    #[test]
    fn spec_test_vectors() {
        let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
        assert_eq!(
            hex(&encode_header(0)),
            "4c4b4f555457414c0100000000000000000000000aa87b95"
        );
        assert_eq!(hex(&record_header(b"abc")), "03000000335de166");
        assert_eq!(crc32fast::hash(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn record_header_layout() {
        let h = record_header(b"abc");
        assert_eq!(&h[0..4], &[3, 0, 0, 0]);
        let mut crc = crc32fast::Hasher::new();
        crc.update(&[3, 0, 0, 0]);
        crc.update(b"abc");
        assert_eq!(&h[4..8], &crc.finalize().to_le_bytes());
    }

    fn segment_with(dir: &Path, tail: &[u8]) -> (PathBuf, u64) {
        let path = dir.join("s.wal");
        let mut bytes = encode_header(0).to_vec();
        for payload in [&b"one"[..], b"two"] {
            bytes.extend_from_slice(&record_header(payload));
            bytes.extend_from_slice(payload);
        }
        let damage = bytes.len() as u64;
        bytes.extend_from_slice(tail);
        std::fs::write(&path, &bytes).unwrap();
        (path, damage)
    }

    #[track_caller]
    fn check_torn(tail: &[u8], torn: bool) {
        let dir = tempfile::tempdir().unwrap();
        let (path, offset) = segment_with(dir.path(), tail);
        let file = File::open(&path).unwrap();
        let len = file.metadata().unwrap().len();
        let mut reader = RecordReader::new(file.try_clone().unwrap(), &path, len).unwrap();
        let mut buf = Vec::new();
        assert!(matches!(
            reader.next(Some(&mut buf)).unwrap(),
            Next::Record { .. }
        ));
        assert_eq!(buf, b"one");
        assert!(matches!(reader.next(None).unwrap(), Next::Record { .. }));
        if tail.is_empty() {
            assert_eq!(reader.next(Some(&mut buf)).unwrap(), Next::End);
            return;
        }
        assert!(matches!(
            reader.next(Some(&mut buf)).unwrap(),
            Next::Damaged { offset: o, .. } if o == offset
        ));
        assert_eq!(
            is_torn_tail(&file, &path, offset, len).unwrap(),
            torn,
            "{tail:?}"
        );
    }

    #[test]
    fn damage_classification() {
        let mut bad_crc_last = record_header(b"xyz").to_vec();
        bad_crc_last.extend_from_slice(b"xyQ");
        let mut bad_crc_middle = bad_crc_last.clone();
        bad_crc_middle.extend_from_slice(&record_header(b"after"));
        bad_crc_middle.extend_from_slice(b"after");
        let mut zero_then_data = vec![0u8; 20];
        zero_then_data.push(1);

        check_torn(&[], false);
        check_torn(&[5, 0, 0], true);
        check_torn(&[200, 0, 0, 0, 1, 2, 3, 4, 5], true);
        check_torn(&bad_crc_last, true);
        check_torn(&[0u8; 4096], true);
        check_torn(&bad_crc_middle, false);
        check_torn(&zero_then_data, false);
    }
}
