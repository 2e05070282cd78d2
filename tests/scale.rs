//! Many people at once against the emulators: the resolution planner's choice, what
//! a scan proves and what it does not, and the incident-wide logout.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use unisession::SessionProvider;
use unisession::emulated::{self, EmulatedOptions};
use unisession::emulator::{Emulator, EmulatorConfig, ProviderKind, SlackConfig};
use unisession::fleet::{Fleet, OffboardOptions, Progress, ProviderOutcome, ResolveWay, Subject};
use unisession_http::{RetryConfig, TransportOptions};

fn retry() -> RetryConfig {
    RetryConfig::default()
        .with_max_retries(2)
        .with_initial_backoff(Duration::from_millis(5))
        .with_max_backoff(Duration::from_millis(20))
}

async fn start(users: usize, slack: SlackConfig) -> Emulator {
    Emulator::start(
        EmulatorConfig::new()
            .users(users)
            .providers([
                ProviderKind::Slack,
                ProviderKind::RocketChat,
                ProviderKind::DocSpace,
            ])
            .slack(slack),
    )
    .await
    .unwrap()
}

/// A Slack adapter on the emulator: pacing sped up (the emulator enforces no
/// limit), the published limits still what the planner weighs.
fn slack(emulator: &Emulator, users_page: u32, bulk_chunk: usize) -> Arc<dyn SessionProvider> {
    let s = emulator.slack().unwrap();
    Arc::new(
        unisession::slack::SlackBuilder::new(s.base_url())
            .with_token(SecretString::from(s.tokens().admin.clone()))
            .with_users_page_size(users_page)
            .with_bulk_chunk(bulk_chunk)
            .with_transport(
                TransportOptions::new()
                    .with_name("slack")
                    .with_time_scale(1000.0)
                    .with_retry(retry()),
            )
            .build()
            .unwrap(),
    )
}

/// The adapter the registry builds for one emulated provider.
fn emulated_provider(emulator: &Emulator, kind: &str) -> Arc<dyn SessionProvider> {
    let options = EmulatedOptions::default()
        .with_time_scale(1000.0)
        .with_retry(retry());
    emulated::providers(emulator, &options)
        .unwrap()
        .into_iter()
        .find(|(name, _)| name == kind)
        .unwrap()
        .1
}

fn rocketchat(emulator: &Emulator) -> Arc<dyn SessionProvider> {
    emulated_provider(emulator, "rocketchat")
}

fn fleet_of(providers: Vec<(&str, Arc<dyn SessionProvider>)>) -> Fleet {
    providers
        .into_iter()
        .fold(Fleet::builder(), |b, (name, p)| b.provider(name, p))
        .settle_wait(Duration::from_secs(5))
        .queued_wait(Duration::from_secs(2))
        .build()
        .unwrap()
}

/// Calls of each Slack method the emulator received.
fn slack_calls(emulator: &Emulator) -> BTreeMap<String, usize> {
    let mut calls = BTreeMap::new();
    for r in emulator.slack().unwrap().requests() {
        *calls
            .entry(r.path.trim_start_matches("/api/").to_owned())
            .or_default() += 1;
    }
    calls
}

fn count(calls: &BTreeMap<String, usize>, method: &str) -> usize {
    calls.get(method).copied().unwrap_or(0)
}

