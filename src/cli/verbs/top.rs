//! `top`: the live view. Samples the table every interval and draws a frame
//! (`output::top`): full screen on a terminal (alternate screen, keys read without
//! echo through termios), or frame after frame on stdout with `--batch`.

use std::io::{self, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::{Duration, Instant};

use clap::{Arg, ArgAction, ArgMatches, Command, ValueHint};
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, ppoll};
use nix::sys::signal::{
    SaFlags, SigAction, SigHandler, SigSet, SigmaskHow, Signal, pthread_sigmask, sigaction,
};
use nix::sys::termios::{self, LocalFlags, SetArg, SpecialCharacterIndices, Termios};
use nix::sys::time::TimeSpec;

use crate::cli::console::errln;
use crate::ipvs::Ipvs;
use crate::model::VirtualService;
use crate::output::sort_table;
use crate::output::top::{FrameHeader, Previous, render, rows};

const DEFAULT_INTERVAL: &str = "2";
/// A day: longer intervals are surely a typo.
const MAX_INTERVAL: f64 = 86_400.0;
const KEYS_HINT: &str = "q quits";

/// `rsipvsadm top`.
pub fn command() -> Command {
    Command::new("top")
        .about("Show services and real servers with their traffic, refreshed in place")
        .long_about(
            "Show each virtual service and its real servers with weight, active and \
             inactive connections, and connections, packets and bytes per second measured \
             from the kernel's 64-bit counters over each interval; each real server's \
             share of its service's bytes as a bar; busiest first. Full screen on a \
             terminal (q quits); with --batch, frames on standard output for logs and \
             pipes. The kernel adds its per-CPU counters up every 2 seconds, so the longer \
             the interval, the steadier the rates (at 2 seconds a frame may still hold \
             one step of the counters too many or too few).",
        )
        .arg(
            Arg::new("interval")
                .long("interval")
                .value_name("SECONDS")
                .default_value(DEFAULT_INTERVAL)
                // `--interval -1` says what is wrong with -1, not that it is no option.
                .allow_negative_numbers(true)
                .value_parser(parse_interval)
                .value_hint(ValueHint::Other)
                .help(
                    "Seconds between frames, more than 0 (fractions allowed: 0.5); rates \
                     are measured over the time that actually passed",
                ),
        )
        .arg(
            Arg::new("batch")
                .long("batch")
                .action(ArgAction::SetTrue)
                .help(
                    "Print frames one after another on standard output, without escape \
                     codes or a size limit, each starting with a header line that holds \
                     the time and the interval; every frame has rates (the first waits \
                     one interval)",
                ),
        )
        .arg(
            Arg::new("iterations")
                .long("iterations")
                .value_name("N")
                .value_parser(clap::value_parser!(u64).range(1..))
                .value_hint(ValueHint::Other)
                .help("Stop after N frames (default: until q, or forever in batch mode)"),
        )
}

fn parse_interval(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("'{text}' is not a number of seconds (e.g. 2 or 0.5)"))?;
    if !(seconds > 0.0 && seconds <= MAX_INTERVAL) {
        return Err(format!(
            "the interval must be more than 0 and at most {MAX_INTERVAL} seconds"
        ));
    }
    Ok(Duration::from_secs_f64(seconds))
}

struct Options {
    interval: Duration,
    iterations: Option<u64>,
}

/// Runs `top`; returns the exit status.
pub fn run(name: &str, _program: &str, matches: &ArgMatches) -> i32 {
    let options = Options {
        interval: matches
            .get_one::<Duration>("interval")
            .copied()
            .unwrap_or(Duration::from_secs(2)),
        iterations: matches.get_one::<u64>("iterations").copied(),
    };
    let batch = matches.get_flag("batch");
    let on_terminal = is_terminal(io::stdin().as_fd()) && is_terminal(io::stdout().as_fd());
    if !batch && !on_terminal {
        errln!(
            "{name}: standard input and output must be a terminal for the live view; \
             use --batch (with --iterations N) for logs and pipes"
        );
        return 2;
    }
    let mut ipvs = match super::connect() {
        Ok(ipvs) => ipvs,
        Err(e) => {
            errln!("{name}: {e}");
            return 2;
        }
    };
    let result = if batch {
        run_batch(&mut ipvs, &options)
    } else {
        run_screen(&mut ipvs, &options)
    };
    match result {
        Ok(status) => status,
        Err(e) => {
            errln!("{name}: {e}");
            1
        }
    }
}

