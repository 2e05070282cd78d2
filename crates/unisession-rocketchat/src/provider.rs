//! [`RocketChatProvider`]: the trait mapping, the 2FA retry and the license narrowing.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use async_trait::async_trait;
use futures::TryStreamExt;
use secrecy::SecretString;
use serde::de::DeserializeOwned;
use unisession_core::{
    Capabilities, DeviceScope, Email, Error, ErrorKind, ListQuery, Operation, Page, Result,
    Revocation, Session, SessionId, SessionProvider, SessionProviderExt, SessionRef, UserId,
    UserLookup, UserRef,
};
use unisession_http::{
    HttpClient, KnownUsers, LoginSession, Method, PaceClass, Response, decode_json_object,
};

use crate::config::{Credential, RocketChatBuilder, Scope, UserRevocation};
use crate::errors::error_type;
use crate::twofactor::{SecondFactors, TwoFactorChallenge};
use crate::wire;

/// The pacing class, when pacing is configured.
pub(crate) const CLASS: PaceClass = PaceClass::new("rocketchat");
pub(crate) const LIST: &str = "api/v1/sessions/list";
pub(crate) const LIST_ALL: &str = "api/v1/sessions/list.all";
pub(crate) const INFO: &str = "api/v1/sessions/info";
pub(crate) const INFO_ADMIN: &str = "api/v1/sessions/info.admin";
pub(crate) const LOGOUT: &str = "api/v1/sessions/logout";
pub(crate) const LOGOUT_ME: &str = "api/v1/sessions/logout.me";
pub(crate) const USERS_LOGOUT: &str = "api/v1/users.logout";
pub(crate) const REMOVE_OTHER_TOKENS: &str = "api/v1/users.removeOtherTokens";
pub(crate) const USERS_INFO: &str = "api/v1/users.info";
pub(crate) const USERS_LIST: &str = "api/v1/users.list";
pub(crate) const ME: &str = "api/v1/me";
pub(crate) const PERMISSIONS: &str = "api/v1/permissions.listAll";
pub(crate) const LOGIN: &str = "api/v1/login";

/// The permission without which Rocket.Chat hides other users' emails, and answers
/// "User not found." to `users.info?email=` for everybody else
/// (`apps/meteor/app/lib/server/functions/getFullUserData.ts`).
pub(crate) const VIEW_FULL_INFO: &str = "view-full-other-user-info";

/// Upper bound of `count` (`API_Upper_Count_Limit`).
pub(crate) const MAX_COUNT: u32 = 100;

/// Meteor ids (users, sessions) are letters and digits; anything else is refused
/// before sending.
pub(crate) fn is_meteor_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// How users are looked up by email: learned from the server's first answer.
pub(crate) const LOOKUP_UNKNOWN: u8 = 0;
pub(crate) const LOOKUP_INFO: u8 = 1;
pub(crate) const LOOKUP_LEGACY_LIST: u8 = 2;

/// Whether "User not found." to `users.info?email=` is the server's word on absence:
/// learned once, from the caller's roles and who holds `view-full-other-user-info`.
pub(crate) const VISIBILITY_UNKNOWN: u8 = 0;
pub(crate) const VISIBILITY_FULL: u8 = 1;
pub(crate) const VISIBILITY_LIMITED: u8 = 2;

/// Rocket.Chat's device management and token APIs behind [`SessionProvider`].
/// See the crate docs for the mapping, permissions, license needs and 2FA.
pub struct RocketChatProvider {
    pub(crate) name: String,
    pub(crate) http: HttpClient,
    pub(crate) credential: Credential,
    pub(crate) session: LoginSession<(String, SecretString)>,
    pub(crate) scope: Scope,
    pub(crate) factors: SecondFactors,
    /// Counts second factors completed, so tasks that waited know to retry plainly.
    pub(crate) two_factor: tokio::sync::Mutex<u64>,
    pub(crate) user_revocation: UserRevocation,
    pub(crate) precheck: bool,
    pub(crate) capabilities: Capabilities,
    pub(crate) community: Capabilities,
    /// The capabilities once a listing showed the server marks the current session.
    pub(crate) with_current: Capabilities,
    pub(crate) license_missing: AtomicBool,
    pub(crate) current_seen: AtomicBool,
    pub(crate) lookup: AtomicU8,
    pub(crate) visibility: AtomicU8,
    pub(crate) known: KnownUsers,
}

