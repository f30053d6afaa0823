//! Good input over every ingest path, read back exactly through `/render?format=json`:
//! plaintext over TCP (split writes) and UDP (many lines per datagram), carbon pickle, HTTP
//! POST; tagged names, `-1` and `N` timestamps, late and out-of-order points, last write wins
//! per slot. Bad input lives in `bad_input`.

use crate::util::{aligned_ago, now, series_points, Lookout, DATA_DEADLINE};

/// `count` points of one series on the 10 s grid from `base`, with values that are not
/// integers (so a lossy store or printer shows up).
fn points(base: i64, count: i64, seed: f64) -> Vec<(i64, f64)> {
    (0..count)
        .map(|i| (base + i * 10, seed + i as f64 * 0.25))
        .collect()
}

fn plaintext(name: &str, pts: &[(i64, f64)]) -> String {
    pts.iter()
        .map(|(t, v)| format!("{name} {v} {t}\n"))
        .collect()
}

#[test]
fn plaintext_tcp_lines_split_across_writes_are_all_stored() {
    let l = Lookout::start();
    let base = aligned_ago(3 * 3600);
    let series = [
        ("tcp.web01.cpu", points(base, 120, 1.5)),
        ("tcp.web02.cpu", points(base, 120, -7.25)),
        ("tcp.web03.cpu", points(base, 120, 1e6)),
    ];
    let mut text = String::new();
    for i in 0..120 {
        for (name, pts) in &series {
            text.push_str(&plaintext(name, &pts[i..=i]));
        }
    }
    // Odd chunk sizes put line ends, spaces and digits at every possible read boundary.
    let bytes = text.as_bytes();
    let mut chunks: Vec<&[u8]> = Vec::new();
    let mut at = 0;
    for size in [1usize, 2, 3, 7, 13, 37, 101, 4096].iter().cycle() {
        if at >= bytes.len() {
            break;
        }
        let end = (at + size).min(bytes.len());
        chunks.push(&bytes[at..end]);
        at = end;
    }
    l.send_tcp_chunks(&chunks);
    let want: Vec<(&str, Vec<(i64, f64)>)> = series.iter().map(|(n, p)| (*n, p.clone())).collect();
    l.wait_for_series("tcp.*.cpu", base - 10, base + 1200, &want);
}

#[test]
fn plaintext_udp_datagrams_with_many_lines_are_stored() {
    let l = Lookout::start();
    let base = aligned_ago(2 * 3600);
    let a = points(base, 200, 3.0);
    let b = points(base, 200, 100.125);
    let mut lines = Vec::new();
    for i in 0..200 {
        lines.push(format!("udp.a {} {}", a[i].1, a[i].0));
        lines.push(format!("udp.b {} {}", b[i].1, b[i].0));
    }
    // 100 lines per datagram, the last one without a trailing newline.
    for chunk in lines.chunks(100) {
        l.send_udp(chunk.join("\n").as_bytes());
    }
    l.wait_for_series(
        "udp.*",
        base - 10,
        base + 2000,
        &[("udp.a", a.clone()), ("udp.b", b.clone())],
    );
}

#[test]
fn pickle_batches_are_stored() {
    let l = Lookout::start();
    let base = aligned_ago(2 * 3600);
    let names = ["pkl.x.one", "pkl.x.two", "pkl.y.three"];
    let mut batch = Vec::new();
    for i in 0..400i64 {
        let name = names[(i % 3) as usize];
        batch.push((name, (base + i * 10) as f64, i as f64 / 8.0));
    }
    // A fractional timestamp lands in the slot that contains it.
    batch.push(("pkl.frac", (base + 20) as f64 + 0.75, 42.5));
    l.send_pickle(&batch);
    for name in names {
        let want: Vec<(i64, f64)> = batch
            .iter()
            .filter(|(n, _, _)| *n == name)
            .map(|(_, t, v)| (*t as i64, *v))
            .collect();
        l.wait_for_points(name, base - 10, base + 4000, &want);
    }
    l.wait_for_points("pkl.frac", base - 10, base + 100, &[(base + 20, 42.5)]);
}

#[test]
fn pickle_frames_split_and_back_to_back_are_stored() {
    let l = Lookout::start();
    let base = aligned_ago(3600);
    let mut bytes = Vec::new();
    for i in 0..5i64 {
        let p = [("pkl.multi", (base + i * 10) as f64, i as f64 + 0.5)];
        bytes.extend(crate::util::pickle::frame(
            &crate::util::pickle::points_payload(&p),
        ));
    }
    // The length prefix and the payloads are cut at awkward places.
    let chunks: Vec<&[u8]> = vec![&bytes[..2], &bytes[2..9], &bytes[9..60], &bytes[60..]];
    {
        use std::io::Write;
        let mut s = std::net::TcpStream::connect(l.addrs.pickle).expect("connect pickle");
        s.set_nodelay(true).expect("nodelay");
        for c in chunks {
            s.write_all(c).expect("write");
        }
    }
    let want: Vec<(i64, f64)> = (0..5).map(|i| (base + i * 10, i as f64 + 0.5)).collect();
    l.wait_for_points("pkl.multi", base - 10, base + 100, &want);
}

#[test]
fn http_post_is_acknowledged_with_counts_and_readable_at_once() {
    let l = Lookout::start();
    let base = aligned_ago(3600);
    let pts = points(base, 300, 0.5);
    let r = l.post_metrics(&plaintext("http.posted", &pts));
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["accepted"], 300, "{v}");
    assert_eq!(v["rejected"], serde_json::json!([]), "{v}");
    // Acknowledged means durable, and a reader after the acknowledgement sees it.
    let got = l.render_points("http.posted", base - 10, base + 3000);
    assert_eq!(got, vec![("http.posted".to_string(), pts)]);
}

