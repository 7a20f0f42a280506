//! `rsipvsadm -R --test` and `-R --strict` (ipvsadm has neither): the binary against the
//! real kernel, in a fresh namespace each; alone, since they compare whole-table dumps.

use std::os::unix::process::CommandExt;
use std::process::Command;
use std::time::Duration;

use crate::common::{Exit, RunOutput, rsipvsadm_bin, run_with_timeout};
use crate::netns_test_alone;

fn rsipvsadm(args: &[&str], stdin: &str) -> RunOutput {
    run_with_timeout(
        Command::new(rsipvsadm_bin()).arg0("rsipvsadm").args(args),
        Some(stdin.as_bytes()),
        Duration::from_secs(60),
    )
}

fn saved_table() -> String {
    let out = rsipvsadm(&["-S", "-n"], "");
    assert_eq!(out.exit, Exit::Code(0), "{}", out.stderr_lossy());
    out.stdout_lossy()
}

const EXISTING: &str = "-A -t 10.0.0.9:80 -s rr\n";

const WITH_BAD_LINES: &str = "\
-A -t 10.0.0.1:80 -s rr
-a -t 10.0.0.1:80 -r 10.0.0.2 -w heavy

-A -t 10.0.0.1:0
# a comment
-a -t 10.0.0.1:80 -r 10.0.0.3 -m
";

/// Comment lines are skipped (ipvsadm has none; rule files often start with one).
const EXPECTED_REPORT: &str = "\
line 2: illegal weight specified
line 4: Zero port specified for non-persistent service
";

#[test]
fn test_mode_reports_every_bad_line_and_changes_nothing() {
    netns_test_alone(|| {
        assert_eq!(rsipvsadm(&["-R"], EXISTING).exit, Exit::Code(0));
        let before = saved_table();

        let out = rsipvsadm(&["-R", "--test"], WITH_BAD_LINES);
        assert_eq!(out.exit, Exit::Code(2));
        assert_eq!(out.stderr_lossy(), EXPECTED_REPORT);
        assert_eq!(saved_table(), before);

        let good = "-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.0.0.2 -m\n";
        let out = rsipvsadm(&["-R", "--test"], good);
        assert_eq!(
            (out.exit, out.stderr_lossy()),
            (Exit::Code(0), String::new())
        );
        assert_eq!(
            saved_table(),
            before,
            "--test must not apply good lines either"
        );
    });
}

#[test]
fn strict_mode_applies_nothing_when_a_line_is_malformed() {
    netns_test_alone(|| {
        assert_eq!(rsipvsadm(&["-R"], EXISTING).exit, Exit::Code(0));
        let before = saved_table();
        let out = rsipvsadm(&["-R", "--strict"], WITH_BAD_LINES);
        assert_eq!(out.exit, Exit::Code(2));
        assert_eq!(out.stderr_lossy(), EXPECTED_REPORT);
        assert_eq!(saved_table(), before);
    });
}

#[test]
fn strict_mode_reports_each_refused_rule_with_its_line() {
    netns_test_alone(|| {
        assert_eq!(rsipvsadm(&["-R"], EXISTING).exit, Exit::Code(0));
        let rules = "\
-A -t 10.0.0.1:80 -s rr
-A -t 10.0.0.9:80 -s wrr
-a -t 10.0.0.1:80 -r 10.0.0.2 -m
-a -t 10.0.0.7:80 -r 10.0.0.2 -m
-a -t 10.0.0.1:80 -r 10.0.0.3 -m
-A -u 10.0.0.1:53 -s nosuch
";
        let out = rsipvsadm(&["-R", "--strict"], rules);
        assert_eq!(out.exit, Exit::Code(255));
        assert_eq!(
            out.stderr_lossy(),
            "line 2: Service already exists\n\
             line 4: Service not defined\n\
             line 6: Scheduler or persistence engine not found\n"
        );
        assert_eq!(
            saved_table(),
            "-A -t 10.0.0.1:80 -s rr\n\
             -a -t 10.0.0.1:80 -r 10.0.0.2:80 -m -w 1\n\
             -a -t 10.0.0.1:80 -r 10.0.0.3:80 -m -w 1\n\
             -A -t 10.0.0.9:80 -s rr\n"
        );
    });
}

