//! The codec against the kernel's own bytes: every reply the kernel sends for a table
//! with every kind of object parses into typed attributes that emit the same bytes back.

use rsipvsadm::Request;
use rsipvsadm::model::{
    AddressFamily, DaemonState, Destination, FwdMethod, Service, ServiceKey, SyncDaemon, TunnelType,
};
use rsipvsadm::netlink::attrs::{CmdAttr, IpvsCmd, SvcAttr};
use rsipvsadm::netlink::codec::{ipvs_message, key_attr};
use rsipvsadm::netlink::message::{GenlMessage, NLM_F_MULTI};
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

/// The kernel's replies as fuzz seeds, one `fuzz-seed TARGET HEX` line each (seen with
/// `--nocapture`; fuzz/kernel-replies.txt keeps them, see tests/fuzz_replay.rs): each
/// entry's attributes, and the whole dump re-framed as one datagram ending in NLMSG_DONE.
fn print_fuzz_seeds(dump: &GenlMessage<CmdAttr>, raws: &[GenlMessage<RawNla>]) {
    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let (target, prefix) = match dump.attrs.first() {
        None if dump.cmd == IpvsCmd::GetService as u8 => ("service_reply", vec![]),
        None => ("daemon_reply", vec![]),
        Some(CmdAttr::Service(key)) => {
            let v6 = key
                .iter()
                .any(|a| matches!(a, SvcAttr::Af(af) if *af == 10));
            ("dest_reply", vec![u8::from(v6)])
        }
        Some(_) => return,
    };
    let mut datagram = Vec::new();
    for raw in raws {
        let mut attrs = prefix.clone();
        nla::emit_all(&raw.attrs, &mut attrs).unwrap();
        println!("fuzz-seed {target} {}", hex(&attrs));
        raw.emit(&mut datagram, 0x1c, NLM_F_MULTI, 7).unwrap();
    }
    // NLMSG_DONE with its error field.
    datagram.extend_from_slice(&20u32.to_ne_bytes());
    datagram.extend_from_slice(&3u16.to_ne_bytes());
    datagram.extend_from_slice(&NLM_F_MULTI.to_ne_bytes());
    datagram.extend_from_slice(&7u32.to_ne_bytes());
    datagram.extend_from_slice(&[0; 8]);
    println!("fuzz-seed dump_stream {}", hex(&datagram));
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
            let raws = ipvs.dump_raw(dump).unwrap();
            for raw in &raws {
                assert_round_trip(raw);
                replies += 1;
            }
            print_fuzz_seeds(dump, &raws);
        }
        assert_eq!(replies, 3 + 2 + 1 + 1);
    });
}
