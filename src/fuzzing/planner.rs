//! The planner against a model of the kernel's table: for a current table, a desired
//! one, a scope and `--drain` decoded from the bytes, the plan applied to the model
//! (with the kernel's refusals: adding what exists, changing what does not) must
//! succeed step by step and give the desired table, touching nothing that stays as it
//! is, and planning again from there must give nothing to do.
//!
//! "The desired table" as the planner promises it (see the module doc of
//! [`crate::plan`] and rsipvsadm(8), APPLY AND DIFF): services in scope are exactly the
//! desired ones with the desired settings; a real server listed as `local` counts as
//! equal to any method; for `sh`, `dh` and `mh` the real servers are in the desired order
//! exactly, for other schedulers the existing ones keep their order and the new ones are
//! in front, in the desired order. A real server of `sh`, `dh` or `mh` that is not in
//! the longest already-ordered tail of the desired list is moved (deleted and added),
//! though unchanged: that is the one deliberate touch of something unchanged.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::input::Input;
use crate::model::names::ORDER_HASHING_SCHEDULERS;
use crate::model::{
    AddressFamily, DestKey, Destination, FwdMethod, Netmask, Protocol, RealServer, Request,
    Service, ServiceFlags, ServiceKey, TunnelFlags, TunnelType, VirtualService,
};
use crate::plan::{self, Change, DesiredService, Origin, Phase, Scope, ScopeItem};

const VIPS: [IpAddr; 4] = [
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
    IpAddr::V4(Ipv4Addr::new(10, 0, 1, 1)),
    IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)),
];
const REALS: [IpAddr; 5] = [
    IpAddr::V4(Ipv4Addr::new(10, 1, 0, 1)),
    IpAddr::V4(Ipv4Addr::new(10, 1, 0, 2)),
    IpAddr::V4(Ipv4Addr::new(10, 1, 0, 3)),
    IpAddr::V4(Ipv4Addr::new(10, 1, 0, 4)),
    IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 1, 1)),
];
const SCHEDULERS: [&str; 5] = ["rr", "wlc", "sh", "dh", "mh"];

/// The fuzz target.
pub fn planner(data: &[u8]) {
    let mut input = Input::new(data);
    let scope = scope(&mut input);
    let drain = input.flag();
    let current = current_table(&mut input);
    let desired = desired_table(&mut input, &current);
    if !plan::check(&desired, &scope).is_empty() {
        return;
    }
    let plan = plan::plan(&desired, &current, &scope, drain);
    // apply plans without the live services it has as FILE wants them: the same plan.
    let (unchanged, kept) = plan::split_unchanged(&desired, &current, &scope);
    let without = plan::plan_except(&desired, &unchanged, &kept, &scope, drain);
    assert_eq!(
        without.steps, plan.steps,
        "planned without the unchanged ones"
    );
    let mut table = Table(current.clone());
    let mut touched: HashSet<(ServiceKey, Option<DestKey>)> = HashSet::new();
    let mut last_phase = Phase::AddServices;
    for step in &plan.steps {
        assert!(
            step.phase >= last_phase,
            "steps out of phase order: {plan:#?}"
        );
        last_phase = step.phase;
        if let Err(refusal) = table.apply(&step.request()) {
            panic!("the kernel would refuse {step:?}: {refusal}\nplan: {plan:#?}");
        }
        touched.insert(subject(&step.request()));
        if step.phase == Phase::Deletes {
            assert!(
                matches!(step.change, Change::DelDest(..) | Change::DelService(_)),
                "{step:?}"
            );
        }
    }
    let context = || format!("current {current:#?}\ndesired {desired:#?}\nplan {plan:#?}");
    check_result(&table.0, &current, &desired, &scope, &context);
    check_untouched(
        &current,
        &desired,
        &scope,
        drain,
        &plan.steps,
        &touched,
        &context,
    );
    let again = plan::plan(&desired, &table.0, &scope, drain);
    assert!(again.is_empty(), "planned again: {again:#?}\n{}", context());
}

