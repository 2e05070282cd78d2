//! What the CLI tests share: emulators with a configuration file for them, and
//! running the real binary.
#![allow(dead_code)] // each test file uses part of it

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use unisession::emulator::{Emulator, EmulatorConfig};

/// How long one run of the binary may take in a test.
pub(crate) const LIMIT: std::time::Duration = std::time::Duration::from_secs(120);

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_unisession");

pub(crate) struct Env {
    pub emulator: Emulator,
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
}

impl Env {
    /// Emulators and a configuration for them. These emulators enforce no rate
    /// limit, so the configuration runs the pacing 1000 times faster (`time_scale`).
    pub(crate) async fn start(config: EmulatorConfig) -> Self {
        let emulator = Emulator::start(config).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut toml = String::new();
        if let Some(ds) = emulator.docspace() {
            std::fs::write(
                dir.path().join("docspace.token"),
                &ds.credentials().admin_token,
            )
            .unwrap();
            toml += &format!(
                "[providers.docspace]\nkind = \"docspace\"\nbase_url = \"{}\"\nauth = \"personal_token\"\ntoken_file = \"docspace.token\"\ntime_scale = 1000\n\n",
                ds.base_url()
            );
        }
        if let Some(rc) = emulator.rocketchat() {
            std::fs::write(
                dir.path().join("rocketchat.token"),
                &rc.credentials().admin_pat,
            )
            .unwrap();
            toml += &format!(
                "[providers.rocketchat]\nkind = \"rocketchat\"\nbase_url = \"{}\"\nuser_id = \"{}\"\ntoken_file = \"rocketchat.token\"\n\n",
                rc.base_url(),
                rc.credentials().admin_user_id
            );
        }
        if let Some(slack) = emulator.slack() {
            toml += &format!(
                "[providers.slack]\nkind = \"slack\"\nbase_url = \"{}\"\ntoken_env = \"TEST_SLACK_TOKEN\"\ntime_scale = 1000\n",
                slack.base_url()
            );
        }
        let config = dir.path().join("unisession.toml");
        std::fs::write(&config, toml).unwrap();
        Self {
            emulator,
            dir,
            config,
        }
    }

    pub(crate) fn slack_token(&self) -> String {
        self.emulator
            .slack()
            .map(|s| s.tokens().admin.clone())
            .unwrap_or_default()
    }

    pub(crate) fn secrets(&self) -> Vec<String> {
        let mut secrets = vec![self.slack_token()];
        if let Some(ds) = self.emulator.docspace() {
            secrets.push(ds.credentials().admin_token.clone());
        }
        if let Some(rc) = self.emulator.rocketchat() {
            secrets.push(rc.credentials().admin_pat.clone());
        }
        secrets.retain(|s| !s.is_empty());
        secrets
    }

    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(BIN);
        command
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .env("TEST_SLACK_TOKEN", self.slack_token())
            .env_remove("UNISESSION_CONFIG")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null());
        command
    }

    pub(crate) async fn run(&self, args: &[&str]) -> Run {
        run(self.command(args)).await
    }
}

pub(crate) struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", self.stdout, self.stderr))
    }
}

/// Runs the command to its end, or kills it after two minutes and fails: every
/// test that runs the binary is bounded in time.
pub(crate) async fn run(mut command: Command) -> Run {
    let child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let waiting = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap());
    let output: Output = match tokio::time::timeout(LIMIT, waiting).await {
        Ok(output) => output.unwrap(),
        Err(_) => {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            panic!("the command ran longer than {LIMIT:?} and was killed");
        }
    };
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

pub(crate) fn assert_one_line_error(run: &Run, code: i32, needle: &str) {
    assert_eq!(
        run.code, code,
        "stdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line on stderr, got: {}", run.stderr);
    assert!(lines[0].starts_with("unisession: "), "{}", lines[0]);
    assert!(
        lines[0].contains(needle),
        "{:?} should mention {needle:?}",
        lines[0]
    );
    assert!(
        !run.stderr.contains("panicked") && !run.stderr.contains("backtrace"),
        "{}",
        run.stderr
    );
}

pub(crate) fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
