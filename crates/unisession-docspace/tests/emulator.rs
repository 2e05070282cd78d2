//! The DocSpace adapter over real HTTP against the DocSpace emulator.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::TryStreamExt;
use secrecy::SecretString;
use unisession_core::conformance::{self, Caller, CheckOutcome, Fixture, SeededUser};
use unisession_core::{
    DeviceScope, Email, ErrorKind, ListQuery, Operation, Revocation, SessionId, SessionProvider,
    SessionProviderExt, SessionRef, UserId, UserLookup,
};
use unisession_docspace::{DocSpaceBuilder, DocSpaceProvider};
use unisession_emulator::dataset::{Dataset, DatasetConfig};
use unisession_emulator::{
    DocSpaceEmulator, DocSpaceRole, Emulator, EmulatorConfig, Faults, Misleading, ProviderKind,
};
use unisession_http::{RetryConfig, TransportOptions};
use unisession_testkit::{Provider, Request, Spec, nonconforming};

async fn emulator(users: usize) -> Emulator {
    Emulator::start(
        EmulatorConfig::new()
            .users(users)
            .only(ProviderKind::DocSpace),
    )
    .await
    .expect("emulator starts")
}

fn fast_retry() -> RetryConfig {
    RetryConfig::default()
        .with_max_retries(4)
        .with_initial_backoff(Duration::from_millis(5))
        .with_max_backoff(Duration::from_millis(20))
}

fn base(ds: &DocSpaceEmulator) -> DocSpaceBuilder {
    DocSpaceBuilder::new(ds.base_url())
        .with_transport(TransportOptions::new().with_retry(fast_retry()))
}

fn with_cookie(ds: &DocSpaceEmulator) -> DocSpaceProvider {
    base(ds)
        .with_personal_token(SecretString::from(ds.credentials().admin_token.clone()))
        .build()
        .unwrap()
}

fn with_api_key(ds: &DocSpaceEmulator) -> DocSpaceProvider {
    base(ds)
        .with_api_key(SecretString::from(ds.credentials().api_key.clone()))
        .build()
        .unwrap()
}

struct DocSpaceFixture {
    ds: DocSpaceEmulator,
    admin: String,
    current: Option<i32>,
    next: AtomicU64,
}

impl DocSpaceFixture {
    fn new(emulator: &Emulator, cookie: bool) -> Self {
        let ds = emulator.docspace().unwrap().clone();
        let admin = ds.credentials().admin_id.clone();
        let current = cookie.then_some(ds.credentials().admin_event);
        Self {
            ds,
            admin,
            current,
            next: AtomicU64::new(0),
        }
    }
    fn refs(&self, user: &str, events: impl IntoIterator<Item = i32>) -> Vec<SessionRef> {
        events
            .into_iter()
            .map(|e| SessionRef::new(e.to_string()).with_user(user.to_owned()))
            .collect()
    }
}

#[unisession_core::async_trait]
impl Fixture for DocSpaceFixture {
    async fn seed_user(&self, sessions: usize) -> SeededUser {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let email = format!("seeded{n}@corp.example");
        let id = self.ds.add_user(&email, DocSpaceRole::User);
        let events: Vec<i32> = (0..sessions)
            .map(|_| self.ds.add_session(&id).unwrap().0)
            .collect();
        SeededUser::new(UserId::new(id.clone()), email, self.refs(&id, events))
    }
    async fn seed_listed_sessions(&self, count: usize) -> Vec<SessionRef> {
        self.seed_caller_sessions(count).await
    }
    async fn seed_caller_sessions(&self, count: usize) -> Vec<SessionRef> {
        let events: Vec<i32> = (0..count)
            .map(|_| self.ds.add_session(&self.admin).unwrap().0)
            .collect();
        self.refs(&self.admin, events)
    }
    async fn sessions_of(&self, user: &UserId) -> Vec<SessionId> {
        self.ds
            .active_events_of(user.as_str())
            .into_iter()
            .map(|e| SessionId::new(e.to_string()))
            .collect()
    }
    async fn listed_sessions(&self) -> Vec<SessionId> {
        self.sessions_of(&UserId::new(self.admin.clone())).await
    }
    async fn caller(&self) -> Option<Caller> {
        Some(Caller::new(
            UserId::new(self.admin.clone()),
            self.current.map(|e| SessionId::new(e.to_string())),
        ))
    }
    async fn requests_received(&self) -> u64 {
        self.ds.request_count()
    }
    fn unknown_session_id(&self) -> SessionId {
        SessionId::new("999999")
    }
    fn unknown_user_id(&self) -> UserId {
        UserId::new("aae1e103-bca5-9fa1-ba8c-42058b4abf28")
    }
    async fn answer_lookups_with(&self, user: Option<&UserId>) -> bool {
        self.ds.set_misleading(
            Misleading::none().with_lookups_answering_with(user.map(|u| u.as_str().to_owned())),
        );
        true
    }
}

