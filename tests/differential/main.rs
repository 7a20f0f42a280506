//! Differential tests: run sequences of ipvsadm command lines with the reference ipvsadm
//! and with rsipvsadm, each sequence in its own fresh network namespace with the
//! standard test network, and require the same stdout, stderr and exit status from every
//! command. Both programs are started with `argv[0] = "ipvsadm"`, so messages that embed
//! the program name compare equal.
//!
//! Data: `cases/*.cases` (format: header of `cases/list.cases`), one case per line;
//! `$RSIPVSADM_DIFF_CASES` points at that directory (the VM copy), by default the source
//! tree's. `self.cases` (compiled in) compares ipvsadm with itself to prove the harness.
//! `RSIPVSADM_DIFF_FILTER=TEXT` runs only the cases whose `FILE:LINE NAME` contains TEXT.
//!
//! Needs root and IPVS: `tests/run` runs it inside the VM.

#[path = "../common/mod.rs"]
mod common;

mod case_file;
mod compare;
mod generated;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::Duration;

use case_file::{Case, parse_case_file};
use common::{RunOutput, in_fresh_netns, ipvsadm_bin, require_ipvs, rsipvsadm_bin};

/// Longest a single command may take (software-emulated VM: be generous).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);

/// The case set that checks the harness itself (ipvsadm against ipvsadm).
const SELF_CASES: &str = include_str!("self.cases");

fn cases_dir() -> PathBuf {
    std::env::var_os("RSIPVSADM_DIFF_CASES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/differential/cases"))
}

/// One side of a comparison: a program and how reports name it.
#[derive(Clone)]
struct Program {
    label: String,
    path: PathBuf,
}

impl Program {
    fn reference() -> Program {
        Program {
            label: "ipvsadm".into(),
            path: ipvsadm_bin(),
        }
    }
    fn candidate() -> Program {
        Program {
            label: "rsipvsadm".into(),
            path: rsipvsadm_bin(),
        }
    }
}

/// On 6.1 a service dump (ipvsadm's and ours) resumes by position in tables shared by
/// every namespace, so services changing in another namespace can repeat or skip entries
/// of a listing. Cases run in parallel under the read side; a case that differed is run
/// again under the write side, alone, before it counts as a difference.
static TABLES: RwLock<()> = RwLock::new(());

/// Runs `case`'s commands in order with `program`, in a fresh network namespace with the
/// standard test network, and returns what each did.
fn run_case(program: &Program, case: &Case) -> Vec<RunOutput> {
    let _shared = TABLES.read().unwrap_or_else(|e| e.into_inner());
    run_case_unlocked(program, case)
}

/// [`run_case`] while no other case runs.
fn run_case_alone(program: &Program, case: &Case) -> Vec<RunOutput> {
    let _alone = TABLES.write().unwrap_or_else(|e| e.into_inner());
    run_case_unlocked(program, case)
}

fn run_case_unlocked(program: &Program, case: &Case) -> Vec<RunOutput> {
    let (program, case) = (program.clone(), case.clone());
    in_fresh_netns(move || {
        case.commands
            .iter()
            .map(|cmd| {
                let mut command = Command::new(&program.path);
                // Same argv[0], environment and directory for both programs.
                std::os::unix::process::CommandExt::arg0(&mut command, "ipvsadm");
                command
                    .args(&cmd.args)
                    .env_clear()
                    .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
                    .env("HOME", "/root")
                    .current_dir("/");
                common::run_with_timeout(
                    &mut command,
                    cmd.stdin_bytes().as_deref(),
                    COMMAND_TIMEOUT,
                )
            })
            .collect()
    })
}

/// Runs each case with both programs (cases in parallel: each is isolated by its own
/// namespaces) and returns the reports of the cases that differ, in case order, each
/// confirmed by a second run alone (see [`TABLES`]).
fn compare_all(cases: &[Case], reference: &Program, candidate: &Program) -> Vec<String> {
    let next = AtomicUsize::new(0);
    let reports = Mutex::new(Vec::new());
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(cases.len());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(case) = cases.get(i) else { break };
                    let expected = run_case(reference, case);
                    let actual = run_case(candidate, case);
                    if let Some(report) = compare::compare_case(
                        case,
                        &expected,
                        &actual,
                        &reference.label,
                        &candidate.label,
                    ) {
                        reports.lock().unwrap().push((i, report));
                    }
                }
            });
        }
    });
    let mut differing: Vec<usize> = reports
        .into_inner()
        .unwrap()
        .into_iter()
        .map(|(i, _)| i)
        .collect();
    differing.sort_unstable();
    differing
        .into_iter()
        .filter_map(|i| {
            let case = &cases[i];
            let expected = run_case_alone(reference, case);
            let actual = run_case_alone(candidate, case);
            compare::compare_case(case, &expected, &actual, &reference.label, &candidate.label)
        })
        .collect()
}

