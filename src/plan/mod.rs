//! Planning `apply`: a pure function from the desired services, the live ones and the
//! scope to the smallest ordered list of changes that makes the live table equal the
//! desired one. No kernel in here; `cli::verbs` reads the table, runs the plan, verifies.
//!
//! Order, so that nothing wanted is ever missing: new services, each with its
//! destinations; then, service by service, destinations added and edited; then services
//! edited; then destinations moved (see below); then (after draining, if asked)
//! destinations and services no longer wanted deleted. A change of a key field (protocol, address, port, fwmark, family) is a
//! delete and an add; anything else an edit. What did not change is not touched.
//!
//! Destination order: the kernel keeps a service's destinations in a list (newest first)
//! that the `sh`, `dh` and `mh` schedulers hash over, so two directors must hold them in
//! the same order to send a client to the same server. For those schedulers the plan
//! leaves the list in the desired order exactly: it keeps the longest tail of the desired
//! list that is already in order, and deletes and re-adds (in front) only the
//! destinations before it. A move is a delete, so moves come after every add and edit
//! (which the kernel may refuse) in a phase of their own, each destination first edited
//! in place to its new settings: a setting the kernel refuses is found before anything
//! is deleted. For other schedulers the order does not pick servers, so
//! existing destinations stay where they are and new ones are added in front, in the
//! desired order. A new service gets its destinations in the desired order.

pub mod scope;

use std::collections::{HashMap, HashSet};

use crate::model::names::ORDER_HASHING_SCHEDULERS;
use crate::model::{
    DestKey, Destination, RealServer, Request, Service, ServiceKey, VirtualService,
};
pub use scope::{Scope, ScopeError, ScopeItem};

/// Where something a plan is about comes from, for messages. Small (12 bytes), for a
/// plan of a large table holds one per step and FILE one per service and destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A line of a rule file.
    Line(u32),
    /// A service of a JSON document.
    JsonService(u32),
    /// A destination of a JSON document's service.
    JsonDest { service: u32, dest: u32 },
    /// A live service, or one of its destinations, that FILE leaves out: the step's
    /// change names it ([`Step::origin_text`]).
    Live,
}

impl Origin {
    /// Line `number` of a rule file.
    pub fn line(number: usize) -> Self {
        // A file of more than 2^32 lines is not one anybody writes rules in.
        Origin::Line(u32::try_from(number).unwrap_or(u32::MAX))
    }

    /// A JSON document's service `service`, or its destination `dest`.
    pub fn json(service: usize, dest: Option<usize>) -> Self {
        // A document of more than 2^32 services does not fit in memory.
        let index = |i: usize| u32::try_from(i).unwrap_or(u32::MAX);
        match dest {
            None => Origin::JsonService(index(service)),
            Some(dest) => Origin::JsonDest {
                service: index(service),
                dest: index(dest),
            },
        }
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Line(n) => write!(f, "line {n}"),
            Origin::JsonService(service) => write!(f, "services[{service}]"),
            Origin::JsonDest { service, dest } => {
                write!(f, "services[{service}].destinations[{dest}]")
            }
            Origin::Live => write!(f, "the live table"),
        }
    }
}

/// A desired service with where it and each of its destinations were written, for
/// messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredService {
    pub vs: VirtualService,
    pub origin: Origin,
    /// One per destination of `vs`, in order.
    pub dest_origins: Vec<Origin>,
}

impl DesiredService {
    /// A stand-in for a service let go of, without allocations.
    pub fn placeholder(key: ServiceKey) -> Self {
        DesiredService {
            vs: VirtualService::placeholder(key),
            origin: Origin::Live,
            dest_origins: Vec::new(),
        }
    }
}

/// When a step runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// New services, each followed by its destinations.
    AddServices,
    /// The destinations of services that exist.
    Destinations,
    EditServices,
    /// For `sh`, `dh` and `mh`: destinations deleted and added again in front, with the
    /// new ones among them, to put the list in the desired order.
    Moves,
    /// Weight 0 for destinations about to be deleted (`--drain`).
    Drain,
    Deletes,
}

impl Phase {
    const ALL: [Phase; 6] = [
        Phase::AddServices,
        Phase::Destinations,
        Phase::EditServices,
        Phase::Moves,
        Phase::Drain,
        Phase::Deletes,
    ];
}

