//! The fleet end to end against the three emulators.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use secrecy::SecretString;
use unisession::emulated::{self, EmulatedOptions};
use unisession::emulator::{Emulator, EmulatorConfig, Person};
use unisession::fleet::{Fleet, OffboardOptions, Progress, ProviderOutcome, Resolution, Subject};
use unisession::{
    Capabilities, DeviceScope, Email, ErrorKind, ListQuery, Page, Result, Revocation, Session,
    SessionProvider, SessionRef, UserId, UserLookup, Verification,
};
use unisession_http::RetryConfig;
use unisession_testkit::capture::Capture;

/// Fast retries, and pacing sped up: these emulators enforce no rate limit.
fn fast() -> EmulatedOptions {
    EmulatedOptions::default()
        .with_time_scale(1000.0)
        .with_retry(
            RetryConfig::default()
                .with_max_retries(3)
                .with_initial_backoff(Duration::from_millis(5))
                .with_max_backoff(Duration::from_millis(20)),
        )
}

async fn emulators(users: usize) -> Emulator {
    Emulator::start(EmulatorConfig::new().users(users))
        .await
        .unwrap()
}

/// Live sessions of a person in each provider, read from the emulators' state.
fn live(emulator: &Emulator, person: &Person) -> BTreeMap<&'static str, usize> {
    BTreeMap::from([
        (
            "docspace",
            emulator
                .docspace()
                .unwrap()
                .active_events_of(&person.docspace_id)
                .len(),
        ),
        (
            "rocketchat",
            emulator
                .rocketchat()
                .unwrap()
                .live_sessions_of(&person.rocketchat_id)
                .len(),
        ),
        (
            "slack",
            emulator
                .slack()
                .unwrap()
                .sessions_of(&person.slack_id)
                .len(),
        ),
        ("okta", {
            let okta = emulator.okta().unwrap();
            okta.user_id_by_email(&person.email)
                .map_or(0, |id| okta.sessions_of(&id).len())
        }),
        ("entra", {
            let entra = emulator.entra().unwrap();
            entra
                .user_id_by_email(&person.email)
                .map_or(0, |id| entra.sessions_of(&id))
        }),
        ("google", {
            let google = emulator.google().unwrap();
            google.sessions_of(&person.email)
        }),
    ])
}

/// How many providers the emulators serve (every pair count is per person × this).
const PROVIDERS: usize = unisession::emulator::ProviderKind::ALL.len();

#[tokio::test]
async fn one_person_is_offboarded_everywhere_and_nobody_else_is_touched() {
    let emulator = emulators(6).await;
    let alice = emulator.people()[1].clone();
    let bob = emulator.people()[2].clone();
    let bob_before = live(&emulator, &bob);
    assert!(live(&emulator, &alice).values().all(|n| *n > 0));
    let fleet = emulated::fleet(&emulator, &fast())
        .unwrap()
        .build()
        .unwrap();

    let report = fleet.offboard(&Subject::email(&alice.email)).await;

    assert!(report.is_complete(), "{:#?}", report.problems());
    assert_eq!(
        live(&emulator, &alice).values().sum::<usize>(),
        0,
        "no session of alice is left"
    );
    assert_eq!(live(&emulator, &bob), bob_before, "bob is untouched");
    let by_name: BTreeMap<_, _> = report
        .providers
        .iter()
        .map(|p| (p.provider.as_str(), p))
        .collect();
    assert_eq!(
        by_name["docspace"].user.as_ref().unwrap().as_str(),
        alice.docspace_id
    );
    assert_eq!(
        by_name["rocketchat"].user.as_ref().unwrap().as_str(),
        alice.rocketchat_id
    );
    assert_eq!(
        by_name["slack"].user.as_ref().unwrap().as_str(),
        alice.slack_id
    );
    // DocSpace lists only the caller's own sessions: honestly unverifiable.
    assert!(matches!(
        &by_name["docspace"].outcome,
        ProviderOutcome::Revoked {
            verified: Verification::Unverifiable { .. },
            ..
        }
    ));
    for name in ["rocketchat", "slack"] {
        assert!(
            matches!(
                &by_name[name].outcome,
                ProviderOutcome::Revoked {
                    verified: Verification::Verified,
                    ..
                }
            ),
            "{name}: {:?}",
            by_name[name].outcome
        );
    }
    // Okta lists no session: its System Log confirms the clear.
    assert!(
        matches!(
            &by_name["okta"].outcome,
            ProviderOutcome::Revoked {
                verified: Verification::Confirmed { .. },
                ..
            }
        ),
        "{:?}",
        by_name["okta"].outcome
    );
    assert_eq!(
        report.providers[0].provider, "okta",
        "the identity provider first"
    );
    assert_eq!(report.summary.revoked, PROVIDERS);
}

