//! The head: points appended since the last flush, in memory, in arrival order, until `flush`
//! turns them into blocks. Each point takes 12 bytes (a 32-bit offset from the head's base
//! time and the value's bits), kept per series in insertion order, so reading a series back in
//! order *is* last-write-wins: later points overwrite earlier ones in the same slot.
//!
//! The head is sharded by series id so that fetches (read locks on one shard) and a writing
//! batch (one write lock per shard it touches) rarely meet. Writers are serialised by the
//! engine's ingest lock, which also orders WAL records, so the head's order equals the WAL's
//! order and last-write-wins survives a replay. Points for coarser archives (written directly
//! because their finer archive no longer covers them, whisper's rule) are rare and kept in a
//! separate list.
//!
//! A head is frozen by swapping in a new one; a frozen head is only read (by fetches and by the
//! flush that writes it out) and then dropped.

use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{RwLock, RwLockReadGuard};

/// Shards per head: enough that concurrent readers rarely wait on a writer, few enough that a
/// batch touching every shard takes only a handful of locks.
pub const SHARDS: usize = 16;

/// One point: offset from `Head::base` (i32 bit pattern) and the value's two halves, 12 bytes
/// with 4-byte alignment (a `(i32, f64)` tuple would take 16).
#[derive(Debug, Clone, Copy)]
pub struct HeadPoint([u32; 3]);

impl HeadPoint {
    #[inline]
    fn new(offset: i32, value: f64) -> HeadPoint {
        let bits = value.to_bits();
        HeadPoint([offset as u32, bits as u32, (bits >> 32) as u32])
    }

    #[inline]
    fn offset(self) -> i32 {
        self.0[0] as i32
    }

    #[inline]
    fn value(self) -> f64 {
        f64::from_bits(u64::from(self.0[1]) | (u64::from(self.0[2]) << 32))
    }
}

/// The finest-archive points of one series in this head.
#[derive(Debug, Default)]
pub struct SeriesBuf {
    /// The series' schema id, so a flush needs no catalog lookup.
    pub schema: u32,
    points: Vec<HeadPoint>,
}

/// A point written straight into a coarser archive.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DirectPoint {
    /// Series id.
    pub id: u32,
    /// Schema id.
    pub schema: u32,
    /// Archive level (>= 1).
    pub level: u8,
    /// Unix seconds.
    pub ts: i64,
    /// Value.
    pub value: f64,
}

/// A point ready for the head: resolved, checked and routed by the engine.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Routed {
    /// Series id.
    pub id: u32,
    /// Schema id.
    pub schema: u32,
    /// Archive level the point is written to (0 = finest).
    pub level: u8,
    /// Unix seconds.
    pub ts: i64,
    /// Value.
    pub value: f64,
}

/// See the module documentation.
#[derive(Debug)]
pub struct Head {
    /// Time the offsets are relative to.
    base: i64,
    shards: Vec<RwLock<Vec<SeriesBuf>>>,
    direct: RwLock<Vec<DirectPoint>>,
    points: AtomicUsize,
    /// Smallest finest-archive timestamp in the head, to skip re-routing scans.
    min_ts: AtomicI64,
}

fn read<T>(l: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|e| e.into_inner())
}

impl Head {
    /// An empty head whose offsets count from `base`.
    pub fn new(base: i64) -> Head {
        Head {
            base,
            shards: (0..SHARDS).map(|_| RwLock::new(Vec::new())).collect(),
            direct: RwLock::new(Vec::new()),
            points: AtomicUsize::new(0),
            min_ts: AtomicI64::new(i64::MAX),
        }
    }

    /// Points held.
    pub fn points(&self) -> usize {
        self.points.load(Ordering::Relaxed)
    }

    /// Smallest finest-archive timestamp held (`i64::MAX` when none).
    pub fn min_ts(&self) -> i64 {
        self.min_ts.load(Ordering::Relaxed)
    }

