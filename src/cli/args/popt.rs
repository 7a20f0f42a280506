//! A scanner with libpopt 1.19's semantics for a table without aliases, callbacks or
//! single-dash long options: exactly what ipvsadm's `poptGetNextOpt` loop sees.
//!
//! - `--name` or `--name=value` (exact names, no abbreviation); `--` ends the options;
//!   a lone `-`, the empty string and every word not starting with `-` are leftovers.
//! - `-abc` is a cluster of short options; an option taking a value takes the rest of the
//!   cluster (one leading `=` skipped), else the next argv element whatever it looks like.
//!   A flag followed by `=` in a cluster is an "unwanted argument".
//! - An optional value (`-p`) only takes a next element that does not start with `-`.
//! - `!#:+` inside a value is replaced by the next leftover-looking element, which is then
//!   skipped (popt's `expandNextArg`).
//! - With `POSIXLY_CORRECT`/`POSIX_ME_HARDER` the first leftover ends option processing.
//!
//! Arguments are bytes: ipvsadm sees C strings, so nothing here assumes UTF-8. Values
//! are borrowed from the argument list unless an expansion built them.

use std::borrow::Cow;

/// An argument list, `argv[0]` included: a command line, or the program name and one
/// rule line's words (read in place, without an argv built per line).
pub trait Args {
    fn count(&self) -> usize;
    fn arg(&self, index: usize) -> &[u8];
}

impl<A: AsRef<[u8]>> Args for Vec<A> {
    fn count(&self) -> usize {
        self.len()
    }

    fn arg(&self, index: usize) -> &[u8] {
        self[index].as_ref()
    }
}

impl<A: AsRef<[u8]>> Args for [A] {
    fn count(&self) -> usize {
        self.len()
    }

    fn arg(&self, index: usize) -> &[u8] {
        self[index].as_ref()
    }
}

/// Whether an option takes a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgKind {
    None,
    Required,
    Optional,
}

/// One row of the option table: `long` is empty and/or `short` is `None` when absent.
#[derive(Debug, Clone, Copy)]
pub struct OptSpec<T> {
    pub long: &'static str,
    pub short: Option<u8>,
    pub arg: ArgKind,
    pub id: T,
}

/// Where each short option is in a table: 1 + the index of the first row with that
/// character, 0 for none (a table has fewer than 255 rows). Built once, at compile time,
/// so that a rule file does not search the table for every option of every line.
pub const fn short_index<T: Copy>(table: &[OptSpec<T>]) -> [u8; 256] {
    assert!(table.len() < 255);
    let mut index = [0u8; 256];
    let mut row = table.len();
    // Backwards: the first row with a character is the one left in place.
    while row > 0 {
        row -= 1;
        if let Some(c) = table[row].short {
            index[c as usize] = row as u8 + 1;
        }
    }
    index
}

/// popt's error codes that ipvsadm can meet, with `poptStrerror`'s texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoptError {
    BadOpt,
    NoArg,
    UnwantedArg,
}

impl PoptError {
    pub fn text(self) -> &'static str {
        match self {
            PoptError::BadOpt => "unknown option",
            PoptError::NoArg => "missing argument",
            PoptError::UnwantedArg => "option does not take an argument",
        }
    }
}

/// An option found: its id and its value (`None` for flags and an absent optional value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found<'a, T> {
    pub id: T,
    pub value: Option<Cow<'a, [u8]>>,
}

/// Position inside a short-option cluster: argv index and byte offset.
#[derive(Debug, Clone, Copy)]
struct CharArg {
    arg: usize,
    offset: usize,
}

/// Where an option's value may come from, besides the next argv element.
enum Inline<'a> {
    /// `--name` without `=`.
    Nothing,
    /// `--name=value`.
    Long(&'a [u8]),
    /// A short option; the rest of its cluster, if any.
    Cluster(Option<CharArg>),
}

