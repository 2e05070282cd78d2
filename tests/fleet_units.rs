//! Fleet logic with the in-memory provider and mocks: resolution, fallbacks,
//! deadlines, retries, queued verification, the journal's edge cases.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use unisession::fleet::{
    Fleet, JournalError, JournalRecord, OffboardOptions, ProviderOutcome, Subject,
};
use unisession::{
    Capabilities, DeviceKind, Error, ErrorKind, InMemoryProvider, MockSessionProvider, Page,
    Revocation, Session, SessionId, UserId, UserLookup, UserRef, Verification,
};

fn memory(name: &str, caps: Capabilities) -> Arc<InMemoryProvider> {
    Arc::new(
        InMemoryProvider::builder()
            .name(name)
            .capabilities(caps)
            .build(),
    )
}

fn mock(caps: Capabilities) -> MockSessionProvider {
    let mut mock = MockSessionProvider::new();
    mock.expect_capabilities().return_const(caps);
    mock
}

#[test]
fn names_must_be_unique_and_non_empty() {
    let a = Arc::new(InMemoryProvider::new());
    assert!(Fleet::builder().build().is_err());
    let err = Fleet::builder()
        .provider("x", a.clone())
        .provider("x", a.clone())
        .build()
        .unwrap_err();
    assert!(err.message().contains("used twice"), "{err}");
    assert!(Fleet::builder().provider(" ", a.clone()).build().is_err());
    assert!(
        Fleet::builder()
            .provider("slack:a", a.clone())
            .provider("slack:b", a)
            .build()
            .is_ok()
    );
}

#[tokio::test]
async fn a_provider_without_lookup_is_unsupported_for_an_email_and_is_never_called() {
    let mut caps = Capabilities::none();
    caps.revoke_user_sessions = true;
    // No expectation but capabilities: any call to the provider would panic.
    let fleet = Fleet::builder()
        .provider("legacy", Arc::new(mock(caps)))
        .build()
        .unwrap();
    let report = fleet.offboard(&Subject::email("alice@corp.example")).await;
    let ProviderOutcome::Unsupported { reason } = &report.providers[0].outcome else {
        panic!("{report:?}")
    };
    assert!(
        reason.contains("give the person's legacy user id"),
        "{reason}"
    );
    assert!(!report.is_complete());
}

#[tokio::test]
async fn without_a_user_wide_call_sessions_are_revoked_one_by_one() {
    let mut caps = InMemoryProvider::full_capabilities();
    caps.revoke_user_sessions = false;
    caps.revoke_user_sessions_by_device = false;
    let wiki = memory("wiki", caps);
    let alice = wiki.add_user("alice@corp.example", "Alice");
    let bob = wiki.add_user("bob@corp.example", "Bob");
    for _ in 0..3 {
        wiki.add_session(&alice, DeviceKind::Browser);
    }
    wiki.add_session(&bob, DeviceKind::Mobile);
    let fleet = Fleet::builder()
        .provider("wiki", wiki.clone())
        .build()
        .unwrap();
    let report = fleet.offboard(&Subject::email("alice@corp.example")).await;
    assert_eq!(
        report.providers[0].outcome,
        ProviderOutcome::Revoked {
            count: Some(3),
            verified: Verification::Verified
        }
    );
    assert!(wiki.sessions_of(&alice).is_empty());
    assert_eq!(wiki.sessions_of(&bob).len(), 1);
}

#[tokio::test]
async fn a_provider_that_can_revoke_nothing_is_unsupported() {
    let mut caps = Capabilities::none();
    caps.find_user_by_email = true;
    let wiki = memory("wiki", caps);
    wiki.add_user("alice@corp.example", "Alice");
    let fleet = Fleet::builder().provider("wiki", wiki).build().unwrap();
    let report = fleet.offboard(&Subject::email("alice@corp.example")).await;
    assert!(matches!(
        report.providers[0].outcome,
        ProviderOutcome::Unsupported { .. }
    ));
}

#[tokio::test]
async fn a_user_with_no_sessions_is_already_clean() {
    let wiki = memory("wiki", InMemoryProvider::full_capabilities());
    wiki.add_user("alice@corp.example", "Alice");
    let fleet = Fleet::builder().provider("wiki", wiki).build().unwrap();
    let report = fleet.offboard(&Subject::email("alice@corp.example")).await;
    assert_eq!(
        report.providers[0].outcome,
        ProviderOutcome::AlreadyClean {
            verified: Verification::Verified
        }
    );
    assert!(report.is_complete());
}

#[tokio::test]
async fn a_slow_provider_hits_its_deadline_without_holding_back_the_others() {
    let mut caps = Capabilities::none();
    caps.revoke_user_sessions = true;
    let mut slow = mock(caps);
    slow.expect_revoke_user_sessions().returning(|_, _| {
        std::thread::sleep(Duration::from_millis(10));
        Ok(Revocation::revoked(1))
    });
    let slow = SlowProvider(Arc::new(slow));
    let wiki = memory("wiki", InMemoryProvider::full_capabilities());
    let alice = wiki.add_user("alice@corp.example", "Alice");
    wiki.add_session(&alice, DeviceKind::Browser);
    let fleet = Fleet::builder()
        .provider("slow", Arc::new(slow))
        .provider("wiki", wiki.clone())
        .deadline(Duration::from_millis(200))
        .build()
        .unwrap();
    let subject = Subject::email("alice@corp.example").with_id("slow", "S1");
    let started = std::time::Instant::now();
    let report = fleet.offboard(&subject).await;
    assert!(started.elapsed() < Duration::from_secs(2));
    let ProviderOutcome::Failed { error } = &report.providers[0].outcome else {
        panic!("{report:?}")
    };
    assert_eq!(error.kind, ErrorKind::Timeout);
    assert!(matches!(
        report.providers[1].outcome,
        ProviderOutcome::Revoked { .. }
    ));
    assert!(wiki.sessions_of(&alice).is_empty());
}

