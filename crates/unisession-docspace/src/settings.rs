//! The `[providers.NAME]` table of `kind = "docspace"`, and [`KIND`], what this
//! crate registers.

use std::path::PathBuf;
use std::sync::Arc;

use serde::Deserialize;
use unisession_http::{Adapter, AdapterKind, ConfigError, Settings};

use crate::DocSpaceBuilder;

/// How a DocSpace instance authenticates (`auth = "…"`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AuthMode {
    /// An API key (`sk-…`) in `token_*`.
    ApiKey,
    /// A personal token in `token_*`, sent as the `asc_auth_key` cookie (the default).
    #[default]
    PersonalToken,
    /// `user` and `password_*`, logged in once.
    Login,
    /// `user` and `password_*`, as HTTP Basic.
    Basic,
    /// An OAuth 2.0 access token in `token_*`.
    Oauth,
}

/// The settings of a DocSpace instance (besides `kind`, `allow_insecure_http` and
/// `time_scale`, which every kind takes).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct DocSpaceSettings {
    /// The portal, e.g. `https://corp.onlyoffice.com/`.
    pub base_url: String,
    /// The credential mode (default `personal_token`).
    #[serde(default)]
    pub auth: AuthMode,
    /// The environment variable holding the API key, personal or OAuth token.
    pub token_env: Option<String>,
    /// The file holding it.
    pub token_file: Option<PathBuf>,
    /// The user name (email) of `login` and `basic`.
    pub user: Option<String>,
    /// The environment variable holding the password.
    pub password_env: Option<String>,
    /// The file holding it.
    pub password_file: Option<PathBuf>,
}

fn build(settings: &Settings) -> Result<Arc<dyn Adapter>, ConfigError> {
    let config: DocSpaceSettings = settings.parse()?;
    let builder =
        DocSpaceBuilder::new(config.base_url).with_transport(settings.transport().clone());
    let token = || {
        settings.required_secret(
            "token",
            config.token_env.as_deref(),
            config.token_file.as_deref(),
        )
    };
    let user = || {
        config.user.clone().ok_or_else(|| {
            ConfigError::at("user", "missing; set user = \"admin@portal.example.com\"")
        })
    };
    let password = || {
        settings.required_secret(
            "password",
            config.password_env.as_deref(),
            config.password_file.as_deref(),
        )
    };
    let builder = match config.auth {
        AuthMode::ApiKey => builder.with_api_key(token()?),
        AuthMode::PersonalToken => builder.with_personal_token(token()?),
        AuthMode::Oauth => builder.with_oauth_token(token()?),
        AuthMode::Login => builder.with_login(user()?, password()?),
        AuthMode::Basic => builder.with_basic(user()?, password()?),
    };
    Ok(Arc::new(builder.build()?))
}

/// ONLYOFFICE DocSpace, as the provider registry knows it.
pub const KIND: AdapterKind = AdapterKind::new(
    "docspace",
    "DocSpace",
    build,
    r#"kind = "docspace"
base_url = "https://corp.onlyoffice.com/"
auth = "personal_token"                   # api_key | personal_token | login | basic | oauth
token_env = "DOCSPACE_TOKEN"              # or token_file = "/run/secrets/docspace-token"
# auth = "login"; user = "admin@corp.example"; password_env = "DOCSPACE_PASSWORD"
"#,
);
