//! The state as a JSON document (schema version 1), both ways: what `-L --json` prints
//! and what `apply` reads. Numbers are JSON numbers (64-bit counters exact), addresses
//! strings, forwarding methods, tunnel types, checksum modes and scheduler flags words.
//!
//! What the kernel observes (counters, connection counts, the flags it sets itself) is
//! under `observed` keys; the timeouts, daemons and info describe the namespace. `apply`
//! reads only the services' configuration and ignores the rest, so a printed document
//! is valid input. Unknown keys are errors, reported with their JSON path.
//!
//! `tests/data/state-v1.json` is a document printed from a fixed state; a test keeps the
//! schema from changing by accident.

use std::borrow::Cow;
use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr};

use serde::de::IgnoredAny;
use serde::ser::SerializeSeq;
use serde::{Deserialize, Serialize, Serializer};

use crate::model::names;
use crate::model::{
    AddressFamily, Connection, Destination, FwdMethod, Netmask, Protocol, RealServer, Service,
    ServiceFlags, ServiceKey, State, Stats, SyncDaemon, TunnelFlags, TunnelType, VirtualService,
};

pub const SCHEMA_VERSION: u32 = 1;

use crate::model::{DEFAULT_PERSISTENT_TIMEOUT, DEFAULT_SCHEDULER, MAX_TIMEOUT, SCHED_NAME_MAX};
/// The longest engine name the document takes (one less than ipvsadm's `--pe`, which
/// copies 16 bytes without a terminating NUL).
const PE_NAME_MAX: usize = 15;

// ---------------------------------------------------------------------------------------
// Printing

#[derive(Serialize)]
struct DocumentOut<'a> {
    schema_version: u32,
    services: Each<'a, VirtualService, ServiceOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    timeouts: Option<TimeoutsOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    daemons: Option<Vec<DaemonOut>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    info: Option<InfoOut>,
}

#[derive(Serialize)]
struct ServiceOut<'a> {
    family: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    protocol: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    address: Option<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fwmark: Option<u32>,
    scheduler: &'a str,
    sched_flags: Vec<&'static str>,
    persistent: bool,
    timeout: u32,
    netmask: serde_json::Value,
    pe: Option<&'a str>,
    one_packet: bool,
    destinations: Each<'a, RealServer, DestOut>,
    observed: ServiceObservedOut,
}

#[derive(Serialize)]
struct ServiceObservedOut {
    hashed: bool,
    stats: StatsOut,
}

#[derive(Serialize)]
struct DestOut {
    address: IpAddr,
    port: u16,
    forward: &'static str,
    weight: u32,
    u_threshold: u32,
    l_threshold: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    tunnel: Option<TunnelOut>,
    observed: DestObservedOut,
}

#[derive(Serialize)]
struct TunnelOut {
    #[serde(rename = "type")]
    kind: serde_json::Value,
    port: u16,
    checksum: String,
}

#[derive(Serialize)]
struct DestObservedOut {
    active_conns: u32,
    inactive_conns: u32,
    persistent_conns: u32,
    stats: StatsOut,
}

#[derive(Serialize)]
struct StatsOut {
    conns: u64,
    inpkts: u64,
    outpkts: u64,
    inbytes: u64,
    outbytes: u64,
    cps: u64,
    inpps: u64,
    outpps: u64,
    inbps: u64,
    outbps: u64,
}

#[derive(Serialize)]
struct TimeoutsOut {
    tcp: u32,
    tcp_fin: u32,
    udp: u32,
}

#[derive(Serialize)]
struct DaemonOut {
    state: &'static str,
    interface: String,
    sync_id: u32,
    sync_maxlen: u16,
    group: Option<String>,
    port: u16,
    ttl: u8,
}

#[derive(Serialize)]
struct InfoOut {
    version: String,
    conn_tab_size: u32,
}

#[derive(Serialize)]
struct ConnectionsOut<'a> {
    schema_version: u32,
    connections: Each<'a, Connection, ConnectionOut<'a>>,
}

/// A list converted and printed one element at a time: a large table is never held as a
/// second copy.
struct Each<'a, T, O>(&'a [T], fn(&'a T) -> O);

impl<T, O: Serialize> Serialize for Each<'_, T, O> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for item in self.0 {
            seq.serialize_element(&(self.1)(item))?;
        }
        seq.end()
    }
}

