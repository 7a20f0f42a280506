//! ipvsadm's command line: argv parsing and validation, and running the parsed command.

pub mod args;
pub mod command;

pub use command::{Command, ListOptions};

/// Placeholder until the runner lands: the command line is being built.
pub fn run() -> i32 {
    eprintln!("rsipvsadm: not implemented yet");
    2
}
