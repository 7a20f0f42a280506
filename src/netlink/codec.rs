//! Conversions between the typed model and IPVS attribute lists, and the request
//! vocabulary: what each operation sends to the kernel.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::DecodeError;
use super::attrs::{
    CmdAttr, DaemonAttr, DestAttr, IPVS_GENL_VERSION, InfoAttr, IpVsFlags, IpvsCmd, SvcAttr,
};
use super::attrs::{IPVS_CMD_ATTR_DEST, IPVS_CMD_ATTR_SERVICE};
use super::attrs::{IPVS_SVC_ATTR_PE_NAME, IPVS_SVC_ATTR_SCHED_NAME};
use super::message::{GenlMessage, emit_message};
use super::nla;
use crate::model::{
    AddressFamily, DaemonState, DestKey, DestObserved, Destination, FwdMethod, Info, Netmask,
    Protocol, Request, Service, ServiceFlags, ServiceKey, ServiceObserved, Stats, SyncDaemon,
    Timeouts, TunnelFlags, TunnelType,
};

impl Request {
    /// The request as the generic netlink message that carries it.
    pub fn to_message(&self) -> GenlMessage<CmdAttr> {
        let (cmd, attrs) = match self {
            Request::AddService(svc) => (IpvsCmd::NewService, vec![service_attr(svc)]),
            Request::EditService(svc) => (IpvsCmd::SetService, vec![service_attr(svc)]),
            Request::DelService(key) => (IpvsCmd::DelService, vec![key_attr(key)]),
            Request::AddDest(key, dest) => (IpvsCmd::NewDest, vec![key_attr(key), dest_attr(dest)]),
            Request::EditDest(key, dest) => {
                (IpvsCmd::SetDest, vec![key_attr(key), dest_attr(dest)])
            }
            Request::DelDest(key, dest) => {
                (IpvsCmd::DelDest, vec![key_attr(key), dest_key_attr(dest)])
            }
            Request::Zero(key) => (IpvsCmd::Zero, key.iter().map(key_attr).collect()),
            Request::Flush => (IpvsCmd::Flush, vec![]),
            Request::SetTimeouts(t) => (
                IpvsCmd::SetConfig,
                vec![
                    CmdAttr::TimeoutTcp(t.tcp),
                    CmdAttr::TimeoutTcpFin(t.tcp_fin),
                    CmdAttr::TimeoutUdp(t.udp),
                ],
            ),
            Request::StartDaemon(daemon) => (
                IpvsCmd::NewDaemon,
                vec![CmdAttr::Daemon(daemon_attrs(daemon))],
            ),
            Request::StopDaemon(state) => (
                IpvsCmd::DelDaemon,
                vec![CmdAttr::Daemon(vec![DaemonAttr::State(state.to_raw())])],
            ),
        };
        ipvs_message(cmd, attrs)
    }
}

impl Request {
    /// Appends the request as one netlink message, exactly as `to_message().emit(..)`
    /// does, but without building the message first for the services and real servers
    /// rule files are made of (their attributes stay on the stack: encoding a restore
    /// costs no allocation per rule).
    pub fn emit(
        &self,
        buf: &mut Vec<u8>,
        family: u16,
        flags: u16,
        seq: u32,
    ) -> Result<(), nla::TooLarge> {
        use BodyAttr::*;
        let (cmd, attrs): (IpvsCmd, &[BodyAttr]) = match self {
            Request::AddService(svc) => (IpvsCmd::NewService, &[Service(svc)]),
            Request::EditService(svc) => (IpvsCmd::SetService, &[Service(svc)]),
            Request::DelService(key) => (IpvsCmd::DelService, &[Key(key)]),
            Request::AddDest(key, dest) => (IpvsCmd::NewDest, &[Key(key), Dest(dest)]),
            Request::EditDest(key, dest) => (IpvsCmd::SetDest, &[Key(key), Dest(dest)]),
            Request::DelDest(key, dest) => (IpvsCmd::DelDest, &[Key(key), DestKey(dest)]),
            _ => return self.to_message().emit(buf, family, flags, seq),
        };
        emit_message(
            buf,
            (family, flags, seq),
            (cmd as u8, IPVS_GENL_VERSION),
            attrs,
        )
    }
}

