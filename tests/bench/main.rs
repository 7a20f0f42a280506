//! Side-by-side benchmark of rsipvsadm against the reference ipvsadm and the lower-bound
//! probe (`genl-batch`), run inside the test VM by `tests/bench/run` (which documents
//! what it prints).
//!
//! Every measurement runs in a fresh network namespace (an empty IPVS table of its own).
//! The tools are started with argv[0] "ipvsadm" by a small helper (this program in
//! `--measure` mode) that times them with `Instant` from spawn to `wait4`, which also
//! gives the tool's peak resident memory, and starts them at a fixed address layout
//! (`measure::Layout`: randomized, emulation makes every start translate code afresh).
//! Results go into one table, always printed in full; the exit status is 0 only if every
//! target is met and every output check passed. With `RSIPVSADM_BENCH_SMALL=1` every
//! row is measured once on a tiny table: the table's shape and the checks count, the
//! targets do not (the smoke test `tests/run` runs).

#[path = "../common/mod.rs"]
mod common;
mod measure;
mod report;
mod tables;

use measure::{Layout, MEASURE_MODE, Run, Tool, clear_table, reference, run_tool, run_tool_in};
use report::{Report, Row, Runs, Target, median_secs};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;
use tables::{Table, changed_rules, first_difference, proc_table, table_difference};

/// The address every single-command run adds (inside `10.0.0.0/8`, on `rs0`).
const SINGLE_SERVICE: &str = "10.0.0.1:80";
const MIB: u64 = 1024;
/// Peak RSS targets (issue 13): listings, and what loads a whole table.
const LISTING_RSS: Target = Target::MaxRssKib(32 * MIB);
const LOADING_RSS: Target = Target::MaxRssKib(64 * MIB);
/// Time targets against the probe: restore, listings, apply's read.
const RESTORE_VS_PROBE: Target = Target::WithinProbe(1.25);
const LISTING_VS_PROBE: Target = Target::WithinProbe(1.1);
const READ_VS_PROBE: Target = Target::WithinProbe(1.0);

/// The reference and the candidate, the tools every existing row compares.
const TOOLS: [Tool; 2] = [Tool::Ipvsadm, Tool::Rsipvsadm];
const RS_ONLY: &[Tool] = &[Tool::Rsipvsadm];

/// What is measured, and how often: the full benchmark or the smoke run's tiny tables.
struct Plan {
    /// How often the single `-A` is timed per tool (after one untimed warm-up).
    single_reps: usize,
    /// Restore, listings of both tools and the probe (1000x5; 10000x5 with memory and
    /// apply rows).
    small: Bench,
    large: Bench,
    /// Pairs of rsipvsadm -R and apply of the whole rule file to an empty table: the two
    /// differ by a few tenths of a second, about the noise of one run under emulation.
    apply_reps: usize,
    /// Listings of a table smaller than `small` (issue 13's sizes start at 10).
    tiny: (Table, usize),
    /// 100,000 x 2: every tool once.
    huge: Table,
    /// 30,000 x 1: -Ln against the probe (issue 14).
    wide: Table,
    /// 1,000 x 100: peak memory.
    deep: Table,
    /// ipvsadm-validate's grid of -S -n, with the listings' repetitions.
    grid: Vec<(Table, usize)>,
}

#[derive(Clone, Copy)]
struct Bench {
    table: Table,
    restore_reps: usize,
    listing_reps: usize,
    /// Whether peak memory rows and `apply` are measured on this table too.
    memory_and_apply: bool,
}

