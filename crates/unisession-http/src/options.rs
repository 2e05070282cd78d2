//! [`TransportOptions`]: the knobs every adapter's transport shares, set once and
//! handed to any adapter builder (`with_transport`), as object_store's builders take
//! `ClientOptions`.

use std::time::Duration;

use unisession_core::{Error, Result};

use crate::{HttpClient, HttpClientBuilder, Rate, RetryConfig};

/// Transport settings shared by every adapter. A setting left unset takes the
/// adapter's own default ([`AdapterDefaults`]): DocSpace and Slack, for instance,
/// allow different concurrency.
///
/// ```
/// use std::time::Duration;
/// use unisession_http::{RetryConfig, TransportOptions};
///
/// let options = TransportOptions::new()
///     .with_name("slack:corp")
///     .with_retry(RetryConfig::default().with_max_retries(5))
///     .with_total_timeout(Duration::from_secs(120));
/// assert_eq!(options.name.as_deref(), Some("slack:corp"));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TransportOptions {
    /// The instance name shown in reports, errors and `Display` (default: the kind).
    pub name: Option<String>,
    /// The retry policy (default [`RetryConfig::default`]).
    pub retry: Option<RetryConfig>,
    /// The time allowed for one call, retries included.
    pub total_timeout: Option<Duration>,
    /// The time allowed for one attempt.
    pub request_timeout: Option<Duration>,
    /// The time allowed to connect.
    pub connect_timeout: Option<Duration>,
    /// The most requests in flight at once.
    pub max_concurrency: Option<usize>,
    /// Allows `http://` to a non-loopback host: the credential then travels in clear
    /// text. Off by default; loopback needs no opt-in.
    pub allow_insecure_http: bool,
    /// How much faster than real time the provider's rate-limit windows run: the
    /// adapter's default pacing runs this much faster. Emulators only; real providers
    /// need 1.0 (the default).
    pub time_scale: f64,
}

impl Default for TransportOptions {
    fn default() -> Self {
        Self {
            name: None,
            retry: None,
            total_timeout: None,
            request_timeout: None,
            connect_timeout: None,
            max_concurrency: None,
            allow_insecure_http: false,
            time_scale: 1.0,
        }
    }
}

/// An adapter's own defaults for what [`TransportOptions`] leaves unset.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct AdapterDefaults {
    /// The instance name (the kind: `slack`).
    pub name: &'static str,
    /// The time allowed for one call, retries included.
    pub total_timeout: Duration,
    /// The time allowed for one attempt.
    pub request_timeout: Duration,
    /// The most requests in flight at once.
    pub max_concurrency: usize,
}

impl AdapterDefaults {
    /// Defaults named `name`: 300 s per call, 30 s per attempt, 8 in flight.
    pub const fn new(name: &'static str) -> Self {
        Self {
            name,
            total_timeout: Duration::from_secs(300),
            request_timeout: Duration::from_secs(30),
            max_concurrency: 8,
        }
    }

    /// Sets the total timeout.
    pub const fn with_total_timeout(mut self, timeout: Duration) -> Self {
        self.total_timeout = timeout;
        self
    }

    /// Sets the concurrency cap.
    pub const fn with_max_concurrency(mut self, max: usize) -> Self {
        self.max_concurrency = max;
        self
    }
}

impl TransportOptions {
    /// Every setting at the adapter's default.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the instance name.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the retry policy.
    pub fn with_retry(mut self, retry: RetryConfig) -> Self {
        self.retry = Some(retry);
        self
    }

    /// Sets the time allowed for one call, retries included.
    pub fn with_total_timeout(mut self, timeout: Duration) -> Self {
        self.total_timeout = Some(timeout);
        self
    }

    /// Sets the time allowed for one attempt.
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = Some(timeout);
        self
    }

    /// Sets the time allowed to connect.
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// Sets the concurrency cap.
    pub fn with_max_concurrency(mut self, max: usize) -> Self {
        self.max_concurrency = Some(max);
        self
    }

    /// Allows `http://` to a non-loopback host.
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// Runs the default pacing `scale` times faster (emulators).
    pub fn with_time_scale(mut self, scale: f64) -> Self {
        self.time_scale = scale;
        self
    }

    /// The instance name, or the adapter's default.
    pub fn name_or<'a>(&'a self, defaults: &AdapterDefaults) -> &'a str {
        self.name.as_deref().unwrap_or(defaults.name)
    }

    /// `rate`, run [`time_scale`](Self::time_scale) times faster.
    pub fn scaled(&self, rate: Rate) -> Rate {
        rate.scaled(self.time_scale)
    }

    /// Checks the settings; `InvalidInput` names the instance and what is wrong.
    pub fn validate(&self, defaults: &AdapterDefaults) -> Result<()> {
        if !(self.time_scale.is_finite() && self.time_scale > 0.0) {
            return Err(
                Error::invalid_input("the time scale must be a positive number")
                    .with_provider(self.name_or(defaults).to_owned()),
            );
        }
        Ok(())
    }

    /// The transport builder for `base_url` with these settings over `defaults`; the
    /// adapter adds its pacing classes and builds it.
    pub fn client(&self, base_url: &str, defaults: &AdapterDefaults) -> Result<HttpClientBuilder> {
        self.validate(defaults)?;
        let mut builder = HttpClient::builder(base_url)
            .provider(self.name_or(defaults))
            .retry(self.retry.clone().unwrap_or_default())
            .total_timeout(self.total_timeout.unwrap_or(defaults.total_timeout))
            .request_timeout(self.request_timeout.unwrap_or(defaults.request_timeout))
            .allow_insecure_http(self.allow_insecure_http)
            .max_concurrency(self.max_concurrency.unwrap_or(defaults.max_concurrency));
        if let Some(timeout) = self.connect_timeout {
            builder = builder.connect_timeout(timeout);
        }
        Ok(builder)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFAULTS: AdapterDefaults = AdapterDefaults::new("wiki").with_max_concurrency(3);

    #[test]
    fn unset_settings_take_the_adapters_defaults() {
        let options = TransportOptions::new();
        assert_eq!(options.name_or(&DEFAULTS), "wiki");
        let client = options
            .client("https://wiki.example/", &DEFAULTS)
            .unwrap()
            .build()
            .unwrap();
        assert_eq!(client.provider(), "wiki");
        let named = TransportOptions::new().with_name("wiki:corp");
        assert_eq!(named.name_or(&DEFAULTS), "wiki:corp");
    }

    #[test]
    fn a_bad_time_scale_or_plain_http_is_refused_naming_the_instance() {
        for scale in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let err = TransportOptions::new()
                .with_time_scale(scale)
                .client("https://wiki.example/", &DEFAULTS)
                .unwrap_err();
            assert!(err.message().contains("time scale"), "{err}");
            assert_eq!(err.provider(), Some("wiki"));
        }
        let err = TransportOptions::new()
            .client("http://wiki.example/", &DEFAULTS)
            .unwrap()
            .build()
            .unwrap_err();
        assert_eq!(err.kind(), unisession_core::ErrorKind::InvalidInput);
        assert!(
            TransportOptions::new()
                .allow_insecure_http(true)
                .client("http://wiki.example/", &DEFAULTS)
                .unwrap()
                .build()
                .is_ok()
        );
    }
}