/// A request's top-level attributes, borrowed from the request: what [`Request::emit`]
/// writes in place of [`CmdAttr`]s built first.
enum BodyAttr<'a> {
    Service(&'a Service),
    Key(&'a ServiceKey),
    Dest(&'a Destination),
    DestKey(&'a DestKey),
}

impl nla::Nla for BodyAttr<'_> {
    fn kind(&self) -> u16 {
        match self {
            BodyAttr::Service(_) | BodyAttr::Key(_) => IPVS_CMD_ATTR_SERVICE,
            BodyAttr::Dest(_) | BodyAttr::DestKey(_) => IPVS_CMD_ATTR_DEST,
        }
    }

    /// The same attributes, in the same order, as [`service_attrs`], [`key_attr`],
    /// [`dest_attrs`] and `dest_key_attr`.
    fn emit_value(&self, buf: &mut Vec<u8>) {
        match self {
            BodyAttr::Service(svc) => {
                emit_key_attrs(&svc.key, buf);
                nla::emit_nested(&[NameAttr(IPVS_SVC_ATTR_SCHED_NAME, &svc.scheduler)], buf);
                if let Some(pe) = &svc.pe_name {
                    nla::emit_nested(&[NameAttr(IPVS_SVC_ATTR_PE_NAME, pe)], buf);
                }
                let rest = [
                    SvcAttr::Flags(IpVsFlags {
                        flags: svc.flags.0,
                        mask: u32::MAX,
                    }),
                    SvcAttr::Timeout(svc.timeout),
                    SvcAttr::Netmask(netmask_raw(svc.netmask)),
                ];
                nla::emit_nested(&rest, buf);
            }
            BodyAttr::Key(key) => emit_key_attrs(key, buf),
            BodyAttr::Dest(dest) => nla::emit_nested(&dest_attr_array(dest), buf),
            BodyAttr::DestKey(key) => nla::emit_nested(
                &[
                    DestAttr::AddrFamily(AddressFamily::of(&key.addr).to_raw()),
                    DestAttr::Addr(addr_bytes(&key.addr)),
                    DestAttr::Port(key.port),
                ],
                buf,
            ),
        }
    }
}

/// A name attribute (NUL-terminated), borrowed.
struct NameAttr<'a>(u16, &'a str);

impl nla::Nla for NameAttr<'_> {
    fn kind(&self) -> u16 {
        self.0
    }

    fn emit_value(&self, buf: &mut Vec<u8>) {
        nla::put_string(buf, self.1);
    }
}

/// [`service_key_attrs`], written without a list.
fn emit_key_attrs(key: &ServiceKey, buf: &mut Vec<u8>) {
    let af = SvcAttr::Af(key.af().to_raw());
    match key {
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => nla::emit_nested(
            &[
                af,
                SvcAttr::Protocol(protocol.to_raw()),
                SvcAttr::Addr(addr_bytes(addr)),
                SvcAttr::Port(*port),
            ],
            buf,
        ),
        ServiceKey::Fwmark { mark, .. } => nla::emit_nested(&[af, SvcAttr::Fwmark(*mark)], buf),
    }
}

pub fn ipvs_message<A>(cmd: IpvsCmd, attrs: Vec<A>) -> GenlMessage<A> {
    GenlMessage::new(cmd as u8, IPVS_GENL_VERSION, attrs)
}

fn addr_bytes(addr: &IpAddr) -> [u8; 16] {
    let mut raw = [0; 16];
    match addr {
        IpAddr::V4(v4) => raw[..4].copy_from_slice(&v4.octets()),
        IpAddr::V6(v6) => raw = v6.octets(),
    }
    raw
}

fn addr_from_bytes(raw: &[u8; 16], af: AddressFamily) -> IpAddr {
    match af {
        AddressFamily::Inet => IpAddr::V4(Ipv4Addr::new(raw[0], raw[1], raw[2], raw[3])),
        AddressFamily::Inet6 => IpAddr::V6(Ipv6Addr::from(*raw)),
    }
}

