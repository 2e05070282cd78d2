//! The `[providers.NAME]` table of `kind = "rocketchat"`, and [`KIND`], what this
//! crate registers.

use std::path::PathBuf;
use std::sync::Arc;

use serde::Deserialize;
use unisession_http::{Adapter, AdapterKind, ConfigError, Settings};

use crate::{RocketChatBuilder, Scope, UserRevocation};

/// The settings of a Rocket.Chat instance (besides `kind`, `allow_insecure_http`
/// and `time_scale`, which every kind takes).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RocketChatSettings {
    /// The server, e.g. `https://chat.corp.example/`.
    pub base_url: String,
    /// The user id of a personal access token (with `token_*`).
    pub user_id: Option<String>,
    /// The environment variable holding the token.
    pub token_env: Option<String>,
    /// The file holding it.
    pub token_file: Option<PathBuf>,
    /// A user name to log in with (with `password_*`).
    pub user: Option<String>,
    /// The environment variable holding the password.
    pub password_env: Option<String>,
    /// The file holding it.
    pub password_file: Option<PathBuf>,
    /// `workspace` (default) or `own`.
    #[serde(default)]
    pub scope: Scope,
    /// The password that answers the `password` second-factor method.
    pub two_factor_password_env: Option<String>,
    /// The file holding it.
    pub two_factor_password_file: Option<PathBuf>,
    /// The TOTP secret (base32) that answers the `totp` method.
    pub totp_secret_env: Option<String>,
    /// The file holding it.
    pub totp_secret_file: Option<PathBuf>,
    /// `all_tokens` (default, `users.logout`) or `device_sessions`.
    #[serde(default)]
    pub user_revocation: UserRevocation,
}

fn build(settings: &Settings) -> Result<Arc<dyn Adapter>, ConfigError> {
    let config: RocketChatSettings = settings.parse()?;
    let mut builder = RocketChatBuilder::new(config.base_url.clone())
        .with_transport(settings.transport().clone());
    builder = match (&config.user_id, &config.user) {
        (Some(user_id), None) => builder.with_token(
            user_id.clone(),
            settings.required_secret(
                "token",
                config.token_env.as_deref(),
                config.token_file.as_deref(),
            )?,
        ),
        (None, Some(user)) => builder.with_login(
            user.clone(),
            settings.required_secret(
                "password",
                config.password_env.as_deref(),
                config.password_file.as_deref(),
            )?,
        ),
        (Some(_), Some(_)) => {
            return Err(ConfigError::at(
                "user",
                "set user_id (with a token) or user (with a password), not both",
            ));
        }
        (None, None) => {
            return Err(ConfigError::whole(
                "missing credential; set user_id and token_env, or user and password_env",
            ));
        }
    };
    builder = builder
        .with_scope(config.scope)
        .with_user_revocation(config.user_revocation);
    if let Some(password) = settings.secret(
        "two_factor_password",
        config.two_factor_password_env.as_deref(),
        config.two_factor_password_file.as_deref(),
    )? {
        builder = builder.with_two_factor_password(password);
    }
    if let Some(secret) = settings.secret(
        "totp_secret",
        config.totp_secret_env.as_deref(),
        config.totp_secret_file.as_deref(),
    )? {
        builder = builder.with_totp_secret(secret);
    }
    Ok(Arc::new(builder.build()?))
}

/// Rocket.Chat, as the provider registry knows it.
pub const KIND: AdapterKind = AdapterKind::new(
    "rocketchat",
    "Rocket.Chat",
    build,
    r#"kind = "rocketchat"
base_url = "https://chat.corp.example/"
user_id = "aobEdbYhXfu5hkeqG"
token_env = "ROCKETCHAT_TOKEN"            # a personal access token (best with "ignore two-factor")
scope = "workspace"                       # workspace (admin) | own
# two_factor_password_env = "ROCKETCHAT_PASSWORD"   # answers the password 2FA method
# totp_secret_env = "ROCKETCHAT_TOTP"     # answers the TOTP method
# user_revocation = "all_tokens"          # all_tokens (users.logout) | device_sessions
"#,
);
