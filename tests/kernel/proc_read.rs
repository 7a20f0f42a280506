//! `/proc/net/ip_vs` read whole while other namespaces have services: before Linux 7.1
//! the file walks tables shared by all namespaces, and reads larger than a record lose
//! their place (see `procfs::PROC_INFO_READ`).

use std::net::{IpAddr, Ipv4Addr};
use std::sync::mpsc;
use std::thread;

use rsipvsadm::model::{AddressFamily, Destination, FwdMethod, Service, ServiceKey};
use rsipvsadm::{Ipvs, Request, procfs};

use crate::common::{in_fresh_netns, proc_net_ip_vs};
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

        let table = procfs::read_table();
        let text = proc_net_ip_vs();
        let _ = done.send(());
        other.join().expect("the other namespace's thread");

        let table = table.unwrap();
        let expected = (ADDR_SERVICES + FWMARK_SERVICES) as usize;
        assert_eq!(table.len(), expected, "services in procfs::read_table");
        let dests: usize = table.iter().map(|s| s.dests.len()).sum();
        assert_eq!(
            dests, ADDR_SERVICES as usize,
            "destinations in procfs::read_table"
        );
        let service_lines = text
            .lines()
            .skip(3)
            .filter(|l| !l.starts_with("  -> "))
            .count();
        assert_eq!(service_lines, expected, "service lines the tests read");
    });
}
