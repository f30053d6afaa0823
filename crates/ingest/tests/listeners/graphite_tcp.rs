//! Graphite plaintext over TCP.

use lookout_ingest::Config;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::harness::{Server, DEADLINE};

const INVALID: &str = "lookout_ingest_records_invalid_total";
const BY_PEER: &str = "lookout_ingest_rejected_by_peer_total";
const RECEIVED: &str = "lookout_ingest_points_received_total";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_lines_per_write_are_stored() {
    let server = Server::start(Config::default()).await;
    let mut conn = TcpStream::connect(server.tcp).await.unwrap();
    let mut lines = String::new();
    for i in 0..500 {
        lines.push_str(&format!("web{i:03}.cpu.user {i}.5 1700000000\n"));
    }
    conn.write_all(lines.as_bytes()).await.unwrap();
    server.recorder.wait_points(500).await;
    let points = server.recorder.points();
    assert_eq!(points.len(), 500);
    let p = points.iter().find(|p| p.name == "web007.cpu.user").unwrap();
    assert_eq!((p.ts, p.value), (1_700_000_000, 7.5));
    assert_eq!(server.counter(RECEIVED, &[("proto", "graphite_tcp")]), 500);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_line_split_across_writes_is_joined() {
    let server = Server::start(Config::default()).await;
    let mut conn = TcpStream::connect(server.tcp).await.unwrap();
    conn.write_all(b"first 1 100\nsplit.me 4 1").await.unwrap();
    // Once `first` is stored, the server has read the partial `split.me` line too.
    server.recorder.wait_points(1).await;
    conn.write_all(b"00\nlast 2 100\n").await.unwrap();
    server.recorder.wait_points(3).await;
    let points = server.recorder.points();
    let split = points.iter().find(|p| p.name == "split.me").unwrap();
    assert_eq!((split.ts, split.value), (100, 4.0));
    assert_eq!(server.recorder.names(), ["first", "last", "split.me"]);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_bad_line_in_a_thousand_costs_only_itself() {
    let server = Server::start(Config::default()).await;
    let mut conn = TcpStream::connect(server.tcp).await.unwrap();
    let mut lines = String::new();
    for i in 0..1000 {
        if i == 500 {
            lines.push_str("missing.value 1700000000\n");
        } else {
            lines.push_str(&format!("m.{i} {i} 1700000000\n"));
        }
    }
    conn.write_all(lines.as_bytes()).await.unwrap();
    server.recorder.wait_points(999).await;
    assert_eq!(
        server.counter(INVALID, &[("proto", "graphite_tcp"), ("reason", "fields")]),
        1
    );
    assert_eq!(
        server.counter(BY_PEER, &[("proto", "graphite_tcp"), ("peer", "127.0.0.1")]),
        1
    );
    let recorder = server.stop().await;
    assert_eq!(recorder.points().len(), 999);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ten_megabyte_line_is_skipped_and_the_connection_kept() {
    let server = Server::start(Config::default()).await;
    let mut conn = TcpStream::connect(server.tcp).await.unwrap();
    conn.write_all(b"before 1 100\n").await.unwrap();
    let huge = vec![b'x'; 10 * 1024 * 1024];
    conn.write_all(&huge).await.unwrap();
    conn.write_all(b" 1 100\nafter.one 2 100\nafter.two 3 100\n")
        .await
        .unwrap();
    server.recorder.wait_points(3).await;
    assert_eq!(
        server.recorder.names(),
        ["after.one", "after.two", "before"]
    );
    assert_eq!(
        server.counter(
            INVALID,
            &[("proto", "graphite_tcp"), ("reason", "line_too_long")]
        ),
        1
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_complete_line_over_the_limit_is_refused() {
    let config = Config {
        max_line_bytes: 32,
        ..Config::default()
    };
    let server = Server::start(config).await;
    let mut conn = TcpStream::connect(server.tcp).await.unwrap();
    let long = format!("{} 1 100\nshort 1 100\n", "a".repeat(40));
    conn.write_all(long.as_bytes()).await.unwrap();
    server.recorder.wait_points(1).await;
    assert_eq!(server.recorder.names(), ["short"]);
    assert_eq!(
        server.counter(
            INVALID,
            &[("proto", "graphite_tcp"), ("reason", "line_too_long")]
        ),
        1
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_line_without_newline_is_stored_at_close() {
    let server = Server::start(Config::default()).await;
    let mut conn = TcpStream::connect(server.tcp).await.unwrap();
    conn.write_all(b"a 1 100\nno.newline 2 100").await.unwrap();
    conn.shutdown().await.unwrap();
    server.recorder.wait_points(2).await;
    assert_eq!(server.recorder.names(), ["a", "no.newline"]);
    tokio::time::timeout(DEADLINE, server.stop()).await.unwrap();
}
