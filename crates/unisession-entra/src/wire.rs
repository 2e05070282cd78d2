//! Microsoft Graph's JSON (only the fields read).

use serde::Deserialize;

/// A `user`, with the properties the lookup selects.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct User {
    pub(crate) id: String,
    #[serde(default)]
    pub(crate) user_principal_name: Option<String>,
    #[serde(default)]
    pub(crate) mail: Option<String>,
    #[serde(default)]
    pub(crate) display_name: Option<String>,
    #[serde(default)]
    pub(crate) other_mails: Vec<String>,
    #[serde(default)]
    pub(crate) proxy_addresses: Vec<String>,
    #[serde(default)]
    pub(crate) user_type: Option<String>,
    #[serde(default)]
    pub(crate) account_enabled: Option<bool>,
    #[serde(default)]
    pub(crate) sign_in_sessions_valid_from_date_time: Option<String>,
}

impl User {
    /// Every address the directory holds for the user: mail, UPN, other mails, SMTP
    /// proxy addresses (without their `smtp:` prefix).
    pub(crate) fn addresses(&self) -> Vec<&str> {
        let mut all: Vec<&str> = Vec::new();
        all.extend(self.mail.as_deref());
        all.extend(self.user_principal_name.as_deref());
        all.extend(self.other_mails.iter().map(String::as_str));
        all.extend(self.proxy_addresses.iter().filter_map(|p| {
            p.get(..5)
                .filter(|prefix| prefix.eq_ignore_ascii_case("smtp:"))
                .map(|_| &p[5..])
        }));
        all
    }

    pub(crate) fn is_guest(&self) -> bool {
        self.user_type
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case("guest"))
    }
}

/// A collection answer.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Users {
    pub(crate) value: Vec<User>,
    #[serde(default, rename = "@odata.nextLink")]
    pub(crate) next_link: Option<String>,
}

/// Graph's error envelope.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct ErrorEnvelope {
    #[serde(default)]
    pub(crate) error: Option<MainError>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct MainError {
    #[serde(default)]
    pub(crate) code: Option<String>,
    #[serde(default)]
    pub(crate) message: Option<String>,
}

/// The identity platform's error.
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