/// Delegates to an inner provider but takes 10 seconds to revoke.
#[derive(Debug)]
struct SlowProvider(Arc<MockSessionProvider>);

impl std::fmt::Display for SlowProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("slow")
    }
}

#[async_trait::async_trait]
impl unisession::SessionProvider for SlowProvider {
    fn capabilities(&self) -> &Capabilities {
        self.0.capabilities()
    }
    async fn list_sessions(&self, q: &unisession::ListQuery) -> unisession::Result<Page<Session>> {
        self.0.list_sessions(q).await
    }
    async fn revoke_session(&self, s: &unisession::SessionRef) -> unisession::Result<Revocation> {
        self.0.revoke_session(s).await
    }
    async fn revoke_user_sessions(
        &self,
        u: &UserId,
        scope: unisession::DeviceScope,
    ) -> unisession::Result<Revocation> {
        tokio::time::sleep(Duration::from_secs(10)).await;
        self.0.revoke_user_sessions(u, scope).await
    }
}

#[tokio::test]
async fn temporary_failures_are_retried_and_permanent_ones_are_not() {
    let mut caps = Capabilities::none();
    caps.revoke_user_sessions = true;
    let mut flaky = mock(caps.clone());
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    flaky.expect_revoke_user_sessions().returning(move |_, _| {
        if counter.fetch_add(1, Ordering::SeqCst) == 0 {
            Err(Error::new(ErrorKind::Transport, "connection reset"))
        } else {
            Ok(Revocation::revoked(2))
        }
    });
    let mut denied = mock(caps);
    denied
        .expect_revoke_user_sessions()
        .times(1)
        .returning(|_, _| Err(Error::new(ErrorKind::PermissionDenied, "not an admin")));
    let fleet = Fleet::builder()
        .provider("flaky", Arc::new(flaky))
        .provider("denied", Arc::new(denied))
        .build()
        .unwrap();
    let subject = Subject::ids([("flaky", "U1"), ("denied", "U1")]);
    let report = fleet.offboard(&subject).await;
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert!(matches!(
        report.providers[0].outcome,
        ProviderOutcome::Revoked { count: Some(2), .. }
    ));
    assert_eq!(report.providers[0].retries, 1);
    assert!(
        matches!(&report.providers[1].outcome, ProviderOutcome::Failed { error } if error.kind == ErrorKind::PermissionDenied)
    );
    assert_eq!(report.summary.failed, 1);
    assert!(!report.is_complete());
}

#[tokio::test]
async fn a_truncated_answer_is_retried_even_after_the_transport_retried_something_else() {
    let mut caps = Capabilities::none();
    caps.revoke_user_sessions = true;
    let outcome = |first: Error| {
        let mut provider = mock(caps.clone());
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = calls.clone();
        provider
            .expect_revoke_user_sessions()
            .returning(move |_, _| {
                if counter.fetch_add(1, Ordering::SeqCst) == 0 {
                    Err(first.clone())
                } else {
                    Ok(Revocation::revoked(1))
                }
            });
        (provider, calls)
    };
    // A 429 retried by the transport, then a body cut short: the transport cannot
    // retry a decoding failure, so the fleet does.
    let truncated = Error::new(ErrorKind::Decode, "truncated JSON")
        .with_temporary(true)
        .with_retries(1);
    // A 503 the transport already retried to its limit: not multiplied.
    let exhausted = Error::new(ErrorKind::Provider, "HTTP 503")
        .with_temporary(true)
        .with_retries(3);
    let (cut, cut_calls) = outcome(truncated);
    let (down, down_calls) = outcome(exhausted);
    let fleet = Fleet::builder()
        .provider("cut", Arc::new(cut))
        .provider("down", Arc::new(down))
        .build()
        .unwrap();
    let report = fleet
        .offboard(&Subject::ids([("cut", "U1"), ("down", "U1")]))
        .await;
    assert_eq!(cut_calls.load(Ordering::SeqCst), 2);
    assert!(matches!(
        report.providers[0].outcome,
        ProviderOutcome::Revoked { .. }
    ));
    assert_eq!(down_calls.load(Ordering::SeqCst), 1);
    assert!(matches!(
        report.providers[1].outcome,
        ProviderOutcome::Failed { .. }
    ));
}

