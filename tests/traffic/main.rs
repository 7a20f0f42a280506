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

use std::sync::{Mutex, MutexGuard};

/// Held by every test for its whole run.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}
