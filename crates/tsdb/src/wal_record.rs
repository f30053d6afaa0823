//! The payloads the engine writes into its WAL (framing, CRCs and segments are
//! `lookout-disk`'s). Records are compact because they are written at millions of points per
//! second: a series name is logged once, when the series is created, and each point after that
//! is a delta-coded series id, a delta-coded timestamp and a tagged value (integers and short
//! decimals as varints, anything else as 8 raw bytes), about 5 bytes for typical Graphite
//! points. The layout is specified in `docs/format/tsdb-wal.md`.
//!
//! This module encodes and decodes; what replaying a record does is `engine`'s business.

use lookout_core::Aggregation;

use crate::codec::decimal;
use crate::schema::{aggregation_code, aggregation_from_code, Retention, Schema};
use crate::varint::{self, Reader};

/// A new schema id: what series created with it are stored with.
pub const KIND_SCHEMA: u8 = 1;
/// New series: id, schema id, canonical name.
pub const KIND_SERIES: u8 = 2;
/// Points of existing series.
pub const KIND_POINTS: u8 = 3;
/// Deleted series ids.
pub const KIND_DELETE: u8 = 4;

/// Value tags (low two bits of the value varint).
const TAG_INT: u64 = 0;
const TAG_DECIMAL: u64 = 1;
const TAG_RAW: u64 = 2;

/// Most decimal places the compact value form tries; `%.2f`–`%.4f` senders are covered, and
/// each extra try costs time on the ingest path.
const WAL_MAX_PLACES: u8 = 4;

/// 2^53: integers below it in magnitude are exact in `f64`.
const EXACT_INT: f64 = 9_007_199_254_740_992.0;

/// Why a record could not be decoded.
pub type DecodeError = &'static str;

/// Appends a schema definition record.
pub fn encode_schema_def(id: u32, schema: &Schema, out: &mut Vec<u8>) {
    out.push(KIND_SCHEMA);
    varint::put_u64(out, u64::from(id));
    put_schema(schema, out);
}

/// Appends a schema's fields (shared with the series index file).
pub fn put_schema(schema: &Schema, out: &mut Vec<u8>) {
    out.push(aggregation_code(schema.aggregation));
    out.extend_from_slice(&schema.xff.to_le_bytes());
    varint::put_u64(out, schema.retentions.len() as u64);
    for (r, p) in schema.retentions.iter().zip(&schema.partition_secs) {
        varint::put_i64(out, r.step_secs);
        varint::put_i64(out, r.points);
        varint::put_i64(out, *p);
    }
}

/// Reads a schema written by [`put_schema`], checking it is one `Schema::new` could make.
pub fn read_schema(r: &mut Reader<'_>) -> Result<Schema, DecodeError> {
    let aggregation: Aggregation =
        aggregation_from_code(r.u8().ok_or("truncated schema")?).ok_or("aggregation code")?;
    let xff = f64::from_le_bytes(r.u64_le().ok_or("truncated schema")?.to_le_bytes());
    let n = r.len(3).ok_or("schema level count")?;
    let mut retentions = Vec::with_capacity(n);
    let mut partition_secs = Vec::with_capacity(n);
    for _ in 0..n {
        let step_secs = r.i64().ok_or("truncated schema")?;
        let points = r.i64().ok_or("truncated schema")?;
        partition_secs.push(r.i64().ok_or("truncated schema")?);
        retentions.push(Retention { step_secs, points });
    }
    let schema = Schema {
        retentions,
        aggregation,
        xff,
        partition_secs,
    };
    schema.check().ok_or("invalid schema")?;
    Ok(schema)
}

/// One series definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesDef<'a> {
    /// Series id.
    pub id: u32,
    /// Schema id.
    pub schema: u32,
    /// Canonical name.
    pub name: &'a str,
}

/// Appends a series definitions record.
pub fn encode_series_defs<'a>(
    defs: impl ExactSizeIterator<Item = SeriesDef<'a>>,
    out: &mut Vec<u8>,
) {
    out.push(KIND_SERIES);
    varint::put_u64(out, defs.len() as u64);
    for d in defs {
        put_series_def(&d, out);
    }
}

/// Appends one definition's fields (shared with the series index file).
pub fn put_series_def(d: &SeriesDef<'_>, out: &mut Vec<u8>) {
    varint::put_u64(out, u64::from(d.id));
    varint::put_u64(out, u64::from(d.schema));
    varint::put_u64(out, d.name.len() as u64);
    out.extend_from_slice(d.name.as_bytes());
}

