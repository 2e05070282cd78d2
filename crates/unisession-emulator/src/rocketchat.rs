//! The Rocket.Chat emulator: device management (`sessions/*`), `users.logout`,
//! `users.removeOtherTokens`, `users.info`, `users.list`, `login` and `logout`.
//!
//! Behaviour follows `shared/research/rocketchat.md` (servers before 9.0, with the
//! compatibility error shapes). The request pipeline runs in the server's order:
//! license middleware (before authentication), authentication, rate limiter,
//! parameter validation, permissions, second factor, handler. Departures from the
//! spec, following the server:
//! * an unknown `sessionId` answers **404** `Session not found` (the spec says 400);
//! * `count` is clamped to 100, and the answer echoes the requested `count` and
//!   `offset` rather than the number of items;
//! * logging out an already logged-out session answers 200 again;
//! * a missing license answers 400 `error-action-not-allowed` before any other check.
//!
//! Inferred from the code rather than documented (kept visible here): a REST
//! `login` creates no listed session; `count=0` fails as MongoDB refuses
//! `$limit: 0`; `users.logout` on an unknown id answers 200;
//! `users.removeOtherTokens` removes the other login tokens (personal access
//! tokens included) without touching the `sessions` collection, so device
//! management keeps listing the dead sessions; and `sessions/info.admin` matches
//! its `sessionId` against the search term, so a part of an id or a user id finds
//! the newest session containing it (case-insensitively; the emulator matches it
//! as literal text, not as the regex the server builds).
//!
//! Second factor, as `checkCodeForUser` runs it: a named `x-2fa-method` is used
//! only if it is `totp` or `email` (even when the user has not enabled it, which
//! then fails); an email challenge emails a code unless a valid one with attempts
//! left is pending; the wrong email code that reaches `max_email_attempts`
//! answers `totp-max-attempts`, and the next challenge emails a fresh code. The
//! login hook runs the same check without the password fallback.
//!
//! Lookups, as the server's source has them (`apps/meteor/app/api/server/v1/users.ts`,
//! `helpers/parseJsonQuery.ts`, `lib/server/functions/getFullUserData.ts`):
//! * `users.info` takes exactly one key (`email` from 8.4) plus `fields` (accepted,
//!   never applied) and `includeUserRooms`; somebody else's email, asked by a caller
//!   without `view-full-other-user-info`, is "User not found." like nobody at all;
//! * `users.list` validates nothing before 8.4 (an `email` there is ignored: everybody
//!   comes back); `query` is honoured before 7.0 (minus keys on fields the caller may
//!   not see, so a member's `emails.address` filter vanishes), ignored from 7.0 unless
//!   `allow_unsafe_query`, refused once `query_removed`; `emails` only for privileged
//!   callers; `count` is the number of items;
//! * `users.logout` answers 200 for any id; a caller lacking `logout-other-user` gets
//!   `logout_refusal_status` (403 in every release; 401 models a later helper);
//! * `me` and `permissions.listAll` (every permission held by `admin`);
//! * `sessions/list` items carry `current` only with `marks_current` (PR #40351);
//! * the password fallback needs a local password (`admin_has_password`);
//! * `login` takes `user` as a name, an address or `{username}`/`{email}`, and the
//!   password in clear or as `{digest, algorithm: "sha-256"}`; a body with other keys
//!   is no password login. Resume and OAuth logins are not emulated.
//!
//! The [`Misleading`](crate::Misleading) switches: `users.info?email=` and a filtered
//! `users.list` that found one person may answer another; ignoring the filter,
//! `users.info?email=` answers the first user and `users.list` everybody;
//! `users.logout` answers success for unknown ids in any case; logged-out sessions
//! stay in `sessions/list*` for `stale_listing_ms`.
//!
//! Simplified: the legacy `users.list?query=` (before 7.0) understands exact
//! matches on `emails.address`, `username`, `_id` and `name` only; `sort` orders by
//! `username`, `name`, `_id` (or nothing for other fields).

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router, middleware};
use base64::Engine;
use chrono::{DateTime, Datelike, Utc};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::common::{self, Common, FaultStyle, FixedWindow, Limit, Provider};
use crate::dataset::{DEVICES, Dataset, DeviceClass, meteor_id, seed_session};
use crate::faults::Faults;

const PROVIDER_STREAM: u64 = 2;

/// Second-factor methods the server can pick for a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TwoFactorMethod {
    /// Password fallback: the code is the lowercase hex SHA-256 of the password.
    Password,
    /// An authenticator app (RFC 6238, SHA-1, 6 digits, 30 s, ±1 step).
    Totp,
    /// A 6-digit code the server emails.
    Email,
}

impl TwoFactorMethod {
    fn as_str(self) -> &'static str {
        match self {
            Self::Password => "password",
            Self::Totp => "totp",
            Self::Email => "email",
        }
    }
}

/// Rocket.Chat-specific switches.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RocketChatConfig {
    /// The workspace holds an Enterprise license with `device-management`.
    pub enterprise: bool,
    /// `Accounts_TwoFactorAuthentication_Enabled`.
    pub two_factor_enabled: bool,
    /// The administrator's enrolled method (`Password`: none enrolled, fallback).
    pub admin_two_factor: TwoFactorMethod,
    /// `Accounts_TwoFactorAuthentication_RememberFor` (zero: always challenge).
    pub remember_two_factor: Duration,
    /// `Accounts_TwoFactorAuthentication_Max_Invalid_Email_Code_Attempts`: the
    /// wrong email code that reaches it answers `totp-max-attempts`.
    pub max_email_attempts: u32,
    /// The server version: `users.info?email=` and `users.list?email=` need 8.4.
    pub version: (u32, u32),
    /// Rate-limit the administrator too (real servers exempt `api-bypass-rate-limit`).
    pub rate_limit_admins: bool,
    /// Answer rate limits like servers of 0.7x: 400 with `error-too-many-requests`.
    pub old_rate_limit_answer: bool,
    /// Without a license, answer device management like servers from before the
    /// license middleware: this status (401, 403 or 404) with `{"error":"unauthorized"}`,
    /// after authentication, instead of 400 `error-action-not-allowed`.
    pub old_license_answer: Option<u16>,
    /// `API_Enable_Rate_Limiter_Limit_Calls_Default`.
    pub rate_limit_calls: u32,
    /// `API_Enable_Rate_Limiter_Limit_Time_Default`.
    pub rate_limit_window: Duration,
    /// `MAX_RESUME_LOGIN_TOKENS`.
    pub max_login_tokens: usize,
    /// `sessions/list` items carry `current` (Rocket.Chat PR #40351, about 8.7);
    /// older servers never send it. `list.all` never does.
    pub marks_current: bool,
    /// `ALLOW_UNSAFE_QUERY_AND_FIELDS_API_PARAMS`: from 7.0, `users.list` honours
    /// `query` only with it; without it the parameter is silently ignored.
    pub allow_unsafe_query: bool,
    /// `query` and `fields` are removed (Rocket.Chat PR #41948, a major release):
    /// `users.list` refuses them with 400 `error-invalid-params`.
    pub query_removed: bool,
    /// The administrator has a local password (`services.password.bcrypt`). Without
    /// one, and without TOTP or email 2FA, the password fallback does not apply and
    /// second-factor routes pass without a challenge (`PasswordCheckFallback.isEnabled`).
    pub admin_has_password: bool,
    /// The status `users.logout` answers a caller lacking `logout-other-user`, with
    /// `{"error":"unauthorized"}`: 403 in every release seen (`unauthorized()` before
    /// PR #32083, `forbidden()` after); 401 models `unauthorized()` after that PR.
    pub logout_refusal_status: u16,
}

impl Default for RocketChatConfig {
    fn default() -> Self {
        Self {
            enterprise: true,
            two_factor_enabled: true,
            admin_two_factor: TwoFactorMethod::Password,
            remember_two_factor: Duration::from_secs(1800),
            max_email_attempts: 5,
            version: (8, 4),
            rate_limit_admins: false,
            old_rate_limit_answer: false,
            old_license_answer: None,
            rate_limit_calls: 10,
            rate_limit_window: Duration::from_secs(60),
            max_login_tokens: 50,
            marks_current: true,
            allow_unsafe_query: false,
            query_removed: false,
            admin_has_password: true,
            logout_refusal_status: 403,
        }
    }
}

type Hash = [u8; 32];

/// What `sessions/list*` show: per login token its most recent doc, not logged out
/// (`by_token`), and those docs newest login first (`order`).
#[derive(Debug, Clone, Default)]
struct Listing {
    order: Vec<u32>,
    by_token: HashMap<Hash, u32>,
}

fn hash_token(token: &str) -> Hash {
    Sha256::digest(token.as_bytes()).into()
}

fn hash_b64(hash: &Hash) -> String {
    base64::engine::general_purpose::STANDARD.encode(hash)
}

#[derive(Debug, Clone)]
struct User {
    id: String,
    username: String,
    name: String,
    email: String,
    password: String,
    admin: bool,
    totp_secret: Option<String>,
    email_two_factor: bool,
    email_code: Option<EmailCode>,
    /// Resume tokens in login order, for the 50-token cap.
    resume_order: Vec<Hash>,
}

#[derive(Debug, Clone)]
struct EmailCode {
    code: String,
    expires: Instant,
    attempts: u32,
}

#[derive(Debug, Clone)]
struct TokenMeta {
    user: u32,
    personal: bool,
    bypass_two_factor: bool,
    authorized_until: Option<Instant>,
    authorized_for: u64,
}

#[derive(Debug, Clone)]
struct SessionDoc {
    mongo_id: [u8; 12],
    session_id: [u8; 17],
    user: u32,
    token: Hash,
    device: Option<u8>,
    os_version_known: bool,
    ip: IpAddr,
    login_at: i64,
    last_activity_at: i64,
    logout_at: Option<i64>,
    logout_by: Option<u32>,
}

impl SessionDoc {
    fn session_id(&self) -> &str {
        std::str::from_utf8(&self.session_id).unwrap_or("")
    }
}

