//! [`InMemoryProvider`]: a complete provider held in memory, for tests and examples.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;

use crate::{
    Account, AccountStatus, Capabilities, Cursor, Device, DeviceKind, DeviceScope, Email, Error,
    ErrorKind, ListQuery, Operation, Page, Result, Revocation, Session, SessionId, SessionProvider,
    SessionRef, UserId, UserLookup, UserRef,
};

/// A provider that keeps users and sessions in memory.
///
/// It behaves like a well-mannered real provider: offset cursors, `AlreadyGone` for
/// unknown sessions, user-wide and device-scoped revocation, "all but the current
/// session", lookup by email. Its [`Capabilities`] are configurable, and it refuses
/// what they lack, so it also serves to test code that consumes the trait.
/// [`calls`](Self::calls) counts every trait call that reached it.
pub struct InMemoryProvider {
    name: String,
    capabilities: Capabilities,
    page_size: usize,
    calls: AtomicU64,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    users: Vec<UserRef>,
    /// Keyed by a monotonically increasing number, so listing order is stable.
    sessions: BTreeMap<u64, Session>,
    next_session: u64,
    caller: Option<UserId>,
    current: Option<SessionId>,
    /// Every lookup answers this user's record (a server ignoring its filter).
    lookups_answer: Option<UserId>,
}

/// Builds an [`InMemoryProvider`].
#[derive(Debug, Clone)]
pub struct InMemoryProviderBuilder {
    name: String,
    capabilities: Capabilities,
    page_size: usize,
}

impl Default for InMemoryProviderBuilder {
    fn default() -> Self {
        Self {
            name: "memory".to_owned(),
            capabilities: InMemoryProvider::full_capabilities(),
            page_size: 50,
        }
    }
}

impl InMemoryProviderBuilder {
    /// The instance name shown by `Display` and stamped on sessions.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The capabilities to announce and enforce.
    pub fn capabilities(mut self, capabilities: Capabilities) -> Self {
        self.capabilities = capabilities;
        self
    }

    /// The default and maximum page size (at least 1).
    pub fn page_size(mut self, page_size: usize) -> Self {
        self.page_size = page_size.max(1);
        self
    }

    /// Builds the provider.
    pub fn build(self) -> InMemoryProvider {
        let mut capabilities = self.capabilities;
        capabilities.max_page_size = Some(u32::try_from(self.page_size).unwrap_or(u32::MAX));
        InMemoryProvider {
            name: self.name,
            capabilities,
            page_size: self.page_size,
            calls: AtomicU64::new(0),
            state: Mutex::new(State::default()),
        }
    }
}

impl InMemoryProvider {
    /// Starts a builder.
    pub fn builder() -> InMemoryProviderBuilder {
        InMemoryProviderBuilder::default()
    }

