//! Client overhead: 10,000 sessions revoked one by one through each adapter, with no
//! rate limit, against a plain reqwest loop sending the very same HTTP calls to the
//! same emulator (which then does no adapter work: no validation, pacing, retry
//! bookkeeping, error mapping or typed decoding). Target: the adapter reaches at
//! least 80 % of the raw loop's throughput.
//!
//! `cargo bench --bench overhead [-- --sessions 10000 --concurrency 8 --provider slack]`

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::future::BoxFuture;
use secrecy::SecretString;
use serde_json::json;
use support::{EmulatorProcess, Endpoint, Spec, emit, quantile_us};
use unisession::http::{Rate, RetryConfig};
use unisession::{Revocation, SessionProvider, SessionRef};

/// Warm-up revocations per side, not counted.
const WARMUP: usize = 500;
/// Measured rounds per side, alternating.
const ROUNDS: usize = 10;

fn main() {
    support::serve_if_child();
    let sessions: usize = support::arg("sessions", 10_000);
    let concurrency: usize = support::arg("concurrency", 8).max(1);
    let runtime = support::runtime();
    emit(json!({"bench": "overhead", "machine": support::machine()}));
    let only: String = support::arg("provider", String::new());
    let mut summary = Vec::new();
    for provider in ["slack", "rocketchat", "docspace"] {
        if !only.is_empty() && only != provider {
            continue;
        }
        // Enough seeded sessions for two warm-ups and two measured runs.
        let per_user = 100;
        let users = (2 * (sessions + WARMUP)).div_ceil(per_user) + 1;
        let mut spec = Spec::new(&[provider], users, per_user);
        spec.with_sessions = true;
        let emulator = EmulatorProcess::start(&spec);
        let endpoint = match provider {
            "slack" => emulator.info.slack.clone(),
            "rocketchat" => emulator.info.rocketchat.clone(),
            _ => emulator.info.docspace.clone(),
        }
        .expect("started");
        let mut targets = targets(&emulator.info.people, &endpoint, provider);
        assert!(
            targets.len() >= 2 * (sessions + WARMUP),
            "not enough seeded sessions"
        );
        let mut adapter_targets = targets.split_off(sessions + WARMUP);
        adapter_targets.truncate(sessions + WARMUP);
        let raw_targets = targets;
        let figures = runtime.block_on(async {
            let adapter = adapter(provider, &endpoint, concurrency);
            let raw = Raw::new(provider, &endpoint);
            // Warm both paths (connection pools, allocator, emulator caches).
            run_raw(&raw, &raw_targets[..WARMUP], concurrency).await;
            run_adapter(&adapter, &adapter_targets[..WARMUP], concurrency).await;
            // Then alternate rounds, so that drift on a shared machine hits both alike.
            let round = sessions.div_ceil(ROUNDS).max(1);
            let mut raw_run = Run::default();
            let mut adapter_run = Run::default();
            for (raw_chunk, adapter_chunk) in raw_targets[WARMUP..]
                .chunks(round)
                .zip(adapter_targets[WARMUP..].chunks(round))
            {
                raw_run.add(run_raw(&raw, raw_chunk, concurrency).await);
                adapter_run.add(run_adapter(&adapter, adapter_chunk, concurrency).await);
            }
            raw_run.latencies.sort_unstable();
            adapter_run.latencies.sort_unstable();
            (raw_run, adapter_run)
        });
        let (raw_run, adapter_run) = figures;
        assert_eq!(raw_run.failures, 0, "{provider}: the raw loop failed");
        assert_eq!(
            adapter_run.failures, 0,
            "{provider}: the adapter failed a revocation"
        );
        let ratio = adapter_run.rate() / raw_run.rate();
        for (side, run) in [("adapter", &adapter_run), ("raw", &raw_run)] {
            emit(json!({
                "bench": "overhead", "provider": provider, "side": side,
                "revocations": run.latencies.len(), "concurrency": concurrency,
                "http_calls_per_revocation": calls_per_revocation(provider),
                "seconds": run.elapsed.as_secs_f64(),
                "revocations_per_s": run.rate(),
                "p50_us": quantile_us(&run.latencies, 0.5),
                "p99_us": quantile_us(&run.latencies, 0.99),
            }));
        }
        emit(
            json!({"bench": "overhead", "provider": provider, "ratio": ratio, "target": 0.8, "met": ratio >= 0.8}),
        );
        summary.push((provider, adapter_run, raw_run, ratio));
    }
    println!();
    println!(
        "Client overhead: {sessions} revocations per adapter, concurrency {concurrency}, emulator in a child process"
    );
    println!(
        "{:<11} {:>12} {:>9} {:>9} {:>12} {:>9} {:>9} {:>7}",
        "provider", "adapter/s", "p50 µs", "p99 µs", "raw/s", "p50 µs", "p99 µs", "ratio"
    );
    let mut missed = Vec::new();
    for (provider, adapter, raw, ratio) in &summary {
        if *ratio < 0.8 {
            missed.push(format!(
                "{provider}: the adapter reached {:.1}% of the raw loop (target 80%)",
                ratio * 100.0
            ));
        }
        println!(
            "{:<11} {:>12.0} {:>9.0} {:>9.0} {:>12.0} {:>9.0} {:>9.0} {:>6.1}%{}",
            provider,
            adapter.rate(),
            quantile_us(&adapter.latencies, 0.5),
            quantile_us(&adapter.latencies, 0.99),
            raw.rate(),
            quantile_us(&raw.latencies, 0.5),
            quantile_us(&raw.latencies, 0.99),
            ratio * 100.0,
            if *ratio >= 0.8 {
                ""
            } else {
                "  (below the 80 % target)"
            }
        );
    }
    support::verdict(&missed);
}

