//! One error type for every provider, with a semantic [`ErrorKind`].

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::Operation;

/// `Result` with [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, independent of the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// The credential is missing, invalid, expired or revoked.
    Unauthenticated,
    /// The credential is valid but may not do this (role, scope, permission).
    PermissionDenied,
    /// The provider's plan or license lacks the feature (Slack Enterprise, Rocket.Chat Enterprise).
    PlanRequired,
    /// The target does not exist, as the provider said explicitly. Never a route
    /// miss or a filter the server ignored: the fleet counts a user-wide revocation
    /// answered `NotFound` as "nobody to log out".
    NotFound,
    /// The provider answered a lookup with a record for somebody other than the
    /// person asked for: a filter it ignored, a proxy, an unexpected version. Acting
    /// on that record would log out the wrong person, so nothing is done.
    IdentityMismatch,
    /// The input was refused before or by the provider: a malformed id, a bad argument.
    InvalidInput,
    /// The provider rate-limited the call and retries did not get through.
    RateLimited,
    /// The provider asked for a second factor and none could be obtained.
    TwoFactorRequired,
    /// The second factor was refused. Final: never retried in a loop.
    TwoFactorInvalid,
    /// The provider (or this credential) cannot do this operation. Nothing was sent.
    Unsupported,
    /// A deadline passed.
    Timeout,
    /// The connection failed or broke.
    Transport,
    /// The answer could not be understood.
    Decode,
    /// Any other failure the provider reported.
    Provider,
}

impl ErrorKind {
    /// A stable snake_case name, as used in JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unauthenticated => "unauthenticated",
            Self::PermissionDenied => "permission_denied",
            Self::PlanRequired => "plan_required",
            Self::NotFound => "not_found",
            Self::IdentityMismatch => "identity_mismatch",
            Self::InvalidInput => "invalid_input",
            Self::RateLimited => "rate_limited",
            Self::TwoFactorRequired => "two_factor_required",
            Self::TwoFactorInvalid => "two_factor_invalid",
            Self::Unsupported => "unsupported",
            Self::Timeout => "timeout",
            Self::Transport => "transport",
            Self::Decode => "decode",
            Self::Provider => "provider",
        }
    }

    fn temporary_by_default(self) -> bool {
        matches!(self, Self::RateLimited | Self::Timeout | Self::Transport)
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Unauthenticated => "not authenticated",
            Self::PermissionDenied => "permission denied",
            Self::PlanRequired => "plan or license required",
            Self::NotFound => "not found",
            Self::IdentityMismatch => "answer for another person",
            Self::InvalidInput => "invalid input",
            Self::RateLimited => "rate limited",
            Self::TwoFactorRequired => "second factor required",
            Self::TwoFactorInvalid => "second factor refused",
            Self::Unsupported => "unsupported",
            Self::Timeout => "timed out",
            Self::Transport => "transport error",
            Self::Decode => "undecodable answer",
            Self::Provider => "provider error",
        })
    }
}

/// The error of every operation.
///
/// It keeps the provider's own status, error code and message for humans, and a
/// semantic [`ErrorKind`] for code. It never holds a credential: adapters build
/// messages from the provider's answer and their own text only.
#[derive(Clone)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    provider: Option<String>,
    operation: Option<Operation>,
    status: Option<u16>,
    code: Option<String>,
    retry_after: Option<Duration>,
    retries: u32,
    temporary: bool,
    source: Option<Arc<dyn StdError + Send + Sync + 'static>>,
}