/// What a request is about: a service, or one of its destinations.
fn subject(request: &Request) -> (ServiceKey, Option<DestKey>) {
    match request {
        Request::AddService(s) | Request::EditService(s) => (s.key, None),
        Request::DelService(key) => (*key, None),
        Request::AddDest(key, d) | Request::EditDest(key, d) => (*key, Some(d.key())),
        Request::DelDest(key, d) => (*key, Some(*d)),
        other => panic!("a plan with {other:?}"),
    }
}

/// The kernel's table as far as plans go: services in the kernel's order, each with its
/// destinations newest first.
struct Table(Vec<VirtualService>);

impl Table {
    fn service(&mut self, key: &ServiceKey) -> Result<&mut VirtualService, &'static str> {
        self.0
            .iter_mut()
            .find(|vs| vs.service.key == *key)
            .ok_or("ESRCH: no such service")
    }

    fn apply(&mut self, request: &Request) -> Result<(), &'static str> {
        match request {
            Request::AddService(svc) => {
                if self.service(&svc.key).is_ok() {
                    return Err("EEXIST: the service exists");
                }
                self.0.push(VirtualService::new(svc.clone()));
            }
            Request::EditService(svc) => self.service(&svc.key)?.service = svc.clone(),
            Request::DelService(key) => {
                self.service(key)?;
                self.0.retain(|vs| vs.service.key != *key);
            }
            Request::AddDest(key, dest) => {
                let dests = &mut self.service(key)?.dests;
                if dests.iter().any(|rs| rs.dest.key() == dest.key()) {
                    return Err("EEXIST: the destination exists");
                }
                if dest.l_threshold > dest.u_threshold {
                    return Err("EINVAL: lower threshold above the upper");
                }
                dests.insert(0, RealServer::new(dest.clone()));
            }
            Request::EditDest(key, dest) => {
                let rs = self
                    .service(key)?
                    .dests
                    .iter_mut()
                    .find(|rs| rs.dest.key() == dest.key())
                    .ok_or("ENOENT: no such destination")?;
                if dest.l_threshold > dest.u_threshold {
                    return Err("EINVAL: lower threshold above the upper");
                }
                rs.dest = dest.clone();
            }
            Request::DelDest(key, dest) => {
                let dests = &mut self.service(key)?.dests;
                let at = dests
                    .iter()
                    .position(|rs| rs.dest.key() == *dest)
                    .ok_or("ENOENT: no such destination")?;
                dests.remove(at);
            }
            _ => return Err("not a request of a plan"),
        }
        Ok(())
    }
}

/// As the planner compares destinations: the kernel lists one local to the director as
/// `local`, whatever method it was given.
fn same_dest(desired: &Destination, live: &Destination) -> bool {
    let listed_local = live.fwd == FwdMethod::Local;
    desired == live
        || (listed_local
            && Destination {
                fwd: FwdMethod::Local,
                ..desired.clone()
            } == *live)
}

fn hashes_order(service: &Service) -> bool {
    ORDER_HASHING_SCHEDULERS.contains(&service.scheduler.as_str())
}

fn keys(dests: &[RealServer]) -> Vec<DestKey> {
    dests.iter().map(|rs| rs.dest.key()).collect()
}

/// Where the kept part of a desired list starts: the shortest prefix to move such that
/// the rest all exist and are already in that order among the live ones (restated here
/// without the planner's code).
fn kept_from(desired: &[RealServer], live: &[RealServer]) -> usize {
    let live = keys(live);
    let position = |key: &DestKey| live.iter().position(|k| k == key);
    (0..=desired.len())
        .find(|&start| {
            let rest: Option<Vec<usize>> = desired[start..]
                .iter()
                .map(|rs| position(&rs.dest.key()))
                .collect();
            rest.is_some_and(|p| p.windows(2).all(|w| w[0] < w[1]))
        })
        .unwrap_or(desired.len())
}