fn outcome(report: &[conformance::CheckReport], name: &str) -> CheckOutcome {
    report
        .iter()
        .find(|c| c.name == name)
        .unwrap()
        .outcome
        .clone()
}

#[tokio::test]
async fn passes_the_conformance_suite_with_the_cookie_credential() {
    let emulator = emulator(3).await;
    let provider = with_cookie(emulator.docspace().unwrap());
    let report = conformance::run_all(&provider, &DocSpaceFixture::new(&emulator, true)).await;
    for name in [
        "unsupported_operations_are_refused",
        "revoked_session_is_gone_from_next_list",
        "revoking_twice_is_already_gone",
        "revoke_user_leaves_other_users_untouched",
        "revoke_others_keeps_exactly_the_current_session",
        "pagination_returns_every_session_exactly_once",
        "listing_marks_the_current_session",
        "find_user_by_email",
        "lookup_answered_for_another_person_is_refused",
        "revoking_an_unknown_user_is_not_found",
    ] {
        assert_eq!(outcome(&report, name), CheckOutcome::Passed, "{name}");
    }
}

#[tokio::test]
async fn passes_the_conformance_suite_with_an_api_key() {
    let emulator = emulator(3).await;
    let provider = with_api_key(emulator.docspace().unwrap());
    assert!(!provider.capabilities().revoke_other_sessions);
    assert!(!provider.capabilities().marks_current_session);
    let report = conformance::run_all(&provider, &DocSpaceFixture::new(&emulator, false)).await;
    assert_eq!(
        outcome(&report, "unsupported_operations_are_refused"),
        CheckOutcome::Passed
    );
    assert_eq!(
        outcome(&report, "revoke_user_leaves_other_users_untouched"),
        CheckOutcome::Passed
    );
    assert!(matches!(
        outcome(&report, "revoke_others_keeps_exactly_the_current_session"),
        CheckOutcome::Skipped(_)
    ));
}

#[tokio::test]
async fn capabilities_tell_the_truth_for_each_credential() {
    let emulator = emulator(1).await;
    let ds = emulator.docspace().unwrap();
    let c = ds.credentials();
    let cases: Vec<(DocSpaceProvider, bool)> = vec![
        (
            base(ds)
                .with_api_key(SecretString::from(c.api_key.clone()))
                .build()
                .unwrap(),
            false,
        ),
        (
            base(ds)
                .with_personal_token(SecretString::from(c.admin_token.clone()))
                .build()
                .unwrap(),
            true,
        ),
        (
            base(ds)
                .with_login(
                    c.admin_email.clone(),
                    SecretString::from(c.admin_password.clone()),
                )
                .build()
                .unwrap(),
            true,
        ),
        (
            base(ds)
                .with_basic(
                    c.admin_email.clone(),
                    SecretString::from(c.admin_password.clone()),
                )
                .build()
                .unwrap(),
            false,
        ),
        (
            base(ds)
                .with_oauth_token(SecretString::from(c.oauth_token.clone()))
                .build()
                .unwrap(),
            false,
        ),
    ];
    for (provider, cookie) in cases {
        let caps = provider.capabilities();
        assert_eq!(caps.revoke_other_sessions, cookie, "{provider:?}");
        assert_eq!(caps.marks_current_session, cookie, "{provider:?}");
        assert!(caps.list_own_sessions && !caps.list_all_sessions && !caps.list_user_sessions);
        assert!(
            caps.revoke_session
                && caps.revoke_user_sessions
                && !caps.revoke_user_sessions_by_device
        );
        // Every credential really works.
        let page = provider.list_sessions(&ListQuery::new()).await.unwrap();
        assert!(!page.items.is_empty(), "{provider:?}");
        assert_eq!(page.items.iter().any(|s| s.current), cookie, "{provider:?}");
    }
}

