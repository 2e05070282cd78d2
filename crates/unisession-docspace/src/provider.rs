//! [`DocSpaceProvider`]: the trait mapping and DocSpace-only extras.

use std::fmt;

use async_trait::async_trait;
use base64::Engine;
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use unisession_core::{
    Account, Capabilities, DeviceScope, Email, Error, ErrorKind, ListQuery, Operation, Page,
    Result, Revocation, Session, SessionProvider, SessionRef, UserId, UserLookup,
};
use unisession_http::{
    HttpClient, KnownUsers, LoginSession, Method, PaceClass, RequestBuilder, Response,
};

use crate::config::{DocSpaceAuth, DocSpaceBuilder};
use crate::errors::error_for;
use crate::wire;

/// The pacing class of every DocSpace request.
pub(crate) const CLASS: PaceClass = PaceClass::new("docspace");
const CONNECTIONS: &str = "api/2.0/security/activeconnections";
const LOGOUT: &str = "api/2.0/security/activeconnections/logout/{loginEventId}";
const LOGOUT_ALL: &str = "api/2.0/security/activeconnections/logoutall/{userId}";
const LOGOUT_OTHERS: &str = "api/2.0/security/activeconnections/logoutallexceptthis";
const LOGOUT_CHANGE_PASSWORD: &str = "api/2.0/security/activeconnections/logoutallchangepassword";
const PEOPLE_BY_EMAIL: &str = "api/2.0/people/email";
const PEOPLE_BY_ID: &str = "api/2.0/people/{userid}";
const PEOPLE_FILTER: &str = "api/2.0/people/filter";
const PEOPLE_SELF: &str = "api/2.0/people/@self";
/// The largest `count` of `people/filter`: `[Range(1, 100)]`, `ApiContext.MaxCount`
/// (since v3.2.1-server); a larger one is refused with 400.
const MAX_PEOPLE_PAGE: u32 = 100;
/// The published limit, 1500 requests a minute per user or address (spec 3.7),
/// shared by every call.
const RATE_PER_MINUTE: u32 = 1500;
const AUTHENTICATION: &str = "api/2.0/authentication";

