//! The journal of a many-person run: append-only JSON Lines, flushed and fsynced
//! after each outcome, so a killed run resumes without redoing or skipping a pair.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use unisession_core::{Revocation, UserId};

use super::{ProviderOutcome, ProviderReport, Subject};

const VERSION: u32 = 1;

/// Why a journal cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JournalError {
    /// Reading or writing failed.
    #[error("journal {path}: {source}")]
    Io {
        /// The journal.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The journal was written for another list of people or providers.
    #[error(
        "journal {path} belongs to a different run (other people or providers); use a new journal file, or the input it was written for"
    )]
    Mismatch {
        /// The journal.
        path: PathBuf,
    },
    /// A line in the middle of the journal cannot be read.
    #[error(
        "journal {path}: line {line} is damaged; it is not a unisession journal, or it was edited"
    )]
    Corrupt {
        /// The journal.
        path: PathBuf,
        /// The line number, from 1.
        line: usize,
    },
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Line {
    Header {
        version: u32,
        input: String,
        subjects: usize,
        providers: Vec<String>,
        created_at: DateTime<Utc>,
    },
    Outcome {
        subject: String,
        #[serde(flatten)]
        report: ProviderReport,
        at: DateTime<Utc>,
    },
    /// A revocation is about to be sent. A pair left with this line only (killed
    /// while the call was in flight) is verified first on resume, and revoked again
    /// only if its sessions are still there.
    Sending {
        subject: String,
        provider: String,
        user: UserId,
        at: DateTime<Utc>,
    },
    /// The provider accepted the revocation; its verification has not been recorded
    /// yet. A resumed run verifies the pair without revoking again.
    Revoked {
        subject: String,
        provider: String,
        user: UserId,
        revocation: Revocation,
        at: DateTime<Utc>,
    },
}

/// A journal as a finished (or killed) run left it: its header and every outcome
/// line, in order. `unisession report` builds evidence from it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct JournalRecord {
    /// When the journal was created (the first run over it started).
    pub created_at: DateTime<Utc>,
    /// How many people the run was given.
    pub subjects: usize,
    /// The provider names, in order.
    pub providers: Vec<String>,
    /// Every recorded outcome, in order; a rerun's attempts follow the earlier ones.
    pub entries: Vec<JournalEntry>,
}

/// One outcome line of a journal.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct JournalEntry {
    /// The person (as [`Subject::key`]).
    pub subject: String,
    /// The pair's outcome.
    pub report: ProviderReport,
    /// When it was recorded.
    pub at: DateTime<Utc>,
}

impl JournalRecord {
    /// Reads a journal. A last line cut short (the run was killed while writing it)
    /// is left out, as a resumed run leaves it out; a damaged line before it is
    /// [`JournalError::Corrupt`].
    pub fn read(path: &Path) -> Result<Self, JournalError> {
        let io = |source| JournalError::Io {
            path: path.to_owned(),
            source,
        };
        let corrupt = |line| JournalError::Corrupt {
            path: path.to_owned(),
            line,
        };
        let text = std::fs::read_to_string(path).map_err(io)?;
        let mut record: Option<Self> = None;
        for (index, line) in text.split_inclusive('\n').enumerate() {
            let number = index + 1;
            if !line.ends_with('\n') {
                break;
            }
            match (serde_json::from_str::<Line>(line.trim_end()), &mut record) {
                (
                    Ok(Line::Header {
                        version: VERSION,
                        subjects,
                        providers,
                        created_at,
                        ..
                    }),
                    None,
                ) if number == 1 => {
                    record = Some(Self {
                        created_at,
                        subjects,
                        providers,
                        entries: Vec::new(),
                    });
                }
                (
                    Ok(Line::Outcome {
                        subject,
                        report,
                        at,
                    }),
                    Some(record),
                ) => record.entries.push(JournalEntry {
                    subject,
                    report,
                    at,
                }),
                // An accepted revocation awaiting its outcome line: not an outcome.
                (Ok(Line::Revoked { .. } | Line::Sending { .. }), Some(_)) => {}
                _ => return Err(corrupt(number)),
            }
        }
        record.ok_or_else(|| corrupt(1))
    }

