//! The typed model of what IPVS holds: services, destinations, the sync daemon, the
//! connection timeouts and the kernel's IPVS info (configuration apart from what the
//! kernel observes), the state document that holds them all, the change vocabulary and
//! the names of things. Plain data, no netlink in here.

mod connection;
mod daemon;
mod dest;
mod info;
pub mod names;
mod observed;
mod request;
mod service;
mod state;
mod stats;
mod timeouts;

pub use connection::Connection;
pub use daemon::{DaemonState, SyncDaemon};
pub use dest::{DestKey, Destination, FwdMethod, TunnelFlags, TunnelType};
pub use info::Info;
pub use observed::{DestObserved, ServiceObserved};
pub use request::Request;
pub use service::{
    AddressFamily, DEFAULT_PERSISTENT_TIMEOUT, DEFAULT_SCHEDULER, MAX_TIMEOUT, Netmask, Protocol,
    SCHED_NAME_MAX, Service, ServiceFlags, ServiceKey,
};
pub use state::{RealServer, State, VirtualService};
pub use stats::{Counters, Stats};
pub use timeouts::Timeouts;
