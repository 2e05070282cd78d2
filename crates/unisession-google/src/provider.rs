//! [`GoogleProvider`]: the trait mapping.

use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use unisession_core::{
    Capabilities, DeviceScope, Email, Error, ErrorKind, ListQuery, Operation, Page, Result,
    Revocation, Session, SessionProvider, SessionRef, UserId, UserLookup, UserRef, Verification,
};
use unisession_http::{HttpClient, KnownUsers, Method, RequestBuilder, Response};

use crate::config::Parts;
use crate::errors::api_error;
use crate::token::ServiceAccount;
use crate::wire;

const USER: &str = "admin/directory/v1/users/{userKey}";

/// Google Workspace's sign-out behind [`SessionProvider`], through the Admin SDK
/// Directory API. See the crate docs for the mapping, what it does not reach and why
/// nothing can be verified.
pub struct GoogleProvider {
    name: String,
    api: HttpClient,
    tokens: HttpClient,
    account: ServiceAccount,
    token_audience: String,
    capabilities: Capabilities,
    known: KnownUsers,
    revoke_oauth_tokens: bool,
    revoke_app_passwords: bool,
}

impl fmt::Debug for GoogleProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GoogleProvider")
            .field("name", &self.name)
            .field("base_url", &self.api.base_url().as_str())
            .field("account", &self.account)
            .field("revoke_oauth_tokens", &self.revoke_oauth_tokens)
            .field("revoke_app_passwords", &self.revoke_app_passwords)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for GoogleProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl GoogleProvider {
    pub(crate) fn from_parts(parts: Parts, api: HttpClient, tokens: HttpClient) -> Self {
        let mut capabilities = Capabilities::none();
        capabilities.revoke_user_sessions = true;
        capabilities.find_user_by_email = true;
        capabilities.identity_provider = true;
        capabilities.confirms_revocation = true;
        let mut covers = vec!["users.signOut (web and device sessions, sign-in cookies)"];
        if parts.revoke_oauth_tokens {
            covers.push("every OAuth token granted to an application (tokens.delete)");
        }
        if parts.revoke_app_passwords {
            covers.push("every app-specific password (asps.delete)");
        }
        capabilities.revocation_covers = Some(covers.join(", then "));
        Self {
            name: parts.name,
            api,
            tokens,
            account: parts.account,
            token_audience: parts.token_audience,
            capabilities,
            known: KnownUsers::default(),
            revoke_oauth_tokens: parts.revoke_oauth_tokens,
            revoke_app_passwords: parts.revoke_app_passwords,
        }
    }

    fn fail(&self, error: Error, operation: Operation) -> Error {
        error
            .with_provider(self.name.clone())
            .with_operation(operation)
    }

    async fn send(&self, build: impl Fn(&HttpClient) -> RequestBuilder) -> Result<Response> {
        let attempt = |token: SecretString| {
            build(&self.api)
                .header("accept", "application/json")
                .bearer(&token)
                .send()
        };
        let token = self
            .account
            .access_token(&self.tokens, &self.token_audience)
            .await?;
        let response = attempt(token).await?;
        if response.status() != 401 {
            return Ok(response);
        }
        self.account.forget().await;
        let token = self
            .account
            .access_token(&self.tokens, &self.token_audience)
            .await?;
        attempt(token).await
    }

    /// `users.get`: `None` on 404 `notFound`.
    async fn get_user(&self, key: &str, op: Operation) -> Result<Option<wire::User>> {
        let response = self
            .send(|http| http.request(Method::GET, USER).param(key))
            .await
            .map_err(|e| self.fail(e, op))?;
        let status = response.status().as_u16();
        if status == 200 {
            return response.json().map(Some).map_err(|e| self.fail(e, op));
        }
        let error = api_error("users.get", status, response.body());
        if error.code() == Some("notFound") {
            return Ok(None);
        }
        Err(self.fail(error, op))
    }

    /// A 2xx, or the mapped error.
    fn expect_success(&self, what: &str, response: &Response, op: Operation) -> Result<()> {
        if response.status().is_success() {
            Ok(())
        } else {
            Err(self.fail(
                api_error(what, response.status().as_u16(), response.body()),
                op,
            ))
        }
    }

    /// Revokes every OAuth token, then every app-specific password, as configured;
    /// how many of each.
    async fn revoke_grants(&self, user: &UserId, op: Operation) -> Result<(usize, usize)> {
        let mut counts = (0, 0);
        if self.revoke_oauth_tokens {
            let response = self
                .send(|http| {
                    http.request(Method::GET, "admin/directory/v1/users/{userKey}/tokens")
                        .param(user.as_str())
                })
                .await?;
            self.expect_success("tokens.list", &response, op)?;
            let tokens: wire::Tokens = response.json()?;
            for token in tokens.items {
                let response = self
                    .send(|http| {
                        http.request(
                            Method::DELETE,
                            "admin/directory/v1/users/{userKey}/tokens/{clientId}",
                        )
                        .param(user.as_str())
                        .param(token.client_id.as_str())
                    })
                    .await?;
                // Gone meanwhile is as good as deleted.
                if response.status() != 404 {
                    self.expect_success("tokens.delete", &response, op)?;
                }
                counts.0 += 1;
            }
        }
        if self.revoke_app_passwords {
            let response = self
                .send(|http| {
                    http.request(Method::GET, "admin/directory/v1/users/{userKey}/asps")
                        .param(user.as_str())
                })
                .await?;
            self.expect_success("asps.list", &response, op)?;
            let asps: wire::Asps = response.json()?;
            for asp in asps.items {
                let code = asp.code_id.to_string();
                let response = self
                    .send(|http| {
                        http.request(
                            Method::DELETE,
                            "admin/directory/v1/users/{userKey}/asps/{codeId}",
                        )
                        .param(user.as_str())
                        .param(code.as_str())
                    })
                    .await?;
                if response.status() != 404 {
                    self.expect_success("asps.delete", &response, op)?;
                }
                counts.1 += 1;
            }
        }
        Ok(counts)
    }
}

