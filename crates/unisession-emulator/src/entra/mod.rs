//! The Microsoft Entra ID emulator: Microsoft Graph v1.0 users and
//! `revokeSignInSessions`, and the identity platform's token endpoint for the client
//! credentials grant.
//!
//! Wire format as `shared/research/entra.md` records it from the Graph metadata
//! (`cleanMetadata.xml`, commit f54f11b6), the OpenAPI excerpt and the docs:
//! - `POST /v1.0/users/{id | userPrincipalName}/revokeSignInSessions` (also
//!   `…/microsoft.graph.revokeSignInSessions`) answers **200**
//!   `{"@odata.context":"…$metadata#Edm.Boolean","value":true}` (the known issue: the
//!   documented 204 never comes; the `answer_204` switch gives it), and resets
//!   `signInSessionsValidFromDateTime` to now (after `revocation_delay`: "a small
//!   delay of a few minutes"). For a **guest** (`userType` Guest) it answers the same
//!   and does nothing ("doesn't revoke sign-in sessions for external users"); in a
//!   **B2C** tenant (`b2c`) it resets the time while refresh tokens keep working
//!   (msgraph-sdk-dotnet#3019). A privileged target answers 403
//!   `Authorization_RequestDenied` "Access to invalidate refresh tokens operation is
//!   denied."; an unknown user 404 `Request_ResourceNotFound`.
//! - No listing of sessions exists; `signInSessionsValidFromDateTime` is returned only
//!   on `$select`.
//! - `GET /v1.0/users?$filter=` takes `eq` on `mail` and `userPrincipalName` (values
//!   case-insensitive), `otherMails/any(x:x eq '…')` and `proxyAddresses/any(x:x eq
//!   '…')`, joined by `or`, with `''` for a quote; `@odata.nextLink` pages of `$top`
//!   (default 100). `GET /v1.0/users/{id | userPrincipalName}`.
//! - Errors: `{"error":{"code","message","innerError":{"date","request-id"}}}`; 429
//!   `TooManyRequests` with a `Retry-After` in seconds (decimals allowed) and
//!   `x-ms-throttle-scope`/`x-ms-throttle-information`.
//! - `POST /{tenant}/oauth2/v2.0/token`: `client_credentials` with `client_secret` or
//!   a `client_assertion` (RS256, header `x5t` naming the registered certificate,
//!   signature verified with jsonwebtoken; `aud` the token endpoint, `iss` = `sub` =
//!   client id); scope `https://graph.microsoft.com/.default`; `expires_in` 3599;
//!   errors `{"error","error_description":"AADSTS…","error_codes":[…]}`.
//!
//! Where the research is silent, the emulator guesses, and says so here:
//! - Lambda filters are served without `ConsistencyLevel: eventual` (Graph may ask
//!   for the advanced query path); new users are visible to `$filter` after
//!   `filter_lag` (eventual consistency), to `GET /users/{id}` at once.
//! - The application permissions: the main app holds `User.Read.All` and
//!   `User.RevokeSessions.All`; the reader app only `User.Read.All` (revocation is 403
//!   `Authorization_RequestDenied` "Insufficient privileges to complete the operation.").
//! - The throttling budget is 3,500 resource units per 10 s (a small tenant), one unit
//!   per call; enforced only under `Faults::with_enforced_limits`.
//!
//! The [`Misleading`](crate::Misleading) switches: the `$filter` lookup may answer
//! another person or (ignoring the filter) everybody; `revokeSignInSessions` may
//! answer 200 for ids nobody has.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router, middleware};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::common::{self, Common, FaultStyle, Provider, SlidingWindow};
use crate::dataset::Dataset;
use crate::faults::Faults;

mod auth;
mod handle;
mod routes;

pub use handle::*;

