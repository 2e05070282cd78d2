//! The Entra adapter over real HTTP against the Entra emulator.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use secrecy::SecretString;
use unisession_core::conformance::{self, Caller, CheckOutcome, Fixture, SeededUser};
use unisession_core::{
    DeviceScope, Email, ErrorKind, Revocation, SessionId, SessionProvider, SessionRef, UserId,
    UserLookup, Verification,
};
use unisession_emulator::keys::{RSA_PRIVATE_KEY, UNKNOWN_EC_PRIVATE_KEY};
use unisession_emulator::{
    Emulator, EmulatorConfig, EntraConfig, EntraEmulator, Faults, Misleading, ProviderKind,
};
use unisession_entra::{EntraBuilder, EntraProvider};
use unisession_http::{Adapter, RetryConfig, TransportOptions};
use unisession_testkit::{Provider, Request, Spec, nonconforming};

async fn emulator_with(config: EntraConfig) -> Emulator {
    Emulator::start(
        EmulatorConfig::new()
            .users(4)
            .only(ProviderKind::Entra)
            .entra(config),
    )
    .await
    .expect("emulator starts")
}

async fn emulator() -> Emulator {
    emulator_with(EntraConfig::default()).await
}

fn transport() -> TransportOptions {
    TransportOptions::new()
        .with_retry(
            RetryConfig::default()
                .with_max_retries(4)
                .with_initial_backoff(Duration::from_millis(5))
                .with_max_backoff(Duration::from_millis(20))
                .with_max_retry_after(Duration::from_secs(5)),
        )
        .with_time_scale(1000.0)
}

fn builder(entra: &EntraEmulator) -> EntraBuilder {
    let c = entra.credentials();
    EntraBuilder::new(c.tenant_id.clone(), c.client_id.clone())
        .with_graph_url(entra.graph_url())
        .with_login_url(entra.login_url())
        .with_transport(transport())
}

fn provider(entra: &EntraEmulator) -> EntraProvider {
    builder(entra)
        .with_client_secret(SecretString::from(
            entra.credentials().client_secret.clone(),
        ))
        .build()
        .expect("valid")
}

fn email(text: &str) -> Email {
    Email::parse(text).unwrap()
}

struct EntraFixture {
    entra: EntraEmulator,
    next: AtomicU64,
}

#[unisession_core::async_trait]
impl Fixture for EntraFixture {
    async fn seed_user(&self, sessions: usize) -> SeededUser {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let email = format!("seeded{n}@corp.example");
        let id = self.entra.add_user(&email, false, sessions);
        SeededUser::new(UserId::new(id), email, Vec::new())
    }
    async fn seed_listed_sessions(&self, _count: usize) -> Vec<SessionRef> {
        Vec::new()
    }
    async fn seed_caller_sessions(&self, _count: usize) -> Vec<SessionRef> {
        Vec::new()
    }
    async fn sessions_of(&self, user: &UserId) -> Vec<SessionId> {
        (0..self.entra.sessions_of(user.as_str()))
            .map(|i| SessionId::new(format!("refresh-token-{i}")))
            .collect()
    }
    async fn listed_sessions(&self) -> Vec<SessionId> {
        Vec::new()
    }
    async fn caller(&self) -> Option<Caller> {
        None
    }
    async fn requests_received(&self) -> u64 {
        self.entra.request_count()
    }
    fn unknown_session_id(&self) -> SessionId {
        SessionId::new("no-such-session")
    }
    fn unknown_user_id(&self) -> UserId {
        UserId::new("00000000-0000-4000-8000-000000000000")
    }
    async fn answer_lookups_with(&self, user: Option<&UserId>) -> bool {
        self.entra.set_misleading(
            Misleading::none().with_lookups_answering_with(user.map(|u| u.as_str().to_owned())),
        );
        true
    }
}

