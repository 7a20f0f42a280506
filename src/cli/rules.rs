//! Reading `-R` input the way ipvsadm 1.31 reads it, byte for byte.
//!
//! ipvsadm reads each line with a scanf-style tokenizer over C strings (see
//! shared/ipvsadm-behaviour.md §7.2, confirmed against its `config_stream_read`):
//!
//! - A word is a run of bytes other than blank, tab, CR and LF, read **at most 4096 bytes
//!   at a time**: a longer run becomes several words of 4096 bytes and a rest.
//! - A word is a C string: a NUL byte ends it, and the bytes after the NUL up to the next
//!   delimiter are lost (not a separate word).
//! - The word `ipvsadm` (compared as a C string) is dropped wherever it appears.
//! - A line ends at LF. Blanks after the last word and before the LF are skipped, but when
//!   blanks are followed by the end of the input instead of an LF, that last line is
//!   dropped, and so is the rest of the input: the reader gives up there.
//! - A read error ends the input like its end does: ipvsadm's `fscanf` cannot tell them
//!   apart (`rsipvsadm -R <&-` reads nothing and succeeds, as ipvsadm does).
//!
//! Everything stays bytes: rules reach the argv parser exactly as ipvsadm's popt sees them.

use std::io::{self, BufRead, BufReader, Read};

/// ipvsadm's `MAX_LINE_LENGTH`: the widest word its reader takes in one piece.
pub const MAX_WORD: usize = 4096;

/// The word ipvsadm drops from rules (`ipvsadm -A ...` lines work).
const PROGRAM_WORD: &[u8] = b"ipvsadm";

fn is_delimiter(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// One line of restore input with at least one word: its words kept back to back in one
/// buffer (a line costs no allocation per word, and none at all when read again into the
/// same `RuleLine` with [`RuleReader::read_into`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleLine {
    /// 1-based, counting every line of the input.
    pub number: usize,
    bytes: Vec<u8>,
    /// Where each word ends in `bytes`.
    ends: Vec<usize>,
}

impl RuleLine {
    /// A comment line for rsipvsadm's own rule readers (`-R --test`, `-R --strict`,
    /// `apply`): its first word starts with `#`. ipvsadm has no comments.
    pub fn is_comment(&self) -> bool {
        self.words()
            .next()
            .is_some_and(|w| w.first() == Some(&b'#'))
    }

    /// How many words the line has.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Word `index` (from 0).
    pub fn word(&self, index: usize) -> &[u8] {
        let start = if index == 0 { 0 } else { self.ends[index - 1] };
        &self.bytes[start..self.ends[index]]
    }

    pub fn words(&self) -> impl ExactSizeIterator<Item = &[u8]> {
        (0..self.len()).map(|i| self.word(i))
    }

    fn clear(&mut self) {
        self.bytes.clear();
        self.ends.clear();
    }

    /// Adds a word as ipvsadm's C strings see it: up to its first NUL, and left out if it
    /// is [`PROGRAM_WORD`].
    fn push_word(&mut self, word: &[u8]) {
        let end = word.iter().position(|&b| b == 0).unwrap_or(word.len());
        if &word[..end] != PROGRAM_WORD {
            self.bytes.extend_from_slice(&word[..end]);
            self.ends.push(self.bytes.len());
        }
    }
}

/// The lines of restore input, in order, as ipvsadm's reader splits them; lines without
/// a word are skipped.
pub struct RuleReader<R> {
    input: R,
    /// Newlines consumed so far.
    newlines: usize,
    done: bool,
}

impl<R: BufRead> RuleReader<R> {
    pub fn new(input: R) -> Self {
        RuleReader {
            input,
            newlines: 0,
            done: false,
        }
    }

    /// The next line with a word, read into `line` (its buffers used again); false once
    /// the input is over.
    pub fn read_into(&mut self, line: &mut RuleLine) -> bool {
        while !self.done {
            line.number = self.newlines + 1;
            line.clear();
            if !self.read_line(line) {
                self.done = true;
            } else if !line.is_empty() {
                return true;
            }
        }
        line.clear();
        false
    }

    /// The next byte without consuming it; `None` at the end of input or on a read error.
    fn peek(&mut self) -> Option<u8> {
        loop {
            return match self.input.fill_buf() {
                Ok(buf) => buf.first().copied(),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => None,
            };
        }
    }

