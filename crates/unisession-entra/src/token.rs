//! The app's access token: the client credentials grant with a client secret or a
//! certificate assertion (RS256, `x5t` = the certificate's thumbprint, signed with
//! jsonwebtoken), cached until a minute before it expires, fetched again once when
//! Graph answers 401.

use std::fmt;
use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use unisession_core::{Error, ErrorKind, Result};
use unisession_http::{HttpClient, Method};

use crate::wire::TokenAnswer;

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Every application permission the app was granted, for Graph.
pub(crate) const GRAPH_DEFAULT: &str = "https://graph.microsoft.com/.default";

/// How the app proves itself.
pub(crate) enum Secret {
    ClientSecret(SecretString),
    Certificate {
        key: EncodingKey,
        thumbprint: String,
    },
}

/// The app registration and its cached token.
pub(crate) struct App {
    pub(crate) tenant_id: String,
    pub(crate) client_id: String,
    pub(crate) secret: Secret,
    token: tokio::sync::Mutex<Option<(SecretString, Instant)>>,
}

impl fmt::Debug for App {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let how = match self.secret {
            Secret::ClientSecret(_) => "client_secret",
            Secret::Certificate { .. } => "certificate",
        };
        f.debug_struct("App")
            .field("tenant_id", &self.tenant_id)
            .field("client_id", &self.client_id)
            .field("credential", &how)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct Assertion<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    iat: i64,
    nbf: i64,
    exp: i64,
    jti: String,
}

impl App {
    pub(crate) fn new(tenant_id: String, client_id: String, secret: Secret) -> Self {
        Self {
            tenant_id,
            client_id,
            secret,
            token: tokio::sync::Mutex::new(None),
        }
    }

    fn assertion(&self, key: &EncodingKey, thumbprint: &str, audience: &str) -> Result<String> {
        let now = chrono::Utc::now().timestamp();
        let claims = Assertion {
            iss: &self.client_id,
            sub: &self.client_id,
            aud: audience,
            iat: now,
            nbf: now,
            exp: now + 300,
            jti: format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..)),
        };
        let mut header = Header::new(Algorithm::RS256);
        header.x5t = Some(thumbprint.to_owned());
        jsonwebtoken::encode(&header, &claims, key).map_err(|_| {
            Error::new(
                ErrorKind::InvalidInput,
                "cannot sign the client assertion with the certificate's key",
            )
        })
    }

    /// The cached access token, or a new one from `login`.
    pub(crate) async fn access_token(&self, login: &HttpClient) -> Result<SecretString> {
        let mut cached = self.token.lock().await;
        if let Some((token, expires)) = cached.as_ref() {
            if Instant::now() + Duration::from_secs(60) < *expires {
                return Ok(token.clone());
            }
        }
        let route = "{tenant}/oauth2/v2.0/token";
        let audience = format!("{}{}/oauth2/v2.0/token", login.base_url(), self.tenant_id);
        let credential: (&str, SecretString) = match &self.secret {
            Secret::ClientSecret(secret) => ("client_secret", secret.clone()),
            Secret::Certificate { key, thumbprint } => (
                "client_assertion",
                SecretString::from(self.assertion(key, thumbprint, &audience)?),
            ),
        };
        let mut form: Vec<(&str, &str)> = vec![
            ("grant_type", "client_credentials"),
            ("client_id", self.client_id.as_str()),
            ("scope", GRAPH_DEFAULT),
            (credential.0, credential.1.expose_secret()),
        ];
        if credential.0 == "client_assertion" {
            form.push(("client_assertion_type", ASSERTION_TYPE));
        }
        let response = login
            .request(Method::POST, route)
            .param(self.tenant_id.as_str())
            .form(form)
            .send()
            .await?;
        if !response.status().is_success() {
            return Err(crate::errors::token_error(
                response.status().as_u16(),
                response.body(),
            ));
        }
        let answer: TokenAnswer = response.json()?;
        let lifetime = Duration::from_secs(answer.expires_in.unwrap_or(3599));
        let token = SecretString::from(answer.access_token);
        *cached = Some((token.clone(), Instant::now() + lifetime));
        Ok(token)
    }

    pub(crate) async fn forget(&self) {
        *self.token.lock().await = None;
    }
}
