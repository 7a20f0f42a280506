//! Runs a parsed command against the kernel, printing what ipvsadm prints and returning
//! its exit status.

use std::ffi::OsString;
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;

use super::args::{self, ParseError, RuleArgv};
use super::console::{self, errln};
use super::errors::{Operation, kernel_message};
use super::rules::{RuleLine, RuleReader};
use super::usage::{own_name, usage, version_line};
use super::verbs;
use super::{Command, ListOptions, RestoreMode};
use crate::error::Error;
use crate::ipvs::Ipvs;
use crate::listing::DestDetail;
use crate::model::{Info, Request, ServiceKey, State, VirtualService};
use crate::netns::{self, Netns, NetnsError};
use crate::sockopt::SockoptTable;
use crate::{json, output, procfs};
use nix::errno::Errno;

/// Exit status of a failed kernel change (ipvsadm's `return -1` from main).
const EXIT_KERNEL: i32 = 255;
/// Exit status of a failed listing.
const EXIT_LIST: i32 = 1;
/// Exit status of validation errors and of a failed initialisation.
const EXIT_USAGE: i32 = 2;
/// Changes `-R` sends in one batch at most (the socket may split it further). Larger
/// batches cost the kernel more (measured in the VM: the probe's 6000 rules took 0.06 s
/// of system time in batches of 256, 0.09 s in batches of 1024).
const RESTORE_BATCH: usize = 256;
/// `-R`'s input buffer: a few thousand rules.
const RESTORE_INPUT_BUFFER: usize = 64 * 1024;
/// How many services a listing takes the real servers of before it writes them: what it
/// holds at most of them (see `stream_table`).
const STREAM_BATCH: usize = 8192;

/// The whole program: parse argv, connect, run, report.
pub fn main_with_args(argv: Vec<OsString>) -> i32 {
    let argv0 = argv
        .first()
        .map_or_else(|| b"ipvsadm".to_vec(), |a| a.as_bytes().to_vec());
    // `--netns` first of all: everything after, the socket included, is in there.
    let argv = match netns::take_option(&argv) {
        None => argv,
        Some((given, rest)) => {
            let entered = given
                .ok_or(NetnsError::Empty)
                .and_then(Netns::new)
                .and_then(|ns| ns.enter());
            if let Err(error) = entered {
                errln!("{}: {error}", own_name(&argv0));
                return EXIT_USAGE;
            }
            rest
        }
    };
    // rsipvsadm's verbs are words ipvsadm refuses as a first argument.
    if argv
        .get(1)
        .is_some_and(|a| verbs::VERBS.iter().any(|v| a.as_bytes() == v.as_bytes()))
    {
        return verbs::run(own_name(&argv0), &argv);
    }
    let parsed = args::parse(&argv);
    // Unlike ipvsadm, help and version need no kernel.
    match parsed {
        Ok(Command::Help) => return print_stdout(&usage(&argv0)),
        Ok(Command::Version) => return print_stdout(version_line(&argv0).as_bytes()),
        _ => {}
    }
    // ipvsadm connects before it looks at the arguments, so an unusable IPVS wins over a
    // bad command line.
    let (ipvs, info) = match connect() {
        Ok(pair) => pair,
        Err(message) => {
            errln!(
                "Can't initialize ipvs: {message}\n\
                 Are you sure that IP Virtual Server is built in the kernel or as module?"
            );
            return EXIT_USAGE;
        }
    };
    let mut session = Session {
        ipvs,
        info,
        argv0,
        last_op: Operation::Init,
    };
    match parsed {
        Ok(command) => session.execute(command),
        Err(error) => report_parse_error(&error),
    }
}

fn connect() -> Result<(Ipvs, Info), String> {
    let mut ipvs = Ipvs::open().map_err(|e| init_error_text(&e))?;
    let info = ipvs.info().map_err(|e| init_error_text(&e))?;
    Ok((ipvs, info))
}

/// ipvsadm's text for a failed start-up.
fn init_error_text(error: &Error) -> String {
    match error {
        Error::IpvsMissing => kernel_message(Operation::Init, legacy_interface_errno()),
        Error::Kernel(errno) => kernel_message(Operation::Init, *errno),
        other => other.to_string(),
    }
}

