//! The netlink reply decoders: each reply kind alone (its attribute bytes, what follows
//! `struct genlmsghdr`), and whole datagrams of messages as the socket reads them.
//!
//! Beyond "no panic": the streaming decoders `ipvs.rs` uses for dumps agree with the
//! collecting ones, and what decodes encodes back to what decodes the same.

use crate::model::{AddressFamily, Request, Service};
use crate::netlink::DecodeError;
use crate::netlink::attrs::{CmdAttr, InfoAttr, IpvsCmd};
use crate::netlink::codec::{self, daemon_nest, dest_nest, service_nest};
use crate::netlink::message::{GenlMessage, NlMsgIter, Reply, genl_attrs};
use crate::netlink::nla::{self, RawNla};

/// A service reply (`GET_SERVICE`, one dump entry).
pub fn service_reply(data: &[u8]) {
    let streamed = codec::service_from_reply(data);
    let Ok(attrs) = nla::parse_all::<CmdAttr>(data) else {
        return;
    };
    let Some(nest) = service_nest(&attrs) else {
        assert!(streamed.is_err(), "a service without a service nest");
        return;
    };
    let collected = codec::parse_service(nest);
    assert_eq!(
        streamed, collected,
        "streamed and collected decoders differ"
    );
    if let Ok((service, _)) = collected {
        let again = codec::parse_service(&codec::service_attrs(&service))
            .unwrap_or_else(|e| panic!("{service:?} encodes into what does not decode: {e}"));
        assert_eq!(again.0, service, "encoded and decoded again");
        emit_requests(&service);
    }
}

/// The requests a decoded service can be the subject of encode (or are refused as too
/// large for netlink), whatever its contents.
fn emit_requests(service: &Service) {
    let mut buf = Vec::new();
    for request in [
        Request::AddService(service.clone()),
        Request::EditService(service.clone()),
    ] {
        let before = buf.len();
        if request.to_message().emit(&mut buf, 0x20, 0, 1).is_err() {
            assert_eq!(buf.len(), before, "a refused message leaves nothing behind");
        }
    }
}

/// A destination reply (one `GET_DEST` dump entry); the first byte picks the family of
/// the service it belongs to (even IPv4, odd IPv6).
pub fn dest_reply(data: &[u8]) {
    let Some((&family, data)) = data.split_first() else {
        return;
    };
    let af = if family % 2 == 0 {
        AddressFamily::Inet
    } else {
        AddressFamily::Inet6
    };
    let streamed = codec::dest_from_reply(data, af);
    let Ok(attrs) = nla::parse_all::<CmdAttr>(data) else {
        return;
    };
    let Some(nest) = dest_nest(&attrs) else {
        assert!(
            streamed.is_err(),
            "a destination without a destination nest"
        );
        return;
    };
    let collected = codec::parse_dest(nest, af);
    assert_eq!(
        streamed, collected,
        "streamed and collected decoders differ"
    );
    if let Ok((dest, _)) = collected {
        let again = codec::parse_dest(&codec::dest_attrs(&dest), af)
            .unwrap_or_else(|e| panic!("{dest:?} encodes into what does not decode: {e}"));
        assert_eq!(again.0, dest, "encoded and decoded again");
    }
}

/// A sync daemon reply (one `GET_DAEMON` dump entry).
pub fn daemon_reply(data: &[u8]) {
    let Ok(attrs) = nla::parse_all::<CmdAttr>(data) else {
        return;
    };
    let Some(nest) = daemon_nest(&attrs) else {
        return;
    };
    if let Ok(daemon) = codec::parse_daemon(nest) {
        let again = codec::parse_daemon(&codec::daemon_attrs(&daemon))
            .unwrap_or_else(|e| panic!("{daemon:?} encodes into what does not decode: {e}"));
        assert_eq!(again, daemon, "encoded and decoded again");
        let mut buf = Vec::new();
        let _ = Request::StartDaemon(daemon)
            .to_message()
            .emit(&mut buf, 0x20, 0, 1);
    }
}

/// The `GET_INFO` reply.
pub fn info_reply(data: &[u8]) {
    if let Ok(attrs) = nla::parse_all::<InfoAttr>(data)
        && let Ok(info) = codec::parse_info(&attrs)
    {
        let _ = info.version_string();
    }
}

/// The `GET_CONFIG` reply (the timeouts).
pub fn config_reply(data: &[u8]) {
    let Ok(attrs) = nla::parse_all::<CmdAttr>(data) else {
        return;
    };
    let timeouts = codec::parse_timeouts(&attrs);
    let message = Request::SetTimeouts(timeouts).to_message();
    assert_eq!(codec::parse_timeouts(&message.attrs), timeouts);
}

/// A datagram as the socket receives it: netlink messages back to back, with any
/// lengths, truncated anywhere. Each is classified as the socket does; a data message
/// is decoded by its command as `ipvs.rs` decodes that command's replies, and re-framed
/// with its attributes kept as bytes, it reads back the same.
pub fn dump_stream(data: &[u8]) {
    for raw in NlMsgIter::new(data) {
        let Ok(raw) = raw else {
            break;
        };
        let Ok(Reply::Data(msg)) = Reply::classify(raw) else {
            continue;
        };
        let _ = decode_by_command(msg.payload);
        if let Ok(kept) = GenlMessage::<RawNla>::parse(msg.payload) {
            let mut buf = Vec::new();
            kept.emit(&mut buf, raw.kind, raw.flags, raw.seq)
                .expect("attributes read from a message fit one");
            let mut again = NlMsgIter::new(&buf);
            let reread = again.next().expect("one message").expect("well framed");
            assert!(again.next().is_none(), "exactly one message");
            assert_eq!(
                (reread.kind, reread.flags, reread.seq),
                (raw.kind, raw.flags, raw.seq)
            );
            assert_eq!(GenlMessage::<RawNla>::parse(reread.payload), Ok(kept));
        }
    }
}

fn decode_by_command(payload: &[u8]) -> Result<(), DecodeError> {
    let Some(&cmd) = payload.first() else {
        return Err(DecodeError::new("empty"));
    };
    match IpvsCmd::try_from(cmd)? {
        IpvsCmd::NewService | IpvsCmd::GetService => {
            codec::service_from_reply(genl_attrs(payload)?)?;
        }
        IpvsCmd::NewDest | IpvsCmd::GetDest => {
            codec::dest_from_reply(genl_attrs(payload)?, AddressFamily::Inet6)?;
        }
        IpvsCmd::NewDaemon | IpvsCmd::GetDaemon => {
            let reply = GenlMessage::<CmdAttr>::parse(payload)?;
            if let Some(nest) = daemon_nest(&reply.attrs) {
                codec::parse_daemon(nest)?;
            }
        }
        IpvsCmd::GetConfig | IpvsCmd::SetConfig => {
            codec::parse_timeouts(&GenlMessage::<CmdAttr>::parse(payload)?.attrs);
        }
        IpvsCmd::GetInfo | IpvsCmd::SetInfo => {
            codec::parse_info(&GenlMessage::<InfoAttr>::parse(payload)?.attrs)?;
        }
        _ => {
            GenlMessage::<CmdAttr>::parse(payload)?;
        }
    }
    Ok(())
}
