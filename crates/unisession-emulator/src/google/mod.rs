//! The Google Workspace emulator: the Admin SDK Directory API's users, `signOut`,
//! OAuth tokens and app-specific passwords, and the OAuth 2.0 token endpoint for a
//! service account with domain-wide delegation.
//!
//! Wire format as `shared/research/google.md` records it from the discovery document
//! (`admin.directory_v1.json`, revision 20240709) and the docs:
//! - `POST /admin/directory/v1/users/{userKey}/signOut`: an empty body, answered 204
//!   with no body (the `answer_200` switch gives 200 `{}`); the person's web and device
//!   sessions end (after `sign_out_delay`: "up to 60 minutes" for Gmail). It leaves
//!   OAuth tokens (`tokens.*`) and app-specific passwords (`asps.*`) alone.
//! - `GET /admin/directory/v1/users/{userKey}`: the key is the primary email, an alias
//!   or the numeric id; 404 `notFound` "Resource Not Found: userKey".
//! - `GET …/users/{userKey}/tokens` (one page, `admin#directory#tokenList`),
//!   `DELETE …/tokens/{clientId}` (204); `GET …/asps`, `DELETE …/asps/{codeId}` (204).
//! - Errors: `{"error":{"code","message","errors":[{"domain","reason","message"}]}}`;
//!   quota is **403** `userRateLimitExceeded` (no `Retry-After`); a missing privilege
//!   403 `forbidden` "Not Authorized to access this resource/api".
//! - `POST /token`: the JWT bearer grant (`grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`),
//!   an RS256 assertion signed with the service account's key (verified with
//!   jsonwebtoken), `iss` the service account, `aud` the token endpoint, `sub` the
//!   impersonated administrator, `scope` within the delegated scopes; errors
//!   `unauthorized_client` (a scope not delegated) and `invalid_grant` (a `sub` nobody
//!   has).
//!
//! Where the research is silent, the emulator guesses, and says so here:
//! - A `sub` who is a user but not an administrator gets a token, and every call 403
//!   `forbidden`.
//! - `DELETE …/tokens/{clientId}` of a client without a token is 404 `notFound`.
//! - `signOut` of a suspended user succeeds.
//! - The quota is 2,400 calls a minute for the whole project, enforced only under
//!   `Faults::with_enforced_limits`; injected rate limits are 403 `userRateLimitExceeded`.
//!
//! The [`Misleading`](crate::Misleading) switches: `users.get` by email may answer
//! another person (or the directory's first user); `signOut` may answer 204 for ids
//! nobody has.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
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

/// The scopes the service account is delegated.
pub(crate) const DELEGATED: [&str; 3] = [
    "https://www.googleapis.com/auth/admin.directory.user.security",
    "https://www.googleapis.com/auth/admin.directory.user.readonly",
    "https://www.googleapis.com/auth/admin.reports.audit.readonly",
];

/// Google-specific switches.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct GoogleConfig {
    /// How long after `signOut` the sessions end.
    pub sign_out_delay: Duration,
    /// Answer `signOut` with 200 `{}` instead of 204.
    pub answer_200: bool,
    /// How long an access token lives (Google: 3599 s).
    pub access_token_lifetime: Duration,
}

impl Default for GoogleConfig {
    fn default() -> Self {
        Self {
            sign_out_delay: Duration::ZERO,
            answer_200: false,
            access_token_lifetime: Duration::from_secs(3599),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub(crate) client_id: String,
    pub(crate) display: String,
    pub(crate) scopes: Vec<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct User {
    pub(crate) id: String,
    pub(crate) primary: String,
    pub(crate) aliases: Vec<String>,
    name: String,
    pub(crate) admin: bool,
    pub(crate) suspended: bool,
    pub(crate) last_login: Option<DateTime<Utc>>,
    /// Live web and device sessions (the ground truth of "signed in").
    pub(crate) sessions: usize,
    /// A sign-out requested and not yet applied.
    pub(crate) pending_sign_out: Option<Instant>,
    pub(crate) tokens: Vec<Token>,
    /// App-specific passwords: (code id, name).
    pub(crate) asps: Vec<(i32, String)>,
}

impl User {
    pub(crate) fn settle(&mut self) {
        if self.pending_sign_out.is_some_and(|at| Instant::now() >= at) {
            self.sessions = 0;
            self.pending_sign_out = None;
        }
    }
}

/// The credentials a Google emulator accepts.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct GoogleCredentials {
    /// The service account (`client_email`), whose key is
    /// [`keys::RSA_PRIVATE_KEY`](crate::keys::RSA_PRIVATE_KEY).
    pub service_account: String,
    /// The super administrator it impersonates (`sub`).
    pub admin: String,
    /// The customer id.
    pub customer_id: String,
}

impl std::fmt::Debug for GoogleCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GoogleCredentials")
            .field("service_account", &self.service_account)
            .field("admin", &self.admin)
            .finish_non_exhaustive()
    }
}

