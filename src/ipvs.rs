//! The typed IPVS client: one socket per process (and per network namespace), the family
//! resolved once, model types in and out.

use std::collections::{HashMap, HashSet};
use std::process::{Command, Stdio};

use nix::errno::Errno;

use crate::error::{Error, Result};
use crate::listing::{DestDetail, ProcMatcher};
use crate::model::{
    AddressFamily, Destination, Info, RealServer, Request, Service, ServiceKey, State, SyncDaemon,
    Timeouts, VirtualService,
};
use crate::netlink::DecodeError;
use crate::netlink::attrs::{CmdAttr, IPVS_GENL_NAME, InfoAttr, IpvsCmd};
use crate::netlink::codec::{self, daemon_nest, ipvs_message, key_attr, service_nest};
use crate::netlink::message::{GenlMessage, genl_attrs};
use crate::netlink::nla::RawNla;
use crate::netlink::socket::{EncodedBatch, GenlSocket};
use crate::nfhooks;
use crate::procfs;
use crate::sockopt::{ListedService, SockoptTable};

pub struct Ipvs {
    sock: GenlSocket,
    family: u16,
    /// The network namespace the socket was opened in, if procfs shows it.
    netns: Option<(u64, u64)>,
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
        Ok(Ipvs {
            sock,
            family,
            netns: thread_netns(),
        })
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
        dump_services(&mut self.sock, self.family)
    }

    /// Every service with its real servers: the table, in the kernel's order.
    pub fn table(&mut self) -> Result<Vec<VirtualService>> {
        self.table_with(DestDetail::Full)
    }

    /// The table, with destinations as detailed as `detail` asks, read the cheapest way
    /// that gives it: the service dump in the kernel's largest chunks (the authority on
    /// which services exist), then, where the listing needs no more than they show and
    /// the thread is in the socket's namespace, the real servers of IPv4 services over
    /// `getsockopt()` (`dests_from_sockopt`; before 7.1), those of IPv6 services
    /// from `/proc/net/ip_vs` (`dests_from_proc`), and a destination dump for
    /// every other service.
    ///
    /// Why, measured in the VM (Debian 6.1 under emulation on a loaded host, 2026-11-26):
    /// the kernel walks its table from the start for every service-dump chunk and for
    /// every `read()` of the proc file (a page at most), so both are quadratic. At
    /// 100,000 services x 2 the service dump alone took 27-28 s in 32 KiB chunks (about
    /// 100 services each; 4 KiB chunks made it 105 s), the whole proc file 60-65 s, the
    /// probe's listing 30-33 s; getsockopt() read every real server of that table in
    /// 1.4-9 s. The proc file pays only for its first few megabytes (30,000 x 1, 2.7 MB:
    /// 0.4-2.8 s against 4-5 s of destination dumps). Destination dumps cannot be
    /// pipelined many per `sendmsg()`: an IPVS dump with entries sends its NLMSG_DONE in
    /// a second chunk, built only inside the next `recvmsg()`, so every dump after it in
    /// the batch is refused with EBUSY (seen on 6.1: each dump read as a 356-byte chunk,
    /// then a 20-byte DONE).
    pub fn table_with(&mut self, detail: DestDetail) -> Result<Vec<VirtualService>> {
        // /proc/thread-self and a raw socket show the thread's namespace, which must be
        // the socket's for either to stand in for netlink.
        let same_netns = self.netns.is_some() && thread_netns() == self.netns;
        // Not from 7.1 (it has /proc/net/ip_vs_status): a first version that read the
        // services this way there listed a real server with port 0 under listing_race
        // (7.2), not yet understood; before 7.1 every kernel test passes.
        let sockopt = (same_netns
            && detail != DestDetail::Full
            && !std::path::Path::new("/proc/thread-self/net/ip_vs_status").exists())
        .then(SockoptTable::open)
        .and_then(|table| table.ok());
        if let Some(table) = &sockopt
            && let Some(listed) = services_from_sockopt(table)
        {
            let counts: Vec<Option<u32>> = listed.iter().map(|ls| Some(ls.num_dests)).collect();
            let mut services: Vec<VirtualService> = listed
                .into_iter()
                .map(|ls| VirtualService {
                    service: ls.service,
                    observed: ls.observed,
                    dests: Vec::new(),
                })
                .collect();
            let candidates = (0..services.len()).collect();
            let unfilled = dests_from_sockopt(table, &mut services, detail, candidates, &counts);
            for i in unfilled {
                services[i].dests = self.real_servers(&services[i].service.key)?;
            }
            return Ok(services);
        }
        // In the largest chunks the kernel builds: it walks its table from the start for
        // every chunk (before 7.1 the table of every namespace), so the number of chunks
        // is what a large table's dump costs. On a socket of its own when it surely is in
        // the same namespace, so that this one's destination dumps keep their one-page
        // chunks (see `initial_recv_len` in the socket: a 32 KiB allocation for each of
        // their two chunks costs more).
        let mut own;
        let sock = if same_netns {
            own = GenlSocket::connect()?;
            &mut own
        } else {
            &mut self.sock
        };
        sock.prime_large_chunks()?;
        let mut services = dump_services(sock, self.family)?;
        let mut unfilled: Vec<usize> = (0..services.len()).collect();
        if same_netns && detail != DestDetail::Full {
            // /proc only where the linear getsockopt() read cannot serve: IPv6 services.
            if services
                .iter()
                .any(|vs| vs.service.key.af() == AddressFamily::Inet6)
            {
                unfilled = dests_from_proc(&mut services, detail);
            }
            if let Some(table) = &sockopt
                && let Some(counts) = dest_counts(table, &services)
            {
                unfilled = dests_from_sockopt(table, &mut services, detail, unfilled, &counts);
            }
        }
        for i in unfilled {
            services[i].dests = self.real_servers(&services[i].service.key)?;
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

/// Every service from one `getsockopt()` (linear in the table, where the service dump
/// is quadratic), when that is all of them and all of each: when no IPv6 service can
/// exist ([`nfhooks`]: the interface lists IPv4 ones only) and no service has a
/// persistence engine (it leaves engines out), before and after the read. `None`: use
/// the dump.
fn services_from_sockopt(table: &SockoptTable) -> Option<Vec<ListedService>> {
    if engine_in_use() || nfhooks::ipvs_may_have_ipv6_services().unwrap_or(true) {
        return None;
    }
    // Room for services added since the count; more than that: the dump.
    let count = table.ipv4_services().ok()?;
    let listed = table.services(count.saturating_add(16)).ok().flatten()?;
    // A service takes its engine's module before it is in the table and lets go after it
    // left: unused now, none had one during the read (but one added and deleted since).
    (!engine_in_use()).then_some(listed)
}

/// Whether a service may have a persistence engine: not when IPVS is a loadable module
/// and the only engine there is, `ip_vs_pe_sip`, is not loaded or not used (each
/// service with the engine, and each connection it made, holds a reference to its module).
fn engine_in_use() -> bool {
    use std::path::Path;
    if !Path::new("/sys/module/ip_vs/initstate").exists() {
        // Built in: so may the engine be, and nothing counts its users.
        return true;
    }
    match std::fs::read_to_string("/sys/module/ip_vs_pe_sip/refcnt") {
        Ok(count) => count.trim() != "0",
        Err(_) => Path::new("/sys/module/ip_vs_pe_sip").exists(),
    }
}

/// How many real servers each of `services` has, from one `getsockopt()`; `None` for an
/// IPv6 service or one that is gone.
fn dest_counts(table: &SockoptTable, services: &[VirtualService]) -> Option<Vec<Option<u32>>> {
    let count = table.ipv4_services().ok()?;
    let listed = table.services(count.saturating_add(16)).ok().flatten()?;
    let counts: HashMap<ServiceKey, u32> = listed
        .into_iter()
        .map(|ls| (ls.service.key, ls.num_dests))
        .collect();
    Some(
        services
            .iter()
            .map(|vs| counts.get(&vs.service.key).copied())
            .collect(),
    )
}

/// Fills the destinations of the IPv4 services among `candidates` from IPVS's
/// `getsockopt()` interface (one call each, linear in the table: [`crate::sockopt`])
/// where it gives all `detail` asks; `counts`: each service's real servers as the
/// interface counted them. Returns the candidates still to be dumped: IPv6 services,
/// services with IPv6 real servers (the call leaves those out), tunnelled ones where
/// their settings are asked, and any that changed since they were counted (real servers
/// added beyond the count, or the service gone).
fn dests_from_sockopt(
    table: &SockoptTable,
    services: &mut [VirtualService],
    detail: DestDetail,
    candidates: Vec<usize>,
    counts: &[Option<u32>],
) -> Vec<usize> {
    let mut rest = Vec::new();
    for i in candidates {
        let vs = &mut services[i];
        let key = vs.service.key;
        let filled = key.af() == AddressFamily::Inet
            && counts[i].is_some_and(|count| match table.dests(&key, count) {
                Ok(Some(dests)) if dests.len() == count as usize && detail.shows_dests(&dests) => {
                    vs.dests = dests;
                    true
                }
                _ => false,
            });
        if !filled {
            rest.push(i);
        }
    }
    rest
}

/// Fills destinations from `/proc/net/ip_vs` as far as it shows them as `detail` asks;
/// returns the services whose destinations are still to be dumped.
fn dests_from_proc(services: &mut [VirtualService], detail: DestDetail) -> Vec<usize> {
    let all = (0..services.len()).collect();
    let mut matcher = ProcMatcher::new(services, detail);
    let mut budget = PROC_READ_BUDGET;
    let read = procfs::each_service(|record| {
        // The record's bytes, roughly: a service line and a line per destination.
        let bytes = 40 + 60 * record.dests.len();
        matcher.take(record);
        budget = budget.saturating_sub(bytes);
        budget > 0
    });
    match read {
        Ok(_) => matcher.unfilled(),
        // No procfs in this namespace, or a format of another kernel: all over netlink
        // (what was filled is dumped again).
        Err(_) => all,
    }
}

/// Every service of a dump on `sock`, each once (see [`Ipvs::listed_services`]).
fn dump_services(sock: &mut GenlSocket, family: u16) -> Result<Vec<VirtualService>> {
    let msg = ipvs_message::<CmdAttr>(IpvsCmd::GetService, vec![]);
    let mut services = sock.dump_payloads(family, &msg, |payload| {
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

/// How much of `/proc/net/ip_vs` a listing reads at most, in bytes; the destinations of
/// services past that are dumped. The kernel hands the file out at most a page per
/// `read()` and walks its table from the start for each (quadratic: 100,000 services x 2
/// destinations took 60 s to read, more than their destination dumps), while a
/// destination dump costs about the same for every service. Reading a record at byte B
/// costs about B / 4096 table steps per page, so past some B the dump is cheaper: in the
/// VM (6.1, emulated) the whole file of 30,000 x 1 (2.7 MB) took 0.5-2 s against 4-5 s
/// of dumps, and of 60,000 x 1 (5.4 MB) 9 s against 10 s of dumps.
const PROC_READ_BUDGET: usize = 3 << 20;

/// The calling thread's network namespace (device and inode of its nsfs file).
fn thread_netns() -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let ns = std::fs::metadata("/proc/thread-self/ns/net").ok()?;
    Some((ns.dev(), ns.ino()))
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