impl Plan {
    fn new(smoke: bool) -> Plan {
        let bench = |services, restore_reps, listing_reps, memory_and_apply| Bench {
            table: Table::tcp(services, 5),
            restore_reps,
            listing_reps,
            memory_and_apply,
        };
        let fwmarks = |n| Table {
            services: n,
            fwmarks: n,
            dests: 1,
        };
        if smoke {
            return Plan {
                single_reps: 2,
                small: bench(20, 1, 1, false),
                large: bench(250, 1, 1, true),
                apply_reps: 1,
                tiny: (Table::tcp(3, 5), 1),
                huge: Table::tcp(60, 2),
                wide: Table::tcp(40, 1),
                deep: Table::tcp(4, 30),
                grid: vec![
                    (Table::tcp(10, 4), 1),
                    (Table::tcp(20, 2), 1),
                    (Table::tcp(3, 30), 1),
                    (fwmarks(20), 1),
                ],
            };
        }
        Plan {
            single_reps: 30,
            small: bench(1_000, 5, 5, false),
            large: bench(10_000, 3, 3, true),
            apply_reps: 5,
            tiny: (Table::tcp(10, 5), 5),
            huge: Table::tcp(100_000, 2),
            wide: Table::tcp(30_000, 1),
            deep: Table::tcp(1_000, 100),
            grid: vec![
                (Table::tcp(1_000, 4), 3),
                (Table::tcp(2_000, 2), 3),
                (Table::tcp(8_000, 2), 3),
                (Table::tcp(16_000, 1), 1),
                (Table::tcp(100, 100), 3),
                (fwmarks(8_000), 1),
            ],
        }
    }

    /// How many rows the plan's table has: the smoke run checks it got them all.
    fn rows(&self) -> usize {
        let single = 1;
        let per_bench = |b: &Bench| 3 + if b.memory_and_apply { 2 + 4 } else { 0 };
        let tiny = 3;
        let huge = 5;
        let wide = 1;
        let deep = 4;
        single
            + per_bench(&self.small)
            + per_bench(&self.large)
            + tiny
            + huge
            + wide
            + deep
            + self.grid.len()
    }
}

/// A table's rule file, written to /tmp for the tools' stdin, removed when the last
/// reference to it goes (shared with the namespaces' threads).
struct RuleFile {
    table: Table,
    text: String,
    path: PathBuf,
}

impl RuleFile {
    fn new(table: Table) -> Arc<RuleFile> {
        let text = table.rules();
        let path = PathBuf::from(format!("/tmp/bench-rules-{}.txt", table.label()));
        std::fs::write(&path, &text).expect("write the rule file");
        Arc::new(RuleFile { table, text, path })
    }

    fn arg(&self) -> String {
        self.path.to_str().expect("UTF-8 path").to_string()
    }
}

impl Drop for RuleFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Loads `rules` into the current namespace's empty table with `tool` (-R, apply or the
/// probe), timed; returns the run and what is wrong with the loaded table, if anything
/// (compared through /proc/net/ip_vs).
fn load(tool: Tool, how: &str, rules: &RuleFile) -> (Run, Option<String>) {
    let run = match (tool, how) {
        (Tool::Probe, _) => {
            let args = rules.table.probe_load_args();
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            run_tool(tool, &args, None)
        }
        (_, "apply") => run_tool(tool, &["apply", &rules.arg()], None),
        _ => run_tool(tool, &["-R"], Some(&rules.path)),
    };
    println!(
        "bench: {} {how} {}: {:.3} s, {} KiB, status {}",
        tool.name(),
        rules.table.label(),
        run.secs(),
        run.max_rss_kib,
        run.status
    );
    let problem = if !run.ok() || (tool == Tool::Probe && !run.stderr.is_empty()) {
        let stderr = String::from_utf8_lossy(&run.stderr);
        Some(format!(
            "{} {how} failed: status {}: {stderr}",
            tool.name(),
            run.status
        ))
    } else {
        table_difference(&proc_table(), &rules.text)
    };
    (run, problem)
}

// ---------------------------------------------------------------------------------------
// Listings

#[derive(Clone, Copy, PartialEq, Eq)]
enum Listing {
    Ln,
    Sn,
}

