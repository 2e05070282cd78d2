//! The service app's access token: a `private_key_jwt` client assertion (signed with
//! jsonwebtoken) exchanged at `oauth2/v1/token` for a Bearer token, cached until a
//! minute before it expires, and fetched again once when the API says it expired.

use std::fmt;
use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use unisession_core::{Error, ErrorKind, Result};
use unisession_http::{HttpClient, Method};

use crate::wire::TokenAnswer;

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// An OAuth 2.0 service app and its signing key.
pub(crate) struct ServiceApp {
    client_id: String,
    key: EncodingKey,
    algorithm: Algorithm,
    key_id: Option<String>,
    scopes: Vec<String>,
    token: tokio::sync::Mutex<Option<(SecretString, Instant)>>,
}

impl fmt::Debug for ServiceApp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceApp")
            .field("client_id", &self.client_id)
            .field("algorithm", &self.algorithm)
            .field("key_id", &self.key_id)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct Assertion<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    iat: i64,
    exp: i64,
    jti: String,
}

impl ServiceApp {
    /// Reads the PEM key: RSA (RS256) or P-256 (ES256).
    pub(crate) fn new(
        client_id: String,
        private_key: &SecretString,
        key_id: Option<String>,
        scopes: Vec<String>,
    ) -> Result<Self> {
        let pem = private_key.expose_secret().as_bytes();
        let (key, algorithm) = if let Ok(key) = EncodingKey::from_rsa_pem(pem) {
            (key, Algorithm::RS256)
        } else if let Ok(key) = EncodingKey::from_ec_pem(pem) {
            (key, Algorithm::ES256)
        } else {
            return Err(Error::invalid_input(
                "the service app's private key is neither an RSA nor a P-256 private key in PEM",
            ));
        };
        Ok(Self {
            client_id,
            key,
            algorithm,
            key_id,
            scopes,
            token: tokio::sync::Mutex::new(None),
        })
    }

    /// A fresh signed assertion for the token endpoint `audience`.
    fn assertion(&self, audience: &str) -> Result<String> {
        let now = chrono::Utc::now().timestamp();
        let claims = Assertion {
            iss: &self.client_id,
            sub: &self.client_id,
            aud: audience,
            iat: now,
            // Okta takes at most an hour; five minutes is plenty for one exchange.
            exp: now + 300,
            jti: format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..)),
        };
        let mut header = Header::new(self.algorithm);
        header.kid = self.key_id.clone();
        jsonwebtoken::encode(&header, &claims, &self.key).map_err(|e| {
            Error::new(
                ErrorKind::InvalidInput,
                format!("cannot sign the client assertion: {}", e.kind_name()),
            )
        })
    }

    /// The cached access token, or a new one.
    pub(crate) async fn access_token(&self, http: &HttpClient) -> Result<SecretString> {
        let mut cached = self.token.lock().await;
        if let Some((token, expires)) = cached.as_ref() {
            if Instant::now() + Duration::from_secs(60) < *expires {
                return Ok(token.clone());
            }
        }
        let audience = format!("{}oauth2/v1/token", http.base_url());
        let assertion = SecretString::from(self.assertion(&audience)?);
        let scope = self.scopes.join(" ");
        let response = http
            .request(Method::POST, "oauth2/v1/token")
            .header("accept", "application/json")
            .form([
                ("grant_type", "client_credentials"),
                ("scope", scope.as_str()),
                ("client_assertion_type", ASSERTION_TYPE),
                ("client_assertion", assertion.expose_secret()),
            ])
            .send()
            .await?;
        let status = response.status().as_u16();
        if !response.status().is_success() {
            return Err(crate::errors::token_error(status, response.body()));
        }
        let answer: TokenAnswer = response.json()?;
        if answer
            .token_type
            .as_deref()
            .is_some_and(|t| !t.eq_ignore_ascii_case("bearer"))
        {
            return Err(Error::new(
                ErrorKind::Unsupported,
                "the token endpoint issued a non-Bearer token (DPoP-bound service apps are not supported)",
            ));
        }
        let lifetime = Duration::from_secs(answer.expires_in.unwrap_or(3600));
        let token = SecretString::from(answer.access_token);
        *cached = Some((token.clone(), Instant::now() + lifetime));
        Ok(token)
    }

    /// Forgets the token (the API said it is no longer valid).
    pub(crate) async fn forget(&self) {
        *self.token.lock().await = None;
    }
}

trait KindName {
    fn kind_name(&self) -> &'static str;
}

impl KindName for jsonwebtoken::errors::Error {
    fn kind_name(&self) -> &'static str {
        use jsonwebtoken::errors::ErrorKind as Jwt;
        match self.kind() {
            Jwt::InvalidRsaKey(_) | Jwt::InvalidEcdsaKey | Jwt::InvalidKeyFormat => "invalid key",
            _ => "signing failed",
        }
    }
}