/// The attributes that identify a service (`svc-id`).
pub fn service_key_attrs(key: &ServiceKey) -> Vec<SvcAttr> {
    service_key_attrs_and(key, 0)
}

/// [`service_key_attrs`], with room for `more` (one allocation per list: a batch
/// encodes tens of thousands).
fn service_key_attrs_and(key: &ServiceKey, more: usize) -> Vec<SvcAttr> {
    let mut attrs = Vec::with_capacity(4 + more);
    attrs.push(SvcAttr::Af(key.af().to_raw()));
    match key {
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => {
            attrs.push(SvcAttr::Protocol(protocol.to_raw()));
            attrs.push(SvcAttr::Addr(addr_bytes(addr)));
            attrs.push(SvcAttr::Port(*port));
        }
        ServiceKey::Fwmark { mark, .. } => attrs.push(SvcAttr::Fwmark(*mark)),
    }
    attrs
}

pub fn key_attr(key: &ServiceKey) -> CmdAttr {
    CmdAttr::Service(service_key_attrs(key))
}

fn netmask_raw(netmask: Netmask) -> [u8; 4] {
    match netmask {
        Netmask::V4(mask) => mask.octets(),
        Netmask::V6(prefix) => prefix.to_ne_bytes(),
    }
}

/// Everything NEW_SERVICE and SET_SERVICE need. The mask is all ones, so the flags given
/// replace every flag, as ipvsadm does.
pub fn service_attrs(svc: &Service) -> Vec<SvcAttr> {
    let mut attrs = service_key_attrs_and(&svc.key, 5);
    attrs.push(SvcAttr::SchedName(svc.scheduler.clone()));
    if let Some(pe) = &svc.pe_name {
        attrs.push(SvcAttr::PeName(pe.clone()));
    }
    attrs.push(SvcAttr::Flags(IpVsFlags {
        flags: svc.flags.0,
        mask: u32::MAX,
    }));
    attrs.push(SvcAttr::Timeout(svc.timeout));
    attrs.push(SvcAttr::Netmask(netmask_raw(svc.netmask)));
    attrs
}

fn service_attr(svc: &Service) -> CmdAttr {
    CmdAttr::Service(service_attrs(svc))
}

fn missing(what: &str) -> DecodeError {
    DecodeError::new(format!("reply lacks {what}"))
}

/// Reads a service as the kernel lists it: its configuration (the flags a rule can set)
/// and what the kernel observed (every flag, stats from STATS64 when present).
pub fn parse_service(attrs: &[SvcAttr]) -> Result<(Service, ServiceObserved), DecodeError> {
    service_from(attrs.iter().cloned().map(Ok))
}

/// A service from the attribute bytes of a reply (`GET_SERVICE`), without collecting
/// the attributes first.
pub fn service_from_reply(attrs: &[u8]) -> Result<(Service, ServiceObserved), DecodeError> {
    let nest = nla::find(attrs, IPVS_CMD_ATTR_SERVICE)?.ok_or_else(|| missing("service nest"))?;
    service_from(nla::parse_iter(nest))
}

