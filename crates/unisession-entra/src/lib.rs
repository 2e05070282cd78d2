//! Microsoft Entra ID adapter for unisession: `revokeSignInSessions` through
//! Microsoft Graph behind [`SessionProvider`](unisession_core::SessionProvider),
//! ended first by the fleet and verified by the user's
//! `signInSessionsValidFromDateTime`.
//!
//! ```no_run
//! # async fn run() -> unisession_core::Result<()> {
//! use secrecy::SecretString;
//! use unisession_core::{DeviceScope, Email, SessionProvider};
//! use unisession_entra::EntraBuilder;
//!
//! let entra = EntraBuilder::new("corp.onmicrosoft.com", "0c5a7e9b-2d4f-4a6c-8e0b-1d3f5a7c9e2b")
//!     .with_client_secret(SecretString::from(std::env::var("ENTRA_CLIENT_SECRET").unwrap_or_default()))
//!     .build()?;
//! let alice = Email::parse("alice@corp.example")?;
//! if let Some(user) = entra.find_user(&alice).await?.into_user() {
//!     println!("{:?}", entra.revoke_user_sessions(&user.id, DeviceScope::All).await?);
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # Mapping
//!
//! | trait method | Graph call | notes |
//! |---|---|---|
//! | `list_sessions`, `revoke_session` | — | Graph v1.0 has neither (`Unsupported`) |
//! | `revoke_user_sessions` | `GET /users/{id}?$select=id,userType` (once per id its lookup did not answer), then `POST /users/{id}/revokeSignInSessions` | any 2xx is `Revoked` without a count (Graph answers 200 `{"value":true}` always; the body proves nothing); an unknown id is `NotFound`; a **guest** is `Unsupported` (success, but nothing happens for external users); a **B2C** tenant is `Unsupported` (the reset does not stop refresh tokens there); `Authorization_RequestDenied` names the permission |
//! | `find_user` | `GET /users?$filter=mail eq '…' or userPrincipalName eq '…' or otherMails/any(x:x eq '…') or proxyAddresses/any(x:x eq 'smtp:…')` with `ConsistencyLevel: eventual`, then `GET /users/{email}` | a UPN is not always the mail: every address is matched on the client; another person, everyone, or several people carrying the address are `IdentityMismatch` |
//! | `confirm_revocation` | `GET /users/{id}?$select=signInSessionsValidFromDateTime` | `Confirmed` once the time is at or after the request; nothing yet while it has not moved ("a small delay of a few minutes") |
//!
//! # What revocation does not reach
//!
//! * **Access tokens** already issued stay valid until they expire (60–90 minutes by
//!   default), except at services that take part in Continuous Access Evaluation,
//!   which act on the revocation within minutes.
//! * **Guests** (external users) sign in through their home tenant: their sessions are
//!   revoked there, not here.
//! * The sign-in logs would show a new sign-in, but need Entra ID P1/P2, lag 5–30
//!   minutes and allow 5 requests per 10 s: they are not read.
//!
//! # Credentials
//!
//! An app registration with the **application** permissions `User.Read.All` (lookup)
//! and `User.RevokeSessions.All` (revocation), admin-consented, authenticating with a
//! client secret or a certificate (an RS256 assertion naming the certificate's
//! thumbprint). The token (`scope` `https://graph.microsoft.com/.default`) is cached
//! until a minute before it expires and fetched again once when Graph answers 401.
//! Revoking a privileged administrator needs a directory role that may manage them.
//!
//! # Throttling
//!
//! Graph answers 429 `TooManyRequests` with a `Retry-After` in seconds (decimals
//! allowed), which the transport waits out.
#![warn(missing_docs)]

mod config;
#[doc(hidden)]
pub mod decode;
mod errors;
mod provider;
mod settings;
mod token;
mod wire;

pub use config::{EntraBuilder, GRAPH_URL, LOGIN_URL};
pub use provider::EntraProvider;
pub use settings::{EntraSettings, KIND};
