//! Listings while other processes change the table: `-Ln` (destinations from
//! /proc/net/ip_vs, checked against the service dump), `-S -n` and `-L --json` (netlink)
//! must never show a service twice, a service with destinations that are not its own, or
//! fail. A writer in the same namespace deletes, re-adds (with another scheduler) and
//! changes services; one in another namespace adds and deletes services there, which
//! before Linux 7.1 share the kernel's tables with ours.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use rsipvsadm::listing::DestDetail;
use rsipvsadm::model::{DestKey, Destination, FwdMethod, Service, ServiceKey};
use rsipvsadm::{Ipvs, Request};

use crate::common::{Exit, FtpUnloaded, in_fresh_netns, rsipvsadm_bin, run_with_timeout};
use crate::{ipvs, netns_test_alone, services_once_settled};

/// More than 256: before 7.1 a listing then reads real servers while the service dump is
/// built.
const SERVICES: u32 = 300;
const ROUNDS: usize = 15;

/// Service `i` is 10.3.X.Y:80; each of its destinations has port 1000 + i, so a listed
/// destination shows whose it is.
fn key(i: u32) -> ServiceKey {
    ServiceKey::tcp(IpAddr::V4(Ipv4Addr::from(0x0a03_0000 + i)), 80)
}

fn service_index(addr: &str) -> u32 {
    let ip: Ipv4Addr = addr.parse().expect("a listed IPv4 address");
    u32::from(ip) - 0x0a03_0000
}

/// Service `i` with `dests` destinations, under `scheduler`.
fn service_requests(i: u32, dests: u32, scheduler: &str) -> Vec<Request> {
    let mut requests = vec![Request::AddService(Service::new(key(i), scheduler))];
    for d in 0..dests {
        let addr = IpAddr::V4(Ipv4Addr::new(172, 16, (i % 250) as u8, 1 + d as u8));
        let dest = Destination::new(addr, 1000 + i as u16, FwdMethod::Masq);
        requests.push(Request::AddDest(key(i), dest));
    }
    requests
}

/// Changes services in the calling thread's namespace until `stop`; counts the changes.
fn same_namespace_writer(stop: Arc<AtomicBool>, changes: Arc<AtomicUsize>) {
    let mut ipvs = ipvs();
    let mut round = 0u32;
    while !stop.load(Ordering::Relaxed) {
        round = round.wrapping_add(1);
        let i = round.wrapping_mul(37) % SERVICES;
        let scheduler = if round.is_multiple_of(2) { "rr" } else { "wlc" };
        let mut requests = vec![Request::DelService(key(i))];
        requests.extend(service_requests(i, 1 + round % 4, scheduler));
        // A destination deleted from another service (it may not exist: ignored).
        let j = (i + 1) % SERVICES;
        let addr = IpAddr::V4(Ipv4Addr::new(172, 16, (j % 250) as u8, 1));
        requests.push(Request::DelDest(
            key(j),
            DestKey {
                addr,
                port: 1000 + j as u16,
            },
        ));
        let _ = ipvs.apply_batch(&requests).expect("the writer's batch");
        changes.fetch_add(1, Ordering::Relaxed);
        // Changes keep coming during every listing without flooding the kernel.
        thread::sleep(Duration::from_millis(1));
    }
}

/// Adds and deletes services in a namespace of its own until `stop`.
fn other_namespace_writer(stop: Arc<AtomicBool>) {
    in_fresh_netns(move || {
        let mut ipvs = Ipvs::open().expect("IPVS in the other namespace");
        let mut round = 0u32;
        while !stop.load(Ordering::Relaxed) {
            round += 1;
            let requests: Vec<_> = (0..40)
                .map(|i| {
                    let key = ServiceKey::tcp(IpAddr::V4(Ipv4Addr::from(0x0a09_0000 + i)), 80);
                    if round.is_multiple_of(2) {
                        Request::AddService(Service::new(key, "rr"))
                    } else {
                        Request::DelService(key)
                    }
                })
                .collect();
            let _ = ipvs
                .apply_batch(&requests)
                .expect("the other namespace's batch");
        }
        let _ = ipvs.apply(&Request::Flush);
    })
}

/// Checks one listing; `service` and `dest` take a line and return the service index it
/// starts, or the (service index, destination port) it lists.
fn check(
    what: &str,
    text: &str,
    service: impl Fn(&str) -> Option<u32>,
    dest: impl Fn(&str) -> Option<(Option<u32>, u32)>,
) -> usize {
    let mut seen = HashSet::new();
    let mut current = None;
    for line in text.lines() {
        if let Some(i) = service(line) {
            assert!(seen.insert(i), "{what}: service {i} listed twice:\n{text}");
            current = Some(i);
        } else if let Some((owner, port)) = dest(line) {
            let i = owner.or(current).expect("a destination after its service");
            assert_eq!(
                Some(i),
                current,
                "{what}: a destination line of another service:\n{line}"
            );
            assert_eq!(
                port,
                1000 + i,
                "{what}: service {i} listed with a destination of service {}:\n{text}",
                port.wrapping_sub(1000)
            );
        }
    }
    seen.len()
}

fn run(args: &[&str]) -> String {
    let out = run_with_timeout(
        Command::new(rsipvsadm_bin()).args(args),
        None,
        Duration::from_secs(60),
    );
    assert_eq!(
        out.exit,
        Exit::Code(0),
        "rsipvsadm {args:?} failed: {}",
        out.stderr_lossy()
    );
    assert!(out.stderr.is_empty(), "{args:?}: {}", out.stderr_lossy());
    out.stdout_lossy()
}

