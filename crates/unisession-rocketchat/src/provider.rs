//! [`RocketChatProvider`]: the trait mapping, the 2FA retry and the license narrowing.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use async_trait::async_trait;
use futures::TryStreamExt;
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use unisession_core::{
    Capabilities, DeviceScope, Email, Error, ErrorKind, ListQuery, Operation, Page, Result,
    Revocation, Session, SessionId, SessionProvider, SessionProviderExt, SessionRef, UserId,
    UserLookup, UserRef,
};
use unisession_http::{
    HttpClient, KnownUsers, LoginSession, Method, PaceClass, RequestBuilder, Response,
    decode_json_object,
};

use crate::config::{Credential, RocketChatBuilder, Scope, UserRevocation};
use crate::errors::{error_for, error_type};
use crate::twofactor::{SecondFactors, TwoFactorChallenge, TwoFactorMethod};
use crate::wire;

/// The pacing class, when pacing is configured.
pub(crate) const CLASS: PaceClass = PaceClass::new("rocketchat");
const LIST: &str = "api/v1/sessions/list";
const LIST_ALL: &str = "api/v1/sessions/list.all";
const INFO: &str = "api/v1/sessions/info";
const INFO_ADMIN: &str = "api/v1/sessions/info.admin";
const LOGOUT: &str = "api/v1/sessions/logout";
const LOGOUT_ME: &str = "api/v1/sessions/logout.me";
const USERS_LOGOUT: &str = "api/v1/users.logout";
const REMOVE_OTHER_TOKENS: &str = "api/v1/users.removeOtherTokens";
const USERS_INFO: &str = "api/v1/users.info";
const USERS_LIST: &str = "api/v1/users.list";
const ME: &str = "api/v1/me";
const PERMISSIONS: &str = "api/v1/permissions.listAll";
const LOGIN: &str = "api/v1/login";

/// The permission without which Rocket.Chat hides other users' emails, and answers
/// "User not found." to `users.info?email=` for everybody else
/// (`apps/meteor/app/lib/server/functions/getFullUserData.ts`).
const VIEW_FULL_INFO: &str = "view-full-other-user-info";

/// Upper bound of `count` (`API_Upper_Count_Limit`).
const MAX_COUNT: u32 = 100;

/// Meteor ids (users, sessions) are letters and digits; anything else is refused
/// before sending.
pub(crate) fn is_meteor_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// How users are looked up by email: learned from the server's first answer.
const LOOKUP_UNKNOWN: u8 = 0;
const LOOKUP_INFO: u8 = 1;
const LOOKUP_LEGACY_LIST: u8 = 2;

/// Whether "User not found." to `users.info?email=` is the server's word on absence:
/// learned once, from the caller's roles and who holds `view-full-other-user-info`.
const VISIBILITY_UNKNOWN: u8 = 0;
const VISIBILITY_FULL: u8 = 1;
const VISIBILITY_LIMITED: u8 = 2;

