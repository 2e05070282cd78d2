//! [`GoogleBuilder`]: configuration, validated before anything is sent.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use unisession_core::{Error, Result};
use unisession_http::{AdapterDefaults, TransportOptions};

use crate::GoogleProvider;
use crate::token::ServiceAccount;
use crate::wire::KeyFile;

/// The Admin SDK's root.
pub const BASE_URL: &str = "https://admin.googleapis.com/";
/// Google's OAuth 2.0 token endpoint.
pub const TOKEN_URL: &str = "https://oauth2.googleapis.com/token";

/// The transport defaults of a Google adapter.
pub(crate) const DEFAULTS: AdapterDefaults = AdapterDefaults::new("google");

/// Builds a [`GoogleProvider`].
///
/// ```no_run
/// use secrecy::SecretString;
/// use unisession_google::GoogleBuilder;
///
/// let key_file = std::fs::read_to_string("/run/secrets/google-sa.json").unwrap();
/// let google = GoogleBuilder::new("admin@corp.example")
///     .with_key_file(SecretString::from(key_file))
///     .build()
///     .expect("valid configuration");
/// ```
#[must_use]
pub struct GoogleBuilder {
    base_url: String,
    token_url: Option<String>,
    admin: String,
    key_file: Option<SecretString>,
    revoke_oauth_tokens: bool,
    revoke_app_passwords: bool,
    transport: TransportOptions,
}

impl fmt::Debug for GoogleBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GoogleBuilder")
            .field("base_url", &self.base_url)
            .field("token_url", &self.token_url)
            .field("admin", &self.admin)
            .field("key_file", &self.key_file.as_ref().map(|_| "[REDACTED]"))
            .field("revoke_oauth_tokens", &self.revoke_oauth_tokens)
            .field("revoke_app_passwords", &self.revoke_app_passwords)
            .finish_non_exhaustive()
    }
}

/// What [`GoogleBuilder::build`] checked, handed to the provider.
pub(crate) struct Parts {
    pub(crate) name: String,
    pub(crate) account: ServiceAccount,
    pub(crate) token_audience: String,
    pub(crate) revoke_oauth_tokens: bool,
    pub(crate) revoke_app_passwords: bool,
}

impl GoogleBuilder {
    /// A builder acting as the administrator `admin` (the `sub` the service account
    /// impersonates through domain-wide delegation).
    pub fn new(admin: impl Into<String>) -> Self {
        Self {
            base_url: BASE_URL.to_owned(),
            token_url: None,
            admin: admin.into(),
            key_file: None,
            revoke_oauth_tokens: true,
            revoke_app_passwords: true,
            transport: TransportOptions::default(),
        }
    }

    /// The service account's JSON key file (its `client_email`, `private_key` and
    /// `token_uri` are read).
    pub fn with_key_file(mut self, key_file: SecretString) -> Self {
        self.key_file = Some(key_file);
        self
    }

    /// Another API root (an emulator).
    pub fn with_base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    /// Another token endpoint (ending in `/token`); else the key file's `token_uri`,
    /// else Google's.
    pub fn with_token_url(mut self, url: impl Into<String>) -> Self {
        self.token_url = Some(url.into());
        self
    }

    /// Whether offboarding also revokes the OAuth tokens the person granted to
    /// applications (default true): `signOut` leaves them working.
    pub fn revoke_oauth_tokens(mut self, revoke: bool) -> Self {
        self.revoke_oauth_tokens = revoke;
        self
    }

    /// Whether offboarding also deletes the person's app-specific passwords (default
    /// true): `signOut` leaves them working.
    pub fn revoke_app_passwords(mut self, revoke: bool) -> Self {
        self.revoke_app_passwords = revoke;
        self
    }

    /// The transport settings: name, retries, timeouts, concurrency, time scale.
    pub fn with_transport(mut self, transport: TransportOptions) -> Self {
        self.transport = transport;
        self
    }

    /// Validates the configuration and builds the provider. Nothing is sent.
    pub fn build(self) -> Result<GoogleProvider> {
        let name = self.transport.name_or(&DEFAULTS).to_owned();
        let invalid = |why: String| Error::invalid_input(why).with_provider(name.clone());
        let admin_ok = self
            .admin
            .rsplit_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && d.contains('.'))
            && !self.admin.contains(char::is_whitespace);
        if !admin_ok {
            return Err(invalid(format!(
                "{:?} is not the email of an administrator to impersonate",
                self.admin
            )));
        }
        let Some(key_file) = self.key_file else {
            return Err(invalid(
                "the service account's key file is required (credentials_file or credentials_env)"
                    .to_owned(),
            ));
        };
        let key: KeyFile = serde_json::from_str(key_file.expose_secret()).map_err(|_| {
            invalid("the key file is not a service account key (JSON with client_email and private_key)".to_owned())
        })?;
        if key.kind.as_deref().is_some_and(|k| k != "service_account") {
            return Err(invalid(
                "the key file is not a service account's (its type is not service_account)"
                    .to_owned(),
            ));
        }
        let token_url = self
            .token_url
            .or(key.token_uri.clone())
            .unwrap_or_else(|| TOKEN_URL.to_owned());
        let Some(token_base) = token_url.strip_suffix("token") else {
            return Err(invalid(format!(
                "the token endpoint {token_url:?} must end in /token"
            )));
        };
        let private_key = SecretString::from(key.private_key);
        let account = ServiceAccount::new(key.client_email, &private_key, self.admin)
            .map_err(|e| e.with_provider(name.clone()))?;
        let is_quota =
            |status: unisession_http::StatusCode, _: &unisession_http::HeaderMap, body: &[u8]| {
                crate::errors::is_quota(status.as_u16(), body)
            };
        let api = self
            .transport
            .client(&self.base_url, &DEFAULTS)?
            .rate_limit_detector(is_quota)
            .build()?;
        let tokens = self.transport.client(token_base, &DEFAULTS)?.build()?;
        let parts = Parts {
            name,
            account,
            token_audience: token_url,
            revoke_oauth_tokens: self.revoke_oauth_tokens,
            revoke_app_passwords: self.revoke_app_passwords,
        };
        Ok(GoogleProvider::from_parts(parts, api, tokens))
    }
}