fn check_result(
    result: &[VirtualService],
    current: &[VirtualService],
    desired: &[DesiredService],
    scope: &Scope,
    context: &dyn Fn() -> String,
) {
    let find = |table: &[VirtualService], key: &ServiceKey| {
        table.iter().find(|vs| vs.service.key == *key).cloned()
    };
    for vs in current.iter().filter(|vs| !scope.contains(&vs.service.key)) {
        let now = find(result, &vs.service.key);
        assert_eq!(
            now.as_ref(),
            Some(vs),
            "out of scope, changed\n{}",
            context()
        );
    }
    let in_scope: Vec<ServiceKey> = result
        .iter()
        .map(|vs| vs.service.key)
        .filter(|k| scope.contains(k))
        .collect();
    let wanted: Vec<ServiceKey> = desired.iter().map(|d| d.vs.service.key).collect();
    assert_eq!(
        in_scope.iter().collect::<HashSet<_>>(),
        wanted.iter().collect::<HashSet<_>>(),
        "the services in scope\n{}",
        context()
    );
    for d in desired {
        let key = d.vs.service.key;
        let now = find(result, &key).expect("checked above");
        assert_eq!(now.service, d.vs.service, "settings\n{}", context());
        let now_keys = keys(&now.dests);
        let want_keys = keys(&d.vs.dests);
        for rs in &d.vs.dests {
            let listed = now.dests.iter().find(|n| n.dest.key() == rs.dest.key());
            assert!(
                listed.is_some_and(|n| same_dest(&rs.dest, &n.dest)),
                "real server {:?} of {key:?} is {listed:?}\n{}",
                rs.dest,
                context()
            );
        }
        let order = match find(current, &key) {
            Some(cur) if !hashes_order(&d.vs.service) => {
                // New ones in front in the desired order, then the existing ones in the
                // order they had.
                let existed: HashSet<DestKey> = keys(&cur.dests).into_iter().collect();
                let mut order: Vec<DestKey> = want_keys
                    .iter()
                    .copied()
                    .filter(|k| !existed.contains(k))
                    .collect();
                order.extend(
                    keys(&cur.dests)
                        .into_iter()
                        .filter(|k| want_keys.contains(k)),
                );
                order
            }
            _ => want_keys.clone(),
        };
        assert_eq!(now_keys, order, "order of {key:?}\n{}", context());
    }
}

#[allow(clippy::too_many_arguments)]
fn check_untouched(
    current: &[VirtualService],
    desired: &[DesiredService],
    scope: &Scope,
    drain: bool,
    steps: &[plan::Step],
    touched: &HashSet<(ServiceKey, Option<DestKey>)>,
    context: &dyn Fn() -> String,
) {
    for cur in current {
        let key = cur.service.key;
        let want = desired.iter().find(|d| d.vs.service.key == key);
        let Some(want) = want.filter(|_| scope.contains(&key)) else {
            if !scope.contains(&key) {
                assert!(
                    !touched.iter().any(|(k, _)| *k == key),
                    "out of scope {key:?} touched\n{}",
                    context()
                );
            }
            continue;
        };
        if cur.service == want.vs.service {
            assert!(
                !touched.contains(&(key, None)),
                "unchanged {key:?} touched\n{}",
                context()
            );
        }
        let moved_from = if hashes_order(&want.vs.service) {
            kept_from(&want.vs.dests, &cur.dests)
        } else {
            0
        };
        for (i, rs) in want.vs.dests.iter().enumerate() {
            let Some(live) = cur.dests.iter().find(|l| l.dest.key() == rs.dest.key()) else {
                continue;
            };
            let moved = i < moved_from;
            let subject = (key, Some(rs.dest.key()));
            if !moved && same_dest(&rs.dest, &live.dest) {
                assert!(
                    !touched.contains(&subject),
                    "unchanged {subject:?} touched\n{}",
                    context()
                );
            }
            if !moved {
                let deleted = steps
                    .iter()
                    .any(|s| matches!(s.change, Change::DelDest(svc, d) if (svc.key, Some(d.key())) == subject));
                assert!(!deleted, "kept {subject:?} deleted\n{}", context());
            }
        }
        // With --drain, every real server that goes away is set to weight 0 first.
        if drain {
            for rs in &cur.dests {
                let dk = rs.dest.key();
                if want.vs.dests.iter().any(|w| w.dest.key() == dk) {
                    continue;
                }
                let drained = steps.iter().any(|s| {
                    s.phase == Phase::Drain
                        && matches!(s.change, Change::DrainDest(svc, d) if svc.key == key && d.key() == dk)
                });
                assert!(drained, "{key:?} {dk:?} deleted undrained\n{}", context());
            }
        }
    }
}

