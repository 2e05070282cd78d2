//! `login` and `logout`.

use super::*;

pub(super) fn login_failure(error: &str, message: &str, details: Option<Value>) -> Response {
    let mut body = json!({"success": false, "status": "error", "error": error, "message": message});
    if let Some(details) = details {
        body["details"] = details;
    }
    (StatusCode::UNAUTHORIZED, Json(body)).into_response()
}

pub(super) async fn login(
    State(rc): State<Arc<RocketChat>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let get = |k: &str| params.get(k).and_then(Value::as_str).map(str::to_owned);
    let mut data = rc.data();
    // `loginCompatibility` maps only bodies of these keys; anything else goes to
    // Meteor's `login` as is, which (resume and OAuth logins aside, not emulated)
    // refuses it.
    let compatible = params.as_object().is_some_and(|m| {
        m.keys()
            .all(|k| ["user", "username", "email", "password", "code"].contains(&k.as_str()))
    });
    // `user` is a name or an address, or an object `{username}` / `{email}`.
    let wrapped = |k: &str| {
        params
            .get("user")
            .and_then(|u| u.get(k))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let user_name = get("user")
        .or_else(|| wrapped("username"))
        .or_else(|| wrapped("email"))
        .or_else(|| get("username"))
        .or_else(|| get("email"));
    // The password in clear, or `{digest, algorithm: "sha-256"}` (hex SHA-256).
    let password_ok = |stored: &str| match params.get("password") {
        Some(Value::String(clear)) => clear == stored,
        Some(Value::Object(hashed)) => {
            hashed.get("algorithm").and_then(Value::as_str) == Some("sha-256")
                && hashed
                    .get("digest")
                    .and_then(Value::as_str)
                    .is_some_and(|d| {
                        d.to_lowercase() == hex::encode(Sha256::digest(stored.as_bytes()))
                    })
        }
        _ => false,
    };
    let Some(user_name) = user_name.filter(|_| compatible) else {
        return login_failure("Unauthorized", "Unauthorized", None);
    };
    let Some(index) = data.users.iter().position(|u| {
        (u.username == user_name || u.email.eq_ignore_ascii_case(&user_name))
            && data.has_password(u)
            && password_ok(&u.password)
    }) else {
        return login_failure("Unauthorized", "Unauthorized", None);
    };
    // The login hook (`onValidateLogin`) checks the second factor without the
    // password fallback; the code comes from the body's `code` or `x-2fa-code`.
    if data.config.two_factor_enabled {
        let code = get("code").or_else(|| header_str(&headers, "x-2fa-code").map(str::to_owned));
        if let Err(TwoFactorError {
            kind,
            message,
            details,
        }) = verify_second_factor(&mut data, index, None, code.as_deref(), false)
        {
            return login_failure(kind, message, Some(details));
        }
    }
    let token = data.new_token_string();
    let hash = hash_token(&token);
    let index = index as u32;
    data.tokens.insert(
        hash,
        TokenMeta {
            user: index,
            personal: false,
            bypass_two_factor: false,
            authorized_until: None,
            authorized_for: 0,
        },
    );
    let cap = data.config.max_login_tokens;
    let user = &mut data.users[index as usize];
    user.resume_order.push(hash);
    let excess = user.resume_order.len().saturating_sub(cap);
    let pruned: Vec<Hash> = user.resume_order.drain(..excess).collect();
    for old in pruned {
        data.tokens.remove(&old);
    }
    let user = &data.users[index as usize];
    let mut me = data.user_json(user);
    me["avatarUrl"] = json!(format!("http://chat.corp.example/avatar/{}", user.username));
    Json(json!({"status": "success", "data": {"authToken": token, "userId": user.id, "me": me}}))
        .into_response()
}

pub(super) async fn logout(State(rc): State<Arc<RocketChat>>, headers: HeaderMap) -> Response {
    let ctx = admit!(rc, LOGOUT_ROUTE, headers);
    let mut data = rc.data();
    data.tokens.remove(&ctx.token);
    let user = ctx.user as usize;
    data.users[user].resume_order.retain(|h| *h != ctx.token);
    ctx.finish(
        Json(json!({"status": "success", "data": {"message": "You've been logged out!"}}))
            .into_response(),
    )
}
