//! Opening an existing log: finding the segment files, checking every record, cutting a torn
//! tail off the newest segment, removing segments whose creation a crash interrupted, and
//! choosing where new records go. It reports what it found in `WalRecovery`; replaying the
//! records to an engine is `Wal::replay`'s job, and the rules it applies are listed in
//! `docs/format/wal.md` ("Recovery at open").

use std::fs::{self, File, OpenOptions};
use std::io::{Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::segment::{self, Header, Next, RecordReader, HEADER_LEN};
use super::{Active, Closed, Log, Lsn, WalRecovery};
use crate::atomic::fsync_dir;
use crate::error::{Error, Result};
use crate::filenames::{parse_segment_file_name, segment_file_name, FIRST_SEGMENT_ID};

/// A segment file found at open, with its header read.
struct Found {
    id: u64,
    path: PathBuf,
    file: File,
    len: u64,
    header: Header,
}

/// Opens every segment file in `dir`, in id order, and reads its header. A foreign file or an
/// unsupported version is an error here, before anything is changed on disk.
fn find_segments(dir: &Path) -> Result<Vec<Found>> {
    let mut ids = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        if let Some(id) = parse_segment_file_name(&entry.file_name().to_string_lossy()) {
            ids.push(id);
        }
    }
    ids.sort_unstable();
    let mut found = Vec::with_capacity(ids.len());
    for id in ids {
        let path = dir.join(segment_file_name(id));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        let len = file.metadata().map_err(|e| Error::io(&path, e))?.len();
        let mut head = vec![0u8; HEADER_LEN.min(len) as usize];
        file.read_exact_at(&mut head, 0)
            .map_err(|e| Error::io(&path, e))?;
        let header = segment::decode_header(&path, &head)?;
        found.push(Found {
            id,
            path,
            file,
            len,
            header,
        });
    }
    Ok(found)
}

/// Scans the segments in `dir`, repairs torn tails, picks or creates the active segment and
/// fsyncs what it keeps. Returns the log state, the report, and the fsyncs it issued.
pub(super) fn recover(dir: &Path) -> Result<(Log, WalRecovery, u64)> {
    let mut found = find_segments(dir)?;
    let mut report = WalRecovery {
        segments: found.len() as u64,
        ..WalRecovery::default()
    };
    let mut next_id = found
        .last()
        .map_or(FIRST_SEGMENT_ID, |f| f.id.saturating_add(1));
    // Newest segments without a header were being created when the process died: they never
    // held a record.
    let keep = found
        .iter()
        .rposition(|f| matches!(f.header, Header::Valid(_)))
        .map_or(0, |i| i + 1);
    for torn in found.drain(keep..) {
        fs::remove_file(&torn.path).map_err(|e| Error::io(&torn.path, e))?;
        report.torn_tail_bytes += torn.len;
    }
    let count = found.len();
    let mut closed: Vec<Closed> = Vec::new();
    // LSN past the last byte of the previous kept segment: where the next one may start.
    let mut prev_end: Lsn = 0;
    // Whether the newest kept segment can take new records (intact, valid header).
    let mut newest_intact = false;
    let mut fsyncs = 0;
    for (i, seg) in found.into_iter().enumerate() {
        let newest = i + 1 == count;
        let Found {
            id,
            path,
            file,
            len: file_len,
            header,
        } = seg;
        let base = match header {
            Header::Valid(base) => base,
            Header::Unreadable(_) => {
                // Kept for inspection, replayed as empty, deleted by the next checkpoint past it.
                report.corrupt_records += 1;
                closed.push(Closed {
                    id,
                    base: prev_end,
                    path,
                    readable_end: HEADER_LEN,
                    end_lsn: prev_end,
                    file_len,
                });
                newest_intact = false;
                continue;
            }
        };
        if base < prev_end {
            if file_len == HEADER_LEN {
                // Left by a rotation that failed after creating the file: it never held a record.
                fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
                continue;
            }
            return Err(Error::corrupt(
                &path,
                12,
                format!("segment starts at LSN {base}, before the previous segment ends at LSN {prev_end}"),
            ));
        }
        let mut reader = RecordReader::new(
            file.try_clone().map_err(|e| Error::io(&path, e))?,
            &path,
            file_len,
        )?;
        let mut buf = Vec::new();
        let (readable_end, damage) = loop {
            match reader.next(Some(&mut buf))? {
                Next::Record { .. } => report.records += 1,
                Next::End => break (file_len, None),
                Next::Damaged { offset, .. } => break (offset, Some(offset)),
            }
        };
        let mut kept_len = file_len;
        if let Some(offset) = damage {
            // Only the newest segment can end in an interrupted write that nothing depends on;
            // damage anywhere else is kept for inspection, as is damage with records after it.
            if newest && segment::is_torn_tail(&file, &path, offset, file_len)? {
                file.set_len(offset).map_err(|e| Error::io(&path, e))?;
                report.torn_tail_bytes += file_len - offset;
                kept_len = offset;
            } else {
                report.corrupt_records += 1;
            }
        }
        fsyncs += 1;
        file.sync_data().map_err(|e| Error::io(&path, e))?;
        let end_lsn = base + (file_len - HEADER_LEN);
        prev_end = end_lsn;
        newest_intact = damage.is_none();
        closed.push(Closed {
            id,
            base,
            path,
            readable_end,
            end_lsn,
            file_len: kept_len,
        });
    }

    let active = match closed.pop() {
        Some(last) if newest_intact => {
            let mut file = OpenOptions::new()
                .read(true)
                .write(true)
                .open(&last.path)
                .map_err(|e| Error::io(&last.path, e))?;
            file.seek(SeekFrom::Start(last.file_len))
                .map_err(|e| Error::io(&last.path, e))?;
            Active {
                id: last.id,
                base: last.base,
                path: last.path,
                file: Arc::new(file),
                pos: last.file_len,
            }
        }
        other => {
            closed.extend(other);
            let id = next_id;
            next_id += 1;
            let path = dir.join(segment_file_name(id));
            let file = segment::create_segment(&path, prev_end)?;
            fsyncs += 1;
            file.sync_data().map_err(|e| Error::io(&path, e))?;
            Active {
                id,
                base: prev_end,
                path,
                file: Arc::new(file),
                pos: HEADER_LEN,
            }
        }
    };
    fsyncs += 1;
    fsync_dir(dir)?;
    let log = Log {
        active,
        closed,
        unsynced: Vec::new(),
        next_id,
        dir_created: 0,
        dir_synced: 0,
    };
    Ok((log, report, fsyncs))
}
