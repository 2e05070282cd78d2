//! Authentication: cookie, API key, Basic, OAuth, and the rate limiter.

use super::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scheme {
    Cookie,
    HeaderToken,
    ApiKey,
    OAuth,
    Basic,
}

#[derive(Debug, Clone)]
pub(super) struct Caller {
    pub(super) user: usize,
    pub(super) scheme: Scheme,
    /// The login event of the `asc_auth_key` cookie; 0 otherwise.
    pub(super) cookie_event: i32,
    pub(super) scopes: Option<Vec<&'static str>>,
}

pub(super) fn unauthorized(basic: bool) -> Response {
    let mut response = StatusCode::UNAUTHORIZED.into_response();
    if basic {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"DocSpace\""),
        );
    }
    response
}

pub(super) fn authenticate_request(data: &Data, headers: &HeaderMap) -> Result<Caller, Response> {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let cookie = common::cookie(headers, "asc_auth_key");
    let by_token = |token: &str, scheme: Scheme| -> Result<Caller, Response> {
        let t = data
            .tokens
            .get(token)
            .filter(|t| data.token_valid(t))
            .ok_or_else(|| unauthorized(false))?;
        Ok(Caller {
            user: t.user,
            scheme,
            cookie_event: if scheme == Scheme::Cookie {
                t.login_event
            } else {
                0
            },
            scopes: None,
        })
    };
    match authorization {
        None => match cookie {
            Some(token) => by_token(token, Scheme::Cookie),
            None => Err(unauthorized(false)),
        },
        Some(value) if value.starts_with("Basic ") => {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(value["Basic ".len()..].trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok());
            let user =
                decoded
                    .as_deref()
                    .and_then(|d| d.split_once(':'))
                    .and_then(|(email, password)| {
                        data.users.iter().position(|u| {
                            u.email.eq_ignore_ascii_case(email)
                                && u.password == password
                                && u.can_sign_in()
                        })
                    });
            match user {
                Some(user) => Ok(Caller {
                    user,
                    scheme: Scheme::Basic,
                    cookie_event: 0,
                    scopes: None,
                }),
                None => Err(unauthorized(true)),
            }
        }
        Some(value) if value.starts_with("Bearer sk-") => {
            match data.api_keys.get(&value["Bearer ".len()..]) {
                Some((user, scopes)) => Ok(Caller {
                    user: *user,
                    scheme: Scheme::ApiKey,
                    cookie_event: 0,
                    scopes: Some(scopes.clone()),
                }),
                None => Err(unauthorized(false)),
            }
        }
        Some(value) if value.starts_with("Bearer ") && value.matches('.').count() == 2 => {
            match data.oauth.get(&value["Bearer ".len()..]) {
                Some(user) => Ok(Caller {
                    user: *user,
                    scheme: Scheme::OAuth,
                    cookie_event: 0,
                    scopes: None,
                }),
                None => Err(unauthorized(false)),
            }
        }
        // Anything else goes to the cookie handler: the cookie wins if both are sent,
        // and a leading "Bearer " is stripped.
        Some(value) => match cookie {
            Some(token) => by_token(token, Scheme::Cookie),
            None => by_token(
                value.strip_prefix("Bearer ").unwrap_or(value),
                Scheme::HeaderToken,
            ),
        },
    }
}

/// API-key scopes: GET needs `*:read` or `*:write`, PUT `*:write`; `extra` lists
/// further scopes the route accepts. A refusal is a bare 403.
pub(super) fn check_scope(
    caller: &Caller,
    method: &Method,
    extra: &[&str],
) -> Result<(), Response> {
    let Some(scopes) = &caller.scopes else {
        return Ok(());
    };
    let allowed = scopes.iter().any(|s| {
        *s == "*"
            || *s == "*:write"
            || (*s == "*:read" && *method == Method::GET)
            || extra.contains(s)
    });
    if allowed {
        Ok(())
    } else {
        Err(StatusCode::FORBIDDEN.into_response())
    }
}

/// Authenticates and applies the rate limiter (when enforced), per user.
pub(super) fn admit(docspace: &DocSpace, headers: &HeaderMap) -> Result<Caller, Response> {
    let caller = authenticate_request(&docspace.data(), headers)?;
    let faults = docspace.common.faults();
    if faults.enforce_rate_limits {
        let window = faults.scaled(Duration::from_secs(60));
        let key = format!("sw_{}", caller.user);
        if let Limit::Refused { retry_after } = docspace.limiter.check(&key, 1500, window) {
            let whole = Duration::from_secs(retry_after.as_secs_f64().ceil() as u64);
            let wait = if faults.time_scale > 1.0 {
                retry_after
            } else {
                whole
            };
            return Err(rate_limited(wait, 0));
        }
    }
    Ok(caller)
}
