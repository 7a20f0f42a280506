//! The listing's linear read of the table: services from one `getsockopt()` instead of
//! the quadratic service dump, which is right only while IPVS has no IPv6 service (the
//! interface lists IPv4 ones only). IPVS's IPv6 netfilter hooks, as nfnetlink_hook shows
//! them (5.14+), tell: they come with a namespace's first IPv6 service and go with its
//! last. Where nfnetlink_hook is missing, ip_vs's module references tell: one per service
//! of any family and namespace. The listing must show the same table either way.

use std::net::{IpAddr, Ipv4Addr};

use rsipvsadm::listing::DestDetail;
use rsipvsadm::model::{
    AddressFamily, Destination, FwdMethod, Service, ServiceFlags, ServiceKey, VirtualService,
};
use rsipvsadm::modrefs::ModuleRefs;
use rsipvsadm::{Request, nfhooks};

use crate::common::{Exit, FtpUnloaded, run_with_timeout};
use crate::{ip, ipvs, netns_test, netns_test_alone, services_once_settled};

/// Whether the kernel has nfnetlink_hook: from 5.14 where configured (Debian's 6.1 cloud
/// kernel leaves it out; 6.12 has it), as a module or built in.
fn hooks_shown() -> bool {
    let release = nix::sys::utsname::uname().expect("uname");
    let dir = format!("/lib/modules/{}", release.release().to_string_lossy());
    ["modules.dep", "modules.builtin"].iter().any(|file| {
        std::fs::read_to_string(format!("{dir}/{file}"))
            .is_ok_and(|list| list.contains("/nfnetlink_hook.ko"))
    })
}

/// A real server's configuration with its active and inactive connections.
type ListedDest = (Destination, u32, u32);

/// What a listing shows of a table that a rule can set, real servers with their counts,
/// by service key: from 7.1 the kernel may move its services to a larger table between
/// two reads, and list them in another order.
fn configured(table: &[VirtualService]) -> Vec<(Service, Vec<ListedDest>)> {
    let mut table: Vec<&VirtualService> = table.iter().collect();
    table.sort_by_key(|vs| vs.service.key);
    table
        .into_iter()
        .map(|vs| {
            let dests = vs
                .dests
                .iter()
                .map(|rs| {
                    (
                        rs.dest.clone(),
                        rs.observed.active_conns,
                        rs.observed.inact_conns,
                    )
                })
                .collect();
            (vs.service.clone(), dests)
        })
        .collect()
}

#[test]
fn ipv6_hooks_come_and_go_with_ipv6_services_and_listings_agree() {
    netns_test(|| {
        let mut ipvs = ipvs();
        let may_have_ipv6 = || nfhooks::ipvs_may_have_ipv6_services();
        if !hooks_shown() {
            assert!(may_have_ipv6().is_err(), "no nfnetlink_hook in this kernel");
            return;
        }
        assert!(!may_have_ipv6().expect("the hook dump"), "empty table");

        let mut persistent = Service::new(ServiceKey::tcp(ip("10.4.0.1"), 443), "sh");
        persistent.flags = ServiceFlags(ServiceFlags::PERSISTENT | ServiceFlags::SCHED1);
        persistent.timeout = 600;
        let fwmark4 = ServiceKey::fwmark(AddressFamily::Inet, 9);
        let mut requests = vec![
            Request::AddService(persistent.clone()),
            Request::AddService(Service::new(fwmark4, "wrr")),
            Request::AddDest(
                fwmark4,
                Destination::new(ip("10.0.0.9"), 0, FwdMethod::Route),
            ),
        ];
        for i in 0..40u8 {
            let key = ServiceKey::udp(IpAddr::V4(Ipv4Addr::new(10, 4, 1, i)), 53);
            requests.push(Request::AddService(Service::new(key, "rr")));
            for d in 1..=(i % 4) {
                let mut dest =
                    Destination::new(IpAddr::V4(Ipv4Addr::new(10, 0, 1, d)), 53, FwdMethod::Masq);
                dest.weight = u32::from(d);
                requests.push(Request::AddDest(key, dest));
            }
        }
        for outcome in ipvs.apply_batch(&requests).expect("the batch") {
            outcome.expect("a rule");
        }
        services_once_settled(&mut ipvs, 42);
        assert!(
            !may_have_ipv6().expect("the hook dump"),
            "IPv4 services only"
        );
        let netlink = configured(&ipvs.table().expect("netlink table"));
        for detail in [
            DestDetail::Listed,
            DestDetail::Saved,
            DestDetail::Configured,
        ] {
            let linear = configured(&ipvs.table_with(detail).expect("linear table"));
            assert_eq!(linear, netlink, "{detail:?} read of an IPv4 table");
        }

        // An IPv6 fwmark service is IPv6 too: the getsockopt() interface would miss it.
        for key in [
            ServiceKey::fwmark(AddressFamily::Inet6, 10),
            ServiceKey::tcp(ip("2001:db8::1"), 80),
        ] {
            ipvs.apply(&Request::AddService(Service::new(key, "rr")))
                .expect("an IPv6 service");
            assert!(may_have_ipv6().expect("the hook dump"), "{key:?} added");
            let netlink = configured(&ipvs.table().expect("netlink table"));
            let listed = configured(&ipvs.table_with(DestDetail::Listed).expect("listing"));
            assert_eq!(listed, netlink, "listing with {key:?}");
            assert!(listed.iter().any(|(service, _)| service.key == key));
            ipvs.apply(&Request::DelService(key)).expect("deleted");
            assert!(!may_have_ipv6().expect("the hook dump"), "{key:?} deleted");
        }
    });
}

