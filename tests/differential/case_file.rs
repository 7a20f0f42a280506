//! Case files of the differential harness: the line format, its parser and the loader.
//!
//! The format is documented for case writers at the top of `cases/list.cases`. In short,
//! one case per line:
//!
//! ```text
//! NAME: ARGS ; ARGS ; ...        # comment
//! ```
//!
//! where each `ARGS` is the argument list of one ipvsadm invocation, split like a POSIX
//! shell does but without any expansion, optionally preceded by the word `ipvsadm`, and
//! optionally with a standard input redirection (`< FILE` or `<<< WORD`).
//! The unit tests at the bottom run on the host (`tests/differential_parser.rs`).
#![allow(dead_code)]

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

/// One case: a sequence of ipvsadm invocations run in one fresh network namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    pub name: String,
    /// Where the case is defined, `FILE:LINE`, for messages.
    pub origin: String,
    pub commands: Vec<CaseCommand>,
}

/// One invocation: the arguments after `ipvsadm`, and what its standard input gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseCommand {
    pub args: Vec<String>,
    /// `None`: `/dev/null`.
    pub stdin: Option<Stdin>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stdin {
    /// `< FILE`: the file's contents. Relative to the case file's directory once loaded.
    File(PathBuf),
    /// `<<< WORD`: WORD and a newline, as in bash.
    Text(String),
}

impl CaseCommand {
    /// The bytes for the command's standard input, `None` for none.
    pub fn stdin_bytes(&self) -> Option<Vec<u8>> {
        match &self.stdin {
            None => None,
            Some(Stdin::Text(text)) => Some(text.clone().into_bytes()),
            Some(Stdin::File(path)) => Some(
                fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display())),
            ),
        }
    }

    /// The command as one would type it, `ipvsadm -A -t 10.0.0.1:80 < restore.in`.
    pub fn display(&self) -> String {
        let mut words = vec!["ipvsadm".to_string()];
        words.extend(self.args.iter().map(|a| shell_quote(a)));
        match &self.stdin {
            None => {}
            Some(Stdin::File(path)) => words.push(format!("< {}", path.display())),
            Some(Stdin::Text(text)) => {
                let word = text.strip_suffix('\n').unwrap_or(text);
                words.push(format!("<<< {}", shell_quote(word)));
            }
        }
        words.join(" ")
    }
}

/// Quotes `arg` for a shell if it needs it (bash's `$'...'` when it has control chars).
pub fn shell_quote(arg: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_@%+=:,./-[]".contains(c);
    if !arg.is_empty() && arg.chars().all(plain) {
        arg.to_string()
    } else if arg.chars().any(|c| c.is_control()) {
        let mut out = String::from("$'");
        for c in arg.chars() {
            match c {
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                '\r' => out.push_str("\\r"),
                '\\' => out.push_str("\\\\"),
                '\'' => out.push_str("\\'"),
                c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
                c => out.push(c),
            }
        }
        out.push('\'');
        out
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    /// `;`
    Separator,
    /// `<`
    FromFile,
    /// `<<<`
    HereString,
}

/// Splits `text` into words and operators, shell-like, without expansions.
fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut word = String::new();
    // Whether a word has started: `''` is an (empty) word, nothing at all is not.
    let mut in_word = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' => flush(&mut tokens, &mut word, &mut in_word),
            '#' if !in_word => break,
            ';' => {
                flush(&mut tokens, &mut word, &mut in_word);
                tokens.push(Token::Separator);
            }
            '<' => {
                flush(&mut tokens, &mut word, &mut in_word);
                if chars[i..].starts_with(&['<', '<', '<']) {
                    tokens.push(Token::HereString);
                    i += 2;
                } else if chars[i..].starts_with(&['<', '<']) {
                    return Err(
                        "here-documents (<<) are not supported: use <<< WORD or < FILE".into(),
                    );
                } else {
                    tokens.push(Token::FromFile);
                }
            }
            '\'' => {
                let end = chars[i + 1..]
                    .iter()
                    .position(|&c| c == '\'')
                    .ok_or("unterminated single quote")?;
                word.extend(&chars[i + 1..i + 1 + end]);
                in_word = true;
                i += end + 1;
            }
            '"' => {
                in_word = true;
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err("unterminated double quote".into()),
                        Some('"') => break,
                        Some('\\') if matches!(chars.get(i + 1), Some('"' | '\\' | '$' | '`')) => {
                            word.push(chars[i + 1]);
                            i += 1;
                        }
                        Some(&c) => word.push(c),
                    }
                    i += 1;
                }
            }
            '$' if chars.get(i + 1) == Some(&'\'') => {
                i = ansi_c_string(&chars, i + 2, &mut word)?;
                in_word = true;
            }
            '\\' => {
                let next = chars.get(i + 1).ok_or("backslash at the end of the line")?;
                word.push(*next);
                in_word = true;
                i += 1;
            }
            c => {
                word.push(c);
                in_word = true;
            }
        }
        i += 1;
    }
    flush(&mut tokens, &mut word, &mut in_word);
    Ok(tokens)
}

