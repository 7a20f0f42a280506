//! Differential cases a case file cannot hold: input bytes that are not UTF-8, words of
//! thousands of bytes, megabyte lines, a closed standard input, standard error on a full
//! device, a memory limit. Each case runs with each program in a fresh network namespace
//! (with the standard test network), after the same set-up done by the reference; the
//! exit status, stdout, stderr and the table afterwards (`ipvsadm -Sn`, by the reference)
//! must be the same.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;

use crate::common::{Exit, in_fresh_netns, ipvsadm_bin, require_ipvs, run_with_timeout};
use crate::compare::line_diff;
use crate::{COMMAND_TIMEOUT, Program, TABLES};

/// What a program's standard input is.
#[derive(Clone)]
enum Input {
    Null,
    Bytes(Vec<u8>),
    Closed,
    /// The directory `/`: every read fails with EISDIR.
    Directory,
}

/// Where a program's standard output and error go.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Output {
    Captured,
    /// `/dev/full`: every write fails with ENOSPC.
    Full,
    Closed,
}

#[derive(Clone)]
struct Generated {
    name: &'static str,
    /// Commands the reference runs first, in the same namespace (each must succeed).
    setup: &'static [&'static [&'static str]],
    args: Vec<Vec<u8>>,
    stdin: Input,
    stdout: Output,
    stderr: Output,
    /// RLIMIT_AS for the program, in bytes.
    address_space: Option<u64>,
}

impl Generated {
    fn new(name: &'static str, args: &[&[u8]]) -> Self {
        Generated {
            name,
            setup: &[],
            args: args.iter().map(|a| a.to_vec()).collect(),
            stdin: Input::Null,
            stdout: Output::Captured,
            stderr: Output::Captured,
            address_space: None,
        }
    }

    fn restore(name: &'static str, rules: Vec<u8>) -> Self {
        Generated {
            stdin: Input::Bytes(rules),
            ..Generated::new(name, &[b"-R"])
        }
    }

