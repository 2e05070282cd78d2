//! Listing at scale: `list_all` over 1,000,000 sessions (Slack, then Rocket.Chat),
//! each emulator in a child process so that this process's memory is the client's
//! alone. Prints sessions/s, the resident memory every 100,000 sessions and the
//! client's peak (`VmHWM`). Target: flat, under 64 MiB peak RSS.
//!
//! `cargo bench --bench listing [-- --sessions 1000000]`

mod support;

use std::sync::Arc;
use std::time::Instant;

use futures::TryStreamExt;
use secrecy::SecretString;
use serde_json::json;
use support::{EmulatorProcess, Spec, emit};
use unisession::{ListQuery, SessionProvider, SessionProviderExt};

const MIB: f64 = 1024.0 * 1024.0;

fn main() {
    support::serve_if_child();
    let sessions: usize = support::arg("sessions", 1_000_000);
    let per_user = 1000.min(sessions.max(1));
    let users = sessions.div_ceil(per_user);
    let runtime = support::runtime();
    emit(json!({"bench": "listing", "machine": support::machine()}));
    let mut summary = Vec::new();
    for provider in ["slack", "rocketchat"] {
        let seeding = Instant::now();
        let emulator = EmulatorProcess::start(&Spec::new(&[provider], users, per_user));
        let seeded_in = seeding.elapsed();
        let (endpoint, adapter, page): (_, Arc<dyn SessionProvider>, u32) = match provider {
            "slack" => {
                let endpoint = emulator.info.slack.clone().expect("started");
                let adapter = unisession::slack::SlackBuilder::new(endpoint.base_url.clone())
                    .with_token(SecretString::from(endpoint.token.clone()))
                    // Pagination is Tier 2 (20 calls a minute); this measures the
                    // client, not the limit.
                    .with_tier_rate(
                        unisession::slack::Tier::Two,
                        unisession::http::Rate::per_second(1_000_000),
                    )
                    .build()
                    .expect("a valid Slack configuration");
                (endpoint, Arc::new(adapter), 1000)
            }
            _ => {
                let endpoint = emulator.info.rocketchat.clone().expect("started");
                let adapter =
                    unisession::rocketchat::RocketChatBuilder::new(endpoint.base_url.clone())
                        .with_token(
                            endpoint.user_id.clone(),
                            SecretString::from(endpoint.token.clone()),
                        )
                        .build()
                        .expect("a valid Rocket.Chat configuration");
                (endpoint, Arc::new(adapter), 100)
            }
        };
        let rss_before = current_rss();
        let started = Instant::now();
        let (count, samples) = runtime.block_on(async {
            let mut samples = Vec::new();
            let count = adapter
                .list_all(ListQuery::new().with_limit(page))
                .try_fold(0usize, |n, _session| {
                    let n = n + 1;
                    if n % 100_000 == 0 {
                        samples.push((n, current_rss()));
                    }
                    std::future::ready(Ok(n))
                })
                .await
                .expect("the listing succeeds");
            (count, samples)
        });
        let elapsed = started.elapsed();
        assert_eq!(
            count, endpoint.session_count,
            "{provider}: every session exactly once"
        );
        let peak = support::peak_rss().unwrap_or(0) as f64 / MIB;
        let rate = count as f64 / elapsed.as_secs_f64();
        for (n, rss) in &samples {
            emit(
                json!({"bench": "listing", "provider": provider, "listed": n, "rss_mib": *rss as f64 / MIB}),
            );
        }
        emit(json!({
            "bench": "listing", "provider": provider, "sessions": count, "page_size": page,
            "seconds": elapsed.as_secs_f64(), "sessions_per_s": rate,
            "rss_before_mib": rss_before as f64 / MIB, "peak_rss_mib": peak,
            "emulator_seeded_s": seeded_in.as_secs_f64(),
            "emulator_peak_rss_mib": emulator.peak_rss().unwrap_or(0) as f64 / MIB,
            "target_mib": 64, "met": peak < 64.0,
        }));
        let min = samples.iter().map(|s| s.1).min().unwrap_or(0) as f64 / MIB;
        let max = samples.iter().map(|s| s.1).max().unwrap_or(0) as f64 / MIB;
        summary.push((provider, count, page, elapsed, rate, min, max, peak));
    }
    println!();
    println!("Listing at scale: list_all over every session, emulator in a child process");
    println!(
        "{:<11} {:>9} {:>5} {:>8} {:>11} {:>19} {:>13}",
        "provider", "sessions", "page", "seconds", "sessions/s", "RSS while listing", "peak RSS"
    );
    let mut missed = Vec::new();
    for (provider, count, page, elapsed, rate, min, max, peak) in summary {
        if peak >= 64.0 {
            missed.push(format!(
                "{provider}: peak RSS {peak:.1} MiB (target under 64 MiB)"
            ));
        }
        if max - min > 8.0 {
            missed.push(format!(
                "{provider}: RSS grew from {min:.1} to {max:.1} MiB while listing (target: flat)"
            ));
        }
        println!(
            "{:<11} {:>9} {:>5} {:>8.2} {:>11.0} {:>9.1}–{:<5.1} MiB {:>9.1} MiB{}",
            provider,
            count,
            page,
            elapsed.as_secs_f64(),
            rate,
            min,
            max,
            peak,
            if peak < 64.0 {
                ""
            } else {
                "  (above the 64 MiB target)"
            }
        );
    }
    support::verdict(&missed);
}

/// This process's resident memory now (`VmRSS`), in bytes.
fn current_rss() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kib| kib.parse::<u64>().ok())
        })
        .map_or(0, |kib| kib * 1024)
}
