//! The Rocket.Chat adapter over real HTTP against the Rocket.Chat emulator.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::TryStreamExt;
use secrecy::{ExposeSecret, SecretString};
use unisession_core::conformance::{self, Caller, CheckOutcome, Fixture, SeededUser};
use unisession_core::{
    DeviceScope, Email, ErrorKind, ListQuery, Operation, Revocation, SessionId, SessionProvider,
    SessionProviderExt, SessionRef, UserId, UserLookup,
};
use unisession_emulator::{
    Emulator, EmulatorConfig, Faults, Misleading, ProviderKind, RocketChatConfig,
    RocketChatEmulator, TwoFactorMethod,
};
use unisession_http::{RetryConfig, TransportOptions};
use unisession_rocketchat::{
    RocketChatBuilder, RocketChatProvider, Scope, UserRevocation, password_digest,
};
use unisession_testkit::{Provider, Request, Spec, nonconforming};

async fn emulator_with(users: usize, config: RocketChatConfig) -> Emulator {
    Emulator::start(
        EmulatorConfig::new()
            .users(users)
            .only(ProviderKind::RocketChat)
            .rocketchat(config),
    )
    .await
    .expect("emulator starts")
}

async fn emulator(users: usize) -> Emulator {
    emulator_with(users, RocketChatConfig::default()).await
}

fn config(update: impl FnOnce(&mut RocketChatConfig)) -> RocketChatConfig {
    let mut config = RocketChatConfig::default();
    update(&mut config);
    config
}

fn email(address: &str) -> Email {
    Email::parse(address).expect("a valid address")
}

fn fast_retry() -> RetryConfig {
    RetryConfig::default()
        .with_max_retries(4)
        .with_initial_backoff(Duration::from_millis(5))
        .with_max_backoff(Duration::from_millis(20))
}

fn base(rc: &RocketChatEmulator) -> RocketChatBuilder {
    RocketChatBuilder::new(rc.base_url())
        .with_transport(TransportOptions::new().with_retry(fast_retry()))
}

/// The administrator's resume token, answering the password method.
fn admin(rc: &RocketChatEmulator, scope: Scope) -> RocketChatProvider {
    let c = rc.credentials();
    base(rc)
        .with_token(
            c.admin_user_id.clone(),
            SecretString::from(c.admin_token.clone()),
        )
        .with_two_factor_password(SecretString::from(c.admin_password.clone()))
        .with_scope(scope)
        .build()
        .unwrap()
}

struct RcFixture {
    rc: RocketChatEmulator,
    scope: Scope,
    current: Option<String>,
    next: AtomicU64,
}

impl RcFixture {
    fn new(emulator: &Emulator, scope: Scope, has_session: bool) -> Self {
        let rc = emulator.rocketchat().unwrap().clone();
        let current = has_session.then(|| rc.credentials().admin_session_id.clone());
        Self {
            rc,
            scope,
            current,
            next: AtomicU64::new(0),
        }
    }
    fn admin_id(&self) -> String {
        self.rc.credentials().admin_user_id.clone()
    }
}

