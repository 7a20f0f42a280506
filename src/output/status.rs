//! `-L --timeout` and `-L --daemon`.

use std::io::{self, Write};

use crate::model::{DaemonState, SyncDaemon, Timeouts};

/// ipvsadm keeps interface names in a 16-byte buffer.
const IFNAME_MAX: usize = 15;

pub(crate) fn write_timeouts(out: &mut dyn Write, t: &Timeouts) -> io::Result<()> {
    writeln!(
        out,
        "Timeout (tcp tcpfin udp): {} {} {}",
        t.tcp as i32, t.tcp_fin as i32, t.udp as i32
    )
}

/// One line per daemon, in the order given (the kernel reports the master first).
pub(crate) fn write_daemons(out: &mut dyn Write, daemons: &[SyncDaemon]) -> io::Result<()> {
    daemons.iter().try_for_each(|d| write_daemon(out, d))
}

/// `master sync daemon (mcast=IF, syncid=N[, maxlen=L][, group=G][, port=P][, ttl=T])`.
fn write_daemon(out: &mut dyn Write, d: &SyncDaemon) -> io::Result<()> {
    let role = match d.state {
        DaemonState::Master => "master",
        DaemonState::Backup => "backup",
    };
    let ifname = &d.mcast_ifn.as_bytes()[..d.mcast_ifn.len().min(IFNAME_MAX)];
    write!(out, "{role} sync daemon (mcast=")?;
    out.write_all(ifname)?;
    write!(out, ", syncid={}", d.sync_id as i32)?;
    if d.sync_maxlen != 0 {
        write!(out, ", maxlen={}", d.sync_maxlen)?;
    }
    if let Some(group) = d.mcast_group {
        write!(out, ", group={}", crate::nss::numeric_host(group))?;
    }
    if d.mcast_port != 0 {
        write!(out, ", port={}", d.mcast_port)?;
    }
    if d.mcast_ttl != 0 {
        write!(out, ", ttl={}", d.mcast_ttl)?;
    }
    out.write_all(b")\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_line() {
        let mut out = Vec::new();
        let t = Timeouts {
            tcp: 900,
            tcp_fin: 120,
            udp: 300,
        };
        write_timeouts(&mut out, &t).unwrap();
        assert_eq!(out, b"Timeout (tcp tcpfin udp): 900 120 300\n");
    }

    #[test]
    fn daemon_lines() {
        let mut master = SyncDaemon::new(DaemonState::Master, "eth0");
        master.sync_maxlen = 1472;
        master.mcast_group = Some("224.0.0.81".parse().unwrap());
        master.mcast_port = 8848;
        master.mcast_ttl = 1;
        let mut backup = SyncDaemon::new(DaemonState::Backup, "eth1");
        backup.sync_id = 7;
        let mut out = Vec::new();
        write_daemons(&mut out, &[master, backup]).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "master sync daemon (mcast=eth0, syncid=0, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)\n\
             backup sync daemon (mcast=eth1, syncid=7)\n"
        );
    }
}
