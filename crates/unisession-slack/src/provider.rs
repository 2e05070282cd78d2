//! [`SlackProvider`]: the trait mapping and Slack-only extras.

use std::fmt;

use async_trait::async_trait;
use secrecy::SecretString;
use serde::de::DeserializeOwned;
use unisession_core::{
    Capabilities, DeviceScope, Email, Error, ErrorKind, ListQuery, Operation, Page, Result,
    Revocation, Session, SessionProvider, SessionRef, UserId, UserLookup,
};
use unisession_http::{HttpClient, KnownUsers, Method, Response, decode_json_object};

use crate::config::{Parts, SlackBuilder, Tier};
use crate::errors::api_error;
use crate::wire;

/// Slack's `admin.users.session.*` behind [`SessionProvider`]. See the crate docs
/// for the mapping, the scopes and plan it needs, and what `Queued` means.
pub struct SlackProvider {
    name: String,
    http: HttpClient,
    token: SecretString,
    pub(crate) team_id: Option<String>,
    page_size: u32,
    pub(crate) bulk_chunk: usize,
    capabilities: Capabilities,
    known: KnownUsers,
    /// The organisation's workspaces, once `admin.teams.list` named them.
    pub(crate) workspaces: std::sync::Mutex<Option<Vec<String>>>,
}

impl fmt::Debug for SlackProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlackProvider")
            .field("name", &self.name)
            .field("base_url", &self.http.base_url().as_str())
            .field("token", &"[REDACTED]")
            .field("team_id", &self.team_id)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for SlackProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// Who the token belongs to, from `auth.test`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Identity {
    /// The token's user.
    pub user_id: Option<String>,
    /// The user's name.
    pub user: Option<String>,
    /// The workspace or organisation id.
    pub team_id: Option<String>,
    /// The organisation id on Enterprise.
    pub enterprise_id: Option<String>,
    /// The workspace URL.
    pub url: Option<String>,
}

pub(crate) const MIN_DURATION: u64 = 28_800;
pub(crate) const MAX_DURATION: u64 = 315_569_520;

/// Checks a Slack user id (`U…` or `W…`, upper-case letters and digits).
pub(crate) fn check_user(user: &UserId) -> Result<()> {
    let id = user.as_str();
    let ok = id.len() >= 3
        && (id.starts_with('U') || id.starts_with('W'))
        && id
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(Error::invalid_input(format!(
            "{id:?} is not a Slack user id (U… or W…)"
        )))
    }
}

fn scope_fields(scope: DeviceScope) -> Option<(&'static str, String)> {
    match scope {
        DeviceScope::Mobile => Some(("mobile_only", "true".to_owned())),
        DeviceScope::Web => Some(("web_only", "true".to_owned())),
        _ => None,
    }
}

impl SlackProvider {
    /// Slack's Web API base.
    pub const DEFAULT_BASE_URL: &'static str = "https://slack.com/api/";

    /// A builder for `https://slack.com/api/`.
    pub fn builder() -> SlackBuilder {
        SlackBuilder::default()
    }

    pub(crate) fn from_parts(parts: Parts, http: HttpClient) -> Self {
        let mut capabilities = Capabilities::none();
        capabilities.list_all_sessions = true;
        capabilities.list_user_sessions = true;
        capabilities.max_page_size = Some(1000);
        capabilities.revoke_session = true;
        capabilities.revoke_session_requires_user = true;
        capabilities.revoke_user_sessions = true;
        capabilities.revoke_user_sessions_by_device = true;
        capabilities.find_user_by_email = true;
        capabilities.bulk_revoke_users = Some(parts.bulk_chunk);
        capabilities.bulk_revocation_is_async = true;
        capabilities.list_users = true;
        capabilities.max_users_page = Some(parts.users_page_size);
        capabilities.current_user = true;
        capabilities.rate_limits = [
            (Operation::ListSessions, Tier::Two),
            (Operation::RevokeSession, Tier::Two),
            (Operation::RevokeUserSessions, Tier::Two),
            (Operation::RevokeUsersSessions, Tier::Two),
            (Operation::FindUser, Tier::Three),
            (Operation::ListUsers, Tier::Two),
            (Operation::CurrentUser, Tier::Four),
        ]
        .into_iter()
        .map(|(op, tier)| (op, tier.per_minute()))
        .collect();
        Self {
            name: parts.name,
            http,
            token: parts.token,
            team_id: parts.team_id,
            page_size: parts.page_size,
            bulk_chunk: parts.bulk_chunk,
            capabilities,
            known: KnownUsers::default(),
            workspaces: std::sync::Mutex::new(None),
        }
    }

