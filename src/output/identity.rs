//! A service's identity in the shape of libipvs' service entry: fwmark, family, protocol,
//! address and port all present, zero where they do not apply. ipvsadm's sorting and
//! printing test these raw fields (e.g. "is this a fwmark service" is `fwmark != 0`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::model::{AddressFamily, ServiceKey};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ServiceIdentity {
    pub fwmark: u32,
    pub af: AddressFamily,
    /// IP protocol number; 0 for fwmark services.
    pub protocol: u16,
    /// All zeros for fwmark services.
    pub addr: IpAddr,
    pub port: u16,
}

impl ServiceIdentity {
    pub(crate) fn of(key: &ServiceKey) -> Self {
        match *key {
            ServiceKey::Addr {
                protocol,
                addr,
                port,
            } => ServiceIdentity {
                fwmark: 0,
                af: AddressFamily::of(&addr),
                protocol: protocol.to_raw(),
                addr,
                port,
            },
            ServiceKey::Fwmark { af, mark } => ServiceIdentity {
                fwmark: mark,
                af,
                protocol: 0,
                addr: unspecified(af),
                port: 0,
            },
        }
    }

    /// ipvsadm tests the mark, not a kind: a mark of 0 prints as an address service.
    pub(crate) fn is_fwmark(&self) -> bool {
        self.fwmark != 0
    }
}

fn unspecified(af: AddressFamily) -> IpAddr {
    match af {
        AddressFamily::Inet => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        AddressFamily::Inet6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    }
}
