//! Rate-limited bulk, with each provider's published limits enforced faster than real
//! time (Slack 40×, Rocket.Chat 200× by default; the adapters' pacing is told the same
//! scale). Four runs, each with the fleet's defaults:
//!
//! * `slack-offboard`: 1,000 people by email on a 10,000-user Slack organisation
//!   (Tier 2 for `users.list` and the session methods, Tier 3 for the lookup);
//! * `rocketchat-offboard`: 1,000 people on a 5,000-user Rocket.Chat whose API rate
//!   limiter applies to administrators too (10 calls per route per minute);
//! * `slack-everyone`: `revoke everyone` on 10,000 Slack users (the primary owner
//!   kept: only it may end its own sessions);
//! * `rocketchat-everyone`: `revoke everyone` on 2,000 Rocket.Chat users.
//!
//! Printed per run: the plan the fleet chose (how people were resolved, with the
//! calls), the wall time against the minimum the limits allow for that plan, the 429
//! answers, the outcomes, and the real-time equivalent. The minimum: a plan runs in
//! two phases, one after the other (first the people are found — the lookups or the
//! directory scan —, then revoked and verified); within a phase each rate-limited
//! method is limited on its own, so a phase lasts at least as long as its slowest
//! method (calls ÷ allowed rate), and the minimum is the sum over the two phases.
//! Targets: within 10 % of that minimum, under 1 % of calls answered 429, no failed
//! person, and the Slack 1,000-person run at most a third of the 21 minutes of real
//! time it took with one lookup per person.
//!
//! `cargo bench --bench bulk [-- --only slack-offboard --people 1000 --slack-scale 40 --rocketchat-scale 200]`

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use secrecy::SecretString;
use serde_json::json;
use support::{EmulatorProcess, Spec, emit};
use unisession::SessionProvider;
use unisession::fleet::{Fleet, ManyReport, OffboardOptions, Subject};

/// The real time the Slack 1,000-person run took with one lookup per person.
const SLACK_BEFORE_S: f64 = 21.0 * 60.0;

struct Run {
    name: &'static str,
    provider: &'static str,
    users: usize,
    everyone: bool,
}