    pub(crate) fn fail(&self, error: Error, operation: Option<Operation>) -> Error {
        let error = error.with_provider(self.name.clone());
        match operation {
            Some(op) => error.with_operation(op),
            None => error,
        }
    }

    /// Confirms that `user` exists before a revocation by id (`users.info`, Tier 4,
    /// `user_not_found` for ids nobody has), unless this adapter's own lookup
    /// answered it. Slack's `reset` answers `user_not_found` itself, but a success
    /// for an id nobody has would be reported as a revocation of nobody while the
    /// person (whose id was mistyped) keeps every session.
    pub(crate) async fn confirm_user(&self, user: &UserId) -> Result<()> {
        if self.known.contains(user.as_str()) {
            return Ok(());
        }
        const METHOD: &str = "users.info";
        let form = [("user", user.as_str().to_owned())];
        let (_, response) = self.call(METHOD, Tier::Four, &form).await?;
        match crate::decode::user_answer(METHOD, 200, response.body())? {
            UserLookup::Found(found) if found.id == *user => {
                self.known.remember(user.as_str());
                Ok(())
            }
            UserLookup::Found(found) => Err(Error::new(
                ErrorKind::IdentityMismatch,
                format!(
                    "users.info?user={user} answered with user {}: the server ignored the id, so nothing was done",
                    found.id
                ),
            )),
            UserLookup::NotFound { evidence } => Err(Error::new(
                ErrorKind::NotFound,
                format!("Slack has no user with id {user} ({evidence})"),
            )
            .with_code("user_not_found")),
            _ => Err(Error::new(ErrorKind::Decode, "unexpected lookup answer")),
        }
    }

    /// Calls a Web API method with a form body. Returns the envelope and the answer;
    /// `ok:false` is left to the caller.
    pub(crate) async fn call(
        &self,
        method: &'static str,
        tier: Tier,
        form: &[(&str, String)],
    ) -> Result<(wire::Envelope, Response)> {
        let response = self
            .http
            .request(Method::POST, method)
            .bearer(&self.token)
            .form(form.iter().map(|(k, v)| (*k, v.as_str())))
            .class(crate::config::class_of(method, tier))
            .idempotent(true)
            .send()
            .await?;
        let envelope = crate::decode::envelope(method, response.status().as_u16(), response.body())
            .map_err(|e| e.with_retries(response.retries()))?;
        if let Some(meta) = &envelope.response_metadata {
            if !meta.warnings.is_empty() {
                tracing::warn!(provider = %self.name, method, warnings = ?meta.warnings, "Slack sent warnings");
            }
        }
        if let Some(warning) = &envelope.warning {
            tracing::warn!(provider = %self.name, method, warning, "Slack sent a warning");
        }
        Ok((envelope, response))
    }

    /// Calls a method and decodes a successful answer; `ok:false` becomes the mapped error.
    pub(crate) async fn call_ok<T: DeserializeOwned>(
        &self,
        method: &'static str,
        tier: Tier,
        form: &[(&str, String)],
    ) -> Result<(wire::Envelope, T)> {
        let (envelope, response) = self.call(method, tier, form).await?;
        if !envelope.ok {
            return Err(crate::decode::envelope_error(&envelope));
        }
        let body = decode_json_object(response.body()).map_err(|why| {
            Error::new(
                ErrorKind::Decode,
                format!("could not decode the answer of {method}: {why}"),
            )
        })?;
        Ok((envelope, body))
    }

