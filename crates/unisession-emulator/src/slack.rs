//! The Slack Web API emulator: `admin.users.session.*`, `users.lookupByEmail`, `auth.test`.
//!
//! Wire format as `shared/research/slack.md` records it: HTTP 200 with
//! `{"ok":false,"error":…}` for errors, 429 with `Retry-After` for rate limits,
//! form, multipart or JSON bodies, the token in `Authorization: Bearer` (or a form
//! `token`; never from a JSON body or the query string).
//!
//! Departures from the old OpenAPI spec, following the server (research §1, §2):
//! - `invalidate` takes `user_id` and `session_id`; the spec still requires `team_id`
//!   (the legacy `team_id`-only form is refused with `invalid_arguments`).
//! - `list`, `resetBulk`, `getSettings`, `setSettings` and `clearSettings`, absent from
//!   the spec, are served as documented on docs.slack.dev.
//! - `auth.test` answers carry `enterprise_id`, which the spec's closed schema lacks.
//!
//! Where the research is silent, the emulator guesses, and says so here:
//! - `text/plain` bodies (a documented valid type) are read as form fields.
//! - `web_only` means browser sessions; desktop-app sessions are neither web nor
//!   mobile, so only a plain `reset` ends them.
//! - `mobile_only` and `web_only` together are `invalid_arguments`.
//! - `resetBulk` reports its per-user failures as `[ERROR] <user>: <code>` lines in
//!   `response_metadata.messages` ("details in extended comments").
//! - `getSettings` leaves users without active sessions out of both lists;
//!   `get`/`clearSettings` take at most 1000 `user_ids`, like `setSettings`.
//! - Rate-limit windows are sliding, per method and token; the `missing_charset`
//!   warning is given for JSON bodies only.
//! - `Retry-After` is whole seconds in real time and carries decimals only under
//!   scaled time (`time_scale > 1`), where windows last fractions of a second.
//!
//! Not emulated: `session_invalidation_failed` and `admin_unauthorized` (no known
//! trigger), and Tier bursts beyond the per-minute count.
//!
//! Also served: `users.info` (Tier 4, `user_not_found` for ids nobody has). Switches
//! for what older documentation and tokens show: `expired_session_answer`
//! (`invalidate` of an ended session answers `session_expired`, documented 2020–2024)
//! and `lookup_refuses_org_token` (`enterprise_is_restricted`). The user objects of
//! `users.lookupByEmail` and `users.info` carry the fields of the documented example,
//! `is_restricted` and `is_ultra_restricted` among them.
//!
//! The [`Misleading`](crate::Misleading) switches: `users.lookupByEmail` may answer
//! another person, or (ignoring the filter) the directory's first user; `reset` and
//! `resetBulk` may answer `ok` for ids nobody has; ended sessions may stay in `list`.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::{Json, Router, middleware};
use base64::Engine;
use serde_json::{Map, Value, json};

use crate::common::{self, Common, FaultStyle, Limit, Provider, SlidingWindow};
use crate::dataset::{DEVICES, Dataset, DeviceClass, DeviceProfile, seed_session, slack_id};
use crate::faults::Faults;

const PROVIDER_STREAM: u64 = 3;

/// Slack-specific switches.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SlackConfig {
    /// The organisation is on an Enterprise plan (the session methods need it).
    pub enterprise: bool,
    /// How long `resetBulk`'s queued job takes before the sessions are gone.
    pub reset_bulk_delay: Duration,
    /// `invalidate` of a session that has ended answers `session_expired`
    /// ("Session is already expired."), as the method's documentation listed from
    /// 2020 to 2024, instead of `session_not_found`.
    pub expired_session_answer: bool,
    /// `users.lookupByEmail` refuses the org-level admin token with
    /// `enterprise_is_restricted` ("This method was called with an inappropriate
    /// enterprise-level token.").
    pub lookup_refuses_org_token: bool,
}

impl Default for SlackConfig {
    fn default() -> Self {
        Self {
            enterprise: true,
            reset_bulk_delay: Duration::from_millis(30),
            expired_session_answer: false,
            lookup_refuses_org_token: false,
        }
    }
}

#[derive(Debug, Clone)]
struct User {
    id: String,
    name: String,
    real_name: String,
    email: Option<String>,
    is_admin: bool,
    is_primary_owner: bool,
    is_bot: bool,
}

#[derive(Debug, Clone, Copy)]
struct Snapshot {
    device: u8,
    ip: IpAddr,
}

#[derive(Debug, Clone)]
struct Session {
    user: u32,
    created: Snapshot,
    recent: Option<Snapshot>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TokenKind {
    /// An org-level user token with the admin scopes.
    Admin,
    /// A user token without admin scopes.
    Member,
    /// A user token with admin scopes whose owner is not an admin.
    NotAdmin,
    /// A bot token.
    Bot,
    /// A revoked token.
    Revoked,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Settings {
    duration: Option<u64>,
    desktop_app_browser_quit: Option<bool>,
}

struct Data {
    users: Vec<User>,
    by_id: HashMap<String, u32>,
    sessions: BTreeMap<u64, Session>,
    /// Revoked sessions a misleading listing still shows, with when they ended.
    stale: BTreeMap<u64, (Session, std::time::Instant)>,
    first_session: u64,
    settings: HashMap<String, Settings>,
    next_session: u64,
    enterprise: bool,
    rng: fastrand::Rng,
}

/// The tokens a Slack emulator accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SlackTokens {
    /// Org-level admin user token (`xoxp-…`), all admin scopes.
    pub admin: String,
    /// An ordinary member's user token: no admin scopes (`missing_scope`).
    pub member: String,
    /// A user token with admin scopes whose owner is no longer an admin (`not_an_admin`).
    pub not_admin: String,
    /// A bot token (`not_allowed_token_type`).
    pub bot: String,
    /// A revoked token (`token_revoked`).
    pub revoked: String,
}

pub(crate) struct Slack {
    common: Common,
    data: Mutex<Data>,
    limiter: SlidingWindow,
    tokens: HashMap<String, (TokenKind, u32)>,
    pub(crate) token_set: SlackTokens,
    pub(crate) team_id: String,
    pub(crate) enterprise_id: String,
    reset_bulk_delay: Duration,
    expired_session_answer: bool,
    lookup_refuses_org_token: bool,
}

impl Provider for Slack {
    fn common(&self) -> &Common {
        &self.common
    }

