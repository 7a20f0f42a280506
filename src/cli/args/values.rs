//! ipvsadm's value parsers: numbers with C `strtol` semantics, fwmarks, `host[:port]`,
//! persistence masks, scheduler flags, tunnel types and multicast groups.

use std::net::{IpAddr, Ipv4Addr};

use crate::model::{TunnelType, names};
use crate::nss;

/// `isspace` in the C locale.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// C `strtol(text, &end, 10)` on a 64-bit `long`: the value (saturated on overflow),
/// whether it overflowed, whether any digit was read and how many bytes were consumed.
struct Strtol {
    value: i64,
    overflow: bool,
    digits: bool,
    end: usize,
}

fn strtol(text: &[u8]) -> Strtol {
    let mut i = text.iter().take_while(|&&b| is_c_space(b)).count();
    let negative = match text.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let start = i;
    let mut magnitude: u64 = 0;
    let mut overflow = false;
    while let Some(digit) = text.get(i).filter(|b| b.is_ascii_digit()) {
        let next = magnitude
            .checked_mul(10)
            .and_then(|m| m.checked_add(u64::from(digit - b'0')));
        match next {
            Some(m) if m <= i64::MAX as u64 + u64::from(negative) => magnitude = m,
            _ => overflow = true,
        }
        i += 1;
    }
    if i == start {
        // No digits: nothing is consumed, not even blanks or the sign.
        return Strtol {
            value: 0,
            overflow: false,
            digits: false,
            end: 0,
        };
    }
    let value = match (overflow, negative) {
        (true, true) => i64::MIN,
        (true, false) => i64::MAX,
        (false, true) => (magnitude as i64).wrapping_neg(),
        (false, false) => magnitude as i64,
    };
    Strtol {
        value,
        overflow,
        digits: true,
        end: i,
    }
}

/// ipvsadm's `string_to_number`: the whole text must be one in-range decimal number.
pub fn number(text: &[u8], min: i64, max: i64) -> Option<i64> {
    let parsed = strtol(text);
    let whole = parsed.digits && parsed.end == text.len() && !parsed.overflow;
    (whole && (min..=max).contains(&parsed.value)).then_some(parsed.value)
}

/// A number in `0..=max` (all of ipvsadm's ranges fit in `u32`).
pub fn unsigned(text: &[u8], min: u32, max: u32) -> Option<u32> {
    number(text, i64::from(min), i64::from(max)).map(|n| n as u32)
}

/// C `atoi`: leading digits only, 0 without any, the `long` saturated then cut to `int`.
pub fn atoi(text: &[u8]) -> i32 {
    strtol(text).value as i32
}

/// `-f`: `strtol` over the whole text, 1..=4294967295.
pub fn fwmark(text: &[u8]) -> Option<u32> {
    number(text, 1, i64::from(u32::MAX)).map(|n| n as u32)
}

/// A fwmark of 2^31 or more written as the negative number ipvsadm's `-S` prints for it.
pub fn negative_fwmark(text: &[u8]) -> Option<u32> {
    number(text, i64::from(i32::MIN), -1).map(|n| n as i32 as u32)
}

pub use crate::model::MAX_TIMEOUT;

/// What `host[:port]` gave: the address and, if one was written, the port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostPort {
    pub addr: IpAddr,
    pub port: Option<u16>,
}

/// ipvsadm's `parse_service` (see the behaviour notes §4.2): `protocol` is the raw
/// protocol number known at that moment, used for port names.
pub fn host_port(text: &[u8], protocol: u16) -> Option<HostPort> {
    if text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let (host, bracket_port) = match text.strip_prefix(b"[") {
        Some(inner) => {
            let close = inner.iter().position(|&b| b == b']')?;
            let port = inner[close + 1..].strip_prefix(b":")?;
            (&inner[..close], Some(port))
        }
        None => (text, None),
    };
    if let Some(v6) = nss::parse_inet_pton6(host) {
        let port = optional_port(bracket_port, protocol)?;
        return Some(HostPort {
            addr: IpAddr::V6(v6),
            port,
        });
    }
    // The port is split off the (inner) host text at its last colon: a bracketed IPv4
    // address has none, so its port is ignored.
    let (host, port_text) = match host.iter().rposition(|&b| b == b':') {
        Some(colon) => (&host[..colon], Some(&host[colon + 1..])),
        None => (host, None),
    };
    let v4 = nss::parse_inet_aton(host).or_else(|| nss::host_to_addr(host))?;
    let port = optional_port(port_text, protocol)?;
    Some(HostPort {
        addr: IpAddr::V4(v4),
        port,
    })
}

