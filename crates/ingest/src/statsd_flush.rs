//! StatsD aggregation: the state samples accumulate into between flushes, and the flush that
//! turns it into points under Etsy's names with Etsy's arithmetic (`lib/process_metrics.js`
//! and `backends/graphite.js` of the npm package `statsd`): counter rates per second of the
//! configured interval, timer percentiles by `Math.round(pct / 100 * count)`, gauges kept
//! across flushes, sets counted per interval, idle series sent as zeros unless deleted.
//!
//! The state is split into shards by series name, each behind its own mutex held only for one
//! sample or for the swap at flush (sorting timers happens outside it), so the parsing threads
//! and the flush never wait on each other for long and the socket readers never wait at all.
//! Etsy's own `statsd.*` self-metrics are not produced: lookout has its own.
//! Parsing is `lookout_proto::statsd`'s job, sockets `statsd`'s.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::Mutex;

use lookout_core::{Aggregation, Point};
use lookout_proto::statsd::{Sample, SampleValue};

use crate::statsd::StatsdConfig;

/// Shards of the state. More than the cores that parse (2 to a few dozen), so two parsing
/// threads rarely want the same lock; few enough that a flush's pass over them is cheap.
const SHARDS: usize = 32;

/// Most measurements kept per timer and interval (512 KiB of `f64`). Past it the timer's count
/// still grows but the values are dropped and counted, so a hot timer cannot grow memory
/// without bound; 65,536 measurements per interval already pin percentiles down well.
pub(crate) const MAX_TIMER_VALUES: usize = 65_536;

/// Most distinct members per set and interval; more are dropped and counted (the reported
/// count then saturates here).
pub(crate) const MAX_SET_MEMBERS: usize = 65_536;

/// Why a sample was not (wholly) kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// A new series while the aggregator holds `max_series` already.
    TooManySeries,
    /// A timer past [`MAX_TIMER_VALUES`]: counted in `count`, value dropped.
    TimerValues,
    /// A set past [`MAX_SET_MEMBERS`].
    SetMembers,
}

impl Refused {
    /// The `reason` label it is counted under.
    pub(crate) fn reason(self) -> &'static str {
        match self {
            Refused::TooManySeries => "too_many_series",
            Refused::TimerValues => "timer_values",
            Refused::SetMembers => "set_members",
        }
    }
}

/// One timer's interval: its measurements and its sample-rate-scaled count.
#[derive(Default)]
struct Timer {
    values: Vec<f64>,
    count: f64,
}

/// The series whose names hash to one shard.
#[derive(Default)]
struct Shard {
    counters: HashMap<String, f64>,
    timers: HashMap<String, Timer>,
    gauges: HashMap<String, f64>,
    sets: HashMap<String, HashSet<String>>,
}

impl Shard {
    fn series(&self) -> usize {
        self.counters.len() + self.timers.len() + self.gauges.len() + self.sets.len()
    }
}

/// The aggregation state of one StatsD server.
pub(crate) struct Aggregator {
    shards: [Mutex<Shard>; SHARDS],
    config: StatsdConfig,
    names: Names,
}

impl Aggregator {
    pub(crate) fn new(config: StatsdConfig) -> Aggregator {
        Aggregator {
            shards: std::array::from_fn(|_| Mutex::new(Shard::default())),
            names: Names::new(&config),
            config,
        }
    }

