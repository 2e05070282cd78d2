//! The decoders of Okta's answers, public (and hidden) for the fuzzers and the
//! decoder property tests: any input gives a value or a typed error, never a panic.

use unisession_core::{Error, ErrorKind, Result};

/// Decodes a `users` search answer: the ids and emails of the users in it.
pub fn users(body: &[u8]) -> Result<Vec<(String, Option<String>)>> {
    let users: Vec<crate::wire::User> = serde_json::from_slice(body)
        .map_err(|e| Error::new(ErrorKind::Decode, format!("not a list of Okta users: {e}")))?;
    Ok(users.into_iter().map(|u| (u.id, u.profile.email)).collect())
}

/// Decodes a System Log page: each event's type and target ids.
pub fn log_events(body: &[u8]) -> Result<Vec<(String, Vec<String>)>> {
    let events: Vec<crate::wire::LogEvent> = serde_json::from_slice(body)
        .map_err(|e| Error::new(ErrorKind::Decode, format!("not a System Log page: {e}")))?;
    Ok(events
        .into_iter()
        .map(|e| (e.event_type, e.target.into_iter().map(|t| t.id).collect()))
        .collect())
}

/// Maps an error answer to its [`ErrorKind`].
pub fn error_kind(status: u16, body: &[u8]) -> ErrorKind {
    crate::errors::api_error("decode", status, &unisession_http::HeaderMap::new(), body).kind()
}
