//! gzip (RFC 1952) and zlib (RFC 1950) payloads decompressed under a hard output bound, with
//! one inflater per thread.
//!
//! GELF senders (graypy, logstash, the Docker driver) compress every message by default, so
//! this runs once per record. Allocating and zeroing a fresh inflater state for each (what
//! `flate2`'s `GzDecoder` does) cost a third of a gzip payload's parse time; a thread's
//! inflater is reset instead, and the gzip header and trailer are read here.

use std::cell::RefCell;

use flate2::{Decompress, FlushDecompress, Status};

/// Why a payload did not decompress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InflateError {
    /// Not a valid stream: bad header, bad data, a checksum mismatch or a truncated end.
    Corrupt,
    /// Decompresses to more than the limit.
    TooLarge,
}

thread_local! {
    /// (raw deflate for gzip, zlib) inflaters of this thread.
    static INFLATERS: RefCell<Option<(Decompress, Decompress)>> = const { RefCell::new(None) };
}

const GZIP_FLAG_HCRC: u8 = 0x02;
const GZIP_FLAG_EXTRA: u8 = 0x04;
const GZIP_FLAG_NAME: u8 = 0x08;
const GZIP_FLAG_COMMENT: u8 = 0x10;
/// Flag bits RFC 1952 reserves; a member setting one must be refused.
const GZIP_FLAGS_RESERVED: u8 = 0xe0;

/// Decompresses the first member of a gzip stream (`1f 8b`), checking its CRC-32 and length.
/// Bytes after the member are ignored, as `flate2`'s `bufread::GzDecoder` ignores them.
pub(crate) fn gunzip(bytes: &[u8], limit: usize) -> Result<Vec<u8>, InflateError> {
    let body_start = gzip_header_len(bytes).ok_or(InflateError::Corrupt)?;
    let body = &bytes[body_start..];
    let (out, used) = with_inflaters(|raw, _| inflate(raw, false, body, limit))?;
    let trailer = body.get(used..used + 8).ok_or(InflateError::Corrupt)?;
    let crc = u32::from_le_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]);
    let size = u32::from_le_bytes([trailer[4], trailer[5], trailer[6], trailer[7]]);
    // ISIZE is the length modulo 2^32.
    if crc != crc32fast::hash(&out) || size != out.len() as u32 {
        return Err(InflateError::Corrupt);
    }
    Ok(out)
}

/// Decompresses a zlib stream, checking its header and Adler-32.
pub(crate) fn unzlib(bytes: &[u8], limit: usize) -> Result<Vec<u8>, InflateError> {
    with_inflaters(|_, zlib| inflate(zlib, true, bytes, limit)).map(|(out, _)| out)
}

/// Length of the gzip member header at the start of `bytes`, or `None` if it is not one.
fn gzip_header_len(bytes: &[u8]) -> Option<usize> {
    let fixed = bytes.get(..10)?;
    // Magic, and CM = 8 (deflate), the only method defined.
    if fixed[..3] != [0x1f, 0x8b, 8] {
        return None;
    }
    let flags = fixed[3];
    if flags & GZIP_FLAGS_RESERVED != 0 {
        return None;
    }
    let mut pos = 10;
    if flags & GZIP_FLAG_EXTRA != 0 {
        let xlen = bytes.get(pos..pos + 2)?;
        pos += 2 + usize::from(u16::from_le_bytes([xlen[0], xlen[1]]));
    }
    for flag in [GZIP_FLAG_NAME, GZIP_FLAG_COMMENT] {
        if flags & flag != 0 {
            // Zero-terminated.
            pos += bytes.get(pos..)?.iter().position(|&b| b == 0)? + 1;
        }
    }
    if flags & GZIP_FLAG_HCRC != 0 {
        let stored = bytes.get(pos..pos + 2)?;
        let crc = crc32fast::hash(bytes.get(..pos)?) as u16;
        if crc != u16::from_le_bytes([stored[0], stored[1]]) {
            return None;
        }
        pos += 2;
    }
    (pos <= bytes.len()).then_some(pos)
}

