//! Faithful, stateful fake servers of the ONLYOFFICE DocSpace, Rocket.Chat and Slack
//! session APIs, over real HTTP on 127.0.0.1.
//!
//! The adapter tests, the examples, the demo and the benchmarks run against these
//! servers. Each speaks its provider's wire format as recorded in the project's
//! research notes: paths, methods, headers, envelopes, status codes, error codes,
//! pagination, the Rocket.Chat 2FA challenge and each documented quirk. Revocations
//! really change the state, and revoked credentials stop working.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! use unisession_emulator::{Emulator, EmulatorConfig, ProviderKind};
//!
//! let emulator = Emulator::start(EmulatorConfig::new().users(5).only(ProviderKind::Slack)).await?;
//! let slack = emulator.slack().expect("started");
//! let alice = &emulator.people()[1];
//! assert_eq!(slack.sessions_of(&alice.slack_id).len(), 3);
//! println!("Slack at {} with token {}", slack.base_url(), slack.tokens().admin);
//! # Ok(())
//! # }
//! ```
//!
//! Where an emulator departs from its real server (what it does not enforce, what it
//! simplifies), the provider's module says so: [`docspace`], [`rocketchat`], [`slack`].
//!
//! # Control surface
//!
//! Besides the Rust handles, every server answers under [`CONTROL_PREFIX`]
//! (`/__unisession/`), which no provider route can reach: `GET requests?since=N`
//! (the request log), `GET|PUT faults`, `GET|PUT misleading` (see [`Misleading`]),
//! `GET state` and `GET health`.
#![warn(missing_docs)]
// Handlers return `Result<_, Response>` so an early answer is one `?` away; boxing
// every axum response to shrink the error variant would only add noise.
#![allow(clippy::result_large_err)]

mod common;
pub mod dataset;
pub mod docspace;
mod faults;
mod misleading;
pub mod rocketchat;
pub mod slack;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

pub use common::{CONTROL_PREFIX, LoggedRequest};
pub use dataset::{DatasetConfig, Person};
pub use docspace::{DocSpaceConfig, DocSpaceCredentials, DocSpaceRole};
pub use faults::{Fault, Faults};
pub use misleading::Misleading;
pub use rocketchat::{RocketChatConfig, RocketChatCredentials, TwoFactorMethod};
pub use slack::{SlackConfig, SlackTokens};

/// The emulated providers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProviderKind {
    /// ONLYOFFICE DocSpace.
    DocSpace,
    /// Rocket.Chat.
    RocketChat,
    /// Slack.
    Slack,
}

impl ProviderKind {
    /// All three.
    pub const ALL: [ProviderKind; 3] = [
        ProviderKind::DocSpace,
        ProviderKind::RocketChat,
        ProviderKind::Slack,
    ];

    /// `docspace`, `rocketchat` or `slack`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DocSpace => "docspace",
            Self::RocketChat => "rocketchat",
            Self::Slack => "slack",
        }
    }
}

impl std::fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ProviderKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "docspace" => Ok(Self::DocSpace),
            "rocketchat" => Ok(Self::RocketChat),
            "slack" => Ok(Self::Slack),
            other => Err(format!(
                "unknown provider {other:?}: expected docspace, rocketchat or slack"
            )),
        }
    }
}

/// What to start, with which data and faults.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct EmulatorConfig {
    /// The seeded people and sessions.
    pub dataset: DatasetConfig,
    /// The providers to start.
    pub providers: Vec<ProviderKind>,
    /// The address to bind (default 127.0.0.1).
    pub bind: IpAddr,
    /// Fixed ports per provider (0 or absent: any free port).
    pub ports: Vec<(ProviderKind, u16)>,
    /// Faults per provider at start.
    pub faults: Vec<(ProviderKind, Faults)>,
    /// Misleading behaviours per provider at start.
    pub misleading: Vec<(ProviderKind, Misleading)>,
    /// Slack switches.
    pub slack: SlackConfig,
    /// DocSpace switches.
    pub docspace: DocSpaceConfig,
    /// Rocket.Chat switches.
    pub rocketchat: RocketChatConfig,
    /// How many requests each server keeps in its log (0 keeps none; counts go on).
    pub log_capacity: usize,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            dataset: DatasetConfig::default(),
            providers: ProviderKind::ALL.to_vec(),
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            ports: Vec::new(),
            faults: Vec::new(),
            misleading: Vec::new(),
            slack: SlackConfig::default(),
            docspace: DocSpaceConfig::default(),
            rocketchat: RocketChatConfig::default(),
            log_capacity: 10_000,
        }
    }
}