    fn snapshot(&self) -> Value {
        let data = self.data();
        json!({
            "users": data.users.len(),
            "sessions": data.sessions.len(),
            "enterprise": data.enterprise,
            "sessions_by_user": data.sessions.values().fold(BTreeMap::<String, u64>::new(), |mut m, s| {
                *m.entry(data.users[s.user as usize].id.clone()).or_default() += 1;
                m
            }),
        })
    }
}

struct SlackFaults;

impl FaultStyle for SlackFaults {
    fn server_error(&self) -> Response {
        // Slack itself answers 200 or 429; a 5xx comes from the edge, as HTML.
        (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, "text/html")],
            "<html><body><h1>503 Service Unavailable</h1></body></html>",
        )
            .into_response()
    }

    fn rate_limited(&self, retry_after: Duration, faults: &Faults) -> Response {
        rate_limited(retry_after, faults.rate_limit_empty_body)
    }
}

fn rate_limited(retry_after: Duration, empty: bool) -> Response {
    let mut response = if empty {
        (StatusCode::TOO_MANY_REQUESTS, "").into_response()
    } else {
        (
            StatusCode::TOO_MANY_REQUESTS,
            Json(json!({"ok": false, "error": "ratelimited"})),
        )
            .into_response()
    };
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, common::retry_after_value(retry_after));
    response
}

impl Slack {
    pub(crate) fn new(
        dataset: &Dataset,
        config: &SlackConfig,
        faults: Faults,
        log_capacity: usize,
    ) -> Self {
        let seed = dataset.config().seed;
        let mut rng = fastrand::Rng::with_seed(seed ^ 0x51AC);
        let team_id = slack_id('T', &mut rng);
        let enterprise_id = slack_id('E', &mut rng);
        let mut users = Vec::new();
        for person in dataset.people() {
            users.push(User {
                id: person.slack_id.clone(),
                name: person.username.clone(),
                real_name: person.display_name(),
                email: Some(person.email.clone()),
                is_admin: person.admin,
                is_primary_owner: false,
                is_bot: false,
            });
        }
        let owner = users.len() as u32;
        let bot = owner + 1;
        users.push(User {
            id: slack_id('W', &mut rng),
            name: "primary.owner".into(),
            real_name: "Primary Owner".into(),
            email: Some("owner@corp.example".into()),
            is_admin: true,
            is_primary_owner: true,
            is_bot: false,
        });
        users.push(User {
            id: slack_id('U', &mut rng),
            name: "deploy-bot".into(),
            real_name: "Deploy Bot".into(),
            email: None,
            is_admin: false,
            is_primary_owner: false,
            is_bot: true,
        });
        let by_id = users
            .iter()
            .enumerate()
            .map(|(i, u)| (u.id.clone(), i as u32))
            .collect();
        let mut data = Data {
            users,
            by_id,
            sessions: BTreeMap::new(),
            stale: BTreeMap::new(),
            first_session: 1_112_275_520_242,
            settings: HashMap::new(),
            next_session: 1_112_275_520_242,
            enterprise: config.enterprise,
            rng: fastrand::Rng::with_seed(seed ^ 0x5E55),
        };
        for person in dataset.people() {
            let user = data.by_id[&person.slack_id];
            for seeded in dataset.sessions(person, PROVIDER_STREAM) {
                data.insert_session(user, seeded.device, &seeded.ip);
            }
        }
        let owner_session = seed_session(&mut rng);
        data.insert_session(owner, owner_session.device, &owner_session.ip);
        let admin = data.by_id[&dataset.people()[0].slack_id];
        let member = dataset
            .people()
            .get(1)
            .map_or(admin, |p| data.by_id[&p.slack_id]);
        let mut token = |kind: &str| {
            format!(
                "{kind}-{}-{}-{}",
                rng.u64(1_000_000_000..9_999_999_999),
                rng.u64(1_000_000_000..9_999_999_999),
                crate::dataset::meteor_id(&mut rng)
            )
        };
        let token_set = SlackTokens {
            admin: token("xoxp"),
            member: token("xoxp"),
            not_admin: token("xoxp"),
            bot: token("xoxb"),
            revoked: token("xoxp"),
        };
        let tokens = HashMap::from([
            (token_set.admin.clone(), (TokenKind::Admin, admin)),
            (token_set.member.clone(), (TokenKind::Member, member)),
            (token_set.not_admin.clone(), (TokenKind::NotAdmin, member)),
            (token_set.bot.clone(), (TokenKind::Bot, bot)),
            (token_set.revoked.clone(), (TokenKind::Revoked, admin)),
        ]);
        Self {
            common: Common::new("slack", faults, seed, log_capacity, SlackFaults),
            data: Mutex::new(data),
            limiter: SlidingWindow::default(),
            tokens,
            token_set,
            team_id,
            enterprise_id,
            reset_bulk_delay: config.reset_bulk_delay,
            expired_session_answer: config.expired_session_answer,
            lookup_refuses_org_token: config.lookup_refuses_org_token,
        }
    }

