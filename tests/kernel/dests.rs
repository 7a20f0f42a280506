//! Destinations of every forwarding method: add, read back, edit, delete, refusals.

use nix::errno::Errno;
use rsipvsadm::Request;
use rsipvsadm::model::{
    AddressFamily, Destination, FwdMethod, Service, ServiceKey, TunnelFlags, TunnelType,
};

use crate::common::proc_net_ip_vs;
use crate::{ip, ipvs, netns_test, netns_test_alone};

fn tunnel(addr: &str, tun_type: TunnelType, tun_port: u16, flags: u16) -> Destination {
    let mut dest = Destination::new(ip(addr), 80, FwdMethod::Tunnel);
    dest.tun_type = tun_type;
    dest.tun_port = tun_port;
    dest.tun_flags = TunnelFlags(flags);
    dest
}

fn sorted(mut dests: Vec<Destination>) -> Vec<Destination> {
    dests.sort_by_key(|d| (d.addr, d.port));
    dests
}

#[test]
fn destinations_of_every_forwarding_method_are_added_and_listed_back() {
    netns_test_alone(|| {
        let mut ipvs = ipvs();
        let key = ServiceKey::tcp(ip("10.0.0.1"), 80);
        ipvs.apply(&Request::AddService(Service::new(key, "wrr")))
            .unwrap();
        let mut masq = Destination::new(ip("10.0.0.2"), 8080, FwdMethod::Masq).weight(3);
        masq.u_threshold = 100;
        masq.l_threshold = 50;
        let dests = vec![
            masq,
            Destination::new(ip("10.0.0.3"), 80, FwdMethod::Route).weight(0),
            Destination::new(ip("10.0.0.4"), 80, FwdMethod::Local),
            tunnel("10.0.0.5", TunnelType::Ipip, 0, 0),
            tunnel("10.0.0.6", TunnelType::Gue, 6080, TunnelFlags::CSUM),
            tunnel("10.0.0.7", TunnelType::Gre, 0, TunnelFlags::REMCSUM),
            // A mixed-family pool is allowed for tunnels.
            tunnel("2001:db8::7", TunnelType::Ipip, 0, 0),
            Destination::new(ip("10.0.0.8"), 80, FwdMethod::Route).weight(i32::MAX as u32),
        ];
        for dest in &dests {
            ipvs.apply(&Request::AddDest(key, dest.clone())).unwrap();
        }
        assert_eq!(sorted(ipvs.dests(&key).unwrap()), sorted(dests));

        let proc = proc_net_ip_vs();
        for line in [
            "  -> 0A000002:1F90      Masq    3",
            "  -> 0A000003:0050      Route   0",
            "  -> 0A000004:0050      Local   1",
            "  -> 0A000005:0050      Tunnel  1",
            "  -> [2001:0db8:0000:0000:0000:0000:0000:0007]:0050      Tunnel  1",
        ] {
            assert!(
                proc.contains(line),
                "{line:?} missing from /proc/net/ip_vs:\n{proc}"
            );
        }
    });
}

#[test]
fn ipv6_and_fwmark_services_take_destinations() {
    netns_test(|| {
        let mut ipvs = ipvs();
        let v6 = ServiceKey::udp(ip("2001:db8::1"), 53);
        let mark = ServiceKey::fwmark(AddressFamily::Inet, 42);
        for key in [v6, mark] {
            ipvs.apply(&Request::AddService(Service::new(key, "rr")))
                .unwrap();
        }
        let d6 = Destination::new(ip("2001:db8::2"), 53, FwdMethod::Masq);
        let dm = Destination::new(ip("10.0.0.9"), 0, FwdMethod::Route);
        ipvs.apply(&Request::AddDest(v6, d6.clone())).unwrap();
        ipvs.apply(&Request::AddDest(mark, dm.clone())).unwrap();
        assert_eq!(ipvs.dests(&v6).unwrap(), vec![d6]);
        assert_eq!(ipvs.dests(&mark).unwrap(), vec![dm]);
    });
}

