//! Graph's error codes and statuses to [`ErrorKind`]s.

use unisession_core::{Error, ErrorKind};

use crate::wire::{ErrorEnvelope, TokenError};

/// The kind of a Graph `error.code`; `None` for one this table does not know.
pub(crate) fn kind_of(code: &str) -> Option<ErrorKind> {
    Some(match code {
        "InvalidAuthenticationToken" | "CompactToken_ParsingFailed" => ErrorKind::Unauthenticated,
        "Authorization_RequestDenied" | "Authorization_IdentityNotFound" | "AccessDenied" => {
            ErrorKind::PermissionDenied
        }
        "Request_ResourceNotFound" => ErrorKind::NotFound,
        "Request_BadRequest" | "Request_UnsupportedQuery" | "BadRequest" | "invalidRequest" => {
            ErrorKind::InvalidInput
        }
        "TooManyRequests" | "activityLimitReached" => ErrorKind::RateLimited,
        _ => return None,
    })
}

fn kind_of_status(status: u16) -> ErrorKind {
    match status {
        400 => ErrorKind::InvalidInput,
        401 => ErrorKind::Unauthenticated,
        403 => ErrorKind::PermissionDenied,
        // A 404 without Graph's code: a route the server lacks.
        404 => ErrorKind::Provider,
        429 => ErrorKind::RateLimited,
        _ => ErrorKind::Provider,
    }
}

/// The error of a non-success Graph answer.
pub(crate) fn api_error(what: &str, status: u16, body: &[u8]) -> Error {
    let envelope: ErrorEnvelope = serde_json::from_slice(body).unwrap_or_default();
    let main = envelope.error.unwrap_or_default();
    let kind = main
        .code
        .as_deref()
        .and_then(kind_of)
        .unwrap_or_else(|| kind_of_status(status));
    let mut message = format!(
        "{what}: {}",
        main.message
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| format!("HTTP {status}"))
    );
    if main.code.as_deref() == Some("Authorization_RequestDenied") {
        message.push_str(
            " (the app needs the application permission User.RevokeSessions.All with admin consent; a privileged administrator's sessions need a role that may manage them)",
        );
    }
    let mut error = Error::new(kind, message).with_status(status);
    if let Some(code) = main.code {
        error = error.with_code(code);
    }
    error
}

/// The error of the token endpoint (`AADSTS…`).
pub(crate) fn token_error(status: u16, body: &[u8]) -> Error {
    let parsed: TokenError = serde_json::from_slice(body).unwrap_or_default();
    let code = parsed.error.unwrap_or_else(|| format!("HTTP {status}"));
    let kind = match code.as_str() {
        "invalid_client" | "unauthorized_client" | "invalid_grant" => ErrorKind::Unauthenticated,
        "invalid_scope" | "access_denied" => ErrorKind::PermissionDenied,
        "invalid_request" | "unsupported_grant_type" => ErrorKind::InvalidInput,
        _ => kind_of_status(status),
    };
    // AADSTS descriptions never hold the secret; they may be long: keep the first line.
    let description = parsed
        .error_description
        .unwrap_or_default()
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    Error::new(
        kind,
        format!("the identity platform refused the app: {code}: {description}"),
    )
    .with_code(code)
    .with_status(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_codes_have_their_kinds() {
        for (code, kind) in [
            ("InvalidAuthenticationToken", ErrorKind::Unauthenticated),
            ("Authorization_RequestDenied", ErrorKind::PermissionDenied),
            ("Request_ResourceNotFound", ErrorKind::NotFound),
            ("Request_UnsupportedQuery", ErrorKind::InvalidInput),
            ("TooManyRequests", ErrorKind::RateLimited),
        ] {
            assert_eq!(kind_of(code), Some(kind), "{code}");
        }
        assert_eq!(api_error("x", 404, b"").kind(), ErrorKind::Provider);
        let denied = api_error(
            "x",
            403,
            br#"{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation."}}"#,
        );
        assert!(
            denied.message().contains("User.RevokeSessions.All"),
            "{denied}"
        );
    }
}
