//! [`EntraProvider`]: the trait mapping.

use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use unisession_core::{
    Capabilities, DeviceScope, Email, Error, ErrorKind, ListQuery, Operation, Page, Result,
    Revocation, Session, SessionProvider, SessionRef, UserId, UserLookup, UserRef, Verification,
};
use unisession_http::{HttpClient, KnownUsers, Method, RequestBuilder, Response};

use crate::errors::api_error;
use crate::token::App;
use crate::wire;

/// The properties a lookup reads.
const SELECT: &str =
    "id,userPrincipalName,mail,displayName,otherMails,proxyAddresses,userType,accountEnabled";

/// Microsoft Entra ID's sign-in sessions behind [`SessionProvider`], through
/// Microsoft Graph. See the crate docs for the mapping, what it does not reach and
/// how it is verified.
pub struct EntraProvider {
    name: String,
    graph: HttpClient,
    login: HttpClient,
    app: App,
    capabilities: Capabilities,
    /// Ids known to be members (not guests), from this adapter's own lookups.
    members: KnownUsers,
    b2c: bool,
}

impl fmt::Debug for EntraProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EntraProvider")
            .field("name", &self.name)
            .field("graph_url", &self.graph.base_url().as_str())
            .field("app", &self.app)
            .field("b2c", &self.b2c)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for EntraProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// An OData string literal's content: a quote doubled.
fn odata(text: &str) -> String {
    text.replace('\'', "''")
}

fn is_object_id(id: &str) -> bool {
    let parts: Vec<&str> = id.split('-').collect();
    parts.len() == 5
        && [8, 4, 4, 4, 12]
            .iter()
            .zip(&parts)
            .all(|(n, p)| p.len() == *n && p.chars().all(|c| c.is_ascii_hexdigit()))
}

impl EntraProvider {
    pub(crate) fn from_parts(
        name: String,
        graph: HttpClient,
        login: HttpClient,
        app: App,
        b2c: bool,
    ) -> Self {
        let mut capabilities = Capabilities::none();
        capabilities.revoke_user_sessions = true;
        capabilities.find_user_by_email = true;
        capabilities.identity_provider = true;
        capabilities.confirms_revocation = true;
        capabilities.revocation_covers = Some(
            "refresh tokens and session cookies (revokeSignInSessions; access tokens live until they expire)"
                .to_owned(),
        );
        Self {
            name,
            graph,
            login,
            app,
            capabilities,
            members: KnownUsers::default(),
            b2c,
        }
    }

    fn fail(&self, error: Error, operation: Operation) -> Error {
        error
            .with_provider(self.name.clone())
            .with_operation(operation)
    }

    /// Sends a Graph request with the app's token; on a 401, fetches a new token and
    /// tries once more.
    async fn send(&self, build: impl Fn(&HttpClient) -> RequestBuilder) -> Result<Response> {
        let attempt = |token: SecretString| {
            build(&self.graph)
                .header("accept", "application/json")
                .bearer(&token)
                .send()
        };
        let token = self.app.access_token(&self.login).await?;
        let response = attempt(token).await?;
        if response.status() != 401 {
            return Ok(response);
        }
        self.app.forget().await;
        let token = self.app.access_token(&self.login).await?;
        attempt(token).await
    }

    /// `GET users/{id | userPrincipalName}?$select=…`: `None` on `Request_ResourceNotFound`.
    async fn get_user(&self, key: &str, select: &str, op: Operation) -> Result<Option<wire::User>> {
        let response = self
            .send(|http| {
                http.request(Method::GET, "users/{id}")
                    .param(key)
                    .query("$select", select)
            })
            .await
            .map_err(|e| self.fail(e, op))?;
        let status = response.status().as_u16();
        if status == 200 {
            return response.json().map(Some).map_err(|e| self.fail(e, op));
        }
        let error = api_error("users/{id}", status, response.body());
        if error.code() == Some("Request_ResourceNotFound") {
            return Ok(None);
        }
        Err(self.fail(error, op))
    }

    fn found(&self, user: &wire::User, email: &Email) -> UserLookup {
        let matched = user
            .addresses()
            .into_iter()
            .find(|a| email.matches(a))
            .map(str::to_owned);
        let mut found = UserRef::new(user.id.clone());
        if let Some(address) = matched {
            found = found.with_email(address);
        }
        if let Some(name) = &user.display_name {
            found = found.with_name(name.clone());
        }
        if let Some(enabled) = user.account_enabled {
            found = found.with_active(enabled);
        }
        if !user.is_guest() {
            self.members.remember(&user.id);
        }
        UserLookup::Found(found)
    }
}

