//! Chunk codec throughput (points/s) and size (bytes/point) on the bench workload: the exact
//! values of `gen_graphite -s 1000 -t 8640 -r 42` (see `workload`), cut into day partitions as
//! the engine stores them. Prints bytes/point for the whole dataset including the per-chunk
//! CRC and index entry, and asserts it stays under 1.0 (VictoriaMetrics: 1.03); every
//! iteration checks what it decoded.

mod workload;

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use lookout_tsdb::codec::{decode_chunk, decode_chunk_with, encode_chunk, ChunkScratch};

/// Last timestamp, as in the whole-system bench (which ends a minute before its start), so the
/// 24 hours span two day partitions.
const END: i64 = 1_763_800_000;
const POINTS: usize = 8640;
const DAY: i64 = 86_400;

/// One chunk per series and day partition: (slots within the partition, values).
fn chunks(series: &[workload::Series]) -> Vec<(Vec<u32>, Vec<f64>)> {
    let first = END - (POINTS as i64 - 1) * workload::STEP;
    let mut out = Vec::new();
    for s in series {
        let mut cur: Option<(i64, Vec<u32>, Vec<f64>)> = None;
        for (i, &v) in s.values.iter().enumerate() {
            let ts = first + i as i64 * workload::STEP;
            let part = ts.div_euclid(DAY) * DAY;
            if cur.as_ref().is_some_and(|c| c.0 != part) {
                let (_, sl, vs) = cur.take().unwrap();
                out.push((sl, vs));
            }
            let c = cur.get_or_insert_with(|| (part, Vec::new(), Vec::new()));
            c.1.push(((ts - part) / workload::STEP) as u32);
            c.2.push(v);
        }
        if let Some((_, sl, vs)) = cur {
            out.push((sl, vs));
        }
    }
    out
}

fn bench(c: &mut Criterion) {
    let all = workload::generate(1000, POINTS, 42);
    let parts = chunks(&all);
    let mut total = 0usize;
    let mut buf = Vec::new();
    for (s, v) in &parts {
        buf.clear();
        encode_chunk(s, v, &mut buf);
        // 4-byte chunk CRC and ~3 bytes of block index per chunk.
        total += buf.len() + 4 + 3;
    }
    let points = 1000 * POINTS;
    let bpp = total as f64 / points as f64;
    eprintln!(
        "codec: {total} bytes for {points} points = {bpp:.3} bytes/point (chunks + CRC + index)"
    );
    assert!(bpp < 1.0, "bytes/point regressed: {bpp}");

    // Throughput on the first 100 series (every metric kind, ten hosts' worth).
    let sample = &parts[..200];
    let n: usize = sample.iter().map(|p| p.0.len()).sum();
    let encoded: Vec<Vec<u8>> = sample
        .iter()
        .map(|(s, v)| {
            let mut b = Vec::new();
            encode_chunk(s, v, &mut b);
            b
        })
        .collect();
    let mut g = c.benchmark_group("codec");
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function("encode_points", |b| {
        let mut out = Vec::new();
        b.iter(|| {
            let mut bytes = 0;
            for (s, v) in sample {
                out.clear();
                encode_chunk(black_box(s), black_box(v), &mut out);
                bytes += out.len();
            }
            assert!(bytes > 0);
            bytes
        })
    });
    g.bench_function("decode_points", |b| {
        let (mut s, mut v) = (Vec::new(), Vec::new());
        b.iter(|| {
            let mut count = 0;
            for e in &encoded {
                decode_chunk(black_box(e), 8640, &mut s, &mut v).expect("decode");
                count += v.len();
            }
            assert_eq!(count, n);
            count
        })
    });
    // What the read path does: decode straight into a grid.
    g.bench_function("decode_points_into_grid", |b| {
        let mut scratch = ChunkScratch::default();
        let mut grid = vec![None; 8640];
        b.iter(|| {
            let mut count = 0;
            for e in &encoded {
                decode_chunk_with(black_box(e), 8640, &mut scratch, |s, v| {
                    grid[s as usize] = Some(v);
                    count += 1;
                })
                .expect("decode");
            }
            assert_eq!(count, n);
            count
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
