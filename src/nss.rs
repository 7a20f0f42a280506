//! The C library's address parsers and name services, called exactly as ipvsadm calls
//! them, so that every quirk comes out the same: `inet_aton` (`10.1`, `0x0a000003`, octal
//! parts, trailing blanks), `inet_pton`, `inet_ntop` (whose text for some IPv6 addresses,
//! e.g. `::1.2.3.4`, differs from Rust's), and the host and service databases through
//! `gethostbyname`/`getservbyname` and `gethostbyaddr`/`getservbyport` (honouring
//! `/etc/hosts`, `/etc/services` and nsswitch as glibc does). The reentrant `_r` variants
//! are used; they answer the same. Texts are bytes and end at the first NUL, like C
//! strings.

use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicBool, Ordering};

// glibc functions the libc crate does not declare.
unsafe extern "C" {
    fn inet_aton(cp: *const c_char, inp: *mut libc::in_addr) -> c_int;
    fn inet_pton(af: c_int, src: *const c_char, dst: *mut c_void) -> c_int;
    fn inet_ntop(
        family: c_int,
        src: *const c_void,
        dst: *mut c_char,
        size: libc::socklen_t,
    ) -> *const c_char;
    fn gethostbyname_r(
        name: *const c_char,
        ret: *mut libc::hostent,
        buf: *mut c_char,
        buflen: libc::size_t,
        result: *mut *mut libc::hostent,
        h_errnop: *mut c_int,
    ) -> c_int;
    fn gethostbyaddr_r(
        addr: *const c_void,
        len: libc::socklen_t,
        family: c_int,
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
    fn getservbyport_r(
        port: c_int,
        proto: *const c_char,
        result_buf: *mut libc::servent,
        buf: *mut c_char,
        buflen: libc::size_t,
        result: *mut *mut libc::servent,
    ) -> c_int;
}

/// Set by the fuzz targets ([`crate::fuzzing`]): host and service names are then
/// answered from a fixed table, not the system's databases (a resolver query per input
/// would make fuzzing slow, reach the network, and make a result depend on the host).
static FIXED_NAMES: AtomicBool = AtomicBool::new(false);

/// Answers host and service names from a fixed table from now on, in this process.
pub(crate) fn use_fixed_names() {
    FIXED_NAMES.store(true, Ordering::Relaxed);
}

fn fixed_names() -> bool {
    FIXED_NAMES.load(Ordering::Relaxed)
}

/// The text as a C string: cut at the first NUL, as C would see it.
fn c_string(text: &[u8]) -> CString {
    let end = text.iter().position(|&b| b == 0).unwrap_or(text.len());
    CString::new(&text[..end]).unwrap_or_default()
}

/// Calls `f` with the text as a C string (cut at the first NUL), on the stack when it is
/// as short as addresses are: rule files parse an address or two per line.
fn with_c_str<T>(text: &[u8], f: impl FnOnce(*const c_char) -> T) -> T {
    let end = text.iter().position(|&b| b == 0).unwrap_or(text.len());
    let mut short = [0u8; 64];
    if end < short.len() {
        short[..end].copy_from_slice(&text[..end]);
        f(short.as_ptr().cast())
    } else {
        f(c_string(text).as_ptr())
    }
}

/// `inet_aton`: dotted forms with 1 to 4 parts, each decimal, octal or hex.
pub fn parse_inet_aton(text: &[u8]) -> Option<Ipv4Addr> {
    if let Some(addr) = plain_dotted_quad(text) {
        return Some(addr);
    }
    let mut addr = libc::in_addr { s_addr: 0 };
    // SAFETY: a valid NUL-terminated string and a valid out pointer.
    let ok = with_c_str(text, |text| unsafe { inet_aton(text, &mut addr) });
    (ok != 0).then(|| Ipv4Addr::from(u32::from_be(addr.s_addr)))
}

/// The address of a text in the one form everybody writes, four decimal parts without
/// leading zeros and nothing else (`10.0.0.1`), read without a call into the C library;
/// `None` for every other text, even one `inet_aton` takes (those go to it). For such a
/// text `inet_aton` answers the same: each part is a decimal byte, as here.
fn plain_dotted_quad(text: &[u8]) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let (mut part, mut value, mut digits) = (0, 0u32, 0);
    for &b in text {
        match b {
            b'0'..=b'9' if digits < 3 && !(digits == 1 && value == 0) => {
                value = value * 10 + u32::from(b - b'0');
                digits += 1;
            }
            b'.' if digits > 0 && part < 3 => {
                octets[part] = u8::try_from(value).ok()?;
                (part, value, digits) = (part + 1, 0, 0);
            }
            _ => return None,
        }
    }
    if part != 3 || digits == 0 {
        return None;
    }
    octets[3] = u8::try_from(value).ok()?;
    Some(Ipv4Addr::from(octets))
}

