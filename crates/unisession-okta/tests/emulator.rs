//! The Okta adapter over real HTTP against the Okta emulator.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use secrecy::SecretString;
use unisession_core::conformance::{self, Caller, CheckOutcome, Fixture, SeededUser};
use unisession_core::{
    DeviceScope, Email, ErrorKind, Revocation, SessionId, SessionProvider, SessionRef, UserId,
    UserLookup, Verification,
};
use unisession_emulator::keys::{EC_PRIVATE_KEY, RSA_PRIVATE_KEY, UNKNOWN_EC_PRIVATE_KEY};
use unisession_emulator::{
    Emulator, EmulatorConfig, Faults, Misleading, OktaConfig, OktaEmulator, ProviderKind,
};
use unisession_http::{Adapter, RetryConfig, TransportOptions};
use unisession_okta::{OktaBuilder, OktaProvider};
use unisession_testkit::{Provider, Request, Spec, nonconforming};

async fn emulator_with(config: OktaConfig) -> Emulator {
    Emulator::start(
        EmulatorConfig::new()
            .users(4)
            .only(ProviderKind::Okta)
            .okta(config),
    )
    .await
    .expect("emulator starts")
}

async fn emulator() -> Emulator {
    emulator_with(OktaConfig::default()).await
}

fn transport() -> TransportOptions {
    TransportOptions::new()
        .with_retry(
            RetryConfig::default()
                .with_max_retries(4)
                .with_initial_backoff(Duration::from_millis(5))
                .with_max_backoff(Duration::from_millis(20)),
        )
        .with_time_scale(1000.0)
}

fn api_token(okta: &OktaEmulator) -> OktaBuilder {
    OktaBuilder::new(okta.base_url())
        .with_api_token(SecretString::from(okta.credentials().api_token.clone()))
        .with_transport(transport())
}

fn service_app(okta: &OktaEmulator, key: &str, kid: Option<&str>) -> OktaBuilder {
    OktaBuilder::new(okta.base_url())
        .with_service_app(
            okta.credentials().client_id.clone(),
            SecretString::from(key.to_owned()),
            kid.map(str::to_owned),
        )
        .with_transport(transport())
}

fn provider(okta: &OktaEmulator) -> OktaProvider {
    api_token(okta).build().expect("valid")
}

fn email(text: &str) -> Email {
    Email::parse(text).unwrap()
}

struct OktaFixture {
    okta: OktaEmulator,
    next: AtomicU64,
}

#[unisession_core::async_trait]
impl Fixture for OktaFixture {
    async fn seed_user(&self, sessions: usize) -> SeededUser {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let email = format!("seeded{n}@corp.example");
        let id = self.okta.add_user(&email, None);
        let refs = self
            .okta
            .add_sessions(&id, sessions)
            .into_iter()
            .map(|s| SessionRef::new(s).with_user(id.clone()))
            .collect();
        SeededUser::new(UserId::new(id), email, refs)
    }
    async fn seed_listed_sessions(&self, count: usize) -> Vec<SessionRef> {
        self.seed_user(count).await.sessions
    }
    async fn seed_caller_sessions(&self, _count: usize) -> Vec<SessionRef> {
        Vec::new()
    }
    async fn sessions_of(&self, user: &UserId) -> Vec<SessionId> {
        self.okta
            .sessions_of(user.as_str())
            .into_iter()
            .map(SessionId::new)
            .collect()
    }
    async fn listed_sessions(&self) -> Vec<SessionId> {
        Vec::new()
    }
    async fn caller(&self) -> Option<Caller> {
        None
    }
    async fn requests_received(&self) -> u64 {
        self.okta.request_count()
    }
    fn unknown_session_id(&self) -> SessionId {
        SessionId::new("102NobodyHasThisSession00")
    }
    fn unknown_user_id(&self) -> UserId {
        UserId::new("00uNOBODY0000000000")
    }
    async fn answer_lookups_with(&self, user: Option<&UserId>) -> bool {
        self.okta.set_misleading(
            Misleading::none().with_lookups_answering_with(user.map(|u| u.as_str().to_owned())),
        );
        true
    }
}

