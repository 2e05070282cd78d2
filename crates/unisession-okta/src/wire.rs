//! Okta's JSON, as the management spec describes it (only the fields read).

use serde::Deserialize;

/// `User` (MGMT:85656): the fields a lookup needs.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct User {
    pub(crate) id: String,
    #[serde(default)]
    pub(crate) status: Option<String>,
    #[serde(default)]
    pub(crate) profile: Profile,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Profile {
    #[serde(default)]
    pub(crate) login: Option<String>,
    #[serde(default)]
    pub(crate) email: Option<String>,
    #[serde(default)]
    pub(crate) first_name: Option<String>,
    #[serde(default)]
    pub(crate) last_name: Option<String>,
}

/// A System Log event (`LogEvent`): what a verification reads.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LogEvent {
    #[serde(default)]
    pub(crate) uuid: Option<String>,
    pub(crate) published: String,
    pub(crate) event_type: String,
    #[serde(default)]
    pub(crate) actor: Option<LogActor>,
    #[serde(default)]
    pub(crate) target: Vec<LogActor>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct LogActor {
    pub(crate) id: String,
}

/// Okta's error body (`Error`, MGMT:69339).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ErrorBody {
    #[serde(default)]
    pub(crate) error_code: Option<String>,
    #[serde(default)]
    pub(crate) error_summary: Option<String>,
    #[serde(default)]
    pub(crate) error_id: Option<String>,
}

/// An OAuth error (`{"error","error_description"}`).
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct OAuthError {
    #[serde(default)]
    pub(crate) error: Option<String>,
    #[serde(default)]
    pub(crate) error_description: Option<String>,
}

/// The token endpoint's answer.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct TokenAnswer {
    pub(crate) access_token: String,
    #[serde(default)]
    pub(crate) token_type: Option<String>,
    #[serde(default)]
    pub(crate) expires_in: Option<u64>,
}
