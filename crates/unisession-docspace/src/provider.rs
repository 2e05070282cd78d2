//! [`DocSpaceProvider`]: the trait mapping and DocSpace-only extras.

use std::fmt;

use async_trait::async_trait;
use base64::Engine;
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use unisession_core::{
    Capabilities, Cursor, Device, DeviceKind, DeviceScope, Error, ErrorKind, ListQuery, Operation,
    Page, Result, Revocation, Session, SessionId, SessionProvider, SessionRef, UserId, UserRef,
};
use unisession_http::{HttpClient, Method, RequestBuilder, Response, decode_json};

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

fn parse_date(value: &serde_json::Value) -> Option<DateTime<Utc>> {
    let text = match value {
        serde_json::Value::String(s) => s.as_str(),
        // The spec's ApiDateTime object, should a server ever send it.
        serde_json::Value::Object(map) => map.get("utcTime")?.as_str()?,
        _ => return None,
    };
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|d| d.with_timezone(&Utc))
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

fn no_result() -> Error {
    Error::new(
        ErrorKind::Provider,
        "DocSpace answered without a result: it swallowed an error, so nothing may have been done",
    )
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
        let status = response.status().as_u16();
        if status != 200 {
            return Err(error_for(status, response.body()).with_retries(response.retries()));
        }
        let envelope: wire::Envelope<T> = decode_json(response.body()).map_err(|why| {
            // A truncated or garbled body is worth another try; a wrong shape is not.
            let temporary = !why.starts_with("unexpected JSON shape");
            Error::new(
                ErrorKind::Decode,
                format!("could not decode the answer of {}: {why}", response.route()),
            )
            .with_temporary(temporary)
        })?;
        if envelope.status != 0 {
            return Err(error_for(400, response.body()));
        }
        Ok(envelope.response)
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
            .ok_or_else(|| self.fail(no_result(), None))
    }

    fn session_from(&self, c: wire::Connection, current: i32) -> Session {
        let browser = c.browser.clone().filter(|b| !b.is_empty());
        let kind = if c.mobile {
            DeviceKind::Mobile
        } else if browser.as_deref().is_some_and(|b| b.contains("Desktop")) {
            DeviceKind::Desktop
        } else {
            DeviceKind::Browser
        };
        let mut device = Device::new(kind);
        device.name = browser.clone();
        device.os = c.platform.clone().filter(|p| !p.is_empty());
        device.client = browser;
        let mut session = Session::new(
            SessionId::new(c.id.to_string()),
            UserId::new(c.user_id.clone()),
            self.name.clone(),
        )
        .with_device(device)
        .with_current(current != 0 && c.id == current);
        session.ip = c.ip.clone().filter(|ip| !ip.is_empty());
        let place: Vec<&str> = [c.city.as_deref(), c.country.as_deref()]
            .into_iter()
            .flatten()
            .filter(|s| !s.is_empty())
            .collect();
        if !place.is_empty() {
            session.location = Some(place.join(", "));
        }
        session.created_at = c.date.as_ref().and_then(parse_date);
        session.extra.insert("tenant_id".into(), c.tenant_id.into());
        if let Some(date) = c.date {
            session.extra.insert("date".into(), date);
        }
        if let Some(page) = c.page {
            session.extra.insert("page".into(), page.into());
        }
        session
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
        let connections: wire::ActiveConnections = self
            .decode(&response)
            .map_err(|e| self.fail(e, op))?
            .ok_or_else(|| self.fail(no_result(), op))?;
        let current = connections.login_event;
        let mut items: Vec<wire::Connection> = connections
            .items
            .unwrap_or_default()
            .into_iter()
            // id 0 is the synthetic entry standing for a request without a login event.
            .filter(|c| c.id > 0 && below.is_none_or(|b| c.id < b))
            .collect();
        items.sort_by_key(|c| std::cmp::Reverse(c.id));
        let limit = query.limit.map_or(usize::MAX, |l| l as usize);
        let more = items.len() > limit;
        items.truncate(limit);
        let next = if more {
            items.last().map(|c| Cursor::new(c.id.to_string()))
        } else {
            None
        };
        let sessions = items
            .into_iter()
            .map(|c| self.session_from(c, current))
            .collect();
        Ok(Page::new(sessions, next))
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
            None => Err(self.fail(no_result(), op)),
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
            None => Err(self.fail(no_result(), op)),
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
        if response.status() == 404 {
            return Ok(None);
        }
        let employee: wire::Employee = self
            .decode(&response)
            .map_err(|e| self.fail(e, op))?
            .ok_or_else(|| self.fail(no_result(), op))?;
        let mut user = UserRef::new(UserId::new(employee.id));
        user.email = employee.email;
        user.name = employee.display_name;
        user.active = employee.status.map(|s| s == 1);
        Ok(Some(user))
    }
}
