//! IPVS's files under `/proc/net` of the caller's network namespace, read into the model
//! (the ipvsadm-compatible `-L -c` keeps its own byte-exact reader in `output::conn`).

use std::io;
use std::net::{IpAddr, Ipv4Addr};

use crate::model::{Connection, FwdMethod, Protocol};
use crate::nss::parse_inet_pton6;

/// A service as `/proc/net/ip_vs` shows it: less than netlink (no thresholds, tunnel
/// settings, engine, scheduler flags; fwmark services without their family), but the
/// whole table in one read, several times faster than a destination dump per service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcService {
    pub key: ProcKey,
    pub scheduler: String,
    /// `ops` (shown for IPv4 and fwmark services only).
    pub one_packet: bool,
    /// `persistent`: the timeout is shown in jiffies, not seconds.
    pub persistent: bool,
    /// In the kernel's order.
    pub dests: Vec<ProcDest>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProcKey {
    Addr {
        protocol: Protocol,
        addr: IpAddr,
        port: u16,
    },
    Fwmark(u32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcDest {
    pub addr: IpAddr,
    pub port: u16,
    pub fwd: FwdMethod,
    pub weight: u32,
    pub active_conns: u32,
    pub inact_conns: u32,
}

/// The table of the calling thread's network namespace, as `/proc/net/ip_vs` shows it,
/// read in large pieces: fast, but before Linux 7.1 it may leave services out while other
/// namespaces have some (see [`PROC_INFO_READ`]): a reader must not take a service
/// missing here as absent (the listings check every record against the service dump,
/// `crate::listing`).
pub fn read_table() -> io::Result<Vec<ProcService>> {
    read_table_from(
        std::fs::File::open("/proc/thread-self/net/ip_vs")?,
        64 << 10,
    )
}

/// The table, every service of it whatever other namespaces hold, read a few bytes at a
/// time (see [`PROC_INFO_READ`]): several times slower than [`read_table`] on a large
/// table (1.4 s against 0.2 s for 10,000 services with 5 real servers each, under
/// emulation).
pub fn read_whole_table() -> io::Result<Vec<ProcService>> {
    let file = std::fs::File::open("/proc/thread-self/net/ip_vs")?;
    read_table_from(SmallReads(file), 64 << 10)
}

/// The most one read() of `/proc/net/ip_vs` asks for, for a read that misses nothing:
/// less than its shortest record (a service and its destinations; the shortest is a
/// service line such as `FWM  00000001 rr  ` and its newline, 19 bytes).
///
/// Before Linux 7.1 the file walks service tables that all namespaces share. Within one
/// read() it steps over other namespaces' services, counting them; the next read() resumes
/// at that count but counts the caller's services only, so it lands past some of them:
/// with 60 services in another namespace, 64 KiB reads of a 1100-service table on 5.10
/// showed 1044. A read no longer than a record ends right after the record it resumed
/// at, before any step, and loses nothing (measured on 5.10 with 1 to 32-byte reads).
pub const PROC_INFO_READ: usize = 16;

/// A reader whose reads ask for at most [`PROC_INFO_READ`] bytes.
struct SmallReads<R>(R);

impl<R: io::Read> io::Read for SmallReads<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(PROC_INFO_READ);
        self.0.read(&mut buf[..n])
    }
}

/// Reads the table `file` gives (see [`read_lines`]).
fn read_table_from(file: impl io::Read, buffer: usize) -> io::Result<Vec<ProcService>> {
    let mut services = Vec::new();
    each_service_from(file, buffer, |service| {
        services.push(service);
        true
    })?;
    Ok(services)
}

/// [`read_table`] handing each service to `on_service` as soon as its record is read (the
/// record after it, or the end, shows it is complete), for a reader that keeps only what
/// it needs of a large table. Reading stops, without error, once `on_service` returns
/// false; returns the bytes read.
pub fn each_service(on_service: impl FnMut(ProcService) -> bool) -> io::Result<u64> {
    each_service_from(
        std::fs::File::open("/proc/thread-self/net/ip_vs")?,
        64 << 10,
        on_service,
    )
}

