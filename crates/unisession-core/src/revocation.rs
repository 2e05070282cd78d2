//! Honest outcomes of revocations and of their verification.

use serde::{Deserialize, Serialize};

/// What a revocation did. Never a bare "ok": each variant says what the provider confirmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Revocation {
    /// The provider confirmed the revocation. `count` is how many sessions ended,
    /// where the provider tells (`Some(0)`: the user had none).
    Revoked {
        /// Sessions ended, where known.
        count: Option<u64>,
    },
    /// The session was unknown or already closed: nothing left to revoke. An idempotent
    /// success, reported as such rather than silently folded into `Revoked`.
    AlreadyGone,
    /// The provider accepted the work and completes it asynchronously (Slack
    /// `admin.users.session.resetBulk`). Not yet a confirmation.
    Queued,
}

impl Revocation {
    /// `Revoked` with a known count.
    pub fn revoked(count: u64) -> Self {
        Self::Revoked { count: Some(count) }
    }

    /// `Revoked` without a count.
    pub fn revoked_unknown_count() -> Self {
        Self::Revoked { count: None }
    }

    /// Whether nothing remains to do for the target as far as the provider said:
    /// `Revoked` or `AlreadyGone`. `Queued` is not settled.
    pub fn is_settled(&self) -> bool {
        matches!(self, Self::Revoked { .. } | Self::AlreadyGone)
    }
}

/// What a follow-up listing showed after a revocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verification", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Verification {
    /// A fresh listing shows none of the revoked sessions.
    Verified,
    /// The provider cannot show the sessions to this credential, so nothing was proven.
    Unverifiable {
        /// Why it could not be checked.
        reason: String,
    },
    /// A fresh listing still shows sessions that should be gone.
    StillActive {
        /// How many are still listed.
        remaining: u64,
    },
    /// No listing can show the sessions, but the provider's own record shows the
    /// revocation took effect (an identity provider's audit log entry, or the time
    /// from which it honours sign-ins moving past the request).
    Confirmed {
        /// The record, in words.
        evidence: String,
    },
}

impl Verification {
    /// `Unverifiable` with a reason.
    pub fn unverifiable(reason: impl Into<String>) -> Self {
        Self::Unverifiable {
            reason: reason.into(),
        }
    }
}

/// A revocation and its verification, from
/// [`SessionProviderExt::revoke_and_verify`](crate::SessionProviderExt::revoke_and_verify).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct VerifiedRevocation {
    /// What the provider said.
    pub revocation: Revocation,
    /// What a fresh listing showed.
    pub verification: Verification,
}