/// What a step changes, borrowing the desired or live service and destination it
/// writes: a plan of a whole table holds no copy of it (at 100,000 services copies were
/// most of apply's memory). A destination's service comes with it for its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change<'a> {
    AddService(&'a Service),
    EditService(&'a Service),
    DelService(&'a Service),
    AddDest(&'a Service, &'a Destination),
    EditDest(&'a Service, &'a Destination),
    /// The destination set to weight 0 before it is deleted (`--drain`).
    DrainDest(&'a Service, &'a Destination),
    DelDest(&'a Service, &'a Destination),
}

impl Change<'_> {
    /// The request that makes the change.
    pub fn request(&self) -> Request {
        match *self {
            Change::AddService(svc) => Request::AddService(svc.clone()),
            Change::EditService(svc) => Request::EditService(svc.clone()),
            Change::DelService(svc) => Request::DelService(svc.key),
            Change::AddDest(svc, dest) => Request::AddDest(svc.key, dest.clone()),
            Change::EditDest(svc, dest) => Request::EditDest(svc.key, dest.clone()),
            Change::DrainDest(svc, dest) => Request::EditDest(
                svc.key,
                Destination {
                    weight: 0,
                    ..dest.clone()
                },
            ),
            Change::DelDest(svc, dest) => Request::DelDest(svc.key, dest.key()),
        }
    }

    /// The service changed, or whose destination is.
    pub fn service_key(&self) -> ServiceKey {
        match *self {
            Change::AddService(svc)
            | Change::EditService(svc)
            | Change::DelService(svc)
            | Change::AddDest(svc, _)
            | Change::EditDest(svc, _)
            | Change::DrainDest(svc, _)
            | Change::DelDest(svc, _) => svc.key,
        }
    }
}

/// One change and where it comes from: the desired entry (its origin) or the live one
/// it removes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step<'a> {
    pub phase: Phase,
    pub change: Change<'a>,
    pub origin: Origin,
}

impl Step<'_> {
    /// The request that makes the step's change.
    pub fn request(&self) -> Request {
        self.change.request()
    }

    /// Where the step comes from, for messages: FILE's line or JSON path, or the live
    /// service or destination it removes.
    pub fn origin_text(&self) -> String {
        if self.origin != Origin::Live {
            return self.origin.to_string();
        }
        match self.change {
            Change::AddDest(svc, dest)
            | Change::EditDest(svc, dest)
            | Change::DrainDest(svc, dest)
            | Change::DelDest(svc, dest) => {
                format!("live {}", describe_dest(&svc.key, &dest.key()))
            }
            change => format!("live {}", describe(&change.service_key())),
        }
    }
}

/// The changes, in the order they must run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan<'a> {
    pub steps: Vec<Step<'a>>,
}

impl<'a> Plan<'a> {
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// The steps in the order they run, each stage only once the kernel took every step
    /// of those before: the changes that add and edit, the moves, the weight-0 edits of
    /// `--drain`, and the deletes.
    pub fn stages(&self) -> [&[Step<'a>]; 4] {
        let start = |phase| {
            self.steps
                .iter()
                .position(|s| s.phase >= phase)
                .unwrap_or(self.steps.len())
        };
        let [moves, drain, deletes] = [Phase::Moves, Phase::Drain, Phase::Deletes].map(start);
        [
            &self.steps[..moves],
            &self.steps[moves..drain],
            &self.steps[drain..deletes],
            &self.steps[deletes..],
        ]
    }

    /// The destinations the drain phase sets to weight 0, with their service.
    pub fn draining(&self) -> Vec<(ServiceKey, DestKey)> {
        self.steps
            .iter()
            .filter(|s| s.phase == Phase::Drain)
            .filter_map(|s| match s.change {
                Change::DrainDest(svc, dest) => Some((svc.key, dest.key())),
                _ => None,
            })
            .collect()
    }
}

/// Why the desired state cannot be planned: where, what, what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub at: String,
    pub what: String,
    pub fix: String,
}