/// Runs a listing tool with `args`, which must succeed; its stdout.
fn listed(program: std::path::PathBuf, args: &[&str]) -> String {
    use std::os::unix::process::CommandExt;
    let out = run_with_timeout(
        std::process::Command::new(program)
            .arg0("ipvsadm")
            .args(args),
        None,
        std::time::Duration::from_secs(300),
    );
    assert_eq!(
        (out.exit, out.stderr_lossy()),
        (Exit::Code(0), String::new()),
        "{args:?}"
    );
    out.stdout_lossy()
}

/// Loads `count` services in a scrambled order: ports wrapping around, some fwmark
/// services, up to 2 real servers each in reverse order (tunnelled ones too when
/// `tunnels`, which `-S` must read over netlink), so that neither order is the insertion
/// order; and IPv6 services when `ipv6`. Returns the number of services in the table.
fn load_scrambled(count: u32, tunnels: bool, ipv6: bool) -> usize {
    let mut ipvs = ipvs();
    let mut requests = Vec::new();
    for i in 0..count {
        let scrambled = (i.wrapping_mul(2_654_435_761) >> 8) & 0xffff;
        let key = if i % 50 == 0 {
            ServiceKey::fwmark(AddressFamily::Inet, 1 + i)
        } else if ipv6 && i % 97 == 0 {
            ServiceKey::tcp(format!("2001:db8::{scrambled:x}").parse().expect("v6"), 80)
        } else {
            ServiceKey::tcp(
                IpAddr::V4(Ipv4Addr::from(0x0a20_0000 + scrambled)),
                (i % 7) as u16 + 80,
            )
        };
        requests.push(Request::AddService(Service::new(key, "wrr")));
        for d in (1..=(i % 3) as u8).rev() {
            let fwd = if tunnels && i % 11 == 0 {
                FwdMethod::Tunnel
            } else {
                FwdMethod::Masq
            };
            let addr = if key.af() == AddressFamily::Inet6 {
                format!("2001:db8:1::{d}").parse().expect("v6")
            } else {
                IpAddr::V4(Ipv4Addr::new(10, 0, d, (i % 250) as u8 + 1))
            };
            let mut dest = Destination::new(addr, 8080, fwd);
            dest.weight = i % 5;
            requests.push(Request::AddDest(key, dest));
        }
    }
    // Scrambled addresses repeat now and then: the kernel refuses the second.
    let added = ipvs
        .apply_batch(&requests)
        .expect("the batch")
        .iter()
        .zip(&requests)
        .filter(|(outcome, request)| outcome.is_ok() && matches!(request, Request::AddService(_)))
        .count();
    // From 7.1 the kernel moves the services to larger tables meanwhile.
    let services = services_once_settled(&mut ipvs, added).len();
    assert_eq!(services, added);
    services
}

/// Asserts that rsipvsadm lists the table as ipvsadm does with each of `listings`.
fn assert_listed_as_ipvsadm(listings: &[&[&str]]) {
    for args in listings {
        let theirs = listed(crate::common::ipvsadm_bin(), args);
        let ours = listed(crate::common::rsipvsadm_bin(), args);
        if ours != theirs {
            let (ours, theirs): (Vec<_>, Vec<_>) =
                (ours.lines().collect(), theirs.lines().collect());
            let at = ours.iter().zip(&theirs).take_while(|(a, b)| a == b).count();
            let from = at.saturating_sub(3);
            panic!(
                "{args:?} differs from ipvsadm's at line {}: ours\n{}\ntheirs\n{}",
                at + 1,
                ours[from..ours.len().min(at + 4)].join("\n"),
                theirs[from..theirs.len().min(at + 4)].join("\n")
            );
        }
    }
}