#[tokio::test]
async fn a_queued_revocation_is_verified_once_the_job_has_run() {
    let mut caps = Capabilities::none();
    caps.revoke_user_sessions = true;
    caps.list_user_sessions = true;
    caps.list_all_sessions = true;
    let mut queued = mock(caps);
    queued
        .expect_revoke_user_sessions()
        .returning(|_, _| Ok(Revocation::Queued));
    let listings = Arc::new(AtomicUsize::new(0));
    let count = listings.clone();
    queued.expect_list_sessions().returning(move |_| {
        // The job takes effect after two listings.
        let items = if count.fetch_add(1, Ordering::SeqCst) < 2 {
            vec![Session::new(
                SessionId::new("7"),
                UserId::new("U1"),
                "queued",
            )]
        } else {
            Vec::new()
        };
        Ok(Page::last(items))
    });
    let fleet = Fleet::builder()
        .provider("queued", Arc::new(queued))
        .build()
        .unwrap();
    let report = fleet.offboard(&Subject::ids([("queued", "U1")])).await;
    assert_eq!(
        report.providers[0].outcome,
        ProviderOutcome::Queued {
            verified: Verification::Verified
        }
    );
    assert_eq!(listings.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_queued_revocation_that_never_shows_is_still_active() {
    let mut caps = Capabilities::none();
    caps.revoke_user_sessions = true;
    caps.list_user_sessions = true;
    let mut stuck = mock(caps);
    stuck
        .expect_revoke_user_sessions()
        .returning(|_, _| Ok(Revocation::Queued));
    stuck.expect_list_sessions().returning(|_| {
        Ok(Page::last(vec![Session::new(
            SessionId::new("7"),
            UserId::new("U1"),
            "stuck",
        )]))
    });
    let fleet = Fleet::builder()
        .provider("stuck", Arc::new(stuck))
        .queued_wait(Duration::from_millis(300))
        .build()
        .unwrap();
    let report = fleet.offboard(&Subject::ids([("stuck", "U1")])).await;
    assert_eq!(
        report.providers[0].outcome,
        ProviderOutcome::Queued {
            verified: Verification::StillActive { remaining: 1 }
        }
    );
    assert!(!report.is_complete());
}

#[tokio::test]
async fn the_report_serializes_to_a_stable_shape() {
    let wiki = memory("wiki", InMemoryProvider::full_capabilities());
    let alice = wiki.add_user("alice@corp.example", "Alice");
    wiki.add_session(&alice, DeviceKind::Browser);
    let fleet = Fleet::builder().provider("wiki", wiki).build().unwrap();
    let report = fleet.offboard(&Subject::email("Alice@Corp.example")).await;
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["subject"], "alice@corp.example");
    assert_eq!(json["complete"], true);
    let provider = &json["providers"][0];
    assert_eq!(provider["provider"], "wiki");
    assert_eq!(provider["user"], "u1");
    assert_eq!(provider["outcome"], "revoked");
    assert_eq!(provider["count"], 1);
    assert_eq!(provider["verified"]["verification"], "verified");
    assert_eq!(json["summary"]["revoked"], 1);
    let back: unisession::fleet::Report = serde_json::from_value(json).unwrap();
    assert_eq!(back, report);
}

#[tokio::test]
async fn a_journal_with_a_torn_last_line_resumes_and_a_damaged_one_is_refused() {
    let wiki = memory("wiki", InMemoryProvider::full_capabilities());
    let subjects: Vec<Subject> = (0..4)
        .map(|i| {
            let email = format!("p{i}@corp.example");
            let user = wiki.add_user(email.clone(), "P");
            wiki.add_session(&user, DeviceKind::Browser);
            Subject::email(email)
        })
        .collect();
    let fleet = Fleet::builder()
        .provider("wiki", wiki.clone())
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.jsonl");
    fleet
        .offboard_many(&subjects[..2], None, &OffboardOptions::default())
        .await
        .unwrap();
    // A run over all four that died while writing its third line.
    let first = fleet
        .offboard_many(&subjects, Some(&path), &OffboardOptions::default())
        .await
        .unwrap();
    assert_eq!(first.resumed, 0);
    // Keep the header and every line up to the second outcome (the revocations in
    // flight before it included), then a torn line.
    let text = std::fs::read_to_string(&path).unwrap();
    let is_outcome = |l: &str| l.starts_with(r#"{"type":"outcome""#);
    let mut kept: Vec<&str> = Vec::new();
    for line in text.lines() {
        kept.push(line);
        if kept.iter().filter(|l| is_outcome(l)).count() == 2 {
            break;
        }
    }
    std::fs::write(&path, format!("{}\n{{\"type\":\"outco", kept.join("\n"))).unwrap();
    let resumed = fleet
        .offboard_many(&subjects, Some(&path), &OffboardOptions::default())
        .await
        .unwrap();
    assert_eq!(resumed.resumed, 2);
    assert!(resumed.is_complete());
    let lines: Vec<String> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    let outcomes: Vec<serde_json::Value> = lines
        .iter()
        .filter(|l| is_outcome(l))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let pairs: std::collections::BTreeSet<String> = outcomes
        .iter()
        .map(|o| o["subject"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        (outcomes.len(), pairs.len()),
        (4, 4),
        "one outcome line per pair: {lines:#?}"
    );
    assert!(
        lines
            .iter()
            .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok())
    );

    let mut damaged = lines.clone();
    damaged[2] = "not json".to_owned();
    std::fs::write(&path, damaged.join("\n") + "\n").unwrap();
    let err = fleet
        .offboard_many(&subjects, Some(&path), &OffboardOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, JournalError::Corrupt { line: 3, .. }),
        "{err}"
    );
}

#[tokio::test]
async fn lookups_go_through_find_user_and_explicit_ids_win() {
    let mut caps = Capabilities::none();
    caps.find_user_by_email = true;
    caps.revoke_user_sessions = true;
    let mut provider = mock(caps);
    provider
        .expect_find_user()
        .withf(|email| email.as_str() == "alice@corp.example")
        .times(1)
        .returning(|_| {
            Ok(UserLookup::Found(
                UserRef::new("A1").with_email("Alice@corp.example"),
            ))
        });
    provider
        .expect_revoke_user_sessions()
        .withf(|user, _| user.as_str() == "A1")
        .times(1)
        .returning(|_, _| Ok(Revocation::revoked_unknown_count()));
    let fleet = Fleet::builder()
        .provider("p", Arc::new(provider))
        .verify(false)
        .build()
        .unwrap();
    let report = fleet
        .offboard(&Subject::email(" ALICE@corp.example "))
        .await;
    assert!(matches!(
        &report.providers[0].outcome,
        ProviderOutcome::Revoked {
            verified: Verification::Unverifiable { .. },
            ..
        }
    ));
}

/// Bulk-capable, over an in-memory provider; its bulk call leaves `spared` alone yet
/// reports it revoked. Records each listing's user filter.
#[derive(Debug)]
struct LyingBulk {
    inner: Arc<InMemoryProvider>,
    caps: Capabilities,
    spared: UserId,
    hide_total: bool,
    listings: std::sync::Mutex<Vec<Option<UserId>>>,
}

impl std::fmt::Display for LyingBulk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("bulk")
    }
}

