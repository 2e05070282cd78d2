//! The DocSpace directory (`list_users` over `people/filter`, `current_user` over
//! `people/@self`) over real HTTP against the DocSpace emulator.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::time::Duration;

use secrecy::SecretString;
use unisession_core::{
    Account, AccountStatus, Cursor, DeviceScope, ErrorKind, ListQuery, Operation, SessionProvider,
    UserId,
};
use unisession_docspace::{DocSpaceBuilder, DocSpaceProvider};
use unisession_emulator::{DocSpaceEmulator, DocSpaceRole, Emulator, EmulatorConfig, ProviderKind};
use unisession_http::{RetryConfig, TransportOptions};

async fn emulator(users: usize) -> Emulator {
    Emulator::start(
        EmulatorConfig::new()
            .users(users)
            .only(ProviderKind::DocSpace),
    )
    .await
    .expect("emulator starts")
}

fn fast_retry() -> RetryConfig {
    RetryConfig::default()
        .with_max_retries(4)
        .with_initial_backoff(Duration::from_millis(5))
        .with_max_backoff(Duration::from_millis(20))
}

fn base(ds: &DocSpaceEmulator) -> DocSpaceBuilder {
    DocSpaceBuilder::new(ds.base_url())
        .with_transport(TransportOptions::new().with_retry(fast_retry()))
}

fn with_cookie(ds: &DocSpaceEmulator, token: &str) -> DocSpaceProvider {
    base(ds)
        .with_personal_token(SecretString::from(token.to_owned()))
        .build()
        .unwrap()
}

fn with_api_key(ds: &DocSpaceEmulator) -> DocSpaceProvider {
    base(ds)
        .with_api_key(SecretString::from(ds.credentials().api_key.clone()))
        .build()
        .unwrap()
}

/// Every page from the first, with the page sizes and totals seen.
async fn walk(
    provider: &DocSpaceProvider,
    limit: u32,
) -> (Vec<Account>, Vec<usize>, Vec<Option<u64>>) {
    let mut accounts = Vec::new();
    let mut sizes = Vec::new();
    let mut totals = Vec::new();
    let mut cursor: Option<Cursor> = None;
    loop {
        let query = ListQuery::new()
            .with_limit(limit)
            .with_cursor(cursor.take());
        let page = provider.list_users(&query).await.unwrap();
        sizes.push(page.items.len());
        totals.push(page.total);
        accounts.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
        assert!(sizes.len() < 100, "the walk ends");
    }
    (accounts, sizes, totals)
}

/// The `people/filter` requests the emulator received: their query parameters.
fn filter_queries(ds: &DocSpaceEmulator) -> Vec<BTreeMap<String, String>> {
    ds.requests()
        .into_iter()
        .filter(|r| r.path == "/api/2.0/people/filter")
        .map(|r| {
            // The adapter's values are digits: nothing to decode.
            r.query
                .unwrap_or_default()
                .split('&')
                .filter_map(|pair| pair.split_once('='))
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect()
        })
        .collect()
}

/// One raw GET with the API key, for what the adapter never sends: (status, body).
/// On a blocking thread: the emulator serves on the test's own runtime.
async fn raw_get(ds: &DocSpaceEmulator, path_and_query: &str) -> (u16, serde_json::Value) {
    let url = unisession_http::Url::parse(&ds.base_url()).unwrap();
    let host = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap());
    let request = format!(
        "GET {path_and_query} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
        ds.credentials().api_key
    );
    let answer = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(&host).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).unwrap();
        answer
    })
    .await
    .unwrap();
    let text = String::from_utf8_lossy(&answer);
    let status: u16 = text.split(' ').nth(1).unwrap().parse().unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        // One chunk is all axum sends for a small JSON body.
        body.split_once("\r\n")
            .unwrap()
            .1
            .rsplit_once("\r\n0")
            .unwrap()
            .0
    } else {
        body
    };
    (status, serde_json::from_str(body.trim()).unwrap())
}

