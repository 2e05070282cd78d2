//! The ONLYOFFICE DocSpace emulator: `api/2.0/security/activeconnections/*`,
//! `api/2.0/people/email` and `api/2.0/authentication`.
//!
//! Behaviour follows `shared/research/docspace.md` (server v3.7.2) rather than the
//! spec where they differ. Departures from the spec, following the server:
//! * `date` is an ISO-8601 string with offset (`2025-03-10T14:22:31.0000000+01:00`),
//!   not the `{utcTime, timeZoneOffset}` object the spec declares;
//! * `logout/{id}` answers 200 `false` for unknown or closed ids, never 404;
//! * `logoutall/{userId}` answers an envelope with no `response` and `count: 0`;
//! * 401, 429, route misses (non-integer or non-GUID ids) and scope refusals have
//!   empty bodies; `POST authentication` answers 200, not the documented 201.
//!
//! Departures from the research, where the emulator cannot or does not follow:
//! * the current (cookie) connection keeps its recorded device and place; the
//!   server refreshes them from the current request (the emulator does not see the
//!   client address);
//! * only the sliding window (1500 per minute per user) is enforced, after
//!   authentication: unauthenticated requests are not limited (the server counts
//!   them per IP), and the concurrency (50 GET, 15 other), daily (10 000 writes)
//!   and sensitive-API limits are not enforced. Under scaled time `Retry-After`
//!   carries fractional seconds;
//! * API-key and OAuth callers of `logoutall/{self}` and `logoutallchangepassword`
//!   get no new `asc_auth_key` cookie (they had none to renew);
//! * `people/email` ignores `encemail` and `culture`; room admins see no guests,
//!   since there are no rooms to share.
//!
//! The older-server mode reproduces servers before v3.7.1: `logout/{id}` on another
//! user's session without admin rights answers 200 `false` (not 403), closing an
//! already-closed event answers `true` again, and `logoutall` needs a DocSpace admin
//! or a People product admin ([`DocSpaceRole::PeopleAdmin`]), who may not target
//! another DocSpace admin. The code's message there is "Method not available", but
//! `CustomExceptionHandler` rewrites every `SecurityException`, so the wire says
//! "Access denied" (DocSpace-server 836d3071 to e1c68b6a).
//!
//! `GET people/{userid}` (a GUID or a user name) answers 404 `ItemNotFoundException`
//! for nobody, where `logoutall` answers 200 for any well-formed GUID (the "lost
//! user"); existence is checked before visibility, and API-key scopes are not.
//!
//! The [`Misleading`](crate::Misleading) switches: `people/email` may answer another
//! person, or (ignoring the filter) the first user. `logoutall` answers success for
//! unknown ids in any case. Stale listings do not apply: the listing shows only the
//! caller's own sessions, which no test revokes from elsewhere.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router, middleware};
use base64::Engine;
use chrono::{DateTime, FixedOffset, Utc};
use serde_json::{Value, json};

use crate::common::{self, Common, FaultStyle, Limit, Provider, SlidingWindow};
use crate::dataset::{Dataset, DeviceClass, DeviceProfile, meteor_id, seed_session};
use crate::faults::Faults;

const PROVIDER_STREAM: u64 = 1;
const TENANT_ID: i32 = 1;
const ZERO_GUID: &str = "00000000-0000-0000-0000-000000000000";
const ROUTE: &str = "/api/2.0/security/activeconnections";

/// DocSpace-specific switches.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct DocSpaceConfig {
    /// Behave like a server before v3.7.1 (see the module docs).
    pub legacy: bool,
}

/// A DocSpace user type (role).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DocSpaceRole {
    /// The portal owner (a DocSpace admin).
    Owner,
    /// A DocSpace admin.
    Admin,
    /// A room admin.
    RoomAdmin,
    /// An ordinary user.
    User,
    /// A guest.
    Guest,
    /// An ordinary user who administers the People product (a member of its
    /// group, `WebItemManager.PeopleProductID`): before v3.7.1 such a user could call
    /// `logoutall`. Otherwise treated as a room admin (sees everyone but guests).
    PeopleAdmin,
}

impl DocSpaceRole {
    fn is_docspace_admin(self) -> bool {
        matches!(self, Self::Owner | Self::Admin)
    }

    /// `WebItemSecurity.IsProductAdministratorAsync(PeopleProductID, …)`: DocSpace
    /// admins (the owner included) and the People product's own admins.
    fn is_people_admin(self) -> bool {
        self.is_docspace_admin() || self == Self::PeopleAdmin
    }
}

#[derive(Debug, Clone)]
struct User {
    id: String,
    email: String,
    first_name: String,
    last_name: String,
    user_name: String,
    password: String,
    role: DocSpaceRole,
    cookie_index: u32,
}

impl User {
    fn display_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }
}

#[derive(Debug, Clone)]
struct LoginEvent {
    user: usize,
    active: bool,
    date: DateTime<Utc>,
    ip: String,
    browser: String,
    platform: String,
    mobile: bool,
    city: &'static str,
    country: &'static str,
    page: Option<String>,
}