/// Rocket.Chat's device management and token APIs behind [`SessionProvider`].
/// See the crate docs for the mapping, permissions, license needs and 2FA.
pub struct RocketChatProvider {
    name: String,
    http: HttpClient,
    credential: Credential,
    session: LoginSession<(String, SecretString)>,
    scope: Scope,
    factors: SecondFactors,
    /// Counts second factors completed, so tasks that waited know to retry plainly.
    two_factor: tokio::sync::Mutex<u64>,
    user_revocation: UserRevocation,
    precheck: bool,
    capabilities: Capabilities,
    community: Capabilities,
    /// The capabilities once a listing showed the server marks the current session.
    with_current: Capabilities,
    license_missing: AtomicBool,
    current_seen: AtomicBool,
    lookup: AtomicU8,
    visibility: AtomicU8,
    known: KnownUsers,
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
fn permission_refusal(response: &Response) -> bool {
    matches!(
        failure_of(response).error.as_deref(),
        Some("unauthorized" | "forbidden")
    )
}

/// A 404 that says `Session not found`: the one answer that means the session is
/// gone. Older servers also answer 404 `unauthorized` without a license, and a
/// missing route answers 404 too; those are errors, never "already gone".
fn session_not_found(response: &Response) -> bool {
    response.status() == 404 && failure_of(response).error.as_deref() == Some("Session not found")
}

fn failure_of(response: &Response) -> wire::Failure {
    decode_json_object(response.body()).unwrap_or_default()
}

fn wants_second_factor(response: &Response) -> Option<wire::Failure> {
    if response.status() != 400 && response.status() != 401 {
        return None;
    }
    let failure = failure_of(response);
    (error_type(&failure).as_deref() == Some("totp-required")
        || failure.error.as_deref() == Some("totp-required"))
    .then_some(failure)
}

fn challenge_of(failure: &wire::Failure) -> TwoFactorChallenge {
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
        // Without the Enterprise license only the token APIs remain.
        let mut community = Capabilities::none();
        community.revoke_user_sessions = builder.user_revocation == UserRevocation::AllTokens;
        community.revoke_other_sessions = true;
        community.find_user_by_email = true;
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

    fn fail(&self, error: Error, operation: Operation) -> Error {
        if error.kind() == ErrorKind::PlanRequired {
            self.narrow_to_community();
        }
        error
            .with_provider(self.name.clone())
            .with_operation(operation)
    }

    /// `POST login`, answering the second factor the server asks for (no password
    /// fallback at login).
    async fn login(&self, user: &str, password: &SecretString) -> Result<(String, SecretString)> {
        let mut code: Option<(TwoFactorMethod, SecretString)> = None;
        for _ in 0..2 {
            let mut body = serde_json::json!({"user": user, "password": password.expose_secret()});
            if let Some((_, code)) = &code {
                body["code"] = serde_json::Value::String(code.expose_secret().to_owned());
            }
            // Retried like a read: a repeated login at worst leaves the caller one more
            // token nobody received, where giving up would fail the whole run.
            let response = self
                .http
                .request(Method::POST, LOGIN)
                .json(&body)
                .idempotent(true)
                .send()
                .await?;
            if response.status() == 200 {
                let login: wire::Login = decode_json_object(response.body()).map_err(|why| {
                    Error::new(
                        ErrorKind::Decode,
                        format!("could not decode the answer of {LOGIN}: {why}"),
                    )
                    .with_temporary(!why.starts_with("unexpected JSON shape"))
                })?;
                return Ok((
                    login.data.user_id,
                    SecretString::from(login.data.auth_token),
                ));
            }
            let failure = failure_of(&response);
            match failure.error.as_deref() {
                Some("totp-required") if code.is_none() => {
                    let challenge = challenge_of(&failure);
                    let answer = self.factors.code_for(&challenge).await?;
                    code = Some((challenge.method, answer));
                }
                Some("totp-required" | "totp-invalid" | "totp-max-attempts") => {
                    return Err(Error::new(
                        ErrorKind::TwoFactorInvalid,
                        "Rocket.Chat refused the second factor at login",
                    )
                    .with_code(failure.error.clone().unwrap_or_default())
                    .with_status(response.status().as_u16()));
                }
                // Wrong user or password: 401 `Unauthorized` (older servers: 403).
                _ if matches!(response.status().as_u16(), 401 | 403) => {
                    return Err(Error::new(
                        ErrorKind::Unauthenticated,
                        format!("Rocket.Chat refused the login of {user}"),
                    )
                    .with_status(response.status().as_u16()));
                }
                // Anything else (a 5xx that outlasted the retries, a proxy's page) is
                // no verdict on the credential.
                _ => {
                    return Err(
                        error_for(response.status().as_u16(), response.body(), false)
                            .with_retries(response.retries()),
                    );
                }
            }
        }
        Err(Error::new(
            ErrorKind::TwoFactorInvalid,
            "Rocket.Chat refused the second factor at login",
        ))
    }

    async fn credentials(&self) -> Result<(String, SecretString)> {
        self.session
            .get_or_login(|| match &self.credential {
                Credential::Login { user, password } => Some(self.login(user, password)),
                Credential::Token { .. } => None,
            })
            .await?
            .ok_or_else(|| Error::new(ErrorKind::Unauthenticated, "no credential"))
    }

    async fn authorized(&self, request: RequestBuilder) -> Result<RequestBuilder> {
        let (user_id, token) = self.credentials().await?;
        let request = request
            .header("x-user-id", &user_id)
            .secret_header("x-auth-token", &token);
        Ok(match self.http.pacer().rate(CLASS) {
            Some(_) => request.class(CLASS),
            None => request,
        })
    }

    /// Sends a request built by `build`: logs in again once after a 401 (login mode),
    /// and answers a `totp-required` challenge once, with a code for exactly the
    /// method the server named. `totp-invalid` and `totp-max-attempts` are final.
    async fn send(&self, build: impl Fn() -> RequestBuilder) -> Result<Response> {
        let seen = *self.two_factor.lock().await;
        let login = matches!(self.credential, Credential::Login { .. });
        let response = self
            .session
            .with_relogin(
                login,
                |response| !permission_refusal(response),
                || async { self.authorized(build()).await?.send().await },
            )
            .await?;
        match wants_second_factor(&response) {
            Some(failure) => self.answer_second_factor(&build, failure, seen).await,
            None => Ok(response),
        }
    }

    async fn answer_second_factor(
        &self,
        build: &impl Fn() -> RequestBuilder,
        mut failure: wire::Failure,
        seen: u64,
    ) -> Result<Response> {
        let mut completed = self.two_factor.lock().await;
        if *completed != seen {
            // Another task completed a second factor meanwhile; the server may remember it.
            let retry = self.authorized(build()).await?.send().await?;
            match wants_second_factor(&retry) {
                None => return Ok(retry),
                Some(again) => failure = again,
            }
        }
        let challenge = challenge_of(&failure);
        let code = self.factors.code_for(&challenge).await?;
        let response = self
            .authorized(build())
            .await?
            .secret_header("x-2fa-code", &code)
            .header("x-2fa-method", challenge.method.as_str())
            .send()
            .await?;
        let refused = failure_of(&response);
        match error_type(&refused).as_deref() {
            Some(kind @ ("totp-invalid" | "totp-max-attempts")) if response.status() == 400 => {
                Err(Error::new(
                    ErrorKind::TwoFactorInvalid,
                    format!("Rocket.Chat refused the {} code", challenge.method),
                )
                .with_code(kind)
                .with_status(400))
            }
            Some("totp-required") => Err(Error::new(
                ErrorKind::TwoFactorRequired,
                format!(
                    "Rocket.Chat asked again for a second factor after a {} code",
                    challenge.method
                ),
            )
            .with_code("totp-required")),
            _ => {
                *completed += 1;
                Ok(response)
            }
        }
    }

    /// Decodes a successful answer, or maps the failure.
    fn decode<T: DeserializeOwned>(&self, response: &Response) -> Result<T> {
        crate::decode::answer(
            response.route(),
            response.status().as_u16(),
            response.body(),
        )
        .map_err(|e| e.with_retries(response.retries()))
    }

    fn check_session_id(&self, id: &SessionId, op: Operation) -> Result<()> {
        if is_meteor_id(id.as_str()) {
            Ok(())
        } else {
            Err(self.fail(
                Error::invalid_input(format!("{:?} is not a Rocket.Chat session id", id.as_str())),
                op,
            ))
        }
    }

    fn check_user_id(&self, id: &UserId, op: Operation) -> Result<()> {
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
    async fn session_is_live(&self, id: &SessionId) -> Result<bool> {
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
        Ok(user_ref(info.user, None))
    }

    /// Whether the caller sees every user's emails (`view-full-other-user-info`
    /// through one of its roles): `GET me` and `GET permissions.listAll`, once.
    async fn sees_all_emails(&self) -> Result<bool> {
        match self.visibility.load(Ordering::Relaxed) {
            VISIBILITY_FULL => return Ok(true),
            VISIBILITY_LIMITED => return Ok(false),
            _ => {}
        }
        let me: wire::Me = {
            let response = self.send(|| self.http.request(Method::GET, ME)).await?;
            self.decode(&response)?
        };
        let permissions: wire::Permissions = {
            let response = self
                .send(|| self.http.request(Method::GET, PERMISSIONS))
                .await?;
            self.decode(&response)?
        };
        let full = permissions
            .update
            .iter()
            .filter(|p| p.id == VIEW_FULL_INFO)
            .any(|p| p.roles.iter().any(|r| me.roles.contains(r)));
        let value = if full {
            VISIBILITY_FULL
        } else {
            VISIBILITY_LIMITED
        };
        self.visibility.store(value, Ordering::Relaxed);
        Ok(full)
    }

    /// Confirms that `user` exists before a revocation by id: `users.logout` answers
    /// 200 "User X has been logged out!" for any id (`Users.unsetLoginTokens` is an
    /// `updateOne`, always truthy), and listing an unknown user's sessions shows
    /// none. `users.info?userId=` answers "User not found." for ids nobody has. Ids
    /// this adapter's own lookups answered are known and not asked again.
    async fn confirm_user(&self, user: &UserId) -> Result<()> {
        if self.known.contains(user.as_str()) {
            return Ok(());
        }
        let response = self
            .send(|| {
                self.http
                    .request(Method::GET, USERS_INFO)
                    .query("userId", user.as_str())
            })
            .await?;
        if response.status() == 400
            && failure_of(&response).error.as_deref() == Some("User not found.")
        {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!("Rocket.Chat has no user with id {user} (users.info answered \"User not found.\")"),
            )
            .with_status(400));
        }
        let info: wire::UserInfo = self.decode(&response)?;
        if info.user.id != user.as_str() {
            return Err(Error::new(
                ErrorKind::IdentityMismatch,
                format!(
                    "users.info?userId={user} answered with user {}: the server ignored the filter, so nothing was done",
                    info.user.id
                ),
            ));
        }
        self.known.remember(user.as_str());
        Ok(())
    }

