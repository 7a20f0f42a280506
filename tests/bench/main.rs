//! Side-by-side benchmark of rsipvsadm against the reference ipvsadm, run inside the
//! test VM by `tests/bench/run` (which documents what it prints).
//!
//! Every measurement runs in a fresh network namespace (an empty IPVS table of its own).
//! Both tools are started with argv[0] "ipvsadm" by a small helper (this program in
//! `--measure` mode) that times them with `Instant` from spawn to `wait4`, which also
//! gives the tool's peak resident memory.
//! Results go into one table, always printed in full; the exit status is 0 only if every
//! target is met and every output check passed.

#[path = "../common/mod.rs"]
mod common;

use std::fmt::Write as _;
use std::fs::File;
use std::io::{Read, Seek};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The address every single-command run adds (inside `10.0.0.0/8`, on `rs0`).
const SINGLE_SERVICE: &str = "10.0.0.1:80";
/// How often the single `-A` is timed per tool (after one untimed warm-up).
const SINGLE_REPS: usize = 30;
/// Memory target for rsipvsadm's listings of the large table.
const MEMORY_TARGET_KIB: u64 = 32 * 1024;

// ---------------------------------------------------------------------------------------
// The tools and how one run of them is measured

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tool {
    Ipvsadm,
    Rsipvsadm,
}

const TOOLS: [Tool; 2] = [Tool::Ipvsadm, Tool::Rsipvsadm];

impl Tool {
    fn path(self) -> PathBuf {
        match self {
            Tool::Ipvsadm => common::ipvsadm_bin(),
            Tool::Rsipvsadm => common::rsipvsadm_bin(),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Tool::Ipvsadm => "ipvsadm",
            Tool::Rsipvsadm => "rsipvsadm",
        }
    }
}

/// One finished run of a tool.
struct Run {
    elapsed: Duration,
    max_rss_kib: u64,
    /// Exit code, or 128 + signal number.
    status: i32,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

impl Run {
    fn ok(&self) -> bool {
        self.status == 0
    }

