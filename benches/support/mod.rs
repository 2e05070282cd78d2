//! What the load benchmarks share: the emulators in a child process (so the client's
//! CPU and memory are measured alone), figures printed as JSON lines, percentiles.
//!
//! The child is this same benchmark binary started again with
//! `UNISESSION_BENCH_EMULATOR` set to a [`Spec`]: it seeds and starts the emulators,
//! prints one JSON line ([`Info`]) and serves until its stdin closes.

#![allow(dead_code)] // each benchmark uses part of it

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use unisession_emulator::{
    Emulator, EmulatorConfig, Faults, Person, ProviderKind, RocketChatConfig,
};

const CHILD_VAR: &str = "UNISESSION_BENCH_EMULATOR";

/// What the child starts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Spec {
    pub providers: Vec<String>,
    pub users: usize,
    pub sessions_per_user: usize,
    /// Enforce the published limits, this many times faster than real time.
    pub enforce_limits: Option<f64>,
    /// Rocket.Chat: apply the limiter to administrators too.
    pub rate_limit_admins: bool,
    pub log_capacity: usize,
    /// Include every person's session ids in the answer.
    pub with_sessions: bool,
}

impl Spec {
    pub(crate) fn new(providers: &[&str], users: usize, sessions_per_user: usize) -> Self {
        Self {
            providers: providers.iter().map(|p| (*p).to_owned()).collect(),
            users,
            sessions_per_user,
            enforce_limits: None,
            rate_limit_admins: false,
            log_capacity: 0,
            with_sessions: false,
        }
    }
}

/// What the child started: where, with which credentials, whom.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Info {
    pub people: Vec<Person>,
    pub slack: Option<Endpoint>,
    pub rocketchat: Option<Endpoint>,
    pub docspace: Option<Endpoint>,
}

/// One started emulator.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Endpoint {
    pub base_url: String,
    /// Slack: the admin token. Rocket.Chat: the admin's personal access token.
    /// DocSpace: the owner's API key. (Emulator test credentials.)
    pub token: String,
    /// Rocket.Chat: the admin's user id.
    pub user_id: String,
    /// Per person (by index), the session ids, when asked.
    pub sessions: Vec<Vec<String>>,
    /// The total number of sessions seeded.
    pub session_count: usize,
}

/// Runs as the emulator child when this process was started as one; returns otherwise.
pub(crate) fn serve_if_child() {
    let Ok(spec) = std::env::var(CHILD_VAR) else {
        return;
    };
    let spec: Spec = serde_json::from_str(&spec).expect("a valid spec from the parent");
    let runtime = runtime();
    runtime.block_on(async move {
        let emulator = start(&spec).await;
        let info = describe(&emulator, &spec);
        let mut out = std::io::stdout().lock();
        serde_json::to_writer(&mut out, &info).expect("stdout");
        out.write_all(b"\n")
            .and_then(|_| out.flush())
            .expect("stdout");
        drop(out);
        // Serve until the parent closes our stdin (or dies).
        tokio::task::spawn_blocking(|| {
            let mut sink = Vec::new();
            let _ = std::io::stdin().read_to_end(&mut sink);
        })
        .await
        .expect("stdin watcher");
        drop(emulator);
    });
    std::process::exit(0);
}

async fn start(spec: &Spec) -> Emulator {
    let providers: Vec<ProviderKind> = spec
        .providers
        .iter()
        .map(|p| p.parse().expect("a provider name"))
        .collect();
    let mut config = EmulatorConfig::new()
        .users(spec.users)
        .sessions_per_user(spec.sessions_per_user)
        .providers(providers.clone())
        .log_capacity(spec.log_capacity);
    if let Some(scale) = spec.enforce_limits {
        for provider in &providers {
            config = config.faults(*provider, Faults::none().with_enforced_limits(scale));
        }
    }
    if spec.rate_limit_admins {
        let mut rocketchat = RocketChatConfig::default();
        rocketchat.rate_limit_admins = true;
        config = config.rocketchat(rocketchat);
    }
    Emulator::start(config).await.expect("the emulators start")
}

