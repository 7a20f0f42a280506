//! IPVS's files under `/proc/net` of the caller's network namespace, read into the model
//! (the ipvsadm-compatible `-L -c` keeps its own byte-exact reader in `output::conn`).

use std::io;
use std::net::{IpAddr, Ipv4Addr};

use crate::model::Connection;
use crate::nss::parse_inet_pton6;

/// The connection table of the calling thread's network namespace.
pub fn read_connections() -> io::Result<Vec<Connection>> {
    let text = std::fs::read_to_string("/proc/thread-self/net/ip_vs_conn")?;
    Ok(parse_connections(&text))
}

/// Parses `/proc/net/ip_vs_conn`: a header line, then one connection per line:
/// `Pro FromIP FPrt ToIP TPrt DestIP DPrt State Expires [PEName PEData]`, IPv4 addresses
/// as 8 hex digits (most significant first), IPv6 ones in full, ports in hex. A line
/// that does not parse is skipped.
pub fn parse_connections(text: &str) -> Vec<Connection> {
    text.lines().skip(1).filter_map(parse_connection).collect()
}

fn parse_connection(line: &str) -> Option<Connection> {
    let f: Vec<&str> = line.split_ascii_whitespace().collect();
    if f.len() < 9 {
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
        pe: match (f.get(9), f.get(10)) {
            (Some(name), Some(data)) => Some((name.to_string(), data.to_string())),
            _ => None,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
