//! Decoding DocSpace's answers: the functions the adapter itself decodes with,
//! public so fuzzers and benchmarks reach the same code. Every input, however
//! malformed, gives a value or a typed [`Error`], never a panic.

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use unisession_core::{
    Account, AccountStatus, Cursor, Device, DeviceKind, Error, ErrorKind, Page, Result, Session,
    SessionId, UserId, UserLookup, UserRef,
};
use unisession_http::decode_json_object;

use crate::wire;

/// The error of a failed answer (status, then the error envelope); see `errors.rs`.
pub use crate::errors::error_for as error;

/// The `response` of a success envelope, `None` where the server sent none.
pub(crate) fn envelope<T: DeserializeOwned>(
    route: &str,
    status: u16,
    body: &[u8],
) -> Result<Option<T>> {
    envelope_with_total(route, status, body).map(|(response, _)| response)
}

/// The `response` of a success envelope and its `total`, each `None` where absent.
fn envelope_with_total<T: DeserializeOwned>(
    route: &str,
    status: u16,
    body: &[u8],
) -> Result<(Option<T>, Option<u64>)> {
    if status != 200 {
        return Err(error(status, body));
    }
    // The status first: a failed validation comes as a 200 whose `response` is a
    // problem description, not the expected value.
    let envelope: wire::Envelope<serde_json::Value> = decode_json_object(body).map_err(|why| {
        // A truncated or garbled body is worth another try; a wrong shape is not.
        let temporary = !why.starts_with("unexpected JSON shape");
        Error::new(
            ErrorKind::Decode,
            format!("could not decode the answer of {route}: {why}"),
        )
        .with_temporary(temporary)
    })?;
    if envelope.status != 0 {
        return Err(error(400, body));
    }
    let total = envelope.total;
    let response = envelope
        .response
        .map(|value| {
            // serde's own message could quote the value: keep it out of the error.
            serde_json::from_value(value).map_err(|_| {
                Error::new(
                    ErrorKind::Decode,
                    format!("could not decode the answer of {route}: unexpected JSON shape"),
                )
            })
        })
        .transpose()?;
    Ok((response, total))
}

pub(crate) fn no_result() -> Error {
    Error::new(
        ErrorKind::Provider,
        "DocSpace answered without a result: it swallowed an error, so nothing may have been done",
    )
}

/// One page of `GET security/activeconnections`: the sessions below the id `below`
/// (the cursor), newest first, at most `limit`; the synthetic item `id 0` skipped.
pub fn connections(
    provider: &str,
    status: u16,
    body: &[u8],
    below: Option<i32>,
    limit: Option<u32>,
) -> Result<Page<Session>> {
    let connections: wire::ActiveConnections =
        envelope("security/activeconnections", status, body)?.ok_or_else(no_result)?;
    let current = connections.login_event;
    // The caller's own connection is always listed: an answer without a list is broken,
    // and reading it as "no sessions" would prove a revocation that did not happen.
    let Some(items) = connections.items.filter(|items| {
        // A listed session nobody owns cannot be attributed: the answer is broken.
        items
            .iter()
            .all(|c| c.id == 0 || !c.user_id.trim().is_empty())
    }) else {
        return Err(Error::new(
            ErrorKind::Decode,
            "the answer of security/activeconnections has no items list, or lists a session without its user",
        ));
    };
    let mut items: Vec<wire::Connection> = items
        .into_iter()
        .filter(|c| c.id > 0 && below.is_none_or(|b| c.id < b))
        .collect();
    items.sort_by_key(|c| std::cmp::Reverse(c.id));
    let limit = limit.map_or(usize::MAX, |l| l as usize);
    let more = items.len() > limit;
    items.truncate(limit);
    let next = if more {
        items.last().map(|c| Cursor::new(c.id.to_string()))
    } else {
        None
    };
    Ok(Page::new(
        items
            .into_iter()
            .map(|c| session_from(provider, c, current))
            .collect(),
        next,
    ))
}

