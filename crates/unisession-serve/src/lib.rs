//! `unisession serve`: the Global Token Revocation endpoint an identity provider calls
//! (Okta Universal Logout), on a durable queue whose jobs offboard the person through
//! a [`Fleet`].
//!
//! A request is authenticated first (Okta's signed JWT or a static bearer token), then
//! its body is read (at most [`ServeConfig::body_limit`] bytes) and checked, the person
//! is found, and a job is stored; `204 No Content` is answered only once the job is
//! committed to the queue. Workers claim jobs under a lease, run each provider's part
//! (identity providers first), record every part under the lease, and finish the job
//! with the fleet's report, or retry the parts that may still succeed with backoff.
//!
//! | status | when |
//! |---|---|
//! | 204 | the job is stored: logging out has begun |
//! | 400 | the body is not a revocation request, or names an unsupported subject format |
//! | 401 | no credential, or one that does not verify (signature, `typ`, `iss`, `aud`, `sub`, time, a `jti` seen before) |
//! | 403 | the caller may not log out this person (outside its `domains`) |
//! | 404 | an `iss_sub` or `opaque` subject nobody is mapped to |
//! | 413 | the body is larger than allowed |
//! | 422 | the person is on the `never_revoke` list |
//! | 503 | the queue cannot store the job (nothing was accepted) |
//!
//! ```no_run
//! # async fn demo(config: unisession_serve::ServeConfig, fleet: unisession::fleet::Fleet) -> Result<(), unisession_serve::ServeError> {
//! let running = unisession_serve::Server::new(config, fleet).start().await?;
//! println!("listening on {}", running.addr());
//! running.shutdown().await?;
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

mod auth;
mod config;
mod gtr;
mod metrics;
mod receiver;
mod ssf;
mod store;
mod worker;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use secrecy::ExposeSecret;
use serde::Deserialize;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use unisession::fleet::Fleet;

pub use auth::GTR_JWT_TYPE;
pub use config::{
    Action, Caller, CallerAuth, Database, Delivery, Management, ServeConfig, Transmitter,
};
pub use store::{JobView, StreamRecord};

use auth::Authenticator;
use metrics::{CallerLabel, JobLabels, Metrics};
use store::{NewJob, Store, StoreError, now_ms};

/// Why the server cannot start or stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The queue cannot be opened.
    #[error("the job queue: {0}")]
    Database(String),
    /// The address cannot be listened on.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// The HTTP server failed.
    #[error("the HTTP server: {0}")]
    Http(std::io::Error),
    /// The configuration names something the fleet does not have.
    #[error("{0}")]
    Config(String),
}

/// The server, before it starts.
pub struct Server {
    config: ServeConfig,
    fleet: Arc<Fleet>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("config", &self.config)
            .field("fleet", &self.fleet)
            .finish()
    }
}

/// A started server.
#[derive(Debug)]
pub struct Running {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    http: JoinHandle<std::io::Result<()>>,
    workers: Vec<JoinHandle<()>>,
    store: Store,
    _observation: unisession_http::Observation,
}

pub(crate) struct App {
    config: ServeConfig,
    auth: Authenticator,
    store: Store,
    metrics: Arc<Metrics>,
    wake: Arc<Notify>,
    receivers: Vec<Arc<receiver::Receiver>>,
    /// The fleet's provider names.
    providers: Vec<String>,
}

impl App {
    /// Counts and logs an accepted SET, and wakes a worker for a job.
    pub(crate) fn note_accepted(&self, transmitter: &str, accepted: &receiver::Accepted) {
        self.metrics
            .accepted
            .get_or_create(&CallerLabel {
                caller: transmitter.to_owned(),
            })
            .inc();
        tracing::info!(transmitter, outcome = ?accepted, "security event accepted");
        receiver::wake(&self.wake, accepted);
    }
}

impl Server {
    /// A server offboarding through `fleet` (every provider of it).
    pub fn new(config: ServeConfig, fleet: Fleet) -> Self {
        Self {
            config,
            fleet: Arc::new(fleet),
        }
    }