#[tokio::test]
async fn few_people_are_looked_up_and_many_are_found_by_one_scan() {
    let emulator = start(60, SlackConfig::default()).await;
    let fleet = fleet_of(vec![("slack", slack(&emulator, 1000, 1000))]);
    let people: Vec<Subject> = emulator.people()[1..]
        .iter()
        .map(|p| Subject::email(&p.email))
        .collect();

    // Two people: two Tier 3 lookups cost less than one Tier 2 page.
    let report = fleet
        .offboard_many(&people[..2], None, &OffboardOptions::default())
        .await
        .unwrap();
    assert!(report.is_complete(), "{report:#?}");
    assert_eq!(report.resolution[0].way, ResolveWay::Lookups);
    let calls = slack_calls(&emulator);
    assert_eq!(count(&calls, "users.lookupByEmail"), 2, "{calls:?}");
    assert_eq!(count(&calls, "users.list"), 0, "{calls:?}");

    // Forty people: one page of the directory instead of forty lookups.
    emulator.slack().unwrap().clear_requests();
    let report = fleet
        .offboard_many(&people[2..42], None, &OffboardOptions::default())
        .await
        .unwrap();
    assert!(report.is_complete(), "{report:#?}");
    let plan = &report.resolution[0];
    assert_eq!(plan.way, ResolveWay::Scan, "{plan:?}");
    assert_eq!(plan.scan_calls, Some(1));
    assert_eq!(plan.lookup_calls, 40);
    assert_eq!(plan.fell_back, 0);
    let calls = slack_calls(&emulator);
    assert_eq!(count(&calls, "users.list"), 1, "{calls:?}");
    assert_eq!(count(&calls, "users.lookupByEmail"), 0, "{calls:?}");
    for person in &emulator.people()[3..43] {
        assert!(
            emulator
                .slack()
                .unwrap()
                .sessions_of(&person.slack_id)
                .is_empty(),
            "{}",
            person.email
        );
    }
}

#[tokio::test]
async fn a_scan_matches_active_people_only_and_refuses_to_guess() {
    let emulator = start(30, SlackConfig::default()).await;
    let s = emulator.slack().unwrap();
    let gone = s.add_deactivated_user("gone@corp.example");
    let invited = s.add_invited_user("invited@corp.example");
    let twin_a = s.add_user("twin@corp.example");
    let twin_b = s.add_user("twin@corp.example");
    s.add_sessions(&twin_a, 2);
    s.add_sessions(&twin_b, 2);
    let fleet = fleet_of(vec![("slack", slack(&emulator, 1000, 1000))]);
    let mut subjects: Vec<Subject> = emulator.people()[1..11]
        .iter()
        .map(|p| Subject::email(&p.email))
        .collect();
    for extra in [
        "gone@corp.example",
        "invited@corp.example",
        "Twin@Corp.example",
        "nobody@corp.example",
    ] {
        subjects.push(Subject::email(extra));
    }
    let report = fleet
        .offboard_many(&subjects, None, &OffboardOptions::default())
        .await
        .unwrap();
    let outcome = |key: &str| {
        report
            .reports
            .iter()
            .find(|r| r.subject == key)
            .unwrap()
            .providers[0]
            .outcome
            .clone()
    };
    match outcome("gone@corp.example") {
        ProviderOutcome::UserNotFound { evidence } => {
            assert!(evidence.contains("deactivated"), "{evidence}")
        }
        other => panic!("a deactivated member is nobody to log out: {other:?}"),
    }
    match outcome("invited@corp.example") {
        ProviderOutcome::UserNotFound { evidence } => {
            assert!(evidence.contains("invited"), "{evidence}")
        }
        other => panic!("an invited member is nobody to log out: {other:?}"),
    }
    match outcome("nobody@corp.example") {
        ProviderOutcome::UserNotFound { evidence } => {
            assert!(evidence.contains("complete scan"), "{evidence}")
        }
        other => panic!("{other:?}"),
    }
    match outcome("twin@corp.example") {
        ProviderOutcome::Failed { error } => {
            assert_eq!(
                error.kind,
                unisession::ErrorKind::IdentityMismatch,
                "{error:?}"
            );
            assert!(
                error.message.contains(twin_a.as_str()) && error.message.contains(twin_b.as_str())
            );
        }
        other => panic!("two accounts with one address must not be guessed: {other:?}"),
    }
    // Nobody of the four was sent to a revocation; both twins keep their sessions.
    let calls = slack_calls(&emulator);
    assert_eq!(count(&calls, "users.lookupByEmail"), 0, "{calls:?}");
    for request in s.requests() {
        if request.path.ends_with("resetBulk") || request.path.ends_with("session.reset") {
            for id in [&gone, &invited, &twin_a, &twin_b] {
                assert!(!request.body.contains(id.as_str()), "{id} was revoked");
            }
        }
    }
    assert_eq!(s.sessions_of(&twin_a).len(), 2);
    assert_eq!(s.sessions_of(&twin_b).len(), 2);
    for r in &report.reports[..10] {
        assert!(r.is_complete(), "{r:#?}");
    }
}