/// When the netlink family is missing, ipvsadm falls back to IPVS's old socket-option
/// interface and reports how that failed: a raw IPv4 socket needs CAP_NET_RAW (EPERM:
/// "Permission denied (you must be root)"), and without the module the socket option is
/// unknown (ENOPROTOOPT: "Protocol not available"). Asking the same questions gives the
/// same answer.
fn legacy_interface_errno() -> Errno {
    let asked = SockoptTable::open().and_then(|table| table.ipv4_services());
    match asked {
        Err(e) => Errno::from_raw(e.raw_os_error().unwrap_or(libc::ENOPROTOOPT)),
        // Answered after all (the module loaded meanwhile): no better text exists.
        Ok(_) => Errno::ENOPROTOOPT,
    }
}

/// The exit status of writing a JSON document.
fn written(result: io::Result<()>) -> i32 {
    match result {
        Ok(()) => 0,
        Err(e) => {
            errln!("cannot write the JSON document: {e}");
            EXIT_LIST
        }
    }
}

fn report_parse_error(error: &ParseError) -> i32 {
    console::stderr_bytes(&error.message);
    error.exit_code
}

fn print_stdout(text: &[u8]) -> i32 {
    console::stdout_bytes(text);
    0
}

/// The state ipvsadm keeps for the life of the process (and across `-R` lines).
struct Session {
    ipvs: Ipvs,
    info: Info,
    argv0: Vec<u8>,
    last_op: Operation,
}

impl Session {
    fn execute(&mut self, command: Command) -> i32 {
        match Step::of(command) {
            Step::Change(op, request) => self.change(op, request),
            Step::Other(other) => self.run_other(other),
        }
    }

    fn run_other(&mut self, other: Other) -> i32 {
        match other {
            Other::Help => print_stdout(&usage(&self.argv0)),
            Other::Version => print_stdout(version_line(&self.argv0).as_bytes()),
            Other::List(opts) => self.list(&opts),
            Other::Save { numeric } => self.save(numeric),
            Other::Restore(mode) => self.restore(mode),
        }
    }

    /// Applies one change; a refusal prints ipvsadm's message and exits 255.
    fn change(&mut self, op: Option<Operation>, request: Request) -> i32 {
        if let Some(op) = op {
            self.last_op = op;
        }
        match self.ipvs.apply(&request) {
            Ok(()) => 0,
            Err(error) => {
                errln!("{}", self.error_text(&error));
                EXIT_KERNEL
            }
        }
    }

    /// Applies queued changes in one batch, then reports each refusal in order, as if
    /// they had run one by one (prefixed with its line number when it has one). Returns
    /// the status of the last change (or `status` if none) and how many were refused.
    fn apply_queued(&mut self, queued: &mut Queued, status: i32) -> (i32, usize) {
        if queued.requests.is_empty() {
            return (status, 0);
        }
        let outcomes = self.ipvs.apply_batch(&queued.requests);
        queued.requests.clear();
        let outcomes = match outcomes {
            Ok(outcomes) => outcomes,
            Err(error) => {
                let count = queued.origins.len();
                queued.origins.clear();
                errln!("{error}");
                return (EXIT_KERNEL, count);
            }
        };
        let (mut last, mut refused) = (0, 0);
        for (origin, outcome) in queued.origins.drain(..).zip(outcomes) {
            if let Some(op) = origin.op {
                self.last_op = op;
            }
            last = match outcome {
                Ok(()) => 0,
                Err(errno) => {
                    refused += 1;
                    let message = kernel_message(self.last_op, errno);
                    match origin.line {
                        Some(line) => errln!("line {line}: {message}"),
                        None => errln!("{message}"),
                    }
                    EXIT_KERNEL
                }
            };
        }
        (last, refused)
    }

    fn error_text(&self, error: &Error) -> String {
        match error {
            Error::Kernel(errno) => kernel_message(self.last_op, *errno),
            other => other.to_string(),
        }
    }

    fn list(&mut self, opts: &ListOptions) -> i32 {
        let mut out = io::BufWriter::new(io::stdout().lock());
        let status = if opts.json {
            self.list_json(&mut out, opts)
        } else if opts.connection {
            self.list_connections(&mut out, opts)
        } else if let Some(key) = opts.service {
            self.list_one_service(&mut out, &key, opts)
        } else if opts.timeout {
            self.list_timeouts(&mut out)
        } else if opts.daemon {
            self.list_daemons(&mut out)
        } else {
            self.list_table(&mut out, opts)
        };
        let _ = out.flush();
        status
    }

