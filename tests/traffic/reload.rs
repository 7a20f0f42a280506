//! Reloading rules under traffic: `rsipvsadm apply` changes other services and real
//! servers while a client connects every few milliseconds to a service that stays the
//! same; it must see no failure and that service's counters must keep counting. The same
//! test with Debian's way of reloading (`ipvsadm -C`, then `ipvsadm -R`) is shown to fail.
//! And `apply --drain`: a real server that goes away is set to weight 0 and deleted only
//! once its connection has closed, or when the time is up.

use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::common::{Exit, RunOutput, ipvsadm_bin, rsipvsadm_bin, run_with_timeout};
use crate::serial;
use crate::topology::{Forwarding, IO_TIMEOUT, Lab, http_get, in_ns, poll, stats_of};

/// The stable service (port 80) and others that the reloads change.
fn rules(lab: &Lab, second: bool) -> String {
    let vip = format!("10.{}.100.1", lab.net);
    let (rs1, rs2, rs3) = (lab.rip(1), lab.rip(2), lab.rip(3));
    let stable =
        format!("-A -t {vip}:80 -s rr\n-a -t {vip}:80 -r {rs1} -m\n-a -t {vip}:80 -r {rs2} -m\n");
    let changing = if second {
        format!(
            "-A -t {vip}:81 -s wrr\n-a -t {vip}:81 -r {rs3} -m -w 3\n-a -t {vip}:81 -r {rs2} -m\n\
             -A -t {vip}:83 -s rr\n-a -t {vip}:83 -r {rs3} -m\n"
        )
    } else {
        format!(
            "-A -t {vip}:81 -s rr\n-a -t {vip}:81 -r {rs3} -m\n\
             -A -t {vip}:82 -s wlc\n-a -t {vip}:82 -r {rs1} -m\n"
        )
    };
    stable + &changing
}

/// Runs `program ARGS` in the director's namespace with `input` on stdin.
fn in_director(lab: &Lab, program: &std::path::Path, args: &[&str], input: &str) -> RunOutput {
    run_with_timeout(
        Command::new("ip")
            .args(["netns", "exec", &lab.director])
            .arg(program)
            .args(args),
        Some(input.as_bytes()),
        Duration::from_secs(60),
    )
}

fn ok(out: RunOutput, what: &str) -> RunOutput {
    assert_eq!(out.exit, Exit::Code(0), "{what}: {}", out.stderr_lossy());
    out
}

/// What the client saw while `reload` ran `rounds` times.
struct Seen {
    successes: usize,
    failures: Vec<String>,
    /// The stable service counted every connection the client made.
    counted: bool,
}

fn reload_under_traffic(lab: &Lab, rounds: usize, mut reload: impl FnMut(bool)) -> Seen {
    let stop = Arc::new(AtomicBool::new(false));
    let vip: SocketAddr = lab.vip().parse().unwrap();
    let client = {
        let (stop, ns) = (stop.clone(), lab.client.clone());
        thread::spawn(move || {
            in_ns(&ns, || {
                let (mut successes, mut failures) = (0, Vec::new());
                while !stop.load(Ordering::Relaxed) {
                    match http_get(vip) {
                        Ok(_) => successes += 1,
                        Err(e) => failures.push(e),
                    }
                    thread::sleep(Duration::from_millis(3));
                }
                (successes, failures)
            })
        })
    };
    // Some traffic before, between and after the reloads.
    thread::sleep(Duration::from_millis(300));
    for round in 0..rounds {
        reload(round % 2 == 0);
        thread::sleep(Duration::from_millis(50));
    }
    thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    let (successes, failures) = client.join().expect("the client thread");
    assert!(
        successes > 0,
        "the client got no answer at all: {failures:?}"
    );
    // The kernel folds its per-CPU counters every 2 s: poll a little.
    let target = lab.vip();
    let deadline = Instant::now() + Duration::from_secs(8);
    let counted = loop {
        let listing = lab.ipvsadm(&["-Ln", "--stats", "--exact"]);
        let conns = stats_of(&listing, &target).map_or(0, |s| s[0]);
        if conns >= successes as u64 {
            break true;
        }
        if Instant::now() >= deadline {
            break false;
        }
        thread::sleep(Duration::from_millis(200));
    };
    Seen {
        successes,
        failures,
        counted,
    }
}

const ROUNDS: usize = 8;

