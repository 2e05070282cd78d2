//! The shared behaviour suite (feature `conformance`).
//!
//! Every provider runs the same checks against a server whose real state the test
//! can read: adapters against their emulator, [`InMemoryProvider`](crate::InMemoryProvider)
//! against itself. A check takes the provider as `&dyn SessionProvider` and a
//! [`Fixture`] that seeds sessions and reports the server's real state, then panics
//! with a message naming the provider when the behaviour is wrong. Checks whose
//! capability the provider lacks are skipped, and say so.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use unisession_core::conformance::{run_all, CheckOutcome};
//! use unisession_core::InMemoryProvider;
//!
//! let provider = InMemoryProvider::new();
//! let me = provider.add_user("me@corp.example", "Me");
//! let current = provider.add_session(&me, unisession_core::DeviceKind::Browser);
//! provider.set_caller(&me, Some(&current));
//!
//! let report = run_all(&provider, &provider).await; // panics on a failed check
//! assert!(report.iter().any(|check| check.outcome == CheckOutcome::Passed));
//! # }
//! ```
//!
//! The checks create sessions and revoke them: run them only against a test server.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use futures::TryStreamExt;

use crate::{
    DeviceKind, DeviceScope, Email, ErrorKind, ListQuery, Revocation, SessionId, SessionProvider,
    SessionProviderExt, SessionRef, UserId, UserLookup,
};

/// A user the fixture created.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SeededUser {
    /// The user's id in the provider.
    pub id: UserId,
    /// The user's email, unique to this user.
    pub email: String,
    /// The sessions seeded for the user.
    pub sessions: Vec<SessionRef>,
}

impl SeededUser {
    /// A seeded user.
    pub fn new(id: UserId, email: impl Into<String>, sessions: Vec<SessionRef>) -> Self {
        Self {
            id,
            email: email.into(),
            sessions,
        }
    }
}

/// The credential's own user and its current session.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Caller {
    /// The caller's user id.
    pub user: UserId,
    /// The session of the credential, where the provider can tell it.
    pub current: Option<SessionId>,
}

impl Caller {
    /// A caller.
    pub fn new(user: UserId, current: Option<SessionId>) -> Self {
        Self { user, current }
    }
}

/// Seeds a provider's server and reads its real state, bypassing the provider.
#[async_trait]
pub trait Fixture: Send + Sync {
    /// Creates a new user (never the caller) with `sessions` active sessions.
    async fn seed_user(&self, sessions: usize) -> SeededUser;

    /// Creates `count` sessions that `list_sessions(&ListQuery::new())` will show:
    /// the caller's own where the provider lists only those, else a new user's.
    async fn seed_listed_sessions(&self, count: usize) -> Vec<SessionRef>;

    /// Creates `count` more sessions of the caller.
    async fn seed_caller_sessions(&self, count: usize) -> Vec<SessionRef>;

    /// The ids of every active session of `user`, read from the server's state.
    async fn sessions_of(&self, user: &UserId) -> Vec<SessionId>;

    /// The ids of every session `list_sessions(&ListQuery::new())` should show.
    async fn listed_sessions(&self) -> Vec<SessionId>;

    /// The caller, where the credential belongs to a user.
    async fn caller(&self) -> Option<Caller>;

    /// How many requests the server has received so far.
    async fn requests_received(&self) -> u64;

    /// A well-formed session id that matches no session.
    fn unknown_session_id(&self) -> SessionId;

    /// A well-formed user id that matches no user.
    fn unknown_user_id(&self) -> UserId;

    /// Makes the server answer every lookup by email with `user`'s record, as a
    /// server that ignores its filter would; `None` restores honest lookups.
    /// Answers `false` when the server cannot (the check that needs it is skipped).
    async fn answer_lookups_with(&self, user: Option<&UserId>) -> bool {
        let _ = user;
        false
    }
}

/// How one check ended. A failing check panics instead.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CheckOutcome {
    /// The behaviour was checked and is right.
    Passed,
    /// The provider lacks the capability the check needs.
    Skipped(String),
}

