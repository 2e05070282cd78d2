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
mod journal;
mod many;
mod outcome;
mod subject;

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use futures::{StreamExt, TryStreamExt};
use unisession_core::telemetry::{record_retry, track_retries};
use unisession_core::{
    Checked, DeviceScope, Email, Error, ErrorKind, ListQuery, Result, Revocation, Session,
    SessionProvider, SessionProviderExt, UserId, UserLookup, UserRef, Verification,
};

pub use audit::{AuditRecord, fingerprint};
pub use journal::JournalError;
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

/// Builds a [`Fleet`]; `build` checks the names.
#[must_use]
pub struct FleetBuilder {
    entries: Vec<Entry>,
    scope: DeviceScope,
    deadline: Duration,
    verify: bool,
    step_retries: u32,
    queued_wait: Duration,
    settle_wait: Duration,
    audit: Option<Box<dyn Write + Send>>,
}

impl Default for FleetBuilder {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
            scope: DeviceScope::All,
            deadline: Duration::from_secs(300),
            verify: true,
            step_retries: 2,
            queued_wait: Duration::from_secs(30),
            settle_wait: Duration::from_secs(10),
            audit: None,
        }
    }
}

impl FleetBuilder {
    /// Adds a provider under a unique name. It is wrapped in [`Checked`], so an
    /// operation its capabilities lack never reaches it.
    pub fn provider(mut self, name: impl Into<String>, provider: Arc<dyn SessionProvider>) -> Self {
        self.entries.push(Entry {
            name: name.into(),
            provider: Arc::new(Checked::new(provider)),
        });
        self
    }

    /// Which of a person's devices to log out (default all). With a narrower scope the
    /// other devices' sessions stay by design, so nothing can be verified; a provider
    /// without device-scoped revocation reports `Unsupported`.
    pub fn scope(mut self, scope: DeviceScope) -> Self {
        self.scope = scope;
        self
    }

    /// The time each provider gets for one person, all steps and retries included
    /// (default 300 s).
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// Whether to list again after revoking, to prove the sessions are gone (default on).
    pub fn verify(mut self, verify: bool) -> Self {
        self.verify = verify;
        self
    }

    /// How many times a step that failed with a temporary error the transport did
    /// not retry itself (a truncated answer, say) is tried again (default 2).
    pub fn step_retries(mut self, retries: u32) -> Self {
        self.step_retries = retries;
        self
    }

    /// How long to wait for a queued (asynchronous) revocation to show before
    /// reporting what the listing shows (default 30 s).
    pub fn queued_wait(mut self, wait: Duration) -> Self {
        self.queued_wait = wait;
        self
    }

    /// How long a synchronous revocation's sessions may stay listed before the
    /// verification reports them still active (default 10 s): some servers show a
    /// revoked session for a few seconds (eventual consistency). The listing is
    /// repeated, with backoff, until it shows none or the wait ends.
    pub fn settle_wait(mut self, wait: Duration) -> Self {
        self.settle_wait = wait;
        self
    }

    /// Writes the audit trail as JSON Lines to `writer` (it always goes to `tracing`).
    pub fn audit_log(mut self, writer: impl Write + Send + 'static) -> Self {
        self.audit = Some(Box::new(writer));
        self
    }