    fn data(&self) -> MutexGuard<'_, Data> {
        self.data.lock().expect("slack state lock")
    }

    pub(crate) fn router(self: Arc<Self>) -> Router {
        Router::new()
            .route("/api/{method}", any(method))
            .fallback(|| async { (StatusCode::NOT_FOUND, "") })
            .merge(common::control_routes::<Slack>())
            .layer(middleware::from_fn_with_state(
                self.clone(),
                common::common_layer::<Slack>,
            ))
            .with_state(self)
    }

    // ----- state access for the handle -----

    pub(crate) fn user_id_by_email(&self, email: &str) -> Option<String> {
        let data = self.data();
        data.users
            .iter()
            .find(|u| {
                u.email
                    .as_deref()
                    .is_some_and(|e| e.eq_ignore_ascii_case(email))
            })
            .map(|u| u.id.clone())
    }

    pub(crate) fn sessions_of(&self, user: &str) -> Vec<u64> {
        let data = self.data();
        let Some(&index) = data.by_id.get(user) else {
            return Vec::new();
        };
        data.sessions
            .iter()
            .filter(|(_, s)| s.user == index)
            .map(|(id, _)| *id)
            .collect()
    }

    pub(crate) fn all_sessions(&self) -> Vec<u64> {
        self.data().sessions.keys().copied().collect()
    }

    pub(crate) fn session_count(&self) -> usize {
        self.data().sessions.len()
    }

    pub(crate) fn add_session(&self, user: &str, mobile: bool) -> Option<u64> {
        let mut data = self.data();
        let index = *data.by_id.get(user)?;
        let device = DEVICES
            .iter()
            .find(|d| (d.kind == DeviceClass::Mobile) == mobile)
            .expect("catalog has both");
        Some(data.insert_session(index, device, "203.0.113.77"))
    }

    pub(crate) fn add_sessions(&self, user: &str, count: usize) -> Vec<u64> {
        let mut data = self.data();
        let Some(&index) = data.by_id.get(user) else {
            return Vec::new();
        };
        (0..count)
            .map(|_| {
                let seeded = seed_session(&mut data.rng);
                data.insert_session(index, seeded.device, &seeded.ip)
            })
            .collect()
    }

    pub(crate) fn add_user(&self, email: &str) -> String {
        let mut data = self.data();
        let id = slack_id('U', &mut data.rng);
        let index = data.users.len() as u32;
        data.users.push(User {
            id: id.clone(),
            name: email.split('@').next().unwrap_or("user").to_owned(),
            real_name: email.to_owned(),
            email: Some(email.to_owned()),
            is_admin: false,
            is_primary_owner: false,
            is_bot: false,
        });
        data.by_id.insert(id.clone(), index);
        id
    }

    pub(crate) fn set_enterprise(&self, enterprise: bool) {
        self.data().enterprise = enterprise;
    }

    pub(crate) fn primary_owner_id(&self) -> String {
        self.data()
            .users
            .iter()
            .find(|u| u.is_primary_owner)
            .expect("seeded")
            .id
            .clone()
    }

    pub(crate) fn bot_user_id(&self) -> String {
        self.data()
            .users
            .iter()
            .find(|u| u.is_bot)
            .expect("seeded")
            .id
            .clone()
    }

    pub(crate) fn settings_of(&self, user: &str) -> Option<(Option<u64>, Option<bool>)> {
        self.data()
            .settings
            .get(user)
            .map(|s| (s.duration, s.desktop_app_browser_quit))
    }
}

impl Data {
    fn insert_session(&mut self, user: u32, device: &DeviceProfile, ip: &str) -> u64 {
        self.next_session += 1 + self.rng.u64(..7);
        let id = self.next_session;
        let device_index = DEVICES.iter().position(|d| d == device).unwrap_or(0) as u8;
        let ip: IpAddr = ip.parse().unwrap_or(IpAddr::from([192, 0, 2, 1]));
        let created = Snapshot {
            device: device_index,
            ip,
        };
        // A third of the sessions have moved since creation and carry `recent`.
        let recent = id.is_multiple_of(3).then(|| Snapshot {
            device: device_index,
            ip: IpAddr::from([198, 51, 100, (id % 250) as u8 + 1]),
        });
        self.sessions.insert(
            id,
            Session {
                user,
                created,
                recent,
            },
        );
        id
    }

    fn user(&self, id: &str) -> Option<(u32, &User)> {
        self.by_id.get(id).map(|&i| (i, &self.users[i as usize]))
    }
}

// ----- request handling -----

#[derive(Debug)]
struct Call {
    args: Map<String, Value>,
    token: Option<String>,
    json_without_charset: bool,
}