#[tokio::test]
async fn the_login_token_is_reused_and_renewed_after_a_401() {
    let emulator = emulator(2).await;
    let ds = emulator.docspace().unwrap();
    let c = ds.credentials().clone();
    let provider = base(ds)
        .with_login(
            c.admin_email.clone(),
            SecretString::from(c.admin_password.clone()),
        )
        .build()
        .unwrap();
    for _ in 0..3 {
        provider.list_sessions(&ListQuery::new()).await.unwrap();
    }
    let logins = || {
        ds.requests()
            .iter()
            .filter(|r| r.path.ends_with("/authentication"))
            .count()
    };
    assert_eq!(logins(), 1, "the token is reused, not requested per call");
    // Another credential logs the admin out everywhere: the login token dies.
    with_api_key(ds)
        .revoke_user_sessions(&UserId::new(c.admin_id.clone()), DeviceScope::All)
        .await
        .unwrap();
    let page = provider.list_sessions(&ListQuery::new()).await.unwrap();
    assert_eq!(logins(), 2, "one fresh login after the 401");
    assert_eq!(page.items.iter().filter(|s| s.current).count(), 1);
}

#[tokio::test]
async fn revoking_the_callers_own_user_adopts_the_reissued_cookie() {
    let emulator = emulator(2).await;
    let ds = emulator.docspace().unwrap();
    let provider = with_cookie(ds);
    let admin = UserId::new(ds.credentials().admin_id.clone());
    let outcome = provider
        .revoke_user_sessions(&admin, DeviceScope::All)
        .await
        .unwrap();
    assert_eq!(outcome, Revocation::Revoked { count: None });
    assert!(
        !ds.token_is_valid(&ds.credentials().admin_token),
        "the configured token ended"
    );
    let page = provider.list_sessions(&ListQuery::new()).await.unwrap();
    assert_eq!(
        page.items.len(),
        1,
        "only the session DocSpace re-issued remains"
    );
    assert!(page.items[0].current);
}