#[derive(Serialize)]
struct ConnectionOut<'a> {
    protocol: Cow<'a, str>,
    client: EndpointOut,
    #[serde(rename = "virtual")]
    virtual_address: EndpointOut,
    destination: EndpointOut,
    state: &'a str,
    expires: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pe: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pe_data: Option<&'a str>,
}

#[derive(Serialize)]
struct EndpointOut {
    address: IpAddr,
    port: u16,
}

fn stats_out(s: &Stats) -> StatsOut {
    StatsOut {
        conns: s.conns,
        inpkts: s.inpkts,
        outpkts: s.outpkts,
        inbytes: s.inbytes,
        outbytes: s.outbytes,
        cps: s.cps,
        inpps: s.inpps,
        outpps: s.outpps,
        inbps: s.inbps,
        outbps: s.outbps,
    }
}

/// The word of a checksum mode, `csum,remcsum` for both, a hex number for other bits.
fn checksum_word(flags: TunnelFlags) -> String {
    if let Some(c) = flags.checksum() {
        return c.word.to_string();
    }
    if flags.0 == TunnelFlags::CSUM | TunnelFlags::REMCSUM {
        return "csum,remcsum".into();
    }
    format!("{:#x}", flags.0)
}

fn service_out(vs: &VirtualService) -> ServiceOut<'_> {
    let svc = &vs.service;
    let (protocol, address, port, fwmark) = match svc.key {
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => {
            let protocol = match protocol.names() {
                Some(p) => serde_json::Value::from(p.word),
                None => serde_json::Value::from(protocol.to_raw()),
            };
            (Some(protocol), Some(addr), Some(port), None)
        }
        ServiceKey::Fwmark { mark, .. } => (None, None, None, Some(mark)),
    };
    ServiceOut {
        family: svc.key.af().word(),
        protocol,
        address,
        port,
        fwmark,
        scheduler: &svc.scheduler,
        sched_flags: names::sched_flag_words(svc),
        persistent: svc.flags.contains(ServiceFlags::PERSISTENT),
        timeout: svc.timeout,
        netmask: match svc.netmask {
            Netmask::V4(mask) => serde_json::Value::from(mask.to_string()),
            Netmask::V6(prefix) => serde_json::Value::from(prefix),
        },
        pe: svc.pe_name.as_deref(),
        one_packet: svc.flags.contains(ServiceFlags::ONEPACKET),
        destinations: Each(&vs.dests, dest_out),
        observed: ServiceObservedOut {
            hashed: vs.observed.flags.contains(ServiceFlags::HASHED),
            stats: stats_out(&vs.observed.stats),
        },
    }
}

fn dest_out(rs: &RealServer) -> DestOut {
    let d = &rs.dest;
    DestOut {
        address: d.addr,
        port: d.port,
        forward: d.fwd.names().word,
        weight: d.weight,
        u_threshold: d.u_threshold,
        l_threshold: d.l_threshold,
        tunnel: (d.fwd == FwdMethod::Tunnel).then(|| TunnelOut {
            kind: match d.tun_type.word() {
                Some(word) => serde_json::Value::from(word),
                None => serde_json::Value::from(d.tun_type.to_raw()),
            },
            port: d.tun_port,
            checksum: checksum_word(d.tun_flags),
        }),
        observed: DestObservedOut {
            active_conns: rs.observed.active_conns,
            inactive_conns: rs.observed.inact_conns,
            persistent_conns: rs.observed.persist_conns,
            stats: stats_out(&rs.observed.stats),
        },
    }
}

fn daemon_out(d: &SyncDaemon) -> DaemonOut {
    DaemonOut {
        state: d.state.word(),
        interface: d.mcast_ifn.clone(),
        sync_id: d.sync_id,
        sync_maxlen: d.sync_maxlen,
        group: d.mcast_group.map(|g| g.to_string()),
        port: d.mcast_port,
        ttl: d.mcast_ttl,
    }
}

/// Writes a document, indented, with a final newline.
fn write_document<T: Serialize>(out: &mut dyn Write, doc: &T) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, doc).map_err(io::Error::from)?;
    out.write_all(b"\n")
}

