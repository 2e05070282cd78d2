//! Okta's error codes (`data/error-codes.json`) and statuses to [`ErrorKind`]s.

use unisession_core::{Error, ErrorKind};
use unisession_http::HeaderMap;

use crate::wire::{ErrorBody, OAuthError};

/// The kind of an Okta `errorCode`; `None` for a code this table does not know.
pub(crate) fn kind_of(code: &str) -> Option<ErrorKind> {
    Some(match code {
        "E0000004" | "E0000005" | "E0000011" => ErrorKind::Unauthenticated,
        "E0000006" => ErrorKind::PermissionDenied,
        "E0000007" => ErrorKind::NotFound,
        "E0000015" => ErrorKind::PlanRequired,
        "E0000001" | "E0000031" | "E0000038" => ErrorKind::InvalidInput,
        "E0000047" => ErrorKind::RateLimited,
        _ => return None,
    })
}

/// The kind a status means when the body says nothing this table knows.
fn kind_of_status(status: u16) -> ErrorKind {
    match status {
        400 | 422 => ErrorKind::InvalidInput,
        401 => ErrorKind::Unauthenticated,
        403 => ErrorKind::PermissionDenied,
        // A bare 404: a route the server lacks (or an Okta path that is not there).
        404 => ErrorKind::Provider,
        429 => ErrorKind::RateLimited,
        _ => ErrorKind::Provider,
    }
}

/// The error of a non-success answer: Okta's code and summary where the body has
/// them, the scope a `WWW-Authenticate: … error="insufficient_scope"` names.
pub(crate) fn api_error(what: &str, status: u16, headers: &HeaderMap, body: &[u8]) -> Error {
    let parsed: ErrorBody = serde_json::from_slice(body).unwrap_or_default();
    let challenge = headers
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if challenge.contains("insufficient_scope") {
        let scope = challenge
            .split("scope=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .unwrap_or("the route's scope");
        return Error::new(
            ErrorKind::PermissionDenied,
            format!(
                "{what}: the access token lacks the scope {scope}: grant it to the service app and list it in scopes"
            ),
        )
        .with_code("insufficient_scope")
        .with_status(status);
    }
    let kind = parsed
        .error_code
        .as_deref()
        .and_then(kind_of)
        .unwrap_or_else(|| kind_of_status(status));
    let summary = parsed
        .error_summary
        .clone()
        .unwrap_or_else(|| format!("HTTP {status}"));
    let mut error = Error::new(kind, format!("{what}: {summary}")).with_status(status);
    if let Some(code) = parsed.error_code {
        error = error.with_code(code);
    }
    if let Some(id) = parsed.error_id {
        tracing::debug!(error_id = %id, "Okta error id");
    }
    error
}

/// The error of the token endpoint: OAuth's `error` and `error_description`.
pub(crate) fn token_error(status: u16, body: &[u8]) -> Error {
    let parsed: OAuthError = serde_json::from_slice(body).unwrap_or_default();
    let code = parsed.error.unwrap_or_else(|| format!("HTTP {status}"));
    let kind = match code.as_str() {
        "invalid_client" | "unauthorized_client" | "invalid_grant" => ErrorKind::Unauthenticated,
        "invalid_scope" | "access_denied" => ErrorKind::PermissionDenied,
        "unsupported_grant_type" | "invalid_request" => ErrorKind::InvalidInput,
        _ => kind_of_status(status),
    };
    let description = parsed.error_description.unwrap_or_default();
    Error::new(
        kind,
        format!("the token endpoint refused the service app: {code}: {description}"),
    )
    .with_code(code)
    .with_status(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_code_has_its_kind() {
        for (code, kind) in [
            ("E0000004", ErrorKind::Unauthenticated),
            ("E0000005", ErrorKind::Unauthenticated),
            ("E0000006", ErrorKind::PermissionDenied),
            ("E0000007", ErrorKind::NotFound),
            ("E0000011", ErrorKind::Unauthenticated),
            ("E0000015", ErrorKind::PlanRequired),
            ("E0000038", ErrorKind::InvalidInput),
            ("E0000047", ErrorKind::RateLimited),
        ] {
            assert_eq!(kind_of(code), Some(kind), "{code}");
        }
        assert_eq!(kind_of("E0009999"), None);
    }

    #[test]
    fn a_bare_404_is_a_route_the_server_lacks_not_an_absent_user() {
        let error = api_error("x", 404, &HeaderMap::new(), b"");
        assert_eq!(error.kind(), ErrorKind::Provider);
        let body =
            br#"{"errorCode":"E0000007","errorSummary":"Not found: Resource not found: x (User)"}"#;
        assert_eq!(
            api_error("x", 404, &HeaderMap::new(), body).kind(),
            ErrorKind::NotFound
        );
    }

    #[test]
    fn a_missing_scope_names_the_scope() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "www-authenticate",
            "Bearer realm=\"IdP\", scope=\"okta.users.manage\", error=\"insufficient_scope\""
                .parse()
                .unwrap(),
        );
        let error = api_error("revoking", 403, &headers, b"{}");
        assert_eq!(error.kind(), ErrorKind::PermissionDenied);
        assert!(error.message().contains("okta.users.manage"), "{error}");
    }
}
