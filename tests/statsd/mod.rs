//! StatsD through the real binary: packets over UDP and TCP, aggregated and flushed every
//! second (`--statsd-flush 1s`, with 1 s slots so every flush keeps its own point), read back
//! through `/render`. Counters are checked by their sum over all flushes, so a packet that
//! straddles a flush still adds up; timers, gauges and sets by the flush that holds them.
//! `etsy` sends the same packets through the real Etsy daemon and compares.

mod etsy;

use std::time::{Duration, Instant};

use crate::util::{now, series_points, Lookout, DATA_DEADLINE};

/// Flags of every StatsD test: flush every second into one-second slots.
const FAST_FLUSH: [&str; 4] = ["--statsd-flush", "1s", "--retention", ".*=1s:1h"];

fn start() -> Lookout {
    Lookout::start_with(&FAST_FLUSH)
}

/// The non-null points of every series `target` renders over the last five minutes.
fn rendered(l: &Lookout, target: &str) -> Vec<(String, Vec<(i64, f64)>)> {
    let t = now();
    series_points(&l.render_json(target, t - 300, t + 60))
}

/// Waits until `check` accepts the points of the one series `target` renders.
#[track_caller]
fn wait_for(l: &Lookout, target: &str, what: &str, check: impl Fn(&[f64]) -> bool) {
    let end = Instant::now() + DATA_DEADLINE;
    loop {
        let got = rendered(l, target);
        let values: Vec<f64> = got
            .first()
            .map(|(_, p)| p.iter().map(|(_, v)| *v).collect())
            .unwrap_or_default();
        if got.len() == 1 && check(&values) {
            return;
        }
        assert!(
            Instant::now() < end,
            "{target}: {what} not seen within {DATA_DEADLINE:?}; last answer {got:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9 * b.abs().max(1.0)
}

/// The counter's flushed counts add up to `total`.
#[track_caller]
fn wait_for_sum(l: &Lookout, target: &str, total: f64) {
    wait_for(l, target, &format!("a sum of {total}"), |v| {
        close(v.iter().sum(), total)
    });
}

/// Some flush wrote exactly `value`.
#[track_caller]
fn wait_for_value(l: &Lookout, target: &str, value: f64) {
    wait_for(l, target, &format!("the value {value}"), |v| {
        v.iter().any(|x| close(*x, value))
    });
}

/// Counters with sample rates, timers, gauges with deltas, sets and DogStatsD tags, several
/// per datagram and several values per line.
const PACKET: &[u8] = b"hits:1|c\nhits:2|c|@0.5\nlat:10|ms\nlat:20|ms:30|ms\nlat:40|ms|@0.1\n\
depth:10|g\ndepth:+5|g\ndepth:-2|g\nusers:ann|s\nusers:bob|s\nusers:ann|s\n\
tagged:3|c|#env:prod,zone:b\n";

/// The series `PACKET` produces, checked against lookout's render API.
fn check_packet_results(l: &Lookout, p: &str) {
    // 1 + 2 / 0.5 = 5 events; the rate is per second of the 1 s interval.
    wait_for_sum(l, &format!("stats_counts.{p}hits"), 5.0);
    wait_for_sum(l, &format!("stats.{p}hits"), 5.0);
    // Timer: 10, 20, 30, 40; count 1 + 1 + 1 + 10 = 13.
    let t = format!("stats.timers.{p}lat");
    wait_for_value(l, &format!("{t}.count"), 13.0);
    wait_for_value(l, &format!("{t}.upper"), 40.0);
    wait_for_value(l, &format!("{t}.lower"), 10.0);
    wait_for_value(l, &format!("{t}.mean"), 25.0);
    wait_for_value(l, &format!("{t}.median"), 25.0);
    wait_for_value(l, &format!("{t}.sum"), 100.0);
    // round(0.9 * 4) = 4 values: all of them.
    wait_for_value(l, &format!("{t}.upper_90"), 40.0);
    wait_for_value(l, &format!("{t}.count_90"), 4.0);
    wait_for_value(l, &format!("stats.gauges.{p}depth"), 13.0);
    wait_for_value(l, &format!("stats.sets.{p}users.count"), 2.0);
    let tagged = format!("seriesByTag('name=stats_counts.{p}tagged','env=prod','zone=b')");
    wait_for_sum(l, &tagged, 3.0);
    let got = rendered(l, &tagged);
    assert_eq!(
        got[0].0,
        format!("stats_counts.{p}tagged;env=prod;zone=b"),
        "{got:?}"
    );
}

#[test]
fn udp_packets_are_aggregated_and_flushed_under_etsy_names() {
    let l = start();
    l.send_statsd_udp(PACKET);
    check_packet_results(&l, "");
    // Gauges keep their value in later flushes; a delta moves it.
    l.send_statsd_udp(b"depth:+7|g");
    wait_for_value(&l, "stats.gauges.depth", 20.0);
}

#[test]
fn tcp_lines_are_aggregated_like_udp() {
    let l = start();
    let prefixed = String::from_utf8(PACKET.to_vec())
        .unwrap()
        .lines()
        .map(|line| format!("t.{line}\n"))
        .collect::<String>();
    // Split mid-line across writes: the framing joins them.
    let (a, b) = prefixed.as_bytes().split_at(25);
    l.send_statsd_tcp_chunks(&[a, b]);
    check_packet_results(&l, "t.");
}

#[test]
fn bad_lines_are_counted_and_the_rest_kept() {
    let l = start();
    let long = format!("long:{}|c\n", "1".repeat(10_000));
    let mut packet = b"good.a:1|c\ngarbage\n\xff\xfe\x00:1|c\nx:1|nope\ny:1|c|@-1\n".to_vec();
    packet.extend_from_slice(long.as_bytes());
    packet.extend_from_slice(b"good.b:2|c\n");
    l.send_statsd_udp(&packet);
    l.send_statsd_udp(b"\x00\x01\x02binary\xff");
    l.send_statsd_tcp(format!("good.c:3|c\n{long}good.d:4|c\n").as_bytes());
    wait_for_sum(&l, "stats_counts.good.a", 1.0);
    wait_for_sum(&l, "stats_counts.good.b", 2.0);
    wait_for_sum(&l, "stats_counts.good.c", 3.0);
    wait_for_sum(&l, "stats_counts.good.d", 4.0);
    let invalid = |proto: &str, reason: &str| {
        l.metric_sum(
            "lookout_ingest_records_invalid_total",
            &[("proto", proto), ("reason", reason)],
        )
    };
    assert_eq!(invalid("statsd_udp", "syntax"), 1.0, "{:?}", l.metrics());
    // The line starting with \xff and the binary datagram are not UTF-8.
    assert_eq!(invalid("statsd_udp", "name"), 2.0);
    assert_eq!(invalid("statsd_udp", "type"), 1.0);
    assert_eq!(invalid("statsd_udp", "sample_rate"), 1.0);
    assert_eq!(invalid("statsd_udp", "line_too_long"), 1.0);
    assert_eq!(invalid("statsd_tcp", "line_too_long"), 1.0);
    assert!(l.healthy());
}

#[test]
fn the_last_interval_is_flushed_at_shutdown() {
    // An hour-long interval: only the shutdown flush can write these.
    let mut l = Lookout::start_with(&["--statsd-flush", "1h", "--retention", ".*=1s:1h"]);
    l.send_statsd_tcp(b"late.hits:4|c\nlate.depth:9|g\n");
    let received = |l: &Lookout| {
        l.metric_sum(
            "lookout_ingest_points_received_total",
            &[("proto", "statsd_tcp")],
        )
    };
    crate::util::wait_until(DATA_DEADLINE, "the samples are aggregated", || {
        received(&l) == 2.0
    });
    l.terminate();
    l.restart();
    wait_for_sum(&l, "stats_counts.late.hits", 4.0);
    wait_for_value(&l, "stats.gauges.late.depth", 9.0);
}

#[test]
fn typed_series_keep_spikes_and_totals_under_max_data_points() {
    let l = start();
    // A spike between calm intervals: each send waits for the previous one's flush, so each
    // lands in an interval of its own.
    for (i, value) in [5, 500, 7].into_iter().enumerate() {
        l.send_statsd_udp(format!("spiky:{value}|ms\nreqs:2|c").as_bytes());
        wait_for_value(&l, "stats.timers.spiky.upper", f64::from(value));
        wait_for_sum(&l, "stats_counts.reqs", 2.0 * (i + 1) as f64);
    }
    let t = now();
    let one_point = |target: &str| {
        let r = l.get_query(
            "/render",
            &[
                ("target", target),
                ("from", &(t - 300).to_string()),
                ("until", &(t + 60).to_string()),
                ("format", "json"),
                ("maxDataPoints", "1"),
            ],
        );
        assert_eq!(r.status, 200, "{}", r.text());
        let points = series_points(&r.json());
        assert_eq!(points.len(), 1, "{points:?}");
        points[0].1.iter().map(|(_, v)| *v).collect::<Vec<f64>>()
    };
    // `upper` consolidates by max, counts by sum: the spike and the total survive.
    assert_eq!(one_point("stats.timers.spiky.upper"), [500.0]);
    assert_eq!(one_point("stats_counts.reqs"), [6.0]);
}