/// The name and outcome of one check, from [`run_all`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CheckReport {
    /// The check's function name.
    pub name: &'static str,
    /// How it ended.
    pub outcome: CheckOutcome,
}

fn skipped(why: &str) -> CheckOutcome {
    CheckOutcome::Skipped(why.to_owned())
}

async fn listed_ids(provider: &dyn SessionProvider, query: ListQuery) -> Vec<SessionId> {
    provider
        .list_all(query)
        .map_ok(|s| s.id)
        .try_collect()
        .await
        .unwrap_or_else(|e| panic!("{provider}: listing failed: {e}"))
}

fn sorted(ids: impl IntoIterator<Item = SessionId>) -> Vec<SessionId> {
    let mut ids: Vec<_> = ids.into_iter().collect();
    ids.sort();
    ids
}

/// Every operation the capabilities lack answers `Unsupported`, and the server
/// receives no request for it.
pub async fn unsupported_operations_are_refused(
    provider: &dyn SessionProvider,
    fixture: &dyn Fixture,
) -> CheckOutcome {
    let caps = provider.capabilities().clone();
    let before = fixture.requests_received().await;
    let mut tried = Vec::new();
    let user = UserId::new("nobody");
    let session = SessionRef::new(fixture.unknown_session_id()).with_user(user.clone());

    if !caps.can_list() {
        tried.push((
            "list_sessions",
            provider.list_sessions(&ListQuery::new()).await.err(),
        ));
    }
    if caps.can_list() && !caps.list_user_sessions {
        let query = ListQuery::for_user(user.clone());
        tried.push((
            "list_sessions(user)",
            provider.list_sessions(&query).await.err(),
        ));
    }
    if !caps.revoke_session {
        tried.push((
            "revoke_session",
            provider.revoke_session(&session).await.err(),
        ));
    }
    if !caps.revoke_user_sessions {
        let result = provider.revoke_user_sessions(&user, DeviceScope::All).await;
        tried.push(("revoke_user_sessions", result.err()));
        let result = provider
            .revoke_users_sessions(std::slice::from_ref(&user), DeviceScope::All)
            .await;
        let err = match result {
            Err(e) => Some(e),
            Ok(mut per_user) => per_user.pop().and_then(|(_, r)| r.err()),
        };
        tried.push(("revoke_users_sessions", err));
    } else if !caps.revoke_user_sessions_by_device {
        let result = provider
            .revoke_user_sessions(&user, DeviceScope::Mobile)
            .await;
        tried.push(("revoke_user_sessions(mobile)", result.err()));
    }
    if !caps.revoke_other_sessions {
        tried.push((
            "revoke_other_sessions",
            provider.revoke_other_sessions().await.err(),
        ));
    }
    if !caps.find_user_by_email {
        let email = Email::parse("nobody@unisession.invalid").expect("a valid address");
        let result = provider.find_user(&email).await;
        tried.push(("find_user", result.err()));
    }
    if tried.is_empty() {
        return skipped("every operation is supported");
    }
    for (operation, error) in tried {
        let kind = error.as_ref().map(|e| e.kind());
        assert_eq!(
            kind,
            Some(ErrorKind::Unsupported),
            "{provider}: {operation} is not in the capabilities, so it must fail with Unsupported; got {error:?}"
        );
    }
    let after = fixture.requests_received().await;
    assert_eq!(
        before,
        after,
        "{provider}: an unsupported operation reached the server ({} requests)",
        after - before
    );
    CheckOutcome::Passed
}

