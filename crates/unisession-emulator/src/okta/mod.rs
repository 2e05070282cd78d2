//! The Okta emulator: the Management API's users, sessions and System Log, and the
//! org authorization server's token endpoint for OAuth 2.0 service apps.
//!
//! Wire format as `shared/research/okta.md` records it from the management spec
//! (`okta-management-openapi-spec`, release 2026.06.3) and the developer docs:
//! - `DELETE /api/v1/users/{userId}/sessions?oauthTokens=&forgetDevices=` answers 204
//!   with no body and no count (MGMT:28543–28588); it takes an **id** only (a login
//!   is a 404); `oauthTokens` defaults to **false** (refresh tokens survive unless
//!   asked), `forgetDevices` to true on Identity Engine and false on Classic (a switch).
//!   It clears the Okta sessions only: "doesn't clear the sessions created for web or
//!   native apps".
//! - `GET`/`DELETE /api/v1/sessions/{id}`: 200 Session / 204; an unknown id is 404
//!   (E0000007 on DELETE, a bare 404 on GET). The Session object has no device, IP or
//!   user agent.
//! - There is no listing of a user's sessions (research §2.3): none is served.
//! - `GET /api/v1/users/{id}` takes an id, a login or a login shortname;
//!   `GET /api/v1/users?search=profile.email eq "…"` matches values case-insensitively
//!   and includes `DEPROVISIONED` users; `filter=` matches values case-sensitively;
//!   a plain list leaves `DEPROVISIONED` users out; pages follow `Link: <…>; rel="next"`.
//! - `GET /api/v1/logs?since=&until=&filter=&limit=&after=`: `user.session.clear`
//!   (target: the user), `app.oauth2.token.revoke.implicit.user` and
//!   `user.session.start` (actor: the user) events; `filter` takes `eq` clauses on
//!   `eventType`, `target.id` and `actor.id` joined by `and`.
//! - Errors are `{"errorCode","errorSummary","errorLink","errorId","errorCauses"}`
//!   with the codes of `data/error-codes.json`: E0000004/E0000011 (401), E0000005 and
//!   E0000006 (403), E0000007 (404, "Not found: Resource not found: X (User)"),
//!   E0000038 (403), E0000047 (429). Every answer carries `X-Okta-Request-Id` and
//!   `X-Rate-Limit-Limit`, `-Remaining` and `-Reset` (epoch seconds); a 429 has **no
//!   `Retry-After`**.
//! - Credentials: `Authorization: SSWS {api token}` (acting as the admin who made it),
//!   or `Bearer {access token}` from `POST /oauth2/v1/token` (client credentials with
//!   a `private_key_jwt` assertion whose signature, `aud`, `iss` = `sub` = client id,
//!   `exp` (at most an hour after `iat`) and unused `jti` are checked). A token
//!   without the route's scope is 403 with `WWW-Authenticate: Bearer …
//!   error="insufficient_scope"`.
//!
//! Where the research is silent, the emulator guesses, and says so here:
//! - A user with no session still answers 204, and emits `user.session.clear`.
//! - `DELETE …/sessions` of a `DEPROVISIONED` user answers 403 E0000038 only when the
//!   `deprovisioned_refused` switch is on (default: 204).
//! - Missing credentials are 401 E0000011; the per-bucket limits are the last
//!   published Workforce numbers (users by id 2000/min, user lists 600, logs 120,
//!   sessions 750, the rest 1200), per org, not per token. Without enforced limits
//!   (`Faults::with_enforced_limits`) no `X-Rate-Limit-*` header is sent.
//! - `filter` takes `eq` clauses joined by `and` and `or`, with parentheses.
//! - The token endpoint's error descriptions are this emulator's wording.
//!
//! The [`Misleading`](crate::Misleading) switches: the email search may answer another
//! person or (ignoring its filter) everyone; `DELETE …/sessions` may answer 204 for ids
//! nobody has; the System Log may lag (`log_delay`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router, middleware};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::common::{self, Common, FaultStyle, FixedWindow, Provider};
use crate::dataset::Dataset;
use crate::faults::Faults;

