//! Direct routing and tunnelling: the real servers hold the VIP themselves (on lo, which
//! answers no ARP) and serve only the VIP; the director forwards the requests unchanged
//! (direct routing) or encapsulated, and the servers answer from the VIP.
//!
//! Each check also makes sure the packets came the intended way: the servers' sockets
//! must show the client's address and the VIP (a director that masquerades would show
//! them the server's own address); only the server's decapsulating device for the
//! tunnel type under test is up (the others drop what they get), and it must have
//! received the requests; GUE must arrive over UDP.

use crate::serial;
use crate::topology::{Forwarding, GUE_PORT, Lab, counts};

/// Requests each real server gets from the 30 of [`check_rr_through`].
const PER_SERVER: u64 = 10;

/// A lab whose rr service forwards with `forwarding` (rsipvsadm options `method`) to the
/// three servers; checks that 30 requests get 10 answers from each.
fn check_rr_through(test: &str, forwarding: Forwarding, method: &[&str]) {
    let _serial = serial();
    let lab = Lab::new(test, 88, forwarding);
    let vip = lab.vip();
    lab.ipvsadm(&["-A", "-t", &vip, "-s", "rr"]);
    for i in 1..=3 {
        lab.ipvsadm(&[&["-a", "-t", &vip, "-r", &lab.rip(i)][..], method].concat());
    }
    assert_eq!(
        lab.fetch(30),
        counts(&[("rs1", 10), ("rs2", 10), ("rs3", 10)]),
        "{forwarding:?}: rr over three servers, 30 requests"
    );

    let client = format!("{}:", lab.client_addr());
    for rs in &lab.servers {
        // httpd closes first: each connection left a TIME_WAIT socket on its server.
        let sockets = lab.topo.exec(rs, &["netstat", "-tn"]);
        let from_client_to_vip = sockets
            .lines()
            .filter(|line| {
                // httpd's socket is IPv6: its IPv4 peers show as ::ffff:a.b.c.d.
                let fields: Vec<&str> = line
                    .split_whitespace()
                    .map(|f| f.trim_start_matches("::ffff:"))
                    .collect();
                fields.len() >= 5 && fields[3] == vip && fields[4].starts_with(&client)
            })
            .count();
        assert_eq!(
            from_client_to_vip, PER_SERVER as usize,
            "{forwarding:?}: connections from the client to the VIP on {rs}:\n{sockets}"
        );
        if let Some(device) = forwarding.tunnel_device() {
            // At least SYN, ACK and request per connection, decapsulated there.
            let path = format!("/sys/class/net/{device}/statistics/rx_packets");
            let received = read_number(&lab.topo.exec(rs, &["cat", &path]));
            assert!(
                received >= 3 * PER_SERVER,
                "{forwarding:?}: {device} of {rs} received {received} packets"
            );
        }
        if forwarding == Forwarding::Gue {
            let snmp = lab.topo.exec(rs, &["cat", "/proc/net/snmp"]);
            let datagrams = udp_in_datagrams(&snmp);
            assert!(
                datagrams >= 3 * PER_SERVER,
                "GUE: {rs} received {datagrams} UDP datagrams:\n{snmp}"
            );
        }
    }

    let listing = lab.ipvsadm(&["-Lnc"]);
    for i in 1..=3 {
        let rip = lab.rip(i);
        assert!(
            listing.contains(&rip),
            "{forwarding:?}: -Lnc shows no connection to {rip}:\n{listing}"
        );
    }
}

fn read_number(text: &str) -> u64 {
    text.trim()
        .parse()
        .unwrap_or_else(|e| panic!("not a number: {text:?}: {e}"))
}

/// `InDatagrams` of the `Udp:` lines (names, then values) of `/proc/net/snmp`.
fn udp_in_datagrams(snmp: &str) -> u64 {
    let mut udp = snmp.lines().filter(|l| l.starts_with("Udp:"));
    let (names, values) = (udp.next(), udp.next());
    let column = names
        .and_then(|n| n.split_whitespace().position(|w| w == "InDatagrams"))
        .unwrap_or_else(|| panic!("no Udp InDatagrams in /proc/net/snmp:\n{snmp}"));
    read_number(
        values
            .and_then(|v| v.split_whitespace().nth(column))
            .unwrap_or(""),
    )
}

#[test]
fn traffic_direct_routing() {
    check_rr_through("dr", Forwarding::Dr, &["-g"]);
}

#[test]
fn traffic_tunnel_ipip() {
    check_rr_through("ipip", Forwarding::Ipip, &["-i"]);
}

#[test]
fn traffic_tunnel_gre() {
    check_rr_through("gre", Forwarding::Gre, &["-i", "--tun-type", "gre"]);
}

#[test]
fn traffic_tunnel_gue() {
    let port = GUE_PORT.to_string();
    check_rr_through(
        "gue",
        Forwarding::Gue,
        &["-i", "--tun-type", "gue", "--tun-port", &port],
    );
}