#[tokio::test]
async fn an_ordinary_user_cannot_end_someone_elses_session() {
    let emulator = emulator(2).await;
    let ds = emulator.docspace().unwrap();
    let c = ds.credentials().clone();
    let member = base(ds)
        .with_personal_token(SecretString::from(c.member_token.clone()))
        .build()
        .unwrap();
    let target = SessionRef::new(c.admin_event.to_string());
    let err = member.revoke_session(&target).await.unwrap_err();
    assert_eq!(
        (err.kind(), err.status()),
        (ErrorKind::PermissionDenied, Some(403))
    );
    assert_eq!(err.message(), "Access denied");
    let err = member
        .revoke_user_sessions(&UserId::new(c.admin_id.clone()), DeviceScope::All)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    let err = member
        .find_user(&Email::parse(&c.admin_email).unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    assert!(ds.token_is_valid(&c.admin_token));
    // Older servers answer the forbidden call with 200 false, indistinguishable from gone.
    ds.set_legacy(true);
    assert_eq!(
        member.revoke_session(&target).await.unwrap(),
        Revocation::AlreadyGone
    );
    assert!(ds.token_is_valid(&c.admin_token));
}

#[tokio::test]
async fn malformed_ids_and_emails_are_refused_before_any_request() {
    let emulator = emulator(1).await;
    let ds = emulator.docspace().unwrap();
    let provider = with_cookie(ds);
    let before = ds.request_count();
    for id in ["0", "-3", "abc", "../1", "1/../../2", "2147483648", ""] {
        let err = provider
            .revoke_session(&SessionRef::new(id))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{id:?}");
    }
    for user in [
        "not-a-guid",
        "../00000000-0000-0000-0000-000000000000",
        "",
        "aae1e103-bca5-9fa1-ba8c-42058b4abf2",
    ] {
        let err = provider
            .revoke_user_sessions(&UserId::new(user), DeviceScope::All)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{user:?}");
    }
    let err = provider
        .revoke_user_sessions(
            &UserId::new("aae1e103-bca5-9fa1-ba8c-42058b4abf28"),
            DeviceScope::Mobile,
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
    for email in ["", "no-at-sign", "a b@c.d", "x@y\r\nz"] {
        assert_eq!(
            Email::parse(email).unwrap_err().kind(),
            ErrorKind::InvalidInput,
            "{email:?}"
        );
    }
    assert_eq!(ds.request_count(), before, "nothing may reach the server");
}

#[tokio::test]
async fn an_unknown_guid_is_not_found_never_revoked_although_logoutall_answers_200() {
    let emulator = emulator(1).await;
    let ds = emulator.docspace().unwrap();
    let provider = with_api_key(ds);
    let ghost = UserId::new("AAE1E103-BCA5-9FA1-BA8C-42058B4ABF28");
    let err = provider
        .revoke_user_sessions(&ghost, DeviceScope::All)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert!(
        err.message().contains("The user could not be found"),
        "{err}"
    );
    let paths: Vec<String> = ds.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(
        paths,
        ["/api/2.0/people/aae1e103-bca5-9fa1-ba8c-42058b4abf28"],
        "checked with people/{{id}}, and logoutall never sent"
    );
    // A known user found by email is not asked about again before logoutall.
    let member = &emulator.people()[1];
    let found = provider
        .find_user(&Email::parse(&member.email).unwrap())
        .await
        .unwrap();
    let id = found.user().unwrap().id.clone();
    ds.clear_requests();
    provider
        .revoke_user_sessions(&id, DeviceScope::All)
        .await
        .unwrap();
    let calls: Vec<String> = ds.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert!(calls[0].contains("/logoutall/"), "{calls:?}");
    // An explicit id of a real user is confirmed, then revoked.
    let other = UserId::new(emulator.people()[0].docspace_id.clone());
    ds.clear_requests();
    provider
        .revoke_user_sessions(&other, DeviceScope::All)
        .await
        .unwrap();
    assert_eq!(ds.requests().len(), 2);
}

#[tokio::test]
async fn an_unknown_email_is_not_found_with_the_servers_words() {
    let emulator = emulator(1).await;
    let provider = with_api_key(emulator.docspace().unwrap());
    let ghost = provider
        .find_user(&Email::parse("ghost@corp.example").unwrap())
        .await
        .unwrap();
    let UserLookup::NotFound { evidence } = ghost else {
        panic!("{ghost:?}")
    };
    assert!(
        evidence.contains("404") && evidence.contains("The user could not be found"),
        "{evidence}"
    );
    let admin = provider
        .find_user(&Email::parse("ADMIN@corp.example").unwrap())
        .await
        .unwrap()
        .into_user()
        .unwrap();
    assert_eq!(
        admin.id.as_str(),
        emulator.docspace().unwrap().credentials().admin_id
    );
    assert_eq!(admin.active, Some(true));
}

#[tokio::test]
async fn sessions_keep_truncated_ipv6_text_and_parse_dates_with_offsets() {
    // Find a person whose seeded DocSpace sessions include an IPv6 address.
    let config = DatasetConfig::new(40, 3, 7);
    let data = Dataset::generate(&config);
    let (person, seeded) = data
        .people()
        .iter()
        .map(|p| (p, data.sessions(p, 1)))
        .find(|(_, s)| s.iter().any(|s| s.ip.contains(':')))
        .expect("the dataset has IPv6 sessions");
    let emulator = Emulator::start(EmulatorConfig::new().users(40).only(ProviderKind::DocSpace))
        .await
        .unwrap();
    let ds = emulator.docspace().unwrap();
    let provider = base(ds)
        .with_basic(
            person.email.clone(),
            SecretString::from(person.password.clone()),
        )
        .build()
        .unwrap();
    let sessions: Vec<_> = provider
        .list_all(ListQuery::new())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(sessions.len(), seeded.len());
    for s in &seeded {
        let listed = sessions
            .iter()
            .find(|l| l.created_at == Some(s.login_at))
            .expect("same login time");
        let expected_ip = s.ip.split(':').next().unwrap();
        assert_eq!(listed.ip.as_deref(), Some(expected_ip));
        assert_eq!(listed.user.as_str(), person.docspace_id);
    }
}

#[tokio::test]
async fn pages_are_cut_by_id_so_revocations_between_pages_skip_nothing() {
    let emulator = emulator(1).await;
    let ds = emulator.docspace().unwrap();
    let admin = ds.credentials().admin_id.clone();
    for _ in 0..8 {
        ds.add_session(&admin);
    }
    let provider = with_cookie(ds);
    let first = provider
        .list_sessions(&ListQuery::new().with_limit(4))
        .await
        .unwrap();
    assert_eq!(first.items.len(), 4);
    // The first page's sessions end before the second page is read.
    for s in &first.items {
        if !s.current {
            provider.revoke_session(&s.to_ref()).await.unwrap();
        }
    }
    let mut query = ListQuery::new()
        .with_limit(4)
        .with_cursor(first.next_cursor.clone());
    let mut rest = Vec::new();
    loop {
        let page = provider.list_sessions(&query).await.unwrap();
        rest.extend(page.items.into_iter().map(|s| s.id));
        match page.next_cursor {
            Some(c) => query.cursor = Some(c),
            None => break,
        }
    }
    let expected: Vec<SessionId> = ds
        .active_events_of(&admin)
        .into_iter()
        .filter(|e| !first.items.iter().any(|s| s.id.as_str() == e.to_string()))
        .map(|e| SessionId::new(e.to_string()))
        .collect();
    let mut got = rest.clone();
    got.sort();
    let mut want = expected;
    want.sort();
    assert_eq!(got, want, "every later session exactly once");
    let err = provider
        .list_sessions(&ListQuery::new().with_cursor(Some(unisession_core::Cursor::new("x"))))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn logout_all_change_password_returns_the_link_and_ends_the_token() {
    let emulator = emulator(1).await;
    let ds = emulator.docspace().unwrap();
    let provider = with_api_key(ds);
    let url = provider.logout_all_change_password().await.unwrap();
    assert!(
        url.contains("/confirm/PasswordChange") && url.contains("type=PasswordChange"),
        "{url}"
    );
    assert!(!ds.token_is_valid(&ds.credentials().admin_token));
}

#[tokio::test]
async fn revoke_others_is_refused_with_a_header_credential_and_keeps_the_current_with_the_cookie() {
    let emulator = emulator(1).await;
    let ds = emulator.docspace().unwrap();
    let before = ds.request_count();
    let err = with_api_key(ds).revoke_other_sessions().await.unwrap_err();
    assert_eq!(
        (err.kind(), err.operation()),
        (ErrorKind::Unsupported, Some(Operation::RevokeOtherSessions))
    );
    assert!(err.message().contains("API key"), "{err}");
    assert_eq!(ds.request_count(), before);
    let c = ds.credentials().clone();
    let outcome = with_cookie(ds).revoke_other_sessions().await.unwrap();
    assert_eq!(outcome, Revocation::Revoked { count: None });
    assert_eq!(ds.active_events_of(&c.admin_id), vec![c.admin_event]);
    assert!(ds.token_is_valid(&c.admin_token));
}

#[tokio::test]
async fn rate_limits_and_proxy_errors_are_retried_and_garbage_is_a_decode_error() {
    let emulator = emulator(2).await;
    let ds = emulator.docspace().unwrap();
    ds.set_faults(
        Faults::none()
            .with_rate_limits(0.4, Duration::from_millis(20))
            .with_server_errors(0.3),
    );
    let provider = base(ds)
        .with_transport(TransportOptions::new().with_retry(fast_retry().with_max_retries(12)))
        .with_api_key(SecretString::from(ds.credentials().api_key.clone()))
        .build()
        .unwrap();
    for _ in 0..5 {
        provider.list_sessions(&ListQuery::new()).await.unwrap();
    }
    let log = ds.requests();
    assert!(log.iter().any(|r| r.status == 429), "429s were injected");
    assert!(log.iter().any(|r| r.status == 502), "502s were injected");

    ds.set_faults(Faults::none().with_server_errors(1.0));
    let err = provider.list_sessions(&ListQuery::new()).await.unwrap_err();
    assert_eq!((err.kind(), err.status()), (ErrorKind::Provider, Some(502)));
    assert!(err.is_temporary());
    assert_eq!(err.retries(), 12);

    ds.set_faults(Faults::none().with_malformed(1.0));
    let err = provider.list_sessions(&ListQuery::new()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decode);
    assert!(
        err.is_temporary(),
        "a truncated answer is worth another try"
    );

    ds.set_faults(Faults::none().with_rate_limits(1.0, Duration::from_millis(10)));
    let err = provider
        .find_user(&Email::parse("a@corp.example").unwrap())
        .await
        .unwrap_err();
    assert_eq!(
        (err.kind(), err.retry_after()),
        (ErrorKind::RateLimited, Some(Duration::from_millis(10)))
    );
}

#[tokio::test]
async fn every_request_sent_matches_an_operation_of_the_spec() {
    let emulator = emulator(2).await;
    let ds = emulator.docspace().unwrap();
    let c = ds.credentials().clone();
    let login = base(ds)
        .with_login(
            c.admin_email.clone(),
            SecretString::from(c.admin_password.clone()),
        )
        .build()
        .unwrap();
    let page = login.list_sessions(&ListQuery::new()).await.unwrap();
    let other = page.items.iter().find(|s| !s.current).unwrap().to_ref();
    login.revoke_session(&other).await.unwrap();
    login
        .revoke_session(&SessionRef::new("424242"))
        .await
        .unwrap();
    login
        .find_user(&Email::parse(&c.admin_email).unwrap())
        .await
        .unwrap();
    login
        .find_user(&Email::parse("nobody@corp.example").unwrap())
        .await
        .unwrap();
    login
        .revoke_user_sessions(&UserId::new(c.member_id.clone()), DeviceScope::All)
        .await
        .unwrap();
    login
        .list_users(&ListQuery::new().with_limit(1))
        .await
        .unwrap();
    login.current_user().await.unwrap();
    login.revoke_other_sessions().await.unwrap();
    login.logout_all_change_password().await.unwrap();
    let requests: Vec<Request> = ds.requests().into_iter().map(Request::from).collect();
    let kinds: std::collections::BTreeSet<String> = requests
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r.method,
                r.path.trim_end_matches(|c: char| c.is_ascii_digit()
                    || c == '-'
                    || c.is_ascii_hexdigit())
            )
        })
        .collect();
    assert!(kinds.len() >= 9, "every operation was exercised: {kinds:?}");
    let problems = nonconforming(Spec::get(Provider::DocSpace), &requests);
    assert!(problems.is_empty(), "{problems:#?}");
}