fn describe(emulator: &Emulator, spec: &Spec) -> Info {
    let people = emulator.people().to_vec();
    let sessions = |f: &dyn Fn(&Person) -> Vec<String>| -> Vec<Vec<String>> {
        if spec.with_sessions {
            people.iter().map(f).collect()
        } else {
            Vec::new()
        }
    };
    Info {
        slack: emulator.slack().map(|s| Endpoint {
            base_url: s.base_url(),
            token: s.tokens().admin.clone(),
            user_id: String::new(),
            sessions: sessions(&|p| {
                s.sessions_of(&p.slack_id)
                    .iter()
                    .map(u64::to_string)
                    .collect()
            }),
            session_count: s.session_count(),
        }),
        rocketchat: emulator.rocketchat().map(|rc| Endpoint {
            base_url: rc.base_url(),
            token: rc.credentials().admin_pat.clone(),
            user_id: rc.credentials().admin_user_id.clone(),
            sessions: sessions(&|p| rc.listed_sessions_of(&p.rocketchat_id)),
            session_count: rc.listed_session_count(),
        }),
        docspace: emulator.docspace().map(|ds| Endpoint {
            base_url: ds.base_url(),
            token: ds.credentials().api_key.clone(),
            user_id: ds.credentials().admin_id.clone(),
            sessions: sessions(&|p| {
                ds.active_events_of(&p.docspace_id)
                    .iter()
                    .map(i32::to_string)
                    .collect()
            }),
            session_count: 0,
        }),
        people,
    }
}

/// The emulator child; dropping it stops it.
pub(crate) struct EmulatorProcess {
    child: Child,
    stdin: Option<ChildStdin>,
    pub info: Info,
}

impl EmulatorProcess {
    /// Starts the child and waits until it serves.
    pub(crate) fn start(spec: &Spec) -> Self {
        let mut child = Command::new(std::env::current_exe().expect("the benchmark binary"))
            .env(CHILD_VAR, serde_json::to_string(spec).expect("a spec"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the emulator child starts");
        let stdin = child.stdin.take();
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped"))
            .read_line(&mut line)
            .expect("the child's answer");
        let info = serde_json::from_str(&line).expect("the child describes what it started");
        Self { child, stdin, info }
    }

    /// The child's peak resident memory, in bytes.
    pub(crate) fn peak_rss(&self) -> Option<u64> {
        peak_rss_of(&format!("/proc/{}/status", self.child.id()))
    }
}

impl Drop for EmulatorProcess {
    fn drop(&mut self) {
        drop(self.stdin.take());
        for _ in 0..50 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A multi-threaded runtime with every driver.
pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

/// This process's peak resident memory (`VmHWM`), in bytes.
pub(crate) fn peak_rss() -> Option<u64> {
    peak_rss_of("/proc/self/status")
}

fn peak_rss_of(path: &str) -> Option<u64> {
    let status = std::fs::read_to_string(path).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Prints one measurement as a JSON line.
pub(crate) fn emit(measurement: serde_json::Value) {
    println!("{measurement}");
}

/// The `q` quantile (0..=1) of sorted durations, in microseconds.
pub(crate) fn quantile_us(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[index].as_secs_f64() * 1e6
}

/// `--name value` from the command line, else `default`. Cargo's own `--bench` flag
/// and anything unknown are ignored.
pub(crate) fn arg<T: std::str::FromStr>(name: &str, default: T) -> T {
    let args: Vec<String> = std::env::args().collect();
    args.windows(2)
        .find(|w| w[0] == format!("--{name}"))
        .and_then(|w| w[1].parse().ok())
        .unwrap_or(default)
}

/// A description of this machine for the report.
pub(crate) fn machine() -> serde_json::Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    serde_json::json!({"cpu": cpu, "cores": cores, "os": std::env::consts::OS})
}

/// Ends the benchmark: exit 1 naming every missed target, so a run that misses one
/// fails instead of only printing it.
pub(crate) fn verdict(missed: &[String]) {
    if missed.is_empty() {
        println!("\nevery target met");
        return;
    }
    for target in missed {
        println!("TARGET MISSED: {target}");
    }
    std::process::exit(1);
}
