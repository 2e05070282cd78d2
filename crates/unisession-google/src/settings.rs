//! The `[providers.NAME]` table of `kind = "google"`, and [`KIND`], what this crate
//! registers.

use std::path::PathBuf;
use std::sync::Arc;

use serde::Deserialize;
use unisession_http::{Adapter, AdapterKind, ConfigError, Settings};

use crate::GoogleBuilder;

/// The settings of a Google Workspace instance (besides `kind`,
/// `allow_insecure_http` and `time_scale`, which every kind takes).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct GoogleSettings {
    /// The administrator the service account impersonates.
    pub admin: String,
    /// The environment variable holding the service account's JSON key.
    pub credentials_env: Option<String>,
    /// The file holding it (as the console downloads it).
    pub credentials_file: Option<PathBuf>,
    /// The API root (default `https://admin.googleapis.com/`).
    pub base_url: Option<String>,
    /// The token endpoint (default: the key file's `token_uri`).
    pub token_url: Option<String>,
    /// Also revoke OAuth tokens granted to applications (default true).
    pub oauth_tokens: Option<bool>,
    /// Also delete app-specific passwords (default true).
    pub app_passwords: Option<bool>,
}

fn build(settings: &Settings) -> Result<Arc<dyn Adapter>, ConfigError> {
    let config: GoogleSettings = settings.parse()?;
    let key = settings.required_secret(
        "credentials",
        config.credentials_env.as_deref(),
        config.credentials_file.as_deref(),
    )?;
    let mut builder = GoogleBuilder::new(config.admin.clone())
        .with_key_file(key)
        .with_transport(settings.transport().clone());
    if let Some(url) = &config.base_url {
        builder = builder.with_base_url(url.clone());
    }
    if let Some(url) = &config.token_url {
        builder = builder.with_token_url(url.clone());
    }
    if let Some(oauth) = config.oauth_tokens {
        builder = builder.revoke_oauth_tokens(oauth);
    }
    if let Some(asps) = config.app_passwords {
        builder = builder.revoke_app_passwords(asps);
    }
    Ok(Arc::new(builder.build()?))
}

/// Google Workspace, as the provider registry knows it.
pub const KIND: AdapterKind = AdapterKind::new(
    "google",
    "Google Workspace",
    build,
    r#"kind = "google"
admin = "admin@corp.example"              # the administrator the service account acts as
credentials_file = "/run/secrets/google-sa.json"   # the service account's JSON key (or credentials_env)
# delegated scopes: admin.directory.user.security, admin.directory.user.readonly
# oauth_tokens = true                     # also revoke OAuth tokens granted to apps (signOut leaves them)
# app_passwords = true                    # also delete app-specific passwords (signOut leaves them)
"#,
);
