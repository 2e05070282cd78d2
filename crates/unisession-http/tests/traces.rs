//! Traces name the route and never a credential. Alone in its binary: `tracing`
//! caches callsite interest per process, so a thread-local subscriber can miss
//! events while other tests run in parallel.

mod support;

use secrecy::SecretString;
use support::{Reply, TestServer, client, fast_retry};
use unisession_http::Method;

#[tokio::test]
async fn traces_name_the_route_and_never_a_credential() {
    let (capture, _guard) = unisession_testkit::capture::traces();

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

    let text = capture.text();
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