impl EmulatorConfig {
    /// All three providers, 20 people with 3 sessions each, seed 7.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the number of ordinary people.
    pub fn users(mut self, users: usize) -> Self {
        self.dataset.users = users;
        self
    }

    /// Sets the sessions per person and provider.
    pub fn sessions_per_user(mut self, sessions: usize) -> Self {
        self.dataset.sessions_per_user = sessions;
        self
    }

    /// Sets the seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.dataset.seed = seed;
        self
    }

    /// Starts only this provider.
    pub fn only(mut self, provider: ProviderKind) -> Self {
        self.providers = vec![provider];
        self
    }

    /// Starts these providers.
    pub fn providers(mut self, providers: impl IntoIterator<Item = ProviderKind>) -> Self {
        self.providers = providers.into_iter().collect();
        self
    }

    /// Binds `provider` to `port`.
    pub fn port(mut self, provider: ProviderKind, port: u16) -> Self {
        self.ports.retain(|(p, _)| *p != provider);
        self.ports.push((provider, port));
        self
    }

    /// Starts `provider` with these faults.
    pub fn faults(mut self, provider: ProviderKind, faults: Faults) -> Self {
        self.faults.retain(|(p, _)| *p != provider);
        self.faults.push((provider, faults));
        self
    }

    /// Starts `provider` misleading like this.
    pub fn misleading(mut self, provider: ProviderKind, misleading: Misleading) -> Self {
        self.misleading.retain(|(p, _)| *p != provider);
        self.misleading.push((provider, misleading));
        self
    }

    /// Sets the Slack switches.
    pub fn slack(mut self, slack: SlackConfig) -> Self {
        self.slack = slack;
        self
    }

    /// Sets the DocSpace switches.
    pub fn docspace(mut self, docspace: DocSpaceConfig) -> Self {
        self.docspace = docspace;
        self
    }

    /// Sets the Rocket.Chat switches.
    pub fn rocketchat(mut self, rocketchat: RocketChatConfig) -> Self {
        self.rocketchat = rocketchat;
        self
    }

    /// Sets the request-log capacity per server.
    pub fn log_capacity(mut self, capacity: usize) -> Self {
        self.log_capacity = capacity;
        self
    }

    fn faults_for(&self, provider: ProviderKind) -> Faults {
        self.faults
            .iter()
            .find(|(p, _)| *p == provider)
            .map(|(_, f)| f.clone())
            .unwrap_or_default()
    }

    fn misleading_for(&self, provider: ProviderKind) -> Misleading {
        self.misleading
            .iter()
            .find(|(p, _)| *p == provider)
            .map(|(_, m)| m.clone())
            .unwrap_or_default()
    }

    fn addr_for(&self, provider: ProviderKind) -> SocketAddr {
        let port = self
            .ports
            .iter()
            .find(|(p, _)| *p == provider)
            .map_or(0, |(_, port)| *port);
        SocketAddr::new(self.bind, port)
    }
}

/// The running emulators. Dropping it stops them.
pub struct Emulator {
    people: Vec<Person>,
    docspace: Option<DocSpaceEmulator>,
    rocketchat: Option<RocketChatEmulator>,
    slack: Option<SlackEmulator>,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("people", &self.people.len())
            .field(
                "docspace",
                &self.docspace.as_ref().map(DocSpaceEmulator::base_url),
            )
            .field(
                "rocketchat",
                &self.rocketchat.as_ref().map(RocketChatEmulator::base_url),
            )
            .field("slack", &self.slack.as_ref().map(SlackEmulator::base_url))
            .finish()
    }
}

