//! Entry points of the fuzz targets: one function per target, taking the fuzzer's bytes.
//! `fuzz/fuzz_targets/*.rs` (cargo-fuzz, nightly) call them, and so does
//! `tests/fuzz_replay.rs` (stable, part of `cargo test`) with every committed corpus file,
//! so that an input that once failed keeps being tried. Each function panics only when a
//! property does not hold: the code under test must never panic on any input.
//!
//! Nothing here touches the kernel: the argv and rule targets stop at the parsed command,
//! and host and service names come from a fixed table (see [`crate::nss`]).

mod decoders;
mod input;
mod planner;

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

use crate::cli::args::{self, RuleArgv};
use crate::cli::rules::RuleReader;
use crate::json;
use crate::model::State;
use crate::plan::{self, DesiredService, Origin, Scope};

pub use decoders::{
    config_reply, daemon_reply, dest_reply, dump_stream, info_reply, service_reply,
};
pub use planner::planner;

/// A target's entry point.
pub type Target = fn(&[u8]);

/// Every target by name (the name of its fuzz target and of its corpus directory).
pub const TARGETS: &[(&str, Target)] = &[
    ("cli_args", cli_args),
    ("restore_input", restore_input),
    ("service_reply", service_reply),
    ("dest_reply", dest_reply),
    ("daemon_reply", daemon_reply),
    ("info_reply", info_reply),
    ("config_reply", config_reply),
    ("dump_stream", dump_stream),
    ("json_state", json_state),
    ("planner", planner),
];

/// Once per process, before any target runs.
fn setup() {
    crate::nss::use_fixed_names();
}

/// The ipvsadm command line: the bytes are argv after `argv[0]`, one argument per
/// NUL-separated piece (so arguments can hold any other byte).
pub fn cli_args(data: &[u8]) {
    setup();
    let mut argv = vec![OsString::from("ipvsadm")];
    if !data.is_empty() {
        argv.extend(
            data.split(|&b| b == 0)
                .map(|a| OsString::from_vec(a.to_vec())),
        );
    }
    if let Err(e) = args::parse(&argv) {
        assert!(
            e.exit_code == 2 || e.exit_code == 255,
            "exit status {} for {argv:?}",
            e.exit_code
        );
        let _ = e.one_line();
    }
}

/// `-R` input: split into rule lines as ipvsadm's reader does, each parsed as a rule.
pub fn restore_input(data: &[u8]) {
    setup();
    let argv = RuleArgv::new(b"ipvsadm");
    let mut last = 0;
    for line in RuleReader::new(data) {
        assert!(line.number > last, "line numbers go up");
        last = line.number;
        assert!(!line.is_empty(), "a rule line has a word");
        // A word may be empty: one that starts with a NUL is an empty C string to
        // ipvsadm, an empty argument (see `cli::rules`).
        assert!(
            line.words().all(|w| w.len() <= crate::cli::rules::MAX_WORD
                && !w.iter().any(|&b| b == 0 || b" \t\r\n".contains(&b))),
            "words are C strings of at most {} bytes without blanks: {:?}",
            crate::cli::rules::MAX_WORD,
            line.words().collect::<Vec<_>>()
        );
        let _ = argv.parse(&line);
    }
}

/// `apply`'s JSON document: read, checked as `apply` checks it; a document read back
/// from what was read, written out again, gives the same services.
pub fn json_state(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(services) = json::read_services(text) else {
        return;
    };
    let desired: Vec<DesiredService> = services
        .iter()
        .enumerate()
        .map(|(i, vs)| DesiredService {
            vs: vs.clone(),
            origin: Origin::json(i, None),
            dest_origins: (0..vs.dests.len())
                .map(|d| Origin::json(i, Some(d)))
                .collect(),
        })
        .collect();
    if plan::check(&desired, &Scope::everything()).is_empty() {
        let _ = plan::plan(&desired, &[], &Scope::everything(), false);
    }
    let written = json::state_document(&State {
        services: services.clone(),
        ..State::default()
    });
    let again = json::read_services(&written)
        .unwrap_or_else(|p| panic!("a document written from {services:?} does not read: {p:?}"));
    assert_eq!(again, services, "written and read again: {written}");
}
