//! [`EntraBuilder`]: configuration, validated before anything is sent.

use std::fmt;

use jsonwebtoken::EncodingKey;
use secrecy::{ExposeSecret, SecretString};
use unisession_core::{Error, Result};
use unisession_http::{AdapterDefaults, TransportOptions};

use crate::EntraProvider;
use crate::token::{App, Secret};

/// Builds an [`EntraProvider`].
///
/// ```
/// use secrecy::SecretString;
/// use unisession_entra::EntraBuilder;
///
/// let entra = EntraBuilder::new("8f2c6a5e-1b3d-4c7e-9a0f-2d4b6c8e0a1f", "0c5a7e9b-2d4f-4a6c-8e0b-1d3f5a7c9e2b")
///     .with_client_secret(SecretString::from("an app secret"))
///     .build()
///     .expect("valid configuration");
/// assert_eq!(entra.to_string(), "entra");
/// ```
#[must_use]
pub struct EntraBuilder {
    graph_url: String,
    login_url: String,
    tenant_id: String,
    client_id: String,
    client_secret: Option<SecretString>,
    certificate: Option<(SecretString, String)>,
    b2c: bool,
    transport: TransportOptions,
}

/// The transport defaults of an Entra adapter.
pub(crate) const DEFAULTS: AdapterDefaults = AdapterDefaults::new("entra");

/// Microsoft Graph v1.0.
pub const GRAPH_URL: &str = "https://graph.microsoft.com/v1.0/";
/// The Microsoft identity platform.
pub const LOGIN_URL: &str = "https://login.microsoftonline.com/";

impl fmt::Debug for EntraBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EntraBuilder")
            .field("graph_url", &self.graph_url)
            .field("login_url", &self.login_url)
            .field("tenant_id", &self.tenant_id)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "[REDACTED]"),
            )
            .field("certificate", &self.certificate.as_ref().map(|(_, t)| t))
            .field("b2c", &self.b2c)
            .finish_non_exhaustive()
    }
}

fn is_guid(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    parts.len() == 5
        && [8, 4, 4, 4, 12]
            .iter()
            .zip(&parts)
            .all(|(n, p)| p.len() == *n && p.chars().all(|c| c.is_ascii_hexdigit()))
}

impl EntraBuilder {
    /// A builder for the app `client_id` of the directory `tenant_id` (a GUID, or a
    /// verified domain such as `corp.onmicrosoft.com`).
    pub fn new(tenant_id: impl Into<String>, client_id: impl Into<String>) -> Self {
        Self {
            graph_url: GRAPH_URL.to_owned(),
            login_url: LOGIN_URL.to_owned(),
            tenant_id: tenant_id.into(),
            client_id: client_id.into(),
            client_secret: None,
            certificate: None,
            b2c: false,
            transport: TransportOptions::default(),
        }
    }

    /// The app's client secret.
    pub fn with_client_secret(mut self, secret: SecretString) -> Self {
        self.client_secret = Some(secret);
        self
    }

    /// The app's certificate: its PEM private key (RSA) and its thumbprint (`x5t`, the
    /// base64url SHA-1 of the certificate, as the portal shows it re-encoded).
    pub fn with_certificate(
        mut self,
        private_key: SecretString,
        thumbprint: impl Into<String>,
    ) -> Self {
        self.certificate = Some((private_key, thumbprint.into()));
        self
    }

    /// Another Graph base (a national cloud, or an emulator).
    pub fn with_graph_url(mut self, url: impl Into<String>) -> Self {
        self.graph_url = url.into();
        self
    }

    /// Another identity platform base.
    pub fn with_login_url(mut self, url: impl Into<String>) -> Self {
        self.login_url = url.into();
        self
    }

    /// An Azure AD B2C tenant: `revokeSignInSessions` is reported ineffective there
    /// (Microsoft's open issue: refresh tokens keep working), so it is `Unsupported`.
    pub fn b2c(mut self, b2c: bool) -> Self {
        self.b2c = b2c;
        self
    }

    /// The transport settings: name, retries, timeouts, concurrency, time scale.
    pub fn with_transport(mut self, transport: TransportOptions) -> Self {
        self.transport = transport;
        self
    }

    /// Validates the configuration and builds the provider. Nothing is sent.
    pub fn build(self) -> Result<EntraProvider> {
        let name = self.transport.name_or(&DEFAULTS).to_owned();
        let invalid = |why: String| Error::invalid_input(why).with_provider(name.clone());
        let tenant_ok = is_guid(&self.tenant_id)
            || (self.tenant_id.contains('.')
                && self
                    .tenant_id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-'));
        if !tenant_ok {
            return Err(invalid(format!(
                "{:?} is not a tenant id (a GUID or a verified domain)",
                self.tenant_id
            )));
        }
        if !is_guid(&self.client_id) {
            return Err(invalid(format!(
                "{:?} is not an application (client) id: a GUID",
                self.client_id
            )));
        }
        let secret = match (self.client_secret, self.certificate) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "give either a client secret or a certificate, not both".to_owned(),
                ));
            }
            (Some(secret), None) => {
                if secret.expose_secret().trim().is_empty() {
                    return Err(invalid("the client secret is empty".to_owned()));
                }
                Secret::ClientSecret(secret)
            }
            (None, Some((key, thumbprint))) => {
                let key =
                    EncodingKey::from_rsa_pem(key.expose_secret().as_bytes()).map_err(|_| {
                        invalid("the certificate's private key is not an RSA key in PEM".to_owned())
                    })?;
                if thumbprint.is_empty()
                    || !thumbprint
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                {
                    return Err(invalid(
                        "the certificate thumbprint must be the base64url x5t".to_owned(),
                    ));
                }
                Secret::Certificate { key, thumbprint }
            }
            (None, None) => {
                return Err(invalid(
                    "an Entra app credential is required: a client secret or a certificate"
                        .to_owned(),
                ));
            }
        };
        let graph = self.transport.client(&self.graph_url, &DEFAULTS)?.build()?;
        let login = self.transport.client(&self.login_url, &DEFAULTS)?.build()?;
        let app = App::new(self.tenant_id, self.client_id, secret);
        Ok(EntraProvider::from_parts(name, graph, login, app, self.b2c))
    }
}
