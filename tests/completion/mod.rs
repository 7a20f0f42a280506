//! The generator of `completions/`: clap_complete's scripts for the clap tree of
//! `rsipvsadm::cli::spec`, registered for both names (`rsipvsadm` and `ipvsadm`), with the
//! values only known when Tab is pressed (live services, interfaces, named namespaces,
//! the next word of `-b`'s list) completed by the hand-written hooks in
//! `completions/hooks/`.
//!
//! Which option's value is completed how is decided here from the clap tree (value name,
//! value delimiter, possible values), so options and values keep one definition; the
//! hooks only know how to list services, interfaces, namespaces and list words.

use clap::Arg;
use clap_complete::Shell;
use rsipvsadm::cli::spec;

/// The name a drop-in is called by, completed like [`spec::BIN_NAME`].
pub const DROP_IN_NAME: &str = "ipvsadm";

/// The files of `completions/` and what each holds.
pub fn files() -> Vec<(&'static str, String)> {
    vec![
        ("rsipvsadm.bash", bash()),
        ("_rsipvsadm", zsh()),
        ("rsipvsadm.fish", fish()),
        ("ipvsadm.fish", fish_drop_in()),
    ]
}

/// How the value of an option is completed at run time.
#[derive(Debug, Clone, PartialEq)]
enum Source {
    /// The live virtual services of a protocol as `/proc/net/ip_vs` labels it
    /// (`TCP`, `UDP`, `SCTP`; `FWM` for fwmark services).
    Services(&'static str),
    /// Network interface names.
    Interfaces,
    /// Named network namespaces (`ip netns list`).
    Namespaces,
    /// A comma-separated list of these words (with their descriptions).
    List(Vec<(String, String)>),
}

/// The options whose value is completed at run time, by their spellings (`-t`,
/// `--tcp-service`), in the option table's order.
fn dynamic_options() -> Vec<(Vec<String>, Source)> {
    let command = spec::command();
    command
        .get_arguments()
        .filter_map(|arg| Some((spellings(arg), source(arg)?)))
        .collect()
}

fn spellings(arg: &Arg) -> Vec<String> {
    let shorts = arg.get_short_and_visible_aliases().unwrap_or_default();
    let mut names: Vec<String> = shorts.iter().map(|c| format!("-{c}")).collect();
    names.extend(arg.get_long().map(|long| format!("--{long}")));
    names
}

fn source(arg: &Arg) -> Option<Source> {
    if arg.get_value_delimiter() == Some(',') {
        let words = arg
            .get_possible_values()
            .iter()
            .map(|value| {
                let help = value
                    .get_help()
                    .map(ToString::to_string)
                    .unwrap_or_default();
                (value.get_name().to_string(), help)
            })
            .collect();
        return Some(Source::List(words));
    }
    let value_name = arg.get_value_names()?.first()?.as_str();
    match (value_name, arg.get_long()?) {
        ("service-address", "tcp-service") => Some(Source::Services("TCP")),
        ("service-address", "udp-service") => Some(Source::Services("UDP")),
        ("service-address", "sctp-service") => Some(Source::Services("SCTP")),
        ("fwmark", "fwmark-service") => Some(Source::Services("FWM")),
        ("interface", _) => Some(Source::Interfaces),
        ("NAMESPACE", "netns") => Some(Source::Namespaces),
        ("service-address" | "fwmark", long) => {
            panic!("--{long} names a service of no known protocol: add it to completion::source")
        }
        _ => None,
    }
}

fn clap_script(shell: Shell) -> String {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut spec::command(), spec::BIN_NAME, &mut out);
    String::from_utf8(out).expect("completion scripts are UTF-8")
}

