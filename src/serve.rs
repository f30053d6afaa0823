//! `lookout serve`: opens the store, binds every listener, starts ingestion, HTTP and the
//! background timers, and holds the shutdown order in one place:
//! HTTP and listeners stop first (each finishes the batch it is on), then the timers, then the
//! store flushes its head and syncs its log last.
//!
//! It also owns the data directory's top-level files: `ready.json` (bound addresses, for
//! scripts and tests; removed at start and on clean exit) and `UNCLEAN` (present while running;
//! found at start it means the last run did not stop cleanly, and the store's recovery is
//! logged).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use lookout_core::selfmon::Registry;
use lookout_core::MetricAppender;
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::{debug, error, info, warn};

use crate::cli::ServeArgs;
use crate::config::Config;

/// File holding the bound addresses once every listener is up.
pub const READY_FILE: &str = "ready.json";
/// Marker present while the server runs.
pub const UNCLEAN_FILE: &str = "UNCLEAN";
/// Subdirectory of the metrics engine.
pub const METRICS_DIR: &str = "metrics";
/// Subdirectory of the log engine.
pub const LOGS_DIR: &str = "logs";
/// How often the engine's background work (head flush, compaction, rollups, retention) runs.
/// Five seconds keeps flushes small and frequent without measurable load when idle.
const MAINTAIN_EVERY: Duration = Duration::from_secs(5);
/// How often free heap pages go back to the OS: often enough that a flushed head's memory
/// leaves the resident set within a minute, rarely enough that the walk costs nothing.
const RELEASE_MEMORY_EVERY: Duration = Duration::from_secs(60);
/// How long shutdown waits for listeners and HTTP to finish before closing the store anyway.
/// Listeners finish one batch each, which takes milliseconds; 30 s covers a stalled disk.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Entry point of `lookout serve`.
pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    let config = Config::load(&args)?;
    init_tracing();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("lookout")
        .build()
        .context("starting the async runtime")?;
    rt.block_on(serve(config))
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("LOOKOUT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

/// Addresses actually bound, for the ready lines and `ready.json`.
#[derive(serde::Serialize)]
struct Bound {
    http: SocketAddr,
    #[serde(skip_serializing_if = "Option::is_none")]
    graphite_tcp: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    graphite_udp: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pickle: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    syslog_tcp: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    syslog_udp: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gelf_tcp: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gelf_udp: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    statsd_tcp: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    statsd_udp: Option<SocketAddr>,
}

async fn serve(config: Config) -> anyhow::Result<()> {
    match lookout_disk::raise_open_files_limit() {
        Ok((_, after)) if after < 4096 => warn!(
            "the open-files limit is {after}, the hard limit: a data directory with long retentions \
             keeps more block files open; raise the hard limit (LimitNOFILE= in a systemd unit, \
             ulimit -Hn)"
        ),
        Ok(_) => {}
        Err(e) => warn!("could not raise the open-files limit: {e}"),
    }
    let data_dir = config.data_dir.clone();
    crate::datadir::check_or_init(&data_dir)?;
    let ready_path = data_dir.join(READY_FILE);
    let _ = std::fs::remove_file(&ready_path);
    let unclean_path = data_dir.join(UNCLEAN_FILE);
    if unclean_path.exists() {
        warn!(
            "the previous run did not stop cleanly ({} exists): recovering from the write-ahead log",
            unclean_path.display()
        );
    }

    let registry = Arc::new(Registry::new());
    let tsdb_config = config.tsdb_config()?;
    let metrics_dir = data_dir.join(METRICS_DIR);
    let reg = registry.clone();
    let tsdb = tokio::task::spawn_blocking(move || {
        lookout_tsdb::Tsdb::open(&metrics_dir, tsdb_config, &reg, lookout_ingest::now_unix())
            .with_context(|| format!("opening metrics store at {}", metrics_dir.display()))
    })
    .await
    .context("metrics store open task")??;
    log_open_report(tsdb.open_report());
    let tsdb = Arc::new(tsdb);
    let logs_dir = data_dir.join(LOGS_DIR);
    let (reg, logs_config) = (registry.clone(), config.logs_config());
    let logs = tokio::task::spawn_blocking(move || {
        lookout_logs::LogStore::open(&logs_dir, logs_config, &reg, lookout_ingest::now_unix())
            .with_context(|| format!("opening log store at {}", logs_dir.display()))
    })
    .await
    .context("log store open task")??;
    log_logs_open_report(logs.open_report());
    let logs = Arc::new(logs);
    write_marker(&unclean_path)?;

    // Bind everything before announcing anything, so "ready" means every port accepts.
    let http_listener = TcpListener::bind(config.http)
        .await
        .with_context(|| format!("binding HTTP on {}", config.http))?;
    let graphite = match config.graphite {
        Some(addr) => Some(bind_tcp_and_udp(addr, "Graphite").await?),
        None => None,
    };
    let pickle = match config.pickle {
        Some(addr) => Some(
            TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding pickle on {addr}"))?,
        ),
        None => None,
    };
    let syslog = match config.syslog {
        Some(addr) => Some(bind_tcp_and_udp(addr, "syslog").await?),
        None => None,
    };
    let gelf = match config.gelf {
        Some(addr) => Some(bind_tcp_and_udp(addr, "GELF").await?),
        None => None,
    };
    let statsd = match config.statsd {
        Some(addr) => Some(bind_tcp_and_udp(addr, "StatsD").await?),
        None => None,
    };
    let bound = Bound {
        http: http_listener.local_addr()?,
        graphite_tcp: graphite.as_ref().map(|(t, _)| t.local_addr()).transpose()?,
        graphite_udp: graphite.as_ref().map(|(_, u)| u.local_addr()).transpose()?,
        pickle: pickle.as_ref().map(|p| p.local_addr()).transpose()?,
        syslog_tcp: syslog.as_ref().map(|(t, _)| t.local_addr()).transpose()?,
        syslog_udp: syslog.as_ref().map(|(_, u)| u.local_addr()).transpose()?,
        gelf_tcp: gelf.as_ref().map(|(t, _)| t.local_addr()).transpose()?,
        gelf_udp: gelf.as_ref().map(|(_, u)| u.local_addr()).transpose()?,
        statsd_tcp: statsd.as_ref().map(|(t, _)| t.local_addr()).transpose()?,
        statsd_udp: statsd.as_ref().map(|(_, u)| u.local_addr()).transpose()?,
    };

    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let appender: Arc<dyn MetricAppender> = tsdb.clone();
    let listener_bounds = lookout_ingest::Config {
        max_connections: config.max_connections,
        idle_timeout: config.idle_timeout,
        ..lookout_ingest::Config::default()
    };
    let ingest = Arc::new(lookout_ingest::Ingest::new(
        appender.clone(),
        registry.clone(),
        listener_bounds.clone(),
        shutdown_rx.clone(),
    ));

    let mut tasks = JoinSet::new();
    if let Some((tcp, udp)) = graphite {
        let i = ingest.clone();
        tasks.spawn(async move { i.serve_graphite_tcp(tcp).await });
        let i = ingest.clone();
        tasks.spawn(async move { i.serve_graphite_udp(udp).await });
    }
    if let Some(listener) = pickle {
        let i = ingest.clone();
        tasks.spawn(async move { i.serve_pickle_tcp(listener).await });
    }
    drop(ingest);

    // StatsD aggregates in memory and appends every flush interval; its last interval is
    // flushed below, after the listeners have stopped.
    let statsd_server = statsd.map(|(tcp, udp)| {
        let server = Arc::new(lookout_ingest::Statsd::new(
            appender.clone(),
            registry.clone(),
            listener_bounds.clone(),
            config.statsd_config.clone(),
            shutdown_rx.clone(),
        ));
        let s = server.clone();
        tasks.spawn(async move { s.serve_tcp(tcp).await });
        let s = server.clone();
        tasks.spawn(async move { s.serve_udp(udp).await });
        let s = server.clone();
        tasks.spawn(async move { s.serve_flushes().await });
        server
    });

    // Logs reach the store through the log-derived counters (`logs.<component>.<severity>`),
    // unless they are switched off.
    let log_counts = config.logs_metrics.then(|| {
        Arc::new(
            lookout_ingest::LogCounts::new(
                logs.clone(),
                lookout_ingest::DEFAULT_LOG_COUNT_STEP_SECS,
            )
            .with_registry(&registry),
        )
    });
    let log_appender: Arc<dyn lookout_core::LogAppender> = match &log_counts {
        Some(c) => c.clone(),
        None => logs.clone(),
    };
    let log_policy = Arc::new(config.log_policy(&registry));
    // Events and dashboards are small files read whole at start (see events.rs, dashboards.rs).
    let events =
        Arc::new(crate::events::EventStore::open(&data_dir).context("opening the event store")?);
    let dashboards = Arc::new(
        crate::dashboards::DashboardStore::open(&data_dir).context("opening the dashboards")?,
    );
    let log_ingest = Arc::new(
        lookout_ingest::LogIngest::new(
            log_appender.clone(),
            registry.clone(),
            listener_bounds.clone(),
            shutdown_rx.clone(),
        )
        .with_policy(log_policy.clone()),
    );
    if let Some((tcp, udp)) = syslog {
        let i = log_ingest.clone();
        tasks.spawn(async move { i.serve_syslog_tcp(tcp).await });
        let i = log_ingest.clone();
        tasks.spawn(async move { i.serve_syslog_udp(udp).await });
    }
    if let Some((tcp, udp)) = gelf {
        let i = log_ingest.clone();
        tasks.spawn(async move { i.serve_gelf_tcp(tcp).await });
        let i = log_ingest.clone();
        tasks.spawn(async move { i.serve_gelf_udp(udp).await });
    }
    drop(log_ingest);

    let state = crate::http::AppState::new(
        tsdb.clone(),
        logs.clone(),
        log_appender,
        log_policy,
        registry.clone(),
        &config,
        crate::http::UiStores { events, dashboards },
    );
    let app = crate::http::router(state, config.max_body);
    let (http_registry, http_shutdown) = (registry.clone(), shutdown_rx.clone());
    let max_connections = config.max_connections;
    tasks.spawn(async move {
        crate::http::serve(
            http_listener,
            app,
            max_connections,
            &http_registry,
            http_shutdown,
        )
        .await;
    });

    let timers = spawn_timers(
        &config,
        tsdb.clone(),
        logs.clone(),
        log_counts.clone(),
        registry.clone(),
        shutdown_rx.clone(),
    );

    eprintln!("lookout: http listening on {}", bound.http);
    if let Some(a) = bound.graphite_tcp {
        eprintln!("lookout: graphite-tcp listening on {a}");
    }
    if let Some(a) = bound.graphite_udp {
        eprintln!("lookout: graphite-udp listening on {a}");
    }
    if let Some(a) = bound.pickle {
        eprintln!("lookout: pickle listening on {a}");
    }
    if let Some(a) = bound.syslog_tcp {
        eprintln!("lookout: syslog-tcp listening on {a}");
    }
    if let Some(a) = bound.syslog_udp {
        eprintln!("lookout: syslog-udp listening on {a}");
    }
    if let Some(a) = bound.gelf_tcp {
        eprintln!("lookout: gelf-tcp listening on {a}");
    }
    if let Some(a) = bound.gelf_udp {
        eprintln!("lookout: gelf-udp listening on {a}");
    }
    if let Some(a) = bound.statsd_tcp {
        eprintln!("lookout: statsd-tcp listening on {a}");
    }
    if let Some(a) = bound.statsd_udp {
        eprintln!("lookout: statsd-udp listening on {a}");
    }
    write_ready(&ready_path, &bound)?;
    info!(data_dir = %data_dir.display(), "lookout {} ready", env!("CARGO_PKG_VERSION"));

    wait_for_signal().await;
    info!("shutting down: stopping listeners and HTTP");
    let _ = shutdown_tx.send(true);
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        warn!("listeners did not stop within {SHUTDOWN_GRACE:?}; closing the store anyway");
        tasks.abort_all();
    }
    if let Some(server) = statsd_server {
        info!("flushing the last StatsD interval");
        let now = lookout_ingest::now_unix();
        tokio::task::spawn_blocking(move || server.flush(now))
            .await
            .context("StatsD flush task")?;
    }
    for t in timers {
        let _ = t.await;
    }
    drop(appender);
    // The last interval's log counts, which the stopped timer did not write.
    if let Some(counts) = log_counts {
        let points = counts.drain(lookout_ingest::now_unix());
        let t = tsdb.clone();
        let written = tokio::task::spawn_blocking(move || {
            t.append(&points, lookout_core::Durability::Buffered)
        })
        .await;
        if !matches!(written, Ok(Ok(()))) {
            error!("writing the last log counts as metrics failed");
        }
        drop(counts);
    }

    info!("flushing the log store");
    let now = lookout_ingest::now_unix();
    tokio::task::spawn_blocking(move || match Arc::try_unwrap(logs) {
        Ok(logs) => logs.close(now).context("closing log store"),
        Err(shared) => {
            shared.flush(now).context("flushing log store")?;
            shared.sync().context("syncing log store")
        }
    })
    .await
    .context("log store close task")??;

    info!("flushing the metrics store");
    let now = lookout_ingest::now_unix();
    tokio::task::spawn_blocking(move || match Arc::try_unwrap(tsdb) {
        Ok(tsdb) => tsdb.close(now).context("closing metrics store"),
        // A straggling task still holds the store: flush and sync through the shared handle.
        Err(shared) => {
            shared.flush(now).context("flushing metrics store")?;
            shared.sync().context("syncing metrics store")
        }
    })
    .await
    .context("store close task")??;

    let _ = std::fs::remove_file(&ready_path);
    std::fs::remove_file(&unclean_path)
        .with_context(|| format!("removing {}", unclean_path.display()))?;
    info!("stopped cleanly");
    Ok(())
}

