//! Who is calling: Okta's signed JWT, verified against the org's published keys, or a
//! static bearer token.
//!
//! The JWT rules are Okta's (okta-developer-docs, `guides/oin-universal-logout-overview`):
//! header `typ: global-token-revocation+jwt`; claims `iss` (the org), `sub` (our
//! client id), `aud` (the endpoint URL), `iat`, `nbf`, `exp`, `jti`; signed with the
//! key that signs the org's ID tokens. The defences are RFC 8725's: an algorithm
//! allow-list (asymmetric only, so `none` and HMAC with a public key never verify),
//! keys only from the configured issuer's JWKS (`jku`, `x5u`, `jwk` and `x5c` in a
//! header are never used), `kid` only as a key into that set, the audience always
//! checked, a small clock skew, and each `jti` accepted once.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::sync::Mutex;
use url::Url;

use crate::config::{Caller, CallerAuth};

/// The `typ` Okta puts on a Global Token Revocation JWT.
pub const GTR_JWT_TYPE: &str = "global-token-revocation+jwt";

/// The longest a token may live: a token valid for longer would have to be kept in
/// the replay cache for as long.
const MAX_LIFETIME: i64 = 3600;

/// Why a caller was refused (401), as counted in the metrics. The text never holds
/// the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    Missing,
    Malformed,
    Type,
    Algorithm,
    UnknownKey,
    Signature,
    Issuer,
    Audience,
    Subject,
    Expired,
    NotYetValid,
    IssuedInFuture,
    TooLong,
    NoTokenId,
    WrongToken,
    KeysUnavailable,
}

impl Refusal {
    pub(crate) fn reason(self) -> &'static str {
        match self {
            Self::Missing => "missing_credential",
            Self::Malformed => "malformed_token",
            Self::Type => "wrong_typ",
            Self::Algorithm => "algorithm_not_allowed",
            Self::UnknownKey => "unknown_key",
            Self::Signature => "bad_signature",
            Self::Issuer => "wrong_issuer",
            Self::Audience => "wrong_audience",
            Self::Subject => "wrong_subject",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::IssuedInFuture => "issued_in_future",
            Self::TooLong => "lifetime_too_long",
            Self::NoTokenId => "no_jti",
            Self::WrongToken => "wrong_token",
            Self::KeysUnavailable => "keys_unavailable",
        }
    }
}

/// A verified caller.
#[derive(Debug, Clone)]
pub(crate) struct Verified {
    pub caller: usize,
    /// `(iss, jti, expires_at_ms)` of a JWT, to remember with the job.
    pub replay: Option<(String, String, i64)>,
}

#[derive(Deserialize)]
struct Claims {
    jti: Option<String>,
    iat: Option<i64>,
    exp: i64,
}

#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    jwks_uri: String,
}

/// Reads a small JSON answer (discovery, keys, stream management) with a size cap.
pub(crate) async fn read_json<T: serde::de::DeserializeOwned>(
    mut response: reqwest::Response,
    what: &str,
    max: usize,
) -> Result<T, String> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| format!("{what}: {e}"))? {
        body.extend_from_slice(&chunk);
        if body.len() > max {
            return Err(format!("{what}: the answer is larger than {max} bytes"));
        }
    }
    serde_json::from_slice(&body).map_err(|e| format!("{what}: {e}"))
}

/// The keys of one issuer, fetched on demand and refreshed on an unknown `kid` at
/// most once per `min_refresh`: a flood of tokens with made-up key ids costs the
/// issuer one request per interval.
pub(crate) struct Keys {
    issuer: String,
    discovery: String,
    /// Keys at a configured URL, instead of the discovery document's `jwks_uri`.
    pinned: Option<String>,
    min_refresh: Duration,
    http: reqwest::Client,
    state: Mutex<KeyState>,
}

#[derive(Default)]
struct KeyState {
    keys: Vec<Jwk>,
    fetched_at: Option<Instant>,
    attempted_at: Option<Instant>,
}

impl Keys {
    /// Keys are fetched again after this long even when every `kid` is known.
    const MAX_AGE: Duration = Duration::from_secs(3600);
    const MAX_BODY: usize = 256 * 1024;

    /// The keys of an OpenID Connect issuer (`{issuer}/.well-known/openid-configuration`).
    pub(crate) fn new(issuer: &str, min_refresh: Duration) -> Self {
        let issuer = issuer.trim_end_matches('/');
        Self::with_discovery(
            issuer,
            format!("{issuer}/.well-known/openid-configuration"),
            min_refresh,
        )
    }

