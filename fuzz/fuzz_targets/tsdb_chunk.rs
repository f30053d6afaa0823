//! The tsdb chunk codec (`lookout_tsdb::codec::decode_chunk`): slot runs, integer sequences,
//! decimal mantissas and Gorilla XOR values, as read from a block. The first two bytes give
//! the partition's slot limit. Invariants: decoded slots are strictly increasing and under the
//! limit, and the decoded points re-encode to a chunk that decodes to the same bits.
#![no_main]
use libfuzzer_sys::fuzz_target;
use lookout_tsdb::codec;

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let limit = u32::from(u16::from_le_bytes([data[0], data[1]])) + 1;
    let (mut slots, mut values) = (Vec::new(), Vec::new());
    let Ok(used) = codec::decode_chunk(&data[2..], limit, &mut slots, &mut values) else {
        return;
    };
    assert!(used <= data.len() - 2);
    assert_eq!(slots.len(), values.len());
    assert!(
        slots.windows(2).all(|w| w[0] < w[1]),
        "slots not increasing"
    );
    assert!(slots.iter().all(|s| *s < limit));
    if slots.is_empty() {
        return;
    }
    let mut encoded = Vec::new();
    codec::encode_chunk(&slots, &values, &mut encoded);
    let (mut slots2, mut values2) = (Vec::new(), Vec::new());
    let used2 = codec::decode_chunk(&encoded, limit, &mut slots2, &mut values2).unwrap();
    assert_eq!(used2, encoded.len());
    assert_eq!(slots, slots2);
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&values), bits(&values2));
});
