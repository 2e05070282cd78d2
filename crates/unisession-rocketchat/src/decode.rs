//! Decoding Rocket.Chat's answers: the functions the adapter itself decodes with,
//! public so fuzzers and benchmarks reach the same code. Every input, however
//! malformed, gives a value or a typed [`Error`], never a panic.

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use unisession_core::{
    Cursor, Device, DeviceKind, Error, Page, Result, Session, SessionId, UserId,
};
use unisession_http::decode_json_object;

use crate::wire;

/// The error of a failed answer; `sessions_route` tells device-management calls,
/// where older servers report a missing license as `unauthorized`.
pub use crate::errors::error_for as error;

/// A successful answer of `route`, or the error a failed one describes.
pub(crate) fn answer<T: DeserializeOwned>(route: &str, status: u16, body: &[u8]) -> Result<T> {
    if status != 200 {
        return Err(error(status, body, route.starts_with("api/v1/sessions/")));
    }
    decode_json_object(body).map_err(|why| {
        // A truncated or garbled body is worth another try; a wrong shape is not.
        let temporary = !why.starts_with("unexpected JSON shape");
        Error::new(
            unisession_core::ErrorKind::Decode,
            format!("could not decode the answer of {route}: {why}"),
        )
        .with_temporary(temporary)
    })
}

/// A page of `sessions/list` or `sessions/list.all` asked at `offset`: the next
/// cursor is the offset after it while items remain (`total`); `count` in the answer
/// echoes the request and is not used. With `user`, other users' sessions (the
/// server matches its filter as text) are dropped.
pub fn session_page(
    provider: &str,
    route: &str,
    status: u16,
    body: &[u8],
    offset: u64,
    user: Option<&UserId>,
) -> Result<Page<Session>> {
    let page: wire::SessionPage = answer(route, status, body)?;
    // A session without its ids cannot be revoked nor attributed: refuse the page.
    if page
        .sessions
        .iter()
        .any(|s| s.session_id.trim().is_empty() || s.user_id.trim().is_empty())
    {
        return Err(Error::new(
            unisession_core::ErrorKind::Decode,
            format!(
                "could not decode the answer of {route}: a session without sessionId or userId"
            ),
        ));
    }
    let received = page.sessions.len() as u64;
    let next = offset.saturating_add(received);
    let items = page
        .sessions
        .into_iter()
        .filter(|s| user.is_none_or(|u| u.as_str() == s.user_id))
        .map(|s| session_from(provider, s))
        .collect();
    let next_cursor = (received > 0 && next < page.total).then(|| Cursor::new(next.to_string()));
    Ok(Page::new(items, next_cursor).with_total(page.total))
}

/// Whether a `sessions/list` answer marks the current session at all: the `current`
/// key arrived with Rocket.Chat PR #40351 (about 8.7); older servers never send it,
/// so its absence says nothing about which session is the caller's.
pub fn marks_current(body: &[u8]) -> bool {
    decode_json_object::<wire::CurrentMarkers>(body)
        .is_ok_and(|m| m.sessions.iter().any(|s| s.current.is_some()))
}

fn session_from(provider: &str, item: wire::SessionItem) -> Session {
    let device = item.device.map(|d| {
        let kind = match d.kind.as_deref() {
            Some("browser") => DeviceKind::Browser,
            Some(k) if k.starts_with("mobile") => DeviceKind::Mobile,
            Some(k) if k.starts_with("desktop") => DeviceKind::Desktop,
            _ => DeviceKind::Unknown,
        };
        let mut device = Device::new(kind);
        device.name = d.name.clone().filter(|n| !n.is_empty());
        device.os = d.os.as_ref().and_then(|os| {
            let parts: Vec<&str> = [os.name.as_deref(), os.version.as_deref()]
                .into_iter()
                .flatten()
                .filter(|s| !s.is_empty())
                .collect();
            (!parts.is_empty()).then(|| parts.join(" "))
        });
        device.client = match (
            d.name.as_deref(),
            d.long_version.as_deref().or(d.version.as_deref()),
        ) {
            (Some(name), Some(version)) if !name.is_empty() => Some(format!("{name} {version}")),
            (Some(name), _) if !name.is_empty() => Some(name.to_owned()),
            _ => None,
        };
        device
    });
    let mut session = Session::new(
        SessionId::new(item.session_id),
        UserId::new(item.user_id),
        provider,
    )
    .with_device(device.unwrap_or_default())
    .with_current(item.current.unwrap_or(false));
    session.ip = item.ip.filter(|ip| !ip.is_empty());
    session.created_at = item
        .login_at
        .as_deref()
        .and_then(|at| DateTime::parse_from_rfc3339(at).ok())
        .map(|at| at.with_timezone(&Utc));
    if let Some(host) = item.host {
        session.extra.insert("host".into(), host.into());
    }
    if let Some(user) = item.user.and_then(|u| serde_json::to_value(u).ok()) {
        session.extra.insert("user".into(), user);
    }
    session
}

