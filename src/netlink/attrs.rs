//! The IPVS generic netlink vocabulary of `include/uapi/linux/ip_vs.h`: commands and
//! attributes, one enum per attribute space, each variant named after its uapi constant
//! (`IPVS_SVC_ATTR_SCHED_NAME` is `SvcAttr::SchedName`). Every enum parses and emits
//! symmetrically; attributes this code does not know (a newer kernel's) parse as `Other`
//! and are ignored by the model.

use super::DecodeError;
use super::nla::{
    self, Nla, NlaIter, ParseNla, parse_addr, parse_be16, parse_string, parse_u8, parse_u16,
    parse_u32, parse_u64, put_string,
};
use crate::model::Stats;

/// `IPVS_GENL_NAME`: the generic netlink family name.
pub const IPVS_GENL_NAME: &str = "IPVS";
/// `IPVS_GENL_VERSION`.
pub const IPVS_GENL_VERSION: u8 = 1;

/// `enum { IPVS_CMD_* }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum IpvsCmd {
    Unspec = 0,
    NewService = 1,
    SetService = 2,
    DelService = 3,
    GetService = 4,
    NewDest = 5,
    SetDest = 6,
    DelDest = 7,
    GetDest = 8,
    NewDaemon = 9,
    DelDaemon = 10,
    GetDaemon = 11,
    SetConfig = 12,
    GetConfig = 13,
    SetInfo = 14,
    GetInfo = 15,
    Zero = 16,
    Flush = 17,
}

impl TryFrom<u8> for IpvsCmd {
    type Error = DecodeError;
    fn try_from(value: u8) -> Result<Self, DecodeError> {
        use IpvsCmd::*;
        const ALL: [IpvsCmd; 18] = [
            Unspec, NewService, SetService, DelService, GetService, NewDest, SetDest, DelDest,
            GetDest, NewDaemon, DelDaemon, GetDaemon, SetConfig, GetConfig, SetInfo, GetInfo, Zero,
            Flush,
        ];
        ALL.get(value as usize)
            .copied()
            .ok_or_else(|| DecodeError::new(format!("unknown IPVS command {value}")))
    }
}

/// `IPVS_CMD_ATTR_*`: top-level attributes of every command but GET_INFO's reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CmdAttr {
    Service(Vec<SvcAttr>),
    Dest(Vec<DestAttr>),
    Daemon(Vec<DaemonAttr>),
    TimeoutTcp(u32),
    TimeoutTcpFin(u32),
    TimeoutUdp(u32),
    Other(u16, Vec<u8>),
}

pub(crate) const IPVS_CMD_ATTR_SERVICE: u16 = 1;
pub(crate) const IPVS_CMD_ATTR_DEST: u16 = 2;
const IPVS_CMD_ATTR_DAEMON: u16 = 3;
const IPVS_CMD_ATTR_TIMEOUT_TCP: u16 = 4;
const IPVS_CMD_ATTR_TIMEOUT_TCP_FIN: u16 = 5;
const IPVS_CMD_ATTR_TIMEOUT_UDP: u16 = 6;

impl Nla for CmdAttr {
    fn kind(&self) -> u16 {
        match self {
            CmdAttr::Service(_) => IPVS_CMD_ATTR_SERVICE,
            CmdAttr::Dest(_) => IPVS_CMD_ATTR_DEST,
            CmdAttr::Daemon(_) => IPVS_CMD_ATTR_DAEMON,
            CmdAttr::TimeoutTcp(_) => IPVS_CMD_ATTR_TIMEOUT_TCP,
            CmdAttr::TimeoutTcpFin(_) => IPVS_CMD_ATTR_TIMEOUT_TCP_FIN,
            CmdAttr::TimeoutUdp(_) => IPVS_CMD_ATTR_TIMEOUT_UDP,
            CmdAttr::Other(kind, _) => *kind,
        }
    }

    fn emit_value(&self, buf: &mut Vec<u8>) {
        match self {
            CmdAttr::Service(attrs) => nla::emit_nested(attrs, buf),
            CmdAttr::Dest(attrs) => nla::emit_nested(attrs, buf),
            CmdAttr::Daemon(attrs) => nla::emit_nested(attrs, buf),
            CmdAttr::TimeoutTcp(v) | CmdAttr::TimeoutTcpFin(v) | CmdAttr::TimeoutUdp(v) => {
                buf.extend_from_slice(&v.to_ne_bytes())
            }
            CmdAttr::Other(_, bytes) => buf.extend_from_slice(bytes),
        }
    }
}