#[test]
fn strict_mode_succeeds_quietly_on_good_rules() {
    netns_test_alone(|| {
        let rules = "-A -f 7 -s sh -b sh-port\n-a -f 7 -r 10.0.0.5:0 -m -w 3\n";
        let out = rsipvsadm(&["-R", "--strict"], rules);
        assert_eq!(
            (out.exit, out.stderr_lossy()),
            (Exit::Code(0), String::new())
        );
        assert_eq!(
            saved_table(),
            "-A -f 7 -s sh -b sh-port\n-a -f 7 -r 10.0.0.5:0 -m -w 3\n"
        );
    });
}

/// ipvsadm saves marks of 2^31 and above as negative numbers and cannot restore them;
/// rsipvsadm's own saves always restore.
#[test]
fn saves_with_large_fwmarks_restore() {
    netns_test_alone(|| {
        for args in [
            &["-A", "-f", "3000000000", "-s", "wlc"][..],
            &["-a", "-f", "3000000000", "-r", "10.0.0.5", "-m"],
            &["-A", "-f", "2147483648", "-6", "-s", "rr"],
        ] {
            assert_eq!(rsipvsadm(args, "").exit, Exit::Code(0), "{args:?}");
        }
        let saved = saved_table();
        assert!(saved.contains("-A -f -1294967296 -s wlc\n"), "{saved}");
        assert!(saved.contains("-A -f -2147483648 -6 -s rr\n"), "{saved}");
        assert_eq!(rsipvsadm(&["-C"], "").exit, Exit::Code(0));
        let out = rsipvsadm(&["-R"], &saved);
        assert_eq!(
            (out.exit, out.stderr_lossy()),
            (Exit::Code(0), String::new())
        );
        assert_eq!(saved_table(), saved);
    });
}

/// A table with every kind of rule ipvsadm can save. (Its IPv6 addresses have no names:
/// a named IPv6 address saves as `[name]:port`, which neither tool reads back.)
const EVERY_KIND: &str = "\
-A -t 10.0.0.1:80 -s wrr -p 120 -M 255.255.255.0
-a -t 10.0.0.1:80 -r 10.0.0.2:8080 -m -w 7
-a -t 10.0.0.1:80 -r 10.0.0.3:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-csum
-a -t 10.0.0.1:80 -r 10.0.0.4:80 -i -w 2 --tun-type gre --tun-nocsum
-a -t 10.0.0.1:80 -r 10.0.0.5:80 -g -w 0
-A -f 42 -6 -s sh -o -b sh-port
-A -u [2001:db8::11]:53 -s wlc --pe sip
-a -u [2001:db8::11]:53 -r [2001:db8::12]:53 -m -w 1
-A --sctp-service 10.0.0.1:5060 -s mh -b mh-fallback,mh-port
-A -t web2.test:http -s rr -p
-a -t web2.test:http -r web3.test:http-alt -m -w 3
";

fn run_as_ipvsadm(program: std::path::PathBuf, args: &[&str], stdin: &str) -> RunOutput {
    let out = run_with_timeout(
        Command::new(&program).arg0("ipvsadm").args(args),
        Some(stdin.as_bytes()),
        Duration::from_secs(60),
    );
    assert_eq!(
        out.exit,
        Exit::Code(0),
        "{program:?} {args:?}: {}",
        out.stderr_lossy()
    );
    out
}

/// A file saved by either tool, with names or numeric, restores with the other to the
/// same table.
#[test]
fn saves_restore_across_the_two_tools() {
    use crate::common::ipvsadm_bin;
    let tools = [("ipvsadm", ipvsadm_bin()), ("rsipvsadm", rsipvsadm_bin())];
    for (saver_name, saver) in &tools {
        for (restorer_name, restorer) in &tools {
            for save_args in [&["-S", "-n"][..], &["-S"]] {
                let (saver, restorer) = (saver.clone(), restorer.clone());
                let (saved, table_after) = netns_test_alone(move || {
                    run_as_ipvsadm(saver.clone(), &["-R"], EVERY_KIND);
                    let saved = run_as_ipvsadm(saver.clone(), save_args, "").stdout_lossy();
                    let before = run_as_ipvsadm(saver.clone(), &["-S", "-n"], "").stdout_lossy();
                    run_as_ipvsadm(saver.clone(), &["-C"], "");
                    run_as_ipvsadm(restorer.clone(), &["-R"], &saved);
                    let after = run_as_ipvsadm(saver, &["-S", "-n"], "").stdout_lossy();
                    (before, after)
                });
                assert_eq!(
                    table_after, saved,
                    "{saver_name} {save_args:?} restored by {restorer_name}"
                );
            }
        }
    }
}

