//! [`Fleet::offboard_many`]: many people, resumable from a journal.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use unisession_core::telemetry::track_retries;
use unisession_core::{Revocation, UserId, Verification};

use super::audit::{AuditOperation, AuditOutcome};
use super::directory::ResolutionPlan;
use super::journal::{Journal, JournalError};
use super::{
    AuditRecord, Entry, Fleet, ProviderOutcome, ProviderReport, Report, Resolved, Revoked, Subject,
    Summary, failed, outcome_of, report, revocation_name,
};

/// What a many-person run reports as it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Progress {
    /// The run starts: `pairs` (person, provider) pairs in all, `done` of them
    /// finished by an earlier run.
    Started {
        /// Pairs in all.
        pairs: usize,
        /// Pairs the journal already holds.
        done: usize,
    },
    /// One pair finished.
    PairDone {
        /// The person.
        subject: String,
        /// The provider.
        provider: String,
        /// The outcome's name (`revoked`, `failed`…).
        outcome: &'static str,
    },
    /// Every pair is finished.
    Finished,
}

/// Receives progress events (e.g. to draw a progress bar).
pub type ProgressFn = Arc<dyn Fn(&Progress) + Send + Sync>;

/// How [`Fleet::offboard_many`] runs.
#[derive(Clone)]
#[non_exhaustive]
pub struct OffboardOptions {
    /// People handled at once in each provider (default 4).
    pub concurrency: usize,
    /// Use a provider's native bulk call where it has one (default on).
    pub use_bulk: bool,
    /// Progress events.
    pub progress: Option<ProgressFn>,
    /// A person has a pair only in the providers it names an id for (no lookup
    /// elsewhere): an incident-wide logout, whose people come from each directory.
    pub ids_only: bool,
}

impl Default for OffboardOptions {
    fn default() -> Self {
        Self {
            concurrency: 4,
            use_bulk: true,
            progress: None,
            ids_only: false,
        }
    }
}

impl std::fmt::Debug for OffboardOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OffboardOptions")
            .field("concurrency", &self.concurrency)
            .field("use_bulk", &self.use_bulk)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

impl OffboardOptions {
    /// Sets the per-provider concurrency (at least 1).
    pub fn with_concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }

    /// Uses or avoids native bulk calls.
    pub fn with_bulk(mut self, use_bulk: bool) -> Self {
        self.use_bulk = use_bulk;
        self
    }

    /// Gives each person a pair only in the providers it names an id for.
    pub fn with_ids_only(mut self, ids_only: bool) -> Self {
        self.ids_only = ids_only;
        self
    }

    /// Receives progress events.
    pub fn with_progress(mut self, progress: impl Fn(&Progress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(progress));
        self
    }
}

/// The result of a many-person run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ManyReport {
    /// One report per person, in input order.
    pub reports: Vec<Report>,
    /// Counts over every pair.
    pub summary: Summary,
    /// Pairs an earlier run had finished (taken from the journal).
    pub resumed: usize,
    /// Whether every person's report is complete.
    pub complete: bool,
    /// How people were resolved in each provider run together (the way chosen, the
    /// calls it cost).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resolution: Vec<ResolutionPlan>,
}

impl ManyReport {
    /// Whether every person is complete.
    pub fn is_complete(&self) -> bool {
        self.complete
    }
}

/// A person found in one provider: the subject, its id, the retries its
/// resolution took, and when that started.
type Member<'s> = (&'s Subject, UserId, u32, Instant);

struct Run<'a> {
    fleet: &'a Fleet,
    journal: Option<&'a Journal>,
    options: &'a OffboardOptions,
}

