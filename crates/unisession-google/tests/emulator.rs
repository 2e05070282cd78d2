//! The Google adapter over real HTTP against the Google emulator.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use secrecy::SecretString;
use unisession_core::conformance::{self, Caller, CheckOutcome, Fixture, SeededUser};
use unisession_core::{
    DeviceScope, Email, ErrorKind, Revocation, SessionId, SessionProvider, SessionRef, UserId,
    UserLookup, Verification,
};
use unisession_emulator::{
    Emulator, EmulatorConfig, Faults, GoogleConfig, GoogleEmulator, Misleading, ProviderKind,
};
use unisession_google::{GoogleBuilder, GoogleProvider};
use unisession_http::{Adapter, RetryConfig, TransportOptions};

async fn emulator_with(config: GoogleConfig) -> Emulator {
    Emulator::start(
        EmulatorConfig::new()
            .users(4)
            .only(ProviderKind::Google)
            .google(config),
    )
    .await
    .expect("emulator starts")
}

async fn emulator() -> Emulator {
    emulator_with(GoogleConfig::default()).await
}

fn transport() -> TransportOptions {
    TransportOptions::new()
        .with_retry(
            RetryConfig::default()
                .with_max_retries(6)
                .with_initial_backoff(Duration::from_millis(5))
                .with_max_backoff(Duration::from_millis(20)),
        )
        .with_time_scale(1000.0)
}

fn builder(google: &GoogleEmulator, admin: &str) -> GoogleBuilder {
    GoogleBuilder::new(admin)
        .with_key_file(SecretString::from(google.key_file()))
        .with_base_url(google.base_url())
        .with_transport(transport())
}

fn provider(google: &GoogleEmulator) -> GoogleProvider {
    builder(google, &google.credentials().admin)
        .build()
        .expect("valid")
}

fn email(text: &str) -> Email {
    Email::parse(text).unwrap()
}

struct GoogleFixture {
    google: GoogleEmulator,
    next: AtomicU64,
}

#[unisession_core::async_trait]
impl Fixture for GoogleFixture {
    async fn seed_user(&self, sessions: usize) -> SeededUser {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let email = format!("seeded{n}@corp.example");
        let id = self.google.add_user(&email, sessions);
        SeededUser::new(UserId::new(id), email, Vec::new())
    }
    async fn seed_listed_sessions(&self, _count: usize) -> Vec<SessionRef> {
        Vec::new()
    }
    async fn seed_caller_sessions(&self, _count: usize) -> Vec<SessionRef> {
        Vec::new()
    }
    async fn sessions_of(&self, user: &UserId) -> Vec<SessionId> {
        (0..self.google.sessions_of(user.as_str()))
            .map(|i| SessionId::new(format!("cookie-{i}")))
            .collect()
    }
    async fn listed_sessions(&self) -> Vec<SessionId> {
        Vec::new()
    }
    async fn caller(&self) -> Option<Caller> {
        None
    }
    async fn requests_received(&self) -> u64 {
        self.google.request_count()
    }
    fn unknown_session_id(&self) -> SessionId {
        SessionId::new("no-such-session")
    }
    fn unknown_user_id(&self) -> UserId {
        UserId::new("100000000000000000000")
    }
    async fn answer_lookups_with(&self, user: Option<&UserId>) -> bool {
        self.google.set_misleading(
            Misleading::none().with_lookups_answering_with(user.map(|u| u.as_str().to_owned())),
        );
        true
    }
}

#[tokio::test]
async fn passes_the_shared_conformance_suite() {
    let emulator = emulator().await;
    let google = provider(emulator.google().unwrap());
    let fixture = GoogleFixture {
        google: emulator.google().unwrap().clone(),
        next: AtomicU64::new(0),
    };
    let report = conformance::run_all(&google, &fixture).await;
    let outcome = |name: &str| {
        report
            .iter()
            .find(|r| r.name == name)
            .map(|r| r.outcome.clone())
            .unwrap()
    };
    for name in [
        "revoke_user_leaves_other_users_untouched",
        "find_user_by_email",
        "lookup_answered_for_another_person_is_refused",
        "revoking_an_unknown_user_is_not_found",
        "unsupported_operations_are_refused",
    ] {
        assert_eq!(outcome(name), CheckOutcome::Passed, "{name}");
    }
}

