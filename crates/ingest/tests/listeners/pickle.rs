//! Carbon's pickle protocol over TCP.

use lookout_core::Point;
use lookout_ingest::Config;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::harness::{wait_closed, Server};

const INVALID: &str = "lookout_ingest_records_invalid_total";

fn frame_of(payload: &[u8]) -> Vec<u8> {
    let mut frame = (payload.len() as u32).to_be_bytes().to_vec();
    frame.extend_from_slice(payload);
    frame
}

fn points(prefix: &str, n: usize) -> Vec<Point> {
    (0..n)
        .map(|i| Point {
            name: format!("{prefix}.{i}"),
            ts: 1_700_000_000 + i as i64,
            value: i as f64 / 2.0,
        })
        .collect()
}

fn invalid(server: &Server, reason: &str) -> u64 {
    server.counter(INVALID, &[("proto", "pickle"), ("reason", reason)])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frames_are_stored_whole_and_split() {
    let server = Server::start(Config::default()).await;
    let mut conn = TcpStream::connect(server.pickle).await.unwrap();
    let mut bytes = Vec::new();
    lookout_proto::pickle::encode(&points("a", 300), &mut bytes);
    lookout_proto::pickle::encode(&points("b", 200), &mut bytes);
    let mut split = Vec::new();
    lookout_proto::pickle::encode(&points("c", 100), &mut split);
    bytes.extend_from_slice(&split[..split.len() / 2]);
    conn.write_all(&bytes).await.unwrap();
    server.recorder.wait_points(500).await;
    conn.write_all(&split[split.len() / 2..]).await.unwrap();
    server.recorder.wait_points(600).await;
    let stored = server.recorder.points();
    assert!(stored.contains(&points("c", 100)[99]));
    assert!(stored.contains(&points("a", 300)[0]));
    assert_eq!(
        server.counter(
            "lookout_ingest_points_received_total",
            &[("proto", "pickle")]
        ),
        600
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_protocol_0_is_understood() {
    let server = Server::start(Config::default()).await;
    let mut conn = TcpStream::connect(server.pickle).await.unwrap();
    let payload = b"(lp0\n(S'py2.metric'\np1\n(I1700000000\nF1.5\ntp2\ntp3\na.";
    conn.write_all(&frame_of(payload)).await.unwrap();
    server.recorder.wait_points(1).await;
    let p = &server.recorder.points()[0];
    assert_eq!(
        (p.name.as_str(), p.ts, p.value),
        ("py2.metric", 1_700_000_000, 1.5)
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pickle_that_calls_os_system_is_refused_and_the_connection_kept() {
    let server = Server::start(Config::default()).await;
    let mut conn = TcpStream::connect(server.pickle).await.unwrap();
    // pickle.dumps of an object whose __reduce__ returns (os.system, ("echo pwned",)).
    let evil =
        b"\x80\x02]q\x00cposix\nsystem\nq\x01X\n\x00\x00\x00echo pwnedq\x02\x85q\x03Rq\x04a.";
    conn.write_all(&frame_of(evil)).await.unwrap();
    let mut good = Vec::new();
    lookout_proto::pickle::encode(&points("after", 3), &mut good);
    conn.write_all(&good).await.unwrap();
    server.recorder.wait_points(3).await;
    assert_eq!(invalid(&server, "pickle_forbidden"), 1);
    assert_eq!(
        server.counter(
            "lookout_ingest_rejected_by_peer_total",
            &[("proto", "pickle"), ("peer", "127.0.0.1")]
        ),
        1
    );
    let recorder = server.stop().await;
    assert_eq!(recorder.points().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_pickles_are_counted() {
    let server = Server::start(Config::default()).await;
    let mut conn = TcpStream::connect(server.pickle).await.unwrap();
    let mut whole = Vec::new();
    lookout_proto::pickle::encode(&points("t", 5), &mut whole);
    // A frame whose pickle stops early: refused, the stream goes on.
    let cut = &whole[4..whole.len() - 10];
    conn.write_all(&frame_of(cut)).await.unwrap();
    let mut ok = Vec::new();
    lookout_proto::pickle::encode(&points("ok", 2), &mut ok);
    conn.write_all(&ok).await.unwrap();
    server.recorder.wait_points(2).await;
    assert_eq!(invalid(&server, "pickle_malformed"), 1);
    // A connection that closes inside a frame.
    conn.write_all(&whole[..whole.len() - 3]).await.unwrap();
    conn.shutdown().await.unwrap();
    wait_closed(&mut conn).await;
    super::harness::eventually("the cut frame to be counted", || {
        invalid(&server, "truncated") == 1
    })
    .await;
    let recorder = server.stop().await;
    assert_eq!(recorder.names(), ["ok.0", "ok.1"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_frame_closes_the_connection() {
    let server = Server::start(Config::default()).await;
    let mut conn = TcpStream::connect(server.pickle).await.unwrap();
    let mut bytes = Vec::new();
    lookout_proto::pickle::encode(&points("before", 2), &mut bytes);
    bytes.extend_from_slice(&(64u32 * 1024 * 1024).to_be_bytes());
    bytes.extend_from_slice(b"garbage that is never read as a frame");
    conn.write_all(&bytes).await.unwrap();
    wait_closed(&mut conn).await;
    server.recorder.wait_points(2).await;
    assert_eq!(invalid(&server, "frame_too_large"), 1);
    server.stop().await;
}