/// What one argv element turned out to be.
enum Element<'a, T> {
    /// A leftover, `--`, or an element consumed by an expansion.
    Skip,
    Long(OptSpec<T>, Option<&'a [u8]>),
    Cluster(CharArg),
}

/// popt's `!#:+`: "the next argument" inside a value.
const EXPANSION: &[u8] = b"!#:+";

pub struct Scanner<'a, T: Copy, A: Args + ?Sized> {
    table: &'a [OptSpec<T>],
    /// [`short_index`] of `table`.
    short: &'a [u8; 256],
    argv: &'a A,
    /// Index of the next argv element (popt's `os->next`).
    next: usize,
    char_arg: Option<CharArg>,
    rest_leftover: bool,
    posix_me_harder: bool,
    /// Elements consumed by a `!#:+` expansion (popt's `argb`); empty until one is.
    deleted: Vec<bool>,
    leftovers: Vec<usize>,
    next_leftover: usize,
}

impl<'a, T: Copy, A: Args + ?Sized> Scanner<'a, T, A> {
    pub fn new(
        table: &'a [OptSpec<T>],
        short: &'a [u8; 256],
        argv: &'a A,
        posix_me_harder: bool,
    ) -> Self {
        Scanner {
            table,
            short,
            argv,
            next: 1.min(argv.count()),
            char_arg: None,
            rest_leftover: false,
            posix_me_harder,
            deleted: Vec::new(),
            leftovers: Vec::new(),
            next_leftover: 0,
        }
    }