#[tokio::test]
async fn an_offboarding_signs_out_and_revokes_tokens_and_app_passwords_unless_told_not_to() {
    let emulator = emulator().await;
    let google = emulator.google().unwrap();
    let provider = provider(google);
    let person = &emulator.people()[1];
    let user = provider
        .find_user(&email(&person.email))
        .await
        .unwrap()
        .into_user()
        .unwrap();
    assert!(google.sessions_of(user.id.as_str()) > 0);
    assert_eq!(google.grants_of(user.id.as_str()), (2, 1));
    let requested_at = chrono::Utc::now();
    assert_eq!(
        provider
            .revoke_user_sessions(&user.id, DeviceScope::All)
            .await
            .unwrap(),
        Revocation::revoked_unknown_count()
    );
    assert_eq!(google.sessions_of(user.id.as_str()), 0);
    assert_eq!(google.grants_of(user.id.as_str()), (0, 0));
    // Nothing readable proves a sign-out: said so, not claimed.
    let seen = provider
        .confirm_revocation(&user.id, requested_at)
        .await
        .unwrap();
    assert!(
        matches!(&seen, Some(Verification::Unverifiable { reason }) if reason.contains("no readable record")),
        "{seen:?}"
    );
    // A sign-in since: still active.
    google.sign_in(user.id.as_str());
    assert_eq!(
        provider
            .confirm_revocation(&user.id, requested_at)
            .await
            .unwrap(),
        Some(Verification::StillActive { remaining: 1 })
    );
    // Told not to: the grants stay, the plan says what is covered.
    let other = provider
        .find_user(&email(&emulator.people()[2].email))
        .await
        .unwrap()
        .into_user()
        .unwrap();
    let only_sign_out = builder(google, &google.credentials().admin)
        .revoke_oauth_tokens(false)
        .revoke_app_passwords(false)
        .build()
        .unwrap();
    only_sign_out
        .revoke_user_sessions(&other.id, DeviceScope::All)
        .await
        .unwrap();
    assert_eq!(google.sessions_of(other.id.as_str()), 0);
    assert_eq!(google.grants_of(other.id.as_str()), (2, 1));
    let covers = provider.capabilities().revocation_covers.clone().unwrap();
    assert!(
        covers.contains("OAuth token") && covers.contains("app-specific"),
        "{covers}"
    );
    let covers = only_sign_out
        .capabilities()
        .revocation_covers
        .clone()
        .unwrap();
    assert!(!covers.contains("OAuth token"), "{covers}");
}

#[tokio::test]
async fn lookups_by_alias_work_and_other_people_are_refused() {
    let emulator = emulator().await;
    let google = emulator.google().unwrap();
    let provider = provider(google);
    let person = &emulator.people()[1];
    let local = person.email.split('@').next().unwrap();
    let alias = format!("{local}@corp-alias.example");
    let by_alias = provider.find_user(&email(&alias)).await.unwrap();
    let id = google.user_id_by_email(&person.email).unwrap();
    assert!(matches!(by_alias, UserLookup::Found(ref u) if u.id.as_str() == id));
    match provider
        .find_user(&email("nobody@corp.example"))
        .await
        .unwrap()
    {
        UserLookup::NotFound { evidence } => {
            assert!(evidence.contains("404 notFound"), "{evidence}")
        }
        other => panic!("{other:?}"),
    }
    google.set_misleading(Misleading::none().with_lookups_answering_other(1.0));
    let error = provider.find_user(&email(&person.email)).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::IdentityMismatch);
    google.set_misleading(Misleading::none().with_success_for_unknown_users(true));
    let error = provider
        .revoke_user_sessions(&UserId::new("100000000000000000001"), DeviceScope::All)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound);
    let before = google.request_count();
    let error = provider
        .revoke_user_sessions(&UserId::new(person.email.clone()), DeviceScope::All)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    assert_eq!(google.request_count(), before);
}

