//! [`OktaBuilder`]: configuration, validated before anything is sent.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use unisession_core::{Error, Result};
use unisession_http::{AdapterDefaults, TransportOptions};

use crate::OktaProvider;
use crate::token::ServiceApp;

/// The scopes a service app asks for by default: find people, end their sessions,
/// read the System Log to verify.
pub const DEFAULT_SCOPES: [&str; 3] = ["okta.users.read", "okta.users.manage", "okta.logs.read"];

/// How the adapter authenticates.
pub(crate) enum Auth {
    /// `Authorization: SSWS {token}`: acts as the admin who created it.
    ApiToken(SecretString),
    /// An OAuth 2.0 service app with `private_key_jwt`.
    ServiceApp(ServiceApp),
}

/// Builds an [`OktaProvider`].
///
/// ```
/// use secrecy::SecretString;
/// use unisession_okta::OktaBuilder;
///
/// let okta = OktaBuilder::new("https://corp.okta.com/")
///     .with_api_token(SecretString::from("00abcdefghijklmnopqrstuvwxyz0123456789ABCD"))
///     .build()
///     .expect("valid configuration");
/// assert_eq!(okta.to_string(), "okta");
/// ```
#[must_use]
pub struct OktaBuilder {
    base_url: String,
    api_token: Option<SecretString>,
    client_id: Option<String>,
    private_key: Option<SecretString>,
    key_id: Option<String>,
    scopes: Vec<String>,
    revoke_oauth_tokens: bool,
    forget_devices: bool,
    verify_in_system_log: bool,
    transport: TransportOptions,
}

/// The transport defaults of an Okta adapter.
pub(crate) const DEFAULTS: AdapterDefaults = AdapterDefaults::new("okta");

/// What [`OktaBuilder::build`] checked, handed to the provider.
pub(crate) struct Parts {
    pub(crate) name: String,
    pub(crate) auth: Auth,
    pub(crate) revoke_oauth_tokens: bool,
    pub(crate) forget_devices: bool,
    pub(crate) verify_in_system_log: bool,
}

impl fmt::Debug for OktaBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OktaBuilder")
            .field("base_url", &self.base_url)
            .field("api_token", &self.api_token.as_ref().map(|_| "[REDACTED]"))
            .field("client_id", &self.client_id)
            .field(
                "private_key",
                &self.private_key.as_ref().map(|_| "[REDACTED]"),
            )
            .field("scopes", &self.scopes)
            .field("revoke_oauth_tokens", &self.revoke_oauth_tokens)
            .field("forget_devices", &self.forget_devices)
            .finish_non_exhaustive()
    }
}