/// Spawns `rsipvsadm -R` with a pipe for its input; stdout and stderr are read in threads.
fn spawn_restore() -> std::process::Child {
    use std::process::Stdio;
    Command::new(rsipvsadm_bin())
        .arg0("rsipvsadm")
        .arg("-R")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rsipvsadm runs")
}

/// Rules from a slow producer are applied as they arrive, as ipvsadm applies them, not
/// only at the end of the input: the first lines are in the table while `-R` still
/// waits for the rest.
#[test]
fn rules_from_a_slow_producer_are_applied_as_they_arrive() {
    use std::io::Write;
    use std::time::Instant;

    netns_test_alone(|| {
        let mut child = spawn_restore();
        let mut input = child.stdin.take().expect("piped stdin");
        input
            .write_all(b"-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.0.0.2 -m\n")
            .expect("first lines written");
        let mut ipvs = crate::ipvs();
        let started = Instant::now();
        let applied = loop {
            let table = ipvs.table().expect("a table dump");
            if table.len() == 1 && table[0].dests.len() == 1 {
                break true;
            }
            if started.elapsed() > Duration::from_secs(30) {
                break false;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let still_reading = child.try_wait().expect("child status").is_none();
        if !applied || !still_reading {
            let _ = child.kill();
        }
        assert!(
            applied,
            "the first rules were not applied while -R waited for more input"
        );
        assert!(still_reading, "-R ended before its input did");

        input
            .write_all(b"-A -t 10.0.0.3:80 -s wlc\n")
            .expect("last line written");
        drop(input);
        let out = child.wait_with_output().expect("-R ends");
        assert!(out.status.success(), "{out:?}");
        assert!(out.stderr.is_empty(), "{out:?}");
        assert_eq!(ipvs.table().expect("a table dump").len(), 2);
    });
}

/// The peak resident memory of `rsipvsadm -R` fed `lines` rules the kernel refuses
/// (real servers of a service that does not exist): each costs an error message, and
/// nothing of it may stay in memory.
#[expect(
    clippy::zombie_processes,
    reason = "reaped by wait4, which gives its rusage"
)]
fn peak_rss_of_refused_rules(lines: usize) -> i64 {
    use std::io::{Read, Write};

    let mut child = spawn_restore();
    let mut input = child.stdin.take().expect("piped stdin");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let errors = std::thread::spawn(move || {
        let mut text = Vec::new();
        let _ = stderr.read_to_end(&mut text);
        text
    });
    let writer = std::thread::spawn(move || {
        let mut rules = Vec::new();
        for i in 0..lines {
            let rule = format!(
                "-a -t 10.9.0.1:80 -r 10.{}.{}.{}:80 -m\n",
                i >> 16,
                (i >> 8) & 255,
                i & 255
            );
            rules.extend_from_slice(rule.as_bytes());
        }
        input.write_all(&rules).expect("rules written");
    });
    writer.join().expect("writer thread");
    let mut status = 0;
    // SAFETY: all-zero is a valid rusage; wait4 writes it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: wait4 on our unreaped child with valid out pointers.
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as libc::pid_t);
    let errors = errors.join().expect("stderr reader");
    let reports = errors
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .count();
    assert_eq!(reports, lines, "one message per refused rule");
    assert_eq!(libc::WEXITSTATUS(status), 255);
    usage.ru_maxrss
}

/// `-R` streams: its memory does not grow with its input. 40,000 refused rules (with
/// their messages) peak within 4 MiB of 4,000.
#[test]
fn restore_memory_does_not_grow_with_the_input() {
    netns_test_alone(|| {
        let small = peak_rss_of_refused_rules(4_000);
        let large = peak_rss_of_refused_rules(40_000);
        assert!(
            large - small < 4096,
            "peak RSS {small} KiB for 4,000 rules, {large} KiB for 40,000"
        );
    });
}
