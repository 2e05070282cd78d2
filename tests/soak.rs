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
use unisession::emulator::{
    Emulator, EmulatorConfig, Fault, Faults, Misleading, Person, ProviderKind,
};
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
        "google" => emulator.google().unwrap().sessions_of(&person.email),
        "entra" => {
            let entra = emulator.entra().unwrap();
            entra
                .user_id_by_email(&person.email)
                .map_or(0, |id| entra.sessions_of(&id))
        }
        "okta" => {
            let okta = emulator.okta().unwrap();
            okta.user_id_by_email(&person.email)
                .map_or(0, |id| okta.sessions_of(&id).len())
        }
        _ => emulator
            .slack()
            .unwrap()
            .sessions_of(&person.slack_id)
            .len(),
    }
}

/// Every emulated provider, by kind name.
fn providers() -> impl Iterator<Item = &'static str> {
    ProviderKind::ALL.into_iter().map(ProviderKind::as_str)
}

const PROVIDERS: usize = ProviderKind::ALL.len();

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
            providers()
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
        assert_eq!(
            report.providers.len(),
            PROVIDERS,
            "every provider for every person"
        );
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
    let pairs = LEAVERS * PROVIDERS;
    eprintln!(
        "soak: {pairs} pairs in {elapsed:?}, {retries} retries, outcomes {outcomes:?}, {} false successes",
        false_successes.len()
    );
    assert!(
        false_successes.is_empty(),
        "reported clean, yet sessions remain: {false_successes:?}"
    );
    // A dropped POST (users.signOut, revokeSignInSessions) may have been applied, so
    // it is not retried blindly and ends `failed`: with 5 % drops on the identity
    // providers' one-shot POSTs, runs end with 10–20 failed pairs of 1,800 (seen 10
    // and 19). 97 % keeps the bar far above that spread while still failing if
    // retries stopped working (then hundreds fail).
    assert!(
        succeeded * 100 >= pairs * 97,
        "{succeeded} of {pairs} succeeded: {outcomes:?}"
    );
    assert!(retries > 0, "the faults were met and retried");
    // The emulators really answered with the faults at the stated rates.
    let log: Vec<_> = [
        emulator.docspace().unwrap().requests(),
        emulator.rocketchat().unwrap().requests(),
        emulator.slack().unwrap().requests(),
        emulator.okta().unwrap().requests(),
        emulator.entra().unwrap().requests(),
        emulator.google().unwrap().requests(),
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
        let after: usize = providers()
            .map(|provider| left(&emulator, provider, person))
            .sum();
        assert_eq!(after, before, "{} was not to be touched", person.email);
    }
}

// ----- the misleading-server soak -----