#[async_trait::async_trait]
impl unisession::SessionProvider for LyingBulk {
    fn capabilities(&self) -> &Capabilities {
        &self.caps
    }
    async fn list_sessions(&self, q: &unisession::ListQuery) -> unisession::Result<Page<Session>> {
        self.listings.lock().unwrap().push(q.user.clone());
        let mut page = self.inner.list_sessions(q).await?;
        if self.hide_total {
            page.total = None;
        }
        Ok(page)
    }
    async fn revoke_session(&self, s: &unisession::SessionRef) -> unisession::Result<Revocation> {
        self.inner.revoke_session(s).await
    }
    async fn revoke_user_sessions(
        &self,
        u: &UserId,
        scope: unisession::DeviceScope,
    ) -> unisession::Result<Revocation> {
        self.inner.revoke_user_sessions(u, scope).await
    }
    async fn revoke_users_sessions(
        &self,
        users: &[UserId],
        scope: unisession::DeviceScope,
    ) -> unisession::Result<Vec<(UserId, unisession::Result<Revocation>)>> {
        let mut results = Vec::new();
        for user in users {
            let result = if *user == self.spared {
                Ok(Revocation::revoked(2))
            } else {
                self.inner.revoke_user_sessions(user, scope).await
            };
            results.push((user.clone(), result));
        }
        Ok(results)
    }
}

/// `leavers` people to offboard and `bystanders` others, two sessions each, pages of
/// `page` sessions; the third leaver is spared by the lying bulk call.
fn lying_bulk(
    leavers: usize,
    bystanders: usize,
    page: u32,
    hide_total: bool,
) -> (Arc<LyingBulk>, Vec<UserId>) {
    let mut caps = InMemoryProvider::full_capabilities();
    caps.bulk_revoke_users = Some(100);
    caps.max_page_size = Some(page);
    let inner = Arc::new(
        InMemoryProvider::builder()
            .capabilities(caps.clone())
            .page_size(page as usize)
            .build(),
    );
    let mut users = Vec::new();
    for i in 0..leavers + bystanders {
        let user = inner.add_user(format!("p{i}@corp.example"), format!("P {i}"));
        inner.add_session(&user, DeviceKind::Browser);
        inner.add_session(&user, DeviceKind::Mobile);
        users.push(user);
    }
    users.truncate(leavers);
    let provider = Arc::new(LyingBulk {
        inner,
        caps,
        spared: users[2].clone(),
        hide_total,
        listings: Default::default(),
    });
    (provider, users)
}

#[tokio::test]
async fn a_bulk_revocation_is_verified_with_one_listing_of_everyone_and_a_lie_is_caught() {
    let (provider, leavers) = lying_bulk(20, 5, 100, true);
    let fleet = Fleet::builder()
        .provider("bulk", provider.clone())
        // The liar's sessions stay: report them at once instead of waiting for them to
        // settle, so the listings counted are those of the plan.
        .settle_wait(Duration::ZERO)
        .build()
        .unwrap();
    let subjects: Vec<Subject> = leavers
        .iter()
        .map(|u| Subject::ids([("bulk", u.clone())]))
        .collect();
    let report = fleet
        .offboard_many(&subjects, None, &OffboardOptions::default())
        .await
        .unwrap();
    for (report, user) in report.reports.iter().zip(&leavers) {
        let expected = if *user == leavers[2] {
            Verification::StillActive { remaining: 2 }
        } else {
            Verification::Verified
        };
        assert_eq!(
            report.providers[0].outcome,
            ProviderOutcome::Revoked {
                count: Some(2),
                verified: expected
            },
            "{user}"
        );
    }
    let listings = provider.listings.lock().unwrap().clone();
    assert_eq!(
        listings,
        vec![None],
        "50 sessions fit one page: one listing instead of 20"
    );
}

