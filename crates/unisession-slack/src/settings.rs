//! The `[providers.NAME]` table of `kind = "slack"`, and [`KIND`], what this crate
//! registers.

use std::path::PathBuf;
use std::sync::Arc;

use serde::Deserialize;
use unisession_http::{Adapter, AdapterKind, ConfigError, Settings};

use crate::{SlackBuilder, SlackProvider};

/// The settings of a Slack instance (besides `kind`, `allow_insecure_http` and
/// `time_scale`, which every kind takes).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SlackSettings {
    /// The Web API base (default `https://slack.com/api/`).
    pub base_url: Option<String>,
    /// The environment variable holding the org-level user token.
    pub token_env: Option<String>,
    /// The file holding it (relative to the configuration file).
    pub token_file: Option<PathBuf>,
    /// The workspace (`T…`) per-user listings cover.
    pub team_id: Option<String>,
}

fn build(settings: &Settings) -> Result<Arc<dyn Adapter>, ConfigError> {
    let config: SlackSettings = settings.parse()?;
    let token = settings.required_secret(
        "token",
        config.token_env.as_deref(),
        config.token_file.as_deref(),
    )?;
    let mut builder = SlackBuilder::new(
        config
            .base_url
            .unwrap_or_else(|| SlackProvider::DEFAULT_BASE_URL.to_owned()),
    )
    .with_token(token)
    .with_transport(settings.transport().clone());
    if let Some(team) = config.team_id {
        builder = builder.with_team_id(team);
    }
    Ok(Arc::new(builder.build()?))
}

/// Slack, as the provider registry knows it.
pub const KIND: AdapterKind = AdapterKind::new(
    "slack",
    "Slack",
    build,
    r#"kind = "slack"
token_env = "SLACK_ADMIN_TOKEN"          # org-level user token (xoxp-…) of an Org Owner or Admin
# token_file = "/run/secrets/slack-token" # or read it from a file
# team_id = "T0123ABC"                   # optional: per-user listings on one workspace
"#,
);