fn addr_port(text: &str) -> Option<(&str, u32)> {
    let (addr, port) = text.rsplit_once(':')?;
    Some((addr, port.parse().ok()?))
}

fn check_list(text: &str) -> usize {
    check(
        "-Ln",
        text,
        |line| {
            let rest = line.strip_prefix("TCP  ")?;
            Some(service_index(addr_port(rest.split_whitespace().next()?)?.0))
        },
        |line| {
            let rest = line.strip_prefix("  -> ")?;
            let (_, port) = addr_port(rest.split_whitespace().next()?)?;
            Some((None, port))
        },
    )
}

fn check_save(text: &str) -> usize {
    check(
        "-S -n",
        text,
        |line| {
            let rest = line.strip_prefix("-A -t ")?;
            Some(service_index(addr_port(rest.split_whitespace().next()?)?.0))
        },
        |line| {
            let rest = line.strip_prefix("-a -t ")?;
            let mut words = rest.split_whitespace();
            let owner = service_index(addr_port(words.next()?)?.0);
            let (_, port) = addr_port(words.nth(1)?)?;
            Some((Some(owner), port))
        },
    )
}

fn check_json(text: &str) -> usize {
    let doc: serde_json::Value = serde_json::from_str(text).expect("--json output is JSON");
    let mut lines = String::new();
    for svc in doc["services"].as_array().expect("services") {
        let addr = svc["address"].as_str().expect("address");
        lines.push_str(&format!("S {addr}\n"));
        for dest in svc["destinations"].as_array().into_iter().flatten() {
            lines.push_str(&format!("D {}\n", dest["port"]));
        }
    }
    check(
        "-L --json",
        &lines,
        |line| Some(service_index(line.strip_prefix("S ")?)),
        |line| Some((None, line.strip_prefix("D ")?.parse().ok()?)),
    )
}

/// With ip_vs_ftp unloaded, so that before 7.1 the quiet listings read the table the
/// linear way (`getsockopt()`, [`rsipvsadm::modrefs`] proving that there is no other
/// service), and those made while the writers change the tables see the module's
/// references move and take the service dump.
#[test]
fn listings_stay_consistent_while_the_table_changes() {
    netns_test_alone(|| {
        let _ftp = FtpUnloaded::new();
        let mut ipvs = ipvs();
        let requests: Vec<_> = (0..SERVICES)
            .flat_map(|i| service_requests(i, 2, "rr"))
            .collect();
        for outcome in ipvs.apply_batch(&requests).unwrap() {
            outcome.unwrap();
        }
        // Quiet, every listing shows every service (from 7.1 once the kernel has moved
        // them to a larger table).
        services_once_settled(&mut ipvs, SERVICES as usize);
        assert_eq!(check_list(&run(&["-Ln"])), SERVICES as usize);
        assert_eq!(check_save(&run(&["-S", "-n"])), SERVICES as usize);
        assert_eq!(check_json(&run(&["-L", "--json"])), SERVICES as usize);

        let stop = Arc::new(AtomicBool::new(false));
        let changes = Arc::new(AtomicUsize::new(0));
        let writer = {
            let (stop, changes) = (stop.clone(), changes.clone());
            // Spawned from the namespace's thread, it runs in the namespace too.
            thread::spawn(move || same_namespace_writer(stop, changes))
        };
        let other = {
            let stop = stop.clone();
            thread::spawn(move || other_namespace_writer(stop))
        };
        let mut listed = 0;
        for _ in 0..ROUNDS {
            listed += check_list(&run(&["-Ln"]));
            listed += check_save(&run(&["-S", "-n"]));
            listed += check_json(&run(&["-L", "--json"]));
        }
        stop.store(true, Ordering::Relaxed);
        writer.join().expect("the writer");
        other.join().expect("the other namespace's writer");
        assert!(listed > 0);
        assert!(
            changes.load(Ordering::Relaxed) > 0,
            "the writer changed nothing while the listings ran"
        );
    })
}

/// From 7.1 the kernel moves a namespace's services to a larger table (delayed work) once
/// they outgrow it, and a dump meanwhile misses or repeats services: a listing made right
/// after a batch that grew the table several times over waits for the moves and shows
/// every service once. (Before 7.1 there is one fixed table, and this passes trivially.)
#[test]
fn a_listing_right_after_the_table_grew_shows_every_service_once() {
    netns_test_alone(|| {
        let mut ipvs = ipvs();
        for round in 0..5u32 {
            let count = 2000 + 500 * round;
            let requests: Vec<Request> = (0..count)
                .map(|i| {
                    let key = ServiceKey::tcp(IpAddr::V4(Ipv4Addr::from(0x0a40_0000 + i)), 80);
                    Request::AddService(Service::new(key, "rr"))
                })
                .collect();
            let outcomes = ipvs.apply_batch(&requests).expect("the batch");
            assert!(outcomes.iter().all(Result::is_ok), "round {round}");
            let listed = ipvs.table_with(DestDetail::Saved).expect("the listing");
            let keys: HashSet<ServiceKey> = listed.iter().map(|vs| vs.service.key).collect();
            assert_eq!(
                (listed.len(), keys.len()),
                (count as usize, count as usize),
                "round {round}: (services listed, distinct)"
            );
            ipvs.apply(&Request::Flush).expect("flush");
        }
    });
}
