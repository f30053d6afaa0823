//! A StatsD load generator for `bench/run-statsd`: sends datagrams of 20 lines (counters with
//! sample rates, timers, gauges, sets over 1,000 names, from a fixed seed) to `ADDR` at `RATE`
//! datagrams per second for `SECONDS`, paced in 1 ms slices, and prints one JSON line with what
//! it sent. Whether the receiver kept up is for the caller to read (its counters, the kernel's
//! UDP drop counters). Run with
//! `cargo run --release -p lookout-ingest --example statsd_flood -- ADDR RATE SECONDS`.

use std::net::UdpSocket;
use std::time::{Duration, Instant};

const LINES_PER_PACKET: usize = 20;
const NAMES: usize = 1_000;
/// Distinct datagrams generated up front and sent in turn, so sending costs only the syscall.
const DISTINCT: usize = 4_096;

fn packets() -> Vec<Vec<u8>> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    (0..DISTINCT)
        .map(|_| {
            let mut p = String::new();
            for _ in 0..LINES_PER_PACKET {
                let r = next();
                let name = r % NAMES as u64;
                let line = match r % 10 {
                    0..=3 => format!("bench.req.{name}:1|c\n"),
                    4 => format!("bench.req.{name}:1|c|@0.1\n"),
                    5..=7 => format!("bench.lat.{name}:{}|ms\n", (r >> 20) % 2000),
                    8 => format!("bench.depth.{name}:{}|g\n", (r >> 20) % 500),
                    _ => format!("bench.users.{name}:u{}|s\n", (r >> 20) % 5000),
                };
                p.push_str(&line);
            }
            p.pop();
            p.into_bytes()
        })
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (addr, rate, seconds) = match args.as_slice() {
        [_, addr, rate, seconds] => (
            addr.clone(),
            rate.parse::<u64>().expect("RATE: datagrams per second"),
            seconds.parse::<u64>().expect("SECONDS"),
        ),
        _ => {
            eprintln!("usage: statsd_flood ADDR RATE SECONDS");
            std::process::exit(2);
        }
    };
    let packets = packets();
    let socket = UdpSocket::bind("127.0.0.1:0").expect("binding a UDP socket");
    socket.connect(&addr).expect("connecting the UDP socket");
    let start = Instant::now();
    let total = rate * seconds;
    let mut sent: u64 = 0;
    let mut errors: u64 = 0;
    while sent < total {
        // Send what the schedule says is due by now, then wait for the next millisecond.
        let due = ((start.elapsed().as_secs_f64() * rate as f64) as u64 + 1).min(total);
        while sent < due {
            if socket.send(&packets[sent as usize % DISTINCT]).is_err() {
                errors += 1;
            }
            sent += 1;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{{\"datagrams\": {sent}, \"lines\": {}, \"send_errors\": {errors}, \"seconds\": {secs:.3}, \"rate\": {:.0}}}",
        sent * LINES_PER_PACKET as u64,
        sent as f64 / secs
    );
}