fn fixture(emulator: &Emulator) -> OktaFixture {
    OktaFixture {
        okta: emulator.okta().unwrap().clone(),
        next: AtomicU64::new(0),
    }
}

#[tokio::test]
async fn passes_the_shared_conformance_suite() {
    let emulator = emulator().await;
    let okta = provider(emulator.okta().unwrap());
    let report = conformance::run_all(&okta, &fixture(&emulator)).await;
    let outcome = |name: &str| {
        report
            .iter()
            .find(|r| r.name == name)
            .map(|r| r.outcome.clone())
            .unwrap()
    };
    for name in [
        "revoking_twice_is_already_gone",
        "revoke_user_leaves_other_users_untouched",
        "find_user_by_email",
        "lookup_answered_for_another_person_is_refused",
        "revoking_an_unknown_user_is_not_found",
        "unsupported_operations_are_refused",
    ] {
        assert_eq!(outcome(name), CheckOutcome::Passed, "{name}");
    }
    // What Okta cannot do is skipped, not faked.
    assert!(matches!(
        outcome("pagination_returns_every_session_exactly_once"),
        CheckOutcome::Skipped(_)
    ));
}

#[tokio::test]
async fn an_offboarding_revokes_the_oauth_tokens_and_forgets_devices_unless_told_otherwise() {
    let emulator = emulator().await;
    let okta = emulator.okta().unwrap();
    let people = emulator.people();
    let alice = okta.user_id_by_email(&people[1].email).unwrap();
    let bob = okta.user_id_by_email(&people[2].email).unwrap();
    assert!(!okta.sessions_of(&alice).is_empty());
    assert!(okta.refresh_tokens_of(&alice) > 0);

    let provider = provider(okta);
    assert!(provider.revokes_oauth_tokens());
    let found = provider
        .find_user(&email(&people[1].email.to_uppercase()))
        .await
        .unwrap()
        .into_user()
        .unwrap();
    assert_eq!(found.id.as_str(), alice, "values match in any case");
    let outcome = provider
        .revoke_user_sessions(&found.id, DeviceScope::All)
        .await
        .unwrap();
    assert_eq!(
        outcome,
        Revocation::revoked_unknown_count(),
        "Okta says no count"
    );
    assert!(okta.sessions_of(&alice).is_empty());
    assert_eq!(okta.refresh_tokens_of(&alice), 0, "oauthTokens=true");
    assert!(!okta.remembers_factors_of(&alice), "forgetDevices=true");
    let sent = okta
        .requests()
        .into_iter()
        .find(|r| r.method == "DELETE" && r.path.ends_with("/sessions"))
        .unwrap();
    let query = sent.query.unwrap_or_default();
    assert!(
        query.contains("oauthTokens=true") && query.contains("forgetDevices=true"),
        "{query}"
    );

    // Told otherwise: the refresh tokens stay, and the person's Okta sessions still go.
    let keep = api_token(okta).revoke_oauth_tokens(false).build().unwrap();
    let bob_id = UserId::new(bob.clone());
    let tokens = okta.refresh_tokens_of(&bob);
    keep.revoke_user_sessions(&bob_id, DeviceScope::All)
        .await
        .unwrap();
    assert!(okta.sessions_of(&bob).is_empty());
    assert_eq!(okta.refresh_tokens_of(&bob), tokens);
    assert!(!keep.revokes_oauth_tokens());
}