#[derive(Debug, Clone, Copy)]
struct Token {
    user: usize,
    login_event: i32,
    user_index: u32,
}

struct Data {
    users: Vec<User>,
    by_id: HashMap<String, usize>,
    events: BTreeMap<i32, LoginEvent>,
    tokens: HashMap<String, Token>,
    event_tokens: HashMap<i32, String>,
    api_keys: HashMap<String, (usize, Vec<&'static str>)>,
    oauth: HashMap<String, usize>,
    next_event: i32,
    legacy: bool,
    rng: fastrand::Rng,
}

/// Credentials a DocSpace emulator accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DocSpaceCredentials {
    /// The owner's API key (`sk-…`, permissions `*`).
    pub api_key: String,
    /// An API key of the owner limited to `accounts:read` (403 on activeconnections).
    pub limited_api_key: String,
    /// The owner's personal token, tied to login event [`admin_event`](Self::admin_event).
    pub admin_token: String,
    /// The login event of `admin_token`.
    pub admin_event: i32,
    /// An OAuth bearer (JWT-shaped) of the owner.
    pub oauth_token: String,
    /// The owner's email (Basic auth and `POST authentication`).
    pub admin_email: String,
    /// The owner's password.
    pub admin_password: String,
    /// The owner's user id.
    pub admin_id: String,
    /// An ordinary user's personal token.
    pub member_token: String,
    /// Its login event.
    pub member_event: i32,
    /// That user's id.
    pub member_id: String,
}

pub(crate) struct DocSpace {
    common: Common,
    data: Mutex<Data>,
    limiter: SlidingWindow,
    pub(crate) credentials: DocSpaceCredentials,
}

impl Provider for DocSpace {
    fn common(&self) -> &Common {
        &self.common
    }

    fn snapshot(&self) -> Value {
        let data = self.data();
        let mut active: BTreeMap<String, Vec<i32>> = BTreeMap::new();
        for (id, event) in data.events.iter().filter(|(_, e)| e.active) {
            active
                .entry(data.users[event.user].id.clone())
                .or_default()
                .push(*id);
        }
        json!({"users": data.users.len(), "legacy": data.legacy, "active_events_by_user": active})
    }
}

struct DocSpaceFaults;

impl FaultStyle for DocSpaceFaults {
    fn server_error(&self) -> Response {
        // A 502 from the reverse proxy: HTML, not JSON (SPEC-3.7).
        (
            StatusCode::BAD_GATEWAY,
            [(header::CONTENT_TYPE, "text/html")],
            "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>",
        )
            .into_response()
    }

    fn rate_limited(&self, retry_after: Duration, _: &Faults) -> Response {
        rate_limited(retry_after, 0)
    }
}

/// 429 with an empty body, `Retry-After` in whole seconds, and the limiter's headers.
fn rate_limited(retry_after: Duration, remaining: u32) -> Response {
    let mut response = StatusCode::TOO_MANY_REQUESTS.into_response();
    let headers = response.headers_mut();
    headers.insert(header::RETRY_AFTER, common::retry_after_value(retry_after));
    headers.insert("x-ratelimit-limit", HeaderValue::from_static("1500"));
    headers.insert("x-ratelimit-remaining", HeaderValue::from(remaining));
    response
}