    /// Inserts routed points, in order. Callers hold the engine's ingest lock and checked that
    /// level-0 timestamps are within 32 bits of the base (`Tsdb::fits`).
    pub fn insert(&self, batch: &[Routed]) {
        // Counting sort of point indexes by shard, so each shard is locked once.
        let mut counts = [0usize; SHARDS + 1];
        let mut direct = Vec::new();
        for p in batch {
            if p.level == 0 {
                counts[p.id as usize % SHARDS + 1] += 1;
            }
        }
        for s in 0..SHARDS {
            counts[s + 1] += counts[s];
        }
        let mut order = vec![0u32; counts[SHARDS]];
        let mut fill = counts;
        let mut min_ts = i64::MAX;
        for (i, p) in batch.iter().enumerate() {
            if p.level == 0 {
                let s = p.id as usize % SHARDS;
                order[fill[s]] = i as u32;
                fill[s] += 1;
                min_ts = min_ts.min(p.ts);
            } else {
                direct.push(DirectPoint {
                    id: p.id,
                    schema: p.schema,
                    level: p.level,
                    ts: p.ts,
                    value: p.value,
                });
            }
        }
        for s in 0..SHARDS {
            let idx = &order[counts[s]..counts[s + 1]];
            if idx.is_empty() {
                continue;
            }
            let mut shard = self.shards[s].write().unwrap_or_else(|e| e.into_inner());
            for &i in idx {
                let p = &batch[i as usize];
                let slot = p.id as usize / SHARDS;
                if shard.len() <= slot {
                    shard.resize_with(slot + 1, SeriesBuf::default);
                }
                let buf = &mut shard[slot];
                buf.schema = p.schema;
                // Checked by the caller; a point that does not fit would be dropped here rather
                // than stored at a wrong time.
                if let Ok(off) = i32::try_from(p.ts.wrapping_sub(self.base)) {
                    buf.points.push(HeadPoint::new(off, p.value));
                }
            }
        }
        if !direct.is_empty() {
            self.direct
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .extend_from_slice(&direct);
        }
        self.points.fetch_add(batch.len(), Ordering::Relaxed);
        self.min_ts.fetch_min(min_ts, Ordering::Relaxed);
    }

    /// Calls `f(ts, value)` for each finest-archive point of series `id`, in insertion order.
    pub fn for_each(&self, id: u32, mut f: impl FnMut(i64, f64)) {
        let shard = read(&self.shards[id as usize % SHARDS]);
        if let Some(buf) = shard.get(id as usize / SHARDS) {
            for p in &buf.points {
                f(self.base + i64::from(p.offset()), p.value());
            }
        }
    }

    /// Calls `f(ts, value)` for each direct point of series `id` at `level`, in order.
    pub fn for_each_direct(&self, id: u32, level: u8, mut f: impl FnMut(i64, f64)) {
        for p in read(&self.direct).iter() {
            if p.id == id && p.level == level {
                f(p.ts, p.value);
            }
        }
    }

    /// Whether any direct point is held.
    pub fn has_direct(&self) -> bool {
        !read(&self.direct).is_empty()
    }

    /// Every direct point, in order.
    pub fn direct_points(&self) -> Vec<DirectPoint> {
        read(&self.direct).clone()
    }

    /// One past the largest series id with finest-archive points.
    pub fn id_bound(&self) -> u32 {
        let mut bound = 0usize;
        for (s, shard) in self.shards.iter().enumerate() {
            let len = read(shard).len();
            if len > 0 {
                bound = bound.max((len - 1) * SHARDS + s + 1);
            }
        }
        bound as u32
    }

    /// Schema id and points (`(ts, value)` in insertion order) of series `id`, or `None`.
    pub fn series_points(&self, id: u32, out: &mut Vec<(i64, f64)>) -> Option<u32> {
        out.clear();
        let shard = read(&self.shards[id as usize % SHARDS]);
        let buf = shard.get(id as usize / SHARDS)?;
        if buf.points.is_empty() {
            return None;
        }
        out.extend(
            buf.points
                .iter()
                .map(|p| (self.base + i64::from(p.offset()), p.value())),
        );
        Some(buf.schema)
    }