/// `inet_pton(AF_INET, ...)`: strict dotted quad.
pub fn parse_inet_pton4(text: &[u8]) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    // SAFETY: a valid C string and a 4-byte destination, as AF_INET requires.
    let ok = with_c_str(text, |text| unsafe {
        inet_pton(libc::AF_INET, text, octets.as_mut_ptr().cast())
    });
    (ok > 0).then(|| Ipv4Addr::from(octets))
}

/// `inet_pton(AF_INET6, ...)`.
pub fn parse_inet_pton6(text: &[u8]) -> Option<Ipv6Addr> {
    // Every IPv6 text has a colon before any NUL, and a dot only in a dotted quad that
    // ends it: most IPv4 rules (`10.0.0.1`, `10.0.0.1:80`) need no call.
    let (mut colon, mut dot) = (false, false);
    for &b in text.iter().take_while(|&&b| b != 0) {
        match b {
            b':' if dot => return None,
            b':' => colon = true,
            b'.' => dot = true,
            _ => {}
        }
    }
    if !colon {
        return None;
    }
    let mut octets = [0u8; 16];
    // SAFETY: a valid C string and a 16-byte destination, as AF_INET6 requires.
    let ok = with_c_str(text, |text| unsafe {
        inet_pton(libc::AF_INET6, text, octets.as_mut_ptr().cast())
    });
    (ok > 0).then(|| Ipv6Addr::from(octets))
}

/// `inet_ntop`'s text of an address.
pub fn numeric_host(addr: IpAddr) -> String {
    match addr {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => inet_ntop6(&v6).unwrap_or_else(|| v6.to_string()),
    }
}

fn inet_ntop6(addr: &Ipv6Addr) -> Option<String> {
    let raw = addr.octets();
    let mut buf = [0 as c_char; 64];
    // SAFETY: `raw` is an in6_addr and `buf` is larger than INET6_ADDRSTRLEN.
    let text = unsafe {
        inet_ntop(
            libc::AF_INET6,
            raw.as_ptr().cast(),
            buf.as_mut_ptr(),
            buf.len() as libc::socklen_t,
        )
    };
    if text.is_null() {
        return None;
    }
    // SAFETY: on success inet_ntop wrote a NUL-terminated string into `buf`.
    Some(
        unsafe { CStr::from_ptr(buf.as_ptr()) }
            .to_string_lossy()
            .into_owned(),
    )
}

/// Runs a reentrant lookup with a scratch buffer that grows while the lookup reports
/// ERANGE; `lookup` returns the call's status and, on success, reads its answer.
fn with_scratch<T>(mut lookup: impl FnMut(&mut [c_char]) -> (c_int, Option<T>)) -> Option<T> {
    let mut size = 1024;
    while size <= 1 << 20 {
        let mut buf = vec![0 as c_char; size];
        match lookup(&mut buf) {
            (libc::ERANGE, _) => size *= 4,
            (0, answer) => return answer,
            _ => return None,
        }
    }
    None
}

/// ipvsadm's `host_to_addr`: `gethostbyname`, accepted only if the answer is IPv4; the
/// first address.
pub fn host_to_addr(name: &[u8]) -> Option<Ipv4Addr> {
    let name = c_string(name);
    if fixed_names() {
        return (name.as_bytes() == b"localhost").then_some(Ipv4Addr::LOCALHOST);
    }
    with_scratch(|buf| {
        // SAFETY: all-zero bytes are a valid `hostent` (null pointers, zero integers).
        let mut host: libc::hostent = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::hostent = std::ptr::null_mut();
        let mut h_errno: c_int = 0;
        // SAFETY: every pointer is valid for the duration of the call; `buf` has
        // `buf.len()` bytes.
        let rc = unsafe {
            gethostbyname_r(
                name.as_ptr(),
                &mut host,
                buf.as_mut_ptr(),
                buf.len(),
                &mut result,
                &mut h_errno,
            )
        };
        (rc, (!result.is_null()).then(|| first_ipv4(&host)).flatten())
    })
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
    if fixed_names() {
        return (name.as_bytes() == b"http").then_some(80);
    }
    let proto = c_string(proto.as_bytes());
    with_scratch(|buf| {
        // SAFETY: all-zero bytes are a valid `servent`.
        let mut serv: libc::servent = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::servent = std::ptr::null_mut();
        // SAFETY: every pointer is valid for the duration of the call.
        let rc = unsafe {
            getservbyname_r(
                name.as_ptr(),
                proto.as_ptr(),
                &mut serv,
                buf.as_mut_ptr(),
                buf.len(),
                &mut result,
            )
        };
        // `s_port` holds the port in network order in an int.
        (
            rc,
            (!result.is_null()).then(|| u16::from_be(serv.s_port as u16)),
        )
    })
}

