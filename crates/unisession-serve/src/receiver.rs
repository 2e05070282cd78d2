//! One transmitter's side of the receiver: SET verification against its keys, what
//! an event does, push delivery's answers, the poll loop, and stream management.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::{DecodingKey, Validation};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use tokio::sync::{Mutex, Notify, watch};

use crate::auth::{Keys, Refusal, read_json, unverified_issuer};
use crate::config::{Action, Delivery, ServeConfig, Transmitter};
use crate::ssf::{self, EventSubject, STREAM_UPDATED, Set, SetError, VERIFICATION};
use crate::store::{EventStored, NewEvent, NewJob, Store, StoreError, now_ms};

/// The SET media type.
pub(crate) const SET_MEDIA_TYPE: &str = "application/secevent+jwt";
/// The largest SET accepted.
pub(crate) const MAX_SET: usize = 64 * 1024;
const MAX_MANAGEMENT_BODY: usize = 256 * 1024;

/// What became of an accepted SET.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Accepted {
    /// A job was started or joined.
    Job(String),
    /// Recorded, nothing to run (the action, or why not).
    Recorded(&'static str),
    /// Seen before: nothing done again.
    Duplicate,
}

/// Why a SET was not accepted.
#[derive(Debug)]
pub(crate) enum Rejected {
    /// The SET is refused: its RFC 8935 code.
    Set(SetError),
    /// It could not be stored (temporary: neither acknowledged nor refused).
    Store(StoreError),
    /// It cannot be checked now (the transmitter's keys cannot be fetched):
    /// temporary, never reported as an error of the SET.
    Unavailable(String),
}

impl From<SetError> for Rejected {
    fn from(e: SetError) -> Self {
        Self::Set(e)
    }
}

impl From<StoreError> for Rejected {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

impl From<sqlx::Error> for Rejected {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(StoreError::Database(e))
    }
}

/// A cached OAuth access token.
struct Token {
    value: String,
    until: std::time::Instant,
}

/// One configured transmitter, ready to receive.
pub(crate) struct Receiver {
    pub transmitter: Transmitter,
    keys: Keys,
    skew: i64,
    http: reqwest::Client,
    token: Mutex<Option<Token>>,
}

impl Receiver {
    pub(crate) fn new(transmitter: Transmitter, skew: Duration) -> Self {
        let discovery = transmitter
            .discovery_url
            .as_ref()
            .map(|u| u.to_string())
            .or_else(|| ssf::discovery_url(&transmitter.issuer))
            .unwrap_or_default();
        Self {
            keys: Keys::with_discovery(&transmitter.issuer, discovery, transmitter.jwks_refresh)
                .pinned(transmitter.jwks_uri.as_ref().map(|u| u.to_string())),
            transmitter,
            skew: skew.as_secs() as i64,
            http: crate::auth::http_client(Duration::from_secs(10)),
            token: Mutex::new(None),
        }
    }

    /// The `aud` values accepted: the configured ones and the managed stream's.
    async fn audiences(&self, store: &Store) -> Result<Vec<String>, sqlx::Error> {
        let mut audiences = self.transmitter.audience.clone();
        if let Some(stream) = store.stream(&self.transmitter.name).await? {
            match &stream.config["aud"] {
                Value::String(aud) => audiences.push(aud.clone()),
                Value::Array(auds) => {
                    audiences.extend(auds.iter().filter_map(|a| a.as_str().map(str::to_owned)))
                }
                _ => {}
            }
        }
        Ok(audiences)
    }

