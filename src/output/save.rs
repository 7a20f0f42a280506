//! `-S`: the table as `-A`/`-a` command lines that `-R` reads back.

use std::io::{self, Write};

use super::flags::{forward_switch, sched_flag_list, tunnel_options};
use super::identity::ServiceIdentity;
use super::list::{netmask_text, pe_name};
use super::names::{NameLookup, PortProtocol, addr_port_text};
use crate::model::{
    AddressFamily, Destination, FwdMethod, Protocol, Service, ServiceFlags, VirtualService,
};

pub(crate) fn write_save(
    out: &mut dyn Write,
    table: &[VirtualService],
    numeric: bool,
    lookup: &mut dyn NameLookup,
) -> io::Result<()> {
    for VirtualService {
        service: svc,
        dests,
        ..
    } in table
    {
        let identity = ServiceIdentity::of(&svc.key);
        let selector = service_selector(&identity, numeric, lookup);
        write_service_rule(out, svc, &selector)?;
        let protocol = PortProtocol::from_raw(identity.protocol);
        for rs in dests {
            write_dest_rule(out, &rs.dest, &selector, protocol, numeric, lookup)?;
        }
    }
    Ok(())
}

/// `-t ADDR:PORT`, `-u …`, `--sctp-service …`, `--xxx-service …` for another protocol,
/// or `-f MARK[ -6]` (the mark signed, as the reference binary prints it). No length cut.
fn service_selector(id: &ServiceIdentity, numeric: bool, lookup: &mut dyn NameLookup) -> Vec<u8> {
    if id.is_fwmark() {
        let family = if id.af == AddressFamily::Inet6 {
            " -6"
        } else {
            ""
        };
        return format!("-f {}{family}", id.fwmark as i32).into_bytes();
    }
    let protocol = PortProtocol::from_raw(id.protocol);
    let switch = Protocol::from_raw(id.protocol)
        .names()
        .map_or("--xxx-service", |p| p.option);
    let mut selector = format!("{switch} ").into_bytes();
    selector.extend_from_slice(&addr_port_text(id.addr, id.port, protocol, numeric, lookup));
    selector
}

/// `-A SEL -s SCHED[ -p T[ -M MASK]][ --pe PE][ -o][ -b FLAGS]`.
fn write_service_rule(out: &mut dyn Write, svc: &Service, selector: &[u8]) -> io::Result<()> {
    out.write_all(b"-A ")?;
    out.write_all(selector)?;
    write!(out, " -s {}", svc.scheduler)?;
    if svc.flags.contains(ServiceFlags::PERSISTENT) {
        write!(out, " -p {}", svc.timeout)?;
        if let Some(mask) = netmask_text(svc) {
            write!(out, " -M {mask}")?;
        }
    }
    // Saved even for a service that is not persistent.
    if let Some(pe) = pe_name(svc) {
        write!(out, " --pe {pe}")?;
    }
    if svc.flags.contains(ServiceFlags::ONEPACKET) {
        write!(out, " -o")?;
    }
    if let Some(flags) = sched_flag_list(svc) {
        write!(out, " -b {flags}")?;
    }
    out.write_all(b"\n")
}

/// `-a SEL -r ADDR:PORT METHOD -w W[ TUNNEL]`. Thresholds are not saved (as in ipvsadm).
fn write_dest_rule(
    out: &mut dyn Write,
    dest: &Destination,
    selector: &[u8],
    protocol: Option<PortProtocol>,
    numeric: bool,
    lookup: &mut dyn NameLookup,
) -> io::Result<()> {
    out.write_all(b"-a ")?;
    out.write_all(selector)?;
    out.write_all(b" -r ")?;
    out.write_all(&addr_port_text(
        dest.addr, dest.port, protocol, numeric, lookup,
    ))?;
    write!(
        out,
        " {} -w {}",
        forward_switch(dest.fwd),
        dest.weight as i32
    )?;
    if dest.fwd == FwdMethod::Tunnel {
        out.write_all(tunnel_options(dest).as_bytes())?;
    }
    out.write_all(b"\n")
}
