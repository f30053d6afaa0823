//! Starts the syslog or GELF listeners of a `LogIngest` on 127.0.0.1 over the in-memory log
//! store, with a store that announces how many records it holds (tests wait on that) and can
//! hold its next `append` to catch a batch in flight.

use std::net::SocketAddr;
use std::sync::{mpsc, Arc, Mutex};

use lookout_core::selfmon::Registry;
use lookout_core::testkit::MemLogStore;
use lookout_core::{Durability, Glob, LogAppender, LogOrder, LogQuery, LogReader, LogRecord};
use lookout_ingest::{Config, LogIngest};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinSet;

use super::harness::DEADLINE;

/// A `MemLogStore` that counts what it was given.
pub struct LogStore {
    pub mem: MemLogStore,
    count: watch::Sender<usize>,
    gate: Mutex<Option<(oneshot::Sender<()>, mpsc::Receiver<()>)>>,
}

impl LogAppender for LogStore {
    fn append(&self, records: &[LogRecord], durability: Durability) -> lookout_core::Result<()> {
        assert_eq!(
            durability,
            Durability::Buffered,
            "syslog and GELF do not acknowledge"
        );
        let gate = self.gate.lock().unwrap().take();
        if let Some((entered, release)) = gate {
            let _ = entered.send(());
            let _ = release.recv();
        }
        self.mem.append(records, durability)?;
        self.count.send_modify(|c| *c += records.len());
        Ok(())
    }
}

impl LogStore {
    /// Makes the next `append` wait; returns (signal that it started, its release).
    pub fn close_gate(&self) -> (oneshot::Receiver<()>, mpsc::Sender<()>) {
        let (entered_tx, entered_rx) = oneshot::channel();
        let (release_tx, release_rx) = mpsc::channel();
        *self.gate.lock().unwrap() = Some((entered_tx, release_rx));
        (entered_rx, release_tx)
    }

    /// Waits until at least `n` records were appended.
    pub async fn wait(&self, n: usize) {
        let mut rx = self.count.subscribe();
        let waited = tokio::time::timeout(DEADLINE, rx.wait_for(|c| *c >= n)).await;
        assert!(
            waited.is_ok(),
            "waited for {n} records, have {}",
            *self.count.borrow()
        );
    }

    /// Every stored record, oldest first.
    pub fn all(&self) -> Vec<LogRecord> {
        let query = LogQuery {
            component: Glob::new("*").unwrap(),
            from_ns: i64::MIN,
            until_ns: i64::MAX,
            max_severity: None,
            host: None,
            contains: None,
            regex: None,
            fields: Vec::new(),
            limit: 1_000_000,
            order: LogOrder::Asc,
            cursor: None,
        };
        self.mem.query(&query).unwrap().records
    }

    /// The messages of every stored record, sorted.
    pub fn messages(&self) -> Vec<String> {
        let mut all: Vec<String> = self
            .all()
            .iter()
            .map(|r| r.message_lossy().into_owned())
            .collect();
        all.sort();
        all
    }

    /// The stored record whose message is `message`.
    pub fn find(&self, message: &str) -> LogRecord {
        let all = self.all();
        let found = all.iter().find(|r| r.message == message.as_bytes());
        found
            .unwrap_or_else(|| panic!("no record {message:?} in {all:?}"))
            .clone()
    }
}

/// Which pair of log listeners to start.
#[derive(Clone, Copy)]
pub enum Listeners {
    Syslog,
    Gelf,
}

/// The UDP and TCP listeners of one log protocol.
pub struct LogServer {
    pub store: Arc<LogStore>,
    pub registry: Arc<Registry>,
    pub udp: SocketAddr,
    pub tcp: SocketAddr,
    shutdown: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl LogServer {
    pub async fn start(listeners: Listeners) -> LogServer {
        let store = Arc::new(LogStore {
            mem: MemLogStore::new(),
            count: watch::channel(0).0,
            gate: Mutex::new(None),
        });
        let registry = Arc::new(Registry::new());
        let (shutdown, rx) = watch::channel(false);
        let ingest = Arc::new(LogIngest::new(
            store.clone(),
            registry.clone(),
            Config::default(),
            rx,
        ));
        let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (udp_addr, tcp_addr) = (udp.local_addr().unwrap(), tcp.local_addr().unwrap());
        let mut tasks = JoinSet::new();
        let i = ingest.clone();
        match listeners {
            Listeners::Syslog => {
                tasks.spawn(async move { i.serve_syslog_udp(udp).await });
                tasks.spawn(async move { ingest.serve_syslog_tcp(tcp).await });
            }
            Listeners::Gelf => {
                tasks.spawn(async move { i.serve_gelf_udp(udp).await });
                tasks.spawn(async move { ingest.serve_gelf_tcp(tcp).await });
            }
        }
        LogServer {
            store,
            registry,
            udp: udp_addr,
            tcp: tcp_addr,
            shutdown,
            tasks,
        }
    }

    /// A counter's value (0 if never counted).
    pub fn counter(&self, name: &'static str, labels: &[(&str, &str)]) -> u64 {
        self.registry.counter(name, "", labels).get()
    }

    /// Sends each datagram from one client socket, in order.
    pub async fn send_udp<D: AsRef<[u8]>>(&self, datagrams: &[D]) {
        let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        for d in datagrams {
            client.send_to(d.as_ref(), self.udp).await.unwrap();
        }
    }

    /// Requests shutdown and waits for both listeners to return.
    pub async fn stop(mut self) {
        self.shutdown.send(true).unwrap();
        let all = async {
            while let Some(r) = self.tasks.join_next().await {
                r.unwrap();
            }
        };
        tokio::time::timeout(DEADLINE, all)
            .await
            .expect("listeners return after shutdown");
    }
}
