//! The destinations of a listing taken from `/proc/net/ip_vs` where it shows all the
//! listing needs, checked against the netlink service dump.
//!
//! The service dump is the listing's authority on which services there are and how each
//! is configured; the proc file only stands in for the per-service destination dumps.
//! It may disagree with the dump: another process changed the table in between, or (before
//! Linux 7.1) the file skipped services because other namespaces have some
//! (`procfs::PROC_INFO_READ`). Every service whose record is missing, shown twice,
//! ambiguous (IPv4 and IPv6 fwmark services with one mark look alike there) or not as
//! the dump says (scheduler, persistence, one-packet) keeps its destinations to be dumped
//! over netlink, so a service is never listed twice nor with destinations that are not
//! its own.

use std::collections::HashMap;

use crate::model::{
    DestObserved, Destination, FwdMethod, RealServer, ServiceFlags, ServiceKey, VirtualService,
};
use crate::procfs::{ProcDest, ProcKey, ProcService};

/// What a listing shows of each destination, so that the table is read the cheapest way
/// that gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DestDetail {
    /// Forwarding method, weight and connection counts (`-L` without column options).
    Listed,
    /// Those, and the tunnel settings of tunnelled ones (`-S`).
    Saved,
    /// Everything a rule can set (thresholds and tunnel settings too), for comparing
    /// configurations (apply's verification): not from /proc, which lacks thresholds.
    Configured,
    /// Everything netlink has: thresholds, counters, persistent connections, tunnels.
    Full,
}

/// Where each service of a dump stands while proc records are matched to it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Match {
    Unseen,
    Filled,
    /// Seen twice, or not as the dump says: its destinations come from netlink.
    Refused,
    /// Its destinations come from elsewhere: left as they are.
    Kept,
}

/// Fills the destinations of `services` (a service dump, each key once) from proc
/// records handed one by one to the returned matcher's [`ProcMatcher::take`].
pub struct ProcMatcher<'a> {
    services: &'a mut [VirtualService],
    /// Proc's key of each service; `None` where two services share one.
    index: HashMap<ProcKey, Option<usize>>,
    state: Vec<Match>,
    detail: DestDetail,
}

impl<'a> ProcMatcher<'a> {
    pub fn new(services: &'a mut [VirtualService], detail: DestDetail) -> Self {
        let mut index = HashMap::with_capacity(services.len());
        for (i, vs) in services.iter().enumerate() {
            index
                .entry(proc_key(&vs.service.key))
                .and_modify(|slot| *slot = None)
                .or_insert(Some(i));
        }
        let state = vec![Match::Unseen; services.len()];
        ProcMatcher {
            services,
            index,
            state,
            detail,
        }
    }

    /// Leaves service `i` as it is, whatever the records say (its destinations were
    /// read another way).
    pub fn keep(&mut self, i: usize) {
        self.state[i] = Match::Kept;
    }

    /// Takes one proc record: its destinations become those of the dump's service with
    /// its key if it is the first record of that key and agrees with the dump.
    pub fn take(&mut self, record: ProcService) {
        let Some(&Some(i)) = self.index.get(&record.key) else {
            return; // not in the dump (added since), or ambiguous
        };
        let state = &mut self.state[i];
        if *state == Match::Kept {
            return;
        }
        let vs = &mut self.services[i];
        if *state != Match::Unseen || !agrees(&record, vs) || !self.detail.shows(&record) {
            *state = Match::Refused;
            vs.dests.clear();
            return;
        }
        *state = Match::Filled;
        vs.dests = record.dests.iter().map(real_server).collect();
    }

    /// The services whose destinations are still to be dumped over netlink, in order.
    pub fn unfilled(self) -> Vec<usize> {
        self.in_state(|state| !matches!(state, Match::Filled | Match::Kept))
    }

    /// The services whose destinations the records gave, in order.
    pub fn filled(self) -> Vec<usize> {
        self.in_state(|state| state == Match::Filled)
    }

    fn in_state(self, wanted: impl Fn(Match) -> bool) -> Vec<usize> {
        (0..self.state.len())
            .filter(|&i| wanted(self.state[i]))
            .collect()
    }
}

impl DestDetail {
    /// Whether real servers read over `getsockopt()` (everything but tunnel settings and
    /// 64-bit packet counters) show all this detail asks.
    pub fn shows_dests(self, dests: &[RealServer]) -> bool {
        match self {
            DestDetail::Listed => true,
            DestDetail::Saved | DestDetail::Configured => {
                dests.iter().all(|rs| rs.dest.fwd != FwdMethod::Tunnel)
            }
            DestDetail::Full => false,
        }
    }