struct Data {
    config: RocketChatConfig,
    users: Vec<User>,
    by_id: HashMap<String, u32>,
    tokens: HashMap<Hash, TokenMeta>,
    sessions: Vec<SessionDoc>,
    by_session_id: HashMap<[u8; 17], u32>,
    /// What the listings show, cached until a session is added.
    listing: Option<Arc<Listing>>,
    /// Logged-out docs a misleading listing still shows, until the instant given.
    stale: Vec<(u32, Instant)>,
    outbox: Vec<(String, String)>,
    rng: fastrand::Rng,
    session_seq: u64,
}

/// Credentials a Rocket.Chat emulator accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RocketChatCredentials {
    /// The administrator's user id (`X-User-Id`).
    pub admin_user_id: String,
    /// The administrator's resume token (`X-Auth-Token`), which has a listed session.
    pub admin_token: String,
    /// The session of `admin_token`.
    pub admin_session_id: String,
    /// A personal access token of the administrator created with `bypassTwoFactor`.
    pub admin_pat: String,
    /// The administrator's user name.
    pub admin_username: String,
    /// The administrator's password.
    pub admin_password: String,
    /// The administrator's TOTP secret (base32), used when TOTP is the method.
    pub admin_totp_secret: String,
    /// An ordinary user's id.
    pub member_user_id: String,
    /// That user's resume token.
    pub member_token: String,
    /// Its session.
    pub member_session_id: String,
}

pub(crate) struct RocketChat {
    common: Common,
    data: Mutex<Data>,
    limiter: FixedWindow,
    pub(crate) credentials: RocketChatCredentials,
}

impl Provider for RocketChat {
    fn common(&self) -> &Common {
        &self.common
    }

    fn snapshot(&self) -> Value {
        let data = self.data();
        let mut live: BTreeMap<String, usize> = BTreeMap::new();
        for doc in data.sessions.iter().filter(|d| data.session_live(d)) {
            *live
                .entry(data.users[doc.user as usize].id.clone())
                .or_default() += 1;
        }
        json!({
            "users": data.users.len(),
            "session_docs": data.sessions.len(),
            "tokens": data.tokens.len(),
            "personal_access_tokens": data.tokens.values().filter(|t| t.personal).count(),
            "enterprise": data.config.enterprise,
            "live_sessions_by_user": live,
        })
    }
}

struct RocketChatFaults;

impl FaultStyle for RocketChatFaults {
    fn server_error(&self) -> Response {
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({"success": false, "error": "Internal server error"})),
        )
            .into_response()
    }

    fn rate_limited(&self, retry_after: Duration, _: &Faults) -> Response {
        too_many_requests(retry_after, 10, false)
    }
}

fn too_many_requests(retry_after: Duration, limit: u32, old_server: bool) -> Response {
    let seconds = retry_after.as_secs_f64().ceil() as u64;
    let message = format!(
        "Error, too many requests. Please slow down. You must wait {seconds} seconds before trying this endpoint again."
    );
    let mut response = if old_server {
        (
            StatusCode::BAD_REQUEST,
            Json(json!({
                "success": false,
                "error": format!("{message} [error-too-many-requests]"),
                "errorType": "error-too-many-requests",
                "details": {"timeToReset": retry_after.as_millis() as u64, "seconds": seconds},
            })),
        )
            .into_response()
    } else {
        (
            StatusCode::TOO_MANY_REQUESTS,
            Json(
                json!({"success": false, "error": format!("{message} [error-too-many-requests]")}),
            ),
        )
            .into_response()
    };
    rate_headers(response.headers_mut(), limit, 0, retry_after);
    response
}

fn rate_headers(headers: &mut HeaderMap, limit: u32, remaining: u32, reset: Duration) {
    let reset_at = Utc::now().timestamp_millis() as u64 + reset.as_millis() as u64;
    headers.insert("x-ratelimit-limit", HeaderValue::from(limit));
    headers.insert("x-ratelimit-remaining", HeaderValue::from(remaining));
    headers.insert("x-ratelimit-reset", HeaderValue::from(reset_at));
}

fn iso(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

impl RocketChat {
    pub(crate) fn new(
        dataset: &Dataset,
        config: &RocketChatConfig,
        faults: Faults,
        log_capacity: usize,
    ) -> Self {
        let seed = dataset.config().seed;
        let mut rng = fastrand::Rng::with_seed(seed ^ 0x0C4A7);
        let mut data = Data {
            config: config.clone(),
            users: Vec::with_capacity(dataset.people().len()),
            by_id: HashMap::new(),
            tokens: HashMap::new(),
            sessions: Vec::new(),
            by_session_id: HashMap::new(),
            listing: None,
            stale: Vec::new(),
            outbox: Vec::new(),
            rng: fastrand::Rng::with_seed(seed ^ 0x5E5510),
            session_seq: 0,
        };
        let totp_secret = {
            let mut bytes = [0u8; 20];
            rng.fill(&mut bytes);
            totp_rs::Secret::from(bytes.to_vec()).to_base32()
        };
        for person in dataset.people() {
            let index = data.users.len() as u32;
            data.users.push(User {
                id: person.rocketchat_id.clone(),
                username: person.username.clone(),
                name: person.display_name(),
                email: person.email.clone(),
                password: person.password.clone(),
                admin: person.admin,
                totp_secret: None,
                email_two_factor: false,
                email_code: None,
                resume_order: Vec::new(),
            });
            data.by_id.insert(person.rocketchat_id.clone(), index);
            for seeded in dataset.sessions(person, PROVIDER_STREAM) {
                let token = data.new_token_string();
                data.add_session(
                    index,
                    &token,
                    seeded.device,
                    &seeded.ip,
                    seeded.login_at.timestamp_millis(),
                );
            }
        }
        // Some clients reconnected: an older doc shares the login token of a newer one.
        let reconnects: Vec<u32> = (0..data.sessions.len() as u32).step_by(5).collect();
        for doc in reconnects {
            let original = data.sessions[doc as usize].clone();
            data.push_doc(SessionDoc {
                login_at: original.login_at - 3_600_000,
                ..original
            });
        }
        match config.admin_two_factor {
            TwoFactorMethod::Totp => data.users[0].totp_secret = Some(totp_secret.clone()),
            TwoFactorMethod::Email => data.users[0].email_two_factor = true,
            TwoFactorMethod::Password => {}
        }
        let admin_token = data.new_token_string();
        let admin_session = data.add_session(
            0,
            &admin_token,
            &DEVICES[0],
            "203.0.113.10",
            crate::dataset::epoch().timestamp_millis(),
        );
        let admin_pat = data.new_token_string();
        data.tokens.insert(
            hash_token(&admin_pat),
            TokenMeta {
                user: 0,
                personal: true,
                bypass_two_factor: true,
                authorized_until: None,
                authorized_for: 0,
            },
        );
        let member = u32::from(data.users.len() > 1);
        let member_token = data.new_token_string();
        let member_session = data.add_session(
            member,
            &member_token,
            &DEVICES[1],
            "198.51.100.20",
            crate::dataset::epoch().timestamp_millis(),
        );
        let credentials = RocketChatCredentials {
            admin_user_id: data.users[0].id.clone(),
            admin_token,
            admin_session_id: admin_session,
            admin_pat,
            admin_username: data.users[0].username.clone(),
            admin_password: data.users[0].password.clone(),
            admin_totp_secret: totp_secret,
            member_user_id: data.users[member as usize].id.clone(),
            member_token,
            member_session_id: member_session,
        };
        Self {
            common: Common::new("rocketchat", faults, seed, log_capacity, RocketChatFaults),
            data: Mutex::new(data),
            limiter: FixedWindow::default(),
            credentials,
        }
    }

    fn data(&self) -> MutexGuard<'_, Data> {
        self.data.lock().expect("rocketchat state lock")
    }

    pub(crate) fn router(self: Arc<Self>) -> Router {
        Router::new()
            .route("/api/v1/sessions/list", get(sessions_list))
            .route("/api/v1/sessions/list.all", get(sessions_list_all))
            .route("/api/v1/sessions/info", get(sessions_info))
            .route("/api/v1/sessions/info.admin", get(sessions_info_admin))
            .route("/api/v1/sessions/logout.me", post(sessions_logout_me))
            .route("/api/v1/sessions/logout", post(sessions_logout))
            .route("/api/v1/users.logout", post(users_logout))
            .route(
                "/api/v1/users.removeOtherTokens",
                post(users_remove_other_tokens),
            )
            .route("/api/v1/users.info", get(users_info))
            .route("/api/v1/users.list", get(users_list))
            .route("/api/v1/me", get(me))
            .route("/api/v1/permissions.listAll", get(permissions_list_all))
            .route("/api/v1/login", post(login))
            .route("/api/v1/logout", post(logout).get(logout))
            .fallback(|| async {
                (
                    StatusCode::NOT_FOUND,
                    Json(json!({"status": "error", "message": "API endpoint does not exist"})),
                )
            })
            .merge(common::control_routes::<RocketChat>())
            .layer(middleware::from_fn_with_state(
                self.clone(),
                common::common_layer::<RocketChat>,
            ))
            .with_state(self)
    }

    // ----- state access for the handle -----

    pub(crate) fn user_id_by_email(&self, email: &str) -> Option<String> {
        let data = self.data();
        data.users
            .iter()
            .find(|u| u.email.eq_ignore_ascii_case(email))
            .map(|u| u.id.clone())
    }

    /// Sessions whose login token still works and that are not logged out.
    pub(crate) fn live_sessions_of(&self, user: &str) -> Vec<String> {
        let data = self.data();
        let Some(&index) = data.by_id.get(user) else {
            return Vec::new();
        };
        let mut seen = std::collections::HashSet::new();
        let mut docs: Vec<&SessionDoc> = data
            .sessions
            .iter()
            .filter(|d| d.user == index && data.session_live(d))
            .collect();
        docs.sort_by_key(|d| std::cmp::Reverse(d.login_at));
        docs.into_iter()
            .filter(|d| seen.insert(d.token))
            .map(|d| d.session_id().to_owned())
            .collect()
    }

    /// What `sessions/list.all` shows for `user` (logged-out docs excluded, grouped by token).
    pub(crate) fn listed_sessions_of(&self, user: &str) -> Vec<String> {
        let mut data = self.data();
        let Some(&index) = data.by_id.get(user) else {
            return Vec::new();
        };
        let listing = data.listing();
        listing
            .order
            .iter()
            .map(|&i| &data.sessions[i as usize])
            .filter(|d| d.user == index)
            .map(|d| d.session_id().to_owned())
            .collect()
    }

    /// Every session `sessions/list.all` shows, in its order.
    pub(crate) fn listed_sessions(&self) -> Vec<String> {
        let mut data = self.data();
        let listing = data.listing();
        listing
            .order
            .iter()
            .map(|&i| data.sessions[i as usize].session_id().to_owned())
            .collect()
    }

    pub(crate) fn listed_session_count(&self) -> usize {
        self.data().listing().order.len()
    }

    pub(crate) fn token_valid(&self, user: &str, token: &str) -> bool {
        let data = self.data();
        let Some(&index) = data.by_id.get(user) else {
            return false;
        };
        data.tokens
            .get(&hash_token(token))
            .is_some_and(|t| t.user == index)
    }

    pub(crate) fn add_session(&self, user: &str) -> Option<(String, String)> {
        let mut data = self.data();
        let index = *data.by_id.get(user)?;
        let token = data.new_token_string();
        let seeded = seed_session(&mut data.rng);
        let session = data.add_session(
            index,
            &token,
            seeded.device,
            &seeded.ip,
            Utc::now().timestamp_millis(),
        );
        Some((session, token))
    }

    pub(crate) fn add_sessions(&self, user: &str, count: usize) -> usize {
        let mut data = self.data();
        let Some(&index) = data.by_id.get(user) else {
            return 0;
        };
        for _ in 0..count {
            let token = data.new_token_string();
            let seeded = seed_session(&mut data.rng);
            data.add_session(
                index,
                &token,
                seeded.device,
                &seeded.ip,
                seeded.login_at.timestamp_millis(),
            );
        }
        count
    }

    pub(crate) fn add_user(&self, email: &str) -> String {
        let mut data = self.data();
        let id = meteor_id(&mut data.rng);
        let index = data.users.len() as u32;
        let username = email.split('@').next().unwrap_or("user").to_owned();
        let password = format!("pw-{}", meteor_id(&mut data.rng));
        data.users.push(User {
            id: id.clone(),
            username: username.clone(),
            name: username,
            email: email.to_owned(),
            password,
            admin: false,
            totp_secret: None,
            email_two_factor: false,
            email_code: None,
            resume_order: Vec::new(),
        });
        data.by_id.insert(id.clone(), index);
        id
    }

    pub(crate) fn last_email_code(&self, user: &str) -> Option<String> {
        let data = self.data();
        let email = &data.users[*data.by_id.get(user)? as usize].email;
        data.outbox
            .iter()
            .rev()
            .find(|(to, _)| to == email)
            .map(|(_, code)| code.clone())
    }

    pub(crate) fn update_config(&self, update: impl FnOnce(&mut RocketChatConfig)) {
        let mut data = self.data();
        update(&mut data.config);
        let method = data.config.admin_two_factor;
        let admin = &mut data.users[0];
        admin.email_two_factor = method == TwoFactorMethod::Email;
        if method == TwoFactorMethod::Totp {
            admin.totp_secret = Some(self.credentials.admin_totp_secret.clone());
        } else {
            admin.totp_secret = None;
        }
        // Reconfiguring forgets remembered second factors.
        for meta in data.tokens.values_mut() {
            meta.authorized_until = None;
        }
    }

    pub(crate) fn config(&self) -> RocketChatConfig {
        self.data().config.clone()
    }
}