#[unisession_core::async_trait]
impl Fixture for RcFixture {
    async fn seed_user(&self, sessions: usize) -> SeededUser {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let email = format!("seeded{n}@corp.example");
        let id = self.rc.add_user(&email);
        let refs = (0..sessions)
            .map(|_| SessionRef::new(self.rc.add_session(&id).unwrap().0).with_user(id.clone()))
            .collect();
        SeededUser::new(UserId::new(id), email, refs)
    }
    async fn seed_listed_sessions(&self, count: usize) -> Vec<SessionRef> {
        match self.scope {
            Scope::Own => self.seed_caller_sessions(count).await,
            _ => self.seed_user(count).await.sessions,
        }
    }
    async fn seed_caller_sessions(&self, count: usize) -> Vec<SessionRef> {
        let admin = self.admin_id();
        (0..count)
            .map(|_| {
                SessionRef::new(self.rc.add_session(&admin).unwrap().0).with_user(admin.clone())
            })
            .collect()
    }
    async fn sessions_of(&self, user: &UserId) -> Vec<SessionId> {
        let mut live: Vec<SessionId> = self
            .rc
            .live_sessions_of(user.as_str())
            .into_iter()
            .map(SessionId::new)
            .collect();
        live.sort();
        live
    }
    async fn listed_sessions(&self) -> Vec<SessionId> {
        let ids = match self.scope {
            Scope::Own => self.rc.listed_sessions_of(&self.admin_id()),
            _ => self.rc.listed_sessions(),
        };
        ids.into_iter().map(SessionId::new).collect()
    }
    async fn caller(&self) -> Option<Caller> {
        Some(Caller::new(
            UserId::new(self.admin_id()),
            self.current.clone().map(SessionId::new),
        ))
    }
    async fn requests_received(&self) -> u64 {
        self.rc.request_count()
    }
    fn unknown_session_id(&self) -> SessionId {
        SessionId::new("AAAAAAAAAAAAAAAAA")
    }
    fn unknown_user_id(&self) -> UserId {
        UserId::new("ZZZZZZZZZZZZZZZZZ")
    }
    async fn answer_lookups_with(&self, user: Option<&UserId>) -> bool {
        self.rc.set_misleading(
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
async fn passes_the_conformance_suite_in_workspace_scope_through_2fa() {
    let emulator = emulator(3).await;
    let rc = emulator.rocketchat().unwrap();
    let provider = admin(rc, Scope::Workspace);
    let report = conformance::run_all(
        &provider,
        &RcFixture::new(&emulator, Scope::Workspace, true),
    )
    .await;
    for name in [
        "revoked_session_is_gone_from_next_list",
        "revoking_twice_is_already_gone",
        "revoke_user_leaves_other_users_untouched",
        "revoke_others_keeps_exactly_the_current_session",
        "pagination_returns_every_session_exactly_once",
        "find_user_by_email",
        "lookup_answered_for_another_person_is_refused",
        "revoking_an_unknown_user_is_not_found",
    ] {
        assert_eq!(outcome(&report, name), CheckOutcome::Passed, "{name}");
    }
    assert!(
        rc.requests()
            .iter()
            .any(|r| r.header("x-2fa-method") == Some("password")),
        "2FA was exercised"
    );
}

#[tokio::test]
async fn passes_the_conformance_suite_in_own_scope() {
    let emulator = emulator(3).await;
    let provider = admin(emulator.rocketchat().unwrap(), Scope::Own);
    let report =
        conformance::run_all(&provider, &RcFixture::new(&emulator, Scope::Own, true)).await;
    for name in [
        "unsupported_operations_are_refused",
        "revoked_session_is_gone_from_next_list",
        "revoking_twice_is_already_gone",
        "revoke_others_keeps_exactly_the_current_session",
        "pagination_returns_every_session_exactly_once",
        "listing_marks_the_current_session",
    ] {
        assert_eq!(outcome(&report, name), CheckOutcome::Passed, "{name}");
    }
}

#[tokio::test]
async fn passes_the_suite_with_a_personal_access_token_that_bypasses_2fa() {
    let emulator = emulator(3).await;
    let rc = emulator.rocketchat().unwrap();
    let c = rc.credentials();
    let provider = base(rc)
        .with_token(
            c.admin_user_id.clone(),
            SecretString::from(c.admin_pat.clone()),
        )
        .build()
        .unwrap();
    conformance::run_all(
        &provider,
        &RcFixture::new(&emulator, Scope::Workspace, false),
    )
    .await;
    let challenged = rc
        .requests()
        .iter()
        .filter(|r| r.header("x-2fa-code").is_some())
        .count();
    assert_eq!(challenged, 0, "a bypass token is never challenged");
}

#[tokio::test]
async fn the_password_method_sends_the_lowercase_sha256_once_and_is_then_remembered() {
    let emulator = emulator(2).await;
    let rc = emulator.rocketchat().unwrap();
    let provider = admin(rc, Scope::Workspace);
    for _ in 0..3 {
        provider.list_sessions(&ListQuery::new()).await.unwrap();
    }
    let log = rc.requests();
    let statuses: Vec<u16> = log.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses,
        [400, 200, 200, 200],
        "one challenge, one retry, then remembered"
    );
    let digest = password_digest(&SecretString::from(rc.credentials().admin_password.clone()));
    assert_eq!(log[1].header("x-2fa-code"), Some(digest.expose_secret()));
    assert_eq!(log[1].header("x-2fa-method"), Some("password"));
}

#[tokio::test]
async fn the_totp_method_asks_the_callback_when_no_secret_is_configured() {
    let emulator = emulator_with(
        2,
        config(|c| {
            c.admin_two_factor = TwoFactorMethod::Totp;
            c.remember_two_factor = Duration::ZERO;
        }),
    )
    .await;
    let rc = emulator.rocketchat().unwrap();
    let c = rc.credentials();
    let secret = c.admin_totp_secret.clone();
    let asked = Arc::new(Mutex::new(Vec::new()));
    let seen = asked.clone();
    let provider = base(rc)
        .with_token(
            c.admin_user_id.clone(),
            SecretString::from(c.admin_token.clone()),
        )
        .with_totp_callback(move |challenge| {
            seen.lock().unwrap().push(challenge.method.clone());
            // What an authenticator app shows: SHA-1, 6 digits, 30 s.
            let code = totp_rs::Builder::new()
                .with_secret(totp_rs::Secret::try_from_base32(&secret).unwrap())
                .with_digits(6)
                .with_skew(1)
                .with_step_duration(30)
                .build_noncompliant()
                .generate_current()
                .to_string();
            async move { Ok(SecretString::from(code)) }
        })
        .build()
        .unwrap();
    provider.list_sessions(&ListQuery::new()).await.unwrap();
    assert_eq!(*asked.lock().unwrap(), vec!["totp".to_owned()]);
    // A callback that answers wrong gets a typed refusal, not a loop.
    let wrong = base(rc)
        .with_token(
            c.admin_user_id.clone(),
            SecretString::from(c.admin_token.clone()),
        )
        .with_totp_callback(|_| async { Ok(SecretString::from("000000")) })
        .build()
        .unwrap();
    let err = wrong.list_sessions(&ListQuery::new()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TwoFactorInvalid, "{err}");
}

#[tokio::test]
async fn the_totp_method_uses_the_configured_secret() {
    let config = config(|c| {
        c.admin_two_factor = TwoFactorMethod::Totp;
    });
    let emulator = emulator_with(2, config).await;
    let rc = emulator.rocketchat().unwrap();
    let c = rc.credentials();
    let provider = base(rc)
        .with_token(
            c.admin_user_id.clone(),
            SecretString::from(c.admin_token.clone()),
        )
        .with_totp_secret(SecretString::from(c.admin_totp_secret.clone()))
        .build()
        .unwrap();
    let page = provider.list_sessions(&ListQuery::new()).await.unwrap();
    assert!(!page.items.is_empty());
    assert_eq!(rc.requests()[1].header("x-2fa-method"), Some("totp"));
    // A password alone cannot answer a TOTP challenge: typed, not a loop.
    let password_only = admin(rc, Scope::Workspace);
    rc.update_config(|c| c.remember_two_factor = Duration::ZERO);
    let before = rc.request_count();
    let err = password_only
        .list_sessions(&ListQuery::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TwoFactorRequired, "{err}");
    assert_eq!(
        rc.request_count() - before,
        1,
        "no code: nothing was retried"
    );
}

#[tokio::test]
async fn the_email_method_asks_the_callback_for_the_mailed_code() {
    let config = config(|c| {
        c.admin_two_factor = TwoFactorMethod::Email;
    });
    let emulator = emulator_with(2, config).await;
    let rc = emulator.rocketchat().unwrap().clone();
    let c = rc.credentials().clone();
    let mailbox = rc.clone();
    let admin_id = c.admin_user_id.clone();
    let challenges = Arc::new(Mutex::new(Vec::new()));
    let seen = challenges.clone();
    let provider = base(&rc)
        .with_token(
            c.admin_user_id.clone(),
            SecretString::from(c.admin_token.clone()),
        )
        .with_email_code_callback(move |challenge| {
            seen.lock().unwrap().push(challenge);
            let code = mailbox.last_email_code(&admin_id);
            async move {
                code.map(SecretString::from)
                    .ok_or_else(|| unisession_core::Error::invalid_input("no mail"))
            }
        })
        .build()
        .unwrap();
    provider.list_sessions(&ListQuery::new()).await.unwrap();
    let challenges = challenges.lock().unwrap();
    assert_eq!(challenges.len(), 1);
    assert_eq!(challenges[0].method, "email");
    assert!(challenges[0].code_generated);
    assert_eq!(challenges[0].email_or_username.as_deref(), Some("admin"));
}

#[tokio::test]
async fn a_wrong_code_is_a_final_two_factor_invalid_without_a_loop() {
    let emulator = emulator(2).await;
    let rc = emulator.rocketchat().unwrap();
    let c = rc.credentials();
    let provider = base(rc)
        .with_token(
            c.admin_user_id.clone(),
            SecretString::from(c.admin_token.clone()),
        )
        .with_two_factor_password(SecretString::from("not the password"))
        .build()
        .unwrap();
    let err = provider.list_sessions(&ListQuery::new()).await.unwrap_err();
    assert_eq!(
        (err.kind(), err.code()),
        (ErrorKind::TwoFactorInvalid, Some("totp-invalid"))
    );
    assert_eq!(rc.request_count(), 2, "the challenge and exactly one retry");
    assert!(!err.is_temporary());

    rc.update_config(|c| {
        c.admin_two_factor = TwoFactorMethod::Email;
        c.max_email_attempts = 1;
    });
    let wrong = base(rc)
        .with_token(
            c.admin_user_id.clone(),
            SecretString::from(c.admin_token.clone()),
        )
        .with_email_code_callback(|_| async { Ok(SecretString::from("000000")) })
        .build()
        .unwrap();
    let err = wrong.list_sessions(&ListQuery::new()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TwoFactorInvalid);
    assert!(
        matches!(err.code(), Some("totp-invalid" | "totp-max-attempts")),
        "{err}"
    );
}

#[tokio::test]
async fn without_a_license_device_management_is_plan_required_and_capabilities_narrow() {
    let config = config(|c| {
        c.enterprise = false;
    });
    let emulator = emulator_with(2, config).await;
    let rc = emulator.rocketchat().unwrap();
    let provider = admin(rc, Scope::Workspace);
    assert!(provider.capabilities().can_list());
    let err = provider.list_sessions(&ListQuery::new()).await.unwrap_err();
    assert_eq!(
        (err.kind(), err.code()),
        (ErrorKind::PlanRequired, Some("error-action-not-allowed"))
    );
    assert_eq!(err.message(), "This is an enterprise feature");
    let caps = provider.capabilities();
    assert!(!caps.can_list() && !caps.revoke_session);
    assert!(caps.revoke_user_sessions && caps.revoke_other_sessions && caps.find_user_by_email);
    let before = rc.request_count();
    let err = provider
        .revoke_session(&SessionRef::new("AAAAAAAAAAAAAAAAA"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
    assert_eq!(rc.request_count(), before, "narrowed: nothing sent");
    // users.logout works on every edition.
    let bob = UserId::new(emulator.people()[2].rocketchat_id.clone());
    assert_eq!(
        provider
            .revoke_user_sessions(&bob, DeviceScope::All)
            .await
            .unwrap(),
        Revocation::Revoked { count: None }
    );
    assert!(rc.live_sessions_of(bob.as_str()).is_empty());
}

#[tokio::test]
async fn users_logout_also_revokes_personal_access_tokens_while_device_sessions_mode_spares_them() {
    let emulator = emulator(3).await;
    let rc = emulator.rocketchat().unwrap();
    let c = rc.credentials().clone();
    let target = emulator.people()[1].rocketchat_id.clone();
    let device_only = base(rc)
        .with_token(
            c.admin_user_id.clone(),
            SecretString::from(c.admin_pat.clone()),
        )
        .with_user_revocation(UserRevocation::DeviceSessions)
        .build()
        .unwrap();
    let listed = rc.listed_sessions_of(&target).len() as u64;
    let outcome = device_only
        .revoke_user_sessions(&UserId::new(target.clone()), DeviceScope::All)
        .await
        .unwrap();
    assert_eq!(
        outcome,
        Revocation::Revoked {
            count: Some(listed)
        }
    );
    assert!(rc.listed_sessions_of(&target).is_empty());

    // users.logout on oneself ends the PAT used for the call too.
    let all_tokens = base(rc)
        .with_token(
            c.admin_user_id.clone(),
            SecretString::from(c.admin_pat.clone()),
        )
        .build()
        .unwrap();
    all_tokens
        .revoke_user_sessions(&UserId::new(c.admin_user_id.clone()), DeviceScope::All)
        .await
        .unwrap();
    assert!(
        !rc.token_is_valid(&c.admin_user_id, &c.admin_pat),
        "users.logout ends personal access tokens"
    );
    let err = all_tokens
        .find_user(&email("alice@corp.example"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
}

#[tokio::test]
async fn an_unknown_or_repeated_session_is_already_gone_thanks_to_the_precheck() {
    let emulator = emulator(2).await;
    let rc = emulator.rocketchat().unwrap();
    let provider = admin(rc, Scope::Workspace);
    let bob = &emulator.people()[1].rocketchat_id;
    let target = SessionRef::new(rc.listed_sessions_of(bob)[0].clone());
    assert_eq!(
        provider.revoke_session(&target).await.unwrap(),
        Revocation::revoked(1)
    );
    assert_eq!(
        provider.revoke_session(&target).await.unwrap(),
        Revocation::AlreadyGone
    );
    // Without the pre-check the server's 200 to a repeated logout would be taken at its word.
    let unchecked = base(rc)
        .with_token(
            rc.credentials().admin_user_id.clone(),
            SecretString::from(rc.credentials().admin_pat.clone()),
        )
        .with_precheck(false)
        .build()
        .unwrap();
    assert_eq!(
        unchecked.revoke_session(&target).await.unwrap(),
        Revocation::revoked(1)
    );
    assert_eq!(
        unchecked
            .revoke_session(&SessionRef::new("AAAAAAAAAAAAAAAAA"))
            .await
            .unwrap(),
        Revocation::AlreadyGone
    );
}

#[tokio::test]
async fn hostile_ids_and_emails_are_refused_before_any_request() {
    let emulator = emulator(1).await;
    let rc = emulator.rocketchat().unwrap();
    let provider = admin(rc, Scope::Workspace);
    let before = rc.request_count();
    for id in ["", "../x", "a b", "x%2Fy", "id\r\nX-Admin: 1", "ümlaut"] {
        assert_eq!(
            provider
                .revoke_session(&SessionRef::new(id))
                .await
                .unwrap_err()
                .kind(),
            ErrorKind::InvalidInput,
            "{id:?}"
        );
        assert_eq!(
            provider
                .revoke_user_sessions(&UserId::new(id), DeviceScope::All)
                .await
                .unwrap_err()
                .kind(),
            ErrorKind::InvalidInput,
            "{id:?}"
        );
    }
    for address in ["", "nobody", "a@b\nc"] {
        assert_eq!(
            Email::parse(address).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
    }
    let err = provider
        .revoke_user_sessions(&UserId::new("AAAA"), DeviceScope::Web)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
    assert_eq!(rc.request_count(), before);
}

#[tokio::test]
async fn find_user_falls_back_to_the_legacy_list_on_older_servers() {
    let config = config(|c| c.version = (6, 5));
    let emulator = emulator_with(3, config).await;
    let rc = emulator.rocketchat().unwrap();
    let provider = admin(rc, Scope::Workspace);
    let alice = &emulator.people()[1];
    let found = provider.find_user(&email(&alice.email)).await.unwrap();
    assert_eq!(found.user().unwrap().id.as_str(), alice.rocketchat_id);
    // Before 7.0 an administrator's query is honoured: an empty answer is absence.
    let ghost = provider
        .find_user(&email("ghost@corp.example"))
        .await
        .unwrap();
    assert!(
        matches!(&ghost, UserLookup::NotFound { evidence } if evidence.contains("users.list")),
        "{ghost:?}"
    );
    let paths: Vec<String> = rc.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths.iter().filter(|p| p.ends_with("users.info")).count(),
        1,
        "learned: no second futile users.info"
    );

    rc.update_config(|c| c.version = (8, 4));
    let current = admin(rc, Scope::Workspace);
    assert_eq!(
        current
            .find_user(&email(&alice.email))
            .await
            .unwrap()
            .user()
            .unwrap()
            .id
            .as_str(),
        alice.rocketchat_id
    );
    let ghost = current
        .find_user(&email("ghost@corp.example"))
        .await
        .unwrap();
    assert!(
        matches!(&ghost, UserLookup::NotFound { evidence } if evidence.contains("view-full-other-user-info")),
        "{ghost:?}"
    );
}

/// From 7.0 `users.list` ignores `query` unless ALLOW_UNSAFE_QUERY_AND_FIELDS_API_PARAMS
/// is set, and answers the first page of everybody: a person missing from that page
/// is not proven absent (before, this was `None`, and the fleet counted it done).
#[tokio::test]
async fn a_users_list_that_ignores_its_filter_never_proves_anybody_absent() {
    let emulator = emulator_with(3, config(|c| c.version = (7, 5))).await;
    let rc = emulator.rocketchat().unwrap();
    let provider = admin(rc, Scope::Workspace);
    let err = provider
        .find_user(&email("ghost@corp.example"))
        .await
        .unwrap_err();
    assert_eq!(
        (err.kind(), err.operation()),
        (ErrorKind::Unsupported, Some(Operation::FindUser)),
        "{err}"
    );
    assert!(
        err.message().contains("8.4")
            && err
                .message()
                .contains("ALLOW_UNSAFE_QUERY_AND_FIELDS_API_PARAMS"),
        "the error says what the server needs: {err}"
    );
    let listed = rc
        .requests()
        .into_iter()
        .find(|r| r.path.ends_with("users.list"))
        .unwrap();
    assert_eq!(
        listed.status, 200,
        "the server answered success, unfiltered"
    );
    // The person on that page is still found, and only that person.
    let alice = &emulator.people()[1];
    let found = provider.find_user(&email(&alice.email)).await.unwrap();
    assert_eq!(found.user().unwrap().id.as_str(), alice.rocketchat_id);
    // With the variable set, the filter holds and an empty answer is absence.
    rc.update_config(|c| c.allow_unsafe_query = true);
    let ghost = admin(rc, Scope::Workspace)
        .find_user(&email("ghost@corp.example"))
        .await
        .unwrap();
    assert!(matches!(ghost, UserLookup::NotFound { .. }), "{ghost:?}");
}

/// Before 7.0, a caller without view-full-other-user-info has its `emails.address`
/// key dropped from the query: everybody comes back, without emails.
#[tokio::test]
async fn a_legacy_query_a_limited_caller_cannot_filter_proves_nothing() {
    let emulator = emulator_with(3, config(|c| c.version = (6, 5))).await;
    let rc = emulator.rocketchat().unwrap();
    let c = rc.credentials();
    let member = base(rc)
        .with_token(
            c.member_user_id.clone(),
            SecretString::from(c.member_token.clone()),
        )
        .build()
        .unwrap();
    let bob = &emulator.people()[2];
    let err = member.find_user(&email(&bob.email)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
}

/// 8.4+: to a caller without view-full-other-user-info, users.info?email= answers
/// "User not found." for everybody else, existing or not: that proves nothing.
#[tokio::test]
async fn user_not_found_is_absence_only_for_a_caller_who_sees_every_email() {
    let emulator = emulator(3).await;
    let rc = emulator.rocketchat().unwrap();
    let c = rc.credentials();
    let member = base(rc)
        .with_token(
            c.member_user_id.clone(),
            SecretString::from(c.member_token.clone()),
        )
        .build()
        .unwrap();
    let bob = &emulator.people()[2];
    for address in [bob.email.as_str(), "ghost@corp.example"] {
        let err = member.find_user(&email(address)).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{address}: {err}");
        assert_eq!(err.code(), Some("view-full-other-user-info"));
    }
    // The caller's own address is found.
    let me = &emulator.people()[1];
    let found = member.find_user(&email(&me.email)).await.unwrap();
    assert_eq!(found.user().unwrap().id.as_str(), c.member_user_id);
    // The permission check ran once (me, permissions.listAll), then was remembered.
    let probes = rc
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/me") || r.path.ends_with("permissions.listAll"))
        .count();
    assert_eq!(probes, 2);
}

/// users.logout answers 200 "User X has been logged out!" for any id
/// (`Users.unsetLoginTokens` is an updateOne, always truthy): an unknown id must be
/// NotFound, never Revoked (before: Revoked).
#[tokio::test]
async fn users_logout_of_an_unknown_id_is_not_found_not_revoked() {
    let emulator = emulator(2).await;
    let rc = emulator.rocketchat().unwrap();
    let provider = admin(rc, Scope::Workspace);
    let err = provider
        .revoke_user_sessions(&UserId::new("ZZZZZZZZZZZZZZZZZ"), DeviceScope::All)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert!(
        !rc.requests()
            .iter()
            .any(|r| r.path.ends_with("users.logout")),
        "nothing was logged out"
    );
    // The same with device sessions: an unknown user has none to list, which is not
    // "already clean".
    let device = base(rc)
        .with_token(
            rc.credentials().admin_user_id.clone(),
            SecretString::from(rc.credentials().admin_pat.clone()),
        )
        .with_user_revocation(UserRevocation::DeviceSessions)
        .build()
        .unwrap();
    let err = device
        .revoke_user_sessions(&UserId::new("ZZZZZZZZZZZZZZZZZ"), DeviceScope::All)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    // A real user is confirmed once, then logged out.
    let alice = emulator.people()[1].rocketchat_id.clone();
    rc.clear_requests();
    provider
        .revoke_user_sessions(&UserId::new(alice.clone()), DeviceScope::All)
        .await
        .unwrap();
    let paths: Vec<String> = rc.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/api/v1/users.info", "/api/v1/users.logout"]);
    assert!(rc.live_sessions_of(&alice).is_empty());
}

/// A permission refusal some builds answer with 401 `{"error":"unauthorized"}` is a
/// missing permission: no new login, and PermissionDenied rather than a bad credential.
#[tokio::test]
async fn a_401_unauthorized_refusal_is_a_missing_permission_not_a_bad_login() {
    let emulator = emulator_with(3, config(|c| c.logout_refusal_status = 401)).await;
    let rc = emulator.rocketchat().unwrap();
    let member = &emulator.people()[1];
    let login = base(rc)
        .with_login(
            member.username.clone(),
            SecretString::from(member.password.clone()),
        )
        .build()
        .unwrap();
    let bob = UserId::new(emulator.people()[2].rocketchat_id.clone());
    let err = login
        .revoke_user_sessions(&bob, DeviceScope::All)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
    assert_eq!(err.status(), Some(401));
    let logins = rc
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/login"))
        .count();
    assert_eq!(logins, 1, "the refusal did not cost the login");
    assert!(!rc.live_sessions_of(bob.as_str()).is_empty());
}

/// `current` arrived with PR #40351 (about 8.7): the own scope claims to mark the
/// current session only once a listing shows the server does.
#[tokio::test]
async fn the_current_session_is_claimed_only_once_the_server_marks_it() {
    for marks in [false, true] {
        let emulator = emulator_with(2, config(|c| c.marks_current = marks)).await;
        let provider = admin(emulator.rocketchat().unwrap(), Scope::Own);
        assert!(
            !provider.capabilities().marks_current_session,
            "not before a listing"
        );
        let page = provider.list_sessions(&ListQuery::new()).await.unwrap();
        assert_eq!(provider.capabilities().marks_current_session, marks);
        assert_eq!(page.items.iter().any(|s| s.current), marks);
    }
}

/// A user without a local password (SSO), with no TOTP or email 2FA, passes the
/// second-factor routes unchallenged: the password fallback applies only to users
/// with a password (`PasswordCheckFallback.isEnabled`).
#[tokio::test]
async fn a_user_without_a_local_password_is_not_challenged() {
    let emulator = emulator_with(2, config(|c| c.admin_has_password = false)).await;
    let rc = emulator.rocketchat().unwrap();
    let c = rc.credentials();
    let provider = base(rc)
        .with_token(
            c.admin_user_id.clone(),
            SecretString::from(c.admin_token.clone()),
        )
        .build()
        .unwrap();
    provider.list_sessions(&ListQuery::new()).await.unwrap();
    assert!(rc.requests().iter().all(|r| r.status == 200));
}

#[tokio::test]
async fn whoami_names_the_credentials_user_and_a_bad_token_is_unauthenticated() {
    let emulator = emulator(1).await;
    let rc = emulator.rocketchat().unwrap();
    let me = admin(rc, Scope::Workspace).whoami().await.unwrap();
    assert_eq!(me.id.as_str(), rc.credentials().admin_user_id);
    assert_eq!(me.email.as_deref(), Some("admin@corp.example"));
    let wrong = base(rc)
        .with_token(
            rc.credentials().admin_user_id.clone(),
            SecretString::from("nope"),
        )
        .build()
        .unwrap();
    assert_eq!(
        wrong.whoami().await.unwrap_err().kind(),
        ErrorKind::Unauthenticated
    );
}

#[tokio::test]
async fn a_login_is_reused_not_repeated_per_call() {
    let emulator = emulator(2).await;
    let rc = emulator.rocketchat().unwrap();
    let c = rc.credentials();
    let provider = base(rc)
        .with_login(
            c.admin_username.clone(),
            SecretString::from(c.admin_password.clone()),
        )
        .build()
        .unwrap();
    for _ in 0..5 {
        provider
            .list_sessions(&ListQuery::new().with_limit(3))
            .await
            .unwrap();
    }
    let logins = rc
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/login"))
        .count();
    assert_eq!(logins, 1);
}

#[tokio::test]
async fn an_old_server_without_a_license_is_plan_required_never_already_gone() {
    // Servers from before the license middleware answer 401, 403 or 404
    // `unauthorized`; only 404 `Session not found` means a session is gone.
    for status in [401, 403, 404] {
        let emulator = emulator_with(
            3,
            config(|c| {
                c.enterprise = false;
                c.old_license_answer = Some(status);
            }),
        )
        .await;
        let rc = emulator.rocketchat().unwrap();
        let alice = emulator.people()[1].rocketchat_id.clone();
        let session = rc.live_sessions_of(&alice)[0].clone();
        for provider in [
            admin(rc, Scope::Workspace),
            base(rc)
                .with_token(
                    rc.credentials().admin_user_id.clone(),
                    SecretString::from(rc.credentials().admin_pat.clone()),
                )
                .with_precheck(false)
                .build()
                .unwrap(),
        ] {
            let err = provider
                .revoke_session(&SessionRef::new(session.clone()))
                .await
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::PlanRequired, "{status}: {err}");
        }
        assert!(
            rc.live_sessions_of(&alice).contains(&session),
            "{status}: nothing was revoked"
        );
    }
}

#[tokio::test]
async fn a_login_that_meets_a_server_error_is_retried_and_never_called_a_refusal() {
    let emulator = emulator(2).await;
    let rc = emulator.rocketchat().unwrap();
    let c = rc.credentials();
    let login = |password: &str| {
        base(rc)
            .with_login(
                c.admin_username.clone(),
                SecretString::from(password.to_owned()),
            )
            .with_transport(TransportOptions::new().with_retry(RetryConfig::none()))
            .build()
            .unwrap()
    };
    // Every answer a 500: the login is no verdict on the password.
    rc.set_faults(Faults::none().with_server_errors(1.0));
    let err = login(&c.admin_password)
        .list_sessions(&ListQuery::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Provider, "{err}");
    assert!(err.is_temporary(), "{err}");
    // A wrong password is.
    rc.set_faults(Faults::none());
    let err = login("not-the-password")
        .list_sessions(&ListQuery::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{err}");
    // And a blip is retried: one login in three answered 503 still gets in.
    rc.set_faults(Faults::none().with_server_errors(0.34));
    let provider = base(rc)
        .with_login(
            c.admin_username.clone(),
            SecretString::from(c.admin_password.clone()),
        )
        .build()
        .unwrap();
    for _ in 0..5 {
        let fresh = base(rc)
            .with_login(
                c.admin_username.clone(),
                SecretString::from(c.admin_password.clone()),
            )
            .build()
            .unwrap();
        fresh.whoami().await.unwrap();
    }
    provider.whoami().await.unwrap();
}

#[tokio::test]
async fn the_announced_rate_limit_budget_is_spent_without_drawing_429s() {
    let config = config(|c| {
        c.rate_limit_admins = true;
        c.rate_limit_calls = 5;
    });
    let emulator = emulator_with(14, config).await;
    let rc = emulator.rocketchat().unwrap();
    rc.set_faults(Faults::none().with_enforced_limits(300.0));
    let provider = base(rc)
        .with_token(
            rc.credentials().admin_user_id.clone(),
            SecretString::from(rc.credentials().admin_pat.clone()),
        )
        .with_transport(TransportOptions::new().with_retry(RetryConfig::none()))
        .build()
        .unwrap();
    for person in &emulator.people()[1..] {
        let outcome = provider
            .revoke_user_sessions(&UserId::new(person.rocketchat_id.clone()), DeviceScope::All)
            .await;
        assert_eq!(outcome.unwrap(), Revocation::Revoked { count: None });
    }
    assert_eq!(rc.requests().iter().filter(|r| r.status == 429).count(), 0);
}

#[tokio::test]
async fn a_429_or_an_old_servers_400_is_retried_after_the_reset() {
    for old in [false, true] {
        let config = config(|c| {
            c.rate_limit_admins = true;
            c.rate_limit_calls = 2;
            c.old_rate_limit_answer = old;
        });
        let emulator = emulator_with(2, config).await;
        let rc = emulator.rocketchat().unwrap();
        rc.set_faults(Faults::none().with_enforced_limits(500.0));
        // Fresh clients know no budget: the third call of the window is refused once,
        // and must wait for the announced reset (the window is 120 ms; the backoff
        // alone, 5 + 10 + 20 + 20 ms, would give up before it).
        let mut slowest = Duration::ZERO;
        for _ in 0..4 {
            let provider = base(rc)
                .with_token(
                    rc.credentials().admin_user_id.clone(),
                    SecretString::from(rc.credentials().admin_pat.clone()),
                )
                .build()
                .unwrap();
            let started = std::time::Instant::now();
            provider
                .find_user(&email("alice@corp.example"))
                .await
                .unwrap();
            slowest = slowest.max(started.elapsed());
        }
        assert!(
            slowest >= Duration::from_millis(60),
            "old={old}: the refused call waited for X-RateLimit-Reset ({slowest:?})"
        );
        let refused = rc
            .requests()
            .iter()
            .filter(|r| r.status == if old { 400 } else { 429 })
            .count();
        assert!(refused >= 1, "old={old}: the limit was hit");
    }
}

#[tokio::test]
async fn server_faults_are_retried_and_truncated_answers_are_decode_errors() {
    let emulator = emulator(3).await;
    let rc = emulator.rocketchat().unwrap();
    let provider = base(rc)
        .with_token(
            rc.credentials().admin_user_id.clone(),
            SecretString::from(rc.credentials().admin_pat.clone()),
        )
        .with_transport(TransportOptions::new().with_retry(fast_retry().with_max_retries(12)))
        .build()
        .unwrap();
    rc.set_faults(
        Faults::none()
            .with_server_errors(0.3)
            .with_drops(0.2)
            .with_rate_limits(0.1, Duration::from_millis(10)),
    );
    for _ in 0..4 {
        let sessions: Vec<_> = provider
            .list_all(ListQuery::new().with_limit(2))
            .try_collect()
            .await
            .unwrap();
        assert_eq!(sessions.len(), rc.listed_session_count());
    }
    let faulted: Vec<_> = rc.requests().iter().map(|r| (r.status, r.fault)).collect();
    assert!(faulted.iter().any(|(_, f)| f.is_some()), "{faulted:?}");
    rc.set_faults(Faults::none().with_malformed(1.0));
    assert_eq!(
        provider
            .list_sessions(&ListQuery::new())
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Decode
    );
}

#[tokio::test]
async fn every_request_sent_matches_an_operation_of_the_spec() {
    let emulator = emulator(3).await;
    let rc = emulator.rocketchat().unwrap();
    let c = rc.credentials().clone();
    let workspace = base(rc)
        .with_login(
            c.admin_username.clone(),
            SecretString::from(c.admin_password.clone()),
        )
        .build()
        .unwrap();
    let own = admin(rc, Scope::Own);
    let bob = UserId::new(emulator.people()[1].rocketchat_id.clone());
    let page = workspace
        .list_sessions(&ListQuery::for_user(bob.clone()))
        .await
        .unwrap();
    workspace
        .revoke_session(&page.items[0].to_ref())
        .await
        .unwrap();
    workspace
        .revoke_user_sessions(&bob, DeviceScope::All)
        .await
        .unwrap();
    workspace
        .find_user(&email(&emulator.people()[2].email))
        .await
        .unwrap();
    let mine = own.list_sessions(&ListQuery::new()).await.unwrap();
    let other = mine.items.iter().find(|s| !s.current).unwrap();
    own.revoke_session(&other.to_ref()).await.unwrap();
    own.revoke_other_sessions().await.unwrap();
    rc.update_config(|c| c.version = (6, 0));
    admin(rc, Scope::Own)
        .find_user(&email("ghost@corp.example"))
        .await
        .unwrap();
    let requests: Vec<Request> = rc.requests().into_iter().map(Request::from).collect();
    let paths: std::collections::BTreeSet<&str> =
        requests.iter().map(|r| r.path.as_str()).collect();
    assert!(
        paths.len() >= 10,
        "every operation was exercised: {paths:?}"
    );
    let problems = nonconforming(Spec::get(Provider::RocketChat), &requests);
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn build_refuses_missing_ambiguous_and_malformed_credentials() {
    let b = || RocketChatBuilder::new("https://chat.corp.example/");
    assert_eq!(b().build().unwrap_err().kind(), ErrorKind::InvalidInput);
    let both = b()
        .with_token("abc", SecretString::from("t"))
        .with_login("u", SecretString::from("p"));
    assert!(both.build().unwrap_err().message().contains("exactly one"));
    assert!(
        b().with_token("../x", SecretString::from("t"))
            .build()
            .is_err()
    );
    assert!(
        b().with_token("abc", SecretString::from("t t"))
            .build()
            .is_err()
    );
    assert!(
        b().with_token("abc", SecretString::from("t"))
            .with_totp_secret(SecretString::from("not base32!"))
            .build()
            .is_err()
    );
    assert!(
        RocketChatBuilder::new("http://chat.corp.example")
            .with_token("abc", SecretString::from("t"))
            .build()
            .is_err()
    );
    assert!(
        b().with_token("abc", SecretString::from("t"))
            .build()
            .is_ok()
    );
}
