//! A served endpoint over the emulators, with a fake Okta org calling it.

#![allow(dead_code, unreachable_pub)]

use std::path::Path;
use std::time::Duration;

use secrecy::SecretString;
use serde_json::{Value, json};
use unisession::emulated::{self, EmulatedOptions};
use unisession::emulator::universal_logout::UniversalLogoutCaller;
use unisession::emulator::{Emulator, EmulatorConfig, Person};
use unisession_http::{RetryConfig, Settings, TransportOptions};
use unisession_serve::{Running, ServeConfig, Server};

pub const API_TOKEN: &str = "api-token-0123456789abcdef0123456789abcdef";
pub const BEARER_TOKEN: &str = "bearer-token-0123456789abcdef0123456789abcd";
pub const CLIENT_ID: &str = "0oa1unisession";

pub fn fast() -> EmulatedOptions {
    EmulatedOptions::default()
        .with_time_scale(1000.0)
        .with_retry(
            RetryConfig::default()
                .with_max_retries(3)
                .with_initial_backoff(Duration::from_millis(5))
                .with_max_backoff(Duration::from_millis(20)),
        )
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub struct Served {
    pub emulator: Emulator,
    pub okta: UniversalLogoutCaller,
    pub running: Option<Running>,
    pub endpoint: String,
    pub base: String,
    pub http: reqwest::Client,
    pub dir: tempfile::TempDir,
}

/// The `[serve]` table for `okta` at `port`, with `extra` merged over it.
pub fn table(
    okta: &UniversalLogoutCaller,
    port: u16,
    dir: &Path,
    extra: Value,
) -> serde_json::Map<String, Value> {
    let mut table = json!({
        "listen": format!("127.0.0.1:{port}"),
        "endpoint_url": format!("http://127.0.0.1:{port}/global-token-revocation"),
        "database": dir.join("jobs.db").display().to_string(),
        "workers": 2,
        "poll_millis": 20,
        "retry_seconds": 0.2,
        "never_revoke": ["breakglass@example.com"],
        "callers": {
            "okta": {
                "auth": "okta",
                "issuer": okta.issuer(),
                "client_id": CLIENT_ID,
                "allow_insecure_http": true,
                "jwks_refresh_seconds": 1,
            },
            "hr": {
                "auth": "bearer",
                "domains": ["example.org"],
            },
        },
    });
    // "ISSUER" in `extra` stands for the fake org's issuer.
    let extra: Value = serde_json::from_str(
        &extra
            .to_string()
            .replace("\"ISSUER\"", &format!("{:?}", okta.issuer())),
    )
    .unwrap();
    if let (Value::Object(t), Value::Object(extra)) = (&mut table, extra) {
        for (k, v) in extra {
            t.insert(k, v);
        }
    }
    let Value::Object(table) = table else {
        unreachable!()
    };
    table
}

pub fn config(
    table: serde_json::Map<String, Value>,
    dir: &Path,
) -> Result<ServeConfig, unisession_http::ConfigError> {
    let settings = Settings::new(table, dir, TransportOptions::new())
        .with_secret("api_token", SecretString::from(API_TOKEN))
        .with_secret("token", SecretString::from(BEARER_TOKEN));
    ServeConfig::from_settings(&settings, dir)
}

pub fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

impl Served {
    pub async fn start(users: usize, extra: Value) -> Self {
        let emulator = Emulator::start(EmulatorConfig::new().users(users))
            .await
            .unwrap();
        let okta = UniversalLogoutCaller::start(CLIENT_ID).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let config = config(table(&okta, port, dir.path(), extra), dir.path()).unwrap();
        let fleet = emulated::fleet(&emulator, &fast())
            .unwrap()
            .build()
            .unwrap();
        let running = Server::new(config, fleet).start().await.unwrap();
        Self {
            emulator,
            okta,
            running: Some(running),
            endpoint: format!("http://127.0.0.1:{port}/global-token-revocation"),
            base: format!("http://127.0.0.1:{port}"),
            http: client(),
            dir,
        }
    }

    pub fn person(&self, i: usize) -> Person {
        self.emulator.people()[i].clone()
    }

    /// Posts `body` with `Authorization: Bearer {token}`; the status and the job id.
    pub async fn post(&self, token: Option<&str>, body: &[u8]) -> (u16, Option<String>) {
        let mut request = self
            .http
            .post(&self.endpoint)
            .header("content-type", "application/json")
            .body(body.to_vec());
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let job = response
            .headers()
            .get("unisession-job")
            .map(|v| v.to_str().unwrap().to_owned());
        (response.status().as_u16(), job)
    }

    pub fn email_body(email: &str) -> Vec<u8> {
        json!({"sub_id": {"format": "email", "email": email}})
            .to_string()
            .into_bytes()
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        let mut request = self.http.get(format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// The jobs stored for `email`.
    pub async fn jobs_of(&self, email: &str) -> Vec<Value> {
        let (status, body) = self
            .get(&format!("/jobs?subject={email}"), Some(API_TOKEN))
            .await;
        assert_eq!(status, 200, "{body}");
        body["jobs"].as_array().unwrap().clone()
    }

    /// Waits until job `id` is finished, and returns it.
    pub async fn finished(&self, id: &str) -> Value {
        for _ in 0..600 {
            let (status, job) = self.get(&format!("/jobs/{id}"), Some(API_TOKEN)).await;
            assert_eq!(status, 200, "{job}");
            if job["state"] == "finished" {
                return job;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("job {id} did not finish in 30 s");
    }

    pub async fn stop(&mut self) {
        if let Some(running) = self.running.take() {
            running.shutdown().await.unwrap();
        }
    }
}

/// Live sessions of a person in each provider, read from the emulators' state.
pub fn live(emulator: &Emulator, person: &Person) -> Vec<(&'static str, usize)> {
    vec![
        (
            "docspace",
            emulator
                .docspace()
                .unwrap()
                .active_events_of(&person.docspace_id)
                .len(),
        ),
        (
            "rocketchat",
            emulator
                .rocketchat()
                .unwrap()
                .live_sessions_of(&person.rocketchat_id)
                .len(),
        ),
        (
            "slack",
            emulator
                .slack()
                .unwrap()
                .sessions_of(&person.slack_id)
                .len(),
        ),
        ("okta", {
            let okta = emulator.okta().unwrap();
            okta.user_id_by_email(&person.email)
                .map_or(0, |id| okta.sessions_of(&id).len())
        }),
        ("entra", {
            let entra = emulator.entra().unwrap();
            entra
                .user_id_by_email(&person.email)
                .map_or(0, |id| entra.sessions_of(&id))
        }),
        (
            "google",
            emulator.google().unwrap().sessions_of(&person.email),
        ),
    ]
}
