//! The directory: `users.list` one workspace at a time, the workspaces from
//! `admin.teams.list` (or the configured `team_id`), and the token's own account.
//!
//! With an org-level token `users.list` needs `team_id` ("required if org token is
//! used"), so listing an organisation walks its workspaces; a member of several
//! appears in each under the same id. The listing includes deactivated
//! (`deleted`), invited (`is_invited_user`) and bot members, each marked so; a member's
//! `profile.email` is there only with `users:read.email`.

use unisession_core::{
    Account, AccountStatus, Cursor, Error, ErrorKind, ListQuery, Operation, Page, Result, UserId,
    UserRef,
};

use crate::SlackProvider;
use crate::config::Tier;
use crate::wire;

/// The page size asked for when the query names none (Slack recommends 100–200).
const DEFAULT_USERS_PAGE: u32 = 200;

/// A position in the walk: the workspace's index, and Slack's cursor within it.
fn parse_cursor(cursor: &Cursor) -> Option<(usize, Option<String>)> {
    let (index, rest) = cursor.as_str().split_once(':')?;
    let index = index.parse().ok()?;
    Some((index, (!rest.is_empty()).then(|| rest.to_owned())))
}

fn member_account(member: wire::Member) -> Account {
    let status = if member.deleted.unwrap_or(false) {
        AccountStatus::Deactivated
    } else if member.is_bot.unwrap_or(false)
        || member.is_app_user.unwrap_or(false)
        || member.id == "USLACKBOT"
    {
        AccountStatus::Bot
    } else if member.is_invited_user.unwrap_or(false) {
        AccountStatus::Invited
    } else {
        AccountStatus::Active
    };
    let profile = member.profile.unwrap_or(wire::Profile {
        email: None,
        real_name: None,
    });
    let mut user =
        UserRef::new(UserId::new(member.id)).with_active(status == AccountStatus::Active);
    user.email = profile.email.filter(|e| !e.trim().is_empty());
    user.name = member.real_name.or(profile.real_name);
    Account::new(user, status)
}

impl SlackProvider {
    /// The workspaces to list: the configured one, or every workspace of the
    /// organisation (`admin.teams.list`, Tier 3, `admin.teams:read`), read once.
    async fn workspaces(&self) -> Result<Vec<String>> {
        if let Some(team) = &self.team_id {
            return Ok(vec![team.clone()]);
        }
        if let Some(teams) = self
            .workspaces
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
        {
            return Ok(teams);
        }
        let mut teams = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut form = vec![("limit", "100".to_owned())];
            if let Some(c) = &cursor {
                form.push(("cursor", c.clone()));
            }
            let (envelope, list): (_, wire::TeamsList) =
                self.call_ok("admin.teams.list", Tier::Three, &form).await?;
            teams.extend(list.teams.into_iter().map(|t| t.id));
            cursor = envelope
                .response_metadata
                .and_then(|m| m.next_cursor)
                .filter(|c| !c.is_empty());
            if cursor.is_none() {
                break;
            }
        }
        if teams.is_empty() {
            return Err(Error::new(
                ErrorKind::Provider,
                "admin.teams.list named no workspace, so the directory cannot be listed",
            ));
        }
        *self.workspaces.lock().unwrap_or_else(|p| p.into_inner()) = Some(teams.clone());
        Ok(teams)
    }

    /// One page of `users.list` in the walk over the workspaces.
    pub(crate) async fn users_page(&self, query: &ListQuery) -> Result<Page<Account>> {
        let op = Some(Operation::ListUsers);
        let (index, cursor) = match &query.cursor {
            None => (0, None),
            Some(c) => parse_cursor(c).ok_or_else(|| {
                self.fail(
                    Error::invalid_input("not a cursor of this provider's user listing"),
                    op,
                )
            })?,
        };
        let teams = self.workspaces().await.map_err(|e| self.fail(e, op))?;
        let Some(team) = teams.get(index) else {
            return Err(self.fail(
                Error::invalid_input("not a cursor of this provider's user listing"),
                op,
            ));
        };
        let limit = query.limit.unwrap_or(DEFAULT_USERS_PAGE).clamp(1, 1000);
        let mut form = vec![("limit", limit.to_string()), ("team_id", team.clone())];
        if let Some(c) = cursor {
            form.push(("cursor", c));
        }
        let (envelope, list): (_, wire::UsersList) = self
            .call_ok("users.list", Tier::Two, &form)
            .await
            .map_err(|e| self.fail(e, op))?;
        if list.members.iter().any(|m| m.id.trim().is_empty()) {
            return Err(self.fail(
                Error::new(
                    ErrorKind::Decode,
                    "users.list answered a member without an id",
                ),
                op,
            ));
        }
        let items: Vec<Account> = list.members.into_iter().map(member_account).collect();
        let next = envelope
            .response_metadata
            .and_then(|m| m.next_cursor)
            .filter(|c| !c.is_empty());
        let next = match next {
            Some(c) => Some(Cursor::new(format!("{index}:{c}"))),
            None if index + 1 < teams.len() => Some(Cursor::new(format!("{}:", index + 1))),
            None => None,
        };
        Ok(Page::new(items, next))
    }

    /// The token's own user (`auth.test`).
    pub(crate) async fn own_user(&self) -> Result<UserId> {
        let op = Some(Operation::CurrentUser);
        let me = self.whoami().await.map_err(|e| self.fail(e, op))?;
        me.user_id
            .filter(|id| !id.trim().is_empty())
            .map(UserId::new)
            .ok_or_else(|| {
                self.fail(
                    Error::new(ErrorKind::Decode, "auth.test named no user_id"),
                    op,
                )
            })
    }
}
