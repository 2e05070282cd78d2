//! The Directory API's JSON (only the fields read).

use serde::Deserialize;

/// `User` (DIR:7799).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct User {
    pub(crate) id: String,
    #[serde(default)]
    pub(crate) primary_email: Option<String>,
    #[serde(default)]
    pub(crate) aliases: Vec<String>,
    #[serde(default)]
    pub(crate) non_editable_aliases: Vec<String>,
    #[serde(default)]
    pub(crate) name: Option<Name>,
    #[serde(default)]
    pub(crate) suspended: Option<bool>,
    #[serde(default)]
    pub(crate) last_login_time: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Name {
    #[serde(default)]
    pub(crate) full_name: Option<String>,
}

impl User {
    /// The primary email and every alias.
    pub(crate) fn addresses(&self) -> Vec<&str> {
        let mut all: Vec<&str> = self.primary_email.iter().map(String::as_str).collect();
        all.extend(self.aliases.iter().map(String::as_str));
        all.extend(self.non_editable_aliases.iter().map(String::as_str));
        all
    }
}

/// `Tokens` (DIR:7776): one page.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct Tokens {
    #[serde(default)]
    pub(crate) items: Vec<Token>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Token {
    pub(crate) client_id: String,
}

/// `Asps` (DIR:4720).
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct Asps {
    #[serde(default)]
    pub(crate) items: Vec<Asp>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Asp {
    pub(crate) code_id: i64,
}

/// Google's error envelope.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct ErrorEnvelope {
    #[serde(default)]
    pub(crate) error: Option<ErrorBody>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct ErrorBody {
    #[serde(default)]
    pub(crate) message: Option<String>,
    #[serde(default)]
    pub(crate) errors: Vec<ErrorItem>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct ErrorItem {
    #[serde(default)]
    pub(crate) reason: Option<String>,
    #[serde(default)]
    pub(crate) message: Option<String>,
}

/// An OAuth error of the token endpoint.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct TokenError {
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
    pub(crate) expires_in: Option<u64>,
}

/// A service account key file, as Google's console downloads it.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct KeyFile {
    #[serde(rename = "type", default)]
    pub(crate) kind: Option<String>,
    pub(crate) client_email: String,
    pub(crate) private_key: String,
    #[serde(default)]
    pub(crate) token_uri: Option<String>,
}
