//! The WAL payload: one appended batch of log records with the sequence number of its first
//! record (the rest follow consecutively). Format in `docs/format/logs-wal.md`. Writing and
//! syncing the WAL is the store's job; this file only turns batches into bytes and back.

use lookout_core::{LogRecord, Severity};

use crate::codec::{put_bytes, put_ivarint, put_uvarint, Reader};

/// Version byte leading every payload, so a future layout can be told apart.
const BATCH_VERSION: u8 = 1;

/// Facility byte meaning "the input had none".
pub(crate) const NO_FACILITY: u8 = 0xff;

/// Encodes `records`, numbered from `first_seq`.
pub(crate) fn encode_batch(first_seq: u64, records: &[LogRecord]) -> Vec<u8> {
    let size: usize = records
        .iter()
        .map(|r| 24 + r.component.len() + r.host.len() + r.message.len())
        .sum();
    let mut out = Vec::with_capacity(size + 16);
    out.push(BATCH_VERSION);
    put_uvarint(&mut out, first_seq);
    put_uvarint(&mut out, records.len() as u64);
    for r in records {
        put_ivarint(&mut out, r.ts_ns);
        put_bytes(&mut out, r.component.as_bytes());
        put_bytes(&mut out, r.host.as_bytes());
        out.push(r.severity.number());
        out.push(r.facility.unwrap_or(NO_FACILITY));
        put_bytes(&mut out, &r.message);
        put_uvarint(&mut out, r.fields.len() as u64);
        for (k, v) in &r.fields {
            put_bytes(&mut out, k.as_bytes());
            put_bytes(&mut out, v.as_bytes());
        }
    }
    out
}

/// Decodes a payload written by [`encode_batch`]; `None` if it does not decode (the WAL's own
/// CRC passed, so that means a version this build does not know).
pub(crate) fn decode_batch(payload: &[u8]) -> Option<(u64, Vec<LogRecord>)> {
    let mut r = Reader::new(payload);
    if r.byte()? != BATCH_VERSION {
        return None;
    }
    let first_seq = r.uvarint()?;
    let n = r.uvarint()?;
    let mut records = Vec::with_capacity(n.min(1 << 16) as usize);
    for _ in 0..n {
        let ts_ns = r.ivarint()?;
        let component = r.string()?;
        let host = r.string()?;
        let severity = Severity::from_number(r.byte()?)?;
        let facility = match r.byte()? {
            NO_FACILITY => None,
            f => Some(f),
        };
        let message = r.bytes()?.to_vec();
        let nf = r.uvarint()?;
        let mut fields = Vec::with_capacity(nf.min(64) as usize);
        for _ in 0..nf {
            fields.push((r.string()?, r.string()?));
        }
        records.push(LogRecord {
            ts_ns,
            component,
            host,
            severity,
            facility,
            message,
            fields,
        });
    }
    r.is_empty().then_some((first_seq, records))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_round_trip_and_truncation_is_refused() {
        let recs = vec![
            LogRecord {
                ts_ns: -5,
                component: "a.b".into(),
                host: "h1".into(),
                severity: Severity::Error,
                facility: Some(3),
                message: vec![0xff, b'x'],
                fields: vec![("k".into(), "v".into())],
            },
            LogRecord {
                ts_ns: 1_700_000_000_000_000_000,
                component: "c".into(),
                host: String::new(),
                severity: Severity::Debug,
                facility: None,
                message: b"m".to_vec(),
                fields: vec![],
            },
        ];
        let enc = encode_batch(42, &recs);
        assert_eq!(decode_batch(&enc), Some((42, recs)));
        for cut in 0..enc.len() {
            assert_eq!(decode_batch(&enc[..cut]), None, "cut at {cut}");
        }
    }
}
