//! The session settings trio, `users.lookupByEmail`, `users.info` and `auth.test`.

use super::*;

pub(super) fn settings_users(slack: &Slack, call: &Call) -> Result<Vec<String>, Response> {
    let ids = arg_list(&call.args, "user_ids").filter(|ids| !ids.is_empty() && ids.len() <= 1000);
    let Some(ids) = ids else {
        return Err(fail("invalid_arguments"));
    };
    let data = slack.data();
    if ids.iter().any(|id| data.user(id).is_none()) {
        return Err(fail("user_not_found"));
    }
    if ids
        .iter()
        .any(|id| data.user(id).is_some_and(|(_, u)| u.is_bot))
    {
        return Err(fail("bots_not_allowed"));
    }
    Ok(ids)
}

pub(super) fn get_settings(slack: &Slack, call: &Call) -> Response {
    let ids = match settings_users(slack, call) {
        Ok(ids) => ids,
        Err(response) => return response,
    };
    let data = slack.data();
    let mut settings = Vec::new();
    let mut none = Vec::new();
    for id in ids {
        let (index, _) = data.user(&id).expect("checked");
        // "if a user does not have any active sessions, they will not be returned
        // in the response": in neither list.
        if !data.sessions.values().any(|s| s.user == index) {
            continue;
        }
        match data.settings.get(&id) {
            Some(s) => settings.push(json!({
                "user_id": id,
                "desktop_app_browser_quit": s.desktop_app_browser_quit,
                "duration": s.duration,
            })),
            None => none.push(id),
        }
    }
    let mut body = Map::new();
    body.insert("session_settings".into(), Value::Array(settings));
    body.insert("no_settings_applied".into(), json!(none));
    ok(body, call)
}

pub(super) fn set_settings(slack: &Slack, call: &Call) -> Response {
    let ids = match settings_users(slack, call) {
        Ok(ids) => ids,
        Err(response) => return response,
    };
    let duration = match arg_u64(&call.args, "duration") {
        Ok(d) => d,
        Err(()) => return fail("invalid_arguments"),
    };
    let quit = match call.args.get("desktop_app_browser_quit") {
        None => None,
        Some(_) => match arg_bool(&call.args, "desktop_app_browser_quit") {
            Ok(b) => Some(b),
            Err(()) => return fail("invalid_arguments"),
        },
    };
    if duration.is_none() && quit.is_none() {
        return fail("at_least_one_session_setting_required");
    }
    if duration.is_some_and(|d| !(28_800..=315_569_520).contains(&d)) {
        return fail("invalid_arguments");
    }
    let mut data = slack.data();
    for id in ids {
        let entry = data.settings.entry(id).or_default();
        if duration.is_some() {
            entry.duration = duration;
        }
        if quit.is_some() {
            entry.desktop_app_browser_quit = quit;
        }
    }
    ok(Map::new(), call)
}

pub(super) fn clear_settings(slack: &Slack, call: &Call) -> Response {
    let ids = match settings_users(slack, call) {
        Ok(ids) => ids,
        Err(response) => return response,
    };
    let mut data = slack.data();
    for id in ids {
        data.settings.remove(&id);
    }
    ok(Map::new(), call)
}

pub(super) fn lookup_by_email(slack: &Slack, call: &Call, kind: TokenKind) -> Response {
    if kind == TokenKind::Bot {
        // Bots may look users up, given the scope; the emulated bot lacks it.
        return Json(json!({"ok": false, "error": "missing_scope", "needed": "users:read.email", "provided": "chat:write"}))
            .into_response();
    }
    if kind == TokenKind::Admin && slack.lookup_refuses_org_token {
        return fail("enterprise_is_restricted");
    }
    let Some(email) = arg_str(&call.args, "email") else {
        return fail("invalid_arguments");
    };
    let data = slack.data();
    // Deactivated users answer `users_not_found` (research §3).
    let found = data.users.iter().position(|u| {
        u.standing != Standing::Deleted
            && u.email
                .as_deref()
                .is_some_and(|e| e.eq_ignore_ascii_case(email.trim()))
    });
    let answered = slack.common.answer_lookup(found, data.users.len(), |id| {
        data.by_id.get(id).map(|&i| i as usize)
    });
    let Some(index) = answered else {
        return fail("users_not_found");
    };
    let mut body = Map::new();
    body.insert("user".into(), user_json(slack, &data.users[index]));
    ok(body, call)
}

/// `users.info` (Tier 4): one user by id, `user_not_found` for ids nobody has.
pub(super) fn users_info(slack: &Slack, call: &Call) -> Response {
    let Some(id) = arg_str(&call.args, "user") else {
        return fail("user_not_found");
    };
    let data = slack.data();
    let Some((_, user)) = data.user(id) else {
        return fail("user_not_found");
    };
    let mut body = Map::new();
    body.insert("user".into(), user_json(slack, user));
    ok(body, call)
}

/// A user object as `users.lookupByEmail` and `users.info` answer it (the fields of
/// the method's documented example), guests told from members by `is_restricted`
/// and `is_ultra_restricted`.
pub(super) fn user_json(slack: &Slack, user: &User) -> Value {
    json!({
        "id": user.id,
        "team_id": slack.team_id,
        "name": user.name,
        "deleted": user.standing == Standing::Deleted,
        "color": "9f69e7",
        "real_name": user.real_name,
        "tz": "Europe/Berlin",
        "tz_label": "Central European Time",
        "tz_offset": 3600,
        "is_admin": user.is_admin,
        "is_owner": user.is_primary_owner,
        "is_primary_owner": user.is_primary_owner,
        "is_restricted": false,
        "is_ultra_restricted": false,
        "is_bot": user.is_bot,
        "is_app_user": false,
        "is_invited_user": user.standing == Standing::Invited,
        "updated": 1_502_138_686,
        "has_2fa": false,
        "profile": {"email": user.email, "real_name": user.real_name, "display_name": user.name, "team": slack.team_id},
        "enterprise_user": {"id": user.id, "enterprise_id": slack.enterprise_id, "enterprise_name": "Corp", "is_admin": user.is_admin, "is_owner": user.is_primary_owner, "teams": [slack.team_id]},
    })
}

pub(super) fn auth_test(slack: &Slack, call: &Call, caller: u32, kind: TokenKind) -> Response {
    let data = slack.data();
    let user = &data.users[caller as usize];
    let mut body = Map::new();
    body.insert(
        "url".into(),
        json!("https://corp-example.enterprise.slack.com/"),
    );
    body.insert("team".into(), json!("Corp"));
    body.insert("user".into(), json!(user.name));
    body.insert("team_id".into(), json!(slack.enterprise_id));
    body.insert("user_id".into(), json!(user.id));
    body.insert("enterprise_id".into(), json!(slack.enterprise_id));
    body.insert("is_enterprise_install".into(), json!(true));
    if kind == TokenKind::Bot {
        body.insert("bot_id".into(), json!(format!("B{}", &user.id[1..])));
    }
    ok(body, call)
}
