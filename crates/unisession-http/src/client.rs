//! [`HttpClient`]: one shared reqwest client per provider instance, with the URL
//! policy, retries, pacing and concurrency cap applied to every request.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::{Bytes, BytesMut};
use http::header::{AUTHORIZATION, CONTENT_TYPE, HeaderName, HeaderValue};
use http::{HeaderMap, Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tracing::Instrument;
use unisession_core::{Error, ErrorKind, Result};
use url::Url;

use crate::pacing::{Pacer, Rate};
use crate::retry::{RetryConfig, server_wait};
use crate::url_policy::{join_segments, same_origin, validate_base_url};

/// Decides whether an answer is a rate limit, beyond HTTP 429 (e.g. Rocket.Chat's
/// old 400 `error-too-many-requests`). Arguments: status, headers, body.
pub type RateLimitDetector = Arc<dyn Fn(StatusCode, &HeaderMap, &[u8]) -> bool + Send + Sync>;

/// Why a request is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RetryReason {
    /// A rate limit (429, or flagged by the detector).
    RateLimited,
    /// A 408 or 5xx answer.
    Status(u16),
    /// The connection could not be established.
    Connect,
    /// The attempt timed out.
    Timeout,
    /// The connection broke during the exchange.
    Broken,
}

/// One retry, as reported to a [`RetryHook`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RetryEvent<'a> {
    /// The provider instance.
    pub provider: &'a str,
    /// The HTTP method.
    pub method: &'a Method,
    /// The route template (ids not filled in).
    pub route: &'static str,
    /// The retry number, from 1.
    pub retry: u32,
    /// Why.
    pub reason: RetryReason,
    /// How long the client waits before the retry.
    pub wait: Duration,
}

/// Observes retries, e.g. to write them into an audit trail.
pub trait RetryHook: Send + Sync + 'static {
    /// Called before each retry's wait.
    fn on_retry(&self, event: &RetryEvent<'_>);
}

impl<F: Fn(&RetryEvent<'_>) + Send + Sync + 'static> RetryHook for F {
    fn on_retry(&self, event: &RetryEvent<'_>) {
        self(event)
    }
}

/// Builds an [`HttpClient`]; `build` validates everything before any request.
#[must_use]
pub struct HttpClientBuilder {
    base_url: String,
    provider: String,
    allow_http: bool,
    connect_timeout: Duration,
    request_timeout: Duration,
    total_timeout: Duration,
    retry: RetryConfig,
    rates: Vec<(String, Rate)>,
    max_concurrency: usize,
    user_agent: String,
    retry_hook: Option<Arc<dyn RetryHook>>,
    rate_limit_detector: Option<RateLimitDetector>,
    max_body_bytes: usize,
    follow_rate_limit_headers: bool,
}

impl fmt::Debug for HttpClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClientBuilder")
            .field("base_url", &self.base_url)
            .field("provider", &self.provider)
            .field("allow_http", &self.allow_http)
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("total_timeout", &self.total_timeout)
            .field("retry", &self.retry)
            .field("rates", &self.rates)
            .field("max_concurrency", &self.max_concurrency)
            .finish_non_exhaustive()
    }
}

impl HttpClientBuilder {
    fn new(base_url: String) -> Self {
        Self {
            base_url,
            provider: "http".to_owned(),
            allow_http: false,
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            total_timeout: Duration::from_secs(180),
            retry: RetryConfig::default(),
            rates: Vec::new(),
            max_concurrency: 16,
            user_agent: concat!("unisession/", env!("CARGO_PKG_VERSION")).to_owned(),
            retry_hook: None,
            rate_limit_detector: None,
            max_body_bytes: 32 * 1024 * 1024,
            follow_rate_limit_headers: false,
        }
    }

    /// The provider instance name used in errors and traces.
    pub fn provider(mut self, name: impl Into<String>) -> Self {
        self.provider = name.into();
        self
    }

