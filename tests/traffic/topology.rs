//! Building blocks: named network namespaces joined by veth pairs ([`Topology`]), code
//! run inside one of them ([`in_ns`]), an HTTP client, and the usual one-director lab
//! ([`Lab`]): a client, a director holding the VIP and three real servers.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::common::{Exit, RunOutput, rsipvsadm_bin, run_with_timeout};

/// Limit for any single command the tests run.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(20);
/// Limit for connecting to, and for each read from, a server.
pub const IO_TIMEOUT: Duration = Duration::from_secs(3);

/// Runs `f` on a new thread that has joined the named network namespace `ns` and returns
/// its result (re-raising its panic). Sockets it creates stay in that namespace, so a
/// stream or listener can be returned and used from anywhere.
pub fn in_ns<T: Send>(ns: &str, f: impl FnOnce() -> T + Send) -> T {
    let path = format!("/run/netns/{ns}");
    thread::scope(|scope| {
        let handle = scope.spawn(|| {
            let file = File::open(&path).unwrap_or_else(|e| panic!("cannot open {path}: {e}"));
            nix::sched::setns(&file, nix::sched::CloneFlags::CLONE_NEWNET)
                .unwrap_or_else(|e| panic!("setns({path}) failed: {e}"));
            f()
        });
        handle
            .join()
            .unwrap_or_else(|payload| std::panic::resume_unwind(payload))
    })
}

/// Runs `cmd` under [`COMMAND_TIMEOUT`] and returns its stdout; panics with its output
/// unless it exits with status 0.
pub fn run_ok(cmd: &mut Command, stdin: Option<&[u8]>) -> String {
    let what = format!("{cmd:?}");
    let out = run_with_timeout(cmd, stdin, COMMAND_TIMEOUT);
    check(&what, &out);
    out.stdout_lossy()
}

fn check(what: &str, out: &RunOutput) {
    if out.exit != Exit::Code(0) {
        panic!(
            "{what} failed ({}):\nstdout: {}\nstderr: {}",
            out.exit,
            out.stdout_lossy(),
            out.stderr_lossy()
        );
    }
}

/// Polls `probe` every 100 ms until it returns `Some` or `limit` has passed; then panics
/// with `what` and the last state `describe` returns.
pub fn poll<T>(
    limit: Duration,
    what: &str,
    mut probe: impl FnMut() -> Option<T>,
    describe: impl Fn() -> String,
) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = probe() {
            return value;
        }
        if Instant::now() >= deadline {
            panic!(
                "{what} not seen within {limit:?}; last state:\n{}",
                describe()
            );
        }
        thread::sleep(Duration::from_millis(100));
    }
}

/// Namespaces named `tr-<test>-<role>`, the processes started in them and the IPVS
/// tables set up in them; all removed when it is dropped, also after a panic.
pub struct Topology {
    test: String,
    namespaces: Vec<String>,
    processes: Vec<Child>,
    /// Namespaces whose IPVS table (and sync daemons) to clear at the end.
    directors: Vec<String>,
    files: PathBuf,
}

impl Topology {
    pub fn new(test: &str) -> Self {
        let files = std::env::temp_dir().join(format!("rsipvsadm-traffic-{test}"));
        let _ = fs::remove_dir_all(&files);
        fs::create_dir_all(&files).expect("cannot create the test's directory");
        Topology {
            test: test.to_string(),
            namespaces: Vec::new(),
            processes: Vec::new(),
            directors: Vec::new(),
            files,
        }
    }

    /// Creates the namespace for `role` with `lo` up and forwarding on; returns its name.
    pub fn add_ns(&mut self, role: &str) -> String {
        let name = format!("tr-{}-{role}", self.test);
        // A leftover of an earlier, interrupted run would make "add" fail.
        let _ = run_with_timeout(
            Command::new("ip").args(["netns", "del", &name]),
            None,
            COMMAND_TIMEOUT,
        );
        run_ok(Command::new("ip").args(["netns", "add", &name]), None);
        self.namespaces.push(name.clone());
        self.ip(&name, "link set lo up");
        self.sysctl(&name, &[("net/ipv4/ip_forward", "1")]);
        name
    }

    /// Creates a director namespace: like [`add_ns`](Self::add_ns), and its IPVS table
    /// and sync daemons are cleared at the end.
    pub fn add_director(&mut self, role: &str) -> String {
        let name = self.add_ns(role);
        self.directors.push(name.clone());
        name
    }