/// Writes the whole state as a document: services (in the order given, destinations in
/// the kernel's order), then timeouts, daemons and info when they were read.
pub fn write_state(out: &mut dyn Write, state: &State) -> io::Result<()> {
    write_document(
        out,
        &DocumentOut {
            schema_version: SCHEMA_VERSION,
            services: Each(&state.services, service_out),
            timeouts: state.timeouts.map(|t| TimeoutsOut {
                tcp: t.tcp,
                tcp_fin: t.tcp_fin,
                udp: t.udp,
            }),
            daemons: state
                .daemons
                .as_ref()
                .map(|daemons| daemons.iter().map(daemon_out).collect()),
            info: state.info.map(|i| InfoOut {
                version: i.version_string(),
                conn_tab_size: i.conn_tab_size,
            }),
        },
    )
}

/// [`write_state`] into a string.
pub fn state_document(state: &State) -> String {
    let mut out = Vec::new();
    write_state(&mut out, state).expect("writing to memory");
    String::from_utf8(out).expect("JSON is UTF-8")
}

fn endpoint_out((address, port): (IpAddr, u16)) -> EndpointOut {
    EndpointOut { address, port }
}

fn connection_out(c: &Connection) -> ConnectionOut<'_> {
    ConnectionOut {
        protocol: match Protocol::from_label(&c.protocol).and_then(Protocol::names) {
            Some(known) => Cow::Borrowed(known.word),
            None => Cow::Owned(c.protocol.to_lowercase()),
        },
        client: endpoint_out(c.client),
        virtual_address: endpoint_out(c.virtual_address),
        destination: endpoint_out(c.destination),
        state: &c.state,
        expires: c.expires,
        pe: c.pe.as_ref().map(|(name, _)| name.as_str()),
        pe_data: c.pe.as_ref().map(|(_, data)| data.as_str()),
    }
}

/// Writes the connection table as a document.
pub fn write_connections(out: &mut dyn Write, connections: &[Connection]) -> io::Result<()> {
    write_document(
        out,
        &ConnectionsOut {
            schema_version: SCHEMA_VERSION,
            connections: Each(connections, connection_out),
        },
    )
}

// ---------------------------------------------------------------------------------------
// Reading