impl Run<'_> {
    fn finish(
        &self,
        subject: &Subject,
        report: ProviderReport,
    ) -> Result<ProviderReport, JournalError> {
        if let Some(journal) = self.journal {
            journal.record(&subject.key(), &report)?;
        }
        if let Some(progress) = &self.options.progress {
            progress(&Progress::PairDone {
                subject: subject.key(),
                provider: report.provider.clone(),
                outcome: report.outcome.name(),
            });
        }
        Ok(report)
    }

    /// One person at a time (bounded), through the full per-person steps.
    async fn one_by_one(
        &self,
        entry: &Entry,
        pending: Vec<&Subject>,
    ) -> Result<Vec<(String, ProviderReport)>, JournalError> {
        futures::stream::iter(pending)
            .map(|subject| async move {
                let report = self.fleet.offboard_in(entry, subject).await;
                self.finish(subject, report).map(|r| (subject.key(), r))
            })
            .buffer_unordered(self.options.concurrency)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect()
    }

    /// Resolve everyone (the planner's way), revoke chunk by chunk (the native bulk
    /// call where `bulk` gives its chunk, else one call per person at the run's
    /// concurrency), record each accepted revocation in the journal, verify the chunk
    /// (one listing of everyone where it is cheaper), record each outcome.
    async fn grouped(
        &self,
        entry: &Entry,
        pending: Vec<&Subject>,
        bulk: Option<usize>,
    ) -> Result<(Vec<(String, ProviderReport)>, ResolutionPlan), JournalError> {
        let fleet = self.fleet;
        let mut done = Vec::new();
        // Pairs a killed run had revoked but not verified: verified, never revoked again.
        let mut resumed: Vec<(&Subject, UserId, Revocation)> = Vec::new();
        // Pairs whose revocation a killed run sent without an answer recorded: their
        // sessions are looked at first, and revoked again only if still there.
        let mut in_flight: Vec<(&Subject, UserId)> = Vec::new();
        let mut fresh: Vec<&Subject> = Vec::new();
        for subject in pending {
            let key = subject.key();
            match self
                .journal
                .map(|j| (j.revoked(&key, &entry.name), j.sending(&key, &entry.name)))
            {
                Some((Some((user, revocation)), _)) => {
                    resumed.push((subject, user.clone(), *revocation))
                }
                Some((None, Some(user))) => in_flight.push((subject, user.clone())),
                _ => fresh.push(subject),
            }
        }
        let (resolved, plan) = fleet
            .resolve_many(entry, &fresh, self.options.concurrency)
            .await;
        let mut found: Vec<(&Subject, UserId, u32, Instant)> = Vec::new();
        for (subject, resolved, retries, started) in resolved {
            let outcome = match resolved {
                Resolved::User(user) => {
                    found.push((subject, user, retries, started));
                    continue;
                }
                Resolved::NotFound(evidence) => ProviderOutcome::UserNotFound { evidence },
                Resolved::Unsupported(reason) => ProviderOutcome::Unsupported { reason },
                Resolved::Failed(e) => failed(&e),
            };
            let report = report(entry, None, outcome, retries, started);
            done.push((subject.key(), self.finish(subject, report)?));
        }
        // Keep the input order within each chunk.
        let order: HashMap<String, usize> = fresh
            .iter()
            .enumerate()
            .map(|(i, s)| (s.key(), i))
            .collect();
        found.sort_by_key(|(s, ..)| order.get(&s.key()).copied().unwrap_or(usize::MAX));
        if !resumed.is_empty() {
            let now = Instant::now();
            let group: Vec<(&Subject, UserId, u32, Instant)> = resumed
                .iter()
                .map(|(s, u, _)| (*s, u.clone(), 0, now))
                .collect();
            let outcomes = resumed.iter().map(|(.., r)| Ok(*r)).collect();
            done.extend(
                self.verify_chunk(entry, &group, outcomes, Utc::now(), None)
                    .await?,
            );
        }
        if !in_flight.is_empty() {
            let members: Vec<(&Subject, &UserId, bool)> =
                in_flight.iter().map(|(s, u)| (*s, u, true)).collect();
            let mut seen = fleet
                .verify_group(entry, &members, self.options.concurrency, Utc::now())
                .await;
            let now = Instant::now();
            for (subject, user) in in_flight {
                match seen.remove(&user) {
                    // The killed run's call may or may not have gone; either way the
                    // person holds no session now.
                    Some((Verification::Verified, retries)) => {
                        let outcome = ProviderOutcome::AlreadyClean {
                            verified: Verification::Verified,
                        };
                        let report = report(entry, Some(user), outcome, retries, now);
                        done.push((subject.key(), self.finish(subject, report)?));
                    }
                    // Still there, or not to be seen: sent again.
                    _ => found.push((subject, user, 0, now)),
                }
            }
        }
        let chunk = bulk.unwrap_or(self.options.concurrency.max(1) * 16);
        let mut before = if fleet.count_before {
            let users: Vec<(&Subject, &UserId)> = found.iter().map(|(s, u, ..)| (*s, u)).collect();
            fleet
                .count_group(entry, &users, self.options.concurrency)
                .await
        } else {
            HashMap::new()
        };
        // Revocations run on without waiting, and each is verified as soon as the
        // verifier is free: it takes every revocation done by then (up to a chunk) as
        // one group, so neither side leaves its rate-limit window idle.
        let (revoked_tx, mut revoked_rx) = tokio::sync::mpsc::unbounded_channel();
        let found = &found;
        let revoker = async move {
            match bulk {
                Some(size) => {
                    for group in found.chunks(size.max(1)) {
                        let requested_at = Utc::now();
                        let outcomes = self.revoke_in_bulk(entry, group).await;
                        for (member, outcome) in group.iter().zip(outcomes) {
                            if revoked_tx
                                .send((member.clone(), outcome, requested_at))
                                .is_err()
                            {
                                return;
                            }
                        }
                    }
                }
                None => {
                    let mut revoked = futures::stream::iter(found)
                        .map(|member| async move {
                            let requested_at = Utc::now();
                            (member, self.revoke_one(entry, member).await, requested_at)
                        })
                        .buffered(self.options.concurrency.max(1));
                    while let Some((member, outcome, requested_at)) = revoked.next().await {
                        if revoked_tx
                            .send((member.clone(), outcome, requested_at))
                            .is_err()
                        {
                            return;
                        }
                    }
                }
            }
        };
        // The verifier owns the receiver: when it stops on a journal error, the
        // revoker's next send fails and nothing more is revoked unrecorded.
        let before = &mut before;
        let verifier = async move {
            let mut reports = Vec::new();
            while let Some(first) = revoked_rx.recv().await {
                let mut batch = vec![first];
                while batch.len() < chunk.max(1) {
                    match revoked_rx.try_recv() {
                        Ok(next) => batch.push(next),
                        Err(_) => break,
                    }
                }
                let requested_at = batch
                    .iter()
                    .map(|(.., at)| *at)
                    .min()
                    .unwrap_or_else(Utc::now);
                let (members, outcomes): (Vec<Member<'_>>, Vec<_>) =
                    batch.into_iter().map(|(m, o, _)| (m, o)).unzip();
                match self
                    .verify_chunk(entry, &members, outcomes, requested_at, Some(&mut *before))
                    .await
                {
                    Ok(verified) => reports.extend(verified),
                    Err(e) => {
                        revoked_rx.close();
                        return Err(e);
                    }
                }
            }
            Ok::<_, JournalError>(reports)
        };
        let ((), verified) = futures::join!(revoker, verifier);
        done.extend(verified?);
        Ok((done, plan))
    }

    /// One native bulk call for a chunk: each person's result, audited.
    async fn revoke_in_bulk(
        &self,
        entry: &Entry,
        group: &[(&Subject, UserId, u32, Instant)],
    ) -> Vec<Result<Revocation, unisession_core::Error>> {
        let fleet = self.fleet;
        let users: Vec<UserId> = group.iter().map(|(_, u, _, _)| u.clone()).collect();
        if let Err(e) = self.journal_sending(entry, group) {
            return group.iter().map(|_| Err(e.clone())).collect();
        }
        let (result, retries) = track_retries(async {
            tokio::time::timeout(
                fleet.deadline,
                fleet.with_retries(|| entry.provider.revoke_users_sessions(&users, fleet.scope)),
            )
            .await
            .unwrap_or_else(|_| Err(fleet.past_deadline(entry, "the bulk revocation")))
        })
        .await;
        let record = AuditRecord::new(
            &entry.name,
            AuditOperation::RevokeUsersSessions,
            &format!("{} people", users.len()),
            match &result {
                Ok(_) => AuditOutcome::Answered,
                Err(_) => AuditOutcome::Failed,
            },
        );
        fleet.audit(record, None, result.as_ref().err(), retries);
        let mut per_user: BTreeMap<UserId, Result<Revocation, unisession_core::Error>> =
            BTreeMap::new();
        match result {
            Ok(results) => per_user.extend(results),
            Err(error) => per_user.extend(users.iter().map(|u| (u.clone(), Err(error.clone())))),
        }
        let outcomes: Vec<Result<Revocation, unisession_core::Error>> = group
            .iter()
            .map(|(subject, user, ..)| {
                let outcome = per_user.remove(user).unwrap_or_else(|| {
                    Err(unisession_core::Error::new(
                        unisession_core::ErrorKind::Provider,
                        "the bulk call gave no outcome for this user",
                    ))
                });
                let record = AuditRecord::new(
                    &entry.name,
                    AuditOperation::RevokeUsersSessions,
                    &subject.key(),
                    outcome
                        .as_ref()
                        .map_or(AuditOutcome::Failed, revocation_name),
                );
                fleet.audit(record, Some(user), outcome.as_ref().err(), 0);
                outcome
            })
            .collect();
        // Journaled at once, with no await between the answer and the records: a
        // run killed from here on verifies these people instead of revoking again.
        for ((subject, user, ..), outcome) in group.iter().zip(&outcomes) {
            if let Ok(revocation) = outcome {
                self.journal_revoked(subject, entry, user, *revocation);
            }
        }
        outcomes
    }

    /// Records that revocations are about to be sent (a failed write is reported
    /// when the pair's outcome is written, which fails the same way).
    fn journal_sending(
        &self,
        entry: &Entry,
        group: &[(&Subject, UserId, u32, Instant)],
    ) -> Result<(), unisession_core::Error> {
        let Some(journal) = self.journal else {
            return Ok(());
        };
        let pairs: Vec<(String, UserId)> = group
            .iter()
            .map(|(s, u, ..)| (s.key(), u.clone()))
            .collect();
        journal.record_sending(&entry.name, &pairs).map_err(|e| {
            unisession_core::Error::new(
                unisession_core::ErrorKind::Provider,
                format!(
                    "nothing was sent: the journal could not record the revocation first ({e})"
                ),
            )
            .with_provider(entry.name.clone())
        })
    }

    /// Records an accepted revocation in the journal (a failed write is reported
    /// when the pair's outcome is written, which fails the same way).
    fn journal_revoked(
        &self,
        subject: &Subject,
        entry: &Entry,
        user: &UserId,
        revocation: Revocation,
    ) {
        if let Some(journal) = self.journal {
            if let Err(e) = journal.record_revoked(&subject.key(), &entry.name, user, revocation) {
                tracing::warn!(error = %e, "the journal could not record an accepted revocation");
            }
        }
    }

    /// One user-wide revocation (audited by [`Fleet::revoke`]), journaled as sent
    /// before it goes and as accepted once answered.
    async fn revoke_one(
        &self,
        entry: &Entry,
        member: &Member<'_>,
    ) -> Result<Revocation, unisession_core::Error> {
        let fleet = self.fleet;
        let (subject, user, ..) = member;
        self.journal_sending(entry, std::slice::from_ref(member))?;
        let revoked = tokio::time::timeout(fleet.deadline, fleet.revoke(entry, subject, user))
            .await
            .unwrap_or_else(|_| Revoked::Failed(fleet.past_deadline(entry, "the revocation")));
        match revoked {
            Revoked::Done(r) => {
                self.journal_revoked(subject, entry, user, r);
                Ok(r)
            }
            Revoked::NoSuchUser(evidence) => Err(unisession_core::Error::new(
                unisession_core::ErrorKind::NotFound,
                evidence,
            )),
            Revoked::Unsupported(reason) => Err(unisession_core::Error::new(
                unisession_core::ErrorKind::Unsupported,
                reason,
            )),
            Revoked::Failed(e) => Err(e),
        }
    }

    /// Journals each accepted revocation of a chunk, verifies the chunk, and records
    /// every person's outcome.
    async fn verify_chunk(
        &self,
        entry: &Entry,
        group: &[(&Subject, UserId, u32, Instant)],
        outcomes: Vec<Result<Revocation, unisession_core::Error>>,
        requested_at: chrono::DateTime<Utc>,
        before: Option<&mut HashMap<UserId, u64>>,
    ) -> Result<Vec<(String, ProviderReport)>, JournalError> {
        let fleet = self.fleet;
        let mut before = before;
        let to_verify: Vec<(&Subject, &UserId, bool)> = group
            .iter()
            .zip(&outcomes)
            .filter_map(|((subject, user, ..), outcome)| {
                let revocation = outcome.as_ref().ok()?;
                Some((*subject, user, *revocation == Revocation::Queued))
            })
            .collect();
        let mut verified = fleet
            .verify_group(entry, &to_verify, self.options.concurrency, requested_at)
            .await;
        let mut done = Vec::with_capacity(group.len());
        for ((subject, user, resolve_retries, started), outcome) in group.iter().zip(outcomes) {
            let (final_outcome, verify_retries) = match outcome {
                Err(e) if e.kind() == unisession_core::ErrorKind::NotFound => {
                    let evidence = e.to_string();
                    (ProviderOutcome::UserNotFound { evidence }, 0)
                }
                Err(e) if e.kind() == unisession_core::ErrorKind::Unsupported => {
                    let reason = e.message().to_owned();
                    (ProviderOutcome::Unsupported { reason }, 0)
                }
                Err(e) => (failed(&e), 0),
                Ok(revocation) => {
                    let (verification, retries) = verified.remove(user).unwrap_or_else(|| {
                        (
                            Verification::unverifiable("no verification was recorded"),
                            0,
                        )
                    });
                    (outcome_of(revocation, verification), retries)
                }
            };
            let mut report = report(
                entry,
                Some(user.clone()),
                final_outcome,
                resolve_retries + verify_retries,
                *started,
            );
            report.sessions_before = before.as_mut().and_then(|b| b.remove(user));
            done.push((subject.key(), self.finish(subject, report)?));
        }
        Ok(done)
    }
}

