//! The request pipeline in the server's order: license, authentication, rate limit, permission, second factor.

use super::*;

pub(super) fn failure(error: &str, error_type: Option<&str>, details: Option<Value>) -> Response {
    let mut body = Map::new();
    body.insert("success".into(), json!(false));
    match error_type {
        Some(kind) => {
            body.insert("error".into(), json!(format!("{error} [{kind}]")));
            body.insert("errorType".into(), json!(kind));
        }
        None => {
            body.insert("error".into(), json!(error));
        }
    }
    if let Some(details) = details {
        body.insert("details".into(), details);
    }
    (StatusCode::BAD_REQUEST, Json(Value::Object(body))).into_response()
}

pub(super) fn not_found(message: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({"success": false, "error": message})),
    )
        .into_response()
}

pub(super) fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({
            "success": false,
            "error": "You must be logged in to do this.",
            "status": "error",
            "message": "You must be logged in to do this.",
        })),
    )
        .into_response()
}

pub(super) fn success(mut body: Map<String, Value>) -> Response {
    body.insert("success".into(), json!(true));
    Json(Value::Object(body)).into_response()
}

#[derive(Clone, Copy)]
pub(super) struct Route {
    pub(super) path: &'static str,
    pub(super) method: &'static str,
    pub(super) license: bool,
    pub(super) two_factor: bool,
    pub(super) permission: Option<&'static str>,
}

pub(super) struct Ctx {
    pub(super) user: u32,
    pub(super) token: Hash,
    pub(super) rate: Option<(u32, u32, Duration)>,
}

impl Ctx {
    pub(super) fn finish(&self, mut response: Response) -> Response {
        if let Some((limit, remaining, reset)) = self.rate {
            rate_headers(response.headers_mut(), limit, remaining, reset);
        }
        response
    }
}

pub(super) fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

pub(super) fn fingerprint(headers: &HeaderMap) -> u64 {
    let ua = header_str(headers, "user-agent").unwrap_or("");
    let digest = Sha256::digest(ua.as_bytes());
    u64::from_le_bytes(digest[..8].try_into().expect("8 bytes"))
}

impl RocketChat {
    /// License, authentication, rate limit, permission, second factor — in the
    /// server's order. (Parameter validation runs in each handler, between the rate
    /// limit and the permission check; handlers call [`Self::authorize`] after it.)
    pub(super) fn admit(&self, route: Route, headers: &HeaderMap) -> Result<Ctx, Response> {
        let faults = self.common.faults();
        let data = self.data();
        if route.license && !data.config.enterprise && data.config.old_license_answer.is_none() {
            return Err(failure(
                "This is an enterprise feature",
                Some("error-action-not-allowed"),
                None,
            ));
        }
        let user_id = header_str(headers, "x-user-id").unwrap_or("");
        let token = hash_token(header_str(headers, "x-auth-token").unwrap_or(""));
        let user = match (data.by_id.get(user_id), data.tokens.get(&token)) {
            (Some(&user), Some(meta)) if meta.user == user => user,
            _ => return Err(unauthorized()),
        };
        if let (true, false, Some(status)) = (
            route.license,
            data.config.enterprise,
            data.config.old_license_answer,
        ) {
            // The handler's own `hasLicense` check: `API.v1.unauthorized()`.
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::FORBIDDEN);
            return Err((
                status,
                Json(json!({"success": false, "error": "unauthorized"})),
            )
                .into_response());
        }
        let mut rate = None;
        if faults.enforce_rate_limits
            && (!data.users[user as usize].admin || data.config.rate_limit_admins)
        {
            let window = faults.scaled(data.config.rate_limit_window);
            let limit = data.config.rate_limit_calls;
            let key = format!("127.0.0.1 {} {}", route.method, route.path);
            match self.limiter.check(&key, limit, window) {
                Limit::Allowed { remaining, reset } => rate = Some((limit, remaining, reset)),
                Limit::Refused { retry_after } => {
                    return Err(too_many_requests(
                        retry_after,
                        limit,
                        data.config.old_rate_limit_answer,
                    ));
                }
            }
        }
        Ok(Ctx { user, token, rate })
    }

    /// Permission, then the second factor.
    pub(super) fn authorize(
        &self,
        route: Route,
        ctx: &Ctx,
        headers: &HeaderMap,
    ) -> Result<(), Response> {
        let mut data = self.data();
        if route.permission.is_some() && !data.users[ctx.user as usize].admin {
            return Err(ctx.finish(
                (
                    StatusCode::FORBIDDEN,
                    Json(json!({"success": false, "error": "User does not have the permissions required for this action [error-unauthorized]"})),
                )
                    .into_response(),
            ));
        }
        if route.two_factor {
            check_second_factor(&mut data, ctx, headers).map_err(|r| ctx.finish(r))?;
        }
        Ok(())
    }
}

/// `checkCodeForUser`, as the REST layer runs it for `twoFactorRequired` routes.
pub(super) fn check_second_factor(
    data: &mut Data,
    ctx: &Ctx,
    headers: &HeaderMap,
) -> Result<(), Response> {
    if !data.config.two_factor_enabled {
        return Ok(());
    }
    let print = fingerprint(headers);
    let remember = data.config.remember_two_factor;
    let meta = data
        .tokens
        .get(&ctx.token)
        .cloned()
        .expect("authenticated token");
    if meta.bypass_two_factor {
        return Ok(());
    }
    if meta
        .authorized_until
        .is_some_and(|until| until > Instant::now())
        && meta.authorized_for == print
    {
        return Ok(());
    }
    let requested = header_str(headers, "x-2fa-method");
    let code = header_str(headers, "x-2fa-code");
    verify_second_factor(data, ctx.user as usize, requested, code, true).map_err(
        |TwoFactorError {
             kind,
             message,
             details,
         }| failure(message, Some(kind), Some(details)),
    )?;
    if !remember.is_zero()
        && let Some(meta) = data.tokens.get_mut(&ctx.token)
    {
        meta.authorized_until = Some(Instant::now() + remember);
        meta.authorized_for = print;
    }
    Ok(())
}