impl Data {
    fn new_token_string(&mut self) -> String {
        let mut bytes = [0u8; 32];
        self.rng.fill(&mut bytes);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }

    fn push_doc(&mut self, doc: SessionDoc) {
        let index = self.sessions.len() as u32;
        self.by_session_id.entry(doc.session_id).or_insert(index);
        self.sessions.push(doc);
        self.listing = None;
    }

    /// A DDP login with a resume token: registers the token and records a session.
    fn add_session(
        &mut self,
        user: u32,
        token: &str,
        device: &crate::dataset::DeviceProfile,
        ip: &str,
        login_at: i64,
    ) -> String {
        let hash = hash_token(token);
        self.tokens.insert(
            hash,
            TokenMeta {
                user,
                personal: false,
                bypass_two_factor: false,
                authorized_until: None,
                authorized_for: 0,
            },
        );
        self.users[user as usize].resume_order.push(hash);
        let session_id = meteor_id(&mut self.rng);
        let mut id = [0u8; 17];
        id.copy_from_slice(session_id.as_bytes());
        let mut mongo_id = [0u8; 12];
        self.rng.fill(&mut mongo_id);
        self.session_seq += 1;
        let device_index = DEVICES.iter().position(|d| d == device).unwrap_or(0) as u8;
        self.push_doc(SessionDoc {
            mongo_id,
            session_id: id,
            user,
            token: hash,
            // Devices are sparse: some sessions have none, some lack the OS version.
            device: (!self.session_seq.is_multiple_of(50)).then_some(device_index),
            os_version_known: !self.session_seq.is_multiple_of(7),
            ip: ip.parse().unwrap_or(IpAddr::from([192, 0, 2, 1])),
            login_at,
            last_activity_at: login_at + 60_000,
            logout_at: None,
            logout_by: None,
        });
        session_id
    }

    fn session_live(&self, doc: &SessionDoc) -> bool {
        doc.logout_at.is_none()
            && self
                .tokens
                .get(&doc.token)
                .is_some_and(|t| t.user == doc.user)
    }

    /// The listing: per login token its most recent doc, logged-out docs excluded,
    /// newest first. Cached; logouts update it in place, new sessions rebuild it.
    fn listing(&mut self) -> Arc<Listing> {
        if self.listing.is_none() {
            let mut latest: HashMap<Hash, u32> = HashMap::new();
            for (i, doc) in self.sessions.iter().enumerate() {
                if doc.logout_at.is_some() {
                    continue;
                }
                latest
                    .entry(doc.token)
                    .and_modify(|best| {
                        if doc.login_at > self.sessions[*best as usize].login_at {
                            *best = i as u32;
                        }
                    })
                    .or_insert(i as u32);
            }
            let mut order: Vec<u32> = latest.values().copied().collect();
            order.sort_by_key(|&i| self.listing_key(i));
            self.listing = Some(Arc::new(Listing {
                order,
                by_token: latest,
            }));
        }
        self.listing.clone().unwrap_or_default()
    }

    fn listing_key(&self, i: u32) -> (std::cmp::Reverse<i64>, u32) {
        (std::cmp::Reverse(self.sessions[i as usize].login_at), i)
    }

    /// Drops the listed doc of `token` (logged out now), found by binary search.
    fn unlist_token(&mut self, user: u32, token: &Hash) {
        let Some(&i) = self.listing.as_ref().and_then(|l| l.by_token.get(token)) else {
            return;
        };
        if self.sessions[i as usize].user != user {
            return;
        }
        let key = self.listing_key(i);
        let Some(listing) = self.listing.as_mut() else {
            return;
        };
        let listing = Arc::make_mut(listing);
        listing.by_token.remove(token);
        let sessions = &self.sessions;
        if let Ok(at) = listing.order.binary_search_by_key(&key, |&j| {
            (std::cmp::Reverse(sessions[j as usize].login_at), j)
        }) {
            listing.order.remove(at);
        }
    }

    /// Whether `user` has a local password (`services.password.bcrypt`); see
    /// [`RocketChatConfig::admin_has_password`].
    fn has_password(&self, user: &User) -> bool {
        !user.admin || self.config.admin_has_password
    }

    /// Under the stale-listing switch, the listed docs `gone` selects stay listed
    /// for `stale_ms` more (called before they are unlisted).
    fn keep_stale(&mut self, stale_ms: u64, gone: impl Fn(&SessionDoc) -> bool) {
        if stale_ms == 0 {
            return;
        }
        let listing = self.listing();
        let until = Instant::now() + Duration::from_millis(stale_ms);
        let picked: Vec<u32> = listing
            .order
            .iter()
            .copied()
            .filter(|&i| gone(&self.sessions[i as usize]))
            .collect();
        self.stale.extend(picked.into_iter().map(|i| (i, until)));
    }

    /// Drops the listed docs `gone` selects (all of them logged out now).
    fn unlist(&mut self, gone: impl Fn(&SessionDoc) -> bool) {
        let Some(listing) = self.listing.as_mut() else {
            return;
        };
        let listing = Arc::make_mut(listing);
        let sessions = &self.sessions;
        listing.order.retain(|&i| !gone(&sessions[i as usize]));
        listing
            .by_token
            .retain(|_, &mut i| !gone(&sessions[i as usize]));
    }

    /// `Users.unsetOneLoginToken` + `Sessions.logoutByloginTokenAndUserId`.
    fn log_out_token(&mut self, user: u32, token: Hash, by: u32) {
        if self.tokens.get(&token).is_some_and(|t| t.user == user) {
            self.tokens.remove(&token);
        }
        let now = Utc::now().timestamp_millis();
        for doc in self
            .sessions
            .iter_mut()
            .filter(|d| d.user == user && d.token == token)
        {
            doc.logout_at = Some(now);
            doc.logout_by = Some(by);
        }
        self.unlist_token(user, &token);
    }