/// ONLYOFFICE DocSpace's `security/activeconnections` behind [`SessionProvider`].
/// See the crate docs for the mapping, its quirks and the permissions it needs.
pub struct DocSpaceProvider {
    name: String,
    http: HttpClient,
    auth: DocSpaceAuth,
    /// The cookie token in use: the login's, or one the server re-issued.
    cookie: LoginSession<SecretString>,
    capabilities: Capabilities,
    known: KnownUsers,
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
        capabilities.list_users = true;
        capabilities.max_users_page = Some(MAX_PEOPLE_PAGE);
        capabilities.current_user = true;
        capabilities.rate_limits = Operation::ALL
            .into_iter()
            .map(|op| (op, RATE_PER_MINUTE))
            .collect();
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
            cookie: LoginSession::new(cookie),
            capabilities,
            known: KnownUsers::default(),
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
                let token = self
                    .cookie
                    .get_or_login(|| match &self.auth {
                        DocSpaceAuth::Login { user, password } => Some(self.login(user, password)),
                        _ => None,
                    })
                    .await?
                    .ok_or_else(|| Error::new(ErrorKind::Unauthenticated, "no token to send"))?;
                let value = SecretString::from(format!("asc_auth_key={}", token.expose_secret()));
                request.secret_header("cookie", &value)
            }
        })
    }

    /// Sends a request built by `build`. With a login, a 401 (an expired token) leads
    /// to one fresh login and one more try.
    async fn send(&self, build: impl Fn() -> RequestBuilder) -> Result<Response> {
        let login = matches!(self.auth, DocSpaceAuth::Login { .. });
        let response = self
            .cookie
            .with_relogin(
                login,
                |_| true,
                || async { self.authorize(build().class(CLASS)).await?.send().await },
            )
            .await?;
        if let Some(token) = set_cookie_token(&response) {
            // The server re-issued the caller's cookie (after logging the caller out
            // everywhere): keep working with the new one.
            if self.auth.knows_current_session() {
                self.cookie.replace(token).await;
            }
        }
        Ok(response)
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

    /// Confirms that `guid` is a user before a revocation by id: `logoutall` with a
    /// well-formed unknown GUID resolves to the placeholder "lost user" and answers
    /// 200 (`UserManager.GetUsersAsync` returns `Constants.LostUser`), while
    /// `GET people/{userid}` answers 404 `ItemNotFoundException`. Ids this adapter's
    /// own lookups answered are known and not asked again.
    async fn confirm_user(&self, guid: &str) -> Result<()> {
        if self.known.contains(guid) {
            return Ok(());
        }
        let response = self
            .send(|| {
                self.http
                    .request(Method::GET, PEOPLE_BY_ID)
                    .param(guid.to_owned())
            })
            .await?;
        let route = "people/{userid}";
        match crate::decode::employee(route, response.status().as_u16(), response.body())
            .map_err(|e| e.with_retries(response.retries()))?
        {
            UserLookup::Found(user) if user.id.as_str().eq_ignore_ascii_case(guid) => {
                self.known.remember(guid);
                Ok(())
            }
            UserLookup::Found(user) => Err(Error::new(
                ErrorKind::IdentityMismatch,
                format!(
                    "people/{guid} answered with user {}: the server ignored the id, so nothing was done",
                    user.id
                ),
            )),
            UserLookup::NotFound { evidence } => Err(Error::new(
                ErrorKind::NotFound,
                format!("DocSpace has no user with id {guid} ({evidence})"),
            )
            .with_status(404)),
            _ => Err(Error::new(ErrorKind::Decode, "unexpected lookup answer")),
        }
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

/// `config check`: one page of the caller's own sessions.
#[async_trait]
impl unisession_http::Adapter for DocSpaceProvider {
    fn base_url(&self) -> &unisession_http::Url {
        self.http.base_url()
    }

    async fn check_credential(&self) -> Result<String> {
        let page = self.list_sessions(&ListQuery::new().with_limit(1)).await?;
        Ok(format!(
            "credential accepted ({} session(s) of its own on the first page)",
            page.items.len()
        ))
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
    /// be a GUID, of a user `GET people/{userid}` knows (the server answers 200 for
    /// any GUID; an unknown one is [`ErrorKind::NotFound`] here). Targeting the
    /// caller's own user also ends the caller's credential; with a personal token or
    /// login the adapter adopts the cookie DocSpace re-issues.
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
        let guid = guid.hyphenated().to_string();
        self.confirm_user(&guid)
            .await
            .map_err(|e| self.fail(e, op))?;
        let response = self
            .send(|| {
                self.http
                    .request(Method::PUT, LOGOUT_ALL)
                    .param(guid.clone())
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

    /// `GET people/email?email=`: a 404 `ItemNotFoundException` is
    /// [`UserLookup::NotFound`]; a user is returned only if the record's `email` is
    /// the one asked for. The address is sent as given: the server trims it and
    /// matches it case-insensitively on MySQL, case-sensitively on PostgreSQL.
    async fn find_user(&self, email: &Email) -> Result<UserLookup> {
        let op = Some(Operation::FindUser);
        let address = email.as_str().to_owned();
        let response = self
            .send(|| {
                self.http
                    .request(Method::GET, PEOPLE_BY_EMAIL)
                    .query("email", address.clone())
            })
            .await
            .map_err(|e| self.fail(e, op))?;
        let lookup =
            crate::decode::employee("people/email", response.status().as_u16(), response.body())
                .map_err(|e| self.fail(e.with_retries(response.retries()), op))?;
        if let UserLookup::Found(user) = &lookup {
            email
                .confirm(user.email.as_deref(), "people/email", &user.id)
                .map_err(|e| self.fail(e, op))?;
            self.known.remember(&user.id.as_str().to_ascii_lowercase());
        }
        Ok(lookup)
    }

    /// `GET people/filter?count=&startIndex=`: the directory in the server's order,
    /// at most 100 a page, the cursor being the next `startIndex`. No `employeeStatus`
    /// is sent, so a DocSpace admin sees everyone, terminated and invited people
    /// included, each with its status (other room or People admins see no terminated
    /// people; users and guests are refused with 403). Listed ids are remembered as
    /// known, so a revocation of one found here needs no `people/{userid}` first.
    async fn list_users(&self, query: &ListQuery) -> Result<Page<Account>> {
        let op = Some(Operation::ListUsers);
        self.capabilities
            .require(Operation::ListUsers)
            .map_err(|e| self.fail(e, op))?;
        if query.user.is_some() {
            return Err(self.fail(Error::invalid_input("list_users takes no user filter"), op));
        }
        if query.limit == Some(0) {
            return Err(self.fail(Error::invalid_input("a page size of 0 was asked for"), op));
        }
        let start_index: u64 = match &query.cursor {
            None => 0,
            Some(cursor) => cursor.as_str().parse().map_err(|_| {
                self.fail(
                    Error::invalid_input(format!(
                        "{cursor:?} is not a cursor of DocSpace's user listing"
                    )),
                    op,
                )
            })?,
        };
        let count = query
            .limit
            .unwrap_or(MAX_PEOPLE_PAGE)
            .clamp(1, MAX_PEOPLE_PAGE);
        let response = self
            .send(|| {
                self.http
                    .request(Method::GET, PEOPLE_FILTER)
                    .query("count", count.to_string())
                    .query("startIndex", start_index.to_string())
            })
            .await
            .map_err(|e| self.fail(e, op))?;
        let page = crate::decode::people(
            response.status().as_u16(),
            response.body(),
            start_index,
            count,
        )
        .map_err(|e| self.fail(e.with_retries(response.retries()), op))?;
        for account in &page.items {
            self.known
                .remember(&account.user.id.as_str().to_ascii_lowercase());
        }
        Ok(page)
    }

    /// `GET people/@self`: the id of the credential's own account.
    async fn current_user(&self) -> Result<UserId> {
        let op = Some(Operation::CurrentUser);
        let response = self
            .send(|| self.http.request(Method::GET, PEOPLE_SELF))
            .await
            .map_err(|e| self.fail(e, op))?;
        let id = crate::decode::own_id(response.status().as_u16(), response.body())
            .map_err(|e| self.fail(e.with_retries(response.retries()), op))?;
        self.known.remember(&id.as_str().to_ascii_lowercase());
        Ok(id)
    }
}