pub(crate) struct AccessToken {
    /// Whether the impersonated user is an administrator.
    pub(crate) admin: bool,
    pub(crate) scopes: Vec<String>,
    pub(crate) expires: Instant,
}

pub(crate) struct Data {
    pub(crate) users: Vec<User>,
    pub(crate) access_tokens: HashMap<String, AccessToken>,
    pub(crate) rng: fastrand::Rng,
}

pub(crate) struct Google {
    pub(crate) common: Common,
    pub(crate) data: Mutex<Data>,
    pub(crate) limiter: SlidingWindow,
    pub(crate) credentials: GoogleCredentials,
    pub(crate) config: Mutex<GoogleConfig>,
}

impl Provider for Google {
    fn common(&self) -> &Common {
        &self.common
    }

    fn snapshot(&self) -> Value {
        json!({"users": self.data().users.len()})
    }
}

struct GoogleFaults;

impl FaultStyle for GoogleFaults {
    fn server_error(&self) -> Response {
        api_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "backendError",
            "Backend Error",
        )
    }

    fn rate_limited(&self, _: Duration, _: &Faults) -> Response {
        quota_exceeded()
    }
}

/// Google's error envelope.
pub(crate) fn api_error(status: StatusCode, reason: &str, message: &str) -> Response {
    (
        status,
        Json(json!({
            "error": {
                "code": status.as_u16(),
                "message": message,
                "errors": [{"domain": "global", "reason": reason, "message": message}],
            }
        })),
    )
        .into_response()
}

/// The quota answer: 403 `userRateLimitExceeded`, no `Retry-After`.
pub(crate) fn quota_exceeded() -> Response {
    api_error(
        StatusCode::FORBIDDEN,
        "userRateLimitExceeded",
        "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute per user' of service 'admin.googleapis.com'.",
    )
}

/// A user id as Google gives them: 21 digits.
pub(crate) fn numeric_id(rng: &mut fastrand::Rng) -> String {
    format!("1{:020}", rng.u64(..10_000_000_000_000_000_000))
}

impl Google {
    pub(crate) fn new(
        dataset: &Dataset,
        config: &GoogleConfig,
        faults: Faults,
        log_capacity: usize,
    ) -> Self {
        let seed = dataset.config().seed;
        let mut rng = fastrand::Rng::with_seed(seed ^ 0x6006);
        let mut users = Vec::new();
        for person in dataset.people() {
            let sessions = dataset.sessions(person, 6);
            let local = person.email.split('@').next().unwrap_or("user");
            users.push(User {
                id: numeric_id(&mut rng),
                primary: person.email.clone(),
                aliases: vec![format!("{local}@corp-alias.example")],
                name: person.display_name(),
                admin: person.admin,
                suspended: false,
                last_login: sessions.iter().map(|s| s.login_at).max(),
                sessions: sessions.len(),
                pending_sign_out: None,
                tokens: vec![
                    Token {
                        client_id: "1234567890-mailclient.apps.googleusercontent.com".into(),
                        display: "Mail Client".into(),
                        scopes: vec!["https://mail.google.com/".into()],
                    },
                    Token {
                        client_id: "9876543210-notes.apps.googleusercontent.com".into(),
                        display: "Notes".into(),
                        scopes: vec!["https://www.googleapis.com/auth/drive.file".into()],
                    },
                ],
                asps: vec![(rng.i32(1..1_000_000), "Old phone".into())],
            });
        }
        let admin = users
            .iter()
            .find(|u| u.admin)
            .map(|u| u.primary.clone())
            .unwrap_or_else(|| "admin@corp.example".into());
        let credentials = GoogleCredentials {
            service_account: "unisession@corp-project.iam.gserviceaccount.com".into(),
            admin,
            customer_id: format!("C0{}", crate::okta::alnum(&mut rng, 7)),
        };
        Self {
            common: Common::new("google", faults, seed, log_capacity, GoogleFaults),
            data: Mutex::new(Data {
                users,
                access_tokens: HashMap::new(),
                rng: fastrand::Rng::with_seed(seed ^ 0x6007),
            }),
            limiter: SlidingWindow::default(),
            credentials,
            config: Mutex::new(config.clone()),
        }
    }