#[tokio::test]
async fn a_dry_run_changes_nothing_and_shows_what_would_happen() {
    let emulator = emulators(4).await;
    let alice = emulator.people()[1].clone();
    let before = live(&emulator, &alice);
    let fleet = emulated::fleet(&emulator, &fast())
        .unwrap()
        .build()
        .unwrap();

    let plan = fleet.plan(&Subject::email(&alice.email)).await;

    assert_eq!(live(&emulator, &alice), before);
    let requests = [
        emulator.docspace().unwrap().requests(),
        emulator.rocketchat().unwrap().requests(),
        emulator.slack().unwrap().requests(),
    ];
    for request in requests.iter().flatten() {
        let mutating = request.path.contains("logout")
            || request.path.contains("reset")
            || request.path.contains("invalidate");
        assert!(
            !mutating,
            "a dry run sent {} {}",
            request.method, request.path
        );
    }
    let by_name: BTreeMap<_, _> = plan
        .providers
        .iter()
        .map(|p| (p.provider.as_str(), p))
        .collect();
    assert!(matches!(
        by_name["slack"].resolution,
        Resolution::Found { .. }
    ));
    assert_eq!(
        by_name["slack"].sessions.as_ref().unwrap().len(),
        before["slack"]
    );
    assert_eq!(
        by_name["rocketchat"].sessions.as_ref().unwrap().len(),
        before["rocketchat"]
    );
    assert_eq!(
        by_name["docspace"].sessions, None,
        "DocSpace cannot list another user's sessions"
    );
    assert!(
        by_name["docspace"]
            .cannot
            .iter()
            .any(|c| c.contains("cannot list")),
        "{:?}",
        by_name["docspace"].cannot
    );
    assert_eq!(
        by_name["slack"].method.as_deref(),
        Some("revoke_user_sessions")
    );
}

#[tokio::test]
async fn a_provider_down_and_one_refusing_are_failed_while_the_rest_is_done() {
    let emulator = emulators(4).await;
    // people[1] holds the DocSpace member credential used below; offboard someone else.
    let alice = emulator.people()[2].clone();
    let ds = emulator.docspace().unwrap();
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let retry = RetryConfig::default()
        .with_max_retries(1)
        .with_initial_backoff(Duration::from_millis(5));
    let member = unisession::docspace::DocSpaceBuilder::new(ds.base_url())
        .with_personal_token(SecretString::from(ds.credentials().member_token.clone()))
        .build()
        .unwrap();
    let down = unisession::slack::SlackBuilder::new(format!("http://127.0.0.1:{closed_port}/api/"))
        .with_token(SecretString::from("xoxp-1-2-3"))
        .with_transport(unisession::http::TransportOptions::new().with_retry(retry))
        .build()
        .unwrap();
    let providers = emulated::providers(&emulator, &fast()).unwrap();
    let rocketchat = providers
        .into_iter()
        .find(|(n, _)| n == "rocketchat")
        .unwrap()
        .1;
    let fleet = Fleet::builder()
        .provider("docspace", Arc::new(member))
        .provider("rocketchat", rocketchat)
        .provider("slack", Arc::new(down))
        .step_retries(0)
        .build()
        .unwrap();

    let report = fleet.offboard(&Subject::email(&alice.email)).await;

    assert!(!report.is_complete());
    let problems: BTreeMap<_, _> = report.problems().into_iter().collect();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(
        problems["docspace"].contains("permission denied"),
        "{}",
        problems["docspace"]
    );
    assert!(
        problems["slack"].contains("transport"),
        "{}",
        problems["slack"]
    );
    let rc = report
        .providers
        .iter()
        .find(|p| p.provider == "rocketchat")
        .unwrap();
    assert!(matches!(
        rc.outcome,
        ProviderOutcome::Revoked {
            verified: Verification::Verified,
            ..
        }
    ));
    assert_eq!(
        emulator
            .rocketchat()
            .unwrap()
            .live_sessions_of(&alice.rocketchat_id)
            .len(),
        0
    );
    assert!(
        !ds.active_events_of(&alice.docspace_id).is_empty(),
        "the refused provider kept the sessions"
    );
    assert_eq!((report.summary.failed, report.summary.revoked), (2, 1));
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["complete"], false);
    assert_eq!(json["providers"][0]["outcome"], "failed");
    assert_eq!(json["providers"][0]["error"]["kind"], "permission_denied");
}

