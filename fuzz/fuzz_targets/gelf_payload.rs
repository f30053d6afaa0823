//! GELF payloads (`lookout_proto::gelf::parse_payload`): plain JSON, gzip or zlib. The
//! input is tried as it is and, to reach the JSON reader behind decompression, compressed by
//! the target with gzip and zlib first. Invariants: a record's message and fields fit in the
//! decompression bound, and compressing a payload does not change how it parses.
#![no_main]
use std::io::Write;

use libfuzzer_sys::fuzz_target;
use lookout_core::limits::MAX_GELF_DECOMPRESSED_BYTES;
use lookout_fuzz::NOW_NS;
use lookout_proto::gelf;

fuzz_target!(|data: &[u8]| {
    let plain = gelf::parse_payload(data, NOW_NS);
    if let Ok(r) = &plain {
        let size = r.message.len()
            + r.fields
                .iter()
                .map(|(k, v)| k.len() + v.len())
                .sum::<usize>();
        assert!(size <= MAX_GELF_DECOMPRESSED_BYTES);
    }
    // Plain JSON starts with '{' or whitespace, never with a compression magic, so the
    // compressed forms must read as the same record.
    if data.first().is_some_and(|b| *b == b'{') {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(data).unwrap();
        let gz = gz.finish().unwrap();
        assert_eq!(gelf::parse_payload(&gz, NOW_NS), plain);
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        z.write_all(data).unwrap();
        let z = z.finish().unwrap();
        assert_eq!(gelf::parse_payload(&z, NOW_NS), plain);
    }
});