#[tokio::test]
async fn the_revocation_is_confirmed_in_the_system_log_and_a_new_sign_in_is_caught() {
    let mut config = OktaConfig::default();
    config.log_delay = Duration::from_millis(300);
    let emulator = emulator_with(config).await;
    let okta = emulator.okta().unwrap();
    let provider = provider(okta);
    assert!(provider.capabilities().confirms_revocation);
    assert!(provider.capabilities().identity_provider);
    let user = UserId::new(okta.user_id_by_email(&emulator.people()[1].email).unwrap());
    let requested_at = chrono::Utc::now();
    provider
        .revoke_user_sessions(&user, DeviceScope::All)
        .await
        .unwrap();
    // The log lags: nothing to see yet, and that is not a failure.
    assert_eq!(
        provider
            .confirm_revocation(&user, requested_at)
            .await
            .unwrap(),
        None
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    let confirmed = provider
        .confirm_revocation(&user, requested_at)
        .await
        .unwrap();
    assert!(
        matches!(&confirmed, Some(Verification::Confirmed { evidence }) if evidence.contains("user.session.clear") && evidence.contains(user.as_str())),
        "{confirmed:?}"
    );
    // Another person's clear event proves nothing about this one.
    let other = UserId::new(okta.user_id_by_email(&emulator.people()[2].email).unwrap());
    assert_eq!(
        provider
            .confirm_revocation(&other, requested_at)
            .await
            .unwrap(),
        None
    );
    // The person signs in again: still active.
    okta.sign_in(user.as_str()).unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let again = provider
        .confirm_revocation(&user, requested_at)
        .await
        .unwrap();
    assert_eq!(again, Some(Verification::StillActive { remaining: 1 }));
}

#[tokio::test]
async fn a_service_app_signs_its_assertion_and_renews_its_token() {
    let emulator = emulator().await;
    let okta = emulator.okta().unwrap();
    let user = UserId::new(okta.user_id_by_email(&emulator.people()[1].email).unwrap());
    for (key, kid) in [(RSA_PRIVATE_KEY, Some("rsa-1")), (EC_PRIVATE_KEY, None)] {
        let app = service_app(okta, key, kid).build().unwrap();
        let found = app
            .find_user(&email(&emulator.people()[1].email))
            .await
            .unwrap();
        assert!(matches!(found, UserLookup::Found(ref u) if u.id == user));
        assert!(
            app.check_credential()
                .await
                .unwrap()
                .contains("service app")
        );
    }
    let tokens_before = okta
        .requests()
        .iter()
        .filter(|r| r.path == "/oauth2/v1/token")
        .count();
    // One token serves many calls.
    let app = service_app(okta, EC_PRIVATE_KEY, Some("ec-1"))
        .build()
        .unwrap();
    for _ in 0..3 {
        app.find_user(&email(&emulator.people()[2].email))
            .await
            .unwrap();
    }
    let fetched = |okta: &OktaEmulator| {
        okta.requests()
            .iter()
            .filter(|r| r.path == "/oauth2/v1/token")
            .count()
            - tokens_before
    };
    assert_eq!(fetched(okta), 1);
    // The server stops honouring it: one new token, and the call goes through.
    okta.expire_access_tokens();
    app.revoke_user_sessions(&user, DeviceScope::All)
        .await
        .unwrap();
    assert_eq!(fetched(okta), 2);
    // The assertion travelled as a form field, never in a URL or a log line.
    for request in okta.requests() {
        assert!(
            !request
                .query
                .unwrap_or_default()
                .contains("client_assertion")
        );
    }
}

#[tokio::test]
async fn a_foreign_key_a_wrong_kid_or_a_missing_scope_is_refused_with_the_reason() {
    let emulator = emulator().await;
    let okta = emulator.okta().unwrap();
    let alice = email(&emulator.people()[1].email);
    let foreign = service_app(okta, UNKNOWN_EC_PRIVATE_KEY, None)
        .build()
        .unwrap();
    let error = foreign.find_user(&alice).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Unauthenticated, "{error}");
    assert_eq!(error.code(), Some("invalid_client"));
    let wrong_kid = service_app(okta, RSA_PRIVATE_KEY, Some("ec-1"))
        .build()
        .unwrap();
    assert_eq!(
        wrong_kid.find_user(&alice).await.unwrap_err().kind(),
        ErrorKind::Unauthenticated
    );
    // Asks only to read: finding works, revoking names the missing scope.
    let reader = service_app(okta, EC_PRIVATE_KEY, None)
        .with_scopes(["okta.users.read"])
        .build()
        .unwrap();
    let user = reader.find_user(&alice).await.unwrap().into_user().unwrap();
    let error = reader
        .revoke_user_sessions(&user.id, DeviceScope::All)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PermissionDenied);
    assert!(error.message().contains("okta.users.manage"), "{error}");
    assert!(
        !okta.sessions_of(user.id.as_str()).is_empty(),
        "nothing revoked"
    );
    // A scope the app was never granted: the token endpoint refuses.
    let greedy = service_app(okta, EC_PRIVATE_KEY, None)
        .with_scopes(["okta.users.read", "okta.apps.manage"])
        .build()
        .unwrap();
    let error = greedy.find_user(&alice).await.unwrap_err();
    assert_eq!(error.code(), Some("invalid_scope"));
    // A read-only admin's API token: refused, nothing changed.
    let read_only = OktaBuilder::new(okta.base_url())
        .with_api_token(SecretString::from(
            okta.credentials().read_only_token.clone(),
        ))
        .with_transport(transport())
        .build()
        .unwrap();
    let error = read_only
        .revoke_user_sessions(&user.id, DeviceScope::All)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PermissionDenied);
    assert_eq!(error.code(), Some("E0000006"));
    let revoked = OktaBuilder::new(okta.base_url())
        .with_api_token(SecretString::from(okta.credentials().revoked_token.clone()))
        .with_transport(transport())
        .build()
        .unwrap();
    let error = revoked.find_user(&alice).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Unauthenticated);
    assert_eq!(error.code(), Some("E0000011"));
}

