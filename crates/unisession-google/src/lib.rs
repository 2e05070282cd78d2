//! Google Workspace adapter for unisession: the Admin SDK Directory API's
//! `users.signOut`, with the OAuth tokens and app-specific passwords a sign-out
//! leaves, behind [`SessionProvider`](unisession_core::SessionProvider), ended first
//! by the fleet.
//!
//! # Mapping
//!
//! | trait method | Directory call | notes |
//! |---|---|---|
//! | `list_sessions`, `revoke_session` | — | the API has no session resource (`Unsupported`) |
//! | `revoke_user_sessions` | `users.get` (once per id its lookup did not answer), `users.signOut`, then `tokens.list` + `tokens.delete` per client and `asps.list` + `asps.delete` per password | `Revoked` without a count; each step after the sign-out can be turned off; a failure after the sign-out says the person is signed out but not every grant is revoked, and is not done |
//! | `find_user` | `users.get` with the email as key (primary or alias) | strongly consistent (the search lags up to 36 h); the answer must carry the address |
//! | `confirm_revocation` | `users.get` (`lastLoginTime`) | Google keeps no readable record of a sign-out: `Unverifiable` with that reason, or `StillActive` when the person signed in since |
//!
//! # What revocation does not reach
//!
//! * `signOut` "can take up to 60 minutes to log out the user from current Gmail HTTP
//!   sessions"; other applications vary.
//! * **OAuth tokens** granted to applications and **app-specific passwords** survive a
//!   sign-out: this adapter revokes them too, unless told not to (`oauth_tokens`,
//!   `app_passwords`).
//! * Access tokens already issued to applications stay valid until they expire (an
//!   hour).
//!
//! # Credentials
//!
//! A service account with **domain-wide delegation** of
//! `https://www.googleapis.com/auth/admin.directory.user.security` and
//! `…/admin.directory.user.readonly`, impersonating an administrator allowed to
//! manage users (`sub`). The JWT bearer assertion (RS256) is signed with the key
//! file's private key; the access token is cached until a minute before it expires.
//!
//! # Quota
//!
//! Quota answers are **403** `userRateLimitExceeded`, `rateLimitExceeded` or
//! `quotaExceeded` (and 429, and non-JSON 403/503): the transport retries them with
//! backoff, as Google asks; a 403 `forbidden` is a refusal.
#![warn(missing_docs)]

mod config;
#[doc(hidden)]
pub mod decode;
mod errors;
mod provider;
mod settings;
mod token;
mod wire;

pub use config::{BASE_URL, GoogleBuilder, TOKEN_URL};
pub use provider::GoogleProvider;
pub use settings::{GoogleSettings, KIND};
pub use token::SCOPES;
