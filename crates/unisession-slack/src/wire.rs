//! Slack's wire format (private serde types).

use serde::{Deserialize, Deserializer};

/// The envelope every Web API answer shares.
#[derive(Debug, Deserialize)]
pub(crate) struct Envelope {
    pub ok: bool,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub needed: Option<String>,
    #[serde(default)]
    pub provided: Option<String>,
    #[serde(default)]
    pub warning: Option<String>,
    #[serde(default)]
    pub response_metadata: Option<ResponseMetadata>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ResponseMetadata {
    #[serde(default)]
    pub next_cursor: Option<String>,
    #[serde(default)]
    pub warnings: Vec<String>,
    #[serde(default)]
    pub messages: Vec<String>,
}

/// `admin.users.session.list`. `active_sessions` is required (an empty result is the
/// `no_active_sessions` error): an `ok` answer without it proves nothing.
#[derive(Debug, Deserialize)]
pub(crate) struct SessionList {
    pub active_sessions: Vec<ActiveSession>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ActiveSession {
    pub user_id: String,
    #[serde(default)]
    pub team_id: Option<String>,
    #[serde(deserialize_with = "u64_from_number_or_string")]
    pub session_id: u64,
    #[serde(default)]
    pub recent: Option<SessionDetails>,
    #[serde(default)]
    pub created: Option<SessionDetails>,
}

#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
pub(crate) struct SessionDetails {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_hardware: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slack_client_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
}

/// `users.lookupByEmail`.
#[derive(Debug, Deserialize)]
pub(crate) struct Lookup {
    pub user: LookupUser,
}

#[derive(Debug, Deserialize)]
pub(crate) struct LookupUser {
    pub id: String,
    #[serde(default)]
    pub real_name: Option<String>,
    #[serde(default)]
    pub deleted: Option<bool>,
    #[serde(default)]
    pub profile: Option<Profile>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Profile {
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub real_name: Option<String>,
}

/// `admin.users.session.getSettings`.
#[derive(Debug, Deserialize)]
pub(crate) struct Settings {
    #[serde(default)]
    pub session_settings: Vec<UserSettings>,
    #[serde(default)]
    pub no_settings_applied: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct UserSettings {
    pub user_id: String,
    #[serde(default)]
    pub desktop_app_browser_quit: Option<bool>,
    #[serde(default)]
    pub duration: Option<u64>,
}

/// `auth.test`.
#[derive(Debug, Deserialize)]
pub(crate) struct AuthTest {
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub team_id: Option<String>,
    #[serde(default)]
    pub enterprise_id: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
}

/// Session ids are integers (docs, spec); some SDKs carry them as strings.
fn u64_from_number_or_string<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        Number(u64),
        Text(String),
    }
    match Id::deserialize(d)? {
        Id::Number(n) => Ok(n),
        Id::Text(s) => s.parse().map_err(serde::de::Error::custom),
    }
}

/// `users.list`.
#[derive(Debug, Deserialize)]
pub(crate) struct UsersList {
    #[serde(default)]
    pub members: Vec<Member>,
}

/// A member of `users.list`.
#[derive(Debug, Deserialize)]
pub(crate) struct Member {
    pub id: String,
    #[serde(default)]
    pub real_name: Option<String>,
    #[serde(default)]
    pub deleted: Option<bool>,
    #[serde(default)]
    pub is_bot: Option<bool>,
    #[serde(default)]
    pub is_app_user: Option<bool>,
    #[serde(default)]
    pub is_invited_user: Option<bool>,
    #[serde(default)]
    pub profile: Option<Profile>,
}

/// `admin.teams.list`.
#[derive(Debug, Deserialize)]
pub(crate) struct TeamsList {
    #[serde(default)]
    pub teams: Vec<Team>,
}

/// A workspace of `admin.teams.list`.
#[derive(Debug, Deserialize)]
pub(crate) struct Team {
    pub id: String,
}
