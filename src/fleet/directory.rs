//! Resolving many people in one provider: one lookup per person, or one scan of the
//! provider's directory, whichever its published rate limits make cheaper.
//!
//! A lookup costs one call of `find_user`; a scan costs one call of `list_users` per
//! page, for everybody at once. Each call is weighed by the time its published limit
//! gives it ([`Capabilities::seconds_per_call`]), so the scan is allowed as many pages
//! as the lookups would take time. Where the first page gives the directory's size,
//! the choice is made there; otherwise the scan stops when it has spent its allowance.
//!
//! What a scan proves: an active account carrying the address is the person (the
//! identity echo holds by construction). That nobody has the address is proven only
//! by a scan that read every page, saw one unchanging total (and as many accounts as
//! it), and saw an address on every active account: otherwise the people it did not
//! find are looked up one by one. On offset pages (those that give a total) an
//! address seen nowhere is looked up all the same, since such pages skip an account
//! when one is added and another removed between two of them. Two active accounts carrying one address, or one account matched by two
//! people of the run, are errors for those people, never a guess.

use std::collections::{BTreeSet, HashMap};
use std::time::Instant;

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use unisession_core::telemetry::track_retries;
use unisession_core::{
    Account, AccountStatus, Email, Error, ErrorKind, ListQuery, Operation, UserId,
};

use super::audit::{AuditOperation, AuditOutcome};
use super::{AuditRecord, Entry, Fleet, Resolved, Subject};

/// How the people of a many-person run were (or would be) resolved in one provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ResolutionPlan {
    /// The provider.
    pub provider: String,
    /// People to find by email (those given with an id for this provider need none).
    pub people: usize,
    /// The way chosen.
    pub way: ResolveWay,
    /// What one lookup per person costs, in calls.
    pub lookup_calls: u64,
    /// What the scan costs in calls: the pages read once it ran, or the estimate.
    pub scan_calls: Option<u64>,
    /// The least time the chosen way takes under the published limits, in
    /// milliseconds (`None` where the provider publishes none).
    pub minimum_ms: Option<u64>,
    /// Why, in words.
    pub reason: String,
    /// People the scan did not settle, then looked up one by one.
    pub fell_back: usize,
}

/// The ways to resolve people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ResolveWay {
    /// One `find_user` per person.
    Lookups,
    /// One paged `list_users` of the whole directory.
    Scan,
    /// Nobody to look for.
    Nothing,
}

impl ResolveWay {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Lookups => "lookups",
            Self::Scan => "scan",
            Self::Nothing => "nothing",
        }
    }
}

/// What a scan of the directory found for the addresses looked for.
#[derive(Default)]
pub(super) struct Scan {
    /// By lower-cased address: the accounts carrying it.
    pub(super) matches: HashMap<String, Vec<Account>>,
    /// Every page was read, under one total.
    pub(super) complete: bool,
    /// Active accounts without a visible address.
    pub(super) blind: u64,
    pub(super) pages: u64,
    pub(super) accounts: u64,
    /// Why it stopped early.
    pub(super) cut: Option<String>,
    /// The pages gave a total: offset pages, which skip an account when one is
    /// added and another removed between two pages (the total unchanged).
    pub(super) offset_paged: bool,
    /// The error that stopped it, if one did.
    pub(super) error: Option<Error>,
}

impl Scan {
    /// Whether the scan proves that an address it did not find belongs to nobody.
    pub(super) fn proves_absence(&self) -> bool {
        self.complete && self.blind == 0
    }
}

fn ms(seconds: f64) -> u64 {
    (seconds * 1000.0).round() as u64
}

/// The cost weights of the two ways.
struct Costs {
    lookup: f64,
    page: f64,
    published: bool,
}

fn costs(entry: &Entry) -> Costs {
    let caps = entry.provider.capabilities();
    let lookup = caps.seconds_per_call(Operation::FindUser);
    let page = caps.seconds_per_call(Operation::ListUsers);
    Costs {
        lookup: lookup.unwrap_or(1.0),
        page: page.unwrap_or(1.0),
        published: lookup.is_some() && page.is_some(),
    }
}

