//! Properties over arbitrary input: no parser or framer panics on any bytes, and both encoders
//! round-trip through their parsers.

use lookout_core::limits::MAX_PICKLE_FRAME_BYTES;
use lookout_core::Point;
use lookout_proto::{graphite, pickle};
use proptest::prelude::*;

const NOW: i64 = 1_800_000_000;

/// Valid names: dotted nodes, sometimes tagged (tags already in canonical order).
fn name() -> impl Strategy<Value = String> {
    (
        proptest::collection::vec("[a-zA-Z0-9_-]{1,8}", 1..5),
        proptest::collection::btree_map("[a-z]{1,4}", "[a-z0-9]{1,4}", 0..3),
    )
        .prop_map(|(nodes, tags)| {
            let mut n = nodes.join(".");
            for (k, v) in tags {
                n.push_str(&format!(";{k}={v}"));
            }
            n
        })
}

fn point() -> impl Strategy<Value = Point> {
    let value = prop_oneof![
        any::<f64>().prop_filter("not NaN", |v| !v.is_nan()),
        (-1_000_000i64..1_000_000).prop_map(|v| v as f64 / 100.0),
    ];
    let ts = prop_oneof![
        1_000_000_000i64..2_000_000_000,
        // Carbon reads timestamps through float(), so only integers below 2^53 survive exactly.
        (-(1i64 << 53)..(1i64 << 53)).prop_filter("not -1", |t| *t != -1),
    ];
    (name(), ts, value).prop_map(|(name, ts, value)| Point { name, ts, value })
}

fn same(a: &[Point], b: &[Point]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            x.name == y.name && x.ts == y.ts && x.value.to_bits() == y.value.to_bits()
        })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn plaintext_parse_never_panics(buf in proptest::collection::vec(any::<u8>(), 0..512)) {
        let (mut out, mut errors) = (Vec::new(), Vec::new());
        graphite::parse(&buf, NOW, &mut out, &mut errors);
        prop_assert!(out.iter().all(|p| !p.value.is_nan()));
    }

    #[test]
    fn plaintext_like_lines_never_panic(lines in proptest::collection::vec("[a-z.;=~ \t0-9eE+\\-naif_N]{0,40}", 0..20)) {
        let buf = lines.join("\n");
        let (mut out, mut errors) = (Vec::new(), Vec::new());
        graphite::parse(buf.as_bytes(), NOW, &mut out, &mut errors);
    }

    #[test]
    fn pickle_parse_never_panics(buf in proptest::collection::vec(any::<u8>(), 0..512)) {
        let (mut out, mut errors) = (Vec::new(), Vec::new());
        let _ = pickle::parse_frame(&buf, NOW, &mut out, &mut errors);
        let _ = pickle::next_frame(&buf, MAX_PICKLE_FRAME_BYTES);
    }

    #[test]
    fn mutated_pickles_never_panic(points in proptest::collection::vec(point(), 1..5),
                                   flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4)) {
        let mut frame = Vec::new();
        pickle::encode(&points, &mut frame);
        let payload = &mut frame[4..];
        for (at, byte) in flips {
            let i = at.index(payload.len());
            payload[i] = byte;
        }
        let (mut out, mut errors) = (Vec::new(), Vec::new());
        let _ = pickle::parse_frame(payload, NOW, &mut out, &mut errors);
    }

    #[test]
    fn plaintext_round_trips(points in proptest::collection::vec(point(), 0..20)) {
        let mut buf = Vec::new();
        graphite::encode(&points, &mut buf);
        let (mut out, mut errors) = (Vec::new(), Vec::new());
        graphite::parse(&buf, NOW, &mut out, &mut errors);
        prop_assert!(errors.is_empty(), "{:?}", errors);
        prop_assert!(same(&out, &points), "{:?} vs {:?}", out, points);
    }

    #[test]
    fn pickle_round_trips(points in proptest::collection::vec(point(), 0..20)) {
        let mut frame = Vec::new();
        pickle::encode(&points, &mut frame);
        let (range, used) = pickle::next_frame(&frame, MAX_PICKLE_FRAME_BYTES).unwrap().unwrap();
        prop_assert_eq!(used, frame.len());
        let (mut out, mut errors) = (Vec::new(), Vec::new());
        pickle::parse_frame(&frame[range], NOW, &mut out, &mut errors).unwrap();
        prop_assert!(errors.is_empty(), "{:?}", errors);
        prop_assert!(same(&out, &points));
    }
}
