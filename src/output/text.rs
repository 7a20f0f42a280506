//! Byte-string helpers for printf-style fixed-width fields.
//!
//! Host and service names come from the system's databases and are not guaranteed to be
//! UTF-8, so names travel as bytes and `%-Ns` padding counts bytes, as C does.

use std::io::{self, Write};

/// `%-Ns`: the text, then spaces up to `width` bytes (never cut).
pub(crate) fn write_left(out: &mut dyn Write, text: &[u8], width: usize) -> io::Result<()> {
    out.write_all(text)?;
    write_spaces(out, width.saturating_sub(text.len()))
}

fn write_spaces(out: &mut dyn Write, count: usize) -> io::Result<()> {
    const SPACES: [u8; 64] = [b' '; 64];
    let mut left = count;
    while left > 0 {
        let chunk = left.min(SPACES.len());
        out.write_all(&SPACES[..chunk])?;
        left -= chunk;
    }
    Ok(())
}

/// Cuts `text` to at most `max` bytes, as writing a NUL into a C buffer does.
pub(crate) fn cut(mut text: Vec<u8>, max: usize) -> Vec<u8> {
    text.truncate(max);
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pads_short_text_and_keeps_long_text() {
        let mut out = Vec::new();
        write_left(&mut out, b"ab", 5).unwrap();
        write_left(&mut out, b"abcdef", 3).unwrap();
        assert_eq!(out, b"ab   abcdef");
    }

    #[test]
    fn cuts_to_a_byte_length() {
        assert_eq!(cut(b"abcdef".to_vec(), 4), b"abcd");
        assert_eq!(cut(b"ab".to_vec(), 4), b"ab");
    }
}