    /// Whether proc's record shows all this detail asks of its destinations.
    fn shows(self, record: &ProcService) -> bool {
        match self {
            DestDetail::Listed => true,
            DestDetail::Saved => record.dests.iter().all(|d| d.fwd != FwdMethod::Tunnel),
            DestDetail::Configured | DestDetail::Full => false,
        }
    }
}

/// Whether a proc record and the dump describe the same configuration, as far as the
/// record shows it.
fn agrees(record: &ProcService, vs: &VirtualService) -> bool {
    let svc = &vs.service;
    // The kernel shows `ops` for IPv4 and fwmark services only.
    let shows_ops = match svc.key {
        ServiceKey::Addr { addr, .. } => addr.is_ipv4(),
        ServiceKey::Fwmark { .. } => true,
    };
    record.scheduler == svc.scheduler
        && record.persistent == svc.flags.contains(ServiceFlags::PERSISTENT)
        && (!shows_ops || record.one_packet == svc.flags.contains(ServiceFlags::ONEPACKET))
}

/// How proc names a service: fwmark services without their family.
fn proc_key(key: &ServiceKey) -> ProcKey {
    match *key {
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => ProcKey::Addr {
            protocol,
            addr,
            port,
        },
        ServiceKey::Fwmark { mark, .. } => ProcKey::Fwmark(mark),
    }
}

