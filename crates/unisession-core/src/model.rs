//! The provider-neutral data model: identifiers, sessions, users, pages and queries.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

macro_rules! string_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps a provider's identifier. No validation happens here: each adapter
            /// parses the id into its own format (integer, GUID, ...) before sending it,
            /// and answers `ErrorKind::InvalidInput` when it does not fit.
            pub fn new(id: impl Into<String>) -> Self {
                Self(id.into())
            }

            /// The identifier as the provider spells it.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// Consumes the wrapper, returning the inner string.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self::new(value)
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self(value)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

string_id!(
    /// A session's identifier in its provider: a Slack 64-bit session id, a DocSpace
    /// login-event id, a Rocket.Chat `sessionId`, all carried as text.
    SessionId
);
string_id!(
    /// A user's identifier in one provider: a DocSpace GUID, a Rocket.Chat `_id`,
    /// a Slack `U…`/`W…` id. The same person has a different `UserId` in every provider.
    UserId
);
string_id!(
    /// An opaque pagination cursor, handed back unchanged to fetch the next page.
    Cursor
);

/// What kind of client holds a session, as far as the provider tells.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DeviceKind {
    /// A web browser.
    Browser,
    /// A desktop application.
    Desktop,
    /// A phone or tablet application.
    Mobile,
    /// An API client or integration.
    Api,
    /// The provider did not say, or said something unrecognised.
    #[default]
    Unknown,
}

/// The device a session lives on. Every field is optional: providers report sparse data.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Device {
    /// Browser, desktop, mobile...
    pub kind: DeviceKind,
    /// Hardware or browser name, e.g. `"Chrome 126"` or `"Apple iPhone"`.
    pub name: Option<String>,
    /// Operating system with version, e.g. `"Windows 10"`.
    pub os: Option<String>,
    /// Client application and version, e.g. `"Slack 4.41.105"`.
    pub client: Option<String>,
}

impl Device {
    /// A device of the given kind with no further detail.
    pub fn new(kind: DeviceKind) -> Self {
        Self {
            kind,
            ..Self::default()
        }
    }

    /// Sets the device name.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the operating system.
    pub fn with_os(mut self, os: impl Into<String>) -> Self {
        self.os = Some(os.into());
        self
    }

    /// Sets the client application.
    pub fn with_client(mut self, client: impl Into<String>) -> Self {
        self.client = Some(client.into());
        self
    }
}

/// One active session of one user in one provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Session {
    /// The provider's session id; pass it back through [`SessionRef`] to revoke it.
    pub id: SessionId,
    /// The user owning the session.
    pub user: UserId,
    /// The name of the provider instance that reported the session.
    pub provider: String,
    /// The device holding the session.
    pub device: Device,
    /// The client IP as the provider reports it. Kept as text: some providers
    /// truncate IPv6 addresses (DocSpace keeps only the first group).
    pub ip: Option<String>,
    /// A human-readable location, e.g. `"Berlin, Germany"`.
    pub location: Option<String>,
    /// When the session was created (login time).
    pub created_at: Option<DateTime<Utc>>,
    /// When the session was last seen active, where the provider tells.
    pub last_active_at: Option<DateTime<Utc>>,
    /// Whether this is the session of the credential making the request.
    pub current: bool,
    /// Provider-specific fields that have no place above.
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl Session {
    /// A session with the given ids and nothing else known.
    pub fn new(id: SessionId, user: UserId, provider: impl Into<String>) -> Self {
        Self {
            id,
            user,
            provider: provider.into(),
            device: Device::default(),
            ip: None,
            location: None,
            created_at: None,
            last_active_at: None,
            current: false,
            extra: serde_json::Map::new(),
        }
    }

    /// Sets the device.
    pub fn with_device(mut self, device: Device) -> Self {
        self.device = device;
        self
    }

    /// Sets the IP address text.
    pub fn with_ip(mut self, ip: impl Into<String>) -> Self {
        self.ip = Some(ip.into());
        self
    }

    /// Sets the location text.
    pub fn with_location(mut self, location: impl Into<String>) -> Self {
        self.location = Some(location.into());
        self
    }

    /// Sets the creation time.
    pub fn with_created_at(mut self, at: DateTime<Utc>) -> Self {
        self.created_at = Some(at);
        self
    }

    /// Sets the last-activity time.
    pub fn with_last_active_at(mut self, at: DateTime<Utc>) -> Self {
        self.last_active_at = Some(at);
        self
    }

    /// Marks the session as the caller's own current one.
    pub fn with_current(mut self, current: bool) -> Self {
        self.current = current;
        self
    }

    /// A reference to this session, carrying the user id for providers that need it.
    pub fn to_ref(&self) -> SessionRef {
        SessionRef::new(self.id.clone()).with_user(self.user.clone())
    }
}

