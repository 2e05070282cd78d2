//! Running jobs: claim, offboard provider by provider (identity providers first),
//! record each provider's part under the lease, then finish or come back later.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{Notify, watch};
use unisession::Verification;
use unisession::fleet::{Fleet, ProviderOutcome, ProviderReport, Report, Subject};

use crate::metrics::{Metrics, PairLabels};
use crate::store::{Claimed, Store, now_ms};

/// What the workers share.
pub(crate) struct Runner {
    pub store: Store,
    pub fleet: Arc<Fleet>,
    pub metrics: Arc<Metrics>,
    pub wake: Arc<Notify>,
    pub lease: Duration,
    pub poll: Duration,
    pub max_attempts: u32,
    pub retry_after: Duration,
    /// How long a running job may take to finish once shutdown begins.
    pub grace: Duration,
}

/// Aborts the heartbeat however `run` ends, a panic in a provider included: a dead
/// worker's lease then expires and another worker takes the job.
struct Heartbeat(tokio::task::JoinHandle<()>);

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// How an attempt ended.
enum Ended {
    Finished,
    Requeued,
    LeaseLost,
}

/// Whether a pair that is not done may succeed if tried again.
fn retryable(report: &ProviderReport) -> bool {
    match &report.outcome {
        ProviderOutcome::Failed { error } => error.temporary,
        ProviderOutcome::Unsupported { .. } | ProviderOutcome::UserNotFound { .. } => false,
        other => matches!(other.verification(), Some(Verification::StillActive { .. })),
    }
}

