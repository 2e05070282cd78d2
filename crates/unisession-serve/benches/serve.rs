//! `unisession serve` under load, against the Slack emulator (in this process).
//!
//! For each queue (SQLite file; PostgreSQL when one is reachable, as in the tests):
//!
//! - **accepted/s**: `--triggers` Global Token Revocation requests posted by
//!   `--concurrency` clients at once with a static bearer token, and a quarter as many
//!   signed like Okta (RS256, verified against the fake org's JWKS), each answered 204
//!   only once its job is committed, then half as many SSF `session-revoked` SETs
//!   pushed by a transmitter (RS256, answered 202 once stored); the workers run the
//!   jobs meanwhile.
//! - **receipt → start**: at a steady `--rate` triggers/s (the queue otherwise idle),
//!   the time from receipt to the job's claim, after which the worker's first
//!   provider call follows in the same task after one read of the job's records:
//!   p50 and p99.
//!
//! `cargo bench -p unisession-serve --bench serve [-- --triggers 2000 --concurrency 32 --rate 50]`

use std::time::{Duration, Instant};

use futures::StreamExt;
use secrecy::SecretString;
use serde_json::{Value, json};
use sqlx::Row;
use unisession::emulated::{self, EmulatedOptions};
use unisession::emulator::ssf::SsfTransmitter;
use unisession::emulator::universal_logout::UniversalLogoutCaller;
use unisession::emulator::{Emulator, EmulatorConfig, ProviderKind};
use unisession_http::{RetryConfig, Settings, TransportOptions};
use unisession_serve::{ServeConfig, Server};

const TOKEN: &str = "bench-token-0123456789abcdef0123456789abcdef";
const PUSH_SECRET: &str = "Bearer bench-push-secret-0123456789abcdef0123";

fn arg<T: std::str::FromStr>(name: &str, default: T) -> T {
    let flag = format!("--{name}");
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| *a == flag)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn machine() -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_default();
    json!({"cpu": cpu, "cores": std::thread::available_parallelism().map_or(0, |n| n.get())})
}