impl Listing {
    fn name(self) -> &'static str {
        match self {
            Listing::Ln => "-Ln",
            Listing::Sn => "-S -n",
        }
    }

    fn args(self) -> &'static [&'static str] {
        match self {
            Listing::Ln => &["-L", "-n"],
            Listing::Sn => &["-S", "-n"],
        }
    }
}

/// Times each listing of `jobs` with its tools `reps` times, alternating, in the current
/// namespace, and the probe's listing once per repetition (its runs go into every
/// job's `Runs`: it lists the same either way).
fn time_listings(rules: &RuleFile, reps: usize, jobs: &[(Listing, &[Tool])]) -> Vec<Runs> {
    time_listings_in(Layout::Fixed, rules, reps, jobs)
}

/// [`time_listings`] with the tools started at `layout`.
fn time_listings_in(
    layout: Layout,
    rules: &RuleFile,
    reps: usize,
    jobs: &[(Listing, &[Tool])],
) -> Vec<Runs> {
    let label = rules.table.label();
    let progress = |what: &str, tool: Tool, run: &Run| {
        println!(
            "bench: {what} {label} {}: {:.3} s, {} KiB",
            tool.name(),
            run.secs(),
            run.max_rss_kib
        );
    };
    let mut runs: Vec<Runs> = jobs.iter().map(|_| Runs::new()).collect();
    for _ in 0..reps {
        for (runs, (listing, tools)) in runs.iter_mut().zip(jobs) {
            for &tool in *tools {
                let run = run_tool_in(layout, tool, listing.args(), None);
                progress(listing.name(), tool, &run);
                runs.push(tool, run);
            }
        }
        let probe = run_tool_in(layout, Tool::Probe, &["list"], None);
        progress("list", Tool::Probe, &probe);
        for runs in &mut runs {
            runs.push(Tool::Probe, probe.clone());
        }
    }
    runs
}

/// Checks of one table's listings: both tools print the same (where ipvsadm ran), else
/// rsipvsadm's -S -n is the rule file and its -Ln has a line per service and real
/// server; the probe found every service and real server.
fn check_listings(
    rules: &RuleFile,
    jobs: &[(Listing, &[Tool])],
    runs: &[Runs],
    report: &mut Report,
) {
    let table = &rules.table;
    for ((listing, _), runs) in jobs.iter().zip(runs) {
        let what = format!("{} of {}", listing.name(), table.label());
        let rs = &runs.of(Tool::Rsipvsadm)[0];
        if let Some(ipvsadm) = runs.of(Tool::Ipvsadm).first() {
            let same = first_difference(&ipvsadm.stdout, &rs.stdout);
            report.check(format!("{what} byte-identical"), same);
            if *listing == Listing::Sn {
                let problem = table_difference(&ipvsadm.stdout, &rules.text);
                report.check(format!("{what} of ipvsadm equals the rule file"), problem);
            }
        } else if *listing == Listing::Sn {
            let problem = table_difference(&rs.stdout, &rules.text);
            report.check(format!("{what} of rsipvsadm equals the rule file"), problem);
        } else {
            let want = 3 + table.total_services() * (1 + table.dests);
            let got = rs.stdout_lines();
            let problem = (got != want).then(|| format!("{got} lines, expected {want}"));
            report.check(format!("{what} of rsipvsadm has a line per entry"), problem);
        }
    }
    if let Some(probe) = runs.first().and_then(|r| r.of(Tool::Probe).first()) {
        let want = table.probe_list_summary();
        let got = String::from_utf8_lossy(&probe.stdout);
        let problem = (got != want).then(|| format!("printed {got:?}, expected {want:?}"));
        report.check(
            format!("probe's listing of {} complete", table.label()),
            problem,
        );
    }
}

// ---------------------------------------------------------------------------------------
// The existing comparison: restore and listings of 1000x5 and 10000x5, apply

