//! The fleet: offboard a person across every provider, and prove it.
//!
//! A [`Fleet`] holds named providers (`Arc<dyn SessionProvider>`; two Slack
//! organisations are two entries) and depends only on the trait, so any provider
//! takes part, a user's own included.
//!
//! * [`Fleet::plan`]: a dry run. Per provider: the resolved user, the sessions that
//!   would be revoked (where they can be listed), the call that would be used, and
//!   what cannot be done and why. Nothing is revoked.
//! * [`Fleet::offboard`]: every provider at once, each with its own deadline. Each
//!   resolves the person, revokes every session, then lists again to verify where it
//!   can. One [`ProviderOutcome`] per provider; a failing provider never blocks or
//!   hides the others.
//! * [`Fleet::offboard_many`]: many people, bounded concurrency per provider, the
//!   native bulk call where a provider has one, progress events, and a journal that
//!   lets a killed run resume without redoing or skipping a (person, provider) pair.
//!
//! Every action leaves an [`AuditRecord`] (JSON Lines and `tracing`), with session ids
//! only as SHA-256 fingerprints.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use std::sync::Arc;
//! use unisession::fleet::{Fleet, ProviderOutcome, Subject};
//! use unisession::{DeviceKind, InMemoryProvider};
//!
//! let wiki = Arc::new(InMemoryProvider::builder().name("wiki").build());
//! let alice = wiki.add_user("alice@corp.example", "Alice");
//! wiki.add_session(&alice, DeviceKind::Browser);
//!
//! let fleet = Fleet::builder().provider("wiki", wiki.clone()).build().unwrap();
//! let report = fleet.offboard(&Subject::email("alice@corp.example")).await;
//! assert!(report.is_complete());
//! assert!(matches!(report.providers[0].outcome, ProviderOutcome::Revoked { .. }));
//! assert!(wiki.sessions_of(&alice).is_empty());
//! # }
//! ```

mod audit;
mod builder;
mod directory;
mod everyone;
mod journal;
mod many;
mod outcome;
mod plan;
mod resolve;
mod revoke;
mod subject;
mod verify;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use unisession_core::telemetry::{record_retry, track_retries};
use unisession_core::{
    DeviceScope, Error, ErrorKind, Result, Revocation, SessionProvider, UserId, Verification,
};

pub use audit::{AuditOperation, AuditOutcome, AuditRecord, fingerprint};
pub use builder::FleetBuilder;
pub use directory::{ResolutionPlan, ResolveWay};
pub use everyone::{EveryonePlan, KeptAccount, ProviderEveryone};
pub use journal::{JournalEntry, JournalError, JournalRecord};
pub use many::{ManyReport, OffboardOptions, Progress, ProgressFn};
pub use outcome::{
    ErrorSummary, Outcomes, Plan, ProviderOutcome, ProviderPlan, ProviderReport, Report,
    Resolution, Summary,
};
pub use subject::Subject;

use audit::Audit;

struct Entry {
    name: String,
    provider: Arc<dyn SessionProvider>,
}

/// Named providers and the offboarding policy.
pub struct Fleet {
    entries: Vec<Entry>,
    scope: DeviceScope,
    deadline: Duration,
    verify: bool,
    step_retries: u32,
    queued_wait: Duration,
    settle_wait: Duration,
    count_before: bool,
    audit: Arc<Audit>,
}

impl std::fmt::Debug for Fleet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fleet")
            .field(
                "providers",
                &self
                    .entries
                    .iter()
                    .map(|e| e.name.as_str())
                    .collect::<Vec<_>>(),
            )
            .field("deadline", &self.deadline)
            .field("verify", &self.verify)
            .finish_non_exhaustive()
    }
}

/// How the person resolved in one provider.
enum Resolved {
    User(UserId),
    /// The provider said so; how.
    NotFound(String),
    Unsupported(String),
    Failed(Error),
}