    /// Opens the queue, starts the workers and listens. Returns once the address is
    /// bound.
    pub async fn start(self) -> Result<Running, ServeError> {
        for t in &self.config.transmitters {
            for (event, action) in &t.actions {
                if let Action::Providers(names) = action {
                    if let Some(unknown) = names
                        .iter()
                        .find(|n| !self.fleet.names().any(|f| f == n.as_str()))
                    {
                        let short = ssf::EVENTS
                            .iter()
                            .find(|(_, uri)| uri == event)
                            .map_or(event.as_str(), |(s, _)| s);
                        return Err(ServeError::Config(format!(
                            "serve.transmitters.{}.events.{short}: no provider named {unknown:?}; configured: {}",
                            t.name,
                            self.fleet.names().collect::<Vec<_>>().join(", ")
                        )));
                    }
                }
            }
        }
        let store = Store::open(&self.config.database)
            .await
            .map_err(|e| ServeError::Database(redact(&e.to_string(), &self.config.database)))?;
        let listener = tokio::net::TcpListener::bind(self.config.listen)
            .await
            .map_err(|source| ServeError::Listen {
                addr: self.config.listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(ServeError::Http)?;
        let metrics = Metrics::new();
        // Every provider call of the process, for as long as the server runs.
        let observation =
            unisession_http::observe_calls(Arc::new(metrics::Observer(metrics.clone())));
        let wake = Arc::new(Notify::new());
        let (stop, stopped) = watch::channel(false);
        let runner = Arc::new(worker::Runner {
            store: store.clone(),
            fleet: self.fleet.clone(),
            metrics: metrics.clone(),
            wake: wake.clone(),
            lease: self.config.lease,
            poll: self.config.poll,
            max_attempts: self.config.max_attempts,
            retry_after: self.config.retry_after,
            grace: self.config.lease.min(Duration::from_secs(20)),
        });
        let workers = (0..self.config.workers)
            .map(|_| tokio::spawn(runner.clone().work(stopped.clone())))
            .collect();
        // Forget token ids whose tokens expired, now and then.
        {
            let store = store.clone();
            let mut stopped = stopped.clone();
            tokio::spawn(async move {
                loop {
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(300)) => {}
                        _ = stopped.wait_for(|s| *s) => return,
                    }
                    if let Err(e) = store.prune_replay().await {
                        tracing::warn!(error = %e, "cannot prune the replay cache");
                    }
                }
            });
        }
        let path = self.config.endpoint_url.path().to_owned();
        let receivers: Vec<Arc<receiver::Receiver>> = self
            .config
            .transmitters
            .iter()
            .map(|t| Arc::new(receiver::Receiver::new(t.clone(), self.config.clock_skew)))
            .collect();
        let providers: Vec<String> = self.fleet.names().map(str::to_owned).collect();
        let app = Arc::new(App {
            receivers,
            providers,
            auth: Authenticator::new(
                self.config.callers.clone(),
                &self.config.endpoint_url,
                self.config.clock_skew,
            ),
            config: self.config,
            store: store.clone(),
            metrics,
            wake,
        });
        let mut router = Router::new();
        if !app.config.callers.is_empty() {
            router = router.route(&path, post(revoke));
        }
        for (index, r) in app.receivers.iter().enumerate() {
            if let config::Delivery::Push { url, .. } = &r.transmitter.delivery {
                router = router.route(
                    url.path(),
                    post(
                        move |state: State<Arc<App>>, headers: HeaderMap, body: Body| {
                            push(state, index, headers, body)
                        },
                    ),
                );
            }
        }
        // Streams are created or updated, and polled, in the background.
        for r in &app.receivers {
            if r.transmitter.management.is_some() {
                let (r, store) = (r.clone(), app.store.clone());
                tokio::spawn(async move {
                    match r.sync(&store).await {
                        Ok(stream) => {
                            tracing::info!(transmitter = %r.transmitter.name, stream = %stream.stream_id, status = ?stream.status, "stream ready; verification asked")
                        }
                        Err(e) => {
                            tracing::warn!(transmitter = %r.transmitter.name, error = %e, "cannot set up the stream")
                        }
                    }
                });
            }
            if matches!(r.transmitter.delivery, config::Delivery::Poll { .. }) {
                tokio::spawn(r.clone().poll_loop(app.clone(), stopped.clone()));
            }
        }
        let router = router
            .route("/jobs", get(jobs_of))
            .route("/jobs/{id}", get(job))
            .route("/streams", get(streams))
            .route("/healthz", get(healthz))
            .route("/metrics", get(metrics_text))
            .with_state(app);
        let mut http_stopped = stopped.clone();
        let http = tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = http_stopped.wait_for(|s| *s).await;
                })
                .await
        });
        tracing::info!(%addr, endpoint = %path, "serving");
        Ok(Running {
            addr,
            stop,
            http,
            workers,
            store,
            _observation: observation,
        })
    }
}

