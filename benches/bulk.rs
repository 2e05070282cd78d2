//! Rate-limited bulk: offboard 1,000 people on Slack with its published limits
//! enforced (Tier 2 for the session methods, Tier 3 for the email lookup), and 1,000
//! on Rocket.Chat with its API rate limiter applied to administrators too, each with
//! the fleet's defaults. Windows run faster than real time (Slack 40×, Rocket.Chat
//! 200× by default); the adapters' pacing is told the same scale. Slack's scale is
//! kept low enough that its pacing intervals (32 ms for Tier 3 at 40×) dwarf the
//! runtime's 1 ms timer resolution, which real time (1.3 s) never notices.
//!
//! Printed per provider: the wall time against the minimum the limits allow for the
//! calls made (for each rate-limited method, calls ÷ allowed rate; the largest wins
//! as methods are limited independently), the count of 429 answers, and the
//! outcomes. Targets: within 10 % of that minimum, under 1 % of calls answered 429,
//! no failed person.
//!
//! `cargo bench --bench bulk [-- --people 1000 --slack-scale 40 --rocketchat-scale 200]`

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use secrecy::SecretString;
use serde_json::json;
use support::{EmulatorProcess, Spec, emit};
use unisession::SessionProvider;
use unisession::fleet::{Fleet, OffboardOptions, Subject};

fn main() {
    support::serve_if_child();
    let people: usize = support::arg("people", 1000);
    let scales = [
        ("slack", support::arg("slack-scale", 40.0)),
        ("rocketchat", support::arg("rocketchat-scale", 200.0)),
    ];
    let runtime = support::runtime();
    emit(json!({"bench": "bulk", "machine": support::machine()}));
    let mut summary = Vec::new();
    for (provider, scale) in scales {
        let mut spec = Spec::new(&[provider], people, 3);
        spec.enforce_limits = Some(scale);
        spec.rate_limit_admins = true;
        spec.log_capacity = 1_000_000;
        let emulator = EmulatorProcess::start(&spec);
        let figures = runtime.block_on(run(provider, &emulator, scale));
        emit(json!({
            "bench": "bulk", "provider": provider, "people": people, "time_scale": scale,
            "wall_s": figures.wall.as_secs_f64(),
            "minimum_s": figures.minimum.as_secs_f64(),
            "over_minimum": figures.over(),
            "bound_by": figures.bound_by,
            "calls": figures.calls, "answered_429": figures.rate_limited,
            "share_429": figures.share_429(),
            "outcomes": figures.outcomes, "failed": figures.failed,
            "real_time_equivalent_s": figures.wall.as_secs_f64() * scale,
            "met": figures.over() <= 0.10 && figures.share_429() < 0.01 && figures.failed == 0,
        }));
        summary.push((provider, scale, figures));
    }
    println!();
    println!(
        "Rate-limited bulk: {people} people per provider, limits enforced faster than real time"
    );
    println!(
        "{:<11} {:>6} {:>8} {:>9} {:>7} {:>7} {:>6} {:>7}  bound by",
        "provider", "scale", "wall s", "minimum s", "over", "calls", "429s", "failed"
    );
    let mut missed = Vec::new();
    for (provider, scale, f) in &summary {
        if f.over() > 0.10 {
            missed.push(format!(
                "{provider}: {:.1}% over the minimum (target 10%)",
                f.over() * 100.0
            ));
        }
        if f.share_429() >= 0.01 {
            missed.push(format!(
                "{provider}: {:.2}% of calls answered 429 (target under 1%)",
                f.share_429() * 100.0
            ));
        }
        if f.failed > 0 {
            missed.push(format!(
                "{provider}: {} people failed (target none)",
                f.failed
            ));
        }
        println!(
            "{:<11} {:>5}× {:>8.2} {:>9.2} {:>6.1}% {:>7} {:>6} {:>7}  {} (real time: {:.0} min)",
            provider,
            scale,
            f.wall.as_secs_f64(),
            f.minimum.as_secs_f64(),
            f.over() * 100.0,
            f.calls,
            f.rate_limited,
            f.failed,
            f.bound_by,
            f.wall.as_secs_f64() * scale / 60.0,
        );
    }
    support::verdict(&missed);
}

struct Figures {
    wall: Duration,
    minimum: Duration,
    bound_by: String,
    calls: usize,
    rate_limited: usize,
    outcomes: BTreeMap<String, usize>,
    failed: usize,
}

