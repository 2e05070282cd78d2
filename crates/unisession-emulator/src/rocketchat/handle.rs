//! The typed handle, the kind and the registration.

use super::*;

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

    /// Adds a deactivated user (`active: false` in `users.list`); returns the id.
    pub fn add_deactivated_user(&self, email: &str) -> String {
        self.0.state.add_listed_user(email, false, "user")
    }

    /// Adds a bot (`type: "bot"` in `users.list`); returns the id.
    pub fn add_bot(&self, email: &str) -> String {
        self.0.state.add_listed_user(email, true, "bot")
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