    fn shard(&self, name: &str) -> std::sync::MutexGuard<'_, Shard> {
        let mut h = DefaultHasher::new();
        name.hash(&mut h);
        // In bounds: the remainder is below SHARDS, the array's length.
        let shard = &self.shards[(h.finish() % SHARDS as u64) as usize];
        // A poisoned shard only means a panic mid-update of plain numbers: keep using it.
        shard.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds one sample. `Err` says what was dropped; the rest of the sample was kept.
    pub(crate) fn add(&self, sample: &Sample<'_>) -> Result<(), Refused> {
        let name = sample.name.as_ref();
        let per_shard = self.config.max_series.div_ceil(SHARDS).max(1);
        let mut shard = self.shard(name);
        let full = shard.series() >= per_shard;
        match sample.value {
            SampleValue::Counter { value, rate } => {
                let slot = slot(&mut shard.counters, name, full)?;
                *slot += value / rate;
            }
            SampleValue::Timer { value, rate } => {
                let timer = slot(&mut shard.timers, name, full)?;
                timer.count += 1.0 / rate;
                if timer.values.len() >= MAX_TIMER_VALUES {
                    return Err(Refused::TimerValues);
                }
                timer.values.push(value);
            }
            SampleValue::Gauge { value, delta } => match shard.gauges.get_mut(name) {
                Some(g) if delta => *g += value,
                Some(g) => *g = value,
                None if full => return Err(Refused::TooManySeries),
                None => {
                    shard.gauges.insert(name.to_owned(), value);
                }
            },
            SampleValue::Set(member) => {
                let set = slot(&mut shard.sets, name, full)?;
                if !set.contains(member) {
                    if set.len() >= MAX_SET_MEMBERS {
                        return Err(Refused::SetMembers);
                    }
                    set.insert(member.to_owned());
                }
            }
        }
        Ok(())
    }

    /// Turns the interval's state into points stamped `now`, and starts the next interval:
    /// counters, timers and sets restart from zero (or are forgotten if their `delete_*` is
    /// set), gauges keep their value unless `delete_gauges`.
    pub(crate) fn flush(&self, now: i64) -> Vec<Point> {
        let secs = self
            .config
            .flush_interval
            .as_secs_f64()
            .max(f64::MIN_POSITIVE);
        let c = &self.config;
        let n = &self.names;
        let mut out = Vec::new();
        let mut timers: Vec<(String, Timer)> = Vec::new();
        for shard in &self.shards {
            let mut shard = shard.lock().unwrap_or_else(|e| e.into_inner());
            for (key, value) in shard.counters.iter_mut() {
                let rate = *value / secs;
                out.push(point(n.counter_rate(key), now, rate));
                out.push(point(n.counter_count(key), now, *value));
                *value = 0.0;
            }
            if c.delete_counters {
                shard.counters.clear();
            }
            if c.delete_timers {
                timers.extend(shard.timers.drain());
            } else {
                for (key, timer) in shard.timers.iter_mut() {
                    timers.push((key.clone(), std::mem::take(timer)));
                }
            }
            for (key, value) in &shard.gauges {
                out.push(point(n.gauge(key), now, *value));
            }
            if c.delete_gauges {
                shard.gauges.clear();
            }
            for (key, set) in shard.sets.iter_mut() {
                out.push(point(n.set(key), now, set.len() as f64));
                set.clear();
            }
            if c.delete_sets {
                shard.sets.clear();
            }
        }
        for (key, mut timer) in timers {
            timer_points(&key, &mut timer, secs, c, n, now, &mut out);
        }
        // Sums of huge values of both signs can reach inf - inf; a point is never NaN.
        out.retain(|p| !p.value.is_nan());
        out
    }
}

/// The entry for `name`, created unless the aggregator is `full`.
fn slot<'m, V: Default>(
    map: &'m mut HashMap<String, V>,
    name: &str,
    full: bool,
) -> Result<&'m mut V, Refused> {
    if !map.contains_key(name) {
        if full {
            return Err(Refused::TooManySeries);
        }
        map.insert(name.to_owned(), V::default());
    }
    map.get_mut(name).ok_or(Refused::TooManySeries)
}

fn point(name: String, ts: i64, value: f64) -> Point {
    Point { name, ts, value }
}

