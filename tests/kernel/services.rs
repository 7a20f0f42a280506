//! Services of every kind: add, read back (netlink and /proc/net/ip_vs), edit, delete.

use std::net::Ipv4Addr;

use nix::errno::Errno;
use rsipvsadm::Request;
use rsipvsadm::model::{AddressFamily, Netmask, Protocol, Service, ServiceFlags, ServiceKey};

use crate::common::proc_net_ip_vs;
use crate::{ip, ipvs, netns_test, netns_test_alone};

fn every_kind_of_service() -> Vec<Service> {
    vec![
        Service::new(ServiceKey::tcp(ip("10.0.0.1"), 80), "rr"),
        Service::new(ServiceKey::udp(ip("10.0.0.1"), 53), "wlc"),
        Service::new(ServiceKey::sctp(ip("10.0.0.1"), 5060), "sh"),
        Service::new(ServiceKey::tcp(ip("2001:db8::1"), 443), "lc"),
        Service::new(ServiceKey::udp(ip("2001:db8::1"), 53), "wrr"),
        Service::new(ServiceKey::sctp(ip("2001:db8::1"), 5060), "dh"),
        Service::new(ServiceKey::fwmark(AddressFamily::Inet, 7), "sed"),
        Service::new(ServiceKey::fwmark(AddressFamily::Inet6, 0x8000_0000), "nq"),
    ]
}

fn sorted(mut services: Vec<Service>) -> Vec<Service> {
    services.sort_by_key(|s| format!("{:?}", s.key));
    services
}

#[test]
fn services_of_every_kind_are_added_and_listed_back() {
    netns_test_alone(|| {
        let mut ipvs = ipvs();
        let services = every_kind_of_service();
        for svc in &services {
            ipvs.apply(&Request::AddService(svc.clone())).unwrap();
        }
        let listed = ipvs.services().unwrap();
        let expected = services.clone();
        assert_eq!(sorted(listed), sorted(expected));
        for svc in &services {
            assert_eq!(ipvs.service(&svc.key).unwrap(), *svc);
            // HASHED is the kernel's own flag: observed, never configuration.
            let listed = ipvs.listed_service(&svc.key).unwrap();
            assert!(listed.observed.flags.contains(ServiceFlags::HASHED));
            assert!(!listed.service.flags.contains(ServiceFlags::HASHED));
        }

        let proc = proc_net_ip_vs();
        for line in [
            "TCP  0A000001:0050 rr",
            "UDP  0A000001:0035 wlc",
            "SCTP  0A000001:13C4 sh",
            "TCP  [2001:0db8:0000:0000:0000:0000:0000:0001]:01BB lc",
            "FWM  00000007 sed",
            "FWM  80000000 nq",
        ] {
            assert!(
                proc.contains(line),
                "{line:?} missing from /proc/net/ip_vs:\n{proc}"
            );
        }
    });
}

#[test]
fn persistence_netmask_engine_and_flags_are_stored() {
    netns_test_alone(|| {
        let mut ipvs = ipvs();
        let mut svc = Service::new(ServiceKey::udp(ip("10.0.0.2"), 5060), "sh").persistent(300);
        svc.netmask = Netmask::V4(Ipv4Addr::new(255, 255, 255, 0));
        svc.pe_name = Some("sip".into());
        svc.flags.0 |= ServiceFlags::ONEPACKET | ServiceFlags::SCHED_SH_PORT;
        ipvs.apply(&Request::AddService(svc.clone())).unwrap();
        assert_eq!(ipvs.service(&svc.key).unwrap(), svc.clone());

        let mut v6 = Service::new(ServiceKey::tcp(ip("2001:db8::2"), 0), "wlc").persistent(60);
        v6.netmask = Netmask::V6(64);
        ipvs.apply(&Request::AddService(v6.clone())).unwrap();
        assert_eq!(ipvs.service(&v6.key).unwrap(), v6);

        // /proc shows the persistence timeout in jiffies (HZ=250 on Debian) and the mask.
        let proc = proc_net_ip_vs();
        let line = proc
            .lines()
            .find(|l| l.starts_with("UDP  0A000002:13C4 sh "))
            .unwrap_or_else(|| panic!("service missing from /proc/net/ip_vs:\n{proc}"));
        assert!(line.contains(" ops "), "{line}");
        assert!(
            line.trim_end().ends_with("persistent 75000 FFFFFF00"),
            "{line:?}"
        );
    });
}

