//! Decoding Slack's answers: the functions the adapter itself decodes with, public
//! so fuzzers and benchmarks reach the same code. Every input, however malformed,
//! gives a value or a typed [`Error`], never a panic.

use unisession_core::{
    Cursor, Device, DeviceKind, Error, ErrorKind, Page, Result, Session, SessionId, UserId,
    UserLookup, UserRef,
};
use unisession_http::decode_json_object;

use crate::errors::api_error;
use crate::wire;

/// The envelope of an answer to `method`. Slack answers 200 (errors included) or
/// 429; any other status comes from a proxy or a wrong base URL.
pub(crate) fn envelope(method: &str, status: u16, body: &[u8]) -> Result<wire::Envelope> {
    if status != 200 {
        return Err(Error::new(
            ErrorKind::Provider,
            format!("{method} answered HTTP {status}; Slack answers 200 or 429, so a proxy or the base URL is at fault"),
        )
        .with_status(status)
        .with_temporary(status >= 500));
    }
    decode_json_object(body).map_err(|why| decode_error(method, &why))
}

fn decode_error(method: &str, why: &str) -> Error {
    // A truncated or garbled body is worth another try; a wrong shape is not.
    let temporary = !why.starts_with("unexpected JSON shape");
    Error::new(
        ErrorKind::Decode,
        format!("could not decode the answer of {method}: {why}"),
    )
    .with_temporary(temporary)
}

pub(crate) fn envelope_error(envelope: &wire::Envelope) -> Error {
    let code = envelope.error.as_deref().unwrap_or("unknown_error");
    api_error(
        code,
        envelope.needed.as_deref(),
        envelope.provided.as_deref(),
    )
}

/// A page of `admin.users.session.list`: `no_active_sessions` is an empty last page,
/// an empty, null or absent `next_cursor` ends the listing.
pub fn session_page(provider: &str, status: u16, body: &[u8]) -> Result<Page<Session>> {
    const METHOD: &str = "admin.users.session.list";
    let envelope = envelope(METHOD, status, body)?;
    if !envelope.ok {
        return match envelope.error.as_deref() {
            Some("no_active_sessions") => Ok(Page::last(Vec::new())),
            _ => Err(envelope_error(&envelope)),
        };
    }
    let list: wire::SessionList =
        decode_json_object(body).map_err(|why| decode_error(METHOD, &why))?;
    // A session nobody owns could hide a survivor from a verification: refuse the page.
    if list
        .active_sessions
        .iter()
        .any(|s| s.user_id.trim().is_empty())
    {
        return Err(decode_error(METHOD, "a session without a user_id"));
    }
    let items = list
        .active_sessions
        .into_iter()
        .map(|s| session_from(provider, s))
        .collect();
    let next = envelope
        .response_metadata
        .and_then(|m| m.next_cursor)
        .filter(|c| !c.is_empty())
        .map(Cursor::new);
    Ok(Page::new(items, next))
}

/// The answer of `users.lookupByEmail` (or `users.info`): `users_not_found` (or
/// `user_not_found`) is [`UserLookup::NotFound`]. A found user is returned as Slack
/// described it; the caller checks it is the person asked for.
pub fn lookup(status: u16, body: &[u8]) -> Result<UserLookup> {
    user_answer("users.lookupByEmail", status, body)
}

pub(crate) fn user_answer(method: &str, status: u16, body: &[u8]) -> Result<UserLookup> {
    let envelope = envelope(method, status, body)?;
    if !envelope.ok {
        return match envelope.error.as_deref() {
            Some(code @ ("users_not_found" | "user_not_found")) => {
                Ok(UserLookup::not_found(format!("{method} answered {code}")))
            }
            _ => Err(envelope_error(&envelope)),
        };
    }
    let lookup: wire::Lookup =
        decode_json_object(body).map_err(|why| decode_error(method, &why))?;
    let user = lookup.user;
    if user.id.trim().is_empty() {
        return Err(decode_error(method, "a user without an id"));
    }
    let profile = user.profile.unwrap_or(wire::Profile {
        email: None,
        real_name: None,
    });
    let mut found = UserRef::new(UserId::new(user.id)).with_active(!user.deleted.unwrap_or(false));
    found.email = profile.email;
    found.name = user.real_name.or(profile.real_name);
    Ok(UserLookup::Found(found))
}