    /// Runs `ip -batch -` with `script` in `ns`.
    pub fn ip(&self, ns: &str, script: &str) {
        run_ok(
            Command::new("ip").args(["-n", ns, "-batch", "-"]),
            Some(format!("{script}\n").as_bytes()),
        );
    }

    /// A veth pair: `a_if` in `a` with `a_addr`, `b_if` in `b` with `b_addr`, both up.
    pub fn link(&self, a: &str, a_if: &str, a_addr: &str, b: &str, b_if: &str, b_addr: &str) {
        run_ok(
            Command::new("ip").args([
                "-n", a, "link", "add", a_if, "type", "veth", "peer", "name", b_if, "netns", b,
            ]),
            None,
        );
        self.ip(
            a,
            &format!("addr add {a_addr} dev {a_if}\nlink set {a_if} up"),
        );
        self.ip(
            b,
            &format!("addr add {b_addr} dev {b_if}\nlink set {b_if} up"),
        );
    }

    /// Writes `value` to each `/proc/sys/<key>` of `ns` (e.g. `net/ipv4/ip_forward`).
    pub fn sysctl(&self, ns: &str, settings: &[(&str, &str)]) {
        let script: String = settings
            .iter()
            .map(|(key, value)| format!("echo {value} > /proc/sys/{key} && "))
            .chain(["true".to_string()])
            .collect();
        self.exec(ns, &["sh", "-c", &script]);
    }

    /// Runs a program in `ns`; returns its stdout, panics if it fails.
    pub fn exec(&self, ns: &str, args: &[&str]) -> String {
        run_ok(
            Command::new("ip").args(["netns", "exec", ns]).args(args),
            None,
        )
    }

    /// Runs rsipvsadm with `args` in `ns`; returns its stdout, panics if it fails.
    pub fn ipvsadm(&self, ns: &str, args: &[&str]) -> String {
        run_ok(
            Command::new("ip")
                .args(["netns", "exec", ns])
                .arg(rsipvsadm_bin())
                .args(args),
            None,
        )
    }

    /// Starts busybox httpd on port 80 of `ns` (every address: Debian's busybox ignores
    /// an address in `-p`), answering every `GET /` with `answer`, and waits until it
    /// accepts connections on `probe` (`IP:80`).
    pub fn httpd(&mut self, ns: &str, probe: &str, answer: &str) {
        let root = self.files.join(ns);
        fs::create_dir_all(&root).expect("cannot create the httpd directory");
        fs::write(root.join("index.html"), format!("{answer}\n")).expect("cannot write index");
        let child = Command::new("ip")
            .args([
                "netns", "exec", ns, "busybox", "httpd", "-f", "-p", "80", "-h",
            ])
            .arg(&root)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start busybox httpd");
        self.processes.push(child);
        let local: SocketAddr = probe.parse().expect("httpd address");
        poll(
            Duration::from_secs(10),
            &format!("httpd listening on {probe} in {ns}"),
            || in_ns(ns, || TcpStream::connect_timeout(&local, IO_TIMEOUT).ok()),
            String::new,
        );
    }

    /// Serves a file `name` of `size` bytes from the httpd of `ns` (after [`httpd`]).
    ///
    /// [`httpd`]: Self::httpd
    pub fn http_file(&self, ns: &str, name: &str, size: usize) {
        fs::write(self.files.join(ns).join(name), vec![b'x'; size]).expect("cannot write file");
    }
}

impl Drop for Topology {
    fn drop(&mut self) {
        for child in &mut self.processes {
            let _ = child.kill();
            let _ = child.wait();
        }
        for ns in &self.directors {
            for args in [
                &["--stop-daemon", "master"][..],
                &["--stop-daemon", "backup"],
                &["-C"],
            ] {
                let _ = run_with_timeout(
                    Command::new("ip")
                        .args(["netns", "exec", ns])
                        .arg(rsipvsadm_bin())
                        .args(args),
                    None,
                    COMMAND_TIMEOUT,
                );
            }
        }
        for ns in &self.namespaces {
            let _ = run_with_timeout(
                Command::new("ip").args(["netns", "del", ns]),
                None,
                COMMAND_TIMEOUT,
            );
        }
        let _ = fs::remove_dir_all(&self.files);
    }
}