    /// A provider with every capability, named `memory`.
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// Every capability this provider can offer (no native bulk call).
    pub fn full_capabilities() -> Capabilities {
        let mut caps = Capabilities::none();
        caps.list_all_sessions = true;
        caps.list_user_sessions = true;
        caps.marks_current_session = true;
        caps.revoke_session = true;
        caps.revoke_user_sessions = true;
        caps.revoke_user_sessions_by_device = true;
        caps.revoke_other_sessions = true;
        caps.find_user_by_email = true;
        caps
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the maps half-updated in a way
        // that matters for a test double; keep serving.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn enter(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }

    fn fail(&self, error: Error, operation: Operation) -> Error {
        error
            .with_provider(self.name.clone())
            .with_operation(operation)
    }

    /// How many trait calls reached this provider.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// Adds a user; returns its id (`u1`, `u2`, ...).
    pub fn add_user(&self, email: impl Into<String>, name: impl Into<String>) -> UserId {
        let mut state = self.state();
        let id = UserId::new(format!("u{}", state.users.len() + 1));
        state.users.push(
            UserRef::new(id.clone())
                .with_email(email)
                .with_name(name)
                .with_active(true),
        );
        id
    }

    /// Adds a session of `user` on a device of `kind`; returns its id (`s1`, `s2`, ...).
    pub fn add_session(&self, user: &UserId, kind: DeviceKind) -> SessionId {
        let mut state = self.state();
        state.next_session += 1;
        let key = state.next_session;
        let id = SessionId::new(format!("s{key}"));
        let session = Session::new(id.clone(), user.clone(), self.name.clone())
            .with_device(Device::new(kind))
            .with_ip(format!("192.0.2.{}", key % 250 + 1));
        state.sessions.insert(key, session);
        id
    }

    /// Makes `user` the caller, with `session` as its current session.
    pub fn set_caller(&self, user: &UserId, session: Option<&SessionId>) {
        let mut state = self.state();
        state.caller = Some(user.clone());
        state.current = session.cloned();
    }

    /// The ids of `user`'s sessions, in creation order.
    pub fn sessions_of(&self, user: &UserId) -> Vec<SessionId> {
        self.state()
            .sessions
            .values()
            .filter(|s| &s.user == user)
            .map(|s| s.id.clone())
            .collect()
    }

    /// The ids of every session, in creation order.
    pub fn all_sessions(&self) -> Vec<SessionId> {
        self.state()
            .sessions
            .values()
            .map(|s| s.id.clone())
            .collect()
    }

    /// Makes every lookup by email answer `user`'s record whoever is asked for, as
    /// a server that ignores its filter would; `None` restores honest lookups. The
    /// provider still checks the answer (the identity echo), so a lookup for
    /// anybody else fails with [`ErrorKind::IdentityMismatch`]: this is for testing
    /// that nothing acts on such an answer.
    pub fn mislead_lookups(&self, user: Option<&UserId>) {
        self.state().lookups_answer = user.cloned();
    }

    /// The caller and its current session, if set.
    pub fn caller(&self) -> Option<(UserId, Option<SessionId>)> {
        let state = self.state();
        state
            .caller
            .clone()
            .map(|user| (user, state.current.clone()))
    }

    fn listed_by_default(&self, state: &State, session: &Session) -> bool {
        self.capabilities.list_all_sessions || state.caller.as_ref() == Some(&session.user)
    }
}

impl Default for InMemoryProvider {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for InMemoryProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InMemoryProvider")
            .field("name", &self.name)
            .field("calls", &self.calls())
            .finish_non_exhaustive()
    }
}

impl fmt::Display for InMemoryProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

fn in_scope(kind: DeviceKind, scope: DeviceScope) -> bool {
    match scope {
        DeviceScope::Mobile => kind == DeviceKind::Mobile,
        DeviceScope::Web => kind == DeviceKind::Browser,
        _ => true,
    }
}

#[async_trait]
impl SessionProvider for InMemoryProvider {
    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    async fn list_sessions(&self, query: &ListQuery) -> Result<Page<Session>> {
        let op = Operation::ListSessions;
        self.capabilities
            .check_list(query)
            .map_err(|e| self.fail(e, op))?;
        self.enter();
        let offset: usize = match &query.cursor {
            None => 0,
            Some(cursor) => cursor.as_str().parse().map_err(|_| {
                self.fail(
                    Error::invalid_input(format!("invalid cursor {cursor:?}")),
                    op,
                )
            })?,
        };
        let limit = query
            .limit
            .map_or(self.page_size, |l| (l as usize).min(self.page_size));
        let state = self.state();
        let matching: Vec<&Session> = state
            .sessions
            .values()
            .filter(|s| match &query.user {
                Some(user) => &s.user == user,
                None => self.listed_by_default(&state, s),
            })
            .collect();
        let total = matching.len();
        let items: Vec<Session> = matching
            .into_iter()
            .skip(offset)
            .take(limit)
            .map(|s| {
                let mut s = s.clone();
                s.current = state.current.as_ref() == Some(&s.id);
                s
            })
            .collect();
        let next = offset + items.len();
        let next_cursor = (next < total).then(|| Cursor::new(next.to_string()));
        Ok(Page::new(items, next_cursor).with_total(total as u64))
    }

    async fn revoke_session(&self, session: &SessionRef) -> Result<Revocation> {
        let op = Operation::RevokeSession;
        self.capabilities
            .check_revoke_session(session)
            .map_err(|e| self.fail(e, op))?;
        self.enter();
        let mut state = self.state();
        let key = state.sessions.iter().find_map(|(key, s)| {
            let owner_matches = session.user.as_ref().is_none_or(|u| u == &s.user);
            (s.id == session.id && owner_matches).then_some(*key)
        });
        Ok(match key {
            Some(key) => {
                state.sessions.remove(&key);
                Revocation::revoked(1)
            }
            None => Revocation::AlreadyGone,
        })
    }

