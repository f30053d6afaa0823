//! The bench workload: a line-for-line port of `shared/bench/tools/gen_graphite.c` (fixed seed,
//! same names, same value kinds: random-walk floats printed with `%.2f`/`%.4f`, counters,
//! integer walks, a constant gauge), so the benches measure the data the whole-system bench
//! sends. Values go through text and back, as they would through the Graphite parser.
#![allow(dead_code)]

const SERVICES: [&str; 10] = [
    "git", "wiki", "auth", "search", "api", "db", "static", "cdn", "proxy", "assets",
];
const TIERS: [&str; 10] = [
    "backend", "backend", "backend", "backend", "backend", "backend", "frontend", "frontend",
    "frontend", "frontend",
];
const METRICS: [&str; 10] = [
    "render_time_ms",
    "requests_total",
    "errors_total",
    "cpu_pct",
    "mem_used_bytes",
    "queue_depth",
    "threads",
    "uptime_s",
    "cache_hit_ratio",
    "disk_free_bytes",
];

/// Step of the generated series, seconds.
pub const STEP: i64 = 10;

fn splitmix(s: &mut u64) -> u64 {
    *s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *s;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn urand(s: &mut u64) -> f64 {
    (splitmix(s) >> 11) as f64 * (1.0 / 9_007_199_254_740_992.0)
}

fn nrand(s: &mut u64) -> f64 {
    let (a, b, c, d) = (urand(s), urand(s), urand(s), urand(s));
    (a + b + c + d - 2.0) * 1.732_050_807_568_877_2
}

/// One generated series.
pub struct Series {
    /// `web<HH>.webapp.<tier>.<service>.<metric>`.
    pub name: String,
    /// Values at `first_ts + i * STEP`, as parsed back from their printed form.
    pub values: Vec<f64>,
}

/// `gen_graphite -s series -t points -r seed`: every series with its values.
pub fn generate(series: usize, points: usize, seed: u64) -> Vec<Series> {
    struct State {
        kind: usize,
        v: f64,
        p1: f64,
        rng: u64,
    }
    let mut out = Vec::with_capacity(series);
    let mut states = Vec::with_capacity(series);
    for i in 0..series {
        let (host, svc, met) = (i / 100 + 1, (i / 10) % 10, i % 10);
        let name = format!(
            "web{host:02}.webapp.{}.{}.{}",
            TIERS[svc], SERVICES[svc], METRICS[met]
        );
        let mut rng = seed
            .wrapping_mul(0x0100_0000_01B3)
            .wrapping_add((i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
            .wrapping_add(1);
        splitmix(&mut rng);
        let (v, p1) = match met {
            0 => {
                let v = 20.0 + 200.0 * urand(&mut rng);
                (v, v)
            }
            1 => {
                let v = (1e6 * urand(&mut rng)).floor();
                (v, 50.0 + 950.0 * urand(&mut rng))
            }
            2 => {
                let v = (1000.0 * urand(&mut rng)).floor();
                (v, 0.02 + 0.1 * urand(&mut rng))
            }
            3 => (5.0 + 60.0 * urand(&mut rng), 0.0),
            4 => ((2e9 + 6e9 * urand(&mut rng)).floor(), 0.0),
            5 => ((10.0 * urand(&mut rng)).floor(), 0.0),
            6 => (f64::from(16 << (urand(&mut rng) * 4.0) as i32), 0.0),
            7 => ((86_400.0 * 30.0 * urand(&mut rng)).floor(), 0.0),
            8 => (0.7 + 0.29 * urand(&mut rng), 0.0),
            _ => {
                let v = (2e11 + 8e11 * urand(&mut rng)).floor();
                (v, 1e3 + 1e5 * urand(&mut rng))
            }
        };
        states.push(State {
            kind: met,
            v,
            p1,
            rng,
        });
        out.push(Series {
            name,
            values: Vec::with_capacity(points),
        });
    }
    for t in 0..points {
        for (x, s) in states.iter_mut().zip(out.iter_mut()) {
            if t > 0 {
                let r = &mut x.rng;
                match x.kind {
                    0 => {
                        x.v += nrand(r) * 4.0 + (x.p1 - x.v) * 0.02;
                        if x.v < 1.0 {
                            x.v = 1.0;
                        }
                    }
                    1 => {
                        let inc = (x.p1 * (1.0 + 0.2 * nrand(r))).max(0.0);
                        x.v += inc.floor();
                    }
                    2 => {
                        if urand(r) < x.p1 {
                            x.v += 1.0 + (3.0 * urand(r)).floor();
                        }
                    }
                    3 => x.v = (x.v + nrand(r) * 1.5).clamp(0.0, 100.0),
                    4 => x.v = (x.v + (nrand(r) * 1_048_576.0).floor()).max(1e8),
                    5 => x.v = (x.v + (nrand(r) * 1.5 + 0.5).floor()).max(0.0),
                    6 => {}
                    7 => x.v += STEP as f64,
                    8 => x.v = (x.v + nrand(r) * 0.003).clamp(0.0, 1.0),
                    _ => {
                        if urand(r) < 0.3 {
                            x.v -= (x.p1 * urand(r)).floor();
                        }
                    }
                }
            }
            let text = match x.kind {
                0 | 3 => format!("{:.2}", x.v),
                8 => format!("{:.4}", x.v),
                _ => format!("{}", x.v as u64),
            };
            s.values.push(text.parse().unwrap_or(f64::NAN));
        }
    }
    out
}
