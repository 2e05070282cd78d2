//! The dispatch (authentication, tiers, scopes) and the `admin.users.session.*`
//! methods but the settings trio.

use super::*;

pub(super) enum Tier {
    Two,
    Three,
    Four,
    Special,
}

impl Tier {
    pub(super) fn per_minute(&self) -> u32 {
        match self {
            Tier::Two => 20,
            Tier::Three => 50,
            Tier::Four => 100,
            Tier::Special => 600,
        }
    }
}

pub(super) async fn method(
    State(slack): State<Arc<Slack>>,
    Path(method): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (tier, needs_admin_scope) = match method.as_str() {
        "admin.users.session.list" => (Tier::Two, Some("admin.users:read")),
        "admin.users.session.invalidate"
        | "admin.users.session.reset"
        | "admin.users.session.resetBulk" => (Tier::Two, Some("admin.users:write")),
        "admin.users.session.getSettings" => (Tier::Four, Some("admin.users:read")),
        "admin.users.session.setSettings" | "admin.users.session.clearSettings" => {
            (Tier::Four, Some("admin.users:write"))
        }
        "users.lookupByEmail" => (Tier::Three, None),
        "users.info" => (Tier::Four, None),
        "users.list" => (Tier::Two, None),
        "admin.teams.list" => (Tier::Three, Some("admin.teams:read")),
        "auth.test" => (Tier::Special, None),
        _ => return fail("unknown_method"),
    };
    let call = match parse_call(&headers, query.as_deref(), &body) {
        Ok(call) => call,
        Err(code) => return fail(code),
    };
    let Some(token) = call.token.clone() else {
        return fail("not_authed");
    };
    let Some(&(kind, caller)) = slack.tokens.get(&token) else {
        return fail("invalid_auth");
    };
    let faults = slack.common.faults();
    if faults.enforce_rate_limits {
        let window = faults.scaled(Duration::from_secs(60));
        let key = format!("{method}:{token}");
        if let Limit::Refused { retry_after } = slack.limiter.check(&key, tier.per_minute(), window)
        {
            // Slack announces whole seconds; only scaled time needs finer waits.
            let wait = if faults.time_scale > 1.0 {
                retry_after
            } else {
                Duration::from_secs(retry_after.as_secs_f64().ceil() as u64)
            };
            return rate_limited(wait, faults.rate_limit_empty_body);
        }
    }
    match kind {
        TokenKind::Revoked => return fail("token_revoked"),
        TokenKind::Bot if needs_admin_scope.is_some() => return fail("not_allowed_token_type"),
        TokenKind::Member => {
            if let Some(needed) = needs_admin_scope {
                return Json(json!({
                    "ok": false,
                    "error": "missing_scope",
                    "needed": needed,
                    "provided": "users:read,users:read.email",
                }))
                .into_response();
            }
        }
        TokenKind::NotAdmin if needs_admin_scope.is_some() => return fail("not_an_admin"),
        _ => {}
    }
    if needs_admin_scope.is_some() && !slack.data().enterprise {
        return fail("feature_not_enabled");
    }
    match method.as_str() {
        "admin.users.session.list" => list(&slack, &call),
        "admin.users.session.invalidate" => invalidate(&slack, &call, caller),
        "admin.users.session.reset" => reset(&slack, &call),
        "admin.users.session.resetBulk" => reset_bulk(&slack, &call),
        "admin.users.session.getSettings" => get_settings(&slack, &call),
        "admin.users.session.setSettings" => set_settings(&slack, &call),
        "admin.users.session.clearSettings" => clear_settings(&slack, &call),
        "users.lookupByEmail" => lookup_by_email(&slack, &call, kind),
        "users.info" => users_info(&slack, &call),
        "users.list" => users_list(&slack, &call, kind),
        "admin.teams.list" => teams_list(&slack, &call),
        "auth.test" => auth_test(&slack, &call, caller, kind),
        _ => fail("unknown_method"),
    }
}

pub(super) fn encode_cursor(last: u64) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("session_id:{last}"))
}

pub(super) fn decode_cursor(cursor: &str) -> Option<u64> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(cursor)
        .ok()?;
    String::from_utf8(bytes)
        .ok()?
        .strip_prefix("session_id:")?
        .parse()
        .ok()
}