#[tokio::test]
async fn a_scan_broken_off_or_blind_falls_back_to_lookups_for_those_not_found() {
    // Pages of 10 members; the third page answers 503 every time.
    let mut config = SlackConfig::default();
    config.users_list_fails_from = Some(20);
    let emulator = start(60, config).await;
    let fleet = fleet_of(vec![("slack", slack(&emulator, 10, 1000))]);
    let subjects: Vec<Subject> = emulator.people()[1..41]
        .iter()
        .map(|p| Subject::email(&p.email))
        .collect();
    let report = fleet
        .offboard_many(&subjects, None, &OffboardOptions::default())
        .await
        .unwrap();
    assert!(report.is_complete(), "{report:#?}");
    let plan = &report.resolution[0];
    assert_eq!(plan.way, ResolveWay::Scan);
    assert_eq!(plan.scan_calls, Some(2), "{plan:?}");
    let calls = slack_calls(&emulator);
    let lookups = count(&calls, "users.lookupByEmail");
    // Found on the two pages read: 19 (the first page holds the admin too).
    assert_eq!(lookups, 40 - 19, "{calls:?}");
    assert_eq!(plan.fell_back, lookups);

    // A token without users:read.email: the scan sees no address and proves nothing.
    let mut config = SlackConfig::default();
    config.list_without_email = true;
    let emulator = start(30, config).await;
    let fleet = fleet_of(vec![("slack", slack(&emulator, 1000, 1000))]);
    let mut subjects: Vec<Subject> = emulator.people()[1..11]
        .iter()
        .map(|p| Subject::email(&p.email))
        .collect();
    subjects.push(Subject::email("nobody@corp.example"));
    let report = fleet
        .offboard_many(&subjects, None, &OffboardOptions::default())
        .await
        .unwrap();
    assert!(report.is_complete(), "{report:#?}");
    let calls = slack_calls(&emulator);
    assert_eq!(count(&calls, "users.lookupByEmail"), 11, "{calls:?}");
    match &report.reports[10].providers[0].outcome {
        ProviderOutcome::UserNotFound { evidence } => {
            assert!(evidence.contains("users.lookupByEmail"), "{evidence}")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn everyone_is_logged_out_but_the_kept_and_a_killed_run_resumes_without_twice() {
    let mut config = SlackConfig::default();
    config.workspaces = 2;
    let emulator = start(40, config).await;
    let people = emulator.people().to_vec();
    let admin = &people[0];
    let kept_by_email = &people[5];
    let kept_by_id = &people[6];
    // Only the primary owner may end the primary owner's sessions (Slack answers
    // `cannot_reset_primary_owner`): kept, as a break-glass account would be.
    let owner = emulator.slack().unwrap().primary_owner_id();
    let except = vec![
        kept_by_email.email.to_uppercase(),
        kept_by_id.slack_id.clone(),
        "stranger@corp.example".to_owned(),
        owner.clone(),
    ];
    let fleet = fleet_of(vec![
        ("slack", slack(&emulator, 7, 4)),
        ("rocketchat", rocketchat(&emulator)),
        ("docspace", emulated_provider(&emulator, "docspace")),
    ]);
    let names = vec![
        "slack".to_owned(),
        "rocketchat".to_owned(),
        "docspace".to_owned(),
    ];
    let plan = fleet.everyone(&names, &except).await.unwrap();
    let slack_part = &plan.providers[0];
    let kept: BTreeSet<&str> = slack_part
        .kept
        .iter()
        .map(|k| k.account.user.id.as_str())
        .collect();
    assert!(
        kept.contains(admin.slack_id.as_str()),
        "the credential's own account is kept"
    );
    assert!(kept.contains(kept_by_email.slack_id.as_str()));
    assert!(kept.contains(kept_by_id.slack_id.as_str()));
    assert!(kept.contains(owner.as_str()));
    assert!(
        slack_part
            .unmatched_except
            .contains(&"stranger@corp.example".to_owned())
    );
    // Everyone else, in both workspaces, once; the bot is not a person.
    assert_eq!(slack_part.targets.len(), people.len() - 3);
    assert_eq!(slack_part.not_people.get("bot"), Some(&1));
    let rc_part = &plan.providers[1];
    assert!(
        rc_part
            .kept
            .iter()
            .any(|k| k.account.user.id.as_str() == admin.rocketchat_id)
    );
    assert!(
        rc_part
            .kept
            .iter()
            .any(|k| k.account.user.id.as_str() == kept_by_email.rocketchat_id)
    );
    assert!(
        rc_part
            .targets
            .iter()
            .all(|a| a.user.id.as_str() != kept_by_email.rocketchat_id)
    );

    let ds_part = &plan.providers[2];
    assert!(
        ds_part
            .kept
            .iter()
            .any(|k| k.reason == "the credential's own account")
    );
    assert!(
        ds_part
            .kept
            .iter()
            .any(|k| k.account.user.id.as_str() == kept_by_email.docspace_id)
    );
    let ds_kept_before = emulator
        .docspace()
        .unwrap()
        .active_events_of(&kept_by_email.docspace_id)
        .len();
    assert!(ds_kept_before > 0);
    let kept_sessions_before = (
        emulator
            .slack()
            .unwrap()
            .sessions_of(&kept_by_email.slack_id)
            .len(),
        emulator
            .rocketchat()
            .unwrap()
            .live_sessions_of(&kept_by_email.rocketchat_id)
            .len(),
    );
    assert!(kept_sessions_before.0 > 0 && kept_sessions_before.1 > 0);

    // Killed after its first finished pair, again and again, until it finishes.
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("everyone.jsonl");
    let mut runs = 0;
    let report = loop {
        runs += 1;
        assert!(runs < 200, "every run finishes at least one pair");
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let options = OffboardOptions::default().with_progress(move |e| {
            if matches!(e, Progress::PairDone { .. }) {
                let _ = tx.send(());
            }
        });
        tokio::select! {
            done = fleet.revoke_everyone(&plan, Some(&journal), &options) => break done.unwrap(),
            _ = rx.recv() => {}
        }
    };
    assert!(runs > 5, "the run was interrupted ({runs} runs)");
    assert!(report.is_complete(), "{:#?}", report.summary);
    assert_eq!(
        report
            .reports
            .iter()
            .map(|r| r.providers.len())
            .sum::<usize>(),
        plan.count(),
        "one pair per planned account, none elsewhere"
    );
    // Everyone planned is logged out; the kept keep every session.
    let s = emulator.slack().unwrap();
    let rc = emulator.rocketchat().unwrap();
    for account in &slack_part.targets {
        assert!(
            s.sessions_of(account.user.id.as_str()).is_empty(),
            "{}",
            account.user.id
        );
    }
    for account in &rc_part.targets {
        assert!(
            rc.live_sessions_of(account.user.id.as_str()).is_empty(),
            "{}",
            account.user.id
        );
    }
    assert_eq!(
        s.sessions_of(&kept_by_email.slack_id).len(),
        kept_sessions_before.0
    );
    assert_eq!(
        rc.live_sessions_of(&kept_by_email.rocketchat_id).len(),
        kept_sessions_before.1
    );
    assert!(!s.sessions_of(&admin.slack_id).is_empty());
    let ds = emulator.docspace().unwrap();
    for account in &ds_part.targets {
        assert!(
            ds.active_events_of(account.user.id.as_str()).is_empty(),
            "{}",
            account.user.id
        );
    }
    assert_eq!(
        ds.active_events_of(&kept_by_email.docspace_id).len(),
        ds_kept_before
    );
    // Nobody was sent to a logout twice, over all the runs.
    let mut sent: BTreeMap<String, usize> = BTreeMap::new();
    for request in s.requests() {
        if request.path.ends_with("resetBulk") {
            for account in &slack_part.targets {
                if request.body.contains(account.user.id.as_str()) {
                    *sent.entry(account.user.id.to_string()).or_default() += 1;
                }
            }
        }
    }
    for request in rc.requests() {
        if request.path.ends_with("users.logout") {
            for account in &rc_part.targets {
                if request.body.contains(account.user.id.as_str()) {
                    *sent.entry(account.user.id.to_string()).or_default() += 1;
                }
            }
        }
    }
    assert!(sent.values().all(|&n| n == 1), "logged out twice: {sent:?}");
    // DocSpace cannot list another user's sessions, so a logout in flight when the
    // run was killed cannot be seen to have landed: it is sent again on resume (at
    // least once, never skipped), and only then: every send follows a `sending` line
    // of its own (a line may have no send: killed first), and no pair is journaled as
    // revoked twice.
    let journal_text = std::fs::read_to_string(&journal).unwrap();
    let lines: Vec<serde_json::Value> = journal_text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let count_lines = |kind: &str, user: &str| {
        lines
            .iter()
            .filter(|l| l["type"] == kind && l["provider"] == "docspace" && l["user"] == user)
            .count()
    };
    for account in &ds_part.targets {
        let id = account.user.id.as_str();
        let sends = ds
            .requests()
            .iter()
            .filter(|r| r.path.contains("/logoutall/") && r.path.ends_with(id))
            .count();
        assert!(sends >= 1, "{id} was never sent to a logout");
        assert!(
            sends <= count_lines("sending", id),
            "{id}: a send without its journal line"
        );
        assert!(count_lines("revoked", id) <= 1, "{id} revoked twice");
        *sent.entry(id.to_owned()).or_default() += 1;
    }
    assert_eq!(
        sent.len(),
        plan.count(),
        "everyone planned was sent to a logout"
    );
}

#[tokio::test]
async fn rocketchat_scans_never_match_deactivated_users_or_bots() {
    let emulator = start(20, SlackConfig::default()).await;
    let rc = emulator.rocketchat().unwrap();
    rc.add_deactivated_user("former@corp.example");
    rc.add_bot("robot@corp.example");
    let fleet = fleet_of(vec![("rocketchat", rocketchat(&emulator))]);
    let mut subjects: Vec<Subject> = emulator.people()[1..9]
        .iter()
        .map(|p| Subject::email(&p.email))
        .collect();
    subjects.push(Subject::email("former@corp.example"));
    subjects.push(Subject::email("robot@corp.example"));
    subjects.push(Subject::email("nobody@corp.example"));
    let report = fleet
        .offboard_many(&subjects, None, &OffboardOptions::default())
        .await
        .unwrap();
    assert_eq!(report.resolution[0].way, ResolveWay::Scan);
    for r in &report.reports[..8] {
        assert!(r.is_complete(), "{r:#?}");
    }
    for (r, status) in report.reports[8..10].iter().zip(["deactivated", "bot"]) {
        match &r.providers[0].outcome {
            ProviderOutcome::UserNotFound { evidence } => {
                assert!(evidence.contains(status), "{evidence}")
            }
            other => panic!("{}: {other:?}", r.subject),
        }
    }
    let lookups = rc
        .requests()
        .iter()
        .filter(|q| {
            q.path.ends_with("users.info")
                && q.query.as_deref().is_some_and(|q| q.contains("email"))
        })
        .count();
    // Offset pages can skip an account when the directory changes under them: an
    // address seen on no page at all is looked up, and only its lookup says absent.
    assert_eq!(lookups, 1, "only the address seen nowhere was looked up");
    match &report.reports[10].providers[0].outcome {
        ProviderOutcome::UserNotFound { evidence } => {
            assert!(evidence.contains("users.info"), "{evidence}")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn one_account_claimed_by_two_people_of_a_run_is_done_for_neither() {
    let emulator = start(10, SlackConfig::default()).await;
    let fleet = fleet_of(vec![("slack", slack(&emulator, 1000, 1000))]);
    let target = &emulator.people()[2];
    let subjects = vec![
        Subject::email("first@corp.example").with_id("slack", target.slack_id.clone()),
        Subject::email("second@corp.example").with_id("slack", target.slack_id.clone()),
    ];
    let before = emulator
        .slack()
        .unwrap()
        .sessions_of(&target.slack_id)
        .len();
    let report = fleet
        .offboard_many(&subjects, None, &OffboardOptions::default())
        .await
        .unwrap();
    for r in &report.reports {
        match &r.providers[0].outcome {
            ProviderOutcome::Failed { error } => {
                assert_eq!(
                    error.kind,
                    unisession::ErrorKind::IdentityMismatch,
                    "{error:?}"
                )
            }
            other => panic!("{}: {other:?}", r.subject),
        }
    }
    assert_eq!(
        emulator
            .slack()
            .unwrap()
            .sessions_of(&target.slack_id)
            .len(),
        before
    );
}