/// A revoked session is gone from the next listing, and from the server; the other
/// sessions stay.
pub async fn revoked_session_is_gone_from_next_list(
    provider: &dyn SessionProvider,
    fixture: &dyn Fixture,
) -> CheckOutcome {
    let caps = provider.capabilities();
    if !caps.revoke_session || !(caps.list_own_sessions || caps.list_all_sessions) {
        return skipped("needs revoke_session and an unfiltered listing");
    }
    let seeded = fixture.seed_listed_sessions(3).await;
    let listed = listed_ids(provider, ListQuery::new()).await;
    for s in &seeded {
        assert!(
            listed.contains(&s.id),
            "{provider}: seeded session {} is not listed",
            s.id
        );
    }
    let target = &seeded[0];
    let revocation = provider
        .revoke_session(target)
        .await
        .unwrap_or_else(|e| panic!("{provider}: revoking {} failed: {e}", target.id));
    assert!(
        matches!(revocation, Revocation::Revoked { .. }),
        "{provider}: revoking a live session must give Revoked, got {revocation:?}"
    );
    let listed = listed_ids(provider, ListQuery::new()).await;
    assert!(
        !listed.contains(&target.id),
        "{provider}: revoked session {} is still listed",
        target.id
    );
    for s in &seeded[1..] {
        assert!(
            listed.contains(&s.id),
            "{provider}: session {} vanished with another one",
            s.id
        );
    }
    let real = fixture.listed_sessions().await;
    assert!(
        !real.contains(&target.id),
        "{provider}: the server still holds revoked session {}",
        target.id
    );
    CheckOutcome::Passed
}

/// Revoking the same session twice gives `AlreadyGone` the second time, not an
/// error; so does an unknown id.
pub async fn revoking_twice_is_already_gone(
    provider: &dyn SessionProvider,
    fixture: &dyn Fixture,
) -> CheckOutcome {
    if !provider.capabilities().revoke_session {
        return skipped("needs revoke_session");
    }
    let seeded = fixture.seed_listed_sessions(1).await;
    let target = &seeded[0];
    let first = provider
        .revoke_session(target)
        .await
        .unwrap_or_else(|e| panic!("{provider}: first revocation failed: {e}"));
    assert!(
        matches!(first, Revocation::Revoked { .. }),
        "{provider}: first revocation gave {first:?}"
    );
    let second = provider.revoke_session(target).await.unwrap_or_else(|e| {
        panic!("{provider}: second revocation must be AlreadyGone, not an error: {e}")
    });
    assert_eq!(
        second,
        Revocation::AlreadyGone,
        "{provider}: second revocation"
    );
    let mut unknown = SessionRef::new(fixture.unknown_session_id());
    unknown.user = target.user.clone();
    let third = provider.revoke_session(&unknown).await.unwrap_or_else(|e| {
        panic!("{provider}: unknown session must be AlreadyGone, not an error: {e}")
    });
    assert_eq!(
        third,
        Revocation::AlreadyGone,
        "{provider}: unknown session"
    );
    CheckOutcome::Passed
}

/// Revoking one user's sessions ends all of them and leaves every other user's
/// sessions (and the caller's) untouched.
pub async fn revoke_user_leaves_other_users_untouched(
    provider: &dyn SessionProvider,
    fixture: &dyn Fixture,
) -> CheckOutcome {
    if !provider.capabilities().revoke_user_sessions {
        return skipped("needs revoke_user_sessions");
    }
    let target = fixture.seed_user(3).await;
    let bystander = fixture.seed_user(2).await;
    let bystander_before = sorted(fixture.sessions_of(&bystander.id).await);
    let caller = fixture.caller().await;
    let caller_before = match &caller {
        Some(c) => sorted(fixture.sessions_of(&c.user).await),
        None => Vec::new(),
    };
    let revocation = provider
        .revoke_user_sessions(&target.id, DeviceScope::All)
        .await
        .unwrap_or_else(|e| panic!("{provider}: revoking user {} failed: {e}", target.id));
    assert!(
        !matches!(revocation, Revocation::AlreadyGone),
        "{provider}: a user with 3 sessions cannot be AlreadyGone"
    );
    if let Revocation::Revoked { count: Some(count) } = revocation {
        assert_eq!(count, 3, "{provider}: reported count of revoked sessions");
    }
    let left = fixture.sessions_of(&target.id).await;
    assert!(
        left.is_empty(),
        "{provider}: user {} still has sessions {left:?}",
        target.id
    );
    assert_eq!(
        sorted(fixture.sessions_of(&bystander.id).await),
        bystander_before,
        "{provider}: another user's sessions changed"
    );
    if let Some(c) = caller {
        assert_eq!(
            sorted(fixture.sessions_of(&c.user).await),
            caller_before,
            "{provider}: the caller's sessions changed"
        );
    }
    CheckOutcome::Passed
}