fn parse_call(
    headers: &HeaderMap,
    query: Option<&str>,
    body: &Bytes,
) -> Result<Call, &'static str> {
    let mut args = Map::new();
    if let Some(query) = query {
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            args.insert(k.into_owned(), Value::String(v.into_owned()));
        }
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or("").to_owned());
    let mut json_without_charset = false;
    let mut body_token = None;
    if !body.is_empty() {
        // "…included a data payload, but the request did not include a Content-Type header."
        let Some(content_type) = content_type else {
            return Err("missing_post_type");
        };
        let mut params = content_type.split(';');
        let mime = params.next().unwrap_or("").trim().to_ascii_lowercase();
        let mut charset = None;
        let mut boundary = None;
        for param in params {
            if let Some((name, value)) = param.split_once('=') {
                let value = value.trim().trim_matches('"');
                match name.trim().to_ascii_lowercase().as_str() {
                    "charset" => charset = Some(value.to_ascii_lowercase()),
                    "boundary" => boundary = Some(value.to_owned()),
                    _ => {}
                }
            }
        }
        // "Valid charset names are: utf-8 iso-8859-1."
        if charset
            .as_deref()
            .is_some_and(|c| c != "utf-8" && c != "iso-8859-1")
        {
            return Err("invalid_charset");
        }
        let mut fields = Vec::new();
        match mime.as_str() {
            "application/json" => {
                json_without_charset = charset.is_none();
                match serde_json::from_slice::<Value>(body) {
                    Ok(Value::Object(map)) => {
                        // A token inside a JSON body is not read: JSON needs the header.
                        args.extend(map.into_iter().filter(|(k, _)| k != "token"));
                    }
                    Ok(_) => return Err("json_not_object"),
                    Err(_) => return Err("invalid_json"),
                }
            }
            // text/plain is a documented valid type; its body is read as form fields.
            "application/x-www-form-urlencoded" | "text/plain" => {
                fields.extend(
                    url::form_urlencoded::parse(body)
                        .map(|(k, v)| (k.into_owned(), v.into_owned())),
                );
            }
            "multipart/form-data" => {
                let parsed = boundary.and_then(|b| parse_multipart(body, &b));
                let Some(parsed) = parsed else {
                    return Err("invalid_form_data");
                };
                fields.extend(parsed);
            }
            _ => return Err("invalid_post_type"),
        }
        for (k, v) in fields {
            if k == "token" {
                body_token = Some(v);
            } else {
                args.insert(k, Value::String(v));
            }
        }
    }
    let header_token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    Ok(Call {
        args,
        token: header_token.or(body_token),
        json_without_charset,
    })
}

/// The text fields of a `multipart/form-data` body.
fn parse_multipart(body: &[u8], boundary: &str) -> Option<Vec<(String, String)>> {
    let text = String::from_utf8_lossy(body);
    let delimiter = format!("--{boundary}");
    let mut parts = text.split(delimiter.as_str());
    // Anything before the first delimiter is preamble.
    parts.next()?;
    let mut fields = Vec::new();
    for part in parts {
        if part.starts_with("--") {
            return Some(fields);
        }
        let part = part.strip_prefix("\r\n")?;
        let (head, value) = part.split_once("\r\n\r\n")?;
        let name = head.split("\r\n").find_map(|line| {
            let (key, rest) = line.split_once(':')?;
            if !key.trim().eq_ignore_ascii_case("content-disposition") {
                return None;
            }
            rest.split(';')
                .find_map(|p| p.trim().strip_prefix("name="))
                .map(|n| n.trim_matches('"').to_owned())
        })?;
        let value = value.strip_suffix("\r\n").unwrap_or(value);
        fields.push((name, value.to_owned()));
    }
    // No closing delimiter: truncated.
    None
}

fn ok(mut body: Map<String, Value>, call: &Call) -> Response {
    body.insert("ok".into(), Value::Bool(true));
    if call.json_without_charset {
        body.insert("warning".into(), json!("missing_charset"));
        let meta = body.entry("response_metadata").or_insert_with(|| json!({}));
        if let Value::Object(meta) = meta {
            meta.insert("warnings".into(), json!(["missing_charset"]));
        }
    }
    Json(Value::Object(body)).into_response()
}

fn fail(error: &str) -> Response {
    Json(json!({"ok": false, "error": error})).into_response()
}

fn arg_str<'a>(args: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    args.get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn arg_bool(args: &Map<String, Value>, name: &str) -> Result<bool, ()> {
    match args.get(name) {
        None => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) => match s.as_str() {
            "true" | "1" => Ok(true),
            "false" | "0" | "" => Ok(false),
            _ => Err(()),
        },
        Some(Value::Number(n)) => Ok(n.as_u64() == Some(1)),
        Some(_) => Err(()),
    }
}

fn arg_u64(args: &Map<String, Value>, name: &str) -> Result<Option<u64>, ()> {
    match args.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => n.as_u64().map(Some).ok_or(()),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => s.parse().map(Some).map_err(|_| ()),
        Some(_) => Err(()),
    }
}

/// `user_ids` as a JSON array, a JSON array in a string, or comma-separated text:
/// every official SDK uses one of these.
fn arg_list(args: &Map<String, Value>, name: &str) -> Option<Vec<String>> {
    match args.get(name)? {
        Value::Array(items) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect(),
        Value::String(s) if s.trim_start().starts_with('[') => serde_json::from_str(s).ok(),
        Value::String(s) => Some(
            s.split(',')
                .map(|p| p.trim().to_owned())
                .filter(|p| !p.is_empty())
                .collect(),
        ),
        _ => None,
    }
}

enum Tier {
    Two,
    Three,
    Four,
    Special,
}

impl Tier {
    fn per_minute(&self) -> u32 {
        match self {
            Tier::Two => 20,
            Tier::Three => 50,
            Tier::Four => 100,
            Tier::Special => 600,
        }
    }
}