impl fmt::Debug for RocketChatProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RocketChatProvider")
            .field("name", &self.name)
            .field("base_url", &self.http.base_url().as_str())
            .field("credential", &self.credential)
            .field("scope", &self.scope)
            .field("factors", &self.factors)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for RocketChatProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// A refusal of a permission (`{"error":"unauthorized"}` or `"forbidden"`), which some
/// builds answer with 401: not a sign that the credential expired, so never a
/// reason to log in again.
pub(crate) fn permission_refusal(response: &Response) -> bool {
    matches!(
        failure_of(response).error.as_deref(),
        Some("unauthorized" | "forbidden")
    )
}

/// A 404 that says `Session not found`: the one answer that means the session is
/// gone. Older servers also answer 404 `unauthorized` without a license, and a
/// missing route answers 404 too; those are errors, never "already gone".
pub(crate) fn session_not_found(response: &Response) -> bool {
    response.status() == 404 && failure_of(response).error.as_deref() == Some("Session not found")
}

pub(crate) fn failure_of(response: &Response) -> wire::Failure {
    decode_json_object(response.body()).unwrap_or_default()
}

pub(crate) fn wants_second_factor(response: &Response) -> Option<wire::Failure> {
    if response.status() != 400 && response.status() != 401 {
        return None;
    }
    let failure = failure_of(response);
    (error_type(&failure).as_deref() == Some("totp-required")
        || failure.error.as_deref() == Some("totp-required"))
    .then_some(failure)
}

pub(crate) fn challenge_of(failure: &wire::Failure) -> TwoFactorChallenge {
    let details = failure.details.as_ref();
    TwoFactorChallenge {
        method: details
            .and_then(|d| d.method.as_deref())
            .unwrap_or_default()
            .into(),
        email_or_username: details.and_then(|d| d.email_or_username.clone()),
        code_generated: details.and_then(|d| d.code_generated).unwrap_or(false),
    }
}

impl RocketChatProvider {
    /// A builder for the server at `base_url`.
    pub fn builder(base_url: impl Into<String>) -> RocketChatBuilder {
        RocketChatBuilder::new(base_url)
    }

    pub(crate) fn from_parts(
        name: String,
        builder: RocketChatBuilder,
        credential: Credential,
        http: HttpClient,
    ) -> Self {
        let mut capabilities = Capabilities::none();
        match builder.scope {
            Scope::Workspace => {
                capabilities.list_all_sessions = true;
                capabilities.list_user_sessions = true;
            }
            // `current` only from about 8.7 (PR #40351): claimed once a listing shows it.
            Scope::Own => capabilities.list_own_sessions = true,
        }
        capabilities.max_page_size = Some(MAX_COUNT);
        capabilities.revoke_session = true;
        capabilities.revoke_user_sessions = true;
        capabilities.revoke_other_sessions = true;
        capabilities.find_user_by_email = true;
        capabilities.list_users = true;
        capabilities.max_users_page = Some(MAX_COUNT);
        capabilities.current_user = true;
        // The API rate limiter's default: 10 calls per endpoint per minute
        // (`apps/meteor/server/settings/rate.ts`); the planner weighs them alike.
        capabilities.rate_limits = Operation::ALL.into_iter().map(|op| (op, 10)).collect();
        // Without the Enterprise license only the token APIs remain.
        let mut community = Capabilities::none();
        community.revoke_user_sessions = builder.user_revocation == UserRevocation::AllTokens;
        community.revoke_other_sessions = true;
        community.find_user_by_email = true;
        community.list_users = true;
        community.max_users_page = Some(MAX_COUNT);
        community.current_user = true;
        community.rate_limits = capabilities.rate_limits.clone();
        let mut with_current = capabilities.clone();
        with_current.marks_current_session = builder.scope == Scope::Own;
        let session = match &credential {
            Credential::Token { user_id, token } => Some((user_id.clone(), token.clone())),
            Credential::Login { .. } => None,
        };
        Self {
            name,
            http,
            credential,
            session: LoginSession::new(session),
            scope: builder.scope,
            factors: builder.factors,
            two_factor: tokio::sync::Mutex::new(0),
            user_revocation: builder.user_revocation,
            precheck: builder.precheck,
            capabilities,
            community,
            with_current,
            license_missing: AtomicBool::new(false),
            current_seen: AtomicBool::new(false),
            lookup: AtomicU8::new(LOOKUP_UNKNOWN),
            visibility: AtomicU8::new(VISIBILITY_UNKNOWN),
            known: KnownUsers::default(),
        }
    }

