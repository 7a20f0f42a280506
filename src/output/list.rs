//! `-L`: the version line, the titles, service lines and destination lines.

use std::io::{self, Write};

use super::ListOptions;
use super::columns::{DestColumns, ServiceColumns};
use super::flags::{forward_name, sched_flag_list, tunnel_info};
use super::identity::ServiceIdentity;
use super::names::{NameLookup, PortProtocol, addr_port_text};
use super::number::large_number;
use super::text::{cut, write_left};
use crate::model::{
    AddressFamily, Info, Netmask, Protocol, RealServer, Service, ServiceFlags, Stats,
    VirtualService,
};

/// IPv4 service names are cut to this many bytes (`svc_name[33] = '\0'`).
const SERVICE_NAME_MAX: usize = 33;
/// IPv4 destination texts are cut to this many bytes in listings.
const DEST_NAME_MAX: usize = 28;

const SCHEDULER_TITLE: &str = "Prot LocalAddress:Port Scheduler Flags\n";
const REMOTE_TITLE: &str = "  -> RemoteAddress:Port\n";

pub(crate) fn write_version_line(out: &mut dyn Write, info: &Info) -> io::Result<()> {
    writeln!(
        out,
        "IP Virtual Server version {} (size={})",
        info.version_string(),
        info.conn_tab_size as i32
    )
}

pub(crate) fn write_title(out: &mut dyn Write, opts: &ListOptions) -> io::Result<()> {
    let local = "Prot LocalAddress:Port";
    match DestColumns::of(opts) {
        DestColumns::Stats => {
            let heads = ["Conns", "InPkts", "OutPkts", "InBytes", "OutBytes"];
            write!(out, "{local:<33}")?;
            heads.iter().try_for_each(|h| write!(out, " {h:>8}"))?;
            write!(out, "\n{REMOTE_TITLE}")
        }
        DestColumns::Rate => {
            let heads = ["CPS", "InPPS", "OutPPS", "InBPS", "OutBPS"];
            write!(out, "{local:<33}")?;
            heads.iter().try_for_each(|h| write!(out, " {h:>8}"))?;
            write!(out, "\n{REMOTE_TITLE}")
        }
        DestColumns::Thresholds => {
            let heads = ["Uthreshold", "Lthreshold", "ActiveConn", "InActConn"];
            write!(out, "{local:<33}")?;
            heads.iter().try_for_each(|h| write!(out, " {h:<10}"))?;
            write!(out, "\n{REMOTE_TITLE}")
        }
        DestColumns::PersistentConn => write!(
            out,
            "{local:<33} {:<9} {:<11} {:<10} {:<10}\n{REMOTE_TITLE}",
            "Weight", "PersistConn", "ActiveConn", "InActConn"
        ),
        DestColumns::TunInfo => writeln!(
            out,
            "{SCHEDULER_TITLE}  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn"
        ),
        DestColumns::Default => writeln!(
            out,
            "{SCHEDULER_TITLE}  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn"
        ),
    }
}

pub(crate) fn write_service(
    out: &mut dyn Write,
    vs: &VirtualService,
    opts: &ListOptions,
    lookup: &mut dyn NameLookup,
) -> io::Result<()> {
    let svc = &vs.service;
    let identity = ServiceIdentity::of(&svc.key);
    let name = service_label(&identity, opts.numeric, lookup);
    match ServiceColumns::of(opts) {
        ServiceColumns::Stats => {
            write_left(out, &name, SERVICE_NAME_MAX)?;
            write_numbers(out, &service_counters(&vs.observed.stats), opts.exact)?;
        }
        ServiceColumns::Rate => {
            write_left(out, &name, SERVICE_NAME_MAX)?;
            write_numbers(out, &service_rates(&vs.observed.stats), opts.exact)?;
        }
        ServiceColumns::Scheduler => {
            out.write_all(&name)?;
            write_scheduler_details(out, svc)?;
        }
    }
    out.write_all(b"\n")?;
    let protocol = PortProtocol::from_raw(identity.protocol);
    for rs in &vs.dests {
        write_destination(out, rs, protocol, opts, lookup)?;
    }
    Ok(())
}

/// `FWM  %d[ IPv6]` (the mark signed, as the reference binary prints it), or the protocol
/// padded to 4 and the address text; IPv4 ones cut to 33 bytes.
fn service_label(id: &ServiceIdentity, numeric: bool, lookup: &mut dyn NameLookup) -> Vec<u8> {
    if id.is_fwmark() {
        let family = if id.af == AddressFamily::Inet6 {
            " IPv6"
        } else {
            ""
        };
        return format!("FWM  {}{family}", id.fwmark as i32).into_bytes();
    }
    let protocol = PortProtocol::from_raw(id.protocol);
    let addr = addr_port_text(id.addr, id.port, protocol, numeric, lookup);
    let name = Protocol::from_raw(id.protocol)
        .names()
        .map_or("?", |p| p.label);
    let mut label = format!("{name:<4} ").into_bytes();
    label.extend_from_slice(&addr);
    if id.af == AddressFamily::Inet6 {
        label
    } else {
        cut(label, SERVICE_NAME_MAX)
    }
}

