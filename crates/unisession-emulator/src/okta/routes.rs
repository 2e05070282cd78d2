//! The Management API routes: users, sessions, the System Log.

use axum::extract::{Path, RawQuery, State};

use super::*;

/// The query string's parameters, percent-decoded.
fn params(query: Option<&str>) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

/// Adds the bucket's headers and Okta's request id to an answer.
fn finish(mut response: Response, bucket: Option<Bucket>) -> Response {
    if let Some(bucket) = bucket {
        set_limit_headers(
            response.headers_mut(),
            bucket.limit,
            bucket.remaining,
            bucket.reset,
            bucket.precise,
        );
    }
    let id = alnum(&mut fastrand::Rng::new(), 20);
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-okta-request-id", value);
    }
    response
}

/// One `eq` clause of a search or filter expression.
#[derive(Debug)]
struct Clause {
    property: String,
    value: String,
}

/// Parses `a eq "x" and b eq "y"`: property names as written, operators in any case.
fn clauses(expression: &str) -> Option<Vec<Clause>> {
    let mut out = Vec::new();
    let mut rest = expression.trim();
    loop {
        let (property, after) = rest.split_once(char::is_whitespace)?;
        let after = after.trim_start();
        let (operator, after) = after.split_once(char::is_whitespace)?;
        if !operator.eq_ignore_ascii_case("eq") {
            return None;
        }
        let after = after.trim_start().strip_prefix('"')?;
        let end = after.find('"')?;
        out.push(Clause {
            property: property.to_owned(),
            value: after[..end].to_owned(),
        });
        rest = after[end + 1..].trim_start();
        if rest.is_empty() {
            return Some(out);
        }
        let (joiner, after) = rest.split_once(char::is_whitespace)?;
        if !joiner.eq_ignore_ascii_case("and") {
            return None;
        }
        rest = after.trim_start();
    }
}

/// Parses `(a eq "x" and b eq "y") or c eq "z"`: `or` of `and` groups, each group
/// in parentheses or bare.
fn disjunction(expression: &str) -> Option<Vec<Vec<Clause>>> {
    let mut groups = Vec::new();
    let mut rest = expression.trim();
    loop {
        let (group, after) = if let Some(inner) = rest.strip_prefix('(') {
            let end = inner.find(')')?;
            (&inner[..end], inner[end + 1..].trim_start())
        } else {
            match find_or(rest) {
                Some(at) => (&rest[..at], &rest[at..]),
                None => (rest, ""),
            }
        };
        groups.push(clauses(group)?);
        let after = after.trim_start();
        if after.is_empty() {
            return Some(groups);
        }
        let (joiner, next) = after.split_once(char::is_whitespace)?;
        if !joiner.eq_ignore_ascii_case("or") {
            return None;
        }
        rest = next.trim_start();
    }
}

/// Where a bare ` or ` outside quotes starts.
fn find_or(text: &str) -> Option<usize> {
    let mut quoted = false;
    let bytes = text.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'"' {
            quoted = !quoted;
        } else if !quoted
            && b == b' '
            && text[i + 1..].len() > 3
            && text[i + 1..i + 3].eq_ignore_ascii_case("or")
            && bytes[i + 3] == b' '
        {
            return Some(i);
        }
    }
    None
}

fn user_property<'u>(user: &'u User, property: &str) -> Option<&'u str> {
    match property {
        "id" => Some(&user.id),
        "status" => Some(user.status),
        "profile.email" => Some(&user.email),
        "profile.login" => Some(&user.login),
        _ => None,
    }
}

fn invalid_search() -> Response {
    error(
        StatusCode::BAD_REQUEST,
        "E0000031",
        "Invalid search criteria.",
    )
}

