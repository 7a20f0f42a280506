//! rsipvsadm's verbs, words ipvsadm rejects (so nothing compatible moves): `apply`,
//! `diff`, `metrics` and `top`. A clap frontend: one definition per verb gives the parser,
//! `--help` and the shell completions (`cli::spec` adds these commands to the completion
//! tree).

mod apply;
mod desired;
mod memory;
pub mod metrics;
pub mod top;

use std::ffi::OsString;
use std::time::Duration;

use clap::builder::ValueParser;
use clap::{Arg, ArgAction, ArgMatches, Command, ValueHint};

use nix::errno::Errno;

use crate::error::Error;
use crate::ipvs::Ipvs;
use crate::plan::{Scope, ScopeItem};

/// The verbs, as the first argument.
pub const VERBS: &[&str] = &["apply", "diff", "metrics", "top"];

const FILE_HELP: &str = "The desired state: a rule file as -S writes it (-A and -a lines, \
    comments and blank lines allowed) or the JSON document -L --json prints; - or nothing \
    for standard input";

const SCOPE_HELP: &str = "Touch only services in SCOPE: a VIP prefix (10.0.0.0/8, \
    2001:db8::/32, one address) or a fwmark range (fwmark:100-199, fwmark:7). Repeat to \
    add scopes up; live services outside every scope are never changed, and a service of \
    FILE outside is an error";

fn file_arg() -> Arg {
    Arg::new("file")
        .value_name("FILE")
        .default_value("-")
        .value_hint(ValueHint::FilePath)
        .help(FILE_HELP)
}

fn scope_arg() -> Arg {
    Arg::new("scope")
        .long("scope")
        .value_name("SCOPE")
        .action(ArgAction::Append)
        .value_parser(ValueParser::new(|s: &str| s.parse::<ScopeItem>()))
        .value_hint(ValueHint::Other)
        .help(SCOPE_HELP)
}

/// `rsipvsadm apply`.
pub fn apply_command() -> Command {
    Command::new("apply")
        .about("Make the live table equal to FILE, without flushing it")
        .long_about(
            "Make the live IPVS table equal to FILE without flushing it: read the table, \
             compute the smallest plan, print it as ipvsadm rule lines, and run it in \
             batches, each only if the kernel took every change before: adds and edits; \
             moves of sh, dh and mh real servers into FILE's order; with --drain, weight \
             0 for what goes away; deletes. Then read the table again to verify. What did not change is not touched: its \
             connections and counters survive. A bad FILE changes nothing. Exit status: \
             0 when the table equals FILE, 1 when a change was refused or the table still \
             differs, 2 when FILE or the command line is bad or IPVS cannot be reached.",
        )
        .arg(
            Arg::new("dry-run")
                .long("dry-run")
                .action(ArgAction::SetTrue)
                .help("Print the plan and change nothing"),
        )
        .arg(scope_arg())
        .arg(
            Arg::new("drain")
                .long("drain")
                .value_name("SECONDS")
                .value_parser(clap::value_parser!(u64))
                .value_hint(ValueHint::Other)
                .help(
                    "Set each real server that goes away to weight 0 first, wait until its \
                     connections end (TCP, SCTP: established ones; UDP and fwmark: all) or \
                     SECONDS pass, then delete it",
                ),
        )
        .arg(file_arg())
}

/// `rsipvsadm diff`.
pub fn diff_command() -> Command {
    Command::new("diff")
        .about("Print what apply would do; exit 0 if the table equals FILE, 1 if not")
        .long_about(
            "Print the plan apply would run, as ipvsadm rule lines, and change nothing. \
             Exit status as diff(1): 0 when the live table equals FILE, 1 when it differs, \
             2 on error: a drift check for cron and monitoring.",
        )
        .arg(scope_arg())
        .arg(file_arg())
}

