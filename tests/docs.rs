//! The manual page and the shell completions, on the host (no kernel needed):
//!
//! - `man/rsipvsadm.8` documents every option of the option table, and every option of
//!   the verbs `apply` and `diff` in its section APPLY AND DIFF; its JSON examples are
//!   documents `apply` reads, the first one cut from `tests/data/state-v1.json`; it lints
//!   clean with groff (Debian package `groff-base`);
//! - `completions/` holds exactly what `completion::files` generates from the option
//!   table and the verbs' clap definitions (`rsipvsadm::cli::spec::command`) and the
//!   hooks of `completions/hooks/`. To regenerate them after changing
//!   the table, a verb or `src/cli/spec.rs`:
//!
//!   ```sh
//!   RSIPVSADM_UPDATE_COMPLETIONS=1 cargo test --test docs
//!   ```
//!
//! - the completions, loaded in real bash, zsh and fish, offer what they should, for
//!   both names (`rsipvsadm`, `ipvsadm`), live values included (the generator and the
//!   zsh driver are in `tests/completion/`).

use std::path::{Path, PathBuf};
use std::process::Command;

use rsipvsadm::cli::spec;

mod completion;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn man_page() -> String {
    read(&repo().join("man/rsipvsadm.8"))
}

/// The words of a roff line as printed: font escapes dropped, `\-` as `-`.
fn words_of(line: &str) -> Vec<String> {
    let mut text = line.to_string();
    for escape in [r"\fB", r"\fI", r"\fR", r"\fP", r"\&", r"\:"] {
        text = text.replace(escape, "");
    }
    text = text
        .replace(r"\-", "-")
        .replace(r"\~", " ")
        .replace(r"\ ", " ");
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// The lines of one section (`.SH NAME` up to the next `.SH`), or an empty text.
fn section<'a>(page: &'a str, name: &str) -> &'a str {
    let heading = format!(".SH {name}\n");
    let Some(start) = page.find(&heading) else {
        return "";
    };
    let body = &page[start + heading.len()..];
    let end = body.find("\n.SH ").map_or(body.len(), |at| at + 1);
    &body[..end]
}

/// The words of every paragraph tag (the line after `.TP`): where options are documented.
fn tag_words(page: &str) -> Vec<String> {
    let lines: Vec<&str> = page.lines().collect();
    lines
        .windows(2)
        .filter(|pair| pair[0].trim_end() == ".TP")
        .flat_map(|pair| words_of(pair[1]))
        .collect()
}

#[test]
fn the_manual_documents_every_option() {
    let page = man_page();
    let tags = tag_words(&page);
    let mut missing = Vec::new();
    for option in spec::options() {
        let long = format!("--{}", option.long);
        if !tags.contains(&long) {
            missing.push(long);
        }
        if let Some(letter) = option.short {
            let short = format!("-{letter}");
            if !tags.contains(&short) {
                missing.push(short);
            }
        }
    }
    assert!(
        missing.is_empty(),
        "man/rsipvsadm.8 has no paragraph (.TP) for {missing:?}"
    );
}

/// The manual's section that documents `verb`'s options.
fn verb_section(verb: &str) -> String {
    match verb {
        "apply" | "diff" => "APPLY AND DIFF".into(),
        "top" => "LIVE VIEW".into(),
        other => other.to_uppercase(),
    }
}