#[tokio::test]
async fn list_users_pages_through_everyone_with_their_status() {
    let emulator = emulator(20).await;
    let ds = emulator.docspace().unwrap();
    let terminated = [
        ds.add_terminated_user("gone1@corp.example"),
        ds.add_terminated_user("gone2@corp.example"),
    ];
    let pending = [
        ds.add_pending_user("invited1@corp.example"),
        ds.add_pending_user("invited2@corp.example"),
    ];
    let guest = ds.add_user("guest@corp.example", DocSpaceRole::Guest);
    let everyone = ds.user_ids();
    // The dataset's people (the administrator among them) and the five added.
    let n = everyone.len();
    assert!(n >= 25, "{n}");
    let provider = with_api_key(ds);
    let (accounts, sizes, totals) = walk(&provider, 7).await;

    // Pages of 7 but the last, each carrying the whole directory's size.
    let mut expected_sizes = vec![7; n / 7];
    if n % 7 > 0 {
        expected_sizes.push(n % 7);
    }
    assert_eq!(sizes, expected_sizes);
    assert!(totals.iter().all(|t| *t == Some(n as u64)), "{totals:?}");
    let ids: Vec<&str> = accounts.iter().map(|a| a.user.id.as_str()).collect();
    let unique: BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "no account listed twice");
    assert_eq!(
        ids,
        everyone.iter().map(String::as_str).collect::<Vec<_>>(),
        "everyone, in the server's order"
    );
    for account in &accounts {
        let id = account.user.id.as_str();
        let expected = if terminated.iter().any(|t| t == id) {
            AccountStatus::Deactivated
        } else if pending.iter().any(|p| p == id) {
            AccountStatus::Invited
        } else {
            AccountStatus::Active
        };
        assert_eq!(account.status, expected, "{id}");
        assert_eq!(
            account.user.active,
            Some(expected == AccountStatus::Active),
            "{id}"
        );
        let email = account.user.email.as_deref().expect("admins see addresses");
        assert_eq!(ds.user_id_by_email(email).as_deref(), Some(id));
        assert!(account.user.name.is_some());
    }
    let guest_account = accounts.iter().find(|a| a.user.id.as_str() == guest);
    assert_eq!(guest_account.map(|a| a.status), Some(AccountStatus::Active));

    // The cursor is the next startIndex; no employeeStatus is sent.
    let queries = filter_queries(ds);
    let starts: Vec<String> = queries.iter().map(|q| q["startIndex"].clone()).collect();
    let expected_starts: Vec<String> = (0..sizes.len()).map(|i| (i * 7).to_string()).collect();
    assert_eq!(starts, expected_starts);
    assert!(queries.iter().all(|q| q["count"] == "7"));
    assert!(queries.iter().all(|q| !q.contains_key("employeeStatus")));

    // Listed ids are known: revoking one asks no people/{userid} first.
    let before = ds.requests().len();
    provider
        .revoke_user_sessions(&UserId::new(everyone[3].to_uppercase()), DeviceScope::All)
        .await
        .unwrap();
    let sent: Vec<String> = ds.requests()[before..]
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(sent[0].starts_with("PUT /api/2.0/security/activeconnections/logoutall/"));
}

#[tokio::test]
async fn a_room_admin_sees_nobody_terminated_and_the_total_agrees() {
    let emulator = emulator(5).await;
    let ds = emulator.docspace().unwrap();
    let gone = ds.add_terminated_user("gone@corp.example");
    let invited = ds.add_pending_user("invited@corp.example");
    let room_admin = ds.add_user("rooms@corp.example", DocSpaceRole::RoomAdmin);
    let (_, token) = ds.add_session(&room_admin).unwrap();
    // Everyone but the terminated one (and no guests were added).
    let visible = ds.user_ids().len() - 1;
    let provider = with_cookie(ds, &token);
    let (accounts, sizes, totals) = walk(&provider, 2).await;
    assert_eq!(sizes.iter().sum::<usize>(), visible);
    assert_eq!(sizes.len(), visible.div_ceil(2));
    assert!(
        totals.iter().all(|t| *t == Some(visible as u64)),
        "{totals:?}"
    );
    assert!(accounts.iter().all(|a| a.user.id.as_str() != gone));
    assert_eq!(
        accounts
            .iter()
            .find(|a| a.user.id.as_str() == invited)
            .map(|a| a.status),
        Some(AccountStatus::Invited)
    );
}