    /// Verifies a compact SET: typed, signed by the transmitter, for us.
    pub(crate) async fn verify(&self, token: &str, store: &Store) -> Result<Set, Rejected> {
        let bad = |why: &str| SetError::InvalidRequest(why.to_owned());
        let token = token.trim();
        if token.split('.').count() != 3
            || !token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        {
            return Err(bad("the body is not a compact JWS").into());
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| {
            Rejected::Set(bad("the JWS header cannot be read, or names an algorithm that is never accepted (none)"))
        })?;
        let typ = header.typ.as_deref().map(str::to_ascii_lowercase);
        let typed = matches!(
            typ.as_deref(),
            Some("secevent+jwt" | "application/secevent+jwt")
        );
        let legacy = self.transmitter.legacy_typ && matches!(typ.as_deref(), None | Some("jwt"));
        if !typed && !legacy {
            return Err(bad("typ must be secevent+jwt").into());
        }
        if !self.transmitter.algorithms.contains(&header.alg) {
            return Err(SetError::InvalidKey(format!(
                "{:?} is not an accepted algorithm",
                header.alg
            ))
            .into());
        }
        let iss = unverified_issuer(token).ok_or_else(|| Rejected::Set(bad("iss is missing")))?;
        if iss.trim_end_matches('/') != self.transmitter.issuer.trim_end_matches('/') {
            return Err(SetError::InvalidIssuer.into());
        }
        let candidates = match self
            .keys
            .candidates(header.kid.as_deref(), header.alg)
            .await
        {
            Ok(candidates) => candidates,
            Err(Refusal::KeysUnavailable) => {
                return Err(Rejected::Unavailable(
                    "the transmitter's keys cannot be fetched".to_owned(),
                ));
            }
            Err(_) => {
                return Err(SetError::InvalidKey(
                    "no key of the transmitter has this kid".to_owned(),
                )
                .into());
            }
        };
        let mut validation = Validation::new(header.alg);
        validation.algorithms = vec![header.alg];
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.set_required_spec_claims(&["iss", "aud"]);
        validation.set_issuer(&[self.transmitter.issuer.as_str(), iss.as_str()]);
        let audiences = self.audiences(store).await?;
        validation.set_audience(&audiences);
        let mut last = SetError::InvalidKey("the signature does not verify".to_owned());
        for jwk in candidates {
            let Ok(key) = DecodingKey::from_jwk(&jwk) else {
                continue;
            };
            match jsonwebtoken::decode::<Value>(token, &key, &validation) {
                Ok(data) => {
                    return Ok(ssf::read_claims(
                        &data.claims,
                        chrono::Utc::now().timestamp(),
                        self.skew,
                    )?);
                }
                Err(e) => {
                    use jsonwebtoken::errors::ErrorKind as Jwt;
                    last = match e.kind() {
                        Jwt::InvalidSignature | Jwt::InvalidAlgorithm | Jwt::InvalidKeyFormat => {
                            SetError::InvalidKey("the signature does not verify".to_owned())
                        }
                        Jwt::InvalidIssuer => return Err(SetError::InvalidIssuer.into()),
                        Jwt::InvalidAudience => return Err(SetError::InvalidAudience.into()),
                        Jwt::MissingRequiredClaim(c) if c == "aud" => {
                            return Err(SetError::InvalidAudience.into());
                        }
                        _ => return Err(bad("the claims cannot be read").into()),
                    };
                }
            }
        }
        Err(last.into())
    }