    /// The keys of an issuer whose discovery document is at `discovery`.
    pub(crate) fn with_discovery(issuer: &str, discovery: String, min_refresh: Duration) -> Self {
        let http = http_client(Duration::from_secs(5));
        Self {
            issuer: issuer.trim_end_matches('/').to_owned(),
            discovery,
            pinned: None,
            min_refresh,
            http,
            state: Mutex::new(KeyState::default()),
        }
    }

    /// Takes the keys from `url` (set in the configuration), not from discovery:
    /// for a transmitter whose keys live on another origin (Google's RISC keys are on
    /// www.googleapis.com, its issuer accounts.google.com).
    pub(crate) fn pinned(mut self, url: Option<String>) -> Self {
        self.pinned = url;
        self
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, String> {
        let response = self
            .http
            .get(url)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| format!("GET {url}: {e}"))?;
        if !response.status().is_success() {
            return Err(format!("GET {url}: {}", response.status()));
        }
        read_json(response, &format!("GET {url}"), Self::MAX_BODY).await
    }

    /// Discovery, then the JWKS it names (same origin as the issuer only).
    async fn fetch(&self) -> Result<Vec<Jwk>, String> {
        if let Some(url) = &self.pinned {
            let set: JwkSet = self.get_json(url).await?;
            return Ok(set.keys);
        }
        let discovery: Discovery = self.get_json(&self.discovery).await?;
        if discovery.issuer.trim_end_matches('/') != self.issuer {
            return Err(format!(
                "the discovery document names the issuer {:?}, not {:?}",
                discovery.issuer, self.issuer
            ));
        }
        let issuer = Url::parse(&self.issuer).map_err(|e| e.to_string())?;
        let jwks = Url::parse(&discovery.jwks_uri).map_err(|e| format!("jwks_uri: {e}"))?;
        if !unisession_http::same_origin(&issuer, &jwks) {
            return Err(format!(
                "jwks_uri {} is not on the issuer's origin; keys are only taken from the issuer",
                jwks.origin().ascii_serialization()
            ));
        }
        let set: JwkSet = self.get_json(jwks.as_str()).await?;
        Ok(set.keys)
    }

    /// The keys a token with `kid` (and `alg`) may be verified with: fetched on first
    /// use, after [`Self::MAX_AGE`], or when `kid` is unknown and the last fetch is
    /// older than `min_refresh`.
    pub(crate) async fn candidates(
        &self,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<Vec<Jwk>, Refusal> {
        let mut state = self.state.lock().await;
        let known = |state: &KeyState| -> Vec<Jwk> {
            state
                .keys
                .iter()
                .filter(|k| match kid {
                    Some(kid) => k.common.key_id.as_deref() == Some(kid),
                    None => true,
                })
                .filter(|k| {
                    k.common
                        .key_algorithm
                        .is_none_or(|a| format!("{a:?}") == format!("{alg:?}"))
                })
                .cloned()
                .collect()
        };
        let stale = state
            .fetched_at
            .is_none_or(|at| at.elapsed() > Self::MAX_AGE);
        let may_refresh = state
            .attempted_at
            .is_none_or(|at| at.elapsed() >= self.min_refresh);
        if (known(&state).is_empty() || stale) && may_refresh {
            state.attempted_at = Some(Instant::now());
            match self.fetch().await {
                Ok(keys) => {
                    state.keys = keys;
                    state.fetched_at = Some(Instant::now());
                }
                Err(e) => {
                    tracing::warn!(issuer = %self.issuer, error = %e, "cannot fetch the issuer's signing keys");
                }
            }
        }
        if state.fetched_at.is_none() {
            return Err(Refusal::KeysUnavailable);
        }
        let found = known(&state);
        if found.is_empty() {
            Err(Refusal::UnknownKey)
        } else {
            Ok(found)
        }
    }
}

/// The callers and what verifying them needs.
pub(crate) struct Authenticator {
    callers: Vec<Caller>,
    keys: HashMap<usize, Arc<Keys>>,
    audience: String,
    skew: Duration,
}

impl Authenticator {
    pub(crate) fn new(callers: Vec<Caller>, audience: &Url, skew: Duration) -> Self {
        let keys = callers
            .iter()
            .enumerate()
            .filter_map(|(i, c)| match &c.auth {
                CallerAuth::Okta {
                    issuer,
                    jwks_refresh,
                    ..
                } => Some((i, Arc::new(Keys::new(issuer, *jwks_refresh)))),
                CallerAuth::Bearer { .. } => None,
            })
            .collect();
        Self {
            callers,
            keys,
            audience: audience.as_str().to_owned(),
            skew,
        }
    }