#[tokio::test]
async fn lookups_refuse_other_people_everyone_and_several_people_and_find_lagging_ones() {
    let mut config = OktaConfig::default();
    config.search_lag = Duration::from_secs(30);
    let emulator = emulator_with(config).await;
    let okta = emulator.okta().unwrap();
    let provider = provider(okta);
    let alice = email(&emulator.people()[1].email);

    // Unknown: the search and the login lookup both say so, and the evidence says how.
    let nobody = provider
        .find_user(&email("nobody@corp.example"))
        .await
        .unwrap();
    match nobody {
        UserLookup::NotFound { evidence } => {
            assert!(
                evidence.contains("search") && evidence.contains("404 E0000007"),
                "{evidence}"
            );
        }
        other => panic!("{other:?}"),
    }
    // Just added: the search does not see them yet, the login lookup does.
    let fresh = okta.add_user("fresh.hire@corp.example", None);
    let found = provider
        .find_user(&email("fresh.hire@corp.example"))
        .await
        .unwrap();
    assert!(
        matches!(found, UserLookup::Found(ref u) if u.id.as_str() == fresh),
        "{found:?}"
    );

    // The filter ignored: everyone comes back. The person among them is still told
    // apart by the email; an address nobody has is not taken for "not found".
    okta.set_misleading(Misleading::none().with_lookups_ignoring_filter(true));
    let found = provider.find_user(&alice).await.unwrap();
    assert!(
        matches!(found, UserLookup::Found(ref u) if u.email.as_deref() == Some(alice.as_str()))
    );
    let error = provider
        .find_user(&email("nobody@corp.example"))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::IdentityMismatch, "{error}");
    // Another person answered.
    okta.set_misleading(Misleading::none().with_lookups_answering_other(1.0));
    let error = provider.find_user(&alice).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::IdentityMismatch);
    okta.set_misleading(Misleading::none());
}

#[tokio::test]
async fn two_people_with_one_address_are_never_guessed() {
    let emulator = emulator().await;
    let okta = emulator.okta().unwrap();
    let shared = "shared.mailbox@corp.example";
    let first = okta.add_user(shared, Some("shared.one@corp.example"));
    let second = okta.add_user(shared, Some("shared.two@corp.example"));
    okta.add_sessions(&first, 1);
    let error = provider(okta).find_user(&email(shared)).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::IdentityMismatch, "{error}");
    assert!(
        error.message().contains(&first) && error.message().contains(&second),
        "{error}"
    );
    assert_eq!(okta.sessions_of(&first).len(), 1);
}

