//! rsipvsadm's command line described as a [`clap::Command`], built from the option table
//! ([`OPTIONS`], the same table the parser scans with), for one purpose:
//! generating the shell completions in `completions/`. It never parses ipvsadm's argv:
//! that command line follows popt's rules (see [`super::args`]), which clap does not
//! reproduce. The verbs `apply` and `diff` are added as subcommands from their own clap
//! definitions ([`verbs`], the ones that parse them), so parser, `--help` and completions
//! cannot disagree.
//!
//! `tests/docs.rs` generates the completions from [`command`] (with clap_complete, a
//! dev-dependency: the binary never prints them), checks that the committed ones equal
//! them, and that the manual documents every option of [`options`] and of [`verbs`]; run
//! `RSIPVSADM_UPDATE_COMPLETIONS=1 cargo test --test docs` to regenerate the completions
//! after changing the table or the texts here.

use clap::builder::PossibleValue;
use clap::{Arg, ArgAction, Command, ValueHint};

use super::args::popt::ArgKind;
use super::args::table::{OPTIONS, Opt};
use super::verbs::{apply_command, diff_command, metrics, top};
use crate::model::names;

/// The name the completions are generated for.
pub const BIN_NAME: &str = "rsipvsadm";

/// The values of an option with a fixed set, from the model's table of names.
fn schedulers() -> Vec<(&'static str, &'static str)> {
    names::SCHEDULERS.to_vec()
}

fn tunnel_types() -> Vec<(&'static str, &'static str)> {
    names::TUNNEL_TYPES
        .iter()
        .map(|&(_, w, a)| (w, a))
        .collect()
}

fn sched_flags() -> Vec<(&'static str, &'static str)> {
    names::SCHED_FLAGS
        .iter()
        .map(|f| (f.name, f.about))
        .collect()
}

fn daemon_states() -> Vec<(&'static str, &'static str)> {
    names::DAEMON_STATES
        .iter()
        .map(|&(_, w, a)| (w, a))
        .collect()
}

/// One option of the table: its long name, its short letter, whether it takes a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionName {
    pub long: &'static str,
    pub short: Option<char>,
    /// `Some(true)`: a value is required; `Some(false)`: optional (`-p`); `None`: a flag.
    pub value: Option<bool>,
}

/// Every row of the option table, in its order (`--list` twice: `-L` and `-l`).
pub fn options() -> Vec<OptionName> {
    OPTIONS
        .iter()
        .map(|spec| OptionName {
            long: spec.long,
            short: spec.short.map(char::from),
            value: match spec.arg {
                ArgKind::None => None,
                ArgKind::Required => Some(true),
                ArgKind::Optional => Some(false),
            },
        })
        .collect()
}

/// What the completions say about one option: help text, value name and value hint.
struct Doc {
    help: &'static str,
    value: &'static str,
    values: Vec<(&'static str, &'static str)>,
    hint: ValueHint,
}

fn flag(help: &'static str) -> Doc {
    Doc {
        help,
        value: "",
        values: Vec::new(),
        hint: ValueHint::Unknown,
    }
}

/// A value completed by nothing (addresses, numbers, names).
fn value(help: &'static str, value: &'static str) -> Doc {
    Doc {
        help,
        value,
        values: Vec::new(),
        hint: ValueHint::Other,
    }
}

fn choice(
    help: &'static str,
    value: &'static str,
    values: Vec<(&'static str, &'static str)>,
) -> Doc {
    Doc {
        help,
        value,
        values,
        hint: ValueHint::Unknown,
    }
}

