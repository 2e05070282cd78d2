//! [`DocSpaceProvider`]: the trait mapping and DocSpace-only extras.

use std::fmt;

use async_trait::async_trait;
use base64::Engine;
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use unisession_core::{
    Capabilities, DeviceScope, Error, ErrorKind, ListQuery, Operation, Page, Result, Revocation,
    Session, SessionProvider, SessionRef, UserId, UserRef,
};
use unisession_http::{HttpClient, Method, RequestBuilder, Response};

use crate::config::{DocSpaceAuth, DocSpaceBuilder};
use crate::errors::error_for;
use crate::wire;

/// The pacing class of every DocSpace request.
pub(crate) const CLASS: &str = "docspace";
const CONNECTIONS: &str = "api/2.0/security/activeconnections";
const LOGOUT: &str = "api/2.0/security/activeconnections/logout/{loginEventId}";
const LOGOUT_ALL: &str = "api/2.0/security/activeconnections/logoutall/{userId}";
const LOGOUT_OTHERS: &str = "api/2.0/security/activeconnections/logoutallexceptthis";
const LOGOUT_CHANGE_PASSWORD: &str = "api/2.0/security/activeconnections/logoutallchangepassword";
const PEOPLE_BY_EMAIL: &str = "api/2.0/people/email";
const AUTHENTICATION: &str = "api/2.0/authentication";

/// ONLYOFFICE DocSpace's `security/activeconnections` behind [`SessionProvider`].
/// See the crate docs for the mapping, its quirks and the permissions it needs.
pub struct DocSpaceProvider {
    name: String,
    http: HttpClient,
    auth: DocSpaceAuth,
    /// The cookie token in use: the login's, or one the server re-issued.
    cookie: tokio::sync::Mutex<Option<SecretString>>,
    capabilities: Capabilities,
}

impl fmt::Debug for DocSpaceProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DocSpaceProvider")
            .field("name", &self.name)
            .field("base_url", &self.http.base_url().as_str())
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for DocSpaceProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

fn check_email(email: &str) -> Result<()> {
    let e = email.trim();
    let ok = !e.is_empty()
        && e.len() <= 255
        && e.contains('@')
        && !e.chars().any(|c| c.is_control() || c.is_whitespace());
    if ok {
        Ok(())
    } else {
        Err(Error::invalid_input(format!(
            "{email:?} is not an email address"
        )))
    }
}

fn set_cookie_token(response: &Response) -> Option<SecretString> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .filter_map(|pair| pair.trim().strip_prefix("asc_auth_key="))
        .find(|token| !token.is_empty())
        .map(|token| SecretString::from(token.to_owned()))
}

impl DocSpaceProvider {
    /// A builder for the portal at `base_url`.
    pub fn builder(base_url: impl Into<String>) -> DocSpaceBuilder {
        DocSpaceBuilder::new(base_url)
    }

    pub(crate) fn from_parts(name: String, auth: DocSpaceAuth, http: HttpClient) -> Self {
        let mut capabilities = Capabilities::none();
        capabilities.list_own_sessions = true;
        capabilities.revoke_session = true;
        capabilities.revoke_user_sessions = true;
        capabilities.find_user_by_email = true;
        if auth.knows_current_session() {
            capabilities.marks_current_session = true;
            capabilities.revoke_other_sessions = true;
        }
        let cookie = match &auth {
            DocSpaceAuth::PersonalToken(token) => Some(token.clone()),
            _ => None,
        };
        Self {
            name,
            http,
            auth,
            cookie: tokio::sync::Mutex::new(cookie),
            capabilities,
        }
    }

    fn fail(&self, error: Error, operation: Option<Operation>) -> Error {
        let error = error.with_provider(self.name.clone());
        match operation {
            Some(op) => error.with_operation(op),
            None => error,
        }
    }

