//! Every file name this crate creates: WAL segments, the directory lock and atomic-write temp
//! files, with the functions that build and recognise them. Engines keep their own names in their
//! own `filenames.rs`; this file only knows the names that `disk` itself writes.

/// Extension of a WAL segment file.
pub const SEGMENT_EXTENSION: &str = "wal";

/// Digits in a segment file name: enough for any `u64`, zero-padded so that the lexical order of
/// the names is their numeric order (`ls` shows the log in order).
pub const SEGMENT_NAME_DIGITS: usize = 20;

/// Number of the first segment of a new log.
pub const FIRST_SEGMENT_ID: u64 = 1;

/// Name of the lock file that `lock_dir` creates in the locked directory.
pub const LOCK_FILE: &str = "LOCK";

/// Suffix of the temp files `write_atomic` writes before renaming them over their target. A file
/// with this suffix is garbage left by a crash and may be deleted by the directory's owner.
pub const TEMP_SUFFIX: &str = ".tmp";

/// File name of WAL segment `id`, e.g. `00000000000000000001.wal`.
pub fn segment_file_name(id: u64) -> String {
    format!(
        "{id:0width$}.{SEGMENT_EXTENSION}",
        width = SEGMENT_NAME_DIGITS
    )
}

/// Segment number of a WAL segment file name, or `None` for any other name.
pub fn parse_segment_file_name(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(SEGMENT_EXTENSION)?.strip_suffix('.')?;
    if digits.len() != SEGMENT_NAME_DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Whether `name` is a temp file left by `write_atomic`.
pub fn is_temp_file_name(name: &str) -> bool {
    name.starts_with('.') && name.ends_with(TEMP_SUFFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(name: &str, expected: Option<u64>) {
        assert_eq!(parse_segment_file_name(name), expected, "{name:?}");
    }

    #[test]
    fn segment_names_parse_only_when_exact() {
        check("00000000000000000001.wal", Some(1));
        check("18446744073709551615.wal", Some(u64::MAX));
        check("00000000000000000000.wal", Some(0));
        check("0000000000000000001.wal", None);
        check("000000000000000000001.wal", None);
        check("00000000000000000001.wa", None);
        check("00000000000000000001wal", None);
        check("0000000000000000000x.wal", None);
        check("+0000000000000000001.wal", None);
        check("99999999999999999999.wal", None);
        check("LOCK", None);
        check("", None);
    }

    #[test]
    fn segment_name_round_trips() {
        for id in [0, 1, 42, u64::MAX] {
            assert_eq!(parse_segment_file_name(&segment_file_name(id)), Some(id));
        }
        assert_eq!(segment_file_name(1), "00000000000000000001.wal");
    }

    #[test]
    fn temp_names_are_recognised() {
        assert!(is_temp_file_name(".index.123.0.tmp"));
        assert!(!is_temp_file_name("index.tmp"));
        assert!(!is_temp_file_name(".index"));
    }
}
