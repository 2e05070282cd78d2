//! The durable queue: jobs, the record of each (job, provider) attempt, and the
//! replay cache of token ids, in one SQLite file or one PostgreSQL database.
//!
//! Why hand-written rather than a queue crate: a job here is not an opaque message.
//! Each provider's part of it is recorded, fenced by the job's lease, in the same
//! database and the same statement that checks the lease, so a replica that lost its
//! lease (it stalled, or the others took it for dead) cannot record anything, and a
//! replica that takes the job over skips exactly the parts already done. The replay
//! cache must be written in the same transaction as the job, so that an accepted
//! token and its job exist together or not at all. A generic queue (apalis and the
//! like) stores a job as one payload and acknowledges it as a whole; it would need
//! this second store beside it anyway, and two stores cannot share a transaction.
//!
//! Claiming: PostgreSQL takes the oldest due job with `FOR UPDATE SKIP LOCKED`, so
//! replicas never wait on each other; SQLite serialises writers, and one `UPDATE …
//! RETURNING` claims atomically. A claim is a lease with an owner token and an
//! expiry; the owner renews it while it works; an expired lease is claimable again.

use std::collections::BTreeSet;
use std::time::Duration;

use secrecy::ExposeSecret;
use serde::Serialize;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};

use crate::config::Database;

/// A job as `GET /jobs/{id}` shows it.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct JobView {
    /// The job id.
    pub id: String,
    /// The person (a lower-cased e-mail address).
    pub subject: String,
    /// The caller that triggered it.
    pub caller: String,
    /// The subject format the caller used.
    pub format: String,
    /// `queued`, `running` or `finished`.
    pub state: String,
    /// When finished: `complete` (every provider's part done and verified where it
    /// can be) or `partial`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// Attempts so far.
    pub attempts: i64,
    /// When the trigger was received, in milliseconds since the epoch.
    pub received_at_ms: i64,
    /// When the first attempt started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at_ms: Option<i64>,
    /// When it finished.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at_ms: Option<i64>,
    /// The earliest the next attempt runs, while queued.
    pub run_after_ms: i64,
    /// The report: the fleet's report of the latest attempt of every provider.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<serde_json::Value>,
    /// The providers it offboards from, when not all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub providers: Option<BTreeSet<String>>,
    /// The transaction id of the events behind it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub txn: Option<String>,
}

/// A job claimed by this process.
#[derive(Debug, Clone)]
pub(crate) struct Claimed {
    pub id: String,
    pub subject: String,
    pub attempt: i64,
    pub lease: String,
    pub received_at_ms: i64,
    pub started_at_ms: i64,
    /// The providers to offboard from (`None`: all).
    pub providers: Option<BTreeSet<String>>,
}

/// A recorded (job, provider) attempt.
#[derive(Debug, Clone)]
pub(crate) struct PairRecord {
    pub provider: String,
    pub attempt: i64,
    pub done: bool,
    pub report: String,
}

/// What a new job holds.
#[derive(Debug, Clone)]
pub(crate) struct NewJob<'a> {
    pub id: &'a str,
    pub subject: &'a str,
    pub caller: &'a str,
    pub format: &'a str,
    pub received_at_ms: i64,
    /// `(iss, jti, expires_at_ms)` to remember in the same transaction.
    pub replay: Option<(&'a str, &'a str, i64)>,
    /// The providers to offboard from (`None`: all).
    pub providers: Option<BTreeSet<String>>,
    /// The transaction id of the events behind it (one job per `txn` and person).
    pub txn: Option<&'a str>,
}

/// A received Security Event Token, as recorded.
#[derive(Debug, Clone)]
pub(crate) struct NewEvent<'a> {
    pub iss: &'a str,
    pub jti: &'a str,
    pub transmitter: &'a str,
    pub event_type: &'a str,
    pub subject: Option<&'a str>,
    pub txn: Option<&'a str>,
    /// What was done: `job`, `record`, `unknown_subject`, `refused`, `ignored`,
    /// `verification`, `stream_updated`.
    pub action: &'a str,
    pub received_at_ms: i64,
}

/// How an event was stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EventStored {
    /// New; with the job it started or joined.
    New(Option<String>),
    /// Seen before: nothing done.
    Duplicate,
}