#[cfg(test)]
mod tests {
    use super::*;
    use unisession_core::ErrorKind;

    const SPEC_EXAMPLE: &[u8] = br#"{"sessions":[
        {"sessionId":"QoYYFw2t9oKks2niG","userId":"rbAXPnMktTFbNpwtJ","device":{"type":"browser","name":"Chrome","longVersion":"113.0.0.0","os":{"name":"Windows","version":"10"},"version":"113.0.0"},"host":"localhost:3000","ip":"172.20.0.2","loginAt":"2023-05-23T16:33:45.202Z","_id":"QoYYFw2t9oKks2niG","current":false},
        {"sessionId":"WJ2giBwm4B9mcojFi","userId":"rbAXPnMktTFbNpwtJ","device":{"type":"mobile","name":"Chrome","os":{"name":"Android"}},"host":"localhost:3000","ip":"172.20.0.2","loginAt":"2023-05-23T12:43:52.023Z","_id":"WJ2giBwm4B9mcojFi","current":true}
    ],"total":2,"count":50,"offset":0,"success":true}"#;

    #[test]
    fn the_spec_example_decodes_with_sparse_devices_and_current() {
        let page = session_page(
            "rocketchat",
            "api/v1/sessions/list",
            200,
            SPEC_EXAMPLE,
            0,
            None,
        )
        .unwrap();
        assert_eq!(page.items.len(), 2);
        assert_eq!(page.total, Some(2));
        assert_eq!(
            page.next_cursor, None,
            "count echoes the request: it does not mean more"
        );
        assert_eq!(page.items[0].device.os.as_deref(), Some("Windows 10"));
        assert_eq!(page.items[1].device.os.as_deref(), Some("Android"));
        assert_eq!(page.items[1].device.kind, DeviceKind::Mobile);
        assert!(page.items[1].current && !page.items[0].current);
    }

    #[test]
    fn the_next_cursor_follows_total_not_count() {
        let body = br#"{"sessions":[{"sessionId":"a","userId":"u"}],"total":7,"count":100,"offset":5,"success":true}"#;
        let page =
            session_page("rocketchat", "api/v1/sessions/list.all", 200, body, 5, None).unwrap();
        assert_eq!(page.next_cursor, Some(Cursor::new("6")));
        let filtered = session_page(
            "rocketchat",
            "api/v1/sessions/list.all",
            200,
            body,
            5,
            Some(&UserId::new("v")),
        )
        .unwrap();
        assert!(
            filtered.items.is_empty() && filtered.next_cursor.is_some(),
            "an empty page may still have more"
        );
        let empty = br#"{"sessions":[],"total":7,"count":100,"offset":9,"success":true}"#;
        assert_eq!(
            session_page(
                "rocketchat",
                "api/v1/sessions/list.all",
                200,
                empty,
                9,
                None
            )
            .unwrap()
            .next_cursor,
            None
        );
    }

    #[test]
    fn failures_are_typed() {
        let license = br#"{"success":false,"error":"This is an enterprise feature [error-action-not-allowed]","errorType":"error-action-not-allowed"}"#;
        let err = session_page(
            "rocketchat",
            "api/v1/sessions/list.all",
            400,
            license,
            0,
            None,
        )
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::PlanRequired);
        let err = session_page(
            "rocketchat",
            "api/v1/sessions/list.all",
            200,
            b"{\"sessions\":[{",
            0,
            None,
        )
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Decode);
    }
}