/// Etsy's timer statistics for one interval (`process_metrics.js`).
fn timer_points(
    key: &str,
    timer: &mut Timer,
    secs: f64,
    c: &StatsdConfig,
    n: &Names,
    now: i64,
    out: &mut Vec<Point>,
) {
    let mut add = |stat: &str, value: f64| out.push(point(n.timer(key, stat), now, value));
    let values = &mut timer.values;
    if values.is_empty() {
        add("count", 0.0);
        add("count_ps", 0.0);
        return;
    }
    values.sort_by(f64::total_cmp);
    let count = values.len();
    let mut cumulative = Vec::with_capacity(count);
    let mut cumulative_sq = Vec::with_capacity(count);
    let (mut sum, mut sum_sq) = (0.0, 0.0);
    for v in values.iter() {
        sum += v;
        sum_sq += v * v;
        cumulative.push(sum);
        cumulative_sq.push(sum_sq);
    }
    let at = |v: &[f64], i: usize| v.get(i).copied().unwrap_or(0.0);
    let (min, max) = (at(values, 0), at(values, count - 1));
    for &pct in &c.percentiles {
        let label = percentile_label(pct);
        let (mut n_in, mut boundary, mut psum, mut psum_sq, mut mean) =
            (count, max, min, min * min, min);
        if count > 1 {
            n_in = (pct.abs() / 100.0 * count as f64).round() as usize;
            if n_in == 0 {
                continue;
            }
            n_in = n_in.min(count);
            if pct > 0.0 {
                boundary = at(values, n_in - 1);
                psum = at(&cumulative, n_in - 1);
                psum_sq = at(&cumulative_sq, n_in - 1);
            } else {
                boundary = at(values, count - n_in);
                let before = (count - n_in).checked_sub(1);
                psum = sum - before.map_or(0.0, |i| at(&cumulative, i));
                psum_sq = sum_sq - before.map_or(0.0, |i| at(&cumulative_sq, i));
            }
            mean = psum / n_in as f64;
        }
        add(&format!("count_{label}"), n_in as f64);
        add(&format!("mean_{label}"), mean);
        let bound = if pct > 0.0 { "upper" } else { "lower" };
        add(&format!("{bound}_{label}"), boundary);
        add(&format!("sum_{label}"), psum);
        add(&format!("sum_squares_{label}"), psum_sq);
    }
    let mean = sum / count as f64;
    let variance = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / count as f64;
    let mid = count / 2;
    let median = if count % 2 == 1 {
        at(values, mid)
    } else {
        (at(values, mid - 1) + at(values, mid)) / 2.0
    };
    add("std", variance.sqrt());
    add("upper", max);
    add("lower", min);
    add("count", timer.count);
    add("count_ps", timer.count / secs);
    add("sum", sum);
    add("sum_squares", sum_sq);
    add("mean", mean);
    add("median", median);
}

/// Etsy's percentile suffix: JavaScript's number text with `.` → `_` and `-` → `top`
/// (`90`, `99_9`, `top10`).
pub(crate) fn percentile_label(pct: f64) -> String {
    format!("{pct}")
        .replacen('.', "_", 1)
        .replacen('-', "top", 1)
}

/// Etsy's graphite backend namespaces, resolved once from the configuration.
struct Names {
    counter_rate: String,
    counter_count: String,
    /// `legacy_namespace = false` puts `.rate` / `.count` after the counter's name.
    counter_suffixes: bool,
    timer: String,
    gauge: String,
    set: String,
}

impl Names {
    fn new(c: &StatsdConfig) -> Names {
        if c.legacy_namespace {
            return Names {
                counter_rate: "stats".into(),
                counter_count: "stats_counts".into(),
                counter_suffixes: false,
                timer: "stats.timers".into(),
                gauge: "stats.gauges".into(),
                set: "stats.sets".into(),
            };
        }
        let ns = |prefix: &str| join(&[&c.global_prefix, prefix]);
        Names {
            counter_rate: ns(&c.prefix_counter),
            counter_count: ns(&c.prefix_counter),
            counter_suffixes: true,
            timer: ns(&c.prefix_timer),
            gauge: ns(&c.prefix_gauge),
            set: ns(&c.prefix_set),
        }
    }