/// The periodic jobs: WAL sync (the durability window of unacknowledged points), engine
/// maintenance, and self-metrics. Each stops when shutdown is signalled.
fn spawn_timers(
    config: &Config,
    tsdb: Arc<lookout_tsdb::Tsdb>,
    logs: Arc<lookout_logs::LogStore>,
    log_counts: Option<Arc<lookout_ingest::LogCounts>>,
    registry: Arc<Registry>,
    shutdown: watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut handles = Vec::new();
    // Log counts become metrics at the finest default step, so error rates graph like any series.
    if let Some(log_counts) = log_counts {
        let t = tsdb.clone();
        handles.push(every(
            Duration::from_secs(lookout_ingest::DEFAULT_LOG_COUNT_STEP_SECS as u64),
            shutdown.clone(),
            move || {
                let points = log_counts.drain(lookout_ingest::now_unix());
                if let Err(e) = t.append(&points, lookout_core::Durability::Buffered) {
                    error!("writing log counts as metrics failed: {e}");
                }
            },
        ));
    }
    let l = logs.clone();
    handles.push(every(
        config.wal_sync_interval,
        shutdown.clone(),
        move || {
            if let Err(e) = l.sync() {
                error!("syncing the log write-ahead log failed: {e}");
            }
        },
    ));
    // A busy log head is flushed by this thread as soon as it reaches its budget, so block
    // compression runs beside ingestion instead of in an appender.
    let (l, flusher_stop) = (logs.clone(), shutdown.clone());
    handles.push(tokio::task::spawn_blocking(move || {
        while !*flusher_stop.borrow() {
            if l.wait_for_flush_work(Duration::from_millis(500)) {
                if let Err(e) = l.flush_if_full() {
                    error!("flushing the log head failed: {e}");
                }
            }
        }
    }));
    handles.push(every(MAINTAIN_EVERY, shutdown.clone(), move || match logs
        .maintain(lookout_ingest::now_unix())
    {
        Ok(report) => {
            for damage in &report.corrupt {
                error!("log store: damaged block section skipped, the rest is served: {damage}");
            }
            if report.dropped_by_age > 0 || report.dropped_by_size > 0 {
                info!(
                    by_age = report.dropped_by_age,
                    by_size = report.dropped_by_size,
                    "log retention dropped blocks"
                );
            }
            if report.merged_blocks > 0 {
                debug!(
                    blocks = report.merged_blocks,
                    "log store merged a closed partition's blocks"
                );
            }
        }
        Err(e) => error!("log store maintenance failed: {e}"),
    }));
    let t = tsdb.clone();
    handles.push(every(
        config.wal_sync_interval,
        shutdown.clone(),
        move || {
            if let Err(e) = t.sync() {
                error!("syncing the write-ahead log failed: {e}");
            }
        },
    ));
    let t = tsdb.clone();
    handles.push(every(MAINTAIN_EVERY, shutdown.clone(), move || {
        match t.maintain(lookout_ingest::now_unix()) {
            Ok(report) => {
                for damage in &report.corrupt {
                    error!("metrics store: damaged data skipped: {damage}");
                }
                if report.flushed_points > 0 || report.rollups > 0 || report.expired_blocks > 0 {
                    tracing::debug!(?report, "metrics store maintenance");
                }
            }
            Err(e) => error!("metrics store maintenance failed: {e}"),
        }
    }));
    // Heads flushed and merges finished leave their memory in the allocator's free lists;
    // handing it back keeps the resident set near what is in use (src/memory.rs).
    handles.push(every(RELEASE_MEMORY_EVERY, shutdown.clone(), || {
        let (before, started) = (crate::memory::resident_bytes(), std::time::Instant::now());
        crate::memory::release_free_memory();
        debug!(
            before = before.unwrap_or(0),
            after = crate::memory::resident_bytes().unwrap_or(0),
            took_us = started.elapsed().as_micros() as u64,
            "returned free heap pages to the OS"
        );
    }));
    let writer = crate::selfmetrics::SelfMetrics::new(tsdb, registry);
    handles.push(every(config.selfmon_interval, shutdown, move || {
        writer.write(lookout_ingest::now_unix())
    }));
    handles
}