fn new_token(rng: &mut fastrand::Rng) -> String {
    let mut bytes = [0u8; 48];
    rng.fill(&mut bytes);
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

impl DocSpace {
    pub(crate) fn new(
        dataset: &Dataset,
        config: &DocSpaceConfig,
        faults: Faults,
        log_capacity: usize,
    ) -> Self {
        let seed = dataset.config().seed;
        let mut data = Data {
            users: Vec::new(),
            by_id: HashMap::new(),
            events: BTreeMap::new(),
            tokens: HashMap::new(),
            event_tokens: HashMap::new(),
            api_keys: HashMap::new(),
            oauth: HashMap::new(),
            next_event: 48_000,
            legacy: config.legacy,
            rng: fastrand::Rng::with_seed(seed ^ 0xD0C5),
        };
        for person in dataset.people() {
            let index = data.users.len();
            data.users.push(User {
                id: person.docspace_id.clone(),
                email: person.email.clone(),
                first_name: person.first_name.clone(),
                last_name: person.last_name.clone(),
                user_name: person.username.clone(),
                password: person.password.clone(),
                role: if person.admin {
                    DocSpaceRole::Owner
                } else {
                    DocSpaceRole::User
                },
                cookie_index: 0,
            });
            data.by_id.insert(person.docspace_id.clone(), index);
            for seeded in dataset.sessions(person, PROVIDER_STREAM) {
                data.login(
                    index,
                    seeded.device,
                    &seeded.ip,
                    seeded.place,
                    seeded.login_at,
                );
            }
        }
        let admin = 0;
        let member = usize::from(data.users.len() > 1);
        let api_device = &crate::dataset::DEVICES[0];
        let (admin_event, admin_token) = data.login(
            admin,
            api_device,
            "203.0.113.10",
            ("Berlin", "Germany"),
            crate::dataset::epoch(),
        );
        let (member_event, member_token) = data.login(
            member,
            api_device,
            "198.51.100.20",
            ("Riga", "Latvia"),
            crate::dataset::epoch(),
        );
        let api_key = format!("sk-{}", meteor_id(&mut data.rng).to_lowercase());
        let limited_api_key = format!("sk-{}", meteor_id(&mut data.rng).to_lowercase());
        data.api_keys.insert(api_key.clone(), (admin, vec!["*"]));
        data.api_keys
            .insert(limited_api_key.clone(), (admin, vec!["accounts:read"]));
        let oauth_token = format!(
            "eyJhbGciOiJSUzI1NiJ9.{}.{}",
            meteor_id(&mut data.rng),
            meteor_id(&mut data.rng)
        );
        data.oauth.insert(oauth_token.clone(), admin);
        let credentials = DocSpaceCredentials {
            api_key,
            limited_api_key,
            admin_token,
            admin_event,
            oauth_token,
            admin_email: data.users[admin].email.clone(),
            admin_password: data.users[admin].password.clone(),
            admin_id: data.users[admin].id.clone(),
            member_token,
            member_event,
            member_id: data.users[member].id.clone(),
        };
        Self {
            common: Common::new("docspace", faults, seed, log_capacity, DocSpaceFaults),
            data: Mutex::new(data),
            limiter: SlidingWindow::default(),
            credentials,
        }
    }

    fn data(&self) -> MutexGuard<'_, Data> {
        self.data.lock().expect("docspace state lock")
    }

    pub(crate) fn router(self: Arc<Self>) -> Router {
        Router::new()
            .route(ROUTE, get(list_connections))
            .route(&format!("{ROUTE}/logout/{{id}}"), put(logout))
            .route(&format!("{ROUTE}/logoutall/{{id}}"), put(logout_all))
            .route(
                &format!("{ROUTE}/logoutallexceptthis"),
                put(logout_all_except_this),
            )
            .route(
                &format!("{ROUTE}/logoutallchangepassword"),
                put(logout_all_change_password),
            )
            .route("/api/2.0/people/email", get(people_by_email))
            .route("/api/2.0/people/{userid}", get(people_by_id))
            .route("/api/2.0/authentication", post(authenticate))
            .fallback(|| async { StatusCode::NOT_FOUND })
            .merge(common::control_routes::<DocSpace>())
            .layer(middleware::from_fn_with_state(
                self.clone(),
                common::common_layer::<DocSpace>,
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

    pub(crate) fn active_events_of(&self, user: &str) -> Vec<i32> {
        let data = self.data();
        let Some(&index) = data.by_id.get(user) else {
            return Vec::new();
        };
        data.events
            .iter()
            .filter(|(_, e)| e.user == index && e.active)
            .map(|(id, _)| *id)
            .collect()
    }

    pub(crate) fn token_of(&self, event: i32) -> Option<String> {
        self.data().event_tokens.get(&event).cloned()
    }

    pub(crate) fn add_session(&self, user: &str) -> Option<(i32, String)> {
        let mut data = self.data();
        let index = *data.by_id.get(user)?;
        let seeded = seed_session(&mut data.rng);
        Some(data.login(index, seeded.device, &seeded.ip, seeded.place, Utc::now()))
    }

    pub(crate) fn add_user(&self, email: &str, role: DocSpaceRole) -> String {
        let mut data = self.data();
        let id = crate::dataset::guid(&mut data.rng);
        let index = data.users.len();
        let name = email.split('@').next().unwrap_or("user").to_owned();
        let password = format!("pw-{}", meteor_id(&mut data.rng));
        data.users.push(User {
            id: id.clone(),
            email: email.to_owned(),
            first_name: name.clone(),
            last_name: "Seeded".to_owned(),
            user_name: name,
            password,
            role,
            cookie_index: 0,
        });
        data.by_id.insert(id.clone(), index);
        id
    }

    pub(crate) fn set_legacy(&self, legacy: bool) {
        self.data().legacy = legacy;
    }

    pub(crate) fn token_is_valid(&self, token: &str) -> bool {
        let data = self.data();
        data.tokens.get(token).is_some_and(|t| data.token_valid(t))
    }
}

impl Data {
    /// Records a login: a new active login event and a token tied to it.
    fn login(
        &mut self,
        user: usize,
        device: &DeviceProfile,
        ip: &str,
        place: (&'static str, &'static str),
        date: DateTime<Utc>,
    ) -> (i32, String) {
        self.next_event += 1 + self.rng.i32(0..3);
        let id = self.next_event;
        let major = device.client_version.split('.').next().unwrap_or("0");
        let os_major = device.os_version.split('.').next().unwrap_or("");
        self.events.insert(
            id,
            LoginEvent {
                user,
                active: true,
                date,
                ip: ip.to_owned(),
                browser: format!("{} {major}", device.client),
                // "{OS.Family} {OS.Major} {Device.Brand} {Device.Model}", trimmed: only
                // phones name a device.
                platform: if device.kind == DeviceClass::Mobile {
                    format!("{} {} {}", device.os, os_major, device.hardware)
                } else {
                    format!("{} {os_major}", device.os)
                },
                mobile: device.kind == DeviceClass::Mobile,
                city: place.0,
                country: place.1,
                page: (device.kind == DeviceClass::Browser)
                    .then(|| "https://docspace.corp.example/rooms/shared".to_owned()),
            },
        );
        let token = new_token(&mut self.rng);
        self.tokens.insert(
            token.clone(),
            Token {
                user,
                login_event: id,
                user_index: self.users[user].cookie_index,
            },
        );
        self.event_tokens.insert(id, token.clone());
        (id, token)
    }

    fn token_valid(&self, token: &Token) -> bool {
        self.users[token.user].cookie_index == token.user_index
            && (token.login_event == 0
                || self
                    .events
                    .get(&token.login_event)
                    .is_some_and(|e| e.active))
    }

    /// After `ResetUserCookie` on the caller: a new login and a new `asc_auth_key`
    /// (`AuthenticateMeAndSetCookiesAsync`). API keys and OAuth tokens carry no
    /// cookie, so nothing is issued to them.
    fn relogin(&mut self, caller: &Caller) -> Option<String> {
        if matches!(caller.scheme, Scheme::ApiKey | Scheme::OAuth) {
            return None;
        }
        let device = &crate::dataset::DEVICES[0];
        let (_, token) = self.login(caller.user, device, "127.0.0.1", ("", ""), Utc::now());
        Some(token)
    }

    /// `ResetUserCookie`: every token of the user dies, every login event closes.
    fn log_out_all(&mut self, user: usize) {
        self.users[user].cookie_index += 1;
        for event in self.events.values_mut().filter(|e| e.user == user) {
            event.active = false;
        }
    }
}

// ----- authentication -----

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Cookie,
    HeaderToken,
    ApiKey,
    OAuth,
    Basic,
}

#[derive(Debug, Clone)]
struct Caller {
    user: usize,
    scheme: Scheme,
    /// The login event of the `asc_auth_key` cookie; 0 otherwise.
    cookie_event: i32,
    scopes: Option<Vec<&'static str>>,
}

fn unauthorized(basic: bool) -> Response {
    let mut response = StatusCode::UNAUTHORIZED.into_response();
    if basic {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"DocSpace\""),
        );
    }
    response
}