/// `gethostbyaddr(addr)->h_name`.
pub fn host_name(addr: IpAddr) -> Option<Vec<u8>> {
    let (raw, family): (Vec<u8>, c_int) = match addr {
        IpAddr::V4(v4) => (v4.octets().to_vec(), libc::AF_INET),
        IpAddr::V6(v6) => (v6.octets().to_vec(), libc::AF_INET6),
    };
    with_scratch(|buf| {
        // SAFETY: hostent is plain data; all-zero is a valid value to be overwritten.
        let mut entry: libc::hostent = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::hostent = std::ptr::null_mut();
        let mut h_errno: c_int = 0;
        // SAFETY: every pointer refers to live memory of the declared size.
        let rc = unsafe {
            gethostbyaddr_r(
                raw.as_ptr().cast(),
                raw.len() as libc::socklen_t,
                family,
                &mut entry,
                buf.as_mut_ptr(),
                buf.len(),
                &mut result,
                &mut h_errno,
            )
        };
        let found = !result.is_null() && !entry.h_name.is_null();
        // SAFETY: h_name points into `buf` (alive here) and is NUL-terminated.
        (
            rc,
            found.then(|| unsafe { CStr::from_ptr(entry.h_name) }.to_bytes().to_vec()),
        )
    })
}

/// `getservbyport(htons(port), proto)->s_name`.
pub fn service_name(port: u16, proto: &CStr) -> Option<Vec<u8>> {
    with_scratch(|buf| {
        // SAFETY: servent is plain data; all-zero is a valid value to be overwritten.
        let mut entry: libc::servent = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::servent = std::ptr::null_mut();
        // SAFETY: every pointer refers to live memory of the declared size.
        let rc = unsafe {
            getservbyport_r(
                c_int::from(port.to_be()),
                proto.as_ptr(),
                &mut entry,
                buf.as_mut_ptr(),
                buf.len(),
                &mut result,
            )
        };
        let found = !result.is_null() && !entry.s_name.is_null();
        // SAFETY: s_name points into `buf` (alive here) and is NUL-terminated.
        (
            rc,
            found.then(|| unsafe { CStr::from_ptr(entry.s_name) }.to_bytes().to_vec()),
        )
    })
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
    fn plain_quads_read_as_inet_aton_reads_them() {
        for text in [
            "0.0.0.0",
            "10.0.0.1",
            "255.255.255.255",
            "1.22.133.4",
            "256.0.0.1",
            "01.2.3.4",
            "1.2.3",
            "1.2.3.4.",
            ".1.2.3",
            "1..2.3",
            "1.2.3.4 ",
            "1.2.3.0x4",
            "1.2.3.1000",
            "1.2.3.-4",
            "1.2.3.+4",
            "00.0.0.0",
            "",
        ] {
            let mut addr = libc::in_addr { s_addr: 0 };
            let c = c_string(text.as_bytes());
            // SAFETY: a valid C string and out pointer.
            let ok = unsafe { inet_aton(c.as_ptr(), &mut addr) } != 0;
            let libc_answer = ok.then(|| Ipv4Addr::from(u32::from_be(addr.s_addr)));
            assert_eq!(parse_inet_aton(text.as_bytes()), libc_answer, "{text:?}");
            if let Some(fast) = plain_dotted_quad(text.as_bytes()) {
                assert_eq!(Some(fast), libc_answer, "{text:?}");
            }
        }
        assert_eq!(
            plain_dotted_quad(b"1.2.3.4"),
            Some(Ipv4Addr::new(1, 2, 3, 4))
        );
        assert_eq!(plain_dotted_quad(b"01.2.3.4"), None);
    }

    #[test]
    fn dotted_texts_with_a_colon_after_are_not_ipv6() {
        for text in [
            "10.0.0.1:80",
            "::1.2.3.4:80",
            "1.2.3.4::",
            "::ffff:1.2.3.4",
            "::1",
        ] {
            let mut octets = [0u8; 16];
            let c = c_string(text.as_bytes());
            // SAFETY: a valid C string and a 16-byte destination.
            let ok = unsafe { inet_pton(libc::AF_INET6, c.as_ptr(), octets.as_mut_ptr().cast()) };
            let libc_answer = (ok > 0).then(|| Ipv6Addr::from(octets));
            assert_eq!(parse_inet_pton6(text.as_bytes()), libc_answer, "{text:?}");
        }
    }

    #[test]
    fn nul_ends_the_text() {
        assert_eq!(
            parse_inet_aton(b"10.0.0.1\0junk"),
            Some(Ipv4Addr::new(10, 0, 0, 1))
        );
    }
    #[test]
    fn pton_reads_proc_forms() {
        let full = b"2001:0db8:0000:0000:0000:0000:0000:0001";
        assert_eq!(parse_inet_pton6(full), Some("2001:db8::1".parse().unwrap()));
        assert_eq!(parse_inet_pton6(b"0A000064"), None);
        assert_eq!(
            parse_inet_pton4(b"10.0.0.100"),
            Some(Ipv4Addr::new(10, 0, 0, 100))
        );
        assert_eq!(parse_inet_pton4(b"0A000064"), None);
        assert_eq!(parse_inet_pton4(b"1\0"), None);
    }
}