impl Emulator {
    /// Seeds the data and starts the configured providers.
    pub async fn start(config: EmulatorConfig) -> std::io::Result<Self> {
        let data = dataset::Dataset::generate(&config.dataset);
        let mut emulator = Self {
            people: data.people().to_vec(),
            docspace: None,
            rocketchat: None,
            slack: None,
        };
        for provider in config.providers.clone() {
            let faults = config.faults_for(provider);
            let addr = config.addr_for(provider);
            match provider {
                ProviderKind::Slack => {
                    let state = Arc::new(slack::Slack::new(
                        &data,
                        &config.slack,
                        faults,
                        config.log_capacity,
                    ));
                    common::Provider::common(&*state)
                        .set_misleading(config.misleading_for(provider));
                    let running = common::serve(state.clone().router(), addr).await?;
                    emulator.slack = Some(SlackEmulator {
                        state,
                        running: Arc::new(running),
                    });
                }
                ProviderKind::DocSpace => {
                    let state = Arc::new(docspace::DocSpace::new(
                        &data,
                        &config.docspace,
                        faults,
                        config.log_capacity,
                    ));
                    common::Provider::common(&*state)
                        .set_misleading(config.misleading_for(provider));
                    let running = common::serve(state.clone().router(), addr).await?;
                    emulator.docspace = Some(DocSpaceEmulator {
                        state,
                        running: Arc::new(running),
                    });
                }
                ProviderKind::RocketChat => {
                    let state = Arc::new(rocketchat::RocketChat::new(
                        &data,
                        &config.rocketchat,
                        faults,
                        config.log_capacity,
                    ));
                    common::Provider::common(&*state)
                        .set_misleading(config.misleading_for(provider));
                    let running = common::serve(state.clone().router(), addr).await?;
                    emulator.rocketchat = Some(RocketChatEmulator {
                        state,
                        running: Arc::new(running),
                    });
                }
            }
        }
        Ok(emulator)
    }

    /// Everybody seeded, the administrator first.
    pub fn people(&self) -> &[Person] {
        &self.people
    }

    /// A human-readable description: base URLs, administrator credentials and the
    /// control surface, as the `unisession-emulator` binary prints it. It shows the
    /// emulator's own test credentials, which protect nothing.
    pub fn summary(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let admin = &self.people[0];
        let _ = writeln!(
            out,
            "{} people seeded (administrator {})",
            self.people.len(),
            admin.email
        );
        if let Some(ds) = &self.docspace {
            let c = ds.credentials();
            let _ = writeln!(out, "docspace    {}", ds.base_url());
            let _ = writeln!(out, "  API key (Authorization: Bearer)    {}", c.api_key);
            let _ = writeln!(
                out,
                "  personal token (asc_auth_key)      {}",
                c.admin_token
            );
            let _ = writeln!(
                out,
                "  login                              {} / {}",
                c.admin_email, c.admin_password
            );
        }
        if let Some(rc) = &self.rocketchat {
            let c = rc.credentials();
            let _ = writeln!(out, "rocketchat  {}", rc.base_url());
            let _ = writeln!(
                out,
                "  X-User-Id                          {}",
                c.admin_user_id
            );
            let _ = writeln!(
                out,
                "  X-Auth-Token                       {}",
                c.admin_token
            );
            let _ = writeln!(out, "  personal access token (no 2FA)     {}", c.admin_pat);
            let _ = writeln!(
                out,
                "  login                              {} / {}",
                c.admin_username, c.admin_password
            );
        }
        if let Some(slack) = &self.slack {
            let _ = writeln!(out, "slack       {}", slack.base_url());
            let _ = writeln!(
                out,
                "  org admin token                    {}",
                slack.tokens().admin
            );
        }
        let _ = writeln!(
            out,
            "control surface: <server>{CONTROL_PREFIX}/{{requests,faults,state,health}}"
        );
        out
    }

    /// The person with this email.
    pub fn person(&self, email: &str) -> Option<&Person> {
        self.people
            .iter()
            .find(|p| p.email.eq_ignore_ascii_case(email))
    }

    /// The DocSpace emulator, if started.
    pub fn docspace(&self) -> Option<&DocSpaceEmulator> {
        self.docspace.as_ref()
    }

    /// The Rocket.Chat emulator, if started.
    pub fn rocketchat(&self) -> Option<&RocketChatEmulator> {
        self.rocketchat.as_ref()
    }

    /// The Slack emulator, if started.
    pub fn slack(&self) -> Option<&SlackEmulator> {
        self.slack.as_ref()
    }
}