    /// The last outcome of each (person, provider) pair, in the order pairs were
    /// first recorded: what the run ended with.
    pub fn latest(&self) -> Vec<&JournalEntry> {
        let mut order: Vec<(&str, &str)> = Vec::new();
        let mut last: BTreeMap<(&str, &str), &JournalEntry> = BTreeMap::new();
        for entry in &self.entries {
            let key = (entry.subject.as_str(), entry.report.provider.as_str());
            if last.insert(key, entry).is_none() {
                order.push(key);
            }
        }
        order
            .iter()
            .filter_map(|key| last.get(key).copied())
            .collect()
    }

    /// When the last outcome was recorded.
    pub fn finished_at(&self) -> DateTime<Utc> {
        self.entries.last().map_or(self.created_at, |e| e.at)
    }
}

/// The digest of a run's input: the people, in order, and the provider names.
pub(crate) fn input_digest(subjects: &[Subject], providers: &[String]) -> String {
    let mut hash = Sha256::new();
    for subject in subjects {
        hash.update(subject.key().as_bytes());
        hash.update(b"\n");
    }
    hash.update(b"--\n");
    for provider in providers {
        hash.update(provider.as_bytes());
        hash.update(b"\n");
    }
    hex::encode(hash.finalize())
}

/// An open journal.
#[derive(Debug)]
pub(crate) struct Journal {
    path: PathBuf,
    file: Mutex<File>,
    done: BTreeMap<(String, String), ProviderReport>,
    /// Pairs whose revocation was accepted but whose outcome was not recorded.
    revoked: BTreeMap<(String, String), (UserId, Revocation)>,
    /// Pairs whose revocation was sent, with no answer recorded.
    sending: BTreeMap<(String, String), UserId>,
}

impl Journal {
    /// Opens (or creates) the journal of a run over `subjects` and `providers`.
    pub(crate) fn open(
        path: &Path,
        subjects: &[Subject],
        providers: &[String],
    ) -> Result<Self, JournalError> {
        let io = |source| JournalError::Io {
            path: path.to_owned(),
            source,
        };
        let digest = input_digest(subjects, providers);
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(io)?;
        let mut done = BTreeMap::new();
        let mut revoked = BTreeMap::new();
        let mut sending = BTreeMap::new();
        let mut good_end = 0u64;
        let mut header_seen = false;
        {
            let mut reader = BufReader::new(&file);
            let mut text = String::new();
            let mut number = 0;
            loop {
                text.clear();
                let read = reader.read_line(&mut text).map_err(io)?;
                if read == 0 {
                    break;
                }
                number += 1;
                if !text.ends_with('\n') {
                    // The run was killed mid-write: the partial line is dropped below.
                    break;
                }
                match serde_json::from_str::<Line>(text.trim_end()) {
                    Ok(Line::Header { version, input, .. }) if number == 1 => {
                        if version != VERSION || input != digest {
                            return Err(JournalError::Mismatch {
                                path: path.to_owned(),
                            });
                        }
                        header_seen = true;
                    }
                    Ok(Line::Outcome {
                        subject, report, ..
                    }) if header_seen => {
                        // A failed pair is not done: the next run tries it again (the
                        // journal keeps every attempt; a pair's last line is its outcome).
                        let key = (subject, report.provider.clone());
                        revoked.remove(&key);
                        // A failure after a send (a deadline passed with the call out)
                        // keeps the send on record: the rerun looks before sending again.
                        if !matches!(report.outcome, ProviderOutcome::Failed { .. }) {
                            sending.remove(&key);
                        }
                        if matches!(report.outcome, ProviderOutcome::Failed { .. }) {
                            done.remove(&key);
                        } else {
                            done.insert(key, report);
                        }
                    }
                    Ok(Line::Revoked {
                        subject,
                        provider,
                        user,
                        revocation,
                        ..
                    }) if header_seen => {
                        sending.remove(&(subject.clone(), provider.clone()));
                        revoked.insert((subject, provider), (user, revocation));
                    }
                    Ok(Line::Sending {
                        subject,
                        provider,
                        user,
                        ..
                    }) if header_seen => {
                        sending.insert((subject, provider), user);
                    }
                    _ => {
                        return Err(JournalError::Corrupt {
                            path: path.to_owned(),
                            line: number,
                        });
                    }
                }
                good_end += read as u64;
            }
        }
        let length = file.metadata().map_err(io)?.len();
        if length > good_end {
            file.set_len(good_end).map_err(io)?;
            file.seek(SeekFrom::End(0)).map_err(io)?;
        }
        let journal = Self {
            path: path.to_owned(),
            file: Mutex::new(file),
            done,
            revoked,
            sending,
        };
        if !header_seen {
            journal.append(&Line::Header {
                version: VERSION,
                input: digest,
                subjects: subjects.len(),
                providers: providers.to_vec(),
                created_at: Utc::now(),
            })?;
        }
        Ok(journal)
    }

