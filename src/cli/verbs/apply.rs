//! `apply` and `diff`: read FILE and the live table, plan, print the plan; `apply` then
//! runs it stage by stage (adds and edits, moves, weight 0 for `--drain`, deletes), each
//! only if the kernel took every step of those before, and reads the table again to
//! verify.

use std::collections::{HashMap, HashSet};
use std::io::{self, Read, Write};
use std::thread::ScopedJoinHandle;
use std::time::{Duration, Instant};

use nix::errno::Errno;

use super::{connect, desired, memory};
use crate::cli::console::errln;
use crate::cli::errors::{Operation, kernel_message};
use crate::error::Error;
use crate::ipvs::{Ipvs, Listing};
use crate::listing::DestDetail;
use crate::model::{
    DestKey, Destination, Protocol, RealServer, Request, ServiceKey, VirtualService,
};
use crate::netlink::socket::EncodedBatch;
use crate::output::plan::{rule_line, write_change};
use crate::plan::{self, Change, DesiredService, Phase, Plan, Problem, Scope, Step};

/// Exit statuses: as diff(1) for `diff`; for `apply`, 1 when the table could not be made
/// equal to FILE.
pub const EXIT_SAME: i32 = 0;
pub const EXIT_DIFFERENT: i32 = 1;
pub const EXIT_TROUBLE: i32 = 2;

/// What the command line asked for.
pub struct Options {
    /// The name messages start with: `rsipvsadm apply`, `ipvsadm diff`, ...
    pub name: String,
    /// The program's own name (`rsipvsadm`, `ipvsadm`), for advice.
    pub program: String,
    pub file: String,
    pub scope: Scope,
    pub dry_run: bool,
    pub drain: Option<Duration>,
    pub apply: bool,
}

