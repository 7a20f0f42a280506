//! `rsipvsadm apply`, `diff` and `-L --json` against the real kernel: the binary, judged
//! by the reference ipvsadm (`-Sn`, `-Ln --thresholds`, `-Ln --nosort`), each test in a
//! fresh namespace, alone since most compare whole-table dumps. Where a table is
//! compared with "the same rules loaded by `ipvsadm -R`", the reference table is built
//! in another fresh namespace.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::common::{
    Exit, RunOutput, in_fresh_netns, ipvsadm_bin, rsipvsadm_bin, run_with_timeout,
};
use crate::{FlushOnExit, netns_test_alone};

// ---------------------------------------------------------------------------------------
// Fixtures

/// A starting table with services of every protocol and family, loaded with the
/// reference `ipvsadm -R`; [`DESIRED`] changes every part of it.
const START: &str = "\
-A -t 10.0.0.1:80 -s wlc
-a -t 10.0.0.1:80 -r 10.0.0.11:8080 -m -w 1
-a -t 10.0.0.1:80 -r 10.0.0.12:80 -m -w 2 -x 100 -y 50
-a -t 10.0.0.1:80 -r 10.0.0.13:80 -g -w 1
-a -t 10.0.0.1:80 -r 10.0.0.14:80 -m -w 1
-a -t 10.0.0.1:80 -r 10.0.0.15:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-csum
-a -t 10.0.0.1:80 -r 10.0.0.17:80 -m -w 1 -x 30 -y 3
-A -t 10.0.0.2:443 -s rr
-a -t 10.0.0.2:443 -r 10.0.0.21:443 -m -w 1
-A -u 10.0.0.3:53 -s rr -o
-a -u 10.0.0.3:53 -r 10.0.0.31:53 -m -w 1
-A -u 10.0.0.6:5060 -s rr -p 60 --pe sip -o
-a -u 10.0.0.6:5060 -r 10.0.0.61:5060 -m -w 1
-A -t [2001:db8::1]:443 -s wrr
-a -t [2001:db8::1]:443 -r [2001:db8::11]:443 -g -w 1
-a -t [2001:db8::1]:443 -r [2001:db8::12]:443 -m -w 5
-A --sctp-service 10.0.0.4:5000 -s rr
-a --sctp-service 10.0.0.4:5000 -r 10.0.0.41:5000 -m -w 1
-A --sctp-service [2001:db8::4]:5000 -s mh -b mh-port
-a --sctp-service [2001:db8::4]:5000 -r [2001:db8::41]:5000 -g -w 1
-A -f 100 -s rr
-a -f 100 -r 10.0.0.51:0 -g -w 1
-A -f 200 -6 -s wrr -p 300 -M 64
-a -f 200 -6 -r [2001:db8::52]:0 -g -w 1
";

/// The desired state, against [`START`]: services added (10.0.0.7:5060, 10.0.0.8:0,
/// fwmarks 300 -6, 400 and 3000000000), deleted (10.0.0.2:443), re-keyed (udp 10.0.0.3
/// port 53 to 5353); schedulers, persistence, netmasks, engines and flags edited;
/// destinations added, deleted, re-keyed (10.0.0.61 port 5060 to 5061), and edited in
/// weight, thresholds and forwarding (tunnel types too).
/// Every line is one the reference `ipvsadm -R` reads (it takes --tun-remcsum only with
/// gue tunnels).
const DESIRED: &str = "\
-A -t 10.0.0.1:80 -s rr -p 300 -M 255.255.255.0
-a -t 10.0.0.1:80 -r 10.0.0.11:8080 -m -w 5
-a -t 10.0.0.1:80 -r 10.0.0.12:80 -m -w 2 -x 200 -y 20
-a -t 10.0.0.1:80 -r 10.0.0.13:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-remcsum
-a -t 10.0.0.1:80 -r 10.0.0.15:80 -i -w 1 --tun-type gre --tun-csum
-a -t 10.0.0.1:80 -r 10.0.0.16:80 -g -w 3 -x 10 -y 5
-a -t 10.0.0.1:80 -r 10.0.0.17:80 -m -w 1
-A -u 10.0.0.3:5353 -s rr -o
-a -u 10.0.0.3:5353 -r 10.0.0.31:5353 -m -w 1
-A -u 10.0.0.6:5060 -s rr -p 120
-a -u 10.0.0.6:5060 -r 10.0.0.61:5061 -m -w 1
-A -u 10.0.0.7:5060 -s wlc -p 300 --pe sip
-a -u 10.0.0.7:5060 -r 10.0.0.71:5060 -m -w 2
-a -u 10.0.0.7:5060 -r 10.0.0.72:5060 -m -w 0
-A -t [2001:db8::1]:443 -s wrr -p 600 -M 64
-a -t [2001:db8::1]:443 -r [2001:db8::12]:443 -m -w 5
-a -t [2001:db8::1]:443 -r [2001:db8::13]:443 -i -w 2 --tun-type gue --tun-port 6080 --tun-csum
-A --sctp-service 10.0.0.4:5000 -s sh -b sh-port,sh-fallback
-a --sctp-service 10.0.0.4:5000 -r 10.0.0.41:5000 -m -w 1
-a --sctp-service 10.0.0.4:5000 -r 10.0.0.42:5000 -m -w 1
-A --sctp-service [2001:db8::4]:5000 -s mh -b mh-port
-a --sctp-service [2001:db8::4]:5000 -r [2001:db8::41]:5000 -m -w 4
-A -f 100 -s sh -b sh-port -o
-a -f 100 -r 10.0.0.51:0 -g -w 1
-a -f 100 -r 10.0.0.52:0 -i -w 1 --tun-type gue --tun-port 6081 --tun-remcsum
-A -f 200 -6 -s mh -b mh-port,mh-fallback -o
-a -f 200 -6 -r [2001:db8::52]:0 -g -w 1
-A -f 300 -6 -s rr -p 300 -M 64
-a -f 300 -6 -r [2001:db8::53]:0 -g -w 1
-A -f 400 -s rr -p 300 -M 255.255.255.0
-a -f 400 -r 10.0.0.81:0 -i -w 1 -x 50 -y 10
-A -t 10.0.0.8:0 -s rr -p 300 -M 255.255.0.0
-a -t 10.0.0.8:0 -r 10.0.0.82:0 -g -w 1
-A -f 3000000000 -s wlc
-a -f 3000000000 -r 10.0.0.83:0 -m -w 1
";