/// What the steps for one person in one provider established.
#[derive(Default)]
struct Steps {
    user: Option<UserId>,
    before: Option<u64>,
}

impl Steps {
    fn ended(self, outcome: ProviderOutcome) -> (Self, ProviderOutcome) {
        (self, outcome)
    }
}

/// How a revocation went.
enum Revoked {
    Done(Revocation),
    /// The provider said it has nobody with this id; how.
    NoSuchUser(String),
    Unsupported(String),
    Failed(Error),
}

impl Fleet {
    /// Starts a builder.
    pub fn builder() -> FleetBuilder {
        FleetBuilder::default()
    }

    /// The provider names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|e| e.name.as_str())
    }

    /// The providers, by name.
    pub fn providers(&self) -> impl Iterator<Item = (&str, &Arc<dyn SessionProvider>)> {
        self.entries.iter().map(|e| (e.name.as_str(), &e.provider))
    }

    fn audit(
        &self,
        mut record: AuditRecord,
        user: Option<&UserId>,
        error: Option<&Error>,
        retries: u32,
    ) {
        record.user = user.cloned();
        record.error = error.map(ErrorSummary::from);
        record.retries = retries;
        self.audit.record(record);
    }

    /// The error of a step that outlasted the deadline.
    fn past_deadline(&self, entry: &Entry, what: &str) -> Error {
        Error::new(
            ErrorKind::Timeout,
            format!(
                "{what} did not finish within the deadline of {:?}",
                self.deadline
            ),
        )
        .with_provider(entry.name.clone())
    }

    /// Runs `step`, trying again (with backoff) while it fails with a temporary error
    /// the transport could not retry itself: a truncated answer (the transport does
    /// not decode), or a temporary error it did not retry. Errors that outlasted the
    /// transport's own retries are not multiplied.
    async fn with_retries<T, F, Fut>(&self, mut step: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let mut attempt = 0;
        loop {
            match step().await {
                Err(e)
                    if e.is_temporary()
                        && (e.kind() == ErrorKind::Decode || e.retries() == 0)
                        && attempt < self.step_retries =>
                {
                    attempt += 1;
                    record_retry();
                    let wait = e
                        .retry_after()
                        .unwrap_or(Duration::from_millis(200 * 2u64.pow(attempt)))
                        .min(Duration::from_secs(30));
                    tokio::time::sleep(wait).await;
                }
                other => return other,
            }
        }
    }

    async fn steps(&self, entry: &Entry, subject: &Subject) -> (Steps, ProviderOutcome) {
        let mut steps = Steps::default();
        let user = match self.resolve(entry, subject).await {
            Resolved::User(user) => user,
            Resolved::NotFound(evidence) => {
                return steps.ended(ProviderOutcome::UserNotFound { evidence });
            }
            Resolved::Unsupported(reason) => {
                return steps.ended(ProviderOutcome::Unsupported { reason });
            }
            Resolved::Failed(e) => return steps.ended(failed(&e)),
        };
        steps.user = Some(user.clone());
        if self.count_before {
            steps.before = self.count_sessions(entry, subject, &user).await;
        }
        let requested_at = Utc::now();
        let revocation = match self.revoke(entry, subject, &user).await {
            Revoked::Done(r) => r,
            Revoked::NoSuchUser(evidence) => {
                return steps.ended(ProviderOutcome::UserNotFound { evidence });
            }
            Revoked::Unsupported(reason) => {
                return steps.ended(ProviderOutcome::Unsupported { reason });
            }
            Revoked::Failed(e) => return steps.ended(failed(&e)),
        };
        let queued = revocation == Revocation::Queued;
        let verified = self
            .verify_user(entry, subject, &user, queued, requested_at)
            .await;
        steps.ended(outcome_of(revocation, verified))
    }

    /// Offboards `subject` in one provider, within the deadline.
    async fn offboard_in(&self, entry: &Entry, subject: &Subject) -> ProviderReport {
        let started = Instant::now();
        let (result, retries) = track_retries(tokio::time::timeout(
            self.deadline,
            self.steps(entry, subject),
        ))
        .await;
        let (steps, outcome) = result.unwrap_or_else(|_| {
            Steps::default().ended(failed(&self.past_deadline(entry, "offboarding")))
        });
        let mut report = report(entry, steps.user, outcome, retries, started);
        report.sessions_before = steps.before;
        report
    }

    /// The providers in the order they are offboarded: identity providers first (all
    /// at once), then the applications (all at once), so that a person cannot sign
    /// back in to an application through an identity provider session in between.
    fn phases(&self) -> [Vec<&Entry>; 2] {
        let (identity, applications): (Vec<&Entry>, Vec<&Entry>) = self
            .entries
            .iter()
            .partition(|e| e.provider.capabilities().identity_provider);
        [identity, applications]
    }

    /// The provider names in offboarding order: the identity providers (run together),
    /// then the applications (run together). A caller that drives pairs itself, as a
    /// durable job queue does, runs each group after the one before it has finished.
    pub fn order(&self) -> Vec<Vec<String>> {
        self.phases()
            .into_iter()
            .map(|phase| phase.into_iter().map(|e| e.name.clone()).collect())
            .filter(|names: &Vec<String>| !names.is_empty())
            .collect()
    }

    /// Offboards `subject` in the provider named `provider` only, within the deadline
    /// and with the same steps, retries, verification and audit as
    /// [`offboard`](Self::offboard). `None` when the fleet has no such provider.
    pub async fn offboard_provider(
        &self,
        provider: &str,
        subject: &Subject,
    ) -> Option<ProviderReport> {
        let entry = self.entries.iter().find(|e| e.name == provider)?;
        Some(self.offboard_in(entry, subject).await)
    }

    /// Offboards one person: the identity providers first, then every application at
    /// once. Never fails as a whole: each provider's outcome, failures included, is in
    /// the report (a failed identity provider does not stop the applications).
    pub async fn offboard(&self, subject: &Subject) -> Report {
        let started_at = Utc::now();
        let mut reports = Vec::with_capacity(self.entries.len());
        for phase in self.phases() {
            reports.extend(
                futures::future::join_all(phase.into_iter().map(|e| self.offboard_in(e, subject)))
                    .await,
            );
        }
        Report::new(subject.key(), started_at, reports)
    }
}