    fn after(mut self, setup: &'static [&'static [&'static str]]) -> Self {
        self.setup = setup;
        self
    }
}

/// What one run gave.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    exit: Exit,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    /// `ipvsadm -Sn` right after.
    table: Vec<u8>,
}

fn word(byte: u8, len: usize) -> Vec<u8> {
    vec![byte; len]
}

fn rules(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

const ONE_SERVICE: &[&[&str]] = &[&["-A", "-t", "10.0.0.1:80", "-s", "rr"]];
const SERVICE_AND_SERVER: &[&[&str]] = &[
    &["-A", "-t", "10.0.0.1:80", "-s", "rr"],
    &["-a", "-t", "10.0.0.1:80", "-r", "10.0.0.2:80", "-m"],
];

fn cases() -> Vec<Generated> {
    // popt's `!#:+` ("the next argument") repeated over a megabyte: ipvsadm's reader cuts
    // the word every 4096 bytes, which bounds the expansion; unbounded it is gigabytes.
    let mut bang = b"-A -t 10.0.0.1:80 -s ".to_vec();
    bang.extend(b"!#:+".repeat(250_000));
    bang.push(b' ');
    bang.extend(word(b'B', 100_000));
    bang.push(b'\n');
    vec![
        Generated {
            address_space: Some(256 << 20),
            ..Generated::restore("expansion-in-a-megabyte-line", bang)
        },
        Generated {
            stderr: Output::Full,
            ..Generated::restore(
                "stderr-on-a-full-device-popt-error",
                b"-A -t 10.9.0.1:80 --bogus\n-A -t 10.9.0.2:80\n".to_vec(),
            )
        },
        Generated {
            stderr: Output::Full,
            ..Generated::restore(
                "stderr-on-a-full-device-kernel-refusals",
                b"-A -t 10.9.0.1:80\n-A -t 10.9.0.1:80\n-d -t 10.9.0.1:80 -r 10.0.0.9\n-A -t 10.9.0.3:80\n"
                    .to_vec(),
            )
        },
        Generated {
            stderr: Output::Full,
            ..Generated::new("stderr-on-a-full-device-validation", &[b"-A", b"-t", b"10.0.0.1:0"])
        },
        Generated {
            stdout: Output::Full,
            ..Generated::new("stdout-on-a-full-device", &[b"-Sn"]).after(SERVICE_AND_SERVER)
        },
        Generated {
            stdin: Input::Closed,
            ..Generated::new("restore-from-a-closed-stdin", &[b"-R"]).after(ONE_SERVICE)
        },
        Generated {
            stdin: Input::Directory,
            ..Generated::new("restore-from-a-directory", &[b"-R"]).after(ONE_SERVICE)
        },
        Generated {
            stdout: Output::Closed,
            ..Generated::new("list-to-a-closed-stdout", &[b"-Ln"]).after(ONE_SERVICE)
        },
        Generated {
            stderr: Output::Closed,
            ..Generated::restore(
                "restore-with-a-closed-stderr",
                b"-A -t 10.9.0.1:80 --bogus\n-A -t 10.9.0.2:80\n-A -t 10.9.0.2:80\n".to_vec(),
            )
        },
        Generated::restore(
            "nul-ends-a-word-delete-service",
            b"-D -t 10.0.0.1\x00:80\n".to_vec(),
        )
        .after(ONE_SERVICE),
        Generated::restore(
            "nul-ends-a-word-delete-server",
            b"-d -t 10.0.0.1:80 -r 10.0.0.2\x00:80\n".to_vec(),
        )
        .after(SERVICE_AND_SERVER),
        Generated::restore(
            "nul-ends-a-word-add-service",
            b"-A -t 10.0.0.1\x00:99 -p\n-A -t 10.0.0.7\x00\x00:99 -s rr\n".to_vec(),
        ),
        Generated::restore(
            "nul-in-an-unknown-option",
            b"-A -t 10.0.0.1:80 --bo\x00gus\n-A -f \x00\n-C\n".to_vec(),
        ),
        Generated::restore(
            "word-of-4095-bytes",
            rules(&[b"-A -t 10.0.0.5:80 -s ", &word(b'r', 4095), b"\n-A -t 10.0.0.6:80\n"]),
        ),
        Generated::restore(
            "word-of-4096-bytes",
            rules(&[b"-A -t 10.0.0.5:80 -s ", &word(b'r', 4096), b"\n-A -t 10.0.0.6:80\n"]),
        ),
        Generated::restore(
            "word-of-5000-bytes",
            rules(&[b"-A -t 10.0.0.5:80 -s ", &word(b'r', 5000), b"\n-A -t 10.0.0.6:80\n"]),
        ),
        Generated::restore(
            "word-of-8192-bytes-then-end",
            rules(&[b"-A -t 10.0.0.5:80 -s rr ", &word(b'x', 8192)]),
        ),
        Generated::restore(
            "long-address-word",
            rules(&[b"-A -t 10.0.0.5:", &word(b'9', 6000), b"\n-A -t 10.0.0.6:80\n"]),
        ),
        Generated::restore(
            "non-utf8-bytes-in-rules",
            b"-A -t 10.0.0.1:80 -s \xff\xfe\n-A -f 7\xe9\n".to_vec(),
        ),
        Generated::restore("non-utf8-unknown-option-in-rules", b"-Ln --\xc3\x28\n".to_vec()),
        Generated::new("non-utf8-fwmark", &[b"-A", b"-f", b"\xff"]),
        Generated::new("non-utf8-leftover", &[b"-L", b"\xfe"]),
        Generated::new("non-utf8-option", &[b"-L", b"--b\xffgus"]),
        Generated::new("non-utf8-cluster", &[b"-L\xff"]),
        Generated::new("non-utf8-invalid-option", &[b"-L", b"-A"]),
        Generated::new("non-utf8-mcast-group", &[b"--start-daemon", b"master", b"--mcast-group", b"\xef"]),
        Generated::new("non-utf8-timeout", &[b"--set", b"1", b"\xef", b"3"]),
        Generated::new("non-utf8-sched-flag", &[b"-A", b"-t", b"10.0.0.1:80", b"-b", b"\xef"]),
    ]
}

/// Opens a standard stream target, or `None` for one to close.
fn target(output: Output) -> Option<Stdio> {
    match output {
        Output::Captured => Some(Stdio::piped()),
        Output::Full => Some(Stdio::from(File::create("/dev/full").expect("/dev/full"))),
        Output::Closed => Some(Stdio::null()), // closed in the child, below
    }
}

fn read_all(pipe: Option<impl Read + Send + 'static>) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut buf);
        }
        buf
    })
}