/// -Ln and -S take real servers a batch of services at a time (8192), asked for in the
/// kernel's order and printed in the sorted one: a table of more than two batches, in an
/// order the kernel's hash does not keep, lists byte for byte as ipvsadm lists it.
#[test]
fn listings_larger_than_a_batch_match_ipvsadm() {
    netns_test(|| {
        let services = load_scrambled(17_000, false, false);
        assert!(services > 2 * 8192, "{services} services");
        assert_listed_as_ipvsadm(&[&["-Ln"], &["-Ln", "--nosort"], &["-S", "-n"]]);
    });
}

/// Before 7.1, on tables of 256 to 16,384 IPv4 services that take the service dump (an
/// IPv6 service among them), the real servers are read while the kernel builds the dump
/// and put into their services afterwards: each where it belongs, tunnelled ones (whose
/// settings only netlink shows) read again for -S.
///
/// Alone: before 7.1 the service dump walks the services of every namespace, and
/// ipvsadm's lists one twice when another test adds or deletes services meanwhile.
#[test]
fn listings_with_real_servers_read_during_the_dump_match_ipvsadm() {
    netns_test_alone(|| {
        let services = load_scrambled(3000, true, true);
        assert!(services > 2900, "{services} services");
        assert_listed_as_ipvsadm(&[
            &["-Ln"],
            &["-Ln", "--nosort"],
            &["-S", "-n"],
            &["-Ln", "--thresholds"],
            &["-Ln", "--persistent-conn"],
        ]);
    });
}

/// Whether ip_vs's references come to its modules' and `services`, within a few seconds
/// (a call in progress elsewhere holds one for a moment; namespaces of earlier tests are
/// torn down in the background, their services with them).
fn references_settle_at(services: u64) -> bool {
    let started = std::time::Instant::now();
    loop {
        let refs = ModuleRefs::read().expect("ip_vs is a module here");
        if refs.only_these_services(services) {
            return true;
        }
        if started.elapsed() > std::time::Duration::from_secs(20) {
            eprintln!("{refs:?} for {services} services");
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Without nfnetlink_hook (5.10, 6.1) the proof that the `getsockopt()` interface lists
/// the whole table is ip_vs's references: past those of its modules, exactly the IPv4
/// services of the namespace. A service of another family or in another namespace must
/// show, and the listings agree with ipvsadm's either way.
///
/// Alone: every namespace's services count, and the test unloads ip_vs_ftp.
#[test]
fn module_references_show_services_beyond_the_ipv4_ones_of_the_namespace() {
    netns_test_alone(|| {
        let ftp = FtpUnloaded::new();
        assert!(references_settle_at(0), "an empty table");
        let services = load_scrambled(3000, true, false) as u64;
        assert!(references_settle_at(services), "{services} IPv4 services");
        let listings: [&[&str]; 4] = [
            &["-Ln"],
            &["-Ln", "--nosort"],
            &["-S", "-n"],
            &["-Ln", "--persistent-conn"],
        ];
        assert_listed_as_ipvsadm(&listings);
        let refs = || ModuleRefs::read().expect("ip_vs is a module here");

        let mut here = ipvs();
        for key in [
            ServiceKey::tcp(ip("2001:db8::1"), 80),
            ServiceKey::fwmark(AddressFamily::Inet6, 10),
        ] {
            here.apply(&Request::AddService(Service::new(key, "rr")))
                .expect("an IPv6 service");
            assert!(!refs().only_these_services(services), "{key:?} added");
            assert_listed_as_ipvsadm(&listings);
            here.apply(&Request::DelService(key)).expect("deleted");
            assert!(references_settle_at(services), "{key:?} deleted");
        }

        // A service in another namespace, seen from either.
        let elsewhere = ServiceKey::udp(ip("10.9.0.1"), 53);
        crate::common::in_fresh_netns(move || {
            let mut there = ipvs();
            there
                .apply(&Request::AddService(Service::new(elsewhere, "rr")))
                .expect("a service elsewhere");
            let refs = ModuleRefs::read().expect("ip_vs is a module here");
            assert!(!refs.only_these_services(1), "seen from its namespace");
            assert!(!refs.only_these_services(services), "seen from the other");
            there.apply(&Request::Flush).expect("flushed");
        });
        assert!(
            references_settle_at(services),
            "the other namespace emptied"
        );
        assert_listed_as_ipvsadm(&listings);

        // ip_vs_ftp's application in this namespace and the initial one: more than the
        // one the proof allows for.
        drop(ftp);
        if std::path::Path::new("/sys/module/ip_vs_ftp").exists() {
            assert!(!refs().only_these_services(services), "ip_vs_ftp loaded");
        }
    });
}
