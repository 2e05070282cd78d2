//! `users.logout`, `users.removeOtherTokens`, `users.info`, `users.list`, `me`, `permissions.listAll`.

use super::*;

pub(super) const USERS_LOGOUT: Route = Route {
    path: "users.logout",
    method: "POST",
    license: false,
    two_factor: false,
    permission: None,
};
pub(super) const REMOVE_OTHER_TOKENS: Route = Route {
    path: "users.removeOtherTokens",
    method: "POST",
    license: false,
    two_factor: false,
    permission: None,
};
pub(super) const USERS_INFO: Route = Route {
    path: "users.info",
    method: "GET",
    license: false,
    two_factor: false,
    permission: None,
};
pub(super) const USERS_LIST: Route = Route {
    path: "users.list",
    method: "GET",
    license: false,
    two_factor: false,
    permission: None,
};
pub(super) const LOGOUT_ROUTE: Route = Route {
    path: "logout",
    method: "POST",
    license: false,
    two_factor: false,
    permission: None,
};

pub(super) async fn users_logout(
    State(rc): State<Arc<RocketChat>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let ctx = admit!(rc, USERS_LOGOUT, headers);
    let params: Value = if body.is_empty() {
        json!({})
    } else {
        serde_json::from_slice(&body).unwrap_or(Value::Null)
    };
    let Some(params) = params.as_object() else {
        return ctx.finish(invalid_params("must be object"));
    };
    let target_id = match params.get("userId") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return ctx.finish(invalid_params("must be string")),
    };
    let mut data = rc.data();
    let caller_id = data.users[ctx.user as usize].id.clone();
    let target_id = target_id.unwrap_or_else(|| caller_id.clone());
    if target_id != caller_id && !data.users[ctx.user as usize].admin {
        // `forbidden()` (403) in every release seen; the switch models 401.
        let status = StatusCode::from_u16(data.config.logout_refusal_status)
            .unwrap_or(StatusCode::FORBIDDEN);
        return ctx.finish(
            (
                status,
                Json(json!({"success": false, "error": "unauthorized"})),
            )
                .into_response(),
        );
    }
    if let Some(&target) = data.by_id.get(&target_id) {
        // unsetLoginTokens: every token, personal access tokens and the caller's own included.
        data.tokens.retain(|_, meta| meta.user != target);
        data.users[target as usize].resume_order.clear();
        let now = Utc::now().timestamp_millis();
        for doc in data
            .sessions
            .iter_mut()
            .filter(|d| d.user == target && d.logout_at.is_none())
        {
            doc.logout_at = Some(now);
            doc.logout_by = Some(ctx.user);
        }
        let stale = rc.common.misleading().stale_listing_ms;
        data.keep_stale(stale, |d| d.user == target);
        data.unlist(|d| d.user == target);
    }
    let mut body = Map::new();
    body.insert(
        "message".into(),
        json!(format!("User {target_id} has been logged out!")),
    );
    ctx.finish(success(body))
}

pub(super) async fn users_remove_other_tokens(
    State(rc): State<Arc<RocketChat>>,
    headers: HeaderMap,
) -> Response {
    let ctx = admit!(rc, REMOVE_OTHER_TOKENS, headers);
    let mut data = rc.data();
    let (user, keep) = (ctx.user, ctx.token);
    data.tokens
        .retain(|hash, meta| meta.user != user || *hash == keep);
    data.users[user as usize]
        .resume_order
        .retain(|h| *h == keep);
    ctx.finish(success(Map::new()))
}

