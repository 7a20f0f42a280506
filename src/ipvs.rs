//! The typed IPVS client: one socket per process (and per network namespace), the family
//! resolved once, model types in and out.

use std::collections::HashSet;
use std::process::{Command, Stdio};

use nix::errno::Errno;

use crate::error::{Error, Result};
use crate::model::{
    Destination, Info, RealServer, Request, Service, ServiceKey, State, SyncDaemon, Timeouts,
    VirtualService,
};
use crate::netlink::DecodeError;
use crate::netlink::attrs::{CmdAttr, IPVS_GENL_NAME, InfoAttr, IpvsCmd};
use crate::netlink::codec::{self, daemon_nest, ipvs_message, key_attr, service_nest};
use crate::netlink::message::{GenlMessage, genl_attrs};
use crate::netlink::nla::RawNla;
use crate::netlink::socket::{EncodedBatch, GenlSocket};

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

    /// Every service's configuration, in the kernel's order, each once.
    pub fn services(&mut self) -> Result<Vec<Service>> {
        Ok(self
            .listed_services()?
            .into_iter()
            .map(|vs| vs.service)
            .collect())
    }

    /// Every service with what the kernel observed of it, in the kernel's order, each
    /// once, without destinations ([`Ipvs::table`] reads those too).
    ///
    /// Before 7.1 a service dump resumes each chunk by position in tables shared by every
    /// namespace: a service added in another namespace during the dump shifts the
    /// positions, and the kernel sends a service again. Only the first copy is kept.
    /// (A service deleted elsewhere can make a dump skip one; nothing shows that.)
    pub fn listed_services(&mut self) -> Result<Vec<VirtualService>> {
        let msg = ipvs_message::<CmdAttr>(IpvsCmd::GetService, vec![]);
        let mut services = self.sock.dump_payloads(self.family, &msg, |payload| {
            let (service, observed) = codec::service_from_reply(genl_attrs(payload)?)?;
            Ok(VirtualService {
                service,
                observed,
                dests: Vec::new(),
            })
        })?;
        let mut seen = HashSet::with_capacity(services.len());
        services.retain(|vs| seen.insert(vs.service.key));
        Ok(services)
    }

    /// Every service with its real servers: the table, in the kernel's order.
    pub fn table(&mut self) -> Result<Vec<VirtualService>> {
        let mut services = self.listed_services()?;
        for vs in &mut services {
            vs.dests = self.real_servers(&vs.service.key)?;
        }
        Ok(services)
    }

    /// Everything: the table, the timeouts, the sync daemons and the IPVS info.
    pub fn state(&mut self) -> Result<State> {
        Ok(State {
            services: self.table()?,
            timeouts: Some(self.timeouts()?),
            daemons: Some(self.daemons()?),
            info: Some(self.info()?),
        })
    }

    /// One service's configuration; `Error::Kernel(ESRCH)` when there is none with that key.
    pub fn service(&mut self, key: &ServiceKey) -> Result<Service> {
        Ok(self.listed_service(key)?.service)
    }

    /// One service with what the kernel observed of it, without destinations.
    pub fn listed_service(&mut self, key: &ServiceKey) -> Result<VirtualService> {
        let msg = ipvs_message(IpvsCmd::GetService, vec![key_attr(key)]);
        let replies = self.sock.request::<_, CmdAttr>(self.family, &msg)?;
        let reply = replies.first().ok_or_else(|| no_reply("GET_SERVICE"))?;
        let nest = service_nest(&reply.attrs).ok_or_else(|| no_reply("service nest"))?;
        let (service, observed) = codec::parse_service(nest)?;
        Ok(VirtualService {
            service,
            observed,
            dests: Vec::new(),
        })
    }

    /// One service with its real servers; `Error::Kernel(ESRCH)` when there is none.
    pub fn virtual_service(&mut self, key: &ServiceKey) -> Result<VirtualService> {
        let mut vs = self.listed_service(key)?;
        vs.dests = self.real_servers(key)?;
        Ok(vs)
    }

    /// The destinations' configurations of a service, newest first as the kernel keeps
    /// them. A service that does not exist has none (the kernel's dump does not fail).
    pub fn dests(&mut self, key: &ServiceKey) -> Result<Vec<Destination>> {
        Ok(self
            .real_servers(key)?
            .into_iter()
            .map(|rs| rs.dest)
            .collect())
    }

    /// The real servers of a service with what the kernel observed of each, newest first.
    pub fn real_servers(&mut self, key: &ServiceKey) -> Result<Vec<RealServer>> {
        let msg = ipvs_message(IpvsCmd::GetDest, vec![key_attr(key)]);
        let af = key.af();
        self.sock.dump_payloads(self.family, &msg, |payload| {
            let (dest, observed) = codec::dest_from_reply(genl_attrs(payload)?, af)?;
            Ok(RealServer { dest, observed })
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
        let mut batch = EncodedBatch::new(self.family);
        // One that netlink cannot carry is a typed error here (in a batch, an EMSGSIZE).
        batch.push(&request.to_message())?;
        let outcome = self.sock.send_batch(&mut batch)?;
        match outcome.first() {
            Some(Some(errno)) => Err(Error::Kernel(*errno)),
            _ => Ok(()),
        }
    }

    /// The length offered to each receive (see [`GenlSocket::set_recv_len`]): replies
    /// larger than it are read all the same.
    pub fn set_recv_len(&mut self, len: usize) {
        self.sock.set_recv_len(len);
    }

    /// Shrinks the socket's receive buffer without shrinking batches, so that replies
    /// can be lost (see [`GenlSocket::set_receive_buffer`]). For fault tests.
    pub fn set_receive_buffer(&mut self, bytes: usize) -> Result<()> {
        Ok(self.sock.set_receive_buffer(bytes)?)
    }

    /// The length offered to each receive now.
    pub fn recv_len(&self) -> usize {
        self.sock.recv_len()
    }

    /// Caps the requests sent per `sendmsg()` in [`Ipvs::apply_batch`].
    pub fn limit_batch_messages(&mut self, messages: usize) {
        self.sock.limit_batch_messages(messages);
    }

    /// Applies many changes in order, many per `sendmsg()`. Each request is applied on its
    /// own (nothing is rolled back); the outcome of each is returned in order (EMSGSIZE
    /// for one netlink cannot carry, which is not sent). The outer error means the
    /// outcome of some requests is unknown.
    pub fn apply_batch<'a>(
        &mut self,
        requests: impl IntoIterator<Item = &'a Request>,
    ) -> Result<Vec<Result<(), Errno>>> {
        let mut batch = self.encode(requests);
        self.apply_encoded(&mut batch)
    }

    /// Requests encoded for [`Ipvs::apply_encoded`], for a caller that encodes them while
    /// it does something else.
    pub fn encode<'a>(&self, requests: impl IntoIterator<Item = &'a Request>) -> EncodedBatch {
        let mut batch = EncodedBatch::new(self.family);
        for request in requests {
            // Refused with EMSGSIZE when sent.
            let _ = batch.push_request(request);
        }
        batch
    }

    /// [`Ipvs::apply_batch`] of requests already encoded.
    pub fn apply_encoded(&mut self, batch: &mut EncodedBatch) -> Result<Vec<Result<(), Errno>>> {
        let outcomes = self.sock.send_batch(batch)?;
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