/// Runs `case` with `program` in the current thread's namespace.
fn run_program(program: &Program, case: &Generated) -> (Exit, Vec<u8>, Vec<u8>) {
    let mut command = Command::new(&program.path);
    command
        .arg0("ipvsadm")
        .args(case.args.iter().map(|a| OsStr::from_bytes(a)))
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("HOME", "/root")
        .current_dir("/")
        .stdin(match case.stdin {
            Input::Bytes(_) => Stdio::piped(),
            Input::Null | Input::Closed => Stdio::null(),
            Input::Directory => Stdio::from(File::open("/").expect("/")),
        })
        .stdout(target(case.stdout).unwrap())
        .stderr(target(case.stderr).unwrap());
    let close: Vec<i32> = [
        (case.stdin_closed(), 0),
        (case.stdout == Output::Closed, 1),
        (case.stderr == Output::Closed, 2),
    ]
    .into_iter()
    .filter_map(|(closed, fd)| closed.then_some(fd))
    .collect();
    let limit = case.address_space;
    // SAFETY: only async-signal-safe calls (close, setrlimit) between fork and exec.
    unsafe {
        command.pre_exec(move || {
            for &fd in &close {
                libc::close(fd);
            }
            if let Some(bytes) = limit {
                let rlim = libc::rlimit {
                    rlim_cur: bytes,
                    rlim_max: bytes,
                };
                libc::setrlimit(libc::RLIMIT_AS, &rlim);
            }
            Ok(())
        });
    }
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.path.display()));
    let pid = child.id();
    let writer = match (&case.stdin, child.stdin.take()) {
        (Input::Bytes(data), Some(mut pipe)) => {
            let data = data.clone();
            Some(thread::spawn(move || {
                let _ = pipe.write_all(&data);
            }))
        }
        _ => None,
    };
    let stdout = read_all(child.stdout.take());
    let stderr = read_all(child.stderr.take());
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(child.wait());
    });
    let (status, timed_out) = match rx.recv_timeout(COMMAND_TIMEOUT) {
        Ok(status) => (status, false),
        Err(_) => {
            // SAFETY: kill(2) on our own unreaped child.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
            (rx.recv().expect("waiter"), true)
        }
    };
    let status = status.expect("wait");
    if let Some(w) = writer {
        w.join().expect("stdin writer");
    }
    let exit = match (timed_out, status.code()) {
        (true, _) => Exit::TimedOut,
        (false, Some(code)) => Exit::Code(code),
        (false, None) => Exit::Signal(status.signal().unwrap_or(0)),
    };
    (
        exit,
        stdout.join().expect("stdout reader"),
        stderr.join().expect("stderr reader"),
    )
}

impl Generated {
    fn stdin_closed(&self) -> bool {
        matches!(self.stdin, Input::Closed)
    }
}

