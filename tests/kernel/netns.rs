//! `--netns NAME|PATH`: two named namespaces with different tables, each listed, changed,
//! saved, restored and applied through `--netns` (by name and by path), judged by the
//! reference ipvsadm run with `ip netns exec`; neither ever sees the other's rules, nor
//! does the namespace the command was started in. And bash completes the services of
//! the namespace `--netns` names.

use std::os::unix::process::CommandExt;
use std::process::Command;
use std::time::Duration;

use crate::common::{Exit, RunOutput, ip, ipvsadm_bin, rsipvsadm_bin, run_with_timeout};
use crate::netns_test_alone;

/// A named namespace (`ip netns add`), deleted with its table when dropped.
struct NamedNetns(String);

impl NamedNetns {
    fn new(name: &str) -> Self {
        let _ = Command::new("ip").args(["netns", "del", name]).status();
        ip(&["netns", "add", name]);
        // Real servers must be unicast addresses the namespace can route to.
        for cmd in [
            "link add d0 type dummy",
            "addr add 10.0.0.254/8 dev d0",
            "link set d0 up",
        ] {
            let mut args = vec!["-n", name];
            args.extend(cmd.split(' '));
            ip(&args);
        }
        NamedNetns(name.to_string())
    }

    fn path(&self) -> String {
        format!("/run/netns/{}", self.0)
    }

    /// The reference ipvsadm's `-Sn` inside the namespace.
    fn reference_save(&self) -> String {
        let out = run_with_timeout(
            Command::new("ip")
                .args(["netns", "exec", &self.0])
                .arg(ipvsadm_bin())
                .arg("-Sn"),
            None,
            Duration::from_secs(60),
        );
        ok(out, &format!("ip netns exec {} ipvsadm -Sn", self.0))
    }
}

