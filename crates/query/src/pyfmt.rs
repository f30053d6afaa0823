//! Python's number formatting and rounding, which graphite-web bakes into series names and
//! values: `str(float)` / `repr` (`42.0`, `1e+16`), `"%g"` (`2.5`, `100`, `1e+06`), `round(x, n)`.
//!
//! Series names are compared byte for byte by Grafana and by the conformance check, so these
//! follow CPython's rules exactly rather than Rust's `Display`. Nothing here knows about series.

/// Python's `repr(float)` / `str(float)`: shortest round-trip digits, fixed notation for
/// 1e-4 <= |x| < 1e16 (with a trailing `.0` when integral), scientific otherwise.
pub(crate) fn repr(x: f64) -> String {
    if let Some(s) = non_finite(x) {
        return s;
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0.0" } else { "0.0" }.to_string();
    }
    let (neg, digits, exp) = shortest_digits(x);
    let sign = if neg { "-" } else { "" };
    // `exp` is the power of ten of the first digit; Python's decimal point position is exp + 1.
    let decpt = exp + 1;
    if !(-4 < decpt && decpt <= 16) {
        let mut m = digits[..1].to_string();
        if digits.len() > 1 {
            m.push('.');
            m.push_str(&digits[1..]);
        }
        return format!(
            "{sign}{m}e{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.abs()
        );
    }
    let s = if decpt <= 0 {
        format!("0.{}{}", "0".repeat((-decpt) as usize), digits)
    } else if decpt as usize >= digits.len() {
        format!("{}{}.0", digits, "0".repeat(decpt as usize - digits.len()))
    } else {
        format!(
            "{}.{}",
            &digits[..decpt as usize],
            &digits[decpt as usize..]
        )
    };
    format!("{sign}{s}")
}

/// Python's `"%g" % x`: six significant digits, trailing zeros removed, scientific notation
/// when the exponent is below -4 or at least 6.
pub(crate) fn g(x: f64) -> String {
    if let Some(s) = non_finite(x) {
        return s;
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    let sci = format!("{x:.5e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..6).contains(&exp) {
        let m = strip_zeros(mantissa);
        return format!("{m}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    }
    let decimals = (5 - exp) as usize;
    strip_zeros(&format!("{x:.decimals$}")).to_string()
}

/// Python's `"%d" % x` for a float: truncation toward zero.
pub(crate) fn d(x: f64) -> String {
    if x.is_finite() {
        format!("{}", x.trunc() as i64)
    } else {
        non_finite(x).unwrap_or_default()
    }
}

/// Python's `round(x, ndigits)`: the float nearest to `x` correctly rounded to `ndigits`
/// decimals (ties to even on the exact binary value, as CPython does).
pub(crate) fn round(x: f64, ndigits: usize) -> f64 {
    // Beyond 400 decimals every f64 is already exact; the cap keeps the formatting bounded.
    let ndigits = ndigits.min(400);
    if !x.is_finite() {
        return x;
    }
    format!("{x:.ndigits$}").parse().unwrap_or(x)
}

fn non_finite(x: f64) -> Option<String> {
    if x.is_nan() {
        Some("nan".into())
    } else if x.is_infinite() {
        Some(if x > 0.0 { "inf" } else { "-inf" }.into())
    } else {
        None
    }
}

fn strip_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// Sign, shortest round-trip significant digits, and decimal exponent of the first digit.
fn shortest_digits(x: f64) -> (bool, String, i32) {
    let s = format!("{:e}", x.abs());
    let (mantissa, exp) = s.split_once('e').unwrap_or((s.as_str(), "0"));
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    (x < 0.0, digits, exp.parse().unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check_repr(x: f64, expected: &str) {
        assert_eq!(repr(x), expected, "repr({x:e})");
    }

    #[track_caller]
    fn check_g(x: f64, expected: &str) {
        assert_eq!(g(x), expected, "%g of {x:e}");
    }

    #[test]
    fn repr_matches_python() {
        check_repr(42.0, "42.0");
        check_repr(100.0, "100.0");
        check_repr(-1.0, "-1.0");
        check_repr(0.0, "0.0");
        check_repr(123.456, "123.456");
        check_repr(0.1, "0.1");
        check_repr(1e16, "1e+16");
        check_repr(1e15, "1000000000000000.0");
        check_repr(1.5e16, "1.5e+16");
        check_repr(0.0001, "0.0001");
        check_repr(0.00001, "1e-05");
        check_repr(1.5e-7, "1.5e-07");
        check_repr(1e300, "1e+300");
        check_repr(f64::INFINITY, "inf");
        check_repr(f64::NEG_INFINITY, "-inf");
        check_repr(f64::NAN, "nan");
    }

    #[test]
    fn g_matches_python() {
        check_g(2.5, "2.5");
        check_g(100.0, "100");
        check_g(-1.0, "-1");
        check_g(0.0, "0");
        check_g(95.0, "95");
        check_g(1e6, "1e+06");
        check_g(999999.0, "999999");
        check_g(1234567.0, "1.23457e+06");
        check_g(0.0001, "0.0001");
        check_g(0.00001, "1e-05");
        check_g(1.23456789, "1.23457");
        check_g(0.5, "0.5");
        check_g(1e-10, "1e-10");
        check_g(123456.5, "123456");
        check_g(f64::INFINITY, "inf");
    }

    #[test]
    fn d_and_round_match_python() {
        assert_eq!(d(10.0), "10");
        assert_eq!(d(10.7), "10");
        assert_eq!(d(-2.5), "-2");
        assert_eq!(round(1.0 / 3.0, 6), 0.333333);
        assert_eq!(round(2.0000004, 6), 2.0);
        assert_eq!(round(0.0078125, 6), 0.007812);
        assert_eq!(round(-1.23456789, 6), -1.234568);
    }
}
