//! `-L -c`: the connection table, read from the text of `/proc/net/ip_vs_conn`.
//!
//! ipvsadm reads the file with `fgets` into a 256-byte buffer, so a line longer than 255
//! bytes is handled as several lines; each is scanned with
//! `"%s %s %hX %s %hX %s %hX %s %d %s %s"`. The same chunking and scanning is done here so
//! odd input gives the same result.

use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::ConnListError;
use super::ListOptions;
use super::names::{NameLookup, PortProtocol, addr_port_text};
use super::scan::{Scanner, strtoul};
use super::text::write_left;
use crate::nss::{parse_inet_pton4 as parse_ipv4, parse_inet_pton6 as parse_ipv6};

const PROC_FILE: &str = "/proc/net/ip_vs_conn";
/// `fgets` into a 256-byte buffer reads at most 255 bytes.
const CHUNK_MAX: usize = 255;

pub(crate) fn write_connections(
    out: &mut dyn Write,
    proc_text: Option<&str>,
    opts: &ListOptions,
    lookup: &mut dyn NameLookup,
) -> Result<(), ConnListError> {
    let Some(text) = proc_text else {
        return Err(ConnListError(format!("cannot open file {PROC_FILE}\n")));
    };
    let mut chunks = fgets_chunks(text.as_bytes());
    // The kernel's own header line is skipped, but there must be one.
    if chunks.next().is_none() {
        return Err(ConnListError(format!(
            "unexpected input from {PROC_FILE}\n"
        )));
    }
    // ipvsadm ignores failures to write to stdout; so do we (but stop writing).
    if write_header(out, opts.persistent_conn).is_err() {
        return Ok(());
    }
    // One set of fields for the whole file: see `ConnLine`.
    let mut conn = ConnLine::default();
    for chunk in chunks {
        if conn.rescan(chunk).is_none() {
            // sscanf found nothing at all (a blank line): ipvsadm exits 1 silently.
            return Err(ConnListError(String::new()));
        }
        if write_conn(out, &conn, opts, lookup).is_err() {
            return Ok(());
        }
    }
    Ok(())
}

/// The pieces `fgets` returns: up to and including a newline, at most 255 bytes.
fn fgets_chunks(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let limit = rest.len().min(CHUNK_MAX);
        let end = rest[..limit]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(limit, |newline| newline + 1);
        let (chunk, tail) = rest.split_at(end);
        rest = tail;
        Some(chunk)
    })
}

fn write_header(out: &mut dyn Write, persistent_conn: bool) -> io::Result<()> {
    out.write_all(b"IPVS connection entries\n")?;
    if persistent_conn {
        writeln!(
            out,
            "pro expire {:<11} {:<18} {:<18} {:<18} {:<16} pe_data",
            "state", "source", "virtual", "destination", "pe name"
        )
    } else {
        writeln!(
            out,
            "pro expire {:<11} {:<18} {:<18} destination",
            "state", "source", "virtual"
        )
    }
}

/// The fields of the line last scanned. A line the scan cannot read to the end leaves the
/// remaining fields as they were: ipvsadm's variables are uninitialised locals, which in
/// the reference binary mostly still hold the previous line's values (observed for the
/// words and the expiry; before the first line they hold garbage, here empty and zero).
/// The kernel always writes complete lines.
#[derive(Debug, Default, PartialEq, Eq)]
struct ConnLine<'a> {
    protocol: &'a [u8],
    client: &'a [u8],
    client_port: u16,
    virt: &'a [u8],
    virt_port: u16,
    dest: &'a [u8],
    dest_port: u16,
    state: &'a [u8],
    expires: u32,
    /// Engine name and data, only when both were found.
    pe: Option<(&'a [u8], &'a [u8])>,
}

impl<'a> ConnLine<'a> {
    /// Scans a line over the current fields; `None` when the line holds nothing but white
    /// space (sscanf's EOF).
    fn rescan(&mut self, chunk: &'a [u8]) -> Option<()> {
        // sscanf sees a C string: it ends at the first NUL.
        let line = chunk.split(|&b| b == 0).next().unwrap_or_default();
        let mut s = Scanner::new(line);
        self.protocol = s.word()?;
        // ipvsadm prints the engine columns only when this line had all eleven fields.
        self.pe = None;
        self.scan_rest(&mut s);
        Some(())
    }

