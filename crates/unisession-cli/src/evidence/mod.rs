//! Evidence an auditor accepts (SOC 2 CC6.2/CC6.3, ISO 27001 A.5.18): for each person
//! and provider, what was called, the outcome, how it was verified (sessions before
//! and after, or why nothing could be verified), how a "not found" was established,
//! retries and timings; who ran it, when, against which providers; and a SHA-256
//! over the audit records it summarises. One model, written twice: a self-contained
//! HTML page ([`page`]) and its JSON twin. No credential is ever part of it: the
//! configuration appears as names, kinds and base URLs, and the audit records carry
//! session ids only as fingerprints.

mod page;
pub(crate) mod trail;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Serialize;
use unisession::Verification;
use unisession::fleet::{AuditRecord, ProviderOutcome, ProviderReport, Summary};

use crate::error::CliError;
use trail::{Extract, TrailDigest};

/// The format name and version of the JSON twin.
pub(crate) const FORMAT: &str = "unisession-evidence/1";

/// The whole evidence.
#[derive(Debug, Serialize)]
pub(crate) struct Evidence {
    pub format: &'static str,
    pub generated_at: DateTime<Utc>,
    pub generated_by: Operator,
    pub source: Source,
    pub run: RunTimes,
    pub configuration: Configuration,
    pub summary: EvidenceSummary,
    pub people: Vec<Person>,
    /// Calls that served many people at once (a bulk revocation, a listing of
    /// everyone): each person's own records refer to them.
    pub shared_calls: Vec<Call>,
    pub audit: TrailDigest,
    /// What this evidence cannot show, said plainly.
    pub gaps: Vec<String>,
}

/// Who produced it, on which machine, with which tool.
#[derive(Debug, Serialize)]
pub(crate) struct Operator {
    pub user: Option<String>,
    pub host: Option<String>,
    pub tool: String,
}

impl Operator {
    pub(crate) fn current() -> Self {
        let env = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| std::env::var(n).ok().filter(|v| !v.trim().is_empty()))
        };
        let host = std::fs::read_to_string("/etc/hostname")
            .ok()
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty())
            .or_else(|| env(&["HOSTNAME", "COMPUTERNAME"]));
        Self {
            user: env(&["USER", "USERNAME", "LOGNAME"]).or_else(account_name),
            host,
            tool: format!("unisession {}", env!("CARGO_PKG_VERSION")),
        }
    }
}

/// The account running this process, from the system's user database, where the
/// environment does not say.
#[cfg(unix)]
fn account_name() -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let uid = std::fs::metadata("/proc/self").ok()?.uid().to_string();
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.get(2) == Some(&uid.as_str())).then(|| fields[0].to_owned())
    })
}

#[cfg(not(unix))]
fn account_name() -> Option<String> {
    None
}

/// The command and files the evidence comes from.
#[derive(Debug, Serialize)]
pub(crate) struct Source {
    /// `offboard`, `offboard --file` or `report`.
    pub command: String,
    pub journal: Option<String>,
}

#[derive(Debug, Serialize)]
pub(crate) struct RunTimes {
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub duration_ms: i64,
}

impl RunTimes {
    pub(crate) fn new(started_at: DateTime<Utc>, finished_at: DateTime<Utc>) -> Self {
        Self {
            started_at,
            finished_at,
            duration_ms: (finished_at - started_at).num_milliseconds(),
        }
    }
}

/// The providers, as configured: never a credential.
#[derive(Debug, Serialize)]
pub(crate) struct Configuration {
    pub file: Option<String>,
    /// `run` when read by the run itself, `report` when read later to write this.
    pub read_at: &'static str,
    pub providers: Vec<ConfiguredProvider>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct ConfiguredProvider {
    pub name: String,
    pub kind: Option<String>,
    pub base_url: Option<String>,
}

#[derive(Debug, Serialize)]
pub(crate) struct EvidenceSummary {
    pub people: usize,
    pub people_complete: usize,
    pub pairs: usize,
    pub outcomes: Summary,
    /// Every person done everywhere.
    pub complete: bool,
}

/// One person.
#[derive(Debug, Serialize)]
pub(crate) struct Person {
    pub subject: String,
    pub complete: bool,
    pub providers: Vec<Pair>,
}

/// One person in one provider.
#[derive(Debug, Serialize)]
pub(crate) struct Pair {
    pub provider: String,
    /// The person's id there.
    pub user: Option<String>,
    /// The outcome's name (`revoked`, `user_not_found`, …).
    pub outcome: &'static str,
    /// Whether this pair is done (revoked or clean and verified, or not there).
    pub done: bool,
    /// Sessions listed just before revoking, where counted.
    pub sessions_before: Option<u64>,
    /// Sessions listed afterwards: 0 when verified.
    pub sessions_after: Option<u64>,
    /// Sessions the provider said it ended, where it says.
    pub revoked: Option<u64>,
    /// How the outcome was verified, or why it could not be.
    pub verification: String,
    /// How "not found" was established: the call and the provider's answer.
    pub not_found: Option<String>,
    /// Why a provider could not do it, or what failed.
    pub reason: Option<String>,
    pub retries: u32,
    pub elapsed_ms: u64,
    /// When the outcome was recorded (journal runs).
    pub recorded_at: Option<DateTime<Utc>>,
    /// The audit records of this pair, in order.
    pub calls: Vec<Call>,
}

/// One audit record, as evidence shows it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Call {
    pub time: DateTime<Utc>,
    pub provider: String,
    pub subject: String,
    pub operation: &'static str,
    pub outcome: &'static str,
    /// How many sessions it acted on (their fingerprints are in the trail).
    pub sessions: usize,
    pub retries: u32,
    pub error: Option<String>,
    pub evidence: Option<String>,
}