/// Ends the current word, if one has started.
fn flush(tokens: &mut Vec<Token>, word: &mut String, in_word: &mut bool) {
    if std::mem::take(in_word) {
        tokens.push(Token::Word(std::mem::take(word)));
    }
}

/// Reads a `$'...'` string starting after the opening quote at `chars[start]`; appends
/// it to `word` and returns the index of the closing quote.
fn ansi_c_string(chars: &[char], start: usize, word: &mut String) -> Result<usize, String> {
    let mut i = start;
    loop {
        match chars.get(i) {
            None => return Err("unterminated $'...' string".into()),
            Some('\'') => return Ok(i),
            Some('\\') => {
                let esc = chars.get(i + 1).ok_or("unterminated $'...' string")?;
                i += 1;
                word.push(match esc {
                    'n' => '\n',
                    't' => '\t',
                    'r' => '\r',
                    'a' => '\x07',
                    'b' => '\x08',
                    'e' | 'E' => '\x1b',
                    'f' => '\x0c',
                    'v' => '\x0b',
                    '0' => '\0',
                    '\\' | '\'' | '"' | '?' => *esc,
                    'x' => {
                        let hex: String = chars[i + 1..].iter().take(2).collect();
                        let value = (hex.len() == 2)
                            .then(|| u8::from_str_radix(&hex, 16).ok())
                            .flatten()
                            .ok_or_else(|| format!("bad escape \\x{hex} (two hex digits)"))?;
                        i += 2;
                        char::from(value)
                    }
                    other => return Err(format!("unknown escape \\{other} in $'...'")),
                });
            }
            Some(&c) => word.push(c),
        }
        i += 1;
    }
}

/// Parses one logical line: `Ok(None)` for a blank or comment line, else the case's name
/// and commands (`Stdin::File` paths as written).
pub fn parse_line(line: &str) -> Result<Option<(String, Vec<CaseCommand>)>, String> {
    let line = line.trim_start();
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    let name_len = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || "_-.+".contains(c)))
        .unwrap_or(line.len());
    if name_len == 0 || !line[name_len..].starts_with(':') {
        return Err("expected `NAME: ARGS ; ARGS ...` (NAME of letters, digits, _ - . +)".into());
    }
    let name = line[..name_len].to_string();
    let tokens = tokenize(&line[name_len + 1..])?;
    let mut commands = Vec::new();
    for (n, part) in tokens.split(|t| *t == Token::Separator).enumerate() {
        commands.push(parse_command(part).map_err(|e| format!("command {}: {e}", n + 1))?);
    }
    Ok(Some((name, commands)))
}

fn parse_command(tokens: &[Token]) -> Result<CaseCommand, String> {
    if tokens.is_empty() {
        return Err("empty command (write a bare `ipvsadm` for one without arguments)".into());
    }
    // An optional leading `ipvsadm`, so that shell transcripts paste as they are and a
    // command without arguments can be written.
    let tokens = match tokens.first() {
        Some(Token::Word(w)) if w == "ipvsadm" => &tokens[1..],
        _ => tokens,
    };
    let mut args = Vec::new();
    let mut stdin = None;
    let mut iter = tokens.iter();
    while let Some(token) = iter.next() {
        let redirect = match token {
            Token::Word(w) => {
                args.push(w.clone());
                continue;
            }
            Token::FromFile => "<",
            Token::HereString => "<<<",
            Token::Separator => unreachable!("split on separators"),
        };
        let Some(Token::Word(target)) = iter.next() else {
            return Err(format!("`{redirect}` needs a word after it"));
        };
        if stdin.is_some() {
            return Err("more than one standard input redirection".into());
        }
        stdin = Some(match token {
            Token::FromFile => Stdin::File(PathBuf::from(target)),
            _ => Stdin::Text(format!("{target}\n")),
        });
    }
    Ok(CaseCommand { args, stdin })
}

