//! Verifying a revocation with a fresh listing: per person, or for a bulk call with
//! one listing of everyone when that costs fewer calls.
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use futures::StreamExt;
use unisession_core::telemetry::track_retries;
use unisession_core::{DeviceScope, ListQuery, Result, SessionProvider, UserId, Verification};

use super::audit::{AuditOperation, AuditOutcome};
use super::{AuditRecord, Entry, Fleet, Subject, fingerprint};

impl Fleet {
    /// How long a revocation may take to show in a listing: the queued wait for an
    /// asynchronous one, the settle wait for the rest.
    pub(super) fn wait_for(&self, queued: bool) -> Duration {
        if queued {
            self.queued_wait
        } else {
            self.settle_wait
        }
    }

    /// Lists the user's sessions again, polling with backoff while some still show,
    /// up to the queued wait (asynchronous revocations) or the settle wait (the rest).
    pub(super) async fn verify_user(
        &self,
        entry: &Entry,
        subject: &Subject,
        user: &UserId,
        queued: bool,
        requested_at: DateTime<Utc>,
    ) -> Verification {
        let provider = entry.provider.as_ref();
        let unverifiable = |reason: String| {
            let record = AuditRecord::new(
                &entry.name,
                AuditOperation::Verify,
                &subject.key(),
                AuditOutcome::Unverifiable,
            );
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
            if provider.capabilities().confirms_revocation {
                return self
                    .confirm_user(entry, subject, user, queued, requested_at)
                    .await;
            }
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
                    None => {
                        return Ok(Verification::unverifiable(
                            "the provider cannot list this user's sessions",
                        ));
                    }
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
            Ok(Verification::Verified) => (AuditOutcome::Verified, None, Verification::Verified),
            Ok(v) => (AuditOutcome::StillActive, None, v),
            Err(e) => {
                let v = Verification::unverifiable(format!("the verification listing failed: {e}"));
                (AuditOutcome::Unverifiable, Some(e), v)
            }
        };
        let record = AuditRecord::new(&entry.name, AuditOperation::Verify, &subject.key(), outcome);
        self.audit(record, Some(user), error.as_ref(), retries);
        verification
    }

    /// The person's sessions before revoking, for the report; `None` where the
    /// provider cannot list them or the listing failed (audited; it never stops the
    /// revocation).
    pub(super) async fn count_sessions(
        &self,
        entry: &Entry,
        subject: &Subject,
        user: &UserId,
    ) -> Option<u64> {
        let (listed, retries) =
            track_retries(self.user_sessions(entry.provider.as_ref(), user)).await;
        let listed = listed?;
        let outcome = if listed.is_ok() {
            AuditOutcome::Listed
        } else {
            AuditOutcome::Failed
        };
        let mut record = AuditRecord::new(
            &entry.name,
            AuditOperation::ListSessions,
            &subject.key(),
            outcome,
        );
        if let Ok(sessions) = &listed {
            record.sessions = sessions.iter().map(|s| fingerprint(&s.id)).collect();
        }
        self.audit(record, Some(user), listed.as_ref().err(), retries);
        listed.ok().map(|s| s.len() as u64)
    }

    /// The sessions of each of `members` before a bulk revocation: one listing of
    /// everyone while it costs fewer calls than one per person (as
    /// [`Self::verify_group`] does), else one listing per person.
    pub(super) async fn count_group(
        &self,
        entry: &Entry,
        members: &[(&Subject, &UserId)],
        concurrency: usize,
    ) -> HashMap<UserId, u64> {
        let provider = entry.provider.as_ref();
        if members.len() > 1 && provider.capabilities().list_all_sessions {
            let wanted: HashSet<&UserId> = members.iter().map(|(_, user)| *user).collect();
            let (scan, retries) = track_retries(async {
                tokio::time::timeout(
                    self.deadline,
                    self.with_retries(|| Self::scan(provider, &wanted, members.len())),
                )
                .await
                .unwrap_or_else(|_| Err(self.past_deadline(entry, "the listing before revoking")))
            })
            .await;
            let outcome = match &scan {
                Ok(Some(_)) => AuditOutcome::Listed,
                Ok(None) => AuditOutcome::PerPerson,
                Err(_) => AuditOutcome::Failed,
            };
            let record = AuditRecord::new(
                &entry.name,
                AuditOperation::ListSessions,
                &format!("{} people", members.len()),
                outcome,
            );
            self.audit(record, None, scan.as_ref().err(), retries);
            if let Ok(Some(counts)) = scan {
                return members
                    .iter()
                    .map(|(_, user)| ((*user).clone(), counts.get(*user).copied().unwrap_or(0)))
                    .collect();
            }
        }
        futures::stream::iter(members)
            .map(|(subject, user)| async move {
                let count =
                    tokio::time::timeout(self.deadline, self.count_sessions(entry, subject, user))
                        .await
                        .ok()
                        .flatten();
                count.map(|c| ((*user).clone(), c))
            })
            .buffer_unordered(concurrency.max(1))
            .filter_map(std::future::ready)
            .collect()
            .await
    }

