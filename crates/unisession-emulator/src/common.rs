//! What every emulated provider shares: the request log, fault injection, rate-limit
//! bookkeeping, the control surface under [`CONTROL_PREFIX`], and serving.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

use crate::faults::{Fault, Faults};
use crate::misleading::Misleading;

/// The path prefix of the emulator's own control surface. No provider has a route
/// under it: real routes live under `/api/`.
pub const CONTROL_PREFIX: &str = "/__unisession";

/// One request as the emulator received it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LoggedRequest {
    /// Order of arrival, from 1.
    pub seq: u64,
    /// HTTP method.
    pub method: String,
    /// The path exactly as sent (still percent-encoded).
    pub path: String,
    /// The raw query string.
    pub query: Option<String>,
    /// Headers, lower-cased names.
    pub headers: Vec<(String, String)>,
    /// The body as text (lossy UTF-8), cut at 64 KiB.
    pub body: String,
    /// The status answered.
    pub status: u16,
    /// The fault injected, if any.
    pub fault: Option<Fault>,
}

impl LoggedRequest {
    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A bounded log of requests; the oldest entries fall out first.
#[derive(Debug)]
pub(crate) struct RequestLog {
    entries: Mutex<VecDeque<LoggedRequest>>,
    capacity: usize,
    total: AtomicU64,
}

impl RequestLog {
    fn new(capacity: usize) -> Self {
        Self {
            entries: Mutex::new(VecDeque::new()),
            capacity,
            total: AtomicU64::new(0),
        }
    }

    fn push(&self, entry: LoggedRequest) {
        if self.capacity == 0 {
            return;
        }
        let mut entries = self.entries.lock().expect("log lock");
        if entries.len() == self.capacity {
            entries.pop_front();
        }
        entries.push_back(entry);
    }
}

/// Renders a provider's own fault answers.
pub(crate) trait FaultStyle: Send + Sync + 'static {
    /// The provider's 5xx.
    fn server_error(&self) -> Response;
    /// The provider's 429, announcing `retry_after`.
    fn rate_limited(&self, retry_after: Duration, faults: &Faults) -> Response;
}

/// State every provider server carries.
pub(crate) struct Common {
    pub(crate) provider: &'static str,
    log: RequestLog,
    faults: RwLock<Faults>,
    misleading: RwLock<Misleading>,
    seed: u64,
    seq: AtomicU64,
    lookups: AtomicU64,
    style: Box<dyn FaultStyle>,
}

impl Common {
    pub(crate) fn new(
        provider: &'static str,
        faults: Faults,
        seed: u64,
        log_capacity: usize,
        style: impl FaultStyle,
    ) -> Self {
        Self {
            provider,
            log: RequestLog::new(log_capacity),
            faults: RwLock::new(faults),
            misleading: RwLock::new(Misleading::default()),
            seed,
            seq: AtomicU64::new(0),
            lookups: AtomicU64::new(0),
            style: Box::new(style),
        }
    }

    pub(crate) fn faults(&self) -> Faults {
        self.faults.read().expect("faults lock").clone()
    }

    pub(crate) fn set_faults(&self, faults: Faults) {
        *self.faults.write().expect("faults lock") = faults;
    }

    pub(crate) fn misleading(&self) -> Misleading {
        self.misleading.read().expect("misleading lock").clone()
    }

    pub(crate) fn set_misleading(&self, misleading: Misleading) {
        *self.misleading.write().expect("misleading lock") = misleading;
    }

    /// Answers a lookup by email under the misleading switches: the index of the
    /// record that goes out (see [`Misleading::answer`]).
    pub(crate) fn answer_lookup(
        &self,
        found: Option<usize>,
        len: usize,
        by_id: impl Fn(&str) -> Option<usize>,
    ) -> Option<usize> {
        let n = self.lookups.fetch_add(1, Ordering::Relaxed);
        self.misleading().answer(found, len, (self.seed, n), by_id)
    }

    pub(crate) fn requests(&self) -> Vec<LoggedRequest> {
        self.log
            .entries
            .lock()
            .expect("log lock")
            .iter()
            .cloned()
            .collect()
    }

    pub(crate) fn request_count(&self) -> u64 {
        self.log.total.load(Ordering::Relaxed)
    }

    pub(crate) fn clear_log(&self) {
        self.log.entries.lock().expect("log lock").clear();
    }
}

/// Implemented by each provider's state so the common layer and control surface
/// can reach it.
pub(crate) trait Provider: Send + Sync + 'static {
    fn common(&self) -> &Common;
    fn snapshot(&self) -> serde_json::Value;
}

