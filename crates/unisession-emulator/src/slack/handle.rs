//! The typed handle, the kind and the registration.

use super::*;

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
        self.0.state.add_user(email, Standing::Active)
    }

    /// Adds a deactivated user (`deleted: true`) with this email; returns the id.
    pub fn add_deactivated_user(&self, email: &str) -> String {
        self.0.state.add_user(email, Standing::Deleted)
    }

    /// Adds an invited user (`is_invited_user: true`, never joined) with this
    /// email; returns the id.
    pub fn add_invited_user(&self, email: &str) -> String {
        self.0.state.add_user(email, Standing::Invited)
    }

    /// Deactivates a user, ending its sessions. `false` for an unknown id.
    pub fn deactivate(&self, user: &str) -> bool {
        self.0.state.deactivate(user)
    }

    /// The organisation's workspaces (`team_id`s), the first being [`team_id`](Self::team_id).
    pub fn workspaces(&self) -> &[String] {
        &self.0.state.workspaces
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