/// Parses a whole case file. `label` names it in messages; `< FILE` paths are resolved
/// against `base_dir` and must exist (without a base directory they are an error).
/// Returns every error, one per line, each as `LABEL:LINE: message`.
pub fn parse_case_file(
    text: &str,
    label: &str,
    base_dir: Option<&Path>,
) -> Result<Vec<Case>, String> {
    let mut cases = Vec::new();
    let mut errors = Vec::new();
    for (line_no, line) in logical_lines(text) {
        let origin = format!("{label}:{line_no}");
        match parse_line(&line) {
            Ok(None) => {}
            Ok(Some((name, mut commands))) => {
                for cmd in &mut commands {
                    if let Some(Stdin::File(path)) = &mut cmd.stdin {
                        match base_dir {
                            None => errors.push(format!(
                                "{origin}: `< FILE` needs a case file in a directory"
                            )),
                            Some(dir) => {
                                *path = dir.join(&*path);
                                if !path.is_file() {
                                    errors
                                        .push(format!("{origin}: no such file {}", path.display()));
                                }
                            }
                        }
                    }
                }
                cases.push(Case {
                    name,
                    origin,
                    commands,
                });
            }
            Err(e) => errors.push(format!("{origin}: {e}")),
        }
    }
    if errors.is_empty() {
        Ok(cases)
    } else {
        Err(errors.join("\n"))
    }
}

/// Joins lines ending in a backslash with the next one; yields (first line number, text).
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        let (start, mut joined) = pending.take().unwrap_or((i + 1, String::new()));
        match line.strip_suffix('\\') {
            Some(head) => {
                joined.push_str(head);
                pending = Some((start, joined));
            }
            None => {
                joined.push_str(line);
                out.push((start, joined));
            }
        }
    }
    out.extend(pending);
    out
}

