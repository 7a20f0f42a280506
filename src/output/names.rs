//! Address and port text as ipvsadm's `addrport_to_anyname` builds it: numeric with `-n`,
//! otherwise the resolver's canonical host name and the services database's port name.
//!
//! The lookups go through the same glibc calls ipvsadm makes (`gethostbyaddr`,
//! `getservbyport`, `inet_ntop`), so /etc/hosts, NSS and DNS answers, and the text of
//! unusual IPv6 addresses, come out identical.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// ipvsadm formats the text into a 60-byte buffer.
const ADDR_TEXT_MAX: usize = 59;

/// The protocols whose port numbers have names (`getservbyport`'s second argument).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum PortProtocol {
    Tcp,
    Udp,
    Sctp,
}

impl PortProtocol {
    /// From an IP protocol number; any other protocol (and fwmark services' 0) has only
    /// numeric ports.
    pub(crate) fn from_raw(protocol: u16) -> Option<Self> {
        match protocol as c_int {
            libc::IPPROTO_TCP => Some(PortProtocol::Tcp),
            libc::IPPROTO_UDP => Some(PortProtocol::Udp),
            libc::IPPROTO_SCTP => Some(PortProtocol::Sctp),
            _ => None,
        }
    }

    fn database_name(self) -> &'static CStr {
        match self {
            PortProtocol::Tcp => c"tcp",
            PortProtocol::Udp => c"udp",
            PortProtocol::Sctp => c"sctp",
        }
    }
}

/// Where names come from: the system, or a fixed table in tests.
pub(crate) trait NameLookup {
    /// The canonical name of a host, if the resolver knows one.
    fn host_name(&mut self, addr: IpAddr) -> Option<Vec<u8>>;
    /// The name of a port, if the services database has one.
    fn service_name(&mut self, port: u16, protocol: PortProtocol) -> Option<Vec<u8>>;
}

/// `ADDR:PORT` (IPv6 in brackets), numeric or named, cut to 59 bytes.
pub(crate) fn addr_port_text(
    addr: IpAddr,
    port: u16,
    protocol: Option<PortProtocol>,
    numeric: bool,
    lookup: &mut dyn NameLookup,
) -> Vec<u8> {
    let (host, port_text) = if numeric {
        (
            numeric_host(addr).into_bytes(),
            port.to_string().into_bytes(),
        )
    } else {
        let host = lookup
            .host_name(addr)
            .unwrap_or_else(|| numeric_host(addr).into_bytes());
        let port_text = protocol
            .and_then(|p| lookup.service_name(port, p))
            .unwrap_or_else(|| port.to_string().into_bytes());
        (host, port_text)
    };
    let mut text = Vec::with_capacity(host.len() + port_text.len() + 3);
    let bracketed = addr.is_ipv6();
    if bracketed {
        text.push(b'[');
    }
    text.extend_from_slice(&host);
    if bracketed {
        text.push(b']');
    }
    text.push(b':');
    text.extend_from_slice(&port_text);
    super::text::cut(text, ADDR_TEXT_MAX)
}

/// `inet_ntop`'s text, which for some IPv6 addresses (e.g. `::1.2.3.4`) differs from
/// Rust's `Display`.
pub(crate) fn numeric_host(addr: IpAddr) -> String {
    match addr {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => glibc_ntop6(&v6).unwrap_or_else(|| v6.to_string()),
    }
}

/// `inet_pton(AF_INET6, …)`.
pub(crate) fn parse_ipv6(text: &[u8]) -> Option<Ipv6Addr> {
    let text = CString::new(text).ok()?;
    let mut raw = [0u8; 16];
    // SAFETY: `text` is NUL-terminated and `raw` has room for an in6_addr.
    let ok = unsafe { inet_pton(libc::AF_INET6, text.as_ptr(), raw.as_mut_ptr().cast()) };
    (ok == 1).then(|| Ipv6Addr::from(raw))
}

/// `inet_pton(AF_INET, …)`: strict dotted quad.
pub(crate) fn parse_ipv4(text: &[u8]) -> Option<Ipv4Addr> {
    let text = CString::new(text).ok()?;
    let mut raw = [0u8; 4];
    // SAFETY: `text` is NUL-terminated and `raw` has room for an in_addr.
    let ok = unsafe { inet_pton(libc::AF_INET, text.as_ptr(), raw.as_mut_ptr().cast()) };
    (ok == 1).then(|| Ipv4Addr::from(raw))
}

fn glibc_ntop6(addr: &Ipv6Addr) -> Option<String> {
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
    let text = unsafe { CStr::from_ptr(buf.as_ptr()) };
    Some(text.to_string_lossy().into_owned())
}

