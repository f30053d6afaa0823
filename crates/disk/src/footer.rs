//! The footer every file lookout writes ends with, and the checks made on it when the file is
//! opened: which format the file is (magic), which version of it, how long its body is and the
//! CRC32 of that body. What the body holds, and which magic and versions a format uses, belong to
//! the engine that owns the format; this file only owns the 24 trailing bytes. The byte layout
//! is specified in `docs/format/footer.md`.

use std::fs::File;
use std::io::Write;
use std::ops::RangeInclusive;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Length of a footer in bytes.
pub const FOOTER_LEN: usize = 24;

/// Read size when checksumming a range: large enough that the syscall count stays small on a
/// multi-gigabyte block, small enough to be a trivial allocation.
const CRC_READ_BYTES: usize = 256 * 1024;

/// A decoded footer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Footer {
    /// CRC32 (IEEE) of the body, i.e. of the `body_len` bytes before the footer.
    pub body_crc: u32,
    /// Length of the body in bytes; the file is exactly `body_len + FOOTER_LEN` bytes long.
    pub body_len: u64,
    /// Format version of the body.
    pub version: u32,
}

/// Encodes a footer: body CRC32 (u32 LE) | format version (u32 LE) | body length (u64 LE) |
/// 8-byte magic.
pub fn encode_footer(
    body_crc: u32,
    body_len: u64,
    version: u32,
    magic: &[u8; 8],
) -> [u8; FOOTER_LEN] {
    let mut out = [0u8; FOOTER_LEN];
    out[0..4].copy_from_slice(&body_crc.to_le_bytes());
    out[4..8].copy_from_slice(&version.to_le_bytes());
    out[8..16].copy_from_slice(&body_len.to_le_bytes());
    out[16..24].copy_from_slice(magic);
    out
}

/// Parses the footer `bytes` (the last [`FOOTER_LEN`] bytes of `path`, a file of `file_len`
/// bytes) and checks it: the magic must be `magic`, the version within `versions`, and the body
/// length must match the file size. The body CRC is returned, not checked: checking it means
/// reading the whole file, see [`crc_of_range`] and [`verify_body`].
///
/// Errors: [`Error::Corrupt`] for a file too short to hold a footer, a wrong magic or a length
/// mismatch; [`Error::UnsupportedVersion`] for a version outside `versions`.
pub fn decode_footer(
    path: &Path,
    file_len: u64,
    bytes: &[u8; FOOTER_LEN],
    magic: &[u8; 8],
    versions: RangeInclusive<u32>,
) -> Result<Footer> {
    let footer_len = FOOTER_LEN as u64;
    if file_len < footer_len {
        return Err(Error::corrupt(
            path,
            0,
            format!("file of {file_len} bytes is too short to hold its {FOOTER_LEN}-byte footer"),
        ));
    }
    let at = file_len - footer_len;
    if &bytes[16..24] != magic {
        return Err(Error::corrupt(
            path,
            at + 16,
            format!(
                "bad magic {:?}, expected {:?}",
                String::from_utf8_lossy(&bytes[16..24]),
                String::from_utf8_lossy(magic)
            ),
        ));
    }
    let version = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
    if !versions.contains(&version) {
        return Err(Error::UnsupportedVersion {
            path: path.to_path_buf(),
            found: version,
            supported: versions,
        });
    }
    let mut len = [0u8; 8];
    len.copy_from_slice(&bytes[8..16]);
    let body_len = u64::from_le_bytes(len);
    if body_len != at {
        return Err(Error::corrupt(
            path,
            at + 8,
            format!("footer gives a body of {body_len} bytes, the file holds {at}"),
        ));
    }
    Ok(Footer {
        body_crc: u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]),
        body_len,
        version,
    })
}

/// Reads and decodes the footer at the end of `file` (opened from `path`), as
/// [`decode_footer`] does.
pub fn read_footer(
    file: &File,
    path: &Path,
    magic: &[u8; 8],
    versions: RangeInclusive<u32>,
) -> Result<Footer> {
    let file_len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    let mut bytes = [0u8; FOOTER_LEN];
    if file_len >= FOOTER_LEN as u64 {
        file.read_exact_at(&mut bytes, file_len - FOOTER_LEN as u64)
            .map_err(|e| Error::io(path, e))?;
    }
    decode_footer(path, file_len, &bytes, magic, versions)
}