impl ParseNla for CmdAttr {
    fn parse(kind: u16, payload: &[u8]) -> Result<Self, DecodeError> {
        Ok(match kind {
            IPVS_CMD_ATTR_SERVICE => CmdAttr::Service(nla::parse_all(payload)?),
            IPVS_CMD_ATTR_DEST => CmdAttr::Dest(nla::parse_all(payload)?),
            IPVS_CMD_ATTR_DAEMON => CmdAttr::Daemon(nla::parse_all(payload)?),
            IPVS_CMD_ATTR_TIMEOUT_TCP => CmdAttr::TimeoutTcp(parse_u32(payload, "TIMEOUT_TCP")?),
            IPVS_CMD_ATTR_TIMEOUT_TCP_FIN => {
                CmdAttr::TimeoutTcpFin(parse_u32(payload, "TIMEOUT_TCP_FIN")?)
            }
            IPVS_CMD_ATTR_TIMEOUT_UDP => CmdAttr::TimeoutUdp(parse_u32(payload, "TIMEOUT_UDP")?),
            other => CmdAttr::Other(other, payload.to_vec()),
        })
    }
}

/// `struct ip_vs_flags`: flags and the mask of the bits that `flags` sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpVsFlags {
    pub flags: u32,
    pub mask: u32,
}

/// `IPVS_SVC_ATTR_*`: inside `IPVS_CMD_ATTR_SERVICE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SvcAttr {
    /// Host order: `AF_INET` or `AF_INET6`.
    Af(u16),
    /// Host order: IP protocol number.
    Protocol(u16),
    /// Network order; IPv4 in the first 4 bytes.
    Addr([u8; 16]),
    /// Host-order value, sent as `__be16`.
    Port(u16),
    Fwmark(u32),
    SchedName(String),
    Flags(IpVsFlags),
    /// Persistence timeout, seconds.
    Timeout(u32),
    /// The raw u32 as stored: IPv4 a network-order mask, IPv6 a host-order prefix length.
    Netmask([u8; 4]),
    Stats(Stats),
    PeName(String),
    Stats64(Stats),
    Other(u16, Vec<u8>),
}

const IPVS_SVC_ATTR_AF: u16 = 1;
const IPVS_SVC_ATTR_PROTOCOL: u16 = 2;
const IPVS_SVC_ATTR_ADDR: u16 = 3;
const IPVS_SVC_ATTR_PORT: u16 = 4;
const IPVS_SVC_ATTR_FWMARK: u16 = 5;
pub(crate) const IPVS_SVC_ATTR_SCHED_NAME: u16 = 6;
const IPVS_SVC_ATTR_FLAGS: u16 = 7;
const IPVS_SVC_ATTR_TIMEOUT: u16 = 8;
const IPVS_SVC_ATTR_NETMASK: u16 = 9;
const IPVS_SVC_ATTR_STATS: u16 = 10;
pub(crate) const IPVS_SVC_ATTR_PE_NAME: u16 = 11;
const IPVS_SVC_ATTR_STATS64: u16 = 12;

impl Nla for SvcAttr {
    fn kind(&self) -> u16 {
        match self {
            SvcAttr::Af(_) => IPVS_SVC_ATTR_AF,
            SvcAttr::Protocol(_) => IPVS_SVC_ATTR_PROTOCOL,
            SvcAttr::Addr(_) => IPVS_SVC_ATTR_ADDR,
            SvcAttr::Port(_) => IPVS_SVC_ATTR_PORT,
            SvcAttr::Fwmark(_) => IPVS_SVC_ATTR_FWMARK,
            SvcAttr::SchedName(_) => IPVS_SVC_ATTR_SCHED_NAME,
            SvcAttr::Flags(_) => IPVS_SVC_ATTR_FLAGS,
            SvcAttr::Timeout(_) => IPVS_SVC_ATTR_TIMEOUT,
            SvcAttr::Netmask(_) => IPVS_SVC_ATTR_NETMASK,
            SvcAttr::Stats(_) => IPVS_SVC_ATTR_STATS,
            SvcAttr::PeName(_) => IPVS_SVC_ATTR_PE_NAME,
            SvcAttr::Stats64(_) => IPVS_SVC_ATTR_STATS64,
            SvcAttr::Other(kind, _) => *kind,
        }
    }

