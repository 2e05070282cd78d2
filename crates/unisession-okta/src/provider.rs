//! [`OktaProvider`]: the trait mapping.

use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use secrecy::{ExposeSecret, SecretString};
use unisession_core::{
    Capabilities, DeviceScope, Email, Error, ErrorKind, ListQuery, Operation, Page, Result,
    Revocation, Session, SessionProvider, SessionRef, UserId, UserLookup, UserRef, Verification,
};
use unisession_http::{HttpClient, KnownUsers, Method, RequestBuilder, Response};

use crate::config::{Auth, OktaBuilder, Parts};
use crate::errors::api_error;
use crate::wire;

/// Okta's identity-provider sessions behind [`SessionProvider`]. See the crate docs
/// for the mapping, what it does not reach and how it is verified.
pub struct OktaProvider {
    name: String,
    http: HttpClient,
    auth: Auth,
    capabilities: Capabilities,
    known: KnownUsers,
    revoke_oauth_tokens: bool,
    forget_devices: bool,
}

impl fmt::Debug for OktaProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let auth = match &self.auth {
            Auth::ApiToken(_) => "api_token",
            Auth::ServiceApp(_) => "service_app",
        };
        f.debug_struct("OktaProvider")
            .field("name", &self.name)
            .field("base_url", &self.http.base_url().as_str())
            .field("auth", &auth)
            .field("revoke_oauth_tokens", &self.revoke_oauth_tokens)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for OktaProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// Checks an Okta user id: letters and digits (`00u…`). A login is refused: the
/// sessions endpoint takes an id only.
fn check_user(user: &UserId) -> Result<()> {
    let id = user.as_str();
    if !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric()) {
        Ok(())
    } else {
        Err(Error::invalid_input(format!(
            "{id:?} is not an Okta user id (00u…); a login or an email is not accepted here"
        )))
    }
}

fn user_ref(user: &wire::User) -> UserRef {
    let mut found = UserRef::new(user.id.clone());
    if let Some(email) = &user.profile.email {
        found = found.with_email(email.clone());
    }
    let name = [&user.profile.first_name, &user.profile.last_name]
        .into_iter()
        .flatten()
        .cloned()
        .collect::<Vec<_>>()
        .join(" ");
    if !name.is_empty() {
        found = found.with_name(name);
    }
    if let Some(status) = &user.status {
        found = found.with_active(status != "DEPROVISIONED" && status != "SUSPENDED");
    }
    found
}

impl OktaProvider {
    /// A builder for the org at `base_url`.
    pub fn builder(base_url: impl Into<String>) -> OktaBuilder {
        OktaBuilder::new(base_url)
    }

    pub(crate) fn from_parts(parts: Parts, http: HttpClient) -> Self {
        let mut capabilities = Capabilities::none();
        capabilities.revoke_session = true;
        capabilities.revoke_user_sessions = true;
        capabilities.find_user_by_email = true;
        capabilities.identity_provider = true;
        capabilities.confirms_revocation = parts.verify_in_system_log;
        let mut covers = vec!["the Okta sessions"];
        if parts.revoke_oauth_tokens {
            covers.push("the OAuth tokens Okta issued (oauthTokens=true)");
        }
        if parts.forget_devices {
            covers.push("remembered MFA devices (forgetDevices=true)");
        }
        capabilities.revocation_covers = Some(covers.join(", "));
        Self {
            name: parts.name,
            http,
            auth: parts.auth,
            capabilities,
            known: KnownUsers::default(),
            revoke_oauth_tokens: parts.revoke_oauth_tokens,
            forget_devices: parts.forget_devices,
        }
    }

    fn fail(&self, error: Error, operation: Operation) -> Error {
        error
            .with_provider(self.name.clone())
            .with_operation(operation)
    }

    /// Whether ending a user's sessions also revokes their OAuth tokens.
    pub fn revokes_oauth_tokens(&self) -> bool {
        self.revoke_oauth_tokens
    }