    /// "exit status N: first line of stderr", for notes about a failed run.
    fn failure(&self, what: &str) -> String {
        let stderr = String::from_utf8_lossy(&self.stderr);
        let first = stderr.lines().next().unwrap_or("");
        format!("{what}: exit status {}: {first}", self.status)
    }
}

/// Runs `tool ARGS` (argv[0] "ipvsadm") in the current thread's namespace, with `stdin`
/// from a file (else /dev/null) and stdout and stderr into unlinked temporary files (as
/// a shell's `< in > out` would), and measures it.
///
/// The tool is started by a fresh copy of this program in [`MEASURE_MODE`]: a child's
/// peak RSS (ru_maxrss) counts the memory of the process that forked it (exec takes the
/// old address space's high-water mark into it), and this process holds whole listings;
/// the small helper does not.
fn run_tool(tool: Tool, args: &[&str], stdin: Option<&Path>) -> Run {
    let stdin = match stdin {
        Some(path) => Stdio::from(File::open(path).expect("open the rule file")),
        None => Stdio::null(),
    };
    let mut stdout = scratch_file();
    let mut stderr = scratch_file();
    let result = scratch_path("result");
    let helper = Command::new("/proc/self/exe")
        .arg(MEASURE_MODE)
        .arg(&result)
        .arg(tool.path())
        .args(args)
        .stdin(stdin)
        .stdout(stdout.try_clone().expect("dup"))
        .stderr(stderr.try_clone().expect("dup"))
        .status()
        .expect("cannot start the measuring helper");
    assert!(
        helper.success(),
        "the measuring helper for {} failed: {helper}",
        tool.name()
    );
    let measured = std::fs::read_to_string(&result).expect("read the helper's result");
    std::fs::remove_file(&result).expect("remove the helper's result");
    let (elapsed, max_rss_kib, status) = parse_measurement(&measured);
    Run {
        elapsed,
        max_rss_kib,
        status,
        stdout: read_back(&mut stdout),
        stderr: read_back(&mut stderr),
    }
}

/// A new path in /tmp (tmpfs in the VM), unique within this run.
fn scratch_path(what: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    PathBuf::from(format!("/tmp/bench-{what}.{}.{n}", std::process::id()))
}

/// An unlinked file in /tmp to catch a child's output.
fn scratch_file() -> File {
    let path = scratch_path("out");
    let file = File::options()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
    std::fs::remove_file(&path).expect("unlink a scratch file");
    file
}

fn read_back(file: &mut File) -> Vec<u8> {
    let mut data = Vec::new();
    file.rewind().expect("rewind a scratch file");
    file.read_to_end(&mut data).expect("read a scratch file");
    data
}

/// First argument that makes this program the measuring helper:
/// `bench --measure RESULT-FILE PROGRAM ARGS...` runs PROGRAM (argv[0] "ipvsadm") with
/// the helper's stdio, and writes "NANOSECONDS MAX-RSS-KIB STATUS" into RESULT-FILE.
const MEASURE_MODE: &str = "--measure";

/// The helper's side of [`MEASURE_MODE`]; `args` follow the flag.
fn measure_helper(args: &[String]) -> ! {
    let [result, program, rest @ ..] = args else {
        panic!("usage: bench {MEASURE_MODE} RESULT-FILE PROGRAM ARGS...");
    };
    let start = Instant::now();
    let child = Command::new(program)
        .arg0("ipvsadm")
        .args(rest)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    let (status, max_rss_kib) = wait_with_rusage(child.id());
    let nanos = start.elapsed().as_nanos();
    std::fs::write(result, format!("{nanos} {max_rss_kib} {status}\n"))
        .unwrap_or_else(|e| panic!("cannot write {result}: {e}"));
    std::process::exit(0)
}

/// Reads the helper's "NANOSECONDS MAX-RSS-KIB STATUS" line.
fn parse_measurement(line: &str) -> (Duration, u64, i32) {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let bad = || panic!("bad measurement from the helper: {line:?}");
    let [nanos, rss, status] = fields[..] else {
        bad()
    };
    (
        Duration::from_nanos(nanos.parse().unwrap_or_else(|_| bad())),
        rss.parse().unwrap_or_else(|_| bad()),
        status.parse().unwrap_or_else(|_| bad()),
    )
}

/// Waits for the child `pid` with wait4 and returns (exit code or 128 + signal, peak
/// resident set size in KiB) of that child alone.
fn wait_with_rusage(pid: u32) -> (i32, u64) {
    let mut status = 0;
    // SAFETY: rusage is plain data, for which all-zero bytes are a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: wait4 writes only into the two locals it is given; pid is our child,
        // not yet reaped (std's Child is never waited on).
        let r = unsafe { libc::wait4(pid as libc::pid_t, &mut status, 0, &mut usage) };
        if r == pid as libc::pid_t {
            break;
        }
        let err = std::io::Error::last_os_error();
        assert_eq!(err.kind(), std::io::ErrorKind::Interrupted, "wait4: {err}");
    }
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    };
    (code, usage.ru_maxrss.max(0) as u64)
}

/// Untimed housekeeping with the reference tool; panics if it fails.
fn reference(args: &[&str]) -> Vec<u8> {
    let run = run_tool(Tool::Ipvsadm, args, None);
    assert!(run.ok(), "{}", run.failure(&format!("ipvsadm {args:?}")));
    run.stdout
}

/// Empties the namespace's table before it goes away, so that the kernel does not tear a
/// large table down in the background while the next measurement runs.
fn clear_table() {
    reference(&["-C"]);
}

// ---------------------------------------------------------------------------------------
// Results

/// What a row compares: a time (lower is better, ratio target) or a peak memory
/// (rsipvsadm's absolute limit).
enum Target {
    /// baseline / rsipvsadm time at least this.
    Speedup(f64),
    /// rsipvsadm's time at most this many times the baseline's.
    WithinFactor(f64),
    /// rsipvsadm's peak RSS at most this many KiB.
    MaxMemoryKib(u64),
}

/// One line of the result table: the median time (or peak memory) of the baseline (the
/// reference ipvsadm, unless the row's name says otherwise) and of rsipvsadm.
struct Row {
    name: String,
    ipvsadm: f64,
    rsipvsadm: f64,
    target: Target,
    /// Why the measurement is void (a tool failed), if it is.
    error: Option<String>,
}

