//! The ways real servers mislead their clients, as switches (all off by default).
//!
//! An emulator that only ever tells the truth cannot show that a client refuses to
//! be misled. Each switch models an answer a real server, proxy or version gives
//! while the request "succeeds"; each provider's module says how it applies them.
//! They are set at start ([`crate::EmulatorConfig::misleading`]), from the Rust
//! handles, or at run time with `PUT /__unisession/misleading`.

use serde::{Deserialize, Serialize};

use crate::faults::draw;

/// Misleading behaviours of one provider's server.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct Misleading {
    /// Share of lookups by email (`0.0..=1.0`, drawn per lookup from a seeded
    /// sequence) answered with another person's record: the next person of the
    /// directory, as a server or proxy that ignores or mangles the filter would.
    pub lookup_answers_other: f64,
    /// Every lookup by email answers this user's record (by the provider's user id),
    /// whoever is asked for: the conformance suite's "lookup answered for another
    /// person".
    pub lookup_answers_with: Option<String>,
    /// Lookups by email ignore their filter altogether: a listing lookup answers the
    /// first page of everybody, a one-record lookup the first user of the directory.
    pub lookup_ignores_filter: bool,
    /// A user-wide revocation of an id nobody has answers success.
    pub success_for_unknown_user: bool,
    /// Revoked sessions stay in listings for this long, in milliseconds of real
    /// time (eventual consistency).
    pub stale_listing_ms: u64,
}

impl Misleading {
    /// Nothing misleading.
    pub fn none() -> Self {
        Self::default()
    }

    /// Answers this share of lookups with another person's record.
    pub fn with_lookups_answering_other(mut self, ratio: f64) -> Self {
        self.lookup_answers_other = ratio;
        self
    }

    /// Answers every lookup with this user's record.
    pub fn with_lookups_answering_with(mut self, user: Option<String>) -> Self {
        self.lookup_answers_with = user;
        self
    }

    /// Lookups ignore their filter.
    pub fn with_lookups_ignoring_filter(mut self, ignore: bool) -> Self {
        self.lookup_ignores_filter = ignore;
        self
    }

    /// User-wide revocations answer success for unknown ids.
    pub fn with_success_for_unknown_users(mut self, success: bool) -> Self {
        self.success_for_unknown_user = success;
        self
    }

    /// Revoked sessions stay listed this long.
    pub fn with_stale_listings(mut self, stale: std::time::Duration) -> Self {
        self.stale_listing_ms = stale.as_millis() as u64;
        self
    }

    /// Whether lookup number `n` (from `seed`) answers another person.
    pub(crate) fn mislead_lookup(&self, seed: u64, n: u64) -> bool {
        self.lookup_answers_other > 0.0 && draw(seed, n, 2) < self.lookup_answers_other
    }

    /// How the lookup of the person at `found` (an index in a directory of `len`,
    /// `None` when nobody has the email) is answered: the index whose record goes
    /// out, or `None` for "not found". `by_id` finds a user id's index.
    pub(crate) fn answer(
        &self,
        found: Option<usize>,
        len: usize,
        draw_n: (u64, u64),
        by_id: impl Fn(&str) -> Option<usize>,
    ) -> Option<usize> {
        if let Some(index) = self.lookup_answers_with.as_deref().and_then(by_id) {
            return Some(index);
        }
        if self.lookup_ignores_filter && len > 0 {
            return Some(0);
        }
        match found {
            Some(index) if len > 1 && self.mislead_lookup(draw_n.0, draw_n.1) => {
                Some((index + 1) % len)
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_follow_the_switches() {
        let none = Misleading::none();
        assert_eq!(none.answer(Some(3), 10, (7, 1), |_| None), Some(3));
        assert_eq!(none.answer(None, 10, (7, 1), |_| None), None);
        let with = none.clone().with_lookups_answering_with(Some("U9".into()));
        assert_eq!(
            with.answer(None, 10, (7, 1), |id| (id == "U9").then_some(9)),
            Some(9)
        );
        let ignore = Misleading::none().with_lookups_ignoring_filter(true);
        assert_eq!(ignore.answer(None, 10, (7, 1), |_| None), Some(0));
        let other = Misleading::none().with_lookups_answering_other(0.3);
        let n = 10_000;
        let misled = (0..n)
            .filter(|i| other.answer(Some(4), 10, (7, *i), |_| None) == Some(5))
            .count() as f64
            / n as f64;
        assert!((0.28..0.32).contains(&misled), "{misled}");
        assert_eq!(
            other.answer(None, 10, (7, 1), |_| None),
            None,
            "nobody stays nobody"
        );
    }

    #[test]
    fn unknown_fields_are_refused() {
        assert!(serde_json::from_str::<Misleading>(r#"{"lookup_answers_othr":1}"#).is_err());
        let parsed: Misleading = serde_json::from_str(r#"{"stale_listing_ms":1500}"#).unwrap();
        assert_eq!(parsed.stale_listing_ms, 1500);
    }
}
