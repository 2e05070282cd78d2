//! Device management: `sessions/list`, `list.all`, `info`, `info.admin`, `logout.me`, `logout`.

use super::*;

pub(super) const LIST: Route = Route {
    path: "sessions/list",
    method: "GET",
    license: true,
    two_factor: false,
    permission: None,
};
pub(super) const LIST_ALL: Route = Route {
    path: "sessions/list.all",
    method: "GET",
    license: true,
    two_factor: true,
    permission: Some("view-device-management"),
};
pub(super) const INFO: Route = Route {
    path: "sessions/info",
    method: "GET",
    license: true,
    two_factor: false,
    permission: None,
};
pub(super) const INFO_ADMIN: Route = Route {
    path: "sessions/info.admin",
    method: "GET",
    license: true,
    two_factor: true,
    permission: Some("view-device-management"),
};
pub(super) const LOGOUT_ME: Route = Route {
    path: "sessions/logout.me",
    method: "POST",
    license: true,
    two_factor: false,
    permission: None,
};
pub(super) const LOGOUT: Route = Route {
    path: "sessions/logout",
    method: "POST",
    license: true,
    two_factor: true,
    permission: Some("logout-device-management"),
};

pub(super) fn list_page(rc: &RocketChat, ctx: &Ctx, paging: Paging, populated: bool) -> Response {
    let mut data = rc.data();
    let caller = ctx.user;
    let filter = paging.filter.as_ref().map(|f| f.to_lowercase());
    let mut extra_users = Vec::new();
    if populated && let Some(f) = &filter {
        // list.all: up to 5 active users whose username or name matches.
        extra_users = data
            .users
            .iter()
            .enumerate()
            .filter(|(_, u)| {
                u.username.to_lowercase().contains(f) || u.name.to_lowercase().contains(f)
            })
            .take(5)
            .map(|(i, _)| i as u32)
            .collect();
    }
    let listing = data.listing();
    let now = Instant::now();
    data.stale.retain(|(_, until)| *until > now);
    let merged: Vec<u32>;
    let order = if data.stale.is_empty() {
        &listing.order
    } else {
        let mut all: Vec<u32> = listing.order.clone();
        all.extend(data.stale.iter().map(|(i, _)| *i));
        all.sort_by_key(|&i| data.listing_key(i));
        all.dedup();
        merged = all;
        &merged
    };
    let matches = |data: &Data, doc: &SessionDoc| {
        (populated || doc.user == caller)
            && filter.as_ref().is_none_or(|f| {
                data.search_term(doc).to_lowercase().contains(f) || extra_users.contains(&doc.user)
            })
    };
    let (total, page): (usize, Vec<u32>) = if filter.is_none() && populated {
        let page = order
            .iter()
            .skip(paging.offset)
            .take(paging.count)
            .copied()
            .collect();
        (order.len(), page)
    } else {
        let all: Vec<u32> = order
            .iter()
            .copied()
            .filter(|&i| matches(&data, &data.sessions[i as usize]))
            .collect();
        let page = all
            .iter()
            .skip(paging.offset)
            .take(paging.count)
            .copied()
            .collect();
        (all.len(), page)
    };
    let current = (!populated && data.config.marks_current).then_some(ctx.token);
    let mut items: Vec<(u32, Value)> = page
        .into_iter()
        .map(|i| {
            (
                i,
                data.item_json(&data.sessions[i as usize], populated, current.as_ref()),
            )
        })
        .collect();
    if let Some((field, dir)) = &paging.sort {
        // The custom sort applies after skip and limit: it reorders within the page.
        let key = |v: &Value| -> String {
            field
                .split('.')
                .try_fold(v, |v, part| v.get(part))
                .map(|v| v.to_string())
                .unwrap_or_default()
        };
        items.sort_by(|a, b| {
            let ordering = key(&a.1).cmp(&key(&b.1));
            if *dir < 0 {
                ordering.reverse()
            } else {
                ordering
            }
        });
    }
    let mut body = Map::new();
    body.insert(
        "sessions".into(),
        Value::Array(items.into_iter().map(|(_, v)| v).collect()),
    );
    body.insert("total".into(), json!(total));
    body.insert("count".into(), json!(paging.count));
    body.insert("offset".into(), json!(paging.offset));
    ctx.finish(success(body))
}

pub(super) async fn sessions_list(
    State(rc): State<Arc<RocketChat>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let ctx = admit!(rc, LIST, headers);
    let paging = check!(ctx, paging(query.as_deref(), false));
    check!(ctx, rc.authorize(LIST, &ctx, &headers));
    list_page(&rc, &ctx, paging, false)
}

