//! `rsipvsadm top`: the rates its batch frames show against traffic of a known size and
//! pace, and the live view driven through a pseudo-terminal.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::pty::{OpenptyResult, Winsize, openpty};
use nix::sys::termios::{LocalFlags, tcgetattr};

use crate::common::{Exit, rsipvsadm_bin, run_with_timeout};
use crate::serial;
use crate::topology::{Forwarding, IO_TIMEOUT, Lab, Topology, in_ns};

/// The size of the file fetched from the busy service.
const BIG: usize = 100_000;

/// One `GET /path` over a new connection; returns the bytes received (head and body).
fn get(addr: SocketAddr, path: &str) -> Result<usize, String> {
    let mut stream =
        TcpStream::connect_timeout(&addr, IO_TIMEOUT).map_err(|e| format!("connect: {e}"))?;
    stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    write!(stream, "GET /{path} HTTP/1.0\r\nHost: vip\r\n\r\n").map_err(|e| e.to_string())?;
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .map_err(|e| format!("receive: {e}"))?;
    if !response.starts_with(b"HTTP/1.") {
        return Err("not an HTTP response".into());
    }
    Ok(response.len())
}

/// Requests to `addr` from `client`, one every `every`, until `stop`; returns when each
/// finished and how many bytes it received.
fn steady_traffic(
    client: String,
    addr: SocketAddr,
    path: &'static str,
    every: Duration,
    stop: Arc<AtomicBool>,
) -> thread::JoinHandle<Vec<(Instant, usize)>> {
    thread::spawn(move || {
        in_ns(&client, || {
            let mut done = Vec::new();
            let mut next = Instant::now();
            while !stop.load(Ordering::SeqCst) {
                let bytes = get(addr, path).unwrap_or_else(|e| panic!("GET {addr}/{path}: {e}"));
                done.push((Instant::now(), bytes));
                next += every;
                thread::sleep(next.saturating_duration_since(Instant::now()));
            }
            done
        })
    })
}

/// `12.3k` -> 12300, `1.23 MB/s` (two fields) -> 1230000.
fn human(number: &str, unit: &str) -> f64 {
    let (digits, scale) = match number.char_indices().last() {
        Some((at, c)) if c.is_ascii_alphabetic() => (&number[..at], prefix(c)),
        _ => (number, prefix(unit.chars().next().unwrap_or(' '))),
    };
    digits
        .parse::<f64>()
        .unwrap_or_else(|_| panic!("not a rate: {number} {unit}"))
        * scale
}

fn prefix(c: char) -> f64 {
    match c {
        'k' => 1e3,
        'M' => 1e6,
        'G' => 1e9,
        'T' => 1e12,
        _ => 1.0,
    }
}

/// A service or real server line of a frame.
#[derive(Debug)]
struct Line {
    addr: String,
    conns: f64,
    bytes: f64,
    /// Share of its service's bytes, in percent (real servers with traffic).
    share: Option<f64>,
}