/// Where the planner starts for `n` people to find by email in one provider: the
/// plan of one lookup each (or of nothing, for nobody), the scan's page allowance
/// (the pages that cost as much time as the lookups), and whether a scan is worth
/// trying at all (`false` with the plan's reason set when it is not).
fn start(entry: &Entry, n: u64) -> (ResolutionPlan, Costs, u64, bool) {
    let caps = entry.provider.capabilities();
    let costs = costs(entry);
    let budget = if caps.find_user_by_email {
        (n as f64 * costs.lookup / costs.page).floor() as u64
    } else {
        u64::MAX
    };
    let mut plan = ResolutionPlan {
        provider: entry.name.clone(),
        people: n as usize,
        way: ResolveWay::Lookups,
        lookup_calls: n,
        scan_calls: None,
        minimum_ms: costs.published.then(|| ms(n as f64 * costs.lookup)),
        reason: String::new(),
        fell_back: 0,
    };
    let scan = if n == 0 {
        plan.way = ResolveWay::Nothing;
        plan.minimum_ms = None;
        plan.reason = "nobody to find by email".to_owned();
        false
    } else if !caps.list_users {
        plan.reason = format!("{} cannot list its directory", entry.name);
        false
    } else if budget == 0 || (n < 2 && caps.find_user_by_email) {
        plan.reason = format!(
            "{n} lookup(s) cost less than one page of the directory under {}'s limits",
            entry.name
        );
        false
    } else {
        true
    };
    (plan, costs, budget, scan)
}

impl Fleet {
    /// Reads the directory, keeping the accounts that carry one of `wanted` (every
    /// account when `wanted` is `None`, for an incident-wide logout). Stops after
    /// `budget` pages, at the first failed page, or when the total changes.
    pub(super) async fn scan_directory(
        &self,
        entry: &Entry,
        wanted: Option<&BTreeSet<String>>,
        budget: u64,
        mut keep: impl FnMut(&Account),
    ) -> Scan {
        let provider = entry.provider.as_ref();
        let mut query = ListQuery::new();
        if let Some(size) = provider.capabilities().max_users_page {
            query = query.with_limit(size);
        }
        let mut scan = Scan::default();
        let mut first_total = None;
        loop {
            let page = tokio::time::timeout(
                self.deadline,
                self.with_retries(|| provider.list_users(&query)),
            )
            .await
            .unwrap_or_else(|_| Err(self.past_deadline(entry, "a page of the directory")));
            let page = match page {
                Ok(page) => page,
                Err(e) => {
                    scan.cut = Some(format!("page {} failed: {e}", scan.pages + 1));
                    scan.error = Some(e);
                    return scan;
                }
            };
            scan.pages += 1;
            if scan.pages == 1 {
                first_total = page.total;
                scan.offset_paged = page.total.is_some();
            }
            for account in &page.items {
                scan.accounts += 1;
                if account.status == AccountStatus::Active && account.user.email.is_none() {
                    scan.blind += 1;
                }
                keep(account);
                for address in account.emails() {
                    let address = address.trim().to_lowercase();
                    if wanted.is_none_or(|w| w.contains(&address)) {
                        scan.matches
                            .entry(address)
                            .or_default()
                            .push(account.clone());
                    }
                }
            }
            if scan.pages > 1 && page.total != first_total {
                // Offset pages skip accounts when the directory changes under them.
                scan.cut = Some(format!(
                    "the directory changed during the scan (its total went from {} to {})",
                    first_total.map_or("none".to_owned(), |t| t.to_string()),
                    page.total.map_or("none".to_owned(), |t| t.to_string())
                ));
                return scan;
            }
            let Some(cursor) = page.next_cursor else {
                if let Some(total) = first_total.filter(|t| scan.accounts < *t) {
                    scan.cut = Some(format!(
                        "the directory counts {total} accounts but its pages held {}",
                        scan.accounts
                    ));
                    return scan;
                }
                scan.complete = true;
                return scan;
            };
            let pages_in_all = match (first_total, query.limit) {
                (Some(total), Some(size)) if size > 0 => total.div_ceil(u64::from(size)),
                _ => 0,
            };
            if pages_in_all > budget {
                scan.cut = Some(format!(
                    "the directory holds {} accounts: its {pages_in_all} pages cost more than the lookups",
                    first_total.unwrap_or_default()
                ));
                return scan;
            }
            if scan.pages >= budget {
                scan.cut = Some(format!(
                    "stopped after {} pages: more would cost more than the lookups",
                    scan.pages
                ));
                return scan;
            }
            query = query.with_cursor(Some(cursor));
        }
    }