    /// Allows `http://` to non-loopback hosts. Credentials then travel in clear text.
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_http = allow;
        self
    }

    /// Time allowed to establish a connection (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Time allowed for one attempt, answer body included (default 30 s).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Time allowed for one call, all retries and waits included (default 180 s).
    pub fn total_timeout(mut self, timeout: Duration) -> Self {
        self.total_timeout = timeout;
        self
    }

    /// The retry policy.
    pub fn retry(mut self, retry: RetryConfig) -> Self {
        self.retry = retry;
        self
    }

    /// Paces requests of `class` at `rate`. Later calls for the same class win.
    pub fn pace(mut self, class: impl Into<String>, rate: Rate) -> Self {
        let class = class.into();
        self.rates.retain(|(c, _)| *c != class);
        self.rates.push((class, rate));
        self
    }

    /// The most requests in flight at once (default 16).
    pub fn max_concurrency(mut self, max: usize) -> Self {
        self.max_concurrency = max;
        self
    }

    /// The `User-Agent` header.
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Observes every retry.
    pub fn retry_hook(mut self, hook: impl RetryHook) -> Self {
        self.retry_hook = Some(Arc::new(hook));
        self
    }

    /// Flags answers other than 429 as rate limits.
    pub fn rate_limit_detector(
        mut self,
        detector: impl Fn(StatusCode, &HeaderMap, &[u8]) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.rate_limit_detector = Some(Arc::new(detector));
        self
    }

    /// Spends the budget the server announces: after an answer carrying
    /// `X-RateLimit-Remaining` and `X-RateLimit-Reset`, requests of the same route
    /// are counted against that budget, and once it is spent they wait for the reset
    /// instead of drawing a 429. Servers that exempt the caller send no such headers,
    /// and nothing waits.
    pub fn follow_rate_limit_headers(mut self, follow: bool) -> Self {
        self.follow_rate_limit_headers = follow;
        self
    }

    /// The largest answer body accepted (default 32 MiB).
    pub fn max_body_bytes(mut self, max: usize) -> Self {
        self.max_body_bytes = max;
        self
    }

    /// Validates the configuration and builds the client. Nothing is sent.
    pub fn build(self) -> Result<HttpClient> {
        let fail = |msg: String| {
            Error::new(ErrorKind::InvalidInput, msg).with_provider(self.provider.clone())
        };
        let base = validate_base_url(&self.base_url, self.allow_http)
            .map_err(|e| e.with_provider(self.provider.clone()))?;
        for (name, value) in [
            ("connect timeout", self.connect_timeout),
            ("request timeout", self.request_timeout),
            ("total timeout", self.total_timeout),
        ] {
            if value.is_zero() {
                return Err(fail(format!("the {name} must be greater than zero")));
            }
        }
        if self.total_timeout < self.request_timeout {
            return Err(fail(
                "the total timeout must be at least the request timeout".to_owned(),
            ));
        }
        if self.max_concurrency == 0 {
            return Err(fail("the concurrency cap must be at least 1".to_owned()));
        }
        let tls = tls_config();
        let origin = base.clone();
        let client = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .connect_timeout(self.connect_timeout)
            .user_agent(self.user_agent.clone())
            .referer(false)
            .redirect(reqwest::redirect::Policy::custom(move |attempt| {
                // Follow only redirects that stay on the configured origin; anything
                // else is returned as a 3xx and refused, so no credential leaves it.
                if attempt.previous().len() >= 5 {
                    attempt.error("too many redirects")
                } else if same_origin(attempt.url(), &origin) {
                    attempt.follow()
                } else {
                    attempt.stop()
                }
            }))
            .build()
            .map_err(|e| {
                Error::new(
                    ErrorKind::Transport,
                    format!("could not build the HTTP client: {e}"),
                )
                .with_provider(self.provider.clone())
            })?;
        Ok(HttpClient {
            inner: Arc::new(Inner {
                client,
                base,
                provider: self.provider,
                request_timeout: self.request_timeout,
                total_timeout: self.total_timeout,
                retry: self.retry,
                pacer: Pacer::new(self.rates),
                permits: Arc::new(Semaphore::new(self.max_concurrency)),
                retry_hook: self.retry_hook,
                rate_limit_detector: self.rate_limit_detector,
                max_body_bytes: self.max_body_bytes,
                budgets: self.follow_rate_limit_headers.then(Default::default),
            }),
        })
    }
}

