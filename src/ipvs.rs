//! The typed IPVS client: one socket per process (and per network namespace), the family
//! resolved once, model types in and out.

use std::collections::HashSet;
use std::process::{Command, Stdio};

use nix::errno::Errno;

use crate::error::{Error, Result};
use crate::model::{Destination, Info, Service, ServiceKey, SyncDaemon, Timeouts};
use crate::netlink::DecodeError;
use crate::netlink::attrs::{CmdAttr, IPVS_GENL_NAME, InfoAttr, IpvsCmd};
use crate::netlink::codec::{self, Request, daemon_nest, ipvs_message, key_attr, service_nest};
use crate::netlink::message::{GenlMessage, genl_attrs};
use crate::netlink::nla::RawNla;
use crate::netlink::socket::GenlSocket;

/// How often a service dump that came back inconsistent is taken again.
const DUMP_ATTEMPTS: u32 = 3;

pub struct Ipvs {
    sock: GenlSocket,
    family: u16,
}

impl Ipvs {
    /// Connects to IPVS in the caller's network namespace. When the family is unknown the
    /// module is loaded as ipvsadm does (`modprobe -- ip_vs`) and the lookup tried once more.
    pub fn open() -> Result<Self> {
        let mut sock = GenlSocket::connect()?;
        let family = match sock.resolve_family(IPVS_GENL_NAME)? {
            Some(id) => id,
            None => {
                load_ip_vs_module();
                sock.resolve_family(IPVS_GENL_NAME)?
                    .ok_or(Error::IpvsMissing)?
            }
        };
        Ok(Ipvs { sock, family })
    }

    pub fn info(&mut self) -> Result<Info> {
        let msg = ipvs_message::<CmdAttr>(IpvsCmd::GetInfo, vec![]);
        let replies = self.sock.request::<_, InfoAttr>(self.family, &msg)?;
        let reply = replies.first().ok_or_else(|| no_reply("GET_INFO"))?;
        Ok(codec::parse_info(&reply.attrs)?)
    }

    /// Every service, in the kernel's order.
    ///
    /// On 6.1 a service dump resumes each chunk by position in tables shared by every
    /// namespace, so changes in another namespace during the dump can repeat or skip
    /// entries. A dump that repeats a service is taken again; a skip cannot be seen.
    pub fn services(&mut self) -> Result<Vec<Service>> {
        let msg = ipvs_message::<CmdAttr>(IpvsCmd::GetService, vec![]);
        let mut attempts = 0;
        loop {
            let services = self.sock.dump_payloads(self.family, &msg, |payload| {
                Ok(codec::service_from_reply(genl_attrs(payload)?)?)
            })?;
            attempts += 1;
            let mut seen = HashSet::with_capacity(services.len());
            if services.iter().all(|s| seen.insert(s.key)) || attempts == DUMP_ATTEMPTS {
                return Ok(services);
            }
        }
    }

    /// One service; `Error::Kernel(ESRCH)` when there is none with that key.
    pub fn service(&mut self, key: &ServiceKey) -> Result<Service> {
        let msg = ipvs_message(IpvsCmd::GetService, vec![key_attr(key)]);
        let replies = self.sock.request::<_, CmdAttr>(self.family, &msg)?;
        let reply = replies.first().ok_or_else(|| no_reply("GET_SERVICE"))?;
        let nest = service_nest(&reply.attrs).ok_or_else(|| no_reply("service nest"))?;
        Ok(codec::parse_service(nest)?)
    }

    /// The destinations of a service, newest first as the kernel keeps them. A service
    /// that does not exist has none (the kernel's dump does not fail).
    pub fn dests(&mut self, key: &ServiceKey) -> Result<Vec<Destination>> {
        let msg = ipvs_message(IpvsCmd::GetDest, vec![key_attr(key)]);
        let af = key.af();
        self.sock.dump_payloads(self.family, &msg, |payload| {
            Ok(codec::dest_from_reply(genl_attrs(payload)?, af)?)
        })
    }

    pub fn timeouts(&mut self) -> Result<Timeouts> {
        let msg = ipvs_message::<CmdAttr>(IpvsCmd::GetConfig, vec![]);
        let replies = self.sock.request::<_, CmdAttr>(self.family, &msg)?;
        let reply = replies.first().ok_or_else(|| no_reply("GET_CONFIG"))?;
        Ok(codec::parse_timeouts(&reply.attrs))
    }

    /// The running sync daemons (at most a master and a backup).
    pub fn daemons(&mut self) -> Result<Vec<SyncDaemon>> {
        let msg = ipvs_message::<CmdAttr>(IpvsCmd::GetDaemon, vec![]);
        self.sock.dump(self.family, &msg, |reply| {
            let nest = daemon_nest(&reply.attrs).ok_or_else(|| no_reply("daemon nest"))?;
            Ok(codec::parse_daemon(nest)?)
        })
    }

    /// A dump with every attribute kept as the kernel's bytes, for diagnostics and for
    /// checking the codec against what the kernel really sends.
    pub fn dump_raw(&mut self, msg: &GenlMessage<CmdAttr>) -> Result<Vec<GenlMessage<RawNla>>> {
        self.sock.dump(self.family, msg, Ok)
    }

    /// Applies one change and waits for the kernel's answer.
    pub fn apply(&mut self, request: &Request) -> Result<()> {
        let outcome = self.sock.batch(self.family, &[request.to_message()])?;
        match outcome.first() {
            Some(Some(errno)) => Err(Error::Kernel(*errno)),
            _ => Ok(()),
        }
    }

    /// Caps the requests sent per `sendmsg()` in [`Ipvs::apply_batch`].
    pub fn limit_batch_messages(&mut self, messages: usize) {
        self.sock.limit_batch_messages(messages);
    }

    /// Applies many changes in order, many per `sendmsg()`. Each request is applied on its
    /// own (nothing is rolled back); the outcome of each is returned in order. The outer
    /// error means the outcome of some requests is unknown.
    pub fn apply_batch(&mut self, requests: &[Request]) -> Result<Vec<Result<(), Errno>>> {
        let msgs: Vec<_> = requests.iter().map(Request::to_message).collect();
        let outcomes = self.sock.batch(self.family, &msgs)?;
        Ok(outcomes
            .into_iter()
            .map(|o| o.map_or(Ok(()), Err))
            .collect())
    }
}

fn no_reply(what: &str) -> Error {
    Error::Decode(DecodeError::new(format!(
        "missing {what} in the kernel's reply"
    )))
}

/// What ipvsadm does when the family is missing, to the letter (modprobe's own complaint
/// reaches stderr as with ipvsadm); failure shows in the second lookup.
fn load_ip_vs_module() {
    let _ = Command::new("/sbin/modprobe")
        .args(["--", "ip_vs"])
        .stdin(Stdio::null())
        .status();
}