fn each_service_from(
    file: impl io::Read,
    buffer: usize,
    mut on_service: impl FnMut(ProcService) -> bool,
) -> io::Result<u64> {
    let mut parser = TableParser::default();
    let (mut stopped, mut bytes) = (false, 0u64);
    let read = read_lines(file, buffer, |lines| {
        bytes += lines.len() as u64;
        parser.lines(lines)?;
        // All but the last service are complete: hand them out.
        let complete = parser.services.len().saturating_sub(1);
        for service in parser.services.drain(..complete) {
            if !on_service(service) {
                stopped = true;
                return None;
            }
        }
        Some(())
    });
    match read {
        Err(None) if stopped => return Ok(bytes),
        Err(e) => {
            return Err(e.unwrap_or_else(|| io::Error::other("/proc/net/ip_vs is not as expected")));
        }
        Ok(()) => {}
    }
    for service in parser.services.drain(..) {
        if !on_service(service) {
            break;
        }
    }
    Ok(bytes)
}

/// Hands `on_lines` the whole lines of `file` a few at a time as they are read (the
/// kernel hands these files out a page or so per read), so the text is never all in
/// memory; `buffer`: the longest line allowed. The error is `None` when `on_lines`
/// refused its lines or a line is longer than the buffer.
fn read_lines(
    mut file: impl io::Read,
    buffer: usize,
    mut on_lines: impl FnMut(&[u8]) -> Option<()>,
) -> Result<(), Option<io::Error>> {
    let mut buf = vec![0; buffer];
    let mut filled = 0;
    loop {
        if filled == buf.len() {
            return Err(None);
        }
        let n = file.read(&mut buf[filled..]).map_err(Some)?;
        filled += n;
        let whole = match buf[..filled].iter().rposition(|&b| b == b'\n') {
            _ if n == 0 => filled,
            Some(last) => last + 1,
            None => continue,
        };
        on_lines(&buf[..whole]).ok_or(None)?;
        buf.copy_within(whole..filled, 0);
        filled -= whole;
        if n == 0 {
            return Ok(());
        }
    }
}

/// Parses `/proc/net/ip_vs`; `None` if a line is not as the kernel writes them.
pub fn parse_table(text: &str) -> Option<Vec<ProcService>> {
    let mut parser = TableParser::default();
    parser.lines(text.as_bytes())?;
    Some(parser.services)
}

/// `/proc/net/ip_vs` parsed line by line: three header lines, then each service followed
/// by its destinations.
#[derive(Default)]
struct TableParser {
    lines: usize,
    services: Vec<ProcService>,
}

impl TableParser {
    /// Parses whole lines; `None` if one is not as the kernel writes them.
    fn lines(&mut self, text: &[u8]) -> Option<()> {
        let text = std::str::from_utf8(text).ok()?;
        for line in text.lines() {
            self.lines += 1;
            if self.lines > 3 {
                self.line(line)?;
            }
        }
        Some(())
    }

    fn line(&mut self, line: &str) -> Option<()> {
        // At most the eight fields any line has, without allocating.
        let mut fields = [""; 8];
        let mut count = 0;
        for (slot, field) in fields.iter_mut().zip(line.split_ascii_whitespace()) {
            *slot = field;
            count += 1;
        }
        match &fields[..count] {
            ["->", addr_port, fwd, weight, active, inactive, ..] => {
                let (addr, port) = endpoint(addr_port)?;
                self.services.last_mut()?.dests.push(ProcDest {
                    addr,
                    port,
                    // The kernel's name of the bypass method is no listing's.
                    fwd: FwdMethod::from_listed(fwd).unwrap_or(FwdMethod::Bypass),
                    weight: weight.parse::<i32>().ok()? as u32,
                    active_conns: active.parse().ok()?,
                    inact_conns: inactive.parse().ok()?,
                });
            }
            ["FWM", mark, scheduler, rest @ ..] => self.services.push(ProcService {
                key: ProcKey::Fwmark(u32::from_str_radix(mark, 16).ok()?),
                scheduler: scheduler.to_string(),
                one_packet: rest.contains(&"ops"),
                persistent: rest.contains(&"persistent"),
                dests: Vec::new(),
            }),
            [protocol, addr_port, scheduler, rest @ ..] => {
                let (addr, port) = endpoint(addr_port)?;
                // The kernel's names (ip_vs_proto_name()), `IP_<n>` for the rest.
                let protocol = match (Protocol::from_label(protocol), *protocol) {
                    (Some(known), _) => known,
                    (None, "IP") => Protocol::Other(0),
                    (None, "ICMP") => Protocol::Other(1),
                    (None, "ICMPv6") => Protocol::Other(58),
                    (None, other) => Protocol::Other(other.strip_prefix("IP_")?.parse().ok()?),
                };
                self.services.push(ProcService {
                    key: ProcKey::Addr {
                        protocol,
                        addr,
                        port,
                    },
                    scheduler: scheduler.to_string(),
                    one_packet: rest.contains(&"ops"),
                    persistent: rest.contains(&"persistent"),
                    dests: Vec::new(),
                });
            }
            _ => return None,
        }
        Some(())
    }
}

