//! The typed handle, the kind and the registration.

use super::*;

impl crate::ProviderKind {
    /// Google Workspace (the Admin SDK Directory API).
    #[allow(non_upper_case_globals)]
    pub const Google: crate::ProviderKind = crate::ProviderKind("google");
}

pub(crate) const REGISTRATION: crate::served::Registration = crate::served::Registration {
    kind: crate::ProviderKind::Google,
    start: |data, config, faults| {
        let switches: GoogleConfig = config.switches(crate::ProviderKind::Google);
        crate::served::pending(
            Google::new(data, &switches, faults, config.log_capacity),
            Google::router,
            GoogleEmulator,
        )
    },
};

impl crate::EmulatorConfig {
    /// Sets the Google switches.
    pub fn google(self, google: GoogleConfig) -> Self {
        self.with_switches(crate::ProviderKind::Google, google)
    }
}

impl crate::Emulator {
    /// The Google emulator, if started.
    pub fn google(&self) -> Option<&GoogleEmulator> {
        self.get()
    }
}

/// The Google emulator: the Directory API under `{base_url}admin/directory/v1/`, the
/// token endpoint at `{base_url}token`.
#[derive(Clone)]
pub struct GoogleEmulator(crate::served::Handle<Google>);

crate::served::served!(GoogleEmulator);

impl std::fmt::Debug for GoogleEmulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GoogleEmulator")
            .field("base_url", &self.base_url())
            .finish()
    }
}

impl GoogleEmulator {
    const KIND: crate::ProviderKind = crate::ProviderKind::Google;

    /// The API root, `http://127.0.0.1:PORT/` (Google's is `https://admin.googleapis.com/`).
    pub fn base_url(&self) -> String {
        format!("http://{}/", self.0.addr())
    }

    /// The token endpoint (Google's is `https://oauth2.googleapis.com/token`).
    pub fn token_url(&self) -> String {
        format!("http://{}/token", self.0.addr())
    }

    /// The service account's key file (JSON, as Google issues it) and the
    /// administrator it impersonates, as a `[providers.NAME]` table names them.
    pub fn connection(&self) -> crate::Connection {
        let c = self.credentials();
        let mut settings = serde_json::Map::new();
        settings.insert("base_url".into(), json!(self.base_url()));
        settings.insert("token_url".into(), json!(self.token_url()));
        settings.insert("admin".into(), json!(c.admin));
        crate::Connection {
            kind: Self::KIND,
            settings,
            secrets: vec![("credentials", self.key_file())],
            time_scale: 1.0,
        }
    }

    /// The service account's key file, as Google's console downloads it.
    pub fn key_file(&self) -> String {
        json!({
            "type": "service_account",
            "project_id": "corp-project",
            "private_key_id": "0123456789abcdef0123456789abcdef01234567",
            "private_key": crate::keys::RSA_PRIVATE_KEY,
            "client_email": self.credentials().service_account,
            "client_id": "109876543210987654321",
            "token_uri": self.token_url(),
        })
        .to_string()
    }

    /// The URLs and the identities.
    pub fn summary(&self) -> String {
        let c = self.credentials();
        format!(
            "google      {}\n  service account                    {} (key: keys::RSA_PRIVATE_KEY)\n  impersonated admin                 {}\n",
            self.base_url(),
            c.service_account,
            c.admin
        )
    }

    /// The identities it accepts.
    pub fn credentials(&self) -> &GoogleCredentials {
        &self.0.state.credentials
    }

    /// The id of the user whose primary email (or alias) this is.
    pub fn user_id_by_email(&self, email: &str) -> Option<String> {
        let data = self.0.state.data();
        Google::user_index(&data, email).map(|i| data.users[i].id.clone())
    }

    /// The user's live web and device sessions.
    pub fn sessions_of(&self, user: &str) -> usize {
        let data = self.0.state.data();
        Google::user_index(&data, user).map_or(0, |i| data.users[i].sessions)
    }

    /// The user's OAuth tokens (client ids) and app-specific passwords.
    pub fn grants_of(&self, user: &str) -> (usize, usize) {
        let data = self.0.state.data();
        Google::user_index(&data, user).map_or((0, 0), |i| {
            (data.users[i].tokens.len(), data.users[i].asps.len())
        })
    }

    /// Adds a user with this primary email and `sessions` sessions; returns the id.
    pub fn add_user(&self, email: &str, sessions: usize) -> String {
        let mut data = self.0.state.data();
        let id = numeric_id(&mut data.rng);
        data.users.push(User {
            id: id.clone(),
            primary: email.to_owned(),
            aliases: Vec::new(),
            name: email.to_owned(),
            admin: false,
            suspended: false,
            last_login: Some(Utc::now() - chrono::Duration::hours(2)),
            sessions,
            pending_sign_out: None,
            tokens: Vec::new(),
            asps: Vec::new(),
        });
        id
    }

    /// The user signs in again: a session and a new `lastLoginTime`.
    pub fn sign_in(&self, user: &str) {
        let mut data = self.0.state.data();
        if let Some(i) = Google::user_index(&data, user) {
            data.users[i].sessions += 1;
            data.users[i].last_login = Some(Utc::now());
        }
    }

    /// Changes the switches while running.
    pub fn update_config(&self, change: impl FnOnce(&mut GoogleConfig)) {
        change(&mut self.0.state.config.lock().expect("google config lock"));
    }

    /// Forgets every access token issued, as if they expired.
    pub fn expire_access_tokens(&self) {
        self.0.state.data().access_tokens.clear();
    }
}