#[tokio::test]
async fn passes_the_shared_conformance_suite() {
    let emulator = emulator().await;
    let entra = provider(emulator.entra().unwrap());
    let fixture = EntraFixture {
        entra: emulator.entra().unwrap().clone(),
        next: AtomicU64::new(0),
    };
    let report = conformance::run_all(&entra, &fixture).await;
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
async fn a_revocation_is_confirmed_by_the_reset_time_even_after_a_delay() {
    let mut config = EntraConfig::default();
    config.revocation_delay = Duration::from_millis(300);
    let emulator = emulator_with(config).await;
    let entra = emulator.entra().unwrap();
    let provider = provider(entra);
    let person = &emulator.people()[1];
    let user = provider
        .find_user(&email(&person.email))
        .await
        .unwrap()
        .into_user()
        .unwrap();
    assert!(entra.sessions_of(user.id.as_str()) > 0);
    let requested_at = chrono::Utc::now();
    let outcome = provider
        .revoke_user_sessions(&user.id, DeviceScope::All)
        .await
        .unwrap();
    assert_eq!(outcome, Revocation::revoked_unknown_count());
    // Graph said true; the time has not moved yet: nothing is claimed.
    assert_eq!(
        provider
            .confirm_revocation(&user.id, requested_at)
            .await
            .unwrap(),
        None
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    let confirmed = provider
        .confirm_revocation(&user.id, requested_at)
        .await
        .unwrap();
    assert!(
        matches!(&confirmed, Some(Verification::Confirmed { evidence }) if evidence.contains("signInSessionsValidFromDateTime")),
        "{confirmed:?}"
    );
    assert_eq!(entra.sessions_of(user.id.as_str()), 0);
    // The revocation went to the form of the path the spec describes.
    assert!(
        entra
            .requests()
            .iter()
            .any(|r| r.path.ends_with("/microsoft.graph.revokeSignInSessions"))
    );
}

#[tokio::test]
async fn guests_b2c_privileged_targets_and_reader_apps_are_never_reported_revoked() {
    let emulator = emulator().await;
    let entra = emulator.entra().unwrap();
    let provider = provider(entra);
    // A guest: Graph would answer 200 and do nothing.
    let guest = entra.add_user("partner@ext.example", true, 2);
    let error = provider
        .revoke_user_sessions(&UserId::new(guest.clone()), DeviceScope::All)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Unsupported, "{error}");
    assert!(error.message().contains("home tenant"), "{error}");
    assert_eq!(entra.sessions_of(&guest), 2);
    assert!(
        !entra
            .requests()
            .iter()
            .any(|r| r.method == "POST" && r.path.contains(&guest)),
        "nothing was sent that Graph would answer with a meaningless success"
    );
    // A privileged administrator: 403, named.
    let admin = entra.add_user("global.admin@corp.example", false, 1);
    entra.set_privileged(&admin, true);
    let error = provider
        .revoke_user_sessions(&UserId::new(admin.clone()), DeviceScope::All)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PermissionDenied);
    assert_eq!(error.code(), Some("Authorization_RequestDenied"));
    // An app that may only read.
    let c = entra.credentials();
    let reader = EntraBuilder::new(c.tenant_id.clone(), c.reader_client_id.clone())
        .with_client_secret(SecretString::from(c.reader_client_secret.clone()))
        .with_graph_url(entra.graph_url())
        .with_login_url(entra.login_url())
        .with_transport(transport())
        .build()
        .unwrap();
    let person = reader
        .find_user(&email(&emulator.people()[2].email))
        .await
        .unwrap()
        .into_user()
        .unwrap();
    let error = reader
        .revoke_user_sessions(&person.id, DeviceScope::All)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PermissionDenied);
    assert!(
        error.message().contains("User.RevokeSessions.All"),
        "{error}"
    );
    assert!(entra.sessions_of(person.id.as_str()) > 0);
    // B2C: the reset would not stop refresh tokens.
    let b2c = builder(entra)
        .with_client_secret(SecretString::from(c.client_secret.clone()))
        .b2c(true)
        .build()
        .unwrap();
    let error = b2c
        .revoke_user_sessions(&person.id, DeviceScope::All)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Unsupported);
}

