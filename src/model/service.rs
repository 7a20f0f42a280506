use std::net::{IpAddr, Ipv4Addr};

/// The address family of a service or destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AddressFamily {
    Inet,
    Inet6,
}

impl AddressFamily {
    pub fn of(addr: &IpAddr) -> Self {
        match addr {
            IpAddr::V4(_) => AddressFamily::Inet,
            IpAddr::V6(_) => AddressFamily::Inet6,
        }
    }

    pub fn to_raw(self) -> u16 {
        match self {
            AddressFamily::Inet => libc::AF_INET as u16,
            AddressFamily::Inet6 => libc::AF_INET6 as u16,
        }
    }

    pub fn from_raw(raw: u16) -> Option<Self> {
        match raw as i32 {
            libc::AF_INET => Some(AddressFamily::Inet),
            libc::AF_INET6 => Some(AddressFamily::Inet6),
            _ => None,
        }
    }
}

/// The transport protocol of an address-based service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    Tcp,
    Udp,
    Sctp,
    /// Any other number: the kernel does not validate it over netlink, so one may be listed.
    Other(u16),
}

impl Protocol {
    pub fn to_raw(self) -> u16 {
        match self {
            Protocol::Tcp => libc::IPPROTO_TCP as u16,
            Protocol::Udp => libc::IPPROTO_UDP as u16,
            Protocol::Sctp => libc::IPPROTO_SCTP as u16,
            Protocol::Other(n) => n,
        }
    }

    pub fn from_raw(raw: u16) -> Self {
        match raw as i32 {
            libc::IPPROTO_TCP => Protocol::Tcp,
            libc::IPPROTO_UDP => Protocol::Udp,
            libc::IPPROTO_SCTP => Protocol::Sctp,
            _ => Protocol::Other(raw),
        }
    }
}

/// What identifies a virtual service: protocol, address and port, or a firewall mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ServiceKey {
    Addr {
        protocol: Protocol,
        addr: IpAddr,
        port: u16,
    },
    Fwmark {
        af: AddressFamily,
        mark: u32,
    },
}

impl ServiceKey {
    pub fn tcp(addr: IpAddr, port: u16) -> Self {
        ServiceKey::Addr {
            protocol: Protocol::Tcp,
            addr,
            port,
        }
    }

    pub fn udp(addr: IpAddr, port: u16) -> Self {
        ServiceKey::Addr {
            protocol: Protocol::Udp,
            addr,
            port,
        }
    }

    pub fn sctp(addr: IpAddr, port: u16) -> Self {
        ServiceKey::Addr {
            protocol: Protocol::Sctp,
            addr,
            port,
        }
    }

    pub fn fwmark(af: AddressFamily, mark: u32) -> Self {
        ServiceKey::Fwmark { af, mark }
    }

    pub fn af(&self) -> AddressFamily {
        match self {
            ServiceKey::Addr { addr, .. } => AddressFamily::of(addr),
            ServiceKey::Fwmark { af, .. } => *af,
        }
    }
}

/// `IP_VS_SVC_F_*` service flags.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ServiceFlags(pub u32);

impl ServiceFlags {
    pub const PERSISTENT: u32 = 0x0001;
    /// Kernel-internal; set in every listed service, ignored when sent. Read back into
    /// [`ServiceObserved::flags`](super::ServiceObserved), never into a [`Service`].
    pub const HASHED: u32 = 0x0002;
    pub const ONEPACKET: u32 = 0x0004;
    pub const SCHED1: u32 = 0x0008;
    pub const SCHED2: u32 = 0x0010;
    pub const SCHED3: u32 = 0x0020;
    /// `sh-fallback` and `mh-fallback` are SCHED1; `sh-port` and `mh-port` are SCHED2.
    pub const SCHED_SH_FALLBACK: u32 = Self::SCHED1;
    pub const SCHED_SH_PORT: u32 = Self::SCHED2;
    pub const SCHED_MH_FALLBACK: u32 = Self::SCHED1;
    pub const SCHED_MH_PORT: u32 = Self::SCHED2;

    /// The bits a rule can set (`-p`, `-o`, `-b`): the configuration part of the flags.
    pub const CONFIG: u32 =
        Self::PERSISTENT | Self::ONEPACKET | Self::SCHED1 | Self::SCHED2 | Self::SCHED3;

    pub fn contains(self, bits: u32) -> bool {
        self.0 & bits == bits
    }
}

/// Persistence granularity: an IPv4 mask, or an IPv6 prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Netmask {
    V4(Ipv4Addr),
    V6(u32),
}

impl Netmask {
    /// The default for a family: a host mask (255.255.255.255 or /128).
    pub fn host(af: AddressFamily) -> Self {
        match af {
            AddressFamily::Inet => Netmask::V4(Ipv4Addr::BROADCAST),
            AddressFamily::Inet6 => Netmask::V6(128),
        }
    }
}

/// ipvsadm's scheduler when none is given.
pub const DEFAULT_SCHEDULER: &str = "wlc";
/// `IPVS_SVC_PERSISTENT_TIMEOUT`: persistence without a timeout given.
pub const DEFAULT_PERSISTENT_TIMEOUT: u32 = 360;
/// The longest persistence timeout ipvsadm takes (`-p`, `--set`): 31 days.
pub const MAX_TIMEOUT: u32 = 86400 * 31;
/// `IP_VS_SCHEDNAME_MAXLEN - 1`: the longest scheduler name.
pub const SCHED_NAME_MAX: usize = 15;

/// A virtual service's configuration: everything a rule can say about it, nothing the
/// kernel counts or sets by itself (see [`ServiceObserved`](super::ServiceObserved)).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Service {
    pub key: ServiceKey,
    /// Scheduler module name without the `ip_vs_` prefix; the kernel lists `none` for none.
    pub scheduler: String,
    /// Only the [`ServiceFlags::CONFIG`] bits.
    pub flags: ServiceFlags,
    /// Persistence timeout in seconds (meaningful with `ServiceFlags::PERSISTENT`).
    pub timeout: u32,
    pub netmask: Netmask,
    /// Persistence engine, e.g. `sip`.
    pub pe_name: Option<String>,
}

impl Service {
    /// A service with ipvsadm's defaults: not persistent, host netmask, no engine.
    pub fn new(key: ServiceKey, scheduler: impl Into<String>) -> Self {
        Service {
            netmask: Netmask::host(key.af()),
            key,
            scheduler: scheduler.into(),
            flags: ServiceFlags::default(),
            timeout: 0,
            pe_name: None,
        }
    }

    /// Makes the service persistent for `timeout` seconds.
    pub fn persistent(mut self, timeout: u32) -> Self {
        self.flags.0 |= ServiceFlags::PERSISTENT;
        self.timeout = timeout;
        self
    }
}