/// Identifies one session to revoke.
///
/// Some providers need the owning user as well as the session id (Slack's
/// `admin.users.session.invalidate` takes both); see
/// [`Capabilities::revoke_session_requires_user`](crate::Capabilities::revoke_session_requires_user).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SessionRef {
    /// The session id.
    pub id: SessionId,
    /// The owning user, where known.
    pub user: Option<UserId>,
}

impl SessionRef {
    /// A reference by session id alone.
    pub fn new(id: impl Into<SessionId>) -> Self {
        Self {
            id: id.into(),
            user: None,
        }
    }

    /// Adds the owning user.
    pub fn with_user(mut self, user: impl Into<UserId>) -> Self {
        self.user = Some(user.into());
        self
    }
}

impl From<&Session> for SessionRef {
    fn from(session: &Session) -> Self {
        session.to_ref()
    }
}

/// A user found in a provider, typically by email.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UserRef {
    /// The provider's user id.
    pub id: UserId,
    /// The email the provider holds for the user.
    pub email: Option<String>,
    /// The display name.
    pub name: Option<String>,
    /// Whether the provider reports the account as active. `None` when it does not say.
    pub active: Option<bool>,
}

impl UserRef {
    /// A user known by id alone.
    pub fn new(id: impl Into<UserId>) -> Self {
        Self {
            id: id.into(),
            email: None,
            name: None,
            active: None,
        }
    }

    /// Sets the email.
    pub fn with_email(mut self, email: impl Into<String>) -> Self {
        self.email = Some(email.into());
        self
    }

    /// Sets the display name.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets whether the account is active.
    pub fn with_active(mut self, active: bool) -> Self {
        self.active = Some(active);
        self
    }
}

/// What a directory listing says of an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AccountStatus {
    /// A person who can sign in.
    Active,
    /// Deactivated or deleted: cannot sign in, holds no session.
    Deactivated,
    /// Invited, never signed in.
    Invited,
    /// A bot or application account, not a person.
    Bot,
}

impl AccountStatus {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Deactivated => "deactivated",
            Self::Invited => "invited",
            Self::Bot => "bot",
        }
    }
}

/// One account of a provider's directory, as
/// [`list_users`](crate::SessionProvider::list_users) shows it.
///
/// `user.email` is `None` where the credential cannot see the address: such a
/// listing cannot prove that somebody is absent.
///
/// ```
/// use unisession_core::{Account, AccountStatus, UserRef};
/// let bob = Account::new(UserRef::new("U2").with_email("bob@corp.example"), AccountStatus::Active);
/// assert!(bob.is_person());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Account {
    /// The user: id, email where visible, name.
    pub user: UserRef,
    /// Whether it is a person who can sign in.
    pub status: AccountStatus,
    /// Further addresses the account answers to, where a provider keeps several
    /// (Rocket.Chat): a lookup by any of them finds it, so a scan matches them too.
    pub other_emails: Vec<String>,
}

impl Account {
    /// An account.
    pub fn new(user: UserRef, status: AccountStatus) -> Self {
        Self {
            user,
            status,
            other_emails: Vec::new(),
        }
    }

    /// Sets the further addresses.
    pub fn with_other_emails(mut self, emails: impl IntoIterator<Item = String>) -> Self {
        self.other_emails = emails.into_iter().collect();
        self
    }

    /// Every address the account answers to: the email, then the others.
    pub fn emails(&self) -> impl Iterator<Item = &str> {
        self.user
            .email
            .as_deref()
            .into_iter()
            .chain(self.other_emails.iter().map(String::as_str))
    }

    /// An active person (not deactivated, invited, or a bot).
    pub fn is_person(&self) -> bool {
        self.status == AccountStatus::Active
    }
}