async fn method(
    State(slack): State<Arc<Slack>>,
    Path(method): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (tier, needs_admin_scope) = match method.as_str() {
        "admin.users.session.list" => (Tier::Two, Some("admin.users:read")),
        "admin.users.session.invalidate"
        | "admin.users.session.reset"
        | "admin.users.session.resetBulk" => (Tier::Two, Some("admin.users:write")),
        "admin.users.session.getSettings" => (Tier::Four, Some("admin.users:read")),
        "admin.users.session.setSettings" | "admin.users.session.clearSettings" => {
            (Tier::Four, Some("admin.users:write"))
        }
        "users.lookupByEmail" => (Tier::Three, None),
        "users.info" => (Tier::Four, None),
        "auth.test" => (Tier::Special, None),
        _ => return fail("unknown_method"),
    };
    let call = match parse_call(&headers, query.as_deref(), &body) {
        Ok(call) => call,
        Err(code) => return fail(code),
    };
    let Some(token) = call.token.clone() else {
        return fail("not_authed");
    };
    let Some(&(kind, caller)) = slack.tokens.get(&token) else {
        return fail("invalid_auth");
    };
    let faults = slack.common.faults();
    if faults.enforce_rate_limits {
        let window = faults.scaled(Duration::from_secs(60));
        let key = format!("{method}:{token}");
        if let Limit::Refused { retry_after } = slack.limiter.check(&key, tier.per_minute(), window)
        {
            // Slack announces whole seconds; only scaled time needs finer waits.
            let wait = if faults.time_scale > 1.0 {
                retry_after
            } else {
                Duration::from_secs(retry_after.as_secs_f64().ceil() as u64)
            };
            return rate_limited(wait, faults.rate_limit_empty_body);
        }
    }
    match kind {
        TokenKind::Revoked => return fail("token_revoked"),
        TokenKind::Bot if needs_admin_scope.is_some() => return fail("not_allowed_token_type"),
        TokenKind::Member => {
            if let Some(needed) = needs_admin_scope {
                return Json(json!({
                    "ok": false,
                    "error": "missing_scope",
                    "needed": needed,
                    "provided": "users:read,users:read.email",
                }))
                .into_response();
            }
        }
        TokenKind::NotAdmin if needs_admin_scope.is_some() => return fail("not_an_admin"),
        _ => {}
    }
    if needs_admin_scope.is_some() && !slack.data().enterprise {
        return fail("feature_not_enabled");
    }
    match method.as_str() {
        "admin.users.session.list" => list(&slack, &call),
        "admin.users.session.invalidate" => invalidate(&slack, &call, caller),
        "admin.users.session.reset" => reset(&slack, &call),
        "admin.users.session.resetBulk" => reset_bulk(&slack, &call),
        "admin.users.session.getSettings" => get_settings(&slack, &call),
        "admin.users.session.setSettings" => set_settings(&slack, &call),
        "admin.users.session.clearSettings" => clear_settings(&slack, &call),
        "users.lookupByEmail" => lookup_by_email(&slack, &call, kind),
        "users.info" => users_info(&slack, &call),
        "auth.test" => auth_test(&slack, &call, caller, kind),
        _ => fail("unknown_method"),
    }
}

fn encode_cursor(last: u64) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("session_id:{last}"))
}

fn decode_cursor(cursor: &str) -> Option<u64> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(cursor)
        .ok()?;
    String::from_utf8(bytes)
        .ok()?
        .strip_prefix("session_id:")?
        .parse()
        .ok()
}

fn snapshot_json(s: &Snapshot) -> Value {
    let d = &DEVICES[s.device as usize];
    json!({
        "device_hardware": d.hardware,
        "os": d.os,
        "os_version": d.os_version,
        "slack_client_version": d.client_version,
        "ip": s.ip.to_string(),
    })
}

fn list(slack: &Slack, call: &Call) -> Response {
    let args = &call.args;
    let limit = match arg_u64(args, "limit") {
        Ok(None) => 1000,
        Ok(Some(l)) if (1..=1000).contains(&l) => l as usize,
        _ => return fail("invalid_arguments"),
    };
    let after = match arg_str(args, "cursor") {
        None => None,
        Some(c) => match decode_cursor(c) {
            Some(after) => Some(after),
            None => return fail("invalid_cursor"),
        },
    };
    let filter = match (arg_str(args, "team_id"), arg_str(args, "user_id")) {
        (Some(_), None) => return fail("missing_user"),
        (None, Some(_)) => return fail("missing_team"),
        (None, None) => None,
        (Some(team), Some(user)) => {
            if team != slack.team_id && team != slack.enterprise_id {
                return fail("team_not_found");
            }
            Some(user.to_owned())
        }
    };
    let mut data = slack.data();
    let stale_for = std::time::Duration::from_millis(slack.common.misleading().stale_listing_ms);
    data.stale.retain(|_, (_, at)| at.elapsed() < stale_for);
    let data = data;
    let user_filter = match &filter {
        Some(user) => match data.user(user) {
            // "Bot sessions are not listed by this method."
            Some((_, u)) if u.is_bot => return fail("bots_not_allowed"),
            Some((index, _)) => Some(index),
            None => return fail("user_not_found"),
        },
        None => None,
    };
    // A misleading listing shows the recently revoked sessions too, in id order.
    let mut merged: BTreeMap<u64, &Session> = BTreeMap::new();
    let range: Box<dyn Iterator<Item = (&u64, &Session)>> = if data.stale.is_empty() {
        match after {
            Some(after) => Box::new(data.sessions.range(after + 1..)),
            None => Box::new(data.sessions.range(..)),
        }
    } else {
        let from = after.map_or(0, |a| a + 1);
        merged.extend(data.sessions.range(from..).map(|(k, v)| (*k, v)));
        merged.extend(data.stale.range(from..).map(|(k, (v, _))| (*k, v)));
        Box::new(merged.iter().map(|(k, v)| (k, *v)))
    };
    let mut items = Vec::new();
    let mut last = None;
    let mut more = false;
    for (id, session) in range {
        if user_filter.is_some_and(|u| u != session.user) {
            continue;
        }
        if data.users[session.user as usize].is_bot {
            continue;
        }
        if items.len() == limit {
            more = true;
            break;
        }
        let mut item = json!({
            "user_id": data.users[session.user as usize].id,
            "team_id": slack.enterprise_id,
            "session_id": id,
            "created": snapshot_json(&session.created),
        });
        if let Some(recent) = &session.recent {
            item["recent"] = snapshot_json(recent);
        }
        items.push(item);
        last = Some(*id);
    }
    if items.is_empty() {
        return fail("no_active_sessions");
    }
    let mut body = Map::new();
    body.insert("active_sessions".into(), Value::Array(items));
    match (more, &filter) {
        (true, _) => {
            body.insert(
                "response_metadata".into(),
                json!({"next_cursor": encode_cursor(last.expect("items"))}),
            );
        }
        // The documented example for one user's sessions has no response_metadata.
        (false, Some(_)) => {}
        (false, None) => {
            body.insert("response_metadata".into(), json!({"next_cursor": ""}));
        }
    }
    ok(body, call)
}

