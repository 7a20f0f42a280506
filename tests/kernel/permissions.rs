//! Not running as root: every IPVS command needs CAP_NET_ADMIN, and both tools must say
//! so in the same words, with the same exit status.

use std::os::unix::process::CommandExt;
use std::process::Command;
use std::time::Duration;

use crate::common::{ipvsadm_bin, rsipvsadm_bin, run_with_timeout};
use crate::netns_test;

const NOBODY: u32 = 65534;

/// Runs `args` with both tools as uid 65534: both must answer alike, with `says`.
fn both_refuse_nobody(args: &[&str], says: &str, when: &str) {
    let as_nobody = |program| {
        run_with_timeout(
            Command::new(program)
                .arg0("ipvsadm")
                .args(args)
                .uid(NOBODY)
                .gid(NOBODY),
            None,
            Duration::from_secs(60),
        )
    };
    let expected = as_nobody(ipvsadm_bin());
    let actual = as_nobody(rsipvsadm_bin());
    assert_eq!(
        (actual.exit, actual.stdout_lossy(), actual.stderr_lossy()),
        (
            expected.exit,
            expected.stdout_lossy(),
            expected.stderr_lossy()
        ),
        "ipvsadm {args:?} as uid {NOBODY}{when}"
    );
    assert!(
        actual.stderr_lossy().contains(says),
        "{}",
        actual.stderr_lossy()
    );
}

#[test]
fn a_non_root_user_gets_ipvsadms_refusal() {
    netns_test(|| {
        for args in [
            &["-Ln"][..],
            &["-A", "-t", "10.0.0.1:80", "-s", "rr"],
            &["-C"],
            &["-L", "--timeout"],
            &["-A", "-t", "10.0.0.1:0"],
        ] {
            both_refuse_nobody(args, "Permission denied (you must be root)", "");
        }
    });
}

/// Unloads the IPVS modules and makes the kernel unable to load modules on its own
/// (a generic netlink lookup of "IPVS" would load ip_vs otherwise); undone on drop.
struct IpvsUnloaded {
    modprobe_path: String,
    modules: Vec<String>,
}

const MODPROBE_SYSCTL: &str = "/proc/sys/kernel/modprobe";

fn loaded_ipvs_modules() -> Vec<String> {
    std::fs::read_to_string("/proc/modules")
        .expect("/proc/modules")
        .lines()
        .filter_map(|l| l.split(' ').next())
        .filter(|m| m.starts_with("ip_vs"))
        .map(str::to_string)
        .collect()
}

impl IpvsUnloaded {
    fn new() -> Self {
        let modprobe_path = std::fs::read_to_string(MODPROBE_SYSCTL).expect(MODPROBE_SYSCTL);
        let mut modules = loaded_ipvs_modules();
        // ip_vs last: every other one depends on it.
        modules.sort_by_key(|m| m == "ip_vs");
        std::fs::write(MODPROBE_SYSCTL, "/nonexistent/modprobe\n").expect(MODPROBE_SYSCTL);
        let guard = IpvsUnloaded {
            modprobe_path,
            modules,
        };
        // Namespaces of earlier tests may still be going away: their services hold the
        // scheduler modules until then.
        for _ in 0..120 {
            for m in &guard.modules {
                let _ = Command::new("rmmod").arg(m).output();
            }
            if loaded_ipvs_modules().is_empty() {
                return guard;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        panic!("cannot unload {:?}", loaded_ipvs_modules());
    }
}

impl Drop for IpvsUnloaded {
    fn drop(&mut self) {
        let _ = std::fs::write(MODPROBE_SYSCTL, &self.modprobe_path);
        for m in self.modules.iter().rev() {
            let _ = Command::new("modprobe").arg(m).output();
        }
    }
}

#[test]
fn without_the_module_a_non_root_user_gets_ipvsadms_refusal() {
    crate::netns_test_alone(|| {
        let unloaded = IpvsUnloaded::new();
        for args in [&["-Ln"][..], &["-A", "-t", "10.0.0.1:80"], &["-C"]] {
            both_refuse_nobody(
                args,
                "Can't initialize ipvs: Permission denied (you must be root)",
                " without the ip_vs module",
            );
        }
        drop(unloaded);
        assert!(
            loaded_ipvs_modules().contains(&"ip_vs".to_string()),
            "ip_vs is back for the tests after this one"
        );
    });
}

/// The verbs tell a user who is not root what to do (ipvsadm's surface keeps its text).
#[test]
fn a_non_root_user_is_told_to_run_as_root_by_the_verbs() {
    netns_test(|| {
        for args in [
            &["apply", "-"][..],
            &["diff", "-"],
            &["metrics"],
            &["metrics", "--listen", "127.0.0.1:9850"],
            &["top", "--batch", "--iterations", "1"],
        ] {
            let out = run_with_timeout(
                Command::new(rsipvsadm_bin())
                    .arg0("rsipvsadm")
                    .args(args)
                    .uid(NOBODY)
                    .gid(NOBODY),
                Some(b"-A -t 10.0.0.1:80\n"),
                Duration::from_secs(60),
            );
            let stderr = out.stderr_lossy();
            assert_eq!(out.exit, crate::common::Exit::Code(2), "{args:?}: {stderr}");
            assert!(
                stderr.contains("run as root") && stderr.contains("CAP_NET_ADMIN"),
                "{args:?}: {stderr}"
            );
        }
    });
}