    /// Fills fields in order until a conversion fails, as sscanf does.
    fn scan_rest(&mut self, s: &mut Scanner<'a>) -> Option<()> {
        self.client = s.word()?;
        self.client_port = s.hex_u16()?;
        self.virt = s.word()?;
        self.virt_port = s.hex_u16()?;
        self.dest = s.word()?;
        self.dest_port = s.hex_u16()?;
        self.state = s.word()?;
        // Scanned as an int into an unsigned variable.
        self.expires = s.decimal_i32()? as u32;
        let pe_name = s.word()?;
        let pe_data = s.word()?;
        self.pe = Some((pe_name, pe_data));
        Some(())
    }
}

/// How the kernel wrote an address: full IPv6, dotted IPv4, or IPv4 as host-order hex.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AddrForm {
    Ipv6,
    Dotted,
    Hex,
}

impl AddrForm {
    fn detect(text: &[u8]) -> Self {
        if parse_ipv6(text).is_some() {
            AddrForm::Ipv6
        } else if parse_ipv4(text).is_some() {
            AddrForm::Dotted
        } else {
            AddrForm::Hex
        }
    }

    /// Reads `text` in this form; text in another form reads as the zero address.
    fn read(self, text: &[u8]) -> IpAddr {
        match self {
            AddrForm::Ipv6 => IpAddr::V6(parse_ipv6(text).unwrap_or(Ipv6Addr::UNSPECIFIED)),
            AddrForm::Dotted => IpAddr::V4(parse_ipv4(text).unwrap_or(Ipv4Addr::UNSPECIFIED)),
            // strtoul's result, truncated to 32 bits.
            AddrForm::Hex => IpAddr::V4(Ipv4Addr::from(strtoul(text, 16).0 as u32)),
        }
    }
}

