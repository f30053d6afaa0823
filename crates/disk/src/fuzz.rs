//! Entry points for the fuzz targets in `fuzz/` (issue #6 §3; `docs/fuzzing.md`): a WAL
//! directory holding one segment file made of fuzzed bytes, opened (recovery: torn tails,
//! damaged records) and replayed exactly as an engine does at start. Hidden from the docs and
//! not an API: the segment format stays private, and this exists so the fuzzer reaches it
//! without copying it.

use std::path::Path;

use crate::error::{Error, Result};
use crate::filenames::{segment_file_name, FIRST_SEGMENT_ID};
use crate::wal::segment::{encode_header, record_header};
use crate::wal::{Wal, WalOptions, WalRecovery};

/// Writes segment `FIRST_SEGMENT_ID` into the empty directory `dir`. With `framed`, the file
/// is a valid header, then each of `records` correctly framed (length and CRC), then `tail`
/// as it is (a torn write or damage); without, it is `tail` alone. Then opens the WAL and
/// replays it from the start, returning the recovery report and every payload replayed.
pub fn wal_segment(
    dir: &Path,
    framed: bool,
    records: &[&[u8]],
    tail: &[u8],
) -> Result<(WalRecovery, Vec<Vec<u8>>)> {
    let mut bytes = Vec::new();
    if framed {
        bytes.extend_from_slice(&encode_header(0));
        for r in records {
            bytes.extend_from_slice(&record_header(r));
            bytes.extend_from_slice(r);
        }
    }
    bytes.extend_from_slice(tail);
    let path = dir.join(segment_file_name(FIRST_SEGMENT_ID));
    std::fs::write(&path, &bytes).map_err(|e| Error::io(&path, e))?;
    let (wal, recovery) = Wal::open(dir, WalOptions::default())?;
    let mut replayed = Vec::new();
    wal.replay(0, |_, payload| {
        replayed.push(payload.to_vec());
        Ok(())
    })?;
    Ok((recovery, replayed))
}