/// The set-up, the case, then the table, in a fresh namespace; `alone`: while no other
/// case runs (see [`TABLES`]: another namespace's changes can make a listing repeat or
/// skip services).
fn run_case(program: &Program, case: &Generated, alone: bool) -> Outcome {
    let (program, case) = (program.clone(), case.clone());
    let _shared;
    let _alone;
    if alone {
        _alone = TABLES.write().unwrap_or_else(|e| e.into_inner());
    } else {
        _shared = TABLES.read().unwrap_or_else(|e| e.into_inner());
    }
    in_fresh_netns(move || {
        let reference = |args: &[&str]| {
            let out = run_with_timeout(
                Command::new(ipvsadm_bin()).arg0("ipvsadm").args(args),
                None,
                COMMAND_TIMEOUT,
            );
            assert_eq!(
                out.exit,
                Exit::Code(0),
                "set-up {args:?}: {}",
                out.stderr_lossy()
            );
            out.stdout
        };
        for args in case.setup {
            reference(args);
        }
        let (exit, stdout, stderr) = run_program(&program, &case);
        Outcome {
            exit,
            stdout,
            stderr,
            table: reference(&["-Sn"]),
        }
    })
}

/// A readable report of how two outcomes differ (long outputs cut short).
fn report(case: &Generated, expected: &Outcome, actual: &Outcome) -> String {
    let mut out = format!(
        "generated case {}: ipvsadm and rsipvsadm differ\n",
        case.name
    );
    if expected.exit != actual.exit {
        out.push_str(&format!(
            "  status: ipvsadm: {}, rsipvsadm: {}\n",
            expected.exit, actual.exit
        ));
    }
    for (what, e, a) in [
        ("stdout", &expected.stdout, &actual.stdout),
        ("stderr", &expected.stderr, &actual.stderr),
        ("table (ipvsadm -Sn)", &expected.table, &actual.table),
    ] {
        if e != a {
            let cut = |b: &[u8]| b[..b.len().min(2000)].to_vec();
            out.push_str(&format!(
                "  {what} differs ({} and {} bytes; first 2000 shown):\n{}",
                e.len(),
                a.len(),
                line_diff(&cut(e), &cut(a), "    ")
            ));
        }
    }
    out
}

#[test]
fn generated_inputs_match_the_reference() {
    require_ipvs();
    let filter = std::env::var("RSIPVSADM_DIFF_FILTER").unwrap_or_default();
    let cases: Vec<_> = cases()
        .into_iter()
        .filter(|c| c.name.contains(&filter))
        .collect();
    let mut reports = Vec::new();
    for case in &cases {
        let differ = |alone| {
            let expected = run_case(&Program::reference(), case, alone);
            let actual = run_case(&Program::candidate(), case, alone);
            (expected != actual).then(|| report(case, &expected, &actual))
        };
        // A difference counts once it shows again with no other case running.
        if differ(false).is_some()
            && let Some(report) = differ(true)
        {
            reports.push(report);
        }
    }
    println!("generated: {} cases, {} differ", cases.len(), reports.len());
    assert!(reports.is_empty(), "{}", reports.join("\n"));
}

/// The comparison sees what these cases add: a closed stdin, a full stderr.
#[test]
fn generated_harness_detects_differences() {
    require_ipvs();
    let reference = Program::reference();
    let run = |case: Generated| run_case(&reference, &case, true);
    let plain = run(Generated::restore("plain", b"-A -t 10.0.0.1:80\n".to_vec()));
    assert_eq!(plain.exit, Exit::Code(0));
    assert_eq!(plain.table, b"-A -t 10.0.0.1:80 -s wlc\n");

    let closed = run(Generated {
        stdin: Input::Closed,
        ..Generated::restore("closed", b"-A -t 10.0.0.1:80\n".to_vec())
    });
    assert_eq!(closed.table, b"", "a closed stdin gives no rules");

    let full = run(Generated {
        stderr: Output::Full,
        ..Generated::new("full", &[b"-A", b"-t", b"10.0.0.1:0"])
    });
    assert_eq!(
        (full.exit, full.stderr.as_slice()),
        (Exit::Code(2), &b""[..])
    );
    assert!(!report(&Generated::new("x", &[]), &plain, &closed).is_empty());
}
