//! Reading `apply`'s FILE into the desired services: the JSON document, or a rule file as
//! `-S` writes it (`-A` and `-a` lines in ipvsadm's syntax, comment and blank lines).

use std::collections::{HashMap, VecDeque};
use std::io::{self, BufRead, BufReader, Read};
use std::sync::Mutex;

use super::memory;
use crate::cli::Command;
use crate::cli::args::RuleArgv;
use crate::cli::rules::{RuleLine, RuleReader};
use crate::json;
use crate::model::{Destination, RealServer, Service, ServiceKey, VirtualService};
use crate::plan::{DesiredService, Origin, Problem};

/// Whether FILE's contents are a JSON document (they start with `{`).
fn is_json(input: &[u8]) -> bool {
    input.trim_ascii_start().first() == Some(&b'{')
}

/// Reads FILE's contents: JSON or rules.
#[cfg(test)]
fn read(input: &[u8]) -> Result<Vec<DesiredService>, Vec<Problem>> {
    let file = File::start(input).expect("reading a slice");
    read_while(file, || ()).0.expect("reading a slice")
}

/// FILE's services, or every problem it has.
pub type Parsed = Result<Vec<DesiredService>, Vec<Problem>>;

/// How much of a rule file a piece holds (then up to the end of its last line).
const PIECE: usize = 64 << 10;

/// FILE being read: a JSON document whole, or a rule file piece by piece, so that a
/// large one is never all in memory (at 100,000 services its text is 12 MB).
pub enum File<R> {
    Json(Vec<u8>),
    Rules(Pieces<R>),
}

impl<R: Read> File<R> {
    /// Reads as far as FILE's first non-blank byte, which tells JSON (`{`) from rules:
    /// an unreadable FILE is found out here, before anything else is done.
    pub fn start(input: R) -> io::Result<Self> {
        let mut pieces = Pieces {
            input: BufReader::with_capacity(PIECE, input),
            read: VecDeque::new(),
            next_line: 1,
            ended: false,
        };
        while let Some(text) = pieces.read_piece()? {
            let blank = text.trim_ascii_start().is_empty();
            pieces.read.push_back(text);
            if !blank {
                break;
            }
        }
        if !pieces.read.back().is_some_and(|text| is_json(text)) {
            return Ok(File::Rules(pieces));
        }
        let mut document: Vec<u8> = pieces.read.into_iter().flatten().collect();
        pieces.input.read_to_end(&mut document)?;
        Ok(File::Json(document))
    }
}

/// A rule file's pieces of whole lines, in order.
pub struct Pieces<R> {
    input: BufReader<R>,
    /// Read by [`File::start`] and not yet handed out.
    read: VecDeque<Vec<u8>>,
    /// The number of the next piece's first line.
    next_line: usize,
    ended: bool,
}

impl<R: Read> Pieces<R> {
    /// The next piece with the number of its first line; `None` at the end.
    fn next_piece(&mut self) -> io::Result<Option<(Vec<u8>, usize)>> {
        let text = match self.read.pop_front() {
            Some(text) => text,
            None => match self.read_piece()? {
                Some(text) => text,
                None => return Ok(None),
            },
        };
        let first = self.next_line;
        self.next_line += text.iter().filter(|&&b| b == b'\n').count();
        Ok(Some((text, first)))
    }

    /// About [`PIECE`] bytes, up to the end of a line.
    fn read_piece(&mut self) -> io::Result<Option<Vec<u8>>> {
        if self.ended {
            return Ok(None);
        }
        let mut text = Vec::with_capacity(PIECE + 128);
        (&mut self.input)
            .take(PIECE as u64)
            .read_to_end(&mut text)?;
        if text.last().is_some_and(|&b| b != b'\n') {
            self.input.read_until(b'\n', &mut text)?;
        }
        if text.len() < PIECE {
            self.ended = true;
        }
        if text.is_empty() {
            return Ok(None);
        }
        // -R, as ipvsadm, drops a last line that ends in blanks but not in a newline;
        // apply must not delete what such a line asks for.
        if text.last() != Some(&b'\n') {
            text.push(b'\n');
        }
        Ok(Some(text))
    }
}