/// A refused second factor: the `Meteor.Error` code, reason and details.
pub(super) struct TwoFactorError {
    pub(super) kind: &'static str,
    pub(super) message: &'static str,
    pub(super) details: Value,
}

/// The part of `checkCodeForUser` after "remember me": method selection
/// (`getSecondFactorMethod`), `processInvalidCode` (which may email a code), then
/// `verify` and, on failure, `maxFaildedAttemtpsReached`.
pub(super) fn verify_second_factor(
    data: &mut Data,
    user: usize,
    requested: Option<&str>,
    code: Option<&str>,
    password_fallback: bool,
) -> Result<(), TwoFactorError> {
    let enrolled = &data.users[user];
    let mut available = Vec::new();
    if enrolled.totp_secret.is_some() {
        available.push("totp");
    }
    if enrolled.email_two_factor {
        available.push("email");
    }
    // Only registered checkers (`totp`, `email`) can be asked for by name.
    let method = match requested {
        Some("totp") => TwoFactorMethod::Totp,
        Some("email") => TwoFactorMethod::Email,
        _ if enrolled.totp_secret.is_some() => TwoFactorMethod::Totp,
        _ if enrolled.email_two_factor => TwoFactorMethod::Email,
        // `PasswordCheckFallback.isEnabled`: only users with a local password.
        _ if password_fallback && data.has_password(enrolled) => TwoFactorMethod::Password,
        // No method for this user: the check passes silently.
        _ => return Ok(()),
    };
    let max_attempts = data.config.max_email_attempts;
    let mut details = Map::new();
    details.insert("method".into(), json!(method.as_str()));
    if method == TwoFactorMethod::Email {
        // processInvalidCode: drop an expired code; keep a valid one unless its
        // attempts are used up; otherwise email a new code (attempts back to 0).
        let now = Instant::now();
        let user_mut = &mut data.users[user];
        if user_mut
            .email_code
            .as_ref()
            .is_some_and(|c| c.expires <= now)
        {
            user_mut.email_code = None;
        }
        let valid = user_mut
            .email_code
            .as_ref()
            .filter(|c| c.attempts < max_attempts);
        if let Some(valid) = valid {
            let expires = Utc::now().timestamp_millis()
                + valid.expires.saturating_duration_since(now).as_millis() as i64;
            details.insert("emailOrUsername".into(), json!(user_mut.username));
            details.insert("codeGenerated".into(), json!(false));
            details.insert("codeExpires".into(), json!(iso(expires)));
        } else {
            let fresh: String = (0..6)
                .map(|_| char::from(b'0' + data.rng.u8(..10)))
                .collect();
            let user_mut = &mut data.users[user];
            data.outbox.push((user_mut.email.clone(), fresh.clone()));
            user_mut.email_code = Some(EmailCode {
                code: fresh,
                expires: now + Duration::from_secs(3600),
                attempts: 0,
            });
            details.insert("codeGenerated".into(), json!(true));
            details.insert("emailOrUsername".into(), json!(user_mut.username));
        }
    } else {
        details.insert("codeGenerated".into(), json!(false));
    }
    details.insert("availableMethods".into(), json!(available));
    let refuse = |kind, message, details| TwoFactorError {
        kind,
        message,
        details: Value::Object(details),
    };
    let Some(code) = code.filter(|c| !c.is_empty()) else {
        return Err(refuse("totp-required", "TOTP Required", details));
    };
    let user_ref = &mut data.users[user];
    let valid = match method {
        TwoFactorMethod::Password => {
            code.to_lowercase() == hex::encode(Sha256::digest(user_ref.password.as_bytes()))
        }
        TwoFactorMethod::Totp => user_ref
            .totp_secret
            .as_deref()
            .is_some_and(|secret| totp_valid(secret, code)),
        TwoFactorMethod::Email => {
            // EmailCheck.verify: only for users with email 2FA; non-digits are
            // stripped; a match consumes the code, a miss counts an attempt.
            let digits: String = code.chars().filter(char::is_ascii_digit).collect();
            let enabled = user_ref.email_two_factor;
            match user_ref.email_code.as_mut() {
                Some(stored) if enabled && stored.expires > Instant::now() => {
                    if stored.code == digits {
                        user_ref.email_code = None;
                        true
                    } else {
                        stored.attempts += 1;
                        false
                    }
                }
                _ => false,
            }
        }
    };
    if valid {
        return Ok(());
    }
    let exhausted = method == TwoFactorMethod::Email
        && data.users[user]
            .email_code
            .as_ref()
            .is_some_and(|c| c.attempts >= max_attempts);
    if exhausted {
        return Err(refuse(
            "totp-max-attempts",
            "TOTP Maximun Failed Attempts Reached",
            details,
        ));
    }
    Err(refuse("totp-invalid", "TOTP Invalid", details))
}

pub(super) fn totp_valid(secret: &str, code: &str) -> bool {
    let Ok(secret) = totp_rs::Secret::try_from_base32(secret) else {
        return false;
    };
    let totp = totp_rs::Builder::new()
        .with_secret(secret)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .build_noncompliant();
    let now = Utc::now().timestamp().max(0) as u64;
    totp.check(code, now).is_some()
}