/// Restore timings, the tools and the probe alternating, each into a fresh namespace;
/// checks that every loaded table is the rule file. The namespace of the reference's
/// last restore then hosts the listing measurements (one slow restore fewer); returns
/// them with the restore runs.
fn measure_restore(bench: &Bench, rules: &Arc<RuleFile>, report: &mut Report) -> (Vec<Runs>, Runs) {
    let mut restores = Runs::new();
    let mut mismatch = None;
    let mut listings = Vec::new();
    for rep in 0..bench.restore_reps {
        for tool in [Tool::Ipvsadm, Tool::Rsipvsadm, Tool::Probe] {
            let host_listings = tool == Tool::Ipvsadm && rep + 1 == bench.restore_reps;
            let reps = bench.listing_reps;
            let (run, problem, runs) = in_netns_with(rules, move |rules| {
                let how = if tool == Tool::Probe { "load" } else { "-R" };
                let (run, problem) = load(tool, how, rules);
                let runs = if host_listings {
                    time_listings(rules, reps, &[(Listing::Ln, &TOOLS), (Listing::Sn, &TOOLS)])
                } else {
                    Vec::new()
                };
                (run, problem, runs)
            });
            mismatch = mismatch.or(problem);
            restores.push(tool, run);
            listings.extend(runs);
        }
    }
    report.check(
        format!(
            "tables loaded from {} equal the rule file",
            bench.table.label()
        ),
        mismatch,
    );
    let name = format!("restore -R {} (probe: load)", bench.table.label());
    report.push(restores.row(name, &[Target::Speedup(7.0), RESTORE_VS_PROBE]));
    (listings, restores)
}

fn bench_table(bench: Bench, plan: &Plan, report: &mut Report) {
    let rules = RuleFile::new(bench.table);
    println!(
        "bench: table {}: {} rule lines, {} restores and {} listings per tool",
        bench.table.label(),
        rules.text.lines().count(),
        bench.restore_reps,
        bench.listing_reps
    );
    let (listings, restores) = measure_restore(&bench, &rules, report);
    let jobs: [(Listing, &[Tool]); 2] = [(Listing::Ln, &TOOLS), (Listing::Sn, &TOOLS)];
    check_listings(&rules, &jobs, &listings, report);
    for ((listing, _), runs) in jobs.iter().zip(&listings) {
        let what = format!("{} of {}", listing.name(), bench.table.label());
        report.push(runs.row(what.clone(), &[Target::Speedup(2.5), LISTING_VS_PROBE]));
        if bench.memory_and_apply {
            let row = runs.row(format!("peak RSS {what}"), &[LISTING_RSS]);
            report.push(row.memory_only());
        }
    }
    if bench.memory_and_apply {
        measure_apply(&bench, plan, &rules, &restores, report);
    }
}