fn invalidate(slack: &Slack, call: &Call, caller: u32) -> Response {
    let Some(user) = arg_str(&call.args, "user_id") else {
        return fail("invalid_arguments");
    };
    let session_id = match arg_u64(&call.args, "session_id") {
        Ok(Some(id)) => id,
        _ => return fail("invalid_arguments"),
    };
    let mut data = slack.data();
    let Some((index, target)) = data.user(user) else {
        return fail("user_not_found");
    };
    if target.is_primary_owner && !data.users[caller as usize].is_primary_owner {
        return fail("cannot_invalidate_primary_owner");
    }
    match data.sessions.get(&session_id) {
        Some(s) if s.user == index => {
            let ended = data.sessions.remove(&session_id).expect("present");
            remember_stale(slack, &mut data, session_id, ended);
            ok(Map::new(), call)
        }
        _ if slack.expired_session_answer
            && (data.first_session..=data.next_session).contains(&session_id) =>
        {
            fail("session_expired")
        }
        _ => fail("session_not_found"),
    }
}

fn scope_of(args: &Map<String, Value>) -> Result<Option<DeviceClass>, ()> {
    match (arg_bool(args, "mobile_only")?, arg_bool(args, "web_only")?) {
        (true, true) => Err(()),
        (true, false) => Ok(Some(DeviceClass::Mobile)),
        (false, true) => Ok(Some(DeviceClass::Browser)),
        (false, false) => Ok(None),
    }
}

fn wipe(slack: &Slack, data: &mut Data, user: u32, scope: Option<DeviceClass>) -> usize {
    let ended: Vec<u64> = data
        .sessions
        .iter()
        .filter(|(_, s)| {
            s.user == user
                && scope.is_none_or(|class| DEVICES[s.created.device as usize].kind == class)
        })
        .map(|(id, _)| *id)
        .collect();
    for id in &ended {
        let session = data.sessions.remove(id).expect("present");
        remember_stale(slack, data, *id, session);
    }
    ended.len()
}

/// Under the `stale_listing_ms` switch, an ended session stays listed a while.
fn remember_stale(slack: &Slack, data: &mut Data, id: u64, session: Session) {
    if slack.common.misleading().stale_listing_ms > 0 {
        data.stale.insert(id, (session, std::time::Instant::now()));
    }
}

/// Why a user's sessions cannot be reset, if they cannot. `Ok(None)`: nobody has the
/// id, and a misleading server answers success anyway.
fn reset_refusal(
    user: Option<(u32, &User)>,
    success_for_unknown: bool,
) -> Result<Option<u32>, &'static str> {
    match user {
        None if success_for_unknown => Ok(None),
        None => Err("user_not_found"),
        Some((_, u)) if u.is_bot => Err("cannot_reset_bot"),
        Some((_, u)) if u.is_primary_owner => Err("cannot_reset_primary_owner"),
        Some((index, _)) => Ok(Some(index)),
    }
}

fn reset(slack: &Slack, call: &Call) -> Response {
    let Some(user) = arg_str(&call.args, "user_id") else {
        return fail("invalid_arguments");
    };
    let Ok(scope) = scope_of(&call.args) else {
        return fail("invalid_arguments");
    };
    let success_for_unknown = slack.common.misleading().success_for_unknown_user;
    let mut data = slack.data();
    match reset_refusal(data.user(user), success_for_unknown) {
        Err(code) => fail(code),
        Ok(index) => {
            if let Some(index) = index {
                wipe(slack, &mut data, index, scope);
            }
            ok(Map::new(), call)
        }
    }
}

fn reset_bulk(slack: &Arc<Slack>, call: &Call) -> Response {
    let Some(ids) = arg_list(&call.args, "user_ids") else {
        return fail("invalid_arguments");
    };
    if ids.is_empty() || ids.len() > 1000 {
        return fail("invalid_arguments");
    }
    let Ok(scope) = scope_of(&call.args) else {
        return fail("invalid_arguments");
    };
    let success_for_unknown = slack.common.misleading().success_for_unknown_user;
    let (accepted, failed): (Vec<_>, Vec<_>) = {
        let data = slack.data();
        ids.iter()
            .map(|id| {
                (
                    id.clone(),
                    reset_refusal(data.user(id), success_for_unknown),
                )
            })
            .partition(|(_, r)| r.is_ok())
    };
    let targets: Vec<u32> = accepted
        .into_iter()
        .filter_map(|(_, r)| r.ok().flatten())
        .collect();
    let state = slack.clone();
    let delay = slack.reset_bulk_delay;
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        let mut data = state.data();
        for user in targets {
            wipe(&state, &mut data, user, scope);
        }
    });
    if failed.is_empty() {
        ok(Map::new(), call)
    } else {
        let messages: Vec<String> = failed
            .iter()
            .map(|(id, r)| format!("[ERROR] {id}: {}", r.err().unwrap_or("unknown")))
            .collect();
        Json(json!({
            "ok": false,
            "error": "failed_for_some_users",
            "response_metadata": {"messages": messages},
        }))
        .into_response()
    }
}