/// Entra-specific switches.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EntraConfig {
    /// How long after `revokeSignInSessions` the reset shows.
    pub revocation_delay: Duration,
    /// Answer `revokeSignInSessions` with the documented 204 instead of the real 200.
    pub answer_204: bool,
    /// An Azure AD B2C tenant: the reset shows, refresh tokens keep working.
    pub b2c: bool,
    /// How long a new user stays out of `$filter` results.
    pub filter_lag: Duration,
    /// How long an access token lives (Entra: 3599 s).
    pub access_token_lifetime: Duration,
}

impl Default for EntraConfig {
    fn default() -> Self {
        Self {
            revocation_delay: Duration::ZERO,
            answer_204: false,
            b2c: false,
            filter_lag: Duration::ZERO,
            access_token_lifetime: Duration::from_secs(3599),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct User {
    pub(crate) id: String,
    pub(crate) upn: String,
    pub(crate) mail: Option<String>,
    pub(crate) other_mails: Vec<String>,
    pub(crate) proxy_addresses: Vec<String>,
    display: String,
    pub(crate) guest: bool,
    pub(crate) privileged: bool,
    pub(crate) valid_from: DateTime<Utc>,
    /// A reset requested and not yet applied: (applies at, new value, whether it ends
    /// the refresh tokens issued before; not in B2C).
    pub(crate) pending: Option<(Instant, DateTime<Utc>, bool)>,
    /// The refresh tokens (sign-in sessions) issued to apps, by when.
    pub(crate) tokens: Vec<DateTime<Utc>>,
    pub(crate) added: Instant,
}

impl User {
    /// Applies a pending reset whose time has come.
    pub(crate) fn settle(&mut self) {
        if let Some((at, value, ends_tokens)) = self.pending {
            if Instant::now() >= at {
                self.valid_from = value;
                self.pending = None;
                if ends_tokens {
                    self.tokens.retain(|issued| *issued >= value);
                }
            }
        }
    }
}

/// The credentials an Entra emulator accepts.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EntraCredentials {
    /// The directory (tenant) id.
    pub tenant_id: String,
    /// The app registration with `User.Read.All` and `User.RevokeSessions.All`.
    pub client_id: String,
    /// Its client secret.
    pub client_secret: String,
    /// The thumbprint (`x5t`) of its certificate, whose key is
    /// [`keys::RSA_PRIVATE_KEY`](crate::keys::RSA_PRIVATE_KEY).
    pub certificate_thumbprint: String,
    /// An app with `User.Read.All` only.
    pub reader_client_id: String,
    /// Its client secret.
    pub reader_client_secret: String,
}

impl std::fmt::Debug for EntraCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EntraCredentials")
            .field("tenant_id", &self.tenant_id)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

pub(crate) struct AccessToken {
    pub(crate) can_revoke: bool,
    pub(crate) expires: Instant,
}

pub(crate) struct Data {
    pub(crate) users: Vec<User>,
    pub(crate) access_tokens: HashMap<String, AccessToken>,
    pub(crate) rng: fastrand::Rng,
}

pub(crate) struct Entra {
    pub(crate) common: Common,
    pub(crate) data: Mutex<Data>,
    pub(crate) limiter: SlidingWindow,
    pub(crate) credentials: EntraCredentials,
    pub(crate) config: Mutex<EntraConfig>,
}

impl Provider for Entra {
    fn common(&self) -> &Common {
        &self.common
    }

    fn snapshot(&self) -> Value {
        let data = self.data();
        json!({"users": data.users.len()})
    }
}

struct EntraFaults;

impl FaultStyle for EntraFaults {
    fn server_error(&self) -> Response {
        graph_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "serviceNotAvailable",
            "The service is temporarily unavailable.",
        )
    }

    fn rate_limited(&self, retry_after: Duration, _: &Faults) -> Response {
        throttled(retry_after)
    }
}

/// Graph's error envelope.
pub(crate) fn graph_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({
            "error": {
                "code": code,
                "message": message,
                "innerError": {
                    "date": Utc::now().format("%Y-%m-%dT%H:%M:%S").to_string(),
                    "request-id": uuid::Uuid::from_u128(fastrand::u128(..)).to_string(),
                    "client-request-id": uuid::Uuid::from_u128(fastrand::u128(..)).to_string(),
                },
            }
        })),
    )
        .into_response()
}

