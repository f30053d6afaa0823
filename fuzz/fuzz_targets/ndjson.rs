//! NDJSON log bodies (`lookout_proto::ndjson::parse`, `POST /api/v1/logs`). Invariants: at
//! most one record or error per line, errors name real lines, records have a valid component.
#![no_main]
use libfuzzer_sys::fuzz_target;
use lookout_fuzz::NOW_NS;
use lookout_proto::ndjson;

fuzz_target!(|data: &[u8]| {
    let (records, errors) = ndjson::parse(data, NOW_NS);
    let lines = data.split(|b| *b == b'\n').count();
    assert!(records.len() + errors.len() <= lines);
    for e in &errors {
        assert!(e.line >= 1 && e.line <= lines, "line {} of {lines}", e.line);
    }
    for r in &records {
        assert!(!r.component.is_empty() && !r.component.split('.').any(str::is_empty));
    }
});