#[tokio::test]
async fn a_page_larger_than_100_is_clamped_and_the_server_refuses_more() {
    let emulator = emulator(129).await;
    let ds = emulator.docspace().unwrap();
    assert_eq!(ds.user_ids().len(), 130);
    let provider = with_api_key(ds);
    assert_eq!(provider.capabilities().max_users_page, Some(100));
    let first = provider
        .list_users(&ListQuery::new().with_limit(500))
        .await
        .unwrap();
    assert_eq!(first.items.len(), 100);
    assert_eq!(first.total, Some(130));
    assert_eq!(first.next_cursor, Some(Cursor::new("100")));
    let rest = provider
        .list_users(&ListQuery::new().with_cursor(first.next_cursor.clone()))
        .await
        .unwrap();
    assert_eq!(rest.items.len(), 30);
    assert_eq!(rest.next_cursor, None);
    let counts: Vec<String> = filter_queries(ds)
        .into_iter()
        .map(|q| q["count"].clone())
        .collect();
    assert_eq!(
        counts,
        ["100", "100"],
        "the server never sees more than 100"
    );

    // What the clamp avoids: the server's validation refuses 101 and 0.
    for count in ["101", "0"] {
        let (status, body) = raw_get(ds, &format!("/api/2.0/people/filter?count={count}")).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["statusCode"], 400);
        assert!(body["response"]["errors"]["Count"].is_array(), "{body}");
    }
    let (status, body) = raw_get(ds, "/api/2.0/people/filter?count=100&startIndex=120").await;
    assert_eq!(status, 200);
    assert_eq!(
        (body["count"].as_u64(), body["total"].as_u64()),
        (Some(10), Some(130))
    );
    assert!(body.get("startIndex").is_none());
    let (_, body) = raw_get(ds, "/api/2.0/people/filter?employeeStatus=2").await;
    assert_eq!(body["total"].as_u64(), Some(0));

    // Nothing is sent for a page of 0, a user filter or a foreign cursor.
    let before = ds.requests().len();
    for query in [
        ListQuery::new().with_limit(0),
        ListQuery::for_user("someone"),
        ListQuery::new().with_cursor(Some(Cursor::new("next"))),
    ] {
        let err = provider.list_users(&query).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{query:?}");
        assert_eq!(err.operation(), Some(Operation::ListUsers));
    }
    assert_eq!(ds.requests().len(), before);
}

#[tokio::test]
async fn current_user_names_the_credentials_own_account() {
    let emulator = emulator(3).await;
    let ds = emulator.docspace().unwrap();
    let c = ds.credentials().clone();
    assert_ne!(c.admin_id, c.member_id);
    let admin = with_api_key(ds);
    assert!(admin.capabilities().current_user);
    assert_eq!(admin.current_user().await.unwrap().as_str(), c.admin_id);
    let cookie = with_cookie(ds, &c.admin_token);
    assert_eq!(cookie.current_user().await.unwrap().as_str(), c.admin_id);
    let member = with_cookie(ds, &c.member_token);
    assert_eq!(member.current_user().await.unwrap().as_str(), c.member_id);
    let paths: BTreeSet<String> = ds.requests().into_iter().map(|r| r.path).collect();
    // The client encodes the `@`; ASP.NET routes on the decoded path.
    let paths: BTreeSet<String> = paths.iter().map(|p| p.replace("%40", "@")).collect();
    assert_eq!(
        paths,
        BTreeSet::from(["/api/2.0/people/@self".to_owned()]),
        "one call, to people/@self"
    );
}