/// Claims success without revoking anything.
#[derive(Debug)]
struct Liar(Arc<dyn SessionProvider>);

impl std::fmt::Display for Liar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "liar")
    }
}

#[async_trait::async_trait]
impl SessionProvider for Liar {
    fn capabilities(&self) -> &Capabilities {
        self.0.capabilities()
    }
    async fn list_sessions(&self, query: &ListQuery) -> Result<Page<Session>> {
        self.0.list_sessions(query).await
    }
    async fn revoke_session(&self, _: &SessionRef) -> Result<Revocation> {
        Ok(Revocation::revoked(1))
    }
    async fn revoke_user_sessions(&self, _: &UserId, _: DeviceScope) -> Result<Revocation> {
        Ok(Revocation::revoked_unknown_count())
    }
    async fn find_user(&self, email: &Email) -> Result<UserLookup> {
        self.0.find_user(email).await
    }
}

#[tokio::test]
async fn verification_catches_a_provider_that_claims_success_but_leaves_sessions() {
    let emulator = emulators(3).await;
    let alice = emulator.people()[1].clone();
    let slack = emulated::providers(&emulator, &fast())
        .unwrap()
        .into_iter()
        .find(|(n, _)| n == "slack")
        .unwrap()
        .1;
    let fleet = Fleet::builder()
        .provider("slack", Arc::new(Liar(slack)))
        .build()
        .unwrap();
    let left = emulator.slack().unwrap().sessions_of(&alice.slack_id).len() as u64;

    let report = fleet.offboard(&Subject::email(&alice.email)).await;

    assert!(!report.is_complete(), "a lie must not pass");
    assert_eq!(
        report.providers[0].outcome,
        ProviderOutcome::Revoked {
            count: None,
            verified: Verification::StillActive { remaining: left }
        }
    );
    assert_eq!(report.summary.still_active, 1);
    assert!(report.problems()[0].1.contains("still active"));
}

#[tokio::test]
async fn a_person_unknown_to_one_provider_is_user_not_found_there_only() {
    let emulator = emulators(3).await;
    let slack = emulator.slack().unwrap();
    let rc = emulator.rocketchat().unwrap();
    // A contractor exists in Slack and Rocket.Chat only.
    let slack_id = slack.add_user("contractor@corp.example");
    slack.add_sessions(&slack_id, 2);
    let rc_id = rc.add_user("contractor@corp.example");
    rc.add_session(&rc_id);
    let fleet = emulated::fleet(&emulator, &fast())
        .unwrap()
        .build()
        .unwrap();

    let report = fleet
        .offboard(&Subject::email("contractor@corp.example"))
        .await;

    assert!(report.is_complete(), "{:?}", report.problems());
    let outcomes: BTreeMap<_, _> = report
        .providers
        .iter()
        .map(|p| (p.provider.as_str(), p.outcome.name()))
        .collect();
    assert_eq!(
        outcomes,
        BTreeMap::from([
            ("docspace", "user_not_found"),
            ("entra", "user_not_found"),
            ("google", "user_not_found"),
            ("okta", "user_not_found"),
            ("rocketchat", "revoked"),
            ("slack", "revoked")
        ])
    );
    assert!(slack.sessions_of(&slack_id).is_empty());
    assert!(rc.live_sessions_of(&rc_id).is_empty());
}

