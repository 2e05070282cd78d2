//! [`SlackBuilder`]: configuration, validated before anything is sent.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use unisession_core::{Error, Result};
use unisession_http::{AdapterDefaults, PaceClass, Rate, TransportOptions};

use crate::SlackProvider;

/// Slack's rate-limit tiers, as the session methods use them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Tier {
    /// 20+ per minute: every `admin.users.session.*` method but the settings trio.
    Two,
    /// 50+ per minute: `users.lookupByEmail`.
    Three,
    /// 100+ per minute: `getSettings`, `setSettings`, `clearSettings`.
    Four,
}

impl Tier {
    /// The pacing class name used by the transport.
    pub(crate) fn class(self) -> PaceClass {
        match self {
            Tier::Two => PaceClass::new("tier2"),
            Tier::Three => PaceClass::new("tier3"),
            Tier::Four => PaceClass::new("tier4"),
        }
    }

    /// The published limit per minute.
    pub fn per_minute(self) -> u32 {
        match self {
            Tier::Two => 20,
            Tier::Three => 50,
            Tier::Four => 100,
        }
    }

    /// The default pacing: [`DEFAULT_PACE`] of the limit, with a burst of half the
    /// headroom that leaves (at least 1). The burst lets a request that the timer
    /// woke late keep its slot instead of pushing every later one back; burst and
    /// pace together stay within the limit in any minute (Tier 3: 2 + 47.5 < 50).
    pub fn default_rate(self) -> Rate {
        let limit = self.per_minute();
        let headroom = f64::from(limit) * (1.0 - DEFAULT_PACE);
        Rate::per_minute(limit)
            .scaled(DEFAULT_PACE)
            .with_burst((headroom / 2.0).floor() as u32 + 1)
    }
}

const TIERS: [Tier; 3] = [Tier::Two, Tier::Three, Tier::Four];

/// Every Web API method the adapter calls, with its tier. Slack limits each method on
/// its own ("per app per workspace per method", docs.slack.dev `apis/web-api/rate-limits`),
/// so each is paced on its own at its tier's rate: a scan of `users.list` does not
/// slow the session methods of the same tier.
pub(crate) const METHODS: [(&str, Tier); 12] = [
    ("admin.users.session.list", Tier::Two),
    ("admin.users.session.invalidate", Tier::Two),
    ("admin.users.session.reset", Tier::Two),
    ("admin.users.session.resetBulk", Tier::Two),
    ("admin.users.session.getSettings", Tier::Four),
    ("admin.users.session.setSettings", Tier::Four),
    ("admin.users.session.clearSettings", Tier::Four),
    ("users.lookupByEmail", Tier::Three),
    ("users.info", Tier::Four),
    ("users.list", Tier::Two),
    ("admin.teams.list", Tier::Three),
    ("auth.test", Tier::Four),
];

/// The pacing class of a method: its own where it is known, else its tier's.
pub(crate) fn class_of(method: &'static str, tier: Tier) -> PaceClass {
    if METHODS.iter().any(|(m, _)| *m == method) {
        PaceClass::new(method)
    } else {
        tier.class()
    }
}

/// The share of a published limit the client paces at by default: just under it.
pub const DEFAULT_PACE: f64 = 0.95;

/// Builds a [`SlackProvider`].
///
/// ```
/// use secrecy::SecretString;
/// use unisession_slack::SlackBuilder;
///
/// let slack = SlackBuilder::new("https://slack.com/api/")
///     .with_token(SecretString::from("xoxp-1234-5678-abcd"))
///     .with_transport(unisession_http::TransportOptions::new().with_name("slack:corp"))
///     .build()
///     .expect("valid configuration");
/// assert_eq!(slack.to_string(), "slack:corp");
/// ```
#[must_use]
pub struct SlackBuilder {
    base_url: String,
    token: Option<SecretString>,
    team_id: Option<String>,
    transport: TransportOptions,
    page_size: u32,
    users_page_size: u32,
    bulk_chunk: usize,
    rates: Vec<(Tier, Rate)>,
}

