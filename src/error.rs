//! The library's error type.

use nix::errno::Errno;

use crate::netlink::DecodeError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The kernel refused a request; the errno is kept so callers can map it to the
    /// message ipvsadm prints for that operation.
    #[error("the kernel refused the request: {}", .0.desc())]
    Kernel(Errno),
    #[error("netlink socket error: {0}")]
    Io(#[from] std::io::Error),
    #[error("malformed netlink reply from the kernel: {0}")]
    Decode(#[from] DecodeError),
    /// A request that netlink cannot carry (an attribute over 64 KiB); nothing was sent.
    #[error("the request cannot be sent: {0}")]
    TooLarge(#[from] crate::netlink::nla::TooLarge),
    #[error(
        "the IPVS generic netlink family is missing: this kernel has no IPVS \
         (is the ip_vs module available? `modprobe ip_vs` did not help)"
    )]
    IpvsMissing,
    #[error(
        "the kernel dropped netlink replies (receive buffer overrun): the outcome of \
         some requests is unknown; list the table to see its state"
    )]
    RepliesLost,
    #[error("the kernel did not process the whole batch (no reply to its last request)")]
    BatchIncomplete,
    #[error("a table dump was interrupted by concurrent changes {0} times in a row")]
    DumpInterrupted(u32),
}

impl Error {
    /// The kernel's errno, when the kernel refused the request.
    pub fn errno(&self) -> Option<Errno> {
        match self {
            Error::Kernel(errno) => Some(*errno),
            _ => None,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
