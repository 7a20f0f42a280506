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
//! Arguments are bytes: ipvsadm sees C strings, so nothing here assumes UTF-8.

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
pub struct Found<T> {
    pub id: T,
    pub value: Option<Vec<u8>>,
}

/// Position inside a short-option cluster: argv index and byte offset.
#[derive(Debug, Clone, Copy)]
struct CharArg {
    arg: usize,
    offset: usize,
}

/// Where an option's value may come from, besides the next argv element.
enum Inline {
    /// `--name` without `=`.
    Nothing,
    /// `--name=value`.
    Long(Vec<u8>),
    /// A short option; the rest of its cluster, if any.
    Cluster(Option<CharArg>),
}

/// What one argv element turned out to be.
enum Element<T> {
    /// A leftover, `--`, or an element consumed by an expansion.
    Skip,
    Long(OptSpec<T>, Option<Vec<u8>>),
    Cluster(CharArg),
}

/// popt's `!#:+`: "the next argument" inside a value.
const EXPANSION: &[u8] = b"!#:+";

pub struct Scanner<'a, T: Copy> {
    table: &'a [OptSpec<T>],
    argv: &'a [Vec<u8>],
    /// Index of the next argv element (popt's `os->next`).
    next: usize,
    char_arg: Option<CharArg>,
    rest_leftover: bool,
    posix_me_harder: bool,
    /// Elements consumed by a `!#:+` expansion (popt's `argb`).
    deleted: Vec<bool>,
    leftovers: Vec<usize>,
    next_leftover: usize,
}

impl<'a, T: Copy> Scanner<'a, T> {
    pub fn new(table: &'a [OptSpec<T>], argv: &'a [Vec<u8>], posix_me_harder: bool) -> Self {
        Scanner {
            table,
            argv,
            next: 1.min(argv.len()),
            char_arg: None,
            rest_leftover: false,
            posix_me_harder,
            deleted: vec![false; argv.len()],
            leftovers: Vec::new(),
            next_leftover: 0,
        }
    }

    /// `poptGetNextOpt`: the next option, `Ok(None)` at the end, or an error.
    pub fn next_opt(&mut self) -> Result<Option<Found<T>>, PoptError> {
        loop {
            let (spec, inline) = match self.char_arg.take() {
                Some(at) => self.short_option(at)?,
                None => {
                    if self.next >= self.argv.len() {
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
        self.argv
            .get(self.next.wrapping_sub(1))
            .map_or(&[][..], |a| a.as_slice())
    }

    /// `poptGetArg`: the next leftover (positional) argument.
    pub fn next_arg(&mut self) -> Option<&'a [u8]> {
        let index = *self.leftovers.get(self.next_leftover)?;
        self.next_leftover += 1;
        Some(&self.argv[index])
    }

    fn read_element(&mut self) -> Result<Element<T>, PoptError> {
        let this = self.next;
        self.next += 1;
        if self.deleted[this] {
            return Ok(Element::Skip);
        }
        let text = &self.argv[this];
        if self.rest_leftover || text.first() != Some(&b'-') || text.len() == 1 {
            if self.posix_me_harder {
                self.rest_leftover = true;
            }
            self.leftovers.push(this);
            return Ok(Element::Skip);
        }
        if text.as_slice() == b"--" {
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
            Some(eq) => (&body[..eq], Some(body[eq + 1..].to_vec())),
            None => (body, None),
        };
        let spec = self
            .table
            .iter()
            .find(|spec| !spec.long.is_empty() && spec.long.as_bytes() == name)
            .ok_or(PoptError::BadOpt)?;
        Ok(Element::Long(*spec, value))
    }

    fn short_option(&self, at: CharArg) -> Result<(OptSpec<T>, Inline), PoptError> {
        let text = &self.argv[at.arg];
        let c = *text.get(at.offset).ok_or(PoptError::BadOpt)?;
        let spec = self
            .table
            .iter()
            .find(|spec| spec.short == Some(c))
            .ok_or(PoptError::BadOpt)?;
        let rest = (at.offset + 1 < text.len()).then_some(CharArg {
            arg: at.arg,
            offset: at.offset + 1,
        });
        Ok((*spec, Inline::Cluster(rest)))
    }

    fn take_value(&mut self, kind: ArgKind, inline: Inline) -> Result<Option<Vec<u8>>, PoptError> {
        match (kind, inline) {
            (ArgKind::None, Inline::Long(_)) => Err(PoptError::UnwantedArg),
            (ArgKind::None, Inline::Cluster(Some(rest))) => {
                if self.argv[rest.arg][rest.offset] == b'=' {
                    return Err(PoptError::UnwantedArg);
                }
                self.char_arg = Some(rest);
                Ok(None)
            }
            (ArgKind::None, _) => Ok(None),
            (_, Inline::Long(value)) => Ok(Some(self.expand(&value))),
            (_, Inline::Cluster(Some(rest))) => {
                let text = &self.argv[rest.arg][rest.offset..];
                let text = text.strip_prefix(b"=").unwrap_or(text);
                Ok(Some(self.expand(text)))
            }
            (kind, _) => self.value_from_next(kind),
        }
    }

    fn value_from_next(&mut self, kind: ArgKind) -> Result<Option<Vec<u8>>, PoptError> {
        let Some(text) = self.argv.get(self.next) else {
            return match kind {
                ArgKind::Optional => Ok(None),
                _ => Err(PoptError::NoArg),
            };
        };
        if kind == ArgKind::Optional && text.first() == Some(&b'-') {
            return Ok(None);
        }
        self.next += 1;
        Ok(Some(self.expand(text)))
    }

    /// `expandNextArg`: every `!#:+` becomes the next element that does not start with
    /// `-` (found once, then marked consumed); without one the text stays as it is.
    fn expand(&mut self, text: &[u8]) -> Vec<u8> {
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
        out
    }

    /// `findNextArg(con, 1, 1)`.
    fn take_next_arg(&mut self) -> Option<&'a [u8]> {
        let argv = self.argv;
        let index = (self.next..argv.len())
            .find(|&i| !self.deleted[i] && argv[i].first() != Some(&b'-'))?;
        self.deleted[index] = true;
        Some(&argv[index])
    }
}
