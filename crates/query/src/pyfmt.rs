//! Python's number formatting and rounding, which graphite-web bakes into series names and
//! values: `str(float)` / `repr` (`42.0`, `1e+16`), `"%g"` (`2.5`, `100`, `1e+06`), `round(x, n)`.
//!
//! Series names are compared byte for byte by Grafana and by the conformance check, so these
//! follow CPython's rules exactly rather than Rust's `Display`. Nothing here knows about series.
//!
//! `write_repr` also formats every value of a json/raw/csv render (864k times for 100 series
//! over a day), so it writes into a byte buffer, takes an exact fast path for short decimals
//! (what collectors send), and uses `ryu` for the rest; `write_i64` writes timestamps.

/// Python's `repr(float)` / `str(float)`: shortest round-trip digits, fixed notation for
/// 1e-4 <= |x| < 1e16 (with a trailing `.0` when integral), scientific otherwise.
pub fn repr(x: f64) -> String {
    let mut out = Vec::with_capacity(24);
    write_repr(&mut out, x);
    // write_repr writes ASCII only.
    String::from_utf8(out).unwrap_or_default()
}

/// Python's `repr(x)` for a float, appended to `out` (always ASCII).
pub fn write_repr(out: &mut Vec<u8>, x: f64) {
    if !x.is_finite() {
        put(
            out,
            if x.is_nan() {
                b"nan"
            } else if x > 0.0 {
                b"inf"
            } else {
                b"-inf"
            },
        );
        return;
    }
    if write_short_decimal(out, x) {
        return;
    }
    let mut buf = ryu::Buffer::new();
    let s = buf.format_finite(x);
    // ryu writes plain decimals like Python (`1.0`, `123.45`, `0.001`) except that it keeps
    // some values Python writes in scientific notation in decimal form, and vice versa.
    let unsigned = s.strip_prefix('-').unwrap_or(s);
    if !s.contains('e') && !unsigned.starts_with("0.0000") {
        put(out, s.as_bytes());
        return;
    }
    write_general(out, x < 0.0, unsigned);
}

/// Appends a few bytes one by one: for the 1-20 byte pieces of a number this beats a
/// `memcpy` call per piece, which showed as a fifth of a wide render's time.
#[inline]
pub fn put(out: &mut Vec<u8>, bytes: &[u8]) {
    for &b in bytes {
        out.push(b);
    }
}

/// Powers of ten for the decimal fast path.
const POW10: [f64; 5] = [1.0, 10.0, 100.0, 1000.0, 10000.0];

/// The fast path for values that are short decimals, which is what collectors send (`123.45`,
/// `0.73`, `42`): if `x == m / 10^k` for an integer `m` with `|m| < 10^15` and `k <= 4`, the
/// decimal `m` with the point moved `k` places parses back to `x` (it is the correctly rounded
/// quotient), and it is the shortest such text: below `10^15 / 10^k` one ulp of `x` is under half
/// of `10^-k`, so no shorter decimal maps to the same double. Python prints these in plain
/// notation (the exponent is within -4..16). Returns false when `x` is not such a value.
fn write_short_decimal(out: &mut Vec<u8>, x: f64) -> bool {
    for (k, scale) in POW10.iter().enumerate() {
        let m = x * scale;
        if m.abs() >= 1e15 {
            return false;
        }
        // |m| < 1e15 fits an i64 exactly, so the cast is an exact integrality test and avoids
        // a libm `trunc` call per point.
        let mi = m as i64;
        if mi as f64 == m && m / scale == x && !(mi == 0 && x.is_sign_negative()) {
            let mut digits = [0u8; 20];
            let n = write_u64(&mut digits, mi.unsigned_abs());
            let digits = &digits[20 - n..];
            if mi < 0 {
                out.push(b'-');
            }
            // Trailing zeros of the fraction are dropped, but at least one digit stays after
            // the point, as in Python's "100.0".
            let (int, frac) = if n > k {
                digits.split_at(n - k)
            } else {
                (&b"0"[..], digits)
            };
            let pad = k.saturating_sub(n);
            let mut frac_digits = [b'0'; 8];
            frac_digits[pad..pad + frac.len()].copy_from_slice(frac);
            let mut frac_len = k;
            while frac_len > 0 && frac_digits[frac_len - 1] == b'0' {
                frac_len -= 1;
            }
            put(out, int);
            out.push(b'.');
            if frac_len == 0 {
                out.push(b'0');
            } else {
                put(out, &frac_digits[..frac_len]);
            }
            return true;
        }
    }
    false
}

