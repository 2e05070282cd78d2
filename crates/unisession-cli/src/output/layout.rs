//! Fitting text to the terminal: the width, tables that adapt to it, explanations
//! moved below a table as numbered notes, long ids shortened in the middle, and
//! prose wrapped at words.

use comfy_table::{ColumnConstraint, ContentArrangement, Table, Width, presets};
use unicode_width::UnicodeWidthStr;

/// The width when the output is not a terminal and `COLUMNS` says nothing: the
/// README's transcripts are this wide.
pub(crate) const DEFAULT_WIDTH: usize = 100;

/// Column widths (padding included) for columns wanting `natural`, within a table
/// `width` wide: all of it where it fits. Else the `rigid` columns (values without a
/// space: ids, addresses, counts, which could only be cut) keep their width and the
/// others share what is left; and when even that does not fit, every column gets
/// at most one level, the highest that fits.
fn shares(natural: &[usize], rigid: &[bool], width: usize) -> Vec<usize> {
    /// The narrowest a column that wraps at words is made.
    const FLEXIBLE: usize = 10;
    let available = width.saturating_sub(natural.len() + 1);
    if natural.iter().sum::<usize>() <= available {
        return natural.to_vec();
    }
    let is_rigid = |i: usize| rigid.get(i).copied().unwrap_or(false);
    let rigid_sum: usize = (0..natural.len())
        .filter(|&i| is_rigid(i))
        .map(|i| natural[i])
        .sum();
    let flexible: Vec<usize> = (0..natural.len()).filter(|&i| !is_rigid(i)).collect();
    let flexible_least: usize = flexible.iter().map(|&i| natural[i].min(FLEXIBLE)).sum();
    if !flexible.is_empty() && rigid_sum + flexible_least <= available {
        let wanted: Vec<usize> = flexible.iter().map(|&i| natural[i]).collect();
        let mut widths = natural.to_vec();
        for (&i, w) in flexible
            .iter()
            .zip(level_fill(&wanted, available - rigid_sum))
        {
            widths[i] = w;
        }
        return widths;
    }
    level_fill(natural, available)
}

/// Widths summing to at most `available` (where possible): no column above the
/// highest level that fits, the remainder to the columns that wanted more.
fn level_fill(natural: &[usize], available: usize) -> Vec<usize> {
    const NARROWEST: usize = 5;
    let fits = |level: usize| natural.iter().map(|&n| n.min(level)).sum::<usize>() <= available;
    let mut level = NARROWEST;
    while fits(level + 1) && level < natural.iter().copied().max().unwrap_or(0) {
        level += 1;
    }
    let mut widths: Vec<usize> = natural
        .iter()
        .map(|&n| n.min(level).max(NARROWEST.min(n)))
        .collect();
    let mut left = available.saturating_sub(widths.iter().sum());
    for (w, &n) in widths.iter_mut().zip(natural) {
        if left == 0 {
            break;
        }
        if *w < n {
            *w += 1;
            left -= 1;
        }
    }
    widths
}

/// The widest cell of column `index` in `table`.
fn rows_width(table: &Table, index: usize) -> usize {
    table
        .row_iter()
        .filter_map(|row| row.cell_iter().nth(index))
        .map(|cell| cell.content().lines().map(|l| l.width()).max().unwrap_or(0))
        .max()
        .unwrap_or(0)
}

/// The narrowest width honoured (anything narrower is read as this).
const MIN_WIDTH: usize = 40;

/// The width to fit: `COLUMNS` when set to a number, else the terminal's, else
/// [`DEFAULT_WIDTH`].
pub(crate) fn width() -> usize {
    let columns = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok());
    columns
        .or_else(|| terminal_size::terminal_size().map(|(w, _)| usize::from(w.0)))
        .unwrap_or(DEFAULT_WIDTH)
        .max(MIN_WIDTH)
}

/// `text` shortened to at most `max` characters by cutting its middle
/// (`6ee27d41…1277f4`). The JSON output keeps ids whole.
pub(crate) fn shorten(text: &str, max: usize) -> String {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= max || max < 5 {
        return text.to_owned();
    }
    let keep = max - 1;
    let head = keep.div_ceil(2);
    let tail = keep - head;
    let mut out: String = chars[..head].iter().collect();
    out.push('…');
    out.extend(&chars[chars.len() - tail..]);
    out
}

