use std::collections::HashSet;
use std::io::Write;
use std::process::{Command, Stdio};

use super::*;
use crate::model::{
    AddressFamily, DestObserved, Destination, FwdMethod, Service, ServiceKey, ServiceObserved,
    Stats,
};

fn stats(conns: u64, inpkts: u64, outpkts: u64, inbytes: u64, outbytes: u64) -> Stats {
    Stats {
        conns,
        inpkts,
        outpkts,
        inbytes,
        outbytes,
        // Rates are estimates; the exposition leaves them to Prometheus's rate().
        cps: 7,
        ..Stats::default()
    }
}

fn server(addr: &str, port: u16, weight: u32, conns: [u32; 3], stats: Stats) -> RealServer {
    RealServer {
        dest: Destination::new(addr.parse().unwrap(), port, FwdMethod::Masq).weight(weight),
        observed: DestObserved {
            active_conns: conns[0],
            inact_conns: conns[1],
            persist_conns: conns[2],
            stats: stats.into(),
        },
    }
}

fn service(key: ServiceKey, stats: Stats, dests: Vec<RealServer>) -> VirtualService {
    VirtualService {
        service: Service::new(key, "wlc"),
        observed: ServiceObserved {
            stats: stats.into(),
            ..ServiceObserved::default()
        },
        dests,
    }
}

/// IPv4 TCP with two real servers (one with counters past 2^53 and at u64::MAX), IPv6
/// UDP, SCTP without real servers, and IPv4 and IPv6 fwmark services with the same mark.
fn table() -> Vec<VirtualService> {
    vec![
        service(
            ServiceKey::tcp("10.0.0.1".parse().unwrap(), 80),
            stats(30, 200, 150, 12_000, u64::MAX),
            vec![
                server(
                    "192.168.1.1",
                    8080,
                    3,
                    [2, 5, 0],
                    stats(20, 9_007_199_254_740_993, 100, 8_000, u64::MAX),
                ),
                server(
                    "192.168.1.2",
                    8080,
                    0,
                    [1, 4, 0],
                    stats(10, 70, 50, 4_000, 0),
                ),
            ],
        ),
        service(
            ServiceKey::udp("2001:db8::1".parse().unwrap(), 53),
            stats(4, 8, 8, 512, 1024),
            vec![server(
                "2001:db8::53",
                53,
                1,
                [0, 4, 0],
                stats(4, 8, 8, 512, 1024),
            )],
        ),
        service(
            ServiceKey::sctp("10.0.0.2".parse().unwrap(), 5060),
            Stats::default(),
            vec![],
        ),
        service(
            ServiceKey::fwmark(AddressFamily::Inet, 100),
            stats(1, 2, 3, 4, 5),
            vec![server("10.1.1.1", 0, 1, [0, 0, 6], stats(1, 2, 3, 4, 5))],
        ),
        service(
            ServiceKey::fwmark(AddressFamily::Inet6, 100),
            Stats::default(),
            vec![server("2001:db8::7", 0, 1, [0, 0, 0], Stats::default())],
        ),
    ]
}

const TCP: &str =
    r#"local_address="10.0.0.1",local_port="80",local_mark="",proto="TCP",family="ipv4""#;
const UDP6: &str =
    r#"local_address="2001:db8::1",local_port="53",local_mark="",proto="UDP",family="ipv6""#;
const SCTP: &str =
    r#"local_address="10.0.0.2",local_port="5060",local_mark="",proto="SCTP",family="ipv4""#;
const FWM4: &str =
    r#"local_address="",local_port="0",local_mark="00000064",proto="FWM",family="ipv4""#;
const FWM6: &str =
    r#"local_address="",local_port="0",local_mark="00000064",proto="FWM",family="ipv6""#;

fn has_lines(text: &str, lines: &[String]) {
    for line in lines {
        assert!(
            text.lines().any(|l| l == line),
            "no line {line:?} in:\n{text}"
        );
    }
}