#[test]
fn http_post_reports_rejected_lines_by_number_and_keeps_the_rest() {
    let l = Lookout::start();
    let base = aligned_ago(3600);
    let body = format!(
        "http.mixed 1 {base}\nhttp.mixed notanumber {}\nhttp.mixed 3 {}\n",
        base + 10,
        base + 20
    );
    let r = l.post_metrics(&body);
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["accepted"], 2, "{v}");
    let rejected = v["rejected"].as_array().expect("rejected is a list");
    assert_eq!(rejected.len(), 1, "{v}");
    assert_eq!(rejected[0]["line"], 2, "lines are numbered from 1: {v}");
    assert!(
        rejected[0]["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{v}"
    );
    let got = l.render_points("http.mixed", base - 10, base + 100);
    assert_eq!(
        got,
        vec![(
            "http.mixed".to_string(),
            vec![(base, 1.0), (base + 20, 3.0)]
        )]
    );
}

#[test]
fn tagged_names_are_stored_canonically_and_render_their_tags() {
    let l = Lookout::start();
    let base = aligned_ago(3600);
    l.send_tcp(
        format!(
            "disk.used;rack=a1;dc=sf 5 {base}\ndisk.used;dc=sf;rack=a1 6 {}\n",
            base + 10
        )
        .as_bytes(),
    );
    let canonical = "disk.used;dc=sf;rack=a1";
    // Both spellings are one series.
    l.wait_for_points(
        canonical,
        base - 10,
        base + 100,
        &[(base, 5.0), (base + 10, 6.0)],
    );
    let v = l.render_json(canonical, base - 10, base + 100);
    assert_eq!(v[0]["target"], canonical, "{v}");
    assert_eq!(
        v[0]["tags"],
        serde_json::json!({"name": "disk.used", "dc": "sf", "rack": "a1"}),
        "{v}"
    );
    let index = l.get("/metrics/index.json").json();
    let names: Vec<&str> = index
        .as_array()
        .expect("index.json is a list")
        .iter()
        .filter_map(|n| n.as_str())
        .filter(|n| n.starts_with("disk."))
        .collect();
    assert_eq!(names, vec![canonical], "{index}");
}

#[test]
fn timestamps_minus_one_and_n_mean_arrival_time() {
    let l = Lookout::start();
    let before = now();
    l.send_tcp(b"arrival.minus_one 7 -1\narrival.n 8 N\n");
    for (name, value) in [("arrival.minus_one", 7.0), ("arrival.n", 8.0)] {
        let mut seen = Vec::new();
        crate::util::wait_until(DATA_DEADLINE, &format!("{name} to be stored"), || {
            seen = l.render_points(name, before - 600, now() + 60);
            seen.iter().any(|(_, p)| !p.is_empty())
        });
        let after = now();
        let pts = &seen[0].1;
        assert_eq!(pts.len(), 1, "{name}: {seen:?}");
        let (ts, v) = pts[0];
        assert_eq!(v, value);
        // Stored in the 10 s slot of its arrival.
        assert!(
            ts >= before - 10 && ts <= after,
            "{name} stored at {ts}, sent between {before} and {after}"
        );
    }
}

#[test]
fn late_and_out_of_order_points_are_all_stored() {
    let l = Lookout::start();
    let base = aligned_ago(3600);
    let order = [5i64, 1, 3, 0, 4, 2];
    let text: String = order
        .iter()
        .map(|i| format!("late.a {} {}\n", *i as f64 + 0.5, base + i * 10))
        .collect();
    l.send_tcp(text.as_bytes());
    let want: Vec<(i64, f64)> = (0..6).map(|i| (base + i * 10, i as f64 + 0.5)).collect();
    l.wait_for_points("late.a", base - 7200, base + 100, &want);
    // Two hours older than everything stored, after the newer points are visible (and after a
    // flush has moved them out of the head).
    l.flush();
    let late = base - 7200 + 60;
    l.send_tcp(format!("late.a 99 {late}\n").as_bytes());
    let mut with_late = vec![(late, 99.0)];
    with_late.extend(want);
    l.wait_for_points("late.a", base - 7200, base + 100, &with_late);
}

#[test]
fn last_write_wins_per_slot() {
    let l = Lookout::start();
    let base = aligned_ago(3600);
    // Within one connection, in order: the last of three writes to a slot wins, also when it is
    // off-grid inside the slot.
    l.send_tcp(
        format!(
            "lww.a 1 {base}\nlww.a 2 {base}\nlww.a 3 {}\nlww.b 10 {}\n",
            base + 4,
            base + 10
        )
        .as_bytes(),
    );
    l.wait_for_points("lww.a", base - 10, base + 100, &[(base, 3.0)]);
    // A later connection overwrites again, before and after a flush to blocks.
    l.send_tcp(format!("lww.a 4 {base}\n").as_bytes());
    l.wait_for_points("lww.a", base - 10, base + 100, &[(base, 4.0)]);
    l.flush();
    let r = l.post_metrics(&format!("lww.a 5 {}\n", base + 9));
    assert_eq!(r.status, 200, "{}", r.text());
    l.wait_for_points("lww.a", base - 10, base + 100, &[(base, 5.0)]);
    let v = l.render_json("lww.*", base - 10, base + 100);
    let got = series_points(&v);
    assert_eq!(
        got,
        vec![
            ("lww.a".to_string(), vec![(base, 5.0)]),
            ("lww.b".to_string(), vec![(base + 10, 10.0)])
        ]
    );
}
