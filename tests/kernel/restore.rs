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
