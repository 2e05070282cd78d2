//! The directory: `users.list` (Tier 2) and `admin.teams.list` (Tier 3).
//!
//! As Slack documents them (docs.slack.dev `reference/methods/users.list` and
//! `reference/methods/admin.teams.list`; `shared/research/slack.md`):
//! - `users.list` takes `cursor`, `limit` and `team_id`; with an org-level token
//!   `team_id` is required, so an organisation is listed one workspace at a time. A
//!   member of several workspaces appears in each, under the same id.
//! - Deactivated members are listed with `deleted: true`, invited ones with
//!   `is_invited_user: true`, bots with `is_bot: true` and no email.
//! - `profile.email` is present only for a token holding `users:read.email`
//!   ([`SlackConfig::list_without_email`] drops it).
//! - Pages end with an empty `response_metadata.next_cursor`; without `limit` the
//!   whole workspace comes in one answer; more than 1000 is served as 1000.
//!
//! - Invited and deactivated members are included ("This includes both invited users
//!   and deleted/deactivated users", the method's tester page on api.slack.com);
//!   `users.lookupByEmail` answers `users_not_found` for a deactivated member.
//!
//! Where the documentation is silent, the emulator guesses: a missing `team_id` with
//! the org token answers `missing_argument` (in the method's error list, but no
//! source ties it to `team_id`), an unknown one `team_not_found`.

use super::*;

fn member_of(slack: &Slack, user: &User, index: usize, team: usize) -> bool {
    let workspaces = slack.workspaces.len();
    user.is_admin || user.is_primary_owner || index % workspaces == team
}

/// `users.list`: one workspace's members, cursor-paged.
pub(super) fn users_list(slack: &Slack, call: &Call, kind: TokenKind) -> Response {
    let args = &call.args;
    let limit = match arg_u64(args, "limit") {
        Ok(None) | Ok(Some(0)) => usize::MAX,
        Ok(Some(l)) => (l as usize).min(1000),
        Err(()) => return fail("invalid_arguments"),
    };
    let team = match arg_str(args, "team_id") {
        Some(team) => match slack.workspaces.iter().position(|t| t == team) {
            Some(index) => index,
            None => return fail("team_not_found"),
        },
        // An org-level token must say which workspace.
        None if kind == TokenKind::Admin => return fail("missing_argument"),
        None => 0,
    };
    let after = match arg_str(args, "cursor") {
        None => 0,
        Some(c) => match decode_user_cursor(c) {
            Some(after) => after,
            None => return fail("invalid_cursor"),
        },
    };
    if slack
        .users_list_fails_from
        .is_some_and(|from| after >= from)
    {
        return SlackFaults.server_error();
    }
    let data = slack.data();
    let mut members = Vec::new();
    let mut next = None;
    for (index, user) in data.users.iter().enumerate().skip(after) {
        if !member_of(slack, user, index, team) {
            continue;
        }
        if members.len() == limit {
            next = Some(index);
            break;
        }
        let mut member = user_json(slack, user);
        member["team_id"] = json!(slack.workspaces[team]);
        if slack.list_without_email {
            if let Some(profile) = member["profile"].as_object_mut() {
                profile.remove("email");
            }
        }
        members.push(member);
    }
    let mut body = Map::new();
    body.insert("members".into(), Value::Array(members));
    body.insert("cache_ts".into(), json!(1_498_777_272));
    body.insert(
        "response_metadata".into(),
        json!({"next_cursor": next.map(encode_user_cursor).unwrap_or_default()}),
    );
    ok(body, call)
}

fn encode_user_cursor(index: usize) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("user:{index}"))
}

fn decode_user_cursor(cursor: &str) -> Option<usize> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(cursor)
        .ok()?;
    String::from_utf8(bytes)
        .ok()?
        .strip_prefix("user:")?
        .parse()
        .ok()
}

/// `admin.teams.list`: the organisation's workspaces, cursor-paged (`limit` 1–1000 as
/// docs.slack.dev gives it today; the 2020 OpenAPI spec said 1–100).
pub(super) fn teams_list(slack: &Slack, call: &Call) -> Response {
    let args = &call.args;
    let limit = match arg_u64(args, "limit") {
        Ok(None) => 100,
        Ok(Some(l)) if (1..=1000).contains(&l) => l as usize,
        _ => return fail("invalid_limit"),
    };
    let after = match arg_str(args, "cursor") {
        None => 0,
        Some(c) => match decode_user_cursor(c) {
            Some(after) => after,
            None => return fail("invalid_cursor"),
        },
    };
    let teams: Vec<Value> = slack
        .workspaces
        .iter()
        .enumerate()
        .skip(after)
        .take(limit)
        .map(|(i, id)| {
            json!({"id": id, "name": format!("Workspace {}", i + 1), "discoverability": "invite_only", "primary_owner": {}, "team_url": format!("https://workspace-{}.slack.com/", i + 1)})
        })
        .collect();
    let end = after + teams.len();
    let mut body = Map::new();
    body.insert("teams".into(), Value::Array(teams));
    body.insert(
        "response_metadata".into(),
        json!({"next_cursor": if end < slack.workspaces.len() { encode_user_cursor(end) } else { String::new() }}),
    );
    ok(body, call)
}