/// Runs a verb: `argv[1]` is one of [`VERBS`]. Returns the exit status.
pub fn run(bin_name: &str, argv: &[OsString]) -> i32 {
    let verb = argv[1].to_string_lossy().into_owned();
    let command = match verb.as_str() {
        "apply" => apply_command(),
        "metrics" => metrics::command(),
        "top" => top::command(),
        _ => diff_command(),
    }
    .bin_name(format!("{bin_name} {verb}"));
    let matches = match command.try_get_matches_from(&argv[1..]) {
        Ok(matches) => matches,
        Err(e) => {
            // --help and --version print to stdout and exit 0; usage errors exit 2.
            let _ = e.print();
            return e.exit_code();
        }
    };
    let name = format!("{bin_name} {verb}");
    match verb.as_str() {
        "metrics" => metrics::run(&name, bin_name, &matches),
        "top" => top::run(&name, bin_name, &matches),
        _ => apply::run(&options(bin_name, &verb, &matches)),
    }
}

/// Opens IPVS and checks access, for the verbs; the error says what to do.
pub(crate) fn connect() -> Result<Ipvs, String> {
    let mut ipvs = Ipvs::open().map_err(|e| match e {
        Error::IpvsMissing => "IPVS is missing from this kernel and `modprobe ip_vs` did not \
                               load it: on a kernel built with IPVS (CONFIG_IP_VS, as \
                               Debian's are) run `modprobe ip_vs` as root (in a container: \
                               on the host), or boot such a kernel"
            .to_string(),
        other => unreachable_ipvs(&other),
    })?;
    ipvs.info().map_err(|e| match e.errno() {
        Some(Errno::EPERM) => "permission denied: run as root (IPVS needs CAP_NET_ADMIN)".into(),
        _ => unreachable_ipvs(&e),
    })?;
    Ok(ipvs)
}

fn unreachable_ipvs(e: &Error) -> String {
    format!(
        "cannot reach IPVS: {e} (check that no seccomp profile or security module blocks \
         netlink sockets here, and that the process has file descriptors left)"
    )
}

fn options(bin_name: &str, verb: &str, matches: &ArgMatches) -> apply::Options {
    let apply = verb == "apply";
    apply::Options {
        name: format!("{bin_name} {verb}"),
        program: bin_name.to_string(),
        file: matches
            .get_one::<String>("file")
            .cloned()
            .unwrap_or_else(|| "-".into()),
        scope: Scope {
            items: matches
                .get_many::<ScopeItem>("scope")
                .map(|items| items.copied().collect())
                .unwrap_or_default(),
        },
        dry_run: apply && matches.get_flag("dry-run"),
        drain: if apply {
            matches
                .get_one::<u64>("drain")
                .map(|s| Duration::from_secs(*s))
        } else {
            None
        },
        apply,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<apply::Options, clap::Error> {
        let command = match args[0] {
            "apply" => apply_command(),
            _ => diff_command(),
        };
        command
            .try_get_matches_from(args)
            .map(|m| options("rsipvsadm", args[0], &m))
    }

    #[test]
    fn the_verbs_options() {
        let o = parse(&[
            "apply",
            "--dry-run",
            "--scope",
            "10.0.0.0/8",
            "--scope=fwmark:5-9",
            "--drain",
            "30",
            "rules",
        ])
        .unwrap();
        assert!(o.apply && o.dry_run);
        assert_eq!(o.file, "rules");
        assert_eq!(o.drain, Some(Duration::from_secs(30)));
        assert_eq!(o.scope.to_string(), "10.0.0.0/8, fwmark:5-9");
        let o = parse(&["diff"]).unwrap();
        assert!(!o.apply && o.file == "-" && o.scope.is_everything());
    }

    #[test]
    fn bad_options_are_usage_errors() {
        for args in [
            &["apply", "--scope", "10.0.0.0/99"][..],
            &["apply", "--drain", "soon"],
            &["diff", "--dry-run"],
            &["apply", "a", "b"],
        ] {
            let e = parse(args).err().expect("refused");
            assert_eq!(e.exit_code(), 2, "{args:?}");
        }
        let e = parse(&["apply", "--scope", "vip"]).err().unwrap();
        assert!(e.to_string().contains("fwmark:100-199"), "{e}");
    }
}