    fn emit_value(&self, buf: &mut Vec<u8>) {
        match self {
            SvcAttr::Af(v) | SvcAttr::Protocol(v) => buf.extend_from_slice(&v.to_ne_bytes()),
            SvcAttr::Addr(addr) => buf.extend_from_slice(addr),
            SvcAttr::Port(port) => buf.extend_from_slice(&port.to_be_bytes()),
            SvcAttr::Fwmark(v) | SvcAttr::Timeout(v) => buf.extend_from_slice(&v.to_ne_bytes()),
            SvcAttr::SchedName(s) | SvcAttr::PeName(s) => put_string(buf, s),
            SvcAttr::Flags(f) => {
                buf.extend_from_slice(&f.flags.to_ne_bytes());
                buf.extend_from_slice(&f.mask.to_ne_bytes());
            }
            SvcAttr::Netmask(raw) => buf.extend_from_slice(raw),
            SvcAttr::Stats(stats) => stats.emit(buf, StatsWidth::Narrow),
            SvcAttr::Stats64(stats) => stats.emit(buf, StatsWidth::Wide),
            SvcAttr::Other(_, bytes) => buf.extend_from_slice(bytes),
        }
    }
}

impl ParseNla for SvcAttr {
    fn parse(kind: u16, payload: &[u8]) -> Result<Self, DecodeError> {
        Ok(match kind {
            IPVS_SVC_ATTR_AF => SvcAttr::Af(parse_u16(payload, "SVC_ATTR_AF")?),
            IPVS_SVC_ATTR_PROTOCOL => SvcAttr::Protocol(parse_u16(payload, "SVC_ATTR_PROTOCOL")?),
            IPVS_SVC_ATTR_ADDR => SvcAttr::Addr(parse_addr(payload, "SVC_ATTR_ADDR")?),
            IPVS_SVC_ATTR_PORT => SvcAttr::Port(parse_be16(payload, "SVC_ATTR_PORT")?),
            IPVS_SVC_ATTR_FWMARK => SvcAttr::Fwmark(parse_u32(payload, "SVC_ATTR_FWMARK")?),
            IPVS_SVC_ATTR_SCHED_NAME => {
                SvcAttr::SchedName(parse_string(payload, "SVC_ATTR_SCHED_NAME")?)
            }
            IPVS_SVC_ATTR_FLAGS => {
                if payload.len() != 8 {
                    return Err(DecodeError::new("SVC_ATTR_FLAGS: expected 8 bytes"));
                }
                SvcAttr::Flags(IpVsFlags {
                    flags: parse_u32(&payload[..4], "SVC_ATTR_FLAGS")?,
                    mask: parse_u32(&payload[4..], "SVC_ATTR_FLAGS")?,
                })
            }
            IPVS_SVC_ATTR_TIMEOUT => SvcAttr::Timeout(parse_u32(payload, "SVC_ATTR_TIMEOUT")?),
            IPVS_SVC_ATTR_NETMASK => SvcAttr::Netmask(
                payload
                    .try_into()
                    .map_err(|_| DecodeError::new("SVC_ATTR_NETMASK: expected 4 bytes"))?,
            ),
            IPVS_SVC_ATTR_STATS => SvcAttr::Stats(Stats::parse(payload)?),
            IPVS_SVC_ATTR_PE_NAME => SvcAttr::PeName(parse_string(payload, "SVC_ATTR_PE_NAME")?),
            IPVS_SVC_ATTR_STATS64 => SvcAttr::Stats64(Stats::parse(payload)?),
            other => SvcAttr::Other(other, payload.to_vec()),
        })
    }
}

/// `IPVS_DEST_ATTR_*`: inside `IPVS_CMD_ATTR_DEST`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DestAttr {
    Addr([u8; 16]),
    /// Host-order value, sent as `__be16`.
    Port(u16),
    /// `IP_VS_CONN_F_*` forwarding bits (masked with `IP_VS_CONN_F_FWD_MASK` by the kernel).
    FwdMethod(u32),
    Weight(u32),
    UThresh(u32),
    LThresh(u32),
    ActiveConns(u32),
    InactConns(u32),
    PersistConns(u32),
    Stats(Stats),
    AddrFamily(u16),
    Stats64(Stats),
    TunType(u8),
    /// Host-order value, sent as `__be16`.
    TunPort(u16),
    TunFlags(u16),
    Other(u16, Vec<u8>),
}