fn service_from(
    attrs: impl IntoIterator<Item = Result<SvcAttr, DecodeError>>,
) -> Result<(Service, ServiceObserved), DecodeError> {
    let (mut af, mut protocol, mut addr, mut port, mut fwmark) = (None, None, None, None, None);
    let (mut sched, mut flags, mut timeout, mut netmask, mut pe) = (None, None, None, None, None);
    let (mut stats, mut stats64) = (None, None);
    for attr in attrs {
        match attr? {
            SvcAttr::Af(v) => af = Some(v),
            SvcAttr::Protocol(v) => protocol = Some(v),
            SvcAttr::Addr(v) => addr = Some(v),
            SvcAttr::Port(v) => port = Some(v),
            SvcAttr::Fwmark(v) => fwmark = Some(v),
            SvcAttr::SchedName(v) => sched = Some(v),
            SvcAttr::Flags(v) => flags = Some(v.flags & v.mask),
            SvcAttr::Timeout(v) => timeout = Some(v),
            SvcAttr::Netmask(v) => netmask = Some(v),
            SvcAttr::PeName(v) => pe = Some(v),
            SvcAttr::Stats(v) => stats = Some(v),
            SvcAttr::Stats64(v) => stats64 = Some(v),
            SvcAttr::Other(..) => {}
        }
    }
    let af_raw = af.ok_or_else(|| missing("SVC_ATTR_AF"))?;
    let af = AddressFamily::from_raw(af_raw)
        .ok_or_else(|| DecodeError::new(format!("unknown address family {af_raw}")))?;
    let key = match fwmark {
        Some(mark) => ServiceKey::Fwmark { af, mark },
        None => ServiceKey::Addr {
            protocol: Protocol::from_raw(protocol.ok_or_else(|| missing("SVC_ATTR_PROTOCOL"))?),
            addr: addr_from_bytes(&addr.ok_or_else(|| missing("SVC_ATTR_ADDR"))?, af),
            port: port.ok_or_else(|| missing("SVC_ATTR_PORT"))?,
        },
    };
    let netmask = netmask.ok_or_else(|| missing("SVC_ATTR_NETMASK"))?;
    let flags = flags.ok_or_else(|| missing("SVC_ATTR_FLAGS"))?;
    let service = Service {
        key,
        scheduler: sched.ok_or_else(|| missing("SVC_ATTR_SCHED_NAME"))?,
        flags: ServiceFlags(flags & ServiceFlags::CONFIG),
        timeout: timeout.ok_or_else(|| missing("SVC_ATTR_TIMEOUT"))?,
        netmask: match af {
            AddressFamily::Inet => Netmask::V4(Ipv4Addr::from(netmask)),
            AddressFamily::Inet6 => Netmask::V6(u32::from_ne_bytes(netmask)),
        },
        pe_name: pe,
    };
    let observed = ServiceObserved {
        flags: ServiceFlags(flags),
        stats: stats64.or(stats).unwrap_or_default().into(),
    };
    Ok((service, observed))
}

/// Everything NEW_DEST and SET_DEST need; the address family is always explicit.
pub fn dest_attrs(dest: &Destination) -> Vec<DestAttr> {
    dest_attr_array(dest).into()
}

fn dest_attr_array(dest: &Destination) -> [DestAttr; 10] {
    [
        DestAttr::AddrFamily(dest.af().to_raw()),
        DestAttr::Addr(addr_bytes(&dest.addr)),
        DestAttr::Port(dest.port),
        DestAttr::FwdMethod(dest.fwd.to_raw()),
        DestAttr::Weight(dest.weight),
        DestAttr::TunType(dest.tun_type.to_raw()),
        DestAttr::TunPort(dest.tun_port),
        DestAttr::TunFlags(dest.tun_flags.0),
        DestAttr::UThresh(dest.u_threshold),
        DestAttr::LThresh(dest.l_threshold),
    ]
}

fn dest_attr(dest: &Destination) -> CmdAttr {
    CmdAttr::Dest(dest_attrs(dest))
}

fn dest_key_attr(key: &DestKey) -> CmdAttr {
    CmdAttr::Dest(vec![
        DestAttr::AddrFamily(AddressFamily::of(&key.addr).to_raw()),
        DestAttr::Addr(addr_bytes(&key.addr)),
        DestAttr::Port(key.port),
    ])
}

/// Reads a destination as the kernel lists it; without ADDR_FAMILY (kernels before 3.18)
/// the address has the service's family.
pub fn parse_dest(
    attrs: &[DestAttr],
    service_af: AddressFamily,
) -> Result<(Destination, DestObserved), DecodeError> {
    dest_from(attrs.iter().cloned().map(Ok), service_af)
}

