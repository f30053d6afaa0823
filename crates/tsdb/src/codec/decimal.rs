//! Decimal detection: most Graphite values were printed by their sender with a few decimals
//! (`%.2f`) or as integers, and parsed back into the nearest `f64`. Such a value is exactly
//! `m / 10^k` for a small integer `m`, and the integer sequence of `m` compresses far better
//! than the float bits (anchors.md §9: 0.2 → 0.3 costs 53 XOR bits, but 1 as a mantissa delta).
//!
//! The mapping is exact by construction: `to_mantissa` only accepts `(m, k)` when [`from_mantissa`]
//! gives back the identical bit pattern, and `from_mantissa` is one correctly rounded IEEE
//! division of two exactly representable numbers, so it is deterministic on every platform.
//! Values that do not map (NaN, ±inf, -0.0, floats with long expansions) are left to the
//! caller's fallback. Choosing one `k` per chunk is done in `chunk`.

/// Largest number of decimal places tried. 10^22 is the largest power of ten an `f64` holds
/// exactly, which the exactness argument above needs.
pub const MAX_PLACES: u8 = 22;

/// Mantissas stay below 2^53 so that `m as f64` is exact.
const MANTISSA_LIMIT: f64 = 9_007_199_254_740_992.0;

/// Powers of ten, each exactly representable.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// The value `m / 10^k`, the one mapping both encoder and decoder use (`k` above
/// [`MAX_PLACES`] is taken as `MAX_PLACES`; decoders refuse such chunks earlier).
#[inline]
pub fn from_mantissa(m: i64, k: u8) -> f64 {
    let m = m as f64;
    if k == 0 {
        m
    } else {
        m / POW10[usize::from(k.min(MAX_PLACES))]
    }
}

/// `10^k` (`k` up to [`MAX_PLACES`]), for decoders converting many mantissas at one `k`: the
/// same divisor [`from_mantissa`] uses, so the results are identical.
#[inline]
pub fn pow10(k: u8) -> f64 {
    POW10[usize::from(k.min(MAX_PLACES))]
}

/// The mantissa of `v` at exactly `k` places, if `v == m / 10^k` bit for bit.
#[inline]
pub fn to_mantissa(v: f64, k: u8) -> Option<i64> {
    if k > MAX_PLACES {
        return None;
    }
    let scaled = (v * POW10[usize::from(k)]).round();
    if scaled.is_nan() || scaled.abs() >= MANTISSA_LIMIT {
        return None;
    }
    let m = scaled as i64;
    (from_mantissa(m, k).to_bits() == v.to_bits()).then_some(m)
}

/// The fewest decimal places at which `v` maps exactly, or `None` if it maps at none.
pub fn min_places(v: f64) -> Option<u8> {
    if !v.is_finite() {
        return None;
    }
    for k in 0..=MAX_PLACES {
        let scaled = (v * POW10[usize::from(k)]).round();
        if scaled.abs() >= MANTISSA_LIMIT {
            return None;
        }
        let m = scaled as i64;
        if from_mantissa(m, k).to_bits() == v.to_bits() {
            return Some(k);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(v: f64, expected: Option<u8>) {
        assert_eq!(min_places(v), expected, "{v:?}");
        if let Some(k) = expected {
            let m = to_mantissa(v, k).unwrap();
            assert_eq!(from_mantissa(m, k).to_bits(), v.to_bits());
        }
    }

    #[test]
    fn printed_decimals_map_exactly() {
        check(0.0, Some(0));
        check(12.0, Some(0));
        check(-3.0, Some(0));
        check(12.34, Some(2));
        check(0.1, Some(1));
        check(0.3, Some(1));
        check(0.7312, Some(4));
        check(99.99, Some(2));
        check(-0.05, Some(2));
        check(123456789012.0, Some(0));
        check(1e-7, Some(7));
        // The shortest round-trip form of 1/3 has 16 digits, and it does map.
        check(1.0 / 3.0, Some(16));
        check(4_503_599_627_370_497.0, Some(0));
    }

    #[test]
    fn values_without_a_short_decimal_form_are_refused() {
        check(-0.0, None);
        check(f64::NAN, None);
        check(f64::INFINITY, None);
        check(f64::NEG_INFINITY, None);
        check(0.1 + 0.2, None);
        check(f64::MIN_POSITIVE, None);
        check(f64::from_bits(1), None);
        check(1e300, None);
        check(9_007_199_254_740_993.0 * 4.0, None);
    }

    #[test]
    fn a_value_maps_at_more_places_than_its_minimum() {
        assert_eq!(to_mantissa(12.5, 3), Some(12500));
        assert_eq!(to_mantissa(12.0, 2), Some(1200));
        assert_eq!(to_mantissa(12.34, 1), None);
        assert_eq!(to_mantissa(1e15, 2), None);
    }
}