fn with_inflaters<T>(
    f: impl FnOnce(&mut Decompress, &mut Decompress) -> Result<T, InflateError>,
) -> Result<T, InflateError> {
    INFLATERS.with(|cell| {
        // Not reentrant, and nothing here calls back in; fail closed rather than panic.
        let mut slot = cell.try_borrow_mut().map_err(|_| InflateError::Corrupt)?;
        let (raw, zlib) =
            slot.get_or_insert_with(|| (Decompress::new(false), Decompress::new(true)));
        f(raw, zlib)
    })
}

/// Inflates one stream from the start of `input` into at most `limit` bytes (one more tells
/// that it is over); returns the output and how many input bytes the stream took.
fn inflate(
    d: &mut Decompress,
    zlib_header: bool,
    input: &[u8],
    limit: usize,
) -> Result<(Vec<u8>, usize), InflateError> {
    d.reset(zlib_header);
    let bound = limit.saturating_add(1);
    // Log lines compress 3-10x; start near the likely size and grow by doubling.
    let mut out = Vec::with_capacity(input.len().saturating_mul(4).clamp(256, bound));
    loop {
        let (in_before, out_before) = (d.total_in(), d.total_out());
        let rest = usize::try_from(in_before)
            .ok()
            .and_then(|pos| input.get(pos..))
            .ok_or(InflateError::Corrupt)?;
        // Not `Finish`: miniz takes it as a promise that the output fits, and fails the
        // stream for good when it does not.
        let status = d
            .decompress_vec(rest, &mut out, FlushDecompress::None)
            .map_err(|_| InflateError::Corrupt)?;
        if out.len() > limit {
            return Err(InflateError::TooLarge);
        }
        if status == Status::StreamEnd {
            let used = usize::try_from(d.total_in()).map_err(|_| InflateError::Corrupt)?;
            return Ok((out, used));
        }
        if out.len() < out.capacity() {
            // Room left and nothing moved: the input ended before the stream did.
            if (d.total_in(), d.total_out()) == (in_before, out_before) {
                return Err(InflateError::Corrupt);
            }
            continue;
        }
        let room = out.capacity().min(bound - out.len());
        out.reserve_exact(room);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    const LIMIT: usize = 1 << 20;

    /// What `flate2`'s own decoders say of the same bytes, as the reference.
    fn reference(decoder: impl Read) -> Result<Vec<u8>, InflateError> {
        let mut out = Vec::new();
        decoder
            .take(LIMIT as u64 + 1)
            .read_to_end(&mut out)
            .map_err(|_| InflateError::Corrupt)?;
        if out.len() > LIMIT {
            return Err(InflateError::TooLarge);
        }
        Ok(out)
    }

    fn reference_gunzip(bytes: &[u8]) -> Result<Vec<u8>, InflateError> {
        reference(flate2::bufread::GzDecoder::new(bytes))
    }

    fn reference_unzlib(bytes: &[u8]) -> Result<Vec<u8>, InflateError> {
        reference(flate2::bufread::ZlibDecoder::new(bytes))
    }

    fn text(n: usize, seed: u64) -> Vec<u8> {
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                b"abcdefgh {}\":,0123 \n"[(x % 20) as usize]
            })
            .collect()
    }

    fn gzip_with(data: &[u8], builder: flate2::GzBuilder) -> Vec<u8> {
        let mut e = builder.write(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    /// A member with every optional header field, the header CRC included (which GzBuilder
    /// does not write).
    fn gzip_all_fields(data: &[u8]) -> Vec<u8> {
        let plain = gzip_with(data, flate2::GzBuilder::new());
        let mut header = vec![0x1f, 0x8b, 8, 0x1e, 0, 0, 0, 0, 0, 3];
        header.extend_from_slice(&[3, 0, b'a', b'b', b'c']);
        header.extend_from_slice(b"name.json\0a comment\0");
        let crc = crc32fast::hash(&header) as u16;
        header.extend_from_slice(&crc.to_le_bytes());
        header.extend_from_slice(&plain[10..]);
        header
    }

    #[test]
    fn agrees_with_flate2_on_valid_streams_of_every_shape() {
        for (i, n) in [0usize, 1, 100, 5_000, 70_000, LIMIT]
            .into_iter()
            .enumerate()
        {
            let data = text(n, i as u64);
            let members = [
                gzip_with(&data, flate2::GzBuilder::new()),
                gzip_with(
                    &data,
                    flate2::GzBuilder::new()
                        .filename("app.log")
                        .comment("from graypy")
                        .extra(vec![1, 2, 3]),
                ),
                gzip_all_fields(&data),
            ];
            for m in &members {
                assert_eq!(gunzip(m, LIMIT), Ok(data.clone()), "gzip of {n} bytes");
                assert_eq!(reference_gunzip(m), Ok(data.clone()));
            }
            assert_eq!(unzlib(&zlib(&data), LIMIT), Ok(data.clone()));
        }
    }

    #[test]
    fn refuses_what_flate2_refuses() {
        let data = text(3_000, 9);
        let gz = gzip_all_fields(&data);
        let z = zlib(&data);
        // Every truncation, and a flipped bit at every position of a shorter stream.
        for cut in 0..gz.len() {
            assert_eq!(
                gunzip(&gz[..cut], LIMIT),
                Err(InflateError::Corrupt),
                "cut {cut}"
            );
        }
        for cut in 0..z.len() {
            assert_eq!(
                unzlib(&z[..cut], LIMIT),
                Err(InflateError::Corrupt),
                "cut {cut}"
            );
        }
        for pos in 0..gz.len() {
            let mut bad = gz.clone();
            bad[pos] ^= 0x10;
            let ours = gunzip(&bad, LIMIT);
            if ours.is_ok() {
                // A bit that nothing reads (the mtime, the OS byte, the padding after the
                // last block) may pass, but then the output is the original, and flate2
                // agrees.
                assert_eq!(ours, Ok(data.clone()), "flip at {pos}");
                assert_eq!(ours, reference_gunzip(&bad), "flip at {pos}");
            }
        }
        for pos in 0..z.len() {
            let mut bad = z.clone();
            bad[pos] ^= 0x10;
            if let Ok(out) = unzlib(&bad, LIMIT) {
                assert_eq!(Ok(out), reference_unzlib(&bad), "flip at {pos}");
            }
        }
    }

    #[test]
    fn output_stops_one_byte_past_the_limit() {
        let data = vec![b' '; 4 * LIMIT];
        let gz = gzip_with(&data, flate2::GzBuilder::new());
        assert_eq!(gunzip(&gz, LIMIT), Err(InflateError::TooLarge));
        assert_eq!(unzlib(&zlib(&data), LIMIT), Err(InflateError::TooLarge));
        let exact = vec![b'x'; LIMIT];
        let gz = gzip_with(&exact, flate2::GzBuilder::new());
        assert_eq!(gunzip(&gz, LIMIT).map(|o| o.len()), Ok(LIMIT));
        let over = vec![b'x'; LIMIT + 1];
        assert_eq!(unzlib(&zlib(&over), LIMIT), Err(InflateError::TooLarge));
    }

    #[test]
    fn a_failed_stream_leaves_the_thread_inflater_ready() {
        let good = text(2_000, 4);
        let gz = gzip_with(&good, flate2::GzBuilder::new());
        assert_eq!(
            gunzip(&gz[..gz.len() / 2], LIMIT),
            Err(InflateError::Corrupt)
        );
        assert_eq!(gunzip(&gz, LIMIT), Ok(good.clone()));
        assert_eq!(
            unzlib(b"\x78\x9cgarbage", LIMIT),
            Err(InflateError::Corrupt)
        );
        assert_eq!(unzlib(&zlib(&good), LIMIT), Ok(good));
    }
}