impl Row {
    fn ratio(&self) -> f64 {
        self.ipvsadm / self.rsipvsadm
    }

    fn met(&self) -> bool {
        self.error.is_none()
            && match self.target {
                Target::Speedup(min) => self.ratio() >= min,
                Target::WithinFactor(factor) => self.rsipvsadm <= factor * self.ipvsadm,
                Target::MaxMemoryKib(max) => self.rsipvsadm <= max as f64,
            }
    }

    fn cells(&self) -> [String; 6] {
        let (a, b, target) = match self.target {
            Target::Speedup(min) => (
                format_secs(self.ipvsadm),
                format_secs(self.rsipvsadm),
                format!("ratio >= {min}"),
            ),
            Target::WithinFactor(factor) => (
                format_secs(self.ipvsadm),
                format_secs(self.rsipvsadm),
                format!("rs <= {factor}x base"),
            ),
            Target::MaxMemoryKib(max) => (
                format_mib(self.ipvsadm),
                format_mib(self.rsipvsadm),
                format!("rs <= {} MiB", max / 1024),
            ),
        };
        let verdict = match (&self.error, self.met()) {
            (Some(_), _) => "NOT MET (failed)",
            (None, true) => "met",
            (None, false) => "NOT MET",
        };
        [
            self.name.clone(),
            a,
            b,
            format!("{:.2}x", self.ratio()),
            target,
            verdict.to_string(),
        ]
    }
}

fn format_secs(secs: f64) -> String {
    if secs < 1.0 {
        format!("{:.1} ms", secs * 1000.0)
    } else {
        format!("{secs:.3} s")
    }
}

fn format_mib(kib: f64) -> String {
    format!("{:.1} MiB", kib / 1024.0)
}

/// Everything the benchmark found: table rows and output checks.
#[derive(Default)]
struct Report {
    rows: Vec<Row>,
    /// (what was checked, None if it passed or what went wrong).
    checks: Vec<(String, Option<String>)>,
}

impl Report {
    fn check(&mut self, what: String, problem: Option<String>) {
        let verdict = problem.as_deref().unwrap_or("ok");
        println!("bench: check {what}: {verdict}");
        self.checks.push((what, problem));
    }

    fn all_good(&self) -> bool {
        self.rows.iter().all(Row::met) && self.checks.iter().all(|(_, p)| p.is_none())
    }

    fn print(&self) {
        let header = [
            "measurement (baseline: ipvsadm unless named)",
            "baseline",
            "rsipvsadm",
            "base/rs",
            "target",
            "verdict",
        ]
        .map(String::from);
        let lines: Vec<[String; 6]> = std::iter::once(header)
            .chain(self.rows.iter().map(Row::cells))
            .collect();
        let widths: Vec<usize> = (0..6)
            .map(|c| lines.iter().map(|l| l[c].len()).max().unwrap_or(0))
            .collect();
        println!();
        for line in &lines {
            println!("{}", table_line(line, &widths));
        }
        println!();
        for row in &self.rows {
            if let Some(error) = &row.error {
                println!("{}: {error}", row.name);
            }
        }
        for (what, problem) in &self.checks {
            println!("check {what}: {}", problem.as_deref().unwrap_or("ok"));
        }
    }
}

/// The first column left-aligned, the others right-aligned, two spaces apart.
fn table_line(cells: &[String; 6], widths: &[usize]) -> String {
    let mut out = format!("{:<w$}", cells[0], w = widths[0]);
    for (cell, width) in cells.iter().zip(widths).skip(1) {
        write!(out, "  {cell:>width$}").expect("write to a String");
    }
    out.trim_end().to_string()
}

/// The median of the runs' times, in seconds.
fn median_secs(runs: &[Run]) -> f64 {
    let mut sorted: Vec<f64> = runs.iter().map(|r| r.elapsed.as_secs_f64()).collect();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    }
}

/// Runs of both tools for one measurement, in `TOOLS` order.
struct Pair {
    ipvsadm: Vec<Run>,
    rsipvsadm: Vec<Run>,
}

impl Pair {
    fn new() -> Self {
        Pair {
            ipvsadm: Vec::new(),
            rsipvsadm: Vec::new(),
        }
    }

