//! Secret leak scan: the demo, and a run through faults that logs in with passwords
//! and answers Rocket.Chat's 2FA challenge, both at `RUST_LOG=trace` with JSON
//! output, an audit log and a journal. No configured secret may appear in any of
//! it, raw, URL-encoded or in base64; nor the Rocket.Chat password digest; nor any
//! session token the providers issued on login.

mod common;

use std::process::Command;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use common::{BIN, run, url_encode};
use secrecy::{ExposeSecret, SecretString};
use unisession::emulator::{Emulator, EmulatorConfig, Faults, ProviderKind, RocketChatConfig};

/// Every form a secret could leak in.
fn forms(secret: &str) -> Vec<String> {
    let mut forms = vec![secret.to_owned(), url_encode(secret)];
    for engine in [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD] {
        forms.push(engine.encode(secret));
    }
    forms.retain(|f| f.len() >= 6);
    forms
}

fn assert_clean(outputs: &[(String, String)], secrets: &[(&str, String)]) {
    assert!(
        outputs.iter().any(|(_, o)| !o.is_empty()),
        "there was output to scan"
    );
    for (what, secret) in secrets {
        for form in forms(secret) {
            for (name, output) in outputs {
                assert!(
                    !output.contains(&form),
                    "{what} leaked into {name} (as {form:?})"
                );
            }
        }
    }
}

