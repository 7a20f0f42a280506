use std::net::IpAddr;

/// Which side of connection synchronisation a daemon runs (`IP_VS_STATE_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DaemonState {
    Master,
    Backup,
}

impl DaemonState {
    pub fn to_raw(self) -> u32 {
        match self {
            DaemonState::Master => 1,
            DaemonState::Backup => 2,
        }
    }

    pub fn from_raw(raw: u32) -> Option<Self> {
        match raw {
            1 => Some(DaemonState::Master),
            2 => Some(DaemonState::Backup),
            _ => None,
        }
    }
}

/// A connection synchronisation daemon. Zero (or `None`) fields take the kernel's defaults
/// when starting one: group 224.0.0.81, port 8848, TTL 1, a length derived from the MTU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncDaemon {
    pub state: DaemonState,
    pub mcast_ifn: String,
    pub sync_id: u32,
    pub sync_maxlen: u16,
    pub mcast_group: Option<IpAddr>,
    pub mcast_port: u16,
    pub mcast_ttl: u8,
}

impl SyncDaemon {
    pub fn new(state: DaemonState, mcast_ifn: impl Into<String>) -> Self {
        SyncDaemon {
            state,
            mcast_ifn: mcast_ifn.into(),
            sync_id: 0,
            sync_maxlen: 0,
            mcast_group: None,
            mcast_port: 0,
            mcast_ttl: 0,
        }
    }
}
