//! [`LoginSession`]: a credential an adapter gets by logging in, lazily, and gets
//! again once when the server says it expired.

use std::future::Future;

use unisession_core::Result;

use crate::Response;

/// The credential a login gave (a token, a cookie), shared by every request of one
/// adapter. The first request that needs it logs in, the others wait for that one
/// login; [`with_relogin`](Self::with_relogin) logs in again once after a 401 that
/// means the credential expired.
#[derive(Debug)]
pub struct LoginSession<T> {
    current: tokio::sync::Mutex<Option<T>>,
}

impl<T: Clone> LoginSession<T> {
    /// A session holding `initial` (a credential given up front), or empty.
    pub fn new(initial: Option<T>) -> Self {
        Self {
            current: tokio::sync::Mutex::new(initial),
        }
    }

    /// The credential; logs in with `login` if there is none yet. Concurrent callers
    /// wait for the one login rather than each logging in.
    pub async fn get_or_login<F, Fut>(&self, login: F) -> Result<Option<T>>
    where
        F: FnOnce() -> Option<Fut>,
        Fut: Future<Output = Result<T>>,
    {
        let mut current = self.current.lock().await;
        if current.is_none() {
            if let Some(login) = login() {
                *current = Some(login.await?);
            }
        }
        Ok(current.clone())
    }

    /// Replaces the credential (the server issued a new one).
    pub async fn replace(&self, credential: T) {
        *self.current.lock().await = Some(credential);
    }

    /// Forgets the credential, so the next request logs in again.
    pub async fn forget(&self) {
        *self.current.lock().await = None;
    }

    /// Sends with `attempt`; when the answer is a 401 that `expired` reads as an
    /// expired credential and `can_log_in` (the credential came from a login), forgets
    /// the credential and tries once more, logging in again. Any other 401 (a missing
    /// permission some servers answer so) is left to the caller.
    pub async fn with_relogin<F, Fut>(
        &self,
        can_log_in: bool,
        expired: impl Fn(&Response) -> bool,
        attempt: F,
    ) -> Result<Response>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<Response>>,
    {
        let response = attempt().await?;
        if can_log_in && response.status() == 401 && expired(&response) {
            self.forget().await;
            return attempt().await;
        }
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn one_login_serves_everyone_until_it_is_forgotten() {
        let logins = AtomicU32::new(0);
        let session: LoginSession<u32> = LoginSession::new(None);
        let login = || Some(async { Ok(logins.fetch_add(1, Ordering::SeqCst) + 1) });
        let (a, b) = tokio::join!(session.get_or_login(login), session.get_or_login(login));
        assert_eq!((a.unwrap(), b.unwrap()), (Some(1), Some(1)));
        session.forget().await;
        assert_eq!(session.get_or_login(login).await.unwrap(), Some(2));
        session.replace(7).await;
        assert_eq!(session.get_or_login(login).await.unwrap(), Some(7));
        // A credential given up front needs no login, and none is attempted.
        let given: LoginSession<u32> = LoginSession::new(Some(3));
        let none = || None::<std::future::Ready<Result<u32>>>;
        assert_eq!(given.get_or_login(none).await.unwrap(), Some(3));
        given.forget().await;
        assert_eq!(given.get_or_login(none).await.unwrap(), None);
    }
}
