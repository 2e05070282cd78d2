//! Google's error reasons and statuses to [`ErrorKind`]s. A 403 is not always a
//! refusal: the quota answers are 403 too.

use unisession_core::{Error, ErrorKind};

use crate::wire::{ErrorEnvelope, TokenError};

/// The reasons that mean "slow down" (GAM's default retry reasons).
pub(crate) const QUOTA_REASONS: [&str; 3] = [
    "userRateLimitExceeded",
    "rateLimitExceeded",
    "quotaExceeded",
];

/// The reason of an error body, if it is Google's envelope.
pub(crate) fn reason(body: &[u8]) -> Option<String> {
    let envelope: ErrorEnvelope = serde_json::from_slice(body).ok()?;
    envelope.error?.errors.into_iter().find_map(|e| e.reason)
}

/// Whether an answer is a quota answer: 429, a 403 with a quota reason, or a
/// non-JSON 403/503 (Google's front ends answer quota so too).
pub(crate) fn is_quota(status: u16, body: &[u8]) -> bool {
    match status {
        429 => true,
        403 | 503 => match reason(body) {
            Some(reason) => QUOTA_REASONS.contains(&reason.as_str()),
            None => serde_json::from_slice::<serde_json::Value>(body).is_err(),
        },
        _ => false,
    }
}

fn kind_of(reason: &str) -> Option<ErrorKind> {
    Some(match reason {
        "authError" => ErrorKind::Unauthenticated,
        "forbidden" | "insufficientPermissions" => ErrorKind::PermissionDenied,
        "notFound" => ErrorKind::NotFound,
        "invalid" | "required" | "badRequest" => ErrorKind::InvalidInput,
        r if QUOTA_REASONS.contains(&r) => ErrorKind::RateLimited,
        "backendError" | "internalError" => ErrorKind::Provider,
        _ => return None,
    })
}

fn kind_of_status(status: u16) -> ErrorKind {
    match status {
        400 => ErrorKind::InvalidInput,
        401 => ErrorKind::Unauthenticated,
        403 => ErrorKind::PermissionDenied,
        404 => ErrorKind::Provider,
        429 => ErrorKind::RateLimited,
        _ => ErrorKind::Provider,
    }
}

/// The error of a non-success answer.
pub(crate) fn api_error(what: &str, status: u16, body: &[u8]) -> Error {
    let envelope: ErrorEnvelope = serde_json::from_slice(body).unwrap_or_default();
    let error = envelope.error.unwrap_or_default();
    let item = error.errors.into_iter().next().unwrap_or_default();
    let kind = item
        .reason
        .as_deref()
        .and_then(kind_of)
        .unwrap_or_else(|| kind_of_status(status));
    let message = item
        .message
        .or(error.message)
        .unwrap_or_else(|| format!("HTTP {status}"));
    let mut message = format!("{what}: {message}");
    if kind == ErrorKind::PermissionDenied {
        message.push_str(
            " (the impersonated user must be an administrator allowed to manage users, and the service account delegated admin.directory.user.security and admin.directory.user.readonly)",
        );
    }
    let mut out = Error::new(kind, message).with_status(status);
    if let Some(reason) = item.reason {
        out = out.with_code(reason);
    }
    out
}

/// The error of the token endpoint.
pub(crate) fn token_error(status: u16, body: &[u8]) -> Error {
    let parsed: TokenError = serde_json::from_slice(body).unwrap_or_default();
    let code = parsed.error.unwrap_or_else(|| format!("HTTP {status}"));
    let kind = match code.as_str() {
        "invalid_grant" | "unauthorized_client" | "invalid_client" => ErrorKind::Unauthenticated,
        "access_denied" => ErrorKind::PermissionDenied,
        _ => kind_of_status(status),
    };
    let hint = match code.as_str() {
        "unauthorized_client" => {
            " (a super administrator must delegate the scopes to the service account's client id: Security > API controls > Domain-wide delegation)"
        }
        "invalid_grant" => " (check the service account key and the administrator to impersonate)",
        _ => "",
    };
    Error::new(
        kind,
        format!(
            "the token endpoint refused the service account: {code}: {}{hint}",
            parsed.error_description.unwrap_or_default()
        ),
    )
    .with_code(code)
    .with_status(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_403_is_a_quota_or_a_refusal_by_its_reason() {
        let quota = br#"{"error":{"code":403,"message":"Quota","errors":[{"reason":"userRateLimitExceeded","message":"Quota"}]}}"#;
        let refused = br#"{"error":{"code":403,"message":"Not Authorized to access this resource/api","errors":[{"reason":"forbidden","message":"Not Authorized to access this resource/api"}]}}"#;
        assert!(is_quota(403, quota));
        assert!(!is_quota(403, refused));
        assert!(is_quota(503, b"Quota exceeded for the current request"));
        assert_eq!(
            api_error("x", 403, refused).kind(),
            ErrorKind::PermissionDenied
        );
        assert_eq!(api_error("x", 403, quota).kind(), ErrorKind::RateLimited);
        let missing = br#"{"error":{"code":404,"message":"Resource Not Found: userKey","errors":[{"reason":"notFound","message":"Resource Not Found: userKey"}]}}"#;
        assert_eq!(api_error("x", 404, missing).kind(), ErrorKind::NotFound);
        assert_eq!(
            api_error("x", 404, b"Not Found").kind(),
            ErrorKind::Provider
        );
    }
}
