//! WAL benches: append throughput of 64 KiB records (the size of a metrics-engine batch), the
//! latency of a group commit after one append, and group commit under 8 concurrent writers.
//! Every bench replays what it wrote and asserts the record count, so a broken append path
//! fails instead of looking fast. The log lives under Cargo's target tmp dir, on the same disk
//! as the build, because a tmpfs would turn fsync into a no-op.
//!
//! Run: `CARGO_TARGET_DIR=/work/targets/disk cargo bench -p lookout-disk --bench wal`

use std::sync::Barrier;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use lookout_disk::{Lsn, Wal, WalOptions};

const RECORD_BYTES: usize = 64 * 1024;
/// Past this much log, the append bench checkpoints (rotate + truncate), so a long measurement
/// does not fill the disk.
const CHECKPOINT_BYTES: u64 = 1 << 30;
const WRITERS: usize = 8;

/// Deterministic, poorly compressible payload (xorshift from a fixed seed).
fn payload(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn bench_dir() -> tempfile::TempDir {
    tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir under the target dir")
}

/// Replays from `from` and asserts that exactly `expected` records of `len` bytes come back.
fn assert_replayed(wal: &Wal, from: Lsn, expected: u64, len: usize) {
    let mut count = 0u64;
    wal.replay(from, |_, p| {
        assert_eq!(p.len(), len);
        count += 1;
        Ok(())
    })
    .expect("replay");
    assert_eq!(count, expected, "replayed record count");
}

fn append_throughput(c: &mut Criterion) {
    let dir = bench_dir();
    let (wal, _) = Wal::open(dir.path(), WalOptions::default()).expect("open");
    let record = payload(RECORD_BYTES);
    let mut checkpoint = wal.last_lsn();
    let mut since_checkpoint = 0u64;
    let mut group = c.benchmark_group("wal");
    group.throughput(Throughput::Bytes(RECORD_BYTES as u64));
    group.bench_function("append_64KiB", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                wal.append(&record).expect("append");
            }
            let elapsed = start.elapsed();
            since_checkpoint += iters;
            if wal.size_bytes() > CHECKPOINT_BYTES {
                assert_replayed(&wal, checkpoint, since_checkpoint, RECORD_BYTES);
                checkpoint = wal.rotate().expect("rotate");
                wal.truncate_before(checkpoint).expect("truncate");
                since_checkpoint = 0;
            }
            elapsed
        })
    });
    group.finish();
    assert_replayed(&wal, checkpoint, since_checkpoint, RECORD_BYTES);
}

fn sync_latency(c: &mut Criterion) {
    let dir = bench_dir();
    let (wal, _) = Wal::open(dir.path(), WalOptions::default()).expect("open");
    let first = wal.last_lsn();
    let record = payload(RECORD_BYTES);
    let mut appended = 0u64;
    let mut group = c.benchmark_group("wal");
    group.bench_function("sync_after_64KiB_append", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let lsn = wal.append(&record).expect("append");
                let start = Instant::now();
                wal.sync(lsn).expect("sync");
                total += start.elapsed();
            }
            appended += iters;
            total
        })
    });
    group.finish();
    assert_eq!(wal.durable_lsn(), wal.last_lsn());
    assert_replayed(&wal, first, appended, RECORD_BYTES);
}

fn group_commit(c: &mut Criterion) {
    let dir = bench_dir();
    let (wal, _) = Wal::open(dir.path(), WalOptions::default()).expect("open");
    let first = wal.last_lsn();
    let record = payload(4096);
    let mut syncs = 0u64;
    let fsyncs_before = wal.fsync_count();
    let mut group = c.benchmark_group("wal");
    group.throughput(Throughput::Elements(WRITERS as u64));
    group.bench_function("append_sync_4KiB_x8_threads", |b| {
        b.iter_custom(|iters| {
            let start = Barrier::new(WRITERS);
            let began = Instant::now();
            std::thread::scope(|s| {
                for _ in 0..WRITERS {
                    s.spawn(|| {
                        start.wait();
                        for _ in 0..iters {
                            let lsn = wal.append(&record).expect("append");
                            wal.sync(lsn).expect("sync");
                        }
                    });
                }
            });
            syncs += iters * WRITERS as u64;
            began.elapsed()
        })
    });
    group.finish();
    let fsyncs = wal.fsync_count() - fsyncs_before;
    eprintln!(
        "group commit: {syncs} sync calls from {WRITERS} threads took {fsyncs} fsyncs ({:.2} callers per fsync)",
        syncs as f64 / fsyncs.max(1) as f64
    );
    assert!(fsyncs <= syncs);
    assert_replayed(&wal, first, syncs, 4096);
}

fn config() -> Criterion {
    // Two shared cores: few samples, short windows, so the bench stays a couple of minutes.
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
}

criterion_group! {
    name = benches;
    config = config();
    targets = append_throughput, sync_latency, group_commit
}
criterion_main!(benches);