    fn device_json(&self, doc: &SessionDoc) -> Option<Value> {
        let device = &DEVICES[doc.device? as usize];
        let kind = match device.kind {
            DeviceClass::Browser => "browser",
            DeviceClass::Desktop => "desktop",
            DeviceClass::Mobile => "mobile",
        };
        let mut os = Map::new();
        os.insert("name".into(), json!(device.os));
        if doc.os_version_known {
            os.insert("version".into(), json!(device.os_version));
        }
        let short = device
            .client_version
            .split('.')
            .take(3)
            .collect::<Vec<_>>()
            .join(".");
        Some(json!({
            "type": kind,
            "name": device.client,
            "longVersion": device.client_version,
            "os": os,
            "version": short,
        }))
    }

    fn search_term(&self, doc: &SessionDoc) -> String {
        let mut term = String::new();
        if let Some(d) = doc.device {
            let d = &DEVICES[d as usize];
            term.push_str(d.client);
            term.push_str(match d.kind {
                DeviceClass::Browser => "browser",
                DeviceClass::Desktop => "desktop",
                DeviceClass::Mobile => "mobile",
            });
            term.push_str(d.os);
        }
        term.push_str(doc.session_id());
        term.push_str(&self.users[doc.user as usize].id);
        term
    }

    /// The list item (`DeviceManagementSession`), populated with `_user` for admins.
    fn item_json(&self, doc: &SessionDoc, populated: bool, current: Option<&Hash>) -> Value {
        let user = &self.users[doc.user as usize];
        let mut item = Map::new();
        item.insert("sessionId".into(), json!(doc.session_id()));
        item.insert("userId".into(), json!(user.id));
        if let Some(device) = self.device_json(doc) {
            item.insert("device".into(), device);
        }
        item.insert("host".into(), json!("chat.corp.example"));
        item.insert("ip".into(), json!(doc.ip.to_string()));
        item.insert("loginAt".into(), json!(iso(doc.login_at)));
        item.insert("_id".into(), json!(doc.session_id()));
        if populated {
            item.insert(
                "_user".into(),
                json!({"username": user.username, "name": user.name}),
            );
        }
        if let Some(current) = current {
            item.insert("current".into(), json!(&doc.token == current));
        }
        Value::Object(item)
    }

    /// The raw session document (`sessions/info`): `_id` is a Mongo id, not the sessionId.
    fn raw_doc_json(&self, doc: &SessionDoc) -> Value {
        let user = &self.users[doc.user as usize];
        let login = DateTime::<Utc>::from_timestamp_millis(doc.login_at).unwrap_or_default();
        let mut raw = json!({
            "_id": hex::encode(doc.mongo_id),
            "type": "session",
            "sessionId": doc.session_id(),
            "instanceId": "f0313fa9-6a2b-4c4e-9a61-6f8f5d1f6c01",
            "loginToken": hash_b64(&doc.token),
            "ip": doc.ip.to_string(),
            "host": "chat.corp.example",
            "userId": user.id,
            "roles": if user.admin { json!(["admin"]) } else { json!(["user"]) },
            "mostImportantRole": if user.admin { "admin" } else { "user" },
            "loginAt": iso(doc.login_at),
            "day": login.day(),
            "month": login.month(),
            "year": login.year(),
            "searchTerm": self.search_term(doc),
            "createdAt": iso(doc.login_at),
            "_updatedAt": iso(doc.last_activity_at),
            "lastActivityAt": iso(doc.last_activity_at),
            "success": true,
        });
        if let Some(device) = self.device_json(doc) {
            raw["device"] = device;
        }
        if let Some(at) = doc.logout_at {
            raw["logoutAt"] = json!(iso(at));
            raw["closedAt"] = json!(iso(at));
            if let Some(by) = doc.logout_by {
                raw["logoutBy"] = json!(self.users[by as usize].id);
            }
        }
        raw
    }

    /// A user as `users.info` shows it to `viewer`: `emails`, `roles` and
    /// `lastLogin` only for the user itself or a caller with
    /// `view-full-other-user-info` (`getFullUserData.ts`).
    fn user_json_for(&self, user: &User, viewer: u32) -> Value {
        let me = &self.users[viewer as usize];
        let mut json = json!({
            "_id": user.id,
            "username": user.username,
            "type": "user",
            "status": "offline",
            "active": true,
            "name": user.name,
            "utcOffset": 0,
        });
        if me.admin || me.id == user.id {
            json["emails"] = json!([{"address": user.email, "verified": true}]);
            json["roles"] = if user.admin {
                json!(["admin"])
            } else {
                json!(["user"])
            };
            json["canViewAllInfo"] = json!(true);
        } else {
            json["canViewAllInfo"] = json!(false);
        }
        json
    }

    fn user_json(&self, user: &User) -> Value {
        json!({
            "_id": user.id,
            "username": user.username,
            "emails": [{"address": user.email, "verified": true}],
            "type": "user",
            "status": "offline",
            "active": true,
            "roles": if user.admin { json!(["admin"]) } else { json!(["user"]) },
            "name": user.name,
            "utcOffset": 0,
        })
    }
}

// ----- the pipeline -----

fn failure(error: &str, error_type: Option<&str>, details: Option<Value>) -> Response {
    let mut body = Map::new();
    body.insert("success".into(), json!(false));
    match error_type {
        Some(kind) => {
            body.insert("error".into(), json!(format!("{error} [{kind}]")));
            body.insert("errorType".into(), json!(kind));
        }
        None => {
            body.insert("error".into(), json!(error));
        }
    }
    if let Some(details) = details {
        body.insert("details".into(), details);
    }
    (StatusCode::BAD_REQUEST, Json(Value::Object(body))).into_response()
}

fn not_found(message: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({"success": false, "error": message})),
    )
        .into_response()
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({
            "success": false,
            "error": "You must be logged in to do this.",
            "status": "error",
            "message": "You must be logged in to do this.",
        })),
    )
        .into_response()
}

fn success(mut body: Map<String, Value>) -> Response {
    body.insert("success".into(), json!(true));
    Json(Value::Object(body)).into_response()
}

#[derive(Clone, Copy)]
struct Route {
    path: &'static str,
    method: &'static str,
    license: bool,
    two_factor: bool,
    permission: Option<&'static str>,
}

struct Ctx {
    user: u32,
    token: Hash,
    rate: Option<(u32, u32, Duration)>,
}

impl Ctx {
    fn finish(&self, mut response: Response) -> Response {
        if let Some((limit, remaining, reset)) = self.rate {
            rate_headers(response.headers_mut(), limit, remaining, reset);
        }
        response
    }
}

fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn fingerprint(headers: &HeaderMap) -> u64 {
    let ua = header_str(headers, "user-agent").unwrap_or("");
    let digest = Sha256::digest(ua.as_bytes());
    u64::from_le_bytes(digest[..8].try_into().expect("8 bytes"))
}

impl RocketChat {
    /// License, authentication, rate limit, permission, second factor — in the
    /// server's order. (Parameter validation runs in each handler, between the rate
    /// limit and the permission check; handlers call [`Self::authorize`] after it.)
    fn admit(&self, route: Route, headers: &HeaderMap) -> Result<Ctx, Response> {
        let faults = self.common.faults();
        let data = self.data();
        if route.license && !data.config.enterprise && data.config.old_license_answer.is_none() {
            return Err(failure(
                "This is an enterprise feature",
                Some("error-action-not-allowed"),
                None,
            ));
        }
        let user_id = header_str(headers, "x-user-id").unwrap_or("");
        let token = hash_token(header_str(headers, "x-auth-token").unwrap_or(""));
        let user = match (data.by_id.get(user_id), data.tokens.get(&token)) {
            (Some(&user), Some(meta)) if meta.user == user => user,
            _ => return Err(unauthorized()),
        };
        if let (true, false, Some(status)) = (
            route.license,
            data.config.enterprise,
            data.config.old_license_answer,
        ) {
            // The handler's own `hasLicense` check: `API.v1.unauthorized()`.
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::FORBIDDEN);
            return Err((
                status,
                Json(json!({"success": false, "error": "unauthorized"})),
            )
                .into_response());
        }
        let mut rate = None;
        if faults.enforce_rate_limits
            && (!data.users[user as usize].admin || data.config.rate_limit_admins)
        {
            let window = faults.scaled(data.config.rate_limit_window);
            let limit = data.config.rate_limit_calls;
            let key = format!("127.0.0.1 {} {}", route.method, route.path);
            match self.limiter.check(&key, limit, window) {
                Limit::Allowed { remaining, reset } => rate = Some((limit, remaining, reset)),
                Limit::Refused { retry_after } => {
                    return Err(too_many_requests(
                        retry_after,
                        limit,
                        data.config.old_rate_limit_answer,
                    ));
                }
            }
        }
        Ok(Ctx { user, token, rate })
    }

    /// Permission, then the second factor.
    fn authorize(&self, route: Route, ctx: &Ctx, headers: &HeaderMap) -> Result<(), Response> {
        let mut data = self.data();
        if route.permission.is_some() && !data.users[ctx.user as usize].admin {
            return Err(ctx.finish(
                (
                    StatusCode::FORBIDDEN,
                    Json(json!({"success": false, "error": "User does not have the permissions required for this action [error-unauthorized]"})),
                )
                    .into_response(),
            ));
        }
        if route.two_factor {
            check_second_factor(&mut data, ctx, headers).map_err(|r| ctx.finish(r))?;
        }
        Ok(())
    }
}

/// `checkCodeForUser`, as the REST layer runs it for `twoFactorRequired` routes.
fn check_second_factor(data: &mut Data, ctx: &Ctx, headers: &HeaderMap) -> Result<(), Response> {
    if !data.config.two_factor_enabled {
        return Ok(());
    }
    let print = fingerprint(headers);
    let remember = data.config.remember_two_factor;
    let meta = data
        .tokens
        .get(&ctx.token)
        .cloned()
        .expect("authenticated token");
    if meta.bypass_two_factor {
        return Ok(());
    }
    if meta
        .authorized_until
        .is_some_and(|until| until > Instant::now())
        && meta.authorized_for == print
    {
        return Ok(());
    }
    let requested = header_str(headers, "x-2fa-method");
    let code = header_str(headers, "x-2fa-code");
    verify_second_factor(data, ctx.user as usize, requested, code, true).map_err(
        |TwoFactorError {
             kind,
             message,
             details,
         }| failure(message, Some(kind), Some(details)),
    )?;
    if !remember.is_zero()
        && let Some(meta) = data.tokens.get_mut(&ctx.token)
    {
        meta.authorized_until = Some(Instant::now() + remember);
        meta.authorized_for = print;
    }
    Ok(())
}

