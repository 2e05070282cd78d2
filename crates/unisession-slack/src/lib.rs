//! Slack adapter for unisession: `admin.users.session.*` behind
//! [`SessionProvider`](unisession_core::SessionProvider).
//!
//! ```no_run
//! # async fn run() -> unisession_core::Result<()> {
//! use unisession_core::{DeviceScope, Email, SessionProvider};
//! use unisession_slack::SlackBuilder;
//!
//! let slack = SlackBuilder::from_env("UNISESSION_SLACK_").build()?;
//! let alice = Email::parse("alice@corp.example")?;
//! if let Some(user) = slack.find_user(&alice).await?.into_user() {
//!     let outcome = slack.revoke_user_sessions(&user.id, DeviceScope::All).await?;
//!     println!("{outcome:?}");
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # Mapping
//!
//! | trait method | Slack method | tier | notes |
//! |---|---|---|---|
//! | `list_sessions` | `admin.users.session.list` | 2 | cursor pages (`limit` ≤ 1000, default 200); ends on an empty, null or absent `next_cursor`; `no_active_sessions` is an empty page; `team_id` + `user_id` are sent together when a workspace is configured, otherwise a user filter is applied to the organisation's listing on the client; `recent` is optional; session ids are 64-bit |
//! | `revoke_session` | `admin.users.session.invalidate` | 2 | needs the user: a `SessionRef` without one is `InvalidInput`; `session_not_found`, and `session_expired` (documented 2020–2024), are `AlreadyGone` |
//! | `revoke_user_sessions` | `users.info` (4), then `admin.users.session.reset` | 2 | `DeviceScope::Mobile` / `Web` send `mobile_only` / `web_only`; the count is unknown; an id its own lookup did not answer is confirmed first, and an unknown one is `NotFound` |
//! | `revoke_users_sessions` | `admin.users.session.resetBulk` | 2 | chunks of ≤ 1000 users; `Queued`; `failed_for_some_users` is resolved per user |
//! | `revoke_other_sessions` | — | | Slack has no such call: `Unsupported` |
//! | `find_user` | `users.lookupByEmail` | 3 | `users_not_found` is `NotFound` (deactivated users too); the user must carry the email in `profile.email`; `enterprise_is_restricted` (an org token) is `PermissionDenied` |
//! | `list_users` | `admin.teams.list` (3, once; skipped with a configured `team_id`), then `users.list` per workspace | 2 | `team_id` is required with an org token; `limit` ≤ 1000 (200 by default); deactivated, invited and bot members are marked so; `profile.email` needs `users:read.email` |
//! | `current_user` | `auth.test` | 4 | `user_id` |
//! | extras | `getSettings`, `setSettings`, `clearSettings`, `auth.test` | 4 | session duration policy; `whoami` |
//!
//! # What Slack requires
//!
//! * An **Enterprise** (Grid) organisation: elsewhere the methods answer
//!   `feature_not_enabled` or `team_not_on_enterprise_plan` (→ `PlanRequired`).
//! * An **org-level user token** (`xoxp-…`) of an Org Owner or Admin, from an app
//!   installed on the whole organisation, with the scopes `admin.users:read` (listing,
//!   getSettings), `admin.users:write` (invalidate, reset, resetBulk, set/clearSettings)
//!   `users:read` (`users.info`, the existence check, `users.list`), `users:read.email`
//!   (lookup, and emails in `users.list`) and `admin.teams:read` (the workspaces, unless
//!   `team_id` is configured). Bot tokens are refused (`not_allowed_token_type`).
//!   The token travels only in `Authorization: Bearer`.
//! * Only the primary owner may end the primary owner's sessions; bots cannot be reset.
//!
//! # Rate limits
//!
//! Slack limits each method per app and workspace: Tier 2 (20+ per minute) for the
//! session methods and `users.list`, Tier 3 (50+) for the lookup, Tier 4 (100+) for the
//! settings. The client paces each method on its own at 95 % of its tier's published
//! rate, shared by all clones of a provider, so bulk work runs just under the limit instead of collecting 429s. A 429
//! is retried after its `Retry-After`; an empty or non-JSON 429 body is still a rate
//! limit.
//!
//! # What `Queued` means
//!
//! `resetBulk` only enqueues a job: "An ok response from this endpoint does not mean
//! all sessions have been reset." Each user of an accepted call is
//! [`Revocation::Queued`](unisession_core::Revocation::Queued): accepted, not yet
//! confirmed. List the users' sessions later to confirm, as the fleet does.
//!
//! # Errors
//!
//! Every documented error code maps to an [`ErrorKind`](unisession_core::ErrorKind) in
//! `errors.rs` (table-tested); the code stays in [`Error::code`](unisession_core::Error::code),
//! and `missing_scope` names the scope needed. Warnings in `response_metadata` go to
//! `tracing`.
#![warn(missing_docs)]

mod config;
#[doc(hidden)]
pub mod decode;
mod directory;
mod errors;
mod extras;
mod provider;
mod settings;
mod wire;

pub use config::{DEFAULT_PACE, SlackBuilder, Tier};
pub use extras::{SessionSettings, SessionSettingsReport, UserSessionSettings};
pub use provider::{Identity, SlackProvider};
pub use settings::{KIND, SlackSettings};