/// The TLS configuration every client shares: the platform's verifier (its trust
/// store is read once per process, not once per provider) over ring. Where the
/// platform has no trust store, no server is trusted: `https` fails at the handshake
/// (a typed transport error naming the certificate), plain `http` to loopback (the
/// emulators) still works.
fn tls_config() -> rustls::ClientConfig {
    static CONFIG: std::sync::OnceLock<rustls::ClientConfig> = std::sync::OnceLock::new();
    CONFIG
        .get_or_init(|| {
            use rustls_platform_verifier::ConfigVerifierExt;
            ensure_crypto_provider();
            let mut config = rustls::ClientConfig::with_platform_verifier().unwrap_or_else(|e| {
                tracing::warn!(
                    error = %e,
                    "no trusted certificates on this machine: every https server will be refused"
                );
                rustls::ClientConfig::builder()
                    .with_root_certificates(rustls::RootCertStore::empty())
                    .with_no_client_auth()
            });
            // What reqwest offers for HTTP/1 on its own.
            config.alpn_protocols = vec![b"http/1.1".to_vec()];
            config
        })
        .clone()
}

/// reqwest is built without a bundled crypto provider; install ring's unless the
/// application already chose one.
fn ensure_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race against another installer is fine: a provider is then set.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

struct Inner {
    client: reqwest::Client,
    base: Url,
    provider: String,
    request_timeout: Duration,
    total_timeout: Duration,
    retry: RetryConfig,
    pacer: Pacer,
    permits: Arc<Semaphore>,
    retry_hook: Option<Arc<dyn RetryHook>>,
    rate_limit_detector: Option<RateLimitDetector>,
    max_body_bytes: usize,
    budgets: Option<std::sync::Mutex<std::collections::HashMap<(Method, &'static str), Budget>>>,
}

/// What the server said is left of a route's rate-limit window.
#[derive(Debug, Clone, Copy)]
struct Budget {
    remaining: u64,
    reset_at: Instant,
}

impl Inner {
    /// Waits while the announced budget of this route is spent, then takes one call from it.
    async fn spend_budget(&self, key: &(Method, &'static str)) {
        let Some(budgets) = &self.budgets else { return };
        loop {
            let wait = {
                let mut budgets = budgets.lock().expect("budget lock");
                let now = Instant::now();
                match budgets.get_mut(key) {
                    Some(budget) if now >= budget.reset_at => {
                        budgets.remove(key);
                        None
                    }
                    Some(budget) if budget.remaining == 0 => Some(budget.reset_at - now),
                    Some(budget) => {
                        budget.remaining -= 1;
                        None
                    }
                    None => None,
                }
            };
            match wait {
                Some(wait) => tokio::time::sleep(wait).await,
                None => return,
            }
        }
    }

    /// Records the budget an answer announces.
    fn note_budget(&self, key: &(Method, &'static str), headers: &HeaderMap) {
        let Some(budgets) = &self.budgets else { return };
        let remaining = headers
            .get("x-ratelimit-remaining")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let reset = headers
            .get("x-ratelimit-reset")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| crate::retry::parse_rate_limit_reset(v, SystemTime::now()));
        let (Some(remaining), Some(reset)) = (remaining, reset) else {
            return;
        };
        let reset_at = Instant::now() + reset;
        let mut budgets = budgets.lock().expect("budget lock");
        let entry = budgets.entry(key.clone()).or_insert(Budget {
            remaining,
            reset_at,
        });
        let same_window = entry.reset_at.max(reset_at) - entry.reset_at.min(reset_at)
            < Duration::from_millis(250);
        // Answers overtake each other: within one window the smallest count is the truest.
        *entry = if same_window {
            Budget {
                remaining: entry.remaining.min(remaining),
                reset_at: entry.reset_at.max(reset_at),
            }
        } else {
            Budget {
                remaining,
                reset_at,
            }
        };
    }
}

/// The transport of one provider instance. Cheap to clone; clones share the
/// connection pool, the pacing and the concurrency cap.
#[derive(Clone)]
pub struct HttpClient {
    inner: Arc<Inner>,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("provider", &self.inner.provider)
            .field("base_url", &self.inner.base.as_str())
            .field("retry", &self.inner.retry)
            .field("pacing", &self.inner.pacer)
            .finish_non_exhaustive()
    }
}

impl HttpClient {
    /// Starts a builder for a provider at `base_url`.
    pub fn builder(base_url: impl Into<String>) -> HttpClientBuilder {
        HttpClientBuilder::new(base_url.into())
    }

    /// The validated base URL (its path ends with `/`).
    pub fn base_url(&self) -> &Url {
        &self.inner.base
    }

    /// The provider instance name.
    pub fn provider(&self) -> &str {
        &self.inner.provider
    }

    /// The pacing limiters.
    pub fn pacer(&self) -> &Pacer {
        &self.inner.pacer
    }

