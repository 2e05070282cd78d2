//! A Web API call as it arrives: its arguments from a form, multipart, JSON or the
//! query, its token, and the `ok`/`error` envelope of the answer.

use super::*;

#[derive(Debug)]
pub(super) struct Call {
    pub(super) args: Map<String, Value>,
    pub(super) token: Option<String>,
    pub(super) json_without_charset: bool,
}

pub(super) fn parse_call(
    headers: &HeaderMap,
    query: Option<&str>,
    body: &Bytes,
) -> Result<Call, &'static str> {
    let mut args = Map::new();
    if let Some(query) = query {
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            args.insert(k.into_owned(), Value::String(v.into_owned()));
        }
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or("").to_owned());
    let mut json_without_charset = false;
    let mut body_token = None;
    if !body.is_empty() {
        // "…included a data payload, but the request did not include a Content-Type header."
        let Some(content_type) = content_type else {
            return Err("missing_post_type");
        };
        let mut params = content_type.split(';');
        let mime = params.next().unwrap_or("").trim().to_ascii_lowercase();
        let mut charset = None;
        let mut boundary = None;
        for param in params {
            if let Some((name, value)) = param.split_once('=') {
                let value = value.trim().trim_matches('"');
                match name.trim().to_ascii_lowercase().as_str() {
                    "charset" => charset = Some(value.to_ascii_lowercase()),
                    "boundary" => boundary = Some(value.to_owned()),
                    _ => {}
                }
            }
        }
        // "Valid charset names are: utf-8 iso-8859-1."
        if charset
            .as_deref()
            .is_some_and(|c| c != "utf-8" && c != "iso-8859-1")
        {
            return Err("invalid_charset");
        }
        let mut fields = Vec::new();
        match mime.as_str() {
            "application/json" => {
                json_without_charset = charset.is_none();
                match serde_json::from_slice::<Value>(body) {
                    Ok(Value::Object(map)) => {
                        // A token inside a JSON body is not read: JSON needs the header.
                        args.extend(map.into_iter().filter(|(k, _)| k != "token"));
                    }
                    Ok(_) => return Err("json_not_object"),
                    Err(_) => return Err("invalid_json"),
                }
            }
            // text/plain is a documented valid type; its body is read as form fields.
            "application/x-www-form-urlencoded" | "text/plain" => {
                fields.extend(
                    url::form_urlencoded::parse(body)
                        .map(|(k, v)| (k.into_owned(), v.into_owned())),
                );
            }
            "multipart/form-data" => {
                let parsed = boundary.and_then(|b| parse_multipart(body, &b));
                let Some(parsed) = parsed else {
                    return Err("invalid_form_data");
                };
                fields.extend(parsed);
            }
            _ => return Err("invalid_post_type"),
        }
        for (k, v) in fields {
            if k == "token" {
                body_token = Some(v);
            } else {
                args.insert(k, Value::String(v));
            }
        }
    }
    let header_token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    Ok(Call {
        args,
        token: header_token.or(body_token),
        json_without_charset,
    })
}

/// The text fields of a `multipart/form-data` body.
pub(super) fn parse_multipart(body: &[u8], boundary: &str) -> Option<Vec<(String, String)>> {
    let text = String::from_utf8_lossy(body);
    let delimiter = format!("--{boundary}");
    let mut parts = text.split(delimiter.as_str());
    // Anything before the first delimiter is preamble.
    parts.next()?;
    let mut fields = Vec::new();
    for part in parts {
        if part.starts_with("--") {
            return Some(fields);
        }
        let part = part.strip_prefix("\r\n")?;
        let (head, value) = part.split_once("\r\n\r\n")?;
        let name = head.split("\r\n").find_map(|line| {
            let (key, rest) = line.split_once(':')?;
            if !key.trim().eq_ignore_ascii_case("content-disposition") {
                return None;
            }
            rest.split(';')
                .find_map(|p| p.trim().strip_prefix("name="))
                .map(|n| n.trim_matches('"').to_owned())
        })?;
        let value = value.strip_suffix("\r\n").unwrap_or(value);
        fields.push((name, value.to_owned()));
    }
    // No closing delimiter: truncated.
    None
}

pub(super) fn ok(mut body: Map<String, Value>, call: &Call) -> Response {
    body.insert("ok".into(), Value::Bool(true));
    if call.json_without_charset {
        body.insert("warning".into(), json!("missing_charset"));
        let meta = body.entry("response_metadata").or_insert_with(|| json!({}));
        if let Value::Object(meta) = meta {
            meta.insert("warnings".into(), json!(["missing_charset"]));
        }
    }
    Json(Value::Object(body)).into_response()
}

pub(super) fn fail(error: &str) -> Response {
    Json(json!({"ok": false, "error": error})).into_response()
}

pub(super) fn arg_str<'a>(args: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    args.get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

pub(super) fn arg_bool(args: &Map<String, Value>, name: &str) -> Result<bool, ()> {
    match args.get(name) {
        None => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) => match s.as_str() {
            "true" | "1" => Ok(true),
            "false" | "0" | "" => Ok(false),
            _ => Err(()),
        },
        Some(Value::Number(n)) => Ok(n.as_u64() == Some(1)),
        Some(_) => Err(()),
    }
}

pub(super) fn arg_u64(args: &Map<String, Value>, name: &str) -> Result<Option<u64>, ()> {
    match args.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => n.as_u64().map(Some).ok_or(()),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => s.parse().map(Some).map_err(|_| ()),
        Some(_) => Err(()),
    }
}

/// `user_ids` as a JSON array, a JSON array in a string, or comma-separated text:
/// every official SDK uses one of these.
pub(super) fn arg_list(args: &Map<String, Value>, name: &str) -> Option<Vec<String>> {
    match args.get(name)? {
        Value::Array(items) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect(),
        Value::String(s) if s.trim_start().starts_with('[') => serde_json::from_str(s).ok(),
        Value::String(s) => Some(
            s.split(',')
                .map(|p| p.trim().to_owned())
                .filter(|p| !p.is_empty())
                .collect(),
        ),
        _ => None,
    }
}