    fn bump(&mut self) {
        self.input.consume(1);
    }

    /// Reads up to [`MAX_WORD`] bytes that are not delimiters into `word`.
    fn read_word(&mut self, word: &mut Vec<u8>) {
        word.clear();
        while word.len() < MAX_WORD {
            let buf = match self.input.fill_buf() {
                Ok(buf) if !buf.is_empty() => buf,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                _ => return,
            };
            let room = MAX_WORD - word.len();
            let run = buf
                .iter()
                .take(room)
                .take_while(|&&b| !is_delimiter(b))
                .count();
            let at_delimiter = run < room.min(buf.len());
            word.extend_from_slice(&buf[..run]);
            self.input.consume(run);
            if at_delimiter {
                return;
            }
        }
    }

    /// One line as ipvsadm's reader returns it, into `line`: false when the input is over
    /// (what was read of an unfinished line is then dropped, as the reference does), else
    /// true with its words (possibly none).
    fn read_line(&mut self, line: &mut RuleLine) -> bool {
        self.whole_line_in_buffer(line) || self.read_line_bytewise(line)
    }

    /// The common case at once: a line whose newline is already buffered. Its words are
    /// the runs between delimiters, cut every [`MAX_WORD`] bytes and at a NUL, exactly
    /// what the byte-by-byte reader makes of them (a line ended by a newline never meets
    /// the end of the input).
    fn whole_line_in_buffer(&mut self, line: &mut RuleLine) -> bool {
        let Ok(buf) = self.input.fill_buf() else {
            return false;
        };
        let Some(end) = buf.iter().position(|&b| b == b'\n') else {
            return false;
        };
        let runs = buf[..end]
            .split(|&b| is_delimiter(b))
            .filter(|run| !run.is_empty());
        for piece in runs.flat_map(|run| run.chunks(MAX_WORD)) {
            line.push_word(piece);
        }
        self.input.consume(end + 1);
        self.newlines += 1;
        true
    }

    /// Any line, byte by byte as ipvsadm's scanf reads it.
    fn read_line_bytewise(&mut self, line: &mut RuleLine) -> bool {
        let mut word = Vec::new();
        loop {
            self.read_word(&mut word);
            if word.is_empty() {
                // The end of the input ends the line if it had a word, else the input.
                if self.peek().is_none() {
                    return !line.is_empty();
                }
                // Blanks: skipped up to the end of the line, but the end of the input
                // after them drops the line.
                loop {
                    match self.peek() {
                        None => return false,
                        Some(b'\n') => {
                            self.bump();
                            self.newlines += 1;
                            return true;
                        }
                        Some(b' ' | b'\t' | b'\r') => self.bump(),
                        Some(_) => break,
                    }
                }
                continue;
            }
            line.push_word(&word);
            match self.peek() {
                Some(b'\n') => {
                    self.bump();
                    self.newlines += 1;
                    return true;
                }
                Some(b) if is_delimiter(b) => self.bump(),
                // A word cut at MAX_WORD goes on as the next word.
                Some(_) => {}
                None => return !line.is_empty(),
            }
        }
    }
}

impl<R: Read> RuleReader<BufReader<R>> {
    /// Whether the next line can be read without reading the input again, which may wait
    /// for a slow producer: `-R` applies what it has queued before it waits.
    pub fn line_buffered(&self) -> bool {
        self.input.buffer().contains(&b'\n')
    }
}

impl<R: BufRead> Iterator for RuleReader<R> {
    type Item = RuleLine;

    fn next(&mut self) -> Option<RuleLine> {
        let mut line = RuleLine::default();
        self.read_into(&mut line).then_some(line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8]) -> Vec<(usize, Vec<String>)> {
        RuleReader::new(input)
            .map(|l| {
                let words = l
                    .words()
                    .map(|w| String::from_utf8_lossy(w).into_owned())
                    .collect();
                (l.number, words)
            })
            .collect()
    }