/// A managed (or seen) stream, as recorded.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct StreamRecord {
    /// The transmitter's name in the configuration.
    pub transmitter: String,
    /// The stream id.
    pub stream_id: String,
    /// The stream's configuration as the transmitter last returned it.
    pub config: serde_json::Value,
    /// `enabled`, `paused` or `disabled`, as last read or announced.
    pub status: Option<String>,
    /// The state of the last verification asked for.
    #[serde(skip)]
    pub verify_state: Option<String>,
    /// When a verification was last asked for.
    pub verify_requested_at_ms: Option<i64>,
    /// When a verification event last arrived.
    pub verified_at_ms: Option<i64>,
}

/// Why a job was not stored.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StoreError {
    #[error("this token was used before")]
    Replayed,
    #[error("the queue: {0}")]
    Database(#[from] sqlx::Error),
}

/// The queue.
#[derive(Clone)]
pub(crate) struct Store {
    pool: AnyPool,
    postgres: bool,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("postgres", &self.postgres)
            .finish_non_exhaustive()
    }
}

const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS unisession_jobs (
        id TEXT PRIMARY KEY,
        subject TEXT NOT NULL,
        caller TEXT NOT NULL,
        format TEXT NOT NULL,
        state TEXT NOT NULL,
        outcome TEXT,
        attempts BIGINT NOT NULL DEFAULT 0,
        finishes BIGINT NOT NULL DEFAULT 0,
        received_at BIGINT NOT NULL,
        run_after BIGINT NOT NULL,
        started_at BIGINT,
        finished_at BIGINT,
        lease_owner TEXT,
        lease_until BIGINT,
        report TEXT,
        providers TEXT,
        txn TEXT
    )",
    "CREATE INDEX IF NOT EXISTS unisession_jobs_due ON unisession_jobs (state, run_after)",
    "CREATE INDEX IF NOT EXISTS unisession_jobs_subject ON unisession_jobs (subject)",
    "CREATE TABLE IF NOT EXISTS unisession_pairs (
        job_id TEXT NOT NULL,
        provider TEXT NOT NULL,
        attempt BIGINT NOT NULL,
        done BIGINT NOT NULL,
        report TEXT NOT NULL,
        recorded_at BIGINT NOT NULL,
        PRIMARY KEY (job_id, provider, attempt)
    )",
    "CREATE TABLE IF NOT EXISTS unisession_events (
        iss TEXT NOT NULL,
        jti TEXT NOT NULL,
        transmitter TEXT NOT NULL,
        event_type TEXT NOT NULL,
        subject TEXT,
        txn TEXT,
        action TEXT NOT NULL,
        job_id TEXT,
        received_at BIGINT NOT NULL,
        PRIMARY KEY (iss, jti)
    )",
    "CREATE TABLE IF NOT EXISTS unisession_streams (
        transmitter TEXT PRIMARY KEY,
        stream_id TEXT NOT NULL,
        config TEXT NOT NULL,
        status TEXT,
        verify_state TEXT,
        verify_requested_at BIGINT,
        verified_at BIGINT,
        updated_at BIGINT NOT NULL
    )",
    "CREATE TABLE IF NOT EXISTS unisession_replay (
        iss TEXT NOT NULL,
        jti TEXT NOT NULL,
        expires_at BIGINT NOT NULL,
        PRIMARY KEY (iss, jti)
    )",
];

pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn job_view(row: &AnyRow) -> Result<JobView, sqlx::Error> {
    let report: Option<String> = row.try_get("report")?;
    Ok(JobView {
        id: row.try_get("id")?,
        subject: row.try_get("subject")?,
        caller: row.try_get("caller")?,
        format: row.try_get("format")?,
        state: row.try_get("state")?,
        outcome: row.try_get("outcome")?,
        attempts: row.try_get("attempts")?,
        received_at_ms: row.try_get("received_at")?,
        started_at_ms: row.try_get("started_at")?,
        finished_at_ms: row.try_get("finished_at")?,
        run_after_ms: row.try_get("run_after")?,
        report: report.and_then(|r| serde_json::from_str(&r).ok()),
        providers: providers_from(row.try_get("providers")?),
        txn: row.try_get("txn")?,
    })
}