/// `rsipvsadm apply`: of the whole rule file to an empty table (against rsipvsadm -R),
/// and of a file changing 1% of the services to the restored table (against rsipvsadm
/// -Ln of that table, and against ipvsadm -C + ipvsadm -R of the whole file), and of the
/// rule file itself to that table (nothing to change: apply's read, against the probe's
/// listing).
fn measure_apply(
    bench: &Bench,
    plan: &Plan,
    rules: &Arc<RuleFile>,
    restores: &Runs,
    report: &mut Report,
) {
    let label = bench.table.label();
    // Side by side: each rep loads the file with rsipvsadm -R, then with apply, each in a
    // fresh namespace, so both meet the same leftovers (the kernel frees a namespace's
    // table after it is gone, in the background).
    let (mut restore_runs, mut apply_runs) = (Vec::new(), Vec::new());
    let mut mismatch = None;
    for _ in 0..plan.apply_reps {
        for how in ["-R", "apply"] {
            let (run, problem) =
                in_netns_with(rules, move |rules| load(Tool::Rsipvsadm, how, rules));
            mismatch = mismatch.or(problem);
            if how == "apply" {
                &mut apply_runs
            } else {
                &mut restore_runs
            }
            .push(run);
        }
    }
    report.check(
        format!("tables applied from {label} equal the rule file"),
        mismatch,
    );
    let mut empty = Runs::new();
    empty.set(Tool::Ipvsadm, restore_runs);
    empty.set(Tool::Rsipvsadm, apply_runs);
    let name = format!("apply {label} to an empty table (baseline: rsipvsadm -R)");
    let mut row = empty.row(name, &[Target::WithinBaseline(1.2)]);
    row.rss_ipvsadm = None;
    report.push(row);

    let (changed, plan_lines) = changed_rules(&bench.table, &rules.text);
    let changed_path = PathBuf::from(format!("/tmp/bench-changed-{label}.txt"));
    std::fs::write(&changed_path, &changed).expect("write the changed rule file");
    let changed_arg = changed_path.to_str().expect("UTF-8 path").to_string();
    let rules_arg = rules.arg();
    let rules_path = rules.path.clone();
    let reps = bench.listing_reps;
    let (applies, listings, reads, flush, problem) = common::in_fresh_netns(move || {
        let restore = run_tool(Tool::Rsipvsadm, &["-R"], Some(&rules_path));
        assert!(restore.ok(), "{}", restore.failure("rsipvsadm -R"));
        let (mut applies, mut listings, mut reads) = (Vec::new(), Vec::new(), Runs::new());
        let mut problem = None;
        for _ in 0..reps {
            for (file, lines) in [(&changed_arg, plan_lines), (&rules_arg, plan_lines)] {
                let run = run_tool(Tool::Rsipvsadm, &["apply", file], None);
                let plan = run.stdout_lines();
                if problem.is_none() && (!run.ok() || plan != lines) {
                    problem = Some(format!(
                        "apply of 1% printed {plan} plan lines (expected {lines}), {}",
                        run.failure("apply")
                    ));
                }
                applies.push(run);
            }
            listings.push(run_tool(Tool::Rsipvsadm, &["-L", "-n"], None));
            let read = run_tool(Tool::Rsipvsadm, &["apply", &rules_arg], None);
            if problem.is_none() && (!read.ok() || read.stdout_lines() != 0) {
                problem = Some(format!(
                    "apply of the table as it is printed {} plan lines, {}",
                    read.stdout_lines(),
                    read.failure("apply")
                ));
            }
            reads.push(Tool::Rsipvsadm, read);
            reads.push(Tool::Probe, run_tool(Tool::Probe, &["list"], None));
        }
        let flush = run_tool(Tool::Ipvsadm, &["-C"], None);
        (applies, listings, reads, flush, problem)
    });
    std::fs::remove_file(&changed_path).expect("remove the changed rule file");
    for run in &applies {
        println!("bench: apply 1% of {label}: {:.3} s", run.secs());
    }
    report.check(
        format!(
            "apply of 1% of {label} plans {plan_lines} changes each way, none for the same table"
        ),
        problem,
    );
    let mut against_listing = Runs::new();
    against_listing.set(Tool::Ipvsadm, listings);
    against_listing.set(Tool::Rsipvsadm, applies);
    let name = format!("apply 1% of {label} (baseline: rsipvsadm -Ln)");
    let mut row = against_listing.row(name, &[Target::WithinBaseline(1.1)]);
    row.rss_ipvsadm = None;
    report.push(row);
    let flush_and_restore = flush.secs() + median_secs(restores.of(Tool::Ipvsadm));
    let mut row = Row {
        name: format!("apply 1% of {label} (baseline: ipvsadm -C + -R)"),
        ipvsadm: Some(flush_and_restore),
        rsipvsadm: Some(median_secs(against_listing.of(Tool::Rsipvsadm))),
        targets: vec![Target::Speedup(5.0)],
        error: against_listing.error("apply"),
        ..Row::default()
    };
    if !flush.ok() {
        row.error = Some(flush.failure("ipvsadm -C"));
    }
    report.push(row);
    let name = format!("apply's read of {label} (apply, nothing to change; probe: list)");
    // The common reload: its memory counts as much as a first apply's.
    report.push(reads.row(name, &[READ_VS_PROBE, LOADING_RSS]));
}