impl From<&AuditRecord> for Call {
    fn from(record: &AuditRecord) -> Self {
        Self {
            time: record.time,
            provider: record.provider.clone(),
            subject: record.subject.clone(),
            operation: record.operation.as_str(),
            outcome: record.outcome.as_str(),
            sessions: record.sessions.len(),
            retries: record.retries,
            error: record.error.as_ref().map(ToString::to_string),
            evidence: record.evidence.clone(),
        }
    }
}

/// One finished pair, as a run or a journal gives it.
pub(crate) struct Outcome<'a> {
    pub subject: &'a str,
    pub report: &'a ProviderReport,
    pub recorded_at: Option<DateTime<Utc>>,
}

/// Everything evidence is built from.
pub(crate) struct Inputs<'a> {
    pub source: Source,
    pub run: RunTimes,
    pub configuration: Configuration,
    /// Every pair; people appear in the order of their first pair.
    pub outcomes: Vec<Outcome<'a>>,
    /// People the run was given but for whom nothing was recorded.
    pub unrecorded_people: usize,
    pub trail: Extract,
    /// Further limits of this evidence, said by the caller.
    pub gaps: Vec<String>,
}

/// The verification in words.
fn verification(report: &ProviderReport) -> String {
    match report.outcome.verification() {
        Some(Verification::Verified) => "verified: a fresh listing shows no session".to_owned(),
        Some(Verification::StillActive { remaining }) => {
            format!("NOT verified: a fresh listing still shows {remaining} session(s)")
        }
        Some(Verification::Unverifiable { reason }) => format!("not verifiable: {reason}"),
        Some(Verification::Confirmed { evidence }) => {
            format!("confirmed by the provider's own record: {evidence}")
        }
        Some(_) => "not verifiable".to_owned(),
        None => match &report.outcome {
            ProviderOutcome::UserNotFound { .. } => {
                "nothing to verify: the provider has nobody with this email".to_owned()
            }
            _ => "nothing was revoked".to_owned(),
        },
    }
}

fn pair(outcome: &Outcome<'_>, calls: Vec<Call>) -> Pair {
    let report = outcome.report;
    let (revoked, not_found, reason) = match &report.outcome {
        ProviderOutcome::Revoked { count, .. } => (*count, None, None),
        ProviderOutcome::AlreadyClean { .. } => (Some(0), None, None),
        ProviderOutcome::UserNotFound { evidence } => (None, Some(evidence.clone()), None),
        ProviderOutcome::Unsupported { reason } => (None, None, Some(reason.clone())),
        ProviderOutcome::Failed { error } => (None, None, Some(error.to_string())),
        _ => (None, None, None),
    };
    Pair {
        provider: report.provider.clone(),
        user: report.user.as_ref().map(|u| u.as_str().to_owned()),
        outcome: report.outcome.name(),
        done: report.outcome.is_done(),
        sessions_before: report.sessions_before,
        sessions_after: report.sessions_after(),
        revoked,
        verification: verification(report),
        not_found,
        reason,
        retries: report.retries,
        elapsed_ms: report.elapsed_ms,
        recorded_at: outcome.recorded_at,
        calls,
    }
}

/// Whether an audit record is about many people at once (`12 people`).
pub(crate) fn is_shared(record: &AuditRecord) -> bool {
    record
        .subject
        .strip_suffix(" people")
        .is_some_and(|n| n.parse::<usize>().is_ok())
}

