//! The three adapters wired to the embedded emulators (feature `emulator`): what the
//! demo, the examples and the end-to-end tests run against, with no credentials.

use std::sync::Arc;

use secrecy::SecretString;
use unisession_core::{Error, Result, SessionProvider};
use unisession_emulator::Emulator;
use unisession_http::RetryConfig;

/// How to connect to the emulators.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct EmulatedOptions {
    /// How much faster than real time the emulators' rate-limit windows run; the
    /// adapters' pacing follows (1.0: real time).
    pub time_scale: f64,
    /// The retry policy of every adapter.
    pub retry: RetryConfig,
}

impl Default for EmulatedOptions {
    fn default() -> Self {
        Self {
            time_scale: 1.0,
            retry: RetryConfig::default(),
        }
    }
}

impl EmulatedOptions {
    /// Sets the time scale.
    pub fn with_time_scale(mut self, scale: f64) -> Self {
        self.time_scale = scale;
        self
    }

    /// Sets the retry policy.
    pub fn with_retry(mut self, retry: RetryConfig) -> Self {
        self.retry = retry;
        self
    }
}

/// One provider per started emulator, named `docspace`, `rocketchat` and `slack`,
/// each with the emulator's administrator credential: DocSpace's personal token (as
/// the cookie), Rocket.Chat's personal access token (no 2FA, workspace scope) and
/// Slack's org admin token.
pub fn providers(
    emulator: &Emulator,
    options: &EmulatedOptions,
) -> Result<Vec<(String, Arc<dyn SessionProvider>)>> {
    let mut providers: Vec<(String, Arc<dyn SessionProvider>)> = Vec::new();
    if let Some(ds) = emulator.docspace() {
        let rate = unisession_http::Rate::per_minute(1500).scaled(0.95 * options.time_scale);
        let provider = unisession_docspace::DocSpaceBuilder::new(ds.base_url())
            .with_personal_token(SecretString::from(ds.credentials().admin_token.clone()))
            .with_retry(options.retry.clone())
            .with_rate(rate)
            .build()?;
        providers.push(("docspace".to_owned(), Arc::new(provider)));
    }
    if let Some(rc) = emulator.rocketchat() {
        let c = rc.credentials();
        let provider = unisession_rocketchat::RocketChatBuilder::new(rc.base_url())
            .with_token(
                c.admin_user_id.clone(),
                SecretString::from(c.admin_pat.clone()),
            )
            .with_retry(options.retry.clone())
            .build()?;
        providers.push(("rocketchat".to_owned(), Arc::new(provider)));
    }
    if let Some(slack) = emulator.slack() {
        let provider = unisession_slack::SlackBuilder::new(slack.base_url())
            .with_token(SecretString::from(slack.tokens().admin.clone()))
            .with_time_scale(options.time_scale)
            .with_retry(options.retry.clone())
            .build()?;
        providers.push(("slack".to_owned(), Arc::new(provider)));
    }
    if providers.is_empty() {
        return Err(Error::invalid_input("no emulator was started"));
    }
    Ok(providers)
}

/// A fleet builder holding [`providers`].
pub fn fleet(emulator: &Emulator, options: &EmulatedOptions) -> Result<crate::fleet::FleetBuilder> {
    Ok(providers(emulator, options)?.into_iter().fold(
        crate::fleet::Fleet::builder(),
        |builder, (name, provider)| builder.provider(name, provider),
    ))
}