mod auth;
mod handle;
mod routes;

pub use handle::*;

const PROVIDER_STREAM: u64 = 4;

/// Which Okta engine the org runs: it decides `forgetDevices`' default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum OktaEngine {
    /// Identity Engine: `forgetDevices` defaults to true.
    #[default]
    Identity,
    /// Classic Engine: `forgetDevices` defaults to false.
    Classic,
}

/// Okta-specific switches.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OktaConfig {
    /// The engine (the default of `forgetDevices`).
    pub engine: OktaEngine,
    /// How long a System Log event takes to show ("near real-time").
    pub log_delay: Duration,
    /// How long an access token of the token endpoint lives (Okta: an hour).
    pub access_token_lifetime: Duration,
    /// `DELETE /users/{id}/sessions` of a deprovisioned user answers 403 E0000038.
    pub deprovisioned_refused: bool,
    /// How long a new user stays out of `search` results ("sourced from an
    /// eventually consistent datasource"); lookups by id or login see them at once.
    pub search_lag: Duration,
}

impl Default for OktaConfig {
    fn default() -> Self {
        Self {
            engine: OktaEngine::Identity,
            log_delay: Duration::ZERO,
            access_token_lifetime: Duration::from_secs(3600),
            deprovisioned_refused: false,
            search_lag: Duration::ZERO,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct User {
    pub(crate) id: String,
    pub(crate) login: String,
    pub(crate) email: String,
    first: String,
    last: String,
    pub(crate) status: &'static str,
    created: DateTime<Utc>,
    last_login: Option<DateTime<Utc>>,
    pub(crate) remembered_factors: bool,
    /// Refresh tokens by client id.
    pub(crate) tokens: BTreeMap<String, Vec<String>>,
    /// When it was added (search lags behind).
    pub(crate) added: Instant,
}

#[derive(Debug, Clone)]
pub(crate) struct OktaSession {
    pub(crate) user: usize,
    created: DateTime<Utc>,
    expires: DateTime<Utc>,
    amr: &'static [&'static str],
}

#[derive(Debug, Clone)]
pub(crate) struct Event {
    uuid: String,
    pub(crate) published: DateTime<Utc>,
    pub(crate) event_type: &'static str,
    /// (id, type, alternateId, displayName)
    actor: (String, &'static str, String, String),
    targets: Vec<(String, &'static str, String, String)>,
    /// When a client can read it (the log lags).
    visible_at: Instant,
}

/// The credentials an Okta emulator accepts.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OktaCredentials {
    /// An API token (`SSWS`) of a Super Administrator.
    pub api_token: String,
    /// An API token of a Read-Only Administrator: reads, and 403 E0000006 on changes.
    pub read_only_token: String,
    /// A revoked API token: 401 E0000011.
    pub revoked_token: String,
    /// The client id of the OAuth 2.0 service app (`private_key_jwt`), granted
    /// `okta.users.read`, `okta.users.manage`, `okta.sessions.read`,
    /// `okta.sessions.manage` and `okta.logs.read`. Its keys are
    /// [`keys::RSA_PRIVATE_KEY`](crate::keys::RSA_PRIVATE_KEY) and
    /// [`keys::EC_PRIVATE_KEY`](crate::keys::EC_PRIVATE_KEY), key ids `rsa-1` and `ec-1`.
    pub client_id: String,
}

impl std::fmt::Debug for OktaCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OktaCredentials")
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Caller {
    /// An API token acting as the user at this index.
    Admin(usize),
    /// A read-only admin's API token.
    ReadOnly(usize),
    /// An access token with these scopes.
    Service,
}

/// A bucket's state after a call, for its headers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bucket {
    pub(crate) limit: u32,
    pub(crate) remaining: u32,
    pub(crate) reset: Duration,
    pub(crate) precise: bool,
}

pub(crate) struct AccessToken {
    pub(crate) scopes: HashSet<String>,
    pub(crate) expires: Instant,
}

pub(crate) struct Data {
    pub(crate) users: Vec<User>,
    pub(crate) sessions: BTreeMap<String, OktaSession>,
    pub(crate) events: Vec<Event>,
    pub(crate) access_tokens: HashMap<String, AccessToken>,
    pub(crate) used_jti: HashSet<String>,
    rng: fastrand::Rng,
}

pub(crate) struct Okta {
    pub(crate) common: Common,
    pub(crate) data: Mutex<Data>,
    pub(crate) limiter: FixedWindow,
    pub(crate) credentials: OktaCredentials,
    pub(crate) config: OktaConfig,
    /// The admin behind the API tokens.
    admin: usize,
    reader: usize,
}

impl Provider for Okta {
    fn common(&self) -> &Common {
        &self.common
    }

    fn snapshot(&self) -> Value {
        let data = self.data();
        json!({
            "users": data.users.len(),
            "sessions": data.sessions.len(),
            "events": data.events.len(),
        })
    }
}

struct OktaFaults;

impl FaultStyle for OktaFaults {
    fn server_error(&self) -> Response {
        error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "E0000009",
            "Internal Server Error",
        )
    }

    fn rate_limited(&self, retry_after: Duration, faults: &Faults) -> Response {
        let precise = faults.time_scale > 1.0 || retry_after < Duration::from_secs(1);
        rate_limited(1200, retry_after, precise)
    }
}

/// Okta's error body.
pub(crate) fn error(status: StatusCode, code: &str, summary: &str) -> Response {
    let id = format!("oae{}", alnum(&mut fastrand::Rng::new(), 22));
    (
        status,
        Json(json!({
            "errorCode": code,
            "errorSummary": summary,
            "errorLink": code,
            "errorId": id,
            "errorCauses": [],
        })),
    )
        .into_response()
}

/// 404 E0000007 naming the resource, as Okta does: `Not found: Resource not found: X (User)`.
pub(crate) fn not_found(what: &str, kind: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "E0000007",
        &format!("Not found: Resource not found: {what} ({kind})"),
    )
}

