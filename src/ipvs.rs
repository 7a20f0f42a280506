//! The typed IPVS client: one socket per process (and per network namespace), the family
//! resolved once, model types in and out.

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};

use nix::errno::Errno;

use crate::error::{Error, Result};
use crate::listing::{DestDetail, ProcMatcher};
use crate::model::{
    AddressFamily, Counters, Destination, Info, RealServer, Request, Service, ServiceKey, State,
    SyncDaemon, Timeouts, VirtualService,
};
use crate::modrefs::ModuleRefs;
use crate::netlink::DecodeError;
use crate::netlink::attrs::{CmdAttr, IPVS_GENL_NAME, InfoAttr, IpvsCmd};
use crate::netlink::codec::{self, daemon_nest, ipvs_message, key_attr, service_nest};
use crate::netlink::message::{GenlMessage, genl_attrs};
use crate::netlink::nla::RawNla;
use crate::netlink::socket::{EncodedBatch, GenlSocket};
use crate::nfhooks;
use crate::procfs;
use crate::procfs::ServiceTable;
use crate::sockopt::SockoptTable;

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
        dump_services(&mut self.sock, self.family, true, 0)
    }

    /// Every service with its real servers: the table, in the kernel's order.
    pub fn table(&mut self) -> Result<Vec<VirtualService>> {
        self.table_with(DestDetail::Full)
    }

    /// The table, with destinations as detailed as `detail` asks, read the cheapest way
    /// that gives it. Where the listing needs no more than they show, the thread is in
    /// the socket's namespace and the kernel is older than 7.1: the services from one
    /// `getsockopt()` if the kernel shows there is no IPv6 service and no engine in use
    /// (`services_from_sockopt`), else the service dump in the kernel's largest chunks;
    /// the real servers of IPv4 services over `getsockopt()`, those of IPv6 services from
    /// `/proc/net/ip_vs` (`dests_from_proc`). A destination dump for every other service.
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
        let mut listing = self.listing(detail)?;
        for i in 0..listing.services.len() {
            let dests = self.take_dests(&mut listing, i)?;
            listing.services[i].dests = dests;
        }
        Ok(listing.services)
    }

    /// The table's services, with the real servers of each to be taken one service at a
    /// time ([`Ipvs::take_dests`]), so that a listing that prints as it goes never holds
    /// every real server of a large table (as [`Ipvs::table_with`], the same reads).
    ///
    /// The table is read while the kernel is not moving it (7.1+, where
    /// `/proc/net/ip_vs_status` shows it): the read waits up to [`SETTLE_WAIT`] for a
    /// move the services' number calls for, and is made again (up to 3 times) when the
    /// table changed size during it, for a read meanwhile misses or repeats services (a
    /// service missed would make apply add a service that is there, or report one
    /// missing that is not).
    pub fn listing(&mut self, detail: DestDetail) -> Result<Listing> {
        // /proc/thread-self and a raw socket show the thread's namespace, which must be
        // the socket's for either to stand in for netlink.
        let same_netns = self.netns.is_some() && thread_netns() == self.netns;
        if !same_netns {
            return self.listing_once(detail, false, false);
        }
        // Before 7.1 (no status file) one table of a fixed size, and IPVS's older
        // interface may serve: a first version that read the services that way from 7.1
        // listed a real server with port 0 under listing_race (7.2), not yet understood.
        if !std::path::Path::new(ServiceTable::PATH).exists() {
            return self.listing_once(detail, true, true);
        }
        let deadline = std::time::Instant::now() + SETTLE_WAIT;
        for _ in 0..3 {
            let before = loop {
                let table = ServiceTable::read();
                if table.is_none_or(|t| t.settled()) || std::time::Instant::now() >= deadline {
                    break table;
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            };
            let listing = self.listing_once(detail, true, false)?;
            if ServiceTable::read() == before {
                return Ok(listing);
            }
        }
        self.listing_once(detail, true, false)
    }

    /// One read of the table for [`Ipvs::listing`]; `same_netns`: the calling thread is
    /// in the socket's namespace; `older_interface`: `getsockopt()` may serve (the same
    /// namespace, before 7.1).
    fn listing_once(
        &mut self,
        detail: DestDetail,
        same_netns: bool,
        older_interface: bool,
    ) -> Result<Listing> {
        let sockopt = (older_interface && detail != DestDetail::Full)
            .then(SockoptTable::open)
            .and_then(|table| table.ok());
        if let Some(table) = &sockopt
            && let Some((services, counts)) = services_from_sockopt(table)
        {
            return Ok(Listing {
                services,
                sources: counts.into_iter().map(DestSource::Sockopt).collect(),
                sockopt,
                detail,
            });
        }
        // Before the dump, so that the kernel's answer (104 bytes a service) is gone
        // before the services are held.
        let counts = sockopt.as_ref().and_then(dest_counts);
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
        // Room for the IPv4 services counted and a few more; IPv6 ones grow the list.
        let expected = counts.as_ref().map_or(0, |c| c.0.len() + 16);
        // The real servers of a table that is not too large are read on a thread of their
        // own while the kernel builds the dump, as many as it can meanwhile (on 6.1, a
        // third of the time a listing of 10,000 services took).
        let ahead = match (&sockopt, &counts) {
            (Some(table), Some(counts))
                if (READ_AHEAD_FROM..=READ_AHEAD_MAX).contains(&counts.0.len()) =>
            {
                Some((table, counts))
            }
            _ => None,
        };
        let stop = AtomicBool::new(false);
        let (services, read_ahead) = std::thread::scope(|scope| {
            let reader = ahead.map(|(table, counts)| {
                let stop = &stop;
                scope.spawn(move || read_dests_ahead(table, counts, detail, stop))
            });
            let services = dump_services(sock, self.family, detail == DestDetail::Full, expected);
            stop.store(true, Ordering::Relaxed);
            let read_ahead = reader.map(|reader| {
                reader
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            });
            (services, read_ahead.unwrap_or_default())
        });
        let mut services = services?;
        let mut sources = vec![DestSource::Netlink; services.len()];
        if same_netns && detail != DestDetail::Full {
            if let Some(counts) = counts {
                for (vs, source) in services.iter().zip(sources.iter_mut()) {
                    if let Some(count) = counts.get(&vs.service.key) {
                        *source = DestSource::Sockopt(*count);
                    }
                }
            }
            fill_read_ahead(&mut services, &mut sources, read_ahead);
            // /proc only where the linear getsockopt() read cannot serve: IPv6 services
            // (and those it did not read ahead, as far as the read goes).
            if services
                .iter()
                .any(|vs| vs.service.key.af() == AddressFamily::Inet6)
            {
                dests_from_proc(&mut services, &mut sources, detail);
            }
        }
        Ok(Listing {
            services,
            sources,
            sockopt,
            detail,
        })
    }

    /// The real servers of `listing.services[i]` as detailed as the listing asks, in the
    /// kernel's order, the cheapest way there is: from what the proc file gave, one
    /// `getsockopt()` for an IPv4 service whose real servers it can show all of (it
    /// leaves out IPv6 ones and tunnel settings; a count that no longer matches means the
    /// service changed since it was counted), else a destination dump.
    pub fn take_dests(&mut self, listing: &mut Listing, i: usize) -> Result<Vec<RealServer>> {
        let key = listing.services[i].service.key;
        let detail = listing.detail;
        match (listing.sources[i], &listing.sockopt) {
            (DestSource::Filled, _) => return Ok(std::mem::take(&mut listing.services[i].dests)),
            (DestSource::Sockopt(count), Some(table)) => {
                // Only reads short of DestDetail::Full come here: no counters.
                if let Ok(Some(dests)) = table.dests(&key, count, false)
                    && dests.len() == count as usize
                    && detail.shows_dests(&dests)
                {
                    return Ok(dests);
                }
            }
            _ => {}
        }
        let dests = self.real_servers(&key)?;
        Ok(if detail == DestDetail::Full {
            dests
        } else {
            without_counters(dests)
        })
    }

    /// `listing.services[i]` with its real servers ([`Ipvs::take_dests`]), taken out of
    /// the listing (a [`VirtualService::placeholder`] is left in its place).
    pub fn take_service(&mut self, listing: &mut Listing, i: usize) -> Result<VirtualService> {
        let dests = self.take_dests(listing, i)?;
        let key = listing.services[i].service.key;
        let mut vs = std::mem::replace(&mut listing.services[i], VirtualService::placeholder(key));
        vs.dests = dests;
        Ok(vs)
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
        let mut dests = self.sock.dump_payloads(self.family, &msg, |payload| {
            let (dest, observed) = codec::dest_from_reply(genl_attrs(payload)?, af)?;
            Ok(RealServer { dest, observed })
        })?;
        // A large table holds one such list per service.
        dests.shrink_to_fit();
        Ok(dests)
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
        let mut batch = self.encoder().encode(requests);
        self.apply_encoded(&mut batch)
    }

    /// What encodes requests for this socket's family, for a caller that encodes them on
    /// another thread while this one sends.
    pub fn encoder(&self) -> Encoder {
        Encoder {
            family: self.family,
        }
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

/// Encodes requests for [`Ipvs::apply_encoded`] ([`Ipvs::encoder`]).
#[derive(Debug, Clone, Copy)]
pub struct Encoder {
    family: u16,
}

impl Encoder {
    pub fn encode<'a>(&self, requests: impl IntoIterator<Item = &'a Request>) -> EncodedBatch {
        let mut batch = EncodedBatch::new(self.family);
        for request in requests {
            // Refused with EMSGSIZE when sent.
            let _ = batch.push_request(request);
        }
        batch
    }
}

/// How long [`Ipvs::listing`] waits for the kernel to move its table.
pub const SETTLE_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// A table being listed: its services, and where the real servers of each are to come
/// from ([`Ipvs::listing`], [`Ipvs::take_dests`]).
pub struct Listing {
    /// In the kernel's order, without real servers (until taken).
    pub services: Vec<VirtualService>,
    sources: Vec<DestSource>,
    sockopt: Option<SockoptTable>,
    detail: DestDetail,
}

/// Where a listed service's real servers come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DestSource {
    /// Already in the service (from the proc file).
    Filled,
    /// `getsockopt()`, with the number the kernel counted.
    Sockopt(u32),
    Netlink,
}

