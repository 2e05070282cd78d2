//! Okta's side of Universal Logout: the caller of a Global Token Revocation endpoint.
//!
//! What it claims about Okta, with where it is written:
//!
//! - Okta calls the application's endpoint with `Authorization: Bearer {JWT}`, a JWT
//!   whose header is `{"typ":"global-token-revocation+jwt","alg":…}` and whose claims
//!   are `jti`, `iss` (the org's base URL, the issuer of its ID tokens), `sub` (the
//!   application's OIDC `client_id`), `aud` (the endpoint URL, without query or
//!   fragment), `iat` = now, `nbf` = now − 5 min and `exp` = now + 5 min
//!   (okta/okta-developer-docs, `guides/oin-universal-logout-overview/index.md`, the
//!   "Authentication" and "Request" parts).
//! - The token is signed with the key that signs the org's ID tokens; the org
//!   authorization server's discovery document is at `{iss}/.well-known/openid-configuration`
//!   and names `jwks_uri` = `{iss}/oauth2/v1/keys` (`docs/concepts/auth-servers/index.md`).
//!   Okta rotates those keys without notice, so a `kid` not seen before means "fetch
//!   the keys again" ([`UniversalLogoutCaller::rotate`]).
//! - The body is `{"sub_id":{"format":"email","email":…}}` by default, or the
//!   `iss_sub` format for applications provisioned by Okta (same page, "Request body").
//!
//! The keys are RSA 2048 keys generated when the caller starts: nothing signed by it
//! verifies anywhere else.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::{EncodePublicKey, LineEnding};
use rsa::traits::PublicKeyParts;
use serde_json::{Value, json};

use crate::common::{Running, serve};

/// The `typ` of the JWT Okta signs for a Global Token Revocation request.
pub const GTR_JWT_TYPE: &str = "global-token-revocation+jwt";

