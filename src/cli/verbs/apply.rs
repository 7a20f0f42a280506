//! `apply` and `diff`: read FILE and the live table, plan, print the plan; `apply` then
//! runs it (adds and edits in one batch, deletes in a second one only if every add and
//! edit was taken), drains if asked, and reads the table again to verify.

use std::collections::{HashMap, HashSet};
use std::io::{self, Read};
use std::time::{Duration, Instant};

use nix::errno::Errno;

use super::desired;
use crate::cli::console::{self, errln};
use crate::cli::errors::{Operation, kernel_message};
use crate::error::Error;
use crate::ipvs::Ipvs;
use crate::model::{
    AddressFamily, DestKey, Destination, FwdMethod, Netmask, RealServer, Request, Service,
    ServiceFlags, ServiceKey, VirtualService,
};
use crate::output::plan::rule_line;
use crate::plan::{self, DesiredService, Plan, Problem, Scope, Step};
use crate::procfs::{self, ProcKey};

/// Exit statuses: as diff(1) for `diff`; for `apply`, 1 when the table could not be made
/// equal to FILE.
pub const EXIT_SAME: i32 = 0;
pub const EXIT_DIFFERENT: i32 = 1;
pub const EXIT_TROUBLE: i32 = 2;

/// What the command line asked for.
pub struct Options {
    /// The name messages start with: `rsipvsadm apply`, `ipvsadm diff`, ...
    pub name: String,
    pub file: String,
    pub scope: Scope,
    pub dry_run: bool,
    pub drain: Option<Duration>,
    pub apply: bool,
}

/// Runs `apply` or `diff`; returns the exit status.
pub fn run(opts: &Options) -> i32 {
    let say = |text: &str| errln!("{}: {text}", opts.name);
    let input = match read_file(&opts.file) {
        Ok(input) => input,
        Err(e) => {
            say(&format!(
                "cannot read {}: {e} (give a readable file, or - for standard input)",
                opts.file
            ));
            return EXIT_TROUBLE;
        }
    };
    let mut ipvs = match connect() {
        Ok(ipvs) => ipvs,
        Err(message) => {
            say(&message);
            return EXIT_TROUBLE;
        }
    };
    // FILE is parsed while the kernel's table is read: the two take about as long on a
    // large table, and neither needs the other.
    let (desired, current) = std::thread::scope(|s| {
        let parsing = s.spawn(|| desired::read(&input));
        let current = ipvs.table();
        let desired = parsing.join().unwrap_or_else(|_| {
            Err(vec![problem(
                "FILE",
                "could not be read",
                "report this as a bug",
            )])
        });
        (desired, current)
    });
    let current = match current {
        Ok(current) => current,
        Err(e) => {
            say(&format!("cannot read the IPVS table: {e}"));
            return EXIT_TROUBLE;
        }
    };
    let desired = desired.and_then(|d| {
        if d.is_empty() && !desired::is_json(&input) {
            // An empty stdin from a broken pipeline must not empty the table.
            return Err(vec![problem(
                "FILE",
                "has no -A rule: applying it would delete every service in scope",
                "to delete them on purpose, apply {\"schema_version\": 1, \"services\": []}",
            )]);
        }
        Ok(d)
    });
    let desired = match desired.and_then(|d| checked(d, &current, &opts.scope)) {
        Ok(desired) => desired,
        Err(problems) => {
            for p in &problems {
                say(&format!("{}: {p}", file_name(&opts.file)));
            }
            say("nothing was changed");
            return EXIT_TROUBLE;
        }
    };
    let plan = plan::plan(&desired, &current, &opts.scope, opts.drain.is_some());
    print_plan(&plan);
    if !opts.apply {
        return if plan.is_empty() {
            EXIT_SAME
        } else {
            EXIT_DIFFERENT
        };
    }
    if opts.dry_run || plan.is_empty() {
        return EXIT_SAME;
    }
    let mut run = Runner {
        ipvs: &mut ipvs,
        name: &opts.name,
        refused: 0,
    };
    let [changes, drain, deletes] = plan.stages();
    run.batch(changes);
    if run.refused == 0 {
        run.batch(drain);
    }
    if run.refused > 0 {
        say("not everything wanted is in place, so nothing was drained or deleted");
    } else {
        if let Some(limit) = opts.drain {
            run.drain(&plan, limit);
        }
        run.batch(deletes);
    }
    let refused = run.refused;
    match verify(&mut ipvs, &desired, &opts.scope, &current, &plan) {
        Ok(rest) if rest.is_empty() && refused == 0 => EXIT_SAME,
        Ok(rest) if rest.is_empty() => EXIT_DIFFERENT,
        Ok(rest) => {
            say(
                "the table still differs from FILE (another program changed it, or the \
                 kernel did not take a setting); what is left to do:",
            );
            for step in &rest.steps {
                errln!("  {}", rule_line(&step.request));
            }
            EXIT_DIFFERENT
        }
        Err(e) => {
            say(&format!("cannot read the table again to verify it: {e}"));
            EXIT_DIFFERENT
        }
    }
}