fn doc(opt: Opt) -> Doc {
    match opt {
        Opt::AddService => flag("add virtual service with options"),
        Opt::EditService => flag("edit virtual service with options"),
        Opt::DeleteService => flag("delete virtual service"),
        Opt::Clear => flag("clear the whole table"),
        Opt::List => flag("list the table"),
        Opt::Zero => flag("zero counters in a service or all services"),
        Opt::AddServer => flag("add real server with options"),
        Opt::EditServer => flag("edit real server with options"),
        Opt::DeleteServer => flag("delete real server"),
        Opt::Set => flag("set connection timeout values (tcp tcpfin udp)"),
        Opt::Help => flag("display the help message"),
        Opt::Version => flag("display the version"),
        Opt::Restore => flag("restore rules from stdin"),
        Opt::Save => flag("save rules to stdout"),
        Opt::StartDaemon => choice("start connection sync daemon", "state", daemon_states()),
        Opt::StopDaemon => choice("stop connection sync daemon", "state", daemon_states()),
        Opt::TcpService => value("TCP virtual service, host[:port]", "service-address"),
        Opt::UdpService => value("UDP virtual service, host[:port]", "service-address"),
        Opt::SctpService => value("SCTP virtual service, host[:port]", "service-address"),
        Opt::FwmarkService => value("firewall-mark virtual service", "fwmark"),
        Opt::Scheduler => choice("scheduling method (default wlc)", "scheduler", schedulers()),
        Opt::Persistent => value("persistent service, optional timeout in seconds", "timeout"),
        Opt::Netmask => value("persistent granularity mask", "netmask"),
        Opt::RealServer => value("real server, host[:port]", "server-address"),
        Opt::Masquerading => flag("masquerading (NAT)"),
        Opt::Ipip => flag("ipip encapsulation (tunneling)"),
        Opt::Gatewaying => flag("gatewaying (direct routing, the default)"),
        Opt::Weight => value("capacity of real server", "weight"),
        Opt::UThreshold => value("upper threshold of connections", "uthreshold"),
        Opt::LThreshold => value("lower threshold of connections", "lthreshold"),
        Opt::Numeric => flag("numeric output of addresses and ports"),
        Opt::Connection => flag("output of current IPVS connections"),
        Opt::McastInterface => value("multicast interface for connection sync", "interface"),
        Opt::SyncId => value("syncid for connection sync (0-255)", "syncid"),
        Opt::Timeout => flag("output of timeout (tcp tcpfin udp)"),
        Opt::Daemon => flag("output of daemon information"),
        Opt::Stats => flag("output of statistics information"),
        Opt::Rate => flag("output of rate information"),
        Opt::Thresholds => flag("output of thresholds information"),
        Opt::PersistentConn => flag("output of persistent connection info"),
        Opt::NoSort => flag("disable sorting output of service/server entries"),
        Opt::Sort => flag("does nothing, for backwards compatibility"),
        Opt::Exact => flag("expand numbers (display exact values)"),
        Opt::Ipv6 => flag("fwmark entry uses IPv6"),
        Opt::Ops => flag("one-packet scheduling"),
        Opt::Pe => choice(
            "alternate persistence engine",
            "engine",
            vec![("sip", "Session Initiation Protocol")],
        ),
        Opt::SchedFlags => choice("scheduler flags (comma-separated)", "flags", sched_flags()),
        Opt::McastGroup => value("multicast group, IPv4 or IPv6", "address"),
        Opt::McastPort => value("multicast UDP port", "port"),
        Opt::McastTtl => value("multicast TTL", "ttl"),
        Opt::SyncMaxlen => value("maximum sync message length", "length"),
        Opt::TunInfo => flag("output of tunnel information"),
        Opt::TunType => choice("tunnel type (default ipip)", "type", tunnel_types()),
        Opt::TunPort => value("tunnel destination port", "port"),
        Opt::TunNocsum => flag("tunnel encapsulation without checksum"),
        Opt::TunCsum => flag("tunnel encapsulation with checksum"),
        Opt::TunRemcsum => flag("tunnel encapsulation with remote checksum"),
        Opt::RestoreTest => flag("with -R: check every rule, change nothing"),
        Opt::RestoreStrict => flag("with -R: apply nothing unless every rule is valid"),
        Opt::Json => flag("with -L: the state as one JSON document"),
    }
}

/// rsipvsadm's own verbs (`apply`, `diff`) as the clap commands that parse them.
pub fn verbs() -> Vec<Command> {
    vec![
        apply_command(),
        diff_command(),
        metrics::command(),
        top::command(),
    ]
}

