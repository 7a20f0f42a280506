//! The change vocabulary: one change to the kernel's IPVS state. A batch is a slice of
//! these, and a plan of `apply` is a list of them; `netlink::codec` turns each into bytes.

use super::{DaemonState, DestKey, Destination, Service, ServiceKey, SyncDaemon, Timeouts};

/// One change to the kernel's IPVS state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    AddService(Service),
    /// Replaces scheduler, flags, timeout, netmask and engine of an existing service.
    EditService(Service),
    DelService(ServiceKey),
    AddDest(ServiceKey, Destination),
    /// Replaces forwarding, weight, thresholds and tunnel settings of a destination.
    EditDest(ServiceKey, Destination),
    DelDest(ServiceKey, DestKey),
    /// Zeroes the counters of one service, or of every service.
    Zero(Option<ServiceKey>),
    /// Deletes every service.
    Flush,
    SetTimeouts(Timeouts),
    StartDaemon(SyncDaemon),
    StopDaemon(DaemonState),
}