fn problem(at: &str, what: &str, fix: &str) -> Problem {
    Problem {
        at: at.into(),
        what: what.into(),
        fix: fix.into(),
    }
}

fn file_name(file: &str) -> &str {
    if file == "-" { "stdin" } else { file }
}

fn read_file(file: &str) -> io::Result<Vec<u8>> {
    if file == "-" {
        let mut input = Vec::new();
        io::stdin().lock().read_to_end(&mut input)?;
        Ok(input)
    } else {
        std::fs::read(file)
    }
}

/// Opens IPVS and checks access; the error says what to do.
fn connect() -> Result<Ipvs, String> {
    let mut ipvs = Ipvs::open().map_err(|e| match e {
        Error::IpvsMissing => "this kernel has no IPVS (load it with modprobe ip_vs)".to_string(),
        other => format!("cannot reach IPVS: {other}"),
    })?;
    ipvs.info().map_err(|e| match e.errno() {
        Some(Errno::EPERM) => "permission denied: run as root (IPVS needs CAP_NET_ADMIN)".into(),
        _ => format!("cannot reach IPVS: {e}"),
    })?;
    Ok(ipvs)
}

/// The desired state's own problems, and live services in scope that apply cannot write
/// rules for (a protocol ipvsadm has no option for).
fn checked(
    desired: Vec<DesiredService>,
    current: &[VirtualService],
    scope: &Scope,
) -> Result<Vec<DesiredService>, Vec<Problem>> {
    let mut problems = plan::check(&desired, scope);
    for vs in plan::in_scope(current, scope) {
        if let ServiceKey::Addr { protocol, .. } = vs.service.key
            && protocol.names().is_none()
        {
            problems.push(problem(
                "the live table",
                &format!(
                    "{} is in scope but no rule can name it",
                    plan::describe(&vs.service.key)
                ),
                "leave it out with --scope",
            ));
        }
    }
    if problems.is_empty() {
        Ok(desired)
    } else {
        Err(problems)
    }
}

fn print_plan(plan: &Plan) {
    let mut text = String::new();
    for step in &plan.steps {
        text.push_str(&rule_line(&step.request));
        text.push('\n');
    }
    console::stdout_bytes(text.as_bytes());
}

/// Runs steps against the kernel, reporting refusals.
struct Runner<'a> {
    ipvs: &'a mut Ipvs,
    name: &'a str,
    refused: usize,
}

