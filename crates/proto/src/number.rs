//! Numbers as Python's `float()` reads them, because carbon applies `float()` to every value
//! and timestamp it receives: `1e3`, `+1`, `.5`, `1.`, `inf`, `-Infinity`, `nan`, and `1_000`
//! (underscores between digits) are all accepted. Surrounding whitespace is the caller's
//! business (the plaintext parser splits on it). This module owns only the conversion from
//! bytes to `f64`; what a value or a timestamp means is in `record`.
//!
//! Plain decimals take a hand-written fast path (Clinger's: a mantissa below 2^53 scaled by an
//! exactly representable power of ten is one correctly rounded IEEE operation, so the result
//! is bit-identical to `str::parse::<f64>`). Everything else falls back to `str::parse`.
//! Python also accepts non-ASCII Unicode digits; no sender emits them, so they are refused.

/// Largest integer below which every integer is exact in an `f64` (2^53).
const MAX_EXACT_MANTISSA: u64 = 1 << 53;

/// Powers of ten that are exact in an `f64`: 10^22 is the largest (5^22 < 2^53).
const EXACT_POWERS_OF_TEN: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// Parses `text` like Python's `float()` (without the whitespace stripping). `None` if it is
/// not a number.
pub(crate) fn parse_f64(text: &[u8]) -> Option<f64> {
    if let Some(v) = fast_decimal(text) {
        return Some(v);
    }
    slow_path(text)
}

/// Parses an integer written in plain decimal digits with an optional sign, as long as it is
/// exact in an `f64` (at most 15 digits). `None` sends the caller to [`parse_f64`]. This is
/// the common shape of a Graphite timestamp, so it is worth skipping the float conversion.
pub(crate) fn parse_small_int(text: &[u8]) -> Option<i64> {
    let (neg, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, text),
    };
    if digits.is_empty() || digits.len() > 15 {
        return None;
    }
    let mut v: i64 = 0;
    for &b in digits {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v * 10 + i64::from(d);
    }
    Some(if neg { -v } else { v })
}

/// The exact fast path: `[+-]digits[.digits][(e|E)[+-]digits]` whose significant digits fit
/// below 2^53 and whose decimal exponent is within ±22 after folding the fraction in.
fn fast_decimal(text: &[u8]) -> Option<f64> {
    let mut i = 0;
    let neg = match text.first() {
        Some(b'-') => {
            i = 1;
            true
        }
        Some(b'+') => {
            i = 1;
            false
        }
        _ => false,
    };
    let mut mantissa: u64 = 0;
    let mut digits = 0usize;
    while let Some(&b) = text.get(i) {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        mantissa = mantissa.checked_mul(10)?.checked_add(u64::from(d))?;
        digits += 1;
        i += 1;
    }
    let mut exp10: i64 = 0;
    if text.get(i) == Some(&b'.') {
        i += 1;
        while let Some(&b) = text.get(i) {
            let d = b.wrapping_sub(b'0');
            if d > 9 {
                break;
            }
            mantissa = mantissa.checked_mul(10)?.checked_add(u64::from(d))?;
            digits += 1;
            exp10 -= 1;
            i += 1;
        }
    }
    if digits == 0 || mantissa > MAX_EXACT_MANTISSA {
        return None;
    }
    if let Some(&b) = text.get(i) {
        if b != b'e' && b != b'E' {
            return None;
        }
        i += 1;
        let exp_neg = match text.get(i) {
            Some(b'-') => {
                i += 1;
                true
            }
            Some(b'+') => {
                i += 1;
                false
            }
            _ => false,
        };
        let start = i;
        let mut e: i64 = 0;
        while let Some(&b) = text.get(i) {
            let d = b.wrapping_sub(b'0');
            if d > 9 {
                return None;
            }
            // Past 4 digits the exponent is far outside the fast path's range anyway.
            if i - start >= 4 {
                return None;
            }
            e = e * 10 + i64::from(d);
            i += 1;
        }
        if i == start {
            return None;
        }
        exp10 += if exp_neg { -e } else { e };
    }
    let m = mantissa as f64;
    let v = if exp10 >= 0 {
        m * *EXACT_POWERS_OF_TEN.get(usize::try_from(exp10).ok()?)?
    } else {
        m / *EXACT_POWERS_OF_TEN.get(usize::try_from(-exp10).ok()?)?
    };
    Some(if neg { -v } else { v })
}

