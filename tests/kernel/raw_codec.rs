//! The codec against the kernel's own bytes: every reply the kernel sends for a table
//! with every kind of object parses into typed attributes that emit the same bytes back.

use rsipvsadm::Request;
use rsipvsadm::model::{
    AddressFamily, DaemonState, Destination, FwdMethod, Service, ServiceKey, SyncDaemon, TunnelType,
};
use rsipvsadm::netlink::attrs::{CmdAttr, IpvsCmd};
use rsipvsadm::netlink::codec::{ipvs_message, key_attr};
use rsipvsadm::netlink::message::GenlMessage;
use rsipvsadm::netlink::nla::{self, RawNla};

use crate::{ip, ipvs, netns_test_alone};

fn assert_round_trip(raw: &GenlMessage<RawNla>) {
    let mut kernel_bytes = Vec::new();
    nla::emit_all(&raw.attrs, &mut kernel_bytes).unwrap();
    let typed: Vec<CmdAttr> = nla::parse_all(&kernel_bytes).unwrap();
    assert!(
        !typed.iter().any(|a| matches!(a, CmdAttr::Other(..))),
        "unknown top-level attribute in {typed:?}"
    );
    let mut ours = Vec::new();
    nla::emit_all(&typed, &mut ours).unwrap();
    assert_eq!(ours, kernel_bytes, "re-emitted bytes differ for {typed:?}");
}

/// Alone: on 6.1 a service dump can repeat entries when other namespaces change.
#[test]
fn kernel_replies_round_trip_byte_for_byte() {
    netns_test_alone(|| {
        let mut ipvs = ipvs();
        let v4 = ServiceKey::tcp(ip("10.0.0.1"), 80);
        let v6 = ServiceKey::udp(ip("2001:db8::1"), 53);
        let mark = ServiceKey::fwmark(AddressFamily::Inet6, 5);
        let mut persistent = Service::new(v4, "wlc").persistent(300);
        persistent.pe_name = Some("sip".into());
        let mut gue = Destination::new(ip("10.0.0.3"), 80, FwdMethod::Tunnel);
        gue.tun_type = TunnelType::Gue;
        gue.tun_port = 6080;
        let requests = [
            Request::AddService(persistent),
            Request::AddService(Service::new(v6, "rr")),
            Request::AddService(Service::new(mark, "mh")),
            Request::AddDest(v4, Destination::new(ip("10.0.0.2"), 8080, FwdMethod::Masq)),
            Request::AddDest(v4, gue),
            Request::AddDest(
                v6,
                Destination::new(ip("2001:db8::2"), 53, FwdMethod::Route),
            ),
            Request::StartDaemon(SyncDaemon::new(DaemonState::Master, "rs0")),
        ];
        for request in &requests {
            ipvs.apply(request).unwrap();
        }

        let dumps = [
            ipvs_message(IpvsCmd::GetService, vec![]),
            ipvs_message(IpvsCmd::GetDest, vec![key_attr(&v4)]),
            ipvs_message(IpvsCmd::GetDest, vec![key_attr(&v6)]),
            ipvs_message(IpvsCmd::GetDaemon, vec![]),
        ];
        let mut replies = 0;
        for dump in &dumps {
            for raw in ipvs.dump_raw(dump).unwrap() {
                assert_round_trip(&raw);
                replies += 1;
            }
        }
        assert_eq!(replies, 3 + 2 + 1 + 1);
    });
}