macro_rules! common_handle_methods {
    () => {
        /// The address the server listens on.
        pub fn addr(&self) -> SocketAddr {
            self.running.addr
        }

        /// Every logged request, oldest first (bounded by the log capacity).
        pub fn requests(&self) -> Vec<LoggedRequest> {
            common::Provider::common(&*self.state).requests()
        }

        /// How many requests arrived in all (control-surface calls excluded).
        pub fn request_count(&self) -> u64 {
            common::Provider::common(&*self.state).request_count()
        }

        /// Empties the request log (the count goes on).
        pub fn clear_requests(&self) {
            common::Provider::common(&*self.state).clear_log()
        }

        /// The faults in force.
        pub fn faults(&self) -> Faults {
            common::Provider::common(&*self.state).faults()
        }

        /// Switches faults at run time.
        pub fn set_faults(&self, faults: Faults) {
            common::Provider::common(&*self.state).set_faults(faults)
        }

        /// The misleading behaviours in force.
        pub fn misleading(&self) -> Misleading {
            common::Provider::common(&*self.state).misleading()
        }

        /// Switches misleading behaviours at run time.
        pub fn set_misleading(&self, misleading: Misleading) {
            common::Provider::common(&*self.state).set_misleading(misleading)
        }

        /// A JSON snapshot of the state, as `GET /__unisession/state` serves it.
        pub fn snapshot(&self) -> serde_json::Value {
            common::Provider::snapshot(&*self.state)
        }
    };
}

/// The Slack emulator: `POST {base_url}admin.users.session.*` and friends.
#[derive(Clone)]
pub struct SlackEmulator {
    state: Arc<slack::Slack>,
    running: Arc<common::Running>,
}

impl std::fmt::Debug for SlackEmulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackEmulator")
            .field("base_url", &self.base_url())
            .finish()
    }
}

impl SlackEmulator {
    common_handle_methods!();

    /// The Web API base, `http://127.0.0.1:PORT/api/` (Slack's is `https://slack.com/api/`).
    pub fn base_url(&self) -> String {
        format!("http://{}/api/", self.running.addr)
    }

    /// The tokens it accepts, by role.
    pub fn tokens(&self) -> &SlackTokens {
        &self.state.token_set
    }

    /// The workspace id (`T…`).
    pub fn team_id(&self) -> &str {
        &self.state.team_id
    }

    /// The organisation id (`E…`), which session listings report as `team_id`.
    pub fn enterprise_id(&self) -> &str {
        &self.state.enterprise_id
    }

    /// The user with this email.
    pub fn user_id_by_email(&self, email: &str) -> Option<String> {
        self.state.user_id_by_email(email)
    }

    /// The primary owner, whose sessions only the primary owner may end.
    pub fn primary_owner_id(&self) -> String {
        self.state.primary_owner_id()
    }

    /// A bot user (`cannot_reset_bot`).
    pub fn bot_user_id(&self) -> String {
        self.state.bot_user_id()
    }

    /// The active session ids of `user`, in id order.
    pub fn sessions_of(&self, user: &str) -> Vec<u64> {
        self.state.sessions_of(user)
    }

    /// Every active session id, in id order.
    pub fn all_sessions(&self) -> Vec<u64> {
        self.state.all_sessions()
    }

    /// How many sessions are active.
    pub fn session_count(&self) -> usize {
        self.state.session_count()
    }

    /// Adds a session for `user` on a mobile or a browser device.
    pub fn add_session(&self, user: &str, mobile: bool) -> Option<u64> {
        self.state.add_session(user, mobile)
    }

    /// Adds `count` sessions with random devices for `user`.
    pub fn add_sessions(&self, user: &str, count: usize) -> Vec<u64> {
        self.state.add_sessions(user, count)
    }

    /// Adds a user with this email; returns the id.
    pub fn add_user(&self, email: &str) -> String {
        self.state.add_user(email)
    }

    /// Switches the Enterprise plan on or off.
    pub fn set_enterprise(&self, enterprise: bool) {
        self.state.set_enterprise(enterprise)
    }

    /// The session settings of `user`: `(duration, desktop_app_browser_quit)`.
    pub fn settings_of(&self, user: &str) -> Option<(Option<u64>, Option<bool>)> {
        self.state.settings_of(user)
    }
}

/// The DocSpace emulator: `{base_url}api/2.0/security/activeconnections` and friends.
#[derive(Clone)]
pub struct DocSpaceEmulator {
    state: Arc<docspace::DocSpace>,
    running: Arc<common::Running>,
}

