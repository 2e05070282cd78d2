//! Fault soak: 300 people offboarded across the three emulators while they answer
//! 10 % of requests with their 5xx, cut 5 % of connections, truncate 5 % of bodies
//! and rate-limit 10 %. Every (person, provider) pair must end in a definitive
//! outcome; at least 99 % must succeed after retries, the rest must be Failed with
//! a cause; and the emulators' own state must confirm every success (no false
//! success), while the bystanders keep every session.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use unisession::Verification;
use unisession::emulated::{self, EmulatedOptions};
use unisession::emulator::{Emulator, EmulatorConfig, Fault, Faults, Person, ProviderKind};
use unisession::fleet::{OffboardOptions, ProviderOutcome, Subject};
use unisession::http::RetryConfig;

const LEAVERS: usize = 300;
const BYSTANDERS: usize = 20;

fn faults() -> Faults {
    Faults::none()
        .with_server_errors(0.10)
        .with_drops(0.05)
        .with_malformed(0.05)
        .with_rate_limits(0.10, Duration::from_millis(20))
}

/// Sessions a person still has in `provider`, read from the emulator's state (for
/// Rocket.Chat: login tokens that still work, and sessions still listed).
fn left(emulator: &Emulator, provider: &str, person: &Person) -> usize {
    match provider {
        "docspace" => emulator
            .docspace()
            .unwrap()
            .active_events_of(&person.docspace_id)
            .len(),
        "rocketchat" => {
            let rc = emulator.rocketchat().unwrap();
            rc.live_sessions_of(&person.rocketchat_id).len()
                + rc.listed_sessions_of(&person.rocketchat_id).len()
        }
        _ => emulator
            .slack()
            .unwrap()
            .sessions_of(&person.slack_id)
            .len(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hundred_people_through_faults_end_definitive_and_true() {
    let mut config = EmulatorConfig::new().users(LEAVERS + BYSTANDERS).seed(42);
    for provider in ProviderKind::ALL {
        config = config.faults(provider, faults());
    }
    let emulator = Emulator::start(config.log_capacity(100_000)).await.unwrap();
    let options = EmulatedOptions::default()
        .with_time_scale(1000.0)
        .with_retry(
            RetryConfig::default()
                .with_max_retries(6)
                .with_initial_backoff(Duration::from_millis(5))
                .with_max_backoff(Duration::from_millis(40)),
        );
    let fleet = emulated::fleet(&emulator, &options)
        .unwrap()
        .build()
        .unwrap();
    let people: Vec<Person> = emulator.people()[1..].to_vec();
    let (leavers, bystanders) = people.split_at(LEAVERS);
    let subjects: Vec<Subject> = leavers.iter().map(|p| Subject::email(&p.email)).collect();
    let before: Vec<usize> = bystanders
        .iter()
        .map(|p| {
            ["docspace", "rocketchat", "slack"]
                .iter()
                .map(|provider| left(&emulator, provider, p))
                .sum()
        })
        .collect();

    let started = Instant::now();
    // Bounded: a hang is a failure, not a stuck test run.
    let report = tokio::time::timeout(
        Duration::from_secs(180),
        fleet.offboard_many(&subjects, None, &OffboardOptions::default()),
    )
    .await
    .expect("the soak finishes within 3 minutes")
    .unwrap();
    let elapsed = started.elapsed();

    assert_eq!(report.reports.len(), LEAVERS);
    let mut outcomes: BTreeMap<&str, usize> = BTreeMap::new();
    let mut succeeded = 0;
    let mut false_successes = Vec::new();
    let mut retries = 0;
    for (person, report) in leavers.iter().zip(&report.reports) {
        assert_eq!(report.subject, person.email);
        assert_eq!(report.providers.len(), 3, "every provider for every person");
        for pair in &report.providers {
            *outcomes.entry(pair.outcome.name()).or_default() += 1;
            retries += pair.retries;
            match &pair.outcome {
                ProviderOutcome::Queued { verified } if *verified != Verification::Verified => {
                    panic!(
                        "{} {}: a queued revocation must be seen through: {verified:?}",
                        person.email, pair.provider
                    );
                }
                ProviderOutcome::Revoked { verified, .. }
                | ProviderOutcome::AlreadyClean { verified }
                | ProviderOutcome::Queued { verified } => {
                    // A success: the emulator must agree.
                    let remaining = left(&emulator, &pair.provider, person);
                    if remaining > 0 {
                        false_successes.push((person.email.clone(), pair.provider.clone()));
                    }
                    assert!(
                        !matches!(verified, Verification::StillActive { .. }),
                        "{} {}: verified still active yet reported: {:?}",
                        person.email,
                        pair.provider,
                        pair.outcome
                    );
                    succeeded += 1;
                }
                ProviderOutcome::Failed { error } => {
                    eprintln!(
                        "failed: {} {}: {error:?} (retries {})",
                        person.email, pair.provider, pair.retries
                    );
                    assert!(
                        !error.message.is_empty(),
                        "a failure names its cause: {error:?}"
                    );
                }
                other => panic!(
                    "{} {}: not a definitive outcome for a known person: {other:?}",
                    person.email, pair.provider
                ),
            }
        }
    }
    let pairs = LEAVERS * 3;
    eprintln!(
        "soak: {pairs} pairs in {elapsed:?}, {retries} retries, outcomes {outcomes:?}, {} false successes",
        false_successes.len()
    );
    assert!(
        false_successes.is_empty(),
        "reported clean, yet sessions remain: {false_successes:?}"
    );
    assert!(
        succeeded * 100 >= pairs * 99,
        "{succeeded} of {pairs} succeeded: {outcomes:?}"
    );
    assert!(retries > 0, "the faults were met and retried");
    // The emulators really answered with the faults at the stated rates.
    let log: Vec<_> = [
        emulator.docspace().unwrap().requests(),
        emulator.rocketchat().unwrap().requests(),
        emulator.slack().unwrap().requests(),
    ]
    .concat();
    let share = |fault: Fault| {
        log.iter().filter(|r| r.fault == Some(fault)).count() as f64 / log.len() as f64
    };
    for (fault, ratio) in [
        (Fault::ServerError, 0.10),
        (Fault::Drop, 0.05),
        (Fault::Malformed, 0.05),
        (Fault::RateLimited, 0.10),
    ] {
        let got = share(fault);
        assert!(
            (got - ratio).abs() < 0.025,
            "{fault:?}: {got:.3} of {} requests",
            log.len()
        );
    }
    for (person, before) in bystanders.iter().zip(before) {
        let after: usize = ["docspace", "rocketchat", "slack"]
            .iter()
            .map(|provider| left(&emulator, provider, person))
            .sum();
        assert_eq!(after, before, "{} was not to be touched", person.email);
    }
}
