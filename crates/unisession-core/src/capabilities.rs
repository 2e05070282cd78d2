//! What a provider can do with the configured credential, known before any request.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{DeviceScope, Error, ListQuery, Result, SessionRef};

/// The operations of [`SessionProvider`](crate::SessionProvider).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Operation {
    /// `list_sessions`
    ListSessions,
    /// `revoke_session`
    RevokeSession,
    /// `revoke_user_sessions`
    RevokeUserSessions,
    /// `revoke_other_sessions`
    RevokeOtherSessions,
    /// `find_user`
    FindUser,
    /// `revoke_users_sessions`
    RevokeUsersSessions,
    /// `list_users`
    ListUsers,
    /// `current_user`
    CurrentUser,
}

impl Operation {
    /// Every operation, in trait order.
    pub const ALL: [Operation; 8] = [
        Operation::ListSessions,
        Operation::RevokeSession,
        Operation::RevokeUserSessions,
        Operation::RevokeOtherSessions,
        Operation::FindUser,
        Operation::RevokeUsersSessions,
        Operation::ListUsers,
        Operation::CurrentUser,
    ];

    /// The snake_case name of the trait method.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ListSessions => "list_sessions",
            Self::RevokeSession => "revoke_session",
            Self::RevokeUserSessions => "revoke_user_sessions",
            Self::RevokeOtherSessions => "revoke_other_sessions",
            Self::FindUser => "find_user",
            Self::RevokeUsersSessions => "revoke_users_sessions",
            Self::ListUsers => "list_users",
            Self::CurrentUser => "current_user",
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a provider can do with the credential it was built with.
///
/// Adapters fill it in at build time and must tell the truth: an operation whose
/// capability is off fails with [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported)
/// and sends nothing. Build one for your own provider from [`Capabilities::none`]:
///
/// ```
/// use unisession_core::Capabilities;
/// let mut caps = Capabilities::none();
/// caps.list_all_sessions = true;
/// caps.revoke_session = true;
/// assert!(caps.can_list());
/// assert!(!caps.revoke_other_sessions);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Capabilities {
    /// `list_sessions` without a user filter returns the caller's own sessions.
    pub list_own_sessions: bool,
    /// `list_sessions` without a user filter returns every user's sessions.
    pub list_all_sessions: bool,
    /// `list_sessions` honours [`ListQuery::user`] for any user.
    pub list_user_sessions: bool,
    /// Listed sessions mark the caller's own current session.
    pub marks_current_session: bool,
    /// The largest page the provider serves.
    pub max_page_size: Option<u32>,
    /// `revoke_session` works.
    pub revoke_session: bool,
    /// `revoke_session` needs [`SessionRef::user`] (Slack).
    pub revoke_session_requires_user: bool,
    /// `revoke_user_sessions` works with [`DeviceScope::All`].
    pub revoke_user_sessions: bool,
    /// `revoke_user_sessions` also works with [`DeviceScope::Mobile`] and [`DeviceScope::Web`].
    pub revoke_user_sessions_by_device: bool,
    /// `revoke_other_sessions` works and keeps exactly the caller's current session.
    pub revoke_other_sessions: bool,
    /// `find_user` looks users up by email.
    pub find_user_by_email: bool,
    /// `revoke_users_sessions` uses a native bulk call taking up to this many users.
    pub bulk_revoke_users: Option<usize>,
    /// The native bulk call only queues the work ([`Revocation::Queued`](crate::Revocation::Queued)).
    pub bulk_revocation_is_async: bool,
    /// An identity provider: people sign in to the applications through it, so the
    /// fleet ends its sessions first, before those of the applications.
    pub identity_provider: bool,
    /// [`confirm_revocation`](crate::SessionProvider::confirm_revocation) reads the
    /// provider's own record of a revocation (where no listing can show it).
    pub confirms_revocation: bool,
    /// What a user-wide revocation covers, in words, where it is more than one call
    /// (plans name it): `users.signOut, then every OAuth token …`.
    pub revocation_covers: Option<String>,
    /// `list_users` pages through every account of the directory.
    pub list_users: bool,
    /// The largest page `list_users` serves.
    pub max_users_page: Option<u32>,
    /// `current_user` names the credential's own account.
    pub current_user: bool,
    /// The published rate limit of each operation's call, in calls per minute, where
    /// the provider publishes one. The fleet's planner weighs calls by it: a call of a
    /// method allowed 20 times a minute costs as much time as 2.5 of one allowed 50.
    pub rate_limits: BTreeMap<Operation, u32>,
}

impl Capabilities {
    /// Nothing supported; switch on what your provider can do.
    pub fn none() -> Self {
        Self::default()
    }