/// Reads FILE's contents, JSON or rules, while `meanwhile` runs on the calling thread
/// (apply reads the kernel's table meanwhile): FILE is parsed on another thread, a rule
/// file piece by piece as it is read, and the calling thread helps once `meanwhile` is
/// done. So parsing costs nothing beside a table read as long as it, and half its time
/// beside none. The outer error: FILE could not be read to its end.
pub fn read_while<R: Read + Send, T: Send>(
    file: File<R>,
    meanwhile: impl FnOnce() -> T,
) -> (io::Result<Parsed>, T) {
    let pieces = match file {
        File::Json(document) => {
            return std::thread::scope(|s| {
                let parsing = s.spawn(|| read_json(&document));
                let other = meanwhile();
                let parsed = parsing
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                (Ok(parsed), other)
            });
        }
        File::Rules(pieces) => Mutex::new(pieces),
    };
    let failed = Mutex::new(None);
    // Each piece assembled, with the number of its first line for the order.
    let work = || {
        let mut assembled = Vec::new();
        loop {
            // Read under the lock, assembled outside it.
            let next = pieces
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .next_piece();
            match next {
                Ok(Some((text, first))) => {
                    let piece = Piece::assemble(&text, first);
                    drop(text);
                    assembled.push((first, piece));
                }
                Ok(None) => break,
                Err(e) => {
                    *failed.lock().unwrap_or_else(|e| e.into_inner()) = Some(e);
                    pieces.lock().unwrap_or_else(|e| e.into_inner()).ended = true;
                    break;
                }
            }
        }
        assembled
    };
    let (other, mut assembled) = std::thread::scope(|s| {
        let helper = s.spawn(work);
        let other = meanwhile();
        let mut assembled = work();
        assembled.extend(
            helper
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
        );
        (other, assembled)
    });
    if let Some(e) = failed.into_inner().unwrap_or_else(|e| e.into_inner()) {
        return (Err(e), other);
    }
    assembled.sort_unstable_by_key(|&(first_line, _)| first_line);
    (
        Ok(join(assembled.into_iter().map(|(_, piece)| piece))),
        other,
    )
}

fn read_json(input: &[u8]) -> Result<Vec<DesiredService>, Vec<Problem>> {
    let text = std::str::from_utf8(input).map_err(|e| {
        vec![Problem::new(
            format!("byte {}", e.valid_up_to()),
            "the JSON document is not UTF-8",
            "save the file as UTF-8",
        )]
    })?;
    let services = json::read_services(text)?;
    Ok(services
        .into_iter()
        .enumerate()
        .map(|(service, vs)| DesiredService {
            dest_origins: (0..vs.dests.len())
                .map(|dest| Origin::json(service, Some(dest)))
                .collect(),
            vs,
            origin: Origin::json(service, None),
        })
        .collect())
}

/// What a rule line said.
enum Rule {
    Service(Service),
    Server(ServiceKey, Destination),
    Problem(Problem),
}

/// What the rule line numbered `number` says.
fn parse_rule(argv: &RuleArgv, rule: &RuleLine, number: usize) -> Rule {
    let at = || Origin::line(number).to_string();
    match argv.parse(rule) {
        Ok(Command::AddService(service)) => Rule::Service(service),
        Ok(Command::AddServer(key, dest)) => Rule::Server(key, dest),
        Ok(other) => Rule::Problem(Problem::new(
            at(),
            format!("{} has no place in a desired state", what_it_is(&other)),
            "write only -A and -a rules: apply adds, edits and deletes by itself",
        )),
        Err(error) => Rule::Problem(Problem::new(
            at(),
            String::from_utf8_lossy(&error.one_line()),
            "write the rule as ipvsadm takes it, or as -S prints it",
        )),
    }
}

/// The services of a piece of a rule file, each with the real servers the piece gives
/// it; the real servers of services the piece does not have wait for [`join`].
struct Piece {
    services: Vec<DesiredService>,
    /// Line number, service, real server.
    orphans: Vec<(usize, ServiceKey, Destination)>,
    problems: Vec<Problem>,
}

