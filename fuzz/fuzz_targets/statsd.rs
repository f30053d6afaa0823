//! StatsD lines (`lookout_proto::statsd`). Invariants: errors name real lines, names are not
//! empty, timers are never negative, sample rates are positive and finite.
#![no_main]
use libfuzzer_sys::fuzz_target;
use lookout_proto::statsd::{self, SampleValue};

fuzz_target!(|data: &[u8]| {
    let (mut samples, mut errors) = (Vec::new(), Vec::new());
    statsd::parse(data, 1024, &mut samples, &mut errors);
    let lines = data.split(|b| *b == b'\n').count();
    for e in &errors {
        assert!(e.line >= 1 && e.line <= lines);
    }
    for s in &samples {
        assert!(!s.name.is_empty());
        match s.value {
            SampleValue::Counter { rate, .. } => {
                assert!(rate > 0.0 && rate.is_finite(), "rate {rate}")
            }
            SampleValue::Timer { value, rate } => {
                assert!(value >= 0.0, "timer {value}");
                assert!(rate > 0.0 && rate.is_finite(), "rate {rate}");
            }
            _ => {}
        }
    }
});