    fn push(&mut self, tool: Tool, run: Run) {
        match tool {
            Tool::Ipvsadm => self.ipvsadm.push(run),
            Tool::Rsipvsadm => self.rsipvsadm.push(run),
        }
    }

    /// The first failed run's description, if any run failed.
    fn error(&self, what: &str) -> Option<String> {
        let failed = |tool: Tool, runs: &[Run]| {
            runs.iter()
                .find(|r| !r.ok())
                .map(|r| r.failure(&format!("{} {what}", tool.name())))
        };
        failed(Tool::Ipvsadm, &self.ipvsadm).or_else(|| failed(Tool::Rsipvsadm, &self.rsipvsadm))
    }

    fn time_row(&self, name: String, min_speedup: f64) -> Row {
        Row {
            error: self.error(&name),
            ipvsadm: median_secs(&self.ipvsadm),
            rsipvsadm: median_secs(&self.rsipvsadm),
            target: Target::Speedup(min_speedup),
            name,
        }
    }

    /// Peak memory: the largest of the runs' peaks.
    fn memory_row(&self, name: String) -> Row {
        let peak = |runs: &[Run]| runs.iter().map(|r| r.max_rss_kib).max().unwrap_or(0) as f64;
        Row {
            error: self.error(&name),
            ipvsadm: peak(&self.ipvsadm),
            rsipvsadm: peak(&self.rsipvsadm),
            target: Target::MaxMemoryKib(MEMORY_TARGET_KIB),
            name,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Tables of services

/// A table of `services` NAT services with `dests` real servers each, and how often each
/// of its measurements is repeated.
#[derive(Clone, Copy)]
struct TableSpec {
    services: usize,
    dests: usize,
    restore_reps: usize,
    listing_reps: usize,
    /// Whether `apply` is measured on this table too.
    apply: bool,
}

impl TableSpec {
    fn label(&self) -> String {
        format!("{}x{}", self.services, self.dests)
    }

    /// The rule file, in ipvsadm's `-S -n` format. Virtual services are 10.1.X.Y:80, the
    /// real servers of each 10.(100+j).X.Y:8080 (in 10.0.0.0/8, routable on `rs0`).
    fn rules(&self) -> String {
        let mut out = String::new();
        for i in 0..self.services {
            let (x, y) = (i / 250, i % 250 + 1);
            let vip = format!("10.1.{x}.{y}:80");
            writeln!(out, "-A -t {vip} -s rr").expect("write to a String");
            for j in 0..self.dests {
                let rip = format!("10.{}.{x}.{y}:8080", 100 + j);
                writeln!(out, "-a -t {vip} -r {rip} -m -w 1").expect("write to a String");
            }
        }
        out
    }
}

/// Lines of a listing, sorted: two tables are the same if these are.
fn sorted_lines(text: &[u8]) -> Vec<String> {
    let mut lines: Vec<String> = String::from_utf8_lossy(text)
        .lines()
        .map(str::to_string)
        .collect();
    lines.sort();
    lines
}

/// None if `a` and `b` are byte-identical, else where they first differ.
fn first_difference(a: &[u8], b: &[u8]) -> Option<String> {
    if a == b {
        return None;
    }
    let (a, b) = (String::from_utf8_lossy(a), String::from_utf8_lossy(b));
    let (mut la, mut lb) = (a.lines(), b.lines());
    for n in 1.. {
        match (la.next(), lb.next()) {
            (Some(x), Some(y)) if x == y => continue,
            (None, None) => break,
            (x, y) => {
                return Some(format!(
                    "DIFFERENT at line {n}: ipvsadm {x:?} vs rsipvsadm {y:?} ({} vs {} lines)",
                    a.lines().count(),
                    b.lines().count()
                ));
            }
        }
    }
    Some("DIFFERENT (line endings only)".to_string())
}

// ---------------------------------------------------------------------------------------
// Measurements

/// What one restore in a fresh namespace left behind.
struct Restored {
    run: Run,
    /// The reference's `-S -n` of the restored table.
    saved: Vec<u8>,
}

/// Restores `rules` with `tool` into a fresh namespace's empty table, then, untimed,
/// saves the table with the reference tool and runs `after` on it.
fn restore_in_fresh_netns<T: Send + 'static>(
    tool: Tool,
    rules: PathBuf,
    after: impl FnOnce() -> T + Send + 'static,
) -> (Restored, T) {
    common::in_fresh_netns(move || {
        let run = run_tool(tool, &["-R"], Some(&rules));
        let saved = reference(&["-S", "-n"]);
        let extra = after();
        clear_table();
        (Restored { run, saved }, extra)
    })
}

/// Restore timings, the tools alternating, each restore into a fresh namespace; checks
/// that every restored table is the rule file's. The namespace of the reference's last
/// restore then hosts the listing measurements (one slow restore fewer); returns them.
fn measure_restore(
    spec: &TableSpec,
    rules_path: &Path,
    rules: &str,
    report: &mut Report,
) -> (Vec<Pair>, Pair) {
    let expected = sorted_lines(rules.as_bytes());
    let mut pair = Pair::new();
    let mut mismatch = None;
    let mut listings = Vec::new();
    for rep in 0..spec.restore_reps {
        for tool in TOOLS {
            let host_listings = tool == Tool::Ipvsadm && rep + 1 == spec.restore_reps;
            let listing_reps = spec.listing_reps;
            let (restored, pairs) =
                restore_in_fresh_netns(tool, rules_path.to_path_buf(), move || {
                    if host_listings {
                        time_listings(listing_reps)
                    } else {
                        Vec::new()
                    }
                });
            println!(
                "bench: restore {} rep {} {}: {:.3} s, status {}",
                spec.label(),
                rep + 1,
                tool.name(),
                restored.run.elapsed.as_secs_f64(),
                restored.run.status
            );
            if mismatch.is_none() && sorted_lines(&restored.saved) != expected {
                mismatch = Some(format!(
                    "DIFFERENT: the table {} restored has {} lines in -S -n, the rule file {}",
                    tool.name(),
                    restored.saved.iter().filter(|&&b| b == b'\n').count(),
                    expected.len()
                ));
            }
            pair.push(tool, restored.run);
            listings.extend(pairs);
        }
    }
    report.check(
        format!("tables restored from {} equal the rule file", spec.label()),
        mismatch,
    );
    let name = format!("restore -R {}", spec.label());
    report.rows.push(pair.time_row(name, 7.0));
    (listings, pair)
}

/// The listings compared: name in the table, arguments, speedup target.
const LISTINGS: [(&str, &[&str]); 2] = [("-Ln", &["-L", "-n"]), ("-S -n", &["-S", "-n"])];

/// Runs each listing `reps` times by both tools (alternating) on the current namespace's
/// table; one `Pair` per entry of `LISTINGS`.
fn time_listings(reps: usize) -> Vec<Pair> {
    let mut pairs: Vec<Pair> = LISTINGS.iter().map(|_| Pair::new()).collect();
    for _ in 0..reps {
        for (pair, (_, args)) in pairs.iter_mut().zip(LISTINGS) {
            for tool in TOOLS {
                pair.push(tool, run_tool(tool, args, None));
            }
        }
    }
    pairs
}

/// Rows (times, and peaks if `memory`) and byte-identity checks of the listings.
fn report_listings(spec: &TableSpec, pairs: &[Pair], memory: bool, report: &mut Report) {
    for (pair, (listing, _)) in pairs.iter().zip(LISTINGS) {
        let what = format!("{listing} of {}", spec.label());
        let same = first_difference(&pair.ipvsadm[0].stdout, &pair.rsipvsadm[0].stdout);
        report.check(format!("{what} byte-identical"), same);
        report.rows.push(pair.time_row(what.clone(), 2.5));
        if memory {
            report
                .rows
                .push(pair.memory_row(format!("peak RSS {what}")));
        }
    }
}

/// `-A -t 10.0.0.1:80 -s rr` on an empty table, `SINGLE_REPS` times per tool, each
/// tool in its own fresh namespace, the service deleted (untimed) after each.
fn measure_single_command(report: &mut Report) {
    let add = ["-A", "-t", SINGLE_SERVICE, "-s", "rr"];
    let mut pair = Pair::new();
    for tool in TOOLS {
        let runs = common::in_fresh_netns(move || {
            let mut runs = Vec::new();
            for rep in 0..=SINGLE_REPS {
                let run = run_tool(tool, &add, None);
                reference(&["-D", "-t", SINGLE_SERVICE]);
                if rep > 0 {
                    runs.push(run); // rep 0 is the warm-up
                }
            }
            runs
        });
        for run in runs {
            pair.push(tool, run);
        }
    }
    let name = format!("single -A -t {SINGLE_SERVICE} -s rr");
    report.rows.push(pair.time_row(name, 1.0));
}

fn bench_table(spec: TableSpec, memory: bool, report: &mut Report) {
    let rules = spec.rules();
    let rules_path = PathBuf::from(format!("/tmp/bench-rules-{}.txt", spec.label()));
    std::fs::write(&rules_path, &rules).expect("write the rule file");
    println!(
        "bench: table {}: {} rule lines, {} restores and {} listings per tool",
        spec.label(),
        rules.lines().count(),
        spec.restore_reps,
        spec.listing_reps
    );
    let (listings, restores) = measure_restore(&spec, &rules_path, &rules, report);
    report_listings(&spec, &listings, memory, report);
    if spec.apply {
        measure_apply(&spec, &rules_path, &rules, &restores, report);
    }
    std::fs::remove_file(&rules_path).expect("remove the rule file");
}

/// The rule file with 1% of the services changed: every 200th a real server's weight,
/// every 200th (offset 100) a real server replaced by another.
fn changed_rules(rules: &str, services: usize) -> String {
    let mut out = String::new();
    let mut service = 0;
    for line in rules.lines() {
        if line.starts_with("-A ") {
            service += 1;
        }
        let i = service - 1;
        let first_dest = line.contains(" -r 10.100.");
        let last_dest = line.contains(" -r 10.104.");
        let changed = if i % 200 == 0 && first_dest {
            line.replace(" -w 1", " -w 2")
        } else if i % 200 == 100 && last_dest {
            line.replace(" -r 10.104.", " -r 10.105.")
        } else {
            line.to_string()
        };
        writeln!(out, "{changed}").expect("write to a String");
    }
    assert_eq!(service, services);
    out
}

/// Pairs of rsipvsadm -R and apply of the whole rule file to an empty table: the two
/// differ by a few tenths of a second, about the noise of one run under emulation.
const APPLY_REPS: usize = 5;

/// `rsipvsadm apply`: of the whole rule file to an empty table (against rsipvsadm -R),
/// and of a file changing 1% of the services to the restored table (against rsipvsadm
/// -Ln of that table, and against ipvsadm -C + ipvsadm -R of the whole file).
fn measure_apply(
    spec: &TableSpec,
    rules_path: &Path,
    rules: &str,
    restores: &Pair,
    report: &mut Report,
) {
    let expected = sorted_lines(rules.as_bytes());
    let rules_arg = rules_path.to_str().expect("UTF-8 path").to_string();
    // Side by side: each rep loads the file with rsipvsadm -R, then with apply, each in a
    // fresh namespace, so both meet the same leftovers (the kernel frees a namespace's
    // table after it is gone, in the background).
    let mut empty = Pair::new();
    let mut mismatch = None;
    for rep in 0..APPLY_REPS {
        let restore_path = rules_path.to_path_buf();
        let restore = common::in_fresh_netns(move || {
            let run = run_tool(Tool::Rsipvsadm, &["-R"], Some(&restore_path));
            clear_table();
            run
        });
        empty.push(Tool::Ipvsadm, restore);
        let rules_arg = rules_arg.clone();
        let (run, saved) = common::in_fresh_netns(move || {
            let run = run_tool(Tool::Rsipvsadm, &["apply", &rules_arg], None);
            let saved = reference(&["-S", "-n"]);
            clear_table();
            (run, saved)
        });
        println!(
            "bench: apply {} to an empty table rep {}: {:.3} s (rsipvsadm -R {:.3} s), \
             status {}",
            spec.label(),
            rep + 1,
            run.elapsed.as_secs_f64(),
            empty.ipvsadm[rep].elapsed.as_secs_f64(),
            run.status
        );
        if mismatch.is_none() && sorted_lines(&saved) != expected {
            mismatch = Some("DIFFERENT: the applied table is not the rule file's".into());
        }
        empty.push(Tool::Rsipvsadm, run);
    }
    report.check(
        format!("tables applied from {} equal the rule file", spec.label()),
        mismatch,
    );
    let mut row = empty.time_row(
        format!(
            "apply {} to an empty table (baseline: rsipvsadm -R)",
            spec.label()
        ),
        0.0,
    );
    row.target = Target::WithinFactor(1.2);
    report.rows.push(row);

    let changed = changed_rules(rules, spec.services);
    let changed_path = PathBuf::from(format!("/tmp/bench-changed-{}.txt", spec.label()));
    std::fs::write(&changed_path, &changed).expect("write the changed rule file");
    let changed_arg = changed_path.to_str().expect("UTF-8 path").to_string();
    let reps = spec.listing_reps;
    let rules_path = rules_path.to_path_buf();
    let (applies, listings, flush, problem) = common::in_fresh_netns(move || {
        let restore = run_tool(Tool::Rsipvsadm, &["-R"], Some(&rules_path));
        assert!(restore.ok(), "{}", restore.failure("rsipvsadm -R"));
        let (mut applies, mut listings) = (Vec::new(), Vec::new());
        let mut problem = None;
        for _ in 0..reps {
            for (file, lines) in [(&changed_arg, 150), (&rules_arg, 150)] {
                let run = run_tool(Tool::Rsipvsadm, &["apply", file], None);
                let plan = run.stdout.iter().filter(|&&b| b == b'\n').count();
                if problem.is_none() && (!run.ok() || plan != lines) {
                    problem = Some(format!(
                        "apply of 1% printed {plan} plan lines (expected {lines}), {}",
                        run.failure("apply")
                    ));
                }
                applies.push(run);
            }
            listings.push(run_tool(Tool::Rsipvsadm, &["-L", "-n"], None));
        }
        let flush = run_tool(Tool::Ipvsadm, &["-C"], None);
        (applies, listings, flush, problem)
    });
    std::fs::remove_file(&changed_path).expect("remove the changed rule file");
    for run in &applies {
        println!(
            "bench: apply 1% of {}: {:.3} s",
            spec.label(),
            run.elapsed.as_secs_f64()
        );
    }
    report.check(
        format!("apply of 1% of {} plans 150 changes each way", spec.label()),
        problem,
    );
    let mut against_listing = Pair::new();
    against_listing.ipvsadm = listings;
    against_listing.rsipvsadm = applies;
    let mut row = against_listing.time_row(
        format!("apply 1% of {} (baseline: rsipvsadm -Ln)", spec.label()),
        0.0,
    );
    row.target = Target::WithinFactor(1.1);
    report.rows.push(row);
    let flush_and_restore = flush.elapsed.as_secs_f64() + median_secs(&restores.ipvsadm);
    let mut row = Row {
        name: format!("apply 1% of {} (baseline: ipvsadm -C + -R)", spec.label()),
        ipvsadm: flush_and_restore,
        rsipvsadm: median_secs(&against_listing.rsipvsadm),
        target: Target::Speedup(5.0),
        error: against_listing.error("apply"),
    };
    if !flush.ok() {
        row.error = Some(flush.failure("ipvsadm -C"));
    }
    report.rows.push(row);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some(MEASURE_MODE) {
        measure_helper(&args[1..]);
    }
    if !common::in_vm() {
        eprintln!("bench: runs inside the test VM only: use tests/bench/run");
        std::process::exit(2);
    }
    common::require_ipvs();
    let started = Instant::now();
    let mut report = Report::default();
    measure_single_command(&mut report);
    let small = TableSpec {
        services: 1_000,
        dests: 5,
        restore_reps: 5,
        listing_reps: 5,
        apply: false,
    };
    let large = TableSpec {
        services: 10_000,
        dests: 5,
        restore_reps: 3,
        listing_reps: 3,
        apply: true,
    };
    bench_table(small, false, &mut report);
    bench_table(large, true, &mut report);
    report.print();
    let good = report.all_good();
    println!(
        "bench: {} ({:.0} s)",
        if good {
            "every target met"
        } else {
            "some target NOT met"
        },
        started.elapsed().as_secs_f64()
    );
    std::process::exit(if good { 0 } else { 1 });
}
