//! What opening and maintenance did, returned to the caller instead of logged: the engine does
//! not print, the server logs these (and alerts on the damage they list).

/// What `Tsdb::open` found and repaired.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenReport {
    /// Live series after open.
    pub series: u64,
    /// Live blocks after open.
    pub blocks: u64,
    /// Series index files read.
    pub index_files: u64,
    /// WAL records replayed (those after the last checkpoint).
    pub wal_records_replayed: u64,
    /// Points put back into the head from the WAL.
    pub points_replayed: u64,
    /// Replayed points dropped because their retention has passed meanwhile (or their series
    /// was deleted).
    pub points_replay_dropped: u64,
    /// Bytes cut from the WAL's end: a record torn by a crash (expected after `kill -9`).
    pub wal_torn_tail_bytes: u64,
    /// WAL records that failed their checksum with data after them (damage, not a crash).
    pub wal_corrupt_records: u64,
    /// WAL records that passed their checksum but could not be decoded.
    pub wal_undecodable_records: u64,
    /// Files superseded by a compaction or rollup that a crash interrupted, deleted now.
    pub superseded_files_removed: u64,
    /// Damaged block or index files, each with the reason; they were moved to `quarantine/`
    /// and the rest is served.
    pub corrupt_files: Vec<String>,
}

/// What one `Tsdb::maintain` call did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MaintainReport {
    /// Points written from the head into blocks.
    pub flushed_points: u64,
    /// Blocks written by the flush.
    pub flushed_blocks: u64,
    /// Compactions run (each merges several blocks of one partition into one).
    pub compactions: u64,
    /// Finer partitions rolled up into the next archive (then deleted).
    pub rollups: u64,
    /// Blocks deleted because their whole partition is past retention.
    pub expired_blocks: u64,
    /// Series index files merged into one.
    pub index_files_merged: u64,
    /// Damage found while reading since the last report (block path and reason); the damaged
    /// chunks are skipped.
    pub corrupt: Vec<String>,
}