impl Problem {
    pub fn new(at: impl Into<String>, what: impl Into<String>, fix: impl Into<String>) -> Self {
        Problem {
            at: at.into(),
            what: what.into(),
            fix: fix.into(),
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if !self.at.is_empty() {
            write!(f, "{}: ", self.at)?;
        }
        write!(f, "{}", self.what)?;
        if !self.fix.is_empty() {
            write!(f, " ({})", self.fix)?;
        }
        Ok(())
    }
}

/// A service key as messages name it: `tcp 10.0.0.1:80`, `fwmark 42 (ipv6)`.
pub fn describe(key: &ServiceKey) -> String {
    match key {
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => {
            let name = protocol.names().map_or_else(
                || format!("protocol {}", protocol.to_raw()),
                |p| p.word.to_string(),
            );
            match addr {
                std::net::IpAddr::V4(v4) => format!("{name} {v4}:{port}"),
                std::net::IpAddr::V6(v6) => format!("{name} [{v6}]:{port}"),
            }
        }
        ServiceKey::Fwmark { af, mark } => match af {
            crate::model::AddressFamily::Inet => format!("fwmark {mark}"),
            crate::model::AddressFamily::Inet6 => format!("fwmark {mark} (ipv6)"),
        },
    }
}

fn describe_dest(key: &ServiceKey, dest: &DestKey) -> String {
    let addr = match dest.addr {
        std::net::IpAddr::V4(v4) => format!("{v4}:{}", dest.port),
        std::net::IpAddr::V6(v6) => format!("[{v6}]:{}", dest.port),
    };
    format!("{} real server {addr}", describe(key))
}

/// What the desired state says that no table can hold: two services or destinations with
/// the same key, a lower threshold above the upper one, a service outside the scope.
pub fn check(desired: &[DesiredService], scope: &Scope) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut services: HashMap<ServiceKey, Origin> = HashMap::with_capacity(desired.len());
    for d in desired {
        let key = d.vs.service.key;
        if let Some(first) = services.insert(key, d.origin) {
            problems.push(Problem {
                at: d.origin.to_string(),
                what: format!("{} is already defined at {first}", describe(&key)),
                fix: "define each service once, with all its real servers".into(),
            });
        }
        if !scope.contains(&key) {
            problems.push(Problem {
                at: d.origin.to_string(),
                what: format!("{} is outside --scope {scope}", describe(&key)),
                fix: "widen --scope or leave the service out of FILE".into(),
            });
        }
        let dests = Positions::of(&d.vs.dests);
        for (i, (rs, origin)) in d.vs.dests.iter().zip(&d.dest_origins).enumerate() {
            let dk = rs.dest.key();
            let first = dests
                .first(&dk)
                .filter(|&at| at < i)
                .map(|at| d.dest_origins[at]);
            if let Some(first) = first {
                problems.push(Problem {
                    at: origin.to_string(),
                    what: format!("{} is already defined at {first}", describe_dest(&key, &dk)),
                    fix: "define each real server of a service once".into(),
                });
            }
            if rs.dest.l_threshold > rs.dest.u_threshold {
                problems.push(Problem {
                    at: origin.to_string(),
                    what: format!(
                        "lower threshold {} is above the upper one {}",
                        rs.dest.l_threshold, rs.dest.u_threshold
                    ),
                    fix: "the kernel refuses that: make -y at most -x".into(),
                });
            }
        }
    }
    problems
}

/// The live services `apply` may touch: those in scope.
pub fn in_scope<'a>(current: &'a [VirtualService], scope: &Scope) -> Vec<&'a VirtualService> {
    current
        .iter()
        .filter(|vs| scope.contains(&vs.service.key))
        .collect()
}

/// Whether a live destination already is what is desired (see
/// [`crate::model::FwdMethod::may_list_as`]).
fn same_dest(desired: &Destination, live: &Destination) -> bool {
    desired == live
        || (desired.fwd.may_list_as(live.fwd)
            && Destination {
                fwd: live.fwd,
                ..desired.clone()
            } == *live)
}

/// The smallest plan taking the live services in `scope` to `desired` (checked with
/// [`check`] first). With `drain`, destinations going away are first set to weight 0.
pub fn plan<'a>(
    desired: &'a [DesiredService],
    current: &'a [VirtualService],
    scope: &Scope,
    drain: bool,
) -> Plan<'a> {
    plan_except(desired, &[], current, scope, drain)
}

/// Whether the live service `cur` already is FILE's `d` (of the same key), as [`plan`]
/// sees it: nothing to do for it.
pub fn unchanged(d: &DesiredService, cur: &VirtualService) -> bool {
    let mut steps = Steps::default();
    cur.service == d.vs.service && {
        plan_dests(d, cur, false, &mut steps);
        steps.by_phase.iter().all(Vec::is_empty)
    }
}