/// The system's resolver and services database, as ipvsadm queries them. Answers are
/// remembered for the life of the process: a listing asks about the same addresses and
/// ports many times, and ipvsadm would get the same answer each time.
pub(crate) struct SystemLookup;

#[derive(Default)]
struct Answers {
    hosts: HashMap<IpAddr, Option<Vec<u8>>>,
    services: HashMap<(u16, PortProtocol), Option<Vec<u8>>>,
}

thread_local! {
    static ANSWERS: RefCell<Answers> = RefCell::new(Answers::default());
}

impl NameLookup for SystemLookup {
    fn host_name(&mut self, addr: IpAddr) -> Option<Vec<u8>> {
        ANSWERS.with(|answers| {
            if let Some(known) = answers.borrow().hosts.get(&addr) {
                return known.clone();
            }
            let found = gethostbyaddr_name(addr);
            answers.borrow_mut().hosts.insert(addr, found.clone());
            found
        })
    }

    fn service_name(&mut self, port: u16, protocol: PortProtocol) -> Option<Vec<u8>> {
        ANSWERS.with(|answers| {
            if let Some(known) = answers.borrow().services.get(&(port, protocol)) {
                return known.clone();
            }
            let found = getservbyport_name(port, protocol);
            answers
                .borrow_mut()
                .services
                .insert((port, protocol), found.clone());
            found
        })
    }
}

/// Growing scratch space for the reentrant lookups, which report ERANGE when it is short.
const FIRST_BUFFER: usize = 1024;
const LAST_BUFFER: usize = 1 << 20;

/// `gethostbyaddr(addr)->h_name`.
fn gethostbyaddr_name(addr: IpAddr) -> Option<Vec<u8>> {
    let (raw, family): (Vec<u8>, c_int) = match addr {
        IpAddr::V4(v4) => (v4.octets().to_vec(), libc::AF_INET),
        IpAddr::V6(v6) => (v6.octets().to_vec(), libc::AF_INET6),
    };
    let mut size = FIRST_BUFFER;
    while size <= LAST_BUFFER {
        let mut buf = vec![0 as c_char; size];
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
        if rc == libc::ERANGE {
            size *= 4;
            continue;
        }
        if rc != 0 || result.is_null() || entry.h_name.is_null() {
            return None;
        }
        // SAFETY: h_name points into `buf` (still alive) and is NUL-terminated.
        return Some(unsafe { CStr::from_ptr(entry.h_name) }.to_bytes().to_vec());
    }
    None
}

/// `getservbyport(htons(port), proto)->s_name`.
fn getservbyport_name(port: u16, protocol: PortProtocol) -> Option<Vec<u8>> {
    let mut size = FIRST_BUFFER;
    while size <= LAST_BUFFER {
        let mut buf = vec![0 as c_char; size];
        // SAFETY: servent is plain data; all-zero is a valid value to be overwritten.
        let mut entry: libc::servent = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::servent = std::ptr::null_mut();
        // SAFETY: every pointer refers to live memory of the declared size.
        let rc = unsafe {
            getservbyport_r(
                c_int::from(port.to_be()),
                protocol.database_name().as_ptr(),
                &mut entry,
                buf.as_mut_ptr(),
                buf.len(),
                &mut result,
            )
        };
        if rc == libc::ERANGE {
            size *= 4;
            continue;
        }
        if rc != 0 || result.is_null() || entry.s_name.is_null() {
            return None;
        }
        // SAFETY: s_name points into `buf` (still alive) and is NUL-terminated.
        return Some(unsafe { CStr::from_ptr(entry.s_name) }.to_bytes().to_vec());
    }
    None
}

// glibc functions the libc crate does not declare.
unsafe extern "C" {
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
    fn getservbyport_r(
        port: c_int,
        proto: *const c_char,
        result_buf: *mut libc::servent,
        buf: *mut c_char,
        buflen: libc::size_t,
        result: *mut *mut libc::servent,
    ) -> c_int;
    fn inet_ntop(
        family: c_int,
        src: *const c_void,
        dst: *mut c_char,
        size: libc::socklen_t,
    ) -> *const c_char;
    fn inet_pton(family: c_int, src: *const c_char, dst: *mut c_void) -> c_int;
}

#[cfg(test)]
pub(crate) mod fake {
    //! A fixed name table for tests, so they do not depend on the host's resolver.

    use super::{IpAddr, NameLookup, PortProtocol};

