//! `unisession serve` as a process: its configuration checks, and three replicas on
//! one PostgreSQL queue, one of them killed mid-way.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::BIN;
use futures::StreamExt;
use sqlx::Row;
use unisession::emulator::{Emulator, EmulatorConfig, Faults, ProviderKind};

const GTR_TOKEN: &str = "gtr-test-token-0123456789abcdef0123456789abcdef";

/// The PostgreSQL the test uses: `UNISESSION_TEST_POSTGRES`, or one `.ci/postgres`
/// starts where PostgreSQL is installed and this runs as root. `None` (skipped, said
/// on stderr) elsewhere, unless `UNISESSION_REQUIRE_POSTGRES` is set (CI).
fn postgres_url() -> Option<String> {
    if let Ok(url) = std::env::var("UNISESSION_TEST_POSTGRES") {
        if !url.is_empty() {
            return Some(url);
        }
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.ci/postgres");
    let installed = Command::new("pg_lsclusters").arg("--help").output().is_ok();
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0"));
    if installed && root {
        if let Ok(out) = Command::new("bash").arg(&script).output() {
            if out.status.success() {
                return Some(String::from_utf8_lossy(&out.stdout).trim().to_owned());
            }
        }
    }
    assert!(
        std::env::var_os("UNISESSION_REQUIRE_POSTGRES").is_none(),
        "UNISESSION_REQUIRE_POSTGRES is set but no PostgreSQL could be reached"
    );
    eprintln!(
        "SKIPPED: no PostgreSQL here. Install Debian's postgresql and run as root, or set UNISESSION_TEST_POSTGRES=postgres://…; CI (.ci/run) always runs this test."
    );
    None
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn write_config(dir: &Path, emulator: &Emulator) -> std::path::PathBuf {
    let slack = emulator.slack().unwrap();
    let config = dir.join("unisession.toml");
    std::fs::write(
        &config,
        format!(
            r#"[providers.slack]
kind = "slack"
base_url = "{}"
token_env = "TEST_SLACK_TOKEN"
time_scale = 1000

[serve]
endpoint_url = "http://127.0.0.1:9/global-token-revocation"
workers = 4
lease_seconds = 2
poll_millis = 50

[serve.callers.hr]
auth = "bearer"
token_env = "TEST_GTR_TOKEN"
"#,
            slack.base_url()
        ),
    )
    .unwrap();
    config
}

struct Replica {
    child: Child,
    port: u16,
}

/// A test that fails must not leave its servers running: they would go on taking
/// jobs from the shared test database in the next run.
impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(config: &Path, database: &str, slack_token: &str, log: &Path) -> Replica {
    let port = free_port();
    let audit = log.with_extension("audit.jsonl");
    let log = std::fs::File::create(log).unwrap();
    let child = Command::new(BIN)
        .arg("--config")
        .arg(config)
        .arg("--audit")
        .arg(audit)
        .args([
            "serve",
            "--log-json",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .env("UNISESSION_DATABASE", database)
        .env("TEST_SLACK_TOKEN", slack_token)
        .env("TEST_GTR_TOKEN", GTR_TOKEN)
        .env("RUST_LOG", "info")
        .env_remove("UNISESSION_CONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    Replica { child, port }
}

async fn count(pool: &sqlx::AnyPool, sql: &str) -> i64 {
    sqlx::query(sql)
        .fetch_one(pool)
        .await
        .unwrap()
        .get::<i64, _>(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_on_one_postgres_finish_every_job_exactly_once_when_one_is_killed() {
    let Some(url) = postgres_url() else { return };
    const JOBS: usize = 1000;
    let emulator = Emulator::start(
        EmulatorConfig::new()
            .only(ProviderKind::Slack)
            .users(JOBS + 1)
            .sessions_per_user(1)
            .log_capacity(100),
    )
    .await
    .unwrap();
    // Each call takes a little while, so that jobs are in flight when a replica dies.
    let slack = emulator.slack().unwrap();
    slack.set_faults(Faults::none().with_latency(Duration::from_millis(15)));
    sqlx::any::install_default_drivers();
    let pool = sqlx::any::AnyPoolOptions::new()
        .max_connections(2)
        .connect(&url)
        .await
        .unwrap();
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
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &emulator);
    let token = slack.tokens().admin.clone();
    let mut replicas: Vec<Replica> = (0..3)
        .map(|i| {
            spawn(
                &config,
                &url,
                &token,
                &dir.path().join(format!("replica{i}.log")),
            )
        })
        .collect();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::new();
    for replica in &replicas {
        let started = Instant::now();
        loop {
            let health = http
                .get(format!("http://127.0.0.1:{}/healthz", replica.port))
                .send()
                .await;
            if health.is_ok_and(|r| r.status() == 200) {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "a replica did not start: {}",
                std::fs::read_to_string(dir.path().join("replica0.log")).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    // 1,000 triggers, spread over the replicas.
    let people: Vec<String> = emulator.people()[1..=JOBS]
        .iter()
        .map(|p| p.email.clone())
        .collect();
    let ports: Vec<u16> = replicas.iter().map(|r| r.port).collect();
    let statuses: Vec<u16> = futures::stream::iter(people.iter().enumerate())
        .map(|(i, email)| {
            let http = http.clone();
            let port = ports[i % ports.len()];
            async move {
                http.post(format!("http://127.0.0.1:{port}/global-token-revocation"))
                    .bearer_auth(GTR_TOKEN)
                    .header("content-type", "application/json")
                    .body(format!(
                        r#"{{"sub_id":{{"format":"email","email":"{email}"}}}}"#
                    ))
                    .send()
                    .await
                    .map_or(0, |r| r.status().as_u16())
            }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    assert!(
        statuses.iter().all(|s| *s == 204),
        "not every trigger was accepted: {:?}",
        statuses
            .iter()
            .filter(|s| **s != 204)
            .take(5)
            .collect::<Vec<_>>()
    );

    // Kill replica 0 mid-way (a third of the jobs done), while it holds jobs.
    let victim = replicas[0].child.id();
    let started = Instant::now();
    loop {
        let finished = count(
            &pool,
            "SELECT COUNT(*) FROM unisession_jobs WHERE state = 'finished'",
        )
        .await;
        let held = if finished < JOBS as i64 / 3 {
            0
        } else {
            count(
            &pool,
            &format!("SELECT COUNT(*) FROM unisession_jobs WHERE state = 'running' AND lease_owner LIKE '{victim}-%'"),
        )
        .await
        };
        if held > 0 {
            replicas[0].child.kill().unwrap();
            let _ = replicas[0].child.wait();
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "replica 0 never held a job"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // The jobs the dead replica held: still leased to it (the others wait for the
    // lease, 2 s, to expire before they take one over).
    let orphaned: Vec<String> = sqlx::query(&format!(
        "SELECT id FROM unisession_jobs WHERE state = 'running' AND lease_owner LIKE '{victim}-%'"
    ))
    .fetch_all(&pool)
    .await
    .unwrap()
    .iter()
    .map(|row| row.get::<String, _>("id"))
    .collect();
    let held = orphaned.len() as i64;
    assert!(
        held > 0,
        "replica 0 finished everything it held before it died"
    );
    let finished_at_kill = count(
        &pool,
        "SELECT COUNT(*) FROM unisession_jobs WHERE state = 'finished'",
    )
    .await;
    assert!(
        finished_at_kill < JOBS as i64,
        "every job had finished before the kill"
    );

    // The others take its jobs over once their leases expire.
    let started = Instant::now();
    loop {
        let finished = count(
            &pool,
            "SELECT COUNT(*) FROM unisession_jobs WHERE state = 'finished'",
        )
        .await;
        if finished == JOBS as i64 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(240),
            "{finished} of {JOBS} jobs finished after 240 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        count(&pool, "SELECT COUNT(*) FROM unisession_jobs").await,
        JOBS as i64
    );
    assert_eq!(
        count(
            &pool,
            "SELECT COUNT(*) FROM unisession_jobs WHERE finishes <> 1"
        )
        .await,
        0,
        "a job was finished twice (or never)"
    );
    assert_eq!(
        count(
            &pool,
            "SELECT COUNT(*) FROM unisession_jobs WHERE outcome <> 'complete'"
        )
        .await,
        0
    );
    assert_eq!(
        count(&pool, "SELECT COUNT(*) FROM (SELECT job_id FROM unisession_pairs WHERE done = 1 GROUP BY job_id HAVING COUNT(*) <> 1) AS twice").await,
        0,
        "a provider's part of a job was recorded done twice"
    );
    assert_eq!(
        count(
            &pool,
            "SELECT COUNT(DISTINCT job_id) FROM unisession_pairs WHERE done = 1"
        )
        .await,
        JOBS as i64
    );
    let taken_over = count(
        &pool,
        "SELECT COUNT(*) FROM unisession_jobs WHERE attempts >= 2",
    )
    .await;
    for id in &orphaned {
        let row =
            sqlx::query("SELECT state, attempts, finishes FROM unisession_jobs WHERE id = $1")
                .bind(id)
                .fetch_one(&pool)
                .await
                .unwrap();
        assert_eq!(row.get::<String, _>("state"), "finished");
        assert!(
            row.get::<i64, _>("attempts") >= 2,
            "job {id} of the dead replica was not taken over"
        );
        assert_eq!(row.get::<i64, _>("finishes"), 1);
    }
    for person in &emulator.people()[1..=JOBS] {
        assert!(
            slack.sessions_of(&person.slack_id).is_empty(),
            "{} still has a session",
            person.email
        );
    }
    eprintln!(
        "{JOBS} jobs on 3 replicas; replica 0 killed holding {held} with {finished_at_kill} finished; {taken_over} jobs ran twice, each finished once"
    );

    // The survivors stop cleanly on SIGTERM.
    for replica in &mut replicas[1..] {
        let _ = Command::new("kill")
            .args(["-TERM", &replica.child.id().to_string()])
            .status();
        let status = replica.child.wait().unwrap();
        assert!(status.success(), "a replica did not stop cleanly: {status}");
    }
    pool.close().await;
}

#[tokio::test]
async fn serve_refuses_configurations_that_would_be_unsafe() {
    let dir = tempfile::tempdir().unwrap();
    let base = "[providers.slack]\nkind = \"slack\"\nbase_url = \"https://slack.com/api\"\ntoken_env = \"TEST_SLACK_TOKEN\"\n\n";
    let cases = [
        (
            "[serve]\nendpoint_url = \"https://u.example/gtr\"\nlisten = \"0.0.0.0:8080\"\n[serve.callers.hr]\nauth = \"bearer\"\ntoken_env = \"TEST_GTR_TOKEN\"\n",
            "serve.listen",
            "not a loopback address",
        ),
        (
            "[serve]\nendpoint_url = \"http://u.example/gtr\"\n[serve.callers.hr]\nauth = \"bearer\"\ntoken_env = \"TEST_GTR_TOKEN\"\n",
            "serve.endpoint_url",
            "https",
        ),
        (
            "[serve]\nendpoint_url = \"https://u.example/gtr\"\n",
            "serve.callers",
            "no caller",
        ),
        (
            "[serve]\nendpoint_url = \"https://u.example/gtr\"\n[serve.callers.hr]\nauth = \"bearer\"\ntoken = \"inline-secret-0123456789abcdef0123456789\"\n",
            "serve.callers.hr.token",
            "never written",
        ),
        (
            "[serve]\nendpoint_url = \"https://u.example/gtr\"\ndatabase = \"postgres://u:hunter2@db/x\"\n[serve.callers.hr]\nauth = \"bearer\"\ntoken_env = \"TEST_GTR_TOKEN\"\n",
            "serve.database",
            "password",
        ),
        (
            "[serve]\nendpoint_url = \"https://u.example/gtr\"\n[serve.callers.okta]\nauth = \"okta\"\nissuer = \"http://example.okta.com\"\nclient_id = \"0oa1\"\n",
            "serve.callers.okta.issuer",
            "https",
        ),
        (
            "[serve]\nendpoint_url = \"https://u.example/gtr\"\n[serve.callers.okta]\nauth = \"okta\"\nissuer = \"https://example.okta.com\"\nclient_id = \"0oa1\"\nalgorithms = [\"HS256\"]\n",
            "serve.callers.okta.algorithms",
            "asymmetric",
        ),
        (
            "[serve]\nendpoint_url = \"https://u.example/gtr\"\nclock_skew_seconds = 3600\n[serve.callers.hr]\nauth = \"bearer\"\ntoken_env = \"TEST_GTR_TOKEN\"\n",
            "serve.clock_skew_seconds",
            "at most 300",
        ),
        (
            "[serve]\nendpoint_url = \"https://u.example/gtr\"\nlisten_on = \"127.0.0.1:1\"\n[serve.callers.hr]\nauth = \"bearer\"\ntoken_env = \"TEST_GTR_TOKEN\"\n",
            "listen_on",
            "unknown setting",
        ),
        (
            "[serve]\nendpoint_url = \"https://u.example/gtr\"\n[serve.callers.hr]\nauth = \"bearer\"\ntoken_env = \"TEST_SHORT_TOKEN\"\n",
            "serve.callers.hr.token_env",
            "shorter than 32",
        ),
        (
            "[serve]\nendpoint_url = \"https://u.example/gtr\"\n[serve.transmitters.idp]\nissuer = \"https://idp.example\"\ndelivery = \"push\"\npush_url = \"https://u.example/ssf\"\nauthorization_header_env = \"TEST_GTR_TOKEN\"\n[serve.transmitters.idp.events]\naccount-disabled = [\"nope\"]\n",
            "serve.transmitters.idp.events.account-disabled",
            "no provider named",
        ),
        (
            "[serve]\nendpoint_url = \"https://u.example/gtr\"\n[serve.transmitters.idp]\nissuer = \"https://idp.example\"\ndelivery = \"push\"\npush_url = \"https://u.example/ssf\"\nauthorization_header = \"Bearer inline-secret-0123456789abcdef0123456789\"\n",
            "serve.transmitters.idp.authorization_header",
            "never written",
        ),
        (
            "[serve]\nendpoint_url = \"https://u.example/gtr\"\n[serve.transmitters.idp]\nissuer = \"http://idp.example\"\ndelivery = \"push\"\npush_url = \"https://u.example/ssf\"\nauthorization_header_env = \"TEST_GTR_TOKEN\"\n",
            "serve.transmitters.idp.issuer",
            "https",
        ),
        (
            "[serve]\nendpoint_url = \"https://u.example/gtr\"\n[serve.transmitters.idp]\nissuer = \"https://idp.example\"\ndelivery = \"push\"\npush_url = \"https://u.example/ssf\"\n",
            "serve.transmitters.idp.authorization_header_env",
            "missing",
        ),
        (
            "[serve]\nendpoint_url = \"https://u.example/gtr\"\n[serve.transmitters.idp]\nissuer = \"https://idp.example\"\ndelivery = \"push\"\npush_url = \"https://u.example/ssf\"\nauthorization_header_env = \"TEST_GTR_TOKEN\"\n[serve.transmitters.idp.events]\nsession-ended = \"all\"\n",
            "serve.transmitters.idp.events.session-ended",
            "not an event type",
        ),
    ];
    for (i, (serve, key, needle)) in cases.iter().enumerate() {
        let config = dir.path().join(format!("c{i}.toml"));
        std::fs::write(&config, format!("{base}{serve}")).unwrap();
        let run = common::run({
            let mut c = Command::new(BIN);
            c.arg("--config")
                .arg(&config)
                .arg("serve")
                .env("TEST_SLACK_TOKEN", "xoxp-test")
                .env("TEST_GTR_TOKEN", GTR_TOKEN)
                .env("TEST_SHORT_TOKEN", "short")
                .env_remove("UNISESSION_CONFIG")
                .env_remove("UNISESSION_DATABASE")
                .stdin(Stdio::null());
            c
        })
        .await;
        assert_eq!(run.code, 2, "{serve}: {}", run.stderr);
        assert!(
            run.stderr.contains(key) && run.stderr.contains(needle),
            "{serve}: {}",
            run.stderr
        );
        assert!(
            !run.stderr.contains("hunter2") && !run.stderr.contains("inline-secret"),
            "{}",
            run.stderr
        );
        assert_eq!(run.stderr.trim().lines().count(), 1, "{}", run.stderr);
    }
}

#[tokio::test]
async fn serve_logs_json_lines_that_hold_no_secret_and_stops_on_sigterm() {
    let emulator = Emulator::start(EmulatorConfig::new().only(ProviderKind::Slack).users(4))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &emulator);
    let slack_token = emulator.slack().unwrap().tokens().admin.clone();
    let log = dir.path().join("serve.log");
    let database = dir.path().join("jobs.db").display().to_string();
    let mut replica = spawn(&config, &database, &slack_token, &log);
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{}", replica.port);
    let started = Instant::now();
    while !http
        .get(format!("{url}/healthz"))
        .send()
        .await
        .is_ok_and(|r| r.status() == 200)
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "serve did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let email = emulator.people()[2].email.clone();
    let body = format!(r#"{{"sub_id":{{"format":"email","email":"{email}"}}}}"#);
    let accepted = http
        .post(format!("{url}/global-token-revocation"))
        .bearer_auth(GTR_TOKEN)
        .header("content-type", "application/json")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), 204);
    let job_id = accepted.headers()["unisession-job"]
        .to_str()
        .unwrap()
        .to_owned();
    let forged = format!("{GTR_TOKEN}x");
    let refused = http
        .post(format!("{url}/global-token-revocation"))
        .bearer_auth(&forged)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let slack = emulator.slack().unwrap();
    let started = Instant::now();
    while !slack.sessions_of(&emulator.people()[2].slack_id).is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the job did not run"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = Command::new("kill")
        .args(["-TERM", &replica.child.id().to_string()])
        .status();
    assert!(replica.child.wait().unwrap().success());
    let text = std::fs::read_to_string(&log).unwrap();
    let mut messages = Vec::new();
    for line in text.lines().filter(|l| l.starts_with('{')) {
        let event: serde_json::Value = serde_json::from_str(line).unwrap();
        messages.push(
            event["fields"]["message"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
    }
    assert!(
        messages.iter().any(|m| m == "revocation accepted"),
        "{text}"
    );
    assert!(
        messages.iter().any(|m| m == "revocation request refused"),
        "{text}"
    );
    let audit = std::fs::read_to_string(dir.path().join("serve.audit.jsonl")).unwrap();
    assert!(
        audit.lines().count() >= 2,
        "the audit trail has the job's actions:\n{audit}"
    );
    assert!(audit.contains("revoke_user_sessions"), "{audit}");
    for secret in [GTR_TOKEN, forged.as_str(), slack_token.as_str()] {
        assert!(!text.contains(secret), "a secret is in the log:\n{text}");
        assert!(!audit.contains(secret), "a secret is in the audit trail");
    }

    // The job's evidence, from the queue and the audit trail, once it has finished.
    let page = dir.path().join("job-evidence.html");
    let mut command = Command::new(BIN);
    command
        .arg("--config")
        .arg(&config)
        .arg("--audit")
        .arg(dir.path().join("serve.audit.jsonl"))
        .args([
            "serve",
            "--database",
            &database,
            "evidence",
            &job_id,
            "--evidence",
        ])
        .arg(&page)
        .env("TEST_SLACK_TOKEN", &slack_token)
        .env("TEST_GTR_TOKEN", GTR_TOKEN)
        .env_remove("UNISESSION_CONFIG")
        .env_remove("UNISESSION_DATABASE")
        .stdin(Stdio::null());
    let run = common::run(command).await;
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let html = std::fs::read_to_string(&page).unwrap();
    let twin = std::fs::read_to_string(page.with_extension("json")).unwrap();
    assert!(
        html.contains(&email.to_lowercase()) && html.contains(&job_id),
        "the page names the person and the job"
    );
    let twin: serde_json::Value = serde_json::from_str(&twin).unwrap();
    let text = twin.to_string();
    assert!(
        text.contains("revoked") && text.contains("sha256"),
        "{text}"
    );
    assert!(!text.contains(GTR_TOKEN) && !text.contains(&slack_token));
    // A job that does not exist is a clear error.
    let mut missing = Command::new(BIN);
    missing
        .arg("--config")
        .arg(&config)
        .arg("--audit")
        .arg(dir.path().join("serve.audit.jsonl"))
        .args([
            "serve",
            "--database",
            &database,
            "evidence",
            "nope",
            "--evidence",
        ])
        .arg(dir.path().join("x.html"))
        .env("TEST_SLACK_TOKEN", &slack_token)
        .env("TEST_GTR_TOKEN", GTR_TOKEN)
        .env_remove("UNISESSION_CONFIG")
        .env_remove("UNISESSION_DATABASE")
        .stdin(Stdio::null());
    let run = common::run(missing).await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("no job"), "{}", run.stderr);
}

#[tokio::test]
async fn the_deploy_example_configuration_starts() {
    let dir = tempfile::tempdir().unwrap();
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/unisession.toml");
    let port = free_port();
    let child = Command::new(BIN)
        .arg("--config")
        .arg(&config)
        .arg("--audit")
        .arg(dir.path().join("audit.jsonl"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--database")
        .arg(dir.path().join("jobs.db"))
        .env("OKTA_API_TOKEN", "okta-api-token-for-the-test")
        .env("SLACK_ADMIN_TOKEN", "xoxp-for-the-test")
        .env("UNISESSION_API_TOKEN", "api-token-for-the-test")
        .env_remove("UNISESSION_CONFIG")
        .env_remove("UNISESSION_DATABASE")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut replica = Replica { child, port };
    let child = &mut replica.child;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::new();
    let started = Instant::now();
    loop {
        if let Ok(r) = http
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .await
        {
            assert_eq!(r.status(), 200);
            break;
        }
        if let Ok(Some(status)) = child.try_wait() {
            let mut err = String::new();
            std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
            panic!("serve exited ({status}): {err}");
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "serve did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let unauthenticated = http
        .post(format!("http://127.0.0.1:{port}/global-token-revocation"))
        .header("content-type", "application/json")
        .body(r#"{"sub_id":{"format":"email","email":"ann@example.com"}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(unauthenticated.status(), 401);
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    assert!(child.wait().unwrap().success());
}

#[tokio::test]
async fn serve_streams_creates_the_stream_at_the_transmitter_and_shows_it() {
    use unisession::emulator::ssf::{self as tx, SsfTransmitter};
    let transmitter = SsfTransmitter::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("unisession.toml");
    std::fs::write(
        &config,
        format!(
            r#"[providers.slack]
kind = "slack"
base_url = "https://slack.com/api"
token_env = "TEST_SLACK_TOKEN"

[serve]
endpoint_url = "https://unisession.example.com/global-token-revocation"
database = "jobs.db"

[serve.transmitters.idp]
issuer = "{issuer}"
allow_insecure_http = true
delivery = "push"
push_url = "https://unisession.example.com/ssf/idp"
authorization_header_env = "TEST_PUSH_SECRET"
token_url = "{token_url}"
client_id = "{client_id}"
client_secret_env = "TEST_CLIENT_SECRET"
"#,
            issuer = transmitter.issuer(),
            token_url = transmitter.token_url(),
            client_id = tx::CLIENT_ID,
        ),
    )
    .unwrap();
    let push_secret = "Bearer push-secret-for-the-cli-test-0123456789";
    let mut command = Command::new(BIN);
    command
        .arg("--config")
        .arg(&config)
        .args(["--format", "json", "serve", "streams"])
        .env("TEST_SLACK_TOKEN", "xoxp-test")
        .env("TEST_PUSH_SECRET", push_secret)
        .env("TEST_CLIENT_SECRET", tx::CLIENT_SECRET)
        .env_remove("UNISESSION_CONFIG")
        .env_remove("UNISESSION_DATABASE")
        .stdin(Stdio::null());
    let run = common::run(command).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc = run.json();
    assert_eq!(doc["command"], "serve streams");
    let stream = &doc["streams"][0]["stream"];
    let at_transmitter = &transmitter.streams()[0];
    assert_eq!(stream["stream_id"], at_transmitter["stream_id"]);
    assert_eq!(stream["status"], "enabled");
    assert!(stream["verify_requested_at_ms"].is_i64());
    assert_eq!(
        at_transmitter["delivery"]["endpoint_url"],
        "https://unisession.example.com/ssf/idp"
    );
    assert_eq!(
        at_transmitter["delivery"]["authorization_header"],
        push_secret
    );
    // The secrets stay out of what is printed.
    assert!(!run.stdout.contains(tx::CLIENT_SECRET) && !run.stderr.contains(tx::CLIENT_SECRET));
    assert!(!run.stdout.contains(push_secret), "{}", run.stdout);
    // A second run updates the same stream instead of creating another.
    let mut again = Command::new(BIN);
    again
        .arg("--config")
        .arg(&config)
        .args(["serve", "streams"])
        .env("TEST_SLACK_TOKEN", "xoxp-test")
        .env("TEST_PUSH_SECRET", push_secret)
        .env("TEST_CLIENT_SECRET", tx::CLIENT_SECRET)
        .env_remove("UNISESSION_CONFIG")
        .env_remove("UNISESSION_DATABASE")
        .env("COLUMNS", "120")
        .stdin(Stdio::null());
    let run = common::run(again).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(transmitter.streams().len(), 1);
    assert!(
        run.stdout.contains("TRANSMITTER") && run.stdout.contains("push"),
        "{}",
        run.stdout
    );
}
