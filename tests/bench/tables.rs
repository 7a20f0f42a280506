//! The tables measured: their rule files (exactly the tables the probe loads), and how a
//! table in the kernel is compared with its rule file.

use std::fmt::Write as _;
use std::io::Read;

/// A table of `services` TCP services (and `fwmarks` firewall-mark services) with `dests`
/// NAT real servers each.
#[derive(Clone, Copy)]
pub struct Table {
    pub services: usize,
    pub fwmarks: usize,
    pub dests: usize,
}

impl Table {
    pub const fn tcp(services: usize, dests: usize) -> Table {
        Table {
            services,
            fwmarks: 0,
            dests,
        }
    }

    pub fn label(&self) -> String {
        if self.fwmarks == 0 {
            format!("{}x{}", self.services, self.dests)
        } else {
            format!("{}+{}fwmx{}", self.services, self.fwmarks, self.dests)
        }
    }

    /// Services of both kinds.
    pub fn total_services(&self) -> usize {
        self.services + self.fwmarks
    }

    /// The rule file, in ipvsadm's `-S -n` format, of the very table `genl-batch
    /// SERVICES DESTS` loads: service i (from 0) is TCP 10.0.0.0 + i + 1, port 80, wlc;
    /// its real server j (from 1) is 172.16.j.(i % 250 + 1):8080, NAT, weight j (in
    /// 172.16.0.0/12, routable on the namespaces' `rs0`). Firewall-mark service k (from
    /// 1) has the real servers of TCP service k - 1.
    pub fn rules(&self) -> String {
        let mut out = String::new();
        for i in 0..self.services {
            self.write_service(&mut out, &format!("-t {}:80", vip(i)), i);
        }
        for k in 1..=self.fwmarks {
            self.write_service(&mut out, &format!("-f {k}"), k - 1);
        }
        out
    }

    fn write_service(&self, out: &mut String, key: &str, i: usize) {
        writeln!(out, "-A {key} -s wlc").expect("write to a String");
        for j in 1..=self.dests {
            writeln!(out, "-a {key} -r {} -m -w {j}", rip(i, j)).expect("write to a String");
        }
    }

    /// The probe's arguments that load this table (TCP services only), 256 requests per
    /// sendmsg.
    pub fn probe_load_args(&self) -> [String; 3] {
        assert_eq!(self.fwmarks, 0, "the probe loads TCP services only");
        [
            self.services.to_string(),
            self.dests.to_string(),
            "256".to_string(),
        ]
    }

    /// What the probe's listing prints for this table.
    pub fn probe_list_summary(&self) -> String {
        let services = self.total_services();
        format!("services {services} dests {}\n", services * self.dests)
    }
}

fn vip(i: usize) -> String {
    let a = 0x0a00_0000u32 + i as u32 + 1;
    std::net::Ipv4Addr::from(a).to_string()
}

fn rip(i: usize, j: usize) -> String {
    format!("172.16.{j}.{}:8080", i % 250 + 1)
}

/// The rule file with 1% of the services changed: every 200th the first real server's
/// weight (1 to 2), every 200th (offset 100) the last real server replaced by another.
/// Returns it with the number of plan lines that change takes (one per weight, a delete
/// and an add per replaced server).
pub fn changed_rules(table: &Table, rules: &str) -> (String, usize) {
    let first = " -r 172.16.1.";
    let last = format!(" -r 172.16.{}.", table.dests);
    let replacement = format!(" -r 172.16.{}.", table.dests + 1);
    let mut out = String::new();
    let mut service = 0;
    let mut plan_lines = 0;
    for line in rules.lines() {
        if line.starts_with("-A ") {
            service += 1;
        }
        let i = service - 1;
        let changed = if i % 200 == 0 && line.contains(first) {
            plan_lines += 1;
            line.replace(" -w 1", " -w 2")
        } else if i % 200 == 100 && line.contains(&last) {
            plan_lines += 2;
            line.replace(&last, &replacement)
        } else {
            line.to_string()
        };
        writeln!(out, "{changed}").expect("write to a String");
    }
    assert_eq!(service, table.total_services());
    (out, plan_lines)
}