fn authenticate_request(data: &Data, headers: &HeaderMap) -> Result<Caller, Response> {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let cookie = common::cookie(headers, "asc_auth_key");
    let by_token = |token: &str, scheme: Scheme| -> Result<Caller, Response> {
        let t = data
            .tokens
            .get(token)
            .filter(|t| data.token_valid(t))
            .ok_or_else(|| unauthorized(false))?;
        Ok(Caller {
            user: t.user,
            scheme,
            cookie_event: if scheme == Scheme::Cookie {
                t.login_event
            } else {
                0
            },
            scopes: None,
        })
    };
    match authorization {
        None => match cookie {
            Some(token) => by_token(token, Scheme::Cookie),
            None => Err(unauthorized(false)),
        },
        Some(value) if value.starts_with("Basic ") => {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(value["Basic ".len()..].trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok());
            let user =
                decoded
                    .as_deref()
                    .and_then(|d| d.split_once(':'))
                    .and_then(|(email, password)| {
                        data.users.iter().position(|u| {
                            u.email.eq_ignore_ascii_case(email) && u.password == password
                        })
                    });
            match user {
                Some(user) => Ok(Caller {
                    user,
                    scheme: Scheme::Basic,
                    cookie_event: 0,
                    scopes: None,
                }),
                None => Err(unauthorized(true)),
            }
        }
        Some(value) if value.starts_with("Bearer sk-") => {
            match data.api_keys.get(&value["Bearer ".len()..]) {
                Some((user, scopes)) => Ok(Caller {
                    user: *user,
                    scheme: Scheme::ApiKey,
                    cookie_event: 0,
                    scopes: Some(scopes.clone()),
                }),
                None => Err(unauthorized(false)),
            }
        }
        Some(value) if value.starts_with("Bearer ") && value.matches('.').count() == 2 => {
            match data.oauth.get(&value["Bearer ".len()..]) {
                Some(user) => Ok(Caller {
                    user: *user,
                    scheme: Scheme::OAuth,
                    cookie_event: 0,
                    scopes: None,
                }),
                None => Err(unauthorized(false)),
            }
        }
        // Anything else goes to the cookie handler: the cookie wins if both are sent,
        // and a leading "Bearer " is stripped.
        Some(value) => match cookie {
            Some(token) => by_token(token, Scheme::Cookie),
            None => by_token(
                value.strip_prefix("Bearer ").unwrap_or(value),
                Scheme::HeaderToken,
            ),
        },
    }
}

/// API-key scopes: GET needs `*:read` or `*:write`, PUT `*:write`; `extra` lists
/// further scopes the route accepts. A refusal is a bare 403.
fn check_scope(caller: &Caller, method: &Method, extra: &[&str]) -> Result<(), Response> {
    let Some(scopes) = &caller.scopes else {
        return Ok(());
    };
    let allowed = scopes.iter().any(|s| {
        *s == "*"
            || *s == "*:write"
            || (*s == "*:read" && *method == Method::GET)
            || extra.contains(s)
    });
    if allowed {
        Ok(())
    } else {
        Err(StatusCode::FORBIDDEN.into_response())
    }
}

