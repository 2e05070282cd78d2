//! The HTTP transport shared by unisession's adapters (never used by `unisession-core`).
//!
//! Adapters describe requests; [`HttpClient`] sends them safely:
//!
//! * **Base-URL policy**: `https` only, except loopback hosts or an explicit opt-in;
//!   a bad URL is a typed error at build time, before any connection.
//! * **Safe paths**: every id fills one `{…}` of a route template and is encoded as
//!   exactly one path segment: no `../`, `/`, `?` or `#` smuggling.
//! * **Timeouts**: connect, per attempt, and total across retries.
//! * **Redirects**: followed only within the configured origin; a redirect elsewhere
//!   is refused, so no `Authorization` or `Cookie` header leaves it.
//! * **Retries** with exponential backoff and jitter on 429, 408, 5xx, connection
//!   failures and timeouts, honouring `Retry-After` (seconds or HTTP-date) and
//!   `X-RateLimit-Reset` (epoch milliseconds). A 429 with an empty or non-JSON body
//!   is still a rate limit.
//! * **Pacing** per method class and a concurrency cap, shared across clones.
//! * **Tracing** spans with the route template, never a credential; a [`RetryHook`];
//!   and [`unisession_core::telemetry::record_retry`] for per-operation retry counts.
//!
//! ```no_run
//! # async fn run() -> unisession_core::Result<()> {
//! use std::time::Duration;
//! use secrecy::SecretString;
//! use unisession_http::{HttpClient, Method, PaceClass, Rate, RetryConfig};
//!
//! const TIER_2: PaceClass = PaceClass::new("tier2");
//!
//! let client = HttpClient::builder("https://corp.slack.com/api/")
//!     .provider("slack:corp")
//!     .total_timeout(Duration::from_secs(60))
//!     .retry(RetryConfig::default().with_max_retries(3))
//!     .pace(TIER_2, Rate::per_minute(20))
//!     .build()?;
//! let token = SecretString::from("xoxp-...");
//! let response = client
//!     .request(Method::POST, "admin.users.session.reset")
//!     .bearer(&token)
//!     .form([("user_id", "W123")])
//!     .class(TIER_2)
//!     .send()
//!     .await?;
//! println!("{}", response.status());
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs)]

mod adapter;
mod client;
mod known;
mod login;
mod observe;
mod options;
mod pacing;
mod retry;
mod url_policy;

pub use adapter::{Adapter, AdapterKind, COMMON_KEYS, ConfigError, SECRET_KEYS, Settings};
pub use client::{
    HttpClient, HttpClientBuilder, RateLimitDetector, RequestBuilder, Response, RetryEvent,
    RetryHook, RetryReason, decode_json, decode_json_object,
};
pub use http::{HeaderMap, Method, StatusCode};
pub use known::KnownUsers;
pub use login::LoginSession;
pub use observe::{CallEvent, CallObserver, Observation, observe_calls};
pub use options::{AdapterDefaults, TransportOptions};
pub use pacing::{PaceClass, Pacer, Rate};
pub use retry::{RetryConfig, parse_rate_limit_reset, parse_retry_after, server_wait};
pub use url::Url;
pub use url_policy::{check_segment, is_loopback, same_origin, validate_base_url};
