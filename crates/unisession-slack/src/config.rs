//! [`SlackBuilder`]: configuration, validated before anything is sent.

use std::fmt;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use unisession_core::{Error, Result};
use unisession_http::{HttpClient, Rate, RetryConfig};

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
    pub(crate) fn class(self) -> &'static str {
        match self {
            Tier::Two => "tier2",
            Tier::Three => "tier3",
            Tier::Four => "tier4",
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
///     .with_name("slack:corp")
///     .build()
///     .expect("valid configuration");
/// assert_eq!(slack.to_string(), "slack:corp");
/// ```
#[must_use]
pub struct SlackBuilder {
    pub(crate) base_url: String,
    pub(crate) token: Option<SecretString>,
    pub(crate) team_id: Option<String>,
    pub(crate) name: String,
    pub(crate) retry: RetryConfig,
    pub(crate) total_timeout: Duration,
    pub(crate) request_timeout: Duration,
    pub(crate) allow_insecure_http: bool,
    pub(crate) max_concurrency: usize,
    pub(crate) page_size: u32,
    pub(crate) bulk_chunk: usize,
    pub(crate) rates: Vec<(Tier, Rate)>,
    pub(crate) time_scale: f64,
}

impl fmt::Debug for SlackBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlackBuilder")
            .field("base_url", &self.base_url)
            .field("token", &self.token.as_ref().map(|_| "[REDACTED]"))
            .field("team_id", &self.team_id)
            .field("name", &self.name)
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
            name: "slack".to_owned(),
            retry: RetryConfig::default(),
            total_timeout: Duration::from_secs(300),
            request_timeout: Duration::from_secs(30),
            allow_insecure_http: false,
            max_concurrency: 8,
            page_size: 200,
            bulk_chunk: 1000,
            rates: Vec::new(),
            time_scale: 1.0,
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
            builder = builder.with_name(name);
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

    /// The instance name shown in reports, errors and `Display` (default `slack`).
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The retry policy.
    pub fn with_retry(mut self, retry: RetryConfig) -> Self {
        self.retry = retry;
        self
    }

    /// The time allowed for one call, retries included (default 300 s).
    pub fn with_total_timeout(mut self, timeout: Duration) -> Self {
        self.total_timeout = timeout;
        self
    }

    /// The time allowed for one attempt (default 30 s).
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Allows `http://` to a non-loopback host (the token then travels in clear text).
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// The most requests in flight at once (default 8).
    pub fn with_max_concurrency(mut self, max: usize) -> Self {
        self.max_concurrency = max;
        self
    }

    /// The default page size of listings, 1 to 1000 (default 200, as Slack recommends
    /// 100–200).
    pub fn with_page_size(mut self, size: u32) -> Self {
        self.page_size = size;
        self
    }

    /// How many users one `resetBulk` call carries, 1 to 1000 (default 1000).
    pub fn with_bulk_chunk(mut self, size: usize) -> Self {
        self.bulk_chunk = size;
        self
    }

    /// Paces the methods of `tier` at `rate` instead of 95 % of the published limit.
    pub fn with_tier_rate(mut self, tier: Tier, rate: Rate) -> Self {
        self.rates.retain(|(t, _)| *t != tier);
        self.rates.push((tier, rate));
        self
    }

    /// Runs the default pacing `scale` times faster, for emulators whose rate-limit
    /// windows run faster than real time. Real Slack needs 1.0 (the default).
    pub fn with_time_scale(mut self, scale: f64) -> Self {
        self.time_scale = scale;
        self
    }

    /// Validates the configuration and builds the provider. Nothing is sent.
    pub fn build(self) -> Result<SlackProvider> {
        let invalid = |why: String| Error::invalid_input(why).with_provider(self.name.clone());
        let Some(token) = &self.token else {
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
        if !(1..=1000).contains(&self.bulk_chunk) {
            return Err(invalid(format!(
                "a resetBulk chunk takes 1 to 1000 users, not {}",
                self.bulk_chunk
            )));
        }
        if !(self.time_scale.is_finite() && self.time_scale > 0.0) {
            return Err(invalid(
                "the time scale must be a positive number".to_owned(),
            ));
        }
        let mut http = HttpClient::builder(self.base_url.clone())
            .provider(self.name.clone())
            .retry(self.retry.clone())
            .total_timeout(self.total_timeout)
            .request_timeout(self.request_timeout)
            .allow_insecure_http(self.allow_insecure_http)
            .max_concurrency(self.max_concurrency);
        for tier in TIERS {
            let rate = self
                .rates
                .iter()
                .find(|(t, _)| *t == tier)
                .map(|(_, r)| *r)
                .unwrap_or_else(|| tier.default_rate().scaled(self.time_scale));
            http = http.pace(tier.class(), rate);
        }
        let http = http.build()?;
        Ok(SlackProvider::from_parts(self, http))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
