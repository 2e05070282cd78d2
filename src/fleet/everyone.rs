//! The incident-wide logout: every person of a provider, but the kept accounts.
//!
//! [`Fleet::everyone`] reads each named provider's whole directory (every page, under
//! one total, or it refuses) and names who would be logged out: every active person,
//! except the credential's own account and the accounts of the except list (emails
//! or ids). [`Fleet::revoke_everyone`] then runs them like
//! [`Fleet::offboard_many`]: native bulk calls where they exist, journaled, verified.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};
use unisession_core::{Account, Email, Error, ErrorKind, Operation, UserId};

use super::directory::Scan;
use super::{Fleet, JournalError, ManyReport, OffboardOptions, Subject};

/// Who an incident-wide logout would end in each provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EveryonePlan {
    /// One part per provider, in the order given.
    pub providers: Vec<ProviderEveryone>,
}

/// One provider's part of an [`EveryonePlan`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ProviderEveryone {
    /// The provider.
    pub provider: String,
    /// The people to log out.
    pub targets: Vec<Account>,
    /// Accounts kept, with why.
    pub kept: Vec<KeptAccount>,
    /// Accounts that are not people who can sign in, by status (deactivated,
    /// invited, bot): left alone.
    pub not_people: BTreeMap<String, usize>,
    /// Except-list entries no account of this provider matches.
    pub unmatched_except: Vec<String>,
    /// Calls the directory listing cost.
    pub directory_calls: u64,
    /// Calls the revocations will cost (bulk calls, or one per person).
    pub revocation_calls: u64,
    /// The least time the revocations take under the published limits, in
    /// milliseconds (`None` where none is published).
    pub minimum_ms: Option<u64>,
}

/// An account an incident-wide logout keeps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct KeptAccount {
    /// The account.
    pub account: Account,
    /// Why: `the credential's own account`, or the except-list entry.
    pub reason: String,
}

impl EveryonePlan {
    /// People to log out, in all.
    pub fn count(&self) -> usize {
        self.providers.iter().map(|p| p.targets.len()).sum()
    }

    /// Except-list entries that match no account in any of the providers: likely a
    /// typo, which would leave that account to be logged out.
    pub fn unmatched_everywhere(&self) -> Vec<&str> {
        let Some(first) = self.providers.first() else {
            return Vec::new();
        };
        first
            .unmatched_except
            .iter()
            .filter(|x| {
                self.providers
                    .iter()
                    .all(|p| p.unmatched_except.contains(x))
            })
            .map(String::as_str)
            .collect()
    }

    /// The people as subjects of a run: one per account (merged across providers by
    /// email), each naming its id in its provider. Run them with
    /// [`OffboardOptions::with_ids_only`].
    pub fn subjects(&self) -> Vec<Subject> {
        let mut subjects: Vec<Subject> = Vec::new();
        let mut by_email: BTreeMap<String, usize> = BTreeMap::new();
        for part in &self.providers {
            for account in &part.targets {
                let email = account
                    .user
                    .email
                    .as_deref()
                    .map(|e| e.trim().to_lowercase());
                let merged = email
                    .as_ref()
                    .and_then(|e| by_email.get(e))
                    .copied()
                    .filter(|&i| !subjects[i].ids.contains_key(&part.provider));
                match (merged, email) {
                    (Some(i), _) => {
                        subjects[i]
                            .ids
                            .insert(part.provider.clone(), account.user.id.clone());
                    }
                    (None, Some(email)) if !by_email.contains_key(&email) => {
                        by_email.insert(email.clone(), subjects.len());
                        subjects.push(
                            Subject::email(&email)
                                .with_id(part.provider.clone(), account.user.id.clone()),
                        );
                    }
                    // No address, or a second account of one provider with it: by id.
                    _ => subjects.push(Subject::ids([(
                        part.provider.clone(),
                        account.user.id.clone(),
                    )])),
                }
            }
        }
        subjects
    }
}

