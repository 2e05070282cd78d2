//! Graph's user routes and `revokeSignInSessions`.

use axum::extract::{Path, RawQuery, State};

use super::*;

fn params(query: Option<&str>) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

/// One term of a `$filter`: which property, the value.
#[derive(Debug, PartialEq, Eq)]
enum Term {
    Mail(String),
    Upn(String),
    OtherMail(String),
    ProxyAddress(String),
}

/// A quoted OData string at the start of `text` (`''` is a quote): the value and
/// the rest.
fn quoted(text: &str) -> Option<(String, &str)> {
    let rest = text.trim_start().strip_prefix('\'')?;
    let mut value = String::new();
    let mut chars = rest.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '\'' {
            if chars.peek().is_some_and(|(_, n)| *n == '\'') {
                chars.next();
                value.push('\'');
                continue;
            }
            return Some((value, &rest[i + 1..]));
        }
        value.push(c);
    }
    None
}

/// Parses `mail eq 'a' or userPrincipalName eq 'b' or otherMails/any(x:x eq 'c')
/// or proxyAddresses/any(x:x eq 'smtp:d')`.
fn filter(text: &str) -> Option<Vec<Term>> {
    let mut terms = Vec::new();
    let mut rest = text.trim();
    loop {
        let (term, after) = if let Some(after) = rest.strip_prefix("mail eq ") {
            let (v, r) = quoted(after)?;
            (Term::Mail(v), r)
        } else if let Some(after) = rest.strip_prefix("userPrincipalName eq ") {
            let (v, r) = quoted(after)?;
            (Term::Upn(v), r)
        } else if let Some(after) = rest.strip_prefix("otherMails/any(") {
            let (_, inner) = after.split_once(':')?;
            let (_, inner) = inner.split_once(" eq ")?;
            let (v, r) = quoted(inner)?;
            (Term::OtherMail(v), r.trim_start().strip_prefix(')')?)
        } else if let Some(after) = rest.strip_prefix("proxyAddresses/any(") {
            let (_, inner) = after.split_once(':')?;
            let (_, inner) = inner.split_once(" eq ")?;
            let (v, r) = quoted(inner)?;
            (Term::ProxyAddress(v), r.trim_start().strip_prefix(')')?)
        } else {
            return None;
        };
        terms.push(term);
        let after = after.trim_start();
        if after.is_empty() {
            return Some(terms);
        }
        rest = after.strip_prefix("or ")?.trim_start();
    }
}

fn matches(user: &User, term: &Term) -> bool {
    let same = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    match term {
        Term::Mail(v) => user.mail.as_deref().is_some_and(|m| same(m, v)),
        Term::Upn(v) => same(&user.upn, v),
        Term::OtherMail(v) => user.other_mails.iter().any(|m| same(m, v)),
        Term::ProxyAddress(v) => user.proxy_addresses.iter().any(|m| same(m, v)),
    }
}

fn unsupported_query() -> Response {
    graph_error(
        StatusCode::BAD_REQUEST,
        "Request_UnsupportedQuery",
        "Unsupported Query.",
    )
}

