//! The C library's address, host and service-name parsers, exactly as ipvsadm calls them:
//! `inet_aton` (so `10.1`, `0x0a000003`, octal parts and trailing blanks behave as in C),
//! `inet_pton`, `gethostbyname` (IPv4 results only) and `getservbyname` (honouring
//! `/etc/hosts`, `/etc/services` and nsswitch as glibc does). The reentrant `_r` variants
//! are used, which answer the same. Texts are bytes and end at the first NUL, like C
//! strings.

use std::ffi::{CString, c_char, c_int, c_void};
use std::net::{Ipv4Addr, Ipv6Addr};

unsafe extern "C" {
    fn inet_aton(cp: *const c_char, inp: *mut libc::in_addr) -> c_int;
    fn inet_pton(af: c_int, src: *const c_char, dst: *mut c_void) -> c_int;
    fn gethostbyname_r(
        name: *const c_char,
        ret: *mut libc::hostent,
        buf: *mut c_char,
        buflen: libc::size_t,
        result: *mut *mut libc::hostent,
        h_errnop: *mut c_int,
    ) -> c_int;
    fn getservbyname_r(
        name: *const c_char,
        proto: *const c_char,
        result_buf: *mut libc::servent,
        buf: *mut c_char,
        buflen: libc::size_t,
        result: *mut *mut libc::servent,
    ) -> c_int;
}

/// Largest scratch buffer tried for the resolver (it grows on ERANGE).
const MAX_BUFFER: usize = 1 << 20;

/// The text as a C string: cut at the first NUL, as C would see it.
fn c_string(text: &[u8]) -> CString {
    let end = text.iter().position(|&b| b == 0).unwrap_or(text.len());
    CString::new(&text[..end]).unwrap_or_default()
}

/// `inet_aton`: dotted forms with 1 to 4 parts, each decimal, octal or hex.
pub fn parse_inet_aton(text: &[u8]) -> Option<Ipv4Addr> {
    let text = c_string(text);
    let mut addr = libc::in_addr { s_addr: 0 };
    // SAFETY: a valid NUL-terminated string and a valid out pointer.
    let ok = unsafe { inet_aton(text.as_ptr(), &mut addr) };
    (ok != 0).then(|| Ipv4Addr::from(u32::from_be(addr.s_addr)))
}

/// `inet_pton(AF_INET, ...)`: strict dotted quad.
pub fn parse_inet_pton4(text: &[u8]) -> Option<Ipv4Addr> {
    let text = c_string(text);
    let mut octets = [0u8; 4];
    // SAFETY: a valid C string and a 4-byte destination, as AF_INET requires.
    let ok = unsafe { inet_pton(libc::AF_INET, text.as_ptr(), octets.as_mut_ptr().cast()) };
    (ok > 0).then(|| Ipv4Addr::from(octets))
}

/// `inet_pton(AF_INET6, ...)`.
pub fn parse_inet_pton6(text: &[u8]) -> Option<Ipv6Addr> {
    let text = c_string(text);
    let mut octets = [0u8; 16];
    // SAFETY: a valid C string and a 16-byte destination, as AF_INET6 requires.
    let ok = unsafe { inet_pton(libc::AF_INET6, text.as_ptr(), octets.as_mut_ptr().cast()) };
    (ok > 0).then(|| Ipv6Addr::from(octets))
}

/// ipvsadm's `host_to_addr`: `gethostbyname`, accepted only if the answer is IPv4; the
/// first address.
pub fn host_to_addr(name: &[u8]) -> Option<Ipv4Addr> {
    let name = c_string(name);
    let mut size = 1024;
    loop {
        let mut buf = vec![0 as c_char; size];
        // SAFETY: all-zero bytes are a valid `hostent` (null pointers, zero integers).
        let mut host: libc::hostent = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::hostent = std::ptr::null_mut();
        let mut h_errno: c_int = 0;
        // SAFETY: every pointer is valid for the duration of the call; `buf` has `size`
        // bytes.
        let rc = unsafe {
            gethostbyname_r(
                name.as_ptr(),
                &mut host,
                buf.as_mut_ptr(),
                size,
                &mut result,
                &mut h_errno,
            )
        };
        if rc == libc::ERANGE && size < MAX_BUFFER {
            size *= 2;
            continue;
        }
        if rc != 0 || result.is_null() {
            return None;
        }
        return first_ipv4(&host);
    }
}

