//! The rate-limit budgets servers announce in `X-RateLimit-*` headers, spent before
//! a call instead of drawing a 429.

use super::*;

impl Inner {
    /// Waits while the announced budget of this route is spent, then takes one call from it.
    pub(super) async fn spend_budget(&self, key: &(Method, &'static str)) {
        let Some(budgets) = &self.budgets else { return };
        loop {
            let wait = {
                let mut budgets = budgets.lock().unwrap_or_else(|p| p.into_inner());
                let now = Instant::now();
                match budgets.get_mut(key) {
                    Some(budget) if now >= budget.reset_at => {
                        budgets.remove(key);
                        None
                    }
                    Some(budget) if budget.remaining == 0 => Some(budget.reset_at - now),
                    Some(budget) => {
                        budget.remaining -= 1;
                        None
                    }
                    None => None,
                }
            };
            match wait {
                Some(wait) => tokio::time::sleep(wait).await,
                None => return,
            }
        }
    }

    /// Records the budget an answer announces.
    pub(super) fn note_budget(&self, key: &(Method, &'static str), headers: &HeaderMap) {
        let Some(budgets) = &self.budgets else { return };
        let remaining = crate::retry::rate_limit_header(headers, "remaining")
            .and_then(|v| v.trim().parse::<u64>().ok());
        let reset = crate::retry::rate_limit_header(headers, "reset")
            .and_then(|v| crate::retry::reset_wait(headers, v, SystemTime::now()));
        let (Some(remaining), Some(reset)) = (remaining, reset) else {
            return;
        };
        let reset_at = Instant::now() + reset;
        let mut budgets = budgets.lock().unwrap_or_else(|p| p.into_inner());
        let entry = budgets.entry(key.clone()).or_insert(Budget {
            remaining,
            reset_at,
        });
        let same_window = entry.reset_at.max(reset_at) - entry.reset_at.min(reset_at)
            < Duration::from_millis(250);
        // Answers overtake each other: within one window the smallest count is the truest.
        *entry = if same_window {
            Budget {
                remaining: entry.remaining.min(remaining),
                reset_at: entry.reset_at.max(reset_at),
            }
        } else {
            Budget {
                remaining,
                reset_at,
            }
        };
    }
}
