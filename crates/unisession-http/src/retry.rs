//! Retry policy as plain data, backoff with jitter, and reading the server's wait hints.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::HeaderMap;

/// How failed attempts are retried. Plain data with sane defaults.
///
/// Retried: 429 (and whatever the client's rate-limit detector flags), 408, 5xx,
/// connection failures and per-attempt timeouts. A request marked non-idempotent is
/// retried only when it surely did not take effect: a refused connection or a rate
/// limit. 400, 401, 403 and other answers are returned at once.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryConfig {
    /// Retries after the first attempt (0 disables retrying).
    pub max_retries: u32,
    /// The first backoff; it doubles with each retry.
    pub initial_backoff: Duration,
    /// The largest computed backoff.
    pub max_backoff: Duration,
    /// The longest server-requested wait (`Retry-After`, `X-RateLimit-Reset`) that is
    /// honoured by sleeping. A longer one ends the call with `RateLimited` and the
    /// wait in [`Error::retry_after`](unisession_core::Error::retry_after).
    pub max_retry_after: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_retries: 5,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(15),
            max_retry_after: Duration::from_secs(120),
        }
    }
}

impl RetryConfig {
    /// No retries at all.
    pub fn none() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// Sets the number of retries.
    pub fn with_max_retries(mut self, max_retries: u32) -> Self {
        self.max_retries = max_retries;
        self
    }

    /// Sets the first backoff.
    pub fn with_initial_backoff(mut self, backoff: Duration) -> Self {
        self.initial_backoff = backoff;
        self
    }

    /// Sets the largest backoff.
    pub fn with_max_backoff(mut self, backoff: Duration) -> Self {
        self.max_backoff = backoff;
        self
    }

    /// Sets the longest server-requested wait that is honoured.
    pub fn with_max_retry_after(mut self, wait: Duration) -> Self {
        self.max_retry_after = wait;
        self
    }

    /// The backoff before retry number `retry` (0-based): exponential, capped, with
    /// "equal jitter" (half fixed, half random) so concurrent clients spread out
    /// without ever retrying immediately.
    pub fn backoff(&self, retry: u32) -> Duration {
        let exp = self
            .initial_backoff
            .saturating_mul(2u32.saturating_pow(retry.min(20)));
        let capped = exp.min(self.max_backoff);
        let half = capped / 2;
        half + half.mul_f64(fastrand::f64())
    }
}

/// The wait a response asks for: `Retry-After` (delta-seconds or HTTP-date), else
/// `X-RateLimit-Reset` or `X-Rate-Limit-Reset` (an epoch in milliseconds as Rocket.Chat
/// sends it, an epoch in seconds as Okta does, or a delta in seconds, told apart by
/// magnitude).
pub fn server_wait(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    if let Some(wait) = header_str(headers, "retry-after").and_then(|v| parse_retry_after(v, now)) {
        return Some(wait);
    }
    rate_limit_header(headers, "reset").and_then(|v| reset_wait(headers, v, now))
}

/// The wait until a rate-limit reset. A reset in whole epoch seconds (Okta) counts
/// from the server's clock where the answer carries it (`Date`), as Okta's own
/// clients do: a client clock running ahead would otherwise not wait. Epoch
/// milliseconds (Rocket.Chat) and seconds with decimals count from the local clock,
/// `Date` being too coarse for them.
pub(crate) fn reset_wait(headers: &HeaderMap, value: &str, now: SystemTime) -> Option<Duration> {
    // Whole epoch seconds; a reset with decimals is finer than `Date` can count from.
    let seconds = !value.contains('.')
        && value
            .trim()
            .parse::<f64>()
            .is_ok_and(|v| (1e9..1e12).contains(&v));
    let now = if seconds {
        header_str(headers, "date")
            .and_then(|d| httpdate::parse_http_date(d).ok())
            .unwrap_or(now)
    } else {
        now
    };
    parse_rate_limit_reset(value, now)
}

/// `X-RateLimit-{name}` (Rocket.Chat) or `X-Rate-Limit-{name}` (Okta).
pub(crate) fn rate_limit_header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    header_str(headers, &format!("x-ratelimit-{name}"))
        .or_else(|| header_str(headers, &format!("x-rate-limit-{name}")))
}

fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