/// `users.info`: exactly one lookup key (`userId`, `username`, `importId`, `email`
/// from 8.4), plus the optional `fields` (accepted, never applied) and
/// `includeUserRooms` (`packages/rest-typings/src/v1/users/UsersInfoParamsGet.ts`).
/// An email lookup of somebody else by a caller without `view-full-other-user-info`
/// answers "User not found.", like an unknown user (`getFullUserData.ts`).
pub(super) async fn users_info(
    State(rc): State<Arc<RocketChat>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let ctx = admit!(rc, USERS_INFO, headers);
    let data = rc.data();
    let email_supported = data.config.version >= (8, 4);
    let keys: Vec<(String, String)> = query_pairs(query.as_deref())
        .into_iter()
        .filter(|(k, _)| k != "includeUserRooms" && k != "fields")
        .collect();
    let lookup_keys = ["userId", "username", "importId"];
    let valid = keys.len() == 1
        && (lookup_keys.contains(&keys[0].0.as_str()) || (email_supported && keys[0].0 == "email"));
    if !valid {
        return ctx.finish(invalid_params(
            "must have required property 'userId'\n must have required property 'username'\n must have required property 'importId'\n must match a schema in anyOf",
        ));
    }
    let (key, value) = &keys[0];
    if value.is_empty() {
        return ctx.finish(failure("Invalid search query.", None, None));
    }
    let caller = &data.users[ctx.user as usize];
    let found = data.users.iter().position(|u| match key.as_str() {
        "userId" => u.id == *value,
        "username" => u.username == *value,
        "email" => u.email.eq_ignore_ascii_case(value.trim()),
        _ => false,
    });
    let found = if key == "email" {
        let answered = rc.common.answer_lookup(found, data.users.len(), |id| {
            data.by_id.get(id).map(|&i| i as usize)
        });
        // Others' emails are searched only for callers allowed to see them.
        answered.filter(|&i| caller.admin || data.users[i].id == caller.id)
    } else {
        found
    };
    match found {
        Some(index) => {
            let mut body = Map::new();
            body.insert(
                "user".into(),
                data.user_json_for(&data.users[index], ctx.user),
            );
            ctx.finish(success(body))
        }
        None => ctx.finish(failure("User not found.", None, None)),
    }
}

/// `users.list`, by version:
/// * before 8.4 no parameter is validated: unknown ones (`email` among them) are
///   ignored; from 8.4 `fields`, `query`, `count`, `offset`, `sort` and `email`
///   (case-insensitive) are allowed, anything else is `invalid-params`;
/// * `query` (`parseJsonQuery.ts`): honoured before 7.0, except that a top-level key
///   on a field the caller may not see (`emails.*` without
///   `view-full-other-user-info`) is dropped; from 7.0 honoured only with
///   `ALLOW_UNSAFE_QUERY_AND_FIELDS_API_PARAMS`, else silently ignored; refused once
///   removed (PR #41948). Either way an ignored filter answers everybody;
/// * records carry `emails` only for privileged callers, `nameInsensitive` always;
///   `count` is the number of items, `total` all matches.
pub(super) async fn users_list(
    State(rc): State<Arc<RocketChat>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let ctx = admit!(rc, USERS_LIST, headers);
    let data = rc.data();
    let config = &data.config;
    let validated = config.version >= (8, 4);
    let privileged = data.users[ctx.user as usize].admin;
    let query_honoured = config.version < (7, 0) || config.allow_unsafe_query;
    let mut email = None;
    // `query`: an exact-match Mongo selector on these fields.
    let mut selector: Vec<(String, String)> = Vec::new();
    let mut offset = 0usize;
    let mut count = 50usize;
    let mut sort: Option<(String, i64)> = None;
    for (key, value) in query_pairs(query.as_deref()) {
        match key.as_str() {
            "email" if validated => email = Some(value),
            "query" | "fields" if config.query_removed => {
                return ctx.finish(failure(
                    &format!("The '{key}' parameter is no longer supported"),
                    Some("error-invalid-params"),
                    None,
                ));
            }
            "query" if query_honoured => {
                let Ok(Value::Object(parsed)) = serde_json::from_str::<Value>(&value) else {
                    return ctx.finish(failure(
                        "Invalid query parameter provided",
                        Some("error-invalid-query"),
                        None,
                    ));
                };
                selector = parsed
                    .iter()
                    // A limited caller's query loses keys on fields it may not see.
                    .filter(|(k, _)| privileged || !k.starts_with("emails"))
                    .filter(|(k, _)| {
                        ["emails.address", "username", "_id", "name"].contains(&k.as_str())
                    })
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                    .collect();
            }
            "query" | "fields" => {}
            "offset" => offset = value.parse().unwrap_or(0),
            "count" => count = value.parse::<usize>().unwrap_or(50).min(100),
            "sort" => {
                let parsed = serde_json::from_str::<Value>(&value).ok();
                let field = parsed
                    .as_ref()
                    .and_then(Value::as_object)
                    .and_then(|m| m.iter().next())
                    .and_then(|(f, d)| Some((f.clone(), d.as_i64().filter(|d| d.abs() == 1)?)));
                let Some(field) = field else {
                    return ctx.finish(failure(
                        &format!("Invalid sort parameter provided: \"{value}\""),
                        Some("error-invalid-sort"),
                        None,
                    ));
                };
                sort = Some(field);
            }
            _ if validated => {
                return ctx.finish(invalid_params("must NOT have additional properties"));
            }
            _ => {}
        }
    }
    let misleading = rc.common.misleading();
    let ignore_filter = misleading.lookup_ignores_filter;
    let mut matching: Vec<usize> = (0..data.users.len())
        .filter(|&i| {
            let u = &data.users[i];
            ignore_filter
                || (email
                    .as_deref()
                    .is_none_or(|e| u.email.eq_ignore_ascii_case(e.trim()))
                    && selector.iter().all(|(field, value)| match field.as_str() {
                        "emails.address" => u.email == *value,
                        "username" => u.username == *value,
                        "_id" => u.id == *value,
                        _ => u.name == *value,
                    }))
        })
        .collect();
    let filtered = email.is_some() || !selector.is_empty();
    if filtered && !ignore_filter && matching.len() == 1 {
        // A filter that found one person may be answered with somebody else.
        let answered = rc
            .common
            .answer_lookup(matching.first().copied(), data.users.len(), |id| {
                data.by_id.get(id).map(|&i| i as usize)
            });
        matching = answered.into_iter().collect();
    }
    let key = |i: &usize| -> String {
        let u = &data.users[*i];
        match sort.as_ref().map(|(f, _)| f.as_str()) {
            Some("name") => u.name.to_lowercase(),
            Some("_id") => u.id.clone(),
            Some("status") => "offline".to_owned(),
            _ => u.username.clone(),
        }
    };
    matching.sort_by_key(key);
    if sort.as_ref().is_some_and(|(_, d)| *d < 0) {
        matching.reverse();
    }
    let page: Vec<Value> = matching
        .iter()
        .skip(offset)
        .take(count)
        .map(|&i| {
            let u = &data.users[i];
            let mut item = json!({
                "_id": u.id,
                "username": u.username,
                "name": u.name,
                "status": "offline",
                "active": u.active,
                "type": u.kind,
                "nameInsensitive": u.name.to_lowercase(),
            });
            if privileged {
                item["emails"] = json!([{"address": u.email, "verified": true}]);
                item["roles"] = if u.admin {
                    json!(["admin"])
                } else {
                    json!(["user"])
                };
            }
            item
        })
        .collect();
    let mut body = Map::new();
    body.insert("count".into(), json!(page.len()));
    body.insert("users".into(), Value::Array(page));
    body.insert("offset".into(), json!(offset));
    body.insert("total".into(), json!(matching.len()));
    ctx.finish(success(body))
}