/// `0A000001:0050` or `[2001:0db8:...:0001]:0050`.
fn endpoint(text: &str) -> Option<(IpAddr, u16)> {
    let (addr, port) = text.rsplit_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let addr = match addr.strip_prefix('[').and_then(|a| a.strip_suffix(']')) {
        Some(v6) => IpAddr::V6(parse_inet_pton6(v6.as_bytes())?),
        None => IpAddr::V4(Ipv4Addr::from(u32::from_str_radix(addr, 16).ok()?)),
    };
    Some((addr, port))
}

/// The connection table of the calling thread's network namespace.
pub fn read_connections() -> io::Result<Vec<Connection>> {
    let file = std::fs::File::open("/proc/thread-self/net/ip_vs_conn")?;
    let mut connections = Vec::new();
    let mut header = true;
    read_lines(file, 64 << 10, |lines| {
        let text = std::str::from_utf8(lines).ok()?;
        push_connections(text, &mut header, &mut connections);
        Some(())
    })
    .map_err(|e| {
        e.unwrap_or_else(|| io::Error::other("/proc/net/ip_vs_conn is not as expected"))
    })?;
    Ok(connections)
}

/// Parses `/proc/net/ip_vs_conn`: a header line, then one connection per line:
/// `Pro FromIP FPrt ToIP TPrt DestIP DPrt State Expires [PEName PEData]`, IPv4 addresses
/// as 8 hex digits (most significant first), IPv6 ones in full, ports in hex. A line
/// that does not parse is skipped.
pub fn parse_connections(text: &str) -> Vec<Connection> {
    let mut connections = Vec::new();
    push_connections(text, &mut true, &mut connections);
    connections
}

/// The connections of whole lines of that file; `header`: whether its first line, the
/// header, is still to come.
fn push_connections(text: &str, header: &mut bool, connections: &mut Vec<Connection>) {
    for line in text.lines() {
        if !std::mem::take(header) {
            connections.extend(parse_connection(line));
        }
    }
}