/// Loads every `*.cases` file in `dir` (sorted by file name). Fails if the directory is
/// missing, holds no case, or any line is malformed, or a name is used twice.
pub fn load_dir(dir: &Path) -> Result<Vec<Case>, String> {
    let entries = fs::read_dir(dir)
        .map_err(|e| format!("cannot read the cases directory {}: {e}", dir.display()))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "cases") && p.is_file())
        .collect();
    files.sort();
    let mut cases = Vec::new();
    let mut errors = Vec::new();
    for file in &files {
        let label = file.file_name().unwrap().to_string_lossy().into_owned();
        let text =
            fs::read_to_string(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        match parse_case_file(&text, &label, Some(dir)) {
            Ok(more) => cases.extend(more),
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(format!("malformed case files:\n{}", errors.join("\n")));
    }
    if cases.is_empty() {
        return Err(format!(
            "no cases in {} (no *.cases file, or only comments)",
            dir.display()
        ));
    }
    check_unique_names(&cases)?;
    Ok(cases)
}

/// Fails if two cases share a name (names are how failures and filters refer to cases).
pub fn check_unique_names(cases: &[Case]) -> Result<(), String> {
    let mut seen: HashMap<&str, &str> = HashMap::new();
    let mut errors = Vec::new();
    for case in cases {
        if let Some(first) = seen.insert(&case.name, &case.origin) {
            errors.push(format!(
                "{}: case name {} already used at {first}",
                case.origin, case.name
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        tokenize(text)
            .unwrap()
            .into_iter()
            .map(|t| match t {
                Token::Word(w) => w,
                other => panic!("unexpected {other:?}"),
            })
            .collect()
    }

    fn case(line: &str) -> (String, Vec<CaseCommand>) {
        parse_line(line).unwrap().expect("a case")
    }

    fn args(line: &str) -> Vec<Vec<String>> {
        case(line).1.into_iter().map(|c| c.args).collect()
    }

    fn cmd(args: &[&str]) -> CaseCommand {
        CaseCommand {
            args: args.iter().map(|s| s.to_string()).collect(),
            stdin: None,
        }
    }

    #[test]
    fn splits_on_blanks() {
        assert_eq!(words("  -A  -t\t10.0.0.1:80 "), ["-A", "-t", "10.0.0.1:80"]);
        assert_eq!(words(""), Vec::<String>::new());
    }

    #[test]
    fn quotes() {
        assert_eq!(words(r#"'a b' "c d" e'f'"g""#), ["a b", "c d", "efg"]);
        assert_eq!(
            words(r#"'it''s' "say \"hi\" \\ \n $x""#),
            ["its", r#"say "hi" \ \n $x"#]
        );
        assert_eq!(words(r"a\ b \'c \; \#"), ["a b", "'c", ";", "#"]);
        assert_eq!(words("'a;b' \"<<<\" '#x'"), ["a;b", "<<<", "#x"]);
    }

    #[test]
    fn empty_arguments() {
        assert_eq!(words(r#"-s "" '' x"#), ["-s", "", "", "x"]);
        assert_eq!(
            args(r#"e: -A -t 10.0.0.1:80 -s """#),
            [["-A", "-t", "10.0.0.1:80", "-s", ""]]
        );
    }

    #[test]
    fn ansi_c_strings() {
        assert_eq!(words(r"$'a\nb\tc\\d\'e\x41'"), ["a\nb\tc\\d'eA"]);
        assert_eq!(words("$''"), [""]);
        assert!(tokenize(r"$'\q'").is_err());
        assert!(tokenize(r"$'\x4'").is_err());
        assert!(tokenize(r"$'abc").is_err());
        // A $ not followed by a quote is an ordinary character.
        assert_eq!(words("$x a$"), ["$x", "a$"]);
    }

    #[test]
    fn comments() {
        assert_eq!(words("-Ln # list it"), ["-Ln"]);
        assert_eq!(words("a#b"), ["a#b"]);
        assert_eq!(parse_line("  # a comment").unwrap(), None);
        assert_eq!(parse_line("").unwrap(), None);
        assert_eq!(parse_line("   ").unwrap(), None);
    }

    #[test]
    fn separators() {
        assert_eq!(
            args("add-list: -A -t 10.0.0.1:80 -s rr ; -Ln;-L -n"),
            [
                vec!["-A", "-t", "10.0.0.1:80", "-s", "rr"],
                vec!["-Ln"],
                vec!["-L", "-n"]
            ]
        );
        assert!(parse_line("x: -Ln ;").is_err(), "trailing separator");
        assert!(parse_line("x: -Ln ; ; -L").is_err(), "empty command");
        assert!(parse_line("x:").is_err(), "no command");
    }

    #[test]
    fn optional_program_name() {
        assert_eq!(
            case("bare: ipvsadm ; ipvsadm -Ln ; -L").1,
            [cmd(&[]), cmd(&["-Ln"]), cmd(&["-L"])]
        );
        assert_eq!(args("x: ipvsadm ipvsadm"), [["ipvsadm"]]);
        assert_eq!(args("x: -L ipvsadm"), [["-L", "ipvsadm"]]);
    }

    #[test]
    fn names() {
        assert_eq!(case("list-empty_1.v6+x: -Ln").0, "list-empty_1.v6+x");
        assert!(parse_line("-Ln").is_err());
        assert!(parse_line("no colon -Ln").is_err());
        assert!(parse_line(": -Ln").is_err());
        // IPv6 addresses are fine after the name: only the first colon ends it.
        assert_eq!(
            args("v6: -A -t [2001:db8::1]:80"),
            [["-A", "-t", "[2001:db8::1]:80"]]
        );
    }

    #[test]
    fn stdin_redirections() {
        let (_, cmds) = case("r: -R < restore.in ; -R <<< $'-A -t 10.0.0.1:80\\n-C' ; -Ln");
        assert_eq!(cmds[0].args, ["-R"]);
        assert_eq!(cmds[0].stdin, Some(Stdin::File("restore.in".into())));
        assert_eq!(
            cmds[1].stdin,
            Some(Stdin::Text("-A -t 10.0.0.1:80\n-C\n".into()))
        );
        assert_eq!(cmds[1].stdin_bytes().unwrap(), b"-A -t 10.0.0.1:80\n-C\n");
        assert_eq!(cmds[2].stdin, None);
        assert_eq!(
            case("r: <<<'' -R").1[0].stdin,
            Some(Stdin::Text("\n".into()))
        );
        assert!(parse_line("r: -R <").is_err());
        assert!(parse_line("r: -R < a < b").is_err());
        assert!(parse_line("r: -R << EOF").is_err());
        assert!(parse_line("r: -R < ; -Ln").is_err());
    }

    #[test]
    fn malformed_quotes() {
        assert!(parse_line("x: 'abc").is_err());
        assert!(parse_line("x: \"abc").is_err());
        assert!(parse_line("x: abc\\").is_err());
    }

    #[test]
    fn whole_files() {
        let text = "# header\n\nfirst: -Ln\nsecond: -A -t 10.0.0.1:80 \\\n  -s rr ; -Ln  # c\n\nthird: -v\n";
        let cases = parse_case_file(text, "t.cases", None).unwrap();
        let summary: Vec<_> = cases
            .iter()
            .map(|c| (c.name.as_str(), c.origin.as_str()))
            .collect();
        assert_eq!(
            summary,
            [
                ("first", "t.cases:3"),
                ("second", "t.cases:4"),
                ("third", "t.cases:7")
            ]
        );
        assert_eq!(
            cases[1].commands[0].args,
            ["-A", "-t", "10.0.0.1:80", "-s", "rr"]
        );

        let err = parse_case_file("ok: -Ln\nbad -Ln\nworse: 'x\n", "t.cases", None).unwrap_err();
        assert!(
            err.contains("t.cases:2:") && err.contains("t.cases:3:"),
            "{err}"
        );
        let err = parse_case_file("r: -R < x.in", "t.cases", None).unwrap_err();
        assert!(err.contains("t.cases:1:"), "{err}");
        let err =
            check_unique_names(&parse_case_file("a: -L\nb: -L\na: -Ln\n", "t", None).unwrap())
                .unwrap_err();
        assert!(
            err.contains("t:3: case name a already used at t:1"),
            "{err}"
        );
    }

    #[test]
    fn loads_directories() {
        let dir = std::env::temp_dir().join(format!("rsipvsadm-cases-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        assert!(load_dir(&dir).unwrap_err().contains("no cases"));
        fs::write(dir.join("b.cases"), "two: -L ; -R < in.txt\n").unwrap();
        fs::write(dir.join("a.cases"), "# nothing but\none: -Ln\n").unwrap();
        fs::write(dir.join("notes.txt"), "ignored: -x\n").unwrap();
        assert!(load_dir(&dir).unwrap_err().contains("no such file"));
        fs::write(dir.join("in.txt"), "-C\n").unwrap();
        let cases = load_dir(&dir).unwrap();
        let names: Vec<_> = cases.iter().map(|c| c.origin.as_str()).collect();
        assert_eq!(names, ["a.cases:2", "b.cases:1"]);
        assert_eq!(cases[1].commands[1].stdin_bytes().unwrap(), b"-C\n");
        fs::remove_dir_all(&dir).unwrap();
        assert!(
            load_dir(&dir)
                .unwrap_err()
                .contains("cannot read the cases directory")
        );
    }

    #[test]
    fn displays_commands() {
        let (_, cmds) =
            case(r#"d: -A -t 10.0.0.1:80 -s "" --pe 'a b' ; -R <<< $'x\ny' ; -R < f.in"#);
        assert_eq!(
            cmds[0].display(),
            "ipvsadm -A -t 10.0.0.1:80 -s '' --pe 'a b'"
        );
        assert_eq!(cmds[1].display(), r"ipvsadm -R <<< $'x\ny'");
        assert_eq!(cmds[2].display(), "ipvsadm -R < f.in");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
