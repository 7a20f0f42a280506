//! Just enough of C's `sscanf` and `strtoul` to read `/proc/net/ip_vs_conn` lines the way
//! ipvsadm does: conversions consume exactly what the C ones consume (so `C350xyz` is a
//! port followed by the word `xyz`), and numbers overflow and wrap as they do in C.

/// C's `isspace` in the C locale (Rust's ASCII whitespace lacks the vertical tab).
fn is_c_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// A cursor over one line, with `%s`, `%hX` and `%d` conversions. Each returns `None` when
/// the conversion fails, after which `sscanf` stops converting.
pub(crate) struct Scanner<'a> {
    input: &'a [u8],
    pos: usize,
}

impl<'a> Scanner<'a> {
    pub(crate) fn new(input: &'a [u8]) -> Self {
        Scanner { input, pos: 0 }
    }

    fn skip_space(&mut self) {
        while self.input.get(self.pos).is_some_and(|&b| is_c_space(b)) {
            self.pos += 1;
        }
    }

    /// `%s`: a run of non-space bytes; fails only at the end of the input.
    pub(crate) fn word(&mut self) -> Option<&'a [u8]> {
        self.skip_space();
        let start = self.pos;
        while self.input.get(self.pos).is_some_and(|&b| !is_c_space(b)) {
            self.pos += 1;
        }
        (self.pos > start).then(|| &self.input[start..self.pos])
    }

    /// `%hX`: a hexadecimal number stored into an unsigned short.
    pub(crate) fn hex_u16(&mut self) -> Option<u16> {
        self.skip_space();
        let (value, used) = strtoul(&self.input[self.pos..], 16);
        self.pos += used;
        (used > 0).then_some(value as u16)
    }

    /// `%d`: a decimal number, read as a C `long` and stored into an int.
    pub(crate) fn decimal_i32(&mut self) -> Option<i32> {
        self.skip_space();
        let (value, used) = strtol(&self.input[self.pos..]);
        self.pos += used;
        (used > 0).then_some(value as i32)
    }
}

/// C's `strtoul` on a 64-bit system, for base 10 or 16: optional sign, optional `0x`
/// (base 16), digits. Returns the value (saturated on overflow, negated with wrap-around
/// after a minus sign) and how many bytes it used (0 if there was no number).
pub(crate) fn strtoul(text: &[u8], base: u32) -> (u64, usize) {
    let (negative, magnitude, overflow, used) = parse_c_integer(text, base);
    if used == 0 {
        return (0, 0);
    }
    let value = if overflow {
        u64::MAX
    } else if negative {
        magnitude.wrapping_neg()
    } else {
        magnitude
    };
    (value, used)
}

/// C's `strtol` in base 10 on a 64-bit system: saturates at the `long` limits.
fn strtol(text: &[u8]) -> (i64, usize) {
    let (negative, magnitude, overflow, used) = parse_c_integer(text, 10);
    if used == 0 {
        return (0, 0);
    }
    let value = match (negative, overflow) {
        (false, true) => i64::MAX,
        (true, true) => i64::MIN,
        (false, false) => i64::try_from(magnitude).unwrap_or(i64::MAX),
        (true, false) => 0i64.checked_sub_unsigned(magnitude).unwrap_or(i64::MIN),
    };
    (value, used)
}

/// The shared part of `strtoul`/`strtol`: (negative, magnitude, overflowed, bytes used).
fn parse_c_integer(text: &[u8], base: u32) -> (bool, u64, bool, usize) {
    let mut pos = 0;
    while text.get(pos).is_some_and(|&b| is_c_space(b)) {
        pos += 1;
    }
    let negative = text.get(pos) == Some(&b'-');
    if matches!(text.get(pos), Some(b'-' | b'+')) {
        pos += 1;
    }
    let has_hex_prefix = base == 16
        && text.get(pos) == Some(&b'0')
        && matches!(text.get(pos + 1), Some(b'x' | b'X'))
        && text.get(pos + 2).is_some_and(|b| b.is_ascii_hexdigit());
    if has_hex_prefix {
        pos += 2;
    }
    let digits_start = pos;
    let mut magnitude: u64 = 0;
    let mut overflow = false;
    while let Some(digit) = text.get(pos).and_then(|&b| (b as char).to_digit(base)) {
        match magnitude
            .checked_mul(u64::from(base))
            .and_then(|m| m.checked_add(u64::from(digit)))
        {
            Some(next) => magnitude = next,
            None => overflow = true,
        }
        pos += 1;
    }
    if pos == digits_start {
        return (false, 0, false, 0);
    }
    (negative, magnitude, overflow, pos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_numbers() {
        let mut s = Scanner::new(b"  TCP\x0b0A000064 C350xyz -1 ");
        assert_eq!(s.word(), Some(&b"TCP"[..]));
        assert_eq!(s.word(), Some(&b"0A000064"[..]));
        assert_eq!(s.hex_u16(), Some(0xC350));
        assert_eq!(s.word(), Some(&b"xyz"[..]));
        assert_eq!(s.decimal_i32(), Some(-1));
        assert_eq!(s.word(), None);
    }

    #[test]
    fn failed_conversions() {
        assert_eq!(Scanner::new(b" zz").hex_u16(), None);
        assert_eq!(Scanner::new(b" x1").decimal_i32(), None);
        assert_eq!(Scanner::new(b"").word(), None);
    }

    #[test]
    fn c_overflow_rules() {
        assert_eq!(Scanner::new(b"1FFFF").hex_u16(), Some(0xFFFF));
        assert_eq!(Scanner::new(b"-2").hex_u16(), Some(0xFFFE));
        assert_eq!(Scanner::new(b"4294967297").decimal_i32(), Some(1));
        assert_eq!(
            Scanner::new(b"99999999999999999999").decimal_i32(),
            Some(-1)
        );
        assert_eq!(strtoul(b"0x0A000064", 16), (0x0A000064, 10));
        assert_eq!(strtoul(b"FFFFFFFFFFFFFFFFF", 16).0, u64::MAX);
        assert_eq!(strtoul(b"-1", 16).0, u64::MAX);
        assert_eq!(strtoul(b"g", 16), (0, 0));
        assert_eq!(strtoul(b"0xg", 16), (0, 1));
    }
}