pub(super) fn snapshot_json(s: &Snapshot) -> Value {
    let d = &DEVICES[s.device as usize];
    json!({
        "device_hardware": d.hardware,
        "os": d.os,
        "os_version": d.os_version,
        "slack_client_version": d.client_version,
        "ip": s.ip.to_string(),
    })
}

pub(super) fn list(slack: &Slack, call: &Call) -> Response {
    let args = &call.args;
    let limit = match arg_u64(args, "limit") {
        Ok(None) => 1000,
        Ok(Some(l)) if (1..=1000).contains(&l) => l as usize,
        _ => return fail("invalid_arguments"),
    };
    let after = match arg_str(args, "cursor") {
        None => None,
        Some(c) => match decode_cursor(c) {
            Some(after) => Some(after),
            None => return fail("invalid_cursor"),
        },
    };
    let filter = match (arg_str(args, "team_id"), arg_str(args, "user_id")) {
        (Some(_), None) => return fail("missing_user"),
        (None, Some(_)) => return fail("missing_team"),
        (None, None) => None,
        (Some(team), Some(user)) => {
            if team != slack.team_id && team != slack.enterprise_id {
                return fail("team_not_found");
            }
            Some(user.to_owned())
        }
    };
    let mut data = slack.data();
    let stale_for = std::time::Duration::from_millis(slack.common.misleading().stale_listing_ms);
    data.stale.retain(|_, (_, at)| at.elapsed() < stale_for);
    let data = data;
    let user_filter = match &filter {
        Some(user) => match data.user(user) {
            // "Bot sessions are not listed by this method."
            Some((_, u)) if u.is_bot => return fail("bots_not_allowed"),
            Some((index, _)) => Some(index),
            None => return fail("user_not_found"),
        },
        None => None,
    };
    // A misleading listing shows the recently revoked sessions too, in id order.
    let mut merged: BTreeMap<u64, &Session> = BTreeMap::new();
    let range: Box<dyn Iterator<Item = (&u64, &Session)>> = if data.stale.is_empty() {
        match after {
            Some(after) => Box::new(data.sessions.range(after + 1..)),
            None => Box::new(data.sessions.range(..)),
        }
    } else {
        let from = after.map_or(0, |a| a + 1);
        merged.extend(data.sessions.range(from..).map(|(k, v)| (*k, v)));
        merged.extend(data.stale.range(from..).map(|(k, (v, _))| (*k, v)));
        Box::new(merged.iter().map(|(k, v)| (k, *v)))
    };
    let mut items = Vec::new();
    let mut last = None;
    let mut more = false;
    for (id, session) in range {
        if user_filter.is_some_and(|u| u != session.user) {
            continue;
        }
        if data.users[session.user as usize].is_bot {
            continue;
        }
        if items.len() == limit {
            more = true;
            break;
        }
        let mut item = json!({
            "user_id": data.users[session.user as usize].id,
            "team_id": slack.enterprise_id,
            "session_id": id,
            "created": snapshot_json(&session.created),
        });
        if let Some(recent) = &session.recent {
            item["recent"] = snapshot_json(recent);
        }
        items.push(item);
        last = Some(*id);
    }
    if items.is_empty() {
        return fail("no_active_sessions");
    }
    let mut body = Map::new();
    body.insert("active_sessions".into(), Value::Array(items));
    match (more, &filter) {
        (true, _) => {
            body.insert(
                "response_metadata".into(),
                json!({"next_cursor": encode_cursor(last.expect("items"))}),
            );
        }
        // The documented example for one user's sessions has no response_metadata.
        (false, Some(_)) => {}
        (false, None) => {
            body.insert("response_metadata".into(), json!({"next_cursor": ""}));
        }
    }
    ok(body, call)
}

pub(super) fn invalidate(slack: &Slack, call: &Call, caller: u32) -> Response {
    let Some(user) = arg_str(&call.args, "user_id") else {
        return fail("invalid_arguments");
    };
    let session_id = match arg_u64(&call.args, "session_id") {
        Ok(Some(id)) => id,
        _ => return fail("invalid_arguments"),
    };
    let mut data = slack.data();
    let Some((index, target)) = data.user(user) else {
        return fail("user_not_found");
    };
    if target.is_primary_owner && !data.users[caller as usize].is_primary_owner {
        return fail("cannot_invalidate_primary_owner");
    }
    match data.sessions.get(&session_id) {
        Some(s) if s.user == index => {
            let ended = data.sessions.remove(&session_id).expect("present");
            remember_stale(slack, &mut data, session_id, ended);
            ok(Map::new(), call)
        }
        _ if slack.expired_session_answer
            && (data.first_session..=data.next_session).contains(&session_id) =>
        {
            fail("session_expired")
        }
        _ => fail("session_not_found"),
    }
}