    /// Whether any listing works.
    pub fn can_list(&self) -> bool {
        self.list_own_sessions || self.list_all_sessions || self.list_user_sessions
    }

    /// Whether `operation` is supported at all (its plainest form).
    pub fn supports(&self, operation: Operation) -> bool {
        match operation {
            Operation::ListSessions => self.can_list(),
            Operation::RevokeSession => self.revoke_session,
            Operation::RevokeUserSessions | Operation::RevokeUsersSessions => {
                self.revoke_user_sessions
            }
            Operation::RevokeOtherSessions => self.revoke_other_sessions,
            Operation::FindUser => self.find_user_by_email,
            Operation::ListUsers => self.list_users,
            Operation::CurrentUser => self.current_user,
        }
    }

    /// `Ok` when `operation` is supported; otherwise the `Unsupported` error.
    pub fn require(&self, operation: Operation) -> Result<()> {
        if self.supports(operation) {
            Ok(())
        } else {
            Err(Error::unsupported(
                operation,
                format!("this provider and credential do not support {operation}"),
            ))
        }
    }

    /// Checks a listing query: listing at all, and the user filter.
    pub fn check_list(&self, query: &ListQuery) -> Result<()> {
        self.require(Operation::ListSessions)?;
        if query.user.is_some() && !self.list_user_sessions {
            return Err(Error::unsupported(
                Operation::ListSessions,
                "this provider and credential cannot list another user's sessions",
            ));
        }
        if query.user.is_none() && !(self.list_own_sessions || self.list_all_sessions) {
            return Err(Error::unsupported(
                Operation::ListSessions,
                "this provider lists sessions only for a given user",
            ));
        }
        if query.limit == Some(0) {
            return Err(Error::invalid_input("a page size of 0 was asked for")
                .with_operation(Operation::ListSessions));
        }
        Ok(())
    }

    /// Checks a single-session revocation.
    pub fn check_revoke_session(&self, session: &SessionRef) -> Result<()> {
        self.require(Operation::RevokeSession)?;
        if self.revoke_session_requires_user && session.user.is_none() {
            return Err(Error::invalid_input(
                "this provider needs the owning user to revoke one session: use SessionRef::with_user",
            )
            .with_operation(Operation::RevokeSession));
        }
        Ok(())
    }

    /// Checks a user-wide revocation with a device scope.
    pub fn check_revoke_user(&self, operation: Operation, scope: DeviceScope) -> Result<()> {
        self.require(operation)?;
        if scope != DeviceScope::All && !self.revoke_user_sessions_by_device {
            return Err(Error::unsupported(
                operation,
                format!("this provider cannot limit a revocation to {scope} sessions"),
            ));
        }
        Ok(())
    }

    /// The time one call of `operation` costs under its published limit, in seconds
    /// (60 ÷ calls per minute); `None` where no limit is published.
    pub fn seconds_per_call(&self, operation: Operation) -> Option<f64> {
        self.rate_limits
            .get(&operation)
            .filter(|per_minute| **per_minute > 0)
            .map(|per_minute| 60.0 / f64::from(*per_minute))
    }

    /// Whether a user's sessions can be listed to verify a revocation: either the
    /// provider filters by user, or it lists everybody's sessions.
    pub fn can_verify_user(&self) -> bool {
        self.list_user_sessions || self.list_all_sessions
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ErrorKind, UserId};

    #[test]
    fn user_filter_needs_list_user_sessions() {
        let mut caps = Capabilities::none();
        caps.list_own_sessions = true;
        assert!(caps.check_list(&ListQuery::new()).is_ok());
        let err = caps
            .check_list(&ListQuery::for_user(UserId::new("u1")))
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported);
        assert_eq!(err.operation(), Some(Operation::ListSessions));
    }

    #[test]
    fn device_scope_needs_its_own_capability() {
        let mut caps = Capabilities::none();
        caps.revoke_user_sessions = true;
        assert!(
            caps.check_revoke_user(Operation::RevokeUserSessions, DeviceScope::All)
                .is_ok()
        );
        let err = caps
            .check_revoke_user(Operation::RevokeUserSessions, DeviceScope::Mobile)
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported);
    }

    #[test]
    fn session_without_user_is_invalid_where_the_user_is_required() {
        let mut caps = Capabilities::none();
        caps.revoke_session = true;
        caps.revoke_session_requires_user = true;
        let err = caps
            .check_revoke_session(&SessionRef::new("1"))
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(
            caps.check_revoke_session(&SessionRef::new("1").with_user("U1"))
                .is_ok()
        );
    }

    #[test]
    fn zero_page_size_is_refused() {
        let mut caps = Capabilities::none();
        caps.list_all_sessions = true;
        let err = caps
            .check_list(&ListQuery::new().with_limit(0))
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
    }
}
