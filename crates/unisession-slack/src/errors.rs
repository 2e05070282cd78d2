//! Slack error codes (HTTP 200 `{"ok":false,"error":…}`) to [`ErrorKind`].

use unisession_core::{Error, ErrorKind};

/// The kind of a Slack error code, and whether retrying later may help.
pub(crate) fn classify(code: &str) -> (ErrorKind, bool) {
    use ErrorKind::*;
    match code {
        "not_authed"
        | "invalid_auth"
        | "token_revoked"
        | "token_expired"
        | "account_inactive"
        | "org_login_required"
        | "two_factor_setup_required" => (Unauthenticated, false),
        "not_an_admin"
        | "missing_scope"
        | "not_allowed_token_type"
        | "admin_unauthorized"
        | "restricted_action"
        | "no_permission"
        | "access_denied"
        | "ekm_access_denied"
        | "enterprise_is_restricted"
        | "is_bot"
        | "cannot_invalidate_primary_owner"
        | "cannot_reset_primary_owner"
        | "session_reset_not_allowed"
        | "cannot_reset_bot"
        | "bots_not_allowed"
        | "team_added_to_org" => (PermissionDenied, false),
        "team_not_on_enterprise_plan" | "feature_not_enabled" => (PlanRequired, false),
        "user_not_found" | "users_not_found" | "team_not_found" | "session_not_found"
        | "session_expired" => (NotFound, false),
        "invalid_arguments"
        | "invalid_cursor"
        | "missing_user"
        | "missing_team"
        | "invalid_arg_name"
        | "invalid_array_arg"
        | "invalid_charset"
        | "invalid_form_data"
        | "invalid_post_type"
        | "missing_post_type"
        | "invalid_json"
        | "json_not_object"
        | "at_least_one_session_setting_required" => (InvalidInput, false),
        "ratelimited" | "accesslimited" => (RateLimited, true),
        "internal_error"
        | "fatal_error"
        | "service_unavailable"
        | "request_timeout"
        | "session_invalidation_failed"
        | "user_session_reset_failed"
        | "unable_to_update_existing_sessions" => (Provider, true),
        "unknown_method" | "deprecated_endpoint" | "method_deprecated" => (Unsupported, false),
        _ => (Provider, false),
    }
}

/// The error for a Slack `ok:false` answer. `needed`/`provided` of `missing_scope`
/// go into the message so the operator knows which scope to add.
pub(crate) fn api_error(code: &str, needed: Option<&str>, provided: Option<&str>) -> Error {
    let (kind, temporary) = classify(code);
    let message = match (code, needed) {
        ("missing_scope", Some(needed)) => format!(
            "the token lacks the scope {needed} (it has: {})",
            provided.unwrap_or("none")
        ),
        _ => describe(code).to_owned(),
    };
    Error::new(kind, message)
        .with_code(code)
        .with_temporary(temporary)
}

fn describe(code: &str) -> &'static str {
    match code {
        "not_authed" => "no authentication token provided",
        "invalid_auth" => "the token is not valid",
        "token_revoked" => "the token has been revoked",
        "token_expired" => "the token has expired",
        "account_inactive" => "the token's user is deactivated",
        "not_an_admin" => "the token's owner is not an Org Owner or Admin",
        "not_allowed_token_type" => "this method needs a user token (xoxp-…), not a bot token",
        "team_not_on_enterprise_plan" | "feature_not_enabled" => {
            "session management is available only on Slack Enterprise plans"
        }
        "user_not_found" | "users_not_found" => "no such user",
        "enterprise_is_restricted" => {
            "Slack refused this enterprise-level (org) token for a workspace-level method: look people up with a token installed on the workspace, or set team_id"
        }
        "session_expired" => "the session had already expired",
        "session_not_found" => "no such session",
        "cannot_invalidate_primary_owner"
        | "cannot_reset_primary_owner"
        | "session_reset_not_allowed" => {
            "only the primary owner may end the primary owner's sessions"
        }
        "cannot_reset_bot" | "bots_not_allowed" => "bot users have no sessions to reset",
        "invalid_cursor" => "the pagination cursor is not valid",
        "invalid_arguments" => "Slack refused the arguments",
        "ratelimited" => "Slack rate-limited the call",
        "session_invalidation_failed" => "Slack failed to invalidate the session; try again",
        "user_session_reset_failed" => "Slack failed to start the session reset; try again",
        _ => "Slack refused the call",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every code the research documents, with the kind it must map to.
    #[test]
    fn every_documented_code_maps_to_its_kind() {
        let table = [
            ("invalid_auth", ErrorKind::Unauthenticated, false),
            ("not_authed", ErrorKind::Unauthenticated, false),
            ("token_revoked", ErrorKind::Unauthenticated, false),
            ("token_expired", ErrorKind::Unauthenticated, false),
            ("account_inactive", ErrorKind::Unauthenticated, false),
            ("not_an_admin", ErrorKind::PermissionDenied, false),
            ("missing_scope", ErrorKind::PermissionDenied, false),
            ("not_allowed_token_type", ErrorKind::PermissionDenied, false),
            ("admin_unauthorized", ErrorKind::PermissionDenied, false),
            ("restricted_action", ErrorKind::PermissionDenied, false),
            (
                "team_not_on_enterprise_plan",
                ErrorKind::PlanRequired,
                false,
            ),
            ("feature_not_enabled", ErrorKind::PlanRequired, false),
            ("user_not_found", ErrorKind::NotFound, false),
            ("users_not_found", ErrorKind::NotFound, false),
            ("team_not_found", ErrorKind::NotFound, false),
            ("invalid_arguments", ErrorKind::InvalidInput, false),
            ("invalid_cursor", ErrorKind::InvalidInput, false),
            ("missing_user", ErrorKind::InvalidInput, false),
            ("missing_team", ErrorKind::InvalidInput, false),
            (
                "at_least_one_session_setting_required",
                ErrorKind::InvalidInput,
                false,
            ),
            (
                "cannot_invalidate_primary_owner",
                ErrorKind::PermissionDenied,
                false,
            ),
            (
                "cannot_reset_primary_owner",
                ErrorKind::PermissionDenied,
                false,
            ),
            ("cannot_reset_bot", ErrorKind::PermissionDenied, false),
            ("session_invalidation_failed", ErrorKind::Provider, true),
            ("user_session_reset_failed", ErrorKind::Provider, true),
            ("internal_error", ErrorKind::Provider, true),
            ("fatal_error", ErrorKind::Provider, true),
            ("ratelimited", ErrorKind::RateLimited, true),
            ("unknown_method", ErrorKind::Unsupported, false),
            ("some_code_slack_adds_next_year", ErrorKind::Provider, false),
        ];
        for (code, kind, temporary) in table {
            let error = api_error(code, None, None);
            assert_eq!(error.kind(), kind, "{code}");
            assert_eq!(error.is_temporary(), temporary, "{code}");
            assert_eq!(error.code(), Some(code));
        }
    }

    #[test]
    fn missing_scope_names_the_scope_needed() {
        let error = api_error(
            "missing_scope",
            Some("admin.users:write"),
            Some("users:read"),
        );
        assert!(error.message().contains("admin.users:write"), "{error}");
        assert!(error.message().contains("users:read"), "{error}");
    }
}
