//! rsipvsadm: a drop-in compatible replacement for ipvsadm.
pub mod cli;