/// Runs `job` on a blocking thread every `period` until shutdown; a slow run delays the next
/// one instead of piling up.
fn every(
    period: Duration,
    mut shutdown: watch::Receiver<bool>,
    job: impl Fn() + Send + Sync + 'static,
) -> tokio::task::JoinHandle<()> {
    let job = Arc::new(job);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = shutdown.wait_for(|stop| *stop) => return,
            }
            let j = job.clone();
            if let Err(e) = tokio::task::spawn_blocking(move || j()).await {
                error!("background job panicked: {e}");
            }
        }
    })
}

/// What opening the store found: a recovery summary, and every damaged file by name.
fn log_open_report(r: &lookout_tsdb::OpenReport) {
    info!(
        series = r.series,
        blocks = r.blocks,
        wal_records_replayed = r.wal_records_replayed,
        points_replayed = r.points_replayed,
        "metrics store opened"
    );
    if r.wal_torn_tail_bytes > 0 {
        warn!(
            "cut {} bytes of a write-ahead log record torn by a crash (expected after kill -9 or power loss)",
            r.wal_torn_tail_bytes
        );
    }
    if r.wal_corrupt_records > 0 || r.wal_undecodable_records > 0 {
        error!(
            "write-ahead log damage: {} records failed their checksum, {} could not be decoded; the rest was replayed",
            r.wal_corrupt_records, r.wal_undecodable_records
        );
    }
    for f in &r.corrupt_files {
        error!("metrics store: damaged file moved to quarantine, the rest is served: {f}");
    }
}

