//! What ipvsadm accumulates while reading options (its `ipvs_command_entry`), the
//! handling of each option as it is met, the checks run after all options, and the
//! resulting [`Command`].

use std::net::{IpAddr, Ipv4Addr};

use super::Dialect;
use super::table::{Bit, Cmd, Opt, OptionSet, check_command, check_tunnel};
use super::values::{self, HostPort, MAX_TIMEOUT, McastGroup, SchedFlagError};
use crate::cli::{Command, ListOptions, RestoreMode};
use crate::model::{
    self, AddressFamily, DEFAULT_PERSISTENT_TIMEOUT, DaemonState, DestKey, Destination, FwdMethod,
    Netmask, Protocol, SCHED_NAME_MAX, Service, ServiceFlags, ServiceKey, SyncDaemon, Timeouts,
    TunnelFlags, TunnelType,
};

const DEFAULT_SCHEDULER: &[u8] = model::DEFAULT_SCHEDULER.as_bytes();
const DEFAULT_MCAST_IFN: &[u8] = b"eth0";
/// `IP_VS_PENAME_MAXLEN`, `IP_VS_IFNAME_MAXLEN - 1`.
const PE_NAME_MAX: usize = 16;
const IFNAME_MAX: usize = 15;
/// `-b` is copied into a 128-byte buffer.
const SCHED_FLAGS_ARG_MAX: usize = 127;
const SCHED_FLAG_BITS: u32 = ServiceFlags::SCHED1 | ServiceFlags::SCHED2 | ServiceFlags::SCHED3;

/// A validation failure: its message without the final newline (exit status 2). Bytes,
/// because ipvsadm echoes the argument as given, whatever its encoding.
pub type Fail = Vec<u8>;

