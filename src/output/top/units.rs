//! Rates in human units, three significant digits, SI prefixes (1 kB = 1000 bytes, as
//! network rates are usually counted): `0`, `4.50`, `12.3k`, `1.23 MB/s`.

const COUNT_PREFIXES: [&str; 5] = ["", "k", "M", "G", "T"];
const BYTE_UNITS: [&str; 5] = ["B/s", "kB/s", "MB/s", "GB/s", "TB/s"];

/// Connections or packets per second: `0`, `4.50`, `123`, `12.3k`.
pub fn count_rate_text(per_second: f64) -> String {
    let (number, unit) = scaled(per_second, &COUNT_PREFIXES);
    format!("{number}{unit}")
}

/// Bytes per second: `0 B/s`, `512 B/s`, `1.23 MB/s`.
pub fn byte_rate_text(per_second: f64) -> String {
    let (number, unit) = scaled(per_second, &BYTE_UNITS);
    format!("{number} {unit}")
}

/// The number with three significant digits, scaled down by 1000s below 1000 (the last
/// unit takes whatever is left), and its unit.
fn scaled(value: f64, units: &[&'static str]) -> (String, &'static str) {
    if !value.is_finite() || value <= 0.0 {
        return ("0".into(), units[0]);
    }
    let mut value = value;
    let mut unit = 0;
    // 999.5 would print as "1000": move on to the next unit there already.
    while value >= 999.5 && unit + 1 < units.len() {
        value /= 1000.0;
        unit += 1;
    }
    let decimals = if value >= 99.95 {
        0
    } else if value >= 9.995 {
        1
    } else {
        2
    };
    (format!("{value:.decimals$}"), units[unit])
}