fn settings_users(slack: &Slack, call: &Call) -> Result<Vec<String>, Response> {
    let ids = arg_list(&call.args, "user_ids").filter(|ids| !ids.is_empty() && ids.len() <= 1000);
    let Some(ids) = ids else {
        return Err(fail("invalid_arguments"));
    };
    let data = slack.data();
    if ids.iter().any(|id| data.user(id).is_none()) {
        return Err(fail("user_not_found"));
    }
    if ids
        .iter()
        .any(|id| data.user(id).is_some_and(|(_, u)| u.is_bot))
    {
        return Err(fail("bots_not_allowed"));
    }
    Ok(ids)
}

fn get_settings(slack: &Slack, call: &Call) -> Response {
    let ids = match settings_users(slack, call) {
        Ok(ids) => ids,
        Err(response) => return response,
    };
    let data = slack.data();
    let mut settings = Vec::new();
    let mut none = Vec::new();
    for id in ids {
        let (index, _) = data.user(&id).expect("checked");
        // "if a user does not have any active sessions, they will not be returned
        // in the response": in neither list.
        if !data.sessions.values().any(|s| s.user == index) {
            continue;
        }
        match data.settings.get(&id) {
            Some(s) => settings.push(json!({
                "user_id": id,
                "desktop_app_browser_quit": s.desktop_app_browser_quit,
                "duration": s.duration,
            })),
            None => none.push(id),
        }
    }
    let mut body = Map::new();
    body.insert("session_settings".into(), Value::Array(settings));
    body.insert("no_settings_applied".into(), json!(none));
    ok(body, call)
}

fn set_settings(slack: &Slack, call: &Call) -> Response {
    let ids = match settings_users(slack, call) {
        Ok(ids) => ids,
        Err(response) => return response,
    };
    let duration = match arg_u64(&call.args, "duration") {
        Ok(d) => d,
        Err(()) => return fail("invalid_arguments"),
    };
    let quit = match call.args.get("desktop_app_browser_quit") {
        None => None,
        Some(_) => match arg_bool(&call.args, "desktop_app_browser_quit") {
            Ok(b) => Some(b),
            Err(()) => return fail("invalid_arguments"),
        },
    };
    if duration.is_none() && quit.is_none() {
        return fail("at_least_one_session_setting_required");
    }
    if duration.is_some_and(|d| !(28_800..=315_569_520).contains(&d)) {
        return fail("invalid_arguments");
    }
    let mut data = slack.data();
    for id in ids {
        let entry = data.settings.entry(id).or_default();
        if duration.is_some() {
            entry.duration = duration;
        }
        if quit.is_some() {
            entry.desktop_app_browser_quit = quit;
        }
    }
    ok(Map::new(), call)
}

fn clear_settings(slack: &Slack, call: &Call) -> Response {
    let ids = match settings_users(slack, call) {
        Ok(ids) => ids,
        Err(response) => return response,
    };
    let mut data = slack.data();
    for id in ids {
        data.settings.remove(&id);
    }
    ok(Map::new(), call)
}

fn lookup_by_email(slack: &Slack, call: &Call, kind: TokenKind) -> Response {
    if kind == TokenKind::Bot {
        // Bots may look users up, given the scope; the emulated bot lacks it.
        return Json(json!({"ok": false, "error": "missing_scope", "needed": "users:read.email", "provided": "chat:write"}))
            .into_response();
    }
    if kind == TokenKind::Admin && slack.lookup_refuses_org_token {
        return fail("enterprise_is_restricted");
    }
    let Some(email) = arg_str(&call.args, "email") else {
        return fail("invalid_arguments");
    };
    let data = slack.data();
    let found = data.users.iter().position(|u| {
        u.email
            .as_deref()
            .is_some_and(|e| e.eq_ignore_ascii_case(email.trim()))
    });
    let answered = slack.common.answer_lookup(found, data.users.len(), |id| {
        data.by_id.get(id).map(|&i| i as usize)
    });
    let Some(index) = answered else {
        return fail("users_not_found");
    };
    let mut body = Map::new();
    body.insert("user".into(), user_json(slack, &data.users[index]));
    ok(body, call)
}

/// `users.info` (Tier 4): one user by id, `user_not_found` for ids nobody has.
fn users_info(slack: &Slack, call: &Call) -> Response {
    let Some(id) = arg_str(&call.args, "user") else {
        return fail("user_not_found");
    };
    let data = slack.data();
    let Some((_, user)) = data.user(id) else {
        return fail("user_not_found");
    };
    let mut body = Map::new();
    body.insert("user".into(), user_json(slack, user));
    ok(body, call)
}

/// A user object as `users.lookupByEmail` and `users.info` answer it (the fields of
/// the method's documented example), guests told from members by `is_restricted`
/// and `is_ultra_restricted`.
fn user_json(slack: &Slack, user: &User) -> Value {
    json!({
        "id": user.id,
        "team_id": slack.team_id,
        "name": user.name,
        "deleted": false,
        "color": "9f69e7",
        "real_name": user.real_name,
        "tz": "Europe/Berlin",
        "tz_label": "Central European Time",
        "tz_offset": 3600,
        "is_admin": user.is_admin,
        "is_owner": user.is_primary_owner,
        "is_primary_owner": user.is_primary_owner,
        "is_restricted": false,
        "is_ultra_restricted": false,
        "is_bot": user.is_bot,
        "is_app_user": false,
        "updated": 1_502_138_686,
        "has_2fa": false,
        "profile": {"email": user.email, "real_name": user.real_name, "display_name": user.name, "team": slack.team_id},
        "enterprise_user": {"id": user.id, "enterprise_id": slack.enterprise_id, "enterprise_name": "Corp", "is_admin": user.is_admin, "is_owner": user.is_primary_owner, "teams": [slack.team_id]},
    })
}

