//! Carbon pickle frames (`lookout_proto::pickle`): the length-prefix framer and the data-only
//! unpickler. Invariant: accepted points, pickled again, unpickle to the same points.
#![no_main]
use libfuzzer_sys::fuzz_target;
use lookout_core::limits::MAX_PICKLE_FRAME_BYTES;
use lookout_fuzz::NOW_SECS;
use lookout_proto::pickle;

fuzz_target!(|data: &[u8]| {
    if let Ok(Some((range, used))) = pickle::next_frame(data, MAX_PICKLE_FRAME_BYTES) {
        assert!(range.end <= used && used <= data.len());
    }
    let (mut points, mut errors) = (Vec::new(), Vec::new());
    if pickle::parse_frame(data, NOW_SECS, &mut points, &mut errors).is_err() {
        assert!(points.is_empty(), "a refused payload added points");
        return;
    }
    // A point stored at -1 (e.g. from `-0.5`, floored) cannot be written back: `-1` on the
    // wire means "now" (carbon#54).
    points.retain(|p| p.ts != -1);
    let mut framed = Vec::new();
    pickle::encode(&points, &mut framed);
    let Ok(Some((range, _))) = pickle::next_frame(&framed, usize::MAX) else {
        panic!("encode wrote no whole frame");
    };
    let (mut again, mut errors2) = (Vec::new(), Vec::new());
    pickle::parse_frame(&framed[range], NOW_SECS, &mut again, &mut errors2)
        .expect("re-encoded frame refused");
    assert!(
        errors2.is_empty(),
        "re-encoded entries refused: {errors2:?}"
    );
    assert_eq!(points.len(), again.len());
    for (a, b) in points.iter().zip(&again) {
        assert_eq!((&a.name, a.ts), (&b.name, b.ts));
        assert_eq!(a.value.to_bits(), b.value.to_bits());
    }
});
