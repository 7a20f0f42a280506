//! What must hold however the kernel or other writers behave: replies larger than the
//! receive buffer, requests netlink cannot carry, listings while another namespace
//! changes thousands of services.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr};
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use rsipvsadm::model::{Destination, FwdMethod, Service, ServiceKey};
use rsipvsadm::{Error, Request};

use crate::common::{
    Exit, RunOutput, in_fresh_netns, ipvsadm_bin, rsipvsadm_bin, run_with_timeout,
};
use crate::{ip, ipvs, kernel_before_7_1, netns_test, netns_test_alone, services_once_settled};

fn v4(base: u32, i: u32) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(base + i))
}

fn rsipvsadm(args: &[&str], stdin: Option<&[u8]>) -> RunOutput {
    run_with_timeout(
        Command::new(rsipvsadm_bin()).arg0("rsipvsadm").args(args),
        stdin,
        Duration::from_secs(300),
    )
}

/// The reference ipvsadm.
fn ipvsadm(args: &[&str]) -> RunOutput {
    run_with_timeout(
        Command::new(ipvsadm_bin()).arg0("ipvsadm").args(args),
        None,
        Duration::from_secs(300),
    )
}

/// The kernel sizes dump chunks after the largest receive length ever offered on the
/// socket (at least a page less overhead: about 7.8 KiB on 64 KiB-page kernels). Offering
/// 32 KiB once makes it send 32 KiB chunks from then on; a socket that then offers 4 KiB
/// must still read every one of them.
#[test]
fn dump_chunks_larger_than_the_receive_buffer_are_read_whole() {
    netns_test_alone(|| {
        let mut ipvs = ipvs();
        let key = ServiceKey::tcp(ip("10.0.0.1"), 80);
        let mut requests: Vec<_> = (0..400)
            .map(|i| {
                Request::AddService(Service::new(ServiceKey::tcp(v4(0x0a01_0000, i), 80), "rr"))
            })
            .collect();
        requests.push(Request::AddService(Service::new(key, "wrr")));
        requests.extend((0..300).map(|i| {
            Request::AddDest(
                key,
                Destination::new(v4(0x0a02_0000, i), 80, FwdMethod::Masq),
            )
        }));
        let outcomes = ipvs.apply_batch(&requests).unwrap();
        assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");

        // As sets: from 7.1 the kernel resizes the namespace's table after the inserts,
        // so a later dump may come in another order (and repeat an entry mid-resize).
        let set = |list: &[Service]| list.iter().cloned().collect::<HashSet<_>>();
        ipvs.set_recv_len(32 << 10);
        let services = services_once_settled(&mut ipvs, 401);
        let dests = ipvs.dests(&key).unwrap();
        assert_eq!((set(&services).len(), dests.len()), (401, 300));

        ipvs.set_recv_len(4096);
        assert_eq!(set(&ipvs.services().unwrap()), set(&services));
        assert!(
            ipvs.recv_len() > 4096,
            "the kernel kept sending 32 KiB chunks, so the buffer must have grown"
        );
        ipvs.set_recv_len(4096);
        assert_eq!(ipvs.dests(&key).unwrap(), dests);
        assert!(ipvs.recv_len() > 4096);
        assert_eq!(ipvs.service(&key).unwrap().scheduler, "wrr");
        ipvs.info().unwrap();
    });
}

/// An attribute over netlink's 64 KiB limit is refused before anything is sent, with a
/// typed error, never a panic; the rest of a batch goes on.
#[test]
fn a_request_netlink_cannot_carry_is_an_error() {
    netns_test(|| {
        let mut ipvs = ipvs();
        let huge = Service::new(ServiceKey::tcp(ip("10.0.0.1"), 80), "x".repeat(70_000));
        match ipvs.apply(&Request::AddService(huge.clone())) {
            // Reported for the outermost attribute, the service nest.
            Err(Error::TooLarge(e)) => assert!(e.kind == 1 && e.len > 70_000, "{e}"),
            other => panic!("{other:?}"),
        }
        let fine = Service::new(ServiceKey::tcp(ip("10.0.0.2"), 80), "rr");
        let outcomes = ipvs
            .apply_batch(&[Request::AddService(huge), Request::AddService(fine.clone())])
            .unwrap();
        assert_eq!(outcomes[0], Err(nix::errno::Errno::EMSGSIZE));
        assert_eq!(outcomes[1], Ok(()));
        let keys: Vec<_> = ipvs.services().unwrap().iter().map(|s| s.key).collect();
        assert_eq!(keys, [fine.key]);
    });
}

