//! The `[providers.NAME]` table of `kind = "entra"`, and [`KIND`], what this crate
//! registers.

use std::path::PathBuf;
use std::sync::Arc;

use serde::Deserialize;
use unisession_http::{Adapter, AdapterKind, ConfigError, Settings};

use crate::EntraBuilder;

/// The settings of an Entra instance (besides `kind`, `allow_insecure_http` and
/// `time_scale`, which every kind takes).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct EntraSettings {
    /// The directory (tenant) id or verified domain.
    pub tenant_id: String,
    /// The app registration's client id.
    pub client_id: String,
    /// The environment variable holding the client secret.
    pub client_secret_env: Option<String>,
    /// The file holding it.
    pub client_secret_file: Option<PathBuf>,
    /// The environment variable holding the certificate's PEM private key.
    pub certificate_key_env: Option<String>,
    /// The file holding it.
    pub certificate_key_file: Option<PathBuf>,
    /// The certificate's thumbprint (`x5t`).
    pub certificate_thumbprint: Option<String>,
    /// Microsoft Graph (default `https://graph.microsoft.com/v1.0/`).
    pub base_url: Option<String>,
    /// The identity platform (default `https://login.microsoftonline.com/`).
    pub login_url: Option<String>,
    /// An Azure AD B2C tenant.
    #[serde(default)]
    pub b2c: bool,
}

fn build(settings: &Settings) -> Result<Arc<dyn Adapter>, ConfigError> {
    let config: EntraSettings = settings.parse()?;
    let mut builder = EntraBuilder::new(config.tenant_id.clone(), config.client_id.clone())
        .with_transport(settings.transport().clone())
        .b2c(config.b2c);
    if let Some(url) = &config.base_url {
        builder = builder.with_graph_url(url.clone());
    }
    if let Some(url) = &config.login_url {
        builder = builder.with_login_url(url.clone());
    }
    let secret = settings.secret(
        "client_secret",
        config.client_secret_env.as_deref(),
        config.client_secret_file.as_deref(),
    )?;
    let key = settings.secret(
        "certificate_key",
        config.certificate_key_env.as_deref(),
        config.certificate_key_file.as_deref(),
    )?;
    builder = match (secret, key) {
        (Some(secret), None) => builder.with_client_secret(secret),
        (None, Some(key)) => {
            let thumbprint = config.certificate_thumbprint.clone().ok_or_else(|| {
                ConfigError::at(
                    "certificate_thumbprint",
                    "a certificate needs its thumbprint (x5t)",
                )
            })?;
            builder.with_certificate(key, thumbprint)
        }
        (Some(_), Some(_)) => {
            return Err(ConfigError::whole(
                "give either client_secret_env/_file or certificate_key_env/_file, not both",
            ));
        }
        (None, None) => {
            return Err(ConfigError::at(
                "client_secret_env",
                "the app needs a credential: client_secret_env (or _file), or certificate_key_env (or _file) with certificate_thumbprint",
            ));
        }
    };
    Ok(Arc::new(builder.build()?))
}

/// Microsoft Entra ID, as the provider registry knows it.
pub const KIND: AdapterKind = AdapterKind::new(
    "entra",
    "Microsoft Entra ID",
    build,
    r#"kind = "entra"
tenant_id = "8f2c6a5e-1b3d-4c7e-9a0f-2d4b6c8e0a1f"   # or corp.onmicrosoft.com
client_id = "0c5a7e9b-2d4f-4a6c-8e0b-1d3f5a7c9e2b"   # app with User.Read.All and User.RevokeSessions.All (application, admin consent)
client_secret_env = "ENTRA_CLIENT_SECRET"
# certificate_key_file = "/run/secrets/entra-app.pem"; certificate_thumbprint = "…"   # instead of a secret
# b2c = true                                  # an Azure AD B2C tenant (revocation is reported ineffective)
"#,
);
