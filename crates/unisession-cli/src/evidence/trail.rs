//! The audit records evidence summarises, taken from the trail file exactly as
//! written, and the SHA-256 over them that lets an auditor check the trail was not
//! edited afterwards: `sed -n 'FIRST,LASTp' TRAIL | sha256sum` gives the same digest.

use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};
use unisession::fleet::AuditRecord;

use crate::error::CliError;

/// Lines of the trail with their records.
#[derive(Debug)]
pub(crate) struct Extract {
    pub path: PathBuf,
    /// Numbers (from 1) of the lines taken, in order.
    pub lines: Vec<usize>,
    pub records: Vec<AuditRecord>,
    /// Hex SHA-256 over the taken lines, each with its line feed, in file order.
    pub sha256: String,
}

/// How many whole lines the trail holds now (0 when there is no file yet): a run's
/// records are the lines after this.
pub(crate) fn line_count(path: &Path) -> Result<usize, CliError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(bytes.iter().filter(|b| **b == b'\n').count()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(CliError::usage(format!(
            "{}: cannot read the audit trail: {e}",
            path.display()
        ))),
    }
}

/// The lines of the trail `take` selects. A line that is not an audit record (the
/// trail was edited, or is not a unisession audit trail) fails the whole extract:
/// evidence is never built around a damaged trail.
pub(crate) fn extract(
    path: &Path,
    mut take: impl FnMut(usize, &AuditRecord) -> bool,
) -> Result<Extract, CliError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        CliError::usage(format!(
            "{}: cannot read the audit trail: {e}",
            path.display()
        ))
    })?;
    let mut hash = Sha256::new();
    let mut lines = Vec::new();
    let mut records = Vec::new();
    for (index, line) in text.split_inclusive('\n').enumerate() {
        let number = index + 1;
        if !line.ends_with('\n') {
            // A record still being written (or cut short): not part of any run's end.
            break;
        }
        let record: AuditRecord = serde_json::from_str(line.trim_end()).map_err(|_| {
            CliError::usage(format!(
                "{}: line {number} is not an audit record: the trail was edited, or it is not a unisession audit trail",
                path.display()
            ))
        })?;
        if take(number, &record) {
            hash.update(line.as_bytes());
            lines.push(number);
            records.push(record);
        }
    }
    Ok(Extract {
        path: path.to_owned(),
        lines,
        records,
        sha256: hex::encode(hash.finalize()),
    })
}

/// What evidence says about the trail.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct TrailDigest {
    /// The trail file.
    pub file: String,
    /// The lines summarised: `3-120,125-130`.
    pub lines: String,
    /// How many records.
    pub records: usize,
    /// SHA-256 over those lines as written.
    pub sha256: String,
    /// A command that recomputes the digest.
    pub check: String,
}

impl Extract {
    pub(crate) fn digest(&self) -> TrailDigest {
        let ranges = ranges(&self.lines);
        let text: Vec<String> = ranges
            .iter()
            .map(|(a, b)| {
                if a == b {
                    a.to_string()
                } else {
                    format!("{a}-{b}")
                }
            })
            .collect();
        let script: Vec<String> = ranges.iter().map(|(a, b)| format!("{a},{b}p")).collect();
        let file = self.path.display().to_string();
        TrailDigest {
            check: if ranges.is_empty() {
                "printf '' | sha256sum".to_owned()
            } else {
                format!("sed -n '{}' {} | sha256sum", script.join(";"), quote(&file))
            },
            file,
            lines: text.join(","),
            records: self.records.len(),
            sha256: self.sha256.clone(),
        }
    }
}

/// Runs of consecutive numbers.
fn ranges(lines: &[usize]) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = Vec::new();
    for &n in lines {
        match out.last_mut() {
            Some((_, end)) if *end + 1 == n => *end = n,
            _ => out.push((n, n)),
        }
    }
    out
}

/// `text` quoted for a POSIX shell.
fn quote(text: &str) -> String {
    if text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+".contains(c))
    {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_join_consecutive_lines() {
        assert_eq!(ranges(&[1, 2, 3, 7, 9, 10]), vec![(1, 3), (7, 7), (9, 10)]);
        assert!(ranges(&[]).is_empty());
    }

    #[test]
    fn paths_are_quoted_for_the_shell() {
        assert_eq!(quote("/tmp/audit.jsonl"), "/tmp/audit.jsonl");
        assert_eq!(quote("my trail's.jsonl"), r"'my trail'\''s.jsonl'");
    }
}