/// "Revoke all others" keeps exactly the caller's current session (none, for a
/// credential that has no session of its own) and touches no other user.
pub async fn revoke_others_keeps_exactly_the_current_session(
    provider: &dyn SessionProvider,
    fixture: &dyn Fixture,
) -> CheckOutcome {
    if !provider.capabilities().revoke_other_sessions {
        return skipped("needs revoke_other_sessions");
    }
    let Some(Caller { user, current }) = fixture.caller().await else {
        panic!("{provider}: offers revoke_other_sessions but the fixture knows no caller");
    };
    fixture.seed_caller_sessions(3).await;
    let bystander = fixture.seed_user(2).await;
    let bystander_before = sorted(fixture.sessions_of(&bystander.id).await);
    let revocation = provider
        .revoke_other_sessions()
        .await
        .unwrap_or_else(|e| panic!("{provider}: revoke_other_sessions failed: {e}"));
    assert!(
        matches!(revocation, Revocation::Revoked { .. }),
        "{provider}: revoke_other_sessions gave {revocation:?}"
    );
    assert_eq!(
        fixture.sessions_of(&user).await,
        current.into_iter().collect::<Vec<_>>(),
        "{provider}: exactly the current session must remain"
    );
    assert_eq!(
        sorted(fixture.sessions_of(&bystander.id).await),
        bystander_before,
        "{provider}: another user's sessions changed"
    );
    CheckOutcome::Passed
}

/// Page by page, small pages, every session the server holds is listed exactly once.
pub async fn pagination_returns_every_session_exactly_once(
    provider: &dyn SessionProvider,
    fixture: &dyn Fixture,
) -> CheckOutcome {
    let caps = provider.capabilities();
    if !(caps.list_own_sessions || caps.list_all_sessions) {
        return skipped("needs an unfiltered listing");
    }
    fixture.seed_listed_sessions(23).await;
    let limit = caps.max_page_size.map_or(7, |max| max.min(7));
    let mut query = ListQuery::new().with_limit(limit);
    let mut pages = 0;
    let mut seen: BTreeMap<SessionId, usize> = BTreeMap::new();
    loop {
        let page = provider
            .list_sessions(&query)
            .await
            .unwrap_or_else(|e| panic!("{provider}: page {pages} failed: {e}"));
        pages += 1;
        assert!(
            page.items.len() <= limit as usize,
            "{provider}: asked for {limit} per page, got {}",
            page.items.len()
        );
        for session in page.items {
            *seen.entry(session.id).or_default() += 1;
        }
        match page.next_cursor {
            Some(cursor) => query.cursor = Some(cursor),
            None => break,
        }
        assert!(pages < 10_000, "{provider}: pagination does not end");
    }
    let duplicates: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        duplicates.is_empty(),
        "{provider}: listed more than once: {duplicates:?}"
    );
    let expected: BTreeSet<SessionId> = fixture.listed_sessions().await.into_iter().collect();
    let got: BTreeSet<SessionId> = seen.into_keys().collect();
    assert_eq!(
        got, expected,
        "{provider}: the pages do not hold exactly the server's sessions"
    );
    assert!(
        pages >= 2,
        "{provider}: {} sessions fit in one page of {limit}",
        got.len()
    );
    let streamed = sorted(listed_ids(provider, ListQuery::new().with_limit(limit)).await);
    assert_eq!(
        streamed,
        expected.into_iter().collect::<Vec<_>>(),
        "{provider}: list_all"
    );
    CheckOutcome::Passed
}

/// Where the provider marks the current session, exactly the caller's is marked.
pub async fn listing_marks_the_current_session(
    provider: &dyn SessionProvider,
    fixture: &dyn Fixture,
) -> CheckOutcome {
    let caps = provider.capabilities();
    if !caps.marks_current_session || !(caps.list_own_sessions || caps.list_all_sessions) {
        return skipped("needs marks_current_session and an unfiltered listing");
    }
    let Some(Caller {
        current: Some(current),
        ..
    }) = fixture.caller().await
    else {
        return skipped("the credential has no current session");
    };
    let marked: Vec<SessionId> = provider
        .list_all(ListQuery::new())
        .try_filter(|s| std::future::ready(s.current))
        .map_ok(|s| s.id)
        .try_collect()
        .await
        .unwrap_or_else(|e| panic!("{provider}: listing failed: {e}"));
    assert_eq!(marked, vec![current], "{provider}: sessions marked current");
    CheckOutcome::Passed
}

