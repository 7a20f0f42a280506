use std::net::IpAddr;

use super::AddressFamily;

/// How packets reach a real server (`IP_VS_CONN_F_*` forwarding methods).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FwdMethod {
    /// `-m`, NAT.
    Masq,
    Local,
    /// `-i`, IP-in-IP and the other tunnel types.
    Tunnel,
    /// `-g`, direct routing.
    Route,
    Bypass,
}

impl FwdMethod {
    pub fn to_raw(self) -> u32 {
        match self {
            FwdMethod::Masq => 0,
            FwdMethod::Local => 1,
            FwdMethod::Tunnel => 2,
            FwdMethod::Route => 3,
            FwdMethod::Bypass => 4,
        }
    }

    /// Reads the bits `IP_VS_CONN_F_FWD_MASK` selects.
    pub fn from_raw(raw: u32) -> Option<Self> {
        match raw & 0x7 {
            0 => Some(FwdMethod::Masq),
            1 => Some(FwdMethod::Local),
            2 => Some(FwdMethod::Tunnel),
            3 => Some(FwdMethod::Route),
            4 => Some(FwdMethod::Bypass),
            _ => None,
        }
    }

    /// Whether the kernel may list a destination given this method with `listed`: it
    /// lists one whose address is local to the director as local, whatever it was given.
    pub fn may_list_as(self, listed: FwdMethod) -> bool {
        self == listed || listed == FwdMethod::Local
    }
}

/// Encapsulation of a tunnelled destination (`IP_VS_CONN_F_TUNNEL_TYPE_*`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum TunnelType {
    #[default]
    Ipip,
    Gue,
    Gre,
    Other(u8),
}

impl TunnelType {
    pub fn to_raw(self) -> u8 {
        match self {
            TunnelType::Ipip => 0,
            TunnelType::Gue => 1,
            TunnelType::Gre => 2,
            TunnelType::Other(n) => n,
        }
    }

    pub fn from_raw(raw: u8) -> Self {
        match raw {
            0 => TunnelType::Ipip,
            1 => TunnelType::Gue,
            2 => TunnelType::Gre,
            n => TunnelType::Other(n),
        }
    }
}

/// `IP_VS_TUNNEL_ENCAP_FLAG_*`: no bits is `--tun-nocsum`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct TunnelFlags(pub u16);

impl TunnelFlags {
    pub const CSUM: u16 = 0x1;
    pub const REMCSUM: u16 = 0x2;
}

/// What identifies a destination within its service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DestKey {
    pub addr: IpAddr,
    pub port: u16,
}

/// A real server's configuration behind a virtual service: everything a rule can say
/// about it (its counters are in [`DestObserved`](super::DestObserved)).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Destination {
    pub addr: IpAddr,
    pub port: u16,
    pub fwd: FwdMethod,
    pub weight: u32,
    pub u_threshold: u32,
    pub l_threshold: u32,
    pub tun_type: TunnelType,
    /// Destination port of GUE encapsulation.
    pub tun_port: u16,
    pub tun_flags: TunnelFlags,
}

impl Destination {
    /// A destination with ipvsadm's defaults: weight 1, no thresholds, IPIP tunnels.
    pub fn new(addr: IpAddr, port: u16, fwd: FwdMethod) -> Self {
        Destination {
            addr,
            port,
            fwd,
            weight: 1,
            u_threshold: 0,
            l_threshold: 0,
            tun_type: TunnelType::Ipip,
            tun_port: 0,
            tun_flags: TunnelFlags::default(),
        }
    }

    pub fn weight(mut self, weight: u32) -> Self {
        self.weight = weight;
        self
    }

    pub fn key(&self) -> DestKey {
        DestKey {
            addr: self.addr,
            port: self.port,
        }
    }

    pub fn af(&self) -> AddressFamily {
        AddressFamily::of(&self.addr)
    }
}