fn main() {
    support::serve_if_child();
    let people: usize = support::arg("people", 1000);
    let only: String = support::arg("only", String::new());
    let slack_scale = support::arg("slack-scale", 40.0);
    let rocketchat_scale = support::arg("rocketchat-scale", 200.0);
    let runs = [
        Run {
            name: "slack-offboard",
            provider: "slack",
            users: support::arg("slack-users", 10_000),
            everyone: false,
        },
        Run {
            name: "rocketchat-offboard",
            provider: "rocketchat",
            users: support::arg("rocketchat-users", 5_000),
            everyone: false,
        },
        Run {
            name: "slack-everyone",
            provider: "slack",
            users: support::arg("slack-everyone-users", 10_000),
            everyone: true,
        },
        Run {
            name: "rocketchat-everyone",
            provider: "rocketchat",
            users: support::arg("rocketchat-everyone-users", 2_000),
            everyone: true,
        },
    ];
    let runtime = support::runtime();
    emit(json!({"bench": "bulk", "machine": support::machine()}));
    let mut summary = Vec::new();
    for run in runs.iter().filter(|r| only.is_empty() || only == r.name) {
        let scale = if run.provider == "slack" {
            slack_scale
        } else {
            rocketchat_scale
        };
        let mut spec = Spec::new(&[run.provider], run.users, 3);
        spec.enforce_limits = Some(scale);
        spec.rate_limit_admins = true;
        spec.log_capacity = 2_000_000;
        let emulator = EmulatorProcess::start(&spec);
        let figures = runtime.block_on(measure(run, people, &emulator, scale));
        emit(json!({
            "bench": "bulk", "run": run.name, "provider": run.provider, "users": run.users,
            "people": figures.people, "time_scale": scale,
            "plan": figures.plan,
            "wall_s": figures.wall.as_secs_f64(),
            "minimum_s": figures.minimum.as_secs_f64(),
            "over_minimum": figures.over(),
            "bound_by": figures.bound_by,
            "calls": figures.calls, "answered_429": figures.rate_limited,
            "share_429": figures.share_429(),
            "outcomes": figures.outcomes, "failed": figures.failed,
            "real_time_equivalent_s": figures.wall.as_secs_f64() * scale,
        }));
        summary.push((run, scale, figures));
    }
    println!();
    println!("Rate-limited bulk: published limits enforced faster than real time");
    println!(
        "{:<20} {:>6} {:>6} {:>8} {:>9} {:>7} {:>7} {:>5} {:>6}  real time, plan",
        "run", "people", "scale", "wall s", "minimum s", "over", "calls", "429s", "failed"
    );
    let mut missed = Vec::new();
    for (run, scale, f) in &summary {
        let name = run.name;
        if f.over() > 0.10 {
            missed.push(format!(
                "{name}: {:.1}% over the minimum (target 10%)",
                f.over() * 100.0
            ));
        }
        if f.share_429() >= 0.01 {
            missed.push(format!(
                "{name}: {:.2}% of calls answered 429 (target under 1%)",
                f.share_429() * 100.0
            ));
        }
        if f.failed > 0 {
            missed.push(format!("{name}: {} people failed (target none)", f.failed));
        }
        let real = f.wall.as_secs_f64() * scale;
        if run.name == "slack-offboard" && real > SLACK_BEFORE_S / 3.0 {
            missed.push(format!(
                "{name}: {:.1} min of real time, more than a third of the {:.0} min before",
                real / 60.0,
                SLACK_BEFORE_S / 60.0
            ));
        }
        println!(
            "{:<20} {:>6} {:>5}× {:>8.2} {:>9.2} {:>6.1}% {:>7} {:>5} {:>6}  {:.1} min, {}",
            name,
            f.people,
            scale,
            f.wall.as_secs_f64(),
            f.minimum.as_secs_f64(),
            f.over() * 100.0,
            f.calls,
            f.rate_limited,
            f.failed,
            real / 60.0,
            f.plan,
        );
        println!("{:<20} bound by {}", "", f.bound_by);
    }
    support::verdict(&missed);
}

