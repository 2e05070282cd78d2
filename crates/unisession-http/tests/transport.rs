//! The transport over real HTTP on 127.0.0.1.

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use secrecy::SecretString;
use support::{Reply, TestServer, client, fast_retry};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;
use unisession_core::ErrorKind;
use unisession_http::{HttpClient, Method, PaceClass, Rate, RetryConfig, RetryEvent, RetryReason};

#[tokio::test]
async fn retries_5xx_exactly_as_configured_then_succeeds() {
    let server = TestServer::start().await;
    server.script([
        Reply::status(503),
        Reply::status(500),
        Reply::status(502),
        Reply::ok("{\"ok\":true}"),
    ]);
    let response = client(&server, fast_retry(5))
        .request(Method::GET, "ping")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.retries(), 3);
    assert_eq!(server.count(), 4);
}

#[tokio::test]
async fn a_408_request_timeout_is_retried_like_a_5xx() {
    let server = TestServer::start().await;
    server.script([Reply::status(408), Reply::ok("{}")]);
    let response = client(&server, fast_retry(2))
        .request(Method::GET, "ping")
        .send()
        .await
        .unwrap();
    assert_eq!((response.status().as_u16(), response.retries()), (200, 1));
    assert_eq!(server.count(), 2);
}

#[tokio::test]
async fn exhausted_5xx_retries_hand_back_the_last_answer() {
    let server = TestServer::start().await;
    server.fallback(Reply::status(503).body("down"));
    let response = client(&server, fast_retry(2))
        .request(Method::GET, "ping")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(response.retries(), 2);
    assert_eq!(server.count(), 3, "one attempt plus exactly two retries");
}

#[tokio::test]
async fn client_errors_are_never_retried() {
    for status in [400, 401, 403, 404] {
        let server = TestServer::start().await;
        server.fallback(Reply::status(status));
        let response = client(&server, fast_retry(5))
            .request(Method::GET, "x")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status);
        assert_eq!(server.count(), 1, "status {status} must not be retried");
    }
}

#[tokio::test]
async fn rate_limit_with_empty_body_is_retried_and_ends_typed() {
    let server = TestServer::start().await;
    server.fallback(Reply::status(429).header("retry-after", "0"));
    let err = client(&server, fast_retry(3))
        .request(Method::GET, "x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert_eq!(err.status(), Some(429));
    assert_eq!(err.retries(), 3);
    assert_eq!(err.retry_after(), Some(Duration::ZERO));
    assert_eq!(server.count(), 4);
}

#[tokio::test]
async fn retry_after_seconds_is_honoured() {
    let server = TestServer::start().await;
    server.script([Reply::status(429)
        .header("retry-after", "1")
        .body("<html>slow down</html>")]);
    let response = client(&server, fast_retry(2))
        .request(Method::GET, "x")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let log = server.requests();
    let gap = log[1].at - log[0].at;
    assert!(gap >= Duration::from_millis(1000), "waited only {gap:?}");
    assert!(gap < Duration::from_millis(1400), "waited {gap:?}");
}

#[tokio::test]
async fn retry_after_http_date_is_honoured() {
    let server = TestServer::start().await;
    let when = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(2));
    server.script([Reply::status(503).header("retry-after", &when)]);
    let response = client(&server, fast_retry(2))
        .request(Method::GET, "x")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let log = server.requests();
    let gap = log[1].at - log[0].at;
    // The date has one-second resolution: the wait lands between 1 and 2 s.
    assert!(
        gap >= Duration::from_millis(900) && gap < Duration::from_millis(2300),
        "waited {gap:?}"
    );
}

#[tokio::test]
async fn rate_limit_reset_epoch_milliseconds_is_honoured() {
    let server = TestServer::start().await;
    let reset_ms = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        + 800;
    server.script([Reply::status(429)
        .header("x-ratelimit-limit", "10")
        .header("x-ratelimit-remaining", "0")
        .header("x-ratelimit-reset", &reset_ms.to_string())]);
    client(&server, fast_retry(2))
        .request(Method::GET, "x")
        .send()
        .await
        .unwrap();
    let log = server.requests();
    let gap = log[1].at - log[0].at;
    assert!(
        gap >= Duration::from_millis(700) && gap < Duration::from_millis(1200),
        "waited {gap:?}"
    );
}