/// A refused second factor: the `Meteor.Error` code, reason and details.
struct TwoFactorError {
    kind: &'static str,
    message: &'static str,
    details: Value,
}

/// The part of `checkCodeForUser` after "remember me": method selection
/// (`getSecondFactorMethod`), `processInvalidCode` (which may email a code), then
/// `verify` and, on failure, `maxFaildedAttemtpsReached`.
fn verify_second_factor(
    data: &mut Data,
    user: usize,
    requested: Option<&str>,
    code: Option<&str>,
    password_fallback: bool,
) -> Result<(), TwoFactorError> {
    let enrolled = &data.users[user];
    let mut available = Vec::new();
    if enrolled.totp_secret.is_some() {
        available.push("totp");
    }
    if enrolled.email_two_factor {
        available.push("email");
    }
    // Only registered checkers (`totp`, `email`) can be asked for by name.
    let method = match requested {
        Some("totp") => TwoFactorMethod::Totp,
        Some("email") => TwoFactorMethod::Email,
        _ if enrolled.totp_secret.is_some() => TwoFactorMethod::Totp,
        _ if enrolled.email_two_factor => TwoFactorMethod::Email,
        // `PasswordCheckFallback.isEnabled`: only users with a local password.
        _ if password_fallback && data.has_password(enrolled) => TwoFactorMethod::Password,
        // No method for this user: the check passes silently.
        _ => return Ok(()),
    };
    let max_attempts = data.config.max_email_attempts;
    let mut details = Map::new();
    details.insert("method".into(), json!(method.as_str()));
    if method == TwoFactorMethod::Email {
        // processInvalidCode: drop an expired code; keep a valid one unless its
        // attempts are used up; otherwise email a new code (attempts back to 0).
        let now = Instant::now();
        let user_mut = &mut data.users[user];
        if user_mut
            .email_code
            .as_ref()
            .is_some_and(|c| c.expires <= now)
        {
            user_mut.email_code = None;
        }
        let valid = user_mut
            .email_code
            .as_ref()
            .filter(|c| c.attempts < max_attempts);
        if let Some(valid) = valid {
            let expires = Utc::now().timestamp_millis()
                + valid.expires.saturating_duration_since(now).as_millis() as i64;
            details.insert("emailOrUsername".into(), json!(user_mut.username));
            details.insert("codeGenerated".into(), json!(false));
            details.insert("codeExpires".into(), json!(iso(expires)));
        } else {
            let fresh: String = (0..6)
                .map(|_| char::from(b'0' + data.rng.u8(..10)))
                .collect();
            let user_mut = &mut data.users[user];
            data.outbox.push((user_mut.email.clone(), fresh.clone()));
            user_mut.email_code = Some(EmailCode {
                code: fresh,
                expires: now + Duration::from_secs(3600),
                attempts: 0,
            });
            details.insert("codeGenerated".into(), json!(true));
            details.insert("emailOrUsername".into(), json!(user_mut.username));
        }
    } else {
        details.insert("codeGenerated".into(), json!(false));
    }
    details.insert("availableMethods".into(), json!(available));
    let refuse = |kind, message, details| TwoFactorError {
        kind,
        message,
        details: Value::Object(details),
    };
    let Some(code) = code.filter(|c| !c.is_empty()) else {
        return Err(refuse("totp-required", "TOTP Required", details));
    };
    let user_ref = &mut data.users[user];
    let valid = match method {
        TwoFactorMethod::Password => {
            code.to_lowercase() == hex::encode(Sha256::digest(user_ref.password.as_bytes()))
        }
        TwoFactorMethod::Totp => user_ref
            .totp_secret
            .as_deref()
            .is_some_and(|secret| totp_valid(secret, code)),
        TwoFactorMethod::Email => {
            // EmailCheck.verify: only for users with email 2FA; non-digits are
            // stripped; a match consumes the code, a miss counts an attempt.
            let digits: String = code.chars().filter(char::is_ascii_digit).collect();
            let enabled = user_ref.email_two_factor;
            match user_ref.email_code.as_mut() {
                Some(stored) if enabled && stored.expires > Instant::now() => {
                    if stored.code == digits {
                        user_ref.email_code = None;
                        true
                    } else {
                        stored.attempts += 1;
                        false
                    }
                }
                _ => false,
            }
        }
    };
    if valid {
        return Ok(());
    }
    let exhausted = method == TwoFactorMethod::Email
        && data.users[user]
            .email_code
            .as_ref()
            .is_some_and(|c| c.attempts >= max_attempts);
    if exhausted {
        return Err(refuse(
            "totp-max-attempts",
            "TOTP Maximun Failed Attempts Reached",
            details,
        ));
    }
    Err(refuse("totp-invalid", "TOTP Invalid", details))
}

fn totp_valid(secret: &str, code: &str) -> bool {
    let Ok(secret) = totp_rs::Secret::try_from_base32(secret) else {
        return false;
    };
    let totp = totp_rs::Builder::new()
        .with_secret(secret)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .build_noncompliant();
    let now = Utc::now().timestamp().max(0) as u64;
    totp.check(code, now).is_some()
}

// ----- parameters -----

fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    query
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default()
}

fn invalid_params(message: &str) -> Response {
    failure(message, Some("invalid-params"), None)
}

struct Paging {
    offset: usize,
    count: usize,
    filter: Option<String>,
    sort: Option<(String, i32)>,
}

/// `isSessionsPaginateProps` (ajv, coerceTypes, additionalProperties: false), then
/// `getPaginationItems` and the sort whitelist.
fn paging(query: Option<&str>, populated: bool) -> Result<Paging, Response> {
    let mut paging = Paging {
        offset: 0,
        count: 50,
        filter: None,
        sort: None,
    };
    for (key, value) in query_pairs(query) {
        match key.as_str() {
            "offset" => {
                paging.offset = value
                    .parse::<i64>()
                    .map_err(|_| invalid_params("must be number"))?
                    .max(0) as usize;
            }
            "count" => {
                let count = value
                    .parse::<i64>()
                    .map_err(|_| invalid_params("must be number"))?;
                paging.count = if count < 0 {
                    50
                } else {
                    (count as usize).min(100)
                };
            }
            "filter" => paging.filter = Some(value),
            "sort" => {
                let parsed: Value = serde_json::from_str(&value).map_err(|_| {
                    failure(
                        &format!("Invalid sort parameter provided: \"{value}\""),
                        Some("error-invalid-sort"),
                        None,
                    )
                })?;
                let Some((field, dir)) = parsed.as_object().and_then(|m| m.iter().next()) else {
                    return Err(failure(
                        &format!("Invalid sort parameter provided: \"{value}\""),
                        Some("error-invalid-sort"),
                        None,
                    ));
                };
                let allowed = [
                    "loginAt",
                    "device.name",
                    "device.os.name",
                    "device.os.version",
                ];
                let admin_only = ["_user.name", "_user.username"];
                if !(allowed.contains(&field.as_str())
                    || (populated && admin_only.contains(&field.as_str())))
                {
                    return Err(failure("error-invalid-sort-keys", None, None));
                }
                let dir = dir
                    .as_i64()
                    .filter(|d| *d == 1 || *d == -1)
                    .ok_or_else(|| {
                        failure(
                            &format!("Invalid sort parameter provided: \"{value}\""),
                            Some("error-invalid-sort"),
                            None,
                        )
                    })?;
                paging.sort = Some((field.clone(), dir as i32));
            }
            _ => return Err(invalid_params("must NOT have additional properties")),
        }
    }
    if paging.count == 0 {
        // API_Allow_Infinite_Count lets count=0 through, and MongoDB refuses $limit: 0.
        return Err(failure("The limit must be positive", None, None));
    }
    Ok(paging)
}

fn session_id_param(query: Option<&str>) -> Result<String, Response> {
    let mut session_id = None;
    for (key, value) in query_pairs(query) {
        match key.as_str() {
            "sessionId" => session_id = Some(value),
            _ => return Err(invalid_params("must NOT have additional properties")),
        }
    }
    session_id.ok_or_else(|| invalid_params("must have required property 'sessionId'"))
}

fn session_id_body(body: &Bytes) -> Result<String, Response> {
    let value: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let Some(map) = value.as_object() else {
        return Err(invalid_params("must have required property 'sessionId'"));
    };
    if map.keys().any(|k| k != "sessionId") {
        return Err(invalid_params("must NOT have additional properties"));
    }
    match map.get("sessionId") {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Number(n)) => Ok(n.to_string()),
        _ => Err(invalid_params("must have required property 'sessionId'")),
    }
}

// ----- sessions -----

const LIST: Route = Route {
    path: "sessions/list",
    method: "GET",
    license: true,
    two_factor: false,
    permission: None,
};
const LIST_ALL: Route = Route {
    path: "sessions/list.all",
    method: "GET",
    license: true,
    two_factor: true,
    permission: Some("view-device-management"),
};
const INFO: Route = Route {
    path: "sessions/info",
    method: "GET",
    license: true,
    two_factor: false,
    permission: None,
};
const INFO_ADMIN: Route = Route {
    path: "sessions/info.admin",
    method: "GET",
    license: true,
    two_factor: true,
    permission: Some("view-device-management"),
};
const LOGOUT_ME: Route = Route {
    path: "sessions/logout.me",
    method: "POST",
    license: true,
    two_factor: false,
    permission: None,
};
const LOGOUT: Route = Route {
    path: "sessions/logout",
    method: "POST",
    license: true,
    two_factor: true,
    permission: Some("logout-device-management"),
};