    /// The recorded outcome of a pair, if it is finished (a failure is not).
    pub(crate) fn done(&self, subject: &str, provider: &str) -> Option<&ProviderReport> {
        self.done.get(&(subject.to_owned(), provider.to_owned()))
    }

    /// The accepted revocation of a pair whose outcome was never recorded (the run
    /// was killed between the two): verify it, do not revoke again.
    pub(crate) fn revoked(&self, subject: &str, provider: &str) -> Option<&(UserId, Revocation)> {
        self.revoked.get(&(subject.to_owned(), provider.to_owned()))
    }

    /// The user of a pair whose revocation was sent by a killed run, unanswered.
    pub(crate) fn sending(&self, subject: &str, provider: &str) -> Option<&UserId> {
        self.sending.get(&(subject.to_owned(), provider.to_owned()))
    }

    /// Records that revocations are about to be sent: one write, one fsync.
    pub(crate) fn record_sending(
        &self,
        provider: &str,
        pairs: &[(String, UserId)],
    ) -> Result<(), JournalError> {
        let at = Utc::now();
        let mut bytes = Vec::new();
        for (subject, user) in pairs {
            let line = Line::Sending {
                subject: subject.clone(),
                provider: provider.to_owned(),
                user: user.clone(),
                at,
            };
            bytes.extend(serde_json::to_vec(&line).map_err(|e| JournalError::Io {
                path: self.path.clone(),
                source: std::io::Error::other(e),
            })?);
            bytes.push(b'\n');
        }
        self.write_bytes(&bytes)
    }

    /// Records that the provider accepted a pair's revocation, before it is verified.
    pub(crate) fn record_revoked(
        &self,
        subject: &str,
        provider: &str,
        user: &UserId,
        revocation: Revocation,
    ) -> Result<(), JournalError> {
        self.append(&Line::Revoked {
            subject: subject.to_owned(),
            provider: provider.to_owned(),
            user: user.clone(),
            revocation,
            at: Utc::now(),
        })
    }

    /// How many pairs were finished before this run.
    pub(crate) fn finished(&self) -> usize {
        self.done.len()
    }

    /// Records a finished pair: appended, flushed and fsynced before returning.
    pub(crate) fn record(
        &self,
        subject: &str,
        report: &ProviderReport,
    ) -> Result<(), JournalError> {
        self.append(&Line::Outcome {
            subject: subject.to_owned(),
            report: report.clone(),
            at: Utc::now(),
        })
    }

    fn append(&self, line: &Line) -> Result<(), JournalError> {
        let mut bytes = serde_json::to_vec(line).map_err(|e| JournalError::Io {
            path: self.path.clone(),
            source: std::io::Error::other(e),
        })?;
        bytes.push(b'\n');
        self.write_bytes(&bytes)
    }

    fn write_bytes(&self, bytes: &[u8]) -> Result<(), JournalError> {
        let io = |source| JournalError::Io {
            path: self.path.clone(),
            source,
        };
        let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        file.write_all(bytes).map_err(io)?;
        file.flush().map_err(io)?;
        file.sync_data().map_err(io)
    }
}
