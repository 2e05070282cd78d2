//! unisession: list and revoke user sessions across SaaS tools through one API.
//!
//! "This person is leaving, or this account is compromised: log them out of
//! everything, now, and prove it." unisession gives identity and security teams one
//! trait, [`SessionProvider`], implemented for ONLYOFFICE DocSpace, Rocket.Chat and
//! Slack, and open to any other tool.
//!
//! This facade re-exports [`unisession_core`]; the provider adapters are enabled by
//! the `docspace`, `rocketchat` and `slack` features (all on by default).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> unisession::Result<()> {
//! use futures::TryStreamExt;
//! use unisession::{DeviceKind, DeviceScope, InMemoryProvider, ListQuery, SessionProvider, SessionProviderExt};
//!
//! let provider = InMemoryProvider::new();
//! let alice = provider.add_user("alice@corp.example", "Alice");
//! provider.add_session(&alice, DeviceKind::Browser);
//! provider.add_session(&alice, DeviceKind::Mobile);
//!
//! let alice = unisession::Email::parse("alice@corp.example")?;
//! let user = provider.find_user(&alice).await?.into_user().expect("known");
//! let outcome = provider.revoke_user_sessions(&user.id, DeviceScope::All).await?;
//! println!("{outcome:?}");
//! let left: Vec<_> = provider.list_all(ListQuery::for_user(user.id)).try_collect().await?;
//! assert!(left.is_empty());
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs)]

pub use unisession_core::*;

pub mod fleet;

#[cfg(feature = "emulator")]
pub mod emulated;

/// The transport settings the adapters' builders take, and what adapters register
/// (with any adapter feature).
#[cfg(feature = "registry")]
pub mod http {
    pub use unisession_http::{
        Adapter, AdapterKind, COMMON_KEYS, CallEvent, CallObserver, ConfigError, Observation, Rate,
        RetryConfig, SECRET_KEYS, Settings, TransportOptions, observe_calls,
    };
}

#[cfg(feature = "registry")]
pub mod registry;

/// The emulators (feature `emulator`).
#[cfg(feature = "emulator")]
pub use unisession_emulator as emulator;

/// The ONLYOFFICE DocSpace adapter (feature `docspace`).
#[cfg(feature = "docspace")]
pub use unisession_docspace as docspace;

/// The Rocket.Chat adapter (feature `rocketchat`).
#[cfg(feature = "rocketchat")]
pub use unisession_rocketchat as rocketchat;

/// The Microsoft Entra ID adapter (feature `entra`).
#[cfg(feature = "entra")]
pub use unisession_entra as entra;
/// The Google Workspace adapter (feature `google`).
#[cfg(feature = "google")]
pub use unisession_google as google;
/// The Okta adapter (feature `okta`).
#[cfg(feature = "okta")]
pub use unisession_okta as okta;
/// The Slack adapter (feature `slack`).
#[cfg(feature = "slack")]
pub use unisession_slack as slack;