    /// `-L --json` (rsipvsadm's own): the whole state, one service, or the connections.
    /// Unlike ipvsadm's listings, a document that could not be written whole is an error
    /// (exit 1): a program reading it must not take a cut one for the state.
    fn list_json(&mut self, out: &mut dyn Write, opts: &ListOptions) -> i32 {
        if opts.connection {
            return match procfs::read_connections() {
                Ok(connections) => {
                    written(json::write_connections(out, &connections).and_then(|()| out.flush()))
                }
                Err(e) => {
                    errln!("cannot read /proc/net/ip_vs_conn: {e}");
                    EXIT_LIST
                }
            };
        }
        let state = if let Some(key) = opts.service {
            self.last_op = Operation::GetService;
            self.ipvs.virtual_service(&key).map(|vs| State {
                services: vec![vs],
                ..State::default()
            })
        } else {
            self.last_op = Operation::GetDests;
            self.ipvs.state().map(|mut state| {
                if !opts.nosort {
                    // Services as listings sort them; destinations stay in the kernel's
                    // order, the one sh, dh and mh hash over (and apply reproduces).
                    output::sort_services(&mut state.services);
                }
                state
            })
        };
        match state {
            Ok(state) => written(json::write_state(out, &state).and_then(|()| out.flush())),
            Err(error) => self.list_failure(out, &error),
        }
    }

    fn list_connections(&mut self, out: &mut dyn Write, opts: &ListOptions) -> i32 {
        let text = std::fs::read_to_string("/proc/net/ip_vs_conn").ok();
        match output::write_connections(out, text.as_deref(), opts) {
            Ok(()) => 0,
            Err(error) => {
                let _ = out.flush();
                console::stderr_bytes(error.0.as_bytes());
                EXIT_LIST
            }
        }
    }

    fn list_one_service(
        &mut self,
        out: &mut dyn Write,
        key: &ServiceKey,
        opts: &ListOptions,
    ) -> i32 {
        self.last_op = Operation::GetService;
        let entry = self.ipvs.listed_service(key).and_then(|mut vs| {
            self.last_op = Operation::GetDests;
            vs.dests = self.ipvs.real_servers(key)?;
            Ok(vs)
        });
        match entry {
            Ok(entry) => {
                let mut table = [entry];
                if !opts.nosort {
                    output::sort_table(&mut table);
                }
                let _ = output::write_title(out, opts)
                    .and_then(|_| output::write_service(out, &table[0], opts));
                0
            }
            Err(error) => self.list_failure(out, &error),
        }
    }

    fn list_timeouts(&mut self, out: &mut dyn Write) -> i32 {
        self.last_op = Operation::GetTimeouts;
        match self.ipvs.timeouts() {
            Ok(t) => {
                let _ = output::write_timeouts(out, &t);
                0
            }
            Err(_) => EXIT_LIST,
        }
    }

    fn list_daemons(&mut self, out: &mut dyn Write) -> i32 {
        self.last_op = Operation::GetDaemons;
        match self.ipvs.daemons() {
            Ok(daemons) => {
                let _ = output::write_daemons(out, &daemons);
                0
            }
            Err(_) => EXIT_LIST,
        }
    }

    fn list_table(&mut self, out: &mut dyn Write, opts: &ListOptions) -> i32 {
        // ipvsadm prints the version line before it asks for the services, the title
        // after.
        let _ = output::write_version_line(out, &self.info);
        self.stream_table(out, !opts.nosort, opts.dest_detail(), |out, vs| match vs {
            None => output::write_title(out, opts),
            Some(vs) => output::write_service(out, vs, opts),
        })
    }

    /// Reads the table and writes each service with `write` as ipvsadm does: the
    /// services first (sorted if `sorted`), then each one's real servers as it is
    /// written, so that a large table's real servers are never all held. `write` is
    /// called once with `None` when the services are read; its errors (a closed pipe)
    /// are ignored as ipvsadm ignores them.
    fn stream_table(
        &mut self,
        out: &mut dyn Write,
        sorted: bool,
        detail: DestDetail,
        mut write: impl FnMut(&mut dyn Write, Option<&VirtualService>) -> io::Result<()>,
    ) -> i32 {
        // A service dump only ever fails with generic texts, the destination dumps with
        // those of GET_DEST (as in ipvsadm, which starts with the service dump).
        self.last_op = Operation::GetDests;
        let mut listing = match self.ipvs.listing(detail) {
            Ok(listing) => listing,
            Err(error) => return self.list_failure(out, &error),
        };
        let _ = write(out, None);
        let order = if sorted {
            output::service_order(&listing.services)
        } else {
            (0..listing.services.len()).collect()
        };
        for batch in order.chunks(STREAM_BATCH) {
            // Asked for in the kernel's order (the listing's): each lookup walks a hash
            // chain of the kernel's, which stays cached for the next service of the same
            // chain. In the sorted order every lookup found its chain cold: -Ln of
            // 100,000 x 2 took twice as long (6.12, in the VM).
            let mut by_kernel = batch.to_vec();
            by_kernel.sort_unstable();
            for i in by_kernel {
                let mut dests = match self.ipvs.take_dests(&mut listing, i) {
                    Ok(dests) => dests,
                    Err(error) => return self.list_failure(out, &error),
                };
                if sorted {
                    output::sort_dests(&mut dests);
                }
                listing.services[i].dests = dests;
            }
            for &i in batch {
                let vs = &mut listing.services[i];
                let _ = write(out, Some(vs));
                vs.dests = Vec::new();
            }
        }
        0
    }