#[tokio::test]
async fn the_audit_trail_records_each_action_with_fingerprints_and_no_secret() {
    let emulator = emulators(3).await;
    let alice = emulator.people()[1].clone();
    let slack_sessions: Vec<String> = emulator
        .slack()
        .unwrap()
        .sessions_of(&alice.slack_id)
        .iter()
        .map(u64::to_string)
        .collect();
    let audit = Capture::default();
    let fleet = emulated::fleet(&emulator, &fast())
        .unwrap()
        .audit_log(audit.clone())
        .build()
        .unwrap();
    fleet.plan(&Subject::email(&alice.email)).await;
    fleet.offboard(&Subject::email(&alice.email)).await;

    let text = audit.text();
    let records: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let actions: BTreeSet<(String, String)> = records
        .iter()
        .map(|r| {
            (
                r["provider"].as_str().unwrap().to_owned(),
                r["operation"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for provider in ["docspace", "rocketchat", "slack"] {
        for operation in ["find_user", "revoke_user_sessions", "verify"] {
            assert!(
                actions.contains(&(provider.to_owned(), operation.to_owned())),
                "{provider} {operation}"
            );
        }
    }
    let listed = records
        .iter()
        .find(|r| r["provider"] == "slack" && r["operation"] == "list_sessions")
        .unwrap();
    let fingerprints: Vec<&str> = listed["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(fingerprints.len(), slack_sessions.len());
    assert!(
        fingerprints
            .iter()
            .all(|f| f.starts_with("sha256:") && f.len() == 7 + 64)
    );
    for record in &records {
        assert!(record["time"].is_string() && record["subject"] == alice.email);
        assert!(record["retries"].is_u64());
    }
    for id in &slack_sessions {
        assert!(!text.contains(id.as_str()), "a session id appears in clear");
    }
    let ds = emulator.docspace().unwrap().credentials();
    let rc = emulator.rocketchat().unwrap().credentials();
    for secret in [
        &ds.admin_token,
        &rc.admin_pat,
        &emulator.slack().unwrap().tokens().admin,
    ] {
        assert!(!text.contains(secret.as_str()));
    }
}

#[tokio::test]
async fn many_people_use_the_bulk_call_and_end_clean() {
    let emulator = emulators(12).await;
    let people: Vec<Person> = emulator.people()[1..].to_vec();
    let subjects: Vec<Subject> = people.iter().map(|p| Subject::email(&p.email)).collect();
    let fleet = emulated::fleet(&emulator, &fast())
        .unwrap()
        .build()
        .unwrap();
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = events.clone();
    let options =
        OffboardOptions::default().with_progress(move |e| seen.lock().unwrap().push(e.clone()));

    let report = fleet
        .offboard_many(&subjects, None, &options)
        .await
        .unwrap();

    assert!(
        report.is_complete(),
        "{:?}",
        report
            .reports
            .iter()
            .flat_map(|r| r.problems())
            .collect::<Vec<_>>()
    );
    for person in &people {
        assert_eq!(
            live(&emulator, person).values().sum::<usize>(),
            0,
            "{}",
            person.email
        );
    }
    let bulk_calls = emulator
        .slack()
        .unwrap()
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("resetBulk"))
        .count();
    assert_eq!(bulk_calls, 1, "Slack takes everyone in one resetBulk");
    let listings = emulator
        .slack()
        .unwrap()
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("admin.users.session.list"))
        .count();
    assert!(
        listings <= 3,
        "the queued job is verified with listings of everyone, not one per person: {listings}"
    );
    for r in &report.reports {
        let slack = r.providers.iter().find(|p| p.provider == "slack").unwrap();
        assert_eq!(
            slack.outcome,
            ProviderOutcome::Queued {
                verified: Verification::Verified
            },
            "{}",
            r.subject
        );
    }
    assert_eq!(
        report.summary.queued,
        people.len(),
        "Slack's part is queued, then verified"
    );
    let events = events.lock().unwrap();
    assert_eq!(
        events.first(),
        Some(&Progress::Started {
            pairs: people.len() * PROVIDERS,
            done: 0
        })
    );
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, Progress::PairDone { .. }))
            .count(),
        people.len() * PROVIDERS
    );
    assert_eq!(events.last(), Some(&Progress::Finished));
}

