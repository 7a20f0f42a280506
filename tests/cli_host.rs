//! The binary on the host, where the kernel has no IPVS: what works without it (help,
//! version, the program's name), how it fails without it (as ipvsadm does), and that no
//! command line makes it panic.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn rsipvsadm() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_rsipvsadm"))
}

fn host_has_ipvs() -> bool {
    Path::new("/proc/net/ip_vs").exists()
}

fn run(program: &Path, argv0: &str, args: &[&str]) -> Output {
    Command::new(program)
        .arg0(argv0)
        .args(args)
        .env("LC_ALL", "C")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()))
}

/// A link named `ipvsadm` to the binary, as a drop-in install makes one.
fn ipvsadm_link() -> (tempdir::Dir, PathBuf) {
    let dir = tempdir::Dir::new();
    let link = dir.path().join("ipvsadm");
    std::os::unix::fs::symlink(rsipvsadm(), &link).unwrap();
    (dir, link)
}

mod tempdir {
    use std::path::{Path, PathBuf};

    /// A scratch directory removed on drop.
    pub struct Dir(PathBuf);

    impl Dir {
        pub fn new() -> Dir {
            let path = std::env::temp_dir().join(format!(
                "rsipvsadm-test-{}-{:?}",
                std::process::id(),
                std::thread::current().id()
            ));
            std::fs::create_dir_all(&path).unwrap();
            Dir(path)
        }

