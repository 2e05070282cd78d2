//! The typed handle, the kind and the registration.

use super::*;

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

    /// Every user's id, terminated and invited ones included, in the store's order
    /// (the order `people/filter` pages in).
    pub fn user_ids(&self) -> Vec<String> {
        self.0.state.user_ids()
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

    /// Adds a terminated (deactivated) user with this email, an ordinary user who
    /// cannot sign in (`status` 2); returns the id.
    pub fn add_terminated_user(&self, email: &str) -> String {
        self.0
            .state
            .add_user_with(email, DocSpaceRole::User, true, false)
    }

    /// Adds an invited user who has not joined (`activationStatus` 2, Pending) with
    /// this email, an ordinary user who cannot sign in yet; returns the id.
    pub fn add_pending_user(&self, email: &str) -> String {
        self.0
            .state
            .add_user_with(email, DocSpaceRole::User, false, true)
    }

    /// Behaves like a server before v3.7.1, or not.
    pub fn set_legacy(&self, legacy: bool) {
        self.0.state.set_legacy(legacy)
    }
}