/// The lines of a frame about services (`TCP ...`) and real servers (`-> ...`).
fn parse_frame(frame: &str) -> Vec<Line> {
    frame
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let at = match fields.first() {
                Some(&"TCP") => 0,
                Some(&"->") => 1,
                _ => return None,
            };
            // Service: TCP ADDR SCHED ACTIVE INACT CONN PKT BYTES UNIT
            // Server:  -> ADDR FWD WEIGHT ACTIVE INACT CONN PKT BYTES UNIT SHARE% BAR
            let conns = 5 + at;
            Some(Line {
                addr: fields[1].to_string(),
                conns: human(fields[conns], ""),
                bytes: human(fields[conns + 2], fields[conns + 3]),
                share: fields
                    .get(conns + 4)
                    .map(|s| s.trim_end_matches('%').parse().expect("share")),
            })
        })
        .collect()
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Busy service on VIP:80 (wrr 3:1:0 over rs1, rs2, rs3, 100 kB per request, 8 per
/// second) and a quiet one on VIP:81 (rs3, small pages, 2 per second): the batch frames
/// show the rates the client saw, the busy service and its busiest server first, and the
/// servers' shares in the scheduler's ratio.
#[test]
fn traffic_top_batch_frames_show_the_traffic_sent() {
    let _serial = serial();
    let lab = Lab::new("top", 85, Forwarding::Nat);
    let busy = lab.vip();
    let quiet = format!("10.{}.100.1:81", lab.net);
    lab.ipvsadm(&["-A", "-t", &busy, "-s", "wrr"]);
    for (i, weight) in [(1, "3"), (2, "1"), (3, "0")] {
        lab.ipvsadm(&["-a", "-t", &busy, "-r", &lab.rip(i), "-m", "-w", weight]);
        lab.topo.http_file(&lab.servers[i - 1], "big", BIG);
    }
    lab.ipvsadm(&["-A", "-t", &quiet, "-s", "rr"]);
    lab.ipvsadm(&["-a", "-t", &quiet, "-r", &lab.rip(3), "-m"]);

    let stop = Arc::new(AtomicBool::new(false));
    let every = Duration::from_millis(125);
    let busy_traffic = steady_traffic(
        lab.client.clone(),
        busy.parse().unwrap(),
        "big",
        every,
        stop.clone(),
    );
    let quiet_traffic = steady_traffic(
        lab.client.clone(),
        quiet.parse().unwrap(),
        "",
        Duration::from_millis(500),
        stop.clone(),
    );
    // Steady flow and a fold of the kernel's per-CPU counters (every 2 s) before the
    // first sample.
    thread::sleep(Duration::from_secs(3));
    let started = Instant::now();
    let out = run_with_timeout(
        Command::new("ip")
            .args(["netns", "exec", &lab.director])
            .arg(rsipvsadm_bin())
            .args(["top", "--batch", "--interval", "2", "--iterations", "5"]),
        None,
        Duration::from_secs(40),
    );
    let ended = Instant::now();
    stop.store(true, Ordering::SeqCst);
    let busy_done = busy_traffic.join().expect("busy traffic");
    quiet_traffic.join().expect("quiet traffic");
    let stdout = out.stdout_lossy();
    assert_eq!(out.exit, Exit::Code(0), "{stdout}{}", out.stderr_lossy());
    assert!(
        !stdout.contains('\x1b'),
        "no escape codes in batch mode:\n{stdout}"
    );

    // What the client saw while top ran (its first sample came one interval late).
    let window: Vec<usize> = busy_done
        .iter()
        .filter(|(at, _)| *at >= started && *at <= ended)
        .map(|(_, bytes)| *bytes)
        .collect();
    let seconds = ended.duration_since(started).as_secs_f64();
    let sent_conns = window.len() as f64 / seconds;
    let sent_bytes = window.iter().sum::<usize>() as f64 / seconds;
    assert!(
        sent_conns > 2.0,
        "the client managed only {sent_conns} requests/s"
    );

    let frames: Vec<&str> = stdout.split("\n\n").collect();
    assert_eq!(
        frames.len(),
        5,
        "five frames, a blank line apart:\n{stdout}"
    );
    let mut conns = Vec::new();
    let mut bytes = Vec::new();
    for frame in &frames {
        let header = frame.lines().next().unwrap();
        let measured: f64 = header
            .strip_prefix("rsipvsadm top - ")
            .and_then(|h| h.split_once(" - every 2s, rates over "))
            .and_then(|(_time, s)| s.strip_suffix('s')?.parse().ok())
            .unwrap_or_else(|| panic!("header line: {frame}"));
        assert!((1.5..2.5).contains(&measured), "{frame}");
        let lines = parse_frame(frame);
        let addrs: Vec<&str> = lines.iter().map(|l| l.addr.as_str()).collect();
        let service = &lines[0];
        conns.push(service.conns);
        bytes.push(service.bytes);
        assert_eq!(addrs[0], busy, "the busy service first:\n{frame}");
        if service.bytes == 0.0 {
            // A window between two folds of the counters: nothing to compare.
            continue;
        }
        assert_eq!(
            addrs[..5],
            [
                busy.as_str(),
                &lab.rip(1),
                &lab.rip(2),
                &lab.rip(3),
                quiet.as_str()
            ],
            "busiest first:\n{frame}"
        );
        let shares: Vec<f64> = lines[1..4]
            .iter()
            .map(|l| l.share.unwrap_or(-1.0))
            .collect();
        assert!(
            (62.0..=88.0).contains(&shares[0])
                && (12.0..=38.0).contains(&shares[1])
                && shares[2] == 0.0,
            "shares near wrr's 3:1:0, got {shares:?}:\n{frame}"
        );
        let dest_conns: f64 = lines[1..4].iter().map(|l| l.conns).sum();
        assert!(
            (dest_conns - service.conns).abs() <= 0.05 * service.conns + 0.01,
            "the servers' conn/s add up to the service's:\n{frame}"
        );
    }
    // Most windows hold one fold of the counters; a sample right at a fold can give one
    // window two and the next none: compare the median frame.
    let (conns, bytes) = (median(conns), median(bytes));
    assert!(
        (0.75 * sent_conns..=1.25 * sent_conns).contains(&conns),
        "conn/s {conns} against {sent_conns} sent:\n{stdout}"
    );
    // The counters count IP packets both ways: headers and ACKs on top of the bytes the
    // client received.
    assert!(
        (0.8 * sent_bytes..=1.4 * sent_bytes).contains(&bytes),
        "bytes/s {bytes} against {sent_bytes} received:\n{stdout}"
    );
}

/// `rsipvsadm top` in director namespace `ns`, its terminal a pseudo-terminal.
struct PtyTop {
    child: Child,
    master: OwnedFd,
    /// Kept open to read the terminal's settings after the program ends.
    slave: OwnedFd,
    output: Vec<u8>,
}

impl PtyTop {
    fn start(ns: &str, interval: &str, cols: u16, rows: u16) -> PtyTop {
        let size = Winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        let OpenptyResult { master, slave } = openpty(Some(&size), None).expect("openpty");
        let stdio = || Stdio::from(slave.try_clone().expect("dup"));
        let mut command = Command::new("ip");
        command
            .args(["netns", "exec", ns])
            .arg(rsipvsadm_bin())
            .args(["top", "--interval", interval])
            .stdin(stdio())
            .stdout(stdio())
            .stderr(stdio());
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            command.pre_exec(|| {
                // Its own session with the pty as controlling terminal: Ctrl-C and window
                // size changes reach it as on a real terminal.
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command.spawn().expect("cannot start rsipvsadm top");
        PtyTop {
            child,
            master,
            slave,
            output: Vec::new(),
        }
    }

    /// Reads the terminal until what came since `from` satisfies `done`; returns it.
    fn read_until(&mut self, from: usize, what: &str, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let text = String::from_utf8_lossy(&self.output[from..]).into_owned();
            if done(&text) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "{what} not seen within 10 s; the terminal showed:\n{text:?}"
            );
            self.read_some(Duration::from_millis(200));
        }
    }

    fn read_some(&mut self, wait: Duration) {
        let mut fds = [PollFd::new(self.master.as_fd(), PollFlags::POLLIN)];
        let millis = u16::try_from(wait.as_millis()).unwrap_or(u16::MAX);
        if poll(&mut fds, PollTimeout::from(millis)).unwrap_or(0) > 0 {
            let mut buffer = [0u8; 4096];
            // EIO once the program has ended and closed its side.
            if let Ok(n) = nix::unistd::read(self.master.as_fd(), &mut buffer) {
                self.output.extend_from_slice(&buffer[..n]);
            }
        }
    }

    fn send(&self, bytes: &[u8]) {
        nix::unistd::write(self.master.as_fd(), bytes).expect("write to the terminal");
    }

    fn resize(&self, cols: u16, rows: u16) {
        let size = libc::winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCSWINSZ reads the winsize it is given.
        let rc = unsafe { libc::ioctl(self.master.as_raw_fd(), libc::TIOCSWINSZ, &size) };
        assert_eq!(rc, 0, "TIOCSWINSZ");
    }

    /// Waits up to `limit` for the program to end; its exit status, and what it wrote
    /// last.
    fn exit_within(&mut self, limit: Duration) -> (Exit, String) {
        let from = self.output.len();
        let deadline = Instant::now() + limit;
        loop {
            self.read_some(Duration::from_millis(50));
            if let Some(status) = self.child.try_wait().expect("wait") {
                self.read_some(Duration::from_millis(200));
                let exit = match status.code() {
                    Some(code) => Exit::Code(code),
                    None => Exit::Signal(status.signal().unwrap_or(0)),
                };
                return (
                    exit,
                    String::from_utf8_lossy(&self.output[from..]).into_owned(),
                );
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("rsipvsadm top still running {limit:?} after the key");
            }
        }
    }

    /// The terminal reads lines and echoes again, as before the program ran.
    fn assert_terminal_restored(&self) {
        let settings = tcgetattr(self.slave.as_fd()).expect("tcgetattr");
        assert!(
            settings
                .local_flags
                .contains(LocalFlags::ICANON | LocalFlags::ECHO),
            "terminal left in {:?}",
            settings.local_flags
        );
    }
}

impl Drop for PtyTop {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const ALTERNATE_SCREEN: &str = "\x1b[?1049h";
const MAIN_SCREEN: &str = "\x1b[?1049l";

/// A director with one service and three real servers, for the live view.
fn pty_lab(test: &str, net: u8) -> (Topology, String, String) {
    let mut topo = Topology::new(test);
    let director = topo.add_director("d");
    let vip = format!("10.{net}.100.1:80");
    topo.ipvsadm(&director, &["-A", "-t", &vip, "-s", "rr"]);
    for i in 1..=3 {
        let rip = format!("10.{net}.{i}.2:80");
        topo.ipvsadm(&director, &["-a", "-t", &vip, "-r", &rip, "-m"]);
    }
    (topo, director, vip)
}

/// The live view on an 80x5 terminal: the alternate screen, the service line, the rows
/// that do not fit counted; taller, it redraws at once (SIGWINCH, long before the next
/// interval) with every row; `q` ends it at once with status 0, the main screen and the
/// terminal's settings back.
#[test]
fn traffic_top_live_view_on_a_terminal_quits_with_q() {
    let _serial = serial();
    let (_topo, director, vip) = pty_lab("toppty", 86);
    let mut top = PtyTop::start(&director, "30", 80, 5);
    let first = top.read_until(0, "the first frame", |t| t.contains("more rows hidden"));
    assert!(first.starts_with(ALTERNATE_SCREEN), "{first:?}");
    assert!(first.contains(&format!("TCP {vip}")), "{first:?}");
    assert!(first.contains("q quits"), "{first:?}");
    assert!(first.contains("... 3 more rows hidden"), "{first:?}");

    let from = top.output.len();
    top.resize(100, 24);
    let taller = top.read_until(from, "a redraw for 100x24", |t| {
        t.contains("-> 10.86.3.2:80")
    });
    assert!(!taller.contains("hidden"), "{taller:?}");

    let asked = Instant::now();
    top.send(b"q");
    let (exit, last) = top.exit_within(Duration::from_secs(5));
    assert_eq!(exit, Exit::Code(0), "{last:?}");
    assert!(
        asked.elapsed() < Duration::from_secs(3),
        "q took {:?}",
        asked.elapsed()
    );
    let all = String::from_utf8_lossy(&top.output).into_owned();
    assert!(all.trim_end().ends_with(MAIN_SCREEN), "{all:?}");
    top.assert_terminal_restored();
}

/// Ctrl-C in the live view (refreshing every second) ends it with 130, the terminal
/// restored as well.
#[test]
fn traffic_top_live_view_restores_the_terminal_on_ctrl_c() {
    let _serial = serial();
    let (_topo, director, vip) = pty_lab("topint", 87);
    let mut top = PtyTop::start(&director, "1", 80, 24);
    // The second frame has rates: the first is drawn at once, the second a second later.
    top.read_until(0, "a frame with rates", |t| t.contains("rates over 1."));
    assert!(
        String::from_utf8_lossy(&top.output).contains(&format!("TCP {vip}")),
        "service line"
    );
    top.send(b"\x03");
    let (exit, last) = top.exit_within(Duration::from_secs(5));
    assert_eq!(exit, Exit::Code(130), "{last:?}");
    let all = String::from_utf8_lossy(&top.output).into_owned();
    assert!(all.trim_end().ends_with(MAIN_SCREEN), "{all:?}");
    top.assert_terminal_restored();
}