    /// Narrows the capabilities to what works without an Enterprise license: no
    /// device management, only the token APIs. Done on its own after a license error.
    pub fn narrow_to_community(&self) {
        if !self.license_missing.swap(true, Ordering::Relaxed) {
            tracing::warn!(provider = %self.name, "no Enterprise license: device management is off");
        }
    }

    pub(crate) fn fail(&self, error: Error, operation: Operation) -> Error {
        if error.kind() == ErrorKind::PlanRequired {
            self.narrow_to_community();
        }
        error
            .with_provider(self.name.clone())
            .with_operation(operation)
    }

    /// Decodes a successful answer, or maps the failure.
    pub(crate) fn decode<T: DeserializeOwned>(&self, response: &Response) -> Result<T> {
        crate::decode::answer(
            response.route(),
            response.status().as_u16(),
            response.body(),
        )
        .map_err(|e| e.with_retries(response.retries()))
    }

    pub(crate) fn check_session_id(&self, id: &SessionId, op: Operation) -> Result<()> {
        if is_meteor_id(id.as_str()) {
            Ok(())
        } else {
            Err(self.fail(
                Error::invalid_input(format!("{:?} is not a Rocket.Chat session id", id.as_str())),
                op,
            ))
        }
    }

    pub(crate) fn check_user_id(&self, id: &UserId, op: Operation) -> Result<()> {
        if is_meteor_id(id.as_str()) {
            Ok(())
        } else {
            Err(self.fail(
                Error::invalid_input(format!("{:?} is not a Rocket.Chat user id", id.as_str())),
                op,
            ))
        }
    }

    /// Whether the session is still live, asked before a logout because Rocket.Chat
    /// answers 200 to logging out a session that is already gone.
    pub(crate) async fn session_is_live(&self, id: &SessionId) -> Result<bool> {
        let route = match self.scope {
            Scope::Workspace => INFO_ADMIN,
            Scope::Own => INFO,
        };
        let response = self
            .send(|| {
                self.http
                    .request(Method::GET, route)
                    .query("sessionId", id.as_str())
            })
            .await?;
        if session_not_found(&response) {
            return Ok(false);
        }
        let info: wire::SessionInfo = self.decode(&response)?;
        // info.admin matches the id as a search term; only an exact match counts.
        Ok(info.session_id.as_deref() == Some(id.as_str()) && info.logout_at.is_none())
    }

    /// Who the credential belongs to (`users.info?userId=` of the caller): a harmless
    /// call to check a credential.
    pub async fn whoami(&self) -> Result<UserRef> {
        let (user_id, _) = self
            .credentials()
            .await
            .map_err(|e| e.with_provider(self.name.clone()))?;
        let response = self
            .send(|| {
                self.http
                    .request(Method::GET, USERS_INFO)
                    .query("userId", user_id.clone())
            })
            .await
            .map_err(|e| e.with_provider(self.name.clone()))?;
        let info: wire::UserInfo = self
            .decode(&response)
            .map_err(|e| e.with_provider(self.name.clone()))?;
        Ok(crate::lookup::user_ref(info.user, None))
    }
}