#[tokio::test]
async fn unknown_ids_logins_and_device_scopes_are_refused_before_anything_changes() {
    let emulator = emulator().await;
    let okta = emulator.okta().unwrap();
    let provider = provider(okta);
    // A server answering 204 for anybody: the existence check still says nobody.
    okta.set_misleading(Misleading::none().with_success_for_unknown_users(true));
    let error = provider
        .revoke_user_sessions(&UserId::new("00uNOBODY0000000000"), DeviceScope::All)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound, "{error}");
    okta.set_misleading(Misleading::none());
    // A login shortname is not an id.
    let id = okta.add_user("jdoe.contractor@corp.example", Some("jdoe"));
    okta.add_sessions(&id, 2);
    let error = provider
        .revoke_user_sessions(&UserId::new("jdoe"), DeviceScope::All)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput, "{error}");
    assert!(error.message().contains(&id), "{error}");
    assert_eq!(okta.sessions_of(&id).len(), 2);
    // An email is refused before any request.
    let before = okta.request_count();
    let error = provider
        .revoke_user_sessions(&UserId::new("jdoe@corp.example"), DeviceScope::All)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    assert_eq!(okta.request_count(), before);
    // Okta has no device scope.
    let error = provider
        .revoke_user_sessions(&UserId::new(id.clone()), DeviceScope::Mobile)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Unsupported);
    assert_eq!(okta.sessions_of(&id).len(), 2);
}

#[tokio::test]
async fn rate_limits_without_retry_after_are_waited_out_from_the_reset() {
    let emulator = Emulator::start(
        EmulatorConfig::new()
            .users(3)
            .only(ProviderKind::Okta)
            .faults(
                ProviderKind::Okta,
                Faults::none().with_rate_limits(0.3, Duration::from_millis(1500)),
            ),
    )
    .await
    .unwrap();
    let okta = emulator.okta().unwrap();
    let provider = OktaBuilder::new(okta.base_url())
        .with_api_token(SecretString::from(okta.credentials().api_token.clone()))
        .with_transport(
            TransportOptions::new().with_retry(
                RetryConfig::default()
                    .with_max_retries(8)
                    .with_initial_backoff(Duration::from_millis(5))
                    .with_max_retry_after(Duration::from_secs(5)),
            ),
        )
        .build()
        .unwrap();
    for person in &emulator.people()[1..] {
        provider.find_user(&email(&person.email)).await.unwrap();
    }
    let limited = okta
        .requests()
        .into_iter()
        .filter(|r| r.status == 429)
        .count();
    assert!(limited > 0, "the fault fired");
    // The 429s carried no Retry-After: the client read X-Rate-Limit-Reset.
    let faults = Faults::none().with_rate_limits(1.0, Duration::from_secs(30));
    okta.set_faults(faults);
    let error = provider
        .find_user(&email(&emulator.people()[1].email))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::RateLimited);
    assert!(
        error
            .retry_after()
            .is_some_and(|w| w > Duration::from_secs(20)),
        "{:?}",
        error.retry_after()
    );
}

#[tokio::test]
async fn server_errors_are_retried_and_malformed_answers_are_decode_errors() {
    let emulator = Emulator::start(
        EmulatorConfig::new()
            .users(3)
            .only(ProviderKind::Okta)
            .faults(ProviderKind::Okta, Faults::none().with_server_errors(0.4)),
    )
    .await
    .unwrap();
    let okta = emulator.okta().unwrap();
    let provider = provider(okta);
    for person in &emulator.people()[1..] {
        provider.find_user(&email(&person.email)).await.unwrap();
    }
    okta.set_faults(Faults::none().with_malformed(1.0));
    let error = provider
        .find_user(&email(&emulator.people()[1].email))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Decode, "{error}");
}

