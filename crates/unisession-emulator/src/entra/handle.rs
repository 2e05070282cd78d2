//! The typed handle, the kind and the registration.

use super::*;

impl crate::ProviderKind {
    /// Microsoft Entra ID (Microsoft Graph).
    #[allow(non_upper_case_globals)]
    pub const Entra: crate::ProviderKind = crate::ProviderKind("entra");
}

pub(crate) const REGISTRATION: crate::served::Registration = crate::served::Registration {
    kind: crate::ProviderKind::Entra,
    start: |data, config, faults| {
        let switches: EntraConfig = config.switches(crate::ProviderKind::Entra);
        crate::served::pending(
            Entra::new(data, &switches, faults, config.log_capacity),
            Entra::router,
            EntraEmulator,
        )
    },
};

impl crate::EmulatorConfig {
    /// Sets the Entra switches.
    pub fn entra(self, entra: EntraConfig) -> Self {
        self.with_switches(crate::ProviderKind::Entra, entra)
    }
}

impl crate::Emulator {
    /// The Entra emulator, if started.
    pub fn entra(&self) -> Option<&EntraEmulator> {
        self.get()
    }
}

/// The Entra emulator: Graph at `{base_url}v1.0/`, the token endpoint at
/// `{base_url}{tenant}/oauth2/v2.0/token`.
#[derive(Clone)]
pub struct EntraEmulator(crate::served::Handle<Entra>);

crate::served::served!(EntraEmulator);

impl std::fmt::Debug for EntraEmulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EntraEmulator")
            .field("graph_url", &self.graph_url())
            .finish()
    }
}

impl EntraEmulator {
    const KIND: crate::ProviderKind = crate::ProviderKind::Entra;

    /// Microsoft Graph v1.0, `http://127.0.0.1:PORT/v1.0/` (Microsoft's is
    /// `https://graph.microsoft.com/v1.0/`).
    pub fn graph_url(&self) -> String {
        format!("http://{}/v1.0/", self.0.addr())
    }

    /// Graph's base, as every emulator names its base URL.
    pub fn base_url(&self) -> String {
        self.graph_url()
    }

    /// The identity platform, `http://127.0.0.1:PORT/` (Microsoft's is
    /// `https://login.microsoftonline.com/`).
    pub fn login_url(&self) -> String {
        format!("http://{}/", self.0.addr())
    }

    /// The app with the revocation permission and its secret, as a
    /// `[providers.NAME]` table names them.
    pub fn connection(&self) -> crate::Connection {
        let c = self.credentials();
        let mut settings = serde_json::Map::new();
        settings.insert("base_url".into(), json!(self.graph_url()));
        settings.insert("login_url".into(), json!(self.login_url()));
        settings.insert("tenant_id".into(), json!(c.tenant_id));
        settings.insert("client_id".into(), json!(c.client_id));
        crate::Connection {
            kind: Self::KIND,
            settings,
            secrets: vec![("client_secret", c.client_secret.clone())],
            time_scale: 1.0,
        }
    }

    /// The URLs and the credentials.
    pub fn summary(&self) -> String {
        let c = self.credentials();
        format!(
            "entra       {}\n  tenant / client id                 {} / {}\n  client secret                      {}\n",
            self.graph_url(),
            c.tenant_id,
            c.client_id,
            c.client_secret
        )
    }

    /// The credentials it accepts.
    pub fn credentials(&self) -> &EntraCredentials {
        &self.0.state.credentials
    }

    /// The object id of the user whose mail (or UPN) is this address.
    pub fn user_id_by_email(&self, email: &str) -> Option<String> {
        self.0
            .state
            .data()
            .users
            .iter()
            .find(|u| {
                u.mail
                    .as_deref()
                    .is_some_and(|m| m.eq_ignore_ascii_case(email))
                    || u.upn.eq_ignore_ascii_case(email)
            })
            .map(|u| u.id.clone())
    }

    /// The user's UPN.
    pub fn upn_of(&self, user: &str) -> Option<String> {
        self.0
            .state
            .data()
            .users
            .iter()
            .find(|u| u.id == user)
            .map(|u| u.upn.clone())
    }

    /// The refresh tokens still honoured for the user: the ground truth of "signed in".
    pub fn sessions_of(&self, user: &str) -> usize {
        self.0
            .state
            .data()
            .users
            .iter()
            .find(|u| u.id == user)
            .map_or(0, |u| {
                u.tokens.iter().filter(|t| **t >= u.valid_from).count()
            })
    }

    /// The user's `signInSessionsValidFromDateTime`.
    pub fn valid_from(&self, user: &str) -> Option<DateTime<Utc>> {
        self.0
            .state
            .data()
            .users
            .iter()
            .find(|u| u.id == user)
            .map(|u| u.valid_from)
    }

    /// Adds a member (or, with `guest`, an external user) with this mail and `tokens`
    /// refresh tokens; the UPN is the mail (for a guest, `…#EXT#@…`). Returns the id.
    pub fn add_user(&self, mail: &str, guest: bool, tokens: usize) -> String {
        let mut data = self.0.state.data();
        let id = uuid::Uuid::from_u128(data.rng.u128(..)).to_string();
        let upn = if guest {
            format!("{}#EXT#@corp.onmicrosoft.com", mail.replace('@', "_"))
        } else {
            mail.to_owned()
        };
        data.users.push(User {
            id: id.clone(),
            upn,
            mail: Some(mail.to_owned()),
            other_mails: Vec::new(),
            proxy_addresses: vec![format!("SMTP:{mail}")],
            display: mail.to_owned(),
            guest,
            privileged: false,
            valid_from: Utc::now() - chrono::Duration::days(30),
            pending: None,
            tokens: vec![Utc::now() - chrono::Duration::hours(1); tokens],
            added: Instant::now(),
        });
        id
    }

    /// Adds `alias` to the user's `otherMails`.
    pub fn add_other_mail(&self, user: &str, alias: &str) {
        if let Some(u) = self.0.state.data().users.iter_mut().find(|u| u.id == user) {
            u.other_mails.push(alias.to_owned());
        }
    }

    /// Makes the user a privileged administrator (revocation is 403).
    pub fn set_privileged(&self, user: &str, privileged: bool) {
        if let Some(u) = self.0.state.data().users.iter_mut().find(|u| u.id == user) {
            u.privileged = privileged;
        }
    }

    /// The user signs in again: a new refresh token.
    pub fn sign_in(&self, user: &str) {
        if let Some(u) = self.0.state.data().users.iter_mut().find(|u| u.id == user) {
            u.tokens.push(Utc::now());
        }
    }

    /// Changes the switches while running.
    pub fn update_config(&self, change: impl FnOnce(&mut EntraConfig)) {
        change(&mut self.0.state.config.lock().expect("entra config lock"));
    }

    /// Forgets every access token issued, as if they expired.
    pub fn expire_access_tokens(&self) {
        self.0.state.data().access_tokens.clear();
    }
}