    /// One `resetBulk` call for a chunk, with every user's outcome. Users Slack names
    /// as failed get their error; the others are queued again in a smaller call, and,
    /// should Slack name nobody, each is reset alone so that no outcome is guessed.
    pub(crate) async fn reset_bulk(
        &self,
        chunk: &[UserId],
        scope: DeviceScope,
        depth: u8,
    ) -> Vec<(UserId, Result<Revocation>)> {
        let ids: Vec<&str> = chunk.iter().map(UserId::as_str).collect();
        let mut form = vec![("user_ids", serde_json::to_string(&ids).unwrap_or_default())];
        form.extend(scope_fields(scope));
        let op = Some(Operation::RevokeUsersSessions);
        let answer = self
            .call("admin.users.session.resetBulk", Tier::Two, &form)
            .await;
        let envelope = match answer {
            Ok((envelope, _)) if envelope.ok => {
                return chunk
                    .iter()
                    .map(|u| (u.clone(), Ok(Revocation::Queued)))
                    .collect();
            }
            Ok((envelope, _)) => envelope,
            Err(error) => {
                let error = self.fail(error, op);
                return chunk
                    .iter()
                    .map(|u| (u.clone(), Err(error.clone())))
                    .collect();
            }
        };
        if envelope.error.as_deref() != Some("failed_for_some_users") {
            let error = self.fail(crate::decode::envelope_error(&envelope), op);
            return chunk
                .iter()
                .map(|u| (u.clone(), Err(error.clone())))
                .collect();
        }
        let messages = envelope
            .response_metadata
            .map(|m| m.messages)
            .unwrap_or_default();
        let mut results = Vec::with_capacity(chunk.len());
        let mut unnamed = Vec::new();
        for user in chunk {
            let named = messages.iter().find(|m| {
                m.split(|c: char| !c.is_ascii_alphanumeric())
                    .any(|word| word == user.as_str())
            });
            match named {
                Some(message) => {
                    let code = [
                        "user_not_found",
                        "cannot_reset_bot",
                        "cannot_reset_primary_owner",
                        "session_reset_not_allowed",
                        "user_session_reset_failed",
                    ]
                    .into_iter()
                    .find(|code| message.contains(code))
                    .unwrap_or("failed_for_some_users");
                    let error = api_error(code, None, None);
                    results.push((user.clone(), Err(self.fail(error, op))));
                }
                None => unnamed.push(user.clone()),
            }
        }
        if unnamed.is_empty() {
            return results;
        }
        if unnamed.len() < chunk.len() && depth < 2 {
            results.extend(Box::pin(self.reset_bulk(&unnamed, scope, depth + 1)).await);
        } else {
            for user in unnamed {
                let outcome = self.revoke_user_sessions(&user, scope).await;
                results.push((user, outcome));
            }
        }
        results
    }
}

/// `config check`: `auth.test`, naming the token's user and organisation.
#[async_trait]
impl unisession_http::Adapter for SlackProvider {
    fn base_url(&self) -> &unisession_http::Url {
        self.http.base_url()
    }

    async fn check_credential(&self) -> Result<String> {
        let me = self.whoami().await?;
        Ok(format!(
            "token of {} in {}",
            me.user.unwrap_or_default(),
            me.team_id.unwrap_or_default()
        ))
    }
}

pub(crate) fn user_ids(chunk: &[UserId]) -> String {
    let ids: Vec<&str> = chunk.iter().map(UserId::as_str).collect();
    serde_json::to_string(&ids).unwrap_or_default()
}

