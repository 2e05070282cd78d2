//! Tables for people, JSON for scripts. No colour is ever emitted, so `NO_COLOR`
//! and pipes get plain text. Tables fit the terminal (see [`layout`]); the JSON keeps
//! every id and explanation whole.

mod layout;

use serde::Serialize;
use unisession::fleet::{Plan, ProviderOutcome, Report, Resolution};
use unisession::{Session, Verification};

pub(crate) use layout::{Notes, fitted, shorten, width, wrap};

/// Ids longer than this are shortened in the middle in tables: on a narrow terminal
/// to what still tells them apart at a glance.
fn id_width() -> usize {
    if width() < 100 { 9 } else { 17 }
}

pub(crate) fn table(headers: &[&str], rows: Vec<Vec<String>>) -> String {
    fitted(headers, rows, &Notes::default(), width())
}

pub(crate) fn json(value: &impl Serialize) -> String {
    serde_json::to_string_pretty(value)
        .unwrap_or_else(|e| format!("{{\"error\":\"could not encode the output: {e}\"}}"))
}

/// When the session began: with the time of day where the terminal has room.
fn since(session: &Session) -> String {
    let format = if width() < 100 {
        "%Y-%m-%d"
    } else {
        "%Y-%m-%d %H:%M"
    };
    session
        .created_at
        .map_or_else(|| "-".to_owned(), |t| t.format(format).to_string())
}

/// What marks the session of the credential in use.
const CURRENT: &str =
    "the session of the credential this tool uses (revoking it logs the tool out)";

/// One row per session; the credential's own session is marked with a note. The
/// user column stays empty (and is left out) for one person's sessions: the title
/// names the person.
pub(crate) fn session_rows(
    provider: &str,
    sessions: &[Session],
    one_person: bool,
    notes: &mut Notes,
) -> Vec<Vec<String>> {
    sessions
        .iter()
        .map(|s| {
            let device = [s.device.name.as_deref(), s.device.os.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" / ");
            let id = shorten(s.id.as_str(), id_width());
            vec![
                provider.to_owned(),
                if one_person {
                    String::new()
                } else {
                    shorten(s.user.as_str(), id_width())
                },
                if s.current {
                    notes.with(&id, CURRENT)
                } else {
                    id
                },
                if device.is_empty() {
                    "-".to_owned()
                } else {
                    device
                },
                s.ip.clone().unwrap_or_else(|| "-".to_owned()),
                since(s),
            ]
        })
        .collect()
}

/// The row of a provider whose sessions could not be listed: `what` in the session
/// column, `why` as a note.
pub(crate) fn unlisted_row(
    provider: &str,
    what: &str,
    why: String,
    notes: &mut Notes,
) -> Vec<String> {
    // The label stays on one line: its note says the rest.
    vec![
        provider.to_owned(),
        String::new(),
        notes.with(&what.replace(' ', "\u{a0}"), why),
    ]
}

/// The table of session rows.
pub(crate) fn sessions_table(rows: Vec<Vec<String>>, notes: &Notes) -> String {
    fitted(
        &["PROVIDER", "USER", "SESSION", "DEVICE", "IP", "SINCE"],
        rows,
        notes,
        width(),
    )
}

/// The verification in a few words; the reason of an unverifiable one as a note.
fn verification(v: Option<&Verification>, notes: &mut Notes) -> String {
    match v {
        Some(Verification::Verified) => "verified: none left".to_owned(),
        Some(Verification::StillActive { remaining }) => format!("STILL ACTIVE: {remaining}"),
        Some(Verification::Unverifiable { reason }) => notes.with("unverifiable", reason.clone()),
        Some(Verification::Confirmed { evidence }) => notes.with("confirmed", evidence.clone()),
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
    // The order matters only when identity providers go first.
    let identity_first = plan.providers.iter().any(|p| p.step == 1);
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
            let step = if identity_first {
                match p.step {
                    1 => "1 (IdP)".to_owned(),
                    n => n.to_string(),
                }
            } else {
                String::new()
            };
            vec![step, p.provider.clone(), user, sessions, call]
        })
        .collect();
    fitted(
        &["STEP", "PROVIDER", "USER", "SESSIONS", "WOULD CALL"],
        rows,
        &notes,
        width(),
    )
}