/// The hand-written hooks for `file`, with the services readers put in: of
/// `/proc/net/ip_vs` (`services.awk`) and of `rsipvsadm -S -n` in another namespace
/// (`saved-services.awk`).
fn hooks(file: &str) -> String {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/completions/hooks/");
    let read = |name: &str| {
        std::fs::read_to_string(format!("{dir}{name}"))
            .unwrap_or_else(|e| panic!("cannot read completions/hooks/{name}: {e}"))
    };
    let mut hooks = read(file);
    for (marker, program) in [
        ("@SERVICES_AWK@", "services.awk"),
        ("@SAVED_SERVICES_AWK@", "saved-services.awk"),
    ] {
        let awk = read(program);
        // Embedded in single quotes in every shell (fish's take \\ and \' as escapes).
        assert!(
            !awk.contains(['\'', '\\']),
            "completions/hooks/{program} must hold no single quote and no backslash"
        );
        assert!(
            hooks.contains(marker),
            "{file} does not use {program} ({marker})"
        );
        hooks = hooks.replace(marker, awk.trim_end());
    }
    hooks
}

/// Replaces the one occurrence of `from` in `script` (panics if there is not exactly
/// one: clap_complete's output changed and the generator must be looked at again).
fn replace_once(script: &str, from: &str, to: &str) -> String {
    let found = script.matches(from).count();
    assert_eq!(
        found, 1,
        "clap_complete's script has {found} occurrences of {from:?}: look again at tests/completion"
    );
    script.replacen(from, to, 1)
}

/// Splits `script` before its last line starting with `marker`: the generated body and
/// the registration at its end.
fn split_before<'a>(script: &'a str, marker: &str) -> (&'a str, &'a str) {
    let at = script
        .rfind(&format!("\n{marker}"))
        .unwrap_or_else(|| panic!("no {marker:?} in clap_complete's script"))
        + 1;
    script.split_at(at)
}

fn generated_banner(comment: &str) -> String {
    format!(
        "{comment} Generated from src/cli/spec.rs and completions/hooks/ by tests/docs.rs:\n\
         {comment} RSIPVSADM_UPDATE_COMPLETIONS=1 cargo test --test docs\n"
    )
}

// ---------------------------------------------------------------------------------------
// bash

fn bash_quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// `_rsipvsadm_values OPTION TYPED`: prints the candidates for OPTION's value, or fails
/// if OPTION's value is not completed at run time.
fn bash_values() -> String {
    let mut out = String::from("_rsipvsadm_values() {\n\tcase $1 in\n");
    for (names, source) in dynamic_options() {
        let call = match source {
            Source::Services(proto) => format!("_rsipvsadm_services {proto}"),
            Source::Interfaces => "_rsipvsadm_interfaces".to_string(),
            Source::Namespaces => "_rsipvsadm_namespaces".to_string(),
            Source::List(words) => {
                let words: Vec<String> = words.iter().map(|(w, _)| bash_quote(w)).collect();
                format!("_rsipvsadm_list \"$2\" {}", words.join(" "))
            }
        };
        out += &format!("\t{})\n\t\t{call}\n\t\t;;\n", names.join(" | "));
    }
    out += "\t*) return 1 ;;\n\tesac\n}\n";
    out
}

fn bash() -> String {
    let script = clap_script(Shell::Bash);
    let (body, registration) = split_before(&script, "if [[ \"${BASH_VERSINFO[0]}\" -eq 4");
    let registration = registration.replace(
        &format!("complete -F _rsipvsadm -o nosort -o bashdefault -o default {}\n", spec::BIN_NAME),
        &format!(
            "complete -F _rsipvsadm_complete -o nosort -o bashdefault -o default {} {DROP_IN_NAME}\n",
            spec::BIN_NAME
        ),
    );
    let registration = replace_once(
        &registration,
        &format!(
            "complete -F _rsipvsadm -o bashdefault -o default {}\n",
            spec::BIN_NAME
        ),
        &format!(
            "complete -F _rsipvsadm_complete -o bashdefault -o default {} {DROP_IN_NAME}\n",
            spec::BIN_NAME
        ),
    );
    assert!(
        registration.matches(&format!(" {DROP_IN_NAME}\n")).count() == 2,
        "clap_complete's bash registration changed: look again at tests/completion"
    );
    format!(
        "{}{body}\n{}\n{}\n{registration}",
        generated_banner("#"),
        bash_values(),
        hooks("rsipvsadm.bash")
    )
}

