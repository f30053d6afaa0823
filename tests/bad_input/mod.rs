//! Bad and hostile input against the running server: malformed plaintext lines, a 10 MB line,
//! pickles that are not lists, truncated, or try to run code, an HTTP body over the limit,
//! thousands of idle connections and a client that sends nothing. Every test checks three
//! things: the good records around the bad ones are stored, the bad ones are counted in
//! `/metrics`, and the server still answers.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::util::{aligned_ago, pickle, wait_until, Lookout, DATA_DEADLINE};

const INVALID: &str = "lookout_ingest_records_invalid_total";

#[test]
fn malformed_plaintext_lines_are_counted_and_good_lines_kept() {
    let l = Lookout::start();
    let base = aligned_ago(3600);
    let t = |i: i64| base + i * 10;
    // Each of these is invalid whatever the parser's details.
    let bad: Vec<Vec<u8>> = vec![
        b"only.two 1".to_vec(),
        b"just.a.name".to_vec(),
        format!("four fields 1 {}", t(1)).into_bytes(),
        format!("name with spaces 1 {}", t(1)).into_bytes(),
        format!("bad.value abc {}", t(1)).into_bytes(),
        b"bad.timestamp 1 yesterday".to_vec(),
        format!("empty..node 1 {}", t(1)).into_bytes(),
        format!(".leading.dot 1 {}", t(1)).into_bytes(),
        format!("trailing.dot. 1 {}", t(1)).into_bytes(),
        [
            b"non.utf8.\xff\xfe".as_slice(),
            format!(" 1 {}", t(1)).as_bytes(),
        ]
        .concat(),
        format!("bad.tag;=x 1 {}", t(1)).into_bytes(),
    ];
    let mut input = Vec::new();
    let mut good = Vec::new();
    for (i, b) in bad.iter().enumerate() {
        let i = i as i64;
        input.extend_from_slice(format!("mal.good {} {}\n", i as f64 + 0.5, t(i)).as_bytes());
        good.push((t(i), i as f64 + 0.5));
        input.extend_from_slice(b);
        input.push(b'\n');
    }
    // NaN is dropped (carbon drops it silently); it must never reach storage.
    input.extend_from_slice(format!("mal.nan nan {}\nmal.nan NaN {}\n", t(2), t(3)).as_bytes());
    let last = bad.len() as i64;
    input.extend_from_slice(format!("mal.good 99 {}\n", t(last)).as_bytes());
    good.push((t(last), 99.0));
    l.send_tcp(&input);
    l.wait_for_points("mal.good", base - 10, base + 1000, &good);
    wait_until(DATA_DEADLINE, "invalid lines to be counted", || {
        l.metric_sum(INVALID, &[("proto", "graphite_tcp")]) >= bad.len() as f64
    });
    // ... and charged to the sender, so a broken client can be found.
    wait_until(
        DATA_DEADLINE,
        "invalid lines to be counted per peer",
        || {
            l.metric_sum(
                "lookout_ingest_rejected_by_peer_total",
                &[("proto", "graphite_tcp")],
            ) >= bad.len() as f64
        },
    );
    let index = l.get("/metrics/index.json").json();
    let names: Vec<&str> = index
        .as_array()
        .expect("index.json is a list")
        .iter()
        .filter_map(|n| n.as_str())
        .filter(|n| !n.starts_with("lookout."))
        .collect();
    assert_eq!(names, vec!["mal.good"], "only the good series is stored");
    assert!(l.healthy());
}

#[test]
fn malformed_udp_lines_are_counted_and_good_lines_kept() {
    let l = Lookout::start();
    let base = aligned_ago(3600);
    l.send_udp(
        format!(
            "udpbad.a 1 {base}\nudpbad.a\nudpbad..a 2 {base}\nudpbad.a x {base}\nudpbad.a 2 {}\n",
            base + 10
        )
        .as_bytes(),
    );
    l.wait_for_points(
        "udpbad.a",
        base - 10,
        base + 100,
        &[(base, 1.0), (base + 10, 2.0)],
    );
    wait_until(DATA_DEADLINE, "invalid UDP lines to be counted", || {
        l.metric_sum(INVALID, &[("proto", "graphite_udp")]) >= 3.0
    });
}

#[test]
fn ten_megabyte_line_is_counted_and_the_lines_after_it_kept() {
    let l = Lookout::start();
    let base = aligned_ago(3600);
    let huge = vec![b'x'; 10 * 1024 * 1024];
    let before = format!("huge.before 1 {base}\n");
    let after = format!("\nhuge.after 2 {base}\nhuge.after 3 {}\n", base + 10);
    // In pieces, like a real sender: the server must drop the line without buffering it all,
    // and must keep the connection (the write would fail if it closed it).
    let mut chunks: Vec<&[u8]> = vec![before.as_bytes(), b"huge.line "];
    chunks.extend(huge.chunks(64 * 1024));
    chunks.push(after.as_bytes());
    l.send_tcp_chunks(&chunks);
    l.wait_for_points("huge.before", base - 10, base + 100, &[(base, 1.0)]);
    l.wait_for_points(
        "huge.after",
        base - 10,
        base + 100,
        &[(base, 2.0), (base + 10, 3.0)],
    );
    wait_until(DATA_DEADLINE, "the huge line to be counted", || {
        l.metric_sum(INVALID, &[("proto", "graphite_tcp")]) >= 1.0
    });
    assert!(l.healthy());
}

