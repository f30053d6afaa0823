//! Numbers formatted as graphite-web (Python) prints them, so raw, csv and json output match
//! byte for byte where clients compare text: `repr(float)` is the shortest round-tripping
//! form, in scientific notation when the decimal exponent is below -4 or at least 16
//! (`1e-05`, `1e+16`, `0.0001`, `1234.5`, `1.0`).
//!
//! This runs once per point of every render (864k times for 100 series over a day), so it
//! formats with `ryu` into stack buffers and copies ryu's text as is whenever it already has
//! Python's shape, which is the common case.

/// Python's `repr(x)` for a float, appended to `out`.
pub fn write_float_repr(out: &mut String, x: f64) {
    if !x.is_finite() {
        out.push_str(if x.is_nan() {
            "nan"
        } else if x > 0.0 {
            "inf"
        } else {
            "-inf"
        });
        return;
    }
    let mut buf = ryu::Buffer::new();
    let s = buf.format_finite(x);
    // ryu writes plain decimals like Python (`1.0`, `123.45`, `0.001`) except that it keeps
    // some values Python writes in scientific notation in decimal form, and vice versa.
    let unsigned = s.strip_prefix('-').unwrap_or(s);
    if !s.contains('e') && !unsigned.starts_with("0.0000") {
        out.push_str(s);
        return;
    }
    write_general(out, x < 0.0, unsigned);
}

/// Python's `repr(x)` for a float.
pub fn float_repr(x: f64) -> String {
    let mut s = String::with_capacity(24);
    write_float_repr(&mut s, x);
    s
}

/// Re-lays out ryu's shortest digits (`1.5e16`, `1e-5`, `0.00001`) in Python's form.
fn write_general(out: &mut String, negative: bool, s: &str) {
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
        out.push('-');
    }
    let push = |out: &mut String, d: &[u8]| out.extend(d.iter().map(|b| *b as char));
    if !(-4..16).contains(&exp) {
        push(out, &digits[..1]);
        if n > 1 {
            out.push('.');
            push(out, &digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let a = exp.unsigned_abs();
        if a < 10 {
            out.push('0');
        }
        out.push_str(&a.to_string());
    } else if exp < 0 {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        push(out, digits);
    } else if exp + 1 >= n as i32 {
        push(out, digits);
        for _ in 0..(exp + 1 - n as i32) {
            out.push('0');
        }
        out.push_str(".0");
    } else {
        let (int, frac) = digits.split_at((exp + 1) as usize);
        push(out, int);
        out.push('.');
        push(out, frac);
    }
}

#[cfg(test)]
mod tests {
    use super::float_repr;

    #[track_caller]
    fn check(x: f64, expected: &str) {
        assert_eq!(float_repr(x), expected, "{x:?}");
    }

    #[test]
    fn matches_python_repr() {
        // Each expected string is what CPython 3.11 prints for repr() of the value.
        check(1.0, "1.0");
        check(0.1, "0.1");
        check(-2.5, "-2.5");
        check(123.45, "123.45");
        check(1e15, "1000000000000000.0");
        check(1e16, "1e+16");
        check(1.5e16, "1.5e+16");
        check(-1.5e16, "-1.5e+16");
        check(9999999999999998.0, "9999999999999998.0");
        check(123456789012345680.0, "1.2345678901234568e+17");
        check(0.0001, "0.0001");
        check(0.00012, "0.00012");
        check(0.00001, "1e-05");
        check(-0.00001, "-1e-05");
        check(1.2345e-7, "1.2345e-07");
        check(1e100, "1e+100");
        check(1e-100, "1e-100");
        check(5e-324, "5e-324");
        check(1.7976931348623157e308, "1.7976931348623157e+308");
        check(100.0, "100.0");
        check(0.0, "0.0");
        check(-0.0, "-0.0");
        check(f64::INFINITY, "inf");
        check(f64::NEG_INFINITY, "-inf");
        check(f64::NAN, "nan");
        check(2.0 / 3.0, "0.6666666666666666");
        check(1e-4 * 3.0, "0.00030000000000000003");
        // Exactly halfway between two shortest decimals: Python rounds half to even.
        check(f64::from_bits(0x4317_9085_685d_83c9), "1658206780088562.2");
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
        let (got, want) = (float_repr(x), reference(x));
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
        }
    }
}