    async fn revoke_user_sessions(&self, user: &UserId, scope: DeviceScope) -> Result<Revocation> {
        let op = Operation::RevokeUserSessions;
        self.capabilities
            .check_revoke_user(op, scope)
            .map_err(|e| self.fail(e, op))?;
        self.enter();
        let mut state = self.state();
        if !state.users.iter().any(|u| &u.id == user) {
            return Err(self.fail(
                Error::new(ErrorKind::NotFound, format!("no user {user}")),
                op,
            ));
        }
        let before = state.sessions.len();
        state
            .sessions
            .retain(|_, s| !(&s.user == user && in_scope(s.device.kind, scope)));
        Ok(Revocation::revoked((before - state.sessions.len()) as u64))
    }

    async fn revoke_other_sessions(&self) -> Result<Revocation> {
        let op = Operation::RevokeOtherSessions;
        self.capabilities
            .require(op)
            .map_err(|e| self.fail(e, op))?;
        self.enter();
        let mut state = self.state();
        let (Some(caller), Some(current)) = (state.caller.clone(), state.current.clone()) else {
            return Err(self.fail(
                Error::new(
                    ErrorKind::Provider,
                    "no current session is set, so none can be kept",
                ),
                op,
            ));
        };
        let before = state.sessions.len();
        state
            .sessions
            .retain(|_, s| s.user != caller || s.id == current);
        Ok(Revocation::revoked((before - state.sessions.len()) as u64))
    }

    /// Finds the user whose email [`Email::matches`]; checks the answer like an
    /// adapter does (see [`mislead_lookups`](Self::mislead_lookups)).
    async fn find_user(&self, email: &Email) -> Result<UserLookup> {
        let op = Operation::FindUser;
        self.capabilities
            .require(op)
            .map_err(|e| self.fail(e, op))?;
        self.enter();
        let state = self.state();
        let answer = match &state.lookups_answer {
            Some(id) => state.users.iter().find(|u| &u.id == id),
            None => state
                .users
                .iter()
                .find(|u| u.email.as_deref().is_some_and(|e| email.matches(e))),
        };
        let Some(user) = answer.cloned() else {
            return Ok(UserLookup::not_found(format!(
                "{} holds no user with this email",
                self.name
            )));
        };
        email
            .confirm(user.email.as_deref(), "the in-memory lookup", &user.id)
            .map_err(|e| self.fail(e, op))?;
        Ok(UserLookup::Found(user))
    }

    /// Every user, as active accounts, in the order they were added (offset cursors,
    /// with the total). Needs [`Capabilities::list_users`].
    async fn list_users(&self, query: &ListQuery) -> Result<Page<Account>> {
        let op = Operation::ListUsers;
        self.capabilities
            .require(op)
            .map_err(|e| self.fail(e, op))?;
        self.enter();
        let state = self.state();
        let start = match &query.cursor {
            Some(cursor) => cursor.as_str().parse::<usize>().map_err(|_| {
                self.fail(Error::invalid_input("not a cursor of this provider"), op)
            })?,
            None => 0,
        };
        let size = query
            .limit
            .map_or(self.page_size, |l| (l as usize).min(self.page_size))
            .max(1);
        let items: Vec<Account> = state
            .users
            .iter()
            .skip(start)
            .take(size)
            .map(|u| Account::new(u.clone(), AccountStatus::Active))
            .collect();
        let next = start + items.len();
        let cursor = (next < state.users.len()).then(|| Cursor::new(next.to_string()));
        Ok(Page::new(items, cursor).with_total(state.users.len() as u64))
    }

    /// The caller set with [`set_caller`](Self::set_caller). Needs
    /// [`Capabilities::current_user`].
    async fn current_user(&self) -> Result<UserId> {
        let op = Operation::CurrentUser;
        self.capabilities
            .require(op)
            .map_err(|e| self.fail(e, op))?;
        self.enter();
        self.state()
            .caller
            .clone()
            .ok_or_else(|| self.fail(Error::new(ErrorKind::Provider, "no caller is set"), op))
    }
}
