//! What the kernel reports about services and destinations beyond their configuration:
//! counters, rates, connection counts and the flags it sets itself. Kept apart from the
//! configuration so that "has this changed?" compares configuration only.

use super::{Counters, ServiceFlags};

/// A service as the kernel sees it at the moment it was read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceObserved {
    /// Every flag the kernel reported, the configuration's and its own (HASHED).
    pub flags: ServiceFlags,
    pub stats: Counters,
}

/// A destination as the kernel sees it at the moment it was read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DestObserved {
    pub active_conns: u32,
    pub inact_conns: u32,
    pub persist_conns: u32,
    pub stats: Counters,
}