#[tokio::test]
async fn delegation_and_privilege_problems_are_named() {
    let emulator = emulator().await;
    let google = emulator.google().unwrap();
    let person = email(&emulator.people()[1].email);
    // Impersonating someone who is not an administrator: every call is refused.
    let member = builder(google, &emulator.people()[2].email)
        .build()
        .unwrap();
    let error = member.find_user(&person).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PermissionDenied, "{error}");
    assert_eq!(error.code(), Some("forbidden"));
    // Nobody by that name: the token endpoint refuses.
    let nobody = builder(google, "nobody@corp.example").build().unwrap();
    let error = nobody.find_user(&person).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Unauthenticated);
    assert_eq!(error.code(), Some("invalid_grant"));
    // A key file that is not a service account's, or no key: refused before sending.
    assert!(
        GoogleBuilder::new("admin@corp.example")
            .with_key_file(SecretString::from(
                "{\"type\":\"authorized_user\",\"client_email\":\"x\",\"private_key\":\"y\"}"
            ))
            .build()
            .is_err()
    );
    assert!(GoogleBuilder::new("admin@corp.example").build().is_err());
    assert!(
        provider(google)
            .check_credential()
            .await
            .unwrap()
            .contains(&google.credentials().admin)
    );
}

#[tokio::test]
async fn quota_403s_are_retried_and_a_forbidden_403_is_not() {
    let emulator = Emulator::start(
        EmulatorConfig::new()
            .users(4)
            .only(ProviderKind::Google)
            .faults(
                ProviderKind::Google,
                Faults::none().with_rate_limits(0.3, Duration::from_millis(10)),
            ),
    )
    .await
    .unwrap();
    let google = emulator.google().unwrap();
    let provider = provider(google);
    for person in &emulator.people()[1..] {
        provider.find_user(&email(&person.email)).await.unwrap();
    }
    let quota = google.requests().iter().filter(|r| r.status == 403).count();
    assert!(quota > 0, "the quota fault fired");
    google.set_faults(Faults::none().with_server_errors(1.0));
    let error = provider
        .find_user(&email(&emulator.people()[1].email))
        .await
        .unwrap_err();
    assert!(error.is_temporary(), "{error}");
}

#[tokio::test]
async fn no_credential_appears_in_debug_display_errors_or_requests() {
    let emulator = emulator().await;
    let google = emulator.google().unwrap();
    let provider = provider(google);
    let key_line = unisession_emulator::keys::RSA_PRIVATE_KEY
        .lines()
        .nth(1)
        .unwrap();
    provider
        .find_user(&email(&emulator.people()[1].email))
        .await
        .unwrap();
    for text in [
        format!("{provider:?}"),
        provider.to_string(),
        format!("{:?}", builder(google, "admin@corp.example")),
    ] {
        assert!(!text.contains(key_line), "{text}");
    }
    for request in google.requests() {
        assert!(!request.path.contains("assertion"));
        assert!(!request.query.unwrap_or_default().contains("assertion"));
    }
    let _ = GoogleConfig::default();
}

#[tokio::test]
async fn requests_match_the_directory_api_discovery_document() {
    let emulator = emulator().await;
    let google = emulator.google().unwrap();
    let provider = provider(google);
    let person = email(&emulator.people()[1].email);
    let user = provider
        .find_user(&person)
        .await
        .unwrap()
        .into_user()
        .unwrap();
    let requested_at = chrono::Utc::now();
    provider
        .revoke_user_sessions(&user.id, DeviceScope::All)
        .await
        .unwrap();
    provider
        .confirm_revocation(&user.id, requested_at)
        .await
        .unwrap();
    let _ = provider
        .find_user(&email("nobody@corp.example"))
        .await
        .unwrap();
    let spec = unisession_testkit::Spec::get(unisession_testkit::Provider::Google);
    // The token endpoint (oauth2.googleapis.com) is not part of the Directory API.
    let requests: Vec<unisession_testkit::Request> = google
        .requests()
        .into_iter()
        .filter(|r| r.path != "/token")
        .map(unisession_testkit::Request::from)
        .collect();
    // users.get ×3, signOut, tokens.list, tokens.delete ×2, asps.list, asps.delete.
    assert!(requests.len() >= 9, "{}", requests.len());
    let bad = unisession_testkit::nonconforming(spec, &requests);
    assert!(bad.is_empty(), "{bad:#?}");
}