// ---------------------------------------------------------------------------------------
// Helpers

fn run(program: PathBuf, arg0: &str, args: &[&str], stdin: &str) -> RunOutput {
    run_with_timeout(
        Command::new(program).arg0(arg0).args(args),
        Some(stdin.as_bytes()),
        Duration::from_secs(120),
    )
}

/// The reference ipvsadm.
fn ipvsadm(args: &[&str], stdin: &str) -> RunOutput {
    run(ipvsadm_bin(), "ipvsadm", args, stdin)
}

fn rsipvsadm(args: &[&str], stdin: &str) -> RunOutput {
    run(rsipvsadm_bin(), "rsipvsadm", args, stdin)
}

/// The stdout of a command that must succeed (exit 0, nothing on stderr).
fn ok(out: RunOutput, what: &str) -> String {
    assert_eq!(
        (out.exit, out.stderr_lossy()),
        (Exit::Code(0), String::new()),
        "{what}: stdout:\n{}",
        out.stdout_lossy()
    );
    out.stdout_lossy()
}

/// Loads rules with the reference `ipvsadm -R`.
fn restore(rules: &str) {
    ok(ipvsadm(&["-R"], rules), &format!("ipvsadm -R of\n{rules}"));
}

/// `rsipvsadm VERB ARGS -` with FILE on standard input.
fn verb(verb: &str, args: &[&str], file: &str) -> RunOutput {
    let mut argv = vec![verb];
    argv.extend_from_slice(args);
    argv.push("-");
    rsipvsadm(&argv, file)
}

/// The table as the reference ipvsadm shows it: the rules (`-Sn`) and, since they leave
/// thresholds out, the `-Ln --thresholds` listing.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Table {
    saved: String,
    thresholds: String,
}

fn table() -> Table {
    Table {
        saved: ok(ipvsadm(&["-Sn"], ""), "ipvsadm -Sn"),
        thresholds: ok(
            ipvsadm(&["-Ln", "--thresholds"], ""),
            "ipvsadm -Ln --thresholds",
        ),
    }
}

/// Runs `f` in another fresh namespace (the caller's is left alone), emptied afterwards.
fn elsewhere<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    in_fresh_netns(move || {
        let _flush = FlushOnExit;
        f()
    })
}

/// The table the reference `ipvsadm -R` makes of `rules` in a fresh namespace.
fn reference_table(rules: &str) -> Table {
    let rules = rules.to_string();
    elsewhere(move || {
        restore(&rules);
        table()
    })
}

/// The real servers of one service in the kernel's order, from the reference
/// `ipvsadm -L -n --nosort SELECTOR` (`-t VIP:PORT`, `-f MARK`).
fn kernel_order(selector: &[&str]) -> Vec<String> {
    let mut args = vec!["-L", "-n", "--nosort"];
    args.extend_from_slice(selector);
    let listing = ok(ipvsadm(&args, ""), &format!("ipvsadm {args:?}"));
    listing
        .lines()
        .filter_map(|l| l.strip_prefix("  -> "))
        .filter(|l| !l.starts_with("RemoteAddress"))
        .map(|l| l.split_whitespace().next().unwrap_or_default().to_string())
        .collect()
}

/// `rsipvsadm -L --json ARGS`, parsed.
fn json_listing(args: &[&str]) -> (String, Value) {
    let mut argv = vec!["-L"];
    argv.extend_from_slice(args);
    argv.push("--json");
    let text = ok(rsipvsadm(&argv, ""), &format!("rsipvsadm {argv:?}"));
    let doc = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("rsipvsadm {argv:?} printed no JSON ({e}):\n{text}"));
    (text, doc)
}

/// Asserts a command exited with `status`, printed nothing on stdout, and said each of
/// `fragments` on stderr.
fn assert_failed(out: &RunOutput, status: i32, fragments: &[&str], what: &str) {
    let stderr = out.stderr_lossy();
    assert_eq!(
        out.exit,
        Exit::Code(status),
        "{what}: stdout:\n{}stderr:\n{stderr}",
        out.stdout_lossy()
    );
    for fragment in fragments {
        assert!(
            stderr.contains(fragment),
            "{what}: stderr does not say {fragment:?}:\n{stderr}"
        );
    }
}

fn lines_of(text: &str) -> Vec<&str> {
    text.lines().collect()
}

// ---------------------------------------------------------------------------------------
// 1, 2, 3: every kind of change; the dry-run plan; idempotence and diff

#[test]
fn apply_makes_every_kind_of_change_as_ipvsadm_restore_would_load_file() {
    let (applied, expected) = netns_test_alone(|| {
        restore(START);
        let plan = ok(verb("apply", &[], DESIRED), "rsipvsadm apply");
        assert!(!plan.is_empty(), "apply printed no plan");
        (table(), reference_table(DESIRED))
    });
    assert_eq!(applied.saved, expected.saved, "ipvsadm -Sn");
    assert_eq!(
        applied.thresholds, expected.thresholds,
        "ipvsadm -Ln --thresholds"
    );
}

