//! The core of unisession: one trait to list and revoke user sessions in any SaaS tool.
//!
//! Identity and security teams use unisession to answer "log this person out of
//! everything, now, and prove it". This crate holds what every provider shares and
//! nothing else: no HTTP client, no TLS, no async runtime. A library that only
//! implements or consumes the trait stays light.
//!
//! * [`SessionProvider`]: the few primitives a provider implements.
//! * [`SessionProviderExt`]: conveniences for every provider (a stream over all pages
//!   with one page in memory, revoke-and-verify, counting a user's sessions).
//! * [`Capabilities`]: what a provider can do with its credential, known before any
//!   request; [`Checked`] refuses the rest with [`ErrorKind::Unsupported`].
//! * [`Revocation`] and [`Verification`]: outcomes that never round a failure up to success.
//! * [`Error`] and [`ErrorKind`]: one error type for every provider.
//! * [`InMemoryProvider`]: a complete provider in memory, for your tests.
//! * Feature `mock`: `MockSessionProvider`. Feature `conformance`: the `conformance` module,
//!   the behaviour suite every provider runs.
//!
//! # Implementing a provider
//!
//! ```
//! use async_trait::async_trait;
//! use unisession_core::{
//!     Capabilities, DeviceScope, ListQuery, Page, Result, Revocation, Session, SessionProvider,
//!     SessionRef, UserId,
//! };
//!
//! #[derive(Debug)]
//! struct Wiki {
//!     capabilities: Capabilities,
//! }
//!
//! impl std::fmt::Display for Wiki {
//!     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
//!         f.write_str("wiki")
//!     }
//! }
//!
//! #[async_trait]
//! impl SessionProvider for Wiki {
//!     fn capabilities(&self) -> &Capabilities {
//!         &self.capabilities
//!     }
//!     async fn list_sessions(&self, _query: &ListQuery) -> Result<Page<Session>> {
//!         Ok(Page::last(Vec::new())) // call your tool's API here
//!     }
//!     async fn revoke_session(&self, _session: &SessionRef) -> Result<Revocation> {
//!         Ok(Revocation::AlreadyGone)
//!     }
//!     async fn revoke_user_sessions(&self, _user: &UserId, _scope: DeviceScope) -> Result<Revocation> {
//!         Ok(Revocation::revoked_unknown_count())
//!     }
//! }
//!
//! let mut capabilities = Capabilities::none();
//! capabilities.list_all_sessions = true;
//! capabilities.revoke_session = true;
//! capabilities.revoke_user_sessions = true;
//! let wiki: std::sync::Arc<dyn SessionProvider> = std::sync::Arc::new(Wiki { capabilities });
//! assert!(wiki.capabilities().revoke_session);
//! ```
#![warn(missing_docs)]

mod capabilities;
mod checked;
mod email;
mod error;
mod ext;
mod memory;
mod model;
mod provider;
mod revocation;
pub mod telemetry;

#[cfg(feature = "conformance")]
pub mod conformance;
#[cfg(feature = "mock")]
mod mock;

pub use capabilities::{Capabilities, Operation};
pub use checked::Checked;
pub use email::{Email, MAX_EMAIL_LEN};
pub use error::{Error, ErrorKind, Result};
pub use ext::SessionProviderExt;
pub use memory::{InMemoryProvider, InMemoryProviderBuilder};
#[cfg(feature = "mock")]
pub use mock::MockSessionProvider;
pub use model::{
    Account, AccountStatus, Cursor, Device, DeviceKind, DeviceScope, ListQuery, Page, Session,
    SessionId, SessionRef, UserId, UserLookup, UserRef,
};
pub use provider::SessionProvider;
pub use revocation::{Revocation, Verification, VerifiedRevocation};

/// Re-exported so implementors use the same `async_trait` as the trait.
pub use async_trait::async_trait;
