//! Netlink attributes (`struct nlattr`): the type-length-value framing shared by every
//! IPVS attribute, with the integer and string payload helpers the attribute enums use.

use super::DecodeError;

/// Size of `struct nlattr` (u16 length, u16 type).
pub const NLA_HDRLEN: usize = 4;
/// `NLA_F_NESTED | NLA_F_NET_BYTEORDER`: flag bits that are not part of the type.
const NLA_TYPE_MASK: u16 = !(libc::NLA_F_NESTED as u16 | libc::NLA_F_NET_BYTEORDER as u16);

/// Rounds up to the 4-byte alignment of netlink attributes and messages.
pub const fn align4(len: usize) -> usize {
    (len + 3) & !3
}

/// One attribute of a netlink message: knows its type and how to write its payload.
pub trait Nla {
    fn kind(&self) -> u16;
    fn emit_value(&self, buf: &mut Vec<u8>);
}

/// An attribute that can be read back from its type and payload.
pub trait ParseNla: Sized {
    fn parse(kind: u16, payload: &[u8]) -> Result<Self, DecodeError>;
}

/// An attribute whose length does not fit the 16-bit length field (64 KiB, header
/// included): netlink cannot carry it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLarge {
    pub kind: u16,
    pub len: usize,
}

impl std::fmt::Display for TooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "netlink attribute {} of {} bytes is over the 65535-byte limit",
            self.kind, self.len
        )
    }
}

impl std::error::Error for TooLarge {}

/// Appends one attribute: header, payload, padding to 4 bytes. An attribute too large
/// for netlink leaves `buf` as it was and is an error.
pub fn emit<T: Nla + ?Sized>(attr: &T, buf: &mut Vec<u8>) -> Result<(), TooLarge> {
    let start = buf.len();
    write(attr, buf).inspect_err(|_| buf.truncate(start))
}

/// Appends every attribute of a list, in order (used for message bodies).
pub fn emit_all<T: Nla>(attrs: &[T], buf: &mut Vec<u8>) -> Result<(), TooLarge> {
    attrs.iter().try_for_each(|attr| emit(attr, buf))
}

/// The inside of a nest, from a nest's [`Nla::emit_value`]. An attribute too large for
/// netlink stays in `buf` whole, so the nest around it is too large as well, and that
/// is what [`emit`] reports (emitting values cannot fail).
pub fn emit_nested<T: Nla>(attrs: &[T], buf: &mut Vec<u8>) {
    for attr in attrs {
        let _ = write(attr, buf);
    }
}

/// Appends one attribute; its length field is right only if it fits (`Ok`).
fn write<T: Nla + ?Sized>(attr: &T, buf: &mut Vec<u8>) -> Result<(), TooLarge> {
    let start = buf.len();
    buf.extend_from_slice(&[0; NLA_HDRLEN]);
    attr.emit_value(buf);
    let len = buf.len() - start;
    let fits = u16::try_from(len);
    let len16 = fits.unwrap_or(u16::MAX);
    buf[start..start + 2].copy_from_slice(&len16.to_ne_bytes());
    buf[start + 2..start + 4].copy_from_slice(&attr.kind().to_ne_bytes());
    buf.resize(start + align4(len), 0);
    match fits {
        Ok(_) => Ok(()),
        Err(_) => Err(TooLarge {
            kind: attr.kind(),
            len,
        }),
    }
}

/// Walks a buffer of attributes, yielding (type without flag bits, payload).
pub struct NlaIter<'a> {
    rest: &'a [u8],
}

impl<'a> NlaIter<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        NlaIter { rest: buf }
    }
}

impl<'a> Iterator for NlaIter<'a> {
    type Item = Result<(u16, &'a [u8]), DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        if self.rest.len() < NLA_HDRLEN {
            self.rest = &[];
            return Some(Err(DecodeError::new("truncated attribute header")));
        }
        let len = u16::from_ne_bytes([self.rest[0], self.rest[1]]) as usize;
        let kind = u16::from_ne_bytes([self.rest[2], self.rest[3]]) & NLA_TYPE_MASK;
        if len < NLA_HDRLEN || len > self.rest.len() {
            self.rest = &[];
            return Some(Err(DecodeError::new(format!(
                "attribute {kind} has a bad length {len}"
            ))));
        }
        let payload = &self.rest[NLA_HDRLEN..len];
        // The last attribute may omit its padding.
        self.rest = self.rest.get(align4(len)..).unwrap_or(&[]);
        Some(Ok((kind, payload)))
    }
}

/// Parses a whole attribute buffer into a list of typed attributes.
pub fn parse_all<T: ParseNla>(buf: &[u8]) -> Result<Vec<T>, DecodeError> {
    NlaIter::new(buf)
        .map(|item| item.and_then(|(kind, payload)| T::parse(kind, payload)))
        .collect()
}

/// Parses typed attributes one at a time, without collecting them (for hot paths).
pub fn parse_iter<'a, T: ParseNla + 'a>(
    buf: &'a [u8],
) -> impl Iterator<Item = Result<T, DecodeError>> + 'a {
    NlaIter::new(buf).map(|item| item.and_then(|(kind, payload)| T::parse(kind, payload)))
}

/// The payload of the first attribute of type `kind` (a nest, typically).
pub fn find(buf: &[u8], kind: u16) -> Result<Option<&[u8]>, DecodeError> {
    for item in NlaIter::new(buf) {
        let (k, payload) = item?;
        if k == kind {
            return Ok(Some(payload));
        }
    }
    Ok(None)
}

fn fixed<const N: usize>(payload: &[u8], what: &str) -> Result<[u8; N], DecodeError> {
    payload
        .try_into()
        .map_err(|_| DecodeError::new(format!("{what}: expected {N} bytes, got {}", payload.len())))
}