#[tokio::test]
async fn users_and_guests_are_refused_with_permission_denied() {
    let emulator = emulator(3).await;
    let ds = emulator.docspace().unwrap();
    let c = ds.credentials().clone();
    let guest = ds.add_user("visitor@corp.example", DocSpaceRole::Guest);
    let (_, guest_token) = ds.add_session(&guest).unwrap();
    for token in [c.member_token.clone(), guest_token] {
        let provider = with_cookie(ds, &token);
        let err = provider.list_users(&ListQuery::new()).await.unwrap_err();
        assert_eq!(
            (err.kind(), err.status()),
            (ErrorKind::PermissionDenied, Some(403))
        );
        assert_eq!(err.message(), "Access denied");
        assert_eq!(err.operation(), Some(Operation::ListUsers));
        assert_eq!(err.provider(), Some(provider.to_string().as_str()));
    }
    // An unknown credential is Unauthenticated, on both calls.
    let stranger = with_cookie(ds, "not-a-token");
    let err = stranger.list_users(&ListQuery::new()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    let err = stranger.current_user().await.unwrap_err();
    assert_eq!(
        (err.kind(), err.operation()),
        (ErrorKind::Unauthenticated, Some(Operation::CurrentUser))
    );
}

#[test]
fn capabilities_claim_the_directory_and_the_rate_limit() {
    let provider = DocSpaceBuilder::new("https://portal.example.com/")
        .with_api_key(SecretString::from("sk-abc".to_owned()))
        .build()
        .unwrap();
    let caps = provider.capabilities();
    assert!(caps.list_users && caps.current_user);
    assert_eq!(caps.max_users_page, Some(100));
    for op in Operation::ALL {
        assert_eq!(caps.rate_limits.get(&op), Some(&1500), "{op}");
    }
}

#[test]
fn decoding_a_page_names_its_faults() {
    use unisession_docspace::decode::people;
    // Without a total, a full page may have a successor; an empty email is none.
    let body = br#"{"response":[
        {"id":"aae1e103-bca5-9fa1-ba8c-42058b4abf28","displayName":"A B","email":"","status":1,"activationStatus":1},
        {"id":"bbe1e103-bca5-9fa1-ba8c-42058b4abf28","email":"c@corp.example","status":2,"activationStatus":2}],
        "count":2,"status":0,"statusCode":200}"#;
    let page = people(200, body, 4, 2).unwrap();
    assert_eq!(page.next_cursor, Some(Cursor::new("6")));
    assert_eq!(page.total, None);
    assert_eq!(page.items[0].user.email, None);
    assert_eq!(page.items[0].status, AccountStatus::Active);
    // Terminated wins over pending.
    assert_eq!(page.items[1].status, AccountStatus::Deactivated);
    assert_eq!(people(200, body, 4, 3).unwrap().next_cursor, None);
    // With a total, the page ends the listing when it reaches it.
    let with_total =
        String::from_utf8_lossy(body).replace("\"count\":2", "\"count\":2,\"total\":6");
    let page = people(200, with_total.as_bytes(), 4, 2).unwrap();
    assert_eq!((page.next_cursor, page.total), (None, Some(6)));
    // A person without an id, or an answer without a list, is a decode error.
    let no_id = br#"{"response":[{"displayName":"Nobody","status":1}],"count":1,"total":1,"status":0,"statusCode":200}"#;
    let err = people(200, no_id, 0, 10).unwrap_err();
    assert!(
        err.kind() == ErrorKind::Decode && err.message().contains("without an id"),
        "{err}"
    );
    let no_list = br#"{"count":0,"total":3,"status":0,"statusCode":200}"#;
    assert_eq!(
        people(200, no_list, 0, 10).unwrap_err().kind(),
        ErrorKind::Decode
    );
    // The validation refusal of a count out of range.
    let refused = br#"{"response":{"type":"https://tools.ietf.org/html/rfc9110#section-15.5.1","title":"One or more validation errors occurred.","status":400,"errors":{"Count":["The field Count must be between 1 and 100."]}},"count":1,"status":1,"statusCode":400}"#;
    let err = people(400, refused, 0, 101).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.message().contains("between 1 and 100"), "{err}");
}