/// The services a `-Ln` listing shows, in order.
fn listed_services(listing: &str) -> Vec<&str> {
    listing
        .lines()
        .filter(|l| l.starts_with("TCP ") || l.starts_with("UDP ") || l.starts_with("FWM "))
        .collect()
}

/// Before 7.1 a service dump resumes by position in tables every namespace shares, so
/// services added in another namespace during a listing make the kernel send some of this
/// namespace's services twice (ipvsadm then prints them twice). rsipvsadm never does.
/// Listings by both alternate until ipvsadm printed a service twice (or a limit): that
/// shows the kernel did send repeats while rsipvsadm listed.
#[test]
fn listings_never_repeat_a_service_while_another_namespace_restores() {
    netns_test_alone(|| {
        const HERE: u32 = 1000;
        const ELSEWHERE: u32 = 30_000;
        const LISTINGS: usize = 20;
        const MOST_LISTINGS: usize = 200;
        let ours: String = (0..HERE)
            .map(|i| format!("-A -t {}:80 -s rr\n", v4(0x0a01_0000, i)))
            .collect();
        let out = rsipvsadm(&["-R"], Some(ours.as_bytes()));
        assert_eq!(out.exit, Exit::Code(0), "{}", out.stderr_lossy());

        let theirs: Arc<Vec<u8>> = Arc::new(
            (0..ELSEWHERE)
                .map(|i| format!("-A -t {}:80 -s rr\n", v4(0x0a40_0000, i)))
                .collect::<String>()
                .into_bytes(),
        );
        let stop = Arc::new(AtomicBool::new(false));
        let restores = Arc::new(AtomicUsize::new(0));
        let writer = {
            let (stop, restores, theirs) = (stop.clone(), restores.clone(), theirs.clone());
            thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let theirs = theirs.clone();
                    let out = in_fresh_netns(move || rsipvsadm(&["-R"], Some(&theirs)));
                    assert_eq!(out.exit, Exit::Code(0), "{}", out.stderr_lossy());
                    restores.fetch_add(1, Ordering::Relaxed);
                }
            })
        };
        // Whether a listing printed a service twice, and how many it left out.
        let list = |out: RunOutput| {
            assert_eq!(out.exit, Exit::Code(0), "{}", out.stderr_lossy());
            let listing = out.stdout_lossy();
            let services = listed_services(&listing);
            let unique: HashSet<_> = services.iter().collect();
            (unique.len() != services.len(), HERE as usize - unique.len())
        };
        let mut repeated = Vec::new();
        let mut missing = Vec::new();
        let mut reference_repeats = 0;
        let mut n = 0;
        while n < MOST_LISTINGS && (n < LISTINGS || reference_repeats == 0) {
            let (twice, left_out) = list(rsipvsadm(&["-Ln"], None));
            if twice {
                repeated.push(n);
            }
            missing.push(left_out);
            reference_repeats += usize::from(list(ipvsadm(&["-Ln"])).0);
            n += 1;
        }
        stop.store(true, Ordering::Relaxed);
        writer.join().expect("the other namespace's restores");
        println!(
            "{n} listings each during {} restores of {ELSEWHERE} services elsewhere; \
             ipvsadm printed a service twice in {reference_repeats}; rsipvsadm's services \
             missing per listing (deletions elsewhere can skip some): {missing:?}",
            restores.load(Ordering::Relaxed)
        );
        assert!(restores.load(Ordering::Relaxed) > 0);
        assert!(
            repeated.is_empty(),
            "listings {repeated:?} printed a service twice"
        );
        if kernel_before_7_1() {
            assert!(
                reference_repeats > 0,
                "ipvsadm never printed a service twice in {n} listings: the kernel sent no \
                 repeat, so this test showed nothing"
            );
        }
    });
}