    #[derive(Default)]
    pub(crate) struct FakeLookup {
        pub hosts: Vec<(IpAddr, &'static str)>,
        pub services: Vec<(u16, PortProtocol, &'static str)>,
    }

    impl FakeLookup {
        /// localhost, the VM's web hosts and a few well-known ports.
        pub(crate) fn typical() -> Self {
            use PortProtocol::*;
            FakeLookup {
                hosts: vec![
                    ("127.0.0.1".parse().unwrap(), "localhost"),
                    ("10.0.0.1".parse().unwrap(), "web1.test"),
                    ("10.0.0.2".parse().unwrap(), "web2.test"),
                    ("2001:db8::1".parse().unwrap(), "web6.test"),
                ],
                services: vec![
                    (22, Tcp, "ssh"),
                    (53, Tcp, "domain"),
                    (53, Udp, "domain"),
                    (80, Tcp, "http"),
                    (8080, Tcp, "http-alt"),
                    (5599, Tcp, "clc-build-daemon"),
                ],
            }
        }
    }

    impl NameLookup for FakeLookup {
        fn host_name(&mut self, addr: IpAddr) -> Option<Vec<u8>> {
            self.hosts
                .iter()
                .find(|(a, _)| *a == addr)
                .map(|(_, name)| name.as_bytes().to_vec())
        }

        fn service_name(&mut self, port: u16, protocol: PortProtocol) -> Option<Vec<u8>> {
            self.services
                .iter()
                .find(|(p, proto, _)| *p == port && *proto == protocol)
                .map(|(_, _, name)| name.as_bytes().to_vec())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fake::FakeLookup;
    use super::*;

    fn text(addr: &str, port: u16, proto: Option<PortProtocol>, numeric: bool) -> String {
        let bytes = addr_port_text(
            addr.parse().unwrap(),
            port,
            proto,
            numeric,
            &mut FakeLookup::typical(),
        );
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn numeric_forms() {
        let tcp = Some(PortProtocol::Tcp);
        assert_eq!(text("10.0.0.1", 80, tcp, true), "10.0.0.1:80");
        assert_eq!(text("2001:db8::1", 80, tcp, true), "[2001:db8::1]:80");
        assert_eq!(
            text("::ffff:10.0.0.5", 443, tcp, true),
            "[::ffff:10.0.0.5]:443"
        );
    }

    #[test]
    fn named_forms() {
        let tcp = Some(PortProtocol::Tcp);
        assert_eq!(text("10.0.0.1", 80, tcp, false), "web1.test:http");
        assert_eq!(text("10.0.0.9", 80, tcp, false), "10.0.0.9:http");
        assert_eq!(text("2001:db8::1", 80, tcp, false), "[web6.test]:http");
        // Fwmark services have no protocol: ports stay numeric, hosts are named.
        assert_eq!(text("10.0.0.1", 80, None, false), "web1.test:80");
        assert_eq!(
            text("10.0.0.1", 80, Some(PortProtocol::Sctp), false),
            "web1.test:80"
        );
    }

    #[test]
    fn cut_at_59_bytes() {
        let mut lookup = FakeLookup::typical();
        lookup
            .hosts
            .push(("10.9.9.9".parse().unwrap(), &"x".repeat(70).leak()[..]));
        let out = addr_port_text("10.9.9.9".parse().unwrap(), 1, None, false, &mut lookup);
        assert_eq!(out.len(), 59);
    }

    #[test]
    fn glibc_ipv6_text() {
        // inet_ntop writes IPv4-compatible addresses with a dotted tail; Rust does not.
        assert_eq!(numeric_host("::1.2.3.4".parse().unwrap()), "::1.2.3.4");
        assert_eq!(
            numeric_host("2001:db8:0:1::1".parse().unwrap()),
            "2001:db8:0:1::1"
        );
    }

    #[test]
    fn pton() {
        let full = b"2001:0db8:0000:0000:0000:0000:0000:0001";
        assert_eq!(parse_ipv6(full), Some("2001:db8::1".parse().unwrap()));
        assert_eq!(parse_ipv6(b"0A000064"), None);
        assert_eq!(
            parse_ipv4(b"10.0.0.100"),
            Some(Ipv4Addr::new(10, 0, 0, 100))
        );
        assert_eq!(parse_ipv4(b"0A000064"), None);
        assert_eq!(parse_ipv4(b"1\0"), None);
    }

    #[test]
    fn system_lookup_localhost() {
        // /etc/hosts maps 127.0.0.1 on every system we build on.
        let name = SystemLookup.host_name("127.0.0.1".parse().unwrap());
        assert!(name.is_some());
    }
}