/// Words that could be tokens: long runs of base64 and URL-safe characters.
fn words(outputs: &[(String, String)]) -> Vec<String> {
    let mut words: Vec<String> = outputs
        .iter()
        .flat_map(|(_, o)| {
            o.split(|c: char| !(c.is_ascii_alphanumeric() || "+/=_-".contains(c)))
                .filter(|w| w.len() >= 20)
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect();
    words.sort();
    words.dedup();
    words
}

fn read(path: &std::path::Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_at_trace_level_shows_no_credential() {
    // The demo seeds its emulators like these (same seed): the same credentials.
    let twin = Emulator::start(EmulatorConfig::new().users(8))
        .await
        .unwrap();
    let again = Emulator::start(EmulatorConfig::new().users(8))
        .await
        .unwrap();
    assert_eq!(
        twin.slack().unwrap().tokens().admin,
        again.slack().unwrap().tokens().admin,
        "seeded credentials are reproducible"
    );
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let mut command = Command::new(BIN);
    command
        .args(["-vvv", "--format", "json", "--audit"])
        .arg(&audit)
        .arg("demo")
        .env("RUST_LOG", "trace")
        .env_remove("UNISESSION_CONFIG");
    let demo = run(command).await;
    assert_eq!(demo.code, 0, "{}", demo.stderr);
    assert!(demo.stderr.contains("TRACE"), "tracing is on");
    // The twin is the demo's data: same person, same Slack session ids.
    let document: serde_json::Value = serde_json::from_str(&demo.stdout).unwrap();
    let person = &twin.people()[1];
    assert_eq!(document["person"], person.email.as_str());
    let mut listed: Vec<String> = document["before"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["provider"] == "slack")
        .unwrap()["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect();
    let mut seeded: Vec<String> = twin
        .slack()
        .unwrap()
        .sessions_of(&person.slack_id)
        .iter()
        .map(u64::to_string)
        .collect();
    listed.sort();
    seeded.sort();
    assert_eq!(listed, seeded, "the twin seeds what the demo seeds");
    let outputs = vec![
        ("stdout".to_owned(), demo.stdout),
        ("stderr".to_owned(), demo.stderr),
        ("audit".to_owned(), read(&audit)),
    ];
    let ds = twin.docspace().unwrap().credentials().clone();
    let rc = twin.rocketchat().unwrap().credentials().clone();
    let slack = twin.slack().unwrap().tokens().clone();
    let secrets = [
        ("DocSpace personal token", ds.admin_token),
        ("DocSpace API key", ds.api_key),
        ("DocSpace password", ds.admin_password),
        ("Rocket.Chat personal access token", rc.admin_pat),
        ("Rocket.Chat resume token", rc.admin_token),
        ("Rocket.Chat password", rc.admin_password.clone()),
        (
            "Rocket.Chat password digest",
            unisession::rocketchat::password_digest(&SecretString::from(rc.admin_password))
                .expose_secret()
                .to_owned(),
        ),
        ("Slack token", slack.admin),
    ];
    assert_clean(&outputs, &secrets);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_login_through_faults_at_trace_level_shows_no_credential() {
    let faults = Faults::none()
        .with_server_errors(0.10)
        .with_drops(0.05)
        .with_malformed(0.05)
        .with_rate_limits(0.10, Duration::from_millis(20));
    let mut rocketchat = RocketChatConfig::default();
    // Challenge every sensitive call: the 2FA password travels each time.
    rocketchat.remember_two_factor = Duration::ZERO;
    let mut config = EmulatorConfig::new()
        .users(12)
        .seed(31)
        .rocketchat(rocketchat);
    for provider in ProviderKind::ALL {
        config = config.faults(provider, faults.clone());
    }
    let emulator = Emulator::start(config).await.unwrap();
    let ds = emulator.docspace().unwrap();
    let rc = emulator.rocketchat().unwrap();
    let slack = emulator.slack().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name);
    std::fs::write(path("rc.password"), &rc.credentials().admin_password).unwrap();
    let toml = format!(
        "[providers.docspace]\nkind = \"docspace\"\nbase_url = \"{}\"\nauth = \"login\"\nuser = \"{}\"\npassword_env = \"TEST_DS_PASSWORD\"\ntime_scale = 1000\n\n\
         [providers.rocketchat]\nkind = \"rocketchat\"\nbase_url = \"{}\"\nuser = \"{}\"\npassword_file = \"rc.password\"\ntwo_factor_password_file = \"rc.password\"\n\n\
         [providers.slack]\nkind = \"slack\"\nbase_url = \"{}\"\ntoken_env = \"TEST_SLACK_TOKEN\"\ntime_scale = 1000\n",
        ds.base_url(),
        ds.credentials().admin_email,
        rc.base_url(),
        rc.credentials().admin_username,
        slack.base_url(),
    );
    std::fs::write(path("unisession.toml"), toml).unwrap();
    let people: Vec<String> = emulator.people()[1..]
        .iter()
        .map(|p| p.email.clone())
        .collect();
    std::fs::write(path("leavers.txt"), people.join("\n")).unwrap();
    let leavers = path("leavers.txt");
    let journal = path("journal.jsonl");
    let audit = path("audit.jsonl");
    let mut outputs = Vec::new();
    for args in [
        vec!["config", "check"],
        vec!["sessions", "list", "--all"],
        vec![
            "offboard",
            "--file",
            leavers.to_str().unwrap(),
            "--journal",
            journal.to_str().unwrap(),
        ],
    ] {
        let mut command = Command::new(BIN);
        command
            .arg("--config")
            .arg(path("unisession.toml"))
            .args(["-vvv", "--format", "json", "--yes", "--audit"])
            .arg(&audit)
            .args(&args)
            .env("RUST_LOG", "trace")
            .env("TEST_DS_PASSWORD", &ds.credentials().admin_password)
            .env("TEST_SLACK_TOKEN", &slack.tokens().admin)
            .env_remove("UNISESSION_CONFIG");
        let ran = run(command).await;
        assert!(
            ran.code == 0 || ran.code == 1,
            "{args:?}: exit {}\n{}",
            ran.code,
            ran.stdout
        );
        assert!(ran.stderr.contains("TRACE"), "tracing is on");
        outputs.push((format!("{args:?} stdout"), ran.stdout));
        outputs.push((format!("{args:?} stderr"), ran.stderr));
    }
    outputs.push(("audit".to_owned(), read(&audit)));
    outputs.push(("journal".to_owned(), read(&journal)));

    // The secret paths were really taken: password logins and 2FA answers.
    let rc_log = rc.requests();
    assert!(
        rc_log
            .iter()
            .any(|r| r.path == "/api/v1/login" && r.status == 200)
    );
    assert!(rc_log.iter().any(|r| r.header("x-2fa-code").is_some()));
    assert!(
        ds.requests()
            .iter()
            .any(|r| r.path.ends_with("/authentication") && r.status == 200)
    );
    let digest = unisession::rocketchat::password_digest(&SecretString::from(
        rc.credentials().admin_password.clone(),
    ))
    .expose_secret()
    .to_owned();
    let ds_basic = format!(
        "{}:{}",
        ds.credentials().admin_email,
        ds.credentials().admin_password
    );
    let secrets = [
        ("DocSpace password", ds.credentials().admin_password.clone()),
        ("DocSpace user:password", ds_basic),
        (
            "Rocket.Chat password",
            rc.credentials().admin_password.clone(),
        ),
        ("Rocket.Chat password digest", digest),
        ("Slack token", slack.tokens().admin.clone()),
    ];
    assert_clean(&outputs, &secrets);
    // Nor any token the logins issued: no long word of the output opens a session.
    let admin = rc.credentials().admin_user_id.clone();
    for word in words(&outputs) {
        assert!(!ds.token_is_valid(&word), "a DocSpace session token leaked");
        assert!(
            !rc.token_is_valid(&admin, &word),
            "a Rocket.Chat resume token leaked"
        );
    }
}
