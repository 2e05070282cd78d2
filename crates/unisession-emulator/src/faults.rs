//! Fault injection, switchable per provider at start and at run time.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Faults injected into one provider's answers. All ratios are in `0.0..=1.0` and
/// drawn independently per request from a seeded sequence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Faults {
    /// Added to every answer.
    pub latency_ms: u64,
    /// Share of requests answered with the provider's 5xx, unprocessed.
    pub server_error_ratio: f64,
    /// Share of requests whose connection is cut, unprocessed: the status line goes
    /// out, then the connection breaks before the body.
    pub drop_ratio: f64,
    /// Share of answers whose JSON body is damaged after processing: cut in half, or
    /// (every other one) its quotes turned into apostrophes.
    pub malformed_ratio: f64,
    /// Share of requests answered with the provider's own 429, unprocessed.
    pub rate_limit_ratio: f64,
    /// The wait announced by injected 429s, in milliseconds of real time.
    pub rate_limit_retry_after_ms: u64,
    /// Slack only: injected 429s carry an empty body instead of `ratelimited`.
    pub rate_limit_empty_body: bool,
    /// Enforce the provider's published rate limits (scaled by `time_scale`).
    pub enforce_rate_limits: bool,
    /// How much faster than real time the rate-limit windows run: 100 turns
    /// "20 per minute" into "20 per 0.6 s".
    pub time_scale: f64,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            latency_ms: 0,
            server_error_ratio: 0.0,
            drop_ratio: 0.0,
            malformed_ratio: 0.0,
            rate_limit_ratio: 0.0,
            rate_limit_retry_after_ms: 1000,
            rate_limit_empty_body: false,
            enforce_rate_limits: false,
            time_scale: 1.0,
        }
    }
}

impl Faults {
    /// No faults at all.
    pub fn none() -> Self {
        Self::default()
    }

    /// Sets the added latency.
    pub fn with_latency(mut self, latency: Duration) -> Self {
        self.latency_ms = latency.as_millis() as u64;
        self
    }

    /// Sets the 5xx ratio.
    pub fn with_server_errors(mut self, ratio: f64) -> Self {
        self.server_error_ratio = ratio;
        self
    }

    /// Sets the dropped-connection ratio.
    pub fn with_drops(mut self, ratio: f64) -> Self {
        self.drop_ratio = ratio;
        self
    }

    /// Sets the malformed-body ratio.
    pub fn with_malformed(mut self, ratio: f64) -> Self {
        self.malformed_ratio = ratio;
        self
    }

    /// Sets the injected-429 ratio and the wait they announce.
    pub fn with_rate_limits(mut self, ratio: f64, retry_after: Duration) -> Self {
        self.rate_limit_ratio = ratio;
        self.rate_limit_retry_after_ms = retry_after.as_millis() as u64;
        self
    }

    /// Slack: injected 429s have an empty body.
    pub fn with_empty_rate_limit_body(mut self, empty: bool) -> Self {
        self.rate_limit_empty_body = empty;
        self
    }

    /// Enforces the published limits, `time_scale` times faster than real time.
    pub fn with_enforced_limits(mut self, time_scale: f64) -> Self {
        self.enforce_rate_limits = true;
        self.time_scale = if time_scale.is_finite() && time_scale > 0.0 {
            time_scale
        } else {
            1.0
        };
        self
    }

    /// A real-time window for a published window, after scaling.
    pub fn scaled(&self, window: Duration) -> Duration {
        let scale = if self.time_scale.is_finite() && self.time_scale > 0.0 {
            self.time_scale
        } else {
            1.0
        };
        window.div_f64(scale)
    }
}

/// What, if anything, goes wrong with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// The connection breaks after the status line, before the body.
    Drop,
    /// A 5xx answer.
    ServerError,
    /// A 429 answer.
    RateLimited,
    /// The real answer, its body cut short or garbled.
    Malformed,
}

/// A deterministic uniform draw in `0.0..1.0` for request number `n`.
pub(crate) fn draw(seed: u64, n: u64, stream: u64) -> f64 {
    let mut z = seed
        .wrapping_add(n.wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .wrapping_add(stream.wrapping_mul(0xD1B5_4A32_D192_ED03));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

impl Faults {
    /// The fault for request number `n`, drawn from `seed`. One draw, cut into
    /// exclusive bands, so each ratio is the share of requests that fault really hits
    /// (were the ratios to sum past 1, the later bands would be cut short).
    pub(crate) fn pick(&self, seed: u64, n: u64) -> Option<Fault> {
        let u = draw(seed, n, 1);
        let mut edge = 0.0;
        for (ratio, fault) in [
            (self.drop_ratio, Fault::Drop),
            (self.server_error_ratio, Fault::ServerError),
            (self.rate_limit_ratio, Fault::RateLimited),
            (self.malformed_ratio, Fault::Malformed),
        ] {
            edge += ratio.max(0.0);
            if u < edge {
                return Some(fault);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_are_uniform_enough_and_ratios_hold() {
        let faults = Faults::none().with_server_errors(0.1).with_drops(0.05);
        let n = 20_000;
        let picked: Vec<_> = (0..n).map(|i| faults.pick(7, i)).collect();
        let errors = picked
            .iter()
            .filter(|f| **f == Some(Fault::ServerError))
            .count() as f64
            / n as f64;
        let drops = picked.iter().filter(|f| **f == Some(Fault::Drop)).count() as f64 / n as f64;
        assert!((0.09..0.11).contains(&errors), "{errors}");
        assert!((0.045..0.055).contains(&drops), "{drops}");
        // Together too: each ratio is the share it gets, not what the others leave.
        let all = Faults::none()
            .with_server_errors(0.1)
            .with_drops(0.05)
            .with_malformed(0.05)
            .with_rate_limits(0.1, Duration::from_millis(1));
        let picked: Vec<_> = (0..n).map(|i| all.pick(7, i)).collect();
        let share = |f: Fault| picked.iter().filter(|p| **p == Some(f)).count() as f64 / n as f64;
        for (fault, ratio) in [
            (Fault::Drop, 0.05),
            (Fault::ServerError, 0.1),
            (Fault::RateLimited, 0.1),
            (Fault::Malformed, 0.05),
        ] {
            let got = share(fault);
            assert!((got - ratio).abs() < 0.01, "{fault:?}: {got}");
        }
        assert!(Faults::none().pick(7, 3).is_none());
    }
}