impl std::fmt::Debug for DocSpaceEmulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocSpaceEmulator")
            .field("base_url", &self.base_url())
            .finish()
    }
}

impl DocSpaceEmulator {
    common_handle_methods!();

    /// The portal root, `http://127.0.0.1:PORT/`.
    pub fn base_url(&self) -> String {
        format!("http://{}/", self.running.addr)
    }

    /// The credentials it accepts.
    pub fn credentials(&self) -> &DocSpaceCredentials {
        &self.state.credentials
    }

    /// The user with this email.
    pub fn user_id_by_email(&self, email: &str) -> Option<String> {
        self.state.user_id_by_email(email)
    }

    /// The active login events (sessions) of `user`, in id order.
    pub fn active_events_of(&self, user: &str) -> Vec<i32> {
        self.state.active_events_of(user)
    }

    /// The personal token tied to a login event.
    pub fn token_of(&self, event: i32) -> Option<String> {
        self.state.token_of(event)
    }

    /// Whether a personal token still authenticates.
    pub fn token_is_valid(&self, token: &str) -> bool {
        self.state.token_is_valid(token)
    }

    /// Logs `user` in once more: a new login event and its token.
    pub fn add_session(&self, user: &str) -> Option<(i32, String)> {
        self.state.add_session(user)
    }

    /// Adds a user with this email and role; returns the id.
    pub fn add_user(&self, email: &str, role: DocSpaceRole) -> String {
        self.state.add_user(email, role)
    }

    /// Behaves like a server before v3.7.1, or not.
    pub fn set_legacy(&self, legacy: bool) {
        self.state.set_legacy(legacy)
    }
}

/// The Rocket.Chat emulator: `{base_url}api/v1/sessions/*` and friends.
#[derive(Clone)]
pub struct RocketChatEmulator {
    state: Arc<rocketchat::RocketChat>,
    running: Arc<common::Running>,
}

impl std::fmt::Debug for RocketChatEmulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RocketChatEmulator")
            .field("base_url", &self.base_url())
            .finish()
    }
}

impl RocketChatEmulator {
    common_handle_methods!();

    /// The server root, `http://127.0.0.1:PORT/`.
    pub fn base_url(&self) -> String {
        format!("http://{}/", self.running.addr)
    }

    /// The credentials it accepts.
    pub fn credentials(&self) -> &RocketChatCredentials {
        &self.state.credentials
    }

    /// The user with this email.
    pub fn user_id_by_email(&self, email: &str) -> Option<String> {
        self.state.user_id_by_email(email)
    }

    /// The sessions of `user` whose login token still works, one per token.
    pub fn live_sessions_of(&self, user: &str) -> Vec<String> {
        self.state.live_sessions_of(user)
    }

    /// What `sessions/list.all` shows for `user` right now.
    pub fn listed_sessions_of(&self, user: &str) -> Vec<String> {
        self.state.listed_sessions_of(user)
    }

    /// Every session `sessions/list.all` shows, newest first.
    pub fn listed_sessions(&self) -> Vec<String> {
        self.state.listed_sessions()
    }

    /// How many sessions `sessions/list.all` shows in all.
    pub fn listed_session_count(&self) -> usize {
        self.state.listed_session_count()
    }

    /// Whether `token` still authenticates `user`.
    pub fn token_is_valid(&self, user: &str, token: &str) -> bool {
        self.state.token_valid(user, token)
    }

    /// Logs `user` in from a new device: a session and its resume token.
    pub fn add_session(&self, user: &str) -> Option<(String, String)> {
        self.state.add_session(user)
    }

    /// Adds `count` sessions for `user`.
    pub fn add_sessions(&self, user: &str, count: usize) -> usize {
        self.state.add_sessions(user, count)
    }

    /// Adds a user with this email; returns the id.
    pub fn add_user(&self, email: &str) -> String {
        self.state.add_user(email)
    }

    /// The last 2FA code emailed to `user`.
    pub fn last_email_code(&self, user: &str) -> Option<String> {
        self.state.last_email_code(user)
    }

    /// The switches in force.
    pub fn config(&self) -> RocketChatConfig {
        self.state.config()
    }

    /// Changes switches at run time (license, 2FA method, version...).
    pub fn update_config(&self, update: impl FnOnce(&mut RocketChatConfig)) {
        self.state.update_config(update)
    }
}