/// A message quoting an argument byte for byte: `{before}{arg}{after}`.
fn quoting(before: &str, arg: &[u8], after: &str) -> Fail {
    [before.as_bytes(), arg, after.as_bytes()].concat()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The virtual service as far as it is known.
#[derive(Debug)]
struct Svc {
    af: Option<AddressFamily>,
    protocol: u16,
    addr: Option<IpAddr>,
    port: u16,
    fwmark: u32,
    sched_name: Vec<u8>,
    flags: u32,
    timeout: u32,
    netmask: Netmask,
    pe_name: Vec<u8>,
}

#[derive(Debug)]
struct Dest {
    af: Option<AddressFamily>,
    addr: Option<IpAddr>,
    port: u16,
    fwd: FwdMethod,
    weight: u32,
    u_threshold: u32,
    l_threshold: u32,
    tun_type: TunnelType,
    tun_port: u16,
    tun_flags: u16,
}

#[derive(Debug)]
struct Daemon {
    state: DaemonState,
    mcast_ifn: Vec<u8>,
    sync_id: u32,
    sync_maxlen: u16,
    mcast_group: Option<IpAddr>,
    mcast_port: u16,
    mcast_ttl: u8,
}

/// Everything read from one command line.
#[derive(Debug)]
pub struct Entry {
    cmd: Cmd,
    options: OptionSet,
    list: ListOptions,
    svc: Svc,
    dest: Dest,
    daemon: Daemon,
    timeouts: Timeouts,
    sched_flags_arg: Vec<u8>,
    restore_mode: RestoreMode,
    dialect: Dialect,
}

impl Entry {
    /// The entry for the first option, which must be a command: `value` is the daemon
    /// state of `--start-daemon`/`--stop-daemon`.
    pub fn new(cmd: Cmd, value: Option<&[u8]>, dialect: Dialect) -> Result<Self, Fail> {
        let state = match cmd {
            Cmd::StartDaemon | Cmd::StopDaemon => daemon_state(cmd, value.unwrap_or_default())?,
            _ => DaemonState::Master,
        };
        Ok(Entry {
            cmd,
            options: OptionSet::default(),
            list: ListOptions::default(),
            svc: Svc {
                af: None,
                protocol: 0,
                addr: None,
                port: 0,
                fwmark: 0,
                sched_name: Vec::new(),
                flags: 0,
                timeout: 0,
                netmask: Netmask::V4(Ipv4Addr::BROADCAST),
                pe_name: Vec::new(),
            },
            dest: Dest {
                af: None,
                addr: None,
                port: 0,
                fwd: FwdMethod::Route,
                weight: 1,
                u_threshold: 0,
                l_threshold: 0,
                tun_type: TunnelType::Ipip,
                tun_port: 0,
                tun_flags: 0,
            },
            daemon: Daemon {
                state,
                mcast_ifn: Vec::new(),
                sync_id: 0,
                sync_maxlen: 0,
                mcast_group: None,
                mcast_port: 0,
                mcast_ttl: 0,
            },
            timeouts: Timeouts::default(),
            sched_flags_arg: Vec::new(),
            restore_mode: RestoreMode::Compatible,
            dialect,
        })
    }

    pub fn is_set(&self) -> bool {
        self.cmd == Cmd::SetTimeout
    }

    /// One option after the command, in argv order. `Ok(false)`: the option is valid for
    /// popt but not accepted here (a second command, `-h`, ...): "invalid option".
    pub fn apply(&mut self, opt: Opt, value: Option<&[u8]>) -> Result<bool, Fail> {
        let v = value.unwrap_or_default();
        match opt {
            Opt::TcpService | Opt::UdpService | Opt::SctpService => self.service(opt, v)?,
            Opt::FwmarkService => self.fwmark(v)?,
            Opt::Scheduler => {
                self.options.set(Bit::Scheduler)?;
                self.svc.sched_name = values::c_truncate(v, SCHED_NAME_MAX);
            }
            Opt::Persistent => self.persistent(value)?,
            Opt::Netmask => self.netmask(v)?,
            Opt::RealServer => self.real_server(v)?,
            Opt::Masquerading => self.forward(FwdMethod::Masq)?,
            Opt::Ipip => self.forward(FwdMethod::Tunnel)?,
            Opt::Gatewaying => self.forward(FwdMethod::Route)?,
            Opt::Weight => {
                self.dest.weight = number(Bit::Weight, &mut self.options, v, 0, i32::MAX as u32)?
            }
            Opt::UThreshold => {
                self.dest.u_threshold =
                    number(Bit::UThreshold, &mut self.options, v, 0, i32::MAX as u32)?
            }
            Opt::LThreshold => {
                self.dest.l_threshold =
                    number(Bit::LThreshold, &mut self.options, v, 0, i32::MAX as u32)?
            }
            Opt::McastInterface => {
                self.options.set(Bit::Mcast)?;
                self.daemon.mcast_ifn = values::c_truncate(v, IFNAME_MAX);
            }
            Opt::SyncId => self.daemon.sync_id = number(Bit::SyncId, &mut self.options, v, 0, 255)?,
            Opt::Ipv6 => self.ipv6()?,
            Opt::Ops => {
                self.options.set(Bit::OnePacket)?;
                self.svc.flags |= ServiceFlags::ONEPACKET;
            }
            Opt::Pe => {
                self.options.set(Bit::PersistenceEngine)?;
                self.svc.pe_name = values::c_truncate(v, PE_NAME_MAX);
            }
            Opt::SchedFlags => {
                self.options.set(Bit::SchedFlags)?;
                self.sched_flags_arg = values::c_truncate(v, SCHED_FLAGS_ARG_MAX);
            }
            Opt::McastGroup => self.mcast_group(v)?,
            Opt::McastPort => {
                self.daemon.mcast_port =
                    number(Bit::McastPort, &mut self.options, v, 1, 65535)? as u16
            }
            Opt::McastTtl => {
                self.daemon.mcast_ttl = number(Bit::McastTtl, &mut self.options, v, 1, 255)? as u8
            }
            Opt::SyncMaxlen => {
                self.daemon.sync_maxlen =
                    number(Bit::SyncMaxlen, &mut self.options, v, 1, 65535 - 20 - 8)? as u16
            }
            Opt::TunType => {
                self.options.set(Bit::TunType)?;
                self.dest.tun_type =
                    values::tunnel_type(v).ok_or("illegal tunnel type specified")?;
            }
            Opt::TunPort => {
                self.dest.tun_port = number(Bit::TunPort, &mut self.options, v, 1, 65535)? as u16
            }
            Opt::TunNocsum => self.options.set(Bit::TunNocsum)?,
            Opt::TunCsum => {
                self.options.set(Bit::TunCsum)?;
                self.dest.tun_flags |= TunnelFlags::CSUM;
            }
            Opt::TunRemcsum => {
                self.options.set(Bit::TunRemcsum)?;
                self.dest.tun_flags |= TunnelFlags::REMCSUM;
            }
            Opt::Sort => {}
            Opt::RestoreTest => {
                self.options.set(Bit::RestoreTest)?;
                self.restore_mode = RestoreMode::Test;
            }
            Opt::RestoreStrict => {
                self.options.set(Bit::RestoreStrict)?;
                self.restore_mode = RestoreMode::Strict;
            }
            _ => return self.list_flag(opt),
        }
        Ok(true)
    }

    /// The listing flags; `Ok(false)` for the options not accepted after the command.
    fn list_flag(&mut self, opt: Opt) -> Result<bool, Fail> {
        let list = &mut self.list;
        let (bit, flag) = match opt {
            Opt::Numeric => (Bit::Numeric, &mut list.numeric),
            Opt::Connection => (Bit::Connection, &mut list.connection),
            Opt::Timeout => (Bit::Timeout, &mut list.timeout),
            Opt::Daemon => (Bit::Daemon, &mut list.daemon),
            Opt::Stats => (Bit::Stats, &mut list.stats),
            Opt::Rate => (Bit::Rate, &mut list.rate),
            Opt::Thresholds => (Bit::Thresholds, &mut list.thresholds),
            Opt::PersistentConn => (Bit::PersistentConn, &mut list.persistent_conn),
            Opt::NoSort => (Bit::NoSort, &mut list.nosort),
            Opt::Exact => (Bit::Exact, &mut list.exact),
            Opt::TunInfo => (Bit::TunInfo, &mut list.tun_info),
            Opt::Json => (Bit::Json, &mut list.json),
            _ => return Ok(false),
        };
        self.options.set(bit)?;
        *flag = true;
        Ok(true)
    }

    /// `-t`, `-u`, `--sctp-service`.
    fn service(&mut self, opt: Opt, v: &[u8]) -> Result<(), Fail> {
        self.options.set(Bit::Service)?;
        self.svc.protocol = match opt {
            Opt::TcpService => Protocol::Tcp,
            Opt::UdpService => Protocol::Udp,
            _ => Protocol::Sctp,
        }
        .to_raw();
        let HostPort { addr, port } = values::host_port(v, self.svc.protocol)
            .ok_or("illegal virtual server address[:port] specified")?;
        self.svc.addr = Some(addr);
        self.svc.af = Some(AddressFamily::of(&addr));
        if addr.is_ipv6() {
            self.svc.netmask = Netmask::V6(128);
        }
        if let Some(port) = port {
            self.svc.port = port;
        }
        Ok(())
    }

    fn fwmark(&mut self, v: &[u8]) -> Result<(), Fail> {
        self.options.set(Bit::Service)?;
        self.svc.af = Some(AddressFamily::Inet);
        self.svc.protocol = Protocol::Tcp.to_raw();
        let negative_allowed = self.dialect == Dialect::Rule;
        self.svc.fwmark = values::fwmark(v)
            .or_else(|| {
                negative_allowed
                    .then(|| values::negative_fwmark(v))
                    .flatten()
            })
            .ok_or_else(|| quoting("invalid fwmark value `", v, "' specified"))?;
        Ok(())
    }

    fn persistent(&mut self, value: Option<&[u8]>) -> Result<(), Fail> {
        self.options.set(Bit::Persistent)?;
        self.svc.flags |= ServiceFlags::PERSISTENT;
        self.svc.timeout = match value {
            None => DEFAULT_PERSISTENT_TIMEOUT,
            Some(v) => timeout(v, 1)?,
        };
        Ok(())
    }

    /// `-M`: read according to the family known at this moment.
    fn netmask(&mut self, v: &[u8]) -> Result<(), Fail> {
        self.options.set(Bit::Netmask)?;
        self.svc.netmask = if self.svc.af == Some(AddressFamily::Inet6) {
            Netmask::V6(values::ipv6_netmask(v).ok_or("illegal ipv6 netmask specified")?)
        } else {
            Netmask::V4(
                values::ipv4_netmask(v)
                    .ok_or("illegal virtual server persistent mask specified")?,
            )
        };
        Ok(())
    }

    /// `-r`: port names use the service's protocol as known now; no port means the
    /// service port as known now.
    fn real_server(&mut self, v: &[u8]) -> Result<(), Fail> {
        self.options.set(Bit::Server)?;
        let HostPort { addr, port } = values::host_port(v, self.svc.protocol)
            .ok_or("illegal real server address[:port] specified")?;
        self.dest.af = Some(AddressFamily::of(&addr));
        self.dest.addr = Some(addr);
        self.dest.port = port.unwrap_or(self.svc.port);
        Ok(())
    }

    fn forward(&mut self, fwd: FwdMethod) -> Result<(), Fail> {
        self.options.set(Bit::Forward)?;
        self.dest.fwd = fwd;
        Ok(())
    }

    fn ipv6(&mut self) -> Result<(), Fail> {
        if self.svc.fwmark == 0 {
            // The message itself ends in a newline; the error printer adds another.
            return Err("-6 used before -f\n".into());
        }
        self.svc.af = Some(AddressFamily::Inet6);
        self.svc.netmask = Netmask::V6(128);
        Ok(())
    }

    fn mcast_group(&mut self, v: &[u8]) -> Result<(), Fail> {
        self.options.set(Bit::McastGroup)?;
        let group = values::mcast_group(v).map_err(|family| match family {
            McastGroup::V6 => quoting("invalid IPv6 mcast-group `", v, "'"),
            McastGroup::V4 => quoting("invalid IPv4 mcast-group `", v, "'"),
        })?;
        self.daemon.mcast_group = Some(group);
        Ok(())
    }

    /// `--set tcp tcpfin udp`, once all three are known.
    pub fn set_timeouts(&mut self, values: [&[u8]; 3]) -> Result<(), Fail> {
        let [tcp, tcp_fin, udp] = values;
        self.timeouts = Timeouts {
            tcp: timeout(tcp, 0)?,
            tcp_fin: timeout(tcp_fin, 0)?,
            udp: timeout(udp, 0)?,
        };
        Ok(())
    }

    /// Everything after the options and positional arguments: scheduler flags, the
    /// matrix, the per-command checks; then the command.
    pub fn finish(mut self) -> Result<Command, Fail> {
        self.apply_sched_flags()?;
        check_command(self.cmd, self.options)?;
        match self.cmd {
            Cmd::Add | Cmd::Edit => self.check_service()?,
            Cmd::AddDest | Cmd::EditDest => self.check_destination()?,
            Cmd::List => self.check_list()?,
            _ => {}
        }
        Ok(self.command())
    }

    fn apply_sched_flags(&mut self) -> Result<(), Fail> {
        if self.sched_flags_arg.is_empty() {
            return Ok(());
        }
        let scheduler = match self.svc.sched_name.as_slice() {
            [] => DEFAULT_SCHEDULER,
            name => name,
        };
        let flags = values::sched_flags(scheduler, &self.sched_flags_arg).map_err(|e| match e {
            SchedFlagError::Incompatible(flag) => {
                quoting("incompatible scheduler flag `", &flag, "'")
            }
            SchedFlagError::Invalid(flag) => quoting("invalid scheduler flag `", &flag, "'"),
        })?;
        self.svc.flags = (self.svc.flags & !SCHED_FLAG_BITS) | flags;
        Ok(())
    }

    fn check_service(&mut self) -> Result<(), Fail> {
        let svc = &mut self.svc;
        if svc.fwmark == 0 && svc.port == 0 && svc.flags & ServiceFlags::PERSISTENT == 0 {
            return Err("Zero port specified for non-persistent service".into());
        }
        let udp = svc.protocol == Protocol::Udp.to_raw();
        if svc.flags & ServiceFlags::ONEPACKET != 0 && svc.fwmark == 0 && !udp {
            return Err("One-Packet Scheduling is only for UDP virtual services".into());
        }
        Ok(())
    }

    fn check_destination(&mut self) -> Result<(), Fail> {
        let tunnel = self.dest.fwd == FwdMethod::Tunnel;
        if self.svc.fwmark == 0 && matches!(self.dest.fwd, FwdMethod::Tunnel | FwdMethod::Route) {
            self.dest.port = self.svc.port;
        }
        if self.dest.af != self.svc.af && !tunnel {
            return Err("Different address family is allowed only for tunneling servers".into());
        }
        let tunnel_opts = [
            Bit::TunType,
            Bit::TunPort,
            Bit::TunNocsum,
            Bit::TunCsum,
            Bit::TunRemcsum,
        ];
        if self.options.any(&tunnel_opts) && !tunnel {
            return Err("Tunnel options conflict with forward method".into());
        }
        let name = values::tunnel_name(self.dest.tun_type);
        Ok(check_tunnel(self.dest.tun_type, name, self.options)?)
    }

    fn check_list(&self) -> Result<(), Fail> {
        let opts = self.options;
        let special = opts.any(&[Bit::Connection, Bit::Timeout, Bit::Daemon]);
        let formats = opts.any(&[Bit::Stats, Bit::Rate, Bit::Thresholds]);
        let info = opts.any(&[Bit::Timeout, Bit::Daemon]);
        if (special && formats) || (info && opts.has(Bit::PersistentConn)) {
            return Err("options conflicts in the list command".into());
        }
        let columns = [
            Bit::Stats,
            Bit::Rate,
            Bit::Exact,
            Bit::Thresholds,
            Bit::PersistentConn,
            Bit::TunInfo,
            Bit::Timeout,
            Bit::Daemon,
        ];
        if opts.has(Bit::Json) && opts.any(&columns) {
            return Err(
                "--json lists every field already: leave out --stats, --rate, \
                 --exact, --thresholds, --persistent-conn, --tun-info, --timeout and --daemon \
                 (the whole-table document has the timeouts and daemons)"
                    .into(),
            );
        }
        Ok(())
    }

    fn key(&self) -> ServiceKey {
        let svc = &self.svc;
        let af = svc.af.unwrap_or(AddressFamily::Inet);
        if svc.fwmark != 0 {
            return ServiceKey::fwmark(af, svc.fwmark);
        }
        ServiceKey::Addr {
            protocol: Protocol::from_raw(svc.protocol),
            addr: svc.addr.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
            port: svc.port,
        }
    }

    fn service_key(&self) -> Option<ServiceKey> {
        self.options.has(Bit::Service).then(|| self.key())
    }

    fn service_entry(&self) -> Service {
        let svc = &self.svc;
        let mut service = Service::new(self.key(), "");
        service.scheduler = match svc.sched_name.as_slice() {
            [] => text(DEFAULT_SCHEDULER),
            name => text(name),
        };
        service.flags = ServiceFlags(svc.flags);
        service.timeout = svc.timeout;
        // The family always matches (an IPv6 address or -6 resets the mask); keep the
        // host mask of `Service::new` should it ever not.
        if matches!(
            (service.key.af(), svc.netmask),
            (AddressFamily::Inet, Netmask::V4(_)) | (AddressFamily::Inet6, Netmask::V6(_))
        ) {
            service.netmask = svc.netmask;
        }
        service.pe_name = (!svc.pe_name.is_empty()).then(|| text(&svc.pe_name));
        service
    }

    fn dest_addr(&self) -> IpAddr {
        self.dest.addr.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
    }

    fn destination(&self) -> Destination {
        let d = &self.dest;
        let mut dest = Destination::new(self.dest_addr(), d.port, d.fwd).weight(d.weight);
        dest.u_threshold = d.u_threshold;
        dest.l_threshold = d.l_threshold;
        dest.tun_type = d.tun_type;
        dest.tun_port = d.tun_port;
        dest.tun_flags = TunnelFlags(d.tun_flags);
        dest
    }

    fn sync_daemon(&self) -> SyncDaemon {
        let d = &self.daemon;
        let ifn = match d.mcast_ifn.as_slice() {
            [] => DEFAULT_MCAST_IFN,
            name => name,
        };
        let mut daemon = SyncDaemon::new(d.state, text(ifn));
        daemon.sync_id = d.sync_id;
        daemon.sync_maxlen = d.sync_maxlen;
        daemon.mcast_group = d.mcast_group;
        daemon.mcast_port = d.mcast_port;
        daemon.mcast_ttl = d.mcast_ttl;
        daemon
    }

    fn command(&self) -> Command {
        match self.cmd {
            Cmd::Add => Command::AddService(self.service_entry()),
            Cmd::Edit => Command::EditService(self.service_entry()),
            Cmd::Del => Command::DeleteService(self.key()),
            Cmd::Flush => Command::Clear,
            Cmd::List => Command::List(ListOptions {
                service: self.service_key(),
                ..self.list.clone()
            }),
            Cmd::AddDest => Command::AddServer(self.key(), self.destination()),
            Cmd::EditDest => Command::EditServer(self.key(), self.destination()),
            Cmd::DelDest => Command::DeleteServer(
                self.key(),
                DestKey {
                    addr: self.dest_addr(),
                    port: self.dest.port,
                },
            ),
            Cmd::SetTimeout => Command::SetTimeouts(self.timeouts),
            Cmd::StartDaemon => Command::StartDaemon(self.sync_daemon()),
            Cmd::StopDaemon => Command::StopDaemon {
                state: self.daemon.state,
                sync_id: self.daemon.sync_id,
            },
            Cmd::Restore => Command::Restore(self.restore_mode),
            Cmd::Save => Command::Save {
                numeric: self.list.numeric,
            },
            Cmd::Zero => Command::Zero(self.service_key()),
        }
    }
}

/// `--start-daemon`/`--stop-daemon`'s value, with their two (differently typo'd) messages.
fn daemon_state(cmd: Cmd, v: &[u8]) -> Result<DaemonState, Fail> {
    match DaemonState::from_word(v) {
        Some(state) => Ok(state),
        None if cmd == Cmd::StartDaemon => Err("illegal start-daemon parameter specified".into()),
        None => Err("illegal start_daemon specified".into()),
    }
}

/// A numeric option: marks it seen, then checks the range with the option's message.
fn number(bit: Bit, options: &mut OptionSet, v: &[u8], min: u32, max: u32) -> Result<u32, Fail> {
    options.set(bit)?;
    values::unsigned(v, min, max).ok_or_else(|| number_message(bit).into())
}

fn number_message(bit: Bit) -> &'static str {
    match bit {
        Bit::Weight => "illegal weight specified",
        Bit::UThreshold => "illegal u_threshold specified",
        Bit::LThreshold => "illegal l_threshold specified",
        Bit::SyncId => "illegal syncid specified",
        Bit::McastPort => "illegal mcast-port specified",
        Bit::McastTtl => "illegal mcast-ttl specified",
        Bit::SyncMaxlen => "illegal sync-maxlen specified",
        Bit::TunPort => "illegal tunnel port specified",
        _ => "illegal value specified",
    }
}

/// `parse_timeout`: `min..=31 days`.
fn timeout(v: &[u8], min: u32) -> Result<u32, Fail> {
    values::unsigned(v, min, MAX_TIMEOUT)
        .ok_or_else(|| quoting("invalid timeout value `", v, "' specified"))
}