/// Authenticates and applies the rate limiter (when enforced), per user.
fn admit(docspace: &DocSpace, headers: &HeaderMap) -> Result<Caller, Response> {
    let caller = authenticate_request(&docspace.data(), headers)?;
    let faults = docspace.common.faults();
    if faults.enforce_rate_limits {
        let window = faults.scaled(Duration::from_secs(60));
        let key = format!("sw_{}", caller.user);
        if let Limit::Refused { retry_after } = docspace.limiter.check(&key, 1500, window) {
            let whole = Duration::from_secs(retry_after.as_secs_f64().ceil() as u64);
            let wait = if faults.time_scale > 1.0 {
                retry_after
            } else {
                whole
            };
            return Err(rate_limited(wait, 0));
        }
    }
    Ok(caller)
}

// ----- envelopes -----

fn links(headers: &HeaderMap, uri: &Uri, method: &Method) -> Value {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    json!([{"href": format!("http://{host}{}", uri.path_and_query().map_or("", |p| p.as_str())), "action": method.as_str()}])
}

fn success(response: Option<Value>, count: i32, links: Value) -> Response {
    let mut body = serde_json::Map::new();
    if let Some(response) = response {
        body.insert("response".into(), response);
    }
    body.insert("count".into(), json!(count));
    body.insert("links".into(), links);
    body.insert("status".into(), json!(0));
    body.insert("statusCode".into(), json!(200));
    Json(Value::Object(body)).into_response()
}

fn error(status: StatusCode, message: &str, exception: &str) -> Response {
    (
        status,
        Json(json!({
            "error": {"message": message, "type": exception, "stack": null, "hresult": -2146233088},
            "status": 1,
            "statusCode": status.as_u16(),
        })),
    )
        .into_response()
}

/// 403 "Access denied". Servers before v3.7.1 threw `SecurityException("Method not
/// available")` from `logoutall`, but `CustomExceptionHandler` rewrites the message of
/// every `SecurityException`, so the wire always says "Access denied"; only the 3.6
/// spec shows the other text. `_legacy` names the call site.
fn access_denied(_legacy: bool) -> Response {
    error(
        StatusCode::FORBIDDEN,
        "Access denied",
        "System.Security.SecurityException",
    )
}

/// The tenant's local time with its offset and seven fraction digits.
fn api_date(date: DateTime<Utc>) -> String {
    let local = date.with_timezone(&FixedOffset::east_opt(3600).expect("valid offset"));
    format!(
        "{}.{:07}{}",
        local.format("%Y-%m-%dT%H:%M:%S"),
        local.timestamp_subsec_nanos() / 100,
        local.format("%:z")
    )
}

fn item_json(id: i32, event: &LoginEvent, user_id: &str) -> Value {
    let mut item = json!({
        "id": id,
        "tenantId": TENANT_ID,
        "userId": user_id,
        "mobile": event.mobile,
        // BaseEventMapper keeps what precedes the first ':' (meant for a port), so an
        // IPv6 address is cut to its first group.
        "ip": event.ip.split(':').next().unwrap_or(""),
        "country": event.country,
        "city": event.city,
        "browser": event.browser,
        "platform": event.platform,
        "date": api_date(event.date),
    });
    if let Some(page) = &event.page {
        item["page"] = json!(page);
    }
    item
}

// ----- handlers -----