/// What [`plan_except`] is given, from a table held whole: the live services in scope
/// that FILE changes or leaves out, and FILE's services the table already has as FILE
/// wants them, marked by index. apply makes the same split as it reads the table, without
/// holding it; the tests and the planner fuzz target check the plans against [`plan`]
/// with this one.
pub fn split_unchanged(
    desired: &[DesiredService],
    current: &[VirtualService],
    scope: &Scope,
) -> (Vec<bool>, Vec<VirtualService>) {
    let mut marked = vec![false; desired.len()];
    let mut kept = Vec::new();
    for vs in current.iter().filter(|vs| scope.contains(&vs.service.key)) {
        match desired
            .iter()
            .position(|d| d.vs.service.key == vs.service.key)
        {
            Some(at) if unchanged(&desired[at], vs) => marked[at] = true,
            _ => kept.push(vs.clone()),
        }
    }
    (marked, kept)
}

/// [`plan`] with the live services the table has as FILE wants them left out of
/// `current`, and marked in `unchanged` (by index into `desired`; see [`unchanged`]):
/// the same plan, without holding those live services.
pub fn plan_except<'a>(
    desired: &'a [DesiredService],
    unchanged: &[bool],
    current: &'a [VirtualService],
    scope: &Scope,
    drain: bool,
) -> Plan<'a> {
    let live_in_scope = in_scope(current, scope);
    let live: HashMap<ServiceKey, &VirtualService> = live_in_scope
        .iter()
        .map(|&vs| (vs.service.key, vs))
        .collect();
    let mut steps = Steps::default();
    let changed = || {
        desired
            .iter()
            .enumerate()
            .filter(|&(i, _)| !unchanged.get(i).copied().unwrap_or(false))
            .map(|(_, d)| d)
    };
    let new = changed().filter(|d| !live.contains_key(&d.vs.service.key));
    steps.by_phase[Phase::AddServices as usize].reserve(new.map(|d| 1 + d.vs.dests.len()).sum());
    for d in changed() {
        let svc = &d.vs.service;
        let key = svc.key;
        match live.get(&key) {
            None => {
                steps.push(Phase::AddServices, Change::AddService(svc), d.origin);
                // Each add goes in front: the last desired first.
                for (rs, origin) in d.vs.dests.iter().zip(&d.dest_origins).rev() {
                    steps.push(Phase::AddServices, Change::AddDest(svc, &rs.dest), *origin);
                }
            }
            Some(cur) => {
                plan_dests(d, cur, drain, &mut steps);
                if cur.service != *svc {
                    steps.push(Phase::EditServices, Change::EditService(svc), d.origin);
                }
            }
        }
    }
    // The live services FILE leaves out, in the kernel's order (for a plan that is the
    // same every time): none where nothing is live (as at a first apply, where the set
    // of FILE's keys would cost megabytes at 100,000 services).
    if !live_in_scope.is_empty() {
        let wanted: HashSet<ServiceKey> = desired.iter().map(|d| d.vs.service.key).collect();
        for vs in live_in_scope {
            if wanted.contains(&vs.service.key) {
                continue;
            }
            if drain {
                for rs in &vs.dests {
                    steps.push(
                        Phase::Drain,
                        Change::DrainDest(&vs.service, &rs.dest),
                        Origin::Live,
                    );
                }
            }
            steps.push(
                Phase::Deletes,
                Change::DelService(&vs.service),
                Origin::Live,
            );
        }
    }
    steps.into_plan()
}

/// Steps gathered phase by phase: within a phase, in the order they come (desired order,
/// then live order).
#[derive(Default)]
struct Steps<'a> {
    by_phase: [Vec<Step<'a>>; Phase::ALL.len()],
}

impl<'a> Steps<'a> {
    fn push(&mut self, phase: Phase, change: Change<'a>, origin: Origin) {
        self.by_phase[phase as usize].push(Step {
            phase,
            change,
            origin,
        });
    }

    fn into_plan(mut self) -> Plan<'a> {
        let steps = match self.by_phase.iter().filter(|s| !s.is_empty()).count() {
            // As for a whole table applied to an empty one: no copy.
            0 | 1 => self
                .by_phase
                .iter_mut()
                .map(std::mem::take)
                .find(|s| !s.is_empty())
                .unwrap_or_default(),
            _ => self.by_phase.concat(),
        };
        Plan { steps }
    }
}

