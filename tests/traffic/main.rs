//! End-to-end traffic through the balancer (issue 5): placeholder until the tests land.
#[path = "../common/mod.rs"]
mod common;