fn is_terminal(fd: BorrowedFd<'_>) -> bool {
    std::io::IsTerminal::is_terminal(&fd)
}

/// One reading of the table, in ipvsadm's order (the order ties keep).
struct Sample {
    table: Vec<VirtualService>,
    at: Instant,
    /// Wall-clock time, for the header.
    time: libc::time_t,
}

fn sample(ipvs: &mut Ipvs) -> Result<Sample, String> {
    let mut table = ipvs
        .table()
        .map_err(|e| format!("cannot read the IPVS table: {e}"))?;
    sort_table(&mut table);
    Ok(Sample {
        table,
        at: Instant::now(),
        // SAFETY: time(NULL) only returns the current time.
        time: unsafe { libc::time(std::ptr::null_mut()) },
    })
}

/// The frame's lines for `now`, with rates since `before` if there is one.
fn frame(
    now: &Sample,
    before: Option<&Sample>,
    interval: Duration,
    time_format: &str,
    hint: Option<&str>,
    size: Option<(usize, usize)>,
) -> Vec<String> {
    let previous = before.map(|b| Previous {
        table: &b.table,
        seconds: now.at.duration_since(b.at).as_secs_f64().max(1e-3),
    });
    let rows = rows(&now.table, previous.as_ref());
    let time = local_time(now.time, time_format);
    let header = FrameHeader {
        time: &time,
        interval,
        measured: previous.as_ref().map(|p| p.seconds),
        hint,
    };
    render(&rows, &header, size.map(|s| s.0), size.map(|s| s.1))
}

/// The frame after the one due at `due`: an interval later, without drifting; or an
/// interval from now if reading the table took longer than that.
fn next_frame(due: Instant, interval: Duration) -> Instant {
    let next = due + interval;
    let now = Instant::now();
    if next < now { now + interval } else { next }
}

/// `--batch`: a first sample, then a frame every interval. Every frame has rates.
fn run_batch(ipvs: &mut Ipvs, options: &Options) -> Result<i32, String> {
    let mut before = sample(ipvs)?;
    let mut next = before.at + options.interval;
    let mut out = io::stdout().lock();
    let mut printed = 0u64;
    while options.iterations.is_none_or(|n| printed < n) {
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
        let now = sample(ipvs)?;
        next = next_frame(next, options.interval);
        let lines = frame(
            &now,
            Some(&before),
            options.interval,
            "%Y-%m-%d %H:%M:%S",
            None,
            None,
        );
        let mut text = String::new();
        if printed > 0 {
            text.push('\n');
        }
        for line in lines {
            text.push_str(&line);
            text.push('\n');
        }
        out.write_all(text.as_bytes())
            .and_then(|()| out.flush())
            .map_err(|e| format!("cannot write to standard output: {e}"))?;
        printed += 1;
        before = now;
    }
    Ok(0)
}

/// Set by the signal handlers: the signal that asks to stop, and whether the window
/// changed size.
static STOP_SIGNAL: AtomicI32 = AtomicI32::new(0);
static RESIZED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_stop(signal: libc::c_int) {
    STOP_SIGNAL.store(signal, Ordering::SeqCst);
}

extern "C" fn on_resize(_: libc::c_int) {
    RESIZED.store(true, Ordering::SeqCst);
}

/// The terminal as `top` leaves it: the saved settings, the main screen and the cursor
/// restored when this is dropped, on every way out of the live view (q, a signal, an
/// error, even a panic's unwinding).
struct Screen {
    saved: Termios,
}

const ENTER: &[u8] = b"\x1b[?1049h\x1b[?25l\x1b[H\x1b[2J";
const LEAVE: &[u8] = b"\x1b[?25h\x1b[?1049l";