#[test]
fn edit_replaces_the_destination_settings() {
    netns_test_alone(|| {
        let mut ipvs = ipvs();
        let key = ServiceKey::tcp(ip("10.0.0.1"), 80);
        ipvs.apply(&Request::AddService(Service::new(key, "rr")))
            .unwrap();
        let gue = tunnel("10.0.0.2", TunnelType::Gue, 6080, TunnelFlags::CSUM);
        ipvs.apply(&Request::AddDest(key, gue)).unwrap();

        let mut edited = Destination::new(ip("10.0.0.2"), 80, FwdMethod::Masq).weight(9);
        edited.u_threshold = 20;
        ipvs.apply(&Request::EditDest(key, edited.clone())).unwrap();
        let listed = ipvs.dests(&key).unwrap();
        assert_eq!(listed, vec![edited]);
        assert_eq!(
            listed[0].tun_type,
            TunnelType::Ipip,
            "SET_DEST is a full replacement"
        );
        assert!(proc_net_ip_vs().contains("  -> 0A000002:0050      Masq    9"));
    });
}

#[test]
fn delete_removes_only_that_destination() {
    netns_test(|| {
        let mut ipvs = ipvs();
        let key = ServiceKey::tcp(ip("10.0.0.1"), 80);
        ipvs.apply(&Request::AddService(Service::new(key, "rr")))
            .unwrap();
        let a = Destination::new(ip("10.0.0.2"), 80, FwdMethod::Masq);
        let b = Destination::new(ip("10.0.0.3"), 80, FwdMethod::Masq);
        ipvs.apply(&Request::AddDest(key, a.clone())).unwrap();
        ipvs.apply(&Request::AddDest(key, b.clone())).unwrap();
        ipvs.apply(&Request::DelDest(key, a.key())).unwrap();
        assert_eq!(ipvs.dests(&key).unwrap(), vec![b]);
        ipvs.apply(&Request::DelService(key)).unwrap();
        assert!(
            ipvs.dests(&key).unwrap().is_empty(),
            "a missing service dumps empty"
        );
    });
}

#[test]
fn destination_refusals_keep_their_errno() {
    netns_test(|| {
        let mut ipvs = ipvs();
        let key = ServiceKey::tcp(ip("10.0.0.1"), 80);
        ipvs.apply(&Request::AddService(Service::new(key, "rr")))
            .unwrap();
        let dest = Destination::new(ip("10.0.0.2"), 80, FwdMethod::Masq);
        ipvs.apply(&Request::AddDest(key, dest.clone())).unwrap();
        let mut errno = |r: Request| ipvs.apply(&r).unwrap_err().errno();

        assert_eq!(
            errno(Request::AddDest(key, dest.clone())),
            Some(Errno::EEXIST)
        );
        let other = Destination::new(ip("10.0.0.3"), 80, FwdMethod::Masq);
        assert_eq!(
            errno(Request::EditDest(key, other.clone())),
            Some(Errno::ENOENT)
        );
        assert_eq!(
            errno(Request::DelDest(key, other.key())),
            Some(Errno::ENOENT)
        );
        let no_service = ServiceKey::tcp(ip("10.0.0.9"), 80);
        assert_eq!(
            errno(Request::AddDest(no_service, other)),
            Some(Errno::ESRCH)
        );
        let mut low_above_high = dest.clone();
        low_above_high.u_threshold = 5;
        low_above_high.l_threshold = 10;
        assert_eq!(
            errno(Request::EditDest(key, low_above_high)),
            Some(Errno::ERANGE)
        );
        let gue_without_port = tunnel("10.0.0.4", TunnelType::Gue, 0, 0);
        assert_eq!(
            errno(Request::AddDest(key, gue_without_port)),
            Some(Errno::EINVAL)
        );
        let mixed_nat = Destination::new(ip("2001:db8::2"), 80, FwdMethod::Masq);
        assert_eq!(errno(Request::AddDest(key, mixed_nat)), Some(Errno::EINVAL));
        let multicast = Destination::new(ip("224.0.0.5"), 80, FwdMethod::Route);
        assert_eq!(errno(Request::AddDest(key, multicast)), Some(Errno::EINVAL));
    });
}