#[test]
fn traffic_apply_reloads_without_disturbing_an_unchanged_service() {
    let _serial = serial();
    let lab = Lab::new("apply", 79, Forwarding::Nat);
    ok(
        in_director(&lab, &rsipvsadm_bin(), &["apply", "-"], &rules(&lab, false)),
        "first apply",
    );
    let seen = reload_under_traffic(&lab, ROUNDS, |second| {
        let out = ok(
            in_director(
                &lab,
                &rsipvsadm_bin(),
                &["apply", "-"],
                &rules(&lab, second),
            ),
            "apply",
        );
        // The stable service is never in the plan.
        let plan = out.stdout_lossy();
        let stable = format!("-t {} ", lab.vip());
        assert!(
            !plan.contains(&stable),
            "the stable service was touched:\n{plan}"
        );
        assert!(!plan.is_empty());
    });
    assert!(
        seen.failures.is_empty(),
        "{} of {} connections failed during apply, the first: {}",
        seen.failures.len(),
        seen.successes + seen.failures.len(),
        seen.failures[0]
    );
    assert!(
        seen.counted,
        "the stable service's counters did not count all {} connections",
        seen.successes
    );
    // The table is the second state or the first, as applied last.
    let listing = lab.ipvsadm(&["-Ln"]);
    assert!(listing.contains(":82 wlc"), "{listing}");
}

/// The same test with ipvsadm's way of reloading fails: for the length of the replay the
/// stable service is gone, and its counters start again from zero.
#[test]
fn traffic_flush_and_restore_disturbs_every_service() {
    let _serial = serial();
    let lab = Lab::new("flush", 80, Forwarding::Nat);
    ok(
        in_director(&lab, &ipvsadm_bin(), &["-R"], &rules(&lab, false)),
        "first restore",
    );
    let seen = reload_under_traffic(&lab, ROUNDS, |second| {
        ok(in_director(&lab, &ipvsadm_bin(), &["-C"], ""), "ipvsadm -C");
        ok(
            in_director(&lab, &ipvsadm_bin(), &["-R"], &rules(&lab, second)),
            "ipvsadm -R",
        );
    });
    assert!(
        !(seen.failures.is_empty() && seen.counted),
        "flush and restore went unnoticed: {} connections, no failure, counters intact",
        seen.successes
    );
    assert!(!seen.counted, "the counters survived a flush");
}

/// The weight and active connections of real server `rip` of the service, if listed.
fn dest_state(lab: &Lab, rip: &str) -> Option<(i64, u64)> {
    let listing = lab.ipvsadm(&["-Ln"]);
    let line = listing
        .lines()
        .find(|l| l.contains(&format!("-> {rip} ")))?;
    let fields: Vec<&str> = line.split_whitespace().collect();
    Some((fields[3].parse().ok()?, fields[4].parse().ok()?))
}

/// Opens a connection to the VIP from the client and returns it with the real server
/// that holds it (1-based), found by its active connection.
fn open_connection(lab: &Lab) -> (TcpStream, usize) {
    let vip: SocketAddr = lab.vip().parse().unwrap();
    let stream = in_ns(&lab.client, || TcpStream::connect_timeout(&vip, IO_TIMEOUT))
        .expect("connect to the VIP");
    let server = poll(
        Duration::from_secs(5),
        "an active connection on a real server",
        || (1..=2).find(|&i| dest_state(lab, &lab.rip(i)).is_some_and(|(_, active)| active == 1)),
        || lab.ipvsadm(&["-Ln"]),
    );
    (stream, server)
}

/// The rules with only real server `keep` behind the VIP.
fn only(lab: &Lab, keep: usize) -> String {
    let vip = lab.vip();
    format!("-A -t {vip} -s rr\n-a -t {vip} -r {} -m\n", lab.rip(keep))
}

fn both(lab: &Lab) -> String {
    let vip = lab.vip();
    format!(
        "-A -t {vip} -s rr\n-a -t {vip} -r {} -m\n-a -t {vip} -r {} -m\n",
        lab.rip(1),
        lab.rip(2)
    )
}

/// Services FILE keeps as they are, on ports 81 and up.
fn bystanders(lab: &Lab, count: u16) -> String {
    (81..81 + count)
        .map(|port| {
            let vip = format!("10.{}.100.1:{port}", lab.net);
            format!("-A -t {vip} -s rr\n-a -t {vip} -r {} -m\n", lab.rip(3))
        })
        .collect()
}

