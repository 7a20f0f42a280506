//! What an ipvsadm command line asks for, once parsed and validated: the contract between
//! the argv parser (`cli::args`), the runner (`cli::run`) and the output formats.

use crate::model::{DaemonState, DestKey, Destination, Service, ServiceKey, SyncDaemon, Timeouts};
use crate::output::ListOptions;

/// One parsed, validated ipvsadm invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `-h`: print the usage text (stdout, exit 0).
    Help,
    /// `-v`: print the version line (stdout, exit 0).
    Version,
    /// `-A`: the service as it is to be sent (defaults filled in: scheduler `wlc`, ...).
    AddService(Service),
    /// `-E`: likewise, a full replacement.
    EditService(Service),
    /// `-D`.
    DeleteService(ServiceKey),
    /// `-C`.
    Clear,
    /// `-a`: the destination as it is to be sent (port forcing and defaults applied).
    AddServer(ServiceKey, Destination),
    /// `-e`.
    EditServer(ServiceKey, Destination),
    /// `-d`.
    DeleteServer(ServiceKey, DestKey),
    /// `-L`/`-l`/`--list`, and no arguments at all.
    List(ListOptions),
    /// `-Z`, one service or all.
    Zero(Option<ServiceKey>),
    /// `-S`.
    Save { numeric: bool },
    /// `-R`, with rsipvsadm's optional safer modes.
    Restore(RestoreMode),
    /// `--set tcp tcpfin udp`.
    SetTimeouts(Timeouts),
    /// `--start-daemon` (interface defaulted to `eth0`).
    StartDaemon(SyncDaemon),
    /// `--stop-daemon`.
    StopDaemon { state: DaemonState, sync_id: u32 },
}

/// How `-R` treats its input. ipvsadm only has `Compatible`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RestoreMode {
    /// Line by line with ipvsadm's behaviour (batched, with the same outcome).
    #[default]
    Compatible,
    /// `--test`: check every line, report each bad one, change nothing.
    Test,
    /// `--strict`: apply nothing unless every line is good; then report each refused rule
    /// with its line number.
    Strict,
}