#[test]
fn the_manual_documents_every_option_of_the_verbs() {
    let page = man_page();
    let mut missing = Vec::new();
    for verb in spec::verbs() {
        let name = verb.get_name();
        let title = verb_section(name);
        let verb_section = section(&page, &title);
        if verb_section.is_empty() {
            missing.push(format!("{name} (no section {title})"));
            continue;
        }
        let tags = tag_words(verb_section);
        if !page.contains(&format!(".SY rsipvsadm\n.B {name}\n")) {
            missing.push(format!("{name} (in SYNOPSIS)"));
        }
        for arg in verb.get_arguments() {
            // An option by its long name; a positional argument by its value name, in
            // the manual's lower-case italics (`FILE` is `.I file`).
            let documented = match arg.get_long() {
                Some(long) => format!("--{long}"),
                None => arg
                    .get_value_names()
                    .and_then(|names| names.first())
                    .map_or_else(|| arg.get_id().to_string(), |n| n.to_lowercase()),
            };
            if !tags.contains(&documented) {
                missing.push(format!("{name} {documented} (in {title})"));
            }
            if let Some(letter) = arg.get_short()
                && !tags.contains(&format!("-{letter}"))
            {
                missing.push(format!("{name} -{letter} (in {title})"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "man/rsipvsadm.8 has no paragraph (.TP) for {missing:?}"
    );
}

/// The example blocks (`.EX` to `.EE`) of the page, as printed.
fn examples(page: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut block: Option<String> = None;
    for line in page.lines() {
        match (line, block.as_mut()) {
            (".EX", None) => block = Some(String::new()),
            (".EE", Some(_)) => blocks.extend(block.take()),
            (_, Some(text)) => {
                let printed = line
                    .replace(r"\-", "-")
                    .replace(r"\(aq", "'")
                    .replace(r"\(dq", "\"")
                    .replace(r"\e", "\\");
                text.push_str(&printed);
                text.push('\n');
            }
            (_, None) => {}
        }
    }
    blocks
}

#[test]
fn the_manual_describes_the_json_document() {
    let page = man_page();
    // Where apply's messages send the reader.
    let problems = rsipvsadm::json::read_services(r#"{"schema_version": 1, "servces": []}"#)
        .expect_err("an unknown key is an error");
    let fix = &problems[0].fix;
    let pointer = fix
        .split("rsipvsadm(8), ")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .unwrap_or_else(|| panic!("the message does not point to rsipvsadm(8): {fix}"));
    assert!(
        !section(&page, pointer).is_empty(),
        "messages point to rsipvsadm(8), {pointer}, which has no such section"
    );
    let documents: Vec<String> = examples(section(&page, pointer))
        .into_iter()
        .filter(|block| block.starts_with('{'))
        .collect();
    assert!(documents.len() >= 2, "{pointer} shows no JSON example");
    for document in &documents {
        if let Err(problems) = rsipvsadm::json::read_services(document) {
            panic!("a JSON example of {pointer} is not valid input: {problems:?}\n{document}");
        }
    }
    // The printed example is tests/data/state-v1.json with one service of one real
    // server: what -L --json prints.
    let mut golden: serde_json::Value =
        serde_json::from_str(&read(&repo().join("tests/data/state-v1.json"))).unwrap();
    let services = golden["services"].as_array_mut().unwrap();
    services.truncate(1);
    services[0]["destinations"]
        .as_array_mut()
        .unwrap()
        .truncate(1);
    let printed: serde_json::Value = serde_json::from_str(&documents[0]).unwrap();
    assert_eq!(
        printed, golden,
        "the first JSON example of {pointer} is no longer what -L --json prints: cut it \
         again from tests/data/state-v1.json (first service, first real server)"
    );
}

#[test]
fn the_manual_names_the_deliberate_differences() {
    let page = man_page();
    let words: Vec<String> = page.lines().flat_map(words_of).collect();
    for needed in [
        "--test",
        "--strict",
        "--json",
        "apply",
        "diff",
        "DIFFERENCES",
        "EXIT",
        "EXAMPLES",
    ] {
        assert!(
            words.iter().any(|w| w == needed),
            "man/rsipvsadm.8 does not mention {needed}"
        );
    }
    assert!(page.is_ascii(), "man/rsipvsadm.8 must be plain ASCII");
}

/// Runs a tool, or fails naming the Debian package that provides it.
fn run_tool(program: &str, package: &str, args: &[&str]) -> std::process::Output {
    Command::new(program)
        .args(args)
        .current_dir(repo())
        .env("LC_ALL", "C.UTF-8")
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {program} ({e}): install the Debian package {package} \
                 (apt-get install --no-install-recommends {package})"
            )
        })
}

#[test]
fn the_manual_lints_clean() {
    // What `mandoc -T lint` would flag and groff does not: blank lines (use `.PP`) and
    // trailing blanks.
    for (number, line) in man_page().lines().enumerate() {
        assert!(
            !line.trim().is_empty(),
            "man/rsipvsadm.8:{}: blank line (use .PP)",
            number + 1
        );
        assert!(
            !line.ends_with([' ', '\t']),
            "man/rsipvsadm.8:{}: trailing blank",
            number + 1
        );
    }
    // As `man` formats it for a terminal, and for typesetting; every warning enabled.
    for device in [&["-Tutf8"][..], &[][..]] {
        let mut args = vec!["-ww", "-z", "-man"];
        args.extend_from_slice(device);
        args.push("man/rsipvsadm.8");
        let out = run_tool("groff", "groff-base", &args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stderr.is_empty(),
            "groff {} reports:\n{stderr}",
            args.join(" ")
        );
    }
}

#[test]
fn the_committed_completions_are_generated_ones() {
    let update = std::env::var_os("RSIPVSADM_UPDATE_COMPLETIONS").is_some_and(|v| v == "1");
    let mut stale = Vec::new();
    for (file, generated) in completion::files() {
        let path = repo().join("completions").join(file);
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        if committed == generated {
            continue;
        }
        if update {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, generated).unwrap();
        } else {
            stale.push(file);
        }
    }
    assert!(
        stale.is_empty(),
        "completions/{stale:?} differ from the generated ones; regenerate them with \
         RSIPVSADM_UPDATE_COMPLETIONS=1 cargo test --test docs"
    );
}

/// Where the shells find the completions and the commands, as an installed system has
/// them: the completions as generated (the committed ones are the same, see
/// [`the_committed_completions_are_generated_ones`]; reading those would race with it
/// regenerating them), `rsipvsadm` and `ipvsadm` on PATH (links to the binary under test; fish
/// completes only commands that exist), and the live table read from a copy of a real
/// `/proc/net/ip_vs` (`tests/data/proc-net-ip_vs`, see [`live_services`]) through the
/// completions' `RSIPVSADM_PROC_IP_VS`.
struct Shells {
    dir: PathBuf,
}

impl Shells {
    fn new(name: &str) -> Shells {
        static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let run = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!(
            "rsipvsadm-completion-{name}-{}-{run}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("bin")).unwrap();
        std::fs::create_dir_all(dir.join("completions")).unwrap();
        // The named namespaces (what `ip netns add` leaves in /run/netns).
        std::fs::create_dir_all(dir.join("netns")).unwrap();
        for name in NAMESPACES {
            std::fs::write(dir.join("netns").join(name), "").unwrap();
        }
        for (file, text) in completion::files() {
            std::fs::write(dir.join("completions").join(file), text).unwrap();
        }
        std::os::unix::fs::symlink(
            env!("CARGO_BIN_EXE_rsipvsadm"),
            dir.join("bin").join(completion::DROP_IN_NAME),
        )
        .unwrap();
        // rsipvsadm itself, but with a table in the namespace "blue": the completions
        // list the services of a namespace --netns names with `rsipvsadm --netns NS -S
        // -n`, which needs root and IPVS (tests/kernel/netns.rs runs the real one).
        let rsipvsadm = dir.join("bin").join(spec::BIN_NAME);
        std::fs::write(
            &rsipvsadm,
            format!(
                "#!/bin/sh\n\
                 if [ \"$*\" = '--netns blue -S -n' ]; then printf '%s' '{BLUE_RULES}'; exit 0; fi\n\
                 exec '{}' \"$@\"\n",
                env!("CARGO_BIN_EXE_rsipvsadm")
            ),
        )
        .unwrap();
        std::fs::set_permissions(
            &rsipvsadm,
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        Shells { dir }
    }

    /// Runs `program` with `args` in this environment; returns its stdout lines.
    fn completions(&self) -> PathBuf {
        self.dir.join("completions")
    }

    fn run(&self, program: &str, package: &str, args: &[&str], proc_ip_vs: &Path) -> Vec<String> {
        let path = format!(
            "{}:{}",
            self.dir.join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let out = Command::new(program)
            .args(args)
            .current_dir(repo())
            .env("PATH", path)
            .env("HOME", &self.dir)
            .env("XDG_CONFIG_HOME", self.dir.join("config"))
            .env("XDG_DATA_HOME", self.dir.join("data"))
            .env("XDG_CACHE_HOME", self.dir.join("cache"))
            .env("LC_ALL", "C.UTF-8")
            .env("RSIPVSADM_PROC_IP_VS", proc_ip_vs)
            .env("RSIPVSADM_NETNS_DIR", self.dir.join("netns"))
            .env("RSIPVSADM_COMPLETIONS", self.completions())
            .output()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run {program} ({e}): install the Debian package {package} \
                     (apt-get install --no-install-recommends {package})"
                )
            });
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stderr.is_empty(),
            "{program} {args:?} failed ({}): {stderr}",
            out.status
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect()
    }
}

impl Drop for Shells {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The named namespaces the completions see in the tests (through
/// `RSIPVSADM_NETNS_DIR`): plain files, so that `rsipvsadm --netns` cannot enter them.
const NAMESPACES: [&str; 3] = ["blue", "red", "green"];

/// The table of the namespace "blue", as `rsipvsadm --netns blue -S -n` prints it there
/// (see [`Shells::new`]); the other namespaces cannot be listed.
const BLUE_RULES: &str = "-A -t 198.51.100.1:80 -s rr
-a -t 198.51.100.1:80 -r 10.0.0.2:80 -m -w 1
-A -u 198.51.100.2:53 -s wlc
-A --sctp-service 198.51.100.3:3868 -s wlc
-A -t [2001:db8::2]:443 -s wlc
-A -f 9 -6 -s wlc
";

fn live_table() -> PathBuf {
    repo().join("tests/data/proc-net-ip_vs")
}

/// What the bash completion offers for `words` (the last one being completed), from the
/// function `complete -p` registers for the command (`words[0]`): the candidates as
/// bash inserts them (after the last `:` of the word, as readline replaces only that).
fn bash_offers(words: &[&str]) -> Vec<String> {
    bash_offers_with(words, &live_table())
}

fn bash_offers_with(words: &[&str], proc_ip_vs: &Path) -> Vec<String> {
    let script = r#"
        set -u
        source "$RSIPVSADM_COMPLETIONS/rsipvsadm.bash"
        function=$(complete -p "$1" | sed -n 's/.* -F \([^ ]*\) .*/\1/p')
        [ -n "$function" ] || exit 3
        COMP_WORDS=("$@")
        COMP_CWORD=$(( $# - 1 ))
        COMP_LINE="$*"
        COMP_POINT=${#COMP_LINE}
        cur=${COMP_WORDS[COMP_CWORD]}
        prev=${COMP_WORDS[COMP_CWORD-1]}
        "$function" "$1" "$cur" "$prev" 2>/dev/null
        printf '%s\n' "${COMPREPLY[@]}"
    "#;
    let mut args = vec!["--norc", "--noprofile", "-c", script, "bash"];
    args.extend_from_slice(words);
    let mut offers = Shells::new("bash").run("bash", "bash", &args, proc_ip_vs);
    offers.sort();
    offers
}

/// What zsh's completion offers for `line` (Tab pressed at its end), with the
/// `completions/` directory in fpath as compinit loads it.
fn zsh_offers(line: &str) -> Vec<String> {
    let shells = Shells::new("zsh");
    let completions = shells.completions();
    let args = [
        "-f",
        "tests/completion/zsh-capture.zsh",
        completions.to_str().unwrap(),
        line,
    ];
    let mut offers = shells.run("zsh", "zsh", &args, &live_table());
    offers.sort();
    offers.dedup();
    offers
}

/// What fish's completion offers for `line` (`complete -C`), with `completions/` as the
/// directory fish loads a command's completions from.
fn fish_offers(line: &str) -> Vec<String> {
    let shells = Shells::new("fish");
    let script = format!(
        "set -g fish_complete_path {}; complete -C {}",
        shells.completions().display(),
        fish_quote(line)
    );
    let lines = shells.run(
        "fish",
        "fish",
        &["--no-config", "-c", &script],
        &live_table(),
    );
    let mut offers: Vec<String> = lines
        .iter()
        .map(|l| l.split('\t').next().unwrap().to_string())
        .collect();
    offers.sort();
    offers
}

fn fish_quote(text: &str) -> String {
    format!("'{}'", text.replace('\\', r"\\").replace('\'', r"\'"))
}

fn sorted(words: &[&str]) -> Vec<String> {
    let mut words: Vec<String> = words.iter().map(|w| w.to_string()).collect();
    words.sort();
    words
}

#[test]
fn bash_completes_options_and_their_values() {
    assert_eq!(
        bash_offers(&["rsipvsadm", "--tun-t"]),
        sorted(&["--tun-type"])
    );
    assert_eq!(
        bash_offers(&["rsipvsadm", "--tun"]),
        sorted(&[
            "--tun-info",
            "--tun-type",
            "--tun-port",
            "--tun-nocsum",
            "--tun-csum",
            "--tun-remcsum"
        ])
    );
    assert_eq!(
        bash_offers(&["rsipvsadm", "-R", "--st"]),
        sorted(&["--stats", "--start-daemon", "--stop-daemon", "--strict"])
    );
    assert_eq!(
        bash_offers(&["rsipvsadm", "-A", "-t", "1.2.3.4:80", "-s", "w"]),
        sorted(&["wrr", "wlc"])
    );
    assert_eq!(
        bash_offers(&["rsipvsadm", "-A", "-t", "1.2.3.4:80", "--scheduler", "l"]),
        sorted(&["lc", "lblc", "lblcr"])
    );
    assert_eq!(
        bash_offers(&["rsipvsadm", "--start-daemon", ""]),
        sorted(&["master", "backup"])
    );
    assert_eq!(
        bash_offers(&["rsipvsadm", "--stop-daemon", "b"]),
        sorted(&["backup"])
    );
    assert_eq!(
        bash_offers(&[
            "rsipvsadm",
            "-a",
            "-t",
            "1.2.3.4:80",
            "-r",
            "10.0.0.2",
            "-i",
            "--tun-type",
            ""
        ]),
        sorted(&["ipip", "gue", "gre"])
    );
    assert_eq!(
        bash_offers(&[
            "rsipvsadm",
            "-A",
            "-u",
            "1.2.3.4:53",
            "-s",
            "sh",
            "-b",
            "sh-"
        ]),
        sorted(&["sh-fallback", "sh-port"])
    );
    // An address is not completed from file names.
    assert_eq!(
        bash_offers(&["rsipvsadm", "-A", "-t", "Cargo"]),
        sorted(&["Cargo"])
    );
}

#[test]
fn bash_completes_the_verbs_and_their_options() {
    assert_eq!(bash_offers(&["rsipvsadm", "ap"]), sorted(&["apply"]));
    assert_eq!(bash_offers(&["rsipvsadm", "di"]), sorted(&["diff"]));
    assert_eq!(
        bash_offers(&["rsipvsadm", "apply", "--d"]),
        sorted(&["--drain", "--dry-run"])
    );
    assert_eq!(
        bash_offers(&["rsipvsadm", "apply", "--"]),
        sorted(&["--dry-run", "--scope", "--drain", "--help"])
    );
    assert_eq!(
        bash_offers(&["rsipvsadm", "diff", "--"]),
        sorted(&["--scope", "--help"])
    );
    // ipvsadm's options are not the verbs'.
    assert_eq!(bash_offers(&["rsipvsadm", "diff", "--js"]), sorted(&[]));
    // A scope or a number of seconds is not completed from file names.
    assert_eq!(
        bash_offers(&["rsipvsadm", "apply", "--scope", "Cargo"]),
        sorted(&["Cargo"])
    );
    assert_eq!(
        bash_offers(&["rsipvsadm", "apply", "--drain", "Cargo"]),
        sorted(&["Cargo"])
    );
}

/// The virtual services of `flag` (`-t`, `-u`, `--sctp-service`, `-f`) in the live table
/// of the tests: `tests/data/proc-net-ip_vs` is `/proc/net/ip_vs` as the VM's kernel
/// (Debian's 6.1) wrote it after the `-A` rules of `tests/data/proc-net-ip_vs.rules`,
/// which is what `rsipvsadm -Sn` printed then. The completions read the first; what
/// they offer must be the services of the second.
fn live_services(flag: &str) -> Vec<String> {
    let rules = read(&repo().join("tests/data/proc-net-ip_vs.rules"));
    let mut services: Vec<String> = rules
        .lines()
        .filter_map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            (words.len() > 2 && words[0] == "-A" && words[1] == flag).then(|| words[2].to_string())
        })
        .collect();
    assert!(
        !services.is_empty(),
        "no {flag} service in the live table of the tests"
    );
    services.sort();
    services
}

/// The network interfaces of the machine the tests run on.
fn interfaces() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir("/sys/class/net")
        .expect("/sys/class/net")
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(names.iter().any(|n| n == "lo"));
    names
}

/// The other words of `-b`'s list, after `typed` (which ends with a comma).
fn flags_after(typed: &str) -> Vec<String> {
    let all = [
        "sh-fallback",
        "sh-port",
        "mh-fallback",
        "mh-port",
        "flag-1",
        "flag-2",
        "flag-3",
    ];
    let chosen: Vec<&str> = typed
        .rsplit_once(',')
        .unwrap()
        .0
        .rsplit(['=', ' '])
        .next()
        .unwrap()
        .split(',')
        .collect();
    let mut words: Vec<String> = all
        .iter()
        .filter(|w| !chosen.contains(w))
        .map(|w| format!("{typed}{w}"))
        .collect();
    words.sort();
    words
}

#[test]
fn bash_completes_for_both_names() {
    for name in [spec::BIN_NAME, completion::DROP_IN_NAME] {
        assert_eq!(
            bash_offers(&[name, "-s", "w"]),
            sorted(&["wrr", "wlc"]),
            "{name}"
        );
        assert_eq!(
            bash_offers(&[name, "--tun-t"]),
            sorted(&["--tun-type"]),
            "{name}"
        );
        assert_eq!(bash_offers(&[name, "ap"]), sorted(&["apply"]), "{name}");
    }
}

#[test]
fn bash_completes_values_known_when_tab_is_pressed() {
    // -b's list goes on after a comma, each word once.
    assert_eq!(
        bash_offers(&["rsipvsadm", "-b", "sh-fallback,"]),
        flags_after("sh-fallback,")
    );
    assert_eq!(
        bash_offers(&[
            "ipvsadm",
            "-A",
            "-t",
            "1.2.3.4:80",
            "-s",
            "sh",
            "-b",
            "sh-port,sh-fallback,m"
        ]),
        sorted(&[
            "sh-port,sh-fallback,mh-fallback",
            "sh-port,sh-fallback,mh-port"
        ])
    );
    assert_eq!(
        bash_offers(&["rsipvsadm", "--sched-flags=flag-1,"]),
        flags_after("flag-1,")
    );
    // A full list: nothing more, and no file names.
    let full = "sh-fallback,sh-port,mh-fallback,mh-port,flag-1,flag-2,flag-3,";
    assert_eq!(bash_offers(&["rsipvsadm", "-b", full]), sorted(&[full]));
    assert_eq!(
        bash_offers(&["rsipvsadm", "--mcast-interface", ""]),
        interfaces()
    );
    assert_eq!(
        bash_offers(&["rsipvsadm", "--mcast-interface", "l"]),
        sorted(&["lo"])
    );
    // The live services, by protocol.
    for (option, flag) in [
        ("-t", "-t"),
        ("--tcp-service", "-t"),
        ("-u", "-u"),
        ("--sctp-service", "--sctp-service"),
        ("-f", "-f"),
    ] {
        assert_eq!(
            bash_offers(&["ipvsadm", "-d", option, ""]),
            live_services(flag),
            "{option}"
        );
    }
    // Readline replaces what follows the last colon: that is what is offered.
    assert_eq!(
        bash_offers(&["rsipvsadm", "-E", "-t", "10.0.0.1:"]),
        sorted(&["80"])
    );
    assert_eq!(
        bash_offers(&["rsipvsadm", "-E", "-u", "[fe80::1:"]),
        sorted(&["0:0:5]:5060"])
    );
}

#[test]
fn bash_completes_namespaces_and_the_services_of_the_one_named() {
    assert_eq!(
        bash_offers(&["rsipvsadm", "--netns", ""]),
        sorted(&NAMESPACES)
    );
    assert_eq!(bash_offers(&["ipvsadm", "--netns", "r"]), sorted(&["red"]));
    assert_eq!(bash_offers(&["rsipvsadm", "--netns=g"]), sorted(&["green"]));
    // The services of the namespace --netns names (rsipvsadm --netns NS -S -n), never
    // those of the namespace the shell runs in.
    for (option, services) in [
        ("-t", &["198.51.100.1:80", "[2001:db8::2]:443"][..]),
        ("-u", &["198.51.100.2:53"]),
        ("--sctp-service", &["198.51.100.3:3868"]),
        ("-f", &["9"]),
    ] {
        assert_eq!(
            bash_offers(&["ipvsadm", "--netns", "blue", "-d", option, ""]),
            sorted(services),
            "{option}"
        );
    }
    assert_eq!(
        bash_offers(&["rsipvsadm", "-d", "--netns=blue", "-u", "198.51.100.2:"]),
        sorted(&["53"])
    );
    // Without --netns the shell's own services; with a namespace that cannot be listed
    // (not root, no such namespace) nothing.
    assert_eq!(
        bash_offers(&["rsipvsadm", "-d", "-u", "192."]),
        sorted(&["192.0.2.53:53"])
    );
    for line in [
        &["rsipvsadm", "--netns", "red", "-d", "-u", "192."][..],
        &["rsipvsadm", "-d", "--netns=red", "-u", "192."],
    ] {
        assert_eq!(bash_offers(line), sorted(&["192."]), "{line:?}");
    }
}

#[test]
fn bash_completes_no_services_without_ipvs() {
    // No /proc/net/ip_vs (no IPVS in the kernel): no candidate and not a word on stderr
    // (Shells::run asserts that), the address typed so far stays.
    let missing = repo().join("tests/data/no-such-file");
    assert_eq!(
        bash_offers_with(&["rsipvsadm", "-D", "-t", "10."], &missing),
        sorted(&["10."])
    );
}

#[test]
fn zsh_completes_options_values_and_both_names() {
    for name in [spec::BIN_NAME, completion::DROP_IN_NAME] {
        assert_eq!(
            zsh_offers(&format!("{name} -s w")),
            sorted(&["wrr", "wlc"]),
            "{name}"
        );
        assert_eq!(
            zsh_offers(&format!("{name} --tun")),
            sorted(&[
                "--tun-info",
                "--tun-type",
                "--tun-port",
                "--tun-nocsum",
                "--tun-csum",
                "--tun-remcsum"
            ]),
            "{name}"
        );
        assert_eq!(
            zsh_offers(&format!("{name} apply --d")),
            sorted(&["--drain", "--dry-run"])
        );
    }
    assert_eq!(
        zsh_offers("rsipvsadm --tun-type g"),
        sorted(&["gre", "gue"])
    );
}

#[test]
fn zsh_completes_values_known_when_tab_is_pressed() {
    assert_eq!(
        zsh_offers("ipvsadm -b sh-fallback,"),
        flags_after("sh-fallback,")
    );
    assert_eq!(
        zsh_offers("rsipvsadm --sched-flags=sh-port,m"),
        sorted(&[
            "--sched-flags=sh-port,mh-fallback",
            "--sched-flags=sh-port,mh-port"
        ])
    );
    assert_eq!(zsh_offers("rsipvsadm --mcast-interface "), interfaces());
    // zsh quotes what it inserts: [ and ] are glob characters.
    let quoted = |services: Vec<String>| -> Vec<String> {
        let mut quoted: Vec<String> = services
            .iter()
            .map(|s| s.replace('[', r"\[").replace(']', r"\]"))
            .collect();
        quoted.sort();
        quoted
    };
    for (option, flag) in [
        ("-t", "-t"),
        ("-u", "-u"),
        ("--sctp-service", "--sctp-service"),
        ("-f", "-f"),
    ] {
        assert_eq!(
            zsh_offers(&format!("ipvsadm -d {option} ")),
            quoted(live_services(flag)),
            "{option}"
        );
    }
    assert_eq!(
        zsh_offers("rsipvsadm --udp-service=1"),
        sorted(&["--udp-service=192.0.2.53:53"])
    );
    assert_eq!(zsh_offers("rsipvsadm --netns "), sorted(&NAMESPACES));
    assert_eq!(zsh_offers("ipvsadm --netns=b"), sorted(&["--netns=blue"]));
    // The services of the namespace --netns names, never those of the shell's.
    assert_eq!(
        zsh_offers("rsipvsadm --netns blue -d -u "),
        sorted(&["198.51.100.2:53"])
    );
    assert_eq!(
        zsh_offers("ipvsadm -d --netns=blue -t "),
        sorted(&["198.51.100.1:80", r"\[2001:db8::2\]:443"])
    );
    assert_eq!(zsh_offers("rsipvsadm --netns red -d -u "), sorted(&[]));
}

#[test]
fn fish_completes_options_values_and_both_names() {
    for name in [spec::BIN_NAME, completion::DROP_IN_NAME] {
        assert_eq!(
            fish_offers(&format!("{name} -s w")),
            sorted(&["wrr", "wlc"]),
            "{name}"
        );
        assert_eq!(
            fish_offers(&format!("{name} --tun-t")),
            sorted(&["--tun-type"]),
            "{name}"
        );
        assert_eq!(
            fish_offers(&format!("{name} ap")),
            sorted(&["apply"]),
            "{name}"
        );
    }
    // An option whose value is still missing does not stop the completion.
    assert_eq!(
        fish_offers("rsipvsadm -A -t 10.0.0.1:80 -s l"),
        sorted(&["lc", "lblc", "lblcr"])
    );
}

#[test]
fn fish_completes_values_known_when_tab_is_pressed() {
    assert_eq!(
        fish_offers("ipvsadm -b sh-fallback,"),
        flags_after("sh-fallback,")
    );
    assert_eq!(
        fish_offers("rsipvsadm --sched-flags=sh-port,m"),
        sorted(&[
            "--sched-flags=sh-port,mh-fallback",
            "--sched-flags=sh-port,mh-port"
        ])
    );
    assert_eq!(fish_offers("rsipvsadm --mcast-interface "), interfaces());
    for (option, flag) in [
        ("-t", "-t"),
        ("-u", "-u"),
        ("--sctp-service", "--sctp-service"),
        ("-f", "-f"),
    ] {
        assert_eq!(
            fish_offers(&format!("ipvsadm -d {option} ")),
            live_services(flag),
            "{option}"
        );
    }
    assert_eq!(fish_offers("rsipvsadm --netns "), sorted(&NAMESPACES));
    // The services of the namespace --netns names, never those of the shell's.
    assert_eq!(
        fish_offers("ipvsadm --netns=blue -d -u "),
        sorted(&["198.51.100.2:53"])
    );
    assert_eq!(fish_offers("rsipvsadm --netns blue -d -f "), sorted(&["9"]));
    assert_eq!(fish_offers("ipvsadm --netns red -d -u "), sorted(&[]));
}

#[test]
fn the_completions_complete_every_option_with_a_live_value() {
    // The options whose values are completed when Tab is pressed, from the clap tree.
    assert_eq!(
        completion::dynamic_option_names(),
        [
            "-t",
            "--tcp-service",
            "-u",
            "--udp-service",
            "--sctp-service",
            "-f",
            "--fwmark-service",
            "--mcast-interface",
            "-b",
            "--sched-flags",
            "--netns"
        ]
    );
}