/// A destination from the attribute bytes of a `GET_DEST` dump reply, without collecting
/// the attributes first (a large table has many).
pub fn dest_from_reply(
    attrs: &[u8],
    service_af: AddressFamily,
) -> Result<(Destination, DestObserved), DecodeError> {
    let nest = nla::find(attrs, IPVS_CMD_ATTR_DEST)?.ok_or_else(|| missing("destination nest"))?;
    dest_from(nla::parse_iter(nest), service_af)
}

fn dest_from(
    attrs: impl IntoIterator<Item = Result<DestAttr, DecodeError>>,
    service_af: AddressFamily,
) -> Result<(Destination, DestObserved), DecodeError> {
    let (mut addr, mut port, mut fwd, mut weight) = (None, None, None, None);
    let (mut u_thresh, mut l_thresh, mut af) = (None, None, None);
    let mut dest = Destination::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0, FwdMethod::Route);
    let mut observed = DestObserved::default();
    let (mut stats, mut stats64): (Option<Stats>, Option<Stats>) = (None, None);
    for attr in attrs {
        match attr? {
            DestAttr::Addr(v) => addr = Some(v),
            DestAttr::Port(v) => port = Some(v),
            DestAttr::FwdMethod(v) => fwd = Some(v),
            DestAttr::Weight(v) => weight = Some(v),
            DestAttr::UThresh(v) => u_thresh = Some(v),
            DestAttr::LThresh(v) => l_thresh = Some(v),
            DestAttr::ActiveConns(v) => observed.active_conns = v,
            DestAttr::InactConns(v) => observed.inact_conns = v,
            DestAttr::PersistConns(v) => observed.persist_conns = v,
            DestAttr::Stats(v) => stats = Some(v),
            DestAttr::AddrFamily(v) => af = Some(v),
            DestAttr::Stats64(v) => stats64 = Some(v),
            DestAttr::TunType(v) => dest.tun_type = TunnelType::from_raw(v),
            DestAttr::TunPort(v) => dest.tun_port = v,
            DestAttr::TunFlags(v) => dest.tun_flags = TunnelFlags(v),
            DestAttr::Other(..) => {}
        }
    }
    let af = match af {
        None | Some(0) => service_af,
        Some(raw) => AddressFamily::from_raw(raw)
            .ok_or_else(|| DecodeError::new(format!("unknown address family {raw}")))?,
    };
    let fwd_raw = fwd.ok_or_else(|| missing("DEST_ATTR_FWD_METHOD"))?;
    dest.addr = addr_from_bytes(&addr.ok_or_else(|| missing("DEST_ATTR_ADDR"))?, af);
    dest.port = port.ok_or_else(|| missing("DEST_ATTR_PORT"))?;
    dest.fwd = FwdMethod::from_raw(fwd_raw)
        .ok_or_else(|| DecodeError::new(format!("unknown forwarding method {fwd_raw}")))?;
    dest.weight = weight.ok_or_else(|| missing("DEST_ATTR_WEIGHT"))?;
    dest.u_threshold = u_thresh.ok_or_else(|| missing("DEST_ATTR_U_THRESH"))?;
    dest.l_threshold = l_thresh.ok_or_else(|| missing("DEST_ATTR_L_THRESH"))?;
    observed.stats = stats64.or(stats).unwrap_or_default().into();
    Ok((dest, observed))
}

/// What NEW_DAEMON sends: the optional settings only when set, as ipvsadm does.
pub fn daemon_attrs(daemon: &SyncDaemon) -> Vec<DaemonAttr> {
    let mut attrs = vec![
        DaemonAttr::State(daemon.state.to_raw()),
        DaemonAttr::McastIfn(daemon.mcast_ifn.clone()),
        DaemonAttr::SyncId(daemon.sync_id),
    ];
    if daemon.sync_maxlen != 0 {
        attrs.push(DaemonAttr::SyncMaxlen(daemon.sync_maxlen));
    }
    if daemon.mcast_port != 0 {
        attrs.push(DaemonAttr::McastPort(daemon.mcast_port));
    }
    if daemon.mcast_ttl != 0 {
        attrs.push(DaemonAttr::McastTtl(daemon.mcast_ttl));
    }
    match daemon.mcast_group {
        Some(IpAddr::V4(group)) => attrs.push(DaemonAttr::McastGroup(group.octets())),
        Some(IpAddr::V6(group)) => attrs.push(DaemonAttr::McastGroup6(group.octets())),
        None => {}
    }
    attrs
}