    /// Acts on a verified SET: stored once, then a job, a record, or a stream update.
    pub(crate) async fn accept(
        &self,
        set: &Set,
        config: &ServeConfig,
        store: &Store,
        known_providers: &[String],
    ) -> Result<Accepted, Rejected> {
        let t = &self.transmitter;
        let record = |action: &'static str, subject: Option<String>| {
            let set = set.clone();
            let name = t.name.clone();
            async move {
                let event = NewEvent {
                    iss: &set.iss,
                    jti: &set.jti,
                    transmitter: &name,
                    event_type: &set.event_type,
                    subject: subject.as_deref(),
                    txn: set.txn.as_deref(),
                    action,
                    received_at_ms: now_ms(),
                };
                match store.record_event(&event, None).await? {
                    EventStored::Duplicate => Ok(Accepted::Duplicate),
                    EventStored::New(_) => Ok(Accepted::Recorded(action)),
                }
            }
        };
        if VERIFICATION.contains(&set.event_type.as_str()) || set.event_type == STREAM_UPDATED {
            let recorded = store.stream(&t.name).await?;
            let known = recorded
                .as_ref()
                .map(|s| s.stream_id.clone())
                .or_else(|| t.stream_id.clone());
            match (&set.subject, &known) {
                (EventSubject::Opaque(id), Some(known)) if id == known => {}
                // A transmitter that names no stream (Google's RISC verification) and
                // a receiver that knows none: nothing to tell apart.
                (EventSubject::Unknown(_), None) => {}
                (EventSubject::Opaque(_), _) => {
                    return Err(SetError::InvalidRequest("no such stream".to_owned()).into());
                }
                _ => {
                    return Err(SetError::InvalidRequest(
                        "a stream event names its stream as an opaque sub_id".to_owned(),
                    )
                    .into());
                }
            }
            // The stream's own record is written on a repeat too: an earlier try may
            // have stored the event and failed before it.
            if set.event_type == STREAM_UPDATED {
                let outcome = record("stream_updated", None).await?;
                if let Some(status) = set.event.get("status").and_then(Value::as_str) {
                    store.stream_status(&t.name, status).await?;
                }
                return Ok(outcome);
            }
            let state = set.event.get("state").and_then(Value::as_str);
            let asked = recorded.and_then(|s| s.verify_state);
            // Asked for here: the state must be ours, or none (unsolicited). Never
            // asked here (a stream set up outside unisession, verified through the
            // transmitter's own API): whatever state that was given.
            let ours = asked.is_some() || t.management.is_some();
            if ours && state.is_some() && state != asked.as_deref() {
                return Err(SetError::InvalidState.into());
            }
            let outcome = record("verification", None).await?;
            store.stream_verified(&t.name).await?;
            return Ok(outcome);
        }
        if !ssf::EVENTS.iter().any(|(_, uri)| *uri == set.event_type) {
            return record("ignored", None).await;
        }
        let Some(email) = ssf::email_of(&set.subject, &config.subjects, &t.name) else {
            if let EventSubject::Unknown(why) = &set.subject {
                tracing::info!(transmitter = %t.name, why = %why, "an event whose subject is not mapped");
            }
            return record("unknown_subject", None).await;
        };
        let domain = email.rsplit('@').next().unwrap_or_default().to_owned();
        if (!t.domains.is_empty() && !t.domains.contains(&domain))
            || config.never_revoke.contains(&email)
        {
            return record("refused", Some(email)).await;
        }
        let action = ssf::action_for(t, set);
        let providers = match action {
            None | Some(Action::Record) => return record("record", Some(email)).await,
            Some(action) => ssf::providers_of(action),
        };
        if let Some(providers) = &providers {
            if let Some(unknown) = providers.iter().find(|p| !known_providers.contains(p)) {
                tracing::warn!(transmitter = %t.name, provider = %unknown, "an event names a provider that is not configured");
            }
        }
        let id = format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..));
        let format = match &set.subject {
            EventSubject::Email(_) => "email",
            EventSubject::IssSub { .. } => "iss_sub",
            _ => "opaque",
        };
        let job = NewJob {
            id: &id,
            subject: &email,
            caller: &t.name,
            format,
            received_at_ms: now_ms(),
            replay: None,
            providers,
            txn: set.txn.as_deref(),
        };
        let event = NewEvent {
            iss: &set.iss,
            jti: &set.jti,
            transmitter: &t.name,
            event_type: &set.event_type,
            subject: Some(&email),
            txn: set.txn.as_deref(),
            action: "job",
            received_at_ms: job.received_at_ms,
        };
        match store.record_event(&event, Some(&job)).await? {
            EventStored::Duplicate => Ok(Accepted::Duplicate),
            EventStored::New(Some(job)) => Ok(Accepted::Job(job)),
            EventStored::New(None) => Ok(Accepted::Recorded("record")),
        }
    }

    /// An OAuth access token for management and polls (client credentials), cached.
    async fn access_token(&self) -> Result<Option<String>, String> {
        let Some(management) = &self.transmitter.management else {
            return Ok(None);
        };
        let mut cached = self.token.lock().await;
        if let Some(token) = cached
            .as_ref()
            .filter(|t| t.until > std::time::Instant::now())
        {
            return Ok(Some(token.value.clone()));
        }
        let scope = management.scopes.join(" ");
        let response = self
            .http
            .post(management.token_url.as_str())
            .basic_auth(
                &management.client_id,
                Some(management.client_secret.expose_secret()),
            )
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!(
                "grant_type=client_credentials&scope={}",
                percent(&scope)
            ))
            .send()
            .await
            .map_err(|e| format!("the token endpoint: {e}"))?;
        if !response.status().is_success() {
            return Err(format!("the token endpoint answered {}", response.status()));
        }
        let body: Value = read_json(response, "the token endpoint", MAX_MANAGEMENT_BODY).await?;
        let value = body["access_token"]
            .as_str()
            .ok_or("the token endpoint sent no access_token")?
            .to_owned();
        let lifetime = body["expires_in"].as_u64().unwrap_or(300).clamp(30, 86_400);
        *cached = Some(Token {
            value: value.clone(),
            until: std::time::Instant::now() + Duration::from_secs(lifetime.saturating_sub(15)),
        });
        Ok(Some(value))
    }

    async fn call(
        &self,
        method: reqwest::Method,
        url: &str,
        body: Option<&Value>,
    ) -> Result<(u16, Value), String> {
        let mut request = self
            .http
            .request(method.clone(), url)
            .header("accept", "application/json");
        if let Some(token) = self.access_token().await? {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let response = request
            .send()
            .await
            .map_err(|e| format!("{method} {url}: {e}"))?;
        let status = response.status().as_u16();
        if status == 204 {
            return Ok((status, Value::Null));
        }
        let body = read_json::<Value>(response, url, MAX_MANAGEMENT_BODY)
            .await
            .unwrap_or(Value::Null);
        Ok((status, body))
    }

    /// The transmitter's discovery document, checked: its `issuer` is the one
    /// configured and its endpoints are https (or loopback when allowed).
    async fn discovery(&self) -> Result<Value, String> {
        let url = match &self.transmitter.discovery_url {
            Some(url) => url.to_string(),
            None => {
                ssf::discovery_url(&self.transmitter.issuer).ok_or("the issuer is not a URL")?
            }
        };
        let (status, document) = self.call(reqwest::Method::GET, &url, None).await?;
        if status != 200 {
            return Err(format!("GET {url}: {status}"));
        }
        if document["issuer"].as_str().map(|i| i.trim_end_matches('/'))
            != Some(self.transmitter.issuer.trim_end_matches('/'))
        {
            return Err("the discovery document names another issuer; it is not used".to_owned());
        }
        for key in [
            "configuration_endpoint",
            "status_endpoint",
            "verification_endpoint",
        ] {
            if let Some(endpoint) = document[key].as_str() {
                let parsed = url::Url::parse(endpoint).map_err(|e| format!("{key}: {e}"))?;
                let allowed = parsed.scheme() == "https"
                    || (self.transmitter.allow_insecure_http
                        && unisession_http::is_loopback(&parsed));
                if !allowed {
                    return Err(format!("{key} is not https"));
                }
            }
        }
        Ok(document)
    }

    /// The stream configuration unisession asks for.
    fn desired(&self) -> Value {
        let events: Vec<&str> = ssf::EVENTS.iter().map(|(_, uri)| *uri).collect();
        let delivery = match &self.transmitter.delivery {
            Delivery::Push { url, authorization } => json!({
                "method": "urn:ietf:rfc:8935",
                "endpoint_url": url.as_str(),
                "authorization_header": authorization.expose_secret(),
            }),
            Delivery::Poll { .. } => json!({"method": "urn:ietf:rfc:8936"}),
        };
        json!({"delivery": delivery, "events_requested": events, "description": "unisession serve"})
    }

    /// Creates or updates the stream, reads its status, asks for a verification
    /// event, and records it all. Returns the stream as recorded.
    pub(crate) async fn sync(&self, store: &Store) -> Result<crate::store::StreamRecord, String> {
        let document = self.discovery().await?;
        let endpoint = document["configuration_endpoint"]
            .as_str()
            .ok_or("the transmitter has no configuration_endpoint")?
            .to_owned();
        let desired = self.desired();
        let (status, existing) = self.call(reqwest::Method::GET, &endpoint, None).await?;
        if status != 200 {
            return Err(format!("reading the streams: {status}"));
        }
        let ours = existing.as_array().and_then(|streams| {
            streams
                .iter()
                .find(|s| match &self.transmitter.delivery {
                    Delivery::Push { url, .. } => s["delivery"]["endpoint_url"] == url.as_str(),
                    Delivery::Poll { .. } => s["delivery"]["method"] == "urn:ietf:rfc:8936",
                })
                .or_else(|| (streams.len() == 1).then(|| &streams[0]))
                .cloned()
        });
        let stream = match ours {
            Some(stream) => {
                let mut patch = desired.clone();
                patch["stream_id"] = stream["stream_id"].clone();
                let (status, updated) = self
                    .call(reqwest::Method::PATCH, &endpoint, Some(&patch))
                    .await?;
                if status != 200 && status != 202 {
                    return Err(format!("updating the stream: {status}"));
                }
                if status == 202 { stream } else { updated }
            }
            None => {
                let (status, created) = self
                    .call(reqwest::Method::POST, &endpoint, Some(&desired))
                    .await?;
                if status != 201 && status != 200 {
                    return Err(format!("creating the stream: {status}"));
                }
                created
            }
        };
        if stream["iss"].as_str().map(|i| i.trim_end_matches('/'))
            != Some(self.transmitter.issuer.trim_end_matches('/'))
        {
            return Err("the stream names another issuer".to_owned());
        }
        let stream_id = stream["stream_id"]
            .as_str()
            .ok_or("the stream has no stream_id")?
            .to_owned();
        // The transmitter echoes the Authorization value it must send: a secret, never
        // recorded or shown.
        let mut stream = stream;
        if let Some(delivery) = stream.get_mut("delivery").and_then(Value::as_object_mut) {
            if delivery.remove("authorization_header").is_some() {
                delivery.insert("authorization_header".to_owned(), json!("<withheld>"));
            }
        }
        let mut status = None;
        if let Some(status_endpoint) = document["status_endpoint"].as_str() {
            let url = format!("{status_endpoint}?stream_id={}", percent(&stream_id));
            if let Ok((200, body)) = self.call(reqwest::Method::GET, &url, None).await {
                status = body["status"].as_str().map(str::to_owned);
            }
        }
        let state = format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..));
        store
            .save_stream(
                &self.transmitter.name,
                &stream_id,
                &stream,
                status.as_deref(),
                Some(&state),
            )
            .await
            .map_err(|e| format!("recording the stream: {e}"))?;
        if let Some(verify) = document["verification_endpoint"].as_str() {
            let (code, _) = self
                .call(
                    reqwest::Method::POST,
                    verify,
                    Some(&json!({"stream_id": stream_id, "state": state})),
                )
                .await?;
            if code != 204 && code != 200 {
                tracing::warn!(transmitter = %self.transmitter.name, status = code, "the transmitter refused a verification request");
            }
        }
        store
            .stream(&self.transmitter.name)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| "the stream was not recorded".to_owned())
    }

    /// Polls until `stop`: acknowledges only what is durably stored, reports the SETs
    /// that fail validation with their error code, and never acknowledges one the
    /// queue could not store (it comes again).
    pub(crate) async fn poll_loop(
        self: Arc<Self>,
        app: Arc<crate::App>,
        mut stop: watch::Receiver<bool>,
    ) {
        let Delivery::Poll { url, interval } = &self.transmitter.delivery else {
            return;
        };
        let mut ack: Vec<String> = Vec::new();
        let mut errs: BTreeMap<String, Value> = BTreeMap::new();
        loop {
            if *stop.borrow() {
                return;
            }
            let endpoint = match url {
                Some(url) => Some(url.to_string()),
                None => app
                    .store
                    .stream(&self.transmitter.name)
                    .await
                    .ok()
                    .flatten()
                    .and_then(|s| {
                        s.config["delivery"]["endpoint_url"]
                            .as_str()
                            .map(str::to_owned)
                    })
                    // The URL the transmitter gave gets our access token: https only
                    // (loopback when allowed).
                    .filter(|u| {
                        url::Url::parse(u).is_ok_and(|u| {
                            u.scheme() == "https"
                                || (self.transmitter.allow_insecure_http
                                    && unisession_http::is_loopback(&u))
                        })
                    }),
            };
            let mut more = false;
            if let Some(endpoint) = endpoint {
                let mut body = json!({"ack": ack, "maxEvents": 100, "returnImmediately": true});
                if !errs.is_empty() {
                    body["setErrs"] = json!(errs);
                }
                match self
                    .call(reqwest::Method::POST, &endpoint, Some(&body))
                    .await
                {
                    Ok((200, answer)) => {
                        ack.clear();
                        errs.clear();
                        more = answer["moreAvailable"].as_bool().unwrap_or(false);
                        let sets = answer["sets"].as_object().cloned().unwrap_or_default();
                        for (jti, set) in sets {
                            let Some(set) = set.as_str() else { continue };
                            app.metrics.received.inc();
                            let outcome = match self.verify(set, &app.store).await {
                                // The key it came under is what gets acknowledged.
                                Ok(valid) if valid.jti != jti => {
                                    Err(Rejected::Set(SetError::InvalidRequest(
                                        "the SET's jti is not the one it was sent under".to_owned(),
                                    )))
                                }
                                Ok(valid) => {
                                    self.accept(&valid, &app.config, &app.store, &app.providers)
                                        .await
                                }
                                Err(e) => Err(e),
                            };
                            match outcome {
                                Ok(accepted) => {
                                    app.note_accepted(&self.transmitter.name, &accepted);
                                    ack.push(jti);
                                }
                                Err(Rejected::Set(e)) => {
                                    app.metrics.reject(&format!("set_{}", e.code()));
                                    errs.insert(
                                        jti,
                                        json!({"err": e.code(), "description": e.description()}),
                                    );
                                }
                                // Temporary: neither acknowledged nor refused; it comes again.
                                Err(Rejected::Store(e)) => {
                                    tracing::error!(error = %e, "a polled SET cannot be stored; it is not acknowledged");
                                }
                                Err(Rejected::Unavailable(why)) => {
                                    tracing::warn!(why = %why, "a polled SET cannot be checked now; it is not acknowledged");
                                }
                            }
                        }
                    }
                    Ok((status, _)) => {
                        tracing::warn!(transmitter = %self.transmitter.name, status, "the poll was refused")
                    }
                    Err(e) => {
                        tracing::warn!(transmitter = %self.transmitter.name, error = %e, "cannot poll")
                    }
                }
            }
            if !more || !ack.is_empty() || !errs.is_empty() {
                // Acknowledge at once when there is something to acknowledge.
                let wait = if ack.is_empty() && errs.is_empty() {
                    *interval
                } else {
                    Duration::from_millis(1)
                };
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = stop.wait_for(|s| *s) => return,
                }
            }
        }
    }
}

fn percent(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// Wakes the workers when a job was stored.
pub(crate) fn wake(notify: &Notify, accepted: &Accepted) {
    if matches!(accepted, Accepted::Job(_)) {
        notify.notify_one();
    }
}
