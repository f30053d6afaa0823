//! The connection cap, idle timeouts, and shutdown.

use std::time::Duration;

use lookout_ingest::Config;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::harness::{eventually, wait_closed, Server, DEADLINE};

const OPEN: &str = "lookout_ingest_connections_open";
const REJECTED: &str = "lookout_ingest_connections_rejected_total";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_beyond_the_cap_are_refused_then_time_out() {
    // The idle timeout must outlast opening the 1,900 extra connections (well under a second
    // on loopback); the gauge check below catches a machine too slow for that.
    let config = Config {
        max_connections: 100,
        idle_timeout: Duration::from_secs(3),
        ..Config::default()
    };
    let server = Server::start(config).await;
    let labels = [("listener", "graphite_tcp")];
    let mut held = Vec::new();
    for _ in 0..100 {
        held.push(TcpStream::connect(server.tcp).await.unwrap());
    }
    eventually("100 connections open", || {
        server.gauge(OPEN, &labels) == 100
    })
    .await;
    let mut extra = Vec::new();
    for _ in 0..1900 {
        extra.push(TcpStream::connect(server.tcp).await.unwrap());
    }
    for conn in &mut extra {
        wait_closed(conn).await;
    }
    assert_eq!(server.counter(REJECTED, &labels), 1900);
    assert_eq!(
        server.gauge(OPEN, &labels),
        100,
        "the held connections outlived the test's setup"
    );
    // The held connections send nothing and are closed after the idle timeout.
    for conn in &mut held {
        wait_closed(conn).await;
    }
    eventually("all connections closed", || {
        server.gauge(OPEN, &labels) == 0
    })
    .await;
    let mut conn = TcpStream::connect(server.tcp).await.unwrap();
    conn.write_all(b"after.idle 1 100\n").await.unwrap();
    server.recorder.wait_points(1).await;
    assert_eq!(server.counter(REJECTED, &labels), 1900);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_connection_inside_a_line_is_counted_as_truncated() {
    let config = Config {
        idle_timeout: Duration::from_millis(200),
        ..Config::default()
    };
    let server = Server::start(config).await;
    let mut conn = TcpStream::connect(server.tcp).await.unwrap();
    conn.write_all(b"whole 1 100\nhalf.a.li").await.unwrap();
    wait_closed(&mut conn).await;
    server.recorder.wait_points(1).await;
    eventually("the cut line to be counted", || {
        server.counter(
            "lookout_ingest_records_invalid_total",
            &[("proto", "graphite_tcp"), ("reason", "truncated")],
        ) == 1
    })
    .await;
    assert_eq!(server.recorder.names(), ["whole"]);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_stores_the_batch_in_flight() {
    let server = Server::start(Config::default()).await;
    let (entered, release) = server.recorder.close_gate();
    let mut conn = TcpStream::connect(server.tcp).await.unwrap();
    let mut pickle_conn = TcpStream::connect(server.pickle).await.unwrap();
    conn.write_all(b"in.flight.a 1 100\nin.flight.b 2 100\n")
        .await
        .unwrap();
    tokio::time::timeout(DEADLINE, entered)
        .await
        .expect("the batch reaches the appender")
        .unwrap();
    // The appender is now blocked inside the batch; shutdown must wait for it to finish.
    let recorder = server.recorder.clone();
    let mut stopping = tokio::spawn(server.stop());
    // The idle pickle connection closing shows that shutdown reached the connections; the
    // listeners must still be waiting for the blocked batch.
    tokio::select! {
        _ = &mut stopping => panic!("shutdown returned before the batch in flight was stored"),
        () = wait_closed(&mut pickle_conn) => {}
    }
    assert!(
        !stopping.is_finished(),
        "shutdown returned before the batch in flight was stored"
    );
    release.send(()).unwrap();
    tokio::time::timeout(DEADLINE, stopping)
        .await
        .expect("shutdown completes")
        .unwrap();
    assert_eq!(recorder.names(), ["in.flight.a", "in.flight.b"]);
    wait_closed(&mut conn).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_returns_with_idle_connections_open() {
    let server = Server::start(Config::default()).await;
    let mut conns = Vec::new();
    for _ in 0..10 {
        conns.push(TcpStream::connect(server.tcp).await.unwrap());
        conns.push(TcpStream::connect(server.pickle).await.unwrap());
    }
    eventually("connections open", || {
        server.gauge(OPEN, &[("listener", "graphite_tcp")]) == 10
            && server.gauge(OPEN, &[("listener", "pickle")]) == 10
    })
    .await;
    server.stop().await;
    for conn in &mut conns {
        wait_closed(conn).await;
    }
}