impl Piece {
    fn assemble(text: &[u8], first: usize) -> Piece {
        let mut piece = Piece {
            services: Vec::new(),
            orphans: Vec::new(),
            problems: Vec::new(),
        };
        let mut servers = Vec::new();
        let argv = RuleArgv::new(b"rsipvsadm");
        let mut reader = RuleReader::new(text);
        // One line's buffers for all.
        let mut line = RuleLine::default();
        while reader.read_into(&mut line) {
            if line.is_comment() {
                continue;
            }
            // `text` starts at line `first`.
            let number = first + line.number - 1;
            match parse_rule(&argv, &line, number) {
                Rule::Service(service) => piece.services.push(DesiredService {
                    vs: VirtualService::new(service),
                    origin: Origin::line(number),
                    dest_origins: Vec::new(),
                }),
                Rule::Server(key, dest) => servers.push((number, key, dest)),
                Rule::Problem(problem) => piece.problems.push(problem),
            }
        }
        // A rule's real servers may come before it: attach them once all are read.
        let mut first_of = HashMap::with_capacity(piece.services.len());
        for (i, d) in piece.services.iter().enumerate() {
            first_of.entry(d.vs.service.key).or_insert(i);
        }
        let places: Vec<Option<usize>> = servers
            .iter()
            .map(|(_, key, _)| first_of.get(key).copied())
            .collect();
        // Each list allocated once, at its size.
        let mut counts = vec![0; piece.services.len()];
        for &i in places.iter().flatten() {
            counts[i] += 1;
        }
        for (d, count) in piece.services.iter_mut().zip(counts) {
            d.vs.dests.reserve_exact(count);
            d.dest_origins.reserve_exact(count);
        }
        for ((number, key, dest), place) in servers.into_iter().zip(places) {
            match place {
                Some(i) => attach(&mut piece.services[i], number, dest),
                None => piece.orphans.push((number, key, dest)),
            }
        }
        piece
    }
}

fn attach(d: &mut DesiredService, number: usize, dest: Destination) {
    d.vs.dests.push(RealServer::new(dest));
    d.dest_origins.push(Origin::line(number));
}

/// The desired services of a rule file's pieces, in order: each real server with the
/// first service of its key, in the order of the lines. (A service defined twice is an
/// error [`crate::plan::check`] reports; a piece gives its own real servers to its own
/// definition.)
fn join(pieces: impl Iterator<Item = Piece>) -> Result<Vec<DesiredService>, Vec<Problem>> {
    let pieces: Vec<Piece> = pieces.collect();
    // At its size at once: grown by doubling, the list of 100,000 services took up to
    // twice its 20 MB next to the pieces it is made of.
    let mut services: Vec<DesiredService> =
        Vec::with_capacity(pieces.iter().map(|p| p.services.len()).sum());
    let mut orphans = Vec::new();
    let mut problems = Vec::new();
    for (n, mut piece) in pieces.into_iter().enumerate() {
        services.append(&mut piece.services);
        orphans.append(&mut piece.orphans);
        problems.append(&mut piece.problems);
        drop(piece);
        // A piece's list of services is freed into the heap of the thread that made it,
        // and stays there: given back every few pieces, they do not add up beside the
        // joined list (15 MB at 100,000 x 2, apply's peak when the table has them too).
        if n % 8 == 7 {
            memory::give_back_free_memory();
        }
    }
    if !orphans.is_empty() {
        let mut first_of = HashMap::with_capacity(services.len());
        for (i, d) in services.iter().enumerate() {
            first_of.entry(d.vs.service.key).or_insert(i);
        }
        let mut reordered = Vec::new();
        for (number, key, dest) in orphans {
            match first_of.get(&key) {
                Some(&i) => {
                    attach(&mut services[i], number, dest);
                    reordered.push(i);
                }
                None => problems.push(Problem::new(
                    Origin::line(number).to_string(),
                    format!(
                        "a real server of {}, which no -A rule adds",
                        crate::plan::describe(&key)
                    ),
                    "add the service with an -A rule",
                )),
            }
        }
        // Real servers from other pieces: back in the order of their lines.
        for i in reordered {
            in_line_order(&mut services[i]);
        }
    }
    if problems.is_empty() && services.is_empty() {
        // An empty stdin from a broken pipeline must not empty the table.
        problems.push(Problem::new(
            "",
            "no -A rule: applying that would delete every service in scope",
            "to delete them on purpose, apply {\"schema_version\": 1, \"services\": []}",
        ));
    }
    if problems.is_empty() {
        Ok(services)
    } else {
        Err(problems)
    }
}