impl Error {
    /// A new error of `kind` with a human message.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            provider: None,
            operation: None,
            status: None,
            code: None,
            retry_after: None,
            retries: 0,
            temporary: kind.temporary_by_default(),
            source: None,
        }
    }

    /// The `Unsupported` error for an operation the provider cannot do.
    pub fn unsupported(operation: Operation, why: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unsupported, why).with_operation(operation)
    }

    /// An `InvalidInput` error.
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, message)
    }

    /// Names the provider instance.
    pub fn with_provider(mut self, provider: impl Into<String>) -> Self {
        self.provider = Some(provider.into());
        self
    }

    /// Names the operation, unless one is already set.
    pub fn with_operation(mut self, operation: Operation) -> Self {
        self.operation.get_or_insert(operation);
        self
    }

    /// Records the HTTP status.
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        if status >= 500 && self.kind == ErrorKind::Provider {
            self.temporary = true;
        }
        self
    }

    /// Records the provider's machine-readable error code (e.g. `not_an_admin`).
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    /// Records how long the provider asked to wait.
    pub fn with_retry_after(mut self, wait: Duration) -> Self {
        self.retry_after = Some(wait);
        self
    }

    /// Records how many retries were made before giving up.
    pub fn with_retries(mut self, retries: u32) -> Self {
        self.retries = retries;
        self
    }

    /// Overrides whether retrying may succeed.
    pub fn with_temporary(mut self, temporary: bool) -> Self {
        self.temporary = temporary;
        self
    }

    /// Attaches the underlying cause.
    pub fn with_source(mut self, source: impl StdError + Send + Sync + 'static) -> Self {
        self.source = Some(Arc::new(source));
        self
    }

    /// The semantic kind.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The human message (from the provider where it gave one).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The provider instance, where known.
    pub fn provider(&self) -> Option<&str> {
        self.provider.as_deref()
    }

    /// The operation that failed, where known.
    pub fn operation(&self) -> Option<Operation> {
        self.operation
    }

    /// The HTTP status, where there was one.
    pub fn status(&self) -> Option<u16> {
        self.status
    }

    /// The provider's error code, where there was one.
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }

    /// How long the provider asked to wait before retrying.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// How many retries were made before this error was returned.
    pub fn retries(&self) -> u32 {
        self.retries
    }

    /// Whether trying again later may succeed: rate limits, timeouts, broken
    /// connections and 5xx answers. Permission, plan, input and 2FA errors are permanent.
    pub fn is_temporary(&self) -> bool {
        self.temporary
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(provider) = &self.provider {
            write!(f, "{provider}: ")?;
        }
        if let Some(operation) = self.operation {
            write!(f, "{operation}: ")?;
        }
        write!(f, "{}", self.kind)?;
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        match (&self.code, self.status) {
            (Some(code), Some(status)) => write!(f, " ({code}, HTTP {status})")?,
            (Some(code), None) => write!(f, " ({code})")?,
            (None, Some(status)) => write!(f, " (HTTP {status})")?,
            (None, None) => {}
        }
        if let Some(wait) = self.retry_after {
            write!(f, "; retry after {:.1}s", wait.as_secs_f64())?;
        }
        if self.retries > 0 {
            write!(f, "; after {} retries", self.retries)?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.kind).field("message", &self.message);
        if let Some(provider) = &self.provider {
            d.field("provider", provider);
        }
        if let Some(operation) = &self.operation {
            d.field("operation", operation);
        }
        if let Some(status) = &self.status {
            d.field("status", status);
        }
        if let Some(code) = &self.code {
            d.field("code", code);
        }
        if let Some(wait) = &self.retry_after {
            d.field("retry_after", wait);
        }
        if self.retries > 0 {
            d.field("retries", &self.retries);
        }
        if let Some(source) = &self.source {
            d.field("source", &source.to_string());
        }
        d.finish()
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|source| source as &(dyn StdError + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_provider_operation_kind_code_and_status() {
        let err = Error::new(
            ErrorKind::PermissionDenied,
            "The owner of this token isn't an Org Owner or Admin.",
        )
        .with_provider("slack-corp")
        .with_operation(Operation::RevokeUserSessions)
        .with_code("not_an_admin")
        .with_status(200);
        assert_eq!(
            err.to_string(),
            "slack-corp: revoke_user_sessions: permission denied: The owner of this token isn't an Org Owner or Admin. (not_an_admin, HTTP 200)"
        );
    }

    #[test]
    fn temporary_follows_kind_and_server_errors() {
        assert!(Error::new(ErrorKind::RateLimited, "").is_temporary());
        assert!(Error::new(ErrorKind::Timeout, "").is_temporary());
        assert!(!Error::new(ErrorKind::PermissionDenied, "").is_temporary());
        assert!(!Error::new(ErrorKind::TwoFactorInvalid, "").is_temporary());
        assert!(
            !Error::new(ErrorKind::Provider, "")
                .with_status(400)
                .is_temporary()
        );
        assert!(
            Error::new(ErrorKind::Provider, "")
                .with_status(503)
                .is_temporary()
        );
    }

    #[test]
    fn first_operation_wins() {
        let err = Error::new(ErrorKind::Decode, "x")
            .with_operation(Operation::FindUser)
            .with_operation(Operation::ListSessions);
        assert_eq!(err.operation(), Some(Operation::FindUser));
    }
}