/// A verb in the completion tree, as it parses, with one completion-only touch:
/// disabling clap's help flag for ipvsadm's options (ipvsadm has its own `-h`) disables
/// it in every subcommand too, so the `-h, --help` that clap gives the verb when it
/// parses is put back by hand.
fn verb_for_completion(verb: Command) -> Command {
    verb.arg(
        Arg::new("help")
            .short('h')
            .long("help")
            .action(ArgAction::Help)
            .help("Print help"),
    )
}

/// rsipvsadm's options and verbs as a clap command, for completions only (the options are
/// never parsed with it).
pub fn command() -> Command {
    let mut cmd = Command::new(BIN_NAME)
        .bin_name(BIN_NAME)
        .about("Linux Virtual Server administration (ipvsadm compatible)")
        .disable_help_flag(true)
        .disable_version_flag(true)
        // `rsipvsadm help` is no verb: `-h` is ipvsadm's, `apply --help` clap's.
        .disable_help_subcommand(true);
    for spec in OPTIONS {
        let short = spec.short.map(char::from);
        // A second row for the same long name (`--list`: `-L`, `-l`) adds its letter.
        if cmd.get_arguments().any(|a| a.get_id() == spec.long) {
            cmd = cmd.mut_arg(spec.long, |arg| match short {
                Some(letter) => arg.visible_short_alias(letter),
                None => arg,
            });
            continue;
        }
        let doc = doc(spec.id);
        let mut arg = Arg::new(spec.long).long(spec.long).help(doc.help);
        if let Some(letter) = short {
            arg = arg.short(letter);
        }
        arg = match spec.arg {
            ArgKind::None => arg.action(ArgAction::SetTrue),
            ArgKind::Required | ArgKind::Optional => {
                let mut arg = arg
                    .action(ArgAction::Set)
                    .value_name(doc.value)
                    .num_args(if spec.arg == ArgKind::Optional {
                        0..=1
                    } else {
                        1..=1
                    })
                    .value_hint(doc.hint);
                if !doc.values.is_empty() {
                    arg = arg.value_parser(
                        doc.values
                            .iter()
                            .map(|&(name, help)| PossibleValue::new(name).help(help))
                            .collect::<Vec<_>>(),
                    );
                }
                if spec.id == Opt::SchedFlags {
                    arg = arg.value_delimiter(',');
                }
                arg
            }
        };
        cmd = cmd.arg(arg);
    }
    cmd = cmd.arg(
        Arg::new("netns")
            .long("netns")
            .value_name("NAMESPACE")
            .action(ArgAction::Set)
            .value_hint(ValueHint::Other)
            .help("Run the command in a network namespace: a name (ip netns) or a file"),
    );
    // The verbs, as the first argument. No positional argument is declared for the
    // timeouts of `--set tcp tcpfin udp`: zsh's completion would then look for the verb
    // in the second place (clap puts subcommands after the positional arguments), and
    // the timeouts are numbers that nothing completes anyway.
    cmd.subcommands(verbs().into_iter().map(verb_for_completion))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_description_is_consistent() {
        command().debug_assert();
    }

    #[test]
    fn every_row_of_the_table_is_described() {
        let cmd = command();
        for option in options() {
            let arg = cmd
                .get_arguments()
                .find(|a| a.get_long() == Some(option.long))
                .unwrap_or_else(|| panic!("--{} is missing", option.long));
            if let Some(letter) = option.short {
                let letters = arg.get_short_and_visible_aliases().unwrap_or_default();
                assert!(letters.contains(&letter), "-{letter} is missing");
            }
            assert_eq!(arg.get_action().takes_values(), option.value.is_some());
        }
    }

    #[test]
    fn the_verbs_are_subcommands() {
        let cmd = command();
        let names: Vec<&str> = cmd.get_subcommands().map(Command::get_name).collect();
        assert_eq!(names, crate::cli::verbs::VERBS);
        let apply = cmd.find_subcommand("apply").unwrap();
        for long in ["dry-run", "scope", "drain"] {
            assert!(
                apply.get_arguments().any(|a| a.get_long() == Some(long)),
                "apply --{long} is missing"
            );
        }
    }
}