#[tokio::test]
async fn a_wait_longer_than_allowed_ends_at_once_with_the_wait() {
    let server = TestServer::start().await;
    server.fallback(Reply::status(429).header("retry-after", "3600"));
    let started = Instant::now();
    let err = client(&server, fast_retry(5))
        .request(Method::GET, "x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert_eq!(err.retry_after(), Some(Duration::from_secs(3600)));
    assert_eq!(server.count(), 1);
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[tokio::test]
async fn total_timeout_ends_in_a_typed_error() {
    let server = TestServer::start().await;
    server.fallback(Reply::ok("{}").delay(Duration::from_secs(3)));
    let client = HttpClient::builder(server.url())
        .request_timeout(Duration::from_millis(400))
        .total_timeout(Duration::from_millis(1000))
        .retry(fast_retry(10))
        .build()
        .unwrap();
    let started = Instant::now();
    let err = client
        .request(Method::GET, "slow")
        .send()
        .await
        .unwrap_err();
    let elapsed = started.elapsed();
    assert!(matches!(err.kind(), ErrorKind::Timeout), "{err}");
    assert!(elapsed < Duration::from_millis(1500), "took {elapsed:?}");
    assert!(
        server.count() >= 2,
        "per-attempt timeouts are retried within the budget"
    );
}

#[tokio::test]
async fn non_idempotent_requests_are_not_retried_after_a_5xx_but_are_after_a_429() {
    let server = TestServer::start().await;
    server.fallback(Reply::status(502));
    let response = client(&server, fast_retry(3))
        .request(Method::POST, "login")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 502);
    assert_eq!(server.count(), 1);

    let server = TestServer::start().await;
    server.script([Reply::status(429).header("retry-after", "0")]);
    let response = client(&server, fast_retry(3))
        .request(Method::POST, "login")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(server.count(), 2);
}

#[tokio::test]
async fn hostile_ids_reach_the_server_as_one_encoded_segment() {
    let server = TestServer::start().await;
    let client = client(&server, RetryConfig::none());
    let ids = [
        "../../admin",
        "a/b",
        "a%2Fb",
        "%2e%2e",
        "a?x=1",
        "a#frag",
        "with space",
        "line\r\nInjected: yes",
        "ünïcødé-身份",
        "a\\b",
        "a;b=c",
        "..%2F",
        "\u{0}nul",
    ];
    for id in ids {
        client
            .request(Method::PUT, "items/{id}/logout")
            .param(id)
            .send()
            .await
            .unwrap();
    }
    let log = server.requests();
    assert_eq!(log.len(), ids.len());
    for (id, request) in ids.iter().zip(log) {
        let rest = request
            .path
            .strip_prefix("/items/")
            .expect("stays under /items/");
        let (segment, tail) = rest.split_once('/').expect("keeps the route's tail");
        assert_eq!(tail, "logout", "{id:?} changed the route: {}", request.path);
        assert_eq!(request.query, None, "{id:?} leaked into the query");
        let decoded = percent_encoding::percent_decode_str(segment)
            .decode_utf8()
            .unwrap();
        assert_eq!(decoded, *id, "{id:?} was not carried exactly");
    }
}

#[tokio::test]
async fn dot_segments_and_empty_ids_are_refused_without_a_request() {
    let server = TestServer::start().await;
    let client = client(&server, RetryConfig::none());
    for id in ["", ".", ".."] {
        let err = client
            .request(Method::PUT, "items/{id}")
            .param(id)
            .send()
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{id:?}");
    }
    assert_eq!(server.count(), 0);
}

#[tokio::test]
async fn header_injection_is_refused_without_a_request() {
    let server = TestServer::start().await;
    let client = client(&server, RetryConfig::none());
    let err = client
        .request(Method::GET, "x")
        .header("x-user-id", "abc\r\nX-Admin: 1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let token = SecretString::from("tok\nen");
    let err = client
        .request(Method::GET, "x")
        .bearer(&token)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(!err.to_string().contains("tok"), "{err}");
    assert_eq!(server.count(), 0);
}

#[tokio::test]
async fn a_redirect_to_another_port_receives_no_credentials() {
    let thief = TestServer::start().await;
    let server = TestServer::start().await;
    server.fallback(Reply::status(302).header("location", &format!("http://{}/steal", thief.addr)));
    let client = client(&server, fast_retry(2));
    let token = SecretString::from("xoxp-secret-token");
    let err = client
        .request(Method::GET, "x")
        .bearer(&token)
        .secret_header("cookie", &SecretString::from("asc_auth_key=secret-cookie"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport);
    assert_eq!(err.status(), Some(302));
    assert!(err.message().contains("another origin"), "{err}");
    assert_eq!(thief.count(), 0, "the other origin must receive nothing");
    assert!(!format!("{err} {err:?}").contains("secret"));
}

#[tokio::test]
async fn a_redirect_within_the_origin_is_followed() {
    let server = TestServer::start().await;
    server.script([Reply::status(307).header("location", "/new")]);
    let response = client(&server, RetryConfig::none())
        .request(Method::GET, "old")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let paths: Vec<_> = server.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/old", "/new"]);
}

#[tokio::test]
async fn plain_http_to_a_non_loopback_host_is_refused_before_any_connection() {
    // A listener on every interface; the client must not even try to reach it.
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let probe = std::net::UdpSocket::bind("0.0.0.0:0").unwrap();
    let local_ip = probe
        .connect("192.0.2.1:9")
        .and_then(|()| probe.local_addr())
        .map(|a| a.ip())
        .ok()
        .filter(|ip| !ip.is_loopback() && !ip.is_unspecified());
    let host = local_ip.map_or_else(|| "example.com".to_owned(), |ip| ip.to_string());
    let err = HttpClient::builder(format!("http://{host}:{port}/"))
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.message().contains("clear text"), "{err}");
    let accepted = tokio::time::timeout(Duration::from_millis(200), listener.accept()).await;
    assert!(accepted.is_err(), "a connection was attempted");
    // The explicit opt-in builds.
    assert!(
        HttpClient::builder(format!("http://{host}:{port}/"))
            .allow_insecure_http(true)
            .build()
            .is_ok()
    );
}

#[tokio::test]
async fn pacing_spaces_requests_at_the_configured_rate() {
    let server = TestServer::start().await;
    let client = HttpClient::builder(server.url())
        .pace(TIER, Rate::per_second(20))
        .build()
        .unwrap();
    let started = Instant::now();
    let tasks: Vec<_> = (0..11)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move {
                client
                    .request(Method::GET, "x")
                    .class(TIER)
                    .send()
                    .await
                    .unwrap()
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let elapsed = started.elapsed();
    let mut times: Vec<_> = server.requests().into_iter().map(|r| r.at).collect();
    times.sort();
    let span = *times.last().unwrap() - times[0];
    assert!(
        span >= Duration::from_millis(480),
        "11 requests at 20/s need 500 ms; took {span:?}"
    );
    assert!(elapsed < Duration::from_millis(1500), "{elapsed:?}");
    for pair in times.windows(2) {
        assert!(
            pair[1] - pair[0] >= Duration::from_millis(35),
            "two requests {:?} apart",
            pair[1] - pair[0]
        );
    }
    // Requests without a class are not slowed.
    let started = Instant::now();
    for _ in 0..10 {
        client.request(Method::GET, "x").send().await.unwrap();
    }
    assert!(started.elapsed() < Duration::from_millis(300));
    // A class the client does not pace (a misspelled one) fails, and sends nothing.
    let before = server.requests().len();
    let err = client
        .request(Method::GET, "x")
        .class(PaceClass::new("teir"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), unisession_core::ErrorKind::InvalidInput);
    assert!(err.message().contains("teir"), "{err}");
    assert_eq!(server.requests().len(), before);
}

const TIER: PaceClass = PaceClass::new("tier");

#[tokio::test]
async fn the_concurrency_cap_holds() {
    let server = TestServer::start().await;
    server.fallback(Reply::ok("{}").delay(Duration::from_millis(100)));
    let client = HttpClient::builder(server.url())
        .max_concurrency(2)
        .build()
        .unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.request(Method::GET, "x").send().await.unwrap() })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(server.max_in_flight(), 2);
}

#[tokio::test]
async fn refused_connections_are_retried_then_reported() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = events.clone();
    let client = HttpClient::builder(format!("http://127.0.0.1:{port}/"))
        .retry(fast_retry(2))
        .retry_hook(move |e: &RetryEvent<'_>| seen.lock().unwrap().push((e.retry, e.reason)))
        .build()
        .unwrap();
    let err = client.request(Method::POST, "x").send().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport);
    assert_eq!(err.retries(), 2);
    assert_eq!(
        *events.lock().unwrap(),
        [(1, RetryReason::Connect), (2, RetryReason::Connect)]
    );
}