/// Runs `apply` or `diff`; returns the exit status.
pub fn run(opts: &Options) -> i32 {
    let say = |text: &str| errln!("{}: {text}", opts.name);
    let cannot_read = |e: io::Error| {
        say(&format!(
            "cannot read {}: {e} (give a readable file, or - for standard input)",
            opts.file
        ));
        EXIT_TROUBLE
    };
    let input = match open_file(&opts.file) {
        Ok(input) => input,
        Err(e) => return cannot_read(e),
    };
    // A reader that goes away (`apply FILE | head`) must not end apply halfway: the plan's
    // lines then go nowhere, and the kernel work goes on.
    ignore_sigpipe();
    let mut ipvs = match connect() {
        Ok(ipvs) => ipvs,
        Err(message) => {
            say(&message);
            return EXIT_TROUBLE;
        }
    };
    // FILE is parsed while the kernel's table is read: on a large table the two take
    // about as long, and neither needs the other. The real servers are read after, and
    // only the live services the plan needs are kept.
    let (desired, listing) = desired::read_while(input, || ipvs.listing(DestDetail::Configured));
    let cannot_read_table = |e: Error| {
        say(&format!(
            "cannot read the IPVS table: {e}; nothing was changed (try again; `{} -Ln` \
             shows whether the table can be read at all)",
            opts.program
        ));
        EXIT_TROUBLE
    };
    let listing = match listing {
        Ok(listing) => listing,
        Err(e) => return cannot_read_table(e),
    };
    let desired = match desired {
        Ok(desired) => desired,
        Err(e) => return cannot_read(e),
    };
    let mut desired = match desired.and_then(|d| checked(d, &listing.services, &opts.scope)) {
        Ok(desired) => desired,
        Err(problems) => {
            for p in &problems {
                say(&format!("{}: {p}", file_name(&opts.file)));
            }
            say("nothing was changed");
            return EXIT_TROUBLE;
        }
    };
    let live = listing.services.len();
    let (current, unchanged) = match differing(&mut ipvs, listing, &desired, &opts.scope) {
        Ok(read) => read,
        Err(e) => return cannot_read_table(e),
    };
    memory::give_back_free_memory();
    let drain = opts.drain.is_some();
    let plan = plan::plan_except(&desired, &unchanged, &current, &opts.scope, drain);
    if !opts.apply || opts.dry_run || plan.is_empty() {
        if let Err(e) = print_plan(&plan) {
            // The plan is what diff and --dry-run are for.
            say(&format!(
                "cannot print the plan: {e} (send it to a file or pipe that takes it)"
            ));
            std::mem::forget(plan);
            return leave(EXIT_TROUBLE, (desired, current));
        }
        let differs = !opts.apply && !plan.is_empty();
        let status = if differs { EXIT_DIFFERENT } else { EXIT_SAME };
        std::mem::forget(plan);
        return leave(status, (desired, current));
    }
    // The plan is printed on a thread of its own while its requests run (encoded on
    // another): the kernel's work waits neither for the text nor for a slow reader of it.
    // They are encoded a chunk at a time as they run, so that the bytes of a large plan
    // are never all in memory at once. The table is what apply is for: a plan nobody can
    // read does not stop it.
    let refused = std::thread::scope(|scope| {
        let mut run = Runner {
            ipvs: &mut ipvs,
            name: &opts.name,
            program: &opts.program,
            refused: 0,
            printing: Some(scope.spawn(|| print_plan(&plan))),
        };
        run.stages(&plan, opts.drain);
        run.plan_printed();
        run.refused
    });
    // What was read and planned is let go before the table is read again, which takes
    // its room (at 100,000 services the plan alone is tens of megabytes).
    let touched = touched_services(&plan, live.max(desired.len()));
    drop(plan);
    drop(current);
    memory::give_back_free_memory();
    memory::return_large_blocks_at_once();
    let verified = verify(&mut ipvs, &mut desired, &opts.scope, touched);
    let status = match verified {
        Ok(verdict) if verdict.rest.is_empty() && refused == 0 => EXIT_SAME,
        Ok(verdict) if verdict.rest.is_empty() => EXIT_DIFFERENT,
        Ok(mut verdict) => {
            for ignored in &verdict.ignored {
                say(ignored);
            }
            say(
                "the table still differs from FILE (another program changed it, or the \
                 kernel did not take a setting); what is left to do:",
            );
            for line in verdict.rest_lines() {
                errln!("  {line}");
            }
            EXIT_DIFFERENT
        }
        Err(e) => {
            say(&format!(
                "cannot read the table again to verify it: {e} (`{} diff` with the same \
                 FILE tells what differs)",
                opts.program
            ));
            EXIT_DIFFERENT
        }
    };
    leave(status, desired)
}

/// The live services in scope that the plan needs, with their real servers, in the
/// kernel's order: those FILE changes or leaves out. FILE's services the table already
/// has as FILE wants them are marked in the list returned beside (by index into
/// `desired`), and their live copies let go as they are read: at 100,000 services the
/// whole live table held beside FILE's services took 30 MB more.
fn differing(
    ipvs: &mut Ipvs,
    mut listing: Listing,
    desired: &[DesiredService],
    scope: &Scope,
) -> Result<(Vec<VirtualService>, Vec<bool>), Error> {
    // FILE's services by key as indices (4 bytes each, where a key with its index takes
    // 32: 2.8 MB less at 100,000 services, beside the table and FILE's services).
    let key_of = |at: &u32| desired[*at as usize].vs.service.key;
    let mut by_key: Vec<u32> = (0..desired.len() as u32).collect();
    by_key.sort_unstable_by_key(key_of);
    let mut unchanged = vec![false; desired.len()];
    // Those kept are moved to the front, in order.
    let mut kept = 0;
    for i in 0..listing.services.len() {
        let key = listing.services[i].service.key;
        if !scope.contains(&key) {
            continue;
        }
        let vs = ipvs.take_service(&mut listing, i)?;
        if let Ok(at) = by_key.binary_search_by_key(&key, key_of) {
            let at = by_key[at] as usize;
            if plan::unchanged(&desired[at], &vs) {
                unchanged[at] = true;
                continue;
            }
        }
        listing.services[kept] = vs;
        kept += 1;
    }
    let mut current = std::mem::take(&mut listing.services);
    current.truncate(kept);
    current.shrink_to_fit();
    Ok((current, unchanged))
}

