//! The three adapters wired to the embedded emulators (feature `emulator`): what the
//! demo, the examples and the end-to-end tests run against, with no credentials.

use std::sync::Arc;

use secrecy::SecretString;
use unisession_core::{Error, Result, SessionProvider};
use unisession_emulator::Emulator;
use unisession_http::{RetryConfig, Settings, TransportOptions};

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

/// One provider per started emulator, named after its kind, built through the
/// [registry](crate::registry) from what the emulator says its administrator connects
/// with (DocSpace's personal token as the cookie, Rocket.Chat's personal access token
/// in workspace scope, Slack's org admin token), the secrets handed over in memory.
pub fn providers(
    emulator: &Emulator,
    options: &EmulatedOptions,
) -> Result<Vec<(String, Arc<dyn SessionProvider>)>> {
    let mut providers: Vec<(String, Arc<dyn SessionProvider>)> = Vec::new();
    for served in emulator.served() {
        let connection = served.connection();
        let kind = connection.kind.as_str();
        let registered = crate::registry::find(kind).ok_or_else(|| {
            Error::invalid_input(format!("no adapter is registered for kind {kind:?}"))
        })?;
        let transport = TransportOptions::new()
            .with_name(kind)
            .with_retry(options.retry.clone())
            .with_time_scale(options.time_scale);
        let settings = connection.secrets.iter().fold(
            Settings::new(connection.settings.clone(), ".", transport),
            |settings, (key, secret)| {
                settings.with_secret(*key, SecretString::from(secret.clone()))
            },
        );
        let adapter = (registered.build)(&settings)
            .map_err(|e| Error::invalid_input(e.to_string()).with_provider(kind))?;
        providers.push((kind.to_owned(), adapter));
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