fn auth_test(slack: &Slack, call: &Call, caller: u32, kind: TokenKind) -> Response {
    let data = slack.data();
    let user = &data.users[caller as usize];
    let mut body = Map::new();
    body.insert(
        "url".into(),
        json!("https://corp-example.enterprise.slack.com/"),
    );
    body.insert("team".into(), json!("Corp"));
    body.insert("user".into(), json!(user.name));
    body.insert("team_id".into(), json!(slack.enterprise_id));
    body.insert("user_id".into(), json!(user.id));
    body.insert("enterprise_id".into(), json!(slack.enterprise_id));
    body.insert("is_enterprise_install".into(), json!(true));
    if kind == TokenKind::Bot {
        body.insert("bot_id".into(), json!(format!("B{}", &user.id[1..])));
    }
    ok(body, call)
}

// ----- the handle and the registration -----

impl crate::ProviderKind {
    /// Slack.
    #[allow(non_upper_case_globals)]
    pub const Slack: crate::ProviderKind = crate::ProviderKind("slack");
}

pub(crate) const REGISTRATION: crate::served::Registration = crate::served::Registration {
    kind: crate::ProviderKind::Slack,
    start: |data, config, faults| {
        let switches: SlackConfig = config.switches(crate::ProviderKind::Slack);
        crate::served::pending(
            Slack::new(data, &switches, faults, config.log_capacity),
            Slack::router,
            SlackEmulator,
        )
    },
};

impl crate::EmulatorConfig {
    /// Sets the Slack switches.
    pub fn slack(self, slack: SlackConfig) -> Self {
        self.with_switches(crate::ProviderKind::Slack, slack)
    }
}

impl crate::Emulator {
    /// The Slack emulator, if started.
    pub fn slack(&self) -> Option<&SlackEmulator> {
        self.get()
    }
}

/// The Slack emulator: `POST {base_url}admin.users.session.*` and friends.
#[derive(Clone)]
pub struct SlackEmulator(crate::served::Handle<Slack>);

crate::served::served!(SlackEmulator);

impl std::fmt::Debug for SlackEmulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackEmulator")
            .field("base_url", &self.base_url())
            .finish()
    }
}

impl SlackEmulator {
    const KIND: crate::ProviderKind = crate::ProviderKind::Slack;

    /// The Web API base, `http://127.0.0.1:PORT/api/` (Slack's is `https://slack.com/api/`).
    pub fn base_url(&self) -> String {
        format!("http://{}/api/", self.0.addr())
    }

    /// The org admin token, as a `[providers.NAME]` table names it.
    pub fn connection(&self) -> crate::Connection {
        let mut settings = serde_json::Map::new();
        settings.insert("base_url".into(), json!(self.base_url()));
        crate::Connection {
            kind: Self::KIND,
            settings,
            secrets: vec![("token", self.tokens().admin.clone())],
            time_scale: 1.0,
        }
    }

    /// The base URL and the org admin token.
    pub fn summary(&self) -> String {
        format!(
            "slack       {}\n  org admin token                    {}\n",
            self.base_url(),
            self.tokens().admin
        )
    }

    /// The tokens it accepts, by role.
    pub fn tokens(&self) -> &SlackTokens {
        &self.0.state.token_set
    }

    /// The workspace id (`T…`).
    pub fn team_id(&self) -> &str {
        &self.0.state.team_id
    }

    /// The organisation id (`E…`), which session listings report as `team_id`.
    pub fn enterprise_id(&self) -> &str {
        &self.0.state.enterprise_id
    }

    /// The user with this email.
    pub fn user_id_by_email(&self, email: &str) -> Option<String> {
        self.0.state.user_id_by_email(email)
    }

    /// The primary owner, whose sessions only the primary owner may end.
    pub fn primary_owner_id(&self) -> String {
        self.0.state.primary_owner_id()
    }

    /// A bot user (`cannot_reset_bot`).
    pub fn bot_user_id(&self) -> String {
        self.0.state.bot_user_id()
    }

    /// The active session ids of `user`, in id order.
    pub fn sessions_of(&self, user: &str) -> Vec<u64> {
        self.0.state.sessions_of(user)
    }

    /// Every active session id, in id order.
    pub fn all_sessions(&self) -> Vec<u64> {
        self.0.state.all_sessions()
    }

    /// How many sessions are active.
    pub fn session_count(&self) -> usize {
        self.0.state.session_count()
    }

    /// Adds a session for `user` on a mobile or a browser device.
    pub fn add_session(&self, user: &str, mobile: bool) -> Option<u64> {
        self.0.state.add_session(user, mobile)
    }

    /// Adds `count` sessions with random devices for `user`.
    pub fn add_sessions(&self, user: &str, count: usize) -> Vec<u64> {
        self.0.state.add_sessions(user, count)
    }

    /// Adds a user with this email; returns the id.
    pub fn add_user(&self, email: &str) -> String {
        self.0.state.add_user(email)
    }

    /// Switches the Enterprise plan on or off.
    pub fn set_enterprise(&self, enterprise: bool) {
        self.0.state.set_enterprise(enterprise)
    }

    /// The session settings of `user`: `(duration, desktop_app_browser_quit)`.
    pub fn settings_of(&self, user: &str) -> Option<(Option<u64>, Option<bool>)> {
        self.0.state.settings_of(user)
    }
}
