//! The queue: failed providers retried with backoff (the done ones never redone),
//! jobs that outlive a restart, and a shutdown that gives running jobs back.

mod common;

use std::time::Duration;

use common::{API_TOKEN, Served};
use serde_json::json;
use unisession::emulated;
use unisession::emulator::Faults;
use unisession_serve::Server;

fn okta_revocations(served: &Served) -> usize {
    served
        .emulator
        .okta()
        .unwrap()
        .requests()
        .iter()
        .filter(|r| r.method == "DELETE" && r.path.contains("/sessions"))
        .count()
}

#[tokio::test]
async fn a_failing_provider_is_retried_later_and_the_done_ones_are_not_redone() {
    let mut served = Served::start(4, json!({"retry_seconds": 0.3, "max_attempts": 4})).await;
    let alice = served.person(2);
    let slack = served.emulator.slack().unwrap();
    slack.set_faults(Faults::none().with_server_errors(1.0));

    let token = served.okta.token(&served.endpoint);
    let (status, job) = served
        .post(Some(&token), &Served::email_body(&alice.email))
        .await;
    assert_eq!(status, 204);
    let id = job.unwrap();
    // The first attempt ends partial: Slack failed (temporarily), the job waits.
    let mut waited = None;
    for _ in 0..400 {
        let (_, job) = served.get(&format!("/jobs/{id}"), Some(API_TOKEN)).await;
        if job["state"] == "queued" && job["attempts"] == 1 && job["report"].is_object() {
            waited = Some(job);
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let waited = waited.expect("the job went back to the queue after a partial attempt");
    let slack_part = waited["report"]["providers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["provider"] == "slack")
        .unwrap()
        .clone();
    assert_eq!(slack_part["outcome"], "failed", "{slack_part}");
    assert!(waited["run_after_ms"].as_i64().unwrap() > waited["received_at_ms"].as_i64().unwrap());
    let okta_calls = okta_revocations(&served);
    assert_eq!(okta_calls, 1);

    slack.set_faults(Faults::none());
    let job = served.finished(&id).await;
    assert_eq!(job["outcome"], "complete", "{job:#}");
    assert_eq!(job["attempts"], 2);
    assert_eq!(
        okta_revocations(&served),
        okta_calls,
        "a provider already done was called again"
    );
    assert_eq!(slack.sessions_of(&alice.slack_id).len(), 0);
    served.stop().await;
}

#[tokio::test]
async fn a_provider_that_keeps_failing_ends_partial_after_the_last_attempt() {
    let mut served = Served::start(4, json!({"retry_seconds": 0.05, "max_attempts": 3})).await;
    let alice = served.person(2);
    served
        .emulator
        .rocketchat()
        .unwrap()
        .set_faults(Faults::none().with_server_errors(1.0));
    let (status, job) = served
        .post(
            Some(&served.okta.token(&served.endpoint)),
            &Served::email_body(&alice.email),
        )
        .await;
    assert_eq!(status, 204);
    let job = served.finished(&job.unwrap()).await;
    assert_eq!(job["outcome"], "partial", "{job:#}");
    assert_eq!(job["attempts"], 3);
    assert_eq!(job["report"]["complete"], false);
    served.stop().await;
}

#[tokio::test]
async fn an_accepted_job_outlives_a_restart_and_shutdown_gives_running_jobs_back() {
    // Every provider slow: the job is still running when the server stops.
    let mut served = Served::start(4, json!({"lease_seconds": 2})).await;
    let alice = served.person(2);
    for kind in served.emulator.served() {
        kind.set_faults(Faults::none().with_latency(Duration::from_millis(1500)));
    }
    let (status, job) = served
        .post(
            Some(&served.okta.token(&served.endpoint)),
            &Served::email_body(&alice.email),
        )
        .await;
    assert_eq!(status, 204);
    let id = job.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, running) = served.get(&format!("/jobs/{id}"), Some(API_TOKEN)).await;
    assert_eq!(running["state"], "running");
    // Stop: the job cannot finish within its grace period (the lease, 2 s), so it
    // goes back to the queue (the interrupted attempt counts).
    let stopped = std::time::Instant::now();
    served.stop().await;
    assert!(stopped.elapsed() < Duration::from_secs(10));
    // Read the file directly: the job is queued again, released at once.
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&format!(
        "sqlite://{}",
        served.dir.path().join("jobs.db").display()
    ))
    .await
    .unwrap();
    let row = sqlx::query("SELECT state, attempts, lease_owner FROM unisession_jobs WHERE id = $1")
        .bind(&id)
        .fetch_one(&pool)
        .await
        .unwrap();
    use sqlx::Row;
    assert_eq!(row.get::<String, _>("state"), "queued");
    assert_eq!(row.get::<i64, _>("attempts"), 1);
    assert_eq!(row.get::<Option<String>, _>("lease_owner"), None);
    pool.close().await;

    // A new server on the same SQLite file picks it up and finishes it.
    for kind in served.emulator.served() {
        kind.set_faults(Faults::none());
    }
    let port = common::free_port();
    let config = common::config(
        common::table(&served.okta, port, served.dir.path(), json!({})),
        served.dir.path(),
    )
    .unwrap();
    let fleet = emulated::fleet(&served.emulator, &common::fast())
        .unwrap()
        .build()
        .unwrap();
    served.running = Some(Server::new(config, fleet).start().await.unwrap());
    served.base = format!("http://127.0.0.1:{port}");
    let job = served.finished(&id).await;
    assert_eq!(job["outcome"], "complete", "{job:#}");
    // Attempt 2 after the restart (not a lease expiry: that would have waited).
    assert_eq!(job["attempts"], 2, "{job:#}");
    for (provider, left) in common::live(&served.emulator, &alice) {
        assert_eq!(left, 0, "{provider}");
    }
    served.stop().await;
}

#[tokio::test]
async fn the_metrics_count_triggers_jobs_provider_calls_and_rate_limits() {
    let mut served = Served::start(4, json!({})).await;
    let alice = served.person(2);
    // Every other Slack answer a 429 with a short wait: retried by the transport.
    served
        .emulator
        .slack()
        .unwrap()
        .set_faults(Faults::none().with_rate_limits(0.5, Duration::from_millis(1)));
    let (status, job) = served
        .post(
            Some(&served.okta.token(&served.endpoint)),
            &Served::email_body(&alice.email),
        )
        .await;
    assert_eq!(status, 204);
    let job = served.finished(&job.unwrap()).await;
    assert_eq!(job["outcome"], "complete", "{job:#}");
    assert_eq!(
        served.post(None, &Served::email_body(&alice.email)).await.0,
        401
    );

    let metrics = served
        .http
        .get(format!("{}/metrics", served.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let value = |line_start: &str| -> f64 {
        metrics
            .lines()
            .find(|l| l.starts_with(line_start))
            .unwrap_or_else(|| panic!("no {line_start} in\n{metrics}"))
            .rsplit(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert_eq!(value("unisession_triggers_received_total "), 2.0);
    assert_eq!(
        value("unisession_triggers_accepted_total{caller=\"okta\"}"),
        1.0
    );
    assert_eq!(
        value("unisession_triggers_rejected_total{reason=\"missing_credential\"}"),
        1.0
    );
    assert_eq!(
        value("unisession_jobs{state=\"finished\",outcome=\"complete\"}"),
        1.0
    );
    assert!(value("unisession_provider_rate_limited_total{provider=\"slack\"}") >= 1.0);
    assert!(value("unisession_provider_calls_total{provider=\"slack\",status=\"429\"}") >= 1.0);
    assert!(value("unisession_provider_calls_total{provider=\"okta\",status=\"2xx\"}") >= 1.0);
    assert_eq!(value("unisession_trigger_to_start_seconds_count "), 1.0);
    assert_eq!(
        value("unisession_pairs_total{provider=\"slack\",outcome=\"revoked\"}"),
        1.0
    );
    // Nothing in the metrics names a person.
    assert!(!metrics.contains(&alice.email));
    served.stop().await;
}