    fn words(list: &[&str]) -> Vec<String> {
        list.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn splits_like_ipvsadm() {
        let input = b"ipvsadm -A -t 10.0.0.1:80 -s rr\r\n\n  \t\n-a -t 10.0.0.1:80 ipvsadm -r 10.0.0.2 -m\n-C";
        assert_eq!(
            lines(input),
            vec![
                (1, words(&["-A", "-t", "10.0.0.1:80", "-s", "rr"])),
                (
                    4,
                    words(&["-a", "-t", "10.0.0.1:80", "-r", "10.0.0.2", "-m"])
                ),
                (5, words(&["-C"])),
            ]
        );
    }

    #[test]
    fn trailing_blanks_before_the_end_drop_the_last_line() {
        assert_eq!(lines(b"-C\n-C  ").len(), 1);
        assert_eq!(lines(b"-C\n-C ").len(), 2);
        assert_eq!(lines(b"-C\n-C").len(), 2);
        assert_eq!(lines(b"-C\n  ").len(), 1);
        // ... and nothing after such a line is read either: there is nothing after it.
        assert_eq!(
            lines(b"  -C  \n-Z\n"),
            vec![(1, words(&["-C"])), (2, words(&["-Z"]))]
        );
    }

    #[test]
    fn a_nul_ends_its_word_and_drops_the_rest_of_it() {
        assert_eq!(
            lines(b"-D -t 10.0.0.1\0:80 -x\n"),
            vec![(1, words(&["-D", "-t", "10.0.0.1", "-x"]))]
        );
        assert_eq!(lines(b"ipvsadm\0junk -C\n"), vec![(1, words(&["-C"]))]);
        assert_eq!(
            lines(b"\0\n-C\n"),
            vec![(1, words(&[""])), (2, words(&["-C"]))]
        );
    }

    #[test]
    fn long_words_are_cut_every_4096_bytes() {
        let mut input = b"-s ".to_vec();
        input.extend(std::iter::repeat_n(b'r', 2 * MAX_WORD + 5));
        input.extend_from_slice(b" x\n");
        let got = RuleReader::new(&input[..]).next().unwrap();
        let sizes: Vec<_> = got.words().map(<[u8]>::len).collect();
        assert_eq!(sizes, [2, MAX_WORD, MAX_WORD, 5, 1]);
    }

    #[test]
    fn non_utf8_bytes_stay_as_they_are() {
        let got = RuleReader::new(&b"-A \xff\xfe\n"[..]).next().unwrap();
        assert_eq!(got.words().collect::<Vec<_>>(), [&b"-A"[..], b"\xff\xfe"]);
    }

    #[test]
    fn only_the_program_word_then_the_end_is_the_end() {
        assert!(lines(b"ipvsadm").is_empty());
        assert_eq!(lines(b"ipvsadm\n-C"), vec![(2, words(&["-C"]))]);
    }

    #[test]
    fn comment_lines_are_recognised() {
        let mut reader = RuleReader::new(&b"# rules\n-C # not a comment line\n"[..]);
        assert!(reader.next().unwrap().is_comment());
        assert!(!reader.next().unwrap().is_comment());
    }

    #[test]
    fn buffered_lines_read_as_bytewise_ones() {
        // Small buffers make lines cross buffer ends: both paths meet every case.
        let mut input = b"ipvsadm -A\t-t 10.0.0.1\0x:80  ipvsadm\0y\r\n\n  \n-C \n".to_vec();
        input.extend(std::iter::repeat_n(b'w', 2 * MAX_WORD + 7));
        input.extend_from_slice(b" -Z\n-C  ");
        let whole: Vec<_> = RuleReader::new(&input[..]).collect();
        for size in [1, 2, 7, 64, 5000] {
            let small = io::BufReader::with_capacity(size, &input[..]);
            assert_eq!(
                RuleReader::new(small).collect::<Vec<_>>(),
                whole,
                "buffer of {size}"
            );
        }
        assert_eq!(whole.len(), 3);
        assert_eq!(
            whole[0].words().collect::<Vec<_>>(),
            [&b"-A"[..], b"-t", b"10.0.0.1"]
        );
        let sizes: Vec<_> = whole[2].words().map(<[u8]>::len).collect();
        assert_eq!(sizes, [MAX_WORD, MAX_WORD, 7, 2]);
    }

    #[test]
    fn a_read_error_ends_the_input() {
        struct Failing;
        impl io::Read for Failing {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::from_raw_os_error(libc::EBADF))
            }
        }
        let reader = RuleReader::new(io::BufReader::new(Failing));
        assert_eq!(reader.count(), 0);
    }
}
