//! [`RocketChatBuilder`]: credentials, scope, second factors, validated before use.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use unisession_core::{Error, Result};
use unisession_http::{AdapterDefaults, Rate, TransportOptions};

use crate::RocketChatProvider;
use crate::twofactor::{SecondFactors, TwoFactorChallenge, check_totp_secret};

/// Whose sessions the adapter works on (`scope = "workspace" | "own"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Scope {
    /// Every user's sessions (`sessions/list.all`, `sessions/logout`): an administrator
    /// with `view-device-management` and `logout-device-management`, and 2FA.
    #[default]
    Workspace,
    /// The caller's own sessions (`sessions/list`, `sessions/logout.me`).
    Own,
}

/// How `revoke_user_sessions` ends a user's sessions (`user_revocation =
/// "all_tokens" | "device_sessions"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum UserRevocation {
    /// `users.logout`: every login token of the user, **personal access tokens
    /// included**, on every edition (no license needed).
    #[default]
    AllTokens,
    /// Only the sessions device management lists, one `sessions/logout` each
    /// (Enterprise): personal access tokens survive.
    DeviceSessions,
}

#[derive(Clone)]
pub(crate) enum Credential {
    Token {
        user_id: String,
        token: SecretString,
    },
    Login {
        user: String,
        password: SecretString,
    },
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Token { user_id, .. } => f
                .debug_struct("Token")
                .field("user_id", user_id)
                .field("token", &"[REDACTED]")
                .finish(),
            Self::Login { user, .. } => f
                .debug_struct("Login")
                .field("user", user)
                .field("password", &"[REDACTED]")
                .finish(),
        }
    }
}

/// Builds a [`RocketChatProvider`].
///
/// ```
/// use secrecy::SecretString;
/// use unisession_rocketchat::{RocketChatBuilder, Scope};
///
/// let rocketchat = RocketChatBuilder::new("https://chat.corp.example/")
///     .with_token("aobEdbYhXfu5hkeqG", SecretString::from("personal-access-token"))
///     .with_scope(Scope::Workspace)
///     .with_two_factor_password(SecretString::from("the account password"))
///     .build()
///     .expect("valid configuration");
/// assert_eq!(rocketchat.to_string(), "rocketchat");
/// ```
#[must_use]
pub struct RocketChatBuilder {
    pub(crate) base_url: String,
    pub(crate) credentials: Vec<Credential>,
    pub(crate) scope: Scope,
    pub(crate) factors: SecondFactors,
    pub(crate) user_revocation: UserRevocation,
    pub(crate) precheck: bool,
    transport: TransportOptions,
    rate: Option<Rate>,
}

/// The transport defaults of a Rocket.Chat adapter.
pub(crate) const DEFAULTS: AdapterDefaults = AdapterDefaults::new("rocketchat");

impl fmt::Debug for RocketChatBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RocketChatBuilder")
            .field("base_url", &self.base_url)
            .field("credentials", &self.credentials)
            .field("scope", &self.scope)
            .field("factors", &self.factors)
            .field("transport", &self.transport)
            .finish_non_exhaustive()
    }
}