#[test]
fn service_series_carry_the_exact_counters_and_node_exporters_labels() {
    let text = metrics_text(&table(), true);
    has_lines(
        &text,
        &[
            "# HELP ipvs_service_connections_total Connections scheduled (counted from the last zeroing, -Z)".into(),
            "# TYPE ipvs_service_connections_total counter".into(),
            format!("ipvs_service_connections_total{{{TCP}}} 30"),
            format!("ipvs_service_connections_total{{{UDP6}}} 4"),
            format!("ipvs_service_connections_total{{{SCTP}}} 0"),
            format!("ipvs_service_connections_total{{{FWM4}}} 1"),
            format!("ipvs_service_connections_total{{{FWM6}}} 0"),
            format!("ipvs_service_incoming_packets_total{{{TCP}}} 200"),
            format!("ipvs_service_outgoing_packets_total{{{TCP}}} 150"),
            format!("ipvs_service_incoming_bytes_total{{{TCP}}} 12000"),
            format!("ipvs_service_outgoing_bytes_total{{{TCP}}} 18446744073709551615"),
            "# TYPE ipvs_service_connections_active gauge".into(),
            format!("ipvs_service_connections_active{{{TCP}}} 3"),
            format!("ipvs_service_connections_inactive{{{TCP}}} 9"),
            format!("ipvs_service_connections_persistent{{{FWM4}}} 6"),
            format!("ipvs_service_backends{{{TCP}}} 2"),
            format!("ipvs_service_backends{{{SCTP}}} 0"),
        ],
    );
}