/// Lines of a listing, sorted: two tables are the same if these are.
pub fn sorted_lines(text: &[u8]) -> Vec<String> {
    let mut lines: Vec<String> = String::from_utf8_lossy(text)
        .lines()
        .map(str::to_string)
        .collect();
    lines.sort();
    lines
}

/// None if `a` and `b` are byte-identical, else where they first differ.
pub fn first_difference(a: &[u8], b: &[u8]) -> Option<String> {
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
                    "DIFFERENT at line {n}: {x:?} vs {y:?} ({} vs {} lines)",
                    a.lines().count(),
                    b.lines().count()
                ));
            }
        }
    }
    Some("DIFFERENT (line endings only)".to_string())
}

/// None if the sorted lines of `saved` (a `-S -n`) are the rule file's, else how many
/// lines each has and the first that differs.
pub fn table_difference(saved: &[u8], rules: &str) -> Option<String> {
    let (got, want) = (sorted_lines(saved), sorted_lines(rules.as_bytes()));
    if got == want {
        return None;
    }
    let first = got.iter().zip(&want).find(|(g, w)| g != w);
    Some(format!(
        "DIFFERENT: the table has {} lines in -S -n form, the rule file {}; first \
         difference: {first:?}",
        got.len(),
        want.len()
    ))
}

/// The current namespace's table in `-S -n` form (the few features the bench's tables
/// use: IPv4 TCP and firewall-mark services, scheduler, real servers' forwarding method
/// and weight), read from `/proc/net/ip_vs` in large reads: far faster than a listing
/// of a large table. Large reads may miss services while other namespaces hold some
/// (before Linux 7.1); the benchmark empties every namespace's table before leaving it,
/// so only the namespace measured holds any.
pub fn proc_table() -> Vec<u8> {
    // From 7.1 the kernel moves a grown table's services to a larger one, and a read
    // meanwhile misses or repeats some (seen on 7.2 after loading 250 services).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while rsipvsadm::procfs::ServiceTable::read().is_some_and(|t| !t.settled())
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let path = "/proc/thread-self/net/ip_vs";
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|mut f| f.read_to_string(&mut text))
        .unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    let mut out = String::new();
    let mut key = String::new();
    for line in text.lines().skip(3) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        match fields[..] {
            ["->", addr, method, weight, ..] => {
                let method = match method {
                    "Masq" => "-m",
                    "Route" => "-g",
                    "Tunnel" => "-i",
                    other => other,
                };
                writeln!(out, "-a {key} -r {} {method} -w {weight}", hex_addr(addr))
                    .expect("write to a String");
            }
            ["FWM", mark, sched, ..] => {
                key = format!("-f {}", u32::from_str_radix(mark, 16).unwrap_or(0));
                writeln!(out, "-A {key} -s {sched}").expect("write to a String");
            }
            [proto, addr, sched, ..] => {
                key = format!("-{} {}", proto_flag(proto), hex_addr(addr));
                writeln!(out, "-A {key} -s {sched}").expect("write to a String");
            }
            _ => writeln!(out, "unparsed: {line}").expect("write to a String"),
        }
    }
    out.into_bytes()
}

fn proto_flag(proto: &str) -> &str {
    match proto {
        "TCP" => "t",
        "UDP" => "u",
        "SCTP" => "-sctp-service",
        other => other,
    }
}

/// "0A000001:0050" as "10.0.0.1:80".
fn hex_addr(field: &str) -> String {
    let (addr, port) = field.split_once(':').unwrap_or((field, "0"));
    let addr = u32::from_str_radix(addr, 16).unwrap_or(0);
    let port = u16::from_str_radix(port, 16).unwrap_or(0);
    format!("{}:{port}", std::net::Ipv4Addr::from(addr))
}
