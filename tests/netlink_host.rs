//! The socket layer against the host's own generic netlink controller (`nlctrl`), which
//! every Linux kernel has: family resolution, errors, and batches with error attribution.
//! These run on the host; everything IPVS runs in the VM (tests/kernel).

use nix::errno::Errno;
use rsipvsadm::netlink::ctrl::{CTRL_CMD_GETFAMILY, CTRL_VERSION, CtrlAttr, GENL_ID_CTRL};
use rsipvsadm::netlink::message::GenlMessage;
use rsipvsadm::netlink::socket::GenlSocket;
use rsipvsadm::{Error, Ipvs};

fn getfamily(name: &str) -> GenlMessage<CtrlAttr> {
    GenlMessage::new(
        CTRL_CMD_GETFAMILY,
        CTRL_VERSION,
        vec![CtrlAttr::FamilyName(name.into())],
    )
}

#[test]
fn resolves_a_family_that_exists_and_not_one_that_does_not() {
    let mut sock = GenlSocket::connect().unwrap();
    assert_eq!(sock.resolve_family("nlctrl").unwrap(), Some(GENL_ID_CTRL));
    assert_eq!(sock.resolve_family("no-such-family").unwrap(), None);
}

#[test]
fn a_refused_request_keeps_its_errno() {
    let mut sock = GenlSocket::connect().unwrap();
    let err = sock
        .request::<_, CtrlAttr>(GENL_ID_CTRL, &getfamily("no-such-family"))
        .unwrap_err();
    assert_eq!(err.errno(), Some(Errno::ENOENT), "{err}");
}

/// Worst case for reply buffering: every one of 5000 requests fails, spread over several
/// sendmsg() calls; each error must come back against its own request.
#[test]
fn batch_attributes_every_error_to_its_request() {
    let mut sock = GenlSocket::connect().unwrap();
    let good = [0usize, 1, 2047, 2048, 4999];
    let msgs: Vec<_> = (0..5000)
        .map(|i| {
            if good.contains(&i) {
                getfamily("nlctrl")
            } else {
                getfamily(&format!("missing-{i}"))
            }
        })
        .collect();
    let whole = sock.batch(GENL_ID_CTRL, &msgs).unwrap();
    sock.limit_batch_messages(1000);
    let chunked = sock.batch(GENL_ID_CTRL, &msgs).unwrap();
    assert_eq!(whole, chunked);
    let outcomes = whole;
    assert_eq!(outcomes.len(), 5000);
    for (i, outcome) in outcomes.iter().enumerate() {
        let expected = if good.contains(&i) {
            None
        } else {
            Some(Errno::ENOENT)
        };
        assert_eq!(*outcome, expected, "request {i}");
    }
    // The socket is still in step afterwards.
    assert_eq!(sock.resolve_family("nlctrl").unwrap(), Some(GENL_ID_CTRL));
}

/// The host kernel has no IPVS: opening must say so clearly (after trying modprobe).
/// On a host that does have IPVS, opening must work instead.
#[test]
fn open_reports_missing_ipvs_clearly() {
    match Ipvs::open() {
        Ok(_) => assert!(std::path::Path::new("/proc/net/ip_vs").exists()),
        Err(Error::IpvsMissing) => {
            assert!(!std::path::Path::new("/proc/net/ip_vs").exists());
            assert!(Error::IpvsMissing.to_string().contains("no IPVS"));
        }
        Err(e) => panic!("unexpected error: {e}"),
    }
}