#[tokio::test]
async fn the_person_is_found_by_mail_upn_or_alias_and_never_guessed() {
    let mut config = EntraConfig::default();
    config.filter_lag = Duration::from_secs(30);
    let emulator = emulator_with(config).await;
    let entra = emulator.entra().unwrap();
    let provider = provider(entra);
    // Seeded people: every third signs in with a UPN that is not their mail.
    for person in &emulator.people()[1..] {
        let found = provider
            .find_user(&email(&person.email.to_uppercase()))
            .await
            .unwrap();
        let id = entra.user_id_by_email(&person.email).unwrap();
        assert!(
            matches!(found, UserLookup::Found(ref u) if u.id.as_str() == id),
            "{found:?}"
        );
    }
    let carlos = entra.user_id_by_email(&emulator.people()[2].email).unwrap();
    let upn = entra.upn_of(&carlos).unwrap();
    assert!(upn.ends_with("onmicrosoft.com"), "{upn}");
    let by_upn = provider.find_user(&email(&upn)).await.unwrap();
    assert!(matches!(by_upn, UserLookup::Found(ref u) if u.id.as_str() == carlos));
    entra.add_other_mail(&carlos, "c.varga.alias@corp.example");
    // The alias is in otherMails; a new user is only seen by the UPN lookup.
    let by_alias = provider
        .find_user(&email("c.varga.alias@corp.example"))
        .await
        .unwrap();
    assert!(matches!(by_alias, UserLookup::Found(ref u) if u.id.as_str() == carlos));
    let fresh = entra.add_user("fresh.hire@corp.example", false, 1);
    let found = provider
        .find_user(&email("fresh.hire@corp.example"))
        .await
        .unwrap();
    assert!(
        matches!(found, UserLookup::Found(ref u) if u.id.as_str() == fresh),
        "{found:?}"
    );
    // Nobody: both calls say so.
    match provider
        .find_user(&email("nobody@corp.example"))
        .await
        .unwrap()
    {
        UserLookup::NotFound { evidence } => {
            assert!(evidence.contains("Request_ResourceNotFound"), "{evidence}")
        }
        other => panic!("{other:?}"),
    }
    // A quote in the address is escaped, not an injection.
    let quoted = provider
        .find_user(&email("o'brien@corp.example"))
        .await
        .unwrap();
    assert!(matches!(quoted, UserLookup::NotFound { .. }));
    let sent = entra
        .requests()
        .into_iter()
        .rev()
        .find(|r| r.path == "/v1.0/users")
        .unwrap();
    assert!(sent.query.unwrap().contains("o%27%27brien"));
    // The filter ignored, another person answered: refused.
    entra.set_misleading(Misleading::none().with_lookups_ignoring_filter(true));
    let error = provider
        .find_user(&email("nobody@corp.example"))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::IdentityMismatch);
    entra.set_misleading(Misleading::none().with_lookups_answering_other(1.0));
    let error = provider
        .find_user(&email(&emulator.people()[1].email))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::IdentityMismatch);
}

#[tokio::test]
async fn two_people_with_one_address_are_never_guessed() {
    let emulator = emulator().await;
    let entra = emulator.entra().unwrap();
    let first = entra.add_user("shared@corp.example", false, 1);
    let second = entra.add_user("team.mailbox@corp.example", false, 1);
    entra.add_other_mail(&second, "shared@corp.example");
    let error = provider(entra)
        .find_user(&email("shared@corp.example"))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::IdentityMismatch, "{error}");
    assert!(error.message().contains(&first) && error.message().contains(&second));
}

#[tokio::test]
async fn a_certificate_assertion_is_signed_and_a_bad_one_refused() {
    let emulator = emulator().await;
    let entra = emulator.entra().unwrap();
    let c = entra.credentials();
    let person = email(&emulator.people()[1].email);
    let app = builder(entra)
        .with_certificate(
            SecretString::from(RSA_PRIVATE_KEY.to_owned()),
            c.certificate_thumbprint.clone(),
        )
        .build()
        .unwrap();
    let user = app.find_user(&person).await.unwrap().into_user().unwrap();
    app.revoke_user_sessions(&user.id, DeviceScope::All)
        .await
        .unwrap();
    assert!(app.check_credential().await.unwrap().contains(&c.client_id));
    // The token is reused, and renewed once when Graph stops honouring it.
    let tokens = |e: &EntraEmulator| {
        e.requests()
            .iter()
            .filter(|r| r.path.ends_with("/oauth2/v2.0/token"))
            .count()
    };
    let before = tokens(entra);
    app.find_user(&person).await.unwrap();
    assert_eq!(tokens(entra), before);
    entra.expire_access_tokens();
    app.find_user(&person).await.unwrap();
    assert_eq!(tokens(entra), before + 1);
    // A thumbprint it does not have, or a wrong secret: refused as unauthenticated.
    let wrong = builder(entra)
        .with_certificate(
            SecretString::from(RSA_PRIVATE_KEY.to_owned()),
            "notTheThumbprint",
        )
        .build()
        .unwrap();
    let error = wrong.find_user(&person).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Unauthenticated, "{error}");
    assert_eq!(error.code(), Some("invalid_client"));
    let secret = builder(entra)
        .with_client_secret(SecretString::from("not the secret"))
        .build()
        .unwrap();
    assert_eq!(
        secret.find_user(&person).await.unwrap_err().kind(),
        ErrorKind::Unauthenticated
    );
    // Not an RSA key: refused before anything is sent.
    assert!(
        builder(entra)
            .with_certificate(SecretString::from(UNKNOWN_EC_PRIVATE_KEY.to_owned()), "x")
            .build()
            .is_err()
    );
}

