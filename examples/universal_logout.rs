//! Okta Universal Logout, end to end on this machine: emulated providers behind
//! `unisession serve`'s Global Token Revocation endpoint, and a fake Okta org (its
//! keys generated at start, its JWKS on loopback) that signs the request as Okta does.
//! Prints the request, the answer and the job's report.
//!
//! `cargo run --example universal_logout --features emulator`

use std::time::Duration;

use secrecy::SecretString;
use serde_json::{Value, json};
use unisession::emulated::{self, EmulatedOptions};
use unisession::emulator::universal_logout::UniversalLogoutCaller;
use unisession::emulator::{Emulator, EmulatorConfig};
use unisession::http::{Settings, TransportOptions};
use unisession_serve::{ServeConfig, Server};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let emulator = Emulator::start(EmulatorConfig::new().users(4)).await?;
    let okta = UniversalLogoutCaller::start("0oa-unisession-example").await?;
    let person = emulator.people()[2].clone();
    let dir = tempfile::tempdir()?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let endpoint = format!("http://127.0.0.1:{port}/global-token-revocation");
    let api_token = format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..));

    // What `[serve]` in unisession.toml would hold (the api token comes from
    // api_token_env there; here it is handed over in memory).
    let table = json!({
        "listen": format!("127.0.0.1:{port}"),
        "endpoint_url": endpoint,
        "database": dir.path().join("jobs.db").display().to_string(),
        "callers": {
            "okta": {
                "auth": "okta",
                "issuer": okta.issuer(),
                "client_id": okta.client_id(),
                "allow_insecure_http": true,
            },
        },
    });
    let Value::Object(table) = table else {
        unreachable!("an object")
    };
    let settings = Settings::new(table, dir.path(), TransportOptions::new())
        .with_secret("api_token", SecretString::from(api_token.clone()));
    let config = ServeConfig::from_settings(&settings, dir.path())?;
    let fleet = emulated::fleet(
        &emulator,
        &EmulatedOptions::default().with_time_scale(1000.0),
    )?
    .build()?;
    let running = Server::new(config, fleet).start().await?;
    println!(
        "unisession serve: {endpoint}, over {}",
        emulator.summary().lines().next().unwrap_or("the emulators")
    );
    println!(
        "Okta org (fake): {} (keys at {}/oauth2/v1/keys)\n",
        okta.issuer(),
        okta.issuer()
    );

    let body = json!({"sub_id": {"format": "email", "email": person.email}});
    println!("POST {endpoint}");
    println!(
        "Authorization: Bearer <JWT typ=global-token-revocation+jwt, RS256, iss={}, sub={}, aud={endpoint}>",
        okta.issuer(),
        okta.client_id()
    );
    println!("{body}");
    let status = okta
        .send(
            &endpoint,
            &okta.token(&endpoint),
            body.to_string().as_bytes(),
        )
        .await?;
    println!("→ {status}\n");

    let http = reqwest::Client::new();
    let job = loop {
        let text = http
            .get(format!(
                "http://127.0.0.1:{port}/jobs?subject={}",
                person.email
            ))
            .bearer_auth(&api_token)
            .send()
            .await?
            .text()
            .await?;
        let jobs: Value = serde_json::from_str(&text)?;
        let job = jobs["jobs"][0].clone();
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