// ---------------------------------------------------------------------------------------
// zsh

fn zsh_quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// `_rsipvsadm_values OPTION`: completes OPTION's value (the action of its specs).
fn zsh_values() -> String {
    let mut out = String::from("_rsipvsadm_values() {\n\tcase $1 in\n");
    for (names, source) in dynamic_options() {
        let call = match source {
            Source::Services(proto) => format!("_rsipvsadm_services {proto}"),
            Source::Interfaces => "_rsipvsadm_interfaces".to_string(),
            Source::Namespaces => "_rsipvsadm_namespaces".to_string(),
            Source::List(words) => {
                // _values -s , completes a comma-separated list, each word once.
                let specs: Vec<String> = words
                    .iter()
                    .map(|(word, help)| {
                        let help = help
                            .replace('\\', r"\\")
                            .replace('[', r"\[")
                            .replace(']', r"\]")
                            .replace(':', r"\:");
                        zsh_quote(&format!("{word}[{help}]"))
                    })
                    .collect();
                format!("_values -s , 'scheduler flags' {}", specs.join(" "))
            }
        };
        out += &format!("\t({})\n\t\t{call}\n\t\t;;\n", names.join("|"));
    }
    out += "\t(*) return 1 ;;\n\tesac\n}\n";
    out
}

/// The action of every spec of a dynamic option becomes `_rsipvsadm_values OPTION`.
fn zsh_actions(mut script: String) -> String {
    let command = spec::command();
    for (names, _) in dynamic_options() {
        let long = names.last().unwrap().trim_start_matches("--");
        let arg = command
            .get_arguments()
            .find(|a| a.get_long() == Some(long))
            .unwrap();
        let value_name = arg.get_value_names().unwrap()[0].as_str();
        for name in &names {
            // `'-t+[help]:value-name:ACTION' \` (a short option) or `'--tcp-service=[...`.
            let opening = if name.starts_with("--") {
                format!("\n'{name}=[")
            } else {
                format!("\n'{name}+[")
            };
            let start = script
                .find(&opening)
                .unwrap_or_else(|| panic!("no spec for {name} in clap_complete's zsh script"));
            let end = start
                + script[start..]
                    .find("' \\\n")
                    .unwrap_or_else(|| panic!("the spec of {name} does not end"));
            let marker = format!("]:{value_name}:");
            let action = start
                + script[start..end]
                    .find(&marker)
                    .unwrap_or_else(|| panic!("the spec of {name} has no value {value_name}"))
                + marker.len();
            // A leading space: _arguments calls the action as written, without adding
            // compadd options before its arguments.
            script.replace_range(action..end, &format!(" _rsipvsadm_values {name}"));
        }
    }
    script
}

fn zsh() -> String {
    let script = clap_script(Shell::Zsh);
    let script = replace_once(
        &script,
        &format!("#compdef {}\n", spec::BIN_NAME),
        &format!("#compdef {} {DROP_IN_NAME}\n", spec::BIN_NAME),
    );
    let script = replace_once(
        &script,
        &format!("    compdef _rsipvsadm {}\n", spec::BIN_NAME),
        &format!("    compdef _rsipvsadm {} {DROP_IN_NAME}\n", spec::BIN_NAME),
    );
    let script = zsh_actions(script);
    // Helpers go before the last block, which (autoloaded) runs _rsipvsadm at once.
    let (body, registration) = split_before(&script, "if [ \"$funcstack[1]\" = \"_rsipvsadm\" ]");
    let (compdef, body) = body.split_once('\n').unwrap();
    format!(
        "{compdef}\n{}{body}\n{}\n{}\n{registration}",
        generated_banner("#"),
        zsh_values(),
        hooks("rsipvsadm.zsh")
    )
}

// ---------------------------------------------------------------------------------------
// fish