fn scope(input: &mut Input) -> Scope {
    let prefix = ScopeItem::Prefix {
        addr: VIPS[0],
        len: 24,
    };
    let marks = ScopeItem::Fwmarks { first: 2, last: 3 };
    let items = match input.below(8) {
        0 => vec![prefix],
        1 => vec![marks],
        2 => vec![prefix, marks],
        _ => vec![],
    };
    Scope { items }
}

fn service_key(input: &mut Input) -> ServiceKey {
    let b = input.byte();
    if b % 4 == 3 {
        let af = if b & 4 == 0 {
            AddressFamily::Inet
        } else {
            AddressFamily::Inet6
        };
        ServiceKey::fwmark(af, 1 + u32::from(b >> 3) % 3)
    } else {
        let protocol = [Protocol::Tcp, Protocol::Udp, Protocol::Other(50)][usize::from(b % 4)];
        ServiceKey::Addr {
            protocol,
            addr: VIPS[usize::from(b >> 2) % VIPS.len()],
            port: 80 + u16::from(b >> 4) % 2,
        }
    }
}

fn service(input: &mut Input) -> Service {
    let key = service_key(input);
    let mut svc = Service::new(key, input.pick(&SCHEDULERS));
    let settings = input.byte();
    if settings & 1 != 0 {
        svc = svc.persistent(300);
    }
    if settings & 2 != 0 {
        svc.flags.0 |= ServiceFlags::SCHED1;
    }
    if settings & 4 != 0 {
        svc.pe_name = Some("sip".into());
    }
    if settings & 8 != 0 {
        svc.netmask = match key.af() {
            AddressFamily::Inet => Netmask::V4(Ipv4Addr::new(255, 255, 255, 0)),
            AddressFamily::Inet6 => Netmask::V6(64),
        };
    }
    svc
}

fn dest(input: &mut Input) -> Destination {
    let addr = input.pick(&REALS);
    let port = [80, 8080][input.below(2)];
    let fwd = FwdMethod::from_raw(input.below(5) as u32).expect("0 to 4 are methods");
    let mut dest = Destination::new(addr, port, fwd).weight(input.below(3) as u32);
    let extra = input.byte();
    dest.u_threshold = u32::from(extra & 3);
    dest.l_threshold = u32::from((extra >> 2) & 3).min(dest.u_threshold);
    if extra & 0x10 != 0 {
        dest.tun_type = TunnelType::Gue;
        dest.tun_port = 6080;
    }
    if extra & 0x20 != 0 {
        dest.tun_flags = TunnelFlags(TunnelFlags::CSUM);
    }
    dest
}

/// A service's destinations, each key once.
fn dests(input: &mut Input) -> Vec<RealServer> {
    let mut dests: Vec<RealServer> = Vec::new();
    for _ in 0..input.below(6) {
        let d = dest(input);
        if !dests.iter().any(|rs| rs.dest.key() == d.key()) {
            dests.push(RealServer::new(d));
        }
    }
    dests
}

/// As the kernel holds it: each service key once, each destination key once per service.
fn current_table(input: &mut Input) -> Vec<VirtualService> {
    let mut table: Vec<VirtualService> = Vec::new();
    for _ in 0..input.below(5) {
        let mut vs = VirtualService::new(service(input));
        vs.dests = dests(input);
        if !table.iter().any(|t| t.service.key == vs.service.key) {
            table.push(vs);
        }
    }
    table
}

