//! No token, password, password hash or 2FA code in any output, traces included.
//! Alone in its binary: `tracing` caches callsite interest per process, so a
//! thread-local subscriber can miss events while other tests run in parallel.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use unisession_core::{ListQuery, SessionProvider};
use unisession_emulator::{Emulator, EmulatorConfig, ProviderKind, RocketChatEmulator};
use unisession_http::RetryConfig;
use unisession_rocketchat::{RocketChatBuilder, password_digest};

async fn emulator(users: usize) -> Emulator {
    Emulator::start(
        EmulatorConfig::new()
            .users(users)
            .only(ProviderKind::RocketChat),
    )
    .await
    .expect("emulator starts")
}

fn base(rc: &RocketChatEmulator) -> RocketChatBuilder {
    let retry = RetryConfig::default()
        .with_max_retries(2)
        .with_initial_backoff(Duration::from_millis(5));
    RocketChatBuilder::new(rc.base_url())
        .with_transport(unisession_http::TransportOptions::new().with_retry(retry))
}

#[tokio::test]
async fn no_token_password_hash_or_code_appears_in_any_output() {
    let (capture, _guard) = unisession_testkit::capture::traces();

    let emulator = emulator(2).await;
    let rc = emulator.rocketchat().unwrap();
    let c = rc.credentials().clone();
    let builder = base(rc)
        .with_token(
            c.admin_user_id.clone(),
            SecretString::from(c.admin_token.clone()),
        )
        .with_two_factor_password(SecretString::from(c.admin_password.clone()))
        .with_totp_secret(SecretString::from(c.admin_totp_secret.clone()));
    let mut outputs = vec![format!("{builder:?}")];
    let provider = builder.build().unwrap();
    provider.list_sessions(&ListQuery::new()).await.unwrap();
    rc.update_config(|c| c.remember_two_factor = Duration::ZERO);
    let failing = base(rc)
        .with_token(
            c.admin_user_id.clone(),
            SecretString::from(c.admin_token.clone()),
        )
        .with_two_factor_password(SecretString::from("wrong-password-value"))
        .build()
        .unwrap();
    let err = failing.list_sessions(&ListQuery::new()).await.unwrap_err();
    // The emailed-code method: the code the server sent must not be traced either.
    rc.update_config(|c| c.admin_two_factor = unisession_emulator::TwoFactorMethod::Email);
    let codes = Arc::new(Mutex::new(Vec::new()));
    let (seen, mailbox, admin) = (codes.clone(), rc.clone(), c.admin_user_id.clone());
    let emailed = base(rc)
        .with_token(
            c.admin_user_id.clone(),
            SecretString::from(c.admin_token.clone()),
        )
        .with_email_code_callback(move |_| {
            let code = mailbox.last_email_code(&admin).unwrap_or_default();
            seen.lock().unwrap().push(code.clone());
            async move { Ok(SecretString::from(code)) }
        })
        .build()
        .unwrap();
    emailed.list_sessions(&ListQuery::new()).await.unwrap();
    let codes = codes.lock().unwrap().clone();
    assert!(
        !codes.is_empty() && codes.iter().all(|c| c.len() == 6),
        "{codes:?}"
    );
    outputs.push(format!("{provider:?} {provider} {err} {err:?}"));
    let traces = capture.text();
    assert!(
        traces.contains("api/v1/sessions/list.all"),
        "the calls were traced: {traces}"
    );
    assert!(
        traces.contains("x-2fa") || traces.contains("retry") || traces.contains("status=400"),
        "the challenge was traced: {traces}"
    );
    outputs.push(traces);
    let digest = password_digest(&SecretString::from(c.admin_password.clone()))
        .expose_secret()
        .to_owned();
    let wrong_digest = password_digest(&SecretString::from("wrong-password-value"))
        .expose_secret()
        .to_owned();
    for output in &outputs {
        // A six-digit code would show as a word of its own (timestamps and ports
        // make other words).
        let words: Vec<&str> = output.split(|c: char| !c.is_ascii_alphanumeric()).collect();
        for code in &codes {
            assert!(!words.contains(&code.as_str()), "an emailed code leaked");
        }
    }
    for output in outputs {
        for secret in [
            &c.admin_token,
            &c.admin_password,
            &c.admin_totp_secret,
            &digest,
            &wrong_digest,
        ] {
            assert!(!output.contains(secret.as_str()), "secret leaked: {output}");
        }
    }
}
