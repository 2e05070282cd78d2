//! The shared suite, proven on the in-memory provider in several capability shapes.
#![cfg(feature = "conformance")]

use unisession_core::conformance::{self, CheckOutcome};
use unisession_core::{Capabilities, DeviceKind, InMemoryProvider};

fn with_caller(provider: InMemoryProvider) -> InMemoryProvider {
    let me = provider.add_user("me@corp.example", "Me");
    let current = provider.add_session(&me, DeviceKind::Browser);
    provider.add_session(&me, DeviceKind::Mobile);
    provider.set_caller(&me, Some(&current));
    provider
}

#[tokio::test]
async fn full_in_memory_provider_passes_every_check() {
    let provider = with_caller(InMemoryProvider::builder().page_size(5).build());
    let report = conformance::run_all(&provider, &provider).await;
    let passed: Vec<_> = report
        .iter()
        .filter(|c| c.outcome == CheckOutcome::Passed)
        .map(|c| c.name)
        .collect();
    assert_eq!(
        passed,
        [
            "revoked_session_is_gone_from_next_list",
            "revoking_twice_is_already_gone",
            "revoke_user_leaves_other_users_untouched",
            "revoke_others_keeps_exactly_the_current_session",
            "pagination_returns_every_session_exactly_once",
            "listing_marks_the_current_session",
            "find_user_by_email",
            "lookup_answered_for_another_person_is_refused",
            "revoking_an_unknown_user_is_not_found",
        ]
    );
}

#[tokio::test]
async fn own_sessions_only_provider_passes_and_skips_what_it_lacks() {
    let mut caps = Capabilities::none();
    caps.list_own_sessions = true;
    caps.marks_current_session = true;
    caps.revoke_session = true;
    caps.revoke_other_sessions = true;
    let provider = with_caller(
        InMemoryProvider::builder()
            .capabilities(caps)
            .page_size(4)
            .build(),
    );
    let report = conformance::run_all(&provider, &provider).await;
    let outcome = |name: &str| {
        report
            .iter()
            .find(|c| c.name == name)
            .unwrap()
            .outcome
            .clone()
    };
    assert_eq!(
        outcome("unsupported_operations_are_refused"),
        CheckOutcome::Passed
    );
    assert_eq!(
        outcome("pagination_returns_every_session_exactly_once"),
        CheckOutcome::Passed
    );
    assert!(matches!(
        outcome("find_user_by_email"),
        CheckOutcome::Skipped(_)
    ));
    assert!(matches!(
        outcome("revoke_user_leaves_other_users_untouched"),
        CheckOutcome::Skipped(_)
    ));
}

#[tokio::test]
#[should_panic(expected = "must fail with Unsupported")]
async fn suite_catches_a_provider_that_ignores_its_capabilities() {
    // A provider claiming it cannot revoke others but doing it anyway must fail the suite.
    #[derive(Debug)]
    struct Liar(InMemoryProvider, Capabilities);
    impl std::fmt::Display for Liar {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("liar")
        }
    }
    #[unisession_core::async_trait]
    impl unisession_core::SessionProvider for Liar {
        fn capabilities(&self) -> &Capabilities {
            &self.1
        }
        async fn list_sessions(
            &self,
            q: &unisession_core::ListQuery,
        ) -> unisession_core::Result<unisession_core::Page<unisession_core::Session>> {
            self.0.list_sessions(q).await
        }
        async fn revoke_session(
            &self,
            s: &unisession_core::SessionRef,
        ) -> unisession_core::Result<unisession_core::Revocation> {
            self.0.revoke_session(s).await
        }
        async fn revoke_user_sessions(
            &self,
            u: &unisession_core::UserId,
            scope: unisession_core::DeviceScope,
        ) -> unisession_core::Result<unisession_core::Revocation> {
            self.0.revoke_user_sessions(u, scope).await
        }
        async fn revoke_other_sessions(
            &self,
        ) -> unisession_core::Result<unisession_core::Revocation> {
            self.0.revoke_other_sessions().await
        }
    }
    use unisession_core::SessionProvider;
    let inner = with_caller(InMemoryProvider::new());
    let mut caps = inner.capabilities().clone();
    caps.revoke_other_sessions = false;
    let liar = Liar(inner, caps);
    conformance::unsupported_operations_are_refused(&liar, &liar.0).await;
}

#[tokio::test]
#[should_panic(expected = "it must be an IdentityMismatch error")]
async fn suite_catches_a_provider_that_reads_a_wrong_answer_as_not_found() {
    // A provider that turns "the server answered for somebody else" into "nobody
    // here" would let the fleet count the person as done.
    #[derive(Debug)]
    struct Hasty(InMemoryProvider);
    impl std::fmt::Display for Hasty {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("hasty")
        }
    }
    #[unisession_core::async_trait]
    impl unisession_core::SessionProvider for Hasty {
        fn capabilities(&self) -> &Capabilities {
            self.0.capabilities()
        }
        async fn list_sessions(
            &self,
            q: &unisession_core::ListQuery,
        ) -> unisession_core::Result<unisession_core::Page<unisession_core::Session>> {
            self.0.list_sessions(q).await
        }
        async fn revoke_session(
            &self,
            s: &unisession_core::SessionRef,
        ) -> unisession_core::Result<unisession_core::Revocation> {
            self.0.revoke_session(s).await
        }
        async fn revoke_user_sessions(
            &self,
            u: &unisession_core::UserId,
            scope: unisession_core::DeviceScope,
        ) -> unisession_core::Result<unisession_core::Revocation> {
            self.0.revoke_user_sessions(u, scope).await
        }
        async fn find_user(
            &self,
            email: &unisession_core::Email,
        ) -> unisession_core::Result<unisession_core::UserLookup> {
            match self.0.find_user(email).await {
                Err(_) => Ok(unisession_core::UserLookup::not_found("not on the page")),
                other => other,
            }
        }
    }
    let hasty = Hasty(with_caller(InMemoryProvider::new()));
    conformance::lookup_answered_for_another_person_is_refused(&hasty, &hasty.0).await;
}
