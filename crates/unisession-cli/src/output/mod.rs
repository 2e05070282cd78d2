//! Tables for people, JSON for scripts. No colour is ever emitted, so `NO_COLOR`
//! and pipes get plain text. Tables fit the terminal (see [`layout`]); the JSON keeps
//! every id and explanation whole.

mod layout;

use serde::Serialize;
use unisession::fleet::{Plan, ProviderOutcome, Report, Resolution};
use unisession::{Session, Verification};

pub(crate) use layout::{Notes, fitted, shorten, width, wrap};

/// Ids longer than this are shortened in the middle in tables (fewer on a narrow
/// terminal).
fn id_width() -> usize {
    if width() < 100 { 11 } else { 17 }
}

pub(crate) fn table(headers: &[&str], rows: Vec<Vec<String>>) -> String {
    fitted(headers, rows, &Notes::default(), width())
}

pub(crate) fn json(value: &impl Serialize) -> String {
    serde_json::to_string_pretty(value)
        .unwrap_or_else(|e| format!("{{\"error\":\"could not encode the output: {e}\"}}"))
}

fn since(session: &Session) -> String {
    session.created_at.map_or_else(
        || "-".to_owned(),
        |t| t.format("%Y-%m-%d %H:%M").to_string(),
    )
}

pub(crate) fn session_rows(provider: &str, sessions: &[Session]) -> Vec<Vec<String>> {
    sessions
        .iter()
        .map(|s| {
            let device = [s.device.name.as_deref(), s.device.os.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" / ");
            vec![
                provider.to_owned(),
                shorten(s.user.as_str(), id_width()),
                shorten(s.id.as_str(), id_width()),
                if device.is_empty() {
                    "-".to_owned()
                } else {
                    device
                },
                s.ip.clone().unwrap_or_else(|| "-".to_owned()),
                since(s),
                if s.current {
                    "yes".to_owned()
                } else {
                    String::new()
                },
            ]
        })
        .collect()
}

pub(crate) const SESSION_HEADERS: [&str; 7] = [
    "PROVIDER", "USER", "SESSION", "DEVICE", "IP", "SINCE", "CURRENT",
];

/// The verification in a few words; the reason of an unverifiable one as a note.
fn verification(v: Option<&Verification>, notes: &mut Notes) -> String {
    match v {
        Some(Verification::Verified) => "verified: none left".to_owned(),
        Some(Verification::StillActive { remaining }) => format!("STILL ACTIVE: {remaining}"),
        Some(Verification::Unverifiable { reason }) => notes.with("unverifiable", reason.clone()),
        Some(_) | None => "-".to_owned(),
    }
}

pub(crate) fn report_table(report: &Report) -> String {
    let mut notes = Notes::default();
    let rows = report
        .providers
        .iter()
        .map(|p| {
            let (count, detail) = match &p.outcome {
                ProviderOutcome::Revoked { count, .. } => (
                    count.map_or("?".to_owned(), |c| c.to_string()),
                    String::new(),
                ),
                ProviderOutcome::Failed { error } => ("-".to_owned(), error.to_string()),
                ProviderOutcome::Unsupported { reason } => ("-".to_owned(), reason.clone()),
                ProviderOutcome::Queued { .. } => (
                    "?".to_owned(),
                    "accepted; completes asynchronously".to_owned(),
                ),
                ProviderOutcome::UserNotFound { evidence } => ("-".to_owned(), evidence.clone()),
                _ => ("-".to_owned(), String::new()),
            };
            let outcome = p.outcome.name().to_uppercase();
            let outcome = if detail.is_empty() {
                outcome
            } else {
                notes.with(&outcome, detail)
            };
            vec![
                p.provider.clone(),
                p.user
                    .as_ref()
                    .map_or_else(|| "-".to_owned(), |u| shorten(u.as_str(), id_width())),
                outcome,
                count,
                verification(p.outcome.verification(), &mut notes),
                p.retries.to_string(),
            ]
        })
        .collect();
    fitted(
        &[
            "PROVIDER",
            "USER",
            "OUTCOME",
            "REVOKED",
            "VERIFICATION",
            "RETRIES",
        ],
        rows,
        &notes,
        width(),
    )
}

pub(crate) fn plan_table(plan: &Plan) -> String {
    let mut notes = Notes::default();
    let rows = plan
        .providers
        .iter()
        .map(|p| {
            let user = match &p.resolution {
                Resolution::Found { user } => shorten(user.id.as_str(), id_width()),
                Resolution::NotFound { evidence } => notes.with("not found", evidence.clone()),
                Resolution::Unsupported { reason } => notes.with("cannot look up", reason.clone()),
                Resolution::Failed { error } => notes.with("lookup failed", error.to_string()),
                _ => "-".to_owned(),
            };
            let sessions = p
                .sessions
                .as_ref()
                .map_or_else(|| "cannot list".to_owned(), |s| s.len().to_string());
            let call = p.method.clone().unwrap_or_else(|| "-".to_owned());
            // What cannot be done goes below the table; a reason already given for the
            // lookup keeps its number.
            let call = p
                .cannot
                .iter()
                .fold(call, |cell, why| notes.with(&cell, why.clone()));
            vec![p.provider.clone(), user, sessions, call]
        })
        .collect();
    fitted(
        &["PROVIDER", "USER", "SESSIONS", "WOULD CALL"],
        rows,
        &notes,
        width(),
    )
}
