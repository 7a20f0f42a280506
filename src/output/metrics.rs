//! The Prometheus text exposition (format 0.0.4) of the IPVS table, for `rsipvsadm
//! metrics`: pure, a table in and text out.
//!
//! Names start with `ipvs_`, not node_exporter's `node_ipvs_`, so that both can feed one
//! Prometheus (and node_exporter's textfile collector takes the file) without a clash.
//! Per service `ipvs_service_*`, per real server `ipvs_backend_*` (node_exporter's word).
//! The labels are node_exporter's ipvs collector's, spelled as it spells them (it reads
//! `/proc/net/ip_vs`): `proto` `TCP`, `UDP`, `SCTP` or `FWM`; a fwmark service has an
//! empty `local_address`, `local_port` 0 and its mark in `local_mark` as eight upper-case
//! hex digits; an address service an empty `local_mark`. One label more, `family`
//! (`ipv4`, `ipv6`): an IPv4 and an IPv6 fwmark service with the same mark are two
//! services, and without it their series would be one.

use std::fmt::Write as _;

use crate::model::{Protocol, RealServer, ServiceKey, VirtualService};

/// The media type of [`metrics_text`]'s output.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Counter,
    Gauge,
}

impl Kind {
    fn word(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
        }
    }
}

/// One metric family: its name, type, help text and how to read its value from `T`.
struct Family<T> {
    name: &'static str,
    kind: Kind,
    help: &'static str,
    value: fn(&T) -> u64,
}

const fn counter<T>(name: &'static str, help: &'static str, value: fn(&T) -> u64) -> Family<T> {
    Family {
        name,
        kind: Kind::Counter,
        help,
        value,
    }
}

const fn gauge<T>(name: &'static str, help: &'static str, value: fn(&T) -> u64) -> Family<T> {
    Family {
        name,
        kind: Kind::Gauge,
        help,
        value,
    }
}

/// Help texts of the traffic counters, services and real servers alike.
const CONNS_HELP: &str = "Connections scheduled (counted from the last zeroing, -Z)";
const INPKTS_HELP: &str = "Packets from clients";
const OUTPKTS_HELP: &str =
    "Packets of replies forwarded back to clients (only replies that pass the director: NAT)";
const INBYTES_HELP: &str = "Bytes from clients";
const OUTBYTES_HELP: &str =
    "Bytes of replies forwarded back to clients (only replies that pass the director: NAT)";
const ACTIVE_HELP: &str =
    "Active connections (TCP and SCTP: established), as ipvsadm's ActiveConn column";
const INACTIVE_HELP: &str = "Inactive connections, as ipvsadm's InActConn column";
const PERSISTENT_HELP: &str =
    "Persistence templates (clients pinned by -p), as ipvsadm's PersistConn column";

fn sum(vs: &VirtualService, value: fn(&RealServer) -> u32) -> u64 {
    vs.dests.iter().map(|rs| u64::from(value(rs))).sum()
}

const SERVICE_FAMILIES: &[Family<VirtualService>] = &[
    counter("ipvs_service_connections_total", CONNS_HELP, |vs| {
        vs.observed.stats.conns
    }),
    counter("ipvs_service_incoming_packets_total", INPKTS_HELP, |vs| {
        vs.observed.stats.inpkts
    }),
    counter("ipvs_service_outgoing_packets_total", OUTPKTS_HELP, |vs| {
        vs.observed.stats.outpkts
    }),
    counter("ipvs_service_incoming_bytes_total", INBYTES_HELP, |vs| {
        vs.observed.stats.inbytes
    }),
    counter("ipvs_service_outgoing_bytes_total", OUTBYTES_HELP, |vs| {
        vs.observed.stats.outbytes
    }),
    gauge(
        "ipvs_service_connections_active",
        "Active connections (TCP and SCTP: established), summed over the real servers",
        |vs| sum(vs, |rs| rs.observed.active_conns),
    ),
    gauge(
        "ipvs_service_connections_inactive",
        "Inactive connections, summed over the real servers",
        |vs| sum(vs, |rs| rs.observed.inact_conns),
    ),
    gauge(
        "ipvs_service_connections_persistent",
        "Persistence templates (clients pinned by -p), summed over the real servers",
        |vs| sum(vs, |rs| rs.observed.persist_conns),
    ),
    gauge(
        "ipvs_service_backends",
        "Real servers of the service",
        |vs| vs.dests.len() as u64,
    ),
];