/// `find_user` finds a seeded user by email, and says how it knows an unknown one
/// is absent.
pub async fn find_user_by_email(
    provider: &dyn SessionProvider,
    fixture: &dyn Fixture,
) -> CheckOutcome {
    if !provider.capabilities().find_user_by_email {
        return skipped("needs find_user_by_email");
    }
    let seeded = fixture.seed_user(1).await;
    let email = Email::parse(&seeded.email).expect("the fixture seeds valid addresses");
    let found = provider
        .find_user(&email)
        .await
        .unwrap_or_else(|e| panic!("{provider}: find_user({email}) failed: {e}"));
    let UserLookup::Found(found) = found else {
        panic!("{provider}: find_user({email}) found nobody: {found:?}");
    };
    assert_eq!(
        found.id, seeded.id,
        "{provider}: find_user returned another user"
    );
    assert!(
        found.email.as_deref().is_some_and(|e| email.matches(e)),
        "{provider}: the user found must carry the email asked for, got {:?}",
        found.email
    );
    let nobody = Email::parse("nobody.at.all@unisession.invalid").expect("a valid address");
    let unknown = provider.find_user(&nobody).await.unwrap_or_else(|e| {
        panic!("{provider}: an unknown email must give NotFound, not an error: {e}")
    });
    match unknown {
        UserLookup::NotFound { evidence } => assert!(
            !evidence.trim().is_empty(),
            "{provider}: NotFound must say how the provider said so"
        ),
        other => panic!("{provider}: unknown email gave {other:?}"),
    }
    CheckOutcome::Passed
}

/// A lookup the server answers with another person's record is refused with
/// `IdentityMismatch`: neither that person (who would then be logged out) nor
/// "not found" (which would count as done). Nobody's sessions change.
pub async fn lookup_answered_for_another_person_is_refused(
    provider: &dyn SessionProvider,
    fixture: &dyn Fixture,
) -> CheckOutcome {
    if !provider.capabilities().find_user_by_email {
        return skipped("needs find_user_by_email");
    }
    let target = fixture.seed_user(2).await;
    let other = fixture.seed_user(2).await;
    if !fixture.answer_lookups_with(Some(&other.id)).await {
        return skipped("the fixture cannot make the server answer for another person");
    }
    let before = (
        sorted(fixture.sessions_of(&target.id).await),
        sorted(fixture.sessions_of(&other.id).await),
    );
    let email = Email::parse(&target.email).expect("the fixture seeds valid addresses");
    let answer = provider.find_user(&email).await;
    // What a consumer that trusted the answer would do next.
    if let Ok(UserLookup::Found(user)) = &answer {
        if provider.capabilities().revoke_user_sessions {
            let _ = provider
                .revoke_user_sessions(&user.id, DeviceScope::All)
                .await;
        }
    }
    fixture.answer_lookups_with(None).await;
    let after = (
        sorted(fixture.sessions_of(&target.id).await),
        sorted(fixture.sessions_of(&other.id).await),
    );
    match &answer {
        Err(e) => assert_eq!(
            e.kind(),
            ErrorKind::IdentityMismatch,
            "{provider}: a lookup answered for another person must be IdentityMismatch, got {e}"
        ),
        Ok(lookup) => panic!(
            "{provider}: a lookup answered with another person's record gave {lookup:?}; it must be an IdentityMismatch error"
        ),
    }
    assert_eq!(after, before, "{provider}: sessions changed");
    CheckOutcome::Passed
}

