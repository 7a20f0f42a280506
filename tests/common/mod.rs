//! Helpers shared by the test targets that need a kernel with IPVS (`tests/kernel`,
//! `tests/differential`; `tests/run` runs them inside the VM) and by host-side tests.
//!
//! Include it from a target's `main.rs` with
//! `#[path = "../common/mod.rs"] mod common;`
//! (a plain `mod common;` in `tests/NAME/main.rs` would look for `tests/NAME/common.rs`).
//!
//! Isolation: IPVS state is per network namespace, so every test runs its IPVS work
//! through [`in_fresh_netns`], which gives it an empty IPVS table of its own; tests can
//! then run in parallel.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;
use std::{fmt, fs, thread};

/// The candidate binary: `$RSIPVSADM_BIN` (set in the VM), else the one cargo built.
pub fn rsipvsadm_bin() -> PathBuf {
    std::env::var_os("RSIPVSADM_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_rsipvsadm")))
}

/// The reference ipvsadm: `$IPVSADM_BIN`, else `/usr/sbin/ipvsadm`.
pub fn ipvsadm_bin() -> PathBuf {
    std::env::var_os("IPVSADM_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/sbin/ipvsadm"))
}

/// True inside the test VM (`tests/run` sets `RSIPVSADM_IN_VM=1`).
pub fn in_vm() -> bool {
    std::env::var_os("RSIPVSADM_IN_VM").is_some_and(|v| v == "1")
}

/// Runs `f` on a new thread that has its own, new network namespace with `lo` up and the
/// standard test network ([`standard_net`]), and returns its result. A panic in `f` is
/// re-raised here with its original payload (its message was already printed by the
/// panic hook, under the thread name `netns:<caller's thread name>`).
///
/// The namespace belongs to that thread only: other threads of the test process are not
/// affected, and it disappears when the thread ends. Child processes spawned from `f`
/// (`std::process::Command`) start in it. Read `/proc` files through
/// [`proc_net`] (`/proc/thread-self/net`): `/proc/net` is the view of the process's
/// main thread, i.e. of another namespace.
///
/// Panics if the namespace cannot be created (not root, no `CAP_SYS_ADMIN`) or set up.
pub fn in_fresh_netns<T, F>(f: F) -> T
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    in_new_netns(true, f)
}

/// Like [`in_fresh_netns`] but with only `lo` up: no `rs0`, no addresses.
pub fn in_bare_netns<T, F>(f: F) -> T
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    in_new_netns(false, f)
}

fn in_new_netns<T, F>(standard: bool, f: F) -> T
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let caller = thread::current().name().unwrap_or("unnamed").to_string();
    let handle = thread::Builder::new()
        .name(format!("netns:{caller}"))
        .spawn(move || {
            nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).unwrap_or_else(|e| {
                panic!(
                    "unshare(CLONE_NEWNET) failed: {e}. Kernel tests need root and a kernel \
                     with IPVS; run them with tests/run, which runs them in a VM"
                )
            });
            if standard {
                standard_net();
            } else {
                ip_batch("link set lo up\n");
            }
            f()
        })
        .expect("cannot spawn the namespace thread");
    match handle.join() {
        Ok(value) => value,
        Err(payload) => std::panic::resume_unwind(payload),
    }
}

/// Name of the dummy interface [`standard_net`] creates.
pub const STANDARD_NET_IF: &str = "rs0";

/// Addresses [`standard_net`] puts on [`STANDARD_NET_IF`]: real servers in these subnets
/// are routable (the kernel refuses a dest that is not unicast for the namespace).
/// `tests/vm/exec` sets up the same network: keep the two in step.
pub const STANDARD_NET_ADDRS: &[&str] = &[
    "10.0.0.254/8",
    "172.16.0.254/12",
    "192.168.0.254/16",
    "2001:db8::fe/32",
];

/// In the current thread's network namespace: brings `lo` up and creates the dummy
/// interface `rs0`, up, with [`STANDARD_NET_ADDRS`] (IPv6 without duplicate address
/// detection, so it is usable at once). Uses `ip` (iproute2) from `PATH`.
pub fn standard_net() {
    let mut script = format!(
        "link set lo up\nlink add {STANDARD_NET_IF} type dummy\nlink set {STANDARD_NET_IF} up\n"
    );
    for addr in STANDARD_NET_ADDRS {
        let nodad = if addr.contains(':') { " nodad" } else { "" };
        script.push_str(&format!("addr add {addr} dev {STANDARD_NET_IF}{nodad}\n"));
    }
    ip_batch(&script);
}

/// Runs `ip -batch -` with `script` (one ip command per line, without the leading `ip`)
/// in the current thread's namespace; panics with ip's output if any line fails.
pub fn ip_batch(script: &str) {
    let out = run_with_timeout(
        Command::new("ip").args(["-batch", "-"]),
        Some(script.as_bytes()),
        Duration::from_secs(60),
    );
    if out.exit != Exit::Code(0) {
        panic!(
            "ip -batch failed ({}):\n{script}\nstdout: {}\nstderr: {}",
            out.exit,
            out.stdout_lossy(),
            out.stderr_lossy()
        );
    }
}

/// Runs `ip ARGS` (iproute2) in the current thread's namespace and returns its stdout;
/// panics with its stderr if it fails.
pub fn ip(args: &[&str]) -> String {
    let out = run_with_timeout(Command::new("ip").args(args), None, Duration::from_secs(60));
    if out.exit != Exit::Code(0) {
        panic!("ip {args:?} failed ({}): {}", out.exit, out.stderr_lossy());
    }
    out.stdout_lossy()
}