#[test]
fn pickle_that_is_not_a_list_is_counted_and_ignored() {
    let l = Lookout::start();
    let base = aligned_ago(3600);
    l.send_pickle_raw(&pickle::frame(&pickle::dict_payload()));
    // A well-formed pickle of a bare number, and a list of wrongly shaped items.
    l.send_pickle_raw(&pickle::frame(b"\x80\x02K\x05."));
    l.send_pickle_raw(&pickle::frame(b"\x80\x02]q\x00(K\x01K\x02e."));
    wait_until(DATA_DEADLINE, "bad pickles to be counted", || {
        l.metric_sum(INVALID, &[("proto", "pickle")]) >= 3.0
    });
    l.send_pickle(&[("pkl.after", base as f64, 1.0)]);
    l.wait_for_points("pkl.after", base - 10, base + 100, &[(base, 1.0)]);
    assert!(!l.get("/metrics/index.json").text().contains("a.b"));
}

#[test]
fn truncated_pickles_are_counted_and_the_server_survives() {
    let l = Lookout::start();
    let base = aligned_ago(3600);
    let good = pickle::points_payload(&[
        ("trunc.a", base as f64, 1.0),
        ("trunc.a", (base + 10) as f64, 2.0),
    ]);
    // A complete frame whose pickle stops early (no STOP opcode, tuple half written).
    let cut = &good[..good.len() - 12];
    l.send_pickle_raw(&pickle::frame(cut));
    // A length prefix promising more than is ever sent, then the connection closes.
    let mut short = 1000u32.to_be_bytes().to_vec();
    short.extend_from_slice(&good[..20]);
    l.send_pickle_raw(&short);
    // Only half a length prefix.
    l.send_pickle_raw(&[0, 0]);
    wait_until(DATA_DEADLINE, "the truncated pickle to be counted", || {
        l.metric_sum(INVALID, &[("proto", "pickle")]) >= 1.0
    });
    assert!(l.healthy());
    l.send_pickle(&[("trunc.b", base as f64, 3.0)]);
    l.wait_for_points("trunc.b", base - 10, base + 100, &[(base, 3.0)]);
    assert!(
        !l.get("/metrics/index.json").text().contains("trunc.a"),
        "nothing from the truncated pickle is stored"
    );
}

#[test]
fn pickle_that_calls_a_function_is_rejected_and_nothing_runs() {
    let l = Lookout::start();
    let base = aligned_ago(3600);
    let marker0 = l.scratch_dir().join("pwned-protocol0");
    let marker2 = l.scratch_dir().join("pwned-protocol2");
    let cmd0 = format!("touch {}", marker0.display());
    let cmd2 = format!("touch {}", marker2.display());
    l.send_pickle_raw(&pickle::frame(&pickle::os_system_protocol0(&cmd0)));
    l.send_pickle_raw(&pickle::frame(&pickle::os_system_protocol2(&cmd2)));
    wait_until(DATA_DEADLINE, "both hostile pickles to be counted", || {
        l.metric_sum(INVALID, &[("proto", "pickle")]) >= 2.0
    });
    l.send_pickle(&[("evil.after", base as f64, 1.0)]);
    l.wait_for_points("evil.after", base - 10, base + 100, &[(base, 1.0)]);
    assert!(!marker0.exists(), "protocol 0 GLOBAL+REDUCE ran a command");
    assert!(!marker2.exists(), "protocol 2 GLOBAL+REDUCE ran a command");
    assert!(l.healthy());
}

#[test]
fn http_body_over_max_body_gets_413_and_the_server_carries_on() {
    let l = Lookout::start_with(&["--retention", ".*=10s:1d", "--max-body", "64KiB"]);
    let base = aligned_ago(3600);
    // Valid lines, so only the size can be the reason.
    let line = format!("big.body 1 {base}\n");
    let fits = line.repeat(64 * 1024 / line.len());
    let over = line.repeat(64 * 1024 / line.len() + 1);
    assert!(fits.len() <= 64 * 1024 && over.len() > 64 * 1024);
    let r = l.post_metrics(&over);
    assert_eq!(r.status, 413, "{}", r.text());
    assert!(l.healthy());
    assert!(!l.get("/metrics/index.json").text().contains("big.body"));
    let r = l.post_metrics(&fits);
    assert_eq!(r.status, 200, "{}", r.text());
    l.wait_for_points("big.body", base - 10, base + 100, &[(base, 1.0)]);
}

