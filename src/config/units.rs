//! Durations (`500ms`, `1s`, `10m`, `2h`, `7d`) and sizes (`32MiB`, `50GB`) as written in flags
//! and the config file.

use std::time::Duration;

/// Parses `<number><unit>` with units ms, s, m/min, h, d, w; a bare number is seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let (n, unit) = split_number(text)
        .ok_or_else(|| format!("invalid duration {text:?}: want e.g. 500ms, 1s, 10m, 2h, 7d"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "" | "s" | "sec" | "secs" => n,
        "m" | "min" | "mins" => n * 60.0,
        "h" => n * 3600.0,
        "d" => n * 86400.0,
        "w" => n * 7.0 * 86400.0,
        u => return Err(format!("invalid duration {text:?}: unknown unit {u:?}")),
    };
    if !secs.is_finite() || secs < 0.0 {
        return Err(format!("invalid duration {text:?}"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Parses `<number><unit>` with units B, KB/MB/GB/TB (powers of 1000) and KiB/MiB/GiB/TiB
/// (powers of 1024); a bare number is bytes.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let (n, unit) = split_number(text)
        .ok_or_else(|| format!("invalid size {text:?}: want e.g. 32MiB, 50GB"))?;
    let mult: f64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "m" | "mb" => 1e6,
        "g" | "gb" => 1e9,
        "t" | "tb" => 1e12,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        "tib" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        u => return Err(format!("invalid size {text:?}: unknown unit {u:?}")),
    };
    let v = n * mult;
    if !v.is_finite() || v < 0.0 {
        return Err(format!("invalid size {text:?}"));
    }
    Ok(v as u64)
}

/// `"10 m"` -> `(10.0, "m")`; `None` when the text does not start with a number.
fn split_number(text: &str) -> Option<(f64, &str)> {
    let t = text.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    Some((num.parse().ok()?, unit.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1s"), Ok(Duration::from_secs(1)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert_eq!(parse_duration(" 10 m "), Ok(Duration::from_secs(600)));
        assert!(parse_duration("1y").is_err());
        assert!(parse_duration("fast").is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("32MiB"), Ok(32 * 1024 * 1024));
        assert_eq!(parse_size("50GB"), Ok(50_000_000_000));
        assert_eq!(parse_size("100"), Ok(100));
        assert!(parse_size("lots").is_err());
    }
}
