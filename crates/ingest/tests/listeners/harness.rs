//! Starts an `Ingest` on 127.0.0.1 with all three listeners, records what reaches the
//! appender, and waits for conditions with a deadline.

use std::net::SocketAddr;
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use lookout_core::selfmon::Registry;
use lookout_core::{Durability, Glob, MetricAppender, Point};
use lookout_ingest::{Config, Ingest};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinSet;

/// How long any wait may take before the test fails: generous, because CI machines are slow
/// and shared; a passing test never waits this long.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// Holds the first `append` until released, to catch a batch in flight.
pub struct Gate {
    entered: Option<oneshot::Sender<()>>,
    release: mpsc::Receiver<()>,
}

/// An appender that keeps every point and announces each batch.
pub struct Recorder {
    points: Mutex<Vec<Point>>,
    count: watch::Sender<usize>,
    synced_calls: Mutex<usize>,
    gate: Mutex<Option<Gate>>,
}

impl Recorder {
    pub fn new() -> Recorder {
        Recorder {
            points: Mutex::new(Vec::new()),
            count: watch::channel(0).0,
            synced_calls: Mutex::new(0),
            gate: Mutex::new(None),
        }
    }

    /// Makes the next `append` wait; returns (signal that it started, its release).
    pub fn close_gate(&self) -> (oneshot::Receiver<()>, mpsc::Sender<()>) {
        let (entered_tx, entered_rx) = oneshot::channel();
        let (release_tx, release_rx) = mpsc::channel();
        *self.gate.lock().unwrap() = Some(Gate {
            entered: Some(entered_tx),
            release: release_rx,
        });
        (entered_rx, release_tx)
    }

    pub fn points(&self) -> Vec<Point> {
        self.points.lock().unwrap().clone()
    }

    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.points().into_iter().map(|p| p.name).collect();
        names.sort();
        names
    }

    /// Waits until at least `n` points were appended.
    pub async fn wait_points(&self, n: usize) {
        let mut rx = self.count.subscribe();
        let waited = tokio::time::timeout(DEADLINE, rx.wait_for(|c| *c >= n)).await;
        assert!(
            waited.is_ok(),
            "waited for {n} points, have {}: {:?}",
            *self.count.borrow(),
            self.names()
        );
    }
}

impl MetricAppender for Recorder {
    fn append(&self, points: &[Point], durability: Durability) -> lookout_core::Result<()> {
        let gate = self.gate.lock().unwrap().take();
        if let Some(mut gate) = gate {
            if let Some(entered) = gate.entered.take() {
                let _ = entered.send(());
            }
            let _ = gate.release.recv();
        }
        if durability == Durability::Synced {
            *self.synced_calls.lock().unwrap() += 1;
        }
        self.points.lock().unwrap().extend_from_slice(points);
        self.count.send_modify(|c| *c += points.len());
        Ok(())
    }

    fn delete(&self, _pattern: &Glob) -> lookout_core::Result<u64> {
        Ok(0)
    }
}

pub struct Server {
    pub recorder: Arc<Recorder>,
    pub registry: Arc<Registry>,
    pub tcp: SocketAddr,
    pub udp: SocketAddr,
    pub pickle: SocketAddr,
    shutdown: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl Server {
    pub async fn start(config: Config) -> Server {
        let recorder = Arc::new(Recorder::new());
        let registry = Arc::new(Registry::new());
        let (shutdown, rx) = watch::channel(false);
        let ingest = Arc::new(Ingest::new(recorder.clone(), registry.clone(), config, rx));
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let pickle = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (tcp_addr, udp_addr, pickle_addr) = (
            tcp.local_addr().unwrap(),
            udp.local_addr().unwrap(),
            pickle.local_addr().unwrap(),
        );
        let mut tasks = JoinSet::new();
        let i = ingest.clone();
        tasks.spawn(async move { i.serve_graphite_tcp(tcp).await });
        let i = ingest.clone();
        tasks.spawn(async move { i.serve_graphite_udp(udp).await });
        let i = ingest;
        tasks.spawn(async move { i.serve_pickle_tcp(pickle).await });
        Server {
            recorder,
            registry,
            tcp: tcp_addr,
            udp: udp_addr,
            pickle: pickle_addr,
            shutdown,
            tasks,
        }
    }

    /// A counter's value (0 if never counted).
    pub fn counter(&self, name: &'static str, labels: &[(&str, &str)]) -> u64 {
        self.registry.counter(name, "", labels).get()
    }

    pub fn gauge(&self, name: &'static str, labels: &[(&str, &str)]) -> i64 {
        self.registry.gauge(name, "", labels).get()
    }

    /// Requests shutdown and waits for every listener to return.
    pub async fn stop(mut self) -> Arc<Recorder> {
        self.shutdown.send(true).unwrap();
        let all = async {
            while let Some(r) = self.tasks.join_next().await {
                r.unwrap();
            }
        };
        tokio::time::timeout(DEADLINE, all)
            .await
            .expect("listeners return after shutdown");
        assert_eq!(
            *self.recorder.synced_calls.lock().unwrap(),
            0,
            "unacknowledged protocols append buffered"
        );
        self.recorder
    }
}

/// Waits until `cond` holds, checking it every few milliseconds (for state that announces no
/// change, such as a gauge), failing after the deadline.
pub async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while !cond() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Reads from `stream` until the server closes it, failing after the deadline.
pub async fn wait_closed(stream: &mut tokio::net::TcpStream) {
    use tokio::io::AsyncReadExt;
    let mut buf = [0u8; 64];
    let read = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(DEADLINE, read)
        .await
        .expect("server closes the connection");
}