/// Applies `RSIPVSADM_DIFF_FILTER`.
fn filtered(cases: Vec<Case>) -> Vec<Case> {
    match std::env::var("RSIPVSADM_DIFF_FILTER") {
        Ok(filter) if !filter.is_empty() => cases
            .into_iter()
            .filter(|c| format!("{} {}", c.origin, c.name).contains(&filter))
            .collect(),
        _ => cases,
    }
}

/// Compares `cases` and panics with every difference found.
fn assert_same(set: &str, cases: Vec<Case>, reference: &Program, candidate: &Program) {
    require_ipvs();
    let cases = filtered(cases);
    let reports = compare_all(&cases, reference, candidate);
    println!(
        "{set}: {} cases, {} differ ({} vs {})",
        cases.len(),
        reports.len(),
        reference.path.display(),
        candidate.path.display()
    );
    if !reports.is_empty() {
        panic!(
            "{} of {} {set} cases differ between {} and {}:\n\n{}",
            reports.len(),
            cases.len(),
            reference.label,
            candidate.label,
            reports.join("\n")
        );
    }
}

/// The project's compatibility check: every case in `cases/*.cases`, ipvsadm against
/// rsipvsadm.
#[test]
fn candidate_matches_reference() {
    let dir = cases_dir();
    let cases = case_file::load_dir(&dir).unwrap_or_else(|e| panic!("{e}"));
    assert_same(
        &dir.display().to_string(),
        cases,
        &Program::reference(),
        &Program::candidate(),
    );
}

/// The harness end to end: ipvsadm against itself over `self.cases` finds no difference.
#[test]
fn reference_matches_itself() {
    let cases = parse_case_file(SELF_CASES, "self.cases", None).unwrap_or_else(|e| panic!("{e}"));
    assert!(!cases.is_empty(), "self.cases has no cases");
    let again = Program {
        label: "ipvsadm(again)".into(),
        ..Program::reference()
    };
    assert_same("self.cases", cases, &Program::reference(), &again);
}

/// The harness really detects differences, on every channel: different output (a
/// numeric and a resolved listing), a different exit code and a different stderr.
#[test]
fn harness_detects_differences() {
    require_ipvs();
    let ipvsadm = Program::reference();
    let case = |line: &str| parse_case_file(line, "inline", None).unwrap().remove(0);
    let numeric = case("numeric: -A -t 10.0.0.1:80 ; -Ln");
    let resolved = case("resolved: -A -t 10.0.0.1:80 ; -L");
    let report = compare::compare_case(
        &numeric,
        &run_case(&ipvsadm, &numeric),
        &run_case(&ipvsadm, &resolved),
        "numeric",
        "resolved",
    )
    .expect("-Ln and -L listings of a service must differ");
    println!("{report}");
    assert!(report.contains("command 2 of 2"), "{report}");
    assert!(report.contains("-TCP  10.0.0.1:80 wlc$"), "{report}");
    assert!(report.contains("+TCP  web1.test:http wlc$"), "{report}");
    assert!(!report.contains("command 1 of 2"), "{report}");

    let bad_port = case("bad-port: -A -t 10.0.0.1:0 ; -Ln");
    let report = compare::compare_case(
        &numeric,
        &run_case(&ipvsadm, &numeric),
        &run_case(&ipvsadm, &bad_port),
        "good",
        "bad",
    )
    .expect("a failing command must differ from a succeeding one");
    println!("{report}");
    assert!(
        report.contains("status: good: exit code 0, bad: exit code 2"),
        "{report}"
    );
    assert!(report.contains("stderr differs"), "{report}");
    assert!(report.contains("command 2 of 2"), "{report}");
}

/// The reference behaves as the self cases assume, so that "ipvsadm equals itself"
/// means something: IPVS works, a service shows in the listing, errors exit with 2.
#[test]
fn reference_works_in_this_kernel() {
    require_ipvs();
    let case = parse_case_file(
        "sanity: -A -t 10.0.0.1:80 -s rr ; -a -t 10.0.0.1:80 -r 10.0.0.2:80 -m ; -Ln ; -A -t 10.0.0.1:0",
        "inline",
        None,
    )
    .unwrap()
    .remove(0);
    let out = run_case(&Program::reference(), &case);
    let status: Vec<_> = out.iter().map(|o| o.exit).collect();
    use common::Exit::Code;
    assert_eq!(status, [Code(0), Code(0), Code(0), Code(2)], "{out:#?}");
    let listing = out[2].stdout_lossy();
    assert!(listing.contains("TCP  10.0.0.1:80 rr\n"), "{listing}");
    assert!(listing.contains("  -> 10.0.0.2:80"), "{listing}");
    assert!(out[3].stderr_lossy().contains("Zero port"), "{out:#?}");
}