pub fn parse_daemon(attrs: &[DaemonAttr]) -> Result<SyncDaemon, DecodeError> {
    let (mut state, mut ifn, mut sync_id) = (None, None, None);
    let mut daemon = SyncDaemon::new(DaemonState::Master, "");
    for attr in attrs {
        match attr {
            DaemonAttr::State(v) => state = Some(*v),
            DaemonAttr::McastIfn(v) => ifn = Some(v.clone()),
            DaemonAttr::SyncId(v) => sync_id = Some(*v),
            DaemonAttr::SyncMaxlen(v) => daemon.sync_maxlen = *v,
            DaemonAttr::McastGroup(v) => {
                daemon.mcast_group = Some(IpAddr::V4(Ipv4Addr::from(*v)));
            }
            DaemonAttr::McastGroup6(v) => {
                // An IPv4 group, when both came, is the one ipvsadm shows.
                if daemon.mcast_group.is_none() {
                    daemon.mcast_group = Some(IpAddr::V6(Ipv6Addr::from(*v)));
                }
            }
            DaemonAttr::McastPort(v) => daemon.mcast_port = *v,
            DaemonAttr::McastTtl(v) => daemon.mcast_ttl = *v,
            DaemonAttr::Other(..) => {}
        }
    }
    let state = state.ok_or_else(|| missing("DAEMON_ATTR_STATE"))?;
    daemon.state = DaemonState::from_raw(state)
        .ok_or_else(|| DecodeError::new(format!("unknown daemon state {state}")))?;
    daemon.mcast_ifn = ifn.ok_or_else(|| missing("DAEMON_ATTR_MCAST_IFN"))?;
    daemon.sync_id = sync_id.ok_or_else(|| missing("DAEMON_ATTR_SYNC_ID"))?;
    Ok(daemon)
}

/// Reads GET_CONFIG's reply; a missing timeout reads as 0.
pub fn parse_timeouts(attrs: &[CmdAttr]) -> Timeouts {
    let mut timeouts = Timeouts::default();
    for attr in attrs {
        match attr {
            CmdAttr::TimeoutTcp(v) => timeouts.tcp = *v,
            CmdAttr::TimeoutTcpFin(v) => timeouts.tcp_fin = *v,
            CmdAttr::TimeoutUdp(v) => timeouts.udp = *v,
            _ => {}
        }
    }
    timeouts
}

pub fn parse_info(attrs: &[InfoAttr]) -> Result<Info, DecodeError> {
    let (mut version, mut size) = (None, None);
    for attr in attrs {
        match attr {
            InfoAttr::Version(v) => version = Some(*v),
            InfoAttr::ConnTabSize(v) => size = Some(*v),
            InfoAttr::Other(..) => {}
        }
    }
    Ok(Info {
        version: version.ok_or_else(|| missing("INFO_ATTR_VERSION"))?,
        conn_tab_size: size.ok_or_else(|| missing("INFO_ATTR_CONN_TAB_SIZE"))?,
    })
}

/// The service nest of a reply message, if it has one.
pub fn service_nest(attrs: &[CmdAttr]) -> Option<&[SvcAttr]> {
    attrs.iter().find_map(|a| match a {
        CmdAttr::Service(s) => Some(s.as_slice()),
        _ => None,
    })
}

pub fn dest_nest(attrs: &[CmdAttr]) -> Option<&[DestAttr]> {
    attrs.iter().find_map(|a| match a {
        CmdAttr::Dest(d) => Some(d.as_slice()),
        _ => None,
    })
}

