//! [`DocSpaceBuilder`] and the credential modes.

use std::fmt;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use unisession_core::{Error, Result};
use unisession_http::{AdapterDefaults, Rate, TransportOptions};

use crate::DocSpaceProvider;

/// How the adapter authenticates. Every secret is a [`SecretString`].
#[derive(Clone)]
#[non_exhaustive]
pub enum DocSpaceAuth {
    /// An API key, sent as `Authorization: Bearer sk-…`. The server cannot tell the
    /// caller's own session with it, so "revoke all others" is not offered.
    ApiKey(SecretString),
    /// A personal token (from `POST /api/2.0/authentication`), sent as the
    /// `asc_auth_key` cookie so the server knows the current session.
    PersonalToken(SecretString),
    /// User name (email) and password: the adapter logs in once through
    /// `POST /api/2.0/authentication` and reuses the token as the cookie.
    Login {
        /// The user name or email.
        user: String,
        /// The password.
        password: SecretString,
    },
    /// HTTP Basic with the email and password (no session of its own).
    Basic {
        /// The email.
        email: String,
        /// The password.
        password: SecretString,
    },
    /// An OAuth 2.0 access token (a JWT), sent as `Authorization: Bearer`.
    OAuth(SecretString),
}

impl DocSpaceAuth {
    /// Whether the server can tell the caller's own session: only with the cookie.
    pub fn knows_current_session(&self) -> bool {
        matches!(self, Self::PersonalToken(_) | Self::Login { .. })
    }

    /// A short name of the mode, for messages.
    pub fn mode(&self) -> &'static str {
        match self {
            Self::ApiKey(_) => "API key",
            Self::PersonalToken(_) => "personal token",
            Self::Login { .. } => "login",
            Self::Basic { .. } => "Basic",
            Self::OAuth(_) => "OAuth token",
        }
    }
}

impl fmt::Debug for DocSpaceAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Login { user, .. } => f
                .debug_struct("Login")
                .field("user", user)
                .field("password", &"[REDACTED]")
                .finish(),
            Self::Basic { email, .. } => f
                .debug_struct("Basic")
                .field("email", email)
                .field("password", &"[REDACTED]")
                .finish(),
            other => write!(f, "{}([REDACTED])", other.mode().replace(' ', "")),
        }
    }
}

/// Builds a [`DocSpaceProvider`].
///
/// ```
/// use secrecy::SecretString;
/// use unisession_docspace::DocSpaceBuilder;
///
/// let docspace = DocSpaceBuilder::new("https://corp.onlyoffice.com/")
///     .with_personal_token(SecretString::from("token-from-api-2.0-authentication"))
///     .build()
///     .expect("valid configuration");
/// assert!(docspace_capabilities_offer_revoke_others(&docspace));
/// # fn docspace_capabilities_offer_revoke_others(p: &unisession_docspace::DocSpaceProvider) -> bool {
/// #     use unisession_core::SessionProvider;
/// #     p.capabilities().revoke_other_sessions
/// # }
/// ```
#[must_use]
pub struct DocSpaceBuilder {
    base_url: String,
    auth: Vec<DocSpaceAuth>,
    transport: TransportOptions,
    rate: Option<Rate>,
}

/// The transport defaults of a DocSpace adapter: 180 s per call, and at most 15
/// requests at once (the server runs at most 15 non-GET requests of a user at once).
pub(crate) const DEFAULTS: AdapterDefaults = AdapterDefaults::new("docspace")
    .with_total_timeout(Duration::from_secs(180))
    .with_max_concurrency(15);

/// The default pacing: 95 % of the 1500 requests a minute a user may send.
pub fn default_rate() -> Rate {
    Rate::per_minute(1500).scaled(0.95)
}

impl fmt::Debug for DocSpaceBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DocSpaceBuilder")
            .field("base_url", &self.base_url)
            .field("auth", &self.auth)
            .field("transport", &self.transport)
            .finish_non_exhaustive()
    }
}

