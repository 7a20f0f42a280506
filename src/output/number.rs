//! ipvsadm's printer for counters and rates (`print_largenum`): a 9-character field,
//! abbreviated with K/M/G/T unless `--exact`.

/// One counter field, leading spaces included.
pub(crate) fn large_number(value: u64, exact: bool) -> String {
    if exact {
        exact_number(value)
    } else {
        abbreviated_number(value)
    }
}

/// `--exact`: width 9, or one more than the digits when they do not fit in 8, so there is
/// always at least one space before the number.
fn exact_number(value: u64) -> String {
    let digits = value.to_string();
    let width = if digits.len() <= 8 {
        9
    } else {
        digits.len() + 1
    };
    format!("{digits:>width$}")
}

/// Divides (truncating) into the largest unit that keeps the number readable.
fn abbreviated_number(value: u64) -> String {
    const MILLION_100: u64 = 100_000_000;
    const BILLION: u64 = 1_000_000_000;
    const BILLION_100: u64 = 100_000_000_000;
    const TRILLION_100: u64 = 100_000_000_000_000;
    if value < MILLION_100 {
        format!("{value:9}")
    } else if value < BILLION {
        format!("{:8}K", value / 1_000)
    } else if value < BILLION_100 {
        format!("{:8}M", value / 1_000_000)
    } else if value < TRILLION_100 {
        format!("{:8}G", value / 1_000_000_000)
    } else {
        format!("{:8}T", value / 1_000_000_000_000)
    }
}

#[cfg(test)]
mod tests {
    use super::large_number;

    /// The table of shared/ipvsadm-behaviour.md §6.5.
    #[test]
    fn spec_table() {
        let table: [(u64, &str, &str); 9] = [
            (0, "        0", "        0"),
            (99999999, " 99999999", " 99999999"),
            (100000000, "  100000K", " 100000000"),
            (999999999, "  999999K", " 999999999"),
            (1000000000, "    1000M", " 1000000000"),
            (12345678901, "   12345M", " 12345678901"),
            (99999999999, "   99999M", " 99999999999"),
            (100000000000, "     100G", " 100000000000"),
            (123456789012345, "     123T", " 123456789012345"),
        ];
        for (value, abbreviated, exact) in table {
            assert_eq!(large_number(value, false), abbreviated, "{value}");
            assert_eq!(large_number(value, true), exact, "{value} exact");
        }
    }

    #[test]
    fn largest_values() {
        assert_eq!(large_number(u64::MAX, false), "18446744T");
        assert_eq!(large_number(u64::MAX, true), " 18446744073709551615");
    }
}