/// A problem with a document: where (a JSON path), what is wrong, what to do.
pub use crate::plan::Problem;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DocumentIn {
    schema_version: u32,
    // Required: a document that says nothing of services must not empty the table.
    services: Vec<ServiceIn>,
    // Described, not configured by apply: accepted and ignored.
    #[serde(default)]
    #[allow(dead_code)]
    timeouts: Option<IgnoredAny>,
    #[serde(default)]
    #[allow(dead_code)]
    daemons: Option<IgnoredAny>,
    #[serde(default)]
    #[allow(dead_code)]
    info: Option<IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ServiceIn {
    #[serde(default)]
    family: Option<String>,
    #[serde(default)]
    protocol: Option<serde_json::Value>,
    #[serde(default)]
    address: Option<String>,
    #[serde(default)]
    port: Option<u16>,
    #[serde(default)]
    fwmark: Option<u32>,
    #[serde(default)]
    scheduler: Option<String>,
    #[serde(default)]
    sched_flags: Vec<String>,
    #[serde(default)]
    persistent: bool,
    #[serde(default)]
    timeout: Option<u32>,
    #[serde(default)]
    netmask: Option<serde_json::Value>,
    #[serde(default)]
    pe: Option<String>,
    #[serde(default)]
    one_packet: bool,
    #[serde(default)]
    destinations: Vec<DestIn>,
    #[serde(default)]
    #[allow(dead_code)]
    observed: Option<IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DestIn {
    address: String,
    #[serde(default)]
    port: Option<u16>,
    #[serde(default)]
    forward: Option<String>,
    #[serde(default)]
    weight: Option<u32>,
    #[serde(default)]
    u_threshold: u32,
    #[serde(default)]
    l_threshold: u32,
    #[serde(default)]
    tunnel: Option<TunnelIn>,
    #[serde(default)]
    #[allow(dead_code)]
    observed: Option<IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TunnelIn {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    port: u16,
    #[serde(default)]
    checksum: Option<String>,
}

/// Reads a document into the services it describes (configuration only, in document
/// order, destinations in document order: `services[i]` is the i-th). Every problem
/// found is returned, not just the first.
pub fn read_services(text: &str) -> Result<Vec<VirtualService>, Vec<Problem>> {
    let de = &mut serde_json::Deserializer::from_str(text);
    let doc: DocumentIn = serde_path_to_error::deserialize(de).map_err(|e| {
        let at = match e.path().to_string().as_str() {
            "." => "the document".to_string(),
            path => path.to_string(),
        };
        let inner = e.into_inner();
        let what = strip_position(&inner.to_string());
        let fix = if inner.is_syntax() || inner.is_eof() {
            format!(
                "the text is not valid JSON at line {}, column {}",
                inner.line(),
                inner.column()
            )
        } else if what.starts_with("unknown field") {
            "see rsipvsadm(8), JSON DOCUMENT, for the keys of each object".to_string()
        } else {
            "see rsipvsadm(8), JSON DOCUMENT".to_string()
        };
        vec![Problem::new(at, what, fix)]
    })?;
    if doc.schema_version != SCHEMA_VERSION {
        return Err(vec![Problem::new(
            "schema_version",
            format!("schema version {} is not known", doc.schema_version),
            format!("this rsipvsadm reads version {SCHEMA_VERSION}"),
        )]);
    }
    let mut problems = Vec::new();
    let mut services = Vec::new();
    for (i, svc) in doc.services.iter().enumerate() {
        let at = format!("services[{i}]");
        if let Some(vs) = service_in(svc, &at, &mut problems) {
            services.push(vs);
        }
    }
    if problems.is_empty() {
        Ok(services)
    } else {
        Err(problems)
    }
}

/// serde_json appends " at line L column C" to its messages; the path says where.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_string(),
        None => message.to_string(),
    }
}

fn service_in(svc: &ServiceIn, at: &str, problems: &mut Vec<Problem>) -> Option<VirtualService> {
    let before = problems.len();
    let mut fail = |field: &str, what: String, fix: &str| {
        let at = if field.is_empty() {
            at.to_string()
        } else {
            format!("{at}.{field}")
        };
        problems.push(Problem::new(at, what, fix));
    };
    let family = match svc.family.as_deref() {
        None => None,
        Some("ipv4") => Some(AddressFamily::Inet),
        Some("ipv6") => Some(AddressFamily::Inet6),
        Some(other) => {
            fail(
                "family",
                format!("unknown family {other:?}"),
                "write \"ipv4\" or \"ipv6\"",
            );
            None
        }
    };
    let key = match (svc.fwmark, &svc.protocol, &svc.address) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            fail(
                "",
                "a fwmark service has no protocol or address".into(),
                "give either fwmark, or protocol, address and port",
            );
            None
        }
        (Some(_), None, None) if svc.port.is_some() => {
            fail(
                "port",
                "a fwmark service has no port".into(),
                "leave the port out",
            );
            None
        }
        (Some(0), None, None) => {
            fail(
                "fwmark",
                "fwmark 0 marks nothing".into(),
                "use a mark from 1 to 4294967295",
            );
            None
        }
        (Some(mark), None, None) => Some(ServiceKey::fwmark(
            family.unwrap_or(AddressFamily::Inet),
            mark,
        )),
        (None, protocol, address) => {
            let protocol = match protocol {
                None => {
                    fail(
                        "protocol",
                        "missing".into(),
                        "write \"tcp\", \"udp\" or \"sctp\" (or give a fwmark)",
                    );
                    None
                }
                Some(value) => match protocol_in(value) {
                    Some(p) => Some(p),
                    None => {
                        fail(
                            "protocol",
                            format!("protocol {value} cannot be managed"),
                            "write \"tcp\", \"udp\" or \"sctp\"",
                        );
                        None
                    }
                },
            };
            let addr = match address {
                None => {
                    fail("address", "missing".into(), "write the virtual IP address");
                    None
                }
                Some(text) => match text.parse::<IpAddr>() {
                    Ok(addr) => Some(addr),
                    Err(_) => {
                        fail(
                            "address",
                            format!("{text:?} is not an IP address"),
                            "write an IPv4 or IPv6 address, without port or brackets",
                        );
                        None
                    }
                },
            };
            if let (Some(addr), Some(af)) = (addr, family)
                && AddressFamily::of(&addr) != af
            {
                fail(
                    "family",
                    format!(
                        "{} does not match address {addr}",
                        svc.family.as_deref().unwrap_or("")
                    ),
                    "leave the family out or make it match",
                );
            }
            let port = match svc.port {
                Some(port) => Some(port),
                None => {
                    fail(
                        "port",
                        "missing".into(),
                        "write the service port (0 with persistent for every port)",
                    );
                    None
                }
            };
            match (protocol, addr, port) {
                (Some(protocol), Some(addr), Some(port)) => Some(ServiceKey::Addr {
                    protocol,
                    addr,
                    port,
                }),
                _ => None,
            }
        }
    };
    let scheduler = svc
        .scheduler
        .clone()
        .unwrap_or_else(|| DEFAULT_SCHEDULER.into());
    if scheduler.is_empty() || scheduler.len() > SCHED_NAME_MAX || scheduler.contains('\0') {
        fail(
            "scheduler",
            format!("{scheduler:?} is not a scheduler name"),
            "write one such as rr, wlc, sh or mh (at most 15 characters)",
        );
    }
    let mut flags = 0;
    if svc.persistent {
        flags |= ServiceFlags::PERSISTENT;
    }
    if svc.one_packet {
        flags |= ServiceFlags::ONEPACKET;
    }
    for (i, name) in svc.sched_flags.iter().enumerate() {
        match names::SCHED_FLAGS.iter().find(|f| f.name == name) {
            None => fail(
                &format!("sched_flags[{i}]"),
                format!("unknown scheduler flag {name:?}"),
                "write sh-fallback, sh-port, mh-fallback, mh-port or flag-1 to flag-3",
            ),
            Some(f) if f.scheduler.is_some_and(|s| s != scheduler) => fail(
                &format!("sched_flags[{i}]"),
                format!("{name} is for the {} scheduler", f.scheduler.unwrap_or("")),
                "use it with that scheduler, or use flag-1 to flag-3",
            ),
            Some(f) => flags |= f.bit,
        }
    }
    let timeout = match (svc.persistent, svc.timeout) {
        (true, None) => DEFAULT_PERSISTENT_TIMEOUT,
        (true, Some(t)) if (1..=MAX_TIMEOUT).contains(&t) => t,
        (true, Some(t)) => {
            fail(
                "timeout",
                format!("persistence timeout {t} is out of range"),
                "use 1 to 2678400 seconds",
            );
            0
        }
        (false, None | Some(0)) => 0,
        (false, Some(_)) => {
            fail(
                "timeout",
                "a timeout without persistent".into(),
                "set persistent to true, or leave the timeout out",
            );
            0
        }
    };
    if let Some(pe) = &svc.pe
        && (pe.is_empty() || pe.len() > PE_NAME_MAX || pe.contains('\0'))
    {
        fail(
            "pe",
            format!("{pe:?} is not a persistence engine name"),
            "write \"sip\", or null for none",
        );
    }
    let key = key?;
    let netmask = match (&svc.netmask, key.af()) {
        (None, af) => Netmask::host(af),
        (Some(serde_json::Value::String(text)), AddressFamily::Inet) => {
            match text.parse::<Ipv4Addr>() {
                Ok(mask) => Netmask::V4(mask),
                Err(_) => {
                    fail(
                        "netmask",
                        format!("{text:?} is not an IPv4 mask"),
                        "write a dotted mask such as \"255.255.255.0\"",
                    );
                    Netmask::host(AddressFamily::Inet)
                }
            }
        }
        (Some(serde_json::Value::Number(n)), AddressFamily::Inet6)
            if n.as_u64().is_some_and(|p| (1..=128).contains(&p)) =>
        {
            Netmask::V6(n.as_u64().unwrap_or(128) as u32)
        }
        (Some(value), af) => {
            let fix = match af {
                AddressFamily::Inet => {
                    "an IPv4 service takes a dotted mask such as \"255.255.255.0\""
                }
                AddressFamily::Inet6 => "an IPv6 service takes a prefix length from 1 to 128",
            };
            fail("netmask", format!("{value} is not a netmask here"), fix);
            Netmask::host(af)
        }
    };
    if let ServiceKey::Addr { port: 0, .. } = key
        && !svc.persistent
    {
        fail(
            "port",
            "port 0 (every port) needs persistence".into(),
            "set persistent to true, or give a port",
        );
    }
    if svc.one_packet
        && matches!(key, ServiceKey::Addr { protocol, .. } if protocol != Protocol::Udp)
    {
        fail(
            "one_packet",
            "one-packet scheduling is only for UDP and fwmark services".into(),
            "set it to false",
        );
    }
    let service = Service {
        key,
        scheduler,
        flags: ServiceFlags(flags),
        timeout,
        netmask,
        pe_name: svc.pe.clone(),
    };
    let mut vs = VirtualService::new(service);
    for (j, dest) in svc.destinations.iter().enumerate() {
        if let Some(d) = dest_in(dest, &key, &format!("{at}.destinations[{j}]"), problems) {
            vs.dests.push(RealServer::new(d));
        }
    }
    (problems.len() == before).then_some(vs)
}

