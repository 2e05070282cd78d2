//! The success and error envelopes.

use super::*;

pub(super) fn links(headers: &HeaderMap, uri: &Uri, method: &Method) -> Value {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    json!([{"href": format!("http://{host}{}", uri.path_and_query().map_or("", |p| p.as_str())), "action": method.as_str()}])
}

pub(super) fn success(response: Option<Value>, count: i32, links: Value) -> Response {
    let mut body = serde_json::Map::new();
    if let Some(response) = response {
        body.insert("response".into(), response);
    }
    body.insert("count".into(), json!(count));
    body.insert("links".into(), links);
    body.insert("status".into(), json!(0));
    body.insert("statusCode".into(), json!(200));
    Json(Value::Object(body)).into_response()
}

/// A page of a paged call (`people/filter`): `count` the items here, `total` the
/// whole result (`CommonApiResponse`), no `startIndex`.
pub(super) fn people_page(items: Vec<Value>, total: usize, links: Value) -> Response {
    let mut body = serde_json::Map::new();
    let count = items.len();
    body.insert("response".into(), Value::Array(items));
    body.insert("count".into(), json!(count));
    body.insert("total".into(), json!(total));
    body.insert("links".into(), links);
    body.insert("status".into(), json!(0));
    body.insert("statusCode".into(), json!(200));
    Json(Value::Object(body)).into_response()
}

/// 400 with a model-validation failure: `ValidationProblemDetails` in `response`.
pub(super) fn validation_problem(field: &str, message: &str, links: Value) -> Response {
    let mut body = serde_json::Map::new();
    body.insert(
        "response".into(),
        json!({
            "type": "https://tools.ietf.org/html/rfc9110#section-15.5.1",
            "title": "One or more validation errors occurred.",
            "status": 400,
            "errors": {field: [message]},
        }),
    );
    body.insert("count".into(), json!(1));
    body.insert("links".into(), links);
    body.insert("status".into(), json!(1));
    body.insert("statusCode".into(), json!(400));
    (StatusCode::BAD_REQUEST, Json(Value::Object(body))).into_response()
}

pub(super) fn error(status: StatusCode, message: &str, exception: &str) -> Response {
    (
        status,
        Json(json!({
            "error": {"message": message, "type": exception, "stack": null, "hresult": -2146233088},
            "status": 1,
            "statusCode": status.as_u16(),
        })),
    )
        .into_response()
}

/// 403 "Access denied". Servers before v3.7.1 threw `SecurityException("Method not
/// available")` from `logoutall`, but `CustomExceptionHandler` rewrites the message of
/// every `SecurityException`, so the wire always says "Access denied"; only the 3.6
/// spec shows the other text. `_legacy` names the call site.
pub(super) fn access_denied(_legacy: bool) -> Response {
    error(
        StatusCode::FORBIDDEN,
        "Access denied",
        "System.Security.SecurityException",
    )
}

/// The tenant's local time with its offset and seven fraction digits.
pub(super) fn api_date(date: DateTime<Utc>) -> String {
    let local = date.with_timezone(&FixedOffset::east_opt(3600).expect("valid offset"));
    format!(
        "{}.{:07}{}",
        local.format("%Y-%m-%dT%H:%M:%S"),
        local.timestamp_subsec_nanos() / 100,
        local.format("%:z")
    )
}

pub(super) fn item_json(id: i32, event: &LoginEvent, user_id: &str) -> Value {
    let mut item = json!({
        "id": id,
        "tenantId": TENANT_ID,
        "userId": user_id,
        "mobile": event.mobile,
        // BaseEventMapper keeps what precedes the first ':' (meant for a port), so an
        // IPv6 address is cut to its first group.
        "ip": event.ip.split(':').next().unwrap_or(""),
        "country": event.country,
        "city": event.city,
        "browser": event.browser,
        "platform": event.platform,
        "date": api_date(event.date),
    });
    if let Some(page) = &event.page {
        item["page"] = json!(page);
    }
    item
}
