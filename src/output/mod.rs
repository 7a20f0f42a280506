//! ipvsadm's output formats, byte for byte: listings (`-L` and its options), save (`-S`),
//! timeouts, daemons and the connection table. See shared/ipvsadm-behaviour.md §6–7.

use std::io::{self, Write};

use crate::cli::ListOptions;
use crate::model::{Destination, Info, Service, SyncDaemon, Timeouts};

/// A service with its destinations, as listed.
pub type ServiceEntry = (Service, Vec<Destination>);

/// Sorts services and each one's destinations as ipvsadm does (glibc merge sort with
/// ipvsadm's wrapping comparators), unless `nosort`.
pub fn sort_table(table: &mut [ServiceEntry]) {
    let _ = table;
}

/// `IP Virtual Server version 1.2.1 (size=4096)`.
pub fn write_version_line(out: &mut dyn Write, info: &Info) -> io::Result<()> {
    let _ = (out, info);
    Ok(())
}

/// The two title lines of a listing in the format `opts` selects.
pub fn write_title(out: &mut dyn Write, opts: &ListOptions) -> io::Result<()> {
    let _ = (out, opts);
    Ok(())
}

/// One service line and its destination lines (already sorted as wanted).
pub fn write_service(out: &mut dyn Write, entry: &ServiceEntry, opts: &ListOptions) -> io::Result<()> {
    let _ = (out, entry, opts);
    Ok(())
}

/// `-S`: one `-A` line per service, then its `-a` lines (already sorted).
pub fn write_save(out: &mut dyn Write, table: &[ServiceEntry], numeric: bool) -> io::Result<()> {
    let _ = (out, table, numeric);
    Ok(())
}

/// `-L --timeout`.
pub fn write_timeouts(out: &mut dyn Write, timeouts: &Timeouts) -> io::Result<()> {
    let _ = (out, timeouts);
    Ok(())
}

/// `-L --daemon`: master first, then backup.
pub fn write_daemons(out: &mut dyn Write, daemons: &[SyncDaemon]) -> io::Result<()> {
    let _ = (out, daemons);
    Ok(())
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
    let _ = (out, proc_text, opts);
    Ok(())
}