const IPVS_DEST_ATTR_ADDR: u16 = 1;
const IPVS_DEST_ATTR_PORT: u16 = 2;
const IPVS_DEST_ATTR_FWD_METHOD: u16 = 3;
const IPVS_DEST_ATTR_WEIGHT: u16 = 4;
const IPVS_DEST_ATTR_U_THRESH: u16 = 5;
const IPVS_DEST_ATTR_L_THRESH: u16 = 6;
const IPVS_DEST_ATTR_ACTIVE_CONNS: u16 = 7;
const IPVS_DEST_ATTR_INACT_CONNS: u16 = 8;
const IPVS_DEST_ATTR_PERSIST_CONNS: u16 = 9;
const IPVS_DEST_ATTR_STATS: u16 = 10;
const IPVS_DEST_ATTR_ADDR_FAMILY: u16 = 11;
const IPVS_DEST_ATTR_STATS64: u16 = 12;
const IPVS_DEST_ATTR_TUN_TYPE: u16 = 13;
const IPVS_DEST_ATTR_TUN_PORT: u16 = 14;
const IPVS_DEST_ATTR_TUN_FLAGS: u16 = 15;

impl Nla for DestAttr {
    fn kind(&self) -> u16 {
        match self {
            DestAttr::Addr(_) => IPVS_DEST_ATTR_ADDR,
            DestAttr::Port(_) => IPVS_DEST_ATTR_PORT,
            DestAttr::FwdMethod(_) => IPVS_DEST_ATTR_FWD_METHOD,
            DestAttr::Weight(_) => IPVS_DEST_ATTR_WEIGHT,
            DestAttr::UThresh(_) => IPVS_DEST_ATTR_U_THRESH,
            DestAttr::LThresh(_) => IPVS_DEST_ATTR_L_THRESH,
            DestAttr::ActiveConns(_) => IPVS_DEST_ATTR_ACTIVE_CONNS,
            DestAttr::InactConns(_) => IPVS_DEST_ATTR_INACT_CONNS,
            DestAttr::PersistConns(_) => IPVS_DEST_ATTR_PERSIST_CONNS,
            DestAttr::Stats(_) => IPVS_DEST_ATTR_STATS,
            DestAttr::AddrFamily(_) => IPVS_DEST_ATTR_ADDR_FAMILY,
            DestAttr::Stats64(_) => IPVS_DEST_ATTR_STATS64,
            DestAttr::TunType(_) => IPVS_DEST_ATTR_TUN_TYPE,
            DestAttr::TunPort(_) => IPVS_DEST_ATTR_TUN_PORT,
            DestAttr::TunFlags(_) => IPVS_DEST_ATTR_TUN_FLAGS,
            DestAttr::Other(kind, _) => *kind,
        }
    }

    fn emit_value(&self, buf: &mut Vec<u8>) {
        match self {
            DestAttr::Addr(addr) => buf.extend_from_slice(addr),
            DestAttr::Port(port) | DestAttr::TunPort(port) => {
                buf.extend_from_slice(&port.to_be_bytes())
            }
            DestAttr::FwdMethod(v)
            | DestAttr::Weight(v)
            | DestAttr::UThresh(v)
            | DestAttr::LThresh(v)
            | DestAttr::ActiveConns(v)
            | DestAttr::InactConns(v)
            | DestAttr::PersistConns(v) => buf.extend_from_slice(&v.to_ne_bytes()),
            DestAttr::Stats(stats) => stats.emit(buf, StatsWidth::Narrow),
            DestAttr::Stats64(stats) => stats.emit(buf, StatsWidth::Wide),
            DestAttr::AddrFamily(v) | DestAttr::TunFlags(v) => {
                buf.extend_from_slice(&v.to_ne_bytes())
            }
            DestAttr::TunType(v) => buf.push(*v),
            DestAttr::Other(_, bytes) => buf.extend_from_slice(bytes),
        }
    }
}