fn protocol_in(value: &serde_json::Value) -> Option<Protocol> {
    let protocol = match value {
        serde_json::Value::String(word) => Protocol::from_word(word)?,
        serde_json::Value::Number(n) => Protocol::from_raw(u16::try_from(n.as_u64()?).ok()?),
        _ => return None,
    };
    // Only what ipvsadm's rules can say: the plan is printed as rules.
    protocol.names().map(|_| protocol)
}

fn dest_in(
    dest: &DestIn,
    key: &ServiceKey,
    at: &str,
    problems: &mut Vec<Problem>,
) -> Option<Destination> {
    let before = problems.len();
    let mut fail = |field: &str, what: String, fix: &str| {
        problems.push(Problem::new(format!("{at}.{field}"), what, fix));
    };
    let addr = match dest.address.parse::<IpAddr>() {
        Ok(addr) => Some(addr),
        Err(_) => {
            fail(
                "address",
                format!("{:?} is not an IP address", dest.address),
                "write the real server's IPv4 or IPv6 address, without port or brackets",
            );
            None
        }
    };
    let fwd = match dest.forward.as_deref() {
        None => FwdMethod::Route,
        // The kernel lists a local address as local whatever it was given; -S saves it
        // as -g.
        Some("local") => FwdMethod::Route,
        Some(word) => match FwdMethod::from_word(word) {
            Some(FwdMethod::Bypass) | None => {
                fail(
                    "forward",
                    format!("unknown forwarding method {word:?}"),
                    "write \"route\" (-g), \"masq\" (-m) or \"tunnel\" (-i)",
                );
                FwdMethod::Route
            }
            Some(fwd) => fwd,
        },
    };
    let service_port = match key {
        ServiceKey::Addr { port, .. } => *port,
        ServiceKey::Fwmark { .. } => 0,
    };
    let port = dest.port.unwrap_or(service_port);
    if matches!(key, ServiceKey::Addr { .. })
        && matches!(fwd, FwdMethod::Route | FwdMethod::Tunnel)
        && port != service_port
    {
        fail(
            "port",
            format!("port {port} differs from the service's {service_port}"),
            "direct routing and tunnels keep the service's port (ipvsadm forces it): write it or leave it out",
        );
    }
    if let Some(addr) = addr
        && AddressFamily::of(&addr) != key.af()
        && fwd != FwdMethod::Tunnel
    {
        fail(
            "address",
            format!("{addr} is not of the service's address family"),
            "a different family is allowed only for tunnel forwarding",
        );
    }
    let weight = dest.weight.unwrap_or(1);
    for (field, value) in [
        ("weight", weight),
        ("u_threshold", dest.u_threshold),
        ("l_threshold", dest.l_threshold),
    ] {
        if value > i32::MAX as u32 {
            fail(
                field,
                format!("{value} is too large"),
                "use at most 2147483647",
            );
        }
    }
    let mut d = Destination::new(addr?, port, fwd).weight(weight);
    d.u_threshold = dest.u_threshold;
    d.l_threshold = dest.l_threshold;
    match (&dest.tunnel, fwd) {
        (None, _) => {}
        (Some(_), fwd) if fwd != FwdMethod::Tunnel => fail(
            "tunnel",
            "tunnel settings without tunnel forwarding".into(),
            "set forward to \"tunnel\", or leave tunnel out",
        ),
        (Some(t), _) => {
            let kind = t.kind.as_deref().unwrap_or("ipip");
            match TunnelType::from_word(kind.as_bytes()) {
                None => fail(
                    "tunnel.type",
                    format!("unknown tunnel type {kind:?}"),
                    "write \"ipip\", \"gue\" or \"gre\"",
                ),
                Some(tun_type) => d.tun_type = tun_type,
            }
            let checksum = t.checksum.as_deref().unwrap_or("nocsum");
            match TunnelFlags::from_checksum_word(checksum) {
                None => fail(
                    "tunnel.checksum",
                    format!("unknown checksum mode {checksum:?}"),
                    "write \"nocsum\", \"csum\" or \"remcsum\"",
                ),
                Some(flags) => d.tun_flags = flags,
            }
            d.tun_port = t.port;
            match d.tun_type {
                TunnelType::Gue if t.port == 0 => fail(
                    "tunnel.port",
                    "a gue tunnel needs a port".into(),
                    "write the UDP port the real server decapsulates on",
                ),
                TunnelType::Ipip | TunnelType::Gre if t.port != 0 => fail(
                    "tunnel.port",
                    format!("a {kind} tunnel has no port"),
                    "leave the port out (0)",
                ),
                TunnelType::Ipip if d.tun_flags.0 != 0 => fail(
                    "tunnel.checksum",
                    "an ipip tunnel has no checksum option".into(),
                    "leave the checksum out",
                ),
                TunnelType::Gre if d.tun_flags.0 == TunnelFlags::REMCSUM => fail(
                    "tunnel.checksum",
                    "a gre tunnel has no remote checksum offload".into(),
                    "write \"nocsum\" or \"csum\"",
                ),
                _ => {}
            }
        }
    }
    (problems.len() == before).then_some(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{DaemonState, DestObserved, ServiceObserved};

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// A state with every kind of thing the document describes.
    pub(crate) fn sample_state() -> State {
        let mut web = Service::new(ServiceKey::tcp(ip("192.0.2.10"), 80), "wrr").persistent(300);
        web.netmask = Netmask::V4(Ipv4Addr::new(255, 255, 255, 0));
        web.pe_name = Some("sip".into());
        let mut nat = Destination::new(ip("10.0.0.2"), 8080, FwdMethod::Masq).weight(3);
        nat.u_threshold = 100;
        nat.l_threshold = 50;
        let mut gue = Destination::new(ip("10.0.0.3"), 80, FwdMethod::Tunnel);
        gue.tun_type = TunnelType::Gue;
        gue.tun_port = 6080;
        gue.tun_flags = TunnelFlags(TunnelFlags::CSUM);
        let mut web = VirtualService::new(web).with_dest(nat).with_dest(gue);
        web.observed = ServiceObserved {
            flags: ServiceFlags(ServiceFlags::PERSISTENT | ServiceFlags::HASHED),
            stats: Stats {
                conns: 12_345_678_901,
                inbytes: u64::MAX,
                ..Stats::default()
            }
            .into(),
        };
        web.dests[0].observed = DestObserved {
            active_conns: 2,
            inact_conns: 1,
            persist_conns: 3,
            ..DestObserved::default()
        };
        let mut sh = Service::new(ServiceKey::fwmark(AddressFamily::Inet6, 42), "sh");
        sh.flags.0 |= ServiceFlags::SCHED1 | ServiceFlags::SCHED3 | ServiceFlags::ONEPACKET;
        let gre = {
            let mut d = Destination::new(ip("2001:db8::2"), 0, FwdMethod::Tunnel);
            d.tun_type = TunnelType::Gre;
            d
        };
        let sh = VirtualService::new(sh)
            .with_dest(gre)
            .with_dest(Destination::new(ip("2001:db8::3"), 0, FwdMethod::Route));
        let dns = VirtualService::new(Service::new(ServiceKey::udp(ip("2001:db8::53"), 53), "rr"));
        State {
            services: vec![web, sh, dns],
            timeouts: Some(crate::model::Timeouts {
                tcp: 900,
                tcp_fin: 120,
                udp: 300,
            }),
            daemons: Some(vec![SyncDaemon {
                mcast_group: Some(ip("224.0.0.81")),
                mcast_port: 8848,
                mcast_ttl: 1,
                sync_maxlen: 1472,
                ..SyncDaemon::new(DaemonState::Master, "eth0")
            }]),
            info: Some(crate::model::Info {
                version: 0x010201,
                conn_tab_size: 4096,
            }),
        }
    }

    fn configuration(services: &[VirtualService]) -> Vec<VirtualService> {
        services
            .iter()
            .map(|vs| {
                vs.dests
                    .iter()
                    .fold(VirtualService::new(vs.service.clone()), |v, rs| {
                        v.with_dest(rs.dest.clone())
                    })
            })
            .collect()
    }

    #[test]
    fn the_schema_has_not_changed() {
        let golden = include_str!("../tests/data/state-v1.json");
        let printed = state_document(&sample_state());
        if std::env::var_os("RSIPVSADM_UPDATE_GOLDEN").is_some() {
            std::fs::write(
                concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/state-v1.json"),
                &printed,
            )
            .unwrap();
            return;
        }
        assert_eq!(
            printed, golden,
            "the JSON document changed: if on purpose, bump SCHEMA_VERSION when it is not \
             compatible, and regenerate with RSIPVSADM_UPDATE_GOLDEN=1"
        );
    }

    #[test]
    fn a_printed_document_reads_back_as_its_configuration() {
        let state = sample_state();
        let read = read_services(&state_document(&state)).unwrap();
        assert_eq!(read, configuration(&state.services));
    }

    #[test]
    fn defaults_are_ipvsadms() {
        let doc = r#"{"schema_version": 1, "services": [
            {"protocol": "tcp", "address": "10.0.0.1", "port": 80,
             "destinations": [{"address": "10.0.0.2"}]},
            {"fwmark": 7, "persistent": true}
        ]}"#;
        let read = read_services(doc).unwrap();
        let web = &read[0];
        assert_eq!(
            web.service,
            Service::new(ServiceKey::tcp(ip("10.0.0.1"), 80), "wlc")
        );
        assert_eq!(
            web.dests[0].dest,
            Destination::new(ip("10.0.0.2"), 80, FwdMethod::Route)
        );
        assert_eq!(
            read[1].service,
            Service::new(ServiceKey::fwmark(AddressFamily::Inet, 7), "wlc").persistent(360)
        );
    }

    fn problems(doc: &str) -> Vec<String> {
        read_services(doc)
            .unwrap_err()
            .iter()
            .map(|p| format!("{}: {}", p.at, p.what))
            .collect()
    }

    #[test]
    fn every_problem_is_reported_with_its_path() {
        let doc = r#"{"schema_version": 1, "services": [
            {"protocol": "tcp", "address": "10.0.0.1", "port": 0, "scheduler": "sh",
             "sched_flags": ["mh-port", "bogus"], "timeout": 5},
            {"protocol": "icmp", "address": "10.0.0.x", "port": 80, "one_packet": true},
            {"protocol": "udp", "address": "10.0.0.1", "port": 53, "destinations": [
                {"address": "2001:db8::1"},
                {"address": "10.0.0.2", "forward": "route", "port": 5353},
                {"address": "10.0.0.3", "forward": "masq", "tunnel": {"type": "gue"}},
                {"address": "10.0.0.4", "forward": "tunnel", "tunnel": {"type": "gue"}},
                {"address": "10.0.0.5", "weight": 3000000000, "l_threshold": 2}
            ]}
        ]}"#;
        assert_eq!(
            problems(doc),
            [
                "services[0].sched_flags[0]: mh-port is for the mh scheduler",
                "services[0].sched_flags[1]: unknown scheduler flag \"bogus\"",
                "services[0].timeout: a timeout without persistent",
                "services[0].port: port 0 (every port) needs persistence",
                "services[1].protocol: protocol \"icmp\" cannot be managed",
                "services[1].address: \"10.0.0.x\" is not an IP address",
                "services[2].destinations[0].address: 2001:db8::1 is not of the service's address family",
                "services[2].destinations[1].port: port 5353 differs from the service's 53",
                "services[2].destinations[2].tunnel: tunnel settings without tunnel forwarding",
                "services[2].destinations[3].tunnel.port: a gue tunnel needs a port",
                "services[2].destinations[4].weight: 3000000000 is too large",
            ]
        );
    }

    #[test]
    fn wrong_types_unknown_keys_and_bad_syntax_are_reported_where_they_are() {
        assert_eq!(
            problems(r#"{"schema_version": 1, "services": [{"protocol": "tcp", "port": "80"}]}"#),
            ["services[0].port: invalid type: string \"80\", expected u16"]
        );
        let unknown = problems(
            r#"{"schema_version": 1, "services": [{"fwmark": 1, "destinations": [{"address": "10.0.0.1", "wieght": 2}]}]}"#,
        );
        assert_eq!(unknown.len(), 1);
        assert!(
            unknown[0].starts_with("services[0].destinations[0].wieght: unknown field `wieght`"),
            "{unknown:?}"
        );
        assert_eq!(
            problems(r#"{"services": []}"#),
            ["the document: missing field `schema_version`"]
        );
        assert_eq!(
            problems(r#"{"schema_version": 2, "services": []}"#),
            ["schema_version: schema version 2 is not known"]
        );
        assert_eq!(
            problems(r#"{"schema_version": 1}"#),
            ["the document: missing field `services`"]
        );
        let syntax = read_services("{\"schema_version\": 1,\n  \"services\": [,]}").unwrap_err();
        assert!(syntax[0].fix.contains("line 2"), "{syntax:?}");
    }
}