/// 429 `TooManyRequests` with a `Retry-After` in seconds (decimals allowed).
pub(crate) fn throttled(wait: Duration) -> Response {
    let mut response = (
        StatusCode::TOO_MANY_REQUESTS,
        Json(json!({
            "error": {
                "code": "TooManyRequests",
                "message": "Please retry again later.",
                "innerError": {
                    "code": "429",
                    "date": Utc::now().format("%Y-%m-%dT%H:%M:%S").to_string(),
                    "message": "Please retry after",
                    "request-id": uuid::Uuid::from_u128(fastrand::u128(..)).to_string(),
                    "status": "429",
                },
            }
        })),
    )
        .into_response();
    let headers = response.headers_mut();
    headers.insert(header::RETRY_AFTER, common::retry_after_value(wait));
    headers.insert(
        "x-ms-throttle-scope",
        HeaderValue::from_static("Tenant_Application/ReadWrite/app/tenant"),
    );
    headers.insert(
        "x-ms-throttle-information",
        HeaderValue::from_static("ResourceUnitLimitExceeded"),
    );
    response
}

pub(crate) fn graph_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn guid(rng: &mut fastrand::Rng) -> String {
    uuid::Uuid::from_u128(rng.u128(..)).to_string()
}

impl Entra {
    pub(crate) fn new(
        dataset: &Dataset,
        config: &EntraConfig,
        faults: Faults,
        log_capacity: usize,
    ) -> Self {
        let seed = dataset.config().seed;
        let mut rng = fastrand::Rng::with_seed(seed ^ 0xE1A7);
        let long_ago = Utc::now() - chrono::Duration::days(30);
        let mut users = Vec::new();
        for (i, person) in dataset.people().iter().enumerate() {
            let local = person.email.split('@').next().unwrap_or("user");
            // Every third person signs in with a UPN that is not their mail.
            let upn = if i % 3 == 2 {
                format!("{local}@corp.onmicrosoft.com")
            } else {
                person.email.clone()
            };
            let tokens = dataset
                .sessions(person, 5)
                .iter()
                .map(|s| s.login_at.max(long_ago + chrono::Duration::days(1)))
                .collect();
            users.push(User {
                id: guid(&mut rng),
                upn,
                mail: Some(person.email.clone()),
                other_mails: Vec::new(),
                proxy_addresses: vec![format!("SMTP:{}", person.email)],
                display: person.display_name(),
                guest: false,
                privileged: false,
                valid_from: long_ago,
                pending: None,
                tokens,
                added: Instant::now() - Duration::from_secs(86_400),
            });
        }
        let credentials = EntraCredentials {
            tenant_id: guid(&mut rng),
            client_id: guid(&mut rng),
            client_secret: format!("eNt~{}", crate::okta::alnum(&mut rng, 36)),
            certificate_thumbprint: crate::okta::alnum(&mut rng, 27),
            reader_client_id: guid(&mut rng),
            reader_client_secret: format!("eNt~{}", crate::okta::alnum(&mut rng, 36)),
        };
        Self {
            common: Common::new("entra", faults, seed, log_capacity, EntraFaults),
            data: Mutex::new(Data {
                users,
                access_tokens: HashMap::new(),
                rng: fastrand::Rng::with_seed(seed ^ 0xE1A8),
            }),
            limiter: SlidingWindow::default(),
            credentials,
            config: Mutex::new(config.clone()),
        }
    }