    fn list_failure(&self, out: &mut dyn Write, error: &Error) -> i32 {
        let _ = out.flush();
        errln!("{}", self.error_text(error));
        EXIT_LIST
    }

    fn save(&mut self, numeric: bool) -> i32 {
        let mut out = io::BufWriter::new(io::stdout().lock());
        let status = self.stream_table(&mut out, true, DestDetail::Saved, |out, vs| match vs {
            Some(vs) => output::write_save(out, std::slice::from_ref(vs), numeric),
            None => Ok(()),
        });
        let _ = out.flush();
        status
    }

    fn restore(&mut self, mode: RestoreMode) -> i32 {
        // A buffer of our own: -R asks it whether the next line is already there.
        let input = io::BufReader::with_capacity(RESTORE_INPUT_BUFFER, io::stdin());
        let mut lines = RuleReader::new(input);
        match mode {
            RestoreMode::Compatible => self.restore_compatible(&mut lines),
            RestoreMode::Test => match self.check_lines(&mut lines) {
                Ok(_) => 0,
                Err(()) => EXIT_USAGE,
            },
            RestoreMode::Strict => match self.check_lines(&mut lines) {
                Ok(commands) => self.restore_strict(commands),
                Err(()) => EXIT_USAGE,
            },
        }
    }

    /// `-R`, with ipvsadm's observable behaviour: every line is a command line of its
    /// own, run in order, with the same messages and exit status. Runs of consecutive
    /// changes go to the kernel in batches; anything else (a listing, an error that ends
    /// the restore) first waits for the changes before it. A batch goes when it is full
    /// or when the next line is not read yet (reading may wait for a slow producer,
    /// whose rules are applied as they come, as ipvsadm applies them): memory stays the
    /// same whatever the size of the input.
    fn restore_compatible<R: io::Read>(&mut self, lines: &mut RuleReader<io::BufReader<R>>) -> i32 {
        let mut status = 0;
        let mut queued = Queued::default();
        let argv = RuleArgv::new(&self.argv0);
        let mut line = RuleLine::default();
        while lines.read_into(&mut line) {
            let command = match argv.parse(&line).map(Step::of) {
                Ok(Step::Change(op, request)) => {
                    queued.push(op, request, None);
                    if queued.requests.len() >= RESTORE_BATCH || !lines.line_buffered() {
                        status = self.apply_queued(&mut queued, status).0;
                    }
                    continue;
                }
                Ok(Step::Other(other)) => Ok(other),
                Err(error) => Err(error),
            };
            self.apply_queued(&mut queued, status);
            status = match command {
                // -h and -v end a restore at once.
                Ok(Other::Help) => return print_stdout(&usage(&self.argv0)),
                Ok(Other::Version) => return print_stdout(version_line(&self.argv0).as_bytes()),
                Ok(Other::Restore(_)) => {
                    return report_parse_error(&ParseError::try_help(&self.argv0));
                }
                Ok(other) => self.run_other(other),
                // Validation errors and the "Try" line abort the restore; popt errors
                // (exit 255 with a message of their own) only fail their line.
                Err(error) if error.exit_code == EXIT_KERNEL && !error.is_try_help() => {
                    report_parse_error(&error)
                }
                Err(error) => return report_parse_error(&error),
            };
        }
        self.apply_queued(&mut queued, status).0
    }