    /// Starts a request. `route` is the path template below the base URL, e.g.
    /// `"api/2.0/security/activeconnections/logout/{loginEventId}"`; each `{…}` is
    /// filled in order by [`RequestBuilder::param`], encoded as exactly one segment.
    /// The template, never the filled-in path, appears in traces.
    pub fn request(&self, method: Method, route: &'static str) -> RequestBuilder {
        let idempotent = !matches!(method, Method::POST | Method::PATCH);
        RequestBuilder {
            client: self.clone(),
            method,
            route,
            params: Vec::new(),
            query: Vec::new(),
            headers: HeaderMap::new(),
            body: None,
            class: None,
            idempotent,
            error: None,
        }
    }

    fn error(&self, kind: ErrorKind, message: impl Into<String>) -> Error {
        Error::new(kind, message).with_provider(self.inner.provider.clone())
    }
}

/// One request being described. Nothing is sent until [`send`](Self::send).
#[must_use = "a request does nothing until sent"]
pub struct RequestBuilder {
    client: HttpClient,
    method: Method,
    route: &'static str,
    params: Vec<String>,
    query: Vec<(String, String)>,
    headers: HeaderMap,
    body: Option<(Bytes, &'static str)>,
    class: Option<&'static str>,
    idempotent: bool,
    error: Option<Error>,
}

impl fmt::Debug for RequestBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestBuilder")
            .field("method", &self.method)
            .field("route", &self.route)
            .field("class", &self.class)
            .finish_non_exhaustive()
    }
}

impl RequestBuilder {
    /// Fills the next `{…}` of the route with `value`, as one encoded path segment.
    pub fn param(mut self, value: impl Into<String>) -> Self {
        self.params.push(value.into());
        self
    }

    /// Adds a query parameter (encoded).
    pub fn query(mut self, name: &str, value: impl Into<String>) -> Self {
        self.query.push((name.to_owned(), value.into()));
        self
    }

    /// Adds a header. A value that is not a valid header (e.g. with CR/LF) fails the
    /// request with `InvalidInput` before anything is sent.
    pub fn header(mut self, name: &'static str, value: &str) -> Self {
        match HeaderValue::from_str(value) {
            Ok(value) => {
                self.headers.append(HeaderName::from_static(name), value);
            }
            Err(_) => self.fail(Error::invalid_input(format!(
                "the value of header {name} is not a valid header value"
            ))),
        }
        self
    }

    /// Adds a header whose value is secret: marked sensitive, never logged.
    pub fn secret_header(mut self, name: &'static str, value: &SecretString) -> Self {
        match HeaderValue::from_str(value.expose_secret()) {
            Ok(mut value) => {
                value.set_sensitive(true);
                self.headers.append(HeaderName::from_static(name), value);
            }
            Err(_) => self.fail(Error::invalid_input(format!(
                "the credential for header {name} contains characters a header cannot carry"
            ))),
        }
        self
    }

    /// Adds `Authorization: Bearer <token>`, marked sensitive.
    pub fn bearer(self, token: &SecretString) -> Self {
        let value = SecretString::from(format!("Bearer {}", token.expose_secret()));
        self.secret_header(AUTHORIZATION.as_str(), &value)
    }

    /// Sets a JSON body.
    pub fn json<T: Serialize + ?Sized>(mut self, body: &T) -> Self {
        match serde_json::to_vec(body) {
            Ok(bytes) => self.body = Some((Bytes::from(bytes), "application/json; charset=utf-8")),
            Err(e) => self.fail(Error::invalid_input(format!(
                "could not encode the request body: {e}"
            ))),
        }
        self
    }