macro_rules! admit {
    ($rc:expr, $route:expr, $headers:expr) => {
        match $rc.admit($route, &$headers) {
            Ok(ctx) => ctx,
            Err(response) => return response,
        }
    };
}

macro_rules! check {
    ($ctx:expr, $result:expr) => {
        match $result {
            Ok(value) => value,
            Err(response) => return $ctx.finish(response),
        }
    };
}

fn list_page(rc: &RocketChat, ctx: &Ctx, paging: Paging, populated: bool) -> Response {
    let mut data = rc.data();
    let caller = ctx.user;
    let filter = paging.filter.as_ref().map(|f| f.to_lowercase());
    let mut extra_users = Vec::new();
    if populated && let Some(f) = &filter {
        // list.all: up to 5 active users whose username or name matches.
        extra_users = data
            .users
            .iter()
            .enumerate()
            .filter(|(_, u)| {
                u.username.to_lowercase().contains(f) || u.name.to_lowercase().contains(f)
            })
            .take(5)
            .map(|(i, _)| i as u32)
            .collect();
    }
    let listing = data.listing();
    let now = Instant::now();
    data.stale.retain(|(_, until)| *until > now);
    let merged: Vec<u32>;
    let order = if data.stale.is_empty() {
        &listing.order
    } else {
        let mut all: Vec<u32> = listing.order.clone();
        all.extend(data.stale.iter().map(|(i, _)| *i));
        all.sort_by_key(|&i| data.listing_key(i));
        all.dedup();
        merged = all;
        &merged
    };
    let matches = |data: &Data, doc: &SessionDoc| {
        (populated || doc.user == caller)
            && filter.as_ref().is_none_or(|f| {
                data.search_term(doc).to_lowercase().contains(f) || extra_users.contains(&doc.user)
            })
    };
    let (total, page): (usize, Vec<u32>) = if filter.is_none() && populated {
        let page = order
            .iter()
            .skip(paging.offset)
            .take(paging.count)
            .copied()
            .collect();
        (order.len(), page)
    } else {
        let all: Vec<u32> = order
            .iter()
            .copied()
            .filter(|&i| matches(&data, &data.sessions[i as usize]))
            .collect();
        let page = all
            .iter()
            .skip(paging.offset)
            .take(paging.count)
            .copied()
            .collect();
        (all.len(), page)
    };
    let current = (!populated && data.config.marks_current).then_some(ctx.token);
    let mut items: Vec<(u32, Value)> = page
        .into_iter()
        .map(|i| {
            (
                i,
                data.item_json(&data.sessions[i as usize], populated, current.as_ref()),
            )
        })
        .collect();
    if let Some((field, dir)) = &paging.sort {
        // The custom sort applies after skip and limit: it reorders within the page.
        let key = |v: &Value| -> String {
            field
                .split('.')
                .try_fold(v, |v, part| v.get(part))
                .map(|v| v.to_string())
                .unwrap_or_default()
        };
        items.sort_by(|a, b| {
            let ordering = key(&a.1).cmp(&key(&b.1));
            if *dir < 0 {
                ordering.reverse()
            } else {
                ordering
            }
        });
    }
    let mut body = Map::new();
    body.insert(
        "sessions".into(),
        Value::Array(items.into_iter().map(|(_, v)| v).collect()),
    );
    body.insert("total".into(), json!(total));
    body.insert("count".into(), json!(paging.count));
    body.insert("offset".into(), json!(paging.offset));
    ctx.finish(success(body))
}

async fn sessions_list(
    State(rc): State<Arc<RocketChat>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let ctx = admit!(rc, LIST, headers);
    let paging = check!(ctx, paging(query.as_deref(), false));
    check!(ctx, rc.authorize(LIST, &ctx, &headers));
    list_page(&rc, &ctx, paging, false)
}

async fn sessions_list_all(
    State(rc): State<Arc<RocketChat>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let ctx = admit!(rc, LIST_ALL, headers);
    let paging = check!(ctx, paging(query.as_deref(), true));
    check!(ctx, rc.authorize(LIST_ALL, &ctx, &headers));
    list_page(&rc, &ctx, paging, true)
}

async fn sessions_info(
    State(rc): State<Arc<RocketChat>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let ctx = admit!(rc, INFO, headers);
    let session_id = check!(ctx, session_id_param(query.as_deref()));
    check!(ctx, rc.authorize(INFO, &ctx, &headers));
    let data = rc.data();
    // findOneBySessionIdAndUserId: any doc of the caller with a login token, logged out or not.
    let doc = data
        .sessions
        .iter()
        .filter(|d| d.user == ctx.user && d.session_id() == session_id)
        .max_by_key(|d| d.login_at);
    match doc {
        None => ctx.finish(not_found("Session not found")),
        Some(doc) => ctx.finish(Json(data.raw_doc_json(doc)).into_response()),
    }
}

async fn sessions_info_admin(
    State(rc): State<Arc<RocketChat>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let ctx = admit!(rc, INFO_ADMIN, headers);
    let session_id = check!(ctx, session_id_param(query.as_deref()));
    check!(ctx, rc.authorize(INFO_ADMIN, &ctx, &headers));
    let mut data = rc.data();
    // aggregateSessionsAndPopulate({search: sessionId, count: 1}): logged-out docs
    // excluded; the id is matched case-insensitively against the search term, so a
    // part of an id (or a user id) finds the newest session containing it.
    let listing = data.listing();
    // An exact, listed session id first: 17 random characters occur in no other
    // search term, so this is the scan's answer, found without scanning.
    let exact = <[u8; 17]>::try_from(session_id.as_bytes())
        .ok()
        .and_then(|key| data.by_session_id.get(&key))
        .and_then(|&i| listing.by_token.get(&data.sessions[i as usize].token))
        .map(|&i| &data.sessions[i as usize])
        .filter(|d| d.session_id() == session_id);
    let needle = session_id.to_lowercase();
    let found = exact.or_else(|| {
        listing
            .order
            .iter()
            .map(|&i| &data.sessions[i as usize])
            .find(|d| data.search_term(d).to_lowercase().contains(&needle))
    });
    match found {
        None => ctx.finish(not_found("Session not found")),
        Some(doc) => {
            let mut item = data.item_json(doc, true, None);
            item["success"] = json!(true);
            ctx.finish(Json(item).into_response())
        }
    }
}

async fn sessions_logout_me(
    State(rc): State<Arc<RocketChat>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let ctx = admit!(rc, LOGOUT_ME, headers);
    let session_id = check!(ctx, session_id_body(&body));
    check!(ctx, rc.authorize(LOGOUT_ME, &ctx, &headers));
    let mut data = rc.data();
    let doc = data
        .sessions
        .iter()
        .find(|d| d.user == ctx.user && d.session_id() == session_id)
        .map(|d| d.token);
    match doc {
        None => ctx.finish(not_found("Session not found")),
        Some(token) => {
            let stale = rc.common.misleading().stale_listing_ms;
            data.keep_stale(stale, |d| d.user == ctx.user && d.token == token);
            data.log_out_token(ctx.user, token, ctx.user);
            let mut body = Map::new();
            body.insert("sessionId".into(), json!(session_id));
            ctx.finish(success(body))
        }
    }
}

async fn sessions_logout(
    State(rc): State<Arc<RocketChat>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let ctx = admit!(rc, LOGOUT, headers);
    let session_id = check!(ctx, session_id_body(&body));
    check!(ctx, rc.authorize(LOGOUT, &ctx, &headers));
    let mut data = rc.data();
    // findOneBySessionId: any user's doc, no logoutAt filter.
    let mut key = [0u8; 17];
    let found = (session_id.len() == 17)
        .then(|| {
            key.copy_from_slice(session_id.as_bytes());
            data.by_session_id.get(&key).map(|&i| {
                (
                    data.sessions[i as usize].user,
                    data.sessions[i as usize].token,
                )
            })
        })
        .flatten();
    match found {
        None => ctx.finish(not_found("Session not found")),
        Some((user, token)) => {
            let stale = rc.common.misleading().stale_listing_ms;
            data.keep_stale(stale, |d| d.user == user && d.token == token);
            data.log_out_token(user, token, ctx.user);
            let mut body = Map::new();
            body.insert("sessionId".into(), json!(session_id));
            ctx.finish(success(body))
        }
    }
}

// ----- users -----

const USERS_LOGOUT: Route = Route {
    path: "users.logout",
    method: "POST",
    license: false,
    two_factor: false,
    permission: None,
};
const REMOVE_OTHER_TOKENS: Route = Route {
    path: "users.removeOtherTokens",
    method: "POST",
    license: false,
    two_factor: false,
    permission: None,
};
const USERS_INFO: Route = Route {
    path: "users.info",
    method: "GET",
    license: false,
    two_factor: false,
    permission: None,
};
const USERS_LIST: Route = Route {
    path: "users.list",
    method: "GET",
    license: false,
    two_factor: false,
    permission: None,
};
const LOGOUT_ROUTE: Route = Route {
    path: "logout",
    method: "POST",
    license: false,
    two_factor: false,
    permission: None,
};

