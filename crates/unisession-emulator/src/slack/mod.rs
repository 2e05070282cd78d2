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

mod call;
mod directory;
mod handle;
mod methods;
mod settings;

#[allow(unused_imports)]
use call::*;
#[allow(unused_imports)]
use directory::*;
pub use handle::*;
#[allow(unused_imports)]
use methods::*;
#[allow(unused_imports)]
use settings::*;

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
    /// Workspaces of the organisation (at least 1): `users.list` lists one at a time
    /// (`team_id`), `admin.teams.list` names them. People are spread over them in
    /// turn; administrators and the primary owner belong to every one.
    pub workspaces: usize,
    /// The token lacks `users:read.email`: `users.list` members carry no
    /// `profile.email`.
    pub list_without_email: bool,
    /// A fault, not a behaviour: `users.list` pages starting at or past this member
    /// index answer 503 from the edge (as [`crate::Faults`]' server errors do), so a
    /// scan breaks off partway.
    pub users_list_fails_from: Option<usize>,
}

impl Default for SlackConfig {
    fn default() -> Self {
        Self {
            enterprise: true,
            reset_bulk_delay: Duration::from_millis(30),
            expired_session_answer: false,
            lookup_refuses_org_token: false,
            workspaces: 1,
            list_without_email: false,
            users_list_fails_from: None,
        }
    }
}

/// An account's state in the directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Standing {
    Active,
    /// Deactivated: `deleted: true`.
    Deleted,
    /// Invited, not yet joined: `is_invited_user: true`.
    Invited,
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
    standing: Standing,
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
    /// The workspaces' ids; the first is `team_id`.
    pub(crate) workspaces: Vec<String>,
    list_without_email: bool,
    pub(crate) users_list_fails_from: Option<usize>,
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
        let mut workspaces = vec![team_id.clone()];
        let mut workspace_rng = fastrand::Rng::with_seed(seed ^ 0x7EA5);
        while workspaces.len() < config.workspaces.max(1) {
            workspaces.push(slack_id('T', &mut workspace_rng));
        }
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
                standing: Standing::Active,
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
            standing: Standing::Active,
        });
        users.push(User {
            id: slack_id('U', &mut rng),
            name: "deploy-bot".into(),
            real_name: "Deploy Bot".into(),
            email: None,
            is_admin: false,
            is_primary_owner: false,
            is_bot: true,
            standing: Standing::Active,
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
            workspaces,
            list_without_email: config.list_without_email,
            users_list_fails_from: config.users_list_fails_from,
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

    pub(crate) fn add_user(&self, email: &str, standing: Standing) -> String {
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
            standing,
        });
        data.by_id.insert(id.clone(), index);
        id
    }

    /// Deactivates a user (`deleted: true`); its sessions end, as Slack's do.
    pub(crate) fn deactivate(&self, user: &str) -> bool {
        let mut data = self.data();
        let Some(&index) = data.by_id.get(user) else {
            return false;
        };
        data.users[index as usize].standing = Standing::Deleted;
        data.sessions.retain(|_, s| s.user != index);
        true
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
