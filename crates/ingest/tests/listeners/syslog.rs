//! Syslog over UDP and TCP into the in-memory log store: RFC 5424 and 3164 messages, LF and
//! octet-counting framing, over-long lines, garbage, and the refusal counters.

use lookout_core::Severity;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::harness::{eventually, wait_closed, DEADLINE};
use super::log_harness::{Listeners, LogServer};

const INVALID: &str = "lookout_ingest_records_invalid_total";
const RECEIVED: &str = "lookout_ingest_records_received_total";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_5424_and_3164_messages_are_stored_with_their_metadata() {
    let server = LogServer::start(Listeners::Syslog).await;
    server
        .send_udp::<&[u8]>(&[
            b"<165>1 2023-11-14T22:13:20.5Z web01 webapp.api 8710 ID47 [req@1 id=\"7\"] user logged in",
            b"<11>Nov 14 22:13:20 db02 postgres[4242]: disk almost full\n",
            b"<14>1 - - cron - - - no host given",
        ])
        .await;
    server.store.wait(3).await;

    let r = server.store.find("user logged in");
    assert_eq!(r.component, "webapp.api");
    assert_eq!(r.host, "web01");
    assert_eq!(r.severity, Severity::Notice);
    assert_eq!(r.facility, Some(20));
    assert_eq!(r.ts_ns, 1_700_000_000_500_000_000);
    let fields: Vec<(&str, &str)> = r
        .fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        fields,
        [("procid", "8710"), ("msgid", "ID47"), ("req@1.id", "7")]
    );

    let r = server.store.find("disk almost full");
    assert_eq!(r.component, "postgres");
    assert_eq!(r.host, "db02");
    assert_eq!(r.severity, Severity::Error);
    assert!(r.fields.contains(&("pid".to_string(), "4242".to_string())));

    let r = server.store.find("no host given");
    assert_eq!(
        r.host, "127.0.0.1",
        "the peer's address is the fallback host"
    );
    assert_eq!(r.component, "cron");
    assert_eq!(server.counter(RECEIVED, &[("proto", "syslog_udp")]), 3);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_lf_framing_takes_many_messages_per_write_and_messages_split_across_writes() {
    let server = LogServer::start(Listeners::Syslog).await;
    let mut conn = TcpStream::connect(server.tcp).await.unwrap();
    let mut many = String::new();
    for i in 0..500 {
        many.push_str(&format!("<14>1 - h1 app.lf - - - line {i}\r\n"));
    }
    conn.write_all(many.as_bytes()).await.unwrap();
    conn.write_all(b"<14>1 - h1 app.lf - - - spl")
        .await
        .unwrap();
    conn.flush().await.unwrap();
    server.store.wait(500).await;
    conn.write_all(b"it message\n<14>1 - h1 app.lf - - - unterminated last")
        .await
        .unwrap();
    conn.shutdown().await.unwrap();
    server.store.wait(502).await;

    let all = server.store.all();
    assert_eq!(all.len(), 502);
    assert!(all
        .iter()
        .all(|r| r.component == "app.lf" && r.host == "h1"));
    server.store.find("line 0");
    server.store.find("line 499");
    server.store.find("split message");
    server.store.find("unterminated last");
    assert_eq!(server.counter(RECEIVED, &[("proto", "syslog_tcp")]), 502);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_connections_records_are_stored_in_the_order_sent() {
    // Far more lines than one batch holds, all with one timestamp: batches parse side by side,
    // yet the store must see the lines in the order sent (ties in time sort by arrival).
    let server = LogServer::start(Listeners::Syslog).await;
    let mut conn = TcpStream::connect(server.tcp).await.unwrap();
    let n = 20_000;
    let mut data = String::new();
    for i in 0..n {
        data.push_str(&format!(
            "<14>1 2026-11-22T10:00:00Z h1 app.order - - - line {i}\n"
        ));
    }
    for piece in data.as_bytes().chunks(64 * 1024) {
        conn.write_all(piece).await.unwrap();
    }
    conn.shutdown().await.unwrap();
    server.store.wait(n).await;
    let sent: Vec<String> = (0..n).map(|i| format!("line {i}")).collect();
    let stored: Vec<String> = server
        .store
        .all()
        .iter()
        .map(|r| String::from_utf8_lossy(&r.message).into_owned())
        .collect();
    assert_eq!(stored.len(), n);
    assert!(stored == sent, "records out of the order sent");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_octet_counting_frames_are_stored() {
    let server = LogServer::start(Listeners::Syslog).await;
    let mut conn = TcpStream::connect(server.tcp).await.unwrap();
    let mut frames = Vec::new();
    for i in 0..100 {
        // A newline inside an octet-counted message belongs to the message.
        let msg = format!("<13>1 - h2 app.oct - - - frame {i}\nsecond line");
        frames.extend_from_slice(format!("{} {msg}", msg.len()).as_bytes());
    }
    let (head, tail) = frames.split_at(frames.len() / 2 + 3);
    conn.write_all(head).await.unwrap();
    conn.flush().await.unwrap();
    conn.write_all(tail).await.unwrap();
    server.store.wait(100).await;
    let r = server.store.find("frame 99\nsecond line");
    assert_eq!(r.component, "app.oct");
    assert_eq!(r.severity, Severity::Notice);
    assert_eq!(
        server.counter(INVALID, &[("proto", "syslog_tcp"), ("reason", "truncated")]),
        0
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_10mb_line_is_cut_and_counted_and_the_next_messages_are_kept() {
    let server = LogServer::start(Listeners::Syslog).await;
    let mut conn = TcpStream::connect(server.tcp).await.unwrap();
    let mut big = b"<11>1 - h3 app.big - - - ".to_vec();
    big.resize(10 * 1024 * 1024, b'x');
    big.push(b'\n');
    conn.write_all(&big).await.unwrap();
    conn.write_all(b"<14>1 - h3 app.big - - - after one\n<14>1 - h3 app.big - - - after two\n")
        .await
        .unwrap();
    server.store.wait(3).await;
    let all = server.store.all();
    assert_eq!(
        all.len(),
        3,
        "the head of the long line, then the two messages"
    );
    let head = all
        .iter()
        .find(|r| r.severity == Severity::Error)
        .expect("the cut head is stored");
    assert!(head
        .fields
        .contains(&("truncated".to_string(), "true".to_string())));
    assert!(head.message.len() <= lookout_core::limits::MAX_SYSLOG_MESSAGE_BYTES);
    server.store.find("after one");
    server.store.find("after two");
    assert_eq!(
        server.counter(
            INVALID,
            &[("proto", "syslog_tcp"), ("reason", "message_too_long")]
        ),
        1
    );
    server.stop().await;
}

/// Deterministic noise: every byte value, newlines included, from a small LCG.
fn garbage(len: usize, mut seed: u32) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (seed >> 24) as u8
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_garbage_is_refused_and_a_new_connection_is_served() {
    let server = LogServer::start(Listeners::Syslog).await;
    // LF framing (first byte not a digit): every garbage line is refused on its own.
    let mut conn = TcpStream::connect(server.tcp).await.unwrap();
    let mut noise = vec![0xff];
    noise.extend(garbage(256 * 1024, 7));
    conn.write_all(&noise).await.unwrap();
    conn.shutdown().await.unwrap();
    wait_closed(&mut conn).await;
    // Octet-counting (first byte a digit) with a broken length: the connection is closed.
    let mut conn = TcpStream::connect(server.tcp).await.unwrap();
    let mut noise = b"9x".to_vec();
    noise.extend(garbage(4096, 11));
    conn.write_all(&noise).await.unwrap();
    wait_closed(&mut conn).await;

    let mut conn = TcpStream::connect(server.tcp).await.unwrap();
    conn.write_all(b"<14>1 - h4 app.ok - - - still here\n")
        .await
        .unwrap();
    let stored = || {
        server
            .store
            .all()
            .iter()
            .any(|r| r.message == b"still here")
    };
    eventually("the good message is stored", stored).await;
    assert_eq!(server.store.find("still here").component, "app.ok");
    assert!(server.counter(INVALID, &[("proto", "syslog_tcp"), ("reason", "pri")]) > 0);
    assert_eq!(
        server.counter(
            INVALID,
            &[("proto", "syslog_tcp"), ("reason", "frame_length")]
        ),
        1
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_messages_are_counted_by_reason_and_peer() {
    let server = LogServer::start(Listeners::Syslog).await;
    server
        .send_udp::<&[u8]>(&[
            b"<999>1 - h app - - - bad pri",
            b"no pri at all",
            b"<13>1 yesterday h app - - - bad time",
            b"<13>1 - h app - - [unclosed bad sd",
            b"   \n",
            b"<13>1 - h5 app.good - - - good",
        ])
        .await;
    server.store.wait(1).await;
    let udp = ("proto", "syslog_udp");
    for (reason, n) in [
        ("pri", 2),
        ("timestamp", 1),
        ("structured_data", 1),
        ("empty", 1),
    ] {
        assert_eq!(
            server.counter(INVALID, &[udp, ("reason", reason)]),
            n,
            "{reason}"
        );
    }
    assert_eq!(
        server.counter(
            "lookout_ingest_rejected_by_peer_total",
            &[udp, ("peer", "127.0.0.1")]
        ),
        5
    );
    assert_eq!(server.counter(RECEIVED, &[udp]), 1);
    assert_eq!(server.store.all().len(), 1);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_connections_are_counted_under_the_syslog_listener() {
    let server = LogServer::start(Listeners::Syslog).await;
    let conn = TcpStream::connect(server.tcp).await.unwrap();
    let gauge = || {
        server
            .registry
            .gauge(
                "lookout_ingest_connections_open",
                "",
                &[("listener", "syslog_tcp")],
            )
            .get()
    };
    eventually("the connection is open", || gauge() == 1).await;
    drop(conn);
    eventually("the connection is closed", || gauge() == 0).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_waits_for_the_batch_in_flight_to_be_stored() {
    let server = LogServer::start(Listeners::Syslog).await;
    let (entered, release) = server.store.close_gate();
    let mut conn = TcpStream::connect(server.tcp).await.unwrap();
    let mut idle = TcpStream::connect(server.tcp).await.unwrap();
    conn.write_all(b"<14>1 - h6 app.stop - - - in flight\n")
        .await
        .unwrap();
    tokio::time::timeout(DEADLINE, entered)
        .await
        .expect("the batch reaches the appender")
        .unwrap();
    let store = server.store.clone();
    let mut stopping = tokio::spawn(server.stop());
    // The idle connection closing shows that shutdown reached the connections; the listener
    // must still be waiting for the blocked batch.
    tokio::select! {
        _ = &mut stopping => panic!("shutdown returned before the batch in flight was stored"),
        () = wait_closed(&mut idle) => {}
    }
    assert!(!stopping.is_finished());
    release.send(()).unwrap();
    tokio::time::timeout(DEADLINE, stopping)
        .await
        .expect("shutdown completes once the batch is stored")
        .unwrap();
    assert_eq!(store.find("in flight").component, "app.stop");
}
