//! ONLYOFFICE DocSpace adapter for unisession: `api/2.0/security/activeconnections`
//! behind [`SessionProvider`](unisession_core::SessionProvider).
//!
//! ```no_run
//! # async fn run() -> unisession_core::Result<()> {
//! use unisession_core::SessionProvider;
//! use unisession_docspace::DocSpaceBuilder;
//!
//! let docspace = DocSpaceBuilder::from_env("UNISESSION_DOCSPACE_").build()?;
//! let mine = docspace.list_sessions(&Default::default()).await?;
//! println!("{} sessions", mine.items.len());
//! # Ok(())
//! # }
//! ```
//!
//! # Mapping
//!
//! | trait method | DocSpace call | quirks | permission |
//! |---|---|---|---|
//! | `list_sessions` | `GET security/activeconnections` | only the **caller's own** sessions (no REST call lists another user's); `current` comes from `loginEvent`, which only the `asc_auth_key` cookie sets; all items arrive at once and pages are cut on the client; dates carry an offset; IPv6 addresses arrive truncated to their first group and are kept as text; the synthetic item `id 0` is skipped | any user (API key: `*:read`) |
//! | `revoke_session` | `PUT logout/{loginEventId}` | `false` (unknown or closed id) is `AlreadyGone`; 403 is `PermissionDenied`; servers before 3.7.1 answer a forbidden call with 200 `false` too, which cannot be told apart from `AlreadyGone` | own sessions, or DocSpace admin (`*:write`) |
//! | `revoke_user_sessions` | `GET people/{userid}`, then `PUT logoutall/{userId}` | the id is checked as a GUID before sending; every token of the user dies; `logoutall` answers 200 for an unknown GUID (the "lost user"), so the user is confirmed first (skipped for ids its own lookup found) and an unknown one is `NotFound`; revoking **the caller's own user also ends the caller's credential** (the adapter adopts the cookie DocSpace re-issues); no device scope | self, or DocSpace admin (before 3.7.1: DocSpace or People admins, and not on other admins) |
//! | `revoke_other_sessions` | `PUT logoutallexceptthis` | offered only with a personal token or login (the cookie): with a header credential the server would also end the caller's own session | self |
//! | `find_user` | `GET people/email?email=` | 404 `ItemNotFoundException` is `NotFound`; the record must carry the email; ordinary users may not look up others (403) | DocSpace admin for others (API key: `accounts:read` or `*`) |
//! | `list_users` | `GET people/filter?count=&startIndex=` | `count` at most 100 (`[Range(1, 100)]`, `ApiContext.MaxCount` since v3.2.1-server; more is a 400 `ValidationProblemDetails`), so the limit is clamped; the cursor is the next `startIndex` (the answer names none) and a page follows while it is below the envelope's `total`; no `employeeStatus` is sent, so an admin sees everyone: `status` 2 (Terminated) is `Deactivated`, `activationStatus` 2 (Pending, invited) `Invited`; an empty `email` is none; listed ids count as known for `revoke_user_sessions` | DocSpace, room or People admin; users and guests get 403, and non-admins see no terminated people (API key: `accounts:read` or `*`) |
//! | `current_user` | `GET people/@self` | the `id` of the caller's own `EmployeeFullDto` | any user |
//! | extra | `PUT logoutallchangepassword` | [`DocSpaceProvider::logout_all_change_password`]: logs the caller out everywhere and returns the confirmation URL | self |
//!
//! # Credentials and capabilities
//!
//! | credential | sent as | current session known | `revoke_other_sessions` |
//! |---|---|---|---|
//! | API key (`sk-…`) | `Authorization: Bearer` | no | off |
//! | personal token | `Cookie: asc_auth_key=` | yes | on |
//! | login (user + password) | one `POST authentication`, then the cookie; re-login on 401 | yes | on |
//! | Basic (email + password) | `Authorization: Basic` | no | off |
//! | OAuth token | `Authorization: Bearer` | no | off |
//!
//! # Errors and limits
//!
//! Success envelope `{response, count, links, status: 0, statusCode}` (`people/filter`
//! adds `total`, the whole result's size, where `count` is the page's); errors
//! `{status: 1, statusCode, error: {message, type, …}}`; 401, scope 403, route-miss 404
//! and 429 come with **empty bodies**, 502/503 with HTML from the proxy. All map to
//! [`ErrorKind`](unisession_core::ErrorKind) in `errors.rs` (table-tested). Requests are
//! paced at 95 % of 1500 per minute with at most 15 in flight, the server's limits; a
//! 429's `Retry-After` is honoured. [`Capabilities::rate_limits`](unisession_core::Capabilities::rate_limits)
//! names the same 1500 a minute for every operation.
//!
//! # Sources
//!
//! The directory calls follow DocSpace-server: `products/ASC.People/Server/Api/UserController.cs`
//! (`SearchUsersByExtendedFilter` behind `people/filter`, its `SecurityException` for
//! users and guests, and `people/@self`), `common/ASC.Api.Core/Core/ApiContext.cs`
//! (`MaxCount` = 100, `count`/`startIndex`), `common/ASC.Api.Core/Middleware/CommonApiResponse.cs`
//! (the envelope's `count` and `total`) and `common/ASC.Core.Common/Data/DbUserService.cs`
//! (the `employeeStatus` and `activationStatus` filters).
#![warn(missing_docs)]

mod config;
#[doc(hidden)]
pub mod decode;
mod errors;
mod provider;
mod settings;
mod wire;

pub use config::{DocSpaceAuth, DocSpaceBuilder, default_rate};
pub use provider::DocSpaceProvider;
pub use settings::{AuthMode, DocSpaceSettings, KIND};