    /// `--test` and the first pass of `--strict`: every line parsed and checked, every bad
    /// one reported as `line N: message` on stderr. Comment lines (`#` first) are
    /// skipped: rule files often start with one.
    fn check_lines<R: io::BufRead>(
        &self,
        lines: &mut RuleReader<R>,
    ) -> Result<Vec<(usize, Command)>, ()> {
        let mut commands = Vec::new();
        let mut bad = 0;
        let argv = RuleArgv::new(&self.argv0);
        let mut line = RuleLine::default();
        while lines.read_into(&mut line) {
            if line.is_comment() {
                continue;
            }
            let number = line.number;
            let problem = match argv.parse(&line) {
                Ok(Command::Help | Command::Version | Command::Restore(_)) => {
                    b"-h, -v and -R have no place in rules".to_vec()
                }
                Ok(command) => {
                    commands.push((number, command));
                    continue;
                }
                Err(error) => error.one_line(),
            };
            bad += 1;
            let prefix = format!("line {number}: ");
            console::stderr_bytes(&[prefix.as_bytes(), &problem, b"\n"].concat());
        }
        if bad == 0 { Ok(commands) } else { Err(()) }
    }

    /// The second pass of `--strict`: everything applied in order, each refused rule
    /// reported with its line number; non-zero if any was refused.
    fn restore_strict(&mut self, commands: Vec<(usize, Command)>) -> i32 {
        let mut queued = Queued::default();
        let mut failed = false;
        for (number, command) in commands {
            match Step::of(command) {
                Step::Change(op, request) => queued.push(op, request, Some(number)),
                Step::Other(other) => {
                    failed |= self.apply_queued(&mut queued, 0).1 > 0;
                    failed |= self.run_other(other) != 0;
                }
            }
        }
        failed |= self.apply_queued(&mut queued, 0).1 > 0;
        if failed { EXIT_KERNEL } else { 0 }
    }
}

/// Changes waiting for their batch, kept as the slice the batch is sent from, with where
/// each came from alongside.
#[derive(Default)]
struct Queued {
    requests: Vec<Request>,
    origins: Vec<Origin>,
}

struct Origin {
    /// The operation ipvsadm's error texts follow (`None`: the last one stays).
    op: Option<Operation>,
    /// The input line, for `--strict` reports.
    line: Option<usize>,
}

impl Queued {
    fn push(&mut self, op: Option<Operation>, request: Request, line: Option<usize>) {
        self.requests.push(request);
        self.origins.push(Origin { op, line });
    }
}

/// A parsed command as the runner sees it: a kernel change, or anything else.
enum Step {
    /// The change, with the operation ipvsadm's error texts follow (`None`: the last one
    /// stays, as for flush).
    Change(Option<Operation>, Request),
    Other(Other),
}

/// The commands that change nothing in the kernel.
enum Other {
    Help,
    Version,
    List(ListOptions),
    Save { numeric: bool },
    Restore(RestoreMode),
}

impl Step {
    fn of(command: Command) -> Step {
        let request = match command {
            Command::AddService(svc) => Request::AddService(svc),
            Command::EditService(svc) => Request::EditService(svc),
            Command::DeleteService(key) => Request::DelService(key),
            Command::Clear => Request::Flush,
            Command::AddServer(key, dest) => Request::AddDest(key, dest),
            Command::EditServer(key, dest) => Request::EditDest(key, dest),
            Command::DeleteServer(key, dest) => Request::DelDest(key, dest),
            Command::Zero(key) => Request::Zero(zero_target(key)),
            Command::SetTimeouts(t) => Request::SetTimeouts(t),
            Command::StartDaemon(d) => Request::StartDaemon(d),
            Command::StopDaemon { state, .. } => Request::StopDaemon(state),
            Command::Help => return Step::Other(Other::Help),
            Command::Version => return Step::Other(Other::Version),
            Command::List(opts) => return Step::Other(Other::List(opts)),
            Command::Save { numeric } => return Step::Other(Other::Save { numeric }),
            Command::Restore(mode) => return Step::Other(Other::Restore(mode)),
        };
        Step::Change(Operation::of(&request), request)
    }
}

/// ipvsadm zeroes everything when asked to zero a service whose address, port and mark
/// are all zero.
fn zero_target(key: Option<ServiceKey>) -> Option<ServiceKey> {
    key.filter(|key| match key {
        ServiceKey::Addr { addr, port, .. } => !addr.is_unspecified() || *port != 0,
        ServiceKey::Fwmark { .. } => true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zeroing_an_all_zero_service_zeroes_everything() {
        let any = ServiceKey::tcp("0.0.0.0".parse().unwrap(), 0);
        assert_eq!(zero_target(Some(any)), None);
        let one = ServiceKey::tcp("10.0.0.1".parse().unwrap(), 0);
        assert_eq!(zero_target(Some(one)), Some(one));
    }
}
