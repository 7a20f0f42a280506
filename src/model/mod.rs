//! The typed model of what IPVS holds: services, destinations, the sync daemon, the
//! connection timeouts and the kernel's IPVS info. Plain data, no netlink in here.

mod daemon;
mod dest;
mod info;
mod service;
mod stats;
mod timeouts;

pub use daemon::{DaemonState, SyncDaemon};
pub use dest::{DestKey, Destination, FwdMethod, TunnelFlags, TunnelType};
pub use info::Info;
pub use service::{AddressFamily, Netmask, Protocol, Service, ServiceFlags, ServiceKey};
pub use stats::Stats;
pub use timeouts::Timeouts;