fn parse_connection(line: &str) -> Option<Connection> {
    // At most the eleven fields a line has, without allocating.
    let mut f = [""; 11];
    let mut count = 0;
    for (slot, field) in f.iter_mut().zip(line.split_ascii_whitespace()) {
        *slot = field;
        count += 1;
    }
    if count < 9 {
        return None;
    }
    let endpoint = |addr: &str, port: &str| -> Option<(IpAddr, u16)> {
        let ip = match parse_inet_pton6(addr.as_bytes()) {
            Some(v6) => IpAddr::V6(v6),
            None if addr.len() == 8 => {
                IpAddr::V4(Ipv4Addr::from(u32::from_str_radix(addr, 16).ok()?))
            }
            None => return None,
        };
        Some((ip, u16::from_str_radix(port, 16).ok()?))
    };
    Some(Connection {
        protocol: f[0].to_string(),
        client: endpoint(f[1], f[2])?,
        virtual_address: endpoint(f[3], f[4])?,
        destination: endpoint(f[5], f[6])?,
        state: f[7].to_string(),
        expires: f[8].parse().ok()?,
        pe: (count >= 11).then(|| (f[9].to_string(), f[10].to_string())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_kernels_table() {
        let text = "\
IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port Forward Weight ActiveConn InActConn
TCP  0A000001:0050 rr 
  -> 0A000003:0050      Route   1      0          0         
  -> 0A000002:1F90      Masq    -1     2          0         
UDP  [2001:0db8:0000:0000:0000:0000:0000:0001]:0035 sh 
  -> [2001:0db8:0000:0000:0000:0000:0000:0002]:0035      Tunnel  3      0          0         
FWM  0000002A mh persistent 75000 FFFFFFFF
IP_47  0A000009:0000 wlc persistent 90000 FFFFFF00
ICMP  0A000009:0000 rr 
ICMPv6  [2001:0db8:0000:0000:0000:0000:0000:0001]:0000 rr 
IP  0A000009:0000 rr 
";
        let table = parse_table(text).unwrap();
        assert_eq!(table.len(), 7);
        let protocols: Vec<_> = table[4..]
            .iter()
            .map(|s| match s.key {
                ProcKey::Addr { protocol, .. } => protocol,
                ProcKey::Fwmark(_) => Protocol::Tcp,
            })
            .collect();
        assert_eq!(
            protocols,
            [Protocol::Other(1), Protocol::Other(58), Protocol::Other(0)]
        );
        assert_eq!(
            table[0].key,
            ProcKey::Addr {
                protocol: Protocol::Tcp,
                addr: "10.0.0.1".parse().unwrap(),
                port: 80
            }
        );
        assert_eq!(table[0].dests[1].port, 8080);
        assert_eq!(table[0].dests[1].weight, u32::MAX);
        assert_eq!(table[0].dests[1].active_conns, 2);
        assert_eq!(table[1].dests[0].fwd, FwdMethod::Tunnel);
        assert_eq!(
            table[1].dests[0].addr,
            "2001:db8::2".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            (table[2].key, table[2].scheduler.as_str()),
            (ProcKey::Fwmark(42), "mh")
        );
        assert!(table[2].persistent && !table[0].persistent && !table[0].one_packet);
        assert!(matches!(
            table[3].key,
            ProcKey::Addr {
                protocol: Protocol::Other(47),
                ..
            }
        ));
        assert_eq!(parse_table("a\nb\nc\n  -> x\n"), None);
    }

    /// Reads of a few bytes each, as the kernel's pages end anywhere in a line.
    struct Trickle<'a>(&'a [u8], usize);

    impl io::Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.1.min(buf.len()).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn reads_the_table_a_few_bytes_at_a_time() {
        let mut text = String::from("IP Virtual Server version 1.2.1 (size=4096)\nProt\n  ->\n");
        for i in 0..300 {
            text.push_str(&format!("TCP  0A0100{:02X}:0050 rr \n", i % 256));
            text.push_str("  -> 0A000003:0050      Route   1      0          0         \n");
        }
        let whole = parse_table(&text).unwrap();
        assert_eq!(whole.len(), 300);
        for (step, buffer) in [(1, 128), (7, 100), (4096, 4096), (100_000, 64 << 10)] {
            let read = read_table_from(Trickle(text.as_bytes(), step), buffer).unwrap();
            assert_eq!(read, whole, "{step}-byte reads");
        }
        // The last line without its newline still counts.
        let cut = text.trim_end_matches('\n');
        assert_eq!(
            read_table_from(Trickle(cut.as_bytes(), 13), 128).unwrap(),
            whole
        );
        // A reader that has enough stops the read, and that is no error.
        let mut taken = 0;
        let read = each_service_from(Trickle(text.as_bytes(), 4096), 4096, |_| {
            taken += 1;
            taken < 100
        })
        .unwrap();
        assert_eq!(taken, 100);
        assert!(read < text.len() as u64);
        // A line longer than the buffer is an error, not a loop.
        assert!(read_table_from(Trickle(text.as_bytes(), 50), 40).is_err());
    }

    #[test]
    fn reads_the_kernels_lines() {
        let text = "\
Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData
TCP 0A000064 C350 0A000001 0050 C0A80102 1F90 ESTABLISHED     899
UDP 2001:0db8:0000:0000:0000:0000:0000:0005 0035 2001:0db8:0000:0000:0000:0000:0000:0001 0035 2001:0db8:0000:0000:0000:0000:0000:0002 0035 UDP 299
TCP 0A000065 C351 0A000001 0016 C0A80102 0016 NONE           3599 sip 1234abcd@example
garbage
";
        let conns = parse_connections(text);
        assert_eq!(conns.len(), 3);
        assert_eq!(conns[0].client, ("10.0.0.100".parse().unwrap(), 50000));
        assert_eq!(conns[0].destination, ("192.168.1.2".parse().unwrap(), 8080));
        assert_eq!(conns[0].state, "ESTABLISHED");
        assert_eq!(conns[0].expires, 899);
        assert_eq!(
            conns[1].virtual_address,
            ("2001:db8::1".parse().unwrap(), 53)
        );
        assert_eq!(
            conns[2].pe,
            Some(("sip".to_string(), "1234abcd@example".to_string()))
        );
    }
}

/// The service table as `/proc/net/ip_vs_status` shows it (7.1+). From 7.1 the kernel
/// moves a namespace's services to a table of another size (delayed work) when they
/// outgrow the current one or shrink far below it, and a service dump meanwhile misses
/// or repeats some.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceTable {
    pub services: u64,
    pub buckets: u64,
    /// The load factor as a power of two: the table grows past `buckets * 2^lfactor`.
    pub lfactor: i32,
}

impl ServiceTable {
    /// The calling thread's namespace's status file; there from 7.1.
    pub const PATH: &'static str = "/proc/thread-self/net/ip_vs_status";

    /// The calling thread's namespace's; `None` before 7.1, without the right to read
    /// the file (root only), or with no table (no service).
    pub fn read() -> Option<Self> {
        Self::parse(&std::fs::read_to_string(Self::PATH).ok()?)
    }

    /// Reads `Services:` and `Service buckets:\t2048 (11 bits, lfactor -2)`.
    pub fn parse(text: &str) -> Option<Self> {
        let field = |name: &str| text.lines().find_map(|line| line.strip_prefix(name));
        let services = field("Services:")?.trim().parse().ok()?;
        let buckets_line = field("Service buckets:")?;
        let buckets = buckets_line.split_whitespace().next()?.parse().ok()?;
        let lfactor = buckets_line
            .split("lfactor")
            .nth(1)?
            .trim()
            .trim_end_matches(')')
            .parse()
            .ok()?;
        Some(ServiceTable {
            services,
            buckets,
            lfactor,
        })
    }

    /// Whether the kernel has no move to do: it grows the table once the services pass
    /// `buckets * 2^lfactor` (not past 2^20 buckets) and shrinks it once they are down
    /// to a sixteenth of that (not below 16 buckets), as `ip_vs_rht_set_thresholds` sets.
    pub fn settled(&self) -> bool {
        const MAX_BUCKETS: u64 = 1 << 20;
        const MIN_BUCKETS: u64 = 1 << 4;
        let grow_past = if self.buckets >= MAX_BUCKETS {
            u64::MAX
        } else if self.lfactor <= 0 {
            self.buckets >> self.lfactor.unsigned_abs().min(20)
        } else {
            self.buckets << self.lfactor.min(10)
        };
        let shrink_at = if self.buckets >= MAX_BUCKETS {
            MAX_BUCKETS >> 4
        } else if self.buckets > MIN_BUCKETS {
            grow_past >> 4
        } else {
            0
        };
        self.services <= grow_past && (shrink_at == 0 || self.services > shrink_at)
    }
}

#[cfg(test)]
mod service_table_tests {
    use super::ServiceTable;

    const STATUS: &str = "Conns:\t0\nConn buckets:\t256 (8 bits, lfactor -2)\n\
        Services:\t401\nService buckets:\t2048 (11 bits, lfactor -2)\n\
        Service buckets empty:\t1675 (81%)\nStats thread slots:\t1 (max 8)\n";

    #[test]
    fn status_is_read_and_judged() {
        let table = ServiceTable::parse(STATUS).unwrap();
        assert_eq!(
            table,
            ServiceTable {
                services: 401,
                buckets: 2048,
                lfactor: -2
            }
        );
        assert!(table.settled());
        // 513 services outgrow 2048 buckets at 25%; 32 are a sixteenth of 512.
        assert!(
            !ServiceTable {
                services: 513,
                ..table
            }
            .settled()
        );
        assert!(
            !ServiceTable {
                services: 32,
                ..table
            }
            .settled()
        );
        assert!(
            ServiceTable {
                services: 33,
                ..table
            }
            .settled()
        );
        // The smallest table never shrinks, the largest never grows.
        let small = ServiceTable {
            services: 1,
            buckets: 16,
            lfactor: -2,
        };
        assert!(small.settled());
        let large = ServiceTable {
            services: 5_000_000,
            buckets: 1 << 20,
            lfactor: -2,
        };
        assert!(large.settled());
        assert_eq!(ServiceTable::parse("Conns:\t0\n"), None);
    }
}