    /// Sends an authenticated request built by `build`; with a service app, fetches
    /// the access token first and, should the API say it is no longer valid (401),
    /// fetches a new one and tries once more.
    async fn send(&self, build: impl Fn(&HttpClient) -> RequestBuilder) -> Result<Response> {
        let authorized = |token: &SecretString| {
            build(&self.http)
                .header("accept", "application/json")
                .bearer(token)
        };
        match &self.auth {
            Auth::ApiToken(token) => {
                let value = SecretString::from(format!("SSWS {}", token.expose_secret()));
                build(&self.http)
                    .header("accept", "application/json")
                    .secret_header("authorization", &value)
                    .send()
                    .await
            }
            Auth::ServiceApp(app) => {
                let token = app.access_token(&self.http).await?;
                let response = authorized(&token).send().await?;
                if response.status() != 401 {
                    return Ok(response);
                }
                app.forget().await;
                let token = app.access_token(&self.http).await?;
                authorized(&token).send().await
            }
        }
    }

    /// `GET api/v1/users/{idOrLogin}`: `None` on 404 E0000007.
    async fn get_user(&self, id_or_login: &str, op: Operation) -> Result<Option<wire::User>> {
        let response = self
            .send(|http| {
                http.request(Method::GET, "api/v1/users/{id}")
                    .param(id_or_login)
            })
            .await
            .map_err(|e| self.fail(e, op))?;
        let status = response.status().as_u16();
        if status == 200 {
            return response.json().map(Some).map_err(|e| self.fail(e, op));
        }
        let error = api_error(
            "api/v1/users/{id}",
            status,
            response.headers(),
            response.body(),
        );
        if error.code() == Some("E0000007") {
            return Ok(None);
        }
        Err(self.fail(error, op))
    }

    /// Confirms `user` exists before a revocation by id, unless this adapter's own
    /// lookup answered it: a success for an id nobody has must not be reported as a
    /// revocation while the person (whose id was mistyped) keeps every session.
    async fn confirm_user(&self, user: &UserId, op: Operation) -> Result<()> {
        if self.known.contains(user.as_str()) {
            return Ok(());
        }
        match self.get_user(user.as_str(), op).await? {
            Some(found) if found.id == user.as_str() => {
                self.known.remember(user.as_str());
                Ok(())
            }
            Some(found) => Err(self.fail(
                Error::new(
                    ErrorKind::InvalidInput,
                    format!(
                        "{user} is a login, not an id: it is the login of Okta user {}; give the id",
                        found.id
                    ),
                ),
                op,
            )),
            None => Err(self.fail(
                Error::new(
                    ErrorKind::NotFound,
                    format!("Okta has no user with id {user} (users/{user} answered 404 E0000007)"),
                )
                .with_code("E0000007"),
                op,
            )),
        }
    }

    /// `GET api/v1/logs` with `filter`, since `since`: the events, each checked
    /// against the filter on the client (a server ignoring it proves nothing).
    async fn log_events(&self, filter: &str, since: DateTime<Utc>) -> Result<Vec<wire::LogEvent>> {
        let since = since.to_rfc3339_opts(SecondsFormat::Millis, true);
        let response = self
            .send(|http| {
                http.request(Method::GET, "api/v1/logs")
                    .query("since", since.clone())
                    .query("filter", filter)
                    .query("limit", "100")
            })
            .await?;
        let status = response.status().as_u16();
        if status != 200 {
            return Err(api_error(
                "api/v1/logs",
                status,
                response.headers(),
                response.body(),
            ));
        }
        response.json()
    }
}

/// `config check`: `users/me` with an API token (naming the admin), one user with a
/// service app.
#[async_trait]
impl unisession_http::Adapter for OktaProvider {
    fn base_url(&self) -> &unisession_http::Url {
        self.http.base_url()
    }

    async fn check_credential(&self) -> Result<String> {
        let op = Operation::FindUser;
        match &self.auth {
            Auth::ApiToken(_) => {
                let me = self.get_user("me", op).await?.ok_or_else(|| {
                    Error::new(ErrorKind::Unauthenticated, "users/me answered 404")
                })?;
                Ok(format!(
                    "API token of {}",
                    me.profile.login.unwrap_or(me.id)
                ))
            }
            Auth::ServiceApp(_) => {
                let response = self
                    .send(|http| {
                        http.request(Method::GET, "api/v1/users")
                            .query("limit", "1")
                    })
                    .await
                    .map_err(|e| self.fail(e, op))?;
                let status = response.status().as_u16();
                if status != 200 {
                    return Err(self.fail(
                        api_error("api/v1/users", status, response.headers(), response.body()),
                        op,
                    ));
                }
                Ok("service app token accepted (okta.users.read)".to_owned())
            }
        }
    }
}