/// `config check`: a token, then one user read.
#[async_trait]
impl unisession_http::Adapter for EntraProvider {
    fn base_url(&self) -> &unisession_http::Url {
        self.graph.base_url()
    }

    async fn check_credential(&self) -> Result<String> {
        let op = Operation::FindUser;
        let response = self
            .send(|http| {
                http.request(Method::GET, "users")
                    .query("$top", "1")
                    .query("$select", "id")
            })
            .await
            .map_err(|e| self.fail(e, op))?;
        let status = response.status().as_u16();
        if status != 200 {
            return Err(self.fail(api_error("users", status, response.body()), op));
        }
        Ok(format!(
            "app {} of tenant {} accepted (reads users)",
            self.app.client_id, self.app.tenant_id
        ))
    }
}

#[async_trait]
impl SessionProvider for EntraProvider {
    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    /// Graph v1.0 has no listing of sign-in sessions.
    async fn list_sessions(&self, _query: &ListQuery) -> Result<Page<Session>> {
        let op = Operation::ListSessions;
        Err(self.fail(
            Error::unsupported(op, "Microsoft Graph cannot list sign-in sessions"),
            op,
        ))
    }

    /// Graph has no per-session revocation.
    async fn revoke_session(&self, _session: &SessionRef) -> Result<Revocation> {
        let op = Operation::RevokeSession;
        Err(self.fail(
            Error::unsupported(
                op,
                "Microsoft Graph revokes all of a user's sign-in sessions or none",
            ),
            op,
        ))
    }

    /// `GET users/{id}?$select=…` (existence, guest or member; once per id its own
    /// lookup did not answer), then `POST users/{id}/revokeSignInSessions`: any 2xx
    /// (Graph answers 200 `{"value":true}` whatever happened) is `Revoked` without a
    /// count; proof comes from `confirm_revocation`.
    async fn revoke_user_sessions(&self, user: &UserId, scope: DeviceScope) -> Result<Revocation> {
        let op = Operation::RevokeUserSessions;
        if scope != DeviceScope::All {
            return Err(self.fail(
                Error::unsupported(
                    op,
                    "Entra ends all of a user's sign-in sessions, not those of some devices",
                ),
                op,
            ));
        }
        if !is_object_id(user.as_str()) {
            return Err(self.fail(
                Error::invalid_input(format!(
                    "{:?} is not an Entra object id (a GUID); a UPN or an email is not accepted here",
                    user.as_str()
                )),
                op,
            ));
        }
        if self.b2c {
            return Err(self.fail(
                Error::unsupported(
                    op,
                    "in an Azure AD B2C tenant revokeSignInSessions resets the time but refresh tokens keep working (Microsoft's open issue msgraph-sdk-dotnet#3019): it would not log the person out",
                ),
                op,
            ));
        }
        if !self.members.contains(user.as_str()) {
            match self.get_user(user.as_str(), "id,userType", op).await? {
                None => {
                    return Err(self.fail(
                        Error::new(
                            ErrorKind::NotFound,
                            format!(
                                "Entra has no user with id {user} (users/{user} answered Request_ResourceNotFound)"
                            ),
                        )
                        .with_code("Request_ResourceNotFound"),
                        op,
                    ));
                }
                Some(found) if !found.id.eq_ignore_ascii_case(user.as_str()) => {
                    return Err(self.fail(
                        Error::new(
                            ErrorKind::IdentityMismatch,
                            format!("users/{user} answered user {}: nothing was done", found.id),
                        ),
                        op,
                    ));
                }
                Some(found) if found.is_guest() => {
                    return Err(self.fail(
                        Error::unsupported(
                            op,
                            "a guest (external user): revokeSignInSessions answers success but does not revoke the sessions of external users; revoke them in their home tenant",
                        ),
                        op,
                    ));
                }
                Some(_) => self.members.remember(user.as_str()),
            }
        }
        let response = self
            .send(|http| {
                http.request(
                    Method::POST,
                    "users/{id}/microsoft.graph.revokeSignInSessions",
                )
                .param(user.as_str())
            })
            .await
            .map_err(|e| self.fail(e, op))?;
        let status = response.status();
        if status.is_success() {
            return Ok(Revocation::revoked_unknown_count());
        }
        let error = api_error(
            "users/{id}/microsoft.graph.revokeSignInSessions",
            status.as_u16(),
            response.body(),
        );
        if error.code() == Some("Request_ResourceNotFound") {
            self.members.forget(user.as_str());
        }
        Err(self.fail(error, op))
    }

