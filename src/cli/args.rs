//! ipvsadm's argv, parsed and validated exactly as ipvsadm 1.31 (libpopt) does it:
//! the same accepted forms, the same order of checks, the same messages and exit codes.
//! See shared/ipvsadm-behaviour.md §1–5 and §8.1.
//!
//! The scanner is hand-written rather than clap: ipvsadm's behaviour is popt's, down to
//! details no general-purpose parser reproduces (the command must be the first option,
//! `-At10.0.0.1:80` and `-s=rr` clusters, `-p`'s optional value that never starts with
//! `-`, values taken even when they look like options, `!#:+` expansion, popt errors
//! reported only when the scan reaches them, "invalid option" naming the last argv
//! element consumed). [`popt`] is that scanner; [`table`] holds ipvsadm's option table
//! and matrices as data; [`entry`] applies options in argv order and runs the final
//! checks; [`values`] parses the values.
//!
//! Arguments are handled as bytes, as ipvsadm sees them, and messages quote them byte for
//! byte; only names sent to the kernel (scheduler, engine, interface) go through a lossy
//! conversion to text (a name that is not UTF-8 names no module either way).
//!
//! One deliberate difference: a `-b` list without any item (`-b ,`) crashes ipvsadm
//! (SIGSEGV); here it is refused with ``invalid scheduler flag `,'`` (the whole list
//! quoted), exit 2.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;

use super::Command;

mod entry;
pub(crate) mod popt;
pub(crate) mod table;
mod values;

#[cfg(test)]
mod tests;

use super::rules::RuleLine;
use entry::Entry;
use popt::{Args, Scanner};
use table::{Cmd, OPTIONS, Opt, SHORT_OPTIONS};

/// A command line ipvsadm refuses: what it prints on stderr and the exit status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// The exact stderr text, trailing newline(s) included.
    pub message: Vec<u8>,
    /// 2 for validation errors, 255 for popt errors and the "Try ..." line.
    pub exit_code: i32,
}

/// Exit status of validation errors.
const EXIT_INVALID: i32 = 2;
/// Exit status of popt errors and of the "Try" line (`return -1` from main).
const EXIT_POPT: i32 = 255;

impl ParseError {
    fn invalid(mut message: Vec<u8>) -> Self {
        message.push(b'\n');
        ParseError {
            message,
            exit_code: EXIT_INVALID,
        }
    }

    /// ``Try `ipvsadm -h' or 'ipvsadm --help' for more information.``, exit 255.
    pub fn try_help(argv0: &[u8]) -> Self {
        let message = [
            b"Try `",
            argv0,
            b" -h' or '",
            argv0,
            b" --help' for more information.\n",
        ]
        .concat();
        ParseError {
            message,
            exit_code: EXIT_POPT,
        }
    }

    /// Whether this is the "Try ..." line (as opposed to a popt error, also exit 255).
    pub fn is_try_help(&self) -> bool {
        self.message.starts_with(b"Try `")
    }

    /// The message on one line without its newline(s), for `line N: ...` reports.
    pub fn one_line(&self) -> Vec<u8> {
        let trimmed = self.message.trim_ascii_end();
        trimmed
            .iter()
            .map(|&b| if b == b'\n' { b' ' } else { b })
            .collect()
    }
}

/// Parses a whole argv, `argv[0]` (the program name used in messages) included.
pub fn parse(argv: &[OsString]) -> Result<Command, ParseError> {
    let argv: Vec<Vec<u8>> = argv.iter().map(|a| a.as_bytes().to_vec()).collect();
    parse_bytes(argv.as_slice(), posix_me_harder(), Dialect::CommandLine)
}

/// Parses one line of `-R` input (as an argv: the program name, then the line's words).
/// Unlike ipvsadm, a rule may name a fwmark of 2^31 or more by the negative number
/// ipvsadm's `-S` prints for it, so that every saved table restores.
pub fn parse_rule(argv: &[Vec<u8>]) -> Result<Command, ParseError> {
    parse_bytes(argv, posix_me_harder(), Dialect::Rule)
}

/// Rule lines as argument lists: the program name, then the line's words, read where
/// they are (no argv is built per line).
pub struct RuleArgv(Vec<u8>);

