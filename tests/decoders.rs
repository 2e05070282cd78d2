//! Decoder robustness: every adapter's answer decoding (the functions the adapters
//! themselves call) fed arbitrary bytes, arbitrary JSON built from the providers'
//! own field names, and real answers cut or corrupted. Never a panic; a failure is
//! always a typed error; what decodes is consistent with what was sent.

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use unisession::{ErrorKind, Page, Result, Session, UserId, UserLookup};

/// The field names the three providers use, so that arbitrary JSON reaches past the
/// first `missing field`.
const FIELDS: &[&str] = &[
    "ok",
    "error",
    "warning",
    "needed",
    "provided",
    "active_sessions",
    "session_id",
    "user_id",
    "team_id",
    "created",
    "recent",
    "device_hardware",
    "os",
    "os_version",
    "slack_client_version",
    "ip",
    "response_metadata",
    "next_cursor",
    "messages",
    "user",
    "id",
    "deleted",
    "real_name",
    "profile",
    "email",
    "sessions",
    "sessionId",
    "userId",
    "device",
    "type",
    "name",
    "longVersion",
    "version",
    "host",
    "loginAt",
    "current",
    "_user",
    "total",
    "count",
    "offset",
    "success",
    "errorType",
    "details",
    "method",
    "response",
    "status",
    "statusCode",
    "items",
    "loginEvent",
    "mobile",
    "country",
    "city",
    "browser",
    "platform",
    "date",
    "page",
    "displayName",
    "title",
    "errors",
    "message",
];

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        (-1e12f64..1e12).prop_map(|f| json!(f)),
        ".{0,24}".prop_map(Value::String),
        prop_oneof![
            Just("2026-03-10T14:22:31.0000000+01:00"),
            Just("2023-05-23T16:33:45.202Z"),
            Just("not a date"),
            Just(""),
        ]
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(5, 96, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop_oneof![
                        4 => prop::sample::select(FIELDS).prop_map(str::to_owned),
                        1 => ".{0,8}",
                    ],
                    inner
                ),
                0..8
            )
            .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Real answers of each provider, to cut and corrupt.