#[tokio::test]
async fn a_listing_longer_than_the_people_to_check_gives_way_to_one_listing_each() {
    // 4 leavers, 60 bystanders, 5 sessions a page: everyone is 26 pages, more than 4.
    // Without a total the workspace listing stops at its budget (4 pages); with one,
    // the first page tells it is too long.
    for (hide_total, workspace_pages) in [(true, 4), (false, 1)] {
        let (provider, leavers) = lying_bulk(4, 60, 5, hide_total);
        let fleet = Fleet::builder()
            .provider("bulk", provider.clone())
            // The liar's sessions stay: report them at once instead of waiting for them
            // to settle, so the listings counted are those of the plan.
            .settle_wait(Duration::ZERO)
            .build()
            .unwrap();
        let subjects: Vec<Subject> = leavers
            .iter()
            .map(|u| Subject::ids([("bulk", u.clone())]))
            .collect();
        let report = fleet
            .offboard_many(&subjects, None, &OffboardOptions::default())
            .await
            .unwrap();
        let verified: Vec<_> = report
            .reports
            .iter()
            .map(|r| r.providers[0].outcome.verification().cloned())
            .collect();
        assert_eq!(
            verified,
            vec![
                Some(Verification::Verified),
                Some(Verification::Verified),
                Some(Verification::StillActive { remaining: 2 }),
                Some(Verification::Verified),
            ]
        );
        let listings = provider.listings.lock().unwrap().clone();
        let everyone = listings.iter().filter(|u| u.is_none()).count();
        let mut per_person: Vec<UserId> = listings.into_iter().flatten().collect();
        per_person.sort();
        let mut expected = leavers.clone();
        expected.sort();
        assert_eq!(everyone, workspace_pages, "hide_total: {hide_total}");
        assert_eq!(per_person, expected, "then each person is listed alone");
    }
}

#[tokio::test]
async fn a_rerun_on_the_journal_tries_failed_pairs_again_and_skips_the_rest() {
    let mut caps = Capabilities::none();
    caps.revoke_user_sessions = true;
    let mut flaky = mock(caps.clone());
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    flaky
        .expect_revoke_user_sessions()
        .returning(move |user, _| {
            counter.fetch_add(1, Ordering::SeqCst);
            // U2 is refused on the first run (a permission fixed in between).
            if user.as_str() == "U2" && counter.load(Ordering::SeqCst) <= 2 {
                Err(Error::new(ErrorKind::PermissionDenied, "not an admin"))
            } else {
                Ok(Revocation::revoked(1))
            }
        });
    let fleet = Fleet::builder()
        .provider("tool", Arc::new(flaky))
        .build()
        .unwrap();
    let subjects: Vec<Subject> = ["U1", "U2"]
        .iter()
        .map(|u| Subject::ids([("tool", *u)]))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("run.jsonl");
    let options = OffboardOptions::default().with_concurrency(1);
    let first = fleet
        .offboard_many(&subjects, Some(&journal), &options)
        .await
        .unwrap();
    assert!(!first.complete);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    let second = fleet
        .offboard_many(&subjects, Some(&journal), &options)
        .await
        .unwrap();
    assert_eq!(second.resumed, 1, "U1 was done");
    assert_eq!(calls.load(Ordering::SeqCst), 3, "only U2 again");
    assert!(second.complete, "{:?}", second.summary);
    let lines: Vec<String> = std::fs::read_to_string(&journal)
        .unwrap()
        .lines()
        .skip(1)
        .map(str::to_owned)
        .collect();
    assert_eq!(lines.len(), 3, "every attempt is kept: {lines:?}");
    assert!(lines[1].contains("\"failed\"") && lines[2].contains("\"revoked\""));

    // Read back: every attempt, and the last outcome of each pair.
    let record = JournalRecord::read(&journal).unwrap();
    assert_eq!(record.subjects, 2);
    assert_eq!(record.providers, vec!["tool".to_owned()]);
    assert_eq!(record.entries.len(), 3);
    let latest: Vec<(&str, &str)> = record
        .latest()
        .iter()
        .map(|e| (e.subject.as_str(), e.report.outcome.name()))
        .collect();
    let mut sorted = latest.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        vec![("ids:tool=U1", "revoked"), ("ids:tool=U2", "revoked")]
    );
    assert!(record.finished_at() >= record.created_at);

    // A torn last line is left out; a damaged one before it is refused.
    let text = std::fs::read_to_string(&journal).unwrap();
    std::fs::write(&journal, format!("{text}{{\"type\":\"outc")).unwrap();
    assert_eq!(JournalRecord::read(&journal).unwrap().entries.len(), 3);
    let mut damaged: Vec<&str> = text.lines().collect();
    damaged[2] = "{not json";
    std::fs::write(&journal, damaged.join("\n") + "\n").unwrap();
    assert!(matches!(
        JournalRecord::read(&journal),
        Err(JournalError::Corrupt { line: 3, .. })
    ));
}

/// A bulk-capable provider whose bulk call hangs, or refuses as unsupported.
#[derive(Debug)]
struct OddBulk {
    caps: Capabilities,
    hang: bool,
}

impl std::fmt::Display for OddBulk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("odd")
    }
}