#[tokio::test]
async fn a_dropped_connection_is_retried_for_idempotent_requests() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        // First connection: read the request, then hang up without answering.
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 4096];
        let _ = socket.read(&mut buf).await;
        drop(socket);
        let (mut socket, _) = listener.accept().await.unwrap();
        let _ = socket.read(&mut buf).await;
        socket
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}")
            .await
            .unwrap();
    });
    let client = HttpClient::builder(format!("http://{addr}/"))
        .retry(fast_retry(2))
        .build()
        .unwrap();
    let response = client.request(Method::GET, "x").send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.retries(), 1);
}

#[tokio::test]
async fn an_oversized_answer_is_a_decode_error() {
    let server = TestServer::start().await;
    server.fallback(Reply::ok(&"x".repeat(10_000)));
    let client = HttpClient::builder(server.url())
        .max_body_bytes(1000)
        .build()
        .unwrap();
    let err = client.request(Method::GET, "x").send().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decode);
}

#[tokio::test]
async fn rate_limit_detector_flags_other_statuses() {
    let server = TestServer::start().await;
    server
        .script([Reply::status(400)
            .body("{\"success\":false,\"errorType\":\"error-too-many-requests\"}")]);
    let client = HttpClient::builder(server.url())
        .retry(fast_retry(2))
        .rate_limit_detector(|status, _, body| {
            status == 400 && body.windows(23).any(|w| w == b"error-too-many-requests")
        })
        .build()
        .unwrap();
    let response = client.request(Method::GET, "x").send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(server.count(), 2);
}