#[test]
fn edit_replaces_the_service_settings() {
    netns_test_alone(|| {
        let mut ipvs = ipvs();
        let key = ServiceKey::tcp(ip("10.0.0.3"), 80);
        let mut svc = Service::new(key, "rr").persistent(600);
        svc.pe_name = Some("sip".into());
        ipvs.apply(&Request::AddService(svc)).unwrap();

        let edited = Service::new(key, "wrr");
        ipvs.apply(&Request::EditService(edited.clone())).unwrap();
        let listed = ipvs.service(&key).unwrap();
        assert_eq!(listed, edited);
        assert_eq!(listed.pe_name, None, "SET_SERVICE is a full replacement");
        assert!(proc_net_ip_vs().contains("TCP  0A000003:0050 wrr"));
    });
}

#[test]
fn delete_removes_only_that_service() {
    netns_test_alone(|| {
        let mut ipvs = ipvs();
        for svc in every_kind_of_service() {
            ipvs.apply(&Request::AddService(svc)).unwrap();
        }
        let gone = ServiceKey::fwmark(AddressFamily::Inet6, 0x8000_0000);
        ipvs.apply(&Request::DelService(gone)).unwrap();
        let left: Vec<_> = ipvs
            .services()
            .unwrap()
            .into_iter()
            .map(|s| s.key)
            .collect();
        assert_eq!(left.len(), every_kind_of_service().len() - 1);
        assert!(!left.contains(&gone));
        ipvs.apply(&Request::Flush).unwrap();
        assert!(ipvs.services().unwrap().is_empty());
        assert!(!proc_net_ip_vs().contains("FWM"));
    });
}

#[test]
fn kernel_refusals_keep_their_errno() {
    netns_test(|| {
        let mut ipvs = ipvs();
        let key = ServiceKey::tcp(ip("10.0.0.4"), 80);
        ipvs.apply(&Request::AddService(Service::new(key, "rr")))
            .unwrap();
        let errno = |r: &Request, ipvs: &mut rsipvsadm::Ipvs| ipvs.apply(r).unwrap_err().errno();

        let again = Request::AddService(Service::new(key, "rr"));
        assert_eq!(errno(&again, &mut ipvs), Some(Errno::EEXIST));
        let missing = ServiceKey::tcp(ip("10.0.0.5"), 80);
        assert_eq!(
            errno(&Request::DelService(missing), &mut ipvs),
            Some(Errno::ESRCH)
        );
        let edit_missing = Request::EditService(Service::new(missing, "rr"));
        assert_eq!(errno(&edit_missing, &mut ipvs), Some(Errno::ESRCH));
        assert_eq!(
            ipvs.service(&missing).unwrap_err().errno(),
            Some(Errno::ESRCH)
        );
        let no_sched = Request::AddService(Service::new(missing, "nosuch"));
        assert_eq!(errno(&no_sched, &mut ipvs), Some(Errno::ENOENT));
        let mut bad_prefix = Service::new(ServiceKey::tcp(ip("2001:db8::9"), 80), "rr");
        bad_prefix.netmask = Netmask::V6(129);
        assert_eq!(
            errno(&Request::AddService(bad_prefix), &mut ipvs),
            Some(Errno::EINVAL)
        );
        // Nothing of the refused requests is left behind.
        assert_eq!(ipvs.services().unwrap().len(), 1);
    });
}

#[test]
fn other_protocol_numbers_are_listed_not_rejected() {
    // The kernel does not validate the protocol over netlink; the listing must cope.
    netns_test(|| {
        let mut ipvs = ipvs();
        let key = ServiceKey::Addr {
            protocol: Protocol::Other(47),
            addr: ip("10.0.0.6"),
            port: 1,
        };
        ipvs.apply(&Request::AddService(Service::new(key, "rr")))
            .unwrap();
        assert_eq!(ipvs.services().unwrap()[0].key, key);
    });
}