const MAX_BODY: usize = 4 * 1024 * 1024;

/// The layer in front of every provider route: logs the request, injects faults.
pub(crate) async fn common_layer<P: Provider>(
    State(provider): State<Arc<P>>,
    request: Request,
    next: Next,
) -> Response {
    if request.uri().path().starts_with(CONTROL_PREFIX) {
        return next.run(request).await;
    }
    let common = provider.common();
    let n = common.seq.fetch_add(1, Ordering::Relaxed) + 1;
    common.log.total.fetch_add(1, Ordering::Relaxed);
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(body) => body,
        Err(_) => return StatusCode::PAYLOAD_TOO_LARGE.into_response(),
    };
    let mut entry = (common.log.capacity > 0).then(|| LoggedRequest {
        seq: n,
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: String::from_utf8_lossy(&body[..body.len().min(64 * 1024)]).into_owned(),
        status: 0,
        fault: None,
    });
    tracing::trace!(provider = common.provider, method = %parts.method, path = parts.uri.path(), "emulated request");
    let faults = common.faults();
    if faults.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(faults.latency_ms)).await;
    }
    let fault = faults.pick(common.seed, n);
    let response = match fault {
        Some(Fault::Drop) => dropped_connection(),
        Some(Fault::ServerError) => common.style.server_error(),
        Some(Fault::RateLimited) => common.style.rate_limited(
            Duration::from_millis(faults.rate_limit_retry_after_ms),
            &faults,
        ),
        Some(Fault::Malformed) | None => {
            let response = next.run(Request::from_parts(parts, Body::from(body))).await;
            if fault == Some(Fault::Malformed) {
                damage_body(response, n % 2 == 0).await
            } else {
                response
            }
        }
    };
    if let Some(mut entry) = entry.take() {
        entry.status = response.status().as_u16();
        entry.fault = fault;
        common.log.push(entry);
    }
    response
}

/// An answer whose connection breaks: the headers go out, then the body fails,
/// so the server closes the connection mid-answer.
fn dropped_connection() -> Response {
    let broken = futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "connection dropped by fault injection",
        ))
    });
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json; charset=utf-8")
        .body(Body::from_stream(broken))
        .expect("static response")
}

/// Cuts the body in half, or keeps its length and turns `"` into `'`: either way no
/// longer JSON.
async fn damage_body(response: Response, cut: bool) -> Response {
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_BODY)
        .await
        .unwrap_or_default();
    let cut = if !bytes.contains(&b'"') || (cut && bytes.len() > 1) {
        if bytes.len() > 1 {
            bytes.slice(..bytes.len() / 2)
        } else {
            Bytes::from_static(b"{")
        }
    } else {
        Bytes::from(
            bytes
                .iter()
                .map(|&b| if b == b'"' { b'\'' } else { b })
                .collect::<Vec<u8>>(),
        )
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(cut))
}

#[derive(Deserialize)]
struct Since {
    since: Option<u64>,
}

/// The control surface: `GET requests?since=N`, `GET|PUT faults`, `GET|PUT misleading`,
/// `GET state`, `GET health`.
pub(crate) fn control_routes<P: Provider>() -> Router<Arc<P>> {
    Router::new()
        .route(&format!("{CONTROL_PREFIX}/health"), get(|| async { "ok" }))
        .route(
            &format!("{CONTROL_PREFIX}/requests"),
            get(
                |State(p): State<Arc<P>>, Query(q): Query<Since>| async move {
                    let since = q.since.unwrap_or(0);
                    let log: Vec<_> = p
                        .common()
                        .requests()
                        .into_iter()
                        .filter(|r| r.seq > since)
                        .collect();
                    Json(log)
                },
            ),
        )
        .route(
            &format!("{CONTROL_PREFIX}/faults"),
            get(|State(p): State<Arc<P>>| async move { Json(p.common().faults()) }).put(
                |State(p): State<Arc<P>>, Json(faults): Json<Faults>| async move {
                    p.common().set_faults(faults.clone());
                    Json(faults)
                },
            ),
        )
        .route(
            &format!("{CONTROL_PREFIX}/misleading"),
            get(|State(p): State<Arc<P>>| async move { Json(p.common().misleading()) }).put(
                |State(p): State<Arc<P>>, Json(misleading): Json<Misleading>| async move {
                    p.common().set_misleading(misleading.clone());
                    Json(misleading)
                },
            ),
        )
        .route(
            &format!("{CONTROL_PREFIX}/state"),
            get(|State(p): State<Arc<P>>| async move { Json(p.snapshot()) }),
        )
}

