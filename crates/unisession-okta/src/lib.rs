//! Okta adapter for unisession: the identity provider's sessions behind
//! [`SessionProvider`](unisession_core::SessionProvider), ended first by the fleet
//! (so a person cannot sign back in to the applications) and verified in the System
//! Log.
//!
//! ```no_run
//! # async fn run() -> unisession_core::Result<()> {
//! use secrecy::SecretString;
//! use unisession_core::{DeviceScope, Email, SessionProvider};
//! use unisession_okta::OktaBuilder;
//!
//! let okta = OktaBuilder::new("https://corp.okta.com/")
//!     .with_api_token(SecretString::from(std::env::var("OKTA_API_TOKEN").unwrap_or_default()))
//!     .build()?;
//! let alice = Email::parse("alice@corp.example")?;
//! if let Some(user) = okta.find_user(&alice).await?.into_user() {
//!     let outcome = okta.revoke_user_sessions(&user.id, DeviceScope::All).await?;
//!     println!("{outcome:?}");
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # Mapping
//!
//! | trait method | Okta call | notes |
//! |---|---|---|
//! | `list_sessions` | — | Okta's API cannot list sessions (`Unsupported`) |
//! | `revoke_session` | `DELETE /api/v1/sessions/{id}` | 204; 404 E0000007 is `AlreadyGone`; ids are not discoverable through the API |
//! | `revoke_user_sessions` | `GET /api/v1/users/{id}` (once per unknown id), then `DELETE /api/v1/users/{id}/sessions?oauthTokens=true&forgetDevices=true` | 204 without a count; an id nobody has is `NotFound`; a login is refused (the endpoint takes an id) |
//! | `find_user` | `GET /api/v1/users?search=profile.email eq "…"`, then `GET /api/v1/users/{email}` | the answer must carry the email, once: another person, everyone, or several people with it are `IdentityMismatch`; nobody in the search and a 404 by login is `NotFound` with that evidence |
//! | `confirm_revocation` | `GET /api/v1/logs?filter=(eventType eq "user.session.clear" and target.id eq "…") or (eventType eq "user.session.start" and actor.id eq "…")` | one call; `Confirmed` with the event; `StillActive` when the person signed in again since; nothing yet while the log lags |
//!
//! # What revocation does not reach
//!
//! * The sessions of web and native **applications**: Okta "doesn't clear the
//!   sessions created for web or native apps". Each application keeps its own session
//!   until it asks Okta again; the fleet revokes the applications it knows next.
//! * **OAuth access tokens** already issued stay valid until they expire (an hour by
//!   default) unless the resource server introspects them. Refresh tokens are revoked
//!   with `oauthTokens=true`, which this adapter sends by default (Okta's own default
//!   is false); `revoke_oauth_tokens(false)` leaves them, and [`OktaProvider::revokes_oauth_tokens`]
//!   says which.
//!
//! # Credentials
//!
//! * An **API token** (`Authorization: SSWS …`) of an administrator allowed to manage
//!   users (a Read-Only Administrator's token is refused with E0000006), or
//! * an **OAuth 2.0 service app** with `private_key_jwt` (RS256 or ES256), granted
//!   `okta.users.read`, `okta.users.manage` and, to verify, `okta.logs.read`, with an
//!   admin role that allows them. Its access token is cached until a minute before it
//!   expires, and fetched again once when the API answers 401.
//!
//! # Rate limits
//!
//! Okta counts requests per endpoint bucket and announces the budget in
//! `X-Rate-Limit-Limit`, `-Remaining` and `-Reset` (epoch seconds, counted from the
//! answer's `Date`). The client spends the announced budget before it draws a 429,
//! and a 429 (E0000047, no `Retry-After`) waits for the reset.
#![warn(missing_docs)]

mod config;
#[doc(hidden)]
pub mod decode;
mod errors;
mod provider;
mod settings;
mod token;
mod wire;

pub use config::{DEFAULT_SCOPES, OktaBuilder};
pub use provider::OktaProvider;
pub use settings::{KIND, OktaAuth, OktaSettings};
