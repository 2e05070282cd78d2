//! The service account's access token: a JWT bearer grant (RS256, signed with
//! jsonwebtoken) impersonating the configured administrator, cached until a minute
//! before it expires and fetched again once when the API answers 401.

use std::fmt;
use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use unisession_core::{Error, ErrorKind, Result};
use unisession_http::{HttpClient, Method};

use crate::wire::TokenAnswer;

/// The scopes asked for: end sessions and grants, read users.
pub const SCOPES: [&str; 2] = [
    "https://www.googleapis.com/auth/admin.directory.user.security",
    "https://www.googleapis.com/auth/admin.directory.user.readonly",
];

/// The service account and the administrator it acts as.
pub(crate) struct ServiceAccount {
    pub(crate) email: String,
    key: EncodingKey,
    pub(crate) admin: String,
    token: tokio::sync::Mutex<Option<(SecretString, Instant)>>,
}

impl fmt::Debug for ServiceAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceAccount")
            .field("email", &self.email)
            .field("admin", &self.admin)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    scope: String,
    aud: &'a str,
    iat: i64,
    exp: i64,
}

impl ServiceAccount {
    pub(crate) fn new(email: String, private_key: &SecretString, admin: String) -> Result<Self> {
        let key =
            EncodingKey::from_rsa_pem(private_key.expose_secret().as_bytes()).map_err(|_| {
                Error::invalid_input("the service account's private_key is not an RSA key in PEM")
            })?;
        Ok(Self {
            email,
            key,
            admin,
            token: tokio::sync::Mutex::new(None),
        })
    }

    /// The cached access token, or a new one from the token endpoint.
    /// `token_endpoint`'s base is the directory of the token URL `audience`, whose last
    /// segment is `token`.
    pub(crate) async fn access_token(
        &self,
        token_endpoint: &HttpClient,
        audience: &str,
    ) -> Result<SecretString> {
        let mut cached = self.token.lock().await;
        if let Some((token, expires)) = cached.as_ref() {
            if Instant::now() + Duration::from_secs(60) < *expires {
                return Ok(token.clone());
            }
        }
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            iss: &self.email,
            sub: &self.admin,
            scope: SCOPES.join(" "),
            aud: audience,
            iat: now,
            exp: now + 3600,
        };
        let assertion = jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &self.key)
            .map_err(|_| Error::new(ErrorKind::InvalidInput, "cannot sign the JWT assertion"))?;
        let assertion = SecretString::from(assertion);
        let response = token_endpoint
            .request(Method::POST, "token")
            .form([
                ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                ("assertion", assertion.expose_secret()),
            ])
            .send()
            .await?;
        if !response.status().is_success() {
            return Err(crate::errors::token_error(
                response.status().as_u16(),
                response.body(),
            ));
        }
        let answer: TokenAnswer = response.json()?;
        let token = SecretString::from(answer.access_token);
        let lifetime = Duration::from_secs(answer.expires_in.unwrap_or(3599));
        *cached = Some((token.clone(), Instant::now() + lifetime));
        Ok(token)
    }

    pub(crate) async fn forget(&self) {
        *self.token.lock().await = None;
    }
}
