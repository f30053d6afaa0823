//! Graphite plaintext lines (`lookout_proto::graphite`). Invariants: every accepted point
//! re-encodes to a line that parses back to the same point, and errors name real lines.
#![no_main]
use libfuzzer_sys::fuzz_target;
use lookout_fuzz::NOW_SECS;
use lookout_proto::graphite;

fuzz_target!(|data: &[u8]| {
    let (mut points, mut errors) = (Vec::new(), Vec::new());
    graphite::parse(data, NOW_SECS, &mut points, &mut errors);
    let lines = data.split(|b| *b == b'\n').count();
    for e in &errors {
        assert!(
            e.line >= 1 && e.line <= lines,
            "error on line {} of {lines}",
            e.line
        );
        let _ = graphite::line_text(data, e.line);
    }
    // A point stored at -1 (e.g. from `-0.5`, floored) cannot be written back: `-1` on the
    // wire means "now" (carbon#54).
    points.retain(|p| p.ts != -1);
    let mut encoded = Vec::new();
    graphite::encode(&points, &mut encoded);
    let (mut again, mut errors2) = (Vec::new(), Vec::new());
    graphite::parse(&encoded, NOW_SECS, &mut again, &mut errors2);
    assert!(errors2.is_empty(), "re-encoded points refused: {errors2:?}");
    assert_eq!(points.len(), again.len());
    for (a, b) in points.iter().zip(&again) {
        assert_eq!((&a.name, a.ts), (&b.name, b.ts));
        assert_eq!(
            a.value.to_bits(),
            b.value.to_bits(),
            "{} vs {}",
            a.value,
            b.value
        );
    }
    for line in data.split(|b| *b == b'\n') {
        let _ = graphite::parse_line(line, NOW_SECS);
    }
});