/// (user, session) pairs, people other than the administrator.
fn targets(
    people: &[unisession_emulator::Person],
    endpoint: &Endpoint,
    provider: &str,
) -> Vec<(String, String)> {
    people
        .iter()
        .skip(1)
        .flat_map(|p| {
            let user = match provider {
                "slack" => p.slack_id.clone(),
                "rocketchat" => p.rocketchat_id.clone(),
                _ => p.docspace_id.clone(),
            };
            endpoint.sessions[p.index]
                .iter()
                .map(move |s| (user.clone(), s.clone()))
        })
        .collect()
}

fn calls_per_revocation(provider: &str) -> u32 {
    // Rocket.Chat checks the session first (`sessions/info.admin`) so that an already
    // ended one is reported AlreadyGone; the raw loop sends both calls too.
    if provider == "rocketchat" { 2 } else { 1 }
}

/// As fast as possible: pacing far above anything the loop can reach.
/// The retry policy and concurrency of one run.
fn transport(
    retry: unisession::http::RetryConfig,
    concurrency: usize,
) -> unisession::http::TransportOptions {
    unisession::http::TransportOptions::new()
        .with_retry(retry)
        .with_max_concurrency(concurrency)
}

fn unlimited() -> Rate {
    Rate::per_second(1_000_000_000).with_burst(1_000_000)
}

fn adapter(provider: &str, endpoint: &Endpoint, concurrency: usize) -> Arc<dyn SessionProvider> {
    let token = SecretString::from(endpoint.token.clone());
    let retry = RetryConfig::default();
    match provider {
        "slack" => {
            let mut builder = unisession::slack::SlackBuilder::new(endpoint.base_url.clone())
                .with_token(token)
                .with_transport(transport(retry, concurrency));
            for tier in [
                unisession::slack::Tier::Two,
                unisession::slack::Tier::Three,
                unisession::slack::Tier::Four,
            ] {
                builder = builder.with_tier_rate(tier, unlimited());
            }
            Arc::new(builder.build().expect("a valid Slack configuration"))
        }
        "rocketchat" => Arc::new(
            unisession::rocketchat::RocketChatBuilder::new(endpoint.base_url.clone())
                .with_token(endpoint.user_id.clone(), token)
                .with_transport(transport(retry, concurrency))
                .build()
                .expect("a valid Rocket.Chat configuration"),
        ),
        _ => Arc::new(
            unisession::docspace::DocSpaceBuilder::new(endpoint.base_url.clone())
                .with_api_key(token)
                .with_transport(transport(retry, concurrency))
                .with_rate(unlimited())
                .build()
                .expect("a valid DocSpace configuration"),
        ),
    }
}