/// `-A -t 10.0.0.1:80 -s rr` on an empty table, `single_reps` times per tool, each
/// tool in its own fresh namespace, the service deleted (untimed) after each.
fn measure_single_command(plan: &Plan, report: &mut Report) {
    let add = ["-A", "-t", SINGLE_SERVICE, "-s", "rr"];
    let reps = plan.single_reps;
    let mut runs = Runs::new();
    for tool in TOOLS {
        let tool_runs = common::in_fresh_netns(move || {
            let mut runs = Vec::new();
            for rep in 0..=reps {
                let run = run_tool(tool, &add, None);
                reference(&["-D", "-t", SINGLE_SERVICE]);
                if rep > 0 {
                    runs.push(run); // rep 0 is the warm-up
                }
            }
            runs
        });
        runs.set(tool, tool_runs);
    }
    let name = format!("single -A -t {SINGLE_SERVICE} -s rr");
    report.push(runs.row(name, &[Target::Speedup(1.0)]));
}

// ---------------------------------------------------------------------------------------
// Issues 13 and 14: every size against the probe, peak memory

/// Runs `f` with the rule file in a fresh namespace, emptied afterwards.
fn in_netns_with<T: Send + 'static>(
    rules: &Arc<RuleFile>,
    f: impl FnOnce(&RuleFile) -> T + Send + 'static,
) -> T {
    let rules = Arc::clone(rules);
    common::in_fresh_netns(move || {
        let result = f(&rules);
        clear_table();
        result
    })
}

/// Listings of a small table (issue 13's sizes start at 10 services): both tools and
/// the probe; then -Ln again with the tools at randomized addresses, a row without a
/// target that shows what emulation charges for it in this run (see [`Layout`]).
fn bench_tiny(plan: &Plan, report: &mut Report) {
    let (table, reps) = plan.tiny;
    let rules = RuleFile::new(table);
    let jobs: [(Listing, &[Tool]); 2] = [(Listing::Ln, &TOOLS), (Listing::Sn, &TOOLS)];
    let randomized: [(Listing, &[Tool]); 1] = [(Listing::Ln, &TOOLS)];
    let (problem, runs, randomized_runs) = in_netns_with(&rules, move |rules| {
        let (_, problem) = load(Tool::Rsipvsadm, "-R", rules);
        let runs = time_listings(rules, reps, &jobs);
        let randomized_runs = time_listings_in(Layout::Randomized, rules, reps, &randomized);
        (problem, runs, randomized_runs)
    });
    report.check(
        format!("table loaded from {} equals the rule file", table.label()),
        problem,
    );
    check_listings(&rules, &jobs, &runs, report);
    for ((listing, _), runs) in jobs.iter().zip(&runs) {
        let name = format!("{} of {}", listing.name(), table.label());
        report.push(runs.row(name, &[LISTING_VS_PROBE]));
    }
    check_listings(&rules, &randomized, &randomized_runs, report);
    let name = format!("-Ln of {} at randomized addresses (ASLR)", table.label());
    report.push(randomized_runs[0].row(name, &[]));
}