/// `GET /api/v1/users`: `search` (values case-insensitive, DEPROVISIONED included),
/// `filter` (values case-sensitive, DEPROVISIONED included), `q` (prefix of name or
/// email, DEPROVISIONED left out), or everyone but the DEPROVISIONED; `limit` and
/// `after`, with `Link: <…>; rel="next"`.
pub(super) async fn list_users(
    State(okta): State<Arc<Okta>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    if let Err(response) = okta.caller(&headers, "okta.users.read") {
        return response;
    }
    let bucket = match okta.limit("users_list", 600) {
        Ok(bucket) => bucket,
        Err(response) => return response,
    };
    let params = params(query.as_deref());
    let data = okta.data();
    let (mut hits, by_email): (Vec<usize>, bool) = if let Some(search) = params.get("search") {
        let Some(clauses) = clauses(search) else {
            return finish(invalid_search(), bucket);
        };
        let mut hits = Vec::new();
        let lag = okta.config.search_lag;
        for (i, user) in data.users.iter().enumerate() {
            if user.added.elapsed() < lag {
                continue;
            }
            let all = clauses.iter().all(|c| {
                user_property(user, &c.property).is_some_and(|v| v.eq_ignore_ascii_case(&c.value))
            });
            if clauses
                .iter()
                .any(|c| user_property(user, &c.property).is_none())
            {
                return finish(invalid_search(), bucket);
            }
            if all {
                hits.push(i);
            }
        }
        let by_email = clauses.iter().any(|c| c.property == "profile.email");
        (hits, by_email)
    } else if let Some(filter) = params.get("filter") {
        let Some(clauses) = clauses(filter) else {
            return finish(invalid_search(), bucket);
        };
        let mut hits = Vec::new();
        for (i, user) in data.users.iter().enumerate() {
            let mut all = true;
            for c in &clauses {
                match user_property(user, &c.property) {
                    Some(v) => all &= v == c.value,
                    None => return finish(invalid_search(), bucket),
                }
            }
            if all {
                hits.push(i);
            }
        }
        let by_email = clauses.iter().any(|c| c.property == "profile.email");
        (hits, by_email)
    } else if let Some(q) = params.get("q") {
        let q = q.to_lowercase();
        let hits = data
            .users
            .iter()
            .enumerate()
            .filter(|(_, u)| u.status != "DEPROVISIONED")
            .filter(|(_, u)| {
                [&u.first, &u.last, &u.email]
                    .iter()
                    .any(|v| v.to_lowercase().starts_with(&q))
            })
            .map(|(i, _)| i)
            .collect();
        (hits, false)
    } else {
        let hits = (0..data.users.len())
            .filter(|&i| data.users[i].status != "DEPROVISIONED")
            .collect();
        (hits, false)
    };
    if by_email {
        // The misleading switches: another person, or everyone.
        let misleading = okta.common.misleading();
        if misleading.lookup_ignores_filter {
            hits = (0..data.users.len())
                .filter(|&i| data.users[i].status != "DEPROVISIONED")
                .collect();
        } else {
            let found = hits.first().copied();
            let answered = okta.common.answer_lookup(found, data.users.len(), |id| {
                data.users.iter().position(|u| u.id == id)
            });
            if answered != found {
                hits = answered.into_iter().collect();
            }
        }
    }
    let default_limit = if params.contains_key("q") { 10 } else { 200 };
    let limit = params
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(default_limit)
        .clamp(1, 200);
    let start = params
        .get("after")
        .and_then(|after| hits.iter().position(|&i| data.users[i].id == *after))
        .map_or(0, |p| p + 1);
    let page: Vec<usize> = hits.iter().skip(start).take(limit).copied().collect();
    let body: Vec<Value> = page
        .iter()
        .map(|&i| okta.user_json(&data.users[i]))
        .collect();
    let mut response = Json(body).into_response();
    if start + page.len() < hits.len() {
        if let Some(&last) = page.last() {
            let mut next = params.clone();
            next.insert("after".into(), data.users[last].id.clone());
            let query: String = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(next.iter())
                .finish();
            let link = format!("</api/v1/users?{query}>; rel=\"next\"");
            if let Ok(value) = HeaderValue::from_str(&link) {
                response.headers_mut().insert(header::LINK, value);
            }
        }
    }
    finish(response, bucket)
}