/// Reads one definition written by [`put_series_def`].
pub fn read_series_def<'a>(r: &mut Reader<'a>) -> Result<SeriesDef<'a>, DecodeError> {
    let id = r.u32().ok_or("series id")?;
    let schema = r.u32().ok_or("schema id")?;
    let len = r.len(1).ok_or("name length")?;
    let name = std::str::from_utf8(r.bytes(len).ok_or("truncated name")?)
        .map_err(|_| "name is not UTF-8")?;
    Ok(SeriesDef { id, schema, name })
}

/// Decodes a series definitions record body (after the kind byte).
pub fn decode_series_defs<'a>(body: &'a [u8]) -> Result<Vec<SeriesDef<'a>>, DecodeError> {
    let mut r = Reader::new(body);
    let n = r.len(3).ok_or("definition count")?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(read_series_def(&mut r)?);
    }
    r.is_empty().then_some(out).ok_or("trailing bytes")
}

/// Builds a points record. Points are appended one by one; the record is the buffer.
pub struct PointsEncoder {
    buf: Vec<u8>,
    prev_id: u32,
    prev_ts: i64,
}

impl PointsEncoder {
    /// An empty record with room for about `points` points.
    pub fn with_capacity(points: usize) -> PointsEncoder {
        let mut buf = Vec::with_capacity(1 + points * 6);
        buf.push(KIND_POINTS);
        PointsEncoder {
            buf,
            prev_id: 0,
            prev_ts: 0,
        }
    }

    /// The record bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Appends one point.
    #[inline]
    pub fn push(&mut self, id: u32, ts: i64, value: f64) {
        let buf = &mut self.buf;
        varint::put_i64(buf, i64::from(id) - i64::from(self.prev_id));
        varint::put_i64(buf, ts.wrapping_sub(self.prev_ts));
        self.prev_id = id;
        self.prev_ts = ts;
        let i = value as i64;
        if value.abs() < EXACT_INT && i as f64 == value && (i != 0 || value.to_bits() == 0) {
            varint::put_u64(buf, varint::zigzag(i) << 2 | TAG_INT);
            return;
        }
        if value.is_finite() && value.abs() < EXACT_INT {
            for k in 1..=WAL_MAX_PLACES {
                if let Some(m) = decimal::to_mantissa(value, k) {
                    let body = varint::zigzag(m) << 2 | u64::from(k - 1);
                    varint::put_u64(buf, body << 2 | TAG_DECIMAL);
                    return;
                }
            }
        }
        varint::put_u64(buf, TAG_RAW);
        buf.extend_from_slice(&value.to_bits().to_le_bytes());
    }
}

/// Calls `f(id, ts, value)` for each point of a points record body (after the kind byte).
pub fn decode_points(body: &[u8], mut f: impl FnMut(u32, i64, f64)) -> Result<(), DecodeError> {
    let mut r = Reader::new(body);
    let (mut id, mut ts) = (0i64, 0i64);
    while !r.is_empty() {
        id = id
            .checked_add(r.i64().ok_or("point id")?)
            .ok_or("point id out of range")?;
        let pid = u32::try_from(id).map_err(|_| "point id out of range")?;
        ts = ts.wrapping_add(r.i64().ok_or("point timestamp")?);
        let tag = r.u64().ok_or("point value")?;
        let value = match tag & 3 {
            TAG_INT => varint::unzigzag(tag >> 2) as f64,
            TAG_DECIMAL => {
                let body = tag >> 2;
                let k = (body & 3) as u8 + 1;
                decimal::from_mantissa(varint::unzigzag(body >> 2), k)
            }
            TAG_RAW if tag == TAG_RAW => f64::from_bits(r.u64_le().ok_or("point value")?),
            _ => return Err("point value tag"),
        };
        f(pid, ts, value);
    }
    Ok(())
}

/// Appends a delete record for `ids` (sorted ascending).
pub fn encode_delete(ids: &[u32], out: &mut Vec<u8>) {
    out.push(KIND_DELETE);
    varint::put_u64(out, ids.len() as u64);
    let mut prev = 0u32;
    for &id in ids {
        varint::put_u64(out, u64::from(id.wrapping_sub(prev)));
        prev = id;
    }
}