#[async_trait::async_trait]
impl unisession::SessionProvider for OddBulk {
    fn capabilities(&self) -> &Capabilities {
        &self.caps
    }
    async fn list_sessions(&self, _: &unisession::ListQuery) -> unisession::Result<Page<Session>> {
        Ok(Page::last(Vec::new()))
    }
    async fn revoke_session(&self, _: &unisession::SessionRef) -> unisession::Result<Revocation> {
        Ok(Revocation::AlreadyGone)
    }
    async fn revoke_user_sessions(
        &self,
        _: &UserId,
        _: unisession::DeviceScope,
    ) -> unisession::Result<Revocation> {
        Ok(Revocation::revoked(1))
    }
    async fn revoke_users_sessions(
        &self,
        _: &[UserId],
        _: unisession::DeviceScope,
    ) -> unisession::Result<Vec<(UserId, unisession::Result<Revocation>)>> {
        if self.hang {
            tokio::time::sleep(Duration::from_secs(30)).await;
        }
        Err(Error::new(ErrorKind::Unsupported, "no bulk for this plan"))
    }
}

#[tokio::test]
async fn a_hanging_bulk_call_meets_the_deadline_and_an_unsupported_one_says_so() {
    let mut caps = Capabilities::none();
    caps.revoke_user_sessions = true;
    caps.bulk_revoke_users = Some(100);
    let fleet = Fleet::builder()
        .provider(
            "hang",
            Arc::new(OddBulk {
                caps: caps.clone(),
                hang: true,
            }),
        )
        .provider("nobulk", Arc::new(OddBulk { caps, hang: false }))
        .deadline(Duration::from_millis(300))
        .build()
        .unwrap();
    let subjects: Vec<Subject> = ["U1", "U2"]
        .iter()
        .map(|u| Subject::ids([("hang", *u), ("nobulk", *u)]))
        .collect();
    let started = std::time::Instant::now();
    let report = fleet
        .offboard_many(&subjects, None, &OffboardOptions::default())
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    for person in &report.reports {
        assert!(
            matches!(&person.providers[0].outcome, ProviderOutcome::Failed { error } if error.kind == ErrorKind::Timeout),
            "{:?}",
            person.providers[0].outcome
        );
        assert!(
            matches!(&person.providers[1].outcome, ProviderOutcome::Unsupported { reason } if reason.contains("no bulk")),
            "{:?}",
            person.providers[1].outcome
        );
    }
}

#[tokio::test]
async fn the_plan_names_the_call_the_scope_allows() {
    let mut scoped = InMemoryProvider::full_capabilities();
    scoped.revoke_user_sessions_by_device = true;
    let mut unscoped = InMemoryProvider::full_capabilities();
    unscoped.revoke_user_sessions_by_device = false;
    let chat = memory("chat", scoped);
    let wiki = memory("wiki", unscoped);
    let a = chat.add_user("a@corp.example", "A");
    chat.add_session(&a, DeviceKind::Mobile);
    let b = wiki.add_user("a@corp.example", "A");
    wiki.add_session(&b, DeviceKind::Browser);
    let fleet = Fleet::builder()
        .provider("chat", chat)
        .provider("wiki", wiki)
        .scope(unisession::DeviceScope::Mobile)
        .build()
        .unwrap();
    let subject = Subject::email("a@corp.example");
    let plan = fleet.plan(&subject).await;
    assert_eq!(
        plan.providers[0].method.as_deref(),
        Some("revoke_user_sessions (mobile sessions)")
    );
    assert_eq!(plan.providers[1].method, None, "{:?}", plan.providers[1]);
    assert!(plan.providers[1].cannot[0].contains("cannot limit"));
    // And the run does what the plan said.
    let report = fleet.offboard(&subject).await;
    assert!(matches!(
        report.providers[0].outcome,
        ProviderOutcome::Revoked { .. }
    ));
    assert!(matches!(
        report.providers[1].outcome,
        ProviderOutcome::Unsupported { .. }
    ));
}

#[tokio::test]
async fn a_lookup_answered_for_another_person_never_leads_to_a_revocation() {
    let mut caps = Capabilities::none();
    caps.find_user_by_email = true;
    caps.revoke_user_sessions = true;
    for record in [Some("bob@corp.example"), None] {
        let mut provider = mock(caps.clone());
        provider.expect_find_user().returning(move |_| {
            let mut bob = UserRef::new("B1");
            bob.email = record.map(str::to_owned);
            Ok(UserLookup::Found(bob))
        });
        // No revoke expectation: a revocation would panic.
        provider.expect_revoke_user_sessions().times(0);
        let fleet = Fleet::builder()
            .provider("p", Arc::new(provider))
            .build()
            .unwrap();
        let report = fleet.offboard(&Subject::email("alice@corp.example")).await;
        let ProviderOutcome::Failed { error } = &report.providers[0].outcome else {
            panic!("{report:?}")
        };
        assert_eq!(error.kind, ErrorKind::IdentityMismatch, "{record:?}");
        assert!(error.message.contains("B1"), "{error}");
        assert!(!report.is_complete());
        assert_eq!(
            report.providers[0].user, None,
            "the other person is never named as resolved"
        );
    }
}

