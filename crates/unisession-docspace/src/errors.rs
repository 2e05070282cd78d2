//! DocSpace answers to [`ErrorKind`]: status first, then the error envelope.

use unisession_core::{Error, ErrorKind};
use unisession_http::decode_json_object;

use crate::wire::ErrorEnvelope;

/// The error for a non-success answer. Empty bodies are common (401, scope 403,
/// route-miss 404, 429), as are HTML pages from the reverse proxy (502/503).
pub fn error_for(status: u16, body: &[u8]) -> Error {
    let envelope: Option<ErrorEnvelope> = decode_json_object(body).ok();
    let message = envelope
        .as_ref()
        .and_then(|e| e.error.as_ref())
        .and_then(|e| e.message.clone());
    let exception = envelope
        .as_ref()
        .and_then(|e| e.error.as_ref())
        .and_then(|e| e.kind.clone());
    let problem = envelope
        .as_ref()
        .and_then(|e| e.response.as_ref())
        .map(|p| {
            let detail = p
                .errors
                .as_ref()
                .map(|errors| {
                    errors
                        .iter()
                        .map(|(field, why)| {
                            format!(
                                "{field}: {}",
                                why.as_array()
                                    .and_then(|a| a.first())
                                    .and_then(|v| v.as_str())
                                    .unwrap_or("invalid")
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("; ")
                })
                .unwrap_or_default();
            format!(
                "{} {detail}",
                p.title.as_deref().unwrap_or("validation failed")
            )
            .trim()
            .to_owned()
        });
    let (kind, default) = match status {
        401 => (
            ErrorKind::Unauthenticated,
            "DocSpace refused the credential",
        ),
        403 if message.is_none() => (
            ErrorKind::PermissionDenied,
            "DocSpace refused the call: the API key lacks the scope it needs (*:read for GET, *:write for PUT)",
        ),
        403 => (ErrorKind::PermissionDenied, "access denied"),
        // A route miss, never "not found": counted as done, it would let a wrong URL
        // report everyone absent.
        404 if message.is_none() => (
            ErrorKind::Provider,
            "DocSpace has no such route: the id has the wrong form, or the URL is not a DocSpace portal",
        ),
        404 => (ErrorKind::NotFound, "not found"),
        429 => (ErrorKind::RateLimited, "DocSpace rate-limited the call"),
        400 => (ErrorKind::InvalidInput, "DocSpace refused the arguments"),
        402 => (
            ErrorKind::PlanRequired,
            "the portal's plan or quota does not allow this",
        ),
        500..=599 => (ErrorKind::Provider, "DocSpace failed"),
        _ => (ErrorKind::Provider, "unexpected answer from DocSpace"),
    };
    let text = message.or(problem).unwrap_or_else(|| default.to_owned());
    let mut error = Error::new(kind, text).with_status(status);
    if let Some(exception) = exception {
        error = error.with_code(exception);
    }
    error
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every error shape the research records, with the kind it must give.
    #[test]
    fn every_documented_shape_maps_to_its_kind() {
        let access_denied = br#"{"error":{"message":"Access denied","type":"System.Security.SecurityException","stack":null,"hresult":-2146233078},"status":1,"statusCode":403}"#;
        let method_not_available = br#"{"error":{"message":"Method not available","type":"System.Security.SecurityException","stack":null,"hresult":0},"status":1,"statusCode":403}"#;
        let not_found = br#"{"error":{"message":"The user could not be found","type":"ASC.Common.Web.ItemNotFoundException"},"status":1,"statusCode":404}"#;
        let argument = br#"{"error":{"message":"Value cannot be null. (Parameter 'email')","type":"System.ArgumentException"},"status":1,"statusCode":400}"#;
        let validation = br#"{"response":{"type":"https://tools.ietf.org/html/rfc9110#section-15.5.1","title":"One or more validation errors occurred.","status":400,"errors":{"Email":["The Email field is not a valid e-mail address."]}},"count":1,"status":1,"statusCode":400}"#;
        let quota = br#"{"error":{"message":"The quota is exceeded","type":"ASC.Core.Tenants.TenantQuotaException"},"status":1,"statusCode":402}"#;
        let html = b"<html><head><title>502 Bad Gateway</title></head></html>";
        let failed = br#"{"error":{"message":"Object reference not set to an instance of an object.","type":null,"stack":null,"hresult":0},"status":1,"statusCode":500}"#;
        let table: [(u16, &[u8], ErrorKind, &str, bool); 13] = [
            (429, b"", ErrorKind::RateLimited, "rate-limited", true),
            (500, failed, ErrorKind::Provider, "Object reference", true),
            (503, b"", ErrorKind::Provider, "DocSpace failed", true),
            (
                401,
                b"",
                ErrorKind::Unauthenticated,
                "refused the credential",
                false,
            ),
            (403, b"", ErrorKind::PermissionDenied, "scope", false),
            (
                403,
                access_denied,
                ErrorKind::PermissionDenied,
                "Access denied",
                false,
            ),
            (
                403,
                method_not_available,
                ErrorKind::PermissionDenied,
                "Method not available",
                false,
            ),
            (404, b"", ErrorKind::Provider, "no such route", false),
            (
                404,
                not_found,
                ErrorKind::NotFound,
                "could not be found",
                false,
            ),
            (
                400,
                argument,
                ErrorKind::InvalidInput,
                "cannot be null",
                false,
            ),
            (
                400,
                validation,
                ErrorKind::InvalidInput,
                "Email: The Email field is not a valid e-mail address.",
                false,
            ),
            (402, quota, ErrorKind::PlanRequired, "quota", false),
            (502, html, ErrorKind::Provider, "DocSpace failed", true),
        ];
        for (status, body, kind, text, temporary) in table {
            let error = error_for(status, body);
            assert_eq!(
                error.kind(),
                kind,
                "{status} {}",
                String::from_utf8_lossy(body)
            );
            assert!(error.message().contains(text), "{status}: {error}");
            assert_eq!(error.status(), Some(status));
            assert_eq!(error.is_temporary(), temporary, "{status}");
        }
        assert_eq!(
            error_for(403, access_denied).code(),
            Some("System.Security.SecurityException")
        );
    }
}
