//! Rocket.Chat adapter for unisession: device management (`sessions/*`),
//! `users.logout` and `users.removeOtherTokens` behind
//! [`SessionProvider`](unisession_core::SessionProvider), with the 2FA challenge.
//!
//! ```no_run
//! # async fn run() -> unisession_core::Result<()> {
//! use unisession_core::{DeviceScope, Email, SessionProvider};
//! use unisession_rocketchat::RocketChatBuilder;
//!
//! let rocketchat = RocketChatBuilder::from_env("UNISESSION_ROCKETCHAT_").build()?;
//! let alice = Email::parse("alice@corp.example")?;
//! if let Some(user) = rocketchat.find_user(&alice).await?.into_user() {
//!     rocketchat.revoke_user_sessions(&user.id, DeviceScope::All).await?;
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # Mapping
//!
//! | trait method | workspace scope (default) | own scope | license | permission |
//! |---|---|---|---|---|
//! | `list_sessions` | `GET sessions/list.all` (2FA) | `GET sessions/list` | Enterprise | `view-device-management` (workspace) |
//! | `revoke_session` | `GET sessions/info.admin` then `POST sessions/logout` (2FA) | `GET sessions/info` then `POST sessions/logout.me` | Enterprise | `logout-device-management` (workspace) |
//! | `revoke_user_sessions` | `GET users.info?userId=`, then `POST users.logout` | same | none | `logout-other-user` for others |
//! | `revoke_other_sessions` | `POST users.removeOtherTokens` | same | none | none |
//! | `find_user` | `GET users.info?email=` (8.4+), else `users.list?query=` | same | none | `view-full-other-user-info` for others (checked once with `me` and `permissions.listAll`) |
//! | `list_users` | `GET users.list?count=&offset=` (no `fields`, no `query`) | same | none | `view-d-room`; emails only with `view-full-other-user-info` |
//! | `current_user` | the credential's user id (no call) | same | none | none |
//!
//! * Pages: `offset`/`count` with `count` ≤ 100 (never 0) and `total`; one session
//!   per login token, newest first; `current` where the server marks it (own scope).
//! * An unknown session answers 404 "Session not found" (the spec says 400): that is
//!   [`Revocation::AlreadyGone`](unisession_core::Revocation::AlreadyGone). A repeated
//!   logout answers 200, so the adapter asks `info` first (see
//!   [`RocketChatBuilder::with_precheck`]).
//!
//! # Truthful outcomes
//!
//! * `users.logout` answers 200 "User X has been logged out!" for **any** id
//!   (`Users.unsetLoginTokens` is an `updateOne`, always truthy): the user is confirmed
//!   with `users.info?userId=` first (unless this adapter's own lookup found it), and
//!   an unknown id is [`NotFound`](unisession_core::ErrorKind::NotFound), never revoked.
//! * A lookup is believed only when the record carries the email asked for (any of its
//!   `emails[].address`); otherwise it is
//!   [`IdentityMismatch`](unisession_core::ErrorKind::IdentityMismatch).
//! * "User not found." to `users.info?email=` proves absence only for a caller holding
//!   `view-full-other-user-info`: to anybody else the server answers it for every
//!   other user. Without the permission that is `PermissionDenied`.
//! * Before 8.4 the lookup falls back to `users.list?query=`, which from 7.0 the
//!   server ignores unless `ALLOW_UNSAFE_QUERY_AND_FIELDS_API_PARAMS` is set (and
//!   before 7.0 drops for callers without the permission): the answer is then the
//!   first page of everybody. The person on it is found; anybody else is
//!   `Unsupported`, with what the server needs, never "not found". Only an empty
//!   answer proves absence (an ignored filter lists at least the caller).
//! * A 401 `{"error":"unauthorized"}` (a missing permission on some builds) is
//!   `PermissionDenied` and never costs a new login.
//! * `current` marks the caller's session only on servers from about 8.7 (PR
//!   #40351): the own scope claims `marks_current_session` once a listing shows it.
//!
//! # `users.logout` versus device sessions
//!
//! `users.logout` works on every edition and ends **every** login token of the user,
//! **personal access tokens included**: integrations running as that user stop too.
//! [`UserRevocation::DeviceSessions`] instead logs out only the sessions device
//! management lists, one by one (Enterprise), and leaves personal access tokens alive.
//! Revoking the caller's own user with `users.logout` ends the caller's token as well.
//!
//! # License
//!
//! Device management is an Enterprise feature. Without the license the server answers
//! 400 `error-action-not-allowed` (older servers: 401/403 `unauthorized`): the adapter
//! reports `PlanRequired` with the server's message and narrows its
//! [`Capabilities`](unisession_core::Capabilities) to the token APIs, which work on
//! every edition. [`RocketChatProvider::narrow_to_community`] does it up front.
//!
//! # Second factor
//!
//! Workspace calls require 2FA. On `totp-required` the adapter reads
//! `details.method`, obtains a code for exactly that method and retries the same
//! request once with `x-2fa-code` and `x-2fa-method`:
//!
//! * `password`: the lowercase hex SHA-256 of the UTF-8 password
//!   ([`password_digest`]); configure it with
//!   [`with_two_factor_password`](RocketChatBuilder::with_two_factor_password) or a login;
//! * `totp`: from a base32 secret ([`with_totp_secret`](RocketChatBuilder::with_totp_secret))
//!   or a callback;
//! * `email`: from an async callback, since the server has just mailed the code.
//!
//! `totp-invalid` and `totp-max-attempts` are final
//! [`TwoFactorInvalid`](unisession_core::ErrorKind::TwoFactorInvalid) errors: no loop.
//! The server then remembers the second factor for 30 minutes per token and client. A
//! personal access token created with "ignore two-factor" needs none.
//!
//! # Rate limits
//!
//! Rocket.Chat limits each route per client (10 calls a minute by default) and exempts
//! administrators (`api-bypass-rate-limit`). The adapter spends the budget announced in
//! `X-RateLimit-Remaining`/`X-RateLimit-Reset` (an epoch in milliseconds) and waits for
//! the reset rather than drawing a 429; a 429 (or an old server's 400
//! `error-too-many-requests`) is retried after the reset.
#![warn(missing_docs)]

mod config;
#[doc(hidden)]
pub mod decode;
mod directory;
mod errors;
mod lookup;
mod provider;
mod session;
mod settings;
mod twofactor;
mod wire;

pub use config::{RocketChatBuilder, Scope, UserRevocation};
pub use provider::RocketChatProvider;
pub use settings::{KIND, RocketChatSettings};
pub use twofactor::{CodeCallback, TwoFactorChallenge, TwoFactorMethod, password_digest};