/// Every service from one `getsockopt()` (linear in the table, where the service dump
/// is quadratic), with how many real servers each has, when that is all of them and all
/// of each: when no IPv6 service can exist (the interface lists IPv4 ones only) and no
/// service has a persistence engine (it leaves engines out), before and after the read.
/// No IPv6 service: ip_vs's references are all accounted for by the IPv4 services read
/// ([`modrefs`], before and after), or else IPVS registered no IPv6 hook ([`nfhooks`],
/// before). `None`: use the dump.
fn services_from_sockopt(table: &SockoptTable) -> Option<(Vec<VirtualService>, Vec<u32>)> {
    if engine_in_use() {
        return None;
    }
    let expected = table.ipv4_services().ok()?;
    let refs = ModuleRefs::read().filter(|refs| refs.only_these_services(u64::from(expected)));
    if refs.is_none() && nfhooks::ipvs_may_have_ipv6_services().unwrap_or(true) {
        return None;
    }
    // Room for services added since the count; more than that: the dump.
    let count = expected.saturating_add(16);
    let mut services = Vec::with_capacity(count as usize);
    let mut counts = Vec::with_capacity(count as usize);
    let all = table
        .each_service(count, false, |ls| {
            services.push(VirtualService {
                service: ls.service,
                observed: ls.observed,
                dests: Vec::new(),
            });
            counts.push(ls.num_dests);
        })
        .ok()?;
    if let Some(before) = refs
        && (ModuleRefs::read().as_ref() != Some(&before)
            || !before.only_these_services(services.len() as u64))
    {
        return None;
    }
    // A service takes its engine's module before it is in the table and lets go after it
    // left: unused now, none had one during the read (but one added and deleted since).
    (all && !engine_in_use()).then_some((services, counts))
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

/// How many real servers each IPv4 service has, from one `getsockopt()`, sorted by key
/// (see [`DestCounts::get`]).
fn dest_counts(table: &SockoptTable) -> Option<DestCounts> {
    let count = table.ipv4_services().ok()?.saturating_add(16);
    let mut counts = Vec::with_capacity(count as usize);
    let all = table
        .each_service(count, false, |ls| {
            counts.push((ls.service.key, ls.num_dests));
        })
        .ok()?;
    counts.sort_unstable_by_key(|&(key, _)| key);
    all.then_some(DestCounts(counts))
}

/// Real servers per service key: a sorted list, held beside the service dump while it
/// is read (28 bytes a service, where a hash map took 38).
struct DestCounts(Vec<(ServiceKey, u32)>);

/// Tables of up to this many IPv4 services have the real servers of their services read
/// while the service dump is built ([`read_dests_ahead`]): larger ones spend most of
/// their listing in the dump (whose cost grows with services²), which the reads slow
/// down as much as they save (30,000 x 1 on 6.1: 1.03 s either way), and apply's read
/// back of 100,000 services has no room for them.
const READ_AHEAD_MAX: usize = 16384;

/// Real servers read ahead at most, held until taken (64 bytes each).
const READ_AHEAD_DESTS: usize = 65536;

/// Tables with fewer IPv4 services are listed without reading ahead: a thread costs
/// more than it saves there.
const READ_AHEAD_FROM: usize = 256;

/// The real servers of the `counts` services over `getsockopt()`, in the order of their
/// keys, until `stop` (or [`READ_AHEAD_DESTS`]): those that show all `detail` asks and
/// as many as counted (the others are read again when taken).
fn read_dests_ahead(
    table: &SockoptTable,
    counts: &DestCounts,
    detail: DestDetail,
    stop: &AtomicBool,
) -> Vec<(ServiceKey, Vec<RealServer>)> {
    let mut read = Vec::new();
    let mut held = 0;
    for &(key, count) in &counts.0 {
        if stop.load(Ordering::Relaxed) || held >= READ_AHEAD_DESTS {
            break;
        }
        if let Ok(Some(dests)) = table.dests(&key, count, false)
            && dests.len() == count as usize
            && detail.shows_dests(&dests)
        {
            held += dests.len();
            read.push((key, dests));
        }
    }
    read
}

/// Puts real servers read ahead (sorted by key) into their services, where the number
/// counted for the service is theirs.
fn fill_read_ahead(
    services: &mut [VirtualService],
    sources: &mut [DestSource],
    mut read_ahead: Vec<(ServiceKey, Vec<RealServer>)>,
) {
    if read_ahead.is_empty() {
        return;
    }
    for (vs, source) in services.iter_mut().zip(sources.iter_mut()) {
        let DestSource::Sockopt(count) = *source else {
            continue;
        };
        if let Ok(at) = read_ahead.binary_search_by_key(&vs.service.key, |(key, _)| *key)
            && read_ahead[at].1.len() == count as usize
        {
            vs.dests = std::mem::take(&mut read_ahead[at].1);
            *source = DestSource::Filled;
        }
    }
}

impl DestCounts {
    fn get(&self, key: &ServiceKey) -> Option<&u32> {
        let at = self.0.binary_search_by_key(key, |&(key, _)| key).ok()?;
        Some(&self.0[at].1)
    }
}

/// Fills destinations from `/proc/net/ip_vs` as far as it shows them as `detail` asks,
/// marking those services' `sources` filled.
fn dests_from_proc(
    services: &mut [VirtualService],
    sources: &mut [DestSource],
    detail: DestDetail,
) {
    let mut matcher = ProcMatcher::new(services, detail);
    // Those read ahead stay as they are.
    for (i, source) in sources.iter().enumerate() {
        if *source == DestSource::Filled {
            matcher.keep(i);
        }
    }
    let mut budget = PROC_READ_BUDGET;
    let read = procfs::each_service(|record| {
        // The record's bytes, roughly: a service line and a line per destination.
        let bytes = 40 + 60 * record.dests.len();
        matcher.take(record);
        budget = budget.saturating_sub(bytes);
        budget > 0
    });
    // No procfs in this namespace, or a format of another kernel: the others as they
    // would have been (what was filled is read again).
    if read.is_ok() {
        for i in matcher.filled() {
            sources[i] = DestSource::Filled;
        }
    }
}

/// Every service of a dump on `sock`, each once (see [`Ipvs::listed_services`]), with
/// their counters if `counters`; `expected`: how many there are thought to be.
fn dump_services(
    sock: &mut GenlSocket,
    family: u16,
    counters: bool,
    expected: usize,
) -> Result<Vec<VirtualService>> {
    let msg = ipvs_message::<CmdAttr>(IpvsCmd::GetService, vec![]);
    let mut services = sock.dump_payloads_expecting(family, &msg, expected, |payload| {
        let (service, mut observed) = codec::service_from_reply(genl_attrs(payload)?)?;
        if !counters {
            // Let go at once, so that the next service's allocation reuses it.
            observed.stats = Counters::default();
        }
        Ok(VirtualService {
            service,
            observed,
            dests: Vec::new(),
        })
    })?;
    drop_repeated(&mut services);
    services.shrink_to_fit();
    Ok(services)
}

/// Keeps the first of services listed more than once. By sorting indexes rather than
/// hashing keys: a large table's set of keys took megabytes.
fn drop_repeated(services: &mut Vec<VirtualService>) {
    let mut order: Vec<usize> = (0..services.len()).collect();
    // Equal keys end up side by side, the first listed first.
    order.sort_unstable_by_key(|&i| (services[i].service.key, i));
    let mut repeated = vec![false; services.len()];
    for pair in order.windows(2) {
        let (first, next) = (pair[0], pair[1]);
        if services[first].service.key == services[next].service.key {
            repeated[next] = true;
        }
    }
    if repeated.contains(&true) {
        let mut index = 0;
        services.retain(|_| {
            index += 1;
            !repeated[index - 1]
        });
    }
}

/// Real servers without their counters: no read short of DestDetail::Full shows them,
/// and a large table holds many (see [`Counters`]).
fn without_counters(mut dests: Vec<RealServer>) -> Vec<RealServer> {
    for rs in &mut dests {
        rs.observed.stats = Counters::default();
    }
    dests
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Service;

    fn listed(port: u16, scheduler: &str) -> VirtualService {
        let key = ServiceKey::tcp("10.0.0.1".parse().unwrap(), port);
        VirtualService::new(Service::new(key, scheduler))
    }

    #[test]
    fn repeated_services_keep_their_first_listing_in_order() {
        let mut services = vec![
            listed(3, "rr"),
            listed(1, "rr"),
            listed(3, "wlc"),
            listed(2, "rr"),
            listed(1, "sh"),
        ];
        drop_repeated(&mut services);
        let kept: Vec<_> = services
            .iter()
            .map(|vs| (vs.service.key, vs.service.scheduler.as_str()))
            .collect();
        assert_eq!(
            kept,
            [
                (listed(3, "").service.key, "rr"),
                (listed(1, "").service.key, "rr"),
                (listed(2, "").service.key, "rr"),
            ]
        );
        let mut none: Vec<VirtualService> = Vec::new();
        drop_repeated(&mut none);
        assert!(none.is_empty());
    }
}
