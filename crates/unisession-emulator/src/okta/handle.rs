//! The typed handle, the kind and the registration.

use super::*;

impl crate::ProviderKind {
    /// Okta.
    #[allow(non_upper_case_globals)]
    pub const Okta: crate::ProviderKind = crate::ProviderKind("okta");
}

pub(crate) const REGISTRATION: crate::served::Registration = crate::served::Registration {
    kind: crate::ProviderKind::Okta,
    start: |data, config, faults| {
        let switches: OktaConfig = config.switches(crate::ProviderKind::Okta);
        crate::served::pending(
            Okta::new(data, &switches, faults, config.log_capacity),
            Okta::router,
            OktaEmulator,
        )
    },
};

impl crate::EmulatorConfig {
    /// Sets the Okta switches.
    pub fn okta(self, okta: OktaConfig) -> Self {
        self.with_switches(crate::ProviderKind::Okta, okta)
    }
}

impl crate::Emulator {
    /// The Okta emulator, if started.
    pub fn okta(&self) -> Option<&OktaEmulator> {
        self.get()
    }
}

/// The Okta emulator: `{base_url}api/v1/…` and `{base_url}oauth2/v1/token`.
#[derive(Clone)]
pub struct OktaEmulator(crate::served::Handle<Okta>);

crate::served::served!(OktaEmulator);

impl std::fmt::Debug for OktaEmulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OktaEmulator")
            .field("base_url", &self.base_url())
            .finish()
    }
}

/// One System Log event, as a test reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OktaEvent {
    /// `user.session.clear`, `user.session.start`, …
    pub event_type: String,
    /// The actor's id.
    pub actor: String,
    /// The targets' ids.
    pub targets: Vec<String>,
    /// When it happened.
    pub published: DateTime<Utc>,
}

impl OktaEmulator {
    const KIND: crate::ProviderKind = crate::ProviderKind::Okta;

    /// The org's base URL, `http://127.0.0.1:PORT/` (Okta's is `https://{org}.okta.com/`).
    pub fn base_url(&self) -> String {
        format!("http://{}/", self.0.addr())
    }

    /// The API token of a Super Administrator, as a `[providers.NAME]` table names it.
    pub fn connection(&self) -> crate::Connection {
        let mut settings = serde_json::Map::new();
        settings.insert("base_url".into(), json!(self.base_url()));
        settings.insert("auth".into(), json!("api_token"));
        crate::Connection {
            kind: Self::KIND,
            settings,
            secrets: vec![("token", self.credentials().api_token.clone())],
            time_scale: 1.0,
        }
    }

    /// The base URL and the credentials.
    pub fn summary(&self) -> String {
        let c = self.credentials();
        format!(
            "okta        {}\n  API token (SSWS)                   {}\n  service app client id              {} (private_key_jwt, keys rsa-1 / ec-1)\n",
            self.base_url(),
            c.api_token,
            c.client_id
        )
    }

    /// The credentials it accepts.
    pub fn credentials(&self) -> &OktaCredentials {
        &self.0.state.credentials
    }

    /// The id of the user with this email (`profile.email`, any case).
    pub fn user_id_by_email(&self, email: &str) -> Option<String> {
        self.0
            .state
            .data()
            .users
            .iter()
            .find(|u| u.email.eq_ignore_ascii_case(email))
            .map(|u| u.id.clone())
    }

    /// The user's status (`ACTIVE`, `DEPROVISIONED`, …).
    pub fn status_of(&self, user: &str) -> Option<&'static str> {
        self.0
            .state
            .data()
            .users
            .iter()
            .find(|u| u.id == user)
            .map(|u| u.status)
    }

    /// The ids of the user's Okta sessions.
    pub fn sessions_of(&self, user: &str) -> Vec<String> {
        let data = self.0.state.data();
        let Some(index) = data.users.iter().position(|u| u.id == user) else {
            return Vec::new();
        };
        data.sessions
            .iter()
            .filter(|(_, s)| s.user == index)
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// How many Okta sessions are active in the org.
    pub fn session_count(&self) -> usize {
        self.0.state.data().sessions.len()
    }

    /// The user's OAuth refresh tokens, by client id.
    pub fn refresh_tokens_of(&self, user: &str) -> usize {
        self.0
            .state
            .data()
            .users
            .iter()
            .find(|u| u.id == user)
            .map_or(0, |u| u.tokens.values().map(Vec::len).sum())
    }

    /// Whether the user's devices are still remembered for MFA.
    pub fn remembers_factors_of(&self, user: &str) -> bool {
        self.0
            .state
            .data()
            .users
            .iter()
            .find(|u| u.id == user)
            .is_some_and(|u| u.remembered_factors)
    }

    /// Adds `count` sessions for `user` (no System Log event); returns their ids.
    pub fn add_sessions(&self, user: &str, count: usize) -> Vec<String> {
        self.0.state.add_sessions(user, count)
    }

    /// The person signs in again: a new session and a `user.session.start` event.
    pub fn sign_in(&self, user: &str) -> Option<String> {
        self.0.state.sign_in(user)
    }

    /// Adds a user with this email (and a login, else the email); returns the id.
    pub fn add_user(&self, email: &str, login: Option<&str>) -> String {
        self.0.state.add_user(email, login)
    }

    /// Forgets every access token the token endpoint issued, as if they expired:
    /// the next API call with one answers 401 E0000011.
    pub fn expire_access_tokens(&self) {
        self.0.state.data().access_tokens.clear();
    }

    /// How many access tokens the token endpoint issued and still honours.
    pub fn access_token_count(&self) -> usize {
        self.0.state.data().access_tokens.len()
    }

    /// The System Log, oldest first (lagging events included).
    pub fn events(&self) -> Vec<OktaEvent> {
        self.0
            .state
            .data()
            .events
            .iter()
            .map(|e| OktaEvent {
                event_type: e.event_type.to_owned(),
                actor: e.actor.0.clone(),
                targets: e.targets.iter().map(|t| t.0.clone()).collect(),
                published: e.published,
            })
            .collect()
    }
}
