//! Outcomes, reports and plans: serializable, and never rounding a failure up.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use unisession_core::{Error, ErrorKind, Operation, Session, UserId, UserRef, Verification};

/// An [`Error`] as a report carries it: kind, provider's code and message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ErrorSummary {
    /// The semantic kind.
    pub kind: ErrorKind,
    /// The human message.
    pub message: String,
    /// The provider's error code, where given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The HTTP status, where there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The operation that failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<Operation>,
    /// Whether trying again later may help.
    pub temporary: bool,
}

impl From<&Error> for ErrorSummary {
    fn from(error: &Error) -> Self {
        Self {
            kind: error.kind(),
            message: error.message().to_owned(),
            code: error.code().map(str::to_owned),
            status: error.status(),
            operation: error.operation(),
            temporary: error.is_temporary(),
        }
    }
}

impl std::fmt::Display for ErrorSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)?;
        if let Some(code) = &self.code {
            write!(f, " ({code})")?;
        }
        Ok(())
    }
}

/// What happened to one person in one provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ProviderOutcome {
    /// Sessions were revoked; `count` where the provider tells.
    Revoked {
        /// Sessions ended, where known.
        count: Option<u64>,
        /// What a fresh listing showed afterwards.
        verified: Verification,
    },
    /// The provider accepted the revocation and completes it asynchronously.
    Queued {
        /// What a listing showed after waiting for the job.
        verified: Verification,
    },
    /// The person had no session left to revoke.
    AlreadyClean {
        /// What a fresh listing showed.
        verified: Verification,
    },
    /// The provider said explicitly that it has nobody with this email (or id).
    UserNotFound {
        /// How that was established: the call and the provider's answer.
        #[serde(default)]
        evidence: String,
    },
    /// The provider cannot do what offboarding needs, and why.
    Unsupported {
        /// Why.
        reason: String,
    },
    /// It failed; the error says why.
    Failed {
        /// The cause.
        error: ErrorSummary,
    },
}

impl ProviderOutcome {
    /// The snake_case name of the variant.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Revoked { .. } => "revoked",
            Self::Queued { .. } => "queued",
            Self::AlreadyClean { .. } => "already_clean",
            Self::UserNotFound { .. } => "user_not_found",
            Self::Unsupported { .. } => "unsupported",
            Self::Failed { .. } => "failed",
        }
    }

    /// The verification, for outcomes that carry one.
    pub fn verification(&self) -> Option<&Verification> {
        match self {
            Self::Revoked { verified, .. }
            | Self::Queued { verified }
            | Self::AlreadyClean { verified } => Some(verified),
            _ => None,
        }
    }

    /// Whether this provider's part is done: revoked, queued or clean, with no
    /// session seen still active; or the provider said the person is unknown there.
    /// `Unsupported`, `Failed` and `StillActive` are not done.
    pub fn is_done(&self) -> bool {
        match self {
            Self::UserNotFound { .. } => true,
            Self::Unsupported { .. } | Self::Failed { .. } => false,
            other => !matches!(other.verification(), Some(Verification::StillActive { .. })),
        }
    }
}

fn application_step() -> u8 {
    2
}

/// One provider's part of a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ProviderReport {
    /// The provider instance.
    pub provider: String,
    /// The person's id there, once resolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<UserId>,
    /// What happened.
    #[serde(flatten)]
    pub outcome: ProviderOutcome,
    /// Retries made by the transport and the fleet.
    pub retries: u32,
    /// Time spent, in milliseconds.
    pub elapsed_ms: u64,
    /// The person's sessions a listing showed just before revoking, where the fleet
    /// counted them ([`FleetBuilder::count_before`](super::FleetBuilder::count_before))
    /// and the provider can list them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sessions_before: Option<u64>,
}

impl ProviderReport {
    /// The person's sessions the verification listing showed afterwards: 0 when
    /// verified, the count when some are still active, `None` when nothing could be
    /// verified (or nothing was revoked).
    pub fn sessions_after(&self) -> Option<u64> {
        match self.outcome.verification()? {
            Verification::Verified => Some(0),
            Verification::StillActive { remaining } => Some(*remaining),
            _ => None,
        }
    }
}

/// Counts of outcomes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Summary {
    /// Revoked.
    pub revoked: usize,
    /// Queued.
    pub queued: usize,
    /// Already clean.
    pub already_clean: usize,
    /// User not found.
    pub user_not_found: usize,
    /// Unsupported.
    pub unsupported: usize,
    /// Failed.
    pub failed: usize,
    /// Outcomes whose verification still saw sessions.
    pub still_active: usize,
    /// Outcomes that could not be verified.
    pub unverifiable: usize,
}

