//! Netlink message framing: `struct nlmsghdr` plus `struct genlmsghdr`, and the kernel's
//! control messages (`NLMSG_ERROR` acks and errors, `NLMSG_DONE`).

use super::DecodeError;
use super::nla::{self, Nla, ParseNla, TooLarge, align4};

/// Size of `struct nlmsghdr`.
pub const NLMSG_HDRLEN: usize = 16;
/// Size of `struct genlmsghdr`.
pub const GENL_HDRLEN: usize = 4;

pub const NLM_F_REQUEST: u16 = libc::NLM_F_REQUEST as u16;
pub const NLM_F_MULTI: u16 = libc::NLM_F_MULTI as u16;
pub const NLM_F_ACK: u16 = libc::NLM_F_ACK as u16;
pub const NLM_F_DUMP: u16 = libc::NLM_F_DUMP as u16;
pub const NLM_F_DUMP_INTR: u16 = libc::NLM_F_DUMP_INTR as u16;

const NLMSG_NOOP: u16 = libc::NLMSG_NOOP as u16;
const NLMSG_ERROR: u16 = libc::NLMSG_ERROR as u16;
const NLMSG_DONE: u16 = libc::NLMSG_DONE as u16;
const NLMSG_OVERRUN: u16 = libc::NLMSG_OVERRUN as u16;

/// A generic netlink message body: command, version and top-level attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenlMessage<A> {
    pub cmd: u8,
    pub version: u8,
    pub attrs: Vec<A>,
}

impl<A> GenlMessage<A> {
    pub fn new(cmd: u8, version: u8, attrs: Vec<A>) -> Self {
        GenlMessage {
            cmd,
            version,
            attrs,
        }
    }
}

impl<A: Nla> GenlMessage<A> {
    /// Appends one complete netlink message (header included) to `buf`; a message with
    /// an attribute too large for netlink leaves `buf` as it was and is an error.
    pub fn emit(
        &self,
        buf: &mut Vec<u8>,
        family: u16,
        flags: u16,
        seq: u32,
    ) -> Result<(), TooLarge> {
        emit_message(
            buf,
            (family, flags, seq),
            (self.cmd, self.version),
            &self.attrs,
        )
    }
}

/// [`GenlMessage::emit`] of a message given by its parts: netlink family, flags and
/// sequence number; generic netlink command and version; attributes (a slice, so that a
/// caller can keep them on the stack).
pub fn emit_message<A: Nla>(
    buf: &mut Vec<u8>,
    (family, flags, seq): (u16, u16, u32),
    (cmd, version): (u8, u8),
    attrs: &[A],
) -> Result<(), TooLarge> {
    let start = buf.len();
    buf.extend_from_slice(&[0; NLMSG_HDRLEN]);
    buf.extend_from_slice(&[cmd, version, 0, 0]);
    if let Err(e) = nla::emit_all(attrs, buf) {
        buf.truncate(start);
        return Err(e);
    }
    // A message over 4 GiB cannot be sent anyway: sendmsg() refuses it.
    let len = u32::try_from(buf.len() - start).unwrap_or(u32::MAX);
    let header = &mut buf[start..start + NLMSG_HDRLEN];
    header[0..4].copy_from_slice(&len.to_ne_bytes());
    header[4..6].copy_from_slice(&family.to_ne_bytes());
    header[6..8].copy_from_slice(&flags.to_ne_bytes());
    header[8..12].copy_from_slice(&seq.to_ne_bytes());
    // nlmsg_pid 0: the kernel fills in the sender's port id.
    header[12..16].copy_from_slice(&0u32.to_ne_bytes());
    // Attributes are 4-aligned, so the message already is; kept explicit for safety.
    buf.resize(start + align4(buf.len() - start), 0);
    Ok(())
}

impl<A: ParseNla> GenlMessage<A> {
    /// Parses the payload of a netlink message (everything after `struct nlmsghdr`).
    pub fn parse(payload: &[u8]) -> Result<Self, DecodeError> {
        let [cmd, version, ..] = *payload else {
            return Err(DecodeError::new("generic netlink header truncated"));
        };
        Ok(GenlMessage {
            cmd,
            version,
            attrs: nla::parse_all(genl_attrs(payload)?)?,
        })
    }
}

/// The attributes of a generic netlink payload (what follows `struct genlmsghdr`).
pub fn genl_attrs(payload: &[u8]) -> Result<&[u8], DecodeError> {
    payload
        .get(GENL_HDRLEN..)
        .ok_or_else(|| DecodeError::new("generic netlink header truncated"))
}

/// `N` bytes of `buf` from `at`, if it has them.
fn ne_bytes<const N: usize>(buf: &[u8], at: usize) -> Option<[u8; N]> {
    buf.get(at..at.checked_add(N)?)?.try_into().ok()
}

/// One netlink message as read from the socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NlMsg<'a> {
    pub kind: u16,
    pub flags: u16,
    pub seq: u32,
    pub payload: &'a [u8],
}

/// What a received netlink message means to the requester.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply<'a> {
    /// A data message of the family (a GET reply or a dump entry).
    Data(NlMsg<'a>),
    /// `NLMSG_ERROR` with error 0.
    Ack { seq: u32 },
    /// `NLMSG_ERROR` with a negative errno, positive here.
    Error { seq: u32, errno: i32 },
    /// `NLMSG_DONE`: the end of a dump.
    Done { seq: u32, flags: u16 },
    /// `NLMSG_NOOP` or `NLMSG_OVERRUN`: nothing to do.
    Ignored,
}