/// 100,000 x 2: rsipvsadm -R loads the table (a measurement of its own: time and peak
/// memory) for the listings: each tool once, ipvsadm only -Ln (it takes minutes). Then
/// the probe's load, on which apply's read is timed (nothing to change), and apply to
/// an empty table.
fn bench_huge(plan: &Plan, report: &mut Report) {
    let table = plan.huge;
    let label = table.label();
    let rules = RuleFile::new(table);
    let jobs: [(Listing, &[Tool]); 2] = [(Listing::Ln, &TOOLS), (Listing::Sn, RS_ONLY)];
    let (restore, problem, runs) = in_netns_with(&rules, move |rules| {
        let (restore, problem) = load(Tool::Rsipvsadm, "-R", rules);
        (restore, problem, time_listings(rules, 1, &jobs))
    });
    report.check(
        format!("table restored from {label} equals the rule file"),
        problem,
    );
    check_listings(&rules, &jobs, &runs, report);
    let (probe_load, problem, read) = in_netns_with(&rules, move |rules| {
        let (load, problem) = load(Tool::Probe, "load", rules);
        let read = run_tool(Tool::Rsipvsadm, &["apply", &rules.arg()], None);
        let label = rules.table.label();
        println!(
            "bench: apply's read {label} rsipvsadm: {:.3} s",
            read.secs()
        );
        (load, problem, read)
    });
    report.check(
        format!("table the probe loaded for {label} equals the rule file"),
        problem,
    );
    let read_problem = (!read.ok() || read.stdout_lines() != 0).then(|| {
        format!(
            "{} plan lines, {}",
            read.stdout_lines(),
            read.failure("apply")
        )
    });
    report.check(
        format!("apply of {label} to the same table changes nothing"),
        read_problem,
    );
    let (apply, problem) = in_netns_with(&rules, |rules| load(Tool::Rsipvsadm, "apply", rules));
    report.check(
        format!("table applied from {label} equals the rule file"),
        problem,
    );

    let mut restores = Runs::new();
    restores.push(Tool::Rsipvsadm, restore);
    restores.push(Tool::Probe, probe_load);
    report.push(restores.row(format!("restore -R {label} (probe: load)"), &[LOADING_RSS]));
    let mut applies = Runs::new();
    applies.push(Tool::Rsipvsadm, apply);
    report.push(applies.row(format!("apply {label} to an empty table"), &[LOADING_RSS]));
    let [ln, sn] = &runs[..] else { unreachable!() };
    report.push(ln.row(
        format!("-Ln of {label}"),
        &[LISTING_VS_PROBE, Target::ProbeSpeedup(3.0), LISTING_RSS],
    ));
    report.push(sn.row(
        format!("-S -n of {label}"),
        &[LISTING_VS_PROBE, LISTING_RSS],
    ));
    let mut reads = Runs::new();
    reads.push(Tool::Rsipvsadm, read);
    reads.set(Tool::Probe, ln.of(Tool::Probe).to_vec());
    let name = format!("apply's read of {label} (apply, nothing to change; probe: list)");
    // The common reload: its memory counts as much as a first apply's.
    report.push(reads.row(name, &[READ_VS_PROBE, LOADING_RSS]));
}

/// 30,000 x 1, loaded by the probe (the fastest loader): rsipvsadm's -Ln against the
/// probe's listing.
fn bench_wide(plan: &Plan, report: &mut Report) {
    let table = plan.wide;
    let rules = RuleFile::new(table);
    let jobs: [(Listing, &[Tool]); 1] = [(Listing::Ln, RS_ONLY)];
    let (problem, runs) = in_netns_with(&rules, move |rules| {
        let (_, problem) = load(Tool::Probe, "load", rules);
        (problem, time_listings(rules, 1, &jobs))
    });
    report.check(
        format!(
            "table the probe loaded for {} equals the rule file",
            table.label()
        ),
        problem,
    );
    check_listings(&rules, &jobs, &runs, report);
    let name = format!("-Ln of {}", table.label());
    report.push(runs[0].row(name, &[Target::ProbeSpeedup(3.0)]));
}