/// `apply --drain` deletes the busy real server only once its connection closed. Also:
/// while apply waits, another program edits the service apply is draining (the other
/// real server's weight) and deletes a bystander; apply's check afterwards finds what
/// differs from FILE, says so and exits 1. With few services that check reads
/// /proc/net/ip_vs whole and finds both; with many it reads only the services the plan
/// touched (see `verify` in src/cli/verbs/apply.rs) and finds the edit.
fn drain_then_check(lab: &Lab, bystander_count: u16) {
    let start = both(lab) + &bystanders(lab, bystander_count);
    ok(
        in_director(lab, &rsipvsadm_bin(), &["apply", "-"], &start),
        "apply",
    );
    let (stream, busy) = open_connection(lab);
    let other = 3 - busy;
    let rules = only(lab, other) + &bystanders(lab, bystander_count);
    let applying = {
        let (ns, rules) = (lab.director.clone(), rules.clone());
        thread::spawn(move || {
            run_with_timeout(
                Command::new("ip")
                    .args(["netns", "exec", &ns])
                    .arg(rsipvsadm_bin())
                    .args(["apply", "--drain", "60", "-"]),
                Some(rules.as_bytes()),
                Duration::from_secs(90),
            )
        })
    };
    // While the connection is open: weight 0, still there.
    let busy_rip = lab.rip(busy);
    poll(
        Duration::from_secs(10),
        "the busy real server at weight 0",
        || (dest_state(lab, &busy_rip) == Some((0, 1))).then_some(()),
        || lab.ipvsadm(&["-Ln"]),
    );
    thread::sleep(Duration::from_secs(2));
    assert_eq!(
        dest_state(lab, &busy_rip),
        Some((0, 1)),
        "deleted while its connection was open"
    );
    let (vip, other_rip) = (lab.vip(), lab.rip(other));
    lab.ipvsadm(&["-e", "-t", &vip, "-r", &other_rip, "-m", "-w", "5"]);
    let bystander_vip = format!("10.{}.100.1:81", lab.net);
    lab.ipvsadm(&["-D", "-t", &bystander_vip]);
    assert!(!applying.is_finished(), "apply stopped waiting too early");
    drop(stream);
    let out = applying.join().expect("apply thread");
    let stderr = out.stderr_lossy();
    assert!(
        stderr.contains("draining 1 real server: 1 active connection,"),
        "{stderr}"
    );
    assert!(stderr.contains("no active connection left"), "{stderr}");
    assert_eq!(dest_state(lab, &busy_rip), None, "deleted after the close");
    assert!(dest_state(lab, &other_rip).is_some());
    // What was changed by hand is found and reported as what is left to do.
    assert_eq!(out.exit, Exit::Code(1), "{stderr}");
    assert!(
        stderr.contains("the table still differs from FILE"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("  -e -t {vip} -r {other_rip} -m -w 1")),
        "{stderr}"
    );
    if bystander_count == 1 {
        assert!(
            stderr.contains(&format!("  -A -t {bystander_vip} -s rr")),
            "{stderr}"
        );
    }
}

#[test]
fn traffic_apply_drain_deletes_a_server_once_its_connection_closed() {
    let _serial = serial();
    drain_then_check(&Lab::new("drain2", 81, Forwarding::Nat), 1);
}

#[test]
fn traffic_apply_drain_then_check_on_a_larger_table() {
    let _serial = serial();
    drain_then_check(&Lab::new("drain4", 83, Forwarding::Nat), 16);
}

#[test]
fn traffic_apply_drain_gives_up_waiting_after_its_time() {
    let _serial = serial();
    let lab = Lab::new("drain3", 82, Forwarding::Nat);
    ok(
        in_director(&lab, &rsipvsadm_bin(), &["apply", "-"], &both(&lab)),
        "apply",
    );
    let (stream, busy) = open_connection(&lab);
    let started = Instant::now();
    let out = in_director(
        &lab,
        &rsipvsadm_bin(),
        &["apply", "--drain", "3", "-"],
        &only(&lab, 3 - busy),
    );
    let waited = started.elapsed();
    assert_eq!(out.exit, Exit::Code(0), "{}", out.stderr_lossy());
    assert!(waited >= Duration::from_secs(3), "waited only {waited:?}");
    assert!(
        out.stderr_lossy()
            .contains("1 active connection left after 3 s: deleting anyway"),
        "{}",
        out.stderr_lossy()
    );
    assert_eq!(dest_state(&lab, &lab.rip(busy)), None);
    drop(stream);
}