#[test]
fn backend_series_carry_the_exact_counters_and_gauges() {
    let text = metrics_text(&table(), true);
    let rs1 = format!(r#"{TCP},remote_address="192.168.1.1",remote_port="8080""#);
    let rs2 = format!(r#"{TCP},remote_address="192.168.1.2",remote_port="8080""#);
    let rs6 = format!(r#"{UDP6},remote_address="2001:db8::53",remote_port="53""#);
    let fwm = format!(r#"{FWM4},remote_address="10.1.1.1",remote_port="0""#);
    has_lines(
        &text,
        &[
            "# TYPE ipvs_backend_connections_total counter".into(),
            format!("ipvs_backend_connections_total{{{rs1}}} 20"),
            format!("ipvs_backend_connections_total{{{rs2}}} 10"),
            // 2^53 + 1: a float would print 9007199254740992.
            format!("ipvs_backend_incoming_packets_total{{{rs1}}} 9007199254740993"),
            format!("ipvs_backend_outgoing_bytes_total{{{rs1}}} 18446744073709551615"),
            format!("ipvs_backend_incoming_bytes_total{{{rs6}}} 512"),
            "# TYPE ipvs_backend_weight gauge".into(),
            format!("ipvs_backend_weight{{{rs1}}} 3"),
            format!("ipvs_backend_weight{{{rs2}}} 0"),
            format!("ipvs_backend_connections_active{{{rs1}}} 2"),
            format!("ipvs_backend_connections_inactive{{{rs2}}} 4"),
            format!("ipvs_backend_connections_persistent{{{fwm}}} 6"),
        ],
    );
}

/// Family names in the order of their blocks, checking the block structure on the way:
/// HELP, TYPE, then only that family's samples, each family once, names as Prometheus
/// asks (`_total` for counters only), no series twice (promtool does not look at that).
fn families(text: &str) -> Vec<(String, usize)> {
    let mut families: Vec<(String, usize)> = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(help) = lines.next() {
        let name = help
            .strip_prefix("# HELP ")
            .and_then(|rest| rest.split(' ').next())
            .unwrap_or_else(|| panic!("expected a HELP line, got {help:?}"));
        assert!(
            families.iter().all(|(seen, _)| seen != name),
            "{name} twice"
        );
        let kind = lines
            .next()
            .and_then(|t| t.strip_prefix(&format!("# TYPE {name} ")))
            .unwrap_or_else(|| panic!("{name}: no TYPE line after HELP"));
        assert_eq!(kind == "counter", name.ends_with("_total"), "{name} {kind}");
        assert!(kind == "counter" || kind == "gauge", "{name} {kind}");
        assert!(name.starts_with("ipvs_"), "{name}");
        let mut series = HashSet::new();
        while lines.peek().is_some_and(|l| !l.starts_with('#')) {
            let sample = lines.next().unwrap();
            assert!(
                sample.starts_with(&format!("{name}{{")),
                "{sample} in {name}"
            );
            let (labels, value) = sample.rsplit_once(' ').unwrap();
            assert!(value.parse::<u64>().is_ok(), "{sample}");
            assert!(series.insert(labels), "{labels} twice");
        }
        families.push((name.to_string(), series.len()));
    }
    families
}

#[test]
fn one_block_per_family_services_first() {
    let found = families(&metrics_text(&table(), true));
    let names: Vec<&str> = found.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "ipvs_service_connections_total",
            "ipvs_service_incoming_packets_total",
            "ipvs_service_outgoing_packets_total",
            "ipvs_service_incoming_bytes_total",
            "ipvs_service_outgoing_bytes_total",
            "ipvs_service_connections_active",
            "ipvs_service_connections_inactive",
            "ipvs_service_connections_persistent",
            "ipvs_service_backends",
            "ipvs_backend_connections_total",
            "ipvs_backend_incoming_packets_total",
            "ipvs_backend_outgoing_packets_total",
            "ipvs_backend_incoming_bytes_total",
            "ipvs_backend_outgoing_bytes_total",
            "ipvs_backend_connections_active",
            "ipvs_backend_connections_inactive",
            "ipvs_backend_connections_persistent",
            "ipvs_backend_weight",
        ]
    );
    // Five services, and five real servers (two, one, none, one, one).
    for (name, samples) in &found {
        assert_eq!(*samples, 5, "{name}");
    }
}

#[test]
fn without_destinations_only_the_service_families() {
    let text = metrics_text(&table(), false);
    let found = families(&text);
    assert_eq!(found.len(), SERVICE_FAMILIES.len());
    assert!(!text.contains("ipvs_backend_"), "{text}");
    assert!(!text.contains("remote_address"), "{text}");
}

#[test]
fn an_empty_table_still_describes_every_family() {
    let found = families(&metrics_text(&[], true));
    assert_eq!(found.len(), SERVICE_FAMILIES.len() + BACKEND_FAMILIES.len());
    assert!(found.iter().all(|(_, samples)| *samples == 0));
}

#[test]
fn other_protocols_are_spelled_as_the_kernel_spells_them() {
    let key = |n| ServiceKey::Addr {
        protocol: Protocol::from_raw(n),
        addr: "10.0.0.9".parse().unwrap(),
        port: 1,
    };
    assert_eq!(proto_label(&key(6)), "TCP");
    assert_eq!(proto_label(&key(17)), "UDP");
    assert_eq!(proto_label(&key(132)), "SCTP");
    assert_eq!(proto_label(&key(0)), "IP");
    assert_eq!(proto_label(&key(1)), "ICMP");
    assert_eq!(proto_label(&key(58)), "ICMPv6");
    assert_eq!(proto_label(&key(47)), "IP_47");
    let mark = ServiceKey::fwmark(AddressFamily::Inet, 0xdead_beef);
    assert!(service_labels(&mark).contains(r#"local_mark="DEADBEEF""#));
}

#[test]
fn label_values_and_help_are_escaped() {
    let mut out = String::new();
    label(&mut out, "a", "back\\slash \"quoted\"\nnext");
    assert_eq!(out, r#"a="back\\slash \"quoted\"\nnext""#);
    let mut help = String::new();
    escape(&mut help, "a \\ \"b\"\nc", false);
    assert_eq!(help, r#"a \\ "b"\nc"#);
}

/// `promtool check metrics` (Debian's prometheus package; tests/run installs it) on `text`:
/// it parses the exposition and lints names, types and help.
fn promtool_check(text: &str) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run promtool ({e}): install Debian's prometheus package \
                 (bash tests/run installs it, as tests/vm/lib.sh VM_HOST_NEEDS lists it)"
            )
        });
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "promtool check metrics: {}\n{}{}\non:\n{text}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn promtool_accepts_the_exposition() {
    promtool_check(&metrics_text(&table(), true));
    promtool_check(&metrics_text(&table(), false));
    promtool_check(&metrics_text(&[], true));
}
