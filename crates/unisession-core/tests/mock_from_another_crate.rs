//! `MockSessionProvider` is usable from another crate, behind `Arc<dyn SessionProvider>`.
#![cfg(feature = "mock")]

use std::sync::Arc;

use unisession_core::{
    Capabilities, DeviceScope, MockSessionProvider, Revocation, SessionProvider, UserId,
};

#[tokio::test]
async fn mock_stands_in_for_a_provider_behind_a_trait_object() {
    let mut caps = Capabilities::none();
    caps.revoke_user_sessions = true;
    let mut mock = MockSessionProvider::new();
    mock.expect_capabilities().return_const(caps);
    mock.expect_revoke_user_sessions()
        .withf(|user, scope| user.as_str() == "U1" && *scope == DeviceScope::Web)
        .times(1)
        .returning(|_, _| Ok(Revocation::Queued));
    let provider: Arc<dyn SessionProvider> = Arc::new(mock);
    let outcome = provider
        .revoke_user_sessions(&UserId::new("U1"), DeviceScope::Web)
        .await
        .unwrap();
    assert_eq!(outcome, Revocation::Queued);
    assert_eq!(provider.to_string(), "mock");
}