#[async_trait]
impl SessionProvider for SlackProvider {
    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    /// `admin.users.session.list`: cursor pagination ending on an empty, null or absent
    /// `next_cursor`; `no_active_sessions` is an empty last page.
    async fn list_sessions(&self, query: &ListQuery) -> Result<Page<Session>> {
        let op = Some(Operation::ListSessions);
        self.capabilities
            .check_list(query)
            .map_err(|e| self.fail(e, op))?;
        let limit = query.limit.unwrap_or(self.page_size).clamp(1, 1000);
        let mut form = vec![("limit", limit.to_string())];
        if let Some(cursor) = &query.cursor {
            form.push(("cursor", cursor.as_str().to_owned()));
        }
        if let Some(user) = &query.user {
            check_user(user).map_err(|e| self.fail(e, op))?;
        }
        let server_filter = match (&query.user, &self.team_id) {
            (Some(user), Some(team)) => {
                form.push(("team_id", team.clone()));
                form.push(("user_id", user.as_str().to_owned()));
                true
            }
            _ => false,
        };
        let (_, response) = self
            .call("admin.users.session.list", Tier::Two, &form)
            .await
            .map_err(|e| self.fail(e, op))?;
        let mut page = crate::decode::session_page(&self.name, 200, response.body())
            .map_err(|e| self.fail(e, op))?;
        if !server_filter {
            if let Some(user) = &query.user {
                page.items.retain(|s| &s.user == user);
            }
        }
        Ok(page)
    }

    /// `admin.users.session.invalidate` with `user_id` and the integer `session_id`.
    /// `session_not_found` (unknown or already ended) is [`Revocation::AlreadyGone`].
    async fn revoke_session(&self, session: &SessionRef) -> Result<Revocation> {
        let op = Some(Operation::RevokeSession);
        self.capabilities
            .check_revoke_session(session)
            .map_err(|e| self.fail(e, op))?;
        let Some(user) = session.user.as_ref() else {
            let why =
                "Slack invalidates a session only with its user: give the SessionRef its user";
            return Err(self.fail(Error::invalid_input(why), op));
        };
        check_user(user).map_err(|e| self.fail(e, op))?;
        let id: u64 = session.id.as_str().parse().map_err(|_| {
            self.fail(
                Error::invalid_input(format!(
                    "{:?} is not a Slack session id (an integer)",
                    session.id.as_str()
                )),
                op,
            )
        })?;
        let form = [
            ("user_id", user.as_str().to_owned()),
            ("session_id", id.to_string()),
        ];
        match self
            .call_ok::<serde_json::Value>("admin.users.session.invalidate", Tier::Two, &form)
            .await
        {
            Ok(_) => Ok(Revocation::revoked(1)),
            // `session_expired` ("Session is already expired.") was documented for this
            // method from 2020 until 2024 (slack-ruby/slack-api-ref d59900a2 removed it).
            Err(e) if matches!(e.code(), Some("session_not_found" | "session_expired")) => {
                Ok(Revocation::AlreadyGone)
            }
            Err(e) => Err(self.fail(e, op)),
        }
    }

    /// `admin.users.session.reset`, with `mobile_only` / `web_only` for a device scope.
    /// Slack does not say how many sessions ended: the count is `None`. The user is
    /// confirmed first (see `confirm_user`); an id nobody has is [`ErrorKind::NotFound`].
    async fn revoke_user_sessions(&self, user: &UserId, scope: DeviceScope) -> Result<Revocation> {
        let op = Some(Operation::RevokeUserSessions);
        self.capabilities
            .check_revoke_user(Operation::RevokeUserSessions, scope)
            .map_err(|e| self.fail(e, op))?;
        check_user(user).map_err(|e| self.fail(e, op))?;
        self.confirm_user(user)
            .await
            .map_err(|e| self.fail(e, op))?;
        let mut form = vec![("user_id", user.as_str().to_owned())];
        form.extend(scope_fields(scope));
        self.call_ok::<serde_json::Value>("admin.users.session.reset", Tier::Two, &form)
            .await
            .map_err(|e| self.fail(e, op))?;
        Ok(Revocation::revoked_unknown_count())
    }