/// Returns `status` without freeing `tables`: the process ends right after, and freeing a
/// large table allocation by allocation only delays the exit (measurably, for 10,000
/// services under emulation); the kernel takes the memory back at once.
fn leave<T>(status: i32, tables: T) -> i32 {
    std::mem::forget(tables);
    status
}

fn ignore_sigpipe() {
    use nix::sys::signal::{SigHandler, Signal, signal};
    // SAFETY: SIG_IGN runs no code in the handler; nothing else sets SIGPIPE.
    let _ = unsafe { signal(Signal::SIGPIPE, SigHandler::SigIgn) };
}

fn file_name(file: &str) -> &str {
    if file == "-" { "stdin" } else { file }
}

/// FILE (`-`: standard input), read as far as it takes to tell JSON from rules.
fn open_file(file: &str) -> io::Result<desired::File<Box<dyn Read + Send>>> {
    let input: Box<dyn Read + Send> = if file == "-" {
        Box::new(io::stdin())
    } else {
        Box::new(std::fs::File::open(file)?)
    };
    desired::File::start(input)
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
            problems.push(Problem::new(
                "the live table",
                format!(
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

/// Prints the plan on stdout. A reader that went away (`apply FILE | head`) is no error.
fn print_plan(plan: &Plan) -> io::Result<()> {
    match write_plan(plan, &mut io::stdout().lock()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

fn write_plan(plan: &Plan, out: &mut impl Write) -> io::Result<()> {
    // In pieces: a large plan is never all in memory as text.
    const PIECE: usize = 64 << 10;
    let mut text = String::with_capacity(PIECE + 1024);
    for step in &plan.steps {
        write_change(&mut text, &step.change);
        text.push('\n');
        if text.len() >= PIECE {
            out.write_all(text.as_bytes())?;
            text.clear();
        }
    }
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// Runs steps against the kernel, reporting refusals.
struct Runner<'a, 's> {
    ipvs: &'a mut Ipvs,
    name: &'a str,
    program: &'a str,
    refused: usize,
    /// The plan being printed meanwhile; what apply says on stderr waits for it, so that
    /// the two read in order on a terminal.
    printing: Option<ScopedJoinHandle<'s, io::Result<()>>>,
}

/// Steps encoded and sent at once (the socket splits them further): their bytes are all
/// of a plan's requests in memory at a time.
const APPLY_CHUNK: usize = 4096;

/// Why a stage stopped apply, after the kernel refused one of its steps.
const STOPPED_AFTER: [&str; 3] = [
    "not everything wanted is in place, so no real server was moved, drained or deleted",
    "not every real server could be moved into place, so nothing was drained or deleted",
    "not every real server going away could be set to weight 0, so nothing was deleted \
     (those that were stay at weight 0: run apply again once the cause is fixed)",
];

impl Runner<'_, '_> {
    /// Waits until the plan is printed (the first time), saying so if it could not be.
    fn plan_printed(&mut self) {
        let Some(printing) = self.printing.take() else {
            return;
        };
        let printed = printing
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        if let Err(e) = printed {
            errln!(
                "{}: cannot print the plan: {e}; applying it all the same (`{} diff` shows \
                 it before, `-Sn` the table after)",
                self.name,
                self.program
            );
        }
    }

    /// Runs the plan's stages in order, each only if the kernel took every step before.
    fn stages(&mut self, plan: &Plan, drain: Option<Duration>) {
        let stages = plan.stages();
        // Each stage but the deletes can stop apply.
        for (stage, stopped) in stages.iter().zip(STOPPED_AFTER) {
            self.batch(stage);
            if self.refused > 0 {
                self.plan_printed();
                errln!("{}: {stopped}", self.name);
                return;
            }
        }
        if let Some(limit) = drain {
            self.drain(plan, limit);
        }
        self.batch(stages[3]);
    }

    /// Runs one stage's steps, [`APPLY_CHUNK`] at a time, each chunk encoded just before
    /// it is sent.
    fn batch(&mut self, steps: &[Step]) {
        let encoder = self.ipvs.encoder();
        // The plan borrows its services and destinations; a chunk's requests are made
        // just to be encoded.
        let encode = move |chunk: &[Step]| {
            let requests: Vec<Request> = chunk.iter().map(Step::request).collect();
            encoder.encode(&requests)
        };
        if steps.len() <= APPLY_CHUNK {
            self.send_chunks(steps, std::iter::once(encode(steps)));
            return;
        }
        // The next chunk is encoded on a thread of its own while the kernel works through
        // this one.
        std::thread::scope(|scope| {
            let (tx, rx) = std::sync::mpsc::sync_channel(1);
            scope.spawn(move || {
                for chunk in steps.chunks(APPLY_CHUNK) {
                    // Stops once the sender stopped taking them.
                    if tx.send(encode(chunk)).is_err() {
                        return;
                    }
                }
            });
            self.send_chunks(steps, rx);
        });
    }

    /// Sends a stage's steps, each [`APPLY_CHUNK`] of them encoded in `batches`.
    fn send_chunks(&mut self, steps: &[Step], batches: impl IntoIterator<Item = EncodedBatch>) {
        // A refused service takes its destinations' adds with it (ESRCH).
        let mut refused_services = Vec::new();
        for (done, (chunk, mut batch)) in steps.chunks(APPLY_CHUNK).zip(batches).enumerate() {
            let unsent = steps.len() - done * APPLY_CHUNK;
            if !self.chunk(chunk, &mut batch, unsent, &mut refused_services) {
                return;
            }
        }
    }

    /// One chunk of a stage's steps, `unsent` steps of the stage left with it; false when
    /// the socket failed (the rest of the stage is not sent).
    fn chunk(
        &mut self,
        steps: &[Step],
        batch: &mut EncodedBatch,
        unsent: usize,
        refused_services: &mut Vec<ServiceKey>,
    ) -> bool {
        match self.ipvs.apply_encoded(batch) {
            Ok(outcomes) => {
                for (step, outcome) in steps.iter().zip(outcomes) {
                    let Err(errno) = outcome else { continue };
                    self.refused += 1;
                    match step.change {
                        Change::AddService(svc) => refused_services.push(svc.key),
                        Change::AddDest(svc, _) | Change::EditDest(svc, _)
                            if errno == Errno::ESRCH && refused_services.contains(&svc.key) =>
                        {
                            continue;
                        }
                        _ => {}
                    }
                    self.report_refusal(step, errno);
                }
                true
            }
            Err(e) => {
                self.plan_printed();
                self.refused += unsent;
                let held_back = match unsent - steps.len() {
                    0 => String::new(),
                    n => format!(", and {} more were not sent", count(n as u64, "change")),
                };
                errln!(
                    "{}: {e}: which of the {} sent the kernel made is not known{held_back} \
                     (the verification below tells what is left; apply again to finish)",
                    self.name,
                    count(steps.len() as u64, "change")
                );
                false
            }
        }
    }

    fn report_refusal(&mut self, step: &Step, errno: Errno) {
        self.plan_printed();
        let request = step.request();
        let op = Operation::of(&request).unwrap_or_default();
        let mut text = format!(
            "{}: {}: the kernel refused `{}`: {}",
            self.name,
            step.origin_text(),
            rule_line(&request),
            kernel_message(op, errno)
        );
        if let Some(hint) = hint(&request, errno) {
            text.push_str(&format!(" ({hint})"));
        }
        errln!("{text}");
    }

    /// Waits until the destinations set to weight 0 have no connection left that a
    /// delete would cut, or until `limit` passes, with a progress line on stderr each
    /// second. TCP and SCTP connections count while active (established); UDP flows and
    /// those of fwmark services (which may be UDP) while IPVS tracks them at all, as it
    /// never counts a UDP flow active.
    fn drain(&mut self, plan: &Plan, limit: Duration) {
        self.plan_printed();
        let draining = plan.draining();
        if draining.is_empty() {
            return;
        }
        let mut by_service: HashMap<ServiceKey, Vec<DestKey>> = HashMap::new();
        for (key, dest) in &draining {
            by_service.entry(*key).or_default().push(*dest);
        }
        let only_active = by_service.keys().all(|key| {
            matches!(
                key,
                ServiceKey::Addr {
                    protocol: Protocol::Tcp | Protocol::Sctp,
                    ..
                }
            )
        });
        let what = if only_active {
            "active connection"
        } else {
            "connection"
        };
        // None: no deadline (SECONDS past what a clock can hold).
        let deadline = Instant::now().checked_add(limit);
        loop {
            let mut left_open = 0u64;
            let mut unreadable = None;
            for (key, dests) in &by_service {
                match self.ipvs.real_servers(key) {
                    Ok(servers) => {
                        left_open += servers
                            .iter()
                            .filter(|rs| dests.contains(&rs.dest.key()))
                            .map(|rs| open_connections(key, rs))
                            .sum::<u64>();
                    }
                    // Deleted meanwhile, by another program: nothing left to wait for.
                    Err(e) if e.errno() == Some(Errno::ESRCH) => {}
                    Err(e) => unreadable = Some(e),
                }
            }
            let servers = count(draining.len() as u64, "real server");
            if left_open == 0 && unreadable.is_none() {
                errln!("{}: drained {servers}: no {what} left", self.name);
                return;
            }
            let state = match &unreadable {
                Some(e) => format!("cannot read their connections ({e})"),
                None => count(left_open, what),
            };
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if left.is_some_and(|left| left.is_zero()) {
                let state = match &unreadable {
                    Some(_) => format!("still {state}"),
                    None => format!("{state} left"),
                };
                errln!(
                    "{}: {state} after {} s: deleting anyway",
                    self.name,
                    limit.as_secs()
                );
                return;
            }
            match left {
                Some(left) => errln!(
                    "{}: draining {servers}: {state}, up to {} s more",
                    self.name,
                    left.as_secs()
                ),
                None => errln!("{}: draining {servers}: {state}", self.name),
            }
            let second = Duration::from_secs(1);
            std::thread::sleep(left.map_or(second, |left| left.min(second)));
        }
    }
}

/// The connections of a real server being drained that deleting it would cut.
fn open_connections(key: &ServiceKey, rs: &RealServer) -> u64 {
    let active = u64::from(rs.observed.active_conns);
    match key {
        ServiceKey::Addr {
            protocol: Protocol::Tcp | Protocol::Sctp,
            ..
        } => active,
        _ => active + u64::from(rs.observed.inact_conns),
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
        (_, Errno::EMSGSIZE) => "a name is too long for netlink".into(),
        _ => return None,
    })
}

/// The services `done` changed, if fewer than one in eight of `services`; `None`: past
/// that, which ones no longer matters (the whole table is read again).
fn touched_services(done: &Plan, services: usize) -> Option<HashSet<ServiceKey>> {
    let mut touched = HashSet::new();
    for key in done.steps.iter().map(|s| s.change.service_key()) {
        if touched.insert(key) && touched.len() * 8 >= services {
            return None;
        }
    }
    Some(touched)
}

/// What reading the table again after applying found: the changes still to do (none:
/// the table equals FILE) and the settings the kernel took but did not keep.
#[derive(Default)]
struct Verdict {
    /// Rule lines of the changes left, with their phase for the order they would run in.
    rest: Vec<(Phase, String)>,
    /// See [`ignored_settings`].
    ignored: Vec<String>,
}

impl Verdict {
    /// Adds what is left to do to take `current`, some of the live services, to
    /// `desired`, FILE's services among them (and those of FILE the table lacks).
    fn judge(&mut self, desired: &[DesiredService], current: &[VirtualService], scope: &Scope) {
        let rest = plan::plan(desired, current, scope, false);
        self.ignored.extend(ignored_settings(&rest, current));
        for step in &rest.steps {
            let mut line = String::new();
            write_change(&mut line, &step.change);
            self.rest.push((step.phase, line));
        }
    }

    /// The rule lines of the changes left, in the order they would run.
    fn rest_lines(&mut self) -> impl Iterator<Item = &str> {
        self.rest.sort_by_key(|&(phase, _)| phase);
        self.rest.iter().map(|(_, line)| line.as_str())
    }
}

/// Reads the table again after applying and compares it with FILE's services.
///
/// When the plan touched few services (`touched`, see [`touched_services`]), those are
/// read again exactly (GET_SERVICE and GET_DEST) and the others taken as read before
/// applying (not seen: a service the plan did not touch, changed meanwhile by another
/// program).
/// Else the whole table is read again with every setting a rule can make
/// ([`DestDetail::Configured`], the cheapest way [`Ipvs::listing`] knows), and compared
/// [`VERIFY_BATCH`] services at a time, each real server list as it is read: the
/// table is never held whole beside FILE's services (at 100,000 x 2 that was 30 MB
/// more). FILE's services are sorted by key for that, and let go of as they are
/// compared: after this, `desired` is no longer FILE's.
fn verify(
    ipvs: &mut Ipvs,
    desired: &mut [DesiredService],
    scope: &Scope,
    touched: Option<HashSet<ServiceKey>>,
) -> Result<Verdict, Error> {
    let mut verdict = Verdict::default();
    if let Some(touched) = touched {
        let mut current = Vec::with_capacity(touched.len());
        read_exactly(ipvs, &touched, &mut current)?;
        let desired: Vec<DesiredService> = desired
            .iter()
            .filter(|d| touched.contains(&d.vs.service.key))
            .cloned()
            .collect();
        verdict.judge(&desired, &current, scope);
        return Ok(verdict);
    }
    // `check` made the keys unique.
    desired.sort_unstable_by_key(|d| d.vs.service.key);
    let mut compared = vec![false; desired.len()];
    let mut listing = ipvs.listing(DestDetail::Configured)?;
    let mut start = 0;
    while start < listing.services.len() {
        let end = listing.services.len().min(start + VERIFY_BATCH);
        let mut current = Vec::with_capacity(end - start);
        let mut wanted = Vec::new();
        for i in start..end {
            let key = listing.services[i].service.key;
            let at = desired.binary_search_by_key(&key, |d| d.vs.service.key);
            if let Ok(at) = at {
                // `Ipvs::listing` lists each key once.
                compared[at] = true;
                wanted.push(std::mem::replace(
                    &mut desired[at],
                    DesiredService::placeholder(key),
                ));
            }
            current.push(ipvs.take_service(&mut listing, i)?);
        }
        verdict.judge(&wanted, &current, scope);
        start = end;
    }
    // FILE's services the table does not have.
    let missing: Vec<DesiredService> = desired
        .iter_mut()
        .zip(&compared)
        .filter(|(_, compared)| !**compared)
        .map(|(d, _)| {
            let key = d.vs.service.key;
            std::mem::replace(d, DesiredService::placeholder(key))
        })
        .collect();
    verdict.judge(&missing, &[], scope);
    Ok(verdict)
}

/// Live services compared with FILE at a time by [`verify`]: their real servers are all
/// the table it holds at once.
const VERIFY_BATCH: usize = 1024;

/// What the kernel took without a word but did not keep: tunnel settings, which kernels
/// before 5.2 (GUE) and 5.3 (GRE, checksum flags) do not know and leave out silently, so
/// that a real server asked for with them reads back as a plain IPIP tunnel. One line per
/// such real server in `rest` (the changes still to do after applying), from `read_back`
/// (the table read after applying).
fn ignored_settings(rest: &Plan, read_back: &[VirtualService]) -> Vec<String> {
    let mut lines = Vec::new();
    for step in &rest.steps {
        let Change::EditDest(svc, wanted) = step.change else {
            continue;
        };
        let Some(live) = read_back
            .iter()
            .find(|vs| vs.service.key == svc.key)
            .and_then(|vs| {
                vs.dests
                    .iter()
                    .find(|rs| rs.dest.addr == wanted.addr && rs.dest.port == wanted.port)
            })
            .map(|rs| &rs.dest)
        else {
            continue;
        };
        let plain = Destination::new(live.addr, live.port, live.fwd);
        let dropped = [
            (wanted.tun_type != live.tun_type && live.tun_type == plain.tun_type)
                .then_some("--tun-type"),
            (wanted.tun_port != live.tun_port && live.tun_port == plain.tun_port)
                .then_some("--tun-port"),
            (wanted.tun_flags != live.tun_flags && live.tun_flags == plain.tun_flags)
                .then_some("--tun-nocsum/--tun-csum/--tun-remcsum"),
        ];
        let dropped: Vec<&str> = dropped.into_iter().flatten().collect();
        if dropped.is_empty() {
            continue;
        }
        lines.push(format!(
            "the kernel accepted but did not keep {} of `{}` (from {}): it reads back as a \
             plain IPIP tunnel; kernels before 5.2 know no GUE, before 5.3 no GRE and no \
             checksum flags (run a newer kernel, or ask for --tun-type ipip)",
            dropped.join(", "),
            rule_line(&step.request()),
            step.origin_text(),
        ));
    }
    lines
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{FwdMethod, Service};

    fn desired(services: Vec<VirtualService>) -> Vec<DesiredService> {
        services
            .into_iter()
            .map(|vs| DesiredService {
                dest_origins: vec![plan::Origin::Line(2); vs.dests.len()],
                vs,
                origin: plan::Origin::Line(1),
            })
            .collect()
    }

    #[test]
    fn tunnel_settings_a_kernel_did_not_keep_are_named() {
        use crate::model::{TunnelFlags, TunnelType};
        let web = ServiceKey::tcp("10.0.0.1".parse().unwrap(), 80);
        let ipip = Destination::new("10.0.0.2".parse().unwrap(), 80, FwdMethod::Tunnel);
        let gue = Destination {
            tun_type: TunnelType::Gue,
            tun_port: 6080,
            tun_flags: TunnelFlags(TunnelFlags::CSUM),
            ..ipip.clone()
        };
        let file = desired(vec![
            VirtualService::new(Service::new(web, "rr")).with_dest(gue.clone()),
        ]);
        let read_back = |dest: &Destination| {
            vec![VirtualService::new(Service::new(web, "rr")).with_dest(dest.clone())]
        };
        // A kernel before 5.2: the real server is there, as a plain IPIP tunnel.
        let old = read_back(&ipip);
        let rest = plan::plan(&file, &old, &Scope::everything(), false);
        let lines = ignored_settings(&rest, &old);
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(
            lines[0].starts_with(
                "the kernel accepted but did not keep --tun-type, --tun-port, \
                 --tun-nocsum/--tun-csum/--tun-remcsum of `-e -t 10.0.0.1:80 -r 10.0.0.2:80 -i"
            ),
            "{}",
            lines[0]
        );
        assert!(lines[0].contains("(from line 2)"), "{}", lines[0]);
        assert!(lines[0].contains("before 5.2 know no GUE"), "{}", lines[0]);
        // Another writer's weight is not a setting the kernel ignored.
        let reweighted = read_back(&gue.clone().weight(5));
        let rest = plan::plan(&file, &reweighted, &Scope::everything(), false);
        assert_eq!(rest.steps.len(), 1);
        assert!(ignored_settings(&rest, &reweighted).is_empty());
        // Nor is a kept GUE tunnel on another port (set by someone else).
        let moved = read_back(&Destination {
            tun_port: 7000,
            ..gue.clone()
        });
        let rest = plan::plan(&file, &moved, &Scope::everything(), false);
        assert!(ignored_settings(&rest, &moved).is_empty());
    }

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