/// Desired services: new ones, or live ones changed a little (most plans keep most of
/// a table), each key once.
fn desired_table(input: &mut Input, current: &[VirtualService]) -> Vec<DesiredService> {
    let mut desired: Vec<VirtualService> = Vec::new();
    for _ in 0..input.below(5) {
        let vs = match current.len() {
            n if n > 0 && input.below(4) != 0 => {
                let mut vs = current[input.below(n)].clone();
                for _ in 0..input.below(4) {
                    change(input, &mut vs);
                }
                vs
            }
            _ => {
                let mut vs = VirtualService::new(service(input));
                vs.dests = dests(input);
                vs
            }
        };
        if !desired.iter().any(|d| d.service.key == vs.service.key) {
            desired.push(vs);
        }
    }
    desired
        .into_iter()
        .enumerate()
        .map(|(i, vs)| DesiredService {
            dest_origins: (0..vs.dests.len())
                .map(|d| Origin::json(i, Some(d)))
                .collect(),
            origin: Origin::json(i, None),
            vs,
        })
        .collect()
}

/// One small change of a desired service.
fn change(input: &mut Input, vs: &mut VirtualService) {
    let n = vs.dests.len();
    match input.below(7) {
        0 => vs.service.scheduler = input.pick(&SCHEDULERS).to_string(),
        1 => vs.service.flags.0 ^= ServiceFlags::PERSISTENT,
        2 if n > 1 => {
            let (a, b) = (input.below(n), input.below(n));
            vs.dests.swap(a, b);
        }
        3 if n > 0 => {
            vs.dests.remove(input.below(n));
        }
        4 => {
            let d = dest(input);
            if !vs.dests.iter().any(|rs| rs.dest.key() == d.key()) {
                vs.dests.insert(input.below(n + 1), RealServer::new(d));
            }
        }
        5 if n > 0 => {
            let at = input.below(n);
            vs.dests[at].dest.weight = input.below(3) as u32;
        }
        6 if n > 0 => {
            // Another method (against a live `local`, the same).
            let at = input.below(n);
            vs.dests[at].dest.fwd = FwdMethod::from_raw(input.below(5) as u32).expect("0 to 4");
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rs(last: u8) -> RealServer {
        RealServer::new(Destination::new(
            IpAddr::V4(Ipv4Addr::new(10, 1, 0, last)),
            80,
            FwdMethod::Masq,
        ))
    }

    #[test]
    fn the_kept_tail_is_the_longest_already_in_order() {
        let (a, b, c) = (rs(1), rs(2), rs(3));
        let desired = [a.clone(), b.clone(), c.clone()];
        assert_eq!(kept_from(&desired, &[a.clone(), b.clone(), c.clone()]), 0);
        assert_eq!(kept_from(&desired, &[c.clone(), a.clone(), b.clone()]), 2);
        assert_eq!(kept_from(&desired, &[b.clone(), c.clone()]), 1);
        assert_eq!(kept_from(&desired, &[]), 3);
    }

    #[test]
    fn the_model_refuses_what_the_kernel_refuses() {
        let key = ServiceKey::tcp(VIPS[0], 80);
        let svc = Service::new(key, "rr");
        let mut table = Table(vec![]);
        assert!(table.apply(&Request::EditService(svc.clone())).is_err());
        table.apply(&Request::AddService(svc.clone())).unwrap();
        assert!(table.apply(&Request::AddService(svc)).is_err());
        let (a, b) = (rs(1).dest, rs(2).dest);
        assert!(table.apply(&Request::EditDest(key, a.clone())).is_err());
        table.apply(&Request::AddDest(key, a.clone())).unwrap();
        table.apply(&Request::AddDest(key, b.clone())).unwrap();
        assert!(table.apply(&Request::AddDest(key, a.clone())).is_err());
        assert_eq!(keys(&table.0[0].dests), [b.key(), a.key()], "newest first");
        table.apply(&Request::DelDest(key, a.key())).unwrap();
        assert!(table.apply(&Request::DelDest(key, a.key())).is_err());
        table.apply(&Request::DelService(key)).unwrap();
        assert!(table.0.is_empty());
    }

    #[test]
    fn a_local_listing_equals_any_method() {
        let (mut wanted, mut live) = (rs(1).dest, rs(1).dest);
        live.fwd = FwdMethod::Local;
        assert!(same_dest(&wanted, &live));
        assert!(!same_dest(&live, &wanted));
        wanted.weight = 5;
        assert!(!same_dest(&wanted, &live));
    }
}