/// A user-wide revocation of an id nobody has is `NotFound`, never `Revoked`, and
/// touches nobody (servers answer success for unknown ids: the provider checks).
pub async fn revoking_an_unknown_user_is_not_found(
    provider: &dyn SessionProvider,
    fixture: &dyn Fixture,
) -> CheckOutcome {
    if !provider.capabilities().revoke_user_sessions {
        return skipped("needs revoke_user_sessions");
    }
    let bystander = fixture.seed_user(2).await;
    let before = sorted(fixture.sessions_of(&bystander.id).await);
    let unknown = fixture.unknown_user_id();
    let result = provider
        .revoke_user_sessions(&unknown, DeviceScope::All)
        .await;
    match &result {
        Err(e) => assert_eq!(
            e.kind(),
            ErrorKind::NotFound,
            "{provider}: revoking unknown user {unknown} must be NotFound, got {e}"
        ),
        Ok(r) => panic!("{provider}: revoking unknown user {unknown} gave {r:?}, not NotFound"),
    }
    assert_eq!(
        sorted(fixture.sessions_of(&bystander.id).await),
        before,
        "{provider}: another user's sessions changed"
    );
    CheckOutcome::Passed
}

/// Runs every check in turn, panicking at the first failure.
pub async fn run_all(provider: &dyn SessionProvider, fixture: &dyn Fixture) -> Vec<CheckReport> {
    let mut report = Vec::new();
    macro_rules! check {
        ($name:ident) => {
            report.push(CheckReport {
                name: stringify!($name),
                outcome: $name(provider, fixture).await,
            });
        };
    }
    check!(unsupported_operations_are_refused);
    check!(revoked_session_is_gone_from_next_list);
    check!(revoking_twice_is_already_gone);
    check!(revoke_user_leaves_other_users_untouched);
    check!(revoke_others_keeps_exactly_the_current_session);
    check!(pagination_returns_every_session_exactly_once);
    check!(listing_marks_the_current_session);
    check!(find_user_by_email);
    check!(lookup_answered_for_another_person_is_refused);
    check!(revoking_an_unknown_user_is_not_found);
    report
}

#[async_trait]
impl Fixture for crate::InMemoryProvider {
    async fn seed_user(&self, sessions: usize) -> SeededUser {
        let email = format!("seeded{}@corp.example", next_seed_number());
        let id = self.add_user(email.clone(), "Seeded User");
        let kinds = [DeviceKind::Browser, DeviceKind::Mobile, DeviceKind::Desktop];
        let sessions = (0..sessions)
            .map(|i| {
                SessionRef::new(self.add_session(&id, kinds[i % kinds.len()])).with_user(id.clone())
            })
            .collect();
        SeededUser::new(id, email, sessions)
    }

    async fn seed_listed_sessions(&self, count: usize) -> Vec<SessionRef> {
        if self.capabilities().list_all_sessions {
            self.seed_user(count).await.sessions
        } else {
            self.seed_caller_sessions(count).await
        }
    }

    async fn seed_caller_sessions(&self, count: usize) -> Vec<SessionRef> {
        let (user, _) = self
            .caller()
            .expect("the in-memory fixture needs set_caller first");
        (0..count)
            .map(|_| {
                SessionRef::new(self.add_session(&user, DeviceKind::Browser))
                    .with_user(user.clone())
            })
            .collect()
    }

    async fn sessions_of(&self, user: &UserId) -> Vec<SessionId> {
        crate::InMemoryProvider::sessions_of(self, user)
    }

    async fn listed_sessions(&self) -> Vec<SessionId> {
        if self.capabilities().list_all_sessions {
            self.all_sessions()
        } else {
            match self.caller() {
                Some((user, _)) => crate::InMemoryProvider::sessions_of(self, &user),
                None => Vec::new(),
            }
        }
    }

    async fn caller(&self) -> Option<Caller> {
        crate::InMemoryProvider::caller(self).map(|(user, current)| Caller::new(user, current))
    }

    async fn requests_received(&self) -> u64 {
        self.calls()
    }

    fn unknown_session_id(&self) -> SessionId {
        SessionId::new("s999999999")
    }

    fn unknown_user_id(&self) -> UserId {
        UserId::new("u999999999")
    }

    async fn answer_lookups_with(&self, user: Option<&UserId>) -> bool {
        self.mislead_lookups(user);
        true
    }
}

fn next_seed_number() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}
