//! The result table: rows of times (medians) and peak memory of ipvsadm, rsipvsadm and
//! the probe, their ratios and targets, and the output checks.

use crate::measure::{Run, Tool};
use std::fmt::Write as _;

/// What a row requires of rsipvsadm. A row may have several; it is met if all are.
#[derive(Clone, Copy)]
pub enum Target {
    /// ipvsadm's (the baseline's) time / rsipvsadm's at least this.
    Speedup(f64),
    /// rsipvsadm's time at most this many times the baseline's (named in the row).
    WithinBaseline(f64),
    /// rsipvsadm's time at most this many times the probe's.
    WithinProbe(f64),
    /// The probe's time / rsipvsadm's at least this.
    ProbeSpeedup(f64),
    /// rsipvsadm's peak RSS at most this many KiB.
    MaxRssKib(u64),
}

impl Target {
    fn label(self) -> String {
        match self {
            Target::Speedup(min) => format!("base/rs >= {min}"),
            Target::WithinBaseline(f) => format!("rs <= {f}x base"),
            Target::WithinProbe(f) => format!("rs <= {f}x probe"),
            Target::ProbeSpeedup(min) => format!("probe/rs >= {min}"),
            Target::MaxRssKib(max) => format!("RSS <= {} MiB", max / 1024),
        }
    }

    /// Whether `row` meets it; a missing value does not.
    fn met(self, row: &Row) -> bool {
        let ratio = |a: Option<f64>, b: Option<f64>| a.zip(b).map(|(a, b)| a / b);
        match self {
            Target::Speedup(min) => ratio(row.ipvsadm, row.rsipvsadm).is_some_and(|r| r >= min),
            Target::WithinBaseline(f) => ratio(row.rsipvsadm, row.ipvsadm).is_some_and(|r| r <= f),
            Target::WithinProbe(f) => ratio(row.rsipvsadm, row.probe).is_some_and(|r| r <= f),
            Target::ProbeSpeedup(min) => ratio(row.probe, row.rsipvsadm).is_some_and(|r| r >= min),
            Target::MaxRssKib(max) => row.rss_rsipvsadm.is_some_and(|kib| kib <= max),
        }
    }
}

/// One line of the result table. Times are medians in seconds; the first column holds
/// the reference ipvsadm's, or the baseline the row's name names. Peaks are the largest
/// of the runs', in KiB.
#[derive(Default)]
pub struct Row {
    pub name: String,
    pub ipvsadm: Option<f64>,
    pub rsipvsadm: Option<f64>,
    pub probe: Option<f64>,
    pub rss_ipvsadm: Option<u64>,
    pub rss_rsipvsadm: Option<u64>,
    /// rsipvsadm's CPU time (medians, seconds): in user space, in the kernel.
    pub cpu_rsipvsadm: Option<(f64, f64)>,
    pub targets: Vec<Target>,
    /// Why the measurement is void (a tool failed), if it is.
    pub error: Option<String>,
}

impl Row {
    /// Only the peaks of a row's runs: for the rows that are about memory.
    pub fn memory_only(mut self) -> Row {
        self.ipvsadm = None;
        self.rsipvsadm = None;
        self.probe = None;
        self.cpu_rsipvsadm = None;
        self
    }

    pub fn met(&self) -> bool {
        self.error.is_none() && self.targets.iter().all(|t| t.met(self))
    }

    /// A row of the smoke run is whole if it failed nowhere and has every value its
    /// targets judge, each positive.
    fn whole(&self) -> bool {
        let present = |v: Option<f64>| v.is_some_and(|v| v.is_finite() && v > 0.0);
        let rss = |v: Option<u64>| v.is_some_and(|v| v > 0);
        self.error.is_none()
            && (present(self.rsipvsadm) || rss(self.rss_rsipvsadm))
            && self.targets.iter().all(|t| match t {
                Target::Speedup(_) | Target::WithinBaseline(_) => {
                    present(self.ipvsadm) && present(self.rsipvsadm)
                }
                Target::WithinProbe(_) | Target::ProbeSpeedup(_) => {
                    present(self.probe) && present(self.rsipvsadm)
                }
                Target::MaxRssKib(_) => rss(self.rss_rsipvsadm),
            })
    }

    fn cells(&self, smoke: bool) -> [String; COLUMNS] {
        let secs = |v: Option<f64>| v.map(format_secs).unwrap_or_default();
        let mib = |v: Option<u64>| v.map(format_mib).unwrap_or_default();
        let ratio = |a: Option<f64>, b: Option<f64>| {
            a.zip(b)
                .map(|(a, b)| format!("{:.2}x", a / b))
                .unwrap_or_default()
        };
        let verdict = if self.error.is_some() {
            "NOT MET (failed)"
        } else if smoke {
            "(smoke)"
        } else if self.targets.is_empty() {
            "-"
        } else if self.met() {
            "met"
        } else {
            "NOT MET"
        };
        let targets: Vec<String> = self.targets.iter().map(|t| t.label()).collect();
        [
            self.name.clone(),
            secs(self.ipvsadm),
            secs(self.rsipvsadm),
            secs(self.probe),
            ratio(self.ipvsadm, self.rsipvsadm),
            ratio(self.rsipvsadm, self.probe),
            mib(self.rss_ipvsadm),
            mib(self.rss_rsipvsadm),
            self.cpu_rsipvsadm
                .map(|(user, sys)| format!("{}/{}", format_secs(user), format_secs(sys)))
                .unwrap_or_default(),
            targets.join(", "),
            verdict.to_string(),
        ]
    }
}

