//! [`HttpClientBuilder`] and the TLS configuration shared by every client.

use super::*;

/// Builds an [`HttpClient`]; `build` validates everything before any request.
#[must_use]
pub struct HttpClientBuilder {
    pub(super) base_url: String,
    pub(super) provider: String,
    pub(super) allow_http: bool,
    pub(super) connect_timeout: Duration,
    pub(super) request_timeout: Duration,
    pub(super) total_timeout: Duration,
    pub(super) retry: RetryConfig,
    pub(super) rates: Vec<(PaceClass, Rate)>,
    pub(super) max_concurrency: usize,
    pub(super) user_agent: String,
    pub(super) retry_hook: Option<Arc<dyn RetryHook>>,
    pub(super) rate_limit_detector: Option<RateLimitDetector>,
    pub(super) max_body_bytes: usize,
    pub(super) follow_rate_limit_headers: bool,
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
    pub(super) fn new(base_url: String) -> Self {
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
    pub fn pace(mut self, class: PaceClass, rate: Rate) -> Self {
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
                budget_announced: tokio::sync::Notify::new(),
            }),
        })
    }
}

/// The TLS configuration every client shares: the platform's verifier (its trust
/// store is read once per process, not once per provider) over ring. Where the
/// platform has no trust store, no server is trusted: `https` fails at the handshake
/// (a typed transport error naming the certificate), plain `http` to loopback (the
/// emulators) still works.
pub(super) fn tls_config() -> rustls::ClientConfig {
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
pub(super) fn ensure_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race against another installer is fine: a provider is then set.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}