impl DocSpaceBuilder {
    /// A builder for the portal at `base_url` (e.g. `https://corp.onlyoffice.com/`).
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            auth: Vec::new(),
            transport: TransportOptions::default(),
            rate: None,
        }
    }

    /// Reads `{prefix}BASE_URL` and one credential: `{prefix}API_KEY`,
    /// `{prefix}TOKEN` (personal token), `{prefix}OAUTH_TOKEN`, `{prefix}USER` +
    /// `{prefix}PASSWORD` (login), or `{prefix}BASIC_EMAIL` + `{prefix}BASIC_PASSWORD`.
    /// [`build`](Self::build) refuses none or several.
    pub fn from_env(prefix: &str) -> Self {
        let var = |key: &str| {
            std::env::var(format!("{prefix}{key}"))
                .ok()
                .filter(|v| !v.is_empty())
        };
        let mut builder = Self::new(var("BASE_URL").unwrap_or_default());
        if let Some(key) = var("API_KEY") {
            builder = builder.with_api_key(SecretString::from(key));
        }
        if let Some(token) = var("TOKEN") {
            builder = builder.with_personal_token(SecretString::from(token));
        }
        if let Some(token) = var("OAUTH_TOKEN") {
            builder = builder.with_oauth_token(SecretString::from(token));
        }
        if let (Some(user), Some(password)) = (var("USER"), var("PASSWORD")) {
            builder = builder.with_login(user, SecretString::from(password));
        }
        if let (Some(email), Some(password)) = (var("BASIC_EMAIL"), var("BASIC_PASSWORD")) {
            builder = builder.with_basic(email, SecretString::from(password));
        }
        if let Some(name) = var("NAME") {
            builder.transport = builder.transport.with_name(name);
        }
        builder
    }

    /// Authenticates with an API key (`sk-…`).
    pub fn with_api_key(mut self, key: SecretString) -> Self {
        self.auth.push(DocSpaceAuth::ApiKey(key));
        self
    }

    /// Authenticates with a personal token, sent as the `asc_auth_key` cookie.
    pub fn with_personal_token(mut self, token: SecretString) -> Self {
        self.auth.push(DocSpaceAuth::PersonalToken(token));
        self
    }

    /// Logs in with a user name (or email) and password; the token is reused.
    pub fn with_login(mut self, user: impl Into<String>, password: SecretString) -> Self {
        self.auth.push(DocSpaceAuth::Login {
            user: user.into(),
            password,
        });
        self
    }

    /// Authenticates with HTTP Basic (email and password).
    pub fn with_basic(mut self, email: impl Into<String>, password: SecretString) -> Self {
        self.auth.push(DocSpaceAuth::Basic {
            email: email.into(),
            password,
        });
        self
    }

    /// Authenticates with an OAuth 2.0 access token.
    pub fn with_oauth_token(mut self, token: SecretString) -> Self {
        self.auth.push(DocSpaceAuth::OAuth(token));
        self
    }

    /// The transport settings: name (default `docspace`), retries, timeouts (180 s a
    /// call), concurrency (15, the server's write limit), time scale.
    pub fn with_transport(mut self, transport: TransportOptions) -> Self {
        self.transport = transport;
        self
    }

    /// Paces requests at `rate` (default [`default_rate`], run the transport's time
    /// scale faster).
    pub fn with_rate(mut self, rate: Rate) -> Self {
        self.rate = Some(rate);
        self
    }

    /// Validates the configuration and builds the provider. Nothing is sent.
    pub fn build(mut self) -> Result<DocSpaceProvider> {
        let name = self.transport.name_or(&DEFAULTS).to_owned();
        let invalid = |why: String| Error::invalid_input(why).with_provider(name.clone());
        if self.base_url.trim().is_empty() {
            return Err(invalid(
                "the DocSpace portal URL is required (new(base_url), or {PREFIX}BASE_URL)"
                    .to_owned(),
            ));
        }
        let auth = match (self.auth.pop(), self.auth.is_empty()) {
            (None, _) => {
                return Err(invalid(
                    "a credential is required: an API key, a personal token, a login, Basic or an OAuth token".to_owned(),
                ));
            }
            (Some(auth), true) => auth,
            (Some(last), false) => {
                self.auth.push(last);
                let modes: Vec<_> = self.auth.iter().map(DocSpaceAuth::mode).collect();
                return Err(invalid(format!(
                    "configure exactly one credential, not {}",
                    modes.join(" and ")
                )));
            }
        };
        let header_safe = |secret: &SecretString| {
            let s = secret.expose_secret();
            !s.trim().is_empty()
                && !s
                    .chars()
                    .any(|c| c.is_control() || c.is_whitespace() || c == ';')
        };
        match &auth {
            DocSpaceAuth::ApiKey(key) => {
                if !header_safe(key) || !key.expose_secret().starts_with("sk-") {
                    return Err(invalid(
                        "a DocSpace API key starts with sk- and has no spaces".to_owned(),
                    ));
                }
            }
            DocSpaceAuth::PersonalToken(token) | DocSpaceAuth::OAuth(token) => {
                if !header_safe(token) {
                    return Err(invalid(
                        "the token is empty or has characters a header cannot carry".to_owned(),
                    ));
                }
            }
            DocSpaceAuth::Login { user, password }
            | DocSpaceAuth::Basic {
                email: user,
                password,
            } => {
                if user.trim().is_empty() || password.expose_secret().is_empty() {
                    return Err(invalid(
                        "a user name and a password are required".to_owned(),
                    ));
                }
                if matches!(auth, DocSpaceAuth::Basic { .. }) && user.contains(':') {
                    return Err(invalid("a Basic user name cannot contain ':'".to_owned()));
                }
            }
        }
        let rate = self
            .rate
            .unwrap_or_else(|| self.transport.scaled(default_rate()));
        let http = self
            .transport
            .client(&self.base_url, &DEFAULTS)?
            .pace(crate::provider::CLASS, rate)
            .build()?;
        Ok(DocSpaceProvider::from_parts(name, auth, http))
    }
}