pub(super) fn scope_of(args: &Map<String, Value>) -> Result<Option<DeviceClass>, ()> {
    match (arg_bool(args, "mobile_only")?, arg_bool(args, "web_only")?) {
        (true, true) => Err(()),
        (true, false) => Ok(Some(DeviceClass::Mobile)),
        (false, true) => Ok(Some(DeviceClass::Browser)),
        (false, false) => Ok(None),
    }
}

pub(super) fn wipe(slack: &Slack, data: &mut Data, user: u32, scope: Option<DeviceClass>) -> usize {
    let ended: Vec<u64> = data
        .sessions
        .iter()
        .filter(|(_, s)| {
            s.user == user
                && scope.is_none_or(|class| DEVICES[s.created.device as usize].kind == class)
        })
        .map(|(id, _)| *id)
        .collect();
    for id in &ended {
        let session = data.sessions.remove(id).expect("present");
        remember_stale(slack, data, *id, session);
    }
    ended.len()
}

/// Under the `stale_listing_ms` switch, an ended session stays listed a while.
pub(super) fn remember_stale(slack: &Slack, data: &mut Data, id: u64, session: Session) {
    if slack.common.misleading().stale_listing_ms > 0 {
        data.stale.insert(id, (session, std::time::Instant::now()));
    }
}

/// Why a user's sessions cannot be reset, if they cannot. `Ok(None)`: nobody has the
/// id, and a misleading server answers success anyway.
pub(super) fn reset_refusal(
    user: Option<(u32, &User)>,
    success_for_unknown: bool,
) -> Result<Option<u32>, &'static str> {
    match user {
        None if success_for_unknown => Ok(None),
        None => Err("user_not_found"),
        Some((_, u)) if u.is_bot => Err("cannot_reset_bot"),
        Some((_, u)) if u.is_primary_owner => Err("cannot_reset_primary_owner"),
        Some((index, _)) => Ok(Some(index)),
    }
}

pub(super) fn reset(slack: &Slack, call: &Call) -> Response {
    let Some(user) = arg_str(&call.args, "user_id") else {
        return fail("invalid_arguments");
    };
    let Ok(scope) = scope_of(&call.args) else {
        return fail("invalid_arguments");
    };
    let success_for_unknown = slack.common.misleading().success_for_unknown_user;
    let mut data = slack.data();
    match reset_refusal(data.user(user), success_for_unknown) {
        Err(code) => fail(code),
        Ok(index) => {
            if let Some(index) = index {
                wipe(slack, &mut data, index, scope);
            }
            ok(Map::new(), call)
        }
    }
}

pub(super) fn reset_bulk(slack: &Arc<Slack>, call: &Call) -> Response {
    let Some(ids) = arg_list(&call.args, "user_ids") else {
        return fail("invalid_arguments");
    };
    if ids.is_empty() || ids.len() > 1000 {
        return fail("invalid_arguments");
    }
    let Ok(scope) = scope_of(&call.args) else {
        return fail("invalid_arguments");
    };
    let success_for_unknown = slack.common.misleading().success_for_unknown_user;
    let (accepted, failed): (Vec<_>, Vec<_>) = {
        let data = slack.data();
        ids.iter()
            .map(|id| {
                (
                    id.clone(),
                    reset_refusal(data.user(id), success_for_unknown),
                )
            })
            .partition(|(_, r)| r.is_ok())
    };
    let targets: Vec<u32> = accepted
        .into_iter()
        .filter_map(|(_, r)| r.ok().flatten())
        .collect();
    let state = slack.clone();
    let delay = slack.reset_bulk_delay;
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        let mut data = state.data();
        for user in targets {
            wipe(&state, &mut data, user, scope);
        }
    });
    if failed.is_empty() {
        ok(Map::new(), call)
    } else {
        let messages: Vec<String> = failed
            .iter()
            .map(|(id, r)| format!("[ERROR] {id}: {}", r.err().unwrap_or("unknown")))
            .collect();
        Json(json!({
            "ok": false,
            "error": "failed_for_some_users",
            "response_metadata": {"messages": messages},
        }))
        .into_response()
    }
}