    /// Moves points that now belong to a coarser archive (their archive was rolled up since
    /// they were appended) into the direct list. `route(schema, level, ts)` gives the level a
    /// point belongs to, or `None` to drop it. Callers hold the ingest lock.
    pub fn reroute(&self, route: impl Fn(u32, u8, i64) -> Option<u8>) {
        let mut moved = Vec::new();
        let mut dropped = 0usize;
        for (s, shard) in self.shards.iter().enumerate() {
            let mut shard = shard.write().unwrap_or_else(|e| e.into_inner());
            for (slot, buf) in shard.iter_mut().enumerate() {
                let id = (slot * SHARDS + s) as u32;
                let schema = buf.schema;
                let base = self.base;
                buf.points.retain(|p| {
                    let ts = base + i64::from(p.offset());
                    match route(schema, 0, ts) {
                        Some(0) => true,
                        Some(level) => {
                            moved.push(DirectPoint {
                                id,
                                schema,
                                level,
                                ts,
                                value: p.value(),
                            });
                            false
                        }
                        None => {
                            dropped += 1;
                            false
                        }
                    }
                });
            }
        }
        let mut direct = self.direct.write().unwrap_or_else(|e| e.into_inner());
        direct.retain_mut(|p| match route(p.schema, p.level, p.ts) {
            Some(level) => {
                p.level = p.level.max(level);
                true
            }
            None => {
                dropped += 1;
                false
            }
        });
        direct.extend(moved);
        self.points.fetch_sub(dropped, Ordering::Relaxed);
    }

    /// Approximate heap bytes: point buffers (by capacity), per-series slots, direct points.
    pub fn heap_bytes(&self) -> usize {
        let mut bytes = 0;
        for shard in &self.shards {
            let shard = read(shard);
            bytes += shard.capacity() * std::mem::size_of::<SeriesBuf>();
            bytes += shard
                .iter()
                .map(|b| b.points.capacity() * std::mem::size_of::<HeadPoint>())
                .sum::<usize>();
        }
        bytes + read(&self.direct).capacity() * std::mem::size_of::<DirectPoint>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routed(id: u32, ts: i64, value: f64) -> Routed {
        Routed {
            id,
            schema: 7,
            level: 0,
            ts,
            value,
        }
    }

    fn points(h: &Head, id: u32) -> Vec<(i64, f64)> {
        let mut v = Vec::new();
        h.for_each(id, |t, x| v.push((t, x)));
        v
    }

    #[test]
    fn points_come_back_per_series_in_insertion_order() {
        let h = Head::new(1_000_000);
        h.insert(&[
            routed(3, 1_000_010, 1.0),
            routed(40, 999_990, -0.0),
            routed(3, 1_000_000, 2.5),
        ]);
        h.insert(&[routed(3, 1_000_010, 3.0)]);
        assert_eq!(
            points(&h, 3),
            vec![(1_000_010, 1.0), (1_000_000, 2.5), (1_000_010, 3.0)]
        );
        assert_eq!(points(&h, 40)[0].1.to_bits(), (-0.0f64).to_bits());
        assert!(points(&h, 4).is_empty());
        assert_eq!(h.points(), 4);
        assert_eq!(h.min_ts(), 999_990);
        assert_eq!(h.id_bound(), 41);
        let mut buf = Vec::new();
        assert_eq!(h.series_points(3, &mut buf), Some(7));
        assert_eq!(buf.len(), 3);
        assert_eq!(h.series_points(5, &mut buf), None);
    }

    #[test]
    fn direct_points_are_kept_apart_and_reroute_moves_old_points() {
        let h = Head::new(0);
        h.insert(&[
            routed(1, 100, 1.0),
            routed(1, 5000, 2.0),
            Routed {
                level: 1,
                ..routed(2, 50, 9.0)
            },
        ]);
        assert!(h.has_direct());
        let mut d = Vec::new();
        h.for_each_direct(2, 1, |t, v| d.push((t, v)));
        assert_eq!(d, vec![(50, 9.0)]);
        // Everything before 1000 now belongs to level 1; before 60 it is dropped.
        h.reroute(|_, level, ts| match ts {
            t if t < 60 => None,
            t if t < 1000 => Some(level.max(1)),
            _ => Some(level),
        });
        assert_eq!(points(&h, 1), vec![(5000, 2.0)]);
        let direct = h.direct_points();
        assert_eq!(direct.len(), 1);
        assert_eq!((direct[0].id, direct[0].level, direct[0].ts), (1, 1, 100));
        assert_eq!(h.points(), 2);
        assert!(h.heap_bytes() > 0);
    }
}
