//! The ONLYOFFICE DocSpace emulator: `api/2.0/security/activeconnections/*`,
//! `api/2.0/people/email`, `api/2.0/people/filter`, `api/2.0/people/@self`,
//! `api/2.0/people/{userid}` and `api/2.0/authentication`.
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
//! `GET people/filter` follows DocSpace-server's `SearchUsersByExtendedFilter`
//! (`products/ASC.People/Server/Api/UserController.cs`): `count` is validated as
//! `[Range(1, 100)]` (`ApiContext.MaxCount`, `common/ASC.Api.Core/Core/ApiContext.cs`),
//! anything else a 400 `ValidationProblemDetails`, and defaults to 100; `startIndex`
//! defaults to 0; users and guests get 403 `SecurityException`. Without
//! `employeeStatus` DocSpace admins see everyone and room or People admins nobody
//! terminated (nor guests); `employeeStatus` Active/Default keep the active (invited
//! included: their status is Active), Terminated the terminated, All everyone
//! (`common/ASC.Core.Common/Data/DbUserService.cs`). The page comes in the store's
//! order with `count` (the page's size) and `total` (the whole filtered result) and no
//! `startIndex` (`common/ASC.Api.Core/Middleware/CommonApiResponse.cs`). Each person is
//! the `EmployeeFullDto` of `people/{userid}`, `status` 2 for a terminated user
//! ([`DocSpaceEmulator::add_terminated_user`]) and `activationStatus` 2 for an invited
//! one ([`DocSpaceEmulator::add_pending_user`]); neither can sign in. Other filters,
//! `activationStatus` among them, and `sortBy`/`sortOrder` are ignored.
//! `GET people/@self` answers the caller's own `EmployeeFullDto`; like
//! `people/{userid}` it checks no API-key scope.
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

mod auth;
mod envelopes;
mod handle;
mod handlers;

#[allow(unused_imports)]
use auth::*;
#[allow(unused_imports)]
use envelopes::*;
pub use handle::*;
#[allow(unused_imports)]
use handlers::*;

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
    /// `EmployeeStatus.Terminated` (2): deactivated, cannot sign in.
    terminated: bool,
    /// `EmployeeActivationStatus.Pending` (2): invited, has not joined (and cannot
    /// sign in yet).
    pending: bool,
}

impl User {
    fn display_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }

    /// Whether the person may authenticate: neither terminated nor still invited.
    fn can_sign_in(&self) -> bool {
        !self.terminated && !self.pending
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
                terminated: false,
                pending: false,
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
            .route("/api/2.0/people/filter", get(people_filter))
            .route("/api/2.0/people/@self", get(people_self))
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

    pub(crate) fn user_ids(&self) -> Vec<String> {
        self.data().users.iter().map(|u| u.id.clone()).collect()
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
        self.add_user_with(email, role, false, false)
    }

    /// Adds a user; `terminated` and `pending` set its `EmployeeStatus` and
    /// `EmployeeActivationStatus`.
    pub(crate) fn add_user_with(
        &self,
        email: &str,
        role: DocSpaceRole,
        terminated: bool,
        pending: bool,
    ) -> String {
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
            terminated,
            pending,
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
        self.users[token.user].can_sign_in()
            && self.users[token.user].cookie_index == token.user_index
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