    /// `POST api/2.0/authentication`: one login, whose token is then reused.
    async fn login(&self, user: &str, password: &SecretString) -> Result<SecretString> {
        #[derive(serde::Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Credentials<'a> {
            user_name: &'a str,
            password: &'a str,
        }
        let response = self
            .http
            .request(Method::POST, AUTHENTICATION)
            .json(&Credentials {
                user_name: user,
                password: password.expose_secret(),
            })
            // Retried like a read: a repeated login at worst leaves the caller one more
            // token nobody received, where giving up would fail the whole run.
            .idempotent(true)
            .class(CLASS)
            .send()
            .await?;
        if response.status() != 200 {
            let error = error_for(response.status().as_u16(), response.body());
            return Err(match error.kind() {
                ErrorKind::Unauthenticated => Error::new(
                    ErrorKind::Unauthenticated,
                    format!("DocSpace refused the login of {user}"),
                )
                .with_status(401),
                _ => error,
            });
        }
        let body: serde_json::Value = response.json()?;
        let answer = body.get("response");
        let second_factor = answer
            .and_then(|r| r.get("tfa").or_else(|| r.get("sms")))
            .and_then(|v| v.as_bool());
        if second_factor == Some(true) {
            return Err(Error::new(
                ErrorKind::TwoFactorRequired,
                "this DocSpace account needs a second factor at login; use an API key or a personal token",
            ));
        }
        let token: wire::AuthToken = answer
            .cloned()
            .and_then(|r| serde_json::from_value(r).ok())
            .ok_or_else(|| Error::new(ErrorKind::Decode, "the login answer holds no token"))?;
        Ok(SecretString::from(token.token))
    }

    /// Adds the credential to a request.
    async fn authorize(&self, request: RequestBuilder) -> Result<RequestBuilder> {
        Ok(match &self.auth {
            DocSpaceAuth::ApiKey(key) => request.bearer(key),
            DocSpaceAuth::OAuth(token) => request.bearer(token),
            DocSpaceAuth::Basic { email, password } => {
                let raw = format!("{email}:{}", password.expose_secret());
                let encoded = base64::engine::general_purpose::STANDARD.encode(raw);
                request.secret_header(
                    "authorization",
                    &SecretString::from(format!("Basic {encoded}")),
                )
            }
            DocSpaceAuth::PersonalToken(_) | DocSpaceAuth::Login { .. } => {
                let mut cookie = self.cookie.lock().await;
                if cookie.is_none() {
                    if let DocSpaceAuth::Login { user, password } = &self.auth {
                        *cookie = Some(self.login(user, password).await?);
                    }
                }
                let token = cookie
                    .as_ref()
                    .ok_or_else(|| Error::new(ErrorKind::Unauthenticated, "no token to send"))?;
                let value = SecretString::from(format!("asc_auth_key={}", token.expose_secret()));
                request.secret_header("cookie", &value)
            }
        })
    }

    /// Sends a request built by `build`. With a login, a 401 (an expired token) leads
    /// to one fresh login and one more try.
    async fn send(&self, build: impl Fn() -> RequestBuilder) -> Result<Response> {
        let mut attempt = 0;
        loop {
            let response = self.authorize(build().class(CLASS)).await?.send().await?;
            if response.status() == 401
                && attempt == 0
                && matches!(self.auth, DocSpaceAuth::Login { .. })
            {
                *self.cookie.lock().await = None;
                attempt += 1;
                continue;
            }
            if let Some(token) = set_cookie_token(&response) {
                // The server re-issued the caller's cookie (after logging the caller
                // out everywhere): keep working with the new one.
                if self.auth.knows_current_session() {
                    *self.cookie.lock().await = Some(token);
                }
            }
            return Ok(response);
        }
    }

    /// The `response` of a successful envelope (`None` where the server sent none).
    fn decode<T: DeserializeOwned>(&self, response: &Response) -> Result<Option<T>> {
        crate::decode::envelope(
            response.route(),
            response.status().as_u16(),
            response.body(),
        )
        .map_err(|e| e.with_retries(response.retries()))
    }

    /// `PUT logoutallchangepassword`: logs the caller out of every session and returns
    /// the password-change confirmation URL. DocSpace neither changes the password nor
    /// sends the mail: the link is handed back. Each call invalidates the previous link.
    pub async fn logout_all_change_password(&self) -> Result<String> {
        let response = self
            .send(|| self.http.request(Method::PUT, LOGOUT_CHANGE_PASSWORD))
            .await
            .map_err(|e| self.fail(e, None))?;
        self.decode::<String>(&response)
            .map_err(|e| self.fail(e, None))?
            .ok_or_else(|| self.fail(crate::decode::no_result(), None))
    }
}

#[async_trait]
impl SessionProvider for DocSpaceProvider {
    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    /// `GET security/activeconnections`: the caller's own sessions (login events).
    /// DocSpace sends them all at once; pages are cut on the client, newest first,
    /// with the id as cursor, so sessions ending between pages shift nothing.
    async fn list_sessions(&self, query: &ListQuery) -> Result<Page<Session>> {
        let op = Some(Operation::ListSessions);
        self.capabilities
            .check_list(query)
            .map_err(|e| self.fail(e, op))?;
        let below = match &query.cursor {
            None => None,
            Some(cursor) => Some(cursor.as_str().parse::<i32>().map_err(|_| {
                self.fail(
                    Error::invalid_input(format!("{cursor:?} is not a DocSpace page cursor")),
                    op,
                )
            })?),
        };
        let response = self
            .send(|| self.http.request(Method::GET, CONNECTIONS))
            .await
            .map_err(|e| self.fail(e, op))?;
        crate::decode::connections(
            &self.name,
            response.status().as_u16(),
            response.body(),
            below,
            query.limit,
        )
        .map_err(|e| self.fail(e.with_retries(response.retries()), op))
    }