/// Reads `/proc/net/NAME` as the current thread sees it (through `/proc/thread-self`,
/// so inside [`in_fresh_netns`] it is that namespace's file), e.g. `proc_net("ip_vs")`.
/// In reads of a few bytes each, as rsipvsadm reads `ip_vs`: larger ones miss services
/// before Linux 7.1 when other namespaces have some (see `procfs::PROC_INFO_READ`).
pub fn proc_net(name: &str) -> String {
    let path = Path::new("/proc/thread-self/net").join(name);
    let fail = |e: std::io::Error| -> ! { panic!("cannot read {}: {e}", path.display()) };
    let mut file = fs::File::open(&path).unwrap_or_else(|e| fail(e));
    let mut text = Vec::new();
    let mut chunk = [0; rsipvsadm::procfs::PROC_INFO_READ];
    loop {
        match file.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => text.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => fail(e),
        }
    }
    String::from_utf8(text).unwrap_or_else(|e| panic!("{} is not UTF-8: {e}", path.display()))
}

/// `/proc/net/ip_vs` of the current thread's namespace.
pub fn proc_net_ip_vs() -> String {
    proc_net("ip_vs")
}

/// Panics with a clear message unless IPVS is available (the `ip_vs` module is loaded):
/// without it, both ipvsadm and rsipvsadm just fail, and comparing them proves nothing.
pub fn require_ipvs() {
    if !Path::new("/proc/thread-self/net/ip_vs").exists() {
        panic!(
            "IPVS is not available here (no /proc/net/ip_vs): run the kernel tests with \
             tests/run, which runs them in a VM with the ip_vs module"
        );
    }
}

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal(i32),
    /// Killed by [`run_with_timeout`] after its timeout.
    TimedOut,
}

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Exit::Code(c) => write!(f, "exit code {c}"),
            Exit::Signal(s) => write!(f, "killed by signal {s}"),
            Exit::TimedOut => write!(f, "timed out"),
        }
    }
}

/// What a finished command produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOutput {
    pub exit: Exit,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl RunOutput {
    pub fn stdout_lossy(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
    pub fn stderr_lossy(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

/// Runs `cmd` to completion, feeding it `stdin` (none: `/dev/null`) and capturing its
/// stdout and stderr; kills it after `timeout` (then `exit` is [`Exit::TimedOut`]).
/// Panics if the program cannot be started.
pub fn run_with_timeout(cmd: &mut Command, stdin: Option<&[u8]>, timeout: Duration) -> RunOutput {
    use std::os::unix::process::ExitStatusExt;

    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {:?}: {e}", cmd.get_program()));
    let pid = child.id();

    let writer = stdin.map(|data| {
        let mut pipe = child.stdin.take().expect("piped stdin");
        let data = data.to_vec();
        // A program may exit without reading all of it: a broken pipe is its business.
        thread::spawn(move || {
            let _ = pipe.write_all(&data);
        })
    });
    let stdout = read_all_in_thread(child.stdout.take().expect("piped stdout"));
    let stderr = read_all_in_thread(child.stderr.take().expect("piped stderr"));

    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(child.wait());
    });
    let (status, timed_out) = match rx.recv_timeout(timeout) {
        Ok(status) => (status, false),
        Err(_) => {
            // The waiter thread still owns the child and reaps it after this kill.
            // SAFETY: kill(2) has no memory effects; the pid is our unreaped child.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
            (rx.recv().expect("waiter thread"), true)
        }
    };
    let status = status.unwrap_or_else(|e| panic!("waiting for {:?}: {e}", cmd.get_program()));
    if let Some(w) = writer {
        w.join().expect("stdin writer thread");
    }
    let exit = if timed_out {
        Exit::TimedOut
    } else if let Some(code) = status.code() {
        Exit::Code(code)
    } else {
        Exit::Signal(status.signal().unwrap_or(0))
    };
    RunOutput {
        exit,
        stdout: stdout.join().expect("stdout reader thread"),
        stderr: stderr.join().expect("stderr reader thread"),
    }
}

fn read_all_in_thread(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe.read_to_end(&mut buf);
        buf
    })
}

/// Unloads ip_vs_ftp if it is loaded; whether it was. Its application holds a reference
/// to ip_vs in every namespace: while it is loaded, a listing outside the initial
/// namespace cannot prove from ip_vs's references that the table has no IPv6 service
/// (`rsipvsadm::modrefs`, the proof before 7.1 where nfnetlink_hook is missing).
pub fn unload_ftp_helper() -> bool {
    let loaded = Path::new("/sys/module/ip_vs_ftp").exists();
    if loaded {
        let status = Command::new("rmmod")
            .arg("ip_vs_ftp")
            .status()
            .expect("rmmod runs");
        assert!(status.success(), "rmmod ip_vs_ftp failed");
    }
    loaded
}

/// [`unload_ftp_helper`] while it lives, ip_vs_ftp loaded again after if it was, as the
/// VM had it. Only in tests that run alone.
pub struct FtpUnloaded {
    was_loaded: bool,
}

impl FtpUnloaded {
    pub fn new() -> Self {
        FtpUnloaded {
            was_loaded: unload_ftp_helper(),
        }
    }
}

impl Drop for FtpUnloaded {
    fn drop(&mut self) {
        if self.was_loaded {
            let _ = Command::new("modprobe").arg("ip_vs_ftp").status();
        }
    }
}