/// Parses a `Retry-After` value: delta-seconds (integer, or decimal as some servers
/// send) or an HTTP-date. A date in the past means "now".
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(1e9)));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Parses `X-RateLimit-Reset`. Values above 10^12 are epoch milliseconds (Rocket.Chat),
/// above 10^9 epoch seconds, anything smaller a delta in seconds.
pub fn parse_rate_limit_reset(value: &str, now: SystemTime) -> Option<Duration> {
    let raw: f64 = value.trim().parse().ok()?;
    if !raw.is_finite() || raw < 0.0 {
        return None;
    }
    let now_ms = now.duration_since(UNIX_EPOCH).ok()?.as_millis() as f64;
    let wait_ms = if raw >= 1e12 {
        raw - now_ms
    } else if raw >= 1e9 {
        raw * 1000.0 - now_ms
    } else {
        raw * 1000.0
    };
    Some(Duration::from_millis(wait_ms.clamp(0.0, 1e12) as u64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn retry_after_seconds_decimal_and_http_date() {
        let now = at(1_784_000_000);
        assert_eq!(parse_retry_after("30", now), Some(Duration::from_secs(30)));
        assert_eq!(
            parse_retry_after(" 1.5 ", now),
            Some(Duration::from_millis(1500))
        );
        let date = httpdate::fmt_http_date(now + Duration::from_secs(42));
        assert_eq!(parse_retry_after(&date, now), Some(Duration::from_secs(42)));
        let past = httpdate::fmt_http_date(now - Duration::from_secs(5));
        assert_eq!(parse_retry_after(&past, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-3", now), None);
    }

    #[test]
    fn rate_limit_reset_epoch_ms_epoch_s_and_delta() {
        let now = at(1_784_000_000);
        assert_eq!(
            parse_rate_limit_reset("1784000012500", now),
            Some(Duration::from_millis(12_500))
        );
        assert_eq!(
            parse_rate_limit_reset("1784000030", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_rate_limit_reset("7", now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            parse_rate_limit_reset("1783999990000", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_rate_limit_reset("x", now), None);
    }

    #[test]
    fn retry_after_wins_over_rate_limit_reset() {
        let now = at(1_784_000_000);
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-ratelimit-reset",
            HeaderValue::from_static("1784000060000"),
        );
        assert_eq!(server_wait(&headers, now), Some(Duration::from_secs(60)));
        headers.insert("retry-after", HeaderValue::from_static("3"));
        assert_eq!(server_wait(&headers, now), Some(Duration::from_secs(3)));
    }

    #[test]
    fn oktas_epoch_second_reset_counts_from_the_servers_date() {
        // The client's clock runs 30 s ahead of the server's: the reset, 20 s after
        // the server's `Date`, is still 20 s away, not already past.
        let client_now = at(1_784_000_030);
        let mut headers = HeaderMap::new();
        headers.insert("x-rate-limit-reset", HeaderValue::from_static("1784000020"));
        headers.insert(
            "date",
            HeaderValue::from_str(&httpdate::fmt_http_date(at(1_784_000_000))).unwrap(),
        );
        assert_eq!(
            server_wait(&headers, client_now),
            Some(Duration::from_secs(20))
        );
        // Without a `Date`, the local clock.
        headers.remove("date");
        assert_eq!(server_wait(&headers, client_now), Some(Duration::ZERO));
        // Rocket.Chat's milliseconds ignore the coarse `Date`.
        let mut rc = HeaderMap::new();
        rc.insert(
            "x-ratelimit-reset",
            HeaderValue::from_static("1784000030500"),
        );
        rc.insert(
            "date",
            HeaderValue::from_str(&httpdate::fmt_http_date(at(1_784_000_000))).unwrap(),
        );
        assert_eq!(
            server_wait(&rc, client_now),
            Some(Duration::from_millis(500))
        );
    }

    #[test]
    fn backoff_grows_is_capped_and_never_zero() {
        let config = RetryConfig::default()
            .with_initial_backoff(Duration::from_millis(100))
            .with_max_backoff(Duration::from_secs(1));
        for _ in 0..100 {
            let first = config.backoff(0);
            assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
            let third = config.backoff(2);
            assert!(third >= Duration::from_millis(200) && third <= Duration::from_millis(400));
            let late = config.backoff(30);
            assert!(late >= Duration::from_millis(500) && late <= Duration::from_secs(1));
        }
    }
}
