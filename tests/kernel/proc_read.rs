//! `/proc/net/ip_vs` while other namespaces have services: before Linux 7.1 the file
//! walks tables shared by all namespaces, and reads larger than a record lose their place
//! (see `procfs::PROC_INFO_READ`). Read a few bytes at a time it shows every service;
//! read fast, as apply's verification does, it may miss some, and apply must not take
//! that for a difference.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr};
use std::process::Command;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use rsipvsadm::model::{AddressFamily, Destination, FwdMethod, Service, ServiceKey};
use rsipvsadm::{Ipvs, Request, procfs};

use crate::common::{Exit, in_fresh_netns, proc_net_ip_vs, rsipvsadm_bin, run_with_timeout};
use crate::{ipvs, netns_test_alone};

const ADDR_SERVICES: u32 = 500;
const FWMARK_SERVICES: u32 = 100;
const FOREIGN_SERVICES: u32 = 60;

fn v4(base: u32, i: u32) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(base + i))
}

/// Services with one destination each, and fwmark services with none: the shortest
/// records the file has.
fn own_table() -> Vec<Request> {
    let mut requests = Vec::new();
    for i in 0..ADDR_SERVICES {
        let key = ServiceKey::tcp(v4(0x0a01_0000, i), 80);
        requests.push(Request::AddService(Service::new(key, "rr")));
        let dest = Destination::new(v4(0x0a02_0000, i), 8080, FwdMethod::Masq);
        requests.push(Request::AddDest(key, dest));
    }
    for mark in 1..=FWMARK_SERVICES {
        requests.push(Request::AddService(Service::new(
            ServiceKey::fwmark(AddressFamily::Inet, mark),
            "rr",
        )));
    }
    requests
}

/// Holds FOREIGN_SERVICES services in another namespace until `done` says so.
fn foreign_services(ready: mpsc::Sender<()>, done: mpsc::Receiver<()>) {
    in_fresh_netns(move || {
        let mut ipvs = Ipvs::open().expect("IPVS in the other namespace");
        let requests: Vec<_> = (0..FOREIGN_SERVICES)
            .map(|i| {
                Request::AddService(Service::new(ServiceKey::tcp(v4(0x0a09_0000, i), 80), "rr"))
            })
            .collect();
        for outcome in ipvs
            .apply_batch(&requests)
            .expect("batch in the other namespace")
        {
            outcome.expect("a service in the other namespace");
        }
        let _ = ready.send(());
        let _ = done.recv();
        let _ = ipvs.apply(&Request::Flush);
    })
}

#[test]
fn the_proc_table_shows_every_service_while_another_namespace_has_services() {
    netns_test_alone(|| {
        let mut ipvs = ipvs();
        for outcome in ipvs.apply_batch(&own_table()).unwrap() {
            outcome.unwrap();
        }
        let (ready_tx, ready) = mpsc::channel();
        let (done, done_rx) = mpsc::channel();
        let other = thread::spawn(move || foreign_services(ready_tx, done_rx));
        ready.recv().expect("the other namespace's services");

        let whole = procfs::read_whole_table();
        let fast = procfs::read_table();
        let text = proc_net_ip_vs();
        // apply's verification reads the table fast: what it misses, it reads exactly.
        // Every weight changes, so that it reads /proc (the plan touches every service).
        let mut file = String::new();
        for i in 0..ADDR_SERVICES {
            let (vip, rip) = (v4(0x0a01_0000, i), v4(0x0a02_0000, i));
            file += &format!("-A -t {vip}:80 -s rr\n-a -t {vip}:80 -r {rip}:8080 -m -w 2\n");
        }
        for mark in 1..=FWMARK_SERVICES {
            file += &format!("-A -f {mark} -s rr\n");
        }
        let applied = run_with_timeout(
            Command::new(rsipvsadm_bin()).args(["apply", "-"]),
            Some(file.as_bytes()),
            Duration::from_secs(120),
        );
        let _ = done.send(());
        other.join().expect("the other namespace's thread");
        assert_eq!(
            (applied.exit, applied.stderr_lossy()),
            (Exit::Code(0), String::new()),
            "apply while another namespace has services"
        );

        let expected = (ADDR_SERVICES + FWMARK_SERVICES) as usize;
        let whole = whole.unwrap();
        assert_eq!(
            whole.len(),
            expected,
            "services in procfs::read_whole_table"
        );
        let dests: usize = whole.iter().map(|s| s.dests.len()).sum();
        assert_eq!(
            dests, ADDR_SERVICES as usize,
            "destinations in procfs::read_whole_table"
        );
        // The fast read may leave services out, never shows one twice or another's.
        let fast = fast.unwrap();
        let keys: HashSet<_> = fast.iter().map(|s| s.key).collect();
        assert_eq!(
            keys.len(),
            fast.len(),
            "a service twice in procfs::read_table"
        );
        assert!(
            keys.iter().all(|k| whole.iter().any(|s| s.key == *k)),
            "procfs::read_table shows a service of another namespace"
        );
        let service_lines = text
            .lines()
            .skip(3)
            .filter(|l| !l.starts_with("  -> "))
            .count();
        assert_eq!(service_lines, expected, "service lines the tests read");
        let weights = ipvs
            .table()
            .unwrap()
            .iter()
            .flat_map(|vs| vs.dests.iter().map(|d| d.dest.weight))
            .collect::<Vec<_>>();
        assert!(weights.len() == ADDR_SERVICES as usize && weights.iter().all(|w| *w == 2));
    });
}