impl ParseNla for DestAttr {
    fn parse(kind: u16, payload: &[u8]) -> Result<Self, DecodeError> {
        let u32_of = |what| parse_u32(payload, what);
        Ok(match kind {
            IPVS_DEST_ATTR_ADDR => DestAttr::Addr(parse_addr(payload, "DEST_ATTR_ADDR")?),
            IPVS_DEST_ATTR_PORT => DestAttr::Port(parse_be16(payload, "DEST_ATTR_PORT")?),
            IPVS_DEST_ATTR_FWD_METHOD => DestAttr::FwdMethod(u32_of("DEST_ATTR_FWD_METHOD")?),
            IPVS_DEST_ATTR_WEIGHT => DestAttr::Weight(u32_of("DEST_ATTR_WEIGHT")?),
            IPVS_DEST_ATTR_U_THRESH => DestAttr::UThresh(u32_of("DEST_ATTR_U_THRESH")?),
            IPVS_DEST_ATTR_L_THRESH => DestAttr::LThresh(u32_of("DEST_ATTR_L_THRESH")?),
            IPVS_DEST_ATTR_ACTIVE_CONNS => DestAttr::ActiveConns(u32_of("DEST_ATTR_ACTIVE_CONNS")?),
            IPVS_DEST_ATTR_INACT_CONNS => DestAttr::InactConns(u32_of("DEST_ATTR_INACT_CONNS")?),
            IPVS_DEST_ATTR_PERSIST_CONNS => {
                DestAttr::PersistConns(u32_of("DEST_ATTR_PERSIST_CONNS")?)
            }
            IPVS_DEST_ATTR_STATS => DestAttr::Stats(Stats::parse(payload)?),
            IPVS_DEST_ATTR_ADDR_FAMILY => {
                DestAttr::AddrFamily(parse_u16(payload, "DEST_ATTR_ADDR_FAMILY")?)
            }
            IPVS_DEST_ATTR_STATS64 => DestAttr::Stats64(Stats::parse(payload)?),
            IPVS_DEST_ATTR_TUN_TYPE => DestAttr::TunType(parse_u8(payload, "DEST_ATTR_TUN_TYPE")?),
            IPVS_DEST_ATTR_TUN_PORT => {
                DestAttr::TunPort(parse_be16(payload, "DEST_ATTR_TUN_PORT")?)
            }
            IPVS_DEST_ATTR_TUN_FLAGS => {
                DestAttr::TunFlags(parse_u16(payload, "DEST_ATTR_TUN_FLAGS")?)
            }
            other => DestAttr::Other(other, payload.to_vec()),
        })
    }
}

/// `IPVS_DAEMON_ATTR_*`: inside `IPVS_CMD_ATTR_DAEMON`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DaemonAttr {
    /// `IP_VS_STATE_MASTER` (1) or `IP_VS_STATE_BACKUP` (2).
    State(u32),
    McastIfn(String),
    SyncId(u32),
    SyncMaxlen(u16),
    /// Network order.
    McastGroup([u8; 4]),
    McastGroup6([u8; 16]),
    /// Host order, unlike every other port of the protocol.
    McastPort(u16),
    McastTtl(u8),
    Other(u16, Vec<u8>),
}

const IPVS_DAEMON_ATTR_STATE: u16 = 1;
const IPVS_DAEMON_ATTR_MCAST_IFN: u16 = 2;
const IPVS_DAEMON_ATTR_SYNC_ID: u16 = 3;
const IPVS_DAEMON_ATTR_SYNC_MAXLEN: u16 = 4;
const IPVS_DAEMON_ATTR_MCAST_GROUP: u16 = 5;
const IPVS_DAEMON_ATTR_MCAST_GROUP6: u16 = 6;
const IPVS_DAEMON_ATTR_MCAST_PORT: u16 = 7;
const IPVS_DAEMON_ATTR_MCAST_TTL: u16 = 8;

impl Nla for DaemonAttr {
    fn kind(&self) -> u16 {
        match self {
            DaemonAttr::State(_) => IPVS_DAEMON_ATTR_STATE,
            DaemonAttr::McastIfn(_) => IPVS_DAEMON_ATTR_MCAST_IFN,
            DaemonAttr::SyncId(_) => IPVS_DAEMON_ATTR_SYNC_ID,
            DaemonAttr::SyncMaxlen(_) => IPVS_DAEMON_ATTR_SYNC_MAXLEN,
            DaemonAttr::McastGroup(_) => IPVS_DAEMON_ATTR_MCAST_GROUP,
            DaemonAttr::McastGroup6(_) => IPVS_DAEMON_ATTR_MCAST_GROUP6,
            DaemonAttr::McastPort(_) => IPVS_DAEMON_ATTR_MCAST_PORT,
            DaemonAttr::McastTtl(_) => IPVS_DAEMON_ATTR_MCAST_TTL,
            DaemonAttr::Other(kind, _) => *kind,
        }
    }

    fn emit_value(&self, buf: &mut Vec<u8>) {
        match self {
            DaemonAttr::State(v) | DaemonAttr::SyncId(v) => buf.extend_from_slice(&v.to_ne_bytes()),
            DaemonAttr::McastIfn(s) => put_string(buf, s),
            DaemonAttr::SyncMaxlen(v) | DaemonAttr::McastPort(v) => {
                buf.extend_from_slice(&v.to_ne_bytes())
            }
            DaemonAttr::McastGroup(addr) => buf.extend_from_slice(addr),
            DaemonAttr::McastGroup6(addr) => buf.extend_from_slice(addr),
            DaemonAttr::McastTtl(v) => buf.push(*v),
            DaemonAttr::Other(_, bytes) => buf.extend_from_slice(bytes),
        }
    }
}