/// Binds TCP on `addr` and UDP on the same port, as carbon and syslog daemons do; with port 0
/// UDP takes the port TCP got, so one address serves both. That port's UDP side may already be
/// taken (TCP and UDP ports are separate spaces: any UDP client's ephemeral port can hold it),
/// so with port 0 a few fresh ports are tried before giving up.
async fn bind_tcp_and_udp(
    addr: SocketAddr,
    what: &str,
) -> anyhow::Result<(TcpListener, UdpSocket)> {
    bind_tcp_and_udp_with(addr, what, bind_udp).await
}

/// [`bind_tcp_and_udp`] with the UDP bind passed in, so a test can make it fail.
async fn bind_tcp_and_udp_with(
    addr: SocketAddr,
    what: &str,
    mut bind_udp: impl FnMut(SocketAddr) -> anyhow::Result<UdpSocket>,
) -> anyhow::Result<(TcpListener, UdpSocket)> {
    const ATTEMPTS_ON_PORT_0: usize = 16;
    let attempts = if addr.port() == 0 {
        ATTEMPTS_ON_PORT_0
    } else {
        1
    };
    let mut attempt = 0;
    loop {
        attempt += 1;
        let tcp = TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding {what} TCP on {addr}"))?;
        let udp_addr = tcp.local_addr()?;
        match bind_udp(udp_addr) {
            Ok(udp) => return Ok((tcp, udp)),
            Err(e) if attempt < attempts && is_addr_in_use(&e) => {
                debug!(
                    "{what}: UDP port {} is taken, trying another",
                    udp_addr.port()
                );
            }
            Err(e) => return Err(e.context(format!("binding {what} UDP on {udp_addr}"))),
        }
    }
}

