//! Reading `apply`'s FILE into the desired services: the JSON document, or a rule file as
//! `-S` writes it (`-A` and `-a` lines in ipvsadm's syntax, comment and blank lines).

use std::collections::HashMap;

use crate::cli::Command;
use crate::cli::args;
use crate::cli::rules::RuleReader;
use crate::json;
use crate::model::{Destination, RealServer, Service, ServiceKey, VirtualService};
use crate::plan::{DesiredService, Origin, Problem};

/// Whether FILE's contents are a JSON document (they start with `{`).
pub fn is_json(input: &[u8]) -> bool {
    input.trim_ascii_start().first() == Some(&b'{')
}

/// Reads FILE's contents: JSON or rules.
#[cfg(test)]
fn read(input: &[u8]) -> Result<Vec<DesiredService>, Vec<Problem>> {
    read_while(input, || ()).0
}

/// Reads FILE's contents, JSON or rules, while `meanwhile` runs on the calling thread (apply reads the kernel's table
/// meanwhile): FILE is parsed on another thread, and a large rule file in pieces, which
/// the calling thread helps with once `meanwhile` is done. So parsing costs nothing
/// beside a table read as long as it, and half its time beside none.
pub fn read_while<T: Send>(
    input: &[u8],
    meanwhile: impl FnOnce() -> T,
) -> (Result<Vec<DesiredService>, Vec<Problem>>, T) {
    if is_json(input) {
        return std::thread::scope(|s| {
            let parsing = s.spawn(|| read_json(input));
            let other = meanwhile();
            (parsing.join().unwrap_or_else(|_| read_json(input)), other)
        });
    }
    let pieces = pieces(input);
    let parsed: Vec<std::sync::OnceLock<Vec<(usize, Rule)>>> =
        pieces.iter().map(|_| std::sync::OnceLock::new()).collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let work = || {
        loop {
            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some(&(piece, first)) = pieces.get(i) else {
                break;
            };
            let _ = parsed[i].set(parse_rules(piece, first));
        }
    };
    let other = std::thread::scope(|s| {
        s.spawn(work);
        let other = meanwhile();
        work();
        other
    });
    let rules = parsed
        .into_iter()
        .zip(&pieces)
        .flat_map(|(cell, &(piece, first))| {
            cell.into_inner()
                .unwrap_or_else(|| parse_rules(piece, first))
        });
    (assemble(rules), other)
}

/// A rule file cut into pieces of whole lines (one for a small file), each with the
/// number of its first line.
fn pieces(input: &[u8]) -> Vec<(&[u8], usize)> {
    const PIECE: usize = 64 << 10;
    let mut pieces = Vec::new();
    let (mut rest, mut first) = (input, 1);
    while rest.len() > PIECE {
        let Some(at) = rest[PIECE..].iter().position(|&b| b == b'\n') else {
            break;
        };
        let (piece, tail) = rest.split_at(PIECE + at + 1);
        pieces.push((piece, first));
        first += piece.iter().filter(|&&b| b == b'\n').count();
        rest = tail;
    }
    pieces.push((rest, first));
    pieces
}

fn read_json(input: &[u8]) -> Result<Vec<DesiredService>, Vec<Problem>> {
    let text = std::str::from_utf8(input).map_err(|e| {
        vec![Problem {
            at: format!("byte {}", e.valid_up_to()),
            what: "the JSON document is not UTF-8".into(),
            fix: "save the file as UTF-8".into(),
        }]
    })?;
    let services = json::read_services(text).map_err(|problems| {
        problems
            .into_iter()
            .map(|p| Problem {
                at: p.at,
                what: p.what,
                fix: p.fix,
            })
            .collect::<Vec<_>>()
    })?;
    Ok(services
        .into_iter()
        .enumerate()
        .map(|(service, vs)| DesiredService {
            dest_origins: (0..vs.dests.len())
                .map(|dest| Origin::Json {
                    service,
                    dest: Some(dest),
                })
                .collect(),
            vs,
            origin: Origin::Json {
                service,
                dest: None,
            },
        })
        .collect())
}

/// What a rule line said.
enum Rule {
    Service(Service),
    Server(ServiceKey, Destination),
    Problem(Problem),
}

/// Parses the rules of `input`, a whole number of lines that starts at line `first`.
fn parse_rules(input: &[u8], first: usize) -> Vec<(usize, Rule)> {
    RuleReader::new(input)
        .filter(|rule| !rule.is_comment())
        .map(|rule| {
            let number = first + rule.number - 1;
            let at = Origin::Line(number).to_string();
            let mut argv = Vec::with_capacity(rule.words.len() + 1);
            argv.push(b"rsipvsadm".to_vec());
            argv.extend(rule.words);
            let parsed = match args::parse_rule(&argv) {
                Ok(Command::AddService(service)) => Rule::Service(service),
                Ok(Command::AddServer(key, dest)) => Rule::Server(key, dest),
                Ok(other) => Rule::Problem(Problem {
                    at,
                    what: format!("{} has no place in a desired state", what_it_is(&other)),
                    fix: "write only -A and -a rules: apply adds, edits and deletes by itself"
                        .into(),
                }),
                Err(error) => Rule::Problem(Problem {
                    at,
                    what: String::from_utf8_lossy(&error.one_line()).into_owned(),
                    fix: "write the rule as ipvsadm takes it, or as -S prints it".into(),
                }),
            };
            (number, parsed)
        })
        .collect()
}

/// The desired services of the parsed rules, in order.
fn assemble(
    rules: impl Iterator<Item = (usize, Rule)>,
) -> Result<Vec<DesiredService>, Vec<Problem>> {
    let mut problems = Vec::new();
    let mut services: Vec<DesiredService> = Vec::new();
    let mut first_of: HashMap<ServiceKey, usize> = HashMap::new();
    let mut servers = Vec::new();
    for (number, rule) in rules {
        match rule {
            Rule::Service(service) => {
                first_of.entry(service.key).or_insert(services.len());
                services.push(DesiredService {
                    vs: VirtualService::new(service),
                    origin: Origin::Line(number),
                    dest_origins: Vec::new(),
                });
            }
            Rule::Server(key, dest) => servers.push((key, dest, number)),
            Rule::Problem(problem) => problems.push(problem),
        }
    }
    for (key, dest, number) in servers {
        match first_of.get(&key) {
            Some(&i) => {
                services[i].vs.dests.push(RealServer::new(dest));
                services[i].dest_origins.push(Origin::Line(number));
            }
            None => problems.push(Problem {
                at: Origin::Line(number).to_string(),
                what: format!(
                    "a real server of {}, which no -A rule adds",
                    crate::plan::describe(&key)
                ),
                fix: "add the service with an -A rule".into(),
            }),
        }
    }
    if problems.is_empty() {
        Ok(services)
    } else {
        Err(problems)
    }
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
    fn json_is_recognised_by_its_brace() {
        let doc = b"  {\"schema_version\": 1, \"services\": [{\"fwmark\": 3, \"destinations\": [{\"address\": \"10.0.0.2\"}]}]}";
        let desired = read(doc).unwrap();
        assert_eq!(desired[0].origin.to_string(), "services[0]");
        assert_eq!(
            desired[0].dest_origins[0].to_string(),
            "services[0].destinations[0]"
        );
    }
}