    /// Resolves `subjects` in one provider, the cheaper way (see the module docs).
    /// Each person's result comes with the retries it took and when its resolution
    /// started.
    pub(super) async fn resolve_many<'s>(
        &self,
        entry: &Entry,
        subjects: &[&'s Subject],
        concurrency: usize,
    ) -> (Vec<(&'s Subject, Resolved, u32, Instant)>, ResolutionPlan) {
        let started = Instant::now();
        let caps = entry.provider.capabilities().clone();
        // People a scan could find: no id for this provider, a well-formed email.
        let mut by_email: Vec<(&'s Subject, Email)> = Vec::new();
        let mut direct: Vec<&'s Subject> = Vec::new();
        for subject in subjects {
            match (&subject.email, subject.ids.contains_key(&entry.name)) {
                (Some(address), false) => match Email::parse(address) {
                    Ok(email) => by_email.push((subject, email)),
                    Err(_) => direct.push(subject),
                },
                _ => direct.push(subject),
            }
        }
        let n = by_email.len() as u64;
        let (mut plan, costs, budget, scan_worth_it) = start(entry, n);
        let mut results = Vec::with_capacity(subjects.len());
        let mut look_up: Vec<&'s Subject> = direct;
        if !scan_worth_it {
            look_up.extend(by_email.iter().map(|(s, _)| *s));
        } else {
            plan.way = ResolveWay::Scan;
            let wanted: BTreeSet<String> = by_email.iter().map(|(_, e)| e.normalized()).collect();
            let (scan, retries) =
                track_retries(self.scan_directory(entry, Some(&wanted), budget, |_| {})).await;
            plan.scan_calls = Some(scan.pages);
            plan.minimum_ms = costs.published.then(|| ms(scan.pages as f64 * costs.page));
            let summary = format!(
                "{} page(s) of {}'s directory, {} account(s)",
                scan.pages, entry.name, scan.accounts
            );
            let mut record = AuditRecord::new(
                &entry.name,
                AuditOperation::ListUsers,
                &format!("{n} people"),
                match (&scan.error, scan.complete) {
                    (Some(_), _) => AuditOutcome::Failed,
                    (None, true) => AuditOutcome::Listed,
                    (None, false) => AuditOutcome::PerPerson,
                },
            );
            record.evidence = Some(match &scan.cut {
                Some(why) => format!("{summary}; cut short: {why}"),
                None if scan.blind > 0 => format!(
                    "{summary}; {} active account(s) without a visible address, so absence is not proven",
                    scan.blind
                ),
                None => format!("{summary}, complete"),
            });
            self.audit(record, None, scan.error.as_ref(), retries);
            plan.reason = match &scan.cut {
                Some(why) => format!("scan of the directory, cut short ({why})"),
                None => format!(
                    "one scan of the directory ({} page(s)) costs less than {n} lookups",
                    scan.pages
                ),
            };
            let mut settled: Vec<(&'s Subject, Resolved)> = Vec::new();
            for (subject, email) in &by_email {
                let accounts = scan.matches.get(&email.normalized());
                let mut active: Vec<&Account> = accounts
                    .into_iter()
                    .flatten()
                    .filter(|a| a.is_person() && a.emails().any(|e| email.matches(e)))
                    .collect();
                active.sort_by(|a, b| a.user.id.cmp(&b.user.id));
                active.dedup_by(|a, b| a.user.id == b.user.id);
                match active.as_slice() {
                    [one] => settled.push((subject, Resolved::User(one.user.id.clone()))),
                    // Seen nowhere on offset pages: a lookup confirms it (those pages
                    // can skip an account when the directory changes under them).
                    [] if accounts.is_none() && scan.offset_paged && caps.find_user_by_email => {
                        look_up.push(subject)
                    }
                    [] if scan.proves_absence() => {
                        let others: BTreeSet<&str> = accounts
                            .into_iter()
                            .flatten()
                            .map(|a| a.status.as_str())
                            .collect();
                        let evidence = if others.is_empty() {
                            format!(
                                "a complete scan ({summary}) holds no account with this address"
                            )
                        } else {
                            format!(
                                "a complete scan ({summary}) holds no active account with this address, only: {}",
                                others.into_iter().collect::<Vec<_>>().join(", ")
                            )
                        };
                        settled.push((subject, Resolved::NotFound(evidence)));
                    }
                    [] => look_up.push(subject),
                    many => {
                        let ids: Vec<&str> = many.iter().map(|a| a.user.id.as_str()).collect();
                        let e = Error::new(
                            ErrorKind::IdentityMismatch,
                            format!(
                                "{} active accounts of {} carry this address ({}): which one is the person cannot be told, so nothing was done",
                                ids.len(),
                                entry.name,
                                ids.join(", ")
                            ),
                        )
                        .with_code("ambiguous")
                        .with_provider(entry.name.clone());
                        settled.push((subject, Resolved::Failed(e)));
                    }
                }
            }
            for (subject, resolved) in settled {
                self.audit_resolution(entry, subject, &resolved);
                results.push((subject, resolved, 0, started));
            }
            plan.fell_back = look_up
                .iter()
                .filter(|s| s.email.is_some() && !s.ids.contains_key(&entry.name))
                .count();
        }
        let rest: Vec<(&'s Subject, Resolved, u32, Instant)> = futures::stream::iter(look_up)
            .map(|subject| async move {
                let started = Instant::now();
                let (resolved, retries) = track_retries(async {
                    tokio::time::timeout(self.deadline, self.resolve(entry, subject))
                        .await
                        .unwrap_or_else(|_| {
                            Resolved::Failed(self.past_deadline(entry, "the lookup"))
                        })
                })
                .await;
                (subject, resolved, retries, started)
            })
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await;
        if plan.fell_back > 0 && costs.published {
            plan.minimum_ms =
                Some(plan.minimum_ms.unwrap_or(0) + ms(plan.fell_back as f64 * costs.lookup));
        }
        results.extend(rest);
        // One account for two people of the run (two addresses of one account, or one
        // id given twice): which of them is meant cannot be told, so neither is done.
        let mut claimed: HashMap<UserId, Vec<String>> = HashMap::new();
        for (subject, resolved, ..) in &results {
            if let Resolved::User(id) = resolved {
                claimed.entry(id.clone()).or_default().push(subject.key());
            }
        }
        for (_, resolved, ..) in &mut results {
            let Resolved::User(id) = resolved else {
                continue;
            };
            let Some(people) = claimed.get(id).filter(|p| p.len() > 1) else {
                continue;
            };
            let e = Error::new(
                ErrorKind::IdentityMismatch,
                format!(
                    "account {id} of {} is the account of {} people of this run ({}): nothing was done for them",
                    entry.name,
                    people.len(),
                    people.join(", ")
                ),
            )
            .with_code("ambiguous")
            .with_provider(entry.name.clone());
            *resolved = Resolved::Failed(e);
        }
        (results, plan)
    }

    /// The audit record of a person resolved by a scan.
    fn audit_resolution(&self, entry: &Entry, subject: &Subject, resolved: &Resolved) {
        let key = subject.key();
        let record =
            |outcome| AuditRecord::new(&entry.name, AuditOperation::FindUser, &key, outcome);
        match resolved {
            Resolved::User(id) => {
                let mut r = record(AuditOutcome::Found);
                r.evidence = Some("found by a scan of the directory".to_owned());
                self.audit(r, Some(id), None, 0);
            }
            Resolved::NotFound(evidence) => {
                let mut r = record(AuditOutcome::NotFound);
                r.evidence = Some(evidence.clone());
                self.audit(r, None, None, 0);
            }
            Resolved::Failed(e) => self.audit(record(AuditOutcome::Failed), None, Some(e), 0),
            Resolved::Unsupported(_) => {}
        }
    }

    /// What resolving `subjects` would cost in each provider, without resolving
    /// anybody: the way the planner would choose and its calls. Where the directory
    /// gives its size on the first page, that page is read (one call) to know the
    /// scan's cost; otherwise the scan's cost is given as its allowance.
    pub async fn plan_resolution(&self, subjects: &[Subject]) -> Vec<ResolutionPlan> {
        let mut plans = Vec::new();
        for entry in &self.entries {
            let caps = entry.provider.capabilities().clone();
            let n = subjects
                .iter()
                .filter(|s| {
                    !s.ids.contains_key(&entry.name)
                        && s.email.as_deref().is_some_and(|e| Email::parse(e).is_ok())
                })
                .count() as u64;
            let (mut plan, costs, budget, scan_worth_it) = start(entry, n);
            if scan_worth_it {
                let mut query = ListQuery::new();
                if let Some(size) = caps.max_users_page {
                    query = query.with_limit(size);
                }
                let first = self
                    .with_retries(|| entry.provider.list_users(&query))
                    .await;
                let pages = match (&first, query.limit) {
                    (Ok(page), Some(size)) if page.total.is_some() => {
                        page.total.map(|t| t.div_ceil(u64::from(size)).max(1))
                    }
                    (Ok(page), _) if page.next_cursor.is_none() => Some(1),
                    _ => None,
                };
                match pages {
                    Some(pages) if pages <= budget => {
                        plan.way = ResolveWay::Scan;
                        plan.scan_calls = Some(pages);
                        plan.minimum_ms = costs.published.then(|| ms(pages as f64 * costs.page));
                        plan.reason =
                            format!("{pages} page(s) of the directory cost less than {n} lookups");
                    }
                    Some(pages) => {
                        plan.scan_calls = Some(pages);
                        plan.reason =
                            format!("{n} lookups cost less than the directory's {pages} pages");
                    }
                    None => {
                        plan.way = ResolveWay::Scan;
                        plan.scan_calls = Some(budget.min(n));
                        plan.minimum_ms = None;
                        plan.reason = match &first {
                            Err(e) => format!(
                                "a scan, if the directory can be read (its first page failed: {e}); at most {budget} pages before the lookups are cheaper"
                            ),
                            Ok(_) => format!(
                                "a scan of at most {budget} pages (the directory does not give its size), then lookups for anyone not settled"
                            ),
                        };
                    }
                }
            }
            plans.push(plan);
        }
        plans
    }
}