impl Screen {
    fn enter() -> Result<Screen, String> {
        let stdin = io::stdin();
        let saved = termios::tcgetattr(stdin.as_fd())
            .map_err(|e| format!("cannot read the terminal's settings: {e}"))?;
        let mut keys = saved.clone();
        // Keys one at a time, not echoed; Ctrl-C still sends SIGINT (handled below).
        keys.local_flags
            .remove(LocalFlags::ICANON | LocalFlags::ECHO);
        keys.control_chars[SpecialCharacterIndices::VMIN as usize] = 1;
        keys.control_chars[SpecialCharacterIndices::VTIME as usize] = 0;
        // No Ctrl-Z: stopped, the program would leave the shell on the alternate screen.
        keys.control_chars[SpecialCharacterIndices::VSUSP as usize] = 0;
        termios::tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &keys)
            .map_err(|e| format!("cannot set the terminal up: {e}"))?;
        let screen = Screen { saved };
        write_screen(ENTER).map_err(|e| format!("cannot write to the terminal: {e}"))?;
        Ok(screen)
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        // Nothing more can be done if the terminal is gone; the process ends next.
        let _ = write_screen(LEAVE);
        let _ = termios::tcsetattr(io::stdin().as_fd(), SetArg::TCSANOW, &self.saved);
    }
}

fn write_screen(bytes: &[u8]) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(bytes)?;
    out.flush()
}

/// Catches the signals that would end the program with the terminal left in the live
/// view's state, and the window's size changes. They are blocked but while [`wait`]
/// waits (`ppoll` unblocks them as it starts to wait): one that came between a look at
/// the flags and the wait would otherwise be seen only when the wait ends, an interval
/// later.
fn catch_signals() -> Result<(), String> {
    let stop = SigAction::new(
        SigHandler::Handler(on_stop),
        SaFlags::empty(),
        SigSet::empty(),
    );
    let resize = SigAction::new(
        SigHandler::Handler(on_resize),
        SaFlags::empty(),
        SigSet::empty(),
    );
    let mut caught = SigSet::empty();
    for (signal, action) in [
        (Signal::SIGINT, &stop),
        (Signal::SIGTERM, &stop),
        (Signal::SIGHUP, &stop),
        (Signal::SIGQUIT, &stop),
        (Signal::SIGWINCH, &resize),
    ] {
        // SAFETY: the handlers only store to atomics, which is async-signal-safe.
        unsafe { sigaction(signal, action) }.map_err(|e| format!("cannot handle {signal}: {e}"))?;
        caught.add(signal);
    }
    pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&caught), None)
        .map_err(|e| format!("cannot block signals: {e}"))
}

nix::ioctl_read_bad!(window_size, libc::TIOCGWINSZ, libc::winsize);

/// The terminal's columns and rows; 80x24 if it does not say.
fn terminal_size() -> (usize, usize) {
    let mut size = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ fills the winsize it is given, which lives until the call returns.
    let known = unsafe { window_size(libc::STDOUT_FILENO, &mut size) }.is_ok();
    if known && size.ws_col > 0 && size.ws_row > 0 {
        (usize::from(size.ws_col), usize::from(size.ws_row))
    } else {
        (80, 24)
    }
}

/// What a wait for the next frame ended with.
enum Wake {
    Tick,
    Quit,
    Stop(i32),
    Resized,
}

/// The live view: the first frame at once (rates shown as `-`), then one per interval.
fn run_screen(ipvs: &mut Ipvs, options: &Options) -> Result<i32, String> {
    catch_signals()?;
    let screen = Screen::enter()?;
    let mut before: Option<Sample> = None;
    let mut now = sample(ipvs)?;
    let mut next = now.at + options.interval;
    let mut drawn = 0u64;
    let status = loop {
        draw(&frame(
            &now,
            before.as_ref(),
            options.interval,
            "%H:%M:%S",
            Some(KEYS_HINT),
            Some(terminal_size()),
        ))?;
        drawn += 1;
        if options.iterations.is_some_and(|n| drawn >= n) {
            break 0;
        }
        match wait(next)? {
            Wake::Quit => break 0,
            Wake::Stop(signal) => break 128 + signal,
            Wake::Resized => continue,
            Wake::Tick => {}
        }
        before = Some(std::mem::replace(&mut now, sample(ipvs)?));
        next = next_frame(next, options.interval);
    };
    drop(screen);
    Ok(status)
}

