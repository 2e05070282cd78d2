//! The rate-limit budgets servers announce in `X-RateLimit-*` headers, spent before
//! a call instead of drawing a 429.

use super::*;

/// How long the other requests of a route wait for the answer of the one probing a
/// new window, at most.
const PROBE_WAIT: Duration = Duration::from_secs(2);

/// Added to an announced reset (see `note_budget`).
const RESET_MARGIN: Duration = Duration::from_millis(2);

impl Inner {
    /// Waits while the announced budget of this route is spent, then takes one call from it.
    pub(super) async fn spend_budget(&self, key: &(Method, &'static str)) {
        let Some(budgets) = &self.budgets else { return };
        loop {
            // Registered before the budget is read, so that an answer announcing it in
            // between still wakes this request.
            let mut announced = std::pin::pin!(self.budget_announced.notified());
            announced.as_mut().enable();
            let wait = {
                let mut budgets = budgets.lock().unwrap_or_else(|p| p.into_inner());
                let now = Instant::now();
                match budgets.get_mut(key) {
                    // A new window: this request goes alone and brings the window's
                    // budget back; the others wait for its answer (or `PROBE_WAIT`),
                    // instead of all rushing a window whose size they do not know.
                    Some(budget) if now >= budget.reset_at => {
                        *budget = Budget {
                            remaining: 0,
                            reset_at: now + PROBE_WAIT,
                            probing: true,
                        };
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
                // Woken early when an answer announces the budget (a probe's answer).
                Some(wait) => {
                    let _ = tokio::time::timeout(wait, announced).await;
                }
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
            // No budget announced (the caller became exempt): nobody waits for one.
            let mut budgets = budgets.lock().unwrap_or_else(|p| p.into_inner());
            if budgets.get(key).is_some_and(|b| b.probing) {
                budgets.remove(key);
                self.budget_announced.notify_waiters();
            }
            return;
        };
        // A reset announced in whole milliseconds (or seconds) can fall a little before
        // the server's window really ends: a margin keeps the first call of the next
        // window from arriving early.
        let reset_at = Instant::now() + reset + RESET_MARGIN;
        let mut budgets = budgets.lock().unwrap_or_else(|p| p.into_inner());
        let entry = budgets.entry(key.clone()).or_insert(Budget {
            remaining,
            reset_at,
            probing: false,
        });
        let same_window = !entry.probing
            && entry.reset_at.max(reset_at) - entry.reset_at.min(reset_at)
                < Duration::from_millis(250);
        // Answers overtake each other: within one window the smallest count is the truest.
        *entry = if same_window {
            Budget {
                remaining: entry.remaining.min(remaining),
                reset_at: entry.reset_at.max(reset_at),
                probing: false,
            }
        } else {
            Budget {
                remaining,
                reset_at,
                probing: false,
            }
        };
        drop(budgets);
        self.budget_announced.notify_waiters();
    }
}