#[test]
fn apply_dry_run_changes_nothing_and_its_plan_replays_with_ipvsadm() {
    let (plan, applied, replayed) = netns_test_alone(|| {
        restore(START);
        let before = table();
        let plan = ok(
            verb("apply", &["--dry-run"], DESIRED),
            "rsipvsadm apply --dry-run",
        );
        assert_eq!(table(), before, "--dry-run changed the table");
        let printed = ok(verb("apply", &[], DESIRED), "rsipvsadm apply");
        assert_eq!(
            printed, plan,
            "apply ran another plan than --dry-run printed"
        );
        let replayed = reference_table(&format!("{START}{plan}"));
        (plan, table(), replayed)
    });
    for kind in ["-A ", "-E ", "-D ", "-a ", "-e ", "-d "] {
        assert!(
            plan.lines().any(|l| l.starts_with(kind)),
            "the plan has no {kind}line:\n{plan}"
        );
    }
    assert_eq!(replayed.saved, applied.saved, "-Sn; the plan:\n{plan}");
    assert_eq!(
        replayed.thresholds, applied.thresholds,
        "-Ln --thresholds; the plan:\n{plan}"
    );
}

#[test]
fn apply_again_does_nothing_and_diff_reports_drift() {
    netns_test_alone(|| {
        restore(START);
        ok(verb("apply", &[], DESIRED), "first apply");
        let applied = table();

        let again = ok(verb("apply", &[], DESIRED), "second apply");
        assert_eq!(again, "", "the second apply planned changes");
        assert_eq!(ok(verb("diff", &[], DESIRED), "diff"), "");
        assert_eq!(table(), applied);

        ok(
            ipvsadm(
                &[
                    "-e",
                    "-t",
                    "10.0.0.1:80",
                    "-r",
                    "10.0.0.11:8080",
                    "-m",
                    "-w",
                    "9",
                ],
                "",
            ),
            "ipvsadm -e",
        );
        let drifted = table();
        let out = verb("diff", &[], DESIRED);
        assert_eq!(
            (out.exit, out.stdout_lossy(), out.stderr_lossy()),
            (
                Exit::Code(1),
                "-e -t 10.0.0.1:80 -r 10.0.0.11:8080 -m -w 5\n".to_string(),
                String::new()
            ),
            "diff after a weight was changed by hand"
        );
        assert_eq!(table(), drifted, "diff changed the table");

        let malformed = format!("{DESIRED}-a -t 10.0.0.1:80 -r 10.0.0.19:80 -w heavy\n");
        let out = verb("diff", &[], &malformed);
        let line = format!("line {}", DESIRED.lines().count() + 1);
        assert_failed(
            &out,
            2,
            &[&line, "illegal weight"],
            "diff of a malformed FILE",
        );
        assert_eq!(out.stdout_lossy(), "", "diff printed a plan for a bad FILE");
        assert_eq!(
            table(),
            drifted,
            "diff of a malformed FILE changed the table"
        );
    });
}

// ---------------------------------------------------------------------------------------
// 4: destination order

/// The desired order of an sh, an mh and an rr service.
const ORDERED: &str = "\
-A -t 10.0.0.1:80 -s sh -b sh-port
-a -t 10.0.0.1:80 -r 10.0.0.11:80 -g -w 1
-a -t 10.0.0.1:80 -r 10.0.0.12:80 -g -w 2
-a -t 10.0.0.1:80 -r 10.0.0.13:80 -g -w 1
-a -t 10.0.0.1:80 -r 10.0.0.14:80 -g -w 1
-a -t 10.0.0.1:80 -r 10.0.0.15:80 -g -w 1
-A -f 7 -s mh -b mh-port
-a -f 7 -r 10.0.0.21:0 -g -w 1
-a -f 7 -r 10.0.0.22:0 -g -w 1
-a -f 7 -r 10.0.0.23:0 -g -w 3
-a -f 7 -r 10.0.0.24:0 -g -w 1
-a -f 7 -r 10.0.0.25:0 -g -w 1
-A -t 10.0.0.2:80 -s rr
-a -t 10.0.0.2:80 -r 10.0.0.31:80 -m -w 1
-a -t 10.0.0.2:80 -r 10.0.0.32:80 -m -w 1
-a -t 10.0.0.2:80 -r 10.0.0.33:80 -m -w 1
";

/// Two directors' tables before: other destinations (some to delete: .19, .29, .18,
/// .28), in another order, another scheduler; the kernel lists newest first.
const ORDER_START_A: &str = "\
-A -t 10.0.0.1:80 -s sh -b sh-port
-a -t 10.0.0.1:80 -r 10.0.0.13:80 -g -w 1
-a -t 10.0.0.1:80 -r 10.0.0.11:80 -g -w 1
-a -t 10.0.0.1:80 -r 10.0.0.19:80 -g -w 1
-a -t 10.0.0.1:80 -r 10.0.0.15:80 -g -w 1
-A -f 7 -s mh -b mh-port
-a -f 7 -r 10.0.0.22:0 -g -w 1
-a -f 7 -r 10.0.0.24:0 -g -w 1
-a -f 7 -r 10.0.0.29:0 -g -w 1
-a -f 7 -r 10.0.0.21:0 -g -w 1
-A -t 10.0.0.2:80 -s rr
-a -t 10.0.0.2:80 -r 10.0.0.33:80 -m -w 1
-a -t 10.0.0.2:80 -r 10.0.0.31:80 -m -w 1
";

