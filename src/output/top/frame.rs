//! One frame of `top` as lines of text: two header lines (time, interval, totals), the
//! table's title line and a line per service and real server.
//!
//! comfy-table aligns the columns; this module decides what fits: on a narrow terminal
//! the share bar shrinks, then only the percentage stays, then the share column goes,
//! then the addresses are cut (`~` marks the cut); rows past the height are left
//! out and the last line says how many.

use std::time::Duration;

use comfy_table::{Cell, CellAlignment, Row, Table, presets};

use super::units::{byte_rate_text, count_rate_text};
use super::{ServiceRow, total};

/// What the header lines say about this frame.
#[derive(Debug, Clone, Copy)]
pub struct FrameHeader<'a> {
    /// When the sample was taken, as the caller wants it shown.
    pub time: &'a str,
    /// The interval asked for.
    pub interval: Duration,
    /// The seconds the rates were measured over; `None` on a first frame (no rates).
    pub measured: Option<f64>,
    /// Said at the end of the first line (the interactive view's keys).
    pub hint: Option<&'a str>,
}

const TITLES: [&str; 9] = [
    "SERVICE", "SCHED", "WEIGHT", "ACTIVE", "INACT", "CONN/s", "PKT/s", "BYTES/s", "SHARE",
];
const SHARE: usize = 8;
/// The share bar when the width is not limited (batch mode).
const BAR_UNLIMITED: usize = 20;
const BAR_MAX: usize = 40;
const BAR_MIN: usize = 3;
/// `100%`.
const PERCENT_WIDTH: usize = 4;
/// The address column is never cut shorter than this.
const LABEL_MIN: usize = 12;
/// Two header lines and the table's title line.
const HEADER_LINES: usize = 3;

/// The frame's lines, none longer than `width` characters and no more than `height`
/// lines (`None`: no limit, as in batch mode).
pub fn render(
    rows: &[ServiceRow],
    header: &FrameHeader<'_>,
    width: Option<usize>,
    height: Option<usize>,
) -> Vec<String> {
    let mut lines = header_lines(rows, header);
    let body = table_rows(rows);
    let (shown, hidden) = match height {
        Some(h) if body.len() > h.saturating_sub(HEADER_LINES) => {
            // One line goes to saying how many rows are hidden.
            let shown = h.saturating_sub(HEADER_LINES + 1);
            (shown, body.len() - shown)
        }
        _ => (body.len(), 0),
    };
    lines.extend(lay_out(&body[..shown], width));
    if rows.is_empty() {
        lines.push("No virtual services.".into());
    }
    if hidden > 0 {
        lines.push(format!(
            "... {hidden} more row{} hidden: make the terminal taller",
            if hidden == 1 { "" } else { "s" }
        ));
    }
    if let Some(h) = height {
        lines.truncate(h);
    }
    if let Some(w) = width {
        for line in &mut lines {
            cut(line, w);
            line.truncate(line.trim_end().len());
        }
    }
    lines
}