async fn users_logout(
    State(rc): State<Arc<RocketChat>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let ctx = admit!(rc, USERS_LOGOUT, headers);
    let params: Value = if body.is_empty() {
        json!({})
    } else {
        serde_json::from_slice(&body).unwrap_or(Value::Null)
    };
    let Some(params) = params.as_object() else {
        return ctx.finish(invalid_params("must be object"));
    };
    let target_id = match params.get("userId") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return ctx.finish(invalid_params("must be string")),
    };
    let mut data = rc.data();
    let caller_id = data.users[ctx.user as usize].id.clone();
    let target_id = target_id.unwrap_or_else(|| caller_id.clone());
    if target_id != caller_id && !data.users[ctx.user as usize].admin {
        // `forbidden()` (403) in every release seen; the switch models 401.
        let status = StatusCode::from_u16(data.config.logout_refusal_status)
            .unwrap_or(StatusCode::FORBIDDEN);
        return ctx.finish(
            (
                status,
                Json(json!({"success": false, "error": "unauthorized"})),
            )
                .into_response(),
        );
    }
    if let Some(&target) = data.by_id.get(&target_id) {
        // unsetLoginTokens: every token, personal access tokens and the caller's own included.
        data.tokens.retain(|_, meta| meta.user != target);
        data.users[target as usize].resume_order.clear();
        let now = Utc::now().timestamp_millis();
        for doc in data
            .sessions
            .iter_mut()
            .filter(|d| d.user == target && d.logout_at.is_none())
        {
            doc.logout_at = Some(now);
            doc.logout_by = Some(ctx.user);
        }
        let stale = rc.common.misleading().stale_listing_ms;
        data.keep_stale(stale, |d| d.user == target);
        data.unlist(|d| d.user == target);
    }
    let mut body = Map::new();
    body.insert(
        "message".into(),
        json!(format!("User {target_id} has been logged out!")),
    );
    ctx.finish(success(body))
}

async fn users_remove_other_tokens(
    State(rc): State<Arc<RocketChat>>,
    headers: HeaderMap,
) -> Response {
    let ctx = admit!(rc, REMOVE_OTHER_TOKENS, headers);
    let mut data = rc.data();
    let (user, keep) = (ctx.user, ctx.token);
    data.tokens
        .retain(|hash, meta| meta.user != user || *hash == keep);
    data.users[user as usize]
        .resume_order
        .retain(|h| *h == keep);
    ctx.finish(success(Map::new()))
}

/// `users.info`: exactly one lookup key (`userId`, `username`, `importId`, `email`
/// from 8.4), plus the optional `fields` (accepted, never applied) and
/// `includeUserRooms` (`packages/rest-typings/src/v1/users/UsersInfoParamsGet.ts`).
/// An email lookup of somebody else by a caller without `view-full-other-user-info`
/// answers "User not found.", like an unknown user (`getFullUserData.ts`).
async fn users_info(
    State(rc): State<Arc<RocketChat>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let ctx = admit!(rc, USERS_INFO, headers);
    let data = rc.data();
    let email_supported = data.config.version >= (8, 4);
    let keys: Vec<(String, String)> = query_pairs(query.as_deref())
        .into_iter()
        .filter(|(k, _)| k != "includeUserRooms" && k != "fields")
        .collect();
    let lookup_keys = ["userId", "username", "importId"];
    let valid = keys.len() == 1
        && (lookup_keys.contains(&keys[0].0.as_str()) || (email_supported && keys[0].0 == "email"));
    if !valid {
        return ctx.finish(invalid_params(
            "must have required property 'userId'\n must have required property 'username'\n must have required property 'importId'\n must match a schema in anyOf",
        ));
    }
    let (key, value) = &keys[0];
    if value.is_empty() {
        return ctx.finish(failure("Invalid search query.", None, None));
    }
    let caller = &data.users[ctx.user as usize];
    let found = data.users.iter().position(|u| match key.as_str() {
        "userId" => u.id == *value,
        "username" => u.username == *value,
        "email" => u.email.eq_ignore_ascii_case(value.trim()),
        _ => false,
    });
    let found = if key == "email" {
        let answered = rc.common.answer_lookup(found, data.users.len(), |id| {
            data.by_id.get(id).map(|&i| i as usize)
        });
        // Others' emails are searched only for callers allowed to see them.
        answered.filter(|&i| caller.admin || data.users[i].id == caller.id)
    } else {
        found
    };
    match found {
        Some(index) => {
            let mut body = Map::new();
            body.insert(
                "user".into(),
                data.user_json_for(&data.users[index], ctx.user),
            );
            ctx.finish(success(body))
        }
        None => ctx.finish(failure("User not found.", None, None)),
    }
}

/// `users.list`, by version:
/// * before 8.4 no parameter is validated: unknown ones (`email` among them) are
///   ignored; from 8.4 `fields`, `query`, `count`, `offset`, `sort` and `email`
///   (case-insensitive) are allowed, anything else is `invalid-params`;
/// * `query` (`parseJsonQuery.ts`): honoured before 7.0, except that a top-level key
///   on a field the caller may not see (`emails.*` without
///   `view-full-other-user-info`) is dropped; from 7.0 honoured only with
///   `ALLOW_UNSAFE_QUERY_AND_FIELDS_API_PARAMS`, else silently ignored; refused once
///   removed (PR #41948). Either way an ignored filter answers everybody;
/// * records carry `emails` only for privileged callers, `nameInsensitive` always;
///   `count` is the number of items, `total` all matches.
async fn users_list(
    State(rc): State<Arc<RocketChat>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let ctx = admit!(rc, USERS_LIST, headers);
    let data = rc.data();
    let config = &data.config;
    let validated = config.version >= (8, 4);
    let privileged = data.users[ctx.user as usize].admin;
    let query_honoured = config.version < (7, 0) || config.allow_unsafe_query;
    let mut email = None;
    // `query`: an exact-match Mongo selector on these fields.
    let mut selector: Vec<(String, String)> = Vec::new();
    let mut offset = 0usize;
    let mut count = 50usize;
    let mut sort: Option<(String, i64)> = None;
    for (key, value) in query_pairs(query.as_deref()) {
        match key.as_str() {
            "email" if validated => email = Some(value),
            "query" | "fields" if config.query_removed => {
                return ctx.finish(failure(
                    &format!("The '{key}' parameter is no longer supported"),
                    Some("error-invalid-params"),
                    None,
                ));
            }
            "query" if query_honoured => {
                let Ok(Value::Object(parsed)) = serde_json::from_str::<Value>(&value) else {
                    return ctx.finish(failure(
                        "Invalid query parameter provided",
                        Some("error-invalid-query"),
                        None,
                    ));
                };
                selector = parsed
                    .iter()
                    // A limited caller's query loses keys on fields it may not see.
                    .filter(|(k, _)| privileged || !k.starts_with("emails"))
                    .filter(|(k, _)| {
                        ["emails.address", "username", "_id", "name"].contains(&k.as_str())
                    })
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                    .collect();
            }
            "query" | "fields" => {}
            "offset" => offset = value.parse().unwrap_or(0),
            "count" => count = value.parse::<usize>().unwrap_or(50).min(100),
            "sort" => {
                let parsed = serde_json::from_str::<Value>(&value).ok();
                let field = parsed
                    .as_ref()
                    .and_then(Value::as_object)
                    .and_then(|m| m.iter().next())
                    .and_then(|(f, d)| Some((f.clone(), d.as_i64().filter(|d| d.abs() == 1)?)));
                let Some(field) = field else {
                    return ctx.finish(failure(
                        &format!("Invalid sort parameter provided: \"{value}\""),
                        Some("error-invalid-sort"),
                        None,
                    ));
                };
                sort = Some(field);
            }
            _ if validated => {
                return ctx.finish(invalid_params("must NOT have additional properties"));
            }
            _ => {}
        }
    }
    let misleading = rc.common.misleading();
    let ignore_filter = misleading.lookup_ignores_filter;
    let mut matching: Vec<usize> = (0..data.users.len())
        .filter(|&i| {
            let u = &data.users[i];
            ignore_filter
                || (email
                    .as_deref()
                    .is_none_or(|e| u.email.eq_ignore_ascii_case(e.trim()))
                    && selector.iter().all(|(field, value)| match field.as_str() {
                        "emails.address" => u.email == *value,
                        "username" => u.username == *value,
                        "_id" => u.id == *value,
                        _ => u.name == *value,
                    }))
        })
        .collect();
    let filtered = email.is_some() || !selector.is_empty();
    if filtered && !ignore_filter && matching.len() == 1 {
        // A filter that found one person may be answered with somebody else.
        let answered = rc
            .common
            .answer_lookup(matching.first().copied(), data.users.len(), |id| {
                data.by_id.get(id).map(|&i| i as usize)
            });
        matching = answered.into_iter().collect();
    }
    let key = |i: &usize| -> String {
        let u = &data.users[*i];
        match sort.as_ref().map(|(f, _)| f.as_str()) {
            Some("name") => u.name.to_lowercase(),
            Some("_id") => u.id.clone(),
            Some("status") => "offline".to_owned(),
            _ => u.username.clone(),
        }
    };
    matching.sort_by_key(key);
    if sort.as_ref().is_some_and(|(_, d)| *d < 0) {
        matching.reverse();
    }
    let page: Vec<Value> = matching
        .iter()
        .skip(offset)
        .take(count)
        .map(|&i| {
            let u = &data.users[i];
            let mut item = json!({
                "_id": u.id,
                "username": u.username,
                "name": u.name,
                "status": "offline",
                "active": true,
                "type": "user",
                "nameInsensitive": u.name.to_lowercase(),
            });
            if privileged {
                item["emails"] = json!([{"address": u.email, "verified": true}]);
                item["roles"] = if u.admin {
                    json!(["admin"])
                } else {
                    json!(["user"])
                };
            }
            item
        })
        .collect();
    let mut body = Map::new();
    body.insert("count".into(), json!(page.len()));
    body.insert("users".into(), Value::Array(page));
    body.insert("offset".into(), json!(offset));
    body.insert("total".into(), json!(matching.len()));
    ctx.finish(success(body))
}

const ME_ROUTE: Route = Route {
    path: "me",
    method: "GET",
    license: false,
    two_factor: false,
    permission: None,
};
const PERMISSIONS_ROUTE: Route = Route {
    path: "permissions.listAll",
    method: "GET",
    license: false,
    two_factor: false,
    permission: None,
};

/// `GET me`: the caller, its emails and global roles.
async fn me(State(rc): State<Arc<RocketChat>>, headers: HeaderMap) -> Response {
    let ctx = admit!(rc, ME_ROUTE, headers);
    let data = rc.data();
    let user = &data.users[ctx.user as usize];
    let Value::Object(mut body) = data.user_json(user) else {
        return ctx.finish(failure("unexpected", None, None));
    };
    body.insert("settings".into(), json!({"preferences": {}}));
    ctx.finish(success(body))
}

