//! Faithful, stateful fake servers of the session APIs of the identity providers Okta,
//! Microsoft Entra ID and Google Workspace and of ONLYOFFICE DocSpace, Rocket.Chat and
//! Slack, over real HTTP on 127.0.0.1.
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
//! simplifies), the provider's module says so: [`okta`], [`entra`], [`google`],
//! [`docspace`], [`rocketchat`], [`slack`].
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
pub mod entra;
mod faults;
pub mod google;
pub mod keys;
mod misleading;
pub mod okta;
pub mod rocketchat;
mod served;
pub mod slack;
pub mod ssf;
pub mod universal_logout;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

pub use common::{CONTROL_PREFIX, LoggedRequest};
pub use dataset::{DatasetConfig, Person};
pub use docspace::{DocSpaceConfig, DocSpaceCredentials, DocSpaceEmulator, DocSpaceRole};
pub use entra::{EntraConfig, EntraCredentials, EntraEmulator};
pub use faults::{Fault, Faults};
pub use google::{GoogleConfig, GoogleCredentials, GoogleEmulator};
pub use misleading::Misleading;
pub use okta::{OktaConfig, OktaCredentials, OktaEmulator, OktaEngine, OktaEvent};
pub use rocketchat::{
    RocketChatConfig, RocketChatCredentials, RocketChatEmulator, TwoFactorMethod,
};
pub use served::{Connection, ProviderKind, Served};
pub use slack::{SlackConfig, SlackEmulator, SlackTokens};

/// The emulated providers, one line each, in the order they start.
const REGISTERED: [served::Registration; 6] = [
    docspace::REGISTRATION,
    rocketchat::REGISTRATION,
    slack::REGISTRATION,
    okta::REGISTRATION,
    entra::REGISTRATION,
    google::REGISTRATION,
];

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
    /// How many requests each server keeps in its log (0 keeps none; counts go on).
    pub log_capacity: usize,
    /// Each provider's own switches (set with `.slack(…)`, `.docspace(…)`, …).
    switches: served::Switches,
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
            log_capacity: 10_000,
            switches: served::Switches::default(),
        }
    }
}

impl EmulatorConfig {
    /// Every provider, 20 people with 3 sessions each, seed 7.
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

    /// Sets the request-log capacity per server.
    pub fn log_capacity(mut self, capacity: usize) -> Self {
        self.log_capacity = capacity;
        self
    }

    /// The switches of `kind` (its defaults where none were set).
    pub(crate) fn switches<C: Default + Clone + std::fmt::Debug + Send + Sync + 'static>(
        &self,
        kind: ProviderKind,
    ) -> C {
        self.switches.get(kind)
    }

    pub(crate) fn with_switches<C: Clone + std::fmt::Debug + Send + Sync + 'static>(
        mut self,
        kind: ProviderKind,
        switches: C,
    ) -> Self {
        self.switches.set(kind, switches);
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
    served: Vec<Box<dyn Served>>,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("Emulator");
        d.field("people", &self.people.len());
        for served in &self.served {
            d.field(served.kind().as_str(), &served.base_url());
        }
        d.finish()
    }
}

impl Emulator {
    /// Seeds the data and starts the configured providers, in registration order.
    pub async fn start(config: EmulatorConfig) -> std::io::Result<Self> {
        let data = dataset::Dataset::generate(&config.dataset);
        let mut served = Vec::new();
        for registration in REGISTERED
            .iter()
            .filter(|r| config.providers.contains(&r.kind))
        {
            let kind = registration.kind;
            let pending = (registration.start)(&data, &config, config.faults_for(kind));
            (pending.misleading)(config.misleading_for(kind));
            let running = common::serve(pending.router, config.addr_for(kind)).await?;
            served.push((pending.finish)(std::sync::Arc::new(running)));
        }
        Ok(Self {
            people: data.people().to_vec(),
            served,
        })
    }

    /// Everybody seeded, the administrator first.
    pub fn people(&self) -> &[Person] {
        &self.people
    }

    /// The running providers, in registration order.
    pub fn served(&self) -> impl Iterator<Item = &dyn Served> {
        self.served.iter().map(|s| s.as_ref())
    }

    /// The running provider of `kind`, if started.
    pub fn served_kind(&self, kind: ProviderKind) -> Option<&dyn Served> {
        self.served().find(|s| s.kind() == kind)
    }

    /// The running provider whose typed handle is `T`, if started.
    pub fn get<T: Served>(&self) -> Option<&T> {
        self.served().find_map(|s| s.as_any().downcast_ref::<T>())
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
        for served in self.served() {
            out.push_str(&served.summary());
        }
        let _ = writeln!(
            out,
            "control surface: <server>{CONTROL_PREFIX}/{{requests,faults,misleading,state,health}}"
        );
        out
    }

    /// The person with this email.
    pub fn person(&self, email: &str) -> Option<&Person> {
        self.people
            .iter()
            .find(|p| p.email.eq_ignore_ascii_case(email))
    }
}