pub fn parse_u8(payload: &[u8], what: &str) -> Result<u8, DecodeError> {
    Ok(fixed::<1>(payload, what)?[0])
}

pub fn parse_u16(payload: &[u8], what: &str) -> Result<u16, DecodeError> {
    Ok(u16::from_ne_bytes(fixed(payload, what)?))
}

/// A `__be16` payload (ports), returned in host order.
pub fn parse_be16(payload: &[u8], what: &str) -> Result<u16, DecodeError> {
    Ok(u16::from_be_bytes(fixed(payload, what)?))
}

pub fn parse_u32(payload: &[u8], what: &str) -> Result<u32, DecodeError> {
    Ok(u32::from_ne_bytes(fixed(payload, what)?))
}

pub fn parse_u64(payload: &[u8], what: &str) -> Result<u64, DecodeError> {
    Ok(u64::from_ne_bytes(fixed(payload, what)?))
}

/// A NUL-terminated string (`NLA_NUL_STRING`); bytes after the first NUL are ignored.
pub fn parse_string(payload: &[u8], what: &str) -> Result<String, DecodeError> {
    let end = payload
        .iter()
        .position(|&b| b == 0)
        .ok_or_else(|| DecodeError::new(format!("{what}: string without NUL")))?;
    String::from_utf8(payload[..end].to_vec())
        .map_err(|_| DecodeError::new(format!("{what}: string is not UTF-8")))
}

/// A raw address field: at most 16 bytes, zero-padded to 16 as the kernel does.
pub fn parse_addr(payload: &[u8], what: &str) -> Result<[u8; 16], DecodeError> {
    if payload.len() > 16 {
        return Err(DecodeError::new(format!(
            "{what}: address of {} bytes",
            payload.len()
        )));
    }
    let mut addr = [0; 16];
    addr[..payload.len()].copy_from_slice(payload);
    Ok(addr)
}

pub fn put_string(buf: &mut Vec<u8>, s: &str) {
    buf.extend_from_slice(s.as_bytes());
    buf.push(0);
}

/// An attribute kept as raw bytes: for capturing what the kernel sent, byte for byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawNla {
    pub kind: u16,
    pub payload: Vec<u8>,
}

impl Nla for RawNla {
    fn kind(&self) -> u16 {
        self.kind
    }
    fn emit_value(&self, buf: &mut Vec<u8>) {
        buf.extend_from_slice(&self.payload);
    }
}

impl ParseNla for RawNla {
    fn parse(kind: u16, payload: &[u8]) -> Result<Self, DecodeError> {
        Ok(RawNla {
            kind,
            payload: payload.to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Raw(u16, Vec<u8>);
    impl Nla for Raw {
        fn kind(&self) -> u16 {
            self.0
        }
        fn emit_value(&self, buf: &mut Vec<u8>) {
            buf.extend_from_slice(&self.1);
        }
    }

    #[test]
    fn emit_pads_and_iter_reads_back() {
        let mut buf = Vec::new();
        emit(&Raw(3, vec![1, 2, 3]), &mut buf).unwrap();
        emit(&Raw(7, vec![9; 4]), &mut buf).unwrap();
        assert_eq!(buf.len(), 8 + 8);
        assert_eq!(&buf[..4], &[7, 0, 3, 0]);
        let items: Vec<_> = NlaIter::new(&buf).map(Result::unwrap).collect();
        assert_eq!(items, vec![(3, &[1u8, 2, 3][..]), (7, &[9u8; 4][..])]);
    }

    #[test]
    fn an_attribute_over_64_kib_is_an_error_not_a_panic() {
        let mut buf = vec![1, 2, 3, 4];
        assert_eq!(
            emit(&Raw(6, vec![b'x'; 70_000]), &mut buf),
            Err(TooLarge {
                kind: 6,
                len: 70_004
            })
        );
        assert_eq!(buf, [1, 2, 3, 4], "nothing of it is left behind");
        emit(&Raw(6, vec![0; 65_531]), &mut buf).expect("65535 bytes with the header fit");
    }

    #[test]
    fn nested_flag_is_masked_off() {
        let buf = [4u8, 0, 0x01, 0x80];
        let items: Vec<_> = NlaIter::new(&buf).map(Result::unwrap).collect();
        assert_eq!(items, vec![(1, &[][..])]);
    }

    #[test]
    fn last_attribute_without_padding_is_accepted() {
        let buf = [5u8, 0, 2, 0, 42];
        let items: Vec<_> = NlaIter::new(&buf).map(Result::unwrap).collect();
        assert_eq!(items, vec![(2, &[42u8][..])]);
    }

    #[test]
    fn truncated_and_overlong_attributes_are_errors() {
        assert!(NlaIter::new(&[4u8, 0]).next().unwrap().is_err());
        assert!(NlaIter::new(&[9u8, 0, 1, 0, 0]).next().unwrap().is_err());
        assert!(NlaIter::new(&[3u8, 0, 1, 0]).next().unwrap().is_err());
    }

    #[test]
    fn payload_helpers_check_sizes() {
        assert_eq!(parse_u32(&7u32.to_ne_bytes(), "x").unwrap(), 7);
        assert!(parse_u32(&[1, 2], "x").is_err());
        assert!(parse_u16(&[1, 2, 3], "x").is_err());
        assert_eq!(parse_be16(&[0, 80], "port").unwrap(), 80);
        assert_eq!(parse_string(b"rr\0", "s").unwrap(), "rr");
        assert!(parse_string(b"rr", "s").is_err());
        assert_eq!(
            parse_addr(&[10, 0, 0, 1], "a").unwrap()[..5],
            [10, 0, 0, 1, 0]
        );
        assert!(parse_addr(&[0; 17], "a").is_err());
    }
}