impl ParseNla for DaemonAttr {
    fn parse(kind: u16, payload: &[u8]) -> Result<Self, DecodeError> {
        Ok(match kind {
            IPVS_DAEMON_ATTR_STATE => DaemonAttr::State(parse_u32(payload, "DAEMON_ATTR_STATE")?),
            IPVS_DAEMON_ATTR_MCAST_IFN => {
                DaemonAttr::McastIfn(parse_string(payload, "DAEMON_ATTR_MCAST_IFN")?)
            }
            IPVS_DAEMON_ATTR_SYNC_ID => {
                DaemonAttr::SyncId(parse_u32(payload, "DAEMON_ATTR_SYNC_ID")?)
            }
            IPVS_DAEMON_ATTR_SYNC_MAXLEN => {
                DaemonAttr::SyncMaxlen(parse_u16(payload, "DAEMON_ATTR_SYNC_MAXLEN")?)
            }
            IPVS_DAEMON_ATTR_MCAST_GROUP => DaemonAttr::McastGroup(
                payload
                    .try_into()
                    .map_err(|_| DecodeError::new("DAEMON_ATTR_MCAST_GROUP: expected 4 bytes"))?,
            ),
            IPVS_DAEMON_ATTR_MCAST_GROUP6 => DaemonAttr::McastGroup6(
                payload
                    .try_into()
                    .map_err(|_| DecodeError::new("DAEMON_ATTR_MCAST_GROUP6: expected 16 bytes"))?,
            ),
            IPVS_DAEMON_ATTR_MCAST_PORT => {
                DaemonAttr::McastPort(parse_u16(payload, "DAEMON_ATTR_MCAST_PORT")?)
            }
            IPVS_DAEMON_ATTR_MCAST_TTL => {
                DaemonAttr::McastTtl(parse_u8(payload, "DAEMON_ATTR_MCAST_TTL")?)
            }
            other => DaemonAttr::Other(other, payload.to_vec()),
        })
    }
}

/// `IPVS_INFO_ATTR_*`: top level of the `IPVS_CMD_SET_INFO` reply to `IPVS_CMD_GET_INFO`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InfoAttr {
    /// `0x010201` is IPVS 1.2.1.
    Version(u32),
    ConnTabSize(u32),
    Other(u16, Vec<u8>),
}

const IPVS_INFO_ATTR_VERSION: u16 = 1;
const IPVS_INFO_ATTR_CONN_TAB_SIZE: u16 = 2;

impl Nla for InfoAttr {
    fn kind(&self) -> u16 {
        match self {
            InfoAttr::Version(_) => IPVS_INFO_ATTR_VERSION,
            InfoAttr::ConnTabSize(_) => IPVS_INFO_ATTR_CONN_TAB_SIZE,
            InfoAttr::Other(kind, _) => *kind,
        }
    }

    fn emit_value(&self, buf: &mut Vec<u8>) {
        match self {
            InfoAttr::Version(v) | InfoAttr::ConnTabSize(v) => {
                buf.extend_from_slice(&v.to_ne_bytes())
            }
            InfoAttr::Other(_, bytes) => buf.extend_from_slice(bytes),
        }
    }
}

impl ParseNla for InfoAttr {
    fn parse(kind: u16, payload: &[u8]) -> Result<Self, DecodeError> {
        Ok(match kind {
            IPVS_INFO_ATTR_VERSION => InfoAttr::Version(parse_u32(payload, "INFO_ATTR_VERSION")?),
            IPVS_INFO_ATTR_CONN_TAB_SIZE => {
                InfoAttr::ConnTabSize(parse_u32(payload, "INFO_ATTR_CONN_TAB_SIZE")?)
            }
            other => InfoAttr::Other(other, payload.to_vec()),
        })
    }
}

/// `IPVS_*_ATTR_STATS` carries the counters and rates as u32 (bytes as u64);
/// `IPVS_*_ATTR_STATS64` carries everything as u64.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StatsWidth {
    Narrow,
    Wide,
}

const IPVS_STATS_ATTR_CONNS: u16 = 1;
const IPVS_STATS_ATTR_INPKTS: u16 = 2;
const IPVS_STATS_ATTR_OUTPKTS: u16 = 3;
const IPVS_STATS_ATTR_INBYTES: u16 = 4;
const IPVS_STATS_ATTR_OUTBYTES: u16 = 5;
const IPVS_STATS_ATTR_CPS: u16 = 6;
const IPVS_STATS_ATTR_INPPS: u16 = 7;
const IPVS_STATS_ATTR_OUTPPS: u16 = 8;
const IPVS_STATS_ATTR_INBPS: u16 = 9;
const IPVS_STATS_ATTR_OUTBPS: u16 = 10;