/// `GET /v1.0/users?$filter=…&$select=…&$top=…`.
pub(super) async fn list_users(
    State(entra): State<Arc<Entra>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    if let Err(response) = entra.caller(&headers) {
        return response;
    }
    if let Err(response) = entra.limit() {
        return response;
    }
    let params = params(query.as_deref());
    let config = entra.config();
    let data = entra.data();
    let mut hits: Vec<usize> = match params.get("$filter") {
        None => (0..data.users.len()).collect(),
        Some(text) => {
            let Some(terms) = filter(text) else {
                return unsupported_query();
            };
            let found: Vec<usize> = (0..data.users.len())
                .filter(|&i| data.users[i].added.elapsed() >= config.filter_lag)
                .filter(|&i| terms.iter().any(|t| matches(&data.users[i], t)))
                .collect();
            let misleading = entra.common.misleading();
            if misleading.lookup_ignores_filter {
                (0..data.users.len()).collect()
            } else {
                let first = found.first().copied();
                let answered = entra.common.answer_lookup(first, data.users.len(), |id| {
                    data.users.iter().position(|u| u.id == id)
                });
                if answered == first {
                    found
                } else {
                    answered.into_iter().collect()
                }
            }
        }
    };
    let top = params
        .get("$top")
        .and_then(|t| t.parse::<usize>().ok())
        .unwrap_or(100)
        .clamp(1, 999);
    let skip = params
        .get("$skiptoken")
        .and_then(|t| t.parse::<usize>().ok())
        .unwrap_or(0);
    let total = hits.len();
    hits = hits.into_iter().skip(skip).take(top).collect();
    let select = params.get("$select").map(String::as_str);
    let value: Vec<Value> = hits
        .iter()
        .map(|&i| Entra::user_json(&data.users[i], select))
        .collect();
    let mut body = serde_json::Map::new();
    body.insert(
        "@odata.context".into(),
        json!("https://graph.microsoft.com/v1.0/$metadata#users"),
    );
    if params.get("$count").is_some_and(|c| c == "true") {
        body.insert("@odata.count".into(), json!(total));
    }
    if skip + hits.len() < total {
        let mut next = params.clone();
        next.insert("$skiptoken".into(), (skip + hits.len()).to_string());
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(next.iter())
            .finish();
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("");
        body.insert(
            "@odata.nextLink".into(),
            json!(format!("http://{host}/v1.0/users?{query}")),
        );
    }
    body.insert("value".into(), Value::Array(value));
    Json(Value::Object(body)).into_response()
}

fn not_found(key: &str) -> Response {
    graph_error(
        StatusCode::NOT_FOUND,
        "Request_ResourceNotFound",
        &format!(
            "Resource '{key}' does not exist or one of its queried reference-property objects are not present."
        ),
    )
}

/// `GET /v1.0/users/{id | userPrincipalName}?$select=…`.
pub(super) async fn get_user(
    State(entra): State<Arc<Entra>>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    if let Err(response) = entra.caller(&headers) {
        return response;
    }
    if let Err(response) = entra.limit() {
        return response;
    }
    let params = params(query.as_deref());
    let data = entra.data();
    match Entra::user_index(&data, &id) {
        Some(i) => {
            let mut value =
                Entra::user_json(&data.users[i], params.get("$select").map(String::as_str));
            if let Value::Object(map) = &mut value {
                map.insert(
                    "@odata.context".into(),
                    json!("https://graph.microsoft.com/v1.0/$metadata#users/$entity"),
                );
            }
            Json(value).into_response()
        }
        None => not_found(&id),
    }
}

/// `POST /v1.0/users/{id | userPrincipalName}/revokeSignInSessions` (or
/// `microsoft.graph.revokeSignInSessions`).
pub(super) async fn revoke(
    State(entra): State<Arc<Entra>>,
    Path((id, action)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if action != "revokeSignInSessions" && action != "microsoft.graph.revokeSignInSessions" {
        return graph_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            &format!("Resource not found for the segment '{action}'."),
        );
    }
    let can_revoke = match entra.caller(&headers) {
        Ok(can) => can,
        Err(response) => return response,
    };
    if let Err(response) = entra.limit() {
        return response;
    }
    let config = entra.config();
    let success = || {
        if config.answer_204 {
            StatusCode::NO_CONTENT.into_response()
        } else {
            Json(json!({
                "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Edm.Boolean",
                "value": true,
            }))
            .into_response()
        }
    };
    let mut data = entra.data();
    let Some(index) = Entra::user_index(&data, &id) else {
        if entra.common.misleading().success_for_unknown_user {
            return success();
        }
        return not_found(&id);
    };
    if !can_revoke {
        return graph_error(
            StatusCode::FORBIDDEN,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        );
    }
    let user = &mut data.users[index];
    if user.privileged {
        return graph_error(
            StatusCode::FORBIDDEN,
            "Authorization_RequestDenied",
            "Access to invalidate refresh tokens operation is denied.",
        );
    }
    if user.guest {
        // "doesn't revoke sign-in sessions for external users": success, and nothing.
        return success();
    }
    // Refresh tokens issued before the new time stop working (not in B2C).
    user.pending = Some((
        Instant::now() + config.revocation_delay,
        Utc::now(),
        !config.b2c,
    ));
    user.settle();
    success()
}