/// Checks the body of `file` against the CRC in `footer`; [`Error::Corrupt`] on a mismatch.
pub fn verify_body(file: &File, path: &Path, footer: &Footer) -> Result<()> {
    let crc = crc_of_range(file, 0, footer.body_len)?;
    if crc != footer.body_crc {
        return Err(Error::corrupt(
            path,
            0,
            format!(
                "body CRC32 is {crc:#010x}, footer says {:#010x}",
                footer.body_crc
            ),
        ));
    }
    Ok(())
}

/// Streams `len` bytes of `file` from `offset` through CRC32 without loading them whole (for a
/// full verification). A file that ends inside the range is [`Error::Corrupt`].
pub fn crc_of_range(file: &File, offset: u64, len: u64) -> Result<u32> {
    let mut hasher = crc32fast::Hasher::new();
    let mut buf = vec![0u8; CRC_READ_BYTES.min(usize::try_from(len).unwrap_or(usize::MAX))];
    let mut at = offset;
    let end = offset.saturating_add(len);
    while at < end {
        let want = buf
            .len()
            .min(usize::try_from(end - at).unwrap_or(usize::MAX));
        match file.read_at(&mut buf[..want], at) {
            Ok(0) => {
                return Err(Error::corrupt(
                    &path_of(file),
                    at,
                    format!("file ends inside the checksummed range {offset}..{end}"),
                ))
            }
            Ok(n) => {
                hasher.update(&buf[..n]);
                at += n as u64;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io(&path_of(file), e)),
        }
    }
    Ok(hasher.finalize())
}

/// Best-effort name of an open file for an error message, since [`crc_of_range`] is given only
/// the handle: the kernel's `/proc/self/fd` link where there is one, else an empty path.
fn path_of(file: &File) -> PathBuf {
    use std::os::fd::AsRawFd;
    std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd())).unwrap_or_default()
}

/// A writer that passes bytes through to `inner` while counting them and computing their CRC32,
/// so a file's body and its footer are produced in one streaming pass.
pub struct ChecksumWriter<W: Write> {
    inner: W,
    hasher: crc32fast::Hasher,
    len: u64,
}

impl<W: Write> ChecksumWriter<W> {
    /// Wraps `inner`; everything written from now on is the body.
    pub fn new(inner: W) -> Self {
        ChecksumWriter {
            inner,
            hasher: crc32fast::Hasher::new(),
            len: 0,
        }
    }

    /// Bytes written so far.
    pub fn body_len(&self) -> u64 {
        self.len
    }

    /// Writes the footer for the body written so far and returns the inner writer.
    pub fn finish(mut self, version: u32, magic: &[u8; 8]) -> std::io::Result<W> {
        let footer = encode_footer(self.hasher.clone().finalize(), self.len, version, magic);
        self.inner.write_all(&footer)?;
        Ok(self.inner)
    }
}