    /// Sets an `application/x-www-form-urlencoded` body.
    pub fn form<'a>(mut self, pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut serializer = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in pairs {
            serializer.append_pair(name, value);
        }
        self.body = Some((
            Bytes::from(serializer.finish()),
            "application/x-www-form-urlencoded",
        ));
        self
    }

    /// The pacing class (e.g. `"tier2"`).
    pub fn class(mut self, class: &'static str) -> Self {
        self.class = Some(class);
        self
    }

    /// Whether sending twice is harmless. Defaults to true except for POST and PATCH.
    /// A non-idempotent request is retried only when it surely did not take effect.
    pub fn idempotent(mut self, idempotent: bool) -> Self {
        self.idempotent = idempotent;
        self
    }

    fn fail(&mut self, error: Error) {
        self.error.get_or_insert(error);
    }

    fn url(&self) -> Result<Url> {
        let mut params = self.params.iter();
        let mut segments = Vec::new();
        for part in self.route.split('/').filter(|s| !s.is_empty()) {
            if part.starts_with('{') && part.ends_with('}') {
                let value = params.next().ok_or_else(|| {
                    Error::invalid_input(format!("route {} lacks a value for {part}", self.route))
                })?;
                segments.push(value.as_str());
            } else {
                segments.push(part);
            }
        }
        if params.next().is_some() {
            return Err(Error::invalid_input(format!(
                "route {} got too many values",
                self.route
            )));
        }
        let mut url = join_segments(self.client.base_url(), segments)?;
        if !self.query.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(self.query.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        }
        Ok(url)
    }

    /// Sends the request, retrying as configured.
    ///
    /// Returns every HTTP answer except rate limits and redirects as `Ok`, after
    /// retrying 408 and 5xx: the adapter maps statuses and bodies. Errors: `InvalidInput`
    /// for a request that cannot be sent, `RateLimited` when rate limits outlast the
    /// retries (with the server's wait), `Timeout`, `Transport` (including a refused
    /// cross-origin redirect) and `Decode` (an oversized body).
    pub async fn send(mut self) -> Result<Response> {
        let client = self.client.clone();
        let inner = &client.inner;
        if let Some(error) = self.error.take() {
            return Err(error.with_provider(inner.provider.clone()));
        }
        let url = self
            .url()
            .map_err(|e| e.with_provider(inner.provider.clone()))?;
        let span = tracing::debug_span!(
            "http_request",
            provider = %inner.provider,
            method = %self.method,
            route = self.route,
            attempt = tracing::field::Empty,
            status = tracing::field::Empty,
            elapsed_ms = tracing::field::Empty,
        );
        let deadline = Instant::now() + inner.total_timeout;
        self.run(&url, deadline).instrument(span).await
    }

    /// The attempts, within `deadline`. One timer per attempt (a timer costs more
    /// than anything else the client does on loopback); waits for pacing, a budget
    /// or a permit only arm one when they really wait.
    async fn run(self, url: &Url, deadline: Instant) -> Result<Response> {
        let inner = &self.client.inner;
        let mut retries = 0u32;
        let budget_key = (self.method.clone(), self.route);
        loop {
            let waited = tokio::time::timeout_at(deadline, async {
                inner.pacer.wait(self.class).await;
                inner.spend_budget(&budget_key).await;
                inner.permits.acquire().await
            })
            .await;
            let permit = match waited {
                Ok(Ok(permit)) => permit,
                Ok(Err(_)) => {
                    return Err(self
                        .client
                        .error(ErrorKind::Transport, "the client was shut down"));
                }
                Err(_) => return Err(self.total_timeout(retries)),
            };
            let started = Instant::now();
            let attempt_deadline = (started + inner.request_timeout).min(deadline);
            let attempt = match tokio::time::timeout_at(attempt_deadline, self.attempt(url)).await {
                Ok(attempt) => attempt,
                Err(_) if attempt_deadline == deadline => {
                    return Err(self.total_timeout(retries));
                }
                Err(_) => Err(Failure {
                    error: self.client.error(
                        ErrorKind::Timeout,
                        format!(
                            "{} {}: timed out (no full answer within {:?})",
                            self.method, self.route, inner.request_timeout
                        ),
                    ),
                    kind: FailureKind::Timeout,
                }),
            };
            drop(permit);
            let span = tracing::Span::current();
            span.record("attempt", retries + 1);
            span.record("elapsed_ms", started.elapsed().as_millis() as u64);
            let (reason, wait_hint, fallback) = match attempt {
                Ok(response) => {
                    inner.note_budget(&budget_key, &response.headers);
                    span.record("status", response.status.as_u16());
                    tracing::debug!(status = response.status.as_u16(), "answer");
                    match self.classify(&response) {
                        Verdict::Done => return Ok(response.with_retries(retries)),
                        Verdict::Refuse(error) => return Err(error.with_retries(retries)),
                        Verdict::Retry(reason) => {
                            let wait = server_wait(&response.headers, SystemTime::now());
                            (reason, wait, Final::Answer(response))
                        }
                    }
                }
                Err(failure) => match failure.retry_reason(self.idempotent) {
                    Some(reason) => (reason, None, Final::Failure(failure.error)),
                    None => return Err(failure.error.with_retries(retries)),
                },
            };
            let wait = match wait_hint {
                Some(server) if server > inner.retry.max_retry_after => {
                    return self.give_up(reason, fallback, Some(server), retries);
                }
                Some(server) => server + jitter(server),
                None => inner.retry.backoff(retries),
            };
            if retries >= inner.retry.max_retries || Instant::now() + wait > deadline {
                return self.give_up(reason, fallback, wait_hint, retries);
            }
            retries += 1;
            unisession_core::telemetry::record_retry();
            tracing::info!(
                retry = retries,
                wait_ms = wait.as_millis() as u64,
                reason = ?reason,
                "retrying"
            );
            if let Some(hook) = &inner.retry_hook {
                hook.on_retry(&RetryEvent {
                    provider: &inner.provider,
                    method: &self.method,
                    route: self.route,
                    retry: retries,
                    reason,
                    wait,
                });
            }
            tokio::time::sleep(wait).await;
        }
    }

    fn total_timeout(&self, retries: u32) -> Error {
        self.client
            .error(
                ErrorKind::Timeout,
                format!(
                    "gave up after the total timeout of {:?}",
                    self.client.inner.total_timeout
                ),
            )
            .with_retries(retries)
    }

    /// The outcome once retrying stops: a rate limit becomes `RateLimited`, another
    /// retryable answer (408, 5xx) is handed to the adapter, a failure stays one.
    fn give_up(
        &self,
        reason: RetryReason,
        fallback: Final,
        wait: Option<Duration>,
        retries: u32,
    ) -> Result<Response> {
        match (reason, fallback) {
            (RetryReason::RateLimited, Final::Answer(response)) => {
                let mut error = self
                    .client
                    .error(
                        ErrorKind::RateLimited,
                        "the provider kept rate-limiting the requests",
                    )
                    .with_status(response.status.as_u16())
                    .with_retries(retries);
                if let Some(wait) = wait {
                    error = error.with_retry_after(wait);
                }
                Err(error)
            }
            (_, Final::Answer(response)) => Ok(response.with_retries(retries)),
            (_, Final::Failure(error)) => Err(error.with_retries(retries)),
        }
    }

    fn classify(&self, response: &Response) -> Verdict {
        let inner = &self.client.inner;
        let status = response.status;
        let detected = inner
            .rate_limit_detector
            .as_ref()
            .is_some_and(|detect| detect(status, &response.headers, &response.body));
        if status == StatusCode::TOO_MANY_REQUESTS || detected {
            return Verdict::Retry(RetryReason::RateLimited);
        }
        if status.is_redirection() {
            let target = response
                .headers
                .get(http::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|location| self.client.base_url().join(location).ok())
                .map(|u| u.origin().ascii_serialization())
                .unwrap_or_else(|| "an unknown location".to_owned());
            return Verdict::Refuse(
                self.client
                    .error(
                        ErrorKind::Transport,
                        format!("the server redirected to {target}, another origin; not followed so no credential leaves the configured one"),
                    )
                    .with_status(status.as_u16()),
            );
        }
        if self.idempotent && (status == StatusCode::REQUEST_TIMEOUT || status.is_server_error()) {
            return Verdict::Retry(RetryReason::Status(status.as_u16()));
        }
        Verdict::Done
    }

    async fn attempt(&self, url: &Url) -> std::result::Result<Response, Failure> {
        let inner = &self.client.inner;
        let mut request = inner
            .client
            .request(self.method.clone(), url.clone())
            .headers(self.headers.clone());
        if let Some((body, content_type)) = &self.body {
            request = request
                .header(CONTENT_TYPE, *content_type)
                .body(body.clone());
        }
        let mut response = request.send().await.map_err(|e| self.failure(e))?;
        let status = response.status();
        let headers = std::mem::take(response.headers_mut());
        let mut body = BytesMut::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.failure(e))? {
            if body.len() + chunk.len() > inner.max_body_bytes {
                return Err(Failure {
                    error: self.client.error(
                        ErrorKind::Decode,
                        format!("the answer is larger than {} bytes", inner.max_body_bytes),
                    ),
                    kind: FailureKind::Final,
                });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Response {
            status,
            headers,
            body: body.freeze(),
            route: self.route,
            provider: inner.provider.clone(),
            retries: 0,
        })
    }

    fn failure(&self, e: reqwest::Error) -> Failure {
        // reqwest errors name the URL; keep only the route template and the causes
        // beneath (hyper, io, rustls: "invalid peer certificate: UnknownIssuer").
        let mut causes: Vec<String> = Vec::new();
        let mut source = std::error::Error::source(&e);
        while let Some(cause) = source {
            let text = cause.to_string();
            if !causes.iter().any(|c| c.contains(&text)) {
                causes.push(text);
            }
            source = cause.source();
        }
        let cause = if causes.is_empty() {
            "no detail".to_owned()
        } else {
            causes.join(": ")
        };
        let (kind, failure) = if e.is_timeout() {
            (ErrorKind::Timeout, FailureKind::Timeout)
        } else if e.is_connect() {
            (ErrorKind::Transport, FailureKind::Connect)
        } else {
            (ErrorKind::Transport, FailureKind::Broken)
        };
        let what = match failure {
            FailureKind::Timeout => "timed out",
            FailureKind::Connect => "could not connect",
            _ => "the connection failed",
        };
        Failure {
            error: self.client.error(
                kind,
                format!("{} {}: {what} ({cause})", self.method, self.route),
            ),
            kind: failure,
        }
    }
}