/// Draws `lines` from the top left, each cleared to its end, and clears what is below.
fn draw(lines: &[String]) -> Result<(), String> {
    let mut text = Vec::from(&b"\x1b[H"[..]);
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            text.extend_from_slice(b"\r\n");
        }
        text.extend_from_slice(line.as_bytes());
        text.extend_from_slice(b"\x1b[K");
    }
    text.extend_from_slice(b"\x1b[J");
    write_screen(&text).map_err(|e| format!("cannot write to the terminal: {e}"))
}

/// Waits until `deadline`, a key that quits, a stop signal or a size change.
fn wait(deadline: Instant) -> Result<Wake, String> {
    let stdin = io::stdin();
    loop {
        let signal = STOP_SIGNAL.load(Ordering::SeqCst);
        if signal != 0 {
            return Ok(Wake::Stop(signal));
        }
        if RESIZED.swap(false, Ordering::SeqCst) {
            return Ok(Wake::Resized);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(Wake::Tick);
        }
        let mut fds = [PollFd::new(stdin.as_fd(), PollFlags::POLLIN)];
        // Every signal unblocked while waiting, and only then (see `catch_signals`).
        match ppoll(
            &mut fds,
            Some(TimeSpec::from_duration(left)),
            Some(SigSet::empty()),
        ) {
            Ok(0) | Err(Errno::EINTR) => continue,
            Ok(_) => {
                let mut keys = [0u8; 64];
                match nix::unistd::read(stdin.as_fd(), &mut keys) {
                    // The terminal hung up: nobody is watching any more.
                    Ok(0) => return Ok(Wake::Quit),
                    Ok(n) if keys[..n].iter().any(|k| matches!(k, b'q' | b'Q')) => {
                        return Ok(Wake::Quit);
                    }
                    Ok(_) | Err(Errno::EINTR) | Err(Errno::EAGAIN) => continue,
                    Err(e) => return Err(format!("cannot read the terminal: {e}")),
                }
            }
            Err(e) => return Err(format!("cannot wait for the terminal: {e}")),
        }
    }
}

/// `time` as local time in strftime's `format`.
fn local_time(time: libc::time_t, format: &str) -> String {
    let format = std::ffi::CString::new(format).unwrap_or_default();
    // SAFETY: tm is plain data that localtime_r fills; strftime writes at most the
    // buffer's length and returns how many bytes it wrote.
    unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&time, &mut tm).is_null() {
            return time.to_string();
        }
        let mut buffer = [0u8; 64];
        let n = libc::strftime(
            buffer.as_mut_ptr().cast(),
            buffer.len(),
            format.as_ptr(),
            &tm,
        );
        String::from_utf8_lossy(&buffer[..n]).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<ArgMatches, clap::Error> {
        command().try_get_matches_from([&["top"][..], args].concat())
    }

    #[test]
    fn the_options() {
        let m = parse(&["--interval", "0.5", "--batch", "--iterations", "3"]).unwrap();
        assert_eq!(
            m.get_one::<Duration>("interval"),
            Some(&Duration::from_millis(500))
        );
        assert!(m.get_flag("batch"));
        assert_eq!(m.get_one::<u64>("iterations"), Some(&3));
        let m = parse(&[]).unwrap();
        assert_eq!(
            m.get_one::<Duration>("interval"),
            Some(&Duration::from_secs(2))
        );
        assert_eq!(m.get_one::<u64>("iterations"), None);
    }

    #[test]
    fn bad_intervals_and_counts_are_usage_errors() {
        for args in [
            &["--interval", "0"][..],
            &["--interval", "-1"],
            &["--interval=-1"],
            &["--interval", "soon"],
            &["--interval", "nan"],
            &["--interval", "inf"],
            &["--interval", "1e9"],
            &["--interval", ""],
            &["--iterations", "0"],
            &["--iterations", "-3"],
            &["extra"],
        ] {
            let e = parse(args).expect_err("refused");
            assert_eq!(e.exit_code(), 2, "{args:?}");
        }
        let e = parse(&["--interval", "soon"]).err().unwrap();
        assert!(e.to_string().contains("not a number of seconds"), "{e}");
    }

    #[test]
    fn local_time_formats() {
        let text = local_time(0, "%Y-%m-%d");
        assert!(
            text.starts_with("1970-01-01") || text.starts_with("1969-12-31"),
            "{text}"
        );
    }
}