async fn list_connections(
    State(ds): State<Arc<DocSpace>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let caller = match admit(&ds, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    if let Err(r) = check_scope(&caller, &method, &[]) {
        return r;
    }
    let data = ds.data();
    let user = &data.users[caller.user];
    let mut items: Vec<(i32, &LoginEvent)> = data
        .events
        .iter()
        .rev()
        .filter(|(_, e)| e.user == caller.user && e.active)
        .map(|(id, e)| (*id, e))
        .collect();
    let current = caller.cookie_event;
    if current != 0
        && let Some(pos) = items.iter().position(|(id, _)| *id == current)
    {
        let entry = items.remove(pos);
        items.insert(0, entry);
    }
    let mut json_items: Vec<Value> = items
        .iter()
        .map(|(id, e)| item_json(*id, e, &user.id))
        .collect();
    if current == 0 && json_items.is_empty() {
        // A synthetic entry representing the current request.
        json_items.push(json!({
            "id": 0, "tenantId": 0, "userId": ZERO_GUID, "mobile": false, "ip": "127.0.0.1",
            "country": "", "city": "", "browser": "Other", "platform": "Other", "date": api_date(Utc::now()),
        }));
    }
    success(
        Some(json!({"loginEvent": current, "items": json_items})),
        1,
        links(&headers, &uri, &method),
    )
}

async fn logout(
    State(ds): State<Arc<DocSpace>>,
    Path(id): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    // Route constraint {loginEventId:int}: anything else matches no route.
    let Ok(id) = id.parse::<i32>() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let caller = match admit(&ds, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    if let Err(r) = check_scope(&caller, &method, &[]) {
        return r;
    }
    let mut data = ds.data();
    let is_admin = data.users[caller.user].role.is_docspace_admin();
    let legacy = data.legacy;
    let closed = match data.events.get_mut(&id) {
        None => false,
        Some(event) if legacy => {
            if event.user != caller.user && !is_admin {
                false
            } else {
                event.active = false;
                true
            }
        }
        Some(event) if !event.active => false,
        Some(event) if event.user != caller.user && !is_admin => return access_denied(false),
        Some(event) => {
            event.active = false;
            true
        }
    };
    success(Some(json!(closed)), 1, links(&headers, &uri, &method))
}

async fn logout_all(
    State(ds): State<Arc<DocSpace>>,
    Path(id): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    // Route constraint {userId:guid}.
    let Ok(guid) = uuid::Uuid::parse_str(&id) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let target_id = guid.hyphenated().to_string();
    let caller = match admit(&ds, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    if let Err(r) = check_scope(&caller, &method, &[]) {
        return r;
    }
    let mut data = ds.data();
    let caller_is_admin = data.users[caller.user].role.is_docspace_admin();
    let target = data.by_id.get(&target_id).copied();
    let is_self = target == Some(caller.user);
    if data.legacy {
        // Before v3.7.1 (DocSpace-server 836d3071 to e1c68b6a): DocSpace admins and
        // People product admins, never against another DocSpace admin.
        let target_is_admin = target.is_some_and(|t| data.users[t].role.is_docspace_admin());
        let caller_may = data.users[caller.user].role.is_people_admin();
        if !caller_may || (!is_self && target_is_admin) {
            return access_denied(true);
        }
    } else if !is_self && !caller_is_admin {
        return access_denied(false);
    }
    let mut set_cookie = None;
    // An unknown GUID resolves to the "lost user": the call succeeds and changes nothing.
    if let Some(target) = target {
        data.log_out_all(target);
        if is_self {
            set_cookie = data.relogin(&caller);
        }
    }
    let mut response = success(None, 0, links(&headers, &uri, &method));
    if let Some(token) = set_cookie {
        set_auth_cookie(&mut response, &token, Some(cookie_expiry()));
    }
    response
}

async fn logout_all_except_this(
    State(ds): State<Arc<DocSpace>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let caller = match admit(&ds, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    if let Err(r) = check_scope(&caller, &method, &[]) {
        return r;
    }
    let mut data = ds.data();
    // Only the cookie tells the current event; with a header credential it is 0 and
    // every session closes, the caller's own included.
    let keep = caller.cookie_event;
    for (id, event) in data.events.iter_mut() {
        if event.user == caller.user && *id != keep {
            event.active = false;
        }
    }
    let name = data.users[caller.user].display_name();
    success(Some(json!(name)), 1, links(&headers, &uri, &method))
}

async fn logout_all_change_password(
    State(ds): State<Arc<DocSpace>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let caller = match admit(&ds, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    if let Err(r) = check_scope(&caller, &method, &[]) {
        return r;
    }
    let mut data = ds.data();
    // `LogOutAllActiveConnections(me)`: as `logoutall` on self, a new cookie follows.
    data.log_out_all(caller.user);
    let set_cookie = data.relogin(&caller);
    let key = meteor_id(&mut data.rng);
    let user = &data.users[caller.user];
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    let email: String = url::form_urlencoded::byte_serialize(user.email.as_bytes()).collect();
    let url = format!(
        "http://{host}/confirm/PasswordChange?type=PasswordChange&email={email}&key={key}&uid={}",
        user.id
    );
    let mut response = success(Some(json!(url)), 1, links(&headers, &uri, &method));
    if let Some(token) = set_cookie {
        set_auth_cookie(&mut response, &token, Some(cookie_expiry()));
    }
    response
}

async fn people_by_email(
    State(ds): State<Arc<DocSpace>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let caller = match admit(&ds, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    if let Err(r) = check_scope(&caller, &method, &["accounts:read", "accounts:write"]) {
        return r;
    }
    let email = query
        .as_deref()
        .and_then(|q| {
            url::form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k.eq_ignore_ascii_case("email"))
        })
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    // `[EmailAddress]`: exactly one '@', neither first nor last; `[StringLength(255)]`.
    let problem = if email.is_empty() {
        None
    } else if !email
        .find('@')
        .is_some_and(|i| i > 0 && i < email.len() - 1 && email.matches('@').count() == 1)
    {
        Some("The Email field is not a valid e-mail address.")
    } else if email.chars().count() > 255 {
        Some("The field Email must be a string with a maximum length of 255.")
    } else {
        None
    };
    if let Some(message) = problem {
        let mut body = serde_json::Map::new();
        body.insert(
            "response".into(),
            json!({
                "type": "https://tools.ietf.org/html/rfc9110#section-15.5.1",
                "title": "One or more validation errors occurred.",
                "status": 400,
                "errors": {"Email": [message]},
            }),
        );
        body.insert("count".into(), json!(1));
        body.insert("links".into(), links(&headers, &uri, &method));
        body.insert("status".into(), json!(1));
        body.insert("statusCode".into(), json!(400));
        return (StatusCode::BAD_REQUEST, Json(Value::Object(body))).into_response();
    }
    if email.is_empty() {
        return error(
            StatusCode::BAD_REQUEST,
            "Value cannot be null. (Parameter 'email')",
            "System.ArgumentException",
        );
    }
    let data = ds.data();
    let found = data
        .users
        .iter()
        .position(|u| u.email.eq_ignore_ascii_case(email.trim()));
    let answered = ds
        .common
        .answer_lookup(found, data.users.len(), |id| data.by_id.get(id).copied());
    let Some(target) = answered else {
        return error(
            StatusCode::NOT_FOUND,
            "The user could not be found",
            "ASC.Common.Web.ItemNotFoundException",
        );
    };
    employee_answer(&data, &caller, target, &method, &uri, &headers)
}

/// `GET people/{userid}` (`GetProfileByUserId`): a GUID or a user name. An id nobody
/// has is 404 `ItemNotFoundException` (never the "lost user" placeholder that
/// `logoutall` works on); the existence check runs before the visibility check, so
/// users and guests get 403 only for somebody who exists. API-key scopes are not
/// checked on this route (DocSpace-server `UserController.GetById`).
async fn people_by_id(
    State(ds): State<Arc<DocSpace>>,
    Path(id): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let caller = match admit(&ds, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let data = ds.data();
    let target = match uuid::Uuid::parse_str(&id) {
        Ok(guid) => data.by_id.get(&guid.hyphenated().to_string()).copied(),
        Err(_) => data.users.iter().position(|u| u.user_name == id),
    };
    let Some(target) = target else {
        return error(
            StatusCode::NOT_FOUND,
            "The user could not be found",
            "ASC.Common.Web.ItemNotFoundException",
        );
    };
    employee_answer(&data, &caller, target, &method, &uri, &headers)
}

/// The `EmployeeFullDto` envelope of `target`, or 403 when the caller may not see it
/// (`CanUserViewAnotherUserAsync`: users and guests see nobody else; room admins see
/// everyone but guests they share a room with, and there are no rooms here).
fn employee_answer(
    data: &Data,
    caller: &Caller,
    target: usize,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Response {
    let caller_role = data.users[caller.user].role;
    let visible = target == caller.user
        || match caller_role {
            DocSpaceRole::Owner | DocSpaceRole::Admin => true,
            DocSpaceRole::RoomAdmin | DocSpaceRole::PeopleAdmin => {
                data.users[target].role != DocSpaceRole::Guest
            }
            DocSpaceRole::User | DocSpaceRole::Guest => false,
        };
    if !visible {
        return access_denied(false);
    }
    let user = &data.users[target];
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    let employee = json!({
        "id": user.id,
        "displayName": user.display_name(),
        "firstName": user.first_name,
        "lastName": user.last_name,
        "userName": user.user_name,
        "email": user.email,
        "status": 1,
        "activationStatus": 1,
        "isAdmin": user.role.is_docspace_admin(),
        "isRoomAdmin": user.role == DocSpaceRole::RoomAdmin,
        "isOwner": user.role == DocSpaceRole::Owner,
        "isVisitor": user.role == DocSpaceRole::Guest,
        "isCollaborator": false,
        "isLDAP": false,
        "isSSO": false,
        "hasAvatar": false,
        "isAnonim": false,
        "profileUrl": format!("http://{host}/accounts/view/{}", user.user_name),
        "registrationDate": api_date(crate::dataset::epoch() - chrono::Duration::days(400)),
    });
    success(Some(employee), 1, links(headers, uri, method))
}

async fn authenticate(
    State(ds): State<Arc<DocSpace>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let fields: HashMap<String, String> = if is_json {
        match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(map)) => map
                .into_iter()
                .filter_map(|(k, v)| {
                    let text = match v {
                        Value::String(s) => s,
                        Value::Bool(b) => b.to_string(),
                        _ => return None,
                    };
                    Some((k.to_ascii_lowercase(), text))
                })
                .collect(),
            _ => HashMap::new(),
        }
    } else {
        url::form_urlencoded::parse(&body)
            .map(|(k, v)| (k.to_ascii_lowercase(), v.into_owned()))
            .collect()
    };
    let (Some(user_name), Some(password)) = (fields.get("username"), fields.get("password")) else {
        return error(
            StatusCode::BAD_REQUEST,
            "userName or password is empty",
            "System.ArgumentException",
        );
    };
    let mut data = ds.data();
    let Some(user) = data.users.iter().position(|u| {
        (u.email.eq_ignore_ascii_case(user_name) || u.user_name == *user_name)
            && u.password == *password
    }) else {
        return error(
            StatusCode::UNAUTHORIZED,
            "User authentication failed",
            "System.Security.Authentication.AuthenticationException",
        );
    };
    let device = &crate::dataset::DEVICES[0];
    let (_, token) = data.login(user, device, "127.0.0.1", ("", ""), Utc::now());
    let expiry = cookie_expiry();
    let mut response = success(
        Some(json!({"token": token, "expires": api_date(expiry)})),
        1,
        links(&headers, &uri, &method),
    );
    // `"session": true` asks for a session cookie, one with no `expires`.
    let session = fields
        .get("session")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    set_auth_cookie(&mut response, &token, (!session).then_some(expiry));
    response
}

/// When a newly issued personal token's cookie expires.
fn cookie_expiry() -> DateTime<Utc> {
    Utc::now() + chrono::Duration::days(20)
}

/// `Set-Cookie: asc_auth_key=…`, persistent when `expires` is given.
fn set_auth_cookie(response: &mut Response, token: &str, expires: Option<DateTime<Utc>>) {
    let mut cookie = format!("asc_auth_key={token}; path=/");
    if let Some(expires) = expires {
        cookie.push_str(
            &expires
                .format("; expires=%a, %d %b %Y %H:%M:%S GMT")
                .to_string(),
        );
    }
    cookie.push_str("; secure; HttpOnly");
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

// ----- the handle and the registration -----

impl crate::ProviderKind {
    /// ONLYOFFICE DocSpace.
    #[allow(non_upper_case_globals)]
    pub const DocSpace: crate::ProviderKind = crate::ProviderKind("docspace");
}

pub(crate) const REGISTRATION: crate::served::Registration = crate::served::Registration {
    kind: crate::ProviderKind::DocSpace,
    start: |data, config, faults| {
        let switches: DocSpaceConfig = config.switches(crate::ProviderKind::DocSpace);
        crate::served::pending(
            DocSpace::new(data, &switches, faults, config.log_capacity),
            DocSpace::router,
            DocSpaceEmulator,
        )
    },
};

impl crate::EmulatorConfig {
    /// Sets the DocSpace switches.
    pub fn docspace(self, docspace: DocSpaceConfig) -> Self {
        self.with_switches(crate::ProviderKind::DocSpace, docspace)
    }
}

impl crate::Emulator {
    /// The DocSpace emulator, if started.
    pub fn docspace(&self) -> Option<&DocSpaceEmulator> {
        self.get()
    }
}

/// The DocSpace emulator: `{base_url}api/2.0/security/activeconnections` and friends.
#[derive(Clone)]
pub struct DocSpaceEmulator(crate::served::Handle<DocSpace>);

crate::served::served!(DocSpaceEmulator);

impl std::fmt::Debug for DocSpaceEmulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocSpaceEmulator")
            .field("base_url", &self.base_url())
            .finish()
    }
}

impl DocSpaceEmulator {
    const KIND: crate::ProviderKind = crate::ProviderKind::DocSpace;

    /// The portal root, `http://127.0.0.1:PORT/`.
    pub fn base_url(&self) -> String {
        format!("http://{}/", self.0.addr())
    }

    /// The administrator's personal token (sent as the cookie), as a
    /// `[providers.NAME]` table names it. The emulator enforces no rate limit unless
    /// asked, so a client need not pace at the real 1500 a minute.
    pub fn connection(&self) -> crate::Connection {
        let mut settings = serde_json::Map::new();
        settings.insert("base_url".into(), json!(self.base_url()));
        settings.insert("auth".into(), json!("personal_token"));
        crate::Connection {
            kind: Self::KIND,
            settings,
            secrets: vec![("token", self.credentials().admin_token.clone())],
            time_scale: 1000.0,
        }
    }

    /// The base URL and the administrator's credentials.
    pub fn summary(&self) -> String {
        let c = self.credentials();
        format!(
            "docspace    {}\n  API key (Authorization: Bearer)    {}\n  personal token (asc_auth_key)      {}\n  login                              {} / {}\n",
            self.base_url(),
            c.api_key,
            c.admin_token,
            c.admin_email,
            c.admin_password
        )
    }

    /// The credentials it accepts.
    pub fn credentials(&self) -> &DocSpaceCredentials {
        &self.0.state.credentials
    }

    /// The user with this email.
    pub fn user_id_by_email(&self, email: &str) -> Option<String> {
        self.0.state.user_id_by_email(email)
    }

    /// The active login events (sessions) of `user`, in id order.
    pub fn active_events_of(&self, user: &str) -> Vec<i32> {
        self.0.state.active_events_of(user)
    }

    /// The personal token tied to a login event.
    pub fn token_of(&self, event: i32) -> Option<String> {
        self.0.state.token_of(event)
    }

    /// Whether a personal token still authenticates.
    pub fn token_is_valid(&self, token: &str) -> bool {
        self.0.state.token_is_valid(token)
    }

    /// Logs `user` in once more: a new login event and its token.
    pub fn add_session(&self, user: &str) -> Option<(i32, String)> {
        self.0.state.add_session(user)
    }

    /// Adds a user with this email and role; returns the id.
    pub fn add_user(&self, email: &str, role: DocSpaceRole) -> String {
        self.0.state.add_user(email, role)
    }

    /// Behaves like a server before v3.7.1, or not.
    pub fn set_legacy(&self, legacy: bool) {
        self.0.state.set_legacy(legacy)
    }
}