/// 429 E0000047 with the bucket's headers: the reset is an epoch second; no
/// `Retry-After`.
pub(crate) fn rate_limited(limit: u32, wait: Duration, precise: bool) -> Response {
    let mut response = error(
        StatusCode::TOO_MANY_REQUESTS,
        "E0000047",
        "API call exceeded rate limit due to too many requests.",
    );
    set_limit_headers(response.headers_mut(), limit, 0, wait, precise);
    response
}

/// The bucket's headers. The reset is the epoch second the window ends (rounded up,
/// as Okta announces it); `precise` (scaled time, or a sub-second injected wait)
/// gives it with decimals instead, since whole seconds would outlast the window.
pub(crate) fn set_limit_headers(
    headers: &mut HeaderMap,
    limit: u32,
    remaining: u32,
    reset: Duration,
    precise: bool,
) {
    let reset_at = std::time::SystemTime::now() + reset;
    let epoch = reset_at
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    let epoch = if precise {
        format!("{epoch:.3}")
    } else {
        format!("{}", epoch.ceil() as u64)
    };
    for (name, value) in [
        ("x-rate-limit-limit", limit.to_string()),
        ("x-rate-limit-remaining", remaining.to_string()),
        ("x-rate-limit-reset", epoch),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    // The wall-clock time the reset is counted from, as Okta's own clients read it.
    if let Ok(value) = HeaderValue::from_str(&httpdate_now()) {
        headers.insert(header::DATE, value);
    }
}

fn httpdate_now() -> String {
    Utc::now().format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

pub(crate) fn okta_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

pub(crate) fn alnum(rng: &mut fastrand::Rng, n: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    (0..n)
        .map(|_| ALPHABET[rng.usize(..ALPHABET.len())] as char)
        .collect()
}

impl Okta {
    pub(crate) fn new(
        dataset: &Dataset,
        config: &OktaConfig,
        faults: Faults,
        log_capacity: usize,
    ) -> Self {
        let seed = dataset.config().seed;
        let mut rng = fastrand::Rng::with_seed(seed ^ 0x0C7A);
        let mut users = Vec::new();
        let mut sessions = BTreeMap::new();
        for person in dataset.people() {
            users.push(User {
                id: format!("00u{}", alnum(&mut rng, 17)),
                login: person.email.clone(),
                email: person.email.clone(),
                first: person.first_name.clone(),
                last: person.last_name.clone(),
                status: "ACTIVE",
                created: crate::dataset::epoch() - chrono::Duration::days(400),
                last_login: None,
                remembered_factors: true,
                tokens: BTreeMap::new(),
                added: Instant::now() - Duration::from_secs(86_400),
            });
            let index = users.len() - 1;
            let seeded = dataset.sessions(person, PROVIDER_STREAM);
            for s in &seeded {
                let id = format!("102{}", alnum(&mut rng, 22));
                sessions.insert(
                    id,
                    OktaSession {
                        user: index,
                        created: s.login_at,
                        expires: Utc::now() + chrono::Duration::hours(2),
                        amr: if rng.bool() {
                            &["pwd", "mfa"]
                        } else {
                            &["pwd"]
                        },
                    },
                );
            }
            users[index].last_login = seeded.iter().map(|s| s.login_at).max();
            // Apps the person signed in to with OAuth keep refresh tokens.
            for client in ["0oaSlackApp", "0oaMailClient"] {
                users[index].tokens.insert(
                    client.to_owned(),
                    vec![format!("oar{}", alnum(&mut rng, 17))],
                );
            }
        }
        // Someone who left long ago: deprovisioned, no session, still found by search.
        users.push(User {
            id: format!("00u{}", alnum(&mut rng, 17)),
            login: "former.employee@corp.example".into(),
            email: "former.employee@corp.example".into(),
            first: "Former".into(),
            last: "Employee".into(),
            status: "DEPROVISIONED",
            created: crate::dataset::epoch() - chrono::Duration::days(900),
            last_login: None,
            remembered_factors: false,
            tokens: BTreeMap::new(),
            added: Instant::now() - Duration::from_secs(86_400),
        });
        let credentials = OktaCredentials {
            api_token: format!("00{}", alnum(&mut rng, 40)),
            read_only_token: format!("00{}", alnum(&mut rng, 40)),
            revoked_token: format!("00{}", alnum(&mut rng, 40)),
            client_id: format!("0oa{}", alnum(&mut rng, 17)),
        };
        let reader = if users.len() > 2 { 1 } else { 0 };
        Self {
            common: Common::new("okta", faults, seed, log_capacity, OktaFaults),
            data: Mutex::new(Data {
                users,
                sessions,
                events: Vec::new(),
                access_tokens: HashMap::new(),
                used_jti: HashSet::new(),
                rng: fastrand::Rng::with_seed(seed ^ 0x0C7B),
            }),
            limiter: FixedWindow::default(),
            credentials,
            config: config.clone(),
            admin: 0,
            reader,
        }
    }

    pub(crate) fn data(&self) -> MutexGuard<'_, Data> {
        self.data.lock().expect("okta state lock")
    }

    pub(crate) fn router(self: Arc<Self>) -> Router {
        Router::new()
            .route("/api/v1/users", get(routes::list_users))
            .route("/api/v1/users/{id}", get(routes::get_user))
            .route(
                "/api/v1/users/{id}/sessions",
                delete(routes::revoke_user_sessions),
            )
            .route(
                "/api/v1/sessions/{id}",
                get(routes::get_session).delete(routes::revoke_session),
            )
            .route("/api/v1/logs", get(routes::logs))
            .route("/oauth2/v1/token", post(auth::token))
            .fallback(|| async { not_found_route() })
            .merge(common::control_routes::<Okta>())
            .layer(middleware::from_fn_with_state(
                self.clone(),
                common::common_layer::<Okta>,
            ))
            .with_state(self)
    }

    /// Who is calling, from `Authorization`; the error answer otherwise.
    pub(crate) fn caller(&self, headers: &HeaderMap, scope: &str) -> Result<Caller, Response> {
        let value = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if let Some(token) = value.strip_prefix("SSWS ") {
            let token = token.trim();
            if token == self.credentials.api_token {
                return Ok(Caller::Admin(self.admin));
            }
            if token == self.credentials.read_only_token {
                return Ok(Caller::ReadOnly(self.reader));
            }
            return Err(error(
                StatusCode::UNAUTHORIZED,
                "E0000011",
                "Invalid token provided",
            ));
        }
        if let Some(token) = value.strip_prefix("Bearer ") {
            let data = self.data();
            let Some(access) = data.access_tokens.get(token.trim()) else {
                return Err(error(
                    StatusCode::UNAUTHORIZED,
                    "E0000011",
                    "Invalid token provided",
                ));
            };
            if access.expires <= Instant::now() {
                return Err(error(
                    StatusCode::UNAUTHORIZED,
                    "E0000011",
                    "Invalid token provided",
                ));
            }
            if !access.scopes.contains(scope) {
                let mut response = error(
                    StatusCode::FORBIDDEN,
                    "E0000006",
                    "You do not have permission to perform the requested action",
                );
                let challenge = format!(
                    "Bearer authorization_uri=\"http://{}/oauth2/v1/authorize\", realm=\"IdP\", scope=\"{scope}\", error=\"insufficient_scope\", error_description=\"The access token provided does not contain the required scopes.\"",
                    "okta"
                );
                if let Ok(value) = HeaderValue::from_str(&challenge) {
                    response
                        .headers_mut()
                        .insert(header::WWW_AUTHENTICATE, value);
                }
                return Err(response);
            }
            return Ok(Caller::Service);
        }
        Err(error(
            StatusCode::UNAUTHORIZED,
            "E0000011",
            "Invalid token provided",
        ))
    }

    /// Counts the call against its bucket; the 429 when the bucket is spent. Without
    /// enforced limits the org has no limit to announce: no headers (`None`).
    pub(crate) fn limit(
        &self,
        bucket: &'static str,
        per_minute: u32,
    ) -> Result<Option<Bucket>, Response> {
        let faults = self.common.faults();
        if !faults.enforce_rate_limits {
            return Ok(None);
        }
        let precise = faults.time_scale > 1.0;
        let window = faults.scaled(Duration::from_secs(60));
        match self.limiter.check(bucket, per_minute, window) {
            common::Limit::Allowed { remaining, reset } => Ok(Some(Bucket {
                limit: per_minute,
                remaining,
                reset,
                precise,
            })),
            common::Limit::Refused { retry_after } => {
                Err(rate_limited(per_minute, retry_after, precise))
            }
        }
    }

    /// Appends a System Log event about `user`.
    pub(crate) fn log_event(
        &self,
        data: &mut Data,
        event_type: &'static str,
        actor: Option<usize>,
        target: Option<usize>,
    ) {
        let person = |i: usize, data: &Data| {
            let u = &data.users[i];
            (
                u.id.clone(),
                "User",
                u.login.clone(),
                format!("{} {}", u.first, u.last),
            )
        };
        let actor = match actor {
            Some(i) => person(i, data),
            None => (
                self.credentials.client_id.clone(),
                "PublicClientApp",
                self.credentials.client_id.clone(),
                "unisession".to_owned(),
            ),
        };
        let targets = target.map(|i| vec![person(i, data)]).unwrap_or_default();
        let uuid = uuid::Uuid::from_u128(data.rng.u128(..)).to_string();
        data.events.push(Event {
            uuid,
            published: Utc::now(),
            event_type,
            actor,
            targets,
            visible_at: Instant::now() + self.config.log_delay,
        });
    }

    pub(crate) fn user_json(&self, user: &User) -> Value {
        json!({
            "id": user.id,
            "status": user.status,
            "created": okta_time(user.created),
            "activated": okta_time(user.created),
            "statusChanged": okta_time(user.created),
            "lastLogin": user.last_login.map(okta_time),
            "lastUpdated": okta_time(user.created),
            "passwordChanged": okta_time(user.created),
            "type": {"id": "oty1abcdefGHIJKLMNOP"},
            "profile": {
                "firstName": user.first,
                "lastName": user.last,
                "login": user.login,
                "email": user.email,
            },
            "_links": {"self": {"href": format!("/api/v1/users/{}", user.id)}},
        })
    }

    pub(crate) fn session_json(&self, id: &str, session: &OktaSession, data: &Data) -> Value {
        let user = &data.users[session.user];
        json!({
            "id": id,
            "userId": user.id,
            "login": user.login,
            "createdAt": okta_time(session.created),
            "expiresAt": okta_time(session.expires),
            "status": "ACTIVE",
            "lastPasswordVerification": okta_time(session.created),
            "lastFactorVerification": okta_time(session.created),
            "amr": session.amr,
            "idp": {"id": "00o1abcdefGHIJKLMNOP", "type": "OKTA"},
            "mfaActive": session.amr.contains(&"mfa"),
        })
    }

    pub(crate) fn event_json(event: &Event) -> Value {
        let part = |(id, kind, alternate, display): &(String, &'static str, String, String)| json!({"id": id, "type": kind, "alternateId": alternate, "displayName": display});
        json!({
            "uuid": event.uuid,
            "published": okta_time(event.published),
            "eventType": event.event_type,
            "version": "0",
            "severity": "INFO",
            "displayMessage": match event.event_type {
                "user.session.clear" => "Clear user session",
                "user.session.start" => "User login to Okta",
                "app.oauth2.token.revoke.implicit.user" => "Tokens revoked for user",
                _ => "",
            },
            "actor": part(&event.actor),
            "target": event.targets.iter().map(part).collect::<Vec<_>>(),
            "outcome": {"result": "SUCCESS", "reason": null},
            "authenticationContext": {"externalSessionId": null},
        })
    }

    // ----- state for the handle -----

    pub(crate) fn user_index(data: &Data, id_or_login: &str) -> Option<usize> {
        data.users
            .iter()
            .position(|u| u.id == id_or_login)
            .or_else(|| {
                data.users.iter().position(|u| {
                    u.login.eq_ignore_ascii_case(id_or_login)
                        || u.login
                            .split('@')
                            .next()
                            .is_some_and(|short| short.eq_ignore_ascii_case(id_or_login))
                })
            })
    }

    pub(crate) fn sign_in(&self, user_id: &str) -> Option<String> {
        let mut data = self.data();
        let index = data.users.iter().position(|u| u.id == user_id)?;
        let id = format!("102{}", alnum(&mut data.rng, 22));
        data.sessions.insert(
            id.clone(),
            OktaSession {
                user: index,
                created: Utc::now(),
                expires: Utc::now() + chrono::Duration::hours(2),
                amr: &["pwd", "mfa"],
            },
        );
        data.users[index].last_login = Some(Utc::now());
        self.log_event(&mut data, "user.session.start", Some(index), None);
        Some(id)
    }

    pub(crate) fn add_sessions(&self, user_id: &str, count: usize) -> Vec<String> {
        let mut data = self.data();
        let Some(index) = data.users.iter().position(|u| u.id == user_id) else {
            return Vec::new();
        };
        (0..count)
            .map(|_| {
                let id = format!("102{}", alnum(&mut data.rng, 22));
                data.sessions.insert(
                    id.clone(),
                    OktaSession {
                        user: index,
                        created: Utc::now(),
                        expires: Utc::now() + chrono::Duration::hours(2),
                        amr: &["pwd"],
                    },
                );
                id
            })
            .collect()
    }

    pub(crate) fn add_user(&self, email: &str, login: Option<&str>) -> String {
        let mut data = self.data();
        let id = format!("00u{}", alnum(&mut data.rng, 17));
        data.users.push(User {
            id: id.clone(),
            login: login.unwrap_or(email).to_owned(),
            email: email.to_owned(),
            first: "Added".into(),
            last: "Person".into(),
            status: "ACTIVE",
            created: Utc::now(),
            last_login: None,
            remembered_factors: false,
            tokens: BTreeMap::new(),
            added: Instant::now(),
        });
        id
    }
}

/// An unknown path: a bare 404 (a guess: the research does not record Okta's answer).
fn not_found_route() -> Response {
    (StatusCode::NOT_FOUND, "").into_response()
}