impl Runner<'_> {
    fn batch(&mut self, steps: &[Step]) {
        if steps.is_empty() {
            return;
        }
        let requests: Vec<Request> = steps.iter().map(|s| s.request.clone()).collect();
        match self.ipvs.apply_batch(&requests) {
            Ok(outcomes) => {
                // A refused service takes its destinations' adds with it (ESRCH).
                let mut refused_services = Vec::new();
                for (step, outcome) in steps.iter().zip(outcomes) {
                    let Err(errno) = outcome else { continue };
                    self.refused += 1;
                    match &step.request {
                        Request::AddService(svc) => refused_services.push(svc.key),
                        Request::AddDest(key, _) | Request::EditDest(key, _)
                            if errno == Errno::ESRCH && refused_services.contains(key) =>
                        {
                            continue;
                        }
                        _ => {}
                    }
                    self.report_refusal(step, errno);
                }
            }
            Err(e) => {
                self.refused += steps.len();
                errln!("{}: {e}", self.name);
            }
        }
    }

    fn report_refusal(&self, step: &Step, errno: Errno) {
        let op = operation(&step.request);
        let mut text = format!(
            "{}: {}: the kernel refused `{}`: {}",
            self.name,
            step.origin,
            rule_line(&step.request),
            kernel_message(op, errno)
        );
        if let Some(hint) = hint(&step.request, errno) {
            text.push_str(&format!(" ({hint})"));
        }
        errln!("{text}");
    }

    /// Waits until the destinations set to weight 0 have no active connection, or until
    /// `limit` passes, with a progress line on stderr.
    fn drain(&mut self, plan: &Plan, limit: Duration) {
        let draining = plan.draining();
        if draining.is_empty() {
            return;
        }
        let mut by_service: HashMap<ServiceKey, Vec<DestKey>> = HashMap::new();
        for (key, dest) in &draining {
            by_service.entry(*key).or_default().push(*dest);
        }
        let deadline = Instant::now() + limit;
        loop {
            let mut active = 0u64;
            for (key, dests) in &by_service {
                if let Ok(servers) = self.ipvs.real_servers(key) {
                    active += servers
                        .iter()
                        .filter(|rs| dests.contains(&rs.dest.key()))
                        .map(|rs| u64::from(rs.observed.active_conns))
                        .sum::<u64>();
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            let servers = count(draining.len() as u64, "real server");
            if active == 0 {
                errln!(
                    "{}: drained {servers}: no active connection left",
                    self.name
                );
                return;
            }
            let connections = count(active, "active connection");
            if left.is_zero() {
                errln!(
                    "{}: {connections} left after {} s: deleting anyway",
                    self.name,
                    limit.as_secs()
                );
                return;
            }
            errln!(
                "{}: draining {servers}: {connections}, up to {} s more",
                self.name,
                left.as_secs()
            );
            std::thread::sleep(left.min(Duration::from_secs(1)));
        }
    }
}

/// `1 real server`, `2 real servers`.
fn count(n: u64, thing: &str) -> String {
    if n == 1 {
        format!("1 {thing}")
    } else {
        format!("{n} {thing}s")
    }
}

/// The ipvsadm operation whose messages fit a request.
fn operation(request: &Request) -> Operation {
    match request {
        Request::AddService(_) => Operation::AddService,
        Request::EditService(_) => Operation::EditService,
        Request::DelService(_) => Operation::DeleteService,
        Request::AddDest(..) => Operation::AddDest,
        Request::EditDest(..) => Operation::EditDest,
        Request::DelDest(..) => Operation::DeleteDest,
        _ => Operation::Init,
    }
}

/// What to do about a refusal.
fn hint(request: &Request, errno: Errno) -> Option<String> {
    Some(match (request, errno) {
        (Request::AddService(svc) | Request::EditService(svc), Errno::ENOENT) => {
            match &svc.pe_name {
                Some(pe) => format!(
                    "is the module there? modprobe ip_vs_{} ip_vs_pe_{pe}",
                    svc.scheduler
                ),
                None => format!("is the module there? modprobe ip_vs_{}", svc.scheduler),
            }
        }
        (Request::AddDest(_, dest) | Request::EditDest(_, dest), Errno::EINVAL) => format!(
            "a real server must be a unicast address this director can route to: \
             check `ip route get {}`",
            dest.addr
        ),
        (_, Errno::EPERM) => "run as root: IPVS needs CAP_NET_ADMIN".into(),
        (_, Errno::EEXIST | Errno::ESRCH | Errno::ENOENT) => {
            "another program changed the table meanwhile: run apply again".into()
        }
        (_, Errno::ERANGE) => "the kernel refuses a lower threshold above the upper one".into(),
        (_, Errno::EMSGSIZE) => "a name is too long for netlink".into(),
        _ => return None,
    })
}

/// What is left to do after applying (empty: the table equals FILE).
///
/// The table is read again as cheaply as it can still be told apart from FILE. When few
/// services were changed, those are read again exactly (GET_SERVICE and GET_DEST) and the
/// others are taken as read before applying. When many were, every service's
/// the whole table comes from one read of /proc/net/ip_vs (schedulers; addresses, ports,
/// methods, weights and order of destinations: several times faster than a destination
/// dump per service), except for the services FILE gives settings /proc does not show
/// (see [`beyond_proc`]), which are read over netlink. Either way, a service that still
/// seems to differ is read again exactly before anything is reported. What is missed: a
/// setting /proc does not show, changed meanwhile by another program on a service that
/// FILE leaves at its default.
fn verify(
    ipvs: &mut Ipvs,
    desired: &[DesiredService],
    scope: &Scope,
    before: &[VirtualService],
    done: &Plan,
) -> Result<Plan, Error> {
    let touched: HashSet<ServiceKey> = done
        .steps
        .iter()
        .filter_map(|s| step_service(&s.request))
        .collect();
    let services = before.len().max(desired.len());
    let mut current = if touched.len() * 8 < services {
        let mut current: Vec<VirtualService> = before
            .iter()
            .filter(|vs| !touched.contains(&vs.service.key))
            .cloned()
            .collect();
        read_exactly(ipvs, &touched, &mut current)?;
        current
    } else {
        snapshot(ipvs, desired)?
    };
    let rest = plan::plan(desired, &current, scope, false);
    if rest.is_empty() {
        return Ok(rest);
    }
    let differing: HashSet<ServiceKey> = rest
        .steps
        .iter()
        .filter_map(|s| step_service(&s.request))
        .collect();
    current.retain(|vs| !differing.contains(&vs.service.key));
    read_exactly(ipvs, &differing, &mut current)?;
    Ok(plan::plan(desired, &current, scope, false))
}

/// The service a plan step is about (plans hold nothing else).
fn step_service(request: &Request) -> Option<ServiceKey> {
    match request {
        Request::AddService(svc) | Request::EditService(svc) => Some(svc.key),
        Request::DelService(key)
        | Request::AddDest(key, _)
        | Request::EditDest(key, _)
        | Request::DelDest(key, _) => Some(*key),
        _ => None,
    }
}

/// Reads `keys` over netlink, one GET_SERVICE and one GET_DEST each, into `current`
/// (a service that is not there is left out).
fn read_exactly(
    ipvs: &mut Ipvs,
    keys: &HashSet<ServiceKey>,
    current: &mut Vec<VirtualService>,
) -> Result<(), Error> {
    for key in keys {
        match ipvs.virtual_service(key) {
            Ok(vs) => current.push(vs),
            Err(e) if e.errno() == Some(Errno::ESRCH) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The whole table from one read of /proc/net/ip_vs, completed over netlink for the
/// services FILE gives settings /proc does not show (see [`verify`]).
fn snapshot(ipvs: &mut Ipvs, desired: &[DesiredService]) -> Result<Vec<VirtualService>, Error> {
    let Ok(proc_table) = procfs::read_table() else {
        return ipvs.table();
    };
    let wanted: HashMap<ServiceKey, &VirtualService> =
        desired.iter().map(|d| (d.vs.service.key, &d.vs)).collect();
    let mut exact = HashSet::new();
    let mut seen = HashSet::new();
    let mut current = Vec::with_capacity(proc_table.len());
    for ps in &proc_table {
        let key = match ps.key {
            ProcKey::Addr {
                protocol,
                addr,
                port,
            } => ServiceKey::Addr {
                protocol,
                addr,
                port,
            },
            // /proc does not say a fwmark service's family: FILE's, if FILE has a service
            // with that mark in one family only; else netlink says.
            ProcKey::Fwmark(mark) => {
                let both = [AddressFamily::Inet, AddressFamily::Inet6]
                    .map(|af| ServiceKey::fwmark(af, mark));
                match both.map(|k| wanted.contains_key(&k)) {
                    [true, true] => {
                        exact.extend(both);
                        continue;
                    }
                    [false, true] => both[1],
                    _ => both[0],
                }
            }
        };
        // A repeat (6.1 resumes its table walk by position) adds nothing.
        if !seen.insert(key) {
            continue;
        }
        if wanted.get(&key).is_some_and(|vs| beyond_proc(vs)) {
            exact.insert(key);
            continue;
        }
        let mut service = Service::new(key, ps.scheduler.clone());
        if ps.one_packet {
            service.flags.0 |= ServiceFlags::ONEPACKET;
        }
        if ps.persistent {
            // Not what FILE says of this service (it would be read exactly): a difference.
            service.flags.0 |= ServiceFlags::PERSISTENT;
        }
        let dests = ps
            .dests
            .iter()
            .map(|pd| RealServer::new(Destination::new(pd.addr, pd.port, pd.fwd).weight(pd.weight)))
            .collect();
        current.push(VirtualService {
            service,
            observed: Default::default(),
            dests,
        });
    }
    read_exactly(ipvs, &exact, &mut current)?;
    Ok(current)
}

/// Whether a desired service has settings /proc/net/ip_vs does not show: an engine,
/// scheduler flags, persistence (shown in jiffies), one-packet on IPv6, a netmask,
/// thresholds or tunnels on its destinations.
fn beyond_proc(vs: &VirtualService) -> bool {
    let svc = &vs.service;
    let own_flags = svc.flags.0 & !ServiceFlags::ONEPACKET != 0;
    let ipv6_ops =
        svc.flags.contains(ServiceFlags::ONEPACKET) && svc.key.af() == AddressFamily::Inet6;
    let dest_settings = vs.dests.iter().any(|rs| {
        rs.dest.fwd == FwdMethod::Tunnel || rs.dest.u_threshold != 0 || rs.dest.l_threshold != 0
    });
    svc.pe_name.is_some()
        || own_flags
        || ipv6_ops
        || svc.netmask != Netmask::host(svc.key.af())
        || dest_settings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Destination, FwdMethod, Service};

    #[test]
    fn refusals_come_with_what_to_do() {
        let key = ServiceKey::tcp("10.0.0.1".parse().unwrap(), 80);
        let mh = Request::AddService(Service::new(key, "mh"));
        assert_eq!(
            hint(&mh, Errno::ENOENT).unwrap(),
            "is the module there? modprobe ip_vs_mh"
        );
        let dest = Destination::new("203.0.113.9".parse().unwrap(), 80, FwdMethod::Masq);
        assert!(
            hint(&Request::AddDest(key, dest), Errno::EINVAL)
                .unwrap()
                .contains("ip route get 203.0.113.9")
        );
        assert!(hint(&mh, Errno::EPERM).unwrap().contains("root"));
    }
}
