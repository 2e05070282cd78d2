//! No token in any output, traces at TRACE level included: successful calls, a
//! refused token, injected server errors and rate limits with their retries.
//! Alone in its binary: `tracing` caches callsite interest per process, so a
//! thread-local subscriber can miss events while other tests run in parallel.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use secrecy::SecretString;
use unisession_core::{DeviceScope, ListQuery, SessionProvider, UserId};
use unisession_emulator::{Emulator, EmulatorConfig, Faults, ProviderKind};
use unisession_http::RetryConfig;
use unisession_slack::SlackBuilder;

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
async fn no_token_appears_in_traces_errors_or_debug_output() {
    let capture = Capture::default();
    let writer = capture.clone();
    // Plain text: colour codes would split what the scan looks for.
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let emulator = Emulator::start(EmulatorConfig::new().users(3).only(ProviderKind::Slack))
        .await
        .unwrap();
    let slack = emulator.slack().unwrap();
    let retry = RetryConfig::default()
        .with_max_retries(4)
        .with_initial_backoff(Duration::from_millis(2));
    let build = |token: &str| {
        SlackBuilder::new(slack.base_url())
            .with_token(SecretString::from(token.to_owned()))
            .with_time_scale(1000.0)
            .with_retry(retry.clone())
            .build()
            .unwrap()
    };
    let admin = build(&slack.tokens().admin);
    let mut outputs = vec![format!("{admin:?} {admin}")];
    admin.list_sessions(&ListQuery::new()).await.unwrap();
    let alice = UserId::new(emulator.people()[1].slack_id.clone());
    // Through faults: retries are traced too.
    slack.set_faults(
        Faults::none()
            .with_server_errors(0.3)
            .with_rate_limits(0.3, Duration::from_millis(5)),
    );
    for _ in 0..4 {
        if let Err(e) = admin.revoke_user_sessions(&alice, DeviceScope::All).await {
            outputs.push(format!("{e} {e:?}"));
        }
    }
    slack.set_faults(Faults::none());
    let revoked = build(&slack.tokens().revoked);
    let err = revoked.list_sessions(&ListQuery::new()).await.unwrap_err();
    outputs.push(format!("{err} {err:?} {revoked:?}"));
    let traces = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        traces.contains("admin.users.session.list") && traces.contains("retrying"),
        "the calls and their retries were traced: {traces}"
    );
    outputs.push(traces);
    for token in [&slack.tokens().admin, &slack.tokens().revoked] {
        let forms = [
            token.clone(),
            url::form_urlencoded::byte_serialize(token.as_bytes()).collect(),
            base64::engine::general_purpose::STANDARD.encode(token),
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(token),
        ];
        for output in &outputs {
            for form in &forms {
                assert!(!output.contains(form.as_str()), "a token leaked");
            }
        }
    }
}