fn in_line_order(d: &mut DesiredService) {
    let line = |origin: &Origin| match origin {
        Origin::Line(n) => *n,
        _ => 0,
    };
    if d.dest_origins.is_sorted_by_key(line) {
        return;
    }
    let mut both: Vec<_> = std::mem::take(&mut d.vs.dests)
        .into_iter()
        .zip(std::mem::take(&mut d.dest_origins))
        .collect();
    both.sort_by_key(|(_, origin)| line(origin));
    (d.vs.dests, d.dest_origins) = both.into_iter().unzip();
}

fn what_it_is(command: &Command) -> &'static str {
    match command {
        Command::EditService(_) => "-E",
        Command::DeleteService(_) => "-D",
        Command::Clear => "-C",
        Command::EditServer(..) => "-e",
        Command::DeleteServer(..) => "-d",
        Command::List(_) => "-L",
        Command::Zero(_) => "-Z",
        Command::Save { .. } => "-S",
        Command::Restore(_) => "-R",
        Command::SetTimeouts(_) => "--set",
        Command::StartDaemon(_) => "--start-daemon",
        Command::StopDaemon { .. } => "--stop-daemon",
        Command::Help => "-h",
        Command::Version => "-v",
        Command::AddService(_) | Command::AddServer(..) => "this rule",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Destination, FwdMethod, Service};

    #[test]
    fn rules_with_comments_in_any_order() {
        let rules = b"# Debian's rule files start with a comment\n\
            -a -t 10.0.0.1:80 -r 10.0.0.3:80 -m\n\
            \n\
            -A -t 10.0.0.1:80 -s sh\n\
            -a -t 10.0.0.1:80 -r 10.0.0.2 -g -w 3\n";
        let desired = read(rules).unwrap();
        assert_eq!(desired.len(), 1);
        let key = ServiceKey::tcp("10.0.0.1".parse().unwrap(), 80);
        assert_eq!(desired[0].vs.service, Service::new(key, "sh"));
        assert_eq!(desired[0].origin, Origin::Line(4));
        let dests: Vec<_> = desired[0]
            .vs
            .dests
            .iter()
            .map(|rs| rs.dest.clone())
            .collect();
        assert_eq!(
            dests,
            [
                Destination::new("10.0.0.3".parse().unwrap(), 80, FwdMethod::Masq),
                Destination::new("10.0.0.2".parse().unwrap(), 80, FwdMethod::Route).weight(3),
            ]
        );
        assert_eq!(desired[0].dest_origins, [Origin::Line(2), Origin::Line(5)]);
    }

    #[test]
    fn a_last_line_without_its_newline_counts() {
        // -R drops this line as ipvsadm does (cli::rules); apply would delete its server.
        let rules = b"-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.0.0.2:80 -m  ";
        let desired = read(rules).unwrap();
        assert_eq!(desired[0].vs.dests.len(), 1);
        assert_eq!(desired[0].dest_origins, [Origin::Line(2)]);
    }

    #[test]
    fn every_bad_line_is_reported() {
        let rules = b"-A -t 10.0.0.1:80\n-D -t 10.0.0.1:80\n-a -t 10.0.0.9:80 -r 10.0.0.2\n-A -t 10.0.0.1:0\n";
        let problems: Vec<_> = read(rules)
            .unwrap_err()
            .iter()
            .map(|p| format!("{}: {}", p.at, p.what))
            .collect();
        assert_eq!(
            problems,
            [
                "line 2: -D has no place in a desired state",
                "line 4: Zero port specified for non-persistent service",
                "line 3: a real server of tcp 10.0.0.9:80, which no -A rule adds",
            ]
        );
    }

    #[test]
    fn a_large_file_is_read_in_pieces_with_the_same_result() {
        let mut rules = String::from("# a comment\n");
        for i in 0..20_000 {
            rules.push_str(&format!(
                "-A -t 10.1.{}.{}:80 -s rr\n",
                i / 250,
                i % 250 + 1
            ));
            rules.push_str(&format!(
                "-a -t 10.1.{}.{}:80 -r 10.2.0.1:80 -m\n",
                i / 250,
                i % 250 + 1
            ));
        }
        rules.push_str("-D -t 10.1.0.1:80\n");
        assert!(rules.len() > 256 << 10);
        let problems = read(rules.as_bytes()).unwrap_err();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].at, "line 40002");
        let rules = rules.replace("-D -t 10.1.0.1:80\n", "");
        let desired = read(rules.as_bytes()).unwrap();
        assert_eq!(desired.len(), 20_000);
        assert_eq!(desired[12_345].origin, Origin::Line(2 + 2 * 12_345));
        assert_eq!(desired[12_345].dest_origins, [Origin::Line(3 + 2 * 12_345)]);
    }

    #[test]
    fn real_servers_from_other_pieces_keep_the_order_of_their_lines() {
        let filler: String = (0..5_000)
            .map(|i| format!("-A -t 10.1.{}.{}:80 -s rr\n", i / 250, i % 250 + 1))
            .collect();
        let rules = format!(
            "-a -t 10.2.0.1:80 -r 10.9.0.1:80 -m\n{filler}-A -t 10.2.0.1:80 -s sh\n\
             -a -t 10.2.0.1:80 -r 10.9.0.2:80 -m\n{filler}-a -t 10.2.0.1:80 -r 10.9.0.3:80 -m\n"
        );
        assert!(rules.len() > 3 * PIECE);
        let desired = read(rules.as_bytes()).unwrap();
        let sh = desired
            .iter()
            .find(|d| d.vs.service.scheduler == "sh")
            .unwrap();
        let addrs: Vec<String> = sh
            .vs
            .dests
            .iter()
            .map(|rs| rs.dest.addr.to_string())
            .collect();
        assert_eq!(addrs, ["10.9.0.1", "10.9.0.2", "10.9.0.3"]);
        assert_eq!(
            sh.dest_origins,
            [Origin::Line(1), Origin::Line(5_003), Origin::Line(10_004)]
        );
    }

    #[test]
    fn json_is_recognised_by_its_brace() {
        let doc = b"  {\"schema_version\": 1, \"services\": [{\"fwmark\": 3, \"destinations\": [{\"address\": \"10.0.0.2\"}]}]}";
        let desired = read(doc).unwrap();
        assert_eq!(desired[0].origin.to_string(), "services[0]");
        assert_eq!(
            desired[0].dest_origins[0].to_string(),
            "services[0].destinations[0]"
        );
    }

    /// A reader that fails after `ok` bytes.
    struct FailingAfter<'a> {
        text: &'a [u8],
        ok: usize,
    }

    impl Read for FailingAfter<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.ok == 0 {
                return Err(io::Error::other("the disk went away"));
            }
            let n = buf.len().min(self.ok).min(self.text.len());
            buf[..n].copy_from_slice(&self.text[..n]);
            self.text = &self.text[n..];
            self.ok -= n;
            Ok(n)
        }
    }

    #[test]
    fn a_file_that_cannot_be_read_to_its_end_is_an_error_not_a_shorter_file() {
        let rules: String = (0..20_000)
            .map(|i| format!("-A -t 10.1.{}.{}:80 -s rr\n", i / 250, i % 250 + 1))
            .collect();
        let failing = FailingAfter {
            text: rules.as_bytes(),
            ok: 3 * PIECE,
        };
        let file = File::start(failing).unwrap();
        let (parsed, ()) = read_while(file, || ());
        assert_eq!(parsed.unwrap_err().to_string(), "the disk went away");
        // Found out before anything else where the first piece cannot be read.
        let failing = FailingAfter { text: b"", ok: 0 };
        assert!(File::start(failing).is_err());
    }

    #[test]
    fn json_after_more_blank_lines_than_a_piece_is_json() {
        let doc = format!(
            "{}{{\"schema_version\": 1, \"services\": []}}",
            "\n".repeat(PIECE + 10)
        );
        assert!(matches!(File::start(doc.as_bytes()), Ok(File::Json(_))));
        assert_eq!(read(doc.as_bytes()).unwrap(), []);
    }

    #[test]
    fn pieces_end_on_whole_lines_and_count_them() {
        // Lines that straddle every piece boundary, and a last line without newline.
        let rules: String = (0..10_000)
            .map(|i| {
                format!(
                    "-A -t 10.1.{}.{}:80 -s rr -p {}\n",
                    i / 250,
                    i % 250 + 1,
                    1 + i * 7919 % 100_000
                )
            })
            .collect::<String>()
            + "-A -t 10.3.0.1:80 -s wlc";
        let desired = read(rules.as_bytes()).unwrap();
        assert_eq!(desired.len(), 10_001);
        assert_eq!(desired[7_777].origin, Origin::Line(7_778));
        assert_eq!(desired[10_000].origin, Origin::Line(10_001));
        assert_eq!(desired[10_000].vs.service.scheduler, "wlc");
    }
}