/// No port text: no port (`Some(None)`); else the port, `None` if it is not one.
fn optional_port(text: Option<&[u8]>, protocol: u16) -> Option<Option<u16>> {
    match text {
        None => Some(None),
        Some(text) => port(text, protocol).map(Some),
    }
}

/// A decimal port, else a service name for the protocol.
fn port(text: &[u8], protocol: u16) -> Option<u16> {
    if let Some(n) = number(text, 0, 65535) {
        return Some(n as u16);
    }
    let proto = match i32::from(protocol) {
        libc::IPPROTO_TCP => "tcp",
        libc::IPPROTO_UDP => "udp",
        libc::IPPROTO_SCTP => "sctp",
        _ => return None,
    };
    nss::service_port(text, proto)
}

/// `-M` for an IPv4 service: `inet_aton`, else a host name.
pub fn ipv4_netmask(text: &[u8]) -> Option<Ipv4Addr> {
    nss::parse_inet_aton(text).or_else(|| nss::host_to_addr(text))
}

/// `-M` for an IPv6 service: `atoi`, 1..=128 (the `int` is stored in a `u32`).
pub fn ipv6_netmask(text: &[u8]) -> Option<u32> {
    let prefix = atoi(text) as u32;
    (1..=128).contains(&prefix).then_some(prefix)
}

/// Why a `-b` list was refused, naming the offending item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchedFlagError {
    Incompatible(Vec<u8>),
    Invalid(Vec<u8>),
}

/// `-b`: comma-separated names (empty items skipped) checked against `scheduler`.
/// A list without any item (`,`) is refused as invalid, naming the whole list: the
/// reference crashes there.
pub fn sched_flags(scheduler: &[u8], list: &[u8]) -> Result<u32, SchedFlagError> {
    let mut items = list.split(|&b| b == b',').filter(|item| !item.is_empty());
    let first = items
        .next()
        .ok_or_else(|| SchedFlagError::Invalid(list.to_vec()))?;
    std::iter::once(first)
        .chain(items)
        .try_fold(0, |flags, item| {
            let flag = names::SCHED_FLAGS
                .iter()
                .find(|flag| flag.name.as_bytes() == item)
                .ok_or_else(|| SchedFlagError::Invalid(item.to_vec()))?;
            match flag.scheduler {
                Some(sched) if sched.as_bytes() != scheduler => {
                    Err(SchedFlagError::Incompatible(item.to_vec()))
                }
                _ => Ok(flags | flag.bit),
            }
        })
}

/// `--tun-type`.
pub fn tunnel_type(text: &[u8]) -> Option<TunnelType> {
    TunnelType::from_word(text)
}

/// The name ipvsadm gives a tunnel type in its messages.
pub fn tunnel_name(tun_type: TunnelType) -> &'static str {
    tun_type.word().unwrap_or("?")
}

/// Which family `--mcast-group` was meant for, by the presence of a colon.
pub enum McastGroup {
    V6,
    V4,
}

/// `--mcast-group`: an IPv6 multicast literal if the text has a colon, else an IPv4
/// dotted quad in 224.0.0.0/4.
pub fn mcast_group(text: &[u8]) -> Result<IpAddr, McastGroup> {
    if text.contains(&b':') {
        nss::parse_inet_pton6(text)
            .filter(|a| a.is_multicast())
            .map(IpAddr::V6)
            .ok_or(McastGroup::V6)
    } else {
        nss::parse_inet_pton4(text)
            .filter(|a| a.is_multicast())
            .map(IpAddr::V4)
            .ok_or(McastGroup::V4)
    }
}

/// C's `strncpy` into a buffer of `max` characters: at most `max` bytes, up to a NUL.
pub fn c_truncate(text: &[u8], max: usize) -> Vec<u8> {
    let end = text.iter().position(|&b| b == 0).unwrap_or(text.len());
    text[..end.min(max)].to_vec()
}
