//! Client-side pacing per method class, so bulk work runs just under a provider's
//! published limit instead of bouncing off it.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};

/// A named group of calls paced together: one of Slack's tiers, or every call of a
/// provider. A class is a constant written once in an adapter, so every request names
/// it the same way; a request naming a class its client does not pace fails rather
/// than going out unpaced.
///
/// ```
/// use unisession_http::PaceClass;
/// const TIER_2: PaceClass = PaceClass::new("tier2");
/// assert_eq!(TIER_2.name(), "tier2");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PaceClass(&'static str);

impl PaceClass {
    /// A class named `name` (for traces and errors).
    pub const fn new(name: &'static str) -> Self {
        Self(name)
    }

    /// The class's name.
    pub fn name(self) -> &'static str {
        self.0
    }
}

impl std::fmt::Display for PaceClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

/// A request rate: `requests` per `period`, with an optional burst.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    requests: NonZeroU32,
    period: Duration,
    burst: NonZeroU32,
}

impl Rate {
    /// `requests` per `period`, spaced evenly (burst of 1). `None` when either is zero.
    pub fn new(requests: u32, period: Duration) -> Option<Self> {
        let requests = NonZeroU32::new(requests)?;
        (!period.is_zero()).then_some(Self {
            requests,
            period,
            burst: NonZeroU32::MIN,
        })
    }

    /// `n` requests per second (at least 1).
    pub fn per_second(n: u32) -> Self {
        Self::at_least_one(n, Duration::from_secs(1))
    }

    fn at_least_one(n: u32, period: Duration) -> Self {
        Self {
            requests: NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN),
            period,
            burst: NonZeroU32::MIN,
        }
    }

    /// `n` requests per minute (at least 1).
    pub fn per_minute(n: u32) -> Self {
        Self::at_least_one(n, Duration::from_secs(60))
    }

    /// Allows up to `burst` requests back to back before spacing applies.
    pub fn with_burst(mut self, burst: u32) -> Self {
        self.burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        self
    }

    /// This rate slowed by `factor` (e.g. `0.9` = 90 % of it), to stay under a limit.
    pub fn scaled(self, factor: f64) -> Self {
        let factor = if factor.is_finite() && factor > 0.0 {
            factor
        } else {
            1.0
        };
        Self {
            period: self.period.div_f64(factor),
            ..self
        }
    }

    /// The spacing between two requests at this rate.
    pub fn interval(&self) -> Duration {
        self.period / self.requests.get()
    }

    /// The requests per period.
    pub fn requests(&self) -> u32 {
        self.requests.get()
    }

    /// The period.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// The requests allowed back to back.
    pub fn burst(&self) -> u32 {
        self.burst.get()
    }
}

type Limiter = RateLimiter<NotKeyed, InMemoryState, DefaultClock>;

/// Rate limiters per method class. Cloning shares the limiters.
#[derive(Clone, Default)]
pub struct Pacer {
    limiters: Arc<HashMap<PaceClass, (Rate, Limiter)>>,
}

impl std::fmt::Debug for Pacer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut m = f.debug_map();
        for (class, (rate, _)) in self.limiters.iter() {
            m.entry(&class.name(), rate);
        }
        m.finish()
    }
}

impl Pacer {
    /// A pacer with one limiter per class.
    pub fn new(rates: impl IntoIterator<Item = (PaceClass, Rate)>) -> Self {
        let limiters = rates
            .into_iter()
            .map(|(class, rate)| {
                let quota = Quota::with_period(rate.interval())
                    .unwrap_or_else(|| Quota::per_second(NonZeroU32::MAX))
                    .allow_burst(rate.burst);
                (class, (rate, RateLimiter::direct(quota)))
            })
            .collect();
        Self {
            limiters: Arc::new(limiters),
        }
    }

    /// The rate of `class`, if it is paced.
    pub fn rate(&self, class: PaceClass) -> Option<Rate> {
        self.limiters.get(&class).map(|(rate, _)| *rate)
    }

    /// Waits until a request of `class` may go. Unpaced classes go at once.
    /// Returns how long it waited.
    pub async fn wait(&self, class: Option<PaceClass>) -> Duration {
        let Some((_, limiter)) = class.and_then(|c| self.limiters.get(&c)) else {
            return Duration::ZERO;
        };
        let clock = DefaultClock::default();
        let mut waited = Duration::ZERO;
        loop {
            match limiter.check() {
                Ok(()) => return waited,
                Err(not_until) => {
                    let wait = not_until.wait_time_from(clock.now());
                    tokio::time::sleep(wait).await;
                    waited += wait;
                }
            }
        }
    }
}