/// Who a subject of the misleading soak is.
enum Kind<'a> {
    /// A leaver, by email.
    Email(&'a Person),
    /// A leaver, by the right ids.
    Ids(&'a Person),
    /// Ids nobody has (a people file with typos).
    Typo(usize),
}

fn typo_ids(n: usize) -> [(String, String); 6] {
    [
        (
            "docspace".to_owned(),
            format!("0bad0000-0000-4000-8000-{n:012}"),
        ),
        ("rocketchat".to_owned(), format!("TYPO{n:013}")),
        ("slack".to_owned(), format!("U0TYPO{n:05}")),
        ("okta".to_owned(), format!("00uTYPO{n:012}")),
        (
            "entra".to_owned(),
            format!("0bad0000-0000-4000-8000-{n:012}"),
        ),
        ("google".to_owned(), format!("9{n:020}")),
    ]
}

fn ids_of(emulator: &Emulator, person: &Person) -> [(&'static str, String); 6] {
    let google = emulator
        .google()
        .unwrap()
        .user_id_by_email(&person.email)
        .unwrap();
    let okta = emulator
        .okta()
        .unwrap()
        .user_id_by_email(&person.email)
        .unwrap();
    let entra = emulator
        .entra()
        .unwrap()
        .user_id_by_email(&person.email)
        .unwrap();
    [
        ("docspace", person.docspace_id.clone()),
        ("rocketchat", person.rocketchat_id.clone()),
        ("slack", person.slack_id.clone()),
        ("okta", okta),
        ("entra", entra),
        ("google", google),
    ]
}

/// 300 leavers across the three emulators while they mislead like real servers do:
/// 15 % of lookups answered with the next person's record, success for user ids
/// nobody has, listings that show revoked sessions for a while, and (for the last
/// 20 leavers) a Rocket.Chat 7.x whose `users.list` ignores its filter. Against the
/// emulators' ground truth: no pair reported done while the person keeps sessions,
/// no bystander touched (a bystander follows every 15th person, so a trusted wrong
/// answer would log one out), and every pair not done carries a cause to act on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hundred_people_through_misleading_servers_without_a_false_success() {
    const PEOPLE: usize = 320;
    let misleading = Misleading::none()
        .with_lookups_answering_other(0.15)
        .with_success_for_unknown_users(true)
        .with_stale_listings(Duration::from_millis(150));
    let mut config = EmulatorConfig::new().users(PEOPLE).seed(43);
    for provider in ProviderKind::ALL {
        config = config.misleading(provider, misleading.clone());
    }
    let emulator = Emulator::start(config.log_capacity(0)).await.unwrap();
    let options = EmulatedOptions::default().with_time_scale(1000.0);
    let people: Vec<Person> = emulator.people()[1..].to_vec();
    let bystanders: Vec<&Person> = people.iter().step_by(15).collect();
    let leavers: Vec<&Person> = people
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 15 != 0)
        .map(|(_, p)| p)
        .take(300)
        .collect();
    let (main, unfiltered) = leavers.split_at(280);
    let mut kinds: Vec<Kind> = main
        .iter()
        .enumerate()
        .map(|(i, p)| {
            if i % 10 == 0 {
                Kind::Ids(p)
            } else {
                Kind::Email(p)
            }
        })
        .collect();
    kinds.extend((0..10).map(Kind::Typo));
    let subject = |kind: &Kind| match kind {
        Kind::Email(p) => Subject::email(&p.email),
        Kind::Ids(p) => Subject::ids(ids_of(&emulator, p)),
        Kind::Typo(n) => Subject::ids(typo_ids(*n)),
    };
    let everyone_left = |person: &Person| -> usize {
        providers()
            .map(|provider| left(&emulator, provider, person))
            .sum()
    };
    let before: Vec<usize> = bystanders.iter().map(|p| everyone_left(p)).collect();
    let started = Instant::now();

    let fleet = emulated::fleet(&emulator, &options)
        .unwrap()
        .build()
        .unwrap();
    let subjects: Vec<Subject> = kinds.iter().map(subject).collect();
    let report = tokio::time::timeout(
        Duration::from_secs(180),
        fleet.offboard_many(
            &subjects,
            None,
            &OffboardOptions::default().with_concurrency(8),
        ),
    )
    .await
    .expect("the soak finishes within 3 minutes")
    .unwrap();
    let mut reports = report.reports;

    // Then a Rocket.Chat 7.x: `users.list` answers everybody whatever the query.
    emulator
        .rocketchat()
        .unwrap()
        .update_config(|c| c.version = (7, 5));
    let fleet = emulated::fleet(&emulator, &options)
        .unwrap()
        .build()
        .unwrap();
    // Many people: one scan of `users.list` finds them (it lists everybody, with
    // their addresses, to an administrator). One person alone: the lookup, which this
    // server cannot answer truthfully.
    let (scanned, alone) = unfiltered.split_at(unfiltered.len() - 1);
    let late: Vec<Kind> = scanned.iter().map(|p| Kind::Email(p)).collect();
    let subjects: Vec<Subject> = late.iter().map(subject).collect();
    let late_report = fleet
        .offboard_many(
            &subjects,
            None,
            &OffboardOptions::default().with_concurrency(8),
        )
        .await
        .unwrap();
    let rc_scan = late_report
        .resolution
        .iter()
        .find(|r| r.provider == "rocketchat")
        .expect("Rocket.Chat ran together");
    assert_eq!(
        rc_scan.way,
        unisession::fleet::ResolveWay::Scan,
        "{rc_scan:?}"
    );
    for report in &late_report.reports {
        let rc = report
            .providers
            .iter()
            .find(|p| p.provider == "rocketchat")
            .unwrap();
        assert!(rc.outcome.is_done(), "{}: {:?}", report.subject, rc.outcome);
    }
    reports.extend(late_report.reports);
    kinds.extend(late);
    let alone_kind = Kind::Email(alone[0]);
    let alone_report = fleet
        .offboard_many(&[subject(&alone_kind)], None, &OffboardOptions::default())
        .await
        .unwrap();
    reports.extend(alone_report.reports);
    kinds.push(alone_kind);
    let elapsed = started.elapsed();

    let mut causes: BTreeMap<String, usize> = BTreeMap::new();
    let mut false_successes = Vec::new();
    let mut done = 0;
    for (kind, report) in kinds.iter().zip(&reports) {
        for pair in &report.providers {
            let person = match kind {
                Kind::Email(p) | Kind::Ids(p) => *p,
                Kind::Typo(n) => {
                    // Nobody has these ids: every provider must say so, and only so.
                    let ProviderOutcome::UserNotFound { evidence } = &pair.outcome else {
                        panic!("a mistyped id in {}: {:?}", pair.provider, pair.outcome);
                    };
                    let typo = typo_ids(*n)
                        .into_iter()
                        .find(|(provider, _)| *provider == pair.provider)
                        .map(|(_, id)| id)
                        .unwrap();
                    assert!(evidence.contains(&typo), "{evidence}");
                    *causes.entry("typo: user not found".to_owned()).or_default() += 1;
                    continue;
                }
            };
            if pair.outcome.is_done() {
                done += 1;
                if left(&emulator, &pair.provider, person) > 0 {
                    false_successes.push((
                        person.email.clone(),
                        pair.provider.clone(),
                        pair.outcome.clone(),
                    ));
                }
                continue;
            }
            let cause = match &pair.outcome {
                ProviderOutcome::Failed { error } => {
                    assert!(!error.message.is_empty(), "a failure names its cause");
                    format!("failed: {}", error.kind)
                }
                ProviderOutcome::Unsupported { reason } => {
                    assert!(
                        reason.contains("8.4"),
                        "says what the server needs: {reason}"
                    );
                    "unsupported: lookup cannot prove absence".to_owned()
                }
                other => panic!(
                    "{} {}: not done, without a cause: {other:?}",
                    person.email, pair.provider
                ),
            };
            *causes.entry(cause).or_default() += 1;
        }
    }
    let touched: Vec<&str> = bystanders
        .iter()
        .zip(&before)
        .filter(|(p, before)| everyone_left(p) != **before)
        .map(|(p, _)| p.email.as_str())
        .collect();
    let pairs = reports.len() * PROVIDERS;
    eprintln!(
        "misleading soak: {} subjects, {pairs} pairs in {elapsed:?}: {done} done, {} false successes, {} bystanders touched, not done by cause {causes:?}",
        reports.len(),
        false_successes.len(),
        touched.len()
    );
    assert!(
        false_successes.is_empty(),
        "reported done, yet sessions remain: {false_successes:?}"
    );
    assert!(touched.is_empty(), "bystanders logged out: {touched:?}");
    let mismatches = causes
        .get("failed: answer for another person")
        .copied()
        .unwrap_or(0);
    assert!(
        mismatches > 0,
        "the wrong answers were met and refused: {causes:?}"
    );
    assert!(
        causes
            .get("unsupported: lookup cannot prove absence")
            .copied()
            .unwrap_or(0)
            > 0,
        "the unfiltered Rocket.Chat lookup was met: {causes:?}"
    );
    assert_eq!(
        causes.get("typo: user not found").copied(),
        Some(10 * PROVIDERS)
    );
    assert!(
        done * 100 >= pairs * 70,
        "most pairs still get done: {done} of {pairs}"
    );
}
