//! The Shared Signals Framework, end to end on this machine: a fake transmitter (its
//! RSA key generated at start; discovery, JWKS, stream management and push on
//! loopback) and `unisession serve`'s receiver over the emulated providers. The
//! receiver creates its push stream and has it verified, then the transmitter pushes
//! a signed CAEP `session-revoked` SET; the example prints the job's report.
//!
//! `cargo run --example ssf_push --features emulator`

use std::time::Duration;

use secrecy::SecretString;
use serde_json::{Value, json};
use unisession::emulated::{self, EmulatedOptions};
use unisession::emulator::ssf::{self as tx, SsfTransmitter};
use unisession::emulator::{Emulator, EmulatorConfig};
use unisession::http::{Settings, TransportOptions};
use unisession_serve::{ServeConfig, Server};

async fn get(
    http: &reqwest::Client,
    url: &str,
    token: &str,
) -> Result<Value, Box<dyn std::error::Error>> {
    let text = http
        .get(url)
        .bearer_auth(token)
        .send()
        .await?
        .text()
        .await?;
    Ok(serde_json::from_str(&text)?)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let emulator = Emulator::start(EmulatorConfig::new().users(4)).await?;
    let transmitter = SsfTransmitter::start().await?;
    let person = emulator.people()[2].clone();
    let dir = tempfile::tempdir()?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let push_url = format!("{base}/ssf/idp");
    let api_token = format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..));
    let push_secret = format!(
        "Bearer {:016x}{:016x}",
        fastrand::u64(..),
        fastrand::u64(..)
    );

    // What `[serve]` in unisession.toml would hold; the secrets, named there by
    // *_env keys, are handed over in memory here.
    let table = json!({
        "listen": format!("127.0.0.1:{port}"),
        "endpoint_url": format!("{base}/global-token-revocation"),
        "database": dir.path().join("jobs.db").display().to_string(),
        "transmitters": {
            "idp": {
                "issuer": transmitter.issuer(),
                "allow_insecure_http": true,
                "delivery": "push",
                "push_url": push_url,
                "token_url": transmitter.token_url(),
                "client_id": tx::CLIENT_ID,
                "events": {"session-revoked": "all", "credential-change": "record"},
            },
        },
    });
    let Value::Object(table) = table else {
        unreachable!("an object")
    };
    let settings = Settings::new(table, dir.path(), TransportOptions::new())
        .with_secret("api_token", SecretString::from(api_token.clone()))
        .with_secret("authorization_header", SecretString::from(push_secret))
        .with_secret("client_secret", SecretString::from(tx::CLIENT_SECRET));
    let config = ServeConfig::from_settings(&settings, dir.path())?;
    let fleet = emulated::fleet(
        &emulator,
        &EmulatedOptions::default().with_time_scale(1000.0),
    )?
    .build()?;
    let running = Server::new(config, fleet).start().await?;
    println!("unisession serve: SSF push endpoint {push_url}, over the six emulated providers");
    println!("transmitter (fake): {}\n", transmitter.issuer());

    let http = reqwest::Client::new();
    let stream = loop {
        let streams = get(&http, &format!("{base}/streams"), &api_token).await?;
        let stream = streams["streams"][0]["stream"].clone();
        if stream["verified_at_ms"].is_i64() {
            break stream;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    println!(
        "stream {} created at the transmitter (push, {} event types), status {}, verified",
        stream["stream_id"].as_str().unwrap_or(""),
        stream["config"]["events_delivered"]
            .as_array()
            .map_or(0, Vec::len),
        stream["status"].as_str().unwrap_or("")
    );

    let claims = transmitter.claims(
        &push_url,
        tx::SESSION_REVOKED,
        json!({"initiating_entity": "admin", "reason_admin": {"en": "Account compromised"}}),
        json!({"format": "email", "email": person.email}),
    );
    println!(
        "\nPOST {push_url}\nContent-Type: application/secevent+jwt\n<SET typ=secevent+jwt, RS256> {claims}"
    );
    let (status, _) = transmitter
        .push(
            &push_url,
            Some(&stream_secret(&transmitter)),
            &transmitter.sign(&claims),
        )
        .await?;
    println!("→ {status}\n");

    let subject = person.email.to_lowercase();
    let job = loop {
        let record = get(&http, &format!("{base}/jobs?subject={subject}"), &api_token).await?;
        let job = record["jobs"][0].clone();
        if job["state"] == "finished" {
            break job;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    println!(
        "job {} for {}: {} after {} attempt(s)",
        job["id"].as_str().unwrap_or(""),
        job["subject"].as_str().unwrap_or(""),
        job["outcome"].as_str().unwrap_or(""),
        job["attempts"]
    );
    for provider in job["report"]["providers"].as_array().into_iter().flatten() {
        let verified = &provider["verified"];
        let how = verified["verification"]
            .as_str()
            .or_else(|| verified.as_str())
            .unwrap_or("-");
        println!(
            "  {:<11} {:<15} verified: {how}",
            provider["provider"].as_str().unwrap_or(""),
            provider["outcome"].as_str().unwrap_or("")
        );
    }
    running.shutdown().await?;
    Ok(())
}

/// The Authorization value the stream registered (the transmitter keeps it).
fn stream_secret(transmitter: &SsfTransmitter) -> String {
    transmitter.streams()[0]["delivery"]["authorization_header"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}