impl Fleet {
    /// Offboards many people: every provider at once, at most
    /// [`OffboardOptions::concurrency`] people at a time in each, with the native bulk
    /// call where a provider has one.
    ///
    /// With a `journal`, every finished (person, provider) pair is appended to it and
    /// fsynced before the next is reported; a run restarted with the same journal and
    /// the same people skips exactly the finished pairs. A journal written for other
    /// people or providers is refused with [`JournalError::Mismatch`].
    pub async fn offboard_many(
        &self,
        subjects: &[Subject],
        journal: Option<&Path>,
        options: &OffboardOptions,
    ) -> Result<ManyReport, JournalError> {
        let started_at = Utc::now();
        let names: Vec<String> = self.entries.iter().map(|e| e.name.clone()).collect();
        let journal = journal
            .map(|path| Journal::open(path, subjects, &names))
            .transpose()?;
        let resumed = journal.as_ref().map_or(0, Journal::finished);
        let has_pair = |subject: &Subject, provider: &str| {
            !options.ids_only || subject.ids.contains_key(provider)
        };
        let pairs = subjects
            .iter()
            .map(|s| names.iter().filter(|n| has_pair(s, n)).count())
            .sum();
        if let Some(progress) = &options.progress {
            progress(&Progress::Started {
                pairs,
                done: resumed,
            });
        }
        let run = Run {
            fleet: self,
            journal: journal.as_ref(),
            options,
        };
        // Identity providers first (every person), then the applications.
        let mut per_provider = Vec::with_capacity(self.entries.len());
        for phase in self.phases() {
            per_provider.extend(
                futures::future::join_all(phase.into_iter().map(|entry| {
                    let pending: Vec<&Subject> = subjects
                        .iter()
                        .filter(|s| has_pair(s, &entry.name))
                        .filter(|s| {
                            journal
                                .as_ref()
                                .is_none_or(|j| j.done(&s.key(), &entry.name).is_none())
                        })
                        .collect();
                    let caps = entry.provider.capabilities();
                    let bulk = caps.bulk_revoke_users.filter(|_| options.use_bulk);
                    // Together where a listing of everyone can replace one call per
                    // person (to resolve or to verify); alone otherwise.
                    // Pairs a killed run left in flight need the resume paths of a
                    // group run, however few.
                    let unfinished = journal.as_ref().is_some_and(|j| {
                        pending.iter().any(|s| {
                            let key = s.key();
                            j.revoked(&key, &entry.name).is_some()
                                || j.sending(&key, &entry.name).is_some()
                        })
                    });
                    let together = bulk.is_some()
                        || unfinished
                        || (pending.len() > 1 && (caps.list_users || caps.list_all_sessions));
                    let run = &run;
                    async move {
                        if together {
                            let (done, plan) = run.grouped(entry, pending, bulk).await?;
                            Ok((done, Some(plan)))
                        } else {
                            Ok((run.one_by_one(entry, pending).await?, None))
                        }
                    }
                }))
                .await,
            );
        }
        let mut fresh: BTreeMap<(String, String), ProviderReport> = BTreeMap::new();
        let mut resolution = Vec::new();
        for results in per_provider {
            let (results, plan): (Vec<(String, ProviderReport)>, Option<ResolutionPlan>) = results?;
            resolution.extend(plan);
            for (key, report) in results {
                fresh.insert((key, report.provider.clone()), report);
            }
        }
        let mut summary = Summary::default();
        let reports: Vec<Report> = subjects
            .iter()
            .map(|subject| {
                let key = subject.key();
                let providers = self
                    .entries
                    .iter()
                    .filter(|entry| has_pair(subject, &entry.name))
                    .map(|entry| {
                        fresh
                            .get(&(key.clone(), entry.name.clone()))
                            .or_else(|| journal.as_ref().and_then(|j| j.done(&key, &entry.name)))
                            .cloned()
                            // Never lost, never counted done: a pair without a record fails.
                            .unwrap_or_else(|| ProviderReport {
                                provider: entry.name.clone(),
                                user: None,
                                outcome: failed(&unisession_core::Error::new(
                                    unisession_core::ErrorKind::Provider,
                                    "the run recorded no outcome for this pair",
                                )),
                                retries: 0,
                                elapsed_ms: 0,
                                sessions_before: None,
                            })
                    })
                    .collect::<Vec<_>>();
                let mut providers = providers;
                if providers.is_empty() {
                    // Ids for no configured provider: nothing was done, and it says so.
                    providers.push(ProviderReport {
                        provider: subject.ids.keys().next().cloned().unwrap_or_default(),
                        user: None,
                        outcome: failed(&unisession_core::Error::invalid_input(
                            "this person's ids name no provider of this run",
                        )),
                        retries: 0,
                        elapsed_ms: 0,
                        sessions_before: None,
                    });
                }
                let report = Report::new(key, started_at, providers);
                summary.merge(&report.summary);
                report
            })
            .collect();
        if let Some(progress) = &options.progress {
            progress(&Progress::Finished);
        }
        let complete = reports.iter().all(Report::is_complete);
        Ok(ManyReport {
            reports,
            summary,
            resumed,
            complete,
            resolution,
        })
    }
}
