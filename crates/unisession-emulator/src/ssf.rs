//! A Shared Signals Framework transmitter, for the receiver in `unisession serve`.
//!
//! What it claims about transmitters, with where it is written (OpenID SSF 1.0 final,
//! openid/sharedsignals `openid-sharedsignals-framework-1_0.md`; RFC 8935, RFC 8936;
//! the CAEP interoperability profile):
//!
//! - Discovery at `{issuer}/.well-known/ssf-configuration` (the issuer here has no
//!   path) names `issuer`, `jwks_uri`, `delivery_methods_supported`,
//!   `configuration_endpoint`, `status_endpoint`, `verification_endpoint` and
//!   `authorization_schemes` with OAuth 2.0 (SSF §7.1; the profile requires each).
//! - Management calls carry an OAuth access token from the client credentials grant
//!   (the profile's scopes `ssf.manage` and `ssf.read`); without one, 401.
//! - Streams: `POST` creates (201 with the configuration, `stream_id`, `iss`, `aud`,
//!   `events_supported`, `events_delivered`; 409 when the client has one already, as
//!   transmitters that allow one stream per receiver answer), `GET ?stream_id=` reads
//!   (no id: the list), `PATCH` updates the receiver-supplied fields, `DELETE` removes
//!   (204). Status `GET`/`POST` with `enabled`, `paused`, `disabled`. `POST` to the
//!   verification endpoint answers 204 and then sends a verification SET whose
//!   `sub_id` is `{"format":"opaque","id":stream_id}` and which carries the `state`.
//! - Push (RFC 8935): `POST` the compact SET with `Content-Type:
//!   application/secevent+jwt` and the stream's `authorization_header`. Poll (RFC
//!   8936): the receiver `POST`s `{"ack":[…],"setErrs":{…},"maxEvents":N,
//!   "returnImmediately":true}` to the stream's transmitter-supplied `endpoint_url`;
//!   the answer is `{"sets":{jti:SET},"moreAvailable":bool}`; a SET not acknowledged is
//!   sent again.
//! - SETs are signed RS256 with a 2048-bit key (the profile), header `typ:
//!   secevent+jwt`, and carry `iss`, `jti`, `iat`, `aud`, `sub_id`, `events` and no
//!   `sub` or `exp` (SSF §4.1).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use jsonwebtoken::{Algorithm, Header};
use serde_json::{Value, json};

use crate::common::{Running, serve};
use crate::universal_logout::SigningKey;

/// The SET `typ`.
pub const SET_TYPE: &str = "secevent+jwt";
/// Push delivery (RFC 8935).
pub const PUSH: &str = "urn:ietf:rfc:8935";
/// Poll delivery (RFC 8936).
pub const POLL: &str = "urn:ietf:rfc:8936";
/// The verification event type.
pub const VERIFICATION: &str = "https://schemas.openid.net/secevent/ssf/event-type/verification";
/// CAEP session revoked.
pub const SESSION_REVOKED: &str =
    "https://schemas.openid.net/secevent/caep/event-type/session-revoked";
/// CAEP credential change.
pub const CREDENTIAL_CHANGE: &str =
    "https://schemas.openid.net/secevent/caep/event-type/credential-change";

/// The client credentials the receiver manages its stream with.
pub const CLIENT_ID: &str = "unisession-receiver";
/// The client secret.
pub const CLIENT_SECRET: &str = "ssf-client-secret-0123456789abcdef";

#[derive(Debug, Clone)]
struct Stream {
    config: Value,
    status: String,
    /// SETs waiting for a poll, by `jti`, oldest first.
    pending: Vec<(String, String)>,
}

struct Shared {
    issuer: String,
    key: Mutex<SigningKey>,
    token: String,
    streams: Mutex<BTreeMap<String, Stream>>,
    acked: Mutex<Vec<String>>,
    set_errs: Mutex<Vec<Value>>,
    jwks_fetches: AtomicUsize,
    polls: AtomicUsize,
    /// Polls answered 503 (the acknowledgements in them lost) while set.
    failing_polls: std::sync::atomic::AtomicBool,
    /// Once a poll delivered a SET, later polls fail (see `fail_polls_after_delivery`).
    fail_after_delivery: std::sync::atomic::AtomicBool,
    http: reqwest::Client,
}