    /// `users.lookupByEmail`: `users_not_found` is [`UserLookup::NotFound`] (Slack
    /// also answers it for deactivated users); the user found must carry the email
    /// in `profile.email`. `enterprise_is_restricted` is `PermissionDenied`.
    async fn find_user(&self, email: &Email) -> Result<UserLookup> {
        let op = Some(Operation::FindUser);
        let form = [("email", email.as_str().to_owned())];
        let (_, response) = self
            .call("users.lookupByEmail", Tier::Three, &form)
            .await
            .map_err(|e| self.fail(e, op))?;
        let lookup = crate::decode::lookup(200, response.body()).map_err(|e| self.fail(e, op))?;
        if let UserLookup::Found(user) = &lookup {
            email
                .confirm(user.email.as_deref(), "users.lookupByEmail", &user.id)
                .map_err(|e| self.fail(e, op))?;
            self.known.remember(user.id.as_str());
        }
        Ok(lookup)
    }

    /// `users.list`, one workspace after another (see the crate docs).
    /// Listed ids are remembered as known: a revocation of one needs no `users.info`.
    async fn list_users(&self, query: &ListQuery) -> Result<Page<unisession_core::Account>> {
        let page = self.users_page(query).await?;
        for account in &page.items {
            self.known.remember(account.user.id.as_str());
        }
        Ok(page)
    }

    /// `auth.test`'s `user_id`.
    async fn current_user(&self) -> Result<UserId> {
        self.own_user().await
    }

    /// `admin.users.session.resetBulk` in chunks of up to 1000 users: each user is
    /// [`Revocation::Queued`] (Slack completes the reset asynchronously). A
    /// `failed_for_some_users` answer is resolved per user, never reported as success.
    async fn revoke_users_sessions(
        &self,
        users: &[UserId],
        scope: DeviceScope,
    ) -> Result<Vec<(UserId, Result<Revocation>)>> {
        let op = Some(Operation::RevokeUsersSessions);
        self.capabilities
            .check_revoke_user(Operation::RevokeUsersSessions, scope)
            .map_err(|e| self.fail(e, op))?;
        let mut outcomes: Vec<Option<Result<Revocation>>> = Vec::with_capacity(users.len());
        for user in users {
            let checked = match check_user(user) {
                Err(e) => Some(Err(self.fail(e, op))),
                // Ids no lookup of ours answered are confirmed one by one first.
                Ok(()) => self
                    .confirm_user(user)
                    .await
                    .err()
                    .map(|e| Err(self.fail(e, op))),
            };
            outcomes.push(checked);
        }
        let valid: Vec<(usize, UserId)> = users
            .iter()
            .enumerate()
            .filter(|(i, _)| outcomes[*i].is_none())
            .map(|(i, u)| (i, u.clone()))
            .collect();
        for chunk in valid.chunks(self.bulk_chunk) {
            let ids: Vec<UserId> = chunk.iter().map(|(_, u)| u.clone()).collect();
            let results = self.reset_bulk(&ids, scope, 0).await;
            for (user, result) in results {
                if let Some((index, _)) = chunk
                    .iter()
                    .find(|(i, u)| *u == user && outcomes[*i].is_none())
                {
                    outcomes[*index] = Some(result);
                }
            }
        }
        Ok(users
            .iter()
            .zip(outcomes)
            .map(|(user, outcome)| {
                let outcome = outcome.unwrap_or_else(|| {
                    Err(self.fail(
                        Error::new(ErrorKind::Provider, "no outcome was recorded for this user"),
                        op,
                    ))
                });
                (user.clone(), outcome)
            })
            .collect())
    }
}