/// Explanations gathered while building a table, printed below it as `[1] …`.
#[derive(Debug, Default)]
pub(crate) struct Notes(Vec<String>);

impl Notes {
    /// Adds an explanation (the same text is numbered once) and returns its mark.
    pub(crate) fn mark(&mut self, text: impl Into<String>) -> String {
        let text = text.into();
        let index = match self.0.iter().position(|t| *t == text) {
            Some(i) => i,
            None => {
                self.0.push(text);
                self.0.len() - 1
            }
        };
        format!("[{}]", index + 1)
    }

    /// `cell` followed by the mark of `note`, joined by a no-break space so the mark
    /// never wraps onto a line of its own.
    pub(crate) fn with(&mut self, cell: &str, note: impl Into<String>) -> String {
        let mark = self.mark(note);
        if cell.is_empty() {
            mark
        } else {
            format!("{cell}\u{a0}{mark}")
        }
    }

    fn render(&self, width: usize) -> String {
        let mut out = String::new();
        for (i, text) in self.0.iter().enumerate() {
            let mark = format!("[{}] ", i + 1);
            out.push_str(&wrap_with(text, width, &mark, &" ".repeat(mark.len())));
            out.push('\n');
        }
        out
    }
}

/// A table fitted to `width`: columns where no row says anything are left out (their
/// header with them), cells wrap inside their column, and the notes follow.
pub(crate) fn fitted(
    headers: &[&str],
    rows: Vec<Vec<String>>,
    notes: &Notes,
    width: usize,
) -> String {
    let carries = |c: usize| {
        rows.iter().any(|row| {
            row.get(c)
                .is_some_and(|cell| !matches!(cell.as_str(), "" | "-" | "?"))
        })
    };
    let kept: Vec<usize> = (0..headers.len()).filter(|&c| carries(c)).collect();
    let rigid: Vec<bool> = kept
        .iter()
        .map(|&c| {
            rows.iter()
                .filter_map(|row| row.get(c))
                .all(|cell| !cell.contains(' '))
        })
        .collect();
    let mut table = Table::new();
    table.load_style(presets::UTF8_FULL_CONDENSED);
    table.set_content_arrangement(ContentArrangement::Dynamic);
    table.set_width(u16::try_from(width).unwrap_or(u16::MAX));
    table.set_header(kept.iter().map(|&c| headers[c]));
    for row in rows {
        table.add_row(
            kept.iter()
                .map(|&c| row.get(c).cloned().unwrap_or_default()),
        );
    }
    // Every column as wide as its widest value where the terminal allows; otherwise
    // the widest columns give way first (they wrap), and short ones (ids, addresses,
    // dates, counts) keep their values on one line.
    let natural: Vec<usize> = (0..kept.len())
        .map(|i| rows_width(&table, i).max(headers[kept[i]].width()) + 2)
        .collect();
    for (column, width) in table.column_iter_mut().zip(shares(&natural, &rigid, width)) {
        let width = u16::try_from(width).unwrap_or(u16::MAX);
        column.set_constraint(ColumnConstraint::Absolute(Width::Fixed(width)));
    }
    let mut out = table.to_string();
    // A cell holding a word longer than its column can still overflow: cut such lines
    // rather than break the terminal's layout (the JSON output keeps everything).
    out = out
        .lines()
        .map(|line| clip(line, width))
        .collect::<Vec<_>>()
        .join("\n");
    if !notes.0.is_empty() {
        out.push('\n');
        out.push_str(notes.render(width).trim_end());
    }
    out
}