/// One `GET /` over a new TCP connection (from the calling thread's namespace); returns
/// the body, trimmed.
pub fn http_get(addr: SocketAddr) -> Result<String, String> {
    let mut stream =
        TcpStream::connect_timeout(&addr, IO_TIMEOUT).map_err(|e| format!("connect: {e}"))?;
    stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    stream
        .write_all(b"GET / HTTP/1.0\r\nHost: vip\r\n\r\n")
        .map_err(|e| format!("send: {e}"))?;
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .map_err(|e| format!("receive: {e}"))?;
    let response = String::from_utf8_lossy(&response);
    let (head, body) = response
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("not an HTTP response: {response:?}"))?;
    if !head.starts_with("HTTP/1.") || !head.contains(" 200 ") {
        return Err(format!("unexpected response: {head:?}"));
    }
    Ok(body.trim().to_string())
}

/// `n` sequential `GET /` to `addr` from namespace `client`, each on a new connection;
/// returns how many answers each server gave. Panics if any request fails.
pub fn fetch_counts(client: &str, addr: SocketAddr, n: usize) -> BTreeMap<String, usize> {
    let answers: Vec<Result<String, String>> =
        in_ns(client, || (0..n).map(|_| http_get(addr)).collect());
    let mut counts = BTreeMap::new();
    let mut failures = Vec::new();
    for (i, answer) in answers.into_iter().enumerate() {
        match answer {
            Ok(name) => *counts.entry(name).or_insert(0) += 1,
            Err(e) => failures.push(format!("request {}: {e}", i + 1)),
        }
    }
    if let Some(first) = failures.first() {
        panic!(
            "{} of {n} requests to {addr} failed, the first: {first}; answers: {counts:?}",
            failures.len()
        );
    }
    counts
}

/// `[(name, count)]` as the map [`fetch_counts`] returns, leaving out zero counts.
pub fn counts(expected: &[(&str, usize)]) -> BTreeMap<String, usize> {
    expected
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(name, n)| (name.to_string(), *n))
        .collect()
}

/// How the director forwards to the real servers; decides how they are set up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Forwarding {
    /// Masquerading (-m): the real servers route back through the director.
    Nat,
    /// Direct routing (-g): the real servers hold the VIP on lo.
    Dr,
    /// IP-in-IP tunnel (-i): VIP on lo, tunl0 up.
    Ipip,
    /// GRE tunnel (-i --tun-type gre): VIP on lo, gre0 up.
    Gre,
    /// GUE tunnel (-i --tun-type gue --tun-port 6080): VIP on lo, fou port 6080, tunl0.
    Gue,
}

pub const GUE_PORT: u16 = 6080;

/// A client, a director holding the VIP and three real servers (answering `rs1`, `rs2`,
/// `rs3`), on the private range `10.<net>.0.0/16`:
///
/// ```text
///   client 10.N.0.2 --- 10.N.0.1 director (VIP 10.N.100.1) 10.N.i.1 --- 10.N.i.2 rs<i>
/// ```
///
/// The real servers' default route is the director. The IPVS table starts empty.
pub struct Lab {
    pub topo: Topology,
    pub client: String,
    pub director: String,
    /// The real servers' namespaces, in the order of [`SERVERS`].
    pub servers: Vec<String>,
    pub net: u8,
}

pub const SERVERS: [&str; 3] = ["rs1", "rs2", "rs3"];

impl Lab {
    pub fn new(test: &str, net: u8, forwarding: Forwarding) -> Self {
        let mut topo = Topology::new(test);
        let mut servers = Vec::new();
        let client = topo.add_ns("c");
        let director = topo.add_director("d");
        topo.link(
            &director,
            "c0",
            &format!("10.{net}.0.1/24"),
            &client,
            "eth0",
            &format!("10.{net}.0.2/24"),
        );
        topo.ip(&client, &format!("route add default via 10.{net}.0.1"));
        topo.ip(&director, &format!("addr add 10.{net}.100.1/32 dev lo"));
        // Replies from the VIP (direct routing, tunnels) come back through the director:
        // accept a source address that is local here.
        topo.sysctl(
            &director,
            &[
                ("net/ipv4/conf/all/accept_local", "1"),
                ("net/ipv4/conf/all/rp_filter", "0"),
                ("net/ipv4/conf/default/rp_filter", "0"),
            ],
        );
        for (i, name) in SERVERS.iter().enumerate() {
            let i = i + 1;
            let rs = topo.add_ns(name);
            servers.push(rs.clone());
            topo.link(
                &director,
                &format!("r{i}"),
                &format!("10.{net}.{i}.1/24"),
                &rs,
                "eth0",
                &format!("10.{net}.{i}.2/24"),
            );
            topo.ip(&rs, &format!("route add default via 10.{net}.{i}.1"));
            setup_real_server(&topo, &rs, net, forwarding);
            topo.httpd(&rs, &format!("10.{net}.{i}.2:80"), name);
        }
        Lab {
            topo,
            client,
            director,
            servers,
            net,
        }
    }