impl Runner {
    /// One worker: claims and runs jobs until `shutdown` turns true.
    pub(crate) async fn work(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        loop {
            if *shutdown.borrow() {
                return;
            }
            match self.store.claim(self.lease).await {
                Ok(Some(job)) => self.run(job, &mut shutdown).await,
                Ok(None) => {
                    tokio::select! {
                        _ = self.wake.notified() => {}
                        _ = tokio::time::sleep(self.poll) => {}
                        _ = shutdown.changed() => {}
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the queue; trying again");
                    tokio::select! {
                        _ = tokio::time::sleep(self.poll.max(Duration::from_millis(500))) => {}
                        _ = shutdown.changed() => {}
                    }
                }
            }
        }
    }

    /// Runs one claimed job with a heartbeat; on shutdown, lets it finish within the
    /// grace period, else gives it back to the queue.
    async fn run(&self, job: Claimed, shutdown: &mut watch::Receiver<bool>) {
        let span = tracing::info_span!("job", id = %job.id, attempt = job.attempt);
        let _entered = span.enter();
        drop(_entered);
        let lost = Arc::new(Notify::new());
        let heartbeat = Heartbeat({
            let store = self.store.clone();
            let job = job.clone();
            let lost = lost.clone();
            let lease = self.lease;
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(lease / 3).await;
                    match store.renew(&job, lease).await {
                        Ok(true) => {}
                        Ok(false) => {
                            lost.notify_one();
                            return;
                        }
                        Err(e) => tracing::warn!(error = %e, "cannot renew the job's lease"),
                    }
                }
            })
        });
        let attempt = self.attempt(&job);
        tokio::pin!(attempt);
        let ended = tokio::select! {
            ended = &mut attempt => Some(ended),
            _ = lost.notified() => Some(Ok(Ended::LeaseLost)),
            _ = shutdown.wait_for(|stop| *stop) => None,
        };
        let ended = match ended {
            Some(ended) => ended,
            // Shutting down: give the job its grace period, then hand it back.
            None => match tokio::time::timeout(self.grace, &mut attempt).await {
                Ok(ended) => ended,
                Err(_) => {
                    match self.store.requeue(&job, Duration::ZERO, None).await {
                        Ok(_) => {
                            tracing::info!(job = %job.id, "shutting down: the job goes back to the queue")
                        }
                        Err(e) => {
                            tracing::warn!(job = %job.id, error = %e, "shutting down: cannot release the job; its lease will expire")
                        }
                    }
                    Ok(Ended::Requeued)
                }
            },
        };
        drop(heartbeat);
        match ended {
            Ok(Ended::Finished) => {
                self.metrics
                    .job_seconds
                    .observe((now_ms() - job.received_at_ms).max(0) as f64 / 1000.0);
            }
            Ok(Ended::Requeued) => {}
            Ok(Ended::LeaseLost) => {
                tracing::warn!(job = %job.id, "the job's lease was lost (this process stalled); another takes it over")
            }
            Err(e) => {
                tracing::warn!(job = %job.id, error = %e, "cannot record the job's progress; its lease will expire and it runs again")
            }
        }
    }

    async fn attempt(&self, job: &Claimed) -> Result<Ended, sqlx::Error> {
        let mut latest: BTreeMap<String, (bool, ProviderReport)> = BTreeMap::new();
        for record in self.store.pairs(&job.id).await? {
            if let Ok(report) = serde_json::from_str::<ProviderReport>(&record.report) {
                let _ = record.attempt;
                latest.insert(record.provider, (record.done, report));
            }
        }
        let subject = Subject::email(&job.subject);
        let mut first_call = true;
        let wanted = |p: &String| job.providers.as_ref().is_none_or(|only| only.contains(p));
        for phase in self.fleet.order() {
            let pending: Vec<String> = phase
                .into_iter()
                .filter(|p| wanted(p) && !latest.get(p).is_some_and(|(done, _)| *done))
                .collect();
            if pending.is_empty() {
                continue;
            }
            if first_call && job.attempt == 1 {
                self.metrics
                    .start_seconds
                    .observe((now_ms() - job.received_at_ms).max(0) as f64 / 1000.0);
            }
            first_call = false;
            let results = futures::future::join_all(pending.iter().map(|provider| {
                let subject = &subject;
                async move {
                    let report = self.fleet.offboard_provider(provider, subject).await?;
                    Some(report)
                }
            }))
            .await;
            for (provider, report) in pending.into_iter().zip(results) {
                let Some(report) = report else { continue };
                let done = report.outcome.is_done();
                let json = serde_json::to_string(&report).unwrap_or_default();
                if !self.store.record(job, &provider, done, &json).await? {
                    return Ok(Ended::LeaseLost);
                }
                self.metrics
                    .pairs
                    .get_or_create(&PairLabels {
                        provider: provider.clone(),
                        outcome: report.outcome.name().to_owned(),
                    })
                    .inc();
                latest.insert(provider, (done, report));
            }
        }
        let started_at =
            DateTime::<Utc>::from_timestamp_millis(job.started_at_ms).unwrap_or_else(Utc::now);
        let reports: Vec<ProviderReport> = self
            .fleet
            .names()
            .filter(|name| wanted(&(*name).to_owned()))
            .filter_map(|name| latest.get(name).map(|(_, r)| r.clone()))
            .collect();
        let report = Report::new(subject.key(), started_at, reports);
        let json = serde_json::to_string(&report).unwrap_or_default();
        if report.is_complete() {
            return Ok(if self.store.finish(job, true, &json).await? {
                tracing::info!(job = %job.id, "complete");
                Ended::Finished
            } else {
                Ended::LeaseLost
            });
        }
        let again = latest.values().any(|(done, r)| !done && retryable(r));
        if again && (job.attempt as u32) < self.max_attempts {
            let wait = self
                .retry_after
                .saturating_mul(2u32.saturating_pow((job.attempt as u32).saturating_sub(1)))
                .min(Duration::from_secs(3600));
            tracing::info!(job = %job.id, wait_s = wait.as_secs_f64(), problems = ?report.problems(), "partial; retrying the unfinished providers later");
            return Ok(if self.store.requeue(job, wait, Some(&json)).await? {
                Ended::Requeued
            } else {
                Ended::LeaseLost
            });
        }
        Ok(if self.store.finish(job, false, &json).await? {
            tracing::warn!(job = %job.id, problems = ?report.problems(), "finished partial");
            Ended::Finished
        } else {
            Ended::LeaseLost
        })
    }
}