/// A transmitter on loopback.
pub struct SsfTransmitter {
    _running: Running,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for SsfTransmitter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SsfTransmitter")
            .field("issuer", &self.shared.issuer)
            .finish_non_exhaustive()
    }
}

/// Management and polls need the access token the token endpoint issued.
async fn require_token(
    State(shared): State<Arc<Shared>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if authorized(&shared, request.headers()) {
        next.run(request).await
    } else {
        unauthorized()
    }
}

fn authorized(shared: &Shared, headers: &HeaderMap) -> bool {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bearer {}", shared.token))
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({"error": "invalid_token"})),
    )
        .into_response()
}

async fn discovery(State(shared): State<Arc<Shared>>) -> Json<Value> {
    let issuer = &shared.issuer;
    Json(json!({
        "spec_version": "1_0",
        "issuer": issuer,
        "jwks_uri": format!("{issuer}/jwks"),
        "delivery_methods_supported": [PUSH, POLL],
        "configuration_endpoint": format!("{issuer}/ssf/stream"),
        "status_endpoint": format!("{issuer}/ssf/status"),
        "verification_endpoint": format!("{issuer}/ssf/verify"),
        "authorization_schemes": [{"spec_urn": "urn:ietf:rfc:6749"}],
        "default_subjects": "ALL",
    }))
}

async fn jwks(State(shared): State<Arc<Shared>>) -> Json<Value> {
    shared.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    let key = shared.key.lock().expect("key lock").jwk().clone();
    Json(json!({"keys": [key]}))
}

async fn token(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: String) -> Response {
    use base64::Engine;
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    );
    let by_header = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == basic);
    let by_body = body.contains(&format!("client_id={CLIENT_ID}"))
        && body.contains(&format!("client_secret={CLIENT_SECRET}"));
    if !body.contains("grant_type=client_credentials") {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "unsupported_grant_type"})),
        )
            .into_response();
    }
    if !(by_header || by_body) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "invalid_client"})),
        )
            .into_response();
    }
    Json(json!({"access_token": shared.token, "token_type": "Bearer", "expires_in": 3600, "scope": "ssf.manage ssf.read"})).into_response()
}

fn supported() -> Value {
    json!([
        SESSION_REVOKED,
        CREDENTIAL_CHANGE,
        "https://schemas.openid.net/secevent/risc/event-type/account-disabled",
        "https://schemas.openid.net/secevent/risc/event-type/account-purged",
        "https://schemas.openid.net/secevent/risc/event-type/credential-compromise",
        "https://schemas.openid.net/secevent/risc/event-type/sessions-revoked",
    ])
}