pub(super) const ME_ROUTE: Route = Route {
    path: "me",
    method: "GET",
    license: false,
    two_factor: false,
    permission: None,
};
pub(super) const PERMISSIONS_ROUTE: Route = Route {
    path: "permissions.listAll",
    method: "GET",
    license: false,
    two_factor: false,
    permission: None,
};

/// `GET me`: the caller, its emails and global roles.
pub(super) async fn me(State(rc): State<Arc<RocketChat>>, headers: HeaderMap) -> Response {
    let ctx = admit!(rc, ME_ROUTE, headers);
    let data = rc.data();
    let user = &data.users[ctx.user as usize];
    let Value::Object(mut body) = data.user_json(user) else {
        return ctx.finish(failure("unexpected", None, None));
    };
    body.insert("settings".into(), json!({"preferences": {}}));
    ctx.finish(success(body))
}

/// `GET permissions.listAll`: `{update: [{_id, roles}], remove: []}` (vendor test
/// `apps/meteor/tests/end-to-end/api/permissions.ts`). The permissions the emulated
/// routes check, each held by `admin` as in a fresh workspace.
pub(super) async fn permissions_list_all(
    State(rc): State<Arc<RocketChat>>,
    headers: HeaderMap,
) -> Response {
    let ctx = admit!(rc, PERMISSIONS_ROUTE, headers);
    let update: Vec<Value> = [
        "view-full-other-user-info",
        "logout-other-user",
        "view-device-management",
        "logout-device-management",
        "view-d-room",
    ]
    .iter()
    .map(|id| json!({"_id": id, "roles": ["admin"], "_updatedAt": "2026-01-01T00:00:00.000Z"}))
    .collect();
    let mut body = Map::new();
    body.insert("update".into(), Value::Array(update));
    body.insert("remove".into(), json!([]));
    ctx.finish(success(body))
}
