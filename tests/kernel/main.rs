//! Kernel tests: the library against a real IPVS, inside the VM (tests/run), each test in
//! its own network namespace so they can run in parallel and never touch a host's table.

#[path = "../common/mod.rs"]
mod common;

mod apply;
mod batch;
mod config;
mod dests;
mod faults;
mod linear_read;
mod listing_race;
mod netns;
mod permissions;
mod proc_read;
mod raw_codec;
mod restore;
mod robustness;
mod services;

use std::net::IpAddr;
use std::sync::RwLock;

use rsipvsadm::procfs::ServiceTable;
use rsipvsadm::{Ipvs, Request};

use common::in_fresh_netns;

/// Before 7.1, /proc/net/ip_vs walks service tables shared by every namespace and loses its
/// place between reads larger than a record when other namespaces have services (the
/// tests read it as rsipvsadm does, a few bytes at a time); tests that read it run alone.
static TABLES: RwLock<()> = RwLock::new(());

/// Runs a test in a fresh namespace, alongside other tests.
fn netns_test<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let _shared = TABLES.read().unwrap_or_else(|e| e.into_inner());
    in_fresh_netns(move || {
        let _flush = FlushOnExit;
        f()
    })
}

/// Runs a test in a fresh namespace while no other test has services (for /proc checks).
fn netns_test_alone<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let _alone = TABLES.write().unwrap_or_else(|e| e.into_inner());
    in_fresh_netns(move || {
        let _flush = FlushOnExit;
        f()
    })
}

/// Empties the namespace's table when a test ends, even by a panic, so that nothing of
/// it lingers in the shared tables while the namespace is torn down asynchronously.
struct FlushOnExit;

impl Drop for FlushOnExit {
    fn drop(&mut self) {
        if let Ok(mut ipvs) = Ipvs::open() {
            let _ = ipvs.apply(&Request::Flush);
        }
    }
}

/// Opens IPVS in the calling thread's namespace (call it inside `in_fresh_netns`).
fn ipvs() -> Ipvs {
    Ipvs::open().expect("IPVS must be available in the test VM")
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

/// Whether the running kernel is older than 7.1 (7.1 keeps IPVS tables per namespace: dumps no longer repeat, the
/// connection table is sized on demand).
pub(crate) fn kernel_before_7_1() -> bool {
    let release = nix::sys::utsname::uname()
        .expect("uname")
        .release()
        .to_string_lossy()
        .into_owned();
    let mut numbers = release
        .split(|c: char| !c.is_ascii_digit())
        .map(|n| n.parse::<u32>().unwrap_or(0));
    let (major, minor) = (numbers.next().unwrap_or(0), numbers.next().unwrap_or(0));
    (major, minor) < (7, 1)
}

/// The services a dump lists, once the table has settled and the dump lists `expected` of
/// them, or after 10 s. From 7.1 the kernel moves a namespace's services to a larger table
/// (delayed work) once they outgrow the current one, and a dump meanwhile misses or
/// repeats some (as ipvsadm's does); a dump that lists `expected` can still come before
/// the move, and the next one miss services. So the table counts as settled when
/// /proc/net/ip_vs_status shows no move pending ([`ServiceTable::settled`]) and the same
/// table before and after the dump. Before 7.1 the first dump is the answer.
fn services_once_settled(ipvs: &mut Ipvs, expected: usize) -> Vec<rsipvsadm::model::Service> {
    if kernel_before_7_1() {
        return ipvs.services().expect("a service dump");
    }
    let status = || ServiceTable::read().expect("/proc/net/ip_vs_status on 7.1+");
    let started = std::time::Instant::now();
    loop {
        let before = status();
        let services = ipvs.services().expect("a service dump");
        let after = status();
        if (before == after && after.settled() && services.len() == expected)
            || started.elapsed() > std::time::Duration::from_secs(10)
        {
            return services;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}