/// The destination steps of a service that exists: adds, moves and edits, then the
/// deletes of those no longer wanted.
fn plan_dests<'a>(
    d: &'a DesiredService,
    cur: &'a VirtualService,
    drain: bool,
    steps: &mut Steps<'a>,
) {
    let svc = &d.vs.service;
    let live = Positions::of(&cur.dests);
    let desired: Vec<(&'a Destination, Origin)> =
        d.vs.dests
            .iter()
            .map(|rs| &rs.dest)
            .zip(d.dest_origins.iter().copied())
            .collect();
    // The desired destinations from `keep` on stay where they are.
    let keep = if ORDER_HASHING_SCHEDULERS.contains(&d.vs.service.scheduler.as_str()) {
        ordered_tail(&desired, &live)
    } else {
        0
    };
    // Front part: added (or deleted and added again, to move), last first; all in the
    // moves phase if any moves, for the adds in front must follow them in order.
    let front = &desired[..keep];
    let front_phase = if front
        .iter()
        .any(|(dest, _)| live.get(&dest.key()).is_some())
    {
        Phase::Moves
    } else {
        Phase::Destinations
    };
    for &(dest, origin) in front.iter().rev() {
        if let Some((_, now)) = live.get(&dest.key()) {
            if !same_dest(dest, now) {
                steps.push(Phase::Destinations, Change::EditDest(svc, dest), origin);
            }
            steps.push(Phase::Moves, Change::DelDest(svc, dest), origin);
        }
        steps.push(front_phase, Change::AddDest(svc, dest), origin);
    }
    let mut new = Vec::new();
    for &(dest, origin) in &desired[keep..] {
        match live.get(&dest.key()) {
            None => new.push((dest, origin)),
            Some((_, now)) if !same_dest(dest, now) => {
                steps.push(Phase::Destinations, Change::EditDest(svc, dest), origin)
            }
            Some(_) => {}
        }
    }
    for (dest, origin) in new.into_iter().rev() {
        steps.push(Phase::Destinations, Change::AddDest(svc, dest), origin);
    }
    let wanted = Positions::of(&d.vs.dests);
    for rs in &cur.dests {
        if wanted.get(&rs.dest.key()).is_some() {
            continue;
        }
        if drain {
            steps.push(
                Phase::Drain,
                Change::DrainDest(&cur.service, &rs.dest),
                Origin::Live,
            );
        }
        steps.push(
            Phase::Deletes,
            Change::DelDest(&cur.service, &rs.dest),
            Origin::Live,
        );
    }
}

/// A service's destinations by key, with their (first) position in the list: a scan for
/// the few a service usually has, a hash map for many.
enum Positions<'a> {
    Few(&'a [RealServer]),
    Many(HashMap<DestKey, (usize, &'a Destination)>),
}

impl<'a> Positions<'a> {
    fn of(dests: &'a [RealServer]) -> Self {
        if dests.len() <= 16 {
            return Positions::Few(dests);
        }
        let mut map = HashMap::with_capacity(dests.len());
        for (i, rs) in dests.iter().enumerate() {
            map.entry(rs.dest.key()).or_insert((i, &rs.dest));
        }
        Positions::Many(map)
    }

    /// The first position of `key`.
    fn first(&self, key: &DestKey) -> Option<usize> {
        self.get(key).map(|(at, _)| at)
    }

    fn get(&self, key: &DestKey) -> Option<(usize, &'a Destination)> {
        match self {
            Positions::Few(dests) => dests
                .iter()
                .position(|rs| rs.dest.key() == *key)
                .map(|i| (i, &dests[i].dest)),
            Positions::Many(map) => map.get(key).copied(),
        }
    }
}

/// Where the longest tail of `desired` starts whose destinations all exist and are
/// already in that relative order in the live list: with only those kept in place, adds
/// in front give exactly the desired order. (Every other live destination is moved or
/// deleted, so only the kept ones' relative order matters.)
fn ordered_tail(desired: &[(&Destination, Origin)], live: &Positions) -> usize {
    let mut start = desired.len();
    let mut next_position = usize::MAX;
    while start > 0 {
        match live.get(&desired[start - 1].0.key()) {
            Some((position, _)) if position < next_position => {
                next_position = position;
                start -= 1;
            }
            _ => break,
        }
    }
    start
}

#[cfg(test)]
mod tests;