impl OktaBuilder {
    /// A builder for the org at `base_url` (`https://{yourOktaDomain}/`).
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            api_token: None,
            client_id: None,
            private_key: None,
            key_id: None,
            scopes: DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
            revoke_oauth_tokens: true,
            forget_devices: true,
            verify_in_system_log: true,
            transport: TransportOptions::default(),
        }
    }

    /// An API token (`SSWS`), which acts with the rights of the admin who created it.
    pub fn with_api_token(mut self, token: SecretString) -> Self {
        self.api_token = Some(token);
        self
    }

    /// An OAuth 2.0 service app (`0oa…`) authenticating with `private_key_jwt`: the
    /// least-privilege route Okta recommends. `private_key` is its PEM private key
    /// (RSA for RS256, P-256 for ES256); `key_id` the `kid` registered with it, if any.
    pub fn with_service_app(
        mut self,
        client_id: impl Into<String>,
        private_key: SecretString,
        key_id: Option<String>,
    ) -> Self {
        self.client_id = Some(client_id.into());
        self.private_key = Some(private_key);
        self.key_id = key_id;
        self
    }

    /// The scopes the service app asks for (default [`DEFAULT_SCOPES`]). Without
    /// `okta.logs.read`, revocations cannot be verified in the System Log.
    pub fn with_scopes(mut self, scopes: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Whether ending a user's sessions also revokes the OAuth 2.0 and OpenID
    /// Connect refresh and access tokens Okta issued to them (`oauthTokens`, default
    /// true here; Okta's own default is false, which leaves apps signed in).
    pub fn revoke_oauth_tokens(mut self, revoke: bool) -> Self {
        self.revoke_oauth_tokens = revoke;
        self
    }

    /// Whether ending a user's sessions also forgets their remembered MFA devices
    /// (`forgetDevices`, default true; sent explicitly, since Okta's default differs
    /// between Identity Engine and Classic).
    pub fn forget_devices(mut self, forget: bool) -> Self {
        self.forget_devices = forget;
        self
    }

    /// Whether a user-wide revocation is verified in the System Log (default true;
    /// needs `okta.logs.read` or an admin API token).
    pub fn verify_in_system_log(mut self, verify: bool) -> Self {
        self.verify_in_system_log = verify;
        self
    }

    /// The transport settings: name, retries, timeouts, concurrency, time scale.
    pub fn with_transport(mut self, transport: TransportOptions) -> Self {
        self.transport = transport;
        self
    }

    /// Validates the configuration and builds the provider. Nothing is sent.
    pub fn build(self) -> Result<OktaProvider> {
        let name = self.transport.name_or(&DEFAULTS).to_owned();
        let invalid = |why: String| Error::invalid_input(why).with_provider(name.clone());
        let auth = match (self.api_token, self.client_id, self.private_key) {
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
                return Err(invalid(
                    "give either an API token or a service app, not both".to_owned(),
                ));
            }
            (Some(token), None, None) => {
                let secret = token.expose_secret();
                if secret.trim().is_empty() {
                    return Err(invalid("the Okta API token is empty".to_owned()));
                }
                if secret.chars().any(|c| c.is_whitespace() || c.is_control()) {
                    return Err(invalid(
                        "the Okta API token contains whitespace or control characters".to_owned(),
                    ));
                }
                if secret.starts_with("SSWS") {
                    return Err(invalid(
                        "give the API token without the \"SSWS \" prefix".to_owned(),
                    ));
                }
                Auth::ApiToken(token)
            }
            (None, Some(client_id), Some(key)) => {
                let well_formed =
                    !client_id.is_empty() && client_id.chars().all(|c| c.is_ascii_alphanumeric());
                if !well_formed {
                    return Err(invalid(format!(
                        "{client_id:?} is not an Okta client id (0oa…)"
                    )));
                }
                if self.scopes.is_empty() {
                    return Err(invalid(
                        "a service app needs scopes (okta.users.read, okta.users.manage, okta.logs.read)".to_owned(),
                    ));
                }
                if let Some(bad) = self
                    .scopes
                    .iter()
                    .find(|s| s.is_empty() || s.chars().any(char::is_whitespace))
                {
                    return Err(invalid(format!("{bad:?} is not a scope")));
                }
                Auth::ServiceApp(
                    ServiceApp::new(client_id, &key, self.key_id, self.scopes)
                        .map_err(|e| e.with_provider(name.clone()))?,
                )
            }
            (None, Some(_), None) => {
                return Err(invalid(
                    "the service app needs its private key (private_key_env or private_key_file)"
                        .to_owned(),
                ));
            }
            (None, None, _) => {
                return Err(invalid(
                    "an Okta credential is required: an API token, or a service app (client id and private key)".to_owned(),
                ));
            }
        };
        let http = self
            .transport
            .client(&self.base_url, &DEFAULTS)?
            .follow_rate_limit_headers(true)
            .build()?;
        let parts = Parts {
            name,
            auth,
            revoke_oauth_tokens: self.revoke_oauth_tokens,
            forget_devices: self.forget_devices,
            verify_in_system_log: self.verify_in_system_log,
        };
        Ok(OktaProvider::from_parts(parts, http))
    }
}
