//! Masquerading (NAT): the schedulers' choices as the client sees them, the counters
//! and the connection table.

use std::process::Command;
use std::time::Duration;

use crate::common::rsipvsadm_bin;

use crate::serial;
use crate::topology::{Lab, conns_to, counts, poll, run_ok, stats_of};

#[test]
fn traffic_nat_rr_spreads_evenly_and_counts() {
    let _serial = serial();
    let lab = Lab::nat("rr", 77, &["-s", "rr"], [1, 1, 1]);
    assert_eq!(
        lab.fetch(30),
        counts(&[("rs1", 10), ("rs2", 10), ("rs3", 10)]),
        "rr over three servers, 30 requests"
    );

    // The kernel folds its per-CPU counters every 2 s: wait for them.
    let vip = lab.vip();
    let listing = || lab.ipvsadm(&["-Ln", "--stats", "--exact"]);
    poll(
        Duration::from_secs(8),
        "-Ln --stats counting 30 connections, 10 per server",
        || {
            let out = listing();
            let service = stats_of(&out, &vip)?;
            // Conns InPkts OutPkts InBytes OutBytes; each connection is at least
            // SYN, ACK, request, FIN in and SYN-ACK, answer, FIN out.
            let moved = service.len() == 5
                && service[0] == 30
                && service[1] >= 4 * 30
                && service[2] >= 3 * 30
                && service[3] > 0
                && service[4] > 0;
            let per_server = (1..=3).all(|i| {
                stats_of(&out, &lab.rip(i))
                    .is_some_and(|s| s.len() == 5 && s[0] == 10 && s[1] >= 40 && s[2] >= 30)
            });
            (moved && per_server).then_some(())
        },
        listing,
    );

    // Every request left an entry (TIME_WAIT) in the connection table.
    let conns = lab.ipvsadm(&["-Lnc"]);
    for i in 1..=3 {
        let to_server = conns_to(&conns, &lab.rip(i));
        assert_eq!(
            to_server.len(),
            10,
            "-Lnc: connections to {}:\n{conns}",
            lab.rip(i)
        );
        for line in to_server {
            let fields: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(fields[0], "TCP", "{line}");
            assert!(fields[3].starts_with("10.77.0.2:"), "client: {line}");
            assert_eq!(fields[4], vip, "virtual: {line}");
        }
    }

    // The same connections through --netns, from the namespace the test runs in (which
    // has no IPVS table): /proc/net/ip_vs_conn is read in the director's namespace.
    let from_outside = run_ok(
        Command::new(rsipvsadm_bin()).args(["--netns", &lab.director, "-Lnc"]),
        None,
    );
    for i in 1..=3 {
        assert_eq!(
            conns_to(&from_outside, &lab.rip(i)).len(),
            10,
            "--netns {} -Lnc:\n{from_outside}",
            lab.director
        );
    }
    let json = run_ok(
        Command::new(rsipvsadm_bin()).args(["--netns", &lab.director, "-Lc", "--json"]),
        None,
    );
    assert_eq!(json.matches("\"10.77.0.2\"").count(), 30, "{json}");
}

#[test]
fn traffic_nat_wrr_follows_weights() {
    let _serial = serial();
    let lab = Lab::nat("wrr", 77, &["-s", "wrr"], [3, 2, 1]);
    // wrr's sequence for 3:2:1 is deterministic: rs1 rs1 rs2 rs1 rs2 rs3, repeated.
    assert_eq!(
        lab.fetch(60),
        counts(&[("rs1", 30), ("rs2", 20), ("rs3", 10)]),
        "wrr with weights 3:2:1, 60 requests"
    );
}

#[test]
fn traffic_nat_persistence_keeps_client_on_one_server() {
    let _serial = serial();
    let lab = Lab::nat("persist", 77, &["-s", "rr", "-p", "60"], [1, 1, 1]);
    let answers = lab.fetch(20);
    assert_eq!(
        answers.values().copied().collect::<Vec<_>>(),
        vec![20],
        "-p: all 20 requests of one client must reach one server: {answers:?}"
    );
    // The persistence template (client port 0) is in the connection table.
    let conns = lab.ipvsadm(&["-Lnc"]);
    let server = answers.keys().next().unwrap();
    let i = server.trim_start_matches("rs").parse::<usize>().unwrap();
    assert!(
        conns_to(&conns, &lab.rip(i))
            .iter()
            .any(|line| line.split_whitespace().nth(3) == Some("10.77.0.2:0")),
        "-Lnc shows no persistence template to {server}:\n{conns}"
    );
}

#[test]
fn traffic_nat_weight_zero_drains_and_delete_removes() {
    let _serial = serial();
    let lab = Lab::nat("drain", 77, &["-s", "rr"], [1, 1, 1]);
    let vip = lab.vip();
    assert_eq!(lab.fetch(6), counts(&[("rs1", 2), ("rs2", 2), ("rs3", 2)]));

    lab.ipvsadm(&["-e", "-t", &vip, "-r", &lab.rip(2), "-m", "-w", "0"]);
    assert_eq!(
        lab.fetch(30),
        counts(&[("rs1", 15), ("rs3", 15)]),
        "weight 0 on rs2: no new connections"
    );

    lab.ipvsadm(&["-d", "-t", &vip, "-r", &lab.rip(3)]);
    assert!(
        !lab.ipvsadm(&["-Ln"]).contains(&lab.rip(3)),
        "-d: rs3 still listed"
    );
    assert_eq!(
        lab.fetch(10),
        counts(&[("rs1", 10)]),
        "rs3 deleted, rs2 drained"
    );
}
