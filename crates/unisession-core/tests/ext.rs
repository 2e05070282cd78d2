//! `SessionProviderExt`: streaming pages lazily, loop protection, revoke-and-verify.

use std::sync::Mutex;

use futures::{StreamExt, TryStreamExt};
use unisession_core::{
    Capabilities, Cursor, DeviceKind, DeviceScope, ErrorKind, InMemoryProvider, ListQuery, Page,
    Result, Revocation, Session, SessionId, SessionProvider, SessionProviderExt, SessionRef,
    UserId, Verification,
};

/// Serves scripted pages and records the queries it received.
#[derive(Debug)]
struct Scripted {
    caps: Capabilities,
    pages: Mutex<Vec<Result<Page<Session>>>>,
    queries: Mutex<Vec<ListQuery>>,
}

impl Scripted {
    fn new(pages: Vec<Result<Page<Session>>>) -> Self {
        let mut caps = Capabilities::none();
        caps.list_all_sessions = true;
        Self {
            caps,
            pages: Mutex::new(pages.into_iter().rev().collect()),
            queries: Mutex::new(Vec::new()),
        }
    }
    fn pages_requested(&self) -> usize {
        self.queries.lock().unwrap().len()
    }
}

impl std::fmt::Display for Scripted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("scripted")
    }
}

#[unisession_core::async_trait]
impl SessionProvider for Scripted {
    fn capabilities(&self) -> &Capabilities {
        &self.caps
    }
    async fn list_sessions(&self, query: &ListQuery) -> Result<Page<Session>> {
        self.queries.lock().unwrap().push(query.clone());
        self.pages
            .lock()
            .unwrap()
            .pop()
            .expect("no more scripted pages")
    }
    async fn revoke_session(&self, _: &SessionRef) -> Result<Revocation> {
        unreachable!()
    }
    async fn revoke_user_sessions(&self, _: &UserId, _: DeviceScope) -> Result<Revocation> {
        unreachable!()
    }
}

fn sessions(ids: &[&str]) -> Vec<Session> {
    ids.iter()
        .map(|id| Session::new(SessionId::new(*id), UserId::new("u1"), "scripted"))
        .collect()
}

#[tokio::test]
async fn list_all_fetches_the_next_page_only_when_the_current_one_is_drained() {
    let provider = Scripted::new(vec![
        Ok(Page::new(sessions(&["a", "b"]), Some(Cursor::new("c1")))),
        Ok(Page::new(Vec::new(), Some(Cursor::new("c2")))), // empty page, more follow
        Ok(Page::last(sessions(&["c"]))),
    ]);
    let mut stream = provider.list_all(ListQuery::new().with_limit(2));
    assert_eq!(stream.next().await.unwrap().unwrap().id.as_str(), "a");
    assert_eq!(provider.pages_requested(), 1);
    assert_eq!(stream.next().await.unwrap().unwrap().id.as_str(), "b");
    assert_eq!(provider.pages_requested(), 1);
    assert_eq!(stream.next().await.unwrap().unwrap().id.as_str(), "c");
    assert_eq!(provider.pages_requested(), 3);
    assert!(stream.next().await.is_none());
    drop(stream);
    let queries = provider.queries.lock().unwrap();
    let cursors: Vec<_> = queries.iter().map(|q| q.cursor.clone()).collect();
    assert_eq!(
        cursors,
        [None, Some(Cursor::new("c1")), Some(Cursor::new("c2"))]
    );
    assert!(queries.iter().all(|q| q.limit == Some(2)));
}

#[tokio::test]
async fn list_all_stops_with_an_error_when_the_cursor_repeats() {
    let provider = Scripted::new(vec![
        Ok(Page::new(sessions(&["a"]), Some(Cursor::new("same")))),
        Ok(Page::new(sessions(&["b"]), Some(Cursor::new("same")))),
    ]);
    let items: Vec<_> = provider.list_all(ListQuery::new()).collect().await;
    assert_eq!(items.len(), 3);
    assert_eq!(items[0].as_ref().unwrap().id.as_str(), "a");
    assert_eq!(items[1].as_ref().unwrap().id.as_str(), "b");
    assert_eq!(items[2].as_ref().unwrap_err().kind(), ErrorKind::Provider);
}