    /// A NAT lab with the service on the VIP (scheduler and options `service_opts`) and
    /// the three real servers with the given weights.
    pub fn nat(test: &str, net: u8, service_opts: &[&str], weights: [u32; 3]) -> Lab {
        let lab = Lab::new(test, net, Forwarding::Nat);
        let vip = lab.vip();
        lab.ipvsadm(&[&["-A", "-t", &vip][..], service_opts].concat());
        for (i, weight) in weights.iter().enumerate() {
            let rip = lab.rip(i + 1);
            lab.ipvsadm(&[
                "-a",
                "-t",
                &vip,
                "-r",
                &rip,
                "-m",
                "-w",
                &weight.to_string(),
            ]);
        }
        lab
    }

    pub fn vip(&self) -> String {
        format!("10.{}.100.1:80", self.net)
    }

    /// The client's address.
    pub fn client_addr(&self) -> String {
        format!("10.{}.0.2", self.net)
    }

    /// Address of real server `i` (1-based), with port 80.
    pub fn rip(&self, i: usize) -> String {
        format!("10.{}.{i}.2:80", self.net)
    }

    /// rsipvsadm in the director.
    pub fn ipvsadm(&self, args: &[&str]) -> String {
        self.topo.ipvsadm(&self.director, args)
    }

    /// `n` requests from the client to the VIP, counted per answering server.
    pub fn fetch(&self, n: usize) -> BTreeMap<String, usize> {
        fetch_counts(&self.client, self.vip().parse().unwrap(), n)
    }
}

impl Forwarding {
    /// The real servers' device that decapsulates this tunnel type (none: not a tunnel).
    pub fn tunnel_device(self) -> Option<&'static str> {
        match self {
            Forwarding::Nat | Forwarding::Dr => None,
            Forwarding::Ipip | Forwarding::Gue => Some("tunl0"),
            Forwarding::Gre => Some("gre0"),
        }
    }
}

/// Real-server side of `forwarding`: the VIP on lo (not answered by ARP), the tunnel
/// device that decapsulates up (the others stay down and drop what they get),
/// reverse-path filtering off.
fn setup_real_server(topo: &Topology, rs: &str, net: u8, forwarding: Forwarding) {
    if forwarding == Forwarding::Nat {
        return;
    }
    topo.sysctl(
        rs,
        &[
            ("net/ipv4/conf/all/arp_ignore", "1"),
            ("net/ipv4/conf/all/arp_announce", "2"),
            ("net/ipv4/conf/all/rp_filter", "0"),
            ("net/ipv4/conf/default/rp_filter", "0"),
        ],
    );
    topo.ip(rs, &format!("addr add 10.{net}.100.1/32 dev lo"));
    let Some(tunnel) = forwarding.tunnel_device() else {
        return;
    };
    if forwarding == Forwarding::Gue {
        topo.ip(rs, &format!("fou add port {GUE_PORT} gue"));
    }
    topo.ip(rs, &format!("link set {tunnel} up"));
    topo.sysctl(rs, &[(&format!("net/ipv4/conf/{tunnel}/rp_filter"), "0")]);
}

/// The `-Ln --stats --exact` counters of one line (service or real server): the columns
/// after the address, or `None` if no line is about `addr`.
pub fn stats_of(listing: &str, addr: &str) -> Option<Vec<u64>> {
    listing.lines().find_map(|line| {
        let mut fields = line.split_whitespace();
        let first = fields.next()?;
        let second = fields.next()?;
        if (first == "TCP" || first == "->") && second == addr {
            fields.map(|f| f.parse().ok()).collect()
        } else {
            None
        }
    })
}

/// Lines of a `-Lnc` listing about connections to `dest` (the destination column).
pub fn conns_to<'a>(listing: &'a str, dest: &str) -> Vec<&'a str> {
    listing
        .lines()
        .filter(|line| line.split_whitespace().nth(5) == Some(dest))
        .collect()
}