fn jitter(wait: Duration) -> Duration {
    (wait / 20)
        .min(Duration::from_millis(250))
        .mul_f64(fastrand::f64())
}

enum Verdict {
    Done,
    Refuse(Error),
    Retry(RetryReason),
}

enum Final {
    Answer(Response),
    Failure(Error),
}

#[derive(Clone, Copy)]
enum FailureKind {
    Connect,
    Timeout,
    Broken,
    Final,
}

struct Failure {
    error: Error,
    kind: FailureKind,
}

impl Failure {
    fn retry_reason(&self, idempotent: bool) -> Option<RetryReason> {
        match self.kind {
            // Nothing reached the server: always safe to retry.
            FailureKind::Connect => Some(RetryReason::Connect),
            FailureKind::Timeout if idempotent => Some(RetryReason::Timeout),
            FailureKind::Broken if idempotent => Some(RetryReason::Broken),
            _ => None,
        }
    }
}

/// A complete HTTP answer: status, headers and the whole body.
#[derive(Clone)]
pub struct Response {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    route: &'static str,
    provider: String,
    retries: u32,
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("route", &self.route)
            .field("body_bytes", &self.body.len())
            .field("retries", &self.retries)
            .finish_non_exhaustive()
    }
}

impl Response {
    fn with_retries(mut self, retries: u32) -> Self {
        self.retries = retries;
        self
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The raw body.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The route template the request was sent to.
    pub fn route(&self) -> &'static str {
        self.route
    }