    /// Checks that there is at least one provider and that names are unique and
    /// non-empty.
    pub fn build(self) -> Result<Fleet> {
        if self.entries.is_empty() {
            return Err(Error::invalid_input("a fleet needs at least one provider"));
        }
        let mut names = HashSet::new();
        for entry in &self.entries {
            if entry.name.trim().is_empty() {
                return Err(Error::invalid_input("a provider name cannot be empty"));
            }
            if !names.insert(entry.name.as_str()) {
                return Err(Error::invalid_input(format!(
                    "the provider name {:?} is used twice",
                    entry.name
                )));
            }
        }
        Ok(Fleet {
            entries: self.entries,
            scope: self.scope,
            deadline: self.deadline,
            verify: self.verify,
            step_retries: self.step_retries,
            queued_wait: self.queued_wait,
            settle_wait: self.settle_wait,
            audit: Arc::new(self.audit.map(Audit::to_writer).unwrap_or_default()),
        })
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

    async fn resolve(&self, entry: &Entry, subject: &Subject) -> Resolved {
        if let Some(id) = subject.ids.get(&entry.name) {
            return Resolved::User(id.clone());
        }
        let Some(address) = &subject.email else {
            return Resolved::Unsupported(format!(
                "no email and no {} user id was given",
                entry.name
            ));
        };
        let key = subject.key();
        let record = |outcome: &str| AuditRecord::new(&entry.name, "find_user", &key, outcome);
        let email = match Email::parse(address) {
            Ok(email) => email,
            Err(e) => {
                let e = e.with_provider(entry.name.clone());
                self.audit(record("failed"), None, Some(&e), 0);
                return Resolved::Failed(e);
            }
        };
        if !entry.provider.capabilities().find_user_by_email {
            return Resolved::Unsupported(format!(
                "{} cannot look users up by email; give the person's {} user id",
                entry.name, entry.name
            ));
        }
        let (found, retries) =
            track_retries(self.with_retries(|| entry.provider.find_user(&email))).await;
        // Defence in depth: whatever the provider checked, nothing is revoked for a
        // record that does not carry the email asked for.
        let found = found.and_then(|lookup| match lookup {
            UserLookup::Found(user) => {
                let answered_by = format!("{}'s lookup", entry.name);
                email
                    .confirm(user.email.as_deref(), &answered_by, &user.id)
                    .map_err(|e| e.with_provider(entry.name.clone()))?;
                Ok(UserLookup::Found(user))
            }
            other => Ok(other),
        });
        match found {
            Ok(UserLookup::Found(user)) => {
                self.audit(record("found"), Some(&user.id), None, retries);
                Resolved::User(user.id)
            }
            Ok(UserLookup::NotFound { evidence }) => {
                let mut audit = record("not_found");
                audit.evidence = Some(evidence.clone());
                self.audit(audit, None, None, retries);
                Resolved::NotFound(evidence)
            }
            Ok(_) => {
                let e = Error::new(
                    ErrorKind::Provider,
                    "the lookup gave an answer this version does not know",
                )
                .with_provider(entry.name.clone());
                self.audit(record("failed"), None, Some(&e), retries);
                Resolved::Failed(e)
            }
            Err(e) if e.kind() == ErrorKind::Unsupported => {
                self.audit(record("unsupported"), None, Some(&e), retries);
                Resolved::Unsupported(e.message().to_owned())
            }
            Err(e) => {
                self.audit(record("failed"), None, Some(&e), retries);
                Resolved::Failed(e)
            }
        }
    }

    /// The query that lists one user's sessions, if the provider can.
    fn user_query(provider: &dyn SessionProvider, user: &UserId) -> Option<ListQuery> {
        let caps = provider.capabilities();
        if caps.list_user_sessions {
            Some(ListQuery::for_user(user.clone()))
        } else if caps.list_all_sessions {
            Some(ListQuery::new())
        } else {
            None
        }
    }

    async fn user_sessions(
        &self,
        provider: &dyn SessionProvider,
        user: &UserId,
    ) -> Option<Result<Vec<Session>>> {
        let query = Self::user_query(provider, user)?;
        let listed = self
            .with_retries(|| {
                provider
                    .list_all(query.clone())
                    .try_filter(|s| std::future::ready(&s.user == user))
                    .try_collect::<Vec<_>>()
            })
            .await;
        Some(listed)
    }

    async fn revoke(&self, entry: &Entry, subject: &Subject, user: &UserId) -> Revoked {
        let provider = entry.provider.as_ref();
        let caps = provider.capabilities().clone();
        let key = subject.key();
        if self.scope != DeviceScope::All && !caps.revoke_user_sessions_by_device {
            return Revoked::Unsupported(format!(
                "{} cannot limit a revocation to {} sessions",
                entry.name, self.scope
            ));
        }
        if caps.revoke_user_sessions {
            let (result, retries) = track_retries(
                self.with_retries(|| provider.revoke_user_sessions(user, self.scope)),
            )
            .await;
            let outcome = match &result {
                Ok(r) => revocation_name(r),
                Err(e) if e.kind() == ErrorKind::NotFound => "not_found",
                Err(_) => "failed",
            };
            let mut record = AuditRecord::new(&entry.name, "revoke_user_sessions", &key, outcome);
            if let Err(e) = &result {
                if e.kind() == ErrorKind::NotFound {
                    record.evidence = Some(e.to_string());
                }
            }
            self.audit(record, Some(user), result.as_ref().err(), retries);
            return match result {
                Ok(r) => Revoked::Done(r),
                // The provider's word that nobody has this id (it checks, where the
                // server would answer success for anybody).
                Err(e) if e.kind() == ErrorKind::NotFound => Revoked::NoSuchUser(e.to_string()),
                Err(e) if e.kind() == ErrorKind::Unsupported => {
                    Revoked::Unsupported(e.message().to_owned())
                }
                Err(e) => Revoked::Failed(e),
            };
        }
        if !caps.revoke_session {
            return Revoked::Unsupported(format!(
                "{} can revoke neither a user's sessions nor single sessions",
                entry.name
            ));
        }
        // Revoke one by one what the provider lists for the user.
        let sessions = match self.user_sessions(provider, user).await {
            None => {
                return Revoked::Unsupported(format!(
                    "{} cannot revoke a user's sessions and cannot list them to revoke one by one",
                    entry.name
                ));
            }
            Some(Err(e)) => return Revoked::Failed(e),
            Some(Ok(sessions)) => sessions,
        };
        let mut count = 0;
        for session in sessions {
            let reference = session.to_ref();
            let (result, retries) =
                track_retries(self.with_retries(|| provider.revoke_session(&reference))).await;
            let outcome = match &result {
                Ok(r) => revocation_name(r),
                Err(_) => "failed",
            };
            let mut record = AuditRecord::new(&entry.name, "revoke_session", &key, outcome);
            record.sessions.push(fingerprint(&session.id));
            self.audit(record, Some(user), result.as_ref().err(), retries);
            match result {
                Ok(Revocation::Revoked { .. }) => count += 1,
                Ok(_) => {}
                Err(e) => return Revoked::Failed(e),
            }
        }
        Revoked::Done(Revocation::revoked(count))
    }

    /// How long a revocation may take to show in a listing: the queued wait for an
    /// asynchronous one, the settle wait for the rest.
    fn wait_for(&self, queued: bool) -> Duration {
        if queued {
            self.queued_wait
        } else {
            self.settle_wait
        }
    }

    /// Lists the user's sessions again, polling with backoff while some still show,
    /// up to the queued wait (asynchronous revocations) or the settle wait (the rest).
    async fn verify_user(
        &self,
        entry: &Entry,
        subject: &Subject,
        user: &UserId,
        queued: bool,
    ) -> Verification {
        let provider = entry.provider.as_ref();
        let unverifiable = |reason: String| {
            let record = AuditRecord::new(&entry.name, "verify", &subject.key(), "unverifiable");
            self.audit(record, Some(user), None, 0);
            Verification::unverifiable(reason)
        };
        if !self.verify {
            return unverifiable("verification was turned off".to_owned());
        }
        if self.scope != DeviceScope::All {
            return unverifiable(format!(
                "only {} sessions were revoked; the others stay by design",
                self.scope
            ));
        }
        if Self::user_query(provider, user).is_none() {
            return unverifiable(format!(
                "{} cannot list another user's sessions with this credential",
                entry.name
            ));
        }
        let started = Instant::now();
        let mut pause = Duration::from_millis(100);
        let (verification, retries) = track_retries(async {
            loop {
                let remaining = match self.user_sessions(provider, user).await {
                    Some(Ok(sessions)) => sessions.len() as u64,
                    Some(Err(e)) => return Err(e),
                    None => unreachable!("checked above"),
                };
                if remaining == 0 {
                    return Ok(Verification::Verified);
                }
                if started.elapsed() + pause > self.wait_for(queued) {
                    return Ok(Verification::StillActive { remaining });
                }
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(2));
            }
        })
        .await;
        let (outcome, error, verification) = match verification {
            Ok(Verification::Verified) => ("verified", None, Verification::Verified),
            Ok(v) => ("still_active", None, v),
            Err(e) => {
                let v = Verification::unverifiable(format!("the verification listing failed: {e}"));
                ("unverifiable", Some(e), v)
            }
        };
        let record = AuditRecord::new(&entry.name, "verify", &subject.key(), outcome);
        self.audit(record, Some(user), error.as_ref(), retries);
        verification
    }

