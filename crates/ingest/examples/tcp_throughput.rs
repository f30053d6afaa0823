//! End-to-end throughput of one Graphite plaintext TCP connection: a client thread writes
//! pre-generated lines as fast as loopback takes them, the listener parses and appends them to
//! an appender that only counts, and the figure is points stored per second from connect to
//! the last point counted. Run with
//! `cargo run --release -p lookout-ingest --example tcp_throughput [lines]`.

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use lookout_core::selfmon::Registry;
use lookout_core::{Durability, Glob, MetricAppender, Point};
use lookout_ingest::{Config, Ingest};
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify};

/// Counts points and wakes the main task once `target` are in.
struct Counting {
    points: AtomicUsize,
    target: usize,
    done: Notify,
}

impl MetricAppender for Counting {
    fn append(&self, points: &[Point], _durability: Durability) -> lookout_core::Result<()> {
        let total = self.points.fetch_add(points.len(), Ordering::Relaxed) + points.len();
        if total >= self.target {
            self.done.notify_one();
        }
        Ok(())
    }

    fn delete(&self, _pattern: &Glob) -> lookout_core::Result<u64> {
        Ok(0)
    }
}

fn lines(n: usize) -> Vec<u8> {
    let mut buf = Vec::with_capacity(n * 60);
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    for i in 0..n {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let value = (state >> 16) % 100_000;
        let line = format!(
            "web{:02}.webapp.backend.git.render_time_ms {}.{:02} {}\n",
            state % 100,
            value / 100,
            value % 100,
            1_700_000_000 + i / 1000
        );
        buf.extend_from_slice(line.as_bytes());
    }
    buf
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000_000);
    let data = lines(n);
    let appender = Arc::new(Counting {
        points: AtomicUsize::new(0),
        target: n,
        done: Notify::new(),
    });
    let (stop, shutdown) = watch::channel(false);
    let ingest = Arc::new(Ingest::new(
        appender.clone(),
        Arc::new(Registry::new()),
        Config::default(),
        shutdown,
    ));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let serving = {
        let ingest = ingest.clone();
        tokio::spawn(async move { ingest.serve_graphite_tcp(listener).await })
    };
    let bytes = data.len();
    let start = Instant::now();
    let client = std::thread::spawn(move || {
        let mut conn = std::net::TcpStream::connect(addr).expect("connect");
        conn.write_all(&data).expect("write");
    });
    appender.done.notified().await;
    let secs = start.elapsed().as_secs_f64();
    client.join().expect("client thread");
    stop.send(true).expect("shutdown");
    serving.await.expect("listener");
    println!(
        "{n} points ({:.0} MB) over one TCP connection in {secs:.2} s: {:.2} M points/s, {:.0} MB/s",
        bytes as f64 / 1e6,
        n as f64 / secs / 1e6,
        bytes as f64 / secs / 1e6
    );
}
