//! The Directory API routes.

use axum::extract::{Path, State};

use super::*;

const READ: &str = "https://www.googleapis.com/auth/admin.directory.user.readonly";
const SECURITY: &str = "https://www.googleapis.com/auth/admin.directory.user.security";

/// `users.get`: by primary email, alias or id.
pub(super) async fn get_user(
    State(google): State<Arc<Google>>,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(response) = google.caller(&headers, READ) {
        return response;
    }
    let data = google.data();
    let found = Google::user_index(&data, &key);
    // A key that is an email goes through the misleading switches (a lookup by email).
    let answered = if key.contains('@') {
        google.common.answer_lookup(found, data.users.len(), |id| {
            data.users.iter().position(|u| u.id == id)
        })
    } else {
        found
    };
    match answered {
        Some(i) => Json(Google::user_json(
            &data.users[i],
            &google.credentials.customer_id,
        ))
        .into_response(),
        None => not_found(),
    }
}

/// `users.signOut`: 204 (or 200 `{}`), the sessions end after the delay.
pub(super) async fn sign_out(
    State(google): State<Arc<Google>>,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(response) = google.caller(&headers, SECURITY) {
        return response;
    }
    let config = google.config();
    let done = || {
        if config.answer_200 {
            Json(json!({})).into_response()
        } else {
            StatusCode::NO_CONTENT.into_response()
        }
    };
    let mut data = google.data();
    let Some(i) = Google::user_index(&data, &key) else {
        if google.common.misleading().success_for_unknown_user {
            return done();
        }
        return not_found();
    };
    let user = &mut data.users[i];
    user.pending_sign_out = Some(Instant::now() + config.sign_out_delay);
    user.settle();
    done()
}

/// `tokens.list`: one page.
pub(super) async fn list_tokens(
    State(google): State<Arc<Google>>,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(response) = google.caller(&headers, SECURITY) {
        return response;
    }
    let data = google.data();
    let Some(i) = Google::user_index(&data, &key) else {
        return not_found();
    };
    let user = &data.users[i];
    let items: Vec<Value> = user
        .tokens
        .iter()
        .map(|t| {
            json!({
                "kind": "admin#directory#token",
                "etag": "\"etag\"",
                "clientId": t.client_id,
                "displayText": t.display,
                "scopes": t.scopes,
                "nativeApp": false,
                "anonymous": false,
                "userKey": user.id,
            })
        })
        .collect();
    Json(json!({"kind": "admin#directory#tokenList", "etag": "\"etag\"", "items": items}))
        .into_response()
}

/// `tokens.delete`: 204; a client without a token is 404.
pub(super) async fn delete_token(
    State(google): State<Arc<Google>>,
    Path((key, client)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(response) = google.caller(&headers, SECURITY) {
        return response;
    }
    let mut data = google.data();
    let Some(i) = Google::user_index(&data, &key) else {
        return not_found();
    };
    let before = data.users[i].tokens.len();
    data.users[i].tokens.retain(|t| t.client_id != client);
    if data.users[i].tokens.len() == before {
        return api_error(
            StatusCode::NOT_FOUND,
            "notFound",
            "Resource Not Found: clientId",
        );
    }
    StatusCode::NO_CONTENT.into_response()
}

/// `asps.list`.
pub(super) async fn list_asps(
    State(google): State<Arc<Google>>,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(response) = google.caller(&headers, SECURITY) {
        return response;
    }
    let data = google.data();
    let Some(i) = Google::user_index(&data, &key) else {
        return not_found();
    };
    let user = &data.users[i];
    let items: Vec<Value> = user
        .asps
        .iter()
        .map(|(code, name)| {
            json!({
                "kind": "admin#directory#asp",
                "etag": "\"etag\"",
                "codeId": code,
                "name": name,
                "creationTime": "1700000000000",
                "lastTimeUsed": "1730000000000",
                "userKey": user.id,
            })
        })
        .collect();
    Json(json!({"kind": "admin#directory#asps", "etag": "\"etag\"", "items": items}))
        .into_response()
}

/// `asps.delete`.
pub(super) async fn delete_asp(
    State(google): State<Arc<Google>>,
    Path((key, code)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(response) = google.caller(&headers, SECURITY) {
        return response;
    }
    let mut data = google.data();
    let Some(i) = Google::user_index(&data, &key) else {
        return not_found();
    };
    let Ok(code) = code.parse::<i32>() else {
        return api_error(StatusCode::BAD_REQUEST, "invalid", "Invalid Input: codeId");
    };
    let before = data.users[i].asps.len();
    data.users[i].asps.retain(|(c, _)| *c != code);
    if data.users[i].asps.len() == before {
        return api_error(
            StatusCode::NOT_FOUND,
            "notFound",
            "Resource Not Found: codeId",
        );
    }
    StatusCode::NO_CONTENT.into_response()
}