/// Writes `v` in decimal at the end of `buf`; returns how many digits it took.
pub fn write_u64(buf: &mut [u8; 20], mut v: u64) -> usize {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            return buf.len() - i;
        }
    }
}

/// Appends `v` in decimal, without going through `core::fmt` (the render hot path writes
/// one timestamp per point).
pub fn write_i64(out: &mut Vec<u8>, v: i64) {
    if v < 0 {
        out.push(b'-');
    }
    let mut buf = [0u8; 20];
    let n = write_u64(&mut buf, v.unsigned_abs());
    put(out, &buf[20 - n..]);
}

/// Re-lays out ryu's shortest digits (`1.5e16`, `1e-5`, `0.00001`) in Python's form.
fn write_general(out: &mut Vec<u8>, negative: bool, s: &str) {
    // Collect the significant digits and the decimal exponent of the first one.
    let mut digits = [0u8; 24];
    let mut n = 0usize;
    let exp: i32;
    let (mantissa, e) = match s.split_once('e') {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (s, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if s.contains('e') {
        for b in int.bytes().chain(frac.bytes()) {
            if n < digits.len() {
                digits[n] = b;
                n += 1;
            }
        }
        exp = e;
    } else if int.trim_start_matches('0').is_empty() {
        let zeros = frac.bytes().take_while(|b| *b == b'0').count();
        for b in frac.bytes().skip(zeros) {
            if n < digits.len() {
                digits[n] = b;
                n += 1;
            }
        }
        exp = -(zeros as i32) - 1;
    } else {
        let int = int.trim_start_matches('0');
        for b in int.bytes().chain(frac.bytes()) {
            if n < digits.len() {
                digits[n] = b;
                n += 1;
            }
        }
        exp = int.len() as i32 - 1;
    }
    while n > 1 && digits[n - 1] == b'0' {
        n -= 1;
    }
    if n == 0 {
        digits[0] = b'0';
        n = 1;
    }
    let digits = &digits[..n];
    if negative {
        out.push(b'-');
    }
    let push = |out: &mut Vec<u8>, d: &[u8]| put(out, d);
    if !(-4..16).contains(&exp) {
        push(out, &digits[..1]);
        if n > 1 {
            out.push(b'.');
            push(out, &digits[1..]);
        }
        out.push(b'e');
        out.push(if exp < 0 { b'-' } else { b'+' });
        let a = exp.unsigned_abs();
        if a < 10 {
            out.push(b'0');
        }
        put(out, a.to_string().as_bytes());
    } else if exp < 0 {
        put(out, b"0.");
        for _ in 0..(-exp - 1) {
            out.push(b'0');
        }
        push(out, digits);
    } else if exp + 1 >= n as i32 {
        push(out, digits);
        for _ in 0..(exp + 1 - n as i32) {
            out.push(b'0');
        }
        put(out, b".0");
    } else {
        let (int, frac) = digits.split_at((exp + 1) as usize);
        push(out, int);
        out.push(b'.');
        push(out, frac);
    }
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

/// graphite's unit prefixes (`format_units`, glyph.py's axis labels), largest first: SI by
/// 1000 and binary by 1024. Shared by `legendValue` and the binary's PNG axis labels.
pub const SI_PREFIXES: [(&str, f64); 5] =
    [("P", 1e15), ("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)];
/// See [`SI_PREFIXES`].
pub const BINARY_PREFIXES: [(&str, f64); 5] = [
    ("Pi", 1_125_899_906_842_624.0),
    ("Ti", 1_099_511_627_776.0),
    ("Gi", 1_073_741_824.0),
    ("Mi", 1_048_576.0),
    ("Ki", 1024.0),
];

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

    #[track_caller]
    fn check_fast(x: f64, expected: &str) {
        assert_eq!(repr(x), expected, "{x:?}");
    }

    #[test]
    fn write_repr_matches_python() {
        // Each expected string is what CPython 3.11 prints for repr() of the value.
        check_fast(1.0, "1.0");
        check_fast(0.1, "0.1");
        check_fast(-2.5, "-2.5");
        check_fast(123.45, "123.45");
        check_fast(1e15, "1000000000000000.0");
        check_fast(1e16, "1e+16");
        check_fast(1.5e16, "1.5e+16");
        check_fast(-1.5e16, "-1.5e+16");
        check_fast(9999999999999998.0, "9999999999999998.0");
        check_fast(123456789012345680.0, "1.2345678901234568e+17");
        check_fast(0.0001, "0.0001");
        check_fast(0.00012, "0.00012");
        check_fast(0.00001, "1e-05");
        check_fast(-0.00001, "-1e-05");
        check_fast(1.2345e-7, "1.2345e-07");
        check_fast(1e100, "1e+100");
        check_fast(1e-100, "1e-100");
        check_fast(5e-324, "5e-324");
        check_fast(1.7976931348623157e308, "1.7976931348623157e+308");
        check_fast(100.0, "100.0");
        check_fast(0.73, "0.73");
        check_fast(-0.5, "-0.5");
        check_fast(0.0005, "0.0005");
        check_fast(1234.5678, "1234.5678");
        check_fast(999999999999999.0, "999999999999999.0");
        check_fast(12345678901.2345, "12345678901.2345");
        check_fast(0.0, "0.0");
        check_fast(-0.0, "-0.0");
        check_fast(f64::INFINITY, "inf");
        check_fast(f64::NEG_INFINITY, "-inf");
        check_fast(f64::NAN, "nan");
        check_fast(2.0 / 3.0, "0.6666666666666666");
        check_fast(1e-4 * 3.0, "0.00030000000000000003");
        // Exactly halfway between two shortest decimals: Python rounds half to even.
        check_fast(f64::from_bits(0x4317_9085_685d_83c9), "1658206780088562.2");
    }

    /// Python's rule restated with Rust's own shortest formatting, as an independent reference.
    fn reference(x: f64) -> String {
        let sci = format!("{:e}", x.abs());
        let (m, e) = sci.split_once('e').unwrap();
        let e: i32 = e.parse().unwrap();
        let digits: String = m.chars().filter(|c| *c != '.').collect();
        let sign = if x < 0.0 { "-" } else { "" };
        let n = digits.len() as i32;
        if !(-4..16).contains(&e) {
            let (f, r) = digits.split_at(1);
            let r = if r.is_empty() {
                String::new()
            } else {
                format!(".{r}")
            };
            format!(
                "{sign}{f}{r}e{}{:02}",
                if e < 0 { '-' } else { '+' },
                e.abs()
            )
        } else if e < 0 {
            format!("{sign}0.{}{digits}", "0".repeat((-e - 1) as usize))
        } else if e + 1 >= n {
            format!("{sign}{digits}{}.0", "0".repeat((e + 1 - n) as usize))
        } else {
            let (i, f) = digits.split_at((e + 1) as usize);
            format!("{sign}{i}.{f}")
        }
    }

    /// Equal to the reference, except where the value lies exactly halfway between two
    /// shortest decimals: Python (and ryu) round half to even there, Rust's `{:e}` rounds half
    /// up. Then both must still round-trip with as many digits.
    #[track_caller]
    fn same_as_reference(x: f64) {
        let (got, want) = (repr(x), reference(x));
        assert_eq!(
            got.parse::<f64>().ok(),
            Some(x),
            "{got} does not round-trip"
        );
        if got != want {
            assert_eq!(want.parse::<f64>().ok(), Some(x), "{want}");
            assert_eq!(got.len(), want.len(), "{got} vs {want}");
        }
    }

    #[test]
    fn integers_are_written_in_decimal() {
        for v in [0i64, 7, -7, 10, 1_795_336_020, i64::MAX, i64::MIN] {
            let mut s = Vec::new();
            write_i64(&mut s, v);
            assert_eq!(s, v.to_string().as_bytes());
        }
    }

    #[test]
    fn agrees_with_reference_on_many_values() {
        // A fixed-seed walk over magnitudes and mantissas, including the notation boundaries.
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..200_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let x = f64::from_bits(state);
            if !x.is_finite() || x == 0.0 {
                continue;
            }
            same_as_reference(x);
            let scaled = (state % 1_000_000) as f64 / 100.0 * 10f64.powi((state % 40) as i32 - 20);
            if scaled != 0.0 {
                same_as_reference(scaled);
            }
            // Short decimals as collectors print them (`%.2f`, `%.4f`), the fast path's domain.
            let k = (state >> 60) % 5;
            let short = ((state >> 8) % 100_000_000_000) as f64 / 10f64.powi(k as i32);
            same_as_reference(if state & 1 == 0 { short } else { -short });
        }
    }
}