/// `line` cut to `width` display columns.
fn clip(line: &str, width: usize) -> String {
    if line.width() <= width {
        return line.to_owned();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in line.chars() {
        let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w > width {
            break;
        }
        used += w;
        out.push(c);
    }
    out
}

/// `text` with every line wider than `width` wrapped at spaces, continuation lines
/// indented two more than the first; lines that fit are left exactly as they are.
pub(crate) fn wrap(text: &str, width: usize) -> String {
    text.lines()
        .map(|line| {
            if line.width() <= width {
                return line.to_owned();
            }
            let indent: String = line.chars().take_while(|c| *c == ' ').collect();
            wrap_with(line.trim_start(), width, &indent, &format!("{indent}  "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn wrap_with(text: &str, width: usize, first: &str, rest: &str) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut current = first.to_owned();
    let mut fresh = true;
    // Words keep the spaces that follow them, so a line keeps its own alignment.
    for piece in text.split_inclusive(' ') {
        let word = piece.trim_end_matches(' ');
        if !fresh && current.trim_end().width() + 1 + word.width() > width {
            lines.push(current.trim_end().to_owned());
            current = rest.to_owned();
        }
        current.push_str(piece);
        fresh = false;
        // A word longer than a whole line (a URL, a token) is never cut: cut, it
        // could not be copied. It stands alone on its line.
    }
    lines.push(current.trim_end().to_owned());
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shorten_keeps_both_ends() {
        assert_eq!(
            shorten("6ee27d41-8557-4d20-abe7-52a69a1277f4", 15),
            "6ee27d4…a1277f4"
        );
        assert_eq!(shorten("short", 15), "short");
        assert_eq!(
            shorten("6ee27d41-8557-4d20-abe7-52a69a1277f4", 15)
                .chars()
                .count(),
            15
        );
    }

    #[test]
    fn notes_are_numbered_once_per_text() {
        let mut notes = Notes::default();
        assert_eq!(notes.with("REVOKED", "why"), "REVOKED\u{a0}[1]");
        assert_eq!(notes.mark("other"), "[2]");
        assert_eq!(notes.mark("why"), "[1]");
    }

    #[test]
    fn tables_fit_and_empty_columns_go() {
        let mut notes = Notes::default();
        let long = "a very long explanation that would widen the column far beyond any terminal width anyone uses".to_owned();
        let rows = vec![
            vec![
                "docspace".into(),
                "?".into(),
                notes.with("cannot list", long.clone()),
            ],
            vec!["slack".into(), "?".into(), "3".into()],
        ];
        for width in [60, 80, 120] {
            let out = fitted(
                &["PROVIDER", "REVOKED", "SESSIONS"],
                rows.clone(),
                &notes,
                width,
            );
            assert!(out.lines().all(|l| l.width() <= width), "{width}:\n{out}");
            assert!(
                !out.contains("REVOKED"),
                "a column of ? says nothing:\n{out}"
            );
            assert!(out.contains("[1] a very long"), "{out}");
        }
    }

    #[test]
    fn shares_keep_short_columns_whole_and_fit() {
        let none = [false; 6];
        assert_eq!(shares(&[10, 12, 30], &none, 80), vec![10, 12, 30]);
        let narrow = shares(&[12, 19, 19, 26, 21, 18], &none, 80);
        assert!(narrow.iter().sum::<usize>() + 7 <= 80, "{narrow:?}");
        assert_eq!(
            narrow[0], 12,
            "the short column keeps its width: {narrow:?}"
        );
        assert!(narrow[3] < 26, "the widest gives way: {narrow:?}");
    }

    #[test]
    fn rigid_columns_keep_their_width_while_prose_gives_way() {
        // provider, user, session, device (words), ip, since
        let natural = [12, 13, 13, 30, 15, 12];
        let rigid = [true, true, true, false, true, true];
        let widths = shares(&natural, &rigid, 90);
        assert_eq!(
            [widths[0], widths[1], widths[2], widths[4], widths[5]],
            [12, 13, 13, 15, 12],
            "{widths:?}"
        );
        assert_eq!(widths.iter().sum::<usize>() + 7, 90, "{widths:?}");
        // Too narrow even for that: every column gives way.
        let tight = shares(&natural, &rigid, 60);
        assert!(tight.iter().sum::<usize>() + 7 <= 60, "{tight:?}");
    }

    #[test]
    fn wrap_keeps_the_indent_and_never_cuts_a_word() {
        let token = "x".repeat(30);
        let out = wrap(&format!("  key: {token} end"), 20);
        assert_eq!(out, format!("  key:\n    {token}\n    end"), "{out}");
        let prose = wrap("one two three four five six seven", 12);
        assert_eq!(prose, "one two\n  three four\n  five six\n  seven");
        let table = "│ a  ┆ b │\n│ cc ┆ d │";
        assert_eq!(wrap(table, 12), table, "lines that fit keep their spacing");
    }
}
