//! `Checked` refuses what the capabilities lack without reaching the provider.

use unisession_core::{
    Capabilities, Checked, DeviceKind, DeviceScope, Email, ErrorKind, InMemoryProvider, ListQuery,
    Operation, Page, Result, Revocation, Session, SessionProvider, SessionProviderExt, SessionRef,
    UserId, UserLookup, UserRef, async_trait,
};

fn provider_with(caps: Capabilities) -> Checked<InMemoryProvider> {
    InMemoryProvider::builder()
        .name("memory:test")
        .capabilities(caps)
        .build()
        .checked()
}

#[tokio::test]
async fn every_missing_capability_is_refused_before_the_provider() {
    let mut caps = Capabilities::none();
    caps.list_own_sessions = true;
    let provider = provider_with(caps);
    let user = UserId::new("u1");

    let cases = [
        (
            Operation::RevokeSession,
            provider
                .revoke_session(&SessionRef::new("s1"))
                .await
                .unwrap_err(),
        ),
        (
            Operation::RevokeUserSessions,
            provider
                .revoke_user_sessions(&user, DeviceScope::All)
                .await
                .unwrap_err(),
        ),
        (
            Operation::RevokeOtherSessions,
            provider.revoke_other_sessions().await.unwrap_err(),
        ),
        (
            Operation::FindUser,
            provider
                .find_user(&Email::parse("a@b.example").unwrap())
                .await
                .unwrap_err(),
        ),
        (
            Operation::RevokeUsersSessions,
            provider
                .revoke_users_sessions(std::slice::from_ref(&user), DeviceScope::All)
                .await
                .unwrap_err(),
        ),
        (
            Operation::ListSessions,
            provider
                .list_sessions(&ListQuery::for_user(user.clone()))
                .await
                .unwrap_err(),
        ),
    ];
    for (operation, error) in cases {
        assert_eq!(error.kind(), ErrorKind::Unsupported, "{operation}");
        assert_eq!(error.operation(), Some(operation));
        assert_eq!(error.provider(), Some("memory:test"));
    }
    assert_eq!(
        provider.get_ref().calls(),
        0,
        "nothing may reach the provider"
    );
}

#[tokio::test]
async fn device_scope_without_capability_is_refused_but_all_goes_through() {
    let mut caps = Capabilities::none();
    caps.revoke_user_sessions = true;
    let provider = provider_with(caps);
    let user = provider.get_ref().add_user("a@corp.example", "A");
    provider.get_ref().add_session(&user, DeviceKind::Mobile);

    let err = provider
        .revoke_user_sessions(&user, DeviceScope::Mobile)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
    assert_eq!(provider.get_ref().calls(), 0);

    let outcome = provider
        .revoke_user_sessions(&user, DeviceScope::All)
        .await
        .unwrap();
    assert_eq!(outcome, unisession_core::Revocation::revoked(1));
    assert_eq!(provider.get_ref().calls(), 1);
}

#[tokio::test]
async fn session_without_its_user_is_invalid_input_where_required() {
    let mut caps = Capabilities::none();
    caps.revoke_session = true;
    caps.revoke_session_requires_user = true;
    let provider = provider_with(caps);
    let err = provider
        .revoke_session(&SessionRef::new("s1"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(provider.get_ref().calls(), 0);
}

#[tokio::test]
async fn bulk_with_no_users_sends_nothing() {
    let provider = provider_with(InMemoryProvider::full_capabilities());
    let results = provider
        .revoke_users_sessions(&[], DeviceScope::All)
        .await
        .unwrap();
    assert!(results.is_empty());
    assert_eq!(provider.get_ref().calls(), 0);
}

#[tokio::test]
async fn provider_errors_are_named_after_the_provider_and_operation() {
    let provider = provider_with(InMemoryProvider::full_capabilities());
    let err = provider
        .revoke_user_sessions(&UserId::new("ghost"), DeviceScope::All)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(err.provider(), Some("memory:test"));
    assert_eq!(err.operation(), Some(Operation::RevokeUserSessions));
}

/// A provider that trusts its server too readily: it hands on whatever record the
/// lookup answered, here always Bob's.
#[derive(Debug)]
struct Credulous(Capabilities, Option<String>);

impl std::fmt::Display for Credulous {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("credulous")
    }
}

#[async_trait]
impl SessionProvider for Credulous {
    fn capabilities(&self) -> &Capabilities {
        &self.0
    }
    async fn list_sessions(&self, _: &ListQuery) -> Result<Page<Session>> {
        unreachable!("not called")
    }
    async fn revoke_session(&self, _: &SessionRef) -> Result<Revocation> {
        unreachable!("not called")
    }
    async fn revoke_user_sessions(&self, _: &UserId, _: DeviceScope) -> Result<Revocation> {
        unreachable!("not called")
    }
    async fn find_user(&self, _: &Email) -> Result<UserLookup> {
        let mut bob = UserRef::new("U-BOB");
        bob.email = self.1.clone();
        Ok(UserLookup::Found(bob))
    }
}

#[tokio::test]
async fn a_lookup_answered_for_somebody_else_never_leaves_checked() {
    let mut caps = Capabilities::none();
    caps.find_user_by_email = true;
    let alice = Email::parse("alice@corp.example").unwrap();
    for record in [Some("bob@corp.example".to_owned()), None] {
        let provider = Checked::new(Credulous(caps.clone(), record.clone()));
        let err = provider.find_user(&alice).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::IdentityMismatch, "{record:?}");
        assert_eq!(err.operation(), Some(Operation::FindUser));
        assert_eq!(err.provider(), Some("credulous"));
        assert!(err.message().contains("U-BOB"), "{err}");
        assert!(
            !err.message().contains("bob@"),
            "the other address stays private: {err}"
        );
    }
    // The same record, asked for the right person (any case), passes.
    let provider = Checked::new(Credulous(caps, Some("Bob@Corp.example".to_owned())));
    let bob = Email::parse("bob@corp.example").unwrap();
    let found = provider.find_user(&bob).await.unwrap();
    assert_eq!(found.user().map(|u| u.id.as_str()), Some("U-BOB"));
}