    /// `PUT logout/{loginEventId}`: `true` is `Revoked`; `false` (unknown or closed,
    /// and on servers before 3.7.1 also forbidden) is `AlreadyGone`; 403 is `PermissionDenied`.
    async fn revoke_session(&self, session: &SessionRef) -> Result<Revocation> {
        let op = Some(Operation::RevokeSession);
        self.capabilities
            .check_revoke_session(session)
            .map_err(|e| self.fail(e, op))?;
        let id: i32 = session
            .id
            .as_str()
            .parse()
            .ok()
            .filter(|id| *id > 0)
            .ok_or_else(|| {
                let why = format!(
                    "{:?} is not a DocSpace login-event id (a positive integer)",
                    session.id.as_str()
                );
                self.fail(Error::invalid_input(why), op)
            })?;
        let response = self
            .send(|| self.http.request(Method::PUT, LOGOUT).param(id.to_string()))
            .await
            .map_err(|e| self.fail(e, op))?;
        match self
            .decode::<bool>(&response)
            .map_err(|e| self.fail(e, op))?
        {
            Some(true) => Ok(Revocation::revoked(1)),
            Some(false) => Ok(Revocation::AlreadyGone),
            None => Err(self.fail(crate::decode::no_result(), op)),
        }
    }

    /// `PUT logoutall/{userId}`: every session and token of the user ends. The id must
    /// be a GUID. Targeting the caller's own user also ends the caller's credential;
    /// with a personal token or login the adapter adopts the cookie DocSpace re-issues.
    async fn revoke_user_sessions(&self, user: &UserId, scope: DeviceScope) -> Result<Revocation> {
        let op = Some(Operation::RevokeUserSessions);
        self.capabilities
            .check_revoke_user(Operation::RevokeUserSessions, scope)
            .map_err(|e| self.fail(e, op))?;
        let guid = uuid::Uuid::parse_str(user.as_str()).map_err(|_| {
            self.fail(
                Error::invalid_input(format!(
                    "{:?} is not a DocSpace user id (a GUID)",
                    user.as_str()
                )),
                op,
            )
        })?;
        let response = self
            .send(|| {
                self.http
                    .request(Method::PUT, LOGOUT_ALL)
                    .param(guid.hyphenated().to_string())
            })
            .await
            .map_err(|e| self.fail(e, op))?;
        self.decode::<serde_json::Value>(&response)
            .map_err(|e| self.fail(e, op))?;
        Ok(Revocation::revoked_unknown_count())
    }

    /// `PUT logoutallexceptthis`, offered only with the cookie credential: with a
    /// header credential the server cannot tell the current session and would end it too.
    async fn revoke_other_sessions(&self) -> Result<Revocation> {
        let op = Some(Operation::RevokeOtherSessions);
        if !self.capabilities.revoke_other_sessions {
            let why = format!(
                "with a {} DocSpace cannot tell the current session and would end it too; use a personal token or a login",
                self.auth.mode()
            );
            return Err(self.fail(Error::unsupported(Operation::RevokeOtherSessions, why), op));
        }
        let response = self
            .send(|| self.http.request(Method::PUT, LOGOUT_OTHERS))
            .await
            .map_err(|e| self.fail(e, op))?;
        match self
            .decode::<String>(&response)
            .map_err(|e| self.fail(e, op))?
        {
            Some(_) => Ok(Revocation::revoked_unknown_count()),
            None => Err(self.fail(crate::decode::no_result(), op)),
        }
    }

    /// `GET people/email?email=`: 404 is `None`.
    async fn find_user(&self, email: &str) -> Result<Option<UserRef>> {
        let op = Some(Operation::FindUser);
        check_email(email).map_err(|e| self.fail(e, op))?;
        let email = email.trim().to_owned();
        let response = self
            .send(|| {
                self.http
                    .request(Method::GET, PEOPLE_BY_EMAIL)
                    .query("email", email.clone())
            })
            .await
            .map_err(|e| self.fail(e, op))?;
        crate::decode::employee(response.status().as_u16(), response.body())
            .map_err(|e| self.fail(e.with_retries(response.retries()), op))
    }
}
