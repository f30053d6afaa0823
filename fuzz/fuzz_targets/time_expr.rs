//! `from`/`until` values (`lookout_query::parse_time`): RFC 3339, `HH:MM_YYYYMMDD`,
//! `now-3d`, `-1h`, `midnight`, `teatime+2days`, unix seconds... Invariant: an accepted time
//! lies within Python datetime's years 1-9999, as graphite-web's does.
#![no_main]
use libfuzzer_sys::fuzz_target;
use lookout_fuzz::NOW_SECS;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(t) = lookout_query::parse_time(text, NOW_SECS) {
            assert!(
                (-62_135_596_800..=253_402_300_799).contains(&t),
                "{text:?} -> {t}"
            );
        }
    }
});
