//! `metrics`: the IPVS table as Prometheus metrics (`output::metrics`), printed once for
//! node_exporter's textfile collector, or served over HTTP at `/metrics` with the kernel
//! read at each scrape.

use std::io::{self, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;

use clap::{Arg, ArgAction, ArgMatches, Command, ValueHint};
use nix::sys::signal::{SigSet, Signal};
use tiny_http::{Header, Method, Response, Server};

use super::connect;
use crate::cli::console::errln;
use crate::ipvs::Ipvs;
use crate::output::metrics::{CONTENT_TYPE, metrics_text};
use crate::output::sort_table;

/// Where the metrics are served; every other path is 404.
const PATH: &str = "/metrics";

/// `rsipvsadm metrics`.
pub fn command() -> Command {
    Command::new("metrics")
        .about("Print the table as Prometheus metrics, or serve them over HTTP")
        .long_about(
            "Print the IPVS table as Prometheus metrics (text format 0.0.4): per service \
             and per real server, connections, packets and bytes in and out as counters; \
             active, inactive and persistent connections and the weight as gauges. \
             Without --listen, print them once and exit: write them to a file for \
             node_exporter's textfile collector. With --listen, serve them at /metrics \
             until stopped (SIGTERM, SIGINT), reading the kernel at each scrape. Exit \
             status: 0 when done, 1 when the table could not be read or written, 2 when \
             the command line is bad, IPVS cannot be reached or the address cannot be \
             listened on.",
        )
        .arg(
            Arg::new("listen")
                .long("listen")
                .value_name("ADDR:PORT")
                .value_parser(parse_listen)
                .value_hint(ValueHint::Other)
                .help(
                    "Serve the metrics over HTTP at http://ADDR:PORT/metrics (an IP \
                     address: 127.0.0.1:9850, [::1]:9850; 0.0.0.0 or [::] for all)",
                ),
        )
        .arg(
            Arg::new("no-destinations")
                .long("no-destinations")
                .action(ArgAction::SetTrue)
                .help(
                    "Leave out the real servers' metrics (ipvs_backend_*): one series per \
                     service only, for tables with very many real servers",
                ),
        )
}

fn parse_listen(text: &str) -> Result<SocketAddr, String> {
    text.parse().map_err(|_| {
        "give an IP address and a port, such as 127.0.0.1:9850, 0.0.0.0:9850 (every IPv4 \
         address) or [::]:9850 (every address); host names are not looked up"
            .to_string()
    })
}

/// Runs `metrics`; returns the exit status.
pub fn run(name: &str, _program: &str, matches: &ArgMatches) -> i32 {
    let destinations = !matches.get_flag("no-destinations");
    match matches.get_one::<SocketAddr>("listen") {
        Some(addr) => listen(name, *addr, destinations),
        None => print_once(name, destinations),
    }
}

/// The metrics on stdout, once. A failed write is an error: a textfile collector must
/// not be handed half a file (`rsipvsadm metrics > f.tmp && mv f.tmp f.prom`).
fn print_once(name: &str, destinations: bool) -> i32 {
    let mut table = Table::new(match connect() {
        Ok(ipvs) => ipvs,
        Err(e) => {
            errln!("{name}: {e}");
            return 2;
        }
    });
    let text = match table.scrape(destinations) {
        Ok(text) => text,
        Err(e) => {
            errln!("{name}: {e}");
            return 1;
        }
    };
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => 0,
        Err(e) => {
            errln!("{name}: cannot write the metrics: {e}");
            1
        }
    }
}

/// The live table, read at each scrape over one socket, opened again after a failure.
struct Table {
    ipvs: Option<Ipvs>,
}

impl Table {
    fn new(ipvs: Ipvs) -> Self {
        Table { ipvs: Some(ipvs) }
    }

    fn scrape(&mut self, destinations: bool) -> Result<String, String> {
        let ipvs = match &mut self.ipvs {
            Some(ipvs) => ipvs,
            None => self.ipvs.insert(connect()?),
        };
        match ipvs.table() {
            Ok(mut table) => {
                // ipvsadm's order: a stable file, series found where -L lists them.
                sort_table(&mut table);
                Ok(metrics_text(&table, destinations))
            }
            Err(e) => {
                self.ipvs = None;
                Err(format!("cannot read the IPVS table: {e}"))
            }
        }
    }
}

