//! ipvsadm's output formats, byte for byte: listings (`-L` and its options), save (`-S`),
//! timeouts, daemons and the connection table. See shared/ipvsadm-behaviour.md §6–7.
//!
//! Modules: `list` (version line, titles, service and destination lines), `save` (`-S`),
//! `status` (timeouts, daemons), `conn` (`-L -c`, with `scan` for its C-style parsing),
//! `sort` (glibc-compatible ordering), `names` (address/port text and name lookups),
//! `number` (the K/M/G/T printer), `flags` (texts shared by listings and save),
//! `columns` (which format wins), `identity` (a service's raw fields), `text` (padding).
//! Beside them, formats ipvsadm does not have: `plan` (apply's plan as rule lines),
//! `metrics` (the Prometheus exposition) and `top` (the live view's frame: rates, order,
//! layout).

use std::io::{self, Write};

use crate::model::{Info, RealServer, SyncDaemon, Timeouts, VirtualService};

mod columns;
mod conn;
mod flags;
mod identity;
mod list;
pub mod metrics;
mod names;
mod number;
mod options;
pub mod plan;
mod save;
mod scan;
mod sort;
mod status;
mod text;
pub mod top;

#[cfg(test)]
mod tests;

use names::SystemLookup;
pub use options::ListOptions;

/// Sorts services and each one's destinations as ipvsadm does (glibc merge sort with
/// ipvsadm's wrapping comparators).
pub fn sort_table(table: &mut [VirtualService]) {
    sort::sort_table(table);
}

/// Sorts the services as ipvsadm does, leaving each one's destinations in their order.
pub fn sort_services(table: &mut [VirtualService]) {
    sort::sort_services(table);
}

/// The indexes of the services in the order ipvsadm lists them (for a listing that
/// takes each service's destinations as it prints it).
pub fn service_order(table: &[VirtualService]) -> Vec<usize> {
    sort::service_order(table)
}

/// Sorts one service's destinations as ipvsadm does.
pub fn sort_dests(dests: &mut [RealServer]) {
    sort::sort_dests(dests);
}

/// `IP Virtual Server version 1.2.1 (size=4096)`.
pub fn write_version_line(out: &mut dyn Write, info: &Info) -> io::Result<()> {
    list::write_version_line(out, info)
}

/// The two title lines of a listing in the format `opts` selects.
pub fn write_title(out: &mut dyn Write, opts: &ListOptions) -> io::Result<()> {
    list::write_title(out, opts)
}

/// One service line and its destination lines (already sorted as wanted).
pub fn write_service(
    out: &mut dyn Write,
    entry: &VirtualService,
    opts: &ListOptions,
) -> io::Result<()> {
    list::write_service(out, entry, opts, &mut SystemLookup)
}

/// `-S`: one `-A` line per service, then its `-a` lines (already sorted).
pub fn write_save(out: &mut dyn Write, table: &[VirtualService], numeric: bool) -> io::Result<()> {
    save::write_save(out, table, numeric, &mut SystemLookup)
}

/// `-L --timeout`.
pub fn write_timeouts(out: &mut dyn Write, timeouts: &Timeouts) -> io::Result<()> {
    status::write_timeouts(out, timeouts)
}

/// `-L --daemon`: master first, then backup.
pub fn write_daemons(out: &mut dyn Write, daemons: &[SyncDaemon]) -> io::Result<()> {
    status::write_daemons(out, daemons)
}

/// Why `-L -c` failed: ipvsadm's stderr text (may be empty) for exit status 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnListError(pub String);

/// `-L -c`: the connection table from the text of `/proc/net/ip_vs_conn` (`None` if it
/// could not be opened).
pub fn write_connections(
    out: &mut dyn Write,
    proc_text: Option<&str>,
    opts: &ListOptions,
) -> Result<(), ConnListError> {
    conn::write_connections(out, proc_text, opts, &mut SystemLookup)
}
