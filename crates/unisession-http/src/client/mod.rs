//! [`HttpClient`]: one shared reqwest client per provider instance, with the URL
//! policy, retries, pacing and concurrency cap applied to every request.
//!
//! * `builder`: [`HttpClientBuilder`] and the TLS configuration;
//! * `budget`: the rate-limit budgets the servers announce;
//! * `request`: [`RequestBuilder`], describing a request;
//! * `send`: the attempts, the retry loop and its verdicts;
//! * `response`: [`Response`] and JSON decoding.

mod budget;
mod builder;
mod request;
mod response;
mod send;

pub use builder::HttpClientBuilder;
pub use request::RequestBuilder;
pub use response::{Response, decode_json, decode_json_object};

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

use crate::pacing::{PaceClass, Pacer, Rate};
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
    /// Wakes the requests waiting on a budget when an answer announces one.
    budget_announced: tokio::sync::Notify,
}

/// What the server said is left of a route's rate-limit window.
#[derive(Debug, Clone, Copy)]
struct Budget {
    remaining: u64,
    reset_at: Instant,
    /// One request of a new window is out; its answer sets the budget.
    probing: bool,
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
