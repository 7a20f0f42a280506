//! Thousands of requests in one call: every failure reported against its own request,
//! every success applied.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use nix::errno::Errno;
use rsipvsadm::Request;
use rsipvsadm::model::{Destination, FwdMethod, Service, ServiceKey};

use crate::common::proc_net_ip_vs;
use crate::{ip, ipvs, kernel_before_7_1, netns_test_alone, services_once_settled};

const SERVICES: u32 = 1000;
const DESTS_PER_SERVICE: u32 = 5;

fn vip(i: u32) -> ServiceKey {
    ServiceKey::tcp(IpAddr::V4(Ipv4Addr::from(0x0a01_0000 + i)), 80)
}

fn rip(i: u32, j: u32) -> Destination {
    let addr = Ipv4Addr::from(0x0a00_0000 + ((100 + j) << 16) + i);
    Destination::new(IpAddr::V4(addr), 8080, FwdMethod::Masq).weight(j + 1)
}

/// 1000 services x 5 NAT destinations, with refused requests spliced in at known places.
fn table_with_failures() -> (Vec<Request>, Vec<(usize, Errno)>) {
    let mut requests = Vec::new();
    let mut failures = Vec::new();
    for i in 0..SERVICES {
        requests.push(Request::AddService(Service::new(vip(i), "rr")));
        for j in 0..DESTS_PER_SERVICE {
            requests.push(Request::AddDest(vip(i), rip(i, j)));
        }
        let refused = match i {
            3 => Some((
                Request::AddService(Service::new(vip(0), "rr")),
                Errno::EEXIST,
            )),
            500 => Some((
                Request::AddDest(ServiceKey::tcp(ip("10.9.9.9"), 80), rip(0, 0)),
                Errno::ESRCH,
            )),
            501 => Some((Request::AddDest(vip(1), rip(1, 0)), Errno::EEXIST)),
            777 => Some((Request::DelDest(vip(2), rip(3, 0).key()), Errno::ENOENT)),
            998 => Some((
                Request::AddService(Service::new(ServiceKey::udp(ip("10.9.9.9"), 1), "nosuch")),
                Errno::ENOENT,
            )),
            _ => None,
        };
        if let Some((request, errno)) = refused {
            failures.push((requests.len(), errno));
            requests.push(request);
        }
    }
    (requests, failures)
}

#[test]
fn a_batch_of_6000_requests_reports_each_failure_against_its_request() {
    netns_test_alone(|| {
        let mut ipvs = ipvs();
        let (requests, failures) = table_with_failures();
        assert!(requests.len() >= 6000);

        let started = Instant::now();
        let outcomes = ipvs.apply_batch(&requests).unwrap();
        let elapsed = started.elapsed();
        println!(
            "batch: {} requests applied in {:.1} ms",
            requests.len(),
            elapsed.as_secs_f64() * 1000.0
        );

        assert_eq!(outcomes.len(), requests.len());
        for (index, outcome) in outcomes.iter().enumerate() {
            let expected = failures
                .iter()
                .find(|(at, _)| *at == index)
                .map(|(_, e)| *e);
            assert_eq!(
                outcome.err(),
                expected,
                "request {index}: {:?}",
                requests[index]
            );
        }

        let services = services_once_settled(&mut ipvs, SERVICES as usize);
        assert_eq!(services.len(), SERVICES as usize);
        for i in [0, 1, 2, 499, 999] {
            let mut dests = ipvs.dests(&vip(i)).unwrap();
            dests.sort_by_key(|d| d.addr);
            let expected: Vec<_> = (0..DESTS_PER_SERVICE).map(|j| rip(i, j)).collect();
            assert_eq!(dests, expected, "service {i}");
        }
        // Past the three header lines, a destination line starts with an arrow.
        let dest_lines = || {
            proc_net_ip_vs()
                .lines()
                .skip(3)
                .filter(|l| l.starts_with("  -> "))
                .count()
        };
        let expected = (SERVICES * DESTS_PER_SERVICE) as usize;
        let mut listed = dest_lines();
        // From 7.1 the file too misses what the kernel is moving to a larger table (seen
        // on 7.2 after the dump already listed every service).
        let started = std::time::Instant::now();
        while listed != expected
            && !kernel_before_7_1()
            && started.elapsed() < std::time::Duration::from_secs(10)
        {
            std::thread::sleep(std::time::Duration::from_millis(100));
            listed = dest_lines();
        }
        assert_eq!(listed, expected);
    });
}

#[test]
fn a_batch_split_over_many_sendmsg_calls_gives_the_same_outcomes() {
    netns_test_alone(|| {
        let (requests, failures) = table_with_failures();
        let mut ipvs = ipvs();
        ipvs.limit_batch_messages(250);
        let outcomes = ipvs.apply_batch(&requests).unwrap();
        let failed: Vec<_> = outcomes
            .iter()
            .enumerate()
            .filter_map(|(i, o)| o.err().map(|e| (i, e)))
            .collect();
        assert_eq!(failed, failures);
        // From 7.1 a dump right after many adds may miss services the kernel is moving
        // to a larger table (failed once on 7.2).
        let listed = services_once_settled(&mut ipvs, SERVICES as usize);
        assert_eq!(listed.len(), SERVICES as usize);
    });
}
