//! Writes the binary seed files under `fuzz/seeds/` (WAL segments and records, tsdb blocks,
//! index files and chunks, log blocks, sections and WAL batches) by running the real engines
//! on a small workload in a temp directory, so seeds are what lookout writes today. Text seeds
//! are written by hand. Run: `cargo run --manifest-path fuzz/Cargo.toml --example make_seeds`.

use std::fs;
use std::path::{Path, PathBuf};

use lookout_core::selfmon::Registry;
use lookout_core::{Durability, LogAppender, LogRecord, MetricAppender, Point, Severity};
use lookout_disk::{Wal, WalOptions};
use lookout_fuzz::{NOW_NS, NOW_SECS, SEPARATOR};

const FOOTER: usize = lookout_disk::FOOTER_LEN;

fn seeds(target: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("seeds")
        .join(target);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = fs::read_dir(dir)
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    out.retain(|p| p.extension().is_some_and(|e| e == ext));
    out.sort();
    out
}

fn with_mode(mode: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![mode];
    v.extend_from_slice(body);
    v
}

/// Copies `wal` (a WAL directory) and replays the copy, returning every record payload.
fn payloads(wal: &Path) -> Vec<Vec<u8>> {
    let copy = tempfile::tempdir().unwrap();
    for f in files(wal, "wal") {
        fs::copy(&f, copy.path().join(f.file_name().unwrap())).unwrap();
    }
    let (w, _) = Wal::open(copy.path(), WalOptions::default()).unwrap();
    let mut out = Vec::new();
    w.replay(0, |_, p| {
        out.push(p.to_vec());
        Ok(())
    })
    .unwrap();
    out
}

