//! People files for `offboard --file`: one email per line, or CSV with an `email`
//! column and optional per-provider id columns.

use std::path::Path;

use unisession::fleet::Subject;

use crate::error::CliError;

fn bad(path: &Path, line: usize, why: impl AsRef<str>) -> CliError {
    CliError::usage(format!("{}:{line}: {}", path.display(), why.as_ref()))
}

fn email_ok(email: &str) -> bool {
    let parts: Vec<&str> = email.split('@').collect();
    parts.len() == 2
        && !parts[0].is_empty()
        && parts[1].contains('.')
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Reads the people of a file; `providers` are the configured names (CSV id columns
/// must be among them).
pub fn read(path: &Path, providers: &[String]) -> Result<Vec<Subject>, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::usage(format!("{}: cannot read: {e}", path.display())))?;
    let is_csv = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    let mut subjects = Vec::new();
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'));
    if is_csv {
        let Some((_, header)) = lines.next() else {
            return Err(bad(path, 1, "the CSV file is empty"));
        };
        let columns: Vec<String> = header.split(',').map(|c| c.trim().to_lowercase()).collect();
        let email_at = columns.iter().position(|c| c == "email");
        for (i, column) in columns.iter().enumerate() {
            if Some(i) != email_at && !providers.contains(column) && column != "name" {
                return Err(bad(
                    path,
                    1,
                    format!("column {column:?} is neither email, name nor a configured provider"),
                ));
            }
        }
        for (number, line) in lines {
            let cells: Vec<&str> = line.split(',').map(str::trim).collect();
            if cells.len() != columns.len() {
                return Err(bad(
                    path,
                    number,
                    format!(
                        "{} cells where the header has {}",
                        cells.len(),
                        columns.len()
                    ),
                ));
            }
            let mut subject = match email_at.map(|i| cells[i]).filter(|e| !e.is_empty()) {
                Some(email) if email_ok(email) => Subject::email(email),
                Some(email) => {
                    return Err(bad(
                        path,
                        number,
                        format!("{email:?} is not an email address"),
                    ));
                }
                None => Subject::ids(Vec::<(String, String)>::new()),
            };
            for (column, cell) in columns.iter().zip(&cells) {
                if providers.contains(column) && !cell.is_empty() {
                    subject = subject.with_id(column.clone(), *cell);
                }
            }
            if subject.email.is_none() && subject.ids.is_empty() {
                return Err(bad(path, number, "neither an email nor an id"));
            }
            subjects.push(subject);
        }
    } else {
        for (number, line) in lines {
            if !email_ok(line) {
                return Err(bad(
                    path,
                    number,
                    format!("{line:?} is not an email address"),
                ));
            }
            subjects.push(Subject::email(line));
        }
    }
    let mut keys = std::collections::HashSet::new();
    for subject in &subjects {
        if !keys.insert(subject.key()) {
            return Err(CliError::usage(format!(
                "{}: {} is listed twice",
                path.display(),
                subject.key()
            )));
        }
    }
    if subjects.is_empty() {
        return Err(CliError::usage(format!(
            "{}: no people in the file",
            path.display()
        )));
    }
    Ok(subjects)
}