impl Stats {
    /// The counters in the kernel's own emission order, with their attribute types.
    fn fields(&self) -> [(u16, u64); 10] {
        [
            (IPVS_STATS_ATTR_CONNS, self.conns),
            (IPVS_STATS_ATTR_INPKTS, self.inpkts),
            (IPVS_STATS_ATTR_OUTPKTS, self.outpkts),
            (IPVS_STATS_ATTR_INBYTES, self.inbytes),
            (IPVS_STATS_ATTR_OUTBYTES, self.outbytes),
            (IPVS_STATS_ATTR_CPS, self.cps),
            (IPVS_STATS_ATTR_INPPS, self.inpps),
            (IPVS_STATS_ATTR_OUTPPS, self.outpps),
            (IPVS_STATS_ATTR_INBPS, self.inbps),
            (IPVS_STATS_ATTR_OUTBPS, self.outbps),
        ]
    }

    fn field_mut(&mut self, kind: u16) -> Option<&mut u64> {
        Some(match kind {
            IPVS_STATS_ATTR_CONNS => &mut self.conns,
            IPVS_STATS_ATTR_INPKTS => &mut self.inpkts,
            IPVS_STATS_ATTR_OUTPKTS => &mut self.outpkts,
            IPVS_STATS_ATTR_INBYTES => &mut self.inbytes,
            IPVS_STATS_ATTR_OUTBYTES => &mut self.outbytes,
            IPVS_STATS_ATTR_CPS => &mut self.cps,
            IPVS_STATS_ATTR_INPPS => &mut self.inpps,
            IPVS_STATS_ATTR_OUTPPS => &mut self.outpps,
            IPVS_STATS_ATTR_INBPS => &mut self.inbps,
            IPVS_STATS_ATTR_OUTBPS => &mut self.outbps,
            _ => return None,
        })
    }

    fn emit(&self, buf: &mut Vec<u8>, width: StatsWidth) {
        struct Counter(u16, u64, StatsWidth);
        impl Nla for Counter {
            fn kind(&self) -> u16 {
                self.0
            }
            fn emit_value(&self, buf: &mut Vec<u8>) {
                let is_bytes = matches!(self.0, IPVS_STATS_ATTR_INBYTES | IPVS_STATS_ATTR_OUTBYTES);
                if self.2 == StatsWidth::Wide || is_bytes {
                    buf.extend_from_slice(&self.1.to_ne_bytes());
                } else {
                    buf.extend_from_slice(&(self.1 as u32).to_ne_bytes());
                }
            }
        }
        for (kind, value) in self.fields() {
            // A counter is 8 bytes: it always fits.
            let _ = nla::emit(&Counter(kind, value, width), buf);
        }
    }