/// `config check`: the token (delegation and scopes), then the administrator's user.
#[async_trait]
impl unisession_http::Adapter for GoogleProvider {
    fn base_url(&self) -> &unisession_http::Url {
        self.api.base_url()
    }

    async fn check_credential(&self) -> Result<String> {
        let op = Operation::FindUser;
        let admin = self.account.admin.clone();
        self.get_user(&admin, op).await?.ok_or_else(|| {
            Error::new(
                ErrorKind::Unauthenticated,
                format!("the administrator {admin} is not in the directory"),
            )
        })?;
        Ok(format!(
            "service account {} acting as {admin}",
            self.account.email
        ))
    }
}

#[async_trait]
impl SessionProvider for GoogleProvider {
    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    /// The Directory API has no session resource.
    async fn list_sessions(&self, _query: &ListQuery) -> Result<Page<Session>> {
        let op = Operation::ListSessions;
        Err(self.fail(
            Error::unsupported(op, "the Directory API cannot list web or device sessions"),
            op,
        ))
    }

    /// Nor a per-session sign-out.
    async fn revoke_session(&self, _session: &SessionRef) -> Result<Revocation> {
        let op = Operation::RevokeSession;
        Err(self.fail(
            Error::unsupported(op, "Google signs a user out of every session or none"),
            op,
        ))
    }