fn postgres() -> Option<String> {
    if let Ok(url) = std::env::var("UNISESSION_TEST_POSTGRES") {
        return Some(url);
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../.ci/postgres");
    std::process::Command::new("pg_lsclusters")
        .arg("--help")
        .output()
        .ok()?;
    let out = std::process::Command::new("bash")
        .arg(script)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

async fn run(
    queue: &str,
    database: String,
    triggers: usize,
    concurrency: usize,
    rate: f64,
) -> Value {
    let steady = (rate * 4.0) as usize;
    let jwt = triggers / 4;
    let sets = triggers / 2;
    let people = triggers + jwt + sets + steady;
    let emulator = Emulator::start(
        EmulatorConfig::new()
            .only(ProviderKind::Slack)
            .users(people + 1)
            .sessions_per_user(1)
            .log_capacity(100),
    )
    .await
    .unwrap();
    let okta = UniversalLogoutCaller::start("0oa-bench").await.unwrap();
    let transmitter = SsfTransmitter::start().await.unwrap();
    if database.starts_with("postgres") {
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(&database).await.unwrap();
        for table in [
            "unisession_pairs",
            "unisession_jobs",
            "unisession_replay",
            "unisession_events",
            "unisession_streams",
        ] {
            sqlx::query(&format!("DROP TABLE IF EXISTS {table}"))
                .execute(&pool)
                .await
                .unwrap();
        }
        pool.close().await;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let endpoint = format!("http://127.0.0.1:{port}/global-token-revocation");
    let dir = tempfile::tempdir().unwrap();
    // A PostgreSQL URL holds a password: handed over as a secret, as `database_env` would.
    let (key, value) = if database.starts_with("postgres") {
        ("database_env", "UNISESSION_TEST_POSTGRES".to_owned())
    } else {
        ("database", database.clone())
    };
    let table = json!({
        "listen": format!("127.0.0.1:{port}"),
        "endpoint_url": endpoint,
        key: value,
        "workers": 8,
        "poll_millis": 20,
        "callers": {
            "hr": {"auth": "bearer"},
            "okta": {"auth": "okta", "issuer": okta.issuer(), "client_id": "0oa-bench", "allow_insecure_http": true},
        },
        "transmitters": {
            "idp": {"issuer": transmitter.issuer(), "allow_insecure_http": true, "delivery": "push", "push_url": format!("http://127.0.0.1:{port}/ssf/idp")},
        },
    });
    let Value::Object(table) = table else {
        unreachable!()
    };
    let settings = Settings::new(table, dir.path(), TransportOptions::new())
        .with_secret("token", SecretString::from(TOKEN))
        .with_secret("database", SecretString::from(database.clone()))
        .with_secret("authorization_header", SecretString::from(PUSH_SECRET));
    let config = ServeConfig::from_settings(&settings, dir.path()).unwrap();
    let options = EmulatedOptions::default()
        .with_time_scale(1000.0)
        .with_retry(
            RetryConfig::default()
                .with_initial_backoff(Duration::from_millis(5))
                .with_max_backoff(Duration::from_millis(50)),
        );
    let fleet = emulated::fleet(&emulator, &options)
        .unwrap()
        .build()
        .unwrap();
    let running = Server::new(config, fleet).start().await.unwrap();
    let http = reqwest::Client::new();
    let emails: Vec<String> = emulator.people()[1..=people]
        .iter()
        .map(|p| p.email.clone())
        .collect();
    let post = |email: String, token: String| {
        let http = http.clone();
        let endpoint = endpoint.clone();
        async move {
            http.post(&endpoint)
                .bearer_auth(token)
                .header("content-type", "application/json")
                .body(format!(
                    r#"{{"sub_id":{{"format":"email","email":"{email}"}}}}"#
                ))
                .send()
                .await
                .map_or(0, |r| r.status().as_u16())
        }
    };

    // Burst, static bearer token.
    let started = Instant::now();
    let statuses: Vec<u16> = futures::stream::iter(emails[..triggers].iter().cloned())
        .map(|email| post(email, TOKEN.to_owned()))
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let bearer_elapsed = started.elapsed();
    assert!(statuses.iter().all(|s| *s == 204));
    // Burst, signed like Okta (the tokens are made beforehand: the caller's cost is not the server's).
    let signed: Vec<(String, String)> = emails[triggers..triggers + jwt]
        .iter()
        .map(|e| (e.clone(), okta.token(&endpoint)))
        .collect();
    let started = Instant::now();
    let statuses: Vec<u16> = futures::stream::iter(signed)
        .map(|(email, token)| post(email, token))
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let jwt_elapsed = started.elapsed();
    assert!(
        statuses.iter().all(|s| *s == 204),
        "{:?}",
        statuses.iter().find(|s| **s != 204)
    );

    // Burst, SETs pushed by an SSF transmitter (signed beforehand).
    let push_url = format!("http://127.0.0.1:{port}/ssf/idp");
    let signed: Vec<String> = emails[triggers + jwt..triggers + jwt + sets]
        .iter()
        .map(|e| {
            transmitter.sign(&transmitter.claims(
                &push_url,
                unisession::emulator::ssf::SESSION_REVOKED,
                json!({}),
                json!({"format": "email", "email": e}),
            ))
        })
        .collect();
    let started = Instant::now();
    let statuses: Vec<u16> = futures::stream::iter(signed)
        .map(|set| {
            let http = http.clone();
            let push_url = push_url.clone();
            async move {
                http.post(&push_url)
                    .header("authorization", PUSH_SECRET)
                    .header("content-type", "application/secevent+jwt")
                    .body(set)
                    .send()
                    .await
                    .map_or(0, |r| r.status().as_u16())
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let set_elapsed = started.elapsed();
    assert!(
        statuses.iter().all(|s| *s == 202),
        "{:?}",
        statuses.iter().find(|s| **s != 202)
    );

    // Wait for the backlog, then trigger at a steady rate.
    let jobs_url = format!("http://127.0.0.1:{port}/metrics");
    let finished = || async {
        let text = http
            .get(&jobs_url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .filter(|l| l.starts_with("unisession_jobs{state=\"finished\""))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>() as usize
    };
    let drain = Instant::now();
    while finished().await < triggers + jwt + sets {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let drained = drain.elapsed();
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    let mut pending = Vec::new();
    for email in &emails[triggers + jwt + sets..] {
        ticker.tick().await;
        pending.push(tokio::spawn(post(email.clone(), TOKEN.to_owned())));
    }
    for p in pending {
        assert_eq!(p.await.unwrap(), 204);
    }
    while finished().await < people {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    running.shutdown().await.unwrap();

    // Receipt → start of the steady-rate jobs, read from the queue itself.
    sqlx::any::install_default_drivers();
    let url = if database.starts_with("postgres") {
        database.clone()
    } else {
        format!("sqlite://{database}")
    };
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    let rows = sqlx::query("SELECT received_at, started_at, finished_at, outcome FROM unisession_jobs ORDER BY received_at")
        .fetch_all(&pool)
        .await
        .unwrap();
    let complete = rows
        .iter()
        .filter(|r| r.get::<Option<String>, _>("outcome").as_deref() == Some("complete"))
        .count();
    let mut starts: Vec<f64> = rows[triggers + jwt + sets..]
        .iter()
        .map(|r| (r.get::<i64, _>("started_at") - r.get::<i64, _>("received_at")) as f64)
        .collect();
    starts.sort_by(f64::total_cmp);
    let mut runs: Vec<f64> = rows
        .iter()
        .map(|r| {
            (r.get::<Option<i64>, _>("finished_at").unwrap_or(0) - r.get::<i64, _>("started_at"))
                as f64
        })
        .collect();
    runs.sort_by(f64::total_cmp);
    pool.close().await;
    json!({
        "queue": queue,
        "accepted_per_s_bearer": (triggers as f64 / bearer_elapsed.as_secs_f64()).round(),
        "accepted_per_s_okta_jwt": (jwt as f64 / jwt_elapsed.as_secs_f64()).round(),
        "accepted_per_s_ssf_set": (sets as f64 / set_elapsed.as_secs_f64()).round(),
        "backlog_jobs": triggers + jwt + sets,
        "backlog_drained_s": (drained.as_secs_f64() * 10.0).round() / 10.0,
        "steady_rate_per_s": rate,
        "receipt_to_start_ms_p50": quantile(&starts, 0.5),
        "receipt_to_start_ms_p99": quantile(&starts, 0.99),
        "job_run_ms_p50": quantile(&runs, 0.5),
        "jobs_complete": complete,
        "jobs": rows.len(),
    })
}

fn main() {
    let triggers: usize = arg("triggers", 2000);
    let concurrency: usize = arg("concurrency", 32);
    let rate: f64 = arg("rate", 50.0);
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    println!(
        "{}",
        json!({"bench": "serve", "machine": machine(), "command": "cargo bench -p unisession-serve --bench serve", "triggers": triggers, "concurrency": concurrency})
    );
    let dir = tempfile::tempdir().unwrap();
    let sqlite = dir.path().join("jobs.db").display().to_string();
    println!(
        "{}",
        runtime.block_on(run("sqlite", sqlite, triggers, concurrency, rate))
    );
    match postgres() {
        Some(url) => println!(
            "{}",
            runtime.block_on(run("postgres", url, triggers, concurrency, rate))
        ),
        None => println!(
            "{}",
            json!({"queue": "postgres", "skipped": "no PostgreSQL reachable (set UNISESSION_TEST_POSTGRES or run as root with Debian's postgresql installed)"})
        ),
    }
}
