//! End-to-end traffic through the balancer, inside the VM (tests/run): every test builds
//! its own network of named namespaces (a client, one or two directors, real servers
//! running busybox httpd) joined by veth pairs, configures IPVS only through rsipvsadm,
//! and checks what the client receives (and, for `metrics`, what a scraper receives).
//!
//! The tests run one at a time ([`SERIAL`]): on the 6.1 kernel, service dumps misbehave
//! while other namespaces change their services, and the tests read whole tables.

#[path = "../common/mod.rs"]
mod common;

mod topology;

mod metrics;
mod nat;
mod reload;
mod sync;
mod top;
mod tunnel;

use std::process::Command;
use std::sync::{Mutex, MutexGuard, Once, mpsc};
use std::thread;
use std::time::Duration;

use common::{Exit, rsipvsadm_bin, run_with_timeout};

/// Held by every test for its whole run. The first to take it also starts
/// [`keep_ipvs_hooks`].
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    static HOOKS: Once = Once::new();
    HOOKS.call_once(keep_ipvs_hooks);
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Keeps IPVS's netfilter hooks registered while the tests run: an IPv4 and an IPv6
/// service in a namespace of its own, held by a parked thread until the process exits.
///
/// IPVS registers its hooks with a namespace's first service and unregisters them with
/// its last. When no namespace has a service, the kernel flips the static keys of those
/// hooks, which rewrites call sites of the kernel's code (text_poke_bp: an int3 first,
/// then the new bytes; 7 sites for IPv4's hooks, counted with kprobes on 6.1). A test
/// that flushes its only table under traffic (`ipvsadm -C`, reload.rs) did that while
/// packets ran through the sites. Under QEMU 7.2's software emulation a CPU then kept
/// executing the int3 it had translated after memory held the new instruction again:
/// the kernel's int3 handler saw no int3 there and sent it back, forever (soft lockup at
/// ip_local_deliver+0x5c, in 2 of 6 runs of these tests on 6.1; the VM then ran into its
/// timeout). A real CPU sees the new bytes. With these services no test's flush flips a
/// key.
fn keep_ipvs_hooks() {
    let (started, outcome) = mpsc::channel();
    thread::Builder::new()
        .name("ipvs-hooks".into())
        .spawn(move || {
            let added = nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET)
                .map_err(|e| format!("unshare(CLONE_NEWNET): {e}"))
                .and_then(|()| {
                    // Started from this thread, rsipvsadm runs in its namespace. IPVS
                    // registers the hooks of each address family with its first service.
                    let out = run_with_timeout(
                        Command::new(rsipvsadm_bin()).arg("-R"),
                        Some(b"-A -t 10.255.0.1:1\n-A -t [fd00::1]:1\n"),
                        Duration::from_secs(60),
                    );
                    match out.exit {
                        Exit::Code(0) => Ok(()),
                        _ => Err(format!("rsipvsadm -R: {}", out.stderr_lossy())),
                    }
                });
            let _ = started.send(added);
            loop {
                thread::park();
            }
        })
        .expect("cannot spawn the thread that keeps IPVS's hooks");
    if let Err(e) = outcome.recv().expect("the thread that keeps IPVS's hooks") {
        panic!("cannot keep IPVS's netfilter hooks registered: {e}");
    }
}
