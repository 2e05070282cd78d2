//! A mockall mock of [`SessionProvider`] (feature `mock`), for code that consumes the trait.

use std::fmt;

use async_trait::async_trait;

use chrono::{DateTime, Utc};

use crate::{
    Account, Capabilities, DeviceScope, Email, ListQuery, Page, Result, Revocation, Session,
    SessionProvider, SessionRef, UserId, UserLookup, Verification,
};

mockall::mock! {
    /// A mock provider. Set expectations with `expect_*`; `Display` prints `mock`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use unisession_core::{Capabilities, MockSessionProvider, Revocation, SessionProvider, SessionRef};
    ///
    /// let mut caps = Capabilities::none();
    /// caps.revoke_session = true;
    /// let mut mock = MockSessionProvider::new();
    /// mock.expect_capabilities().return_const(caps);
    /// mock.expect_revoke_session().times(1).returning(|_| Ok(Revocation::AlreadyGone));
    /// let outcome = mock.revoke_session(&SessionRef::new("42")).await.unwrap();
    /// assert_eq!(outcome, Revocation::AlreadyGone);
    /// # }
    /// ```
    pub SessionProvider {}

    #[async_trait]
    impl SessionProvider for SessionProvider {
        fn capabilities(&self) -> &Capabilities;
        async fn list_sessions(&self, query: &ListQuery) -> Result<Page<Session>>;
        async fn revoke_session(&self, session: &SessionRef) -> Result<Revocation>;
        async fn revoke_user_sessions(&self, user: &UserId, scope: DeviceScope) -> Result<Revocation>;
        async fn revoke_other_sessions(&self) -> Result<Revocation>;
        async fn find_user(&self, email: &Email) -> Result<UserLookup>;
        async fn list_users(&self, query: &ListQuery) -> Result<Page<Account>>;
        async fn current_user(&self) -> Result<UserId>;
        async fn revoke_users_sessions(
            &self,
            users: &[UserId],
            scope: DeviceScope,
        ) -> Result<Vec<(UserId, Result<Revocation>)>>;
        async fn confirm_revocation(
            &self,
            user: &UserId,
            requested_at: DateTime<Utc>,
        ) -> Result<Option<Verification>>;
    }
}

impl fmt::Display for MockSessionProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("mock")
    }
}

impl fmt::Debug for MockSessionProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MockSessionProvider")
    }
}
