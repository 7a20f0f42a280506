//! Reading `apply`'s FILE into the desired services: the JSON document, or a rule file as
//! `-S` writes it (`-A` and `-a` lines in ipvsadm's syntax, comment and blank lines).

use std::collections::HashMap;

use crate::cli::Command;
use crate::cli::args;
use crate::cli::rules::RuleReader;
use crate::json;
use crate::model::{RealServer, ServiceKey, VirtualService};
use crate::plan::{DesiredService, Problem};

/// Whether FILE's contents are a JSON document (they start with `{`).
pub fn is_json(input: &[u8]) -> bool {
    input.trim_ascii_start().first() == Some(&b'{')
}

/// Reads FILE's contents: JSON or rules.
pub fn read(input: &[u8]) -> Result<Vec<DesiredService>, Vec<Problem>> {
    if is_json(input) {
        read_json(input)
    } else {
        read_rules(input)
    }
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
        .map(|(vs, origin)| {
            let dest_origins = (0..vs.dests.len())
                .map(|j| format!("{origin}.destinations[{j}]"))
                .collect();
            DesiredService {
                vs,
                origin,
                dest_origins,
            }
        })
        .collect())
}

fn line(number: usize) -> String {
    format!("line {number}")
}

fn read_rules(input: &[u8]) -> Result<Vec<DesiredService>, Vec<Problem>> {
    let mut problems = Vec::new();
    let mut services: Vec<DesiredService> = Vec::new();
    let mut first_of: HashMap<ServiceKey, usize> = HashMap::new();
    let mut servers = Vec::new();
    for rule in RuleReader::new(input).filter(|rule| !rule.is_comment()) {
        let mut argv = Vec::with_capacity(rule.words.len() + 1);
        argv.push(b"rsipvsadm".to_vec());
        argv.extend(rule.words);
        let at = line(rule.number);
        match args::parse_rule(&argv) {
            Ok(Command::AddService(service)) => {
                first_of.entry(service.key).or_insert(services.len());
                services.push(DesiredService {
                    vs: VirtualService::new(service),
                    origin: at,
                    dest_origins: Vec::new(),
                });
            }
            Ok(Command::AddServer(key, dest)) => servers.push((key, dest, at)),
            Ok(other) => problems.push(Problem {
                at,
                what: format!("{} has no place in a desired state", what_it_is(&other)),
                fix: "write only -A and -a rules: apply adds, edits and deletes by itself".into(),
            }),
            Err(error) => problems.push(Problem {
                at,
                what: String::from_utf8_lossy(&error.one_line()).into_owned(),
                fix: "write the rule as ipvsadm takes it, or as -S prints it".into(),
            }),
        }
    }
    for (key, dest, at) in servers {
        match first_of.get(&key) {
            Some(&i) => {
                services[i].vs.dests.push(RealServer::new(dest));
                services[i].dest_origins.push(at);
            }
            None => problems.push(Problem {
                at,
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
        assert_eq!(desired[0].origin, "line 4");
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
        assert_eq!(desired[0].dest_origins, ["line 2", "line 5"]);
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
    fn json_is_recognised_by_its_brace() {
        let doc = b"  {\"schema_version\": 1, \"services\": [{\"fwmark\": 3, \"destinations\": [{\"address\": \"10.0.0.2\"}]}]}";
        let desired = read(doc).unwrap();
        assert_eq!(desired[0].origin, "services[0]");
        assert_eq!(desired[0].dest_origins, ["services[0].destinations[0]"]);
    }
}