fn real_answers() -> Vec<Vec<u8>> {
    [
        json!({"ok": true, "active_sessions": [{"user_id": "W1", "team_id": "E1", "session_id": 9_000_000_001u64,
            "created": {"device_hardware": "iPhone", "os": "iOS", "os_version": "17", "slack_client_version": "4.3", "ip": "203.0.113.7"}}],
            "response_metadata": {"next_cursor": "c2Vzc2lvbjox"}}),
        json!({"ok": true, "user": {"id": "W1", "deleted": false, "real_name": "A", "profile": {"email": "a@corp.example"}}}),
        json!({"ok": false, "error": "missing_scope", "needed": "admin.users:read", "provided": "users:read"}),
        json!({"sessions": [{"sessionId": "QoYYFw2t9oKks2niG", "userId": "rbAXPnMktTFbNpwtJ", "device": {"type": "browser", "name": "Chrome", "os": {"name": "Windows", "version": "10"}},
            "loginAt": "2023-05-23T16:33:45.202Z", "current": true}], "total": 5, "count": 1, "offset": 0, "success": true}),
        json!({"success": false, "error": "This is an enterprise feature [error-action-not-allowed]", "errorType": "error-action-not-allowed"}),
        json!({"response": {"loginEvent": 48211, "items": [{"id": 48211, "userId": "aae1e103-bca5-9fa1-ba8c-42058b4abf28", "mobile": false,
            "ip": "203.0.113.7", "browser": "Chrome 126", "platform": "Windows 10", "date": "2025-03-10T14:22:31.0000000+01:00"}]},
            "count": 1, "status": 0, "statusCode": 200}),
        json!({"response": {"id": "aae1e103-bca5-9fa1-ba8c-42058b4abf28", "email": "a@corp.example", "displayName": "A", "status": 1}, "status": 0, "statusCode": 200}),
        json!({"response": {"title": "One or more validation errors occurred.", "errors": {"Email": ["bad"]}}, "status": 1, "statusCode": 400}),
        json!([{"id": "00u1abcdefGHIJKLMNOP", "status": "ACTIVE", "profile": {"login": "a@corp.example", "email": "a@corp.example", "firstName": "A", "lastName": "B"}}]),
        json!([{"uuid": "e4345648-ef40-8da4-9d83-f071ba17bb9a", "published": "2026-12-01T01:09:47.682Z", "eventType": "user.session.clear",
            "actor": {"id": "00u0admin", "type": "User"}, "target": [{"id": "00u1abcdefGHIJKLMNOP", "type": "User"}]}]),
        json!({"errorCode": "E0000007", "errorSummary": "Not found: Resource not found: x (User)", "errorLink": "E0000007", "errorId": "oae1", "errorCauses": []}),
        json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users", "value": [{"id": "ddfd090d-9f30-34dd-6f5c-de4468fd5915",
            "userPrincipalName": "a@corp.onmicrosoft.com", "mail": "a@corp.example", "otherMails": ["b@corp.example"],
            "proxyAddresses": ["SMTP:a@corp.example", "smtp:c@corp.example", "x500:/o=corp"], "userType": "Member"}]}),
        json!({"kind": "admin#directory#user", "id": "107329021234567890123", "primaryEmail": "a@corp.example", "aliases": ["b@corp-alias.example"],
            "name": {"fullName": "A B"}, "suspended": false, "lastLoginTime": "2026-10-28T03:25:28.000Z"}),
        json!({"error": {"code": 403, "message": "Quota", "errors": [{"domain": "global", "reason": "userRateLimitExceeded", "message": "Quota"}]}}),
        json!({"error": {"code": "Request_ResourceNotFound", "message": "Resource 'x' does not exist or one of its queried reference-property objects are not present.",
            "innerError": {"date": "2026-12-01T00:00:00", "request-id": "r"}}}),
    ]
    .iter()
    .map(|v| serde_json::to_vec(v).expect("JSON"))
    .collect()
}

fn arb_body() -> impl Strategy<Value = Vec<u8>> {
    let answers = real_answers();
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..512),
        arb_json().prop_map(|v| serde_json::to_vec(&v).expect("JSON")),
        // A real answer cut short.
        (
            prop::sample::select(answers.clone()),
            any::<prop::sample::Index>()
        )
            .prop_map(|(body, at)| body[..at.index(body.len() + 1)].to_vec()),
        // A real answer with one byte changed.
        (
            prop::sample::select(answers),
            any::<prop::sample::Index>(),
            any::<u8>()
        )
            .prop_map(|(mut body, at, byte)| {
                let i = at.index(body.len());
                body[i] = byte;
                body
            }),
    ]
}

fn arb_status() -> impl Strategy<Value = u16> {
    prop_oneof![
        6 => Just(200u16),
        1 => prop::sample::select(vec![400u16, 401, 403, 404, 429, 500, 502, 503]),
        1 => 100u16..600,
    ]
}

fn is_json(body: &[u8]) -> bool {
    serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok()
}

/// What every decoded page must satisfy.
fn check_page(page: &Result<Page<Session>>, status: u16, body: &[u8], provider: &str) {
    match page {
        Ok(page) => {
            assert_eq!(status, 200, "only a 200 decodes to a page");
            assert!(is_json(body), "only JSON decodes to a page");
            // A page, even an empty one, only from an answer that carries the list:
            // "no sessions" read from anything else would prove a revocation falsely.
            let v: Value = serde_json::from_slice(body).expect("JSON");
            let carries_list = match provider {
                "slack" => v["active_sessions"].is_array() || v["error"] == "no_active_sessions",
                "rocketchat" => v["sessions"].is_array(),
                _ => v["response"]["items"].is_array(),
            };
            assert!(
                carries_list,
                "an empty page from an answer without the list: {v}"
            );
            for session in &page.items {
                assert!(!session.id.as_str().is_empty(), "a session without an id");
                assert!(
                    !session.user.as_str().is_empty(),
                    "a session without a user"
                );
                assert_eq!(session.provider, provider);
            }
        }
        Err(e) => {
            if status == 200 && !is_json(body) {
                assert_eq!(e.kind(), ErrorKind::Decode, "{e}");
            }
        }
    }
}