    /// Reads a stats nest; each counter's width comes from its payload (4 or 8 bytes).
    /// Padding (`IPVS_STATS_ATTR_PAD`) and unknown counters are skipped.
    fn parse(payload: &[u8]) -> Result<Self, DecodeError> {
        let mut stats = Stats::default();
        for item in NlaIter::new(payload) {
            let (kind, value) = item?;
            if let Some(field) = stats.field_mut(kind) {
                *field = match value.len() {
                    4 => u64::from(parse_u32(value, "STATS_ATTR")?),
                    _ => parse_u64(value, "STATS_ATTR")?,
                };
            }
        }
        Ok(stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<T: Nla + ParseNla + PartialEq + std::fmt::Debug>(attr: T) {
        let mut buf = Vec::new();
        nla::emit(&attr, &mut buf).unwrap();
        let parsed: Vec<T> = nla::parse_all(&buf).unwrap();
        assert_eq!(parsed, vec![attr]);
    }

    fn sample_stats() -> Stats {
        Stats {
            conns: 1,
            inpkts: 2,
            outpkts: 3,
            inbytes: 1 << 40,
            outbytes: 5,
            cps: 6,
            inpps: 7,
            outpps: 8,
            inbps: 9,
            outbps: 10,
        }
    }

    #[test]
    fn service_attributes_round_trip() {
        let mut addr = [0; 16];
        addr[..4].copy_from_slice(&[10, 0, 0, 1]);
        for attr in [
            SvcAttr::Af(2),
            SvcAttr::Protocol(6),
            SvcAttr::Addr(addr),
            SvcAttr::Port(80),
            SvcAttr::Fwmark(u32::MAX),
            SvcAttr::SchedName("wlc".into()),
            SvcAttr::Flags(IpVsFlags {
                flags: 0x9,
                mask: u32::MAX,
            }),
            SvcAttr::Timeout(300),
            SvcAttr::Netmask([255, 255, 255, 0]),
            SvcAttr::Stats(sample_stats()),
            SvcAttr::PeName("sip".into()),
            SvcAttr::Stats64(sample_stats()),
            SvcAttr::Other(99, vec![1, 2, 3]),
        ] {
            round_trip(CmdAttr::Service(vec![attr]));
        }
    }

    #[test]
    fn dest_attributes_round_trip() {
        for attr in [
            DestAttr::Addr([0x20; 16]),
            DestAttr::Port(8080),
            DestAttr::FwdMethod(0),
            DestAttr::Weight(i32::MAX as u32),
            DestAttr::UThresh(10),
            DestAttr::LThresh(5),
            DestAttr::ActiveConns(1),
            DestAttr::InactConns(2),
            DestAttr::PersistConns(3),
            DestAttr::Stats(sample_stats()),
            DestAttr::AddrFamily(10),
            DestAttr::Stats64(sample_stats()),
            DestAttr::TunType(1),
            DestAttr::TunPort(6080),
            DestAttr::TunFlags(2),
        ] {
            round_trip(CmdAttr::Dest(vec![attr]));
        }
    }

    #[test]
    fn daemon_and_top_level_attributes_round_trip() {
        for attr in [
            DaemonAttr::State(1),
            DaemonAttr::McastIfn("eth0".into()),
            DaemonAttr::SyncId(7),
            DaemonAttr::SyncMaxlen(1472),
            DaemonAttr::McastGroup([224, 0, 0, 81]),
            DaemonAttr::McastGroup6([0xff; 16]),
            DaemonAttr::McastPort(8848),
            DaemonAttr::McastTtl(1),
        ] {
            round_trip(CmdAttr::Daemon(vec![attr]));
        }
        round_trip(CmdAttr::TimeoutTcp(900));
        round_trip(CmdAttr::TimeoutTcpFin(120));
        round_trip(CmdAttr::TimeoutUdp(300));
        round_trip(InfoAttr::Version(0x010201));
        round_trip(InfoAttr::ConnTabSize(4096));
    }

    #[test]
    fn ports_are_big_endian_and_mcast_port_is_host_order() {
        let mut buf = Vec::new();
        nla::emit(&SvcAttr::Port(80), &mut buf).unwrap();
        assert_eq!(&buf[4..6], &[0, 80]);
        buf.clear();
        nla::emit(&DaemonAttr::McastPort(8848), &mut buf).unwrap();
        assert_eq!(&buf[4..6], &8848u16.to_ne_bytes());
    }

    #[test]
    fn narrow_stats_truncate_counters_but_not_bytes() {
        let mut stats = sample_stats();
        stats.conns = (1 << 32) + 7;
        let mut buf = Vec::new();
        nla::emit(&SvcAttr::Stats(stats), &mut buf).unwrap();
        let parsed: Vec<SvcAttr> = nla::parse_all(&buf).unwrap();
        let SvcAttr::Stats(back) = &parsed[0] else {
            panic!("{parsed:?}")
        };
        assert_eq!(back.conns, 7);
        assert_eq!(back.inbytes, 1 << 40);
    }

    #[test]
    fn wrong_sizes_are_errors_not_panics() {
        assert!(SvcAttr::parse(IPVS_SVC_ATTR_AF, &[1]).is_err());
        assert!(SvcAttr::parse(IPVS_SVC_ATTR_FLAGS, &[0; 4]).is_err());
        assert!(SvcAttr::parse(IPVS_SVC_ATTR_ADDR, &[0; 20]).is_err());
        assert!(DestAttr::parse(IPVS_DEST_ATTR_TUN_TYPE, &[]).is_err());
        assert!(DaemonAttr::parse(IPVS_DAEMON_ATTR_MCAST_GROUP, &[1, 2]).is_err());
        assert!(SvcAttr::parse(IPVS_SVC_ATTR_STATS, &[8, 0, 1, 0, 1, 2]).is_err());
    }

    #[test]
    fn command_numbers_match_the_uapi() {
        assert_eq!(IpvsCmd::try_from(17).unwrap(), IpvsCmd::Flush);
        assert_eq!(IpvsCmd::try_from(15).unwrap(), IpvsCmd::GetInfo);
        assert!(IpvsCmd::try_from(18).is_err());
    }
}