/// 1,000 x 100: peak memory of -R, apply and the listings (times against the probe for
/// information).
fn bench_deep(plan: &Plan, report: &mut Report) {
    let table = plan.deep;
    let label = table.label();
    let rules = RuleFile::new(table);
    let jobs: [(Listing, &[Tool]); 2] = [(Listing::Ln, RS_ONLY), (Listing::Sn, RS_ONLY)];
    let (restore, problem, runs) = in_netns_with(&rules, move |rules| {
        let (restore, problem) = load(Tool::Rsipvsadm, "-R", rules);
        (restore, problem, time_listings(rules, 1, &jobs))
    });
    report.check(
        format!("table restored from {label} equals the rule file"),
        problem,
    );
    check_listings(&rules, &jobs, &runs, report);
    let (apply, problem) = in_netns_with(&rules, |rules| load(Tool::Rsipvsadm, "apply", rules));
    report.check(
        format!("table applied from {label} equals the rule file"),
        problem,
    );
    let mut restores = Runs::new();
    restores.push(Tool::Rsipvsadm, restore);
    report.push(restores.row(format!("restore -R {label}"), &[LOADING_RSS]));
    let mut applies = Runs::new();
    applies.push(Tool::Rsipvsadm, apply);
    report.push(applies.row(format!("apply {label} to an empty table"), &[LOADING_RSS]));
    for ((listing, _), runs) in jobs.iter().zip(&runs) {
        report.push(runs.row(format!("{} of {label}", listing.name()), &[LISTING_RSS]));
    }
}

/// ipvsadm-validate's grid: -S -n of each table by ipvsadm, rsipvsadm and the probe.
fn bench_grid(plan: &Plan, report: &mut Report) {
    for &(table, reps) in &plan.grid {
        let rules = RuleFile::new(table);
        let jobs: [(Listing, &[Tool]); 1] = [(Listing::Sn, &TOOLS)];
        let (problem, runs) = in_netns_with(&rules, move |rules| {
            let (_, problem) = load(Tool::Rsipvsadm, "-R", rules);
            (problem, time_listings(rules, reps, &jobs))
        });
        report.check(
            format!("table loaded from {} equals the rule file", table.label()),
            problem,
        );
        check_listings(&rules, &jobs, &runs, report);
        let name = format!("grid: -S -n of {}", table.label());
        report.push(runs[0].row(name, &[LISTING_VS_PROBE]));
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some(MEASURE_MODE) {
        measure::measure_helper(&args[1..]);
    }
    if !common::in_vm() {
        eprintln!("bench: runs inside the test VM only: use tests/bench/run");
        std::process::exit(2);
    }
    common::require_ipvs();
    // The director measured does not balance FTP (the VM loads every module beside
    // ip_vs): with ip_vs_ftp loaded, listings before 7.1 without nfnetlink_hook (6.1)
    // would take the service dump.
    common::unload_ftp_helper();
    let smoke = std::env::var_os("RSIPVSADM_BENCH_SMALL").is_some_and(|v| v == "1");
    let plan = Plan::new(smoke);
    let started = Instant::now();
    let mut report = Report {
        smoke,
        ..Report::default()
    };
    measure_single_command(&plan, &mut report);
    bench_table(plan.small, &plan, &mut report);
    bench_table(plan.large, &plan, &mut report);
    bench_tiny(&plan, &mut report);
    bench_wide(&plan, &mut report);
    bench_deep(&plan, &mut report);
    bench_grid(&plan, &mut report);
    bench_huge(&plan, &mut report);
    let shape = (report.rows.len() != plan.rows())
        .then(|| format!("{} rows, the plan has {}", report.rows.len(), plan.rows()));
    report.check("the table has every row of the plan".to_string(), shape);
    report.print();
    let good = report.all_good();
    let verdict = match (smoke, good) {
        (true, true) => "smoke run: every row measured, every check passed (targets not judged)",
        (true, false) => "smoke run: a row or a check FAILED",
        (false, true) => "every target met",
        (false, false) => "some target NOT met",
    };
    println!(
        "bench: {verdict} ({:.0} s)",
        started.elapsed().as_secs_f64()
    );
    std::process::exit(if good { 0 } else { 1 });
}