    /// How many retries it took.
    pub fn retries(&self) -> u32 {
        self.retries
    }

    /// Whether the body is empty or whitespace only.
    pub fn body_is_empty(&self) -> bool {
        self.body.iter().all(u8::is_ascii_whitespace)
    }

    /// Decodes the body as JSON. The error says where decoding failed but never
    /// quotes the body, which may hold tokens.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        decode_json(&self.body).map_err(|why| {
            // A truncated or garbled body is worth another try; a wrong shape is not.
            let temporary = !why.starts_with("unexpected JSON shape");
            Error::new(
                ErrorKind::Decode,
                format!("could not decode the answer of {}: {why}", self.route),
            )
            .with_provider(self.provider.clone())
            .with_status(self.status.as_u16())
            .with_temporary(temporary)
        })
    }
}

/// [`decode_json`] for answers that are JSON objects, as every envelope is. serde
/// would also read a struct from an array (`[[…], 5]`), which no server sends: that
/// is refused, so only an answer that names its fields can decode.
pub fn decode_json_object<T: DeserializeOwned>(body: &[u8]) -> std::result::Result<T, String> {
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') | None => decode_json(body),
        Some(_) => Err("unexpected JSON shape: not an object".to_owned()),
    }
}

/// Decodes JSON, describing a failure by category and position only: serde_json's
/// own messages can quote values from the body.
pub fn decode_json<T: DeserializeOwned>(body: &[u8]) -> std::result::Result<T, String> {
    serde_json::from_slice(body).map_err(|e| {
        let what = match e.classify() {
            serde_json::error::Category::Io => "I/O error",
            serde_json::error::Category::Syntax => "malformed JSON",
            serde_json::error::Category::Data => "unexpected JSON shape",
            serde_json::error::Category::Eof => "truncated JSON",
        };
        format!("{what} at line {} column {}", e.line(), e.column())
    })
}