    /// Verifies the people of one bulk revocation. A listing of every session costs
    /// one call per page, a listing per person one call per person: while the
    /// provider can list everyone's sessions, the workspace-wide listing is used and
    /// abandoned (for the per-person one) as soon as it has cost as many calls as
    /// the people left to check. Queued revocations are listed again until they
    /// show or the queued wait ends, like [`Self::verify_user`].
    async fn verify_group(
        &self,
        entry: &Entry,
        members: &[(&Subject, &UserId, bool)],
        concurrency: usize,
    ) -> HashMap<UserId, (Verification, u32)> {
        let provider = entry.provider.as_ref();
        let caps = provider.capabilities();
        let mut results = HashMap::new();
        let mut pending: Vec<&(&Subject, &UserId, bool)> = members.iter().collect();
        if self.verify && self.scope == DeviceScope::All && caps.list_all_sessions {
            let started = Instant::now();
            let mut pause = Duration::from_millis(100);
            while pending.len() > 1 {
                let wanted: HashSet<&UserId> = pending.iter().map(|(_, user, _)| *user).collect();
                let (scan, retries) = track_retries(async {
                    tokio::time::timeout(
                        self.deadline,
                        self.with_retries(|| Self::scan(provider, &wanted, pending.len())),
                    )
                    .await
                    .unwrap_or_else(|_| Err(self.past_deadline(entry, "the verification listing")))
                })
                .await;
                let Ok(Some(counts)) = scan else {
                    // Too many pages, or the listing failed: each person alone.
                    let record = AuditRecord::new(
                        &entry.name,
                        "verify",
                        &format!("{} people", pending.len()),
                        if scan.is_ok() { "per_person" } else { "failed" },
                    );
                    self.audit(record, None, scan.as_ref().err(), retries);
                    break;
                };
                let record = AuditRecord::new(
                    &entry.name,
                    "verify",
                    &format!("{} people", pending.len()),
                    "listed",
                );
                self.audit(record, None, None, retries);
                let waited = started.elapsed() + pause;
                pending.retain(|(subject, user, queued)| {
                    let verification = match counts.get(*user).copied().unwrap_or(0) {
                        0 => Verification::Verified,
                        _ if waited <= self.wait_for(*queued) => return true,
                        remaining => Verification::StillActive { remaining },
                    };
                    let outcome = match verification {
                        Verification::Verified => "verified",
                        _ => "still_active",
                    };
                    let record = AuditRecord::new(&entry.name, "verify", &subject.key(), outcome);
                    self.audit(record, Some(user), None, 0);
                    results.insert((*user).clone(), (verification, 0));
                    false
                });
                if pending.is_empty() {
                    return results;
                }
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(2));
            }
        }
        let per_person: Vec<(UserId, (Verification, u32))> = futures::stream::iter(pending)
            .map(|(subject, user, queued)| async move {
                let verified = track_retries(async {
                    tokio::time::timeout(
                        self.deadline,
                        self.verify_user(entry, subject, user, *queued),
                    )
                    .await
                    .unwrap_or_else(|_| {
                        Verification::unverifiable(format!(
                            "the verification did not finish within the deadline of {:?}",
                            self.deadline
                        ))
                    })
                })
                .await;
                ((*user).clone(), verified)
            })
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await;
        results.extend(per_person);
        results
    }

    /// Counts the sessions of `wanted` in a listing of every session, largest pages
    /// first. `None` once `budget` pages were read and more remain (or the reported
    /// total says more will), or when the reported total changes along the way.
    async fn scan(
        provider: &dyn SessionProvider,
        wanted: &HashSet<&UserId>,
        budget: usize,
    ) -> Result<Option<HashMap<UserId, u64>>> {
        let mut query = ListQuery::new();
        if let Some(size) = provider.capabilities().max_page_size {
            query = query.with_limit(size);
        }
        let mut counts: HashMap<UserId, u64> = HashMap::new();
        let mut pages = 0usize;
        let mut first_total = None;
        loop {
            let page = provider.list_sessions(&query).await?;
            pages += 1;
            // Offset pagination skips items when the set changes under it: a changed
            // total means this listing cannot prove anything.
            if pages == 1 {
                first_total = page.total;
            } else if page.total != first_total {
                return Ok(None);
            }
            for session in &page.items {
                if wanted.contains(&session.user) {
                    *counts.entry(session.user.clone()).or_default() += 1;
                }
            }
            let Some(cursor) = page.next_cursor else {
                return Ok(Some(counts));
            };
            let pages_in_all = match (page.total, query.limit) {
                (Some(total), Some(size)) if size > 0 => total.div_ceil(u64::from(size)) as usize,
                _ => 0,
            };
            if pages >= budget || pages_in_all > budget {
                return Ok(None);
            }
            query = query.with_cursor(Some(cursor));
        }
    }

    async fn steps(&self, entry: &Entry, subject: &Subject) -> (Option<UserId>, ProviderOutcome) {
        let user = match self.resolve(entry, subject).await {
            Resolved::User(user) => user,
            Resolved::NotFound(evidence) => {
                return (None, ProviderOutcome::UserNotFound { evidence });
            }
            Resolved::Unsupported(reason) => {
                return (None, ProviderOutcome::Unsupported { reason });
            }
            Resolved::Failed(e) => return (None, failed(&e)),
        };
        let revocation = match self.revoke(entry, subject, &user).await {
            Revoked::Done(r) => r,
            Revoked::NoSuchUser(evidence) => {
                return (Some(user), ProviderOutcome::UserNotFound { evidence });
            }
            Revoked::Unsupported(reason) => {
                return (Some(user), ProviderOutcome::Unsupported { reason });
            }
            Revoked::Failed(e) => return (Some(user), failed(&e)),
        };
        let queued = revocation == Revocation::Queued;
        let verified = self.verify_user(entry, subject, &user, queued).await;
        (Some(user), outcome_of(revocation, verified))
    }

    /// Offboards `subject` in one provider, within the deadline.
    async fn offboard_in(&self, entry: &Entry, subject: &Subject) -> ProviderReport {
        let started = Instant::now();
        let (result, retries) = track_retries(tokio::time::timeout(
            self.deadline,
            self.steps(entry, subject),
        ))
        .await;
        let (user, outcome) =
            result.unwrap_or_else(|_| (None, failed(&self.past_deadline(entry, "offboarding"))));
        report(entry, user, outcome, retries, started)
    }

    /// Offboards one person in every provider at once. Never fails as a whole: each
    /// provider's outcome, failures included, is in the report.
    pub async fn offboard(&self, subject: &Subject) -> Report {
        let started_at = Utc::now();
        let reports =
            futures::future::join_all(self.entries.iter().map(|e| self.offboard_in(e, subject)))
                .await;
        Report::new(subject.key(), started_at, reports)
    }

    /// A dry run for one person: resolves, lists what would be revoked, and says what
    /// cannot be done. Nothing is revoked.
    pub async fn plan(&self, subject: &Subject) -> Plan {
        let plans = futures::future::join_all(
            self.entries
                .iter()
                .map(|entry| self.plan_in(entry, subject)),
        )
        .await;
        Plan {
            subject: subject.key(),
            providers: plans,
        }
    }

    async fn plan_in(&self, entry: &Entry, subject: &Subject) -> ProviderPlan {
        let provider = entry.provider.as_ref();
        let caps = provider.capabilities().clone();
        let mut plan = ProviderPlan {
            provider: entry.name.clone(),
            resolution: Resolution::NotFound {
                evidence: String::new(),
            },
            sessions: None,
            method: None,
            cannot: Vec::new(),
        };
        let user = match tokio::time::timeout(self.deadline, self.resolve(entry, subject)).await {
            Ok(Resolved::User(id)) => id,
            Ok(Resolved::NotFound(evidence)) => {
                plan.resolution = Resolution::NotFound { evidence };
                return plan;
            }
            Ok(Resolved::Unsupported(reason)) => {
                plan.cannot.push(reason.clone());
                plan.resolution = Resolution::Unsupported { reason };
                return plan;
            }
            Ok(Resolved::Failed(e)) => {
                plan.resolution = Resolution::Failed {
                    error: ErrorSummary::from(&e),
                };
                return plan;
            }
            Err(_) => {
                let e = Error::new(
                    ErrorKind::Timeout,
                    "the lookup did not finish within the deadline",
                );
                plan.resolution = Resolution::Failed {
                    error: ErrorSummary::from(&e),
                };
                return plan;
            }
        };
        plan.resolution = Resolution::Found {
            user: UserRef::new(user.clone()),
        };
        match tokio::time::timeout(self.deadline, self.user_sessions(provider, &user)).await {
            Ok(Some(Ok(sessions))) => {
                let mut record = AuditRecord::new(&entry.name, "list_sessions", &subject.key(), "listed");
                record.sessions = sessions.iter().map(|s| fingerprint(&s.id)).collect();
                self.audit(record, Some(&user), None, 0);
                plan.sessions = Some(sessions);
            }
            Ok(Some(Err(e))) => plan.cannot.push(format!("listing the sessions failed: {e}")),
            Ok(None) => plan.cannot.push(format!(
                "{} cannot list this user's sessions with this credential: they cannot be shown beforehand nor verified afterwards",
                entry.name
            )),
            Err(_) => plan.cannot.push("listing the sessions did not finish within the deadline".to_owned()),
        }
        // The same choice `revoke` makes, the scope included.
        plan.method = if self.scope != DeviceScope::All && !caps.revoke_user_sessions_by_device {
            plan.cannot.push(format!(
                "{} cannot limit a revocation to {} sessions",
                entry.name, self.scope
            ));
            None
        } else if caps.revoke_user_sessions && self.scope != DeviceScope::All {
            plan.cannot.push(format!(
                "only {} sessions will be revoked (the list shows every session); the others stay, so nothing will be verified",
                self.scope
            ));
            Some(format!("revoke_user_sessions ({} sessions)", self.scope))
        } else if caps.revoke_user_sessions {
            Some("revoke_user_sessions".to_owned())
        } else if caps.revoke_session && caps.can_verify_user() {
            Some("revoke_session for each listed session".to_owned())
        } else {
            plan.cannot.push(format!(
                "{} can revoke neither a user's sessions nor single sessions of that user",
                entry.name
            ));
            None
        };
        plan
    }
}

fn revocation_name(revocation: &Revocation) -> &'static str {
    match revocation {
        Revocation::Revoked { count: Some(0) } => "nothing_to_revoke",
        Revocation::Revoked { .. } => "revoked",
        Revocation::AlreadyGone => "already_gone",
        Revocation::Queued => "queued",
        _ => "other",
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