const BACKEND_FAMILIES: &[Family<RealServer>] = &[
    counter("ipvs_backend_connections_total", CONNS_HELP, |rs| {
        rs.observed.stats.conns
    }),
    counter("ipvs_backend_incoming_packets_total", INPKTS_HELP, |rs| {
        rs.observed.stats.inpkts
    }),
    counter("ipvs_backend_outgoing_packets_total", OUTPKTS_HELP, |rs| {
        rs.observed.stats.outpkts
    }),
    counter("ipvs_backend_incoming_bytes_total", INBYTES_HELP, |rs| {
        rs.observed.stats.inbytes
    }),
    counter("ipvs_backend_outgoing_bytes_total", OUTBYTES_HELP, |rs| {
        rs.observed.stats.outbytes
    }),
    gauge("ipvs_backend_connections_active", ACTIVE_HELP, |rs| {
        rs.observed.active_conns.into()
    }),
    gauge("ipvs_backend_connections_inactive", INACTIVE_HELP, |rs| {
        rs.observed.inact_conns.into()
    }),
    gauge(
        "ipvs_backend_connections_persistent",
        PERSISTENT_HELP,
        |rs| rs.observed.persist_conns.into(),
    ),
    gauge(
        "ipvs_backend_weight",
        "Weight of the real server (0: no new connections)",
        |rs| rs.dest.weight.into(),
    ),
];

/// The exposition of `table`: every service family, then (if `destinations`) every real
/// server family, each one block with its HELP and TYPE lines, series in the table's order.
pub fn metrics_text(table: &[VirtualService], destinations: bool) -> String {
    let mut out = String::new();
    let services: Vec<(String, &VirtualService)> = table
        .iter()
        .map(|vs| (service_labels(&vs.service.key), vs))
        .collect();
    for family in SERVICE_FAMILIES {
        write_family(&mut out, family, &services);
    }
    if destinations {
        let backends: Vec<(String, &RealServer)> = services
            .iter()
            .flat_map(|(labels, vs)| {
                vs.dests
                    .iter()
                    .map(move |rs| (backend_labels(labels, rs), rs))
            })
            .collect();
        for family in BACKEND_FAMILIES {
            write_family(&mut out, family, &backends);
        }
    }
    out
}

/// A family block; each series as its rendered labels (without braces) and its source.
fn write_family<T>(out: &mut String, family: &Family<T>, series: &[(String, &T)]) {
    out.push_str("# HELP ");
    out.push_str(family.name);
    out.push(' ');
    escape(out, family.help, false);
    out.push('\n');
    // Writing to a String cannot fail.
    let _ = writeln!(out, "# TYPE {} {}", family.name, family.kind.word());
    for (labels, source) in series {
        let _ = writeln!(
            out,
            "{}{{{labels}}} {}",
            family.name,
            (family.value)(source)
        );
    }
}

fn service_labels(key: &ServiceKey) -> String {
    let (address, port, mark) = match key {
        ServiceKey::Addr { addr, port, .. } => (addr.to_string(), *port, String::new()),
        ServiceKey::Fwmark { mark, .. } => (String::new(), 0, format!("{mark:08X}")),
    };
    let mut labels = String::new();
    label(&mut labels, "local_address", &address);
    label(&mut labels, "local_port", &port.to_string());
    label(&mut labels, "local_mark", &mark);
    label(&mut labels, "proto", &proto_label(key));
    label(&mut labels, "family", key.af().word());
    labels
}

fn backend_labels(service: &str, rs: &RealServer) -> String {
    let mut labels = service.to_string();
    label(&mut labels, "remote_address", &rs.dest.addr.to_string());
    label(&mut labels, "remote_port", &rs.dest.port.to_string());
    labels
}

/// `name="value"`, after a comma unless first.
fn label(out: &mut String, name: &str, value: &str) {
    if !out.is_empty() {
        out.push(',');
    }
    out.push_str(name);
    out.push_str("=\"");
    escape(out, value, true);
    out.push('"');
}

/// The protocol as `/proc/net/ip_vs` (the kernel's `ip_vs_proto_name`) spells it.
fn proto_label(key: &ServiceKey) -> String {
    match key {
        ServiceKey::Fwmark { .. } => "FWM".into(),
        ServiceKey::Addr { protocol, .. } => match (protocol.names(), protocol) {
            (Some(names), _) => names.label.into(),
            (None, Protocol::Other(0)) => "IP".into(),
            (None, Protocol::Other(1)) => "ICMP".into(),
            (None, Protocol::Other(58)) => "ICMPv6".into(),
            (None, other) => format!("IP_{}", other.to_raw()),
        },
    }
}

/// The format's escapes: backslash and line feed; in a label value also the double quote.
fn escape(out: &mut String, text: &str, quote: bool) {
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' if quote => out.push_str("\\\""),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests;
