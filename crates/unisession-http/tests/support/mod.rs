//! A scripted HTTP server on 127.0.0.1 that records every request it receives.
//! Shared by several test binaries, each of which uses a part of it.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use tokio::time::Instant;
use unisession_http::{HttpClient, RetryConfig};

/// Retries up to `max`, with short waits.
pub(crate) fn fast_retry(max: u32) -> RetryConfig {
    RetryConfig::default()
        .with_max_retries(max)
        .with_initial_backoff(Duration::from_millis(10))
        .with_max_backoff(Duration::from_millis(40))
}

/// A client of `server` named `test`.
pub(crate) fn client(server: &TestServer, retry: RetryConfig) -> HttpClient {
    HttpClient::builder(server.url())
        .provider("test")
        .retry(retry)
        .build()
        .unwrap()
}

#[derive(Debug, Clone)]
pub(crate) struct Recorded {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub at: Instant,
}

#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub delay: Duration,
}

impl Reply {
    pub(crate) fn status(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: String::new(),
            delay: Duration::ZERO,
        }
    }
    pub(crate) fn ok(body: &str) -> Self {
        Self::status(200).body(body)
    }
    pub(crate) fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }
    pub(crate) fn body(mut self, body: &str) -> Self {
        self.body = body.to_owned();
        self
    }
    pub(crate) fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

#[derive(Default)]
struct Shared {
    script: Mutex<VecDeque<Reply>>,
    fallback: Mutex<Option<Reply>>,
    log: Mutex<Vec<Recorded>>,
    in_flight: Mutex<(usize, usize)>,
}

#[derive(Clone)]
pub(crate) struct TestServer {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
}

impl TestServer {
    pub(crate) async fn start() -> Self {
        let shared = Arc::new(Shared::default());
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { addr, shared }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Queues replies, served in order; afterwards the fallback (default 200 `{}`).
    pub(crate) fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.shared.script.lock().unwrap().extend(replies);
    }

    pub(crate) fn fallback(&self, reply: Reply) {
        *self.shared.fallback.lock().unwrap() = Some(reply);
    }

    pub(crate) fn requests(&self) -> Vec<Recorded> {
        self.shared.log.lock().unwrap().clone()
    }

    pub(crate) fn count(&self) -> usize {
        self.shared.log.lock().unwrap().len()
    }

    pub(crate) fn max_in_flight(&self) -> usize {
        self.shared.in_flight.lock().unwrap().1
    }
}

async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    shared.log.lock().unwrap().push(Recorded {
        method: request.method().to_string(),
        path: request.uri().path().to_owned(),
        query: request.uri().query().map(str::to_owned),
        headers: request.headers().clone(),
        at: Instant::now(),
    });
    {
        let mut f = shared.in_flight.lock().unwrap();
        f.0 += 1;
        f.1 = f.1.max(f.0);
    }
    let reply = shared
        .script
        .lock()
        .unwrap()
        .pop_front()
        .or_else(|| shared.fallback.lock().unwrap().clone())
        .unwrap_or_else(|| Reply::ok("{}"));
    tokio::time::sleep(reply.delay).await;
    shared.in_flight.lock().unwrap().0 -= 1;
    let mut response = Response::builder().status(StatusCode::from_u16(reply.status).unwrap());
    for (name, value) in &reply.headers {
        response = response.header(name, value);
    }
    response.body(Body::from(reply.body)).unwrap()
}