#[tokio::test]
async fn no_secret_appears_in_debug_display_or_errors() {
    let emulator = emulator(1).await;
    let ds = emulator.docspace().unwrap();
    let c = ds.credentials().clone();
    let secrets = [
        c.api_key.clone(),
        c.admin_token.clone(),
        c.admin_password.clone(),
        c.oauth_token.clone(),
    ];
    let builders = vec![
        base(ds).with_api_key(SecretString::from(format!("{}x", c.api_key))),
        base(ds).with_personal_token(SecretString::from(format!("{}x", c.admin_token))),
        base(ds).with_login(
            c.admin_email.clone(),
            SecretString::from(format!("{}x", c.admin_password)),
        ),
        base(ds).with_basic(
            c.admin_email.clone(),
            SecretString::from(format!("{}x", c.admin_password)),
        ),
        base(ds).with_oauth_token(SecretString::from(format!("{}x", c.oauth_token))),
    ];
    for builder in builders {
        let mut outputs = vec![format!("{builder:?}")];
        let provider = builder.build().unwrap();
        outputs.push(format!("{provider:?} {provider}"));
        // Every credential above is wrong by one character: the calls fail.
        let err = provider.list_sessions(&ListQuery::new()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{err}");
        outputs.push(format!("{err} {err:?}"));
        for output in outputs {
            for secret in &secrets {
                assert!(!output.contains(secret.as_str()), "secret leaked: {output}");
            }
        }
    }
}

#[test]
fn build_refuses_missing_ambiguous_and_malformed_credentials() {
    let b = || DocSpaceBuilder::new("https://corp.onlyoffice.com/");
    let err = b().build().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let err = b()
        .with_api_key(SecretString::from("sk-1"))
        .with_personal_token(SecretString::from("t"))
        .build()
        .unwrap_err();
    assert!(err.message().contains("exactly one"), "{err}");
    assert!(
        b().with_api_key(SecretString::from("not-a-key"))
            .build()
            .is_err()
    );
    assert!(
        b().with_personal_token(SecretString::from("a;b"))
            .build()
            .is_err()
    );
    assert!(
        b().with_basic("a:b", SecretString::from("pw"))
            .build()
            .is_err()
    );
    assert!(
        b().with_login("", SecretString::from("pw"))
            .build()
            .is_err()
    );
    assert!(
        DocSpaceBuilder::new("")
            .with_api_key(SecretString::from("sk-1"))
            .build()
            .is_err()
    );
    assert!(
        DocSpaceBuilder::new("http://docspace.example.com")
            .with_api_key(SecretString::from("sk-1"))
            .build()
            .is_err()
    );
    assert!(b().with_api_key(SecretString::from("sk-1")).build().is_ok());
}