    /// Servers before 8.4: `users.list?query={"emails.address": …}`. From 7.0 the
    /// server ignores `query` unless `ALLOW_UNSAFE_QUERY_AND_FIELDS_API_PARAMS` is set,
    /// and before 7.0 it drops the key for callers without `view-full-other-user-info`
    /// (`apps/meteor/app/api/server/helpers/parseJsonQuery.ts`): either way it answers
    /// the first page of everybody. So only two answers prove anything: a record
    /// carrying the email (the person), or no user at all (an ignored filter would
    /// have listed at least the caller). Anything else cannot prove absence.
    async fn find_by_legacy_list(&self, email: &Email) -> Result<UserLookup> {
        let query = serde_json::json!({"emails.address": email.as_str()}).to_string();
        let response = self
            .send(|| {
                self.http
                    .request(Method::GET, USERS_LIST)
                    .query("query", query.clone())
            })
            .await?;
        if response.status() == 400 {
            let error = error_for(400, response.body(), false);
            if error.kind() == ErrorKind::InvalidInput {
                return Err(Error::unsupported(
                    Operation::FindUser,
                    "this Rocket.Chat server cannot look users up by email: users.info?email= needs 8.4, and users.list refuses query",
                ));
            }
            return Err(error);
        }
        let list: wire::UserList = self.decode(&response)?;
        if let Some(user) = list
            .users
            .into_iter()
            .find(|u| u.emails.iter().any(|e| email.matches(&e.address)))
        {
            return Ok(UserLookup::Found(user_ref(user, Some(email))));
        }
        if list.total == Some(0) {
            return Ok(UserLookup::not_found(
                "users.list?query={\"emails.address\":…} answered no user at all (a server ignoring the filter lists at least the caller)",
            ));
        }
        Err(Error::unsupported(
            Operation::FindUser,
            "this Rocket.Chat server ignored the email filter of users.list (from 7.0 `query` is ignored unless ALLOW_UNSAFE_QUERY_AND_FIELDS_API_PARAMS is set; before 7.0 it is dropped without view-full-other-user-info), so its answer cannot prove the person absent: upgrade to 8.4 (users.info?email=), set the variable, or give the person's Rocket.Chat user id",
        ))
    }
}