/// `config check`: `users.info` of the caller, naming it.
#[async_trait]
impl unisession_http::Adapter for RocketChatProvider {
    fn base_url(&self) -> &unisession_http::Url {
        self.http.base_url()
    }

    async fn check_credential(&self) -> Result<String> {
        let me = self.whoami().await?;
        Ok(format!(
            "credential of {}",
            me.name.or(me.email).unwrap_or_else(|| me.id.to_string())
        ))
    }
}

#[async_trait]
impl SessionProvider for RocketChatProvider {
    fn capabilities(&self) -> &Capabilities {
        if self.license_missing.load(Ordering::Relaxed) {
            &self.community
        } else if self.current_seen.load(Ordering::Relaxed) {
            &self.with_current
        } else {
            &self.capabilities
        }
    }

    /// `sessions/list.all` (workspace) or `sessions/list` (own): offset pages of at
    /// most 100, one session per login token, newest login first.
    async fn list_sessions(&self, query: &ListQuery) -> Result<Page<Session>> {
        let op = Operation::ListSessions;
        self.capabilities()
            .check_list(query)
            .map_err(|e| self.fail(e, op))?;
        let offset: u64 = match &query.cursor {
            None => 0,
            Some(cursor) => cursor.as_str().parse().map_err(|_| {
                self.fail(
                    Error::invalid_input(format!("{cursor:?} is not a Rocket.Chat page cursor")),
                    op,
                )
            })?,
        };
        // Never 0: `count=0` means "everything" and MongoDB refuses `$limit: 0`.
        let count = query.limit.unwrap_or(MAX_COUNT).clamp(1, MAX_COUNT);
        if let Some(user) = &query.user {
            self.check_user_id(user, op)?;
        }
        let route = match self.scope {
            Scope::Workspace => LIST_ALL,
            Scope::Own => LIST,
        };
        let response = self
            .send(|| {
                let request = self
                    .http
                    .request(Method::GET, route)
                    .query("offset", offset.to_string())
                    .query("count", count.to_string());
                match &query.user {
                    // The server matches the filter as text; the exact id is checked below.
                    Some(user) => request.query("filter", user.as_str()),
                    None => request,
                }
            })
            .await
            .map_err(|e| self.fail(e, op))?;
        let page = crate::decode::session_page(
            &self.name,
            route,
            response.status().as_u16(),
            response.body(),
            offset,
            query.user.as_ref(),
        )
        .map_err(|e| self.fail(e.with_retries(response.retries()), op))?;
        if self.scope == Scope::Own
            && !self.current_seen.load(Ordering::Relaxed)
            && crate::decode::marks_current(response.body())
        {
            self.current_seen.store(true, Ordering::Relaxed);
        }
        Ok(page)
    }

    /// `sessions/logout` (workspace) or `sessions/logout.me` (own). A 404 "Session not
    /// found", or a session the pre-check finds gone, is `AlreadyGone`.
    async fn revoke_session(&self, session: &SessionRef) -> Result<Revocation> {
        let op = Operation::RevokeSession;
        self.capabilities()
            .check_revoke_session(session)
            .map_err(|e| self.fail(e, op))?;
        self.check_session_id(&session.id, op)?;
        if self.precheck
            && !self
                .session_is_live(&session.id)
                .await
                .map_err(|e| self.fail(e, op))?
        {
            return Ok(Revocation::AlreadyGone);
        }
        let route = match self.scope {
            Scope::Workspace => LOGOUT,
            Scope::Own => LOGOUT_ME,
        };
        let body = serde_json::json!({"sessionId": session.id.as_str()});
        let response = self
            .send(|| {
                self.http
                    .request(Method::POST, route)
                    .json(&body)
                    .idempotent(true)
            })
            .await
            .map_err(|e| self.fail(e, op))?;
        if session_not_found(&response) {
            return Ok(Revocation::AlreadyGone);
        }
        self.decode::<serde_json::Value>(&response)
            .map_err(|e| self.fail(e, op))?;
        Ok(Revocation::revoked(1))
    }

