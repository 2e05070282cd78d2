//! [`FleetBuilder`]: the providers and the offboarding policy, checked by `build`.

use std::collections::HashSet;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use unisession_core::{Checked, DeviceScope, Error, Result, SessionProvider};

use super::audit::Audit;
use super::{Entry, Fleet};

/// Builds a [`Fleet`]; `build` checks the names.
#[must_use]
pub struct FleetBuilder {
    entries: Vec<Entry>,
    scope: DeviceScope,
    deadline: Duration,
    verify: bool,
    step_retries: u32,
    queued_wait: Duration,
    settle_wait: Duration,
    count_before: bool,
    audit: Option<Box<dyn Write + Send>>,
}

impl Default for FleetBuilder {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
            scope: DeviceScope::All,
            deadline: Duration::from_secs(300),
            verify: true,
            step_retries: 2,
            queued_wait: Duration::from_secs(30),
            settle_wait: Duration::from_secs(10),
            count_before: false,
            audit: None,
        }
    }
}

impl FleetBuilder {
    /// Adds a provider under a unique name. It is wrapped in [`Checked`], so an
    /// operation its capabilities lack never reaches it.
    pub fn provider(mut self, name: impl Into<String>, provider: Arc<dyn SessionProvider>) -> Self {
        self.entries.push(Entry {
            name: name.into(),
            provider: Arc::new(Checked::new(provider)),
        });
        self
    }

    /// Which of a person's devices to log out (default all). With a narrower scope the
    /// other devices' sessions stay by design, so nothing can be verified; a provider
    /// without device-scoped revocation reports `Unsupported`.
    pub fn scope(mut self, scope: DeviceScope) -> Self {
        self.scope = scope;
        self
    }

    /// The time each provider gets for one person, all steps and retries included
    /// (default 300 s).
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// Whether to list again after revoking, to prove the sessions are gone (default on).
    pub fn verify(mut self, verify: bool) -> Self {
        self.verify = verify;
        self
    }

    /// How many times a step that failed with a temporary error the transport did
    /// not retry itself (a truncated answer, say) is tried again (default 2).
    pub fn step_retries(mut self, retries: u32) -> Self {
        self.step_retries = retries;
        self
    }

    /// How long to wait for a queued (asynchronous) revocation to show before
    /// reporting what the listing shows (default 30 s).
    pub fn queued_wait(mut self, wait: Duration) -> Self {
        self.queued_wait = wait;
        self
    }

    /// How long a synchronous revocation's sessions may stay listed before the
    /// verification reports them still active (default 10 s): some servers show a
    /// revoked session for a few seconds (eventual consistency). The listing is
    /// repeated, with backoff, until it shows none or the wait ends.
    pub fn settle_wait(mut self, wait: Duration) -> Self {
        self.settle_wait = wait;
        self
    }

    /// Whether to list the person's sessions just before revoking, so that a report
    /// (and evidence) says how many there were as well as how many are left (default
    /// off). It costs one listing per person where the provider lists per user, one
    /// listing of everyone per bulk call where that is cheaper; a failed count never
    /// stops the revocation.
    pub fn count_before(mut self, count: bool) -> Self {
        self.count_before = count;
        self
    }

    /// Writes the audit trail as JSON Lines to `writer` (it always goes to `tracing`).
    pub fn audit_log(mut self, writer: impl Write + Send + 'static) -> Self {
        self.audit = Some(Box::new(writer));
        self
    }

    /// Checks that there is at least one provider and that names are unique and
    /// non-empty.
    pub fn build(self) -> Result<Fleet> {
        if self.entries.is_empty() {
            return Err(Error::invalid_input("a fleet needs at least one provider"));
        }
        let mut names = HashSet::new();
        for entry in &self.entries {
            if entry.name.trim().is_empty() {
                return Err(Error::invalid_input("a provider name cannot be empty"));
            }
            if !names.insert(entry.name.as_str()) {
                return Err(Error::invalid_input(format!(
                    "the provider name {:?} is used twice",
                    entry.name
                )));
            }
        }
        // Identity providers first, in their order, then the applications in theirs:
        // plans and reports list them in the order they are offboarded.
        let mut entries = self.entries;
        entries.sort_by_key(|e| !e.provider.capabilities().identity_provider);
        Ok(Fleet {
            entries,
            scope: self.scope,
            deadline: self.deadline,
            verify: self.verify,
            step_retries: self.step_retries,
            queued_wait: self.queued_wait,
            settle_wait: self.settle_wait,
            count_before: self.count_before,
            audit: Arc::new(self.audit.map(Audit::to_writer).unwrap_or_default()),
        })
    }
}