#[tokio::test]
async fn list_all_yields_the_error_then_ends() {
    let provider = Scripted::new(vec![
        Ok(Page::new(sessions(&["a"]), Some(Cursor::new("c1")))),
        Err(unisession_core::Error::new(
            ErrorKind::RateLimited,
            "slow down",
        )),
    ]);
    let items: Vec<_> = provider.list_all(ListQuery::new()).collect().await;
    assert_eq!(items.len(), 2);
    assert_eq!(
        items[1].as_ref().unwrap_err().kind(),
        ErrorKind::RateLimited
    );
    assert_eq!(provider.pages_requested(), 2);
}

#[tokio::test]
async fn list_all_refuses_an_unsupported_query_without_calling() {
    let provider = Scripted::new(Vec::new());
    let items: Vec<_> = provider
        .list_all(ListQuery::for_user(UserId::new("u2")))
        .collect()
        .await;
    assert_eq!(items.len(), 1);
    assert_eq!(
        items[0].as_ref().unwrap_err().kind(),
        ErrorKind::Unsupported
    );
    assert_eq!(provider.pages_requested(), 0);
}

#[tokio::test]
async fn revoke_and_verify_proves_the_session_is_gone() {
    let provider = InMemoryProvider::builder().page_size(3).build();
    let alice = provider.add_user("alice@corp.example", "Alice");
    let ids: Vec<_> = (0..7)
        .map(|_| provider.add_session(&alice, DeviceKind::Browser))
        .collect();
    let target = SessionRef::new(ids[5].clone()).with_user(alice.clone());
    let outcome = provider.revoke_and_verify(&target).await.unwrap();
    assert_eq!(outcome.revocation, Revocation::revoked(1));
    assert_eq!(outcome.verification, Verification::Verified);
    assert_eq!(provider.user_session_count(&alice).await.unwrap(), Some(6));
}

#[tokio::test]
async fn revoke_and_verify_is_unverifiable_for_a_session_an_own_only_lister_cannot_see() {
    let mut caps = Capabilities::none();
    caps.list_own_sessions = true;
    caps.revoke_session = true;
    let provider = InMemoryProvider::builder().capabilities(caps).build();
    let me = provider.add_user("me@corp.example", "Me");
    let other = provider.add_user("other@corp.example", "Other");
    let mine = provider.add_session(&me, DeviceKind::Browser);
    let theirs = provider.add_session(&other, DeviceKind::Browser);
    provider.set_caller(&me, None);

    let outcome = provider
        .revoke_and_verify(&SessionRef::new(theirs))
        .await
        .unwrap();
    assert_eq!(outcome.revocation, Revocation::revoked(1));
    assert!(matches!(
        outcome.verification,
        Verification::Unverifiable { .. }
    ));

    let outcome = provider
        .revoke_and_verify(&SessionRef::new(mine))
        .await
        .unwrap();
    assert_eq!(outcome.verification, Verification::Verified);
    // An own-only lister cannot count another user's sessions: None, never a silent 0.
    assert_eq!(provider.user_session_count(&other).await.unwrap(), None);
}

#[tokio::test]
async fn listing_streams_every_session_of_a_large_provider() {
    let provider = InMemoryProvider::builder().page_size(10).build();
    let user = provider.add_user("bulk@corp.example", "Bulk");
    for _ in 0..95 {
        provider.add_session(&user, DeviceKind::Desktop);
    }
    let ids: Vec<_> = provider
        .list_all(ListQuery::new())
        .map_ok(|s| s.id)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(ids.len(), 95);
    assert_eq!(provider.calls(), 10);
}
