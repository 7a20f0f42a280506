//! A plan of `apply` as ipvsadm command lines, in execution order: a rule file that both
//! `ipvsadm -R` and `rsipvsadm -R` replay. Unlike `-S` it says everything a rule can say:
//! thresholds, a netmask without persistence, fwmarks of 2^31 and more unsigned (which
//! ipvsadm's `-R` reads back), always numeric.

use std::fmt::Write;
use std::net::IpAddr;

use super::flags::{forward_switch, tunnel_options};
use super::list::{netmask_text, pe_name};
use crate::model::names::sched_flag_words;
use crate::model::{
    AddressFamily, Destination, FwdMethod, Request, Service, ServiceFlags, ServiceKey,
};
use crate::plan::Change;

/// The rule line of one change (without newline).
pub fn rule_line(request: &Request) -> String {
    let mut line = String::new();
    write_rule(&mut line, request);
    line
}

/// Appends the rule line of one change (without newline).
pub fn write_rule(line: &mut String, request: &Request) {
    match request {
        Request::AddService(svc) => service_rule(line, "-A", svc),
        Request::EditService(svc) => service_rule(line, "-E", svc),
        Request::DelService(key) => del_service_rule(line, key),
        Request::AddDest(key, dest) => dest_rule(line, "-a", key, dest, dest.weight),
        Request::EditDest(key, dest) => dest_rule(line, "-e", key, dest, dest.weight),
        Request::DelDest(key, dest) => del_dest_rule(line, key, dest.addr, dest.port),
        // Not part of a plan; written as ipvsadm would be told for completeness.
        Request::Flush => line.push_str("-C"),
        other => {
            let _ = write!(line, "# {other:?}");
        }
    }
}

/// Appends the rule line of a plan's change (without newline). Numbers and IPv4
/// addresses are written by hand: a plan can have hundreds of thousands of lines.
pub fn write_change(line: &mut String, change: &Change) {
    match *change {
        Change::AddService(svc) => service_rule(line, "-A", svc),
        Change::EditService(svc) => service_rule(line, "-E", svc),
        Change::DelService(svc) => del_service_rule(line, &svc.key),
        Change::AddDest(svc, dest) => dest_rule(line, "-a", &svc.key, dest, dest.weight),
        Change::EditDest(svc, dest) => dest_rule(line, "-e", &svc.key, dest, dest.weight),
        Change::DrainDest(svc, dest) => dest_rule(line, "-e", &svc.key, dest, 0),
        Change::DelDest(svc, dest) => del_dest_rule(line, &svc.key, dest.addr, dest.port),
    }
}

fn del_service_rule(line: &mut String, key: &ServiceKey) {
    line.push_str("-D ");
    selector(line, key);
}

fn del_dest_rule(line: &mut String, key: &ServiceKey, addr: IpAddr, port: u16) {
    line.push_str("-d ");
    selector(line, key);
    line.push_str(" -r ");
    address_port(line, addr, port);
}

/// `-t ADDR:PORT`, `-u ...`, `--sctp-service ...`, `-f MARK[ -6]`.
fn selector(line: &mut String, key: &ServiceKey) {
    match key {
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => {
            line.push_str(protocol.names().map_or("--xxx-service", |p| p.option));
            line.push(' ');
            address_port(line, *addr, *port);
        }
        ServiceKey::Fwmark { af, mark } => {
            line.push_str("-f ");
            number(line, *mark);
            if *af == AddressFamily::Inet6 {
                line.push_str(" -6");
            }
        }
    }
}

/// A decimal number.
fn number(line: &mut String, mut n: u32) {
    let mut digits = [0u8; 10];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    // Only ASCII digits were written.
    line.push_str(std::str::from_utf8(&digits[at..]).unwrap_or_default());
}

/// `10.0.0.1:80`, `[2001:db8::1]:80`.
fn address_port(line: &mut String, addr: IpAddr, port: u16) {
    match addr {
        IpAddr::V4(v4) => {
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    line.push('.');
                }
                number(line, u32::from(octet));
            }
        }
        IpAddr::V6(v6) => {
            let _ = write!(line, "[{v6}]");
        }
    }
    line.push(':');
    number(line, u32::from(port));
}