fn check_user(user: &Result<UserLookup>, status: u16, body: &[u8]) {
    match user {
        Ok(UserLookup::Found(user)) => {
            assert_eq!(status, 200, "only a 200 finds a user");
            assert!(is_json(body));
            assert!(!user.id.as_str().is_empty(), "a user without an id");
        }
        Ok(UserLookup::NotFound { evidence }) => {
            assert!(
                is_json(body),
                "absence comes only from the provider's own answer"
            );
            assert!(!evidence.is_empty(), "absence says how it was established");
        }
        Ok(other) => panic!("unknown lookup answer {other:?}"),
        Err(e) => {
            if status == 200 && !is_json(body) {
                assert_eq!(e.kind(), ErrorKind::Decode, "{e}");
            }
        }
    }
}

proptest! {
    // 512 cases per run; PROPTEST_CASES=N searches longer.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(512),
        ..ProptestConfig::default()
    })]

    #[test]
    fn slack_decoding_never_panics(status in arb_status(), body in arb_body()) {
        let page = unisession::slack::decode::session_page("slack", status, &body);
        check_page(&page, status, &body, "slack");
        if let Ok(page) = &page {
            let listed = serde_json::from_slice::<Value>(&body).ok()
                .and_then(|v| v["active_sessions"].as_array().map(Vec::len))
                .unwrap_or(0);
            prop_assert!(page.items.len() <= listed);
        }
        check_user(&unisession::slack::decode::lookup(status, &body), status, &body);
    }

    #[test]
    fn okta_decoding_never_panics(status in arb_status(), body in arb_body()) {
        let users = unisession::okta::decode::users(&body);
        // (Where the body is not valid JSON throughout, serde skips the unread parts.)
        if let (Ok(users), Some(listed)) = (&users, serde_json::from_slice::<Value>(&body).ok()
            .and_then(|v| v.as_array().map(Vec::len))) {
            prop_assert_eq!(users.len(), listed);
        }
        let _ = unisession::okta::decode::log_events(&body);
        let kind = unisession::okta::decode::error_kind(status, &body);
        // Only Okta's own "not found" (E0000007) means absence: never a bare status.
        if kind == ErrorKind::NotFound {
            prop_assert!(
                body.windows(8).any(|w| w == b"E0000007"),
                "NotFound from {}", String::from_utf8_lossy(&body)
            );
        }
    }

    #[test]
    fn entra_decoding_never_panics(status in arb_status(), body in arb_body()) {
        if let Ok(users) = unisession::entra::decode::users(&body) {
            if let Some(listed) = serde_json::from_slice::<Value>(&body).ok()
                .and_then(|v| v["value"].as_array().map(Vec::len)) {
                prop_assert_eq!(users.len(), listed);
            }
            for (_, addresses) in &users {
                // Only SMTP proxy addresses count, without their prefix.
                prop_assert!(addresses.iter().all(|a| !a.to_lowercase().starts_with("smtp:")));
            }
        }
        let kind = unisession::entra::decode::error_kind(status, &body);
        if kind == ErrorKind::NotFound {
            prop_assert!(
                body.windows(24).any(|w| w == b"Request_ResourceNotFound"),
                "NotFound from {}", String::from_utf8_lossy(&body)
            );
        }
    }

    #[test]
    fn google_decoding_never_panics(status in arb_status(), body in arb_body()) {
        if let Ok((_, addresses)) = unisession::google::decode::user(&body) {
            prop_assert!(addresses.len() <= body.len());
        }
        let (kind, quota) = unisession::google::decode::error_kind(status, &body);
        // A quota answer is never taken for a refusal, and a refusal never retried.
        if quota && status == 403 {
            prop_assert!(kind == ErrorKind::RateLimited || !body.windows(9).any(|w| w == b"forbidden"));
        }
        if kind == ErrorKind::NotFound {
            prop_assert!(body.windows(8).any(|w| w == b"notFound"));
        }
    }

    #[test]
    fn rocketchat_decoding_never_panics(
        status in arb_status(),
        body in arb_body(),
        offset in 0u64..10_000,
        filtered in any::<bool>(),
    ) {
        let user = filtered.then(|| UserId::new("rbAXPnMktTFbNpwtJ"));
        for route in ["api/v1/sessions/list.all", "api/v1/sessions/list"] {
            let page = unisession::rocketchat::decode::session_page(
                "rocketchat", route, status, &body, offset, user.as_ref(),
            );
            check_page(&page, status, &body, "rocketchat");
            if let Ok(page) = &page {
                if let Some(user) = &user {
                    prop_assert!(page.items.iter().all(|s| &s.user == user));
                }
                if let (Some(cursor), Some(total)) = (&page.next_cursor, page.total) {
                    let next: u64 = cursor.as_str().parse().expect("an offset");
                    prop_assert!(next > offset && next < total, "the cursor moves forward within the total");
                }
            }
        }
        let error = unisession::rocketchat::decode::error(status, &body, true);
        prop_assert!(!error.message().is_empty() || error.kind() != ErrorKind::Provider);
    }

    #[test]
    fn docspace_decoding_never_panics(
        status in arb_status(),
        body in arb_body(),
        below in prop::option::of(any::<i32>()),
        limit in prop::option::of(0u32..200),
    ) {
        let page = unisession::docspace::decode::connections("docspace", status, &body, below, limit);
        check_page(&page, status, &body, "docspace");
        if let Ok(page) = &page {
            prop_assert!(limit.is_none_or(|l| page.items.len() <= l as usize));
            for session in &page.items {
                let id: i32 = session.id.as_str().parse().expect("an event id");
                prop_assert!(id > 0 && below.is_none_or(|b| id < b), "ids below the cursor, never 0");
            }
        }
        let employee = unisession::docspace::decode::employee("people/email", status, &body);
        if status == 404 {
            // NotFound only with DocSpace's own error envelope; a bare 404 is a route miss.
            let enveloped = serde_json::from_slice::<Value>(&body)
                .is_ok_and(|v| v["error"]["message"].is_string());
            prop_assert_eq!(matches!(employee, Ok(UserLookup::NotFound { .. })), enveloped, "{:?}", employee);
        } else {
            check_user(&employee, status, &body);
        }
        let _ = unisession::docspace::decode::error(status, &body);
    }
}