fn delivered(requested: &Value) -> Value {
    let supported = supported();
    let supported = supported.as_array().expect("an array");
    Value::Array(
        requested
            .as_array()
            .map(|r| {
                r.iter()
                    .filter(|e| supported.contains(e))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default(),
    )
}

#[derive(serde::Deserialize)]
struct StreamQuery {
    stream_id: Option<String>,
}

async fn create_stream(State(shared): State<Arc<Shared>>, Json(body): Json<Value>) -> Response {
    let mut streams = shared.streams.lock().expect("streams lock");
    if !streams.is_empty() {
        return (
            StatusCode::CONFLICT,
            Json(json!({"error": "a stream exists for this receiver"})),
        )
            .into_response();
    }
    let id = format!("{:016x}", fastrand::u64(..));
    let mut delivery = body
        .get("delivery")
        .cloned()
        .unwrap_or_else(|| json!({"method": POLL}));
    if delivery["method"] == POLL {
        delivery["endpoint_url"] = json!(format!("{}/ssf/poll/{id}", shared.issuer));
    }
    let requested = body
        .get("events_requested")
        .cloned()
        .unwrap_or_else(|| json!([]));
    let config = json!({
        "stream_id": id,
        "iss": shared.issuer,
        "aud": format!("{}/receivers/{CLIENT_ID}", shared.issuer),
        "delivery": delivery,
        "events_supported": supported(),
        "events_requested": requested,
        "events_delivered": delivered(&requested),
        "description": body.get("description").cloned().unwrap_or(Value::Null),
        "min_verification_interval": 0,
    });
    streams.insert(
        id,
        Stream {
            config: config.clone(),
            status: "enabled".into(),
            pending: Vec::new(),
        },
    );
    (StatusCode::CREATED, Json(config)).into_response()
}

async fn read_stream(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<StreamQuery>,
) -> Response {
    let streams = shared.streams.lock().expect("streams lock");
    match query.stream_id {
        None => Json(Value::Array(
            streams.values().map(|s| s.config.clone()).collect(),
        ))
        .into_response(),
        Some(id) => match streams.get(&id) {
            Some(s) => Json(s.config.clone()).into_response(),
            None => StatusCode::NOT_FOUND.into_response(),
        },
    }
}

async fn update_stream(State(shared): State<Arc<Shared>>, Json(body): Json<Value>) -> Response {
    let Some(id) = body.get("stream_id").and_then(Value::as_str) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let mut streams = shared.streams.lock().expect("streams lock");
    let Some(stream) = streams.get_mut(id) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    for key in ["delivery", "events_requested", "description"] {
        if let Some(value) = body.get(key) {
            let mut value = value.clone();
            if key == "delivery" && value["method"] == POLL {
                value["endpoint_url"] = json!(format!("{}/ssf/poll/{id}", shared.issuer));
            }
            stream.config[key] = value;
        }
    }
    let requested = stream.config["events_requested"].clone();
    stream.config["events_delivered"] = delivered(&requested);
    Json(stream.config.clone()).into_response()
}

async fn delete_stream(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<StreamQuery>,
) -> Response {
    let Some(id) = query.stream_id else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    match shared.streams.lock().expect("streams lock").remove(&id) {
        Some(_) => StatusCode::NO_CONTENT.into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn get_status(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<StreamQuery>,
) -> Response {
    let streams = shared.streams.lock().expect("streams lock");
    match query
        .stream_id
        .and_then(|id| streams.get(&id).map(|s| (id, s.status.clone())))
    {
        Some((id, status)) => Json(json!({"stream_id": id, "status": status})).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn set_status(State(shared): State<Arc<Shared>>, Json(body): Json<Value>) -> Response {
    let id = body["stream_id"].as_str().unwrap_or_default().to_owned();
    let status = body["status"].as_str().unwrap_or_default().to_owned();
    if !["enabled", "paused", "disabled"].contains(&status.as_str()) {
        return StatusCode::BAD_REQUEST.into_response();
    }
    let mut streams = shared.streams.lock().expect("streams lock");
    match streams.get_mut(&id) {
        Some(stream) => {
            stream.status = status.clone();
            Json(json!({"stream_id": id, "status": status})).into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn verify(State(shared): State<Arc<Shared>>, Json(body): Json<Value>) -> Response {
    let id = body["stream_id"].as_str().unwrap_or_default().to_owned();
    let config = match shared.streams.lock().expect("streams lock").get(&id) {
        Some(stream) => stream.config.clone(),
        None => return StatusCode::NOT_FOUND.into_response(),
    };
    let mut event = json!({});
    if let Some(state) = body.get("state") {
        event["state"] = state.clone();
    }
    let claims = json!({
        "iss": shared.issuer,
        "jti": format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..)),
        "iat": chrono::Utc::now().timestamp(),
        "aud": config["aud"],
        "sub_id": {"format": "opaque", "id": id},
        "events": {VERIFICATION: event},
    });
    let set = sign(&shared, &claims);
    deliver(shared.clone(), &id, set);
    StatusCode::NO_CONTENT.into_response()
}

async fn poll(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    shared.polls.fetch_add(1, Ordering::SeqCst);
    if shared.failing_polls.load(Ordering::SeqCst) {
        return (StatusCode::SERVICE_UNAVAILABLE, "try again").into_response();
    }
    let mut streams = shared.streams.lock().expect("streams lock");
    let Some(stream) = streams.get_mut(&id) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mut acked: Vec<String> = body["ack"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|j| j.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    if let Some(errs) = body["setErrs"].as_object() {
        for (jti, err) in errs {
            shared
                .set_errs
                .lock()
                .expect("errs lock")
                .push(json!({"jti": jti, "err": err}));
            acked.push(jti.clone());
        }
    }
    stream.pending.retain(|(jti, _)| !acked.contains(jti));
    shared.acked.lock().expect("acked lock").extend(acked);
    let max = body["maxEvents"].as_u64().unwrap_or(100) as usize;
    let sets: serde_json::Map<String, Value> = stream
        .pending
        .iter()
        .take(max)
        .map(|(jti, set)| (jti.clone(), json!(set)))
        .collect();
    let more = stream.pending.len() > sets.len();
    if !sets.is_empty() && shared.fail_after_delivery.swap(false, Ordering::SeqCst) {
        shared.failing_polls.store(true, Ordering::SeqCst);
    }
    Json(json!({"sets": sets, "moreAvailable": more})).into_response()
}

fn sign(shared: &Shared, claims: &Value) -> String {
    let key = shared.key.lock().expect("key lock").clone();
    let mut header = Header::new(Algorithm::RS256);
    header.typ = Some(SET_TYPE.to_owned());
    header.kid = Some(key.kid().to_owned());
    key.sign(&header, claims)
}

/// Sends `set` on stream `id`: pushed (in the background) or queued for a poll.
fn deliver(shared: Arc<Shared>, id: &str, set: String) {
    let (config, jti) = {
        let mut streams = shared.streams.lock().expect("streams lock");
        let Some(stream) = streams.get_mut(id) else {
            return;
        };
        let jti = jti_of(&set).unwrap_or_default();
        if stream.config["delivery"]["method"] == POLL {
            stream.pending.push((jti, set));
            return;
        }
        (stream.config.clone(), jti)
    };
    let _ = jti;
    let endpoint = config["delivery"]["endpoint_url"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let authorization = config["delivery"]["authorization_header"]
        .as_str()
        .map(str::to_owned);
    tokio::spawn(async move {
        let mut request = shared
            .http
            .post(endpoint)
            .header("content-type", "application/secevent+jwt")
            .header("accept", "application/json")
            .body(set);
        if let Some(authorization) = authorization {
            request = request.header("authorization", authorization);
        }
        let _ = request.send().await;
    });
}

fn jti_of(set: &str) -> Option<String> {
    use base64::Engine;
    let payload = set.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    serde_json::from_slice::<Value>(&bytes).ok()?["jti"]
        .as_str()
        .map(str::to_owned)
}

impl SsfTransmitter {
    /// Starts a transmitter on a free loopback port with a fresh RSA key.
    pub async fn start() -> std::io::Result<Self> {
        let listener =
            std::net::TcpListener::bind(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0))?;
        let addr = listener.local_addr()?;
        drop(listener);
        let key = tokio::task::spawn_blocking(|| {
            SigningKey::generate(format!("ssf{}", fastrand::u32(..)))
        })
        .await
        .map_err(std::io::Error::other)?;
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(std::io::Error::other)?;
        let shared = Arc::new(Shared {
            issuer: format!("http://{addr}"),
            key: Mutex::new(key),
            token: format!("at-{:016x}", fastrand::u64(..)),
            streams: Mutex::new(BTreeMap::new()),
            acked: Mutex::new(Vec::new()),
            set_errs: Mutex::new(Vec::new()),
            jwks_fetches: AtomicUsize::new(0),
            polls: AtomicUsize::new(0),
            failing_polls: std::sync::atomic::AtomicBool::new(false),
            fail_after_delivery: std::sync::atomic::AtomicBool::new(false),
            http,
        });
        let managed = Router::new()
            .route(
                "/ssf/stream",
                post(create_stream)
                    .get(read_stream)
                    .patch(update_stream)
                    .delete(delete_stream),
            )
            .route("/ssf/status", get(get_status).post(set_status))
            .route("/ssf/verify", post(verify))
            .route("/ssf/poll/{id}", post(poll))
            .route_layer(axum::middleware::from_fn_with_state(
                shared.clone(),
                require_token,
            ));
        let router = Router::new()
            .route("/.well-known/ssf-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .route("/oauth2/token", post(token))
            .merge(managed)
            .with_state(shared.clone());
        let running = serve(router, addr).await?;
        Ok(Self {
            _running: running,
            shared,
        })
    }

    /// The issuer URL.
    pub fn issuer(&self) -> &str {
        &self.shared.issuer
    }

    /// The OAuth token endpoint management calls get their access token from.
    pub fn token_url(&self) -> String {
        format!("{}/oauth2/token", self.shared.issuer)
    }

    /// The signing key.
    pub fn key(&self) -> SigningKey {
        self.shared.key.lock().expect("key lock").clone()
    }

    /// How many times the JWKS was fetched.
    pub fn jwks_fetches(&self) -> usize {
        self.shared.jwks_fetches.load(Ordering::SeqCst)
    }

    /// How many polls arrived.
    pub fn polls(&self) -> usize {
        self.shared.polls.load(Ordering::SeqCst)
    }

    /// The streams' configurations.
    pub fn streams(&self) -> Vec<Value> {
        self.shared
            .streams
            .lock()
            .expect("streams lock")
            .values()
            .map(|s| s.config.clone())
            .collect()
    }

    /// A stream's status.
    pub fn status(&self, id: &str) -> Option<String> {
        self.shared
            .streams
            .lock()
            .expect("streams lock")
            .get(id)
            .map(|s| s.status.clone())
    }

    /// Every `jti` a poll acknowledged, in order.
    pub fn acked(&self) -> Vec<String> {
        self.shared.acked.lock().expect("acked lock").clone()
    }

    /// The `setErrs` polls reported.
    pub fn set_errs(&self) -> Vec<Value> {
        self.shared.set_errs.lock().expect("errs lock").clone()
    }

    /// While `fail` holds, polls are answered 503 and what they acknowledge is lost:
    /// the receiver has polled, stored, and not yet acknowledged, as if it died there.
    pub fn fail_polls(&self, fail: bool) {
        self.shared.failing_polls.store(fail, Ordering::SeqCst);
    }

    /// The next poll that delivers a SET succeeds, and every poll after it fails
    /// (until [`fail_polls`](Self::fail_polls)`(false)`): the receiver got the SETs and
    /// can never acknowledge them.
    pub fn fail_polls_after_delivery(&self) {
        self.shared
            .fail_after_delivery
            .store(true, Ordering::SeqCst);
    }

    /// SETs waiting for a poll on stream `id`.
    pub fn pending(&self, id: &str) -> usize {
        self.shared
            .streams
            .lock()
            .expect("streams lock")
            .get(id)
            .map_or(0, |s| s.pending.len())
    }

    /// The claims of an event for `aud`: `iss`, a fresh `jti`, `iat` now, the subject
    /// as `sub_id`, one event.
    pub fn claims(&self, aud: &str, event_type: &str, event: Value, sub_id: Value) -> Value {
        json!({
            "iss": self.shared.issuer,
            "jti": format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..)),
            "iat": chrono::Utc::now().timestamp(),
            "aud": aud,
            "sub_id": sub_id,
            "events": {event_type: event},
        })
    }

    /// Signs `claims` as a SET (RS256, `typ: secevent+jwt`, the key's `kid`).
    pub fn sign(&self, claims: &Value) -> String {
        sign(&self.shared, claims)
    }

    /// Sends a signed SET on stream `id` as its delivery method says.
    pub fn emit(&self, id: &str, set: String) {
        deliver(self.shared.clone(), id, set);
    }

    /// Pushes `body` to `endpoint` with `Content-Type: application/secevent+jwt` and,
    /// when given, `Authorization: {authorization}`; returns the status and the body.
    pub async fn push(
        &self,
        endpoint: &str,
        authorization: Option<&str>,
        body: &str,
    ) -> std::io::Result<(u16, Value)> {
        let mut request = self
            .shared
            .http
            .post(endpoint)
            .header("content-type", "application/secevent+jwt")
            .header("accept", "application/json")
            .body(body.to_owned());
        if let Some(authorization) = authorization {
            request = request.header("authorization", authorization);
        }
        let response = request.send().await.map_err(std::io::Error::other)?;
        let status = response.status().as_u16();
        let text = response.text().await.map_err(std::io::Error::other)?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
    }
}