/// The answer of `GET people/email` or `GET people/{userid}`: a 404 with DocSpace's
/// error envelope (`ItemNotFoundException`, "The user could not be found", a text
/// the portal translates) is [`UserLookup::NotFound`]. A bare 404 is a route miss
/// (the URL is not a DocSpace portal) and an error: reading it as "no such user"
/// would let a wrong URL report everyone absent. A found user is returned as the
/// server described it; the caller checks it is the person asked for.
pub fn employee(route: &str, status: u16, body: &[u8]) -> Result<UserLookup> {
    if status == 404 {
        // Read as a value: serde would also fill the envelope's structs from arrays.
        let envelope: Option<serde_json::Value> = decode_json_object(body).ok();
        let message = envelope
            .as_ref()
            .and_then(|v| v.get("error"))
            .and_then(|e| e.get("message"))
            .and_then(serde_json::Value::as_str);
        return match message {
            Some(message) => Ok(UserLookup::not_found(format!(
                "{route} answered 404 with DocSpace's error envelope: {message:?}"
            ))),
            None => Err(error(status, body)),
        };
    }
    let employee: wire::Employee = envelope(route, status, body)?.ok_or_else(no_result)?;
    let id = employee_id(route, &employee)?;
    let mut user = UserRef::new(id);
    user.email = employee.email;
    user.name = employee.display_name;
    user.active = employee.status.map(|s| s == 1);
    Ok(UserLookup::Found(user))
}

/// The id of a person record; a record without one is a [`ErrorKind::Decode`] error.
fn employee_id(route: &str, employee: &wire::Employee) -> Result<UserId> {
    match employee.id.as_deref().map(str::trim) {
        Some(id) if !id.is_empty() => Ok(UserId::new(id)),
        _ => Err(Error::new(
            ErrorKind::Decode,
            format!("could not decode the answer of {route}: a user without an id"),
        )),
    }
}

/// The answer of `GET people/@self`: the caller's own id.
pub fn own_id(status: u16, body: &[u8]) -> Result<UserId> {
    let route = "people/@self";
    let employee: wire::Employee = envelope(route, status, body)?.ok_or_else(no_result)?;
    employee_id(route, &employee)
}

/// One page of `GET people/filter` asked from `start_index` with `count`: the
/// accounts, and the next page's cursor (the next `startIndex`) and the envelope's
/// `total` (the whole directory the caller sees). The server names no `startIndex`
/// in its answer, so the next one is `start_index` plus the people served; with a
/// `total` a page follows while that is below it (and the page was not empty),
/// without one while the page was full.
///
/// `status` 2 (Terminated) is [`AccountStatus::Deactivated`], `activationStatus` 2
/// (Pending: invited, not joined) [`AccountStatus::Invited`], anyone else
/// [`AccountStatus::Active`]. An empty `email` is none; a record without an id is a
/// [`ErrorKind::Decode`] error.
pub fn people(status: u16, body: &[u8], start_index: u64, count: u32) -> Result<Page<Account>> {
    let route = "people/filter";
    let (people, total): (Option<Vec<wire::Employee>>, Option<u64>) =
        envelope_with_total(route, status, body)?;
    // An answer without a list proves nothing about the directory.
    let people = people.ok_or_else(|| {
        Error::new(
            ErrorKind::Decode,
            format!("the answer of {route} has no list of people"),
        )
    })?;
    let served = people.len() as u64;
    let items = people
        .into_iter()
        .map(|employee| account(route, employee))
        .collect::<Result<Vec<Account>>>()?;
    let next = start_index + served;
    let more = match total {
        Some(total) => next < total && served > 0,
        None => served > 0 && served >= u64::from(count),
    };
    let page = Page::new(items, more.then(|| Cursor::new(next.to_string())));
    Ok(match total {
        Some(total) => page.with_total(total),
        None => page,
    })
}

fn account(route: &str, employee: wire::Employee) -> Result<Account> {
    let id = employee_id(route, &employee)?;
    let status = if employee.status == Some(2) {
        AccountStatus::Deactivated
    } else if employee.activation_status == Some(2) {
        AccountStatus::Invited
    } else {
        AccountStatus::Active
    };
    let mut user = UserRef::new(id).with_active(status == AccountStatus::Active);
    user.email = employee
        .email
        .map(|e| e.trim().to_owned())
        .filter(|e| !e.is_empty());
    user.name = employee.display_name.filter(|n| !n.trim().is_empty());
    Ok(Account::new(user, status))
}