/// `GET /api/v1/users/{idOrLogin}`: by id, login or login shortname.
pub(super) async fn get_user(
    State(okta): State<Arc<Okta>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let caller = match okta.caller(&headers, "okta.users.read") {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    let bucket = match okta.limit("users_get", 2000) {
        Ok(bucket) => bucket,
        Err(response) => return response,
    };
    let data = okta.data();
    let index = if id == "me" {
        match caller {
            Caller::Admin(i) | Caller::ReadOnly(i) => Some(i),
            Caller::Service => None,
        }
    } else {
        Okta::user_index(&data, &id)
    };
    let response = match index {
        Some(i) => Json(okta.user_json(&data.users[i])).into_response(),
        None => not_found(&id, "User"),
    };
    finish(response, bucket)
}

/// `DELETE /api/v1/users/{userId}/sessions?oauthTokens=&forgetDevices=`: 204.
pub(super) async fn revoke_user_sessions(
    State(okta): State<Arc<Okta>>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let caller = match okta.caller(&headers, "okta.users.manage") {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    let bucket = match okta.limit("users_write", 1200) {
        Ok(bucket) => bucket,
        Err(response) => return response,
    };
    if let Caller::ReadOnly(_) = caller {
        return finish(
            error(
                StatusCode::FORBIDDEN,
                "E0000006",
                "You do not have permission to perform the requested action",
            ),
            bucket,
        );
    }
    let params = params(query.as_deref());
    let flag = |name: &str, default: bool| match params.get(name).map(String::as_str) {
        Some("true") => Some(true),
        Some("false") => Some(false),
        None => Some(default),
        Some(_) => None,
    };
    let forget_default = okta.config.engine == OktaEngine::Identity;
    let (Some(oauth_tokens), Some(forget_devices)) = (
        flag("oauthTokens", false),
        flag("forgetDevices", forget_default),
    ) else {
        return finish(
            error(StatusCode::BAD_REQUEST, "E0000001", "Api validation failed"),
            bucket,
        );
    };
    let mut data = okta.data();
    // An id only: a login is not accepted here.
    let Some(index) = data.users.iter().position(|u| u.id == id) else {
        if okta.common.misleading().success_for_unknown_user {
            return finish(StatusCode::NO_CONTENT.into_response(), bucket);
        }
        return finish(not_found(&id, "User"), bucket);
    };
    if data.users[index].status == "DEPROVISIONED" && okta.config.deprovisioned_refused {
        return finish(
            error(
                StatusCode::FORBIDDEN,
                "E0000038",
                "This operation is not allowed in the user's current status.",
            ),
            bucket,
        );
    }
    data.sessions.retain(|_, s| s.user != index);
    if forget_devices {
        data.users[index].remembered_factors = false;
    }
    let actor = match caller {
        Caller::Admin(i) | Caller::ReadOnly(i) => Some(i),
        Caller::Service => None,
    };
    okta.log_event(&mut data, "user.session.clear", actor, Some(index));
    if oauth_tokens && !data.users[index].tokens.is_empty() {
        data.users[index].tokens.clear();
        okta.log_event(
            &mut data,
            "app.oauth2.token.revoke.implicit.user",
            actor,
            Some(index),
        );
    }
    finish(StatusCode::NO_CONTENT.into_response(), bucket)
}

/// `GET /api/v1/sessions/{id}`: the Session, or a bare 404.
pub(super) async fn get_session(
    State(okta): State<Arc<Okta>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(response) = okta.caller(&headers, "okta.sessions.read") {
        return response;
    }
    let bucket = match okta.limit("sessions", 750) {
        Ok(bucket) => bucket,
        Err(response) => return response,
    };
    let data = okta.data();
    let response = match data.sessions.get(&id) {
        Some(session) => Json(okta.session_json(&id, session, &data)).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    };
    finish(response, bucket)
}

/// `DELETE /api/v1/sessions/{id}`: 204, or 404 E0000007.
pub(super) async fn revoke_session(
    State(okta): State<Arc<Okta>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let caller = match okta.caller(&headers, "okta.sessions.manage") {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    let bucket = match okta.limit("sessions", 750) {
        Ok(bucket) => bucket,
        Err(response) => return response,
    };
    if let Caller::ReadOnly(_) = caller {
        return finish(
            error(
                StatusCode::FORBIDDEN,
                "E0000006",
                "You do not have permission to perform the requested action",
            ),
            bucket,
        );
    }
    let mut data = okta.data();
    let response = match data.sessions.remove(&id) {
        Some(session) => {
            let actor = match caller {
                Caller::Admin(i) | Caller::ReadOnly(i) => Some(i),
                Caller::Service => None,
            };
            okta.log_event(&mut data, "user.session.clear", actor, Some(session.user));
            StatusCode::NO_CONTENT.into_response()
        }
        None => not_found(&id, "Session"),
    };
    finish(response, bucket)
}

/// `GET /api/v1/logs`: events visible now, oldest first, within `since`/`until`,
/// matching `filter`; `limit` (≤ 1000, default 100) and `after`.
pub(super) async fn logs(
    State(okta): State<Arc<Okta>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    if let Err(response) = okta.caller(&headers, "okta.logs.read") {
        return response;
    }
    let bucket = match okta.limit("logs", 120) {
        Ok(bucket) => bucket,
        Err(response) => return response,
    };
    let params = params(query.as_deref());
    let time = |name: &str| -> Result<Option<DateTime<Utc>>, ()> {
        match params.get(name) {
            None => Ok(None),
            Some(v) => DateTime::parse_from_rfc3339(v)
                .map(|t| Some(t.with_timezone(&Utc)))
                .map_err(|_| ()),
        }
    };
    let (Ok(since), Ok(until)) = (time("since"), time("until")) else {
        return finish(
            error(StatusCode::BAD_REQUEST, "E0000001", "Api validation failed"),
            bucket,
        );
    };
    let filter = match params.get("filter") {
        None => vec![Vec::new()],
        Some(f) => match disjunction(f) {
            Some(c) => c,
            None => return finish(invalid_search(), bucket),
        },
    };
    let limit = params
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(100)
        .clamp(1, 1000);
    let now = Instant::now();
    let data = okta.data();
    let matching: Vec<&Event> = data
        .events
        .iter()
        .filter(|e| e.visible_at <= now)
        .filter(|e| since.is_none_or(|s| e.published >= s))
        .filter(|e| until.is_none_or(|u| e.published < u))
        .filter(|e| {
            filter.iter().any(|all| {
                all.iter().all(|c| match c.property.as_str() {
                    "eventType" => e.event_type == c.value,
                    "actor.id" => e.actor.0 == c.value,
                    "target.id" => e.targets.iter().any(|t| t.0 == c.value),
                    _ => false,
                })
            })
        })
        .collect();
    let start = params
        .get("after")
        .and_then(|after| matching.iter().position(|e| e.uuid == *after))
        .map_or(0, |p| p + 1);
    let page: Vec<Value> = matching
        .iter()
        .skip(start)
        .take(limit)
        .map(|e| Okta::event_json(e))
        .collect();
    finish(Json(page).into_response(), bucket)
}