/// One RSA signing key and its public half as a JWK.
#[derive(Clone)]
pub struct SigningKey {
    kid: String,
    encoding: EncodingKey,
    jwk: Value,
    public_pem: String,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A new RSA 2048 key with the id `kid`.
    ///
    /// # Panics
    ///
    /// If the operating system's random source fails.
    pub fn generate(kid: impl Into<String>) -> Self {
        let kid = kid.into();
        let private =
            rsa::PrivateKey::new(&mut rand::rng(), 2048).expect("an RSA key can be generated");
        let der = private
            .to_pkcs1_der()
            .expect("a generated RSA key encodes as PKCS#1");
        let public = private.to_public_key();
        let jwk = json!({
            "kty": "RSA",
            "alg": "RS256",
            "use": "sig",
            "kid": kid,
            "n": URL_SAFE_NO_PAD.encode(public.n_bytes()),
            "e": URL_SAFE_NO_PAD.encode(public.e_bytes()),
        });
        let public_pem = public
            .to_public_key_pem(LineEnding::LF)
            .expect("a generated RSA key encodes as SPKI");
        Self {
            encoding: EncodingKey::from_rsa_der(der.as_bytes()),
            kid,
            jwk,
            public_pem,
        }
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as a JWK.
    pub fn jwk(&self) -> &Value {
        &self.jwk
    }

    /// The public key in PEM (SPKI): what an attacker who read the JWKS holds.
    pub fn public_pem(&self) -> &str {
        &self.public_pem
    }

    /// Signs `claims` with `header` (its `alg` must be an RSA one).
    ///
    /// # Panics
    ///
    /// If `header.alg` is not an RSA algorithm.
    pub fn sign(&self, header: &Header, claims: &Value) -> String {
        jsonwebtoken::encode(header, claims, &self.encoding).expect("an RSA key signs RS*")
    }
}

struct Shared {
    issuer: String,
    published: Mutex<Vec<SigningKey>>,
    jwks_fetches: AtomicUsize,
    discovery_fetches: AtomicUsize,
}

/// A fake Okta org on loopback that serves its discovery document and JWKS and signs
/// Global Token Revocation requests as Okta does.
pub struct UniversalLogoutCaller {
    _running: Running,
    shared: Arc<Shared>,
    client_id: String,
    http: reqwest::Client,
}

impl std::fmt::Debug for UniversalLogoutCaller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UniversalLogoutCaller")
            .field("issuer", &self.shared.issuer)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

async fn discovery(State(shared): State<Arc<Shared>>) -> axum::Json<Value> {
    shared.discovery_fetches.fetch_add(1, Ordering::SeqCst);
    axum::Json(json!({
        "issuer": shared.issuer,
        "authorization_endpoint": format!("{}/oauth2/v1/authorize", shared.issuer),
        "token_endpoint": format!("{}/oauth2/v1/token", shared.issuer),
        "jwks_uri": format!("{}/oauth2/v1/keys", shared.issuer),
        "response_types_supported": ["code", "id_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    }))
}

async fn keys(State(shared): State<Arc<Shared>>) -> axum::Json<Value> {
    shared.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    let keys: Vec<Value> = shared
        .published
        .lock()
        .expect("keys lock")
        .iter()
        .map(|k| k.jwk.clone())
        .collect();
    axum::Json(json!({ "keys": keys }))
}

impl UniversalLogoutCaller {
    /// Starts the org on a free loopback port with one fresh signing key; `client_id`
    /// is the application's id in it (the `sub` of every token).
    pub async fn start(client_id: impl Into<String>) -> std::io::Result<Self> {
        let listener =
            std::net::TcpListener::bind(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0))?;
        let addr = listener.local_addr()?;
        drop(listener);
        let issuer = format!("http://{addr}");
        let first = tokio::task::spawn_blocking(|| SigningKey::generate(new_kid()))
            .await
            .map_err(std::io::Error::other)?;
        let shared = Arc::new(Shared {
            issuer,
            published: Mutex::new(vec![first]),
            jwks_fetches: AtomicUsize::new(0),
            discovery_fetches: AtomicUsize::new(0),
        });
        let router = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/oauth2/v1/keys", get(keys))
            .with_state(shared.clone());
        let running = serve(router, addr).await?;
        Ok(Self {
            _running: running,
            shared,
            client_id: client_id.into(),
            http: http_client()?,
        })
    }

    /// The org's issuer URL (`http://127.0.0.1:PORT`).
    pub fn issuer(&self) -> &str {
        &self.shared.issuer
    }

    /// The application's client id: the `sub` of every token.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// How many times the JWKS was fetched.
    pub fn jwks_fetches(&self) -> usize {
        self.shared.jwks_fetches.load(Ordering::SeqCst)
    }

    /// How many times the discovery document was fetched.
    pub fn discovery_fetches(&self) -> usize {
        self.shared.discovery_fetches.load(Ordering::SeqCst)
    }

    /// The key tokens are signed with now.
    pub fn current_key(&self) -> SigningKey {
        self.shared
            .published
            .lock()
            .expect("keys lock")
            .last()
            .cloned()
            .expect("one key at least")
    }

    /// Rotates the signing key as Okta does: a new key with a new `kid` is published
    /// beside the old one and signs from now on. Returns the new `kid`.
    pub fn rotate(&self) -> String {
        let key = SigningKey::generate(new_kid());
        let kid = key.kid.clone();
        self.shared.published.lock().expect("keys lock").push(key);
        kid
    }

    /// The claims Okta puts in the token for the endpoint at `audience`, now.
    pub fn claims(&self, audience: &str) -> Value {
        let now = chrono::Utc::now().timestamp();
        json!({
            "jti": uuid_like(),
            "iss": self.shared.issuer,
            "sub": self.client_id,
            "aud": audience,
            "iat": now,
            "nbf": now - 300,
            "exp": now + 300,
        })
    }

    /// The header Okta puts on the token, with the current key's `kid`.
    pub fn header(&self) -> Header {
        let mut header = Header::new(Algorithm::RS256);
        header.typ = Some(GTR_JWT_TYPE.to_owned());
        header.kid = Some(self.current_key().kid);
        header
    }

    /// A token exactly as Okta would sign it for the endpoint at `audience`.
    pub fn token(&self, audience: &str) -> String {
        self.current_key()
            .sign(&self.header(), &self.claims(audience))
    }

    /// Sends a Global Token Revocation request for `email` to `endpoint`, signed as
    /// Okta signs it; returns the status.
    pub async fn revoke_email(&self, endpoint: &str, email: &str) -> std::io::Result<u16> {
        let body = json!({"sub_id": {"format": "email", "email": email}});
        self.send(endpoint, &self.token(endpoint), body.to_string().as_bytes())
            .await
    }

    /// Sends `body` to `endpoint` with `Authorization: Bearer {token}` and
    /// `Content-Type: application/json`; returns the status.
    pub async fn send(&self, endpoint: &str, token: &str, body: &[u8]) -> std::io::Result<u16> {
        let response = self
            .http
            .post(endpoint)
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body.to_vec())
            .send()
            .await
            .map_err(std::io::Error::other)?;
        Ok(response.status().as_u16())
    }
}

/// A client that follows no redirect (it posts to loopback only).
fn http_client() -> std::io::Result<reqwest::Client> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(std::io::Error::other)
}

fn new_kid() -> String {
    format!("k{}", fastrand::u64(..))
}

fn uuid_like() -> String {
    format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..))
}