impl<W: Write> Write for ChecksumWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAGIC: &[u8; 8] = b"LKTEST01";

    fn footer_bytes(crc: u32, version: u32, len: u64, magic: &[u8; 8]) -> [u8; FOOTER_LEN] {
        encode_footer(crc, len, version, magic)
    }

    #[track_caller]
    fn check(file_len: u64, bytes: [u8; FOOTER_LEN], expected: std::result::Result<Footer, &str>) {
        let got = decode_footer(Path::new("/data/x.blk"), file_len, &bytes, MAGIC, 1..=2);
        match (got, expected) {
            (Ok(f), Ok(want)) => assert_eq!(f, want),
            (Err(e), Err(want)) => {
                let text = e.to_string();
                assert!(text.contains(want), "error {text:?} lacks {want:?}");
                assert!(
                    text.contains("/data/x.blk"),
                    "error {text:?} lacks the path"
                );
            }
            (got, want) => panic!("got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn decode_footer_cases() {
        let ok = |crc, version, len| {
            Ok(Footer {
                body_crc: crc,
                body_len: len,
                version,
            })
        };
        check(
            124,
            footer_bytes(0xdead_beef, 1, 100, MAGIC),
            ok(0xdead_beef, 1, 100),
        );
        check(24, footer_bytes(0, 2, 0, MAGIC), ok(0, 2, 0));
        check(124, footer_bytes(1, 1, 100, b"LKTEST02"), Err("bad magic"));
        check(124, [0u8; FOOTER_LEN], Err("bad magic"));
        check(124, footer_bytes(1, 3, 100, MAGIC), Err("format version 3"));
        check(124, footer_bytes(1, 0, 100, MAGIC), Err("format version 0"));
        check(
            125,
            footer_bytes(1, 1, 100, MAGIC),
            Err("body of 100 bytes, the file holds 101"),
        );
        check(124, footer_bytes(1, 1, u64::MAX, MAGIC), Err("body of"));
        check(23, footer_bytes(1, 1, 0, MAGIC), Err("too short"));
        check(0, footer_bytes(1, 1, 0, MAGIC), Err("too short"));
    }

    /// The test vector of `docs/format/footer.md`.
    #[test]
    fn spec_test_vector() {
        let footer = encode_footer(crc32fast::hash(b"hello"), 5, 1, MAGIC);
        let hex: String = footer.iter().map(|x| format!("{x:02x}")).collect();
        assert_eq!(
            hex,
            "86a61036010000000500000000000000".to_owned() + "4c4b544553543031"
        );
    }

    #[test]
    fn encode_layout_is_crc_version_len_magic() {
        let f = encode_footer(0x0403_0201, 0x0c0b_0a09_0807_0605, 0x1413_1211, MAGIC);
        assert_eq!(&f[0..4], &[1, 2, 3, 4]);
        assert_eq!(&f[4..8], &[0x11, 0x12, 0x13, 0x14]);
        assert_eq!(&f[8..16], &[5, 6, 7, 8, 9, 10, 11, 12]);
        assert_eq!(&f[16..24], MAGIC);
    }

    #[test]
    fn checksum_writer_footer_verifies_and_detects_a_flip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let body: Vec<u8> = (0..700_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut w = ChecksumWriter::new(Vec::new());
        w.write_all(&body).unwrap();
        assert_eq!(w.body_len(), body.len() as u64);
        std::fs::write(&path, w.finish(2, MAGIC).unwrap()).unwrap();

        let file = File::open(&path).unwrap();
        let footer = read_footer(&file, &path, MAGIC, 1..=2).unwrap();
        assert_eq!(footer.body_len, body.len() as u64);
        assert_eq!(footer.body_crc, crc32fast::hash(&body));
        verify_body(&file, &path, &footer).unwrap();

        let mut bytes = std::fs::read(&path).unwrap();
        bytes[300_000] ^= 0x40;
        std::fs::write(&path, &bytes).unwrap();
        let file = File::open(&path).unwrap();
        let err = verify_body(&file, &path, &footer).unwrap_err();
        assert!(matches!(err, Error::Corrupt { .. }), "{err}");
    }

    #[test]
    fn crc_of_range_matches_slices_and_reports_short_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let data: Vec<u8> = (0..600_000u32).map(|i| (i % 253) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let file = File::open(&path).unwrap();
        for (off, len) in [
            (0, 0),
            (0, 600_000),
            (1, 262_144),
            (262_143, 300_000),
            (599_999, 1),
        ] {
            let want = crc32fast::hash(&data[off..off + len]);
            assert_eq!(crc_of_range(&file, off as u64, len as u64).unwrap(), want);
        }
        match crc_of_range(&file, 500_000, 200_000) {
            Err(Error::Corrupt {
                path: p, offset, ..
            }) => {
                assert_eq!(offset, 600_000);
                assert_eq!(p.file_name(), path.file_name());
            }
            other => panic!("expected Corrupt, got {other:?}"),
        }
    }

    #[test]
    fn read_footer_of_tiny_file_is_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"short").unwrap();
        let file = File::open(&path).unwrap();
        assert!(matches!(
            read_footer(&file, &path, MAGIC, 1..=1),
            Err(Error::Corrupt { offset: 0, .. })
        ));
    }
}