fn service_rule(line: &mut String, command: &str, svc: &Service) {
    line.push_str(command);
    line.push(' ');
    selector(line, &svc.key);
    line.push_str(" -s ");
    line.push_str(&svc.scheduler);
    if svc.flags.contains(ServiceFlags::PERSISTENT) {
        let _ = write!(line, " -p {}", svc.timeout);
    }
    if let Some(mask) = netmask_text(svc) {
        let _ = write!(line, " -M {mask}");
    }
    if let Some(pe) = pe_name(svc) {
        let _ = write!(line, " --pe {pe}");
    }
    if svc.flags.contains(ServiceFlags::ONEPACKET) {
        line.push_str(" -o");
    }
    let flags = sched_flag_words(svc);
    if !flags.is_empty() {
        let _ = write!(line, " -b {}", flags.join(","));
    }
}

/// A destination's rule, with `weight` for its own (0 while it drains).
fn dest_rule(line: &mut String, command: &str, key: &ServiceKey, dest: &Destination, weight: u32) {
    line.push_str(command);
    line.push(' ');
    selector(line, key);
    line.push_str(" -r ");
    address_port(line, dest.addr, dest.port);
    line.push(' ');
    line.push_str(forward_switch(dest.fwd));
    line.push_str(" -w ");
    number(line, weight);
    if dest.u_threshold != 0 {
        line.push_str(" -x ");
        number(line, dest.u_threshold);
    }
    if dest.l_threshold != 0 {
        line.push_str(" -y ");
        number(line, dest.l_threshold);
    }
    if dest.fwd == FwdMethod::Tunnel {
        line.push_str(&tunnel_options(dest));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Netmask, TunnelFlags, TunnelType};
    use std::net::Ipv4Addr;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn numbers_and_addresses_by_hand() {
        let mut line = String::new();
        for n in [0, 7, 10, 65535, u32::MAX] {
            number(&mut line, n);
            line.push(' ');
        }
        address_port(&mut line, ip("0.0.0.0"), 0);
        line.push(' ');
        address_port(&mut line, ip("255.10.0.1"), 8080);
        assert_eq!(line, "0 7 10 65535 4294967295 0.0.0.0:0 255.10.0.1:8080");
    }

    #[test]
    fn every_kind_of_step_as_a_rule() {
        let mut web = Service::new(ServiceKey::tcp(ip("10.0.0.1"), 80), "sh").persistent(300);
        web.netmask = Netmask::V4(Ipv4Addr::new(255, 255, 255, 0));
        web.pe_name = Some("sip".into());
        web.flags.0 |= ServiceFlags::SCHED2 | ServiceFlags::SCHED3;
        assert_eq!(
            rule_line(&Request::AddService(web.clone())),
            "-A -t 10.0.0.1:80 -s sh -p 300 -M 255.255.255.0 --pe sip -b sh-port,flag-3"
        );
        let mut masked = Service::new(ServiceKey::udp(ip("2001:db8::1"), 53), "rr");
        masked.netmask = Netmask::V6(64);
        masked.flags.0 |= ServiceFlags::ONEPACKET;
        assert_eq!(
            rule_line(&Request::EditService(masked)),
            "-E -u [2001:db8::1]:53 -s rr -M 64 -o"
        );
        let big = ServiceKey::fwmark(AddressFamily::Inet6, 3_000_000_000);
        assert_eq!(rule_line(&Request::DelService(big)), "-D -f 3000000000 -6");
        let mut nat = Destination::new(ip("10.0.0.2"), 8080, FwdMethod::Masq).weight(0);
        nat.u_threshold = 10;
        nat.l_threshold = 5;
        assert_eq!(
            rule_line(&Request::EditDest(web.key, nat.clone())),
            "-e -t 10.0.0.1:80 -r 10.0.0.2:8080 -m -w 0 -x 10 -y 5"
        );
        let mut gue = Destination::new(ip("2001:db8::9"), 80, FwdMethod::Tunnel);
        gue.tun_type = TunnelType::Gue;
        gue.tun_port = 6080;
        gue.tun_flags = TunnelFlags(TunnelFlags::REMCSUM);
        assert_eq!(
            rule_line(&Request::AddDest(web.key, gue)),
            "-a -t 10.0.0.1:80 -r [2001:db8::9]:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-remcsum"
        );
        assert_eq!(
            rule_line(&Request::DelDest(web.key, nat.key())),
            "-d -t 10.0.0.1:80 -r 10.0.0.2:8080"
        );
    }
}
