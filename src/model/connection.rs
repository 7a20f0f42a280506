//! One entry of the kernel's connection table (`/proc/net/ip_vs_conn`).

use std::net::IpAddr;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// As the kernel names it: `TCP`, `UDP`, `SCTP`, ...
    pub protocol: String,
    pub client: (IpAddr, u16),
    pub virtual_address: (IpAddr, u16),
    pub destination: (IpAddr, u16),
    /// The protocol state: `ESTABLISHED`, `SYN_RECV`, ...; `UDP` for UDP.
    pub state: String,
    /// Seconds until the entry expires.
    pub expires: u32,
    /// Persistence engine and its data (e.g. a SIP call id), when the entry has one.
    pub pe: Option<(String, String)>,
}