impl RocketChatBuilder {
    /// A builder for the server at `base_url` (e.g. `https://chat.corp.example/`).
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            credentials: Vec::new(),
            scope: Scope::default(),
            factors: SecondFactors::default(),
            user_revocation: UserRevocation::default(),
            precheck: true,
            transport: TransportOptions::default(),
            rate: None,
        }
    }

    /// Reads `{prefix}BASE_URL`, `{prefix}USER_ID` + `{prefix}TOKEN`, or `{prefix}USER` +
    /// `{prefix}PASSWORD` (a login; the password also answers the password 2FA method),
    /// `{prefix}TOTP_SECRET`, `{prefix}SCOPE` (`workspace` or `own`) and `{prefix}NAME`.
    pub fn from_env(prefix: &str) -> Self {
        let var = |key: &str| {
            std::env::var(format!("{prefix}{key}"))
                .ok()
                .filter(|v| !v.is_empty())
        };
        let mut builder = Self::new(var("BASE_URL").unwrap_or_default());
        if let (Some(user_id), Some(token)) = (var("USER_ID"), var("TOKEN")) {
            builder = builder.with_token(user_id, SecretString::from(token));
        }
        if let (Some(user), Some(password)) = (var("USER"), var("PASSWORD")) {
            builder = builder.with_login(user, SecretString::from(password));
        } else if let Some(password) = var("PASSWORD") {
            builder = builder.with_two_factor_password(SecretString::from(password));
        }
        if let Some(secret) = var("TOTP_SECRET") {
            builder = builder.with_totp_secret(SecretString::from(secret));
        }
        match var("SCOPE").as_deref() {
            Some("own") => builder = builder.with_scope(Scope::Own),
            Some("workspace") => builder = builder.with_scope(Scope::Workspace),
            _ => {}
        }
        if let Some(name) = var("NAME") {
            builder.transport = builder.transport.with_name(name);
        }
        builder
    }

    /// `X-User-Id` + `X-Auth-Token`: a personal access token (best: created with
    /// "ignore two-factor" it needs no 2FA) or a resume token.
    pub fn with_token(mut self, user_id: impl Into<String>, token: SecretString) -> Self {
        self.credentials.push(Credential::Token {
            user_id: user_id.into(),
            token,
        });
        self
    }

    /// Logs in once through `POST /api/v1/login` and reuses the token (servers keep
    /// only 50 per user, so logging in per call would evict the user's own sessions).
    /// The password also answers the `password` second-factor method.
    pub fn with_login(mut self, user: impl Into<String>, password: SecretString) -> Self {
        self.factors
            .password
            .get_or_insert_with(|| password.clone());
        self.credentials.push(Credential::Login {
            user: user.into(),
            password,
        });
        self
    }

    /// Works on every user's sessions ([`Scope::Workspace`], the default) or the caller's own.
    pub fn with_scope(mut self, scope: Scope) -> Self {
        self.scope = scope;
        self
    }

    /// The account password, to answer the `password` second-factor method (its
    /// lowercase hex SHA-256 is sent, never the password).
    pub fn with_two_factor_password(mut self, password: SecretString) -> Self {
        self.factors.password = Some(password);
        self
    }

    /// The base32 TOTP secret, to answer the `totp` method (RFC 6238, SHA-1, 6 digits, 30 s).
    pub fn with_totp_secret(mut self, secret: SecretString) -> Self {
        self.factors.totp_secret = Some(secret);
        self
    }

    /// A callback giving a TOTP code, when the secret is not at hand.
    pub fn with_totp_callback<F, Fut>(mut self, callback: F) -> Self
    where
        F: Fn(TwoFactorChallenge) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<SecretString>> + Send + 'static,
    {
        self.factors.totp_callback = Some(Arc::new(move |c| Box::pin(callback(c))));
        self
    }

    /// A callback giving the code the server has just emailed, for the `email` method.
    pub fn with_email_code_callback<F, Fut>(mut self, callback: F) -> Self
    where
        F: Fn(TwoFactorChallenge) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<SecretString>> + Send + 'static,
    {
        self.factors.email_callback = Some(Arc::new(move |c| Box::pin(callback(c))));
        self
    }

    /// How a user's sessions end: [`UserRevocation::AllTokens`] (default) or only the
    /// device-management sessions.
    pub fn with_user_revocation(mut self, mode: UserRevocation) -> Self {
        self.user_revocation = mode;
        self
    }

    /// Whether `revoke_session` first asks whether the session is still live (default
    /// on). Rocket.Chat answers 200 to a repeated logout, so without the check a
    /// session already gone is reported `Revoked` rather than `AlreadyGone`; turning
    /// it off halves the calls.
    pub fn with_precheck(mut self, precheck: bool) -> Self {
        self.precheck = precheck;
        self
    }

    /// The transport settings: name (default `rocketchat`), retries, timeouts,
    /// concurrency, time scale.
    pub fn with_transport(mut self, transport: TransportOptions) -> Self {
        self.transport = transport;
        self
    }

    /// Paces every request at `rate`. By default nothing is paced: the adapter spends
    /// the budget the server announces in `X-RateLimit-*` headers instead, which
    /// costs nothing for administrators the server exempts.
    pub fn with_rate(mut self, rate: Rate) -> Self {
        self.rate = Some(rate);
        self
    }

    /// Validates the configuration and builds the provider. Nothing is sent.
    pub fn build(mut self) -> Result<RocketChatProvider> {
        let name = self.transport.name_or(&DEFAULTS).to_owned();
        let invalid = |why: String| Error::invalid_input(why).with_provider(name.clone());
        if self.base_url.trim().is_empty() {
            return Err(invalid(
                "the Rocket.Chat server URL is required (new(base_url), or {PREFIX}BASE_URL)"
                    .to_owned(),
            ));
        }
        let credential = match (self.credentials.pop(), self.credentials.is_empty()) {
            (None, _) => {
                return Err(invalid(
                    "a credential is required: a user id and token, or a login".to_owned(),
                ));
            }
            (Some(credential), true) => credential,
            (Some(_), false) => {
                return Err(invalid(
                    "configure exactly one credential: a token or a login, not both".to_owned(),
                ));
            }
        };
        let header_safe = |s: &str| {
            !s.trim().is_empty() && !s.chars().any(|c| c.is_control() || c.is_whitespace())
        };
        match &credential {
            Credential::Token { user_id, token } => {
                if !crate::provider::is_meteor_id(user_id) {
                    return Err(invalid(format!("{user_id:?} is not a Rocket.Chat user id")));
                }
                if !header_safe(token.expose_secret()) {
                    return Err(invalid(
                        "the token is empty or has characters a header cannot carry".to_owned(),
                    ));
                }
            }
            Credential::Login { user, password } => {
                if user.trim().is_empty() || password.expose_secret().is_empty() {
                    return Err(invalid(
                        "a user name and a password are required to log in".to_owned(),
                    ));
                }
            }
        }
        if let Some(secret) = &self.factors.totp_secret {
            check_totp_secret(secret).map_err(|e| e.with_provider(name.clone()))?;
        }
        let mut http = self
            .transport
            .client(&self.base_url, &DEFAULTS)?
            .follow_rate_limit_headers(true)
            // Servers before 0.75 answered rate limits with 400 `error-too-many-requests`.
            .rate_limit_detector(|status, _, body| {
                status == 400 && body.windows(23).any(|w| w == b"error-too-many-requests")
            });
        if let Some(rate) = self.rate {
            http = http.pace(crate::provider::CLASS, rate);
        }
        let http = http.build()?;
        Ok(RocketChatProvider::from_parts(name, self, credential, http))
    }
}