/// The transport defaults of a Slack adapter.
pub(crate) const DEFAULTS: AdapterDefaults = AdapterDefaults::new("slack");

/// What [`SlackBuilder::build`] checked, handed to the provider.
pub(crate) struct Parts {
    pub(crate) name: String,
    pub(crate) token: SecretString,
    pub(crate) team_id: Option<String>,
    pub(crate) page_size: u32,
    pub(crate) users_page_size: u32,
    pub(crate) bulk_chunk: usize,
}

impl fmt::Debug for SlackBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlackBuilder")
            .field("base_url", &self.base_url)
            .field("token", &self.token.as_ref().map(|_| "[REDACTED]"))
            .field("team_id", &self.team_id)
            .field("transport", &self.transport)
            .field("page_size", &self.page_size)
            .field("bulk_chunk", &self.bulk_chunk)
            .finish_non_exhaustive()
    }
}

impl Default for SlackBuilder {
    fn default() -> Self {
        Self::new(SlackProvider::DEFAULT_BASE_URL)
    }
}

impl SlackBuilder {
    /// A builder for the Web API at `base_url` (Slack's is `https://slack.com/api/`).
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            token: None,
            team_id: None,
            transport: TransportOptions::default(),
            page_size: 200,
            users_page_size: 1000,
            bulk_chunk: 1000,
            rates: Vec::new(),
        }
    }

    /// Reads `{prefix}TOKEN`, `{prefix}BASE_URL`, `{prefix}TEAM_ID` and `{prefix}NAME`
    /// (e.g. with the prefix `UNISESSION_SLACK_`). Unset variables leave the defaults;
    /// [`build`](Self::build) reports what is still missing.
    pub fn from_env(prefix: &str) -> Self {
        let var = |key: &str| {
            std::env::var(format!("{prefix}{key}"))
                .ok()
                .filter(|v| !v.is_empty())
        };
        let mut builder = Self::new(
            var("BASE_URL").unwrap_or_else(|| SlackProvider::DEFAULT_BASE_URL.to_owned()),
        );
        if let Some(token) = var("TOKEN") {
            builder = builder.with_token(SecretString::from(token));
        }
        if let Some(team) = var("TEAM_ID") {
            builder = builder.with_team_id(team);
        }
        if let Some(name) = var("NAME") {
            builder.transport = builder.transport.with_name(name);
        }
        builder
    }

    /// The org-level user token (`xoxp-…`) of an Org Owner or Admin, with
    /// `admin.users:read`, `admin.users:write` and `users:read.email`. It is sent only
    /// as `Authorization: Bearer`, never in a URL.
    pub fn with_token(mut self, token: SecretString) -> Self {
        self.token = Some(token);
        self
    }

    /// The workspace (`T…`) whose sessions a per-user listing covers. Slack takes
    /// `team_id` only together with `user_id` on `admin.users.session.list`; without it,
    /// per-user listings filter the organisation's full listing on the client.
    pub fn with_team_id(mut self, team_id: impl Into<String>) -> Self {
        self.team_id = Some(team_id.into());
        self
    }

    /// The transport settings: name, retries, timeouts, concurrency, time scale.
    pub fn with_transport(mut self, transport: TransportOptions) -> Self {
        self.transport = transport;
        self
    }

    /// The default page size of listings, 1 to 1000 (default 200, as Slack recommends
    /// 100–200).
    pub fn with_page_size(mut self, size: u32) -> Self {
        self.page_size = size;
        self
    }

    /// The page size of a scan of the directory (`users.list`), 1 to 1000 (default
    /// 1000: a scan runs under Tier 2, so fewer pages are faster).
    pub fn with_users_page_size(mut self, size: u32) -> Self {
        self.users_page_size = size;
        self
    }

    /// How many users one `resetBulk` call carries, 1 to 1000 (default 1000).
    pub fn with_bulk_chunk(mut self, size: usize) -> Self {
        self.bulk_chunk = size;
        self
    }

    /// Paces each method of `tier` at `rate` instead of 95 % of the published limit
    /// (each method on its own, as Slack limits them).
    pub fn with_tier_rate(mut self, tier: Tier, rate: Rate) -> Self {
        self.rates.retain(|(t, _)| *t != tier);
        self.rates.push((tier, rate));
        self
    }

    /// Validates the configuration and builds the provider. Nothing is sent.
    pub fn build(self) -> Result<SlackProvider> {
        let name = self.transport.name_or(&DEFAULTS).to_owned();
        let invalid = |why: String| Error::invalid_input(why).with_provider(name.clone());
        let Some(token) = self.token else {
            return Err(invalid(
                "a Slack user token is required (with_token, or {PREFIX}TOKEN)".to_owned(),
            ));
        };
        let secret = token.expose_secret();
        if secret.trim().is_empty() {
            return Err(invalid("the Slack token is empty".to_owned()));
        }
        if secret.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid(
                "the Slack token contains whitespace or control characters".to_owned(),
            ));
        }
        if secret.starts_with("xoxb-") || secret.starts_with("xapp-") {
            return Err(invalid(
                "admin.users.session.* accepts only user tokens (xoxp-…) of an Org Owner or Admin; this is a bot or app-level token".to_owned(),
            ));
        }
        if let Some(team) = &self.team_id {
            let well_formed = (team.starts_with('T') || team.starts_with('E'))
                && team.len() > 1
                && team.chars().all(|c| c.is_ascii_alphanumeric());
            if !well_formed {
                return Err(invalid(format!(
                    "{team:?} is not a Slack workspace id (T…) or org id (E…)"
                )));
            }
        }
        if !(1..=1000).contains(&self.page_size) {
            return Err(invalid(format!(
                "the page size must be 1 to 1000, not {}",
                self.page_size
            )));
        }
        if !(1..=1000).contains(&self.users_page_size) {
            return Err(invalid(format!(
                "the users page size must be 1 to 1000, not {}",
                self.users_page_size
            )));
        }
        if !(1..=1000).contains(&self.bulk_chunk) {
            return Err(invalid(format!(
                "a resetBulk chunk takes 1 to 1000 users, not {}",
                self.bulk_chunk
            )));
        }
        let mut http = self.transport.client(&self.base_url, &DEFAULTS)?;
        let rate_of = |tier: Tier| {
            self.rates
                .iter()
                .find(|(t, _)| *t == tier)
                .map(|(_, r)| *r)
                .unwrap_or_else(|| self.transport.scaled(tier.default_rate()))
        };
        for tier in TIERS {
            http = http.pace(tier.class(), rate_of(tier));
        }
        for (method, tier) in METHODS {
            http = http.pace(PaceClass::new(method), rate_of(tier));
        }
        let http = http.build()?;
        let parts = Parts {
            name,
            token,
            team_id: self.team_id,
            page_size: self.page_size,
            users_page_size: self.users_page_size,
            bulk_chunk: self.bulk_chunk,
        };
        Ok(SlackProvider::from_parts(parts, http))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn default_pacing_stays_within_each_tier_in_any_minute() {
        for (tier, burst) in [(Tier::Two, 1), (Tier::Three, 2), (Tier::Four, 3)] {
            let rate = tier.default_rate();
            assert_eq!(rate.burst(), burst, "{tier:?}");
            // GCRA: the burst at once, then one per interval; count a full minute.
            let minute = Duration::from_secs(60);
            let most =
                u128::from(rate.burst() - 1) + minute.as_nanos() / rate.interval().as_nanos() + 1;
            assert!(
                most <= u128::from(tier.per_minute()),
                "{tier:?}: {most} in a minute"
            );
            assert!(
                most >= u128::from(tier.per_minute()) * 9 / 10,
                "{tier:?}: {most} wastes the limit"
            );
        }
    }
}
