//! [`Checked`]: a wrapper that enforces a provider's [`Capabilities`] before any request.

use std::fmt;

use async_trait::async_trait;

use crate::{
    Account, Capabilities, DeviceScope, Email, Error, ListQuery, Operation, Page, Result,
    Revocation, Session, SessionProvider, SessionRef, UserId, UserLookup,
};

/// Wraps any provider and refuses, without calling it, every operation its
/// [`Capabilities`] lack. Errors leaving it name the provider and the operation.
///
/// It also holds every provider to the lookup contract, whoever wrote it: a
/// [`UserLookup::Found`] whose record does not carry the email asked for becomes an
/// [`ErrorKind::IdentityMismatch`](crate::ErrorKind::IdentityMismatch) error, so a
/// provider that trusts a server's answer too readily cannot hand on somebody else.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use unisession_core::{Capabilities, Checked, ErrorKind, InMemoryProvider, SessionProvider};
///
/// let mut caps = Capabilities::none();
/// caps.list_all_sessions = true;
/// let provider = Checked::new(InMemoryProvider::builder().capabilities(caps).build());
/// let err = provider.revoke_other_sessions().await.unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::Unsupported);
/// assert_eq!(provider.get_ref().calls(), 0); // the provider was never reached
/// # }
/// ```
pub struct Checked<P> {
    inner: P,
}

impl<P: SessionProvider> Checked<P> {
    /// Wraps `inner`.
    pub fn new(inner: P) -> Self {
        Self { inner }
    }

    /// The wrapped provider.
    pub fn get_ref(&self) -> &P {
        &self.inner
    }

    /// Unwraps.
    pub fn into_inner(self) -> P {
        self.inner
    }

    fn name_error(&self, operation: Operation, error: Error) -> Error {
        let error = error.with_operation(operation);
        if error.provider().is_some() {
            error
        } else {
            error.with_provider(self.inner.to_string())
        }
    }

    fn gate(&self, operation: Operation, check: Result<()>) -> Result<()> {
        check.map_err(|e| self.name_error(operation, e))
    }
}

impl<P: SessionProvider> fmt::Debug for Checked<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Checked").field(&self.inner).finish()
    }
}

impl<P: SessionProvider> fmt::Display for Checked<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.inner, f)
    }
}

#[async_trait]
impl<P: SessionProvider> SessionProvider for Checked<P> {
    fn capabilities(&self) -> &Capabilities {
        self.inner.capabilities()
    }

    async fn list_sessions(&self, query: &ListQuery) -> Result<Page<Session>> {
        let op = Operation::ListSessions;
        self.gate(op, self.capabilities().check_list(query))?;
        self.inner
            .list_sessions(query)
            .await
            .map_err(|e| self.name_error(op, e))
    }

    async fn revoke_session(&self, session: &SessionRef) -> Result<Revocation> {
        let op = Operation::RevokeSession;
        self.gate(op, self.capabilities().check_revoke_session(session))?;
        self.inner
            .revoke_session(session)
            .await
            .map_err(|e| self.name_error(op, e))
    }

    async fn revoke_user_sessions(&self, user: &UserId, scope: DeviceScope) -> Result<Revocation> {
        let op = Operation::RevokeUserSessions;
        self.gate(op, self.capabilities().check_revoke_user(op, scope))?;
        self.inner
            .revoke_user_sessions(user, scope)
            .await
            .map_err(|e| self.name_error(op, e))
    }

    async fn revoke_other_sessions(&self) -> Result<Revocation> {
        let op = Operation::RevokeOtherSessions;
        self.gate(op, self.capabilities().require(op))?;
        self.inner
            .revoke_other_sessions()
            .await
            .map_err(|e| self.name_error(op, e))
    }

    async fn find_user(&self, email: &Email) -> Result<UserLookup> {
        let op = Operation::FindUser;
        self.gate(op, self.capabilities().require(op))?;
        let lookup = self
            .inner
            .find_user(email)
            .await
            .map_err(|e| self.name_error(op, e))?;
        if let UserLookup::Found(user) = &lookup {
            let answered_by = format!("{}'s find_user", self.inner);
            email
                .confirm(user.email.as_deref(), &answered_by, &user.id)
                .map_err(|e| self.name_error(op, e))?;
        }
        Ok(lookup)
    }

    async fn list_users(&self, query: &ListQuery) -> Result<Page<Account>> {
        let op = Operation::ListUsers;
        self.gate(op, self.capabilities().require(op))?;
        if query.user.is_some() {
            return Err(
                self.name_error(op, Error::invalid_input("list_users takes no user filter"))
            );
        }
        if query.limit == Some(0) {
            return Err(self.name_error(op, Error::invalid_input("a page size of 0 was asked for")));
        }
        self.inner
            .list_users(query)
            .await
            .map_err(|e| self.name_error(op, e))
    }

    async fn current_user(&self) -> Result<UserId> {
        let op = Operation::CurrentUser;
        self.gate(op, self.capabilities().require(op))?;
        self.inner
            .current_user()
            .await
            .map_err(|e| self.name_error(op, e))
    }

    /// Asked only of a provider that says it can confirm ([`Capabilities::confirms_revocation`]).
    async fn confirm_revocation(
        &self,
        user: &UserId,
        requested_at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<crate::Verification>> {
        if !self.capabilities().confirms_revocation {
            return Ok(None);
        }
        self.inner
            .confirm_revocation(user, requested_at)
            .await
            .map_err(|e| self.name_error(Operation::RevokeUserSessions, e))
    }

    async fn revoke_users_sessions(
        &self,
        users: &[UserId],
        scope: DeviceScope,
    ) -> Result<Vec<(UserId, Result<Revocation>)>> {
        let op = Operation::RevokeUsersSessions;
        self.gate(op, self.capabilities().check_revoke_user(op, scope))?;
        if users.is_empty() {
            return Ok(Vec::new());
        }
        let results = self
            .inner
            .revoke_users_sessions(users, scope)
            .await
            .map_err(|e| self.name_error(op, e))?;
        if results.len() != users.len() {
            return Err(self.name_error(
                op,
                Error::new(
                    crate::ErrorKind::Provider,
                    format!(
                        "the provider answered for {} of {} users; no outcome may be lost",
                        results.len(),
                        users.len()
                    ),
                ),
            ));
        }
        Ok(results
            .into_iter()
            .map(|(user, result)| (user, result.map_err(|e| self.name_error(op, e))))
            .collect())
    }
}
