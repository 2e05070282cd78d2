//! Tables for people, JSON for scripts. No colour is ever emitted, so `NO_COLOR`
//! and pipes get plain text.

use comfy_table::{ContentArrangement, Table, presets};
use serde::Serialize;
use unisession::fleet::{Plan, ProviderOutcome, Report, Resolution};
use unisession::{Session, Verification};

pub(crate) fn table(headers: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut table = Table::new();
    table.load_style(presets::UTF8_FULL_CONDENSED);
    table.set_content_arrangement(ContentArrangement::Disabled);
    table.set_header(headers.iter().copied());
    for row in rows {
        table.add_row(row);
    }
    table.to_string()
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
                s.user.to_string(),
                s.id.to_string(),
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

pub(crate) fn verification(v: Option<&Verification>) -> String {
    match v {
        Some(Verification::Verified) => "verified: none left".to_owned(),
        Some(Verification::StillActive { remaining }) => format!("STILL ACTIVE: {remaining}"),
        Some(Verification::Unverifiable { reason }) => format!("unverifiable: {reason}"),
        Some(_) | None => "-".to_owned(),
    }
}

pub(crate) fn report_table(report: &Report) -> String {
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
                ProviderOutcome::UserNotFound { evidence } => ("0".to_owned(), evidence.clone()),
                _ => ("0".to_owned(), String::new()),
            };
            vec![
                p.provider.clone(),
                p.user
                    .as_ref()
                    .map_or_else(|| "-".to_owned(), ToString::to_string),
                p.outcome.name().to_uppercase(),
                count,
                verification(p.outcome.verification()),
                p.retries.to_string(),
                detail,
            ]
        })
        .collect();
    table(
        &[
            "PROVIDER",
            "USER",
            "OUTCOME",
            "REVOKED",
            "VERIFICATION",
            "RETRIES",
            "DETAIL",
        ],
        rows,
    )
}

pub(crate) fn plan_table(plan: &Plan) -> String {
    let rows = plan
        .providers
        .iter()
        .map(|p| {
            let user = match &p.resolution {
                Resolution::Found { user } => user.id.to_string(),
                Resolution::NotFound { evidence } => format!("not found: {evidence}"),
                Resolution::Unsupported { .. } => "cannot look up".to_owned(),
                Resolution::Failed { error } => format!("lookup failed: {error}"),
                _ => "-".to_owned(),
            };
            vec![
                p.provider.clone(),
                user,
                p.sessions
                    .as_ref()
                    .map_or_else(|| "cannot list".to_owned(), |s| s.len().to_string()),
                p.method.clone().unwrap_or_else(|| "-".to_owned()),
                p.cannot.join("; "),
            ]
        })
        .collect();
    table(
        &["PROVIDER", "USER", "SESSIONS", "WOULD CALL", "CANNOT"],
        rows,
    )
}