fn real_server(d: &ProcDest) -> RealServer {
    // Without thresholds and tunnel settings, which proc does not show (and the details
    // it stands in for do not print).
    RealServer {
        dest: Destination::new(d.addr, d.port, d.fwd).weight(d.weight),
        observed: DestObserved {
            active_conns: d.active_conns,
            inact_conns: d.inact_conns,
            ..DestObserved::default()
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AddressFamily, Protocol, Service};

    fn service(key: ServiceKey, scheduler: &str) -> VirtualService {
        VirtualService {
            service: Service::new(key, scheduler),
            observed: Default::default(),
            dests: Vec::new(),
        }
    }

    fn record(key: ProcKey, scheduler: &str, dests: &[&str]) -> ProcService {
        ProcService {
            key,
            scheduler: scheduler.to_string(),
            one_packet: false,
            persistent: false,
            dests: dests
                .iter()
                .map(|addr| ProcDest {
                    addr: addr.parse().unwrap(),
                    port: 80,
                    fwd: FwdMethod::Masq,
                    weight: 1,
                    active_conns: 2,
                    inact_conns: 3,
                })
                .collect(),
        }
    }

    fn tcp(last: u8) -> (ServiceKey, ProcKey) {
        let addr = [10, 0, 0, last].into();
        (
            ServiceKey::tcp(addr, 80),
            ProcKey::Addr {
                protocol: Protocol::Tcp,
                addr,
                port: 80,
            },
        )
    }

    fn addrs(vs: &VirtualService) -> Vec<String> {
        vs.dests.iter().map(|rs| rs.dest.addr.to_string()).collect()
    }

    #[test]
    fn records_that_match_the_dump_fill_it_and_the_rest_is_left_to_netlink() {
        let (k1, p1) = tcp(1);
        let (k2, p2) = tcp(2);
        let (k3, p3) = tcp(3);
        let (_, p4) = tcp(4);
        let mut services = vec![service(k1, "rr"), service(k2, "wlc"), service(k3, "rr")];
        let mut matcher = ProcMatcher::new(&mut services, DestDetail::Listed);
        matcher.take(record(p1, "rr", &["172.16.0.1", "172.16.0.2"]));
        // Service 2 changed since the dump (another scheduler): netlink.
        matcher.take(record(p2, "rr", &["172.16.0.3"]));
        // Service 4 is not in the dump (added since): ignored.
        matcher.take(record(p4, "rr", &["172.16.0.9"]));
        // Service 3 was skipped (the pre-7.1 proc walk): netlink.
        assert_eq!(matcher.unfilled(), vec![1, 2]);
        assert_eq!(addrs(&services[0]), ["172.16.0.1", "172.16.0.2"]);
        assert!(services[1].dests.is_empty() && services[2].dests.is_empty());
        let observed = &services[0].dests[0].observed;
        assert_eq!((observed.active_conns, observed.inact_conns), (2, 3));
        let _ = p3;
    }

    #[test]
    fn a_service_shown_twice_is_left_to_netlink() {
        let (k1, p1) = tcp(1);
        let mut services = vec![service(k1, "rr")];
        let mut matcher = ProcMatcher::new(&mut services, DestDetail::Listed);
        matcher.take(record(p1, "rr", &["172.16.0.1"]));
        matcher.take(record(p1, "rr", &["172.16.0.2"]));
        assert_eq!(matcher.unfilled(), vec![0]);
        assert!(services[0].dests.is_empty());
    }

    #[test]
    fn fwmark_services_of_both_families_with_one_mark_are_left_to_netlink() {
        let v4 = ServiceKey::fwmark(AddressFamily::Inet, 7);
        let v6 = ServiceKey::fwmark(AddressFamily::Inet6, 7);
        let other = ServiceKey::fwmark(AddressFamily::Inet6, 8);
        let mut services = vec![service(v4, "rr"), service(v6, "rr"), service(other, "rr")];
        let mut matcher = ProcMatcher::new(&mut services, DestDetail::Listed);
        matcher.take(record(ProcKey::Fwmark(7), "rr", &["172.16.0.1"]));
        matcher.take(record(ProcKey::Fwmark(7), "rr", &["2001:db8::1"]));
        matcher.take(record(ProcKey::Fwmark(8), "rr", &["2001:db8::2"]));
        assert_eq!(matcher.unfilled(), vec![0, 1]);
        assert_eq!(addrs(&services[2]), ["2001:db8::2"]);
    }

    #[test]
    fn what_proc_does_not_show_is_left_to_netlink() {
        let (k1, p1) = tcp(1);
        let (k2, p2) = tcp(2);
        let mut services = vec![service(k1, "rr"), service(k2, "rr")];
        let mut tunnelled = record(p1, "rr", &["172.16.0.1"]);
        tunnelled.dests[0].fwd = FwdMethod::Tunnel;
        let mut matcher = ProcMatcher::new(&mut services, DestDetail::Saved);
        matcher.take(tunnelled.clone());
        matcher.take(record(p2, "rr", &["172.16.0.2"]));
        assert_eq!(matcher.unfilled(), vec![0]);
        let mut matcher = ProcMatcher::new(&mut services, DestDetail::Full);
        matcher.take(record(p2, "rr", &["172.16.0.2"]));
        assert_eq!(matcher.unfilled(), vec![0, 1]);
        let mut matcher = ProcMatcher::new(&mut services, DestDetail::Listed);
        matcher.take(tunnelled);
        assert_eq!(matcher.unfilled(), vec![1]);
    }

    #[test]
    fn a_kept_service_is_left_as_it_is() {
        let (k1, p1) = tcp(1);
        let (k2, p2) = tcp(2);
        let mut services = vec![service(k1, "rr"), service(k2, "rr")];
        services[0].dests = record(p1, "rr", &["172.16.0.9"])
            .dests
            .iter()
            .map(real_server)
            .collect();
        let mut matcher = ProcMatcher::new(&mut services, DestDetail::Listed);
        matcher.keep(0);
        // Twice: a service seen twice would lose its destinations.
        matcher.take(record(p1, "rr", &["172.16.0.1"]));
        matcher.take(record(p1, "rr", &["172.16.0.1"]));
        matcher.take(record(p2, "rr", &["172.16.0.2"]));
        assert_eq!(matcher.filled(), vec![1]);
        assert_eq!(addrs(&services[0]), ["172.16.0.9"]);
        assert_eq!(addrs(&services[1]), ["172.16.0.2"]);
    }

    #[test]
    fn persistence_and_one_packet_must_agree() {
        let (k1, p1) = tcp(1);
        let mut services = vec![service(k1, "rr")];
        services[0].service.flags = ServiceFlags(ServiceFlags::ONEPACKET);
        let mut matcher = ProcMatcher::new(&mut services, DestDetail::Listed);
        matcher.take(record(p1, "rr", &["172.16.0.1"]));
        assert_eq!(matcher.unfilled(), vec![0]);
        let mut one_packet = record(p1, "rr", &["172.16.0.1"]);
        one_packet.one_packet = true;
        let mut matcher = ProcMatcher::new(&mut services, DestDetail::Listed);
        matcher.take(one_packet.clone());
        assert_eq!(matcher.unfilled(), Vec::<usize>::new());
        one_packet.persistent = true;
        let mut matcher = ProcMatcher::new(&mut services, DestDetail::Listed);
        matcher.take(one_packet);
        assert_eq!(matcher.unfilled(), vec![0]);
    }
}