/// `--listen`: serves until SIGTERM or SIGINT, then exits 0.
fn listen(name: &str, addr: SocketAddr, destinations: bool) -> i32 {
    let listener = match TcpListener::bind(addr) {
        Ok(listener) => listener,
        Err(e) => {
            errln!("{name}: {}", bind_error(addr, &e));
            return 2;
        }
    };
    let mut table = match connect() {
        Ok(ipvs) => Table::new(ipvs),
        Err(e) => {
            errln!("{name}: {e}");
            return 2;
        }
    };
    let bound = listener.local_addr().unwrap_or(addr);
    // Blocked before the server starts its threads, so that they inherit the mask and
    // only the waiting thread below receives them (and after connect(), whose modprobe
    // would inherit it too).
    let signals = SigSet::from_iter([Signal::SIGTERM, Signal::SIGINT]);
    if let Err(e) = signals.thread_block() {
        errln!("{name}: cannot block SIGTERM and SIGINT: {e}");
        return 2;
    }
    let server = match Server::from_listener(listener, None) {
        Ok(server) => Arc::new(server),
        Err(e) => {
            errln!("{name}: cannot serve on {bound}: {e}");
            return 2;
        }
    };
    let stop = Arc::new(AtomicBool::new(false));
    {
        let (server, stop) = (Arc::clone(&server), Arc::clone(&stop));
        thread::spawn(move || {
            if signals.wait().is_ok() {
                stop.store(true, Ordering::SeqCst);
                server.unblock();
            }
        });
    }
    errln!("{name}: serving http://{bound}{PATH}");
    serve(name, &server, &stop, |say| {
        table.scrape(destinations).inspect_err(|e| say(e))
    })
}

/// The bind error, with what to do about it.
fn bind_error(addr: SocketAddr, e: &io::Error) -> String {
    let fix = match e.kind() {
        io::ErrorKind::AddrInUse => format!(
            "another program listens there (ss -ltnp 'sport = :{}' shows which): stop it \
             or give another port",
            addr.port()
        ),
        io::ErrorKind::PermissionDenied => "ports below 1024 need root or \
            CAP_NET_BIND_SERVICE: run as root or give a port from 1024 up"
            .into(),
        io::ErrorKind::AddrNotAvailable => "no interface in this network namespace has \
            that address (ip address lists them): give one of those, or 0.0.0.0 or [::] \
            for all"
            .into(),
        _ => "check the address and the port".into(),
    };
    format!("cannot listen on {addr}: {e}; {fix}")
}

/// Answers requests until `stop` is set and the server unblocked (status 0), or until
/// the server can accept no more connections (status 1). Scrapes run one at a time;
/// each answer is written by a thread of its own, so that a client that reads slowly,
/// or went away without a word, holds up nobody else. `scrape` gives the metrics or why
/// not (and is handed a way to log that).
fn serve(
    name: &str,
    server: &Server,
    stop: &AtomicBool,
    mut scrape: impl FnMut(&dyn Fn(&str)) -> Result<String, String>,
) -> i32 {
    /// Answers being written at once; a scrape beyond them is told to come back.
    const MAX_WRITERS: usize = 16;
    let writers = Arc::new(AtomicUsize::new(0));
    let say = |text: &str| errln!("{name}: {text}");
    loop {
        let request = match server.recv() {
            Ok(request) => request,
            Err(_) if stop.load(Ordering::SeqCst) => return 0,
            Err(e) => {
                // tiny_http stops accepting after an accept error (out of descriptors,
                // say): end, so that a supervisor starts the exporter again.
                say(&format!(
                    "cannot accept connections any more: {e}; exiting (run it under a \
                     supervisor that restarts it, such as systemd's Restart=on-failure, \
                     and raise its descriptor limit if it ran out)"
                ));
                return 1;
            }
        };
        let busy = writers.load(Ordering::SeqCst) >= MAX_WRITERS;
        let (status, content_type, body) = if busy {
            (
                503,
                "text/plain; charset=utf-8",
                "too many answers being written at once: scrape again later\n".to_string(),
            )
        } else {
            answer(request.method(), request.url(), || scrape(&say))
        };
        let mut response = Response::from_string(body)
            .with_status_code(status)
            .with_header(header("Content-Type", content_type));
        if status == 405 {
            response.add_header(header("Allow", "GET, HEAD"));
        }
        writers.fetch_add(1, Ordering::SeqCst);
        let done = Arc::clone(&writers);
        thread::spawn(move || {
            // A client that went away before the answer is its own business.
            let _ = request.respond(response);
            done.fetch_sub(1, Ordering::SeqCst);
        });
    }
}

/// Status, media type and body for a request.
fn answer(
    method: &Method,
    url: &str,
    scrape: impl FnOnce() -> Result<String, String>,
) -> (u16, &'static str, String) {
    const TEXT: &str = "text/plain; charset=utf-8";
    // Prometheus may add scrape parameters (`params:` in its configuration): ignored.
    let path = url.split('?').next().unwrap_or(url);
    if path != PATH {
        return (404, TEXT, format!("not found: the metrics are at {PATH}\n"));
    }
    if !matches!(method, Method::Get | Method::Head) {
        return (405, TEXT, format!("{PATH} answers GET and HEAD only\n"));
    }
    match scrape() {
        Ok(text) => (200, CONTENT_TYPE, text),
        Err(e) => (500, TEXT, format!("{e}\n")),
    }
}

fn header(field: &str, value: &str) -> Header {
    Header::from_bytes(field.as_bytes(), value.as_bytes()).expect("ASCII header")
}

#[cfg(test)]
mod tests;
