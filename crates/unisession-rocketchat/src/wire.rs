//! Rocket.Chat's wire format (private serde types).

use serde::Deserialize;

/// `{success: false, error, errorType?, details?}`, plus the 401 compat fields.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Failure {
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub error_type: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub details: Option<Details>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Details {
    #[serde(default)]
    pub method: Option<String>,
    #[serde(default)]
    pub code_generated: Option<bool>,
    #[serde(default)]
    pub email_or_username: Option<String>,
}

/// `sessions/list` and `sessions/list.all`. `count` echoes the request: not the
/// number of items.
#[derive(Debug, Deserialize)]
pub(crate) struct SessionPage {
    /// Always sent (empty when there is nothing): without it, an answer proves nothing.
    pub sessions: Vec<SessionItem>,
    pub total: u64,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SessionItem {
    pub session_id: String,
    pub user_id: String,
    #[serde(default)]
    pub device: Option<DeviceInfo>,
    #[serde(default)]
    pub host: Option<String>,
    #[serde(default)]
    pub ip: Option<String>,
    #[serde(default)]
    pub login_at: Option<String>,
    #[serde(default)]
    pub current: Option<bool>,
    #[serde(default, rename = "_user")]
    pub user: Option<SessionUser>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DeviceInfo {
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub long_version: Option<String>,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub os: Option<OsInfo>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct OsInfo {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub version: Option<String>,
}

#[derive(Debug, Deserialize, serde::Serialize)]
pub(crate) struct SessionUser {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// `sessions/info` (raw document) and `sessions/info.admin` (list item shape).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SessionInfo {
    #[serde(default)]
    pub session_id: Option<String>,
    #[serde(default)]
    pub logout_at: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct UserInfo {
    pub user: User,
}

#[derive(Debug, Deserialize)]
pub(crate) struct UserList {
    /// Required: an answer without it proves nothing about who is absent.
    pub users: Vec<User>,
    #[serde(default)]
    pub total: Option<u64>,
}

/// `GET me`: the caller's global roles.
#[derive(Debug, Deserialize)]
pub(crate) struct Me {
    #[serde(default)]
    pub roles: Vec<String>,
}

/// `GET permissions.listAll`: each permission and the roles that hold it.
#[derive(Debug, Deserialize)]
pub(crate) struct Permissions {
    pub update: Vec<Permission>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Permission {
    #[serde(rename = "_id")]
    pub id: String,
    #[serde(default)]
    pub roles: Vec<String>,
}

/// Only whether listed sessions carry the `current` key at all.
#[derive(Debug, Deserialize)]
pub(crate) struct CurrentMarkers {
    #[serde(default)]
    pub sessions: Vec<CurrentMarker>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct CurrentMarker {
    #[serde(default)]
    pub current: Option<bool>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct User {
    #[serde(rename = "_id")]
    pub id: String,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub active: Option<bool>,
    #[serde(default)]
    pub emails: Vec<Email>,
    /// `user`, `bot`, `app`…
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Email {
    pub address: String,
}

/// `POST login`.
#[derive(Debug, Deserialize)]
pub(crate) struct Login {
    pub data: LoginData,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LoginData {
    pub auth_token: String,
    pub user_id: String,
}