#[tokio::test]
async fn requests_match_the_okta_spec() {
    let emulator = emulator().await;
    let okta = emulator.okta().unwrap();
    let api = provider(okta);
    let app = service_app(okta, EC_PRIVATE_KEY, None).build().unwrap();
    let person = email(&emulator.people()[1].email);
    let user = api.find_user(&person).await.unwrap().into_user().unwrap();
    let requested_at = chrono::Utc::now();
    app.revoke_user_sessions(&user.id, DeviceScope::All)
        .await
        .unwrap();
    api.confirm_revocation(&user.id, requested_at)
        .await
        .unwrap();
    api.revoke_session(&SessionRef::new("102NobodyHasThisSession00"))
        .await
        .unwrap();
    let _ = api.find_user(&email("nobody@corp.example")).await.unwrap();
    let spec = Spec::get(Provider::Okta);
    let requests: Vec<Request> = okta.requests().into_iter().map(Request::from).collect();
    assert!(requests.len() >= 7, "{}", requests.len());
    let bad = nonconforming(spec, &requests);
    assert!(bad.is_empty(), "{bad:#?}");
}

#[tokio::test]
async fn no_credential_appears_in_debug_display_or_errors() {
    let emulator = emulator().await;
    let okta = emulator.okta().unwrap();
    let token = okta.credentials().api_token.clone();
    let api = provider(okta);
    let app = service_app(okta, RSA_PRIVATE_KEY, None);
    let shown = format!("{app:?}");
    let key_line = RSA_PRIVATE_KEY.lines().nth(1).unwrap();
    assert!(!shown.contains(key_line), "{shown}");
    let app = app.build().unwrap();
    for text in [format!("{api:?}"), format!("{api}"), format!("{app:?}")] {
        assert!(!text.contains(&token) && !text.contains(key_line), "{text}");
    }
    okta.expire_access_tokens();
    let wrong = OktaBuilder::new(okta.base_url())
        .with_api_token(SecretString::from(format!("{token}x")))
        .build()
        .unwrap();
    let error = wrong
        .find_user(&email(&emulator.people()[1].email))
        .await
        .unwrap_err();
    let shown = format!("{error} {error:?}");
    assert!(!shown.contains(&token), "{shown}");
    // The builder refuses what cannot work, before anything is sent.
    assert!(OktaBuilder::new(okta.base_url()).build().is_err());
    assert!(
        OktaBuilder::new(okta.base_url())
            .with_api_token(SecretString::from(format!("SSWS {token}")))
            .build()
            .is_err()
    );
    assert!(
        OktaBuilder::new(okta.base_url())
            .with_service_app("0oa123", SecretString::from("not a key"), None)
            .build()
            .is_err()
    );
    assert!(
        OktaBuilder::new("http://corp.okta.example/")
            .with_api_token(SecretString::from(token))
            .build()
            .is_err(),
        "http to a remote host is refused"
    );
}

#[tokio::test]
async fn the_announced_budget_is_spent_before_a_429_is_drawn() {
    let emulator = Emulator::start(
        EmulatorConfig::new()
            .users(3)
            .only(ProviderKind::Okta)
            .faults(
                ProviderKind::Okta,
                Faults::none().with_enforced_limits(200.0),
            ),
    )
    .await
    .unwrap();
    let okta = emulator.okta().unwrap();
    let provider = provider(okta);
    let user = UserId::new(okta.user_id_by_email(&emulator.people()[1].email).unwrap());
    let requested_at = chrono::Utc::now();
    provider
        .revoke_user_sessions(&user, DeviceScope::All)
        .await
        .unwrap();
    // The System Log's bucket holds 120 a (scaled) minute: 150 reads cross it.
    for _ in 0..150 {
        let seen = provider
            .confirm_revocation(&user, requested_at)
            .await
            .unwrap();
        assert!(matches!(seen, Some(Verification::Confirmed { .. })));
    }
    let limited = okta.requests().iter().filter(|r| r.status == 429).count();
    assert_eq!(
        limited, 0,
        "the client waited for the reset instead of drawing 429s"
    );
    let logs = okta
        .requests()
        .iter()
        .filter(|r| r.path == "/api/v1/logs")
        .count();
    assert_eq!(logs, 150);
}