#[tokio::test]
async fn only_the_providers_word_that_nobody_has_the_id_counts_as_not_found() {
    let mut caps = Capabilities::none();
    caps.revoke_user_sessions = true;
    let cases = [
        (ErrorKind::NotFound, true),
        (ErrorKind::Provider, false),
        (ErrorKind::PermissionDenied, false),
    ];
    for (kind, done) in cases {
        let mut provider = mock(caps.clone());
        provider
            .expect_revoke_user_sessions()
            .times(1)
            .returning(move |user, _| {
                Err(Error::new(kind, format!("the server has no user {user}")))
            });
        let fleet = Fleet::builder()
            .provider("p", Arc::new(provider))
            .build()
            .unwrap();
        let report = fleet.offboard(&Subject::ids([("p", "U-TYPO")])).await;
        assert_eq!(report.is_complete(), done, "{kind:?}: {report:?}");
        match &report.providers[0].outcome {
            ProviderOutcome::UserNotFound { evidence } => {
                assert!(done);
                assert!(evidence.contains("no user U-TYPO"), "{evidence}");
            }
            ProviderOutcome::Failed { error } => {
                assert!(!done);
                assert_eq!(error.kind, kind);
            }
            other => panic!("{kind:?}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_lookups_not_found_carries_how_it_was_established() {
    let mut caps = Capabilities::none();
    caps.find_user_by_email = true;
    caps.revoke_user_sessions = true;
    let mut provider = mock(caps);
    provider.expect_find_user().returning(|_| {
        Ok(UserLookup::not_found(
            "directory.lookup answered no_such_user",
        ))
    });
    let fleet = Fleet::builder()
        .provider("p", Arc::new(provider))
        .build()
        .unwrap();
    let report = fleet.offboard(&Subject::email("alice@corp.example")).await;
    assert_eq!(
        report.providers[0].outcome,
        ProviderOutcome::UserNotFound {
            evidence: "directory.lookup answered no_such_user".to_owned()
        }
    );
    assert!(report.is_complete());
    let plan = fleet.plan(&Subject::email("alice@corp.example")).await;
    assert!(matches!(
        &plan.providers[0].resolution,
        unisession::fleet::Resolution::NotFound { evidence } if evidence.contains("no_such_user")
    ));
}

/// Lists `stale` more times with the revoked session still in it, then none: a
/// server whose listing lags behind a revocation.
fn lagging_listing(caps: Capabilities, stale: usize) -> MockSessionProvider {
    let mut provider = mock(caps);
    provider
        .expect_revoke_user_sessions()
        .returning(|_, _| Ok(Revocation::revoked(1)));
    let calls = Arc::new(AtomicUsize::new(0));
    provider.expect_list_sessions().returning(move |_| {
        let n = calls.fetch_add(1, Ordering::Relaxed);
        let items = if n < stale {
            vec![Session::new(SessionId::new("s1"), UserId::new("U1"), "p")]
        } else {
            Vec::new()
        };
        Ok(Page::last(items))
    });
    provider
}

#[tokio::test]
async fn a_listing_that_lags_behind_the_revocation_is_waited_for_up_to_the_settle_wait() {
    let mut caps = Capabilities::none();
    caps.list_user_sessions = true;
    caps.revoke_user_sessions = true;
    let fleet = Fleet::builder()
        .provider("p", Arc::new(lagging_listing(caps.clone(), 2)))
        .settle_wait(Duration::from_secs(5))
        .build()
        .unwrap();
    let report = fleet.offboard(&Subject::ids([("p", "U1")])).await;
    assert_eq!(
        report.providers[0].outcome,
        ProviderOutcome::Revoked {
            count: Some(1),
            verified: Verification::Verified
        }
    );
    // Without the wait, the same lag is reported as it is: still active, not complete.
    let fleet = Fleet::builder()
        .provider("p", Arc::new(lagging_listing(caps, 2)))
        .settle_wait(Duration::ZERO)
        .build()
        .unwrap();
    let report = fleet.offboard(&Subject::ids([("p", "U1")])).await;
    assert!(matches!(
        report.providers[0].outcome.verification(),
        Some(Verification::StillActive { remaining: 1 })
    ));
    assert!(!report.is_complete());
}

/// A provider that records when it revoked, and (as an identity provider) confirms
/// the revocation from its own record only after a few reads.
#[derive(Debug)]
struct Recorder {
    name: &'static str,
    caps: Capabilities,
    log: Arc<std::sync::Mutex<Vec<String>>>,
    reads_before_confirming: AtomicUsize,
}

impl std::fmt::Display for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

#[async_trait::async_trait]
impl unisession::SessionProvider for Recorder {
    fn capabilities(&self) -> &Capabilities {
        &self.caps
    }
    async fn list_sessions(&self, _: &unisession::ListQuery) -> unisession::Result<Page<Session>> {
        Ok(Page::new(Vec::new(), None))
    }
    async fn revoke_session(&self, _: &unisession::SessionRef) -> unisession::Result<Revocation> {
        Ok(Revocation::AlreadyGone)
    }
    async fn revoke_user_sessions(
        &self,
        user: &UserId,
        _: unisession::DeviceScope,
    ) -> unisession::Result<Revocation> {
        // The applications take no time; the identity provider takes a little, so a
        // fleet running everything at once would log the applications first.
        if self.caps.identity_provider {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.log
            .lock()
            .unwrap()
            .push(format!("{}:{}", self.name, user.as_str()));
        Ok(Revocation::revoked_unknown_count())
    }
    async fn confirm_revocation(
        &self,
        user: &UserId,
        requested_at: chrono::DateTime<chrono::Utc>,
    ) -> unisession::Result<Option<Verification>> {
        assert!(requested_at <= chrono::Utc::now());
        let left = self
            .reads_before_confirming
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                Some(n.saturating_sub(1))
            })
            .unwrap_or(0);
        if left > 1 {
            return Ok(None);
        }
        Ok(Some(Verification::Confirmed {
            evidence: format!("session cleared for {}", user.as_str()),
        }))
    }
}

fn recorder(
    name: &'static str,
    identity: bool,
    log: &Arc<std::sync::Mutex<Vec<String>>>,
) -> Arc<Recorder> {
    let mut caps = Capabilities::none();
    caps.revoke_user_sessions = true;
    caps.identity_provider = identity;
    caps.confirms_revocation = identity;
    Arc::new(Recorder {
        name,
        caps,
        log: log.clone(),
        reads_before_confirming: AtomicUsize::new(3),
    })
}

#[tokio::test]
async fn identity_providers_are_offboarded_first_and_confirm_from_their_own_record() {
    let log = Arc::new(std::sync::Mutex::new(Vec::new()));
    // Configured after the applications: still first.
    let fleet = Fleet::builder()
        .provider("chat", recorder("chat", false, &log))
        .provider("idp", recorder("idp", true, &log))
        .provider("wiki", recorder("wiki", false, &log))
        .build()
        .unwrap();
    let names: Vec<&str> = fleet.names().collect();
    assert_eq!(names, ["idp", "chat", "wiki"]);
    let subject = Subject::ids([("idp", "U1"), ("chat", "U1"), ("wiki", "U1")]);
    let plan = fleet.plan(&subject).await;
    let steps: Vec<(&str, u8)> = plan
        .providers
        .iter()
        .map(|p| (p.provider.as_str(), p.step))
        .collect();
    assert_eq!(steps, [("idp", 1), ("chat", 2), ("wiki", 2)]);

    let report = fleet.offboard(&subject).await;
    let order = log.lock().unwrap().clone();
    assert_eq!(order[0], "idp:U1", "the identity provider first: {order:?}");
    assert_eq!(order.len(), 3);
    let idp = &report.providers[0];
    assert_eq!(idp.provider, "idp");
    // Read until the record showed it (third read), not reported unverifiable.
    assert_eq!(
        idp.outcome.verification(),
        Some(&Verification::Confirmed {
            evidence: "session cleared for U1".into()
        })
    );
    assert!(report.is_complete());

    // Many people: every identity-provider pair before any application pair.
    log.lock().unwrap().clear();
    let subjects: Vec<Subject> = ["U2", "U3", "U4"]
        .iter()
        .map(|u| Subject::ids([("idp", *u), ("chat", *u), ("wiki", *u)]))
        .collect();
    let many = fleet
        .offboard_many(&subjects, None, &OffboardOptions::default())
        .await
        .unwrap();
    let order = log.lock().unwrap().clone();
    let last_idp = order.iter().rposition(|e| e.starts_with("idp:")).unwrap();
    let first_app = order.iter().position(|e| !e.starts_with("idp:")).unwrap();
    assert!(last_idp < first_app, "{order:?}");
    assert_eq!(many.reports.len(), 3);
    assert!(many.is_complete(), "{:?}", many.summary);
}

#[tokio::test]
async fn a_member_deactivated_in_one_workspace_and_active_in_another_is_logged_out_everywhere() {
    let mut caps = Capabilities::none();
    caps.list_users = true;
    caps.current_user = true;
    caps.revoke_user_sessions = true;
    let mut provider = mock(caps);
    provider
        .expect_current_user()
        .returning(|| Ok(UserId::new("ME")));
    // Listed first by a workspace where the member was removed, then by one where it
    // is active: a person, whatever the order.
    provider.expect_list_users().returning(|_| {
        Ok(Page::last(vec![
            unisession::Account::new(
                UserRef::new("U1").with_email("ann@corp.example"),
                unisession::AccountStatus::Deactivated,
            ),
            unisession::Account::new(
                UserRef::new("ME").with_email("admin@corp.example"),
                unisession::AccountStatus::Active,
            ),
            unisession::Account::new(
                UserRef::new("U1").with_email("ann@corp.example"),
                unisession::AccountStatus::Active,
            ),
            unisession::Account::new(
                UserRef::new("U2").with_email("bob@corp.example"),
                unisession::AccountStatus::Deactivated,
            ),
            unisession::Account::new(
                UserRef::new("U3").with_email("cy@corp.example"),
                unisession::AccountStatus::Active,
            ),
        ]))
    });
    let fleet = Fleet::builder()
        .provider("chat", Arc::new(provider))
        .build()
        .unwrap();
    let plan = fleet
        .everyone(&["chat".to_owned()], &["u3".to_owned()])
        .await
        .unwrap();
    let part = &plan.providers[0];
    let targets: Vec<&str> = part.targets.iter().map(|a| a.user.id.as_str()).collect();
    assert_eq!(targets, ["U1"]);
    assert_eq!(part.not_people.get("deactivated"), Some(&1));
    // An id in the except list matches whatever its case.
    assert!(
        part.unmatched_except.is_empty(),
        "{:?}",
        part.unmatched_except
    );
    let kept: Vec<&str> = part
        .kept
        .iter()
        .map(|k| k.account.user.id.as_str())
        .collect();
    assert_eq!(kept, ["ME", "U3"]);
}