/// What a lookup by email established: the person, or that the provider has nobody
/// with this email.
///
/// `NotFound` is a claim an offboarding report counts as done, so a provider answers
/// it only when the server said so explicitly (Slack `users_not_found`, DocSpace's
/// `ItemNotFoundException`, Rocket.Chat's "User not found." to a filtered lookup),
/// and says how in `evidence`. A scan that cannot see the whole directory, or a
/// filter the server may have ignored, proves nothing: that is an error.
///
/// ```
/// use unisession_core::{UserLookup, UserRef};
/// let found = UserLookup::Found(UserRef::new("U1").with_email("alice@corp.example"));
/// assert_eq!(found.user().map(|u| u.id.as_str()), Some("U1"));
/// let absent = UserLookup::not_found("users.lookupByEmail answered users_not_found");
/// assert!(absent.user().is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "lookup", rename_all = "snake_case")]
#[non_exhaustive]
pub enum UserLookup {
    /// The provider holds this user, and its record carries the email asked for.
    Found(UserRef),
    /// The provider said explicitly that nobody has this email.
    NotFound {
        /// How the provider said so, for a person to read (the call and its answer).
        evidence: String,
    },
}

impl UserLookup {
    /// `NotFound` with how it was established.
    pub fn not_found(evidence: impl Into<String>) -> Self {
        Self::NotFound {
            evidence: evidence.into(),
        }
    }

    /// The user, when found.
    pub fn user(&self) -> Option<&UserRef> {
        match self {
            Self::Found(user) => Some(user),
            Self::NotFound { .. } => None,
        }
    }

    /// The user, when found.
    pub fn into_user(self) -> Option<UserRef> {
        match self {
            Self::Found(user) => Some(user),
            Self::NotFound { .. } => None,
        }
    }
}

/// One page of results and the cursor to the next one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Page<T> {
    /// The items of this page. A page may be empty and still have a next cursor.
    pub items: Vec<T>,
    /// The cursor of the next page; `None` on the last page.
    pub next_cursor: Option<Cursor>,
    /// The total number of items across all pages, where the provider reports it.
    pub total: Option<u64>,
}

impl<T> Page<T> {
    /// A page with the given items and next cursor.
    pub fn new(items: Vec<T>, next_cursor: Option<Cursor>) -> Self {
        Self {
            items,
            next_cursor,
            total: None,
        }
    }

    /// The last page: no cursor follows.
    pub fn last(items: Vec<T>) -> Self {
        Self::new(items, None)
    }

    /// Sets the total count.
    pub fn with_total(mut self, total: u64) -> Self {
        self.total = Some(total);
        self
    }
}

/// What to list, and from where.
///
/// ```
/// use unisession_core::{ListQuery, UserId};
/// let query = ListQuery::new().with_user(UserId::new("U0123456789")).with_limit(200);
/// assert_eq!(query.limit, Some(200));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ListQuery {
    /// Only this user's sessions. Requires
    /// [`Capabilities::list_user_sessions`](crate::Capabilities::list_user_sessions).
    pub user: Option<UserId>,
    /// Resume from this cursor (from a previous [`Page::next_cursor`]).
    pub cursor: Option<Cursor>,
    /// The page size wanted. Adapters clamp it to the provider's maximum.
    pub limit: Option<u32>,
}

impl ListQuery {
    /// Everything the credential can see, first page, provider's default size.
    pub fn new() -> Self {
        Self::default()
    }

    /// A query for one user's sessions.
    pub fn for_user(user: impl Into<UserId>) -> Self {
        Self::new().with_user(user)
    }

    /// Restricts to one user.
    pub fn with_user(mut self, user: impl Into<UserId>) -> Self {
        self.user = Some(user.into());
        self
    }

    /// Continues from a cursor.
    pub fn with_cursor(mut self, cursor: Option<Cursor>) -> Self {
        self.cursor = cursor;
        self
    }

    /// Sets the page size.
    pub fn with_limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }
}

/// Which of a user's devices a user-wide revocation reaches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DeviceScope {
    /// Every session on every device.
    #[default]
    All,
    /// Only mobile sessions (Slack `mobile_only`).
    Mobile,
    /// Only web sessions (Slack `web_only`).
    Web,
}

impl fmt::Display for DeviceScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::All => "all",
            Self::Mobile => "mobile",
            Self::Web => "web",
        })
    }
}

impl std::str::FromStr for DeviceScope {
    type Err = crate::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "all" => Ok(Self::All),
            "mobile" => Ok(Self::Mobile),
            "web" => Ok(Self::Web),
            other => Err(crate::Error::new(
                crate::ErrorKind::InvalidInput,
                format!("unknown device scope {other:?}: expected all, mobile or web"),
            )),
        }
    }
}