const ORDER_START_B: &str = "\
-A -t 10.0.0.1:80 -s rr
-a -t 10.0.0.1:80 -r 10.0.0.15:80 -g -w 1
-a -t 10.0.0.1:80 -r 10.0.0.14:80 -g -w 1
-a -t 10.0.0.1:80 -r 10.0.0.12:80 -g -w 2
-a -t 10.0.0.1:80 -r 10.0.0.18:80 -g -w 1
-a -t 10.0.0.1:80 -r 10.0.0.11:80 -g -w 1
-a -t 10.0.0.1:80 -r 10.0.0.13:80 -g -w 1
-A -f 7 -s mh
-a -f 7 -r 10.0.0.25:0 -g -w 1
-a -f 7 -r 10.0.0.23:0 -g -w 3
-a -f 7 -r 10.0.0.21:0 -g -w 1
-a -f 7 -r 10.0.0.28:0 -g -w 1
-A -t 10.0.0.2:80 -s rr
-a -t 10.0.0.2:80 -r 10.0.0.32:80 -m -w 1
";

const SH: &[&str] = &["-t", "10.0.0.1:80"];
const MH: &[&str] = &["-f", "7"];
const RR: &[&str] = &["-t", "10.0.0.2:80"];

/// Kernel orders of the sh, mh and rr services.
type Orders = [Vec<String>; 3];

fn orders() -> Orders {
    [kernel_order(SH), kernel_order(MH), kernel_order(RR)]
}

/// Loads `start`, applies [`ORDERED`]; returns the orders before and after, and the plan.
fn apply_ordered(start: &'static str) -> (Orders, Orders, String) {
    netns_test_alone(move || {
        restore(start);
        let before = orders();
        let plan = ok(verb("apply", &[], ORDERED), "rsipvsadm apply");
        (before, orders(), plan)
    })
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn apply_leaves_sh_and_mh_destinations_in_file_order_and_rr_ones_in_place() {
    let (before_a, after_a, plan_a) = apply_ordered(ORDER_START_A);
    let (before_b, after_b, _) = apply_ordered(ORDER_START_B);
    assert_ne!(before_a[0], before_b[0], "the sh services must start apart");
    assert_ne!(before_a[1], before_b[1], "the mh services must start apart");

    let sh = strings(&[
        "10.0.0.11:80",
        "10.0.0.12:80",
        "10.0.0.13:80",
        "10.0.0.14:80",
        "10.0.0.15:80",
    ]);
    let mh = strings(&[
        "10.0.0.21:0",
        "10.0.0.22:0",
        "10.0.0.23:0",
        "10.0.0.24:0",
        "10.0.0.25:0",
    ]);
    for (name, after) in [("A", &after_a), ("B", &after_b)] {
        assert_eq!(after[0], sh, "sh service on director {name}");
        assert_eq!(after[1], mh, "mh service on director {name}");
    }

    // rr: the two that exist stay where they are, untouched; the new one goes in front.
    let rr_lines: Vec<&str> = plan_a
        .lines()
        .filter(|l| l.contains("10.0.0.2:80"))
        .collect();
    assert_eq!(
        rr_lines,
        ["-a -t 10.0.0.2:80 -r 10.0.0.32:80 -m -w 1"],
        "the plan:\n{plan_a}"
    );
    let mut rr = vec!["10.0.0.32:80".to_string()];
    rr.extend(before_a[2].iter().cloned());
    assert_eq!(after_a[2], rr);
}

// ---------------------------------------------------------------------------------------
// 5: JSON

/// Keys whose values are numbers wherever they appear in a `-L --json` document.
const NUMBER_KEYS: &[&str] = &[
    "schema_version",
    "port",
    "fwmark",
    "timeout",
    "weight",
    "u_threshold",
    "l_threshold",
    "active_conns",
    "inactive_conns",
    "persistent_conns",
    "conns",
    "inpkts",
    "outbytes",
    "cps",
    "tcp",
    "tcp_fin",
    "udp",
    "conn_tab_size",
];

/// Asserts every [`NUMBER_KEYS`] key under `value` holds an unsigned number; returns how
/// many it checked.
fn check_numbers(value: &Value, path: &str) -> usize {
    match value {
        Value::Object(map) => map
            .iter()
            .map(|(key, v)| {
                let here = format!("{path}.{key}");
                let own = if NUMBER_KEYS.contains(&key.as_str()) {
                    assert!(v.is_u64(), "{here} is not a number: {v}");
                    1
                } else {
                    0
                };
                own + check_numbers(v, &here)
            })
            .sum(),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| check_numbers(v, &format!("{path}[{i}]")))
            .sum(),
        _ => 0,
    }
}

fn service_named<'a>(doc: &'a Value, protocol: &str, address: &str, port: u64) -> &'a Value {
    doc["services"]
        .as_array()
        .expect("services is an array")
        .iter()
        .find(|s| s["protocol"] == protocol && s["address"] == address && s["port"] == port)
        .unwrap_or_else(|| panic!("no {protocol} {address}:{port} in {doc}"))
}