fn write_conn(
    out: &mut dyn Write,
    conn: &ConnLine,
    opts: &ListOptions,
    lookup: &mut dyn NameLookup,
) -> io::Result<()> {
    let protocol = match conn.protocol {
        b"TCP" => Some(PortProtocol::Tcp),
        b"UDP" => Some(PortProtocol::Udp),
        b"SCTP" => Some(PortProtocol::Sctp),
        _ => None,
    };
    // The client's form decides the virtual address's too; the destination may differ
    // (tunnels can cross families).
    let service_form = AddrForm::detect(conn.client);
    let dest_form = AddrForm::detect(conn.dest);
    let mut name = |form: AddrForm, text: &[u8], port: u16| {
        addr_port_text(form.read(text), port, protocol, opts.numeric, lookup)
    };
    let client = name(service_form, conn.client, conn.client_port);
    let virt = name(service_form, conn.virt, conn.virt_port);
    let dest = name(dest_form, conn.dest, conn.dest_port);
    let expires = format!("{:02}:{:02}", conn.expires / 60, conn.expires % 60);

    write_left(out, conn.protocol, 3)?;
    out.write_all(b" ")?;
    write_left(out, expires.as_bytes(), 6)?;
    out.write_all(b" ")?;
    write_left(out, conn.state, 11)?;
    out.write_all(b" ")?;
    write_left(out, &client, 18)?;
    out.write_all(b" ")?;
    write_left(out, &virt, 18)?;
    out.write_all(b" ")?;
    match conn.pe.filter(|_| opts.persistent_conn) {
        Some((pe_name, pe_data)) => {
            write_left(out, &dest, 16)?;
            out.write_all(b" ")?;
            write_left(out, pe_name, 18)?;
            out.write_all(b" ")?;
            out.write_all(pe_data)?;
        }
        None => out.write_all(&dest)?,
    }
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::names::fake::FakeLookup;

    /// The fixture of shared/ipvsadm-behaviour.md §6.11.
    const FIXTURE: &str = "\
Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData
TCP 0A000064 C350 0A000001 0050 C0A80102 1F90 ESTABLISHED     899
UDP 7F000001 0035 0A000001 0035 C0A80103 0035 UDP             299
TCP 0A000065 C351 0A000001 0016 C0A80102 0016 NONE           3599 sip 1234abcd@example
TCP 2001:0db8:0000:0000:0000:0000:0000:0001 C350 2001:0db8:0000:0000:0000:0000:0000:0080 0050 2001:0db8:0000:0000:0000:0000:0000:00a0 0050 SYN_RECV         59
SCTP 0A000064 C350 0A000001 0050 C0A80102 0050 ESTABLISHED      5
TCP 0A000064 C350 0A000001 0050 2001:0db8:0000:0000:0000:0000:0000:00a0 0050 FIN_WAIT        119
";

    fn list(text: Option<&str>, opts: &ListOptions) -> (String, Result<(), ConnListError>) {
        let mut out = Vec::new();
        // The fixture's names: localhost only, no 10.0.0.1 name (unlike the VM).
        let mut lookup = FakeLookup::typical();
        lookup.hosts.retain(|(_, name)| *name == "localhost");
        let result = write_connections(&mut out, text, opts, &mut lookup);
        (String::from_utf8(out).unwrap(), result)
    }

    fn numeric() -> ListOptions {
        ListOptions {
            numeric: true,
            ..ListOptions::default()
        }
    }

    #[test]
    fn spec_numeric() {
        let (out, result) = list(Some(FIXTURE), &numeric());
        assert_eq!(result, Ok(()));
        assert_eq!(
            out,
            "\
IPVS connection entries
pro expire state       source             virtual            destination
TCP 14:59  ESTABLISHED 10.0.0.100:50000   10.0.0.1:80        192.168.1.2:8080
UDP 04:59  UDP         127.0.0.1:53       10.0.0.1:53        192.168.1.3:53
TCP 59:59  NONE        10.0.0.101:50001   10.0.0.1:22        192.168.1.2:22
TCP 00:59  SYN_RECV    [2001:db8::1]:50000 [2001:db8::80]:80  [2001:db8::a0]:80
SCTP 00:05  ESTABLISHED 10.0.0.100:50000   10.0.0.1:80        192.168.1.2:80
TCP 01:59  FIN_WAIT    10.0.0.100:50000   10.0.0.1:80        [2001:db8::a0]:80
"
        );
    }

    #[test]
    fn spec_persistent_conn() {
        let opts = ListOptions {
            persistent_conn: true,
            ..numeric()
        };
        let (out, _) = list(Some(FIXTURE), &opts);
        assert_eq!(
            out,
            "\
IPVS connection entries
pro expire state       source             virtual            destination        pe name          pe_data
TCP 14:59  ESTABLISHED 10.0.0.100:50000   10.0.0.1:80        192.168.1.2:8080
UDP 04:59  UDP         127.0.0.1:53       10.0.0.1:53        192.168.1.3:53
TCP 59:59  NONE        10.0.0.101:50001   10.0.0.1:22        192.168.1.2:22   sip                1234abcd@example
TCP 00:59  SYN_RECV    [2001:db8::1]:50000 [2001:db8::80]:80  [2001:db8::a0]:80
SCTP 00:05  ESTABLISHED 10.0.0.100:50000   10.0.0.1:80        192.168.1.2:80
TCP 01:59  FIN_WAIT    10.0.0.100:50000   10.0.0.1:80        [2001:db8::a0]:80
"
        );
    }

    #[test]
    fn spec_names() {
        let (out, _) = list(Some(FIXTURE), &ListOptions::default());
        assert_eq!(
            out,
            "\
IPVS connection entries
pro expire state       source             virtual            destination
TCP 14:59  ESTABLISHED 10.0.0.100:50000   10.0.0.1:http      192.168.1.2:http-alt
UDP 04:59  UDP         localhost:domain   10.0.0.1:domain    192.168.1.3:domain
TCP 59:59  NONE        10.0.0.101:50001   10.0.0.1:ssh       192.168.1.2:ssh
TCP 00:59  SYN_RECV    [2001:db8::1]:50000 [2001:db8::80]:http [2001:db8::a0]:http
SCTP 00:05  ESTABLISHED 10.0.0.100:50000   10.0.0.1:80        192.168.1.2:80
TCP 01:59  FIN_WAIT    10.0.0.100:50000   10.0.0.1:http      [2001:db8::a0]:http
"
        );
    }

    #[test]
    fn errors() {
        let (out, result) = list(None, &numeric());
        assert_eq!(out, "");
        let message = "cannot open file /proc/net/ip_vs_conn\n";
        assert_eq!(result, Err(ConnListError(message.into())));
        let (out, result) = list(Some(""), &numeric());
        assert_eq!(out, "");
        let message = "unexpected input from /proc/net/ip_vs_conn\n";
        assert_eq!(result, Err(ConnListError(message.into())));
        // Header only: just the titles.
        let (out, result) = list(Some("Pro FromIP\n"), &numeric());
        assert_eq!(result, Ok(()));
        assert_eq!(out.lines().count(), 2);
    }

    #[test]
    fn blank_line_stops_silently_after_earlier_lines() {
        let text = "h\nTCP 0A000064 C350 0A000001 0050 C0A80102 1F90 NONE 1\n  \nUDP x\n";
        let (out, result) = list(Some(text), &numeric());
        assert_eq!(result, Err(ConnListError(String::new())));
        assert_eq!(out.lines().count(), 3);
    }

    #[test]
    fn long_lines_split_like_fgets() {
        let long = format!("{}\n", "a".repeat(300));
        let chunks: Vec<&[u8]> = fgets_chunks(long.as_bytes()).collect();
        assert_eq!(chunks.len(), 2);
        assert_eq!(chunks[0].len(), 255);
        assert_eq!(chunks[1].len(), 46);
        // Exactly 255 bytes before the newline leaves a chunk of just "\n".
        let exact = format!("h\n{}\n", "b".repeat(255));
        let chunks: Vec<&[u8]> = fgets_chunks(exact.as_bytes()).collect();
        assert_eq!(chunks, [&b"h\n"[..], "b".repeat(255).as_bytes(), b"\n"]);
    }

    #[test]
    fn partial_lines_do_not_panic() {
        let text = "h\nTCP\nTCP 1.2.3.4\nTCP 1.2.3.4 zz\nX 1 2 3 4 5 6 7 -5 pe\n\u{0}x\n";
        let (out, result) = list(Some(text), &numeric());
        // The NUL line is empty to sscanf, hence the silent failure at the end.
        assert_eq!(result, Err(ConnListError(String::new())));
        let lines: Vec<&str> = out.lines().skip(2).collect();
        assert_eq!(
            lines,
            [
                "TCP 00:00              0.0.0.0:0          0.0.0.0:0          0.0.0.0:0",
                "TCP 00:00              1.2.3.4:0          0.0.0.0:0          0.0.0.0:0",
                "TCP 00:00              1.2.3.4:0          0.0.0.0:0          0.0.0.0:0",
                "X   71582788:11 7           0.0.0.1:2          0.0.0.3:4          0.0.0.5:6",
            ]
        );
    }

    /// As observed in the reference: a line cut short keeps the previous line's values in
    /// the fields it did not reach (here the expiry after `ESTABLISHED` fails as a number).
    #[test]
    fn short_line_keeps_previous_values() {
        let text = "h\n\
X 10.0.0.1 0x1F 10.0.0.2 -1 0A000002 1FFFF ST -5 pe\n\
TCP 0A000064 C350xyz 0A000001 0050 C0A80102 1F90 ESTABLISHED 899\n";
        let (out, result) = list(Some(text), &numeric());
        assert_eq!(result, Ok(()));
        assert_eq!(
            out.lines().nth(3),
            Some("TCP 71582788:11 1F90        10.0.0.100:50000   0.0.0.0:1          0.0.0.80:258")
        );
    }
}
