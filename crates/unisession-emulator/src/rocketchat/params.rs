//! Query and body parameters, validated as the server's schemas do.

use super::*;

pub(super) fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    query
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default()
}

pub(super) fn invalid_params(message: &str) -> Response {
    failure(message, Some("invalid-params"), None)
}

pub(super) struct Paging {
    pub(super) offset: usize,
    pub(super) count: usize,
    pub(super) filter: Option<String>,
    pub(super) sort: Option<(String, i32)>,
}

/// `isSessionsPaginateProps` (ajv, coerceTypes, additionalProperties: false), then
/// `getPaginationItems` and the sort whitelist.
pub(super) fn paging(query: Option<&str>, populated: bool) -> Result<Paging, Response> {
    let mut paging = Paging {
        offset: 0,
        count: 50,
        filter: None,
        sort: None,
    };
    for (key, value) in query_pairs(query) {
        match key.as_str() {
            "offset" => {
                paging.offset = value
                    .parse::<i64>()
                    .map_err(|_| invalid_params("must be number"))?
                    .max(0) as usize;
            }
            "count" => {
                let count = value
                    .parse::<i64>()
                    .map_err(|_| invalid_params("must be number"))?;
                paging.count = if count < 0 {
                    50
                } else {
                    (count as usize).min(100)
                };
            }
            "filter" => paging.filter = Some(value),
            "sort" => {
                let parsed: Value = serde_json::from_str(&value).map_err(|_| {
                    failure(
                        &format!("Invalid sort parameter provided: \"{value}\""),
                        Some("error-invalid-sort"),
                        None,
                    )
                })?;
                let Some((field, dir)) = parsed.as_object().and_then(|m| m.iter().next()) else {
                    return Err(failure(
                        &format!("Invalid sort parameter provided: \"{value}\""),
                        Some("error-invalid-sort"),
                        None,
                    ));
                };
                let allowed = [
                    "loginAt",
                    "device.name",
                    "device.os.name",
                    "device.os.version",
                ];
                let admin_only = ["_user.name", "_user.username"];
                if !(allowed.contains(&field.as_str())
                    || (populated && admin_only.contains(&field.as_str())))
                {
                    return Err(failure("error-invalid-sort-keys", None, None));
                }
                let dir = dir
                    .as_i64()
                    .filter(|d| *d == 1 || *d == -1)
                    .ok_or_else(|| {
                        failure(
                            &format!("Invalid sort parameter provided: \"{value}\""),
                            Some("error-invalid-sort"),
                            None,
                        )
                    })?;
                paging.sort = Some((field.clone(), dir as i32));
            }
            _ => return Err(invalid_params("must NOT have additional properties")),
        }
    }
    if paging.count == 0 {
        // API_Allow_Infinite_Count lets count=0 through, and MongoDB refuses $limit: 0.
        return Err(failure("The limit must be positive", None, None));
    }
    Ok(paging)
}

pub(super) fn session_id_param(query: Option<&str>) -> Result<String, Response> {
    let mut session_id = None;
    for (key, value) in query_pairs(query) {
        match key.as_str() {
            "sessionId" => session_id = Some(value),
            _ => return Err(invalid_params("must NOT have additional properties")),
        }
    }
    session_id.ok_or_else(|| invalid_params("must have required property 'sessionId'"))
}

pub(super) fn session_id_body(body: &Bytes) -> Result<String, Response> {
    let value: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let Some(map) = value.as_object() else {
        return Err(invalid_params("must have required property 'sessionId'"));
    };
    if map.keys().any(|k| k != "sessionId") {
        return Err(invalid_params("must NOT have additional properties"));
    }
    match map.get("sessionId") {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Number(n)) => Ok(n.to_string()),
        _ => Err(invalid_params("must have required property 'sessionId'")),
    }
}