fn first_ipv4(host: &libc::hostent) -> Option<Ipv4Addr> {
    if host.h_addrtype != libc::AF_INET || host.h_length != 4 || host.h_addr_list.is_null() {
        return None;
    }
    // SAFETY: glibc filled `host` from the buffer still alive in the caller: the list is
    // NULL-terminated and each entry points at `h_length` (4) bytes.
    unsafe {
        let first = *host.h_addr_list;
        if first.is_null() {
            return None;
        }
        let bytes = std::slice::from_raw_parts(first.cast::<u8>(), 4);
        Some(Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]))
    }
}

/// `getservbyname(name, proto)`: the port in host order.
pub fn service_port(name: &[u8], proto: &str) -> Option<u16> {
    let name = c_string(name);
    let proto = c_string(proto.as_bytes());
    let mut size = 1024;
    loop {
        let mut buf = vec![0 as c_char; size];
        // SAFETY: all-zero bytes are a valid `servent`.
        let mut serv: libc::servent = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::servent = std::ptr::null_mut();
        // SAFETY: every pointer is valid for the duration of the call; `buf` has `size`
        // bytes.
        let rc = unsafe {
            getservbyname_r(
                name.as_ptr(),
                proto.as_ptr(),
                &mut serv,
                buf.as_mut_ptr(),
                size,
                &mut result,
            )
        };
        if rc == libc::ERANGE && size < MAX_BUFFER {
            size *= 2;
            continue;
        }
        if rc != 0 || result.is_null() {
            return None;
        }
        // `s_port` holds the port in network order in an int.
        return Some(u16::from_be(serv.s_port as u16));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inet_aton_forms() {
        let aton = |s: &str| parse_inet_aton(s.as_bytes());
        assert_eq!(aton("10.1"), Some(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(aton("1.2.3"), Some(Ipv4Addr::new(1, 2, 0, 3)));
        assert_eq!(aton("0x0a000003"), Some(Ipv4Addr::new(10, 0, 0, 3)));
        assert_eq!(aton("010.0.0.4"), Some(Ipv4Addr::new(8, 0, 0, 4)));
        assert_eq!(aton("167772161"), Some(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(aton("8080"), Some(Ipv4Addr::new(0, 0, 31, 144)));
        assert_eq!(aton("10.0.0.1 junk"), Some(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(aton("10.0.0.256"), None);
        assert_eq!(aton(""), None);
        assert_eq!(aton("web"), None);
    }

    #[test]
    fn pton() {
        assert_eq!(
            parse_inet_pton6(b"2001:db8::1:80"),
            Some("2001:db8::1:80".parse().unwrap())
        );
        assert_eq!(parse_inet_pton6(b"fe80::1%eth0"), None);
        assert_eq!(parse_inet_pton6(b"10.0.0.1"), None);
        assert_eq!(
            parse_inet_pton4(b"224.0.0.1"),
            Some(Ipv4Addr::new(224, 0, 0, 1))
        );
        assert_eq!(parse_inet_pton4(b"224.1"), None);
    }

    #[test]
    fn resolver() {
        assert_eq!(host_to_addr(b"localhost"), Some(Ipv4Addr::LOCALHOST));
        assert_eq!(host_to_addr(b"no-such-host.invalid"), None);
        assert_eq!(service_port(b"http", "tcp"), Some(80));
        assert_eq!(service_port(b"www", "tcp"), Some(80));
        assert_eq!(service_port(b"HTTP", "tcp"), None);
        assert_eq!(service_port(b"domain", "udp"), Some(53));
    }

    #[test]
    fn nul_ends_the_text() {
        assert_eq!(
            parse_inet_aton(b"10.0.0.1\0junk"),
            Some(Ipv4Addr::new(10, 0, 0, 1))
        );
    }
}