    fn counter_rate(&self, key: &str) -> String {
        let suffix: &[&str] = if self.counter_suffixes {
            &["rate"]
        } else {
            &[]
        };
        format_name(&self.counter_rate, key, suffix)
    }

    fn counter_count(&self, key: &str) -> String {
        let suffix: &[&str] = if self.counter_suffixes {
            &["count"]
        } else {
            &[]
        };
        format_name(&self.counter_count, key, suffix)
    }

    fn timer(&self, key: &str, stat: &str) -> String {
        format_name(&self.timer, key, &[stat])
    }

    fn gauge(&self, key: &str) -> String {
        format_name(&self.gauge, key, &[])
    }

    fn set(&self, key: &str) -> String {
        format_name(&self.set, key, &["count"])
    }
}

/// The non-empty parts joined by dots.
fn join(parts: &[&str]) -> String {
    parts
        .iter()
        .filter(|p| !p.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(".")
}

/// Etsy's `format(namespace, key, ...suffix)`: the namespace, the key's path and the suffixes
/// joined by dots, then the key's tags (`;k=v`), which stay at the end.
fn format_name(namespace: &str, key: &str, suffix: &[&str]) -> String {
    let (path, tags) = match key.find(';') {
        Some(i) => key.split_at(i),
        None => (key, ""),
    };
    let mut out = String::with_capacity(namespace.len() + key.len() + 24);
    for part in std::iter::once(namespace)
        .chain(std::iter::once(path))
        .chain(suffix.iter().copied())
    {
        if part.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push('.');
        }
        out.push_str(part);
    }
    out.push_str(tags);
    out
}

/// A rollup rule for the series StatsD writes, so they roll up and consolidate by their type.
#[derive(Debug, Clone, PartialEq)]
pub struct StatsdAggregationRule {
    /// Rule name, for messages.
    pub name: &'static str,
    /// Regex on the canonical series name, anchored at the StatsD namespace.
    pub pattern: String,
    /// How finer points combine.
    pub method: Aggregation,
    /// Fraction of known finer points a coarser point needs.
    pub x_files_factor: f64,
}

/// Built-in rollup rules for the series StatsD creates, anchored to its namespaces so they
/// touch nothing else, and meant to come after the user's rules (so those still win): counts
/// and sums are summed, `lower*` takes the minimum, `upper*` the maximum (a spike survives a
/// 24 h graph), gauges keep the last value, set sizes the maximum (distinct counts do not
/// add up across intervals), and rates, means, medians and deviations average.
pub fn statsd_aggregation_rules(config: &StatsdConfig) -> Vec<StatsdAggregationRule> {
    let names = Names::new(config);
    // Tags follow the statistic's name: `stats.timers.api.upper;env=prod`.
    const END: &str = "(;|$)";
    let ns = |n: &str| format!("^{}\\.", escape(n));
    let rule = |name, pattern: String, method, x_files_factor| StatsdAggregationRule {
        name,
        pattern,
        method,
        x_files_factor,
    };
    let t = ns(&names.timer);
    let pct = "(top)?[0-9_]+";
    let mut rules = vec![
        rule(
            "statsd_timer_counts",
            format!("{t}.*\\.(count|sum|sum_squares)(_{pct})?{END}"),
            Aggregation::Sum,
            0.0,
        ),
        rule(
            "statsd_timer_lower",
            format!("{t}.*\\.lower(_{pct})?{END}"),
            Aggregation::Min,
            0.1,
        ),
        rule(
            "statsd_timer_upper",
            format!("{t}.*\\.upper(_{pct})?{END}"),
            Aggregation::Max,
            0.1,
        ),
        rule("statsd_timer_other", t.clone(), Aggregation::Average, 0.5),
        rule("statsd_gauges", ns(&names.gauge), Aggregation::Last, 0.0),
        rule("statsd_sets", ns(&names.set), Aggregation::Max, 0.0),
    ];
    if names.counter_suffixes {
        let c = ns(&names.counter_count);
        rules.push(rule(
            "statsd_counter_counts",
            format!("{c}.*\\.count{END}"),
            Aggregation::Sum,
            0.0,
        ));
        rules.push(rule("statsd_counter_rates", c, Aggregation::Average, 0.5));
    } else {
        rules.push(rule(
            "statsd_counter_counts",
            ns(&names.counter_count),
            Aggregation::Sum,
            0.0,
        ));
        rules.push(rule(
            "statsd_counter_rates",
            ns(&names.counter_rate),
            Aggregation::Average,
            0.5,
        ));
    }
    rules
}

