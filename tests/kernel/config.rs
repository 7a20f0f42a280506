//! Kernel info, connection timeouts, sync daemons and counters.

use nix::errno::Errno;
use rsipvsadm::Request;
use rsipvsadm::model::{DaemonState, Service, ServiceKey, SyncDaemon, Timeouts};

use std::os::unix::process::CommandExt;
use std::process::Command;
use std::time::Duration;

use crate::common::{Exit, ipvsadm_bin, proc_net_ip_vs, rsipvsadm_bin, run_with_timeout};
use crate::{ip, ipvs, kernel_before_7_1, netns_test};

/// The connection table size is whatever the kernel reports: fixed before 7.1, 0 in a
/// fresh namespace from 7.1 (its table grows on demand). ipvsadm and rsipvsadm print it
/// alike, and /proc/net/ip_vs says the same.
#[test]
fn info_reports_the_ipvs_version_and_table_size() {
    netns_test(|| {
        let info = ipvs().info().unwrap();
        assert_eq!(info.version_string(), "1.2.1");
        if kernel_before_7_1() {
            assert!(info.conn_tab_size > 0, "{info:?}");
        }
        let header = format!(
            "IP Virtual Server version 1.2.1 (size={})",
            info.conn_tab_size
        );
        for (name, program) in [("ipvsadm", ipvsadm_bin()), ("rsipvsadm", rsipvsadm_bin())] {
            let out = run_with_timeout(
                Command::new(program).arg0(name).arg("-Ln"),
                None,
                Duration::from_secs(60),
            );
            assert_eq!(
                out.exit,
                Exit::Code(0),
                "{name} -Ln: {}",
                out.stderr_lossy()
            );
            let stdout = out.stdout_lossy();
            assert_eq!(stdout.lines().next(), Some(header.as_str()), "{name} -Ln");
        }
        assert_eq!(proc_net_ip_vs().lines().next(), Some(header.as_str()));
    });
}

#[test]
fn timeouts_are_set_and_read_back() {
    netns_test(|| {
        let mut ipvs = ipvs();
        let defaults = Timeouts {
            tcp: 900,
            tcp_fin: 120,
            udp: 300,
        };
        assert_eq!(ipvs.timeouts().unwrap(), defaults);
        let set = Timeouts {
            tcp: 3600,
            tcp_fin: 0, // 0 leaves it unchanged
            udp: 60,
        };
        ipvs.apply(&Request::SetTimeouts(set)).unwrap();
        let expected = Timeouts {
            tcp_fin: 120,
            ..set
        };
        assert_eq!(ipvs.timeouts().unwrap(), expected);
        let too_long = Timeouts {
            tcp: u32::MAX,
            ..set
        };
        let err = ipvs.apply(&Request::SetTimeouts(too_long)).unwrap_err();
        assert_eq!(err.errno(), Some(Errno::EINVAL));
    });
}

#[test]
fn sync_daemons_start_list_and_stop() {
    netns_test(|| {
        let mut ipvs = ipvs();
        assert!(ipvs.daemons().unwrap().is_empty());
        let mut master = SyncDaemon::new(DaemonState::Master, "rs0");
        master.sync_id = 7;
        ipvs.apply(&Request::StartDaemon(master)).unwrap();

        let listed = ipvs.daemons().unwrap();
        assert_eq!(listed.len(), 1, "{listed:?}");
        let daemon = &listed[0];
        assert_eq!(daemon.state, DaemonState::Master);
        assert_eq!(daemon.mcast_ifn, "rs0");
        assert_eq!(daemon.sync_id, 7);
        // The kernel fills in its defaults.
        assert_eq!(daemon.mcast_group, Some(ip("224.0.0.81")));
        assert_eq!(daemon.mcast_port, 8848);
        assert_eq!(daemon.mcast_ttl, 1);

        let again = ipvs.apply(&Request::StartDaemon(SyncDaemon::new(
            DaemonState::Master,
            "rs0",
        )));
        assert_eq!(again.unwrap_err().errno(), Some(Errno::EEXIST));
        let no_iface = SyncDaemon::new(DaemonState::Backup, "nosuch0");
        let err = ipvs.apply(&Request::StartDaemon(no_iface)).unwrap_err();
        assert_eq!(err.errno(), Some(Errno::ENODEV));

        ipvs.apply(&Request::StopDaemon(DaemonState::Master))
            .unwrap();
        assert!(ipvs.daemons().unwrap().is_empty());
        let err = ipvs
            .apply(&Request::StopDaemon(DaemonState::Master))
            .unwrap_err();
        assert_eq!(err.errno(), Some(Errno::ESRCH));
    });
}

#[test]
fn zero_accepts_one_service_or_all_and_refuses_a_missing_one() {
    netns_test(|| {
        let mut ipvs = ipvs();
        let key = ServiceKey::tcp(ip("10.0.0.1"), 80);
        ipvs.apply(&Request::AddService(Service::new(key, "rr")))
            .unwrap();
        ipvs.apply(&Request::Zero(Some(key))).unwrap();
        ipvs.apply(&Request::Zero(None)).unwrap();
        assert_eq!(ipvs.listed_service(&key).unwrap().observed.stats.conns, 0);
        let missing = ServiceKey::tcp(ip("10.0.0.2"), 80);
        let err = ipvs.apply(&Request::Zero(Some(missing))).unwrap_err();
        assert_eq!(err.errno(), Some(Errno::ESRCH));
    });
}
