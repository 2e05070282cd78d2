//! The `unisession-emulator` binary as a user starts it: it prints where it serves and
//! the credentials it accepts, serves them, and runs until stopped.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[tokio::test]
async fn the_binary_serves_what_it_prints() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_unisession-emulator"))
        .args(["--provider", "slack", "--port", "0", "--users", "3"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut url, mut token) = (None, None);
    let deadline = Instant::now() + Duration::from_secs(30);
    while url.is_none() || token.is_none() {
        assert!(Instant::now() < deadline, "no summary printed");
        let line = lines.next().expect("the summary").unwrap();
        for word in line.split_whitespace() {
            if word.starts_with("http://127.0.0.1:") && word.ends_with("/api/") {
                url = Some(word.to_owned());
            }
            if line.contains("org admin token") && word.starts_with("xoxp-") {
                token = Some(word.to_owned());
            }
        }
    }
    let (url, token) = (url.unwrap(), token.unwrap());
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::new();
    let answer: serde_json::Value = http
        .post(format!("{url}auth.test"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["ok"], true, "{answer}");
    let health = http
        .get(format!(
            "{}__unisession/health",
            url.trim_end_matches("api/")
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    assert!(child.try_wait().unwrap().is_none(), "it keeps serving");
    child.kill().unwrap();
    child.wait().unwrap();
}