const JOB_COLUMNS: &str = "id, subject, caller, format, state, outcome, attempts, received_at, started_at, finished_at, run_after, report, providers, txn";

fn providers_from(raw: Option<String>) -> Option<BTreeSet<String>> {
    raw.and_then(|r| serde_json::from_str(&r).ok())
}

/// A new job is due at once (`run_after` 0, whatever this process's clock says); the
/// oldest received runs first.
async fn insert_job(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    job: &NewJob<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO unisession_jobs (id, subject, caller, format, state, attempts, finishes, received_at, run_after, providers, txn)
         VALUES ($1, $2, $3, $4, 'queued', 0, 0, $5, 0, $6, $7)",
    )
    .bind(job.id)
    .bind(job.subject)
    .bind(job.caller)
    .bind(job.format)
    .bind(job.received_at_ms)
    .bind(job.providers.as_ref().map(|p| serde_json::to_string(p).unwrap_or_default()))
    .bind(job.txn)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    /// Opens (and creates) the queue.
    pub(crate) async fn open(database: &Database) -> Result<Self, sqlx::Error> {
        sqlx::any::install_default_drivers();
        let (url, postgres, connections) = match database {
            Database::Sqlite(path) => {
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).map_err(sqlx::Error::Io)?;
                }
                (format!("sqlite://{}?mode=rwc", path.display()), false, 4)
            }
            Database::Postgres(url) => (url.expose_secret().to_owned(), true, 8),
        };
        let pool = AnyPoolOptions::new()
            .max_connections(connections)
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if !postgres {
                        // Durable before 204: every commit reaches the disk; writers from
                        // several connections wait for each other instead of failing.
                        for pragma in [
                            "PRAGMA journal_mode = WAL",
                            "PRAGMA synchronous = FULL",
                            "PRAGMA busy_timeout = 10000",
                        ] {
                            sqlx::query(pragma).execute(&mut *conn).await?;
                        }
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await?;
        let store = Self { pool, postgres };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<(), sqlx::Error> {
        if self.postgres {
            // Replicas starting together must not race on CREATE TABLE.
            let mut tx = self.pool.begin().await?;
            sqlx::query("SELECT pg_advisory_xact_lock(7355608)")
                .execute(&mut *tx)
                .await?;
            for statement in SCHEMA {
                sqlx::query(statement).execute(&mut *tx).await?;
            }
            tx.commit().await?;
        } else {
            for statement in SCHEMA {
                sqlx::query(statement).execute(&self.pool).await?;
            }
        }
        Ok(())
    }

    /// Whether the queue answers.
    pub(crate) async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }

    /// Whether `(iss, jti)` was accepted before (and has not expired from the cache).
    pub(crate) async fn seen(&self, iss: &str, jti: &str) -> Result<bool, sqlx::Error> {
        let row =
            sqlx::query("SELECT COUNT(*) AS n FROM unisession_replay WHERE iss = $1 AND jti = $2")
                .bind(iss)
                .bind(jti)
                .fetch_one(&self.pool)
                .await?;
        Ok(row.try_get::<i64, _>("n")? > 0)
    }

    /// Stores a new job (and its token id), durably: when this returns `Ok`, the job
    /// survives a crash.
    pub(crate) async fn enqueue(&self, job: &NewJob<'_>) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        if let Some((iss, jti, expires_at)) = job.replay {
            let inserted = sqlx::query(
                "INSERT INTO unisession_replay (iss, jti, expires_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            )
            .bind(iss)
            .bind(jti)
            .bind(expires_at)
            .execute(&mut *tx)
            .await?;
            if inserted.rows_affected() == 0 {
                return Err(StoreError::Replayed);
            }
        }
        insert_job(&mut tx, job).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Stores an event once (by `(iss, jti)`), and with it a new job, or joins the
    /// job of the same `txn` and person when that job covers the providers asked for
    /// (a queued one is widened to cover them).
    pub(crate) async fn record_event(
        &self,
        event: &NewEvent<'_>,
        job: Option<&NewJob<'_>>,
    ) -> Result<EventStored, StoreError> {
        let mut tx = self.pool.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO unisession_events (iss, jti, transmitter, event_type, subject, txn, action, received_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
        )
        .bind(event.iss)
        .bind(event.jti)
        .bind(event.transmitter)
        .bind(event.event_type)
        .bind(event.subject)
        .bind(event.txn)
        .bind(event.action)
        .bind(event.received_at_ms)
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            return Ok(EventStored::Duplicate);
        }
        let Some(job) = job else {
            tx.commit().await?;
            return Ok(EventStored::New(None));
        };
        let mut joined = None;
        if let Some(txn) = job.txn {
            let rows = sqlx::query(
                "SELECT id, state, providers FROM unisession_jobs WHERE caller = $1 AND txn = $2 AND subject = $3 AND state IN ('queued', 'running') ORDER BY received_at",
            )
            .bind(job.caller)
            .bind(txn)
            .bind(job.subject)
            .fetch_all(&mut *tx)
            .await?;
            for row in rows {
                let id: String = row.try_get("id")?;
                let state: String = row.try_get("state")?;
                let has = providers_from(row.try_get::<Option<String>, _>("providers")?);
                let covers = match (&has, &job.providers) {
                    (None, _) => true,
                    (Some(_), None) => false,
                    (Some(has), Some(wanted)) => wanted.is_subset(has),
                };
                if covers {
                    joined = Some(id);
                    break;
                }
                if state == "queued" {
                    let widened = match (has, &job.providers) {
                        (Some(has), Some(wanted)) => {
                            Some(has.union(wanted).cloned().collect::<BTreeSet<_>>())
                        }
                        _ => None,
                    };
                    // Claimed meanwhile (PostgreSQL reads without locking): not widened,
                    // so not joined either.
                    let widened_rows = sqlx::query(
                        "UPDATE unisession_jobs SET providers = $1 WHERE id = $2 AND state = 'queued'",
                    )
                    .bind(widened.map(|p| serde_json::to_string(&p).unwrap_or_default()))
                    .bind(&id)
                    .execute(&mut *tx)
                    .await?;
                    if widened_rows.rows_affected() == 1 {
                        joined = Some(id);
                        break;
                    }
                }
            }
        }
        let job_id = match joined {
            Some(id) => id,
            None => {
                insert_job(&mut tx, job).await?;
                job.id.to_owned()
            }
        };
        sqlx::query("UPDATE unisession_events SET job_id = $1 WHERE iss = $2 AND jti = $3")
            .bind(&job_id)
            .bind(event.iss)
            .bind(event.jti)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(EventStored::New(Some(job_id)))
    }

    /// The events received for a person, newest first (at most 100).
    pub(crate) async fn events_of(
        &self,
        subject: &str,
    ) -> Result<Vec<serde_json::Value>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT transmitter, event_type, jti, txn, action, job_id, received_at FROM unisession_events WHERE subject = $1 ORDER BY received_at DESC LIMIT 100",
        )
        .bind(subject)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(serde_json::json!({
                    "transmitter": row.try_get::<String, _>("transmitter")?,
                    "event_type": row.try_get::<String, _>("event_type")?,
                    "jti": row.try_get::<String, _>("jti")?,
                    "txn": row.try_get::<Option<String>, _>("txn")?,
                    "action": row.try_get::<String, _>("action")?,
                    "job": row.try_get::<Option<String>, _>("job_id")?,
                    "received_at_ms": row.try_get::<i64, _>("received_at")?,
                }))
            })
            .collect()
    }

    /// Records the stream a transmitter returned (and the verification state asked).
    pub(crate) async fn save_stream(
        &self,
        transmitter: &str,
        stream_id: &str,
        config: &serde_json::Value,
        status: Option<&str>,
        verify_state: Option<&str>,
    ) -> Result<(), sqlx::Error> {
        let now = now_ms();
        sqlx::query(
            "INSERT INTO unisession_streams (transmitter, stream_id, config, status, verify_state, verify_requested_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (transmitter) DO UPDATE SET stream_id = excluded.stream_id, config = excluded.config,
                 status = excluded.status, verify_state = excluded.verify_state,
                 verify_requested_at = excluded.verify_requested_at, updated_at = excluded.updated_at",
        )
        .bind(transmitter)
        .bind(stream_id)
        .bind(config.to_string())
        .bind(status)
        .bind(verify_state)
        .bind(verify_state.map(|_| now))
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The recorded stream of a transmitter.
    pub(crate) async fn stream(
        &self,
        transmitter: &str,
    ) -> Result<Option<StreamRecord>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT transmitter, stream_id, config, status, verify_state, verify_requested_at, verified_at FROM unisession_streams WHERE transmitter = $1",
        )
        .bind(transmitter)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(StreamRecord {
                transmitter: row.try_get("transmitter")?,
                stream_id: row.try_get("stream_id")?,
                config: serde_json::from_str(&row.try_get::<String, _>("config")?)
                    .unwrap_or_default(),
                status: row.try_get("status")?,
                verify_state: row.try_get("verify_state")?,
                verify_requested_at_ms: row.try_get("verify_requested_at")?,
                verified_at_ms: row.try_get("verified_at")?,
            })
        })
        .transpose()
    }

    /// A verification event arrived for the transmitter's stream.
    pub(crate) async fn stream_verified(&self, transmitter: &str) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE unisession_streams SET verified_at = $1 WHERE transmitter = $2")
            .bind(now_ms())
            .bind(transmitter)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The transmitter announced a status.
    pub(crate) async fn stream_status(
        &self,
        transmitter: &str,
        status: &str,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE unisession_streams SET status = $1, updated_at = $2 WHERE transmitter = $3",
        )
        .bind(status)
        .bind(now_ms())
        .bind(transmitter)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Claims the oldest due job (queued and due, or running with an expired lease)
    /// for `lease` from now.
    pub(crate) async fn claim(&self, lease: Duration) -> Result<Option<Claimed>, sqlx::Error> {
        let now = self.clock().await?;
        // The process id first: an operator (and a test) can tell whose leases are whose.
        let owner = format!("{}-{:016x}", std::process::id(), fastrand::u64(..));
        let skip_locked = if self.postgres {
            " FOR UPDATE SKIP LOCKED"
        } else {
            ""
        };
        let sql = format!(
            "UPDATE unisession_jobs
             SET state = 'running', lease_owner = $1, lease_until = $2, attempts = attempts + 1,
                 started_at = COALESCE(started_at, $3)
             WHERE id = (
                 SELECT id FROM unisession_jobs
                 WHERE (state = 'queued' AND run_after <= $3) OR (state = 'running' AND lease_until < $3)
                 ORDER BY run_after, received_at
                 LIMIT 1{skip_locked}
             )
             RETURNING id, subject, attempts, received_at, started_at, providers"
        );
        let row = sqlx::query(&sql)
            .bind(&owner)
            .bind(now + lease.as_millis() as i64)
            .bind(now)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| {
            Ok(Claimed {
                id: row.try_get("id")?,
                subject: row.try_get("subject")?,
                attempt: row.try_get("attempts")?,
                lease: owner,
                received_at_ms: row.try_get("received_at")?,
                started_at_ms: row.try_get("started_at")?,
                providers: providers_from(row.try_get("providers")?),
            })
        })
        .transpose()
    }

    /// Extends the lease; `false` when it is no longer this claim's.
    pub(crate) async fn renew(&self, job: &Claimed, lease: Duration) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE unisession_jobs SET lease_until = $1 WHERE id = $2 AND lease_owner = $3 AND state = 'running'",
        )
        .bind(self.clock().await? + lease.as_millis() as i64)
        .bind(&job.id)
        .bind(&job.lease)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The time leases are measured in, in milliseconds since the epoch: the
    /// database's clock on PostgreSQL, so that replicas whose clocks drift apart never
    /// take each other's live leases for expired; the process's on SQLite (one host).
    async fn clock(&self) -> Result<i64, sqlx::Error> {
        if !self.postgres {
            return Ok(now_ms());
        }
        let row = sqlx::query(
            "SELECT CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT) AS now",
        )
        .fetch_one(&self.pool)
        .await?;
        row.try_get("now")
    }

    /// Every recorded attempt of the job's pairs, oldest first.
    pub(crate) async fn pairs(&self, job_id: &str) -> Result<Vec<PairRecord>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT provider, attempt, done, report FROM unisession_pairs WHERE job_id = $1 ORDER BY attempt, recorded_at",
        )
        .bind(job_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(PairRecord {
                    provider: row.try_get("provider")?,
                    attempt: row.try_get("attempt")?,
                    done: row.try_get::<i64, _>("done")? != 0,
                    report: row.try_get("report")?,
                })
            })
            .collect()
    }

    /// Records a pair's outcome, only while the lease is still this claim's (the
    /// check and the insert are one statement; PostgreSQL waits for a concurrent
    /// claim of the job and then sees it). `false` when the lease was lost.
    pub(crate) async fn record(
        &self,
        job: &Claimed,
        provider: &str,
        done: bool,
        report: &str,
    ) -> Result<bool, sqlx::Error> {
        let lock = if self.postgres { " FOR SHARE" } else { "" };
        let sql = format!(
            "INSERT INTO unisession_pairs (job_id, provider, attempt, done, report, recorded_at)
             SELECT $1, $2, $3, $4, $5, $6
             WHERE EXISTS (
                 SELECT 1 FROM unisession_jobs
                 WHERE id = $1 AND lease_owner = $7 AND state = 'running'{lock}
             )"
        );
        let inserted = sqlx::query(&sql)
            .bind(&job.id)
            .bind(provider)
            .bind(job.attempt)
            .bind(i64::from(done))
            .bind(report)
            .bind(now_ms())
            .bind(&job.lease)
            .execute(&self.pool)
            .await?;
        Ok(inserted.rows_affected() == 1)
    }

    /// Finishes the job with its report; `false` when the lease was lost (then
    /// whoever holds it finishes the job).
    pub(crate) async fn finish(
        &self,
        job: &Claimed,
        complete: bool,
        report: &str,
    ) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE unisession_jobs
             SET state = 'finished', outcome = $1, report = $2, finished_at = $3, finishes = finishes + 1,
                 lease_owner = NULL, lease_until = NULL
             WHERE id = $4 AND lease_owner = $5 AND state = 'running'",
        )
        .bind(if complete { "complete" } else { "partial" })
        .bind(report)
        .bind(now_ms())
        .bind(&job.id)
        .bind(&job.lease)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Puts the job back in the queue, due after `wait`, with the report so far. An
    /// interrupted attempt (a shutdown) counts as one: attempt numbers never repeat,
    /// so a part's records stay one per attempt.
    pub(crate) async fn requeue(
        &self,
        job: &Claimed,
        wait: Duration,
        report: Option<&str>,
    ) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE unisession_jobs
             SET state = 'queued', run_after = $1, report = COALESCE($2, report),
                 lease_owner = NULL, lease_until = NULL
             WHERE id = $3 AND lease_owner = $4 AND state = 'running'",
        )
        .bind(self.clock().await? + wait.as_millis() as i64)
        .bind(report)
        .bind(&job.id)
        .bind(&job.lease)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// One job.
    pub(crate) async fn job(&self, id: &str) -> Result<Option<JobView>, sqlx::Error> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM unisession_jobs WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(job_view).transpose()
    }

    /// A person's jobs, newest first (at most 100).
    pub(crate) async fn jobs_of(&self, subject: &str) -> Result<Vec<JobView>, sqlx::Error> {
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM unisession_jobs WHERE subject = $1 ORDER BY received_at DESC LIMIT 100"
        );
        let rows = sqlx::query(&sql)
            .bind(subject)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(job_view).collect()
    }

    /// Jobs by state and outcome, for the metrics.
    pub(crate) async fn counts(&self) -> Result<Vec<(String, String, i64)>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT state, COALESCE(outcome, '') AS outcome, COUNT(*) AS n FROM unisession_jobs GROUP BY state, COALESCE(outcome, '')",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok((
                    row.try_get("state")?,
                    row.try_get("outcome")?,
                    row.try_get("n")?,
                ))
            })
            .collect()
    }

    /// Forgets token ids whose tokens have expired (they can no longer be replayed).
    pub(crate) async fn prune_replay(&self) -> Result<u64, sqlx::Error> {
        let done = sqlx::query("DELETE FROM unisession_replay WHERE expires_at < $1")
            .bind(now_ms())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    /// Closes the pool.
    pub(crate) async fn close(&self) {
        self.pool.close().await;
    }
}