impl Drop for NamedNetns {
    fn drop(&mut self) {
        let _ = rsipvsadm(&["--netns", &self.0, "-C"], "");
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

fn rsipvsadm(args: &[&str], stdin: &str) -> RunOutput {
    run_with_timeout(
        Command::new(rsipvsadm_bin()).arg0("rsipvsadm").args(args),
        Some(stdin.as_bytes()),
        Duration::from_secs(120),
    )
}

fn ok(out: RunOutput, what: &str) -> String {
    assert_eq!(
        (out.exit, out.stderr_lossy()),
        (Exit::Code(0), String::new()),
        "{what}: stdout:\n{}",
        out.stdout_lossy()
    );
    out.stdout_lossy()
}

fn rs_ok(args: &[&str], stdin: &str) -> String {
    ok(
        rsipvsadm(args, stdin),
        &format!("rsipvsadm {}", args.join(" ")),
    )
}

const RED: &str = "\
-A -t 10.1.0.1:80 -s rr
-a -t 10.1.0.1:80 -r 10.1.0.11:80 -m -w 1
";

const BLUE: &str = "\
-A -u 10.2.0.1:53 -s wlc
-a -u 10.2.0.1:53 -r 10.2.0.11:53 -m -w 2
-A -f 7 -s sh
";

#[test]
fn each_namespace_keeps_its_own_table() {
    netns_test_alone(|| {
        let red = NamedNetns::new("rsipvsadm-test-red");
        let blue = NamedNetns::new("rsipvsadm-test-blue");
        // Changed by name, and by path, with both spellings of the option.
        rs_ok(
            &[
                "--netns",
                "rsipvsadm-test-red",
                "-A",
                "-t",
                "10.1.0.1:80",
                "-s",
                "rr",
            ],
            "",
        );
        rs_ok(
            &[
                "--netns=rsipvsadm-test-red",
                "-a",
                "-t",
                "10.1.0.1:80",
                "-r",
                "10.1.0.11:80",
                "-m",
            ],
            "",
        );
        rs_ok(&["--netns", &blue.path(), "-R"], BLUE);
        assert_eq!(red.reference_save(), RED);
        assert_eq!(blue.reference_save(), BLUE);
        // Listed and saved through --netns, as the reference lists each.
        assert_eq!(rs_ok(&["--netns", &red.0, "-Sn"], ""), RED);
        assert_eq!(rs_ok(&["--netns", &blue.path(), "-S", "-n"], ""), BLUE);
        let listing = rs_ok(&["--netns", &blue.0, "-Ln"], "");
        assert!(listing.contains("UDP  10.2.0.1:53 wlc"), "{listing}");
        assert!(!listing.contains("10.1.0.1"), "{listing}");
        let json = rs_ok(&["--netns", &red.0, "-L", "--json"], "");
        assert!(
            json.contains("\"10.1.0.1\"") && !json.contains("10.2.0.1"),
            "{json}"
        );
        // The namespace the command started in has neither.
        assert_eq!(rs_ok(&["-Sn"], ""), "");

        // apply and diff through --netns change only that namespace.
        let wanted = "-A -t 10.1.0.1:80 -s wrr\n-a -t 10.1.0.1:80 -r 10.1.0.12:80 -m -w 3\n";
        let diff = rsipvsadm(&["--netns", &red.0, "diff", "-"], wanted);
        assert_eq!(diff.exit, Exit::Code(1), "{}", diff.stderr_lossy());
        rs_ok(&["--netns", &red.0, "apply", "-"], wanted);
        assert_eq!(red.reference_save(), wanted);
        assert_eq!(blue.reference_save(), BLUE);
        let diff = rsipvsadm(&["--netns", &red.path(), "diff", "-"], wanted);
        assert_eq!(diff.exit, Exit::Code(0), "{}", diff.stderr_lossy());

        // A flush in one leaves the other.
        rs_ok(&["--netns", &blue.0, "-C"], "");
        assert_eq!(blue.reference_save(), "");
        assert_eq!(red.reference_save(), wanted);
        assert_eq!(rs_ok(&["-Sn"], ""), "");
    });
}

/// What rsipvsadm's bash completion offers for `words` (the last one being completed),
/// run by the bash of the payload with `completions/rsipvsadm.bash` (tests/run puts
/// both in; `rsipvsadm` on PATH is the binary under test), in the current namespace.
fn bash_offers(words: &[&str]) -> Vec<String> {
    let completions = std::env::var("RSIPVSADM_COMPLETIONS")
        .expect("RSIPVSADM_COMPLETIONS (set by tests/run) names the completions directory");
    let bin = rsipvsadm_bin();
    let bin_dir = bin.parent().expect("rsipvsadm's directory");
    let script = r#"
        source "$RSIPVSADM_COMPLETIONS/rsipvsadm.bash"
        COMP_WORDS=("$@")
        COMP_CWORD=$(( $# - 1 ))
        COMP_LINE="$*"
        COMP_POINT=${#COMP_LINE}
        _rsipvsadm_complete "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
        printf '%s\n' "${COMPREPLY[@]}"
    "#;
    let out = run_with_timeout(
        Command::new(bin_dir.join("bash"))
            .args(["--norc", "--noprofile", "-c", script, "bash"])
            .args(words)
            .env("RSIPVSADM_COMPLETIONS", completions)
            .env(
                "PATH",
                format!("{}:/usr/sbin:/usr/bin:/sbin:/bin", bin_dir.display()),
            ),
        None,
        Duration::from_secs(60),
    );
    let mut offers: Vec<String> = ok(out, &format!("bash completion of {words:?}"))
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    offers.sort();
    offers
}

#[test]
fn bash_completes_the_services_of_the_namespace_netns_names() {
    netns_test_alone(|| {
        let red = NamedNetns::new("rsipvsadm-test-red");
        rs_ok(&["--netns", &red.0, "-R"], RED);
        rs_ok(
            &["--netns", &red.0, "-A", "-u", "10.1.0.2:53", "-s", "wlc"],
            "",
        );
        // The namespace the shell runs in has services of its own.
        rs_ok(&["-R"], BLUE);
        rs_ok(&["-A", "-t", "10.2.0.2:80", "-s", "rr"], "");

        assert!(bash_offers(&["rsipvsadm", "--netns", ""]).contains(&red.0));
        assert_eq!(bash_offers(&["rsipvsadm", "-d", "-t", ""]), ["10.2.0.2:80"]);
        assert_eq!(bash_offers(&["rsipvsadm", "-d", "-f", ""]), ["7"]);
        for netns in [
            format!("--netns={}", red.0),
            format!("--netns={}", red.path()),
        ] {
            assert_eq!(
                bash_offers(&["ipvsadm", &netns, "-d", "-t", ""]),
                ["10.1.0.1:80"],
                "{netns}"
            );
        }
        assert_eq!(
            bash_offers(&["rsipvsadm", "--netns", &red.0, "-e", "-u", "10."]),
            ["10.1.0.2:53"]
        );
        assert!(bash_offers(&["rsipvsadm", "--netns", &red.0, "-d", "-f", ""]).is_empty());
        // A namespace that does not exist: nothing, and no word on stderr (ok()).
        assert_eq!(
            bash_offers(&[
                "rsipvsadm",
                "--netns",
                "rsipvsadm-no-such-ns",
                "-d",
                "-t",
                "10."
            ]),
            ["10."]
        );
    });
}

#[test]
fn a_namespace_that_does_not_exist_is_exit_2() {
    for args in [
        &["--netns", "rsipvsadm-no-such-ns", "-Ln"][..],
        &["--netns=rsipvsadm-no-such-ns", "apply", "-"],
        &["--netns", "/run/netns/rsipvsadm-no-such-ns", "-C"],
    ] {
        let out = rsipvsadm(args, "");
        let stderr = out.stderr_lossy();
        assert_eq!(out.exit, Exit::Code(2), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(
            stderr.starts_with("rsipvsadm: network namespace"),
            "{args:?}: {stderr}"
        );
        assert!(stderr.contains("does not exist"), "{args:?}: {stderr}");
    }
    let out = rsipvsadm(&["--netns", "rsipvsadm-no-such-ns", "-Ln"], "");
    assert!(
        out.stderr_lossy()
            .contains("ip netns add rsipvsadm-no-such-ns")
    );
    // Not a namespace; no namespace at all.
    let out = rsipvsadm(&["--netns", "/proc/self/status", "-Ln"], "");
    assert_eq!(out.exit, Exit::Code(2));
    assert!(
        out.stderr_lossy().contains("is not a network namespace"),
        "{}",
        out.stderr_lossy()
    );
    let out = rsipvsadm(&["--netns"], "");
    assert_eq!(out.exit, Exit::Code(2));
    assert!(out.stderr_lossy().contains("--netns needs a namespace"));
}
