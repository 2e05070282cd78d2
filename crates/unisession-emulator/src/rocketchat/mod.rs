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
//!   callers; `count` is the number of items; deactivated users (`active: false`) and
//!   bots (`type: "bot"`) are listed with everybody, as the route's match has no
//!   `active` or `type` filter (`apps/meteor/app/api/server/v1/users.ts`);
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

mod handle;
mod login;
mod params;
mod pipeline;
mod server;
mod sessions;
mod store;
mod users;

pub use handle::*;
#[allow(unused_imports)]
use login::*;
#[allow(unused_imports)]
use params::*;
#[allow(unused_imports)]
use pipeline::*;
#[allow(unused_imports)]
use sessions::*;
#[allow(unused_imports)]
use users::*;

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
    /// `active: false` once deactivated (listed by `users.list` all the same).
    active: bool,
    /// `user`, or `bot` / `app` (listed by `users.list` all the same).
    kind: &'static str,
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