#[async_trait]
impl SessionProvider for OktaProvider {
    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    /// Okta has no listing of sessions (research §2.3).
    async fn list_sessions(&self, _query: &ListQuery) -> Result<Page<Session>> {
        Err(self.fail(
            Error::unsupported(
                Operation::ListSessions,
                "Okta's API cannot list sessions: only revoke them",
            ),
            Operation::ListSessions,
        ))
    }

    /// `DELETE api/v1/sessions/{id}`: 204; 404 E0000007 is `AlreadyGone`.
    async fn revoke_session(&self, session: &SessionRef) -> Result<Revocation> {
        let op = Operation::RevokeSession;
        let id = session.id.as_str();
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(self.fail(
                Error::invalid_input(format!("{id:?} is not an Okta session id")),
                op,
            ));
        }
        let response = self
            .send(|http| {
                http.request(Method::DELETE, "api/v1/sessions/{id}")
                    .param(id)
            })
            .await
            .map_err(|e| self.fail(e, op))?;
        let status = response.status().as_u16();
        match status {
            204 | 200 => Ok(Revocation::revoked(1)),
            _ => {
                let error = api_error(
                    "api/v1/sessions/{id}",
                    status,
                    response.headers(),
                    response.body(),
                );
                if error.code() == Some("E0000007") {
                    Ok(Revocation::AlreadyGone)
                } else {
                    Err(self.fail(error, op))
                }
            }
        }
    }

    /// `DELETE api/v1/users/{id}/sessions?oauthTokens=&forgetDevices=`: 204 without a
    /// count. An id this adapter's lookup did not answer is confirmed first.
    async fn revoke_user_sessions(&self, user: &UserId, scope: DeviceScope) -> Result<Revocation> {
        let op = Operation::RevokeUserSessions;
        if scope != DeviceScope::All {
            return Err(self.fail(
                Error::unsupported(
                    op,
                    "Okta ends all of a user's sessions, not those of some devices",
                ),
                op,
            ));
        }
        check_user(user).map_err(|e| self.fail(e, op))?;
        self.confirm_user(user, op).await?;
        let oauth = self.revoke_oauth_tokens.to_string();
        let forget = self.forget_devices.to_string();
        let response = self
            .send(|http| {
                http.request(Method::DELETE, "api/v1/users/{userId}/sessions")
                    .param(user.as_str())
                    .query("oauthTokens", oauth.clone())
                    .query("forgetDevices", forget.clone())
            })
            .await
            .map_err(|e| self.fail(e, op))?;
        let status = response.status().as_u16();
        if status == 204 || status == 200 {
            return Ok(Revocation::revoked_unknown_count());
        }
        let error = api_error(
            "api/v1/users/{userId}/sessions",
            status,
            response.headers(),
            response.body(),
        );
        if error.code() == Some("E0000007") {
            self.known.forget(user.as_str());
        }
        Err(self.fail(error, op))
    }

    /// `GET api/v1/users?search=profile.email eq "…"` (values match case-insensitively;
    /// the answer must carry the email, once); when it finds nobody, the login lookup
    /// `users/{email}` (the search lags behind new users).
    async fn find_user(&self, email: &Email) -> Result<UserLookup> {
        let op = Operation::FindUser;
        let address = email.as_str();
        if address.contains(['"', '\\']) {
            return Err(self.fail(
                Error::invalid_input(format!(
                    "{address:?} holds a quote or a backslash, which Okta's search cannot take"
                )),
                op,
            ));
        }
        let search = format!("profile.email eq \"{address}\"");
        let response = self
            .send(|http| {
                http.request(Method::GET, "api/v1/users")
                    .query("search", search.clone())
                    .query("limit", "10")
            })
            .await
            .map_err(|e| self.fail(e, op))?;
        let status = response.status().as_u16();
        if status != 200 {
            return Err(self.fail(
                api_error("api/v1/users", status, response.headers(), response.body()),
                op,
            ));
        }
        let users: Vec<wire::User> = response.json().map_err(|e| self.fail(e, op))?;
        let matching: Vec<&wire::User> = users
            .iter()
            .filter(|u| u.profile.email.as_deref().is_some_and(|e| email.matches(e)))
            .collect();
        match matching.as_slice() {
            [one] => {
                self.known.remember(&one.id);
                return Ok(UserLookup::Found(user_ref(one)));
            }
            [] if !users.is_empty() => {
                return Err(self.fail(
                    Error::new(
                        ErrorKind::IdentityMismatch,
                        format!(
                            "users?search=profile.email eq \"{address}\" answered {} user(s), none with that email: the server ignored or mangled the filter, so nothing was done",
                            users.len()
                        ),
                    ),
                    op,
                ));
            }
            [] => {}
            several => {
                let ids: Vec<&str> = several.iter().map(|u| u.id.as_str()).collect();
                return Err(self.fail(
                    Error::new(
                        ErrorKind::IdentityMismatch,
                        format!(
                            "{} Okta users carry the email {address} ({}): which one is the person cannot be told; give the id explicitly",
                            several.len(),
                            ids.join(", ")
                        ),
                    ),
                    op,
                ));
            }
        }
        // "Logins with a / character can only be fetched by id" (MGMT:25225): the
        // search alone speaks for them.
        if address.contains('/') {
            return Ok(UserLookup::NotFound {
                evidence: format!(
                    "users?search=profile.email eq \"{address}\" answered no user (a login with a slash cannot be looked up by login)"
                ),
            });
        }
        match self.get_user(address, op).await? {
            Some(user) if user.profile.email.as_deref().is_some_and(|e| email.matches(e)) => {
                self.known.remember(&user.id);
                Ok(UserLookup::Found(user_ref(&user)))
            }
            Some(user) => Err(self.fail(
                Error::new(
                    ErrorKind::IdentityMismatch,
                    format!(
                        "the search found nobody with {address}; users/{address} answered Okta user {}, whose profile carries another email: nothing was done",
                        user.id
                    ),
                ),
                op,
            )),
            None => Ok(UserLookup::NotFound {
                evidence: format!(
                    "users?search=profile.email eq \"{address}\" answered no user, and users/{address} (by login) answered 404 E0000007"
                ),
            }),
        }
    }

    /// The System Log: a `user.session.clear` event targeting the user since the
    /// request, and no `user.session.start` by the user after it.
    async fn confirm_revocation(
        &self,
        user: &UserId,
        requested_at: DateTime<Utc>,
    ) -> Result<Option<Verification>> {
        let op = Operation::RevokeUserSessions;
        // The log's clock and ours may differ by a little. One query for both kinds
        // of event (the log's bucket is small: 120 a minute); each event is checked
        // again here, since a server that ignored the filter would prove nothing.
        let since = requested_at - chrono::Duration::seconds(2);
        let id = user.as_str();
        let filter = format!(
            "(eventType eq \"user.session.clear\" and target.id eq \"{id}\") or (eventType eq \"user.session.start\" and actor.id eq \"{id}\")"
        );
        let events = self
            .log_events(&filter, since)
            .await
            .map_err(|e| self.fail(e, op))?;
        let published = |e: &wire::LogEvent| {
            DateTime::parse_from_rfc3339(&e.published)
                .ok()
                .map(|t| t.with_timezone(&Utc))
        };
        let clear = events.iter().find(|e| {
            e.event_type == "user.session.clear"
                && e.target.iter().any(|t| t.id == id)
                && published(e).is_some_and(|t| t >= since)
        });
        let Some(clear) = clear else {
            return Ok(None);
        };
        let cleared_at = published(clear).unwrap_or(requested_at);
        let again = events
            .iter()
            .filter(|e| {
                e.event_type == "user.session.start"
                    && e.actor.as_ref().is_some_and(|a| a.id == id)
                    && published(e).is_some_and(|t| t > cleared_at)
            })
            .count() as u64;
        if again > 0 {
            return Ok(Some(Verification::StillActive { remaining: again }));
        }
        Ok(Some(Verification::Confirmed {
            evidence: format!(
                "System Log: user.session.clear for {user} at {}{}, and no user.session.start since",
                clear.published,
                clear
                    .uuid
                    .as_deref()
                    .map(|u| format!(" (event {u})"))
                    .unwrap_or_default()
            ),
        }))
    }
}