    /// For a provider that cannot list the user's sessions: reads its own record of
    /// the revocation ([`SessionProvider::confirm_revocation`]), again with backoff
    /// while the record does not show it yet, up to the queued or settle wait.
    async fn confirm_user(
        &self,
        entry: &Entry,
        subject: &Subject,
        user: &UserId,
        queued: bool,
        requested_at: DateTime<Utc>,
    ) -> Verification {
        let provider = entry.provider.as_ref();
        let started = Instant::now();
        let mut pause = Duration::from_millis(100);
        let (answer, retries) = track_retries(async {
            loop {
                match self
                    .with_retries(|| provider.confirm_revocation(user, requested_at))
                    .await
                {
                    Ok(Some(verification)) => return Ok(verification),
                    Ok(None) if started.elapsed() + pause > self.wait_for(queued) => {
                        return Ok(Verification::unverifiable(format!(
                            "{}'s own record did not show the revocation within {:?}; it may still take effect later",
                            entry.name,
                            self.wait_for(queued)
                        )));
                    }
                    Ok(None) => {}
                    Err(e) => return Err(e),
                }
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(2));
            }
        })
        .await;
        let (outcome, error, verification) = match answer {
            Ok(v @ Verification::Confirmed { .. }) => (AuditOutcome::Verified, None, v),
            Ok(v @ Verification::StillActive { .. }) => (AuditOutcome::StillActive, None, v),
            Ok(v) => (AuditOutcome::Unverifiable, None, v),
            Err(e) => {
                let v = Verification::unverifiable(format!(
                    "reading {}'s record of the revocation failed: {e}",
                    entry.name
                ));
                (AuditOutcome::Unverifiable, Some(e), v)
            }
        };
        let mut record =
            AuditRecord::new(&entry.name, AuditOperation::Verify, &subject.key(), outcome);
        if let Verification::Confirmed { evidence } = &verification {
            record.evidence = Some(evidence.clone());
        }
        self.audit(record, Some(user), error.as_ref(), retries);
        verification
    }

    /// Verifies the people of one bulk revocation. A listing of every session costs
    /// one call per page, a listing per person one call per person: while the
    /// provider can list everyone's sessions, the workspace-wide listing is used and
    /// abandoned (for the per-person one) as soon as it has cost as many calls as
    /// the people left to check. Queued revocations are listed again until they
    /// show or the queued wait ends, like [`Self::verify_user`].
    pub(super) async fn verify_group(
        &self,
        entry: &Entry,
        members: &[(&Subject, &UserId, bool)],
        concurrency: usize,
        requested_at: DateTime<Utc>,
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
                        AuditOperation::Verify,
                        &format!("{} people", pending.len()),
                        if scan.is_ok() {
                            AuditOutcome::PerPerson
                        } else {
                            AuditOutcome::Failed
                        },
                    );
                    self.audit(record, None, scan.as_ref().err(), retries);
                    break;
                };
                let record = AuditRecord::new(
                    &entry.name,
                    AuditOperation::Verify,
                    &format!("{} people", pending.len()),
                    AuditOutcome::Listed,
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
                        Verification::Verified => AuditOutcome::Verified,
                        _ => AuditOutcome::StillActive,
                    };
                    let record = AuditRecord::new(
                        &entry.name,
                        AuditOperation::Verify,
                        &subject.key(),
                        outcome,
                    );
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
                        self.verify_user(entry, subject, user, *queued, requested_at),
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
    pub(super) async fn scan(
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
}