impl Running {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops: no new request is accepted, running jobs finish within their grace
    /// period or go back to the queue, then the queue is closed.
    pub async fn shutdown(self) -> Result<(), ServeError> {
        let _ = self.stop.send(true);
        let http = self.http.await;
        for worker in self.workers {
            let _ = worker.await;
        }
        self.store.close().await;
        match http {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(ServeError::Http(e)),
            Err(e) => Err(ServeError::Http(std::io::Error::other(e))),
        }
    }
}

/// The database URL never appears in an error (it can hold a password).
fn redact(message: &str, database: &Database) -> String {
    match database {
        Database::Postgres(url) => message.replace(url.expose_secret(), "<database url>"),
        Database::Sqlite(_) => message.to_owned(),
    }
}

fn refuse(app: &App, status: StatusCode, reason: &str, description: &str) -> Response {
    app.metrics.reject(reason);
    tracing::info!(
        status = status.as_u16(),
        reason,
        "revocation request refused"
    );
    let mut response = (
        status,
        axum::Json(serde_json::json!({"error": reason, "error_description": description})),
    )
        .into_response();
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer error=\"invalid_token\""),
        );
    }
    response
}

/// `POST {endpoint}`: a Global Token Revocation request.
async fn revoke(State(app): State<Arc<App>>, headers: HeaderMap, body: Body) -> Response {
    let received_at_ms = now_ms();
    app.metrics.received.inc();
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    // 1. Who is calling, before a byte of the body is read.
    let verified = match app.auth.verify(authorization).await {
        Ok(verified) => verified,
        // The issuer's keys cannot be fetched: not the caller's fault, and never to be
        // taken for a verdict on the token.
        Err(auth::Refusal::KeysUnavailable) => {
            return refuse(
                &app,
                StatusCode::SERVICE_UNAVAILABLE,
                "keys_unavailable",
                "the issuer's signing keys cannot be fetched now",
            );
        }
        Err(refusal) => {
            return refuse(
                &app,
                StatusCode::UNAUTHORIZED,
                refusal.reason(),
                "the request is not authenticated",
            );
        }
    };
    if let Some((iss, jti, _)) = &verified.replay {
        match app.store.seen(iss, jti).await {
            Ok(false) => {}
            Ok(true) => {
                return refuse(
                    &app,
                    StatusCode::UNAUTHORIZED,
                    "replayed",
                    "this token was used before",
                );
            }
            Err(e) => {
                tracing::error!(error = %e, "the queue cannot be read");
                return refuse(
                    &app,
                    StatusCode::SERVICE_UNAVAILABLE,
                    "queue_unavailable",
                    "try again later",
                );
            }
        }
    }
    let caller = app.auth.caller(verified.caller);
    // 2. The body: JSON, bounded.
    let json_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !json_type {
        return refuse(
            &app,
            StatusCode::BAD_REQUEST,
            "malformed_request",
            "the body must be application/json",
        );
    }
    let body = match axum::body::to_bytes(body, app.config.body_limit).await {
        Ok(body) => body,
        Err(_) => {
            return refuse(
                &app,
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                "the body is larger than allowed",
            );
        }
    };
    let subject = match gtr::parse(&body) {
        Ok(subject) => subject,
        Err(e) => return refuse(&app, StatusCode::BAD_REQUEST, "malformed_request", &e.0),
    };
    // 3. Who the person is.
    let Some(email) = gtr::email_of(&subject, &app.config.subjects, &caller.name) else {
        return refuse(
            &app,
            StatusCode::NOT_FOUND,
            "unknown_subject",
            "no person is known by this subject",
        );
    };
    if !caller.domains.is_empty() {
        let domain = email.rsplit('@').next().unwrap_or_default();
        if !caller.domains.contains(domain) {
            return refuse(
                &app,
                StatusCode::FORBIDDEN,
                "outside_caller_domains",
                "this caller may not log out this person",
            );
        }
    }
    if app.config.never_revoke.contains(&email) {
        return refuse(
            &app,
            StatusCode::UNPROCESSABLE_ENTITY,
            "never_revoke",
            "this person is never logged out by a trigger",
        );
    }
    // 4. The job, stored before the answer.
    let id = format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..));
    let replay = verified
        .replay
        .as_ref()
        .map(|(iss, jti, exp)| (iss.as_str(), jti.as_str(), *exp));
    let job = NewJob {
        id: &id,
        subject: &email,
        caller: &caller.name,
        format: subject.format(),
        received_at_ms,
        replay,
        providers: None,
        txn: None,
    };
    match app.store.enqueue(&job).await {
        Ok(()) => {}
        Err(StoreError::Replayed) => {
            return refuse(
                &app,
                StatusCode::UNAUTHORIZED,
                "replayed",
                "this token was used before",
            );
        }
        Err(StoreError::Database(e)) => {
            tracing::error!(error = %e, "the job cannot be stored");
            return refuse(
                &app,
                StatusCode::SERVICE_UNAVAILABLE,
                "queue_unavailable",
                "the job could not be stored; nothing was accepted",
            );
        }
    }
    app.wake.notify_one();
    app.metrics
        .accepted
        .get_or_create(&CallerLabel {
            caller: caller.name.clone(),
        })
        .inc();
    tracing::info!(job = %id, caller = %caller.name, format = subject.format(), subject = %email, "revocation accepted");
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("unisession-job", value);
    }
    response
}

