//! ipvsadm's argv, parsed and validated exactly as ipvsadm 1.31 (libpopt) does it:
//! the same accepted forms, the same order of checks, the same messages and exit codes.
//! See shared/ipvsadm-behaviour.md §1–5 and §8.1.

use std::ffi::OsString;

use super::Command;

/// A command line ipvsadm refuses: what it prints on stderr and the exit status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// The exact stderr text, trailing newline(s) included.
    pub message: String,
    /// 2 for validation errors, 255 for popt errors and the "Try ..." line.
    pub exit_code: i32,
}

/// Parses a whole argv, `argv[0]` (the program name used in messages) included.
pub fn parse(argv: &[OsString]) -> Result<Command, ParseError> {
    let _ = argv;
    Err(ParseError {
        message: "not implemented yet\n".into(),
        exit_code: 2,
    })
}