impl<'a> Reply<'a> {
    pub fn classify(msg: NlMsg<'a>) -> Result<Self, DecodeError> {
        Ok(match msg.kind {
            NLMSG_ERROR => {
                let code = ne_bytes::<4>(msg.payload, 0)
                    .ok_or_else(|| DecodeError::new("NLMSG_ERROR without error code"))?;
                let code = i32::from_ne_bytes(code);
                match code {
                    0 => Reply::Ack { seq: msg.seq },
                    errno => Reply::Error {
                        seq: msg.seq,
                        errno: errno.saturating_neg(),
                    },
                }
            }
            NLMSG_DONE => Reply::Done {
                seq: msg.seq,
                flags: msg.flags,
            },
            NLMSG_NOOP | NLMSG_OVERRUN => Reply::Ignored,
            _ => Reply::Data(msg),
        })
    }
}

/// Walks the netlink messages of one received datagram.
pub struct NlMsgIter<'a> {
    rest: &'a [u8],
}

impl<'a> NlMsgIter<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        NlMsgIter { rest: buf }
    }
}

impl<'a> Iterator for NlMsgIter<'a> {
    type Item = Result<NlMsg<'a>, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let fail = |this: &mut Self, what: String| {
            this.rest = &[];
            Some(Err(DecodeError::new(what)))
        };
        if self.rest.len() < NLMSG_HDRLEN {
            return fail(
                self,
                format!("netlink header truncated ({} bytes)", self.rest.len()),
            );
        }
        let rest = self.rest;
        let field32 = |at| ne_bytes(rest, at).map_or(0, u32::from_ne_bytes);
        let field16 = |at| ne_bytes(rest, at).map_or(0, u16::from_ne_bytes);
        let len = field32(0) as usize;
        let Some(payload) = rest.get(NLMSG_HDRLEN..len) else {
            return fail(self, format!("netlink message length {len} out of bounds"));
        };
        let msg = NlMsg {
            kind: field16(4),
            flags: field16(6),
            seq: field32(8),
            payload,
        };
        self.rest = self.rest.get(align4(len)..).unwrap_or(&[]);
        Some(Ok(msg))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netlink::attrs::CmdAttr;

    #[test]
    fn genl_message_round_trip() {
        let msg = GenlMessage::new(12, 1, vec![CmdAttr::TimeoutTcp(5), CmdAttr::TimeoutUdp(7)]);
        let mut buf = Vec::new();
        msg.emit(&mut buf, 0x1a, NLM_F_REQUEST | NLM_F_ACK, 42)
            .unwrap();
        assert_eq!(buf.len(), 16 + 4 + 8 + 8);
        let mut iter = NlMsgIter::new(&buf);
        let raw = iter.next().unwrap().unwrap();
        assert!(iter.next().is_none());
        assert_eq!(
            (raw.kind, raw.flags, raw.seq),
            (0x1a, NLM_F_REQUEST | NLM_F_ACK, 42)
        );
        assert_eq!(GenlMessage::<CmdAttr>::parse(raw.payload).unwrap(), msg);
    }

    fn control(kind: u16, seq: u32, body: &[u8]) -> Vec<u8> {
        let mut buf = Vec::new();
        buf.extend_from_slice(&((16 + body.len()) as u32).to_ne_bytes());
        buf.extend_from_slice(&kind.to_ne_bytes());
        buf.extend_from_slice(&0u16.to_ne_bytes());
        buf.extend_from_slice(&seq.to_ne_bytes());
        buf.extend_from_slice(&0u32.to_ne_bytes());
        buf.extend_from_slice(body);
        buf
    }

    #[test]
    fn errors_acks_and_done_are_classified() {
        let mut buf = control(NLMSG_ERROR, 3, &(-17i32).to_ne_bytes());
        buf.extend(control(NLMSG_ERROR, 4, &0i32.to_ne_bytes()));
        buf.extend(control(NLMSG_DONE, 5, &0i32.to_ne_bytes()));
        let replies: Vec<_> = NlMsgIter::new(&buf)
            .map(|m| Reply::classify(m.unwrap()).unwrap())
            .collect();
        assert_eq!(
            replies,
            vec![
                Reply::Error { seq: 3, errno: 17 },
                Reply::Ack { seq: 4 },
                Reply::Done { seq: 5, flags: 0 }
            ]
        );
    }

    #[test]
    fn malformed_datagrams_are_errors() {
        let mut bad_len = control(NLMSG_DONE, 1, &[0; 4]);
        bad_len[0] = 200;
        assert!(NlMsgIter::new(&bad_len).next().unwrap().is_err());
        assert!(NlMsgIter::new(&[0u8; 10]).next().unwrap().is_err());
        let mut short_len = control(NLMSG_DONE, 1, &[0; 4]);
        short_len[0] = 15;
        assert!(NlMsgIter::new(&short_len).next().unwrap().is_err());
        assert!(GenlMessage::<CmdAttr>::parse(&[1, 1, 0]).is_err());
        let short_error = control(NLMSG_ERROR, 1, &[0, 0]);
        let msg = NlMsgIter::new(&short_error).next().unwrap().unwrap();
        assert!(Reply::classify(msg).is_err());
        assert!(GenlMessage::<CmdAttr>::parse(&[1, 1]).is_err());
    }
}