#[test]
fn default_body_limit_is_32_mib() {
    let l = Lookout::start();
    let base = aligned_ago(3600);
    let line = format!("huge.body 1 {base}\n");
    let body = line.repeat(33 * 1024 * 1024 / line.len() + 1);
    let r = l.post_metrics(&body);
    assert_eq!(
        r.status,
        413,
        "{}",
        String::from_utf8_lossy(&r.body[..r.body.len().min(300)])
    );
    assert!(l.healthy());
    let r = l.post_metrics(&format!("small.body 2 {base}\n"));
    assert_eq!(r.status, 200, "{}", r.text());
    l.wait_for_points("small.body", base - 10, base + 100, &[(base, 2.0)]);
    assert!(!l.get("/metrics/index.json").text().contains("huge.body"));
}

#[test]
fn thousands_of_idle_connections_do_not_lock_out_senders() {
    let l = Lookout::start_with(&[
        "--retention",
        ".*=10s:1d",
        "--max-connections",
        "100",
        "--idle-timeout",
        "2s",
    ]);
    let base = aligned_ago(3600);
    let mut idle = Vec::new();
    let mut refused_in_a_row = 0;
    for _ in 0..2000 {
        // Over the cap the server closes at once, or stops accepting and the kernel's queue
        // fills: either way a connection may be refused, which is fine; what matters is what
        // follows. Many refusals in a row mean the queue is full: stop rather than wait out a
        // connect timeout per remaining attempt.
        match TcpStream::connect_timeout(&l.addrs.graphite_tcp, Duration::from_millis(500)) {
            Ok(s) => {
                idle.push(s);
                refused_in_a_row = 0;
            }
            Err(_) => {
                refused_in_a_row += 1;
                if refused_in_a_row == 20 {
                    break;
                }
            }
        }
    }
    assert!(idle.len() > 100, "only {} connections opened", idle.len());
    assert!(
        l.healthy(),
        "HTTP must not share the plaintext listener's cap"
    );
    // A new sender gets through once the server has shed connections over the cap and timed
    // out idle ones; it retries as a real sender would.
    let line = format!("flood.sender 5 {base}\n");
    wait_until(
        Duration::from_secs(60),
        "a new sender's point to be stored",
        || {
            if let Ok(mut s) =
                TcpStream::connect_timeout(&l.addrs.graphite_tcp, Duration::from_secs(2))
            {
                let _ = s.write_all(line.as_bytes());
            }
            l.render_points("flood.sender", base - 10, base + 100)
                .iter()
                .any(|(_, p)| p == &[(base, 5.0)])
        },
    );
    wait_until(DATA_DEADLINE, "rejected connections to be counted", || {
        l.metric_sum("lookout_ingest_connections_rejected_total", &[]) >= 1.0
    });
    drop(idle);
    assert!(l.healthy());
}

#[test]
fn silent_client_is_timed_out_and_does_not_block_others() {
    let l = Lookout::start_with(&["--retention", ".*=10s:1d", "--idle-timeout", "1s"]);
    let base = aligned_ago(3600);
    let mut silent = TcpStream::connect(l.addrs.graphite_tcp).expect("connecting");
    let mut silent_pickle = TcpStream::connect(l.addrs.pickle).expect("connecting");
    l.send_tcp(format!("silent.other 1 {base}\n").as_bytes());
    l.wait_for_points("silent.other", base - 10, base + 100, &[(base, 1.0)]);
    // The server closes both silent connections: a read sees end of stream (or a reset).
    for s in [&mut silent, &mut silent_pickle] {
        s.set_read_timeout(Some(DATA_DEADLINE)).expect("timeout");
        let mut buf = [0u8; 16];
        match s.read(&mut buf) {
            Ok(0) => {}
            Ok(n) => panic!("server sent {n} bytes to a silent client"),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
            Err(e) => panic!("silent connection not closed by the server: {e}"),
        }
    }
    assert!(l.healthy());
}

#[test]
fn http_connections_are_capped_and_slots_come_back() {
    let l = Lookout::start_with(&["--max-connections", "4"]);
    // Hold every slot with idle connections (the harness's own client may hold one too).
    let mut idle = Vec::new();
    for _ in 0..4 {
        let s = TcpStream::connect(l.addrs.http).expect("connecting");
        idle.push(s);
    }
    // Past the cap a connection is accepted and closed at once: reading sees the end.
    let mut extra = TcpStream::connect(l.addrs.http).expect("connecting");
    extra
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let _ = extra.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut reply = Vec::new();
    let read = extra.read_to_end(&mut reply);
    assert!(
        matches!(read, Ok(0)) || read.is_err(),
        "a connection over the cap gets no reply: {:?}",
        String::from_utf8_lossy(&reply)
    );
    // Closing the idle ones gives their slots back.
    drop(idle);
    wait_until(DATA_DEADLINE, "HTTP to answer again", || l.healthy());
    assert!(
        l.metric_sum(
            "lookout_ingest_connections_rejected_total",
            &[("listener", "http")]
        ) >= 1.0
    );
}
