//! ipvsadm's command line: argv parsing and validation, running the parsed command, and
//! the texts ipvsadm prints (usage, version, kernel error messages).

pub mod args;
pub mod command;
pub mod console;
pub mod errors;
pub mod rules;
mod run;
pub mod spec;
pub mod usage;
pub mod verbs;

pub use crate::output::ListOptions;
pub use command::{Command, RestoreMode};

/// The program: ipvsadm's behaviour for this process's argv; returns the exit status.
pub fn run() -> i32 {
    console::ensure_standard_descriptors();
    run::main_with_args(std::env::args_os().collect())
}