/// A running server.
pub(crate) struct Running {
    pub(crate) addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
}

impl Running {
    pub(crate) fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Serves `router` on `addr` (port 0 picks one) until stopped.
pub(crate) async fn serve(router: Router, addr: SocketAddr) -> std::io::Result<Running> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
    });
    Ok(Running {
        addr,
        shutdown: Some(tx),
    })
}

/// How a rate-limit check went.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Limit {
    /// Allowed; `remaining` calls left, the window resets in `reset`.
    Allowed { remaining: u32, reset: Duration },
    /// Refused; retry after `retry_after`.
    Refused { retry_after: Duration },
}

/// A sliding-window counter per key: at most `limit` calls in any `window`.
#[derive(Default)]
pub(crate) struct SlidingWindow {
    hits: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl SlidingWindow {
    pub(crate) fn check(&self, key: &str, limit: u32, window: Duration) -> Limit {
        let now = Instant::now();
        let mut hits = self.hits.lock().expect("limiter lock");
        let queue = hits.entry(key.to_owned()).or_default();
        while queue
            .front()
            .is_some_and(|t| now.duration_since(*t) >= window)
        {
            queue.pop_front();
        }
        if queue.len() as u32 >= limit {
            let oldest = *queue.front().expect("non-empty");
            return Limit::Refused {
                retry_after: window.saturating_sub(now.duration_since(oldest)),
            };
        }
        queue.push_back(now);
        let reset = window.saturating_sub(now.duration_since(*queue.front().expect("non-empty")));
        Limit::Allowed {
            remaining: limit - queue.len() as u32,
            reset,
        }
    }
}

/// A fixed window per key that opens at the key's first call (Meteor's `RateLimiter`).
#[derive(Default)]
pub(crate) struct FixedWindow {
    windows: Mutex<HashMap<String, (Instant, u32)>>,
}

impl FixedWindow {
    pub(crate) fn check(&self, key: &str, limit: u32, window: Duration) -> Limit {
        let now = Instant::now();
        let mut windows = self.windows.lock().expect("limiter lock");
        let (start, count) = windows.entry(key.to_owned()).or_insert((now, 0));
        if now.duration_since(*start) >= window {
            *start = now;
            *count = 0;
        }
        let reset = window.saturating_sub(now.duration_since(*start));
        if *count >= limit {
            return Limit::Refused { retry_after: reset };
        }
        *count += 1;
        Limit::Allowed {
            remaining: limit - *count,
            reset,
        }
    }
}

/// Formats seconds the way `Retry-After` carries them: an integer where exact,
/// else a decimal (only scaled time produces fractions).
pub(crate) fn retry_after_value(wait: Duration) -> HeaderValue {
    let text = if wait.subsec_millis() == 0 {
        wait.as_secs().to_string()
    } else {
        format!("{:.3}", wait.as_secs_f64())
    };
    HeaderValue::from_str(&text).expect("digits")
}

/// The raw `Cookie` value `name`, if sent.
pub(crate) fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sliding_window_refuses_the_call_over_the_limit_until_the_oldest_leaves() {
        let w = SlidingWindow::default();
        for i in 0..3 {
            assert!(
                matches!(w.check("k", 3, Duration::from_millis(200)), Limit::Allowed { remaining, .. } if remaining == 2 - i)
            );
        }
        assert!(matches!(
            w.check("k", 3, Duration::from_millis(200)),
            Limit::Refused { .. }
        ));
        assert!(matches!(
            w.check("other", 3, Duration::from_millis(200)),
            Limit::Allowed { .. }
        ));
        std::thread::sleep(Duration::from_millis(210));
        assert!(matches!(
            w.check("k", 3, Duration::from_millis(200)),
            Limit::Allowed { .. }
        ));
    }

    #[test]
    fn fixed_window_resets_after_the_window() {
        let w = FixedWindow::default();
        assert!(matches!(
            w.check("k", 1, Duration::from_millis(100)),
            Limit::Allowed { remaining: 0, .. }
        ));
        assert!(matches!(
            w.check("k", 1, Duration::from_millis(100)),
            Limit::Refused { .. }
        ));
        std::thread::sleep(Duration::from_millis(110));
        assert!(matches!(
            w.check("k", 1, Duration::from_millis(100)),
            Limit::Allowed { .. }
        ));
    }

    #[test]
    fn retry_after_is_integer_seconds_when_exact() {
        assert_eq!(retry_after_value(Duration::from_secs(30)), "30");
        assert_eq!(retry_after_value(Duration::from_millis(600)), "0.600");
    }
}