pub fn daemon_nest(attrs: &[CmdAttr]) -> Option<&[DaemonAttr]> {
    attrs.iter().find_map(|a| match a {
        CmdAttr::Daemon(d) => Some(d.as_slice()),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// `Request::emit` writes the very bytes of the message `to_message` builds, for
    /// every kind of request, both families, fwmarks, persistence engines, tunnels, and
    /// a scheduler name too long for netlink (refused the same way).
    #[test]
    fn emitting_in_place_gives_the_bytes_of_the_built_message() {
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        let mut persistent =
            Service::new(ServiceKey::tcp(v4("10.0.0.1"), 80), "rr").persistent(300);
        persistent.netmask = Netmask::V4(Ipv4Addr::new(255, 255, 255, 0));
        persistent.pe_name = Some("sip".into());
        let fwmark = Service::new(ServiceKey::fwmark(AddressFamily::Inet6, 7), "wlc");
        let v6_service = Service::new(ServiceKey::tcp(v6, 443), "sh");
        let huge = Service::new(ServiceKey::tcp(v4("10.0.0.2"), 80), "x".repeat(70_000));
        let mut tunnel = Destination::new(v6, 8080, FwdMethod::Tunnel).weight(7);
        tunnel.tun_type = TunnelType::Gue;
        tunnel.tun_port = 6080;
        tunnel.tun_flags = TunnelFlags(TunnelFlags::CSUM);
        tunnel.u_threshold = 10;
        tunnel.l_threshold = 2;
        let masq = Destination::new(v4("192.168.0.1"), 80, FwdMethod::Masq);
        let key = ServiceKey::tcp(v4("10.0.0.1"), 80);
        let mark = ServiceKey::fwmark(AddressFamily::Inet, 1);
        let dest_key = DestKey {
            addr: v6,
            port: 8080,
        };
        let requests = [
            Request::AddService(persistent.clone()),
            Request::EditService(persistent),
            Request::AddService(fwmark),
            Request::AddService(v6_service),
            Request::AddService(huge),
            Request::DelService(key),
            Request::DelService(mark),
            Request::AddDest(key, masq),
            Request::EditDest(mark, tunnel),
            Request::DelDest(key, dest_key),
            Request::Flush,
            Request::Zero(Some(key)),
            Request::SetTimeouts(Timeouts {
                tcp: 1,
                tcp_fin: 2,
                udp: 3,
            }),
        ];
        for request in &requests {
            let (mut built, mut in_place) = (vec![1, 2, 3], vec![1, 2, 3]);
            let expected = request.to_message().emit(&mut built, 0x21, 5, 77);
            let got = request.emit(&mut in_place, 0x21, 5, 77);
            assert_eq!(got, expected, "{request:?}");
            assert_eq!(in_place, built, "{request:?}");
        }
    }

    #[test]
    fn service_model_round_trips_through_attributes() {
        let mut svc = Service::new(ServiceKey::tcp(v4("10.0.0.1"), 80), "rr").persistent(300);
        svc.netmask = Netmask::V4(Ipv4Addr::new(255, 255, 255, 0));
        svc.pe_name = Some("sip".into());
        assert_eq!(parse_service(&service_attrs(&svc)).unwrap().0, svc);

        let svc6 = Service::new(ServiceKey::fwmark(AddressFamily::Inet6, 0x8000_0001), "wlc");
        assert_eq!(parse_service(&service_attrs(&svc6)).unwrap().0, svc6);
        let sctp = Service::new(ServiceKey::sctp(v4("2001:db8::1"), 5060), "sh");
        assert_eq!(parse_service(&service_attrs(&sctp)).unwrap().0, sctp);
    }

    #[test]
    fn ipvsadm_example_encodes_as_observed() {
        // -A -t 10.0.0.1:80 -s rr -p 300 -M 255.255.255.0 --pe sip -b flag-1
        let mut svc = Service::new(ServiceKey::tcp(v4("10.0.0.1"), 80), "rr").persistent(300);
        svc.netmask = Netmask::V4(Ipv4Addr::new(255, 255, 255, 0));
        svc.pe_name = Some("sip".into());
        svc.flags.0 |= ServiceFlags::SCHED1;
        let mut addr = [0; 16];
        addr[..4].copy_from_slice(&[10, 0, 0, 1]);
        assert_eq!(
            service_attrs(&svc),
            vec![
                SvcAttr::Af(2),
                SvcAttr::Protocol(6),
                SvcAttr::Addr(addr),
                SvcAttr::Port(80),
                SvcAttr::SchedName("rr".into()),
                SvcAttr::PeName("sip".into()),
                SvcAttr::Flags(IpVsFlags {
                    flags: 0x9,
                    mask: u32::MAX
                }),
                SvcAttr::Timeout(300),
                SvcAttr::Netmask([255, 255, 255, 0]),
            ]
        );
    }

    #[test]
    fn dest_model_round_trips_through_attributes() {
        let mut dest = Destination::new(v4("2001:db8::5"), 8080, FwdMethod::Tunnel).weight(7);
        dest.tun_type = TunnelType::Gue;
        dest.tun_port = 6080;
        dest.tun_flags = TunnelFlags(TunnelFlags::REMCSUM);
        dest.u_threshold = 100;
        dest.l_threshold = 10;
        assert_eq!(
            parse_dest(&dest_attrs(&dest), AddressFamily::Inet)
                .unwrap()
                .0,
            dest
        );
    }

    #[test]
    fn dest_without_family_takes_the_services() {
        let dest = Destination::new(v4("10.0.0.2"), 80, FwdMethod::Masq);
        let attrs: Vec<_> = dest_attrs(&dest)
            .into_iter()
            .filter(|a| !matches!(a, DestAttr::AddrFamily(_)))
            .collect();
        assert_eq!(parse_dest(&attrs, AddressFamily::Inet).unwrap().0, dest);
    }

    #[test]
    fn incomplete_replies_are_errors() {
        let svc = Service::new(ServiceKey::tcp(v4("10.0.0.1"), 80), "rr");
        let mut attrs = service_attrs(&svc);
        attrs.retain(|a| !matches!(a, SvcAttr::SchedName(_)));
        assert!(parse_service(&attrs).is_err());
        assert!(parse_service(&[SvcAttr::Af(99)]).is_err());
        assert!(parse_dest(&[DestAttr::Port(1)], AddressFamily::Inet).is_err());
        assert!(parse_daemon(&[DaemonAttr::State(9)]).is_err());
        assert!(parse_info(&[InfoAttr::Version(1)]).is_err());
    }

    #[test]
    fn daemon_round_trips() {
        let mut d = SyncDaemon::new(DaemonState::Backup, "eth1");
        d.sync_id = 9;
        d.sync_maxlen = 1400;
        d.mcast_group = Some("ff02::81".parse().unwrap());
        d.mcast_port = 8849;
        d.mcast_ttl = 3;
        assert_eq!(parse_daemon(&daemon_attrs(&d)).unwrap(), d);
    }

    #[test]
    fn a_request_too_large_for_netlink_is_an_error_not_a_panic() {
        let huge = Service::new(ServiceKey::tcp(v4("10.0.0.1"), 80), "r".repeat(70_000));
        let mut buf = vec![7];
        let err = Request::AddService(huge)
            .to_message()
            .emit(&mut buf, 0x20, 0, 1)
            .unwrap_err();
        assert_eq!(err.kind, IPVS_CMD_ATTR_SERVICE);
        assert_eq!(buf, [7], "nothing of the message is left behind");
    }

    #[test]
    fn requests_use_the_right_commands() {
        let key = ServiceKey::udp(v4("10.0.0.1"), 53);
        let msg = Request::DelService(key).to_message();
        assert_eq!(msg.cmd, IpvsCmd::DelService as u8);
        assert_eq!(msg.attrs, vec![key_attr(&key)]);
        assert_eq!(Request::Zero(None).to_message().attrs, vec![]);
        assert_eq!(Request::Flush.to_message().cmd, IpvsCmd::Flush as u8);
        let stop = Request::StopDaemon(DaemonState::Backup).to_message();
        assert_eq!(
            stop.attrs,
            vec![CmdAttr::Daemon(vec![DaemonAttr::State(2)])]
        );
    }
}