struct Figures {
    people: usize,
    plan: String,
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

fn adapter(provider: &str, emulator: &EmulatorProcess, scale: f64) -> Arc<dyn SessionProvider> {
    let info = &emulator.info;
    let transport = unisession::http::TransportOptions::new().with_time_scale(scale);
    match provider {
        "slack" => {
            let endpoint = info.slack.clone().expect("started");
            Arc::new(
                unisession::slack::SlackBuilder::new(endpoint.base_url.clone())
                    .with_token(SecretString::from(endpoint.token.clone()))
                    .with_transport(transport)
                    .build()
                    .expect("a valid Slack configuration"),
            )
        }
        _ => {
            let endpoint = info.rocketchat.clone().expect("started");
            Arc::new(
                unisession::rocketchat::RocketChatBuilder::new(endpoint.base_url.clone())
                    .with_token(
                        endpoint.user_id.clone(),
                        SecretString::from(endpoint.token.clone()),
                    )
                    .build()
                    .expect("a valid Rocket.Chat configuration"),
            )
        }
    }
}

async fn measure(run: &Run, people: usize, emulator: &EmulatorProcess, scale: f64) -> Figures {
    let provider = run.provider;
    let fleet = Fleet::builder()
        .provider(provider, adapter(provider, emulator, scale))
        .build()
        .expect("a valid fleet");
    let started = Instant::now();
    let (report, plan, count): (ManyReport, String, usize) = if run.everyone {
        // Slack lets only the primary owner end the primary owner's sessions
        // (`cannot_reset_primary_owner`): kept, as a break-glass account.
        let except: Vec<String> = match provider {
            "slack" => vec!["owner@corp.example".to_owned()],
            _ => Vec::new(),
        };
        let plan = fleet
            .everyone(&[provider.to_owned()], &except)
            .await
            .expect("the directory is read whole");
        let part = &plan.providers[0];
        let description = format!(
            "directory {} calls, revocation {} calls, {} kept",
            part.directory_calls,
            part.revocation_calls,
            part.kept.len()
        );
        let report = fleet
            .revoke_everyone(&plan, None, &OffboardOptions::default())
            .await
            .expect("no journal to fail");
        (report, description, plan.count())
    } else {
        let subjects: Vec<Subject> = emulator
            .info
            .people
            .iter()
            .skip(1)
            .take(people)
            .map(|p| Subject::email(p.email.clone()))
            .collect();
        let report = fleet
            .offboard_many(&subjects, None, &OffboardOptions::default())
            .await
            .expect("no journal to fail");
        let description = report
            .resolution
            .first()
            .map(|r| {
                format!(
                    "{} ({} scan calls, {} lookups avoided, {} fell back)",
                    r.way.as_str(),
                    r.scan_calls.unwrap_or(0),
                    r.lookup_calls,
                    r.fell_back
                )
            })
            .unwrap_or_else(|| "one person at a time".to_owned());
        (report, description, subjects.len())
    };
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
    let failed = report
        .reports
        .iter()
        .flat_map(|r| &r.providers)
        .filter(|p| {
            !matches!(
                p.outcome.verification(),
                Some(unisession::Verification::Verified)
            )
        })
        .count();

    // What reached the server, from its request log.
    let endpoint = match provider {
        "slack" => emulator.info.slack.clone(),
        _ => emulator.info.rocketchat.clone(),
    }
    .expect("started");
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
    // The slowest method of each phase; the phases run one after the other.
    let mut phases: [(f64, String); 2] = Default::default();
    for (path, calls) in &per_path {
        let Some((per_window, window)) = limit_of(provider, path) else {
            continue;
        };
        let seconds = *calls as f64 / per_window as f64 * window.as_secs_f64() / scale;
        let phase = &mut phases[usize::from(!finds_people(provider, path))];
        if seconds > phase.0 {
            *phase = (seconds, format!("{calls} × {path}"));
        }
    }
    emit(json!({"bench": "bulk", "run": run.name, "calls_per_path": per_path}));
    Figures {
        people: count,
        plan,
        wall,
        minimum: Duration::from_secs_f64(phases[0].0 + phases[1].0),
        bound_by: format!("finding: {}; revoking: {}", phases[0].1, phases[1].1),
        calls: log.len(),
        rate_limited,
        outcomes,
        failed,
    }
}

/// Whether a path belongs to the first phase (finding the people). Rocket.Chat's
/// `users.info` is its lookup by email; Slack's only confirms an id before a reset.
fn finds_people(provider: &str, path: &str) -> bool {
    let first = [
        "/users.list",
        "/users.lookupByEmail",
        "/admin.teams.list",
        "/auth.test",
        "/me",
        "/permissions.listAll",
    ];
    first.iter().any(|p| path.ends_with(p))
        || (provider == "rocketchat" && path.ends_with("/users.info"))
}

/// The published limit of a path: calls per window, in real time.
fn limit_of(provider: &str, path: &str) -> Option<(u32, Duration)> {
    let minute = Duration::from_secs(60);
    match provider {
        "slack" => {
            let method = path.strip_prefix("/api/")?;
            match method {
                "users.lookupByEmail" | "admin.teams.list" => Some((50, minute)),
                "auth.test" | "users.info" => Some((100, minute)),
                "users.list" => Some((20, minute)),
                m if m.starts_with("admin.users.session.") => Some((20, minute)),
                _ => None,
            }
        }
        // Rocket.Chat's default: 10 calls per endpoint per minute.
        _ => path.starts_with("/api/v1/").then_some((10, minute)),
    }
}
