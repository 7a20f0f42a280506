//! The tools and how one run of them is measured: from spawn to `wait4`, which also gives
//! the tool's peak resident memory.

use crate::common;
use nix::sys::personality::{self, Persona};
use std::fs::File;
use std::io::{Read, Seek};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Tool {
    Ipvsadm,
    Rsipvsadm,
    /// The lower-bound probe, `genl-batch` (tests/bench/genl-batch.c): plain netlink
    /// requests, no text to parse or print.
    Probe,
}

impl Tool {
    fn path(self) -> PathBuf {
        match self {
            Tool::Ipvsadm => common::ipvsadm_bin(),
            Tool::Rsipvsadm => common::rsipvsadm_bin(),
            Tool::Probe => std::env::var_os("GENL_BATCH_BIN")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("/opt/payload/bin/genl-batch")),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Tool::Ipvsadm => "ipvsadm",
            Tool::Rsipvsadm => "rsipvsadm",
            Tool::Probe => "probe",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// One finished run of a tool.
#[derive(Clone)]
pub struct Run {
    pub elapsed: Duration,
    /// CPU time in user space and in the kernel (the kernel runs the tool's netlink
    /// requests, and fills its dumps, in the tool's own system calls).
    pub user: Duration,
    pub sys: Duration,
    pub max_rss_kib: u64,
    /// Exit code, or 128 + signal number.
    pub status: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Run {
    pub fn ok(&self) -> bool {
        self.status == 0
    }

    pub fn secs(&self) -> f64 {
        self.elapsed.as_secs_f64()
    }

    /// "exit status N: first line of stderr", for notes about a failed run.
    pub fn failure(&self, what: &str) -> String {
        let stderr = String::from_utf8_lossy(&self.stderr);
        let first = stderr.lines().next().unwrap_or("");
        format!("{what}: exit status {}: {first}", self.status)
    }

    pub fn stdout_lines(&self) -> usize {
        self.stdout.iter().filter(|&&b| b == b'\n').count()
    }
}

/// Where a tool's program and libraries land in its address space.
///
/// Under software emulation (QEMU 7.2's TCG) code translated for one process is reused by
/// the next only where it runs at the same virtual address again, so a randomized layout
/// (ASLR) makes every start of a position-independent program translate its loader, C
/// library and code afresh: `int main() { return 0; }` built as Debian builds C (PIE,
/// dynamically linked) starts in about 22 ms randomized and 7 ms fixed in the VM, and in
/// 0.5 ms either way on the host. The probe, static at a fixed address, never pays it.
/// Timing rows therefore start every tool at a fixed layout (the `setarch -R` of
/// util-linux); one row per run shows the randomized start beside it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Layout {
    Fixed,
    Randomized,
}

impl Layout {
    fn arg(self) -> &'static str {
        match self {
            Layout::Fixed => "fixed",
            Layout::Randomized => "randomized",
        }
    }
}

/// Runs `tool ARGS` (argv[0] "ipvsadm") in the current thread's namespace at a fixed
/// address layout, with `stdin` from a file (else /dev/null) and stdout and stderr into
/// unlinked temporary files (as a shell's `< in > out` would), and measures it.
///
/// The tool is started by a fresh copy of this program in [`MEASURE_MODE`]: a child's
/// peak RSS (ru_maxrss) counts the memory of the process that forked it (exec takes the
/// old address space's high-water mark into it), and this process holds whole listings;
/// the small helper does not.
pub fn run_tool(tool: Tool, args: &[&str], stdin: Option<&Path>) -> Run {
    run_tool_in(Layout::Fixed, tool, args, stdin)
}

/// [`run_tool`] with the address layout chosen.
pub fn run_tool_in(layout: Layout, tool: Tool, args: &[&str], stdin: Option<&Path>) -> Run {
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
        .arg(layout.arg())
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
    let Measurement {
        elapsed,
        user,
        sys,
        max_rss_kib,
        status,
    } = parse_measurement(&measured);
    Run {
        elapsed,
        user,
        sys,
        max_rss_kib,
        status,
        stdout: read_back(&mut stdout),
        stderr: read_back(&mut stderr),
    }
}

/// A new path in /tmp (tmpfs in the VM), unique within this run.
pub fn scratch_path(what: &str) -> PathBuf {
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
/// `bench --measure RESULT-FILE LAYOUT PROGRAM ARGS...` runs PROGRAM (argv[0] "ipvsadm")
/// with the helper's stdio, at LAYOUT ("fixed" or "randomized", see [`Layout`]), and writes "NANOSECONDS MAX-RSS-KIB STATUS USER-NS SYS-NS" into
/// RESULT-FILE.
pub const MEASURE_MODE: &str = "--measure";

/// The helper's side of [`MEASURE_MODE`]; `args` follow the flag.
pub fn measure_helper(args: &[String]) -> ! {
    let [result, layout, program, rest @ ..] = args else {
        panic!("usage: bench {MEASURE_MODE} RESULT-FILE LAYOUT PROGRAM ARGS...");
    };
    let mut command = Command::new(program);
    command.arg0("ipvsadm").args(rest);
    match layout.as_str() {
        "fixed" => {
            // SAFETY: personality() is async-signal-safe and touches no memory; the
            // flag is inherited through exec, as with `setarch -R`.
            unsafe {
                command.pre_exec(|| {
                    let current = personality::get()?;
                    personality::set(current | Persona::ADDR_NO_RANDOMIZE)?;
                    Ok(())
                })
            };
        }
        "randomized" => {}
        other => panic!("bad layout {other:?} (fixed or randomized)"),
    }
    let start = Instant::now();
    let child = command
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    let (status, usage) = wait_with_rusage(child.id());
    let nanos = start.elapsed().as_nanos();
    let cpu = |t: libc::timeval| t.tv_sec as u128 * 1_000_000_000 + t.tv_usec as u128 * 1000;
    let (rss, user, sys) = (
        usage.ru_maxrss.max(0),
        cpu(usage.ru_utime),
        cpu(usage.ru_stime),
    );
    std::fs::write(result, format!("{nanos} {rss} {status} {user} {sys}\n"))
        .unwrap_or_else(|e| panic!("cannot write {result}: {e}"));
    std::process::exit(0)
}

struct Measurement {
    elapsed: Duration,
    user: Duration,
    sys: Duration,
    max_rss_kib: u64,
    status: i32,
}

/// Reads the helper's "NANOSECONDS MAX-RSS-KIB STATUS USER-NS SYS-NS" line.
fn parse_measurement(line: &str) -> Measurement {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let bad = || panic!("bad measurement from the helper: {line:?}");
    let [nanos, rss, status, user, sys] = fields[..] else {
        bad()
    };
    let duration = |field: &str| Duration::from_nanos(field.parse().unwrap_or_else(|_| bad()));
    Measurement {
        elapsed: duration(nanos),
        user: duration(user),
        sys: duration(sys),
        max_rss_kib: rss.parse().unwrap_or_else(|_| bad()),
        status: status.parse().unwrap_or_else(|_| bad()),
    }
}

/// Waits for the child `pid` with wait4 and returns its exit code (or 128 + signal) and
/// resource usage (peak resident set size in KiB, CPU times) of that child alone.
fn wait_with_rusage(pid: u32) -> (i32, libc::rusage) {
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
    (code, usage)
}

/// Untimed housekeeping with the reference tool; panics if it fails.
pub fn reference(args: &[&str]) -> Vec<u8> {
    let run = run_tool(Tool::Ipvsadm, args, None);
    assert!(run.ok(), "{}", run.failure(&format!("ipvsadm {args:?}")));
    run.stdout
}

/// Empties the namespace's table before it goes away, so that the kernel does not tear a
/// large table down in the background while the next measurement runs.
pub fn clear_table() {
    reference(&["-C"]);
}
