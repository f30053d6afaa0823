//! Graphite plaintext over UDP.

use lookout_ingest::Config;
use tokio::net::UdpSocket;

use super::harness::Server;

const INVALID: &str = "lookout_ingest_records_invalid_total";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_lines_per_datagram_are_stored() {
    let server = Server::start(Config::default()).await;
    let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let mut lines = String::new();
    for i in 0..200 {
        lines.push_str(&format!("udp.{i} {i} 1700000000\n"));
    }
    client.send_to(lines.as_bytes(), server.udp).await.unwrap();
    server.recorder.wait_points(200).await;
    assert_eq!(
        server.counter(
            "lookout_ingest_points_received_total",
            &[("proto", "graphite_udp")]
        ),
        200
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn datagrams_are_parsed_on_their_own() {
    let server = Server::start(Config::default()).await;
    let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    // A line is never continued by the next datagram: both halves are refused.
    client
        .send_to(b"first 1 100\nhalf.a 2", server.udp)
        .await
        .unwrap();
    client
        .send_to(b" 100\nsecond 1 100", server.udp)
        .await
        .unwrap();
    server.recorder.wait_points(2).await;
    assert_eq!(server.recorder.names(), ["first", "second"]);
    assert_eq!(
        server.counter(INVALID, &[("proto", "graphite_udp"), ("reason", "fields")]),
        2
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_datagram_keeps_its_complete_lines() {
    let config = Config {
        max_udp_datagram_bytes: 28,
        ..Config::default()
    };
    let server = Server::start(config).await;
    let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    // The limit falls inside the third line.
    let datagram = b"one 1 100\ntwo 2 100\nthree 3 100\nfour 4 100\n";
    client.send_to(datagram, server.udp).await.unwrap();
    client.send_to(b"next 5 100\n", server.udp).await.unwrap();
    server.recorder.wait_points(3).await;
    assert_eq!(server.recorder.names(), ["next", "one", "two"]);
    assert_eq!(
        server.counter(
            INVALID,
            &[("proto", "graphite_udp"), ("reason", "datagram_too_large")]
        ),
        1
    );
    server.stop().await;
}