impl Summary {
    /// Adds one outcome.
    pub fn add(&mut self, outcome: &ProviderOutcome) {
        match outcome {
            ProviderOutcome::Revoked { .. } => self.revoked += 1,
            ProviderOutcome::Queued { .. } => self.queued += 1,
            ProviderOutcome::AlreadyClean { .. } => self.already_clean += 1,
            ProviderOutcome::UserNotFound { .. } => self.user_not_found += 1,
            ProviderOutcome::Unsupported { .. } => self.unsupported += 1,
            ProviderOutcome::Failed { .. } => self.failed += 1,
        }
        match outcome.verification() {
            Some(Verification::StillActive { .. }) => self.still_active += 1,
            Some(Verification::Unverifiable { .. }) => self.unverifiable += 1,
            _ => {}
        }
    }

    /// Adds another summary.
    pub fn merge(&mut self, other: &Summary) {
        self.revoked += other.revoked;
        self.queued += other.queued;
        self.already_clean += other.already_clean;
        self.user_not_found += other.user_not_found;
        self.unsupported += other.unsupported;
        self.failed += other.failed;
        self.still_active += other.still_active;
        self.unverifiable += other.unverifiable;
    }
}

/// The result of offboarding one person everywhere.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Report {
    /// The person.
    pub subject: String,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it ended.
    pub finished_at: DateTime<Utc>,
    /// One entry per provider, in fleet order.
    pub providers: Vec<ProviderReport>,
    /// Counts.
    pub summary: Summary,
    /// Whether every provider's part is done (see [`ProviderOutcome::is_done`]).
    pub complete: bool,
}

impl Report {
    /// A report over the providers' parts, finished now; the summary and completeness
    /// are computed from them.
    pub fn new(subject: String, started_at: DateTime<Utc>, providers: Vec<ProviderReport>) -> Self {
        let mut summary = Summary::default();
        for p in &providers {
            summary.add(&p.outcome);
        }
        let complete = providers.iter().all(|p| p.outcome.is_done());
        Self {
            subject,
            started_at,
            finished_at: Utc::now(),
            providers,
            summary,
            complete,
        }
    }

    /// Whether the job is complete: no failure, nothing unsupported, no session seen
    /// still active. A partial failure is never complete.
    pub fn is_complete(&self) -> bool {
        self.complete
    }

    /// The providers whose part is not done, with why.
    pub fn problems(&self) -> Vec<(&str, String)> {
        self.providers
            .iter()
            .filter(|p| !p.outcome.is_done())
            .map(|p| {
                let why = match &p.outcome {
                    ProviderOutcome::Failed { error } => error.to_string(),
                    ProviderOutcome::Unsupported { reason } => format!("unsupported: {reason}"),
                    other => match other.verification() {
                        Some(Verification::StillActive { remaining }) => {
                            format!("{remaining} session(s) still active after the revocation")
                        }
                        _ => other.name().to_owned(),
                    },
                };
                (p.provider.as_str(), why)
            })
            .collect()
    }
}

/// How the person resolved in one provider, for a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "resolution", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Resolution {
    /// Found.
    Found {
        /// The user.
        user: UserRef,
    },
    /// The provider said it has nobody with this email.
    NotFound {
        /// How the provider said so.
        #[serde(default)]
        evidence: String,
    },
    /// The provider cannot look the person up.
    Unsupported {
        /// Why.
        reason: String,
    },
    /// The lookup failed.
    Failed {
        /// The cause.
        error: ErrorSummary,
    },
}

/// What offboarding would do in one provider: a dry run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ProviderPlan {
    /// The provider instance.
    pub provider: String,
    /// How the person resolved.
    #[serde(flatten)]
    pub resolution: Resolution,
    /// The sessions that would be revoked, where the provider can list them.
    pub sessions: Option<Vec<Session>>,
    /// The call that would be used (`revoke_user_sessions`, `revoke_users_sessions`,
    /// `revoke_session` per session), if any.
    pub method: Option<String>,
    /// What cannot be done, and why.
    pub cannot: Vec<String>,
    /// When it is offboarded: 1 with the identity providers, 2 with the applications
    /// (after every identity provider).
    #[serde(default = "application_step")]
    pub step: u8,
}

/// A dry run for one person: nothing is revoked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Plan {
    /// The person.
    pub subject: String,
    /// One entry per provider.
    pub providers: Vec<ProviderPlan>,
}

/// Outcomes of many people, keyed by subject, then provider.
pub type Outcomes = BTreeMap<String, BTreeMap<String, ProviderOutcome>>;