impl RuleArgv {
    pub fn new(program: &[u8]) -> Self {
        RuleArgv(program.to_vec())
    }

    /// [`parse_rule`] of one line's words.
    pub fn parse(&self, line: &RuleLine) -> Result<Command, ParseError> {
        let argv = LineArgs {
            program: &self.0,
            line,
        };
        parse_bytes(&argv, posix_me_harder(), Dialect::Rule)
    }
}

/// A program name and a rule line's words, as one argument list.
struct LineArgs<'a> {
    program: &'a [u8],
    line: &'a RuleLine,
}

impl Args for LineArgs<'_> {
    fn count(&self) -> usize {
        1 + self.line.len()
    }

    fn arg(&self, index: usize) -> &[u8] {
        match index {
            0 => self.program,
            _ => self.line.word(index - 1),
        }
    }
}

/// Where a command line comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    CommandLine,
    Rule,
}

/// popt's `POSIXLY_CORRECT` / `POSIX_ME_HARDER` (looked up once: restores parse many
/// lines).
fn posix_me_harder() -> bool {
    static POSIX: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *POSIX.get_or_init(|| {
        ["POSIXLY_CORRECT", "POSIX_ME_HARDER"]
            .iter()
            .any(|name| std::env::var_os(name).is_some())
    })
}

/// [`parse`] on raw arguments; `posix_me_harder`: the first positional argument ends the
/// options (popt under `POSIXLY_CORRECT`).
fn parse_bytes<A: Args + ?Sized>(
    argv: &A,
    posix_me_harder: bool,
    dialect: Dialect,
) -> Result<Command, ParseError> {
    if argv.count() <= 1 {
        return Ok(Command::List(Default::default()));
    }
    let argv0 = argv.arg(0);
    let mut scanner = Scanner::new(OPTIONS, &SHORT_OPTIONS, argv, posix_me_harder);
    let first = match scanner.next_opt() {
        Ok(Some(found)) => found,
        Ok(None) | Err(_) => return Err(ParseError::try_help(argv0)),
    };
    let cmd = match first.id {
        Opt::Help => return Ok(Command::Help),
        Opt::Version => return Ok(Command::Version),
        id => Cmd::of(id).ok_or_else(|| ParseError::try_help(argv0))?,
    };
    let mut entry =
        Entry::new(cmd, first.value.as_deref(), dialect).map_err(ParseError::invalid)?;
    read_options(&mut scanner, &mut entry)?;
    read_positionals(&mut scanner, &mut entry).map_err(ParseError::invalid)?;
    entry.finish().map_err(ParseError::invalid)
}

/// The options after the command, strictly left to right; a popt error ends the scan and
/// is reported only once everything to its left was accepted.
fn read_options<A: Args + ?Sized>(
    scanner: &mut Scanner<'_, Opt, A>,
    entry: &mut Entry,
) -> Result<(), ParseError> {
    loop {
        let found = match scanner.next_opt() {
            Ok(Some(found)) => found,
            Ok(None) => return Ok(()),
            Err(error) => {
                let message = [scanner.bad_option(), b": ", error.text().as_bytes(), b"\n"];
                return Err(ParseError {
                    message: message.concat(),
                    exit_code: EXIT_POPT,
                });
            }
        };
        let accepted = entry
            .apply(found.id, found.value.as_deref())
            .map_err(ParseError::invalid)?;
        if !accepted {
            let message = [b"invalid option `", scanner.bad_option(), b"'"].concat();
            return Err(ParseError::invalid(message));
        }
    }
}

/// `--set`'s three values, then any argument left over.
fn read_positionals<A: Args + ?Sized>(
    scanner: &mut Scanner<'_, Opt, A>,
    entry: &mut Entry,
) -> Result<(), Vec<u8>> {
    if entry.is_set() {
        match (scanner.next_arg(), scanner.next_arg(), scanner.next_arg()) {
            (Some(tcp), Some(tcp_fin), Some(udp)) => entry.set_timeouts([tcp, tcp_fin, udp])?,
            _ => return Err("--set option requires 3 timeout values".into()),
        }
    }
    match scanner.next_arg() {
        Some(arg) => Err([b"unexpected argument ", arg].concat()),
        None => Ok(()),
    }
}
