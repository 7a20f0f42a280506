//! Comparing what the reference and the candidate printed and returned for a case, and
//! reporting differences as readable line diffs. Pure functions: the unit tests at the
//! bottom run on the host (`tests/differential_parser.rs`).
#![allow(dead_code)]

use crate::case_file::Case;
use crate::common::RunOutput;

/// Lines of unchanged context shown around each change.
const CONTEXT: usize = 3;
/// Above this many cells the line diff gives up on aligning and shows both sides whole.
const MAX_DIFF_CELLS: usize = 4_000_000;

/// Compares the outputs of `case`'s commands from the reference (`expected`, named
/// `expected_label` in the report) and the candidate (`actual`). `None` if every command
/// had the same exit status, stdout and stderr; else a report naming the case, each
/// differing command and how it differs.
pub fn compare_case(
    case: &Case,
    expected: &[RunOutput],
    actual: &[RunOutput],
    expected_label: &str,
    actual_label: &str,
) -> Option<String> {
    assert_eq!(
        expected.len(),
        case.commands.len(),
        "one output per command"
    );
    assert_eq!(actual.len(), case.commands.len(), "one output per command");
    let total = case.commands.len();
    let mut report = String::new();
    for (n, ((cmd, exp), act)) in case.commands.iter().zip(expected).zip(actual).enumerate() {
        if exp == act {
            continue;
        }
        report.push_str(&format!(
            "  command {} of {total}: {}\n",
            n + 1,
            cmd.display()
        ));
        if exp.exit != act.exit {
            report.push_str(&format!(
                "    status: {expected_label}: {}, {actual_label}: {}\n",
                exp.exit, act.exit
            ));
        }
        for (stream, e, a) in [
            ("stdout", &exp.stdout, &act.stdout),
            ("stderr", &exp.stderr, &act.stderr),
        ] {
            if e != a {
                report.push_str(&format!(
                    "    {stream} differs (-{expected_label} +{actual_label}):\n"
                ));
                report.push_str(&line_diff(e, a, "      "));
            }
        }
    }
    (!report.is_empty()).then(|| {
        format!(
            "case {} ({}): {expected_label} and {actual_label} differ\n{report}",
            case.name, case.origin
        )
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Edit {
    Same,
    Removed,
    Added,
}

/// A unified-style diff of two texts by lines, each line shown cat -A style (`$` at the
/// end of a line, `^I` for a tab) so that whitespace differences are visible; unchanged
/// lines farther than `CONTEXT` from a change are elided. Every line starts with
/// `indent`.
pub fn line_diff(expected: &[u8], actual: &[u8], indent: &str) -> String {
    let a = split_lines(expected);
    let b = split_lines(actual);
    let edits = diff(&a, &b);
    let near_change = |i: usize| {
        let lo = i.saturating_sub(CONTEXT);
        let hi = (i + CONTEXT + 1).min(edits.len());
        edits[lo..hi].iter().any(|(e, _)| *e != Edit::Same)
    };
    let mut out = String::new();
    let mut elided = false;
    for (i, (edit, line)) in edits.iter().enumerate() {
        if *edit == Edit::Same && !near_change(i) {
            if !elided {
                out.push_str(&format!("{indent} ...\n"));
                elided = true;
            }
            continue;
        }
        elided = false;
        let sign = match edit {
            Edit::Same => ' ',
            Edit::Removed => '-',
            Edit::Added => '+',
        };
        out.push_str(&format!("{indent}{sign}{}\n", visible(line)));
    }
    if edits.is_empty() {
        out.push_str(&format!("{indent} (both empty)\n"));
    }
    out
}

/// Splits into lines, each keeping its `\n` (so a missing final newline is a difference).
fn split_lines(text: &[u8]) -> Vec<&[u8]> {
    text.split_inclusive(|&b| b == b'\n').collect()
}

/// A line as cat -A shows it, minus the high-bit notation (non-UTF-8 bytes are replaced).
fn visible(line: &[u8]) -> String {
    let (body, newline) = match line.strip_suffix(b"\n") {
        Some(body) => (body, true),
        None => (line, false),
    };
    let mut out = String::new();
    for c in String::from_utf8_lossy(body).chars() {
        match c {
            '\t' => out.push_str("^I"),
            c if (c as u32) < 0x20 => {
                out.push('^');
                out.push(char::from(c as u8 + b'@'));
            }
            '\x7f' => out.push_str("^?"),
            c => out.push(c),
        }
    }
    out.push_str(if newline {
        "$"
    } else {
        "   (no newline at end)"
    });
    out
}

/// Line edits turning `a` into `b`: common prefix and suffix, and a longest common
/// subsequence alignment of the middle (or all of it removed and added if too big).
fn diff<'t>(a: &[&'t [u8]], b: &[&'t [u8]]) -> Vec<(Edit, &'t [u8])> {
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..]
        .iter()
        .rev()
        .zip(b[prefix..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (am, bm) = (&a[prefix..a.len() - suffix], &b[prefix..b.len() - suffix]);

    let mut edits: Vec<(Edit, &[u8])> = a[..prefix].iter().map(|l| (Edit::Same, *l)).collect();
    if am.len() * bm.len() > MAX_DIFF_CELLS {
        edits.extend(am.iter().map(|l| (Edit::Removed, *l)));
        edits.extend(bm.iter().map(|l| (Edit::Added, *l)));
    } else {
        // lcs[i][j]: length of the LCS of am[i..] and bm[j..].
        let (n, m) = (am.len(), bm.len());
        let mut lcs = vec![vec![0u32; m + 1]; n + 1];
        for i in (0..n).rev() {
            for j in (0..m).rev() {
                lcs[i][j] = if am[i] == bm[j] {
                    lcs[i + 1][j + 1] + 1
                } else {
                    lcs[i + 1][j].max(lcs[i][j + 1])
                };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < n || j < m {
            if i < n && j < m && am[i] == bm[j] {
                edits.push((Edit::Same, am[i]));
                i += 1;
                j += 1;
            } else if j == m || (i < n && lcs[i + 1][j] >= lcs[i][j + 1]) {
                edits.push((Edit::Removed, am[i]));
                i += 1;
            } else {
                edits.push((Edit::Added, bm[j]));
                j += 1;
            }
        }
    }
    edits.extend(a[a.len() - suffix..].iter().map(|l| (Edit::Same, *l)));
    edits
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case_file::parse_case_file;
    use crate::common::Exit;

    fn out(code: i32, stdout: &str, stderr: &str) -> RunOutput {
        RunOutput {
            exit: Exit::Code(code),
            stdout: stdout.into(),
            stderr: stderr.into(),
        }
    }

    fn one_case(line: &str) -> Case {
        parse_case_file(line, "t.cases", None).unwrap().remove(0)
    }

    #[test]
    fn equal_outputs_match() {
        let case = one_case("c: -A -t 10.0.0.1:80 ; -Ln");
        let outs = [out(0, "", ""), out(0, "table\n", "")];
        assert_eq!(compare_case(&case, &outs, &outs.clone(), "a", "b"), None);
    }

    #[test]
    fn reports_each_difference() {
        let case = one_case("c: -A -t 10.0.0.1:0 ; -Ln ; -v");
        let expected = [
            out(2, "", "Zero port specified for non-persistent service\n"),
            out(0, "x\n", ""),
            out(0, "v\n", ""),
        ];
        let actual = [out(0, "", ""), out(0, "x\n", ""), out(0, "v \n", "")];
        let report = compare_case(&case, &expected, &actual, "ipvsadm", "rsipvsadm").unwrap();
        assert_eq!(
            report,
            "case c (t.cases:1): ipvsadm and rsipvsadm differ\n\
             \x20 command 1 of 3: ipvsadm -A -t 10.0.0.1:0\n\
             \x20   status: ipvsadm: exit code 2, rsipvsadm: exit code 0\n\
             \x20   stderr differs (-ipvsadm +rsipvsadm):\n\
             \x20     -Zero port specified for non-persistent service$\n\
             \x20 command 3 of 3: ipvsadm -v\n\
             \x20   stdout differs (-ipvsadm +rsipvsadm):\n\
             \x20     -v$\n\
             \x20     +v $\n"
        );
    }

    #[test]
    fn signals_and_timeouts_differ_from_codes() {
        let case = one_case("c: -Ln");
        let mut killed = out(0, "", "");
        killed.exit = Exit::Signal(11);
        let report = compare_case(&case, &[out(0, "", "")], &[killed], "a", "b").unwrap();
        assert!(
            report.contains("status: a: exit code 0, b: killed by signal 11"),
            "{report}"
        );
    }

    #[test]
    fn diff_aligns_lines() {
        let a = "h1\nh2\nTCP  10.0.0.1:80 rr\n  -> 10.0.0.2:80\nend\n";
        let b = "h1\nh2\nTCP  10.0.0.1:80 wrr\n  -> 10.0.0.2:80\nextra\nend\n";
        assert_eq!(
            line_diff(a.as_bytes(), b.as_bytes(), ""),
            " h1$\n h2$\n-TCP  10.0.0.1:80 rr$\n+TCP  10.0.0.1:80 wrr$\n   -> 10.0.0.2:80$\n+extra$\n end$\n"
        );
    }

    #[test]
    fn diff_elides_far_context() {
        let a: String = (0..20).map(|i| format!("{i}\n")).collect();
        let b = a.replace("10\n", "ten\n");
        let d = line_diff(a.as_bytes(), b.as_bytes(), "");
        assert_eq!(
            d,
            " ...\n 7$\n 8$\n 9$\n-10$\n+ten$\n 11$\n 12$\n 13$\n ...\n"
        );
    }

    #[test]
    fn diff_shows_invisible_differences() {
        assert_eq!(
            line_diff(b"a\n", b"a", ""),
            "-a$\n+a   (no newline at end)\n"
        );
        assert_eq!(line_diff(b"a\tb\n", b"a b\n", ""), "-a^Ib$\n+a b$\n");
        assert_eq!(line_diff(b"", b"", ""), " (both empty)\n");
        assert_eq!(line_diff(b"", b"x\n", ""), "+x$\n");
    }
}