fn api_allowed(app: &App, headers: &HeaderMap) -> bool {
    let Some(expected) = &app.config.api_token else {
        return false;
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|h| h.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim().to_owned())
        .unwrap_or_default();
    auth::same_secret(&given, expected)
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer")],
        axum::Json(serde_json::json!({"error": "unauthorized", "error_description": "send the api token as a bearer token"})),
    )
        .into_response()
}

/// `GET /jobs/{id}`.
async fn job(State(app): State<Arc<App>>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if !api_allowed(&app, &headers) {
        return unauthorized();
    }
    match app.store.job(&id).await {
        Ok(Some(job)) => axum::Json(job).into_response(),
        Ok(None) => (
            StatusCode::NOT_FOUND,
            axum::Json(serde_json::json!({"error": "no such job"})),
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "the queue cannot be read");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

#[derive(Deserialize)]
struct JobsQuery {
    subject: Option<String>,
}

/// `GET /jobs?subject=EMAIL`.
async fn jobs_of(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(query): Query<JobsQuery>,
) -> Response {
    if !api_allowed(&app, &headers) {
        return unauthorized();
    }
    let Some(subject) = query.subject.as_deref().and_then(config::canonical_email) else {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(serde_json::json!({"error": "subject must be an e-mail address: /jobs?subject=ann@example.com"})),
        )
            .into_response();
    };
    let events = app.store.events_of(&subject).await;
    match (app.store.jobs_of(&subject).await, events) {
        (Ok(jobs), Ok(events)) => {
            axum::Json(serde_json::json!({"jobs": jobs, "events": events})).into_response()
        }
        (Err(e), _) | (_, Err(e)) => {
            tracing::error!(error = %e, "the queue cannot be read");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

fn set_error(app: &App, status: StatusCode, code: &str, description: &str) -> Response {
    app.metrics.reject(&format!("set_{code}"));
    tracing::info!(
        status = status.as_u16(),
        err = code,
        "security event refused"
    );
    (
        status,
        [(header::CONTENT_LANGUAGE, "en")],
        axum::Json(serde_json::json!({"err": code, "description": description})),
    )
        .into_response()
}

/// `POST {push_url}`: a Security Event Token pushed by a transmitter (RFC 8935).
async fn push(
    State(app): State<Arc<App>>,
    index: usize,
    headers: HeaderMap,
    body: Body,
) -> Response {
    app.metrics.received.inc();
    let receiver = app.receivers[index].clone();
    let config::Delivery::Push { authorization, .. } = &receiver.transmitter.delivery else {
        return StatusCode::NOT_FOUND.into_response();
    };
    // The registered Authorization value first: no signature work for strangers.
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !auth::same_secret(given, authorization) {
        return set_error(
            &app,
            StatusCode::UNAUTHORIZED,
            "authentication_failed",
            "the Authorization header is not the one registered for this stream",
        );
    }
    let typed = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(receiver::SET_MEDIA_TYPE));
    if !typed {
        return set_error(
            &app,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the body must be application/secevent+jwt",
        );
    }
    let Ok(body) = axum::body::to_bytes(body, receiver::MAX_SET).await else {
        return set_error(
            &app,
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request",
            "the SET is larger than 64 KiB",
        );
    };
    let Ok(token) = std::str::from_utf8(&body) else {
        return set_error(
            &app,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the SET is not text",
        );
    };
    let set = match receiver.verify(token, &app.store).await {
        Ok(set) => set,
        Err(receiver::Rejected::Set(e)) => {
            return set_error(&app, StatusCode::BAD_REQUEST, e.code(), &e.description());
        }
        Err(receiver::Rejected::Store(e)) => {
            tracing::error!(error = %e, "the queue cannot be read");
            return (StatusCode::SERVICE_UNAVAILABLE, "try again later").into_response();
        }
        // The transmitter's keys cannot be fetched: not a verdict on the SET.
        Err(receiver::Rejected::Unavailable(why)) => {
            app.metrics.reject("set_keys_unavailable");
            tracing::warn!(why = %why, "a pushed SET cannot be checked now");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "the transmitter's keys cannot be fetched; send it again",
            )
                .into_response();
        }
    };
    match receiver
        .accept(&set, &app.config, &app.store, &app.providers)
        .await
    {
        Ok(accepted) => {
            app.note_accepted(&receiver.transmitter.name, &accepted);
            StatusCode::ACCEPTED.into_response()
        }
        Err(receiver::Rejected::Set(e)) => {
            set_error(&app, StatusCode::BAD_REQUEST, e.code(), &e.description())
        }
        Err(receiver::Rejected::Store(e)) => {
            tracing::error!(error = %e, "a pushed SET cannot be stored");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "the event could not be stored; send it again",
            )
                .into_response()
        }
        Err(receiver::Rejected::Unavailable(why)) => {
            tracing::warn!(why = %why, "a pushed SET cannot be handled now");
            (StatusCode::SERVICE_UNAVAILABLE, "send it again").into_response()
        }
    }
}

/// One job as the queue holds it (for `unisession serve evidence`), read without
/// starting a server.
pub async fn read_job(config: &ServeConfig, id: &str) -> Result<Option<JobView>, ServeError> {
    let store = Store::open(&config.database)
        .await
        .map_err(|e| ServeError::Database(redact(&e.to_string(), &config.database)))?;
    let job = store
        .job(id)
        .await
        .map_err(|e| ServeError::Database(redact(&e.to_string(), &config.database)));
    store.close().await;
    job
}

/// Creates or updates the stream of every managed transmitter, reads its status and
/// asks for a verification event (`unisession serve streams`); the transmitters
/// without management are listed as recorded.
pub async fn sync_streams(
    config: &ServeConfig,
) -> Result<Vec<(String, Result<Option<StreamRecord>, String>)>, ServeError> {
    let store = Store::open(&config.database)
        .await
        .map_err(|e| ServeError::Database(redact(&e.to_string(), &config.database)))?;
    let mut out = Vec::new();
    for t in &config.transmitters {
        let r = receiver::Receiver::new(t.clone(), config.clock_skew);
        let result = if t.management.is_some() {
            r.sync(&store).await.map(Some)
        } else {
            store.stream(&t.name).await.map_err(|e| e.to_string())
        };
        out.push((t.name.clone(), result));
    }
    store.close().await;
    Ok(out)
}

/// `GET /streams`: each transmitter's stream as recorded (the api token).
async fn streams(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    if !api_allowed(&app, &headers) {
        return unauthorized();
    }
    let mut out = Vec::new();
    for r in &app.receivers {
        let t = &r.transmitter;
        match app.store.stream(&t.name).await {
            Ok(stream) => out.push(serde_json::json!({
                "transmitter": t.name,
                "issuer": t.issuer,
                "delivery": if matches!(t.delivery, config::Delivery::Push { .. }) { "push" } else { "poll" },
                "managed": t.management.is_some(),
                "stream": stream,
            })),
            Err(e) => {
                tracing::error!(error = %e, "the queue cannot be read");
                return StatusCode::SERVICE_UNAVAILABLE.into_response();
            }
        }
    }
    axum::Json(serde_json::json!({"streams": out})).into_response()
}

/// `GET /healthz`: 200 while the queue answers.
async fn healthz(State(app): State<Arc<App>>) -> Response {
    if app.store.ping().await {
        (StatusCode::OK, "ok\n").into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "the job queue does not answer\n",
        )
            .into_response()
    }
}

/// `GET /metrics`.
async fn metrics_text(State(app): State<Arc<App>>) -> Response {
    match app.store.counts().await {
        Ok(counts) => {
            app.metrics.jobs.clear();
            for (state, outcome, n) in counts {
                app.metrics
                    .jobs
                    .get_or_create(&JobLabels { state, outcome })
                    .set(n);
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot count the jobs"),
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        app.metrics.encode(),
    )
        .into_response()
}
