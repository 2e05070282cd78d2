//! The `[providers.NAME]` table of `kind = "okta"`, and [`KIND`], what this crate
//! registers.

use std::path::PathBuf;
use std::sync::Arc;

use serde::Deserialize;
use unisession_http::{Adapter, AdapterKind, ConfigError, Settings};

use crate::OktaBuilder;

/// How an Okta instance authenticates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum OktaAuth {
    /// An API token (`SSWS`): `token_env` / `token_file`.
    #[default]
    ApiToken,
    /// An OAuth 2.0 service app with `private_key_jwt`: `client_id`,
    /// `private_key_env` / `private_key_file`, `key_id`, `scopes`.
    ServiceApp,
}

/// The settings of an Okta instance (besides `kind`, `allow_insecure_http` and
/// `time_scale`, which every kind takes).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct OktaSettings {
    /// The org, `https://{yourOktaDomain}/`.
    pub base_url: String,
    /// How it authenticates (default `api_token`).
    #[serde(default)]
    pub auth: OktaAuth,
    /// The environment variable holding the API token.
    pub token_env: Option<String>,
    /// The file holding it.
    pub token_file: Option<PathBuf>,
    /// The service app's client id (`0oa…`).
    pub client_id: Option<String>,
    /// The environment variable holding its PEM private key.
    pub private_key_env: Option<String>,
    /// The file holding it.
    pub private_key_file: Option<PathBuf>,
    /// The `kid` registered with the key.
    pub key_id: Option<String>,
    /// The scopes it asks for.
    pub scopes: Option<Vec<String>>,
    /// Also revoke the user's OAuth tokens (default true).
    pub oauth_tokens: Option<bool>,
    /// Also forget remembered MFA devices (default true).
    pub forget_devices: Option<bool>,
    /// Verify in the System Log (default true).
    pub verify_in_system_log: Option<bool>,
}

fn build(settings: &Settings) -> Result<Arc<dyn Adapter>, ConfigError> {
    let config: OktaSettings = settings.parse()?;
    let mut builder =
        OktaBuilder::new(config.base_url.clone()).with_transport(settings.transport().clone());
    match config.auth {
        OktaAuth::ApiToken => {
            let token = settings.required_secret(
                "token",
                config.token_env.as_deref(),
                config.token_file.as_deref(),
            )?;
            builder = builder.with_api_token(token);
        }
        OktaAuth::ServiceApp => {
            let client_id = config.client_id.clone().ok_or_else(|| {
                ConfigError::at("client_id", "a service app needs its client id (0oa…)")
            })?;
            let key = settings.required_secret(
                "private_key",
                config.private_key_env.as_deref(),
                config.private_key_file.as_deref(),
            )?;
            builder = builder.with_service_app(client_id, key, config.key_id.clone());
            if let Some(scopes) = config.scopes.clone() {
                builder = builder.with_scopes(scopes);
            }
        }
    }
    if let Some(oauth) = config.oauth_tokens {
        builder = builder.revoke_oauth_tokens(oauth);
    }
    if let Some(forget) = config.forget_devices {
        builder = builder.forget_devices(forget);
    }
    if let Some(verify) = config.verify_in_system_log {
        builder = builder.verify_in_system_log(verify);
    }
    Ok(Arc::new(builder.build()?))
}

/// Okta, as the provider registry knows it.
pub const KIND: AdapterKind = AdapterKind::new(
    "okta",
    "Okta",
    build,
    r#"kind = "okta"
base_url = "https://corp.okta.com/"
auth = "api_token"                        # api_token | service_app
token_env = "OKTA_API_TOKEN"              # an API token of an admin who may manage users
# auth = "service_app"; client_id = "0oa1abcdefGHIJKLMNOP"; private_key_file = "/run/secrets/okta-key.pem"
# key_id = "my-key"                       # the kid registered with the public key
# scopes = ["okta.users.read", "okta.users.manage", "okta.logs.read"]
# oauth_tokens = true                     # also revoke the OAuth refresh/access tokens Okta issued
# forget_devices = true                   # also forget remembered MFA devices
"#,
);