    /// `poptGetNextOpt`: the next option, `Ok(None)` at the end, or an error.
    pub fn next_opt(&mut self) -> Result<Option<Found<'a, T>>, PoptError> {
        loop {
            let (spec, inline) = match self.char_arg.take() {
                Some(at) => self.short_option(at)?,
                None => {
                    if self.next >= self.argv.count() {
                        return Ok(None);
                    }
                    match self.read_element()? {
                        Element::Skip => continue,
                        Element::Long(spec, None) => (spec, Inline::Nothing),
                        Element::Long(spec, Some(value)) => (spec, Inline::Long(value)),
                        Element::Cluster(at) => {
                            self.char_arg = Some(at);
                            continue;
                        }
                    }
                }
            };
            let value = self.take_value(spec.arg, inline)?;
            return Ok(Some(Found { id: spec.id, value }));
        }
    }

    /// `poptBadOption`: the last argv element consumed.
    pub fn bad_option(&self) -> &'a [u8] {
        let last = self.next.wrapping_sub(1);
        if last < self.argv.count() {
            self.argv.arg(last)
        } else {
            &[]
        }
    }

    /// `poptGetArg`: the next leftover (positional) argument.
    pub fn next_arg(&mut self) -> Option<&'a [u8]> {
        let index = *self.leftovers.get(self.next_leftover)?;
        self.next_leftover += 1;
        Some(self.argv.arg(index))
    }

    fn is_deleted(&self, index: usize) -> bool {
        self.deleted.get(index).copied().unwrap_or(false)
    }

    fn read_element(&mut self) -> Result<Element<'a, T>, PoptError> {
        let this = self.next;
        self.next += 1;
        if self.is_deleted(this) {
            return Ok(Element::Skip);
        }
        let argv: &'a A = self.argv;
        let text = argv.arg(this);
        if self.rest_leftover || text.first() != Some(&b'-') || text.len() == 1 {
            if self.posix_me_harder {
                self.rest_leftover = true;
            }
            self.leftovers.push(this);
            return Ok(Element::Skip);
        }
        if text == b"--" {
            self.rest_leftover = true;
            return Ok(Element::Skip);
        }
        if text[1] != b'-' {
            // No option of ipvsadm's table allows a single dash before a long name.
            return Ok(Element::Cluster(CharArg {
                arg: this,
                offset: 1,
            }));
        }
        let body = &text[2..];
        let (name, value) = match body.iter().position(|&b| b == b'=') {
            Some(eq) => (&body[..eq], Some(&body[eq + 1..])),
            None => (body, None),
        };
        let spec = self
            .table
            .iter()
            .find(|spec| !spec.long.is_empty() && spec.long.as_bytes() == name)
            .ok_or(PoptError::BadOpt)?;
        Ok(Element::Long(*spec, value))
    }

    fn short_option(&self, at: CharArg) -> Result<(OptSpec<T>, Inline<'a>), PoptError> {
        let text = self.argv.arg(at.arg);
        let c = *text.get(at.offset).ok_or(PoptError::BadOpt)?;
        let row = usize::from(self.short[usize::from(c)]);
        let spec = row
            .checked_sub(1)
            .map(|row| &self.table[row])
            .ok_or(PoptError::BadOpt)?;
        let rest = (at.offset + 1 < text.len()).then_some(CharArg {
            arg: at.arg,
            offset: at.offset + 1,
        });
        Ok((*spec, Inline::Cluster(rest)))
    }

    fn take_value(
        &mut self,
        kind: ArgKind,
        inline: Inline<'a>,
    ) -> Result<Option<Cow<'a, [u8]>>, PoptError> {
        let argv: &'a A = self.argv;
        match (kind, inline) {
            (ArgKind::None, Inline::Long(_)) => Err(PoptError::UnwantedArg),
            (ArgKind::None, Inline::Cluster(Some(rest))) => {
                if argv.arg(rest.arg)[rest.offset] == b'=' {
                    return Err(PoptError::UnwantedArg);
                }
                self.char_arg = Some(rest);
                Ok(None)
            }
            (ArgKind::None, _) => Ok(None),
            (_, Inline::Long(value)) => Ok(Some(self.expand(value))),
            (_, Inline::Cluster(Some(rest))) => {
                let text = &argv.arg(rest.arg)[rest.offset..];
                let text = text.strip_prefix(b"=").unwrap_or(text);
                Ok(Some(self.expand(text)))
            }
            (kind, _) => self.value_from_next(kind),
        }
    }

    fn value_from_next(&mut self, kind: ArgKind) -> Result<Option<Cow<'a, [u8]>>, PoptError> {
        if self.next >= self.argv.count() {
            return match kind {
                ArgKind::Optional => Ok(None),
                _ => Err(PoptError::NoArg),
            };
        }
        let argv: &'a A = self.argv;
        let text = argv.arg(self.next);
        if kind == ArgKind::Optional && text.first() == Some(&b'-') {
            return Ok(None);
        }
        self.next += 1;
        Ok(Some(self.expand(text)))
    }

    /// `expandNextArg`: every `!#:+` becomes the next element that does not start with
    /// `-` (found once, then marked consumed); without one the text stays as it is.
    fn expand(&mut self, text: &'a [u8]) -> Cow<'a, [u8]> {
        if !text.windows(EXPANSION.len()).any(|w| w == EXPANSION) {
            return Cow::Borrowed(text);
        }
        let mut out = Vec::with_capacity(text.len());
        let mut found: Option<&'a [u8]> = None;
        let mut i = 0;
        while i < text.len() {
            if text[i..].starts_with(EXPANSION) {
                if found.is_none() {
                    found = self.take_next_arg();
                }
                if let Some(arg) = found {
                    out.extend_from_slice(arg);
                    i += EXPANSION.len();
                    continue;
                }
            }
            out.push(text[i]);
            i += 1;
        }
        Cow::Owned(out)
    }

    /// `findNextArg(con, 1, 1)`.
    fn take_next_arg(&mut self) -> Option<&'a [u8]> {
        let argv: &'a A = self.argv;
        let index = (self.next..argv.count())
            .find(|&i| !self.is_deleted(i) && argv.arg(i).first() != Some(&b'-'))?;
        if self.deleted.is_empty() {
            self.deleted = vec![false; argv.count()];
        }
        self.deleted[index] = true;
        Some(argv.arg(index))
    }
}