#[test]
fn apply_of_the_json_listing_rebuilds_the_table() {
    let (source_table, text, doc, one) = netns_test_alone(|| {
        restore(DESIRED);
        let (text, doc) = json_listing(&[]);
        let (_, one) = json_listing(&["-t", "10.0.0.1:80"]);
        // A printed document is valid input, and describes the table it was printed from.
        assert_eq!(ok(verb("diff", &[], &text), "diff of the listing"), "");
        (table(), text, doc, one)
    });

    assert_eq!(doc["schema_version"], 1);
    let services = DESIRED.lines().filter(|l| l.starts_with("-A ")).count();
    assert_eq!(doc["services"].as_array().map(Vec::len), Some(services));
    assert_eq!(
        doc["timeouts"],
        json!({"tcp": 900, "tcp_fin": 120, "udp": 300}),
        "a fresh namespace has the default timeouts"
    );
    assert_eq!(doc["daemons"], json!([]));
    assert!(doc["info"]["version"].is_string(), "{}", doc["info"]);
    assert!(
        doc["info"]["conn_tab_size"].as_u64() > Some(0),
        "{}",
        doc["info"]
    );
    assert!(check_numbers(&doc, "") > 100, "too few numbers checked");
    let web = service_named(&doc, "tcp", "10.0.0.1", 80);
    assert_eq!(web["netmask"], "255.255.255.0");
    assert_eq!(web["persistent"], true);
    let v6 = doc["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["fwmark"] == 300)
        .expect("fwmark 300");
    assert_eq!(
        (&v6["family"], &v6["netmask"]),
        (&json!("ipv6"), &json!(64))
    );
    let gre = web["destinations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["address"] == "10.0.0.15")
        .expect("10.0.0.15");
    assert_eq!(
        gre["tunnel"],
        json!({"type": "gre", "port": 0, "checksum": "csum"})
    );

    // One service: the same object as in the whole listing, and nothing else.
    assert_eq!(one["services"].as_array().map(Vec::len), Some(1), "{one}");
    assert_eq!(&one["services"][0], web);
    assert!(
        one.get("timeouts").is_none() && one.get("info").is_none(),
        "{one}"
    );

    // Applied into an empty namespace, the document makes the same table, and lists the
    // same (destinations in the same kernel order; no traffic, so counters all 0).
    let (rebuilt_table, rebuilt) = netns_test_alone(move || {
        let plan = ok(verb("apply", &[], &text), "rsipvsadm apply of the JSON");
        assert!(plan.starts_with("-A "), "{plan}");
        (table(), json_listing(&[]).1)
    });
    assert_eq!(rebuilt_table.saved, source_table.saved);
    assert_eq!(rebuilt_table.thresholds, source_table.thresholds);
    assert_eq!(rebuilt, doc);
}

// ---------------------------------------------------------------------------------------
// 6: bad input

fn two_services(weight: Value) -> String {
    json!({
        "schema_version": 1,
        "services": [
            {"fwmark": 5, "scheduler": "rr"},
            {"protocol": "tcp", "address": "10.0.0.1", "port": 80, "scheduler": "wrr",
             "destinations": [{"address": "10.0.0.11", "forward": "masq", "weight": weight}]}
        ]
    })
    .to_string()
}

#[test]
fn apply_of_bad_input_changes_nothing_and_says_where() {
    let after_desired = DESIRED.lines().count() + 1;
    let line = format!("stdin: line {after_desired}: ");
    let cases: Vec<(&str, Vec<&str>, String, Vec<String>)> = vec![
        (
            "a malformed rule",
            vec![],
            format!("{DESIRED}-a -t 10.0.0.1:80 -r 10.0.0.19:80 -w heavy\n"),
            vec![format!("{line}illegal weight specified")],
        ),
        (
            "a -D line",
            vec![],
            format!("{DESIRED}-D -t 10.0.0.2:443\n"),
            vec![format!("{line}-D has no place in a desired state")],
        ),
        (
            "a real server of no service",
            vec![],
            format!("{DESIRED}-a -t 10.0.0.9:80 -r 10.0.0.91:80 -m\n"),
            vec![format!(
                "{line}a real server of tcp 10.0.0.9:80, which no -A rule adds"
            )],
        ),
        (
            "a duplicate service",
            vec![],
            format!("{DESIRED}-A -t 10.0.0.1:80 -s wrr\n"),
            vec![format!(
                "{line}tcp 10.0.0.1:80 is already defined at line 1"
            )],
        ),
        (
            "a service outside the scope",
            vec!["--scope", "10.0.0.0/8"],
            "-A -t 10.0.0.1:80 -s rr\n-A -t 192.168.1.1:80 -s rr\n".into(),
            vec!["stdin: line 2: tcp 192.168.1.1:80 is outside --scope 10.0.0.0/8".into()],
        ),
        (
            "JSON with a wrong type",
            vec![],
            two_services(json!("heavy")),
            vec!["stdin: services[1].destinations[0].weight: invalid type: string".into()],
        ),
        (
            "JSON with an unknown field",
            vec![],
            json!({"schema_version": 1, "services": [
                {"protocol": "udp", "address": "10.0.0.3", "port": 53, "colour": "blue"}]})
            .to_string(),
            vec!["stdin: services[0]".into(), "unknown field `colour`".into()],
        ),
        (
            "JSON without protocol and address",
            vec![],
            json!({"schema_version": 1, "services": [
                {"fwmark": 5},
                {"port": 80, "scheduler": "rr"}]})
            .to_string(),
            vec![
                "stdin: services[1].protocol: missing".into(),
                "stdin: services[1].address: missing".into(),
            ],
        ),
        (
            "invalid JSON",
            vec![],
            "{\"schema_version\": 1, \"services\": [{\"fwmark\": 5,}]}\n".into(),
            vec!["not valid JSON at line 1, column".into()],
        ),
        (
            "JSON of another schema version",
            vec![],
            json!({"schema_version": 2, "services": []}).to_string(),
            vec!["stdin: schema_version: schema version 2 is not known".into()],
        ),
        (
            "a real server twice",
            vec![],
            format!("{DESIRED}-a -t 10.0.0.1:80 -r 10.0.0.11:8080 -m -w 7\n"),
            vec![format!(
                "{line}tcp 10.0.0.1:80 real server 10.0.0.11:8080 is already defined at line 2"
            )],
        ),
        (
            "a lower threshold above the upper one",
            vec![],
            format!("{DESIRED}-a -t 10.0.0.1:80 -r 10.0.0.19:80 -m -x 5 -y 10\n"),
            vec![format!("{line}lower threshold 10 is above the upper one 5")],
        ),
        (
            "an empty standard input",
            vec![],
            String::new(),
            vec!["stdin: no -A rule: applying that would delete every service in scope".into()],
        ),
        (
            "only comments",
            vec![],
            "# the rules are elsewhere\n\n".into(),
            vec!["stdin: no -A rule".into()],
        ),
    ];
    netns_test_alone(move || {
        restore(START);
        let before = (table(), json_listing(&[]).0);
        for (what, args, file, says) in &cases {
            for verb_name in ["apply", "diff"] {
                let out = verb(verb_name, args, file);
                let mut fragments: Vec<&str> = says.iter().map(String::as_str).collect();
                if verb_name == "apply" {
                    fragments.push("nothing was changed");
                }
                let what = format!("{verb_name} of {what}");
                assert_failed(&out, 2, &fragments, &what);
                assert_eq!(out.stdout_lossy(), "", "{what}: printed a plan");
                assert_eq!((table(), json_listing(&[]).0), before, "{what}");
            }
        }
        // Read from a file, the messages name it.
        let path = std::env::temp_dir().join(format!("rsipvsadm-apply-{}", std::process::id()));
        std::fs::write(&path, &cases[0].2).expect("write FILE");
        let name = path.to_str().expect("UTF-8 path").to_string();
        let out = rsipvsadm(&["apply", &name], "");
        let _ = std::fs::remove_file(&path);
        let said = format!("{name}: line {after_desired}: illegal weight specified");
        assert_failed(&out, 2, &[&said], "apply of a malformed FILE by name");
        assert_eq!(table(), before.0);

        // The good part of those files would have changed the table: nothing was held
        // back for a reason other than the bad part.
        ok(verb("apply", &[], DESIRED), "apply of the good part");
        assert_ne!(table(), before.0);
    });
}

// ---------------------------------------------------------------------------------------
// 7: --scope

/// Services outside `--scope 10.0.0.0/8 --scope fwmark:100-199`: another VIP prefix,
/// IPv6, marks outside the range (one with real servers inside 10.0.0.0/8).
const OUTSIDE: &str = "\
-A -t 192.168.1.1:80 -s wrr -p 60
-a -t 192.168.1.1:80 -r 192.168.1.11:80 -m -w 3 -x 9 -y 2
-A -u [2001:db8::1]:53 -s rr
-a -u [2001:db8::1]:53 -r [2001:db8::11]:53 -m -w 1
-A -f 500 -s rr
-a -f 500 -r 10.0.0.50:0 -g -w 1
-A -f 99 -6 -s sh
-a -f 99 -6 -r [2001:db8::99]:0 -g -w 1
";

/// Services inside the scope: 10.0.0.2:443 and fwmark 150 -6 are not in [`SCOPED`].
const INSIDE: &str = "\
-A -t 10.0.0.1:80 -s rr
-a -t 10.0.0.1:80 -r 10.0.0.11:80 -m -w 1
-A -t 10.0.0.2:443 -s rr
-a -t 10.0.0.2:443 -r 10.0.0.21:443 -m -w 1
-A -f 120 -s rr
-a -f 120 -r 10.0.0.12:0 -g -w 1
-A -f 150 -6 -s rr
-a -f 150 -6 -r [2001:db8::15]:0 -g -w 1
";

const SCOPED: &str = "\
-A -t 10.0.0.1:80 -s wrr
-a -t 10.0.0.1:80 -r 10.0.0.11:80 -m -w 4
-a -t 10.0.0.1:80 -r 10.0.0.12:80 -m -w 1
-A -f 120 -s sh -b sh-port
-a -f 120 -r 10.0.0.12:0 -g -w 1
-A -t 10.0.0.3:80 -s rr
";

#[test]
fn apply_with_scope_leaves_services_outside_it_alone() {
    let (after, plan, expected) = netns_test_alone(|| {
        restore(&format!("{OUTSIDE}{INSIDE}"));
        let out = verb(
            "apply",
            &["--scope", "10.0.0.0/8", "--scope", "fwmark:100-199"],
            SCOPED,
        );
        let plan = ok(out, "apply --scope");
        let scoped = verb(
            "diff",
            &["--scope", "10.0.0.0/8", "--scope", "fwmark:100-199"],
            SCOPED,
        );
        assert_eq!(ok(scoped, "diff --scope after apply --scope"), "");
        let whole = verb("diff", &[], SCOPED);
        assert_eq!(whole.exit, Exit::Code(1), "diff without --scope");
        assert!(
            lines_of(&whole.stdout_lossy()).contains(&"-D -t 192.168.1.1:80"),
            "diff without --scope:\n{}",
            whole.stdout_lossy()
        );
        (
            table(),
            plan,
            reference_table(&format!("{OUTSIDE}{SCOPED}")),
        )
    });
    assert_eq!(after.saved, expected.saved, "the plan:\n{plan}");
    assert_eq!(after.thresholds, expected.thresholds);
    for deleted in ["-D -t 10.0.0.2:443", "-D -f 150 -6"] {
        assert!(
            lines_of(&plan).contains(&deleted),
            "{deleted}; the plan:\n{plan}"
        );
    }
    for outside in ["192.168.", "2001:db8::1]", "-f 500", "-f 99"] {
        assert!(!plan.contains(outside), "{outside}; the plan:\n{plan}");
    }
}

// ---------------------------------------------------------------------------------------
// 8: a kernel refusal

/// A refused add stops apply before any move (a delete and an add) or delete: the `sh`
/// service keeps its order, its real server only edited in place.
#[test]
fn apply_refused_by_the_kernel_deletes_nothing() {
    netns_test_alone(|| {
        restore(
            "-A -t 10.0.0.1:80 -s rr\n\
             -a -t 10.0.0.1:80 -r 10.0.0.11:80 -m -w 1\n\
             -A -t 10.0.0.2:443 -s rr\n\
             -a -t 10.0.0.2:443 -r 10.0.0.21:443 -m -w 1\n\
             -A -t 10.0.0.4:80 -s sh\n\
             -a -t 10.0.0.4:80 -r 10.0.0.41:80 -m -w 1\n\
             -a -t 10.0.0.4:80 -r 10.0.0.42:80 -m -w 1\n",
        );
        assert_eq!(
            kernel_order(&["-t", "10.0.0.4:80"]),
            ["10.0.0.42:80", "10.0.0.41:80"]
        );
        let file = "-A -t 10.0.0.1:80 -s wrr\n\
                    -a -t 10.0.0.1:80 -r 10.0.0.11:80 -m -w 3\n\
                    -A -u 10.0.0.3:53 -s nosuch\n\
                    -a -u 10.0.0.3:53 -r 10.0.0.31:53 -m -w 1\n\
                    -A -t 10.0.0.4:80 -s sh\n\
                    -a -t 10.0.0.4:80 -r 10.0.0.41:80 -m -w 2\n\
                    -a -t 10.0.0.4:80 -r 10.0.0.42:80 -m -w 1\n";
        let out = verb("apply", &[], file);
        assert_failed(
            &out,
            1,
            &[
                "line 3: the kernel refused `-A -u 10.0.0.3:53 -s nosuch`",
                "modprobe ip_vs_nosuch",
                "not everything wanted is in place, so no real server was moved, drained or \
                 deleted",
            ],
            "apply with an unknown scheduler",
        );
        let stderr = out.stderr_lossy();
        assert_eq!(
            stderr.matches("the kernel refused").count(),
            1,
            "one refusal, not one per real server of the refused service:\n{stderr}"
        );
        // The adds and edits that could be made were; the move and the delete were held
        // back.
        assert_eq!(
            table().saved,
            "-A -t 10.0.0.1:80 -s wrr\n\
             -a -t 10.0.0.1:80 -r 10.0.0.11:80 -m -w 3\n\
             -A -t 10.0.0.2:443 -s rr\n\
             -a -t 10.0.0.2:443 -r 10.0.0.21:443 -m -w 1\n\
             -A -t 10.0.0.4:80 -s sh\n\
             -a -t 10.0.0.4:80 -r 10.0.0.41:80 -m -w 2\n\
             -a -t 10.0.0.4:80 -r 10.0.0.42:80 -m -w 1\n"
        );
        assert_eq!(
            kernel_order(&["-t", "10.0.0.4:80"]),
            ["10.0.0.42:80", "10.0.0.41:80"],
            "not moved"
        );
    });
}

/// `services` services of 3 NAT real servers each, service 7 an IPv6 one (so that
/// before 7.1 apply's read back takes the service dump, reading real servers meanwhile),
/// service `refused` with a scheduler no kernel has.
fn many_services(services: u32, refused: Option<u32>) -> String {
    let mut file = String::new();
    for i in 0..services {
        let (vip, rip) = if i == 7 {
            ("[2001:db8::7]".to_string(), "[2001:db8:1::7".to_string())
        } else {
            (
                format!("10.1.{}.{}", i / 250, 1 + i % 250),
                format!("10.2.{}", 1 + i % 250),
            )
        };
        let scheduler = if Some(i) == refused { "nosuch" } else { "wrr" };
        file.push_str(&format!("-A -t {vip}:80 -s {scheduler}\n"));
        for d in 1..=3 {
            let rip = if i == 7 {
                format!("{rip}:{d}]")
            } else {
                format!("{rip}.{d}")
            };
            file.push_str(&format!("-a -t {vip}:80 -r {rip}:8080 -m -w {d}\n"));
        }
    }
    file
}

fn sorted_lines(text: &str) -> Vec<&str> {
    let mut lines = lines_of(text);
    lines.sort_unstable();
    lines
}

/// A plan of more steps than apply encodes at once (4096; the next chunk is encoded while
/// the kernel works through one, and the plan printed meanwhile) runs every chunk, in
/// order, and prints all of it; a refusal in a later chunk names its line and stops
/// apply as one in the first would.
#[test]
fn apply_runs_every_chunk_of_a_large_plan() {
    netns_test_alone(|| {
        // 6000 steps.
        let file = many_services(1500, None);
        let plan = ok(verb("apply", &[], &file), "apply of 1500 x 3");
        assert_eq!(sorted_lines(&plan), sorted_lines(&file), "the plan");
        assert_eq!(table(), reference_table(&file));
        assert_eq!(ok(verb("apply", &[], &file), "second apply"), "");
        ok(rsipvsadm(&["-C"], ""), "rsipvsadm -C");
        // Service 1400 is the plan's step 5601 (each new service is followed by its real
        // servers), in the second chunk.
        let refused = many_services(1500, Some(1400));
        let out = verb("apply", &[], &refused);
        assert_failed(
            &out,
            1,
            &[
                "line 5601: the kernel refused `-A -t 10.1.5.151:80 -s nosuch`",
                "not everything wanted is in place",
            ],
            "apply with a refusal in the second chunk",
        );
        assert_eq!(out.stderr_lossy().matches("the kernel refused").count(), 1);
        assert_eq!(
            sorted_lines(&out.stdout_lossy()),
            sorted_lines(&refused),
            "the plan"
        );
        let taken: String = refused
            .lines()
            .filter(|line| !line.contains(" 10.1.5.151:80 "))
            .map(|line| format!("{line}\n"))
            .collect();
        assert_eq!(table(), reference_table(&taken));
    });
}

/// `rsipvsadm VERB -` with FILE on standard input and standard output a pipe nobody
/// reads (`apply FILE | head` once head is gone): (exit status, stderr).
fn with_reader_gone(verb: &str, file: &str) -> (Option<i32>, String) {
    let (read_end, write_end) = nix::unistd::pipe().expect("pipe");
    drop(read_end);
    let mut child = Command::new(rsipvsadm_bin())
        .arg0("rsipvsadm")
        .args([verb, "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::from(write_end))
        .stderr(Stdio::piped())
        .spawn()
        .expect("start rsipvsadm");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(file.as_bytes()).expect("write FILE");
    drop(stdin);
    let out = child.wait_with_output().expect("wait for rsipvsadm");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A plan nobody reads does not stop apply halfway (no SIGPIPE), nor changes diff's
/// answer.
#[test]
fn apply_and_diff_go_on_when_nobody_reads_the_plan() {
    netns_test_alone(|| {
        let file = "-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.0.0.11:80 -m -w 1\n";
        assert_eq!(with_reader_gone("diff", file), (Some(1), String::new()));
        assert_eq!(with_reader_gone("apply", file), (Some(0), String::new()));
        assert_eq!(table(), reference_table(file));
        assert_eq!(with_reader_gone("diff", file), (Some(0), String::new()));
    });
}

// ---------------------------------------------------------------------------------------
// Edges: local real servers, names, defaults, mixed families, a netmask alone

/// Real servers on the director's own addresses (the kernel may list them as local),
/// the largest fwmark, host and service names, ipvsadm's defaults (scheduler wlc,
/// persistence 360 s), an IPv4 real server tunnelled from an IPv6 service.
const EDGES: &str = "\
-A -t 10.0.0.1:80 -s rr
-a -t 10.0.0.1:80 -r 10.0.0.254:80 -m -w 1
-a -t 10.0.0.1:80 -r 10.0.0.11:80 -m -w 2
-A -f 4294967295 -6 -s sh
-a -f 4294967295 -6 -r [2001:db8::fe]:0 -g -w 1
-a -f 4294967295 -6 -r [2001:db8::11]:0 -g -w 1
-A -u 10.0.0.2:0 -p
-A -t web2.test:http -s rr
-a -t web2.test:http -r web3.test:http-alt -m
-A -t [2001:db8::2]:80 -s rr
-a -t [2001:db8::2]:80 -r 10.0.0.21:80 -i -w 1
";

#[test]
fn apply_converges_on_edges() {
    netns_test_alone(|| {
        ok(verb("apply", &[], EDGES), "first apply");
        assert_eq!(table(), reference_table(EDGES));
        assert_eq!(ok(verb("apply", &[], EDGES), "second apply"), "");
        assert_eq!(ok(verb("diff", &[], EDGES), "diff"), "");
        let (text, _) = json_listing(&[]);
        assert_eq!(ok(verb("diff", &[], &text), "diff of the JSON listing"), "");

        // A netmask without persistence: only JSON and -E can say it, not -S.
        let doc = json!({"schema_version": 1, "services": [
            {"protocol": "tcp", "address": "10.0.0.5", "port": 80, "scheduler": "rr",
             "netmask": "255.255.0.0"}]})
        .to_string();
        let scope = ["--scope", "10.0.0.5"];
        let plan = ok(verb("apply", &scope, &doc), "apply of a netmask alone");
        assert_eq!(plan, "-A -t 10.0.0.5:80 -s rr -M 255.255.0.0\n");
        assert_eq!(
            ok(verb("diff", &scope, &doc), "diff of a netmask alone"),
            ""
        );
        let (_, one) = json_listing(&["-t", "10.0.0.5:80"]);
        let svc = &one["services"][0];
        assert_eq!(
            (&svc["netmask"], &svc["persistent"]),
            (&json!("255.255.0.0"), &json!(false))
        );
        // Outside --scope, the service is one FILE does not have.
        let out = verb("diff", &[], EDGES);
        assert_eq!(
            (out.exit, out.stdout_lossy()),
            (Exit::Code(1), "-D -t 10.0.0.5:80\n".to_string()),
            "diff without --scope"
        );
    });
}

/// A refusal names its fix: the persistence engine's module, the route to an address.
#[test]
fn apply_refusals_name_the_fix() {
    netns_test_alone(|| {
        let out = verb(
            "apply",
            &[],
            "-A -u 10.0.0.7:5060 -s rr -p 60 --pe nosuch\n\
             -A -t 10.0.0.1:80 -s rr\n\
             -a -t 10.0.0.1:80 -r 224.0.0.5:80 -m -w 1\n",
        );
        assert_failed(
            &out,
            1,
            &[
                "the kernel refused `-A -u 10.0.0.7:5060 -s rr -p 60 --pe nosuch`",
                "modprobe ip_vs_rr ip_vs_pe_nosuch",
                "the kernel refused `-a -t 10.0.0.1:80 -r 224.0.0.5:80 -m -w 1`",
                "check `ip route get 224.0.0.5`",
            ],
            "apply with an unknown engine and a multicast real server",
        );
    });
}