fn main() {
    let registry = Registry::new();
    // Metrics: integers, short decimals, odd floats, a gap, a tagged series.
    let tdir = tempfile::tempdir().unwrap();
    let db = lookout_tsdb::Tsdb::open(
        tdir.path(),
        lookout_tsdb::Config::default(),
        &registry,
        NOW_SECS,
    )
    .unwrap();
    let mut points = Vec::new();
    for i in 0..40i64 {
        let ts = NOW_SECS - 600 + i * 10;
        points.push(Point {
            name: "a.b.count".into(),
            ts,
            value: i as f64,
        });
        points.push(Point {
            name: "a.b.ratio".into(),
            ts,
            value: 0.25 * i as f64 + 0.01,
        });
        if i % 3 != 0 {
            points.push(Point {
                name: "a.c.odd;env=prod".into(),
                ts,
                value: (i as f64).sqrt() * 1e-7,
            });
        }
    }
    points.push(Point {
        name: "x.inf".into(),
        ts: NOW_SECS - 5,
        value: f64::INFINITY,
    });
    points.push(Point {
        name: "x.neg".into(),
        ts: NOW_SECS - 5,
        value: -0.0,
    });
    db.append(&points, Durability::Synced).unwrap();
    let wal = tdir.path().join("wal");
    for (i, f) in files(&wal, "wal").iter().enumerate() {
        fs::write(
            seeds("disk_wal").join(format!("tsdb-segment-{i}")),
            with_mode(0, &fs::read(f).unwrap()),
        )
        .unwrap();
    }
    let recs = payloads(&wal);
    for (i, p) in recs.iter().enumerate().take(6) {
        fs::write(seeds("tsdb_wal_record").join(format!("record-{i}")), p).unwrap();
    }
    let mut framed = vec![1u8];
    for (i, p) in recs.iter().enumerate().take(4) {
        if i > 0 {
            framed.extend_from_slice(SEPARATOR);
        }
        framed.extend_from_slice(p);
    }
    framed.extend_from_slice(SEPARATOR);
    framed.extend_from_slice(&[7, 0, 0, 0, 1, 2]);
    fs::write(seeds("disk_wal").join("framed-with-torn-tail"), framed).unwrap();
    db.flush(NOW_SECS).unwrap();
    db.close(NOW_SECS).unwrap();
    for (i, f) in files(&tdir.path().join("blocks"), "blk")
        .iter()
        .enumerate()
        .take(3)
    {
        let b = fs::read(f).unwrap();
        fs::write(
            seeds("tsdb_block").join(format!("block-{i}")),
            with_mode(0, &b[..b.len() - FOOTER]),
        )
        .unwrap();
    }
    for (i, f) in files(&tdir.path().join("index"), "idx")
        .iter()
        .enumerate()
        .take(2)
    {
        let b = fs::read(f).unwrap();
        fs::write(
            seeds("tsdb_block").join(format!("index-{i}")),
            with_mode(1, &b[..b.len() - FOOTER]),
        )
        .unwrap();
    }
    let chunks: [(&[u32], &[f64]); 4] = [
        (&[0, 1, 2, 3], &[1.0, 2.0, 3.0, 4.0]),
        (&[5, 9, 10, 200], &[0.25, 0.5, 12.75, -3.5]),
        (&[1, 2, 3], &[1e-300, f64::NAN, f64::NEG_INFINITY]),
        (&[7], &[std::f64::consts::PI]),
    ];
    for (i, (slots, values)) in chunks.iter().enumerate() {
        let mut c = 8640u16.wrapping_sub(1).to_le_bytes().to_vec();
        lookout_tsdb::codec::encode_chunk(slots, values, &mut c);
        fs::write(seeds("tsdb_chunk").join(format!("chunk-{i}")), c).unwrap();
    }

    // Logs: one component per store so a block holds one section starting at offset 0.
    let ldir = tempfile::tempdir().unwrap();
    let store = lookout_logs::LogStore::open(
        ldir.path(),
        lookout_logs::Config::default(),
        &registry,
        NOW_NS,
    )
    .unwrap();
    let records: Vec<LogRecord> = (0..20)
        .map(|i| LogRecord {
            ts_ns: NOW_NS - 60_000_000_000 + i * 1_000_000_000,
            component: "webapp.backend".into(),
            host: if i % 2 == 0 {
                "web1".into()
            } else {
                "web2".into()
            },
            severity: Severity::from_number((i % 8) as u8).unwrap(),
            facility: Some(16),
            message: format!("request {i} took {}ms", i * 7).into_bytes(),
            fields: if i % 4 == 0 {
                vec![("path".into(), "/api".into())]
            } else {
                Vec::new()
            },
        })
        .collect();
    store.append(&records, Durability::Synced).unwrap();
    let lwal = ldir.path().join("wal");
    for (i, f) in files(&lwal, "wal").iter().enumerate().take(1) {
        fs::write(
            seeds("disk_wal").join(format!("logs-segment-{i}")),
            with_mode(0, &fs::read(f).unwrap()),
        )
        .unwrap();
    }
    for (i, p) in payloads(&lwal).iter().enumerate().take(3) {
        fs::write(seeds("logs_wal_batch").join(format!("batch-{i}")), p).unwrap();
    }
    store.flush(NOW_NS).unwrap();
    store.close(NOW_NS).unwrap();
    for (i, f) in files(&ldir.path().join("blocks"), "blk")
        .iter()
        .enumerate()
        .take(2)
    {
        let b = fs::read(f).unwrap();
        let body = &b[..b.len() - FOOTER];
        let t = body.len() - 8;
        let index_len = u32::from_le_bytes(body[t..t + 4].try_into().unwrap()) as usize;
        let (sections, index) = (&body[..t - index_len], &body[t - index_len..t]);
        let mut file = vec![1u8];
        file.extend_from_slice(sections);
        file.extend_from_slice(SEPARATOR);
        file.extend_from_slice(index);
        fs::write(seeds("logs_block").join(format!("file-{i}")), file).unwrap();
        for mode in [0u8, 128] {
            let mut s = vec![mode, records.len() as u8];
            s.extend_from_slice(sections);
            fs::write(seeds("logs_block").join(format!("section-{i}-{mode}")), s).unwrap();
        }
    }
}
