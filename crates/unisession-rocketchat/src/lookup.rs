//! Looking people up by email, and confirming a user exists before a revocation by
//! id: what each answer proves and what it does not.

use std::sync::atomic::Ordering;

use unisession_core::{Email, Error, ErrorKind, Operation, Result, UserId, UserLookup, UserRef};
use unisession_http::Method;

use crate::errors::error_for;
use crate::provider::{
    LOOKUP_INFO, LOOKUP_LEGACY_LIST, ME, PERMISSIONS, RocketChatProvider, USERS_INFO, USERS_LIST,
    VIEW_FULL_INFO, VISIBILITY_FULL, VISIBILITY_LIMITED, failure_of,
};
use crate::wire;

impl RocketChatProvider {
    /// Whether the caller sees every user's emails (`view-full-other-user-info`
    /// through one of its roles): `GET me` and `GET permissions.listAll`, once.
    pub(crate) async fn sees_all_emails(&self) -> Result<bool> {
        match self.visibility.load(Ordering::Relaxed) {
            VISIBILITY_FULL => return Ok(true),
            VISIBILITY_LIMITED => return Ok(false),
            _ => {}
        }
        let me: wire::Me = {
            let response = self.send(|| self.http.request(Method::GET, ME)).await?;
            self.decode(&response)?
        };
        let permissions: wire::Permissions = {
            let response = self
                .send(|| self.http.request(Method::GET, PERMISSIONS))
                .await?;
            self.decode(&response)?
        };
        let full = permissions
            .update
            .iter()
            .filter(|p| p.id == VIEW_FULL_INFO)
            .any(|p| p.roles.iter().any(|r| me.roles.contains(r)));
        let value = if full {
            VISIBILITY_FULL
        } else {
            VISIBILITY_LIMITED
        };
        self.visibility.store(value, Ordering::Relaxed);
        Ok(full)
    }

    /// Confirms that `user` exists before a revocation by id: `users.logout` answers
    /// 200 "User X has been logged out!" for any id (`Users.unsetLoginTokens` is an
    /// `updateOne`, always truthy), and listing an unknown user's sessions shows
    /// none. `users.info?userId=` answers "User not found." for ids nobody has. Ids
    /// this adapter's own lookups answered are known and not asked again.
    pub(crate) async fn confirm_user(&self, user: &UserId) -> Result<()> {
        if self.known.contains(user.as_str()) {
            return Ok(());
        }
        let response = self
            .send(|| {
                self.http
                    .request(Method::GET, USERS_INFO)
                    .query("userId", user.as_str())
            })
            .await?;
        if response.status() == 400
            && failure_of(&response).error.as_deref() == Some("User not found.")
        {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!("Rocket.Chat has no user with id {user} (users.info answered \"User not found.\")"),
            )
            .with_status(400));
        }
        let info: wire::UserInfo = self.decode(&response)?;
        if info.user.id != user.as_str() {
            return Err(Error::new(
                ErrorKind::IdentityMismatch,
                format!(
                    "users.info?userId={user} answered with user {}: the server ignored the filter, so nothing was done",
                    info.user.id
                ),
            ));
        }
        self.known.remember(user.as_str());
        Ok(())
    }

    /// Servers before 8.4: `users.list?query={"emails.address": …}`. From 7.0 the
    /// server ignores `query` unless `ALLOW_UNSAFE_QUERY_AND_FIELDS_API_PARAMS` is set,
    /// and before 7.0 it drops the key for callers without `view-full-other-user-info`
    /// (`apps/meteor/app/api/server/helpers/parseJsonQuery.ts`): either way it answers
    /// the first page of everybody. So only two answers prove anything: a record
    /// carrying the email (the person), or no user at all (an ignored filter would
    /// have listed at least the caller). Anything else cannot prove absence.
    pub(crate) async fn find_by_legacy_list(&self, email: &Email) -> Result<UserLookup> {
        let query = serde_json::json!({"emails.address": email.as_str()}).to_string();
        let response = self
            .send(|| {
                self.http
                    .request(Method::GET, USERS_LIST)
                    .query("query", query.clone())
            })
            .await?;
        if response.status() == 400 {
            let error = error_for(400, response.body(), false);
            if error.kind() == ErrorKind::InvalidInput {
                return Err(Error::unsupported(
                    Operation::FindUser,
                    "this Rocket.Chat server cannot look users up by email: users.info?email= needs 8.4, and users.list refuses query",
                ));
            }
            return Err(error);
        }
        let list: wire::UserList = self.decode(&response)?;
        if let Some(user) = list
            .users
            .into_iter()
            .find(|u| u.emails.iter().any(|e| email.matches(&e.address)))
        {
            return Ok(UserLookup::Found(user_ref(user, Some(email))));
        }
        if list.total == Some(0) {
            return Ok(UserLookup::not_found(
                "users.list?query={\"emails.address\":…} answered no user at all (a server ignoring the filter lists at least the caller)",
            ));
        }
        Err(Error::unsupported(
            Operation::FindUser,
            "this Rocket.Chat server ignored the email filter of users.list (from 7.0 `query` is ignored unless ALLOW_UNSAFE_QUERY_AND_FIELDS_API_PARAMS is set; before 7.0 it is dropped without view-full-other-user-info), so its answer cannot prove the person absent: upgrade to 8.4 (users.info?email=), set the variable, or give the person's Rocket.Chat user id",
        ))
    }
}