/// `text` as a regex literal: everything but letters, digits and `_` escaped.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    for c in text.chars() {
        if !(c.is_ascii_alphanumeric() || c == '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;
    use std::collections::BTreeMap;
    use std::time::Duration;

    fn config() -> StatsdConfig {
        StatsdConfig {
            flush_interval: Duration::from_secs(10),
            ..StatsdConfig::default()
        }
    }

    fn feed(agg: &Aggregator, packet: &str) {
        let mut samples = Vec::new();
        let mut errors = Vec::new();
        lookout_proto::statsd::parse(packet.as_bytes(), 1024, &mut samples, &mut errors);
        assert!(errors.is_empty(), "{errors:?}");
        for s in &samples {
            agg.add(s).unwrap();
        }
    }

    fn flushed(agg: &Aggregator) -> BTreeMap<String, f64> {
        let points = agg.flush(100);
        assert!(points.iter().all(|p| p.ts == 100));
        points.into_iter().map(|p| (p.name, p.value)).collect()
    }

    #[track_caller]
    fn check(map: &BTreeMap<String, f64>, expected: &[(&str, f64)]) {
        for (name, value) in expected {
            match map.get(*name) {
                Some(v) => assert!((v - value).abs() < 1e-9, "{name}: {v} != {value}"),
                None => panic!("{name} missing from {map:?}"),
            }
        }
    }

    #[test]
    fn counters_scale_by_sample_rate_and_report_rate_and_count() {
        let agg = Aggregator::new(config());
        feed(&agg, "gorets:1|c\ngorets:1|c|@0.1\nfoo:5|c|#env:prod");
        let m = flushed(&agg);
        check(
            &m,
            &[
                ("stats.gorets", 1.1),
                ("stats_counts.gorets", 11.0),
                ("stats.foo;env=prod", 0.5),
                ("stats_counts.foo;env=prod", 5.0),
            ],
        );
        assert_eq!(m.len(), 4);
        // Idle counters report zero until deleted.
        check(
            &flushed(&agg),
            &[("stats.gorets", 0.0), ("stats_counts.gorets", 0.0)],
        );
    }

    #[test]
    fn timers_follow_etsy_statistics() {
        let agg = Aggregator::new(StatsdConfig {
            percentiles: vec![90.0, 50.0, 99.9, -10.0],
            ..config()
        });
        let packet: Vec<String> = (1..=10).map(|v| format!("t:{v}|ms")).collect();
        feed(&agg, &packet.join("\n"));
        feed(&agg, "t:100|ms|@0.5");
        let m = flushed(&agg);
        // values 1..=10 and 100: n = 11, sum 155, count 1 + 10 + 1/0.5 = 12.
        check(
            &m,
            &[
                ("stats.timers.t.count", 12.0),
                ("stats.timers.t.count_ps", 1.2),
                ("stats.timers.t.lower", 1.0),
                ("stats.timers.t.upper", 100.0),
                ("stats.timers.t.sum", 155.0),
                ("stats.timers.t.sum_squares", 10_385.0),
                ("stats.timers.t.mean", 155.0 / 11.0),
                ("stats.timers.t.median", 6.0),
                // round(0.9 * 11) = 10 values: 1..=10.
                ("stats.timers.t.count_90", 10.0),
                ("stats.timers.t.upper_90", 10.0),
                ("stats.timers.t.sum_90", 55.0),
                ("stats.timers.t.mean_90", 5.5),
                ("stats.timers.t.sum_squares_90", 385.0),
                // round(5.5) = 6 in JavaScript and in Rust (half away from zero).
                ("stats.timers.t.count_50", 6.0),
                ("stats.timers.t.upper_50", 6.0),
                ("stats.timers.t.count_99_9", 11.0),
                ("stats.timers.t.upper_99_9", 100.0),
                // The top 10 %: round(1.1) = 1 value, the largest.
                ("stats.timers.t.count_top10", 1.0),
                ("stats.timers.t.lower_top10", 100.0),
                ("stats.timers.t.sum_top10", 100.0),
            ],
        );
        let std = {
            let mean = 155.0 / 11.0;
            let vals: Vec<f64> = (1..=10).map(f64::from).chain([100.0]).collect();
            (vals.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / 11.0).sqrt()
        };
        check(&m, &[("stats.timers.t.std", std)]);
        let idle = flushed(&agg);
        check(
            &idle,
            &[
                ("stats.timers.t.count", 0.0),
                ("stats.timers.t.count_ps", 0.0),
            ],
        );
        assert_eq!(idle.len(), 2, "{idle:?}");
    }

    #[test]
    fn a_single_timer_value_fills_every_percentile() {
        let agg = Aggregator::new(config());
        feed(&agg, "one:7|ms");
        check(
            &flushed(&agg),
            &[
                ("stats.timers.one.count_90", 1.0),
                ("stats.timers.one.upper_90", 7.0),
                ("stats.timers.one.median", 7.0),
                ("stats.timers.one.std", 0.0),
            ],
        );
    }

    #[test]
    fn gauges_take_deltas_and_persist_unless_deleted() {
        let agg = Aggregator::new(config());
        feed(&agg, "g:10|g\ng:+5|g\ng:-3|g\nfresh:-4|g");
        check(
            &flushed(&agg),
            &[("stats.gauges.g", 12.0), ("stats.gauges.fresh", -4.0)],
        );
        check(&flushed(&agg), &[("stats.gauges.g", 12.0)]);
        feed(&agg, "g:+1|g");
        check(&flushed(&agg), &[("stats.gauges.g", 13.0)]);

        let agg = Aggregator::new(StatsdConfig {
            delete_gauges: true,
            ..config()
        });
        feed(&agg, "g:10|g");
        assert_eq!(flushed(&agg).len(), 1);
        assert!(flushed(&agg).is_empty());
    }

    #[test]
    fn sets_count_distinct_members_per_interval() {
        let agg = Aggregator::new(config());
        feed(&agg, "u:a|s\nu:b|s\nu:a|s\nu:1|s");
        check(&flushed(&agg), &[("stats.sets.u.count", 3.0)]);
        check(&flushed(&agg), &[("stats.sets.u.count", 0.0)]);
    }

    #[test]
    fn delete_idle_stats_forgets_series_without_data() {
        let agg = Aggregator::new(StatsdConfig {
            delete_counters: true,
            delete_timers: true,
            delete_sets: true,
            delete_gauges: true,
            ..config()
        });
        feed(&agg, "c:1|c\nt:1|ms\ns:x|s\ng:1|g");
        assert!(!flushed(&agg).is_empty());
        assert!(flushed(&agg).is_empty());
    }

    #[test]
    fn non_legacy_namespace_uses_prefixes_and_suffixes() {
        let agg = Aggregator::new(StatsdConfig {
            legacy_namespace: false,
            global_prefix: "app".into(),
            prefix_gauge: String::new(),
            ..config()
        });
        feed(&agg, "c:20|c|#k:v\nt:1|ms\ng:1|g\ns:x|s");
        let m = flushed(&agg);
        check(
            &m,
            &[
                ("app.counters.c.rate;k=v", 2.0),
                ("app.counters.c.count;k=v", 20.0),
                ("app.timers.t.upper", 1.0),
                ("app.g", 1.0),
                ("app.sets.s.count", 1.0),
            ],
        );
    }

    #[test]
    fn bounds_refuse_new_series_and_excess_values() {
        let agg = Aggregator::new(StatsdConfig {
            max_series: 1,
            ..config()
        });
        let sample = |name: &'static str, value| Sample {
            name: Cow::Borrowed(name),
            value,
        };
        let counter = SampleValue::Counter {
            value: 1.0,
            rate: 1.0,
        };
        assert_eq!(agg.add(&sample("a", counter)), Ok(()));
        assert_eq!(agg.add(&sample("a", counter)), Ok(()));
        // Per shard, `max_series` rounds up to one; a second series in a's shard is refused.
        let refused = (0..200)
            .map(|i| format!("n{i}"))
            .filter(|n| {
                let s = Sample {
                    name: Cow::Owned(n.clone()),
                    value: counter,
                };
                agg.add(&s) == Err(Refused::TooManySeries)
            })
            .count();
        assert!(refused > 0 && refused < 200, "{refused}");

        let agg = Aggregator::new(config());
        let timer = SampleValue::Timer {
            value: 1.0,
            rate: 1.0,
        };
        for _ in 0..MAX_TIMER_VALUES {
            agg.add(&sample("t", timer)).unwrap();
        }
        assert_eq!(agg.add(&sample("t", timer)), Err(Refused::TimerValues));
        check(
            &flushed(&agg),
            &[("stats.timers.t.count", (MAX_TIMER_VALUES + 1) as f64)],
        );
    }

    #[test]
    fn overflowing_sums_never_make_nan_points() {
        let agg = Aggregator::new(config());
        feed(
            &agg,
            "c:1e308|c|@1e-10\nc:-1e308|c|@1e-10\ng:1e308|g\ng:+1e308|g",
        );
        let m = flushed(&agg);
        assert!(!m.contains_key("stats.c"), "{m:?}");
        assert_eq!(m.get("stats.gauges.g"), Some(&f64::INFINITY));
    }

    #[test]
    fn percentile_labels_follow_javascript() {
        assert_eq!(percentile_label(90.0), "90");
        assert_eq!(percentile_label(99.9), "99_9");
        assert_eq!(percentile_label(-10.0), "top10");
        assert_eq!(percentile_label(0.5), "0_5");
    }

    #[test]
    fn aggregation_rules_type_statsd_series_only() {
        let rules = statsd_aggregation_rules(&config());
        let compiled: Vec<(regex::Regex, Aggregation)> = rules
            .iter()
            .map(|r| (regex::Regex::new(&r.pattern).unwrap(), r.method))
            .collect();
        let method = |name: &str| {
            compiled
                .iter()
                .find(|(re, _)| re.is_match(name))
                .map(|(_, m)| *m)
        };
        let cases = [
            ("stats_counts.api.hits", Some(Aggregation::Sum)),
            ("stats.api.hits", Some(Aggregation::Average)),
            ("stats.timers.api.count", Some(Aggregation::Sum)),
            ("stats.timers.api.count_90;env=prod", Some(Aggregation::Sum)),
            ("stats.timers.api.sum_squares_99_9", Some(Aggregation::Sum)),
            ("stats.timers.api.count_ps", Some(Aggregation::Average)),
            ("stats.timers.api.upper", Some(Aggregation::Max)),
            ("stats.timers.api.upper_90;env=prod", Some(Aggregation::Max)),
            ("stats.timers.api.lower", Some(Aggregation::Min)),
            ("stats.timers.api.mean_90", Some(Aggregation::Average)),
            ("stats.gauges.queue.depth", Some(Aggregation::Last)),
            ("stats.sets.users.count", Some(Aggregation::Max)),
            ("web01.cpu.count", None),
            ("statsd.numStats", None),
        ];
        for (name, expected) in cases {
            assert_eq!(method(name), expected, "{name}");
        }
    }
}