/// Everything the fast path declines: long mantissas, large exponents, `inf`/`nan`, and
/// Python's digit-grouping underscores.
fn slow_path(text: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(text).ok()?;
    if !s.contains('_') {
        return s.parse().ok();
    }
    // Python allows one underscore between two digits (`1_000.5`), nowhere else.
    let b = s.as_bytes();
    for (i, &c) in b.iter().enumerate() {
        if c == b'_' {
            let before = i.checked_sub(1).and_then(|j| b.get(j));
            let after = b.get(i + 1);
            if !before.is_some_and(u8::is_ascii_digit) || !after.is_some_and(u8::is_ascii_digit) {
                return None;
            }
        }
    }
    s.replace('_', "").parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(text: &str, expected: Option<f64>) {
        let got = parse_f64(text.as_bytes());
        match (got, expected) {
            (Some(g), Some(e)) if e.is_nan() => assert!(g.is_nan(), "{text:?} gave {g}"),
            (Some(g), Some(e)) => assert_eq!(g.to_bits(), e.to_bits(), "{text:?}"),
            (g, e) => assert_eq!(g, e, "{text:?}"),
        }
        if let Some(v) = got {
            if !text.contains('_') {
                let std: f64 = text.parse().unwrap();
                assert!(v.to_bits() == std.to_bits() || (v.is_nan() && std.is_nan()));
            }
        }
    }

    #[test]
    fn parses_like_python_float() {
        check("123.45", Some(123.45));
        check("0", Some(0.0));
        check("-0", Some(-0.0));
        check("+1", Some(1.0));
        check("1e3", Some(1000.0));
        check("1E3", Some(1000.0));
        check("1e+3", Some(1000.0));
        check("2.5e-3", Some(0.0025));
        check("1.", Some(1.0));
        check(".5", Some(0.5));
        check("-.5", Some(-0.5));
        check("1.e3", Some(1000.0));
        check("0.1", Some(0.1));
        check("0.000123", Some(0.000123));
        check("9007199254740993", Some(9007199254740993.0));
        check(
            "123456789012345678901234567890",
            Some(1.2345678901234568e29),
        );
        check("1e22", Some(1e22));
        check("1e23", Some(1e23));
        check("1e-400", Some(0.0));
        check("1e400", Some(f64::INFINITY));
        check("inf", Some(f64::INFINITY));
        check("-inf", Some(f64::NEG_INFINITY));
        check("Infinity", Some(f64::INFINITY));
        check("nan", Some(f64::NAN));
        check("-nan", Some(f64::NAN));
        check("1_000", Some(1000.0));
        check("1_000.000_5", Some(1000.0005));
        check("", None);
        check("+", None);
        check(".", None);
        check("1e", None);
        check("e3", None);
        check("1e+", None);
        check("0x10", None);
        check("1_", None);
        check("_1", None);
        check("1__0", None);
        check("1.5x", None);
        check("infinit", None);
        check("+-1", None);
        check("1 ", None);
    }

    #[test]
    fn fast_path_agrees_with_std_on_many_decimals() {
        // A fixed-seed walk over mantissas and exponents in and around the fast path's range.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let int = x % 10_000_000_000;
            let frac = (x >> 20) % 100_000;
            let exp = (x >> 40) % 50;
            for text in [
                format!("{int}.{frac:05}"),
                format!("{int}e-{exp}"),
                format!("{frac}e{exp}"),
                format!("-{int}.{frac}"),
            ] {
                let std: f64 = text.parse().unwrap();
                assert_eq!(
                    parse_f64(text.as_bytes()).map(f64::to_bits),
                    Some(std.to_bits()),
                    "{text}"
                );
            }
        }
    }

    #[test]
    fn small_ints_take_the_integer_path() {
        assert_eq!(parse_small_int(b"1700000000"), Some(1_700_000_000));
        assert_eq!(parse_small_int(b"-1"), Some(-1));
        assert_eq!(parse_small_int(b"+5"), Some(5));
        assert_eq!(parse_small_int(b"1.5"), None);
        assert_eq!(parse_small_int(b""), None);
        assert_eq!(parse_small_int(b"-"), None);
        assert_eq!(parse_small_int(b"1234567890123456"), None);
    }
}