/// `GET permissions.listAll`: `{update: [{_id, roles}], remove: []}` (vendor test
/// `apps/meteor/tests/end-to-end/api/permissions.ts`). The permissions the emulated
/// routes check, each held by `admin` as in a fresh workspace.
async fn permissions_list_all(State(rc): State<Arc<RocketChat>>, headers: HeaderMap) -> Response {
    let ctx = admit!(rc, PERMISSIONS_ROUTE, headers);
    let update: Vec<Value> = [
        "view-full-other-user-info",
        "logout-other-user",
        "view-device-management",
        "logout-device-management",
        "view-d-room",
    ]
    .iter()
    .map(|id| json!({"_id": id, "roles": ["admin"], "_updatedAt": "2026-01-01T00:00:00.000Z"}))
    .collect();
    let mut body = Map::new();
    body.insert("update".into(), Value::Array(update));
    body.insert("remove".into(), json!([]));
    ctx.finish(success(body))
}

// ----- login and logout -----

fn login_failure(error: &str, message: &str, details: Option<Value>) -> Response {
    let mut body = json!({"success": false, "status": "error", "error": error, "message": message});
    if let Some(details) = details {
        body["details"] = details;
    }
    (StatusCode::UNAUTHORIZED, Json(body)).into_response()
}

async fn login(State(rc): State<Arc<RocketChat>>, headers: HeaderMap, body: Bytes) -> Response {
    let params: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let get = |k: &str| params.get(k).and_then(Value::as_str).map(str::to_owned);
    let mut data = rc.data();
    // `loginCompatibility` maps only bodies of these keys; anything else goes to
    // Meteor's `login` as is, which (resume and OAuth logins aside, not emulated)
    // refuses it.
    let compatible = params.as_object().is_some_and(|m| {
        m.keys()
            .all(|k| ["user", "username", "email", "password", "code"].contains(&k.as_str()))
    });
    // `user` is a name or an address, or an object `{username}` / `{email}`.
    let wrapped = |k: &str| {
        params
            .get("user")
            .and_then(|u| u.get(k))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let user_name = get("user")
        .or_else(|| wrapped("username"))
        .or_else(|| wrapped("email"))
        .or_else(|| get("username"))
        .or_else(|| get("email"));
    // The password in clear, or `{digest, algorithm: "sha-256"}` (hex SHA-256).
    let password_ok = |stored: &str| match params.get("password") {
        Some(Value::String(clear)) => clear == stored,
        Some(Value::Object(hashed)) => {
            hashed.get("algorithm").and_then(Value::as_str) == Some("sha-256")
                && hashed
                    .get("digest")
                    .and_then(Value::as_str)
                    .is_some_and(|d| {
                        d.to_lowercase() == hex::encode(Sha256::digest(stored.as_bytes()))
                    })
        }
        _ => false,
    };
    let Some(user_name) = user_name.filter(|_| compatible) else {
        return login_failure("Unauthorized", "Unauthorized", None);
    };
    let Some(index) = data.users.iter().position(|u| {
        (u.username == user_name || u.email.eq_ignore_ascii_case(&user_name))
            && data.has_password(u)
            && password_ok(&u.password)
    }) else {
        return login_failure("Unauthorized", "Unauthorized", None);
    };
    // The login hook (`onValidateLogin`) checks the second factor without the
    // password fallback; the code comes from the body's `code` or `x-2fa-code`.
    if data.config.two_factor_enabled {
        let code = get("code").or_else(|| header_str(&headers, "x-2fa-code").map(str::to_owned));
        if let Err(TwoFactorError {
            kind,
            message,
            details,
        }) = verify_second_factor(&mut data, index, None, code.as_deref(), false)
        {
            return login_failure(kind, message, Some(details));
        }
    }
    let token = data.new_token_string();
    let hash = hash_token(&token);
    let index = index as u32;
    data.tokens.insert(
        hash,
        TokenMeta {
            user: index,
            personal: false,
            bypass_two_factor: false,
            authorized_until: None,
            authorized_for: 0,
        },
    );
    let cap = data.config.max_login_tokens;
    let user = &mut data.users[index as usize];
    user.resume_order.push(hash);
    let excess = user.resume_order.len().saturating_sub(cap);
    let pruned: Vec<Hash> = user.resume_order.drain(..excess).collect();
    for old in pruned {
        data.tokens.remove(&old);
    }
    let user = &data.users[index as usize];
    let mut me = data.user_json(user);
    me["avatarUrl"] = json!(format!("http://chat.corp.example/avatar/{}", user.username));
    Json(json!({"status": "success", "data": {"authToken": token, "userId": user.id, "me": me}}))
        .into_response()
}

async fn logout(State(rc): State<Arc<RocketChat>>, headers: HeaderMap) -> Response {
    let ctx = admit!(rc, LOGOUT_ROUTE, headers);
    let mut data = rc.data();
    data.tokens.remove(&ctx.token);
    let user = ctx.user as usize;
    data.users[user].resume_order.retain(|h| *h != ctx.token);
    ctx.finish(
        Json(json!({"status": "success", "data": {"message": "You've been logged out!"}}))
            .into_response(),
    )
}

// ----- the handle and the registration -----

impl crate::ProviderKind {
    /// Rocket.Chat.
    #[allow(non_upper_case_globals)]
    pub const RocketChat: crate::ProviderKind = crate::ProviderKind("rocketchat");
}

pub(crate) const REGISTRATION: crate::served::Registration = crate::served::Registration {
    kind: crate::ProviderKind::RocketChat,
    start: |data, config, faults| {
        let switches: RocketChatConfig = config.switches(crate::ProviderKind::RocketChat);
        crate::served::pending(
            RocketChat::new(data, &switches, faults, config.log_capacity),
            RocketChat::router,
            RocketChatEmulator,
        )
    },
};

impl crate::EmulatorConfig {
    /// Sets the Rocket.Chat switches.
    pub fn rocketchat(self, rocketchat: RocketChatConfig) -> Self {
        self.with_switches(crate::ProviderKind::RocketChat, rocketchat)
    }
}

impl crate::Emulator {
    /// The Rocket.Chat emulator, if started.
    pub fn rocketchat(&self) -> Option<&RocketChatEmulator> {
        self.get()
    }
}

/// The Rocket.Chat emulator: `{base_url}api/v1/sessions/*` and friends.
#[derive(Clone)]
pub struct RocketChatEmulator(crate::served::Handle<RocketChat>);

crate::served::served!(RocketChatEmulator);

impl std::fmt::Debug for RocketChatEmulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RocketChatEmulator")
            .field("base_url", &self.base_url())
            .finish()
    }
}

impl RocketChatEmulator {
    const KIND: crate::ProviderKind = crate::ProviderKind::RocketChat;

    /// The server root, `http://127.0.0.1:PORT/`.
    pub fn base_url(&self) -> String {
        format!("http://{}/", self.0.addr())
    }

    /// The administrator's personal access token (no 2FA), workspace scope, as a
    /// `[providers.NAME]` table names it.
    pub fn connection(&self) -> crate::Connection {
        let c = self.credentials();
        let mut settings = Map::new();
        settings.insert("base_url".into(), json!(self.base_url()));
        settings.insert("user_id".into(), json!(c.admin_user_id));
        crate::Connection {
            kind: Self::KIND,
            settings,
            secrets: vec![("token", c.admin_pat.clone())],
            time_scale: 1.0,
        }
    }

    /// The base URL and the administrator's credentials.
    pub fn summary(&self) -> String {
        let c = self.credentials();
        format!(
            "rocketchat  {}\n  X-User-Id                          {}\n  X-Auth-Token                       {}\n  personal access token (no 2FA)     {}\n  login                              {} / {}\n",
            self.base_url(),
            c.admin_user_id,
            c.admin_token,
            c.admin_pat,
            c.admin_username,
            c.admin_password
        )
    }

    /// The credentials it accepts.
    pub fn credentials(&self) -> &RocketChatCredentials {
        &self.0.state.credentials
    }

    /// The user with this email.
    pub fn user_id_by_email(&self, email: &str) -> Option<String> {
        self.0.state.user_id_by_email(email)
    }

    /// The sessions of `user` whose login token still works, one per token.
    pub fn live_sessions_of(&self, user: &str) -> Vec<String> {
        self.0.state.live_sessions_of(user)
    }

    /// What `sessions/list.all` shows for `user` right now.
    pub fn listed_sessions_of(&self, user: &str) -> Vec<String> {
        self.0.state.listed_sessions_of(user)
    }

    /// Every session `sessions/list.all` shows, newest first.
    pub fn listed_sessions(&self) -> Vec<String> {
        self.0.state.listed_sessions()
    }

    /// How many sessions `sessions/list.all` shows in all.
    pub fn listed_session_count(&self) -> usize {
        self.0.state.listed_session_count()
    }

    /// Whether `token` still authenticates `user`.
    pub fn token_is_valid(&self, user: &str, token: &str) -> bool {
        self.0.state.token_valid(user, token)
    }

    /// Logs `user` in from a new device: a session and its resume token.
    pub fn add_session(&self, user: &str) -> Option<(String, String)> {
        self.0.state.add_session(user)
    }

    /// Adds `count` sessions for `user`.
    pub fn add_sessions(&self, user: &str, count: usize) -> usize {
        self.0.state.add_sessions(user, count)
    }

    /// Adds a user with this email; returns the id.
    pub fn add_user(&self, email: &str) -> String {
        self.0.state.add_user(email)
    }

    /// The last 2FA code emailed to `user`.
    pub fn last_email_code(&self, user: &str) -> Option<String> {
        self.0.state.last_email_code(user)
    }

    /// The switches in force.
    pub fn config(&self) -> RocketChatConfig {
        self.0.state.config()
    }

    /// Changes switches at run time (license, 2FA method, version...).
    pub fn update_config(&self, update: impl FnOnce(&mut RocketChatConfig)) {
        self.0.state.update_config(update)
    }
}
