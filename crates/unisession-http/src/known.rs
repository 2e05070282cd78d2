//! [`KnownUsers`]: ids a provider has seen exist, so a revocation by id need not ask.

use std::collections::HashSet;
use std::sync::Mutex;

/// The user ids an adapter's own lookups answered (with the identity echo checked).
///
/// Several servers answer success to a user-wide logout of an id nobody has
/// (Rocket.Chat `users.logout`, DocSpace `logoutall`), so an adapter confirms a user
/// exists before it reports a revocation by id. An id its own `find_user` has just
/// answered exists already: remembering it saves that call in the usual
/// lookup-then-revoke order. Bounded: past `capacity` ids it forgets them all and
/// asks again, which costs a call and never a wrong answer.
#[derive(Debug)]
pub struct KnownUsers {
    ids: Mutex<HashSet<String>>,
    capacity: usize,
}

impl Default for KnownUsers {
    fn default() -> Self {
        Self::with_capacity(100_000)
    }
}

impl KnownUsers {
    /// Remembers at most `capacity` ids (at least 1).
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            ids: Mutex::new(HashSet::new()),
            capacity: capacity.max(1),
        }
    }

    fn ids(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        // A set of ids cannot be left half-updated in a way that matters.
        self.ids.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records that `id` exists.
    pub fn remember(&self, id: &str) {
        let mut ids = self.ids();
        if ids.len() >= self.capacity {
            ids.clear();
        }
        ids.insert(id.to_owned());
    }

    /// Whether `id` was recorded (and not forgotten since).
    pub fn contains(&self, id: &str) -> bool {
        self.ids().contains(id)
    }

    /// Forgets `id` (e.g. the server said it is gone).
    pub fn forget(&self, id: &str) {
        self.ids().remove(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_until_full_then_starts_again() {
        let known = KnownUsers::with_capacity(2);
        known.remember("a");
        known.remember("b");
        assert!(known.contains("a") && known.contains("b"));
        known.remember("c");
        assert!(!known.contains("a"), "full: everything forgotten");
        assert!(known.contains("c"));
        known.forget("c");
        assert!(!known.contains("c"));
    }
}