    /// `GET users?$filter=mail eq '…' or userPrincipalName eq '…' or otherMails/any(…)
    /// or proxyAddresses/any(…)` (`ConsistencyLevel: eventual`); the answer must carry
    /// the email, once. Nobody: the UPN lookup `users/{email}` (the filter lags behind
    /// new users).
    async fn find_user(&self, email: &Email) -> Result<UserLookup> {
        let op = Operation::FindUser;
        let address = odata(email.as_str());
        let filter = format!(
            "mail eq '{address}' or userPrincipalName eq '{address}' or otherMails/any(x:x eq '{address}') or proxyAddresses/any(x:x eq 'smtp:{address}')"
        );
        let response = self
            .send(|http| {
                http.request(Method::GET, "users")
                    .query("$filter", filter.clone())
                    .query("$select", SELECT)
                    .query("$count", "true")
                    .query("$top", "10")
                    .header("consistencylevel", "eventual")
            })
            .await
            .map_err(|e| self.fail(e, op))?;
        let status = response.status().as_u16();
        if status != 200 {
            return Err(self.fail(api_error("users", status, response.body()), op));
        }
        let users: wire::Users = response.json().map_err(|e| self.fail(e, op))?;
        if users.next_link.is_some() {
            // More than a page for one address: the filter was ignored, or so many
            // people carry it that none can be told apart.
            return Err(self.fail(
                Error::new(
                    ErrorKind::IdentityMismatch,
                    format!(
                        "users?$filter for {email} answered more than a page of users: the server ignored the filter, or too many carry the address; nothing was done"
                    ),
                ),
                op,
            ));
        }
        let matching: Vec<&wire::User> = users
            .value
            .iter()
            .filter(|u| u.addresses().into_iter().any(|a| email.matches(a)))
            .collect();
        match matching.as_slice() {
            [one] => return Ok(self.found(one, email)),
            [] if !users.value.is_empty() => {
                return Err(self.fail(
                    Error::new(
                        ErrorKind::IdentityMismatch,
                        format!(
                            "users?$filter for {} answered {} user(s), none with that address: the server ignored or mangled the filter, so nothing was done",
                            email,
                            users.value.len()
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
                            "{} Entra users carry the address {email} ({}): which one is the person cannot be told; give the id explicitly",
                            several.len(),
                            ids.join(", ")
                        ),
                    ),
                    op,
                ));
            }
        }
        if email.as_str().contains('/') {
            return Ok(UserLookup::NotFound {
                evidence: format!(
                    "users?$filter (mail, userPrincipalName, otherMails, proxyAddresses) answered no user for {email}"
                ),
            });
        }
        match self.get_user(email.as_str(), SELECT, op).await? {
            Some(user) if user.addresses().into_iter().any(|a| email.matches(a)) => {
                Ok(self.found(&user, email))
            }
            Some(user) => Err(self.fail(
                Error::new(
                    ErrorKind::IdentityMismatch,
                    format!(
                        "the filter found nobody with {email}; users/{email} answered user {}, who does not carry that address: nothing was done",
                        user.id
                    ),
                ),
                op,
            )),
            None => Ok(UserLookup::NotFound {
                evidence: format!(
                    "users?$filter (mail, userPrincipalName, otherMails, proxyAddresses) answered no user for {email}, and users/{email} answered Request_ResourceNotFound"
                ),
            }),
        }
    }

    /// `GET users/{id}?$select=signInSessionsValidFromDateTime`: at or after the
    /// request, every refresh token and session cookie issued before is invalid.
    async fn confirm_revocation(
        &self,
        user: &UserId,
        requested_at: DateTime<Utc>,
    ) -> Result<Option<Verification>> {
        let op = Operation::RevokeUserSessions;
        let Some(found) = self
            .get_user(user.as_str(), "id,signInSessionsValidFromDateTime", op)
            .await?
        else {
            return Ok(None);
        };
        let Some(raw) = found.sign_in_sessions_valid_from_date_time else {
            return Ok(None);
        };
        let valid_from = DateTime::parse_from_rfc3339(&raw).map_err(|_| {
            self.fail(
                Error::new(
                    ErrorKind::Decode,
                    format!("signInSessionsValidFromDateTime {raw:?} is not a time"),
                ),
                op,
            )
        })?;
        // Graph's clock and ours may differ by a little; the property has seconds.
        if valid_from.with_timezone(&Utc) + chrono::Duration::seconds(5) < requested_at {
            return Ok(None);
        }
        Ok(Some(Verification::Confirmed {
            evidence: format!(
                "signInSessionsValidFromDateTime is {raw}, not before the request at {}: refresh tokens and session cookies issued before it are invalid",
                requested_at.format("%Y-%m-%dT%H:%M:%SZ")
            ),
        }))
    }
}