    pub(crate) fn caller(&self, index: usize) -> &Caller {
        &self.callers[index]
    }

    /// Verifies the `Authorization` header's value. Nothing is read from the body.
    pub(crate) async fn verify(&self, authorization: Option<&str>) -> Result<Verified, Refusal> {
        let token = authorization
            .and_then(|h| {
                let (scheme, token) = h.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            })
            .filter(|t| !t.is_empty())
            .ok_or(Refusal::Missing)?;
        // A JWT has three dot-separated parts; a static token is matched as a whole.
        if token.split('.').count() == 3 && self.jwt_callers().next().is_some() {
            // A static token may contain dots too: it is still compared whole when the
            // token does not verify as a JWT.
            return match self.verify_jwt(token).await {
                Ok(verified) => Ok(verified),
                Err(refusal) => self.verify_static(token).map_err(|_| refusal),
            };
        }
        self.verify_static(token)
    }

    fn jwt_callers(&self) -> impl Iterator<Item = (usize, &Caller)> {
        self.callers
            .iter()
            .enumerate()
            .filter(|(_, c)| matches!(c.auth, CallerAuth::Okta { .. }))
    }

    fn verify_static(&self, token: &str) -> Result<Verified, Refusal> {
        let mut matched = None;
        for (i, caller) in self.callers.iter().enumerate() {
            if let CallerAuth::Bearer { token: expected } = &caller.auth {
                if same_secret(token, expected) {
                    matched = Some(i);
                }
            }
        }
        matched
            .map(|caller| Verified {
                caller,
                replay: None,
            })
            .ok_or(Refusal::WrongToken)
    }

    async fn verify_jwt(&self, token: &str) -> Result<Verified, Refusal> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| Refusal::Malformed)?;
        if !header
            .typ
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case(GTR_JWT_TYPE))
        {
            return Err(Refusal::Type);
        }
        // The issuer is only known from the (unverified) claims; it picks which
        // configured caller's keys to try, nothing more.
        let unverified_iss = unverified_issuer(token).ok_or(Refusal::Malformed)?;
        // Several applications of one org: the one whose client id is the token's sub.
        let unverified_sub = unverified_claim(token, "sub");
        let same_issuer = |c: &Caller| {
            matches!(&c.auth, CallerAuth::Okta { issuer, .. }
                if issuer.trim_end_matches('/') == unverified_iss.trim_end_matches('/'))
        };
        let (index, caller) = self
            .jwt_callers()
            .find(|(_, c)| {
                same_issuer(c)
                    && matches!(&c.auth, CallerAuth::Okta { client_id, .. }
                        if Some(client_id.as_str()) == unverified_sub.as_deref())
            })
            .or_else(|| self.jwt_callers().find(|(_, c)| same_issuer(c)))
            .ok_or(Refusal::Issuer)?;
        let CallerAuth::Okta {
            issuer,
            client_id,
            algorithms,
            ..
        } = &caller.auth
        else {
            return Err(Refusal::Issuer);
        };
        if !algorithms.contains(&header.alg) {
            return Err(Refusal::Algorithm);
        }
        let keys = self.keys.get(&index).ok_or(Refusal::KeysUnavailable)?;
        let candidates = keys.candidates(header.kid.as_deref(), header.alg).await?;
        let mut validation = Validation::new(header.alg);
        validation.algorithms = vec![header.alg];
        validation.leeway = self.skew.as_secs();
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.set_issuer(&[issuer.as_str()]);
        validation.set_audience(&[self.audience.as_str()]);
        validation.sub = Some(client_id.clone());
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let mut last = Refusal::Signature;
        for jwk in candidates {
            let Ok(key) = DecodingKey::from_jwk(&jwk) else {
                continue;
            };
            match jsonwebtoken::decode::<Claims>(token, &key, &validation) {
                Ok(data) => return self.check_claims(index, issuer, data.claims),
                Err(e) => {
                    use jsonwebtoken::errors::ErrorKind as Jwt;
                    last = match e.kind() {
                        Jwt::InvalidSignature | Jwt::InvalidAlgorithm | Jwt::InvalidKeyFormat => {
                            Refusal::Signature
                        }
                        Jwt::ExpiredSignature => return Err(Refusal::Expired),
                        Jwt::ImmatureSignature => return Err(Refusal::NotYetValid),
                        Jwt::InvalidIssuer => return Err(Refusal::Issuer),
                        Jwt::InvalidAudience => return Err(Refusal::Audience),
                        Jwt::InvalidSubject => return Err(Refusal::Subject),
                        Jwt::MissingRequiredClaim(claim) => {
                            return Err(match claim.as_str() {
                                "aud" => Refusal::Audience,
                                "iss" => Refusal::Issuer,
                                "sub" => Refusal::Subject,
                                _ => Refusal::Malformed,
                            });
                        }
                        _ => Refusal::Malformed,
                    };
                }
            }
        }
        Err(last)
    }

    fn check_claims(
        &self,
        caller: usize,
        issuer: &str,
        claims: Claims,
    ) -> Result<Verified, Refusal> {
        let now = chrono::Utc::now().timestamp();
        let skew = self.skew.as_secs() as i64;
        let iat = claims.iat.ok_or(Refusal::Malformed)?;
        if iat > now + skew {
            return Err(Refusal::IssuedInFuture);
        }
        if claims.exp - iat > MAX_LIFETIME || claims.exp > now + MAX_LIFETIME + skew {
            return Err(Refusal::TooLong);
        }
        let jti = claims
            .jti
            .filter(|j| !j.is_empty() && j.len() <= 256)
            .ok_or(Refusal::NoTokenId)?;
        Ok(Verified {
            caller,
            // jsonwebtoken accepts the token through the whole second exp + skew.
            replay: Some((issuer.to_owned(), jti, (claims.exp + skew + 1) * 1000)),
        })
    }
}

