//! Memory per active series, measured: 10,000 series written every 10 s for one default flush
//! interval (10 minutes, 60 points each), then flushed. The figures are quoted in the crate
//! documentation; the bounds here keep them from regressing.

mod common;

use common::{config, open, pt, NOW};
use lookout_core::{Durability, MetricAppender};

const SERIES: usize = 10_000;

#[test]
fn memory_per_active_series_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path(), &config("10s:7d,1m:30d,10m:2y"), NOW);
    let names: Vec<String> = (0..SERIES)
        .map(|i| {
            format!(
                "web{:02}.webapp.backend.svc{}.metric_{}",
                i / 1000,
                (i / 10) % 100,
                i % 10
            )
        })
        .collect();
    let mut peak = 0usize;
    let mut sum = 0usize;
    for step in 0..60 {
        let ts = NOW - 600 + step * 10;
        let batch: Vec<_> = names
            .iter()
            .enumerate()
            .map(|(i, n)| pt(n, ts, (i as f64) + 0.25))
            .collect();
        db.append(&batch, Durability::Buffered).unwrap();
        let total = db.memory().total();
        sum += total;
        peak = peak.max(total);
    }
    let full = db.memory();
    assert_eq!(full.series, SERIES);
    assert_eq!(full.head_points, SERIES * 60);
    db.flush(NOW).unwrap();
    let rest = db.memory();
    let per = |b: usize| b / SERIES;
    eprintln!(
        "per series: at rest {} B (catalog {} B, head {} B, block index {} B); average over the \
         interval {} B; peak before flush {} B",
        per(rest.total()),
        per(rest.catalog_bytes),
        per(rest.head_bytes),
        per(rest.block_index_bytes),
        per(sum / 60),
        per(peak)
    );
    assert!(per(rest.total()) <= 400, "{rest:?}");
    assert!(per(sum / 60) <= 1024, "average {}", per(sum / 60));
    assert!(per(peak) <= 1400, "peak {}", per(peak));
}
