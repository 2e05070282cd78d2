//! No token in any output, traces at TRACE level included: successful calls, a
//! refused token, injected server errors and rate limits with their retries.
//! Alone in its binary: `tracing` caches callsite interest per process, so a
//! thread-local subscriber can miss events while other tests run in parallel.

use std::time::Duration;

use base64::Engine;
use secrecy::SecretString;
use unisession_core::{DeviceScope, ListQuery, SessionProvider, UserId};
use unisession_emulator::{Emulator, EmulatorConfig, Faults, ProviderKind};
use unisession_http::RetryConfig;
use unisession_slack::SlackBuilder;

#[tokio::test]
async fn no_token_appears_in_traces_errors_or_debug_output() {
    let (capture, _guard) = unisession_testkit::capture::traces();

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
            .with_transport(
                unisession_http::TransportOptions::new()
                    .with_time_scale(1000.0)
                    .with_retry(retry.clone()),
            )
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
    let traces = capture.text();
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
