//! Address and port text as ipvsadm's `addrport_to_anyname` builds it: numeric with `-n`,
//! otherwise the resolver's canonical host name and the services database's port name.
//!
//! The lookups go through the same glibc calls ipvsadm makes (`gethostbyaddr`,
//! `getservbyport`, `inet_ntop`), so /etc/hosts, NSS and DNS answers, and the text of
//! unusual IPv6 addresses, come out identical.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::{CStr, c_int};
use std::net::IpAddr;

use crate::nss;

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

use crate::nss::numeric_host;

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
            let found = nss::host_name(addr);
            answers.borrow_mut().hosts.insert(addr, found.clone());
            found
        })
    }

    fn service_name(&mut self, port: u16, protocol: PortProtocol) -> Option<Vec<u8>> {
        ANSWERS.with(|answers| {
            if let Some(known) = answers.borrow().services.get(&(port, protocol)) {
                return known.clone();
            }
            let found = nss::service_name(port, protocol.database_name());
            answers
                .borrow_mut()
                .services
                .insert((port, protocol), found.clone());
            found
        })
    }
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
    fn system_lookup_localhost() {
        // /etc/hosts maps 127.0.0.1 on every system we build on.
        let name = SystemLookup.host_name("127.0.0.1".parse().unwrap());
        assert!(name.is_some());
    }
}