fn is_addr_in_use(e: &anyhow::Error) -> bool {
    e.downcast_ref::<std::io::Error>()
        .is_some_and(|io| io.kind() == std::io::ErrorKind::AddrInUse)
}

/// Receive buffer asked for on every UDP listener. A sender does not wait for a UDP reader:
/// whatever arrives while the reader is descheduled for a moment must fit in the socket's
/// buffer or the kernel drops it. The default (~208 KiB) holds under a thousand StatsD
/// datagrams, a few milliseconds at the rates the StatsD bench sends; the kernel caps the
/// request at `net.core.rmem_max` (4 MiB on Debian), which the README tells how to raise.
const UDP_RECEIVE_BUFFER: usize = 16 << 20;

fn bind_udp(addr: SocketAddr) -> anyhow::Result<UdpSocket> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::DGRAM,
        Some(socket2::Protocol::UDP),
    )?;
    if let Err(e) = socket.set_recv_buffer_size(UDP_RECEIVE_BUFFER) {
        warn!("could not enlarge the UDP receive buffer on {addr}: {e}");
    }
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    Ok(UdpSocket::from_std(socket.into())?)
}

/// What opening the log store found.
fn log_logs_open_report(r: &lookout_logs::OpenReport) {
    info!(
        blocks = r.blocks,
        records_replayed = r.replayed,
        "log store opened"
    );
    if r.wal_torn_bytes > 0 {
        warn!(
            "cut {} bytes of a log write-ahead record torn by a crash (expected after kill -9 or power loss)",
            r.wal_torn_bytes
        );
    }
    for f in &r.quarantined {
        error!(
            "log store: damaged block moved to quarantine, the rest is served: {}",
            f.display()
        );
    }
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => {
                    warn!("cannot listen for SIGTERM ({e}); only SIGINT stops the server");
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

fn write_marker(path: &Path) -> anyhow::Result<()> {
    std::fs::write(path, format!("pid {}\n", std::process::id()))
        .with_context(|| format!("writing {}", path.display()))
}

fn write_ready(path: &Path, bound: &Bound) -> anyhow::Result<()> {
    let body = serde_json::to_vec(bound)?;
    lookout_disk::write_atomic(path, |w| w.write_all(&body))
        .with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn in_use() -> anyhow::Error {
        std::io::Error::from(std::io::ErrorKind::AddrInUse).into()
    }

    /// With port 0, a UDP side already taken makes lookout try other ports; the pair it ends
    /// with shares one port.
    #[tokio::test]
    async fn a_taken_udp_port_is_skipped_on_port_0() {
        let mut calls = 0;
        let (tcp, udp) = bind_tcp_and_udp_with(([127, 0, 0, 1], 0).into(), "test", |a| {
            calls += 1;
            if calls <= 3 {
                Err(in_use())
            } else {
                bind_udp(a)
            }
        })
        .await
        .expect("bound");
        assert_eq!(calls, 4);
        assert_eq!(
            tcp.local_addr().unwrap().port(),
            udp.local_addr().unwrap().port()
        );
    }

    /// A port the user chose is not silently replaced by another.
    #[tokio::test]
    async fn a_taken_udp_port_the_user_chose_is_an_error() {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = probe.local_addr().unwrap();
        drop(probe);
        let mut calls = 0;
        let err = bind_tcp_and_udp_with(addr, "Graphite", |_| {
            calls += 1;
            Err(in_use())
        })
        .await
        .expect_err("refused");
        assert_eq!(calls, 1);
        assert!(
            format!("{err:#}").contains("binding Graphite UDP"),
            "{err:#}"
        );
    }
}