/// Builds the evidence.
pub(crate) fn build(inputs: Inputs<'_>) -> Evidence {
    let mut calls: BTreeMap<(String, String), Vec<Call>> = BTreeMap::new();
    let mut shared_calls = Vec::new();
    for record in &inputs.trail.records {
        if is_shared(record) {
            shared_calls.push(Call::from(record));
        } else {
            calls
                .entry((record.subject.clone(), record.provider.clone()))
                .or_default()
                .push(Call::from(record));
        }
    }
    let mut people: Vec<Person> = Vec::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    let mut outcomes = Summary::default();
    let mut without_calls = 0;
    for outcome in &inputs.outcomes {
        let key = (outcome.subject.to_owned(), outcome.report.provider.clone());
        let own = calls.remove(&key).unwrap_or_default();
        if own.is_empty() {
            without_calls += 1;
        }
        let pair = pair(outcome, own);
        outcomes.add(&outcome.report.outcome);
        let at = *index.entry(outcome.subject.to_owned()).or_insert_with(|| {
            people.push(Person {
                subject: outcome.subject.to_owned(),
                complete: false,
                providers: Vec::new(),
            });
            people.len() - 1
        });
        people[at].providers.push(pair);
    }
    for person in &mut people {
        person.complete = person.providers.iter().all(|p| p.done);
    }
    let mut gaps = inputs.gaps;
    if inputs.unrecorded_people > 0 {
        gaps.push(format!(
            "{} of the people the run was given have no recorded outcome: the run did not finish them (run it again with the same journal)",
            inputs.unrecorded_people
        ));
    }
    if without_calls > 0 {
        gaps.push(format!(
            "{without_calls} pair(s) have no audit record in the lines summarised: an earlier run over the same journal finished them, or the trail given is not the run's"
        ));
    }
    let other: usize = calls.values().map(Vec::len).sum();
    if other > 0 {
        gaps.push(format!(
            "{other} audit record(s) in the lines summarised concern no pair of this evidence (another command wrote to the same trail meanwhile); they are counted in the digest"
        ));
    }
    let uncounted: std::collections::BTreeSet<&str> = people
        .iter()
        .flat_map(|p| &p.providers)
        .filter(|p| p.sessions_before.is_none() && p.user.is_some())
        .map(|p| p.provider.as_str())
        .collect();
    if !uncounted.is_empty() {
        gaps.push(format!(
            "no count of the sessions before revoking in {}: the provider cannot list them with this credential, or the run did not count (runs with --evidence or --journal do)",
            uncounted.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    let people_complete = people.iter().filter(|p| p.complete).count();
    let pairs = inputs.outcomes.len();
    Evidence {
        format: FORMAT,
        generated_at: Utc::now(),
        generated_by: Operator::current(),
        source: inputs.source,
        run: inputs.run,
        configuration: inputs.configuration,
        summary: EvidenceSummary {
            people: people.len(),
            people_complete,
            pairs,
            outcomes,
            complete: people_complete == people.len() && inputs.unrecorded_people == 0,
        },
        people,
        shared_calls,
        audit: inputs.trail.digest(),
        gaps,
    }
}

/// What a command reports about the evidence it wrote.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Written {
    pub html: String,
    pub json: String,
    pub audit_trail: String,
    pub records: usize,
    pub sha256: String,
}

impl Written {
    /// One line for people.
    pub(crate) fn line(&self) -> String {
        format!(
            "Evidence: {} and {} ({} audit records of {}, SHA-256 {})",
            self.html, self.json, self.records, self.audit_trail, self.sha256
        )
    }
}

/// The providers of a loaded configuration, as evidence names them.
pub(crate) fn configuration(
    config: &crate::config::Config,
    read_at: &'static str,
) -> Configuration {
    Configuration {
        file: Some(config.path.display().to_string()),
        read_at,
        providers: config
            .providers
            .iter()
            .map(|p| ConfiguredProvider {
                name: p.name.clone(),
                kind: Some(p.kind.to_owned()),
                base_url: Some(p.adapter.base_url().to_string()),
            })
            .collect(),
    }
}

/// The two files `--evidence FILE` names: FILE as `.html` and as `.json`.
pub(crate) fn paths(file: &Path) -> (PathBuf, PathBuf) {
    (file.with_extension("html"), file.with_extension("json"))
}

/// The trail a run with `--evidence FILE` writes when `--audit` names none.
pub(crate) fn default_trail(file: &Path) -> PathBuf {
    file.with_extension("audit.jsonl")
}

/// Writes the page and its JSON twin.
pub(crate) fn write(evidence: &Evidence, file: &Path) -> Result<Written, CliError> {
    let (html, json) = paths(file);
    let page = page::render(evidence)?;
    let twin = serde_json::to_string_pretty(evidence)
        .map_err(|e| CliError::partial(format!("cannot encode the evidence: {e}")))?;
    for (path, text) in [(&html, page), (&json, twin)] {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| {
                CliError::partial(format!("{}: cannot create: {e}", parent.display()))
            })?;
        }
        std::fs::write(path, text).map_err(|e| {
            CliError::partial(format!(
                "{}: cannot write the evidence: {e}",
                path.display()
            ))
        })?;
    }
    Ok(Written {
        html: html.display().to_string(),
        json: json.display().to_string(),
        audit_trail: evidence.audit.file.clone(),
        records: evidence.audit.records,
        sha256: evidence.audit.sha256.clone(),
    })
}
