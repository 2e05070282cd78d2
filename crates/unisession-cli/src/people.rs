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

/// One email per line; blank lines and `#` comments are skipped.
fn read_lines(path: &Path, text: &str) -> Result<Vec<Subject>, CliError> {
    let mut subjects = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if !email_ok(line) {
            return Err(bad(
                path,
                number + 1,
                format!("{line:?} is not an email address"),
            ));
        }
        subjects.push(Subject::email(line));
    }
    Ok(subjects)
}

/// RFC 4180 CSV (quoted fields may hold commas, quotes and line breaks): a header
/// naming `email`, optionally `name`, and configured providers whose cells hold
/// explicit user ids.
fn read_csv(path: &Path, text: &str, providers: &[String]) -> Result<Vec<Subject>, CliError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .from_reader(text.as_bytes());
    let columns: Vec<String> = reader
        .headers()
        .map_err(|e| bad(path, 1, format!("not CSV: {e}")))?
        .iter()
        .map(str::to_lowercase)
        .collect();
    if columns.iter().all(String::is_empty) {
        return Err(bad(path, 1, "the CSV file is empty"));
    }
    let email_at = columns.iter().position(|c| c == "email");
    for column in &columns {
        if column != "email" && column != "name" && !providers.contains(column) {
            return Err(bad(
                path,
                1,
                format!("column {column:?} is neither email, name nor a configured provider"),
            ));
        }
    }
    let mut subjects = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line() as usize);
            bad(path, line, format!("not CSV: {e}"))
        })?;
        let line = record.position().map_or(0, |p| p.line() as usize);
        if record.iter().all(str::is_empty) {
            continue;
        }
        let mut subject = match email_at
            .and_then(|i| record.get(i))
            .filter(|e| !e.is_empty())
        {
            Some(email) if email_ok(email) => Subject::email(email),
            Some(email) => {
                return Err(bad(
                    path,
                    line,
                    format!("{email:?} is not an email address"),
                ));
            }
            None => Subject::ids(Vec::<(String, String)>::new()),
        };
        for (column, cell) in columns.iter().zip(record.iter()) {
            if providers.contains(column) && !cell.is_empty() {
                subject = subject.with_id(column.clone(), cell);
            }
        }
        if subject.email.is_none() && subject.ids.is_empty() {
            return Err(bad(path, line, "neither an email nor an id"));
        }
        subjects.push(subject);
    }
    Ok(subjects)
}

/// Reads the people of a file; `providers` are the configured names (CSV id columns
/// must be among them).
pub(crate) fn read(path: &Path, providers: &[String]) -> Result<Vec<Subject>, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::usage(format!("{}: cannot read: {e}", path.display())))?;
    let is_csv = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    let subjects = if is_csv {
        read_csv(path, &text, providers)?
    } else {
        read_lines(path, &text)?
    };
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(name: &str, text: &str) -> Result<Vec<Subject>, CliError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        read(&path, &["slack".to_owned(), "rocketchat".to_owned()])
    }

    #[test]
    fn quoted_csv_fields_keep_their_commas_quotes_and_line_breaks() {
        let subjects = parse(
            "people.csv",
            "name,email,slack\n\
             \"Doe, Jane\",jane@corp.example,W1\n\
             \"O\"\"Neil\nSean\",sean@corp.example,\n\
             # a comment\n\
             ,,\"W2\"\n",
        )
        .unwrap();
        let keys: Vec<String> = subjects.iter().map(Subject::key).collect();
        assert_eq!(keys.len(), 3, "{keys:?}");
        assert_eq!(subjects[0].email.as_deref(), Some("jane@corp.example"));
        assert_eq!(subjects[0].ids.get("slack").map(|u| u.as_str()), Some("W1"));
        assert_eq!(subjects[1].email.as_deref(), Some("sean@corp.example"));
        assert!(subjects[1].ids.is_empty());
        assert_eq!(subjects[2].email, None);
        assert_eq!(subjects[2].ids.get("slack").map(|u| u.as_str()), Some("W2"));
    }

    #[test]
    fn a_line_break_inside_quotes_cannot_smuggle_in_a_person() {
        // A naive line reader would see a second row holding mallory.
        let subjects = parse(
            "people.csv",
            "name,email\n\"Eve\nx,mallory@corp.example\",eve@corp.example\n",
        )
        .unwrap();
        assert_eq!(subjects.len(), 1);
        assert_eq!(subjects[0].email.as_deref(), Some("eve@corp.example"));
    }

    #[test]
    fn malformed_files_name_the_line_and_the_problem() {
        let cases = [
            ("a.csv", "email,slack\na@corp.example,W1,extra\n", "a.csv:2"),
            ("b.csv", "email,jira\na@corp.example,1\n", "\"jira\""),
            ("c.csv", "email\nnot-an-email\n", "is not an email"),
            (
                "d.csv",
                "email,slack,name\n,,Bob\n",
                "neither an email nor an id",
            ),
            ("e.txt", "a@corp.example\nbad\r\nline@x\n", "e.txt:2"),
            ("f.txt", "a@corp.example\na@corp.example\n", "listed twice"),
            ("g.txt", "# only a comment\n", "no people"),
        ];
        for (name, text, needle) in cases {
            let error = parse(name, text).unwrap_err().to_string();
            assert!(error.contains(needle), "{name}: {error}");
        }
    }
}