impl Figures {
    fn over(&self) -> f64 {
        self.wall.as_secs_f64() / self.minimum.as_secs_f64() - 1.0
    }

    fn share_429(&self) -> f64 {
        self.rate_limited as f64 / self.calls.max(1) as f64
    }
}

async fn run(provider: &str, emulator: &EmulatorProcess, scale: f64) -> Figures {
    let info = &emulator.info;
    let (endpoint, adapter): (_, Arc<dyn SessionProvider>) = match provider {
        "slack" => {
            let endpoint = info.slack.clone().expect("started");
            let adapter = unisession::slack::SlackBuilder::new(endpoint.base_url.clone())
                .with_token(SecretString::from(endpoint.token.clone()))
                .with_transport(unisession::http::TransportOptions::new().with_time_scale(scale))
                .build()
                .expect("a valid Slack configuration");
            (endpoint, Arc::new(adapter))
        }
        _ => {
            let endpoint = info.rocketchat.clone().expect("started");
            let adapter = unisession::rocketchat::RocketChatBuilder::new(endpoint.base_url.clone())
                .with_token(
                    endpoint.user_id.clone(),
                    SecretString::from(endpoint.token.clone()),
                )
                .build()
                .expect("a valid Rocket.Chat configuration");
            (endpoint, Arc::new(adapter))
        }
    };
    let fleet = Fleet::builder()
        .provider(provider, adapter)
        .build()
        .expect("a valid fleet");
    let subjects: Vec<Subject> = info
        .people
        .iter()
        .skip(1)
        .map(|p| Subject::email(p.email.clone()))
        .collect();
    let started = Instant::now();
    let report = fleet
        .offboard_many(&subjects, None, &OffboardOptions::default())
        .await
        .expect("no journal to fail");
    let wall = started.elapsed();
    let mut outcomes = BTreeMap::new();
    for r in &report.reports {
        for p in &r.providers {
            *outcomes.entry(p.outcome.name().to_owned()).or_default() += 1;
            if p.outcome.verification() == Some(&unisession::Verification::Verified) {
                *outcomes.entry("verified".to_owned()).or_default() += 1;
            }
        }
    }
    let failed = outcomes.get("failed").copied().unwrap_or(0);

    // What reached the server, from its request log.
    let root = endpoint.base_url.trim_end_matches("api/").to_owned();
    let log = reqwest::get(format!("{root}__unisession/requests"))
        .await
        .and_then(|r| r.error_for_status())
        .expect("the request log")
        .bytes()
        .await
        .expect("the request log");
    let log: Vec<serde_json::Value> = serde_json::from_slice(&log).expect("the log is JSON");
    let mut per_path: BTreeMap<String, usize> = BTreeMap::new();
    let mut rate_limited = 0;
    for entry in &log {
        let path = entry["path"].as_str().unwrap_or_default().to_owned();
        if entry["status"] == 429 {
            rate_limited += 1;
        }
        *per_path.entry(path).or_default() += 1;
    }
    let (minimum, bound_by) = per_path
        .iter()
        .filter_map(|(path, calls)| {
            let (per_window, window) = limit_of(provider, path)?;
            let seconds = *calls as f64 / per_window as f64 * window.as_secs_f64() / scale;
            Some((seconds, format!("{calls} × {path}")))
        })
        .fold((0.0, String::new()), |best, (s, why)| {
            if s > best.0 { (s, why) } else { best }
        });
    emit(json!({"bench": "bulk", "provider": provider, "calls_per_path": per_path}));
    Figures {
        wall,
        minimum: Duration::from_secs_f64(minimum),
        bound_by,
        calls: log.len(),
        rate_limited,
        outcomes,
        failed,
    }
}

/// The published limit of a path: calls per window, in real time.
fn limit_of(provider: &str, path: &str) -> Option<(u32, Duration)> {
    let minute = Duration::from_secs(60);
    match provider {
        "slack" => {
            let method = path.strip_prefix("/api/")?;
            match method {
                "users.lookupByEmail" => Some((50, minute)),
                "auth.test" => Some((100, minute)),
                m if m.starts_with("admin.users.session.") => Some((20, minute)),
                _ => None,
            }
        }
        // Rocket.Chat's default: 10 calls per endpoint per minute.
        _ => path.starts_with("/api/v1/").then_some((10, minute)),
    }
}
