//! `top`'s live view, the pure part: rates from two samples of the table's 64-bit
//! counters, the busiest-first order, human units, and a frame laid out for a given
//! width and height. The terminal and the sampling loop are in `cli::verbs::top`.
//!
//! Rates come from the difference of the counters (`observed.stats` conns, packets and
//! bytes) over the measured time between two samples, not from the kernel's rate
//! estimator, which averages over many seconds.

mod frame;
mod units;

#[cfg(test)]
mod tests;

use std::cmp::Ordering;
use std::collections::HashMap;
use std::net::IpAddr;

use crate::model::{AddressFamily, DestKey, ServiceKey, Stats, VirtualService};
use crate::nss::numeric_host;

pub use frame::{FrameHeader, render};
pub use units::{byte_rate_text, count_rate_text};

/// Traffic per second between two samples; packets and bytes both ways added up.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Rates {
    pub conns: f64,
    pub packets: f64,
    pub bytes: f64,
}

impl Rates {
    /// From `before` to `after`, `seconds` apart. A counter that went down was zeroed
    /// (`-Z`) in between: what it counts now all came after that.
    pub fn between(before: &Stats, after: &Stats, seconds: f64) -> Rates {
        let delta = |b: u64, a: u64| if a >= b { a - b } else { a } as f64 / seconds;
        Rates {
            conns: delta(before.conns, after.conns),
            packets: delta(before.inpkts, after.inpkts) + delta(before.outpkts, after.outpkts),
            bytes: delta(before.inbytes, after.inbytes) + delta(before.outbytes, after.outbytes),
        }
    }

    /// Busiest first: bytes, then connections, then packets.
    fn busier(a: Option<Rates>, b: Option<Rates>) -> Ordering {
        let key = |r: Option<Rates>| r.map_or((0.0, 0.0, 0.0), |r| (r.bytes, r.conns, r.packets));
        let (a, b) = (key(a), key(b));
        b.0.total_cmp(&a.0)
            .then(b.1.total_cmp(&a.1))
            .then(b.2.total_cmp(&a.2))
    }

    fn add(self, other: Rates) -> Rates {
        Rates {
            conns: self.conns + other.conns,
            packets: self.packets + other.packets,
            bytes: self.bytes + other.bytes,
        }
    }
}

/// A service as one row of the view, with its real servers.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceRow {
    /// `TCP 10.0.0.1:80`, `FWM 7`.
    pub label: String,
    pub scheduler: String,
    /// Connections of all its real servers.
    pub active: u64,
    pub inactive: u64,
    /// `None` on the first frame: there is no earlier sample.
    pub rates: Option<Rates>,
    pub dests: Vec<DestRow>,
}

/// A real server as one row of the view.
#[derive(Debug, Clone, PartialEq)]
pub struct DestRow {
    /// `10.0.0.2:80`, `[2001:db8::2]:80`.
    pub label: String,
    /// ipvsadm's Forward column: `Masq`, `Route`, `Tunnel`, `Local`.
    pub forward: &'static str,
    pub weight: u32,
    pub active: u32,
    pub inactive: u32,
    pub rates: Option<Rates>,
    /// Its part of the bytes/s of its service's real servers, 0 to 1; `None` when the
    /// service moved no bytes (or on the first frame).
    pub share: Option<f64>,
}

/// An earlier sample of the table and the seconds since it was taken.
pub struct Previous<'a> {
    pub table: &'a [VirtualService],
    pub seconds: f64,
}

/// The rows of a frame, busiest service first and, within each, busiest real server
/// first; ties keep the order of `table`. A service or real server that is not in the
/// earlier sample was added since: its counters started from zero then.
pub fn rows(table: &[VirtualService], previous: Option<&Previous<'_>>) -> Vec<ServiceRow> {
    let earlier: HashMap<ServiceKey, &VirtualService> = previous
        .map(|p| p.table.iter().map(|vs| (vs.service.key, vs)).collect())
        .unwrap_or_default();
    let mut services: Vec<ServiceRow> = table
        .iter()
        .map(|vs| {
            let seconds = previous.map(|p| p.seconds);
            service_row(vs, earlier.get(&vs.service.key).copied(), seconds)
        })
        .collect();
    services.sort_by(|a, b| Rates::busier(a.rates, b.rates));
    services
}

/// `seconds` since `before` was read; `None` when there is no earlier sample at all.
fn rates(before: Option<&Stats>, now: &Stats, seconds: Option<f64>) -> Option<Rates> {
    seconds.map(|s| Rates::between(before.unwrap_or(&Stats::default()), now, s))
}

fn service_row(
    vs: &VirtualService,
    before: Option<&VirtualService>,
    seconds: Option<f64>,
) -> ServiceRow {
    let old_dests: HashMap<DestKey, &Stats> = before
        .map(|b| {
            b.dests
                .iter()
                .map(|d| (d.dest.key(), &*d.observed.stats))
                .collect()
        })
        .unwrap_or_default();
    let mut dests: Vec<DestRow> = vs
        .dests
        .iter()
        .map(|d| DestRow {
            label: addr_port(d.dest.addr, d.dest.port),
            forward: d.dest.fwd.names().listed,
            weight: d.dest.weight,
            active: d.observed.active_conns,
            inactive: d.observed.inact_conns,
            rates: rates(
                old_dests.get(&d.dest.key()).copied(),
                &d.observed.stats,
                seconds,
            ),
            share: None,
        })
        .collect();
    let service_bytes: f64 = dests.iter().filter_map(|d| d.rates).map(|r| r.bytes).sum();
    for d in &mut dests {
        d.share = d
            .rates
            .filter(|_| service_bytes > 0.0)
            .map(|r| r.bytes / service_bytes);
    }
    dests.sort_by(|a, b| Rates::busier(a.rates, b.rates));
    ServiceRow {
        label: service_label(&vs.service.key),
        scheduler: vs.service.scheduler.clone(),
        active: dests.iter().map(|d| u64::from(d.active)).sum(),
        inactive: dests.iter().map(|d| u64::from(d.inactive)).sum(),
        rates: rates(
            before.map(|b| &*b.observed.stats),
            &vs.observed.stats,
            seconds,
        ),
        dests,
    }
}

/// All services added up (those with rates).
pub fn total(rows: &[ServiceRow]) -> Rates {
    rows.iter()
        .filter_map(|s| s.rates)
        .fold(Rates::default(), Rates::add)
}

fn service_label(key: &ServiceKey) -> String {
    match *key {
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => {
            let name = protocol.names().map_or_else(
                || format!("proto {}", protocol.to_raw()),
                |n| n.label.into(),
            );
            format!("{name} {}", addr_port(addr, port))
        }
        ServiceKey::Fwmark { af, mark } => match af {
            AddressFamily::Inet => format!("FWM {mark}"),
            AddressFamily::Inet6 => format!("FWM {mark} IPv6"),
        },
    }
}

fn addr_port(addr: IpAddr, port: u16) -> String {
    if addr.is_ipv6() {
        format!("[{}]:{port}", numeric_host(addr))
    } else {
        format!("{}:{port}", numeric_host(addr))
    }
}