fn epoch_ms_in(delta: Duration) -> String {
    (SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        + delta)
        .as_millis()
        .to_string()
}

#[tokio::test]
async fn an_announced_spent_budget_is_waited_out_instead_of_drawing_a_429() {
    let server = TestServer::start().await;
    let reset = epoch_ms_in(Duration::from_millis(600));
    server.script([
        Reply::ok("{}")
            .header("x-ratelimit-remaining", "1")
            .header("x-ratelimit-reset", &reset),
        Reply::ok("{}")
            .header("x-ratelimit-remaining", "0")
            .header("x-ratelimit-reset", &reset),
    ]);
    let client = HttpClient::builder(server.url())
        .follow_rate_limit_headers(true)
        .build()
        .unwrap();
    for _ in 0..3 {
        client.request(Method::GET, "limited").send().await.unwrap();
    }
    // Another route has its own budget.
    client.request(Method::GET, "other").send().await.unwrap();
    let log = server.requests();
    assert!(
        log[1].at - log[0].at < Duration::from_millis(200),
        "one call was left: no wait"
    );
    let waited = log[2].at - log[1].at;
    assert!(
        waited >= Duration::from_millis(450),
        "the spent budget must be waited out, waited {waited:?}"
    );
    assert!(
        log[3].at - log[2].at < Duration::from_millis(200),
        "{:?}",
        log[3].at - log[2].at
    );
}

#[tokio::test]
async fn without_the_option_budgets_are_ignored() {
    let server = TestServer::start().await;
    let reset = epoch_ms_in(Duration::from_millis(800));
    server.script([Reply::ok("{}")
        .header("x-ratelimit-remaining", "0")
        .header("x-ratelimit-reset", &reset)]);
    let client = HttpClient::builder(server.url()).build().unwrap();
    let started = Instant::now();
    client.request(Method::GET, "limited").send().await.unwrap();
    client.request(Method::GET, "limited").send().await.unwrap();
    assert!(started.elapsed() < Duration::from_millis(400));
}

#[tokio::test]
async fn an_https_server_with_an_untrusted_certificate_is_refused_before_any_request() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    // A self-signed certificate for localhost: valid in form, trusted by nobody.
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der()).unwrap(),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let handshakes = Arc::new(AtomicUsize::new(0));
    let seen = handshakes.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let seen = seen.clone();
            tokio::spawn(async move {
                if let Ok(mut tls) = acceptor.accept(socket).await {
                    seen.fetch_add(1, Ordering::SeqCst);
                    let mut buf = [0u8; 1024];
                    let _ = tls.read(&mut buf).await;
                    let _ = tls
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}")
                        .await;
                }
            });
        }
    });
    let client = HttpClient::builder(format!("https://localhost:{port}/"))
        .provider("test")
        .retry(RetryConfig::none())
        .build()
        .unwrap();
    let err = client
        .request(Method::GET, "api/x")
        .bearer(&SecretString::from("secret-token-value"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport, "{err}");
    assert!(
        err.to_string().to_lowercase().contains("certificate"),
        "the cause is named: {err}"
    );
    assert_eq!(
        handshakes.load(Ordering::SeqCst),
        0,
        "no TLS session was established, so no credential was sent"
    );
}