    /// `users.get` (once per id its own lookup did not answer), `users.signOut`, then
    /// (as configured) every OAuth token and app-specific password. `Revoked` without
    /// a count; a failure after the sign-out says what was done.
    async fn revoke_user_sessions(&self, user: &UserId, scope: DeviceScope) -> Result<Revocation> {
        let op = Operation::RevokeUserSessions;
        if scope != DeviceScope::All {
            return Err(self.fail(
                Error::unsupported(op, "Google signs a user out of all devices, not some"),
                op,
            ));
        }
        let id = user.as_str();
        if id.is_empty() || id.len() > 32 || !id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(self.fail(
                Error::invalid_input(format!(
                    "{id:?} is not a Google user id (digits); an email is not accepted here"
                )),
                op,
            ));
        }
        if !self.known.contains(id) {
            match self.get_user(id, op).await? {
                Some(found) if found.id == id => self.known.remember(id),
                Some(found) => {
                    return Err(self.fail(
                        Error::new(
                            ErrorKind::IdentityMismatch,
                            format!("users/{id} answered user {}: nothing was done", found.id),
                        ),
                        op,
                    ));
                }
                None => {
                    return Err(self.fail(
                        Error::new(
                            ErrorKind::NotFound,
                            format!(
                                "Google has no user with id {id} (users.get answered 404 notFound)"
                            ),
                        )
                        .with_code("notFound"),
                        op,
                    ));
                }
            }
        }
        let response = self
            .send(|http| {
                http.request(Method::POST, "admin/directory/v1/users/{userKey}/signOut")
                    .param(id)
            })
            .await
            .map_err(|e| self.fail(e, op))?;
        self.expect_success("users.signOut", &response, op)?;
        self.revoke_grants(user, op).await.map_err(|e| {
            // Said what was done, keeping everything the caller decides on (kind,
            // whether to try again, the server's wait).
            let mut wrapped = Error::new(
                e.kind(),
                format!(
                    "signed out, but the OAuth tokens and app passwords could not all be revoked (run it again): {}",
                    e.message()
                ),
            )
            .with_retries(e.retries());
            if let Some(status) = e.status() {
                wrapped = wrapped.with_status(status);
            }
            if let Some(code) = e.code() {
                wrapped = wrapped.with_code(code.to_owned());
            }
            if let Some(wait) = e.retry_after() {
                wrapped = wrapped.with_retry_after(wait);
            }
            self.fail(wrapped.with_temporary(e.is_temporary()), op)
        })?;
        Ok(Revocation::revoked_unknown_count())
    }

    /// `users.get` with the email as key (primary or alias; unlike the search, it
    /// does not lag): the answer must carry the address.
    async fn find_user(&self, email: &Email) -> Result<UserLookup> {
        let op = Operation::FindUser;
        if email.as_str().contains('/') {
            return Err(self.fail(
                Error::invalid_input(format!(
                    "{email} holds a slash, which users.get cannot take as a key"
                )),
                op,
            ));
        }
        match self.get_user(email.as_str(), op).await? {
            None => Ok(UserLookup::NotFound {
                evidence: format!(
                    "users.get of {email} (primary email or alias) answered 404 notFound"
                ),
            }),
            Some(user) => {
                let matched = user
                    .addresses()
                    .into_iter()
                    .find(|a| email.matches(a))
                    .map(str::to_owned);
                let Some(address) = matched else {
                    return Err(self.fail(
                        Error::new(
                            ErrorKind::IdentityMismatch,
                            format!(
                                "users.get of {email} answered user {}, who does not carry that address: nothing was done",
                                user.id
                            ),
                        ),
                        op,
                    ));
                };
                self.known.remember(&user.id);
                let mut found = UserRef::new(user.id.clone()).with_email(address);
                if let Some(name) = user.name.and_then(|n| n.full_name) {
                    found = found.with_name(name);
                }
                if let Some(suspended) = user.suspended {
                    found = found.with_active(!suspended);
                }
                Ok(UserLookup::Found(found))
            }
        }
    }

    /// Google keeps no readable record of a sign-out: `Unverifiable` with that
    /// reason, unless `lastLoginTime` shows a sign-in since the request (`StillActive`).
    async fn confirm_revocation(
        &self,
        user: &UserId,
        requested_at: DateTime<Utc>,
    ) -> Result<Option<Verification>> {
        let op = Operation::RevokeUserSessions;
        let Some(found) = self.get_user(user.as_str(), op).await? else {
            return Ok(None);
        };
        let last = found
            .last_login_time
            .as_deref()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc));
        if last.is_some_and(|t| t > requested_at) {
            return Ok(Some(Verification::StillActive { remaining: 1 }));
        }
        Ok(Some(Verification::unverifiable(format!(
            "Google keeps no readable record of a sign-out (Gmail may take up to an hour to end its sessions); no sign-in since the request (lastLoginTime {})",
            found
                .last_login_time
                .unwrap_or_else(|| "unknown".to_owned())
        ))))
    }
}
