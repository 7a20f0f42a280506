//! Not running as root: every IPVS command needs CAP_NET_ADMIN, and both tools must say
//! so in the same words, with the same exit status.

use std::os::unix::process::CommandExt;
use std::process::Command;
use std::time::Duration;

use crate::common::{ipvsadm_bin, rsipvsadm_bin, run_with_timeout};
use crate::netns_test;

const NOBODY: u32 = 65534;

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
                "ipvsadm {args:?} as uid {NOBODY}"
            );
            assert!(
                actual
                    .stderr_lossy()
                    .contains("Permission denied (you must be root)"),
                "{}",
                actual.stderr_lossy()
            );
        }
    });
}