/// The user as a [`UserRef`]; its email is the address that matched `email`, or the
/// first one when no lookup is behind it.
pub(crate) fn user_ref(user: wire::User, email: Option<&Email>) -> UserRef {
    let address = match email {
        Some(email) => user.emails.iter().find(|e| email.matches(&e.address)),
        None => user.emails.first(),
    }
    .map(|e| e.address.clone());
    let mut found = UserRef::new(UserId::new(user.id));
    found.email = address;
    found.name = user.name.or(user.username);
    found.active = user.active;
    found
}

impl RocketChatProvider {
    pub(crate) async fn lookup(&self, email: &Email) -> Result<UserLookup> {
        if self.lookup.load(Ordering::Relaxed) == LOOKUP_LEGACY_LIST {
            return self.find_by_legacy_list(email).await;
        }
        let response = self
            .send(|| {
                self.http
                    .request(Method::GET, USERS_INFO)
                    .query("email", email.as_str())
            })
            .await?;
        if response.status() == 400 {
            let error = error_for(400, response.body(), false);
            match (error.kind(), error.code()) {
                (ErrorKind::NotFound, _) => {
                    self.lookup.store(LOOKUP_INFO, Ordering::Relaxed);
                    if self.sees_all_emails().await? {
                        return Ok(UserLookup::not_found(
                            "users.info?email= answered \"User not found.\" to a caller holding view-full-other-user-info",
                        ));
                    }
                    return Err(Error::new(
                        ErrorKind::PermissionDenied,
                        "Rocket.Chat answers \"User not found.\" to users.info?email= for every other user when the caller lacks view-full-other-user-info, so this proves nothing: grant the permission or give the person's Rocket.Chat user id",
                    )
                    .with_code(VIEW_FULL_INFO));
                }
                (_, Some("invalid-params")) => {
                    self.lookup.store(LOOKUP_LEGACY_LIST, Ordering::Relaxed);
                    return self.find_by_legacy_list(email).await;
                }
                _ => return Err(error),
            }
        }
        let info: wire::UserInfo = self.decode(&response)?;
        self.lookup.store(LOOKUP_INFO, Ordering::Relaxed);
        let addresses: Vec<&str> = info
            .user
            .emails
            .iter()
            .map(|e| e.address.as_str())
            .collect();
        email.confirm(
            addresses,
            "users.info?email=",
            &UserId::new(info.user.id.clone()),
        )?;
        Ok(UserLookup::Found(user_ref(info.user, Some(email))))
    }
}