#[tokio::test]
async fn an_interrupted_run_resumes_from_the_journal_at_every_step_without_duplicates_or_gaps() {
    let emulator = emulators(50).await;
    let people: Vec<Person> = emulator.people()[1..].to_vec();
    let subjects: Vec<Subject> = people.iter().map(|p| Subject::email(&p.email)).collect();
    // A Slack `resetBulk` in flight when a run is killed is looked at on resume for
    // up to the queued wait before it is sent again (it may not have landed): short
    // here, where the emulator's queued job takes 30 ms.
    let fleet = emulated::fleet(&emulator, &fast())
        .unwrap()
        .queued_wait(Duration::from_secs(1))
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("run.jsonl");
    let pairs = subjects.len() * PROVIDERS;
    let mut runs = 0;
    loop {
        runs += 1;
        assert!(runs <= pairs + 1, "every run must finish at least one pair");
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let options = OffboardOptions::default().with_progress(move |e| {
            if matches!(e, Progress::PairDone { .. }) {
                let _ = tx.send(());
            }
        });
        // Interrupt each run right after its first finished pair.
        tokio::select! {
            finished = fleet.offboard_many(&subjects, Some(&journal), &options) => {
                let report = finished.unwrap();
                assert!(report.is_complete());
                assert!(report.resumed > 0);
                break;
            }
            _ = rx.recv() => {}
        }
    }
    assert!(
        runs > 10,
        "the run was really interrupted many times ({runs})"
    );
    let text = std::fs::read_to_string(&journal).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["type"], "header");
    // An accepted revocation is journaled once, before its outcome: a resumed run
    // verifies it instead of revoking again.
    let revoked: Vec<(String, String)> = lines[1..]
        .iter()
        .filter(|l| l["type"] == "revoked")
        .map(|l| {
            (
                l["subject"].as_str().unwrap().to_owned(),
                l["provider"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let revoked_unique: BTreeSet<_> = revoked.iter().cloned().collect();
    assert_eq!(
        revoked.len(),
        revoked_unique.len(),
        "a pair was revoked twice"
    );
    let outcomes: Vec<(String, String)> = lines[1..]
        .iter()
        .filter(|l| l["type"] == "outcome")
        .map(|l| {
            (
                l["subject"].as_str().unwrap().to_owned(),
                l["provider"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let unique: BTreeSet<_> = outcomes.iter().cloned().collect();
    assert_eq!(outcomes.len(), unique.len(), "a pair was journaled twice");
    assert_eq!(unique.len(), pairs, "a pair is missing");
    for person in &people {
        assert_eq!(
            live(&emulator, person).values().sum::<usize>(),
            0,
            "{}",
            person.email
        );
    }
    // The journal refuses a different input.
    let fewer = &subjects[1..];
    let err = fleet
        .offboard_many(fewer, Some(&journal), &OffboardOptions::default())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("different run"), "{err}");
}

#[tokio::test]
async fn explicit_ids_skip_the_lookup_and_an_unknown_email_everywhere_is_not_an_error() {
    let emulator = emulators(3).await;
    let alice = emulator.people()[1].clone();
    let fleet = emulated::fleet(&emulator, &fast())
        .unwrap()
        .build()
        .unwrap();
    let okta_id = emulator
        .okta()
        .unwrap()
        .user_id_by_email(&alice.email)
        .unwrap();
    let entra_id = emulator
        .entra()
        .unwrap()
        .user_id_by_email(&alice.email)
        .unwrap();
    let google_id = emulator
        .google()
        .unwrap()
        .user_id_by_email(&alice.email)
        .unwrap();
    let subject = Subject::ids([
        ("slack", alice.slack_id.as_str()),
        ("rocketchat", alice.rocketchat_id.as_str()),
        ("docspace", alice.docspace_id.as_str()),
        ("okta", okta_id.as_str()),
        ("entra", entra_id.as_str()),
        ("google", google_id.as_str()),
    ]);
    let report = fleet.offboard(&subject).await;
    assert!(report.is_complete());
    let lookups = emulator
        .slack()
        .unwrap()
        .requests()
        .iter()
        .filter(|r| r.path.contains("lookupByEmail"))
        .count();
    assert_eq!(lookups, 0);
    let report = fleet.offboard(&Subject::email("nobody@corp.example")).await;
    assert!(report.is_complete());
    assert_eq!(report.summary.user_not_found, PROVIDERS);
    assert!(report.providers.iter().all(
        |p| matches!(&p.outcome, ProviderOutcome::UserNotFound { evidence } if !evidence.is_empty())
    ));
    let err = fleet.offboard(&Subject::email("not an email")).await;
    assert!(
        matches!(&err.providers[0].outcome, ProviderOutcome::Failed { error } if error.kind == ErrorKind::InvalidInput)
    );
}

#[tokio::test]
async fn sessions_are_counted_before_revoking_when_asked_and_the_bulk_path_lists_everyone_once() {
    let emulator = emulators(10).await;
    let people: Vec<Person> = emulator.people()[1..].to_vec();
    let before: Vec<BTreeMap<&str, usize>> = people.iter().map(|p| live(&emulator, p)).collect();
    let subjects: Vec<Subject> = people.iter().map(|p| Subject::email(&p.email)).collect();

    // Off by default: no count, no extra listing.
    let plain = emulated::fleet(&emulator, &fast())
        .unwrap()
        .build()
        .unwrap();
    let report = plain.offboard(&subjects[0]).await;
    assert!(report.providers.iter().all(|p| p.sessions_before.is_none()));

    let fleet = emulated::fleet(&emulator, &fast())
        .unwrap()
        .count_before(true)
        .build()
        .unwrap();
    // One person: the per-user listing gives the count; DocSpace cannot list
    // another user's sessions, so it has none.
    let report = fleet.offboard(&subjects[1]).await;
    assert!(report.is_complete());
    for p in &report.providers {
        // DocSpace lists only the caller's sessions, Okta none at all.
        let expected = match p.provider.as_str() {
            "docspace" | "okta" | "entra" | "google" => None,
            name => Some(before[1][name] as u64),
        };
        assert_eq!(p.sessions_before, expected, "{}", p.provider);
        assert!(expected.is_none_or(|n| n > 0), "the seed gives sessions");
        if expected.is_some() {
            assert_eq!(p.sessions_after(), Some(0), "{}", p.provider);
        }
    }

    // Many: Slack's bulk path counts everyone with listings of every session.
    let slack = emulator.slack().unwrap();
    let listed_before = slack
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("admin.users.session.list"))
        .count();
    let rest = &subjects[2..];
    let many = fleet
        .offboard_many(rest, None, &OffboardOptions::default())
        .await
        .unwrap();
    assert!(many.is_complete());
    for (report, counts) in many.reports.iter().zip(&before[2..]) {
        for p in &report.providers {
            if !["docspace", "okta", "entra", "google"].contains(&p.provider.as_str()) {
                assert_eq!(
                    p.sessions_before,
                    Some(counts[p.provider.as_str()] as u64),
                    "{} in {}",
                    report.subject,
                    p.provider
                );
            }
        }
    }
    let listings = slack
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("admin.users.session.list"))
        .count()
        - listed_before;
    assert!(
        listings <= 4,
        "counting {} people costs a listing of everyone, not one per person: {listings}",
        rest.len()
    );
}
