//! The [`SessionProvider`] trait: the few primitives every provider implements.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::{
    Account, Capabilities, DeviceScope, Email, Error, ListQuery, Operation, Page, Result,
    Revocation, Session, SessionRef, UserId, UserLookup, Verification,
};

/// A SaaS tool whose user sessions can be listed and revoked.
///
/// Implement the primitives below; conveniences (streams over all pages,
/// revoke-and-verify) come from [`SessionProviderExt`](crate::SessionProviderExt).
/// The trait is object safe and meant to be used as `Arc<dyn SessionProvider>`.
///
/// # Contract
///
/// * [`capabilities`](Self::capabilities) tells the truth for the configured credential.
///   An operation it lacks fails with [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported)
///   and sends nothing. Wrap a provider in [`Checked`](crate::Checked) to have that
///   enforced for you.
/// * No outcome is ever reported as success when it failed: an unknown or closed session
///   is [`Revocation::AlreadyGone`], asynchronous work is [`Revocation::Queued`].
/// * A user-wide revocation of an id nobody has is an error of kind
///   [`ErrorKind::NotFound`](crate::ErrorKind::NotFound), never `Revoked`, even where
///   the server answers success for unknown ids (then the provider checks first).
/// * [`find_user`](Self::find_user) answers only for the person asked for (see there).
/// * `Display` names the provider instance (e.g. `slack:corp`); `Debug` never shows a
///   credential.
#[async_trait]
pub trait SessionProvider: fmt::Debug + fmt::Display + Send + Sync + 'static {
    /// What this provider can do with its credential.
    fn capabilities(&self) -> &Capabilities;

    /// One page of sessions. `query.cursor` continues a previous page; a page's
    /// `next_cursor` is `None` on the last page.
    async fn list_sessions(&self, query: &ListQuery) -> Result<Page<Session>>;

    /// Revokes one session. Unknown or already closed ids give [`Revocation::AlreadyGone`].
    async fn revoke_session(&self, session: &SessionRef) -> Result<Revocation>;

    /// Revokes every session of one user, or only those on the given kind of device.
    ///
    /// An id the provider has nobody with is [`ErrorKind::NotFound`](crate::ErrorKind::NotFound)
    /// (and only that: a route miss or a refusal is another kind).
    async fn revoke_user_sessions(&self, user: &UserId, scope: DeviceScope) -> Result<Revocation>;

    /// Revokes every session of the caller except the one making this request.
    ///
    /// The default answers `Unsupported`.
    async fn revoke_other_sessions(&self) -> Result<Revocation> {
        Err(Error::unsupported(
            Operation::RevokeOtherSessions,
            "this provider cannot revoke all other sessions",
        ))
    }

    /// Finds a user by email.
    ///
    /// * [`UserLookup::Found`] only when the record the server answered carries
    ///   `email` ([`Email::confirm`]). A record for somebody else is an error of kind
    ///   [`ErrorKind::IdentityMismatch`](crate::ErrorKind::IdentityMismatch), never
    ///   `Found(other)` and never `NotFound`.
    /// * [`UserLookup::NotFound`] only when the server said explicitly that nobody
    ///   has this email, with how it said so. An unfiltered or partial answer that
    ///   does not hold the person proves nothing: that is an error (`Unsupported`
    ///   when the server cannot be asked properly).
    ///
    /// The default answers `Unsupported`.
    async fn find_user(&self, email: &Email) -> Result<UserLookup> {
        let _ = email;
        Err(Error::unsupported(
            Operation::FindUser,
            "this provider cannot look users up by email",
        ))
    }

    /// One page of the provider's directory: every account, people and others, with
    /// its status and the email where the credential can see it. `query.user` must be
    /// `None`; `query.limit` asks for a page size. A page's `total`, where the server
    /// gives one, counts the whole directory.
    ///
    /// The default answers `Unsupported`.
    async fn list_users(&self, query: &ListQuery) -> Result<Page<Account>> {
        let _ = query;
        Err(Error::unsupported(
            Operation::ListUsers,
            "this provider cannot list its users",
        ))
    }

    /// The account the configured credential belongs to (kept out of an
    /// incident-wide logout, which would otherwise end its own access midway).
    ///
    /// The default answers `Unsupported`.
    async fn current_user(&self) -> Result<UserId> {
        Err(Error::unsupported(
            Operation::CurrentUser,
            "this provider cannot name the credential's own account",
        ))
    }

    /// What the provider itself shows of a user-wide revocation requested at
    /// `requested_at`, for a provider that cannot list the user's sessions but keeps a
    /// record of their end (an identity provider's audit log, or the time from which
    /// it honours sign-ins): [`Verification::Confirmed`] with that record,
    /// [`Verification::StillActive`] when the record shows a sign-in since, or
    /// `Ok(None)` when the record does not show it (yet). Providers that set
    /// [`Capabilities::confirms_revocation`] implement it; the default sees nothing.
    async fn confirm_revocation(
        &self,
        user: &UserId,
        requested_at: DateTime<Utc>,
    ) -> Result<Option<Verification>> {
        let _ = (user, requested_at);
        Ok(None)
    }

    /// Revokes the sessions of many users, one result per user in input order.
    ///
    /// The outer error is for a failure of the whole call (e.g. a bad credential).
    /// The default calls [`revoke_user_sessions`](Self::revoke_user_sessions) for each
    /// user in turn; providers with a native bulk call override it.
    async fn revoke_users_sessions(
        &self,
        users: &[UserId],
        scope: DeviceScope,
    ) -> Result<Vec<(UserId, Result<Revocation>)>> {
        let mut results = Vec::with_capacity(users.len());
        for user in users {
            let result = self.revoke_user_sessions(user, scope).await;
            results.push((user.clone(), result));
        }
        Ok(results)
    }
}

macro_rules! forward_provider {
    ($wrapper:ident) => {
        #[async_trait]
        #[deny(clippy::missing_trait_methods)]
        impl<P: SessionProvider + ?Sized> SessionProvider for $wrapper<P> {
            fn capabilities(&self) -> &Capabilities {
                (**self).capabilities()
            }

            async fn list_sessions(&self, query: &ListQuery) -> Result<Page<Session>> {
                (**self).list_sessions(query).await
            }

            async fn revoke_session(&self, session: &SessionRef) -> Result<Revocation> {
                (**self).revoke_session(session).await
            }

            async fn revoke_user_sessions(
                &self,
                user: &UserId,
                scope: DeviceScope,
            ) -> Result<Revocation> {
                (**self).revoke_user_sessions(user, scope).await
            }

            async fn revoke_other_sessions(&self) -> Result<Revocation> {
                (**self).revoke_other_sessions().await
            }

            async fn find_user(&self, email: &Email) -> Result<UserLookup> {
                (**self).find_user(email).await
            }

            async fn list_users(&self, query: &ListQuery) -> Result<Page<Account>> {
                (**self).list_users(query).await
            }

            async fn current_user(&self) -> Result<UserId> {
                (**self).current_user().await
            }

            async fn revoke_users_sessions(
                &self,
                users: &[UserId],
                scope: DeviceScope,
            ) -> Result<Vec<(UserId, Result<Revocation>)>> {
                (**self).revoke_users_sessions(users, scope).await
            }

            async fn confirm_revocation(
                &self,
                user: &UserId,
                requested_at: DateTime<Utc>,
            ) -> Result<Option<Verification>> {
                (**self).confirm_revocation(user, requested_at).await
            }
        }
    };
}

forward_provider!(Arc);
forward_provider!(Box);