pub(super) async fn sessions_list_all(
    State(rc): State<Arc<RocketChat>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let ctx = admit!(rc, LIST_ALL, headers);
    let paging = check!(ctx, paging(query.as_deref(), true));
    check!(ctx, rc.authorize(LIST_ALL, &ctx, &headers));
    list_page(&rc, &ctx, paging, true)
}

pub(super) async fn sessions_info(
    State(rc): State<Arc<RocketChat>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let ctx = admit!(rc, INFO, headers);
    let session_id = check!(ctx, session_id_param(query.as_deref()));
    check!(ctx, rc.authorize(INFO, &ctx, &headers));
    let data = rc.data();
    // findOneBySessionIdAndUserId: any doc of the caller with a login token, logged out or not.
    let doc = data
        .sessions
        .iter()
        .filter(|d| d.user == ctx.user && d.session_id() == session_id)
        .max_by_key(|d| d.login_at);
    match doc {
        None => ctx.finish(not_found("Session not found")),
        Some(doc) => ctx.finish(Json(data.raw_doc_json(doc)).into_response()),
    }
}

pub(super) async fn sessions_info_admin(
    State(rc): State<Arc<RocketChat>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let ctx = admit!(rc, INFO_ADMIN, headers);
    let session_id = check!(ctx, session_id_param(query.as_deref()));
    check!(ctx, rc.authorize(INFO_ADMIN, &ctx, &headers));
    let mut data = rc.data();
    // aggregateSessionsAndPopulate({search: sessionId, count: 1}): logged-out docs
    // excluded; the id is matched case-insensitively against the search term, so a
    // part of an id (or a user id) finds the newest session containing it.
    let listing = data.listing();
    // An exact, listed session id first: 17 random characters occur in no other
    // search term, so this is the scan's answer, found without scanning.
    let exact = <[u8; 17]>::try_from(session_id.as_bytes())
        .ok()
        .and_then(|key| data.by_session_id.get(&key))
        .and_then(|&i| listing.by_token.get(&data.sessions[i as usize].token))
        .map(|&i| &data.sessions[i as usize])
        .filter(|d| d.session_id() == session_id);
    let needle = session_id.to_lowercase();
    let found = exact.or_else(|| {
        listing
            .order
            .iter()
            .map(|&i| &data.sessions[i as usize])
            .find(|d| data.search_term(d).to_lowercase().contains(&needle))
    });
    match found {
        None => ctx.finish(not_found("Session not found")),
        Some(doc) => {
            let mut item = data.item_json(doc, true, None);
            item["success"] = json!(true);
            ctx.finish(Json(item).into_response())
        }
    }
}

pub(super) async fn sessions_logout_me(
    State(rc): State<Arc<RocketChat>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let ctx = admit!(rc, LOGOUT_ME, headers);
    let session_id = check!(ctx, session_id_body(&body));
    check!(ctx, rc.authorize(LOGOUT_ME, &ctx, &headers));
    let mut data = rc.data();
    let doc = data
        .sessions
        .iter()
        .find(|d| d.user == ctx.user && d.session_id() == session_id)
        .map(|d| d.token);
    match doc {
        None => ctx.finish(not_found("Session not found")),
        Some(token) => {
            let stale = rc.common.misleading().stale_listing_ms;
            data.keep_stale(stale, |d| d.user == ctx.user && d.token == token);
            data.log_out_token(ctx.user, token, ctx.user);
            let mut body = Map::new();
            body.insert("sessionId".into(), json!(session_id));
            ctx.finish(success(body))
        }
    }
}

pub(super) async fn sessions_logout(
    State(rc): State<Arc<RocketChat>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let ctx = admit!(rc, LOGOUT, headers);
    let session_id = check!(ctx, session_id_body(&body));
    check!(ctx, rc.authorize(LOGOUT, &ctx, &headers));
    let mut data = rc.data();
    // findOneBySessionId: any user's doc, no logoutAt filter.
    let mut key = [0u8; 17];
    let found = (session_id.len() == 17)
        .then(|| {
            key.copy_from_slice(session_id.as_bytes());
            data.by_session_id.get(&key).map(|&i| {
                (
                    data.sessions[i as usize].user,
                    data.sessions[i as usize].token,
                )
            })
        })
        .flatten();
    match found {
        None => ctx.finish(not_found("Session not found")),
        Some((user, token)) => {
            let stale = rc.common.misleading().stale_listing_ms;
            data.keep_stale(stale, |d| d.user == user && d.token == token);
            data.log_out_token(user, token, ctx.user);
            let mut body = Map::new();
            body.insert("sessionId".into(), json!(session_id));
            ctx.finish(success(body))
        }
    }
}