#[derive(Default)]
struct Run {
    elapsed: Duration,
    latencies: Vec<Duration>,
    failures: usize,
}

impl Run {
    fn add(&mut self, other: Run) {
        self.elapsed += other.elapsed;
        self.latencies.extend(other.latencies);
        self.failures += other.failures;
    }

    fn rate(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }
}

async fn measure<'a, F>(targets: &'a [(String, String)], concurrency: usize, call: F) -> Run
where
    F: Fn(&'a (String, String)) -> BoxFuture<'a, bool>,
{
    let started = Instant::now();
    let results: Vec<(Duration, bool)> = futures::stream::iter(targets)
        .map(|target| {
            let call = call(target);
            async move {
                let at = Instant::now();
                let ok = call.await;
                (at.elapsed(), ok)
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let elapsed = started.elapsed();
    let failures = results.iter().filter(|(_, ok)| !ok).count();
    let latencies: Vec<Duration> = results.into_iter().map(|(d, _)| d).collect();
    Run {
        elapsed,
        latencies,
        failures,
    }
}

async fn run_adapter(
    adapter: &Arc<dyn SessionProvider>,
    targets: &[(String, String)],
    concurrency: usize,
) -> Run {
    measure(targets, concurrency, |(user, session)| {
        let reference = SessionRef::new(session.as_str()).with_user(user.as_str());
        Box::pin(async move {
            matches!(
                adapter.revoke_session(&reference).await,
                Ok(Revocation::Revoked { .. })
            )
        })
    })
    .await
}

/// The same HTTP calls, by hand.
struct Raw {
    client: reqwest::Client,
    provider: String,
    base: String,
    token: String,
    user_id: String,
}

impl Raw {
    fn new(provider: &str, endpoint: &Endpoint) -> Self {
        Self {
            client: reqwest::Client::new(),
            provider: provider.to_owned(),
            base: endpoint.base_url.clone(),
            token: endpoint.token.clone(),
            user_id: endpoint.user_id.clone(),
        }
    }

    async fn revoke(&self, user: &str, session: &str) -> bool {
        let answered = match self.provider.as_str() {
            "slack" => {
                self.client
                    .post(format!("{}admin.users.session.invalidate", self.base))
                    .bearer_auth(&self.token)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(format!("user_id={user}&session_id={session}"))
                    .send()
                    .await
            }
            "rocketchat" => {
                let info = self
                    .client
                    .get(format!(
                        "{}api/v1/sessions/info.admin?sessionId={session}",
                        self.base
                    ))
                    .header("x-user-id", &self.user_id)
                    .header("x-auth-token", &self.token)
                    .send()
                    .await;
                match info {
                    Ok(info) if info.status() == 200 => {
                        if info.bytes().await.is_err() {
                            return false;
                        }
                    }
                    _ => return false,
                }
                self.client
                    .post(format!("{}api/v1/sessions/logout", self.base))
                    .header("x-user-id", &self.user_id)
                    .header("x-auth-token", &self.token)
                    .header("content-type", "application/json")
                    .body(format!("{{\"sessionId\":\"{session}\"}}"))
                    .send()
                    .await
            }
            _ => {
                self.client
                    .put(format!(
                        "{}api/2.0/security/activeconnections/logout/{session}",
                        self.base
                    ))
                    .bearer_auth(&self.token)
                    .send()
                    .await
            }
        };
        match answered {
            Ok(response) if response.status() == 200 => response.bytes().await.is_ok(),
            _ => false,
        }
    }
}

async fn run_raw(raw: &Raw, targets: &[(String, String)], concurrency: usize) -> Run {
    measure(targets, concurrency, |(user, session)| {
        Box::pin(raw.revoke(user, session))
    })
    .await
}