    pub(crate) fn data(&self) -> MutexGuard<'_, Data> {
        let mut data = self.data.lock().expect("entra state lock");
        for user in &mut data.users {
            user.settle();
        }
        data
    }

    pub(crate) fn config(&self) -> EntraConfig {
        self.config.lock().expect("entra config lock").clone()
    }

    pub(crate) fn router(self: Arc<Self>) -> Router {
        Router::new()
            .route("/v1.0/users", get(routes::list_users))
            .route("/v1.0/users/{id}", get(routes::get_user))
            .route("/v1.0/users/{id}/{action}", post(routes::revoke))
            .route("/{tenant}/oauth2/v2.0/token", post(auth::token))
            .fallback(|| async { graph_error(StatusCode::NOT_FOUND, "UnknownError", "") })
            .merge(common::control_routes::<Entra>())
            .layer(middleware::from_fn_with_state(
                self.clone(),
                common::common_layer::<Entra>,
            ))
            .with_state(self)
    }

    /// The caller's token, from `Authorization: Bearer`; the error answer otherwise.
    pub(crate) fn caller(&self, headers: &HeaderMap) -> Result<bool, Response> {
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        let Some(token) = token.filter(|t| !t.is_empty()) else {
            return Err(graph_error(
                StatusCode::UNAUTHORIZED,
                "InvalidAuthenticationToken",
                "Access token is empty.",
            ));
        };
        let data = self.data.lock().expect("entra state lock");
        match data.access_tokens.get(token) {
            Some(access) if access.expires > Instant::now() => Ok(access.can_revoke),
            Some(_) => Err(graph_error(
                StatusCode::UNAUTHORIZED,
                "InvalidAuthenticationToken",
                "Lifetime validation failed, the token is expired.",
            )),
            None => Err(graph_error(
                StatusCode::UNAUTHORIZED,
                "InvalidAuthenticationToken",
                "Access token validation failure. Invalid audience.",
            )),
        }
    }

    /// One resource unit from the app's budget (3,500 per 10 s), when enforced.
    pub(crate) fn limit(&self) -> Result<(), Response> {
        let faults = self.common.faults();
        if !faults.enforce_rate_limits {
            return Ok(());
        }
        let window = faults.scaled(Duration::from_secs(10));
        match self.limiter.check("app", 3_500, window) {
            common::Limit::Allowed { .. } => Ok(()),
            common::Limit::Refused { retry_after } => Err(throttled(retry_after)),
        }
    }

    pub(crate) fn user_index(data: &Data, key: &str) -> Option<usize> {
        data.users
            .iter()
            .position(|u| u.id.eq_ignore_ascii_case(key) || u.upn.eq_ignore_ascii_case(key))
    }

    /// The user's default properties, and those `$select` names.
    pub(crate) fn user_json(user: &User, select: Option<&str>) -> Value {
        let mut all = BTreeMap::new();
        all.insert("id", json!(user.id));
        all.insert("userPrincipalName", json!(user.upn));
        all.insert("mail", json!(user.mail));
        all.insert("displayName", json!(user.display));
        all.insert("otherMails", json!(user.other_mails));
        all.insert("proxyAddresses", json!(user.proxy_addresses));
        all.insert(
            "userType",
            json!(if user.guest { "Guest" } else { "Member" }),
        );
        all.insert(
            "externalUserState",
            if user.guest {
                json!("Accepted")
            } else {
                Value::Null
            },
        );
        all.insert("accountEnabled", json!(true));
        all.insert(
            "signInSessionsValidFromDateTime",
            json!(graph_time(user.valid_from)),
        );
        let defaults = ["id", "userPrincipalName", "mail", "displayName"];
        let wanted: Vec<&str> = match select {
            Some(list) => list.split(',').map(str::trim).collect(),
            None => defaults.to_vec(),
        };
        let mut out = serde_json::Map::new();
        for key in wanted {
            if let Some(value) = all.get(key) {
                out.insert(key.to_owned(), value.clone());
            }
        }
        Value::Object(out)
    }
}