#[test]
fn an_empty_id_is_never_a_user_or_a_session() {
    let slack_user = unisession::slack::decode::lookup(200, br#"{"ok":true,"user":{"id":""}}"#);
    assert!(slack_user.is_err(), "{slack_user:?}");
    let slack_page = unisession::slack::decode::session_page(
        "slack",
        200,
        br#"{"ok":true,"active_sessions":[{"user_id":"","session_id":1}]}"#,
    );
    assert!(slack_page.is_err(), "{slack_page:?}");
    let rc_page = unisession::rocketchat::decode::session_page(
        "rocketchat",
        "api/v1/sessions/list.all",
        200,
        br#"{"sessions":[{"sessionId":"","userId":"u"}],"total":1,"success":true}"#,
        0,
        None,
    );
    assert!(rc_page.is_err(), "{rc_page:?}");
    let employee = unisession::docspace::decode::employee(
        "people/email",
        200,
        br#"{"response":{"id":""},"status":0}"#,
    );
    assert!(employee.is_err(), "{employee:?}");
    let ds_page = unisession::docspace::decode::connections(
        "docspace",
        200,
        br#"{"response":{"loginEvent":1,"items":[{"id":5,"userId":""}]},"status":0}"#,
        None,
        None,
    );
    assert!(ds_page.is_err(), "{ds_page:?}");
}