impl Fleet {
    /// Reads the directory of each provider in `providers` and names who an
    /// incident-wide logout would end: every active person but the credential's own
    /// account and the accounts `except` names (emails or ids). Nothing is revoked.
    ///
    /// Refused (with the reason) when a provider cannot list its directory or name
    /// its own account, when its directory cannot be read whole, or when `except`
    /// names people by email while some accounts show no address.
    pub async fn everyone(
        &self,
        providers: &[String],
        except: &[String],
    ) -> Result<EveryonePlan, Error> {
        let mut parts = Vec::new();
        for name in providers {
            let entry = self
                .entries
                .iter()
                .find(|e| &e.name == name)
                .ok_or_else(|| {
                    Error::invalid_input(format!("no provider named {name:?} is configured"))
                })?;
            let caps = entry.provider.capabilities().clone();
            for (needed, op) in [
                (caps.list_users, Operation::ListUsers),
                (caps.current_user, Operation::CurrentUser),
            ] {
                if !needed {
                    return Err(Error::unsupported(
                        op,
                        format!(
                            "{name} cannot {}: an incident-wide logout needs it",
                            match op {
                                Operation::ListUsers => "list its users",
                                _ => "name the credential's own account",
                            }
                        ),
                    )
                    .with_provider(name.clone()));
                }
            }
            let me = self
                .with_retries(|| entry.provider.current_user())
                .await
                .map_err(|e| e.with_provider(name.clone()))?;
            let mut accounts: Vec<Account> = Vec::new();
            let scan: Scan = self
                .scan_directory(entry, Some(&BTreeSet::new()), u64::MAX, |a| {
                    accounts.push(a.clone())
                })
                .await;
            if let Some(e) = scan.error {
                return Err(e.with_provider(name.clone()));
            }
            if !scan.complete {
                return Err(Error::new(
                    ErrorKind::Provider,
                    format!(
                        "{name}'s directory could not be read whole ({}): nobody is logged out on a partial list",
                        scan.cut.unwrap_or_default()
                    ),
                )
                .with_provider(name.clone()));
            }
            let by_email = except.iter().any(|x| x.contains('@'));
            if by_email && scan.blind > 0 {
                return Err(Error::new(
                    ErrorKind::PermissionDenied,
                    format!(
                        "{name} shows no address for {} active account(s), so the except list's emails cannot be told apart there: give those people's {name} ids, or a credential that sees addresses",
                        scan.blind
                    ),
                )
                .with_provider(name.clone()));
            }
            let mut part = ProviderEveryone {
                provider: name.clone(),
                targets: Vec::new(),
                kept: Vec::new(),
                not_people: BTreeMap::new(),
                unmatched_except: Vec::new(),
                directory_calls: scan.pages,
                revocation_calls: 0,
                minimum_ms: None,
            };
            let mut matched: BTreeSet<&str> = BTreeSet::new();
            // A member of several workspaces is listed in each, maybe deactivated in
            // one and active in another: a person if any listing says so.
            let mut merged: Vec<Account> = Vec::new();
            let mut index: BTreeMap<UserId, usize> = BTreeMap::new();
            for account in accounts {
                match index.get(&account.user.id) {
                    Some(&i) => {
                        if account.is_person() && !merged[i].is_person() {
                            merged[i] = account;
                        }
                    }
                    None => {
                        index.insert(account.user.id.clone(), merged.len());
                        merged.push(account);
                    }
                }
            }
            for account in merged {
                if !account.is_person() {
                    *part
                        .not_people
                        .entry(account.status.as_str().to_owned())
                        .or_default() += 1;
                    continue;
                }
                if account.user.id == me {
                    part.kept.push(KeptAccount {
                        account,
                        reason: "the credential's own account".to_owned(),
                    });
                    continue;
                }
                let hit = except.iter().find(|x| {
                    let x = x.trim();
                    x.eq_ignore_ascii_case(account.user.id.as_str())
                        || Email::parse(x).is_ok_and(|e| account.emails().any(|a| e.matches(a)))
                });
                match hit {
                    Some(x) => {
                        matched.insert(x.as_str());
                        part.kept.push(KeptAccount {
                            account,
                            reason: format!("the except list ({})", x.trim()),
                        });
                    }
                    None => part.targets.push(account),
                }
            }
            part.unmatched_except = except
                .iter()
                .filter(|x| !matched.contains(x.as_str()))
                .cloned()
                .collect();
            let n = part.targets.len() as u64;
            let (calls, op) = match caps.bulk_revoke_users {
                Some(chunk) => (
                    n.div_ceil(chunk.max(1) as u64),
                    Operation::RevokeUsersSessions,
                ),
                None => (n, Operation::RevokeUserSessions),
            };
            part.revocation_calls = calls;
            part.minimum_ms = caps
                .seconds_per_call(op)
                .map(|s| (s * calls as f64 * 1000.0).round() as u64);
            parts.push(part);
        }
        Ok(EveryonePlan { providers: parts })
    }

    /// Logs out everyone `plan` names, like [`Fleet::offboard_many`] over
    /// [`EveryonePlan::subjects`] with ids only (no lookup anywhere): native bulk
    /// calls where they exist, verified, journaled and resumable with `journal`.
    pub async fn revoke_everyone(
        &self,
        plan: &EveryonePlan,
        journal: Option<&Path>,
        options: &OffboardOptions,
    ) -> Result<ManyReport, JournalError> {
        let subjects = plan.subjects();
        let options = options.clone().with_ids_only(true);
        self.offboard_many(&subjects, journal, &options).await
    }
}
