//! [`SessionProviderExt`]: conveniences built on the trait's primitives.

use std::future::Future;

use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};

use crate::{
    Checked, Cursor, Error, ErrorKind, ListQuery, Operation, Result, Session, SessionId,
    SessionProvider, SessionRef, UserId, Verification, VerifiedRevocation,
};

/// Conveniences for every [`SessionProvider`], including `dyn SessionProvider`.
///
/// Do not implement this trait: it is implemented for every provider.
pub trait SessionProviderExt: SessionProvider {
    /// Every session matching `query`, following cursors page by page.
    ///
    /// At most one page is held in memory. A listing error ends the stream after
    /// yielding the error. A provider that hands back the same cursor twice ends the
    /// stream with a `Provider` error instead of looping forever.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> unisession_core::Result<()> {
    /// use futures::TryStreamExt;
    /// use unisession_core::{DeviceKind, InMemoryProvider, ListQuery, SessionProviderExt};
    ///
    /// let provider = InMemoryProvider::builder().page_size(2).build();
    /// let alice = provider.add_user("alice@corp.example", "Alice");
    /// for _ in 0..5 {
    ///     provider.add_session(&alice, DeviceKind::Browser);
    /// }
    /// let sessions: Vec<_> = provider.list_all(ListQuery::new()).try_collect().await?;
    /// assert_eq!(sessions.len(), 5);
    /// # Ok(())
    /// # }
    /// ```
    fn list_all(&self, query: ListQuery) -> BoxStream<'_, Result<Session>> {
        if let Err(error) = self.capabilities().check_list(&query) {
            return stream::once(async move { Err(error) }).boxed();
        }
        let state = ListState {
            query,
            buffer: Vec::new().into_iter(),
            finished: false,
            pending_error: None,
        };
        stream::unfold(state, move |mut state| async move {
            loop {
                if let Some(session) = state.buffer.next() {
                    return Some((Ok(session), state));
                }
                if let Some(error) = state.pending_error.take() {
                    return Some((Err(error), state));
                }
                if state.finished {
                    return None;
                }
                match self.list_sessions(&state.query).await {
                    Ok(page) => {
                        match page.next_cursor {
                            Some(next) if state.query.cursor.as_ref() == Some(&next) => {
                                state.finished = true;
                                state.pending_error = Some(stuck_cursor(&next));
                            }
                            Some(next) => state.query.cursor = Some(next),
                            None => state.finished = true,
                        }
                        state.buffer = page.items.into_iter();
                    }
                    Err(error) => {
                        state.finished = true;
                        return Some((Err(error), state));
                    }
                }
            }
        })
        .boxed()
    }

    /// How many sessions `user` has, as far as a fresh listing shows.
    ///
    /// `Ok(None)` when this provider cannot list that user's sessions, so no count
    /// can be given (never a silent zero).
    fn user_session_count<'a>(
        &'a self,
        user: &'a UserId,
    ) -> impl Future<Output = Result<Option<u64>>> + Send + 'a {
        async move {
            let caps = self.capabilities();
            let query = if caps.list_user_sessions {
                ListQuery::for_user(user.clone())
            } else if caps.list_all_sessions {
                ListQuery::new()
            } else {
                return Ok(None);
            };
            let count = self
                .list_all(query)
                .try_fold(0u64, |count, session| async move {
                    Ok(count + u64::from(&session.user == user))
                })
                .await?;
            Ok(Some(count))
        }
    }

    /// Revokes one session, then lists again to prove it is gone.
    ///
    /// The verification is [`Verification::Unverifiable`] when the provider cannot
    /// show that session to this credential: a provider that lists only the caller's
    /// own sessions can prove only sessions it listed before revoking.
    fn revoke_and_verify<'a>(
        &'a self,
        session: &'a SessionRef,
    ) -> impl Future<Output = Result<VerifiedRevocation>> + Send + 'a {
        async move {
            let caps = self.capabilities().clone();
            let (query, own_only) = match &session.user {
                Some(user) if caps.list_user_sessions => {
                    (Some(ListQuery::for_user(user.clone())), false)
                }
                _ if caps.list_all_sessions => (Some(ListQuery::new()), false),
                _ if caps.list_own_sessions => (Some(ListQuery::new()), true),
                _ => (None, false),
            };
            let visible_before = match (&query, own_only) {
                (Some(query), true) => self.contains_session(query.clone(), &session.id).await?,
                _ => true,
            };
            let revocation = self.revoke_session(session).await?;
            let verification = match query {
                None => Verification::unverifiable("this provider cannot list sessions"),
                Some(_) if !visible_before => Verification::unverifiable(
                    "the session is not among the sessions this credential can list",
                ),
                Some(query) => {
                    if self.contains_session(query, &session.id).await? {
                        Verification::StillActive { remaining: 1 }
                    } else {
                        Verification::Verified
                    }
                }
            };
            Ok(VerifiedRevocation {
                revocation,
                verification,
            })
        }
    }

    /// Whether a fresh listing for `query` shows the session `id`.
    fn contains_session<'a>(
        &'a self,
        query: ListQuery,
        id: &'a SessionId,
    ) -> impl Future<Output = Result<bool>> + Send + 'a {
        async move {
            let mut sessions = self.list_all(query);
            while let Some(session) = sessions.try_next().await? {
                if &session.id == id {
                    return Ok(true);
                }
            }
            Ok(false)
        }
    }

    /// Wraps the provider in [`Checked`], which refuses unsupported operations
    /// before they reach it.
    fn checked(self) -> Checked<Self>
    where
        Self: Sized,
    {
        Checked::new(self)
    }
}

impl<P: SessionProvider + ?Sized> SessionProviderExt for P {}

struct ListState {
    query: ListQuery,
    buffer: std::vec::IntoIter<Session>,
    finished: bool,
    pending_error: Option<Error>,
}

fn stuck_cursor(cursor: &Cursor) -> Error {
    Error::new(
        ErrorKind::Provider,
        format!("the provider returned the cursor {cursor:?} twice in a row; stopping instead of looping"),
    )
    .with_operation(Operation::ListSessions)
}
