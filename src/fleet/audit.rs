//! The audit trail: one structured record per action, as JSON Lines and as
//! `tracing` events. Session ids appear only as SHA-256 fingerprints; no credential
//! ever reaches a record.

use std::io::Write;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use unisession_core::{SessionId, UserId};

use super::ErrorSummary;

/// What an audited action was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AuditOperation {
    /// A lookup by email.
    FindUser,
    /// A listing of the person's sessions (the plan).
    ListSessions,
    /// A user-wide revocation.
    RevokeUserSessions,
    /// A native bulk revocation.
    RevokeUsersSessions,
    /// One session revoked.
    RevokeSession,
    /// A fresh listing to verify.
    Verify,
    /// A listing of the provider's directory (people resolved by a scan).
    ListUsers,
}

/// What an audited action gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AuditOutcome {
    /// The lookup found the person.
    Found,
    /// The provider said nobody has the email or id (see `evidence`).
    NotFound,
    /// The provider cannot do it.
    Unsupported,
    /// It failed (see `error`).
    Failed,
    /// Sessions were listed.
    Listed,
    /// Sessions were revoked.
    Revoked,
    /// The person had none to revoke.
    NothingToRevoke,
    /// The session was already gone.
    AlreadyGone,
    /// The provider queued the work.
    Queued,
    /// The bulk call answered (each person's outcome follows in its own record).
    Answered,
    /// The listing shows none of the person's sessions.
    Verified,
    /// The listing still shows sessions.
    StillActive,
    /// Nothing could be verified.
    Unverifiable,
    /// The listing of everyone gave way to one listing per person.
    PerPerson,
}

macro_rules! names {
    ($type:ty { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $type {
            /// The snake_case name, as the JSON Lines carry it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $name),+
                }
            }
        }

        impl std::fmt::Display for $type {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

names!(AuditOperation {
    FindUser => "find_user",
    ListSessions => "list_sessions",
    RevokeUserSessions => "revoke_user_sessions",
    RevokeUsersSessions => "revoke_users_sessions",
    RevokeSession => "revoke_session",
    Verify => "verify",
    ListUsers => "list_users",
});

names!(AuditOutcome {
    Found => "found",
    NotFound => "not_found",
    Unsupported => "unsupported",
    Failed => "failed",
    Listed => "listed",
    Revoked => "revoked",
    NothingToRevoke => "nothing_to_revoke",
    AlreadyGone => "already_gone",
    Queued => "queued",
    Answered => "answered",
    Verified => "verified",
    StillActive => "still_active",
    Unverifiable => "unverifiable",
    PerPerson => "per_person",
});

/// One action taken against one provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AuditRecord {
    /// When the action ended.
    pub time: DateTime<Utc>,
    /// The provider instance.
    pub provider: String,
    /// The action.
    pub operation: AuditOperation,
    /// The person (email or ids).
    pub subject: String,
    /// The person's id in the provider, where resolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<UserId>,
    /// Fingerprints of the sessions acted on ([`fingerprint`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sessions: Vec<String>,
    /// What the action gave.
    pub outcome: AuditOutcome,
    /// The error, for a failed action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorSummary>,
    /// How a `not_found` was established (the provider's own words on absence).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
    /// Retries the action took.
    pub retries: u32,
}

impl AuditRecord {
    pub(crate) fn new(
        provider: &str,
        operation: AuditOperation,
        subject: &str,
        outcome: AuditOutcome,
    ) -> Self {
        Self {
            time: Utc::now(),
            provider: provider.to_owned(),
            operation,
            subject: subject.to_owned(),
            user: None,
            sessions: Vec::new(),
            outcome,
            error: None,
            evidence: None,
            retries: 0,
        }
    }
}

/// `sha256:` and the hex SHA-256 of a session id: enough to correlate records,
/// useless to replay a session.
pub fn fingerprint(session: &SessionId) -> String {
    format!(
        "sha256:{}",
        hex::encode(Sha256::digest(session.as_str().as_bytes()))
    )
}

/// Where audit records go: always to `tracing` (target `unisession::audit`), and to a
/// JSON Lines writer when one is set.
#[derive(Default)]
pub(crate) struct Audit {
    sink: Option<Mutex<Box<dyn Write + Send>>>,
}

impl std::fmt::Debug for Audit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Audit")
            .field("writer", &self.sink.is_some())
            .finish()
    }
}

impl Audit {
    pub(crate) fn to_writer(writer: Box<dyn Write + Send>) -> Self {
        Self {
            sink: Some(Mutex::new(writer)),
        }
    }

    pub(crate) fn record(&self, record: AuditRecord) {
        tracing::info!(
            target: "unisession::audit",
            provider = %record.provider,
            operation = %record.operation,
            subject = %record.subject,
            user = record.user.as_ref().map(UserId::as_str),
            sessions = record.sessions.len(),
            outcome = %record.outcome,
            retries = record.retries,
            error = record.error.as_ref().map(|e| e.to_string()),
            "audit"
        );
        if let Some(sink) = &self.sink {
            let mut line = match serde_json::to_vec(&record) {
                Ok(line) => line,
                Err(e) => {
                    tracing::error!(error = %e, "could not encode an audit record");
                    return;
                }
            };
            line.push(b'\n');
            let mut sink = sink.lock().unwrap_or_else(|p| p.into_inner());
            if let Err(e) = sink.write_all(&line).and_then(|()| sink.flush()) {
                tracing::error!(error = %e, "could not write an audit record");
            }
        }
    }
}