/// The client for an issuer's or transmitter's own endpoints: no redirect is
/// followed (keys and tokens never leave the configured origin), bounded in time.
pub(crate) fn http_client(timeout: Duration) -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .build()
        .unwrap_or_default()
}

/// Whether `given` is the secret, compared as SHA-256 digests in constant time:
/// neither the length nor the first differing byte shows in the timing.
pub(crate) fn same_secret(given: &str, expected: &SecretString) -> bool {
    let given = Sha256::digest(given.as_bytes());
    bool::from(given.ct_eq(&Sha256::digest(expected.expose_secret().as_bytes())))
}

/// The `iss` claim, read without verifying anything (to choose the caller).
pub(crate) fn unverified_issuer(token: &str) -> Option<String> {
    unverified_claim(token, "iss")
}

/// A string claim, read without verifying anything (only to choose which configured
/// caller, and so which keys, to verify with).
fn unverified_claim(token: &str, name: &str) -> Option<String> {
    use base64::Engine;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    claims.get(name)?.as_str().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Caller, CallerAuth};
    use secrecy::SecretString;

    fn callers(token: &str) -> Vec<Caller> {
        vec![
            Caller {
                name: "okta".to_owned(),
                auth: CallerAuth::Okta {
                    issuer: "https://example.okta.com".to_owned(),
                    client_id: "0oa1".to_owned(),
                    algorithms: vec![jsonwebtoken::Algorithm::RS256],
                    allow_insecure_http: false,
                    jwks_refresh: Duration::from_secs(10),
                },
                domains: Default::default(),
            },
            Caller {
                name: "hr".to_owned(),
                auth: CallerAuth::Bearer {
                    token: SecretString::from(token.to_owned()),
                },
                domains: Default::default(),
            },
        ]
    }

    #[tokio::test]
    async fn a_static_token_with_dots_is_still_a_static_token() {
        let token = "abc.def0123456789abcdef.0123456789abcdef";
        let endpoint = url::Url::parse("https://u.example/gtr").unwrap();
        let auth = Authenticator::new(callers(token), &endpoint, Duration::from_secs(60));
        let verified = auth.verify(Some(&format!("Bearer {token}"))).await.unwrap();
        assert_eq!(auth.caller(verified.caller).name, "hr");
        // A near miss is refused, as a JWT that does not verify.
        let wrong = auth
            .verify(Some("Bearer abc.def0123456789abcdef.0123456789abcdeX"))
            .await;
        assert!(wrong.is_err());
        assert_eq!(auth.verify(None).await.unwrap_err(), Refusal::Missing);
        assert_eq!(
            auth.verify(Some("Basic abc")).await.unwrap_err(),
            Refusal::Missing
        );
    }
}
