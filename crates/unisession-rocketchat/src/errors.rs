//! Rocket.Chat answers to [`ErrorKind`]: status, then `errorType` (or the
//! `[type]` suffix of `error`), then the message.

use unisession_core::{Error, ErrorKind};
use unisession_http::decode_json_object;

use crate::wire::Failure;

/// The error type an answer names: `errorType`, else the `[type]` that ends `error`.
pub(crate) fn error_type(failure: &Failure) -> Option<String> {
    failure.error_type.clone().or_else(|| {
        let error = failure.error.as_deref()?;
        let start = error.rfind('[')?;
        error
            .ends_with(']')
            .then(|| error[start + 1..error.len() - 1].to_owned())
    })
}

/// The error for a failed answer. `sessions_route` tells whether the call went to
/// device management, where older servers report a missing license as `unauthorized`.
pub fn error_for(status: u16, body: &[u8], sessions_route: bool) -> Error {
    let failure: Failure = decode_json_object(body).unwrap_or_default();
    let kind_name = error_type(&failure);
    let raw = failure
        .error
        .clone()
        .or_else(|| failure.message.clone())
        .unwrap_or_default();
    // "Reason [error-type]" reads better without the bracketed type, kept as the code.
    let message = match raw.rfind(" [") {
        Some(i) if raw.ends_with(']') => raw[..i].to_owned(),
        _ => raw.clone(),
    };
    // The license fallback of device management answers a bare word: `unauthorized`
    // (before 9.0) or `forbidden` (from 9.0), with 401, 403 or 404.
    let unauthorized_word = raw == "unauthorized" || raw == "forbidden";
    use ErrorKind::*;
    let (kind, fallback, temporary) = match (status, kind_name.as_deref()) {
        (_, Some("error-action-not-allowed")) => {
            (PlanRequired, "this is an Enterprise feature", false)
        }
        (401 | 403 | 404, _) if sessions_route && unauthorized_word => (
            PlanRequired,
            "device management needs an Enterprise license",
            false,
        ),
        // `API.v1.unauthorized()` answers 401 with the bare word on builds after
        // PR #32083 (before it, 403): a missing permission, not a bad credential.
        (401, _) if unauthorized_word => (PermissionDenied, "the user lacks the permission", false),
        (401, _) => (Unauthenticated, "Rocket.Chat refused the credential", false),
        (_, Some("totp-required")) => (TwoFactorRequired, "a second factor is required", false),
        (_, Some("totp-invalid" | "totp-max-attempts")) => {
            (TwoFactorInvalid, "the second factor was refused", false)
        }
        (_, Some("error-too-many-requests")) | (429, _) => {
            (RateLimited, "Rocket.Chat rate-limited the call", true)
        }
        (403, _) | (400, Some("error-forbidden" | "forbidden")) => {
            (PermissionDenied, "the user lacks the permission", false)
        }
        (404, _) if raw == "Session not found" => (NotFound, "no such session", false),
        // Only "Session not found" means a target is gone; any
        // other 404 is a route this server does not have: the wrong URL, or a version
        // without it. Never "not found", which would count as done.
        (404, _) => (
            Provider,
            "Rocket.Chat has no such route: check the base URL and the server version",
            false,
        ),
        (
            400,
            Some(
                "invalid-params"
                | "error-invalid-sort"
                | "error-invalid-sort-keys"
                | "error-invalid-query"
                | "error-parameter-required",
            ),
        ) => (InvalidInput, "Rocket.Chat refused the parameters", false),
        (400, _) if raw == "User not found." => (NotFound, "no such user", false),
        (400, _) => (InvalidInput, "Rocket.Chat refused the request", false),
        (500..=599, _) => (Provider, "Rocket.Chat failed", true),
        _ => (Provider, "unexpected answer from Rocket.Chat", false),
    };
    let text = if message.is_empty() {
        fallback.to_owned()
    } else {
        message
    };
    let mut error = Error::new(kind, text)
        .with_status(status)
        .with_temporary(temporary);
    if let Some(code) = kind_name.or_else(|| unauthorized_word.then(|| raw.clone())) {
        error = error.with_code(code);
    }
    error
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every error shape the research records, with the kind it must give.
    #[test]
    fn every_documented_shape_maps_to_its_kind() {
        let table: &[(u16, &str, bool, ErrorKind, Option<&str>)] = &[
            (
                401,
                r#"{"success":false,"error":"You must be logged in to do this.","status":"error","message":"You must be logged in to do this."}"#,
                false,
                ErrorKind::Unauthenticated,
                None,
            ),
            (
                401,
                r#"{"status":"error","message":"You must be logged in to do this."}"#,
                true,
                ErrorKind::Unauthenticated,
                None,
            ),
            (
                403,
                r#"{"success":false,"error":"User does not have the permissions required for this action [error-unauthorized]"}"#,
                true,
                ErrorKind::PermissionDenied,
                Some("error-unauthorized"),
            ),
            (
                403,
                r#"{"success":false,"error":"unauthorized"}"#,
                false,
                ErrorKind::PermissionDenied,
                Some("unauthorized"),
            ),
            (
                400,
                r#"{"success":false,"error":"This is an enterprise feature [error-action-not-allowed]","errorType":"error-action-not-allowed"}"#,
                true,
                ErrorKind::PlanRequired,
                Some("error-action-not-allowed"),
            ),
            (
                403,
                r#"{"success":false,"error":"unauthorized"}"#,
                true,
                ErrorKind::PlanRequired,
                Some("unauthorized"),
            ),
            (
                401,
                r#"{"success":false,"error":"unauthorized"}"#,
                true,
                ErrorKind::PlanRequired,
                Some("unauthorized"),
            ),
            (
                404,
                r#"{"success":false,"error":"unauthorized"}"#,
                true,
                ErrorKind::PlanRequired,
                Some("unauthorized"),
            ),
            (
                403,
                r#"{"success":false,"error":"forbidden"}"#,
                true,
                ErrorKind::PlanRequired,
                Some("forbidden"),
            ),
            (
                400,
                r#"{"success":false,"error":"User does not have the permissions required for this action [error-forbidden]","errorType":"error-forbidden"}"#,
                false,
                ErrorKind::PermissionDenied,
                Some("error-forbidden"),
            ),
            (
                403,
                r#"{"success":false,"error":"User does not have the permissions required for this action [error-forbidden]","errorType":"error-forbidden"}"#,
                true,
                ErrorKind::PermissionDenied,
                Some("error-forbidden"),
            ),
            (
                400,
                r#"{"success":false,"error":"must have required property 'sessionId' [invalid-params]","errorType":"invalid-params"}"#,
                true,
                ErrorKind::InvalidInput,
                Some("invalid-params"),
            ),
            (
                400,
                r#"{"success":false,"error":"TOTP Required [totp-required]","errorType":"totp-required","details":{"method":"password","codeGenerated":false,"availableMethods":[]}}"#,
                true,
                ErrorKind::TwoFactorRequired,
                Some("totp-required"),
            ),
            (
                400,
                r#"{"success":false,"error":"TOTP Invalid [totp-invalid]","errorType":"totp-invalid","details":{"method":"email"}}"#,
                true,
                ErrorKind::TwoFactorInvalid,
                Some("totp-invalid"),
            ),
            (
                400,
                r#"{"success":false,"error":"TOTP Maximun Failed Attempts Reached","errorType":"totp-max-attempts"}"#,
                true,
                ErrorKind::TwoFactorInvalid,
                Some("totp-max-attempts"),
            ),
            (
                404,
                r#"{"success":false,"error":"Session not found"}"#,
                true,
                ErrorKind::NotFound,
                None,
            ),
            (
                429,
                r#"{"success":false,"error":"Error, too many requests. Please slow down. You must wait 42 seconds before trying this endpoint again. [error-too-many-requests]"}"#,
                true,
                ErrorKind::RateLimited,
                Some("error-too-many-requests"),
            ),
            (
                400,
                r#"{"success":false,"error":"Error, too many requests. [error-too-many-requests]","errorType":"error-too-many-requests"}"#,
                false,
                ErrorKind::RateLimited,
                Some("error-too-many-requests"),
            ),
            (
                400,
                r#"{"success":false,"error":"User not found."}"#,
                false,
                ErrorKind::NotFound,
                None,
            ),
            (
                500,
                r#"{"success":false,"error":"Internal server error"}"#,
                false,
                ErrorKind::Provider,
                None,
            ),
            (
                502,
                "<html>bad gateway</html>",
                false,
                ErrorKind::Provider,
                None,
            ),
            // A route this server lacks (a wrong base URL): never "not found".
            (404, "", false, ErrorKind::Provider, None),
            (
                404,
                r#"{"success":false,"error":"Not Found"}"#,
                false,
                ErrorKind::Provider,
                None,
            ),
            // The post-#32083 `unauthorized()`: a missing permission, not a bad login.
            (
                401,
                r#"{"success":false,"error":"unauthorized"}"#,
                false,
                ErrorKind::PermissionDenied,
                Some("unauthorized"),
            ),
        ];
        for (status, body, sessions_route, kind, code) in table {
            let error = error_for(*status, body.as_bytes(), *sessions_route);
            assert_eq!(error.kind(), *kind, "{status} {body}");
            assert_eq!(error.code(), *code, "{status} {body}");
            assert_eq!(error.status(), Some(*status));
        }
        let error = error_for(403, table[2].1.as_bytes(), true);
        assert_eq!(
            error.message(),
            "User does not have the permissions required for this action"
        );
        assert!(error_for(502, b"", false).is_temporary());
        assert!(error_for(429, b"", false).is_temporary());
        assert!(!error_for(403, b"", false).is_temporary());
    }
}