        pub fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

#[test]
fn version_and_help_work_without_ipvs_under_either_name() {
    let own = run(&rsipvsadm(), "rsipvsadm", &["-v"]);
    assert!(own.status.success());
    let text = String::from_utf8(own.stdout).unwrap();
    assert!(text.starts_with("rsipvsadm v"), "{text}");
    assert!(
        text.ends_with(" (rsipvsadm, compiled with netlink and IPVS v1.2.1)\n"),
        "{text}"
    );

    let (_dir, link) = ipvsadm_link();
    let linked = Command::new(&link).arg("-v").output().unwrap();
    assert!(linked.status.success());
    assert!(
        String::from_utf8(linked.stdout)
            .unwrap()
            .starts_with("ipvsadm v")
    );

    let help = run(&rsipvsadm(), "/usr/sbin/ipvsadm", &["--help"]);
    assert!(help.status.success());
    let text = String::from_utf8(help.stdout).unwrap();
    assert!(text.starts_with("ipvsadm v"), "{text}");
    assert!(
        text.contains("\nUsage:\n  /usr/sbin/ipvsadm -A|E virtual-service"),
        "{text}"
    );
    assert!(help.stderr.is_empty());
}

/// Without IPVS both tools must fail the same way (modprobe's own complaint included),
/// before they even look at the rest of the command line. Only read-only or invalid
/// commands, so that a host that does have IPVS is not changed.
#[test]
fn without_ipvs_it_fails_exactly_like_ipvsadm() {
    let reference = Path::new("/usr/sbin/ipvsadm");
    assert!(
        reference.exists(),
        "the reference ipvsadm is missing: apt-get install ipvsadm (tests/run does)"
    );
    for args in [
        &["-Ln"][..],
        &[],
        &["-A", "-t", "10.0.0.1:0"],
        &["-L", "--bogus"],
        &["-S", "-n"],
    ] {
        let expected = run(reference, "ipvsadm", args);
        let actual = run(&rsipvsadm(), "ipvsadm", args);
        assert_eq!(
            (
                actual.status.code(),
                String::from_utf8_lossy(&actual.stderr)
            ),
            (
                expected.status.code(),
                String::from_utf8_lossy(&expected.stderr)
            ),
            "ipvsadm {args:?}"
        );
        assert_eq!(actual.stdout, expected.stdout, "ipvsadm {args:?}");
        if !host_has_ipvs() {
            assert_eq!(actual.status.code(), Some(2));
            assert!(
                String::from_utf8_lossy(&actual.stderr).contains(
                    "Can't initialize ipvs: Protocol not available\n\
                     Are you sure that IP Virtual Server is built in the kernel or as module?\n"
                ),
                "{}",
                String::from_utf8_lossy(&actual.stderr)
            );
        }
    }
}

/// The verbs say what to do where ipvsadm's texts say only what went wrong.
#[test]
fn without_ipvs_the_verbs_say_what_to_do() {
    assert!(
        !host_has_ipvs(),
        "these tests expect a host kernel without IPVS"
    );
    for args in [
        &["apply", "-"][..],
        &["diff", "-"],
        &["metrics"],
        &["top", "--batch", "--iterations", "1"],
    ] {
        let out = run(&rsipvsadm(), "rsipvsadm", args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        // After what modprobe said of itself.
        let said = format!("rsipvsadm {}: IPVS is missing from this kernel", args[0]);
        assert!(
            stderr.lines().any(|l| l.starts_with(&said))
                && stderr.contains("run `modprobe ip_vs` as root"),
            "{args:?}: {stderr}"
        );
    }
}

/// Whatever argv holds, the parser answers with a command or an error, never a panic.
#[test]
fn no_command_line_makes_the_parser_panic() {
    use std::ffi::OsString;
    use std::os::unix::ffi::OsStringExt;

    const WORDS: &[&str] = &[
        "-A",
        "-E",
        "-D",
        "-C",
        "-a",
        "-e",
        "-d",
        "-L",
        "-l",
        "-Z",
        "-R",
        "-S",
        "-h",
        "-v",
        "--set",
        "--start-daemon",
        "--stop-daemon",
        "-t",
        "-u",
        "--sctp-service",
        "-f",
        "-6",
        "-s",
        "-p",
        "-M",
        "--pe",
        "-b",
        "-o",
        "-r",
        "-g",
        "-i",
        "-m",
        "-w",
        "-x",
        "-y",
        "--tun-type",
        "--tun-port",
        "--tun-csum",
        "--tun-nocsum",
        "--tun-remcsum",
        "-n",
        "-c",
        "--timeout",
        "--daemon",
        "--stats",
        "--rate",
        "--exact",
        "--thresholds",
        "--persistent-conn",
        "--tun-info",
        "--nosort",
        "--sort",
        "--syncid",
        "--mcast-interface",
        "--mcast-group",
        "--mcast-port",
        "--mcast-ttl",
        "--sync-maxlen",
        "--test",
        "--strict",
        "--",
        "-",
        "",
        "=",
        "-Ln",
        "-At",
        "-p=",
        "-s=",
        "--pe=",
        "10.0.0.1:80",
        "[2001:db8::1]:80",
        "[::1]",
        "2001:db8::1",
        "10.0.0.1:",
        ":80",
        "[",
        "]:",
        "0",
        "-1",
        "4294967296",
        "99999999999999999999",
        "rr",
        "sh",
        "mh",
        ",",
        ",,",
        "sh-port,",
        "flag-1,flag-2,flag-3",
        "gue",
        "gre",
        "ipip",
        "master",
        "backup",
        "224.0.0.81",
        "ff02::1",
        "x",
        "%",
        "\u{fffd}",
    ];
    // A small deterministic generator: the same argv lists on every run.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..50_000 {
        let len = (next() % 8) as usize;
        let mut argv = vec![OsString::from("ipvsadm")];
        for _ in 0..len {
            let word = WORDS[(next() % WORDS.len() as u64) as usize];
            argv.push(match next() % 16 {
                0 => OsString::from_vec(vec![0xff, b'-', 0xfe]),
                1 => OsString::from(format!("{word}{word}")),
                _ => OsString::from(word),
            });
        }
        let _ = rsipvsadm::cli::args::parse(&argv);
    }
}

/// `top` without a terminal points to --batch; a bad interval is a usage error. Both
/// before IPVS is opened, so they hold on any host.
#[test]
fn top_needs_a_terminal_or_batch_and_a_positive_interval() {
    // `output()` gives the program pipes, not a terminal.
    let out = run(&rsipvsadm(), "rsipvsadm", &["top"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("must be a terminal") && stderr.contains("use --batch"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
    for interval in ["0", "-1", "two", "", "nan"] {
        let out = run(
            &rsipvsadm(),
            "rsipvsadm",
            &["top", "--batch", "--interval", interval],
        );
        assert_eq!(out.status.code(), Some(2), "--interval {interval:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("--interval"), "{interval:?}: {stderr}");
    }
}