/// The user as a [`UserRef`]; its email is the address that matched `email`, or the
/// first one when no lookup is behind it.
fn user_ref(user: wire::User, email: Option<&Email>) -> UserRef {
    let address = match email {
        Some(email) => user.emails.iter().find(|e| email.matches(&e.address)),
        None => user.emails.first(),
    }
    .map(|e| e.address.clone());
    let mut found = UserRef::new(UserId::new(user.id));
    found.email = address;
    found.name = user.name.or(user.username);
    found.active = user.active;
    found
}

/// `config check`: `users.info` of the caller, naming it.
#[async_trait]
impl unisession_http::Adapter for RocketChatProvider {
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
}

impl RocketChatProvider {
    async fn lookup(&self, email: &Email) -> Result<UserLookup> {
        if self.lookup.load(Ordering::Relaxed) == LOOKUP_LEGACY_LIST {
            return self.find_by_legacy_list(email).await;
        }
        let response = self
            .send(|| {
                self.http
                    .request(Method::GET, USERS_INFO)
                    .query("email", email.as_str())
            })
            .await?;
        if response.status() == 400 {
            let error = error_for(400, response.body(), false);
            match (error.kind(), error.code()) {
                (ErrorKind::NotFound, _) => {
                    self.lookup.store(LOOKUP_INFO, Ordering::Relaxed);
                    if self.sees_all_emails().await? {
                        return Ok(UserLookup::not_found(
                            "users.info?email= answered \"User not found.\" to a caller holding view-full-other-user-info",
                        ));
                    }
                    return Err(Error::new(
                        ErrorKind::PermissionDenied,
                        "Rocket.Chat answers \"User not found.\" to users.info?email= for every other user when the caller lacks view-full-other-user-info, so this proves nothing: grant the permission or give the person's Rocket.Chat user id",
                    )
                    .with_code(VIEW_FULL_INFO));
                }
                (_, Some("invalid-params")) => {
                    self.lookup.store(LOOKUP_LEGACY_LIST, Ordering::Relaxed);
                    return self.find_by_legacy_list(email).await;
                }
                _ => return Err(error),
            }
        }
        let info: wire::UserInfo = self.decode(&response)?;
        self.lookup.store(LOOKUP_INFO, Ordering::Relaxed);
        let addresses: Vec<&str> = info
            .user
            .emails
            .iter()
            .map(|e| e.address.as_str())
            .collect();
        email.confirm(
            addresses,
            "users.info?email=",
            &UserId::new(info.user.id.clone()),
        )?;
        Ok(UserLookup::Found(user_ref(info.user, Some(email))))
    }
}