const COLUMNS: usize = 11;

fn format_secs(secs: f64) -> String {
    if secs < 1.0 {
        format!("{:.1} ms", secs * 1000.0)
    } else {
        format!("{secs:.3} s")
    }
}

fn format_mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// Everything the benchmark found: table rows and output checks.
#[derive(Default)]
pub struct Report {
    pub rows: Vec<Row>,
    /// (what was checked, None if it passed or what went wrong).
    pub checks: Vec<(String, Option<String>)>,
    /// A smoke run (tiny tables): targets are shown, not judged.
    pub smoke: bool,
}

impl Report {
    pub fn check(&mut self, what: String, problem: Option<String>) {
        let verdict = problem.as_deref().unwrap_or("ok");
        println!("bench: check {what}: {verdict}");
        self.checks.push((what, problem));
    }

    pub fn push(&mut self, row: Row) {
        self.rows.push(row);
    }

    /// Every target met (a smoke run: every row whole) and every check passed.
    pub fn all_good(&self) -> bool {
        let rows = if self.smoke {
            self.rows.iter().all(Row::whole)
        } else {
            self.rows.iter().all(Row::met)
        };
        rows && self.checks.iter().all(|(_, p)| p.is_none())
    }

    pub fn print(&self) {
        let header = [
            "measurement (first column: ipvsadm unless named)",
            "ipvsadm",
            "rsipvsadm",
            "probe",
            "base/rs",
            "rs/probe",
            "RSS ipvsadm",
            "RSS rs",
            "rs user/sys",
            "targets",
            "verdict",
        ]
        .map(String::from);
        let lines: Vec<[String; COLUMNS]> = std::iter::once(header)
            .chain(self.rows.iter().map(|r| r.cells(self.smoke)))
            .collect();
        let widths: Vec<usize> = (0..COLUMNS)
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
            if self.smoke && !row.whole() {
                println!("{}: a value its targets need is missing", row.name);
            }
        }
        for (what, problem) in &self.checks {
            println!("check {what}: {}", problem.as_deref().unwrap_or("ok"));
        }
    }
}

/// The first column left-aligned, the others right-aligned but the last two, two spaces
/// apart.
fn table_line(cells: &[String; COLUMNS], widths: &[usize]) -> String {
    let mut out = format!("{:<w$}", cells[0], w = widths[0]);
    for (c, (cell, width)) in cells.iter().zip(widths).enumerate().skip(1) {
        if c >= COLUMNS - 2 {
            write!(out, "  {cell:<width$}").expect("write to a String");
        } else {
            write!(out, "  {cell:>width$}").expect("write to a String");
        }
    }
    out.trim_end().to_string()
}

/// The median of the runs' times, in seconds.
pub fn median_secs(runs: &[Run]) -> f64 {
    median_of(runs, Run::secs)
}

/// The median of `value` over the runs.
fn median_of(runs: &[Run], value: impl Fn(&Run) -> f64) -> f64 {
    let mut sorted: Vec<f64> = runs.iter().map(value).collect();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    }
}

/// The runs of each tool for one measurement.
#[derive(Default)]
pub struct Runs {
    by_tool: [Vec<Run>; 3],
}

impl Runs {
    pub fn new() -> Self {
        Runs::default()
    }

    pub fn push(&mut self, tool: Tool, run: Run) {
        self.by_tool[tool.index()].push(run);
    }

    pub fn of(&self, tool: Tool) -> &[Run] {
        &self.by_tool[tool.index()]
    }

    /// Puts `runs` in `tool`'s place (a baseline row: another command's runs in the
    /// first column).
    pub fn set(&mut self, tool: Tool, runs: Vec<Run>) {
        self.by_tool[tool.index()] = runs;
    }

    fn median(&self, tool: Tool) -> Option<f64> {
        let runs = self.of(tool);
        (!runs.is_empty()).then(|| median_secs(runs))
    }

    /// Median CPU times in user space and in the kernel.
    fn cpu(&self, tool: Tool) -> Option<(f64, f64)> {
        let runs = self.of(tool);
        (!runs.is_empty()).then(|| {
            (
                median_of(runs, |r| r.user.as_secs_f64()),
                median_of(runs, |r| r.sys.as_secs_f64()),
            )
        })
    }

    fn peak(&self, tool: Tool) -> Option<u64> {
        self.of(tool).iter().map(|r| r.max_rss_kib).max()
    }

    /// The first failed run's description, if any run failed.
    pub fn error(&self, what: &str) -> Option<String> {
        [Tool::Ipvsadm, Tool::Rsipvsadm, Tool::Probe]
            .into_iter()
            .find_map(|tool| {
                self.of(tool)
                    .iter()
                    .find(|r| !r.ok())
                    .map(|r| r.failure(&format!("{} {what}", tool.name())))
            })
    }

    /// The row of these runs: medians, peaks, the first failure.
    pub fn row(&self, name: String, targets: &[Target]) -> Row {
        Row {
            error: self.error(&name),
            ipvsadm: self.median(Tool::Ipvsadm),
            rsipvsadm: self.median(Tool::Rsipvsadm),
            probe: self.median(Tool::Probe),
            rss_ipvsadm: self.peak(Tool::Ipvsadm),
            rss_rsipvsadm: self.peak(Tool::Rsipvsadm),
            cpu_rsipvsadm: self.cpu(Tool::Rsipvsadm),
            targets: targets.to_vec(),
            name,
        }
    }
}