fn header_lines(rows: &[ServiceRow], header: &FrameHeader<'_>) -> Vec<String> {
    let dests: usize = rows.iter().map(|s| s.dests.len()).sum();
    let interval = header.interval.as_secs_f64();
    let over = match header.measured {
        Some(seconds) => format!("rates over {seconds:.2}s"),
        None => "rates from the next frame".into(),
    };
    let mut first = format!(
        "rsipvsadm top - {} - every {interval}s, {over}",
        header.time
    );
    if let Some(hint) = header.hint {
        first.push_str(" - ");
        first.push_str(hint);
    }
    let counts = format!(
        "{} service{}, {dests} real server{}",
        rows.len(),
        plural(rows.len()),
        plural(dests)
    );
    let second = match header.measured {
        Some(_) => {
            let t = total(rows);
            format!(
                "Total: {counts}, {} conn/s, {} pkt/s, {}",
                count_rate_text(t.conns),
                count_rate_text(t.packets),
                byte_rate_text(t.bytes)
            )
        }
        None => format!("Total: {counts}, - conn/s, - pkt/s, - B/s"),
    };
    vec![first, second]
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// A table row before layout: the share is kept as a number until the bar's width is
/// known.
struct Line {
    cells: [String; SHARE],
    share: Option<f64>,
}

fn table_rows(rows: &[ServiceRow]) -> Vec<Line> {
    let rate_cells = |rates: Option<super::Rates>| match rates {
        Some(r) => [
            count_rate_text(r.conns),
            count_rate_text(r.packets),
            byte_rate_text(r.bytes),
        ],
        None => ["-".into(), "-".into(), "-".into()],
    };
    let mut lines = Vec::new();
    for s in rows {
        let [conns, packets, bytes] = rate_cells(s.rates);
        lines.push(Line {
            cells: [
                s.label.clone(),
                s.scheduler.clone(),
                String::new(),
                s.active.to_string(),
                s.inactive.to_string(),
                conns,
                packets,
                bytes,
            ],
            share: None,
        });
        for d in &s.dests {
            let [conns, packets, bytes] = rate_cells(d.rates);
            lines.push(Line {
                cells: [
                    format!("  -> {}", d.label),
                    d.forward.to_string(),
                    d.weight.to_string(),
                    d.active.to_string(),
                    d.inactive.to_string(),
                    conns,
                    packets,
                    bytes,
                ],
                share: d.share,
            });
        }
    }
    lines
}

/// How the share column is shown.
#[derive(Debug, Clone, Copy, PartialEq)]
enum ShareColumn {
    Bar(usize),
    PercentOnly,
    Left,
}

fn lay_out(body: &[Line], width: Option<usize>) -> Vec<String> {
    let natural: Vec<usize> = (0..SHARE)
        .map(|c| {
            body.iter()
                .map(|l| l.cells[c].chars().count())
                .chain([TITLES[c].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    // One space between columns.
    let others: usize = natural[1..].iter().sum::<usize>() + SHARE - 1;
    let (share, label_max) = match width {
        None => (ShareColumn::Bar(BAR_UNLIMITED), None),
        Some(w) => {
            let room = w.saturating_sub(natural[0] + others + 1);
            let share = if room >= PERCENT_WIDTH + 1 + BAR_MIN {
                ShareColumn::Bar((room - PERCENT_WIDTH - 1).min(BAR_MAX))
            } else if room >= PERCENT_WIDTH {
                ShareColumn::PercentOnly
            } else {
                ShareColumn::Left
            };
            let label_max = w.saturating_sub(others).max(LABEL_MIN);
            (share, (label_max < natural[0]).then_some(label_max))
        }
    };

    let mut table = Table::new();
    table.load_style(presets::NOTHING);
    let columns = if share == ShareColumn::Left {
        SHARE
    } else {
        SHARE + 1
    };
    table.set_header(one_line(TITLES[..columns].iter().map(|t| t.to_string())));
    for line in body {
        let mut cells: Vec<String> = line.cells.to_vec();
        if let Some(max) = label_max {
            shorten(&mut cells[0], max);
        }
        if share != ShareColumn::Left {
            cells.push(share_text(line.share, share));
        }
        table.add_row(one_line(cells));
    }
    for (c, column) in table.column_iter_mut().enumerate() {
        column.set_padding((0, if c + 1 < columns { 1 } else { 0 }));
        if (2..SHARE).contains(&c) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    table.lines().map(|l| l.trim_end().to_string()).collect()
}

fn one_line(cells: impl IntoIterator<Item = String>) -> Row {
    let mut row = Row::from(cells.into_iter().map(Cell::new).collect::<Vec<_>>());
    // Never wrap a row onto a second line: every row is one line of the screen.
    row.max_height(1);
    row
}

/// Cuts an address to `max` characters, `~` marking the cut.
fn shorten(label: &mut String, max: usize) {
    if label.chars().count() > max {
        cut(label, max.saturating_sub(1));
        label.push('~');
    }
}

/// ` 33% #####`: the percentage, then a bar of `width` for 100%.
fn share_text(share: Option<f64>, column: ShareColumn) -> String {
    let Some(share) = share else {
        return String::new();
    };
    let share = share.clamp(0.0, 1.0);
    let percent = format!("{:>3.0}%", share * 100.0);
    match column {
        ShareColumn::Bar(width) => {
            let filled = (share * width as f64).round() as usize;
            format!("{percent} {}", "#".repeat(filled))
        }
        _ => percent,
    }
}

/// Cuts `line` to `width` characters.
fn cut(line: &mut String, width: usize) {
    if let Some((at, _)) = line.char_indices().nth(width) {
        line.truncate(at);
    }
}