#[tokio::test]
async fn an_answer_204_is_as_good_as_the_real_200_and_unknown_ids_are_not_revoked() {
    let mut config = EntraConfig::default();
    config.answer_204 = true;
    let emulator = emulator_with(config).await;
    let entra = emulator.entra().unwrap();
    let provider = provider(entra);
    let id = UserId::new(entra.user_id_by_email(&emulator.people()[1].email).unwrap());
    assert_eq!(
        provider
            .revoke_user_sessions(&id, DeviceScope::All)
            .await
            .unwrap(),
        Revocation::revoked_unknown_count()
    );
    entra.set_misleading(Misleading::none().with_success_for_unknown_users(true));
    let error = provider
        .revoke_user_sessions(
            &UserId::new("00000000-0000-4000-8000-00000000abcd"),
            DeviceScope::All,
        )
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound);
    // A UPN is not an id here: refused before sending.
    let before = entra.request_count();
    let error = provider
        .revoke_user_sessions(&UserId::new("a@corp.example"), DeviceScope::All)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    assert_eq!(entra.request_count(), before);
}

#[tokio::test]
async fn throttling_is_waited_out_and_server_errors_retried() {
    let emulator = Emulator::start(
        EmulatorConfig::new()
            .users(3)
            .only(ProviderKind::Entra)
            .faults(
                ProviderKind::Entra,
                Faults::none()
                    .with_rate_limits(0.3, Duration::from_millis(30))
                    .with_server_errors(0.2),
            ),
    )
    .await
    .unwrap();
    let entra = emulator.entra().unwrap();
    let provider = provider(entra);
    for person in &emulator.people()[1..] {
        provider.find_user(&email(&person.email)).await.unwrap();
    }
    let statuses: Vec<u16> = entra.requests().iter().map(|r| r.status).collect();
    assert!(statuses.contains(&429), "{statuses:?}");
    let throttled = entra
        .requests()
        .into_iter()
        .find(|r| r.status == 429)
        .unwrap();
    let _ = throttled;
    entra.set_faults(Faults::none().with_malformed(1.0));
    let error = provider
        .find_user(&email(&emulator.people()[1].email))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Decode, "{error}");
}

#[tokio::test]
async fn requests_match_the_graph_spec_and_no_secret_leaks() {
    let emulator = emulator().await;
    let entra = emulator.entra().unwrap();
    let provider = provider(entra);
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
    let spec = Spec::get(Provider::Entra);
    // The identity platform's token endpoint is not part of Graph's description.
    let requests: Vec<Request> = entra
        .requests()
        .into_iter()
        .filter(|r| !r.path.ends_with("/oauth2/v2.0/token"))
        .map(Request::from)
        .collect();
    assert!(requests.len() >= 5, "{}", requests.len());
    let bad = nonconforming(spec, &requests);
    assert!(bad.is_empty(), "{bad:#?}");

    let secret = entra.credentials().client_secret.clone();
    for text in [format!("{provider:?}"), provider.to_string()] {
        assert!(!text.contains(&secret), "{text}");
    }
    for request in entra.requests() {
        assert!(!request.query.unwrap_or_default().contains(&secret));
        assert!(!request.path.contains(&secret));
    }
    let wrong = builder(entra)
        .with_client_secret(SecretString::from(format!("{secret}x")))
        .build()
        .unwrap();
    let error = wrong.find_user(&person).await.unwrap_err();
    assert!(!format!("{error} {error:?}").contains(&secret));
    assert!(
        !format!(
            "{:?}",
            builder(entra).with_client_secret(SecretString::from(secret.clone()))
        )
        .contains(&secret)
    );
}
