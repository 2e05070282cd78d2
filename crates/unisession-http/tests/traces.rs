//! Traces name the route and never a credential. Alone in its binary: `tracing`
//! caches callsite interest per process, so a thread-local subscriber can miss
//! events while other tests run in parallel.

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use secrecy::SecretString;
use support::{Reply, TestServer};
use unisession_http::{HttpClient, Method, RetryConfig};

fn fast_retry(max: u32) -> RetryConfig {
    RetryConfig::default()
        .with_max_retries(max)
        .with_initial_backoff(Duration::from_millis(10))
        .with_max_backoff(Duration::from_millis(40))
}

fn client(server: &TestServer, retry: RetryConfig) -> HttpClient {
    HttpClient::builder(server.url())
        .provider("test")
        .retry(retry)
        .build()
        .unwrap()
}

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn traces_name_the_route_and_never_a_credential() {
    let capture = Capture::default();
    let writer = capture.clone();
    // Plain text: colour codes (on when another crate enables the `ansi` feature)
    // would split what the scan looks for.
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = TestServer::start().await;
    server.script([Reply::status(503)]);
    let client = client(&server, fast_retry(2));
    let token = SecretString::from("xoxp-123-very-secret");
    let response = client
        .request(Method::GET, "users/{id}")
        .param("U123")
        .bearer(&token)
        .secret_header("x-auth-token", &SecretString::from("rc-secret-token"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let received = &server.requests()[1];
    assert_eq!(
        received.headers["authorization"],
        "Bearer xoxp-123-very-secret"
    );
    assert_eq!(received.headers["x-auth-token"], "rc-secret-token");

    let text = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        text.contains("users/{id}"),
        "the route template is traced: {text}"
    );
    assert!(text.contains("retrying"), "{text}");
    for secret in ["very-secret", "rc-secret-token", "U123"] {
        assert!(!text.contains(secret), "{secret} leaked into traces");
    }
    let debug = format!("{client:?} {response:?}");
    assert!(!debug.contains("secret"));
}