fn session_from(provider: &str, item: wire::ActiveSession) -> Session {
    let details = item
        .recent
        .clone()
        .or_else(|| item.created.clone())
        .unwrap_or_default();
    let kind = match details
        .os
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("ios" | "android" | "ipados") => DeviceKind::Mobile,
        _ => DeviceKind::Unknown,
    };
    let mut device = Device::new(kind);
    device.name = details.device_hardware.clone();
    device.os = match (&details.os, &details.os_version) {
        (Some(os), Some(version)) => Some(format!("{os} {version}")),
        (Some(os), None) => Some(os.clone()),
        _ => None,
    };
    device.client = details.slack_client_version.clone();
    let mut session = Session::new(
        SessionId::new(item.session_id.to_string()),
        UserId::new(item.user_id),
        provider,
    )
    .with_device(device);
    session.ip = details.ip.clone();
    if let Some(team) = item.team_id {
        session.extra.insert("team_id".into(), team.into());
    }
    for (key, value) in [("created", &item.created), ("recent", &item.recent)] {
        if let Some(json) = value.as_ref().and_then(|v| serde_json::to_value(v).ok()) {
            session.extra.insert(key.into(), json);
        }
    }
    session
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_example_decodes_and_ends_the_listing() {
        // The docs' example has no response_metadata: the listing ends there.
        let body = br#"{"ok":true,"active_sessions":[{"user_id":"U012S9M77JP","team_id":"E011E2SBBFC","session_id":1112275520242,
            "recent":{"device_hardware":"Intel","os":"OS X","os_version":"10.15.7","slack_client_version":"91.0.4472.77","ip":"24.6.145.138"},
            "created":{"device_hardware":"Intel","os":"OS X","os_version":"10.15.7","slack_client_version":"91.0.4472.77","ip":"24.6.145.138"}}]}"#;
        let page = session_page("slack", 200, body).unwrap();
        assert_eq!(page.items.len(), 1);
        assert_eq!(page.items[0].id.as_str(), "1112275520242");
        assert_eq!(page.items[0].device.os.as_deref(), Some("OS X 10.15.7"));
        assert_eq!(page.next_cursor, None);
    }

    #[test]
    fn cursors_end_on_empty_null_or_absent_and_ids_may_be_strings() {
        for meta in [
            r#","response_metadata":{"next_cursor":""}"#,
            r#","response_metadata":{"next_cursor":null}"#,
            r#","response_metadata":{}"#,
            "",
        ] {
            let body = format!(
                r#"{{"ok":true,"active_sessions":[{{"user_id":"U1","session_id":"42","created":{{}}}}]{meta}}}"#
            );
            let page = session_page("slack", 200, body.as_bytes()).unwrap();
            assert_eq!(page.next_cursor, None, "{meta}");
            assert_eq!(page.items[0].id.as_str(), "42");
        }
        let more = br#"{"ok":true,"active_sessions":[],"response_metadata":{"next_cursor":"dXNlcjpVMEc5"}}"#;
        assert_eq!(
            session_page("slack", 200, more).unwrap().next_cursor,
            Some(Cursor::new("dXNlcjpVMEc5"))
        );
    }

    #[test]
    fn no_active_sessions_is_an_empty_page_and_other_errors_are_typed() {
        let page = session_page(
            "slack",
            200,
            br#"{"ok":false,"error":"no_active_sessions"}"#,
        )
        .unwrap();
        assert!(page.items.is_empty() && page.next_cursor.is_none());
        let err =
            session_page("slack", 200, br#"{"ok":false,"error":"not_an_admin"}"#).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::PermissionDenied);
        let err = session_page("slack", 503, b"<html>").unwrap_err();
        assert!(err.is_temporary() && err.status() == Some(503));
        let err = session_page("slack", 200, br#"{"ok":true,"active_sess"#).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Decode);
        assert_eq!(
            lookup(200, br#"{"ok":false,"error":"users_not_found"}"#)
                .unwrap()
                .user()
                .cloned(),
            None
        );
    }
}
