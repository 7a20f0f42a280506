//! `top`: not built yet (issue 11).

use clap::{ArgMatches, Command};

use crate::cli::console::errln;

/// `rsipvsadm top`.
pub fn command() -> Command {
    Command::new("top").about("Not built yet")
}

/// Runs `top`; returns the exit status.
pub fn run(name: &str, _program: &str, _matches: &ArgMatches) -> i32 {
    errln!("{name}: not built yet");
    2
}