/// Decodes a delete record body (after the kind byte).
pub fn decode_delete(body: &[u8]) -> Result<Vec<u32>, DecodeError> {
    let mut r = Reader::new(body);
    let n = r.len(1).ok_or("delete count")?;
    let mut out = Vec::with_capacity(n);
    let mut prev = 0u32;
    for _ in 0..n {
        prev = prev.wrapping_add(r.u32().ok_or("deleted id")?);
        out.push(prev);
    }
    r.is_empty().then_some(out).ok_or("trailing bytes")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn points_round_trip(points: &[(u32, i64, f64)]) -> usize {
        let mut e = PointsEncoder::with_capacity(points.len());
        for &(id, ts, v) in points {
            e.push(id, ts, v);
        }
        let bytes = e.bytes().to_vec();
        assert_eq!(bytes[0], KIND_POINTS);
        let mut got = Vec::new();
        decode_points(&bytes[1..], |id, ts, v| got.push((id, ts, v.to_bits()))).unwrap();
        let want: Vec<(u32, i64, u64)> = points
            .iter()
            .map(|&(i, t, v)| (i, t, v.to_bits()))
            .collect();
        assert_eq!(got, want);
        bytes.len()
    }

    #[track_caller]
    fn check_value(v: f64, max_bytes: usize) {
        // id delta, ts delta and the value: two bytes of framing here.
        let n = points_round_trip(&[(1, 1, v)]) - 1;
        assert!(n <= max_bytes + 2, "{v:?}: {n} bytes");
    }

    #[test]
    fn typical_values_are_short() {
        check_value(0.0, 1);
        check_value(15.0, 1);
        check_value(42.0, 2);
        check_value(-7.0, 1);
        check_value(118.36, 3);
        check_value(0.7312, 3);
        check_value(763_933.0, 4);
        check_value(2.5e11, 6);
        check_value(-0.0, 9);
        check_value(f64::NAN, 9);
        check_value(f64::INFINITY, 9);
        check_value(1.0 / 3.0, 9);
        check_value(1e300, 9);
    }

    #[test]
    fn spec_test_vector() {
        // docs/format/tsdb-wal.md, "Test vector".
        let mut e = PointsEncoder::with_capacity(2);
        e.push(1, 1_700_000_000, 118.36);
        e.push(2, 1_700_000_000, 42.0);
        let want = [
            0x03, 0x02, 0x80, 0xc4, 0x9f, 0xd5, 0x0c, 0x85, 0x8f, 0x17, 0x02, 0x00, 0xd0, 0x02,
        ];
        assert_eq!(e.bytes(), want);
    }

    #[test]
    fn a_timestamp_major_batch_costs_about_five_bytes_a_point() {
        let pts: Vec<(u32, i64, f64)> = (0..1000u32)
            .map(|i| (i, 1_763_713_610, f64::from(i % 300) + 0.25))
            .collect();
        let n = points_round_trip(&pts);
        assert!(n < 5 * 1000, "{n}");
    }

    #[test]
    fn definitions_and_deletes_round_trip() {
        let defs = vec![
            SeriesDef {
                id: 7,
                schema: 0,
                name: "a.b.c",
            },
            SeriesDef {
                id: 8,
                schema: 3,
                name: "disk.used;dc=sf",
            },
        ];
        let mut buf = Vec::new();
        encode_series_defs(defs.clone().into_iter(), &mut buf);
        assert_eq!(buf[0], KIND_SERIES);
        assert_eq!(decode_series_defs(&buf[1..]).unwrap(), defs);
        assert!(decode_series_defs(&buf[1..buf.len() - 1]).is_err());

        let mut buf = Vec::new();
        encode_delete(&[3, 9, 4_000_000_000], &mut buf);
        assert_eq!(decode_delete(&buf[1..]).unwrap(), vec![3, 9, 4_000_000_000]);

        let schema = Schema::new(
            Retention::parse_list("10s:1d,1m:7d").unwrap(),
            Aggregation::Max,
            0.1,
        );
        let mut buf = Vec::new();
        encode_schema_def(5, &schema, &mut buf);
        let mut r = Reader::new(&buf[1..]);
        assert_eq!(r.u32(), Some(5));
        assert_eq!(read_schema(&mut r).unwrap(), schema);
        assert!(r.is_empty());
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(decode_points(&[0x02, 0x02, 0x03], |_, _, _| {}).is_err());
        assert!(decode_points(&[0x01], |_, _, _| {}).is_err());
        assert!(decode_points(&[0x01, 0x00, 0x02, 1, 2], |_, _, _| {}).is_err());
        assert!(decode_delete(&[5, 1]).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn any_points_round_trip(points in proptest::collection::vec(
            (any::<u32>(), any::<i64>(), prop_oneof![any::<u64>().prop_map(f64::from_bits), (-1_000_000i64..1_000_000).prop_map(|m| m as f64 / 100.0)]),
            0..100)) {
            points_round_trip(&points);
        }

        #[test]
        fn arbitrary_bodies_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
            let _ = decode_points(&bytes, |_, _, _| {});
            let _ = decode_series_defs(&bytes);
            let _ = decode_delete(&bytes);
            let _ = read_schema(&mut Reader::new(&bytes));
        }
    }
}