fn fish_quote(word: &str) -> String {
    format!("'{}'", word.replace('\\', r"\\").replace('\'', r"\'"))
}

/// `__fish_rsipvsadm_values OPTION`: prints the candidates for OPTION's value.
fn fish_values() -> String {
    let mut out = String::from(
        "function __fish_rsipvsadm_values --argument-names option\n    switch $option\n",
    );
    for (names, source) in dynamic_options() {
        let call = match source {
            Source::Services(proto) => format!("__fish_rsipvsadm_services {proto}"),
            Source::Interfaces => "__fish_rsipvsadm_interfaces".to_string(),
            Source::Namespaces => "__fish_rsipvsadm_namespaces".to_string(),
            Source::List(words) => {
                let pairs: Vec<String> = words
                    .iter()
                    .map(|(word, help)| format!("{} {}", fish_quote(word), fish_quote(help)))
                    .collect();
                format!("__fish_rsipvsadm_list {}", pairs.join(" "))
            }
        };
        out += &format!("        case {}\n            {call}\n", names.join(" "));
    }
    out += "    end\nend\n";
    out
}

/// clap's fish script decides whether a verb was given with fish's `argparse`, which
/// fails while an option still lacks its value (`rsipvsadm -A -t VIP -s <TAB>`); the
/// script then completes nothing at all, not even the schedulers. `argparse -s` stops
/// at the first word that is not an option, so it can only fail on ipvsadm's options,
/// before any verb: such a command line has no verb yet.
fn fish_no_verb_yet(script: &str) -> String {
    replace_once(
        script,
        "    argparse -s (__fish_rsipvsadm_global_optspecs) -- $cmd 2>/dev/null\n    or return\n",
        "    argparse -s (__fish_rsipvsadm_global_optspecs) -- $cmd 2>/dev/null\n    or return 0\n",
    )
}

/// The `complete` line of every dynamic option gets `-a "(__fish_rsipvsadm_values
/// --LONG)"` in place of clap's fixed list, if it had one.
fn fish_arguments(mut script: String) -> String {
    let prefix = format!(
        "\ncomplete -c {} -n \"__fish_rsipvsadm_needs_command\" ",
        spec::BIN_NAME
    );
    for (names, _) in dynamic_options() {
        let long = names.last().unwrap();
        let start = script
            .match_indices(&prefix)
            .map(|(at, _)| at)
            .find(|&at| {
                let line = &script[at + 1..];
                line[..line.find('\n').unwrap()].contains(&format!(" -l {} ", &long[2..]))
            })
            .unwrap_or_else(|| {
                panic!("no complete line for {long} in clap_complete's fish script")
            });
        let flags = start
            + script[start..]
                .find(" -r -f")
                .unwrap_or_else(|| panic!("{long} takes no value in the fish script"))
            + " -r -f".len();
        // The line ends there, or after a fixed list `-a "..."` (lines inside it included).
        let end = if script[flags..].starts_with(" -a \"") {
            let list = flags + " -a \"".len();
            list + script[list..].find("\"\n").unwrap() + 1
        } else {
            flags
        };
        script.replace_range(
            flags..end,
            &format!(" -a \"(__fish_rsipvsadm_values {long})\""),
        );
    }
    script
}

fn fish() -> String {
    let script = fish_arguments(fish_no_verb_yet(&clap_script(Shell::Fish)));
    format!(
        "{}{script}\n{}\n{}",
        generated_banner("#"),
        fish_values(),
        hooks("rsipvsadm.fish")
    )
}

/// fish loads a command's completions from the file named after it: `ipvsadm.fish`
/// wraps rsipvsadm's (and fish then loads `rsipvsadm.fish` as well).
fn fish_drop_in() -> String {
    format!(
        "{}complete -c {DROP_IN_NAME} -w {}\n",
        generated_banner("#"),
        spec::BIN_NAME
    )
}

/// The names of the dynamic options, for the tests.
pub fn dynamic_option_names() -> Vec<String> {
    dynamic_options().into_iter().flat_map(|(n, _)| n).collect()
}