    pub(crate) fn data(&self) -> MutexGuard<'_, Data> {
        let mut data = self.data.lock().expect("google state lock");
        for user in &mut data.users {
            user.settle();
        }
        data
    }

    pub(crate) fn config(&self) -> GoogleConfig {
        self.config.lock().expect("google config lock").clone()
    }

    pub(crate) fn router(self: Arc<Self>) -> Router {
        let users = "/admin/directory/v1/users/{key}";
        Router::new()
            .route(users, get(routes::get_user))
            .route(&format!("{users}/signOut"), post(routes::sign_out))
            .route(&format!("{users}/tokens"), get(routes::list_tokens))
            .route(
                &format!("{users}/tokens/{{client}}"),
                delete(routes::delete_token),
            )
            .route(&format!("{users}/asps"), get(routes::list_asps))
            .route(
                &format!("{users}/asps/{{code}}"),
                delete(routes::delete_asp),
            )
            .route("/token", post(auth::token))
            .fallback(|| async { (StatusCode::NOT_FOUND, "Not Found") })
            .merge(common::control_routes::<Google>())
            .layer(middleware::from_fn_with_state(
                self.clone(),
                common::common_layer::<Google>,
            ))
            .with_state(self)
    }

    /// The caller's access, checked for `scope`; the error answer otherwise.
    pub(crate) fn caller(&self, headers: &HeaderMap, scope: &str) -> Result<(), Response> {
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .unwrap_or("");
        let unauthenticated = || {
            api_error(
                StatusCode::UNAUTHORIZED,
                "authError",
                "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.",
            )
        };
        let data = self.data.lock().expect("google state lock");
        let Some(access) = data.access_tokens.get(token) else {
            return Err(unauthenticated());
        };
        if access.expires <= Instant::now() {
            return Err(unauthenticated());
        }
        if !access.admin || !access.scopes.iter().any(|s| s == scope) {
            return Err(api_error(
                StatusCode::FORBIDDEN,
                "forbidden",
                "Not Authorized to access this resource/api",
            ));
        }
        drop(data);
        let faults = self.common.faults();
        if faults.enforce_rate_limits {
            let window = faults.scaled(Duration::from_secs(60));
            if let common::Limit::Refused { .. } = self.limiter.check("project", 2_400, window) {
                return Err(quota_exceeded());
            }
        }
        Ok(())
    }

    /// The user a key names: the numeric id, the primary email or an alias.
    pub(crate) fn user_index(data: &Data, key: &str) -> Option<usize> {
        data.users.iter().position(|u| {
            u.id == key
                || u.primary.eq_ignore_ascii_case(key)
                || u.aliases.iter().any(|a| a.eq_ignore_ascii_case(key))
        })
    }

    pub(crate) fn user_json(user: &User, customer: &str) -> Value {
        json!({
            "kind": "admin#directory#user",
            "id": user.id,
            "etag": "\"etag\"",
            "primaryEmail": user.primary,
            "name": {"fullName": user.name},
            "isAdmin": user.admin,
            "isDelegatedAdmin": false,
            "lastLoginTime": user.last_login.map_or("1970-01-01T00:00:00.000Z".to_owned(), |t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()),
            "creationTime": "2020-01-06T09:00:00.000Z",
            "agreedToTerms": true,
            "suspended": user.suspended,
            "archived": false,
            "changePasswordAtNextLogin": false,
            "ipWhitelisted": false,
            "emails": std::iter::once(json!({"address": user.primary, "primary": true}))
                .chain(user.aliases.iter().map(|a| json!({"address": a})))
                .collect::<Vec<_>>(),
            "aliases": user.aliases,
            "nonEditableAliases": [],
            "customerId": customer,
            "orgUnitPath": "/",
            "isMailboxSetup": true,
            "isEnrolledIn2Sv": true,
            "isEnforcedIn2Sv": false,
            "includeInGlobalAddressList": true,
        })
    }
}

pub(crate) fn not_found() -> Response {
    api_error(
        StatusCode::NOT_FOUND,
        "notFound",
        "Resource Not Found: userKey",
    )
}

/// A form body, decoded.
pub(crate) fn form(body: &[u8]) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(body).into_owned().collect()
}
