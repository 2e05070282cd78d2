//! The directory: `GET users.list` paged by `offset`/`count` (≤ 100, with `total`),
//! and the credential's own id.
//!
//! `users.list` (`apps/meteor/app/api/server/v1/users.ts`) lists every user,
//! deactivated ones (`active: false`) and bots and apps (`type`) included. Its
//! default projection carries `emails` only for a caller holding
//! `view-full-other-user-info` (`parseJsonQuery.ts` merges the limited-user
//! exclusions otherwise), so without it every account comes back without an
//! address: such a listing proves nobody absent. No `fields` or `query` is sent: from
//! 7.0 they are honoured only with `ALLOW_UNSAFE_QUERY_AND_FIELDS_API_PARAMS`, and
//! the default projection already carries what is needed.

use unisession_core::{
    Account, AccountStatus, Cursor, Error, ListQuery, Operation, Page, Result, UserId,
};
use unisession_http::Method;

use crate::provider::{MAX_COUNT, RocketChatProvider, USERS_LIST};
use crate::wire;

fn account(user: wire::User) -> Account {
    let status = match (user.active, user.kind.as_deref()) {
        (Some(false), _) => AccountStatus::Deactivated,
        (_, Some("bot" | "app")) => AccountStatus::Bot,
        _ => AccountStatus::Active,
    };
    let mut emails = user
        .emails
        .iter()
        .map(|e| e.address.trim().to_owned())
        .filter(|e| !e.is_empty());
    let first = emails.next();
    let others: Vec<String> = emails.collect();
    let mut found = crate::lookup::user_ref(user, None);
    found.email = first;
    Account::new(found, status).with_other_emails(others)
}

impl RocketChatProvider {
    /// One page of `users.list`; the cursor is the offset of the next page.
    pub(crate) async fn users_page(&self, query: &ListQuery) -> Result<Page<Account>> {
        let op = Operation::ListUsers;
        let offset: u64 = match &query.cursor {
            None => 0,
            Some(c) => c.as_str().parse().map_err(|_| {
                self.fail(
                    Error::invalid_input("not a cursor of this provider's user listing"),
                    op,
                )
            })?,
        };
        let count = query.limit.unwrap_or(MAX_COUNT).clamp(1, MAX_COUNT);
        let response = self
            .send(|| {
                self.http
                    .request(Method::GET, USERS_LIST)
                    .query("count", count.to_string())
                    .query("offset", offset.to_string())
            })
            .await
            .map_err(|e| self.fail(e, op))?;
        let list: wire::UserList = self.decode(&response).map_err(|e| self.fail(e, op))?;
        let served = list.users.len() as u64;
        let items: Vec<Account> = list.users.into_iter().map(account).collect();
        let next = offset + served;
        let more = match list.total {
            Some(total) => next < total && served > 0,
            // Without a total, a full page may have a successor.
            None => served == u64::from(count),
        };
        let mut page = Page::new(items, more.then(|| Cursor::new(next.to_string())));
        if let Some(total) = list.total {
            page = page.with_total(total);
        }
        Ok(page)
    }

    /// The credential's user id (the token's `X-User-Id`, or the login's answer).
    pub(crate) async fn own_user(&self) -> Result<UserId> {
        let (user_id, _) = self
            .credentials()
            .await
            .map_err(|e| self.fail(e, Operation::CurrentUser))?;
        Ok(UserId::new(user_id))
    }
}