    /// `users.logout` (default): every login token of the user, personal access tokens
    /// included, on every edition. Or, with [`UserRevocation::DeviceSessions`], each
    /// session device management lists, logged out one by one. Either way the user
    /// is confirmed first (`users.info?userId=`, unless this adapter's own lookup
    /// answered the id): the server answers success for ids nobody has, which is
    /// [`ErrorKind::NotFound`] here.
    async fn revoke_user_sessions(&self, user: &UserId, scope: DeviceScope) -> Result<Revocation> {
        let op = Operation::RevokeUserSessions;
        self.capabilities()
            .check_revoke_user(op, scope)
            .map_err(|e| self.fail(e, op))?;
        self.check_user_id(user, op)?;
        self.confirm_user(user)
            .await
            .map_err(|e| self.fail(e, op))?;
        match self.user_revocation {
            UserRevocation::AllTokens => {
                let body = serde_json::json!({"userId": user.as_str()});
                let response = self
                    .send(|| {
                        self.http
                            .request(Method::POST, USERS_LOGOUT)
                            .json(&body)
                            .idempotent(true)
                    })
                    .await
                    .map_err(|e| self.fail(e, op))?;
                self.decode::<serde_json::Value>(&response)
                    .map_err(|e| self.fail(e, op))?;
                Ok(Revocation::revoked_unknown_count())
            }
            UserRevocation::DeviceSessions => {
                let sessions: Vec<Session> = self
                    .list_all(ListQuery::for_user(user.clone()))
                    .try_collect()
                    .await
                    .map_err(|e| self.fail(e, op))?;
                let mut count = 0;
                for session in sessions {
                    if let Revocation::Revoked { .. } = self
                        .revoke_session(&session.to_ref())
                        .await
                        .map_err(|e| self.fail(e, op))?
                    {
                        count += 1;
                    }
                }
                Ok(Revocation::revoked(count))
            }
        }
    }

    /// `users.removeOtherTokens`: every login token of the caller but the current one.
    async fn revoke_other_sessions(&self) -> Result<Revocation> {
        let op = Operation::RevokeOtherSessions;
        self.capabilities()
            .require(op)
            .map_err(|e| self.fail(e, op))?;
        let response = self
            .send(|| {
                self.http
                    .request(Method::POST, REMOVE_OTHER_TOKENS)
                    .idempotent(true)
            })
            .await
            .map_err(|e| self.fail(e, op))?;
        self.decode::<serde_json::Value>(&response)
            .map_err(|e| self.fail(e, op))?;
        Ok(Revocation::revoked_unknown_count())
    }

    /// `users.info?email=` (8.4+), falling back on older servers to
    /// `users.list?query=` (see `find_by_legacy_list`). The record must carry the
    /// email (any of its `emails[].address`). "User not found." is the server's word
    /// on absence only for a caller with `view-full-other-user-info`: to anybody else
    /// the server answers it for every other user, which proves nothing.
    async fn find_user(&self, email: &Email) -> Result<UserLookup> {
        let op = Operation::FindUser;
        let lookup = self.lookup(email).await.map_err(|e| self.fail(e, op))?;
        if let UserLookup::Found(user) = &lookup {
            self.known.remember(user.id.as_str());
        }
        Ok(lookup)
    }

    /// `users.list` pages (see the crate docs). Listed ids are remembered as known,
    /// so a revocation of one found here needs no `users.info` first.
    async fn list_users(&self, query: &ListQuery) -> Result<Page<unisession_core::Account>> {
        let page = self.users_page(query).await?;
        for account in &page.items {
            self.known.remember(account.user.id.as_str());
        }
        Ok(page)
    }

    /// The credential's user id.
    async fn current_user(&self) -> Result<UserId> {
        self.own_user().await
    }
}
