//! Sending a request: pacing, budget and permit, one timer per attempt, the retry
//! loop and its verdicts.

use super::*;

impl RequestBuilder {
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
    pub(super) async fn run(self, url: &Url, deadline: Instant) -> Result<Response> {
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
            crate::observe::report(&crate::observe::CallEvent {
                provider: &inner.provider,
                method: &self.method,
                route: self.route,
                status: attempt.as_ref().ok().map(|r| r.status.as_u16()),
                elapsed: started.elapsed(),
            });
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

    pub(super) fn total_timeout(&self, retries: u32) -> Error {
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
    pub(super) fn give_up(
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

    pub(super) fn classify(&self, response: &Response) -> Verdict {
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

    pub(super) async fn attempt(&self, url: &Url) -> std::result::Result<Response, Failure> {
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

    pub(super) fn failure(&self, e: reqwest::Error) -> Failure {
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

pub(super) fn jitter(wait: Duration) -> Duration {
    (wait / 20)
        .min(Duration::from_millis(250))
        .mul_f64(fastrand::f64())
}

pub(super) enum Verdict {
    Done,
    Refuse(Error),
    Retry(RetryReason),
}

pub(super) enum Final {
    Answer(Response),
    Failure(Error),
}

#[derive(Clone, Copy)]
pub(super) enum FailureKind {
    Connect,
    Timeout,
    Broken,
    Final,
}

pub(super) struct Failure {
    pub(super) error: Error,
    pub(super) kind: FailureKind,
}

impl Failure {
    pub(super) fn retry_reason(&self, idempotent: bool) -> Option<RetryReason> {
        match self.kind {
            // Nothing reached the server: always safe to retry.
            FailureKind::Connect => Some(RetryReason::Connect),
            FailureKind::Timeout if idempotent => Some(RetryReason::Timeout),
            FailureKind::Broken if idempotent => Some(RetryReason::Broken),
            _ => None,
        }
    }
}