fn parse_date(value: &serde_json::Value) -> Option<DateTime<Utc>> {
    let text = match value {
        serde_json::Value::String(s) => s.as_str(),
        // The spec's ApiDateTime object, should a server ever send it.
        serde_json::Value::Object(map) => map.get("utcTime")?.as_str()?,
        _ => return None,
    };
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

fn session_from(provider: &str, c: wire::Connection, current: i32) -> Session {
    let browser = c.browser.clone().filter(|b| !b.is_empty());
    let kind = if c.mobile {
        DeviceKind::Mobile
    } else if browser.as_deref().is_some_and(|b| b.contains("Desktop")) {
        DeviceKind::Desktop
    } else {
        DeviceKind::Browser
    };
    let mut device = Device::new(kind);
    device.name = browser.clone();
    device.os = c.platform.clone().filter(|p| !p.is_empty());
    device.client = browser;
    let mut session = Session::new(
        SessionId::new(c.id.to_string()),
        UserId::new(c.user_id.clone()),
        provider,
    )
    .with_device(device)
    .with_current(current != 0 && c.id == current);
    session.ip = c.ip.clone().filter(|ip| !ip.is_empty());
    let place: Vec<&str> = [c.city.as_deref(), c.country.as_deref()]
        .into_iter()
        .flatten()
        .filter(|s| !s.is_empty())
        .collect();
    if !place.is_empty() {
        session.location = Some(place.join(", "));
    }
    session.created_at = c.date.as_ref().and_then(parse_date);
    session.extra.insert("tenant_id".into(), c.tenant_id.into());
    if let Some(date) = c.date {
        session.extra.insert("date".into(), date);
    }
    if let Some(page) = c.page {
        session.extra.insert("page".into(), page.into());
    }
    session
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_researched_example_decodes_with_its_quirks() {
        let body = br#"{"response":{"loginEvent":48211,"items":[
            {"id":48211,"tenantId":1,"userId":"aae1e103-bca5-9fa1-ba8c-42058b4abf28","mobile":false,"ip":"203.0.113.7","country":"Germany","city":"Berlin","browser":"Chrome 126","platform":"Windows 10","date":"2025-03-10T14:22:31.0000000+01:00","page":"https://portal.example.com/login"},
            {"id":47990,"tenantId":1,"userId":"aae1e103-bca5-9fa1-ba8c-42058b4abf28","mobile":true,"ip":"2001","country":"","city":"","browser":"Mobile Safari 17","platform":"iOS 17 Apple iPhone","date":"2025-03-08T09:01:12.0000000+01:00"},
            {"id":0,"tenantId":0,"userId":"00000000-0000-0000-0000-000000000000","date":"2025-03-08T09:01:12.0000000Z"}]},
            "count":1,"links":[],"status":0,"statusCode":200}"#;
        let page = connections("docspace", 200, body, None, None).unwrap();
        assert_eq!(page.items.len(), 2, "the synthetic id 0 is skipped");
        assert!(page.items[0].current && !page.items[1].current);
        assert_eq!(
            page.items[0].created_at.unwrap().to_rfc3339(),
            "2025-03-10T13:22:31+00:00"
        );
        assert_eq!(
            page.items[1].ip.as_deref(),
            Some("2001"),
            "a truncated IPv6 stays text"
        );
        assert_eq!(page.items[1].device.kind, DeviceKind::Mobile);
        assert_eq!(page.items[0].location.as_deref(), Some("Berlin, Germany"));
        let first = connections("docspace", 200, body, None, Some(1)).unwrap();
        assert_eq!(first.next_cursor, Some(Cursor::new("48211")));
        let rest = connections("docspace", 200, body, Some(48211), Some(1)).unwrap();
        assert_eq!(rest.items[0].id.as_str(), "47990");
        assert_eq!(rest.next_cursor, None);
    }

    #[test]
    fn a_failed_validation_in_a_200_and_an_empty_401_are_typed() {
        let body = br#"{"response":{"title":"One or more validation errors occurred.","errors":{"Email":["bad"]}},"status":1,"statusCode":400}"#;
        assert_eq!(
            employee("people/email", 200, body).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            connections("docspace", 401, b"", None, None)
                .unwrap_err()
                .kind(),
            ErrorKind::Unauthenticated
        );
        let not_found = br#"{"error":{"message":"The user could not be found","type":"ASC.Common.Web.ItemNotFoundException"},"status":1,"statusCode":404}"#;
        assert!(matches!(
            employee("people/email", 404, not_found).unwrap(),
            UserLookup::NotFound { evidence } if evidence.contains("The user could not be found")
        ));
        // A bare 404 is a route miss (a wrong URL), never "no such user".
        assert_eq!(
            employee("people/email", 404, b"").unwrap_err().kind(),
            ErrorKind::Provider
        );
        let err = connections(
            "docspace",
            200,
            br#"{"response":{"loginEvent":1,"items":[{"id":"#,
            None,
            None,
        )
        .unwrap_err();
        assert!(err.kind() == ErrorKind::Decode && err.is_temporary());
    }
}