fn revocation_name(revocation: &Revocation) -> AuditOutcome {
    match revocation {
        Revocation::Revoked { count: Some(0) } => AuditOutcome::NothingToRevoke,
        Revocation::Revoked { .. } => AuditOutcome::Revoked,
        Revocation::AlreadyGone => AuditOutcome::AlreadyGone,
        Revocation::Queued => AuditOutcome::Queued,
        _ => AuditOutcome::Revoked,
    }
}

/// A pair's report, timed from `started`.
fn report(
    entry: &Entry,
    user: Option<UserId>,
    outcome: ProviderOutcome,
    retries: u32,
    started: Instant,
) -> ProviderReport {
    ProviderReport {
        provider: entry.name.clone(),
        user,
        outcome,
        retries,
        elapsed_ms: started.elapsed().as_millis() as u64,
        sessions_before: None,
    }
}

fn failed(error: &Error) -> ProviderOutcome {
    ProviderOutcome::Failed {
        error: ErrorSummary::from(error),
    }
}

/// The outcome of a revocation and its verification.
fn outcome_of(revocation: Revocation, verified: Verification) -> ProviderOutcome {
    match revocation {
        Revocation::Revoked { count: Some(0) } | Revocation::AlreadyGone => {
            ProviderOutcome::AlreadyClean { verified }
        }
        Revocation::Revoked { count } => ProviderOutcome::Revoked { count, verified },
        Revocation::Queued => ProviderOutcome::Queued { verified },
        _ => ProviderOutcome::Revoked {
            count: None,
            verified,
        },
    }
}
