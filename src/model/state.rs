//! The one document for the IPVS state of a network namespace: what listings, `-S`, the
//! JSON output and `apply` all read, and what `apply` is given as its desired state
//! (with empty observations).

use super::{
    DestObserved, Destination, Info, Service, ServiceKey, ServiceObserved, SyncDaemon, Timeouts,
};

/// A virtual service with its real servers, in the kernel's order (newest first: the
/// order the `sh`, `dh` and `mh` schedulers hash over).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualService {
    pub service: Service,
    pub observed: ServiceObserved,
    pub dests: Vec<RealServer>,
}

/// A real server of a virtual service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealServer {
    pub dest: Destination,
    pub observed: DestObserved,
}

impl VirtualService {
    /// A service with nothing observed and no destinations yet.
    pub fn new(service: Service) -> Self {
        VirtualService {
            service,
            observed: ServiceObserved::default(),
            dests: Vec::new(),
        }
    }

    /// A stand-in for a service taken out of a list, without allocations.
    pub fn placeholder(key: ServiceKey) -> Self {
        VirtualService::new(Service::new(key, String::new()))
    }

    /// Adds a real server after the others (configuration only).
    pub fn with_dest(mut self, dest: Destination) -> Self {
        self.dests.push(RealServer::new(dest));
        self
    }
}

impl RealServer {
    pub fn new(dest: Destination) -> Self {
        RealServer {
            dest,
            observed: DestObserved::default(),
        }
    }
}

/// Everything IPVS holds in a namespace. Parts not read are `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct State {
    pub services: Vec<VirtualService>,
    pub timeouts: Option<Timeouts>,
    pub daemons: Option<Vec<SyncDaemon>>,
    pub info: Option<Info>,
}