/// ` SCHED[ (FLAGS)][ persistent T[ mask M][ pe PE]][ ops]`.
fn write_scheduler_details(out: &mut dyn Write, svc: &Service) -> io::Result<()> {
    write!(out, " {}", svc.scheduler)?;
    if let Some(flags) = sched_flag_list(svc) {
        write!(out, " ({flags})")?;
    }
    if svc.flags.contains(ServiceFlags::PERSISTENT) {
        write!(out, " persistent {}", svc.timeout)?;
        if let Some(mask) = netmask_text(svc) {
            write!(out, " mask {mask}")?;
        }
        // The engine shows only for persistent services (unlike `-S`).
        if let Some(pe) = pe_name(svc) {
            write!(out, " pe {pe}")?;
        }
    }
    if svc.flags.contains(ServiceFlags::ONEPACKET) {
        write!(out, " ops")?;
    }
    Ok(())
}

/// The persistence mask when it is not a host mask: dotted for IPv4, a prefix length
/// (printed signed) for IPv6.
pub(crate) fn netmask_text(svc: &Service) -> Option<String> {
    match svc.netmask {
        Netmask::V4(mask) if mask.octets() != [255; 4] => Some(mask.to_string()),
        Netmask::V6(bits) if bits != 128 => Some((bits as i32).to_string()),
        _ => None,
    }
}

/// A persistence engine name, if one is set (an empty name counts as none).
pub(crate) fn pe_name(svc: &Service) -> Option<&str> {
    svc.pe_name.as_deref().filter(|pe| !pe.is_empty())
}

fn write_destination(
    out: &mut dyn Write,
    RealServer { dest, observed }: &RealServer,
    protocol: Option<PortProtocol>,
    opts: &ListOptions,
    lookup: &mut dyn NameLookup,
) -> io::Result<()> {
    let mut name = addr_port_text(dest.addr, dest.port, protocol, opts.numeric, lookup);
    if dest.addr.is_ipv4() {
        name = cut(name, DEST_NAME_MAX);
    }
    out.write_all(b"  -> ")?;
    write_left(out, &name, DEST_NAME_MAX)?;
    let stats = dest_stats(&observed.stats);
    // Signed in the Weight column, unsigned in the persistent-conn one (as ipvsadm).
    let weight = dest.weight as i32;
    let (active, inactive) = (observed.active_conns, observed.inact_conns);
    match DestColumns::of(opts) {
        DestColumns::Stats => write_numbers(out, &service_counters(&stats), opts.exact)?,
        DestColumns::Rate => {
            // Connection and packet rates are never abbreviated, byte rates are.
            write!(out, " {:8} {:8} {:8}", stats.cps, stats.inpps, stats.outpps)?;
            write_numbers(out, &[stats.inbps, stats.outbps], opts.exact)?;
        }
        DestColumns::Thresholds => write!(
            out,
            " {:<10} {:<10} {active:<10} {inactive:<10}",
            dest.u_threshold, dest.l_threshold
        )?,
        DestColumns::PersistentConn => write!(
            out,
            " {:<9} {:<11} {active:<10} {inactive:<10}",
            dest.weight, observed.persist_conns
        )?,
        DestColumns::TunInfo => write!(
            out,
            " {:<7} {:<13} {weight:<6} {active:<10} {inactive:<10}",
            forward_name(dest.fwd),
            tunnel_info(dest)
        )?,
        DestColumns::Default => write!(
            out,
            " {:<7} {weight:<6} {active:<10} {inactive:<10}",
            forward_name(dest.fwd)
        )?,
    }
    out.write_all(b"\n")
}

fn write_numbers(out: &mut dyn Write, values: &[u64], exact: bool) -> io::Result<()> {
    values
        .iter()
        .try_for_each(|&v| out.write_all(large_number(v, exact).as_bytes()))
}

fn service_counters(s: &Stats) -> [u64; 5] {
    [s.conns, s.inpkts, s.outpkts, s.inbytes, s.outbytes]
}

fn service_rates(s: &Stats) -> [u64; 5] {
    [s.cps, s.inpps, s.outpps, s.inbps, s.outbps]
}

/// ipvsadm reads a destination's 64-bit statistics with its 32-bit reader, so everything
/// but the byte counters keeps only its low 32 bits. Services are read correctly.
fn dest_stats(s: &Stats) -> Stats {
    let low = |v: u64| v & 0xffff_ffff;
    Stats {
        conns: low(s.conns),
        inpkts: low(s.inpkts),
        outpkts: low(s.outpkts),
        inbytes: s.inbytes,
        outbytes: s.outbytes,
        cps: low(s.cps),
        inpps: low(s.inpps),
        outpps: low(s.outpps),
        inbps: low(s.inbps),
        outbps: low(s.outbps),
    }
}
